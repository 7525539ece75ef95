//! The dashboards payload: every dashboard and benchmark with its title, tags and the
//! benchmark tree, in the shape of Powerpipe's `available_dashboards` message (as its
//! dashboard server builds it in `internal/dashboardserver/payload.go`), from the index alone.
//!
//! Powerpipe's rules, kept here: every named benchmark (control and detection benchmarks,
//! dependency mods' included) has an entry; `children` lists benchmark children only
//! (controls never appear), recursively, each child without `is_top_level`, `trunks` or
//! `mod_full_name`; `trunks` holds every path from a top-level benchmark down to the
//! benchmark (`[[self]]` for a top-level one, `null` when none reaches it); a child that
//! would close a cycle is skipped; tags are never `null` and carry `mod` (the mod's full
//! name) unless the resource sets that key. Keys are sorted (as Go's JSON encoder writes
//! maps) and trunks too (Powerpipe's order of several trunks is not stable).

use std::collections::BTreeMap;

use serde::Serialize;

use super::dump::{FieldReader, FieldText};
use super::{Index, ResourceId};
use crate::syntax::AttrKey;

/// The `available_dashboards` message.
#[derive(Debug, Serialize)]
pub struct Payload {
    /// Always `available_dashboards`.
    pub action: &'static str,
    /// Dashboards by full name.
    pub dashboards: BTreeMap<String, Dashboard>,
    /// Benchmarks (control and detection) by full name.
    pub benchmarks: BTreeMap<String, Benchmark>,
    /// Snapshots (none: modlens serves no snapshots).
    pub snapshots: BTreeMap<String, String>,
}

/// One dashboard.
#[derive(Debug, Serialize)]
pub struct Dashboard {
    /// Its title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `mod.dashboard.name`.
    pub full_name: String,
    /// `name`.
    pub short_name: String,
    /// Tags (with `mod`).
    pub tags: BTreeMap<String, String>,
    /// `mod.NAME`.
    pub mod_full_name: String,
    /// The database (Powerpipe sends `""`).
    pub database: String,
}

/// One benchmark, as an entry or as a child in a tree.
#[derive(Debug, Serialize, Clone)]
pub struct Benchmark {
    /// Its title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `mod.benchmark.name`.
    pub full_name: String,
    /// `name`.
    pub short_name: String,
    /// `control` or `detection`.
    pub benchmark_type: &'static str,
    /// Tags (with `mod`).
    pub tags: BTreeMap<String, String>,
    /// True when no benchmark lists it as a child.
    pub is_top_level: bool,
    /// Benchmark children, recursively.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Benchmark>,
    /// Paths from top-level benchmarks down to this one; `null` in children and for a
    /// benchmark no top-level one reaches.
    pub trunks: Option<Vec<Vec<String>>>,
    /// `mod.NAME` (`""` in children).
    pub mod_full_name: String,
}

fn is_benchmark(kind: Option<&str>) -> bool {
    matches!(kind, Some("benchmark" | "detection_benchmark"))
}

/// Builds the payload; `fields` evaluates titles and tags (see [`super::dump::dump`]).
pub fn payload(index: &Index, fields: FieldReader<'_>) -> Payload {
    let mod_full = |id: ResourceId| -> String {
        index
            .mod_of(id)
            .and_then(|m| index.module(m))
            .map(|m| format!("mod.{}", m.name))
            .unwrap_or_default()
    };
    let title = |id: ResourceId| -> Option<String> {
        match fields(id, AttrKey::Title) {
            Some(FieldText::Text(t)) => Some(t),
            Some(_) => None,
            None => index.file(id.file).and_then(|f| {
                let b = f.index.block(id.block)?;
                match f.index.attr(b, AttrKey::Title)?.value() {
                    crate::syntax::AttrValue::Str(s) => Some(f.index.str(s).to_string()),
                    _ => None,
                }
            }),
        }
    };
    let tags = |id: ResourceId| -> BTreeMap<String, String> {
        let mut t = match fields(id, AttrKey::Tags) {
            Some(FieldText::Tags(t)) => t,
            _ => BTreeMap::new(),
        };
        t.entry("mod".to_string()).or_insert_with(|| mod_full(id));
        t
    };
    let short = |id: ResourceId| {
        index
            .name_of(id)
            .map(|n| n.into_owned())
            .unwrap_or_default()
    };
    let full = |id: ResourceId| index.qualified_name(id).unwrap_or_default();

    let mut out = Payload {
        action: "available_dashboards",
        dashboards: BTreeMap::new(),
        benchmarks: BTreeMap::new(),
        snapshots: BTreeMap::new(),
    };
    let named = |id: &ResourceId| index.block(*id).is_some_and(|b| !b.anonymous);
    for id in index.resources_of_type("dashboard").filter(named) {
        out.dashboards.insert(
            full(id),
            Dashboard {
                title: title(id),
                full_name: full(id),
                short_name: short(id),
                tags: tags(id),
                mod_full_name: mod_full(id),
                database: String::new(),
            },
        );
    }
    let benchmarks: Vec<ResourceId> = index
        .resources()
        .filter(|id| is_benchmark(index.kind_of(*id)) && named(id))
        .collect();
    // Top level: no benchmark lists it as a child (Powerpipe gives such a resource the mod
    // as its parent).
    let bench_children = |id: ResourceId| -> Vec<ResourceId> {
        index
            .children(id)
            .into_iter()
            .filter(|c| is_benchmark(index.kind_of(*c)))
            .collect()
    };
    let mut listed: std::collections::HashSet<ResourceId> = std::collections::HashSet::new();
    for id in &benchmarks {
        listed.extend(bench_children(*id));
    }
    let mut trunks: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    // The tree below a benchmark (children only), recording trunks when walking down from a
    // top-level one; `visiting` breaks cycles.
    #[allow(clippy::too_many_arguments)]
    fn tree(
        id: ResourceId,
        trunk: &mut Vec<String>,
        record: bool,
        visiting: &mut Vec<ResourceId>,
        trunks: &mut BTreeMap<String, Vec<Vec<String>>>,
        node: &dyn Fn(ResourceId) -> Benchmark,
        children: &dyn Fn(ResourceId) -> Vec<ResourceId>,
        full: &dyn Fn(ResourceId) -> String,
    ) -> Vec<Benchmark> {
        let mut out = Vec::new();
        for c in children(id) {
            if visiting.contains(&c) {
                tracing::warn!(child = %full(c), "benchmark tree has a cycle: child skipped");
                continue;
            }
            trunk.push(full(c));
            if record {
                trunks.entry(full(c)).or_default().push(trunk.clone());
            }
            visiting.push(c);
            let mut n = node(c);
            n.children = tree(c, trunk, record, visiting, trunks, node, children, full);
            visiting.pop();
            trunk.pop();
            out.push(n);
        }
        out
    }
    let node = |id: ResourceId| Benchmark {
        title: title(id),
        full_name: full(id),
        short_name: short(id),
        benchmark_type: if index.kind_of(id) == Some("detection_benchmark") {
            "detection"
        } else {
            "control"
        },
        tags: tags(id),
        is_top_level: false,
        children: Vec::new(),
        trunks: None,
        mod_full_name: String::new(),
    };
    for id in &benchmarks {
        let top = !listed.contains(id);
        let name = full(*id);
        if top {
            trunks
                .entry(name.clone())
                .or_default()
                .push(vec![name.clone()]);
        }
        let mut trunk = vec![name.clone()];
        let mut visiting = vec![*id];
        let mut b = node(*id);
        b.is_top_level = top;
        b.mod_full_name = mod_full(*id);
        b.children = tree(
            *id,
            &mut trunk,
            top,
            &mut visiting,
            &mut trunks,
            &node,
            &bench_children,
            &full,
        );
        out.benchmarks.insert(name, b);
    }
    for (name, mut t) in trunks {
        t.sort();
        t.dedup();
        if let Some(b) = out.benchmarks.get_mut(&name) {
            b.trunks = Some(t);
        }
    }
    out
}
