//! What `benches/index_load.rs` and `examples/hcl_parse_peer.rs` share: reading a file the way
//! `workspace::load` does, and the hcl-rs peer's parse of one file (what a naive loader does).

use std::cell::RefCell;
use std::io::Read;
use std::path::Path;

thread_local! {
    /// One read buffer per worker thread, kept across files (as `workspace::load` does).
    pub static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads a file the way `workspace::load` does: open, size hint, `read_to_end`.
pub fn read_into(path: &Path, buf: &mut Vec<u8>) -> std::io::Result<()> {
    buf.clear();
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    buf.reserve(len as usize + 1);
    file.read_to_end(buf)?;
    Ok(())
}

/// What hcl-rs made of one file.
pub enum Outcome {
    /// Parsed; the body is kept.
    Parsed(hcl::Body),
    /// The file could not be read.
    Unreadable,
    /// Not UTF-8: hcl-rs takes `&str`.
    BadUtf8,
    /// hcl-rs rejected it.
    Invalid(String),
}

/// Reads `path` into this thread's buffer, strips a BOM and parses it with `hcl::parse`.
pub fn hcl_parse_file(path: &Path) -> (Outcome, u64) {
    BUF.with(|b| {
        let mut buf = b.borrow_mut();
        if read_into(path, &mut buf).is_err() {
            return (Outcome::Unreadable, 0);
        }
        let bytes = buf.len() as u64;
        let Ok(text) = std::str::from_utf8(&buf) else {
            return (Outcome::BadUtf8, bytes);
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        match hcl::parse(text) {
            Ok(body) => (Outcome::Parsed(body), bytes),
            Err(e) => (Outcome::Invalid(e.to_string()), bytes),
        }
    })
}
