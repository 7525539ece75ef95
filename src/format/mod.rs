//! The formatter: a file's text in, its canonical layout out, byte-identical to HCL's own
//! `hclwrite.Format` (what `terraform fmt` builds on).
//!
//! [`lexer`] mirrors hclsyntax's token scanner, [`layout`] ports `hclwrite`'s layout passes
//! over those tokens. `hclwrite.Format` itself formats anything, broken or not; we refuse a
//! file hclsyntax (Powerpipe's parser) would refuse instead, with the first error's position,
//! so formatting never rearranges a file the user is in the middle of breaking. The check
//! is our scanner's lexical errors plus a full parse by hcl-edit (hcl-rs's parser), which
//! agrees with hclsyntax on the fixtures and the differential test's documents
//! (`tests/fmt_differential.rs`).
//!
//! Architecture invariant: no I/O, no logging of file content, never panics; the only
//! change to a file is whitespace between tokens (and a byte-order mark, which
//! `hclwrite.Format` drops too).

mod layout;
mod lexer;

/// Brackets nested deeper than this are parsed on a thread with a larger stack (hcl-edit's
/// parser recurses per level).
const DEEP_NESTING: usize = 48;

/// Brackets nested deeper than this are refused rather than parsed at all.
const MAX_NESTING: usize = 2_000;

/// Stack for the deep-nesting parse thread: generous for [`MAX_NESTING`] levels.
const DEEP_STACK_BYTES: usize = 512 << 20;

/// Why a text was not formatted: its first syntax error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct FormatError {
    /// 1-based line of the error.
    pub line: u32,
    /// 1-based column of the error, in Unicode scalar values.
    pub column: u32,
    /// What is wrong.
    pub message: String,
}

/// The canonical layout of `text` (what `hclwrite.Format` writes), or its first syntax error.
pub fn format(text: &str) -> Result<String, FormatError> {
    let (tokens, lex_error) = lexer::lex(text);
    if let Some(e) = lex_error {
        return Err(error_at(text, e.offset, e.message.to_string()));
    }
    check_syntax(text, &tokens)?;
    Ok(layout::layout(text, &tokens))
}

/// Refuses what hcl-edit's full parse refuses (with a guard for very deep nesting).
fn check_syntax(text: &str, tokens: &[lexer::Token]) -> Result<(), FormatError> {
    let mut depth: usize = 0;
    let mut max_depth = 0;
    for t in tokens {
        match t.kind {
            lexer::Kind::OBrace
            | lexer::Kind::OBrack
            | lexer::Kind::OParen
            | lexer::Kind::OQuote
            | lexer::Kind::OHeredoc
            | lexer::Kind::TemplateInterp
            | lexer::Kind::TemplateControl => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(error_at(
                        text,
                        t.start,
                        format!("nested deeper than {MAX_NESTING} levels"),
                    ));
                }
                max_depth = max_depth.max(depth);
            }
            lexer::Kind::CBrace
            | lexer::Kind::CBrack
            | lexer::Kind::CParen
            | lexer::Kind::CQuote
            | lexer::Kind::CHeredoc
            | lexer::Kind::TemplateSeqEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let parse = |text: &str| {
        hcl::edit::parser::parse_body(text)
            .err()
            .map(|e| (e.location().offset(), e.message().to_string()))
    };
    let failure = if max_depth > DEEP_NESTING {
        let owned = text.to_string();
        std::thread::Builder::new()
            .stack_size(DEEP_STACK_BYTES)
            .spawn(move || parse(&owned))
            .ok()
            .and_then(|h| h.join().ok())
            .unwrap_or_else(|| Some((0, "the parser could not run".to_string())))
    } else {
        parse(text)
    };
    match failure {
        Some((offset, message)) => Err(error_at(text, offset, message)),
        None => Ok(()),
    }
}

/// A [`FormatError`] at byte `offset` of `text`.
fn error_at(text: &str, offset: usize, message: String) -> FormatError {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    FormatError {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        message,
    }
}

#[cfg(test)]
mod tests;
