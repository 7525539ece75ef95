//! File and path functions. Files are read relative to the mod's folder and never outside
//! it, through the [`ModFiles`] installed for one evaluation ([`with_file_reader`]): the
//! workspace implements it (the only code that touches the disk), tests give their own.
//!
//! `abspath` of a relative path and `pathexpand` of `~` depend on the machine Powerpipe runs
//! on (its working folder, its user's home): those are values known only when it runs.

use std::cell::RefCell;
use std::sync::Arc;

use hcl::Value;
use hcl::eval::{FuncArgs, FuncDef};

use super::hashes::{b64, hex};
use super::{R, fixed, runtime, str_param, text};

/// The files of one mod, as file functions see them: paths as written in the call,
/// relative to the mod's folder. Errors are messages to show.
pub trait ModFiles: Send + Sync {
    /// The text of a file (UTF-8).
    fn read_text(&self, path: &str) -> Result<String, String>;

    /// The bytes of a file.
    fn read_bytes(&self, path: &str) -> Result<Vec<u8>, String> {
        self.read_text(path).map(String::into_bytes)
    }

    /// True if a regular file exists at `path` (an error for something that is not one).
    fn exists(&self, path: &str) -> Result<bool, String> {
        Ok(self.read_text(path).is_ok())
    }

    /// Every regular file below the folder `dir`, as paths relative to it with `/`
    /// separators.
    fn list(&self, dir: &str) -> Result<Vec<String>, String> {
        let _ = dir;
        Err("listing files is not available here".to_string())
    }
}

/// A closure that reads a file's text is a [`ModFiles`] that only reads text.
impl<F> ModFiles for F
where
    F: Fn(&str) -> Result<String, String> + Send + Sync,
{
    fn read_text(&self, path: &str) -> Result<String, String> {
        self(path)
    }
}

/// The files file functions read during one evaluation.
pub type FileReader = Arc<dyn ModFiles>;

thread_local! {
    static FILES: RefCell<Option<FileReader>> = const { RefCell::new(None) };
}

/// Runs `f` with `reader` serving file functions on this thread.
pub fn with_file_reader<R>(reader: FileReader, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<FileReader>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let prev = self.0.take();
            FILES.with(|r| *r.borrow_mut() = prev);
        }
    }
    let prev = FILES.with(|r| r.borrow_mut().replace(reader));
    let _restore = Restore(prev);
    f()
}

fn files(name: &str) -> Result<FileReader, String> {
    FILES
        .with(|r| r.borrow().clone())
        .ok_or_else(|| format!("{name}() is not available here"))
}

/// The definition of a function of this family.
pub(super) fn def(name: &str) -> Option<FuncDef> {
    let s = str_param;
    Some(match name {
        "abspath" => fixed(&[s()], abspath),
        "basename" => fixed(&[s()], basename),
        "dirname" => fixed(&[s()], dirname),
        "file" => fixed(&[s()], file),
        "filebase64" => fixed(&[s()], filebase64),
        "filebase64sha256" => fixed(&[s()], |a| {
            file_digest(&a, "filebase64sha256", b64::<sha2::Sha256>)
        }),
        "filebase64sha512" => fixed(&[s()], |a| {
            file_digest(&a, "filebase64sha512", b64::<sha2::Sha512>)
        }),
        "fileexists" => fixed(&[s()], fileexists),
        "filemd5" => fixed(&[s()], |a| file_digest(&a, "filemd5", hex::<md5::Md5>)),
        "fileset" => fixed(&[s(), s()], fileset),
        "filesha1" => fixed(&[s()], |a| file_digest(&a, "filesha1", hex::<sha1::Sha1>)),
        "filesha256" => fixed(&[s()], |a| {
            file_digest(&a, "filesha256", hex::<sha2::Sha256>)
        }),
        "filesha512" => fixed(&[s()], |a| {
            file_digest(&a, "filesha512", hex::<sha2::Sha512>)
        }),
        "pathexpand" => fixed(&[s()], pathexpand),
        _ => return None,
    })
}

fn file(a: FuncArgs) -> R {
    files("file")?.read_text(&text(&a[0])?).map(Value::String)
}

fn filebase64(a: FuncArgs) -> R {
    let bytes = files("filebase64")?.read_bytes(&text(&a[0])?)?;
    super::encoding::base64_text(&bytes)
}

fn file_digest(a: &FuncArgs, name: &str, digest: fn(&[u8]) -> String) -> R {
    let bytes = files(name)?.read_bytes(&text(&a[0])?)?;
    Ok(Value::String(digest(&bytes)))
}

fn fileexists(a: FuncArgs) -> R {
    files("fileexists")?.exists(&text(&a[0])?).map(Value::Bool)
}

/// `fileset(path, pattern)`: the files below `path` whose path relative to it matches the
/// glob `pattern` (`*`, `?`, `[...]`, `{a,b}`, `**` across folders), sorted.
fn fileset(a: FuncArgs) -> R {
    let dir = text(&a[0])?;
    let pattern = text(&a[1])?;
    let glob = globset::GlobBuilder::new(&pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("failed to glob pattern {pattern:?}: {e}"))?
        .compile_matcher();
    let mut found: Vec<String> = files("fileset")?
        .list(&dir)?
        .into_iter()
        .filter(|p| glob.is_match(p))
        .collect();
    found.sort();
    found.dedup();
    Ok(Value::Array(found.into_iter().map(Value::String).collect()))
}

/// Go's `filepath.Clean` for `/`-separated paths.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn abspath(a: FuncArgs) -> R {
    let p = text(&a[0])?;
    if p.starts_with('/') {
        Ok(Value::String(clean(&p)))
    } else {
        Err(runtime(
            "abspath() of a relative path depends on where Powerpipe runs",
        ))
    }
}

/// Go's `filepath.Base`.
fn basename(a: FuncArgs) -> R {
    let p = text(&a[0])?;
    if p.is_empty() {
        return Ok(Value::from("."));
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(Value::from("/"));
    }
    Ok(Value::from(trimmed.rsplit('/').next().unwrap_or(trimmed)))
}

/// Go's `filepath.Dir`.
fn dirname(a: FuncArgs) -> R {
    let p = text(&a[0])?;
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    Ok(Value::String(clean(dir)))
}

fn pathexpand(a: FuncArgs) -> R {
    let p = text(&a[0])?;
    if p == "~" || p.starts_with("~/") {
        Err(runtime(
            "pathexpand() of ~ depends on the user Powerpipe runs as",
        ))
    } else {
        Ok(Value::String(p))
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    /// A mod of three files: `docs/x.md`, `docs/y.md`, `icons/a.svg` (not UTF-8).
    struct Fake;

    impl ModFiles for Fake {
        fn read_text(&self, path: &str) -> Result<String, String> {
            String::from_utf8(self.read_bytes(path)?).map_err(|_| "not UTF-8".to_string())
        }
        fn read_bytes(&self, path: &str) -> Result<Vec<u8>, String> {
            match path.trim_start_matches("./") {
                "docs/x.md" => Ok(b"hello world".to_vec()),
                "docs/y.md" => Ok(b"# Y\n".to_vec()),
                "icons/a.svg" => Ok(vec![0xff, 0x00, 0x01]),
                other => Err(format!("no file exists at {other:?}")),
            }
        }
        fn exists(&self, path: &str) -> Result<bool, String> {
            Ok(self.read_bytes(path).is_ok())
        }
        fn list(&self, dir: &str) -> Result<Vec<String>, String> {
            let all = ["docs/x.md", "docs/y.md", "icons/a.svg"];
            let prefix = match clean(dir).as_str() {
                "." => String::new(),
                d => format!("{d}/"),
            };
            Ok(all
                .iter()
                .filter_map(|p| p.strip_prefix(prefix.as_str()).map(str::to_string))
                .collect())
        }
    }

    fn with_fake(src: &str) -> String {
        with_file_reader(Arc::new(Fake), || ok(src))
    }

    #[test]
    fn files_are_read_through_the_installed_reader_only() {
        assert!(ok(r#"file("docs/x.md")"#).contains("not available"));
        assert_eq!(with_fake(r#"file("./docs/x.md")"#), "hello world");
        assert!(with_fake(r#"file("./docs/none.md")"#).contains("no file exists"));
        assert!(with_fake(r#"file("icons/a.svg")"#).contains("not UTF-8"));
        assert_eq!(with_fake(r#"filebase64("icons/a.svg")"#), "/wAB");
        assert_eq!(
            with_fake(r#"filemd5("docs/x.md")"#),
            "5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
        assert_eq!(
            with_fake(r#"filesha1("docs/x.md")"#),
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"
        );
        assert_eq!(
            with_fake(r#"filesha256("docs/x.md")"#),
            "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert!(with_fake(r#"filesha512("docs/x.md")"#).starts_with("309ecc489c12d6eb"));
        assert_eq!(
            with_fake(r#"filebase64sha256("docs/x.md")"#),
            "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="
        );
        assert!(with_fake(r#"filebase64sha512("docs/x.md")"#).starts_with("MJ7MSJwS1utM"));
        assert_eq!(with_fake(r#"fileexists("docs/x.md")"#), "true");
        assert_eq!(with_fake(r#"fileexists("docs/none.md")"#), "false");
        assert_eq!(
            with_fake(
                r#"format("%s,%s", "data:image/svg+xml;base64", filebase64("./icons/a.svg"))"#
            ),
            "data:image/svg+xml;base64,/wAB"
        );
        // The file is read after the reader is gone: not available again.
        assert!(ok(r#"filebase64("icons/a.svg")"#).contains("not available"));
    }

    #[test]
    fn fileset_matches_globs_below_a_folder() {
        assert_eq!(
            with_fake(r#"jsonencode(fileset(".", "**/*.md"))"#),
            r#"["docs/x.md","docs/y.md"]"#
        );
        assert_eq!(
            with_fake(r#"jsonencode(fileset("docs", "*.md"))"#),
            r#"["x.md","y.md"]"#
        );
        assert_eq!(with_fake(r#"jsonencode(fileset(".", "*.md"))"#), "[]");
        assert_eq!(
            with_fake(r#"jsonencode(fileset("./docs", "{x,z}.md"))"#),
            r#"["x.md"]"#
        );
        assert!(ok(r#"fileset(".", "*")"#).contains("not available"));
        assert!(with_fake(r#"fileset(".", "[")"#).contains("failed to glob"));
    }

    #[test]
    fn paths_follow_go() {
        assert_eq!(ok(r#"basename("foo/bar/baz.txt")"#), "baz.txt");
        assert_eq!(ok(r#"basename("foo/bar/")"#), "bar");
        assert_eq!(ok(r#"basename("")"#), ".");
        assert_eq!(ok(r#"basename("/")"#), "/");
        assert_eq!(ok(r#"dirname("foo/bar/baz.txt")"#), "foo/bar");
        assert_eq!(ok(r#"dirname("baz.txt")"#), ".");
        assert_eq!(ok(r#"dirname("/baz.txt")"#), "/");
        assert_eq!(ok(r#"dirname("a/../b/c")"#), "b");
        assert_eq!(ok(r#"abspath("/a/./b/../c")"#), "/a/c");
        runtime_only(r#"abspath("docs")"#);
        runtime_only(r#"pathexpand("~/.ssh/id_rsa")"#);
        assert_eq!(ok(r#"pathexpand("/etc/resolv.conf")"#), "/etc/resolv.conf");
    }

    /// A file's base64 is a third longer than the file: 13 MB of it would pass the limit.
    #[test]
    fn encoded_files_stay_within_the_limits() {
        let big: FileReader = Arc::new(|_: &str| Ok("x".repeat(13 << 20)));
        let b64 = with_file_reader(big.clone(), || eval(r#"filebase64("big.txt")"#));
        assert!(b64.is_err_and(|e| e.contains("MiB")));
        let text = with_file_reader(big, || eval(r#"length(file("big.txt"))"#));
        assert_eq!(text, Ok(hcl::Value::from(13u64 << 20)));
    }
}
