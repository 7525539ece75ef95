//! Number functions: `abs`, `ceil`, `floor`, `log`, `max`, `min`, `parseint`, `pow`,
//! `signum`. HCL holds no infinities: a result that is not finite is an error.

use hcl::eval::{FuncArgs, FuncDef};

use super::{R, fixed, int, num, num_param, number, str_param, text, variadic};

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    let n = num_param;
    Some(match name {
        "abs" => fixed(&[n()], abs),
        "ceil" => fixed(&[n()], ceil),
        "floor" => fixed(&[n()], floor),
        "log" => fixed(&[n(), n()], log),
        "max" => variadic(&[], n(), max),
        "min" => variadic(&[], n(), min),
        "parseint" => fixed(&[str_param(), n()], parseint),
        "pow" => fixed(&[n(), n()], pow),
        "signum" => fixed(&[n()], signum),
        _ => return None,
    })
}

fn finite(f: f64) -> R {
    if f.is_finite() {
        Ok(number(f))
    } else {
        Err(format!("the result ({f}) is not a finite number"))
    }
}

fn abs(a: FuncArgs) -> R {
    finite(num(&a[0])?.abs())
}

fn ceil(a: FuncArgs) -> R {
    finite(num(&a[0])?.ceil())
}

fn floor(a: FuncArgs) -> R {
    finite(num(&a[0])?.floor())
}

fn log(a: FuncArgs) -> R {
    finite(num(&a[0])?.ln() / num(&a[1])?.ln())
}

fn pow(a: FuncArgs) -> R {
    finite(num(&a[0])?.powf(num(&a[1])?))
}

fn signum(a: FuncArgs) -> R {
    let x = num(&a[0])?;
    Ok(number(if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }))
}

fn numbers(a: &FuncArgs) -> Result<Vec<f64>, String> {
    if a.is_empty() {
        return Err("must pass at least one number".to_string());
    }
    a.iter().map(num).collect()
}

fn max(a: FuncArgs) -> R {
    finite(numbers(&a)?.into_iter().fold(f64::NEG_INFINITY, f64::max))
}

fn min(a: FuncArgs) -> R {
    finite(numbers(&a)?.into_iter().fold(f64::INFINITY, f64::min))
}

/// `parseint(s, base)`: an optionally signed integer in base 2 to 62 (digits, then letters
/// case-insensitively up to base 36, then lower case before upper case, as Go's `big.Int`).
fn parseint(a: FuncArgs) -> R {
    let s = text(&a[0])?;
    let base = int(&a[1])?;
    if !(2..=62).contains(&base) {
        return Err("base must be a whole number between 2 and 62 inclusive".to_string());
    }
    let bad = || format!("cannot parse {s:?} as a base {base} integer");
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut value: f64 = 0.0;
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as i64 - '0' as i64,
            'a'..='z' => c as i64 - 'a' as i64 + 10,
            'A'..='Z' if base <= 36 => c as i64 - 'A' as i64 + 10,
            'A'..='Z' => c as i64 - 'A' as i64 + 36,
            _ => return Err(bad()),
        };
        if d >= base {
            return Err(bad());
        }
        value = value * base as f64 + d as f64;
    }
    finite(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    /// Examples from Terraform's documentation of each function.
    #[test]
    fn follow_terraform() {
        same("abs(23)", "23");
        same("abs(0)", "0");
        same("abs(-12.4)", "12.4");
        same("ceil(5)", "5");
        same("ceil(5.1)", "6");
        same("floor(4.9)", "4");
        same("floor(-4.1)", "-5");
        same("log(16, 2)", "4");
        same("log(1, 10)", "0");
        fails("log(0, 10)", "not a finite number");
        same("max(12, 54, 3)", "54");
        same("max([12, 54, 3]...)", "54");
        same("min(12, 54, 3)", "3");
        same(r#"max("7", 2)"#, "7");
        fails("max()", "at least one number");
        same("pow(3, 2)", "9");
        same("pow(4, 0)", "1");
        same("signum(-13)", "-1");
        same("signum(0)", "0");
        same("signum(344)", "1");
        same(r#"parseint("100", 10)"#, "100");
        same(r#"parseint("FF", 16)"#, "255");
        same(r#"parseint("-10", 16)"#, "-16");
        same(r#"parseint("1011111011101111", 2)"#, "48879");
        same(r#"parseint("aA", 62)"#, "656");
        fails(
            r#"parseint("12", 2)"#,
            "cannot parse \"12\" as a base 2 integer",
        );
        fails(r#"parseint("1", 63)"#, "between 2 and 62");
    }
}
