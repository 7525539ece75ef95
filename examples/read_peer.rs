//! The read-only peer process of `benches/index_load.rs`: the floor of a whole-process load.
//!
//! `read_peer DIR` discovers the workspace with modlens (the same walk and file list as
//! `modlens index DIR --stats`), reads every file on the rayon pool (one reused buffer per
//! thread, as `workspace::load` reads) and does nothing else with the bytes. Then it prints
//! one JSON object with the files, the bytes read, its time in process and its own peak RSS
//! (`VmHWM` from `/proc/self/status`). The thread count follows `RAYON_NUM_THREADS` (all
//! cores by default), as `modlens` does without `--threads`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use rayon::prelude::*;

#[path = "../benches/common/peers.rs"]
#[allow(dead_code, reason = "the hcl-rs parse is hcl_parse_peer's")]
mod peers;
use peers::{BUF, read_into};

/// Peak resident set size from `/proc/self/status` (Linux); `None` elsewhere.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: read_peer DIR");
        return ExitCode::from(2);
    };
    let start = Instant::now();
    let ws = match modlens::workspace::discover(Path::new(&dir)) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("read_peer: {e}");
            return ExitCode::from(2);
        }
    };
    let (bytes, unreadable) = ws
        .files
        .par_iter()
        .map(|f| {
            BUF.with(|b| {
                let mut buf = b.borrow_mut();
                match read_into(&f.path, &mut buf) {
                    Ok(()) => (buf.len() as u64, 0usize),
                    Err(_) => (0, 1),
                }
            })
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let elapsed_ms = start.elapsed().as_secs_f64() * 1e3;
    let report = serde_json::json!({
        "files": ws.files.len(),
        "bytes": bytes,
        "unreadable": unreadable,
        "elapsed_ms": elapsed_ms,
        "peak_rss_bytes": peak_rss(),
    });
    println!("{report:#}");
    ExitCode::SUCCESS
}
