//! Hierarchies built to hurt, served over the protocol and walked by the library: blocks
//! nested a hundred thousand deep, a chain of thousands of benchmarks, levels that each list
//! every benchmark of the next (exponentially many paths). Every walk over them (symbols,
//! folding, semantic tokens, the tree, the dashboards payload, the dump, workspace symbols)
//! must answer, within the limits the index sets (`syntax::MAX_BLOCK_DEPTH`,
//! `index::tree::MAX_TREE_DEPTH`, the payload's size limit), and never overflow the stack.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::lsp::Client;
use modlens::index::{dashboards, dump, tree};
use serde_json::{Value, json};

/// A mod in a temporary folder: `mod.pp` and the given files.
fn mod_dir(files: &[(&str, String)]) -> (tempfile::TempDir, PathBuf) {
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

/// A dashboard with `depth` nested containers, then a control.
fn deep_dashboard(depth: usize) -> String {
    let mut s = String::from("dashboard \"d\" {\n");
    for _ in 0..depth {
        s.push_str("container {\n");
    }
    s.push_str("card \"leaf\" {\n  sql = \"select 1\"\n}\n");
    for _ in 0..depth {
        s.push_str("}\n");
    }
    s.push_str("}\n\ncontrol \"after\" {\n  sql = \"select 1\"\n}\n");
    s
}

/// `n` benchmarks, each the only child of the one before.
fn benchmark_chain(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let children = if i + 1 < n {
            format!("benchmark.b{}", i + 1)
        } else {
            "control.c".to_string()
        };
        s.push_str(&format!(
            "benchmark \"b{i}\" {{\n  title = \"B{i}\"\n  children = [{children}]\n}}\n"
        ));
    }
    s.push_str("control \"c\" {\n  sql = \"select 1\"\n}\n");
    s
}

/// `levels` levels of `width` benchmarks, each listing every benchmark of the next level:
/// `width^levels` paths from a top benchmark down.
fn benchmark_lattice(levels: usize, width: usize) -> String {
    let mut s = String::new();
    for l in 0..levels {
        for w in 0..width {
            let children: Vec<String> = if l + 1 < levels {
                (0..width)
                    .map(|x| format!("benchmark.l{}_{x}", l + 1))
                    .collect()
            } else {
                vec!["control.c".to_string()]
            };
            s.push_str(&format!(
                "benchmark \"l{l}_{w}\" {{\n  children = [{}]\n}}\n",
                children.join(", ")
            ));
        }
    }
    s.push_str("control \"c\" {\n  sql = \"select 1\"\n}\n");
    s
}

/// How deep `children` nest in a JSON tree (a node alone is 1).
fn json_depth(v: &Value) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(v, 1)];
    while let Some((node, d)) = stack.pop() {
        deepest = deepest.max(d);
        if let Some(children) = node.get("children").and_then(Value::as_array) {
            stack.extend(children.iter().map(|c| (c, d + 1)));
        }
    }
    deepest
}

/// How many nodes a JSON tree holds.
fn json_nodes(v: &Value) -> usize {
    let mut n = 0;
    let mut stack = vec![v];
    while let Some(node) = stack.pop() {
        n += 1;
        if let Some(children) = node.get("children").and_then(Value::as_array) {
            stack.extend(children.iter());
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_answers_on_blocks_nested_a_hundred_thousand_deep() {
    let depth = 100_000;
    let (_tmp, root) = mod_dir(&[("deep.pp", deep_dashboard(depth))]);
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let path = root.join("deep.pp");
    let u = c.open(&path).await;
    let doc = json!({"textDocument": {"uri": u}});

    let symbols = c
        .request("textDocument/documentSymbol", doc.clone())
        .await
        .expect("symbols answer");
    let dashboard = symbols
        .as_array()
        .and_then(|s| s.first())
        .expect("the dashboard's symbol");
    assert_eq!(json_depth(dashboard), modlens::syntax::MAX_BLOCK_DEPTH);
    let folding = c
        .request("textDocument/foldingRange", doc.clone())
        .await
        .expect("folding answers");
    assert!(
        folding.as_array().is_some_and(|f| f.len() < 100),
        "{folding}"
    );
    c.request("textDocument/semanticTokens/full", doc.clone())
        .await
        .expect("semantic tokens answer");
    let tree = c
        .request("modlens/tree", json!({"resource": "dashboard.d"}))
        .await
        .expect("the tree answers");
    assert!(
        json_depth(&tree) <= modlens::syntax::MAX_BLOCK_DEPTH,
        "{tree}"
    );
    c.request("modlens/dashboards", json!({}))
        .await
        .expect("the payload answers");
    let dumped = c
        .request("modlens/dump", json!({}))
        .await
        .expect("the dump answers");
    assert!(dumped.to_string().len() < 1_000_000);
    let hover = c
        .request(
            "textDocument/hover",
            json!({"textDocument": {"uri": u}, "position": {"line": 20, "character": 2}}),
        )
        .await;
    assert!(hover.is_ok(), "{hover:?}");
    // The block after the dashboard is indexed as usual, and the file says once what it
    // skipped, where it starts.
    let after = c
        .request("workspace/symbol", json!({"query": "after"}))
        .await
        .expect("workspace symbols answer");
    assert!(after.to_string().contains("after"), "{after}");
    let diagnostics = c
        .wait_diagnostics(&u, Duration::from_secs(60), |d| !d.is_empty())
        .await
        .expect("the skipped depth is a diagnostic");
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        diagnostics[0]["range"]["start"]["line"],
        json!(modlens::syntax::MAX_BLOCK_DEPTH)
    );
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_and_the_payload_of_a_long_benchmark_chain_stop_at_the_depth_limit() {
    let (_tmp, root) = mod_dir(&[("chain.pp", benchmark_chain(5_000))]);
    let (mut c, _) = Client::initialized(&[&root], json!({})).await;
    let t = c
        .request("modlens/tree", json!({"resource": "benchmark.b0"}))
        .await
        .expect("the tree answers");
    assert_eq!(json_depth(&t), tree::MAX_TREE_DEPTH + 1);
    assert!(
        t.to_string().contains("deeper than 32 levels"),
        "a note says why"
    );
    let payload = c
        .request("modlens/dashboards", json!({}))
        .await
        .expect("the payload answers");
    let benchmarks = payload["benchmarks"].as_object().expect("benchmarks");
    assert_eq!(benchmarks.len(), 5_000);
    let top = &benchmarks["m.benchmark.b0"];
    assert_eq!(json_depth(top), tree::MAX_TREE_DEPTH + 1);
    assert!(json_nodes(&payload["benchmarks"]) < 5_000 + dashboards::MAX_PAYLOAD_NODES);
    c.stop().await;
}

/// The same walks from the library, on a thread with a small stack: a recursion as deep as
/// the chain overflows it.
#[test]
fn library_walks_of_long_chains_and_lattices_are_bounded() {
    let handle = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(|| {
            for (name, text, top) in [
                ("chain", benchmark_chain(20_000), "benchmark.b0"),
                ("lattice", benchmark_lattice(40, 4), "benchmark.l0_0"),
            ] {
                let (_tmp, root) = mod_dir(&[("b.pp", text)]);
                let ws = modlens::workspace::discover(&root).expect("discovers");
                let (index, _) = modlens::workspace::load(&ws);
                let id = index.lookup_qualified(top).expect("the top benchmark");
                let t = tree::tree(&index, &dump::literal_fields, id);
                let t = serde_json::to_value(&t).expect("serialises");
                assert!(json_depth(&t) <= tree::MAX_TREE_DEPTH + 1, "{name}");
                assert!(json_nodes(&t) <= tree::MAX_TREE_NODES + 1, "{name}");
                let payload = dashboards::payload(&index, &dump::literal_fields);
                let benchmarks = payload.benchmarks.len();
                let p = serde_json::to_value(&payload).expect("serialises");
                let nodes = json_nodes(&p["benchmarks"]);
                let edges: usize = index.resources().map(|r| index.child_ids(r).len()).sum();
                assert!(
                    nodes <= benchmarks + 16 * (benchmarks + edges) + 1_000,
                    "{name}: {nodes} nodes for {benchmarks} benchmarks and {edges} edges"
                );
                let d = dump::dump(&index, &|rel| ws.read(rel), &dump::literal_fields);
                assert_eq!(d.resources.len(), benchmarks + 2, "{name}");
            }
        })
        .expect("spawn");
    if let Err(e) = handle.join() {
        std::panic::resume_unwind(e);
    }
}
