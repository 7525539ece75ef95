//! Watching the workspace for changes made outside the editor, when the client cannot do it
//! (`workspace/didChangeWatchedFiles` without dynamic registration): a notify watcher per
//! project root, debounced by notify-debouncer-full, so a burst (a `git checkout` touching
//! hundreds of files) arrives as one batch of paths.
//!
//! Symbolic links are not followed (the workspace never reads through one, and a link to `/`
//! must not make the watcher walk the disk). When the watcher may have lost events (the
//! kernel's queue overflowed), the roots themselves are sent: a root's path stands for every
//! file below it, all read again.

use std::path::PathBuf;
use std::time::Duration;

use notify::RecursiveMode;
use notify::event::{AccessKind, AccessMode, EventKind, EventKindMask, MetadataKind, ModifyKind};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer_opt};

/// The events asked of the kernel: what can change a file (creation, removal, a write, a
/// rename, a metadata change) and a write's close, but not its opening or a read's close.
/// Asked for, those wake the watcher's thread for every file the server reads itself, a
/// wakeup per resolve competing with the requests for the processor.
const WATCHED: EventKindMask = EventKindMask::CORE.union(EventKindMask::ACCESS_CLOSE);

/// How long the file system must be quiet before a batch is delivered.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// True for events that can change what a file holds. Reads are not changes: the server
/// reads the workspace's files itself (to resolve), and on Linux every read is an access
/// event, so counting them would make each resolve reload the file it read.
fn changes_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        _ => true,
    }
}

/// The paths a batch of events may have changed, sorted, without repeats: every root when
/// the watcher lost events.
fn changed_paths(
    events: &[notify_debouncer_full::DebouncedEvent],
    roots: &[PathBuf],
) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = events
        .iter()
        .filter(|e| changes_content(&e.kind))
        .flat_map(|e| e.paths.iter().cloned())
        .collect();
    if events.iter().any(|e| e.need_rescan()) {
        tracing::warn!("the file watcher lost events: reading the workspace again");
        paths.extend(roots.iter().cloned());
    }
    paths.sort();
    paths.dedup();
    paths
}

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
    let watched = roots.to_vec();
    let handler = move |res: DebounceEventResult| match res {
        Ok(events) => {
            let paths = changed_paths(&events, &watched);
            if !paths.is_empty() {
                let _ = tx.send(paths);
            }
        }
        Err(errors) => {
            for e in errors {
                tracing::warn!(error = %e, "file watcher");
            }
        }
    };
    let config = notify_debouncer_full::Config::default()
        .with_timeout(DEBOUNCE)
        .with_notify_config(
            notify::Config::default()
                .with_follow_symlinks(false)
                .with_event_kinds(WATCHED),
        );
    let mut debouncer = new_debouncer_opt::<_, notify::RecommendedWatcher, RecommendedCache>(
        config,
        handler,
        RecommendedCache::new(),
    )?;
    for root in roots {
        if let Err(e) = debouncer.watch(root, RecursiveMode::Recursive) {
            tracing::warn!(root = %root.display(), error = %e, "cannot watch");
        }
    }
    Ok(Watcher {
        _debouncer: debouncer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, DataChange, RemoveKind};

    #[test]
    fn reads_are_not_changes() {
        assert!(!changes_content(&EventKind::Access(AccessKind::Open(
            AccessMode::Read
        ))));
        assert!(!changes_content(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!changes_content(&EventKind::Access(AccessKind::Read)));
        assert!(!changes_content(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
        assert!(changes_content(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(changes_content(&EventKind::Modify(ModifyKind::Data(
            DataChange::Content
        ))));
        assert!(changes_content(&EventKind::Create(CreateKind::File)));
        assert!(changes_content(&EventKind::Remove(RemoveKind::File)));
        assert!(changes_content(&EventKind::Any));
    }

    #[test]
    fn lost_events_stand_for_every_root() {
        use notify::event::Flag;
        use notify_debouncer_full::DebouncedEvent;
        let at = std::time::Instant::now();
        let event = |kind, path: &str| {
            DebouncedEvent::new(notify::Event::new(kind).add_path(PathBuf::from(path)), at)
        };
        let roots = vec![PathBuf::from("/r1"), PathBuf::from("/r2")];
        let plain = [
            event(EventKind::Create(CreateKind::File), "/r1/a.pp"),
            event(EventKind::Access(AccessKind::Read), "/r1/b.pp"),
            event(EventKind::Remove(RemoveKind::File), "/r1/a.pp"),
        ];
        assert_eq!(
            changed_paths(&plain, &roots),
            vec![PathBuf::from("/r1/a.pp")]
        );
        let lost = [DebouncedEvent::new(
            notify::Event::new(EventKind::Other).set_flag(Flag::Rescan),
            at,
        )];
        assert_eq!(changed_paths(&lost, &roots), roots);
    }

    /// The masks of every inotify watch this process holds (`/proc/self/fdinfo`).
    #[cfg(target_os = "linux")]
    fn inotify_masks() -> Vec<u32> {
        let mut masks = Vec::new();
        for fd in std::fs::read_dir("/proc/self/fd")
            .expect("fd list")
            .flatten()
        {
            let inotify = std::fs::read_link(fd.path())
                .is_ok_and(|l| l.to_string_lossy() == "anon_inode:inotify");
            if !inotify {
                continue;
            }
            let info =
                std::fs::read_to_string(PathBuf::from("/proc/self/fdinfo").join(fd.file_name()))
                    .unwrap_or_default();
            masks.extend(info.lines().filter_map(|l| {
                let at = l
                    .strip_prefix("inotify ")?
                    .split(' ')
                    .find_map(|f| f.strip_prefix("mask:"))?;
                u32::from_str_radix(at, 16).ok()
            }));
        }
        masks
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_is_not_asked_for_opens_or_reads() {
        // Each event asked for wakes the watcher's thread: the server's own reads of the
        // workspace (an open, a read, a close without writing) must not.
        const IN_ACCESS: u32 = 0x1;
        const IN_MODIFY: u32 = 0x2;
        const IN_CLOSE_WRITE: u32 = 0x8;
        const IN_CLOSE_NOWRITE: u32 = 0x10;
        const IN_OPEN: u32 = 0x20;
        let tmp = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(tmp.path().join("sub")).expect("sub dir");
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let _watcher = watch(&[tmp.path().to_path_buf()], tx).expect("watcher");
        let masks = inotify_masks();
        assert!(
            masks.len() >= 2,
            "the root and its folder are watched: {masks:x?}"
        );
        for mask in masks {
            assert_eq!(
                mask & (IN_ACCESS | IN_OPEN | IN_CLOSE_NOWRITE),
                0,
                "{mask:#x}"
            );
            assert_eq!(
                mask & (IN_MODIFY | IN_CLOSE_WRITE),
                IN_MODIFY | IN_CLOSE_WRITE
            );
        }
    }
}
