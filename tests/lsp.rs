//! Protocol tests: the language server driven over an in-memory stream with real JSON-RPC
//! messages, on fixture mods (nested dashboards, an installed dependency mod, tags built
//! from locals). Answers are snapshotted with the fixture's path replaced by `WORKSPACE`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::lsp::{Client, at, loc, pos_of, redact, uri};
use serde_json::{Value, json};

fn ws() -> PathBuf {
    common::fixture("lsp_workspace")
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).expect("fixture file")
}

fn td(u: &str) -> Value {
    json!({ "uri": u })
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walk(from) {
        let rel = entry.strip_prefix(from).expect("below");
        let dest = to.join(rel);
        if entry.is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
            std::fs::copy(&entry, &dest).expect("copy");
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("readable").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialize_reports_capabilities_and_progress_then_shuts_down() {
    let root = ws();
    let (c, init) = Client::initialized(&[&root], json!({})).await;
    insta::assert_json_snapshot!("capabilities", init["capabilities"]);
    assert_eq!(init["serverInfo"]["name"], "modlens");
    c.wait_loaded().await;
    let begin = c
        .wait_for(Duration::from_secs(1), |m| {
            m["method"] == "$/progress" && m["params"]["value"]["kind"] == "begin"
        })
        .await
        .expect("progress began");
    assert_eq!(begin["params"]["value"]["title"], "modlens");
    let reports: Vec<String> = c
        .messages()
        .iter()
        .filter(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "report")
        .filter_map(|m| m["params"]["value"]["message"].as_str().map(str::to_string))
        .collect();
    assert!(
        reports
            .iter()
            .any(|r| r.contains("files") && r.contains("resources indexed")),
        "{reports:?}"
    );
    assert!(
        reports.iter().any(|r| r.starts_with("resolved ")),
        "{reports:?}"
    );
    // The client offered to watch files: the server registered its patterns.
    assert!(
        c.messages()
            .iter()
            .any(|m| m["method"] == "client/registerCapability"
                && m["params"]["registrations"][0]["method"] == "workspace/didChangeWatchedFiles")
    );
    // A clean fixture: every file's diagnostics, if published, are empty.
    for m in c.messages() {
        if m["method"] == "textDocument/publishDiagnostics" {
            assert_eq!(m["params"]["diagnostics"], json!([]), "{m}");
        }
    }
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_symbols_nest_dashboards_and_benchmarks() {
    let root = ws();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let mut all = serde_json::Map::new();
    for f in ["dashboards.pp", "locals.pp", "queries.pp"] {
        let u = uri(&root.join(f));
        let syms = c
            .request(
                "textDocument/documentSymbol",
                json!({ "textDocument": td(&u) }),
            )
            .await
            .expect("symbols");
        all.insert(f.to_string(), syms);
    }
    insta::assert_json_snapshot!("document_symbols", redact(&Value::Object(all), &root));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_symbols_match_fuzzily_across_mods() {
    let root = ws();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        format!(
                            "{} ({})",
                            s["name"].as_str().unwrap_or(""),
                            s["containerName"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let v = c
        .request("workspace/symbol", json!({"query": "s3vers"}))
        .await
        .expect("symbols");
    let found = names(&v);
    assert!(found[0].starts_with("control.s3_versioning"), "{found:?}");
    let v = c
        .request("workspace/symbol", json!({"query": "bucketcount"}))
        .await
        .expect("symbols");
    let found = names(&v);
    assert!(
        found
            .iter()
            .any(|n| n.starts_with("shared.query.bucket_count (shared")),
        "{found:?}"
    );
    // By title too.
    let v = c
        .request("workspace/symbol", json!({"query": "IAM root user"}))
        .await
        .expect("symbols");
    let found = names(&v);
    assert!(found[0].starts_with("control.iam_root"), "{found:?}");
    let first = &v[0];
    assert_eq!(loc(&first["location"], &root), "controls.pp:21:10");
    c.stop().await;
}

/// A title, description or tags that fails to evaluate is shown with its error in the hover,
/// not left out (the diagnostic says the same where the expression is written).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_shows_a_field_that_fails_to_evaluate_with_its_error() {
    let root = common::fixture("invalid_field_expressions");
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let path = root.join("controls.pp");
    let controls = text(&path);
    let u = uri(&path);
    let hover = |name: &str| at(&u, pos_of(&controls, name, 2));
    let h = c
        .request("textDocument/hover", hover("\"unknown_function\""))
        .await
        .expect("hover");
    let md = h["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(md.contains("⚠ title: `lowr(\"Unknown function\")`"), "{md}");
    assert!(md.contains("did you mean `lower`"), "{md}");
    let h = c
        .request("textDocument/hover", hover("\"bad_tags\""))
        .await
        .expect("hover");
    let md = h["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        md.contains("⚠ tags: `merge(local.common_tags, nope())`"),
        "{md}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hover_shows_titles_evaluated_tags_sql_and_variable_values() {
    let root = ws();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let controls = text(&root.join("controls.pp"));
    let dashboards = text(&root.join("dashboards.pp"));
    let benchmarks = text(&root.join("benchmarks.pp"));
    let queries = text(&root.join("queries.pp"));
    let cu = uri(&root.join("controls.pp"));
    let du = uri(&root.join("dashboards.pp"));
    let bu = uri(&root.join("benchmarks.pp"));
    let qu = uri(&root.join("queries.pp"));
    let cases = [
        ("control header", &cu, pos_of(&controls, "s3_versioning", 2)),
        (
            "query reference",
            &cu,
            pos_of(&controls, "query.bucket_versioning", 7),
        ),
        (
            "variable from ppvars",
            &cu,
            pos_of(&controls, "var.region", 5),
        ),
        (
            "variable default",
            &cu,
            pos_of(&controls, "var.max_age_days", 5),
        ),
        (
            "variable, on its `var`",
            &cu,
            pos_of(&controls, "var.max_age_days", 1),
        ),
        ("local merged", &cu, pos_of(&controls, "local.s3_tags", 7)),
        (
            "dependency query",
            &cu,
            pos_of(&controls, "shared.query.bucket_count", 14),
        ),
        (
            "dependency mod name",
            &cu,
            pos_of(&controls, "shared.query.bucket_count", 2),
        ),
        ("benchmark", &bu, pos_of(&benchmarks, "\"top\"", 2)),
        ("nested card", &du, pos_of(&dashboards, "card {", 1)),
        (
            "input via self",
            &du,
            pos_of(&dashboards, "self.input.bucket_arn", 13),
        ),
        ("param block", &qu, pos_of(&queries, "param \"enabled\"", 8)),
    ];
    let mut out = serde_json::Map::new();
    for (name, u, p) in cases {
        let h = c
            .request("textDocument/hover", at(u, p.clone()))
            .await
            .expect("hover");
        // The range holds the cursor (on `var` of `var.region` too).
        let (line, ch) = (&p["line"], p["character"].as_u64().unwrap_or(0));
        let r = &h["range"];
        if !r.is_null() {
            let key = |x: &Value| (x["line"].as_u64(), x["character"].as_u64());
            let cursor = (line.as_u64(), Some(ch));
            assert!(
                key(&r["start"]) <= cursor && cursor <= key(&r["end"]),
                "{name}: {r} does not hold {p}"
            );
        }
        out.insert(name.to_string(), h["contents"]["value"].clone());
    }
    let md = |k: &str| out[k].as_str().unwrap_or("").to_string();
    assert!(md("control header").contains("S3 buckets should have versioning enabled"));
    assert!(md("control header").contains("| `severity` | high |"));
    assert!(md("control header").contains("| `service` | AWS/S3 |"));
    assert!(md("control header").contains("versioning_enabled = $1"));
    assert!(md("variable from ppvars").contains("`\"eu-west-1\"`"));
    assert!(md("variable from ppvars").contains("from: powerpipe.ppvars"));
    assert!(md("variable default").contains("from: default"));
    assert!(
        md("dependency query").contains("region = 'eu-west-1'"),
        "{}",
        md("dependency query")
    );
    insta::assert_json_snapshot!("hover", redact(&Value::Object(out), &root));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definition_references_and_highlights_for_every_reference_kind() {
    let root = ws();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let dep = ".powerpipe/mods/github.com/acme/powerpipe-mod-shared@v2.1.0/queries.pp";
    let cases: Vec<(&str, &str, usize)> = vec![
        ("controls.pp", "query.bucket_versioning", 8),
        ("controls.pp", "var.region", 5),
        ("controls.pp", "local.s3_tags", 7),
        ("controls.pp", "shared.query.bucket_count", 15),
        ("controls.pp", "shared.query.bucket_count", 1),
        ("benchmarks.pp", "control.s3_logging", 9),
        ("benchmarks.pp", "benchmark.s3", 10),
        ("locals.pp", "local.common_tags", 8),
        ("dashboards.pp", "table.bucket_table", 7),
        ("dashboards.pp", "self.input.bucket_arn", 12),
        ("dashboards.pp", "query.bucket_versioning", 7),
        (dep, "var.shared_region", 5),
    ];
    let mut out = Vec::new();
    for (file, needle, delta) in cases {
        let path = root.join(file);
        let u = uri(&path);
        let d = c
            .request(
                "textDocument/definition",
                at(&u, pos_of(&text(&path), needle, delta)),
            )
            .await
            .expect("definition");
        assert!(!d.is_null(), "no definition for {needle} in {file}");
        out.push(format!("{file}: {needle} -> {}", loc(&d, &root)));
    }
    insta::assert_snapshot!("definitions", out.join("\n"));

    // References to a query, with its declaration.
    let qpath = root.join("queries.pp");
    let qu = uri(&qpath);
    let refs = c
        .request(
            "textDocument/references",
            json!({"textDocument": td(&qu), "position": pos_of(&text(&qpath), "bucket_versioning", 1), "context": {"includeDeclaration": true}}),
        )
        .await
        .expect("references");
    let mut found: Vec<String> = refs
        .as_array()
        .expect("list")
        .iter()
        .map(|l| loc(l, &root))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec!["controls.pp:4:23", "dashboards.pp:7:19", "queries.pp:1:8"]
    );

    // Highlights of a local within one file: the declaration and its uses there.
    let lpath = root.join("locals.pp");
    let lu = uri(&lpath);
    let hl = c
        .request(
            "textDocument/documentHighlight",
            at(&lu, pos_of(&text(&lpath), "common_tags", 2)),
        )
        .await
        .expect("highlights");
    let kinds: Vec<(u64, u64)> = hl
        .as_array()
        .expect("list")
        .iter()
        .map(|h| {
            (
                h["range"]["start"]["line"].as_u64().unwrap_or(0),
                h["kind"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(kinds, vec![(1, 3), (8, 2)]);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_offers_references_attributes_blocks_and_tag_keys() {
    let root = ws();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let path = root.join("controls.pp");
    let u = c.open(&path).await;
    let original = text(&path);
    let mut out = serde_json::Map::new();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "after query.",
            "control \"n\" {\n  query = query.\n}\n".into(),
            "query.",
        ),
        (
            "after var.",
            "control \"n\" {\n  sql = \"${var.}\"\n}\n".into(),
            "var.",
        ),
        (
            "after local.",
            "control \"n\" {\n  tags = local.\n}\n".into(),
            "local.",
        ),
        (
            "after a dependency",
            "control \"n\" {\n  query = shared.\n}\n".into(),
            "shared.",
        ),
        (
            "dependency queries",
            "control \"n\" {\n  query = shared.query.\n}\n".into(),
            "shared.query.",
        ),
        (
            "attributes of a control",
            "control \"n\" {\n  \n}\n".into(),
            "{\n  ",
        ),
        (
            "blocks in a dashboard",
            "dashboard \"d\" {\n  \n}\n".into(),
            "{\n  ",
        ),
        ("top level", "\n".into(), ""),
        (
            "tag keys",
            "control \"n\" {\n  tags = {\n    \n  }\n}\n".into(),
            "{\n    ",
        ),
        (
            "expression start",
            "control \"n\" {\n  title = \n}\n".into(),
            "title = ",
        ),
        (
            "a query's sql",
            "control \"n\" {\n  sql = query.bucket_versioning.sql\n}\n".into(),
            "sql = query.",
        ),
        (
            "heredoc text",
            "dashboard \"d\" {\n  text {\n    value = <<-EOT\n      hello ${local.s3_tags} world\n    EOT\n  }\n}\n".into(),
            "hello ",
        ),
        (
            "heredoc text after a template",
            "dashboard \"d\" {\n  text {\n    value = <<-EOT\n      hello ${local.s3_tags} world\n    EOT\n  }\n}\n".into(),
            "} wor",
        ),
        (
            "a directive in heredoc text",
            "locals {\n  x = <<-EOQ\n  %{~ if contains(var.regions, \"a\") }, a%{ endif ~}\n  EOQ\n}\n".into(),
            "contains(var.",
        ),
        (
            "a template in heredoc text",
            "dashboard \"d\" {\n  text {\n    value = <<-EOT\n      hello ${local.s3_tags} world\n    EOT\n  }\n}\n".into(),
            "${local.",
        ),
    ];
    let mut version = 1;
    for (name, snippet, cursor_after) in cases {
        let new_text = format!("{original}\n{snippet}");
        version += 1;
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": u, "version": version}, "contentChanges": [{"text": new_text}]}),
        )
        .await;
        let off = original.len()
            + 1
            + snippet
                .find(cursor_after)
                .map(|i| i + cursor_after.len())
                .unwrap_or(0);
        let line = new_text[..off].matches('\n').count();
        let col = new_text[..off]
            .rsplit('\n')
            .next()
            .unwrap_or("")
            .encode_utf16()
            .count();
        let r = c
            .request(
                "textDocument/completion",
                at(&u, json!({"line": line, "character": col})),
            )
            .await
            .expect("completion");
        let mut labels: Vec<String> = r["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["label"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        out.insert(name.to_string(), json!(labels));
    }
    let has = |k: &str, l: &str| out[k].as_array().is_some_and(|a| a.iter().any(|x| x == l));
    assert!(has("after query.", "bucket_versioning"));
    assert!(has("after var.", "region") && has("after var.", "max_age_days"));
    assert!(has("after local.", "s3_tags"));
    assert!(has("after a dependency", "query") && has("after a dependency", "var"));
    assert!(has("dependency queries", "bucket_count"));
    assert!(has("attributes of a control", "severity") && has("attributes of a control", "param"));
    assert!(has("blocks in a dashboard", "card") && has("blocks in a dashboard", "container"));
    assert!(has("top level", "control") && !has("top level", "param"));
    assert!(has("tag keys", "service") && has("tag keys", "severity"));
    assert!(has("expression start", "merge") && has("expression start", "var"));
    assert!(has("a query's sql", "bucket_versioning"));
    assert!(out["heredoc text"].as_array().is_some_and(|a| a.is_empty()));
    assert!(
        out["heredoc text after a template"]
            .as_array()
            .is_some_and(|a| a.is_empty())
    );
    assert!(has("a template in heredoc text", "s3_tags"));
    assert!(has("a directive in heredoc text", "region"));
    insta::assert_json_snapshot!("completion", Value::Object(out));

    // Resolving an item documents it from the index.
    let item = json!({"label": "bucket_versioning", "data": {"uri": u, "name": "lsp_workspace.query.bucket_versioning"}});
    let resolved = c
        .request("completionItem/resolve", item)
        .await
        .expect("resolve");
    assert!(
        resolved["documentation"]["value"]
            .as_str()
            .unwrap_or("")
            .contains("Bucket versioning")
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diagnostics_follow_edits_across_files_and_clear_when_fixed() {
    let root = ws();
    let (c, _) = Client::initialized(&[&root], json!({})).await;
    c.wait_loaded().await;
    let qpath = root.join("queries.pp");
    let cpath = root.join("controls.pp");
    let qu = c.open(&qpath).await;
    let cu = uri(&cpath);
    let original = text(&qpath);
    // Rename the query in its file only: the control that uses it now names nothing, and
    // a syntax error appears in the edited file.
    let broken = original.replace("query \"bucket_versioning\"", "query \"bucket_versioned\"")
        + "\ncontrol \"x\" {\n  title = \"unterminated\n}\n";
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": qu, "version": 2}, "contentChanges": [{"text": broken}]}),
    )
    .await;
    let d = c
        .wait_diagnostics(&cu, Duration::from_secs(30), |d| !d.is_empty())
        .await
        .expect("the control's file gets a diagnostic");
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("bucket_versioning"),
        "{d:?}"
    );
    assert_eq!(d[0]["range"]["start"], json!({"line": 3, "character": 16}));
    let q = c
        .wait_diagnostics(&qu, Duration::from_secs(30), |d| !d.is_empty())
        .await
        .expect("the edited file gets its syntax error");
    assert!(
        q.iter()
            .any(|d| d["message"].as_str().unwrap_or("").contains("unterminated")),
        "{q:?}"
    );
    // Fixed: both cleared.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": qu, "version": 3}, "contentChanges": [{"text": original}]}),
    )
    .await;
    c.wait_diagnostics(&cu, Duration::from_secs(30), |d| d.is_empty())
        .await
        .expect("cleared");
    c.wait_diagnostics(&qu, Duration::from_secs(30), |d| d.is_empty())
        .await
        .expect("cleared");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_edits_every_reference_and_refuses_what_it_cannot() {
    let root = ws();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let cpath = root.join("controls.pp");
    let cu = uri(&cpath);
    let controls = text(&cpath);
    let p = pos_of(&controls, "query.bucket_versioning", 8);
    let prep = c
        .request("textDocument/prepareRename", at(&cu, p.clone()))
        .await
        .expect("prepare");
    assert_eq!(prep["start"], json!({"line": 3, "character": 22}));
    assert_eq!(prep["end"], json!({"line": 3, "character": 39}));
    let mut params = at(&cu, p);
    params["newName"] = json!("versioning_status");
    let edit = c
        .request("textDocument/rename", params)
        .await
        .expect("rename");
    insta::assert_json_snapshot!("rename_query", redact(&edit, &root));

    // Applied to a copy, the mod still checks clean and the new name is used everywhere.
    let tmp = tempfile::tempdir().expect("temp dir");
    copy_dir(&root, tmp.path());
    apply_edit(&edit, &root, tmp.path());
    let o = common::open(tmp.path(), &Default::default(), Default::default());
    assert_eq!(common::check(&o), Vec::<String>::new());
    assert!(text(&tmp.path().join("dashboards.pp")).contains("query.versioning_status"));

    // A variable: its declaration, its uses, and where a vars file sets it.
    let vpath = root.join("variables.pp");
    let mut params = at(&uri(&vpath), pos_of(&text(&vpath), "\"region\"", 1));
    params["newName"] = json!("aws_region");
    let edit = c
        .request("textDocument/rename", params)
        .await
        .expect("rename");
    let changes = edit["changes"].as_object().expect("changes");
    let files: Vec<String> = changes
        .keys()
        .map(|k| k.rsplit('/').next().unwrap_or("").to_string())
        .collect();
    assert!(files.contains(&"powerpipe.ppvars".to_string()), "{files:?}");
    assert!(files.contains(&"controls.pp".to_string()), "{files:?}");

    // Refused: a dependency's resource, an invalid name, a name already taken.
    let r = c
        .request(
            "textDocument/prepareRename",
            at(&cu, pos_of(&controls, "shared.query.bucket_count", 15)),
        )
        .await;
    assert!(r.is_err(), "{r:?}");
    let mut params = at(&cu, pos_of(&controls, "query.bucket_versioning", 8));
    params["newName"] = json!("9lives");
    assert!(
        c.request("textDocument/rename", params.clone())
            .await
            .is_err()
    );
    params["newName"] = json!("bucket_versioning");
    let r = c.request("textDocument/rename", params).await;
    assert!(format!("{r:?}").contains("already exists"), "{r:?}");
    c.stop().await;
}

/// Applies a `WorkspaceEdit`'s `changes` to the copy of the workspace at `to`.
fn apply_edit(edit: &Value, from: &Path, to: &Path) {
    for (u, edits) in edit["changes"].as_object().expect("changes") {
        let rel = u
            .strip_prefix(&format!("{}/", uri(from)))
            .expect("in the workspace");
        let path = to.join(rel);
        let mut t = text(&path);
        let mut list: Vec<&Value> = edits.as_array().expect("edits").iter().collect();
        // From the end, so earlier offsets stay valid.
        list.sort_by_key(|e| {
            std::cmp::Reverse((
                e["range"]["start"]["line"].as_u64(),
                e["range"]["start"]["character"].as_u64(),
            ))
        });
        for e in list {
            let s = offset(&t, &e["range"]["start"]);
            let end = offset(&t, &e["range"]["end"]);
            t.replace_range(s..end, e["newText"].as_str().unwrap_or(""));
        }
        std::fs::write(&path, t).expect("write");
    }
}

/// A byte offset from an LSP position, counted independently of the server's code.
fn offset(t: &str, p: &Value) -> usize {
    let line = p["line"].as_u64().unwrap_or(0) as usize;
    let ch = p["character"].as_u64().unwrap_or(0) as usize;
    let mut at = 0;
    for (i, l) in t.split_inclusive('\n').enumerate() {
        if i == line {
            let mut units = 0;
            for (b, c) in l.char_indices() {
                if units >= ch || c == '\n' || c == '\r' {
                    return at + b;
                }
                units += c.len_utf16();
            }
            return at + l.trim_end_matches(['\n', '\r']).len();
        }
        at += l.len();
    }
    t.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenses_links_folding_and_semantic_tokens() {
    let root = ws();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let bu = uri(&root.join("benchmarks.pp"));
    let lenses = c
        .request("textDocument/codeLens", json!({"textDocument": td(&bu)}))
        .await
        .expect("lenses");
    let titles: Vec<String> = lenses
        .as_array()
        .expect("list")
        .iter()
        .map(|l| {
            format!(
                "{}: {}",
                l["range"]["start"]["line"],
                l["command"]["title"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        titles,
        vec![
            "0: 0 references",
            "0: 3 controls",
            "10: 1 reference",
            "10: 2 controls"
        ]
    );

    let cu = uri(&root.join("controls.pp"));
    let links = c
        .request(
            "textDocument/documentLink",
            json!({"textDocument": td(&cu)}),
        )
        .await
        .expect("links");
    assert_eq!(links.as_array().map(Vec::len), Some(1), "{links}");
    assert!(
        links[0]["target"]
            .as_str()
            .unwrap_or("")
            .ends_with("docs/iam_root.md")
    );
    assert_eq!(
        links[0]["range"]["start"],
        json!({"line": 23, "character": 24})
    );

    let du = uri(&root.join("dashboards.pp"));
    let folds = c
        .request(
            "textDocument/foldingRange",
            json!({"textDocument": td(&du)}),
        )
        .await
        .expect("folds");
    insta::assert_json_snapshot!("folding_dashboards", folds);

    let tokens = c
        .request(
            "textDocument/semanticTokens/full",
            json!({"textDocument": td(&cu)}),
        )
        .await
        .expect("tokens");
    let data: Vec<u64> = tokens["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    assert_eq!(data.len() % 5, 0);
    // Decoded: (line, column, length, type) per token, readable in the snapshot.
    let legend = [
        "keyword",
        "class",
        "variable",
        "parameter",
        "property",
        "string",
        "namespace",
        "type",
    ];
    let src = text(&root.join("controls.pp"));
    let lines: Vec<&str> = src.lines().collect();
    let (mut line, mut col) = (0u64, 0u64);
    let mut decoded = Vec::new();
    for t in data.chunks(5) {
        if t[0] > 0 {
            line += t[0];
            col = t[1];
        } else {
            col += t[1];
        }
        let l: Vec<u16> = lines[line as usize].encode_utf16().collect();
        let word = String::from_utf16_lossy(&l[col as usize..(col + t[2]) as usize]);
        decoded.push(format!(
            "{}:{} {} {:?}{}",
            line + 1,
            col + 1,
            legend[t[3] as usize],
            word,
            if t[4] & 1 == 1 { " (declaration)" } else { "" }
        ));
    }
    insta::assert_snapshot!("semantic_tokens_controls", decoded.join("\n"));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_requests_dashboards_tree_stats_and_dump() {
    let root = ws();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let d = c
        .request("modlens/dashboards", json!({}))
        .await
        .expect("dashboards");
    // The same payload the CLI prints.
    let o = common::open(&root, &Default::default(), Default::default());
    let fields = |id, key| o.resolver.dump_field(&o.model, id, key);
    let expected =
        serde_json::to_value(modlens::index::dashboards::payload(&o.model.index, &fields))
            .expect("json");
    assert_eq!(d, expected);
    let t = c
        .request("modlens/tree", json!({"resource": "benchmark.top"}))
        .await
        .expect("tree");
    insta::assert_json_snapshot!("tree_top", t);
    let missing = c
        .request("modlens/tree", json!({"resource": "benchmark.nope"}))
        .await;
    assert!(missing.is_err());
    let s = c.request("modlens/stats", json!({})).await.expect("stats");
    assert_eq!(s["projects"].as_array().map(Vec::len), Some(1));
    assert!(s["projects"][0]["load"]["resources"].as_u64().unwrap_or(0) > 10);
    assert!(s["projects"][0]["resolver"]["cache"].is_object());
    let dump = c.request("modlens/dump", json!({})).await.expect("dump");
    assert_eq!(dump["format"], 2);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_unknown_messages_get_errors_and_the_server_keeps_serving() {
    let root = ws();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    // Not JSON.
    c.send_raw(b"Content-Length: 9\r\n\r\n{not json").await;
    // JSON, but not JSON-RPC.
    c.send_raw(b"Content-Length: 12\r\n\r\n{\"hello\": 1}")
        .await;
    // A header without a length.
    c.send_raw(b"Content-Type: x\r\n\r\n").await;
    let err = c
        .wait_for(Duration::from_secs(10), |m| {
            m.get("error").is_some() && m["id"].is_null()
        })
        .await
        .expect("a parse error answer");
    assert!(err["error"]["code"].as_i64().is_some());
    // Unknown method, and wrong parameters.
    let r = c.request("modlens/nonsense", json!({})).await;
    assert_eq!(r.unwrap_err()["code"], -32601);
    let r = c
        .request("textDocument/hover", json!({"textDocument": 3}))
        .await;
    assert_eq!(r.unwrap_err()["code"], -32602);
    let r = c
        .request(
            "textDocument/hover",
            at("file:///nowhere/x.pp", json!({"line": 0, "character": 0})),
        )
        .await;
    assert!(r.is_err() || r == Ok(Value::Null), "{r:?}");
    // Still serving.
    let v = c
        .request("workspace/symbol", json!({"query": "s3"}))
        .await
        .expect("symbols");
    assert!(!v.as_array().expect("list").is_empty());
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_mods_and_several_folders_are_projects_of_their_own() {
    let nested = common::fixture("nested_mods");
    let other = ws();
    let (mut c, _) = Client::initialized(&[&nested, &other], json!({})).await;
    let s = c.request("modlens/stats", json!({})).await.expect("stats");
    let mut roots: Vec<String> = s["projects"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| {
            p["root"]
                .as_str()
                .map(|r| r.rsplit("fixtures/").next().unwrap_or(r).to_string())
        })
        .collect();
    roots.sort();
    assert_eq!(
        roots,
        vec![
            "lsp_workspace",
            "nested_mods/aws",
            "nested_mods/aws/examples/demo",
            "nested_mods/gcp"
        ]
    );
    let v = c
        .request("workspace/symbol", json!({"query": "bucket_public"}))
        .await
        .expect("symbols");
    let containers: Vec<&str> = v
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|s| s["containerName"].as_str())
        .collect();
    assert_eq!(containers.len(), 2, "{containers:?}");
    // No duplicate-name diagnostic: the two controls are in different mods.
    c.wait_loaded().await;
    let demo = nested.join("aws/examples/demo/demo.pp");
    let du = c.open(&demo).await;
    let d = c
        .wait_diagnostics(&du, Duration::from_secs(10), |_| true)
        .await
        .unwrap_or_default();
    assert!(d.is_empty(), "{d:?}");
    let h = c
        .request(
            "textDocument/hover",
            at(&du, pos_of(&text(&demo), "bucket_public", 1)),
        )
        .await
        .expect("hover");
    assert!(
        h["contents"]["value"]
            .as_str()
            .unwrap_or("")
            .contains("demo.control.bucket_public")
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_set_variables_and_a_change_of_settings_applies() {
    let root = ws();
    let (mut c, _) =
        Client::initialized(&[&root], json!({"variables": {"region": "ap-south-1"}})).await;
    let cpath = root.join("controls.pp");
    let cu = uri(&cpath);
    let p = pos_of(&text(&cpath), "var.region", 5);
    let h = c
        .request("textDocument/hover", at(&cu, p.clone()))
        .await
        .expect("hover");
    let md = h["contents"]["value"].as_str().unwrap_or("").to_string();
    assert!(
        md.contains("ap-south-1") && md.contains("from: --var"),
        "{md}"
    );
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"modlens": {"variables": {"region": "sa-east-1"}, "logLevel": "debug"}}}),
    )
    .await;
    let mut seen = String::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let h = c
            .request("textDocument/hover", at(&cu, p.clone()))
            .await
            .expect("hover");
        seen = h["contents"]["value"].as_str().unwrap_or("").to_string();
        if seen.contains("sa-east-1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen.contains("sa-east-1"), "{seen}");
    // A change notice without modlens's settings (VS Code's client sends `null` for a change
    // in any section; another section's settings; a client with nothing configured answers
    // `workspace/configuration` with `{}`) keeps them: never a reset to the defaults.
    for settings in [
        json!(null),
        json!({"editor": {"tabSize": 2}}),
        json!({"modlens": null}),
    ] {
        c.notify(
            "workspace/didChangeConfiguration",
            json!({ "settings": settings }),
        )
        .await;
    }
    for _ in 0..10 {
        let h = c
            .request("textDocument/hover", at(&cu, p.clone()))
            .await
            .expect("hover");
        let md = h["contents"]["value"].as_str().unwrap_or("").to_string();
        assert!(md.contains("sa-east-1"), "the settings were reset: {md}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_changed_on_disk_are_picked_up() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("ws");
    copy_dir(&ws(), &root);
    let root = std::fs::canonicalize(&root).expect("canonical");
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let find = |v: &Value, name: &str| {
        v.as_array()
            .is_some_and(|a| a.iter().any(|s| s["name"] == name))
    };
    // Changed, created and deleted files, told by the client.
    std::fs::write(
        root.join("extra.pp"),
        "control \"extra_one\" {\n  sql = \"select 1\"\n}\n",
    )
    .expect("write");
    let q = text(&root.join("queries.pp")).replace("bucket_versioning", "bucket_versions");
    std::fs::write(root.join("queries.pp"), q).expect("write");
    std::fs::remove_file(root.join("dashboards.pp")).expect("remove");
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [
            {"uri": uri(&root.join("extra.pp")), "type": 1},
            {"uri": uri(&root.join("queries.pp")), "type": 2},
            {"uri": uri(&root.join("dashboards.pp")), "type": 3},
        ]}),
    )
    .await;
    let mut ok = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let v = c
            .request("workspace/symbol", json!({"query": ""}))
            .await
            .expect("symbols");
        if find(&v, "control.extra_one")
            && find(&v, "query.bucket_versions")
            && !find(&v, "dashboard.buckets")
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "the index follows the disk");
    // The index equals a fresh scan of the files as they are now.
    let dump = c.request("modlens/dump", json!({})).await.expect("dump");
    assert_eq!(dump, fresh_dump(&root));
    // The control that used the renamed query now has a diagnostic.
    let cu = uri(&root.join("controls.pp"));
    c.wait_diagnostics(&cu, Duration::from_secs(30), |d| !d.is_empty())
        .await
        .expect("diagnostic");
    c.stop().await;
}

/// A copy of the workspace fixture in a temporary folder, served by a server that watches
/// it with notify (the client does not watch), initialized with `capabilities`.
async fn watched_copy(capabilities: Value) -> (tempfile::TempDir, PathBuf, Client) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("ws");
    copy_dir(&ws(), &root);
    let root = std::fs::canonicalize(&root).expect("canonical");
    let mut c = Client::start(modlens::lsp::Options {
        force_notify_watcher: true,
        ..Default::default()
    });
    c.request(
        "initialize",
        json!({"capabilities": capabilities,
               "workspaceFolders": [{"uri": uri(&root), "name": "ws"}]}),
    )
    .await
    .expect("initialize");
    c.notify("initialized", json!({})).await;
    (tmp, root, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notify_watcher_picks_up_changes_when_the_client_does_not_watch() {
    let (_tmp, root, mut c) = watched_copy(json!({})).await;
    c.request("workspace/symbol", json!({"query": ""}))
        .await
        .expect("ready");
    // A burst: many files at once, as a checkout writes them.
    for i in 0..40 {
        std::fs::write(
            root.join(format!("burst_{i}.pp")),
            format!("query \"burst_{i}\" {{\n  sql = \"select {i}\"\n}}\n"),
        )
        .expect("write");
    }
    std::fs::remove_file(root.join("benchmarks.pp")).expect("remove");
    let mut ok = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let v = c
            .request("workspace/symbol", json!({"query": "burst_"}))
            .await
            .expect("symbols");
        if v.as_array().map(Vec::len) == Some(40) {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "the watcher delivered the burst");
    let mut same = false;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        let dump = c.request("modlens/dump", json!({})).await.expect("dump");
        if dump == fresh_dump(&root) {
            same = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(same, "after the burst the index equals a fresh scan");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_and_writes_of_the_same_text_change_nothing() {
    // The server reads the workspace's files itself (to resolve), and a watcher sees every
    // read; none of that, nor a save of the same text, may bring a file in again (it would
    // drop what was resolved and, read again, loop).
    let (_tmp, root, mut c) = watched_copy(json!({"window": {"workDoneProgress": true}})).await;
    c.wait_loaded().await;
    let updates = |s: &Value| s["projects"][0]["model"]["file_updates"].as_u64();
    let before = c.request("modlens/stats", json!({})).await.expect("stats");
    assert_eq!(updates(&before), Some(0), "{before}");
    // Reads: hovers resolve (and read) resources of every file.
    let controls = uri(&root.join("controls.pp"));
    let text = std::fs::read_to_string(root.join("controls.pp")).expect("read");
    for (n, line) in text.lines().enumerate() {
        if let Some(i) = line.find("query.") {
            c.request(
                "textDocument/hover",
                json!({"textDocument": {"uri": controls},
                       "position": {"line": n, "character": i + 7}}),
            )
            .await
            .expect("hover");
        }
    }
    // The same text written again, and a file touched.
    // In place, not truncated first: a pause between the truncation and the write longer
    // than the watcher's debounce would be a real change (to an empty file) and back.
    let queries = std::fs::read(root.join("queries.pp")).expect("read");
    std::fs::File::options()
        .write(true)
        .open(root.join("queries.pp"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, &queries))
        .expect("write");
    std::fs::File::options()
        .append(true)
        .open(root.join("locals.pp"))
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .expect("touch");
    // Then one real change, the last event: once it is in, everything before it is too.
    // Appended in one write (no truncation that could be seen on its own).
    std::fs::File::options()
        .append(true)
        .open(root.join("benchmarks.pp"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, b"\n# changed\n"))
        .expect("append");
    let mut after = Value::Null;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        after = c.request("modlens/stats", json!({})).await.expect("stats");
        if updates(&after).unwrap_or(0) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = c.request("modlens/stats", json!({})).await.unwrap_or(after);
    assert_eq!(updates(&after), Some(1), "only the real change: {after}");
    c.stop().await;
}

/// The dump of a fresh load of `root`.
fn fresh_dump(root: &Path) -> Value {
    let o = common::open(root, &Default::default(), Default::default());
    let fields = |id, key| o.resolver.dump_field(&o.model, id, key);
    let read = |rel: &str| o.ws.read(rel);
    serde_json::to_value(modlens::index::dump::dump(&o.model.index, &read, &fields)).expect("json")
}

/// A small deterministic generator (the sequences must be reproducible from the seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_edit_sequences_leave_the_index_and_diagnostics_as_a_fresh_scan() {
    const PIECES: [&str; 14] = [
        "{",
        "}",
        "\"",
        "\n",
        "query.bucket_versioning",
        "local.s3_tags",
        "${var.region}",
        "control \"r\" {\n  title = \"é😀\"\n}\n",
        "<<-EOQ\nselect 1\nEOQ\n",
        "# comment {\n",
        "/*",
        "*/",
        "= ",
        "tags = { a = \"b\" }\n",
    ];
    for seed in [7u64, 1234, 99991] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("ws");
        copy_dir(&ws(), &root);
        let root = std::fs::canonicalize(&root).expect("canonical");
        let (mut c, _) = Client::initialized(&[&root], json!({})).await;
        let files = ["controls.pp", "dashboards.pp", "locals.pp", "queries.pp"];
        let mut texts: Vec<String> = files.iter().map(|f| text(&root.join(f))).collect();
        for f in files {
            c.open(&root.join(f)).await;
        }
        let mut rng = Rng(seed);
        for step in 0..60 {
            let i = rng.below(files.len());
            let t = &texts[i];
            // A range from one character boundary to another, replaced by a piece.
            let bounds: Vec<usize> = t.char_indices().map(|(b, _)| b).chain([t.len()]).collect();
            let a = bounds[rng.below(bounds.len())];
            let b = if rng.below(3) == 0 {
                a
            } else {
                bounds[rng.below(bounds.len())].max(a).min(a + 40)
            };
            let b = *bounds.iter().find(|x| **x >= b).unwrap_or(&t.len());
            let piece = if rng.below(4) == 0 {
                ""
            } else {
                PIECES[rng.below(PIECES.len())]
            };
            let start = lsp_pos(t, a);
            let end = lsp_pos(t, b);
            let mut new = t.clone();
            new.replace_range(a..b, piece);
            texts[i] = new;
            c.notify(
                "textDocument/didChange",
                json!({"textDocument": {"uri": uri(&root.join(files[i])), "version": step + 2},
                       "contentChanges": [{"range": {"start": start, "end": end}, "text": piece}]}),
            )
            .await;
            if rng.below(8) == 0 {
                // A request in between: the index is brought up to date mid-sequence.
                let _ = c
                    .request(
                        "textDocument/documentSymbol",
                        json!({"textDocument": td(&uri(&root.join(files[i])))}),
                    )
                    .await;
            }
        }
        // The same texts written to disk and scanned fresh.
        for (f, t) in files.iter().zip(&texts) {
            std::fs::write(root.join(f), t).expect("write");
        }
        let dump = c.request("modlens/dump", json!({})).await.expect("dump");
        assert_eq!(
            dump,
            fresh_dump(&root),
            "seed {seed}: the index after the edits"
        );
        // Diagnostics, once they settle, equal a fresh server's on the written files.
        let mut fresh = Client::initialized(&[&root], json!({})).await.0;
        fresh.wait_loaded().await;
        for f in files {
            let u = uri(&root.join(f));
            let want = project_diagnostics(&mut fresh, &u).await;
            let got = c
                .wait_diagnostics(&u, Duration::from_secs(30), |d| summarize(d) == want)
                .await;
            assert!(
                got.is_some(),
                "seed {seed}: diagnostics of {f}: {:?} vs {want:?}",
                c.diagnostics(&u).map(|d| summarize(&d))
            );
        }
        fresh.stop().await;
        c.stop().await;
    }
}

/// What a server publishes for a file once loaded (an unpublished file has none).
async fn project_diagnostics(c: &mut Client, u: &str) -> Vec<String> {
    c.wait_diagnostics(u, Duration::from_millis(200), |_| true)
        .await
        .map(|d| summarize(&d))
        .unwrap_or_default()
}

fn summarize(d: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = d
        .iter()
        .map(|x| {
            format!(
                "{}:{} {}",
                x["range"]["start"]["line"],
                x["range"]["start"]["character"],
                x["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    v.sort();
    v
}

/// The LSP position of a byte offset, counted independently of the server's code.
fn lsp_pos(t: &str, at: usize) -> Value {
    let before = &t[..at];
    let line = before.matches('\n').count();
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .encode_utf16()
        .count();
    json!({"line": line, "character": col})
}

/// A title set to `null` (or evaluated to null) is not set: symbols and hover show no title,
/// never the text `null`, and a `base`'s title where there is one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn null_titles_are_not_shown_and_a_base_gives_them() {
    let root = common::fixture("null_attributes");
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let controls = text(&root.join("controls.pp"));
    let u = uri(&root.join("controls.pp"));
    let syms = c
        .request(
            "textDocument/documentSymbol",
            json!({ "textDocument": td(&u) }),
        )
        .await
        .expect("symbols");
    let detail = |name: &str| -> Value {
        syms.as_array()
            .into_iter()
            .flatten()
            .find(|s| s["name"].as_str().is_some_and(|n| n.ends_with(name)))
            .map(|s| s["detail"].clone())
            .unwrap_or_else(|| panic!("{name} in {syms}"))
    };
    for name in ["null_title", "null_from_values"] {
        let d = detail(name);
        assert!(
            d.as_str().is_none_or(|d| !d.contains("null")),
            "{name}: {d}"
        );
    }
    assert_eq!(detail("derived_nulls"), "Base control");
    assert_eq!(detail("derived_from_values"), "Base control");
    let mut hovers = Vec::new();
    for needle in ["\"null_title\"", "\"derived_nulls\""] {
        let h = c
            .request("textDocument/hover", at(&u, pos_of(&controls, needle, 2)))
            .await
            .expect("hover");
        hovers.push(h["contents"]["value"].as_str().unwrap_or("").to_string());
    }
    let (own, based) = (&hovers[0], &hovers[1]);
    assert!(own.contains("null_attributes.control.null_title"), "{own}");
    assert!(!own.contains("###"), "no title: {own}");
    assert!(based.contains("### Base control"), "{based}");
    c.stop().await;
}
