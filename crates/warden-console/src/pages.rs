//! The pages, as pure functions from views to HTML: no I/O, no clock reads, no session table.
//!
//! Layout puts the raw call (what will actually run) on the left and the agent's story (its
//! rationale and the tool output it read) on the right under an "untrusted" banner, because an
//! approver should judge the call and treat the story as a claim. Every element a browser test
//! needs carries a `data-testid`.

use crate::auth::{CSRF_FIELD, SignedIn};
use crate::desk::{
    DecisionPage, DecisionView, Paged, PendingPage, RequestView, ReviewView, TaintCleared,
    TaintView,
};
use crate::html::{Html, path_segment, relative, timestamp};
use warden_core::{ApprovalStatus, Verdict};

/// What every signed-in page needs besides its content.
pub(crate) struct Frame<'a> {
    pub base: &'a str,
    pub who: &'a SignedIn,
    pub now_ms: i64,
}

/// A line shown above a request: an answer recorded, or a refusal.
pub(crate) enum Message {
    Notice(String),
    Refusal(String),
}

/// A line shown above the tainted agents. Agent names are the agent's text, so they are
/// rendered as untrusted, never folded into a plain message.
pub(crate) enum TaintNote<'a> {
    /// The desk recorded and cleared the agent's taint.
    Cleared(&'a TaintCleared),
    /// The agent had no taint in force; nothing was recorded or cleared.
    NotInForce(&'a str),
    /// The clear was refused; `draft` goes back into that agent's form.
    Refusal {
        agent: &'a str,
        message: &'a str,
        draft: &'a str,
    },
}

/// Longest argument text shown in a table cell before it is cut.
const CELL_CHARS: usize = 300;

/// The filters of the pending and recent pages, cleaned by the routes: `None` matches all.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Filters {
    pub agent: Option<String>,
    pub tool: Option<String>,
    pub category: Option<String>,
    /// Recent page only: `allow`, `hold`, `deny`.
    pub decision: Option<String>,
    /// Case-insensitive, anywhere in the request.
    pub text: Option<String>,
    pub limit: usize,
    /// Where the page starts (the desk's token from the page before); `None` for the first.
    pub after: Option<String>,
}

impl Filters {
    fn any(&self) -> bool {
        self.agent.is_some()
            || self.tool.is_some()
            || self.category.is_some()
            || self.decision.is_some()
            || self.text.is_some()
    }
}

const STYLE: &str = "<style>
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1f2937;color:#fff;padding:.6em 1.2em;display:flex;gap:1.2em;align-items:center}
header a{color:#fff}header .who{margin-left:auto}header form{margin:0}
main{padding:1em 1.2em;max-width:1400px}
h1{font-size:1.35em}h2{font-size:1.1em;margin-top:0}h3{font-size:1em;margin-bottom:.3em}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #d6d9de;padding:.3em .5em;text-align:left;vertical-align:top}
table.kv th{width:11em;background:#f0f2f5}
pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#fff;border:1px solid #d6d9de;padding:.5em;margin:.2em 0;max-height:32em;overflow:auto}
pre.whole{max-height:none}
code{overflow-wrap:anywhere}
td code,td .id{overflow-wrap:normal;word-break:normal}
td.id{white-space:nowrap}
td.args code,td.detail{overflow-wrap:break-word;word-break:break-word;min-width:14em}
.scroll{overflow-x:auto}
form.filters{display:flex;flex-wrap:wrap;gap:.6em;align-items:end;margin-bottom:1em}
form.filters label{display:flex;flex-direction:column;font-size:.85em}
form.filters input,form.filters select{font:inherit;padding:.2em .3em}
.fate{font-size:.85em;white-space:nowrap}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1.2em}
@media(max-width:900px){.cols{grid-template-columns:1fr}}
section{background:#fff;border:1px solid #d6d9de;padding:.8em 1em;margin-bottom:1em}
.untrusted{border:2px dashed #b45309;background:#fffbeb}
.label{display:inline-block;font-size:.8em;font-weight:600;padding:.1em .5em;border-radius:3px;background:#b45309;color:#fff}
.status{display:inline-block;font-weight:700;padding:.15em .6em;border-radius:3px;color:#fff;background:#6b7280}
.st-pending{background:#b45309}.st-approved,.st-executed,.d-allow{background:#047857;color:#fff}
.st-denied,.d-deny{background:#b91c1c;color:#fff}.d-hold{background:#b45309;color:#fff}
.notice{background:#ecfdf5;border:1px solid #047857;padding:.5em .8em}
.refusal{background:#fef2f2;border:1px solid #b91c1c;padding:.5em .8em;font-weight:600}
.findings li{color:#b91c1c}
textarea{width:100%;min-height:5em;font:inherit}
button{font:inherit;padding:.4em 1.2em;margin-right:.6em;cursor:pointer}
button.approve{background:#047857;color:#fff;border:0}button.deny{background:#b91c1c;color:#fff;border:0}
td form textarea{min-height:3em}
.muted{color:#6b7280}
.pager{margin:.8em 0;display:flex;gap:1.2em}
</style>";

fn document(title: &str, body: Html) -> String {
    let mut h = Html::new();
    h.raw("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .raw("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">")
        .raw("<title>")
        .text(title)
        .raw(" · warden approvals</title>")
        .raw(STYLE)
        .raw("</head><body>")
        .append(body)
        .raw("</body></html>");
    h.into_string()
}

fn header(f: &Frame<'_>) -> Html {
    let mut h = Html::new();
    h.raw("<header><strong>warden approvals</strong>")
        .raw("<a data-testid=\"nav-pending\" href=\"")
        .text(if f.base.is_empty() { "/" } else { f.base })
        .raw("\">Pending</a><a data-testid=\"nav-decisions\" href=\"")
        .text(f.base)
        .raw("/decisions\">Recent decisions</a><a data-testid=\"nav-taint\" href=\"")
        .text(f.base)
        .raw("/taint\">Tainted agents</a>")
        .raw("<span class=\"who\">Signed in as <strong data-testid=\"signed-in-as\">")
        .text(&f.who.approver_name)
        .raw("</strong> (<code>")
        .text(&f.who.approver_id)
        .raw("</code>)</span><form method=\"post\" action=\"")
        .text(f.base)
        .raw("/logout\">");
    csrf_input(&mut h, f.who);
    h.raw("<button type=\"submit\" data-testid=\"logout\">Sign out</button></form></header>");
    h
}

fn csrf_input(h: &mut Html, who: &SignedIn) {
    h.raw("<input type=\"hidden\" name=\"")
        .text(CSRF_FIELD)
        .raw("\" value=\"")
        .text(who.csrf())
        .raw("\">");
}

fn signed_in(f: &Frame<'_>, title: &str, content: Html) -> String {
    let mut body = header(f);
    body.raw("<main>").append(content).raw("</main>");
    document(title, body)
}

fn status_class(status: ApprovalStatus) -> &'static str {
    match status {
        ApprovalStatus::Pending => "status st-pending",
        ApprovalStatus::Approved => "status st-approved",
        ApprovalStatus::Executed => "status st-executed",
        ApprovalStatus::Denied => "status st-denied",
        ApprovalStatus::Expired => "status",
    }
}

fn decision_class(decision: &str) -> &'static str {
    match decision {
        "allow" => "status d-allow",
        "hold" => "status d-hold",
        "deny" => "status d-deny",
        _ => "status",
    }
}

fn request_href(h: &mut Html, base: &str, id: &str) {
    h.text(base).raw("/requests/").text(&path_segment(id));
}

fn session_link(h: &mut Html, base: &str, session: &str) {
    h.raw("<a data-testid=\"session-link\" href=\"")
        .text(base)
        .raw("/sessions/")
        .text(&path_segment(session))
        .raw("\"><code>")
        .untrusted(session)
        .raw("</code></a>");
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// The sign-in form, with the uniform error when a sign-in failed.
pub(crate) fn login(base: &str, error: Option<&str>) -> String {
    let mut h = Html::new();
    h.raw("<header><strong>warden approvals</strong></header><main><section style=\"max-width:26em\">")
        .raw("<h1>Sign in</h1>");
    if let Some(e) = error {
        h.raw("<p class=\"refusal\" role=\"alert\" data-testid=\"login-error\">")
            .text(e)
            .raw("</p>");
    }
    h.raw("<form method=\"post\" action=\"")
        .text(base)
        .raw("/login\" data-testid=\"login-form\">")
        .raw("<p><label for=\"approver\">Approver id</label><br>")
        .raw("<input id=\"approver\" name=\"approver\" autocomplete=\"username\" required data-testid=\"login-approver\"></p>")
        .raw("<p><label for=\"password\">Password or approver token</label><br>")
        .raw("<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required data-testid=\"login-password\"></p>")
        .raw("<p><button type=\"submit\" data-testid=\"login-submit\">Sign in</button></p></form></section></main>");
    document("Sign in", h)
}

/// A text box of the filter form, holding its current value.
fn filter_input(h: &mut Html, name: &'static str, label: &'static str, value: Option<&str>) {
    h.raw("<label>")
        .raw(label)
        .raw("<input name=\"")
        .raw(name)
        .raw("\" data-testid=\"filter-")
        .raw(name)
        .raw("\" value=\"")
        .text(value.unwrap_or_default())
        .raw("\"></label>");
}

/// The address of the recent page, or of the pending page (the console's home).
fn page_href(h: &mut Html, f: &Frame<'_>, decisions: bool) {
    if decisions {
        h.text(f.base).raw("/decisions");
    } else if f.base.is_empty() {
        h.raw("/");
    } else {
        h.text(f.base);
    }
}

/// The address of the pending or recent page with these filters, starting where `after`
/// says: the filters travel with the link, so the next page lists the same matches.
fn filtered_href(h: &mut Html, f: &Frame<'_>, filters: &Filters, decisions: bool, after: &str) {
    page_href(h, f, decisions);
    let limit = filters.limit.to_string();
    let fields: [(&'static str, Option<&str>); 6] = [
        ("agent", filters.agent.as_deref()),
        ("tool", filters.tool.as_deref()),
        ("category", filters.category.as_deref()),
        ("decision", filters.decision.as_deref()),
        ("q", filters.text.as_deref()),
        ("limit", decisions.then_some(limit.as_str())),
    ];
    h.raw("?");
    for (name, value) in fields {
        if let Some(v) = value {
            h.raw(name).raw("=").text(&path_segment(v)).raw("&amp;");
        }
    }
    h.raw("after=").text(&path_segment(after));
}

/// The link to the next page of a list, and back to the first when this is a later one.
/// `href` writes the next page's address.
fn next_links(
    h: &mut Html,
    next: Option<&str>,
    later: bool,
    label: &'static str,
    first: impl FnOnce(&mut Html),
    href: impl FnOnce(&mut Html, &str),
) {
    if next.is_none() && !later {
        return;
    }
    h.raw("<p class=\"pager\" data-testid=\"pager\">");
    if later {
        h.raw("<a data-testid=\"first-page\" href=\"");
        first(h);
        h.raw("\">First page</a> ");
    }
    if let Some(token) = next {
        h.raw("<a data-testid=\"next-page\" rel=\"next\" href=\"");
        href(h, token);
        h.raw("\">").raw(label).raw(" →</a>");
    } else {
        h.raw("<span class=\"muted\" data-testid=\"last-page\">(last page)</span>");
    }
    h.raw("</p>");
}

/// The pending or recent page's pager, its filters kept.
fn filtered_pager(
    h: &mut Html,
    f: &Frame<'_>,
    filters: &Filters,
    decisions: bool,
    next: Option<&str>,
    label: &'static str,
) {
    next_links(
        h,
        next,
        filters.after.is_some(),
        label,
        |h| {
            page_href(h, f, decisions);
        },
        |h, token| filtered_href(h, f, filters, decisions, token),
    );
}

/// The filter form of the pending (`decisions = false`) or recent page; a GET, so the filtered
/// page has an address to share.
fn filter_form(h: &mut Html, f: &Frame<'_>, filters: &Filters, decisions: bool) {
    h.raw("<form method=\"get\" class=\"filters\" data-testid=\"filters\" action=\"");
    page_href(h, f, decisions);
    h.raw("\">");
    filter_input(h, "agent", "Agent", filters.agent.as_deref());
    filter_input(h, "tool", "Tool (server.tool)", filters.tool.as_deref());
    filter_input(h, "category", "Category", filters.category.as_deref());
    if decisions {
        h.raw("<label>Decision<select name=\"decision\" data-testid=\"filter-decision\"><option value=\"\">any</option>");
        for d in ["allow", "hold", "deny"] {
            let selected = filters.decision.as_deref() == Some(d);
            h.raw("<option")
                .raw(if selected { " selected" } else { "" })
                .raw(">")
                .text(d)
                .raw("</option>");
        }
        h.raw("</select></label>");
    }
    filter_input(h, "q", "Search", filters.text.as_deref());
    h.raw("<button type=\"submit\" data-testid=\"filter-submit\">Filter</button>");
    if filters.any() {
        h.raw("<a data-testid=\"filter-clear\" href=\"");
        page_href(h, f, decisions);
        h.raw("\">Clear filters</a>");
    }
    h.raw("</form>");
}

/// Requests waiting for an answer, narrowed by `filters`: the desk searched every one.
pub(crate) fn pending(f: &Frame<'_>, page: &PendingPage, filters: &Filters) -> String {
    let mut h = Html::new();
    h.raw("<h1>Waiting for approval</h1>");
    if page.waiting == 0 && page.rows.is_empty() {
        h.raw("<p data-testid=\"pending-empty\">No held calls are waiting.</p>");
        return signed_in(f, "Pending", h);
    }
    filter_form(&mut h, f, filters, false);
    if page.rows.is_empty() {
        h.raw("<p data-testid=\"pending-none-match\">None of the ")
            .display(page.waiting)
            .raw(" waiting calls match these filters.</p>");
        return signed_in(f, "Pending", h);
    }
    if page.matched > page.rows.len() {
        h.raw("<p class=\"muted\" data-testid=\"pending-more\">Showing ")
            .display(page.rows.len())
            .raw(" of ")
            .display(page.matched)
            .raw(", oldest first; filter to find the others, or page on.</p>");
    }
    let shown = &page.rows;
    h.raw("<div class=\"scroll\"><table data-testid=\"pending-table\"><thead><tr><th>Requested</th><th>Action</th><th>Agent</th>")
        .raw("<th>Session</th><th>Category / stakes</th><th>Rule (owner)</th><th>Approvals</th><th>Expires</th></tr></thead><tbody>");
    for r in shown {
        let approvals = r
            .answers
            .iter()
            .filter(|a| a.verdict == Verdict::Approve)
            .count();
        h.raw("<tr data-testid=\"pending-row\" data-request-id=\"")
            .text(&r.id)
            .raw("\"><td>")
            .text(&timestamp(r.created_ms))
            .raw("</td><td class=\"id\" data-testid=\"cell-tool\"><a data-testid=\"pending-link\" href=\"");
        request_href(&mut h, f.base, &r.id);
        h.raw("\"><code>")
            .untrusted(&r.tool)
            .raw("</code></a></td><td class=\"id\"><code>")
            .untrusted(&r.principal)
            .raw("</code></td><td class=\"id\">");
        session_link(&mut h, f.base, &r.session);
        h.raw("</td><td>")
            .text(&r.category)
            .raw(" / ")
            .text(&r.stakes)
            .raw("</td><td><code>")
            .text(&r.rule)
            .raw("</code> (")
            .text(&r.owner)
            .raw(")</td><td>")
            .display(approvals)
            .raw(" of ")
            .display(r.approvals_needed)
            .raw("</td><td>")
            .text(&relative(r.expires_ms, f.now_ms))
            .raw("</td></tr>");
    }
    h.raw("</tbody></table></div>");
    filtered_pager(
        &mut h,
        f,
        filters,
        false,
        page.next.as_deref(),
        "Next (newer)",
    );
    signed_in(f, "Pending", h)
}

fn kv<'h>(h: &'h mut Html, label: &'static str, testid: &'static str) -> &'h mut Html {
    h.raw("<tr><th>")
        .raw(label)
        .raw("</th><td data-testid=\"")
        .raw(testid)
        .raw("\">")
}

/// One request: the call, the agent's story, the answers so far and the answer form.
pub(crate) fn request(
    f: &Frame<'_>,
    r: &RequestView,
    message: Option<&Message>,
    reason_draft: &str,
) -> String {
    let mut h = Html::new();
    h.raw("<h1>Held call: <code data-testid=\"request-tool\">")
        .untrusted(&r.tool)
        .raw("</code></h1><p>Status: <span data-testid=\"request-status\" data-status=\"")
        .text(r.status.as_str())
        .raw("\" class=\"")
        .raw(status_class(r.status))
        .raw("\">")
        .text(r.status.as_str())
        .raw("</span></p>");
    match message {
        Some(Message::Notice(m)) => {
            h.raw("<p class=\"notice\" role=\"status\" data-testid=\"notice\">")
                .text(m)
                .raw("</p>");
        }
        Some(Message::Refusal(m)) => {
            h.raw("<p class=\"refusal\" role=\"alert\" data-testid=\"refusal\">")
                .text(m)
                .raw("</p>");
        }
        None => {}
    }

    h.raw("<div class=\"cols\"><section data-testid=\"request-call\"><h2>The call that runs if approved</h2><table class=\"kv\">");
    kv(&mut h, "Action", "request-action")
        .raw("<code>")
        .untrusted(&r.tool)
        .raw("</code></td></tr>");
    kv(&mut h, "Agent", "request-principal")
        .raw("<code>")
        .untrusted(&r.principal)
        .raw("</code></td></tr>");
    kv(&mut h, "Session", "request-session");
    session_link(&mut h, f.base, &r.session);
    h.raw("</td></tr>");
    kv(&mut h, "Category", "request-category")
        .text(&r.category)
        .raw("</td></tr>");
    kv(&mut h, "Stakes", "request-stakes")
        .text(&r.stakes)
        .raw("</td></tr>");
    kv(&mut h, "Rule", "request-rule")
        .raw("<code>")
        .text(&r.rule)
        .raw("</code></td></tr>");
    kv(&mut h, "Rule owner", "request-owner")
        .text(&r.owner)
        .raw("</td></tr>");
    kv(&mut h, "Policy version", "request-policy-version")
        .raw("<code>")
        .text(&r.policy_version)
        .raw("</code></td></tr>");
    kv(&mut h, "Arguments digest", "request-digest")
        .raw("<code>")
        .text(&r.args_digest)
        .raw("</code></td></tr>");
    kv(&mut h, "Requested", "request-created")
        .text(&timestamp(r.created_ms))
        .raw("</td></tr>");
    kv(&mut h, "Expires", "request-expires")
        .text(&timestamp(r.expires_ms))
        .raw(" (")
        .text(&relative(r.expires_ms, f.now_ms))
        .raw(")</td></tr>");
    let approvals = r
        .answers
        .iter()
        .filter(|a| a.verdict == Verdict::Approve)
        .count();
    kv(&mut h, "Approvals", "request-approvals")
        .display(approvals)
        .raw(" of ")
        .display(r.approvals_needed)
        .raw(if r.approvals_needed > 1 {
            " (two different people)"
        } else {
            ""
        })
        .raw("</td></tr>");
    kv(&mut h, "Reversible", "request-reversible");
    match r.reversible {
        Some(true) => {
            h.raw("<span data-reversible=\"yes\">yes</span>");
        }
        Some(false) => {
            h.raw("<strong data-reversible=\"no\">no: its effect cannot be undone</strong>");
        }
        None => {
            h.raw("<span class=\"muted\" data-reversible=\"unknown\">unknown: the tool is no longer configured</span>");
        }
    }
    if let Some(undo) = &r.undo {
        h.raw("<br><span data-testid=\"request-undo\">Undo: ")
            .text(undo)
            .raw("</span>");
    }
    h.raw("</td></tr></table>");
    targets(&mut h, r);
    let args = serde_json::to_string_pretty(&r.args).unwrap_or_else(|_| r.args.to_string());
    h.raw("<h3>Arguments, exactly as they will be forwarded</h3>")
        .raw("<p><span class=\"label\">untrusted</span> written by the agent</p>");
    // Every argument's name first, with the size of its value: the agent orders the keys, and a
    // long value first must not push the one that matters out of sight.
    if let Some(map) = r.args.as_object() {
        h.raw("<p data-testid=\"request-arg-names\">")
            .text(&format!("{} argument(s): ", map.len()));
        for (i, (name, value)) in map.iter().enumerate() {
            if i > 0 {
                h.raw(", ");
            }
            let size = value.to_string().chars().count();
            h.raw("<code>")
                .untrusted(name)
                .raw("</code>")
                .text(&format!(" ({size} characters)"));
        }
        h.raw("</p>");
    }
    h.raw("<pre class=\"whole\" data-testid=\"request-args\">")
        .untrusted(&args)
        .raw("</pre></section>");

    h.raw("<section class=\"untrusted\" data-testid=\"request-evidence\"><h2>What the agent relied on</h2>")
        .raw("<p data-testid=\"untrusted-warning\"><span class=\"label\">untrusted</span> This text came from the agent ")
        .raw("and from tool output. It may contain instructions aimed at you: judge the call on the left, ")
        .raw("and treat this as a claim to check.</p><h3>The agent's rationale</h3>");
    match &r.rationale {
        Some(text) => {
            h.raw("<pre data-testid=\"request-rationale\">")
                .untrusted(text)
                .raw("</pre>");
        }
        None => {
            h.raw("<p class=\"muted\" data-testid=\"request-rationale\">The agent gave none.</p>");
        }
    }
    h.raw("<h3>Tool output it read in this session (")
        .display(r.evidence.len())
        .raw(")</h3>");
    if r.evidence.is_empty() {
        h.raw("<p class=\"muted\">None recorded.</p>");
    } else {
        h.raw("<ol>");
        for e in &r.evidence {
            h.raw("<li data-testid=\"evidence-item\"><span class=\"muted\">audit #")
                .display(e.index)
                .raw("</span> <code>")
                .untrusted(&e.tool)
                .raw("</code><pre>")
                .untrusted(&e.summary)
                .raw("</pre>");
            if !e.findings.is_empty() {
                h.raw("<ul class=\"findings\" data-testid=\"evidence-findings\">");
                for finding in &e.findings {
                    h.raw("<li>").untrusted(finding).raw("</li>");
                }
                h.raw("</ul>");
            }
            h.raw("</li>");
        }
        h.raw("</ol>");
    }
    h.raw("</section></div>");

    h.raw("<section data-testid=\"request-answers\"><h2>Answers</h2>");
    if r.answers.is_empty() {
        h.raw("<p class=\"muted\">No one has answered yet.</p>");
    } else {
        h.raw("<table><thead><tr><th>When</th><th>Approver</th><th>Answer</th><th>Reason</th></tr></thead><tbody>");
        for a in &r.answers {
            h.raw("<tr data-testid=\"answer-row\"><td>")
                .text(&timestamp(a.at_ms))
                .raw("</td><td><code>")
                .text(&a.approver)
                .raw("</code></td><td>")
                .raw(match a.verdict {
                    Verdict::Approve => "approve",
                    Verdict::Deny => "deny",
                })
                .raw("</td><td>")
                .text(&a.reason)
                .raw("</td></tr>");
        }
        h.raw("</tbody></table>");
    }
    h.raw("</section>");

    if r.status == ApprovalStatus::Pending {
        h.raw("<section><h2>Your answer</h2><form method=\"post\" action=\"");
        request_href(&mut h, f.base, &r.id);
        h.raw("/decide\" data-testid=\"decide-form\">");
        csrf_input(&mut h, f.who);
        h.raw("<p><label for=\"reason\">Reason (required; recorded in the audit log with your id)</label>")
            .raw("<textarea id=\"reason\" name=\"reason\" required maxlength=\"2000\" data-testid=\"reason\">")
            .text(reason_draft)
            .raw("</textarea></p><p>")
            .raw("<button type=\"submit\" name=\"decision\" value=\"approve\" class=\"approve\" data-testid=\"approve\">Approve</button>")
            .raw("<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"deny\" data-testid=\"deny\">Deny</button>")
            .raw("</p></form></section>");
    }
    signed_in(f, &format!("Request {}", r.id), h)
}

/// What the arguments name, as the inventory describes it: the approver sees which host,
/// user or incident the call acts on, not only its id.
fn targets(h: &mut Html, r: &RequestView) {
    if r.targets.is_empty() {
        return;
    }
    h.raw("<h3>The target, as the inventory describes it</h3>");
    for t in &r.targets {
        h.raw("<table class=\"kv\" data-testid=\"request-target\" data-argument=\"")
            .text(&t.argument)
            .raw("\"><tr><th>")
            .text(&t.entity_type)
            .raw(" (<code>")
            .text(&t.argument)
            .raw("</code>)</th><td><code data-testid=\"target-id\">")
            .untrusted(&t.id)
            .raw("</code></td></tr>");
        match &t.attributes {
            None => {
                h.raw("<tr><td colspan=\"2\" class=\"refusal\" data-testid=\"target-unknown\">The inventory does not know this ")
                    .text(&t.entity_type)
                    .raw(".</td></tr>");
            }
            Some(attributes) => {
                for (name, value) in attributes {
                    h.raw("<tr data-testid=\"target-attribute\" data-name=\"")
                        .text(name)
                        .raw("\"><th>")
                        .text(name)
                        .raw("</th><td><code>")
                        .untrusted(value)
                        .raw("</code></td></tr>");
                }
            }
        }
        h.raw("</table>");
    }
}

/// How a decision row's call ended, after the policy's decision: `hold → approved → executed`.
fn fate(h: &mut Html, d: &DecisionView) {
    if d.steps.is_empty() {
        if d.decision.as_deref() == Some("hold") {
            h.raw("<div class=\"fate muted\" data-testid=\"decision-fate\">waiting or unanswered</div>");
        }
        return;
    }
    h.raw("<div class=\"fate\" data-testid=\"decision-fate\">");
    for (i, step) in d.steps.iter().enumerate() {
        if i > 0 {
            h.raw(" ");
        }
        h.raw("→ <span class=\"")
            .raw(match step.as_str() {
                "approved" => "status st-approved",
                "executed" => "status st-executed",
                "denied" => "status st-denied",
                _ => "status",
            })
            .raw("\">")
            .text(step)
            .raw("</span>");
    }
    h.raw("</div>");
}

fn events_table(h: &mut Html, base: &str, rows: &[DecisionView], testid: &'static str) {
    h.raw("<div class=\"scroll\"><table><thead><tr><th>#</th><th>Time</th><th>Event</th><th>Decision</th><th>Action</th>")
        .raw("<th>Agent</th><th>Session</th><th>Rule (owner)</th><th>Arguments <span class=\"label\">untrusted</span></th><th>Detail</th></tr></thead><tbody>");
    for d in rows {
        h.raw("<tr data-testid=\"")
            .raw(testid)
            .raw("\" data-index=\"")
            .display(d.index)
            .raw("\"><td>")
            .display(d.index);
        if d.kind == "decision" {
            h.raw("<br><a data-testid=\"review-link\" href=\"")
                .text(base)
                .raw("/review/")
                .display(d.index)
                .raw("\">review</a>");
        }
        h.raw("</td><td>")
            .text(&timestamp(d.time_ms))
            .raw("</td><td>")
            .text(&d.kind)
            .raw("</td><td class=\"id\" data-testid=\"cell-decision\">");
        if let Some(decision) = &d.decision {
            h.raw("<span class=\"")
                .raw(decision_class(decision))
                .raw("\">")
                .text(decision)
                .raw("</span>");
        }
        fate(h, d);
        h.raw("</td><td class=\"id\" data-testid=\"cell-tool\"><code>")
            .untrusted(&d.tool)
            .raw("</code></td><td class=\"id\"><code>")
            .untrusted(&d.principal)
            .raw("</code></td><td class=\"id\">");
        session_link(h, base, &d.session);
        h.raw("</td><td>");
        if let Some(rule) = &d.rule {
            h.raw("<code>").text(rule).raw("</code>");
        }
        if let Some(owner) = &d.owner {
            h.raw(" (").text(owner).raw(")");
        }
        h.raw("</td><td class=\"args\"><code>")
            .untrusted(&cut(&d.args.to_string(), CELL_CHARS))
            .raw("</code></td><td class=\"detail\">")
            .untrusted(&d.detail)
            .raw("</td></tr>");
    }
    h.raw("</tbody></table></div>");
}

/// The latest decisions across all agents, narrowed by `filters`.
pub(crate) fn decisions(f: &Frame<'_>, found: &DecisionPage, filters: &Filters) -> String {
    let mut h = Html::new();
    h.raw("<h1>Recent decisions</h1>");
    filter_form(&mut h, f, filters, true);
    h.raw("<form method=\"get\" class=\"filters\" data-testid=\"review-jump\" action=\"")
        .text(f.base)
        .raw("/review\"><label>Review decision # (from <code>warden review sample</code>)<input name=\"index\" inputmode=\"numeric\" data-testid=\"review-jump-index\"></label><button type=\"submit\">Open</button></form>");
    if found.rows.is_empty() {
        if filters.any() {
            h.raw("<p data-testid=\"decisions-empty\">No decision matches these filters");
        } else {
            h.raw("<p data-testid=\"decisions-empty\">No decisions recorded yet");
        }
        h.raw(" (searched the latest ")
            .display(found.searched)
            .raw(").</p>");
    } else {
        events_table(&mut h, f.base, &found.rows, "decision-row");
    }
    if found.truncated {
        h.raw("<p class=\"muted\" data-testid=\"decisions-truncated\">This page's search read ")
            .display(found.searched)
            .raw(" decisions; older ones were not searched. Narrow by agent, tool or decision, or page on to search further back.</p>");
    }
    filtered_pager(&mut h, f, filters, true, found.next.as_deref(), "Older");
    signed_in(f, "Recent decisions", h)
}

/// One decision under review: what was decided, the verdicts so far, and the verdict form.
pub(crate) fn review(
    f: &Frame<'_>,
    v: &ReviewView,
    message: Option<&Message>,
    note_draft: &str,
) -> String {
    let d = &v.decision;
    let mut h = Html::new();
    h.raw("<h1>Review decision #<span data-testid=\"review-index\">")
        .display(d.index)
        .raw("</span></h1>");
    match message {
        Some(Message::Notice(m)) => {
            h.raw("<p class=\"notice\" role=\"status\" data-testid=\"notice\">")
                .text(m)
                .raw("</p>");
        }
        Some(Message::Refusal(m)) => {
            h.raw("<p class=\"refusal\" role=\"alert\" data-testid=\"refusal\">")
                .text(m)
                .raw("</p>");
        }
        None => {}
    }
    h.raw("<section data-testid=\"review-decision\"><table class=\"kv\">");
    kv(&mut h, "Time", "review-time")
        .text(&timestamp(d.time_ms))
        .raw("</td></tr>");
    kv(&mut h, "Decision", "review-decision-value");
    if let Some(decision) = &d.decision {
        h.raw("<span class=\"")
            .raw(decision_class(decision))
            .raw("\">")
            .text(decision)
            .raw("</span>");
    }
    fate(&mut h, d);
    h.raw("</td></tr>");
    kv(&mut h, "Action", "review-tool")
        .raw("<code>")
        .untrusted(&d.tool)
        .raw("</code></td></tr>");
    kv(&mut h, "Agent", "review-agent")
        .raw("<code>")
        .untrusted(&d.principal)
        .raw("</code></td></tr>");
    kv(&mut h, "Session", "review-session");
    session_link(&mut h, f.base, &d.session);
    h.raw("</td></tr>");
    kv(&mut h, "Category", "review-category")
        .text(d.category.as_deref().unwrap_or("none"))
        .raw("</td></tr>");
    kv(&mut h, "Rule (owner)", "review-rule");
    if let Some(rule) = &d.rule {
        h.raw("<code>").text(rule).raw("</code>");
    }
    if let Some(owner) = &d.owner {
        h.raw(" (").text(owner).raw(")");
    }
    h.raw("</td></tr>");
    kv(&mut h, "Reason", "review-detail")
        .untrusted(&d.detail)
        .raw("</td></tr></table>");
    let args = serde_json::to_string_pretty(&d.args).unwrap_or_else(|_| d.args.to_string());
    h.raw("<h3>Arguments <span class=\"label\">untrusted</span></h3><pre data-testid=\"review-args\">")
        .untrusted(&args)
        .raw("</pre></section>");

    h.raw("<section data-testid=\"review-verdicts\"><h2>Verdicts</h2>");
    if v.verdicts.is_empty() {
        h.raw("<p class=\"muted\">No one has reviewed this decision yet.</p>");
    } else {
        h.raw("<table><thead><tr><th>When</th><th>Reviewer</th><th>Verdict</th><th>Note</th><th>Leaf</th></tr></thead><tbody>");
        for x in &v.verdicts {
            h.raw("<tr data-testid=\"verdict-row\"><td>")
                .text(&timestamp(x.at_ms))
                .raw("</td><td><code>")
                .text(&x.reviewer)
                .raw("</code></td><td data-testid=\"verdict-value\">")
                .text(x.judgement.as_str())
                .raw("</td><td>")
                .text(&x.note)
                .raw("</td><td>")
                .display(x.index)
                .raw("</td></tr>");
        }
        h.raw("</tbody></table>");
    }
    h.raw("</section>");

    h.raw("<section><h2>Your verdict</h2><p class=\"muted\">Was the policy right to decide this way? ")
        .raw("Your verdict counts toward this category's error rate (<code>warden review report</code>); ")
        .raw("only approvers of the decision's category may give one.</p><form method=\"post\" action=\"")
        .text(f.base)
        .raw("/review/")
        .display(d.index)
        .raw("\" data-testid=\"verdict-form\">");
    csrf_input(&mut h, f.who);
    h.raw("<p><label for=\"note\">Note (required: what did you check? recorded in the audit log with your id)</label>")
        .raw("<textarea id=\"note\" name=\"note\" required maxlength=\"2000\" data-testid=\"verdict-note\">")
        .text(note_draft)
        .raw("</textarea></p><p>")
        .raw("<button type=\"submit\" name=\"verdict\" value=\"correct\" class=\"approve\" data-testid=\"verdict-correct\">Correct</button>")
        .raw("<button type=\"submit\" name=\"verdict\" value=\"wrong\" class=\"deny\" data-testid=\"verdict-wrong\">Wrong</button>")
        .raw("</p></form></section>");
    signed_in(f, "Review", h)
}

/// Everything one agent session did, in order.
/// One page of a session's events, in log order; `later` when it is not the first.
pub(crate) fn trail(
    f: &Frame<'_>,
    session: &str,
    page: &Paged<DecisionView>,
    later: bool,
) -> String {
    let mut h = Html::new();
    h.raw("<h1>Session <code data-testid=\"trail-session\">")
        .untrusted(session)
        .raw("</code></h1>");
    if page.rows.is_empty() {
        if later {
            h.raw("<p data-testid=\"trail-empty\">No later events recorded for this session.</p>");
        } else {
            h.raw("<p data-testid=\"trail-empty\">No events recorded for this session.</p>");
        }
    } else {
        events_table(&mut h, f.base, &page.rows, "trail-row");
    }
    let here = |h: &mut Html| {
        h.text(f.base)
            .raw("/sessions/")
            .text(&path_segment(session));
    };
    next_links(
        &mut h,
        page.next.as_deref(),
        later,
        "Later events",
        here,
        |h, token| {
            here(h);
            h.raw("?after=").text(&path_segment(token));
        },
    );
    signed_in(f, "Session trail", h)
}

/// Agents whose taint is in force, each with a form to clear it early.
/// One page of the tainted agents, by name; `later` when it is not the first.
pub(crate) fn taint(
    f: &Frame<'_>,
    page: &Paged<TaintView>,
    note: Option<&TaintNote<'_>>,
    later: bool,
) -> String {
    let agents = &page.rows;
    let mut h = Html::new();
    h.raw("<h1>Tainted agents</h1>")
        .raw("<p class=\"muted\">An agent is tainted once it reads text the injection screen flagged: ")
        .raw("the taint follows it into every session until its window ends. Clear it early only ")
        .raw("when you know what it read is harmless or dealt with; the clear is recorded in the ")
        .raw("audit log with your id and reason, and a later flagged read taints the agent again.</p>");
    let mut draft_for: Option<(&str, &str)> = None;
    match note {
        Some(TaintNote::Cleared(c)) => {
            h.raw(
                "<p class=\"notice\" role=\"status\" data-testid=\"notice\">Taint of agent <code>",
            )
            .untrusted(&c.taint.agent)
            .raw("</code> cleared through record ")
            .display(c.taint.record)
            .raw(" (")
            .display(c.records)
            .raw(" in force, the highest level ")
            .display(c.taint.level)
            .raw(" from <code>")
            .untrusted(&c.taint.source)
            .raw("</code>); recorded in the audit log with your id.</p>");
        }
        Some(TaintNote::NotInForce(agent)) => {
            h.raw("<p class=\"notice\" role=\"status\" data-testid=\"notice\">Agent <code>")
                .untrusted(agent)
                .raw("</code> has no taint in force; nothing was cleared.</p>");
        }
        Some(TaintNote::Refusal {
            agent,
            message,
            draft,
        }) => {
            h.raw("<p class=\"refusal\" role=\"alert\" data-testid=\"refusal\">")
                .text(message)
                .raw(" (agent <code>")
                .untrusted(agent)
                .raw("</code>)</p>");
            draft_for = Some((agent, draft));
        }
        None => {}
    }
    let here = |h: &mut Html| {
        h.text(f.base).raw("/taint");
    };
    if agents.is_empty() {
        if later {
            h.raw("<p data-testid=\"taint-empty\">No more tainted agents.</p>");
            next_links(&mut h, None, later, "More agents", here, |_, _| {});
        } else {
            h.raw("<p data-testid=\"taint-empty\">No agent is tainted.</p>");
        }
        return signed_in(f, "Tainted agents", h);
    }
    h.raw("<table data-testid=\"taint-table\"><thead><tr><th>Agent <span class=\"label\">untrusted</span></th>")
        .raw("<th>Level</th><th>Source tool <span class=\"label\">untrusted</span></th>")
        .raw("<th>Session <span class=\"label\">untrusted</span></th><th>Since</th><th>Until</th>")
        .raw("<th>Reads in force</th><th>Clear early</th></tr></thead><tbody>");
    for t in agents {
        h.raw("<tr data-testid=\"taint-row\" data-agent=\"")
            .text(&t.agent)
            .raw("\"><td><code data-testid=\"taint-agent\">")
            .untrusted(&t.agent)
            .raw("</code></td><td data-testid=\"taint-level\">")
            .display(t.level)
            .raw("</td><td><code data-testid=\"taint-source\">")
            .untrusted(&t.source)
            .raw("</code></td><td>");
        if t.session.is_empty() {
            h.raw("<span class=\"muted\">none</span>");
        } else {
            session_link(&mut h, f.base, &t.session);
        }
        h.raw("</td><td>")
            .text(&timestamp(t.since_ms))
            .raw(" (")
            .text(&relative(t.since_ms, f.now_ms))
            .raw(")</td><td>")
            .text(&timestamp(t.until_ms))
            .raw(" (")
            .text(&relative(t.until_ms, f.now_ms))
            .raw(")</td><td data-testid=\"taint-records\">")
            .display(t.records)
            .raw(" (newest: record ")
            .display(t.record)
            .raw(")</td><td><form method=\"post\" action=\"")
            .text(f.base)
            .raw("/taint/clear\" data-testid=\"taint-clear-form\">");
        csrf_input(&mut h, f.who);
        let draft = draft_for
            .filter(|(agent, _)| *agent == t.agent)
            .map_or("", |(_, d)| d);
        // The clear names the newest record this page showed: a read recorded after the page
        // was drawn makes the desk refuse the clear instead of clearing what was not shown.
        h.raw("<input type=\"hidden\" name=\"agent\" value=\"")
            .text(&t.agent)
            .raw("\"><input type=\"hidden\" name=\"record\" value=\"")
            .display(t.record)
            .raw("\"><label>Reason (required; recorded in the audit log with your id)")
            .raw("<textarea name=\"reason\" required maxlength=\"2000\" data-testid=\"taint-reason\">")
            .text(draft)
            .raw("</textarea></label><button type=\"submit\" data-testid=\"taint-clear\">Clear taint</button></form></td></tr>");
    }
    h.raw("</tbody></table>");
    next_links(
        &mut h,
        page.next.as_deref(),
        later,
        "More agents",
        here,
        |h, token| {
            here(h);
            h.raw("?after=").text(&path_segment(token));
        },
    );
    signed_in(f, "Tainted agents", h)
}

/// A page that only says what went wrong.
pub(crate) fn problem(f: &Frame<'_>, title: &str, message: &str) -> String {
    let mut h = Html::new();
    h.raw("<h1>")
        .text(title)
        .raw("</h1><p class=\"refusal\" data-testid=\"problem\">")
        .text(message)
        .raw("</p>");
    signed_in(f, title, h)
}
