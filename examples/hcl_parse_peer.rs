//! The hcl-rs peer process of `benches/index_load.rs`: what a naive loader does.
//!
//! `hcl_parse_peer DIR` discovers the workspace with modlens (the same file list the index
//! reads), reads every file on the rayon pool (one reused buffer per thread, as modlens does),
//! strips a BOM, skips invalid UTF-8, parses it with `hcl::parse` and keeps every body alive.
//! Then it prints one JSON object with its own peak RSS (`VmHWM` from `/proc/self/status`).
//! The thread count follows `RAYON_NUM_THREADS` (all cores by default).

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use rayon::prelude::*;

#[path = "../benches/common/peers.rs"]
mod peers;
use peers::{Outcome, hcl_parse_file as parse_file};

/// Peak resident set size from `/proc/self/status` (Linux); `None` elsewhere.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: hcl_parse_peer DIR");
        return ExitCode::from(2);
    };
    let ws = match modlens::workspace::discover(Path::new(&dir)) {
        Ok(ws) => ws,
        Err(e) => {
            eprintln!("hcl_parse_peer: {e}");
            return ExitCode::from(2);
        }
    };
    let start = Instant::now();
    let outcomes: Vec<(Outcome, u64)> = ws.files.par_iter().map(|f| parse_file(&f.path)).collect();
    let elapsed_ms = start.elapsed().as_secs_f64() * 1e3;

    let (mut parsed, mut unreadable, mut bad_utf8, mut invalid) = (0usize, 0usize, 0usize, 0usize);
    let mut first_error = None;
    let mut labelled_blocks = 0usize;
    for ((outcome, _), f) in outcomes.iter().zip(&ws.files) {
        match outcome {
            Outcome::Parsed(body) => {
                parsed += 1;
                labelled_blocks += body.blocks().filter(|b| !b.labels.is_empty()).count();
            }
            Outcome::Unreadable => unreadable += 1,
            Outcome::BadUtf8 => bad_utf8 += 1,
            Outcome::Invalid(e) => {
                invalid += 1;
                first_error.get_or_insert_with(|| format!("{}: {e}", f.rel));
            }
        }
    }
    let bytes: u64 = outcomes.iter().map(|(_, b)| b).sum();
    let report = serde_json::json!({
        "files": ws.files.len(),
        "bytes": bytes,
        "parsed": parsed,
        "unreadable": unreadable,
        "invalid_utf8": bad_utf8,
        "parse_errors": invalid,
        "top_level_labelled_blocks": labelled_blocks,
        "first_parse_error": first_error,
        "elapsed_ms": elapsed_ms,
        "peak_rss_bytes": peak_rss(),
    });
    println!("{report:#}");
    // Every body stays alive until the peak has been read.
    std::hint::black_box(&outcomes);
    ExitCode::SUCCESS
}
