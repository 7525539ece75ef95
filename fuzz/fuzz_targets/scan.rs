//! `syntax::scan` on arbitrary bytes: never panics, terminates (libFuzzer's `-timeout`),
//! keeps the index's invariants (`modlens_fuzz::check_scan`), renders, and gives the same
//! result with a reused `Scratch` as with a fresh one.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use modlens::syntax::{self, Scratch};

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

fuzz_target!(|data: &[u8]| {
    let index = syntax::scan(data);
    if let Err(e) = modlens_fuzz::check_scan(data, &index) {
        panic!("{e}\n{}", syntax::render(&index));
    }
    let rendered = syntax::render(&index);
    let again = SCRATCH.with(|s| syntax::scan_with(data, &mut s.borrow_mut()));
    assert_eq!(
        rendered,
        syntax::render(&again),
        "a reused Scratch scans differently"
    );
});
