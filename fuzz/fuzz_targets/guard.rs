//! The whole server behind its guard: the client's stream is pieces of garbage and framed
//! messages, then one valid request; that request must be answered (before `initialize`,
//! with an error), and the server must stop when the stream ends.
//!
//! Input: pieces separated by `\xFF\xFE`; a piece starting with `F` is framed (the rest is a
//! message body with a correct `Content-Length`), any other piece is raw bytes. Inputs that
//! legitimately lose the request are skipped: a piece holding `Content-Length` (a raw one
//! could open a frame that swallows the request) and a message whose method is `exit`
//! (the server stops), `initialize` or `initialized` (the server would start indexing).
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use modlens::lsp::guard::{Frame, FrameReader, frame};
use tokio::io::AsyncWriteExt;

const FINAL: &[u8] = br#"{"jsonrpc":"2.0","id":"fuzz-final","method":"shutdown"}"#;
/// Far longer than an answer takes (well under a millisecond); only a lost request waits.
const DEADLINE: Duration = Duration::from_secs(5);

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

/// The client's stream, or `None` for an input skipped (see the module comment).
fn stream(data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        let (piece, next) = match memchr::memmem::find(rest, b"\xFF\xFE") {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        if modlens_fuzz::contains_ignore_case(piece, b"content-length") {
            return None;
        }
        match piece.strip_prefix(b"F") {
            Some(body) => {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body)
                    && let Some(m) = v.get("method").and_then(|m| m.as_str())
                    && matches!(m, "exit" | "initialize" | "initialized")
                {
                    return None;
                }
                out.extend_from_slice(&frame(body));
            }
            None => out.extend_from_slice(piece),
        }
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    out.extend_from_slice(&frame(FINAL));
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = stream(data) else { return };
    runtime().block_on(async move {
        let (mut client_w, server_in) = tokio::io::duplex(1 << 16);
        let (server_out, client_r) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(modlens::lsp::serve(
            server_in,
            server_out,
            modlens::lsp::Options::default(),
        ));
        let writer = tokio::spawn(async move {
            let _ = client_w.write_all(&input).await;
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
