//! The five simulated servers, and the one switch from a [`LabServer`] to its code.
//!
//! Each server is a [`Simulation`] in its own file with its seed in `data/<server>.json`.
//! Everything else in the crate is generic over `Simulation`; `with_simulation!` is the
//! only place that names the concrete types, so adding a server touches one match.

pub(crate) mod edr;
pub(crate) mod idp;
pub(crate) mod mail;
pub(crate) mod siem;
pub(crate) mod tickets;

use rmcp::model::Tool;

use crate::LabServer;
use crate::sim::Simulation;

/// Runs `$body` with `$sim` bound to the simulation type of `$server`.
macro_rules! with_simulation {
    ($server:expr, $sim:ident => $body:expr) => {
        match $server {
            $crate::LabServer::Siem => {
                type $sim = $crate::servers::siem::Siem;
                $body
            }
            $crate::LabServer::Edr => {
                type $sim = $crate::servers::edr::Edr;
                $body
            }
            $crate::LabServer::Idp => {
                type $sim = $crate::servers::idp::Idp;
                $body
            }
            $crate::LabServer::Tickets => {
                type $sim = $crate::servers::tickets::Tickets;
                $body
            }
            $crate::LabServer::Mail => {
                type $sim = $crate::servers::mail::Mail;
                $body
            }
        }
    };
}
pub(crate) use with_simulation;

/// The built-in tool catalog of a server.
pub(crate) fn tools(server: LabServer) -> Vec<Tool> {
    with_simulation!(server, S => S::tools())
}

/// The state-file stem of a server.
pub(crate) fn name(server: LabServer) -> &'static str {
    with_simulation!(server, S => S::NAME)
}

#[cfg(test)]
pub(crate) mod tests {
    use rmcp::model::JsonObject;
    use serde_json::Value;

    use super::*;
    use crate::sim::{CallContext, CallError};

    pub(crate) fn seed<S: Simulation>() -> S::State {
        serde_json::from_str(S::SEED).unwrap()
    }

    pub(crate) fn args(value: Value) -> JsonObject {
        match value {
            Value::Object(map) => map,
            other => panic!("arguments must be an object, got {other}"),
        }
    }

    pub(crate) fn cx() -> CallContext {
        CallContext {
            by: "test-agent".to_owned(),
            now: "2025-09-23T10:00:00Z".to_owned(),
        }
    }

    fn call(server: LabServer, tool: &str, arguments: Value) -> Result<Value, CallError> {
        with_simulation!(server, S => {
            let mut state = seed::<S>();
            S::call(&mut state, tool, &args(arguments), &cx()).map(|reply| reply.value)
        })
    }

    #[test]
    fn every_seed_parses_and_round_trips() {
        for server in LabServer::ALL {
            with_simulation!(server, S => {
                let state = seed::<S>();
                let written = serde_json::to_value(&state).unwrap();
                let original: Value = serde_json::from_str(S::SEED).unwrap();
                assert_eq!(written, original, "{server} seed loses data on a round trip");
            });
        }
    }

    #[test]
    fn catalogs_have_object_schemas_and_descriptions() {
        for server in LabServer::ALL {
            let tools = tools(server);
            assert!(!tools.is_empty());
            for tool in tools {
                assert_eq!(tool.input_schema.get("type"), Some(&Value::from("object")));
                assert!(
                    tool.input_schema.get("properties").is_some(),
                    "{}",
                    tool.name
                );
                assert!(tool.description.as_deref().is_some_and(|d| d.len() > 20));
                assert!(tool.annotations.is_some());
            }
        }
    }

    #[test]
    fn required_arguments_are_marked() {
        let required = |server, name: &str| -> Vec<String> {
            let tool = tools(server).into_iter().find(|t| t.name == name).unwrap();
            tool.input_schema
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default()
        };
        assert_eq!(
            required(LabServer::Edr, "isolate_host"),
            ["host", "incident"]
        );
        assert_eq!(required(LabServer::Siem, "search_logs"), ["query"]);
        assert!(required(LabServer::Siem, "search_alerts").is_empty());
        assert_eq!(
            required(LabServer::Mail, "send_mail"),
            ["to", "subject", "body"]
        );
        assert_eq!(
            required(LabServer::Tickets, "close_incident"),
            ["incident", "resolution"]
        );
    }

    #[test]
    fn every_tool_runs_and_unknown_names_are_unroutable() {
        let calls = [
            (LabServer::Siem, "search_alerts", serde_json::json!({})),
            (
                LabServer::Siem,
                "get_alert",
                serde_json::json!({"alert_id": "ALR-2001"}),
            ),
            (
                LabServer::Siem,
                "search_logs",
                serde_json::json!({"query": "sshd"}),
            ),
            (LabServer::Edr, "list_hosts", serde_json::json!({})),
            (
                LabServer::Edr,
                "get_host",
                serde_json::json!({"host": "dc01"}),
            ),
            (
                LabServer::Idp,
                "get_user",
                serde_json::json!({"user": "bg-admin"}),
            ),
            (LabServer::Tickets, "list_incidents", serde_json::json!({})),
            (
                LabServer::Tickets,
                "get_incident",
                serde_json::json!({"incident": "INC-1038"}),
            ),
            (
                LabServer::Mail,
                "list_messages",
                serde_json::json!({"mailbox": "soc"}),
            ),
            (
                LabServer::Mail,
                "read_message",
                serde_json::json!({"message_id": "MSG-3101"}),
            ),
            (
                LabServer::Mail,
                "list_forwarding_rules",
                serde_json::json!({"mailbox": "alice.chen"}),
            ),
            (
                LabServer::Mail,
                "create_forwarding_rule",
                serde_json::json!({"mailbox": "soc", "forward_to": "erin.walsh@northwind.example"}),
            ),
            (
                LabServer::Siem,
                "update_alert",
                serde_json::json!({"alert_id": "ALR-2015", "status": "closed", "note": "duplicate of ALR-2009"}),
            ),
            (
                LabServer::Tickets,
                "edit_comment",
                serde_json::json!({"incident": "INC-1044", "comment_id": "CMT-0011", "text": "t"}),
            ),
            (
                LabServer::Tickets,
                "delete_comment",
                serde_json::json!({"incident": "INC-1044", "comment_id": "CMT-0011"}),
            ),
            (
                LabServer::Tickets,
                "update_incident",
                serde_json::json!({"incident": "INC-1044", "severity": "medium"}),
            ),
        ];
        for (server, tool, arguments) in calls {
            call(server, tool, arguments).unwrap_or_else(|e| panic!("{server}.{tool}: {e:?}"));
        }
        for server in LabServer::ALL {
            assert_eq!(
                call(server, "no_such_tool", serde_json::json!({})),
                Err(CallError::UnknownTool)
            );
        }
    }

    #[test]
    fn unknown_arguments_are_refused() {
        let error = call(
            LabServer::Edr,
            "get_host",
            serde_json::json!({"host": "dc01", "hots": 1}),
        );
        assert!(matches!(error, Err(CallError::Refused(m)) if m.contains("unknown field `hots`")));
    }
}
