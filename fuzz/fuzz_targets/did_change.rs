//! `textDocument/didChange` sequences: arbitrary incremental edits applied to an open
//! document by the server's own `lsp::text::apply_change`, against the client's copy
//! (`modlens_fuzz::ClientDoc`, UTF-16 units as VS Code's text document holds them, lines at
//! `\n`, `\r\n` and a lone `\r`); and the index updated after every edit
//! (`Index::replace_file`, as the server's project does) against a fresh index of the final
//! text.
//!
//! Checked after every edit: the server applies exactly the edits the client applies and
//! refuses exactly those reaching below the line after the last (changing nothing), and
//! its text is the client's unit for unit (a lone surrogate half as U+FFFD).
//!
//! Input: the document's text, then (after `\xFF\xFF`, which UTF-8 text never holds) the
//! edits, decoded with `arbitrary`.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use modlens::index::Index;
use modlens::lsp::text::apply_change;
use modlens::syntax;
use modlens_fuzz::{ClientDoc, SpecPosition};
use tower_lsp_server::ls_types::{Position, Range};

/// Another file of the mod, referring into the edited one (so that referrers change).
const OTHER: &[u8] = b"benchmark \"other\" {\n  children = [control.c, benchmark.b]\n}\nquery \"q2\" {\n  sql = query.q.sql\n}\n";

#[derive(Arbitrary, Debug)]
struct Change {
    range: Option<(u32, u32, u32, u32)>,
    text: String,
}

/// Mostly small lines and columns (inside the text), sometimes anything.
fn coordinate(v: u32) -> u32 {
    if v >= 0xFFFF_0000 { v } else { v % 40 }
}

fn index_of(doc: &[u8]) -> Index {
    let mut index = Index::new();
    let m = index.add_mod(String::new(), false);
    index.add_file("mod.pp".into(), m, syntax::scan(modlens_fuzz::MOD_PP));
    index.add_file("main.pp".into(), m, syntax::scan(doc));
    index.add_file("other.pp".into(), m, syntax::scan(OTHER));
    index
}

fuzz_target!(|data: &[u8]| {
    let (head, tail) = match memchr::memmem::find(data, b"\xFF\xFF") {
        Some(i) => (&data[..i], &data[i + 2..]),
        None => (data, &[][..]),
    };
    let mut text = String::from_utf8_lossy(head).into_owned();
    let mut client = ClientDoc::new(&text);
    let mut index = index_of(text.as_bytes());
    let main = index.file_by_path("main.pp").expect("main.pp is indexed");
    let mut u = Unstructured::new(tail);
    let mut changes = 0;
    while !u.is_empty() && changes < 64 {
        let Ok(c) = Change::arbitrary(&mut u) else {
            break;
        };
        changes += 1;
        let range = c.range.map(|(l1, c1, l2, c2)| {
            let (l1, c1, l2, c2) = (
                coordinate(l1),
                coordinate(c1),
                coordinate(l2),
                coordinate(c2),
            );
            (
                Range::new(Position::new(l1, c1), Position::new(l2, c2)),
                (
                    SpecPosition {
                        line: l1,
                        character: c1,
                    },
                    SpecPosition {
                        line: l2,
                        character: c2,
                    },
                ),
            )
        });
        let before = text.clone();
        let server = apply_change(&mut text, range.map(|r| r.0), &c.text);
        let expected = client.apply(range.map(|r| r.1), &c.text);
        assert!(
            server.is_ok() == expected.is_ok(),
            "change #{changes} {c:?} to {before:?}: the server says {server:?}, the client {expected:?}"
        );
        if server.is_err() {
            assert!(
                text == before,
                "a refused change #{changes} changed the text"
            );
        }
        if let Err(e) = client.agrees_with(&text) {
            panic!(
                "after change #{changes} {c:?} to {before:?}: {e}\n server: {text:?}\n client: {:?}",
                client.text()
            );
        }
        index.replace_file(main, syntax::scan(text.as_bytes()));
    }
    let read = |path: &str| -> Option<Vec<u8>> {
        match path {
            "mod.pp" => Some(modlens_fuzz::MOD_PP.to_vec()),
            "main.pp" => Some(text.as_bytes().to_vec()),
            "other.pp" => Some(OTHER.to_vec()),
            _ => None,
        }
    };
    let fresh = index_of(text.as_bytes());
    assert_eq!(
        modlens_fuzz::observe(&index, &read),
        modlens_fuzz::observe(&fresh, &read),
        "the index after {changes} edits differs from a fresh scan"
    );
});
