//! Formatter benchmark: `modlens::format::format` against HCL's own `hclwrite.Format` over
//! every file of the 10x generated mod.
//!
//! `cargo bench --bench fmt` (a plain `main`, `harness = false`). modlens formats every file
//! in this process (one thread, the syntax check included: the time a `modlens fmt` or an
//! editor's format request pays); the Go reference (`tests/fmt_reference/main.go`, built
//! against Debian's hcl v2 source) formats the same files in one process and reports the
//! time of its formatting loop measured inside that process (reading input and process start
//! excluded; `hclwrite.Format` alone, no parse). Best of `MODLENS_BENCH_RUNS` (default 5)
//! runs each, the machine being shared. It prints both times, the ratio and a PASS/FAIL
//! verdict for "at least 5x faster", and exits 1 on FAIL. Without Go or the hcl source the
//! comparison is skipped with a message.

use std::path::PathBuf;
use std::time::Instant;

#[path = "common/mods.rs"]
mod mods;
#[path = "../tests/fmt_reference/reference.rs"]
mod reference;

/// How many times faster than `hclwrite.Format` modlens must be.
const REQUIRED_RATIO: f64 = 5.0;

fn main() {
    let base = std::env::var_os("MODLENS_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("modlens-bench"));
    let runs: usize = std::env::var("MODLENS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
        .max(1);
    let ten = mods::ensure_mod(&base, 10.0, false);
    let texts: Vec<String> = reference::hcl_files(&ten)
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    println!(
        "fmt: 10x mod, {} files, {:.1} MB, best of {runs} runs",
        texts.len(),
        bytes as f64 / 1e6
    );

    let mut ours = f64::INFINITY;
    let mut refused = 0;
    for _ in 0..runs {
        let t = Instant::now();
        refused = 0;
        for text in &texts {
            match modlens::format::format(text) {
                Ok(out) => {
                    std::hint::black_box(out);
                }
                Err(_) => refused += 1,
            }
        }
        ours = ours.min(t.elapsed().as_secs_f64());
    }
    println!(
        "  modlens format        {:>9.1} ms  ({:.0} MB/s, {refused} files refused)",
        ours * 1e3,
        bytes as f64 / 1e6 / ours
    );

    // Where the time goes: the syntax check alone (scan + validating parse), the scan
    // alone, and the scan + layout without the check.
    let time = |f: &dyn Fn(&str)| {
        let mut best = f64::INFINITY;
        for _ in 0..runs {
            let t = Instant::now();
            for text in &texts {
                f(text);
            }
            best = best.min(t.elapsed().as_secs_f64());
        }
        best
    };
    let check = time(&|t| {
        std::hint::black_box(modlens::format::check(t).is_ok());
    });
    let lex = time(&|t| {
        std::hint::black_box(modlens::format::bench_lex(t));
    });
    let lex_layout = time(&|t| {
        std::hint::black_box(modlens::format::bench_lex_layout(t));
    });
    let scanned: Vec<(&str, modlens::format::BenchTokens)> = texts
        .iter()
        .map(|t| (t.as_str(), modlens::format::bench_tokens(t)))
        .collect();
    let mut parse = f64::INFINITY;
    for _ in 0..runs {
        let t = Instant::now();
        for (text, tokens) in &scanned {
            std::hint::black_box(modlens::format::bench_parse(text, tokens));
        }
        parse = parse.min(t.elapsed().as_secs_f64());
    }
    drop(scanned);
    println!(
        "    check alone         {:>9.1} ms  (scan + validating parse)",
        check * 1e3
    );
    println!(
        "    parse alone         {:>9.1} ms  (on tokens scanned before)",
        parse * 1e3
    );
    println!("    scan alone          {:>9.1} ms", lex * 1e3);
    println!(
        "    scan + layout       {:>9.1} ms  (no check; layout ~{:.1} ms)",
        lex_layout * 1e3,
        (lex_layout - lex) * 1e3
    );

    let reference = match reference::build() {
        Ok(r) => r,
        Err(why) => {
            println!("  hclwrite.Format       skipped: {why}");
            return;
        }
    };
    let docs: Vec<&[u8]> = texts.iter().map(|t| t.as_bytes()).collect();
    let go = (0..runs)
        .map(|_| reference.bench(&docs).0 as f64 / 1e9)
        .fold(f64::INFINITY, f64::min);
    println!(
        "  hclwrite.Format (Go)  {:>9.1} ms  ({:.0} MB/s, timed inside the Go process)",
        go * 1e3,
        bytes as f64 / 1e6 / go
    );
    let ratio = go / ours;
    let pass = ratio >= REQUIRED_RATIO;
    println!(
        "  ratio {ratio:.1}x faster (need >= {REQUIRED_RATIO}x): {}",
        if pass { "PASS" } else { "FAIL" }
    );
    if !pass {
        std::process::exit(1);
    }
}
