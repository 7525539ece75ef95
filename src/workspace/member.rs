//! What belongs to the workspace, decided on the disk without ever looking outside it.
//!
//! The rule, one for the walk, the language server's watcher paths and every read:
//! * An indexed file is a regular file reached from the mod root without passing through a
//!   symbolic link — not the file itself, not a folder on the way, not one that points back
//!   inside the mod. This is what the walk finds (it does not follow links), so a link is
//!   never indexed, whichever path (a fresh walk, a watcher event, an open document) meets it.
//!   Installed dependency mods are no exception: `.powerpipe/mods/...` must be real folders
//!   (Powerpipe's installer copies mods there; a link is reported as a broken install).
//! * `file("...")` may read any file inside its mod's folder, through links that stay inside
//!   it. Links are resolved here, one step at a time, from their text (`readlink`) alone: a
//!   path that leaves the folder is refused before anything outside it is looked at, so the
//!   message cannot tell whether something exists there.
//!
//! Hidden entries, `.powerpipeignore` and nested mods are the walk's business: they can only
//! change with an event the server answers with a walk (an ignore file, a new `mod.pp`, a
//! folder), so a file the walk found keeps being a member until one of those comes or the
//! file (or a folder above it) stops being what this module accepts.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

/// Why a path is not a file of the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotMember {
    /// Nothing is there.
    Gone,
    /// A real folder of the workspace (its files may be members).
    Folder,
    /// A symbolic link (or a folder on the way is one), something other than a file and a
    /// folder, or a path that is not plainly relative.
    Other,
}

/// True when `dir` holds a mod file (`mod.pp` or `mod.sp`) that is a regular file, not a
/// link.
pub fn has_mod_file(dir: &Path) -> bool {
    ["mod.pp", "mod.sp"].iter().any(|m| {
        std::fs::symlink_metadata(dir.join(m)).is_ok_and(|meta| meta.file_type().is_file())
    })
}

/// True when `path` is a real folder (not a link to one).
pub fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir())
}

/// The path of the workspace file `rel` (`/`-separated, relative to `root`, which must be
/// canonical) when it is a regular file reached without a symbolic link; otherwise why not.
/// Only `root` and the entries below it on `rel`'s way are looked at (`lstat`).
pub fn member_file(root: &Path, rel: &str) -> Result<PathBuf, NotMember> {
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    if rel.is_empty() {
        return Err(if is_real_dir(root) {
            NotMember::Folder
        } else {
            NotMember::Gone
        });
    }
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() || *part == "." || *part == ".." {
            return Err(NotMember::Other);
        }
        path.push(part);
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if is_gone(&e) => return Err(NotMember::Gone),
            Err(_) => return Err(NotMember::Other),
        };
        let t = meta.file_type();
        let last = i + 1 == parts.len();
        if t.is_symlink() {
            return Err(NotMember::Other);
        }
        if last {
            return if t.is_file() {
                Ok(path)
            } else if t.is_dir() {
                Err(NotMember::Folder)
            } else {
                Err(NotMember::Other)
            };
        }
        if !t.is_dir() {
            // A file where a folder was: what was below it is gone.
            return Err(NotMember::Gone);
        }
    }
    Err(NotMember::Other)
}

/// An error that means "not there": not found, or a file where a folder was expected.
pub(crate) fn is_gone(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

/// Why [`resolve_inside`] refused a path.
#[derive(Debug)]
pub enum Refused {
    /// The path is absolute (or starts at a drive or `~`).
    Absolute,
    /// The path, or a symbolic link on its way, leads out of the folder.
    Leaves,
    /// Something on the way could not be looked at (not found, not a folder, too many links):
    /// the error is about a path inside the folder.
    Io(std::io::Error),
}

/// Most symbolic links followed on one path (Linux's own limit).
const MAX_LINKS: usize = 40;

/// Resolves `path` (as written in a `file()` call) inside `base`, a canonical folder:
/// `.` and `..` and symbolic links are followed one step at a time, each link from its own
/// text, and the first step that would leave `base` refuses the path. Nothing outside `base`
/// is ever looked at. The result is a path inside `base` with no link on its way (what it
/// names may not exist: the caller opens it).
pub fn resolve_inside(base: &Path, path: &str) -> Result<PathBuf, Refused> {
    if path.starts_with('~') || Path::new(path).is_absolute() {
        return Err(Refused::Absolute);
    }
    // Components still to walk, the next one last.
    let mut todo: Vec<OsString> = Vec::new();
    push_components(&mut todo, Path::new(path))?;
    // Where we are, as names below `base` (each a real folder, checked).
    let mut at: Vec<OsString> = Vec::new();
    let mut links = 0usize;
    while let Some(c) = todo.pop() {
        if c == ".." {
            if at.pop().is_none() {
                return Err(Refused::Leaves);
            }
            continue;
        }
        let here: PathBuf = at.iter().fold(base.to_path_buf(), |p, c| p.join(c));
        let next = here.join(&c);
        let meta = match std::fs::symlink_metadata(&next) {
            Ok(m) => m,
            // The last name is not there: the caller's open says so, about a path inside.
            Err(e) if todo.is_empty() && is_gone(&e) => {
                at.push(c);
                break;
            }
            // A folder on the way is not there (or cannot be looked at): nothing below it
            // can lead anywhere, and `missing/..` does not climb either (as the OS has it).
            Err(e) => return Err(Refused::Io(e)),
        };
        if meta.file_type().is_symlink() {
            links += 1;
            if links > MAX_LINKS {
                return Err(Refused::Io(std::io::Error::from_raw_os_error(libc::ELOOP)));
            }
            let target = std::fs::read_link(&next).map_err(Refused::Io)?;
            if target.is_absolute() {
                // Absolute targets are followed only when they name a place below `base`
                // as spelled (a link to the mod through another spelling is refused).
                let below = target.strip_prefix(base).map_err(|_| Refused::Leaves)?;
                at.clear();
                push_components(&mut todo, below)?;
            } else {
                push_components(&mut todo, &target)?;
            }
            continue;
        }
        at.push(c);
        if !todo.is_empty() && !meta.file_type().is_dir() {
            return Err(Refused::Io(std::io::Error::from_raw_os_error(
                libc::ENOTDIR,
            )));
        }
    }
    Ok(at.iter().fold(base.to_path_buf(), |p, c| p.join(c)))
}

/// Pushes `path`'s components on `todo` so that the first is popped first; `.` is dropped.
fn push_components(todo: &mut Vec<OsString>, path: &Path) -> Result<(), Refused> {
    let mut parts: Vec<OsString> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => parts.push(OsString::from("..")),
            Component::Normal(n) => parts.push(n.to_os_string()),
            Component::RootDir | Component::Prefix(_) => return Err(Refused::Absolute),
        }
    }
    todo.extend(parts.into_iter().rev());
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().expect("temp dir");
        let base = std::fs::canonicalize(tmp.path()).expect("canonical");
        let root = base.join("mod");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("docs")).expect("mkdir");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(root.join("docs/a.md"), "a").expect("write");
        std::fs::write(root.join("x.pp"), "x").expect("write");
        std::fs::write(outside.join("secret.md"), "s").expect("write");
        (tmp, root, outside)
    }

    #[test]
    fn a_member_is_a_regular_file_reached_without_links() {
        let (_t, root, outside) = tree();
        symlink(root.join("x.pp"), root.join("inside_link.pp")).expect("link");
        symlink(outside.join("secret.md"), root.join("outside_link.pp")).expect("link");
        symlink(&outside, root.join("dir_link")).expect("link");
        assert_eq!(member_file(&root, "x.pp"), Ok(root.join("x.pp")));
        assert_eq!(member_file(&root, "docs"), Err(NotMember::Folder));
        assert_eq!(member_file(&root, ""), Err(NotMember::Folder));
        assert_eq!(member_file(&root, "inside_link.pp"), Err(NotMember::Other));
        assert_eq!(member_file(&root, "outside_link.pp"), Err(NotMember::Other));
        assert_eq!(
            member_file(&root, "dir_link/secret.md"),
            Err(NotMember::Other)
        );
        assert_eq!(member_file(&root, "dir_link"), Err(NotMember::Other));
        assert_eq!(member_file(&root, "missing.pp"), Err(NotMember::Gone));
        assert_eq!(member_file(&root, "x.pp/below.pp"), Err(NotMember::Gone));
        assert_eq!(
            member_file(&root, "../outside/secret.md"),
            Err(NotMember::Other)
        );
        assert_eq!(member_file(&root, "docs//a.md"), Err(NotMember::Other));
    }

    #[test]
    fn resolving_inside_follows_links_that_stay_and_refuses_those_that_leave() {
        let (_t, root, outside) = tree();
        symlink("docs/a.md", root.join("rel_link.md")).expect("link");
        symlink(root.join("docs"), root.join("abs_dir_link")).expect("link");
        symlink(&outside, root.join("out")).expect("link");
        symlink("../outside/secret.md", root.join("climb.md")).expect("link");
        symlink("loop", root.join("loop")).expect("link");
        let ok = |p: &str| resolve_inside(&root, p).ok();
        assert_eq!(ok("docs/a.md"), Some(root.join("docs/a.md")));
        assert_eq!(ok("./docs/../docs/a.md"), Some(root.join("docs/a.md")));
        assert_eq!(ok("rel_link.md"), Some(root.join("docs/a.md")));
        assert_eq!(ok("abs_dir_link/a.md"), Some(root.join("docs/a.md")));
        // Not there: resolved (the caller's open says so).
        assert_eq!(ok("docs/missing.md"), Some(root.join("docs/missing.md")));
        for leaving in [
            "../outside/secret.md",
            "out/secret.md",
            "out/missing.md",
            "climb.md",
        ] {
            assert!(
                matches!(resolve_inside(&root, leaving), Err(Refused::Leaves)),
                "{leaving}"
            );
        }
        assert!(matches!(
            resolve_inside(&root, "/etc/hostname"),
            Err(Refused::Absolute)
        ));
        assert!(matches!(resolve_inside(&root, "loop"), Err(Refused::Io(_))));
        assert!(matches!(
            resolve_inside(&root, "x.pp/below"),
            Err(Refused::Io(_))
        ));
    }
}
