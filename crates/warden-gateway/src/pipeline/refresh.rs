//! Keeping the catalog current: every upstream's tool list read again, each configured tool's
//! definition screened and checked against its pin.
//!
//! A refresh costs every upstream a full listing and warden a screen of every definition, and
//! any agent can ask for one (`tools/list`). So refreshes run one at a time: a caller that
//! finds one under way waits for it and takes its result, and an agent's listing starts a new
//! one only when the last finished `gateway.catalog_refresh_secs` ago or more; in between it is
//! served the catalog as it stands. One at a time also means one refresh's listing never lands
//! after a later one's: the catalog always holds the newest definitions warden has read.
//!
//! A listing that fails (a timeout, a refused or oversized list) changes nothing: each of that
//! server's tools keeps the status its last good listing gave it. Otherwise an upstream that
//! failed under load would make its tools unknown to every agent at once, and each agent's
//! calls to them denials on its own record.

use super::{CallError, Gateway};
use crate::catalog::{Status, definition_digest};
use crate::failure::Failure;
use crate::flight::{SingleFlight, Turn};
use rmcp::model::Tool;
use serde_json::json;
use std::collections::HashMap;
use std::sync::PoisonError;
use std::sync::{Arc, Mutex};
use warden_core::{AuditEvent, EventKind, ToolName, canonical_json, sha256_hex};
use warden_screen::{Report, Verdict};

/// The longest an agent's `tools/list` waits for a due refresh
/// ([`Gateway::refresh_catalog_for_listing`]).
pub const LISTING_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// The refreshes' state: one runs at a time.
#[derive(Default)]
pub(crate) struct Refresher {
    /// The refreshes, each serving every caller that asked before it began; they keep when
    /// the last one finished (the gateway's clock, ms).
    runs: SingleFlight<Option<i64>>,
    /// Each configured tool's last screened definition (by [`screen_key`]) and its report: an
    /// unchanged definition is not screened again.
    screened: Mutex<HashMap<ToolName, (String, Report)>>,
}

/// The digest of everything [`crate::screening::Screening::scan_definition`] reads of a
/// definition: a definition with the same key gets the same report.
fn screen_key(tool: &Tool, with_description: bool) -> String {
    let value = json!({
        "description": tool.description.as_deref().filter(|_| with_description),
        "title": tool.title,
        "annotationsTitle": tool.annotations.as_ref().and_then(|a| a.title.as_deref()),
        "inputSchema": tool.input_schema.as_ref(),
    });
    sha256_hex(canonical_json(&value).as_bytes())
}

impl Gateway {
    /// Reads every upstream's tool list now and checks each configured tool against its pin;
    /// returns once a refresh that began after this call has finished (one already under way
    /// when it was called may have read an older list).
    pub async fn refresh_catalog(&self) {
        if let Some(turn) = self.refresher.runs.turn().await {
            self.refresh_under(turn).await;
        }
    }

    /// What an agent's `tools/list` asks for: the catalog refreshed at most every
    /// `gateway.catalog_refresh_secs`. A caller that finds a refresh under way waits for it and
    /// takes its result; one that finds the last refresh recent enough is served the catalog as
    /// it stands. The refresh runs on a task of its own: an agent that drops its request does
    /// not abandon the listing for the next one to start again.
    pub async fn refresh_catalog_if_due(self: &Arc<Self>) {
        let gateway = self.clone();
        if let Err(e) = tokio::spawn(async move { gateway.refresh_if_due().await }).await {
            tracing::error!(error = %e, "the catalog refresh failed");
        }
    }

    /// What an agent's `tools/list` waits for: [`Gateway::refresh_catalog_if_due`], for at most
    /// [`LISTING_WAIT`]. An upstream slow to list (or hostile: one that answers only at
    /// `upstream_timeout`) then delays no agent's listing beyond that: past it the agent is
    /// served the catalog as it stands, the refresh goes on, and the live sessions are told
    /// (`notifications/tools/list_changed`) if what it reads changes what they may list. What
    /// was never listed is never shown: the wait serves nothing a refresh has not checked.
    pub async fn refresh_catalog_for_listing(self: &Arc<Self>) {
        // The refresh runs on its own task: giving up the wait leaves it running.
        if tokio::time::timeout(LISTING_WAIT, self.refresh_catalog_if_due())
            .await
            .is_err()
        {
            tracing::debug!(
                "an upstream is slow to list: the listing is served the catalog as it stands"
            );
        }
    }

    async fn refresh_if_due(&self) {
        let Some(mut turn) = self.refresher.runs.turn().await else {
            return;
        };
        let every =
            i64::try_from(self.config().gateway.catalog_refresh.as_millis()).unwrap_or(i64::MAX);
        if turn
            .state()
            .is_some_and(|at| self.now().saturating_sub(at) < every)
        {
            return;
        }
        self.refresh_under(turn).await;
    }

    /// One refresh, by the caller whose turn it is.
    async fn refresh_under(&self, mut turn: Turn<'_, Option<i64>>) {
        let mut before = self.catalog.visible();
        // Each server's listing is checked as it comes: one slow to list holds back no other's.
        let mut lists: futures::stream::FuturesUnordered<_> = self
            .upstreams
            .values()
            .cloned()
            .map(|u| {
                tokio::spawn(async move {
                    let tools = u.list_tools().await;
                    (u.name().to_string(), tools)
                })
            })
            .collect();
        while let Some(listed) = futures::StreamExt::next(&mut lists).await {
            let Ok((server, tools)) = listed else {
                tracing::error!("an upstream listing task failed: the catalog keeps its listing");
                continue;
            };
            match tools {
                Ok(tools) => self.check_listed(&server, tools).await,
                // The last good listing stands: the tools keep their status.
                Err(e) => {
                    tracing::warn!(server = %server, error = %e,
                        "cannot list upstream tools: the catalog keeps its last listing");
                }
            }
            // A fast upstream's changes reach the live sessions while a slow one still lists.
            let visible = self.catalog.visible();
            if visible != before {
                self.tool_lists_may_have_changed();
                before = visible;
            }
        }
        *turn.state() = Some(self.now());
        turn.done();
    }

    /// Checks each configured tool of `server` against what its listing offers.
    async fn check_listed(&self, server: &str, tools: Vec<Tool>) {
        let entries: Vec<_> = self
            .catalog
            .entries()
            .into_iter()
            .filter(|e| e.spec.name.server == server)
            .collect();
        let mut listed: Vec<(crate::catalog::Entry, Tool)> = Vec::new();
        for entry in entries {
            match tools
                .iter()
                .find(|t| t.name == entry.spec.name.tool.as_str())
            {
                Some(upstream) => listed.push((entry, upstream.clone())),
                None => self
                    .catalog
                    .set(&entry.spec.name, None, None, Status::Missing),
            }
        }
        drop(tools);
        let reports = self.screen_definitions(&listed).await;
        let settings = self.screening.settings().clone();
        for ((entry, upstream), report) in listed.into_iter().zip(reports) {
            let name = entry.spec.name.clone();
            let digest = definition_digest(&upstream);
            // The description and the schema are upstream text the model will read, and a
            // title an upstream wrote: screened like a result. One that reads as an injection
            // is withheld, pinned or not. One that would taint an agent that read it in a
            // result is shown only once a human pinned it: first use pins it unread.
            let flagged = settings.descriptions && report.verdict >= Verdict::Injection;
            let doubtful = settings.descriptions && report.score >= settings.taint_at;
            let status = match flagged {
                true => Status::Flagged {
                    summary: report.summary(),
                },
                false => match self.check_pin(&name, entry.spec.pin.clone(), &digest).await {
                    Ok((Status::Available, Pinned::OnFirstUse)) if doubtful => Status::Flagged {
                        summary: format!("{}; shown once a human pins it", report.summary()),
                    },
                    Ok((status, _)) => status,
                    Err(e) => {
                        tracing::error!(tool = %name, error = %e, "cannot check the pin: tool withheld");
                        Status::Withheld {
                            pinned: "unknown".into(),
                            seen: digest.clone(),
                        }
                    }
                },
            };
            if let Status::Flagged { summary } = &status {
                if self.catalog.status(&name) != Some(status.clone()) {
                    tracing::warn!(tool = %name, screen = %summary,
                        "upstream definition flagged by the screen: tool withheld");
                    let mut ev = AuditEvent::new(EventKind::Finding, self.now());
                    ev.tool = Some(name.to_string());
                    ev.reason = Some(format!("tool definition flagged: {summary}"));
                    ev.detail = Some(json!({"detector": "warden-screen",
                        "subject": "tool_description", "score": report.score,
                        "verdict": report.verdict.as_str(), "digest": digest}));
                    if let Err(e) = self.record(ev).await {
                        tracing::error!(error = %e, "finding not recorded");
                    }
                }
                self.catalog
                    .set(&name, Some(upstream), Some(digest), status);
                continue;
            }
            if let Status::Withheld { pinned, seen } = &status
                && self.catalog.status(&name) != Some(status.clone())
            {
                tracing::warn!(tool = %name, pinned = %pinned, seen = %seen,
                    "upstream definition changed: tool withheld until re-pinned");
                let mut ev = AuditEvent::new(EventKind::ToolWithheld, self.now());
                ev.tool = Some(name.to_string());
                ev.detail = Some(json!({"pinned": pinned, "seen": seen}));
                if let Err(e) = self.record(ev).await {
                    tracing::error!(error = %e, "withholding not recorded");
                }
            }
            self.catalog
                .set(&name, Some(upstream), Some(digest), status);
        }
    }

    /// Whether `digest` is the definition pinned for `name` (pinning it now if nothing is), and
    /// who pinned it: the config, a human (`warden tools pin`), or first use.
    async fn check_pin(
        &self,
        name: &ToolName,
        config_pin: Option<String>,
        digest: &str,
    ) -> Result<(Status, Pinned), CallError> {
        let key = name.to_string();
        let seen = digest.to_string();
        let now = self.now();
        let recorded = self.recorded_pins.clone();
        self.blocking(move |store, audit| {
            // With the ledger, what it records pinned decides (the row is a copy someone who
            // can write the database could rewrite); without it, the row, which does not say
            // who pinned it.
            let pinned = match (config_pin, audit.ledger()) {
                (Some(p), _) => Some((p, Pinned::ByHuman)),
                (None, Some(ledger)) => recorded
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pinned(ledger, &key)?
                    .map(|(digest, by)| (digest, Pinned::by(&by))),
                (None, None) => store.pin(&key)?.map(|digest| (digest, Pinned::OnFirstUse)),
            };
            let (pinned, by) = match pinned {
                Some(p) => p,
                None => {
                    // First sight: pin it, on the record first.
                    let mut ev = AuditEvent::new(EventKind::ToolPinned, now);
                    ev.tool = Some(key.clone());
                    ev.detail = Some(json!({"digest": seen, "by": FIRST_USE}));
                    audit.append(&ev)?;
                    store.set_pin(&key, &seen, FIRST_USE, now)?;
                    (seen.clone(), Pinned::OnFirstUse)
                }
            };
            Ok::<_, Failure>(if pinned == seen {
                (Status::Available, by)
            } else {
                (Status::Withheld { pinned, seen }, by)
            })
        })
        .await
    }

    /// The screen's report on each listed definition, in order: from the last screening where
    /// the definition is unchanged, else screened on a blocking thread (a definition can be
    /// large, and screening it is CPU work the async workers must not do).
    async fn screen_definitions(&self, listed: &[(crate::catalog::Entry, Tool)]) -> Vec<Report> {
        let keyed: Vec<(ToolName, String, bool)> = listed
            .iter()
            .map(|(entry, tool)| {
                let with_description = entry.spec.description.is_none();
                (
                    entry.spec.name.clone(),
                    screen_key(tool, with_description),
                    with_description,
                )
            })
            .collect();
        let mut known: Vec<Option<Report>> = {
            let cache = self
                .refresher
                .screened
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            keyed
                .iter()
                .map(|(name, key, _)| {
                    cache
                        .get(name)
                        .filter(|(k, _)| k == key)
                        .map(|(_, r)| r.clone())
                })
                .collect()
        };
        let todo: Vec<(usize, Tool, bool)> = listed
            .iter()
            .zip(&keyed)
            .enumerate()
            .filter(|(i, _)| known.get(*i).is_some_and(Option::is_none))
            .map(|(i, ((_, tool), (_, _, with)))| (i, tool.clone(), *with))
            .collect();
        if !todo.is_empty() {
            let screening = self.screening.clone();
            let screened = tokio::task::spawn_blocking(move || {
                todo.into_iter()
                    .map(|(i, tool, with)| (i, screening.scan_definition(&tool, with)))
                    .collect::<Vec<_>>()
            })
            .await;
            match screened {
                Ok(screened) => {
                    let mut cache = self
                        .refresher
                        .screened
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner);
                    for (i, report) in screened {
                        if let (Some(slot), Some((name, key, _))) = (known.get_mut(i), keyed.get(i))
                        {
                            cache.insert(name.clone(), (key.clone(), report.clone()));
                            *slot = Some(report);
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "definition screening failed"),
            }
        }
        // A definition the screen could not read is treated as the worst it could be.
        known
            .into_iter()
            .map(|r| r.unwrap_or_else(unscreened))
            .collect()
    }
}

/// Who the pin `by` names, as the ledger records it.
const FIRST_USE: &str = "first-use";

/// Who pinned a definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pinned {
    /// The config's `pin`, or a human with `warden tools pin`: someone read it.
    ByHuman,
    /// warden, the first time it saw the definition (or a row that does not say).
    OnFirstUse,
}

impl Pinned {
    fn by(by: &str) -> Self {
        // A record that names no one is not a human's review.
        match by.trim() {
            FIRST_USE | "" => Self::OnFirstUse,
            _ => Self::ByHuman,
        }
    }
}

/// The report for a definition whose screening did not finish: an injection, so it is
/// withheld rather than shown unscreened.
fn unscreened() -> Report {
    Report {
        score: 1.0,
        verdict: Verdict::Injection,
        findings: Vec::new(),
        normalised_changed: false,
    }
}
