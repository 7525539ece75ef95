//! `format` and `formatlist`: go-cty's printf. Verbs `%v` (`%#v` as JSON), `%t`, `%b`,
//! `%d`, `%o`, `%x`, `%X`, `%e`, `%E`, `%f`, `%g`, `%G`, `%s`, `%q` and `%%`; flags
//! space, `+`, `-`, `#`, `0`; a width, a precision and `[n]` argument indexes. Widths and
//! string precisions count grapheme clusters; numbers are written as Go's `fmt` writes them
//! (`%g` and `%v` switch to an exponent from 1e+06 on, as Go's shortest `%g` does).
//!
//! The text is held to [`limits::MAX_TEXT`]: a width or a precision that would pass it is
//! an error before any padding is built, and so is a result that would grow past it
//! (`%[1]s%[1]s` doubles its argument).

use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef, ParamType};
use unicode_segmentation::UnicodeSegmentation;

use super::encoding::json_text;
use super::limits::{self, MAX_TEXT};
use super::{R, kind, num, str_param, text, variadic};

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    Some(match name {
        "format" => variadic(&[str_param()], ParamType::Any, format),
        "formatlist" => variadic(&[str_param()], ParamType::Any, formatlist),
        _ => return None,
    })
}

fn format(a: FuncArgs) -> R {
    let args: Vec<&Value> = a[1..].iter().collect();
    format_with(&text(&a[0])?, &args, MAX_TEXT).map(Value::String)
}

/// `formatlist`: list arguments (all of one length) are formatted element by element, the
/// others repeated.
fn formatlist(a: FuncArgs) -> R {
    let spec = text(&a[0])?;
    let rest = &a[1..];
    let mut len: Option<usize> = None;
    for (i, v) in rest.iter().enumerate() {
        if let Some(l) = v.as_array() {
            match len {
                Some(n) if n != l.len() => {
                    return Err(format!(
                        "argument {} has length {}, which is inconsistent with previous argument of length {n}",
                        i + 2,
                        l.len()
                    ));
                }
                _ => len = Some(l.len()),
            }
        }
    }
    let Some(len) = len else {
        let args: Vec<&Value> = rest.iter().collect();
        return format_with(&spec, &args, MAX_TEXT).map(|t| Value::Array(vec![Value::String(t)]));
    };
    let mut left = MAX_TEXT;
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        // References, not copies: a long string is formatted once per element.
        let args: Vec<&Value> = rest
            .iter()
            .map(|v| match v.as_array() {
                Some(l) => l.get(i).unwrap_or(&Value::Null),
                None => v,
            })
            .collect();
        let t = format_with(&spec, &args, left)?;
        left -= t.len();
        out.push(Value::String(t));
    }
    Ok(Value::Array(out))
}

/// One `%` sequence.
#[derive(Default)]
struct Verb {
    raw: String,
    offset: usize,
    zero: bool,
    sharp: bool,
    plus: bool,
    minus: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// Formats `args` by `spec` as go-cty's `format` does, in at most `limit` bytes.
pub(crate) fn format_with(spec: &str, args: &[&Value], limit: usize) -> Result<String, String> {
    let fits = |len: usize| {
        if len > limit {
            Err(limits::too_much_text())
        } else {
            Ok(())
        }
    };
    let mut out = String::new();
    let mut next = 0usize;
    let mut used_max = 0usize;
    let mut chars = spec.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '%' {
            fits(out.len() + c.len_utf8())?;
            out.push(c);
            continue;
        }
        if chars.peek().map(|(_, c)| *c) == Some('%') {
            chars.next();
            fits(out.len() + 1)?;
            out.push('%');
            continue;
        }
        let mut v = Verb {
            offset: at,
            ..Verb::default()
        };
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '0' => v.zero = true,
                '#' => v.sharp = true,
                '+' => v.plus = true,
                '-' => v.minus = true,
                ' ' => v.space = true,
                _ => break,
            }
            chars.next();
        }
        let digits = |chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>| {
            let mut n: Option<usize> = None;
            while let Some(&(_, d)) = chars.peek() {
                let Some(x) = d.to_digit(10) else { break };
                n = Some(n.unwrap_or(0).saturating_mul(10).saturating_add(x as usize));
                chars.next();
            }
            n
        };
        v.width = digits(&mut chars);
        if chars.peek().map(|(_, c)| *c) == Some('.') {
            chars.next();
            match digits(&mut chars) {
                Some(p) => v.prec = Some(p),
                None => return Err(format!("missing precision after '.' at offset {at}")),
            }
        }
        if chars.peek().map(|(_, c)| *c) == Some('[') {
            chars.next();
            let n = digits(&mut chars);
            if chars.next().map(|(_, c)| c) != Some(']') {
                return Err(format!("invalid argument index at offset {at}"));
            }
            match n {
                Some(n) if n >= 1 => next = n - 1,
                _ => return Err(format!("invalid argument index at offset {at}")),
            }
        }
        let Some((end, mode)) = chars.next() else {
            return Err(format!(
                "unterminated format sequence at offset {at}: a verb letter must follow"
            ));
        };
        v.raw = spec[at..end + mode.len_utf8()].to_string();
        // Padding is built to the width, and numbers to their precision: neither may pass
        // the limit (a string's precision only shortens it).
        fits(out.len().saturating_add(v.width.unwrap_or(0)))?;
        if !matches!(mode, 's' | 'q' | 'v' | 't') {
            fits(out.len().saturating_add(v.prec.unwrap_or(0)))?;
        }
        let Some(&arg) = args.get(next) else {
            return Err(format!(
                "not enough arguments for {:?} at {at}: need index {} but have {} total",
                v.raw,
                next + 1,
                args.len()
            ));
        };
        next += 1;
        used_max = used_max.max(next);
        if mode != 'v' && arg.is_null() {
            return Err(format!(
                "unsupported value for {:?} at {at}: null value cannot be formatted",
                v.raw
            ));
        }
        let piece = match mode {
            'v' => as_is(&v, arg)?,
            't' => match arg {
                Value::Bool(b) => pad(&v, &b.to_string()),
                Value::String(s) if s == "true" || s == "false" => pad(&v, s),
                other => {
                    return Err(format!(
                        "unsupported value for {:?} at {at}: a bool is required, not {}",
                        v.raw,
                        kind(other)
                    ));
                }
            },
            'b' | 'd' | 'o' | 'x' | 'X' | 'e' | 'E' | 'f' | 'g' | 'G' => {
                let n = num(arg)
                    .map_err(|e| format!("unsupported value for {:?} at {at}: {e}", v.raw))?;
                number(&v, mode, n)?
            }
            's' | 'q' => {
                let s = text(arg)
                    .map_err(|e| format!("unsupported value for {:?} at {at}: {e}", v.raw))?;
                let s = match v.prec {
                    Some(p) if p > 0 => s.graphemes(true).take(p).collect(),
                    _ => s,
                };
                if mode == 'q' {
                    pad(&v, &json_text(&Value::String(s))?)
                } else {
                    pad(&v, &s)
                }
            }
            other => {
                return Err(format!(
                    "unsupported format verb {other:?} in {:?} at offset {at}",
                    v.raw
                ));
            }
        };
        fits(out.len() + piece.len())?;
        out.push_str(&piece);
    }
    if used_max < args.len() {
        return Err(format!(
            "too many arguments; only {used_max} used by format string"
        ));
    }
    Ok(out)
}

/// `%v`: strings as they are, numbers as `%g`, anything else (and `%#v`) as JSON.
fn as_is(v: &Verb, arg: &Value) -> Result<String, String> {
    if !v.sharp {
        match arg {
            Value::String(s) => return Ok(pad(v, s)),
            Value::Number(n) => return Ok(pad(v, &go_g(n.as_f64().unwrap_or(0.0), None, 'e'))),
            _ => {}
        }
    }
    Ok(pad(v, &json_text(arg)?))
}

/// Pads to the width (grapheme clusters), with zeros for the `0` flag, on the right for `-`.
fn pad(v: &Verb, s: &str) -> String {
    let Some(w) = v.width else {
        return s.to_string();
    };
    let len = s.graphemes(true).count();
    if len >= w {
        return s.to_string();
    }
    let fill = if v.zero { "0" } else { " " }.repeat(w - len);
    if v.minus {
        format!("{s}{fill}")
    } else {
        format!("{fill}{s}")
    }
}

/// A number by an integer or float verb, as Go's `fmt` writes it.
fn number(v: &Verb, mode: char, n: f64) -> Result<String, String> {
    let negative = n < 0.0
        || (n == 0.0 && n.is_sign_negative() && !matches!(mode, 'b' | 'd' | 'o' | 'x' | 'X'));
    let body = match mode {
        'b' | 'd' | 'o' | 'x' | 'X' => {
            if n.fract() != 0.0 || !n.is_finite() {
                return Err(format!(
                    "unsupported value for {:?} at {}: an integer is required",
                    v.raw, v.offset
                ));
            }
            let m = n.abs() as u128;
            let digits = match mode {
                'b' => format!("{m:b}"),
                'o' => format!("{m:o}"),
                'x' => format!("{m:x}"),
                'X' => format!("{m:X}"),
                _ => m.to_string(),
            };
            let digits = match v.prec {
                Some(p) if digits.len() < p => format!("{}{digits}", "0".repeat(p - digits.len())),
                Some(0) if m == 0 => String::new(),
                _ => digits,
            };
            let prefix = match (v.sharp, mode) {
                (true, 'x') => "0x",
                (true, 'X') => "0X",
                (true, 'o') if !digits.starts_with('0') => "0",
                (true, 'b') => "0b",
                _ => "",
            };
            format!("{prefix}{digits}")
        }
        'e' | 'E' => go_e(n.abs(), v.prec.unwrap_or(6), mode),
        'f' => {
            let prec = v.prec.unwrap_or(6);
            let mut s = format!("{:.*}", prec.min(EXACT), n.abs());
            s.extend(std::iter::repeat_n('0', prec.saturating_sub(EXACT)));
            s
        }
        _ => go_g(n.abs(), v.prec, if mode == 'G' { 'E' } else { 'e' }),
    };
    let sign = if negative {
        "-"
    } else if v.plus {
        "+"
    } else if v.space {
        " "
    } else {
        ""
    };
    // Zeros go between the sign and the digits (not for `-`, which pads on the right).
    let len = sign.len() + body.chars().count();
    match v.width {
        Some(w)
            if w > len
                && v.zero
                && !v.minus
                && v.prec
                    .is_none_or(|_| !matches!(mode, 'b' | 'd' | 'o' | 'x' | 'X')) =>
        {
            Ok(format!("{sign}{}{body}", "0".repeat(w - len)))
        }
        Some(w) if w > len => {
            let fill = " ".repeat(w - len);
            if v.minus {
                Ok(format!("{sign}{body}{fill}"))
            } else {
                Ok(format!("{fill}{sign}{body}"))
            }
        }
        _ => Ok(format!("{sign}{body}")),
    }
}

/// Decimal places past this many are zeros for every `f64` (its exact expansion has at most
/// 767 significant digits, 1,074 after the point); Rust's formatter takes at most 65,535.
const EXACT: usize = 1100;

/// The decimal digits and exponent of `f` (≥ 0): to `sig` significant digits, or the
/// shortest that reads back as `f`. Trailing zeros are dropped.
fn digits(f: f64, sig: Option<usize>) -> (String, i32) {
    let s = match sig {
        Some(p) => format!("{:.*e}", (p.max(1) - 1).min(EXACT), f),
        None => format!("{f:e}"),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mut d: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    while d.len() > 1 && d.ends_with('0') {
        d.pop();
    }
    (d, exp.parse().unwrap_or(0))
}

/// Go's exponent: a sign and at least two digits.
fn exponent(e: i32, letter: char) -> String {
    format!("{letter}{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// `%e` with `prec` digits after the point.
fn go_e(f: f64, prec: usize, letter: char) -> String {
    let s = format!("{:.*e}", prec.min(EXACT), f);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let zeros = "0".repeat(prec.saturating_sub(EXACT));
    format!(
        "{mant}{zeros}{}",
        exponent(exp.parse().unwrap_or(0), letter)
    )
}

/// `%g` (and `%v` of a number): `%e` for large or small exponents, else `%f`, with the
/// shortest digits (or `prec` significant ones).
fn go_g(f: f64, prec: Option<usize>, letter: char) -> String {
    if f == 0.0 {
        return "0".to_string();
    }
    let (d, exp) = digits(f, prec);
    let nd = d.len() as i32;
    let dp = exp + 1;
    let eprec = match prec {
        None => 6,
        Some(p) if p as i32 > nd && nd >= dp => nd,
        Some(p) => p.max(1) as i32,
    };
    if exp < -4 || exp >= eprec {
        let mant = if d.len() > 1 {
            format!("{}.{}", &d[..1], &d[1..])
        } else {
            d.clone()
        };
        return format!("{mant}{}", exponent(exp, letter));
    }
    if dp <= 0 {
        format!("0.{}{d}", "0".repeat((-dp) as usize))
    } else if dp >= nd {
        format!("{d}{}", "0".repeat((dp - nd) as usize))
    } else {
        format!("{}.{}", &d[..dp as usize], &d[dp as usize..])
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    /// Examples from Terraform's `format` documentation and go-cty's tests.
    #[test]
    fn format_follows_go_cty() {
        assert_eq!(ok(r#"format("Hello, %s!", "Ander")"#), "Hello, Ander!");
        assert_eq!(
            ok(r#"format("There are %d lights", 4)"#),
            "There are 4 lights"
        );
        assert_eq!(ok(r#"format("%#v", "hello")"#), "\"hello\"");
        assert_eq!(ok(r#"format("%#v", true)"#), "true");
        assert_eq!(ok(r#"format("%#v", 1)"#), "1");
        assert_eq!(ok(r#"format("%#v", { a = 1 })"#), r#"{"a":1}"#);
        assert_eq!(ok(r#"format("%#v", [true])"#), "[true]");
        assert_eq!(ok(r#"format("%#v", null)"#), "null");
        assert_eq!(ok(r#"format("%v", null)"#), "null");
        assert_eq!(ok(r#"format("%v %v %v", "s", 1.5, [1])"#), "s 1.5 [1]");
        assert_eq!(ok(r#"format("%v", 1234567)"#), "1.234567e+06");
        assert_eq!(ok(r#"format("%q", "a\"<b>")"#), r#""a\"\u003cb\u003e""#);
        assert_eq!(
            ok(r#"format("%s-%03d %.2f %t", "x", 7, 1.5, true)"#),
            "x-007 1.50 true"
        );
        assert_eq!(ok(r#"format("%-4s|%4s|", "ab", "cd")"#), "ab  |  cd|");
        assert_eq!(ok(r#"format("%.2s", "hello")"#), "he");
        assert_eq!(
            ok(r#"format("%b %o %x %X %#x", 5, 8, 255, 255, 255)"#),
            "101 10 ff FF 0xff"
        );
        assert_eq!(ok(r#"format("%+d % d %d", 5, 5, -5)"#), "+5  5 -5");
        assert_eq!(
            ok(r#"format("%e %E", 123456.789, 0.000123)"#),
            "1.234568e+05 1.230000E-04"
        );
        assert_eq!(
            ok(r#"format("%g %g %g %G", 100000, 1000000, 0.00001, 1e21)"#),
            "100000 1e+06 1e-05 1E+21"
        );
        assert_eq!(ok(r#"format("%.3g", 3.14159)"#), "3.14");
        assert_eq!(ok(r#"format("%f", 1)"#), "1.000000");
        assert_eq!(ok(r#"format("%[2]s %[1]s %s", "a", "b")"#), "b a b");
        assert_eq!(ok(r#"format("100%%")"#), "100%");
        assert_eq!(ok(r#"format("%d", "12")"#), "12");
        assert_eq!(ok(r#"format("%s", 12)"#), "12");
        assert_eq!(ok(r#"format("%5.1f|", 3.14159)"#), "  3.1|");
        assert_eq!(ok(r#"format("%3s|", "日本")"#), " 日本|");
        fails(r#"format("%s %s", "a")"#, "not enough arguments");
        fails(r#"format("%s", "a", "b")"#, "too many arguments");
        fails(r#"format("%d", 1.5)"#, "an integer is required");
        fails(r#"format("%s", null)"#, "null value cannot be formatted");
        fails(r#"format("%z", 1)"#, "unsupported format verb");
        fails(r#"format("%t", 1)"#, "a bool is required");
        fails(r#"format("%.f", 1)"#, "missing precision");
    }

    #[test]
    fn formatlist_formats_element_by_element() {
        same(
            r#"formatlist("Hello, %s!", ["Valentina", "Ander"])"#,
            r#"["Hello, Valentina!", "Hello, Ander!"]"#,
        );
        same(
            r#"formatlist("%s, %s!", "Salutations", ["Valentina", "Ander"])"#,
            r#"["Salutations, Valentina!", "Salutations, Ander!"]"#,
        );
        same(r#"formatlist("%s", "a")"#, r#"["a"]"#);
        fails(r#"formatlist("%s %s", ["a"], ["b", "c"])"#, "inconsistent");
    }

    /// Widths, precisions and reused arguments cannot build more than the limits allow.
    #[test]
    fn results_stay_within_the_limits() {
        fails(r#"format("%0999999999d", 1)"#, "MiB");
        fails(r#"format("%99999999999999999999999s", "a")"#, "MiB");
        fails(r#"format("%.999999999f", 1)"#, "MiB");
        fails(r#"format("%.999999999e", 1)"#, "MiB");
        fails(r#"format("%.999999999g", 1)"#, "MiB");
        fails(r#"format("%.999999999d", 1)"#, "MiB");
        fails(r#"format("%.99999999999999999999999f", 1)"#, "MiB");
        // Precisions past Rust's formatter's 65,535: the digits past an f64's are zeros.
        same(r#"length(format("%.70000f", 0.5))"#, "70002");
        assert!(ok(r#"format("%.70000f", 0.125)"#).starts_with("0.12500"));
        assert!(ok(r#"format("%.70000e", 1.5)"#).starts_with("1.500"));
        assert!(ok(r#"format("%.70000e", 1.5)"#).ends_with("0e+00"));
        same(r#"length(format("%.70000e", 1.5))"#, "70006");
        assert_eq!(ok(r#"format("%.70000g", 1.5)"#), "1.5");
        // A string's precision only shortens it.
        assert_eq!(ok(r#"format("%.999999999s", "ab")"#), "ab");
        assert_eq!(ok(r#"format("%09d", 1)"#), "000000001");
        fails(r#"formatlist("%020000d", range(1024))"#, "MiB");
        // A long string repeated for 200,000 elements is not copied for each.
        same(
            r#"length(formatlist("%[2]d", format("%016000000d", 0), flatten([for i in range(200) : range(1000)])))"#,
            "200000",
        );
        // Reusing an argument doubles the text at each level.
        let mut e = r#""ab""#.to_string();
        for _ in 0..24 {
            e = format!(r#"format("%[1]s%[1]s", {e})"#);
        }
        fails(&e, "MiB");
    }
}
