//! The command line at scale: the index-only dump (from the index alone, streamed), the
//! evaluated dump and `check` in parallel with the same output whatever `--threads`,
//! `check --output github`, `dashboards --output human` and the completion scripts.

mod common;

use std::path::PathBuf;
use std::process::Output;

use common::{modlens, text};
use modlens::index::dump;
use modlens::syntax::AttrKey;

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON on stdout ({e}): {}", text(&out.stderr)))
}

/// Every fixture folder (`common::fixtures`), checked to be there.
fn fixtures() -> Vec<PathBuf> {
    let dirs = common::fixtures();
    assert!(dirs.len() >= 20, "fixtures missing: {dirs:?}");
    dirs
}

/// Whether the resource of the dump entry `r` has a `base` (it inherits what it does not
/// set, which only evaluation knows).
fn has_base(index: &modlens::index::Index, r: &serde_json::Value) -> bool {
    let start = r["span"]["start"]["byte"].as_u64().unwrap_or(u64::MAX) as u32;
    index.files().any(|(file, entry)| {
        entry.path == r["file"].as_str().unwrap_or("")
            && index.resources_in_file(file).any(|id| {
                entry.index.block(id.block).is_some_and(|b| {
                    b.start.byte == start && entry.index.attr(b, AttrKey::Base).is_some()
                })
            })
    })
}

/// Wherever the index-only dump shows a field as a literal (no `*_expr`), it is what the
/// evaluated dump shows, on every fixture; everything else (names, children, parents,
/// spans, diagnostics, mods) is the same. Blocks with a `base` are the exception the README
/// states: the index-only dump shows what such a block sets itself.
#[test]
fn index_only_literals_are_the_evaluated_dumps_fields() {
    let mut literals = 0;
    let mut exprs = 0;
    for dir in fixtures() {
        let d = dir.to_string_lossy().into_owned();
        let only = json(&modlens(&["index", &d, "--index-only"]));
        let full = json(&modlens(&["index", &d]));
        let ws = modlens::workspace::discover(&dir).expect("fixture discovers");
        let (index, _) = modlens::workspace::load(&ws);
        for key in [
            "format",
            "mod",
            "dependencies",
            "files_scanned",
            "diagnostics",
        ] {
            assert_eq!(only[key], full[key], "{d}: {key}");
        }
        let (a, b) = (
            only["resources"].as_array().cloned().unwrap_or_default(),
            full["resources"].as_array().cloned().unwrap_or_default(),
        );
        assert_eq!(a.len(), b.len(), "{d}");
        for (x, y) in a.iter().zip(&b) {
            let name = &x["qualified_name"];
            for key in [
                "type",
                "name",
                "qualified_name",
                "children",
                "children_expr",
                "parent",
                "file",
                "span",
            ] {
                assert_eq!(x[key], y[key], "{d}: {name}: {key}");
            }
            let based = has_base(&index, x);
            for field in ["title", "description", "tags"] {
                let expr = format!("{field}_expr");
                if x.get(&expr).is_some() {
                    exprs += 1;
                    let empty = if field == "tags" {
                        serde_json::json!({})
                    } else {
                        serde_json::Value::Null
                    };
                    assert_eq!(x[field], empty, "{d}: {name}: {field} beside {expr}");
                } else if !based {
                    literals += 1;
                    assert_eq!(x[field], y[field], "{d}: {name}: {field}");
                }
            }
        }
    }
    assert!(
        literals > 500 && exprs > 40,
        "{literals} literals, {exprs} exprs"
    );
}

/// The streamed writer prints exactly `to_writer_pretty` of the whole dump, whatever the
/// batch size, with the index's literals and with evaluated fields.
#[test]
fn the_streamed_dump_is_the_whole_dumps_bytes() {
    use modlens::resolve::{Model, Resolver, ValueInputs};
    use std::sync::Arc;
    let tmp = tempfile::tempdir().expect("temp dir");
    let generated = tmp.path().join("gen");
    modlens::generate::generate(
        &modlens::generate::GenerateOptions { size: 0.2, seed: 7 },
        &generated,
    )
    .expect("generates");
    let mut dirs = fixtures();
    dirs.push(generated);
    for dir in dirs {
        let ws = modlens::workspace::discover(&dir).expect("fixture discovers");
        let (index, _) = modlens::workspace::load(&ws);
        let read = |rel: &str| ws.read(rel);
        let whole = |fields: dump::FieldReader<'_>, index: &modlens::index::Index| {
            let mut s = serde_json::to_string_pretty(&dump::dump(index, &read, fields))
                .expect("dump serializes");
            s.push('\n');
            s
        };
        let streamed = |fields: dump::SyncFieldReader<'_>,
                        index: &modlens::index::Index,
                        files_per_batch: usize| {
            let mut out = Vec::new();
            let read_into = |rel: &str, buf: &mut Vec<u8>| {
                ws.read(rel)
                    .map(|bytes| buf.extend_from_slice(&bytes))
                    .is_some()
            };
            dump::write(
                &mut out,
                index,
                &read_into,
                fields,
                dump::WriteOptions {
                    files_per_batch,
                    progress: None,
                },
            )
            .expect("writes to memory");
            String::from_utf8(out).expect("JSON is UTF-8")
        };
        let literal = whole(&dump::literal_fields, &index);
        // The index-only dump's own load keeps the text it shows: the same bytes, and not
        // one file read back.
        let (kept, _, _) = modlens::workspace::load_for_dump(&ws);
        let reads = std::sync::atomic::AtomicUsize::new(0);
        let mut out = Vec::new();
        dump::write(
            &mut out,
            &kept,
            &|_: &str, _: &mut Vec<u8>| {
                reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                false
            },
            &dump::literal_fields,
            dump::WriteOptions {
                files_per_batch: 4,
                progress: None,
            },
        )
        .expect("writes to memory");
        assert_eq!(String::from_utf8_lossy(&out), literal, "{dir:?} kept text");
        assert_eq!(reads.into_inner(), 0, "{dir:?}: files read back");
        for batch in [0, 1, 3] {
            assert_eq!(
                streamed(&dump::literal_fields, &index, batch),
                literal,
                "{dir:?} batch {batch}"
            );
        }
        // Files written ahead on every thread of pools of several sizes, with windows
        // smaller and larger than the mod.
        for threads in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("thread pool");
            for window in [2, 64] {
                assert_eq!(
                    pool.install(|| streamed(&dump::literal_fields, &index, window)),
                    literal,
                    "{dir:?} {threads} threads, window {window}"
                );
            }
        }
        let sources: Arc<dyn modlens::resolve::Sources> = Arc::new(
            modlens::workspace::DiskSources::new(ws.root.clone(), 1 << 20),
        );
        let resolver = Resolver::new(sources.clone(), modlens::cache::Limits::default());
        let model = Model::new(index, &sources, &ValueInputs::default());
        let fields = |id, key| resolver.dump_field(&model, id, key);
        let evaluated = whole(&fields, &model.index);
        assert_ne!(evaluated, "", "{dir:?}");
        for batch in [0, 2] {
            assert_eq!(
                streamed(&fields, &model.index, batch),
                evaluated,
                "{dir:?} batch {batch}"
            );
        }
    }
}

/// A mod whose titles need evaluating: a variable, a file that exists and one that does
/// not. The evaluated dump reads them (and reports the missing file); `--index-only` shows
/// the expressions, reads nothing and reports nothing.
#[test]
fn index_only_evaluates_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path();
    std::fs::write(root.join("mod.pp"), "mod \"m\" {\n  title = \"M\"\n}\n").expect("write");
    std::fs::write(root.join("title.txt"), "From a file").expect("write");
    std::fs::write(
        root.join("controls.pp"),
        r#"variable "x" {
  default = "From a variable"
}

control "from_var" {
  title = var.x
  sql   = "select 1"
}

control "from_file" {
  title       = file("title.txt")
  description = "Literal"
  sql         = "select 1"
}

control "from_missing_file" {
  title = file("missing.txt")
  tags  = merge({ a = "b" }, { c = var.x })
  sql   = "select 1"
}
"#,
    )
    .expect("write");
    let dir = root.to_string_lossy().into_owned();
    let find = |v: &serde_json::Value, name: &str| {
        v["resources"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {v}"))
    };

    let full = modlens(&["index", &dir]);
    assert_eq!(full.status.code(), Some(1), "{}", text(&full.stderr));
    assert!(
        text(&full.stderr).contains("missing.txt"),
        "{}",
        text(&full.stderr)
    );
    let full = json(&full);
    assert_eq!(find(&full, "from_var")["title"], "From a variable");
    assert_eq!(find(&full, "from_file")["title"], "From a file");

    let only = modlens(&["index", &dir, "--index-only"]);
    assert_eq!(only.status.code(), Some(0), "{}", text(&only.stderr));
    assert_eq!(text(&only.stderr), "");
    let only = json(&only);
    let from_var = find(&only, "from_var");
    assert_eq!(from_var["title"], serde_json::Value::Null);
    assert_eq!(from_var["title_expr"], "var.x");
    let from_file = find(&only, "from_file");
    assert_eq!(from_file["title"], serde_json::Value::Null);
    assert_eq!(from_file["title_expr"], "file(\"title.txt\")");
    assert_eq!(from_file["description"], "Literal");
    let missing = find(&only, "from_missing_file");
    assert_eq!(missing["title_expr"], "file(\"missing.txt\")");
    assert_eq!(missing["tags_expr"], "merge({ a = \"b\" }, { c = var.x })");
}

/// What a run printed, for comparing runs.
fn run_of(args: &[&str]) -> (Option<i32>, String, String) {
    let out = modlens(args);
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// `index` (evaluated and index-only) and `check` (every output format) print the same bytes
/// with one thread and with two, on every fixture and on a generated mod; piped, they show
/// no progress bar.
#[test]
fn the_same_output_whatever_the_thread_count() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let generated = tmp.path().join("gen");
    let g = generated.to_string_lossy().into_owned();
    let made = modlens(&["generate", "--size", "0.5", &g]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let mut dirs: Vec<String> = fixtures()
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    dirs.push(g.clone());
    for d in &dirs {
        for command in [
            vec!["index", d.as_str()],
            vec!["index", d.as_str(), "--index-only"],
            vec!["check", d.as_str()],
            vec!["check", d.as_str(), "--output", "json"],
            vec!["check", d.as_str(), "--output", "github"],
        ] {
            let with = |threads: &str| {
                let mut args = vec!["--threads", threads];
                args.extend(command.iter().copied());
                run_of(&args)
            };
            let one = with("1");
            // (A clean mod has no annotation to print.)
            assert!(
                !one.1.is_empty() || command.contains(&"github"),
                "{command:?}: nothing printed"
            );
            assert_eq!(one, with("2"), "{command:?}");
            // The dumps' threads write files ahead of the one going out: more threads than
            // cores too.
            if command[0] == "index" {
                assert_eq!(one, with("4"), "{command:?}");
            }
        }
    }
    // Piped: no bar, and the generated mod is clean.
    let (code, out, err) = run_of(&["--threads", "2", "index", &g]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
    assert!(out.len() > 100_000, "{} bytes", out.len());
    let (code, _, err) = run_of(&["--threads", "2", "check", &g]);
    assert_eq!((code, err.as_str()), (Some(0), ""));
}

/// `check --output github`: one workflow command per diagnostic, in the order and with the
/// positions of `--output json`, the summary on stderr and the exit code of the other formats.
#[test]
fn check_output_github() {
    let dir = "fixtures/invalid_field_expressions";
    let out = modlens(&["check", dir, "--output", "github"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.lines().any(|l| l
            == "::error file=controls.pp,line=6,col=11::cannot evaluate `title`: unknown function `lowr`; did you mean `lower`?"),
        "{stdout}"
    );
    let report = json(&modlens(&["check", dir, "--output", "json"]));
    let diagnostics = report["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), diagnostics.len(), "{stdout}");
    for (line, d) in lines.iter().zip(&diagnostics) {
        let expected = format!(
            "::{} file={},line={},col={}::",
            d["severity"].as_str().unwrap_or(""),
            d["file"].as_str().unwrap_or(""),
            d["line"],
            d["column"]
        );
        assert!(line.starts_with(&expected), "{line} vs {expected}");
    }
    assert!(text(&out.stderr).contains("resources checked"));
    let clean = modlens(&["check", "fixtures/basic_mod", "--output", "github"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stderr));
    assert_eq!(text(&clean.stdout), "");
}

/// `dashboards --output human`: dashboards, then each top-level benchmark with its tree.
#[test]
fn dashboards_output_human() {
    let out = modlens(&[
        "dashboards",
        "fixtures/benchmark_hierarchy",
        "--output",
        "human",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    insta::assert_snapshot!("dashboards_human_benchmark_hierarchy", text(&out.stdout));
    let out = modlens(&["dashboards", "fixtures/basic_mod", "--output", "human"]);
    assert!(
        text(&out.stdout).contains("basic_mod.dashboard.s3_overview"),
        "{}",
        text(&out.stdout)
    );
}

/// `completions` writes a script for each shell, naming the subcommands and their options.
#[test]
fn completions_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef modlens"),
        ("fish", "complete -c modlens"),
    ] {
        let out = modlens(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        for word in [marker, "index-only", "dashboards", "completions", "github"] {
            assert!(script.contains(word), "{shell}: no {word:?} in\n{script}");
        }
    }
    assert_eq!(modlens(&["completions", "tcsh"]).status.code(), Some(2));
}
