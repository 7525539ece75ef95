//! `textDocument/formatting` and `textDocument/rangeFormatting`: the document in HCL's
//! canonical format ([`crate::format`]), sent as the smallest line edits that turn the
//! client's text into it, so the cursor, folds and marks outside the changed lines stay put.
//!
//! The canonical format has no options (indentation is two spaces, as `terraform fmt`
//! writes), so the client's `FormattingOptions` are not used. A range formats the whole
//! document and keeps the edits that touch the range's lines: the alignment of `=` and of
//! comments depends on the neighbouring lines, so an edit may reach beyond the range, but
//! no line away from it changes. A document with a syntax error is not formatted: the
//! answer is an error naming its line and column.

use std::ops::Range as Bytes;

use tower_lsp_server::ls_types::{Range, TextEdit};

use super::text::Lines;

/// Why a document is not formatted.
#[derive(Debug, thiserror::Error)]
pub enum FormatRefused {
    /// The text does not parse.
    #[error("not formatted: a syntax error at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// What is wrong.
        message: String,
    },
}

/// The edits that format `text`; `range`: only those touching its lines (`None`: every
/// edit).
pub fn edits(text: &str, range: Option<Range>) -> Result<Vec<TextEdit>, FormatRefused> {
    let new = crate::format::format(text).map_err(|e| FormatRefused::Syntax {
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    if new == text {
        return Ok(Vec::new());
    }
    let lines = Lines::new(std::sync::Arc::from(text.as_bytes()));
    // The lines of a span of bytes (an empty span at a line start counts for that line).
    let line_span = |b: &Bytes<usize>| {
        (
            lines.line_of(b.start),
            lines.line_of(b.end.max(b.start + 1).saturating_sub(1)),
        )
    };
    let wanted = range.map(|r| line_span(&(lines.offset(r.start)..lines.offset(r.end))));
    let mut out = Vec::new();
    for (old, replacement) in hunks(text, &new) {
        if let Some((r_first, r_last)) = wanted {
            // A hunk touches the range when their line spans overlap.
            let (first, last) = line_span(&old);
            if last < r_first || first > r_last {
                continue;
            }
        }
        out.push(TextEdit {
            range: lines.range(old.start, old.end),
            new_text: replacement,
        });
    }
    Ok(out)
}

/// The changed runs of whole lines: the bytes of `old` each replaces and the new text.
fn hunks(old: &str, new: &str) -> Vec<(Bytes<usize>, String)> {
    let diff = similar::TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .timeout(std::time::Duration::from_millis(200))
        .diff_lines(old, new);
    let old_lines: Vec<&str> = diff.old_slices().to_vec();
    let new_lines: Vec<&str> = diff.new_slices().to_vec();
    let mut starts = Vec::with_capacity(old_lines.len() + 1);
    let mut at = 0;
    for l in &old_lines {
        starts.push(at);
        at += l.len();
    }
    starts.push(at);
    let mut out: Vec<(Bytes<usize>, String)> = Vec::new();
    for op in diff.ops() {
        if matches!(op.tag(), similar::DiffTag::Equal) {
            continue;
        }
        let o = op.old_range();
        let n = op.new_range();
        let bytes = starts[o.start]..starts[o.end];
        let text: String = new_lines[n].concat();
        match out.last_mut() {
            // Adjacent operations (a delete then an insert) make one edit.
            Some((prev, t)) if prev.end == bytes.start => {
                prev.end = bytes.end;
                t.push_str(&text);
            }
            _ => out.push((bytes, text)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies edits given in byte ranges of `old` (what `hunks` returns).
    fn apply(old: &str, hunks: &[(Bytes<usize>, String)]) -> String {
        let mut out = String::new();
        let mut at = 0;
        for (r, t) in hunks {
            out.push_str(&old[at..r.start]);
            out.push_str(t);
            at = r.end;
        }
        out.push_str(&old[at..]);
        out
    }

    #[test]
    fn hunks_turn_the_old_text_into_the_new_one() {
        let cases = [
            ("a\nb\nc\n", "a\nB\nc\n"),
            ("a\nb\nc\n", "a\nc\n"),
            ("a\nc\n", "a\nb\nc\n"),
            ("a\nb", "a\nb\n"),
            ("", "x\n"),
            ("x\n\n\n", "x\n"),
            ("é\r\nb\r\n", "é\nb\n"),
        ];
        for (old, new) in cases {
            let h = hunks(old, new);
            assert_eq!(apply(old, &h), new, "{old:?} -> {new:?}: {h:?}");
            assert!(h.windows(2).all(|w| w[0].0.end < w[1].0.start), "{h:?}");
        }
    }

    #[test]
    fn unchanged_lines_are_not_edited() {
        let old = "keep\nchange\nkeep too\n";
        let h = hunks(old, "keep\nchanged\nkeep too\n");
        assert_eq!(h, vec![(5..12, "changed\n".to_string())]);
    }
}
