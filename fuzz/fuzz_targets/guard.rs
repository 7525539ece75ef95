//! The whole server behind its guard: the client's stream is pieces of garbage and framed
//! messages, then one valid request; that request must be answered (before `initialize`,
//! with an error), and the server must stop when the stream ends.
//!
//! Input: pieces separated by `\xFF\xFE`; a piece starting with `F` is framed (the rest is a
//! message body with a correct `Content-Length`), any other piece is raw bytes (which may
//! hold frames of its own, whole or broken). The guard resynchronises at every
//! `Content-Length`, so nothing before the request can swallow it. Skipped: inputs where
//! the guard passes on (`modlens_fuzz::filter`) a message whose method is `exit` (the
//! server stops), `initialize` or `initialized` (the server would start indexing).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modlens::lsp::guard::{Frame, FrameReader, frame};
use modlens_fuzz::DEADLINE;
use tokio::io::AsyncWriteExt;

const FINAL: &[u8] = br#"{"jsonrpc":"2.0","id":"fuzz-final","method":"shutdown"}"#;

/// The client's stream, as the writes it sends it in.
fn stream(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        let (piece, next) = match memchr::memmem::find(rest, b"\xFF\xFE") {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        match piece.strip_prefix(b"F") {
            Some(body) => out.push(frame(body)),
            None => out.push(piece.to_vec()),
        }
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    out.push(frame(FINAL));
    out
}

fuzz_target!(|data: &[u8]| {
    let writes = stream(data);
    let passed_on = modlens_fuzz::filter(&writes.concat(), Vec::new()).forwarded;
    if passed_on.iter().any(|v| {
        matches!(
            v["method"].as_str(),
            Some("exit" | "initialize" | "initialized")
        )
    }) {
        return;
    }
    modlens_fuzz::runtime().block_on(async move {
        let (mut client_w, server_in) = tokio::io::duplex(1 << 16);
        let (server_out, client_r) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(modlens::lsp::serve(
            server_in,
            server_out,
            modlens::lsp::Options::default(),
        ));
        // Each piece in a write of its own, the server left to read what it got (and find
        // nothing more) before the next: as a pipe delivers a client's writes.
        let writer = tokio::spawn(async move {
            for w in writes {
                let _ = client_w.write_all(&w).await;
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
            }
            client_w
        });
        let answered = tokio::time::timeout(DEADLINE, async move {
            let mut frames = FrameReader::new(client_r);
            while let Some(f) = frames.next().await {
                if let Frame::Body(b) = f
                    && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&b)
                    && v["id"] == "fuzz-final"
                {
                    return true;
                }
            }
            false
        })
        .await;
        // The end of the stream: the server must stop.
        drop(tokio::time::timeout(DEADLINE, writer).await);
        let stopped = tokio::time::timeout(DEADLINE, server).await;
        assert!(
            answered == Ok(true),
            "the request after the garbage was not answered ({answered:?})"
        );
        assert!(
            stopped.is_ok(),
            "the server did not stop at the end of its input"
        );
    });
});
