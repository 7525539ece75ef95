//! The lazy path against an eager one: for every resource of every fixture and of a
//! generated mod, what the resolver gives for one resource asked alone (index + the block's
//! span + only what it refers to) equals a full eager evaluation of the whole workspace.
//!
//! The eager evaluator is written independently of the resolver: it parses whole files with
//! `hcl::parse`, puts *every* variable, local and resource of a mod in one evaluation
//! context, and evaluates every attribute of every resource in rounds until nothing new can
//! be evaluated (Powerpipe's own multi-pass decode), then applies `base` inheritance. It
//! shares with the resolver only the function library (but for `merge`, which it implements
//! itself from HCL's definition, see [`oracle_merge`]), the variables and locals (computed up
//! front by design) and the index's names.
//!
//! Compared per resource: title, description, tags, SQL, args, every other attribute,
//! params, `children` (a `children` list, else the nested resources; a base's when the block
//! has none, as Powerpipe's `setBaseProperties` does), the `query` a resource runs and the
//! SQL of that query as it runs it. An attribute that is `null` counts as not set (a base
//! gives the value), as gohcl's decoding into pipe-fittings' structs makes it.

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
    /// The `children` list by qualified name (`None` when it is not a plain list of
    /// references); for a block without one, its nested resources.
    children: Option<Vec<String>>,
    /// `query = TYPE.NAME` (or `DEP.TYPE.NAME`): the qualified name and the resource.
    query: Option<(String, Option<ResourceId>)>,
    /// The block type.
    kind: String,
}

/// `a.b.c` as its names, if the expression is a plain traversal.
fn traversal_parts(expr: &hcl::Expression) -> Option<Vec<String>> {
    let hcl::Expression::Traversal(t) = expr else {
        return None;
    };
    let hcl::Expression::Variable(root) = &t.expr else {
        return None;
    };
    let mut parts = vec![root.to_string()];
    for op in &t.operators {
        match op {
            hcl::TraversalOperator::GetAttr(a) => parts.push(a.to_string()),
            _ => return None,
        }
    }
    Some(parts)
}

/// HCL's `merge` as Terraform documents it: the maps or objects given, in order, combined
/// into one; a key set by several takes the value of the last (`null` arguments skipped).
/// The eager evaluator's own, so that the resolver's is checked, not shared.
fn oracle_merge(args: hcl::eval::FuncArgs) -> Result<hcl::Value, String> {
    let mut out = hcl::Map::new();
    for v in args.iter() {
        match v {
            hcl::Value::Null => {}
            hcl::Value::Object(o) => {
                for (k, x) in o {
                    out.shift_remove(k);
                    out.insert(k.clone(), x.clone());
                }
            }
            other => return Err(format!("merge: not a map or object: {other:?}")),
        }
    }
    out.sort_keys();
    Ok(hcl::Value::Object(out))
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
    for k in ["title", "description", "documentation"] {
        m.entry(k.to_string()).or_insert(hcl::Value::Null);
    }
    // What the block type's value has but the block does not write is null (what it writes
    // and is not evaluated yet stays missing: the round that needs it waits).
    if let Some((_, _, kind)) = names.get(&id) {
        for k in cty_attributes(kind)
            .iter()
            .filter(|k| !e.exprs.contains_key(**k))
        {
            m.entry(k.to_string()).or_insert(hcl::Value::Null);
        }
    }
    m.entry("tags".to_string())
        .or_insert_with(|| hcl::Value::Object(hcl::Map::new()));
    hcl::Value::Object(m)
}

/// The single-valued attributes of a resource's value in Powerpipe beyond those every
/// resource has (name, title, description, documentation, tags), written from the `cty` tags
/// of pipe-fittings' structs (`DashboardCategory`, `Control` with `QueryProviderImpl` and
/// `DashboardLeafNodeImpl`, ...): the oracle's own list, not the resolver's schema. Only the
/// kinds whose values the fixtures use are listed; another kind gets none (and a fixture
/// that uses it fails here until it is added).
fn cty_attributes(kind: &str) -> &'static [&'static str] {
    match kind {
        "category" => &["color", "depth", "href", "icon", "property_order"],
        "card" => &[
            "args", "display", "href", "icon", "label", "params", "query", "sql", "type", "value",
            "width",
        ],
        "query" => &["args", "params", "query", "sql"],
        _ => &[],
    }
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
                children: None,
                query: None,
                kind: kind.clone(),
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
            // A reference TYPE.NAME or DEP.TYPE.NAME: its qualified name and what it names.
            let own_mod = index
                .module(f.module)
                .map(|m| m.name.clone())
                .unwrap_or_default();
            let target = |expr: &hcl::Expression| -> Option<(String, Option<ResourceId>)> {
                let parts = traversal_parts(expr)?;
                let (m, dep, kind, name) = match parts.as_slice() {
                    [k, n] => (f.module, own_mod.clone(), k, n),
                    [d, k, n] => (index.mod_named(d).unwrap_or(f.module), d.clone(), k, n),
                    _ => return None,
                };
                Some((
                    format!("{dep}.{kind}.{name}"),
                    index.lookup(m, kind, name).first().copied(),
                ))
            };
            e.base = e.pending.get("base").and_then(target).and_then(|t| t.1);
            e.query = e.pending.get("query").and_then(target);
            e.children = match e.pending.get("children") {
                Some(hcl::Expression::Array(items)) => items
                    .iter()
                    .map(|c| target(c).map(|t| t.0))
                    .collect::<Option<Vec<String>>>(),
                Some(_) => None,
                None => Some(Vec::new()),
            };
            // A nested resource is its parent's child (the parent has no `children` list;
            // `with` and `category` blocks are what the parent uses, not what it shows).
            if let Some(parent) = b.parent
                && f.index
                    .block(parent)
                    .is_some_and(|p| p.role == BlockRole::Resource)
                && !matches!(kind.as_str(), "with" | "category")
            {
                let parent = ResourceId {
                    file: fid,
                    block: parent,
                };
                if let Some(p) = all.get_mut(&parent)
                    && !p.exprs.contains_key("children")
                    && let Some(list) = p.children.as_mut()
                {
                    list.push(index.qualified_name(id).unwrap_or_default());
                }
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
            ctx.declare_func(
                "merge",
                hcl::eval::FuncDef::builder()
                    .variadic_param(hcl::eval::ParamType::Any)
                    .build(oracle_merge),
            );
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
        // gohcl decodes `tags` into a `map[string]string`: strings, numbers and bools
        // convert; a null, a list or an object entry fails the whole attribute (Powerpipe
        // refuses the resource), which leaves no tags.
        Some(hcl::Value::Object(o))
            if o.values().any(|v| {
                matches!(
                    v,
                    hcl::Value::Null | hcl::Value::Array(_) | hcl::Value::Object(_)
                )
            }) =>
        {
            BTreeMap::new()
        }
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

/// The eager value of an attribute, following `base` for what the block does not set. A
/// `null` is not set: gohcl decodes it into a nil field, which pipe-fittings'
/// `setBaseProperties` fills from the base as it does a missing one.
fn attr<'a>(
    all: &'a HashMap<ResourceId, Eager>,
    id: ResourceId,
    key: &str,
    depth: usize,
) -> Option<&'a hcl::Value> {
    let e = all.get(&id)?;
    match e.values.get(key) {
        Some(hcl::Value::Null) if depth <= 16 => e.base.and_then(|b| attr(all, b, key, depth + 1)),
        Some(hcl::Value::Null) => None,
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

/// The eager `children`, with `base` as Powerpipe applies it: a benchmark whose base has
/// children takes the base's (turbot/powerpipe `internal/parse/mod_decoder.go`,
/// `decodeBenchmark`: `if benchmark.Base != nil && len(benchmark.Base.ChildNames) > 0`);
/// anything else keeps its own unless it has none (`setBaseProperties`:
/// `if len(b.children) == 0 { b.children = b.Base.children }`).
fn eager_children(
    all: &HashMap<ResourceId, Eager>,
    id: ResourceId,
    depth: usize,
) -> Option<Vec<String>> {
    let e = all.get(&id)?;
    let own = e.children.clone()?;
    let Some(base) = e.base.filter(|_| depth < 16) else {
        return Some(own);
    };
    let inherited = eager_children(all, base, depth + 1).unwrap_or_default();
    let benchmark = matches!(e.kind.as_str(), "benchmark" | "detection_benchmark");
    if (benchmark && !inherited.is_empty()) || own.is_empty() {
        Some(inherited)
    } else {
        Some(own)
    }
}

/// The eager `query` a resource runs: its own, else (with no `sql` of its own either) its
/// base's.
fn eager_query(
    all: &HashMap<ResourceId, Eager>,
    id: ResourceId,
    depth: usize,
) -> Option<&(String, Option<ResourceId>)> {
    let e = all.get(&id)?;
    if let Some(q) = &e.query {
        return Some(q);
    }
    // An `sql` that is null is not set (see `attr`); one not evaluable eagerly is.
    let sql_set = match e.values.get("sql") {
        Some(v) => !v.is_null(),
        None => e.exprs.contains_key("sql"),
    };
    if sql_set || depth >= 16 {
        return None;
    }
    eager_query(all, e.base?, depth + 1)
}

/// What [`compare`] looked at.
struct Compared {
    resources: usize,
    attributes: usize,
    /// Resources that run a query whose SQL was compared.
    query_sql: usize,
    /// The differences, one line each.
    problems: Vec<String>,
}

/// Compares the lazy resolve of every resource (each on a cold resolver with a tiny cache,
/// so nothing it needs is already there) with the eager evaluation.
fn compare(o: &common::Opened, cold: &common::Opened) -> Compared {
    let all = eager(o);
    let mut problems: Vec<String> = Vec::new();
    let mut compared = 0usize;
    let mut query_sql = 0usize;
    let query_sql = &mut query_sql;
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
        // `sql = null` with no base to fill it: the lazy side keeps the null (a reference
        // to it gives null, as in Powerpipe), the eager side reads it as not set; the same.
        let lazy_sql = lazy
            .sql
            .clone()
            .filter(|s| !s.has_unknown() && *s != Val::Null);
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
            // A null is not set: the base's value if it has one (see `attr`), else null
            // (what Powerpipe's value of the resource holds for a field not set).
            let want = if v.is_null() {
                attr(&all, *id, k, 0).map_or(Val::Null, val)
            } else {
                val(v)
            };
            let want = Some(want);
            check(
                &format!("attribute {k}"),
                format!("{:?}", lazy.attribute(k)),
                format!("{want:?}"),
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
        if let Some(children) = eager_children(&all, *id, 0) {
            let lazy_children: Vec<String> = lazy.children.iter().map(|c| c.to_string()).collect();
            check(
                "children",
                format!("{lazy_children:?}"),
                format!("{children:?}"),
            );
        }
        let query = eager_query(&all, *id, 0);
        check(
            "query",
            format!("{:?}", lazy.query.as_deref()),
            format!("{:?}", query.map(|q| q.0.as_str())),
        );
        // The SQL the resource runs through its `query`: the query's, as resolved on its own.
        if let Some((name, Some(target))) = query {
            let ran = cold
                .resolver
                .resolve_name(&cold.model, name)
                .and_then(|q| q.sql.clone())
                .filter(|s| !s.has_unknown());
            let eager_sql = attr(&all, *target, "sql", 0).map(val);
            if ran.is_some() || eager_sql.is_some() {
                *query_sql += 1;
            }
            check(
                "SQL of its query",
                format!("{ran:?}"),
                format!("{eager_sql:?}"),
            );
        }
    }
    Compared {
        resources: ids.len(),
        attributes: compared,
        query_sql: *query_sql,
        problems,
    }
}

/// Fails with every difference found.
fn assert_no_differences(problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{} differences:\n{}",
        problems.len(),
        problems.join("\n")
    );
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
    let mut total = (0, 0, 0);
    let mut problems = Vec::new();
    for dir in fixtures() {
        let o = open(&dir, &ValueInputs::default(), Limits::default());
        let cold = open(&dir, &ValueInputs::default(), tiny());
        let c = compare(&o, &cold);
        total = (
            total.0 + c.resources,
            total.1 + c.attributes,
            total.2 + c.query_sql,
        );
        problems.extend(c.problems);
    }
    assert_no_differences(&problems);
    assert!(
        total.0 > 250 && total.1 > 1400 && total.2 > 40,
        "compared too little (resources, attributes, SQL through `query`): {total:?}"
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
    let c = compare(&o, &cold);
    assert_no_differences(&c.problems);
    assert!(
        c.resources > 400 && c.attributes > 2000 && c.query_sql > 100,
        "{} resources, {} attributes, {} SQL through `query`",
        c.resources,
        c.attributes,
        c.query_sql
    );
    let _ = std::fs::remove_dir_all(&dir);
}
