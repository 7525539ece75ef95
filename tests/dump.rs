//! The `--index-only` dump of every fixture mod, as insta snapshots (review changes with
//! `cargo insta review`). The dump is the public format: a change here is a change users see.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use modlens::cache::Limits;
use modlens::index::dump;
use modlens::resolve::{Model, Resolver, ValueInputs};
use modlens::workspace::{self, DiskSources, Workspace};

/// The dump as `modlens index` prints it: fields evaluated (no environment, no options).
fn evaluated_dump(ws: &Workspace, index: modlens::index::Index) -> dump::Dump {
    let sources: Arc<dyn modlens::resolve::Sources> =
        Arc::new(DiskSources::new(ws.root.clone(), 1 << 20));
    let resolver = Resolver::new(sources.clone(), Limits::default());
    let model = Model::new(index, &sources, &ValueInputs::default());
    dump::dump(&model.index, &|rel| ws.read(rel), &|id, key| {
        resolver.dump_field(&model, id, key)
    })
}

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures folder is part of the repository")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn dump_of_every_fixture() {
    let dirs = fixtures();
    assert!(dirs.len() >= 20, "fixtures missing: {dirs:?}");
    for dir in dirs {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ws = workspace::discover(&dir).expect("fixture discovers");
        assert_eq!(ws.root, dir.canonicalize().expect("fixture path"), "{name}");
        let (index, _) = workspace::load(&ws);
        let dump = evaluated_dump(&ws, index);
        insta::assert_json_snapshot!(name, dump);
    }
}

#[test]
fn valid_fixtures_have_no_diagnostics_and_broken_ones_do() {
    for dir in fixtures() {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let ws = workspace::discover(&dir).expect("fixture discovers");
        let (index, _) = workspace::load(&ws);
        let diagnostics = index.diagnostics();
        let expect_errors = name.starts_with("broken_") || name == "duplicate_names";
        assert_eq!(
            !diagnostics.is_empty(),
            expect_errors,
            "{name}: {:?}",
            diagnostics
                .iter()
                .map(|(f, d)| format!(
                    "{}:{}:{}: {}",
                    index.file(*f).map(|f| f.path.as_str()).unwrap_or("?"),
                    d.start.line,
                    d.start.column,
                    d.message
                ))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn dump_is_the_same_whatever_the_thread_count() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/anonymous_dashboard_blocks");
    let ws = workspace::discover(&dir).expect("fixture discovers");
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        pool.install(|| {
            let (index, _) = workspace::load(&ws);
            serde_json::to_string(&evaluated_dump(&ws, index)).expect("dump serialises")
        })
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(8));
}

/// The `--index-only` dump of `null_attributes` (the evaluated one is in
/// `dump_of_every_fixture`): an attribute set to `null` is not set, so it is absent here as
/// it is there, never the text `"null"` (a based block shows what it sets itself).
#[test]
fn index_only_dump_of_null_attributes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/null_attributes");
    let ws = workspace::discover(&dir).expect("fixture discovers");
    let (index, _) = workspace::load(&ws);
    let only = dump::dump(&index, &|rel| ws.read(rel), &dump::literal_fields);
    insta::assert_json_snapshot!("null_attributes_index_only", only);
}

/// `modlens index DIR` (the binary, which writes a field it finds literal in the index
/// without the resolver, and evaluates the rest in parallel) prints what the resolver gives
/// for every field, on every fixture whose values come from the mod alone (no `.ppvars`
/// file, no environment).
#[test]
fn the_binarys_evaluated_dump_is_the_resolvers_on_every_fixture() {
    let mut compared = 0;
    for dir in fixtures() {
        let has_var_files = has_file_with_extension(&dir, &["ppvars", "spvars"]);
        if has_var_files {
            continue;
        }
        let ws = workspace::discover(&dir).expect("fixture discovers");
        let (index, _) = workspace::load(&ws);
        let expected =
            serde_json::to_value(evaluated_dump(&ws, index)).expect("the dump serializes");
        for threads in ["1", "2"] {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_modlens"))
                .env_clear()
                .args(["--threads", threads, "index"])
                .arg(&dir)
                .output()
                .expect("modlens runs");
            let printed: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("JSON on stdout");
            assert_eq!(
                printed,
                expected,
                "{} with {threads} threads",
                dir.display()
            );
        }
        compared += 1;
    }
    assert!(compared >= 30, "only {compared} fixtures compared");
}

/// True when a file under `dir` ends with one of `extensions`.
fn has_file_with_extension(dir: &Path, extensions: &[&str]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(|e| e.ok()).any(|e| {
        let path = e.path();
        if path.is_dir() {
            has_file_with_extension(&path, extensions)
        } else {
            path.extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| extensions.contains(&x))
        }
    })
}
