//! Discovery: walking up to the mod root, `.powerpipeignore`, hidden folders and installed
//! dependency mods.

use std::path::Path;

use modlens::workspace;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

#[test]
fn walks_up_to_the_mod_file() {
    let root = fixture("dependency_mod");
    let inner = root.join(".powerpipe");
    let from_inside = workspace::find_root(&inner).expect("root found");
    assert_eq!(from_inside, root.canonicalize().expect("fixture path"));
    let from_file = workspace::find_root(&root.join("mod.pp")).expect("root found");
    assert_eq!(from_file, from_inside);
}

#[test]
fn ignored_and_hidden_files_are_not_indexed() {
    let ws = workspace::discover(&fixture("powerpipeignore")).expect("discovers");
    let rels: Vec<&str> = ws.files.iter().map(|f| f.rel.as_str()).collect();
    assert!(
        rels.iter()
            .all(|r| !r.starts_with('.') && !r.contains("/.")),
        "{rels:?}"
    );
    let (index, _) = workspace::load(&ws);
    let names: Vec<String> = index
        .resources()
        .filter_map(|r| index.qualified_name(r))
        .collect();
    assert!(!names.is_empty());
    for n in &names {
        assert!(
            !n.contains("ignored") && !n.contains("hidden") && !n.contains("steampipe_dir"),
            "{n} should have been ignored; indexed: {names:?}"
        );
    }
}

#[test]
fn dependency_mods_are_their_own_mods() {
    let ws = workspace::discover(&fixture("dependency_mod")).expect("discovers");
    assert_eq!(ws.mods.len(), 2, "{:?}", ws.mods);
    assert!(ws.mods[1].dependency);
    assert!(
        ws.mods[1]
            .root
            .starts_with(".powerpipe/mods/github.com/turbot/")
    );
    let (index, _) = workspace::load(&ws);
    assert_eq!(index.mods()[1].name, "aws_insights");
    // A cross-mod reference resolves into the dependency.
    let mut resolved = 0;
    for (file, entry) in index.files() {
        for r in &entry.index.refs {
            if r.module.is_some() && !index.resolve_ref(file, r).is_empty() {
                resolved += 1;
            }
        }
    }
    assert!(resolved > 0, "no cross-mod reference resolved");
}

#[test]
fn a_missing_folder_is_an_error_not_a_panic() {
    assert!(workspace::discover(Path::new("/definitely/not/here")).is_err());
}

#[test]
fn a_reference_prefers_the_mod_level_resource_over_nested_namesakes() {
    use modlens::index::{Index, ScannedFile};
    use modlens::syntax::scan;
    let mut index = Index::new();
    let m = index.add_mod(String::new(), false);
    // The nested `category "iam_group"` comes first in path order.
    index.add_files([
        ScannedFile::new(
            "a_detail.pp".to_string(),
            m,
            scan(b"dashboard \"d\" {\n  flow {\n    category \"iam_group\" {}\n  }\n}\n"),
        ),
        ScannedFile::new(
            "b_categories.pp".to_string(),
            m,
            scan(b"category \"iam_group\" {\n  title = \"IAM Group\"\n}\n"),
        ),
    ]);
    let found = index.lookup(m, "category", "iam_group");
    assert_eq!(found.len(), 2);
    let first = index.file(found[0].file).map(|f| f.path.clone());
    assert_eq!(first.as_deref(), Some("b_categories.pp"));
    assert!(
        index.diagnostics().is_empty(),
        "nested namesakes are not duplicates"
    );
}

#[test]
fn a_benchmark_of_detections_is_told_apart_by_its_type() {
    use modlens::index::BenchmarkType;
    let ws = workspace::discover(&fixture("invalid_benchmark_children")).expect("discovers");
    let (index, _) = workspace::load(&ws);
    let of = |q: &str| {
        let id = index
            .lookup_qualified(q)
            .unwrap_or_else(|| panic!("{q} not found"));
        index.benchmark_type(id)
    };
    assert_eq!(of("benchmark.controls_only"), Some(BenchmarkType::Control));
    assert_eq!(of("benchmark.listed_twice"), Some(BenchmarkType::Control));
    assert_eq!(
        of("benchmark.detections_only"),
        Some(BenchmarkType::Detection)
    );
    assert_eq!(
        of("detection_benchmark.legacy"),
        Some(BenchmarkType::Detection)
    );
    assert_eq!(of("control.fine"), None);
    assert_eq!(of("detection.wrong_tree"), None);
    let kinds = |q: &str| {
        let id = index
            .lookup_qualified(q)
            .unwrap_or_else(|| panic!("{q} not found"));
        index.benchmark_children_kinds(id).map(|(_, k)| k.to_vec())
    };
    assert_eq!(
        kinds("benchmark.controls_only"),
        Some(vec!["benchmark", "control"])
    );
    assert_eq!(
        kinds("detection_benchmark.legacy"),
        Some(vec!["detection_benchmark", "detection"])
    );
    assert!(kinds("benchmark.detections_only").is_some_and(|k| k.contains(&"detection")));
    // `type = local.x`: not known without evaluating, so not judged (shown as the default).
    assert_eq!(
        of("benchmark.type_from_a_local"),
        Some(BenchmarkType::Control)
    );
    assert_eq!(kinds("benchmark.type_from_a_local"), None);
    assert_eq!(kinds("control.fine"), None);
}

#[test]
fn a_nested_input_is_reached_through_its_dashboard() {
    let ws = workspace::discover(&fixture("duplicate_names")).expect("discovers");
    let (index, _) = workspace::load(&ws);
    let file_of = |q: &str| {
        index
            .lookup_qualified(q)
            .and_then(|id| index.file(id.file))
            .map(|f| f.path.clone())
    };
    assert_eq!(file_of("dashboard.one.input.x").as_deref(), Some("a.pp"));
    assert_eq!(file_of("dashboard.two.input.x").as_deref(), Some("b.pp"));
    assert_eq!(
        file_of("duplicate_names.dashboard.two.input.x").as_deref(),
        Some("b.pp")
    );
    assert_eq!(file_of("dashboard.missing.input.x"), None);
    assert_eq!(file_of("dashboard.one.input.missing"), None);
    // The plain name still finds one of them (there is no mod-level `input.x` here).
    assert!(file_of("input.x").is_some());
}

/// A temporary folder holding `mod/` (the workspace root, canonical) and `outside/`.
#[cfg(unix)]
fn mod_and_outside() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let base = std::fs::canonicalize(tmp.path()).expect("canonical");
    let root = base.join("mod");
    let outside = base.join("outside");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::create_dir_all(&outside).expect("mkdir");
    (tmp, root, outside)
}

#[test]
fn a_file_deleted_during_the_walk_is_skipped_not_an_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    std::fs::write(root.join("mod.pp"), "mod \"m\" {}\n").expect("write");
    std::fs::write(
        root.join("a.pp"),
        "query \"a\" {\n  sql = \"select 1\"\n}\n",
    )
    .expect("write");
    std::fs::write(
        root.join("b.pp"),
        "query \"b\" {\n  sql = \"select 2\"\n}\n",
    )
    .expect("write");
    let ws = workspace::discover(root).expect("discovers");
    assert_eq!(ws.files.len(), 3);
    // Gone between the walk and the read.
    std::fs::remove_file(root.join("b.pp")).expect("remove");
    let (index, stats) = workspace::load(&ws);
    assert_eq!(stats.files, 2, "a vanished file is not counted as scanned");
    assert!(index.file_by_path("b.pp").is_none(), "nor indexed");
    assert!(
        index.diagnostics().is_empty(),
        "nor an error: {:?}",
        index.diagnostics()
    );
    assert!(index.lookup_qualified("query.a").is_some());
}

#[cfg(unix)]
#[test]
fn links_are_not_files_of_the_workspace_not_even_an_install_folder() {
    use std::os::unix::fs::symlink;
    let (_tmp, root, outside) = mod_and_outside();
    std::fs::write(root.join("mod.pp"), "mod \"m\" {}\n").expect("write");
    std::fs::write(root.join("real.pp"), "query \"real\" {}\n").expect("write");
    // A mod outside, and links to it and to its files from everywhere in the workspace.
    std::fs::write(outside.join("mod.pp"), "mod \"outside\" {}\n").expect("write");
    std::fs::write(outside.join("secret.pp"), "query \"secret\" {}\n").expect("write");
    symlink(outside.join("secret.pp"), root.join("file_link.pp")).expect("link");
    symlink(root.join("real.pp"), root.join("inside_link.pp")).expect("link");
    symlink(&outside, root.join("dir_link")).expect("link");
    std::fs::create_dir_all(root.join(".powerpipe/mods/github.com/o")).expect("mkdir");
    symlink(
        &outside,
        root.join(".powerpipe/mods/github.com/o/linked@v1.0.0"),
    )
    .expect("link");
    let ws = workspace::discover(&root).expect("discovers");
    let rels: Vec<&str> = ws.files.iter().map(|f| f.rel.as_str()).collect();
    assert_eq!(rels, ["mod.pp", "real.pp"]);
    assert_eq!(ws.mods.len(), 1, "{:?}", ws.mods);
    // `.powerpipe` itself a link: nothing behind it is read.
    std::fs::remove_dir_all(root.join(".powerpipe")).expect("remove");
    let elsewhere = outside.join("installed");
    std::fs::create_dir_all(elsewhere.join("mods/github.com/o/r@v1.0.0")).expect("mkdir");
    std::fs::write(
        elsewhere.join("mods/github.com/o/r@v1.0.0/mod.pp"),
        "mod \"r\" {}\n",
    )
    .expect("write");
    symlink(&elsewhere, root.join(".powerpipe")).expect("link");
    let ws = workspace::discover(&root).expect("discovers");
    assert_eq!(ws.mods.len(), 1, "{:?}", ws.mods);
    assert!(ws.files.iter().all(|f| !f.rel.starts_with(".powerpipe")));
    let broken = workspace::broken_installs(&root);
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert_eq!(broken[0].root, ".powerpipe");
    // What the resolver reads goes by the same rule.
    let sources = workspace::DiskSources::new(root.clone(), 1 << 20);
    use modlens::resolve::Sources;
    assert!(sources.read("real.pp").is_some());
    assert!(sources.read("file_link.pp").is_none());
    assert!(sources.read("dir_link/secret.pp").is_none());
    assert!(sources.read("../outside/secret.pp").is_none());
}

#[cfg(unix)]
#[test]
fn file_does_not_tell_whether_a_path_outside_the_mod_exists() {
    use std::os::unix::fs::symlink;
    let (_tmp, root, outside) = mod_and_outside();
    std::fs::write(outside.join("exists.md"), "secret").expect("write");
    std::fs::create_dir_all(root.join("docs")).expect("mkdir");
    std::fs::write(root.join("docs/inside.md"), "inside").expect("write");
    symlink(&outside, root.join("out")).expect("link");
    symlink("docs/inside.md", root.join("to_inside.md")).expect("link");
    symlink(outside.join("exists.md"), root.join("to_existing.md")).expect("link");
    symlink(outside.join("missing.md"), root.join("to_missing.md")).expect("link");
    let read = |p: &str| workspace::read_in_mod(&root, "", p);
    // A link that stays inside is followed.
    assert_eq!(read("to_inside.md").as_deref(), Ok("inside"));
    assert_eq!(read("./docs/../docs/inside.md").as_deref(), Ok("inside"));
    // Whether the target outside exists or not, the answer is the same (but for the name).
    for (a, b) in [
        ("out/exists.md", "out/missing.md"),
        ("to_existing.md", "to_missing.md"),
        ("../outside/exists.md", "../outside/missing.md"),
        ("out/../outside/exists.md", "out/../outside/missing.md"),
    ] {
        let (ra, rb) = (read(a), read(b));
        assert!(ra.is_err(), "{a}: {ra:?}");
        assert_eq!(
            ra.map_err(|e| e.replace(a, "P")),
            rb.map_err(|e| e.replace(b, "P")),
            "{a} vs {b}"
        );
    }
    // A missing file inside the mod still says so.
    assert!(
        read("docs/missing.md").is_err_and(|e| e.contains("No such file")),
        "{:?}",
        read("docs/missing.md")
    );
    // Every file function goes by the same rule: the bytes, `fileexists` and `fileset`.
    use modlens::resolve::Sources;
    let files = workspace::DiskSources::new(root.clone(), 1 << 20).mod_files("");
    assert_eq!(
        files.read_bytes("to_inside.md").as_deref(),
        Ok(&b"inside"[..])
    );
    assert_eq!(files.exists("docs/inside.md"), Ok(true));
    assert_eq!(files.exists("docs/missing.md"), Ok(false));
    for (a, b) in [
        ("out/exists.md", "out/missing.md"),
        ("to_existing.md", "to_missing.md"),
        ("../outside/exists.md", "../outside/missing.md"),
    ] {
        let same = |ra: Result<String, String>, rb: Result<String, String>| {
            assert!(ra.is_err(), "{a}: {ra:?}");
            assert_eq!(
                ra.map_err(|e| e.replace(a, "P")),
                rb.map_err(|e| e.replace(b, "P")),
                "{a} vs {b}"
            );
        };
        let text = |r: Result<Vec<u8>, String>| r.map(|b| String::from_utf8_lossy(&b).into_owned());
        same(text(files.read_bytes(a)), text(files.read_bytes(b)));
        let exists = |r: Result<bool, String>| r.map(|b| b.to_string());
        same(exists(files.exists(a)), exists(files.exists(b)));
    }
    let listed = files.list(".").expect("lists the mod folder");
    assert!(listed.contains(&"docs/inside.md".to_string()), "{listed:?}");
    assert!(listed.contains(&"to_inside.md".to_string()), "{listed:?}");
    assert!(
        !listed
            .iter()
            .any(|f| f.contains("exists") || f.contains("missing")),
        "nothing outside, through a link or not: {listed:?}"
    );
    let listed_out = files.list("out");
    assert!(listed_out.is_err(), "{listed_out:?}");
}

#[cfg(unix)]
#[test]
fn a_broken_installed_dependency_is_reported_as_broken_not_missing() {
    use modlens::resolve::{Model, Sources, ValueInputs};
    use std::os::unix::fs::symlink;
    use std::sync::Arc;
    let (_tmp, root, outside) = mod_and_outside();
    std::fs::write(
        root.join("mod.pp"),
        "mod \"m\" {\n  require {\n    mod \"github.com/o/no_mod_file\" {\n      version = \"^1\"\n    }\n    mod \"github.com/o/linked\" {\n      version = \"^1\"\n    }\n    mod \"github.com/o/absent\" {\n      version = \"^1\"\n    }\n  }\n}\n",
    )
    .expect("write");
    let mods = root.join(".powerpipe/mods/github.com/o");
    // An interrupted install: the folder is there, its mod file is not.
    std::fs::create_dir_all(mods.join("no_mod_file@v1.0.0")).expect("mkdir");
    std::fs::write(mods.join("no_mod_file@v1.0.0/q.pp"), "query \"q\" {}\n").expect("write");
    // A link (to a real mod outside).
    std::fs::write(outside.join("mod.pp"), "mod \"linked\" {}\n").expect("write");
    symlink(&outside, mods.join("linked@v1.2.0")).expect("link");
    let ws = workspace::discover(&root).expect("discovers");
    let (index, _) = workspace::load(&ws);
    let sources: Arc<dyn Sources> = Arc::new(workspace::DiskSources::new(root.clone(), 1 << 20));
    let model = Model::new(index, &sources, &ValueInputs::default());
    let messages: Vec<String> = model
        .diagnostics()
        .into_iter()
        .map(|d| d.diagnostic.message)
        .collect();
    let about = |repo: &str| {
        messages
            .iter()
            .find(|m| m.contains(&format!("`github.com/o/{repo}`")))
            .cloned()
            .unwrap_or_else(|| panic!("no diagnostic about {repo}: {messages:?}"))
    };
    let m = about("no_mod_file");
    assert!(m.contains("broken") && m.contains("holds no mod.pp"), "{m}");
    assert!(!m.contains("not installed"), "{m}");
    let m = about("linked");
    assert!(m.contains("broken") && m.contains("symbolic link"), "{m}");
    let m = about("absent");
    assert!(m.contains("not installed"), "{m}");
}
