//! A stdio upstream: a child process warden starts, spoken to over its standard input and
//! output, one JSON-RPC message a line.
//!
//! rmcp's `TokioChildProcess` reads lines of up to 16 MiB, whatever warden's own limits say; so
//! warden spawns the child itself and reads its output through rmcp's line transport with the
//! limit warden sets ([`super::McpUpstream::with_max_result_bytes`]). A longer line is dropped
//! unread. The child is killed when the transport is dropped.

use rmcp::RoleClient;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use std::time::Duration;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};

/// How long a closed upstream has to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(3);

pub(super) struct ChildTransport {
    /// Spawned with `kill_on_drop`: dropping the transport ends the child.
    child: Child,
    lines: AsyncRwTransport<RoleClient, ChildStdout, ChildStdin>,
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
        let lines = AsyncRwTransport::new_client(stdout, stdin).with_max_line_length(max_line);
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
