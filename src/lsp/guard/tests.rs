//! The guard's frame reader, decoder and checks, on bytes built to break them.

use std::pin::Pin;
use std::task::{Context, Poll};

use proptest::prelude::*;
use tokio::io::ReadBuf;

use super::*;

/// A byte stream that hands out its bytes in chunks of the given sizes (in turn).
struct Chunks {
    data: Vec<u8>,
    sizes: Vec<usize>,
    at: usize,
    turn: usize,
}

impl Chunks {
    fn new(data: Vec<u8>, sizes: Vec<usize>) -> Chunks {
        Chunks {
            data,
            sizes,
            at: 0,
            turn: 0,
        }
    }
}

impl AsyncRead for Chunks {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let size = self
            .sizes
            .get(self.turn % self.sizes.len().max(1))
            .copied()
            .unwrap_or(usize::MAX)
            .max(1);
        self.turn += 1;
        let n = size.min(self.data.len() - self.at).min(buf.remaining());
        let at = self.at;
        buf.put_slice(&self.data[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
}

/// Every frame of `input`, read in chunks of `sizes`.
fn frames(input: &[u8], sizes: Vec<usize>) -> Vec<Frame> {
    rt().block_on(async {
        let mut r = FrameReader::new(Chunks::new(input.to_vec(), sizes));
        let mut out = Vec::new();
        while let Some(f) = r.next().await {
            // As the guard does: a body that is not JSON is searched for the next header.
            if let Frame::Body(b) = &f
                && decode(b).is_err()
            {
                r.reject(b.clone());
            }
            out.push(f);
        }
        out
    })
}

fn bodies(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::Body(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        })
        .collect()
}

fn errors(frames: &[Frame]) -> usize {
    frames
        .iter()
        .filter(|f| matches!(f, Frame::Bad { .. }))
        .count()
}

const NEXT: &str =
    r#"{"jsonrpc":"2.0","id":424242,"method":"workspace/symbol","params":{"query":"x"}}"#;

#[test]
fn frames_are_read_and_bad_headers_skipped() {
    let input: &[u8] =
        b"Content-Length: 2\r\n\r\n{}Content-Type: x\r\n\r\ngarbageContent-Length: 3\r\n\r\n[1]";
    let f = frames(input, vec![usize::MAX]);
    assert_eq!(bodies(&f), ["{}", "[1]"]);
    assert_eq!(errors(&f), 1);
}

/// Each kind of broken frame, followed by a good message: the good message is read, and
/// the broken frame is reported once.
#[test]
fn after_each_kind_of_broken_frame_the_next_message_is_read() {
    let next = frame(NEXT.as_bytes());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no Content-Length", b"Content-Type: x\r\n\r\n{}".to_vec()),
        ("garbage", b"hello".to_vec()),
        ("garbage with a line break", b"hello\r\n".to_vec()),
        (
            "a length that is no number",
            b"Content-Length: abc\r\n\r\n{}".to_vec(),
        ),
        (
            "too short",
            b"Content-Length: 10\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}".to_vec(),
        ),
        (
            "too long",
            b"Content-Length: 300\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}".to_vec(),
        ),
        (
            "a little too long",
            b"Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}".to_vec(),
        ),
        ("a cut header", b"Content-Le".to_vec()),
        (
            "a header run into",
            b"Content-Length: 5\r\nContent-Type: x".to_vec(),
        ),
        (
            "a huge length",
            b"Content-Length: 99999999999\r\n\r\n".to_vec(),
        ),
        ("an empty body", b"Content-Length: 0\r\n\r\n".to_vec()),
    ];
    for (name, bad) in cases {
        let mut input = bad.clone();
        input.extend_from_slice(&next);
        for sizes in [vec![usize::MAX], vec![1], vec![7, 3, 50]] {
            let f = frames(&input, sizes.clone());
            let b = bodies(&f);
            assert!(
                b.iter().any(|b| b == NEXT),
                "{name} ({sizes:?}): the next message was lost: {f:?}"
            );
            // One answer for the broken frame: a Bad frame or a body that is not JSON.
            let answered = errors(&f) + b.iter().filter(|b| decode(b.as_bytes()).is_err()).count();
            assert_eq!(answered, 1, "{name} ({sizes:?}): {f:?}");
        }
    }
}

#[test]
fn a_broken_frame_is_answered_under_its_own_id_when_its_body_says_it() {
    let f = frames(
        b"Content-Length: 300\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":\"x\"}Content-Length: 2\r\n\r\n{}",
        vec![usize::MAX],
    );
    let Some(Frame::Bad {
        bytes, body_from, ..
    }) = f.first()
    else {
        panic!("{f:?}");
    };
    let body = &bytes[body_from.expect("a body")..];
    assert_eq!(salvage_id(body), Some(json!(17)));
}

#[test]
fn ids_are_salvaged_only_from_the_top_level_and_only_whole() {
    assert_eq!(
        salvage_id(br#"{"jsonrpc":"2.0","id":5,"me"#),
        Some(json!(5))
    );
    assert_eq!(salvage_id(br#" {"id" : "a\"b", "x"#), Some(json!("a\"b")));
    assert_eq!(
        salvage_id(br#"{"params":{"id":3},"id":-7}"#),
        Some(json!(-7))
    );
    assert_eq!(salvage_id(br#"{"params":{"id":3},"meth"#), None);
    // Cut inside the number: it might go on.
    assert_eq!(salvage_id(br#"{"id":12"#), None);
    assert_eq!(salvage_id(br#"{"id":null,"#), None);
    assert_eq!(salvage_id(br#"{"x":"id","#), None);
    assert_eq!(salvage_id(b"garbage {\"id\":4,"), None);
    assert_eq!(salvage_id(br#"["#), None);
}

#[test]
fn lone_surrogates_and_invalid_utf8_decode_as_replacement_characters() {
    let v = decode(br#"{"t":"a\ud83db"}"#).expect("lenient");
    assert_eq!(v["t"], "a\u{FFFD}b");
    let v = decode(br#"{"t":"\ude00\ud83d\ude00\ud83d"}"#).expect("lenient");
    assert_eq!(v["t"], "\u{FFFD}😀\u{FFFD}");
    // An escaped backslash before `u` is no escape.
    let v = decode(br#"{"t":"\\ud83d"}"#).expect("strict");
    assert_eq!(v["t"], "\\ud83d");
    let v = decode(b"{\"t\":\"a\xffb\"}").expect("lenient");
    assert_eq!(v["t"], "a\u{FFFD}b");
    let v = decode("\u{feff}{\"t\":1}".as_bytes()).expect("a byte order mark");
    assert_eq!(v["t"], 1);
    assert!(decode(b"{nope").is_err());
    assert!(decode(br#"{"t":"\x"}"#).is_err());
}

fn answers(actions: &[Action]) -> Vec<Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Answer(bytes) => {
                let body = &bytes[memchr::memmem::find(bytes, b"\r\n\r\n")? + 4..];
                serde_json::from_slice(body).ok()
            }
            Action::Forward(_) => None,
        })
        .collect()
}

fn forwarded(actions: &[Action]) -> Vec<Value> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Forward(v) => Some(v.clone()),
            Action::Answer(_) => None,
        })
        .collect()
}

#[test]
fn messages_are_checked() {
    for good in [
        json!({"jsonrpc":"2.0","id":1,"method":"x"}),
        json!({"jsonrpc":"2.0","method":"x"}),
        json!({"jsonrpc":"2.0","id":"a","result":null}),
    ] {
        assert_eq!(check(good.clone()), vec![Action::Forward(good)]);
    }
    for bad in [
        json!({"jsonrpc":"1.0","method":"x"}),
        json!({"jsonrpc":"2.0","id":1,"method":3}),
        json!({"jsonrpc":"2.0","id":1}),
        json!({"jsonrpc":"2.0","id":1,"method":"x","result":1}),
        json!([]),
        json!(3),
    ] {
        let a = check(bad.clone());
        assert_eq!(answers(&a).len(), 1, "{bad}");
        assert!(forwarded(&a).is_empty(), "{bad}");
        assert_eq!(answers(&a)[0]["error"]["code"], -32600, "{bad}");
    }
    // The id of a bad request is kept when the client can match it, even one that
    // tower-lsp-server cannot take (a float, beyond 64 bits).
    for id in [
        json!(7),
        json!(1.5),
        json!(18446744073709551615u64),
        json!("s"),
    ] {
        let a = check(json!({"jsonrpc":"2.0","id":id,"method":3}));
        assert_eq!(answers(&a)[0]["id"], id);
    }
    let a = check(json!({"jsonrpc":"2.0","id":1e300,"method":"x"}));
    assert_eq!(answers(&a)[0]["error"]["code"], -32600);
    assert_eq!(answers(&a)[0]["id"], json!(1e300));
}

#[test]
fn a_dollar_request_is_refused_with_method_not_found() {
    let a = check(json!({"jsonrpc":"2.0","id":4,"method":"$/unknown"}));
    assert_eq!(answers(&a)[0]["error"]["code"], -32601);
    assert_eq!(answers(&a)[0]["id"], 4);
    assert!(forwarded(&a).is_empty());
    // As a notification, it goes on (the server ignores what it does not know).
    let n = json!({"jsonrpc":"2.0","method":"$/unknown"});
    assert_eq!(check(n.clone()), vec![Action::Forward(n)]);
}

#[test]
fn a_batch_is_taken_apart() {
    let a = check(json!([
        {"jsonrpc":"2.0","id":1,"method":"x"},
        {"jsonrpc":"2.0","method":"y"},
        5,
        [{"jsonrpc":"2.0","method":"z"}],
    ]));
    let f = forwarded(&a);
    assert_eq!(f.len(), 2);
    assert_eq!(f[0]["method"], "x");
    assert_eq!(f[1]["method"], "y");
    assert_eq!(answers(&a).len(), 2);
}

#[test]
fn a_change_that_cannot_be_read_becomes_a_lost_edit() {
    let uri = "file:///m/a.pp";
    // Parameters that do not decode (a negative line).
    let a = check(
        json!({"jsonrpc":"2.0","method":"textDocument/didChange","params":{
        "textDocument":{"uri":uri,"version":2},
        "contentChanges":[{"range":{"start":{"line":-1,"character":0},"end":{"line":0,"character":0}},"text":"x"}]}}),
    );
    let f = forwarded(&a);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["method"], LOST_EDIT);
    assert_eq!(f[0]["params"]["uri"], uri);
    // Not JSON at all: the URI is read from the bytes when it can be.
    assert_eq!(
        lost_edit_in(br#"{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri" : "file:///m/b.pp","version":3},"contentChanges":[{"te"#),
        Some(Some("file:///m/b.pp".to_string()))
    );
    assert_eq!(
        lost_edit_in(br#"{"jsonrpc":"2.0","method":"textDocument/didChange","par"#),
        Some(None)
    );
    assert_eq!(
        lost_edit_in(br#"{"jsonrpc":"2.0","method":"textDocument/hover""#),
        None
    );
}

/// Runs `input` through the guard's input side; what reached the server, and the answers.
fn filter(input: Vec<u8>, sizes: Vec<usize>) -> (Vec<Value>, Vec<Value>) {
    rt().block_on(async {
        let mut to_server: Vec<u8> = Vec::new();
        let (tx, mut rx) = mpsc::unbounded_channel();
        filter_input(
            Chunks::new(input, sizes),
            &mut to_server,
            tx,
            Session::new(),
        )
        .await;
        let parse = |bytes: &[u8]| -> Vec<Value> {
            let mut out = Vec::new();
            let mut rest = bytes;
            while let Some(end) = memchr::memmem::find(rest, b"\r\n\r\n") {
                let len: usize = std::str::from_utf8(&rest[16..end])
                    .ok()
                    .and_then(|n| n.trim().parse().ok())
                    .unwrap_or(0);
                out.push(serde_json::from_slice(&rest[end + 4..end + 4 + len]).unwrap_or_default());
                rest = &rest[end + 4 + len..];
            }
            out
        };
        let mut answers = Vec::new();
        while let Ok(a) = rx.try_recv() {
            answers.extend(parse(&a));
        }
        (parse(&to_server), answers)
    })
}

fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        proptest::collection::vec(any::<u8>(), 0..12),
        Just(b"Content-Length: ".to_vec()),
        Just(b"content-length:".to_vec()),
        Just(b"Content-Length: 5\r\n\r\n".to_vec()),
        Just(b"Content-Length: 200\r\n\r\n".to_vec()),
        Just(b"Content-Type: application/vscode-jsonrpc; charset=utf-8".to_vec()),
        Just(b"Content-Le".to_vec()),
        Just(b"7".to_vec()),
        Just(b"99999".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\r\n\r\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b":".to_vec()),
        Just(b" ".to_vec()),
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(br#"{"jsonrpc":"2.0","id":9,"method":"x""#.to_vec()),
        Just(br#""textDocument/didChange""#.to_vec()),
    ];
    proptest::collection::vec(token, 0..16).prop_map(|t| t.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever comes before it, a well-formed request reaches the server whole, read in
    /// chunks of any size.
    #[test]
    fn any_garbage_followed_by_a_request_lets_the_request_through(
        bad in garbage(),
        sizes in proptest::collection::vec(1usize..40, 1..5),
    ) {
        let mut input = bad.clone();
        input.extend_from_slice(&frame(NEXT.as_bytes()));
        let (server, _) = filter(input, sizes);
        let next: Value = serde_json::from_str(NEXT).unwrap_or_default();
        prop_assert!(server.contains(&next), "{:?} lost the request: {:?}", String::from_utf8_lossy(&bad), server);
    }

    /// The reader never loses a message of a clean stream, whatever the chunking.
    #[test]
    fn clean_streams_are_read_whole(
        n in 1usize..6,
        sizes in proptest::collection::vec(1usize..40, 1..5),
    ) {
        let mut input = Vec::new();
        for i in 0..n {
            input.extend(frame(format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"m"}}"#).as_bytes()));
            input.extend_from_slice(b"\r\n");
        }
        let f = frames(&input, sizes);
        prop_assert_eq!(bodies(&f).len(), n);
        prop_assert_eq!(errors(&f), 0);
    }
}

#[test]
fn a_notification_after_initialize_waits_for_its_answer() {
    // Whatever the id: a null one too (tower-lsp-server answers it under `"id":null`).
    for (id, other) in [("1", "2"), (r#""init""#, "1"), ("null", r#""null""#)] {
        a_notification_waits_for_the_answer_to(id, other);
    }
}

fn a_notification_waits_for_the_answer_to(id: &str, other: &str) {
    rt().block_on(async {
        let gate = Session::new();
        let mut input = frame(
            format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"initialize","params":{{}}}}"#)
                .as_bytes(),
        );
        input.extend(frame(
            br#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
        ));
        let (server_end, mut server) = tokio::io::duplex(1 << 16);
        let (tx, _rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(filter_input(
            Chunks::new(input, vec![usize::MAX]),
            server_end,
            tx,
            gate.clone(),
        ));
        let mut reader = FrameReader::new(&mut server);
        let Some(Frame::Body(first)) = reader.next().await else {
            panic!("initialize is passed on");
        };
        assert!(String::from_utf8_lossy(&first).contains("initialize"));
        // Not answered yet: `initialized` is held (one thread: the filter runs whenever this
        // task yields, and would have passed everything on and ended at the input's end).
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        assert!(!task.is_finished());
        // An answer to another id changes nothing.
        gate.answered(format!(r#"{{"jsonrpc":"2.0","id":{other},"result":{{}}}}"#).as_bytes());
        gate.answered(br#"{"jsonrpc":"2.0","result":{}}"#);
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        assert!(
            !task.is_finished(),
            "released by another answer than {id}'s"
        );
        gate.answered(format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{}}}}"#).as_bytes());
        let Some(Frame::Body(second)) = reader.next().await else {
            panic!("initialized is passed on");
        };
        assert!(String::from_utf8_lossy(&second).contains("initialized"));
        let _ = task.await;
    });
}

/// A document change for `file:///m/{doc}.pp`, broken as a stream breaks one: a
/// `Content-Length` that cuts it (`how` 0), a whole frame of its first `cut` bytes (1), or
/// its bytes with no header at all (2).
fn broken_change() -> impl Strategy<Value = Vec<u8>> {
    (0usize..3, 1usize..200, 0u8..3).prop_map(|(doc, cut, how)| {
        let body = change_of(doc);
        let cut = cut.min(body.len() - 1);
        match how {
            0 => {
                let mut f = format!("Content-Length: {cut}\r\n\r\n").into_bytes();
                f.extend_from_slice(body.as_bytes());
                f
            }
            1 => frame(&body.as_bytes()[..cut]),
            _ => body.into_bytes(),
        }
    })
}

fn change_of(doc: usize) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":"textDocument/didChange","params":{{"textDocument":{{"uri":"file:///m/{doc}.pp","version":2}},"contentChanges":[{{"text":"x"}}]}}}}"#
    )
}

/// What a stream's result is compared by between two ways of reading it: what reached the
/// server, and the id and code of each answer to a request. An answer with a null id only
/// informs: its text may say more or less, and a broken run be answered once or twice,
/// depending on where a read cut it.
fn seen(r: &(Vec<Value>, Vec<Value>)) -> (Vec<Value>, Vec<(Value, Value)>) {
    let answers =
        r.1.iter()
            .filter(|a| !a["id"].is_null())
            .map(|a| (a["id"].clone(), a["error"]["code"].clone()))
            .collect();
    (r.0.clone(), answers)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Changes broken among garbage and good messages: each is passed on whole (a broken
    /// frame may happen to hold it exactly) or reported lost, by its document or for every
    /// document; and nothing the guard does depends on how the stream is cut into reads.
    #[test]
    fn no_change_is_lost_silently_however_the_stream_is_read(
        parts in proptest::collection::vec(prop_oneof![
            garbage(),
            broken_change(),
            Just(frame(NEXT.as_bytes())),
        ], 1..6),
        sizes in proptest::collection::vec(1usize..40, 1..5),
    ) {
        let input = parts.concat();
        let whole = filter(input.clone(), vec![usize::MAX]);
        let cut = filter(input.clone(), sizes);
        prop_assert_eq!(seen(&whole), seen(&cut), "{:?}", String::from_utf8_lossy(&input));
        let server = &whole.0;
        let every = server.iter().any(|m| m["method"] == LOST_EDIT && m["params"]["uri"].is_null());
        for doc in 0..3 {
            let uri = format!("file:///m/{doc}.pp");
            if !String::from_utf8_lossy(&input).contains(&format!("{doc}.pp")) {
                continue;
            }
            let named = server.iter().any(|m| {
                m["params"]["uri"] == uri.as_str() || m["params"]["textDocument"]["uri"] == uri.as_str()
            });
            prop_assert!(every || named, "the change to {} vanished in {:?}: {:?}", uri, String::from_utf8_lossy(&input), server);
        }
    }
}

#[test]
fn a_change_cut_by_its_content_length_or_a_read_is_reported_with_its_document() {
    let body = change_of(1);
    // The method itself cut by a `Content-Length` too short.
    let cut = body.find("didC").expect("the method") + 4;
    let mut input = format!("Content-Length: {cut}\r\n\r\n").into_bytes();
    input.extend_from_slice(body.as_bytes());
    input.extend(frame(NEXT.as_bytes()));
    for sizes in [vec![usize::MAX], vec![1], vec![cut + 20, 3]] {
        let (server, answers) = filter(input.clone(), sizes.clone());
        assert_eq!(answers.len(), 1, "{sizes:?}: {answers:?}");
        let lost: Vec<&Value> = server.iter().filter(|m| m["method"] == LOST_EDIT).collect();
        assert_eq!(lost.len(), 1, "{sizes:?}: {server:?}");
        assert_eq!(lost[0]["params"]["uri"], "file:///m/1.pp", "{sizes:?}");
        assert_eq!(
            server.last().map(|m| m["id"].clone()),
            Some(json!(424242)),
            "{sizes:?}"
        );
    }
    // Two documents' changes in one run of garbage: both are named.
    let mut input = b"garbage ".to_vec();
    input.extend(change_of(0).as_bytes());
    input.extend(change_of(2).as_bytes());
    let (server, _) = filter(input, vec![7]);
    let uris: Vec<&Value> = server.iter().map(|m| &m["params"]["uri"]).collect();
    assert_eq!(uris, [&json!("file:///m/0.pp"), &json!("file:///m/2.pp")]);
}

#[test]
fn a_broken_frame_gets_the_same_answer_however_it_is_read() {
    // No `Content-Length`: the body runs to the next header, and its id comes late.
    let mut input =
        b"Content-Type: x\r\n\r\n{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"id\":42}".to_vec();
    input.extend(frame(NEXT.as_bytes()));
    for sizes in [vec![usize::MAX], vec![1], vec![20, 5]] {
        let (server, answers) = filter(input.clone(), sizes.clone());
        assert_eq!(answers.len(), 1, "{sizes:?}");
        assert_eq!(answers[0]["id"], 42, "{sizes:?}");
        assert_eq!(answers[0]["error"]["code"], -32700, "{sizes:?}");
        assert_eq!(server.len(), 1, "{sizes:?}");
    }
}

#[test]
fn a_change_named_in_the_header_of_a_body_that_is_no_message_is_reported() {
    // A header block that reads as one (found by the frames fuzz target): the method name
    // in a header's value, the 2-byte body not JSON.
    let mut input =
        b"Content-Length: 2\r\nContent-Type: x;textDocument/didChange\r\n\r\n{\"".to_vec();
    input.extend(frame(NEXT.as_bytes()));
    for sizes in [vec![usize::MAX], vec![3]] {
        let (server, _) = filter(input.clone(), sizes.clone());
        assert_eq!(server.len(), 2, "{sizes:?}: {server:?}");
        assert_eq!(server[0]["method"], LOST_EDIT, "{sizes:?}");
        assert_eq!(server[0]["params"]["uri"], Value::Null, "{sizes:?}");
    }
}
