//! The console's `ApprovalDesk`, backed by the store, the ledger and the gate's rules.
//!
//! Every answer goes through `gate::answer`, the same function the CLI uses, so
//! the web console cannot enforce different rules from the terminal. Likewise a taint cleared in
//! the console goes through `taint::record_and_clear`, the function behind
//! `warden taint clear`: the same `taint_cleared` event, written before the store changes.

use crate::failure::Failure;
use crate::gate::{self, AnswerError};
use crate::halt::{HaltError, Scope};
use crate::redaction::RedactError;
use crate::review::{VerdictError, record_verdict};
use crate::taint::ClearError;
use crate::{AuditLog, Gateway};
use std::sync::Arc;
use std::time::Duration;
use warden_console::{
    AnswerView, ApprovalDesk, DecisionPage, DecisionQuery, DecisionView, DeskError, EvidenceView,
    Paged, PendingPage, PendingQuery, Redacted, RequestView, Resumed, ReviewView, SessionRecord,
    SessionTable, TaintCleared, TaintView, TargetView, VerdictView,
};
use warden_core::{EventKind, Judgement, TaintRecord, ToolName, Verdict};
use warden_ledger::RecordKey;
use warden_policy::{ArgType, Config};
use warden_store::ledger::{LedgerEntry, read_deciding_events, read_events, read_range};
use warden_store::{
    ApprovalStatus, ConsoleSessionRow, Cursor, CursorError, EventFilter, LeafAfter, Listing,
    PageSize, PendingRequest, RequestFilter, TaintInForce, Transience, WaitingAfter, events_page,
    tainted_agents_page,
};

pub struct Desk(pub Arc<Gateway>);

/// Sessions stored beyond one console (several replicas behind one address) are capped like the
/// in-memory table: the ones that expire first go.
const MAX_SESSIONS: usize = 4096;
/// Sessions one approver may hold at once; past it their own oldest goes, so an approver (or
/// whoever has their password) signing in over and over cannot push the others out.
const MAX_SESSIONS_PER_APPROVER: usize = 16;
/// Most decisions one recent-page query reads, newest first: a search by category or text
/// that the store cannot narrow stops here, and the page says so.
const MAX_SCANNED: usize = 5000;
/// Decisions read per store query while searching.
const SCAN_PAGE: usize = 500;
/// Events on one page of a session's trail.
const TRAIL_PAGE: usize = 100;
/// Agents on one page of the tainted agents.
const TAINT_PAGE: usize = 100;

/// A page link the desk did not make for this listing.
fn bad_cursor(e: CursorError) -> DeskError {
    DeskError::BadCursor(e.to_string())
}

/// The pending page's listing: the store's filter and the text searched beside it, so a link
/// made for one search is refused by another.
struct PendingListing<'a> {
    filter: &'a RequestFilter,
    text: Option<&'a str>,
}

impl Listing for PendingListing<'_> {
    fn listing(&self) -> Vec<u8> {
        let mut out = self.filter.listing();
        out.extend(b"\0text\0");
        out.extend(self.text.unwrap_or_default().as_bytes());
        out.push(u8::from(self.text.is_some()));
        out
    }
}

/// The recent page's listing: every field of the query but where it starts.
struct DecisionListing<'a>(&'a DecisionQuery);

impl Listing for DecisionListing<'_> {
    fn listing(&self) -> Vec<u8> {
        let q = self.0;
        let mut out = b"recent decisions".to_vec();
        for v in [&q.agent, &q.tool, &q.category, &q.decision, &q.text] {
            match v {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    out.extend(u64::try_from(v.len()).unwrap_or(u64::MAX).to_be_bytes());
                    out.extend(v.as_bytes());
                }
            }
        }
        out.extend(u64::try_from(q.limit).unwrap_or(u64::MAX).to_be_bytes());
        out
    }
}

/// Console sign-in sessions in the store, so a sign-in on one replica holds on every replica.
///
/// Each row carries a MAC, under a key derived from the ledger's signing key, over the cookie's
/// hash, the approver, the expiry and the approver's configured credentials: someone who can
/// write the database but does not hold the key cannot add a session for an approver (and so
/// approve as them), extend one, or move one to another approver, and a changed password ends
/// the approver's sessions. Such a row is refused and reported. The CSRF token is derived from
/// the key and the cookie's hash, never stored. What the MAC cannot stop: someone who can write
/// the database and holds a stolen cookie putting back a row deleted by its sign-out; the
/// session still ends at its fixed lifetime.
struct StoredSessions {
    gateway: Arc<Gateway>,
    key: RecordKey,
}

/// What the approver signs in with now, as configured: a session is bound to it, so changing an
/// approver's password or token, or removing the approver, ends their sessions on every replica
/// (as a restart did when sessions lived in memory). `None` for an approver not configured.
fn credentials_of(gateway: &Gateway, approver: &str) -> Option<Vec<u8>> {
    let config = gateway.config();
    let a = config
        .approvals
        .approvers
        .iter()
        .find(|a| a.id == approver)?;
    let mut bound = Vec::new();
    for part in [&a.password_argon2, &a.token_sha256] {
        let part = part.as_deref().unwrap_or_default().as_bytes();
        bound.extend(u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
        bound.extend(part);
    }
    Some(bound)
}

fn session_fields(row: &ConsoleSessionRow, credentials: &[u8]) -> [Vec<u8>; 6] {
    [
        row.key.to_vec(),
        row.approver_id.as_bytes().to_vec(),
        row.approver_name.as_bytes().to_vec(),
        row.csrf.as_bytes().to_vec(),
        row.expires_ms.to_be_bytes().to_vec(),
        credentials.to_vec(),
    ]
}

fn mac_of(key: &RecordKey, row: &ConsoleSessionRow, credentials: &[u8]) -> [u8; 32] {
    let fields = session_fields(row, credentials);
    key.mac(&fields.each_ref().map(Vec::as_slice))
}

impl SessionTable for StoredSessions {
    fn start(
        &self,
        key: [u8; 32],
        session: &SessionRecord,
        ttl: Duration,
    ) -> Result<(), DeskError> {
        let now = self.gateway.now();
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        // The CSRF token is not stored: `live` derives it from the key, so reading the
        // database gives no usable token.
        let mut row = ConsoleSessionRow {
            key,
            approver_id: session.approver_id.clone(),
            approver_name: session.approver_name.clone(),
            csrf: String::new(),
            expires_ms: now.saturating_add(ttl_ms),
            mac: [0; 32],
        };
        let credentials = credentials_of(&self.gateway, &row.approver_id)
            .ok_or_else(|| DeskError::Internal("the approver is no longer configured".into()))?;
        row.mac = mac_of(&self.key, &row, &credentials);
        self.gateway
            .store
            .console_session_put(&row, now, MAX_SESSIONS_PER_APPROVER, MAX_SESSIONS)
            .map_err(internal)
    }

    fn live(&self, key: [u8; 32]) -> Result<Option<SessionRecord>, DeskError> {
        let Some(row) = self.gateway.store.console_session(&key).map_err(internal)? else {
            return Ok(None);
        };
        let Some(credentials) = credentials_of(&self.gateway, &row.approver_id) else {
            // Removed from the configuration: signed out.
            return Ok(None);
        };
        let fields = session_fields(&row, &credentials);
        if !self
            .key
            .verify(&fields.each_ref().map(Vec::as_slice), &row.mac)
        {
            tracing::error!(
                approver = %row.approver_id,
                "console: a stored session does not verify: written to the database directly \
                 (without the ledger's key), or the approver's credentials changed; refused"
            );
            return Ok(None);
        }
        if row.expires_ms <= self.gateway.now() {
            return Ok(None);
        }
        let csrf = hex::encode(self.key.mac(&[b"console-csrf", &row.key]));
        Ok(Some(SessionRecord {
            approver_id: row.approver_id,
            approver_name: row.approver_name,
            csrf,
        }))
    }

    fn end(&self, key: [u8; 32]) -> Result<(), DeskError> {
        self.gateway
            .store
            .console_session_delete(&key)
            .map(|_| ())
            .map_err(internal)
    }
}

/// The entities the arguments name, with what the inventory in force says of them.
fn targets(
    config: &Config,
    tool: Option<&warden_policy::ToolSpec>,
    args: &serde_json::Value,
) -> Vec<TargetView> {
    let Some(spec) = tool else {
        return Vec::new();
    };
    spec.args
        .iter()
        .filter_map(|(name, arg)| match &arg.ty {
            ArgType::Entity(ty) => {
                let id = args.get(name)?.as_str()?;
                Some(TargetView {
                    argument: name.clone(),
                    entity_type: ty.clone(),
                    id: id.to_string(),
                    attributes: config.engine.entity_attributes(ty, id),
                })
            }
            _ => None,
        })
        .collect()
}

fn view(config: &Config, r: PendingRequest) -> RequestView {
    let approvals_needed = r.approvals_needed();
    let spec = ToolName::parse(&r.tool).and_then(|t| config.tool(&t));
    RequestView {
        targets: targets(config, spec, &r.args),
        reversible: spec.map(|s| s.labels.reversible),
        undo: spec.and_then(|s| s.undo.clone()),
        evidence: r
            .evidence
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_str().map(|s| (i, s.to_string())))
            .map(|(i, s)| {
                let (tool, summary) = s.split_once(" — ").unwrap_or((s.as_str(), ""));
                EvidenceView {
                    index: u64::try_from(i).unwrap_or(0),
                    tool: tool.to_string(),
                    summary: summary.to_string(),
                    // The screen's summary is the first line; a flagged passage follows.
                    findings: summary
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .split_once(": ")
                        .map(|(_, k)| k.split(", ").map(str::to_string).collect())
                        .unwrap_or_default(),
                }
            })
            .collect(),
        answers: r
            .answers
            .iter()
            .map(|a| AnswerView {
                approver: a.approver.clone(),
                verdict: a.verdict,
                reason: a.reason.clone(),
                at_ms: a.at_ms,
            })
            .collect(),
        id: r.id,
        created_ms: r.created_ms,
        expires_ms: r.expires_ms,
        status: r.status,
        principal: r.principal,
        session: r.session,
        tool: r.tool,
        category: r.category,
        stakes: r.stakes,
        args: r.args,
        args_digest: r.args_digest,
        rule: r.rule,
        owner: r.owner,
        policy_version: r.policy_version,
        approvals_needed,
        rationale: r.rationale,
        escalated: r.escalated,
    }
}

fn taint_view(shown: TaintInForce) -> TaintView {
    let t = shown.taint;
    TaintView {
        agent: t.agent,
        level: t.level,
        source: t.source,
        session: t.session,
        since_ms: t.at_ms,
        until_ms: t.until_ms,
        record: shown.newest,
        records: shown.records,
    }
}

/// A failure inside warden as the console shows it: a store that may come back
/// (`Unavailable`, 503 with `Retry-After`) or one that will not (`Internal`, 500). The text
/// goes to the log only.
fn internal(e: impl Into<Failure>) -> DeskError {
    let failure = e.into();
    match failure.transience() {
        Transience::Transient => DeskError::Unavailable(failure.to_string()),
        Transience::Permanent => DeskError::Internal(failure.to_string()),
    }
}

/// A ledger entry as a row of the console's tables.
fn decision_view(entry: LedgerEntry) -> DecisionView {
    let e = entry.event;
    let args = e
        .args
        .unwrap_or_else(|| not_kept(e.detail.as_ref()).map_or(serde_json::Value::Null, Into::into));
    DecisionView {
        index: entry.index,
        time_ms: e.time_ms,
        kind: e.kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        principal: e.principal.unwrap_or_default(),
        session: e.session.unwrap_or_default(),
        tool: e.tool.unwrap_or_default(),
        decision: e.decision,
        rule: e.rule,
        owner: e.owner,
        args,
        detail: e
            .reason
            .or_else(|| e.detail.map(|d| d.to_string()))
            .unwrap_or_default(),
        category: e.category,
        steps: Vec::new(),
    }
}

/// What the console shows for arguments a record did not keep (a denied call's over the size
/// kept, a halted agent's): their size, and each argument's where the record lists them.
fn not_kept(detail: Option<&serde_json::Value>) -> Option<String> {
    let detail = detail?;
    let bytes = detail.get("args_bytes")?.as_u64()?;
    let sizes: Vec<String> = detail
        .get("arg_sizes")
        .and_then(|s| s.as_object())
        .map(|m| {
            m.iter()
                .map(|(name, size)| format!("{name}: {size} bytes"))
                .collect()
        })
        .unwrap_or_default();
    Some(if sizes.is_empty() {
        format!("not kept ({bytes} bytes)")
    } else {
        format!("not kept ({bytes} bytes; {})", sizes.join(", "))
    })
}

/// Whether a decision matches the query's filters that the store cannot apply.
fn matches(query: &DecisionQuery, e: &LedgerEntry) -> bool {
    let ev = &e.event;
    let category = query
        .category
        .as_deref()
        .is_none_or(|c| ev.category.as_deref() == Some(c));
    let text = query.text.as_deref().is_none_or(|t| {
        let t = t.to_lowercase();
        let args = ev
            .args
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let detail = ev
            .detail
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        [
            ev.tool.as_deref(),
            ev.principal.as_deref(),
            ev.session.as_deref(),
            ev.rule.as_deref(),
            ev.reason.as_deref(),
            ev.request_id.as_deref(),
            Some(args.as_str()),
            Some(detail.as_str()),
        ]
        .into_iter()
        .flatten()
        .any(|field| field.to_lowercase().contains(&t))
    });
    category && text
}

impl Desk {
    /// Request `r` as an approver sees it, with the answers so far as the ledger records them,
    /// not as its row says.
    fn recorded_view(&self, mut r: PendingRequest) -> Result<RequestView, DeskError> {
        if let Some(ledger) = self.0.audit.ledger() {
            r.answers = gate::answers_on_record(ledger, &r).map_err(internal)?;
        }
        Ok(view(&self.0.config(), r))
    }

    /// What became of a held call: its request's recorded steps after the hold (`approved`,
    /// `executed`, `denied`, `expired`), oldest first. Read by the request's own id through the
    /// ledger's index of approval steps, as the gate reads them: however many other approval
    /// events were recorded between the hold and its answer, the answer is found, and a row
    /// someone wrote into the store is not.
    fn steps(&self, held: &LedgerEntry) -> Result<Vec<String>, DeskError> {
        let Some(request) = held.event.request_id.as_deref() else {
            return Ok(Vec::new());
        };
        let ledger = self.0.audit.ledger().ok_or_else(|| {
            DeskError::Internal("this process holds no ledger to read the steps from".into())
        })?;
        let recorded = ledger.recorded_steps(request).map_err(internal)?;
        Ok(recorded
            .iter()
            .filter(|a| a.entry().index > held.index)
            .filter_map(|a| {
                a.event()
                    .detail
                    .as_ref()?
                    .get("step")?
                    .as_str()
                    .map(str::to_string)
            })
            .filter(|step| step != "asked")
            .collect())
    }
}

impl ApprovalDesk for Desk {
    fn pending(&self, query: &PendingQuery) -> Result<PendingPage, DeskError> {
        // Only the waiting rows, through the store's index on them: the store keeps every
        // answered request. Agent, tool, category and the text search narrow in the store
        // (the text with `LIKE` on each request's searched fields, every character of it
        // standing for itself), which hands back one page after the cursor and counts the
        // matches: nothing here walks the waiting requests.
        let store = self.0.store.as_ref();
        let config = self.0.config();
        let filter = RequestFilter {
            statuses: vec![ApprovalStatus::Pending],
            principal: query.agent.clone(),
            tool: query.tool.clone(),
            category: query.category.clone(),
            text: query.text.clone(),
            ..RequestFilter::default()
        };
        let listing = PendingListing {
            filter: &filter,
            text: query.text.as_deref(),
        };
        let after = query
            .after
            .as_deref()
            .map(|t| Cursor::<WaitingAfter>::parse(t, &listing))
            .transpose()
            .map_err(bad_cursor)?;
        let after = after.as_ref().map(Cursor::key);
        let waiting = store.open_requests().map_err(internal)?.count;
        let waiting = usize::try_from(waiting).unwrap_or(usize::MAX);
        let size = PageSize::clamped(query.limit);
        let (mut rows, matched) = if query.narrows() {
            let rows = store
                .requests(&RequestFilter {
                    after: after.cloned(),
                    limit: Some(size.get().saturating_add(1)),
                    ..filter.clone()
                })
                .map_err(internal)?;
            let matched = store.count_requests(&filter).map_err(internal)?;
            (rows, usize::try_from(matched).unwrap_or(usize::MAX))
        } else {
            let rows = store
                .waiting(after, size.get().saturating_add(1))
                .map_err(internal)?;
            (rows, waiting)
        };
        let next = (rows.len() > size.get())
            .then(|| rows.get(size.get() - 1).map(WaitingAfter::of))
            .flatten()
            .map(|key| Cursor::new(key, &listing).token());
        rows.truncate(size.get());
        let matched = matched.max(rows.len());
        Ok(PendingPage {
            matched,
            waiting: waiting.max(matched),
            rows: rows.into_iter().map(|r| view(&config, r)).collect(),
            next,
        })
    }

    fn request(&self, id: &str) -> Result<Option<RequestView>, DeskError> {
        let Some(r) = self.0.store.pending_request(id).map_err(internal)? else {
            return Ok(None);
        };
        // The row is the database's to edit: what it shows an approver (the arguments, what
        // surrounds them, its labels) must be what the ledger recorded when the call was held,
        // or it is not shown at all, as it could not be answered either.
        if let Some(ledger) = self.0.audit.ledger()
            && let Err(why) = gate::check_request(Some(ledger), &r).map_err(internal)?
        {
            return Err(DeskError::Refused(format!(
                "request `{id}` is not shown: {why}. It was changed in the database after warden \
                 stored it; what it shows is not what the agent asked for"
            )));
        }
        Ok(Some(self.recorded_view(r)?))
    }

    fn decide(
        &self,
        id: &str,
        approver: &str,
        verdict: Verdict,
        reason: &str,
    ) -> Result<RequestView, DeskError> {
        let g = &self.0;
        let audit: &dyn AuditLog = g.audit.as_ref();
        match gate::answer(
            g.store.as_ref(),
            audit,
            &g.config(),
            id,
            approver,
            verdict,
            reason,
            self.0.now(),
        ) {
            Ok(r) => self.recorded_view(r),
            Err(AnswerError::NotFound(_)) => Err(DeskError::NotFound),
            Err(e @ (AnswerError::Refused(_) | AnswerError::Altered { .. })) => {
                Err(DeskError::Refused(e.to_string()))
            }
            Err(AnswerError::Failed(e)) => Err(internal(e)),
        }
    }

    fn recent_decisions(&self, query: &DecisionQuery) -> Result<DecisionPage, DeskError> {
        // Newest first, page by page, the store narrowing by agent, tool and decision; category
        // and text are matched here. At most MAX_SCANNED decisions are read, so a page costs
        // the same after a million decisions (an agent flooding calls cannot make it slow).
        let listing = DecisionListing(&DecisionQuery {
            after: None,
            ..query.clone()
        });
        let after = query
            .after
            .as_deref()
            .map(|t| Cursor::<LeafAfter>::parse(t, &listing))
            .transpose()
            .map_err(bad_cursor)?;
        let mut page = DecisionPage::default();
        let mut below: Option<u64> = after.map(|c| c.key().0);
        let mut matched = Vec::new();
        // The oldest decision read, and whether older ones may be left.
        let mut oldest_read: Option<u64> = None;
        let mut older_left = true;
        // Without a filter the store cannot apply, every row read is shown: read no more.
        let exact = query.category.is_none() && query.text.is_none();
        while matched.len() < query.limit {
            let room = MAX_SCANNED.saturating_sub(page.searched);
            if room == 0 {
                page.truncated = true;
                break;
            }
            let want = if exact {
                room.min(query.limit - matched.len())
            } else {
                room.min(SCAN_PAGE)
            };
            let batch = read_events(
                self.0.store.as_ref(),
                &EventFilter {
                    kind: Some(EventKind::Decision.as_str().into()),
                    principal: query.agent.clone(),
                    tool: query.tool.clone(),
                    decision: query.decision.clone(),
                    index_below: below,
                    limit: Some(want),
                    newest_first: true,
                    ..EventFilter::default()
                },
            )
            .map_err(internal)?;
            let Some(oldest) = batch.last().map(|e| e.index) else {
                older_left = false;
                break;
            };
            let full = batch.len() == want;
            page.searched += batch.len();
            for entry in batch {
                if matched.len() < query.limit {
                    oldest_read = Some(entry.index);
                    if matches(query, &entry) {
                        matched.push(entry);
                    }
                } else {
                    // A decision read past the page: the next page has it.
                    older_left = true;
                    break;
                }
            }
            if !full || oldest == 0 {
                older_left = matched.len() >= query.limit && oldest_read != Some(oldest);
                break;
            }
            below = Some(oldest);
        }
        // The next page starts below the last decision this one read: the last shown when the
        // page filled, the last searched when the search stopped at its bound.
        page.next = oldest_read
            .filter(|&i| older_left && i > 0)
            .map(|i| Cursor::new(LeafAfter(i), &listing).token());
        for entry in matched {
            let steps = if entry.event.decision.as_deref() == Some("hold") {
                self.steps(&entry)?
            } else {
                Vec::new()
            };
            page.rows.push(DecisionView {
                steps,
                ..decision_view(entry)
            });
        }
        Ok(page)
    }

    fn review(&self, decision_index: u64) -> Result<Option<ReviewView>, DeskError> {
        let store = self.0.store.as_ref();
        let Some(entry) = read_range(store, decision_index, 1)
            .map_err(internal)?
            .into_iter()
            .find(|e| e.index == decision_index)
        else {
            return Ok(None);
        };
        if entry.event.kind != Some(EventKind::Decision) {
            return Ok(None);
        }
        let steps = if entry.event.decision.as_deref() == Some("hold") {
            self.steps(&entry)?
        } else {
            Vec::new()
        };
        // Verdicts follow their decision, and name it by index.
        let verdicts = read_deciding_events(
            store,
            &EventFilter {
                kind: Some(EventKind::ReviewVerdict.as_str().into()),
                principal: entry.event.principal.clone(),
                session: entry.event.session.clone(),
                tool: entry.event.tool.clone(),
                index_from: Some(decision_index),
                ..EventFilter::default()
            },
            self.0.audit.leaf_key(),
        )
        .map_err(internal)?
        .iter()
        .filter_map(crate::review::Verdict::from_entry)
        .filter(|v| v.decision_index == decision_index)
        .map(|v| VerdictView {
            index: v.index,
            reviewer: v.reviewer,
            judgement: if v.correct {
                Judgement::Correct
            } else {
                Judgement::Wrong
            },
            note: v.note,
            at_ms: v.time_ms,
        })
        .collect();
        Ok(Some(ReviewView {
            decision: DecisionView {
                steps,
                ..decision_view(entry)
            },
            verdicts,
        }))
    }

    fn record_verdict(
        &self,
        decision_index: u64,
        reviewer: &str,
        judgement: Judgement,
        note: &str,
    ) -> Result<VerdictView, DeskError> {
        let g = &self.0;
        let now = g.now();
        // The function behind `warden review verdict`: the same rules, the same event.
        match record_verdict(
            g.store.as_ref(),
            g.audit.as_ref(),
            &g.config(),
            decision_index,
            reviewer,
            judgement,
            note,
            now,
        ) {
            Ok(v) => Ok(VerdictView {
                index: v.index,
                reviewer: reviewer.to_string(),
                judgement: v.judgement,
                note: note.trim().to_string(),
                at_ms: now,
            }),
            Err(VerdictError::Failed(e)) => Err(internal(e)),
            Err(e) => Err(DeskError::Refused(e.to_string())),
        }
    }

    fn session_trail(
        &self,
        session: &str,
        after: Option<&str>,
    ) -> Result<Paged<DecisionView>, DeskError> {
        let filter = EventFilter {
            session: Some(session.to_string()),
            ..EventFilter::default()
        };
        let after = after
            .map(|t| Cursor::<LeafAfter>::parse(t, &filter))
            .transpose()
            .map_err(bad_cursor)?;
        let page = events_page(
            self.0.store.as_ref(),
            &filter,
            after.as_ref(),
            PageSize::clamped(TRAIL_PAGE),
        )
        .map_err(internal)?;
        Ok(Paged {
            rows: page.rows.into_iter().map(decision_view).collect(),
            next: page.next.map(|c| c.token()),
        })
    }

    fn session_table(&self) -> Option<Arc<dyn SessionTable>> {
        let key = self.0.audit.session_key()?.clone();
        Some(Arc::new(StoredSessions {
            gateway: Arc::clone(&self.0),
            key,
        }))
    }

    fn tainted_agents(&self, after: Option<&str>) -> Result<Paged<TaintView>, DeskError> {
        let after = after
            .map(|t| Cursor::parse(t, &warden_store::TaintedAgents))
            .transpose()
            .map_err(bad_cursor)?;
        let now = self.0.now();
        let page = tainted_agents_page(
            self.0.store.as_ref(),
            now,
            after.as_ref(),
            PageSize::clamped(TAINT_PAGE),
        )
        .map_err(internal)?;
        Ok(Paged {
            rows: page.rows.into_iter().map(taint_view).collect(),
            next: page.next.map(|c| c.token()),
        })
    }

    fn halt(&self, scope: &str, approver: &str, reason: &str) -> Result<bool, DeskError> {
        let g = &self.0;
        let config = g.config();
        let scope = self.scope_for(&config, scope, approver, reason)?;
        // The function behind `warden halt`: recorded before it is stored, and the scope's
        // waiting requests expire.
        let set = crate::halt::set(
            g.store.as_ref(),
            g.audit.as_ref(),
            &scope,
            approver,
            reason,
            serde_json::json!({"approver_api": true}),
            g.now(),
        )
        .map_err(halt_error)?;
        g.halts.invalidate();
        Ok(set)
    }

    fn resume(&self, scope: &str, approver: &str, reason: &str) -> Result<Resumed, DeskError> {
        let g = &self.0;
        let config = g.config();
        let scope = Scope::parse(scope).map_err(|e| DeskError::Refused(e.to_string()))?;
        configured(&config, approver)?;
        if reason.trim().is_empty() {
            return Err(DeskError::Refused("give a reason".into()));
        }
        // The function behind `warden resume`, with the credentials this gateway's
        // configuration holds for the approver: the resume counts here.
        let halt = crate::halt::resume(
            g.store.as_ref(),
            g.audit.as_ref(),
            &scope,
            approver,
            &gate::credentials(&config),
            reason,
            g.now(),
        )
        .map_err(halt_error)?;
        g.halts.invalidate();
        Ok(Resumed {
            scope: scope.to_string(),
            halted_by: halt.set_by,
            halt_reason: halt.reason,
        })
    }

    fn redact(
        &self,
        index: u64,
        approver: &str,
        reason: &str,
        requested_by: Option<&str>,
    ) -> Result<Redacted, DeskError> {
        let g = &self.0;
        configured(&g.config(), approver)?;
        // The function behind `warden audit redact`: recorded first, then the content goes.
        match crate::redaction::redact(
            g.store.as_ref(),
            g.audit.as_ref(),
            index,
            approver,
            reason,
            requested_by,
            g.now(),
        ) {
            Ok(r) => Ok(Redacted {
                removed: r.removed,
                recorded: r.recorded,
            }),
            Err(RedactError::Store(e)) => Err(internal(e)),
            Err(RedactError::Audit(e)) => Err(internal(e)),
            Err(refused) => Err(DeskError::Refused(refused.to_string())),
        }
    }

    fn clear_taint(
        &self,
        agent: &str,
        record: TaintRecord,
        approver: &str,
        reason: &str,
    ) -> Result<Option<TaintCleared>, DeskError> {
        let g = &self.0;
        // As `warden taint clear`: any configured approver may clear, whatever their
        // categories. Checked against the configuration in force, so an approver removed by a
        // reload cannot clear from a session that outlived them.
        configured(&g.config(), approver)?;
        // One instant for the check, the record and the clear: what the event shows in force
        // is what stops, and only if it is what the approver was shown.
        let now = self.0.now();
        match crate::taint::record_and_clear(
            g.store.as_ref(),
            g.audit.as_ref(),
            agent,
            record,
            approver,
            reason,
            now,
        ) {
            Ok(cleared) => Ok(cleared.map(|c| TaintCleared {
                taint: taint_view(c.shown),
                records: c.records,
            })),
            Err(e @ (ClearError::NoReason | ClearError::Changed { .. })) => {
                Err(DeskError::Refused(e.to_string()))
            }
            Err(ClearError::Audit(e)) => Err(internal(e)),
            Err(ClearError::Store(e)) => Err(internal(e)),
        }
    }
}

/// Refused unless `approver` is configured in the configuration in force: one removed by a
/// reload acts no more, from a session or a token that outlived them.
fn configured(config: &Config, approver: &str) -> Result<(), DeskError> {
    if config.approvals.approvers.iter().any(|a| a.id == approver) {
        Ok(())
    } else {
        Err(DeskError::Refused(format!(
            "`{approver}` is not a configured approver"
        )))
    }
}

/// A halt or resume that failed: a refusal shown as written, or warden's own failure.
fn halt_error(e: HaltError) -> DeskError {
    match e {
        HaltError::Internal(failure) => internal(failure),
        refused => DeskError::Refused(refused.to_string()),
    }
}

impl Desk {
    /// The scope an approver asked to halt, checked as `warden halt` checks it: it parses, it
    /// halts something the configuration knows, the approver is configured, a reason is given.
    fn scope_for(
        &self,
        config: &Config,
        scope: &str,
        approver: &str,
        reason: &str,
    ) -> Result<Scope, DeskError> {
        let scope = Scope::parse(scope).map_err(|e| DeskError::Refused(e.to_string()))?;
        configured(config, approver)?;
        if reason.trim().is_empty() {
            return Err(DeskError::Refused("give a reason".into()));
        }
        scope
            .check(config)
            .map_err(|e| DeskError::Refused(e.to_string()))?;
        Ok(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_store::{LedgerError, StoreError};

    /// The console answers 503 with `Retry-After` only for a store that may come back; the
    /// text of what failed stays in the log.
    #[test]
    fn a_store_failure_reaches_the_console_with_its_transience() {
        let down = || StoreError::Unavailable("postgresql://warden:hunter2@db".into());
        assert!(matches!(internal(down()), DeskError::Unavailable(_)));
        assert!(matches!(
            internal(crate::AuditError(LedgerError::Unwritten(Arc::new(
                LedgerError::Store(down())
            )))),
            DeskError::Unavailable(_)
        ));
        assert!(matches!(
            internal(StoreError::Corrupt("a short hash".into())),
            DeskError::Internal(_)
        ));
        assert!(matches!(
            internal(gate::GateError::Busy("apr_1".into())),
            DeskError::Unavailable(_)
        ));
    }
}
