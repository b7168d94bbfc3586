//! The HTTP edge: extract, check, call the desk on a blocking task, render.
//!
//! Checks run in a fixed order that the handler signatures make visible: the session (a
//! [`SignedIn`] extractor that runs before any body is read: GET without one redirects to the
//! sign-in page, anything else is 401), then the CSRF token (403, nothing happens), then the
//! form's content, and only then the desk. Desk failures are classified once in `desk_problem`:
//! a refusal is shown as written, an internal failure is logged and shown as a generic line.

use crate::auth::{self, Confirmed, Sessions, SignedIn};
use crate::config::ApproverLogin;
use crate::desk::{ApprovalDesk, DecisionQuery, DeskError, PendingQuery, RequestView};
use crate::pages::{self, Filters, Frame, Message, TaintNote};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Router};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use warden_core::{Judgement, TaintRecord, Verdict};

/// Longest reason accepted, in characters.
pub(crate) const MAX_REASON_CHARS: usize = 2000;
/// Longest secret tried; longer ones are refused like any wrong one.
pub(crate) const MAX_SECRET_BYTES: usize = 1024;
const DEFAULT_DECISIONS: usize = 100;
const MAX_DECISIONS: usize = 1000;
/// Most pending requests listed on one page; the rest are counted, and filters find them.
pub(crate) const MAX_PENDING_ROWS: usize = 200;
/// Longest filter value accepted; a longer one matches nothing anyone typed.
pub(crate) const MAX_FILTER_CHARS: usize = 200;
const LOGIN_FAILED: &str = "wrong approver or password";
const SESSION_UNAVAILABLE: &str =
    "signed in, but the session cannot be stored right now; try again in a moment";
const SESSION_FAILED: &str =
    "signed in, but the session cannot be stored; tell the warden operator";
/// How long a browser is asked to wait after warden's store failed transiently (503): about
/// how long the PostgreSQL pool waits for a connection.
pub(crate) const RETRY_AFTER_SECS: u64 = 5;

pub(crate) struct Console {
    pub desk: Arc<dyn ApprovalDesk>,
    pub approvers: Arc<[ApproverLogin]>,
    /// Digests of the secrets that authenticate agents: never a sign-in.
    pub agent_tokens: Arc<[[u8; 32]]>,
    pub sessions: Sessions,
    /// The mount point without a trailing slash (`/console`, or empty at the root).
    pub base: String,
    pub secure_cookies: bool,
    pub ttl: Duration,
    pub sign_ins: Arc<crate::signin::SignInGate>,
}

impl Console {
    /// The pending page's address.
    fn home(&self) -> String {
        if self.base.is_empty() {
            "/".to_string()
        } else {
            self.base.clone()
        }
    }

    fn frame<'a>(&'a self, who: &'a SignedIn) -> Frame<'a> {
        Frame {
            base: &self.base,
            who,
            now_ms: now_ms(),
        }
    }
}

pub(crate) type AppState = Arc<Console>;

/// The largest form the sign-in page takes: an approver id and a secret of at most
/// [`MAX_SECRET_BYTES`] each, percent-encoded. Anyone can post it without a session, so what
/// the connection cap lets them hold is this times the cap, not the framework's 2 MB each.
const LOGIN_BODY_BYTES: usize = 8 * 1024;
/// The largest form any other page takes: a reason of [`MAX_REASON_CHARS`] characters,
/// percent-encoded, and the form's other fields.
const FORM_BODY_BYTES: usize = 32 * 1024;

pub(crate) fn routes(state: AppState) -> Router {
    use axum::extract::DefaultBodyLimit;
    use axum::routing::{get, post};
    Router::new()
        .route(
            "/login",
            get(login_form)
                .post(login)
                .layer(DefaultBodyLimit::max(LOGIN_BODY_BYTES)),
        )
        .route("/logout", post(logout))
        .route("/", get(pending))
        .route("/requests/{id}", get(request_page))
        .route("/requests/{id}/decide", post(decide))
        .route("/decisions", get(decisions))
        .route("/review", get(review_jump))
        .route("/review/{index}", get(review_page).post(review_verdict))
        .route("/sessions/{id}", get(trail))
        .route("/taint", get(taint_page))
        .route("/taint/clear", post(clear_taint))
        .layer(DefaultBodyLimit::max(FORM_BODY_BYTES))
        .nest("/api", crate::api::routes())
        .layer(axum::middleware::from_fn(refuse_cross_site))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// No session behind the request.
pub(crate) enum NotSignedIn {
    /// A page view: go and sign in.
    Redirect(String),
    /// Anything that would change state: refuse.
    Unauthorized,
    /// The shared session table cannot be read for now: 503 with `Retry-After`, rather than
    /// a sign-in page that cannot store a session either.
    Unavailable,
    /// The shared session table failed in a way trying again does not mend: 500.
    Failed,
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            Self::Redirect(to) => Redirect::to(&to).into_response(),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                Html("<!doctype html><p>sign in first</p>"),
            )
                .into_response(),
            Self::Unavailable => unavailable(Html(format!(
                "<!doctype html><p>warden's store is unavailable for now, so your session \
                 cannot be read. Try again in {RETRY_AFTER_SECS} s</p>"
            ))),
            Self::Failed => (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><p>your session cannot be read; tell the warden operator</p>"),
            )
                .into_response(),
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, NotSignedIn> {
        let found = match auth::session_cookie(&parts.headers) {
            Some(cookie) => {
                let state = Arc::clone(state);
                let found = tokio::task::spawn_blocking(move || state.sessions.find(&cookie))
                    .await
                    .unwrap_or_else(|e| {
                        Err(DeskError::Internal(format!("session task failed: {e}")))
                    });
                match found {
                    Ok(found) => found,
                    Err(error) => {
                        tracing::error!(%error, "console: the session table cannot be read");
                        return Err(match error {
                            DeskError::Unavailable(_) => NotSignedIn::Unavailable,
                            _ => NotSignedIn::Failed,
                        });
                    }
                }
            }
            None => None,
        };
        found.ok_or_else(|| {
            if parts.method == Method::GET || parts.method == Method::HEAD {
                NotSignedIn::Redirect(format!("{}/login", state.base))
            } else {
                NotSignedIn::Unauthorized
            }
        })
    }
}

async fn security_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let set = [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in set {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Runs a desk call off the async runtime.
pub(crate) async fn blocking<T: Send + 'static>(
    call: impl FnOnce() -> Result<T, DeskError> + Send + 'static,
) -> Result<T, DeskError> {
    tokio::task::spawn_blocking(call)
        .await
        .unwrap_or_else(|e| Err(DeskError::Internal(format!("desk task failed: {e}"))))
}

/// The one place a desk error becomes a page.
fn desk_problem(console: &Console, who: &SignedIn, e: DeskError) -> Response {
    let f = console.frame(who);
    let (status, title, message) = match e {
        DeskError::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found",
            "no such request".to_string(),
        ),
        DeskError::Refused(m) => (StatusCode::CONFLICT, "Refused", m),
        DeskError::BadCursor(m) => (
            StatusCode::BAD_REQUEST,
            "Bad page link",
            format!("{m}; open the list again from its first page"),
        ),
        DeskError::Internal(detail) => {
            tracing::error!(%detail, "console: approval desk failure");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "the approval desk failed; tell the warden operator (trying again will not help \
                 until they act)"
                    .to_string(),
            )
        }
        DeskError::Unavailable(detail) => {
            tracing::error!(%detail, "console: approval desk unavailable");
            let page = pages::problem(
                &f,
                "Unavailable for now",
                &format!(
                    "warden's store is unavailable for now. Try again in {RETRY_AFTER_SECS} s"
                ),
            );
            return unavailable(Html(page));
        }
    };
    (status, Html(pages::problem(&f, title, &message))).into_response()
}

/// 503 with `Retry-After`: warden's store failed transiently.
fn unavailable(body: impl IntoResponse) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS))],
        body,
    )
        .into_response()
}

async fn login_form(State(console): State<AppState>) -> Html<String> {
    Html(pages::login(&console.base, None))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    approver: String,
    #[serde(default)]
    password: String,
}

async fn login(State(console): State<AppState>, Form(form): Form<LoginForm>) -> Response {
    let failed = |status: StatusCode, message: &str| {
        (status, Html(pages::login(&console.base, Some(message)))).into_response()
    };
    if form.password.len() > MAX_SECRET_BYTES || form.approver.len() > MAX_SECRET_BYTES {
        return failed(StatusCode::UNAUTHORIZED, LOGIN_FAILED);
    }
    let attempted = form.approver.clone();
    let by_token = auth::check_token(
        &console.approvers,
        &console.agent_tokens,
        &form.approver,
        &form.password,
    )
    .cloned();
    let checked = match by_token {
        // A token cannot be guessed: the lock, which guards passwords, never keeps its holder out.
        Some(approver) => Ok(Some(approver)),
        None => {
            let slot = match console.sign_ins.admit(&form.approver).await {
                Ok(slot) => slot,
                Err(crate::signin::NotChecked::Locked(left)) => {
                    tracing::warn!(approver = ?form.approver, "console: sign-in refused, account locked");
                    let minutes = left.as_secs().div_ceil(60).max(1);
                    return failed(
                        StatusCode::TOO_MANY_REQUESTS,
                        &format!(
                            "this account is locked after repeated failed sign-ins; try again in {minutes} min, or sign in with your token, which the lock does not stop"
                        ),
                    );
                }
                Err(crate::signin::NotChecked::Busy) => {
                    return failed(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too many sign-in attempts for this account; try again in a moment",
                    );
                }
            };
            let approvers = Arc::clone(&console.approvers);
            let agent_tokens = Arc::clone(&console.agent_tokens);
            let checked = tokio::task::spawn_blocking(move || {
                let _slot = slot;
                auth::check_login(&approvers, &agent_tokens, &form.approver, &form.password)
                    .cloned()
            })
            .await;
            if let Ok(result) = &checked {
                console.sign_ins.record(&attempted, result.is_some());
            }
            checked
        }
    };
    match checked {
        Ok(Some(approver)) => {
            let id = approver.id.clone();
            let sessions = Arc::clone(&console);
            let started =
                tokio::task::spawn_blocking(move || sessions.sessions.start(&approver)).await;
            let started = started
                .unwrap_or_else(|e| Err(DeskError::Internal(format!("session task failed: {e}"))));
            let cookie = match started {
                Ok(cookie) => cookie,
                Err(error) => {
                    tracing::error!(%error, "console: cannot store the session");
                    return match error {
                        DeskError::Unavailable(_) => unavailable(Html(pages::login(
                            &console.base,
                            Some(SESSION_UNAVAILABLE),
                        ))),
                        _ => failed(StatusCode::INTERNAL_SERVER_ERROR, SESSION_FAILED),
                    };
                }
            };
            tracing::info!(approver = %id, "console: signed in");
            let set = auth::set_cookie(
                Some(&cookie),
                &console.home(),
                console.ttl,
                console.secure_cookies,
            );
            ([(header::SET_COOKIE, set)], Redirect::to(&console.home())).into_response()
        }
        Ok(None) => {
            tracing::info!(approver = ?attempted, "console: sign-in refused");
            failed(StatusCode::UNAUTHORIZED, LOGIN_FAILED)
        }
        Err(e) => {
            tracing::error!(error = %e, "console: sign-in check failed");
            failed(StatusCode::INTERNAL_SERVER_ERROR, LOGIN_FAILED)
        }
    }
}

/// Whether a browser sent this request from the console's own pages. The sign-in form has no
/// session, so no CSRF token: without this check a page on another site could post its own
/// approver's secret and sign the reader's browser in as that approver (login CSRF), and the
/// reader's answers would then be recorded under the other name. A browser says where a
/// request comes from in `Sec-Fetch-Site`, and in `Origin` on every POST; either naming another
/// site refuses the request, as does an opaque (`null`) origin. A request with neither header
/// comes from a program, not a browser a page can drive, and is let through.
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or_default());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        return true;
    };
    let Some(host) = text(header::HOST.as_str()) else {
        return false;
    };
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    authority.is_some_and(|a| !host.is_empty() && a.eq_ignore_ascii_case(host))
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// Refuses a form posted from another site, whatever it carries: every POST of the console
/// (answers, verdicts, taint clears, sign-in and out) comes from its own pages. The CSRF token
/// already binds each answer to the signed-in session; this holds too where the token would
/// not (the sign-in form has none).
async fn refuse_cross_site(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.method() == Method::POST && !same_origin(request.headers()) {
        tracing::warn!(path = %request.uri().path(), "console: a form posted from another site refused");
        return forged();
    }
    next.run(request).await
}

fn forged() -> Response {
    (
        StatusCode::FORBIDDEN,
        Html("<!doctype html><p>this form is stale or did not come from the console; reload the page and try again</p>"),
    )
        .into_response()
}

async fn logout(
    State(console): State<AppState>,
    who: SignedIn,
    Form(form): Form<CsrfForm>,
) -> Response {
    if who.confirm(&form.csrf).is_none() {
        return forged();
    }
    let sessions = Arc::clone(&console);
    let ended = {
        let who = who.clone();
        tokio::task::spawn_blocking(move || sessions.sessions.end(&who)).await
    };
    let ended =
        ended.unwrap_or_else(|e| Err(DeskError::Internal(format!("session task failed: {e}"))));
    if let Err(error) = ended {
        // The session would stay live for whoever holds a copy of the cookie: say so.
        tracing::error!(approver = %who.approver_id, %error, "console: cannot end the stored session");
        let page = Html(
            "<!doctype html><p>the session could not be ended right now, so you are still \
             signed in; go back and try again in a moment</p>",
        );
        return match error {
            DeskError::Unavailable(_) => unavailable(page),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, page).into_response(),
        };
    }
    tracing::info!(approver = %who.approver_id, "console: signed out");
    let clear = auth::set_cookie(None, &console.home(), console.ttl, console.secure_cookies);
    (
        [(header::SET_COOKIE, clear)],
        Redirect::to(&format!("{}/login", console.base)),
    )
        .into_response()
}

async fn pending(
    State(console): State<AppState>,
    who: SignedIn,
    Query(q): Query<FilterQuery>,
) -> Response {
    let filters = q.filters();
    let query = PendingQuery {
        agent: filters.agent.clone(),
        tool: filters.tool.clone(),
        category: filters.category.clone(),
        text: filters.text.clone(),
        limit: MAX_PENDING_ROWS,
        after: filters.after.clone(),
    };
    let desk = Arc::clone(&console.desk);
    match blocking(move || desk.pending(&query)).await {
        Ok(page) => Html(pages::pending(&console.frame(&who), &page, &filters)).into_response(),
        Err(e) => desk_problem(&console, &who, e),
    }
}

async fn fetch(console: &Console, id: String) -> Result<RequestView, DeskError> {
    let desk = Arc::clone(&console.desk);
    blocking(move || desk.request(&id))
        .await?
        .ok_or(DeskError::NotFound)
}

async fn request_page(
    State(console): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
) -> Response {
    match fetch(&console, id).await {
        Ok(r) => Html(pages::request(&console.frame(&who), &r, None, "")).into_response(),
        Err(e) => desk_problem(&console, &who, e),
    }
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(console): State<AppState>,
    who: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<DecideForm>,
) -> Response {
    let Some(confirmed) = who.confirm(&form.csrf) else {
        return forged();
    };
    let approve = match form.decision.as_str() {
        "approve" => true,
        "deny" => false,
        _ => return again(&console, &who, id, "choose approve or deny", &form.reason).await,
    };
    let reason = form.reason.trim();
    if reason.is_empty() {
        return again(&console, &who, id, "a reason is required", "").await;
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        return again(
            &console,
            &who,
            id,
            "the reason is longer than 2000 characters",
            reason,
        )
        .await;
    }
    answer(&console, confirmed, id, approve, reason.to_string()).await
}

/// Records an answer; reachable only with a [`Confirmed`] request.
async fn answer(
    console: &Console,
    confirmed: Confirmed<'_>,
    id: String,
    approve: bool,
    reason: String,
) -> Response {
    let who = confirmed.approver();
    let desk = Arc::clone(&console.desk);
    let approver = who.approver_id.clone();
    let request_id = id.clone();
    let draft = reason.clone();
    let result =
        blocking(move || desk.decide(&request_id, &approver, Verdict::from(approve), &reason))
            .await;
    match result {
        Ok(view) => {
            tracing::info!(approver = %who.approver_id, request = %id, approve, "console: answer recorded");
            let verb = if approve { "approval" } else { "denial" };
            let note = Message::Notice(format!(
                "your {verb} was recorded; the request is now {}",
                view.status
            ));
            Html(pages::request(&console.frame(who), &view, Some(&note), "")).into_response()
        }
        Err(DeskError::Refused(m)) => {
            tracing::info!(approver = %who.approver_id, request = %id, refusal = %m, "console: answer refused");
            match fetch(console, id).await {
                Ok(view) => {
                    let page = pages::request(
                        &console.frame(who),
                        &view,
                        Some(&Message::Refusal(m)),
                        &draft,
                    );
                    (StatusCode::CONFLICT, Html(page)).into_response()
                }
                Err(_) => desk_problem(console, who, DeskError::Refused(m)),
            }
        }
        Err(e) => desk_problem(console, who, e),
    }
}

/// The request page again, with a message about what to fix; the desk is not asked to decide.
async fn again(
    console: &Console,
    who: &SignedIn,
    id: String,
    message: &str,
    draft: &str,
) -> Response {
    match fetch(console, id).await {
        Ok(view) => {
            let note = Message::Refusal(message.to_string());
            let page = pages::request(&console.frame(who), &view, Some(&note), draft);
            (StatusCode::UNPROCESSABLE_ENTITY, Html(page)).into_response()
        }
        Err(e) => desk_problem(console, who, e),
    }
}

/// The filters of the pending and recent pages, as the form sends them (empty fields too).
#[derive(Deserialize, Default)]
struct FilterQuery {
    agent: Option<String>,
    tool: Option<String>,
    category: Option<String>,
    decision: Option<String>,
    q: Option<String>,
    limit: Option<usize>,
    /// Where the page starts: the `next` token of the page before.
    after: Option<String>,
}

impl FilterQuery {
    /// Blank fields are no filter; an over-long one is cut (it matches nothing either way).
    fn filters(self) -> Filters {
        let clean = |v: Option<String>| {
            v.map(|s| s.trim().chars().take(MAX_FILTER_CHARS).collect::<String>())
                .filter(|s| !s.is_empty())
        };
        Filters {
            agent: clean(self.agent),
            tool: clean(self.tool),
            category: clean(self.category),
            decision: clean(self.decision),
            text: clean(self.q),
            after: self.after.filter(|a| !a.is_empty()),
            limit: self
                .limit
                .unwrap_or(DEFAULT_DECISIONS)
                .clamp(1, MAX_DECISIONS),
        }
    }
}

async fn decisions(
    State(console): State<AppState>,
    who: SignedIn,
    Query(q): Query<FilterQuery>,
) -> Response {
    let filters = q.filters();
    let query = DecisionQuery {
        agent: filters.agent.clone(),
        tool: filters.tool.clone(),
        category: filters.category.clone(),
        decision: filters.decision.clone(),
        text: filters.text.clone(),
        limit: filters.limit,
        after: filters.after.clone(),
    };
    let desk = Arc::clone(&console.desk);
    match blocking(move || desk.recent_decisions(&query)).await {
        Ok(found) => Html(pages::decisions(&console.frame(&who), &found, &filters)).into_response(),
        Err(e) => desk_problem(&console, &who, e),
    }
}

#[derive(Deserialize)]
struct JumpQuery {
    #[serde(default)]
    index: String,
}

/// The "review decision #" box: on to that decision's review page.
async fn review_jump(
    State(console): State<AppState>,
    _who: SignedIn,
    Query(q): Query<JumpQuery>,
) -> Response {
    match q.index.trim().trim_start_matches('#').parse::<u64>() {
        Ok(index) => Redirect::to(&format!("{}/review/{index}", console.base)).into_response(),
        Err(_) => Redirect::to(&format!("{}/decisions", console.base)).into_response(),
    }
}

/// One decision, the verdicts on it and the verdict form; `status` and `note` for an answer.
async fn review_view(
    console: &Console,
    who: &SignedIn,
    index: u64,
    status: StatusCode,
    note: Option<&Message>,
    draft: &str,
) -> Response {
    let desk = Arc::clone(&console.desk);
    match blocking(move || desk.review(index)).await {
        Ok(Some(view)) => {
            let page = pages::review(&console.frame(who), &view, note, draft);
            (status, Html(page)).into_response()
        }
        Ok(None) => desk_problem(
            console,
            who,
            DeskError::Refused(format!("leaf {index} is not a decision in the ledger")),
        ),
        Err(e) => desk_problem(console, who, e),
    }
}

async fn review_page(
    State(console): State<AppState>,
    who: SignedIn,
    Path(index): Path<u64>,
) -> Response {
    review_view(&console, &who, index, StatusCode::OK, None, "").await
}

#[derive(Deserialize)]
struct VerdictForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    note: String,
}

/// A reviewer's verdict on a decision. Session, then CSRF, then the form; the desk decides
/// whether this reviewer may judge this decision.
async fn review_verdict(
    State(console): State<AppState>,
    who: SignedIn,
    Path(index): Path<u64>,
    Form(form): Form<VerdictForm>,
) -> Response {
    let Some(confirmed) = who.confirm(&form.csrf) else {
        return forged();
    };
    let unfit = StatusCode::UNPROCESSABLE_ENTITY;
    let Some(judgement) = Judgement::parse(&form.verdict) else {
        let note = Message::Refusal("choose correct or wrong".into());
        return review_view(&console, &who, index, unfit, Some(&note), &form.note).await;
    };
    let text = form.note.trim();
    if text.is_empty() {
        let note = Message::Refusal("a note is required: what did you check?".into());
        return review_view(&console, &who, index, unfit, Some(&note), "").await;
    }
    if text.chars().count() > MAX_REASON_CHARS {
        let note = Message::Refusal("the note is longer than 2000 characters".into());
        return review_view(&console, &who, index, unfit, Some(&note), text).await;
    }
    judge(&console, confirmed, index, judgement, text.to_string()).await
}

/// Records a verdict; reachable only with a [`Confirmed`] request.
async fn judge(
    console: &Console,
    confirmed: Confirmed<'_>,
    index: u64,
    judgement: Judgement,
    text: String,
) -> Response {
    let who = confirmed.approver();
    let desk = Arc::clone(&console.desk);
    let reviewer = who.approver_id.clone();
    let draft = text.clone();
    let result = blocking(move || desk.record_verdict(index, &reviewer, judgement, &text)).await;
    match result {
        Ok(v) => {
            tracing::info!(reviewer = %who.approver_id, decision = index, verdict = judgement.as_str(), leaf = v.index, "console: review verdict recorded");
            let note = Message::Notice(format!(
                "your verdict ({}) was recorded in the audit log as leaf {}",
                judgement.as_str(),
                v.index
            ));
            review_view(console, who, index, StatusCode::OK, Some(&note), "").await
        }
        Err(DeskError::Refused(m)) => {
            tracing::info!(reviewer = %who.approver_id, decision = index, refusal = %m, "console: review verdict refused");
            let note = Message::Refusal(m);
            review_view(
                console,
                who,
                index,
                StatusCode::FORBIDDEN,
                Some(&note),
                &draft,
            )
            .await
        }
        Err(e) => desk_problem(console, who, e),
    }
}

/// Which page of a list: the `next` token of the page before, or the first page without.
#[derive(Deserialize, Default)]
struct PageQuery {
    after: Option<String>,
}

impl PageQuery {
    fn after(self) -> Option<String> {
        self.after.filter(|a| !a.is_empty())
    }
}

async fn trail(
    State(console): State<AppState>,
    who: SignedIn,
    Path(session): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let desk = Arc::clone(&console.desk);
    let s = session.clone();
    let after = q.after();
    let later = after.is_some();
    match blocking(move || desk.session_trail(&s, after.as_deref())).await {
        Ok(page) => {
            Html(pages::trail(&console.frame(&who), &session, &page, later)).into_response()
        }
        Err(e) => desk_problem(&console, &who, e),
    }
}

async fn taint_page(
    State(console): State<AppState>,
    who: SignedIn,
    Query(q): Query<PageQuery>,
) -> Response {
    taint_list(&console, &who, StatusCode::OK, None, q.after()).await
}

/// A page of the tainted agents (the first without `after`), with `note` above them,
/// answered with `status`.
async fn taint_list(
    console: &Console,
    who: &SignedIn,
    status: StatusCode,
    note: Option<TaintNote<'_>>,
    after: Option<String>,
) -> Response {
    let desk = Arc::clone(&console.desk);
    let later = after.is_some();
    match blocking(move || desk.tainted_agents(after.as_deref())).await {
        Ok(agents) => {
            let page = pages::taint(&console.frame(who), &agents, note.as_ref(), later);
            (status, Html(page)).into_response()
        }
        Err(e) => desk_problem(console, who, e),
    }
}

#[derive(Deserialize)]
struct ClearTaintForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    agent: String,
    /// The newest record in force the page showed (`TaintView::record`).
    #[serde(default)]
    record: String,
    #[serde(default)]
    reason: String,
}

/// Clears an agent's taint early. The approver is the signed-in one; the form names the agent,
/// the record the page showed and the reason.
async fn clear_taint(
    State(console): State<AppState>,
    who: SignedIn,
    Form(form): Form<ClearTaintForm>,
) -> Response {
    let Some(confirmed) = who.confirm(&form.csrf) else {
        return forged();
    };
    let refuse = |message: &'static str, draft| TaintNote::Refusal {
        agent: &form.agent,
        message,
        draft,
    };
    let unfit = StatusCode::UNPROCESSABLE_ENTITY;
    if form.agent.is_empty() {
        let note = refuse("choose an agent whose taint to clear", "");
        return taint_list(&console, &who, unfit, Some(note), None).await;
    }
    let reason = form.reason.trim();
    if reason.is_empty() {
        let note = refuse("a reason is required to clear an agent's taint", "");
        return taint_list(&console, &who, unfit, Some(note), None).await;
    }
    if reason.chars().count() > MAX_REASON_CHARS {
        let note = refuse("the reason is longer than 2000 characters", reason);
        return taint_list(&console, &who, unfit, Some(note), None).await;
    }
    // A clear names what the page showed; without it there is nothing to hold the clear to.
    let Ok(record) = form.record.parse::<TaintRecord>() else {
        let note = refuse(
            "the form does not name the taint record shown; review the agent again",
            reason,
        );
        return taint_list(&console, &who, unfit, Some(note), None).await;
    };
    let request = ClearRequest {
        agent: form.agent.clone(),
        record,
        reason: reason.to_string(),
    };
    clear(&console, confirmed, request).await
}

/// A clear as the form asked it: the agent, the record the page showed, why.
struct ClearRequest {
    agent: String,
    record: TaintRecord,
    reason: String,
}

/// Asks the desk to record and clear; reachable only with a [`Confirmed`] request.
async fn clear(console: &Console, confirmed: Confirmed<'_>, request: ClearRequest) -> Response {
    let who = confirmed.approver();
    let desk = Arc::clone(&console.desk);
    let approver = who.approver_id.clone();
    let ClearRequest {
        agent,
        record,
        reason,
    } = request;
    let (target, draft) = (agent.clone(), reason.clone());
    let result = blocking(move || desk.clear_taint(&target, record, &approver, &reason)).await;
    match result {
        Ok(Some(cleared)) => {
            tracing::info!(approver = %who.approver_id, agent = %agent, records = cleared.records, "console: taint cleared");
            let note = TaintNote::Cleared(&cleared);
            taint_list(console, who, StatusCode::OK, Some(note), None).await
        }
        Ok(None) => {
            let note = TaintNote::NotInForce(&agent);
            taint_list(console, who, StatusCode::OK, Some(note), None).await
        }
        Err(DeskError::Refused(m)) => {
            tracing::info!(approver = %who.approver_id, agent = %agent, refusal = %m, "console: taint clear refused");
            let note = TaintNote::Refusal {
                agent: &agent,
                message: &m,
                draft: &draft,
            };
            taint_list(console, who, StatusCode::CONFLICT, Some(note), None).await
        }
        Err(e) => desk_problem(console, who, e),
    }
}
