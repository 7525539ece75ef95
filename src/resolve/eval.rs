//! Parsing one piece of a file with hcl-rs (its `hcl-edit` parser, which keeps spans) and
//! evaluating expressions against a scope built from exactly what they refer to.
//!
//! Positions: a snippet is parsed on its own, so its spans start at 0; [`Snippet::pos`]
//! maps them back to the file.

use hcl::eval::Context;

use super::funcs;
use super::value::{Interner, Val};
use crate::syntax::{Diagnostic, LineIndex, Pos, Severity, Span};

/// A byte range of one file's source, as text, with where it starts in the file.
pub struct Snippet<'s> {
    /// The whole file.
    pub src: &'s [u8],
    /// The text parsed (the range, plus a line end so a closing heredoc marker is complete).
    pub text: String,
    /// File offset of `text`'s first byte.
    pub start: usize,
}

impl<'s> Snippet<'s> {
    /// The text of `span` in `src` (lossy when the file is not UTF-8: positions after a bad
    /// byte are then approximate).
    pub fn new(src: &'s [u8], span: Span) -> Snippet<'s> {
        let bytes = src.get(span.range()).unwrap_or(&[]);
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        text.push('\n');
        Snippet {
            src,
            text,
            start: span.start as usize,
        }
    }

    /// The position in the file of an offset into the snippet.
    pub fn pos(&self, offset: usize) -> Pos {
        file_pos(
            self.src,
            self.start + offset.min(self.text.len().saturating_sub(1)),
        )
    }

    /// The file span of a snippet range.
    pub fn file_span(&self, r: std::ops::Range<usize>) -> Span {
        let end = r.end.min(self.text.len().saturating_sub(1));
        Span::new(self.start + r.start.min(end), self.start + end)
    }

    /// A diagnostic over a snippet range.
    pub fn diagnostic(
        &self,
        severity: Severity,
        r: std::ops::Range<usize>,
        message: String,
    ) -> Diagnostic {
        Diagnostic {
            severity,
            start: self.pos(r.start),
            end: self.pos(r.end),
            message,
        }
    }

    /// Parses the snippet as a body; a syntax error becomes a diagnostic at its position.
    pub fn parse_body(&self) -> Result<hcl::edit::structure::Body, Diagnostic> {
        hcl::edit::parser::parse_body(&self.text).map_err(|e| self.parse_error(&e))
    }

    /// Parses the snippet as one expression.
    pub fn parse_expr(&self) -> Result<hcl::edit::expr::Expression, Diagnostic> {
        let bare = self.text.strip_suffix('\n').unwrap_or(&self.text);
        parse_expr_text(bare).map_err(|first| self.parse_error(&first))
    }

    fn parse_error(&self, e: &hcl::edit::parser::Error) -> Diagnostic {
        let at = e.location().offset();
        self.diagnostic(Severity::Error, at..at, syntax_error_message(e))
    }
}

/// Parses one expression's text (as [`Snippet::parse_expr`] does, without positions in a
/// file): as it is first (an expression parser wants nothing after the expression), then
/// with a line end (a heredoc needs one after its closing marker). The error is the first
/// attempt's.
pub fn parse_expr_text(
    text: &str,
) -> Result<hcl::edit::expr::Expression, hcl::edit::parser::Error> {
    hcl::edit::parser::parse_expr(text).or_else(|first| {
        let mut with_end = String::with_capacity(text.len() + 1);
        with_end.push_str(text);
        with_end.push('\n');
        hcl::edit::parser::parse_expr(&with_end).map_err(|_| first)
    })
}

/// The message of a syntax error, as [`Snippet::parse_expr`]'s diagnostic has it.
pub fn syntax_error_message(e: &hcl::edit::parser::Error) -> String {
    format!("syntax error: {}", e.message())
}

/// The position of a byte offset of a file (after a BOM, as the scanner counts).
pub fn file_pos(src: &[u8], offset: usize) -> Pos {
    let bom = if src.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut lines = LineIndex::new(src, bom);
    lines.pos(offset)
}

/// A diagnostic over a file span.
pub fn span_diagnostic(src: &[u8], severity: Severity, span: Span, message: String) -> Diagnostic {
    let bom = if src.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut lines = LineIndex::new(src, bom);
    let start = lines.pos(span.start as usize);
    let end = lines.pos(span.end as usize);
    Diagnostic {
        severity,
        start,
        end,
        message,
    }
}

/// The span of an hcl-edit item, in snippet offsets (empty at 0 when it has none).
pub fn span_of(item: &impl hcl::edit::Span) -> std::ops::Range<usize> {
    item.span().unwrap_or(0..0)
}

/// What an evaluation can see: nested objects by root name (`var`, `local`, `query`, a
/// dependency mod's name, ...).
#[derive(Default, Debug, Clone)]
pub struct Scope {
    roots: hcl::Map<String, hcl::Value>,
}

impl Scope {
    /// An empty scope.
    pub fn new() -> Scope {
        Scope::default()
    }

    /// Sets `root.a.b... = value` (creating the objects on the way).
    pub fn insert(&mut self, path: &[&str], value: hcl::Value) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let mut slot = self
            .roots
            .entry((*first).to_string())
            .or_insert_with(|| hcl::Value::Object(hcl::Map::new()));
        for key in rest {
            if !slot.is_object() {
                *slot = hcl::Value::Object(hcl::Map::new());
            }
            let hcl::Value::Object(map) = slot else {
                return;
            };
            slot = map
                .entry((*key).to_string())
                .or_insert_with(|| hcl::Value::Object(hcl::Map::new()));
        }
        *slot = value;
    }

    /// True if `root` is declared.
    pub fn has_root(&self, root: &str) -> bool {
        self.roots.contains_key(root)
    }

    /// The evaluation context for `text`: these roots, the functions `text` calls and the
    /// connections it names.
    pub fn context(&self, text: &str) -> Context<'static> {
        self.clone().into_context(text)
    }

    /// [`Scope::context`], the values moved into the context rather than copied.
    pub fn into_context(self, text: &str) -> Context<'static> {
        let mut ctx = Context::new();
        funcs::declare_used(&mut ctx, text);
        let has_connection = self.roots.contains_key("connection");
        for (k, v) in self.roots {
            ctx.declare_var(k, v);
        }
        if !has_connection && let Some(c) = connections(text) {
            ctx.declare_var("connection", c);
        }
        ctx
    }
}

/// The connections `text` names (`connection.steampipe.default`), as Powerpipe's config
/// defines them outside the mod: each is shown as its name. `None` when there are none.
pub fn connections(text: &str) -> Option<hcl::Value> {
    let mut kinds: hcl::Map<String, hcl::Value> = hcl::Map::new();
    let ident = |s: &str| -> usize {
        s.bytes()
            .position(|b| !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
            .unwrap_or(s.len())
    };
    for (at, _) in text.match_indices("connection.") {
        if text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            continue;
        }
        let rest = &text[at + "connection.".len()..];
        let k = ident(rest);
        if k == 0 {
            continue;
        }
        let kind = &rest[..k];
        let entry = kinds
            .entry(kind.to_string())
            .or_insert_with(|| hcl::Value::Object(hcl::Map::new()));
        let after = &rest[k..];
        if let Some(name_part) = after.strip_prefix('.') {
            let n = ident(name_part);
            if n > 0
                && let hcl::Value::Object(names) = entry
            {
                let name = &name_part[..n];
                names.insert(
                    name.to_string(),
                    hcl::Value::String(format!("connection.{kind}.{name}")),
                );
            }
        }
    }
    (!kinds.is_empty()).then_some(hcl::Value::Object(kinds))
}

/// Evaluates an expression; the error is a message for a user.
pub fn evaluate(expr: &hcl::Expression, scope: &Scope, interner: &Interner) -> Result<Val, String> {
    evaluate_in(expr, &scope.context(&expr.to_string()), interner)
}

/// Evaluates an expression whose source text is known (cheaper than printing it again to
/// find the functions it calls).
pub fn evaluate_text(
    expr: &hcl::Expression,
    text: &str,
    scope: Scope,
    interner: &Interner,
) -> Result<Val, String> {
    evaluate_in(expr, &scope.into_context(text), interner)
}

/// Evaluates an expression in a context built once ([`Scope::context`]) for several.
///
/// `try` and `can` see their arguments' errors ([`funcs::lazy`]); a function whose result is
/// known only when Powerpipe runs (`timestamp()`, `uuid()`, ...) makes the value
/// [`Val::Unknown`], not an error.
pub fn evaluate_in(
    expr: &hcl::Expression,
    ctx: &Context<'_>,
    interner: &Interner,
) -> Result<Val, String> {
    match funcs::lazy::evaluate(expr, ctx) {
        Ok(v) => interner.try_from_hcl(&v).map_err(|e| e.to_string()),
        Err(f) if f.is_runtime() => Ok(Val::Unknown(interner.intern(expr.to_string().trim()))),
        Err(funcs::lazy::Failure::Eval(e)) => Err(message(&e)),
        Err(funcs::lazy::Failure::Call(name, m)) => Err(format!("in `{name}(...)`: {m}")),
    }
}

/// A readable message for an evaluation error (hcl-rs's own text repeats the whole
/// expression).
pub fn message(e: &hcl::eval::Error) -> String {
    use hcl::eval::ErrorKind as K;
    match e.kind() {
        K::UndefinedVar(v) => format!("unknown name `{v}`"),
        K::UndefinedFunc(f) => {
            let name = f.to_string();
            match funcs::suggest(&name) {
                Some(near) => format!("unknown function `{name}`; did you mean `{near}`?"),
                None => format!("unknown function `{name}`"),
            }
        }
        K::NoSuchKey(k) => match e.expr() {
            Some(expr) => format!("`{}` has no attribute or key `{k}`", short(expr)),
            None => format!("no attribute or key `{k}`"),
        },
        K::FuncCall(name, msg) => format!("in `{name}(...)`: {msg}"),
        other => other.to_string(),
    }
}

fn short(expr: &hcl::Expression) -> String {
    let s = expr.to_string();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Evaluates a constant expression (a `.ppvars` value, a default): functions only.
pub fn constant(expr: &hcl::Expression, interner: &Interner) -> Result<Val, String> {
    evaluate(expr, &Scope::new(), interner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_positions_map_back_to_the_file() {
        let src = b"# c\ncontrol \"x\" {\n  title = 1 +\n}\n";
        let block = Span::new(4, src.len());
        let sn = Snippet::new(src, block);
        let err = sn.parse_body().err();
        let d = err.map(|d| (d.start.line, d.message.starts_with("syntax error")));
        assert_eq!(d, Some((3, true)));
        assert_eq!(sn.pos(0).line, 2);
        assert_eq!(sn.pos(0).column, 1);
    }

    #[test]
    fn scopes_nest_and_evaluate() {
        let mut s = Scope::new();
        s.insert(&["var", "region"], hcl::Value::from("eu"));
        s.insert(&["dep", "query", "q", "sql"], hcl::Value::from("select 1"));
        let i = Interner::default();
        let e: hcl::Expression = "\"${var.region}-${dep.query.q.sql}\""
            .parse()
            .unwrap_or(hcl::Expression::Null);
        assert_eq!(evaluate(&e, &s, &i), Ok(Val::str("eu-select 1")));
        let e: hcl::Expression = "var.nope".parse().unwrap_or(hcl::Expression::Null);
        let m = evaluate(&e, &s, &i).err().unwrap_or_default();
        assert!(m.contains("nope"), "{m}");
        let e: hcl::Expression = "nothing(1)".parse().unwrap_or(hcl::Expression::Null);
        assert_eq!(
            evaluate(&e, &s, &i),
            Err("unknown function `nothing`".to_string())
        );
    }
}
