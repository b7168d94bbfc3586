//! `edr`: the endpoint agent console: list, inspect, isolate and release hosts.
//!
//! Hosts are looked up by exact id only (`ws-042`, not `WS-042` or its FQDN): warden's
//! policies name hosts by id, and a server that accepted aliases would let an agent act on
//! a host the policy never saw named. Isolation is idempotent, as real EDR consoles are, and
//! each change is appended to `actions` with who, when and for which incident.

use rmcp::model::{JsonObject, Tool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::sim::{
    CallContext, CallError, NoArgs, Record, Reply, Simulation, find, find_mut, parse_args, reads,
    to_value, tool, writes,
};

pub(crate) struct Edr;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct State {
    hosts: Vec<Host>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Host {
    id: String,
    hostname: String,
    os: String,
    owner: String,
    /// 0 = identity infrastructure, 1 = servers, 2 = workstations.
    tier: u8,
    role: String,
    ip: String,
    isolated: bool,
    #[serde(default)]
    isolation: Option<Isolation>,
    last_seen: String,
    agent_version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Isolation {
    by: String,
    at: String,
    incident: String,
    reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Action {
    action: String,
    host: String,
    by: String,
    at: String,
    incident: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HostArgs {
    /// Host id, e.g. `ws-042`.
    host: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct IsolateArgs {
    /// Host id, e.g. `ws-042`.
    host: String,
    /// Incident the containment belongs to, e.g. `INC-1042`.
    incident: String,
    /// Why the host is isolated, kept in the host's record.
    reason: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReleaseArgs {
    /// Host id, e.g. `ws-042`.
    host: String,
    /// Why the host is released.
    reason: Option<String>,
}

impl Simulation for Edr {
    const NAME: &'static str = "edr";
    const SEED: &'static str = include_str!("../../data/edr.json");
    type State = State;

    fn tools() -> Vec<Tool> {
        vec![
            tool::<NoArgs>(
                "list_hosts",
                "List every managed endpoint with its tier (0 = domain controllers, 1 = servers, \
                 2 = workstations), owner, IP address and isolation status.",
                reads(),
            ),
            tool::<HostArgs>(
                "get_host",
                "Show one endpoint by host id (e.g. `ws-042`): OS, owner, tier, role, IP \
                 address, last check-in and current network isolation, if any.",
                reads(),
            ),
            tool::<IsolateArgs>(
                "isolate_host",
                "Network-isolate an endpoint: the EDR agent blocks all traffic except to the \
                 EDR console. Requires the incident id the containment belongs to. Isolating an \
                 already isolated host changes nothing.",
                writes(true, true),
            ),
            tool::<ReleaseArgs>(
                "release_host",
                "Lift network isolation from an endpoint and restore normal connectivity. \
                 Releasing a host that is not isolated changes nothing.",
                writes(false, true),
            ),
        ]
    }

    fn call(
        state: &mut State,
        tool: &str,
        args: &JsonObject,
        cx: &CallContext,
    ) -> Result<Reply, CallError> {
        match tool {
            "list_hosts" => {
                parse_args::<NoArgs>(tool, args)?;
                Ok(Reply::read(json!({ "hosts": to_value(&state.hosts)? })))
            }
            "get_host" => {
                let args: HostArgs = parse_args(tool, args)?;
                let host = find(&state.hosts, &args.host)?;
                Ok(Reply::read(json!({ "host": to_value(host)? })))
            }
            "isolate_host" => isolate(state, parse_args(tool, args)?, cx),
            "release_host" => release(state, parse_args(tool, args)?, cx),
            _ => Err(CallError::UnknownTool),
        }
    }
}

impl State {
    /// What the inventory needs of each host, in console order.
    pub(crate) fn inventory(&self) -> Vec<crate::inventory::HostFacts<'_>> {
        self.hosts
            .iter()
            .map(|host| crate::inventory::HostFacts {
                id: &host.id,
                tier: host.tier,
                role: &host.role,
            })
            .collect()
    }
}

impl Record for Host {
    fn id(&self) -> &str {
        &self.id
    }

    fn unknown(id: &str) -> CallError {
        CallError::Refused(format!(
            "unknown host `{id}`; call list_hosts for the managed host ids"
        ))
    }
}

fn isolate(state: &mut State, args: IsolateArgs, cx: &CallContext) -> Result<Reply, CallError> {
    if args.incident.trim().is_empty() {
        return Err(CallError::Refused(
            "`incident` must name the incident the isolation belongs to".to_owned(),
        ));
    }
    let host = find_mut(&mut state.hosts, &args.host)?;
    if host.isolated {
        return Ok(Reply::read(
            json!({ "status": "already_isolated", "host": to_value(host)? }),
        ));
    }
    host.isolated = true;
    host.isolation = Some(Isolation {
        by: cx.by.clone(),
        at: cx.now.clone(),
        incident: args.incident.clone(),
        reason: args.reason.clone(),
    });
    let value = json!({ "status": "isolated", "host": to_value(host)? });
    state.actions.push(Action {
        action: "isolate".to_owned(),
        host: args.host,
        by: cx.by.clone(),
        at: cx.now.clone(),
        incident: Some(args.incident),
        reason: args.reason,
    });
    Ok(Reply::wrote(value))
}

fn release(state: &mut State, args: ReleaseArgs, cx: &CallContext) -> Result<Reply, CallError> {
    let host = find_mut(&mut state.hosts, &args.host)?;
    if !host.isolated {
        return Ok(Reply::read(
            json!({ "status": "not_isolated", "host": to_value(host)? }),
        ));
    }
    host.isolated = false;
    let incident = host.isolation.take().map(|isolation| isolation.incident);
    let value = json!({ "status": "released", "host": to_value(host)? });
    state.actions.push(Action {
        action: "release".to_owned(),
        host: args.host,
        by: cx.by.clone(),
        at: cx.now.clone(),
        incident,
        reason: args.reason,
    });
    Ok(Reply::wrote(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::tests::{args, cx, seed};

    #[test]
    fn isolate_then_release_records_both() {
        let mut state = seed::<Edr>();
        let reply = Edr::call(
            &mut state,
            "isolate_host",
            &args(json!({"host": "ws-042", "incident": "INC-1042", "reason": "phish"})),
            &cx(),
        )
        .unwrap();
        assert!(reply.changed);
        assert_eq!(reply.value["host"]["isolated"], true);
        assert_eq!(reply.value["host"]["isolation"]["incident"], "INC-1042");

        let again = Edr::call(
            &mut state,
            "isolate_host",
            &args(json!({"host": "ws-042", "incident": "INC-1042"})),
            &cx(),
        )
        .unwrap();
        assert!(!again.changed);
        assert_eq!(again.value["status"], "already_isolated");

        let released = Edr::call(
            &mut state,
            "release_host",
            &args(json!({"host": "ws-042"})),
            &cx(),
        )
        .unwrap();
        assert_eq!(released.value["host"]["isolated"], false);
        assert_eq!(state.actions.len(), 2);
        assert_eq!(state.actions[1].incident.as_deref(), Some("INC-1042"));
    }

    #[test]
    fn hosts_match_by_exact_id_only() {
        let mut state = seed::<Edr>();
        for alias in ["WS-042", "ws-042.corp.northwind.example", " ws-042"] {
            let error = Edr::call(
                &mut state,
                "get_host",
                &args(json!({ "host": alias })),
                &cx(),
            )
            .unwrap_err();
            assert!(matches!(error, CallError::Refused(m) if m.contains("unknown host")));
        }
    }

    #[test]
    fn isolation_needs_an_incident() {
        let mut state = seed::<Edr>();
        let error = Edr::call(
            &mut state,
            "isolate_host",
            &args(json!({"host": "ws-042"})),
            &cx(),
        )
        .unwrap_err();
        assert!(matches!(error, CallError::Refused(m) if m.contains("missing field `incident`")));
    }
}
