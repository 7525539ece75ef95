//! Values: every mod's variables and locals.
//!
//! What they are is known up front, from the index alone: every variable and local of every
//! mod, the dependency order of the locals (from the scanner's references), the cycles
//! among them (one diagnostic naming every member) and their references to names that do not
//! exist. What they *evaluate to* is computed on first need and remembered — a request for
//! one control evaluates the few locals its tags use, not the thousand of a large mod — so
//! the first answer comes right after the index. [`Values::force`] evaluates everything (for
//! `check`, and to list every diagnostic).
//!
//! A variable's value comes from, lowest to highest precedence (Powerpipe's order, read
//! from pipe-fittings' `inputvars`): its `default`; the requiring mod's `args` (for a
//! dependency); `SP_VAR_name` then `PP_VAR_name` environment variables; `powerpipe.ppvars`
//! (or, only when there is none, `steampipe.spvars`); `*.auto.ppvars` / `*.auto.spvars` in
//! name order; every `--var-file` in order; every `--var name=value` in order. The user's
//! sources set the root mod's variables, and a direct dependency's as `dep.name`.
//! A value from text (an environment variable, `--var`) is taken literally for a string,
//! number, bool or connection variable (or one without a type) and parsed as HCL otherwise.
//! Values are converted to the variable's type (Powerpipe only checks; converting shows `5`,
//! not `"5"`, and renders the same in SQL).
//!
//! Thread-safety: each value is computed once behind a `OnceLock`. Locals are evaluated in
//! dependency order (cycles never evaluate), a mod's `args` only from the mod that requires
//! it first (a tree), so no evaluation ever waits for itself.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};

use hcl::edit::Span as _;

use super::deps::Dependencies;
use super::eval::{self, Scope, Snippet, span_diagnostic};
use super::graph;
use super::types::Type;
use super::value::{Interner, Size, Text, Val};
use super::{FileDiagnostic, Sources, ValueInputs};
use crate::index::{FileId, Index, ModId, ResourceId};
use crate::syntax::{BlockRole, Diagnostic, Pos, Severity, Span};

/// Where a variable's value came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "from", rename_all = "snake_case")]
pub enum ValueSource {
    /// Its `default`.
    Default,
    /// The `args` of the mod that requires this one (that mod's name).
    Args(String),
    /// An environment variable (its name).
    Env(String),
    /// A variables file (its path as given or relative to the workspace).
    File(String),
    /// `--var` on the command line.
    CommandLine,
    /// No value anywhere.
    Unset,
}

impl ValueSource {
    /// A short phrase for hover text: `default`, `PP_VAR_x`, `powerpipe.ppvars`, ...
    pub fn describe(&self) -> String {
        match self {
            ValueSource::Default => "default".to_string(),
            ValueSource::Args(m) => format!("args of mod `{m}`"),
            ValueSource::Env(e) => format!("environment variable {e}"),
            ValueSource::File(f) => f.clone(),
            ValueSource::CommandLine => "--var".to_string(),
            ValueSource::Unset => "not set".to_string(),
        }
    }
}

/// One variable, evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct Variable {
    /// Its block (in the index the values were computed from).
    pub resource: ResourceId,
    /// The effective value (`None` when it has none, or it could not be converted).
    pub value: Option<Val>,
    /// Where `value` came from.
    pub source: ValueSource,
    /// Its type constraint, if any.
    pub ty: Option<Type>,
    /// Its default, if any.
    pub default: Option<Val>,
    /// Its literal description.
    pub description: Option<String>,
}

/// One local value, evaluated.
#[derive(Clone, Debug, PartialEq)]
pub struct Local {
    /// Its entry in the index.
    pub resource: ResourceId,
    /// The value (`None` when it failed; the reason is a diagnostic).
    pub value: Option<Val>,
}

/// A variable as known up front; evaluated on first need.
struct VarSlot {
    id: ResourceId,
    path: String,
    name_span: Span,
    cell: OnceLock<Variable>,
}

/// A local as known up front; evaluated on first need.
struct LocalSlot {
    id: ResourceId,
    /// The locals it uses (names in the same mod).
    deps: Vec<Text>,
    /// The variables it uses.
    vars: Vec<Text>,
    /// Its position in dependency order (what it uses comes first).
    order: usize,
    /// In a cycle, or refers to a name that does not exist: fails without evaluating.
    doomed: bool,
    /// Refers to a resource (Powerpipe allows `local.x = query.y.sql`): values do not
    /// resolve resources, so it is unknown here (without an error).
    deferred: bool,
    cell: OnceLock<Local>,
}

/// One mod's variables and locals.
#[derive(Default)]
struct ModValues {
    name: String,
    vars: BTreeMap<String, VarSlot>,
    locals: BTreeMap<Text, LocalSlot>,
    /// The locals that use each local (`false`) or variable (`true`) directly: the reverse
    /// of the locals' dependencies, for [`Values::affected`].
    users: HashMap<(bool, Text), Vec<Text>>,
    /// The `args` this mod receives from the mod that requires it, evaluated on first need.
    args: OnceLock<Vec<PendingArg>>,
}

/// Where a mod's `args` come from: the first mod (breadth first from the root) whose
/// `require` names it.
#[derive(Clone)]
struct ArgsFrom {
    parent: ModId,
    file: FileId,
    expr: hcl::Expression,
    span: Span,
}

/// Every mod's variables and locals.
pub struct Values {
    mods: Vec<ModValues>,
    user: Vec<UserValue>,
    args_from: HashMap<ModId, ArgsFrom>,
    /// Problems found up front.
    upfront: Vec<FileDiagnostic>,
    /// Problems found while evaluating.
    lazy: Mutex<Vec<FileDiagnostic>>,
    sources: Arc<dyn Sources>,
    interner: Interner,
}

impl std::fmt::Debug for Values {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Values")
            .field("mods", &self.mods.len())
            .field("upfront", &self.upfront.len())
            .finish()
    }
}

/// A value given by the user before it meets its variable.
#[derive(Clone)]
struct UserValue {
    /// `name` or `dep.name`.
    name: String,
    raw: Raw,
    source: ValueSource,
    /// Where it was written, when in a file.
    at: Option<(String, Diagnostic)>,
}

/// One entry of a require's `args`, waiting for the mod it sets.
#[derive(Clone)]
struct PendingArg {
    name: String,
    value: Val,
    /// The requiring mod's name.
    from: String,
}

#[derive(Clone)]
enum Raw {
    /// Text to parse according to the variable's type.
    Text(String),
    /// Already evaluated (a vars file).
    Value(Val),
}

impl Values {
    /// What every mod's variables and locals are, from the index (their values come on
    /// first need). Reads only the variables files.
    pub fn compute(
        index: &Index,
        deps: &Dependencies,
        sources: &Arc<dyn Sources>,
        inputs: &ValueInputs,
    ) -> Values {
        let t = std::time::Instant::now();
        let mut values = Values {
            mods: (0..index.mods().len())
                .map(|_| ModValues::default())
                .collect(),
            user: Vec::new(),
            args_from: HashMap::new(),
            upfront: Vec::new(),
            lazy: Mutex::new(Vec::new()),
            sources: sources.clone(),
            interner: Interner::new(8192),
        };
        for (i, m) in values.mods.iter_mut().enumerate() {
            m.name = index
                .module(ModId(i as u32))
                .map(|x| x.name.clone())
                .unwrap_or_default();
        }
        values.user = values.user_values(index, inputs);
        let t_user = t.elapsed().as_secs_f64() * 1e3;
        // Args: each mod takes them from the first mod, breadth first, that requires it.
        for module in deps.value_order(index.mods().len()) {
            for r in deps.of(module) {
                if let (Some(target), Some(args)) = (r.resolved, &r.args)
                    && target != module
                    && target != ModId(0)
                {
                    values.args_from.entry(target).or_insert(ArgsFrom {
                        parent: module,
                        file: r.file,
                        expr: args.expr.clone(),
                        span: args.span,
                    });
                }
            }
        }
        values.declare_variables(index);
        let t_vars = t.elapsed().as_secs_f64() * 1e3;
        values.declare_locals(index);
        tracing::debug!(
            ms = t.elapsed().as_secs_f64() * 1e3,
            user_ms = t_user,
            vars_ms = t_vars - t_user,
            "values declared"
        );
        values
    }

    fn push(&mut self, file: &str, d: Diagnostic) {
        self.upfront.push(FileDiagnostic::new(file, d));
    }

    fn push_lazy(&self, file: &str, d: Diagnostic) {
        self.lazy
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(FileDiagnostic::new(file, d));
    }

    /// Every diagnostic found so far: up front, and by the evaluations done (call
    /// [`Values::force`] first for all of them).
    pub fn diagnostics(&self) -> Vec<FileDiagnostic> {
        let mut out = self.upfront.clone();
        out.extend(
            self.lazy
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        out
    }

    /// Evaluates every variable and local.
    pub fn force(&self, index: &Index) {
        for (m, mv) in self.mods.iter().enumerate() {
            let m = ModId(m as u32);
            for name in mv.vars.keys() {
                self.var(index, m, name);
            }
            for name in mv.locals.keys() {
                self.local(index, m, name);
            }
            self.args_for(index, m);
        }
    }

    /// Evaluates the variables and locals declared in one file.
    pub fn force_file(&self, index: &Index, file: FileId) {
        for (m, mv) in self.mods.iter().enumerate() {
            let m = ModId(m as u32);
            for (name, slot) in &mv.vars {
                if slot.id.file == file {
                    self.var(index, m, name);
                }
            }
            for (name, slot) in &mv.locals {
                if slot.id.file == file {
                    self.local(index, m, name);
                }
            }
        }
    }

    /// True if the mod declares this variable (nothing is evaluated).
    pub fn has_var(&self, module: ModId, name: &str) -> bool {
        self.mods
            .get(module.0 as usize)
            .is_some_and(|m| m.vars.contains_key(name))
    }

    /// True if the mod has this local (nothing is evaluated).
    pub fn has_local(&self, module: ModId, name: &str) -> bool {
        self.mods
            .get(module.0 as usize)
            .is_some_and(|m| m.locals.contains_key(name))
    }

    /// The names of a mod's variables, sorted.
    pub fn var_names(&self, module: ModId) -> Vec<&str> {
        self.mods
            .get(module.0 as usize)
            .map(|m| m.vars.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// The names of a mod's locals, sorted.
    pub fn local_names(&self, module: ModId) -> Vec<&str> {
        self.mods
            .get(module.0 as usize)
            .map(|m| m.locals.keys().map(|k| &**k).collect())
            .unwrap_or_default()
    }

    /// A variable of a mod, evaluated (on first need).
    pub fn var(&self, index: &Index, module: ModId, name: &str) -> Option<&Variable> {
        let slot = self.mods.get(module.0 as usize)?.vars.get(name)?;
        Some(
            slot.cell
                .get_or_init(|| self.eval_var(index, module, name, slot)),
        )
    }

    /// A variable of a mod if it is evaluated already: `Err(())` when it is declared but not
    /// evaluated yet (nothing is evaluated here, nor waited for).
    #[allow(clippy::result_unit_err)]
    pub fn var_if_evaluated(&self, module: ModId, name: &str) -> Result<Option<&Variable>, ()> {
        match self
            .mods
            .get(module.0 as usize)
            .and_then(|m| m.vars.get(name))
        {
            None => Ok(None),
            Some(slot) => slot.cell.get().map(Some).ok_or(()),
        }
    }

    /// A local of a mod if it is evaluated already: `Err(())` when it is declared but not
    /// evaluated yet (nothing is evaluated here, nor waited for).
    #[allow(clippy::result_unit_err)]
    pub fn local_if_evaluated(&self, module: ModId, name: &str) -> Result<Option<&Local>, ()> {
        match self
            .mods
            .get(module.0 as usize)
            .and_then(|m| m.locals.get(name))
        {
            None => Ok(None),
            Some(slot) => slot.cell.get().map(Some).ok_or(()),
        }
    }

    /// A local of a mod, evaluated (on first need, after what it uses).
    pub fn local(&self, index: &Index, module: ModId, name: &str) -> Option<&Local> {
        let mv = self.mods.get(module.0 as usize)?;
        let slot = mv.locals.get(name)?;
        if let Some(l) = slot.cell.get() {
            return Some(l);
        }
        // What it needs that is not evaluated yet, in dependency order (no recursion: a
        // chain of any length costs heap).
        let mut need: Vec<(&str, &LocalSlot)> = Vec::new();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut stack: Vec<&str> = vec![name];
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            let Some((key, s)) = mv.locals.get_key_value(n) else {
                continue;
            };
            if s.cell.get().is_none() {
                need.push((&**key, s));
                if !s.doomed {
                    stack.extend(s.deps.iter().map(|d| &**d));
                }
            }
        }
        need.sort_by_key(|(_, s)| s.order);
        for (n, s) in need {
            s.cell.get_or_init(|| self.eval_local(index, module, n, s));
        }
        slot.cell.get()
    }

    /// Approximate heap bytes held (evaluated values included).
    pub fn heap_bytes(&self) -> usize {
        self.mods
            .iter()
            .map(|m| {
                m.vars
                    .iter()
                    .map(|(k, v)| {
                        k.len()
                            + v.path.len()
                            + 128
                            + v.cell
                                .get()
                                .map(|x| {
                                    x.value.as_ref().map(Val::heap_bytes).unwrap_or(0)
                                        + x.default.as_ref().map(Val::heap_bytes).unwrap_or(0)
                                })
                                .unwrap_or(0)
                    })
                    .sum::<usize>()
                    + m.users
                        .iter()
                        .map(|((_, k), v)| k.len() + 48 + v.len() * 16)
                        .sum::<usize>()
                    + m.locals
                        .iter()
                        .map(|(k, l)| {
                            k.len()
                                + 96
                                + l.deps.iter().map(|d| d.len() + 24).sum::<usize>()
                                + l.vars.iter().map(|d| d.len() + 24).sum::<usize>()
                                + l.cell
                                    .get()
                                    .and_then(|x| x.value.as_ref())
                                    .map(Val::heap_bytes)
                                    .unwrap_or(0)
                        })
                        .sum::<usize>()
            })
            .sum()
    }

    /// The qualified names (`mod.var.x`, `mod.local.x`) whose values may have changed,
    /// given the ones that changed themselves (`seeds`: mod, is a variable, name): those, and
    /// every local that uses any of them, transitively. Nothing is evaluated.
    pub fn affected(&self, seeds: &[(ModId, bool, String)]) -> Vec<Text> {
        // Breadth first over the reverse edges: each value and each use looked at once.
        let mut seen: HashSet<(usize, bool, Text)> = HashSet::new();
        let mut queue: VecDeque<(usize, bool, Text)> = VecDeque::new();
        for (m, is_var, n) in seeds {
            let at = (m.0 as usize, *is_var, Text::from(n.as_str()));
            if seen.insert(at.clone()) {
                queue.push_back(at);
            }
        }
        while let Some((m, is_var, n)) = queue.pop_front() {
            let Some(users) = self.mods.get(m).and_then(|mv| mv.users.get(&(is_var, n))) else {
                continue;
            };
            for u in users {
                let at = (m, false, u.clone());
                if seen.insert(at.clone()) {
                    queue.push_back(at);
                }
            }
        }
        let mut out: Vec<Text> = seen
            .into_iter()
            .map(|(m, is_var, n)| {
                let name = self.mods.get(m).map(|x| x.name.as_str()).unwrap_or("");
                Text::from(format!(
                    "{name}.{}.{n}",
                    if is_var { "var" } else { "local" }
                ))
            })
            .collect();
        out.sort();
        out
    }

    // ----- up front ----------------------------------------------------------------------

    fn declare_variables(&mut self, index: &Index) {
        // The scanner listed every variable and local of each file.
        let ids = index.files().flat_map(|(file, f)| {
            f.index
                .value_items
                .iter()
                .filter(|v| v.is_var)
                .map(move |v| ResourceId {
                    file,
                    block: v.block,
                })
        });
        for id in ids {
            let (Some(f), Some(b), Some(m)) =
                (index.file(id.file), index.block(id), index.mod_of(id))
            else {
                continue;
            };
            if b.parent.is_some() || !evaluated_file(&f.path) {
                continue;
            }
            let name = f.index.str(b.name).to_string();
            let Some(mv) = self.mods.get_mut(m.0 as usize) else {
                continue;
            };
            // A duplicate: the index reports it; the first (in path order) is the one.
            mv.vars.entry(name).or_insert(VarSlot {
                id,
                path: f.path.clone(),
                name_span: b.name_span(),
                cell: OnceLock::new(),
            });
        }
        // Values given for variables nobody declares: a warning for files (two, then a
        // count), an error for --var, nothing for the environment (Powerpipe's rules).
        let declared = |name: &str| -> bool {
            match name.split_once('.') {
                None => self.has_var(ModId(0), name),
                Some((m, n)) => {
                    let n = n.strip_prefix("var.").unwrap_or(n);
                    index.mod_named(m).is_some_and(|id| self.has_var(id, n))
                }
            }
        };
        let mut problems: Vec<(String, Diagnostic)> = Vec::new();
        let mut undeclared = 0usize;
        let mut extra = 0usize;
        for u in &self.user {
            if declared(&u.name) {
                continue;
            }
            match (&u.source, &u.at) {
                (ValueSource::CommandLine, _) => problems.push((
                    "<command line>".into(),
                    command_line(format!(
                        "value for undeclared variable `{}`: add a `variable \"{}\"` block to the mod",
                        u.name, u.name
                    )),
                )),
                (ValueSource::File(_), Some((file, d))) => {
                    undeclared += 1;
                    if undeclared <= 2 {
                        problems.push((
                            file.clone(),
                            Diagnostic {
                                severity: Severity::Warning,
                                message: format!(
                                    "value for undeclared variable `{}`: add a `variable \"{}\"` block to the mod if you meant to use it",
                                    u.name, u.name
                                ),
                                ..d.clone()
                            },
                        ));
                    } else {
                        extra += 1;
                    }
                }
                _ => {}
            }
        }
        if extra > 0
            && let Some((file, d)) = self.user.iter().filter_map(|u| u.at.as_ref()).next_back()
        {
            problems.push((
                file.clone(),
                Diagnostic {
                    severity: Severity::Warning,
                    message: format!("{extra} more values for undeclared variables"),
                    ..d.clone()
                },
            ));
        }
        for (file, d) in problems {
            self.push(&file, d);
        }
    }

    fn declare_locals(&mut self, index: &Index) {
        struct Entry {
            name: Text,
            id: ResourceId,
            deps: Vec<usize>,
            vars: Vec<Text>,
            broken: bool,
            /// Refers to a resource (`query.x.sql`): known when resources are resolved.
            deferred: bool,
        }
        let mut per_mod: Vec<(Vec<Entry>, hashbrown::HashMap<Text, usize>)> = (0..self.mods.len())
            .map(|_| (Vec::new(), hashbrown::HashMap::new()))
            .collect();
        let ids: Vec<ResourceId> = index
            .files()
            .flat_map(|(file, f)| {
                f.index
                    .value_items
                    .iter()
                    .filter(|v| !v.is_var)
                    .map(move |v| ResourceId {
                        file,
                        block: v.block,
                    })
            })
            .collect();
        for id in ids {
            let (Some(f), Some(b), Some(m)) =
                (index.file(id.file), index.block(id), index.mod_of(id))
            else {
                continue;
            };
            if b.role != BlockRole::Local || !evaluated_file(&f.path) {
                continue;
            }
            let Some((entries, by_name)) = per_mod.get_mut(m.0 as usize) else {
                continue;
            };
            let name: Text = Text::from(f.index.str(b.name));
            if by_name.contains_key(&name) {
                continue; // a duplicate: the index reports it
            }
            by_name.insert(name.clone(), entries.len());
            entries.push(Entry {
                name,
                id,
                deps: Vec::new(),
                vars: Vec::new(),
                broken: false,
                deferred: false,
            });
        }
        let mut problems: Vec<(FileId, Span, String)> = Vec::new();
        for (m, (entries, by_name)) in per_mod.iter_mut().enumerate() {
            for e in entries.iter_mut() {
                let Some(f) = index.file(e.id.file) else {
                    continue;
                };
                for r in f.index.refs_of(e.id.block) {
                    if r.module.is_some() || r.scoped() {
                        continue;
                    }
                    let target = f.index.str(r.name);
                    match f.index.str(r.kind) {
                        "local" => match by_name.get(target) {
                            Some(&i) => e.deps.push(i),
                            None => {
                                e.broken = true;
                                problems.push((
                                    e.id.file,
                                    r.span,
                                    format!("unknown local value `local.{target}`"),
                                ));
                            }
                        },
                        "var" => {
                            if self.has_var(ModId(m as u32), target) {
                                e.vars.push(Text::from(target));
                            } else {
                                e.broken = true;
                                problems.push((
                                    e.id.file,
                                    r.span,
                                    format!("unknown variable `var.{target}`"),
                                ));
                            }
                        }
                        kind if crate::syntax::is_resource_type(kind.as_bytes()) => {
                            e.deferred = true;
                        }
                        _ => {}
                    }
                }
                e.deps.sort_unstable();
                e.deps.dedup();
                e.vars.sort();
                e.vars.dedup();
            }
        }
        for (file, span, message) in problems {
            let Some(f) = index.file(file) else { continue };
            if let Some(src) = self.sources.read(&f.path) {
                let d = span_diagnostic(&src, Severity::Error, span, message);
                self.push(&f.path.clone(), d);
            }
        }
        for (m, (entries, _)) in per_mod.into_iter().enumerate() {
            let deps: Vec<Vec<usize>> = entries.iter().map(|e| e.deps.clone()).collect();
            let comps = graph::sccs(entries.len(), |u| &deps[u]);
            let mut order = vec![0usize; entries.len()];
            let mut doomed: Vec<bool> = entries.iter().map(|e| e.broken).collect();
            let mut cycles: Vec<(FileId, Diagnostic)> = Vec::new();
            for (pos, comp) in comps.iter().enumerate() {
                for &i in comp {
                    order[i] = pos;
                }
                if graph::is_cycle(comp, |u| &deps[u]) {
                    for &i in comp {
                        doomed[i] = true;
                    }
                    let mut members: Vec<ResourceId> =
                        comp.iter().map(|&i| entries[i].id).collect();
                    members.sort_by(|a, b| {
                        let pa = index.file(a.file).map(|f| f.path.as_str());
                        let pb = index.file(b.file).map(|f| f.path.as_str());
                        pa.cmp(&pb).then(a.block.cmp(&b.block))
                    });
                    // Named from the first member in file order.
                    let first = members[0];
                    let start = comp
                        .iter()
                        .position(|&i| entries[i].id == first)
                        .unwrap_or(0);
                    let mut rotated: Vec<usize> = comp.clone();
                    rotated.rotate_left(start);
                    let text =
                        cycle_text(&rotated, &deps, |i| format!("local.{}", entries[i].name));
                    if let Some(b) = index.block(first) {
                        let name_end = Pos {
                            line: b.start.line,
                            column: b.start.column + b.name_span().len(),
                            byte: b.name_span().end,
                        };
                        cycles.push((
                            first.file,
                            Diagnostic {
                                severity: Severity::Error,
                                start: b.start,
                                end: name_end,
                                message: format!("local values form a cycle: {text}"),
                            },
                        ));
                    }
                }
            }
            // What uses a doomed local is doomed too (it fails without a message of its
            // own: the cause is reported once).
            for comp in &comps {
                for &i in comp {
                    if entries[i].deps.iter().any(|&d| doomed[d]) {
                        doomed[i] = true;
                    }
                }
            }
            for (file, d) in cycles {
                if let Some(f) = index.file(file) {
                    let path = f.path.clone();
                    self.push(&path, d);
                }
            }
            let Some(mv) = self.mods.get_mut(m) else {
                continue;
            };
            for e in &entries {
                for &d in &e.deps {
                    mv.users
                        .entry((false, entries[d].name.clone()))
                        .or_default()
                        .push(e.name.clone());
                }
                for v in &e.vars {
                    mv.users
                        .entry((true, v.clone()))
                        .or_default()
                        .push(e.name.clone());
                }
            }
            for (i, e) in entries.iter().enumerate() {
                mv.locals.insert(
                    e.name.clone(),
                    LocalSlot {
                        id: e.id,
                        deps: e.deps.iter().map(|&d| entries[d].name.clone()).collect(),
                        vars: e.vars.clone(),
                        order: order[i],
                        doomed: doomed[i],
                        deferred: e.deferred,
                        cell: OnceLock::new(),
                    },
                );
            }
        }
    }

    // ----- on first need -----------------------------------------------------------------

    /// Where a value's block is now (the id it was declared with, checked by name).
    fn locate(
        index: &Index,
        module: ModId,
        kind: &str,
        name: &str,
        id: ResourceId,
    ) -> Option<ResourceId> {
        let same = index.mod_of(id) == Some(module)
            && index.kind_of(id).map(crate::index::reference_kind) == Some(kind)
            && index.name_of(id).as_deref() == Some(name);
        if same {
            return Some(id);
        }
        index.lookup(module, kind, name).first().copied()
    }

    fn eval_local(&self, index: &Index, module: ModId, name: &str, slot: &LocalSlot) -> Local {
        let failed = Local {
            resource: slot.id,
            value: None,
        };
        if slot.doomed {
            return failed;
        }
        if slot.deferred {
            let text = index
                .file(slot.id.file)
                .zip(index.block(slot.id))
                .and_then(|(f, b)| {
                    let src = self.sources.read(&f.path)?;
                    let t = String::from_utf8_lossy(
                        src.get(b.name_span().end as usize..b.end.byte as usize)?,
                    )
                    .trim_start()
                    .trim_start_matches('=')
                    .trim()
                    .to_string();
                    Some(t)
                })
                .unwrap_or_default();
            return Local {
                resource: slot.id,
                value: Some(Val::Unknown(self.interner.intern(&text))),
            };
        }
        let Some(mv) = self.mods.get(module.0 as usize) else {
            return failed;
        };
        // What it uses: all evaluated before it (dependency order).
        let mut scope = Scope::new();
        scope.insert(&["local"], hcl::Value::Object(hcl::Map::new()));
        for d in &slot.deps {
            match mv
                .locals
                .get(&**d)
                .and_then(|s| s.cell.get())
                .and_then(|l| l.value.as_ref())
            {
                Some(v) => scope.insert(&["local", &**d], v.to_hcl()),
                None => return failed, // it failed: reported where it failed
            }
        }
        for v in &slot.vars {
            match self.var(index, module, v).and_then(|x| x.value.as_ref()) {
                Some(val) => scope.insert(&["var", &**v], val.to_hcl()),
                None => return failed, // no value: the variable says so
            }
        }
        let Some(id) = Self::locate(index, module, "local", name, slot.id) else {
            return failed;
        };
        let (Some(f), Some(b)) = (index.file(id.file), index.block(id)) else {
            return failed;
        };
        let Some(src) = self.sources.read(&f.path) else {
            return failed;
        };
        let snippet = Snippet::new(
            &src,
            Span {
                start: b.start.byte,
                end: b.end.byte,
            },
        );
        let attr = match snippet.parse_body() {
            Ok(body) => body.into_attributes().next(),
            Err(d) => {
                if !super::scanner_error_in(&f.index, b.start.byte, b.end.byte) {
                    self.push_lazy(&f.path, d);
                }
                return failed;
            }
        };
        let Some(attr) = attr else {
            return failed;
        };
        // What evaluating it may copy: every reference counts its value's size (a value
        // used twice is copied twice), held to the limits of one value — a chain of locals
        // each doubling the one before stops here, not after a billion copies.
        let mut budget = Size::default();
        let mut sizes: HashMap<(bool, &str), Size> = HashMap::new();
        for r in f.index.refs_of(id.block) {
            if r.module.is_some() || r.scoped() {
                continue;
            }
            let target = f.index.str(r.name);
            let is_var = match f.index.str(r.kind) {
                "var" => true,
                "local" => false,
                _ => continue,
            };
            let size = *sizes.entry((is_var, target)).or_insert_with(|| {
                let v = if is_var {
                    self.var(index, module, target)
                        .and_then(|x| x.value.as_ref())
                } else {
                    mv.locals
                        .get(target)
                        .and_then(|s| s.cell.get())
                        .and_then(|l| l.value.as_ref())
                };
                v.map(Val::size).unwrap_or_default()
            });
            if let Err(e) = budget.add(size) {
                let d = snippet.diagnostic(
                    Severity::Error,
                    attr.value.span().unwrap_or(0..0),
                    format!("cannot evaluate `local.{name}`: {e}"),
                );
                self.push_lazy(&f.path, d);
                return failed;
            }
        }
        let expr = hcl::Expression::from(attr.value.clone());
        let reader = file_reader(&*self.sources, index, module);
        let out = super::funcs::with_file_reader(reader, || {
            eval::evaluate_text(&expr, &snippet.text, scope, &self.interner)
        });
        match out {
            Ok(v) => Local {
                resource: id,
                value: Some(v),
            },
            Err(msg) => {
                let d = snippet.diagnostic(
                    Severity::Error,
                    attr.value.span().unwrap_or(0..0),
                    format!("cannot evaluate `local.{name}`: {msg}"),
                );
                self.push_lazy(&f.path, d);
                failed
            }
        }
    }

    /// The `args` a mod receives, evaluated in the scope of the mod that requires it.
    fn args_for(&self, index: &Index, module: ModId) -> &[PendingArg] {
        let Some(mv) = self.mods.get(module.0 as usize) else {
            return &[];
        };
        mv.args.get_or_init(|| {
            let Some(from) = self.args_from.get(&module) else {
                return Vec::new();
            };
            let Some(f) = index.file(from.file) else {
                return Vec::new();
            };
            let Some(src) = self.sources.read(&f.path) else {
                return Vec::new();
            };
            let parent_name = self
                .mods
                .get(from.parent.0 as usize)
                .map(|m| m.name.clone())
                .unwrap_or_default();
            let scope = self.scope_for_expr(index, from.parent, from.file, from.span);
            let reader = file_reader(&*self.sources, index, from.parent);
            let result = super::funcs::with_file_reader(reader, || {
                eval::evaluate(&from.expr, &scope, &self.interner)
            });
            match result {
                Ok(Val::Object(entries)) => {
                    let mut out = Vec::new();
                    for (k, v) in entries.iter() {
                        if !mv.vars.contains_key(&**k) {
                            let d = span_diagnostic(
                                &src,
                                Severity::Error,
                                from.span,
                                format!(
                                    "`args` sets `{k}`, but mod `{}` has no variable by that name",
                                    mv.name
                                ),
                            );
                            self.push_lazy(&f.path, d);
                            continue;
                        }
                        out.push(PendingArg {
                            name: k.to_string(),
                            value: v.clone(),
                            from: parent_name.clone(),
                        });
                    }
                    out
                }
                Ok(other) => {
                    let d = span_diagnostic(
                        &src,
                        Severity::Error,
                        from.span,
                        format!(
                            "`args` must be an object of variable values, not a {}",
                            other.type_name()
                        ),
                    );
                    self.push_lazy(&f.path, d);
                    Vec::new()
                }
                Err(msg) => {
                    let d = span_diagnostic(
                        &src,
                        Severity::Error,
                        from.span,
                        format!("cannot evaluate `args`: {msg}"),
                    );
                    self.push_lazy(&f.path, d);
                    Vec::new()
                }
            }
        })
    }

    fn eval_var(&self, index: &Index, module: ModId, name: &str, slot: &VarSlot) -> Variable {
        let mut var = Variable {
            resource: slot.id,
            value: None,
            source: ValueSource::Default,
            ty: None,
            default: None,
            description: None,
        };
        let mod_name = self
            .mods
            .get(module.0 as usize)
            .map(|m| m.name.clone())
            .unwrap_or_default();
        let label = |d: &str| {
            let mut l = label_diagnostic(index, slot.id, slot.name_span);
            l.message = d.to_string();
            l
        };
        // A block the scanner found broken: its syntax error is the one message.
        let mut broken = false;
        if let Some(id) = Self::locate(index, module, "var", name, slot.id)
            && let (Some(f), Some(b)) = (index.file(id.file), index.block(id))
            && let Some(src) = self.sources.read(&f.path)
        {
            var.resource = id;
            broken = super::scanner_error_in(&f.index, b.start.byte, b.end.byte);
            self.declare(
                &f.path,
                &src,
                Span {
                    start: b.start.byte,
                    end: b.end.byte,
                },
                name,
                &mut var,
                broken,
            );
        }
        // Lowest to highest: default (set by `declare`), args, then the user's values.
        if let Some(a) = self
            .args_for(index, module)
            .iter()
            .rev()
            .find(|a| a.name == name)
        {
            var.value = Some(a.value.clone());
            var.source = ValueSource::Args(a.from.clone());
        }
        let spelled = if module == ModId(0) {
            name.to_string()
        } else {
            format!("{mod_name}.{name}")
        };
        let full = format!("{mod_name}.var.{name}");
        let given = self
            .user
            .iter()
            .rfind(|u| u.name == spelled || (module != ModId(0) && u.name == full));
        if let Some(u) = given {
            let raw = match &u.raw {
                Raw::Value(v) => Ok(v.clone()),
                Raw::Text(t) => text_value(t, var.ty.as_ref(), &self.interner),
            };
            match raw {
                Ok(v) => {
                    var.value = Some(v);
                    var.source = u.source.clone();
                }
                Err(e) => {
                    let msg = format!(
                        "invalid value for variable `{name}` (from {}): {e}",
                        u.source.describe()
                    );
                    match &u.at {
                        Some((file, d)) => self.push_lazy(
                            file,
                            Diagnostic {
                                severity: Severity::Error,
                                message: msg,
                                ..d.clone()
                            },
                        ),
                        None => self.push_lazy(&slot.path, label(&msg)),
                    }
                }
            }
        }
        if let (Some(ty), Some(v)) = (&var.ty, &var.value)
            && var.source != ValueSource::Default
        {
            match ty.convert(v) {
                Ok(c) => var.value = Some(c),
                Err(e) => {
                    let msg = format!(
                        "invalid value for variable `{name}` (from {}): {e}",
                        var.source.describe()
                    );
                    match given
                        .filter(|u| u.source == var.source)
                        .and_then(|u| u.at.clone())
                    {
                        Some((file, d)) => self.push_lazy(
                            &file,
                            Diagnostic {
                                severity: Severity::Error,
                                message: msg,
                                ..d
                            },
                        ),
                        None => self.push_lazy(&slot.path, label(&msg)),
                    }
                    var.value = None;
                }
            }
        }
        if var.value.is_none() && var.source == ValueSource::Default && !broken {
            var.source = ValueSource::Unset;
            let how = if module == ModId(0) {
                format!(
                    "set it with --var {name}=..., a powerpipe.ppvars file or the environment variable PP_VAR_{name}"
                )
            } else {
                format!(
                    "the mod that requires `{mod_name}` must pass it in `args`, or set it with --var {mod_name}.{name}=..."
                )
            };
            self.push_lazy(
                &slot.path,
                label(&format!(
                    "variable `{name}` has no value and no default: {how}"
                )),
            );
        }
        var
    }

    /// Reads one `variable` block into `var`: type, default, description.
    /// `broken`: the scanner already reported a syntax error in the block.
    fn declare(
        &self,
        path: &str,
        src: &[u8],
        span: Span,
        name: &str,
        var: &mut Variable,
        broken: bool,
    ) {
        let snippet = Snippet::new(src, span);
        let body = match snippet.parse_body() {
            Ok(b) => b,
            Err(d) => {
                if !broken {
                    self.push_lazy(path, d);
                }
                return;
            }
        };
        let Some(block) = body.blocks().next() else {
            return;
        };
        if let Some(t) = block.body.get_attribute("type") {
            let expr = hcl::Expression::from(t.value.clone());
            match Type::parse(&expr) {
                Ok(ty) => var.ty = Some(ty),
                Err(e) => {
                    let d = snippet.diagnostic(
                        Severity::Error,
                        eval::span_of(&t.value),
                        format!("invalid type for variable `{name}`: {e}"),
                    );
                    self.push_lazy(path, d);
                }
            }
        }
        if let Some(d) = block.body.get_attribute("description") {
            let expr = hcl::Expression::from(d.value.clone());
            let why = match eval::constant(&expr, &self.interner) {
                Ok(v @ (Val::Str(_) | Val::Number(_) | Val::Bool(_))) => {
                    var.description = v.to_display_string();
                    None
                }
                Ok(Val::Null | Val::Unknown(_)) => None,
                Ok(other) => Some(format!("a string is required, not a {}", other.type_name())),
                Err(e) => Some(e),
            };
            if let Some(why) = why {
                let d = snippet.diagnostic(
                    Severity::Error,
                    eval::span_of(&d.value),
                    format!("cannot evaluate `description`: {why}"),
                );
                self.push_lazy(path, d);
            }
        }
        if let Some(dflt) = block.body.get_attribute("default") {
            let expr = hcl::Expression::from(dflt.value.clone());
            let at = eval::span_of(&dflt.value);
            match eval::constant(&expr, &self.interner) {
                Ok(v) => {
                    let v = match &var.ty {
                        Some(ty) => match ty.convert(&v) {
                            Ok(c) => Some(c),
                            Err(e) => {
                                let d = snippet.diagnostic(
                                    Severity::Error,
                                    at,
                                    format!("invalid default for variable `{name}`: {e}"),
                                );
                                self.push_lazy(path, d);
                                None
                            }
                        },
                        None => Some(v),
                    };
                    var.default = v.clone();
                    var.value = v;
                }
                Err(e) => {
                    let d = snippet.diagnostic(
                        Severity::Error,
                        at,
                        format!("the default of variable `{name}` must be a constant: {e}"),
                    );
                    self.push_lazy(path, d);
                }
            }
        }
    }

    /// A scope with the mod's variables and locals referred to inside `span` of `file`.
    pub fn scope_for_expr(&self, index: &Index, module: ModId, file: FileId, span: Span) -> Scope {
        let mut scope = Scope::new();
        let Some(f) = index.file(file) else {
            return scope;
        };
        for r in f
            .index
            .refs
            .iter()
            .filter(|r| r.span.start >= span.start && r.span.end <= span.end)
        {
            if r.module.is_some() || r.scoped() {
                continue;
            }
            let name = f.index.str(r.name);
            match f.index.str(r.kind) {
                "var" => {
                    if let Some(v) = self.var(index, module, name).and_then(|v| v.value.as_ref()) {
                        scope.insert(&["var", name], v.to_hcl());
                    }
                }
                "local" => {
                    if let Some(v) = self
                        .local(index, module, name)
                        .and_then(|l| l.value.as_ref())
                    {
                        scope.insert(&["local", name], v.to_hcl());
                    }
                }
                _ => {}
            }
        }
        scope
    }

    /// The user's values in precedence order (lowest first).
    fn user_values(&mut self, index: &Index, inputs: &ValueInputs) -> Vec<UserValue> {
        let sources = self.sources.clone();
        let mut out = Vec::new();
        // Environment: SP_VAR_ (Steampipe) below PP_VAR_ (Powerpipe reads only the latter).
        for prefix in ["SP_VAR_", "PP_VAR_"] {
            let mut env: Vec<&(String, String)> = inputs
                .env
                .iter()
                .filter(|(k, _)| k.starts_with(prefix) && k.len() > prefix.len())
                .collect();
            env.sort();
            for (k, v) in env {
                out.push(UserValue {
                    name: k[prefix.len()..].to_string(),
                    raw: Raw::Text(v.clone()),
                    source: ValueSource::Env(k.clone()),
                    at: None,
                });
            }
        }
        // Variables files at the root of the root mod.
        let root_files: Vec<&str> = index
            .files()
            .filter(|(_, f)| f.module == ModId(0) && !f.path.contains('/'))
            .map(|(_, f)| f.path.as_str())
            .collect();
        let mut files: Vec<String> = Vec::new();
        if root_files.contains(&"powerpipe.ppvars") {
            files.push("powerpipe.ppvars".into());
        } else if root_files.contains(&"steampipe.spvars") {
            files.push("steampipe.spvars".into());
        }
        let mut auto: Vec<&str> = root_files
            .iter()
            .copied()
            .filter(|p| p.ends_with(".auto.ppvars") || p.ends_with(".auto.spvars"))
            .collect();
        auto.sort();
        files.extend(auto.into_iter().map(String::from));
        for path in files {
            let Some(src) = sources.read(&path) else {
                continue;
            };
            let found = self.vars_file(&path, &src);
            out.extend(found);
        }
        for f in &inputs.var_files {
            let found = self.vars_file(&f.name, f.text.as_bytes());
            out.extend(found);
        }
        for v in &inputs.vars {
            match v.split_once('=') {
                Some((name, value)) if !name.trim().is_empty() => out.push(UserValue {
                    name: name.trim().to_string(),
                    raw: Raw::Text(value.to_string()),
                    source: ValueSource::CommandLine,
                    at: None,
                }),
                _ => self.push(
                    "<command line>",
                    command_line(format!(
                        "the --var option {v:?} is not name=value: write it as --var name=value"
                    )),
                ),
            }
        }
        out
    }

    /// The values of one variables file. `dep.name = value` lines set a dependency's
    /// variable (Powerpipe rewrites such lines before parsing; so does this).
    fn vars_file(&mut self, path: &str, src: &[u8]) -> Vec<UserValue> {
        let text = String::from_utf8_lossy(src);
        let (rewritten, qualified) = rewrite_qualified_names(&text);
        let snippet = Snippet {
            src,
            text: format!("{rewritten}\n"),
            start: 0,
        };
        let body = match snippet.parse_body() {
            Ok(b) => b,
            Err(d) => {
                self.push(path, d);
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for s in body.iter() {
            match s {
                hcl::edit::structure::Structure::Attribute(a) => {
                    let key = a.key.as_str().to_string();
                    let name = qualified.get(&key).cloned().unwrap_or(key);
                    let expr = hcl::Expression::from(a.value.clone());
                    let at = eval::span_of(&a.value);
                    match eval::constant(&expr, &self.interner) {
                        Ok(v) => out.push(UserValue {
                            name,
                            raw: Raw::Value(v),
                            source: ValueSource::File(path.to_string()),
                            at: Some((
                                path.to_string(),
                                snippet.diagnostic(
                                    Severity::Warning,
                                    eval::span_of(a),
                                    String::new(),
                                ),
                            )),
                        }),
                        Err(e) => {
                            let d = snippet.diagnostic(
                                Severity::Error,
                                at,
                                format!("the value of `{name}` must be a constant: {e}"),
                            );
                            self.push(path, d);
                        }
                    }
                }
                hcl::edit::structure::Structure::Block(b) => {
                    let d = snippet.diagnostic(
                        Severity::Error,
                        eval::span_of(b),
                        format!(
                            "a variables file holds only `name = value` lines, not a `{}` block",
                            b.ident.as_str()
                        ),
                    );
                    self.push(path, d);
                }
            }
        }
        out
    }
}

/// True for the files Powerpipe loads (`.pp`, `.sp`); Flowpipe's and Tailpipe's are
/// indexed only.
fn evaluated_file(path: &str) -> bool {
    path.ends_with(".pp") || path.ends_with(".sp")
}

/// An error diagnostic on a block's label (labels are on the block's first line, so the
/// column moves with the byte offset).
pub fn label_diagnostic(index: &Index, id: ResourceId, name_span: Span) -> Diagnostic {
    let (start, end) = match index.block(id) {
        Some(b) => {
            let start = Pos {
                line: b.start.line,
                column: b.start.column + name_span.start.saturating_sub(b.start.byte),
                byte: name_span.start,
            };
            let end = Pos {
                line: b.start.line,
                column: start.column + name_span.len(),
                byte: name_span.end,
            };
            (start, end)
        }
        None => (Pos::default(), Pos::default()),
    };
    Diagnostic {
        severity: Severity::Error,
        start,
        end,
        message: String::new(),
    }
}

/// The files file functions read for a mod: paths relative to its folder, never outside
/// it.
pub fn file_reader(
    sources: &dyn Sources,
    index: &Index,
    module: ModId,
) -> super::funcs::FileReader {
    let root = index.module(module).map(|m| m.root.as_str()).unwrap_or("");
    sources.mod_files(root)
}

/// `a → b → a` for a cycle component, following edges from its first member.
pub fn cycle_text(comp: &[usize], deps: &[Vec<usize>], name: impl Fn(usize) -> String) -> String {
    let Some(&start) = comp.first() else {
        return String::new();
    };
    let mut path = vec![start];
    let mut cur = start;
    // Walk inside the component until back at the start (bounded by its size; each step
    // looks at one member's edges, with set lookups: linear in the component).
    let members: HashSet<usize> = comp.iter().copied().collect();
    let mut on_path: HashSet<usize> = HashSet::from([start]);
    for _ in 0..comp.len() {
        let next = deps[cur]
            .iter()
            .copied()
            .find(|d| members.contains(d) && (*d == start || !on_path.contains(d)));
        match next {
            Some(n) if n == start => {
                path.push(start);
                break;
            }
            Some(n) => {
                path.push(n);
                on_path.insert(n);
                cur = n;
            }
            None => break,
        }
    }
    if path.last() != Some(&start) {
        // Not a simple walk back (several loops): name every member.
        let mut all: Vec<String> = comp.iter().map(|&i| name(i)).collect();
        all.push(name(start));
        return all.join(" → ");
    }
    path.into_iter().map(name).collect::<Vec<_>>().join(" → ")
}

/// The value of a text given for a variable: literal for primitive (or untyped) variables,
/// parsed as HCL otherwise.
fn text_value(text: &str, ty: Option<&Type>, interner: &Interner) -> Result<Val, String> {
    let literal = ty.is_none_or(Type::takes_literal_text);
    if literal {
        return Ok(Val::Str(interner.intern(text)));
    }
    let expr = hcl::edit::parser::parse_expr(text)
        .map_err(|e| format!("not a valid HCL value: {}", e.message()))?;
    eval::constant(&hcl::Expression::from(expr), interner)
}

fn command_line(message: String) -> Diagnostic {
    let at = Pos {
        line: 1,
        column: 1,
        byte: 0,
    };
    Diagnostic {
        severity: Severity::Error,
        start: at,
        end: at,
        message,
    }
}

/// Rewrites `dep.name =` at the start of a line into an identifier of the same length
/// (`dep-name`), returning the map back to the dotted names.
fn rewrite_qualified_names(text: &str) -> (String, HashMap<String, String>) {
    let mut map = HashMap::new();
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start_matches(' ');
        let indent = line.len() - trimmed.len();
        let name_len = trimmed
            .bytes()
            .position(|b| {
                !(b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || b == b'-'
                    || b == b'_'
                    || b == b'.')
            })
            .unwrap_or(trimmed.len());
        let name = &trimmed[..name_len];
        let after = trimmed[name_len..].trim_start_matches(' ');
        let dots = name.matches('.').count();
        if dots == 1
            && after.starts_with('=')
            && !after.starts_with("==")
            && !name.starts_with('.')
            && !name.ends_with('.')
        {
            let alias = name.replace('.', "-");
            map.insert(alias.clone(), name.to_string());
            out.push_str(&line[..indent]);
            out.push_str(&alias);
            out.push_str(&trimmed[name_len..]);
        } else {
            out.push_str(line);
        }
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names_in_vars_files_keep_their_length() {
        let (t, m) =
            rewrite_qualified_names("a = 1\naws_insights.region = \"x\"\n  b.c=2\nx.y.z = 3\n");
        assert_eq!(
            t,
            "a = 1\naws_insights-region = \"x\"\n  b-c=2\nx.y.z = 3\n"
        );
        assert_eq!(
            m.get("aws_insights-region").map(String::as_str),
            Some("aws_insights.region")
        );
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn text_values_follow_the_type() {
        let i = Interner::default();
        assert_eq!(
            text_value("a b", Some(&Type::String), &i),
            Ok(Val::str("a b"))
        );
        assert_eq!(text_value("5", Some(&Type::Number), &i), Ok(Val::str("5")));
        assert_eq!(text_value("5", None, &i), Ok(Val::str("5")));
        let l = text_value(
            "[\"a\", \"b\"]",
            Some(&Type::List(Box::new(Type::String))),
            &i,
        );
        assert_eq!(l.ok().and_then(|v| v.as_list().map(|l| l.len())), Some(2));
        assert!(text_value("[", Some(&Type::Any), &i).is_err());
    }

    #[test]
    fn cycles_are_named_in_order() {
        let deps = vec![vec![1], vec![2], vec![0]];
        let t = cycle_text(&[0, 1, 2], &deps, |i| ["a", "b", "c"][i].to_string());
        assert_eq!(t, "a → b → c → a");
        let deps = vec![vec![0]];
        assert_eq!(cycle_text(&[0], &deps, |_| "x".into()), "x → x");
    }

    #[test]
    fn a_long_cycle_is_named_in_linear_time() {
        // 200,000 members: a walk checking membership and its path by scanning lists
        // (the way it was) makes 4 x 10^10 comparisons.
        let n = 200_000;
        let deps: Vec<Vec<usize>> = (0..n).map(|i| vec![(i + 1) % n]).collect();
        let comp: Vec<usize> = (0..n).collect();
        let t = cycle_text(&comp, &deps, |i| i.to_string());
        assert!(t.starts_with("0 → 1 → 2 → "), "{}", &t[..20]);
        assert!(t.ends_with(&format!("→ {} → 0", n - 1)));
    }
}
