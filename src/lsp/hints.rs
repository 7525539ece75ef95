//! Inlay hints: the title of the resource a `children`, `query` or `base` reference names,
//! and the evaluated value of `var.x` / `local.x`, shown after the reference.
//!
//! Served from the index and the values alone: titles are the index's (a literal, or the
//! title expression evaluated once from its span and remembered), values the variables' and
//! locals' as the hover shows them. Nothing here asks the scheduler for a resolve, so a
//! hint request never waits for one. Only references inside the requested byte range are
//! looked at.

use tower_lsp_server::ls_types::{InlayHint, InlayHintLabel, InlayHintTooltip};

use super::cancel;
use super::settings::InlayHintSettings;
use super::text::Lines;
use crate::index::FileId;
use crate::index::dump::FieldText;
use crate::resolve::{Model, Resolver, Val};
use crate::syntax::{AttrKey, Reference};

/// Longest value label, in characters (a longer one ends with `…`).
pub const MAX_VALUE_CHARS: usize = 30;
/// Longest title label, in characters.
pub const MAX_TITLE_CHARS: usize = 48;

/// The hints for the references of `file` that start in `start..end` (bytes).
pub fn inlay_hints(
    model: &Model,
    resolver: &Resolver,
    file: FileId,
    lines: &Lines,
    (start, end): (u32, u32),
    kinds: InlayHintSettings,
) -> Vec<InlayHint> {
    let mut out = Vec::new();
    if !kinds.titles && !kinds.values {
        return out;
    }
    let index = &model.index;
    let Some(f) = index.file(file) else {
        return out;
    };
    let fi = &f.index;
    let lo = fi.refs.partition_point(|r| r.span.start < start);
    let hi = fi.refs.partition_point(|r| r.span.start < end).max(lo);
    for r in &fi.refs[lo..hi] {
        if cancel::requested() {
            return Vec::new();
        }
        let kind = fi.str(r.kind);
        let label = match kind {
            "var" | "local" if kinds.values && r.module.is_none() => {
                let name = fi.str(r.name);
                let value = if kind == "var" {
                    model
                        .values
                        .var(index, f.module, name)
                        .and_then(|v| v.value.as_ref())
                } else {
                    model
                        .values
                        .local(index, f.module, name)
                        .and_then(|l| l.value.as_ref())
                };
                value.map(value_label)
            }
            "var" | "local" | "param" | "self" | "with" | "input" => None,
            _ if kinds.titles && in_linking_attr(fi, r) => {
                let Some(target) = index.resolve_ref_first(file, r) else {
                    continue;
                };
                match resolver.dump_field(model, target, AttrKey::Title) {
                    // A label may not be empty (the protocol's rule).
                    Some(FieldText::Text(t)) if !t.trim().is_empty() => Some((
                        shorten(&one_line(&t), MAX_TITLE_CHARS),
                        index.qualified_name(target).unwrap_or_default(),
                    )),
                    _ => None,
                }
            }
            _ => None,
        };
        let Some((label, tooltip)) = label else {
            continue;
        };
        out.push(InlayHint {
            position: lines.position(r.span.end as usize),
            label: InlayHintLabel::String(label),
            kind: None,
            text_edits: None,
            tooltip: Some(InlayHintTooltip::String(tooltip)),
            padding_left: Some(true),
            padding_right: None,
            data: None,
        });
    }
    out
}

/// True when the reference is written in its block's `children`, `query` or `base`.
fn in_linking_attr(fi: &crate::syntax::FileIndex, r: &Reference) -> bool {
    let Some(b) = r.block().and_then(|b| fi.block(b)) else {
        return false;
    };
    fi.attrs_of(b).iter().any(|a| {
        matches!(a.key, AttrKey::Children | AttrKey::Query | AttrKey::Base)
            && a.span.start <= r.span.start
            && r.span.end <= a.span.end
    })
}

/// A value's label (`= "eu-west-1"`, on one line, shortened) and its tooltip (the whole
/// value).
fn value_label(v: &Val) -> (String, String) {
    let text = v.to_hcl_text();
    (
        format!("= {}", shorten(&one_line(&text), MAX_VALUE_CHARS)),
        text,
    )
}

/// `s` on one line: every run of blanks and line ends made one space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `s` cut to at most `max` characters, the last one `…` when cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortening_keeps_short_text_and_cuts_long_text_with_an_ellipsis() {
        assert_eq!(shorten("abc", 3), "abc");
        assert_eq!(shorten("abcd", 3), "ab…");
        assert_eq!(shorten("ééééé", 4).chars().count(), 4);
    }

    #[test]
    fn a_value_label_is_one_line() {
        let (label, tooltip) = value_label(&Val::str("a\n  b"));
        assert!(!label.contains('\n'), "{label}");
        assert!(label.starts_with("= "), "{label}");
        assert!(tooltip.contains('a'));
    }
}
