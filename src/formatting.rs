//! `modlens fmt`: rewrites mod files in HCL's canonical format (`modlens::format`, the same
//! output as `hclwrite.Format`, which `terraform fmt` builds on).
//!
//! A folder means the mod files in it and below (the walk of the index: `.powerpipeignore`
//! and `.steampipeignore` are honoured, hidden folders such as `.powerpipe/mods` are not
//! entered, links are not followed); a file is formatted whatever its place; `-` reads
//! standard input and writes standard output. Files are replaced atomically (a new file in
//! the same folder renamed over the old one, with the old one's permissions), and only
//! when their text changes. Exit codes: 0 done (or, with `--check`, nothing to change);
//! 1 a file would change (`--check`) or cannot be formatted (a syntax error, reported as
//! `file:line:column: error: message`); 2 a path that cannot be read or written.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use modlens::workspace::is_indexed_file;

/// What `modlens fmt` was asked.
pub(crate) struct FmtArgs {
    /// Write nothing; exit 1 when a file would change.
    pub(crate) check: bool,
    /// Print a unified diff of each change.
    pub(crate) diff: bool,
    /// Files, folders, or `-`; none means the current folder.
    pub(crate) paths: Vec<PathBuf>,
}

/// What happened to one input.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Unchanged,
    Changed,
    /// Not formatted: a syntax error (already reported).
    Refused,
}

/// Runs `modlens fmt`; returns the exit code.
pub(crate) fn fmt(args: &FmtArgs) -> Result<i32> {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        bail!("`-` (standard input) can be given only once");
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut changed = false;
    let mut refused = false;
    let mut failed = false;
    for path in &paths {
        if path.as_os_str() == "-" {
            match stdin(args, &mut out)? {
                Outcome::Changed => changed = true,
                Outcome::Refused => refused = true,
                Outcome::Unchanged => {}
            }
            continue;
        }
        let files = match targets(path) {
            Ok(f) => f,
            Err(e) => {
                eprintln!("modlens: error: {e:#}");
                failed = true;
                continue;
            }
        };
        for file in files {
            match one_file(&file, args, &mut out) {
                Ok(Outcome::Changed) => changed = true,
                Ok(Outcome::Refused) => refused = true,
                Ok(Outcome::Unchanged) => {}
                Err(e) => {
                    // The reader of our output went away: stop, as every command does.
                    if is_broken_pipe(&e) {
                        return Err(e);
                    }
                    eprintln!("modlens: error: {e:#}");
                    failed = true;
                }
            }
        }
    }
    out.flush()?;
    Ok(if failed {
        2
    } else if refused || (args.check && changed) {
        1
    } else {
        0
    })
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The files a path stands for: itself if it is a file, else its mod files, sorted.
fn targets(path: &Path) -> Result<Vec<PathBuf>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !meta.is_dir() {
        bail!("{} is neither a file nor a folder", path.display());
    }
    let mut files = Vec::new();
    let walker = modlens::workspace::walk_builder(path).build();
    for entry in walker {
        let entry = entry.with_context(|| format!("cannot walk {}", path.display()))?;
        if entry.file_type().is_some_and(|t| t.is_file())
            && is_indexed_file(&entry.file_name().to_string_lossy())
        {
            files.push(entry.into_path());
        }
    }
    files.sort();
    Ok(files)
}

/// Formats `text` named `name`: the new text, or `None` after reporting its syntax error.
fn formatted(name: &str, bytes: &[u8]) -> Option<String> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let (line, column) = line_column(bytes, e.valid_up_to());
            eprintln!("{name}:{line}:{column}: error: the file is not UTF-8 text; not formatted");
            return None;
        }
    };
    match modlens::format::format(text) {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!(
                "{name}:{}:{}: error: {}; not formatted",
                e.line, e.column, e.message
            );
            None
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[start..]).chars().count() + 1;
    (line, column)
}

fn one_file(path: &Path, args: &FmtArgs, out: &mut impl Write) -> Result<Outcome> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {name}"))?;
    let Some(new) = formatted(&name, &bytes) else {
        return Ok(Outcome::Refused);
    };
    if new.as_bytes() == bytes.as_slice() {
        return Ok(Outcome::Unchanged);
    }
    let old = String::from_utf8_lossy(&bytes);
    if args.diff {
        write_diff(out, &name, &old, &new)?;
    } else {
        writeln!(out, "{name}")?;
    }
    if !args.check {
        replace(path, new.as_bytes()).with_context(|| format!("cannot write {name}"))?;
    }
    Ok(Outcome::Changed)
}

/// `-`: standard input to standard output (`--check` prints nothing, `--diff` the diff).
fn stdin(args: &FmtArgs, out: &mut impl Write) -> Result<Outcome> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("cannot read standard input")?;
    let Some(new) = formatted("<stdin>", &bytes) else {
        return Ok(Outcome::Refused);
    };
    let changed = new.as_bytes() != bytes.as_slice();
    if args.diff {
        if changed {
            write_diff(out, "<stdin>", &String::from_utf8_lossy(&bytes), &new)?;
        }
    } else if !args.check {
        out.write_all(new.as_bytes())?;
    }
    Ok(if changed {
        Outcome::Changed
    } else {
        Outcome::Unchanged
    })
}

fn write_diff(out: &mut impl Write, name: &str, old: &str, new: &str) -> Result<()> {
    let diff = similar::TextDiff::from_lines(old, new);
    write!(
        out,
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a/{name}"), &format!("b/{name}"))
    )?;
    Ok(())
}

/// Replaces a file's content atomically: a new file beside it (with its permissions) renamed
/// over it. A link is followed, so the file it points to is replaced, not the link.
fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let perms = std::fs::metadata(&target)?.permissions();
    let mut tmp = tempfile::Builder::new()
        .prefix(".modlens-fmt")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.as_file().set_permissions(perms)?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_from_one() {
        assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_column("é\nxé".as_bytes(), 6), (2, 3));
        assert_eq!(line_column(b"", 0), (1, 1));
    }

    #[test]
    fn a_folder_means_its_mod_files_without_hidden_or_ignored_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        for f in [
            "mod.pp",
            "a/b.pp",
            "a/c.sp",
            "a/v.ppvars",
            "notes.txt",
            ".powerpipe/mods/x/y.pp",
            "skipped/z.pp",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        std::fs::write(root.join(".powerpipeignore"), "skipped/\n").unwrap();
        let got: Vec<String> = targets(root)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(root).unwrap().display().to_string())
            .collect();
        assert_eq!(got, ["a/b.pp", "a/c.sp", "a/v.ppvars", "mod.pp"]);
    }
}
