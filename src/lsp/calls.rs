//! Call hierarchy: benchmark → children → controls → queries, and back.
//!
//! A resource "calls" what it uses: the references written in its own attributes
//! (`children`, `query`, `base`, `args`, ...) that name another resource, and the resources
//! nested in it (a dashboard's containers, cards, inputs). Its callers are the resources
//! whose attributes name it (the index's reverse references), and for a nested resource,
//! the block it is nested in. Variables and locals are values, not calls: they are left
//! out. Everything comes from the index; nothing is resolved.
//!
//! An item's `data` holds its qualified name: the server finds the resource again at the
//! item's position when it still bears that name, else by the name.

use std::collections::HashMap;

use serde_json::json;
use tower_lsp_server::ls_types::{CallHierarchyItem, Range, SymbolKind, Uri};

use super::analysis::{self, Target};
use super::cancel;
use super::features::symbol_kind;
use super::{DocUris, Texts};
use crate::index::{FileId, Index, ResourceId};
use crate::resolve::{Model, Resolver};
use crate::syntax::{BlockRole, FileIndex, Reference, Span};

/// A resource with the spans (in one file) where a call to or from it is written.
pub type Call = (ResourceId, Vec<(FileId, Span)>);

/// True when a block takes part in the hierarchy: a resource (not the mod, a variable or a
/// local).
pub fn callable(index: &Index, id: ResourceId) -> bool {
    index
        .block(id)
        .is_some_and(|b| b.role == BlockRole::Resource)
        && !matches!(index.kind_of(id), Some("mod" | "variable") | None)
}

/// The resource at byte `offset` of `file` (its header, or a reference to it).
pub fn at(index: &Index, file: FileId, offset: u32) -> Option<ResourceId> {
    match analysis::at(index, file, offset)?.target? {
        Target::Resource(id) if callable(index, id) => Some(id),
        _ => None,
    }
}

/// What `id` calls, in source order: each resource once, with every span naming it.
pub fn outgoing(index: &Index, id: ResourceId) -> Vec<Call> {
    let mut out: Vec<Call> = Vec::new();
    let mut slot: HashMap<ResourceId, usize> = HashMap::new();
    let mut add = |to: ResourceId, span: Span, out: &mut Vec<Call>| match slot.get(&to) {
        Some(&i) => out[i].1.push((id.file, span)),
        None => {
            slot.insert(to, out.len());
            out.push((to, vec![(id.file, span)]));
        }
    };
    let Some(f) = index.file(id.file) else {
        return out;
    };
    let fi = &f.index;
    // Its own references and its nested resources, merged in source order.
    let mut found: Vec<(Span, ResourceId)> = fi
        .refs_of(id.block)
        .filter_map(|r| {
            let to = callee(index, id.file, r)?;
            (to != id).then_some((r.span, to))
        })
        .collect();
    found.extend(
        fi.child_blocks(id.block)
            .filter_map(|c| {
                let child = ResourceId {
                    file: id.file,
                    block: c,
                };
                let span = fi.block(c)?.name_span();
                callable(index, child).then_some((span, child))
            })
            .collect::<Vec<_>>(),
    );
    found.sort_by_key(|(s, _)| s.start);
    for (span, to) in found {
        add(to, span, &mut out);
    }
    out
}

/// What a reference names, when that takes part in the hierarchy.
fn callee(index: &Index, file: FileId, r: &Reference) -> Option<ResourceId> {
    match analysis::ref_target(index, file, r)? {
        Target::Resource(to) if callable(index, to) => Some(to),
        _ => None,
    }
}

/// What calls `id`: each caller once, with the spans (in the caller's file) naming `id`.
pub fn incoming(index: &Index, id: ResourceId) -> Vec<Call> {
    let mut out: Vec<Call> = Vec::new();
    let mut slot: HashMap<ResourceId, usize> = HashMap::new();
    let mut add = |from: ResourceId, at: (FileId, Span), out: &mut Vec<Call>| match slot.get(&from)
    {
        Some(&i) => out[i].1.push(at),
        None => {
            slot.insert(from, out.len());
            out.push((from, vec![at]));
        }
    };
    let Some(f) = index.file(id.file) else {
        return out;
    };
    let fi = &f.index;
    let Some(b) = fi.block(id.block) else {
        return out;
    };
    if b.parent.is_some() {
        // Nested: the block it is in, and the references to it in the same top-level block.
        if let Some(parent) = caller_of(fi, b.parent) {
            add(
                ResourceId {
                    file: id.file,
                    block: parent,
                },
                (id.file, b.name_span()),
                &mut out,
            );
        }
        let Some(top) = analysis::top_block(fi, id.block).and_then(|t| fi.block(t)) else {
            return out;
        };
        let (start, end) = (top.start.byte, top.end.byte);
        let lo = fi.refs.partition_point(|r| r.span.start < start);
        for r in fi.refs[lo..].iter().take_while(|r| r.span.start < end) {
            if analysis::ref_target(index, id.file, r) == Some(Target::Resource(id))
                && let Some(from) = caller_of(fi, r.block())
            {
                add(
                    ResourceId {
                        file: id.file,
                        block: from,
                    },
                    (id.file, r.span),
                    &mut out,
                );
            }
        }
        return out;
    }
    for rid in index.referrers(id) {
        if cancel::requested() {
            return Vec::new();
        }
        let Some(rf) = index.file(rid.file) else {
            continue;
        };
        let Some(r) = rf.index.refs.get(rid.index as usize) else {
            continue;
        };
        if let Some(from) = caller_of(&rf.index, r.block()) {
            add(
                ResourceId {
                    file: rid.file,
                    block: from,
                },
                (rid.file, r.span),
                &mut out,
            );
        }
    }
    out
}

/// The resource (or local) a block belongs to: itself, or the nearest enclosing one (a
/// `param` belongs to its query, a `locals` attribute is its own local).
fn caller_of(
    fi: &FileIndex,
    mut block: Option<crate::syntax::BlockId>,
) -> Option<crate::syntax::BlockId> {
    while let Some(b) = block {
        let blk = fi.block(b)?;
        match blk.role {
            BlockRole::Resource | BlockRole::Local => return Some(b),
            _ => block = blk.parent,
        }
    }
    None
}

/// The protocol's item for a resource.
pub(super) fn item(
    model: &Model,
    resolver: &Resolver,
    texts: &mut Texts<'_>,
    uris: &DocUris,
    id: ResourceId,
) -> Option<CallHierarchyItem> {
    let index = &model.index;
    let f = index.file(id.file)?;
    let b = f.index.block(id.block)?;
    let qualified = index.qualified_name(id)?;
    let uri: Uri = uris.uri(texts.project, &f.path)?;
    let lines = texts.get(&f.path)?;
    let range = lines.range(b.start.byte as usize, b.end.byte as usize);
    let ns = b.name_span();
    let selection_range = lines.range(ns.start as usize, ns.end as usize);
    let kind: SymbolKind = symbol_kind(f.index.str(b.kind), b.role);
    let detail = match resolver.dump_field(model, id, crate::syntax::AttrKey::Title) {
        Some(crate::index::dump::FieldText::Text(t)) => {
            Some(super::hints::shorten(&t, super::hints::MAX_TITLE_CHARS * 2))
        }
        _ => None,
    };
    // `type.name`; a dependency's resources with their mod's name in front.
    let dependency = index.module(f.module).is_some_and(|m| m.dependency);
    let name = if dependency {
        qualified.clone()
    } else {
        format!(
            "{}.{}",
            crate::index::reference_kind(f.index.str(b.kind)),
            f.index.block_name(id.block)
        )
    };
    Some(CallHierarchyItem {
        name,
        kind,
        tags: None,
        detail,
        uri,
        range,
        selection_range,
        data: Some(json!({ "name": qualified })),
    })
}

/// The ranges of spans in one file, for `from_ranges`.
pub(super) fn ranges(model: &Model, texts: &mut Texts<'_>, spans: &[(FileId, Span)]) -> Vec<Range> {
    spans
        .iter()
        .filter_map(|&(file, s)| {
            let path = model.index.file(file)?.path.clone();
            let lines = texts.get(&path)?;
            Some(lines.range(s.start as usize, s.end as usize))
        })
        .collect()
}

/// The resource an item names: at its position if the resource there still bears the name
/// in its `data`, else the resource of that name.
pub fn find(
    index: &Index,
    file: Option<FileId>,
    offset: Option<u32>,
    name: &str,
) -> Option<ResourceId> {
    if let (Some(file), Some(offset)) = (file, offset)
        && let Some(id) = at(index, file, offset)
        && index.qualified_name(id).as_deref() == Some(name)
    {
        return Some(id);
    }
    index
        .lookup_qualified(name)
        .filter(|id| callable(index, *id))
}
