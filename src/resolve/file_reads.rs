//! Which files an expression reads through the file functions (`file`, `filebase64`,
//! `fileexists`, `fileset`, `filemd5`, `filesha1`, ..., `templatefile`), found in its text:
//! what a change to a file that is not a mod file may change. A literal path is kept,
//! workspace-relative; anything else (a computed path, a `fileset` pattern) counts as any
//! file. More may be found than is read (a call written inside a string), never less.

use std::collections::HashSet;

use super::value::{Interner, Text};

/// The files some text reads (see the module's documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileReads {
    /// Literal paths, workspace-relative, sorted, without repeats.
    pub paths: Vec<Text>,
    /// Some call's path is not a literal: it may read any file.
    pub any: bool,
}

impl FileReads {
    /// The reads of `text`, for a mod whose folder is `mod_root` (workspace-relative, `""`
    /// for the root mod).
    pub fn of(text: &[u8], mod_root: &str, interner: &Interner) -> FileReads {
        let mut out = FileReads::default();
        for at in memchr::memmem::find_iter(text, b"file") {
            let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
            let start = text[..at]
                .iter()
                .rposition(|&b| !ident(b))
                .map_or(0, |p| p + 1);
            let end = text[at..]
                .iter()
                .position(|&b| !ident(b))
                .map_or(text.len(), |p| at + p);
            let name = &text[start..end];
            // A file function's name, met at its own `file` (not `profile`, `myfile`).
            let own = if name == b"templatefile" {
                start + "template".len()
            } else {
                start
            };
            if at != own || !(name.starts_with(b"file") || name == b"templatefile") {
                continue;
            }
            let rest = text[end..].trim_ascii_start();
            let Some(args) = rest.strip_prefix(b"(") else {
                continue;
            };
            if name == b"fileset" {
                out.any = true;
                continue;
            }
            match literal(args.trim_ascii_start()) {
                Some(path) => {
                    if let Some(p) = join(mod_root, &path) {
                        out.paths.push(interner.intern(&p));
                    }
                }
                None => out.any = true,
            }
        }
        out.paths.sort();
        out.paths.dedup();
        out
    }

    /// True when nothing is read.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && !self.any
    }

    /// True when a change at `changed` (a workspace-relative file or folder; `""`: the
    /// whole workspace) may change what is read.
    pub fn touched_by(&self, changed: &str) -> bool {
        self.any || self.paths.iter().any(|p| under(p, changed))
    }
}

/// Every file read so far, for a quick "does this change matter" before anything is
/// invalidated.
#[derive(Debug, Default)]
pub struct ReadSet {
    paths: HashSet<Text>,
    any: bool,
}

impl ReadSet {
    /// Adds what `reads` reads.
    pub fn add(&mut self, reads: &FileReads) {
        self.any |= reads.any;
        self.paths.extend(reads.paths.iter().cloned());
    }

    /// True when a change at one of `changed` may change something read so far.
    pub fn touched_by(&self, changed: &[String]) -> bool {
        if self.any {
            return true;
        }
        changed
            .iter()
            .any(|c| self.paths.iter().any(|p| under(p, c)))
    }
}

/// `path` is `changed` or below it.
fn under(path: &str, changed: &str) -> bool {
    changed.is_empty()
        || path == changed
        || (path.len() > changed.len()
            && path.starts_with(changed)
            && path.as_bytes()[changed.len()] == b'/')
}

/// A quoted string with no escape or template in it, unquoted.
fn literal(s: &[u8]) -> Option<String> {
    let body = s.strip_prefix(b"\"")?;
    let end = body.iter().position(|&b| b == b'"' || b == b'\\')?;
    if body[end] != b'"' {
        return None;
    }
    let text = std::str::from_utf8(&body[..end]).ok()?;
    if text.contains("${") || text.contains("%{") {
        return None;
    }
    Some(text.to_string())
}

/// `path` (relative to the mod folder `mod_root`) as a workspace-relative path, `.` and
/// `..` folded; `None` for an absolute path or one that leaves the mod folder (the file
/// functions refuse both: nothing is read).
fn join(mod_root: &str, path: &str) -> Option<String> {
    if path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return None;
    }
    let inside = parts.join("/");
    Some(if mod_root.is_empty() {
        inside
    } else {
        format!("{}/{inside}", mod_root.trim_end_matches('/'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(text: &str, root: &str) -> (Vec<String>, bool) {
        let r = FileReads::of(text.as_bytes(), root, &Interner::new(64));
        (r.paths.iter().map(|p| p.to_string()).collect(), r.any)
    }

    #[test]
    fn literal_paths_are_found_relative_to_the_mod_folder() {
        let text = r#"documentation = file("./docs/a.md")
            title = filebase64( "img/b.png" )
            description = templatefile("t/../c.tpl", {})"#;
        assert_eq!(
            reads(text, ""),
            (
                vec!["c.tpl".into(), "docs/a.md".into(), "img/b.png".into()],
                false
            )
        );
        assert_eq!(
            reads(r#"x = file("docs/a.md")"#, ".powerpipe/mods/m@v1"),
            (vec![".powerpipe/mods/m@v1/docs/a.md".into()], false)
        );
    }

    #[test]
    fn computed_paths_and_patterns_read_any_file() {
        assert_eq!(reads(r#"file("${var.dir}/a.md")"#, ""), (vec![], true));
        assert_eq!(reads("file(local.path)", ""), (vec![], true));
        assert_eq!(reads(r#"fileset(".", "*.md")"#, ""), (vec![], true));
        assert_eq!(reads(r#"file("a\"b")"#, ""), (vec![], true));
    }

    #[test]
    fn other_words_and_refused_paths_read_nothing() {
        assert_eq!(reads("profile = 1\nfiles = [] # file", ""), (vec![], false));
        assert_eq!(reads(r#"myfile("a")"#, ""), (vec![], false));
        assert_eq!(
            reads(r#"file("/etc/passwd") file("../x")"#, ""),
            (vec![], false)
        );
    }

    #[test]
    fn a_change_touches_the_file_and_the_folders_above_it() {
        let r = FileReads::of(br#"file("docs/a.md")"#, "", &Interner::new(64));
        assert!(r.touched_by("docs/a.md"));
        assert!(r.touched_by("docs"));
        assert!(r.touched_by(""));
        assert!(!r.touched_by("docs/a.mdx"));
        assert!(!r.touched_by("doc"));
        assert!(!r.touched_by(".a.md.swp"));
        let mut set = ReadSet::default();
        assert!(!set.touched_by(&["docs/a.md".into()]));
        set.add(&r);
        assert!(set.touched_by(&["x".into(), "docs/a.md".into()]));
        assert!(!set.touched_by(&["docs/4913".into()]));
    }
}
