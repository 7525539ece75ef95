//! Scanning: one file's bytes in, one [`FileIndex`] out.
//!
//! Owns the logos lexer ([`lexer`]), the brace-depth state machine ([`scanner`]) and the
//! compact per-file data it produces: every block at any depth with its span, its interesting
//! attributes (title, description, tags, children, base, sql, query, ...), every traversal
//! reference and every syntax diagnostic.
//!
//! Architecture invariant: this module does no I/O, never fails and never panics, whatever the
//! bytes. A user's mistake is a [`Diagnostic`] in the result, not an `Err`. It knows nothing
//! about other files, mods or the file system; naming across files is the index's job.

pub mod lexer;
mod scanner;
mod strings;
mod text;

pub use scanner::scan;
pub use text::{LineIndex, decode_heredoc, decode_literal, decode_string_literal};

pub use scanner::{Scratch, scan_with, scan_work};
pub use strings::{StrBuilder, StrTable, Sym};

/// A half-open byte range `[start, end)` in one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
}

impl Span {
    /// The span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: clamp_u32(start),
            end: clamp_u32(end),
        }
    }

    /// The byte range, for slicing the source.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Length in bytes.
    pub fn len(self) -> u32 {
        self.end.saturating_sub(self.start)
    }

    /// True when the span covers no byte.
    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }
}

/// Files larger than 4 GiB are refused by the workspace, so offsets fit in `u32`; clamping
/// keeps this total instead of panicking if that guard is ever bypassed.
fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A position: 1-based line, 1-based column counted in characters, 0-based byte offset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in Unicode scalar values (a tab counts as one).
    pub column: u32,
    /// 0-based byte offset.
    pub byte: u32,
}

/// An index into [`FileIndex::blocks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockId(std::num::NonZeroU32);

impl BlockId {
    /// The id of the block at `index` in [`FileIndex::blocks`] (saturating past `u32`).
    pub fn new(index: usize) -> BlockId {
        let n = u32::try_from(index).unwrap_or(u32::MAX - 1);
        BlockId(std::num::NonZeroU32::MIN.saturating_add(n))
    }

    /// The position in [`FileIndex::blocks`].
    pub fn index(self) -> usize {
        self.0.get() as usize - 1
    }
}

/// A range of indexes into one of the side tables of a [`FileIndex`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct IdxRange {
    /// First index.
    pub start: u32,
    /// One past the last index.
    pub end: u32,
}

impl IdxRange {
    /// The range as `usize`s, for slicing a side table.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// Number of entries.
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    /// True when the range holds nothing.
    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }
}

/// What a block is to Powerpipe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockRole {
    /// A named resource (top-level labelled block, or a nested dashboard component).
    Resource,
    /// One attribute of a `locals` block (`local.NAME`), indexed as its own entry.
    Local,
    /// A `locals { }` container: not a resource; its attributes are [`BlockRole::Local`]s.
    Locals,
    /// A block that belongs to its parent and is not a resource (`param`, `option`, `column`,
    /// `series`, `require`, ...), or a top-level block Powerpipe cannot name (no label).
    Member,
}

/// One block at any depth, in source (pre-)order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The block type (`control`, `card`, `param`, `local`, ...).
    pub kind: Sym,
    /// The label (labels joined with `.` when there are several), the attribute name for a
    /// local, the type itself for an unlabelled member block, or for an unlabelled nested
    /// resource `TYPE_N`, the last part of its Powerpipe name (see
    /// [`FileIndex::block_name`] for the whole name).
    pub name: Sym,
    /// What the block is to Powerpipe.
    pub role: BlockRole,
    /// True when the block has no label: its name was generated (a nested resource) or is
    /// its type (a member or `locals` block).
    pub anonymous: bool,
    /// The enclosing block, if any.
    pub parent: Option<BlockId>,
    /// Start of the block type identifier.
    pub start: Pos,
    /// One past the closing `}` (or where recovery ended the block).
    pub end: Pos,
    /// The label's offset from `start` and its length (the type identifier's when
    /// anonymous); see [`Block::name_span`].
    label: (u16, u16),
    /// This block's attributes: the first index in [`FileIndex::attrs`] and how many.
    attrs_start: u32,
    attrs_len: u8,
}

impl Block {
    /// A block with no attributes yet; `name_span` is where go-to-definition lands.
    pub fn new(
        kind: Sym,
        name: Sym,
        role: BlockRole,
        anonymous: bool,
        parent: Option<BlockId>,
        start: Pos,
        name_span: Span,
    ) -> Block {
        // Labels sit on the header line, a few bytes after the type: offsets and lengths
        // beyond 64 KiB are clamped rather than stored wide for every block.
        let offset = name_span.start.saturating_sub(start.byte);
        Block {
            kind,
            name,
            role,
            anonymous,
            parent,
            start,
            end: start,
            label: (
                u16::try_from(offset).unwrap_or(u16::MAX),
                u16::try_from(name_span.len()).unwrap_or(u16::MAX),
            ),
            attrs_start: 0,
            attrs_len: 0,
        }
    }

    /// The label's span (the type identifier's span when anonymous).
    pub fn name_span(&self) -> Span {
        let start = self.start.byte.saturating_add(u32::from(self.label.0));
        Span {
            start,
            end: start.saturating_add(u32::from(self.label.1)),
        }
    }

    /// This block's attributes, as a range of [`FileIndex::attrs`].
    pub fn attrs(&self) -> IdxRange {
        IdxRange {
            start: self.attrs_start,
            end: self.attrs_start + u32::from(self.attrs_len),
        }
    }

    /// Records where this block's attributes are (at most 255: the scanner records each
    /// key once per block, and there are fewer than 255 keys).
    pub(crate) fn set_attrs(&mut self, range: IdxRange) {
        self.attrs_start = range.start;
        self.attrs_len = u8::try_from(range.len()).unwrap_or(u8::MAX);
    }
}

/// The attributes the scanner records; every other attribute contributes references only.
/// One set to `null` is not recorded: Powerpipe holds it as not set (a `base` gives it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttrKey {
    /// `title`
    Title,
    /// `description`
    Description,
    /// `tags`
    Tags,
    /// `children`
    Children,
    /// `base`
    Base,
    /// `sql`
    Sql,
    /// `query`
    Query,
    /// `type` (a benchmark of detections, a chart's type, a variable's type constraint)
    Type,
}

impl AttrKey {
    /// The attribute key for an attribute name, if it is one the scanner records.
    pub fn from_name(name: &[u8]) -> Option<AttrKey> {
        Some(match name {
            b"title" => AttrKey::Title,
            b"description" => AttrKey::Description,
            b"tags" => AttrKey::Tags,
            b"children" => AttrKey::Children,
            b"base" => AttrKey::Base,
            b"sql" => AttrKey::Sql,
            b"query" => AttrKey::Query,
            b"type" => AttrKey::Type,
            _ => return None,
        })
    }

    /// The attribute's name as written in HCL.
    pub fn as_str(self) -> &'static str {
        match self {
            AttrKey::Title => "title",
            AttrKey::Description => "description",
            AttrKey::Tags => "tags",
            AttrKey::Children => "children",
            AttrKey::Base => "base",
            AttrKey::Sql => "sql",
            AttrKey::Query => "query",
            AttrKey::Type => "type",
        }
    }
}

/// A recorded attribute: its key, the span of its value expression and what the scanner
/// could read of it without evaluating anything ([`Attr::value`]).
///
/// Packed into 16 bytes (there are a few per resource): the value is stored as a tag, a
/// 32-bit payload and a 16-bit length, and rebuilt by [`Attr::value`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr {
    /// Span of the value expression (from its first to its last byte).
    pub span: Span,
    payload: u32,
    len: u16,
    /// Which attribute.
    pub key: AttrKey,
    tag: u8,
}

impl Attr {
    /// An attribute; a list longer than 65,535 entries is kept as an expression (span only).
    pub fn new(key: AttrKey, span: Span, value: AttrValue) -> Attr {
        let range = |tag: u8, r: IdxRange| match u16::try_from(r.len()) {
            Ok(len) => (tag, r.start, len),
            Err(_) => (7, 0, 0),
        };
        let (tag, payload, len) = match value {
            AttrValue::Str(s) => (0, s.to_raw(), 0),
            AttrValue::Text => (1, 0, 0),
            AttrValue::Scalar(s) => (2, s.to_raw(), 0),
            AttrValue::Tags(r) => range(3, r),
            AttrValue::RefList(r) => range(4, r),
            AttrValue::Ref(i) => (5, i, 0),
            AttrValue::Expr(Some(s)) => (6, s.to_raw(), 0),
            AttrValue::Expr(None) => (7, 0, 0),
        };
        Attr {
            span,
            payload,
            len,
            key,
            tag,
        }
    }

    /// What the scanner read of the value.
    pub fn value(&self) -> AttrValue {
        let range = IdxRange {
            start: self.payload,
            end: self.payload.saturating_add(u32::from(self.len)),
        };
        let sym = Sym::from_raw(self.payload);
        match (self.tag, sym) {
            (0, Some(s)) => AttrValue::Str(s),
            (1, _) => AttrValue::Text,
            (2, Some(s)) => AttrValue::Scalar(s),
            (3, _) => AttrValue::Tags(range),
            (4, _) => AttrValue::RefList(range),
            (5, _) => AttrValue::Ref(self.payload),
            (6, Some(s)) => AttrValue::Expr(Some(s)),
            _ => AttrValue::Expr(None),
        }
    }
}

/// What the scanner knows of an attribute's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttrValue {
    /// A literal string (quoted or heredoc without interpolation), escapes decoded and
    /// `<<-` indentation stripped.
    Str(Sym),
    /// A literal string that is not copied into the index (a description): decode it from
    /// the source at the attribute's span with [`decode_literal`].
    Text,
    /// A literal number or bool, as written.
    Scalar(Sym),
    /// A literal object of literal values (tags): entries in [`FileIndex::tags`].
    Tags(IdxRange),
    /// A list of plain references (`children = [control.a, benchmark.b]`): entries in
    /// [`FileIndex::refs`], in order.
    RefList(IdxRange),
    /// A single plain reference (`query = query.x`, `base = card.y`): one entry in
    /// [`FileIndex::refs`].
    Ref(u32),
    /// Anything else: the expression's source text, for a later evaluation. SQL heredocs
    /// and other long values are not copied: `Expr(None)` means "see the span".
    Expr(Option<Sym>),
}

/// A variable or a local of a file (see [`FileIndex::value_items`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValueItem {
    /// Its name.
    pub name: Sym,
    /// True for a `variable` block, false for a local.
    pub is_var: bool,
    /// A hash of its text.
    pub hash: u64,
    /// Its block.
    pub block: BlockId,
}

/// One literal tag: `key = "value"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tag {
    /// The key (quotes removed).
    pub key: Sym,
    /// The value (escapes decoded).
    pub value: Sym,
}

/// A traversal that names something: `query.x`, `var.x`, `local.x`, `dep.control.x`,
/// `self.input.x.value`, `param.x`, `with.x`, ...
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reference {
    /// From the first segment to the end of the name segment (`dep.query.x` in
    /// `dep.query.x.sql`).
    pub span: Span,
    /// The dependency mod's name for a cross-mod reference (`dep` in `dep.query.x`).
    pub module: Option<Sym>,
    /// What is referred to: a block type, or `var`, `local`, `param`, `with`, `input`, ...
    pub kind: Sym,
    /// The referred name.
    pub name: Sym,
    /// The owning block's index + 1 (0: none), with the top bit set for a `self.` reference.
    owner: u32,
}

const SCOPED_BIT: u32 = 1 << 31;

impl Reference {
    /// A reference held by `block` (`None` in a variables file).
    pub fn new(
        span: Span,
        module: Option<Sym>,
        kind: Sym,
        name: Sym,
        scoped: bool,
        block: Option<BlockId>,
    ) -> Reference {
        // Block indexes stay far below 2^31: a file would need billions of blocks.
        let index = block.map(|b| b.index() as u32 + 1).unwrap_or(0) & !SCOPED_BIT;
        Reference {
            span,
            module,
            kind,
            name,
            owner: index | if scoped { SCOPED_BIT } else { 0 },
        }
    }

    /// The block whose attribute holds the reference (`None` in a variables file).
    pub fn block(&self) -> Option<BlockId> {
        match self.owner & !SCOPED_BIT {
            0 => None,
            n => Some(BlockId::new(n as usize - 1)),
        }
    }

    /// True for `self.input.x` style references (scoped to the enclosing dashboard).
    pub fn scoped(&self) -> bool {
        self.owner & SCOPED_BIT != 0
    }
}

/// How bad a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Powerpipe would refuse this.
    Error,
    /// Suspicious but loadable.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A user's mistake, with its position in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where it starts.
    pub start: Pos,
    /// Where it ends.
    pub end: Pos,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// Everything the scanner found in one file. Self-contained: its symbols resolve in its own
/// [`FileIndex::strings`], so replacing a file's index replaces all of it.
#[derive(Debug)]
pub struct FileIndex {
    /// Interned names, literal values and expression texts of this file.
    pub strings: StrTable,
    /// Every block at any depth, in source pre-order (a parent before its children).
    pub blocks: Vec<Block>,
    /// Recorded attributes, grouped per block.
    pub attrs: Vec<Attr>,
    /// Literal tags, grouped per attribute.
    pub tags: Vec<Tag>,
    /// References, in source order.
    pub refs: Vec<Reference>,
    /// Syntax diagnostics, in source order.
    pub diagnostics: Vec<Diagnostic>,
    /// Size of the scanned source in bytes.
    pub source_len: u32,
    /// A hash of what the file contributes to variable and local values: its top-level
    /// `variable`, `locals` and `mod` blocks (text and first line), or its whole text when it
    /// sets values (a variables file); 0 when it contributes nothing. An edit that leaves
    /// it unchanged leaves the values unchanged.
    pub value_hash: u64,
    /// Each variable and local: its name, `true` for a variable, a hash of its text (what an
    /// edit changed among them, without the old text) and its block.
    pub value_items: Vec<ValueItem>,
}

impl FileIndex {
    /// The text of a symbol of this file (empty if it is not one).
    pub fn str(&self, sym: Sym) -> &str {
        self.strings.get(sym)
    }

    /// A block by id.
    pub fn block(&self, id: BlockId) -> Option<&Block> {
        self.blocks.get(id.index())
    }

    /// A block's name. For an unlabelled nested resource this is Powerpipe's generated name,
    /// `PARENTTYPE_PARENTNAME_anonymous_TYPE_N` (`.` in the parent's part replaced by `_`),
    /// built from the chain of unlabelled ancestors up to the first labelled one (at most
    /// [`MAX_BLOCK_DEPTH`] blocks).
    pub fn block_name(&self, id: BlockId) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        match self.block(id) {
            Some(b) if is_generated_name(b) => {
                let mut name = String::new();
                self.write_block_name(id, &mut name);
                Cow::Owned(name)
            }
            Some(b) => Cow::Borrowed(self.str(b.name)),
            None => Cow::Borrowed(""),
        }
    }

    /// Writes [`FileIndex::block_name`] into `out` (cleared first), without allocating
    /// when `out` has room: for loops over every block.
    pub fn write_block_name(&self, id: BlockId, out: &mut String) {
        out.clear();
        let Some(b) = self.block(id) else { return };
        if !is_generated_name(b) {
            out.push_str(self.str(b.name));
            return;
        }
        // The unlabelled chain from `b` up (bottom first), and the labelled block above it.
        // The scanner nests blocks at most MAX_BLOCK_DEPTH deep, so the chain fits.
        let mut chain = [b; MAX_BLOCK_DEPTH];
        let mut len = 0;
        let mut cur = b;
        let labelled = loop {
            chain[len] = cur;
            len += 1;
            match cur.parent.and_then(|p| self.block(p)) {
                Some(p) if is_generated_name(p) && len < MAX_BLOCK_DEPTH => cur = p,
                Some(p) if is_generated_name(p) => break None,
                other => break other,
            }
        };
        // name(x) = PARENTKIND_name(parent)_anonymous_SUFFIX, unrolled: the kinds of the
        // unlabelled ancestors nearest first, the labelled ancestor, then every suffix from
        // the top down.
        for link in &chain[1..len] {
            out.push_str(self.str(link.kind));
            out.push('_');
        }
        if let Some(top) = labelled {
            push_underscored(out, self.str(top.kind));
            out.push('_');
            push_underscored(out, self.str(top.name));
        }
        for link in chain[..len].iter().rev() {
            out.push_str("_anonymous_");
            out.push_str(self.str(link.name));
        }
    }

    /// The blocks directly inside `id`, in order. Blocks are in pre-order with strictly
    /// increasing starts, so each child's subtree is skipped with a binary search: this
    /// costs the number of children, not of descendants.
    pub fn child_blocks(&self, id: BlockId) -> impl Iterator<Item = BlockId> + '_ {
        let end = self.block(id).map(|b| b.end.byte).unwrap_or(0);
        let mut next = id.index() + 1;
        std::iter::from_fn(move || {
            let c = self.blocks.get(next)?;
            if c.start.byte >= end || c.parent != Some(id) {
                return None;
            }
            let child = BlockId::new(next);
            let after = self.blocks[next + 1..].partition_point(|d| d.start.byte < c.end.byte);
            next = next + 1 + after;
            Some(child)
        })
    }

    /// The recorded attributes of a block.
    pub fn attrs_of(&self, block: &Block) -> &[Attr] {
        self.attrs.get(block.attrs().range()).unwrap_or(&[])
    }

    /// A block's attribute by key.
    pub fn attr(&self, block: &Block, key: AttrKey) -> Option<&Attr> {
        self.attrs_of(block).iter().find(|a| a.key == key)
    }

    /// The references written in a block's own attributes (not in nested blocks').
    pub fn refs_of(&self, block: BlockId) -> impl Iterator<Item = &Reference> {
        // References are in source order and a block's lie inside its span: only that slice
        // is looked at.
        let (start, end) = self
            .block(block)
            .map(|b| (b.start.byte, b.end.byte))
            .unwrap_or((0, 0));
        let lo = self.refs.partition_point(|r| r.span.start < start);
        let hi = self.refs.partition_point(|r| r.span.start < end).max(lo);
        self.refs[lo..hi]
            .iter()
            .filter(move |r| r.block() == Some(block))
    }

    /// The references of a [`AttrValue::RefList`] or [`AttrValue::Ref`] value.
    pub fn ref_list(&self, value: &AttrValue) -> &[Reference] {
        match *value {
            AttrValue::RefList(r) => self.refs.get(r.range()).unwrap_or(&[]),
            AttrValue::Ref(i) => self.refs.get(i as usize..i as usize + 1).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// The literal tags of a [`AttrValue::Tags`] value.
    pub fn tag_list(&self, value: &AttrValue) -> &[Tag] {
        match *value {
            AttrValue::Tags(r) => self.tags.get(r.range()).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Approximate heap bytes held by this index (tables at capacity plus interned text).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.blocks.capacity() * size_of::<Block>()
            + self.attrs.capacity() * size_of::<Attr>()
            + self.tags.capacity() * size_of::<Tag>()
            + self.refs.capacity() * size_of::<Reference>()
            + self.diagnostics.capacity() * size_of::<Diagnostic>()
            + self
                .diagnostics
                .iter()
                .map(|d| d.message.capacity())
                .sum::<usize>()
            + self.strings.heap_bytes()
            + self.value_items.capacity() * size_of::<ValueItem>()
    }

    /// An index of a file that could not be scanned: no blocks, one diagnostic.
    pub fn with_diagnostic(source_len: u32, diagnostic: Diagnostic) -> FileIndex {
        FileIndex {
            strings: StrTable::default(),
            blocks: Vec::new(),
            attrs: Vec::new(),
            tags: Vec::new(),
            refs: Vec::new(),
            diagnostics: vec![diagnostic],
            source_len,
            value_hash: 0,
            value_items: Vec::new(),
        }
    }
}

/// The deepest nesting of blocks the scanner indexes (a top-level block is at depth 1):
/// blocks below it get one diagnostic per top-level block and are read but not recorded.
/// Real dashboards nest under ten deep; HCL's parser in hcl-rs refuses more than 64 levels
/// of blocks and expressions together. Every walk over the block tree (names, symbols,
/// folding, dump, payload) is bounded by it.
pub const MAX_BLOCK_DEPTH: usize = 32;

/// Appends `s` with `.` replaced by `_` (Powerpipe's rule for a parent's name).
fn push_underscored(out: &mut String, s: &str) {
    for piece in s.split('.').enumerate() {
        if piece.0 > 0 {
            out.push('_');
        }
        out.push_str(piece.1);
    }
}

/// True for a block whose name is generated from its parent's (an unlabelled nested
/// resource).
fn is_generated_name(b: &Block) -> bool {
    b.anonymous && b.role == BlockRole::Resource && b.parent.is_some()
}

/// Block types that are resources when nested inside another resource (dashboard
/// components and the resources a dashboard may embed). Every other nested block type is a
/// [`BlockRole::Member`] of its parent.
pub const NESTED_RESOURCE_TYPES: &[&str] = &[
    "benchmark",
    "card",
    "category",
    "chart",
    "container",
    "control",
    "dashboard",
    "detection",
    "detection_benchmark",
    "edge",
    "flow",
    "graph",
    "hierarchy",
    "image",
    "input",
    "node",
    "query",
    "table",
    "text",
    "with",
];

/// True if a nested block of this type is a resource.
pub fn is_nested_resource_type(kind: &[u8]) -> bool {
    // A `match` compiles to a length switch and one comparison: this runs for every
    // identifier in an expression. `NESTED_RESOURCE_TYPES` lists the same words (tested).
    matches!(
        kind,
        b"benchmark"
            | b"card"
            | b"category"
            | b"chart"
            | b"container"
            | b"control"
            | b"dashboard"
            | b"detection"
            | b"detection_benchmark"
            | b"edge"
            | b"flow"
            | b"graph"
            | b"hierarchy"
            | b"image"
            | b"input"
            | b"node"
            | b"query"
            | b"table"
            | b"text"
            | b"with"
    )
}

/// Names that start a reference traversal on their own (besides a dependency mod's name
/// followed by a resource type).
pub fn is_reference_root(word: &[u8]) -> bool {
    matches!(
        word,
        b"var" | b"local" | b"self" | b"param" | b"with" | b"pipeline"
    ) || is_resource_type(word)
}

/// What may follow a dependency mod's name in a reference: `dep.query.x`, `dep.var.x`,
/// `dep.local.x` (the last is an error the resolver reports: a dependency's locals are
/// private, but the reference must be seen to say so).
pub fn is_module_member(word: &[u8]) -> bool {
    matches!(word, b"var" | b"local") || is_resource_type(word)
}

/// Resource types that can be referred to as `TYPE.NAME`.
pub fn is_resource_type(word: &[u8]) -> bool {
    is_nested_resource_type(word)
}

/// A readable rendering of a [`FileIndex`], one line per block, reference and diagnostic:
/// for tests and `--debug` output, stable across runs.
pub fn render(index: &FileIndex) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (i, b) in index.blocks.iter().enumerate() {
        let depth =
            std::iter::successors(b.parent, |p| index.block(*p).and_then(|b| b.parent)).count();
        let _ = write!(
            out,
            "{:indent$}#{i} {:?} {} {:?} {}:{}-{}:{}",
            "",
            b.role,
            index.str(b.kind),
            index.block_name(BlockId::new(i)),
            b.start.line,
            b.start.column,
            b.end.line,
            b.end.column,
            indent = depth * 2
        );
        for a in index.attrs_of(b) {
            let _ = write!(out, " {}=", a.key.as_str());
            match a.value() {
                AttrValue::Str(s) => {
                    let _ = write!(out, "{:?}", index.str(s));
                }
                AttrValue::Scalar(s) => {
                    let _ = write!(out, "{}", index.str(s));
                }
                AttrValue::Tags(_) => {
                    let tags: Vec<String> = index
                        .tag_list(&a.value())
                        .iter()
                        .map(|t| format!("{}:{:?}", index.str(t.key), index.str(t.value)))
                        .collect();
                    let _ = write!(out, "{{{}}}", tags.join(","));
                }
                AttrValue::RefList(_) | AttrValue::Ref(_) => {
                    let refs: Vec<String> = index
                        .ref_list(&a.value())
                        .iter()
                        .map(|r| render_ref(index, r))
                        .collect();
                    let _ = write!(out, "[{}]", refs.join(","));
                }
                AttrValue::Expr(Some(s)) => {
                    let _ = write!(out, "expr({:?})", index.str(s));
                }
                AttrValue::Text => {
                    let _ = write!(out, "text@{}..{}", a.span.start, a.span.end);
                }
                AttrValue::Expr(None) => {
                    let _ = write!(out, "expr@{}..{}", a.span.start, a.span.end);
                }
            }
        }
        out.push('\n');
    }
    for r in &index.refs {
        let _ = writeln!(
            out,
            "ref {} @{}..{} in #{}",
            render_ref(index, r),
            r.span.start,
            r.span.end,
            r.block().map(|b| b.index() as i64).unwrap_or(-1)
        );
    }
    for d in &index.diagnostics {
        let _ = writeln!(
            out,
            "{} {}:{}: {}",
            d.severity.as_str(),
            d.start.line,
            d.start.column,
            d.message
        );
    }
    out
}

fn render_ref(index: &FileIndex, r: &Reference) -> String {
    let mut s = String::new();
    if r.scoped() {
        s.push_str("self.");
    }
    if let Some(m) = r.module {
        s.push_str(index.str(m));
        s.push('.');
    }
    s.push_str(index.str(r.kind));
    s.push('.');
    s.push_str(index.str(r.name));
    s
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod type_list_tests {
    use super::*;

    #[test]
    fn the_type_match_and_the_list_agree() {
        for t in NESTED_RESOURCE_TYPES {
            assert!(is_nested_resource_type(t.as_bytes()), "{t}");
        }
        assert!(!is_nested_resource_type(b"param"));
        assert!(!is_nested_resource_type(b"locals"));
    }
}
