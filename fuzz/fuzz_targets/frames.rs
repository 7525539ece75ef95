//! The protocol guard's input side over arbitrary bytes: `guard::filter_input` (frame
//! reader, lenient decoding, `guard::check`, resynchronisation, lost edits) with its output
//! merger and a stand-in server (`modlens_fuzz::filter`).
//!
//! Input: a byte picking the read sizes (its low 7 bits) and whether a valid request is
//! appended to the stream (high bit clear), then the client's stream. Checked:
//! * what reaches the server is whole frames tower-lsp-server's codec decodes (its error
//!   would end the server's input), and every answer of the guard is one JSON-RPC error
//!   frame; nothing is held forever;
//! * the result does not depend on how the stream is cut into reads;
//! * the messages passed on are exactly what `guard::check` makes of the bodies the frame
//!   reader gives (each inside the stream, within `MAX_BODY`), plus lost-edit notices;
//! * a request after anything at all is read and passed on (resynchronisation at the next
//!   `Content-Length`);
//! * no edit is lost silently: when `textDocument/didChange` appears in bytes that are no
//!   decoded message (nor a good message's header), a `modlens/lostEdit` is passed on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modlens::lsp::guard::{self, Action, Frame, FrameReader, LOST_EDIT, MAX_BODY};
use modlens_fuzz::{Chunked, filter, run_ready};
use serde_json::{Value, json};

/// The request appended to the stream.
const FINAL: &[u8] = br#"{"jsonrpc":"2.0","id":"fuzz-final","method":"shutdown"}"#;

const DID_CHANGE: &[u8] = b"textDocument/didChange";

/// The bodies the frame reader gives when the caller rejects what does not decode (as
/// `filter_input` does), with what they decode to.
fn bodies(stream: &[u8]) -> Vec<(Vec<u8>, Value)> {
    run_ready(async {
        let mut reader = FrameReader::new(Chunked::new(stream, Vec::new()));
        let mut out = Vec::new();
        while let Some(f) = reader.next().await {
            if let Frame::Body(body) = f {
                match guard::decode(&body) {
                    Ok(v) => out.push((body, v)),
                    Err(_) => reader.reject(body),
                }
            }
        }
        out
    })
}

fn is_lost_edit(v: &Value) -> bool {
    v["method"] == LOST_EDIT
}

/// What may not depend on how the stream is read: the messages passed on (a lost-edit
/// notice by its document, as its reason is free text), then the errors that answer a
/// request, by id and code. An error with a null id only informs (and its text may say
/// more or less, and a broken run be answered once or twice, depending on where a read
/// cut it).
fn observable(f: &modlens_fuzz::Filtered) -> Vec<Value> {
    let mut out: Vec<Value> = f
        .forwarded
        .iter()
        .map(|v| match is_lost_edit(v) {
            false => v.clone(),
            true => json!({"lost edit": v["params"]["uri"]}),
        })
        .collect();
    out.extend(
        f.answers
            .iter()
            .filter(|a| !a["id"].is_null())
            .map(|a| json!({"answer": a["id"], "code": a["error"]["code"]})),
    );
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&byte, stream)) = data.split_first() else {
        return;
    };
    let size = usize::from(byte & 0x7F);
    let mut stream = stream.to_vec();
    let appended = byte & 0x80 == 0;
    if appended {
        stream.extend_from_slice(&guard::frame(FINAL));
    }
    let stream = stream.as_slice();

    let good = bodies(stream);
    let mut expected = Vec::new();
    for (body, v) in &good {
        assert!(body.len() <= MAX_BODY);
        assert!(
            body.is_empty() || memchr::memmem::find(stream, body).is_some(),
            "a body that is not in the stream"
        );
        for a in guard::check(v.clone()) {
            if let Action::Forward(m) = a
                && !is_lost_edit(&m)
            {
                expected.push(m);
            }
        }
    }
    let whole = filter(stream, Vec::new());
    let cut = filter(stream, vec![size, size * 7 + 3]);
    let (seen_whole, seen_cut) = (observable(&whole), observable(&cut));
    if seen_whole != seen_cut {
        let first = seen_whole
            .iter()
            .zip(&seen_cut)
            .position(|(a, b)| a != b)
            .unwrap_or(seen_whole.len().min(seen_cut.len()));
        panic!(
            "the guard's result depends on how the stream is read: at #{first}, whole {:?}, \
             cut {:?}\n whole: {whole:?}\n   cut: {cut:?}",
            seen_whole.get(first),
            seen_cut.get(first)
        );
    }

    let forwarded: Vec<&Value> = whole
        .forwarded
        .iter()
        .filter(|v| !is_lost_edit(v))
        .collect();
    assert!(
        forwarded.iter().copied().eq(expected.iter()),
        "passed on: {forwarded:?}\nbut the bodies read check as: {expected:?}"
    );

    if appended {
        let last = serde_json::from_slice::<Value>(FINAL).expect("FINAL is JSON");
        assert!(
            whole.forwarded.last() == Some(&last),
            "the request at the end was not passed on (last: {:?})",
            whole.forwarded.last()
        );
    }

    if !whole.forwarded.iter().any(is_lost_edit) {
        let n = DID_CHANGE.len();
        for p in memchr::memmem::find_iter(stream, DID_CHANGE) {
            // Inside a body that decoded, or in the header block of one.
            let in_body = good.iter().any(|(b, _)| {
                memchr::memmem::find_iter(stream, b).any(|q| q <= p && p + n <= q + b.len())
            });
            let in_header = memchr::memmem::find(&stream[p..], b"\r\n\r\n").is_some_and(|e| {
                let after = &stream[p + e + 4..];
                good.iter().any(|(b, _)| after.starts_with(b))
            });
            assert!(
                in_body || in_header,
                "`textDocument/didChange` at byte {p} is in no message passed on, and no \
                 lost edit was reported"
            );
        }
    }
});
