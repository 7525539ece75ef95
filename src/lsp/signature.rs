//! Signature help: inside the parentheses of a call to a function modlens evaluates, its
//! signature, the parameter the cursor is on and a one-line description.
//!
//! The signatures are the ones completion shows ([`schema::functions`]): the parameters are
//! read from each signature's text, so there is one table. Where a call starts is found by
//! reading the text from the start of the enclosing top-level block to the cursor, keeping
//! a stack of open brackets; quoted strings, heredocs (and the `${ }` templates inside
//! them) and comments are stepped over, so a `(` or `,` in a string is not taken for code.
//! Nothing here needs more than the file's text and its index.

use tower_lsp_server::ls_types::{
    Documentation, ParameterInformation, ParameterLabel, SignatureHelp, SignatureInformation,
};

use super::schema::{self, FunctionDoc};
use super::text::utf16_len;
use crate::syntax::FileIndex;

/// The farthest back the text is read when no top-level block starts before the cursor (a
/// variables file): calls spanning more than this are not found.
const MAX_LOOK_BACK: usize = 64 * 1024;

/// The signature help at byte `offset` of `src`, whose index is `fi`.
pub fn signature_help(fi: &FileIndex, src: &[u8], offset: usize) -> Option<SignatureHelp> {
    let offset = offset.min(src.len());
    let from = scan_start(fi, src, offset);
    let call = call_at(src, from, offset)?;
    let name = std::str::from_utf8(src.get(call.name.0..call.name.1)?).ok()?;
    let func = function(name)?;
    Some(help(func, call.commas))
}

/// The signature help of `func` with `commas` commas before the cursor.
fn help(func: &FunctionDoc, commas: u32) -> SignatureHelp {
    let params = parameters(func.signature);
    let variadic = params
        .last()
        .is_some_and(|p| func.signature[p.0..p.1].ends_with("..."));
    let last = params.len().saturating_sub(1) as u32;
    let active = if variadic { commas.min(last) } else { commas };
    let utf16 = |at: usize| utf16_len(func.signature.as_bytes().get(..at).unwrap_or(&[])) as u32;
    let parameters = params
        .iter()
        .map(|&(s, e)| ParameterInformation {
            label: ParameterLabel::LabelOffsets([utf16(s), utf16(e)]),
            documentation: None,
        })
        .collect();
    SignatureHelp {
        signatures: vec![SignatureInformation {
            label: func.signature.to_string(),
            documentation: Some(Documentation::String(func.doc.to_string())),
            parameters: Some(parameters),
            active_parameter: Some(active),
        }],
        active_signature: Some(0),
        active_parameter: Some(active),
    }
}

/// A function modlens evaluates, by name.
pub fn function(name: &str) -> Option<&'static FunctionDoc> {
    let all = schema::functions();
    all.binary_search_by(|f| f.name.cmp(name))
        .ok()
        .and_then(|i| all.get(i))
}

/// The parameters of a signature (`format(spec, values...) -> string`) as byte ranges of its
/// text: the pieces between its outer parentheses split at commas, without blanks and
/// without the brackets that mark optional ones (`range([start,] limit[, step])`).
pub fn parameters(signature: &str) -> Vec<(usize, usize)> {
    let b = signature.as_bytes();
    let Some(open) = signature.find('(') else {
        return Vec::new();
    };
    let mut depth = 0usize;
    let mut close = None;
    for (i, &c) in b.iter().enumerate().skip(open) {
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(i);
                    break;
                }
            }
            _ => {}
        }
    }
    let Some(close) = close else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    let trim = |mut s: usize, mut e: usize| {
        let skip = |c: u8| c.is_ascii_whitespace() || c == b'[' || c == b']';
        while s < e && skip(b[s]) {
            s += 1;
        }
        while e > s && skip(b[e - 1]) {
            e -= 1;
        }
        (s, e)
    };
    for (i, &c) in b.iter().enumerate().take(close).skip(open + 1) {
        match c {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(trim(start, i));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(trim(start, close));
    out.retain(|(s, e)| s < e);
    out
}

/// Where reading starts for a cursor at `offset`: the start of the last top-level block
/// starting before it, else at most [`MAX_LOOK_BACK`] bytes back, at a line start.
fn scan_start(fi: &FileIndex, src: &[u8], offset: usize) -> usize {
    let upto = fi
        .blocks
        .partition_point(|b| (b.start.byte as usize) <= offset);
    if let Some(b) = fi.blocks[..upto].iter().rev().find(|b| b.parent.is_none()) {
        return b.start.byte as usize;
    }
    let floor = offset.saturating_sub(MAX_LOOK_BACK);
    if floor == 0 {
        return 0;
    }
    match memchr::memchr(b'\n', &src[floor..offset]) {
        Some(i) => floor + i + 1,
        None => offset,
    }
}

/// A call the cursor is inside of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Call {
    /// The function name's bytes.
    name: (usize, usize),
    /// The commas at the call's own depth before the cursor.
    commas: u32,
}

/// What an open bracket (or string) on the stack is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Frame {
    /// `(`, with the name before it when it is a call.
    Paren {
        name: Option<(usize, usize)>,
        commas: u32,
    },
    /// `[` or `{` (of code).
    Bracket,
    /// `${` or `%{` inside a string or heredoc.
    Interp,
    /// A quoted string.
    Str,
    /// A heredoc's body, with its end marker.
    Heredoc { marker: (usize, usize) },
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c >= 0x80
}

/// The innermost named call open at `offset`, reading `src` from `from`.
fn call_at(src: &[u8], from: usize, offset: usize) -> Option<Call> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = from;
    let at = |j: usize| src.get(j).copied().unwrap_or(0);
    while i < offset {
        let c = at(i);
        match stack.last_mut() {
            Some(Frame::Str) => match c {
                b'\\' => i += 2,
                b'"' | b'\n' => {
                    stack.pop();
                    i += 1;
                }
                b'$' | b'%' if at(i + 1) == c => i += 2,
                b'$' | b'%' if at(i + 1) == b'{' => {
                    stack.push(Frame::Interp);
                    i += 2;
                }
                _ => i += 1,
            },
            Some(Frame::Heredoc { marker }) => {
                let marker = *marker;
                let line_end = memchr::memchr(b'\n', &src[i..offset])
                    .map(|n| i + n)
                    .unwrap_or(offset);
                // At a line start: the end marker ends the heredoc.
                if i == 0 || at(i - 1) == b'\n' {
                    let line = &src[i..line_end];
                    let word = line.trim_ascii();
                    if word == &src[marker.0..marker.1] {
                        stack.pop();
                        i = line_end;
                        continue;
                    }
                }
                match c {
                    b'$' | b'%' if at(i + 1) == c => i += 2,
                    b'$' | b'%' if at(i + 1) == b'{' => {
                        stack.push(Frame::Interp);
                        i += 2;
                    }
                    _ => i += 1,
                }
            }
            _ => {
                // Code.
                match c {
                    b'#' => i = line_end_of(src, i, offset),
                    b'/' if at(i + 1) == b'/' => i = line_end_of(src, i, offset),
                    b'/' if at(i + 1) == b'*' => {
                        let body = src.get(i + 2..offset).unwrap_or(&[]);
                        i = match memchr::memmem::find(body, b"*/") {
                            Some(n) => i + 2 + n + 2,
                            None => offset,
                        };
                    }
                    b'"' => {
                        stack.push(Frame::Str);
                        i += 1;
                    }
                    b'<' if at(i + 1) == b'<' => {
                        let mut s = i + 2;
                        if at(s) == b'-' {
                            s += 1;
                        }
                        let mut e = s;
                        while e < offset && is_ident_byte(at(e)) {
                            e += 1;
                        }
                        if e > s && !at(s).is_ascii_digit() {
                            stack.push(Frame::Heredoc { marker: (s, e) });
                            // The body starts on the next line.
                            i = line_end_of(src, e, offset).saturating_add(1).min(offset);
                        } else {
                            i += 2;
                        }
                    }
                    b'(' => {
                        stack.push(Frame::Paren {
                            name: name_before(src, from, i),
                            commas: 0,
                        });
                        i += 1;
                    }
                    b')' => {
                        if matches!(stack.last(), Some(Frame::Paren { .. })) {
                            stack.pop();
                        }
                        i += 1;
                    }
                    b'[' | b'{' => {
                        stack.push(Frame::Bracket);
                        i += 1;
                    }
                    b']' | b'}' => {
                        if matches!(stack.last(), Some(Frame::Bracket | Frame::Interp)) {
                            stack.pop();
                        }
                        i += 1;
                    }
                    b',' => {
                        if let Some(Frame::Paren { commas, .. }) = stack.last_mut() {
                            *commas += 1;
                        }
                        i += 1;
                    }
                    _ => i += 1,
                }
            }
        }
    }
    stack.iter().rev().find_map(|f| match f {
        Frame::Paren {
            name: Some(name),
            commas,
        } => Some(Call {
            name: *name,
            commas: *commas,
        }),
        _ => None,
    })
}

/// The end of the line holding `i` (its `\n`), at most `limit`.
fn line_end_of(src: &[u8], i: usize, limit: usize) -> usize {
    if i >= limit {
        return limit;
    }
    memchr::memchr(b'\n', &src[i..limit])
        .map(|n| i + n)
        .unwrap_or(limit)
}

/// The identifier just before the `(` at `paren` (blanks between allowed), not before
/// `from`.
fn name_before(src: &[u8], from: usize, paren: usize) -> Option<(usize, usize)> {
    let mut e = paren;
    while e > from && matches!(src[e - 1], b' ' | b'\t') {
        e -= 1;
    }
    let mut s = e;
    while s > from && is_ident_byte(src[s - 1]) {
        s -= 1;
    }
    let first = *src.get(s)?;
    (s < e && (first.is_ascii_alphabetic() || first == b'_')).then_some((s, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    /// The call and active comma count at the `|` of `text`.
    fn at_cursor(text: &str) -> Option<(String, u32)> {
        let offset = text.find('|').expect("a cursor");
        let src = text.replacen('|', "", 1);
        let c = call_at(src.as_bytes(), 0, offset)?;
        Some((src[c.name.0..c.name.1].to_string(), c.commas))
    }

    #[test]
    fn the_innermost_call_and_its_commas_at_depth() {
        assert_eq!(at_cursor("x = merge(|"), Some(("merge".into(), 0)));
        assert_eq!(
            at_cursor("x = merge(local.a, { a = 1, b = [1, 2] }, |)"),
            Some(("merge".into(), 2))
        );
        assert_eq!(
            at_cursor("x = format(\"%s\", upper(a|))"),
            Some(("upper".into(), 0))
        );
        assert_eq!(
            at_cursor("x = format(\"%s\", upper(a), |"),
            Some(("format".into(), 2))
        );
        assert_eq!(at_cursor("x = merge(a, b)|"), None);
    }

    #[test]
    fn strings_heredocs_and_comments_are_not_code() {
        assert_eq!(
            at_cursor("x = replace(\"a,(b\", |"),
            Some(("replace".into(), 1))
        );
        assert_eq!(
            at_cursor("x = replace(\"a\\\",b\", |"),
            Some(("replace".into(), 1))
        );
        assert_eq!(
            at_cursor("x = join(\",\", [\"${lower(y)}\", |"),
            Some(("join".into(), 1))
        );
        assert_eq!(
            at_cursor("sql = <<-EOQ\n  select f(a, b)\n  EOQ\nx = lower(|"),
            Some(("lower".into(), 0))
        );
        assert_eq!(
            at_cursor("sql = <<-EOQ\n  select ${upper(a, |"),
            Some(("upper".into(), 1))
        );
        assert_eq!(
            at_cursor("x = lower(a # , b (\n, |"),
            Some(("lower".into(), 1))
        );
        assert_eq!(
            at_cursor("x = lower(a /* , ( */, |"),
            Some(("lower".into(), 1))
        );
        assert_eq!(at_cursor("title = \"f(a, |\""), None);
    }

    #[test]
    fn any_cursor_in_any_text_is_answered() {
        let texts: [&[u8]; 4] = [
            b"x = lower(a /* c */, \"s\\\"${f(\", <<-EOQ\n ${g(\nEOQ\n, b) # (\n // (\n",
            b"/*",
            b"<<",
            b"\xff(\xfe\"${(\n\r\"",
        ];
        for src in texts {
            for offset in 0..=src.len() + 1 {
                let _ = call_at(src, 0, offset.min(src.len()));
            }
        }
    }

    proptest::proptest! {
        /// Whatever the bytes and wherever the cursor, the reading ends without a panic.
        #[test]
        fn any_bytes_any_cursor(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![
                        "(", ")", ",", "\"", "${", "%{", "}", "{", "[", "]", "<<-EOQ\n",
                        "\nEOQ\n", "/*", "*/", "#", "//", "\\", "\n", "merge", " ",
                    ]).prop_map(|s| s.as_bytes().to_vec()),
                    proptest::collection::vec(proptest::num::u8::ANY, 0..4),
                ],
                0..40,
            ),
            at in 0usize..400,
        ) {
            let src = parts.concat();
            let _ = call_at(&src, 0, at.min(src.len()));
        }
    }

    #[test]
    fn parameters_are_read_from_the_signature_text() {
        let text = |s: &'static str| -> Vec<&'static str> {
            parameters(s).into_iter().map(|(a, b)| &s[a..b]).collect()
        };
        assert_eq!(text("merge(maps...) -> map"), ["maps..."]);
        assert_eq!(
            text("format(spec, values...) -> string"),
            ["spec", "values..."]
        );
        assert_eq!(
            text("compact(list(string)) -> list(string)"),
            ["list(string)"]
        );
        assert_eq!(
            text("range([start,] limit[, step]) -> list(number)"),
            ["start", "limit", "step"]
        );
        for f in schema::functions() {
            assert!(!parameters(f.signature).is_empty(), "{}", f.signature);
        }
    }

    #[test]
    fn a_variadic_parameter_stays_active_past_its_comma() {
        let merge = function("merge").expect("merge is known");
        assert_eq!(help(merge, 3).active_parameter, Some(0));
        let replace = function("replace").expect("replace is known");
        assert_eq!(help(replace, 1).active_parameter, Some(1));
        assert!(function("no_such_function").is_none());
    }
}
