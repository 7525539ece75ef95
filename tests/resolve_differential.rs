//! The lazy path against an eager one: for every resource of every fixture and of a
//! generated mod, what the resolver gives for one resource asked alone (index + the block's
//! span + only what it refers to) equals a full eager evaluation of the whole workspace.
//!
//! The eager evaluator is written independently of the resolver: it parses whole files with
//! `hcl::parse`, puts *every* variable, local and resource of a mod in one evaluation
//! context, and evaluates every attribute of every resource in rounds until nothing new can
//! be evaluated (Powerpipe's own multi-pass decode), then applies `base` inheritance. It
//! shares with the resolver only the function library, the variables and locals (computed up
//! front by design) and the index's names.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use common::{fixtures, open};
use modlens::cache::Limits;
use modlens::index::{ModId, ResourceId};
use modlens::resolve::{Resource, Val, ValueInputs, funcs};
use modlens::syntax::BlockRole;

/// One resource as the eager evaluator sees it.
#[derive(Clone, Debug)]
struct Eager {
    module: ModId,
    /// Attributes evaluated so far (hcl values).
    values: BTreeMap<String, hcl::Value>,
    /// Attributes that could not be evaluated (in the last round).
    pending: BTreeMap<String, hcl::Expression>,
    /// Every attribute's expression.
    exprs: BTreeMap<String, hcl::Expression>,
    /// `param` defaults by name (evaluated or pending).
    params: Vec<(String, Option<hcl::Expression>, Option<hcl::Value>)>,
    /// The resource `base` names, if any.
    base: Option<ResourceId>,
}

fn object_of(
    id: ResourceId,
    e: &Eager,
    names: &HashMap<ResourceId, (String, String, String)>,
) -> hcl::Value {
    let mut m = hcl::Map::new();
    for (k, v) in &e.values {
        if matches!(k.as_str(), "query" | "base" | "children") {
            continue;
        }
        m.insert(k.clone(), v.clone());
    }
    if let Some((full, short, kind)) = names.get(&id) {
        m.insert("name".into(), hcl::Value::from(full.as_str()));
        m.insert("short_name".into(), hcl::Value::from(short.as_str()));
        m.insert(
            "unqualified_name".into(),
            hcl::Value::from(format!("{kind}.{short}")),
        );
        if matches!(
            kind.as_str(),
            "dashboard" | "benchmark" | "detection_benchmark"
        ) {
            m.insert("url_path".into(), hcl::Value::from(format!("/{full}")));
        }
    }
    for k in ["title", "description"] {
        m.entry(k.to_string()).or_insert(hcl::Value::Null);
    }
    m.entry("tags".to_string())
        .or_insert_with(|| hcl::Value::Object(hcl::Map::new()));
    hcl::Value::Object(m)
}

/// Evaluates the whole workspace eagerly.
fn eager(o: &common::Opened) -> HashMap<ResourceId, Eager> {
    let index = &o.model.index;
    let mut all: HashMap<ResourceId, Eager> = HashMap::new();
    let mut names: HashMap<ResourceId, (String, String, String)> = HashMap::new();
    for (fid, f) in index.files() {
        if !(f.path.ends_with(".pp") || f.path.ends_with(".sp")) {
            continue;
        }
        let Ok(bytes) = std::fs::read(o.ws.root.join(&f.path)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let Ok(body) = hcl::parse(text) else {
            continue; // broken files: the scanner's diagnostics cover them
        };
        // Pre-order of hcl blocks = pre-order of the index's blocks without local entries.
        let ids: Vec<usize> = f
            .index
            .blocks
            .iter()
            .enumerate()
            .filter(|(_, b)| b.role != BlockRole::Local)
            .map(|(i, _)| i)
            .collect();
        let mut blocks: Vec<&hcl::Block> = Vec::new();
        fn walk<'b>(body: &'b hcl::Body, out: &mut Vec<&'b hcl::Block>) {
            for b in body.blocks() {
                out.push(b);
                walk(&b.body, out);
            }
        }
        walk(&body, &mut blocks);
        assert_eq!(ids.len(), blocks.len(), "{}: block counts differ", f.path);
        for (&bi, hb) in ids.iter().zip(blocks) {
            let b = &f.index.blocks[bi];
            assert_eq!(f.index.str(b.kind), hb.identifier.as_str(), "{}", f.path);
            // Variables are values, not resources with attributes to evaluate.
            if b.role != BlockRole::Resource
                || (b.parent.is_none() && f.index.str(b.kind) == "variable")
            {
                continue;
            }
            let id = ResourceId {
                file: fid,
                block: modlens::syntax::BlockId::new(bi),
            };
            let kind = f.index.str(b.kind).to_string();
            names.insert(
                id,
                (
                    index.qualified_name(id).unwrap_or_default(),
                    index
                        .name_of(id)
                        .map(|n| n.into_owned())
                        .unwrap_or_default(),
                    modlens::index::reference_kind(&kind).to_string(),
                ),
            );
            let mut e = Eager {
                module: f.module,
                values: BTreeMap::new(),
                pending: BTreeMap::new(),
                exprs: BTreeMap::new(),
                params: Vec::new(),
                base: None,
            };
            for a in hb.body.attributes() {
                e.pending.insert(a.key.to_string(), a.expr.clone());
                e.exprs.insert(a.key.to_string(), a.expr.clone());
            }
            for p in hb
                .body
                .blocks()
                .filter(|p| p.identifier.as_str() == "param")
            {
                let name = p
                    .labels
                    .first()
                    .map(|l| l.as_str().to_string())
                    .unwrap_or_default();
                let default = p
                    .body
                    .attributes()
                    .find(|a| a.key.as_str() == "default")
                    .map(|a| a.expr.clone());
                e.params.push((name, default, None));
            }
            // `base`: a plain traversal TYPE.NAME or DEP.TYPE.NAME.
            if let Some(hcl::Expression::Traversal(t)) = e.pending.get("base")
                && let hcl::Expression::Variable(root) = &t.expr
            {
                let parts: Vec<String> = std::iter::once(root.to_string())
                    .chain(t.operators.iter().filter_map(|op| match op {
                        hcl::TraversalOperator::GetAttr(a) => Some(a.to_string()),
                        _ => None,
                    }))
                    .collect();
                let (m, kind, name) = match parts.as_slice() {
                    [k, n] => (f.module, k.clone(), n.clone()),
                    [d, k, n] => (index.mod_named(d).unwrap_or(f.module), k.clone(), n.clone()),
                    _ => (f.module, String::new(), String::new()),
                };
                e.base = index.lookup(m, &kind, &name).first().copied();
            }
            all.insert(id, e);
        }
    }
    // Rounds, every attribute evaluated again from its expression, until a round changes
    // nothing (what an early round evaluated from incomplete objects is corrected later).
    for _round in 0..64 {
        let mut progress = false;
        // Every mod's scope: vars, locals and every resource's object so far.
        let mut scopes: HashMap<ModId, hcl::Map<String, hcl::Value>> = HashMap::new();
        for (m, _) in index.mods().iter().enumerate() {
            let m = ModId(m as u32);
            let mut scope = hcl::Map::new();
            let mut vars = hcl::Map::new();
            let mut locals = hcl::Map::new();
            let values = &o.model.values;
            for k in values.var_names(m) {
                if let Some(v) = values.var(index, m, k).and_then(|v| v.value.as_ref()) {
                    vars.insert(k.to_string(), v.to_hcl());
                }
            }
            for k in values.local_names(m) {
                if let Some(v) = values.local(index, m, k).and_then(|l| l.value.as_ref()) {
                    locals.insert(k.to_string(), v.to_hcl());
                }
            }
            scope.insert("var".into(), hcl::Value::Object(vars));
            scope.insert("local".into(), hcl::Value::Object(locals));
            // Resources by kind; nested blocks first so that top-level ones win a name.
            let mut order: Vec<(&ResourceId, &Eager)> =
                all.iter().filter(|(_, e)| e.module == m).collect();
            order.sort_by_key(|(id, _)| {
                (index.block(**id).is_some_and(|b| b.parent.is_none()), **id)
            });
            let mut kinds: hcl::Map<String, hcl::Value> = hcl::Map::new();
            for (id, e) in order {
                let (_, short, kind) = &names[id];
                let entry = kinds
                    .entry(kind.clone())
                    .or_insert_with(|| hcl::Value::Object(hcl::Map::new()));
                if let hcl::Value::Object(map) = entry {
                    map.insert(short.clone(), object_of(*id, e, &names));
                }
            }
            for (k, v) in kinds {
                scope.insert(k, v);
            }
            scopes.insert(m, scope);
        }
        // Dependency mods are visible by their names.
        let dep_views: Vec<(String, hcl::Value)> = index
            .mods()
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, info)| {
                let mut s = scopes.get(&ModId(i as u32)).cloned().unwrap_or_default();
                s.shift_remove("local");
                (info.name.clone(), hcl::Value::Object(s))
            })
            .collect();
        let ids: Vec<ResourceId> = all.keys().copied().collect();
        for id in ids {
            let Some(e) = all.get(&id) else { continue };
            let mut ctx = hcl::eval::Context::new();
            funcs::declare_all(&mut ctx);
            for (k, v) in scopes.get(&e.module).into_iter().flatten() {
                ctx.declare_var(k.as_str(), v.clone());
            }
            for (name, v) in &dep_views {
                if !scopes.get(&e.module).is_some_and(|s| s.contains_key(name)) {
                    ctx.declare_var(name.as_str(), v.clone());
                }
            }
            let root = index
                .module(e.module)
                .map(|m| m.root.clone())
                .unwrap_or_default();
            let reader = o.resolver.sources().mod_files(&root);
            let mut values = BTreeMap::new();
            let mut pending = BTreeMap::new();
            for (k, expr) in &e.exprs {
                match funcs::with_file_reader(reader.clone(), || funcs::lazy::evaluate(expr, &ctx))
                {
                    Ok(v) => {
                        values.insert(k.clone(), v);
                    }
                    Err(_) => {
                        pending.insert(k.clone(), expr.clone());
                    }
                }
            }
            let mut params = e.params.clone();
            for p in params.iter_mut() {
                p.2 =
                    p.1.as_ref()
                        .and_then(|d| funcs::lazy::evaluate(d, &ctx).ok());
            }
            let Some(e) = all.get_mut(&id) else { continue };
            if values != e.values || params != e.params {
                progress = true;
            }
            e.params = params;
            e.values = values;
            e.pending = pending;
        }
        if !progress {
            break;
        }
    }
    all
}

/// A value as the resolver shows it (sorted objects; numbers and bools as they are).
fn val(v: &hcl::Value) -> Val {
    modlens::resolve::Interner::default().from_hcl(v)
}

fn text(v: Option<&hcl::Value>) -> Option<String> {
    match v? {
        hcl::Value::String(s) => Some(s.clone()),
        hcl::Value::Number(n) => Some(n.to_string()),
        hcl::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn tags(v: Option<&hcl::Value>) -> BTreeMap<String, String> {
    match v {
        Some(hcl::Value::Object(o)) => o
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    text(Some(v)).unwrap_or_else(|| val(v).to_hcl_text()),
                )
            })
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The eager value of an attribute, following `base` for what the block does not set.
fn attr<'a>(
    all: &'a HashMap<ResourceId, Eager>,
    id: ResourceId,
    key: &str,
    depth: usize,
) -> Option<&'a hcl::Value> {
    let e = all.get(&id)?;
    match e.values.get(key) {
        Some(v) => Some(v),
        None if e.pending.contains_key(key) || depth > 16 => None,
        None => attr(all, e.base?, key, depth + 1),
    }
}

fn eager_tags(
    all: &HashMap<ResourceId, Eager>,
    id: ResourceId,
    depth: usize,
) -> BTreeMap<String, String> {
    let Some(e) = all.get(&id) else {
        return BTreeMap::new();
    };
    let mut t = match (e.base, depth < 16) {
        (Some(b), true) => eager_tags(all, b, depth + 1),
        _ => BTreeMap::new(),
    };
    t.extend(tags(e.values.get("tags")));
    t
}

/// Compares the lazy resolve of every resource (each on a cold resolver with a tiny cache,
/// so nothing it needs is already there) with the eager evaluation; returns the number of
/// resources and attributes compared.
fn compare(o: &common::Opened, cold: &common::Opened) -> (usize, usize) {
    let all = eager(o);
    let mut problems: Vec<String> = Vec::new();
    let mut compared = 0usize;
    let mut ids: Vec<&ResourceId> = all.keys().collect();
    ids.sort();
    for &id in &ids {
        let e = &all[id];
        let lazy: Arc<Resource> = cold.resolver.resolve(&cold.model, *id);
        let name = lazy.name.to_string();
        let mut cmp = Cmp {
            name: &name,
            problems: &mut problems,
            compared: &mut compared,
        };
        let mut check =
            |what: &str, lazy_v: String, eager_v: String| cmp.check(what, lazy_v, eager_v);
        // Known in the eager world = known in the lazy one, and equal.
        let title = text(attr(&all, *id, "title", 0));
        check(
            "title",
            format!("{:?}", lazy.title.as_deref()),
            format!("{:?}", title.as_deref()),
        );
        let description = text(attr(&all, *id, "description", 0));
        check(
            "description",
            format!("{:?}", lazy.description.as_deref()),
            format!("{:?}", description.as_deref()),
        );
        let lt: BTreeMap<String, String> = lazy
            .tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        check(
            "tags",
            format!("{lt:?}"),
            format!("{:?}", eager_tags(&all, *id, 0)),
        );
        let sql = if e.values.contains_key("query") || e.pending.contains_key("query") {
            None
        } else {
            attr(&all, *id, "sql", 0).map(val)
        };
        let lazy_sql = lazy.sql.clone().filter(|s| !s.has_unknown());
        if lazy.query.is_none() {
            check("sql", format!("{lazy_sql:?}"), format!("{sql:?}"));
        }
        let args = attr(&all, *id, "args", 0).map(val);
        let lazy_args = lazy.args.clone().filter(|a| !a.has_unknown());
        if lazy.args.as_ref().is_none_or(|a| !a.has_unknown()) {
            check("args", format!("{lazy_args:?}"), format!("{args:?}"));
        }
        for (k, v) in &e.values {
            if matches!(
                k.as_str(),
                "title" | "description" | "tags" | "sql" | "query" | "base" | "children" | "args"
            ) {
                continue;
            }
            check(
                &format!("attribute {k}"),
                format!("{:?}", lazy.attribute(k)),
                format!("{:?}", Some(val(v))),
            );
        }
        for k in e.pending.keys() {
            // Not evaluable eagerly: run-time values (unknown) or errors (a diagnostic).
            if matches!(
                k.as_str(),
                "query" | "base" | "children" | "args" | "title" | "description" | "tags" | "sql"
            ) {
                continue;
            }
            let ok = lazy.attribute(k).is_none_or(|v| v.has_unknown())
                && (lazy.attribute(k).is_some() || !lazy.diagnostics.is_empty());
            check(
                &format!("attribute {k} (not evaluable eagerly)"),
                format!("{ok}"),
                "true".to_string(),
            );
        }
        let own_params = !e.params.is_empty();
        if own_params {
            let eager_params: Vec<(String, Option<Val>)> = e
                .params
                .iter()
                .map(|(n, _, v)| (n.clone(), v.as_ref().map(val)))
                .collect();
            let lazy_params: Vec<(String, Option<Val>)> = lazy
                .params
                .iter()
                .map(|p| {
                    (
                        p.name.to_string(),
                        p.default.clone().filter(|d| !d.has_unknown()),
                    )
                })
                .collect();
            check(
                "params",
                format!("{lazy_params:?}"),
                format!("{eager_params:?}"),
            );
        }
    }
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
    (ids.len(), compared)
}

struct Cmp<'a> {
    name: &'a str,
    problems: &'a mut Vec<String>,
    compared: &'a mut usize,
}

impl Cmp<'_> {
    fn check(&mut self, what: &str, lazy: String, eager: String) {
        *self.compared += 1;
        if lazy != eager {
            self.problems
                .push(format!("{} {what}: lazy {lazy} / eager {eager}", self.name));
        }
    }
}

fn tiny() -> Limits {
    Limits {
        max_entries: 3,
        max_bytes: 64 * 1024,
    }
}

#[test]
fn lazy_equals_eager_on_every_fixture() {
    let mut total = (0, 0);
    for dir in fixtures() {
        let o = open(&dir, &ValueInputs::default(), Limits::default());
        let cold = open(&dir, &ValueInputs::default(), tiny());
        let (r, a) = compare(&o, &cold);
        total = (total.0 + r, total.1 + a);
    }
    assert!(
        total.0 > 250 && total.1 > 1400,
        "compared too little: {total:?}"
    );
}

#[test]
fn lazy_equals_eager_on_a_generated_mod() {
    let dir = std::env::temp_dir().join(format!("modlens-lazy-eager-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    modlens::generate::generate(
        &modlens::generate::GenerateOptions { size: 0.5, seed: 7 },
        &dir,
    )
    .expect("generate");
    let o = open(&dir, &ValueInputs::default(), Limits::default());
    let cold = open(&dir, &ValueInputs::default(), tiny());
    let (resources, attrs) = compare(&o, &cold);
    assert!(
        resources > 400 && attrs > 2000,
        "{resources} resources, {attrs} attributes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
