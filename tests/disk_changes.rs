//! The language server and the disk: a change is never lost, whatever order writes, reads
//! and watcher events come in, and nothing outside the mod is ever read, whichever path (a
//! fresh walk, the client's watch, the notify watcher) meets a symbolic link. Each test ends
//! when the server's `modlens/dump` equals a fresh load of the same files (or fails at a
//! deadline saying how they differ).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::lsp::{Client, difference, uri};
use serde_json::{Value, json};

/// How long the server has to catch up with the disk.
const SETTLE: Duration = Duration::from_secs(20);

/// Files of about 8 KiB each in `fill/`, more than a 256 KiB source cache holds.
const FILLERS: usize = 40;

/// Settings with the smallest source cache (256 KiB).
fn small_cache() -> Value {
    json!({ "cacheMb": 1 })
}

/// Reads every filler file (hovers over its query): whatever else the source cache held is
/// evicted.
async fn evict(c: &mut Client, root: &Path) {
    for i in 0..FILLERS {
        hover(
            c,
            &root.join(format!("fill/f{i}.pp")),
            &format!("query \"filler_{i}"),
        )
        .await;
    }
}

/// A copy of the protocol tests' workspace in `tmp/ws` (canonical), with [`FILLERS`] filler
/// files, and an empty `tmp/outside`.
fn workspace_copy() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let base = std::fs::canonicalize(tmp.path()).expect("canonical");
    let root = base.join("ws");
    common::copy_dir(&common::fixture("lsp_workspace"), &root);
    std::fs::create_dir_all(root.join("fill")).expect("mkdir");
    // Long comments, short blocks: cheap to resolve, costly to cache.
    let padding =
        "# padding the file to eight kilobytes, a comment is read but not parsed\n".repeat(110);
    for i in 0..FILLERS {
        std::fs::write(
            root.join(format!("fill/f{i}.pp")),
            format!("{padding}query \"filler_{i}\" {{\n  sql = \"select {i}\"\n}}\n"),
        )
        .expect("write");
    }
    let outside = base.join("outside");
    std::fs::create_dir_all(&outside).expect("mkdir");
    (tmp, root, outside)
}

/// The dump of a fresh load of `root`.
fn fresh_dump(root: &Path) -> Value {
    let o = common::open(root, &Default::default(), Default::default());
    let fields = |id, key| o.resolver.dump_field(&o.model, id, key);
    let read = |rel: &str| o.ws.read(rel);
    serde_json::to_value(modlens::index::dump::dump(&o.model.index, &read, &fields)).expect("json")
}

/// Waits until the server's dump equals `want()` (computed again each time: the disk may
/// still be settling); on the deadline, fails showing the difference.
async fn dump_becomes(c: &mut Client, want: impl Fn() -> Value, what: &str) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let got = c.request("modlens/dump", json!({})).await.expect("dump");
        let want = want();
        if got == want {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "{what}: the server's dump never became a fresh load's:\n{}",
                difference(&got, &want)
            );
        }
        // The next look, once the server has had a moment (its events are debounced).
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn watched(c: &Client, changes: &[(&Path, u32)]) {
    let changes: Vec<Value> = changes
        .iter()
        .map(|(p, t)| json!({"uri": uri(p), "type": t}))
        .collect();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": changes }),
    )
    .await;
}

/// Hovers over `needle` in `path` (a closed document): the server reads the file.
async fn hover(c: &mut Client, path: &Path, needle: &str) {
    let text = std::fs::read_to_string(path).expect("read");
    let at = common::lsp::pos_of(&text, needle, 1);
    let _ = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": uri(path)}, "position": at}),
        )
        .await;
}

fn symbols_contain(v: &Value, needle: &str) -> bool {
    v.to_string().contains(needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_read_between_its_write_and_its_event_is_not_lost() {
    // The server reads a closed file that is not in its source cache (a hover) after it was
    // written and before the watcher tells it: the read must not make the event look like
    // "unchanged" (the file's text in the cache is not what the index was built from).
    let (_tmp, root, _) = workspace_copy();
    let (mut c, _) = Client::initialized(&[&root], small_cache()).await;
    c.wait_loaded().await;
    evict(&mut c, &root).await;
    let queries = root.join("queries.pp");
    let changed = std::fs::read_to_string(&queries)
        .expect("read")
        .replace("\"Bucket versioning\"", "\"Bucket versioning, changed\"");
    std::fs::write(&queries, &changed).expect("write");
    hover(&mut c, &queries, "query \"bucket_versioning").await;
    watched(&c, &[(&queries, 2)]).await;
    dump_becomes(&mut c, || fresh_dump(&root), "after the event").await;
    let dump = c.request("modlens/dump", json!({})).await.expect("dump");
    assert!(dump.to_string().contains("Bucket versioning, changed"));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_no_event_tells_of_is_found_by_a_read() {
    // No event at all (a client that registered its watch after the load began, a watcher
    // that lost events): a read from the disk shows the file is not what the index was built
    // from, and the server indexes it again by itself.
    let (_tmp, root, _) = workspace_copy();
    let (mut c, _) = Client::initialized(&[&root], small_cache()).await;
    c.wait_loaded().await;
    evict(&mut c, &root).await;
    let queries = root.join("queries.pp");
    let mut changed = std::fs::read_to_string(&queries).expect("read").replace(
        "\"Bucket versioning\"",
        "\"Bucket versioning, unannounced\"",
    );
    changed.push_str("\nquery \"unclosed\" {\n");
    std::fs::write(&queries, &changed).expect("write");
    hover(&mut c, &queries, "query \"bucket_versioning").await;
    dump_becomes(&mut c, || fresh_dump(&root), "after the read").await;
    // And the editor is told: the new syntax error is published.
    let u = uri(&queries);
    c.wait_diagnostics(&u, SETTLE, |d| {
        d.iter().any(|x| {
            x["message"]
                .as_str()
                .is_some_and(|m| m.contains("not closed"))
        })
    })
    .await
    .unwrap_or_else(|| panic!("diagnostics of queries.pp: {:?}", c.diagnostics(&u)));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_root_folder_s_event_reads_every_file_again() {
    // A folder's path stands for the files below it: the root's, for all of them.
    let (_tmp, root, _) = workspace_copy();
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    for (file, from, to) in [
        (
            "queries.pp",
            "\"Bucket versioning\"",
            "\"Versioning, again\"",
        ),
        ("locals.pp", "\"Compliance\"", "\"Compliance, again\""),
    ] {
        let p = root.join(file);
        let t = std::fs::read_to_string(&p).expect("read").replace(from, to);
        std::fs::write(&p, t).expect("write");
    }
    watched(&c, &[(&root, 2)]).await;
    dump_becomes(&mut c, || fresh_dump(&root), "after the root's event").await;
    c.stop().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_replaced_by_a_link_to_outside_is_not_read() {
    use std::os::unix::fs::symlink;
    let (_tmp, root, outside) = workspace_copy();
    std::fs::write(
        outside.join("secret.pp"),
        "query \"secret_outside\" {\n  title = \"SECRET TEXT\"\n  sql = \"select 1\"\n}\n",
    )
    .expect("write");
    std::fs::create_dir_all(root.join("sub")).expect("mkdir");
    std::fs::write(
        root.join("sub/extra.pp"),
        "query \"sub_extra\" {\n  sql = \"select 2\"\n}\n",
    )
    .expect("write");
    std::fs::create_dir_all(outside.join("dir")).expect("mkdir");
    std::fs::write(
        outside.join("dir/extra.pp"),
        "query \"sub_extra\" {\n  title = \"SECRET DIR\"\n  sql = \"select 3\"\n}\n",
    )
    .expect("write");
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    // An indexed file becomes a link to a file outside; a folder, a link to a folder outside.
    let queries = root.join("queries.pp");
    std::fs::remove_file(&queries).expect("remove");
    symlink(outside.join("secret.pp"), &queries).expect("link");
    std::fs::remove_dir_all(root.join("sub")).expect("remove");
    symlink(outside.join("dir"), root.join("sub")).expect("link");
    watched(&c, &[(&queries, 2), (&root.join("sub"), 2)]).await;
    dump_becomes(&mut c, || fresh_dump(&root), "after the links").await;
    let dump = c.request("modlens/dump", json!({})).await.expect("dump");
    assert!(!dump.to_string().contains("SECRET"), "{dump}");
    let symbols = c
        .request("workspace/symbol", json!({"query": ""}))
        .await
        .expect("symbols");
    assert!(!symbols_contain(&symbols, "secret_outside"));
    assert!(!symbols_contain(&symbols, "sub_extra"));
    // Opened in the editor, the link's text is the client's, never read from the disk; and
    // the file is still not part of the workspace.
    let u = c.open(&queries).await;
    let _ = c
        .request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": u}}),
        )
        .await;
    dump_becomes(&mut c, || fresh_dump(&root), "with the link open").await;
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_moved_in_is_found_by_the_notify_watcher() {
    let (_tmp, root, outside) = workspace_copy();
    let mut c = Client::start(modlens::lsp::Options {
        force_notify_watcher: true,
        ..Default::default()
    });
    c.request(
        "initialize",
        json!({"capabilities": {}, "workspaceFolders": [{"uri": uri(&root), "name": "ws"}]}),
    )
    .await
    .expect("initialize");
    c.notify("initialized", json!({})).await;
    c.request("workspace/symbol", json!({"query": ""}))
        .await
        .expect("ready");
    // Written elsewhere, then moved in whole (one event, for the folder).
    let incoming = outside.join("incoming.d");
    std::fs::create_dir_all(incoming.join("deeper")).expect("mkdir");
    std::fs::write(
        incoming.join("a.pp"),
        "query \"moved_in_a\" {\n  sql = \"select 1\"\n}\n",
    )
    .expect("write");
    std::fs::write(
        incoming.join("deeper/b.pp"),
        "control \"moved_in_b\" {\n  query = query.moved_in_a\n}\n",
    )
    .expect("write");
    std::fs::rename(&incoming, root.join("incoming.d")).expect("move");
    dump_becomes(&mut c, || fresh_dump(&root), "after the move").await;
    // And moved out again.
    std::fs::rename(root.join("incoming.d"), &incoming).expect("move");
    dump_becomes(&mut c, || fresh_dump(&root), "after the move out").await;
    c.stop().await;
}

/// A mod whose title and description are read with `file()`: `title.txt` holds `title`,
/// `missing.md` does not exist yet.
fn file_reading_mod(title: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = std::fs::canonicalize(tmp.path()).expect("canonical");
    std::fs::write(root.join("mod.pp"), "mod \"reads\" {}\n").expect("write");
    std::fs::write(
        root.join("controls.pp"),
        "control \"titled\" {\n  sql   = \"select 1\"\n  title = file(\"./title.txt\")\n}\n\n\
         control \"described\" {\n  sql         = \"select 1\"\n  description = file(\"./missing.md\")\n}\n",
    )
    .expect("write");
    std::fs::write(root.join("title.txt"), title).expect("write");
    (tmp, root)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_a_file_that_file_reads_is_seen() {
    // `title.txt` and `missing.md` are not mod files: before, their changes were not the
    // server's, and what `file()` had read stayed until the mod file itself was edited.
    let (_tmp, root) = file_reading_mod("First title");
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    c.wait_loaded().await;
    let controls = uri(&root.join("controls.pp"));
    let missing = |d: &[Value]| {
        d.iter().any(|x| {
            x["message"]
                .as_str()
                .is_some_and(|m| m.contains("missing.md"))
        })
    };
    c.wait_diagnostics(&controls, SETTLE, |d| missing(d))
        .await
        .unwrap_or_else(|| panic!("diagnostics: {:?}", c.diagnostics(&controls)));
    dump_becomes(&mut c, || fresh_dump(&root), "at the start").await;
    let dump = c.request("modlens/dump", json!({})).await.expect("dump");
    assert!(dump.to_string().contains("First title"), "{dump}");

    // The title's file is written, the missing one created; the client tells of both.
    std::fs::write(root.join("title.txt"), "Second title").expect("write");
    std::fs::write(root.join("missing.md"), "Found").expect("write");
    watched(
        &c,
        &[(&root.join("title.txt"), 2), (&root.join("missing.md"), 1)],
    )
    .await;
    dump_becomes(&mut c, || fresh_dump(&root), "after the writes").await;
    let dump = c.request("modlens/dump", json!({})).await.expect("dump");
    assert!(dump.to_string().contains("Second title"), "{dump}");
    assert!(dump.to_string().contains("Found"), "{dump}");
    c.wait_diagnostics(&controls, SETTLE, |d| !missing(d))
        .await
        .unwrap_or_else(|| panic!("diagnostics: {:?}", c.diagnostics(&controls)));

    // And removed again: the error is back.
    std::fs::remove_file(root.join("missing.md")).expect("remove");
    watched(&c, &[(&root.join("missing.md"), 3)]).await;
    c.wait_diagnostics(&controls, SETTLE, |d| missing(d))
        .await
        .unwrap_or_else(|| panic!("diagnostics: {:?}", c.diagnostics(&controls)));
    c.stop().await;
}
