//! Hover text (Markdown): what a name is, from the index and, for what the index cannot
//! say (rendered SQL, parameters), from the resolved resource.
//!
//! A hover is built in two steps so that no lock is held while a resolve is awaited:
//! [`needs`] says which resources to resolve (the server asks the scheduler at Critical
//! priority), then [`render`] writes the text with them.

use std::fmt::Write as _;
use std::sync::Arc;

use super::analysis::Target;
use crate::index::ResourceId;
use crate::index::dump::FieldText;
use crate::resolve::types::Type;
use crate::resolve::{Field, Model, Resolver, Resource, Val};
use crate::syntax::{AttrKey, AttrValue, BlockRole};

/// The resources a hover on `target` shows the resolved form of: the resource itself (for
/// SQL and params), and the query it runs, or for a member block (`param`) its owner.
pub fn needs(model: &Model, target: Target) -> Vec<ResourceId> {
    let index = &model.index;
    match target {
        Target::Resource(id) => {
            let Some(b) = index.block(id) else {
                return Vec::new();
            };
            if b.role == BlockRole::Local || index.kind_of(id) == Some("variable") {
                return Vec::new();
            }
            let mut out = vec![id];
            if let (Some(f), Some(b)) = (index.file(id.file), index.block(id))
                && let Some(AttrValue::Ref(i)) = f.index.attr(b, AttrKey::Query).map(|a| a.value())
                && let Some(r) = f.index.refs.get(i as usize)
                && let Some(q) = index.resolve_ref_first(id.file, r)
            {
                out.push(q);
            }
            out
        }
        Target::Member(id) => {
            let Some(b) = index.block(id) else {
                return Vec::new();
            };
            // The resource that owns the member block.
            let mut p = b.parent;
            while let Some(pi) = p {
                let pid = ResourceId {
                    file: id.file,
                    block: pi,
                };
                match index.block(pid) {
                    Some(pb) if pb.role == BlockRole::Resource => return vec![pid],
                    Some(pb) => p = pb.parent,
                    None => break,
                }
            }
            Vec::new()
        }
        Target::Mod(_) => Vec::new(),
    }
}

/// Markdown for a hover on `target`; `resolved` holds what [`needs`] asked for, in order
/// (missing entries are left out of the text).
pub fn render(
    model: &Model,
    resolver: &Resolver,
    target: Target,
    resolved: &[Option<Arc<Resource>>],
) -> Option<String> {
    let index = &model.index;
    let mut md = String::new();
    match target {
        Target::Mod(m) => {
            let info = index.module(m)?;
            let _ = writeln!(md, "**mod** `{}`", info.name);
            if let Some(t) = &info.title {
                let _ = writeln!(md, "\n{t}");
            }
            if info.dependency {
                let _ = writeln!(md, "\ninstalled dependency: `{}`", info.root);
            }
        }
        Target::Member(id) => {
            let f = index.file(id.file)?;
            let b = index.block(id)?;
            let kind = f.index.str(b.kind);
            let name = f.index.str(b.name);
            let _ = writeln!(md, "**{kind}** `{name}`");
            let owner = resolved.first().and_then(|r| r.as_ref());
            if let Some(owner) = owner {
                let _ = writeln!(md, "\nin `{}`", owner.name);
                if kind == "param"
                    && let Some(p) = owner.params.iter().find(|p| &*p.name == name)
                {
                    if let Some(d) = &p.description {
                        let _ = writeln!(md, "\n{d}");
                    }
                    if let Some(d) = &p.default {
                        let _ = writeln!(md, "\ndefault: `{}`", d.to_hcl_text());
                    }
                }
            }
            location(&mut md, &f.path, b.start.line);
        }
        Target::Resource(id) => {
            let f = index.file(id.file)?;
            let b = index.block(id)?;
            let kind = f.index.str(b.kind);
            let module = f.module;
            let qualified = index.qualified_name(id).unwrap_or_default();
            if b.role == BlockRole::Local {
                let name = f.index.str(b.name);
                let _ = writeln!(md, "**local** `{qualified}`");
                match model
                    .values
                    .local(index, module, name)
                    .and_then(|l| l.value.as_ref())
                {
                    Some(v) => value_block(&mut md, "value", v),
                    None => {
                        let _ = writeln!(md, "\nvalue: not known (see the diagnostics)");
                    }
                }
                location(&mut md, &f.path, b.start.line);
                return Some(md);
            }
            if kind == "variable" && b.parent.is_none() {
                let name = f.index.str(b.name);
                let _ = writeln!(md, "**variable** `{qualified}`");
                if let Some(v) = model.values.var(index, module, name) {
                    if let Some(d) = &v.description {
                        let _ = writeln!(md, "\n{d}");
                    }
                    if let Some(t) = &v.ty {
                        let _ = writeln!(md, "\ntype: `{}`", t.describe());
                    }
                    match &v.value {
                        Some(x) => {
                            match x {
                                // A connection is kept as its name; Powerpipe evaluates it
                                // to the connection, so it is shown as the reference.
                                Val::Str(c)
                                    if matches!(v.ty, Some(Type::Connection(_)))
                                        && c.starts_with("connection.") =>
                                {
                                    let _ = writeln!(md, "\nvalue: `{c}`");
                                }
                                _ => value_block(&mut md, "value", x),
                            }
                            let _ = writeln!(md, "\nfrom: {}", v.source.describe());
                        }
                        None => {
                            let _ = writeln!(md, "\nvalue: **not set** ({})", v.source.describe());
                        }
                    }
                    if let Some(d) = &v.default
                        && v.source != crate::resolve::ValueSource::Default
                    {
                        let _ = writeln!(md, "\ndefault: `{}`", d.to_hcl_text());
                    }
                }
                location(&mut md, &f.path, b.start.line);
                return Some(md);
            }
            let _ = writeln!(md, "**{kind}** `{qualified}`");
            if let Some(FieldText::Text(t)) = resolver.dump_field(model, id, AttrKey::Title) {
                let _ = writeln!(md, "\n### {t}");
            }
            if let Some(FieldText::Text(d)) = resolver.dump_field(model, id, AttrKey::Description) {
                let _ = writeln!(md, "\n{d}");
            }
            if let Some(FieldText::Tags(tags)) = resolver.dump_field(model, id, AttrKey::Tags)
                && !tags.is_empty()
            {
                let _ = writeln!(md, "\n| tag | value |\n| --- | --- |");
                for (k, v) in tags {
                    let _ = writeln!(md, "| `{}` | {} |", k, v.replace('|', "\\|"));
                }
            }
            // A field that is not a value says what it is instead of being left out: known
            // only when it runs, or an error (Powerpipe refuses the mod).
            for (key, label) in [
                (AttrKey::Title, "title"),
                (AttrKey::Description, "description"),
                (AttrKey::Tags, "tags"),
            ] {
                match resolver.field(model, id, key) {
                    // Shown above, from the resolved resource.
                    f if f.needs_resolving() => {}
                    Field::Unknown { expr, why } => {
                        let _ = writeln!(md, "\n{label}: `{expr}` (not known: {why})");
                    }
                    Field::Error {
                        expr, diagnostic, ..
                    } => {
                        let _ = writeln!(md, "\n⚠ {label}: `{expr}`: {}", diagnostic.message);
                    }
                    Field::Absent | Field::Value(_) => {}
                }
            }
            if let Some(bt) = index.benchmark_type(id) {
                let children = index.child_ids(id).len();
                let controls = super::analysis::controls_below(index, id);
                let what = match bt {
                    crate::index::BenchmarkType::Detection => "detections",
                    crate::index::BenchmarkType::Control => "controls",
                };
                let _ = writeln!(md, "\n{children} children, {controls} {what} below");
            }
            let res = resolved.first().and_then(|r| r.as_ref());
            if let Some(res) = res {
                if !res.params.is_empty() {
                    let _ = writeln!(md, "\nparams:");
                    for p in &res.params {
                        let _ = write!(md, "- `{}`", p.name);
                        if let Some(d) = &p.default {
                            let _ = write!(md, " = `{}`", d.to_hcl_text());
                        }
                        if let Some(d) = &p.description {
                            let _ = write!(md, " — {d}");
                        }
                        md.push('\n');
                    }
                }
                let query = resolved.get(1).and_then(|r| r.as_ref());
                match (&res.sql, query.and_then(|q| q.sql.as_ref())) {
                    (Some(sql), _) => sql_block(&mut md, None, sql),
                    (None, Some(sql)) => sql_block(&mut md, res.query.as_deref(), sql),
                    _ => {}
                }
                if res.has_errors() {
                    let _ = writeln!(
                        md,
                        "\n⚠ {} problem(s): see the diagnostics",
                        res.diagnostics.len()
                    );
                }
            }
            location(&mut md, &f.path, b.start.line);
        }
    }
    Some(md)
}

fn location(md: &mut String, path: &str, line: u32) {
    let _ = writeln!(md, "\n*{path}:{line}*");
}

fn value_block(md: &mut String, label: &str, v: &Val) {
    let text = v.to_hcl_text();
    if text.contains('\n') || text.len() > 60 {
        let _ = writeln!(md, "\n{label}:\n```hcl\n{text}\n```");
    } else {
        let _ = writeln!(md, "\n{label}: `{text}`");
    }
}

fn sql_block(md: &mut String, from: Option<&str>, sql: &Val) {
    match from {
        Some(q) => {
            let _ = writeln!(md, "\nSQL (from `{q}`):");
        }
        None => md.push('\n'),
    }
    match sql {
        Val::Str(s) => {
            let _ = writeln!(md, "```sql\n{}\n```", s.trim_end());
        }
        Val::Unknown(_) => {
            let _ = writeln!(md, "SQL known only at run time");
        }
        other => {
            let _ = writeln!(md, "```sql\n{}\n```", other.to_hcl_text());
        }
    }
}
