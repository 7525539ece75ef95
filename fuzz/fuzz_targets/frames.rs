//! The protocol guard's frame reader and message check over arbitrary bytes. The first
//! byte picks a chunk size; the rest is the client's stream. Checked: the reader ends;
//! the frames do not depend on how the stream is cut into reads; every body is a part of
//! the stream and within `MAX_BODY`; a body the guard passes on is one tower-lsp-server's
//! codec decodes (a codec error would end the server's input); a body it refuses is
//! answered with one JSON-RPC error frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use modlens::lsp::guard::{self, Frame, FrameReader, MAX_BODY};
use modlens_fuzz::{Chunked, run_ready};

fn frames(stream: &[u8], sizes: Vec<usize>) -> Vec<Frame> {
    run_ready(async {
        let mut reader = FrameReader::new(Chunked::new(stream, sizes));
        let mut out = Vec::new();
        while let Some(f) = reader.next().await {
            out.push(f);
        }
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&size, stream)) = data.split_first() else {
        return;
    };
    let whole = frames(stream, Vec::new());
    let cut = frames(stream, vec![usize::from(size), usize::from(size) * 7 + 3]);
    assert_eq!(whole, cut, "frames depend on how the stream is read");
    for f in &whole {
        let Frame::Body(body) = f else { continue };
        assert!(body.len() <= MAX_BODY);
        assert!(
            body.is_empty() || memchr::memmem::find(stream, body).is_some(),
            "a body that is not in the stream"
        );
        match guard::check(body) {
            Ok(()) => assert!(
                modlens_fuzz::server_decodes(body),
                "the guard passes on a message tower-lsp-server cannot decode: {:?}",
                String::from_utf8_lossy(body)
            ),
            Err(reply) => {
                let replies = frames(&reply, Vec::new());
                let [Frame::Body(json)] = replies.as_slice() else {
                    panic!("the error reply is not one frame: {replies:?}");
                };
                let v: serde_json::Value =
                    serde_json::from_slice(json).expect("the error reply is JSON");
                assert!(v["error"]["code"].is_i64(), "no error code in {v}");
                assert!(modlens_fuzz::server_decodes(json));
            }
        }
    }
});
