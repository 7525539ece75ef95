//! Encoding functions: base64 (and gzip), CSV, JSON, YAML, URL query escaping and text in
//! other character encodings.
//!
//! Where the bytes depend on the implementation they can differ from Powerpipe's:
//! `base64gzip` compresses with zlib's deflate, not Go's (the same data, other bytes), and
//! `yamlencode` does not fold long lines at 80 columns as go-yaml does.
//!
//! Decoders count what they build against [`limits`] as they read (a YAML alias is a copy
//! of its anchor's value, counted like any other: a "billion laughs" is an error, not a
//! billion values) and nest at most [`limits::MAX_DEPTH`] levels; encoders check the length
//! of what they write, so that chained encodings cannot grow a text exponentially.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef, ParamType};

use super::limits::{self, Budget, MAX_DEPTH, Size};
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

/// `bytes` in base64, if that fits the limit.
pub(crate) fn base64_text(bytes: &[u8]) -> R {
    limits::fits_text(bytes.len().div_ceil(3).saturating_mul(4))?;
    Ok(Value::String(B64.encode(bytes)))
}

fn base64encode(a: FuncArgs) -> R {
    base64_text(text(&a[0])?.as_bytes())
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
    base64_text(&bytes)
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
    // Every row copies the header's names.
    let names: usize = header.iter().map(String::len).sum();
    let mut budget = Budget::new();
    budget.take(1, 0)?;
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
        let fields: usize = rec.iter().map(str::len).sum();
        budget.take(1 + header.len(), names.saturating_add(fields))?;
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

/// `jsondecode`: counted against the limits as it is read; serde_json's own limit of 128
/// levels of nesting is [`MAX_DEPTH`].
fn jsondecode(a: FuncArgs) -> R {
    let src = text(&a[0])?;
    let budget = RefCell::new(Budget::new());
    let over = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(&src);
    let read = serde::de::DeserializeSeed::deserialize(
        Counted {
            budget: &budget,
            over: &over,
        },
        &mut de,
    )
    .and_then(|v| de.end().map(|()| v));
    read.map_err(|e| {
        if let Some(m) = over.borrow_mut().take() {
            format!("{m} (line {}, column {})", e.line(), e.column())
        } else if e.to_string().starts_with("recursion limit exceeded") {
            format!(
                "{} (line {}, column {})",
                limits::too_deep(),
                e.line(),
                e.column()
            )
        } else {
            format!("invalid JSON: {e}")
        }
    })
}

/// A JSON value read into an `hcl::Value` (as hcl-rs reads one), counted in `budget`; the
/// first limit passed is kept in `over`.
#[derive(Clone, Copy)]
struct Counted<'b> {
    budget: &'b RefCell<Budget>,
    over: &'b RefCell<Option<String>>,
}

impl Counted<'_> {
    fn take<E: serde::de::Error>(&self, values: usize, text: usize) -> Result<(), E> {
        self.budget.borrow_mut().take(values, text).map_err(|m| {
            let e = E::custom(&m);
            *self.over.borrow_mut() = Some(m);
            e
        })
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Counted<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Counted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: serde::de::Error>(self, b: bool) -> Result<Value, E> {
        self.take(1, 0)?;
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Value, E> {
        self.take(1, 0)?;
        Ok(Value::from(n))
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Value, E> {
        self.take(1, 0)?;
        Ok(Value::from(n))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Value, E> {
        self.take(1, 0)?;
        Ok(hcl::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value, E> {
        self.take(1, s.len())?;
        Ok(Value::from(s))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.take(1, 0)?;
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.take(1, 0)?;
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.take(1, 0)?;
        let mut out = hcl::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            self.take(0, k.len())?;
            let v = map.next_value_seed(self)?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
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
    // The escapes below write six bytes for each `<`, `>` and `&` (one byte) and each
    // U+2028 and U+2029 (three).
    let escaped = raw
        .bytes()
        .filter(|b| matches!(b, b'<' | b'>' | b'&'))
        .count()
        + raw.matches(['\u{2028}', '\u{2029}']).count();
    limits::fits_text(raw.len().saturating_add(escaped * 5))?;
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
    let s = text(&a[0])?;
    let len = s
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                1
            } else {
                3
            }
        })
        .fold(0usize, usize::saturating_add);
    limits::fits_text(len)?;
    Ok(Value::String(utf8_percent_encode(&s, KEEP).to_string()))
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
    base64_text(&bytes)
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
/// strings. The value is built from the parser's events on a stack (yaml-rust2's own loader
/// recurses, and copies every alias eagerly): nesting costs no recursion, and every value
/// built, aliases' copies included, is counted against the limits.
fn yamldecode(a: FuncArgs) -> R {
    use yaml_rust2::parser::Parser;
    let src = text(&a[0])?;
    let at = |mark: &yaml_rust2::scanner::Marker, m: &str| {
        format!("on line {}, column {}: {m}", mark.line(), mark.col() + 1)
    };
    let mut parser = Parser::new_from_str(&src);
    let mut doc = YamlDoc::default();
    loop {
        let (event, mark) = parser.next_token().map_err(|e| at(e.marker(), e.info()))?;
        match doc.event(event) {
            Ok(true) => return Ok(doc.value.unwrap_or(Value::Null)),
            Ok(false) => {}
            Err(m) => return Err(at(&mark, &m)),
        }
    }
}

/// A collection being read: its entries so far and its anchor (0 for none).
enum Open {
    List(Vec<Value>, usize),
    /// A mapping, and the key read before its value.
    Map(hcl::Map<String, Value>, Option<String>, usize),
}

/// One YAML document being built from the parser's events.
#[derive(Default)]
struct YamlDoc {
    stack: Vec<Open>,
    /// Copies of anchored values (with their sizes) for the aliases to them.
    anchors: HashMap<usize, (Value, Size)>,
    budget: Budget,
    documents: usize,
    value: Option<Value>,
}

impl YamlDoc {
    /// Takes one event; true at the end of the stream.
    fn event(&mut self, event: yaml_rust2::Event) -> Result<bool, String> {
        use yaml_rust2::Event as E;
        match event {
            E::StreamEnd => return Ok(true),
            E::Nothing | E::StreamStart | E::DocumentEnd => {}
            E::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err("the YAML source contains more than one document".to_string());
                }
            }
            E::SequenceStart(anchor, _) => self.open(Open::List(Vec::new(), anchor))?,
            E::MappingStart(anchor, _) => self.open(Open::Map(hcl::Map::new(), None, anchor))?,
            E::SequenceEnd | E::MappingEnd => match self.stack.pop() {
                Some(Open::List(l, anchor)) => self.insert(Value::Array(l), anchor, None)?,
                Some(Open::Map(mut m, _, anchor)) => {
                    m.sort_keys();
                    self.insert(Value::Object(m), anchor, None)?;
                }
                None => return Err("unbalanced YAML collection".to_string()),
            },
            E::Scalar(v, style, anchor, tag) => {
                let y = yaml_scalar_value(v, style, tag);
                if let Some(Open::Map(_, key @ None, _)) = self.stack.last_mut() {
                    // A key as written (`1.50`, not the number's `1.5`).
                    let k = match y {
                        yaml_rust2::Yaml::String(s) | yaml_rust2::Yaml::Real(s) => s,
                        yaml_rust2::Yaml::Integer(i) => i.to_string(),
                        yaml_rust2::Yaml::Boolean(b) => b.to_string(),
                        yaml_rust2::Yaml::Null => "null".to_string(),
                        _ => return Err("invalid YAML value".to_string()),
                    };
                    self.budget.take(0, k.len())?;
                    if anchor > 0 {
                        let copy = Value::String(k.clone());
                        let size = Size::of(&copy);
                        self.budget.take_size(size)?;
                        self.anchors.insert(anchor, (copy, size));
                    }
                    *key = Some(k);
                    return Ok(false);
                }
                let value = from_yaml(&y)?;
                let size = Size::of(&value);
                self.insert(value, anchor, Some(size))?;
            }
            E::Alias(id) => {
                let (value, size) = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| "found an alias to an unknown anchor".to_string())?;
                self.insert(value, 0, Some(size))?;
            }
        }
        Ok(false)
    }

    /// Opens a collection, no deeper than [`MAX_DEPTH`] levels (its elements one more).
    fn open(&mut self, collection: Open) -> Result<(), String> {
        if self.stack.len() + 1 >= MAX_DEPTH {
            return Err(limits::too_deep());
        }
        self.budget.take(1, 0)?;
        self.stack.push(collection);
        Ok(())
    }

    /// Puts a value read in its place: the document, a list's element, a mapping's key or
    /// value. `size` is counted here unless the value was counted as it was read (a
    /// collection); an anchored value's copy is counted too.
    fn insert(&mut self, value: Value, anchor: usize, size: Option<Size>) -> Result<(), String> {
        if let Some(Open::Map(_, key @ None, _)) = self.stack.last_mut() {
            let k = match &value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => "null".to_string(),
                _ => return Err("mapping keys must be scalars".to_string()),
            };
            self.budget.take(0, k.len())?;
            *key = Some(k);
            return Ok(());
        }
        if let Some(size) = size {
            self.budget.take_size(size)?;
        }
        if anchor > 0 {
            let size = Size::of(&value);
            self.budget.take_size(size)?;
            self.anchors.insert(anchor, (value.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.value = Some(value),
            Some(Open::List(l, _)) => l.push(value),
            Some(Open::Map(m, key, _)) => {
                let k = key.take().unwrap_or_default();
                if m.contains_key(&k) {
                    return Err(format!("{k:?}: duplicated key in mapping"));
                }
                m.insert(k, value);
            }
        }
        Ok(())
    }
}

/// A scalar as yaml-rust2's loader reads it: quoted text is a string, `!!bool`, `!!int`,
/// `!!float`, `!!null` and `!!str` are resolved as tagged, plain text by the core schema.
fn yaml_scalar_value(
    v: String,
    style: yaml_rust2::scanner::TScalarStyle,
    tag: Option<yaml_rust2::parser::Tag>,
) -> yaml_rust2::Yaml {
    use yaml_rust2::Yaml as Y;
    if style != yaml_rust2::scanner::TScalarStyle::Plain {
        return Y::String(v);
    }
    let Some(tag) = tag else {
        return Y::from_str(&v);
    };
    if tag.handle != "tag:yaml.org,2002:" {
        return Y::String(v);
    }
    match tag.suffix.as_str() {
        "bool" => match v.as_str() {
            "true" | "True" | "TRUE" => Y::Boolean(true),
            "false" | "False" | "FALSE" => Y::Boolean(false),
            _ => Y::BadValue,
        },
        "int" => v.parse::<i64>().map_or(Y::BadValue, Y::Integer),
        "float" => {
            let real = Y::Real(v);
            if real.as_f64().is_some() {
                real
            } else {
                Y::BadValue
            }
        }
        "null" => match v.as_str() {
            "~" | "null" => Y::Null,
            _ => Y::BadValue,
        },
        _ => Y::String(v),
    }
}

/// A scalar's value.
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
        Y::BadValue => return Err("invalid YAML value".to_string()),
        Y::Array(_) | Y::Hash(_) | Y::Alias(_) => {
            return Err("a YAML scalar was expected".to_string());
        }
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
            // Every line is indented.
            let lines = s.matches('\n').count() + 1;
            limits::fits_text(lines.saturating_mul(indent + 3).saturating_add(s.len()))?;
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
/// Fails as soon as the text passes [`limits::MAX_TEXT`] (indentation grows with depth).
fn yaml_node(v: &Value, indent: usize, out: &mut String) -> Result<(), String> {
    limits::fits_text(out.len().saturating_add(indent))?;
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
                limits::fits_text(out.len())?;
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
                limits::fits_text(out.len())?;
            }
        }
        scalar => {
            out.push_str(&yaml_scalar(scalar, indent.saturating_sub(2))?);
            out.push('\n');
        }
    }
    limits::fits_text(out.len())
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

    /// A YAML string as an HCL string literal.
    fn literal(s: &str) -> String {
        serde_json::to_string(s).unwrap_or_default()
    }

    /// A "billion laughs": nine levels of nine aliases, 9^9 strings from ten short lines.
    #[test]
    fn yaml_aliases_expand_within_the_limits() {
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
        let mut doc = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(", ");
            doc.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        }
        fails(&format!("yamldecode({})", literal(&doc)), "values");
        // Aliases of a long string count its text each time.
        let long = format!(
            "a: &a {}\nb: [{}]\n",
            "x".repeat(1 << 20),
            vec!["*a"; 20].join(", ")
        );
        fails(&format!("yamldecode({})", literal(&long)), "MiB");
        same(
            r#"yamldecode("a: &x [1, { k: v }]\nb: *x")"#,
            "{ a = [1, { k = \"v\" }], b = [1, { k = \"v\" }] }",
        );
        fails(r#"yamldecode("a: *nope")"#, "unknown anchor");
    }

    #[test]
    fn decoded_documents_nest_at_most_128_levels() {
        let block = format!("{}x", "- ".repeat(100_000));
        fails(&format!("yamldecode({})", literal(&block)), "levels deep");
        let flow = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        fails(
            &format!("yamldecode({})", literal(&flow(200))),
            "levels deep",
        );
        fails(
            &format!("jsondecode({})", literal(&flow(200))),
            "levels deep",
        );
        // 127 lists around a number: 128 levels.
        same(
            &format!("jsondecode({})", literal(&flow(127))),
            &format!("yamldecode({})", literal(&flow(127))),
        );
        assert!(eval(&format!("jsondecode({})", literal(&flow(127)))).is_ok());
    }

    #[test]
    fn decoded_documents_stay_within_the_limits() {
        fails(
            r#"jsondecode(format("[%s0]", replace(format("%01100000d", 0), "0", "0,")))"#,
            "values",
        );
        fails(
            r#"yamldecode(format("[%s0]", replace(format("%01100000d", 0), "0", "0,")))"#,
            "values",
        );
        // Every row copies the header's 1,000 names of 100 bytes: 200 rows are 20 MB.
        let header = r#"join(",", [for i in range(1000) : format("%0100d", i)])"#;
        let row = r#"replace(format("%0999d", 0), "0", ",")"#;
        fails(
            &format!(
                r#"csvdecode(format("%s\n%s", {header}, join("\n", [for r in range(200) : {row}])))"#
            ),
            "MiB",
        );
    }

    /// An encoding grows its text by a constant factor, which chained calls would raise to
    /// a power.
    #[test]
    fn encoded_text_stays_within_the_limits() {
        let mut e = r#""\"""#.to_string();
        for _ in 0..26 {
            e = format!("jsonencode({e})");
        }
        fails(&e, "MiB");
        let mut e = r#"format("%01000000d", 0)"#.to_string();
        for _ in 0..10 {
            e = format!("base64encode({e})");
        }
        fails(&e, "MiB");
        fails(
            r#"textencodebase64(textencodebase64(textencodebase64(format("%01000000d", 0), "UTF-16"), "UTF-16"), "UTF-16")"#,
            "MiB",
        );
        fails(
            r#"urlencode(replace(format("%06000000d", 0), "0", "%"))"#,
            "MiB",
        );
        // Indentation grows with depth: 200,000 lines, 100 levels deep.
        let lines = r#"replace(format("%0200000d", 0), "0", "a\n")"#;
        let deep = format!(
            r#"jsondecode(format("%s%s%s", "{}", jsonencode({lines}), "{}"))"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        fails(&format!("yamlencode({deep})"), "MiB");
    }
}
