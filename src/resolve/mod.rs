//! On-demand resolve: what a resource *is*, fully evaluated, one resource at a time.
//!
//! The index says what exists and where; this module parses exactly one block's source span
//! with hcl-rs (its `hcl-edit` parser, which keeps spans for diagnostics), evaluates it
//! against the [`Values`] (variables and locals, computed up front) and the resolved forms of
//! the resources it refers to (dependencies first; reference cycles reported, never
//! followed), and keeps a compact [`Resource`] — interned strings, evaluated attributes, no
//! AST, no copy of the source — in a bounded LRU ([`crate::cache`]).
//!
//! The index's titles, descriptions and tags that are not literals are evaluated from just
//! their expression's span, on first request, and remembered ([`Resolver::field`]).
//!
//! Architecture invariant: no I/O here. Source text and `file()` reads come through the
//! [`Sources`] trait, which the workspace implements (disk, open-document overlays); the
//! environment and command-line values arrive as [`ValueInputs`]. A user's mistake is a
//! diagnostic in the result, never an `Err`.

pub mod depends;
pub mod deps;
pub mod eval;
pub mod file_reads;
pub mod funcs;
pub mod graph;
mod resolver;
mod simple;
pub mod types;
pub mod value;
pub mod values;

use std::sync::Arc;

pub use depends::Depends;
pub use deps::Dependencies;
pub use resolver::{Field, MemberBlock, Param, Resolver, ResolverStats, Resource};
pub use value::{Interner, Text, Val};
pub use values::{ValueSource, Values};

use crate::index::Index;

use crate::syntax::Diagnostic;

/// Where the resolver gets text from.
pub trait Sources: Send + Sync {
    /// The current bytes of a workspace file, by path relative to the workspace root.
    fn read(&self, path: &str) -> Option<Arc<[u8]>>;

    /// Reads `path` as written in a `file()` call of the mod whose folder is `mod_root`
    /// (workspace-relative, `""` for the root mod): relative to that folder, and refused when
    /// it leaves it. The error is the message to show.
    fn read_in_mod(&self, mod_root: &str, path: &str) -> Result<String, String>;

    /// A `file()` reader for one mod (see [`Sources::read_in_mod`]).
    fn file_reader(&self, mod_root: &str) -> funcs::FileReader;

    /// The files of one mod for every file function (`file`, `filebase64`, `fileexists`,
    /// `fileset`, the file hashes): by default [`Sources::file_reader`], which reads text
    /// only.
    fn mod_files(&self, mod_root: &str) -> funcs::FileReader {
        self.file_reader(mod_root)
    }

    /// Installed dependency mods that cannot be used (asked only when a `require` entry
    /// matches no installed mod, to say why).
    fn broken_installs(&self) -> Vec<deps::BrokenInstall> {
        Vec::new()
    }
}

/// A diagnostic with the file it is in (workspace-relative; a `--var-file` as given;
/// `<command line>` for `--var`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileDiagnostic {
    /// The file.
    pub file: String,
    /// The problem.
    pub diagnostic: Diagnostic,
}

impl FileDiagnostic {
    /// A diagnostic in `file`.
    pub fn new(file: &str, diagnostic: Diagnostic) -> FileDiagnostic {
        FileDiagnostic {
            file: file.to_string(),
            diagnostic,
        }
    }
}

/// A `--var-file`: its name as given and its text.
#[derive(Clone, Debug, Default)]
pub struct VarFile {
    /// The path as the user gave it (for diagnostics).
    pub name: String,
    /// Its contents.
    pub text: String,
}

/// What the user says about variables outside the mod.
#[derive(Clone, Debug, Default)]
pub struct ValueInputs {
    /// The process environment (only `PP_VAR_*` and `SP_VAR_*` are read).
    pub env: Vec<(String, String)>,
    /// Every `--var-file`, in order.
    pub var_files: Vec<VarFile>,
    /// Every `--var name=value`, in order.
    pub vars: Vec<String>,
}

/// What an edit made stale.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stale {
    /// Resources (and values) that changed: their entries and everything that depends on
    /// them are stale.
    pub names: Vec<Text>,
    /// Entries stale by themselves only (a variable's or local's own entry, whose
    /// dependents care about its value, which `names` lists when it changed).
    pub entries: Vec<Text>,
    /// The files replaced: their blocks may be numbered anew, so what is kept by resource
    /// id for them (evaluated index fields) goes.
    pub files: Vec<crate::index::FileId>,
}

/// A workspace ready to resolve: its index, its dependency mods and its values.
#[derive(Debug)]
pub struct Model {
    /// The index.
    pub index: Index,
    /// Every mod's requires, matched to installed mods.
    pub deps: Dependencies,
    /// Every mod's variables and locals.
    pub values: Values,
    /// Bumped by every change: what is derived from the model whole (the dashboards
    /// payload) is kept until it moves.
    pub generation: u64,
}

impl Model {
    /// Computes the dependencies and what the values are (they evaluate on first need).
    pub fn new(mut index: Index, sources: &Arc<dyn Sources>, inputs: &ValueInputs) -> Model {
        let deps = Dependencies::compute(&index, &**sources);
        index.set_requires(deps.requires_by_mod(index.mods().len()));
        let values = Values::compute(&index, &deps, sources, inputs);
        Model {
            index,
            deps,
            values,
            generation: 0,
        }
    }

    /// Replaces one file's scan (it was edited) and recomputes what depends on it: the
    /// dependencies and values when the file declares or sets any. Returns what is now stale,
    /// for [`Resolver::invalidate_stale`]: the file's resources before and after (and what
    /// depends on them), every variable or local whose value changed (and what uses it), and
    /// the file's variable and local entries themselves.
    pub fn replace_file(
        &mut self,
        file: crate::index::FileId,
        scan: crate::syntax::FileIndex,
        sources: &Arc<dyn Sources>,
        inputs: &ValueInputs,
    ) -> Stale {
        self.generation += 1;
        let mut stale = Stale {
            files: vec![file],
            ..Stale::default()
        };
        self.collect_names(file, &mut stale);
        let items = |fi: &crate::syntax::FileIndex| -> Vec<(bool, String, u64)> {
            fi.value_items
                .iter()
                .map(|v| (v.is_var, fi.str(v.name).to_string(), v.hash))
                .collect()
        };
        let (before, old_items) = match self.index.file(file) {
            Some(f) => (f.index.value_hash, items(&f.index)),
            None => (0, Vec::new()),
        };
        let (after, new_items) = (scan.value_hash, items(&scan));
        self.index.replace_file(file, scan);
        self.collect_names(file, &mut stale);
        // Values are recomputed only when the text that sets them changed (an edit inside a
        // control leaves the file's `locals` alone); then what changed is what an edit
        // changed the text of, and what uses it.
        if before != after {
            let module = self
                .index
                .mod_of_file(file)
                .unwrap_or(crate::index::ModId(0));
            let path = self
                .index
                .file(file)
                .map(|f| f.path.clone())
                .unwrap_or_default();
            let mut seeds: Vec<(crate::index::ModId, bool, String)> = Vec::new();
            // What is in one list and not the other (set lookups: a file of thousands of
            // locals is looked at once per edit, not once per pair).
            let set =
                |items: &[(bool, String, u64)]| -> std::collections::HashSet<(bool, String, u64)> {
                    items.iter().cloned().collect()
                };
            let (old_set, new_set) = (set(&old_items), set(&new_items));
            for item in old_items.iter().chain(new_items.iter()) {
                if !(old_set.contains(item) && new_set.contains(item)) {
                    seeds.push((module, item.0, item.1.clone()));
                }
            }
            self.recompute(sources, inputs);
            // A variables file or a mod file (its `args`) may set any variable.
            let name = path.rsplit('/').next().unwrap_or("");
            if name.ends_with("vars") || name == "mod.pp" || name == "mod.sp" {
                for (m, _) in self.index.mods().iter().enumerate() {
                    let m = crate::index::ModId(m as u32);
                    for v in self.values.var_names(m) {
                        seeds.push((m, true, v.to_string()));
                    }
                }
            }
            seeds.sort();
            seeds.dedup();
            stale.names.extend(self.values.affected(&seeds));
        }
        stale.names.sort();
        stale.names.dedup();
        stale.entries.sort();
        stale.entries.dedup();
        stale
    }

    /// Recomputes the dependencies and the values from the index as it is (after the user's
    /// inputs changed, say); every value is then evaluated again on first need.
    pub fn recompute(&mut self, sources: &Arc<dyn Sources>, inputs: &ValueInputs) {
        self.generation += 1;
        self.deps = Dependencies::compute(&self.index, &**sources);
        let requires = self.deps.requires_by_mod(self.index.mods().len());
        self.index.set_requires(requires);
        self.values = Values::compute(&self.index, &self.deps, sources, inputs);
    }

    /// Sorts a file's resources into `stale`: values (variables, locals) are stale through
    /// their values only, so their own entries are dropped without their dependents.
    fn collect_names(&self, file: crate::index::FileId, stale: &mut Stale) {
        for id in self.index.resources_in_file(file) {
            let Some(name) = self.index.qualified_name(id) else {
                continue;
            };
            let is_value = self.index.block(id).is_some_and(|b| {
                b.role == crate::syntax::BlockRole::Local
                    || (b.parent.is_none() && self.index.kind_of(id) == Some("variable"))
            });
            if is_value {
                stale.entries.push(Text::from(name.as_str()));
            } else {
                stale.names.push(Text::from(name.as_str()));
            }
        }
    }

    /// The diagnostics of dependencies and values found so far (the index's own are
    /// [`Index::diagnostics`]; call [`Values::force`] first for every value's).
    pub fn diagnostics(&self) -> Vec<FileDiagnostic> {
        let mut out = self.deps.diagnostics.clone();
        out.extend(self.values.diagnostics());
        out
    }
}

/// True when the scanner reported an error between `start` and `end` (a block's span): a
/// block it already found broken gets no second message from hcl-rs for the same mistake,
/// nor the errors that only follow from it.
pub(crate) fn scanner_error_in(fi: &crate::syntax::FileIndex, start: u32, end: u32) -> bool {
    fi.diagnostics.iter().any(|d| {
        d.severity == crate::syntax::Severity::Error && d.start.byte >= start && d.start.byte <= end
    })
}
