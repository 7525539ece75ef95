//! The resolver on one small mod: the input is `main.pp` beside a fixed `mod.pp`. The
//! values are computed, every resource is resolved (with its title, description and tags
//! evaluated), and a second resolver must give the same results. Never panics or hangs.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// At most this many resources are resolved per input (keeps executions fast).
const LIMIT: usize = 64;

fuzz_target!(|data: &[u8]| {
    let ws = modlens_fuzz::workspace(&[("main.pp", data)], &modlens_fuzz::no_inputs());
    ws.model.values.force(&ws.model.index);
    let _ = ws.model.diagnostics();
    let first = modlens_fuzz::resolve_all(&ws, &ws.resolver, LIMIT);
    let second = modlens_fuzz::resolve_all(&ws, &modlens_fuzz::fresh_resolver(&ws), LIMIT);
    assert!(first == second, "two resolvers disagree");
});
