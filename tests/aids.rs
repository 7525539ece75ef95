//! Protocol tests of the editing aids: inlay hints (titles after `children`, `query` and
//! `base` references, values after `var.x` / `local.x`), signature help for the functions
//! modlens evaluates, and the call hierarchy (benchmark → children → controls → queries,
//! and back), on the `lsp_workspace` fixture. Answers are snapshotted with the fixture's
//! path replaced by `WORKSPACE`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::lsp::{Client, pos_of, redact, uri};
use serde_json::{Value, json};

fn ws() -> PathBuf {
    common::fixture("lsp_workspace")
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).expect("fixture file")
}

/// The whole of a file, as an LSP range.
fn whole(text: &str) -> Value {
    json!({"start": {"line": 0, "character": 0}, "end": {"line": text.lines().count() + 1, "character": 0}})
}

/// `line:character label` of each hint, one a line.
fn hint_lines(hints: &Value) -> Vec<String> {
    hints
        .as_array()
        .expect("a list of hints")
        .iter()
        .map(|h| {
            format!(
                "{}:{} {}",
                h["position"]["line"],
                h["position"]["character"],
                h["label"].as_str().unwrap_or("(not a string)")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inlay_hints_show_titles_and_values_within_the_range() {
    let root = ws();
    let (mut c, init) = Client::initialized(&[&root], json!({})).await;
    assert_eq!(init["capabilities"]["inlayHintProvider"], true);
    let mut all = serde_json::Map::new();
    for name in ["benchmarks.pp", "controls.pp", "dashboards.pp", "locals.pp"] {
        let path = root.join(name);
        let t = text(&path);
        let u = c.open(&path).await;
        let hints = c
            .request(
                "textDocument/inlayHint",
                json!({"textDocument": {"uri": u}, "range": whole(&t)}),
            )
            .await
            .expect("inlay hints answer");
        for h in hints.as_array().expect("a list") {
            assert_eq!(h["paddingLeft"], true, "{h}");
            assert!(h["label"].is_string(), "{h}");
        }
        all.insert(name.to_string(), json!(hint_lines(&hints)));
    }
    insta::assert_json_snapshot!("inlay_hints", Value::Object(all));

    // Only the requested range: line 5 of benchmarks.pp (`benchmark.s3,`).
    let path = root.join("benchmarks.pp");
    let u = uri(&path);
    let hints = c
        .request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": u},
                   "range": {"start": {"line": 4, "character": 0}, "end": {"line": 5, "character": 0}}}),
        )
        .await
        .expect("inlay hints answer");
    assert_eq!(hint_lines(&hints), ["4:16 S3"]);

    // Titles turned off by a configuration change: the values stay.
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"modlens": {"inlayHints": {"titles": false}}}}),
    )
    .await;
    let controls = root.join("controls.pp");
    let t = text(&controls);
    let hints = c
        .request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": uri(&controls)}, "range": whole(&t)}),
        )
        .await
        .expect("inlay hints answer");
    let lines = hint_lines(&hints);
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.contains(" = ")),
        "{lines:?}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_inlay_hint_settings_asks_the_client_to_refresh() {
    let root = ws();
    let mut caps = common::lsp::editor_capabilities();
    caps["workspace"]["inlayHint"] = json!({"refreshSupport": true});
    let (mut c, _) = Client::initialized_with(&[&root], caps, Value::Null).await;
    let refreshes = |c: &Client| {
        c.messages()
            .iter()
            .filter(|m| m["method"] == "workspace/inlayHint/refresh")
            .count()
    };
    // Another setting, the hints' unchanged: no refresh (asked before the next answer).
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"modlens": {"logLevel": "info"}}}),
    )
    .await;
    c.request("workspace/symbol", json!({"query": "top"}))
        .await
        .expect("answers");
    assert_eq!(refreshes(&c), 0);
    c.notify(
        "workspace/didChangeConfiguration",
        json!({"settings": {"modlens": {"inlayHints": {"values": false}}}}),
    )
    .await;
    let asked = c
        .wait_for(Duration::from_secs(30), |m| {
            m["method"] == "workspace/inlayHint/refresh"
        })
        .await;
    assert!(
        asked.is_some(),
        "no refresh after the hint settings changed"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inlay_hints_can_be_turned_off_from_the_start() {
    let root = ws();
    let (mut c, _) = Client::initialized(
        &[&root],
        json!({"inlayHints": {"titles": false, "values": false}}),
    )
    .await;
    let path = root.join("controls.pp");
    let t = text(&path);
    let u = c.open(&path).await;
    let hints = c
        .request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": u}, "range": whole(&t)}),
        )
        .await
        .expect("inlay hints answer");
    assert_eq!(hints, json!([]));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_title_hint_is_one_line_and_never_empty() {
    let root = ws();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    // benchmarks.pp edited: benchmark.s3's title blank, control.iam_root's on two lines.
    let bench = root.join("benchmarks.pp");
    let edited = text(&bench).replace("title    = \"S3\"", "title    = \"  \"");
    let u = uri(&bench);
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": u, "languageId": "powerpipe", "version": 1, "text": edited}}),
    )
    .await;
    let controls = root.join("controls.pp");
    let edited_controls = text(&controls).replace(
        "title         = \"IAM root user should not be used\"",
        "title         = <<-EOT\n    IAM root user\n    should not be used\n  EOT",
    );
    assert_ne!(edited_controls, text(&controls));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(&controls), "languageId": "powerpipe", "version": 1, "text": edited_controls}}),
    )
    .await;
    let hints = c
        .request(
            "textDocument/inlayHint",
            json!({"textDocument": {"uri": u}, "range": whole(&edited)}),
        )
        .await
        .expect("inlay hints answer");
    let lines = hint_lines(&hints);
    assert!(
        lines.contains(&"5:20 IAM root user should not be used".to_string()),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.starts_with("4:")), "{lines:?}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_help_follows_the_argument_under_the_cursor() {
    let root = ws();
    let (mut c, init) = Client::initialized(&[&root], json!({})).await;
    assert_eq!(
        init["capabilities"]["signatureHelpProvider"]["triggerCharacters"],
        json!(["(", ","])
    );
    // An edited controls.pp: a local with calls, a string holding `(` and `,`.
    let path = root.join("controls.pp");
    let edited = format!(
        "{}\nlocals {{\n  x = replace(\"a,(b\", lower(local.y), )\n  m = merge(local.s3_tags, {{ a = 1, b = 2 }}, {{}}, )\n}}\n",
        text(&path)
    );
    let u = uri(&path);
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": u, "languageId": "powerpipe", "version": 1, "text": edited}}),
    )
    .await;
    let mut answers = serde_json::Map::new();
    for (what, needle, delta) in [
        ("replace, third argument", "lower(local.y), ", 16),
        ("lower, inside", "lower(local.y)", 6),
        ("replace, first argument (in the string)", "\"a,(b\"", 3),
        ("merge, variadic", "{}, )", 4),
        ("nothing: after the call", "file(\"docs/iam_root.md\")", 24),
    ] {
        let got = c
            .request(
                "textDocument/signatureHelp",
                json!({"textDocument": {"uri": u}, "position": pos_of(&edited, needle, delta)}),
            )
            .await
            .expect("signature help answers");
        answers.insert(what.to_string(), got);
    }
    insta::assert_json_snapshot!("signature_help", Value::Object(answers));
    c.stop().await;
}

/// `name (detail) @ line` of an item.
fn item_line(item: &Value) -> String {
    format!(
        "{} ({}) @ {}:{}",
        item["name"].as_str().unwrap_or(""),
        item["detail"].as_str().unwrap_or("-"),
        item["uri"]
            .as_str()
            .unwrap_or("")
            .rsplit('/')
            .next()
            .unwrap_or(""),
        item["selectionRange"]["start"]["line"]
    )
}

/// `item_line` of each call, with its from-ranges as `line:character`.
fn call_lines(calls: &Value, key: &str) -> Vec<String> {
    calls
        .as_array()
        .expect("a list of calls")
        .iter()
        .map(|call| {
            let ranges: Vec<String> = call["fromRanges"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| format!("{}:{}", r["start"]["line"], r["start"]["character"]))
                .collect();
            format!("{} from {}", item_line(&call[key]), ranges.join(", "))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_hierarchy_goes_down_from_benchmarks_and_up_from_queries() {
    let root = ws();
    let (mut c, init) = Client::initialized(&[&root], json!({})).await;
    assert_eq!(init["capabilities"]["callHierarchyProvider"], true);
    let bench = root.join("benchmarks.pp");
    let bu = uri(&bench);
    let prepared = c
        .request(
            "textDocument/prepareCallHierarchy",
            json!({"textDocument": {"uri": bu}, "position": pos_of(&text(&bench), "\"top\"", 1)}),
        )
        .await
        .expect("prepare answers");
    insta::assert_json_snapshot!("call_hierarchy_prepare", redact(&prepared, &root));
    let top = prepared[0].clone();

    let mut tree = serde_json::Map::new();
    let out = c
        .request("callHierarchy/outgoingCalls", json!({"item": top}))
        .await
        .expect("outgoing calls answer");
    tree.insert(
        "benchmark.top outgoing".into(),
        json!(call_lines(&out, "to")),
    );
    // Down one more level: benchmark.s3 → its controls.
    let s3 = out
        .as_array()
        .and_then(|a| a.iter().find(|x| x["to"]["name"] == "benchmark.s3"))
        .expect("benchmark.s3 is a child")["to"]
        .clone();
    let out = c
        .request("callHierarchy/outgoingCalls", json!({"item": s3}))
        .await
        .expect("outgoing calls answer");
    tree.insert(
        "benchmark.s3 outgoing".into(),
        json!(call_lines(&out, "to")),
    );
    let versioning = out
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|x| x["to"]["name"] == "control.s3_versioning")
        })
        .expect("the control is a child")["to"]
        .clone();
    let out = c
        .request("callHierarchy/outgoingCalls", json!({"item": versioning}))
        .await
        .expect("outgoing calls answer");
    tree.insert(
        "control.s3_versioning outgoing".into(),
        json!(call_lines(&out, "to")),
    );

    // Up from the query: the control and the dashboard's input use it.
    let queries = root.join("queries.pp");
    let prepared = c
        .request(
            "textDocument/prepareCallHierarchy",
            json!({"textDocument": {"uri": uri(&queries)}, "position": pos_of(&text(&queries), "bucket_versioning", 2)}),
        )
        .await
        .expect("prepare answers");
    let query = prepared[0].clone();
    let incoming = c
        .request("callHierarchy/incomingCalls", json!({"item": query}))
        .await
        .expect("incoming calls answer");
    tree.insert(
        "query.bucket_versioning incoming".into(),
        json!(call_lines(&incoming, "from")),
    );
    let input = incoming
        .as_array()
        .and_then(|a| a.iter().find(|x| x["from"]["name"] == "input.bucket_arn"))
        .expect("the input uses the query")["from"]
        .clone();
    let incoming = c
        .request("callHierarchy/incomingCalls", json!({"item": input}))
        .await
        .expect("incoming calls answer");
    tree.insert(
        "input.bucket_arn incoming".into(),
        json!(call_lines(&incoming, "from")),
    );
    // A control: which benchmarks include it.
    let controls = root.join("controls.pp");
    let prepared = c
        .request(
            "textDocument/prepareCallHierarchy",
            json!({"textDocument": {"uri": uri(&controls)}, "position": pos_of(&text(&controls), "\"iam_root\"", 1)}),
        )
        .await
        .expect("prepare answers");
    let incoming = c
        .request(
            "callHierarchy/incomingCalls",
            json!({"item": prepared[0].clone()}),
        )
        .await
        .expect("incoming calls answer");
    tree.insert(
        "control.iam_root incoming".into(),
        json!(call_lines(&incoming, "from")),
    );
    // The dashboard: its nested blocks and what they use.
    let dash = root.join("dashboards.pp");
    let prepared = c
        .request(
            "textDocument/prepareCallHierarchy",
            json!({"textDocument": {"uri": uri(&dash)}, "position": pos_of(&text(&dash), "\"buckets\"", 1)}),
        )
        .await
        .expect("prepare answers");
    let out = c
        .request(
            "callHierarchy/outgoingCalls",
            json!({"item": prepared[0].clone()}),
        )
        .await
        .expect("outgoing calls answer");
    tree.insert(
        "dashboard.buckets outgoing".into(),
        json!(call_lines(&out, "to")),
    );
    insta::assert_json_snapshot!("call_hierarchy", Value::Object(tree));

    // Nothing to prepare on a variable or outside any block.
    let vars = root.join("variables.pp");
    let none = c
        .request(
            "textDocument/prepareCallHierarchy",
            json!({"textDocument": {"uri": uri(&vars)}, "position": pos_of(&text(&vars), "\"region\"", 1)}),
        )
        .await
        .expect("prepare answers");
    assert_eq!(none, Value::Null);
    // The item outlives an edit that moves its block: found again by its name.
    let moved = format!("\n\n{}", text(&bench));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": bu, "languageId": "powerpipe", "version": 1, "text": moved}}),
    )
    .await;
    let out = c
        .request("callHierarchy/outgoingCalls", json!({"item": top.clone()}))
        .await
        .expect("outgoing calls answer");
    assert_eq!(
        call_lines(&out, "to"),
        [
            "benchmark.s3 (S3) @ benchmarks.pp:12 from 6:4",
            "control.iam_root (IAM root user should not be used) @ controls.pp:20 from 7:4"
        ]
    );
    // An item without its data is refused, not guessed.
    let mut bare = top.clone();
    bare["data"] = Value::Null;
    assert!(
        c.request("callHierarchy/outgoingCalls", json!({"item": bare}))
            .await
            .is_err()
    );
    c.stop().await;
}
