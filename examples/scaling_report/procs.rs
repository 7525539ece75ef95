//! Child processes of the scaling report: a whole process timed with its peak RSS, the
//! `hcl_parse_peer` under an address-space limit, and a minimal language client driving
//! `modlens lsp` over stdio to its first `workspace/symbol` answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One whole process: wall time from spawn to exit, peak RSS.
pub struct Run {
    /// Milliseconds from spawn to exit.
    pub ms: f64,
    /// Peak resident set size (bytes), from `wait4`'s resource usage.
    pub peak_rss: u64,
}

/// The argument that makes this example measure one process for its parent (see
/// [`run_measured`]) instead of writing the report.
pub const MEASURE_ARG: &str = "--measure-process";

/// Runs `bin args` with its output discarded and returns its wall time and peak RSS; an exit
/// code above 1 (1 is "the mod has errors") or a signal is an error.
///
/// The process is started by a fresh copy of this example ([`MEASURE_ARG`]): Linux carries
/// the peak RSS of the address space a process was started from into its own (`vfork` shares
/// the parent's, and `exec` keeps the larger peak), so a child of this large process would
/// report this process's peak, not its own.
pub fn run_measured(bin: &Path, args: &[&str], threads: usize) -> Result<Run, String> {
    let me = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let out = Command::new(me)
        .arg(MEASURE_ARG)
        .arg(bin)
        .args(args)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run the measuring copy: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(text.trim().to_string());
    }
    let mut parts = text.split_whitespace();
    let (Some(Ok(ms)), Some(Ok(peak_rss))) = (
        parts.next().map(str::parse::<f64>),
        parts.next().map(str::parse::<u64>),
    ) else {
        return Err(format!("the measuring copy printed {text:?}"));
    };
    Ok(Run { ms, peak_rss })
}

/// The measuring copy's work: runs `bin args` (its output discarded) and prints
/// `MS PEAK_RSS_BYTES`, or why it failed (exit 1).
pub fn measure_here(bin: &Path, args: &[std::ffi::OsString]) -> std::process::ExitCode {
    match measure_child(bin, args) {
        Ok(run) => {
            println!("{} {}", run.ms, run.peak_rss);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            println!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn measure_child(bin: &Path, args: &[std::ffi::OsString]) -> Result<Run, String> {
    let t = Instant::now();
    let child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain data; all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not waited for yet (std waits only when asked); both
    // pointers are valid for writes for the duration of the call.
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let ms = t.elapsed().as_secs_f64() * 1e3;
    drop(child);
    if got != pid {
        return Err(format!("wait4 failed: {}", std::io::Error::last_os_error()));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) > 1 {
        return Err(format!(
            "{} {args:?} failed (wait status {status})",
            bin.display()
        ));
    }
    // Linux reports `ru_maxrss` in KiB.
    Ok(Run {
        ms,
        peak_rss: usage.ru_maxrss.max(0) as u64 * 1024,
    })
}

/// Peak RSS (bytes) the `hcl_parse_peer` reports for `dir`, run under an address-space
/// limit of `cap_bytes` (`ulimit -v`): `Err` when it failed, e.g. for want of memory.
pub fn eager_peer_rss(
    peer: &Path,
    dir: &Path,
    threads: usize,
    cap_bytes: u64,
) -> Result<u64, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v \"$1\" && shift && exec \"$@\"")
        .arg("sh")
        .arg((cap_bytes / 1024).to_string())
        .arg(peer)
        .arg(dir)
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", peer.display()))?;
    if !out.status.success() {
        return Err(format!("peer failed ({})", out.status));
    }
    let v: Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("peer output: {e}"))?;
    v.get("peak_rss_bytes")
        .and_then(Value::as_u64)
        .ok_or_else(|| "peer printed no peak_rss_bytes".into())
}

/// How long the client waits for any one answer.
const ANSWER_DEADLINE: Duration = Duration::from_secs(300);

fn send(stdin: &mut ChildStdin, msg: &Value) -> Result<(), String> {
    let body = msg.to_string();
    write!(stdin, "Content-Length: {}\r\n\r\n{body}", body.len())
        .and_then(|()| stdin.flush())
        .map_err(|e| format!("writing to the server: {e}"))
}

/// Reads framed messages from the server and sends those with an id (responses, and the
/// server's own requests such as progress tokens) to `tx`; notifications are dropped.
fn read_frames(stdout: impl Read, tx: mpsc::Sender<Value>) {
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
        if msg.get("id").is_some() && tx.send(msg).is_err() {
            return;
        }
    }
}

/// A server under test and the client's end of its pipes.
struct Session {
    child: Child,
    stdin: ChildStdin,
    messages: mpsc::Receiver<Value>,
}

impl Session {
    /// Sends request `id` and waits for its answer (answering the server's own requests
    /// meanwhile).
    fn request(&mut self, id: i64, method: &str, params: Value) -> Result<Value, String> {
        send(
            &mut self.stdin,
            &json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
        )?;
        let deadline = Instant::now() + ANSWER_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(msg) if msg.get("method").is_some() => send(
                    &mut self.stdin,
                    &json!({"jsonrpc": "2.0", "id": msg["id"], "result": null}),
                )?,
                Ok(msg) if msg["id"] == json!(id) => {
                    return Ok(msg.get("result").cloned().unwrap_or(Value::Null));
                }
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!("no answer to {method} in {ANSWER_DEADLINE:?}"));
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(format!(
                        "the server closed its output before answering {method}"
                    ));
                }
            }
        }
    }

    fn notify(&mut self, method: &str, params: Value) -> Result<(), String> {
        send(
            &mut self.stdin,
            &json!({"jsonrpc": "2.0", "method": method, "params": params}),
        )
    }
}

/// Milliseconds from starting `modlens lsp` (then `initialize`, `initialized` and at once
/// `workspace/symbol` for `query`) to the symbol answer, which must hold results.
pub fn lsp_first_answer(
    bin: &Path,
    root: &Path,
    query: &str,
    threads: usize,
) -> Result<f64, String> {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .arg("lsp")
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run {} lsp: {e}", bin.display()))?;
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err("no pipes to the server".into());
    };
    let (tx, messages) = mpsc::channel();
    let reader = std::thread::spawn(move || read_frames(stdout, tx));
    let mut s = Session {
        child,
        stdin,
        messages,
    };
    let uri = format!("file://{}", root.display());
    let result = (|| {
        s.request(
            1,
            "initialize",
            json!({
                "processId": null,
                "capabilities": {"window": {"workDoneProgress": true}},
                "workspaceFolders": [{"uri": uri, "name": "report"}],
            }),
        )?;
        s.notify("initialized", json!({}))?;
        let symbols = s.request(2, "workspace/symbol", json!({"query": query}))?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if symbols.as_array().is_none_or(Vec::is_empty) {
            return Err(format!("no symbol answers `{query}`"));
        }
        Ok(ms)
    })();
    // Shut down politely, then make sure the process is gone either way.
    let _ = s.request(3, "shutdown", Value::Null);
    let _ = s.notify("exit", Value::Null);
    drop(s.stdin);
    let _ = s.child.kill();
    let _ = s.child.wait();
    let _ = reader.join();
    result
}
