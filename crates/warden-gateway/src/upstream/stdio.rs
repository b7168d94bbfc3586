//! A stdio upstream: a child process warden starts, spoken to over its standard input and
//! output, one JSON-RPC message a line.
//!
//! rmcp's `TokioChildProcess` reads lines of up to 16 MiB, whatever warden's own limits say; so
//! warden spawns the child itself and reads its output through rmcp's line transport with the
//! limit warden sets ([`super::McpUpstream::with_max_result_bytes`]). A longer line is
//! discarded and the call it answers, named by the id at the line's start, fails at once rather
//! than waiting out `upstream_timeout`; the connection stays, with the other calls in flight on
//! it. A long line whose id cannot be read ends the connection ([`LineCapped`]): the calls
//! waiting on it fail at once, and the next call starts the child again. The child is killed
//! when the transport is dropped.

use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};

/// How long a closed upstream has to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(3);

pub(super) struct ChildTransport {
    /// Spawned with `kill_on_drop`: dropping the transport ends the child.
    child: Child,
    lines: AsyncRwTransport<RoleClient, LineCapped<ChildStdout>, ChildStdin>,
}

impl ChildTransport {
    /// Starts `command` (its standard streams piped, `kill_on_drop` set) and reads lines of at
    /// most `max_line` bytes from it; the child's stderr, for the caller to relay.
    pub(super) fn spawn(
        mut command: tokio::process::Command,
        max_line: usize,
    ) -> std::io::Result<(Self, Option<ChildStderr>)> {
        let mut child = command.kill_on_drop(true).spawn()?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(std::io::Error::other(
                "the child's stdin or stdout is not piped",
            ));
        };
        let stderr = child.stderr.take();
        // rmcp's own limit sits past warden's, so a long line always ends the connection
        // here rather than being skipped there.
        let lines = AsyncRwTransport::new_client(LineCapped::new(stdout, max_line), stdin)
            .with_max_line_length(max_line.saturating_add(2));
        Ok((Self { child, lines }, stderr))
    }
}

impl Transport<RoleClient> for ChildTransport {
    type Error = std::io::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleClient>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.lines.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleClient>>> + Send {
        self.lines.receive()
    }

    /// Closes the child's input, as the MCP stdio shutdown asks, and kills the child if it has
    /// not exited within [`EXIT_GRACE`].
    async fn close(&mut self) -> Result<(), Self::Error> {
        let closed = self.lines.close().await;
        if tokio::time::timeout(EXIT_GRACE, self.child.wait())
            .await
            .is_err()
        {
            self.child.kill().await?;
        }
        closed
    }
}

/// The child's output, read through a count of the bytes since the last newline. A line that
/// runs past `max_line` bytes is discarded, in bounded memory, up to its newline; rmcp would
/// drop such a line too, but only after holding it whole, and the call it answered would wait
/// out `upstream_timeout`. Instead the call whose id the line starts with fails at once, and
/// the connection, with every other call in flight on it, stays:
///
/// - the bytes of the line already passed on are ended with a byte no JSON may hold and a
///   newline, so rmcp reads them as one unparsable line, which it ignores;
/// - then comes a JSON-RPC error for the id read from the line's first [`ID_WITHIN`] bytes
///   (`{"jsonrpc": "2.0", "id": …` in either order, then `"result"` or `"error"`, as honest
///   servers write a response; a request of the server's own with the same id is not one);
/// - the rest of the line, up to its newline, is read and dropped.
///
/// Fails closed: when the id cannot be read from the line's start (another member comes
/// first, the id is escaped or cut off), the stream fails (and keeps failing), which closes the
/// connection and fails every call in flight on it, as it must: an answer cannot be matched to
/// its call, and the call would otherwise wait out the timeout.
pub(super) struct LineCapped<R> {
    inner: R,
    max_line: usize,
    /// Bytes of the current line passed on.
    open_line: usize,
    /// The current line's first bytes, up to [`ID_WITHIN`]: where its id is read.
    start: Vec<u8>,
    /// Dropping the rest of an oversized line, up to its newline.
    discarding: bool,
    /// What is to be passed on before reading more: at most one read's bytes and one error.
    out: std::collections::VecDeque<u8>,
    over: bool,
}

/// How far into an oversized line its id is looked for.
const ID_WITHIN: usize = 256;

/// The most bytes read from the child at once.
const READ_CHUNK: usize = 8192;

/// Ends the part of an oversized line already passed on: NUL is invalid anywhere in JSON, so
/// the line cannot parse, whatever part of a message it holds.
const CUT: &[u8] = b"\0\n";

impl<R> LineCapped<R> {
    pub(super) fn new(inner: R, max_line: usize) -> Self {
        Self {
            inner,
            max_line,
            open_line: 0,
            start: Vec::new(),
            discarding: false,
            out: std::collections::VecDeque::new(),
            over: false,
        }
    }

    fn oversized(&self) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the upstream sent a message over {} bytes whose id cannot be read from its \
                 start; its connection is closed",
                self.max_line
            ),
        )
    }

    /// Passes `fresh` on, a line at a time; an oversized line becomes the error for its call.
    /// `Err(())`: an oversized line whose id cannot be read.
    fn take(&mut self, fresh: &[u8]) -> Result<(), ()> {
        let mut rest = fresh;
        while !rest.is_empty() {
            let newline = rest.iter().position(|b| *b == b'\n');
            let (piece, ends_line) = match newline {
                Some(at) => (rest.get(..at).unwrap_or_default(), true),
                None => (rest, false),
            };
            rest = match newline {
                Some(at) => rest.get(at + 1..).unwrap_or_default(),
                None => &[],
            };
            if !self.discarding {
                let room = self.max_line.saturating_sub(self.open_line);
                let (kept, past) = piece.split_at(piece.len().min(room));
                self.out.extend(kept);
                self.open_line += kept.len();
                let wanted = ID_WITHIN.saturating_sub(self.start.len());
                self.start.extend(kept.iter().take(wanted));
                if !past.is_empty() {
                    let id = id_at_start(&self.start).ok_or(())?;
                    self.out.extend(CUT);
                    self.out.extend(discarded_error(&id, self.max_line));
                    self.discarding = true;
                }
            }
            if ends_line {
                if !self.discarding {
                    self.out.push_back(b'\n');
                }
                self.discarding = false;
                self.open_line = 0;
                self.start.clear();
            }
        }
        Ok(())
    }
}

/// The `id` of a JSON-RPC *response* from the start of its line: `{`, then `"jsonrpc"` and
/// `"id"` members in either order before any other, then `"result"` or `"error"`. `None` for
/// anything else: another member first (a request's or notification's `"method"`: a message
/// from the server, not the answer to warden's call of that id), an escaped string, an id that
/// is not a plain number or string, or one cut off.
fn id_at_start(start: &[u8]) -> Option<serde_json::Value> {
    let mut at = skip_blanks(start, 0);
    (*start.get(at)? == b'{').then_some(())?;
    let mut id = None;
    loop {
        at = skip_blanks(start, at + 1);
        let (key, next) = plain_string(start, at)?;
        if matches!(key, b"result" | b"error") {
            return id;
        }
        at = skip_blanks(start, next);
        (*start.get(at)? == b':').then_some(())?;
        at = skip_blanks(start, at + 1);
        let value_end = match *start.get(at)? {
            b'"' => plain_string(start, at)?.1,
            _ => {
                let len = start
                    .get(at..)?
                    .iter()
                    .take_while(|b| {
                        b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')
                    })
                    .count();
                at + len
            }
        };
        let value = start.get(at..value_end)?;
        at = skip_blanks(start, value_end);
        // The value is whole only if what follows it is read too; a member must follow.
        if *start.get(at)? != b',' {
            return None;
        }
        match key {
            b"id" if id.is_none() => {
                let read: serde_json::Value = serde_json::from_slice(value).ok()?;
                id = Some(read).filter(|i| i.is_number() || i.is_string());
                id.as_ref()?;
            }
            b"jsonrpc" => {}
            _ => return None,
        }
    }
}

fn skip_blanks(bytes: &[u8], from: usize) -> usize {
    from + bytes
        .get(from..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .count()
}

/// A string without escapes starting at `at` (its opening quote): its bytes, and the index
/// after its closing quote.
fn plain_string(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    (*bytes.get(at)? == b'"').then_some(())?;
    let body = bytes.get(at + 1..)?;
    let len = body.iter().position(|b| *b == b'"')?;
    let text = body.get(..len)?;
    if text.iter().any(|b| *b == b'\\' || *b < 0x20) {
        return None;
    }
    Some((text, at + 1 + len + 1))
}

/// The code of the error put in place of a discarded answer: JSON-RPC's internal error.
const DISCARDED_CODE: i32 = -32603;

fn discarded_message(max_line: usize) -> String {
    format!("warden discarded this answer unread: a message over {max_line} bytes")
}

/// Whether `e` is the error [`LineCapped`] put in place of an answer over `max_line` bytes.
pub(super) fn is_discarded(e: &rmcp::ErrorData, max_line: usize) -> bool {
    e.code.0 == DISCARDED_CODE && e.message == discarded_message(max_line) && e.data.is_none()
}

/// The JSON-RPC error line that answers call `id` in place of its discarded answer.
fn discarded_error(id: &serde_json::Value, max_line: usize) -> Vec<u8> {
    let error = serde_json::json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": DISCARDED_CODE, "message": discarded_message(max_line)},
    });
    let mut line = error.to_string().into_bytes();
    line.push(b'\n');
    line
}

impl<R: AsyncRead + Unpin> AsyncRead for LineCapped<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            if self.over {
                return Poll::Ready(Err(self.oversized()));
            }
            if !self.out.is_empty() {
                let this = &mut *self;
                let n = this.out.len().min(buf.remaining());
                let (front, back) = this.out.as_slices();
                let from_front = n.min(front.len());
                buf.put_slice(front.get(..from_front).unwrap_or_default());
                buf.put_slice(back.get(..n - from_front).unwrap_or_default());
                this.out.drain(..n);
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; READ_CHUNK];
            let mut read = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut read))?;
            if read.filled().is_empty() {
                // End of the stream: an unfinished line is passed on as it is.
                return Poll::Ready(Ok(()));
            }
            let this = &mut *self;
            if this.take(read.filled()).is_err() {
                this.over = true;
                this.out.clear();
            }
            // Only dropped bytes were read: read on.
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::{LineCapped, id_at_start};
    use serde_json::{Value, json};
    use tokio::io::AsyncReadExt;

    async fn read_all(input: &[u8], max_line: usize) -> std::io::Result<Vec<u8>> {
        let mut capped = LineCapped::new(input, max_line);
        let mut out = Vec::new();
        capped.read_to_end(&mut out).await.map(|_| out)
    }

    #[tokio::test]
    async fn lines_up_to_the_limit_pass_whole() {
        let input = b"12345\n1234\n\n12345";
        assert_eq!(read_all(input, 5).await.unwrap(), input);
    }

    #[tokio::test]
    async fn a_long_line_fails_the_stream_wherever_it_lies() {
        for input in [
            &b"123456\n"[..],
            b"12\n123456\n12\n",
            b"12\n123456",
            b"\n\n\n123456",
        ] {
            let e = read_all(input, 5).await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{input:?}");
        }
    }

    /// What rmcp reads of `out`: each line parsed, or `None` for one that does not parse.
    fn lines(out: &[u8]) -> Vec<Option<Value>> {
        out.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).ok())
            .collect()
    }

    /// An honest answer over the limit fails its own call only: the part passed on cannot
    /// parse, the call named at the line's start gets an error, and the next answer on the
    /// connection is read as usual.
    #[tokio::test]
    async fn a_long_answer_fails_its_own_call_and_the_stream_reads_on() {
        let big = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{{\"text\":\"{}\"}}}}",
            "x".repeat(10_000)
        );
        // A whole message within the limit and blanks past it: not passed on either.
        let padded = format!(
            "{{\"id\": \"call-9\", \"jsonrpc\": \"2.0\", \"result\": {{}}}}{}",
            " ".repeat(200)
        );
        let next = r#"{"jsonrpc":"2.0","id":8,"result":{}}"#;
        let input = format!("{big}\n{padded}\n{next}\n");
        let out = read_all(input.as_bytes(), 100).await.unwrap();
        let read = lines(&out);
        assert_eq!(read.len(), 5, "{}", String::from_utf8_lossy(&out));
        assert_eq!(read[0], None);
        let error = read[1].as_ref().unwrap();
        assert_eq!(error["id"], 7);
        assert_eq!(error["error"]["code"], -32603);
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("over 100 bytes"),
            "{error}"
        );
        assert_eq!(read[2], None);
        assert_eq!(read[3].as_ref().unwrap()["id"], "call-9");
        assert!(read[3].as_ref().unwrap().get("error").is_some());
        assert_eq!(read[4], Some(serde_json::from_str(next).unwrap()));
        assert!(out.len() < 1_000, "{} bytes passed on", out.len());
    }

    /// Read a few bytes at a time, a long line is dropped up to its newline, in bounded memory.
    #[tokio::test]
    async fn a_long_answer_across_reads_is_dropped_up_to_its_newline() {
        let (mut tx, rx) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            tx.write_all(br#"{"jsonrpc":"2.0","id":3,"result":""#)
                .await
                .unwrap();
            for _ in 0..1000 {
                tx.write_all(&[b'y'; 1000]).await.unwrap();
            }
            tx.write_all(b"\"}\n{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}\n")
                .await
                .unwrap();
        });
        let mut capped = LineCapped::new(rx, 500);
        let mut out = Vec::new();
        let mut most_queued = 0;
        let mut chunk = [0u8; 16];
        loop {
            let n = capped.read(&mut chunk).await.unwrap();
            most_queued = most_queued.max(capped.out.len());
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        writer.await.unwrap();
        let read = lines(&out);
        assert_eq!(read.len(), 3, "{}", String::from_utf8_lossy(&out));
        assert_eq!(read[1].as_ref().unwrap()["id"], 3);
        assert_eq!(read[2].as_ref().unwrap()["id"], 4);
        assert!(most_queued <= super::READ_CHUNK + 200, "{most_queued}");
    }

    #[test]
    fn the_id_is_read_only_from_a_plain_start() {
        for (start, id) in [
            (&br#"{"jsonrpc":"2.0","id":12,"result""#[..], json!(12)),
            (
                br#" { "id" : "a-1" , "jsonrpc": "2.0", "error" "#,
                json!("a-1"),
            ),
            (br#"{"id":5,"result":"#, json!(5)),
        ] {
            assert_eq!(
                id_at_start(start),
                Some(id),
                "{}",
                String::from_utf8_lossy(start)
            );
        }
        for start in [
            &br#"{"result":{"x":1},"id":12}"#[..],
            br#"{"jsonrpc":"2.0","id":12"#,
            br#"{"jsonrpc":"2.0","id":"a\"b","result""#,
            br#"{"jsonrpc":"2.0","id":{"n":1},"result""#,
            br#"{"jsonrpc":"2.0","id":null,"result""#,
            br#"{"jsonrpc":"2.0","method":"x","id":1,"#,
            // A request from the server with the id of one of warden's calls: not its answer.
            br#"{"jsonrpc":"2.0","id":7,"method":"sampling/createMessage","params":"#,
            br#"{"jsonrpc":"2.0","id":7,"params":{},"result":"#,
            br#"{"id":5}"#,
            br#"{"id":5,"id":6,"result":"#,
            br#"["#,
            b"",
        ] {
            assert_eq!(
                id_at_start(start),
                None,
                "{}",
                String::from_utf8_lossy(start)
            );
        }
    }

    #[tokio::test]
    async fn a_long_line_across_reads_is_counted_whole() {
        let (mut tx, rx) = tokio::io::duplex(4);
        let writer = tokio::spawn(async move {
            use tokio::io::AsyncWriteExt;
            // Each write is at most 4 bytes; the line is 9 long.
            for chunk in [&b"ok\n12"[..], b"345", b"6789", b"\n"] {
                if tx.write_all(chunk).await.is_err() {
                    break;
                }
            }
        });
        let mut capped = LineCapped::new(rx, 8);
        let mut out = Vec::new();
        assert!(capped.read_to_end(&mut out).await.is_err());
        // Once failed, it stays failed.
        let mut more = [0u8; 4];
        assert!(capped.read(&mut more).await.is_err());
        writer.abort();
    }
}
