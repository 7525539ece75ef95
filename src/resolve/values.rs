//! Values: every mod's variables and locals, computed up front (they are small, and almost
//! every resource refers to them).
//!
//! A variable's value comes from, lowest to highest precedence (Powerpipe's order, read
//! from pipe-fittings' `inputvars`): its `default`; the requiring mod's `args` (for a
//! dependency); `SP_VAR_name` then `PP_VAR_name` environment variables; `powerpipe.ppvars`
//! (or, only when there is none, `steampipe.spvars`); `*.auto.ppvars` / `*.auto.spvars` in
//! name order; every `--var-file` in order; every `--var name=value` in order. The user's
//! sources set the root mod's variables, and a direct dependency's as `dep.name`.
//! A value from text (an environment variable, `--var`) is taken literally for a string,
//! number or bool variable (or one without a type) and parsed as HCL otherwise. Values are
//! converted to the variable's type (Powerpipe only checks; converting shows `5`, not
//! `"5"`, and renders the same in SQL).
//!
//! Locals are evaluated per mod in dependency order; a cycle is one diagnostic naming every
//! member, and a local that depends on a failed one fails without another message.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use hcl::edit::Span as _;

use super::deps::Dependencies;
use super::eval::{self, Scope, Snippet, span_diagnostic};
use super::graph;
use super::types::Type;
use super::value::{Interner, Val};
use super::{FileDiagnostic, Sources, ValueInputs};
use crate::index::{Index, ModId, ResourceId};
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

/// One variable.
#[derive(Clone, Debug)]
pub struct Variable {
    /// Its block.
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

/// One local value.
#[derive(Clone, Debug)]
pub struct Local {
    /// Its entry in the index.
    pub resource: ResourceId,
    /// The value (`None` when it failed; the reason is a diagnostic).
    pub value: Option<Val>,
}

/// One mod's variables and locals.
#[derive(Clone, Debug, Default)]
pub struct ModValues {
    /// Variables by name.
    pub vars: BTreeMap<String, Variable>,
    /// Locals by name.
    pub locals: BTreeMap<String, Local>,
}

/// Every mod's variables and locals.
#[derive(Debug, Default)]
pub struct Values {
    mods: Vec<ModValues>,
    /// Problems found while computing them.
    pub diagnostics: Vec<FileDiagnostic>,
    /// For every file that declares or sets values, a hash of that part of its text (see
    /// [`value_text_hash`]): an edit that leaves it alone leaves the values alone.
    hashes: HashMap<String, u64>,
}

/// A value given by the user before it meets its variable.
struct UserValue {
    /// `name` or `dep.name`.
    name: String,
    raw: Raw,
    source: ValueSource,
    /// Where it was written, when in a file.
    at: Option<(String, Diagnostic)>,
}

/// One entry of a require's `args`, waiting for the mod it sets.
struct PendingArg {
    name: String,
    value: Val,
    /// The requiring mod's name.
    from: String,
    /// Where the `args` expression is.
    file: String,
    at: Diagnostic,
}

enum Raw {
    /// Text to parse according to the variable's type.
    Text(String),
    /// Already evaluated (a vars file).
    Value(Val),
}

impl Values {
    /// Computes every mod's variables and locals.
    pub fn compute(
        index: &Index,
        deps: &Dependencies,
        sources: &dyn Sources,
        inputs: &ValueInputs,
        interner: &Interner,
    ) -> Values {
        let mut values = Values {
            mods: vec![ModValues::default(); index.mods().len()],
            diagnostics: Vec::new(),
            hashes: HashMap::new(),
        };
        for (id, f) in index.files() {
            if let Some(h) = value_text_hash(index, id, sources) {
                values.hashes.insert(f.path.clone(), h);
            }
        }
        let user = values.user_values(index, sources, inputs, interner);
        // Args waiting for the mod they set, by target mod.
        let mut pending_args: HashMap<ModId, Vec<PendingArg>> = HashMap::new();
        for module in deps.value_order(index.mods().len()) {
            values.variables(
                index,
                sources,
                module,
                &user,
                pending_args.remove(&module),
                interner,
            );
            values.locals(index, sources, module, interner);
            values.eval_args(index, deps, sources, module, &mut pending_args, interner);
        }
        values
    }

    /// The qualified names (`mod.var.x`, `mod.local.x`) whose values differ from `old`'s
    /// (added, removed or changed).
    pub fn changed_since(&self, old: &Values, index: &Index) -> Vec<super::Text> {
        let mut out = Vec::new();
        let n = self.mods.len().max(old.mods.len());
        let empty = ModValues::default();
        for m in 0..n {
            let name = index
                .module(ModId(m as u32))
                .map(|x| x.name.as_str())
                .unwrap_or("");
            let new = self.mods.get(m).unwrap_or(&empty);
            let was = old.mods.get(m).unwrap_or(&empty);
            let keys: std::collections::BTreeSet<&String> =
                new.vars.keys().chain(was.vars.keys()).collect();
            for k in keys {
                let a = new.vars.get(k).map(|v| &v.value);
                let b = was.vars.get(k).map(|v| &v.value);
                if a != b {
                    out.push(super::Text::from(format!("{name}.var.{k}")));
                }
            }
            let keys: std::collections::BTreeSet<&String> =
                new.locals.keys().chain(was.locals.keys()).collect();
            for k in keys {
                let a = new.locals.get(k).map(|v| &v.value);
                let b = was.locals.get(k).map(|v| &v.value);
                if a != b {
                    out.push(super::Text::from(format!("{name}.local.{k}")));
                }
            }
        }
        out
    }

    /// The value-text hash of a file when the values were computed (`None`: the file set
    /// no values).
    pub fn text_hash(&self, path: &str) -> Option<u64> {
        self.hashes.get(path).copied()
    }

    /// One mod's values.
    pub fn module(&self, module: ModId) -> Option<&ModValues> {
        self.mods.get(module.0 as usize)
    }

    /// A variable of a mod.
    pub fn var(&self, module: ModId, name: &str) -> Option<&Variable> {
        self.module(module)?.vars.get(name)
    }

    /// A local of a mod.
    pub fn local(&self, module: ModId, name: &str) -> Option<&Local> {
        self.module(module)?.locals.get(name)
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.mods
            .iter()
            .map(|m| {
                m.vars
                    .iter()
                    .map(|(k, v)| {
                        k.len()
                            + 96
                            + v.value.as_ref().map(Val::heap_bytes).unwrap_or(0)
                            + v.default.as_ref().map(Val::heap_bytes).unwrap_or(0)
                    })
                    .sum::<usize>()
                    + m.locals
                        .iter()
                        .map(|(k, l)| {
                            k.len() + 64 + l.value.as_ref().map(Val::heap_bytes).unwrap_or(0)
                        })
                        .sum::<usize>()
            })
            .sum()
    }

    fn push(&mut self, file: &str, d: Diagnostic) {
        self.diagnostics.push(FileDiagnostic::new(file, d));
    }

    /// The user's values in precedence order (lowest first).
    fn user_values(
        &mut self,
        index: &Index,
        sources: &dyn Sources,
        inputs: &ValueInputs,
        interner: &Interner,
    ) -> Vec<UserValue> {
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
        let mut undeclared = 0usize;
        for path in files {
            let Some(src) = sources.read(&path) else {
                continue;
            };
            let found = self.vars_file(&path, &src, interner);
            out.extend(found);
        }
        for f in &inputs.var_files {
            let found = self.vars_file(&f.name, f.text.as_bytes(), interner);
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
        // Undeclared names: a warning for files (two, then a count), an error for --var,
        // nothing for the environment (Powerpipe's rules).
        let declared = |name: &str| -> bool {
            match name.split_once('.') {
                None => index
                    .lookup(ModId(0), "var", name)
                    .iter()
                    .any(|r| index.block(*r).is_some_and(|b| b.parent.is_none())),
                Some((m, n)) => index
                    .mod_named(m)
                    .is_some_and(|id| !index.lookup(id, "var", n).is_empty()),
            }
        };
        let mut extra = 0usize;
        for u in &out {
            if declared(&u.name) {
                continue;
            }
            match (&u.source, &u.at) {
                (ValueSource::CommandLine, _) => self.push(
                    "<command line>",
                    command_line(format!(
                        "value for undeclared variable `{}`: add a `variable \"{}\"` block to the mod",
                        u.name, u.name
                    )),
                ),
                (ValueSource::File(_), Some((file, d))) => {
                    undeclared += 1;
                    if undeclared <= 2 {
                        self.push(
                            file,
                            Diagnostic {
                                severity: Severity::Warning,
                                message: format!(
                                    "value for undeclared variable `{}`: add a `variable \"{}\"` block to the mod if you meant to use it",
                                    u.name, u.name
                                ),
                                ..d.clone()
                            },
                        );
                    } else {
                        extra += 1;
                    }
                }
                _ => {}
            }
        }
        if extra > 0
            && let Some((file, d)) = out.iter().filter_map(|u| u.at.as_ref()).next_back()
        {
            self.push(
                file,
                Diagnostic {
                    severity: Severity::Warning,
                    message: format!("{extra} more values for undeclared variables"),
                    ..d.clone()
                },
            );
        }
        out
    }

    /// The values of one variables file. `dep.name = value` lines set a dependency's
    /// variable (Powerpipe rewrites such lines before parsing; so does this).
    fn vars_file(&mut self, path: &str, src: &[u8], interner: &Interner) -> Vec<UserValue> {
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
                    match eval::constant(&expr, interner) {
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

    /// Declares a mod's variables and gives each its value.
    fn variables(
        &mut self,
        index: &Index,
        sources: &dyn Sources,
        module: ModId,
        user: &[UserValue],
        args: Option<Vec<PendingArg>>,
        interner: &Interner,
    ) {
        let mod_name = index
            .module(module)
            .map(|m| m.name.clone())
            .unwrap_or_default();
        // The names the user spells this mod's variables with: short for the root mod,
        // `dep.name` for a dependency (any installed one: Powerpipe allows direct ones).
        let qualifier = if module == ModId(0) {
            None
        } else {
            Some(mod_name.clone())
        };
        let mut declared: Vec<(String, Variable, String, Span)> = Vec::new();
        for id in index.resources_of_type("variable") {
            if index.mod_of(id) != Some(module) {
                continue;
            }
            let (Some(f), Some(b)) = (index.file(id.file), index.block(id)) else {
                continue;
            };
            if b.parent.is_some() || !evaluated_file(&f.path) {
                continue;
            }
            let name = f.index.str(b.name).to_string();
            if declared.iter().any(|(n, ..)| *n == name) {
                continue; // a duplicate: the index reports it
            }
            let Some(src) = sources.read(&f.path) else {
                continue;
            };
            let span = Span {
                start: b.start.byte,
                end: b.end.byte,
            };
            let var = self.declare(&f.path, &src, span, id, &name, interner);
            declared.push((name, var, f.path.clone(), b.name_span()));
        }
        let mut args = args.unwrap_or_default();
        for (name, mut var, path, name_span) in declared {
            // Lowest to highest: default (already set), args, then the user's values.
            if let Some(pos) = args.iter().rposition(|a| a.name == name) {
                let a = args.remove(pos);
                args.retain(|x| x.name != name);
                var.value = Some(a.value);
                var.source = ValueSource::Args(a.from);
            }
            let spelled = match &qualifier {
                None => name.clone(),
                Some(q) => format!("{q}.{name}"),
            };
            let mut given: Option<&UserValue> = None;
            for u in user.iter().filter(|u| u.name == spelled) {
                given = Some(u);
            }
            // A dependency's variable is also reached by `dep.var.name` (the full name).
            if given.is_none()
                && let Some(q) = &qualifier
            {
                let full = format!("{q}.var.{name}");
                given = user.iter().rfind(|u| u.name == full);
            }
            if let Some(u) = given {
                let raw = match &u.raw {
                    Raw::Value(v) => Ok(v.clone()),
                    Raw::Text(t) => text_value(t, var.ty.as_ref(), interner),
                };
                match raw {
                    Ok(v) => {
                        var.value = Some(v);
                        var.source = u.source.clone();
                    }
                    Err(e) => {
                        let label = label_diagnostic(index, var.resource, name_span);
                        self.value_error(&path, u, &name, label, e)
                    }
                }
            }
            if let (Some(ty), Some(v)) = (&var.ty, &var.value)
                && var.source != ValueSource::Default
            {
                match ty.convert(v) {
                    Ok(c) => var.value = Some(c),
                    Err(e) => {
                        let at = user
                            .iter()
                            .rfind(|u| u.name == spelled && u.source == var.source);
                        let msg = format!(
                            "invalid value for variable `{name}` (from {}): {e}",
                            var.source.describe()
                        );
                        match at.and_then(|u| u.at.clone()) {
                            Some((file, d)) => self.push(
                                &file,
                                Diagnostic {
                                    severity: Severity::Error,
                                    message: msg,
                                    ..d
                                },
                            ),
                            None => {
                                self.declaration_error(index, &path, var.resource, name_span, msg)
                            }
                        }
                        var.value = None;
                    }
                }
            }
            if var.value.is_none() && var.source == ValueSource::Default {
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
                self.declaration_error(
                    index,
                    &path,
                    var.resource,
                    name_span,
                    format!("variable `{name}` has no value and no default: {how}"),
                );
            }
            if let Some(m) = self.mods.get_mut(module.0 as usize) {
                m.vars.insert(name, var);
            }
        }
        for a in args {
            // Args for variables the dependency does not declare.
            self.push(
                &a.file,
                Diagnostic {
                    severity: Severity::Error,
                    message: format!(
                        "`args` sets `{}`, but mod `{mod_name}` has no variable by that name",
                        a.name
                    ),
                    ..a.at
                },
            );
        }
    }

    fn value_error(&mut self, path: &str, u: &UserValue, name: &str, label: Diagnostic, e: String) {
        let msg = format!(
            "invalid value for variable `{name}` (from {}): {e}",
            u.source.describe()
        );
        match &u.at {
            Some((file, d)) => self.push(
                file,
                Diagnostic {
                    severity: Severity::Error,
                    message: msg,
                    ..d.clone()
                },
            ),
            None => self.push(
                path,
                Diagnostic {
                    message: msg,
                    ..label
                },
            ),
        }
    }

    /// A diagnostic on a variable's name label.
    fn declaration_error(
        &mut self,
        index: &Index,
        path: &str,
        id: ResourceId,
        name_span: Span,
        message: String,
    ) {
        let d = label_diagnostic(index, id, name_span);
        self.push(path, Diagnostic { message, ..d });
    }

    /// Reads one `variable` block: type, default, description.
    fn declare(
        &mut self,
        path: &str,
        src: &[u8],
        span: Span,
        id: ResourceId,
        name: &str,
        interner: &Interner,
    ) -> Variable {
        let mut var = Variable {
            resource: id,
            value: None,
            source: ValueSource::Default,
            ty: None,
            default: None,
            description: None,
        };
        let snippet = Snippet::new(src, span);
        let body = match snippet.parse_body() {
            Ok(b) => b,
            Err(d) => {
                self.push(path, d);
                return var;
            }
        };
        let Some(block) = body.blocks().next() else {
            return var;
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
                    self.push(path, d);
                }
            }
        }
        if let Some(d) = block.body.get_attribute("description") {
            let expr = hcl::Expression::from(d.value.clone());
            if let Ok(Val::Str(s)) = eval::constant(&expr, interner) {
                var.description = Some(s.to_string());
            }
        }
        if let Some(dflt) = block.body.get_attribute("default") {
            let expr = hcl::Expression::from(dflt.value.clone());
            let at = eval::span_of(&dflt.value);
            match eval::constant(&expr, interner) {
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
                                self.push(path, d);
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
                    self.push(path, d);
                }
            }
        }
        var
    }

    /// Evaluates every local of a mod, dependencies first.
    fn locals(&mut self, index: &Index, sources: &dyn Sources, module: ModId, interner: &Interner) {
        struct Entry {
            name: String,
            id: ResourceId,
            deps: Vec<usize>,
            vars: Vec<String>,
            /// Broken reference: the local fails (the reference is reported).
            broken: bool,
        }
        let mut entries: Vec<Entry> = Vec::new();
        let mut by_name: HashMap<String, usize> = HashMap::new();
        for id in index.resources_of_type("local") {
            if index.mod_of(id) != Some(module) {
                continue;
            }
            let Some(f) = index.file(id.file) else {
                continue;
            };
            let Some(b) = index.block(id) else { continue };
            if b.role != BlockRole::Local || !evaluated_file(&f.path) {
                continue;
            }
            let name = f.index.str(b.name).to_string();
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
            });
        }
        // Dependencies from the scanner's references (no parse needed to order them).
        let mut problems: Vec<(crate::index::FileId, Span, String)> = Vec::new();
        for e in entries.iter_mut() {
            let Some(f) = index.file(e.id.file) else {
                continue;
            };
            for r in f.index.refs_of(e.id.block) {
                let kind = f.index.str(r.kind);
                let target = f.index.str(r.name);
                if r.module.is_some() || r.scoped() {
                    continue;
                }
                match kind {
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
                        let known = self
                            .module(module)
                            .is_some_and(|m| m.vars.contains_key(target));
                        if known {
                            e.vars.push(target.to_string());
                        } else {
                            e.broken = true;
                            problems.push((
                                e.id.file,
                                r.span,
                                format!("unknown variable `var.{target}`"),
                            ));
                        }
                    }
                    _ => {}
                }
            }
            e.deps.sort_unstable();
            e.deps.dedup();
        }
        for (file, span, message) in problems {
            let Some(f) = index.file(file) else { continue };
            if let Some(src) = sources.read(&f.path) {
                let d = span_diagnostic(&src, Severity::Error, span, message);
                self.push(&f.path.clone(), d);
            }
        }
        let deps: Vec<Vec<usize>> = entries.iter().map(|e| e.deps.clone()).collect();
        let comps = graph::sccs(entries.len(), |u| &deps[u]);
        let mut results: Vec<Option<Val>> = vec![None; entries.len()];
        let mut failed = vec![false; entries.len()];
        let mut sources_cache: HashMap<crate::index::FileId, Arc<[u8]>> = HashMap::new();
        for comp in comps {
            if graph::is_cycle(&comp, |u| &deps[u]) {
                let mut names: Vec<(String, ResourceId)> = comp
                    .iter()
                    .map(|&i| (format!("local.{}", entries[i].name), entries[i].id))
                    .collect();
                names.sort_by(|a, b| {
                    let pa = index.file(a.1.file).map(|f| f.path.as_str());
                    let pb = index.file(b.1.file).map(|f| f.path.as_str());
                    pa.cmp(&pb).then(a.1.block.cmp(&b.1.block))
                });
                let cycle = cycle_text(&comp, &deps, |i| format!("local.{}", entries[i].name));
                let first = names[0].1;
                if let (Some(f), Some(b)) = (index.file(first.file), index.block(first)) {
                    let d = Diagnostic {
                        severity: Severity::Error,
                        start: b.start,
                        end: b.end.min(Pos {
                            line: b.start.line,
                            column: b.start.column + b.name_span().len(),
                            byte: b.name_span().end,
                        }),
                        message: format!("local values form a cycle: {cycle}"),
                    };
                    self.push(&f.path.clone(), d);
                }
                for &i in &comp {
                    failed[i] = true;
                }
                continue;
            }
            let i = comp[0];
            let e = &entries[i];
            if e.broken || e.deps.iter().any(|&d| failed[d]) {
                failed[i] = true;
                continue;
            }
            let Some(f) = index.file(e.id.file) else {
                continue;
            };
            let Some(b) = index.block(e.id) else { continue };
            let src = match sources_cache.get(&e.id.file) {
                Some(s) => s.clone(),
                None => match sources.read(&f.path) {
                    Some(s) => {
                        sources_cache.insert(e.id.file, s.clone());
                        s
                    }
                    None => {
                        failed[i] = true;
                        continue;
                    }
                },
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
                    self.push(&f.path.clone(), d);
                    failed[i] = true;
                    continue;
                }
            };
            let Some(attr) = attr else {
                failed[i] = true;
                continue;
            };
            let mut scope = Scope::new();
            scope.insert(&["local"], hcl::Value::Object(hcl::Map::new()));
            for &d in &e.deps {
                if let Some(v) = &results[d] {
                    scope.insert(&["local", entries[d].name.as_str()], v.to_hcl());
                }
            }
            for v in &e.vars {
                if let Some(val) = self.var(module, v).and_then(|x| x.value.as_ref()) {
                    scope.insert(&["var", v.as_str()], val.to_hcl());
                } else {
                    scope.insert(&["var", v.as_str()], hcl::Value::Null);
                }
            }
            let expr = hcl::Expression::from(attr.value.clone());
            let reader = file_reader(sources, index, module);
            let out =
                super::funcs::with_file_reader(reader, || eval::evaluate(&expr, &scope, interner));
            match out {
                Ok(v) => results[i] = Some(v),
                Err(msg) => {
                    let d = snippet.diagnostic(
                        Severity::Error,
                        attr.value.span().unwrap_or(0..0),
                        format!("cannot evaluate `local.{}`: {msg}", e.name),
                    );
                    self.push(&f.path.clone(), d);
                    failed[i] = true;
                }
            }
        }
        if let Some(m) = self.mods.get_mut(module.0 as usize) {
            for (i, e) in entries.into_iter().enumerate() {
                m.locals.insert(
                    e.name,
                    Local {
                        resource: e.id,
                        value: results[i].take(),
                    },
                );
            }
        }
    }

    /// Evaluates `args` of this mod's requires, for the mods they set.
    fn eval_args(
        &mut self,
        index: &Index,
        deps: &Dependencies,
        sources: &dyn Sources,
        module: ModId,
        pending: &mut HashMap<ModId, Vec<PendingArg>>,
        interner: &Interner,
    ) {
        let mod_name = index
            .module(module)
            .map(|m| m.name.clone())
            .unwrap_or_default();
        for r in deps.of(module) {
            let (Some(target), Some(args)) = (r.resolved, &r.args) else {
                continue;
            };
            let Some(f) = index.file(r.file) else {
                continue;
            };
            let Some(src) = sources.read(&f.path) else {
                continue;
            };
            let scope = self.scope_for_expr(index, module, r.file, args.span);
            let reader = file_reader(sources, index, module);
            let result = super::funcs::with_file_reader(reader, || {
                eval::evaluate(&args.expr, &scope, interner)
            });
            match result {
                Ok(Val::Object(entries)) => {
                    let at = span_diagnostic(&src, Severity::Error, args.span, String::new());
                    let list = pending.entry(target).or_default();
                    for (k, v) in entries.iter() {
                        list.push(PendingArg {
                            name: k.to_string(),
                            value: v.clone(),
                            from: mod_name.clone(),
                            file: f.path.clone(),
                            at: at.clone(),
                        });
                    }
                }
                Ok(other) => {
                    let d = span_diagnostic(
                        &src,
                        Severity::Error,
                        args.span,
                        format!(
                            "`args` must be an object of variable values, not a {}",
                            other.type_name()
                        ),
                    );
                    self.push(&f.path.clone(), d);
                }
                Err(msg) => {
                    let d = span_diagnostic(
                        &src,
                        Severity::Error,
                        args.span,
                        format!("cannot evaluate `args`: {msg}"),
                    );
                    self.push(&f.path.clone(), d);
                }
            }
        }
    }

    /// A scope with the mod's variables and locals referred to inside `span` of `file`.
    pub fn scope_for_expr(
        &self,
        index: &Index,
        module: ModId,
        file: crate::index::FileId,
        span: Span,
    ) -> Scope {
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
                    if let Some(v) = self.var(module, name).and_then(|v| v.value.as_ref()) {
                        scope.insert(&["var", name], v.to_hcl());
                    }
                }
                "local" => {
                    if let Some(v) = self.local(module, name).and_then(|l| l.value.as_ref()) {
                        scope.insert(&["local", name], v.to_hcl());
                    }
                }
                _ => {}
            }
        }
        scope
    }
}

/// A hash of what a file contributes to the values: the text and first line of each of its
/// top-level `variable`, `locals` and `mod` blocks, or the whole text of a variables file;
/// `None` when it contributes nothing.
pub fn value_text_hash(
    index: &Index,
    file: crate::index::FileId,
    sources: &dyn Sources,
) -> Option<u64> {
    use std::hash::{BuildHasher, Hasher};
    let f = index.file(file)?;
    let vars_file = f.path.ends_with("vars");
    let blocks: Vec<&crate::syntax::Block> = f
        .index
        .blocks
        .iter()
        .filter(|b| {
            b.parent.is_none() && matches!(f.index.str(b.kind), "variable" | "locals" | "mod")
        })
        .collect();
    if !vars_file && blocks.is_empty() {
        return None;
    }
    let src = sources.read(&f.path)?;
    let mut h = foldhash::fast::FixedState::with_seed(0x7661_6c73).build_hasher();
    if vars_file {
        h.write(&src);
    } else {
        for b in blocks {
            h.write_u32(b.start.line);
            h.write(
                src.get(b.start.byte as usize..b.end.byte as usize)
                    .unwrap_or(&[]),
            );
        }
    }
    Some(h.finish())
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

/// The `file()` reader for a mod: paths relative to its folder, never outside it.
pub fn file_reader(
    sources: &dyn Sources,
    index: &Index,
    module: ModId,
) -> super::funcs::FileReader {
    let root = index.module(module).map(|m| m.root.as_str()).unwrap_or("");
    sources.file_reader(root)
}

/// `a → b → a` for a cycle component, following edges from its first member.
pub fn cycle_text(comp: &[usize], deps: &[Vec<usize>], name: impl Fn(usize) -> String) -> String {
    let Some(&start) = comp.first() else {
        return String::new();
    };
    let mut path = vec![start];
    let mut cur = start;
    // Walk inside the component until back at the start (bounded by its size).
    for _ in 0..comp.len() {
        let next = deps[cur]
            .iter()
            .copied()
            .find(|d| comp.contains(d) && (*d == start || !path.contains(d)));
        match next {
            Some(n) if n == start => {
                path.push(start);
                break;
            }
            Some(n) => {
                path.push(n);
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
}
