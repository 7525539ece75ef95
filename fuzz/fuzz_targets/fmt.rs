//! `format::format` on arbitrary text: never panics (deep nesting included), terminates
//! (libFuzzer's `-timeout`), agrees with `format::check`, and what it formats formats to
//! itself. (`hclwrite.Format`, which it matches byte for byte, can glue two tokens into an
//! invalid one, `3.14 .0` into `3.14.0`; such an output may be refused, never changed.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use modlens::format;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let once = format::format(text);
    assert_eq!(
        once.is_ok(),
        format::check(text).is_ok(),
        "format and check disagree"
    );
    if let Ok(once) = once
        && let Ok(twice) = format::format(&once)
    {
        assert_eq!(once, twice, "formatting twice changes the text");
    }
});
