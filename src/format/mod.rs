//! The formatter: a file's text in, its canonical layout out, byte-identical to HCL's own
//! `hclwrite.Format` (what `terraform fmt` builds on).
//!
//! [`lexer`] mirrors hclsyntax's token scanner, [`layout`] ports `hclwrite`'s layout passes
//! over those tokens. `hclwrite.Format` itself formats anything, broken or not; we refuse a
//! file hclsyntax (Powerpipe's parser) would refuse instead, with the first error's position,
//! so formatting never rearranges a file the user is in the middle of breaking. The check
//! is our scanner's lexical errors and a few token checks ([`check`]) plus a full parse by hcl-edit (hcl-rs's parser), which
//! agrees with hclsyntax on the fixtures and the differential test's documents
//! (`tests/fmt_differential.rs`); for nesting deeper than hcl-edit's 64 levels, the
//! indexing scanner's syntax errors ([`crate::syntax`]) decide instead.
//!
//! Architecture invariant: no I/O, no logging of file content, never panics; the only
//! change to a file is whitespace between tokens (and a byte-order mark, which
//! `hclwrite.Format` drops too).

mod check;
mod layout;
mod lexer;

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
    if let Some(e) = lex_error.or_else(|| check::check(text.as_bytes(), &tokens)) {
        return Err(error_at(text, e.offset, e.message.to_string()));
    }
    check_syntax(text, &tokens)?;
    Ok(layout::layout(text, &tokens))
}

/// Duplicate object keys renamed before hcl-edit gives up on them (each costs a parse).
const MAX_KEY_RENAMES: usize = 32;

/// A copy of the text with insertions, and how to map its offsets back.
struct Patched {
    text: String,
    /// Where text was inserted (offset in the original text, length), sorted.
    inserted: Vec<(usize, usize)>,
}

impl Patched {
    /// Inserts `s` before byte `pos` of the original text.
    fn insert(&mut self, pos: usize, s: &str) {
        let k = self.inserted.partition_point(|&(p, _)| p <= pos);
        let shift: usize = self.inserted[..k].iter().map(|&(_, l)| l).sum();
        self.text.insert_str(pos + shift, s);
        self.inserted.insert(k, (pos, s.len()));
    }

    /// The original offset of `at` in the patched text.
    fn original(&self, mut at: usize) -> usize {
        for &(pos, len) in self.inserted.iter().rev() {
            if at >= pos + len {
                at -= len;
            } else if at > pos {
                at = pos;
            }
        }
        at
    }
}

/// Refuses what hcl-edit's full parse refuses, with the differences from hclsyntax found by
/// the differential test bridged: hcl-edit refuses a repeated object key (`{a = 1, a = 2}`),
/// which hclsyntax leaves to evaluation, so such a key is renamed and the text parsed again;
/// it misreads an empty heredoc followed by a block, so empty heredocs get a line; and it
/// stops at 64 nested levels where hclsyntax has no limit, so past that (or past
/// [`MAX_KEY_RENAMES`] renames) the indexing scanner's syntax errors decide.
fn check_syntax(text: &str, tokens: &[lexer::Token]) -> Result<(), FormatError> {
    // hcl-edit does not expect a byte-order mark; hclsyntax skips it.
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut patched = Patched {
        text: String::new(),
        inserted: Vec::new(),
    };
    let empty_heredocs: Vec<usize> = tokens
        .windows(2)
        .filter(|w| w[0].kind == lexer::Kind::OHeredoc && w[1].kind == lexer::Kind::CHeredoc)
        .map(|w| w[0].end)
        .collect();
    if !empty_heredocs.is_empty() {
        patched.text = text.to_string();
        for pos in empty_heredocs {
            patched.insert(pos, "x\n");
        }
    }
    for renames in 0..=MAX_KEY_RENAMES {
        let current = if patched.inserted.is_empty() {
            text
        } else {
            &patched.text
        };
        let Err(e) = hcl::edit::parser::parse_body(&current[bom..]) else {
            return Ok(());
        };
        let at = patched.original(bom + e.location().offset());
        let message = e.message();
        if message.contains("nesting depth") || renames == MAX_KEY_RENAMES {
            break;
        }
        let renamed = message.contains("redefined object key")
            && rename_key(text, tokens, at, renames, &mut patched);
        if !renamed {
            return Err(error_at(text, at, message.to_string()));
        }
    }
    let index = crate::syntax::scan(text.as_bytes());
    match index
        .diagnostics
        .iter()
        // Its depth limit is about indexing, not syntax.
        .find(|d| {
            d.severity == crate::syntax::Severity::Error && !d.message.contains("nest more than")
        }) {
        Some(d) => Err(error_at(text, d.start.byte as usize, d.message.clone())),
        None => Ok(()),
    }
}

/// Makes the object key starting at `at` (of the original text) unique in `patched`;
/// false when no key starts there.
fn rename_key(
    text: &str,
    tokens: &[lexer::Token],
    at: usize,
    n: usize,
    patched: &mut Patched,
) -> bool {
    let Ok(i) = tokens.binary_search_by_key(&at, |t| t.start) else {
        return false;
    };
    // After an identifier or an opening quote a suffix; after `(` a term added to the key.
    let suffix = match tokens[i].kind {
        lexer::Kind::Ident | lexer::Kind::OQuote => format!("__modlens_key_{n}"),
        lexer::Kind::OParen => format!("__modlens_key_{n}+"),
        _ => return false,
    };
    if patched.inserted.is_empty() {
        patched.text = text.to_string();
    }
    patched.insert(tokens[i].end, &suffix);
    true
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
