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
use crate::index::{FileId, ModId, ResourceId};
use crate::resolve::{Model, Resolver, Val};
use crate::syntax::{AttrKey, AttrValue, Reference};

/// Longest value label, in characters (a longer one ends with `…`).
pub const MAX_VALUE_CHARS: usize = 30;
/// Longest title label, in characters.
pub const MAX_TITLE_CHARS: usize = 48;

/// A hint's label and tooltip, or none.
type Label = Option<(String, String)>;

/// What a request may do to get a hint's value or title.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eval {
    /// Only what is at hand: literal titles, values and title fields computed already.
    /// Nothing is evaluated or waited for; the answer is `None` when anything in the range
    /// is not ready.
    Ready,
    /// Also evaluates what is missing (a variable or local on first need, a title's index
    /// field once, then remembered by the resolver).
    Compute,
}

/// A label not ready in [`Eval::Ready`].
struct NotReady;

/// The hints for the references of `file` that start in `start..end` (bytes).
///
/// Each distinct value and title is looked up and rendered once per request, however many
/// references in the range name it. With [`Eval::Ready`], `None` when a value or title is
/// not computed yet (the caller then asks again with [`Eval::Compute`], off the async
/// threads); with [`Eval::Compute`] always `Some`.
pub fn inlay_hints(
    model: &Model,
    resolver: &Resolver,
    file: FileId,
    lines: &Lines,
    (start, end): (u32, u32),
    kinds: InlayHintSettings,
    eval: Eval,
) -> Option<Vec<InlayHint>> {
    let mut out = Vec::new();
    if !kinds.titles && !kinds.values {
        return Some(out);
    }
    let index = &model.index;
    let Some(f) = index.file(file) else {
        return Some(out);
    };
    let fi = &f.index;
    let lo = fi.refs.partition_point(|r| r.span.start < start);
    let hi = fi.refs.partition_point(|r| r.span.start < end).max(lo);
    // Rendered once per request: by (is a variable, name), and by the resource titled.
    let mut values: HashMap<(bool, &str), Label> = HashMap::new();
    let mut titles: HashMap<ResourceId, Label> = HashMap::new();
    for r in &fi.refs[lo..hi] {
        if cancel::requested() {
            return Some(Vec::new());
        }
        let kind = fi.str(r.kind);
        let label = match kind {
            "var" | "local" if kinds.values && r.module.is_none() => {
                let is_var = kind == "var";
                let name = fi.str(r.name);
                match values.get(&(is_var, name)) {
                    Some(l) => l.clone(),
                    None => {
                        let l = value_of(model, f.module, is_var, name, eval).ok()?;
                        values.insert((is_var, name), l.clone());
                        l
                    }
                }
            }
            "var" | "local" | "param" | "self" | "with" | "input" => None,
            _ if kinds.titles && in_linking_attr(fi, r) => {
                let Some(target) = index.resolve_ref_first(file, r) else {
                    continue;
                };
                match titles.get(&target) {
                    Some(l) => l.clone(),
                    None => {
                        let l = title_label(model, resolver, target, eval).ok()?;
                        titles.insert(target, l.clone());
                        l
                    }
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
    Some(out)
}

/// The value hint of a variable (`is_var`) or local of `module`.
fn value_of(
    model: &Model,
    module: ModId,
    is_var: bool,
    name: &str,
    eval: Eval,
) -> Result<Label, NotReady> {
    let (values, index) = (&model.values, &model.index);
    let value = match (eval, is_var) {
        (Eval::Compute, true) => values
            .var(index, module, name)
            .and_then(|v| v.value.as_ref()),
        (Eval::Compute, false) => values
            .local(index, module, name)
            .and_then(|l| l.value.as_ref()),
        (Eval::Ready, true) => values
            .var_if_evaluated(module, name)
            .map_err(|()| NotReady)?
            .and_then(|v| v.value.as_ref()),
        (Eval::Ready, false) => values
            .local_if_evaluated(module, name)
            .map_err(|()| NotReady)?
            .and_then(|l| l.value.as_ref()),
    };
    Ok(value.map(value_label))
}

/// The title hint of `target` (its title on one line, shortened) and its tooltip (its
/// qualified name). A literal title is read from the index as it is; any other (a template,
/// a heredoc, one inherited through `base`) is the resolver's index field, evaluated once
/// and remembered. A label may not be empty (the protocol's rule): a blank title gives none.
fn title_label(
    model: &Model,
    resolver: &Resolver,
    target: ResourceId,
    eval: Eval,
) -> Result<Label, NotReady> {
    let index = &model.index;
    let literal = index.file(target.file).and_then(|tf| {
        let b = index.block(target)?;
        match tf.index.attr(b, AttrKey::Title)?.value() {
            AttrValue::Str(s) | AttrValue::Scalar(s) => Some(tf.index.str(s)),
            _ => None,
        }
    });
    let field = match (literal, eval) {
        (Some(t), _) => Some(FieldText::Text(t.to_string())),
        (None, Eval::Compute) => resolver.dump_field(model, target, AttrKey::Title),
        (None, Eval::Ready) => Some(
            resolver
                .dump_field_cached(target, AttrKey::Title)
                .ok_or(NotReady)?,
        ),
    };
    let text = match field {
        Some(FieldText::Text(t)) => one_line_short(&t, MAX_TITLE_CHARS),
        _ => return Ok(None),
    };
    if text.is_empty() {
        return Ok(None);
    }
    Ok(Some((
        text,
        index.qualified_name(target).unwrap_or_default(),
    )))
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

    /// The `lsp_workspace` fixture's model and resolver, nothing evaluated yet.
    fn fixture() -> (Model, Resolver) {
        use crate::resolve::{Sources, ValueInputs};
        use std::sync::Arc;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lsp_workspace");
        let ws = crate::workspace::discover(&dir).expect("a workspace");
        let (index, _) = crate::workspace::load(&ws);
        let sources: Arc<dyn Sources> =
            Arc::new(crate::workspace::DiskSources::new(ws.root.clone(), 1 << 20));
        let resolver = Resolver::new(sources.clone(), crate::cache::Limits::default());
        (
            Model::new(index, &sources, &ValueInputs::default()),
            resolver,
        )
    }

    fn hints_of(
        (model, resolver): &(Model, Resolver),
        rel: &str,
        eval: Eval,
    ) -> Option<serde_json::Value> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/lsp_workspace");
        let text = std::fs::read(dir.join(rel)).expect("fixture file");
        let lines = Lines::new(text.into());
        let file = model.index.file_by_path(rel).expect("indexed");
        let all = (0, u32::MAX);
        let kinds = InlayHintSettings {
            titles: true,
            values: true,
        };
        inlay_hints(model, resolver, file, &lines, all, kinds, eval)
            .map(|h| serde_json::to_value(h).expect("hints serialise"))
    }

    #[test]
    fn hints_at_hand_evaluate_nothing_and_match_the_computed_ones_once_ready() {
        let m = fixture();
        let (model, _) = &m;
        let module = model
            .index
            .file_by_path("controls.pp")
            .map(|f| model.index.file(f).expect("the file").module);
        let module = module.expect("indexed");
        // controls.pp names var.region and local.s3_tags, and titles behind `query =`.
        assert!(model.values.var_if_evaluated(module, "region").is_err());
        assert_eq!(hints_of(&m, "controls.pp", Eval::Ready), None);
        // Asking for what is at hand evaluated nothing.
        assert!(model.values.var_if_evaluated(module, "region").is_err());
        assert!(model.values.local_if_evaluated(module, "s3_tags").is_err());
        for rel in ["benchmarks.pp", "controls.pp", "dashboards.pp", "locals.pp"] {
            let computed = hints_of(&m, rel, Eval::Compute).expect("computed hints");
            assert!(computed.as_array().is_some_and(|a| !a.is_empty()), "{rel}");
            assert_eq!(hints_of(&m, rel, Eval::Ready), Some(computed), "{rel}");
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
