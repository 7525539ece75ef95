//! String functions: case, trimming, splitting and joining, searching, substrings and
//! regular expressions. Lengths and positions count grapheme clusters, as go-cty does;
//! patterns are RE2 (Go's `regexp`), which the `regex` crate follows.
//!
//! Every result is held to [`limits`]: a width, a repetition or a replacement that would
//! build more text is an error before anything is built, and a pattern too large for the
//! length of the text it searches is refused ([`limits::regex_size_limit`]).

use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef, ParamType};
use unicode_segmentation::UnicodeSegmentation;

use super::limits::{self, Budget};
use super::{R, fixed, int, list, num_param, str_param, text, variadic};

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    let s = str_param;
    Some(match name {
        "chomp" => fixed(&[s()], chomp),
        "endswith" => fixed(&[s(), s()], endswith),
        "indent" => fixed(&[num_param(), s()], indent),
        "join" => variadic(&[s()], ParamType::Any, join),
        "lower" => fixed(&[s()], lower),
        "regex" => fixed(&[s(), s()], regex),
        "regexall" => fixed(&[s(), s()], regexall),
        "replace" => fixed(&[s(), s(), s()], replace),
        "split" => fixed(&[s(), s()], split),
        "startswith" => fixed(&[s(), s()], startswith),
        "strcontains" => fixed(&[s(), s()], strcontains),
        "strrev" => fixed(&[s()], strrev),
        "substr" => fixed(&[s(), num_param(), num_param()], substr),
        "title" => fixed(&[s()], title),
        "trim" => fixed(&[s(), s()], trim),
        "trimprefix" => fixed(&[s(), s()], trimprefix),
        "trimspace" => fixed(&[s()], trimspace),
        "trimsuffix" => fixed(&[s(), s()], trimsuffix),
        "upper" => fixed(&[s()], upper),
        _ => return None,
    })
}

fn chomp(a: FuncArgs) -> R {
    Ok(Value::from(text(&a[0])?.trim_end_matches(['\n', '\r'])))
}

fn endswith(a: FuncArgs) -> R {
    Ok(Value::Bool(text(&a[0])?.ends_with(&text(&a[1])?)))
}

fn startswith(a: FuncArgs) -> R {
    Ok(Value::Bool(text(&a[0])?.starts_with(&text(&a[1])?)))
}

fn strcontains(a: FuncArgs) -> R {
    Ok(Value::Bool(text(&a[0])?.contains(&text(&a[1])?)))
}

/// `indent(n, s)`: every line but the first gets `n` spaces.
fn indent(a: FuncArgs) -> R {
    let n = usize::try_from(int(&a[0])?).unwrap_or(0);
    let s = text(&a[1])?;
    let breaks = s.matches('\n').count();
    if breaks == 0 || n == 0 {
        return Ok(Value::String(s));
    }
    limits::fits_text(breaks.saturating_mul(n).saturating_add(s.len()))?;
    let pad = " ".repeat(n);
    Ok(Value::String(s.replace('\n', &format!("\n{pad}"))))
}

fn join(a: FuncArgs) -> R {
    let sep = text(&a[0])?;
    if a.len() < 2 {
        return Err("at least one list is required".to_string());
    }
    let mut parts = Vec::new();
    for v in &a[1..] {
        for (i, x) in list(v, "each list argument")?.iter().enumerate() {
            if x.is_null() {
                return Err(format!(
                    "element {i} is null; cannot concatenate null values"
                ));
            }
            parts.push(text(x)?);
        }
    }
    let len = parts.iter().fold(
        sep.len().saturating_mul(parts.len().saturating_sub(1)),
        |n, p| n.saturating_add(p.len()),
    );
    limits::fits_text(len)?;
    Ok(Value::String(parts.join(&sep)))
}

fn lower(a: FuncArgs) -> R {
    Ok(Value::String(text(&a[0])?.to_lowercase()))
}

fn upper(a: FuncArgs) -> R {
    Ok(Value::String(text(&a[0])?.to_uppercase()))
}

/// Go's `strings.Title`: the first letter of each word in upper case, a word starting after
/// a space or an ASCII punctuation mark other than `_`.
fn title(a: FuncArgs) -> R {
    let mut out = String::new();
    let mut after_separator = true;
    for c in text(&a[0])?.chars() {
        if after_separator {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        after_separator = if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            c.is_whitespace()
        };
    }
    Ok(Value::String(out))
}

fn trim(a: FuncArgs) -> R {
    // A set: searching a list of the characters would cost their number for each one cut.
    let cut: std::collections::HashSet<char> = text(&a[1])?.chars().collect();
    Ok(Value::from(text(&a[0])?.trim_matches(|c| cut.contains(&c))))
}

fn trimprefix(a: FuncArgs) -> R {
    let t = text(&a[0])?;
    let p = text(&a[1])?;
    Ok(Value::from(t.strip_prefix(p.as_str()).unwrap_or(&t)))
}

fn trimsuffix(a: FuncArgs) -> R {
    let t = text(&a[0])?;
    let p = text(&a[1])?;
    Ok(Value::from(t.strip_suffix(p.as_str()).unwrap_or(&t)))
}

fn trimspace(a: FuncArgs) -> R {
    Ok(Value::from(text(&a[0])?.trim()))
}

fn split(a: FuncArgs) -> R {
    let (sep, s) = (text(&a[0])?, text(&a[1])?);
    let parts = if sep.is_empty() {
        s.chars().count()
    } else {
        s.matches(sep.as_str()).count() + 1
    };
    Budget::new().take(parts + 1, s.len())?;
    if sep.is_empty() {
        return Ok(Value::Array(
            s.chars().map(|c| Value::String(c.to_string())).collect(),
        ));
    }
    Ok(Value::Array(
        s.split(sep.as_str()).map(Value::from).collect(),
    ))
}

fn strrev(a: FuncArgs) -> R {
    Ok(Value::String(text(&a[0])?.graphemes(true).rev().collect()))
}

/// `substr(s, offset, length)` in grapheme clusters: a negative offset counts from the end,
/// a length of -1 takes the rest; past the end is the empty string.
fn substr(a: FuncArgs) -> R {
    let s = text(&a[0])?;
    let g: Vec<&str> = s.graphemes(true).collect();
    let mut offset = int(&a[1])?;
    let length = int(&a[2])?;
    if offset < 0 {
        offset += g.len() as i64;
    }
    let start = (offset.max(0) as usize).min(g.len());
    let end = if length < 0 {
        g.len()
    } else {
        start.saturating_add(length as usize).min(g.len())
    };
    Ok(Value::String(g[start..end].concat()))
}

/// `replace(string, substring, replacement)`; a substring written `/.../` is a regular
/// expression whose replacement may use `$1` (Terraform's rule).
fn replace(a: FuncArgs) -> R {
    let (s, find, with) = (text(&a[0])?, text(&a[1])?, text(&a[2])?);
    if find.len() >= 2 && find.starts_with('/') && find.ends_with('/') {
        let re = compile(&find[1..find.len() - 1], s.len())?;
        return replace_matches(&re, &s, &with).map(Value::String);
    }
    if find.is_empty() {
        return Ok(Value::String(s));
    }
    let count = s.matches(find.as_str()).count();
    let len = (s.len() - count * find.len()).saturating_add(count.saturating_mul(with.len()));
    limits::fits_text(len)?;
    Ok(Value::String(s.replace(&find, &with)))
}

/// `re.replace_all(s, with)`, failing before a replacement would pass [`limits::MAX_TEXT`]:
/// `with` expands to at most its own length plus, for each `$`, the whole match (every
/// group is a part of it).
fn replace_matches(re: &regex::Regex, s: &str, with: &str) -> Result<String, String> {
    let refs = with.matches('$').count();
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(s) {
        let Some(m) = caps.get(0) else { continue };
        let most = with.len().saturating_add(refs.saturating_mul(m.len()));
        limits::fits_text(
            out.len()
                .saturating_add(m.start() - last)
                .saturating_add(most),
        )?;
        out.push_str(&s[last..m.start()]);
        caps.expand(with, &mut out);
        last = m.end();
    }
    limits::fits_text(out.len().saturating_add(s.len() - last))?;
    out.push_str(&s[last..]);
    Ok(out)
}

/// Compiles a pattern to search `len` bytes of text, no larger than that allows.
fn compile(pattern: &str, len: usize) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(limits::regex_size_limit(len))
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) if limit < limits::regex_size_limit(0) => {
                format!(
                    "the regular expression is too large to search {len} bytes of text: \
                     compiled, it would exceed {limit} bytes (modlens's limit)"
                )
            }
            regex::Error::CompiledTooBig(limit) => format!(
                "the regular expression is too large: compiled, it would exceed {limit} bytes"
            ),
            e => format!("invalid regular expression pattern: {e}"),
        })
}

/// What a match gives: the whole match without capture groups, a list of the groups when
/// they are unnamed, an object when they are named (mixing both is an error).
#[derive(Clone, Copy)]
enum Shape {
    Whole,
    List,
    Object,
}

fn shape(re: &regex::Regex) -> Result<Shape, String> {
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    let named = names.iter().filter(|n| n.is_some()).count();
    match (names.len() - named, named) {
        (0, 0) => Ok(Shape::Whole),
        (_, 0) => Ok(Shape::List),
        (0, _) => Ok(Shape::Object),
        _ => Err(
            "invalid regular expression pattern: cannot mix both named and unnamed capture groups"
                .to_string(),
        ),
    }
}

/// The value of one match, counted in `budget` before it is built.
fn captured(
    caps: &regex::Captures<'_>,
    re: &regex::Regex,
    shape: Shape,
    budget: &mut Budget,
) -> Result<Value, String> {
    let len = |i: usize| caps.get(i).map_or(0, |c| c.len());
    match shape {
        Shape::Whole => budget.take(1, len(0))?,
        Shape::List => budget.take(
            re.captures_len(),
            (1..re.captures_len()).map(len).sum::<usize>(),
        )?,
        Shape::Object => {
            for (i, name) in re.capture_names().enumerate().skip(1) {
                if let Some(n) = name {
                    budget.take(1, n.len() + len(i))?;
                }
            }
            budget.take(1, 0)?;
        }
    }
    let group = |i: usize| {
        caps.get(i)
            .map(|c| Value::from(c.as_str()))
            .unwrap_or(Value::Null)
    };
    Ok(match shape {
        Shape::Whole => group(0),
        Shape::List => Value::Array((1..re.captures_len()).map(group).collect()),
        Shape::Object => {
            let mut m = hcl::Map::new();
            for (i, name) in re.capture_names().enumerate().skip(1) {
                if let Some(n) = name {
                    m.insert(n.to_string(), group(i));
                }
            }
            m.sort_keys();
            Value::Object(m)
        }
    })
}

fn regex(a: FuncArgs) -> R {
    let s = text(&a[1])?;
    let re = compile(&text(&a[0])?, s.len())?;
    let sh = shape(&re)?;
    let caps = re
        .captures(&s)
        .ok_or_else(|| "pattern did not match any part of the given string".to_string())?;
    captured(&caps, &re, sh, &mut Budget::new())
}

fn regexall(a: FuncArgs) -> R {
    let s = text(&a[1])?;
    let re = compile(&text(&a[0])?, s.len())?;
    let sh = shape(&re)?;
    let mut budget = Budget::new();
    budget.take(1, 0)?;
    let mut out = Vec::new();
    for caps in re.captures_iter(&s) {
        out.push(captured(&caps, &re, sh, &mut budget)?);
    }
    Ok(Value::Array(out))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    /// Examples from Terraform's documentation of each function.
    #[test]
    fn case_and_trimming() {
        assert_eq!(ok(r#"lower("HELLO")"#), "hello");
        assert_eq!(ok(r#"lower("АЛЛО!")"#), "алло!");
        assert_eq!(ok(r#"upper("hello")"#), "HELLO");
        assert_eq!(ok(r#"title("hello world")"#), "Hello World");
        assert_eq!(ok(r#"title("hello_world-x.y")"#), "Hello_world-X.Y");
        assert_eq!(ok(r#"chomp("hello\n")"#), "hello");
        assert_eq!(ok(r#"chomp("hello\r\n")"#), "hello");
        assert_eq!(ok(r#"chomp("hello\n\n")"#), "hello");
        assert_eq!(ok(r#"trimspace("  hello\n\n")"#), "hello");
        assert_eq!(ok(r#"trim("?!hello?!", "!?")"#), "hello");
        assert_eq!(ok(r#"trimprefix("helloworld", "hello")"#), "world");
        assert_eq!(ok(r#"trimprefix("helloworld", "cat")"#), "helloworld");
        assert_eq!(ok(r#"trimsuffix("helloworld", "world")"#), "hello");
        assert_eq!(
            ok(r#"indent(2, "[\n  foo,\n  bar,\n]\n")"#),
            "[\n    foo,\n    bar,\n  ]\n  "
        );
    }

    #[test]
    fn searching_splitting_and_joining() {
        assert_eq!(ok(r#"startswith("hello world", "hello")"#), "true");
        assert_eq!(ok(r#"endswith("hello world", "hello")"#), "false");
        assert_eq!(ok(r#"strcontains("hello world", "wor")"#), "true");
        same(r#"split(",", "foo,bar,baz")"#, r#"["foo", "bar", "baz"]"#);
        same(r#"split(",", "foo")"#, r#"["foo"]"#);
        same(r#"split(",", "")"#, r#"[""]"#);
        assert_eq!(ok(r#"join("-", ["foo", "bar", "baz"])"#), "foo-bar-baz");
        assert_eq!(ok(r#"join(", ", ["a", 1], ["c"])"#), "a, 1, c");
        fails(r#"join(", ", ["a", null])"#, "null");
        assert_eq!(ok(r#"strrev("hello")"#), "olleh");
        assert_eq!(ok(r#"strrev("a☃")"#), "☃a");
        assert_eq!(ok(r#"substr("hello world", 1, 4)"#), "ello");
        assert_eq!(ok(r#"substr("🤔🤷", 0, 1)"#), "🤔");
        assert_eq!(ok(r#"substr("hello world", -5, -1)"#), "world");
        assert_eq!(ok(r#"substr("hello world", 7, 100)"#), "orld");
        assert_eq!(ok(r#"substr("hello", 10, 1)"#), "");
        assert_eq!(ok(r#"replace("1 + 2 + 3", "+", "-")"#), "1 - 2 - 3");
        assert_eq!(
            ok(r#"replace("hello world", "/w.*d/", "everybody")"#),
            "hello everybody"
        );
        assert_eq!(ok(r#"replace("a1b22", "/([0-9]+)/", "<$1>")"#), "a<1>b<22>");
    }

    #[test]
    fn regular_expressions() {
        assert_eq!(
            ok(r#"regex("[a-z]+", "53453453.345345aaabbbccc23454")"#),
            "aaabbbccc"
        );
        same(
            r#"regex("(\\d\\d\\d\\d)-(\\d\\d)-(\\d\\d)", "2019-02-01")"#,
            r#"["2019", "02", "01"]"#,
        );
        same(
            r#"regex("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", "https://terraform.io/docs/")"#,
            r#"{ authority = "terraform.io", scheme = "https" }"#,
        );
        fails(r#"regex("[a-z]+", "123")"#, "did not match");
        fails(r#"regex("(a)(?P<n>b)", "ab")"#, "cannot mix");
        fails(r#"regex("(", "x")"#, "invalid regular expression");
        same(
            r#"regexall("[a-z]+", "1234abcd5678efgh9")"#,
            r#"["abcd", "efgh"]"#,
        );
        same(r#"length(regexall("[a-z]+", "123"))"#, "0");
        same(r#"regexall("(a)(b)?", "a")"#, "[[\"a\", null]]");
    }

    /// Results larger than the limits are errors, found before anything is built.
    #[test]
    fn string_results_stay_within_the_limits() {
        fails(r#"indent(1000000000, "a\nb")"#, "MiB");
        assert_eq!(ok(r#"indent(1000000000, "ab")"#), "ab");
        assert_eq!(ok(r#"indent(10001, "a\nb")"#).len(), 10004);
        fails(r#"join(format("%020000d", 0), range(1024))"#, "MiB");
        fails(r#"split("", format("%01100000d", 0))"#, "values");
        let s = r#"format("%05000d", 0)"#;
        fails(&format!(r#"replace({s}, "0", {s})"#), "MiB");
        fails(
            r#"replace(format("%04000000d", 0), "/0+/", "$0$0$0$0$0")"#,
            "MiB",
        );
        let groups = format!("{}0+{}", "(".repeat(10), ")".repeat(10));
        let text = r#"format("%02000000d", 0)"#;
        fails(&format!(r#"regexall("{groups}", {text})"#), "MiB");
        fails(&format!(r#"regex("{groups}", {text})"#), "MiB");
        fails(r#"regexall("", format("%01100000d", 0))"#, "values");
    }

    /// Matching costs the text's length times the compiled pattern's size: a pattern too
    /// large for a long text is an error, not minutes of work.
    #[test]
    fn patterns_cost_at_most_a_budget() {
        fails(
            r#"regexall("\\w{100}", format("%01048576d", 0))"#,
            "too large",
        );
        fails(
            r#"replace(format("%01048576d", 0), "/\\w{100}/", "")"#,
            "too large",
        );
        same(r#"length(regexall("\\w{100}", format("%0200d", 0)))"#, "2");
        fails(r#"regex("a{1000}{1000}", "a")"#, "too large");
        let nested = format!("{}a{}", "(".repeat(1000), ")".repeat(1000));
        fails(
            &format!(r#"regex("{nested}", "a")"#),
            "invalid regular expression",
        );
    }

    /// `trim` looks its characters up in a set: a million of them, all cut, would be 10^12
    /// comparisons in a list.
    #[test]
    fn trim_takes_linear_time() {
        let s = r#"format("%01000000d", 0)"#;
        let cut = r#"format("%s0", replace(format("%01000000d", 0), "0", "1"))"#;
        same(&format!("trim({s}, {cut})"), r#""""#);
        same(r#"trim("xxaxx", "x")"#, r#""a""#);
    }
}
