//! `try` and `can`, which take their arguments unevaluated: `try(a, b)` is the first that
//! evaluates without an error, `can(a)` whether `a` does. hcl-rs evaluates every argument
//! before it calls a function and stops at the first error, so a function never sees one.
//!
//! Hence [`evaluate`]: an expression is evaluated as usual, and only when that fails and the
//! expression calls `try` or `can` is it evaluated again here, where each `try`/`can` call
//! evaluates its arguments itself and is replaced by its result before hcl-rs evaluates the
//! rest. A `for` expression is iterated here (its variables bound in a copy of the context);
//! a conditional evaluates only the branch it takes; a template is rendered here.
//!
//! The registered `try` and `can` serve the calls whose arguments all evaluate: the first
//! argument, and `true`.
//!
//! An argument whose value is known only when Powerpipe runs makes `try` and `can` unknown
//! too (Terraform's rule), not a fallback.
//!
//! Loops are evaluated here too, never by hcl-rs: a `for` expression, and a template with
//! directives (rendered here as hcl-rs renders them). hcl-rs would iterate without bound,
//! and three nested loops over `range(1024)` are a billion iterations; here one evaluation
//! iterates at most [`limits::MAX_ITERATIONS`] times, and each loop's result is held to
//! the [`limits`] as it grows.
//!
//! Costs: each `try`/`can` call is evaluated once (its arguments at most once each), so
//! nesting them costs no more than writing them; a `for` copies the context once, not once
//! per element (hcl-rs's child contexts are private).

use hcl::eval::{Context, ErrorKind, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::expr::{Expression, FuncCall, ObjectKey, TemplateExpr, Traversal, TraversalOperator};
use std::cell::Cell;

use hcl::template::{Directive, Element, Strip, Template};
use hcl::{Identifier, Value};

use super::limits::{self, Budget};
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

thread_local! {
    /// The iterations the current evaluation may still run ([`limits::MAX_ITERATIONS`]).
    static ITERATIONS: Cell<usize> = const { Cell::new(0) };
}

/// Evaluates `expr` in `ctx`, with `try` and `can` seeing their arguments' errors, and
/// loops held to the limits.
pub fn evaluate(expr: &Expression, ctx: &Context<'_>) -> Lazy<Value> {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            ITERATIONS.with(|i| i.set(self.0));
        }
    }
    let _restore = Restore(ITERATIONS.with(|i| i.replace(limits::MAX_ITERATIONS)));
    if loops(expr) {
        return value(expr, ctx);
    }
    match expr.evaluate(ctx) {
        Ok(v) => Ok(v),
        Err(e) if needs_lazy(expr) => match lower(expr, ctx)?.evaluate(ctx) {
            Ok(v) => Ok(v),
            Err(_) => Err(Failure::Eval(e)),
        },
        Err(e) => Err(Failure::Eval(e)),
    }
}

/// Counts one iteration of a loop, failing past [`limits::MAX_ITERATIONS`].
fn iteration() -> Lazy<()> {
    ITERATIONS.with(|i| match i.get().checked_sub(1) {
        Some(left) => {
            i.set(left);
            Ok(())
        }
        None => Err(Failure::Call(
            "for".to_string(),
            limits::too_many_iterations(),
        )),
    })
}

fn is_try(call: &FuncCall) -> bool {
    matches!(call.name.name.as_str(), "try" | "can") && call.name.namespace.is_empty()
}

/// The text of a template.
fn template_text(t: &TemplateExpr) -> &str {
    match t {
        TemplateExpr::QuotedString(s) => s.as_str(),
        TemplateExpr::Heredoc(h) => h.template.as_str(),
    }
}

/// True if `here` holds for `expr` or any expression in it (templates are judged whole,
/// by `here`, from their text).
fn any(expr: &Expression, here: &dyn Fn(&Expression) -> bool) -> bool {
    if here(expr) {
        return true;
    }
    let any = |e: &Expression| any(e, here);
    match expr {
        Expression::FuncCall(c) => c.args.iter().any(any),
        Expression::Array(l) => l.iter().any(any),
        Expression::Object(o) => o
            .iter()
            .any(|(k, v)| matches!(k, ObjectKey::Expression(e) if any(e)) || any(v)),
        Expression::Traversal(t) => {
            any(&t.expr)
                || t.operators
                    .iter()
                    .any(|op| matches!(op, TraversalOperator::Index(e) if any(e)))
        }
        Expression::Parenthesis(e) => any(e),
        Expression::Conditional(c) => any(&c.cond_expr) || any(&c.true_expr) || any(&c.false_expr),
        Expression::Operation(op) => match &**op {
            hcl::expr::Operation::Unary(u) => any(&u.expr),
            hcl::expr::Operation::Binary(b) => any(&b.lhs_expr) || any(&b.rhs_expr),
        },
        Expression::ForExpr(f) => {
            any(&f.collection_expr)
                || any(&f.value_expr)
                || f.key_expr.as_ref().is_some_and(any)
                || f.cond_expr.as_ref().is_some_and(any)
        }
        _ => false,
    }
}

/// True if `expr` has a loop: a `for` expression or a template directive (`%{`).
fn loops(expr: &Expression) -> bool {
    any(expr, &|e| match e {
        Expression::ForExpr(_) => true,
        Expression::TemplateExpr(t) => template_text(t).contains("%{"),
        _ => false,
    })
}

/// True if `expr` needs evaluating here: it calls `try` or `can`, or loops.
fn needs_lazy(expr: &Expression) -> bool {
    any(expr, &|e| match e {
        Expression::FuncCall(c) => is_try(c),
        Expression::ForExpr(_) => true,
        Expression::TemplateExpr(t) => {
            let s = template_text(t);
            s.contains("try") || s.contains("can") || s.contains("%{")
        }
        _ => false,
    })
}

/// The value of `expr`, `try`, `can` and loops handled here.
fn value(expr: &Expression, ctx: &Context<'_>) -> Lazy<Value> {
    if !needs_lazy(expr) {
        return Ok(expr.evaluate(ctx)?);
    }
    Ok(lower(expr, ctx)?.evaluate(ctx)?)
}

/// `expr` with every `try`/`can` call and loop it evaluates replaced by its value.
fn lower(expr: &Expression, ctx: &Context<'_>) -> Lazy<Expression> {
    if !needs_lazy(expr) {
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

/// A `for` expression.
fn for_expr(f: &hcl::expr::ForExpr, ctx: &Context<'_>) -> Lazy<Value> {
    let items = iterable(value(&f.collection_expr, ctx)?)?;
    let over = |m: String| Failure::Call("for".to_string(), m);
    let mut budget = Budget::new();
    budget.take(1, 0).map_err(over)?;
    let mut list = Vec::new();
    let mut object: hcl::Map<String, Value> = hcl::Map::new();
    // One copy of the context (hcl-rs's child contexts are private), its variables
    // declared again for each element.
    let mut scope = ctx.clone();
    for (k, v) in items {
        iteration()?;
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

/// A template that calls `try` or `can` or has directives, rendered as hcl-rs renders one
/// (its `evaluate_template`), its text held to [`limits::MAX_TEXT`].
fn template(t: &TemplateExpr, ctx: &Context<'_>) -> Lazy<String> {
    let tpl =
        Template::from_expr(t).map_err(|e| Failure::Call("template".into(), e.to_string()))?;
    let mut out = String::new();
    render(&mut out, &tpl, ctx, Strip::None, Strip::None)?;
    Ok(out)
}

/// The strip markers around an element (`~`), as hcl-rs reads them.
fn strip_of(el: &Element) -> Strip {
    match el {
        Element::Literal(_) => Strip::None,
        Element::Interpolation(i) => i.strip,
        Element::Directive(d) => {
            let (start, end) = match &**d {
                Directive::If(d) => (d.if_strip, d.endif_strip),
                Directive::For(d) => (d.for_strip, d.endfor_strip),
            };
            Strip::from((start.strip_start(), end.strip_end()))
        }
    }
}

/// A literal without the spaces and the line end a neighbour's strip marker removes.
fn strip_literal(mut literal: &str, prev: Strip, next: Strip) -> &str {
    let is_space = |c: char| c.is_whitespace() && c != '\r' && c != '\n';
    if prev.strip_end() {
        let s = literal.trim_start_matches(is_space);
        literal = s
            .strip_prefix("\r\n")
            .or_else(|| s.strip_prefix('\n'))
            .unwrap_or(s);
    }
    if next.strip_start() {
        let s = literal.trim_end_matches(is_space);
        literal = s
            .strip_suffix("\r\n")
            .or_else(|| s.strip_suffix('\n'))
            .unwrap_or(s);
    }
    literal
}

/// Appends to `out`, failing past [`limits::MAX_TEXT`].
fn push(out: &mut String, s: &str) -> Lazy<()> {
    limits::fits_text(out.len().saturating_add(s.len()))
        .map_err(|m| Failure::Call("template".to_string(), m))?;
    out.push_str(s);
    Ok(())
}

/// Renders `tpl` into `out`; `prev` and `next` are the strip markers around it.
fn render(
    out: &mut String,
    tpl: &Template,
    ctx: &Context<'_>,
    prev: Strip,
    next: Strip,
) -> Lazy<()> {
    let els = tpl.elements();
    for (i, el) in els.iter().enumerate() {
        let before = if i == 0 { prev } else { strip_of(&els[i - 1]) };
        let after = els.get(i + 1).map_or(next, strip_of);
        match el {
            Element::Literal(l) => push(out, strip_literal(l, before, after))?,
            Element::Interpolation(interp) => match value(&interp.expr, ctx)? {
                Value::String(s) => push(out, &s)?,
                other => push(out, &other.to_string())?,
            },
            Element::Directive(d) => match &**d {
                Directive::If(d) => match value(&d.cond_expr, ctx)? {
                    Value::Bool(true) => {
                        let end = match d.false_template {
                            Some(_) => d.else_strip,
                            None => d.endif_strip,
                        };
                        render(out, &d.true_template, ctx, d.if_strip, end)?;
                    }
                    Value::Bool(false) => {
                        if let Some(f) = &d.false_template {
                            render(out, f, ctx, d.else_strip, d.endif_strip)?;
                        }
                    }
                    other => {
                        return Err(Failure::Call(
                            "if".to_string(),
                            format!("the condition must be a bool, not {}", kind(&other)),
                        ));
                    }
                },
                Directive::For(d) => {
                    let items = iterable(value(&d.collection_expr, ctx)?)?;
                    let mut scope = ctx.clone();
                    for (k, v) in items {
                        iteration()?;
                        if let Some(kv) = &d.key_var {
                            scope.declare_var(Identifier::clone(kv), k);
                        }
                        scope.declare_var(Identifier::clone(&d.value_var), v);
                        render(out, &d.template, &scope, d.for_strip, d.endfor_strip)?;
                    }
                }
            },
        }
    }
    Ok(())
}

/// The keys (indexes of a list) and values a loop iterates over.
fn iterable(collection: Value) -> Lazy<Vec<(Value, Value)>> {
    match collection {
        Value::Array(l) => Ok(l
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Value::from(i as u64), v))
            .collect()),
        Value::Object(o) => Ok(o.into_iter().map(|(k, v)| (Value::String(k), v)).collect()),
        other => Err(Failure::Call(
            "for".to_string(),
            format!("cannot iterate over {}", kind(&other)),
        )),
    }
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

    /// Loops are evaluated here, held to the limits: hcl-rs would build 1,024 products of
    /// 270,001 values, or iterate a billion times.
    #[test]
    fn loops_stay_within_the_limits() {
        fails(
            "[for i in range(1024) : setproduct(range(300), range(300))]",
            "values",
        );
        fails(
            "length([for a in range(1024) : [for b in range(1024) : [for c in range(1024) : c if false]]])",
            "iterates more than 1000000 times",
        );
        let directives = "%{for a in range(1024)}%{for b in range(1024)}%{for c in range(1024)}";
        fails(
            &format!(r#""{directives}%{{endfor}}%{{endfor}}%{{endfor}}""#),
            "iterates more than",
        );
        let line = "x".repeat(100);
        fails(
            &format!(
                r#""%{{for a in range(1024)}}%{{for b in range(1024)}}{line}%{{endfor}}%{{endfor}}""#
            ),
            "MiB",
        );
        same(
            "length(flatten([for a in range(100) : [for b in range(100) : b]]))",
            "10000",
        );
    }

    /// `for` expressions and templates evaluate here as hcl-rs evaluates them.
    #[test]
    fn loops_and_templates_evaluate_as_in_hcl_rs() {
        use hcl::eval::{Context, Evaluate};
        let cases = [
            r#"[for i, x in ["a", "b"] : "${i}${x}"]"#,
            r#"[for x in [1, 2, 3] : x * 2 if x > 1]"#,
            r#"{ for k, v in { a = 1, b = 2 } : v => k }"#,
            r#"{ for x in ["a", "b", "a"] : x => upper(x)... }"#,
            r#"{ for x in ["a", "a"] : x => x }"#,
            r#"[for x in 1 : x]"#,
            r#"[for x in [1] : x if 1]"#,
            r#""%{for x in ["a", "b"]}${x},%{endfor}""#,
            r#""%{for k, v in { a = 1, b = true }}${k}=${v};%{endfor}""#,
            r#""%{if true}yes%{else}no%{endif} %{if false}yes%{endif}""#,
            r#""%{if 1}yes%{endif}""#,
            r#""[%{ for x in ["a", "b"] ~} ${x} %{~ endfor }]""#,
            r#""a ${~ "b" ~} c %{~ if true ~} d %{~ else ~} e %{~ endif ~} f""#,
            "<<EOT\n%{ for x in [\"a\", \"b\"] ~}\n  - ${x}\n%{ endfor ~}\nend\nEOT\n",
            "<<-EOT\n  %{~ if true ~}\n    yes\n  %{~ endif ~}\n  EOT\n",
            r#""${1.5} ${true} ${null} ${[1]}""#,
            r#""%{for x in [1, 2]}${x}%{endfor}${nope}""#,
        ];
        for src in cases {
            let body: hcl::Body = match hcl::parse(&format!("x = {src}\n")) {
                Ok(b) => b,
                Err(e) => panic!("{src}: {e}"),
            };
            let Some(expr) = body.attributes().next().map(|a| a.expr.clone()) else {
                panic!("{src}: no attribute");
            };
            let mut ctx = Context::new();
            super::super::declare_all(&mut ctx);
            let theirs = expr.evaluate(&ctx).ok();
            let ours = super::evaluate(&expr, &ctx).ok();
            assert_eq!(ours, theirs, "{src}");
        }
    }
}
