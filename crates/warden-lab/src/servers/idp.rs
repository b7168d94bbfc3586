//! `idp`: the identity provider: look up accounts, disable and enable them, revoke sessions.
//!
//! Accounts are looked up by exact id (`carol.diaz`), for the same reason hosts are: the
//! policy and the server must agree on what was named. Each account carries the facts a
//! policy cares about (`executive`, `break_glass`), and every change is appended to
//! `actions` so a test can see who did what.

use rmcp::model::{JsonObject, Tool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::sim::{
    CallContext, CallError, Record, Reply, Simulation, find, find_mut, parse_args, reads, to_value,
    tool, writes,
};

pub(crate) struct Idp;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct State {
    users: Vec<User>,
    #[serde(default)]
    actions: Vec<Action>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct User {
    id: String,
    name: String,
    title: String,
    department: String,
    email: String,
    manager: Option<String>,
    executive: bool,
    break_glass: bool,
    disabled: bool,
    mfa: bool,
    sessions_reset_count: u32,
    last_sessions_reset: Option<String>,
    last_login: Option<String>,
    last_login_ip: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Action {
    action: String,
    user: String,
    by: String,
    at: String,
    reason: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UserArgs {
    /// Account id, e.g. `alice.chen`.
    user: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DisableArgs {
    /// Account id, e.g. `alice.chen`.
    user: String,
    /// Why the account is disabled, kept in the audit trail.
    reason: Option<String>,
}

impl Simulation for Idp {
    const NAME: &'static str = "idp";
    const SEED: &'static str = include_str!("../../data/idp.json");
    type State = State;

    fn tools() -> Vec<Tool> {
        vec![
            tool::<UserArgs>(
                "get_user",
                "Show one account by id (e.g. `alice.chen`): name, title, department, email, \
                 manager, whether it is an executive or break-glass account, whether it is \
                 disabled, MFA enrolment, and the last sign-in.",
                reads(),
            ),
            tool::<DisableArgs>(
                "disable_account",
                "Disable an account so it can no longer sign in. Existing sessions stay valid \
                 until reset_sessions is called. Disabling a disabled account changes nothing.",
                writes(true, true),
            ),
            tool::<UserArgs>(
                "enable_account",
                "Re-enable a disabled account. Enabling an enabled account changes nothing.",
                writes(false, true),
            ),
            tool::<UserArgs>(
                "reset_sessions",
                "Revoke every active session and refresh token of an account, forcing a new \
                 sign-in with MFA.",
                writes(true, false),
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
            "get_user" => {
                let args: UserArgs = parse_args(tool, args)?;
                let user = find(&state.users, &args.user)?;
                Ok(Reply::read(json!({ "user": to_value(user)? })))
            }
            "disable_account" => {
                let args: DisableArgs = parse_args(tool, args)?;
                set_disabled(state, args.user, true, args.reason, cx)
            }
            "enable_account" => {
                let args: UserArgs = parse_args(tool, args)?;
                set_disabled(state, args.user, false, None, cx)
            }
            "reset_sessions" => {
                let args: UserArgs = parse_args(tool, args)?;
                let user = find_mut(&mut state.users, &args.user)?;
                user.sessions_reset_count = user.sessions_reset_count.saturating_add(1);
                user.last_sessions_reset = Some(cx.now.clone());
                let value = json!({ "status": "sessions_reset", "user": to_value(user)? });
                state
                    .actions
                    .push(action("reset_sessions", args.user, None, cx));
                Ok(Reply::wrote(value))
            }
            _ => Err(CallError::UnknownTool),
        }
    }
}

impl State {
    /// What the inventory needs of each account, in directory order.
    pub(crate) fn inventory(&self) -> Vec<crate::inventory::UserFacts<'_>> {
        self.users
            .iter()
            .map(|user| crate::inventory::UserFacts {
                id: &user.id,
                executive: user.executive,
                break_glass: user.break_glass,
                department: &user.department,
            })
            .collect()
    }
}

impl Record for User {
    fn id(&self) -> &str {
        &self.id
    }

    fn unknown(id: &str) -> CallError {
        CallError::Refused(format!(
            "unknown user `{id}`; accounts are named like `alice.chen`"
        ))
    }
}

fn set_disabled(
    state: &mut State,
    id: String,
    disabled: bool,
    reason: Option<String>,
    cx: &CallContext,
) -> Result<Reply, CallError> {
    let user = find_mut(&mut state.users, &id)?;
    let (done, unchanged) = if disabled {
        ("disabled", "already_disabled")
    } else {
        ("enabled", "already_enabled")
    };
    if user.disabled == disabled {
        return Ok(Reply::read(
            json!({ "status": unchanged, "user": to_value(user)? }),
        ));
    }
    user.disabled = disabled;
    let value = json!({ "status": done, "user": to_value(user)? });
    let name = if disabled {
        "disable_account"
    } else {
        "enable_account"
    };
    state.actions.push(action(name, id, reason, cx));
    Ok(Reply::wrote(value))
}

fn action(name: &str, user: String, reason: Option<String>, cx: &CallContext) -> Action {
    Action {
        action: name.to_owned(),
        user,
        by: cx.by.clone(),
        at: cx.now.clone(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::tests::{args, cx, seed};

    #[test]
    fn disable_enable_and_reset_are_recorded() {
        let mut state = seed::<Idp>();
        let reply = Idp::call(
            &mut state,
            "disable_account",
            &args(json!({"user": "alice.chen", "reason": "INC-1042"})),
            &cx(),
        )
        .unwrap();
        assert!(reply.changed);
        assert_eq!(reply.value["user"]["disabled"], true);
        let again = Idp::call(
            &mut state,
            "disable_account",
            &args(json!({"user": "alice.chen"})),
            &cx(),
        )
        .unwrap();
        assert_eq!(again.value["status"], "already_disabled");
        assert!(!again.changed);

        for _ in 0..2 {
            Idp::call(
                &mut state,
                "reset_sessions",
                &args(json!({"user": "alice.chen"})),
                &cx(),
            )
            .unwrap();
        }
        let user = Idp::call(
            &mut state,
            "get_user",
            &args(json!({"user": "alice.chen"})),
            &cx(),
        )
        .unwrap();
        assert_eq!(user.value["user"]["sessions_reset_count"], 2);
        Idp::call(
            &mut state,
            "enable_account",
            &args(json!({"user": "alice.chen"})),
            &cx(),
        )
        .unwrap();
        let names: Vec<_> = state.actions.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(
            names,
            [
                "disable_account",
                "reset_sessions",
                "reset_sessions",
                "enable_account"
            ]
        );
    }

    #[test]
    fn policy_relevant_facts_are_seeded() {
        let state = seed::<Idp>();
        let user = |id: &str| state.users.iter().find(|u| u.id == id).unwrap();
        assert!(user("carol.diaz").executive && user("dan.okafor").executive);
        assert!(user("bg-admin").break_glass);
        assert!(!user("alice.chen").executive);
        for u in &state.users {
            assert_eq!(u.email, format!("{}@northwind.example", u.id));
        }
    }
}
