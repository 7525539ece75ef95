//! Encoding functions: base64 (and gzip), CSV, JSON, YAML, URL query escaping and text in
//! other character encodings.
//!
//! Where the bytes depend on the implementation they can differ from Powerpipe's:
//! `base64gzip` compresses with zlib's deflate, not Go's (the same data, other bytes), and
//! `yamlencode` does not fold long lines at 80 columns as go-yaml does.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef, ParamType};

use super::{R, fixed, kind, number_text, str_param, text};

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    let s = str_param;
    Some(match name {
        "base64decode" => fixed(&[s()], base64decode),
        "base64encode" => fixed(&[s()], base64encode),
        "base64gzip" => fixed(&[s()], base64gzip),
        "csvdecode" => fixed(&[s()], csvdecode),
        "jsondecode" => fixed(&[s()], jsondecode),
        "jsonencode" => fixed(&[ParamType::Any], jsonencode),
        "textdecodebase64" => fixed(&[s(), s()], textdecodebase64),
        "textencodebase64" => fixed(&[s(), s()], textencodebase64),
        "urlencode" => fixed(&[s()], urlencode),
        "yamldecode" => fixed(&[s()], yamldecode),
        "yamlencode" => fixed(&[ParamType::Any], yamlencode),
        _ => return None,
    })
}

fn unbase64(s: &str) -> Result<Vec<u8>, String> {
    B64.decode(s.as_bytes())
        .map_err(|e| format!("failed to decode base64 data: {e}"))
}

fn base64decode(a: FuncArgs) -> R {
    let bytes = unbase64(&text(&a[0])?)?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| "the result of decoding the provided string is not valid UTF-8".to_string())
}

fn base64encode(a: FuncArgs) -> R {
    Ok(Value::String(B64.encode(text(&a[0])?.as_bytes())))
}

fn base64gzip(a: FuncArgs) -> R {
    let mut gz = flate2::GzBuilder::new()
        .operating_system(255)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(text(&a[0])?.as_bytes())
        .map_err(|e| format!("failed to write gzip raw data: {e}"))?;
    let bytes = gz
        .finish()
        .map_err(|e| format!("failed to finish gzip data: {e}"))?;
    Ok(Value::String(B64.encode(bytes)))
}

/// `csvdecode`: the first line names the fields, each later line is an object of strings.
fn csvdecode(a: FuncArgs) -> R {
    let s = text(&a[0])?;
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(s.as_bytes());
    let mut records = r.records();
    let header: Vec<String> = match records.next() {
        Some(Ok(h)) => h.iter().map(str::to_string).collect(),
        Some(Err(e)) => return Err(format!("failed to parse CSV header: {e}")),
        None => return Err("missing header line".to_string()),
    };
    let mut rows = Vec::new();
    for (n, rec) in records.enumerate() {
        let rec = rec.map_err(|e| format!("failed to parse CSV: {e}"))?;
        if rec.len() != header.len() {
            return Err(format!(
                "record {} has {} fields, but the header has {}",
                n + 1,
                rec.len(),
                header.len()
            ));
        }
        let mut m: hcl::Map<String, Value> = header
            .iter()
            .cloned()
            .zip(rec.iter().map(Value::from))
            .collect();
        m.sort_keys();
        rows.push(Value::Object(m));
    }
    Ok(Value::Array(rows))
}

fn jsondecode(a: FuncArgs) -> R {
    serde_json::from_str::<Value>(&text(&a[0])?).map_err(|e| format!("invalid JSON: {e}"))
}

/// A value with every object's keys sorted (cty's order).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Array(l) => Value::Array(l.iter().map(sorted).collect()),
        Value::Object(o) => {
            let mut m: hcl::Map<String, Value> =
                o.iter().map(|(k, x)| (k.clone(), sorted(x))).collect();
            m.sort_keys();
            Value::Object(m)
        }
        other => other.clone(),
    }
}

/// JSON as Go's encoder writes it (Terraform's `jsonencode`): compact, keys sorted, `<`,
/// `>`, `&`, U+2028 and U+2029 escaped.
pub(crate) fn json_text(v: &Value) -> Result<String, String> {
    let raw = serde_json::to_string(&sorted(v)).map_err(|e| e.to_string())?;
    Ok(raw
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029"))
}

fn jsonencode(a: FuncArgs) -> R {
    json_text(&a[0]).map(Value::String)
}

/// `urlencode`: Go's query escaping, with spaces as `%20`.
fn urlencode(a: FuncArgs) -> R {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const KEEP: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    Ok(Value::String(
        utf8_percent_encode(&text(&a[0])?, KEEP).to_string(),
    ))
}

/// A character encoding by its IANA name or alias.
enum Charset {
    Utf16 { little: bool, bom: bool },
    Other(&'static encoding_rs::Encoding),
}

fn charset(name: &str) -> Result<Charset, String> {
    let n = name.to_ascii_lowercase().replace('_', "-");
    Ok(match n.as_str() {
        "utf-16le" => Charset::Utf16 {
            little: true,
            bom: false,
        },
        "utf-16be" => Charset::Utf16 {
            little: false,
            bom: false,
        },
        "utf-16" => Charset::Utf16 {
            little: false,
            bom: true,
        },
        _ => match encoding_rs::Encoding::for_label_no_replacement(n.as_bytes()) {
            Some(e) => Charset::Other(e),
            None => {
                return Err(format!(
                    "{name:?} is not a supported IANA encoding name or alias"
                ));
            }
        },
    })
}

fn textencodebase64(a: FuncArgs) -> R {
    let s = text(&a[0])?;
    let name = text(&a[1])?;
    let bytes = match charset(&name)? {
        Charset::Utf16 { little, bom } => {
            let mut out = Vec::with_capacity(s.len() * 2 + 2);
            let mut put = |u: u16| {
                out.extend_from_slice(&if little {
                    u.to_le_bytes()
                } else {
                    u.to_be_bytes()
                })
            };
            if bom {
                put(0xFEFF);
            }
            for u in s.encode_utf16() {
                put(u);
            }
            out
        }
        Charset::Other(e) => {
            let (bytes, used, unmappable) = e.encode(&s);
            if unmappable || used != e {
                return Err(format!(
                    "the given string contains characters that cannot be represented in {name}"
                ));
            }
            bytes.into_owned()
        }
    };
    Ok(Value::String(B64.encode(bytes)))
}

fn textdecodebase64(a: FuncArgs) -> R {
    let bytes = unbase64(&text(&a[0])?)?;
    let name = text(&a[1])?;
    let invalid = || format!("the given value contains invalid characters for {name}");
    let s = match charset(&name)? {
        Charset::Utf16 { little, bom } => {
            let mut b = bytes.as_slice();
            let mut little = little;
            if bom {
                if b.starts_with(&[0xFF, 0xFE]) {
                    little = true;
                    b = &b[2..];
                } else if b.starts_with(&[0xFE, 0xFF]) {
                    b = &b[2..];
                }
            }
            if b.len() % 2 != 0 {
                return Err(invalid());
            }
            let units: Vec<u16> = b
                .chunks(2)
                .map(|c| {
                    if little {
                        u16::from_le_bytes([c[0], c[1]])
                    } else {
                        u16::from_be_bytes([c[0], c[1]])
                    }
                })
                .collect();
            String::from_utf16(&units).map_err(|_| invalid())?
        }
        Charset::Other(e) => {
            let (s, malformed) = e.decode_without_bom_handling(&bytes);
            if malformed {
                return Err(invalid());
            }
            s.into_owned()
        }
    };
    Ok(Value::String(s))
}

/// `yamldecode`: one YAML document (YAML 1.2's core schema) as a value; mapping keys become
/// strings.
fn yamldecode(a: FuncArgs) -> R {
    let src = text(&a[0])?;
    let docs = yaml_rust2::YamlLoader::load_from_str(&src).map_err(|e| {
        format!(
            "on line {}, column {}: {}",
            e.marker().line(),
            e.marker().col() + 1,
            e.info()
        )
    })?;
    match docs.as_slice() {
        [] => Ok(Value::Null),
        [doc] => from_yaml(doc),
        _ => Err("the YAML source contains more than one document".to_string()),
    }
}

fn from_yaml(y: &yaml_rust2::Yaml) -> R {
    use yaml_rust2::Yaml as Y;
    Ok(match y {
        Y::Null => Value::Null,
        Y::Boolean(b) => Value::Bool(*b),
        Y::Integer(i) => Value::from(*i),
        Y::Real(r) => {
            let f: f64 = y
                .as_f64()
                .ok_or_else(|| format!("cannot parse {r:?} as a number"))?;
            super::number(f)
        }
        Y::String(s) => Value::String(s.clone()),
        Y::Array(l) => Value::Array(l.iter().map(from_yaml).collect::<Result<_, _>>()?),
        Y::Hash(h) => {
            let mut m = hcl::Map::new();
            for (k, v) in h {
                let key = match k {
                    Y::String(s) => s.clone(),
                    Y::Integer(i) => i.to_string(),
                    Y::Real(r) => r.clone(),
                    Y::Boolean(b) => b.to_string(),
                    Y::Null => "null".to_string(),
                    _ => return Err("mapping keys must be scalars".to_string()),
                };
                m.insert(key, from_yaml(v)?);
            }
            m.sort_keys();
            Value::Object(m)
        }
        Y::Alias(_) => return Err("YAML aliases are not supported".to_string()),
        Y::BadValue => return Err("invalid YAML value".to_string()),
    })
}

/// `yamlencode`: block style as go-cty-yaml writes it: keys sorted and double-quoted,
/// strings double-quoted (or literal blocks when they hold a line end), `[]` and `{}` for
/// empty collections.
fn yamlencode(a: FuncArgs) -> R {
    let mut out = String::new();
    yaml_node(&a[0], 0, &mut out)?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(Value::String(out))
}

fn yaml_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn yaml_scalar(v: &Value, indent: usize) -> Result<String, String> {
    Ok(match v {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_text(n),
        Value::String(s) if s.contains('\n') => {
            let chomp = if s.ends_with("\n\n") {
                "+"
            } else if s.ends_with('\n') {
                ""
            } else {
                "-"
            };
            let pad = " ".repeat(indent + 2);
            let body = s.strip_suffix('\n').unwrap_or(s);
            let mut out = format!("|{chomp}");
            for line in body.split('\n') {
                out.push('\n');
                if !line.is_empty() {
                    out.push_str(&pad);
                    out.push_str(line);
                }
            }
            out
        }
        Value::String(s) => yaml_quoted(s),
        Value::Array(l) if l.is_empty() => "[]".to_string(),
        Value::Object(o) if o.is_empty() => "{}".to_string(),
        other => return Err(format!("cannot write {} as a YAML scalar", kind(other))),
    })
}

/// Writes `v` at `indent` columns; the caller has written what precedes it on its line.
fn yaml_node(v: &Value, indent: usize, out: &mut String) -> Result<(), String> {
    let pad = " ".repeat(indent);
    match v {
        Value::Array(l) if !l.is_empty() => {
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push_str(&pad);
                }
                out.push_str("- ");
                match x {
                    Value::Array(inner) if !inner.is_empty() => yaml_node(x, indent + 2, out)?,
                    Value::Object(inner) if !inner.is_empty() => yaml_node(x, indent + 2, out)?,
                    _ => {
                        out.push_str(&yaml_scalar(x, indent)?);
                        out.push('\n');
                    }
                }
            }
        }
        Value::Object(o) if !o.is_empty() => {
            let mut entries: Vec<(&String, &Value)> = o.iter().collect();
            entries.sort_by(|x, y| x.0.cmp(y.0));
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(&pad);
                }
                out.push_str(&yaml_quoted(k));
                out.push(':');
                match x {
                    Value::Array(inner) if !inner.is_empty() => {
                        out.push('\n');
                        out.push_str(&pad);
                        yaml_node(x, indent, out)?;
                    }
                    Value::Object(inner) if !inner.is_empty() => {
                        out.push('\n');
                        out.push_str(&" ".repeat(indent + 2));
                        yaml_node(x, indent + 2, out)?;
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&yaml_scalar(x, indent)?);
                        out.push('\n');
                    }
                }
            }
        }
        scalar => {
            out.push_str(&yaml_scalar(scalar, indent.saturating_sub(2))?);
            out.push('\n');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    /// Examples from Terraform's documentation of each function.
    #[test]
    fn base64_and_urls() {
        assert_eq!(ok(r#"base64encode("Hello World")"#), "SGVsbG8gV29ybGQ=");
        assert_eq!(ok(r#"base64decode("SGVsbG8gV29ybGQ=")"#), "Hello World");
        fails(r#"base64decode("/w==")"#, "not valid UTF-8");
        fails(r#"base64decode("!!")"#, "failed to decode base64");
        let gz = ok(r#"base64gzip("hello world")"#);
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, gz)
            .unwrap_or_default();
        let mut text = String::new();
        let read = std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(bytes.as_slice()),
            &mut text,
        );
        assert!(read.is_ok(), "{read:?}");
        assert_eq!(text, "hello world");
        assert_eq!(ok(r#"urlencode("Hello World!")"#), "Hello%20World%21");
        assert_eq!(ok(r#"urlencode("☃")"#), "%E2%98%83");
        assert_eq!(
            ok(r#"urlencode("foo:bar@localhost?foo=bar&bar=baz")"#),
            "foo%3Abar%40localhost%3Ffoo%3Dbar%26bar%3Dbaz"
        );
        assert_eq!(ok(r#"urlencode("a-b_c.d~e")"#), "a-b_c.d~e");
    }

    #[test]
    fn text_in_other_encodings() {
        assert_eq!(
            ok(r#"textencodebase64("Hello World", "UTF-16LE")"#),
            "SABlAGwAbABvACAAVwBvAHIAbABkAA=="
        );
        assert_eq!(
            ok(r#"textdecodebase64("SABlAGwAbABvACAAVwBvAHIAbABkAA==", "UTF-16LE")"#),
            "Hello World"
        );
        assert_eq!(ok(r#"textencodebase64("é", "ISO-8859-1")"#), "6Q==");
        assert_eq!(ok(r#"textdecodebase64("6Q==", "windows-1252")"#), "é");
        assert_eq!(ok(r#"textencodebase64("a", "UTF-8")"#), "YQ==");
        fails(
            r#"textencodebase64("☃", "ISO-8859-1")"#,
            "cannot be represented",
        );
        fails(
            r#"textencodebase64("a", "klingon")"#,
            "not a supported IANA encoding",
        );
    }

    #[test]
    fn json_and_csv() {
        assert_eq!(
            ok(r#"jsonencode({ hello = "world" })"#),
            r#"{"hello":"world"}"#
        );
        assert_eq!(
            ok(r#"jsonencode({ b = 1, a = [true, null] })"#),
            r#"{"a":[true,null],"b":1}"#
        );
        assert_eq!(ok(r#"jsonencode("<&>")"#), r#""\u003c\u0026\u003e""#);
        same(
            r#"jsondecode("{\"hello\": \"world\"}")"#,
            r#"{ hello = "world" }"#,
        );
        same(r#"jsondecode("true")"#, "true");
        fails(r#"jsondecode("{")"#, "invalid JSON");
        same(
            r#"csvdecode("a,b,c\n1,2,3\n4,5,6")"#,
            r#"[{ a = "1", b = "2", c = "3" }, { a = "4", b = "5", c = "6" }]"#,
        );
        fails(
            r#"csvdecode("a,b\n1")"#,
            "has 1 fields, but the header has 2",
        );
        fails(r#"csvdecode("")"#, "missing header line");
    }

    #[test]
    fn yaml() {
        same(r#"yamldecode("hello: world")"#, r#"{ hello = "world" }"#);
        same(r#"yamldecode("true")"#, "true");
        same(
            r#"yamldecode("{a: &foo [1, 2, 3], b: 1.5}")"#,
            "{ a = [1, 2, 3], b = 1.5 }",
        );
        same(r#"yamldecode("- a\n- 2\n- null")"#, r#"["a", 2, null]"#);
        same(r#"yamldecode("")"#, "null");
        fails(r#"yamldecode("a: [")"#, "line");
        assert_eq!(
            ok(r#"yamlencode({ a = "b", c = "d" })"#),
            "\"a\": \"b\"\n\"c\": \"d\"\n"
        );
        assert_eq!(
            ok(r#"yamlencode({ foo = [1, 2, 3], bar = "baz" })"#),
            "\"bar\": \"baz\"\n\"foo\":\n- 1\n- 2\n- 3\n"
        );
        assert_eq!(
            ok(r#"yamlencode({ foo = [1, { a = "b", c = "d" }, 3], bar = "baz" })"#),
            "\"bar\": \"baz\"\n\"foo\":\n- 1\n- \"a\": \"b\"\n  \"c\": \"d\"\n- 3\n"
        );
        assert_eq!(
            ok(r#"yamlencode({ a = { b = [] } })"#),
            "\"a\":\n  \"b\": []\n"
        );
        assert_eq!(ok(r#"yamlencode({ s = "x\ny" })"#), "\"s\": |-\n  x\n  y\n");
        same(
            r#"yamldecode(yamlencode({ k = ["a\nb\n", 1, true, null, { z = "q\"" }] }))"#,
            r#"{ k = ["a\nb\n", 1, true, null, { z = "q\"" }] }"#,
        );
    }
}
