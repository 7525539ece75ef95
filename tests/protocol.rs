//! The protocol's edges, driven over an in-memory stream with raw JSON-RPC frames: broken
//! frames, text the client encodes in ways JSON does not allow, changes that cannot be
//! applied, messages in an order the protocol does not promise, cancellation. The rule
//! under test: the server never dies, never loses a message it could read, and never keeps
//! a text that differs from the client's.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::lsp::{Client, editor_capabilities, uri};
use proptest::prelude::*;
use serde_json::{Value, json};

/// A mod in a temporary folder: `mod.pp` and the given files.
fn mod_dir(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("m");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(root.join("mod.pp"), "mod \"m\" {\n  title = \"M\"\n}\n").expect("write");
    for (name, text) in files {
        std::fs::write(root.join(name), text).expect("write");
    }
    let root = std::fs::canonicalize(&root).expect("canonical");
    (tmp, root)
}

/// The dump of a fresh load of a mod holding `files` (as `mod_dir` writes them).
fn dump_of(files: &[(&str, &str)]) -> Value {
    let (_tmp, root) = mod_dir(files);
    let o = common::open(&root, &Default::default(), Default::default());
    let fields = |id, key| o.resolver.dump_field(&o.model, id, key);
    let read = |rel: &str| o.ws.read(rel);
    serde_json::to_value(modlens::index::dump::dump(&o.model.index, &read, &fields)).expect("json")
}

fn frame(body: &str) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// Sends a request as raw JSON text and waits at most `secs` for its answer (the message).
async fn ask(c: &Client, id: i64, method: &str, params: Value, secs: u64) -> Option<Value> {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    c.send_raw(&frame(&body.to_string())).await;
    answer(c, id, secs).await
}

/// The answer to request `id`, waiting at most `secs`.
async fn answer(c: &Client, id: i64, secs: u64) -> Option<Value> {
    c.wait_for(Duration::from_secs(secs), |m| {
        m["id"] == id && m.get("method").is_none()
    })
    .await
}

fn parse_errors(c: &Client) -> usize {
    c.messages()
        .iter()
        .filter(|m| m["error"]["code"] == -32700)
        .count()
}

/// A document change, as JSON text (so that it may hold what `serde_json` cannot write).
fn change_text(u: &str, version: i32, range: [u32; 4], text_json: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":"textDocument/didChange","params":{{"textDocument":{{"uri":"{u}","version":{version}}},"contentChanges":[{{"range":{{"start":{{"line":{},"character":{}}},"end":{{"line":{},"character":{}}}}},"text":{text_json}}}]}}}}"#,
        range[0], range[1], range[2], range[3]
    )
}

async fn open_doc(c: &Client, path: &Path, text: &str) -> String {
    let u = uri(path);
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": u, "languageId": "powerpipe", "version": 1, "text": text}}),
    )
    .await;
    u
}

async fn dump(c: &mut Client) -> Value {
    c.request("modlens/dump", json!({})).await.expect("dump")
}

/// The `window/showMessage` notifications so far.
fn shown(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["method"] == "window/showMessage")
        .map(|m| m["params"]["message"].as_str().unwrap_or("").to_string())
        .collect()
}

// ----- frames ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_broken_frame_gets_one_parse_error_and_the_next_request_its_answer() {
    let (_tmp, root) = mod_dir(&[("q.pp", "query \"q\" {\n  sql = \"select 1\"\n}\n")]);
    let (c, _) = Client::initialized(&[&root], json!({})).await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "a header without Content-Length",
            b"Content-Type: x\r\n\r\n{}".to_vec(),
        ),
        ("garbage", b"hello".to_vec()),
        ("garbage and a line break", b"garbage\r\n".to_vec()),
        (
            "a Content-Length too short",
            b"Content-Length: 30\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"x\"}".to_vec(),
        ),
        (
            "a Content-Length too long",
            b"Content-Length: 500\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":78,\"method\":\"x\"}".to_vec(),
        ),
        ("a cut header", b"Content-Len".to_vec()),
        (
            "a length that is no number",
            b"Content-Length: x\r\n\r\n{}".to_vec(),
        ),
    ];
    for (i, (name, bad)) in cases.into_iter().enumerate() {
        let before = parse_errors(&c);
        let id = 100 + i as i64;
        let mut bytes = bad;
        bytes.extend(frame(
            &json!({"jsonrpc": "2.0", "id": id, "method": "workspace/symbol", "params": {"query": "q"}})
                .to_string(),
        ));
        c.send_raw(&bytes).await;
        let a = answer(&c, id, 20).await;
        assert!(
            a.as_ref().is_some_and(|a| a["result"].is_array()),
            "{name}: the request after it was not answered: {a:?}"
        );
        // The broken frame's answer goes out before the next request's.
        assert_eq!(parse_errors(&c), before + 1, "{name}: one parse error");
    }
    // A request whose frame broke is answered under its own id when its body says it.
    for id in [77, 78] {
        let a = answer(&c, id, 1)
            .await
            .expect("the broken request is answered");
        assert_eq!(a["error"]["code"], -32700);
    }
    c.stop().await;
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..10),
        Just(b"Content-Length: ".to_vec()),
        Just(b"Content-Length: 9\r\n\r\n".to_vec()),
        Just(b"Content-Length: 300\r\n\r\n".to_vec()),
        Just(b"Content-Le".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r\n\r\n".to_vec()),
        Just(b"{\"".to_vec()),
        Just(b"42".to_vec()),
    ];
    proptest::collection::vec(token, 1..10).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any garbage followed by a valid request: the request is answered (before
    /// `initialize`, with the protocol's "not initialized" error — an answer all the same).
    #[test]
    fn any_garbage_followed_by_a_valid_request_gets_the_request_answered(bad in garbage()) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let answered = rt.block_on(async {
            let c = Client::start(Default::default());
            let mut bytes = bad.clone();
            bytes.extend(frame(r#"{"jsonrpc":"2.0","id":424242,"method":"workspace/symbol","params":{"query":""}}"#));
            c.send_raw(&bytes).await;
            answer(&c, 424242, 10).await
        });
        prop_assert!(answered.is_some(), "not answered after {:?}", String::from_utf8_lossy(&bad));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_huge_ids_and_dollar_requests_are_answered() {
    let (_tmp, root) = mod_dir(&[]);
    let (c, _) = Client::initialized(&[&root], json!({})).await;
    // A `$/` request: method not found (tower-lsp-server alone never answers it).
    let a = ask(&c, 300, "$/unknown", json!({}), 20)
        .await
        .expect("answered");
    assert_eq!(a["error"]["code"], -32601);
    // A batch: each of its requests is answered.
    c.send_raw(&frame(
        r#"[{"jsonrpc":"2.0","id":301,"method":"workspace/symbol","params":{"query":""}},{"jsonrpc":"2.0","id":302,"method":"$/x"}]"#,
    ))
    .await;
    assert!(
        answer(&c, 301, 20)
            .await
            .is_some_and(|a| a["result"].is_array())
    );
    assert_eq!(
        answer(&c, 302, 20).await.expect("answered")["error"]["code"],
        -32601
    );
    // An id beyond 64 bits: refused under that id, so the client can match it.
    c.send_raw(&frame(
        r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"workspace/symbol","params":{"query":""}}"#,
    ))
    .await;
    let a = c
        .wait_for(Duration::from_secs(20), |m| {
            m["id"] == json!(18446744073709551615u64)
        })
        .await
        .expect("answered under its id");
    assert_eq!(a["error"]["code"], -32600);
    c.stop().await;
}

// ----- document text --------------------------------------------------------------------

const TITLED: &str = "query \"q\" {\n  title = \"ab\"\n  sql   = \"select 1\"\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_surrogate_in_a_change_is_one_unit_and_later_changes_land_in_place() {
    let (_tmp, root) = mod_dir(&[("q.pp", TITLED)]);
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let u = open_doc(&c, &root.join("q.pp"), TITLED).await;
    // Between `a` and `b` (line 1, column 11): half an emoji, then `X` after it.
    c.send_raw(&frame(&change_text(&u, 2, [1, 12, 1, 12], r#""\ud83d""#)))
        .await;
    c.send_raw(&frame(&change_text(&u, 3, [1, 13, 1, 13], r#""X""#)))
        .await;
    let want = TITLED.replace("\"ab\"", "\"a\u{FFFD}Xb\"");
    assert_eq!(dump(&mut c).await, dump_of(&[("q.pp", &want)]));
    assert_eq!(parse_errors(&c), 0, "nothing was refused");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_splits_an_emoji_keeps_positions_and_the_save_restores_the_text() {
    let text = TITLED.replace("\"ab\"", "\"a😀b\"");
    let (_tmp, root) = mod_dir(&[("q.pp", &text)]);
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let u = open_doc(&c, &root.join("q.pp"), &text).await;
    // 😀 (D83D DE00) becomes 😁 (D83D DE01) by a one-unit diff, then `Y` goes after it.
    c.send_raw(&frame(&change_text(&u, 2, [1, 13, 1, 14], r#""\ude01""#)))
        .await;
    c.send_raw(&frame(&change_text(&u, 3, [1, 14, 1, 14], r#""Y""#)))
        .await;
    let client_text = TITLED.replace("\"ab\"", "\"a😁Yb\"");
    // Until a save, the server holds the halves as U+FFFD: the same places, other text.
    let held = TITLED.replace("\"ab\"", "\"a\u{FFFD}\u{FFFD}Yb\"");
    assert_eq!(dump(&mut c).await, dump_of(&[("q.pp", &held)]));
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": u}, "text": client_text}),
    )
    .await;
    assert_eq!(dump(&mut c).await, dump_of(&[("q.pp", &client_text)]));
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_carriage_return_ends_a_line_as_the_client_counts_it() {
    let text = "query \"q\" {\r  title = \"ab\"\r}\r";
    let (_tmp, root) = mod_dir(&[("q.pp", text)]);
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let u = open_doc(&c, &root.join("q.pp"), text).await;
    c.send_raw(&frame(&change_text(&u, 2, [1, 12, 1, 12], r#""X""#)))
        .await;
    let want = "query \"q\" {\r  title = \"aXb\"\r}\r";
    assert_eq!(dump(&mut c).await, dump_of(&[("q.pp", want)]));
    c.stop().await;
}

/// Each way a change can fail to reach the text: the copy is dropped (the index takes the
/// file on disk again, the user is told), and the text of a save brings it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_that_cannot_be_applied_drops_the_copy_until_a_save_brings_it_back() {
    let (_tmp, root) = mod_dir(&[("q.pp", TITLED)]);
    let disk = dump_of(&[("q.pp", TITLED)]);
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    /// A way to break a change: the bytes sent for document `uri`.
    type Breaker = Box<dyn Fn(&str) -> Vec<u8>>;
    let cases: Vec<(&str, Breaker)> = vec![
        (
            "a range below the last line",
            Box::new(|u: &str| frame(&change_text(u, 3, [9, 0, 9, 0], r#""Z""#))),
        ),
        (
            "a version that does not grow",
            Box::new(|u: &str| frame(&change_text(u, 2, [0, 0, 0, 0], r#""Z""#))),
        ),
        (
            "parameters that do not decode",
            Box::new(|u: &str| frame(&change_text(u, 3, [0, 0, 0, 0], "7"))),
        ),
        (
            "a change that is not JSON",
            Box::new(|u: &str| {
                let t = change_text(u, 3, [0, 0, 0, 0], r#""Z""#);
                frame(&t[..t.len() - 20])
            }),
        ),
        (
            "a change cut before its document (every copy is dropped)",
            Box::new(|_: &str| {
                frame(r#"{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocu"#)
            }),
        ),
        (
            "a frame cut short",
            Box::new(|u: &str| {
                let t = change_text(u, 3, [0, 0, 0, 0], r#""Z""#);
                let mut f = format!("Content-Length: {}\r\n\r\n", t.len() - 9).into_bytes();
                f.extend_from_slice(t.as_bytes());
                f
            }),
        ),
    ];
    for (i, (name, bad)) in cases.iter().enumerate() {
        let u = open_doc(&c, &root.join("q.pp"), TITLED).await;
        // A good change first: version 2 holds `title = "aXb"`.
        c.send_raw(&frame(&change_text(&u, 2, [1, 12, 1, 12], r#""X""#)))
            .await;
        let with_x = TITLED.replace("\"ab\"", "\"aXb\"");
        assert_eq!(dump(&mut c).await, dump_of(&[("q.pp", &with_x)]), "{name}");
        let before = shown(&c.messages()).len();
        c.send_raw(&bad(&u)).await;
        let told = c
            .wait_until(Duration::from_secs(20), |m| shown(m).len() > before)
            .await;
        let new = shown(&c.messages()).split_off(before);
        assert!(
            told && new.len() == 1 && new[0].contains("lost track of your changes to q.pp"),
            "{name}: the user is told once: {new:?}"
        );
        assert_eq!(
            dump(&mut c).await,
            disk,
            "{name}: the file on disk, not a guess"
        );
        // The client goes on typing; then it saves: that text is the document again.
        c.send_raw(&frame(&change_text(&u, 5, [0, 0, 0, 0], r#""""#)))
            .await;
        let saved = TITLED.replace("\"ab\"", &format!("\"saved {i}\""));
        c.notify(
            "textDocument/didSave",
            json!({"textDocument": {"uri": u}, "text": saved}),
        )
        .await;
        assert_eq!(dump(&mut c).await, dump_of(&[("q.pp", &saved)]), "{name}");
        // Later changes apply to it.
        c.send_raw(&frame(&change_text(&u, 6, [1, 11, 1, 11], r#""!""#)))
            .await;
        let typed = saved.replace("\"saved", "\"!saved");
        assert_eq!(dump(&mut c).await, dump_of(&[("q.pp", &typed)]), "{name}");
        c.notify("textDocument/didClose", json!({"textDocument": {"uri": u}}))
            .await;
    }
    c.stop().await;
}

/// Closing a document and opening it again at once (an editor reloading it): the index
/// ends with the reopened text, never the disk's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_closed_and_reopened_at_once_keeps_the_reopened_text() {
    let (_tmp, root) = mod_dir(&[("q.pp", TITLED)]);
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let path = root.join("q.pp");
    let u = uri(&path);
    for i in 0..200 {
        let text = TITLED.replace("\"ab\"", &format!("\"open {i}\""));
        let mut bytes = Vec::new();
        for msg in [
            json!({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": u}}}),
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
                "uri": u, "languageId": "powerpipe", "version": 1, "text": text}}}),
        ] {
            bytes.extend(frame(&msg.to_string()));
        }
        c.send_raw(&bytes).await;
        let title = |d: &Value| {
            d["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|r| r["name"] == "q")
                .map(|r| r["title"].clone())
        };
        let want = json!(format!("open {i}"));
        assert_eq!(title(&dump(&mut c).await), Some(want.clone()), "round {i}");
        // Again, after whatever the close still had to do.
        let _ = c.request("modlens/stats", json!({})).await;
        assert_eq!(title(&dump(&mut c).await), Some(want), "round {i}, later");
    }
    c.stop().await;
}

/// A save whose text differs from the server's copy (it drifted somehow): the save wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_text_of_a_save_replaces_a_copy_that_drifted() {
    let (_tmp, root) = mod_dir(&[("q.pp", TITLED)]);
    let (mut c, init) = Client::initialized(&[&root], json!({})).await;
    assert_eq!(
        init["capabilities"]["textDocumentSync"]["save"]["includeText"],
        true
    );
    let u = open_doc(&c, &root.join("q.pp"), TITLED).await;
    let client = TITLED.replace("\"ab\"", "\"client\"");
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": u}, "text": client}),
    )
    .await;
    assert_eq!(dump(&mut c).await, dump_of(&[("q.pp", &client)]));
    c.stop().await;
}

// ----- lifecycle ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initialized_sent_before_the_initialize_answer_still_loads_the_workspace() {
    let (_tmp, root) = mod_dir(&[("q.pp", TITLED)]);
    let c = Client::start(Default::default());
    let mut bytes = frame(
        &json!({"jsonrpc": "2.0", "id": 1001, "method": "initialize", "params": {
            "capabilities": editor_capabilities(),
            "workspaceFolders": [{"uri": uri(&root), "name": "m"}]}})
        .to_string(),
    );
    // Sent at once, with a document opened, before the answer.
    bytes.extend(frame(
        r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
    ));
    bytes.extend(frame(
        &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri(&root.join("q.pp")), "languageId": "powerpipe", "version": 1,
            "text": TITLED.replace("query \"q\"", "query \"opened\"")}}})
        .to_string(),
    ));
    bytes.extend(frame(
        r#"{"jsonrpc":"2.0","id":1002,"method":"workspace/symbol","params":{"query":"opened"}}"#,
    ));
    c.send_raw(&bytes).await;
    assert!(
        answer(&c, 1001, 20)
            .await
            .is_some_and(|a| a["result"].is_object())
    );
    let a = answer(&c, 1002, 30)
        .await
        .expect("the workspace loads and the request is answered");
    let names: Vec<&str> = a["result"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(names.iter().any(|n| n.contains("opened")), "{a}");
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_after_shutdown_are_invalid_and_notifications_before_initialize_are_dropped() {
    let (_tmp, root) = mod_dir(&[("q.pp", TITLED)]);
    let c = Client::start(Default::default());
    // Before `initialize`: a notification is dropped, a request refused.
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri(&root.join("q.pp")),
        "languageId": "powerpipe", "version": 1, "text": ""}}),
    )
    .await;
    let a = ask(&c, 5, "workspace/symbol", json!({"query": ""}), 20)
        .await
        .expect("answered");
    assert_eq!(a["error"]["code"], -32002);
    let a = ask(
        &c,
        6,
        "initialize",
        json!({"capabilities": {},
        "workspaceFolders": [{"uri": uri(&root), "name": "m"}]}),
        20,
    )
    .await
    .expect("answered");
    assert!(a["result"].is_object());
    c.notify("initialized", json!({})).await;
    let a = ask(&c, 7, "shutdown", Value::Null, 20)
        .await
        .expect("answered");
    assert_eq!(a["result"], Value::Null);
    let a = ask(&c, 8, "workspace/symbol", json!({"query": ""}), 20)
        .await
        .expect("answered");
    assert_eq!(a["error"]["code"], -32600);
    c.notify("exit", Value::Null).await;
}

// ----- cancellation ---------------------------------------------------------------------

/// Requests that wait (here: for an index that is not loading, as `initialized` is not
/// sent) fill any slot a concurrency limit has; the cancels and a cheap request after them
/// must not wait for those slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_requests_are_answered_at_once_and_free_their_place() {
    let (_tmp, root) = mod_dir(&[("q.pp", TITLED)]);
    let c = Client::start(Default::default());
    let a = ask(
        &c,
        1001,
        "initialize",
        json!({"capabilities": {},
        "workspaceFolders": [{"uri": uri(&root), "name": "m"}]}),
        20,
    )
    .await;
    assert!(a.is_some());
    let slow: Vec<i64> = (100..116).collect();
    let mut bytes = Vec::new();
    for id in &slow {
        bytes.extend(frame(
            &json!({"jsonrpc": "2.0", "id": id, "method": "workspace/symbol", "params": {"query": ""}})
                .to_string(),
        ));
    }
    for id in &slow {
        bytes.extend(frame(
            &json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": id}})
                .to_string(),
        ));
    }
    // A request that needs no index.
    bytes.extend(frame(
        r#"{"jsonrpc":"2.0","id":200,"method":"completionItem/resolve","params":{"label":"x"}}"#,
    ));
    c.send_raw(&bytes).await;
    let cheap = answer(&c, 200, 20).await;
    assert!(
        cheap.is_some_and(|a| a["result"]["label"] == "x"),
        "the cheap request waited behind cancelled ones"
    );
    for id in slow {
        let a = answer(&c, id, 20).await;
        assert_eq!(
            a.as_ref().map(|a| a["error"]["code"].clone()),
            Some(json!(-32800)),
            "request {id} is answered as cancelled"
        );
    }
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheap_request_does_not_wait_behind_slow_ones() {
    let (_tmp, root) = mod_dir(&[("q.pp", TITLED)]);
    let c = Client::start(Default::default());
    assert!(
        ask(
            &c,
            1001,
            "initialize",
            json!({"capabilities": {},
            "workspaceFolders": [{"uri": uri(&root), "name": "m"}]}),
            20
        )
        .await
        .is_some()
    );
    let mut bytes = Vec::new();
    for id in 100..116 {
        bytes.extend(frame(
            &json!({"jsonrpc": "2.0", "id": id, "method": "workspace/symbol", "params": {"query": "q"}})
                .to_string(),
        ));
    }
    bytes.extend(frame(
        r#"{"jsonrpc":"2.0","id":200,"method":"completionItem/resolve","params":{"label":"x"}}"#,
    ));
    c.send_raw(&bytes).await;
    assert!(
        answer(&c, 200, 20).await.is_some(),
        "the cheap request waited for the slow ones"
    );
    assert!(c.messages().iter().all(|m| m["id"] != 100), "still waiting");
    // Once the index loads, every waiting request is answered.
    c.notify("initialized", json!({})).await;
    for id in 100..116 {
        assert!(
            answer(&c, id, 30)
                .await
                .is_some_and(|a| a["result"].is_array()),
            "request {id}"
        );
    }
    c.stop().await;
}
