//! `try` and `can`, which take their arguments unevaluated: `try(a, b)` is the first that
//! evaluates without an error, `can(a)` whether `a` does. hcl-rs evaluates every argument
//! before it calls a function and stops at the first error, so a function never sees one.
//!
//! Hence [`evaluate`]: an expression is evaluated as usual, and only when that fails and the
//! expression calls `try` or `can` is it evaluated again here, where each `try`/`can` call
//! evaluates its arguments itself and is replaced by its result before hcl-rs evaluates the
//! rest. A `for` expression whose body calls them is iterated here (its variables bound in a
//! copy of the context); a conditional evaluates only the branch it takes; in a template,
//! interpolations are handled, `%{ }` directives are not.
//!
//! The registered `try` and `can` serve the calls whose arguments all evaluate: the first
//! argument, and `true`.
//!
//! An argument whose value is known only when Powerpipe runs makes `try` and `can` unknown
//! too (Terraform's rule), not a fallback.
//!
//! Costs: each `try`/`can` call is evaluated once (its arguments at most once each), so
//! nesting them costs no more than writing them; a `for` evaluated here copies the context
//! once, not once per element, and its result is held to [`super::limits`].

use hcl::eval::{Context, ErrorKind, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::expr::{Expression, FuncCall, ObjectKey, TemplateExpr, Traversal, TraversalOperator};
use hcl::template::{Element, Template};
use hcl::{Identifier, Value};

use super::limits::Budget;
use super::{R, fixed, is_runtime, kind, variadic};

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    Some(match name {
        "can" => fixed(&[ParamType::Any], |_| Ok(Value::Bool(true))),
        "try" => variadic(&[], ParamType::Any, try_eager),
        _ => return None,
    })
}

fn try_eager(a: FuncArgs) -> R {
    a.first()
        .cloned()
        .ok_or_else(|| "at least one argument is required".to_string())
}

/// Why an evaluation failed.
#[derive(Debug, Clone)]
pub enum Failure {
    /// hcl-rs's error.
    Eval(hcl::eval::Error),
    /// A call evaluated here failed: the function and the message.
    Call(String, String),
}

impl Failure {
    /// True when the value is known only when Powerpipe runs (not an error).
    pub fn is_runtime(&self) -> bool {
        match self {
            Failure::Eval(e) => matches!(e.kind(), ErrorKind::FuncCall(_, m) if is_runtime(m)),
            Failure::Call(_, m) => is_runtime(m),
        }
    }
}

impl From<hcl::eval::Error> for Failure {
    fn from(e: hcl::eval::Error) -> Self {
        Failure::Eval(e)
    }
}

type Lazy<T> = Result<T, Failure>;

/// Evaluates `expr` in `ctx`, with `try` and `can` seeing their arguments' errors.
pub fn evaluate(expr: &Expression, ctx: &Context<'_>) -> Lazy<Value> {
    match expr.evaluate(ctx) {
        Ok(v) => Ok(v),
        Err(e) if calls_try(expr) => match lower(expr, ctx)?.evaluate(ctx) {
            Ok(v) => Ok(v),
            Err(_) => Err(Failure::Eval(e)),
        },
        Err(e) => Err(Failure::Eval(e)),
    }
}

fn is_try(call: &FuncCall) -> bool {
    matches!(call.name.name.as_str(), "try" | "can") && call.name.namespace.is_empty()
}

/// True if `expr` calls `try` or `can` anywhere.
fn calls_try(expr: &Expression) -> bool {
    match expr {
        Expression::FuncCall(c) => is_try(c) || c.args.iter().any(calls_try),
        Expression::Array(l) => l.iter().any(calls_try),
        Expression::Object(o) => o
            .iter()
            .any(|(k, v)| matches!(k, ObjectKey::Expression(e) if calls_try(e)) || calls_try(v)),
        Expression::TemplateExpr(t) => {
            let s = match &**t {
                TemplateExpr::QuotedString(s) => s.as_str(),
                TemplateExpr::Heredoc(h) => h.template.as_str(),
            };
            s.contains("try") || s.contains("can")
        }
        Expression::Traversal(t) => {
            calls_try(&t.expr)
                || t.operators
                    .iter()
                    .any(|op| matches!(op, TraversalOperator::Index(e) if calls_try(e)))
        }
        Expression::Parenthesis(e) => calls_try(e),
        Expression::Conditional(c) => {
            calls_try(&c.cond_expr) || calls_try(&c.true_expr) || calls_try(&c.false_expr)
        }
        Expression::Operation(op) => match &**op {
            hcl::expr::Operation::Unary(u) => calls_try(&u.expr),
            hcl::expr::Operation::Binary(b) => calls_try(&b.lhs_expr) || calls_try(&b.rhs_expr),
        },
        Expression::ForExpr(f) => {
            calls_try(&f.collection_expr)
                || calls_try(&f.value_expr)
                || f.key_expr.as_ref().is_some_and(calls_try)
                || f.cond_expr.as_ref().is_some_and(calls_try)
        }
        _ => false,
    }
}

/// The value of `expr`, `try` and `can` handled here.
fn value(expr: &Expression, ctx: &Context<'_>) -> Lazy<Value> {
    if !calls_try(expr) {
        return Ok(expr.evaluate(ctx)?);
    }
    Ok(lower(expr, ctx)?.evaluate(ctx)?)
}

/// `expr` with every `try`/`can` call it evaluates replaced by its value.
fn lower(expr: &Expression, ctx: &Context<'_>) -> Lazy<Expression> {
    if !calls_try(expr) {
        return Ok(expr.clone());
    }
    let literal = |e: &Expression| -> Lazy<Expression> { Ok(Expression::from(value(e, ctx)?)) };
    Ok(match expr {
        Expression::FuncCall(c) if is_try(c) => Expression::from(call_try(c, ctx)?),
        Expression::FuncCall(c) => {
            let mut call = (**c).clone();
            for a in &mut call.args {
                *a = lower(a, ctx)?;
            }
            Expression::FuncCall(Box::new(call))
        }
        Expression::Array(l) => {
            Expression::Array(l.iter().map(|e| lower(e, ctx)).collect::<Lazy<_>>()?)
        }
        Expression::Object(o) => {
            let mut out = hcl::Object::new();
            for (k, v) in o {
                let key = match k {
                    ObjectKey::Expression(e) => ObjectKey::Expression(lower(e, ctx)?),
                    other => other.clone(),
                };
                out.insert(key, lower(v, ctx)?);
            }
            Expression::Object(out)
        }
        Expression::TemplateExpr(t) => Expression::String(template(t, ctx)?),
        Expression::Traversal(t) => {
            let mut operators = Vec::with_capacity(t.operators.len());
            for op in &t.operators {
                operators.push(match op {
                    TraversalOperator::Index(e) => TraversalOperator::Index(lower(e, ctx)?),
                    other => other.clone(),
                });
            }
            Expression::Traversal(Box::new(Traversal {
                expr: literal(&t.expr)?,
                operators,
            }))
        }
        Expression::Parenthesis(e) => lower(e, ctx)?,
        Expression::Conditional(c) => match value(&c.cond_expr, ctx)? {
            Value::Bool(true) => lower(&c.true_expr, ctx)?,
            Value::Bool(false) => lower(&c.false_expr, ctx)?,
            other => {
                return Err(Failure::Call(
                    "condition".to_string(),
                    format!("the condition must be a bool, not {}", kind(&other)),
                ));
            }
        },
        Expression::Operation(op) => {
            let mut op = (**op).clone();
            match &mut op {
                hcl::expr::Operation::Unary(u) => u.expr = literal(&u.expr)?,
                hcl::expr::Operation::Binary(b) => {
                    b.lhs_expr = literal(&b.lhs_expr)?;
                    b.rhs_expr = literal(&b.rhs_expr)?;
                }
            }
            Expression::Operation(Box::new(op))
        }
        Expression::ForExpr(f) => Expression::from(for_expr(f, ctx)?),
        other => other.clone(),
    })
}

/// `try(...)` or `can(...)`.
fn call_try(c: &FuncCall, ctx: &Context<'_>) -> Lazy<Value> {
    let name = c.name.name.to_string();
    if c.expand_final {
        return Err(Failure::Call(
            name,
            "cannot expand a list into separate arguments here".to_string(),
        ));
    }
    if name == "can" {
        let [arg] = c.args.as_slice() else {
            return Err(Failure::Call(
                name,
                format!("takes exactly one argument, not {}", c.args.len()),
            ));
        };
        return match value(arg, ctx) {
            Ok(_) => Ok(Value::Bool(true)),
            Err(f) if f.is_runtime() => Err(f),
            Err(_) => Ok(Value::Bool(false)),
        };
    }
    if c.args.is_empty() {
        return Err(Failure::Call(
            name,
            "at least one argument is required".to_string(),
        ));
    }
    let mut why = Vec::new();
    for arg in &c.args {
        match value(arg, ctx) {
            Ok(v) => return Ok(v),
            Err(f) if f.is_runtime() => return Err(f),
            Err(f) => why.push(describe(&f)),
        }
    }
    Err(Failure::Call(
        name,
        format!("no expression succeeded:\n- {}", why.join("\n- ")),
    ))
}

/// A short description of a failure, for `try`'s message.
fn describe(f: &Failure) -> String {
    match f {
        Failure::Eval(e) => match e.kind() {
            ErrorKind::FuncCall(name, m) => format!("in `{name}(...)`: {m}"),
            other => other.to_string(),
        },
        Failure::Call(name, m) => format!("in `{name}(...)`: {m}"),
    }
}

/// A `for` expression whose body calls `try` or `can`.
fn for_expr(f: &hcl::expr::ForExpr, ctx: &Context<'_>) -> Lazy<Value> {
    let items: Vec<(Value, Value)> = match value(&f.collection_expr, ctx)? {
        Value::Array(l) => l
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Value::from(i as u64), v))
            .collect(),
        Value::Object(o) => o.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
        other => {
            return Err(Failure::Call(
                "for".to_string(),
                format!("cannot iterate over {}", kind(&other)),
            ));
        }
    };
    let over = |m: String| Failure::Call("for".to_string(), m);
    let mut budget = Budget::new();
    budget.take(1, 0).map_err(over)?;
    let mut list = Vec::new();
    let mut object: hcl::Map<String, Value> = hcl::Map::new();
    // One copy of the context (hcl-rs's child contexts are private), its variables
    // declared again for each element.
    let mut scope = ctx.clone();
    for (k, v) in items {
        if let Some(kv) = &f.key_var {
            scope.declare_var(Identifier::clone(kv), k);
        }
        scope.declare_var(Identifier::clone(&f.value_var), v);
        if let Some(cond) = &f.cond_expr {
            match value(cond, &scope)? {
                Value::Bool(true) => {}
                Value::Bool(false) => continue,
                other => {
                    return Err(Failure::Call(
                        "for".to_string(),
                        format!("the condition must be a bool, not {}", kind(&other)),
                    ));
                }
            }
        }
        let item = value(&f.value_expr, &scope)?;
        budget.take_value(&item).map_err(over)?;
        match &f.key_expr {
            None => list.push(item),
            Some(key) => {
                let key = match value(key, &scope)? {
                    Value::String(s) => s,
                    other => super::text(&other).map_err(|m| Failure::Call("for".into(), m))?,
                };
                let new_group = f.grouping && !object.contains_key(&key);
                budget
                    .take(usize::from(new_group), key.len())
                    .map_err(over)?;
                if f.grouping {
                    if let Value::Array(g) = object
                        .entry(key)
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        g.push(item);
                    }
                } else if object.insert(key.clone(), item).is_some() {
                    return Err(Failure::Call(
                        "for".to_string(),
                        format!("duplicate object key {key:?}"),
                    ));
                }
            }
        }
    }
    Ok(match f.key_expr {
        None => Value::Array(list),
        Some(_) => {
            object.sort_keys();
            Value::Object(object)
        }
    })
}

/// A template whose interpolations call `try` or `can`, rendered.
fn template(t: &TemplateExpr, ctx: &Context<'_>) -> Lazy<String> {
    let mut tpl =
        Template::from_expr(t).map_err(|e| Failure::Call("template".into(), e.to_string()))?;
    for el in tpl.elements_mut() {
        if let Element::Interpolation(i) = el {
            i.expr = lower(&i.expr, ctx)?;
        }
    }
    Ok(tpl.evaluate(ctx)?)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;

    /// Terraform's documented behaviour of `try` and `can`.
    #[test]
    fn try_returns_the_first_argument_that_evaluates() {
        same(r#"try({ a = 1 }.b, "fallback")"#, r#""fallback""#);
        same(r#"try({ a = 1 }.a, "fallback")"#, "1");
        same(r#"try(nope(1), upper("x"))"#, r#""X""#);
        same(r#"try(null, "x")"#, "null");
        same(r#"try(tonumber("x"), tonumber("2"), 3)"#, "2");
        fails(r#"try(tonumber("x"), {}.y)"#, "no expression succeeded");
        same(r#"upper(try(lower(1, 2), "b"))"#, r#""B""#);
        same(r#"[for s in ["1", "x"] : try(tonumber(s), -1)]"#, "[1, -1]");
        same(
            r#"{ for k, v in { a = "1", b = "z" } : k => try(tonumber(v), v) }"#,
            r#"{ a = 1, b = "z" }"#,
        );
        same(r#"true ? try(nope(), "t") : nope()"#, r#""t""#);
        same(r#""v=${try(nope(), "x")}!""#, r#""v=x!""#);
        same(r#"try([1][5], 0) + 1"#, "1");
        same(r#"{ k = try(nope(), 1) }"#, "{ k = 1 }");
        fails("try()", "at least one argument");
    }

    #[test]
    fn can_says_whether_its_argument_evaluates() {
        same(r#"can(regex("^[a-z]+$", "abc"))"#, "true");
        same(r#"can(regex("^[a-z]+$", "ABC"))"#, "false");
        same(r#"can({ a = 1 }.b)"#, "false");
        same(
            r#"[for x in ["a", 1] : can(regex("a", x))]"#,
            "[true, false]",
        );
        fails(r#"can(1, 2)"#, "");
    }

    #[test]
    fn run_time_values_stay_unknown() {
        runtime_only(r#"try(timestamp(), "now")"#);
        runtime_only("can(uuid())");
    }

    /// The body of a `for` that needs `try` is evaluated in one copy of the context, not
    /// in one copy per element (50,000 copies of a 50,000-element list would take minutes).
    #[test]
    fn for_expressions_copy_the_context_once() {
        use hcl::eval::Context;
        let expr: hcl::Expression = "[for x in big : try(nope(x), x)]"
            .parse()
            .unwrap_or(hcl::Expression::Null);
        let mut ctx = Context::new();
        super::super::declare_all(&mut ctx);
        let big: Vec<hcl::Value> = (0..50_000u64).map(hcl::Value::from).collect();
        ctx.declare_var("big", hcl::Value::Array(big.clone()));
        let v = super::evaluate(&expr, &ctx).ok();
        assert_eq!(v, Some(hcl::Value::Array(big)));
    }

    #[test]
    fn for_expressions_stay_within_the_limits() {
        // 1,024 copies of 270,001 values.
        fails(
            "[for a in range(1024) : try(nope(), setproduct(range(300), range(300)))]",
            "values",
        );
        same(
            "length([for a in range(10) : [for b in range(1000) : try(nope(), b)]])",
            "10",
        );
    }

    /// Each `try` is evaluated once, whatever the nesting (the parser allows 64 levels):
    /// twice per level would be 2^60 evaluations.
    #[test]
    fn nested_try_is_evaluated_once_per_call() {
        let mut e = "nope()".to_string();
        for _ in 0..60 {
            e = format!("try({e}, nope())");
        }
        fails(&e, "no expression succeeded");
        let mut e = "nope()".to_string();
        for i in 0..20 {
            e = format!("try(can({e}) ? nope() : nope(), {i})");
        }
        same(&e, "19");
    }
}
