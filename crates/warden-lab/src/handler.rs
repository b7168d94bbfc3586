//! The MCP face of a lab server: a hand-written [`ServerHandler`] over the pure core.
//!
//! Hand-written rather than `#[tool_router]` because two behaviours sit outside any single
//! tool: every `tools/call` is recorded before anything else happens (including argument
//! parsing), and `tools/list` re-reads a description override file on every request, so a
//! test can change what the upstream advertises without restarting it. File work runs on
//! the blocking pool; the async side only waits for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::servers::{self, with_simulation};
use crate::sim::{CallContext, CallError, Reply};
use crate::store::DefinitionOverride;
use crate::{LabError, LabServer, store};

/// One lab server bound to its state directory; cheap to clone per session.
#[derive(Debug, Clone)]
pub(crate) struct LabHandler {
    server: LabServer,
    state_dir: Arc<PathBuf>,
}

impl LabHandler {
    pub(crate) fn new(server: LabServer, state_dir: &Path) -> Self {
        Self {
            server,
            state_dir: Arc::new(state_dir.to_path_buf()),
        }
    }

    /// The catalog with any override descriptions and titles applied.
    fn catalog(server: LabServer, dir: &Path) -> Result<ListToolsResult, LabError> {
        let mut tools = servers::tools(server);
        if let Some(overrides) = store::description_overrides(dir, servers::name(server))? {
            for tool in &mut tools {
                match overrides.get(tool.name.as_ref()) {
                    Some(DefinitionOverride::Description(description)) => {
                        tool.description = Some(description.clone().into());
                    }
                    Some(DefinitionOverride::Fields { description, title }) => {
                        if let Some(d) = description {
                            tool.description = Some(d.clone().into());
                        }
                        if let Some(t) = title {
                            tool.title = Some(t.clone());
                        }
                    }
                    None => {}
                }
            }
        }
        Ok(ListToolsResult::with_all_items(tools))
    }

    /// Runs blocking file work off the async threads, and turns lab failures into an
    /// opaque internal error for the client (details go to the log).
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(LabServer, &Path) -> Result<T, LabError> + Send + 'static,
    ) -> Result<T, ErrorData> {
        let server = self.server;
        let dir = Arc::clone(&self.state_dir);
        let outcome = tokio::task::spawn_blocking(move || work(server, &dir))
            .await
            .map_err(LabError::Session)
            .and_then(|result| result);
        outcome.map_err(|error| {
            tracing::error!(%server, ?error, "lab server failed");
            ErrorData::internal_error("lab server state is unavailable", None)
        })
    }
}

impl ServerHandler for LabHandler {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                format!("warden-lab-{}", self.server),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(self.server.about())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        self.blocking(Self::catalog).await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let (cx, at_unix_ms) = call_context(&context);
        let tool = request.name.into_owned();
        let args = request.arguments.unwrap_or_default();
        let name = tool.clone();
        let outcome = self
            .blocking(move |server, dir| {
                with_simulation!(server, S => store::execute::<S>(dir, &name, &args, &cx, at_unix_ms))
            })
            .await?;
        match outcome {
            Ok(Reply { value, .. }) => {
                let text = serde_json::to_string_pretty(&value)
                    .map_err(|error| ErrorData::internal_error(error.to_string(), None))?;
                Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
            }
            Err(CallError::Refused(message)) => {
                Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into())
            }
            Err(CallError::UnknownTool) => Err(ErrorData::invalid_params(
                format!("unknown tool `{tool}`"),
                None,
            )),
        }
    }
}

/// Who is calling and the time, read once per call. The caller is the client's self-reported
/// name (per request in stateless MCP, from the handshake otherwise), or `unknown`; where the
/// client is a gateway that names the agent the call is for ([`WARDEN_AGENT`]), the caller is
/// that agent through that client: `agent:triage via warden`. What the lab stores (a comment,
/// a note, a message) carries this as its author, so a reader sees that an agent wrote it.
fn call_context(context: &RequestContext<RoleServer>) -> (CallContext, u64) {
    let client = context
        .meta
        .client_info()
        .map(|info| info.name)
        .or_else(|| {
            context
                .peer
                .peer_info()
                .map(|info| info.client_info.name.clone())
        })
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    let by = author(&client, &context.meta);
    let (now, at_unix_ms) = clock();
    (CallContext { by, now }, at_unix_ms)
}

/// The `_meta` key under which warden names the agent a call is for:
/// `{"name": "<agent>", "session": "<digest>"}` (warden's `docs/upstreams.md`).
pub(crate) const WARDEN_AGENT: &str = "dev.warden/agent";

/// The longest agent name taken from [`WARDEN_AGENT`]; a longer one is not believed.
const MAX_AGENT_NAME: usize = 128;

/// The author of what `client` stores: the agent it names under [`WARDEN_AGENT`], through it,
/// or the client itself where it names none (or one that is empty, too long or holds a
/// control character, which no gateway's configured agent does).
pub(crate) fn author(client: &str, meta: &serde_json::Map<String, serde_json::Value>) -> String {
    let agent = meta
        .get(WARDEN_AGENT)
        .and_then(|v| v.get("name"))
        .and_then(serde_json::Value::as_str)
        .filter(|name| {
            !name.is_empty() && name.len() <= MAX_AGENT_NAME && !name.chars().any(char::is_control)
        });
    match agent {
        Some(agent) => format!("agent:{agent} via {client}"),
        None => client.to_owned(),
    }
}

/// The time of a call: RFC 3339 UTC to the second, and milliseconds since the Unix epoch.
pub(crate) fn clock() -> (String, u64) {
    let now = OffsetDateTime::now_utc();
    let rfc3339 = now
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default();
    let at_unix_ms = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    (rfc3339, at_unix_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn meta(value: Value) -> serde_json::Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    #[test]
    fn the_agent_a_gateway_names_is_the_author_through_that_gateway() {
        let named = meta(json!({WARDEN_AGENT: {"name": "triage", "session": "3f9a0c61d2b7e845"}}));
        assert_eq!(author("warden", &named), "agent:triage via warden");
        assert_eq!(author("lab-test", &meta(json!({}))), "lab-test");
    }

    #[test]
    fn a_name_no_gateway_would_send_is_not_taken() {
        for agent in [json!(""), json!("a\nb"), json!("x".repeat(129)), json!(7)] {
            let named = meta(json!({WARDEN_AGENT: {"name": agent}}));
            assert_eq!(author("warden", &named), "warden");
        }
        assert_eq!(
            author("warden", &meta(json!({WARDEN_AGENT: "triage"}))),
            "warden"
        );
    }
}
