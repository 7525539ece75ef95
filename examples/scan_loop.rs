//! Scans every file of a folder N times on one thread (a profiling target):
//! `cargo run --release --example scan_loop -- DIR [TIMES]`.
#[path = "common/args.rs"]
mod args;

fn main() {
    let (dir, times) = args::dir_and_times(20);
    let srcs = args::sources(&dir);
    let mut s = modlens::syntax::Scratch::default();
    for _ in 0..times {
        for src in &srcs {
            std::hint::black_box(modlens::syntax::scan_with(src, &mut s));
        }
    }
}
