//! Quick in-process comparison of reading every file vs indexing (for profiling work;
//! the real benchmark is benches/index_load.rs).
use rayon::prelude::*;
use std::time::Instant;
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "/tmp/g10".into());
    let ws = modlens::workspace::discover(std::path::Path::new(&dir)).expect("discover");
    let runs = 15;
    let mut read = Vec::new();
    let mut load = Vec::new();
    let mut scan1 = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let n: usize = ws
            .files
            .par_iter()
            .map_init(Vec::new, |buf: &mut Vec<u8>, f| {
                use std::io::Read;
                buf.clear();
                std::fs::File::open(&f.path)
                    .and_then(|mut h| h.read_to_end(buf))
                    .unwrap_or(0)
            })
            .sum();
        read.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let (index, _) = modlens::workspace::load(&ws);
        load.push(t.elapsed().as_secs_f64() * 1e3);
        drop(index);
        let srcs: Vec<Vec<u8>> = ws
            .files
            .iter()
            .map(|f| std::fs::read(&f.path).unwrap_or_default())
            .collect();
        let t = Instant::now();
        let mut s = modlens::syntax::Scratch::default();
        for src in &srcs {
            std::hint::black_box(modlens::syntax::scan_with(src, &mut s));
        }
        scan1.push(t.elapsed().as_secs_f64() * 1e3);
        let _ = n;
    }
    for v in [&mut read, &mut load, &mut scan1] {
        v.sort_by(|a, b| a.total_cmp(b));
    }
    let bytes: usize = ws
        .files
        .iter()
        .map(|f| {
            std::fs::metadata(&f.path)
                .map(|m| m.len() as usize)
                .unwrap_or(0)
        })
        .sum();
    println!(
        "read {:.2} ms, load {:.2} ms, ratio {:.2}; scan 1 thread {:.2} ms = {:.0} MB/s",
        read[runs / 2],
        load[runs / 2],
        load[runs / 2] / read[runs / 2],
        scan1[runs / 2],
        bytes as f64 / 1e6 / (scan1[runs / 2] / 1e3)
    );
}
