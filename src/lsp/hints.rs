//! Inlay hints: the title of the resource a `children`, `query` or `base` reference names,
//! and the evaluated value of `var.x` / `local.x`, shown after the reference.
//!
//! Served from the index and the values alone: titles are the index's (a literal, or the
//! title expression evaluated once from its span and remembered), values the variables' and
//! locals' as the hover shows them. Nothing here asks the scheduler for a resolve, so a
//! hint request never waits for one. Only references inside the requested byte range are
//! looked at.

use std::collections::HashMap;

use tower_lsp_server::ls_types::{InlayHint, InlayHintLabel, InlayHintTooltip};

use super::cancel;
use super::settings::InlayHintSettings;
use super::text::Lines;
use crate::index::dump::FieldText;
use crate::index::{FileId, ResourceId};
use crate::resolve::{Model, Resolver, Val};
use crate::syntax::{AttrKey, AttrValue, Reference};

/// Longest value label, in characters (a longer one ends with `…`).
pub const MAX_VALUE_CHARS: usize = 30;
/// Longest title label, in characters.
pub const MAX_TITLE_CHARS: usize = 48;

/// A hint's label and tooltip, or none.
type Label = Option<(String, String)>;

/// The hints for the references of `file` that start in `start..end` (bytes).
///
/// Each distinct value and title is looked up and rendered once per request, however many
/// references in the range name it.
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
    // Rendered once per request: by (is a variable, name), and by the resource titled.
    let mut values: HashMap<(bool, &str), Label> = HashMap::new();
    let mut titles: HashMap<ResourceId, Label> = HashMap::new();
    for r in &fi.refs[lo..hi] {
        if cancel::requested() {
            return Vec::new();
        }
        let kind = fi.str(r.kind);
        let label = match kind {
            "var" | "local" if kinds.values && r.module.is_none() => {
                let is_var = kind == "var";
                let name = fi.str(r.name);
                values
                    .entry((is_var, name))
                    .or_insert_with(|| {
                        let value = if is_var {
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
                    })
                    .clone()
            }
            "var" | "local" | "param" | "self" | "with" | "input" => None,
            _ if kinds.titles && in_linking_attr(fi, r) => {
                let Some(target) = index.resolve_ref_first(file, r) else {
                    continue;
                };
                titles
                    .entry(target)
                    .or_insert_with(|| title_label(model, resolver, target))
                    .clone()
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

/// The title hint of `target` (its title on one line, shortened) and its tooltip (its
/// qualified name). A literal title is read from the index as it is; any other (a template,
/// a heredoc, one inherited through `base`) is the resolver's index field, evaluated once
/// and remembered. A label may not be empty (the protocol's rule): a blank title gives none.
fn title_label(model: &Model, resolver: &Resolver, target: ResourceId) -> Label {
    let index = &model.index;
    let literal = index.file(target.file).and_then(|tf| {
        let b = index.block(target)?;
        match tf.index.attr(b, AttrKey::Title)?.value() {
            AttrValue::Str(s) | AttrValue::Scalar(s) => Some(tf.index.str(s)),
            _ => None,
        }
    });
    let text = match literal {
        Some(t) => one_line_short(t, MAX_TITLE_CHARS),
        None => match resolver.dump_field(model, target, AttrKey::Title) {
            Some(FieldText::Text(t)) => one_line_short(&t, MAX_TITLE_CHARS),
            _ => return None,
        },
    };
    if text.is_empty() {
        return None;
    }
    Some((text, index.qualified_name(target).unwrap_or_default()))
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
        format!("= {}", one_line_short(&text, MAX_VALUE_CHARS)),
        text,
    )
}

/// `s` on one line (every run of blanks and line ends made one space, none at either end),
/// cut to at most `max` characters, the last one `…` when cut. Only the start of `s` that
/// the label shows is read (a long value's text is not copied whole to be cut).
fn one_line_short(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut chars = 0usize;
    for word in s.split_whitespace() {
        if chars > 0 {
            out.push(' ');
            chars += 1;
        }
        for c in word.chars() {
            out.push(c);
            chars += 1;
            // One past the limit is enough to know it is cut.
            if chars > max {
                return shorten(&out, max);
            }
        }
    }
    out
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
    fn a_label_is_the_text_on_one_line_cut_where_the_whole_text_would_be() {
        // What the label was before it read only the start: the whole text on one line, cut.
        let whole =
            |s: &str, max: usize| shorten(&s.split_whitespace().collect::<Vec<_>>().join(" "), max);
        for s in [
            "",
            "   ",
            "abc",
            "  a\n  b\t c  ",
            "exactly ten",
            "0123456789",
            "0123456789 ",
            "01234 6789x",
            "ééé ééé ééé ééé",
            "a very long title that goes on and on past any limit at all",
        ] {
            for max in [1, 3, 9, 10, 11, 30] {
                assert_eq!(one_line_short(s, max), whole(s, max), "{s:?} {max}");
            }
        }
    }

    #[test]
    fn a_value_label_is_one_line() {
        let (label, tooltip) = value_label(&Val::str("a\n  b"));
        assert!(!label.contains('\n'), "{label}");
        assert!(label.starts_with("= "), "{label}");
        assert!(tooltip.contains('a'));
    }
}
