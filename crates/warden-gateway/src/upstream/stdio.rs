//! A stdio upstream: a child process warden starts, spoken to over its standard input and
//! output, one JSON-RPC message a line.
//!
//! rmcp's `TokioChildProcess` reads lines of up to 16 MiB, whatever warden's own limits say; so
//! warden spawns the child itself and reads its output through rmcp's line transport with the
//! limit warden sets ([`super::McpUpstream::with_max_result_bytes`]). A longer line ends the
//! connection ([`LineCapped`]): the calls waiting on it fail at once, rather than each waiting
//! out `upstream_timeout` for an answer that was dropped unread, and the next call starts the
//! child again. The child is killed when the transport is dropped.

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

/// The child's output, read through a count of the bytes since the last newline: once a line
/// runs past `max_line` bytes the stream fails (and keeps failing), which closes the transport.
/// rmcp would drop such a line and read on, leaving the call it answered to time out.
pub(super) struct LineCapped<R> {
    inner: R,
    max_line: usize,
    /// Bytes read since the last newline.
    open_line: usize,
    over: bool,
}

impl<R> LineCapped<R> {
    pub(super) fn new(inner: R, max_line: usize) -> Self {
        Self {
            inner,
            max_line,
            open_line: 0,
            over: false,
        }
    }

    fn oversized(&self) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "the upstream sent a message over {} bytes; its connection is closed",
                self.max_line
            ),
        )
    }

    /// Counts `fresh` into the open line; whether a line in it ran past `max_line`.
    fn runs_over(&mut self, fresh: &[u8]) -> bool {
        let mut pieces = fresh.split(|b| *b == b'\n');
        if let Some(first) = pieces.next() {
            self.open_line = self.open_line.saturating_add(first.len());
        }
        for piece in pieces {
            if self.open_line > self.max_line {
                return true;
            }
            self.open_line = piece.len();
        }
        self.open_line > self.max_line
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for LineCapped<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.over {
            return Poll::Ready(Err(self.oversized()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        let this = &mut *self;
        if this.runs_over(buf.filled().get(before..).unwrap_or_default()) {
            this.over = true;
            buf.set_filled(before);
            return Poll::Ready(Err(this.oversized()));
        }
        Poll::Ready(Ok(()))
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
    use super::LineCapped;
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
