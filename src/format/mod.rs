//! The formatter: a file's text in, its canonical layout out, byte-identical to HCL's own
//! `hclwrite.Format` (what `terraform fmt` builds on).
//!
//! [`lexer`] mirrors hclsyntax's token scanner, [`layout`] ports `hclwrite`'s layout passes
//! over those tokens. `hclwrite.Format` itself formats anything, broken or not; we refuse a
//! file hclsyntax (Powerpipe's parser) would refuse instead, with the first error's position,
//! so formatting never rearranges a file the user is in the middle of breaking. The check
//! is our scanner's lexical errors, then [`parse`]: a validating port of hclsyntax's parser
//! over the same tokens that builds no tree and stops at the first error
//! (`tests/fmt_differential.rs` compares its verdicts with hclsyntax's own).
//!
//! Architecture invariant: no I/O, no logging of file content, never panics; the only
//! change to a file is whitespace between tokens (and a byte-order mark, which
//! `hclwrite.Format` drops too).

mod layout;
mod lexer;
mod parse;

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
    let lexed = lexer::lex(text);
    first_error(text, &lexed)?;
    Ok(layout::layout(text, &lexed.tokens))
}

/// The syntax check of [`format`] alone: `Ok` when `format` would format `text`.
pub fn check(text: &str) -> Result<(), FormatError> {
    first_error(text, &lexer::lex(text))
}

/// hclsyntax reports its scanner's errors first, then its parser's; an unclosed string or
/// comment is the parser's to find (and ours too, as a backstop).
fn first_error(text: &str, lexed: &lexer::Lexed) -> Result<(), FormatError> {
    let error = lexed
        .error
        .or_else(|| parse::check(text.as_bytes(), &lexed.tokens))
        .or(lexed.unclosed);
    match error {
        Some(e) => Err(error_at(text, e.offset, e.message.to_string())),
        None => Ok(()),
    }
}

/// For `benches/fmt.rs`: the scan alone (the number of tokens).
#[doc(hidden)]
pub fn bench_lex(text: &str) -> usize {
    lexer::lex(text).tokens.len()
}

/// For `benches/fmt.rs`: a text's tokens, to time [`bench_parse`] without the scan.
#[doc(hidden)]
pub struct BenchTokens(lexer::Lexed);

/// For `benches/fmt.rs`: the scan, kept for [`bench_parse`].
#[doc(hidden)]
pub fn bench_tokens(text: &str) -> BenchTokens {
    BenchTokens(lexer::lex(text))
}

/// For `benches/fmt.rs`: the validating parse alone, on tokens scanned before (whether it
/// finds no error).
#[doc(hidden)]
pub fn bench_parse(text: &str, tokens: &BenchTokens) -> bool {
    parse::check(text.as_bytes(), &tokens.0.tokens).is_none()
}

/// For `benches/fmt.rs`: the scan and layout without the syntax check (meaningless for a
/// text the check refuses).
#[doc(hidden)]
pub fn bench_lex_layout(text: &str) -> String {
    layout::layout(text, &lexer::lex(text).tokens)
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
    // hclsyntax counts columns after a byte-order mark, which it skips.
    let bom = usize::from(line_start == 0 && before.starts_with('\u{feff}'));
    let column = before[line_start..].chars().count() + 1 - bom;
    FormatError {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        column: u32::try_from(column).unwrap_or(u32::MAX),
        message,
    }
}

#[cfg(test)]
mod tests;
