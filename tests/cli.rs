//! The binary's contract: outputs, diagnostics on stderr and exit codes.

mod common;

use std::process::Command;

use common::{modlens, text};

#[test]
fn index_prints_the_versioned_dump_and_exits_0() {
    let out = modlens(&["index", "fixtures/basic_mod", "--index-only"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let dump: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(dump["format"], 2);
    assert_eq!(dump["mod"]["name"], "basic_mod");
    assert!(dump["resources"].as_array().is_some_and(|r| r.len() > 10));
}

#[test]
fn diagnostics_go_to_stderr_and_exit_1() {
    let out = modlens(&["index", "fixtures/broken_unterminated_string"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("controls.pp:6:11: error: unterminated string"),
        "{stderr}"
    );
    // The rest of the file is still indexed and printed.
    let dump: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let names: Vec<&str> = dump["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["qualified_name"].as_str())
        .collect();
    assert!(
        names.iter().any(|n| n.ends_with("control.after")),
        "{names:?}"
    );
}

#[test]
fn a_missing_folder_exits_2() {
    let out = modlens(&["index", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot open"));
    // The reason is said once (it is not both in the message and in its source).
    assert_eq!(stderr.matches("No such file").count(), 1, "{stderr}");
    assert_eq!(modlens(&["index"]).status.code(), Some(2), "usage error");
    assert_eq!(
        modlens(&["frobnicate"]).status.code(),
        Some(2),
        "usage error"
    );
}

#[test]
fn stats_reports_figures() {
    let out = modlens(&["index", "fixtures/basic_mod", "--stats", "--output", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON stats");
    assert_eq!(s["files"], 7);
    assert!(s["bytes"].as_u64().is_some_and(|b| b > 1000));
    assert!(
        s["resources_by_type"]["control"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
    assert!(s["index_heap_bytes"].as_u64().is_some_and(|n| n > 0));
    let human = modlens(&[
        "index",
        "fixtures/basic_mod",
        "--stats",
        "--output",
        "human",
    ]);
    assert!(text(&human.stdout).contains("resources"));
}

#[test]
fn list_and_tree() {
    let out = modlens(&["list", "benchmark", "fixtures/benchmark_hierarchy"]);
    assert_eq!(out.status.code(), Some(0));
    insta::assert_snapshot!("list_benchmarks", text(&out.stdout));

    let json = modlens(&["list", "control", "fixtures/basic_mod", "--output", "json"]);
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON rows");
    assert!(rows.as_array().is_some_and(|r| !r.is_empty()));

    let first = rows[0]["qualified_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(first.starts_with("basic_mod.control."));
}

#[test]
fn tree_of_a_benchmark() {
    // level_1 nests benchmarks five deep through `children` across three files.
    let tree = modlens(&["tree", "fixtures/benchmark_hierarchy", "benchmark.level_1"]);
    assert_eq!(tree.status.code(), Some(0), "{}", text(&tree.stderr));
    insta::assert_snapshot!("tree_benchmark", text(&tree.stdout));
    let json = modlens(&[
        "tree",
        "fixtures/benchmark_hierarchy",
        "benchmark_hierarchy.benchmark.level_1",
        "--output",
        "json",
    ]);
    let node: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON tree");
    assert_eq!(
        node["qualified_name"],
        "benchmark_hierarchy.benchmark.level_1"
    );
    let missing = modlens(&["tree", "fixtures/benchmark_hierarchy", "benchmark.nope"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn tree_shows_a_missing_child_where_it_is_listed() {
    let dir = std::env::temp_dir().join(format!("modlens-cli-tree-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp folder");
    std::fs::write(dir.join("mod.pp"), "mod \"m\" {}\n").expect("write mod.pp");
    std::fs::write(
        dir.join("b.pp"),
        "benchmark \"b\" {\n  children = [control.typo, control.real]\n}\ncontrol \"real\" {\n  title = \"Real\"\n}\n",
    )
    .expect("write b.pp");
    let out = modlens(&["tree", &dir.display().to_string(), "benchmark.b"]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "m.benchmark.b\n├── m.control.typo [not found]\n└── m.control.real — Real\n"
    );
}

#[test]
fn dashboards_payload_of_a_benchmark_hierarchy() {
    let out = modlens(&["dashboards", "fixtures/benchmark_hierarchy"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    insta::assert_json_snapshot!("dashboards_benchmark_hierarchy", v);
}

/// As Powerpipe's addBenchmarkChildren / addDetectionBenchmarkChildren: under a benchmark,
/// only benchmark children of its own kind; a `type` written as an expression counts as what
/// it evaluates to; a benchmark listed by one of the other kind is not top level.
#[test]
fn dashboards_payload_lists_children_of_the_benchmarks_own_kind() {
    let out = modlens(&["dashboards", "fixtures/benchmark_kinds"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let p: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let b = |name: &str| p["benchmarks"][format!("benchmark_kinds.benchmark.{name}")].clone();
    let children = |v: &serde_json::Value| -> Vec<String> {
        v["children"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["short_name"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(children(&b("mixed")), ["controls"]);
    assert_eq!(children(&b("detections")), ["computed"]);
    assert_eq!(b("computed")["benchmark_type"], "detection");
    assert_eq!(
        b("detections")["children"][0]["benchmark_type"],
        "detection"
    );
    assert_eq!(b("mixed")["is_top_level"], true);
    assert_eq!(b("detections")["is_top_level"], false);
    assert_eq!(b("detections")["trunks"], serde_json::Value::Null);
}

/// As Powerpipe: `dep.type.name` resolves only in the mod's own requires (and the mod's own
/// name); a dependency of a dependency is installed but is not one.
#[test]
fn children_resolve_only_in_first_level_dependencies() {
    let dir = "fixtures/invalid_transitive_dependency";
    let out = modlens(&["check", dir]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("benchmarks.pp:16:5: error: `mod_b.benchmark.b_bench`: mod `mod_b` is installed but is not a dependency"),
        "{err}"
    );
    assert_eq!(err.matches("error:").count(), 1, "only that child: {err}");
    let tree = |name: &str| text(&modlens(&["tree", dir, name]).stdout);
    let direct = tree("benchmark.direct");
    assert!(
        direct.contains("mod_b.control.b_control — B control"),
        "{direct}"
    );
    assert!(direct.contains("control.own — Own control"), "{direct}");
    let transitive = tree("benchmark.transitive");
    assert!(
        transitive.contains("mod_b.benchmark.b_bench [not found]"),
        "{transitive}"
    );
    assert!(!transitive.contains("B control"), "{transitive}");
}

#[test]
fn dashboards_payload_lists_dashboards_and_dependency_benchmarks() {
    let out = modlens(&["dashboards", "fixtures/dependency_mod"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["action"], "available_dashboards");
    assert!(
        v["dashboards"]["dependency_mod.dashboard.my_s3_dashboard"].is_object(),
        "{v}"
    );
    assert!(
        v["dashboards"]
            .as_object()
            .is_some_and(|d| d.keys().any(|k| k.starts_with("aws_insights."))),
        "dependency dashboards are included: {v}"
    );
    let combined = &v["benchmarks"]["dependency_mod.benchmark.combined"];
    assert_eq!(combined["is_top_level"], true);
    assert_eq!(combined["tags"]["mod"], "mod.dependency_mod");
}

#[test]
fn stats_loads_everything_in_the_background() {
    let out = modlens(&[
        "stats",
        "fixtures/basic_mod",
        "--output",
        "json",
        "--workers",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["walk"], "done");
    let low = v["scheduler"]["priorities"]
        .as_array()
        .and_then(|p| p.iter().find(|x| x["priority"] == "low"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(low["failed"], 0);
    assert_eq!(v["resolver"]["resolved"], v["resources"], "{v}");
}

#[test]
fn check_exits_1_on_resolve_errors_and_0_on_a_valid_mod() {
    let bad = modlens(&["check", "fixtures/invalid_unknown_references"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("controls.pp:7:21: error: unknown variable `var.nope`"));
    let good = modlens(&["check", "fixtures/basic_mod"]);
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stderr));
}

/// A `--var` that is not `name=value` is a usage error (exit 2, pointing at `--help`), for
/// every command, before anything is read.
#[test]
fn a_malformed_var_option_is_a_usage_error() {
    for bad in ["noequals", "=value", " =value", ""] {
        for command in ["check", "show", "index"] {
            let mut args = vec![command, "fixtures/basic_mod"];
            if command == "show" {
                args.push("control.s3_bucket_versioning");
            }
            args.extend(["--var", bad]);
            let out = modlens(&args);
            assert_eq!(out.status.code(), Some(2), "{command} --var {bad:?}");
            let stderr = text(&out.stderr);
            assert!(stderr.contains("is not name=value"), "{stderr}");
            assert!(stderr.contains("--help"), "{stderr}");
        }
    }
    // A well-formed one for a variable the mod does not declare stays a diagnostic of the mod.
    let out = modlens(&["check", "fixtures/basic_mod", "--var", "nope=1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn show_reads_the_environment_and_var_options() {
    let out = Command::new(env!("CARGO_BIN_EXE_modlens"))
        .args([
            "show",
            "fixtures/variable_precedence",
            "control.uses_every_variable",
            "--output",
            "json",
            "--var",
            "from_var=cli",
        ])
        .env("PP_VAR_from_env", "from the environment")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["title"], "From cli and from the environment");
}

#[test]
fn list_says_when_its_arguments_are_swapped_or_the_type_is_unknown() {
    let out = modlens(&["list", "fixtures/basic_mod", "control"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("`modlens list control fixtures/basic_mod`"),
        "{}",
        text(&out.stderr)
    );
    let out = modlens(&["list", "controls", "fixtures/basic_mod"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("did you mean `control`?"), "{stderr}");
    assert!(stderr.contains("types here: benchmark, card,"), "{stderr}");
    // A missing path is not taken for a swapped type.
    let out = modlens(&["list", "fixtures", "no/such/folder"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !text(&out.stderr).contains("comes first"),
        "{}",
        text(&out.stderr)
    );
    let out = modlens(&["list", "var", "fixtures/variables_ppvars"]);
    assert!(
        text(&out.stderr).contains("did you mean `variable`?"),
        "{}",
        text(&out.stderr)
    );
    // A known type with resources: no warning.
    let out = modlens(&["list", "control", "fixtures/basic_mod"]);
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn show_names_the_namesakes_of_what_it_shows() {
    // (exit 1: the fixture also defines `control.dup` twice)
    let out = modlens(&["show", "fixtures/duplicate_names", "input.x"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("showing `dashboard.one.input.x` (a.pp:")
            && stderr.contains("also fits `dashboard.two.input.x` (b.pp:"),
        "{stderr}"
    );
    let out = modlens(&["show", "fixtures/duplicate_names", "dashboard.two.input.x"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("b.pp:"), "{}", text(&out.stdout));
    // A name from the command line is not echoed whole, however long.
    let long = vec!["a"; 5000].join(".");
    let out = modlens(&["show", "fixtures/duplicate_names", &long]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).len() < 600, "{}", text(&out.stderr).len());
}

#[test]
fn show_gives_a_connection_and_a_type_as_written() {
    let out = modlens(&["show", "fixtures/variables_ppvars", "var.database"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let line = |label: &str| {
        stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .map(|l| l.trim_start()[label.len()..].trim().to_string())
    };
    assert_eq!(
        line("type").as_deref(),
        Some("connection.steampipe"),
        "{stdout}"
    );
    assert_eq!(
        line("default").as_deref(),
        Some("connection.steampipe.default"),
        "{stdout}"
    );
}

/// One LSP frame.
fn frame(msg: &serde_json::Value) -> Vec<u8> {
    modlens::lsp::guard::frame(msg.to_string().as_bytes())
}

/// Reads frames until the response with `id`.
fn response(r: &mut impl std::io::BufRead, id: i64) -> serde_json::Value {
    loop {
        let mut len = 0usize;
        loop {
            let mut line = String::new();
            assert!(
                r.read_line(&mut line).expect("read") > 0,
                "the server ended"
            );
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                len = n.parse().expect("length");
            }
        }
        let mut body = vec![0u8; len];
        std::io::Read::read_exact(r, &mut body).expect("body");
        let msg: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        if msg["id"] == id && msg.get("method").is_none() {
            return msg;
        }
    }
}

#[test]
fn lsp_serves_over_pipes_and_exits_0() {
    use std::io::Write;
    use std::process::Stdio;
    let root = std::fs::canonicalize("fixtures/lsp_workspace").expect("fixture");
    let mut child = Command::new(env!("CARGO_BIN_EXE_modlens"))
        .arg("lsp")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("modlens lsp starts");
    let mut input = child.stdin.take().expect("stdin");
    let mut output = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"capabilities": {},
                   "workspaceFolders": [{"uri": format!("file://{}", root.display()), "name": "ws"}]}});
    input.write_all(&frame(&init)).expect("write");
    let r = response(&mut output, 1);
    assert!(
        r["result"]["capabilities"]["hoverProvider"].is_boolean()
            || r["result"]["capabilities"]["hoverProvider"].is_object(),
        "{r}"
    );
    for msg in [
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "workspace/symbol", "params": {"query": "versioning"}}),
    ] {
        input.write_all(&frame(&msg)).expect("write");
    }
    let r = response(&mut output, 2);
    assert!(r["result"].as_array().is_some_and(|a| !a.is_empty()), "{r}");
    // A malformed frame gets an error and the server keeps serving.
    input
        .write_all(b"Content-Length: 5\r\n\r\n{nope")
        .expect("write");
    input
        .write_all(&frame(
            &serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}),
        ))
        .expect("write");
    assert_eq!(response(&mut output, 3)["result"], serde_json::Value::Null);
    input
        .write_all(&frame(
            &serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
        ))
        .expect("write");
    let status = child.wait().expect("exits");
    assert_eq!(status.code(), Some(0));
}

/// `modlens lsp` fed `input` on a pipe that then closes; its exit code and output.
fn lsp_session(input: &[u8]) -> (Option<i32>, Vec<u8>) {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_modlens"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("modlens lsp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("exits");
    (out.status.code(), out.stdout)
}

#[test]
fn lsp_exits_1_on_exit_without_shutdown_and_0_after_it() {
    let init = frame(
        &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"capabilities": {}}}),
    );
    let shutdown = frame(&serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}));
    let exit = frame(&serde_json::json!({"jsonrpc": "2.0", "method": "exit"}));
    // `exit` without `shutdown`: 1, as the protocol says.
    let (code, out) = lsp_session(&[init.clone(), exit.clone()].concat());
    assert_eq!(code, Some(1));
    let mut r = std::io::BufReader::new(&out[..]);
    assert!(response(&mut r, 1)["result"]["capabilities"].is_object());
    // `exit` before anything else: 1 too.
    assert_eq!(lsp_session(&exit).0, Some(1));
    // The input closing without `shutdown` (the editor went away): 1.
    assert_eq!(lsp_session(&init).0, Some(1));
    // `shutdown`, then `exit` or the input's end: 0.
    assert_eq!(
        lsp_session(&[init.clone(), shutdown.clone(), exit].concat()).0,
        Some(0)
    );
    assert_eq!(lsp_session(&[init, shutdown].concat()).0, Some(0));
}

#[test]
fn lsp_reads_a_stdin_that_is_not_a_pipe() {
    // Not a pipe: the server falls back to tokio's standard streams.
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("input");
    let mut bytes = frame(
        &serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"capabilities": {}}}),
    );
    bytes.extend(frame(
        &serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
    ));
    std::fs::write(&input, bytes).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_modlens"))
        .arg("lsp")
        .stdin(std::fs::File::open(&input).expect("open"))
        .output()
        .expect("modlens lsp runs");
    let mut r = std::io::BufReader::new(&out.stdout[..]);
    assert!(response(&mut r, 1)["result"]["capabilities"].is_object());
    assert_eq!(response(&mut r, 2)["result"], serde_json::Value::Null);
}

#[test]
fn dashboards_payload_trees_break_cycles_per_path() {
    // t -> a -> b -> {a (a cycle), c}; u -> c. A tree is shared between the places it
    // appears only when no cycle was cut inside it: b's tree below t lacks a, b's own entry
    // has it.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("mod.pp"), "mod \"m\" {\n}\n").expect("write");
    std::fs::write(
        dir.path().join("b.pp"),
        r#"
benchmark "t" {
  children = [benchmark.a]
}
benchmark "a" {
  children = [benchmark.b]
}
benchmark "b" {
  children = [benchmark.a, benchmark.c]
}
benchmark "c" {
  children = [control.x]
}
benchmark "u" {
  children = [benchmark.c]
}
control "x" {
  sql = "select 1"
}
"#,
    )
    .expect("write");
    let out = modlens(&["dashboards", &dir.path().display().to_string()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let b = |n: &str| v["benchmarks"][format!("m.benchmark.{n}")].clone();
    let names = |x: &serde_json::Value| -> Vec<String> {
        x["children"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["short_name"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let t = b("t");
    assert_eq!(names(&t), ["a"]);
    assert_eq!(names(&t["children"][0]), ["b"]);
    assert_eq!(
        names(&t["children"][0]["children"][0]),
        ["c"],
        "a cut below t"
    );
    assert_eq!(names(&b("a")), ["b"]);
    assert_eq!(names(&b("a")["children"][0]), ["c"]);
    assert_eq!(
        names(&b("b")),
        ["a", "c"],
        "b's own tree reaches a: {}",
        b("b")
    );
    assert!(names(&b("b")["children"][0]).is_empty(), "and stops there");
    assert!(names(&b("c")).is_empty(), "controls are not children");
    let trunks = |n: &str| b(n)["trunks"].clone();
    assert_eq!(trunks("t"), serde_json::json!([["m.benchmark.t"]]));
    assert_eq!(
        trunks("c"),
        serde_json::json!([
            [
                "m.benchmark.t",
                "m.benchmark.a",
                "m.benchmark.b",
                "m.benchmark.c"
            ],
            ["m.benchmark.u", "m.benchmark.c"]
        ])
    );
    assert_eq!(b("t")["is_top_level"], true);
    assert_eq!(b("b")["is_top_level"], false);
}

/// A title, description or tags that fails to evaluate is an error (with its position) for
/// every command that shows it, as for `check`; the outputs still come, with the field's
/// expression where the dump keeps expressions.
#[test]
fn fields_that_fail_to_evaluate_are_errors_in_every_command() {
    let dir = "fixtures/invalid_field_expressions";
    let title_error = "controls.pp:6:11: error: cannot evaluate `title`: unknown function `lowr`; did you mean `lower`?";
    for args in [
        vec!["check", dir],
        vec!["show", dir, "control.unknown_function"],
        vec!["index", dir],
        vec!["list", "control", dir],
        vec!["tree", dir, "benchmark.refers_to_a_bad_title"],
    ] {
        let out = modlens(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(title_error), "{args:?}: {err}");
    }
    // The dashboards payload shows dashboards' titles.
    let out = modlens(&["dashboards", dir]);
    assert!(
        text(&out.stderr)
            .contains("controls.pp:46:11: error: cannot evaluate `title`: unknown function `lowr`"),
        "{}",
        text(&out.stderr)
    );
    let out = modlens(&["show", dir, "control.bad_tags"]);
    assert!(
        text(&out.stderr)
            .contains("controls.pp:21:10: error: cannot evaluate `tags`: unknown function `nope`"),
        "{}",
        text(&out.stderr)
    );
    let out = modlens(&["index", dir]);
    let dump: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let unknown = dump["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "unknown_function"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        unknown["title_expr"], "lowr(\"Unknown function\")",
        "{unknown}"
    );
    // A mod whose fields all evaluate (every function Powerpipe registers) is clean.
    let out = modlens(&["check", "fixtures/function_library"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}
