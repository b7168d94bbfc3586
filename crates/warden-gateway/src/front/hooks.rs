//! `POST /hooks/claude-code`: Claude Code's HTTP hooks, behind the same authentication as
//! `/mcp` (the bearer token names the agent).
//!
//! Claude Code treats an HTTP hook that fails (a non-2xx status, no answer) as a non-blocking
//! error and runs the tool, so once the agent is authenticated every answer is a 200 whose JSON
//! blocks unless warden allowed: a body too large or not a hook event is refused in the hook's
//! own terms ([`crate::hooks::refusal`]).

use super::Authenticated;
use super::rate::AgentLimiter;
use crate::Gateway;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub(super) async fn claude_code(
    State((gateway, limiter)): State<(Arc<Gateway>, Arc<AgentLimiter>)>,
    req: Request,
) -> Response {
    let Some(principal) = req.extensions().get::<Authenticated>().map(|a| a.0.clone()) else {
        // The route is only mounted behind `authenticate`; refuse if it ever is not.
        return axum::Json(crate::hooks::refusal(b"", "not authenticated")).into_response();
    };
    let limit = gateway.config().gateway.max_request_bytes;
    let body = match axum::body::to_bytes(req.into_body(), limit).await {
        Ok(b) => b,
        Err(_) => {
            let why = format!(
                "the hook event is larger than {limit} bytes (`[gateway] max_request_bytes`) or did not arrive in time"
            );
            // Unread, it may have carried a tool's output: the agent is treated as tainted, to
            // the end even if the sender leaves.
            let tainting = gateway.clone();
            finish(async move {
                tainting
                    .taint_unscreened_report(
                        &principal,
                        b"",
                        crate::hooks::OutputUnscreened::Unreadable,
                    )
                    .await;
            })
            .await;
            return axum::Json(crate::hooks::refusal(b"", &why)).into_response();
        }
    };
    // A report (and a `Stop`, which counts the unreported) is handled to its end on a task of
    // its own, from the agent's rate on: Claude Code closing the connection (its hook timed
    // out) drops neither a claimed output half-screened nor a refused one's taint.
    if crate::hooks::finished_regardless(&body) {
        let (who, what) = (principal.clone(), body.clone());
        match tokio::spawn(handle(gateway.clone(), limiter, principal, body)).await {
            Ok(response) => response,
            Err(e) => {
                tracing::error!(error = %e, "a hook event's handling failed");
                // A report warden failed half-way through may have gone unscreened.
                if crate::hooks::may_report_output(&what) {
                    let tainting = gateway.clone();
                    finish(async move {
                        tainting
                            .taint_unscreened_report(
                                &who,
                                &what,
                                crate::hooks::OutputUnscreened::Unrecorded,
                            )
                            .await;
                    })
                    .await;
                }
                axum::Json(crate::hooks::refusal(b"", "warden failed handling it")).into_response()
            }
        }
    } else {
        handle(gateway, limiter, principal, body).await
    }
}

/// One hook event from `principal`, read whole: the agent's rate, then warden's answer.
async fn handle(
    gateway: Arc<Gateway>,
    limiter: Arc<AgentLimiter>,
    principal: warden_core::Principal,
    body: axum::body::Bytes,
) -> Response {
    // The agent's rate, shared with `/mcp`. A refusal is still a hook reply that blocks (a 429
    // is an error Claude Code goes on after). A `PostToolUse` (or `PostToolUseFailure`) that
    // reports on a call warden allowed or put to the user is never refused: its `PreToolUse`
    // was counted, and refusing it would leave what the tool returned, which the model already
    // holds, unscreened and the agent untainted.
    let claimed = match limiter.admit(&principal).await {
        Ok(()) => None,
        Err(refused) => match gateway.claim_allowed_report(&principal, &body) {
            Some(allowed) => Some(allowed),
            None => {
                // Not read for a decision, but not lost either: a report of a tool's output
                // taints the agent (it went unscreened), and a `Stop` still counts its
                // session's unreported calls.
                gateway.refused_report(&principal, &body).await;
                let why = format!(
                    "agent `{principal}` is sending requests faster than \
                     `agent_requests_per_sec` allows; retry after {} s",
                    refused.retry_after_secs
                );
                let mut response = axum::Json(crate::hooks::refusal(&body, &why)).into_response();
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(refused.retry_after_secs),
                );
                return response;
            }
        },
    };
    let reply = gateway.hook_with(principal, &body, claimed).await;
    let mut response = axum::Json(reply.body).into_response();
    // Still 200: the reply denies, and Claude Code would run the tool on a 503. The header
    // tells whatever reads it that the same call may succeed later.
    if reply.failed == Some(warden_store::Transience::Transient) {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(crate::failure::RETRY_AFTER_SECS),
        );
    }
    response
}

/// Runs `work` to its end on a task of its own, whether or not whoever awaits it is still
/// waiting (a client that disconnects drops the handler, not the task).
async fn finish(work: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Err(e) = tokio::spawn(work).await {
        tracing::error!(error = %e, "a hook event's handling failed");
    }
}
