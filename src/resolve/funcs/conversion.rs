//! Type conversions (`tobool`, `tolist`, `tomap`, `tonumber`, `toset`, `tostring`) with
//! cty's rules, and `sensitive` / `nonsensitive`, which only mark a value in Powerpipe:
//! modlens keeps no marks, so both give the value itself.

use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef, ParamType};

use super::{R, fixed, kind, list, number_text, text};

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    use ParamType::Any;
    Some(match name {
        "nonsensitive" => fixed(&[Any], identity),
        "sensitive" => fixed(&[Any], identity),
        "tobool" => fixed(&[Any], tobool),
        "tolist" => fixed(&[Any], tolist),
        "tomap" => fixed(&[Any], tomap),
        "tonumber" => fixed(&[Any], tonumber),
        "toset" => fixed(&[Any], toset),
        "tostring" => fixed(&[Any], tostring),
        _ => return None,
    })
}

fn identity(a: FuncArgs) -> R {
    Ok(a[0].clone())
}

fn tobool(a: FuncArgs) -> R {
    match &a[0] {
        Value::Bool(_) | Value::Null => Ok(a[0].clone()),
        Value::String(t) if t == "true" => Ok(Value::Bool(true)),
        Value::String(t) if t == "false" => Ok(Value::Bool(false)),
        Value::String(t) => Err(format!(
            "cannot convert {t:?} to bool; only the strings \"true\" or \"false\" are allowed"
        )),
        other => Err(format!("cannot convert {} to bool", kind(other))),
    }
}

fn tonumber(a: FuncArgs) -> R {
    match &a[0] {
        Value::Number(_) | Value::Null => Ok(a[0].clone()),
        Value::String(t) => super::super::types::parse_number(t)
            .map(Value::Number)
            .ok_or_else(|| format!("cannot convert {t:?} to number; given string must be a decimal representation of a number")),
        other => Err(format!("cannot convert {} to number", kind(other))),
    }
}

fn tostring(a: FuncArgs) -> R {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        v @ (Value::String(_) | Value::Number(_) | Value::Bool(_)) => text(v).map(Value::String),
        other => Err(format!("cannot convert {} to string", kind(other))),
    }
}

/// Elements of one collection unified as cty unifies them: strings with numbers or bools
/// become strings; other mixtures of primitives are errors.
fn unify(items: Vec<Value>) -> Result<Vec<Value>, String> {
    let has = |f: fn(&Value) -> bool| items.iter().any(f);
    let mixed_primitives =
        has(Value::is_string) && (has(Value::is_number) || has(Value::is_boolean));
    if has(Value::is_number) && has(Value::is_boolean) && !has(Value::is_string) {
        return Err(
            "all elements must have the same type: cannot mix numbers and bools".to_string(),
        );
    }
    if !mixed_primitives {
        return Ok(items);
    }
    items
        .into_iter()
        .map(|v| match v {
            Value::Number(n) => Ok(Value::String(number_text(&n))),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            Value::String(_) | Value::Null => Ok(v),
            other => Err(format!(
                "all elements must have the same type: cannot mix strings and {}",
                kind(&other)
            )),
        })
        .collect()
}

fn tolist(a: FuncArgs) -> R {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    unify(list(&a[0], "the argument")?.clone()).map(Value::Array)
}

fn toset(a: FuncArgs) -> R {
    if a[0].is_null() {
        return Ok(Value::Null);
    }
    let items = unify(list(&a[0], "the argument")?.clone())?;
    let mut out = super::collections::distinct_of(&items);
    if out.iter().all(Value::is_string) {
        out.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
    }
    Ok(Value::Array(out))
}

fn tomap(a: FuncArgs) -> R {
    match &a[0] {
        Value::Null => Ok(Value::Null),
        Value::Object(o) => {
            let (keys, vals): (Vec<String>, Vec<Value>) =
                o.iter().map(|(k, v)| (k.clone(), v.clone())).unzip();
            let mut m: hcl::Map<String, Value> = keys.into_iter().zip(unify(vals)?).collect();
            m.sort_keys();
            Ok(Value::Object(m))
        }
        other => Err(format!("cannot convert {} to map", kind(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    /// Examples from Terraform's documentation of each function.
    #[test]
    fn follow_terraform() {
        same(r#"tobool(true)"#, "true");
        same(r#"tobool("true")"#, "true");
        same("tobool(null)", "null");
        fails(r#"tobool("no")"#, "cannot convert");
        fails("tobool(1)", "cannot convert");
        same(r#"tolist(["a", "b", "c"])"#, r#"["a", "b", "c"]"#);
        same(r#"tolist(["a", "b", 3])"#, r#"["a", "b", "3"]"#);
        same(r#"tomap({ a = 1, b = 2 })"#, "{ a = 1, b = 2 }");
        same(
            r#"tomap({ a = "foo", b = true })"#,
            r#"{ a = "foo", b = "true" }"#,
        );
        same("tonumber(1)", "1");
        same(r#"tonumber("1")"#, "1");
        same("tonumber(null)", "null");
        fails(r#"tonumber("no")"#, "cannot convert");
        same(r#"toset(["a", "b", "c"])"#, r#"["a", "b", "c"]"#);
        same(r#"toset(["c", "b", "b"])"#, r#"["b", "c"]"#);
        same(r#"toset(["a", "b", 3])"#, r#"["3", "a", "b"]"#);
        same(r#"tostring("hello")"#, r#""hello""#);
        same("tostring(1)", r#""1""#);
        same("tostring(true)", r#""true""#);
        same("tostring(null)", "null");
        fails("tostring([])", "cannot convert");
        same(r#"sensitive("x")"#, r#""x""#);
        same(r#"nonsensitive(sensitive("x"))"#, r#""x""#);
    }
}
