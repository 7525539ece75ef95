//! The workspace index: every file's [`FileIndex`] merged, with lookups by qualified name,
//! by file and by type, the parent/children graph and reverse references.
//!
//! Replacing one file's `FileIndex` is the unit of update: [`Index::replace_file`] removes
//! what the old one contributed to the derived maps and adds what the new one does, and the
//! result equals a fresh build. Text stays in each file's own string table, so dropping a
//! file frees it.
//!
//! Architecture invariant: no I/O and no parsing here; the index is built from `FileIndex`es
//! that the workspace scanned.
//!
//! Names are not copied: the name map holds a 32-bit hash of `(mod, kind, name)` beside the
//! id, sorted by hash, and every lookup confirms a hit against the file's own text, so a hash
//! collision costs a comparison, never a wrong answer. Keys use the mod's id, not its name,
//! so renaming a mod changes no key.

pub mod dashboards;
pub mod dump;
pub mod tree;

use crate::syntax::{
    AttrKey, AttrValue, Block, BlockId, BlockRole, Diagnostic, FileIndex, Pos, Reference, Severity,
};

/// An index into the workspace's files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// At most this many `.` in a name [`Index::lookup_qualified`] looks into through ancestors:
/// `mod.` plus eight levels of `type.name`.
const MAX_NESTED_NAME_DOTS: usize = 17;

/// How a benchmark's type is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BenchmarkForm {
    /// A `benchmark` with no `type` or a literal one.
    Literal,
    /// A `benchmark` whose `type` is an expression.
    Expression,
    /// A `detection_benchmark` block.
    Legacy,
}

/// What a benchmark groups (see [`Index::benchmark_type`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BenchmarkType {
    /// Controls and control benchmarks.
    Control,
    /// Detections and detection benchmarks.
    Detection,
}

impl BenchmarkType {
    /// Powerpipe's name for it (`benchmark_type` in the dashboards payload).
    pub fn as_str(self) -> &'static str {
        match self {
            BenchmarkType::Control => "control",
            BenchmarkType::Detection => "detection",
        }
    }
}

/// An index into the workspace's mods (the root mod and its installed dependencies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModId(pub u32);

/// A resource: one block of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    /// The file holding it.
    pub file: FileId,
    /// The block within that file.
    pub block: BlockId,
}

/// One reference of one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RefId {
    /// The file holding it.
    pub file: FileId,
    /// Its position in that file's [`FileIndex::refs`].
    pub index: u32,
}

/// A mod of the workspace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModInfo {
    /// The name in its `mod "NAME" {}` block (`local` when there is none, as Powerpipe does).
    pub name: String,
    /// Its literal title, if any.
    pub title: Option<String>,
    /// Its folder relative to the workspace root (`""` for the root mod), `/`-separated.
    pub root: String,
    /// True for an installed dependency.
    pub dependency: bool,
}

/// One child of a benchmark or dashboard, as written and as resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildEntry {
    /// Its qualified name (`mod.type.name`).
    pub name: String,
    /// The resource, when one by that name exists.
    pub resource: Option<ResourceId>,
}

/// One indexed file.
#[derive(Debug)]
pub struct FileEntry {
    /// Path relative to the workspace root, `/`-separated.
    pub path: String,
    /// The mod it belongs to.
    pub module: ModId,
    /// What the scanner found.
    pub index: FileIndex,
}

/// A scanned file ready to be added, with the hashes of the names it defines: computed
/// where the file was scanned (in parallel, while it is in cache), so that adding a whole
/// workspace only has to sort.
#[derive(Debug)]
pub struct ScannedFile {
    path: String,
    module: ModId,
    index: FileIndex,
    names: Vec<(u32, BlockId)>,
}

impl ScannedFile {
    /// A file at `path` (workspace-relative) of `module`.
    pub fn new(path: String, module: ModId, index: FileIndex) -> ScannedFile {
        let names = name_hashes(&index, module);
        ScannedFile {
            path,
            module,
            index,
            names,
        }
    }
}

/// The merged index of a workspace.
#[derive(Debug, Default)]
pub struct Index {
    mods: Vec<ModInfo>,
    files: Vec<Option<FileEntry>>,
    /// Every resource and local, by the hash of its name, sorted.
    by_name: Vec<(u32, ResourceId)>,
    /// Every reference that names something in an installed mod, by the hash of its
    /// target's name, sorted. Built on the first reverse lookup and dropped by any change:
    /// an index-only load never needs it, and it is as large as the references.
    referrers: std::sync::OnceLock<Vec<(u32, RefId)>>,
    /// Each mod's direct dependencies (its `require` entries matched to installed mods),
    /// once known ([`Index::set_requires`]): `dep.type.name` resolves only in these, as
    /// Powerpipe resolves it. `None` (an index on its own): in any installed mod by that name.
    requires: Option<Vec<Vec<ModId>>>,
}

impl Index {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a mod; its name and title are read from its `mod` block when its files arrive.
    pub fn add_mod(&mut self, root: String, dependency: bool) -> ModId {
        let id = ModId(self.mods.len() as u32);
        self.mods.push(ModInfo {
            name: "local".to_string(),
            title: None,
            root,
            dependency,
        });
        id
    }

    /// The mods, root mod first.
    pub fn mods(&self) -> &[ModInfo] {
        &self.mods
    }

    /// One mod.
    pub fn module(&self, id: ModId) -> Option<&ModInfo> {
        self.mods.get(id.0 as usize)
    }

    /// Adds a file's scan result.
    pub fn add_file(&mut self, path: String, module: ModId, index: FileIndex) -> FileId {
        let ids = self.add_files([ScannedFile::new(path, module, index)]);
        ids.first().copied().unwrap_or(FileId(0))
    }

    /// Adds many files at once (a load): their names join the map with one sort. Returns
    /// their ids in the order given.
    pub fn add_files(&mut self, files: impl IntoIterator<Item = ScannedFile>) -> Vec<FileId> {
        let files = files.into_iter();
        self.files.reserve(files.size_hint().0);
        let mut ids = Vec::with_capacity(files.size_hint().0);
        for f in files {
            let id = FileId(self.files.len() as u32);
            self.by_name.extend(
                f.names
                    .iter()
                    .map(|&(hash, block)| (hash, ResourceId { file: id, block })),
            );
            self.files.push(Some(FileEntry {
                path: f.path,
                module: f.module,
                index: f.index,
            }));
            ids.push(id);
        }
        for &id in &ids {
            self.update_mod_info(id);
        }
        // By hash only: ties (a name defined twice, or a collision) are ordered by whoever
        // reads them (`lookup`, duplicate detection).
        self.by_name.sort_unstable_by_key(|&(hash, _)| hash);
        self.referrers = std::sync::OnceLock::new();
        ids
    }

    /// Replaces a file's scan result: everything derived from the old one is updated.
    pub fn replace_file(&mut self, id: FileId, index: FileIndex) {
        self.unlink(id);
        let Some(Some(entry)) = self.files.get_mut(id.0 as usize) else {
            return;
        };
        entry.index = index;
        // Names are keyed by mod id, so a renamed mod changes no key; references into other
        // mods are resolved by name when the reverse map is next built.
        self.update_mod_info(id);
        self.link(id);
    }

    /// Removes a file (deleted from disk).
    pub fn remove_file(&mut self, id: FileId) {
        let removed_mod_file = self
            .file(id)
            .filter(|f| mod_block(&f.index).is_some())
            .map(|f| f.module);
        self.unlink(id);
        if let Some(slot) = self.files.get_mut(id.0 as usize) {
            *slot = None;
        }
        if let Some(module) = removed_mod_file {
            // The mod lost its `mod` block: back to the defaults unless another file has one.
            if let Some(m) = self.mods.get_mut(module.0 as usize) {
                m.name = "local".to_string();
                m.title = None;
            }
            self.refresh_all_mod_info();
        }
    }

    /// A file by id.
    pub fn file(&self, id: FileId) -> Option<&FileEntry> {
        self.files.get(id.0 as usize).and_then(|f| f.as_ref())
    }

    /// A file by its workspace-relative path.
    pub fn file_by_path(&self, path: &str) -> Option<FileId> {
        self.files().find(|(_, f)| f.path == path).map(|(id, _)| id)
    }

    /// Every file, in the order they were added.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &FileEntry)> {
        self.files
            .iter()
            .enumerate()
            .filter_map(|(i, f)| f.as_ref().map(|f| (FileId(i as u32), f)))
    }

    /// The block of a resource.
    pub fn block(&self, id: ResourceId) -> Option<&Block> {
        self.file(id.file).and_then(|f| f.index.block(id.block))
    }

    /// True when a resource's own `key` attribute is a literal that is the field's whole
    /// value, so evaluating it gives what the index holds: a string, number or bool title
    /// or description (a `base` gives only what the block does not set), or an object of
    /// literals for tags when the block has no `base` (a base's tags are merged in, the
    /// block's own keys winning). False when it is absent or `null` (not set: a `base` may
    /// give it) or an expression.
    pub fn field_is_literal(&self, id: ResourceId, key: AttrKey) -> bool {
        let Some(f) = self.file(id.file) else {
            return false;
        };
        let Some(b) = f.index.block(id.block) else {
            return false;
        };
        f.index.attr(b, key).is_some_and(|a| match a.value() {
            AttrValue::Str(_) | AttrValue::Scalar(_) | AttrValue::Text => true,
            AttrValue::Tags(_) => f.index.attr(b, AttrKey::Base).is_none(),
            _ => false,
        })
    }

    /// True when a resource sets no `key` attribute and has no `base` to inherit one from:
    /// the field is absent, with nothing to evaluate.
    pub fn field_is_unset(&self, id: ResourceId, key: AttrKey) -> bool {
        let Some(f) = self.file(id.file) else {
            return false;
        };
        f.index.block(id.block).is_some_and(|b| {
            f.index.attr(b, key).is_none() && f.index.attr(b, AttrKey::Base).is_none()
        })
    }

    /// Every resource (resource blocks and locals) of a file, in source order.
    pub fn resources_in_file(&self, file: FileId) -> impl Iterator<Item = ResourceId> + '_ {
        self.file(file).into_iter().flat_map(move |f| {
            f.index
                .blocks
                .iter()
                .enumerate()
                .filter(|(_, b)| is_indexed(b))
                .map(move |(i, _)| ResourceId {
                    file,
                    block: BlockId::new(i),
                })
        })
    }

    /// Every resource of the workspace, file by file in the order files were added.
    pub fn resources(&self) -> impl Iterator<Item = ResourceId> + '_ {
        self.files().flat_map(|(id, _)| self.resources_in_file(id))
    }

    /// Every resource of a type (`control`, `variable`, `local`, `card`, ...).
    pub fn resources_of_type<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = ResourceId> + 'a {
        self.resources()
            .filter(move |r| self.kind_of(*r) == Some(kind))
    }

    /// A resource's type.
    pub fn kind_of(&self, id: ResourceId) -> Option<&str> {
        let f = self.file(id.file)?;
        Some(f.index.str(f.index.block(id.block)?.kind))
    }

    /// What a benchmark groups, as Powerpipe tells them apart: a `detection_benchmark`, or a
    /// `benchmark` whose `type` is `"detection"`, groups detections; any other benchmark
    /// groups controls (a `type` that is not a literal counts as the default, controls; see
    /// [`Index::benchmark_children_kinds`] for when that matters). `None` for a resource
    /// that is not a benchmark.
    pub fn benchmark_type(&self, id: ResourceId) -> Option<BenchmarkType> {
        self.benchmark_form(id).map(|(ty, _)| ty)
    }

    /// The benchmark's type and the resource types Powerpipe accepts in its `children`, when
    /// they are known from the text: `None` for a resource that is not a benchmark, and for a
    /// benchmark whose `type` is an expression (`type = var.kind`), which only evaluation
    /// tells. A legacy `detection_benchmark` holds detections and detection benchmarks; a
    /// `benchmark` of detections lists its sub-benchmarks as `benchmark.x`.
    pub fn benchmark_children_kinds(
        &self,
        id: ResourceId,
    ) -> Option<(BenchmarkType, &'static [&'static str])> {
        match self.benchmark_form(id)? {
            (_, BenchmarkForm::Legacy) => Some((
                BenchmarkType::Detection,
                &["detection_benchmark", "detection"],
            )),
            (BenchmarkType::Detection, BenchmarkForm::Literal) => Some((
                BenchmarkType::Detection,
                &["benchmark", "detection", "detection_benchmark"],
            )),
            (BenchmarkType::Control, BenchmarkForm::Literal) => {
                Some((BenchmarkType::Control, &["benchmark", "control"]))
            }
            (_, BenchmarkForm::Expression) => None,
        }
    }

    fn benchmark_form(&self, id: ResourceId) -> Option<(BenchmarkType, BenchmarkForm)> {
        let f = self.file(id.file)?;
        let b = f.index.block(id.block)?;
        match f.index.str(b.kind) {
            "detection_benchmark" => Some((BenchmarkType::Detection, BenchmarkForm::Legacy)),
            "benchmark" => Some(match f.index.attr(b, AttrKey::Type).map(|a| a.value()) {
                None => (BenchmarkType::Control, BenchmarkForm::Literal),
                Some(AttrValue::Str(s)) if f.index.str(s) == "detection" => {
                    (BenchmarkType::Detection, BenchmarkForm::Literal)
                }
                Some(AttrValue::Str(_)) => (BenchmarkType::Control, BenchmarkForm::Literal),
                Some(_) => (BenchmarkType::Control, BenchmarkForm::Expression),
            }),
            _ => None,
        }
    }

    /// A resource's short name (label, generated anonymous name or local name).
    pub fn name_of(&self, id: ResourceId) -> Option<std::borrow::Cow<'_, str>> {
        let f = self.file(id.file)?;
        f.index.block(id.block)?;
        Some(f.index.block_name(id.block))
    }

    /// The mod a file belongs to.
    pub fn mod_of_file(&self, id: FileId) -> Option<ModId> {
        self.file(id).map(|f| f.module)
    }

    /// The mod a resource belongs to.
    pub fn mod_of(&self, id: ResourceId) -> Option<ModId> {
        self.file(id.file).map(|f| f.module)
    }

    /// `mod.type.name` (`mod.var.x` for variables, `mod.NAME` for the mod block itself).
    pub fn qualified_name(&self, id: ResourceId) -> Option<String> {
        let f = self.file(id.file)?;
        let b = f.index.block(id.block)?;
        let module = &self.mods.get(f.module.0 as usize)?.name;
        let kind = f.index.str(b.kind);
        let name = f.index.block_name(id.block);
        Some(match kind {
            "mod" => format!("mod.{name}"),
            _ => format!("{module}.{}.{name}", reference_kind(kind)),
        })
    }

    /// Finds resources by mod, kind (as a reference spells it) and name.
    pub fn lookup(&self, module: ModId, kind: &str, name: &str) -> Vec<ResourceId> {
        let hash = name_hash(module, kind, name);
        let mut found: Vec<ResourceId> = equal_range(&self.by_name, hash)
            .iter()
            .map(|(_, id)| *id)
            .filter(|id| {
                self.mod_of(*id) == Some(module)
                    && self.kind_of(*id).map(reference_kind) == Some(kind)
                    && self.name_of(*id).as_deref() == Some(name)
            })
            .collect();
        // A name may also be used by nested labelled blocks (`category "x"` inside a graph,
        // `input "arn"` in every detail dashboard, as Powerpipe allows): a reference means
        // the mod-level resource, so top-level definitions come first.
        if found.len() > 1 {
            found.sort_by_key(|id| (self.block(*id).is_some_and(|b| b.parent.is_some()), *id));
        }
        found
    }

    /// Finds a resource by `mod.type.name`, by `type.name` in the root mod, or a mod by
    /// `mod.NAME`. A labelled block nested in a resource (an `input` declared in a dashboard,
    /// which Powerpipe files per dashboard under the same `mod.input.name` as a mod-level
    /// one) is reached through its ancestor: `dashboard.d.input.x` or `mod.dashboard.d.input.x`.
    pub fn lookup_qualified(&self, qualified: &str) -> Option<ResourceId> {
        self.lookup_flat(qualified)
            .or_else(|| self.lookup_nested(qualified))
    }

    /// The other resources of the same mod, type and name (a mod-level `input.x` and the
    /// `input "x"` of each dashboard that declares one), in lookup order.
    pub fn namesakes(&self, id: ResourceId) -> Vec<ResourceId> {
        let (Some(module), Some(kind), Some(name)) =
            (self.mod_of(id), self.kind_of(id), self.name_of(id))
        else {
            return Vec::new();
        };
        let mut found = self.lookup(module, reference_kind(kind), &name);
        found.retain(|&other| other != id);
        found
    }

    /// The name that reaches a resource through the blocks it is nested in
    /// (`dashboard.d.input.x`; `type.name` for a top-level one), as
    /// [`Index::lookup_qualified`] takes it.
    pub fn nested_name(&self, id: ResourceId) -> Option<String> {
        let f = self.file(id.file)?;
        let mut parts: Vec<String> = Vec::new();
        let mut at = Some(id.block);
        while let Some(block) = at {
            let b = f.index.block(block)?;
            if b.role == BlockRole::Resource {
                parts.push(format!(
                    "{}.{}",
                    reference_kind(f.index.str(b.kind)),
                    f.index.block_name(block)
                ));
            }
            at = b.parent;
        }
        parts.reverse();
        Some(parts.join("."))
    }

    /// `ANCESTOR.type.name`: the `type.name` block declared somewhere inside `ANCESTOR`.
    fn lookup_nested(&self, qualified: &str) -> Option<ResourceId> {
        // Each level is `type.name`, and nesting is shallow: a name with more parts than
        // any real one is not looked into (it comes from a client or a command line).
        if qualified.bytes().filter(|&b| b == b'.').count() > MAX_NESTED_NAME_DOTS {
            return None;
        }
        let (rest, name) = qualified.rsplit_once('.')?;
        let (ancestor, kind) = rest.rsplit_once('.')?;
        let ancestor = self.lookup_qualified(ancestor)?;
        let module = self.mod_of(ancestor)?;
        self.lookup(module, reference_kind(kind), name)
            .into_iter()
            .find(|&id| {
                // The nesting in the file, not `children` listings (which may form cycles).
                id.file == ancestor.file
                    && self.file(id.file).is_some_and(|f| {
                        std::iter::successors(
                            f.index.block(id.block).and_then(|b| b.parent),
                            |&p| f.index.block(p).and_then(|b| b.parent),
                        )
                        .any(|p| p == ancestor.block)
                    })
            })
    }

    fn lookup_flat(&self, qualified: &str) -> Option<ResourceId> {
        let parts: Vec<&str> = qualified.splitn(3, '.').collect();
        let in_root = |kind: &str, name: &str| {
            self.lookup(ModId(0), reference_kind(kind), name)
                .first()
                .copied()
        };
        match parts.as_slice() {
            ["mod", name] => self.mod_resource_named(name),
            [kind, name] => in_root(kind, name),
            [m, kind, name] => match self.mod_named(m) {
                Some(module) => self
                    .lookup(module, reference_kind(kind), name)
                    .first()
                    .copied(),
                // `type.name.with.dots` in the root mod (multi-label names).
                None => in_root(m, &format!("{kind}.{name}")),
            },
            _ => None,
        }
    }

    fn mod_resource_named(&self, name: &str) -> Option<ResourceId> {
        self.resources_of_type("mod")
            .find(|r| self.name_of(*r).as_deref() == Some(name))
    }

    /// Sets each mod's direct dependencies (by [`ModId`], one list per mod).
    pub fn set_requires(&mut self, requires: Vec<Vec<ModId>>) {
        if self.requires.as_ref() != Some(&requires) {
            self.requires = Some(requires);
            self.referrers = std::sync::OnceLock::new();
        }
    }

    /// The mod that `prefix` (the `dep` of `dep.type.name`) names in a file of `module`: that
    /// mod itself by its own name, else one of its direct dependencies (Powerpipe's
    /// `LoadedDependencyMods`; a dependency of a dependency is not one), or any installed mod
    /// by that name while the dependencies are not known.
    pub fn mod_for_prefix(&self, module: ModId, prefix: &str) -> Option<ModId> {
        let named = |m: ModId| {
            self.mods
                .get(m.0 as usize)
                .is_some_and(|x| x.name == prefix)
        };
        if named(module) {
            return Some(module);
        }
        match &self.requires {
            Some(r) => r
                .get(module.0 as usize)?
                .iter()
                .copied()
                .find(|&m| named(m)),
            None => self.mod_named(prefix),
        }
    }

    /// A mod by the name in its `mod` block (the root mod wins a tie).
    pub fn mod_named(&self, name: &str) -> Option<ModId> {
        mod_position(&self.mods, name)
    }

    /// Where the reference points: the mod, kind and name it names. `None` for a cross-mod
    /// reference to a mod that is not installed.
    pub fn ref_target(&self, file: FileId, r: &Reference) -> Option<(ModId, String, String)> {
        let f = self.file(file)?;
        let module = self.ref_module(f, r)?;
        Some((
            module,
            f.index.str(r.kind).to_string(),
            f.index.str(r.name).to_string(),
        ))
    }

    /// The mod a reference of file `f` points into: its own, or the installed dependency it
    /// names (`None` when that is not installed).
    fn ref_module(&self, f: &FileEntry, r: &Reference) -> Option<ModId> {
        match r.module {
            Some(m) => self.mod_for_prefix(f.module, f.index.str(m)),
            None => Some(f.module),
        }
    }

    /// The first resource a reference names (the mod-level one before nested namesakes),
    /// without allocating: for walks over many references.
    pub fn resolve_ref_first(&self, file: FileId, r: &Reference) -> Option<ResourceId> {
        let f = self.file(file)?;
        let module = self.ref_module(f, r)?;
        let (kind, name) = (f.index.str(r.kind), f.index.str(r.name));
        let hash = name_hash(module, kind, name);
        let mut best: Option<ResourceId> = None;
        for (_, id) in equal_range(&self.by_name, hash) {
            let matches = self.mod_of(*id) == Some(module)
                && self.kind_of(*id).map(reference_kind) == Some(kind)
                && self.name_of(*id).as_deref() == Some(name);
            if !matches {
                continue;
            }
            let key = |id: ResourceId| (self.block(id).is_some_and(|b| b.parent.is_some()), id);
            if best.is_none_or(|b| key(*id) < key(b)) {
                best = Some(*id);
            }
        }
        best
    }

    /// [`Index::children`] without the names: the child resources that exist, in order.
    pub fn child_ids(&self, id: ResourceId) -> Vec<ResourceId> {
        self.child_ids_of(id, |_| true)
    }

    /// The children whose kind (as the reference or the nested block spells it) passes
    /// `kind`: references of other kinds are not even looked up.
    pub fn child_ids_of(&self, id: ResourceId, kind: impl Fn(&str) -> bool) -> Vec<ResourceId> {
        let Some(f) = self.file(id.file) else {
            return Vec::new();
        };
        let Some(b) = f.index.block(id.block) else {
            return Vec::new();
        };
        match f.index.attr(b, AttrKey::Children) {
            None => self
                .nested_children(id)
                .into_iter()
                .filter(|c| self.kind_of(*c).is_some_and(&kind))
                .collect(),
            Some(attr) => match attr.value() {
                AttrValue::Expr(_) => Vec::new(),
                v => f
                    .index
                    .ref_list(&v)
                    .iter()
                    .filter(|r| kind(f.index.str(r.kind)))
                    .filter_map(|r| self.resolve_ref_first(id.file, r))
                    .collect(),
            },
        }
    }

    /// The resources a reference names (several when the name is a duplicate).
    pub fn resolve_ref(&self, file: FileId, r: &Reference) -> Vec<ResourceId> {
        match self.ref_target(file, r) {
            Some((module, kind, name)) => self.lookup(module, &kind, &name),
            None => Vec::new(),
        }
    }

    /// Every reference that names this resource, in file then source order.
    pub fn referrers(&self, id: ResourceId) -> Vec<RefId> {
        let (Some(module), Some(kind), Some(name)) = (
            self.mod_of(id),
            self.kind_of(id).map(reference_kind),
            self.name_of(id),
        ) else {
            return Vec::new();
        };
        let hash = name_hash(module, kind, &name);
        equal_range(self.referrer_map(), hash)
            .iter()
            .map(|(_, r)| *r)
            .filter(|r| {
                let Some(reference) = self.reference(*r) else {
                    return false;
                };
                self.ref_target(r.file, reference)
                    .is_some_and(|(m, k, n)| m == module && k == kind && n == name)
            })
            .collect()
    }

    /// A reference by id.
    pub fn reference(&self, id: RefId) -> Option<&Reference> {
        self.file(id.file)?.index.refs.get(id.index as usize)
    }

    /// The resource's children, in order: the references of its `children` attribute when it
    /// has a list of plain references, else its nested resources (not `with` or `category`,
    /// which are definitions, not displayed children); each with its qualified name and the
    /// resource it names (`None` when nothing by that name exists). `None` when `children`
    /// is an expression the scanner cannot read.
    pub fn child_entries(&self, id: ResourceId) -> Option<Vec<ChildEntry>> {
        let f = self.file(id.file)?;
        let b = f.index.block(id.block)?;
        let Some(attr) = f.index.attr(b, AttrKey::Children) else {
            return Some(
                self.nested_children(id)
                    .into_iter()
                    .map(|c| ChildEntry {
                        name: self.qualified_name(c).unwrap_or_default(),
                        resource: Some(c),
                    })
                    .collect(),
            );
        };
        if let AttrValue::Expr(_) = attr.value() {
            return None;
        }
        let own = &self.mods.get(f.module.0 as usize)?.name;
        Some(
            f.index
                .ref_list(&attr.value())
                .iter()
                .map(|r| {
                    let module = r.module.map(|m| f.index.str(m)).unwrap_or(own);
                    ChildEntry {
                        name: format!("{module}.{}.{}", f.index.str(r.kind), f.index.str(r.name)),
                        resource: self.resolve_ref(id.file, r).first().copied(),
                    }
                })
                .collect(),
        )
    }

    /// The resources among [`Index::child_entries`] that exist, in order.
    pub fn children(&self, id: ResourceId) -> Vec<ResourceId> {
        self.child_entries(id)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| c.resource)
            .collect()
    }

    /// The qualified names of [`Index::child_entries`], resolved or not.
    pub fn child_names(&self, id: ResourceId) -> Option<Vec<String>> {
        self.child_entries(id)
            .map(|children| children.into_iter().map(|c| c.name).collect())
    }

    fn nested_children(&self, id: ResourceId) -> Vec<ResourceId> {
        let Some(f) = self.file(id.file) else {
            return Vec::new();
        };
        f.index
            .child_blocks(id.block)
            .filter(|c| {
                f.index.block(*c).is_some_and(|c| {
                    c.role == BlockRole::Resource
                        && !matches!(f.index.str(c.kind), "with" | "category")
                })
            })
            .map(|block| ResourceId {
                file: id.file,
                block,
            })
            .collect()
    }

    /// The resource's parent: the enclosing resource for a nested block, else the first
    /// resource (in index order) whose `children` lists it.
    pub fn parent(&self, id: ResourceId) -> Option<ResourceId> {
        let f = self.file(id.file)?;
        let b = f.index.block(id.block)?;
        if let Some(p) = b.parent {
            let pb = f.index.block(p)?;
            return (pb.role == BlockRole::Resource).then_some(ResourceId {
                file: id.file,
                block: p,
            });
        }
        self.listing_parents(id).into_iter().next()
    }

    /// Every resource whose `children` attribute lists this one, in index order.
    pub fn listing_parents(&self, id: ResourceId) -> Vec<ResourceId> {
        let mut parents: Vec<ResourceId> = self
            .referrers(id)
            .iter()
            .filter_map(|r| {
                let f = self.file(r.file)?;
                let reference = f.index.refs.get(r.index as usize)?;
                let owner = reference.block()?;
                let block = f.index.block(owner)?;
                let attr = f.index.attr(block, AttrKey::Children)?;
                match attr.value() {
                    AttrValue::RefList(range) if range.range().contains(&(r.index as usize)) => {
                        Some(ResourceId {
                            file: r.file,
                            block: owner,
                        })
                    }
                    _ => None,
                }
            })
            .collect();
        parents.sort();
        parents.dedup();
        parents
    }

    /// Every diagnostic: each file's syntax diagnostics, then duplicate names.
    pub fn diagnostics(&self) -> Vec<(FileId, Diagnostic)> {
        let mut out: Vec<(FileId, Diagnostic)> = self
            .files()
            .flat_map(|(id, f)| f.index.diagnostics.iter().map(move |d| (id, d.clone())))
            .collect();
        out.extend(self.duplicate_diagnostics());
        out.sort_by(|a, b| {
            let pa = self.file(a.0).map(|f| f.path.as_str());
            let pb = self.file(b.0).map(|f| f.path.as_str());
            pa.cmp(&pb)
                .then(a.1.start.byte.cmp(&b.1.start.byte))
                .then(a.1.message.cmp(&b.1.message))
        });
        out
    }

    /// Two top-level resources (or two locals) of one mod with the same type and name: every
    /// definition after the first (in path order) is reported, naming the first.
    fn duplicate_diagnostics(&self) -> Vec<(FileId, Diagnostic)> {
        let mut out = Vec::new();
        for run in self.by_name.chunk_by(|a, b| a.0 == b.0) {
            if run.len() < 2 {
                continue;
            }
            // Top-level definitions only (nested labelled blocks such as `input "x"` may
            // repeat across dashboards), keyed by the real name: one hash may hold several.
            let mut top: Vec<Definition<'_>> = run
                .iter()
                .filter_map(|(_, id)| {
                    let f = self.file(id.file)?;
                    let block = f.index.block(id.block)?;
                    let top_level = block.parent.is_none() || block.role == BlockRole::Local;
                    top_level.then(|| Definition {
                        name: self.qualified_name(*id).unwrap_or_default(),
                        path: f.path.as_str(),
                        file: id.file,
                        block,
                    })
                })
                .collect();
            top.sort_by(|a, b| {
                (&a.name, a.path, a.block.start.byte).cmp(&(&b.name, b.path, b.block.start.byte))
            });
            for same in top.chunk_by(|a, b| a.name == b.name) {
                let [first, rest @ ..] = same else { continue };
                for d in rest {
                    let span = d.block.name_span();
                    out.push((
                        d.file,
                        Diagnostic {
                            severity: Severity::Error,
                            start: pos_in_block(d.block, span.start),
                            end: pos_in_block(d.block, span.end),
                            message: format!(
                                "duplicate name `{}`: first defined at {}:{}:{}",
                                d.name,
                                first.path,
                                first.block.start.line,
                                first.block.start.column
                            ),
                        },
                    ));
                }
            }
        }
        out
    }

    /// Approximate heap bytes held by the index: every file's index plus the shared maps.
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let files: usize = self
            .files()
            .map(|(_, f)| f.index.heap_bytes() + f.path.capacity())
            .sum::<usize>()
            + self.files.capacity() * size_of::<Option<FileEntry>>();
        let by_name = self.by_name.capacity() * size_of::<(u32, ResourceId)>();
        let referrers = self
            .referrers
            .get()
            .map(|r| r.capacity() * size_of::<(u32, RefId)>())
            .unwrap_or(0);
        files + by_name + referrers
    }

    // ----- derived maps ------------------------------------------------------------------

    /// The name entries a file contributes, unsorted.
    fn name_entries(&self, id: FileId) -> Vec<(u32, ResourceId)> {
        let Some(entry) = self.file(id) else {
            return Vec::new();
        };
        name_hashes(&entry.index, entry.module)
            .into_iter()
            .map(|(hash, block)| (hash, ResourceId { file: id, block }))
            .collect()
    }

    /// The reverse-reference map, built on first use.
    fn referrer_map(&self) -> &[(u32, RefId)] {
        self.referrers.get_or_init(|| {
            let mut map = Vec::new();
            for (id, entry) in self.files() {
                let fi = &entry.index;
                for (i, r) in fi.refs.iter().enumerate() {
                    let Some(module) = self.ref_module(entry, r) else {
                        continue;
                    };
                    let hash = name_hash(module, fi.str(r.kind), fi.str(r.name));
                    map.push((
                        hash,
                        RefId {
                            file: id,
                            index: i as u32,
                        },
                    ));
                }
            }
            map.sort_unstable();
            map.shrink_to_fit();
            map
        })
    }

    /// Adds a file's resources to the name map (a sorted merge).
    fn link(&mut self, id: FileId) {
        let mut names = self.name_entries(id);
        names.sort_unstable();
        merge_sorted(&mut self.by_name, names);
        self.referrers = std::sync::OnceLock::new();
    }

    /// Removes a file's resources from the name map.
    fn unlink(&mut self, id: FileId) {
        self.by_name.retain(|(_, r)| r.file != id);
        self.referrers = std::sync::OnceLock::new();
    }

    /// Reads a mod's name and title from a file's `mod` block, if the file is at the mod's
    /// root and has one.
    fn update_mod_info(&mut self, id: FileId) {
        let Some(Some(entry)) = self.files.get(id.0 as usize) else {
            return;
        };
        let Some(info) = self.mods.get(entry.module.0 as usize) else {
            return;
        };
        if !is_mod_file(&entry.path, &info.root) {
            return;
        }
        let (name, title) = match mod_block(&entry.index) {
            Some(b) => (
                entry.index.str(b.name).to_string(),
                entry
                    .index
                    .attr(b, AttrKey::Title)
                    .and_then(|a| match a.value() {
                        AttrValue::Str(s) => Some(entry.index.str(s).to_string()),
                        _ => None,
                    }),
            ),
            None => ("local".to_string(), None),
        };
        let module = entry.module;
        if let Some(info) = self.mods.get_mut(module.0 as usize) {
            info.name = name;
            info.title = title;
        }
    }

    fn refresh_all_mod_info(&mut self) {
        let ids: Vec<FileId> = self.files().map(|(id, _)| id).collect();
        for id in ids {
            self.update_mod_info(id);
        }
    }
}

fn mod_position(mods: &[ModInfo], name: &str) -> Option<ModId> {
    mods.iter()
        .position(|m| m.name == name)
        .map(|i| ModId(i as u32))
}

/// The hash of every name a file defines (resources and locals), in block order.
fn name_hashes(fi: &FileIndex, module: ModId) -> Vec<(u32, BlockId)> {
    let mut name = String::new();
    fi.blocks
        .iter()
        .enumerate()
        .filter(|(_, b)| is_indexed(b))
        .map(|(i, b)| {
            let block = BlockId::new(i);
            fi.write_block_name(block, &mut name);
            (
                name_hash(module, reference_kind(fi.str(b.kind)), &name),
                block,
            )
        })
        .collect()
}

/// One definition of a name, for duplicate detection.
struct Definition<'a> {
    name: String,
    path: &'a str,
    file: FileId,
    block: &'a Block,
}

/// The hash the maps are keyed by. `DefaultHasher::new()` has fixed keys, so the order of
/// the maps (and so every output) is the same from run to run.
fn name_hash(module: ModId, kind: &str, name: &str) -> u32 {
    use std::hash::{BuildHasher, Hasher};
    // foldhash with a fixed seed: fast on short names and the same from run to run, so map
    // order (and every output) is too. 32 bits keep the map at 12 bytes an entry;
    // collisions only cost a comparison.
    let mut h = foldhash::fast::FixedState::with_seed(0x006d_6f64_6c65_6e73).build_hasher();
    h.write_u32(module.0);
    h.write(kind.as_bytes());
    h.write_u8(0xff);
    h.write(name.as_bytes());
    let h = h.finish();
    (h ^ (h >> 32)) as u32
}

/// The entries of a sorted map with this hash.
fn equal_range<T>(map: &[(u32, T)], hash: u32) -> &[(u32, T)] {
    let start = map.partition_point(|(h, _)| *h < hash);
    // Equal hashes are few (a name declared twice, a collision): counted forward, not by a
    // second binary search, whose every step is a cache miss in a large mod's map.
    let len = map[start..].iter().take_while(|(h, _)| *h == hash).count();
    &map[start..start + len]
}

/// Merges sorted `new` into sorted `map`.
fn merge_sorted<T: Ord + Copy>(map: &mut Vec<T>, new: Vec<T>) {
    if new.is_empty() {
        return;
    }
    let old = std::mem::take(map);
    let mut merged = Vec::with_capacity(old.len() + new.len());
    let (mut a, mut b) = (old.into_iter().peekable(), new.into_iter().peekable());
    loop {
        let take_a = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) => x <= y,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_a { a.next() } else { b.next() };
        merged.extend(next);
    }
    *map = merged;
}

/// True for the blocks the index names: resources and locals.
fn is_indexed(b: &Block) -> bool {
    matches!(b.role, BlockRole::Resource | BlockRole::Local)
}

/// The kind as references spell it: `variable` blocks are `var.x`.
pub fn reference_kind(kind: &str) -> &str {
    if kind == "variable" { "var" } else { kind }
}

/// The `mod "name" {}` block of a file, if any.
fn mod_block(index: &FileIndex) -> Option<&Block> {
    index
        .blocks
        .iter()
        .find(|b| b.parent.is_none() && b.role == BlockRole::Resource && index.str(b.kind) == "mod")
}

/// True if `path` is the `mod.pp` / `mod.sp` directly in the mod folder `root`.
pub fn is_mod_file(path: &str, root: &str) -> bool {
    let rest = if root.is_empty() {
        path
    } else {
        match path.strip_prefix(root).and_then(|r| r.strip_prefix('/')) {
            Some(r) => r,
            None => return false,
        }
    };
    rest == "mod.pp" || rest == "mod.sp"
}

/// A position inside a block's span for an offset known to be on the block's first line
/// (the label): the column moves with the byte offset. Labels are ASCII in practice; a
/// non-ASCII label before the offset makes the column approximate, never wrong in line.
pub(crate) fn pos_in_block(b: &Block, byte: u32) -> Pos {
    let delta = byte.saturating_sub(b.start.byte);
    Pos {
        line: b.start.line,
        column: b.start.column + delta,
        byte,
    }
}
