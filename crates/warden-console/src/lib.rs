//! The approvers' web console: where a named human signs in, answers held tool calls and clears
//! an agent's taint early.
//!
//! Design choices:
//! - **Storage-agnostic.** The console talks only to [`ApprovalDesk`]; the desk, not the
//!   console, decides who may answer, so the rules live in one place and the console can only
//!   forward an answer, never grant one.
//! - **Server-rendered, no JavaScript.** Pages are HTML forms built by pure functions
//!   (`pages`) over an escaping builder (`html`) whose raw markup must be a string literal;
//!   every response carries a CSP that allows no script at all, as a second line of defence.
//! - **Checked state as types.** Handlers that change state need a `SignedIn` (a live
//!   session) and a `Confirmed` (its CSRF token matched); see `routes` for the order.
//! - **Sessions in memory or in the store.** 256-bit ids in an `HttpOnly; SameSite=Strict`
//!   cookie on the console's path, hashed in a bounded table, fixed lifetime. The table is the
//!   desk's [`SessionTable`] when it has one (the gateway's: rows beside the ledger, each MAC'd
//!   with a key derived from the ledger's, so every replica knows a sign-in and a row written
//!   straight into the database signs nobody in); else this process's memory.
//! - **Lists in pages.** Every list that can grow without bound (the waiting calls, the
//!   decisions, a session's trail, the tainted agents) shows one bounded page and a link to
//!   the next; the link's `after` token is the desk's, opaque here, and one the desk refuses
//!   (altered, cut short, from other filters) is a 400 page, never the first page again.
//! - **An API for programs beside the pages.** `<console>/api/…` takes the CLI's answers as
//!   JSON, authenticated by the approver's bearer token (never a cookie) under the same
//!   sign-in lockout, and calls the same desk methods as the forms (see `api`).
//! - **The agent's words are labelled.** Arguments, rationale and tool output are shown as
//!   untrusted text, with invisible characters made visible, beside the raw call.
//!
//! Mount with `Router::new().nest("/console", warden_console::router(desk, config))`, with
//! `base_path` set to the same prefix.

mod api;
mod auth;
mod config;
mod desk;
mod html;
mod pages;
mod routes;
mod signin;

pub use api::{APPROVER_HEADER, MAX_BODY as API_MAX_BODY};
pub use auth::{CSRF_FIELD, SESSION_COOKIE};
pub use config::{AgentTokens, ApproverLogin, ConfigError, ConsoleConfig, hash_password};
pub use desk::{
    AnswerView, ApprovalDesk, DecisionPage, DecisionQuery, DecisionView, DeskError, EvidenceView,
    Paged, PendingPage, PendingQuery, Redacted, RequestView, Resumed, ReviewView, SessionRecord,
    SessionTable, TaintCleared, TaintView, TargetView, VerdictView,
};

use std::sync::Arc;

/// The console's routes, relative to `config.base_path`: `GET/POST /login`, `POST /logout`,
/// `GET /` (filters: `agent`, `tool`, `category`, `q`), `GET /requests/{id}`,
/// `POST /requests/{id}/decide`, `GET /decisions` (filters: the same and `decision`, `limit`),
/// `GET /review/{index}`, `POST /review/{index}`,
/// `GET /sessions/{id}`, `GET /taint`, `POST /taint/clear`; and the approvers' API under `/api`
/// (JSON, the approver's bearer token; see the `api` module).
///
/// Call [`ConsoleConfig::validate`] first; an approver whose verifiers do not parse simply
/// cannot sign in.
pub fn router(desk: Arc<dyn ApprovalDesk>, config: ConsoleConfig) -> axum::Router {
    let sessions = auth::Sessions::new(config.session_ttl, desk.session_table());
    let state = routes::Console {
        desk,
        approvers: config.approvers.clone().into(),
        agent_tokens: config.agent_tokens.0.clone().into(),
        sessions,
        base: config.base_path.trim_end_matches('/').to_string(),
        secure_cookies: config.secure_cookies,
        ttl: config.session_ttl,
        sign_ins: Arc::new(signin::SignInGate::new(
            config.approvers.iter().map(|a| a.id.as_str()),
        )),
    };
    routes::routes(Arc::new(state))
}
