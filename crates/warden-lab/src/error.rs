//! Errors of the lab as a library: its files and its transports.
//!
//! A failing *tool* (unknown host, bad argument) is not a `LabError`: it is an MCP tool
//! result with `is_error: true`, because the agent must read it. `LabError` is what the
//! embedding program sees when the lab itself cannot run.

use std::path::PathBuf;

/// Why the lab could not serve, or could not read its files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// A name that is none of `siem`, `edr`, `idp`, `tickets`, `mail`.
    #[error("unknown lab server `{0}`, expected one of siem, edr, idp, tickets, mail")]
    UnknownServer(String),
    /// A state, call-log or override file could not be read or written.
    #[error("cannot access `{}`", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A state, call-log or override file holds JSON the lab does not understand.
    #[error("`{}` is not valid lab data", path.display())]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The built-in seed data does not parse: a defect of this crate, caught by its tests.
    #[error("built-in seed data of `{server}` is invalid")]
    Seed {
        server: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The MCP handshake with the client failed.
    #[error("mcp session could not start")]
    Initialize(#[source] Box<rmcp::service::ServerInitializeError>),
    /// A lab task (the MCP session, or the worker of one call's file work) ended abnormally.
    #[error("lab task failed")]
    Session(#[source] tokio::task::JoinError),
    /// The HTTP server stopped with an error.
    #[error("http server failed")]
    Http(#[source] std::io::Error),
}

impl From<rmcp::service::ServerInitializeError> for LabError {
    fn from(error: rmcp::service::ServerInitializeError) -> Self {
        Self::Initialize(Box::new(error))
    }
}
