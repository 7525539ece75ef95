//! Loading: the scheduler that resolves resources in the background, breadth first down
//! the benchmark and dashboard hierarchy, while what a person touches jumps the queue.
//!
//! * Phase 1 (before anything here runs): discovery, the index-only scan and the values;
//!   names, titles, tags, children and the dashboards payload are available from then on.
//! * Phase 2: [`Background`] walks the mod — top-level benchmarks and dashboards first,
//!   level by level through children and nested blocks, then everything not reachable from
//!   them — and submits each resource at [`Priority::Low`].
//! * Phase 3: a request someone waits on ([`Priority::Critical`]) or a resource of an open
//!   document ([`Priority::High`]) starts before any background work; after a request, the
//!   resource's children and queries are queued at [`Priority::Normal`] (what a person
//!   usually opens next).
//!
//! [`scheduler`] is the generic machinery; [`ResourceLoader`] is what it loads here.
//! Architecture invariant: `load` talks to `resolve` and `index`, never to the protocol.

pub mod metrics;
pub mod scheduler;

use std::sync::{Arc, RwLock};

pub use metrics::{Metrics, MetricsView};
pub use scheduler::{
    Clock, Config, LoadError, Loader, ManualClock, Scheduler, SystemClock, Ticket,
};

use crate::index::{Index, ResourceId};
use crate::resolve::{Model, Resolver, Resource, Text};
use crate::syntax::{AttrKey, AttrValue, BlockRole};

/// How urgent a load is. Lower is more urgent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// Someone is waiting for it (a hover, a definition).
    Critical = 0,
    /// A resource of an open document.
    High = 1,
    /// A dependency or a predicted next resource.
    Normal = 2,
    /// The background walk.
    Low = 3,
}

impl Priority {
    /// Every priority, most urgent first.
    pub const ALL: [Priority; 4] = [
        Priority::Critical,
        Priority::High,
        Priority::Normal,
        Priority::Low,
    ];

    /// `critical`, `high`, `normal`, `low`.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Critical => "critical",
            Priority::High => "high",
            Priority::Normal => "normal",
            Priority::Low => "low",
        }
    }
}

/// A resource to load: its id in the index it was queued against, and its qualified name
/// (if an edit has since moved the block, the name finds it again).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceKey {
    /// Where it was.
    pub id: ResourceId,
    /// What it is called.
    pub name: Text,
}

impl ResourceKey {
    /// The key of a resource of `index`.
    pub fn of(index: &Index, id: ResourceId) -> ResourceKey {
        ResourceKey {
            id,
            name: Text::from(index.qualified_name(id).unwrap_or_default()),
        }
    }
}

/// The workspace as the loader shares it: the model behind a lock (the language server
/// replaces files in it) and the resolver.
pub struct Shared {
    /// The model.
    pub model: RwLock<Model>,
    /// The resolver.
    pub resolver: Resolver,
    /// The dashboards payload of the model's generation it was built for.
    dashboards: std::sync::Mutex<Option<(u64, Arc<crate::index::dashboards::Payload>)>>,
}

impl Shared {
    /// The shared state of a model and its resolver.
    pub fn new(model: Model, resolver: Resolver) -> Shared {
        Shared {
            model: RwLock::new(model),
            resolver,
            dashboards: std::sync::Mutex::new(None),
        }
    }

    /// The dashboards payload (Powerpipe's `available_dashboards`): built from the index
    /// when the model changed since the last one, else the one already built.
    pub fn dashboards(&self) -> Arc<crate::index::dashboards::Payload> {
        let model = self.model();
        let mut slot = self.dashboards.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((generation, p)) = slot.as_ref()
            && *generation == model.generation
        {
            return p.clone();
        }
        let fields = |id, key| self.resolver.dump_field(&model, id, key);
        let p = Arc::new(crate::index::dashboards::payload(&model.index, &fields));
        *slot = Some((model.generation, p.clone()));
        p
    }

    /// Reads the model (a poisoned lock is taken over: the model is replaced whole or not at
    /// all by its writers).
    pub fn model(&self) -> std::sync::RwLockReadGuard<'_, Model> {
        self.model.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads the model if no writer holds or waits for it (`None` rather than wait).
    pub fn try_model(&self) -> Option<std::sync::RwLockReadGuard<'_, Model>> {
        match self.model.try_read() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    /// Writes the model.
    pub fn model_mut(&self) -> std::sync::RwLockWriteGuard<'_, Model> {
        self.model.write().unwrap_or_else(|p| p.into_inner())
    }
}

/// Loads resources with the resolver.
pub struct ResourceLoader {
    /// The workspace.
    pub shared: Arc<Shared>,
}

impl ResourceLoader {
    /// Where the key's resource is now.
    fn locate(model: &Model, key: &ResourceKey) -> Option<ResourceId> {
        let index = &model.index;
        if index.qualified_name(key.id).as_deref() == Some(&*key.name) {
            return Some(key.id);
        }
        index.lookup_qualified(&key.name)
    }
}

impl Loader for ResourceLoader {
    type Key = ResourceKey;
    type Value = Arc<Resource>;

    fn load(&self, key: &ResourceKey) -> Result<Arc<Resource>, LoadError> {
        let model = self.shared.model();
        let Some(id) = Self::locate(&model, key) else {
            return Err(LoadError::Permanent(format!(
                "{} no longer exists",
                key.name
            )));
        };
        // A file that cannot be read now may be readable in a moment (an editor saving it):
        // that is the one transient failure.
        let path = model
            .index
            .file(id.file)
            .map(|f| f.path.clone())
            .unwrap_or_default();
        if self.shared.resolver.sources().read(&path).is_none() {
            return Err(LoadError::Transient(format!("cannot read {path}")));
        }
        Ok(self.shared.resolver.resolve(&model, id))
    }

    fn predict(&self, key: &ResourceKey) -> Vec<ResourceKey> {
        let model = self.shared.model();
        let index = &model.index;
        let Some(id) = Self::locate(&model, key) else {
            return Vec::new();
        };
        let mut out: Vec<ResourceKey> = index
            .children(id)
            .into_iter()
            .map(|c| ResourceKey::of(index, c))
            .collect();
        if let (Some(f), Some(b)) = (index.file(id.file), index.block(id))
            && let Some(AttrValue::Ref(i)) = f.index.attr(b, AttrKey::Query).map(|a| a.value())
            && let Some(r) = f.index.refs.get(i as usize)
            && let Some(q) = index.resolve_ref(id.file, r).first()
        {
            out.push(ResourceKey::of(index, *q));
        }
        out
    }

    fn background_allowed(&self) -> bool {
        !self.shared.resolver.cache_full()
    }
}

/// The order of the background walk: top-level benchmarks, detection benchmarks and
/// dashboards of every mod (root mod first), then level by level through their children and
/// nested blocks, then every resource not reached, in index order. Each resource once.
pub fn walk_order(index: &Index) -> Vec<ResourceId> {
    // One bit per block of each file: what was already placed.
    let mut seen: Vec<Vec<bool>> = Vec::new();
    for (id, f) in index.files() {
        let i = id.0 as usize;
        if seen.len() <= i {
            seen.resize_with(i + 1, Vec::new);
        }
        seen[i] = vec![false; f.index.blocks.len()];
    }
    let mut mark = |id: ResourceId| -> bool {
        match seen
            .get_mut(id.file.0 as usize)
            .and_then(|f| f.get_mut(id.block.index()))
        {
            Some(b) if !*b => {
                *b = true;
                true
            }
            _ => false,
        }
    };
    let mut order: Vec<ResourceId> = Vec::new();
    let mut level: Vec<ResourceId> = Vec::new();
    let roots: Vec<ResourceId> = index
        .resources()
        .filter(|id| index.block(*id).is_some_and(|b| b.parent.is_none()))
        .filter(|id| {
            matches!(
                index.kind_of(*id),
                Some("benchmark" | "detection_benchmark" | "dashboard")
            )
        })
        .collect();
    // Listed as a child by one of them: not a top of the walk (found from the children
    // lists, without the reverse-reference map).
    let listed: std::collections::HashSet<ResourceId> =
        roots.iter().flat_map(|id| index.children(*id)).collect();
    for m in 0..index.mods().len() {
        let mut tops: Vec<(String, ResourceId)> = roots
            .iter()
            .copied()
            .filter(|id| index.mod_of(*id).map(|x| x.0 as usize) == Some(m))
            .filter(|id| !listed.contains(id))
            .filter_map(|id| Some((index.qualified_name(id)?, id)))
            .collect();
        tops.sort();
        for (_, id) in tops {
            if mark(id) {
                level.push(id);
            }
        }
    }
    while !level.is_empty() {
        order.extend(level.iter().copied());
        let mut next = Vec::new();
        for id in &level {
            let mut kids = index.children(*id);
            // Nested blocks that are not displayed children (`with`, `category`) too.
            if let Some(f) = index.file(id.file) {
                kids.extend(
                    f.index
                        .child_blocks(id.block)
                        .filter(|c| {
                            f.index
                                .block(*c)
                                .is_some_and(|b| b.role == BlockRole::Resource)
                        })
                        .map(|block| ResourceId {
                            file: id.file,
                            block,
                        }),
                );
            }
            for k in kids {
                if mark(k) {
                    next.push(k);
                }
            }
        }
        level = next;
    }
    for id in index.resources() {
        if mark(id) {
            order.push(id);
        }
    }
    order
}

/// How the background walk ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WalkEnd {
    /// Every resource was submitted.
    Done,
    /// The cache filled up: the rest is left for requests.
    CacheFull,
    /// The scheduler shut down.
    ShutDown,
}

/// The background walk, on its own thread.
pub struct Background {
    handle: Option<std::thread::JoinHandle<WalkEnd>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    submitted: Arc<std::sync::atomic::AtomicUsize>,
    total: usize,
}

impl Background {
    /// Starts walking: submits every resource at Low, in [`walk_order`], as the scheduler
    /// admits them. While the breaker is open it waits for it to close.
    pub fn start(scheduler: Arc<Scheduler<ResourceLoader>>) -> Background {
        let total = scheduler.loader().shared.model().index.resources().count();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let submitted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stop2, submitted2) = (stop.clone(), submitted.clone());
        let handle = std::thread::Builder::new()
            .name("modlens-walk".into())
            .spawn(move || {
                use std::sync::atomic::Ordering::Relaxed;
                // Background work: the operating system should favour whoever serves people.
                scheduler::enter_background(scheduler.config());
                // The order is worked out here, not in `start`: requests are served from the
                // moment the scheduler exists.
                let keys: Vec<ResourceKey> = {
                    let model = scheduler.loader().shared.model();
                    walk_order(&model.index)
                        .into_iter()
                        .map(|id| ResourceKey::of(&model.index, id))
                        .collect()
                };
                let mut keys = keys.into_iter().peekable();
                while keys.peek().is_some() {
                    if stop2.load(Relaxed) {
                        return WalkEnd::ShutDown;
                    }
                    match scheduler.submit_background_batch(&mut keys) {
                        Ok(n) => {
                            submitted2.fetch_add(n, Relaxed);
                        }
                        Err(LoadError::CacheFull) => {
                            tracing::info!("background load stopped: the cache is full");
                            return WalkEnd::CacheFull;
                        }
                        Err(LoadError::ShuttingDown) => return WalkEnd::ShutDown,
                        // The breaker is open: wait for its cool-down.
                        Err(_) => std::thread::sleep(std::time::Duration::from_millis(50)),
                    }
                }
                WalkEnd::Done
            })
            .ok();
        Background {
            handle,
            stop,
            submitted,
            total,
        }
    }

    /// Resources submitted so far, and in all.
    pub fn progress(&self) -> (usize, usize) {
        (
            self.submitted.load(std::sync::atomic::Ordering::Relaxed),
            self.total,
        )
    }

    /// True when the walk has ended.
    pub fn finished(&self) -> bool {
        self.handle.as_ref().is_none_or(|h| h.is_finished())
    }

    /// Stops the walk and waits for its thread.
    pub fn stop(mut self) -> WalkEnd {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.join_inner()
    }

    /// Waits for the walk to end by itself.
    pub fn join(mut self) -> WalkEnd {
        self.join_inner()
    }

    fn join_inner(&mut self) -> WalkEnd {
        match self.handle.take() {
            Some(h) => h.join().unwrap_or(WalkEnd::ShutDown),
            None => WalkEnd::ShutDown,
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = self.join_inner();
    }
}

#[cfg(test)]
mod tests;
