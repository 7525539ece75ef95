//! The layout passes of `hclwrite.Format` (hcl v2.14.1 `hclwrite/format.go`), ported rule for
//! rule: split the tokens into lines of up to three cells (lead, assignment, trailing
//! comment), indent each line by its bracket balance, set the spaces between neighbouring
//! tokens, then align `=` and trailing comments across consecutive lines.
//!
//! Only the spaces before tokens change; every token's bytes are written as they are, so
//! comments, heredoc bodies and template text survive untouched. It never looks at whether
//! the tokens make a valid file; [`super::format`] checks that first.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

use super::lexer::{Kind, Token};

/// A token with the spaces to write before it.
#[derive(Clone, Copy)]
struct Cell {
    kind: Kind,
    start: usize,
    end: usize,
    spaces: usize,
}

/// One line: the token index ranges of its cells (hclwrite's `formatLine`).
#[derive(Clone, Default)]
struct Line {
    lead: Range<usize>,
    assign: Option<Range<usize>>,
    comment: Option<Range<usize>>,
}

/// Lays out `tokens` of `src` (the last one `Eof`) as `hclwrite.Format` does.
pub(crate) fn layout(src: &str, tokens: &[Token]) -> String {
    let mut last_end = 0;
    let mut cells: Vec<Cell> = tokens
        .iter()
        .map(|t| {
            let c = Cell {
                kind: t.kind,
                start: t.start,
                end: t.end,
                spaces: t.start.saturating_sub(last_end),
            };
            last_end = t.end;
            c
        })
        .collect();
    let lines = lines_for_format(src, &cells);
    format_indent(&mut cells, &lines);
    format_spaces(src, &mut cells, &lines);
    format_cells(src, &mut cells, &lines);
    let mut out = String::with_capacity(src.len() + src.len() / 8);
    for c in &cells {
        for _ in 0..c.spaces {
            out.push(' ');
        }
        out.push_str(src.get(c.start..c.end).unwrap_or(""));
    }
    out
}

/// A single-line comment keeps its line end, so it ends its line like a newline does.
fn is_newline(src: &str, c: &Cell) -> bool {
    c.kind == Kind::Newline
        || (c.kind == Kind::Comment && c.end > c.start && src.as_bytes()[c.end - 1] == b'\n')
}

fn bracket_change(kind: Kind) -> i64 {
    match kind {
        Kind::OBrace
        | Kind::OBrack
        | Kind::OParen
        | Kind::TemplateControl
        | Kind::TemplateInterp => 1,
        Kind::CBrace | Kind::CBrack | Kind::CParen | Kind::TemplateSeqEnd => -1,
        _ => 0,
    }
}

fn lines_for_format(src: &str, cells: &[Cell]) -> Vec<Line> {
    if cells.is_empty() {
        return Vec::new();
    }
    let count = 1 + cells.iter().filter(|c| is_newline(src, c)).count();
    let mut lines = vec![Line::default(); count];
    let mut li = 0;
    let mut line_start = 0;
    let mut ended = false;
    for (i, c) in cells.iter().enumerate() {
        if c.kind == Kind::Eof {
            lines[li].lead = line_start..i;
            ended = true;
            break;
        }
        if is_newline(src, c) {
            lines[li].lead = line_start..i + 1;
            line_start = i + 1;
            li += 1;
        }
    }
    if !ended && line_start < cells.len() {
        lines[li].lead = line_start..cells.len();
    }
    for line in &mut lines {
        let lead = line.lead.clone();
        if lead.is_empty() {
            continue;
        }
        if lead.len() > 1 && cells[lead.end - 1].kind == Kind::Comment {
            line.comment = Some(lead.end - 1..lead.end);
            line.lead = lead.start..lead.end - 1;
        }
        let lead = line.lead.clone();
        for i in lead.clone().skip(1) {
            if cells[i].kind == Kind::Equal {
                let net: i64 = cells[i..lead.end]
                    .iter()
                    .map(|c| bracket_change(c.kind))
                    .sum();
                if net == 0 {
                    line.assign = Some(i..lead.end);
                    line.lead = lead.start..i;
                }
                break;
            }
        }
    }
    lines
}

fn format_indent(cells: &mut [Cell], lines: &[Line]) {
    let mut indents: Vec<i64> = Vec::with_capacity(10);
    for line in lines {
        if line.lead.is_empty() {
            continue;
        }
        let first = line.lead.start;
        if cells[first].kind == Kind::Newline {
            cells[first].spaces = 0;
            continue;
        }
        let mut net = 0;
        for c in &cells[line.lead.clone()] {
            net += bracket_change(c.kind);
            if c.kind == Kind::OHeredoc {
                break;
            }
        }
        if let Some(assign) = &line.assign {
            net += cells[assign.clone()]
                .iter()
                .map(|c| bracket_change(c.kind))
                .sum::<i64>();
        }
        if net > 0 {
            cells[first].spaces = 2 * indents.len();
            indents.push(net);
        } else {
            if net < 0 {
                let mut closed = -net;
                while closed > 0 {
                    let Some(top) = indents.last_mut() else { break };
                    if closed > *top {
                        closed -= *top;
                        indents.pop();
                    } else if closed < *top {
                        *top -= closed;
                        closed = 0;
                    } else {
                        indents.pop();
                        closed = 0;
                    }
                }
            }
            cells[first].spaces = 2 * indents.len();
        }
    }
}

/// The kind of a token for [`space_after`], or `Nil` before the first.
fn kind_before(cells: &[Cell], range: &Range<usize>, i: usize) -> Kind {
    if i > range.start {
        cells[i - 1].kind
    } else {
        Kind::Nil
    }
}

fn format_spaces(src: &str, cells: &mut [Cell], lines: &[Line]) {
    for line in lines {
        let lead = line.lead.clone();
        for i in lead.clone() {
            if i + 1 >= lead.end {
                continue;
            }
            let before = kind_before(cells, &lead, i);
            let space = space_after(src, &cells[i], before, cells[i + 1].kind);
            cells[i + 1].spaces = usize::from(space);
        }
        if let Some(assign) = line.assign.clone() {
            for i in assign.clone() {
                if i == assign.start {
                    cells[i].spaces = 1;
                }
                if i + 1 >= assign.end {
                    continue;
                }
                let before = kind_before(cells, &assign, i);
                let space = space_after(src, &cells[i], before, cells[i + 1].kind);
                cells[i + 1].spaces = usize::from(space);
            }
        }
    }
}

/// hclwrite's `spaceAfterToken`: whether `subject` (after `before`) gets a space before `after`.
fn space_after(src: &str, subject: &Cell, before: Kind, after: Kind) -> bool {
    use Kind::*;
    let s = subject.kind;
    if after == Newline || after == Nil {
        return false;
    }
    if s == Ident && after == OParen {
        return false;
    }
    if s == Dot || after == Dot {
        return false;
    }
    if after == Comma || after == Ellipsis {
        return false;
    }
    if s == Comma {
        return true;
    }
    if matches!(s, QuotedLit | StringLit | OQuote | OHeredoc)
        || matches!(after, QuotedLit | StringLit | CQuote | CHeredoc)
    {
        return false;
    }
    if s == Ident && before == Ident && src.get(subject.start..subject.end) == Some("in") {
        return true;
    }
    if after == OBrack && (s == Ident || s == NumberLit || bracket_change(s) < 0) {
        return false;
    }
    if s == Bang {
        return false;
    }
    if s == Minus {
        return !matches!(
            before,
            Nil | OParen
                | OBrace
                | OBrack
                | Equal
                | Colon
                | Comma
                | Question
                | Plus
                | Star
                | Slash
                | Percent
                | Minus
                | EqualOp
                | NotEqual
                | GreaterThan
                | GreaterThanEq
                | LessThan
                | LessThanEq
                | And
                | Or
                | Bang
        );
    }
    if s == OBrace || after == CBrace {
        return !(s == OBrace && after == CBrace);
    }
    if matches!(s, TemplateInterp | TemplateControl) && after == OBrace {
        return true;
    }
    if s == CBrace && after == TemplateSeqEnd {
        return true;
    }
    if s == TemplateSeqEnd && matches!(after, TemplateInterp | TemplateControl) {
        return false;
    }
    if bracket_change(s) > 0 {
        return false;
    }
    if bracket_change(after) < 0 {
        return false;
    }
    true
}

/// hclwrite's `Tokens.Columns`: spaces plus grapheme clusters.
fn columns(src: &str, cells: &[Cell]) -> usize {
    cells
        .iter()
        .map(|c| {
            let text = src.get(c.start..c.end).unwrap_or("");
            let graphemes = if text.is_ascii() {
                // Only CR LF joins ASCII characters into one cluster.
                text.len() - memchr::memmem::find_iter(text.as_bytes(), b"\r\n").count()
            } else {
                text.graphemes(true).count()
            };
            c.spaces + graphemes
        })
        .sum()
}

fn format_cells(src: &str, cells: &mut [Cell], lines: &[Line]) {
    // `=` first: moving it moves the comment after it.
    let mut chain_start: Option<usize> = None;
    let mut max_columns = 0;
    let close_assign = |cells: &mut [Cell], chain: &[Line], max: usize| {
        for line in chain {
            let cols = columns(src, &cells[line.lead.clone()]);
            if let Some(assign) = &line.assign {
                cells[assign.start].spaces = max - cols + 1;
            }
        }
    };
    for (i, line) in lines.iter().enumerate() {
        match &line.assign {
            None => {
                if let Some(start) = chain_start.take() {
                    close_assign(cells, &lines[start..i], max_columns);
                    max_columns = 0;
                }
            }
            Some(_) => {
                chain_start.get_or_insert(i);
                max_columns = max_columns.max(columns(src, &cells[line.lead.clone()]));
            }
        }
    }
    if let Some(start) = chain_start.take() {
        close_assign(cells, &lines[start..], max_columns);
    }
    max_columns = 0;
    let line_columns = |cells: &[Cell], line: &Line| {
        columns(src, &cells[line.lead.clone()])
            + line
                .assign
                .as_ref()
                .map_or(0, |a| columns(src, &cells[a.clone()]))
    };
    let close_comment = |cells: &mut [Cell], chain: &[Line], max: usize| {
        for line in chain {
            let cols = line_columns(cells, line);
            if let Some(comment) = &line.comment {
                cells[comment.start].spaces = max - cols + 1;
            }
        }
    };
    for (i, line) in lines.iter().enumerate() {
        match &line.comment {
            None => {
                if let Some(start) = chain_start.take() {
                    close_comment(cells, &lines[start..i], max_columns);
                    max_columns = 0;
                }
            }
            Some(_) => {
                chain_start.get_or_insert(i);
                max_columns = max_columns.max(line_columns(cells, line));
            }
        }
    }
    if let Some(start) = chain_start.take() {
        close_comment(cells, &lines[start..], max_columns);
    }
}
