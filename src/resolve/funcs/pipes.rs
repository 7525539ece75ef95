//! pipe-fittings' own functions: `env`, `is_error` and `error_message` (the last two read a
//! Flowpipe step's result: an object whose `errors` list holds `{ error = { detail } }`).
//!
//! `env(name)` reads Powerpipe's environment when it runs: a value known only then.

use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef, ParamType};

use super::{R, fixed, runtime, str_param, text};

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    Some(match name {
        "env" => fixed(&[str_param()], env),
        "error_message" => fixed(&[ParamType::Any], error_message),
        "is_error" => fixed(&[ParamType::Any], is_error),
        _ => return None,
    })
}

fn env(a: FuncArgs) -> R {
    let name = text(&a[0])?;
    Err(runtime(&format!(
        "env({name:?}) reads the environment Powerpipe runs in"
    )))
}

/// The step's `errors` list, when it is a non-empty one.
fn errors(step: &Value) -> Option<&Vec<Value>> {
    step.as_object()?
        .get("errors")?
        .as_array()
        .filter(|l| !l.is_empty())
}

/// `is_error(step)`: true when the step's result lists at least one error.
fn is_error(a: FuncArgs) -> R {
    Ok(Value::Bool(errors(&a[0]).is_some()))
}

/// `error_message(step)`: the detail of the step's first error, or `""`.
fn error_message(a: FuncArgs) -> R {
    let detail = errors(&a[0])
        .and_then(|l| l.first())
        .and_then(Value::as_object)
        .and_then(|e| e.get("error"))
        .and_then(Value::as_object)
        .and_then(|e| e.get("detail"))
        .cloned();
    Ok(detail.unwrap_or_else(|| Value::from("")))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    #[test]
    fn step_errors_as_pipe_fittings_reads_them() {
        let failed = r#"{ errors = [{ error = { detail = "boom", status = 500 } }] }"#;
        same(&format!("is_error({failed})"), "true");
        same(&format!("error_message({failed})"), r#""boom""#);
        for ok_step in [
            "{ errors = [] }",
            "{ errors = null }",
            "{ value = 1 }",
            "null",
            r#""x""#,
        ] {
            same(&format!("is_error({ok_step})"), "false");
            same(&format!("error_message({ok_step})"), r#""""#);
        }
        same(r#"error_message({ errors = [{ error = null }] })"#, r#""""#);
        runtime_only(r#"env("HOME")"#);
    }
}
