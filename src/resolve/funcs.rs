//! The functions mod files may call outside SQL, registered as hcl-rs functions.
//!
//! hcl-rs's evaluator ships none. Public mods call `merge` (tags), `file` (documentation) and
//! `replace`; the rest of Terraform's common string and collection functions are here so a
//! mod that uses them evaluates as it does in Powerpipe. A function hcl-rs does not find is
//! reported by the caller as an unknown function.
//!
//! `file(path)` reads relative to the mod root through a reader installed for the duration
//! of one evaluation ([`with_file_reader`]): hcl-rs functions are plain `fn`s, so the reader
//! travels in a thread-local, never in a global.

use std::cell::RefCell;
use std::sync::Arc;

use hcl::Value;
use hcl::eval::{Context, FuncArgs, FuncDef, ParamType};

/// Reads a file for `file()`: the path as written, relative to the mod root; the error is
/// the message to show.
pub type FileReader = Arc<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

thread_local! {
    static FILE_READER: RefCell<Option<FileReader>> = const { RefCell::new(None) };
}

/// Runs `f` with `reader` serving `file()` calls on this thread.
pub fn with_file_reader<R>(reader: FileReader, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<FileReader>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            FILE_READER.with(|r| *r.borrow_mut() = prev);
        }
    }
    let prev = FILE_READER.with(|r| r.borrow_mut().replace(reader));
    let _restore = Restore(prev);
    f()
}

/// The names of every function registered by [`declare_all`].
pub const NAMES: &[&str] = &[
    "abs",
    "ceil",
    "chomp",
    "coalesce",
    "coalescelist",
    "compact",
    "concat",
    "contains",
    "distinct",
    "element",
    "endswith",
    "file",
    "flatten",
    "floor",
    "format",
    "formatlist",
    "indent",
    "index",
    "join",
    "jsondecode",
    "jsonencode",
    "keys",
    "length",
    "lookup",
    "lower",
    "max",
    "merge",
    "min",
    "range",
    "regex",
    "regexall",
    "replace",
    "reverse",
    "slice",
    "sort",
    "split",
    "startswith",
    "strcontains",
    "strrev",
    "substr",
    "title",
    "tobool",
    "tolist",
    "tomap",
    "tonumber",
    "toset",
    "tostring",
    "trim",
    "trimprefix",
    "trimspace",
    "trimsuffix",
    "upper",
    "values",
    "zipmap",
];

/// Declares every function in `ctx`.
pub fn declare_all(ctx: &mut Context<'_>) {
    for name in NAMES {
        if let Some(f) = def(name) {
            ctx.declare_func(*name, f);
        }
    }
}

/// Declares the functions that `text` calls (an identifier followed by `(`): declaring all
/// of them for every evaluation would cost more than most evaluations.
pub fn declare_used(ctx: &mut Context<'_>, text: &str) {
    let b = text.as_bytes();
    let mut seen: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let mut j = i;
            while j < b.len() && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            }
            if b.get(j) == Some(&b'(') {
                let name = &text[start..i];
                if !seen.contains(&name) && NAMES.binary_search(&name).is_ok() {
                    seen.push(name);
                    if let Some(f) = def(name) {
                        ctx.declare_func(name, f);
                    }
                }
            }
        } else {
            i += 1;
        }
    }
}

/// The definition of one function of [`NAMES`].
fn def(name: &str) -> Option<FuncDef> {
    use ParamType::{Any, String as S};
    let f = |params: &[ParamType], func: hcl::eval::Func| FuncDef::new(func, params.to_vec());
    let var = |params: &[ParamType], rest: ParamType, func: hcl::eval::Func| {
        FuncDef::builder()
            .params(params.to_vec())
            .variadic_param(rest)
            .build(func)
    };
    Some(match name {
        "abs" => f(&[ParamType::Number], abs),
        "ceil" => f(&[ParamType::Number], ceil),
        "chomp" => f(&[S], chomp),
        "coalesce" => var(&[], Any, coalesce),
        "coalescelist" => var(&[], Any, coalescelist),
        "compact" => f(&[Any], compact),
        "concat" => var(&[], Any, concat),
        "contains" => f(&[Any, Any], contains),
        "distinct" => f(&[Any], distinct),
        "element" => f(&[Any, ParamType::Number], element),
        "endswith" => f(&[S, S], endswith),
        "file" => f(&[S], file),
        "flatten" => f(&[Any], flatten),
        "floor" => f(&[ParamType::Number], floor),
        "format" => var(&[S], Any, format),
        "formatlist" => var(&[S], Any, formatlist),
        "indent" => f(&[ParamType::Number, S], indent),
        "index" => f(&[Any, Any], index),
        "join" => var(&[S], Any, join),
        "jsondecode" => f(&[S], jsondecode),
        "jsonencode" => f(&[Any], jsonencode),
        "keys" => f(&[Any], keys),
        "length" => f(&[Any], length),
        "lookup" => var(&[Any, S], Any, lookup),
        "lower" => f(&[S], lower),
        "max" => var(&[], Any, max),
        "merge" => var(&[], Any, merge),
        "min" => var(&[], Any, min),
        "range" => var(&[], Any, range),
        "regex" => f(&[S, S], regex),
        "regexall" => f(&[S, S], regexall),
        "replace" => f(&[S, S, S], replace),
        "reverse" => f(&[Any], reverse),
        "slice" => f(&[Any, ParamType::Number, ParamType::Number], slice),
        "sort" => f(&[Any], sort),
        "split" => f(&[S, S], split),
        "startswith" => f(&[S, S], startswith),
        "strcontains" => f(&[S, S], strcontains),
        "strrev" => f(&[S], strrev),
        "substr" => f(&[S, ParamType::Number, ParamType::Number], substr),
        "title" => f(&[S], title),
        "tobool" => f(&[Any], tobool),
        "tolist" => f(&[Any], tolist),
        "tomap" => f(&[Any], tomap),
        "tonumber" => f(&[Any], tonumber),
        "toset" => f(&[Any], toset),
        "tostring" => f(&[Any], tostring),
        "trim" => f(&[S, S], trim),
        "trimprefix" => f(&[S, S], trimprefix),
        "trimspace" => f(&[S], trimspace),
        "trimsuffix" => f(&[S, S], trimsuffix),
        "upper" => f(&[S], upper),
        "values" => f(&[Any], values),
        "zipmap" => f(&[Any, Any], zipmap),
        _ => return None,
    })
}

type R = Result<Value, String>;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn num(v: &Value) -> f64 {
    v.as_number().and_then(|n| n.as_f64()).unwrap_or(0.0)
}

fn number(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 {
        Value::Number(hcl::Number::from(f as i64))
    } else {
        hcl::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

fn list<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("{what} must be a list, not {}", kind(v)))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A primitive as text, the way string conversion shows it.
fn to_text(v: &Value) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Err("cannot convert null to a string".to_string()),
        other => Err(format!("cannot convert {} to a string", kind(other))),
    }
}

fn abs(a: FuncArgs) -> R {
    Ok(number(num(&a[0]).abs()))
}

fn ceil(a: FuncArgs) -> R {
    Ok(number(num(&a[0]).ceil()))
}

fn floor(a: FuncArgs) -> R {
    Ok(number(num(&a[0]).floor()))
}

fn chomp(a: FuncArgs) -> R {
    Ok(Value::from(s(&a[0]).trim_end_matches(['\n', '\r'])))
}

fn coalesce(a: FuncArgs) -> R {
    a.iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "no non-null, non-empty argument".to_string())
}

fn coalescelist(a: FuncArgs) -> R {
    a.iter()
        .find(|v| v.as_array().is_some_and(|l| !l.is_empty()))
        .cloned()
        .ok_or_else(|| "no non-empty list argument".to_string())
}

fn compact(a: FuncArgs) -> R {
    let l = list(&a[0], "the argument")?;
    Ok(Value::Array(
        l.iter()
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned()
            .collect(),
    ))
}

fn concat(a: FuncArgs) -> R {
    let mut out = Vec::new();
    for (i, v) in a.iter().enumerate() {
        out.extend(list(v, &format!("argument {}", i + 1))?.iter().cloned());
    }
    Ok(Value::Array(out))
}

fn contains(a: FuncArgs) -> R {
    Ok(Value::Bool(
        list(&a[0], "the first argument")?.contains(&a[1]),
    ))
}

fn distinct(a: FuncArgs) -> R {
    let mut out: Vec<Value> = Vec::new();
    for v in list(&a[0], "the argument")? {
        if !out.contains(v) {
            out.push(v.clone());
        }
    }
    Ok(Value::Array(out))
}

fn element(a: FuncArgs) -> R {
    let l = list(&a[0], "the first argument")?;
    if l.is_empty() {
        return Err("cannot use element() on an empty list".to_string());
    }
    let i = num(&a[1]);
    if i < 0.0 {
        return Err("the index must not be negative".to_string());
    }
    Ok(l[(i as usize) % l.len()].clone())
}

fn endswith(a: FuncArgs) -> R {
    Ok(Value::Bool(s(&a[0]).ends_with(s(&a[1]))))
}

fn startswith(a: FuncArgs) -> R {
    Ok(Value::Bool(s(&a[0]).starts_with(s(&a[1]))))
}

fn strcontains(a: FuncArgs) -> R {
    Ok(Value::Bool(s(&a[0]).contains(s(&a[1]))))
}

fn file(a: FuncArgs) -> R {
    let path = s(&a[0]).to_string();
    let reader = FILE_READER.with(|r| r.borrow().clone());
    match reader {
        Some(read) => read(&path).map(Value::String),
        None => Err("file() is not available here".to_string()),
    }
}

fn flatten(a: FuncArgs) -> R {
    fn walk(v: &[Value], out: &mut Vec<Value>) {
        for x in v {
            match x {
                Value::Array(inner) => walk(inner, out),
                other => out.push(other.clone()),
            }
        }
    }
    let mut out = Vec::new();
    walk(list(&a[0], "the argument")?, &mut out);
    Ok(Value::Array(out))
}

/// Terraform's `format` verbs: `%s`, `%d`, `%f` (with precision), `%t`, `%q`, `%v`, `%#v`,
/// `%%`, with an optional width; `%[n]` argument indexes are not supported.
fn format_with(spec: &str, args: &[Value]) -> Result<String, String> {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = spec.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            out.push('%');
            continue;
        }
        let mut flags = String::new();
        while let Some(&f) = chars.peek() {
            if matches!(f, '-' | '+' | '#' | ' ' | '0') {
                flags.push(f);
                chars.next();
            } else {
                break;
            }
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            precision = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            return Err("format string ends with an incomplete verb".to_string());
        };
        let Some(arg) = args.get(next) else {
            return Err(format!(
                "not enough arguments for the format string {spec:?}"
            ));
        };
        next += 1;
        let text = match verb {
            's' => to_text(arg)?,
            'd' => {
                let n = arg
                    .as_number()
                    .and_then(|n| n.as_f64())
                    .or_else(|| arg.as_str().and_then(|t| t.parse().ok()))
                    .ok_or_else(|| format!("%d needs a number, not {}", kind(arg)))?;
                if n.fract() != 0.0 {
                    return Err(format!("%d needs a whole number, not {n}"));
                }
                let t = format!("{}", n as i64);
                if flags.contains('+') && n >= 0.0 {
                    format!("+{t}")
                } else {
                    t
                }
            }
            'f' | 'e' | 'g' => {
                let n = arg
                    .as_number()
                    .and_then(|n| n.as_f64())
                    .or_else(|| arg.as_str().and_then(|t| t.parse().ok()))
                    .ok_or_else(|| format!("%{verb} needs a number, not {}", kind(arg)))?;
                match verb {
                    'e' => format!("{:.*e}", precision.unwrap_or(6), n),
                    'g' => format!("{n}"),
                    _ => format!("{:.*}", precision.unwrap_or(6), n),
                }
            }
            't' => match arg {
                Value::Bool(b) => b.to_string(),
                other => return Err(format!("%t needs a bool, not {}", kind(other))),
            },
            'q' => serde_json::to_string(&to_text(arg)?).unwrap_or_default(),
            'v' => {
                if flags.contains('#') {
                    json_text(arg)?
                } else {
                    match arg {
                        Value::String(_) | Value::Number(_) | Value::Bool(_) => to_text(arg)?,
                        other => json_text(other)?,
                    }
                }
            }
            other => return Err(format!("unsupported format verb %{other}")),
        };
        let text = match (verb, precision) {
            ('s', Some(p)) => text.chars().take(p).collect(),
            _ => text,
        };
        let w: usize = width.parse().unwrap_or(0);
        let len = text.chars().count();
        if len < w {
            let pad = w - len;
            if flags.contains('-') {
                out.push_str(&text);
                out.extend(std::iter::repeat_n(' ', pad));
            } else {
                let fill = if flags.contains('0') && verb != 's' {
                    '0'
                } else {
                    ' '
                };
                out.extend(std::iter::repeat_n(fill, pad));
                out.push_str(&text);
            }
        } else {
            out.push_str(&text);
        }
    }
    if next < args.len() {
        return Err(format!(
            "too many arguments for the format string: {} used, {} given",
            next,
            args.len()
        ));
    }
    Ok(out)
}

fn format(a: FuncArgs) -> R {
    format_with(s(&a[0]), &a[1..]).map(Value::String)
}

fn formatlist(a: FuncArgs) -> R {
    let spec = s(&a[0]);
    let rest = &a[1..];
    let len = rest.iter().filter_map(|v| v.as_array().map(Vec::len)).max();
    let Some(len) = len else {
        return format_with(spec, rest).map(|t| Value::Array(vec![Value::String(t)]));
    };
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let args: Vec<Value> = rest
            .iter()
            .map(|v| match v.as_array() {
                Some(l) => l
                    .get(i)
                    .cloned()
                    .ok_or("lists of different lengths".to_string()),
                None => Ok(v.clone()),
            })
            .collect::<Result<_, _>>()?;
        out.push(Value::String(format_with(spec, &args)?));
    }
    Ok(Value::Array(out))
}

fn indent(a: FuncArgs) -> R {
    let pad = " ".repeat(num(&a[0]).max(0.0) as usize);
    let text = s(&a[1]);
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    Ok(Value::String(out))
}

fn index(a: FuncArgs) -> R {
    let l = list(&a[0], "the first argument")?;
    l.iter()
        .position(|v| v == &a[1])
        .map(|i| number(i as f64))
        .ok_or_else(|| "the item is not in the list".to_string())
}

fn join(a: FuncArgs) -> R {
    let sep = s(&a[0]);
    let mut parts = Vec::new();
    for v in &a[1..] {
        for x in list(v, "each list argument")? {
            parts.push(to_text(x)?);
        }
    }
    Ok(Value::String(parts.join(sep)))
}

fn jsondecode(a: FuncArgs) -> R {
    serde_json::from_str::<Value>(s(&a[0])).map_err(|e| format!("invalid JSON: {e}"))
}

/// JSON as Go's encoder writes it (Terraform's `jsonencode`): compact, `<`, `>` and `&`
/// escaped.
fn json_text(v: &Value) -> Result<String, String> {
    let raw = serde_json::to_string(v).map_err(|e| e.to_string())?;
    Ok(raw
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026"))
}

fn jsonencode(a: FuncArgs) -> R {
    json_text(&a[0]).map(Value::String)
}

fn keys(a: FuncArgs) -> R {
    let o = a[0]
        .as_object()
        .ok_or_else(|| format!("keys() needs a map or object, not {}", kind(&a[0])))?;
    let mut k: Vec<&String> = o.keys().collect();
    k.sort();
    Ok(Value::Array(
        k.into_iter().map(|k| Value::String(k.clone())).collect(),
    ))
}

fn values(a: FuncArgs) -> R {
    let o = a[0]
        .as_object()
        .ok_or_else(|| format!("values() needs a map or object, not {}", kind(&a[0])))?;
    let mut entries: Vec<(&String, &Value)> = o.iter().collect();
    entries.sort_by(|x, y| x.0.cmp(y.0));
    Ok(Value::Array(
        entries.into_iter().map(|(_, v)| v.clone()).collect(),
    ))
}

fn length(a: FuncArgs) -> R {
    let n = match &a[0] {
        Value::String(t) => t.chars().count(),
        Value::Array(l) => l.len(),
        Value::Object(o) => o.len(),
        other => {
            return Err(format!(
                "length() needs a string, list or map, not {}",
                kind(other)
            ));
        }
    };
    Ok(number(n as f64))
}

fn lookup(a: FuncArgs) -> R {
    let o = a[0]
        .as_object()
        .ok_or_else(|| format!("lookup() needs a map or object, not {}", kind(&a[0])))?;
    match o.get(s(&a[1])) {
        Some(v) => Ok(v.clone()),
        None => a.get(2).cloned().ok_or_else(|| {
            format!(
                "the key {:?} does not exist and there is no default",
                s(&a[1])
            )
        }),
    }
}

fn lower(a: FuncArgs) -> R {
    Ok(Value::String(s(&a[0]).to_lowercase()))
}

fn upper(a: FuncArgs) -> R {
    Ok(Value::String(s(&a[0]).to_uppercase()))
}

fn title(a: FuncArgs) -> R {
    let mut out = String::new();
    let mut start = true;
    for c in s(&a[0]).chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    Ok(Value::String(out))
}

fn numbers(a: &FuncArgs, what: &str) -> Result<Vec<f64>, String> {
    if a.is_empty() {
        return Err(format!("{what}() needs at least one number"));
    }
    a.iter()
        .map(|v| {
            v.as_number()
                .and_then(|n| n.as_f64())
                .ok_or_else(|| format!("{what}() needs numbers, not {}", kind(v)))
        })
        .collect()
}

fn max(a: FuncArgs) -> R {
    let n = numbers(&a, "max")?;
    Ok(number(n.into_iter().fold(f64::MIN, f64::max)))
}

fn min(a: FuncArgs) -> R {
    let n = numbers(&a, "min")?;
    Ok(number(n.into_iter().fold(f64::MAX, f64::min)))
}

fn merge(a: FuncArgs) -> R {
    let mut out = hcl::Map::new();
    for (i, v) in a.iter().enumerate() {
        match v {
            Value::Null => {}
            Value::Object(o) => {
                for (k, x) in o {
                    out.insert(k.clone(), x.clone());
                }
            }
            other => {
                return Err(format!(
                    "argument {} must be a map or object, not {}",
                    i + 1,
                    kind(other)
                ));
            }
        }
    }
    out.sort_keys();
    Ok(Value::Object(out))
}

fn range(a: FuncArgs) -> R {
    let n = numbers(&a, "range")?;
    let (start, end, step) = match n.as_slice() {
        [e] => (0.0, *e, 1.0),
        [s, e] => (*s, *e, if e >= s { 1.0 } else { -1.0 }),
        [s, e, st] => (*s, *e, *st),
        _ => return Err("range() takes one to three numbers".to_string()),
    };
    if step == 0.0 {
        return Err("range() step must not be zero".to_string());
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0.0 && x < end) || (step < 0.0 && x > end) {
        out.push(number(x));
        if out.len() > 1_000_000 {
            return Err("range() would produce more than 1,000,000 numbers".to_string());
        }
        x += step;
    }
    Ok(Value::Array(out))
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|e| format!("invalid regular expression: {e}"))
}

fn regex_match(caps: &regex::Captures<'_>, re: &regex::Regex) -> Value {
    let names: Vec<Option<&str>> = re.capture_names().collect();
    if names.iter().skip(1).any(Option::is_some) {
        let mut m = hcl::Map::new();
        for (i, name) in names.iter().enumerate().skip(1) {
            if let Some(n) = name {
                let v = caps
                    .get(i)
                    .map(|c| Value::from(c.as_str()))
                    .unwrap_or(Value::Null);
                m.insert((*n).to_string(), v);
            }
        }
        Value::Object(m)
    } else if re.captures_len() > 1 {
        Value::Array(
            (1..re.captures_len())
                .map(|i| {
                    caps.get(i)
                        .map(|c| Value::from(c.as_str()))
                        .unwrap_or(Value::Null)
                })
                .collect(),
        )
    } else {
        caps.get(0)
            .map(|c| Value::from(c.as_str()))
            .unwrap_or(Value::Null)
    }
}

fn regex(a: FuncArgs) -> R {
    let re = compile(s(&a[0]))?;
    let caps = re
        .captures(s(&a[1]))
        .ok_or_else(|| "the pattern did not match".to_string())?;
    Ok(regex_match(&caps, &re))
}

fn regexall(a: FuncArgs) -> R {
    let re = compile(s(&a[0]))?;
    Ok(Value::Array(
        re.captures_iter(s(&a[1]))
            .map(|c| regex_match(&c, &re))
            .collect(),
    ))
}

/// `replace(string, substring, replacement)`; a substring written `/.../` is a regular
/// expression whose replacement may use `$1` (Terraform's rule).
fn replace(a: FuncArgs) -> R {
    let (text, find, with) = (s(&a[0]), s(&a[1]), s(&a[2]));
    if find.len() >= 2 && find.starts_with('/') && find.ends_with('/') {
        let re = compile(&find[1..find.len() - 1])?;
        return Ok(Value::String(re.replace_all(text, with).into_owned()));
    }
    if find.is_empty() {
        return Ok(Value::from(text));
    }
    Ok(Value::String(text.replace(find, with)))
}

fn reverse(a: FuncArgs) -> R {
    let mut l = list(&a[0], "the argument")?.clone();
    l.reverse();
    Ok(Value::Array(l))
}

fn slice(a: FuncArgs) -> R {
    let l = list(&a[0], "the first argument")?;
    let (from, to) = (num(&a[1]), num(&a[2]));
    if from < 0.0 || to < from || to as usize > l.len() {
        return Err(format!(
            "slice() indexes {from} and {to} are out of range for a list of {}",
            l.len()
        ));
    }
    Ok(Value::Array(l[from as usize..to as usize].to_vec()))
}

fn sort(a: FuncArgs) -> R {
    let mut l: Vec<String> = list(&a[0], "the argument")?
        .iter()
        .map(to_text)
        .collect::<Result<_, _>>()?;
    l.sort();
    Ok(Value::Array(l.into_iter().map(Value::String).collect()))
}

fn split(a: FuncArgs) -> R {
    let (sep, text) = (s(&a[0]), s(&a[1]));
    if text.is_empty() {
        return Ok(Value::Array(vec![Value::from("")]));
    }
    if sep.is_empty() {
        return Ok(Value::Array(
            text.chars().map(|c| Value::String(c.to_string())).collect(),
        ));
    }
    Ok(Value::Array(text.split(sep).map(Value::from).collect()))
}

fn strrev(a: FuncArgs) -> R {
    Ok(Value::String(s(&a[0]).chars().rev().collect()))
}

fn substr(a: FuncArgs) -> R {
    let chars: Vec<char> = s(&a[0]).chars().collect();
    let mut offset = num(&a[1]) as i64;
    let length = num(&a[2]) as i64;
    if offset < 0 {
        offset += chars.len() as i64;
    }
    let start = (offset.max(0) as usize).min(chars.len());
    let end = if length < 0 {
        chars.len()
    } else {
        (start + length as usize).min(chars.len())
    };
    Ok(Value::String(chars[start..end].iter().collect()))
}

fn tobool(a: FuncArgs) -> R {
    match &a[0] {
        Value::Bool(_) | Value::Null => Ok(a[0].clone()),
        Value::String(t) if t == "true" => Ok(Value::Bool(true)),
        Value::String(t) if t == "false" => Ok(Value::Bool(false)),
        other => Err(format!("cannot convert {} to a bool", kind(other))),
    }
}

fn tonumber(a: FuncArgs) -> R {
    match &a[0] {
        Value::Number(_) | Value::Null => Ok(a[0].clone()),
        Value::String(t) => super::types::parse_number(t)
            .map(Value::Number)
            .ok_or_else(|| format!("cannot convert {t:?} to a number")),
        other => Err(format!("cannot convert {} to a number", kind(other))),
    }
}

fn tostring(a: FuncArgs) -> R {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        v => to_text(v).map(Value::String),
    }
}

fn tolist(a: FuncArgs) -> R {
    list(&a[0], "the argument").map(|l| Value::Array(l.clone()))
}

fn toset(a: FuncArgs) -> R {
    distinct(a)
}

fn tomap(a: FuncArgs) -> R {
    match &a[0] {
        Value::Object(_) => Ok(a[0].clone()),
        other => Err(format!("cannot convert {} to a map", kind(other))),
    }
}

fn trim(a: FuncArgs) -> R {
    let cut: Vec<char> = s(&a[1]).chars().collect();
    Ok(Value::from(s(&a[0]).trim_matches(|c| cut.contains(&c))))
}

fn trimprefix(a: FuncArgs) -> R {
    let t = s(&a[0]);
    Ok(Value::from(t.strip_prefix(s(&a[1])).unwrap_or(t)))
}

fn trimsuffix(a: FuncArgs) -> R {
    let t = s(&a[0]);
    Ok(Value::from(t.strip_suffix(s(&a[1])).unwrap_or(t)))
}

fn trimspace(a: FuncArgs) -> R {
    Ok(Value::from(s(&a[0]).trim()))
}

fn zipmap(a: FuncArgs) -> R {
    let k = list(&a[0], "the keys")?;
    let v = list(&a[1], "the values")?;
    if k.len() != v.len() {
        return Err(format!("{} keys but {} values", k.len(), v.len()));
    }
    let mut m = hcl::Map::new();
    for (key, val) in k.iter().zip(v) {
        m.insert(to_text(key)?, val.clone());
    }
    m.sort_keys();
    Ok(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl::eval::Evaluate;

    fn eval(src: &str) -> Result<Value, String> {
        let body: hcl::Body = hcl::parse(&format!("x = {src}\n")).map_err(|e| e.to_string())?;
        let expr = body
            .attributes()
            .next()
            .map(|a| a.expr.clone())
            .ok_or("no attribute")?;
        let mut ctx = Context::new();
        declare_all(&mut ctx);
        expr.evaluate(&ctx).map_err(|e| e.to_string())
    }

    fn ok(src: &str) -> String {
        match eval(src) {
            Ok(Value::String(s)) => s,
            Ok(v) => hcl::format::to_string(&v).unwrap_or_default(),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn merge_sorts_keys_and_later_wins() {
        assert_eq!(
            eval(r#"merge({ b = "1", a = "x" }, { a = "2" }, null)"#),
            eval(r#"{ a = "2", b = "1" }"#)
        );
        assert!(ok("merge({ a = 1 }, [1])").contains("argument 2 must be a map"));
    }

    #[test]
    fn strings() {
        assert_eq!(ok(r#"replace("a.b.c", ".", "_")"#), "a_b_c");
        assert_eq!(ok(r##"replace("a1b22", "/[0-9]+/", "#")"##), "a#b#");
        assert_eq!(
            ok(r#"format("%s-%03d %.2f %q %t", "x", 7, 1.5, "q", true)"#),
            "x-007 1.50 \"q\" true"
        );
        assert_eq!(ok(r#"format("%-4s|", "ab")"#), "ab  |");
        assert!(ok(r#"format("%s %s", "a")"#).contains("not enough arguments"));
        assert_eq!(ok(r#"lower("AbC")"#), "abc");
        assert_eq!(ok(r#"upper("abc")"#), "ABC");
        assert_eq!(ok(r#"title("hello world-x")"#), "Hello World-X");
        assert_eq!(ok(r#"trimspace("  a \n")"#), "a");
        assert_eq!(ok(r#"join(", ", ["a", "b"], ["c"])"#), "a, b, c");
        assert_eq!(
            ok(r#"jsonencode({ a = ["<x>", 1, true] })"#),
            r#"{"a":["\u003cx\u003e",1,true]}"#
        );
        assert_eq!(ok(r#"substr("hello", 1, 3)"#), "ell");
        assert_eq!(ok(r#"substr("hello", -3, -1)"#), "llo");
        assert_eq!(ok(r#"trimprefix("aws_x", "aws_")"#), "x");
        assert_eq!(ok(r#"chomp("x\n\n")"#), "x");
    }

    #[test]
    fn collections() {
        assert_eq!(eval(r#"split(",", "a,b")"#), eval(r#"["a", "b"]"#));
        assert_eq!(
            eval(r#"concat(["a"], ["b", "c"])"#),
            eval(r#"["a", "b", "c"]"#)
        );
        assert_eq!(eval(r#"lookup({ a = 1 }, "b", 2)"#), eval("2"));
        assert!(ok(r#"lookup({ a = 1 }, "b")"#).starts_with("ERR"));
        assert_eq!(eval(r#"coalesce("", null, "x")"#), eval(r#""x""#));
        assert_eq!(eval(r#"length(["a", "b"])"#), eval("2"));
        assert_eq!(eval(r#"keys({ b = 1, a = 2 })"#), eval(r#"["a", "b"]"#));
        assert_eq!(
            eval(r#"flatten([["a"], ["b", ["c"]]])"#),
            eval(r#"["a", "b", "c"]"#)
        );
        assert_eq!(eval(r#"distinct(["a", "b", "a"])"#), eval(r#"["a", "b"]"#));
        assert_eq!(eval("range(3)"), eval("[0, 1, 2]"));
        assert_eq!(eval(r#"zipmap(["a"], [1])"#), eval("{ a = 1 }"));
        assert_eq!(eval(r#"contains(["a"], "a")"#), eval("true"));
        assert_eq!(eval("max(1, 5, 2)"), eval("5"));
        assert_eq!(eval(r#"tonumber("12")"#), eval("12"));
    }

    #[test]
    fn file_uses_the_installed_reader_only() {
        assert!(ok(r#"file("x.md")"#).contains("not available"));
        let reader: FileReader = Arc::new(|p: &str| {
            if p == "./docs/x.md" {
                Ok("# X".to_string())
            } else {
                Err(format!("no file {p}"))
            }
        });
        let got = with_file_reader(reader, || ok(r#"file("./docs/x.md")"#));
        assert_eq!(got, "# X");
        assert!(ok(r#"file("./docs/x.md")"#).contains("not available"));
    }

    #[test]
    fn names_are_sorted_and_used_ones_are_declared() {
        assert!(
            NAMES.windows(2).all(|w| w[0] < w[1]),
            "NAMES must stay sorted"
        );
        let body: hcl::Body = hcl::parse("x = upper(lower (\"A\")) \n").unwrap_or_default();
        let expr = body
            .attributes()
            .next()
            .map(|a| a.expr.clone())
            .unwrap_or(hcl::Expression::Null);
        let mut ctx = Context::new();
        declare_used(&mut ctx, "upper(lower (\"A\"))");
        assert_eq!(expr.evaluate(&ctx).ok(), Some(Value::from("A")));
        let mut ctx = Context::new();
        declare_used(&mut ctx, "upper(x) + lowered + lower");
        let e2: hcl::Expression = "lower(\"A\")".parse().unwrap_or(hcl::Expression::Null);
        assert!(
            e2.evaluate(&ctx).is_err(),
            "only what the text calls is declared"
        );
    }

    #[test]
    fn names_lists_every_declared_function() {
        for name in NAMES {
            let r = eval(&format!("{name}()"));
            assert!(
                !r.as_ref()
                    .err()
                    .is_some_and(|e| e.contains("undefined function")),
                "{name}: {r:?}"
            );
        }
    }
}
