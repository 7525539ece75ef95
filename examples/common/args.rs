//! What the profiling examples share: `DIR [TIMES]` from the command line, and the mod's
//! files read once into memory.

/// The folder (first argument, `.` by default) and the repeat count (second, else `times`).
pub fn dir_and_times(times: usize) -> (String, usize) {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let times = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(times);
    (dir, times)
}

/// Every file of the workspace at `dir`, read into memory (an unreadable one as empty).
#[allow(dead_code, reason = "payload_loop loads the index instead")]
pub fn sources(dir: &str) -> Vec<Vec<u8>> {
    let ws = modlens::workspace::discover(std::path::Path::new(dir)).expect("discover");
    ws.files
        .iter()
        .map(|f| std::fs::read(&f.path).unwrap_or_default())
        .collect()
}
