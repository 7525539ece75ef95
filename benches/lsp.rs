//! Language-server benchmark over the real stdio protocol (`cargo bench --bench lsp`, a
//! plain `main`), on the generated 10x mod, against the `modlens` binary built with it:
//!
//! * **first answer**: from starting `modlens lsp` (initialize, initialized, then at once a
//!   `workspace/symbol` request, which waits for the index) to the symbol answer, against the
//!   CLI's `modlens index DIR --index-only` (the whole process, its dump to a null sink) and,
//!   stricter, `modlens index DIR --stats` (load only); medians of several rounds.
//! * **latency while the background load runs**: hover (a Critical resolve of a resource the
//!   walk has usually not reached), definition and completion on references in the mod's
//!   control files, sent one at a time from the first answer until the walk ends; then the
//!   same requests on the idle server. p50 / p99 of request-to-answer, pooled over the
//!   rounds (one server per round). With them, the editing aids at the same places: inlay
//!   hints for a screenful (60 lines) around the reference, signature help there, and the
//!   call hierarchy (prepare on the reference, then the query's incoming calls).
//! * **formatting**: on the idle server, the largest files of the mod opened and formatted as
//!   written (no edit to send) and with every line's indentation removed (the whole file
//!   re-indented), p50 / p99.
//! * **code actions**: the quick fixes for an unknown reference (a reference made a typo in
//!   an open document's unsaved text: "did you mean" among the mod's thousands of queries,
//!   and stubs), asked after every round of the requests above, during the load and idle.
//! * **RSS**: the server's resident set after the index (first answer) and after the whole
//!   background load.
//! * **first request after didOpen**: the largest files with references, each opened (its
//!   disk text) and at once asked a hover and a definition on a reference in it; p50 / p99
//!   of those first answers against the same requests asked again (steady state). Half the
//!   files are opened while the background load runs (from the first answer on, as long as
//!   it runs), the rest on the idle server; both are judged (DESIGN: "while the background
//!   load runs, including the first request after opening a file").
//!   `MODLENS_BENCH_ONLY=open` runs this section alone.
//!
//! The first-answer ratio is DESIGN's: the server's first `workspace/symbol` answer over the
//! CLI's index-only time (`modlens index DIR --index-only`, the dump from the index alone),
//! and also over the load alone (`index DIR --stats`), which the index-only dump should
//! hardly exceed. It ends with the budget table and exits 1 when a budget fails.
//!
//! Ratios are measured in one run (the machine is shared and noisy).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[path = "common/budgets.rs"]
mod budgets;
#[path = "common/mods.rs"]
mod mods;
use budgets::Budget;

const BIN: &str = env!("CARGO_BIN_EXE_modlens");

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok()?.trim().parse().ok()
}

fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i.min(v.len() - 1)]
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

fn uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// A client of one server process.
struct Server {
    child: Child,
    stdin: Arc<Mutex<ChildStdin>>,
    rx: mpsc::Receiver<Value>,
    next_id: i64,
}

fn send(stdin: &Mutex<ChildStdin>, msg: &Value) {
    let body = msg.to_string();
    let mut w = stdin.lock().unwrap_or_else(|p| p.into_inner());
    let _ = write!(w, "Content-Length: {}\r\n\r\n{body}", body.len());
    let _ = w.flush();
}

impl Server {
    fn start() -> Server {
        let mut child = Command::new(BIN)
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("modlens lsp starts");
        let stdin = Arc::new(Mutex::new(child.stdin.take().expect("stdin")));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        let replies = stdin.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        len = n.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; len];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
                    continue;
                };
                // Server-to-client requests (progress tokens, registrations): answered.
                if msg.get("method").is_some() && msg.get("id").is_some() {
                    send(
                        &replies,
                        &json!({"jsonrpc": "2.0", "id": msg["id"], "result": null}),
                    );
                    continue;
                }
                if msg.get("id").is_some() && tx.send(msg).is_err() {
                    return;
                }
            }
        });
        Server {
            child,
            stdin,
            rx,
            next_id: 1,
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        send(
            &self.stdin,
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        );
        loop {
            let msg = self
                .rx
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            if msg["id"] == json!(id) {
                return msg.get("result").cloned().unwrap_or(Value::Null);
            }
        }
    }

    fn notify(&self, method: &str, params: Value) {
        send(
            &self.stdin,
            &json!({"jsonrpc": "2.0", "method": method, "params": params}),
        );
    }

    fn initialize(&mut self, root: &Path) {
        self.request(
            "initialize",
            json!({
                "processId": null,
                "capabilities": {"window": {"workDoneProgress": true}},
                "workspaceFolders": [{"uri": uri(root), "name": "bench"}],
            }),
        );
        self.notify("initialized", json!({}));
    }

    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    }

    fn background_done(&mut self) -> bool {
        let s = self.request("modlens/stats", json!({}));
        s["projects"].as_array().is_some_and(|ps| {
            ps.iter()
                .all(|p| p["background"]["finished"] == true && p["idle"] == true)
        })
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.notify("exit", Value::Null);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
    }
}

/// Wall time of one CLI run, output discarded.
fn cli_ms(args: &[&str]) -> f64 {
    let t = Instant::now();
    let status = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("modlens runs");
    assert!(
        status.code().is_some_and(|c| c <= 1),
        "modlens {args:?} failed"
    );
    t.elapsed().as_secs_f64() * 1e3
}

/// The `.pp` files of the mod, sorted.
fn mod_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            let hidden = p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if p.is_dir() && !hidden {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pp") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Reference positions in the mod's control files: (uri, line, character of the name, the
/// character just after `query.`).
fn targets(root: &Path, limit: usize) -> Vec<(String, u32, u32, u32)> {
    let mut out = Vec::new();
    for f in mod_files(root) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if let Some(i) = line.find("= query.") {
                let start = (i + "= query.".len()) as u32;
                out.push((uri(&f), n as u32, start + 1, start));
            }
        }
    }
    // Spread over the mod: every k-th.
    let k = (out.len() / limit.max(1)).max(1);
    out.into_iter().step_by(k).take(limit).collect()
}

#[derive(Default)]
struct Lat {
    hover: Vec<f64>,
    definition: Vec<f64>,
    completion: Vec<f64>,
    inlay_hints: Vec<f64>,
    signature_help: Vec<f64>,
    call_hierarchy: Vec<f64>,
    code_action: Vec<f64>,
}

/// A reference of the mod made unknown (its name loses its last letter) in the unsaved text
/// of its file, away from the latency targets: the file's `didOpen` and the `codeAction`
/// request for the reference's diagnostic.
fn typo(root: &Path, targets: &[(String, u32, u32, u32)]) -> Option<(Value, Value)> {
    let all = self::targets(root, usize::MAX);
    let (u, line, _, name_start) = all.into_iter().find(|t| !targets.contains(t))?;
    let path = PathBuf::from(u.strip_prefix("file://")?);
    let text = std::fs::read_to_string(&path).ok()?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let l = lines.get_mut(line as usize)?;
    let name_start = name_start as usize;
    let name_end = l[name_start..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map_or(l.len(), |i| name_start + i);
    l.remove(name_end - 1);
    let reference = l[name_start - "query.".len()..name_end - 1].to_string();
    let edited = lines.join("\n") + "\n";
    let open = json!({"textDocument": {"uri": u, "languageId": "powerpipe", "version": 1, "text": edited}});
    let range = json!({
        "start": {"line": line, "character": name_start - "query.".len()},
        "end": {"line": line, "character": name_end - 1},
    });
    let diagnostic = json!({
        "range": range,
        "severity": 1,
        "source": "modlens",
        "message": format!("unknown reference `{reference}`: no query by that name in mod `m`"),
    });
    let ask = json!({
        "textDocument": {"uri": u},
        "range": range,
        "context": {"diagnostics": [diagnostic]},
    });
    Some((open, ask))
}

fn time(s: &mut Server, method: &str, params: Value) -> f64 {
    let t = Instant::now();
    s.request(method, params);
    t.elapsed().as_secs_f64() * 1e6
}

fn round(s: &mut Server, t: &(String, u32, u32, u32), lat: &mut Lat) {
    let at =
        |c: u32| json!({"textDocument": {"uri": t.0}, "position": {"line": t.1, "character": c}});
    lat.hover.push(time(s, "textDocument/hover", at(t.2)));
    lat.definition
        .push(time(s, "textDocument/definition", at(t.2)));
    lat.completion
        .push(time(s, "textDocument/completion", at(t.3)));
    let screen = json!({"textDocument": {"uri": t.0}, "range": {
        "start": {"line": t.1.saturating_sub(30), "character": 0},
        "end": {"line": t.1 + 30, "character": 0}}});
    lat.inlay_hints
        .push(time(s, "textDocument/inlayHint", screen));
    lat.signature_help
        .push(time(s, "textDocument/signatureHelp", at(t.2)));
    // Prepare, then who uses the query: one figure for the two round trips.
    let started = Instant::now();
    let prepared = s.request("textDocument/prepareCallHierarchy", at(t.2));
    if let Some(item) = prepared.get(0) {
        s.request("callHierarchy/incomingCalls", json!({"item": item}));
    }
    lat.call_hierarchy
        .push(started.elapsed().as_secs_f64() * 1e6);
}

/// Formatting latencies.
#[derive(Default)]
struct FmtLat {
    /// The file as generated (already canonical: the answer is no edit).
    canonical: Vec<f64>,
    /// Every line's indentation removed: the answer re-indents the whole file.
    messy: Vec<f64>,
}

/// The `limit` largest `.pp` files of the mod: URI and text.
fn format_files(root: &Path, limit: usize) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = mod_files(root)
        .into_iter()
        .map(|f| (uri(&f), std::fs::read_to_string(&f).unwrap_or_default()))
        .collect();
    files.sort_by_key(|f| std::cmp::Reverse(f.1.len()));
    files.truncate(limit);
    files
}

/// Opens each file, formats it as written and unindented, and closes it.
fn format_round(s: &mut Server, files: &[(String, String)], lat: &mut FmtLat) {
    let options = json!({"tabSize": 2, "insertSpaces": true});
    for (u, text) in files {
        s.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": u, "languageId": "powerpipe", "version": 1, "text": text}}),
        );
        lat.canonical.push(time(
            s,
            "textDocument/formatting",
            json!({"textDocument": {"uri": u}, "options": options}),
        ));
        let messy: String = text
            .lines()
            .map(|l| format!("{}\n", l.trim_start()))
            .collect();
        s.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": u, "version": 2}, "contentChanges": [{"text": messy}]}),
        );
        let t = Instant::now();
        let edits = s.request(
            "textDocument/formatting",
            json!({"textDocument": {"uri": u}, "options": options}),
        );
        lat.messy.push(t.elapsed().as_secs_f64() * 1e6);
        assert!(
            edits.as_array().is_some_and(|e| !e.is_empty()),
            "formatting {u} sent no edit: {edits}"
        );
        s.notify("textDocument/didClose", json!({"textDocument": {"uri": u}}));
    }
}

fn main() {
    let base = std::env::var_os("MODLENS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("modlens-bench"));
    let rounds = env::<usize>("MODLENS_BENCH_RUNS").unwrap_or(5).max(1);
    let t0 = Instant::now();
    let ten = mods::ensure_mod(&base, 10.0, false);
    let root = std::fs::canonicalize(&ten).expect("canonical");
    let dir = root.display().to_string();
    println!("lsp: 10x mod, {rounds} rounds, {} ({BIN})", root.display());
    let mut budgets: Vec<Budget> = Vec::new();
    if std::env::var("MODLENS_BENCH_ONLY").as_deref() == Ok("open") {
        budgets.extend(first_after_open(&root, rounds));
        budgets::finish(&budgets, t0);
    }

    // Each round: the CLI figures, then one server from start to its first answer, requests
    // while its background load runs, the same requests idle, and its RSS. Latencies are
    // pooled over the rounds (each round's load lasts a second or two).
    let targets = targets(&root, env::<usize>("MODLENS_BENCH_REQUESTS").unwrap_or(400));
    let _ = cli_ms(&["index", &dir, "--index-only"]); // warm the page cache
    let mut index_only = Vec::new();
    let mut load_only = Vec::new();
    let mut first = Vec::new();
    let mut busy = Lat::default();
    let mut idle = Lat::default();
    let (mut rss_index, mut rss_full) = (Vec::new(), Vec::new());
    let mut during_ms = 0.0;
    let fmt_files = format_files(&root, 40);
    let mut fmt_lat = FmtLat::default();
    let (open_typo, ask_action) = typo(&root, &targets).expect("a reference to make a typo of");
    for _ in 0..rounds {
        index_only.push(cli_ms(&["index", &dir, "--index-only"]));
        load_only.push(cli_ms(&["index", &dir, "--stats"]));
        let t = Instant::now();
        let mut s = Server::start();
        s.initialize(&root);
        let syms = s.request("workspace/symbol", json!({"query": "s3"}));
        first.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(
            syms.as_array().is_some_and(|a| !a.is_empty()),
            "symbols found"
        );
        rss_index.push(s.rss() as f64);
        s.notify("textDocument/didOpen", open_typo.clone());
        let started = Instant::now();
        let mut n = 0;
        for (i, t) in targets.iter().enumerate() {
            round(&mut s, t, &mut busy);
            busy.code_action
                .push(time(&mut s, "textDocument/codeAction", ask_action.clone()));
            n += 1;
            if (i + 1) % 25 == 0 && s.background_done() {
                break;
            }
        }
        during_ms += started.elapsed().as_secs_f64() * 1e3;
        while !s.background_done() {
            std::thread::sleep(Duration::from_millis(50));
        }
        rss_full.push(s.rss() as f64);
        for t in targets.iter().take(n.max(50)) {
            round(&mut s, t, &mut idle);
            idle.code_action
                .push(time(&mut s, "textDocument/codeAction", ask_action.clone()));
        }
        format_round(&mut s, &fmt_files, &mut fmt_lat);
        let fixes = s.request("textDocument/codeAction", ask_action.clone());
        assert!(
            fixes.as_array().is_some_and(|a| a.iter().any(|x| x["title"]
                .as_str()
                .is_some_and(|t| t.starts_with("Did you mean")))),
            "the typo gets its fixes: {fixes}"
        );
        s.stop();
    }
    let (io, lo, fa) = (median(&index_only), median(&load_only), median(&first));
    println!("\n== First workspace/symbol answer (process start to answer), medians");
    println!("  modlens index --index-only         {io:>8.1} ms");
    println!("  modlens index --stats (load only)  {lo:>8.1} ms");
    println!("  modlens lsp: first symbol answer   {fa:>8.1} ms");
    println!(
        "  vs index-only {:.2}x, vs load only {:.2}x",
        fa / io,
        fa / lo
    );
    // DESIGN's ratio is over the CLI index-only time; judged over the load alone too, so
    // that an index-only dump slower than its own budget (<= 1.5x the load, benches/cli.rs)
    // does not make this one easier.
    budgets.push(Budget {
        what: "first workspace/symbol / CLI index-only time".into(),
        limit: "<= 2x".into(),
        measured: format!("{:.2}x", fa / io),
        pass: fa / io <= 2.0,
    });
    budgets.push(Budget {
        what: "first workspace/symbol / CLI load (--stats)".into(),
        limit: "<= 2x".into(),
        measured: format!("{:.2}x", fa / lo),
        pass: fa / lo <= 2.0,
    });
    let (rss_index, rss_full) = (median(&rss_index), median(&rss_full));
    println!(
        "\n== Requests during the background load ({} of each in {during_ms:.0} ms over {rounds} \
         servers) and idle ({})",
        busy.hover.len(),
        idle.hover.len()
    );
    println!(
        "  {:<12} {:>12} {:>12} {:>12} {:>12}",
        "", "load p50 µs", "load p99 µs", "idle p50 µs", "idle p99 µs"
    );
    for (name, b, d) in [
        ("hover", &busy.hover, &idle.hover),
        ("definition", &busy.definition, &idle.definition),
        ("completion", &busy.completion, &idle.completion),
        ("inlay hints", &busy.inlay_hints, &idle.inlay_hints),
        ("signature", &busy.signature_help, &idle.signature_help),
        ("call hier.", &busy.call_hierarchy, &idle.call_hierarchy),
        ("code action", &busy.code_action, &idle.code_action),
    ] {
        println!(
            "  {name:<12} {:>12.0} {:>12.0} {:>12.0} {:>12.0}",
            median(b),
            quantile(b, 0.99),
            median(d),
            quantile(d, 0.99)
        );
    }
    for (name, v) in [
        ("hover", &busy.hover),
        ("definition", &busy.definition),
        ("inlay hints", &busy.inlay_hints),
        ("signature help", &busy.signature_help),
        ("code action", &busy.code_action),
    ] {
        let p99 = quantile(v, 0.99);
        budgets.push(Budget {
            what: format!("{name} p99 during the background load"),
            limit: "<= 5 ms".into(),
            measured: format!("{:.2} ms", p99 / 1e3),
            pass: p99 <= 5_000.0 && !v.is_empty(),
        });
    }
    println!(
        "\n== textDocument/formatting on the idle server ({} files of {:.0} KB on average, \
         {} requests of each)",
        fmt_files.len(),
        fmt_files.iter().map(|f| f.1.len()).sum::<usize>() as f64
            / fmt_files.len().max(1) as f64
            / 1e3,
        fmt_lat.canonical.len()
    );
    println!("  {:<28} {:>10} {:>10}", "", "p50 µs", "p99 µs");
    for (name, v) in [
        ("as written (no edit)", &fmt_lat.canonical),
        ("every line unindented", &fmt_lat.messy),
    ] {
        println!(
            "  {name:<28} {:>10.0} {:>10.0}",
            median(v),
            quantile(v, 0.99)
        );
    }
    let p99 = quantile(&fmt_lat.messy, 0.99);
    budgets.push(Budget {
        what: "formatting p99 (whole file, every line re-indented)".into(),
        limit: "<= 5 ms".into(),
        measured: format!("{:.2} ms", p99 / 1e3),
        pass: p99 <= 5_000.0 && !fmt_lat.messy.is_empty(),
    });
    println!("\n== Server RSS (medians)");
    println!(
        "  after the index (first answer)   {:>8.1} MB",
        rss_index / 1e6
    );
    println!(
        "  after the whole background load  {:>8.1} MB",
        rss_full / 1e6
    );
    println!("  ratio {:.2}x", rss_full / rss_index.max(1.0));
    budgets.extend(first_after_open(&root, rounds));
    budgets::finish(&budgets, t0);
}

/// The largest `.pp` files of the mod that hold a `= query.` reference, largest first:
/// (path, text, line and character of the first reference's name).
fn large_files(root: &Path, limit: usize) -> Vec<(PathBuf, String, u32, u32)> {
    let mut files: Vec<(u64, PathBuf)> = mod_files(root)
        .into_iter()
        .map(|p| (std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0), p))
        .collect();
    files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let mut out = Vec::new();
    for (_, f) in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        // A reference half way down the file.
        let half = text.lines().count() / 2;
        let at = text
            .lines()
            .enumerate()
            .skip(half)
            .chain(text.lines().enumerate().take(half))
            .find_map(|(n, line)| {
                let i = line.find("= query.")?;
                Some((n as u32, (i + "= query.".len() + 1) as u32))
            });
        if let Some((line, character)) = at {
            out.push((f, text, line, character));
        }
        if out.len() == limit {
            break;
        }
    }
    out
}

/// First request after `didOpen`, one server per round: each of the largest files opened
/// with its disk text, then at once a hover and a definition on a reference in it (the first
/// answers), then both again (steady state). The first half of the files is opened from the
/// first answer on while the background load still runs; the rest once the server is idle,
/// each file then once the server is idle again, so that each first request meets only its
/// own document's open.
fn first_after_open(root: &Path, rounds: usize) -> Vec<Budget> {
    let per_round = env::<usize>("MODLENS_BENCH_OPENS").unwrap_or(20);
    let files = large_files(root, per_round);
    let bytes: usize = files.iter().map(|f| f.1.len()).sum();
    let mut loading = Lat::default();
    let mut first = Lat::default();
    let mut steady = Lat::default();
    for _ in 0..rounds {
        let mut s = Server::start();
        s.initialize(root);
        s.request("workspace/symbol", json!({"query": "s3"}));
        let (during, after) = files.split_at(files.len() / 2);
        for (path, text, line, character) in during {
            if s.background_done() {
                break;
            }
            let u = uri(path);
            let at = json!({"textDocument": {"uri": u}, "position": {"line": line, "character": character}});
            s.notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": u, "languageId": "powerpipe", "version": 1, "text": text}}),
            );
            loading
                .hover
                .push(time(&mut s, "textDocument/hover", at.clone()));
            loading
                .definition
                .push(time(&mut s, "textDocument/definition", at));
        }
        while !s.background_done() {
            std::thread::sleep(Duration::from_millis(50));
        }
        for (path, text, line, character) in after {
            let u = uri(path);
            let at = json!({"textDocument": {"uri": u}, "position": {"line": line, "character": character}});
            s.notify(
                "textDocument/didOpen",
                json!({"textDocument": {"uri": u, "languageId": "powerpipe", "version": 1, "text": text}}),
            );
            first
                .hover
                .push(time(&mut s, "textDocument/hover", at.clone()));
            first
                .definition
                .push(time(&mut s, "textDocument/definition", at.clone()));
            steady
                .hover
                .push(time(&mut s, "textDocument/hover", at.clone()));
            steady
                .definition
                .push(time(&mut s, "textDocument/definition", at));
            while !s.background_done() {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        s.stop();
    }
    println!(
        "\n== First request after didOpen ({} files of {:.0} KB on average, {rounds} servers; {} opened during the background load)",
        files.len(),
        bytes as f64 / files.len().max(1) as f64 / 1e3,
        loading.hover.len()
    );
    println!(
        "  {:<12} {:>12} {:>12} {:>12} {:>12} {:>12} {:>12}",
        "",
        "load p50 µs",
        "load p99 µs",
        "first p50 µs",
        "first p99 µs",
        "again p50 µs",
        "again p99 µs"
    );
    let mut budgets = Vec::new();
    for (name, l, f, a) in [
        ("hover", &loading.hover, &first.hover, &steady.hover),
        (
            "definition",
            &loading.definition,
            &first.definition,
            &steady.definition,
        ),
    ] {
        println!(
            "  {name:<12} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>12.0}",
            median(l),
            quantile(l, 0.99),
            median(f),
            quantile(f, 0.99),
            median(a),
            quantile(a, 0.99)
        );
        for (when, v) in [("during the load", l), ("idle", f)] {
            let p99 = quantile(v, 0.99);
            budgets.push(Budget {
                what: format!("{name} p99, first after didOpen, {when}"),
                limit: "<= 5 ms".into(),
                measured: if v.is_empty() {
                    "none".into()
                } else {
                    format!("{:.2} ms", p99 / 1e3)
                },
                pass: p99 <= 5_000.0 && !v.is_empty(),
            });
        }
    }
    budgets
}
