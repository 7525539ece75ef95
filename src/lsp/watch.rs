//! Watching the workspace for changes made outside the editor, when the client cannot do it
//! (`workspace/didChangeWatchedFiles` without dynamic registration): a notify watcher per
//! project root, debounced by notify-debouncer-full, so a burst (a `git checkout` touching
//! hundreds of files) arrives as one batch of paths.

use std::path::PathBuf;
use std::time::Duration;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

/// How long the file system must be quiet before a batch is delivered.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// A running watcher; dropping it stops watching.
pub struct Watcher {
    _debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// Watches `roots` recursively; every debounced batch of changed paths (sorted, without
/// repeats) is sent to `tx`. A root that cannot be watched is logged and skipped.
pub fn watch(
    roots: &[PathBuf],
    tx: tokio::sync::mpsc::UnboundedSender<Vec<PathBuf>>,
) -> Result<Watcher, notify::Error> {
    let mut debouncer = new_debouncer(DEBOUNCE, None, move |res: DebounceEventResult| match res {
        Ok(events) => {
            let mut paths: Vec<PathBuf> = events
                .iter()
                .flat_map(|e| e.paths.iter().cloned())
                .collect();
            paths.sort();
            paths.dedup();
            if !paths.is_empty() {
                let _ = tx.send(paths);
            }
        }
        Err(errors) => {
            for e in errors {
                tracing::warn!(error = %e, "file watcher");
            }
        }
    })?;
    for root in roots {
        if let Err(e) = debouncer.watch(root, RecursiveMode::Recursive) {
            tracing::warn!(root = %root.display(), error = %e, "cannot watch");
        }
    }
    Ok(Watcher {
        _debouncer: debouncer,
    })
}
