//! Scans every file of a folder N times on one thread (a profiling target).
fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "/tmp/g10".into());
    let times: usize = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let ws = modlens::workspace::discover(std::path::Path::new(&dir)).expect("discover");
    let srcs: Vec<Vec<u8>> = ws
        .files
        .iter()
        .map(|f| std::fs::read(&f.path).unwrap_or_default())
        .collect();
    let mut s = modlens::syntax::Scratch::default();
    for _ in 0..times {
        for src in &srcs {
            std::hint::black_box(modlens::syntax::scan_with(src, &mut s));
        }
    }
}
