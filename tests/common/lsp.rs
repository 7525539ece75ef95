//! An in-process language client for the protocol tests: the server runs on a tokio task,
//! connected by an in-memory duplex stream carrying real JSON-RPC frames.
#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};

/// Everything the server sent, in order.
#[derive(Default)]
struct Inbox {
    messages: Mutex<Vec<Value>>,
    arrived: tokio::sync::Notify,
}

/// The client end of a server.
pub struct Client {
    writer: Arc<tokio::sync::Mutex<WriteHalf<DuplexStream>>>,
    inbox: Arc<Inbox>,
    next_id: i64,
    server: tokio::task::JoinHandle<()>,
    reader: tokio::task::JoinHandle<()>,
}

/// The capabilities a typical editor announces.
pub fn editor_capabilities() -> Value {
    json!({
        "window": { "workDoneProgress": true },
        "textDocument": {
            "completion": { "completionItem": { "snippetSupport": true } },
            "documentSymbol": { "hierarchicalDocumentSymbolSupport": true },
            "synchronization": { "didSave": true },
        },
        "workspace": {
            "didChangeWatchedFiles": { "dynamicRegistration": true },
            "workspaceFolders": true,
            "configuration": true,
        }
    })
}

/// A `file://` URI for a path.
pub fn uri(path: &Path) -> String {
    tower_lsp_server::ls_types::Uri::from_file_path(path)
        .map(|u| u.as_str().to_string())
        .unwrap_or_default()
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

async fn read_frames(
    mut reader: ReadHalf<DuplexStream>,
    inbox: Arc<Inbox>,
    writer: Arc<tokio::sync::Mutex<WriteHalf<DuplexStream>>>,
) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // One whole frame in `buf`?
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let header = String::from_utf8_lossy(&buf[..end]).to_string();
            let len: usize = header
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() < end + 4 + len {
                break;
            }
            let body = buf[end + 4..end + 4 + len].to_vec();
            buf.drain(..end + 4 + len);
            let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
                continue;
            };
            // Requests from the server get an answer at once.
            if msg.get("method").is_some() && msg.get("id").is_some() {
                let result = match msg["method"].as_str() {
                    Some("workspace/configuration") => json!([{}]),
                    _ => Value::Null,
                };
                let reply = json!({"jsonrpc": "2.0", "id": msg["id"], "result": result});
                let bytes = frame(reply.to_string().as_bytes());
                let mut w = writer.lock().await;
                let _ = w.write_all(&bytes).await;
            }
            inbox.messages.lock().unwrap().push(msg);
            inbox.arrived.notify_waiters();
        }
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => {
                inbox.arrived.notify_waiters();
                return;
            }
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

impl Client {
    /// Starts a server and a client connected to it (not initialized).
    pub fn start(options: modlens::lsp::Options) -> Client {
        // The server's background work at normal priority: under a lowered one (`SCHED_IDLE`)
        // the CPU-bound tests running beside it in this process would hold it back for as
        // long as they run, and waits for diagnostics or the end of the load time out. The
        // lowered priorities are tested on their own (`load::tests`, `lsp::tests`), and the
        // Neovim test and the benches run the real binary.
        let options = modlens::lsp::Options {
            background_at_normal_priority: true,
            ..options
        };
        let (client_end, server_end) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_end);
        let server = tokio::spawn(modlens::lsp::serve(server_read, server_write, options));
        let (client_read, client_write) = tokio::io::split(client_end);
        let writer = Arc::new(tokio::sync::Mutex::new(client_write));
        let inbox = Arc::new(Inbox::default());
        let reader = tokio::spawn(read_frames(client_read, inbox.clone(), writer.clone()));
        Client {
            writer,
            inbox,
            next_id: 1,
            server,
            reader,
        }
    }

    /// Starts a server, initializes it on `folders` with `options`, and waits for the
    /// index (the first `workspace/symbol` answer). Returns the `initialize` result.
    pub async fn initialized(folders: &[&Path], init: Value) -> (Client, Value) {
        Client::initialized_with(folders, editor_capabilities(), init).await
    }

    /// [`Client::initialized`] for a client announcing `caps`.
    pub async fn initialized_with(folders: &[&Path], caps: Value, init: Value) -> (Client, Value) {
        let mut c = Client::start(Default::default());
        let folders: Vec<Value> = folders
            .iter()
            .map(|f| json!({"uri": uri(f), "name": f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()}))
            .collect();
        let result = c
            .request(
                "initialize",
                json!({
                    "processId": null,
                    "capabilities": caps,
                    "workspaceFolders": folders,
                    "initializationOptions": init,
                }),
            )
            .await
            .expect("initialize answers");
        c.notify("initialized", json!({})).await;
        c.request("workspace/symbol", json!({"query": ""}))
            .await
            .expect("the index loads");
        (c, result)
    }

    /// Sends raw bytes (for malformed-message tests).
    pub async fn send_raw(&self, bytes: &[u8]) {
        let mut w = self.writer.lock().await;
        w.write_all(bytes).await.expect("the server reads");
    }

    async fn send(&self, msg: Value) {
        self.send_raw(&frame(msg.to_string().as_bytes())).await;
    }

    /// Sends a notification.
    pub async fn notify(&self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a request and waits (at most 60 s) for its answer: `Ok(result)` or
    /// `Err(error)`.
    pub async fn request(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let msg = self
            .wait_for(Duration::from_secs(60), |m| {
                m.get("id") == Some(&json!(id)) && m.get("method").is_none()
            })
            .await
            .unwrap_or_else(|| panic!("no answer to {method}"));
        match msg.get("error") {
            Some(e) => Err(e.clone()),
            None => Ok(msg.get("result").cloned().unwrap_or(Value::Null)),
        }
    }

    /// The first message (from the start) that passes `pred`, waiting at most `timeout`.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inbox.arrived.notified();
            if let Some(m) = self.inbox.messages.lock().unwrap().iter().find(|m| pred(m)) {
                return Some(m.clone());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Waits at most `timeout` until `pred` holds for all the messages so far.
    pub async fn wait_until(&self, timeout: Duration, pred: impl Fn(&[Value]) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inbox.arrived.notified();
            if pred(&self.inbox.messages.lock().unwrap()) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return pred(&self.inbox.messages.lock().unwrap());
            }
        }
    }

    /// Every message so far.
    pub fn messages(&self) -> Vec<Value> {
        self.inbox.messages.lock().unwrap().clone()
    }

    /// The last diagnostics published for `uri` (`None`: never published).
    pub fn diagnostics(&self, uri: &str) -> Option<Vec<Value>> {
        self.inbox
            .messages
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri)
            .and_then(|m| m["params"]["diagnostics"].as_array().cloned())
    }

    /// Waits until the last diagnostics published for `uri` (none when never published)
    /// pass `pred`.
    pub async fn wait_diagnostics(
        &self,
        uri: &str,
        timeout: Duration,
        pred: impl Fn(&[Value]) -> bool,
    ) -> Option<Vec<Value>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.inbox.arrived.notified();
            // Never published: none (the server publishes a file only once it has some).
            let d = self.diagnostics(uri).unwrap_or_default();
            if pred(&d) {
                return Some(d);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let d = self.diagnostics(uri).unwrap_or_default();
                return pred(&d).then_some(d);
            }
        }
    }

    /// Waits until the background load has ended and its diagnostics are out (the
    /// progress that began at `initialized` has ended).
    pub async fn wait_loaded(&self) {
        self.wait_for(Duration::from_secs(120), |m| {
            m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
        })
        .await
        .expect("the background load ends");
    }

    /// Opens a document with its text on disk.
    pub async fn open(&self, path: &Path) -> String {
        let text = std::fs::read_to_string(path).expect("fixture file");
        let u = uri(path);
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": u, "languageId": "powerpipe", "version": 1, "text": text}}),
        )
        .await;
        u
    }

    /// `shutdown` then `exit`; waits for the server to end.
    pub async fn stop(mut self) {
        let r = self.request("shutdown", Value::Null).await;
        assert_eq!(r, Ok(Value::Null));
        self.notify("exit", Value::Null).await;
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.server).await;
        self.reader.abort();
    }
}

/// A position at the first occurrence of `needle` in `text` (plus `delta` characters):
/// `{"line", "character"}` with UTF-16 columns.
pub fn pos_of(text: &str, needle: &str, delta: usize) -> Value {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"))
        + delta;
    lsp_position(text, at)
}

/// The LSP position of byte offset `at` of `text` (UTF-16 columns), counted independently of
/// the server.
pub fn lsp_position(text: &str, at: usize) -> Value {
    let before = &text[..at];
    let line = before.matches('\n').count();
    let col: usize = before
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .encode_utf16()
        .count();
    json!({"line": line, "character": col})
}

/// How two dumps differ, briefly: the top-level fields, then resources missing, extra or
/// different (by file and name).
pub fn difference(got: &Value, want: &Value) -> String {
    let mut out = Vec::new();
    for key in ["mod", "dependencies", "files_scanned", "diagnostics"] {
        if got[key] != want[key] {
            out.push(format!("{key}: server {} / fresh {}", got[key], want[key]));
        }
    }
    let by_name = |v: &Value| -> std::collections::BTreeMap<String, Value> {
        v["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| (format!("{} {}", r["file"], r["qualified_name"]), r.clone()))
            .collect()
    };
    let (g, w) = (by_name(got), by_name(want));
    for (k, v) in &g {
        match w.get(k) {
            None => out.push(format!("only the server has {k}: {v}")),
            Some(x) if x != v => out.push(format!("{k}:\n  server {v}\n  fresh  {x}")),
            _ => {}
        }
    }
    for (k, v) in &w {
        if !g.contains_key(k) {
            out.push(format!("only a fresh load has {k}: {v}"));
        }
    }
    if out.is_empty() && got != want {
        out.push("the resources' order differs".to_string());
    }
    out.truncate(12);
    out.join("\n")
}

/// An answer with the workspace's URI prefix (and its path) replaced, for snapshots.
pub fn redact(v: &Value, root: &Path) -> Value {
    let s = v
        .to_string()
        .replace(&uri(root), "file:///WORKSPACE")
        .replace(&root.display().to_string(), "WORKSPACE");
    serde_json::from_str(&s).expect("still JSON")
}

/// The params of a request at `pos` of document `u`.
pub fn at(u: &str, pos: Value) -> Value {
    json!({ "textDocument": { "uri": u }, "position": pos })
}

/// `file:line:col` of a location, relative to the workspace.
pub fn loc(l: &Value, root: &Path) -> String {
    let u = l["uri"].as_str().unwrap_or("");
    let rel = u
        .strip_prefix(&format!("{}/", uri(root)))
        .unwrap_or(u)
        .to_string();
    format!(
        "{rel}:{}:{}",
        l["range"]["start"]["line"].as_u64().unwrap_or(0) + 1,
        l["range"]["start"]["character"].as_u64().unwrap_or(0) + 1
    )
}

/// The byte offset of an LSP position (UTF-16 column) in `text`, counted here, not by the
/// server.
pub fn lsp_offset(text: &str, pos: &Value) -> usize {
    let line = pos["line"].as_u64().expect("line") as usize;
    let col = pos["character"].as_u64().expect("character") as usize;
    let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
    let mut units = 0;
    for (i, ch) in text[start..].char_indices() {
        if units >= col || ch == '\n' {
            return start + i;
        }
        units += ch.len_utf16();
    }
    text.len()
}

/// `text` with LSP text edits applied as a client does: all against the original text, none
/// overlapping another.
pub fn apply_edits(text: &str, edits: &[Value]) -> String {
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| {
            (
                lsp_offset(text, &e["range"]["start"]),
                lsp_offset(text, &e["range"]["end"]),
                e["newText"].as_str().expect("newText"),
            )
        })
        .collect();
    spans.sort_by_key(|s| s.0);
    assert!(
        spans.windows(2).all(|w| w[0].1 <= w[1].0),
        "overlapping edits: {edits:?}"
    );
    let mut out = text.to_string();
    for (a, b, t) in spans.into_iter().rev() {
        out.replace_range(a..b, t);
    }
    out
}
