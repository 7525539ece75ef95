//! What is at a position, and where the things it names are: the index-only questions the
//! navigation features ask (hover, definition, references, highlight, rename).
//!
//! Everything here is in byte offsets of one file; [`super::text`] converts.

use crate::index::{FileId, Index, ModId, ResourceId};
use crate::syntax::{Block, BlockId, BlockRole, FileIndex, Reference, Span};

/// What a name under the cursor means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// A resource, variable or local (a block of the index).
    Resource(ResourceId),
    /// A block that belongs to its resource: a `param`, or a nested `input`/`with` named by
    /// `param.x`, `self.input.x`, `with.x`.
    Member(ResourceId),
    /// A mod (the dependency name in `dep.query.x`, or a `mod` block).
    Mod(ModId),
}

impl Target {
    /// The block, for the targets that have one.
    pub fn block(self) -> Option<ResourceId> {
        match self {
            Target::Resource(id) | Target::Member(id) => Some(id),
            Target::Mod(_) => None,
        }
    }
}

/// A name found under the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The bytes of the name itself (the last segment of a reference, a label's text).
    pub span: Span,
    /// What it names, if anything.
    pub target: Option<Target>,
    /// The reference's index in the file's references, when the hit is a reference.
    pub reference: Option<u32>,
    /// True when the hit is the declaration (a block's label or type, a local's name).
    pub declaration: bool,
}

/// The name segment of a reference: the end of its span, as long as its name.
pub fn name_span(fi: &FileIndex, r: &Reference) -> Span {
    let len = fi.str(r.name).len() as u32;
    Span {
        start: r.span.end.saturating_sub(len).max(r.span.start),
        end: r.span.end,
    }
}

/// The span of the first segment of a cross-mod reference (`dep` in `dep.query.x`).
fn module_span(fi: &FileIndex, r: &Reference) -> Option<Span> {
    let m = r.module?;
    let len = fi.str(m).len() as u32;
    Some(Span {
        start: r.span.start,
        end: r.span.start.saturating_add(len),
    })
}

/// What is at byte `offset` of `file`: a reference (innermost), else a block's header (its
/// type or label; the deepest block wins), else nothing. A cursor just after a name counts
/// as on it.
pub fn at(index: &Index, file: FileId, offset: u32) -> Option<Hit> {
    let f = index.file(file)?;
    let fi = &f.index;
    // References are in source order: the last one starting at or before the cursor.
    let upto = fi.refs.partition_point(|r| r.span.start <= offset);
    for i in (0..upto).rev() {
        let r = &fi.refs[i];
        if r.span.end < offset {
            // Earlier references end earlier still, unless nested (templates); look a few
            // back for an enclosing one.
            if upto - i > 8 {
                break;
            }
            continue;
        }
        if let Some(ms) = module_span(fi, r)
            && ms.start <= offset
            && offset <= ms.end
        {
            let target = index
                .mod_for_prefix(f.module, fi.str(r.module.unwrap_or(r.name)))
                .map(Target::Mod);
            return Some(Hit {
                span: ms,
                target,
                reference: Some(i as u32),
                declaration: false,
            });
        }
        return Some(Hit {
            span: name_span(fi, r),
            target: ref_target(index, file, r),
            reference: Some(i as u32),
            declaration: false,
        });
    }
    let mut best: Option<(BlockId, &Block)> = None;
    for (i, b) in fi.blocks.iter().enumerate() {
        if b.start.byte > offset {
            break;
        }
        let ns = b.name_span();
        let header_end = ns.end.max(b.start.byte + fi.str(b.kind).len() as u32);
        if offset <= header_end && offset >= b.start.byte && b.role != BlockRole::Locals {
            best = Some((BlockId::new(i), b));
        }
    }
    let (id, b) = best?;
    let rid = ResourceId { file, block: id };
    let target = match b.role {
        BlockRole::Resource | BlockRole::Local => {
            if fi.str(b.kind) == "mod" && b.parent.is_none() {
                index.mod_of_file(file).map(Target::Mod)
            } else {
                Some(Target::Resource(rid))
            }
        }
        BlockRole::Member if !b.anonymous => Some(Target::Member(rid)),
        _ => None,
    };
    Some(Hit {
        span: b.name_span(),
        target,
        reference: None,
        declaration: true,
    })
}

/// What a reference names: a resource, variable or local through the index; `param.x`,
/// `self.input.x` and `with.x` among the blocks of the resource that holds it.
pub fn ref_target(index: &Index, file: FileId, r: &Reference) -> Option<Target> {
    let f = index.file(file)?;
    let fi = &f.index;
    let kind = fi.str(r.kind);
    match kind {
        "param" | "input" | "with" if r.module.is_none() => {
            let owner = r.block()?;
            let name = fi.str(r.name);
            member_in_scope(fi, owner, kind, name, r.scoped() || kind != "param")
                .map(|block| {
                    let id = ResourceId { file, block };
                    // A nested input or with is a resource of its own; a param is not.
                    match fi.block(block).map(|b| b.role) {
                        Some(BlockRole::Resource) => Target::Resource(id),
                        _ => Target::Member(id),
                    }
                })
                .or_else(|| {
                    // `with.x` / `input.x` may also be a mod-level resource.
                    index.resolve_ref_first(file, r).map(Target::Resource)
                })
        }
        _ => index.resolve_ref_first(file, r).map(Target::Resource),
    }
}

/// The block of kind `kind` named `name` visible from `owner`: among the children of
/// `owner` and of each enclosing block (the nearest wins); with `whole_tree`, anywhere under
/// the top-level block (an input is visible from every block of its dashboard).
fn member_in_scope(
    fi: &FileIndex,
    owner: BlockId,
    kind: &str,
    name: &str,
    whole_tree: bool,
) -> Option<BlockId> {
    let matches = |id: BlockId| {
        fi.block(id)
            .is_some_and(|b| fi.str(b.kind) == kind && fi.str(b.name) == name && !b.anonymous)
    };
    let mut cur = Some(owner);
    let mut top = owner;
    while let Some(c) = cur {
        if let Some(found) = fi.child_blocks(c).find(|id| matches(*id)) {
            return Some(found);
        }
        top = c;
        cur = fi.block(c).and_then(|b| b.parent);
    }
    if !whole_tree {
        return None;
    }
    let tb = fi.block(top)?;
    let end = tb.end.byte;
    (top.index() + 1..fi.blocks.len())
        .map(BlockId::new)
        .take_while(|id| fi.block(*id).is_some_and(|b| b.start.byte < end))
        .find(|id| matches(*id))
}

/// Where a target is declared: its file and the span of its name.
pub fn declaration(index: &Index, target: Target) -> Option<(FileId, Span)> {
    match target {
        Target::Resource(id) | Target::Member(id) => Some((id.file, index.block(id)?.name_span())),
        Target::Mod(m) => {
            let (file, b) = mod_block(index, m)?;
            Some((file, b.name_span()))
        }
    }
}

/// The `mod` block of a mod.
pub fn mod_block(index: &Index, m: ModId) -> Option<(FileId, &Block)> {
    index
        .files()
        .filter(|(_, f)| f.module == m)
        .find_map(|(id, f)| {
            f.index
                .blocks
                .iter()
                .find(|b| b.parent.is_none() && f.index.str(b.kind) == "mod")
                .map(|b| (id, b))
        })
}

/// Every reference to a target: `(file, span of the name)`, in file then source order.
pub fn references(index: &Index, target: Target) -> Vec<(FileId, Span)> {
    let nested = target
        .block()
        .and_then(|id| index.block(id))
        .is_some_and(|b| b.parent.is_some() && b.role != BlockRole::Local);
    match target {
        Target::Resource(id) if !nested => index
            .referrers(id)
            .into_iter()
            .filter_map(|r| {
                let f = index.file(r.file)?;
                let reference = f.index.refs.get(r.index as usize)?;
                Some((r.file, name_span(&f.index, reference)))
            })
            .collect(),
        Target::Resource(id) | Target::Member(id) => {
            // A nested block: the references in the same top-level block that name it.
            let Some(f) = index.file(id.file) else {
                return Vec::new();
            };
            let fi = &f.index;
            let Some(top) = top_block(fi, id.block) else {
                return Vec::new();
            };
            let Some(tb) = fi.block(top) else {
                return Vec::new();
            };
            let (start, end) = (tb.start.byte, tb.end.byte);
            fi.refs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.span.start >= start && r.span.end <= end)
                .filter(|(_, r)| ref_target(index, id.file, r).and_then(Target::block) == Some(id))
                .map(|(_, r)| (id.file, name_span(fi, r)))
                .collect()
        }
        Target::Mod(m) => {
            let Some(name) = index.module(m).map(|x| x.name.clone()) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for (id, f) in index.files() {
                for r in &f.index.refs {
                    if r.module.is_some_and(|s| f.index.str(s) == name)
                        && let Some(ms) = module_span(&f.index, r)
                    {
                        out.push((id, ms));
                    }
                }
            }
            out
        }
    }
}

/// The top-level block holding `id`.
pub fn top_block(fi: &FileIndex, mut id: BlockId) -> Option<BlockId> {
    let mut guard = 0;
    while let Some(p) = fi.block(id)?.parent {
        id = p;
        guard += 1;
        if guard > 100_000 {
            return None;
        }
    }
    Some(id)
}

/// The innermost block containing `offset` (between its start and its end), if any.
pub fn enclosing_block(fi: &FileIndex, offset: u32) -> Option<BlockId> {
    let mut best = None;
    for (i, b) in fi.blocks.iter().enumerate() {
        if b.start.byte > offset {
            break;
        }
        if offset < b.end.byte || (b.end.byte == b.start.byte && offset >= b.start.byte) {
            best = Some(BlockId::new(i));
        }
    }
    best
}

/// The controls (or detections) under a benchmark, through its children (each counted once,
/// cycles cut).
pub fn controls_below(index: &Index, id: ResourceId) -> usize {
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![id];
    let mut controls = 0;
    while let Some(cur) = stack.pop() {
        if !seen.insert(cur) {
            continue;
        }
        for c in index.child_ids(cur) {
            match index.kind_of(c) {
                Some("control" | "detection") if seen.insert(c) => controls += 1,
                Some("benchmark" | "detection_benchmark") => stack.push(c),
                _ => {}
            }
        }
    }
    controls
}

/// True for a name Powerpipe accepts as a resource name (HCL identifier).
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
