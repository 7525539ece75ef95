//! Replacing one file's scan in the index gives the same index as a fresh load of the
//! edited workspace: the dump, the diagnostics and every resource's referrers.

use std::path::{Path, PathBuf};

use modlens::index::{Index, dump};
use modlens::{syntax, workspace};

/// A copy of a fixture in a fresh temporary folder, removed on drop.
struct TempMod(PathBuf);

impl TempMod {
    fn copy_of(fixture: &str) -> Self {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "modlens-incremental-{}-{n}-{fixture}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures")
                .join(fixture),
            &dir,
        );
        TempMod(dir)
    }
}

impl Drop for TempMod {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create temp folder");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

fn load(dir: &Path) -> Index {
    let ws = workspace::discover(dir).expect("discovers");
    workspace::load(&ws).0
}

/// Everything observable about an index, keyed by names and paths (not ids). `root` is
/// where the dump reads the text the index keeps as spans.
fn observe(index: &Index, root: &Path) -> String {
    let read = |rel: &str| std::fs::read(root.join(rel)).ok();
    let mut out = serde_json::to_string_pretty(&dump::dump(index, &read, &dump::literal_fields))
        .expect("dump serialises");
    let mut rows: Vec<String> = index
        .resources()
        .map(|id| {
            let mut refs: Vec<String> = index
                .referrers(id)
                .into_iter()
                .filter_map(|r| {
                    let f = index.file(r.file)?;
                    let reference = index.reference(r)?;
                    Some(format!("{}@{}", f.path, reference.span.start))
                })
                .collect();
            refs.sort();
            format!(
                "{} <- {}",
                index.qualified_name(id).unwrap_or_default(),
                refs.join(" ")
            )
        })
        .collect();
    rows.sort();
    out.push_str(&rows.join("\n"));
    out
}

/// Edits `rel` in the copy with `edit`, updates `index` from that one file, and checks it
/// against a fresh load.
fn edit_and_compare(m: &TempMod, index: &mut Index, rel: &str, edit: impl Fn(&str) -> String) {
    let path = m.0.join(rel);
    let old = std::fs::read_to_string(&path).expect("fixture file is text");
    let new = edit(&old);
    assert_ne!(old, new, "the edit must change {rel}");
    std::fs::write(&path, &new).expect("write edited file");
    let id = index.file_by_path(rel).expect("file is indexed");
    index.replace_file(id, syntax::scan(new.as_bytes()));
    let fresh = load(&m.0);
    assert_eq!(
        observe(index, &m.0),
        observe(&fresh, &m.0),
        "after editing {rel}"
    );
}

#[test]
fn editing_one_file_equals_a_fresh_index() {
    let m = TempMod::copy_of("basic_mod");
    let mut index = load(&m.0);
    let before = observe(&index, &m.0);
    let controls = "s3.pp".to_string();
    assert!(
        std::fs::read_to_string(m.0.join(&controls))
            .expect("basic_mod has s3.pp")
            .contains("control \""),
        "s3.pp holds controls"
    );

    // Rename every control of the file: children lists elsewhere now dangle.
    edit_and_compare(&m, &mut index, &controls, |s| {
        s.replace("control \"", "control \"renamed_")
    });
    // Break the file, then fix it again.
    edit_and_compare(&m, &mut index, &controls, |s| {
        format!("{s}\ncontrol \"broken\" {{\n  title = \"x\n")
    });
    edit_and_compare(&m, &mut index, &controls, |s| {
        s.replace("control \"renamed_", "control \"")
            .replace("\ncontrol \"broken\" {\n  title = \"x\n", "")
    });
    assert_eq!(
        observe(&index, &m.0),
        before,
        "undoing the edits restores the index"
    );
}

#[test]
fn renaming_the_mod_renames_everything() {
    let m = TempMod::copy_of("dependency_mod");
    let mut index = load(&m.0);
    edit_and_compare(&m, &mut index, "mod.pp", |s| {
        s.replacen("mod \"", "mod \"renamed_", 1)
    });
    // The dependency's own name is what cross-mod references use.
    let dep_mod = index
        .files()
        .map(|(_, f)| f.path.clone())
        .find(|p| p.starts_with(".powerpipe/") && p.ends_with("/mod.pp"))
        .expect("dependency mod file");
    edit_and_compare(&m, &mut index, &dep_mod, |s| {
        s.replacen("mod \"aws_insights\"", "mod \"insights_renamed\"", 1)
    });
}

#[test]
fn removing_and_adding_files() {
    let m = TempMod::copy_of("benchmark_hierarchy");
    let mut index = load(&m.0);
    let victim = index
        .files()
        .map(|(id, f)| (id, f.path.clone()))
        .find(|(_, p)| p != "mod.pp")
        .expect("a file besides mod.pp");
    std::fs::remove_file(m.0.join(&victim.1)).expect("remove file");
    index.remove_file(victim.0);
    assert_eq!(observe(&index, &m.0), observe(&load(&m.0), &m.0));

    let text = "control \"added\" {\n  title = \"Added\"\n}\n";
    std::fs::write(m.0.join("added.pp"), text).expect("write new file");
    let module = index.mod_of_file(index.files().next().map(|(id, _)| id).expect("a file"));
    index.add_file(
        "added.pp".to_string(),
        module.expect("file has a mod"),
        syntax::scan(text.as_bytes()),
    );
    assert_eq!(observe(&index, &m.0), observe(&load(&m.0), &m.0));
}
