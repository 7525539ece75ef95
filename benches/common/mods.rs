//! Generated mods for the benches: made once per size and seed, reused while the marker
//! file written after generation still matches the files on disk.

use std::path::{Path, PathBuf};
use std::time::Instant;

/// Seed of every generated mod.
pub const SEED: u64 = 1;

/// Name of the file written into a generated mod once it is complete (hidden, so discovery
/// skips it).
pub const MARKER: &str = ".modlens-bench-complete";

pub fn size_label(size: f64) -> String {
    format!("{size}")
}

/// Every regular file under `dir` except the marker: (count, bytes).
fn tally(dir: &Path) -> std::io::Result<(u64, u64)> {
    let mut files = 0;
    let mut bytes = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() && entry.file_name() != MARKER {
                files += 1;
                bytes += entry.metadata()?.len();
            }
        }
    }
    Ok((files, bytes))
}

/// The marker's text for a mod of this many files and bytes.
fn marker_text(size: f64, files: u64, bytes: u64) -> String {
    format!(
        "modlens {} seed={SEED} size={} files={files} bytes={bytes}\n",
        env!("CARGO_PKG_VERSION"),
        size_label(size)
    )
}

/// The generated mod of `size`, generated unless a complete one is already there.
pub fn ensure_mod(base: &Path, size: f64, regen: bool) -> PathBuf {
    let dir = base.join(format!("size-{}-seed-{SEED}", size_label(size)));
    if !regen && let Ok(marker) = std::fs::read_to_string(dir.join(MARKER)) {
        match tally(&dir) {
            Ok((files, bytes)) if marker == marker_text(size, files, bytes) => return dir,
            _ => eprintln!(
                "note: {} does not match its marker; regenerating",
                dir.display()
            ),
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot remove stale {}: {e}", dir.display()));
    }
    let t = Instant::now();
    let report = modlens::generate::generate(
        &modlens::generate::GenerateOptions { size, seed: SEED },
        &dir,
    )
    .unwrap_or_else(|e| panic!("cannot generate size {size} into {}: {e}", dir.display()));
    let (files, bytes) =
        tally(&dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    std::fs::write(dir.join(MARKER), marker_text(size, files, bytes))
        .unwrap_or_else(|e| panic!("cannot write the marker in {}: {e}", dir.display()));
    eprintln!(
        "generated size {} into {} ({} files, {} bytes, {} resources) in {:.1} s",
        size_label(size),
        dir.display(),
        report.files,
        report.bytes,
        report.resources,
        t.elapsed().as_secs_f64()
    );
    dir
}
