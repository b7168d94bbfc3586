//! The pure core every simulated server shares: state in, state out.
//!
//! A server is a [`Simulation`]: a serde state type, its seed, its tool catalog, and one
//! `call` function that takes the state, the tool name, the arguments and a
//! [`CallContext`] (who is calling and when), and returns a [`Reply`] or a [`CallError`].
//! Nothing here touches files, clocks or sockets; `store` and `handler` do that at the
//! edges, so each tool's behaviour is tested as plain values.

use std::sync::Arc;

use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Results of list and search tools are capped so a careless agent cannot pull a whole log.
pub(crate) const DEFAULT_LIMIT: usize = 20;
pub(crate) const MAX_LIMIT: usize = 100;

/// One simulated MCP server.
pub(crate) trait Simulation {
    /// The file stem of the state files, and the server name in messages.
    const NAME: &'static str;
    /// The built-in seed, JSON of `State`.
    const SEED: &'static str;
    /// Everything the server remembers between calls.
    type State: Serialize + DeserializeOwned;
    /// Whether a change of this server's state changes the inventory (`inventory.json`),
    /// which `store` then rewrites in the same locked step.
    const FEEDS_INVENTORY: bool = false;
    /// The tools with their built-in descriptions.
    fn tools() -> Vec<Tool>;
    /// Runs one tool against the state; mutations happen in place and set `Reply::changed`.
    fn call(
        state: &mut Self::State,
        tool: &str,
        args: &JsonObject,
        cx: &CallContext,
    ) -> Result<Reply, CallError>;
}

/// Who made a call and when, decided at the edge so the core stays deterministic.
#[derive(Debug, Clone)]
pub(crate) struct CallContext {
    /// The MCP client's self-reported name (`clientInfo.name`), or `unknown`.
    pub by: String,
    /// RFC 3339 UTC time of the call, to the second.
    pub now: String,
}

/// A tool's successful answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub value: Value,
    /// Whether the state must be written back; read tools never write.
    pub changed: bool,
}

impl Reply {
    pub(crate) fn read(value: Value) -> Self {
        Self {
            value,
            changed: false,
        }
    }

    pub(crate) fn wrote(value: Value) -> Self {
        Self {
            value,
            changed: true,
        }
    }
}

/// Why a call produced no answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CallError {
    /// No tool of that name: the request is unroutable, a protocol error in MCP.
    UnknownTool,
    /// The tool ran and refused (unknown id, bad argument): the agent reads this text in a
    /// tool result with `is_error: true`.
    Refused(String),
}

/// A record that tools look up by its exact id (`WS-042` is not `ws-042`: an agent must not act
/// on a record the policy never saw named).
pub(crate) trait Record {
    fn id(&self) -> &str;
    /// The refusal for an id that matches no record, telling the agent where valid ids come from.
    fn unknown(id: &str) -> CallError;
}

pub(crate) fn find<'a, R: Record>(records: &'a [R], id: &str) -> Result<&'a R, CallError> {
    records
        .iter()
        .find(|r| r.id() == id)
        .ok_or_else(|| R::unknown(id))
}

pub(crate) fn find_mut<'a, R: Record>(
    records: &'a mut [R],
    id: &str,
) -> Result<&'a mut R, CallError> {
    records
        .iter_mut()
        .find(|r| r.id() == id)
        .ok_or_else(|| R::unknown(id))
}

/// Parses a tool's arguments strictly: unknown fields are refused, so a misspelt optional
/// argument is reported instead of silently ignored.
pub(crate) fn parse_args<T: DeserializeOwned>(
    tool: &str,
    args: &JsonObject,
) -> Result<T, CallError> {
    serde_json::from_value(Value::Object(args.clone()))
        .map_err(|error| CallError::Refused(format!("invalid arguments for `{tool}`: {error}")))
}

/// Serialises a state fragment into a reply value.
pub(crate) fn to_value<T: Serialize>(value: &T) -> Result<Value, CallError> {
    serde_json::to_value(value)
        .map_err(|error| CallError::Refused(format!("cannot encode result: {error}")))
}

/// Builds a tool whose input schema is derived from its argument type, so the schema and
/// the parser cannot drift apart.
pub(crate) fn tool<Args: JsonSchema>(
    name: &'static str,
    description: &'static str,
    annotations: ToolAnnotations,
) -> Tool {
    Tool::new(name, description, input_schema::<Args>()).with_annotations(annotations)
}

/// JSON Schema 2020-12 of an argument type, self-contained (enums inlined, no `$ref`) so a
/// reader or a gateway can check arguments without resolving definitions; the root's
/// title and description (the Rust type's name and doc) are dropped, and `properties` is
/// always present, as some MCP clients expect.
fn input_schema<Args: JsonSchema>() -> Arc<JsonObject> {
    let generator = SchemaSettings::draft2020_12()
        .with(|settings| settings.inline_subschemas = true)
        .into_generator();
    let mut schema = match serde_json::Value::from(generator.into_root_schema_for::<Args>()) {
        serde_json::Value::Object(object) => object,
        // Only `true`/`false` schemas are not objects, and no argument type derives those.
        _ => JsonObject::new(),
    };
    schema.remove("title");
    schema.remove("description");
    schema.insert("type".to_owned(), "object".into());
    schema
        .entry("properties")
        .or_insert_with(|| serde_json::Value::Object(JsonObject::new()));
    Arc::new(schema)
}

/// Annotations of a tool that only reads.
pub(crate) fn reads() -> ToolAnnotations {
    ToolAnnotations::new().read_only(true).open_world(false)
}

/// Annotations of a tool that changes the simulated world.
pub(crate) fn writes(destructive: bool, idempotent: bool) -> ToolAnnotations {
    ToolAnnotations::new()
        .read_only(false)
        .destructive(destructive)
        .idempotent(idempotent)
        .open_world(false)
}

/// The limit an agent asked for, defaulted and capped.
pub(crate) fn limit(requested: Option<u32>) -> usize {
    requested
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(DEFAULT_LIMIT)
        .min(MAX_LIMIT)
}

/// Case-insensitive substring match; an empty needle matches everything.
pub(crate) fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

/// The empty argument object, for tools that take none.
#[derive(Debug, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoArgs {}
