//! What the logos lexer alone costs per token, beside the whole scan (a profiling probe).
//!
//! `cargo run --release --example lex_only -- DIR [TIMES]` reads every file of the mod once,
//! then on one thread, three times: lexes every byte with the bare logos lexer (strings and
//! heredocs included, so more tokens than the scanner sees), runs the full scan, and counts
//! line ends with memchr. It prints MB/s for each and the lexer's nanoseconds per token.
use logos::Logos;
use modlens::syntax::lexer::Tok;

#[path = "common/args.rs"]
mod args;

fn main() {
    let (dir, times) = args::dir_and_times(20);
    let srcs = args::sources(&dir);
    let bytes = (times * srcs.iter().map(Vec::len).sum::<usize>()) as f64;
    let mut scratch = modlens::syntax::Scratch::default();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let mut tokens = 0usize;
        for _ in 0..times {
            for src in &srcs {
                for tok in Tok::lexer(src) {
                    tokens += 1;
                    std::hint::black_box(tok.is_ok());
                }
            }
        }
        let lex_s = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        for _ in 0..times {
            for src in &srcs {
                std::hint::black_box(modlens::syntax::scan_with(src, &mut scratch));
            }
        }
        let scan_s = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let mut lines = 0usize;
        for _ in 0..times {
            for src in &srcs {
                lines += memchr::memchr_iter(b'\n', src).count();
            }
        }
        let count_s = t.elapsed().as_secs_f64();
        std::hint::black_box(lines);
        println!(
            "lexer alone {:.0} MB/s ({:.1} B/token, {:.1} ns/token) | scan {:.0} MB/s | line count {:.0} MB/s",
            bytes / lex_s / 1e6,
            bytes / tokens as f64,
            lex_s * 1e9 / tokens as f64,
            bytes / scan_s / 1e6,
            bytes / count_s / 1e6,
        );
    }
}
