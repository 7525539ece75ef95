//! The resolver: one resource at a time, dependencies first, into a bounded cache.
//!
//! A request for a resource that is neither cached nor being resolved parses that block's
//! span, classifies every reference the scanner found in it (variables, locals, resources in
//! this mod or a dependency, run-time-only names like `self.input.x.value`), resolves the
//! resources it needs the *values* of (not the ones it merely lists in `children`), builds a
//! scope of exactly those, and evaluates each attribute.
//!
//! Cycles: before resolving, the strongly connected component of the resource in the
//! value-dependency graph is computed from the index (no parse). A reference to a member of
//! the same component is a cycle: it is reported and evaluated as unknown, never followed.
//! Every other dependency lies in a component strictly below, so a thread waiting for a
//! dependency that another thread is resolving never waits in a circle: concurrent requests
//! for one resource parse it once without any risk of deadlock.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};

use dashmap::DashMap;
use hcl::edit::Span as _;

use super::depends::{Depends, Names, Reached};
use super::eval::{self, Scope, Snippet, span_diagnostic};
use super::value::{Interner, Size, Text, TooBig, Val};
use super::values::{self};
use super::{Model, Sources, graph};
use crate::cache::{Cache, CacheStats, Limits, Weigh};
use crate::index::{BenchmarkType, FileId, ModId, ResourceId, reference_kind};
use crate::syntax::{
    AttrKey, AttrValue, BlockId, BlockRole, Diagnostic, FileIndex, Pos, Reference, Severity, Span,
    decode_literal, is_nested_resource_type,
};

/// One `param` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Its name.
    pub name: Text,
    /// Its description.
    pub description: Option<Text>,
    /// Its default (unknown when it refers to run-time values).
    pub default: Option<Val>,
}

/// A nested block that belongs to its resource (`option`, `column`, `legend`, `series`,
/// `require`, ...), evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct MemberBlock {
    /// Its type.
    pub kind: Text,
    /// Its labels joined with `.`, if any.
    pub label: Option<Text>,
    /// Its attributes, by name.
    pub attributes: Vec<(Text, Val)>,
    /// Its own nested blocks.
    pub blocks: Vec<MemberBlock>,
}

/// A resolved resource: evaluated, compact, no AST and no source text.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// Qualified name (`mod.type.name`).
    pub name: Text,
    /// Block type.
    pub kind: Text,
    /// Short name.
    pub short_name: Text,
    /// The mod's name.
    pub module: Text,
    /// Workspace-relative file.
    pub file: Text,
    /// Where the block starts.
    pub start: Pos,
    /// Where it ends.
    pub end: Pos,
    /// Evaluated title.
    pub title: Option<Text>,
    /// Evaluated description.
    pub description: Option<Text>,
    /// Evaluated tags, sorted by key.
    pub tags: Vec<(Text, Text)>,
    /// The SQL, rendered (`${...}` evaluated; unknown when it needs run-time values).
    pub sql: Option<Val>,
    /// The query it runs (`query = query.x`), qualified.
    pub query: Option<Text>,
    /// What it inherits from (`base = ...`), qualified.
    pub base: Option<Text>,
    /// `param` blocks, in order.
    pub params: Vec<Param>,
    /// `args`.
    pub args: Option<Val>,
    /// Children, qualified, in order.
    pub children: Vec<Text>,
    /// Every other attribute, sorted by name.
    pub attributes: Vec<(Text, Val)>,
    /// Member blocks, in order.
    pub blocks: Vec<MemberBlock>,
    /// Everything this depends on, transitively (resources, `mod.var.x`, `mod.local.x`):
    /// what invalidates it. Shared with the resources it used ([`Depends`]); the sorted
    /// list is [`Resource::depends_on`].
    pub depends: Depends,
    /// Problems found resolving it, in its own file.
    pub diagnostics: Vec<Diagnostic>,
    /// A hash of the block's source text: an edit elsewhere in the file that leaves it alone
    /// only moves it ([`Resolver::refine`]).
    pub text_hash: u64,
    /// The files its block reads through the file functions (`file(...)`, ...): a change
    /// to one of them may change it ([`Resolver::invalidate_file_readers`]).
    pub file_reads: super::file_reads::FileReads,
}

impl Resource {
    /// Everything this depends on, transitively (resources, `mod.var.x`, `mod.local.x`),
    /// sorted.
    pub fn depends_on(&self) -> Vec<Text> {
        self.depends.names()
    }

    /// What copying this resource into another's evaluation costs (see [`Size`]).
    fn value_size(&self) -> Size {
        let mut size = Size::default();
        let text = |t: &Option<Text>| Size {
            nodes: 1,
            bytes: t.as_ref().map(|t| t.len()).unwrap_or(0),
        };
        let parts = self
            .attributes
            .iter()
            .map(|(_, v)| v.size())
            .chain(self.sql.iter().map(Val::size))
            .chain(self.args.iter().map(Val::size))
            .chain([text(&self.title), text(&self.description)])
            .chain(self.tags.iter().map(|(k, v)| Size {
                nodes: 1,
                bytes: k.len() + v.len(),
            }));
        for p in parts {
            if size.add(p).is_err() {
                break;
            }
        }
        size
    }

    /// An attribute by name (among [`Resource::attributes`]).
    pub fn attribute(&self, name: &str) -> Option<&Val> {
        self.attributes
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| &self.attributes[i].1)
    }

    /// True if any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// The resource as an HCL object, for the scope of resources that refer to it:
    /// `query.x.sql`, `benchmark.x.title`, `control.x.tags`, ...
    pub fn to_object(&self) -> hcl::Value {
        let mut m = hcl::Map::new();
        for (k, v) in &self.attributes {
            m.insert(k.to_string(), v.to_hcl());
        }
        let opt = |s: &Option<Text>| {
            s.as_ref()
                .map(|t| hcl::Value::String(t.to_string()))
                .unwrap_or(hcl::Value::Null)
        };
        m.insert("name".into(), hcl::Value::String(self.name.to_string()));
        m.insert(
            "short_name".into(),
            hcl::Value::String(self.short_name.to_string()),
        );
        m.insert(
            "unqualified_name".into(),
            hcl::Value::String(format!("{}.{}", self.kind, self.short_name)),
        );
        if matches!(
            &*self.kind,
            "dashboard" | "benchmark" | "detection_benchmark"
        ) {
            // Powerpipe's dashboard server path for a mod tree item.
            m.insert(
                "url_path".into(),
                hcl::Value::String(format!("/{}", self.name)),
            );
        }
        m.insert("title".into(), opt(&self.title));
        m.insert("description".into(), opt(&self.description));
        m.insert(
            "tags".into(),
            hcl::Value::Object(
                self.tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), hcl::Value::String(v.to_string())))
                    .collect(),
            ),
        );
        if let Some(sql) = &self.sql {
            m.insert("sql".into(), sql.to_hcl());
        }
        if let Some(args) = &self.args {
            m.insert("args".into(), args.to_hcl());
        }
        // What the block type accepts but this block does not set is null, as in Powerpipe's
        // value of a resource (`card.x.width` of a card without one); a name it does not
        // accept stays an error. `base` is only decoded, never part of the value. Not for a
        // resource with errors: an attribute it writes may be missing because it failed, and
        // is not null.
        if self.has_errors() {
            return hcl::Value::Object(m);
        }
        // Every resource has a `documentation` (pipe-fittings' `HclResourceImpl`).
        m.entry("documentation".to_string())
            .or_insert(hcl::Value::Null);
        if let Some(schema) = crate::lsp::schema::block(&self.kind) {
            // `children` and `query` are references: their values (a list, the query's
            // object) are not modelled, and a null would be wrong where they are set.
            for a in schema
                .attributes
                .iter()
                .filter(|a| !matches!(a.name, "base" | "children" | "query"))
            {
                m.entry(a.name.to_string()).or_insert(hcl::Value::Null);
            }
        }
        hcl::Value::Object(m)
    }
}

impl Weigh for Resource {
    fn weight(&self) -> usize {
        use std::mem::size_of;
        let t = |s: &Text| s.len() + 16;
        let ot = |s: &Option<Text>| s.as_ref().map(t).unwrap_or(0);
        fn member(b: &MemberBlock) -> usize {
            b.kind.len()
                + 16
                + b.label.as_ref().map(|l| l.len() + 16).unwrap_or(0)
                + b.attributes
                    .iter()
                    .map(|(k, v)| k.len() + 16 + size_of::<(Text, Val)>() + v.heap_bytes())
                    .sum::<usize>()
                + b.blocks.iter().map(member).sum::<usize>()
                + size_of::<MemberBlock>()
        }
        size_of::<Resource>()
            + t(&self.name)
            + t(&self.kind)
            + t(&self.short_name)
            + t(&self.module)
            + t(&self.file)
            + ot(&self.title)
            + ot(&self.description)
            + self
                .tags
                .iter()
                .map(|(k, v)| t(k) + t(v) + 32)
                .sum::<usize>()
            + self.sql.as_ref().map(Val::heap_bytes).unwrap_or(0)
            + ot(&self.query)
            + ot(&self.base)
            + self
                .params
                .iter()
                .map(|p| {
                    size_of::<Param>()
                        + t(&p.name)
                        + ot(&p.description)
                        + p.default.as_ref().map(Val::heap_bytes).unwrap_or(0)
                })
                .sum::<usize>()
            + self.args.as_ref().map(Val::heap_bytes).unwrap_or(0)
            + self.children.iter().map(|c| t(c) + 16).sum::<usize>()
            + self
                .attributes
                .iter()
                .map(|(k, v)| t(k) + size_of::<(Text, Val)>() + v.heap_bytes())
                .sum::<usize>()
            + self.blocks.iter().map(member).sum::<usize>()
            + self.depends.weight()
            + self
                .diagnostics
                .iter()
                .map(|d| size_of::<Diagnostic>() + d.message.len())
                .sum::<usize>()
    }
}

/// An evaluated index field (title, description or tags).
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// The block has no such attribute (nor inherits one).
    Absent,
    /// The value.
    Value(Val),
    /// Not known without running something: its text, and why.
    Unknown {
        /// The expression as written.
        expr: Text,
        /// Why it is not known.
        why: Text,
    },
    /// The expression fails to evaluate (Powerpipe refuses to load the mod): its text, and
    /// the error at the expression, in the file that holds it.
    Error {
        /// The expression as written.
        expr: Text,
        /// The file holding the expression (workspace-relative).
        file: Text,
        /// The error.
        diagnostic: Diagnostic,
    },
}

impl Weigh for Field {
    fn weight(&self) -> usize {
        64 + match self {
            Field::Absent => 0,
            Field::Value(v) => v.heap_bytes(),
            Field::Unknown { expr, why } => expr.len() + why.len() + 32,
            Field::Error {
                expr,
                file,
                diagnostic,
            } => expr.len() + file.len() + diagnostic.message.len() + 64,
        }
    }
}

impl Field {
    /// The value, if known.
    pub fn value(&self) -> Option<&Val> {
        match self {
            Field::Value(v) => Some(v),
            _ => None,
        }
    }

    /// True when the field is unknown only because it uses another resource's attribute
    /// that the index does not hold (`query.x.sql`, `card.y.width`): resolving the resource
    /// that writes it gives its value.
    pub fn needs_resolving(&self) -> bool {
        matches!(self, Field::Unknown { why, .. } if why.starts_with(NEEDS_RESOLVING))
    }

    /// The error, with its file, if the expression fails to evaluate.
    pub fn error(&self) -> Option<super::FileDiagnostic> {
        match self {
            Field::Error {
                file, diagnostic, ..
            } => Some(super::FileDiagnostic::new(file, diagnostic.clone())),
            _ => None,
        }
    }
}

/// What an evaluated index field was computed from: the qualified names (resources,
/// `mod.var.x`, `mod.local.x`) its value used, directly or through the fields and the base it
/// used. An edit that makes none of them stale leaves the value as it was.
#[derive(Clone, Debug, Default)]
enum FieldDeps {
    /// Nothing but its own block's text (a literal, or absent).
    #[default]
    None,
    /// These names, sorted.
    Names(Arc<[Text]>),
    /// Too many to keep (a long chain of fields): stale after any edit that changes a name.
    Any,
}

/// The most names a field's [`FieldDeps`] lists (more: [`FieldDeps::Any`]); real fields use
/// a handful (a chain of titles, a few locals).
const MAX_FIELD_DEPS: usize = 64;

impl FieldDeps {
    /// The dependencies of a field using `names` directly and the fields in `used`.
    fn of<'a>(mut names: Vec<Text>, used: impl IntoIterator<Item = &'a FieldDeps>) -> FieldDeps {
        for d in used {
            match d {
                FieldDeps::None => {}
                FieldDeps::Names(n) => names.extend(n.iter().cloned()),
                FieldDeps::Any => return FieldDeps::Any,
            }
        }
        if names.is_empty() {
            return FieldDeps::None;
        }
        names.sort_unstable();
        names.dedup();
        if names.len() > MAX_FIELD_DEPS {
            return FieldDeps::Any;
        }
        FieldDeps::Names(names.into())
    }

    /// True when one of `stale` is among them.
    fn hit(&self, stale: &HashSet<&str>) -> bool {
        match self {
            FieldDeps::None => false,
            FieldDeps::Names(n) => n.iter().any(|n| stale.contains(&**n)),
            FieldDeps::Any => !stale.is_empty(),
        }
    }

    fn weight(&self) -> usize {
        match self {
            FieldDeps::Names(n) => n.len() * 16 + 16,
            _ => 0,
        }
    }
}

/// An evaluated index field as the resolver remembers it.
#[derive(Clone, Debug)]
struct Memo {
    field: Field,
    deps: FieldDeps,
}

impl Weigh for Memo {
    fn weight(&self) -> usize {
        self.field.weight() + self.deps.weight()
    }
}

/// Resolver counters.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct ResolverStats {
    /// Blocks parsed and evaluated (cache misses that did the work).
    pub resolved: u64,
    /// Requests that joined a resolve already in flight.
    pub merged: u64,
    /// Index fields evaluated from their expression.
    pub fields_evaluated: u64,
    /// Resources looked at by resolves to find what they need (each resolve looks at what
    /// it needs that is not cached, and at the cached resources right below: linear in
    /// what it resolves).
    pub explored: u64,
    /// Index fields looked at by field evaluations to find what they need.
    pub fields_explored: u64,
    /// The cache.
    pub cache: CacheStats,
}

/// One resolve in flight, which later requests wait for.
#[derive(Default)]
struct Slot {
    done: Mutex<Option<Option<Arc<Resource>>>>,
    cv: Condvar,
}

impl Slot {
    fn finish(&self, r: Option<Arc<Resource>>) {
        let mut g = self.done.lock().unwrap_or_else(|p| p.into_inner());
        *g = Some(r);
        self.cv.notify_all();
    }

    /// The result; `None` if the resolving thread gave up (it panicked).
    fn wait(&self) -> Option<Arc<Resource>> {
        let mut g = self.done.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = g.as_ref() {
                return r.clone();
            }
            g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Finishes a slot as abandoned if the resolving thread unwinds.
struct SlotGuard<'a> {
    slot: Arc<Slot>,
    name: Text,
    inflight: &'a DashMap<Text, Arc<Slot>>,
    done: bool,
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.slot.finish(None);
        }
        self.inflight.remove(&self.name);
    }
}

/// What a reference names.
#[derive(Clone, Debug)]
enum Target {
    /// A variable with its value (`None`: it has none; the variable says so).
    Var { module: ModId, name: String },
    /// A local.
    Local { module: ModId, name: String },
    /// A resource; `prefix` is the dependency mod's name for `dep.query.x`.
    Resource {
        id: ResourceId,
        prefix: Option<String>,
        kind: String,
        name: String,
    },
    /// Known only at run time (`self.input.x.value`, `param.x`, `with.x.rows`, ...).
    Runtime,
    /// Not something modlens models (Flowpipe's `step.x`, ...): left alone.
    Opaque,
    /// Names nothing: the message says what.
    Unknown(String),
}

/// The reference cycle a resource is a member of (none: empty).
#[derive(Default)]
struct Cycle {
    members: HashSet<ResourceId>,
}

impl Cycle {
    fn of(members: impl IntoIterator<Item = ResourceId>) -> Cycle {
        Cycle {
            members: members.into_iter().collect(),
        }
    }

    fn contains(&self, id: &ResourceId) -> bool {
        self.members.contains(id)
    }

    fn len(&self) -> usize {
        self.members.len()
    }
}

/// What evaluating one block or expression may copy: the sizes of the values its
/// references name, once per reference (each distinct value measured once).
#[derive(Default)]
struct Budget {
    total: Size,
    sizes: HashMap<String, Size>,
}

impl Budget {
    /// Counts one reference to the value known as `which`; an error once over the limits.
    fn take(&mut self, which: String, size: impl FnOnce() -> Size) -> Result<(), TooBig> {
        let size = *self.sizes.entry(which).or_insert_with(size);
        self.total.add(size)
    }
}

/// Cycles with more members than this are named by their ends and their length: the full
/// path in every member's message would be quadratic in the cycle's length.
const CYCLE_SHOWN: usize = 64;

/// Resolves resources on demand into a bounded cache.
pub struct Resolver {
    sources: Arc<dyn Sources>,
    interner: Interner,
    cache: Cache<Text, Arc<Resource>>,
    inflight: DashMap<Text, Arc<Slot>>,
    /// Evaluated index fields: bounded like the resources, since every resource has some.
    fields: Cache<(ResourceId, AttrKey), Memo>,
    resolved: AtomicU64,
    merged: AtomicU64,
    fields_evaluated: AtomicU64,
    explored: AtomicU64,
    fields_explored: AtomicU64,
    /// Every file the resources and fields computed so far read through the file
    /// functions: a change to another file changes nothing computed
    /// ([`Resolver::invalidate_file_readers`]).
    read_files: Mutex<super::file_reads::ReadSet>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("cache", &self.cache.stats())
            .finish()
    }
}

impl Resolver {
    /// A resolver reading through `sources`, caching within `limits`.
    pub fn new(sources: Arc<dyn Sources>, limits: Limits) -> Resolver {
        Resolver {
            sources,
            interner: Interner::new((limits.max_bytes / 256).clamp(4096, 65_536)),
            cache: Cache::new(limits),
            inflight: DashMap::new(),
            // A quarter of the resources' budget: fields are small and cheap to recompute.
            // Bounded by bytes only (the count allows as many as the bytes do, at the 64
            // bytes a field weighs at least): a dump asks for every resource's title,
            // description and tags in file order, and three chains of inheritance through
            // `base` that did not fit the count would each be computed again for every link
            // (quadratic), where they fit the bytes.
            fields: Cache::new(Limits {
                max_entries: (limits.max_bytes / 4).max(64 * 1024) / 64,
                max_bytes: (limits.max_bytes / 4).max(64 * 1024),
            }),
            resolved: AtomicU64::new(0),
            merged: AtomicU64::new(0),
            fields_evaluated: AtomicU64::new(0),
            explored: AtomicU64::new(0),
            fields_explored: AtomicU64::new(0),
            read_files: Mutex::new(super::file_reads::ReadSet::default()),
        }
    }

    /// The interner resolved strings share.
    pub fn interner(&self) -> &Interner {
        &self.interner
    }

    /// The sources it reads.
    pub fn sources(&self) -> &Arc<dyn Sources> {
        &self.sources
    }

    /// The counters.
    pub fn stats(&self) -> ResolverStats {
        ResolverStats {
            resolved: self.resolved.load(Relaxed),
            merged: self.merged.load(Relaxed),
            fields_evaluated: self.fields_evaluated.load(Relaxed),
            explored: self.explored.load(Relaxed),
            fields_explored: self.fields_explored.load(Relaxed),
            cache: self.cache.stats(),
        }
    }

    /// The cached resource, without resolving (nor counting a lookup).
    pub fn cached(&self, model: &Model, id: ResourceId) -> Option<Arc<Resource>> {
        self.cache.peek(&self.key(model, id))
    }

    /// True if resolving something now would evict a cached resource.
    pub fn cache_full(&self) -> bool {
        self.cache.would_evict(4096)
    }

    /// Drops cached resources named in `names` and every cached resource that depends on
    /// any of them, transitively (through the dependency sets entries share, which keep
    /// what was evicted in between: one pass, each shared set looked at once); forgets the
    /// evaluated index fields (which files' fields `names` concerns is not known here:
    /// [`Resolver::invalidate_stale`] keeps what it can). Returns the names dropped, sorted.
    pub fn invalidate(&self, names: &[Text]) -> Vec<Text> {
        self.fields.clear();
        self.invalidate_resources(names)
    }

    fn invalidate_resources(&self, names: &[Text]) -> Vec<Text> {
        let set: Names<'_> = names.iter().map(|n| &**n).collect();
        let mut memo = Reached::default();
        // (A resource's own name is its dependency set's.)
        let mut gone = self
            .cache
            .retain(|_, r| !r.depends.reaches(&set, &mut memo));
        gone.sort();
        gone
    }

    /// Forgets the evaluated index fields an edit may have changed: those of the replaced
    /// files (their blocks may be numbered anew) and those computed from a stale name
    /// (directly, or through the fields and bases they used). Every other field keeps its
    /// value: nothing it was computed from changed.
    fn invalidate_fields(&self, stale: &super::Stale) {
        if stale.files.is_empty() && !(stale.names.is_empty() && stale.entries.is_empty()) {
            // Which blocks the names were is not known: nothing can be kept safely.
            self.fields.clear();
            return;
        }
        let names: HashSet<&str> = stale.names.iter().map(|n| &**n).collect();
        self.fields
            .retain(|(id, _), m| !stale.files.contains(&id.file) && !m.deps.hit(&names));
    }

    /// The files `text` (of a block or a field in `module`) reads through the file
    /// functions, recorded among those read so far.
    fn file_reads(
        &self,
        index: &crate::index::Index,
        module: ModId,
        text: &[u8],
    ) -> super::file_reads::FileReads {
        let mod_root = index.module(module).map(|m| m.root.as_str()).unwrap_or("");
        let reads = super::file_reads::FileReads::of(text, mod_root, &self.interner);
        if !reads.is_empty() {
            self.read_files
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .add(&reads);
        }
        reads
    }

    /// True when a change at one of `changed` (workspace-relative files or folders that
    /// are not mod files) may change something computed so far: some resource or field
    /// read it through the file functions.
    pub fn file_change_matters(&self, changed: &[String]) -> bool {
        self.read_files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .touched_by(changed)
    }

    /// Files that are not mod files changed at `changed` (a document `file()` reads, say):
    /// drops the cached resources whose blocks read them, what depends on those, and the
    /// index fields computed with a file function. False when nothing computed read them
    /// (nothing is dropped); true when what was computed, diagnostics included, may have
    /// changed.
    pub fn invalidate_file_readers(&self, changed: &[String]) -> bool {
        if !self.file_change_matters(changed) {
            return false;
        }
        let readers: Vec<Text> = self
            .cache
            .entries()
            .into_iter()
            .filter(|(_, r)| changed.iter().any(|c| r.file_reads.touched_by(c)))
            .map(|(_, r)| r.name.clone())
            .collect();
        // Fields that read files keep no names ([`FieldDeps::Any`]).
        let fields = self.fields.retain(|_, m| !matches!(m.deps, FieldDeps::Any));
        let gone = self.invalidate_resources(&readers);
        tracing::debug!(
            resources = gone.len(),
            fields = fields.len(),
            "a file that file functions read changed: what read it is computed again"
        );
        true
    }

    /// Drops what an edit made stale (see [`super::Model::replace_file`]); returns the names
    /// dropped, sorted.
    pub fn invalidate_stale(&self, stale: &super::Stale) -> Vec<Text> {
        self.invalidate_fields(stale);
        let mut gone = self.invalidate_resources(&stale.names);
        let only: BTreeSet<&str> = stale.entries.iter().map(|n| &**n).collect();
        gone.extend(self.cache.retain(|_, r| !only.contains(&*r.name)));
        gone.sort();
        gone
    }

    /// Narrows what an edit made stale to what really changed: a resource of the edited
    /// file whose block text is the same as when it was resolved (the edit was elsewhere in
    /// the file) keeps its cache entry, moved to its new position, and its dependents stay
    /// valid. Call it after [`super::Model::replace_file`] and before
    /// [`Resolver::invalidate_stale`].
    pub fn refine(&self, model: &Model, mut stale: super::Stale) -> super::Stale {
        let index = &model.index;
        let keep = |name: &Text| -> bool {
            let Some(id) = index.lookup_qualified(name) else {
                return true;
            };
            let (Some(f), Some(b)) = (index.file(id.file), index.block(id)) else {
                return true;
            };
            let key = self.key(model, id);
            let Some(old) = self.cache.peek(&key) else {
                return true;
            };
            if *old.file != *f.path || old.start.column != b.start.column || old.text_hash == 0 {
                return true;
            }
            let Some(src) = self.sources.read(&f.path) else {
                return true;
            };
            if src.len() as u64 != u64::from(f.index.source_len)
                || text_hash(
                    src.get(b.start.byte as usize..b.end.byte as usize)
                        .unwrap_or(&[]),
                ) != old.text_hash
            {
                return true;
            }
            let lines = i64::from(b.start.line) - i64::from(old.start.line);
            let bytes = i64::from(b.start.byte) - i64::from(old.start.byte);
            if lines != 0 || bytes != 0 {
                let mut moved = (*old).clone();
                moved.start = shift(moved.start, lines, bytes);
                moved.end = shift(moved.end, lines, bytes);
                for d in &mut moved.diagnostics {
                    d.start = shift(d.start, lines, bytes);
                    d.end = shift(d.end, lines, bytes);
                }
                self.cache.insert(key, Arc::new(moved));
            }
            false
        };
        stale.names.retain(keep);
        // A variable's or local's own entry: valid while its value is (then `names` does not
        // list it) and its text is the same.
        let names = stale.names.clone();
        stale.entries.retain(|n| names.contains(n) || keep(n));
        stale
    }

    /// Drops everything cached.
    pub fn clear(&self) {
        self.cache.clear();
        self.fields.clear();
    }

    /// Resolves a resource by `mod.type.name` or `type.name` (root mod); `None` if nothing
    /// has that name.
    pub fn resolve_name(&self, model: &Model, name: &str) -> Option<Arc<Resource>> {
        let id = model.index.lookup_qualified(name)?;
        Some(self.resolve(model, id))
    }

    /// Resolves a resource (from the cache when it is there).
    pub fn resolve(&self, model: &Model, id: ResourceId) -> Arc<Resource> {
        let key = self.key(model, id);
        self.resolve_keyed(model, id, key)
    }

    /// Resolves a resource through the cache while it has room; when it is full, a resource
    /// not in it is resolved without being kept (a sweep over everything, such as the
    /// language server's diagnostics, then never evicts what people are using).
    pub fn resolve_unless_full(&self, model: &Model, id: ResourceId) -> Arc<Resource> {
        if !self.cache_full() {
            return self.resolve(model, id);
        }
        let key = self.key(model, id);
        if let Some(r) = self.cache.peek(&key) {
            return r;
        }
        self.resolve_pass(model, id, key, false)
    }

    /// The cache key of a resource: its qualified name, made unique for the blocks that
    /// share one (a nested `input "x"` in several dashboards; a duplicate definition).
    pub fn key(&self, model: &Model, id: ResourceId) -> Text {
        let index = &model.index;
        // A labelled nested block is keyed by its name and its parent's key: up the parents
        // (without recursion: nesting has no fixed bound), then back down.
        let mut labelled: Vec<String> = Vec::new();
        let mut at = id;
        let top = loop {
            let name = index.qualified_name(at).unwrap_or_default();
            let Some(b) = index.block(at) else {
                break Text::from(name);
            };
            if let Some(parent) = b.parent
                && !b.anonymous
                && b.role == BlockRole::Resource
            {
                labelled.push(name);
                at = ResourceId {
                    file: at.file,
                    block: parent,
                };
                continue;
            }
            let first = index.lookup_qualified(&name);
            if first.is_some_and(|f| f != at) && b.role != BlockRole::Local {
                let path = index.file(at.file).map(|f| f.path.as_str()).unwrap_or("");
                break Text::from(format!("{name}@{path}:{}", b.start.byte));
            }
            break Text::from(name);
        };
        if labelled.is_empty() {
            return top;
        }
        let mut key = top.to_string();
        for name in labelled.iter().rev() {
            key = format!("{name}@{key}");
        }
        Text::from(key)
    }

    fn resolve_keyed(&self, model: &Model, id: ResourceId, key: Text) -> Arc<Resource> {
        if let Some(r) = self.cache.get(&key) {
            return r;
        }
        self.resolve_pass(model, id, key, true)
    }

    /// Resolves `id` (not cached) and whatever it needs that is not cached either, without
    /// recursion: finds what it needs from the index (breadth first over the
    /// value-dependency graph, stopping at cached resources that are in no cycle: nothing
    /// below them can lead back), computes the strongly connected components of what it
    /// found once, then builds each resource after the ones it needs, handing their resolved
    /// forms in. Cost: linear in what it finds. `keep_root`: cache `id` too (what it needs
    /// is cached either way).
    fn resolve_pass(
        &self,
        model: &Model,
        id: ResourceId,
        key: Text,
        keep_root: bool,
    ) -> Arc<Resource> {
        struct Found {
            id: ResourceId,
            key: Text,
            /// Its resolved form: cached when found, or built in this pass.
            have: Option<Arc<Resource>>,
            /// What it needs the values of (indexes into the found list).
            edges: Vec<usize>,
        }
        let mut found: Vec<Found> = vec![Found {
            id,
            key,
            have: None,
            edges: Vec::new(),
        }];
        let mut at: HashMap<ResourceId, usize> = HashMap::from([(id, 0)]);
        let mut k = 0;
        while k < found.len() {
            // A cached resource in a cycle is looked through: the cycle may lead back to
            // what this pass builds, and must be known whole.
            let look = found[k].have.as_ref().is_none_or(|r| r.depends.in_cycle());
            if look {
                let deps = self.value_deps(model, found[k].id);
                let mut edges = Vec::with_capacity(deps.len());
                for d in deps {
                    let n = *at.entry(d).or_insert_with(|| {
                        let key = self.key(model, d);
                        let have = self.cache.get(&key);
                        found.push(Found {
                            id: d,
                            key,
                            have,
                            edges: Vec::new(),
                        });
                        found.len() - 1
                    });
                    edges.push(n);
                }
                found[k].edges = edges;
            }
            k += 1;
        }
        self.explored.fetch_add(found.len() as u64, Relaxed);
        let n = found.len();
        // Components in dependency order (what a component needs comes before it).
        let comps = graph::sccs(n, |u| &found[u].edges);
        let mut comp_of = vec![0usize; n];
        for (c, comp) in comps.iter().enumerate() {
            for &u in comp {
                comp_of[u] = c;
            }
        }
        // What is built: `id`, and what a built resource needs outside its own component
        // (a reference inside it is a cycle, reported, never followed). Dependents first.
        // The members of a cycle are built together: each is looked at by every request for
        // any of them, so building them one request at a time would be quadratic.
        let mut needed = vec![false; n];
        needed[0] = true;
        let mut waiting = vec![0usize; n]; // built dependents still to come
        for comp in comps.iter().rev() {
            if comp.len() > 1 && comp.iter().any(|&u| needed[u]) {
                for &u in comp {
                    needed[u] = true;
                }
            }
            for &u in comp {
                if !needed[u] || found[u].have.is_some() {
                    continue;
                }
                for &v in &found[u].edges {
                    if comp_of[v] != comp_of[u] {
                        needed[v] = true;
                        waiting[v] += 1;
                    }
                }
            }
        }
        let mut built: Vec<Option<Arc<Resource>>> =
            found.iter_mut().map(|f| f.have.take()).collect();
        for (c, comp) in comps.iter().enumerate() {
            if !comp.iter().any(|&u| needed[u] && built[u].is_none()) {
                continue;
            }
            let cycle = if graph::is_cycle(comp, |u| &found[u].edges) {
                Cycle::of(comp.iter().map(|&u| found[u].id))
            } else {
                Cycle::default()
            };
            for &u in comp {
                if !needed[u] || built[u].is_some() {
                    continue;
                }
                let f = &found[u];
                let name = Text::from(model.index.qualified_name(f.id).unwrap_or_default());
                let r = {
                    let dep = |tid: ResourceId| at.get(&tid).and_then(|&v| built[v].clone());
                    let make = || self.build(model, f.id, name, &cycle, &dep);
                    if u == 0 && !keep_root {
                        self.resolved.fetch_add(1, Relaxed);
                        Arc::new(make())
                    } else {
                        self.obtain(&f.key, make)
                    }
                };
                built[u] = Some(r);
                // What no other resource of this pass needs is let go (a long chain is
                // held two links at a time, not whole).
                for &v in &found[u].edges {
                    if comp_of[v] != c && v != 0 {
                        waiting[v] = waiting[v].saturating_sub(1);
                        if waiting[v] == 0 {
                            built[v] = None;
                        }
                    }
                }
            }
        }
        // The first resource is always built (it is needed and was not cached).
        built
            .swap_remove(0)
            .unwrap_or_else(|| Arc::new(empty(Text::from(""), &self.interner)))
    }

    /// The resource cached under `key`, or built by `make` and cached; a build of the same
    /// key already in flight on another thread is waited for, not repeated. Whoever builds
    /// holds one claim at a time and never waits while holding it (what it needs was built
    /// before), so threads never wait in a circle.
    fn obtain(&self, key: &Text, make: impl FnOnce() -> Resource) -> Arc<Resource> {
        let slot = loop {
            match self.inflight.entry(key.clone()) {
                dashmap::Entry::Occupied(e) => {
                    let slot = e.get().clone();
                    drop(e);
                    self.merged.fetch_add(1, Relaxed);
                    if let Some(r) = slot.wait() {
                        return r;
                    }
                    // The other thread gave up: try again (and probably do it here).
                }
                dashmap::Entry::Vacant(e) => {
                    let slot = Arc::new(Slot::default());
                    e.insert(slot.clone());
                    break slot;
                }
            }
        };
        let mut guard = SlotGuard {
            slot,
            name: key.clone(),
            inflight: &self.inflight,
            done: false,
        };
        // Someone may have finished it between the cache check and the claim.
        if let Some(r) = self.cache.peek(key) {
            guard.slot.finish(Some(r.clone()));
            guard.done = true;
            return r;
        }
        let r = Arc::new(make());
        self.resolved.fetch_add(1, Relaxed);
        self.cache.insert(key.clone(), r.clone());
        guard.slot.finish(Some(r.clone()));
        guard.done = true;
        r
    }

    // ----- building one resource ---------------------------------------------------------

    /// Builds one resource. `cycle`: the reference cycle it is in (its members are
    /// reported, not followed); `dep`: the resolved forms of the resources it needs, built
    /// before it (this never resolves anything itself, so never recurses).
    fn build(
        &self,
        model: &Model,
        id: ResourceId,
        name: Text,
        cycle: &Cycle,
        dep: &dyn Fn(ResourceId) -> Option<Arc<Resource>>,
    ) -> Resource {
        let index = &model.index;
        let i = &self.interner;
        let (Some(f), Some(b)) = (index.file(id.file), index.block(id)) else {
            return empty(name, i);
        };
        let module = f.module;
        let kind = f.index.str(b.kind);
        let mut r = empty(name.clone(), i);
        r.depends = Depends::new(name.clone(), cycle.len() > 0, [], []);
        r.kind = i.intern(kind);
        r.short_name = i.intern(&f.index.block_name(id.block));
        r.module = i.intern(
            &index
                .module(module)
                .map(|m| m.name.clone())
                .unwrap_or_default(),
        );
        r.file = i.intern(&f.path);
        r.start = b.start;
        r.end = b.end;
        let is_value = b.role == BlockRole::Local || (kind == "variable" && b.parent.is_none());
        if is_value {
            if b.role == BlockRole::Local {
                self.build_local(model, module, &mut r);
            } else {
                self.build_variable(model, module, &mut r);
            }
            if let Some(src) = self.sources.read(&f.path) {
                r.text_hash = text_hash(
                    src.get(b.start.byte as usize..b.end.byte as usize)
                        .unwrap_or(&[]),
                );
            }
            return r;
        }
        let Some(src) = self.sources.read(&f.path) else {
            r.diagnostics
                .push(at_block(b, format!("cannot read {}", f.path)));
            return r;
        };
        if src.len() as u64 != u64::from(f.index.source_len) {
            r.diagnostics.push(at_block(
                b,
                format!("{} changed since it was indexed: index it again", f.path),
            ));
            return r;
        }
        let block_text = src
            .get(b.start.byte as usize..b.end.byte as usize)
            .unwrap_or(&[]);
        r.text_hash = text_hash(block_text);
        r.file_reads = self.file_reads(index, module, block_text);
        // References of this block and its member blocks (nested resources have their own).
        let own = own_blocks(&f.index, id.block);
        let refs: Vec<&Reference> = block_refs(&f.index, id.block)
            .iter()
            .filter(|r| r.block().is_some_and(|o| own.binary_search(&o).is_ok()))
            .collect();
        let children_span = f
            .index
            .attr(b, AttrKey::Children)
            .map(|a| a.span)
            .unwrap_or_default();
        let mut scope = Scope::new();
        let mut depends: BTreeSet<Text> = BTreeSet::new();
        // The resources whose values it uses.
        let mut via: Vec<Depends> = Vec::new();
        // What evaluating the block may copy: every reference counts the size of its
        // value (a value used twice is copied twice), held to the limits of one value.
        let mut budget = Budget::default();
        // Spans of references whose value is unknown now, and of broken ones.
        let mut runtime: Vec<Span> = Vec::new();
        let mut broken: Vec<Span> = Vec::new();
        // A benchmark's children are checked as Powerpipe checks them when it loads the mod
        // (the types only when `type` is written as a literal).
        let is_benchmark = index.benchmark_type(id).is_some();
        let children_kinds = index.benchmark_children_kinds(id);
        let mut seen_children: HashSet<ResourceId> = HashSet::new();
        // Flowpipe and Tailpipe files share the syntax, not Powerpipe's evaluation: they
        // are indexed and shown, their expressions kept as written.
        let evaluates = is_powerpipe_file(&f.path);
        for reference in &refs {
            if !evaluates {
                runtime.push(reference.span);
                continue;
            }
            let target = self.target(model, id.file, module, reference);
            let in_children = contains(children_span, reference.span);
            match target {
                Target::Var { module: m, name } => {
                    let mod_name = index.module(m).map(|x| x.name.as_str()).unwrap_or("");
                    depends.insert(i.intern(&format!("{mod_name}.var.{name}")));
                    match model
                        .values
                        .var(&model.index, m, &name)
                        .and_then(|v| v.value.as_ref())
                    {
                        Some(v) => {
                            let path: Vec<&str> = match reference.module {
                                Some(p) => vec![f.index.str(p), "var", &name],
                                None => vec!["var", &name],
                            };
                            if let Err(e) = budget.take(path.join("."), || v.size()) {
                                too_big(&src, &mut r, &mut broken, reference.span, e);
                                continue;
                            }
                            scope.insert(&path, v.to_hcl());
                        }
                        None => runtime.push(reference.span),
                    }
                }
                Target::Local { module: m, name } => {
                    let mod_name = index.module(m).map(|x| x.name.as_str()).unwrap_or("");
                    depends.insert(i.intern(&format!("{mod_name}.local.{name}")));
                    match model
                        .values
                        .local(&model.index, m, &name)
                        .and_then(|l| l.value.as_ref())
                    {
                        Some(v) if !v.has_unknown() => {
                            if let Err(e) = budget.take(format!("local.{name}"), || v.size()) {
                                too_big(&src, &mut r, &mut broken, reference.span, e);
                                continue;
                            }
                            scope.insert(&["local", &name], v.to_hcl())
                        }
                        _ => runtime.push(reference.span),
                    }
                }
                Target::Resource {
                    id: tid,
                    prefix,
                    kind,
                    name,
                } => {
                    if in_children {
                        // Powerpipe refuses to load a benchmark whose children are of a
                        // type it cannot hold, or list one child twice.
                        let child = match &prefix {
                            Some(p) => format!("{p}.{kind}.{name}"),
                            None => format!("{kind}.{name}"),
                        };
                        if let Some((bt, kinds)) = children_kinds
                            && !kinds.contains(&kind.as_str())
                        {
                            r.diagnostics.push(span_diagnostic(
                                &src,
                                Severity::Error,
                                reference.span,
                                format!(
                                    "invalid child {child}: a {} benchmark's children are {}",
                                    bt.as_str(),
                                    match bt {
                                        BenchmarkType::Control => "benchmarks and controls",
                                        BenchmarkType::Detection =>
                                            "detection benchmarks and detections",
                                    }
                                ),
                            ));
                        } else if is_benchmark && !seen_children.insert(tid) {
                            // The same resource, however it is spelled (`control.c`,
                            // `this_mod.control.c`).
                            r.diagnostics.push(span_diagnostic(
                                &src,
                                Severity::Error,
                                reference.span,
                                format!("duplicate child {child}: it is already listed"),
                            ));
                        }
                        continue;
                    }
                    if cycle.contains(&tid) {
                        let text = self.cycle_text(model, id, tid, cycle);
                        r.diagnostics.push(span_diagnostic(
                            &src,
                            Severity::Error,
                            reference.span,
                            format!("reference cycle: {text}"),
                        ));
                        broken.push(reference.span);
                        // Depends on the other members: an edit that breaks the cycle
                        // makes this resource stale, and its error goes.
                        if let Some(n) = index.qualified_name(tid) {
                            depends.insert(i.intern(&n));
                        }
                        continue;
                    }
                    let dep = match dep(tid) {
                        Some(d) => d,
                        None => {
                            // Everything it needs was built before it; should the index and
                            // this disagree, resolving it here is still right.
                            tracing::warn!(resource = %r.name, "a dependency was not resolved first");
                            self.resolve(model, tid)
                        }
                    };
                    via.push(dep.depends.clone());
                    let path: Vec<&str> = match &prefix {
                        Some(p) => vec![p, &kind, &name],
                        None => vec![&kind, &name],
                    };
                    if let Err(e) = budget.take(path.join("."), || dep.value_size()) {
                        too_big(&src, &mut r, &mut broken, reference.span, e);
                        continue;
                    }
                    scope.insert(&path, dep.to_object());
                }
                Target::Runtime => runtime.push(reference.span),
                Target::Opaque => runtime.push(reference.span),
                Target::Unknown(message) => {
                    r.diagnostics.push(span_diagnostic(
                        &src,
                        Severity::Error,
                        reference.span,
                        message,
                    ));
                    broken.push(reference.span);
                    // Depends on the name it would have: an edit that creates it makes
                    // this resource stale, and its error goes.
                    let mod_name = match reference.module {
                        Some(m) => f.index.str(m),
                        None => index.module(module).map(|x| x.name.as_str()).unwrap_or(""),
                    };
                    depends.insert(i.intern(&format!(
                        "{mod_name}.{}.{}",
                        f.index.str(reference.kind),
                        f.index.str(reference.name)
                    )));
                }
            }
        }
        // The index fields, as the dump shows them; one that fails to evaluate is an error
        // here when the expression is this block's own (an inherited one is its base's).
        let field_error = |field: &Field, key: AttrKey, r: &mut Resource| {
            if let Field::Error { diagnostic, .. } = field
                && f.index.attr(b, key).is_some_and(|a| {
                    a.span.start <= diagnostic.start.byte && diagnostic.start.byte <= a.span.end
                })
            {
                r.diagnostics.push(diagnostic.clone());
            }
        };
        // The block's own fields that use another resource's attribute the index does not
        // hold: evaluated below with the resources it refers to resolved (their objects are
        // in `scope`).
        // Those the block does not write come from its base, resolved (below).
        let mut own_resolved: Vec<AttrKey> = Vec::new();
        let mut from_resolved: Vec<AttrKey> = Vec::new();
        let mut needs_resolving = |field: &Field, key: AttrKey| {
            if field.needs_resolving() {
                from_resolved.push(key);
                if f.index.attr(b, key).is_some() {
                    own_resolved.push(key);
                }
            }
        };
        for key in [AttrKey::Title, AttrKey::Description, AttrKey::Tags] {
            let field = self.field(model, id, key);
            field_error(&field, key, &mut r);
            needs_resolving(&field, key);
            if let Field::Value(v) = field {
                set_field(&mut r, key, Some(v), i);
            }
        }
        if let Some(children) = index.child_names(id) {
            r.children = children.iter().map(|c| i.intern(c)).collect();
        }
        let snippet = Snippet::new(
            &src,
            Span {
                start: b.start.byte,
                end: b.end.byte,
            },
        );
        let body = match snippet.parse_body() {
            Ok(body) => body,
            Err(d) => {
                // One message for one mistake: not when the scanner has already reported a
                // syntax error in this block.
                if !super::scanner_error_in(&f.index, b.start.byte, b.end.byte) {
                    r.diagnostics.push(d);
                }
                return finish(r, depends, via);
            }
        };
        let Some(block) = body.blocks().next() else {
            return finish(r, depends, via);
        };
        let ctx = EvalCtx {
            evaluates,
            snippet: &snippet,
            ctx: scope.context(&snippet.text),
            runtime: &runtime,
            broken: &broken,
            reader: values::file_reader(&*self.sources, index, module),
            interner: i,
        };
        let own_fields = [AttrKey::Title, AttrKey::Description, AttrKey::Tags];
        let mut base_id: Option<ResourceId> = None;
        let mut attributes: Vec<(Text, Val)> = Vec::new();
        for attr in block.body.attributes() {
            let key = attr.key.as_str();
            // An own field that needs resolving: evaluated here.
            if let Some(field) = own_resolved.iter().copied().find(|k| k.as_str() == key) {
                let Some(v) = ctx.attribute(attr, &mut r.diagnostics) else {
                    continue;
                };
                if v.has_unknown() {
                    // Known only when it runs: not set, and not the base's either.
                    from_resolved.retain(|k| *k != field);
                    continue;
                }
                match field_value(field, v, i) {
                    Ok(v) => set_field(&mut r, field, v, i),
                    Err(m) => {
                        let at = attr.value.span().unwrap_or(0..0);
                        r.diagnostics
                            .push(snippet.diagnostic(Severity::Error, at, m));
                    }
                }
                continue;
            }
            match key {
                "title" | "description" | "tags" | "children" => {
                    let _ = own_fields;
                }
                "query" | "base" => {
                    let target = f.index.attr(
                        b,
                        if key == "query" {
                            AttrKey::Query
                        } else {
                            AttrKey::Base
                        },
                    );
                    match target.map(|a| a.value()) {
                        Some(AttrValue::Ref(ri)) => {
                            if let Some(reference) = f.index.refs.get(ri as usize) {
                                let name = self.ref_qualified(model, id.file, module, reference);
                                if key == "query" {
                                    r.query = Some(i.intern(&name));
                                } else {
                                    r.base = Some(i.intern(&name));
                                    // The resource the reference names, as its value was
                                    // resolved (the same lookup).
                                    if let Target::Resource { id: bid, .. } =
                                        self.target(model, id.file, module, reference)
                                    {
                                        base_id = Some(bid);
                                    }
                                }
                            }
                        }
                        _ => {
                            // `query = null` / `base = null`: not set (see `inherit`).
                            if let Some(v) = ctx.attribute(attr, &mut r.diagnostics)
                                && v != Val::Null
                            {
                                attributes.push((i.intern(key), v));
                            }
                        }
                    }
                }
                "sql" => r.sql = ctx.attribute(attr, &mut r.diagnostics),
                "args" => r.args = ctx.args(attr, &mut r.diagnostics),
                _ => {
                    if let Some(v) = ctx.attribute(attr, &mut r.diagnostics) {
                        attributes.push((i.intern(key), v));
                    }
                }
            }
        }
        for nested in block.body.blocks() {
            let ident = nested.ident.as_str();
            if is_nested_resource_type(ident.as_bytes()) && b.role == BlockRole::Resource {
                continue; // its own resource, listed in `children`
            }
            if ident == "param" {
                r.params.push(ctx.param(nested, &mut r.diagnostics));
            } else {
                r.blocks.push(ctx.member(nested, &mut r.diagnostics));
            }
        }
        attributes.sort_by(|a, b| a.0.cmp(&b.0));
        attributes.dedup_by(|a, b| a.0 == b.0);
        r.attributes = attributes;
        // `base`: what the block does not set, it inherits (documentation excepted, as
        // Powerpipe does); a base with children gives its children.
        if r.base.is_some()
            && let Some(base_id) = base_id
            && !cycle.contains(&base_id)
        {
            let base = dep(base_id).unwrap_or_else(|| self.resolve(model, base_id));
            inherit(&mut r, &base);
            // A field evaluated here (or inherited from one) gives way to the base's when
            // null, as the index fields do (tags merge, the block's own winning).
            for key in &from_resolved {
                match key {
                    AttrKey::Title if r.title.is_none() => r.title = base.title.clone(),
                    AttrKey::Description if r.description.is_none() => {
                        r.description = base.description.clone();
                    }
                    AttrKey::Tags => {
                        for (k, v) in &base.tags {
                            if !r.tags.iter().any(|(mine, _)| mine == k) {
                                r.tags.push((k.clone(), v.clone()));
                            }
                        }
                        r.tags.sort_by(|a, b| a.0.cmp(&b.0));
                    }
                    _ => {}
                }
            }
        }
        // A control runs a query: Powerpipe refuses one that, its base's included, has
        // neither (`Control.OnDecoded`, after `setBaseProperties`); `sql = null` is none.
        // Not when a written one failed: a failing value or an unknown reference has its own
        // error.
        let writes = |key: &str| block.body.attributes().any(|a| a.key.as_str() == key);
        let no_sql = match (&r.sql, writes("sql")) {
            (Some(Val::Null), _) => true,
            (sql, written) => sql.is_none() && !written,
        };
        if kind == "control" && no_sql && r.query.is_none() && !writes("query") {
            r.diagnostics.push(Diagnostic {
                severity: Severity::Error,
                start: b.start,
                end: crate::index::pos_in_block(b, b.name_span().end),
                message: format!(
                    "{} must define either a 'sql' property or a 'query' property",
                    r.name
                ),
            });
        }
        finish(r, depends, via)
    }

    fn build_variable(&self, model: &Model, module: ModId, r: &mut Resource) {
        let i = &self.interner;
        let Some(v) = model.values.var(&model.index, module, &r.short_name) else {
            return;
        };
        r.description = v.description.as_deref().map(|d| i.intern(d));
        let mut attrs: Vec<(Text, Val)> = Vec::new();
        if let Some(val) = &v.value {
            attrs.push((i.intern("value"), val.clone()));
        }
        if let Some(d) = &v.default {
            attrs.push((i.intern("default"), d.clone()));
        }
        if let Some(t) = &v.ty {
            attrs.push((i.intern("type"), Val::Str(i.intern(&t.describe()))));
        }
        attrs.push((
            i.intern("value_source"),
            Val::Str(i.intern(&v.source.describe())),
        ));
        attrs.sort_by(|a, b| a.0.cmp(&b.0));
        r.attributes = attrs;
        let tags = self.field(model, v.resource, AttrKey::Tags);
        if let Some(fd) = tags.error() {
            r.diagnostics.push(fd.diagnostic);
        }
        if let Field::Value(Val::Object(tags)) = tags {
            r.tags = tags
                .iter()
                .map(|(k, x)| {
                    (
                        k.clone(),
                        i.intern(&x.to_display_string().unwrap_or_default()),
                    )
                })
                .collect();
        }
    }

    fn build_local(&self, model: &Model, module: ModId, r: &mut Resource) {
        let i = &self.interner;
        if let Some(l) = model.values.local(&model.index, module, &r.short_name)
            && let Some(v) = &l.value
        {
            r.attributes = vec![(i.intern("value"), v.clone())];
        }
    }

    /// What a reference of a block in `file` (of `module`) names.
    fn target(&self, model: &Model, file: FileId, module: ModId, r: &Reference) -> Target {
        let index = &model.index;
        let Some(f) = index.file(file) else {
            return Target::Opaque;
        };
        let kind = f.index.str(r.kind);
        let name = f.index.str(r.name);
        if r.scoped() {
            return Target::Runtime;
        }
        let (target_mod, prefix) = match r.module {
            None => (module, None),
            Some(m) => {
                let dep = f.index.str(m);
                match self.dependency(model, module, dep) {
                    Some(d) => (d, Some(dep.to_string())),
                    None if index.mod_named(dep).is_some() => {
                        return Target::Unknown(format!(
                            "`{dep}.{kind}.{name}`: mod `{dep}` is installed but is not a \
                             dependency of this mod (only the mods its `require` block names \
                             can be referred to)"
                        ));
                    }
                    None => {
                        return Target::Unknown(format!(
                            "`{dep}.{kind}.{name}`: no installed dependency mod is named `{dep}`"
                        ));
                    }
                }
            }
        };
        match kind {
            "var" => {
                if model.values.has_var(target_mod, name) {
                    Target::Var {
                        module: target_mod,
                        name: name.to_string(),
                    }
                } else {
                    Target::Unknown(format!("unknown variable `{}var.{name}`", dotted(&prefix)))
                }
            }
            "local" => {
                if prefix.is_some() {
                    return Target::Unknown(format!(
                        "`{}local.{name}`: a dependency's locals are private to it",
                        dotted(&prefix)
                    ));
                }
                if model.values.has_local(target_mod, name) {
                    Target::Local {
                        module: target_mod,
                        name: name.to_string(),
                    }
                } else {
                    Target::Unknown(format!("unknown local value `local.{name}`"))
                }
            }
            "param" | "with" | "input" | "self" | "each" | "step" | "count" => Target::Runtime,
            _ if is_nested_resource_type(kind.as_bytes()) => {
                match index.lookup(target_mod, kind, name).first() {
                    Some(&id) => Target::Resource {
                        id,
                        prefix,
                        kind: kind.to_string(),
                        name: name.to_string(),
                    },
                    None => Target::Unknown(format!(
                        "unknown reference `{}{kind}.{name}`: no {kind} by that name in mod `{}`",
                        dotted(&prefix),
                        index
                            .module(target_mod)
                            .map(|m| m.name.as_str())
                            .unwrap_or("")
                    )),
                }
            }
            _ => match index.lookup(target_mod, kind, name).first() {
                Some(&id) => Target::Resource {
                    id,
                    prefix,
                    kind: kind.to_string(),
                    name: name.to_string(),
                },
                None => Target::Opaque,
            },
        }
    }

    /// The mod that `module` calls `dep`: itself by its own name, or one of its requires
    /// ([`Index::mod_for_prefix`]).
    fn dependency(&self, model: &Model, module: ModId, dep: &str) -> Option<ModId> {
        model.index.mod_for_prefix(module, dep)
    }

    /// A reference's target as a qualified name (`mod.type.name`), found or not.
    fn ref_qualified(&self, model: &Model, file: FileId, module: ModId, r: &Reference) -> String {
        let index = &model.index;
        let Some(f) = index.file(file) else {
            return String::new();
        };
        let target_mod = match r.module {
            Some(m) => self.dependency(model, module, f.index.str(m)),
            None => Some(module),
        };
        let mod_name = match (target_mod, r.module) {
            (Some(m), _) => index.module(m).map(|x| x.name.clone()).unwrap_or_default(),
            (None, Some(m)) => f.index.str(m).to_string(),
            (None, None) => String::new(),
        };
        format!("{mod_name}.{}.{}", f.index.str(r.kind), f.index.str(r.name))
    }

    /// The resources whose values `id` needs (not its `children`), from the index alone.
    fn value_deps(&self, model: &Model, id: ResourceId) -> Vec<ResourceId> {
        let index = &model.index;
        let (Some(f), Some(b)) = (index.file(id.file), index.block(id)) else {
            return Vec::new();
        };
        if b.role == BlockRole::Local
            || (index.kind_of(id) == Some("variable") && b.parent.is_none())
        {
            return Vec::new();
        }
        let own = own_blocks(&f.index, id.block);
        let children_span = f
            .index
            .attr(b, AttrKey::Children)
            .map(|a| a.span)
            .unwrap_or_default();
        let mut out: Vec<ResourceId> = block_refs(&f.index, id.block)
            .iter()
            .filter(|r| {
                r.block().is_some_and(|o| own.binary_search(&o).is_ok())
                    && !contains(children_span, r.span)
            })
            .filter_map(|r| match self.target(model, id.file, f.module, r) {
                Target::Resource { id, .. } => Some(id),
                _ => None,
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// `from → to → ... → from`: the shortest way back from `to` to `from` inside their
    /// cycle (a cycle longer than [`CYCLE_SHOWN`] is named by its ends and its length).
    fn cycle_text(&self, model: &Model, from: ResourceId, to: ResourceId, cycle: &Cycle) -> String {
        let index = &model.index;
        let short = |id: ResourceId| {
            let kind = index.kind_of(id).map(reference_kind).unwrap_or("?");
            let name = index
                .name_of(id)
                .map(|n| n.into_owned())
                .unwrap_or_default();
            format!("{kind}.{name}")
        };
        if cycle.len() > CYCLE_SHOWN {
            return format!(
                "{} → {} → … → {} ({} resources in the cycle)",
                short(from),
                short(to),
                short(from),
                cycle.len()
            );
        }
        // Walk from `to` back to `from` inside the component (breadth first, shortest).
        let mut prev: HashMap<ResourceId, ResourceId> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([to]);
        let mut seen: BTreeSet<ResourceId> = BTreeSet::from([to]);
        while let Some(u) = queue.pop_front() {
            if u == from {
                break;
            }
            for v in self.value_deps(model, u) {
                if cycle.contains(&v) && seen.insert(v) {
                    prev.insert(v, u);
                    queue.push_back(v);
                }
            }
        }
        let mut path = vec![from];
        let mut cur = from;
        while cur != to {
            match prev.get(&cur) {
                Some(&p) => {
                    path.push(p);
                    cur = p;
                }
                None => break,
            }
        }
        // path is from ← ... ← to reversed: from, (pred of from), ..., to; print forward.
        let mut names: Vec<String> = vec![short(from)];
        names.extend(path.iter().rev().map(|&n| short(n)));
        names.dedup();
        if names.last() != names.first() {
            names.push(short(from));
        }
        names.join(" → ")
    }

    // ----- index fields ------------------------------------------------------------------

    /// The evaluated title, description or tags of a resource, as the index shows them:
    /// literals directly, expressions evaluated from just their span (once, then
    /// remembered), inherited through `base` when the block has none.
    ///
    /// A field may use other resources' fields (`title = benchmark.other.title`) and its
    /// base's: those are computed first, without recursion — an explicit stack of the
    /// fields being computed, each waiting for the next one it uses; a field asked for while
    /// it is on the stack is a cycle, unknown.
    pub fn field(&self, model: &Model, id: ResourceId, key: AttrKey) -> Field {
        if let Some(m) = self.fields.peek(&(id, key)) {
            return m.field;
        }
        // What this computation found (the bounded cache may let some go before use).
        let mut done: foldhash::HashMap<(ResourceId, AttrKey), Memo> = Default::default();
        let mut on_stack: foldhash::HashSet<(ResourceId, AttrKey)> = Default::default();
        on_stack.insert((id, key));
        let mut stack: Vec<FieldFrame> = vec![self.field_frame(model, id, key)];
        // The result of a field this one uses: computed, remembered, or (on the stack) a
        // cycle; `None` when it is still to compute.
        let known = |at: (ResourceId, AttrKey),
                     done: &mut foldhash::HashMap<(ResourceId, AttrKey), Memo>,
                     on_stack: &foldhash::HashSet<(ResourceId, AttrKey)>|
         -> Option<Field> {
            if let Some(m) = done.get(&at) {
                return Some(m.field.clone());
            }
            if let Some(m) = self.fields.peek(&at) {
                let f = m.field.clone();
                done.insert(at, m);
                return Some(f);
            }
            on_stack.contains(&at).then(in_a_cycle)
        };
        while let Some(top) = stack.last_mut() {
            // Its own value: every field it uses up to the first that stops it, then it.
            if top.own.is_none() {
                let mut wanted = None;
                if let Some(e) = &top.expr {
                    while let Some(r) = e.refs.get(top.next) {
                        match r {
                            FieldRef::Value(..) => {}
                            FieldRef::Stop(_) => break,
                            FieldRef::Field { at, .. } => match known(*at, &mut done, &on_stack) {
                                Some(Field::Unknown { .. } | Field::Error { .. }) => {
                                    top.used.push(*at);
                                    break;
                                }
                                Some(_) => top.used.push(*at),
                                None => {
                                    wanted = Some(*at);
                                    break;
                                }
                            },
                        }
                        top.next += 1;
                    }
                }
                if let Some(at) = wanted {
                    on_stack.insert(at);
                    stack.push(self.field_frame(model, at.0, at.1));
                    continue;
                }
                let own = match top.expr.take() {
                    Some(e) => self.evaluate_field(model, top.id, top.key, &e, &|at| {
                        done.get(&at)
                            .map(|m| m.field.clone())
                            .unwrap_or_else(in_a_cycle)
                    }),
                    None => top.literal.take().unwrap_or(Field::Absent),
                };
                top.own = Some(own);
            }
            // Then its base's, when it inherits.
            let inherits = matches!(
                (&top.own, top.key),
                (Some(Field::Absent), _) | (Some(Field::Value(Val::Object(_))), AttrKey::Tags)
            );
            let base = match top.base.filter(|_| inherits) {
                Some(bid) => match known((bid, top.key), &mut done, &on_stack) {
                    Some(f) => {
                        top.used.push((bid, top.key));
                        Some(f)
                    }
                    None => {
                        let at = (bid, top.key);
                        on_stack.insert(at);
                        stack.push(self.field_frame(model, at.0, at.1));
                        continue;
                    }
                },
                None => None,
            };
            let own = top.own.take().unwrap_or(Field::Absent);
            let at = (top.id, top.key);
            // Inheritance through `base` (title, description, tags; Powerpipe's rule: what
            // the block does not set; tags merged, the block's own keys winning).
            let out = match (own, at.1) {
                (Field::Absent, _) => base.unwrap_or(Field::Absent),
                (Field::Value(Val::Object(mine)), AttrKey::Tags) => match base {
                    Some(Field::Value(Val::Object(theirs))) => Field::Value(Val::object(
                        theirs.iter().cloned().chain(mine.iter().cloned()),
                    )),
                    // The base's are known once it is resolved: so are the merged ones.
                    Some(b) if b.needs_resolving() => b,
                    _ => Field::Value(Val::Object(mine)),
                },
                (own, _) => own,
            };
            // What it was computed from: the names it refers to, and what the fields it
            // used were computed from (a field on the stack, a cycle, is named directly).
            let deps = if top.reads_files {
                FieldDeps::Any
            } else {
                FieldDeps::of(
                    std::mem::take(&mut top.names),
                    top.used.iter().filter_map(|u| done.get(u)).map(|m| &m.deps),
                )
            };
            stack.pop();
            on_stack.remove(&at);
            let m = Memo { field: out, deps };
            self.fields.insert(at, m.clone());
            done.insert(at, m);
        }
        done.remove(&(id, key))
            .map(|m| m.field)
            .unwrap_or(Field::Absent)
    }

    /// What computing one index field starts from: its literal value, or its expression
    /// with the references in it classified (in order, up to the first that stops it), and
    /// the resource it inherits from.
    fn field_frame(&self, model: &Model, id: ResourceId, key: AttrKey) -> FieldFrame {
        self.fields_explored.fetch_add(1, Relaxed);
        let index = &model.index;
        let i = &self.interner;
        let mut frame = FieldFrame {
            id,
            key,
            literal: Some(Field::Absent),
            expr: None,
            next: 0,
            own: None,
            base: None,
            names: Vec::new(),
            used: Vec::new(),
            reads_files: false,
        };
        let (Some(f), Some(b)) = (index.file(id.file), index.block(id)) else {
            // Nothing to compute: absent, with nothing to inherit.
            frame.own = Some(Field::Absent);
            return frame;
        };
        frame.literal = match f.index.attr(b, key) {
            None => Some(Field::Absent),
            Some(attr) => match attr.value() {
                AttrValue::Str(s) | AttrValue::Scalar(s) => {
                    Some(Field::Value(Val::Str(i.intern(f.index.str(s)))))
                }
                AttrValue::Text => match self.sources.read(&f.path) {
                    Some(src) => Some(Field::Value(Val::Str(
                        i.intern(&decode_literal(src.get(attr.span.range()).unwrap_or(&[]))),
                    ))),
                    None => Some(Field::Absent),
                },
                AttrValue::Tags(_) => Some(Field::Value(Val::object(
                    f.index.tag_list(&attr.value()).iter().map(|t| {
                        (
                            i.intern(f.index.str(t.key)),
                            Val::Str(i.intern(f.index.str(t.value))),
                        )
                    }),
                ))),
                value => match self.field_expr(model, id, attr.span, value, &mut frame.names) {
                    Ok(e) => {
                        // What `file()` reads is not tracked by name (no edit of the
                        // workspace's mod files names it): such a field is recomputed after
                        // every edit, as every field was before fields were kept.
                        frame.reads_files = !self
                            .file_reads(&model.index, f.module, e.text.as_bytes())
                            .is_empty();
                        frame.expr = Some(e);
                        None
                    }
                    Err(known) => Some(known),
                },
            },
        };
        let base_ref = f
            .index
            .attr(b, AttrKey::Base)
            .and_then(|a| match a.value() {
                AttrValue::Ref(ri) => f.index.refs.get(ri as usize).copied(),
                _ => None,
            });
        if let Some(reference) = base_ref {
            // What `base` names, found or not (it may be defined, or moved, by an edit).
            frame.names.push(Text::from(
                self.ref_qualified(model, id.file, f.module, &reference),
            ));
            frame.base = match self.target(model, id.file, f.module, &reference) {
                Target::Resource { id: bid, .. } => Some(bid),
                _ => None,
            };
        }
        frame
    }

    /// An index field's expression, from its span, with what it refers to classified;
    /// `Err`: the field is known without evaluating (it cannot be).
    /// `names` gets the qualified names the expression refers to (up to the first that stops
    /// it), found or not: what its value depends on.
    fn field_expr(
        &self,
        model: &Model,
        id: ResourceId,
        span: Span,
        value: AttrValue,
        names: &mut Vec<Text>,
    ) -> Result<FieldExpr, Field> {
        self.fields_evaluated.fetch_add(1, Relaxed);
        let index = &model.index;
        let i = &self.interner;
        let Some(f) = index.file(id.file) else {
            return Err(Field::Absent);
        };
        // The expression's text: the index's when it kept it (then no file is read, and
        // it is the text the index was built from by construction), else the file's. `src`
        // holds it from byte `base` of the file.
        let kept = match value {
            AttrValue::Expr(Some(sym)) => Some(f.index.str(sym)),
            _ => None,
        }
        .filter(|t| t.len() == span.len() as usize);
        let file_text;
        let (src, base, changed): (&[u8], usize, bool) = match kept {
            Some(t) => (t.as_bytes(), span.start as usize, false),
            None => {
                file_text = self.sources.read(&f.path);
                let Some(src) = file_text.as_deref() else {
                    return Err(Field::Absent);
                };
                (src, 0, src.len() as u64 != u64::from(f.index.source_len))
            }
        };
        let local = |r: std::ops::Range<usize>| {
            src.get(r.start.wrapping_sub(base)..r.end.wrapping_sub(base))
        };
        let text = i.intern(&String::from_utf8_lossy(local(span.range()).unwrap_or(&[])));
        let unknown = |why: String| {
            tracing::debug!(file = %f.path, expr = %text, %why, "index field not evaluated");
            Field::Unknown {
                expr: text.clone(),
                why: Text::from(why),
            }
        };
        if changed {
            return Err(unknown("the file changed since it was indexed".into()));
        }
        if !is_powerpipe_file(&f.path) {
            return Err(unknown(
                "Flowpipe and Tailpipe files are indexed, not evaluated".into(),
            ));
        }
        let module = f.module;
        let mut out: Vec<FieldRef> = Vec::new();
        let refs = refs_in(&f.index, span)
            .iter()
            .filter(|r| contains(span, r.span));
        for reference in refs {
            let target = self.target(model, id.file, module, reference);
            match &target {
                Target::Var { module: m, name } | Target::Local { module: m, name } => {
                    let kind = if matches!(target, Target::Var { .. }) {
                        "var"
                    } else {
                        "local"
                    };
                    let mod_name = index.module(*m).map(|x| x.name.as_str()).unwrap_or("");
                    names.push(Text::from(format!("{mod_name}.{kind}.{name}")));
                }
                Target::Runtime | Target::Opaque => {}
                Target::Resource { .. } | Target::Unknown(_) => {
                    names.push(Text::from(
                        self.ref_qualified(model, id.file, module, reference),
                    ));
                }
            }
            let stop = match target {
                Target::Var { module: m, name } => {
                    match model
                        .values
                        .var(&model.index, m, &name)
                        .and_then(|v| v.value.as_ref())
                    {
                        Some(v) => {
                            let path: Vec<String> = match reference.module {
                                Some(p) => vec![f.index.str(p).into(), "var".into(), name],
                                None => vec!["var".into(), name],
                            };
                            out.push(FieldRef::Value(path, v.clone()));
                            None
                        }
                        None => Some(format!("variable `{name}` has no value")),
                    }
                }
                Target::Local { module: m, name } => {
                    match model
                        .values
                        .local(&model.index, m, &name)
                        .and_then(|l| l.value.as_ref())
                    {
                        Some(v) if !v.has_unknown() => {
                            out.push(FieldRef::Value(vec!["local".into(), name], v.clone()));
                            None
                        }
                        Some(_) => Some(format!(
                            "local `{name}` is known only when resources are resolved"
                        )),
                        None => Some(format!("local `{name}` has no value")),
                    }
                }
                Target::Resource {
                    id: tid,
                    prefix,
                    kind,
                    name,
                } => {
                    // Which field of it: the attribute right after the reference.
                    let after =
                        local(reference.span.end as usize..span.end as usize).unwrap_or(&[]);
                    let wanted = following_attribute(after);
                    match wanted.and_then(|w| match w {
                        "title" => Some(AttrKey::Title),
                        "description" => Some(AttrKey::Description),
                        "tags" => Some(AttrKey::Tags),
                        _ => None,
                    }) {
                        Some(wkey) => {
                            let w = wanted.unwrap_or("title").to_string();
                            let path: Vec<String> = match prefix {
                                Some(p) => vec![p, kind, name, w],
                                None => vec![kind, name, w],
                            };
                            out.push(FieldRef::Field {
                                path,
                                at: (tid, wkey),
                            });
                            None
                        }
                        None => Some(format!(
                            "{NEEDS_RESOLVING} `{kind}.{name}` are known without resolving it"
                        )),
                    }
                }
                Target::Runtime | Target::Opaque => Some("known only when it runs".into()),
                Target::Unknown(m) => Some(m),
            };
            if let Some(why) = stop {
                out.push(FieldRef::Stop(why));
                break;
            }
        }
        Ok(FieldExpr {
            span,
            text,
            refs: out,
        })
    }

    /// Evaluates an index field's expression; `field` gives the fields it uses (computed
    /// before it, up to the first that is unknown).
    fn evaluate_field(
        &self,
        model: &Model,
        id: ResourceId,
        key: AttrKey,
        e: &FieldExpr,
        field: &dyn Fn((ResourceId, AttrKey)) -> Field,
    ) -> Field {
        let index = &model.index;
        let i = &self.interner;
        let Some(f) = index.file(id.file) else {
            return Field::Absent;
        };
        let (span, text) = (e.span, &e.text);
        let unknown = |why: String| {
            tracing::debug!(file = %f.path, expr = %text, %why, "index field not evaluated");
            Field::Unknown {
                expr: text.clone(),
                why: Text::from(why),
            }
        };
        let module = f.module;
        // The commonest shapes (`merge(local.x, { k = "v" })`, `local.x`) need no hcl-rs
        // when every reference is a variable or a local (`simple` answers only when its
        // value is exactly the general evaluation's).
        let simple = e
            .refs
            .iter()
            .all(|r| matches!(r, FieldRef::Value(p, _) if p.len() == 2))
            .then(|| {
                let lookup = |root: &str, name: &str| {
                    e.refs.iter().find_map(|r| match r {
                        FieldRef::Value(p, v) if p[0] == root && p[1] == name => Some(v.clone()),
                        _ => None,
                    })
                };
                super::simple::value(text, &lookup, i)
            })
            .flatten();
        let mut scope = Scope::new();
        let mut budget = Budget::default();
        for r in &e.refs {
            let (path, v) = match r {
                FieldRef::Stop(why) => return unknown(why.clone()),
                FieldRef::Value(path, v) => (path, v.clone()),
                FieldRef::Field { path, at } => match field(*at) {
                    Field::Value(v) => (path, v),
                    Field::Absent => (path, Val::Null),
                    Field::Unknown { why, .. } => return unknown(why.to_string()),
                    // Reported where it fails, once.
                    Field::Error { .. } => {
                        return unknown(format!("`{}` cannot be evaluated", path.join(".")));
                    }
                },
            };
            if let Err(e) = budget.take(path.join("."), || v.size()) {
                return unknown(e.to_string());
            }
            if simple.is_none() {
                let path: Vec<&str> = path.iter().map(String::as_str).collect();
                scope.insert(&path, v.to_hcl());
            }
        }
        // What fails here fails in Powerpipe too: an error at the expression.
        let error = |why: String| {
            let message = format!("cannot evaluate `{}`: {why}", key.as_str());
            let diagnostic = match self.sources.read(&f.path) {
                Some(src) => eval::span_diagnostic(&src, Severity::Error, span, message),
                // Unreadable now: at the start of the block, which the index knows.
                None => {
                    let at = index.block(id).map(|b| b.start).unwrap_or_default();
                    Diagnostic {
                        severity: Severity::Error,
                        start: at,
                        end: at,
                        message,
                    }
                }
            };
            Field::Error {
                expr: text.clone(),
                file: i.intern(&f.path),
                diagnostic,
            }
        };
        let evaluated = match simple {
            Some(v) => Ok(v),
            None => {
                // The expression's own text (what `field_expr` took from the index or the
                // file): no file is read unless the evaluation fails and its diagnostic
                // needs a position.
                let expr = match eval::parse_expr_text(text) {
                    Ok(e) => hcl::Expression::from(e),
                    Err(e) => return unknown(eval::syntax_error_message(&e)),
                };
                let reader = values::file_reader(&*self.sources, index, module);
                super::funcs::with_file_reader(reader, || {
                    eval::evaluate_text(&expr, text, scope, i)
                })
            }
        };
        match evaluated {
            Ok(v) if v.has_unknown() => unknown("known only when it runs".into()),
            Ok(v) => match field_value(key, v, i) {
                Ok(Some(v)) => Field::Value(v),
                Ok(None) => Field::Absent,
                Err(m) => error(m),
            },
            Err(m) => error(m),
        }
    }
}

/// How the reason of a field that uses another resource's attribute (other than its title,
/// description or tags) begins: [`Field::needs_resolving`].
const NEEDS_RESOLVING: &str = "only the title, description and tags of";

/// An evaluated title, description or tags (nothing in it unknown) as a field holds it:
/// `None` not set (a null; tags too: `base`'s apply, as Powerpipe's `MergeMaps(nil,
/// base.Tags)` gives them), a string (a number or a bool converts), tags a map of strings;
/// otherwise the message of the error. For the index fields and for those the resolver
/// evaluates ([`Field::needs_resolving`]) alike.
fn field_value(key: AttrKey, v: Val, i: &Interner) -> Result<Option<Val>, String> {
    match (key, &v) {
        (_, Val::Null) => Ok(None),
        // gohcl decodes `tags` into a `map[string]string`: a number or a bool converts; a
        // null entry ("null value is not allowed"), a list or an object does not, and
        // Powerpipe refuses the resource.
        (AttrKey::Tags, Val::Object(o)) => match o
            .iter()
            .find(|(_, v)| matches!(v, Val::Null | Val::List(_) | Val::Object(_)))
        {
            Some((k, Val::Null)) => {
                Err(format!("tags must be a map of strings: tag `{k}` is null"))
            }
            Some((k, x)) => Err(format!(
                "tags must be a map of strings: tag `{k}` is {}",
                if matches!(x, Val::Object(_)) {
                    "an object"
                } else {
                    "a list"
                }
            )),
            None => Ok(Some(v)),
        },
        (AttrKey::Tags, other) => Err(format!(
            "tags must be a map of strings, not a {}",
            other.type_name()
        )),
        (_, Val::Str(_) | Val::Number(_) | Val::Bool(_)) => Ok(Some(Val::Str(
            i.intern(&v.to_display_string().unwrap_or_default()),
        ))),
        (_, other) => Err(format!("a string is required, not a {}", other.type_name())),
    }
}

/// Sets a resolved resource's title, description or tags from a field's value (see
/// [`field_value`]; `None`: not set).
fn set_field(r: &mut Resource, key: AttrKey, v: Option<Val>, i: &Interner) {
    let text = |v: Option<Val>| v.and_then(|v| v.to_display_string()).map(|s| i.intern(&s));
    match key {
        AttrKey::Title => r.title = text(v),
        AttrKey::Description => r.description = text(v),
        _ => {
            r.tags = match v {
                Some(Val::Object(tags)) => tags
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            i.intern(&v.to_display_string().unwrap_or_else(|| v.to_hcl_text())),
                        )
                    })
                    .collect(),
                _ => Vec::new(),
            }
        }
    }
}

/// What a field refers to from inside a cycle of fields.
fn in_a_cycle() -> Field {
    Field::Unknown {
        expr: Text::from(""),
        why: Text::from("it refers to itself through a cycle"),
    }
}

/// One index field being computed by [`Resolver::field`].
struct FieldFrame {
    id: ResourceId,
    key: AttrKey,
    /// Its own value when known without evaluating (a literal, or absent).
    literal: Option<Field>,
    /// Its expression, when it has one to evaluate.
    expr: Option<FieldExpr>,
    /// The next of `expr`'s references to make sure of.
    next: usize,
    /// Its own value, once computed.
    own: Option<Field>,
    /// The resource it inherits from.
    base: Option<ResourceId>,
    /// The names it refers to (its expression's and its base's), found or not.
    names: Vec<Text>,
    /// The fields it used (computed before it).
    used: Vec<(ResourceId, AttrKey)>,
    /// Its expression calls `file()`.
    reads_files: bool,
}

/// An index field's expression and what it refers to, in order.
struct FieldExpr {
    span: Span,
    /// The expression as written.
    text: Text,
    refs: Vec<FieldRef>,
}

/// One reference of an index field's expression.
enum FieldRef {
    /// A variable or local: its value, at this path of the scope.
    Value(Vec<String>, Val),
    /// Another resource's field (its title, description or tags), at this path.
    Field {
        path: Vec<String>,
        at: (ResourceId, AttrKey),
    },
    /// The expression cannot be evaluated, for this reason (what follows does not matter).
    Stop(String),
}

/// The hash [`Resource::text_hash`] holds (fixed seed: the same text, the same hash).
fn text_hash(bytes: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x6d6c_7478).build_hasher();
    h.write(bytes);
    h.finish()
}

/// A position moved by a line and byte delta.
fn shift(p: Pos, lines: i64, bytes: i64) -> Pos {
    Pos {
        line: (i64::from(p.line) + lines).clamp(1, i64::from(u32::MAX)) as u32,
        column: p.column,
        byte: (i64::from(p.byte) + bytes).clamp(0, i64::from(u32::MAX)) as u32,
    }
}

/// True for the files Powerpipe itself loads (`.pp`, `.sp`): the ones evaluated.
fn is_powerpipe_file(path: &str) -> bool {
    path.ends_with(".pp") || path.ends_with(".sp")
}

fn dotted(prefix: &Option<String>) -> String {
    prefix.as_ref().map(|p| format!("{p}.")).unwrap_or_default()
}

/// The attribute name right after a reference (`.title` → `title`).
fn following_attribute(after: &[u8]) -> Option<&str> {
    let rest = after.strip_prefix(b".")?;
    let n = rest
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-'))
        .unwrap_or(rest.len());
    std::str::from_utf8(&rest[..n])
        .ok()
        .filter(|s| !s.is_empty())
}

fn contains(outer: Span, inner: Span) -> bool {
    !outer.is_empty() && inner.start >= outer.start && inner.end <= outer.end
}

/// The references whose span starts inside `span` (references are in source order).
fn refs_in(fi: &FileIndex, span: Span) -> &[Reference] {
    let lo = fi.refs.partition_point(|r| r.span.start < span.start);
    let hi = fi.refs.partition_point(|r| r.span.start < span.end);
    &fi.refs[lo..hi.max(lo)]
}

/// The references inside a block's span.
fn block_refs(fi: &FileIndex, block: BlockId) -> &[Reference] {
    match fi.block(block) {
        Some(b) => refs_in(
            fi,
            Span {
                start: b.start.byte,
                end: b.end.byte,
            },
        ),
        None => &[],
    }
}

/// The block and its descendants that are not inside a nested resource (their references
/// belong to the block), in ascending order (searched with a binary search: a dashboard
/// holds thousands of nested blocks).
fn own_blocks(fi: &FileIndex, block: BlockId) -> Vec<BlockId> {
    let mut out = vec![block];
    let Some(b) = fi.block(block) else {
        return out;
    };
    let end = b.end.byte;
    let mut k = block.index() + 1;
    while let Some(c) = fi.blocks.get(k) {
        if c.start.byte >= end {
            break;
        }
        let cid = BlockId::new(k);
        let owned = c.role != BlockRole::Resource
            && c.parent.is_some_and(|p| out.binary_search(&p).is_ok());
        if owned {
            out.push(cid);
        }
        k += 1;
    }
    out
}

/// Reports a reference whose value would make the block's evaluation too large, and
/// marks it broken (what uses it is not evaluated).
fn too_big(src: &[u8], r: &mut Resource, broken: &mut Vec<Span>, span: Span, e: TooBig) {
    r.diagnostics
        .push(span_diagnostic(src, Severity::Error, span, e.to_string()));
    broken.push(span);
}

fn at_block(b: &crate::syntax::Block, message: String) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        start: b.start,
        end: b.start,
        message,
    }
}

fn empty(name: Text, i: &Interner) -> Resource {
    let depends = Depends::none(name.clone());
    Resource {
        name,
        kind: i.intern(""),
        short_name: i.intern(""),
        module: i.intern(""),
        file: i.intern(""),
        start: Pos::default(),
        end: Pos::default(),
        title: None,
        description: None,
        tags: Vec::new(),
        sql: None,
        query: None,
        base: None,
        params: Vec::new(),
        args: None,
        children: Vec::new(),
        attributes: Vec::new(),
        blocks: Vec::new(),
        depends,
        diagnostics: Vec::new(),
        text_hash: 0,
        file_reads: Default::default(),
    }
}

fn finish(mut r: Resource, depends: BTreeSet<Text>, via: Vec<Depends>) -> Resource {
    r.depends = Depends::new(r.name.clone(), r.depends.in_cycle(), depends, via);
    r.diagnostics.sort_by_key(|d| (d.start.byte, d.end.byte));
    r.diagnostics.dedup();
    r
}

/// True for a value Powerpipe holds as not set: none, or `null` (gohcl decodes a null into
/// a nil field, which `setBaseProperties` fills from `base` as it does a missing one).
fn unset(v: Option<&Val>) -> bool {
    v.is_none_or(|v| *v == Val::Null)
}

/// Copies what `r` does not set (or sets to `null`) from its base. A null it keeps when
/// the base has nothing either: a reference to the attribute gives null, as Powerpipe's
/// value of the resource does.
fn inherit(r: &mut Resource, base: &Resource) {
    if unset(r.sql.as_ref()) && r.query.is_none() {
        r.sql = base.sql.clone().or(r.sql.take());
        r.query = base.query.clone();
    }
    if r.args.is_none() {
        r.args = base.args.clone();
    }
    if r.params.is_empty() {
        r.params = base.params.clone();
    }
    if !base.children.is_empty() {
        r.children = base.children.clone();
    }
    let inherited: Vec<(Text, Val)> = base
        .attributes
        .iter()
        .filter(|(k, _)| &**k != "documentation" && unset(r.attribute(k)))
        .cloned()
        .collect();
    // The block's own nulls give way to what the base has.
    r.attributes
        .retain(|(k, _)| !inherited.iter().any(|(ik, _)| ik == k));
    r.attributes.extend(inherited);
    r.attributes.sort_by(|a, b| a.0.cmp(&b.0));
    if r.blocks.is_empty() {
        r.blocks = base.blocks.clone();
    }
}

/// What evaluating one block's attributes needs.
struct EvalCtx<'a> {
    /// False for Flowpipe and Tailpipe files: expressions are kept as written.
    evaluates: bool,
    snippet: &'a Snippet<'a>,
    /// The scope as an evaluation context, built once for the whole block.
    ctx: hcl::eval::Context<'static>,
    runtime: &'a [Span],
    broken: &'a [Span],
    reader: super::funcs::FileReader,
    interner: &'a Interner,
}

impl EvalCtx<'_> {
    fn span_has(&self, list: &[Span], span: Span) -> bool {
        list.iter().any(|r| contains(span, *r))
    }

    /// Evaluates one expression; `None` when it is broken (already reported) or fails (then
    /// reported here).
    fn expr(
        &self,
        e: &hcl::edit::expr::Expression,
        what: &str,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Val> {
        let r = e.span().unwrap_or(0..0);
        let span = self.snippet.file_span(r.clone());
        if self.span_has(self.broken, span) {
            return None;
        }
        let text = || {
            self.interner
                .intern(self.snippet.text.get(r.clone()).unwrap_or("").trim())
        };
        if !self.evaluates || self.span_has(self.runtime, span) {
            return Some(Val::Unknown(text()));
        }
        let expr = hcl::Expression::from(e.clone());
        let out = super::funcs::with_file_reader(self.reader.clone(), || {
            eval::evaluate_in(&expr, &self.ctx, self.interner)
        });
        match out {
            Ok(v) => Some(v),
            Err(m) => {
                diags.push(self.snippet.diagnostic(
                    Severity::Error,
                    r,
                    format!("cannot evaluate `{what}`: {m}"),
                ));
                None
            }
        }
    }

    fn attribute(
        &self,
        a: &hcl::edit::structure::Attribute,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Val> {
        self.expr(&a.value, a.key.as_str(), diags)
    }

    /// `args`: an object or a list, each entry evaluated alone so that one run-time entry
    /// leaves the others known.
    fn args(
        &self,
        a: &hcl::edit::structure::Attribute,
        diags: &mut Vec<Diagnostic>,
    ) -> Option<Val> {
        use hcl::edit::expr::{Expression as E, ObjectKey};
        match &a.value {
            E::Object(obj) => {
                let mut out = Vec::new();
                for (k, v) in obj.iter() {
                    let key = match k {
                        ObjectKey::Ident(id) => id.as_str().to_string(),
                        ObjectKey::Expression(e) => match hcl::Expression::from(e.clone()) {
                            hcl::Expression::String(s) => s,
                            other => other.to_string(),
                        },
                    };
                    if let Some(val) = self.expr(v.expr(), &format!("args.{key}"), diags) {
                        out.push((self.interner.intern(&key), val));
                    }
                }
                Some(Val::object(out))
            }
            E::Array(arr) => Some(Val::List(
                arr.iter()
                    .enumerate()
                    .map(|(n, v)| {
                        self.expr(v, &format!("args[{n}]"), diags)
                            .unwrap_or(Val::Null)
                    })
                    .collect(),
            )),
            other => match self.expr(other, "args", diags) {
                Some(v @ (Val::Object(_) | Val::List(_) | Val::Unknown(_))) => Some(v),
                Some(v) => {
                    diags.push(self.snippet.diagnostic(
                        Severity::Error,
                        other.span().unwrap_or(0..0),
                        format!("`args` must be an object (by parameter name) or a list (by position), not a {}", v.type_name()),
                    ));
                    None
                }
                None => None,
            },
        }
    }

    fn param(&self, b: &hcl::edit::structure::Block, diags: &mut Vec<Diagnostic>) -> Param {
        let name = b.labels.first().map(label_text).unwrap_or_default();
        let mut p = Param {
            name: self.interner.intern(&name),
            description: None,
            default: None,
        };
        for a in b.body.attributes() {
            match a.key.as_str() {
                "description" => {
                    p.description = self
                        .attribute(a, diags)
                        .and_then(|v| v.to_display_string())
                        .map(|s| self.interner.intern(&s));
                }
                "default" => {
                    p.default = self.expr(&a.value, &format!("param.{name}.default"), diags)
                }
                _ => {}
            }
        }
        p
    }

    fn member(&self, b: &hcl::edit::structure::Block, diags: &mut Vec<Diagnostic>) -> MemberBlock {
        let labels: Vec<String> = b.labels.iter().map(label_text).collect();
        let mut attributes: Vec<(Text, Val)> = b
            .body
            .attributes()
            .filter_map(|a| {
                Some((
                    self.interner.intern(a.key.as_str()),
                    self.attribute(a, diags)?,
                ))
            })
            .collect();
        attributes.sort_by(|x, y| x.0.cmp(&y.0));
        MemberBlock {
            kind: self.interner.intern(b.ident.as_str()),
            label: (!labels.is_empty()).then(|| self.interner.intern(&labels.join("."))),
            attributes,
            blocks: b.body.blocks().map(|n| self.member(n, diags)).collect(),
        }
    }
}

fn label_text(label: &hcl::edit::structure::BlockLabel) -> String {
    match label {
        hcl::edit::structure::BlockLabel::String(s) => s.value().to_string(),
        hcl::edit::structure::BlockLabel::Ident(i) => i.value().to_string(),
    }
}

impl Resolver {
    /// An index field as the dump shows it (see [`crate::index::dump::FieldReader`]).
    pub fn dump_field(
        &self,
        model: &Model,
        id: ResourceId,
        key: AttrKey,
    ) -> Option<crate::index::dump::FieldText> {
        Some(self.dump_field_and_error(model, id, key).0)
    }

    /// [`Resolver::dump_field`] without resolving anything: a field that uses another
    /// resource's attribute the index does not hold stays its expression. For answers over
    /// many resources that must stay cheap (symbols).
    pub fn index_field(
        &self,
        model: &Model,
        id: ResourceId,
        key: AttrKey,
    ) -> crate::index::dump::FieldText {
        field_text(key, self.field(model, id, key))
    }

    /// [`Resolver::dump_field`] with the error the evaluation met, if any: one evaluation
    /// for both. A field that uses another resource's attribute the index does not hold
    /// ([`Field::needs_resolving`]) is taken from the resource resolved.
    pub fn dump_field_and_error(
        &self,
        model: &Model,
        id: ResourceId,
        key: AttrKey,
    ) -> (crate::index::dump::FieldText, Option<super::FileDiagnostic>) {
        use crate::index::dump::FieldText;
        let field = self.field(model, id, key);
        if !field.needs_resolving() {
            let error = field.error();
            return (field_text(key, field), error);
        }
        let r = self.resolve(model, id);
        let text = |t: &Option<Text>| match t {
            Some(t) => FieldText::Text(String::from(&**t)),
            None => FieldText::Absent,
        };
        let shown = match key {
            AttrKey::Title => text(&r.title),
            AttrKey::Description => text(&r.description),
            _ => FieldText::Tags(
                r.tags
                    .iter()
                    .map(|(k, v)| (String::from(&**k), String::from(&**v)))
                    .collect(),
            ),
        };
        // The resolver's error at the block's own expression, if it failed.
        let own = model.index.file(id.file).and_then(|f| {
            let b = f.index.block(id.block)?;
            let span = f.index.attr(b, key)?.span;
            let d = r.diagnostics.iter().find(|d| {
                d.severity == Severity::Error
                    && span.start <= d.start.byte
                    && d.start.byte <= span.end
            })?;
            Some(super::FileDiagnostic::new(&f.path, d.clone()))
        });
        match own {
            Some(error) => (FieldText::Unknown(field_expr_text(&field)), Some(error)),
            None => (shown, None),
        }
    }

    /// [`Resolver::dump_field`] if the field is computed already (`None` otherwise: nothing
    /// is evaluated).
    pub fn dump_field_cached(
        &self,
        id: ResourceId,
        key: AttrKey,
    ) -> Option<crate::index::dump::FieldText> {
        let field = self.fields.peek(&(id, key))?.field;
        if field.needs_resolving() {
            // Known from the resolved resource only: not ready until it is computed.
            return None;
        }
        Some(field_text(key, field))
    }
}

/// The expression of a field that is not known.
fn field_expr_text(field: &Field) -> String {
    match field {
        Field::Unknown { expr, .. } | Field::Error { expr, .. } => expr.to_string(),
        _ => String::new(),
    }
}

/// An index field as the dump shows it.
fn field_text(key: AttrKey, field: Field) -> crate::index::dump::FieldText {
    use crate::index::dump::FieldText;
    match field {
        Field::Absent => FieldText::Absent,
        // (`String::from(&*text)`, not `text.to_string()`: an `Arc<str>`'s goes through the
        // formatting machinery, a tenth of what a warm dashboards payload costs.)
        Field::Value(Val::Object(o)) if key == AttrKey::Tags => FieldText::Tags(
            o.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Val::Str(s) => String::from(&**s),
                        v => v.to_display_string().unwrap_or_else(|| v.to_hcl_text()),
                    };
                    (String::from(&**k), v)
                })
                .collect(),
        ),
        Field::Value(Val::Null) => FieldText::Absent,
        Field::Value(Val::Str(s)) => FieldText::Text(String::from(&*s)),
        Field::Value(v) => match v.to_display_string() {
            Some(t) => FieldText::Text(t),
            None => FieldText::Unknown(v.to_hcl_text()),
        },
        Field::Unknown { expr, .. } | Field::Error { expr, .. } => {
            FieldText::Unknown(expr.to_string())
        }
    }
}

mod view {
    //! The JSON form of a resolved resource (`modlens show --output json`, snapshots).
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::{MemberBlock, Resource, Val};
    use crate::syntax::Pos;

    #[derive(Serialize)]
    struct PosView {
        line: u32,
        column: u32,
        byte: u32,
    }

    impl From<Pos> for PosView {
        fn from(p: Pos) -> Self {
            PosView {
                line: p.line,
                column: p.column,
                byte: p.byte,
            }
        }
    }

    #[derive(Serialize)]
    struct ParamView<'a> {
        name: &'a str,
        description: Option<&'a str>,
        default: Option<&'a Val>,
    }

    #[derive(Serialize)]
    struct BlockView<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        label: Option<&'a str>,
        attributes: BTreeMap<&'a str, &'a Val>,
        blocks: Vec<BlockView<'a>>,
    }

    fn block(b: &MemberBlock) -> BlockView<'_> {
        BlockView {
            kind: &b.kind,
            label: b.label.as_deref(),
            attributes: b.attributes.iter().map(|(k, v)| (&**k, v)).collect(),
            blocks: b.blocks.iter().map(block).collect(),
        }
    }

    #[derive(Serialize)]
    struct DiagnosticView<'a> {
        severity: &'static str,
        message: &'a str,
        start: PosView,
        end: PosView,
    }

    #[derive(Serialize)]
    struct ResourceView<'a> {
        qualified_name: &'a str,
        #[serde(rename = "type")]
        kind: &'a str,
        name: &'a str,
        #[serde(rename = "mod")]
        module: &'a str,
        file: &'a str,
        start: PosView,
        end: PosView,
        title: Option<&'a str>,
        description: Option<&'a str>,
        tags: BTreeMap<&'a str, &'a str>,
        sql: Option<&'a Val>,
        query: Option<&'a str>,
        base: Option<&'a str>,
        params: Vec<ParamView<'a>>,
        args: Option<&'a Val>,
        children: Vec<&'a str>,
        attributes: BTreeMap<&'a str, &'a Val>,
        blocks: Vec<BlockView<'a>>,
        depends_on: Vec<super::Text>,
        diagnostics: Vec<DiagnosticView<'a>>,
    }

    impl Serialize for Resource {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            ResourceView {
                qualified_name: &self.name,
                kind: &self.kind,
                name: &self.short_name,
                module: &self.module,
                file: &self.file,
                start: self.start.into(),
                end: self.end.into(),
                title: self.title.as_deref(),
                description: self.description.as_deref(),
                tags: self.tags.iter().map(|(k, v)| (&**k, &**v)).collect(),
                sql: self.sql.as_ref(),
                query: self.query.as_deref(),
                base: self.base.as_deref(),
                params: self
                    .params
                    .iter()
                    .map(|p| ParamView {
                        name: &p.name,
                        description: p.description.as_deref(),
                        default: p.default.as_ref(),
                    })
                    .collect(),
                args: self.args.as_ref(),
                children: self.children.iter().map(|c| &**c).collect(),
                attributes: self.attributes.iter().map(|(k, v)| (&**k, v)).collect(),
                blocks: self.blocks.iter().map(block).collect(),
                depends_on: self.depends_on(),
                diagnostics: self
                    .diagnostics
                    .iter()
                    .map(|d| DiagnosticView {
                        severity: d.severity.as_str(),
                        message: &d.message,
                        start: d.start.into(),
                        end: d.end.into(),
                    })
                    .collect(),
            }
            .serialize(s)
        }
    }
}
