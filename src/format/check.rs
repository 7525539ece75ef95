//! Token-level checks for what hclsyntax refuses but hcl-edit's parser lets through, found by
//! `tests/fmt_differential.rs`'s mutated documents: a line break next to an operator or a
//! `.` where line breaks end an attribute (`a = x /* c */` then `/ y` on the next line;
//! `a.` then `b` on the next line), and a `for` expression whose `in` is glued to the next
//! word (`for v innull`).
//!
//! Line breaks matter (as in hclsyntax's parser) in bodies and object constructors; inside
//! `( )`, `[ ]`, `{for …}`, `${ }` and `%{ }` they are ignored.

use super::lexer::{Kind, LexError, Token};

/// Whether `t` ends a line (a newline, or a `#`/`//` comment, which keeps its own).
fn ends_line(src: &[u8], t: &Token) -> bool {
    t.kind == Kind::Newline || (t.kind == Kind::Comment && src.get(t.end - 1) == Some(&b'\n'))
}

/// Operators that can neither end a line nor start one where line breaks matter.
fn binary(kind: Kind) -> bool {
    use Kind::*;
    matches!(
        kind,
        Star | Slash
            | Percent
            | Plus
            | EqualOp
            | NotEqual
            | LessThan
            | LessThanEq
            | GreaterThan
            | GreaterThanEq
            | And
            | Or
            | Question
            | Colon
            | Dot
            | Equal
    )
}

/// The first token from `i` on that is no line end or comment.
fn next_significant(tokens: &[Token], i: usize) -> Option<&Token> {
    tokens[i..]
        .iter()
        .find(|t| !matches!(t.kind, Kind::Newline | Kind::Comment))
}

fn text<'a>(src: &'a [u8], t: &Token) -> &'a [u8] {
    src.get(t.start..t.end).unwrap_or(b"")
}

/// The first such mistake in `tokens` of `src`.
pub(crate) fn check(src: &[u8], tokens: &[Token]) -> Option<LexError> {
    // Per open bracket: whether line breaks matter inside it.
    let mut newline_matters = vec![true];
    for (i, t) in tokens.iter().enumerate() {
        let matters = newline_matters.last().copied().unwrap_or(true);
        match t.kind {
            Kind::OParen | Kind::OBrack | Kind::TemplateInterp | Kind::TemplateControl => {
                newline_matters.push(false);
            }
            Kind::OBrace => {
                let is_for = next_significant(tokens, i + 1)
                    .is_some_and(|n| n.kind == Kind::Ident && text(src, n) == b"for");
                newline_matters.push(!is_for);
            }
            Kind::CParen | Kind::CBrack | Kind::CBrace | Kind::TemplateSeqEnd
                if newline_matters.len() > 1 =>
            {
                newline_matters.pop();
            }
            _ => {}
        }
        if matches!(t.kind, Kind::OBrack | Kind::OBrace)
            && let Some(error) = check_for_header(src, tokens, i + 1)
        {
            return Some(error);
        }
        if !matters || i == 0 {
            continue;
        }
        let prev = &tokens[i - 1];
        if ends_line(src, t) && binary(prev.kind) {
            return Some(LexError {
                offset: prev.start,
                message: "a line break after an operator ends the expression",
            });
        }
        if binary(t.kind) && ends_line(src, prev) {
            return Some(LexError {
                offset: t.start,
                message: "an operator cannot start a line here",
            });
        }
    }
    None
}

/// After `[`/`{` at `i`: a `for` expression's header must be `for NAME[, NAME] in`.
fn check_for_header(src: &[u8], tokens: &[Token], i: usize) -> Option<LexError> {
    let mut rest = tokens[i..]
        .iter()
        .filter(|t| !matches!(t.kind, Kind::Newline | Kind::Comment));
    let first = rest.next()?;
    if first.kind != Kind::Ident || text(src, first) != b"for" {
        return None;
    }
    let expect_in = |t: Option<&Token>| match t {
        Some(t) if t.kind == Kind::Ident && text(src, t) == b"in" => None,
        Some(t) => Some(LexError {
            offset: t.start,
            message: "expected `in` in a for expression",
        }),
        None => None,
    };
    let _name = rest.next()?;
    let after = rest.next();
    match after {
        Some(t) if t.kind == Kind::Comma => {
            let _value = rest.next()?;
            expect_in(rest.next())
        }
        other => expect_in(other),
    }
}
