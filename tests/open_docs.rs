//! Protocol tests for documents the editor holds open: one not yet on the disk (`:e new.pp`
//! in Neovim, an untitled buffer saved later into the mod folder) is part of the workspace
//! while it is open — completion, hover, definition and diagnostics work in it, and what
//! it defines is seen from other files — leaves it when closed unsaved, and gives way to
//! its file without duplicates once saved.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::lsp::{Client, at, loc, pos_of, uri};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

/// A copy of the `lsp_workspace` fixture, with a file on disk that uses `query.draft`, which
/// only the unsaved document defines.
fn workspace() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("ws");
    common::copy_dir(&common::fixture("lsp_workspace"), &root);
    std::fs::write(root.join("uses_draft.pp"), USES_DRAFT).expect("write");
    let root = std::fs::canonicalize(&root).expect("canonical");
    (tmp, root)
}

const USES_DRAFT: &str = "control \"uses_draft\" {\n  query = query.draft\n}\n";

/// The unsaved document: a reference to a query of the mod, one to nothing, and a query
/// that a file on disk uses.
const NEW: &str = "control \"fresh\" {\n  title = \"Fresh\"\n  query = query.bucket_versioning\n}\n\nbenchmark \"drafts\" {\n  children = [control.fresh, control.missing_one]\n}\n\nquery \"draft\" {\n  sql = \"select 1\"\n}\n";

fn labels(completion: &Value) -> Vec<String> {
    let items = completion
        .get("items")
        .unwrap_or(completion)
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut l: Vec<String> = items
        .iter()
        .filter_map(|i| i["label"].as_str().map(str::to_string))
        .collect();
    l.sort();
    l
}

fn messages(diags: &[Value]) -> Vec<String> {
    let mut m: Vec<String> = diags
        .iter()
        .map(|d| {
            format!(
                "{}:{} {}",
                d["range"]["start"]["line"].as_u64().unwrap_or(0) + 1,
                d["range"]["start"]["character"].as_u64().unwrap_or(0) + 1,
                d["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    m.sort();
    m
}

async fn open_text(c: &Client, u: &str, text: &str) {
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": u, "languageId": "powerpipe", "version": 1, "text": text}}),
    )
    .await;
}

/// How many times `name` is a workspace symbol.
async fn symbols_named(c: &mut Client, name: &str) -> usize {
    let v = c
        .request("workspace/symbol", json!({"query": name}))
        .await
        .expect("symbols");
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["name"] == name)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsaved_document_in_the_mod_is_part_of_the_workspace_while_open() {
    let (_tmp, root) = workspace();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let new = root.join("new.pp");
    assert!(!new.exists());
    let nu = uri(&new);
    let du = uri(&root.join("uses_draft.pp"));
    open_text(&c, &nu, NEW).await;

    // Completion after `query.`, hover and definition on a reference, in the new document.
    let after_dot = pos_of(NEW, "query.bucket_versioning", "query.".len());
    let completion = c
        .request("textDocument/completion", at(&nu, after_dot))
        .await
        .expect("completion");
    let on_ref = pos_of(NEW, "query.bucket_versioning", 8);
    let hover = c
        .request("textDocument/hover", at(&nu, on_ref.clone()))
        .await
        .expect("hover");
    let definition = c
        .request("textDocument/definition", at(&nu, on_ref))
        .await
        .expect("definition");
    // From a file on disk into the unsaved document.
    let into_new = c
        .request(
            "textDocument/definition",
            at(&du, pos_of(USES_DRAFT, "query.draft", 8)),
        )
        .await
        .expect("definition");
    // Its diagnostics are published under its URI.
    let diags = c
        .wait_diagnostics(&nu, WAIT, |d| !d.is_empty())
        .await
        .expect("diagnostics for the unsaved document");
    insta::assert_json_snapshot!(json!({
        "completion after query.": labels(&completion),
        "hover": hover["contents"]["value"],
        "definition": loc(&definition, &root),
        "definition from uses_draft.pp": loc(&into_new, &root),
        "diagnostics": messages(&diags),
    }));
    assert_eq!(symbols_named(&mut c, "control.fresh").await, 1);
    // The file on disk that uses the document's query is told it resolves now (it was
    // published unknown at the load), so its coming back below is a new publication.
    c.wait_diagnostics(&du, WAIT, |d| {
        !messages(d).iter().any(|m| m.contains("query.draft"))
    })
    .await
    .expect("uses_draft.pp's reference resolves while the document is open");

    // Closed without being saved: it leaves the workspace (its diagnostics are cleared, and
    // the file that used its query finds nothing there).
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": nu}}),
    )
    .await;
    c.wait_diagnostics(&nu, WAIT, |d| d.is_empty())
        .await
        .expect("the closed document's diagnostics are cleared");
    assert_eq!(symbols_named(&mut c, "control.fresh").await, 0);
    let gone = c
        .request(
            "textDocument/definition",
            at(&du, pos_of(USES_DRAFT, "query.draft", 8)),
        )
        .await
        .expect("definition");
    assert_eq!(gone, Value::Null);
    c.wait_diagnostics(&du, WAIT, |d| {
        messages(d).iter().any(|m| m.contains("query.draft"))
    })
    .await
    .expect("uses_draft.pp's reference is unknown again");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_document_gives_way_to_its_file_without_duplicates() {
    let (_tmp, root) = workspace();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let new = root.join("new.pp");
    let nu = uri(&new);
    open_text(&c, &nu, NEW).await;
    // A request on the document brings it into the index (as any next request on it does).
    let outline = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": nu}}),
        )
        .await
        .expect("document symbols");
    assert_eq!(outline.as_array().map(Vec::len), Some(3), "{outline}");
    assert_eq!(symbols_named(&mut c, "control.fresh").await, 1);
    // Saved: the file appears (the client's watch tells), then the save.
    std::fs::write(&new, NEW).expect("write");
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({"changes": [{"uri": nu, "type": 1}]}),
    )
    .await;
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": nu}, "text": NEW}),
    )
    .await;
    assert_eq!(symbols_named(&mut c, "control.fresh").await, 1);
    // Closed: the disk's file stays, once.
    c.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": nu}}),
    )
    .await;
    assert_eq!(symbols_named(&mut c, "control.fresh").await, 1);
    let dump = c.request("modlens/dump", json!({})).await.expect("dump");
    let files: Vec<&str> = dump["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["qualified_name"] == "lsp_workspace.control.fresh")
        .filter_map(|r| r["file"].as_str())
        .collect();
    assert_eq!(files, ["new.pp"]);
    c.stop().await;
}

/// What the server's statistics say of the project: (documents opened with nothing to do,
/// resources asked for at High priority — an open document's —, files brought into the
/// index again).
async fn open_figures(c: &mut Client) -> (u64, u64, u64) {
    let s = c.request("modlens/stats", json!({})).await.expect("stats");
    let p = &s["projects"][0];
    let high = p["scheduler"]["priorities"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["priority"] == "high")
        .map(|x| {
            ["queued", "in_flight", "done", "failed", "merged", "dropped"]
                .iter()
                .map(|k| x[*k].as_u64().unwrap_or(0))
                .sum::<u64>()
        })
        .sum();
    (
        p["model"]["opens_without_work"].as_u64().unwrap_or(0),
        high,
        p["model"]["file_updates"].as_u64().unwrap_or(0),
    )
}

/// Opening a file as it is on disk, once every diagnostic is current, changes nothing and
/// starts nothing: no rescan, no resolve of its resources, no publish — so the first
/// requests on it (hover, definition) wait for nothing of the open's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_file_as_it_is_on_disk_leaves_no_work_for_the_next_request() {
    let (_tmp, root) = workspace();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    // The background load has ended and every file's diagnostics are out.
    c.wait_loaded().await;
    let (opens0, high0, updates0) = open_figures(&mut c).await;
    let names = ["controls.pp", "dashboards.pp"];
    for name in names {
        let path = root.join(name);
        let text = std::fs::read_to_string(&path).expect("fixture file");
        let u = c.open(&path).await;
        let on_ref = at(&u, pos_of(&text, "query.bucket_versioning", 8));
        let hover = c
            .request("textDocument/hover", on_ref.clone())
            .await
            .expect("hover");
        assert!(
            hover["contents"]["value"]
                .as_str()
                .is_some_and(|h| h.contains("Bucket versioning")),
            "{hover}"
        );
        let definition = c
            .request("textDocument/definition", on_ref)
            .await
            .expect("definition");
        assert_eq!(loc(&definition, &root), "queries.pp:1:8");
    }
    // Each open has either said it had nothing to do, or started work (the old way: its
    // resources resolved at High priority for its diagnostics).
    let n = names.len() as u64;
    let mut figures = open_figures(&mut c).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while figures.0 - opens0 < n && figures.1 == high0 && tokio::time::Instant::now() < deadline {
        // The figures are the server's to change: asked again until they say, or the
        // deadline.
        tokio::time::sleep(Duration::from_millis(20)).await;
        figures = open_figures(&mut c).await;
    }
    let (opens, high, updates) = figures;
    assert_eq!(updates - updates0, 0, "no file was scanned again");
    assert_eq!(high - high0, 0, "no resource was resolved for the opens");
    assert_eq!(opens - opens0, n, "every open had nothing to do");
    c.stop().await;
}

/// An unsaved document in a mod that no workspace folder holds: its mod is opened from the
/// nearest folder that exists, and the document is part of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsaved_document_in_a_mod_outside_the_folders_opens_its_mod() {
    let (tmp, root) = workspace();
    let other = tmp.path().join("other");
    common::copy_dir(&common::fixture("basic_mod"), &other);
    let other = std::fs::canonicalize(&other).expect("canonical");
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let text = "control \"drafted\" {\n  query = query.s3_bucket_count\n}\n";
    let nu = uri(&other.join("drafts/new.pp"));
    open_text(&c, &nu, text).await;
    let definition = c
        .request(
            "textDocument/definition",
            at(&nu, pos_of(text, "query.s3_bucket_count", 8)),
        )
        .await
        .expect("definition");
    let target = definition["uri"].as_str().unwrap_or("");
    assert!(
        target.starts_with(&uri(&other)) && target.ends_with(".pp"),
        "{definition}"
    );
    c.stop().await;
}

/// An unsaved document in folders that hold no mod (up to `/`) opens no project: asked
/// about, the server says it is not in a mod workspace, and keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsaved_document_outside_any_mod_opens_nothing() {
    let (tmp, root) = workspace();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let lonely = std::fs::canonicalize(tmp.path()).expect("canonical");
    let nu = uri(&lonely.join("no/such/folders/new.pp"));
    open_text(&c, &nu, "query \"q\" {\n  sql = \"select 1\"\n}\n").await;
    let symbols = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": nu}}),
        )
        .await;
    assert!(symbols.is_err(), "{symbols:?}");
    let stats = c.request("modlens/stats", json!({})).await.expect("stats");
    assert_eq!(
        stats["projects"].as_array().map(Vec::len),
        Some(1),
        "{stats}"
    );
    c.stop().await;
}

/// Replaces the whole text of an open document (version `version`).
async fn change_text(c: &Client, u: &str, version: i32, text: &str) {
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": u, "version": version}, "contentChanges": [{"text": text}]}),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_right_after_an_edit_elsewhere_edits_the_edited_text() {
    // The user types in one file and renames from another before the server's pause after
    // the typing is over: the rename's edits must fit the text the editor holds now, or
    // applying them corrupts the file.
    let (_tmp, root) = workspace();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let dpath = root.join("dashboards.pp");
    let du = uri(&dpath);
    let before = std::fs::read_to_string(&dpath).expect("read");
    open_text(&c, &du, &before).await;
    let cpath = root.join("controls.pp");
    let cu = uri(&cpath);
    let controls = std::fs::read_to_string(&cpath).expect("read");
    open_text(&c, &cu, &controls).await;
    c.wait_loaded().await;
    // A first request, so both documents are in the index as opened.
    c.request(
        "textDocument/hover",
        at(&du, pos_of(&before, "query.bucket_versioning", 8)),
    )
    .await
    .expect("hover");

    let after = format!("# notes on the dashboards,\n# two lines of them\n{before}");
    change_text(&c, &du, 2, &after).await;
    let mut params = at(&cu, pos_of(&controls, "query.bucket_versioning", 8));
    params["newName"] = json!("versioning_status");
    let edit = c
        .request("textDocument/rename", params)
        .await
        .expect("rename");
    let edits = edit["changes"][du.as_str()]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!edits.is_empty(), "{edit}");
    assert_eq!(
        common::lsp::apply_edits(&after, &edits),
        after.replace("query.bucket_versioning", "query.versioning_status")
    );

    // References and workspace symbols see the edited text too.
    let with_query = format!("{after}\nquery \"typed_just_now\" {{\n  sql = \"select 1\"\n}}\n");
    change_text(&c, &du, 3, &with_query).await;
    let refs = c
        .request(
            "textDocument/references",
            json!({
                "textDocument": {"uri": cu},
                "position": pos_of(&controls, "query.bucket_versioning", 8),
                "context": {"includeDeclaration": false},
            }),
        )
        .await
        .expect("references");
    let in_dashboards: Vec<usize> = refs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["uri"] == du.as_str())
        .map(|l| common::lsp::lsp_offset(&with_query, &l["range"]["start"]))
        .collect();
    assert!(!in_dashboards.is_empty(), "{refs}");
    for at in in_dashboards {
        assert!(
            with_query[..at].ends_with("query.")
                && with_query[at..].starts_with("bucket_versioning"),
            "a reference at {at} of the edited text: {:?}",
            &with_query[at..(at + 30).min(with_query.len())]
        );
    }
    assert_eq!(symbols_named(&mut c, "query.typed_just_now").await, 1);
    let typed_later = with_query.replace("typed_just_now", "typed_later");
    change_text(&c, &du, 4, &typed_later).await;
    assert_eq!(symbols_named(&mut c, "query.typed_later").await, 1);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_edit_goes_to_a_document_whose_copy_was_dropped() {
    // A change that does not fit drops the server's copy of a document: the editor's text is
    // then unknown, and an edit computed from the disk's text could corrupt it.
    let (_tmp, root) = workspace();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let dpath = root.join("dashboards.pp");
    let du = uri(&dpath);
    let dashboards = std::fs::read_to_string(&dpath).expect("read");
    open_text(&c, &du, &dashboards).await;
    let cpath = root.join("controls.pp");
    let cu = uri(&cpath);
    let controls = std::fs::read_to_string(&cpath).expect("read");
    open_text(&c, &cu, &controls).await;
    c.wait_loaded().await;
    // Version 1 again: a change was repeated or one was lost.
    change_text(&c, &du, 1, &format!("# typed\n{dashboards}")).await;
    let mut params = at(&cu, pos_of(&controls, "query.bucket_versioning", 8));
    params["newName"] = json!("versioning_status");
    let r = c.request("textDocument/rename", params).await;
    let why = format!("{r:?}");
    assert!(
        r.is_err() && why.contains("dashboards.pp"),
        "a rename must be refused, naming the document: {why}"
    );

    // A quick fix in a dropped document is not offered either (its edits, like the stub
    // appended at the end, would be placed by the disk's text).
    let tpath = root.join("typo.pp");
    let typo = "control \"typo\" {\n  query = query.bucket_versionin\n}\n";
    std::fs::write(&tpath, typo).expect("write");
    let tu = uri(&tpath);
    open_text(&c, &tu, typo).await;
    let diags = c
        .wait_diagnostics(&tu, WAIT, |d| !d.is_empty())
        .await
        .expect("the unknown reference is reported");
    let ask = |diags: &[Value]| {
        json!({
            "textDocument": {"uri": tu},
            "range": diags[0]["range"],
            "context": {"diagnostics": diags},
        })
    };
    let offered = c
        .request("textDocument/codeAction", ask(&diags))
        .await
        .expect("actions");
    assert!(
        offered.as_array().is_some_and(|a| !a.is_empty()),
        "{offered}"
    );
    change_text(&c, &tu, 1, &format!("{typo}\n# more typed\n")).await;
    let actions = c.request("textDocument/codeAction", ask(&diags)).await;
    assert!(
        matches!(&actions, Ok(Value::Null))
            || actions
                .as_ref()
                .is_ok_and(|a| a.as_array().is_some_and(|a| a.is_empty())),
        "{actions:?}"
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_never_edits_a_file_by_text_it_no_longer_has() {
    // A file changes on disk (a checkout, another tool) and the rename comes before the
    // server hears of it: the client applies the edits to the file as it is now, so they
    // must fit that text, or the rename is refused — never silently partial.
    let (_tmp, root) = workspace();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let cpath = root.join("controls.pp");
    let cu = uri(&cpath);
    let controls = std::fs::read_to_string(&cpath).expect("read");
    open_text(&c, &cu, &controls).await;
    c.wait_loaded().await;
    let dpath = root.join("dashboards.pp");
    let du = uri(&dpath);
    let ask = || {
        let mut params = at(&cu, pos_of(&controls, "query.bucket_versioning", 8));
        params["newName"] = json!("versioning_status");
        params
    };
    // Its text is read (and kept) once before it changes.
    let first = c
        .request("textDocument/rename", ask())
        .await
        .expect("rename");
    assert!(first["changes"][du.as_str()].is_array(), "{first}");

    let before = std::fs::read_to_string(&dpath).expect("read");
    let now = format!("# notes\n# more notes\n{before}");
    std::fs::write(&dpath, &now).expect("write");
    match c.request("textDocument/rename", ask()).await {
        Err(e) => assert!(format!("{e}").contains("dashboards.pp"), "{e}"),
        Ok(edit) => {
            let edits = edit["changes"][du.as_str()]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert_eq!(
                common::lsp::apply_edits(&now, &edits),
                now.replace("query.bucket_versioning", "query.versioning_status"),
                "{edit}"
            );
        }
    }
    c.stop().await;
}
