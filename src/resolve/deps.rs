//! Dependency mods: each mod's `require { mod "github.com/org/repo" { version = "^1" } }`
//! entries matched to the installed copies the workspace indexed
//! (`.powerpipe/mods/github.com/org/repo@v1.2.3`, `...#branch`, `...@tag`).
//!
//! For a version constraint the highest installed version that satisfies it is chosen (what
//! `powerpipe mod install` installs); a `branch` or `tag` must match the folder exactly. A
//! require with no installed match is a diagnostic on its `mod "..."` line: "broken" when an
//! install that would match is there but cannot be used (a folder without a mod file, a
//! symbolic link), "not installed" otherwise.

use std::sync::Arc;

use hcl::edit::Span as _;

use super::eval::{Snippet, span_of};
use super::{FileDiagnostic, Sources};
use crate::index::{FileId, Index, ModId, is_mod_file};
use crate::syntax::{BlockRole, Diagnostic, Severity};

/// What a require entry asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Wanted {
    /// A semver constraint (`^1`, `>=0.20, <1`, `*`).
    Version(String),
    /// A git branch (`repo#main`).
    Branch(String),
    /// A git tag that is not a version (`repo@my-tag`).
    Tag(String),
    /// A local path (installed nowhere: the mod is read where it is).
    Path(String),
}

/// One `mod "..." {}` entry of a require block.
#[derive(Clone, Debug)]
pub struct Require {
    /// The mod's repository path as written (`github.com/turbot/steampipe-mod-aws-insights`).
    pub path: String,
    /// What version of it.
    pub wanted: Wanted,
    /// The installed mod chosen for it.
    pub resolved: Option<ModId>,
    /// The `args = { ... }` expression, if any, with where it is.
    pub args: Option<Args>,
    /// The file holding the entry.
    pub file: FileId,
    /// Where its `mod "..."` header is, for diagnostics.
    pub header: Diagnostic,
}

/// A require entry's `args`: evaluated in the requiring mod's scope.
#[derive(Clone, Debug)]
pub struct Args {
    /// The expression.
    pub expr: hcl::Expression,
    /// The file span of the expression.
    pub span: crate::syntax::Span,
}

/// An install under `.powerpipe/mods` (or `.steampipe/mods`) that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenInstall {
    /// Its folder (or link), workspace-relative: `.powerpipe/mods/github.com/org/repo@v1.2.3`,
    /// or a folder above such installs (`.powerpipe`) when that is what is wrong.
    pub root: String,
    /// What is wrong, said of the folder ("holds no mod.pp", "is a symbolic link").
    pub reason: String,
}

impl BrokenInstall {
    /// True when this install is (or holds) the one `path` / `wanted` asks for.
    fn covers(&self, path: &str, wanted: &Wanted) -> bool {
        let rest = self
            .root
            .strip_prefix(".powerpipe/mods/")
            .or_else(|| self.root.strip_prefix(".steampipe/mods/"));
        let Some(rest) = rest else {
            // The install base itself: every install is behind it.
            return true;
        };
        match split_install_folder(&self.root) {
            Some((repo, Some(at))) => choose(&[(ModId(0), repo, Some(at))], path, wanted).is_some(),
            // A folder above installs: those of the repositories below it.
            _ => path == rest || path.starts_with(&format!("{rest}/")),
        }
    }
}

/// Every mod's requires, by mod.
#[derive(Clone, Debug, Default)]
pub struct Dependencies {
    requires: Vec<Vec<Require>>,
    /// Problems found: unparseable require blocks, missing dependencies.
    pub diagnostics: Vec<FileDiagnostic>,
}

impl Dependencies {
    /// Reads every mod's `require` block and matches the entries to installed mods.
    pub fn compute(index: &Index, sources: &dyn Sources) -> Dependencies {
        let mut out = Dependencies {
            requires: vec![Vec::new(); index.mods().len()],
            diagnostics: Vec::new(),
        };
        let installed: Vec<(ModId, String, Option<String>)> = index
            .mods()
            .iter()
            .enumerate()
            .filter(|(_, m)| m.dependency)
            .filter_map(|(i, m)| {
                let (repo, at) = split_install_folder(&m.root)?;
                Some((ModId(i as u32), repo, at))
            })
            .collect();
        // Asked of the sources once, and only if a require matches no installed mod.
        let mut broken: Option<Vec<BrokenInstall>> = None;
        for (id, entry) in index.files() {
            let Some(module) = index.mod_of_file(id) else {
                continue;
            };
            let Some(info) = index.module(module) else {
                continue;
            };
            if !is_mod_file(&entry.path, &info.root) {
                continue;
            }
            let Some((bi, block)) = entry.index.blocks.iter().enumerate().find(|(_, b)| {
                b.parent.is_none()
                    && b.role == BlockRole::Resource
                    && entry.index.str(b.kind) == "mod"
            }) else {
                continue;
            };
            let _ = bi;
            let Some(src) = sources.read(&entry.path) else {
                continue;
            };
            let span = crate::syntax::Span {
                start: block.start.byte,
                end: block.end.byte,
            };
            let snippet = Snippet::new(&src, span);
            let body = match snippet.parse_body() {
                Ok(b) => b,
                Err(d) => {
                    // One message for one mistake: not when the scanner has already reported
                    // a syntax error in this block.
                    if !super::scanner_error_in(&entry.index, span.start, span.end) {
                        out.diagnostics.push(FileDiagnostic::new(&entry.path, d));
                    }
                    continue;
                }
            };
            let found = read_requires(&snippet, &body, id, &entry.path, &mut out.diagnostics);
            for mut r in found {
                r.resolved = choose(&installed, &r.path, &r.wanted);
                if r.resolved.is_none() && !matches!(r.wanted, Wanted::Path(_)) {
                    let unusable = broken
                        .get_or_insert_with(|| sources.broken_installs())
                        .iter()
                        .find(|b| b.covers(&r.path, &r.wanted));
                    let message = match unusable {
                        Some(b) => format!(
                            "dependency mod `{}` ({}) is installed but broken: `{}` {}; run `powerpipe mod install` again",
                            r.path,
                            describe(&r.wanted),
                            b.root,
                            b.reason
                        ),
                        None => format!(
                            "dependency mod `{}` ({}) is not installed: run `powerpipe mod install`",
                            r.path,
                            describe(&r.wanted)
                        ),
                    };
                    out.diagnostics.push(FileDiagnostic::new(
                        &entry.path,
                        Diagnostic {
                            message,
                            ..r.header.clone()
                        },
                    ));
                }
                if let Some(list) = out.requires.get_mut(module.0 as usize) {
                    list.push(r);
                }
            }
        }
        out
    }

    /// The requires of a mod, in source order.
    pub fn of(&self, module: ModId) -> &[Require] {
        self.requires
            .get(module.0 as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The mods in the order their values must be computed: the root mod, then every
    /// dependency after a mod that requires it (breadth first), then mods nobody requires.
    pub fn value_order(&self, mods: usize) -> Vec<ModId> {
        let mut order = Vec::with_capacity(mods);
        let mut seen = vec![false; mods];
        let mut queue = std::collections::VecDeque::new();
        if mods > 0 {
            queue.push_back(ModId(0));
            seen[0] = true;
        }
        loop {
            while let Some(m) = queue.pop_front() {
                order.push(m);
                for r in self.of(m) {
                    if let Some(d) = r.resolved
                        && let Some(s) = seen.get_mut(d.0 as usize)
                        && !*s
                    {
                        *s = true;
                        queue.push_back(d);
                    }
                }
            }
            match seen.iter().position(|s| !s) {
                Some(i) => {
                    seen[i] = true;
                    queue.push_back(ModId(i as u32));
                }
                None => break,
            }
        }
        order
    }

    /// The mods `module` requires directly, with the names their `mod` blocks give them
    /// (what `dep.query.x` spells), resolved to installed mods.
    pub fn direct(&self, module: ModId) -> impl Iterator<Item = ModId> + '_ {
        self.of(module).iter().filter_map(|r| r.resolved)
    }

    /// [`Dependencies::direct`] of each of `mods` mods, for [`Index::set_requires`].
    pub fn requires_by_mod(&self, mods: usize) -> Vec<Vec<ModId>> {
        (0..mods)
            .map(|m| self.direct(ModId(m as u32)).collect())
            .collect()
    }
}

/// `.powerpipe/mods/github.com/org/repo@v1.2.3` → (`github.com/org/repo`, `Some("v1.2.3")`);
/// `#branch` keeps its `#`.
pub fn split_install_folder(root: &str) -> Option<(String, Option<String>)> {
    let rest = root
        .strip_prefix(".powerpipe/mods/")
        .or_else(|| root.strip_prefix(".steampipe/mods/"))?;
    if let Some(i) = rest.rfind('#') {
        return Some((rest[..i].to_string(), Some(rest[i..].to_string())));
    }
    match rest.rfind('@') {
        Some(i) => Some((rest[..i].to_string(), Some(rest[i + 1..].to_string()))),
        None => Some((rest.to_string(), None)),
    }
}

fn describe(w: &Wanted) -> String {
    match w {
        Wanted::Version(v) => format!("version `{v}`"),
        Wanted::Branch(b) => format!("branch `{b}`"),
        Wanted::Tag(t) => format!("tag `{t}`"),
        Wanted::Path(p) => format!("path `{p}`"),
    }
}

/// Picks the installed mod for a require entry.
fn choose(
    installed: &[(ModId, String, Option<String>)],
    path: &str,
    wanted: &Wanted,
) -> Option<ModId> {
    let same_repo = installed.iter().filter(|(_, repo, _)| repo == path);
    match wanted {
        Wanted::Version(c) => {
            let reqs = parse_constraint(c)?;
            same_repo
                .filter_map(|(id, _, at)| {
                    let v = parse_version(at.as_deref()?)?;
                    let ok = reqs.iter().any(|req| req.matches(&v))
                        && (v.pre.is_empty() || c.contains('-'));
                    ok.then_some((v, *id))
                })
                .max_by(|a, b| a.0.cmp(&b.0))
                .map(|(_, id)| id)
        }
        Wanted::Branch(b) => same_repo
            .filter(|(_, _, at)| at.as_deref() == Some(&format!("#{b}")))
            .map(|(id, _, _)| *id)
            .next(),
        Wanted::Tag(t) => same_repo
            .filter(|(_, _, at)| at.as_deref() == Some(t.as_str()))
            .map(|(id, _, _)| *id)
            .next(),
        Wanted::Path(_) => None,
    }
}

fn parse_version(s: &str) -> Option<semver::Version> {
    semver::Version::parse(s.strip_prefix('v').unwrap_or(s)).ok()
}

/// A Masterminds-style constraint (`^1`, `~1.2`, `>=0.20, <1`, `1.x`, `a || b`, `*`,
/// `latest`) as alternatives of semver requirements; `None` if it is not a constraint
/// (Powerpipe then takes it as a tag).
pub fn parse_constraint(c: &str) -> Option<Vec<semver::VersionReq>> {
    let c = c.trim();
    if c.is_empty() || c == "latest" || c == "*" {
        return Some(vec![semver::VersionReq::STAR]);
    }
    c.split("||")
        .map(|alt| {
            let alt = alt.trim().replace(['v', 'V'], "");
            // Masterminds separates AND-ed terms by commas or spaces.
            let mut terms: Vec<String> = Vec::new();
            for part in alt.split(',').flat_map(|p| p.split_whitespace()) {
                match terms.last_mut() {
                    // `>= 1.2` written with a space: the number belongs to the operator.
                    Some(last) if last.chars().all(|ch| "<>=~^!".contains(ch)) => {
                        last.push_str(part)
                    }
                    _ => terms.push(part.to_string()),
                }
            }
            semver::VersionReq::parse(&terms.join(", ")).ok()
        })
        .collect()
}

fn read_requires(
    snippet: &Snippet<'_>,
    body: &hcl::edit::structure::Body,
    file: FileId,
    path: &str,
    diagnostics: &mut Vec<FileDiagnostic>,
) -> Vec<Require> {
    let mut out = Vec::new();
    let Some(mod_block) = body.blocks().next() else {
        return out;
    };
    for require in mod_block
        .body
        .blocks()
        .filter(|b| matches!(b.ident.as_str(), "require" | "requires"))
    {
        for entry in require.body.blocks().filter(|b| b.ident.as_str() == "mod") {
            let Some(label) = entry.labels.first() else {
                continue;
            };
            let header_end = span_of(label).end;
            let header = snippet.diagnostic(
                Severity::Error,
                span_of(entry).start..header_end,
                String::new(),
            );
            let text_attr = |name: &str| -> Option<String> {
                let a = entry.body.get_attribute(name)?;
                match hcl::Expression::from(a.value.clone()) {
                    hcl::Expression::String(s) => Some(s),
                    _ => None,
                }
            };
            let wanted = if let Some(b) = text_attr("branch") {
                Wanted::Branch(b)
            } else if let Some(t) = text_attr("tag") {
                Wanted::Tag(t)
            } else if let Some(p) = text_attr("path") {
                Wanted::Path(p)
            } else {
                let v = text_attr("version").unwrap_or_default();
                if parse_constraint(&v).is_some() {
                    Wanted::Version(v)
                } else {
                    Wanted::Tag(v)
                }
            };
            let args = entry.body.get_attribute("args").map(|a| Args {
                expr: hcl::Expression::from(a.value.clone()),
                span: snippet.file_span(a.value.span().unwrap_or(0..0)),
            });
            let repo = label_text(label);
            if repo.is_empty() {
                diagnostics.push(FileDiagnostic::new(
                    path,
                    Diagnostic {
                        message: "a required mod needs its repository path as the label"
                            .to_string(),
                        ..header.clone()
                    },
                ));
                continue;
            }
            out.push(Require {
                path: repo,
                wanted,
                resolved: None,
                args,
                file,
                header,
            });
        }
    }
    out
}

fn label_text(label: &hcl::edit::structure::BlockLabel) -> String {
    match label {
        hcl::edit::structure::BlockLabel::String(s) => s.value().to_string(),
        hcl::edit::structure::BlockLabel::Ident(i) => i.value().to_string(),
    }
}

/// Shared handle, for the resolver.
pub type SharedDependencies = Arc<Dependencies>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_folders_split_into_repo_and_version() {
        assert_eq!(
            split_install_folder(".powerpipe/mods/github.com/turbot/x@v1.2.0"),
            Some(("github.com/turbot/x".into(), Some("v1.2.0".into())))
        );
        assert_eq!(
            split_install_folder(".steampipe/mods/github.com/o/r#main"),
            Some(("github.com/o/r".into(), Some("#main".into())))
        );
        assert_eq!(split_install_folder("sub/mod"), None);
    }

    #[test]
    fn constraints_pick_the_highest_match() {
        let installed = vec![
            (ModId(1), "r".to_string(), Some("v1.2.0".to_string())),
            (ModId(2), "r".to_string(), Some("v1.10.1".to_string())),
            (ModId(3), "r".to_string(), Some("v2.0.0".to_string())),
            (ModId(4), "r".to_string(), Some("#main".to_string())),
        ];
        let v = |c: &str| choose(&installed, "r", &Wanted::Version(c.into()));
        assert_eq!(v("^1"), Some(ModId(2)));
        assert_eq!(v("*"), Some(ModId(3)));
        assert_eq!(v(">=1.2, <1.3"), Some(ModId(1)));
        assert_eq!(v(">= 1.2 < 1.3"), Some(ModId(1)));
        assert_eq!(v("^3 || ~1.2"), Some(ModId(1)));
        assert_eq!(v("^3"), None);
        assert_eq!(
            choose(&installed, "r", &Wanted::Branch("main".into())),
            Some(ModId(4))
        );
        assert_eq!(
            choose(&installed, "other", &Wanted::Version("*".into())),
            None
        );
        assert!(parse_constraint("my-tag").is_none());
    }

    #[test]
    fn a_broken_install_covers_the_requires_it_would_have_served() {
        let b = |root: &str| BrokenInstall {
            root: root.to_string(),
            reason: String::new(),
        };
        let v = |c: &str| Wanted::Version(c.to_string());
        let folder = b(".powerpipe/mods/github.com/o/r@v1.2.0");
        assert!(folder.covers("github.com/o/r", &v("^1")));
        assert!(!folder.covers("github.com/o/r", &v("^2")));
        assert!(!folder.covers("github.com/o/other", &v("^1")));
        let org = b(".powerpipe/mods/github.com/o");
        assert!(org.covers("github.com/o/r", &v("^1")));
        assert!(!org.covers("github.com/other/r", &v("^1")));
        assert!(b(".powerpipe").covers("github.com/o/r", &v("^1")));
        let branch = b(".powerpipe/mods/github.com/o/r#main");
        assert!(branch.covers("github.com/o/r", &Wanted::Branch("main".into())));
        assert!(!branch.covers("github.com/o/r", &Wanted::Branch("dev".into())));
    }
}
