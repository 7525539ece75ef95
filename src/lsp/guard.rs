//! The protocol guard: what stands between the client's byte stream and tower-lsp-server.
//!
//! tower-lsp-server reads frames with a tokio-util codec, and a codec error ends its input
//! stream: one malformed message (no `Content-Length`, a body that is not JSON, a
//! `Content-Type` without a charset, an id that is not an integer or a string) would stop
//! the server. The guard reads the frames itself, answers what is malformed with a
//! JSON-RPC error (`-32700` parse error, `-32600` invalid request) and passes on only
//! well-formed messages, re-framed with a plain `Content-Length` header. The server's
//! output and the guard's errors are merged frame by frame into the real output.

use serde_json::{Value, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// The largest message body accepted (a huge `didOpen` is legitimate; beyond this it is a
/// broken header).
pub const MAX_BODY: usize = 256 * 1024 * 1024;

/// One frame read from a stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A body.
    Body(Vec<u8>),
    /// Headers without a usable `Content-Length` (skipped): what was wrong.
    BadHeader(String),
}

/// Reads frames (`Content-Length: N\r\n\r\n` + N bytes) from a byte stream.
pub struct FrameReader<R> {
    inner: R,
    buf: Vec<u8>,
    eof: bool,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    /// A reader over `inner`.
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// The next frame; `None` at the end of the stream.
    pub async fn next(&mut self) -> Option<Frame> {
        loop {
            if let Some(f) = self.parse() {
                return Some(f);
            }
            if self.eof {
                return None;
            }
            let mut chunk = [0u8; 64 * 1024];
            match self.inner.read(&mut chunk).await {
                Ok(0) | Err(_) => self.eof = true,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// A whole frame from the buffer, if there is one.
    fn parse(&mut self) -> Option<Frame> {
        let end = memchr::memmem::find(&self.buf, b"\r\n\r\n")?;
        let header = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let mut len: Option<Result<usize, String>> = None;
        for line in header.split("\r\n") {
            if let Some((name, value)) = line.split_once(':')
                && name.trim().eq_ignore_ascii_case("content-length")
            {
                len = Some(
                    value
                        .trim()
                        .parse::<usize>()
                        .map_err(|_| format!("invalid Content-Length `{}`", value.trim())),
                );
            }
        }
        let len = match len {
            Some(Ok(n)) if n <= MAX_BODY => n,
            other => {
                // Skip to the next header that might start a message.
                let from = end + 4;
                let next = memchr::memmem::find(&self.buf[from..], b"Content-Length")
                    .map(|i| from + i)
                    .unwrap_or(self.buf.len());
                self.buf.drain(..next);
                return Some(Frame::BadHeader(match other {
                    Some(Err(e)) => e,
                    Some(Ok(n)) => format!("message too large: {n} bytes"),
                    None => "missing Content-Length header".to_string(),
                }));
            }
        };
        if self.buf.len() < end + 4 + len {
            return None;
        }
        let body = self.buf[end + 4..end + 4 + len].to_vec();
        self.buf.drain(..end + 4 + len);
        Some(Frame::Body(body))
    }
}

/// A frame around `body`.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

fn error(id: Value, code: i64, message: &str) -> Vec<u8> {
    frame(
        json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
            .to_string()
            .as_bytes(),
    )
}

/// Checks one body: `Ok` when it is a JSON-RPC 2.0 message tower-lsp-server can decode,
/// else the error response to send.
pub fn check(body: &[u8]) -> Result<(), Vec<u8>> {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Err(error(
            Value::Null,
            -32700,
            "Parse error: the message is not JSON",
        ));
    };
    let Some(obj) = v.as_object() else {
        return Err(error(
            Value::Null,
            -32600,
            "Invalid request: a message is a JSON object (batches are not supported)",
        ));
    };
    let id = obj.get("id").cloned();
    let id_ok = match &id {
        None | Some(Value::Null) | Some(Value::String(_)) => true,
        Some(Value::Number(n)) => n.is_i64(),
        Some(_) => false,
    };
    let reply_id = if id_ok {
        id.clone().unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(error(
            reply_id,
            -32600,
            "Invalid request: `jsonrpc` must be \"2.0\"",
        ));
    }
    if !id_ok {
        return Err(error(
            reply_id,
            -32600,
            "Invalid request: `id` must be an integer or a string",
        ));
    }
    match obj.get("method") {
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(error(
            reply_id,
            -32600,
            "Invalid request: `method` must be a string",
        )),
        // A response to a request of the server's.
        None if id.is_some() && (obj.contains_key("result") || obj.contains_key("error")) => Ok(()),
        None => Err(error(reply_id, -32600, "Invalid request: no `method`")),
    }
}

/// Copies frames from `input` to `to_server`, answering malformed ones on `errors`.
pub async fn filter_input<R, W>(input: R, mut to_server: W, errors: mpsc::UnboundedSender<Vec<u8>>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = FrameReader::new(input);
    while let Some(f) = frames.next().await {
        match f {
            Frame::Body(body) => match check(&body) {
                Ok(()) => {
                    if to_server.write_all(&frame(&body)).await.is_err() {
                        break;
                    }
                }
                Err(reply) => {
                    tracing::warn!(body = %String::from_utf8_lossy(&body[..body.len().min(200)]), "malformed message");
                    let _ = errors.send(reply);
                }
            },
            Frame::BadHeader(why) => {
                tracing::warn!(%why, "malformed message header");
                let _ = errors.send(error(Value::Null, -32700, &format!("Parse error: {why}")));
            }
        }
    }
    let _ = to_server.shutdown().await;
}

/// Writes the server's frames and the guard's errors to `output`, whole frames at a time.
pub async fn merge_output<R, W>(
    from_server: R,
    mut errors: mpsc::UnboundedReceiver<Vec<u8>>,
    mut output: W,
) where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = FrameReader::new(from_server);
    let mut errors_open = true;
    loop {
        tokio::select! {
            f = frames.next() => match f {
                Some(Frame::Body(body)) => {
                    if output.write_all(&frame(&body)).await.is_err() {
                        return;
                    }
                    let _ = output.flush().await;
                }
                Some(Frame::BadHeader(_)) => {}
                None => break,
            },
            e = errors.recv(), if errors_open => match e {
                Some(bytes) => {
                    if output.write_all(&bytes).await.is_err() {
                        return;
                    }
                    let _ = output.flush().await;
                }
                None => errors_open = false,
            },
        }
    }
    let _ = output.flush().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_are_read_and_bad_headers_skipped() {
        let input: &[u8] =
            b"Content-Length: 2\r\n\r\n{}Content-Type: x\r\n\r\ngarbageContent-Length: 3\r\n\r\n[1]";
        let mut r = FrameReader::new(input);
        assert_eq!(r.next().await, Some(Frame::Body(b"{}".to_vec())));
        assert!(matches!(r.next().await, Some(Frame::BadHeader(_))));
        assert_eq!(r.next().await, Some(Frame::Body(b"[1]".to_vec())));
        assert_eq!(r.next().await, None);
    }

    #[test]
    fn bodies_are_checked() {
        assert!(check(br#"{"jsonrpc":"2.0","id":1,"method":"x"}"#).is_ok());
        assert!(check(br#"{"jsonrpc":"2.0","method":"x"}"#).is_ok());
        assert!(check(br#"{"jsonrpc":"2.0","id":"a","result":null}"#).is_ok());
        for bad in [
            &b"{nope"[..],
            br#"[{"jsonrpc":"2.0","method":"x"}]"#,
            br#"{"jsonrpc":"1.0","method":"x"}"#,
            br#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":3}"#,
            br#"{"jsonrpc":"2.0","id":1}"#,
        ] {
            let e = check(bad).expect_err("rejected");
            let text = String::from_utf8_lossy(&e);
            assert!(text.contains("\"error\""), "{text}");
        }
        // The id of a bad request is kept when it is usable.
        let e = check(br#"{"jsonrpc":"2.0","id":7,"method":3}"#).expect_err("rejected");
        assert!(String::from_utf8_lossy(&e).contains("\"id\":7"));
    }
}
