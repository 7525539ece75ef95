//! An edit storm: random incremental edits of open documents while files are written,
//! replaced (write-then-rename, as editors save), removed, and turned into symbolic links
//! (to files and folders outside the mod, and to files inside it) underneath, folders come
//! and go, the ignore file changes, and requests read files in between (references asked
//! right after an edit must point into the text the client holds). Once the disk is
//! still, the server's `modlens/dump` must equal `modlens index` of the same final state, with
//! the open documents' text for the open files that are part of the workspace.
//!
//! Run with both watch paths: the client's (`workspace/didChangeWatchedFiles`, sent here, in
//! batches, a folder's path for a folder) and the server's own notify watcher. The storms are
//! seeded (`Rng`), so a failure replays; `MODLENS_STORM_SEEDS=1,2,3` runs others.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::lsp::{Client, difference, uri};
use serde_json::{Value, json};

/// How long the server has to catch up once the storm is over.
const SETTLE: Duration = Duration::from_secs(30);

/// Steps of one storm: many short storms end in more different states than a few long ones
/// (a long storm's later changes mend what an earlier one got wrong).
const STEPS: usize = 40;

/// Files the storm writes, removes and links (some hidden or ignored: never indexed).
const FILES: [&str; 12] = [
    "controls.pp",
    "dashboards.pp",
    "locals.pp",
    "queries.pp",
    "benchmarks.pp",
    "variables.pp",
    "powerpipe.ppvars",
    "new_a.pp",
    "sub/new_b.pp",
    "sub/deeper/new_c.pp",
    "notes.draft.pp",
    ".hidden/h.pp",
];

/// Folders the storm removes and replaces by links.
const FOLDERS: [&str; 2] = ["sub", "sub/deeper"];

/// Pieces of text edits insert.
const PIECES: [&str; 12] = [
    "{",
    "}",
    "\"",
    "\n",
    "query.bucket_versioning",
    "local.s3_tags",
    "${var.region}",
    "control \"typed\" {\n  title = \"typed\"\n}\n",
    "<<-EOQ\nselect 1\nEOQ\n",
    "# comment {\n",
    "tags = { a = \"b\" }\n",
    "title = \"t\"\n",
];

/// A small deterministic generator: a storm replays from its seed.
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
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// Text for a file: a few blocks (titles from variables and locals, tags merged, a
/// description kept as a span, now and then a broken block), or variable values.
fn content(rng: &mut Rng, rel: &str) -> String {
    if rel.ends_with("ppvars") {
        return format!("region = \"storm-{}\"\n", rng.below(5));
    }
    let mut out = String::new();
    for _ in 0..1 + rng.below(3) {
        let n = rng.below(6);
        out.push_str(&match rng.below(6) {
            0 => format!(
                "query \"storm_q{n}\" {{\n  title = \"Q {n}\"\n  description = \"about {n}\"\n  sql = \"select {n}\"\n}}\n"
            ),
            1 => format!(
                "control \"storm_c{n}\" {{\n  title = \"C ${{var.region}} {n}\"\n  tags = merge(local.s3_tags, {{ n = \"{n}\" }})\n  query = query.bucket_versioning\n}}\n"
            ),
            2 => format!("locals {{\n  storm_{n} = \"v{n}\"\n}}\n"),
            3 => format!(
                "benchmark \"storm_b{n}\" {{\n  title = local.storm_{n}\n  description = <<-EOT\n    Long text {n}.\n  EOT\n  children = [control.s3_versioning]\n}}\n"
            ),
            4 => format!("query \"broken_{n}\" {{\n  sql = \"unterminated\n"),
            _ => format!("variable \"storm_v{n}\" {{\n  default = \"d{n}\"\n}}\n"),
        });
    }
    out
}

/// True when `rel` below `root` is a regular file reached without a symbolic link (checked
/// here with `lstat`, independently of the server's code).
/// Asks for the references of `query.bucket_versioning` from an open document that uses it,
/// one other than `not_from` if there is one (none: nothing to ask), and checks that every reference in an open plain file is at that
/// name in the text the client holds now: positions for any other text would corrupt the
/// document when a client applies them (a rename's edits are the same spans).
async fn references_in_open_docs(
    c: &mut Client,
    root: &Path,
    open: &BTreeMap<String, String>,
    not_from: Option<&str>,
) -> Result<(), String> {
    const NAME: &str = "query.bucket_versioning";
    let from = |rel: &String, text: &String| {
        let at = text.find(NAME)?;
        plain_file(root, rel).then_some(at + "query.".len())
    };
    let Some((rel, text, at)) = open
        .iter()
        .filter(|(rel, _)| Some(rel.as_str()) != not_from)
        .chain(open.iter())
        .find_map(|(rel, text)| Some((rel, text, from(rel, text)?)))
    else {
        return Ok(());
    };
    let Ok(refs) = c
        .request(
            "textDocument/references",
            json!({"textDocument": {"uri": uri(&root.join(rel))},
                   "position": common::lsp::lsp_position(text, at),
                   "context": {"includeDeclaration": false}}),
        )
        .await
    else {
        return Ok(());
    };
    for l in refs.as_array().into_iter().flatten() {
        let Some((rel, text)) = open
            .iter()
            .find(|(rel, _)| l["uri"] == uri(&root.join(rel)))
        else {
            continue;
        };
        if !plain_file(root, rel) {
            continue;
        }
        let at = common::lsp::lsp_offset(text, &l["range"]["start"]);
        if !text
            .get(at..)
            .is_some_and(|t| t.starts_with("bucket_versioning"))
        {
            return Err(format!(
                "a reference in open {rel} at {} is at {:?}, not the name",
                l["range"]["start"],
                text.get(at..)
                    .map(|t| t.chars().take(30).collect::<String>())
            ));
        }
    }
    Ok(())
}

fn plain_file(root: &Path, rel: &str) -> bool {
    let mut p = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        p.push(part);
        let Ok(m) = std::fs::symlink_metadata(&p) else {
            return false;
        };
        let last = i + 1 == parts.len();
        if m.file_type().is_symlink() || (last && !m.is_file()) || (!last && !m.is_dir()) {
            return false;
        }
    }
    true
}

/// Removes whatever is at `p` (a file, a link, a folder).
fn clear(p: &Path) {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).expect("remove folder"),
        Ok(_) => std::fs::remove_file(p).expect("remove"),
        Err(_) => {}
    }
}

/// Makes every folder above `rel` a real folder (a link or a file in the way is removed):
/// nothing is ever written through a link to outside.
fn real_folders(root: &Path, rel: &str) {
    let mut p = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        p.push(part);
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                std::fs::remove_file(&p).expect("remove");
                std::fs::create_dir(&p).expect("mkdir");
            }
            Err(_) => std::fs::create_dir(&p).expect("mkdir"),
        }
    }
}

/// `modlens index` of the final state: the workspace copied (links as links) with the open
/// documents' text written over the files that are part of it.
fn oracle(root: &Path, scratch: &Path, open: &BTreeMap<String, String>) -> Value {
    let _ = std::fs::remove_dir_all(scratch);
    common::copy_dir(root, scratch);
    // An open document with nothing on the disk yet is a file of the workspace where the
    // walk would find it once saved (decided before anything is written).
    let ws = modlens::workspace::discover(scratch).expect("discover");
    let unsaved: Vec<&String> = open
        .keys()
        .filter(|rel| modlens::workspace::unsaved_member(&ws, rel).is_some())
        .collect();
    for (rel, text) in open {
        if plain_file(scratch, rel) {
            std::fs::write(scratch.join(rel), text).expect("write");
        } else if unsaved.contains(&rel) {
            let path = scratch.join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
    }
    let o = common::open(scratch, &Default::default(), Default::default());
    let fields = |id, key| o.resolver.dump_field(&o.model, id, key);
    let read = |rel: &str| o.ws.read(rel);
    serde_json::to_value(modlens::index::dump::dump(&o.model.index, &read, &fields)).expect("json")
}

/// One storm. `notify`: the server watches with notify; else the client sends the events.
async fn storm(seed: u64, notify: bool) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let base = std::fs::canonicalize(tmp.path()).expect("canonical");
    let root = base.join("ws");
    common::copy_dir(&common::fixture("lsp_workspace"), &root);
    std::fs::write(root.join(".powerpipeignore"), "*.draft.pp\n").expect("write");
    // More text than the server's source cache holds (256 KiB with `cacheMb: 1`), read back
    // by every dump (the descriptions): reads miss the cache and go to the disk.
    std::fs::create_dir_all(root.join("fill")).expect("mkdir");
    let padding =
        "# padding the file to eight kilobytes, a comment is read but not parsed\n".repeat(110);
    for i in 0..40 {
        std::fs::write(
            root.join(format!("fill/f{i}.pp")),
            format!(
                "{padding}query \"filler_{i}\" {{\n  description = \"filler {i}\"\n  sql = \"select {i}\"\n}}\n"
            ),
        )
        .expect("write");
    }
    let outside = base.join("outside");
    std::fs::create_dir_all(outside.join("dir/deeper")).expect("mkdir");
    for (i, name) in [
        "secret_0.pp",
        "secret_1.pp",
        "dir/new_b.pp",
        "dir/deeper/new_c.pp",
    ]
    .iter()
    .enumerate()
    {
        std::fs::write(
            outside.join(name),
            format!("query \"outside_{i}\" {{\n  title = \"OUTSIDE TEXT\"\n}}\n"),
        )
        .expect("write");
    }
    let scratch = base.join("oracle");
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);

    let mut c = if notify {
        let mut c = Client::start(modlens::lsp::Options {
            force_notify_watcher: true,
            ..Default::default()
        });
        c.request(
            "initialize",
            json!({"capabilities": {}, "workspaceFolders": [{"uri": uri(&root), "name": "ws"}],
                   "initializationOptions": {"cacheMb": 1}}),
        )
        .await
        .expect("initialize");
        c.notify("initialized", json!({})).await;
        c.request("workspace/symbol", json!({"query": ""}))
            .await
            .expect("ready");
        c
    } else {
        Client::initialized(&[&root], json!({"cacheMb": 1})).await.0
    };

    let mut open: BTreeMap<String, String> = BTreeMap::new();
    let mut version = 1;
    // Two of them use the same query, so a request from one reads positions in the other.
    for rel in ["controls.pp", "dashboards.pp", "locals.pp"] {
        let text = std::fs::read_to_string(root.join(rel)).expect("read");
        c.open(&root.join(rel)).await;
        open.insert(rel.to_string(), text);
    }
    // What the storm did, for the failure's message.
    let mut log: Vec<String> = Vec::new();
    // Events the client has not sent yet.
    let mut pending: Vec<PathBuf> = Vec::new();
    for _ in 0..STEPS {
        let mut touched: Vec<PathBuf> = Vec::new();
        match rng.below(16) {
            // An edit of an open document.
            0..=4 if !open.is_empty() => {
                let keys: Vec<String> = open.keys().cloned().collect();
                let rel = keys[rng.below(keys.len())].clone();
                let t = open[&rel].clone();
                let bounds: Vec<usize> =
                    t.char_indices().map(|(b, _)| b).chain([t.len()]).collect();
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
                    rng.pick(&PIECES)
                };
                let (start, end) = (
                    common::lsp::lsp_position(&t, a),
                    common::lsp::lsp_position(&t, b),
                );
                let mut new = t.clone();
                new.replace_range(a..b, piece);
                log.push(format!("edit {rel} {a}..{b} {piece:?}"));
                open.insert(rel.clone(), new);
                version += 1;
                c.notify(
                    "textDocument/didChange",
                    json!({"textDocument": {"uri": uri(&root.join(&rel)), "version": version},
                           "contentChanges": [{"range": {"start": start, "end": end}, "text": piece}]}),
                )
                .await;
                // At once, from another document: the server has not indexed the edit yet.
                if rng.below(3) == 0 {
                    log.push("references".to_string());
                    if let Err(e) = references_in_open_docs(&mut c, &root, &open, Some(&rel)).await
                    {
                        panic!("seed {seed}: {e}\n{}", log.join("\n"));
                    }
                }
            }
            // A file written in place.
            5 | 6 => {
                let rel = rng.pick(&FILES);
                real_folders(&root, rel);
                let p = root.join(rel);
                if std::fs::symlink_metadata(&p).is_ok_and(|m| !m.is_file()) {
                    clear(&p);
                }
                std::fs::write(&p, content(&mut rng, rel)).expect("write");
                log.push(format!("write {rel}"));
                touched.push(p);
            }
            // Replaced: written aside, then renamed over it (as editors save).
            7 => {
                let rel = rng.pick(&FILES);
                real_folders(&root, rel);
                let p = root.join(rel);
                let aside = p.with_file_name(".storm.tmp");
                std::fs::write(&aside, content(&mut rng, rel)).expect("write");
                if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
                    clear(&p);
                }
                std::fs::rename(&aside, &p).expect("rename");
                log.push(format!("replace {rel}"));
                touched.push(p);
            }
            // Removed.
            8 => {
                let rel = rng.pick(&FILES);
                let p = root.join(rel);
                clear(&p);
                log.push(format!("remove {rel}"));
                touched.push(p);
            }
            // Turned into a link: to a file outside, or to another file of the mod.
            #[cfg(unix)]
            9 => {
                let rel = rng.pick(&FILES);
                real_folders(&root, rel);
                let p = root.join(rel);
                clear(&p);
                let target = if rng.below(2) == 0 {
                    outside.join(format!("secret_{}.pp", rng.below(2)))
                } else {
                    root.join(rng.pick(&FILES[..6]))
                };
                log.push(format!("link {rel} -> {}", target.display()));
                std::os::unix::fs::symlink(target, &p).expect("link");
                touched.push(p);
            }
            // A folder removed, or turned into a link to a folder outside.
            #[cfg(unix)]
            10 => {
                let rel = rng.pick(&FOLDERS);
                real_folders(&root, &format!("{rel}/x"));
                let p = root.join(rel);
                clear(&p);
                if rng.below(2) == 0 {
                    let target = if rel == "sub" {
                        outside.join("dir")
                    } else {
                        outside.join("dir/deeper")
                    };
                    log.push(format!("link folder {rel} -> {}", target.display()));
                    std::os::unix::fs::symlink(target, &p).expect("link");
                } else {
                    log.push(format!("remove folder {rel}"));
                }
                touched.push(p);
            }
            // The ignore file changes what is part of the workspace.
            11 => {
                let p = root.join(".powerpipeignore");
                let text = if rng.below(2) == 0 {
                    "*.draft.pp\n"
                } else {
                    "*.draft.pp\nsub/deeper/\n"
                };
                std::fs::write(&p, text).expect("write");
                log.push(format!("ignore {text:?}"));
                touched.push(p);
            }
            // A document opened (its disk text when it is a file of the mod) or closed.
            12 => {
                let rel = rng.pick(&FILES[..10]).to_string();
                let p = root.join(&rel);
                if open.remove(&rel).is_some() {
                    log.push(format!("close {rel}"));
                    c.notify(
                        "textDocument/didClose",
                        json!({"textDocument": {"uri": uri(&p)}}),
                    )
                    .await;
                } else {
                    let text = if plain_file(&root, &rel) {
                        std::fs::read_to_string(&p).unwrap_or_default()
                    } else {
                        content(&mut rng, &rel)
                    };
                    c.notify(
                        "textDocument/didOpen",
                        json!({"textDocument": {"uri": uri(&p), "languageId": "powerpipe",
                                                "version": version, "text": text}}),
                    )
                    .await;
                    log.push(format!("open {rel}"));
                    open.insert(rel, text);
                }
            }
            // Requests that read files in between (hover, symbols, the dump).
            _ => {
                let rel = rng.pick(&FILES[..7]);
                let text = std::fs::read_to_string(root.join(rel)).unwrap_or_default();
                let method = rng.below(4);
                log.push(format!("request {method} {rel}"));
                let r = match method {
                    0 if !text.is_empty() => {
                        let at = rng.below(text.len());
                        let at = (0..=at)
                            .rev()
                            .find(|i| text.is_char_boundary(*i))
                            .unwrap_or(0);
                        c.request(
                            "textDocument/hover",
                            json!({"textDocument": {"uri": uri(&root.join(rel))},
                                   "position": common::lsp::lsp_position(&text, at)}),
                        )
                        .await
                    }
                    1 => {
                        c.request(
                            "textDocument/documentSymbol",
                            json!({"textDocument": {"uri": uri(&root.join(rel))}}),
                        )
                        .await
                    }
                    2 => c.request("modlens/dump", json!({})).await,
                    _ => {
                        let r = references_in_open_docs(&mut c, &root, &open, None).await;
                        if let Err(e) = &r {
                            panic!("seed {seed}: {e}\n{}", log.join("\n"));
                        }
                        Ok(Value::Null)
                    }
                };
                // Answers may be errors (a file that is gone); what matters is that they come.
                let _ = r;
            }
        }
        if !notify {
            pending.extend(touched);
            if rng.below(3) == 0 {
                log.push(format!("events {pending:?}"));
                send_events(&c, &mut pending).await;
            }
        }
    }
    if !notify {
        log.push(format!("events {pending:?}"));
        send_events(&c, &mut pending).await;
    }

    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let got = c.request("modlens/dump", json!({})).await.expect("dump");
        let want = oracle(&root, &scratch, &open);
        if got == want {
            assert!(
                !got.to_string().contains("OUTSIDE TEXT"),
                "text from outside the mod"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "seed {seed} ({}): the server's dump never became `modlens index` of the final state:\n{}\nthe storm:\n{}",
            if notify { "notify" } else { "client watch" },
            difference(&got, &want),
            log.join("\n")
        );
        // The server's next look (its watcher debounces events).
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.stop().await;
}

async fn send_events(c: &Client, pending: &mut Vec<PathBuf>) {
    if pending.is_empty() {
        return;
    }
    let changes: Vec<Value> = pending
        .drain(..)
        .map(|p| json!({"uri": uri(&p), "type": 2}))
        .collect();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": changes }),
    )
    .await;
}

fn seeds() -> Vec<u64> {
    std::env::var("MODLENS_STORM_SEEDS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| (1..=16).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_storm_with_the_client_watching_ends_as_a_fresh_index() {
    for seed in seeds() {
        storm(seed, false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_storm_with_the_notify_watcher_ends_as_a_fresh_index() {
    for seed in seeds() {
        storm(seed, true).await;
    }
}
