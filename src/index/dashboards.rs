//! The dashboards payload: every dashboard and benchmark with its title, tags and the
//! benchmark tree, in the shape of Powerpipe's `available_dashboards` message (as its
//! dashboard server builds it in `internal/dashboardserver/payload.go`), from the index alone.
//!
//! Powerpipe's rules, kept here: every named benchmark (control and detection benchmarks,
//! dependency mods' included) has an entry; `children` lists benchmark children of the
//! benchmark's own kind only (controls never appear, nor a detection benchmark under a
//! control benchmark; a `type` written as an expression counts as what it evaluates to),
//! recursively, each child without `is_top_level`, `trunks` or
//! `mod_full_name`; `trunks` holds every path from a top-level benchmark down to the
//! benchmark (`[[self]]` for a top-level one, `null` when none reaches it); a child that
//! would close a cycle is skipped; tags are never `null` and carry `mod` (the mod's full
//! name) unless the resource sets that key. Keys are sorted (as Go's JSON encoder writes
//! maps) and trunks too (Powerpipe's order of several trunks is not stable).

use std::collections::BTreeMap;

use hashbrown::{HashMap, HashSet};
use std::sync::Arc;

use serde::Serialize;

use super::dump::{FieldReader, FieldText};
use super::tree::MAX_TREE_DEPTH;
use super::{BenchmarkType, Index, ResourceId};

/// The most nodes the payload's trees may hold written out, and the most names its trunks may
/// hold (see `payload`'s walk); at most 16 per benchmark and child listed, too. Real mods'
/// payloads hold a few thousand of each, three to six per benchmark.
pub const MAX_PAYLOAD_NODES: usize = 100_000;
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

/// What a benchmark shows wherever it appears (as an entry, or as a child in trees).
#[derive(Debug)]
pub struct BenchmarkData {
    /// Its title.
    pub title: Option<String>,
    /// `mod.benchmark.name`.
    pub full_name: Arc<str>,
    /// `name`.
    pub short_name: String,
    /// `control` or `detection`.
    pub benchmark_type: &'static str,
    /// Tags (with `mod`).
    pub tags: BTreeMap<String, String>,
}

/// One benchmark, as an entry or as a child in a tree (its data shared by every place it
/// appears).
#[derive(Debug, Clone)]
pub struct Benchmark {
    /// Title, names, type and tags.
    pub data: Arc<BenchmarkData>,
    /// True when no benchmark lists it as a child.
    pub is_top_level: bool,
    /// Benchmark children, recursively (a benchmark's tree is built once and shared by
    /// every tree it appears in).
    pub children: Arc<[Benchmark]>,
    /// Paths from top-level benchmarks down to this one; `None` in children and for a
    /// benchmark no top-level one reaches.
    pub trunks: Option<Vec<Vec<Arc<str>>>>,
    /// `mod.NAME` (`""` in children).
    pub mod_full_name: String,
}

impl Serialize for Benchmark {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let d = &self.data;
        let mut m = s.serialize_map(None)?;
        if let Some(t) = &d.title {
            m.serialize_entry("title", t)?;
        }
        m.serialize_entry("full_name", &*d.full_name)?;
        m.serialize_entry("short_name", &d.short_name)?;
        m.serialize_entry("benchmark_type", d.benchmark_type)?;
        m.serialize_entry("tags", &d.tags)?;
        m.serialize_entry("is_top_level", &self.is_top_level)?;
        if !self.children.is_empty() {
            m.serialize_entry("children", &*self.children)?;
        }
        m.serialize_entry("trunks", &self.trunks)?;
        m.serialize_entry("mod_full_name", &self.mod_full_name)?;
        m.end()
    }
}

fn is_benchmark(kind: Option<&str>) -> bool {
    matches!(kind, Some("benchmark" | "detection_benchmark"))
}

/// Builds the payload; `fields` evaluates titles and tags (see [`super::dump::dump`]).
pub fn payload(index: &Index, fields: FieldReader<'_>) -> Payload {
    // `mod.NAME` of every mod, written once.
    let mod_names: Vec<String> = index
        .mods()
        .iter()
        .map(|m| format!("mod.{}", m.name))
        .collect();
    let mod_full = |id: ResourceId| -> String {
        index
            .mod_of(id)
            .and_then(|m| mod_names.get(m.0 as usize))
            .cloned()
            .unwrap_or_default()
    };
    // Literals straight from the index; only expressions (and blocks with a `base`) go to
    // the evaluator.
    // `None`: ask the evaluator; `Some(None)`: the block has no such attribute (nor a base
    // to inherit one from).
    let literal = |id: ResourceId, key: AttrKey| -> Option<Option<crate::syntax::AttrValue>> {
        let f = index.file(id.file)?;
        let b = f.index.block(id.block)?;
        if f.index.attr(b, AttrKey::Base).is_some() {
            return None;
        }
        Some(f.index.attr(b, key).map(|a| a.value()))
    };
    let title = |id: ResourceId| -> Option<String> {
        use crate::syntax::AttrValue;
        match literal(id, AttrKey::Title) {
            Some(Some(AttrValue::Str(s))) => {
                return index.file(id.file).map(|f| f.index.str(s).to_string());
            }
            Some(None) => return None,
            _ => {}
        }
        match fields(id, AttrKey::Title) {
            Some(FieldText::Text(t)) => Some(t),
            _ => None,
        }
    };
    let tags = |id: ResourceId| -> BTreeMap<String, String> {
        use crate::syntax::AttrValue;
        let mut t = match literal(id, AttrKey::Tags) {
            Some(None) => BTreeMap::new(),
            Some(Some(v @ AttrValue::Tags(_))) => index
                .file(id.file)
                .map(|f| {
                    f.index
                        .tag_list(&v)
                        .iter()
                        .map(|t| {
                            (
                                f.index.str(t.key).to_string(),
                                f.index.str(t.value).to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            _ => match fields(id, AttrKey::Tags) {
                Some(FieldText::Tags(t)) => t,
                _ => BTreeMap::new(),
            },
        };
        if !t.contains_key("mod") {
            t.insert("mod".to_string(), mod_full(id));
        }
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
    // The named dashboards and benchmarks, in one pass over the index.
    let (mut dashboards, mut benchmarks): (Vec<ResourceId>, Vec<ResourceId>) = (vec![], vec![]);
    for id in index.resources() {
        let Some(b) = index.block(id).filter(|b| !b.anonymous) else {
            continue;
        };
        let Some(kind) = index.file(id.file).map(|f| f.index.str(b.kind)) else {
            continue;
        };
        if kind == "dashboard" {
            dashboards.push(id);
        } else if is_benchmark(Some(kind)) {
            benchmarks.push(id);
        }
    }
    // Maps built from sorted lists at once (inserted one by one, a map's nodes are
    // allocated half full and its keys compared at every level).
    let entries: Vec<(String, Dashboard)> = dashboards
        .into_iter()
        .map(|id| {
            let full_name = full(id);
            (
                full_name.clone(),
                Dashboard {
                    title: title(id),
                    full_name,
                    short_name: short(id),
                    tags: tags(id),
                    mod_full_name: mod_full(id),
                    database: String::new(),
                },
            )
        })
        .collect();
    // (Collecting sorts stably: of two dashboards with one name, the later wins, as
    // inserting them would.)
    out.dashboards = entries.into_iter().collect();
    // Each benchmark's data and benchmark children, worked out once (the trees repeat them).
    let mut nodes: HashMap<ResourceId, Arc<BenchmarkData>> =
        HashMap::with_capacity(benchmarks.len());
    let mut kids: HashMap<ResourceId, Vec<ResourceId>> = HashMap::with_capacity(benchmarks.len());
    // What each benchmark groups: from its `type` when that is a literal (or its block type),
    // else from what the `type` expression evaluates to.
    let kinds: HashMap<ResourceId, BenchmarkType> = benchmarks
        .iter()
        .map(|&id| {
            let kind = match index.benchmark_children_kinds(id) {
                Some((kind, _)) => kind,
                None => match fields(id, AttrKey::Type) {
                    Some(FieldText::Text(t)) if t == "detection" => BenchmarkType::Detection,
                    _ => index.benchmark_type(id).unwrap_or(BenchmarkType::Control),
                },
            };
            (id, kind)
        })
        .collect();
    for &id in &benchmarks {
        nodes.insert(
            id,
            Arc::new(BenchmarkData {
                title: title(id),
                full_name: Arc::from(full(id)),
                short_name: short(id),
                benchmark_type: kinds
                    .get(&id)
                    .copied()
                    .unwrap_or(BenchmarkType::Control)
                    .as_str(),
                tags: tags(id),
            }),
        );
    }
    // Under a benchmark, only its benchmark children of its own kind (Powerpipe's
    // addBenchmarkChildren lists control benchmarks under a control benchmark,
    // addDetectionBenchmarkChildren detection benchmarks under a detection one).
    // Top level: no benchmark lists it as a child, of whatever kind (Powerpipe gives such a
    // resource the mod as its parent).
    let mut listed: HashSet<ResourceId> = HashSet::new();
    for &id in &benchmarks {
        let own = kinds.get(&id).copied();
        let children = index.child_ids_of(id, |k| is_benchmark(Some(k)));
        listed.extend(children.iter().copied());
        kids.insert(
            id,
            children
                .into_iter()
                .filter(|c| nodes.contains_key(c) && kinds.get(c).copied() == own)
                .collect(),
        );
    }
    let mut trunks: HashMap<ResourceId, Vec<Vec<Arc<str>>>> = HashMap::new();
    /// The trees below benchmarks (benchmark children only), each built once; `visiting`
    /// breaks cycles. Trees stop at [`MAX_TREE_DEPTH`] levels and the whole payload at
    /// [`MAX_PAYLOAD_NODES`] nodes in its trees and as many names in its trunks: a chain of
    /// benchmarks thousands long, or levels that each list every benchmark of the next
    /// (exponentially many paths), would otherwise make the payload quadratic or exponential
    /// in the mod.
    struct Walk<'a> {
        nodes: &'a HashMap<ResourceId, Arc<BenchmarkData>>,
        kids: &'a HashMap<ResourceId, Vec<ResourceId>>,
        /// Trees that do not depend on the path they were reached by, with how many nodes
        /// each holds written out.
        memo: HashMap<ResourceId, (Arc<[Benchmark]>, usize)>,
        visiting: Vec<ResourceId>,
        /// Tree nodes (and children looked at) still allowed.
        tree_budget: usize,
        /// Trunk names still allowed.
        trunk_budget: usize,
        /// A cut for depth or size was logged (once per payload).
        warned: bool,
    }
    impl Walk<'_> {
        fn children(&self, id: ResourceId) -> &[ResourceId] {
            self.kids.get(&id).map(Vec::as_slice).unwrap_or(&[])
        }

        /// The tree below `id` (on top of `visiting`), how many nodes it holds written out,
        /// and whether it was cut: a child skipped to break a cycle, or the depth or size
        /// limit reached inside it. A tree with no cut is the same whatever the path to it
        /// (a cycle cut further down would mean a cycle through it, found on this path too),
        /// so it is remembered; one with a cut is not. The recursion is as deep as
        /// `visiting`, which the depth limit bounds.
        fn tree(&mut self, id: ResourceId) -> (Arc<[Benchmark]>, usize, bool) {
            if let Some((t, size)) = self.memo.get(&id) {
                if *size <= self.tree_budget {
                    self.tree_budget -= size;
                    return (t.clone(), *size, false);
                }
                self.tree_budget = 0;
                return (Arc::from([]), 0, true);
            }
            let children = self.children(id).to_vec();
            if children.is_empty() {
                return (Arc::from([]), 0, false);
            }
            if self.visiting.len() > MAX_TREE_DEPTH || children.len() > self.tree_budget {
                if !self.warned {
                    self.warned = true;
                    tracing::warn!(
                        depth = self.visiting.len(),
                        "benchmark trees too deep or too large for the payload: children cut"
                    );
                }
                return (Arc::from([]), 0, true);
            }
            self.tree_budget -= children.len();
            let mut out = Vec::with_capacity(children.len());
            let mut size = 0;
            let mut cut = false;
            for c in children {
                let Some(data) = self.nodes.get(&c).cloned() else {
                    continue;
                };
                if self.visiting.contains(&c) {
                    tracing::warn!(child = %data.full_name, "benchmark tree has a cycle: child skipped");
                    cut = true;
                    continue;
                }
                self.visiting.push(c);
                let (children, below, cut_below) = self.tree(c);
                self.visiting.pop();
                cut |= cut_below;
                size += 1 + below;
                out.push(Benchmark {
                    data,
                    is_top_level: false,
                    children,
                    trunks: None,
                    mod_full_name: String::new(),
                });
            }
            let t: Arc<[Benchmark]> = out.into();
            if !cut {
                self.memo.insert(id, (t.clone(), size));
            }
            (t, size, cut)
        }

        /// Records, for every benchmark below `id`, the path from the top-level benchmark
        /// `trunk` starts with (within the depth and trunk limits).
        fn trunks(
            &mut self,
            id: ResourceId,
            trunk: &mut Vec<Arc<str>>,
            out: &mut HashMap<ResourceId, Vec<Vec<Arc<str>>>>,
        ) {
            if trunk.len() > MAX_TREE_DEPTH {
                return;
            }
            for c in self.children(id).to_vec() {
                let Some(name) = self.nodes.get(&c).map(|d| d.full_name.clone()) else {
                    continue;
                };
                if self.visiting.contains(&c) {
                    continue;
                }
                if trunk.len() + 1 > self.trunk_budget {
                    self.trunk_budget = 0;
                    return;
                }
                self.trunk_budget -= trunk.len() + 1;
                trunk.push(name);
                out.entry(c).or_default().push(trunk.clone());
                self.visiting.push(c);
                self.trunks(c, trunk, out);
                self.visiting.pop();
                trunk.pop();
            }
        }
    }
    // Within the absolute limit, the payload may hold a fixed multiple of the hierarchy it
    // shows: a small mod whose few benchmarks reach each other by many paths gets a small
    // payload.
    let edges: usize = kids.values().map(Vec::len).sum();
    let budget = MAX_PAYLOAD_NODES.min(16 * (benchmarks.len() + edges) + 1_000);
    let mut walk = Walk {
        nodes: &nodes,
        kids: &kids,
        memo: HashMap::with_capacity(benchmarks.len()),
        visiting: Vec::new(),
        tree_budget: budget,
        trunk_budget: budget,
        warned: false,
    };
    let mut entries: Vec<(ResourceId, Benchmark)> = Vec::with_capacity(benchmarks.len());
    for &id in &benchmarks {
        let top = !listed.contains(&id);
        let Some(data) = nodes.get(&id).cloned() else {
            continue;
        };
        walk.visiting.clear();
        walk.visiting.push(id);
        if top {
            trunks
                .entry(id)
                .or_default()
                .push(vec![data.full_name.clone()]);
            walk.trunks(id, &mut vec![data.full_name.clone()], &mut trunks);
        }
        let (children, _, _) = walk.tree(id);
        entries.push((
            id,
            Benchmark {
                data,
                is_top_level: top,
                children,
                trunks: None,
                mod_full_name: mod_full(id),
            },
        ));
    }
    let entries: Vec<(String, Benchmark)> = entries
        .into_iter()
        .map(|(id, mut b)| {
            if let Some(mut t) = trunks.remove(&id) {
                t.sort();
                t.dedup();
                b.trunks = Some(t);
            }
            (String::from(&*b.data.full_name), b)
        })
        .collect();
    out.benchmarks = entries.into_iter().collect();
    out
}
