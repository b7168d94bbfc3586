//! Review sampling: humans check a random, stratified sample of decisions, and a category whose
//! review falls behind needs a human for every call policy allows.
//!
//! The pure core — the seed, the draw, the Wilson interval, the sample size, each category's
//! status — takes values and returns values. The seed is the SHA-256 of a signed checkpoint's
//! size and root, and the population is the decisions inside that checkpoint, so anyone holding
//! the ledger and its public key re-derives the same sample: nobody chose which decisions were
//! looked at. Within each stratum (category × outcome) the decisions with the smallest
//! `SHA-256(seed ‖ index)` are drawn.
//!
//! Verdicts, and a category starting or stopping to need approval, are ledger events; the
//! gateway's in-memory copy of the tightened categories is recomputed from them (`review_check`).

use crate::failure::Failure;
use crate::pipeline::{CallError, Gateway};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use warden_core::{AuditEvent, EventKind, Judgement};
use warden_ledger::LeafKey;
use warden_policy::ReviewSettings;
use warden_store::ledger::{
    Deciding, LedgerEntry, event_pages, read_authentic_events, read_deciding_events, read_range,
};
use warden_store::{EventFilter, Ledger, LedgerError, Store, StoreError};

/// The 97.5% quantile of the standard normal distribution: two-sided 95%.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A two-sided 95% confidence interval for an error rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

/// The Wilson score interval for `wrong` errors in `n` reviewed decisions; `None` for `n = 0`.
/// Unlike the normal approximation it stays inside [0, 1] and is not zero-width at 0 errors.
pub fn wilson(wrong: u64, n: u64) -> Option<Interval> {
    if n == 0 || wrong > n {
        return None;
    }
    let n = n as f64;
    let p = wrong as f64 / n;
    let z2 = Z95 * Z95;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = Z95 / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    })
}

/// The fewest reviewed decisions whose Wilson upper bound is within `tolerance`, if the error
/// rate stays at `rate`; `None` when no sample size can show it (`rate ≥ tolerance`).
pub fn needed_sample(rate: f64, tolerance: f64) -> Option<u64> {
    if !(0.0..1.0).contains(&rate) || rate >= tolerance {
        return None;
    }
    let upper = |n: u64| {
        let wrong = (rate * n as f64).round() as u64;
        wilson(wrong, n).map_or(1.0, |i| i.high)
    };
    let (mut lo, mut hi) = (1_u64, 1_u64);
    while upper(hi) > tolerance {
        hi = hi.checked_mul(2)?;
        if hi > 100_000_000 {
            return None;
        }
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if upper(mid) <= tolerance {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(hi)
}

/// The sample's seed: SHA-256 of a domain tag, the checkpoint's size and its root.
pub fn seed(size: u64, root: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"warden review sample v1\n");
    h.update(size.to_be_bytes());
    h.update(root);
    h.finalize().into()
}

/// Where a decision falls in the sample: its category and what happened to it.
pub type Stratum = (String, String);

/// One decision that may be drawn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub index: u64,
    pub stratum: Stratum,
}

/// What was drawn from one stratum.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Drawn {
    pub population: usize,
    /// Leaf indices, in draw order.
    pub chosen: Vec<u64>,
}

/// How many of `population` to draw: `rate` of it (at least one) or `size`.
pub fn quota(population: usize, size: u32, rate: Option<f64>) -> usize {
    let want = match rate {
        Some(r) => ((population as f64) * r).ceil() as usize,
        None => usize::try_from(size).unwrap_or(usize::MAX),
    };
    want.max(1).min(population)
}

/// A decision's rank in the draw: `SHA-256(seed ‖ index)`, the leaf index as 8 big-endian
/// bytes. The smallest ranks of a stratum are drawn.
pub fn rank(seed: &[u8; 32], index: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(index.to_be_bytes());
    h.finalize().into()
}

/// Draws from each stratum the decisions with the smallest `SHA-256(seed ‖ index)`: the
/// definition of the draw, over every candidate at once, as anyone re-deriving a sample
/// offline computes it. `warden review sample` makes the same draw one decision at a time
/// ([`Sampler`], [`sample`]).
pub fn draw(
    seed: &[u8; 32],
    candidates: &[Candidate],
    size: u32,
    rate: Option<f64>,
) -> BTreeMap<Stratum, Drawn> {
    let mut strata: BTreeMap<Stratum, Vec<([u8; 32], u64)>> = BTreeMap::new();
    for c in candidates {
        strata
            .entry(c.stratum.clone())
            .or_default()
            .push((rank(seed, c.index), c.index));
    }
    strata
        .into_iter()
        .map(|(s, mut ranked)| {
            ranked.sort();
            let k = quota(ranked.len(), size, rate);
            let chosen = ranked.iter().take(k).map(|(_, i)| *i).collect();
            (
                s,
                Drawn {
                    population: ranked.len(),
                    chosen,
                },
            )
        })
        .collect()
}

/// How many a [`Sampler`] keeps of each stratum.
#[derive(Debug, Clone, PartialEq)]
pub enum Quota {
    /// `size` of every stratum (all of a smaller one).
    Size(u32),
    /// `rate` of each stratum, at least one: the strata's populations are counted first, since
    /// the share of a stratum depends on its size.
    Rate {
        rate: f64,
        populations: BTreeMap<Stratum, usize>,
    },
}

impl Quota {
    fn of(&self, stratum: &Stratum) -> usize {
        match self {
            Self::Size(size) => quota(usize::MAX, *size, None),
            Self::Rate { rate, populations } => quota(
                populations.get(stratum).copied().unwrap_or_default(),
                0,
                Some(*rate),
            ),
        }
    }
}

/// One stratum as a [`Sampler`] keeps it: how many were offered, and the best ranks so far.
#[derive(Debug, Default)]
struct Kept {
    population: usize,
    quota: usize,
    /// The `quota` smallest `(rank, index)` offered so far; the largest of them on top.
    best: BinaryHeap<([u8; 32], u64)>,
}

/// What became of one candidate offered to a [`Sampler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Offered {
    /// The candidate is among the best of its stratum so far.
    pub kept: bool,
    /// The candidate that it pushed out of its stratum's best, if any.
    pub dropped: Option<u64>,
}

/// [`draw`] made one candidate at a time: each stratum keeps its quota of the best ranks seen
/// so far in a heap whose top is the worst of them, so what is held is the sample's size,
/// however many decisions are offered. Offered the same candidates, in any order, it chooses
/// what [`draw`] chooses, in the same order.
#[derive(Debug)]
pub struct Sampler {
    seed: [u8; 32],
    quota: Quota,
    strata: BTreeMap<Stratum, Kept>,
}

impl Sampler {
    pub fn new(seed: [u8; 32], quota: Quota) -> Self {
        Self {
            seed,
            quota,
            strata: BTreeMap::new(),
        }
    }

    pub fn offer(&mut self, candidate: Candidate) -> Offered {
        let ranked = (rank(&self.seed, candidate.index), candidate.index);
        let kept = match self.strata.get_mut(&candidate.stratum) {
            Some(kept) => kept,
            None => {
                let quota = self.quota.of(&candidate.stratum);
                self.strata.entry(candidate.stratum).or_insert(Kept {
                    quota,
                    ..Kept::default()
                })
            }
        };
        kept.population += 1;
        if kept.best.len() < kept.quota {
            kept.best.push(ranked);
            return Offered {
                kept: true,
                dropped: None,
            };
        }
        match kept.best.peek() {
            Some(worst) if ranked < *worst => {
                let dropped = kept.best.pop().map(|(_, i)| i);
                kept.best.push(ranked);
                Offered {
                    kept: true,
                    dropped,
                }
            }
            _ => Offered {
                kept: false,
                dropped: None,
            },
        }
    }

    /// Candidates held now, over all strata: at most the sample's size.
    pub fn held(&self) -> usize {
        self.strata.values().map(|k| k.best.len()).sum()
    }

    /// What was drawn from each stratum, in draw order (smallest rank first).
    pub fn finish(self) -> BTreeMap<Stratum, Drawn> {
        self.strata
            .into_iter()
            .map(|(s, kept)| {
                let chosen = kept
                    .best
                    .into_sorted_vec()
                    .into_iter()
                    .map(|(_, i)| i)
                    .collect();
                (
                    s,
                    Drawn {
                        population: kept.population,
                        chosen,
                    },
                )
            })
            .collect()
    }
}

/// What happened to a decision, for stratifying: allow and deny as decided; a hold by what the
/// humans did with it (approved, denied, expired) or `held` while it waits.
pub fn stratum_outcome(decision: &str, request_outcome: Option<&str>) -> String {
    match (decision, request_outcome) {
        ("hold", Some(o)) => o.to_string(),
        ("hold", None) => "held".into(),
        (d, _) => d.to_string(),
    }
}

/// Which decisions a review sample is drawn from: those inside a signed checkpoint (leaf index
/// below its `size`) recorded in the window `since_ms..=until_ms` that ends at its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Population {
    pub size: u64,
    pub since_ms: i64,
    pub until_ms: i64,
}

impl Population {
    fn decisions(&self) -> EventFilter {
        EventFilter {
            kind: Some(EventKind::Decision.as_str().into()),
            since_ms: Some(self.since_ms),
            until_ms: Some(self.until_ms),
            index_below: Some(self.size),
            ..EventFilter::default()
        }
    }
}

/// Decisions (or approval steps) read per store query while a sample is drawn.
pub const SAMPLE_PAGE: usize = 500;

/// A drawn sample: what each stratum gave, and the chosen decisions themselves.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Decisions in the population.
    pub population: usize,
    pub strata: BTreeMap<Stratum, Drawn>,
    /// The chosen decisions, by leaf index.
    pub chosen: BTreeMap<u64, LedgerEntry>,
}

/// The fate of each held call in the population: the last answering step (`approved`,
/// `denied`, `expired`) of its request inside the checkpoint. The holds' requests are read
/// first, then the approval steps, a page at a time each; what is kept is one short entry per
/// held call in the window (its request and, once answered, its fate), never the decisions.
fn fates(
    store: &dyn Store,
    population: &Population,
) -> Result<HashMap<String, Option<&'static str>>, StoreError> {
    let holds = EventFilter {
        decision: Some("hold".into()),
        ..population.decisions()
    };
    let mut fate: HashMap<String, Option<&'static str>> = HashMap::new();
    for page in event_pages(store, &holds, SAMPLE_PAGE) {
        for e in page? {
            if let Some(id) = e.event.request_id {
                fate.insert(id, None);
            }
        }
    }
    if fate.is_empty() {
        return Ok(fate);
    }
    // A retry that ran is a decision of its own on the same request, after the approval, so
    // the steps are read from the ledger's start, not from the window's.
    let answers = EventFilter {
        kind: Some(EventKind::Approval.as_str().into()),
        index_below: Some(population.size),
        ..EventFilter::default()
    };
    for page in event_pages(store, &answers, SAMPLE_PAGE) {
        for e in page? {
            let step = e
                .event
                .detail
                .as_ref()
                .and_then(|d| d.get("step"))
                .and_then(|s| s.as_str());
            let step = match step {
                Some("approved") => "approved",
                Some("denied") => "denied",
                Some("expired") => "expired",
                _ => continue,
            };
            if let Some(known) = e.event.request_id.and_then(|id| fate.get_mut(&id)) {
                *known = Some(step);
            }
        }
    }
    Ok(fate)
}

/// The decisions of `population` as candidates, a page at a time, each with its stratum.
fn candidates_in<'a>(
    store: &'a dyn Store,
    population: &Population,
    fate: &'a HashMap<String, Option<&'static str>>,
) -> impl Iterator<Item = Result<Vec<(Candidate, LedgerEntry)>, StoreError>> + 'a {
    event_pages(store, &population.decisions(), SAMPLE_PAGE).map(move |page| {
        Ok(page?
            .into_iter()
            .map(|e| {
                let ev = &e.event;
                let outcome = stratum_outcome(
                    ev.decision.as_deref().unwrap_or_default(),
                    ev.request_id
                        .as_ref()
                        .and_then(|r| fate.get(r))
                        .copied()
                        .flatten(),
                );
                let candidate = Candidate {
                    index: e.index,
                    stratum: (ev.category.clone().unwrap_or_default(), outcome),
                };
                (candidate, e)
            })
            .collect())
    })
}

/// The size of each stratum of `population`, counted a page at a time.
fn populations(
    store: &dyn Store,
    population: &Population,
    fate: &HashMap<String, Option<&'static str>>,
) -> Result<BTreeMap<Stratum, usize>, StoreError> {
    let mut counts = BTreeMap::new();
    for page in candidates_in(store, population, fate) {
        for (c, _) in page? {
            *counts.entry(c.stratum).or_default() += 1;
        }
    }
    Ok(counts)
}

/// Draws the review sample of `population` with `seed`: the draw of [`draw`] over every
/// decision inside the checkpoint and the window, made while the decisions are read a page at
/// a time ([`Sampler`]). What is held at once is one page, the sample (the chosen decisions
/// so far) and the fate of the held calls in the window, never every decision.
/// With a `rate`, the strata are counted first, in a pass of their own.
pub fn sample(
    store: &dyn Store,
    population: &Population,
    seed: &[u8; 32],
    size: u32,
    rate: Option<f64>,
) -> Result<Sample, StoreError> {
    let fate = fates(store, population)?;
    let quota = match rate {
        None => Quota::Size(size),
        Some(rate) => Quota::Rate {
            rate,
            populations: populations(store, population, &fate)?,
        },
    };
    let mut sampler = Sampler::new(*seed, quota);
    let mut out = Sample::default();
    for page in candidates_in(store, population, &fate) {
        for (candidate, entry) in page? {
            out.population += 1;
            let offered = sampler.offer(candidate);
            if let Some(dropped) = offered.dropped {
                out.chosen.remove(&dropped);
            }
            if offered.kept {
                out.chosen.insert(entry.index, entry);
            }
        }
    }
    out.strata = sampler.finish();
    Ok(out)
}

/// A reviewer's verdict, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub decision_index: u64,
    pub category: String,
    pub correct: bool,
    pub reviewer: String,
    pub note: String,
    pub time_ms: i64,
    pub index: u64,
}

impl Verdict {
    pub fn from_entry(e: &LedgerEntry) -> Option<Self> {
        let d = e.event.detail.as_ref()?;
        Some(Self {
            decision_index: d.get("decision_index")?.as_u64()?,
            category: e.event.category.clone()?,
            correct: d.get("verdict")?.as_str()? == "correct",
            reviewer: d.get("reviewer")?.as_str()?.to_string(),
            note: d
                .get("note")
                .and_then(|n| n.as_str())
                .unwrap_or_default()
                .to_string(),
            time_ms: e.event.time_ms,
            index: e.index,
        })
    }
}

/// Why a verdict was not recorded. Every front (`warden review verdict`, the console) gets
/// these from [`record_verdict`], so none can apply a looser rule.
#[derive(Debug, thiserror::Error)]
pub enum VerdictError {
    #[error("give a note: what did you check?")]
    NoNote,
    #[error("`{0}` is not a configured approver")]
    NotAnApprover(String),
    #[error("the ledger has no leaf {0}")]
    NoLeaf(u64),
    #[error("leaf {index} is a `{kind}` event, not a decision")]
    NotADecision { index: u64, kind: String },
    #[error("`{reviewer}` does not review category `{category}`")]
    NotTheirCategory { reviewer: String, category: String },
    /// The reviewer made the decision under review, or part of it: another approver of the
    /// category judges it.
    #[error(
        "`{reviewer}` cannot judge decision {index}: it is their own ({how}); another approver \
         of its category reviews it"
    )]
    OwnDecision {
        reviewer: String,
        index: u64,
        how: String,
    },
    #[error("the verdict could not be recorded: {0}")]
    Failed(#[from] Failure),
}

impl VerdictError {
    /// Whether the reviewer can do something about it (a refusal), as opposed to a failure
    /// inside warden.
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Failed(_))
    }
}

/// A verdict as recorded: its own leaf and the decision it judges.
#[derive(Debug, Clone)]
pub struct RecordedVerdict {
    /// The `review_verdict` event's leaf index.
    pub index: u64,
    pub decision: LedgerEntry,
    pub judgement: Judgement,
}

/// Records `reviewer`'s judgement of the decision at leaf `decision_index` as a
/// `review_verdict` event. The one place the rules live: the reviewer is a configured approver
/// of the decision's category (or `*`), the leaf is a decision, and the note says what was
/// checked. Who the reviewer is (token, console session) is established by the caller.
#[expect(clippy::too_many_arguments, reason = "each is one fact of the verdict")]
pub fn record_verdict(
    store: &dyn Store,
    audit: &dyn crate::AuditLog,
    config: &warden_policy::Config,
    decision_index: u64,
    reviewer: &str,
    judgement: Judgement,
    note: &str,
    now_ms: i64,
) -> Result<RecordedVerdict, VerdictError> {
    let note = note.trim();
    if note.is_empty() {
        return Err(VerdictError::NoNote);
    }
    let Some(approver) = config.approvals.approvers.iter().find(|x| x.id == reviewer) else {
        return Err(VerdictError::NotAnApprover(reviewer.to_string()));
    };
    // The decision as a writer holding the ledger key appended it: a row rewritten (its
    // request, category or rule changed to pass the checks below) is not what is judged.
    let Some(key) = audit.leaf_key() else {
        return Err(VerdictError::Failed(Failure::warden(
            "this process holds no ledger key to check the decision against",
        )));
    };
    let found = read_authentic_events(
        store,
        &EventFilter {
            index_from: Some(decision_index),
            index_below: Some(decision_index.saturating_add(1)),
            ..Default::default()
        },
        key,
    )
    .map_err(Failure::from)?;
    if !found.rejected.is_empty() {
        return Err(VerdictError::Failed(Failure::warden(format!(
            "leaf {decision_index} is not stored as warden appended it (run `warden audit \
             verify`)"
        ))));
    }
    let Some(entry) = found
        .events
        .into_iter()
        .map(|a| a.into_entry())
        .find(|e| e.index == decision_index)
    else {
        return Err(VerdictError::NoLeaf(decision_index));
    };
    let d = &entry.event;
    if d.kind != Some(EventKind::Decision) {
        return Err(VerdictError::NotADecision {
            index: decision_index,
            kind: d.kind.map_or("unknown", EventKind::as_str).to_string(),
        });
    }
    let category = d.category.clone().unwrap_or_default();
    if !approver
        .categories
        .iter()
        .any(|c| c == "*" || *c == category)
    {
        return Err(VerdictError::NotTheirCategory {
            reviewer: reviewer.to_string(),
            category,
        });
    }
    if let Some(how) = own_part(audit, config, &entry, reviewer)? {
        return Err(VerdictError::OwnDecision {
            reviewer: reviewer.to_string(),
            index: decision_index,
            how,
        });
    }
    let mut ev = AuditEvent::new(EventKind::ReviewVerdict, now_ms);
    ev.principal = d.principal.clone();
    ev.session = d.session.clone();
    ev.tool = d.tool.clone();
    ev.decision = d.decision.clone();
    ev.rule = d.rule.clone();
    ev.owner = d.owner.clone();
    ev.category = d.category.clone();
    ev.policy_version = d.policy_version.clone();
    ev.reason = Some(note.to_string());
    ev.detail = Some(json!({
        "decision_index": decision_index,
        "verdict": judgement.as_str(),
        "note": note,
        "reviewer": reviewer,
    }));
    let index = audit.append(&ev).map_err(Failure::from)?;
    Ok(RecordedVerdict {
        index,
        decision: entry,
        judgement,
    })
}

/// What part `reviewer` had in the decision at `entry`, if any: they are its agent, they
/// approved the grant whose rule decided it, or they answered its request (approved or denied
/// it, on the hold or on the retry that ran). The request's steps are read from the ledger's
/// own index where this process holds the key, so a row rewritten to hide an answer hides
/// nothing.
fn own_part(
    audit: &dyn crate::AuditLog,
    config: &warden_policy::Config,
    entry: &LedgerEntry,
    reviewer: &str,
) -> Result<Option<String>, VerdictError> {
    let d = &entry.event;
    if d.principal.as_deref() == Some(reviewer) {
        return Ok(Some("they are the agent that made the call".into()));
    }
    // The grants recorded with the decision (`detail.grants`), and those of the config in
    // force that carry its rule or the permission beneath it.
    let recorded = d
        .detail
        .as_ref()
        .and_then(|x| x.get("grants"))
        .and_then(|g| g.as_array())
        .into_iter()
        .flatten()
        .filter_map(|g| {
            Some((
                g.get("id")?.as_str()?.to_string(),
                g.get("approver")?.as_str()?.to_string(),
            ))
        });
    let permitted_by = d
        .detail
        .as_ref()
        .and_then(|x| x.get("permitted_by"))
        .and_then(|p| p.as_str());
    let configured = config
        .grants_deciding(d.rule.as_deref(), permitted_by)
        .map(|g| (g.id.clone(), g.approver.clone()));
    if let Some((id, _)) = recorded
        .chain(configured)
        .find(|(_, approver)| approver == reviewer)
    {
        return Ok(Some(format!(
            "they approved grant `{id}`, which decided it"
        )));
    }
    let Some(request) = d.request_id.as_deref() else {
        return Ok(None);
    };
    let ledger = audit.ledger().ok_or_else(|| {
        VerdictError::Failed(Failure::warden(
            "this process holds no ledger to read the request's answers from",
        ))
    })?;
    let steps = ledger.recorded_steps(request).map_err(Failure::from)?;
    Ok(steps.iter().find_map(|a| {
        let detail = a.event().detail.as_ref()?;
        let step = detail.get("step")?.as_str()?;
        (detail.get("approver")?.as_str()? == reviewer)
            .then(|| format!("they {step} its request `{request}`"))
    }))
}

/// Where one category's review stands.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryStatus {
    pub category: String,
    /// Decisions with a verdict (the latest verdict on each counts).
    pub reviewed: u64,
    pub wrong: u64,
    pub interval: Option<Interval>,
    pub tolerance: f64,
    /// Reviewed decisions needed to show the error rate within tolerance, at the observed rate
    /// (0 when none reviewed yet); `None` when the observed rate is above it.
    pub needed: Option<u64>,
    pub last_review_ms: Option<i64>,
    /// When the next review is due.
    pub due_ms: i64,
    pub overdue: bool,
    /// The upper bound of the error rate exceeds the tolerance (only once there are verdicts).
    pub over_tolerance: bool,
    pub fallback_approval: bool,
}

impl CategoryStatus {
    /// Whether allowed calls in this category need approval now.
    pub fn tightened(&self) -> bool {
        self.fallback_approval && (self.overdue || self.over_tolerance)
    }

    /// Why, for the decision's reason and the ledger.
    pub fn why(&self) -> String {
        let mut parts = Vec::new();
        if self.overdue {
            parts.push("its review is overdue".to_string());
        }
        if self.over_tolerance
            && let Some(i) = self.interval
        {
            parts.push(format!(
                "its error rate may be up to {:.1}% (95% bound), over the {:.1}% tolerated",
                i.high * 100.0,
                self.tolerance * 100.0
            ));
        }
        parts.join(" and ")
    }
}

/// The verdicts that count for the review state: the latest on each decision, and when each
/// category was last reviewed. Built up one verdict at a time, in any order, so a sweep adds
/// only the verdicts recorded since the last one ([`RecordedVerdicts`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdicts {
    /// The latest verdict (highest leaf index) on each decision, by the decision's leaf index.
    latest: BTreeMap<u64, Verdict>,
    /// The time of each category's newest verdict, superseded or not: reviewing a decision
    /// again is a review too.
    last_review_ms: BTreeMap<String, i64>,
}

impl Verdicts {
    pub fn add(&mut self, v: Verdict) {
        let last = self
            .last_review_ms
            .entry(v.category.clone())
            .or_insert(v.time_ms);
        *last = (*last).max(v.time_ms);
        if self
            .latest
            .get(&v.decision_index)
            .is_none_or(|x| x.index < v.index)
        {
            self.latest.insert(v.decision_index, v);
        }
    }
}

impl FromIterator<Verdict> for Verdicts {
    fn from_iter<I: IntoIterator<Item = Verdict>>(iter: I) -> Self {
        let mut verdicts = Self::default();
        for v in iter {
            verdicts.add(v);
        }
        verdicts
    }
}

/// Each category's review status at `now_ms`. A category never reviewed is due one period
/// after `start_ms` (when the ledger began).
pub fn status(
    settings: &ReviewSettings,
    categories: &BTreeSet<String>,
    verdicts: &Verdicts,
    start_ms: i64,
    now_ms: i64,
) -> Vec<CategoryStatus> {
    categories
        .iter()
        .map(|c| {
            let cfg = settings.for_category(c);
            let mine: Vec<&Verdict> = verdicts
                .latest
                .values()
                .filter(|v| &v.category == c)
                .collect();
            let reviewed = mine.len() as u64;
            let wrong = mine.iter().filter(|v| !v.correct).count() as u64;
            let interval = wilson(wrong, reviewed);
            let rate = if reviewed == 0 {
                0.0
            } else {
                wrong as f64 / reviewed as f64
            };
            let last_review_ms = verdicts.last_review_ms.get(c).copied();
            let every = i64::try_from(cfg.every.as_millis()).unwrap_or(i64::MAX);
            let due_ms = last_review_ms.unwrap_or(start_ms).saturating_add(every);
            CategoryStatus {
                category: c.clone(),
                reviewed,
                wrong,
                interval,
                tolerance: cfg.tolerance,
                needed: needed_sample(rate, cfg.tolerance),
                last_review_ms,
                due_ms,
                overdue: now_ms >= due_ms,
                over_tolerance: interval.is_some_and(|i| i.high > cfg.tolerance),
                fallback_approval: cfg.fallback_approval,
            }
        })
        .collect()
}

/// Everything the review status is computed from, read from the store.
/// With the ledger, only verdicts its writers appended count, found through its own index
/// ([`crate::recorded::every`]): a verdict written into the store by hand keeps no category
/// from being tightened, and a `wrong` verdict hidden from the store's index columns still
/// counts.
pub fn read_status(
    store: &dyn Store,
    ledger: Option<&Ledger>,
    settings: &ReviewSettings,
    categories: &BTreeSet<String>,
    now_ms: i64,
) -> Result<Vec<CategoryStatus>, Failure> {
    let verdicts: Verdicts = crate::recorded::every(store, ledger, Deciding::ReviewVerdict)?
        .iter()
        .filter_map(Verdict::from_entry)
        .collect();
    let start_ms = began_ms(store, ledger)?.unwrap_or(now_ms);
    Ok(status(settings, categories, &verdicts, start_ms, now_ms))
}

/// When the ledger began: with the ledger, as its writer read leaf 0; without, leaf 0's row.
fn began_ms(store: &dyn Store, ledger: Option<&Ledger>) -> Result<Option<i64>, Failure> {
    Ok(match ledger {
        Some(ledger) => ledger.began_ms(),
        None => read_range(store, 0, 1)?.first().map(|e| e.event.time_ms),
    })
}

/// Known verdict leaves a sweep checks again, at most, besides reading the new ones.
pub const RECHECK_PER_SWEEP: usize = 64;

/// The verdicts the ledger records, as read so far, kept between sweeps so that each sweep
/// reads only the verdict leaves appended since the last ([`crate::recorded::Cursor`]) — the
/// ledger only grows — instead of every verdict again.
///
/// A verdict leaf once read must still make the review state unreadable when it is later
/// deleted or rewritten in the store. Each sweep therefore also checks up to
/// [`RECHECK_PER_SWEEP`] of the verdict leaves read before, in turn, wrapping round
/// ([`Ledger::recheck`]: the row is read back and must hash to what the ledger's writer read;
/// one row each, nothing decoded). With up to that many verdicts every one is checked on every
/// sweep, as before; with more, each is checked at least once every
/// `ceil(verdicts / RECHECK_PER_SWEEP)` sweeps. That delay is sound because the check is an
/// alarm, not the source of the state: the verdicts kept here are the bytes the writer
/// authenticated when they were read, so a row deleted or rewritten afterwards changes no
/// status this process computes; found, it makes every later sweep fail (fail closed), and a
/// restart refuses a store that no longer matches its signed checkpoint anyway. Deleting or
/// replacing the newest leaf is found at once by [`Ledger::sync`].
#[derive(Debug, Default)]
pub struct RecordedVerdicts {
    cursor: crate::recorded::Cursor,
    verdicts: Verdicts,
    /// Where the next check of known verdict leaves starts.
    recheck_from: u64,
}

impl RecordedVerdicts {
    /// Checks a turn of the known verdict leaves, then reads the ones appended since the last
    /// refresh. An error reads nothing and moves nothing on: the next refresh checks the same
    /// leaves again, so a leaf found gone keeps failing every refresh.
    pub fn refresh(&mut self, ledger: &Ledger) -> Result<&Verdicts, LedgerError> {
        let next = ledger.recheck(
            &[Deciding::ReviewVerdict],
            self.recheck_from,
            self.cursor.next(),
            RECHECK_PER_SWEEP,
        )?;
        let new = self
            .cursor
            .read_new(ledger, &[Deciding::ReviewVerdict], None)?;
        self.recheck_from = next;
        for entry in &new {
            if let Some(v) = Verdict::from_entry(entry) {
                self.verdicts.add(v);
            }
        }
        Ok(&self.verdicts)
    }
}

/// What the sweep keeps between passes: the verdicts read so far, and each category's state
/// as the `review_tightening` events read so far record it (read on from `tightening_from`).
#[derive(Debug, Default)]
struct ReviewRecord {
    verdicts: RecordedVerdicts,
    tightening_from: u64,
    recorded_tight: BTreeMap<String, bool>,
}

impl ReviewRecord {
    /// Reads the `review_tightening` events appended since the last read.
    fn read_tightenings(
        &mut self,
        store: &dyn Store,
        key: Option<&LeafKey>,
    ) -> Result<(), Failure> {
        for e in read_deciding_events(
            store,
            &EventFilter {
                kind: Some(EventKind::ReviewTightening.as_str().into()),
                index_from: Some(self.tightening_from),
                ..EventFilter::default()
            },
            key,
        )? {
            let tightened = e
                .event
                .detail
                .as_ref()
                .and_then(|d| d.get("state"))
                .is_some_and(|s| s == "tightened");
            self.recorded_tight
                .insert(e.event.category.clone().unwrap_or_default(), tightened);
            self.tightening_from = self.tightening_from.max(e.index.saturating_add(1));
        }
        Ok(())
    }
}

/// The categories whose allowed calls need approval, each with why.
#[derive(Debug, Default)]
pub struct Tightened {
    state: RwLock<Arc<BTreeMap<String, String>>>,
    /// What the sweep read so far; one sweep at a time holds it.
    record: Arc<Mutex<ReviewRecord>>,
}

impl Tightened {
    pub fn reason(&self, category: &str) -> Option<String> {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(category)
            .cloned()
    }

    fn put(&self, map: BTreeMap<String, String>) {
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(map);
    }
}

impl Gateway {
    /// Recomputes which categories need approval because of their review, records every change
    /// (`review_tightening`, tightened or relaxed) and applies it to the following calls.
    /// Returns the changes.
    pub async fn review_check(&self) -> Result<Vec<(String, bool)>, CallError> {
        let config = self.config();
        let categories: BTreeSet<String> = config
            .tools
            .values()
            .map(|t| t.labels.category.clone())
            .collect();
        let now = self.now();
        // Where the record cannot be read (a verdict's row deleted or rewritten, the store
        // down), every category with the approval fallback needs approval until it can.
        let unknown: BTreeMap<String, String> = categories
            .iter()
            .filter(|c| config.review.for_category(c).fallback_approval)
            .map(|c| (c.clone(), "its review state cannot be read".to_string()))
            .collect();
        let record = self.tightened.record.clone();
        let changes = self
            .blocking(move |store, audit| {
                let mut record = record.lock().unwrap_or_else(PoisonError::into_inner);
                let statuses = match audit.ledger() {
                    // With the ledger: only what was appended since the last sweep is read.
                    Some(ledger) => {
                        let start_ms = ledger.began_ms().unwrap_or(now);
                        let verdicts = record.verdicts.refresh(ledger)?;
                        status(&config.review, &categories, verdicts, start_ms, now)
                    }
                    None => read_status(store, None, &config.review, &categories, now)?,
                };
                record.read_tightenings(store, audit.leaf_key())?;
                let current = record.recorded_tight.clone();
                let mut changes = Vec::new();
                let mut now_tight = BTreeMap::new();
                for s in &statuses {
                    let want = s.tightened();
                    if want {
                        now_tight.insert(s.category.clone(), s.why());
                    }
                    if current.get(&s.category).copied().unwrap_or(false) == want {
                        continue;
                    }
                    let mut ev = AuditEvent::new(EventKind::ReviewTightening, now);
                    ev.category = Some(s.category.clone());
                    ev.owner = config.owners.get(&s.category).cloned();
                    ev.reason = Some(if want {
                        format!("allowed calls need approval: {}", s.why())
                    } else {
                        "the review is current and within tolerance: policy decides alone again"
                            .into()
                    });
                    ev.detail = Some(json!({
                        "state": if want { "tightened" } else { "relaxed" },
                        "overdue": s.overdue,
                        "over_tolerance": s.over_tolerance,
                        "reviewed": s.reviewed,
                        "wrong": s.wrong,
                        "upper_bound": s.interval.map(|i| i.high),
                        "tolerance": s.tolerance,
                        "due_ms": s.due_ms,
                    }));
                    audit.append(&ev)?;
                    changes.push((s.category.clone(), want));
                }
                Ok::<_, Failure>((changes, now_tight))
            })
            .await;
        let (changes, tight) = match changes {
            Ok(changes) => changes,
            Err(e) => {
                self.tightened.put(unknown);
                return Err(e);
            }
        };
        self.tightened.put(tight);
        Ok(changes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_worked_example() {
        // 2 wrong of 50: p = 0.04, z² = 3.8415; centre = (0.04 + 0.038415) / 1.076829 = 0.072820,
        // half-width = 1.959964 × sqrt(0.000768 + 0.000384146) / 1.076829 = 0.061781.
        let i = wilson(2, 50).unwrap();
        assert!((i.low - 0.011_039).abs() < 1e-5, "{i:?}");
        assert!((i.high - 0.134_602).abs() < 1e-5, "{i:?}");
        // No errors in 20: the upper bound is z² / (n + z²), not zero.
        let i = wilson(0, 20).unwrap();
        assert_eq!(i.low, 0.0);
        assert!((i.high - 3.841_459 / 23.841_459).abs() < 1e-6, "{i:?}");
        assert_eq!(wilson(0, 0), None);
    }

    #[test]
    fn the_needed_sample_is_the_first_within_tolerance() {
        // With no errors: n ≥ z²(1 − t)/t = 72.98 for t = 5%.
        assert_eq!(needed_sample(0.0, 0.05), Some(73));
        assert!(wilson(0, 73).unwrap().high <= 0.05);
        assert!(wilson(0, 72).unwrap().high > 0.05);
        let n = needed_sample(0.01, 0.05).unwrap();
        assert!(n > 73, "{n}");
        assert_eq!(needed_sample(0.06, 0.05), None);
    }

    fn candidates() -> Vec<Candidate> {
        (0..300)
            .map(|i| Candidate {
                index: i,
                stratum: (
                    ["triage", "containment", "identity"][(i % 3) as usize].to_string(),
                    if i % 10 == 0 { "deny" } else { "allow" }.to_string(),
                ),
            })
            .collect()
    }

    #[test]
    fn the_sample_is_reproducible_from_the_checkpoint_and_stratified() {
        let root = [7_u8; 32];
        let a = draw(&seed(300, &root), &candidates(), 4, None);
        let b = draw(&seed(300, &root), &candidates(), 4, None);
        assert_eq!(a, b, "the same checkpoint gives the same sample");
        // Every stratum is sampled, each from its own decisions only.
        assert_eq!(a.len(), 6);
        let all = candidates();
        for (stratum, drawn) in &a {
            assert_eq!(drawn.chosen.len(), 4);
            let population = all.iter().filter(|c| &c.stratum == stratum).count();
            assert_eq!(drawn.population, population);
            for i in &drawn.chosen {
                assert_eq!(&all[*i as usize].stratum, stratum);
            }
        }
        // The rare stratum (denials: 10 per category) is sampled as fully as the common one.
        assert_eq!(
            a[&("triage".to_string(), "deny".to_string())].chosen.len(),
            4
        );
        // Another checkpoint gives another sample.
        let c = draw(&seed(301, &root), &candidates(), 4, None);
        assert_ne!(a, c);
        let d = draw(&seed(300, &[8; 32]), &candidates(), 4, None);
        assert_ne!(a, d);
        // A rate takes that share of each stratum, at least one.
        let r = draw(&seed(300, &root), &candidates(), 4, Some(0.1));
        assert_eq!(
            r[&("triage".to_string(), "allow".to_string())].chosen.len(),
            9
        );
        assert_eq!(
            r[&("triage".to_string(), "deny".to_string())].chosen.len(),
            1
        );
    }

    /// The sampler holds at most its quota of each stratum, however many decisions it is
    /// offered, and chooses what the draw over all of them at once chooses, in any order.
    #[test]
    fn the_sampler_holds_the_sample_and_draws_what_the_draw_does() {
        let root = [7_u8; 32];
        let many: Vec<Candidate> = (0..20_000)
            .map(|i| Candidate {
                index: i,
                stratum: (
                    ["triage", "containment", "identity"][(i % 3) as usize].to_string(),
                    if i % 10 == 0 { "deny" } else { "allow" }.to_string(),
                ),
            })
            .collect();
        let seed = seed(20_000, &root);
        let mut sampler = Sampler::new(seed, Quota::Size(4));
        let mut most = 0;
        for c in many.iter().rev() {
            sampler.offer(c.clone());
            most = most.max(sampler.held());
        }
        assert_eq!(most, 6 * 4, "held more than the sample");
        assert_eq!(sampler.finish(), draw(&seed, &many, 4, None));
        // A rate: the strata counted first, then the same share of each.
        let mut populations = BTreeMap::new();
        for c in &many {
            *populations.entry(c.stratum.clone()).or_default() += 1;
        }
        let mut sampler = Sampler::new(
            seed,
            Quota::Rate {
                rate: 0.01,
                populations,
            },
        );
        for c in &many {
            sampler.offer(c.clone());
        }
        assert_eq!(sampler.finish(), draw(&seed, &many, 4, Some(0.01)));
    }

    fn settings(fallback: bool) -> ReviewSettings {
        let c = warden_policy::CategoryReview {
            every: std::time::Duration::from_secs(7 * 86_400),
            tolerance: 0.1,
            fallback_approval: fallback,
        };
        ReviewSettings {
            size: 5,
            rate: None,
            default: c.clone(),
            categories: BTreeMap::from([("containment".to_string(), c)]),
        }
    }

    fn verdict(i: u64, correct: bool, time_ms: i64) -> Verdict {
        Verdict {
            decision_index: i,
            category: "containment".into(),
            correct,
            reviewer: "dana".into(),
            note: String::new(),
            time_ms,
            index: 1000 + i,
        }
    }

    /// A store that counts the ledger rows and sealed contents read through it, and hides the
    /// leaves in `hidden` as if someone had deleted their rows.
    struct Counting {
        inner: warden_store::SqliteStore,
        rows: std::sync::atomic::AtomicUsize,
        sealed: std::sync::atomic::AtomicUsize,
        hidden: Mutex<BTreeSet<u64>>,
    }

    impl Counting {
        fn reads(&self) -> (usize, usize) {
            use std::sync::atomic::Ordering::SeqCst;
            (self.rows.swap(0, SeqCst), self.sealed.swap(0, SeqCst))
        }
    }

    use warden_ledger::{LeafKey, SealedContent, StoredLeaf};
    use warden_store::{
        AgentTaint, ConsoleSessionRow, Halt, LeafRow, NewLeaf, OpenRequests, PendingRequest,
        RequestFilter, StoreError, StoredCheckpoint, TaintInForce, TaintRecord, WaitingAfter,
    };

    impl Store for Counting {
        fn ledger_append(&self, leaves: &[NewLeaf], key: &LeafKey) -> Result<u64, StoreError> {
            self.inner.ledger_append(leaves, key)
        }
        fn ledger_size(&self) -> Result<u64, StoreError> {
            self.inner.ledger_size()
        }
        fn ledger_leaves(
            &self,
            from: u64,
            limit: usize,
        ) -> Result<Vec<StoredLeaf<Vec<u8>>>, StoreError> {
            self.inner.ledger_leaves(from, limit)
        }
        fn ledger_rows(&self, from: u64, limit: usize) -> Result<Vec<LeafRow>, StoreError> {
            self.rows.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let hidden = self.hidden.lock().unwrap().clone();
            Ok(self
                .inner
                .ledger_rows(from, limit.saturating_add(hidden.len()))?
                .into_iter()
                .filter(|r| !hidden.contains(&r.leaf.index))
                .take(limit)
                .collect())
        }
        fn ledger_find(&self, filter: &EventFilter) -> Result<Vec<LeafRow>, StoreError> {
            self.inner.ledger_find(filter)
        }
        fn ledger_sealed(
            &self,
            from: u64,
            to: u64,
        ) -> Result<Vec<(u64, SealedContent)>, StoreError> {
            self.sealed
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            self.inner.ledger_sealed(from, to)
        }
        fn ledger_redact(&self, index: u64) -> Result<Vec<String>, StoreError> {
            self.inner.ledger_redact(index)
        }
        fn ledger_add_checkpoint(&self, c: &StoredCheckpoint) -> Result<bool, StoreError> {
            self.inner.ledger_add_checkpoint(c)
        }
        fn ledger_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
            self.inner.ledger_checkpoints()
        }
        fn ledger_latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
            self.inner.ledger_latest_checkpoint()
        }
        fn create_pending(&self, r: &PendingRequest) -> Result<(), StoreError> {
            self.inner.create_pending(r)
        }
        fn pending(&self) -> Result<Vec<PendingRequest>, StoreError> {
            self.inner.pending()
        }
        fn requests(&self, f: &RequestFilter) -> Result<Vec<PendingRequest>, StoreError> {
            self.inner.requests(f)
        }
        fn count_requests(&self, f: &RequestFilter) -> Result<u64, StoreError> {
            self.inner.count_requests(f)
        }
        fn open_requests(&self) -> Result<OpenRequests, StoreError> {
            self.inner.open_requests()
        }
        fn waiting(
            &self,
            after: Option<&WaitingAfter>,
            limit: usize,
        ) -> Result<Vec<PendingRequest>, StoreError> {
            self.inner.waiting(after, limit)
        }
        fn pending_request(&self, id: &str) -> Result<Option<PendingRequest>, StoreError> {
            self.inner.pending_request(id)
        }
        fn update_pending(&self, r: &PendingRequest) -> Result<bool, StoreError> {
            self.inner.update_pending(r)
        }
        fn prune_closed(&self, before_ms: i64) -> Result<u64, StoreError> {
            self.inner.prune_closed(before_ms)
        }
        fn budget_used(&self, b: &str, scope: &str, since_ms: i64) -> Result<u32, StoreError> {
            self.inner.budget_used(b, scope, since_ms)
        }
        fn consume_budget(
            &self,
            b: &str,
            scope: &str,
            now_ms: i64,
            since_ms: i64,
            limit: u32,
        ) -> Result<bool, StoreError> {
            self.inner.consume_budget(b, scope, now_ms, since_ms, limit)
        }
        fn add_halt(&self, halt: &Halt) -> Result<bool, StoreError> {
            self.inner.add_halt(halt)
        }
        fn active_halts(&self) -> Result<Vec<Halt>, StoreError> {
            self.inner.active_halts()
        }
        fn resume_halt(
            &self,
            scope: &str,
            by: &str,
            reason: &str,
            now_ms: i64,
        ) -> Result<Option<Halt>, StoreError> {
            self.inner.resume_halt(scope, by, reason, now_ms)
        }
        fn raise_agent_taint(&self, taint: &AgentTaint) -> Result<TaintRecord, StoreError> {
            self.inner.raise_agent_taint(taint)
        }
        fn agent_taint(&self, agent: &str, now_ms: i64) -> Result<Option<AgentTaint>, StoreError> {
            self.inner.agent_taint(agent, now_ms)
        }
        fn taint_in_force(
            &self,
            agent: &str,
            now_ms: i64,
        ) -> Result<Option<TaintInForce>, StoreError> {
            self.inner.taint_in_force(agent, now_ms)
        }
        fn clear_agent_taint(
            &self,
            agent: &str,
            through: TaintRecord,
            now_ms: i64,
            by: &str,
            reason: &str,
        ) -> Result<u32, StoreError> {
            self.inner
                .clear_agent_taint(agent, through, now_ms, by, reason)
        }
        fn tainted_agents(
            &self,
            now_ms: i64,
            after: Option<&str>,
            limit: usize,
        ) -> Result<Vec<TaintInForce>, StoreError> {
            self.inner.tainted_agents(now_ms, after, limit)
        }
        fn pin(&self, tool: &str) -> Result<Option<String>, StoreError> {
            self.inner.pin(tool)
        }
        fn set_pin(&self, tool: &str, d: &str, by: &str, now_ms: i64) -> Result<(), StoreError> {
            self.inner.set_pin(tool, d, by, now_ms)
        }
        fn console_session_put(
            &self,
            session: &ConsoleSessionRow,
            now_ms: i64,
            per_approver: usize,
            max: usize,
        ) -> Result<(), StoreError> {
            self.inner
                .console_session_put(session, now_ms, per_approver, max)
        }
        fn console_session(&self, key: &[u8; 32]) -> Result<Option<ConsoleSessionRow>, StoreError> {
            self.inner.console_session(key)
        }
        fn console_session_delete(&self, key: &[u8; 32]) -> Result<bool, StoreError> {
            self.inner.console_session_delete(key)
        }
    }

    fn verdict_event(decision_index: u64, correct: bool) -> AuditEvent {
        let mut ev = AuditEvent::new(EventKind::ReviewVerdict, 1_000);
        ev.category = Some("containment".into());
        ev.detail = Some(json!({
            "decision_index": decision_index,
            "verdict": if correct { "correct" } else { "wrong" },
            "reviewer": "dana",
            "note": "checked",
        }));
        ev
    }

    /// The sweep keeps the verdicts it read and reads only those recorded since: one sweep
    /// costs the new verdicts (a row and its sealed content each) and a bounded check of
    /// the known ones, however many verdicts the ledger holds; the state is the same as
    /// reading every verdict again. A known verdict whose row is deleted later still makes
    /// the state unreadable, on every sweep from then on.
    #[test]
    fn a_sweep_reads_only_the_verdicts_recorded_since_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Counting {
            inner: warden_store::SqliteStore::open(&dir.path().join("warden.db")).unwrap(),
            rows: 0.into(),
            sealed: 0.into(),
            hidden: Mutex::new(BTreeSet::new()),
        });
        let ledger = Ledger::open(
            store.clone(),
            &warden_store::LedgerSettings {
                key_path: dir.path().join("ledger.key"),
                origin: "warden.test/review".into(),
                checkpoint_interval: std::time::Duration::from_secs(3600),
                defer_within: warden_store::DEFER_WITHIN,
                witnesses: Vec::new(),
                pinned: None,
            },
        )
        .unwrap();
        let verdicts = 300_u64;
        for i in 0..verdicts {
            ledger
                .append(&AuditEvent::new(EventKind::Decision, 1_000))
                .unwrap();
            ledger.append(&verdict_event(2 * i, i % 10 != 0)).unwrap();
        }
        let mut record = RecordedVerdicts::default();
        let first = record.refresh(&ledger).unwrap().clone();
        assert_eq!(first.latest.len() as u64, verdicts);
        store.reads();

        // One more verdict (a second look at decision 0) and one more sweep.
        let new = ledger.append(&verdict_event(0, true)).unwrap();
        let state = record.refresh(&ledger).unwrap().clone();
        let (rows, sealed) = store.reads();
        assert_eq!(
            sealed, 1,
            "the sweep read the content of verdicts it had read before"
        );
        // The new verdict's row, the newest leaf's (sync), and the turn of known ones.
        assert!(
            rows <= 2 + RECHECK_PER_SWEEP,
            "{rows} rows read in one sweep"
        );
        assert!(state.latest[&0].correct && state.latest[&0].index == new);
        let everything: Verdicts =
            crate::recorded::every(store.as_ref(), Some(&ledger), Deciding::ReviewVerdict)
                .unwrap()
                .iter()
                .filter_map(Verdict::from_entry)
                .collect();
        assert_eq!(
            state, everything,
            "the kept state is what reading it all gives"
        );
        store.reads();
        // Nothing new: no verdict is read again.
        record.refresh(&ledger).unwrap();
        let (rows, sealed) = store.reads();
        assert_eq!(sealed, 0);
        assert!(
            rows <= 1 + RECHECK_PER_SWEEP,
            "{rows} rows read in one sweep"
        );

        // Someone deletes the row of an early verdict. Within a turn of checks the state is
        // unreadable, and stays so.
        store.hidden.lock().unwrap().insert(3);
        let turns = (verdicts as usize).div_ceil(RECHECK_PER_SWEEP) + 1;
        let failed = (0..turns).position(|_| record.refresh(&ledger).is_err());
        assert!(
            failed.is_some(),
            "the deleted verdict went unnoticed for {turns} sweeps"
        );
        for _ in 0..turns {
            let e = record.refresh(&ledger).unwrap_err().to_string();
            assert!(e.contains("ledger leaf 3"), "{e}");
        }
    }

    #[test]
    fn a_category_is_overdue_one_period_after_its_last_review() {
        let day = 86_400_000;
        let cats = BTreeSet::from(["containment".to_string()]);
        let s = &status(&settings(true), &cats, &Verdicts::default(), 0, 6 * day)[0];
        assert!(!s.overdue && !s.tightened());
        let s = &status(&settings(true), &cats, &Verdicts::default(), 0, 7 * day)[0];
        assert!(
            s.overdue && s.tightened(),
            "never reviewed: due a period after the start"
        );
        // Enough correct verdicts, recently: current and within tolerance.
        let vs: Vec<Verdict> = (0..40).map(|i| verdict(i, true, 6 * day)).collect();
        let s = &status(
            &settings(true),
            &cats,
            &vs.iter().cloned().collect(),
            0,
            8 * day,
        )[0];
        assert!(!s.overdue && !s.over_tolerance && !s.tightened(), "{s:?}");
        assert_eq!(s.due_ms, 13 * day);
        // Without fallback, the status is reported but nothing tightens.
        let s = &status(&settings(false), &cats, &Verdicts::default(), 0, 8 * day)[0];
        assert!(s.overdue && !s.tightened());
    }

    #[test]
    fn an_error_bound_over_tolerance_tightens_and_the_latest_verdict_counts() {
        let cats = BTreeSet::from(["containment".to_string()]);
        let mut vs: Vec<Verdict> = (0..40).map(|i| verdict(i, true, 1)).collect();
        vs.extend((40..44).map(|i| verdict(i, false, 1)));
        let s = &status(&settings(true), &cats, &vs.iter().cloned().collect(), 0, 2)[0];
        assert_eq!((s.reviewed, s.wrong), (44, 4));
        assert!(s.over_tolerance && s.tightened(), "{s:?}");
        assert!(s.needed.unwrap() > 44, "{s:?}");
        // A reviewer corrects two of the wrong verdicts.
        let mut later = verdict(40, true, 3);
        later.index = 5000;
        let mut later2 = verdict(41, true, 3);
        later2.index = 5001;
        vs.extend([later, later2]);
        let s = &status(&settings(true), &cats, &vs.iter().cloned().collect(), 0, 4)[0];
        assert_eq!((s.reviewed, s.wrong), (44, 2));
    }
}
