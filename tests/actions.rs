//! Code actions and completion item defaults over the protocol: the quick fixes offered for
//! the server's own diagnostics (snapshotted), applied the way a client applies them (text
//! edits on the open document, created files written and announced), after which the
//! diagnostic is gone; and completion lists with and without `itemDefaults`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::lsp::{Client, apply_edits, editor_capabilities, pos_of, redact, uri};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// A copy of the `invalid_code_actions` fixture (edits are written to it).
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("invalid_code_actions");
    common::copy_dir(&common::fixture("invalid_code_actions"), &root);
    (dir, root)
}

/// The editor's capabilities, with workspace edits that may create files or not, and
/// completion item defaults or not.
fn capabilities(create_files: bool, item_defaults: bool) -> Value {
    let mut caps = editor_capabilities();
    if create_files {
        caps["workspace"]["workspaceEdit"] =
            json!({"documentChanges": true, "resourceOperations": ["create"]});
    }
    if item_defaults {
        caps["textDocument"]["completion"]["completionList"] = json!({
            "itemDefaults": ["commitCharacters", "editRange", "insertTextFormat", "insertTextMode", "data"]
        });
    }
    caps
}

/// A server initialized on `root` with `caps`, its index loaded.
async fn start(root: &Path, caps: Value) -> Client {
    Client::initialized_with(&[root], caps, Value::Null).await.0
}

/// An open document: its URI, text and version.
struct Doc {
    uri: String,
    text: String,
    version: i64,
}

async fn open(c: &Client, path: &Path) -> Doc {
    let u = c.open(path).await;
    Doc {
        uri: u,
        text: std::fs::read_to_string(path).expect("fixture"),
        version: 1,
    }
}

/// Waits for a published diagnostic of `doc` whose message starts with `prefix` and holds
/// `needle`.
async fn diagnostic(c: &Client, doc: &Doc, prefix: &str, needle: &str) -> Value {
    let found = |d: &[Value]| {
        d.iter()
            .find(|x| {
                let m = x["message"].as_str().unwrap_or("");
                m.starts_with(prefix) && m.contains(needle)
            })
            .cloned()
    };
    let list = c
        .wait_diagnostics(&doc.uri, WAIT, |d| found(d).is_some())
        .await
        .unwrap_or_else(|| panic!("no diagnostic `{prefix}…{needle}…` on {}", doc.uri));
    found(&list).expect("found")
}

/// Waits until no diagnostic of `doc` holds `needle`.
async fn gone(c: &Client, doc: &Doc, needle: &str) -> Vec<Value> {
    c.wait_diagnostics(&doc.uri, WAIT, |d| {
        !d.iter()
            .any(|x| x["message"].as_str().unwrap_or("").contains(needle))
    })
    .await
    .unwrap_or_else(|| panic!("`{needle}` is still reported on {}", doc.uri))
}

/// The code actions for one diagnostic.
async fn actions(c: &mut Client, doc: &Doc, diag: &Value) -> Vec<Value> {
    let answer = c
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": doc.uri},
                "range": diag["range"],
                "context": {"diagnostics": [diag]},
            }),
        )
        .await
        .expect("codeAction answers");
    answer.as_array().cloned().unwrap_or_default()
}

fn titled<'a>(list: &'a [Value], start: &str) -> &'a Value {
    list.iter()
        .find(|a| a["title"].as_str().unwrap_or("").starts_with(start))
        .unwrap_or_else(|| panic!("no action `{start}…` in {list:#?}"))
}

/// Applies an action's edits to the open document `doc` (sent as a full-text change).
async fn apply_to_doc(c: &Client, doc: &mut Doc, action: &Value) {
    let edits = action["edit"]["changes"][&doc.uri]
        .as_array()
        .unwrap_or_else(|| panic!("no edit of {} in {action:#}", doc.uri));
    doc.text = apply_edits(&doc.text, edits);
    doc.version += 1;
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": doc.uri, "version": doc.version},
            "contentChanges": [{"text": doc.text}],
        }),
    )
    .await;
}

/// Applies an action's document changes to the disk (files created, edits written), and
/// tells the server as a watching client does.
async fn apply_to_disk(c: &Client, action: &Value) {
    let ops = action["edit"]["documentChanges"]
        .as_array()
        .unwrap_or_else(|| panic!("no document changes in {action:#}"));
    let mut changes = Vec::new();
    for op in ops {
        let u = op["uri"]
            .as_str()
            .or(op["textDocument"]["uri"].as_str())
            .expect("a uri");
        let path = path_of(u);
        if op["kind"] == "create" {
            assert!(!path.exists(), "the action creates a file that exists");
            std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
            std::fs::write(&path, "").expect("write");
            changes.push(json!({"uri": u, "type": 1}));
        } else {
            let text = std::fs::read_to_string(&path).expect("the file exists");
            let edits = op["edits"].as_array().expect("edits");
            std::fs::write(&path, apply_edits(&text, edits)).expect("write");
            changes.push(json!({"uri": u, "type": 2}));
        }
    }
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": changes }),
    )
    .await;
}

/// The path of a `file://` URI.
fn path_of(u: &str) -> PathBuf {
    let parsed: tower_lsp_server::ls_types::Uri = u.parse().expect("a URI");
    parsed.to_file_path().expect("a file URI").into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_references_get_near_names_and_stubs() {
    let (_tmp, root) = workspace();
    let mut c = start(&root, capabilities(true, false)).await;
    let mut doc = open(&c, &root.join("controls.pp")).await;
    let diag = diagnostic(&c, &doc, "unknown reference", "query.bucketz").await;
    let list = actions(&mut c, &doc, &diag).await;
    insta::assert_json_snapshot!("unknown_query", redact(&json!(list), &root));
    // The preferred one fixes it, in the unsaved text.
    let best = list
        .iter()
        .find(|a| a["isPreferred"] == true)
        .expect("a preferred action");
    apply_to_doc(&c, &mut doc, best).await;
    assert!(doc.text.contains("query = query.buckets\n"));
    gone(&c, &doc, "query.bucketz").await;
    // A child: did you mean, and a control created in a new file named like its neighbours.
    let diag = diagnostic(&c, &doc, "unknown reference", "control.usr_check").await;
    let list = actions(&mut c, &doc, &diag).await;
    assert_eq!(
        titled(&list, "Did you mean")["title"],
        "Did you mean `control.user_check`?"
    );
    let create = titled(&list, "Create control `usr_check` in a new file");
    assert_eq!(
        create["title"],
        "Create control `usr_check` in a new file usr_check.pp"
    );
    apply_to_disk(&c, create).await;
    gone(&c, &doc, "control.usr_check").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stub_appended_to_the_file_resolves_the_reference() {
    let (_tmp, root) = workspace();
    let mut c = start(&root, capabilities(false, false)).await;
    let mut doc = open(&c, &root.join("controls.pp")).await;
    let diag = diagnostic(&c, &doc, "unknown reference", "query.bucketz").await;
    let list = actions(&mut c, &doc, &diag).await;
    // Without resource operations, no file is created.
    assert!(
        list.iter()
            .all(|a| a["edit"].get("documentChanges").is_none()),
        "{list:#?}"
    );
    let append = titled(&list, "Create query `bucketz` at the end of this file");
    apply_to_doc(&c, &mut doc, append).await;
    assert!(
        doc.text
            .ends_with("\nquery \"bucketz\" {\n  sql = <<-EOQ\n    select 1\n  EOQ\n}\n")
    );
    let after = gone(&c, &doc, "query.bucketz").await;
    // Nothing new is wrong with the stub.
    assert!(
        after
            .iter()
            .all(|d| !d["message"].as_str().unwrap_or("").contains("bucketz")),
        "{after:#?}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_listed_twice_is_removed_with_its_comma() {
    let (_tmp, root) = workspace();
    let mut c = start(&root, capabilities(false, false)).await;
    let mut doc = open(&c, &root.join("controls.pp")).await;
    let diag = diagnostic(&c, &doc, "duplicate child", "bucket_check").await;
    let list = actions(&mut c, &doc, &diag).await;
    insta::assert_json_snapshot!("duplicate_child", redact(&json!(list), &root));
    apply_to_doc(&c, &mut doc, &list[0]).await;
    assert!(
        doc.text
            .contains("  children = [\n    control.bucket_check,\n    control.user_check,\n  ]\n")
    );
    // The one on a single line (once the diagnostics are of the edited text).
    gone(&c, &doc, "duplicate child control.bucket_check").await;
    let diag = diagnostic(&c, &doc, "duplicate child", "user_check").await;
    let list = actions(&mut c, &doc, &diag).await;
    apply_to_doc(&c, &mut doc, &list[0]).await;
    assert!(
        doc.text
            .contains("children = [/* ünï 𝄞 */ control.user_check, control.usr_check]\n")
    );
    gone(&c, &doc, "duplicate child").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variable_without_a_value_gets_a_typed_default() {
    let (_tmp, root) = workspace();
    let mut c = start(&root, capabilities(true, false)).await;
    let mut doc = open(&c, &root.join("variables.pp")).await;
    let mut snapshot = Vec::new();
    for name in ["region", "limits", "untyped"] {
        let diag = diagnostic(&c, &doc, &format!("variable `{name}`"), "no default").await;
        let list = actions(&mut c, &doc, &diag).await;
        snapshot.push(json!({ "variable": name, "actions": list }));
        let add = list
            .iter()
            .find(|a| a["isPreferred"] == true)
            .expect("a preferred action");
        apply_to_doc(&c, &mut doc, add).await;
        gone(&c, &doc, &format!("variable `{name}`")).await;
    }
    insta::assert_json_snapshot!("variable_defaults", redact(&json!(snapshot), &root));
    insta::assert_snapshot!("variable_defaults_text", doc.text);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variable_without_a_value_gets_a_ppvars_entry() {
    let (_tmp, root) = workspace();
    let mut c = start(&root, capabilities(true, false)).await;
    let doc = open(&c, &root.join("variables.pp")).await;
    // No powerpipe.ppvars yet: the action creates it.
    let diag = diagnostic(&c, &doc, "variable `region`", "no default").await;
    let list = actions(&mut c, &doc, &diag).await;
    let create = titled(&list, "Create powerpipe.ppvars setting `region`");
    apply_to_disk(&c, create).await;
    gone(&c, &doc, "variable `region`").await;
    assert_eq!(
        std::fs::read_to_string(root.join("powerpipe.ppvars")).expect("created"),
        "region = \"\"\n"
    );
    // Now it exists: the next one is appended to it.
    let diag = diagnostic(&c, &doc, "variable `limits`", "no default").await;
    let list = actions(&mut c, &doc, &diag).await;
    let set = titled(&list, "Set `limits` in powerpipe.ppvars");
    let ppvars = uri(&root.join("powerpipe.ppvars"));
    let edits = set["edit"]["changes"][&ppvars].as_array().expect("an edit");
    let path = root.join("powerpipe.ppvars");
    let text = std::fs::read_to_string(&path).expect("exists");
    std::fs::write(&path, apply_edits(&text, edits)).expect("write");
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": ppvars, "type": 2}]}),
    )
    .await;
    gone(&c, &doc, "variable `limits`").await;
    assert_eq!(
        std::fs::read_to_string(&path).expect("exists"),
        "region = \"\"\nlimits = { max = 0 }\n"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ppvars_file_is_offered_without_resource_operations() {
    let (_tmp, root) = workspace();
    let mut c = start(&root, capabilities(false, false)).await;
    let doc = open(&c, &root.join("variables.pp")).await;
    let diag = diagnostic(&c, &doc, "variable `region`", "no default").await;
    let list = actions(&mut c, &doc, &diag).await;
    let titles: Vec<&str> = list.iter().filter_map(|a| a["title"].as_str()).collect();
    assert_eq!(titles, ["Add `default = \"\"` to variable `region`"]);
    // Asked only for refactorings: none.
    let answer = c
        .request(
            "textDocument/codeAction",
            json!({
                "textDocument": {"uri": doc.uri},
                "range": diag["range"],
                "context": {"diagnostics": [diag], "only": ["refactor"]},
            }),
        )
        .await
        .expect("answers");
    assert!(answer.is_null() || answer == json!([]), "{answer}");
    c.stop().await;
}

/// A completion of every resource type and function at an expression's start: hundreds of
/// items.
async fn long_completion(c: &mut Client, root: &Path) -> Value {
    let path = root.join("controls.pp");
    let u = c.open(&path).await;
    let text = std::fs::read_to_string(&path).expect("fixture");
    c.request(
        "textDocument/completion",
        json!({"textDocument": {"uri": u}, "position": pos_of(&text, "query.users", 0)}),
    )
    .await
    .expect("completion answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completion_lists_use_item_defaults_when_the_client_takes_them() {
    let (_tmp, root) = workspace();
    let mut plain = start(&root, capabilities(false, false)).await;
    let without = long_completion(&mut plain, &root).await;
    plain.stop().await;
    let mut c = start(&root, capabilities(false, true)).await;
    let with = long_completion(&mut c, &root).await;
    c.stop().await;
    let items = without["items"].as_array().expect("a list");
    assert!(items.len() > 50, "{} items", items.len());
    assert!(without.get("itemDefaults").is_none());
    assert!(items.iter().all(|i| i.get("textEdit").is_some()));
    let defaults = &with["itemDefaults"];
    assert_eq!(defaults["editRange"], items[0]["textEdit"]["range"]);
    // The same items, lighter, and each one the same completion once the defaults apply.
    let lighter = with["items"].as_array().expect("a list");
    assert_eq!(lighter.len(), items.len());
    for (full, light) in items.iter().zip(lighter) {
        assert!(light.get("textEdit").is_none());
        let text = light
            .get("textEditText")
            .or(light.get("label"))
            .expect("a text");
        assert_eq!(*text, full["textEdit"]["newText"]);
        let format = light
            .get("insertTextFormat")
            .or(defaults.get("insertTextFormat"))
            .and_then(Value::as_u64)
            .unwrap_or(1);
        assert_eq!(format, full["insertTextFormat"].as_u64().unwrap_or(1));
        assert_eq!(light["label"], full["label"]);
        assert_eq!(light.get("data").or(defaults.get("data")), full.get("data"));
    }
    let (a, b) = (without.to_string().len(), with.to_string().len());
    assert!(b * 10 < a * 9, "not lighter: {b} bytes vs {a}");
    insta::assert_json_snapshot!(
        "completion_item_defaults",
        json!({
            "itemDefaults": defaults,
            "first_items": lighter.iter().take(3).collect::<Vec<_>>(),
        })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_names_come_from_dependencies_too() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("dependency_mod");
    common::copy_dir(&common::fixture("dependency_mod"), &root);
    let mut c = start(&root, capabilities(true, false)).await;
    let mut doc = open(&c, &root.join("dashboard.pp")).await;
    // Unsaved text: two misspelt references to the dependency's queries.
    doc.text.push_str(
        "\ncontrol \"typo_bare\" {\n  query = query.s3_bucket_lst\n}\n\ncontrol \"typo_dep\" {\n  query = aws_insights.query.s3_bucket_cont\n}\n",
    );
    doc.version += 1;
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": doc.uri, "version": doc.version},
            "contentChanges": [{"text": doc.text}],
        }),
    )
    .await;
    let bare = diagnostic(&c, &doc, "unknown reference", "query.s3_bucket_lst").await;
    let list = actions(&mut c, &doc, &bare).await;
    let best = titled(&list, "Did you mean");
    assert_eq!(
        best["title"],
        "Did you mean `aws_insights.query.s3_bucket_list`?"
    );
    assert_eq!(best["isPreferred"], true);
    // A stub of the mod's own is offered too (the reference names this mod).
    titled(
        &list,
        "Create query `s3_bucket_lst` at the end of this file",
    );
    apply_to_doc(&c, &mut doc, best).await;
    assert!(
        doc.text
            .contains("query = aws_insights.query.s3_bucket_list\n")
    );

    // Prefixed: the dependency's names only, and nothing created in an installed mod.
    let dep = diagnostic(
        &c,
        &doc,
        "unknown reference",
        "aws_insights.query.s3_bucket_cont",
    )
    .await;
    let list = actions(&mut c, &doc, &dep).await;
    let titles: Vec<&str> = list.iter().filter_map(|a| a["title"].as_str()).collect();
    assert_eq!(
        titles[0], "Did you mean `aws_insights.query.s3_bucket_count`?",
        "{titles:?}"
    );
    assert!(
        titles.iter().all(|t| !t.starts_with("Create")),
        "{titles:?}"
    );
    apply_to_doc(&c, &mut doc, &list[0]).await;
    assert!(
        doc.text
            .contains("query = aws_insights.query.s3_bucket_count\n")
    );
    gone(&c, &doc, "s3_bucket_lst").await;
    gone(&c, &doc, "s3_bucket_cont`").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_names_follow_edits_of_the_workspace() {
    let (_tmp, root) = workspace();
    let mut c = start(&root, capabilities(false, false)).await;
    let mut doc = open(&c, &root.join("controls.pp")).await;
    let diag = diagnostic(&c, &doc, "unknown reference", "query.bucketz").await;
    let before = actions(&mut c, &doc, &diag).await;
    let near = "Did you mean `query.bucketzz`?";
    assert!(before.iter().all(|a| a["title"] != near), "{before:#?}");
    // A query of a near name added: the names kept for the last request are not reused.
    doc.text
        .push_str("\nquery \"bucketzz\" {\n  sql = \"select 1\"\n}\n");
    doc.version += 1;
    c.notify(
        "textDocument/didChange",
        json!({
            "textDocument": {"uri": doc.uri, "version": doc.version},
            "contentChanges": [{"text": doc.text}],
        }),
    )
    .await;
    let after = actions(&mut c, &doc, &diag).await;
    assert!(after.iter().any(|a| a["title"] == near), "{after:#?}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_entry_is_appended_to_a_ppvars_file_by_text_it_no_longer_has() {
    let (_tmp, root) = workspace();
    let path = root.join("powerpipe.ppvars");
    std::fs::write(&path, "region = \"x\"").expect("write");
    let mut c = start(&root, capabilities(true, false)).await;
    let doc = open(&c, &root.join("variables.pp")).await;
    let diag = diagnostic(&c, &doc, "variable `limits`", "no default").await;
    let list = actions(&mut c, &doc, &diag).await;
    titled(&list, "Set `limits` in powerpipe.ppvars");
    // Changed on disk, and the server not told yet (its watcher's event is still to come).
    let now = "region = \"a longer value\"\n";
    std::fs::write(&path, now).expect("write");
    let list = actions(&mut c, &doc, &diag).await;
    let ppvars = uri(&path);
    for a in &list {
        if let Some(edits) = a["edit"]["changes"][&ppvars].as_array() {
            let applied = apply_edits(now, edits);
            assert!(applied.starts_with(now), "{}: {applied:?}", a["title"]);
        }
    }
    c.stop().await;
}
