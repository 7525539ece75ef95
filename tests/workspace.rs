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
