//! The approvers' API: the console's answers for programs (`warden approvals`, `warden resume`,
//! `warden halt`, `warden taint clear`, `warden review verdict`), JSON in and out, at
//! `<console>/api/…` on the console's own listener.
//!
//! Design choices:
//! - **The approver's token, never a cookie.** Every request carries `Authorization: Bearer
//!   <token>` and names its approver in `Warden-Approver` (the CLI's `--as`). A token names
//!   exactly one approver; naming another refuses the request like a wrong token, and an
//!   agent's token is refused whoever it names. Cookies are not read, so a page in the
//!   approver's browser can make no request count as theirs: there is no CSRF surface.
//! - **The console's sign-in lockout, not a second one.** Each check runs in the approver's
//!   sign-in lane and its outcome counts in the same per-account failures as a password typed
//!   on the sign-in page: wrong tokens lock the account for the console too, and a locked
//!   account is refused here, the right token included, until the lock ends.
//! - **One code path.** Each endpoint calls the [`ApprovalDesk`] method the console's form
//!   calls, so who may answer, the binding of an answer to the approver's credentials and the
//!   order (the ledger first, then the store) are the desk's, whichever front is used.
//! - **Checked before read.** The approver is checked from the headers before any body is
//!   read; bodies are bounded ([`MAX_BODY`]), unknown fields are refused, and every error is
//!   a JSON object `{"error": "…"}` with a status that classifies it once ([`ApiError`]).
//!
//! Endpoints: `GET /requests` (the waiting requests; filters `agent`, `tool`, `category`, `q`,
//! `after`, `limit`), `GET /requests/{id}` (as the ledger records its answers),
//! `POST /requests/{id}/answer` (`{"verdict": "approve"|"deny", "reason", "args_digest"?}`),
//! `POST /halt` and `POST /resume` (`{"scope", "reason"}`), `POST /taint/clear`
//! (`{"agent", "record", "reason"}`), `POST /review/{index}` (`{"verdict": "correct"|"wrong",
//! "note"}`), `POST /audit/redact/{index}` (`{"reason", "requested_by"?}`).

use crate::auth;
use crate::desk::{DeskError, PendingQuery, RequestView};
use crate::routes::{
    AppState, MAX_FILTER_CHARS, MAX_PENDING_ROWS, MAX_REASON_CHARS, MAX_SECRET_BYTES,
    RETRY_AFTER_SECS, blocking,
};
use crate::signin::NotChecked;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use warden_core::{Judgement, TaintRecord, Verdict};

/// The header that names the approver a request is made as (the CLI's `--as`).
pub const APPROVER_HEADER: &str = "warden-approver";
/// The largest request body read, in bytes: a reason of 2000 characters fits many times over.
pub const MAX_BODY: usize = 64 * 1024;
const WRONG_TOKEN: &str = "wrong approver or token";

/// What went wrong, as a status and a message for the caller. Internal details go to the log.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    /// Seconds to wait before trying again (`Retry-After`).
    retry_after: Option<u64>,
    /// Ask for a bearer token (`WWW-Authenticate`).
    challenge: bool,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
            challenge: false,
        }
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, message)
        }
    }

    fn unfit(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response =
            (self.status, axum::Json(json!({"error": self.message}))).into_response();
        let h = response.headers_mut();
        if let Some(secs) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.challenge {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"warden\""),
            );
        }
        response
    }
}

/// The one place a desk error becomes an API error.
impl From<DeskError> for ApiError {
    fn from(e: DeskError) -> Self {
        match e {
            DeskError::NotFound => Self::new(StatusCode::NOT_FOUND, "no such request"),
            DeskError::Refused(m) => Self::new(StatusCode::CONFLICT, m),
            DeskError::BadCursor(m) => Self::new(
                StatusCode::BAD_REQUEST,
                format!("{m}; list again from the first page"),
            ),
            DeskError::Internal(detail) => {
                tracing::error!(%detail, "approver API: approval desk failure");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the approval desk failed; tell the warden operator",
                )
            }
            DeskError::Unavailable(detail) => {
                tracing::error!(%detail, "approver API: approval desk unavailable");
                Self {
                    retry_after: Some(RETRY_AFTER_SECS),
                    ..Self::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        format!(
                            "warden's store is unavailable for now; try again in {RETRY_AFTER_SECS} s"
                        ),
                    )
                }
            }
        }
    }
}

/// An approver whose bearer token was checked for the approver the request names: made only
/// by its extractor, which runs before any body is read.
#[derive(Debug)]
pub(crate) struct ApiApprover {
    id: String,
}

impl FromRequestParts<AppState> for ApiApprover {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let text = |name: &str| {
            let mut values = parts.headers.get_all(name).iter();
            match (values.next(), values.next()) {
                (Some(v), None) => v.to_str().ok().map(str::to_string),
                _ => None,
            }
        };
        let Some(token) = text(header::AUTHORIZATION.as_str())
            .and_then(|v| v.strip_prefix("Bearer ").map(|t| t.trim().to_string()))
            .filter(|t| !t.is_empty())
        else {
            return Err(ApiError::unauthorized(
                "give the approver's token as `Authorization: Bearer <token>` (cookies are not read here)",
            ));
        };
        let Some(id) = text(APPROVER_HEADER).map(|v| v.trim().to_string()) else {
            return Err(ApiError::unauthorized(
                "name the approver you answer as in the `Warden-Approver` header",
            ));
        };
        if id.is_empty() || id.len() > MAX_SECRET_BYTES || token.len() > MAX_SECRET_BYTES {
            return Err(ApiError::unauthorized(WRONG_TOKEN));
        }
        // The right token answers through any lock: 256 random bits cannot be guessed, so a
        // lock on tokens would only let anyone who reaches the console (the agent it contains
        // among them) keep every approver from the gate with a few wrong guesses each.
        if auth::check_token(&state.approvers, &state.agent_tokens, &id, &token).is_some() {
            return Ok(Self { id });
        }
        // A wrong one is a failed sign-in, counted in the console's own lane and lockout for
        // this account, which stop password guesses.
        let slot = match state.sign_ins.admit(&id).await {
            Ok(slot) => slot,
            Err(NotChecked::Locked(left)) => {
                tracing::warn!(approver = ?id, "approver API: refused, account locked");
                let minutes = left.as_secs().div_ceil(60).max(1);
                return Err(ApiError {
                    retry_after: Some(left.as_secs().max(1)),
                    ..ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        format!(
                            "this account is locked after repeated failed sign-ins; try again in {minutes} min"
                        ),
                    )
                });
            }
            Err(NotChecked::Busy) => {
                return Err(ApiError {
                    retry_after: Some(1),
                    ..ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too many sign-in attempts for this account; try again in a moment",
                    )
                });
            }
        };
        state.sign_ins.record(&id, false);
        drop(slot);
        tracing::info!(approver = ?id, "approver API: token refused");
        Err(ApiError::unauthorized(WRONG_TOKEN))
    }
}

/// A JSON body, bounded by [`MAX_BODY`], whose problems are answered as JSON.
pub(crate) struct Body<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(e) => Err(match e {
                JsonRejection::BytesRejection(_) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!("the request body is larger than {MAX_BODY} bytes"),
                    )
                }
                JsonRejection::MissingJsonContentType(_) => ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "send the body as `Content-Type: application/json`",
                ),
                other => ApiError::new(
                    other.status(),
                    format!("the body does not parse: {}", other.body_text()),
                ),
            }),
        }
    }
}

pub(crate) fn routes() -> Router<AppState> {
    use axum::routing::{get, post};
    Router::new()
        .route("/requests", get(pending))
        .route("/requests/{id}", get(request))
        .route("/requests/{id}/answer", post(answer))
        .route("/halt", post(halt))
        .route("/resume", post(resume))
        .route("/taint/clear", post(clear_taint))
        .route("/review/{index}", post(verdict))
        .route("/audit/redact/{index}", post(redact))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(DefaultBodyLimit::max(MAX_BODY))
}

/// A reason or note as every front takes it: trimmed, not empty, at most 2000 characters.
fn reason(text: &str, what: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::unfit(format!("a {what} is required")));
    }
    if text.chars().count() > MAX_REASON_CHARS {
        return Err(ApiError::unfit(format!(
            "the {what} is longer than {MAX_REASON_CHARS} characters"
        )));
    }
    Ok(text.to_string())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PendingFilters {
    agent: Option<String>,
    tool: Option<String>,
    category: Option<String>,
    q: Option<String>,
    after: Option<String>,
    limit: Option<usize>,
}

/// One page of the waiting requests.
#[derive(Serialize)]
struct PendingRows {
    rows: Vec<RequestView>,
    /// How many waiting requests match, the ones not returned included.
    matched: usize,
    /// How many requests wait in all.
    waiting: usize,
    /// `after` for the next page; absent on the last.
    next: Option<String>,
}

async fn pending(
    State(console): State<AppState>,
    who: ApiApprover,
    Query(q): Query<PendingFilters>,
) -> Result<Response, ApiError> {
    let clean = |v: Option<String>| {
        v.map(|s| s.trim().chars().take(MAX_FILTER_CHARS).collect::<String>())
            .filter(|s| !s.is_empty())
    };
    let query = PendingQuery {
        agent: clean(q.agent),
        tool: clean(q.tool),
        category: clean(q.category),
        text: clean(q.q),
        limit: q
            .limit
            .unwrap_or(MAX_PENDING_ROWS)
            .clamp(1, MAX_PENDING_ROWS),
        after: q.after.filter(|a| !a.is_empty()),
    };
    let desk = Arc::clone(&console.desk);
    let page = blocking(move || desk.pending(&query)).await?;
    tracing::debug!(approver = %who.id, rows = page.rows.len(), "approver API: pending listed");
    Ok(axum::Json(PendingRows {
        rows: page.rows,
        matched: page.matched,
        waiting: page.waiting,
        next: page.next,
    })
    .into_response())
}

async fn request(
    State(console): State<AppState>,
    _who: ApiApprover,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let desk = Arc::clone(&console.desk);
    let view = blocking(move || desk.request(&id))
        .await?
        .ok_or(DeskError::NotFound)?;
    Ok(axum::Json(view).into_response())
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum AnswerVerdict {
    Approve,
    Deny,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    verdict: AnswerVerdict,
    reason: String,
    /// The digest of the arguments the approver reviewed: when given, the answer is refused
    /// unless the request holds exactly those arguments.
    #[serde(default)]
    args_digest: Option<String>,
}

async fn answer(
    State(console): State<AppState>,
    who: ApiApprover,
    Path(id): Path<String>,
    Body(body): Body<AnswerBody>,
) -> Result<Response, ApiError> {
    let reason = reason(&body.reason, "reason")?;
    let verdict = match body.verdict {
        AnswerVerdict::Approve => Verdict::Approve,
        AnswerVerdict::Deny => Verdict::Deny,
    };
    let desk = Arc::clone(&console.desk);
    let approver = who.id.clone();
    let request_id = id.clone();
    let view = blocking(move || {
        if let Some(reviewed) = body.args_digest.as_deref() {
            // The digest is the request's own, which the desk checks against the ledger's
            // record of the held call before it records the answer.
            let held = desk.request(&request_id)?.ok_or(DeskError::NotFound)?;
            if held.args_digest != reviewed.trim() {
                return Err(DeskError::Refused(format!(
                    "request `{request_id}` holds other arguments than the ones you reviewed \
                     (their digest is `{}`); nothing was recorded",
                    held.args_digest
                )));
            }
        }
        desk.decide(&request_id, &approver, verdict, &reason)
    })
    .await
    .inspect_err(|e| {
        tracing::info!(approver = %who.id, request = %id, refusal = %e, "approver API: answer refused");
    })?;
    tracing::info!(approver = %who.id, request = %id, approve = verdict == Verdict::Approve, "approver API: answer recorded");
    Ok(axum::Json(view).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeBody {
    scope: String,
    reason: String,
}

async fn halt(
    State(console): State<AppState>,
    who: ApiApprover,
    Body(body): Body<ScopeBody>,
) -> Result<Response, ApiError> {
    let reason = reason(&body.reason, "reason")?;
    let desk = Arc::clone(&console.desk);
    let (scope, approver) = (body.scope.clone(), who.id.clone());
    let set = blocking(move || desk.halt(&scope, &approver, &reason)).await?;
    tracing::info!(approver = %who.id, scope = %body.scope, set, "approver API: halt");
    Ok(axum::Json(json!({"scope": body.scope, "set": set})).into_response())
}

async fn resume(
    State(console): State<AppState>,
    who: ApiApprover,
    Body(body): Body<ScopeBody>,
) -> Result<Response, ApiError> {
    let reason = reason(&body.reason, "reason")?;
    let desk = Arc::clone(&console.desk);
    let (scope, approver) = (body.scope.clone(), who.id.clone());
    let resumed = blocking(move || desk.resume(&scope, &approver, &reason)).await?;
    tracing::info!(approver = %who.id, scope = %resumed.scope, "approver API: resumed");
    Ok(axum::Json(resumed).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClearBody {
    agent: String,
    /// The newest record in force as the approver was shown it.
    record: TaintRecord,
    reason: String,
}

async fn clear_taint(
    State(console): State<AppState>,
    who: ApiApprover,
    Body(body): Body<ClearBody>,
) -> Result<Response, ApiError> {
    if body.agent.trim().is_empty() {
        return Err(ApiError::unfit("name the agent whose taint to clear"));
    }
    let reason = reason(&body.reason, "reason")?;
    let desk = Arc::clone(&console.desk);
    let (agent, approver, record) = (body.agent.clone(), who.id.clone(), body.record);
    let cleared = blocking(move || desk.clear_taint(&agent, record, &approver, &reason)).await?;
    tracing::info!(approver = %who.id, agent = %body.agent, cleared = cleared.is_some(), "approver API: taint clear");
    Ok(axum::Json(json!({"agent": body.agent, "cleared": cleared})).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictBody {
    verdict: String,
    note: String,
}

async fn verdict(
    State(console): State<AppState>,
    who: ApiApprover,
    Path(index): Path<u64>,
    Body(body): Body<VerdictBody>,
) -> Result<Response, ApiError> {
    let Some(judgement) = Judgement::parse(&body.verdict) else {
        return Err(ApiError::unfit("the verdict is `correct` or `wrong`"));
    };
    let note = reason(&body.note, "note (what did you check?)")?;
    let desk = Arc::clone(&console.desk);
    let reviewer = who.id.clone();
    let (recorded, review) = blocking(move || {
        let recorded = desk.record_verdict(index, &reviewer, judgement, &note)?;
        Ok((recorded, desk.review(index)?))
    })
    .await?;
    tracing::info!(reviewer = %who.id, decision = index, leaf = recorded.index, "approver API: review verdict recorded");
    Ok(axum::Json(json!({
        "index": recorded.index,
        "decision_index": index,
        "judgement": recorded.judgement.as_str(),
        "reviewer": recorded.reviewer,
        "decision": review.map(|r| r.decision),
    }))
    .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedactBody {
    reason: String,
    /// On whose request (the data-protection officer, say); recorded.
    #[serde(default)]
    requested_by: Option<String>,
}

async fn redact(
    State(console): State<AppState>,
    who: ApiApprover,
    Path(index): Path<u64>,
    Body(body): Body<RedactBody>,
) -> Result<Response, ApiError> {
    let reason = reason(&body.reason, "reason")?;
    if body
        .requested_by
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(ApiError::unfit(format!(
            "`requested_by` is longer than {MAX_REASON_CHARS} characters"
        )));
    }
    let desk = Arc::clone(&console.desk);
    let approver = who.id.clone();
    let redacted =
        blocking(move || desk.redact(index, &approver, &reason, body.requested_by.as_deref()))
            .await?;
    tracing::info!(approver = %who.id, leaf = index, recorded = redacted.recorded, "approver API: leaf redacted");
    Ok(axum::Json(redacted).into_response())
}
