//! warden-lab: a simulated SOC of MCP servers for Northwind Manufacturing, a fictional
//! company whose mail domain is `northwind.example`.
//!
//! Five servers (`siem`, `edr`, `idp`, `tickets`, `mail`) expose the tools a security
//! agent would use, over stdio or Streamable HTTP. They exist so warden can be
//! demonstrated, tested, benchmarked and attacked without touching a real network: all
//! hosts, people and addresses are synthetic, and some of the data carries prompt
//! injections on purpose, the way attacker-controlled text reaches a real SOC.
//!
//! The design choice that shapes the crate: **state is observable from outside**. Each
//! server keeps its state in `<state_dir>/<server>.json` and appends every `tools/call` it
//! receives to `<state_dir>/<server>.calls.jsonl` *before* running it, so a test can prove
//! from [`received_calls`] that a call warden denied never reached the server, and from
//! [`read_state`] what an allowed one changed. The tools themselves are pure functions of
//! (state, arguments, caller, time) in `servers/`; files and transports sit at the edges
//! (`store`, `handler`). Nothing in this crate writes to stdout, which is the MCP channel
//! in stdio mode.
//!
//! The lab also publishes its inventory, `<state_dir>/inventory.json` ([`INVENTORY_FILE`]):
//! Cedar entities of its hosts, accounts and incidents in the format of
//! `examples/soc/entities.json`, rewritten whenever the incident tracker's state changes, so a
//! gateway's policy can follow incidents as they are contained and closed.

mod error;
mod handler;
mod inventory;
mod servers;
mod sim;
mod store;

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::io::{AsyncRead, AsyncWrite};

pub use error::LabError;
pub use store::ReceivedCall;

use handler::LabHandler;
use servers::with_simulation;
use sim::Simulation;

/// The inventory's file name inside a state directory.
pub const INVENTORY_FILE: &str = inventory::FILE;

/// The path the Streamable HTTP endpoint is mounted at.
pub const HTTP_PATH: &str = "/mcp";

/// One of the simulated servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LabServer {
    /// Security event store: alerts and raw logs (read-only).
    Siem,
    /// Endpoint detection and response: hosts and network isolation.
    Edr,
    /// Identity provider: accounts and sessions.
    Idp,
    /// Incident tracker: incidents and their comments.
    Tickets,
    /// Mail system: mailboxes and outgoing mail.
    Mail,
}

impl LabServer {
    /// Every server, in a stable order.
    pub const ALL: [LabServer; 5] = [
        LabServer::Siem,
        LabServer::Edr,
        LabServer::Idp,
        LabServer::Tickets,
        LabServer::Mail,
    ];

    /// The lower-case name used on the command line and in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            LabServer::Siem => "siem",
            LabServer::Edr => "edr",
            LabServer::Idp => "idp",
            LabServer::Tickets => "tickets",
            LabServer::Mail => "mail",
        }
    }

    /// The server's MCP `instructions`: one line on what it simulates.
    fn about(self) -> &'static str {
        match self {
            LabServer::Siem => {
                "Northwind Manufacturing SIEM (simulated): security alerts and ssh, linux and apache logs."
            }
            LabServer::Edr => {
                "Northwind Manufacturing EDR console (simulated): managed hosts and network isolation."
            }
            LabServer::Idp => {
                "Northwind Manufacturing identity provider (simulated): accounts, sign-in and sessions."
            }
            LabServer::Tickets => {
                "Northwind Manufacturing incident tracker (simulated): incidents and their comments."
            }
            LabServer::Mail => {
                "Northwind Manufacturing mail system (simulated): mailboxes and outgoing mail."
            }
        }
    }
}

impl fmt::Display for LabServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LabServer {
    type Err = LabError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LabServer::ALL
            .into_iter()
            .find(|server| server.as_str() == s)
            .ok_or_else(|| LabError::UnknownServer(s.to_owned()))
    }
}

/// Serves `server` as MCP over stdin/stdout until stdin reaches EOF.
pub async fn serve_stdio(server: LabServer, state_dir: &Path) -> Result<(), LabError> {
    serve_transport(server, state_dir, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Serves `server` as MCP (newline-delimited JSON-RPC) over any byte stream pair until the
/// reader reaches EOF. [`serve_stdio`] is this over stdin/stdout; tests and in-process
/// benchmarks use it over `tokio::io::duplex`.
pub async fn serve_transport<R, W>(
    server: LabServer,
    state_dir: &Path,
    reader: R,
    writer: W,
) -> Result<(), LabError>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    store::prepare(state_dir, server)?;
    let running = LabHandler::new(server, state_dir)
        .serve((reader, writer))
        .await?;
    running.waiting().await.map_err(LabError::Session)?;
    Ok(())
}

/// Serves `server` as MCP Streamable HTTP at [`HTTP_PATH`] on `listener`, until the
/// listener fails.
///
/// rmcp checks the `Host` header against loopback names to stop DNS rebinding. That check
/// is kept when the listener is bound to a loopback address; bound elsewhere (the lab in a
/// container, reached by its service name) the Host check is off, since the caller chose
/// to expose fictional data on that interface.
pub async fn serve_http(
    server: LabServer,
    state_dir: &Path,
    listener: tokio::net::TcpListener,
) -> Result<(), LabError> {
    store::prepare(state_dir, server)?;
    let local = listener.local_addr().map_err(LabError::Http)?;
    let mut config = StreamableHttpServerConfig::default();
    if !is_loopback(local.ip()) {
        config = config.disable_allowed_hosts();
    }
    let handler = LabHandler::new(server, state_dir);
    let service = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let router = axum::Router::new().nest_service(HTTP_PATH, service);
    tracing::info!(server = %server, address = %local, path = HTTP_PATH, "lab server listening");
    // TCP_NODELAY, as warden's own listener (see `warden serve`): otherwise each response
    // stream's end waits for the client's delayed ACK (about 40 ms).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection");
        }
    });
    axum::serve(listener, router).await.map_err(LabError::Http)
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// The current state of `server` in `state_dir`, as JSON: the state file if the server
/// has been used, else its seed. Never creates files.
pub fn read_state(server: LabServer, state_dir: &Path) -> Result<serde_json::Value, LabError> {
    with_simulation!(server, S => store::read_state::<S>(state_dir))
}

/// Every `tools/call` that `server` received in `state_dir`, oldest first, including calls
/// to unknown tools and calls that failed. Empty when the server never got a call.
pub fn received_calls(server: LabServer, state_dir: &Path) -> Result<Vec<ReceivedCall>, LabError> {
    store::received_calls(state_dir, servers::name(server))
}

/// The built-in seed of `server`, as JSON: what its state is before any call.
pub fn seed_state(server: LabServer) -> Result<serde_json::Value, LabError> {
    with_simulation!(server, S => serde_json::from_str(S::SEED).map_err(|source| LabError::Seed {
        server: S::NAME,
        source,
    }))
}

/// Writes `<state_dir>/inventory.json` from the current state (the seed where a server was
/// never used): Cedar entities `Incident` (`status`, `severity`), `Host` (`tier`, `role`; a
/// child of each incident that names it) and `User` (`executive`, `break_glass`,
/// `department`). The servers call this themselves when they start and whenever the tickets
/// state changes; call it to (re)create the inventory of a lab that is not running.
pub fn write_inventory(state_dir: &Path) -> Result<(), LabError> {
    store::prepare(state_dir, LabServer::Tickets)
}

/// Runs one tool of `server` in this process, exactly as the server would run it for an MCP
/// client named `by`: the call is logged first, then run against the state on disk. For
/// operators and harnesses that set a lab up (isolating a host before a scenario that
/// releases it); it is not a way around a gateway, since it never reaches one.
///
/// The outer `Result` is the lab failing; the inner one is the tool's answer, or the text of
/// its refusal.
pub fn call_tool(
    server: LabServer,
    state_dir: &Path,
    tool: &str,
    arguments: &serde_json::Map<String, serde_json::Value>,
    by: &str,
) -> Result<Result<serde_json::Value, String>, LabError> {
    store::prepare(state_dir, server)?;
    let (now, at_unix_ms) = handler::clock();
    let cx = sim::CallContext {
        by: by.to_owned(),
        now,
    };
    let outcome = with_simulation!(server, S => store::execute::<S>(state_dir, tool, arguments, &cx, at_unix_ms))?;
    Ok(outcome
        .map(|reply| reply.value)
        .map_err(|error| match error {
            sim::CallError::UnknownTool => format!("unknown tool `{tool}`"),
            sim::CallError::Refused(message) => message,
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for server in LabServer::ALL {
            assert_eq!(server.to_string().parse::<LabServer>().unwrap(), server);
        }
        assert!(matches!(
            "EDR".parse::<LabServer>(),
            Err(LabError::UnknownServer(name)) if name == "EDR"
        ));
    }
}
