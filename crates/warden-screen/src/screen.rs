//! The screen: normalise, detect, combine.
//!
//! # How evidence combines
//!
//! * The model gives the logit `m` of the text's worst chunk.
//! * Rules add evidence in logit units: for each finding kind, the strongest finding's score
//!   times the calibrated `rule_gain`. `z = m + gain * Σ_kind max_score(kind)`. Weak signals
//!   (a zero-width character, "pretend you are") thus tip a borderline text, not a clean one.
//! * `z` maps monotonically onto `0..=1` so that the two logits fitted on benign development data
//!   land on 0.5 (suspicious, 1% false positives) and 0.8 (injection, 0.1%); see
//!   [`calibrated`].
//! * The score is the larger of that and the strongest single finding: a rule that is
//!   unambiguous on its own ("ignore all previous instructions", `<|im_start|>`) carries the
//!   verdict whatever the model says.
//! * Text that holds JSON is assessed twice, as it is and as the decoded strings of its JSON
//!   ([`json`]); the report is the worse of the two, with the findings of both. In the second
//!   pass the model's logit is the worst of the strings read in context and of each value of a
//!   few words read on its own, so a short injected value is not diluted by the keys and values
//!   around it; a finding of the model then points at that value's literal. Values of `key:
//!   value` lines (YAML, WHOIS, a command's text output) are read on their own the same way
//!   ([`lines`]). Each sentence, line or table cell of a few words, of prose or of the JSON's
//!   strings, is scored on its own too ([`sentences`], [`READ_SENTENCES`]): a bare request in a
//!   long benign email is not outweighed by the sentences around it. The model was trained, and
//!   its thresholds fitted, on exactly these pieces ([`model_views`]).
//!
//! The thresholds were fitted on the *combined* score, so findings that floor the score use up
//! the same false-positive budget as the model. Verdicts come from [`ScreenConfig`] thresholds,
//! by default those same 0.5 and 0.8.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::detect::{self, RuleConfig};
use crate::finding::{Finding, FindingKind};
use crate::model::{Calibration, Model};
use crate::normalise::normalise;

mod json;
mod lines;
mod sentences;

/// Verdict levels, ordered by severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Clean,
    Suspicious,
    Injection,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clean => "clean",
            Self::Suspicious => "suspicious",
            Self::Injection => "injection",
        }
    }
}

/// Screen settings as written in the gateway's configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScreenConfig {
    /// Score from which text is [`Verdict::Suspicious`]. 0.5 is where the shipped calibration
    /// puts a 1% false-positive rate on benign development data.
    pub suspicious_at: f32,
    /// Score from which text is [`Verdict::Injection`]; 0.8 is the 0.1% point.
    pub injection_at: f32,
    /// Domains (and subdomains) that links and images may point at without counting as
    /// exfiltration.
    pub internal_domains: Vec<String>,
    /// Longest input screened. Anything beyond is not read, and the report says so with a
    /// finding at the suspicious level, so an oversized result cannot slip through clean.
    pub max_input_bytes: usize,
}

impl Default for ScreenConfig {
    fn default() -> Self {
        Self {
            suspicious_at: 0.5,
            injection_at: 0.8,
            internal_domains: Vec::new(),
            max_input_bytes: 4 * 1024 * 1024,
        }
    }
}

/// The outcome of one scan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `0..=1`; see the module documentation for how it is made.
    pub score: f32,
    pub verdict: Verdict,
    /// Evidence, in order of appearance in the text.
    pub findings: Vec<Finding>,
    /// Whether normalisation changed the text (hidden characters, NFKC, decodings).
    pub normalised_changed: bool,
}

impl Report {
    /// One line for provenance headers and logs: verdict and the finding kinds, no content.
    pub fn summary(&self) -> String {
        let mut kinds: Vec<&str> = self.findings.iter().map(|f| f.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        if kinds.is_empty() {
            format!("{} ({:.2})", self.verdict.as_str(), self.score)
        } else {
            format!(
                "{} ({:.2}): {}",
                self.verdict.as_str(),
                self.score,
                kinds.join(", ")
            )
        }
    }
}

/// Maps the evidence logit to a score: `suspicious_logit` → 0.5, `injection_logit` → 0.8,
/// logistic tails below and above, linear in between. Monotone and continuous.
pub fn calibrated(z: f32, c: &Calibration) -> f32 {
    let s = c.suspicious_logit;
    let i = c.injection_logit.max(s + 1e-3);
    let sig = |x: f32| 1.0 / (1.0 + (-x).exp());
    let v = if z <= s {
        sig(z - s)
    } else if z <= i {
        0.5 + 0.3 * (z - s) / (i - s)
    } else {
        0.8 + 0.2 * (2.0 * sig(z - i) - 1.0)
    };
    if v.is_nan() { 1.0 } else { v.clamp(0.0, 1.0) }
}

/// Evidence logit: model logit plus `rule_gain` times the strongest score of each rule kind.
pub fn evidence_logit(model_logit: f32, findings: &[Finding], rule_gain: f32) -> f32 {
    let mut best: Vec<(FindingKind, f32)> = Vec::new();
    for f in findings {
        if matches!(f.kind, FindingKind::Model | FindingKind::ModelUnavailable) {
            continue;
        }
        match best.iter_mut().find(|(k, _)| *k == f.kind) {
            Some((_, s)) => *s = s.max(f.score),
            None => best.push((f.kind, f.score)),
        }
    }
    model_logit + rule_gain * best.iter().map(|(_, s)| s).sum::<f32>()
}

/// A configured screen. Cheap to share; `scan` takes `&self`.
#[derive(Debug, Clone)]
pub struct Screen {
    config: ScreenConfig,
    rules: RuleConfig,
    model: Option<Model>,
}

impl Screen {
    /// A screen with the model shipped in this crate. Should that model fail to load, every
    /// report carries a `model-unavailable` finding at the suspicious level.
    pub fn new(config: ScreenConfig) -> Self {
        Self::with_model(config, Model::embedded().ok())
    }

    /// A screen with a given model (or none, which fails closed as above).
    pub fn with_model(config: ScreenConfig, model: Option<Model>) -> Self {
        let rules = RuleConfig {
            internal_domains: config.internal_domains.clone(),
        };
        Self {
            config,
            rules,
            model,
        }
    }

    pub fn config(&self) -> &ScreenConfig {
        &self.config
    }

    /// The rule settings this screen uses (for tools that call [`detect::rules`] directly).
    pub fn rule_config(&self) -> &RuleConfig {
        &self.rules
    }

    /// Screens one text. Bounded time, never panics.
    ///
    /// Text that holds JSON is read twice: as it is, and as the decoded strings of its JSON
    /// ([`json`]), which is how the reader of a tool's JSON answer reads it, each value of a few
    /// words also on its own (and so are the values of `key: value` lines, [`lines`]). The report
    /// is the worse of the two; findings in the strings point at their literals in `text`.
    pub fn scan(&self, text: &str) -> Report {
        let mut findings = Vec::new();
        let mut cut = text.len().min(self.config.max_input_bytes);
        while cut > 0 && !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let screened = text.get(..cut).unwrap_or_default();
        if cut < text.len() {
            findings.push(Finding {
                kind: FindingKind::HiddenText,
                detail: format!("input over {} bytes was not screened past that point", cut),
                span: cut..text.len(),
                score: self.config.suspicious_at,
            });
        }

        let view = json::view(screened);
        // Text that holds JSON is read apart in its strings (the second pass), where joined
        // words are; its raw form read apart would be its punctuation turned to spaces.
        let (mut score, mut changed) = self.assess(
            screened,
            &alone(screened, lines::values(screened), view.is_none()),
            view.is_none(),
            &mut findings,
        );
        if let Some(view) = view {
            let mut inner = Vec::new();
            let (s, c) = self.assess(view.text(), &view_alone(&view), true, &mut inner);
            score = score.max(s);
            changed |= c;
            findings.extend(inner.into_iter().map(|f| Finding {
                detail: format!("{} (in a JSON string)", f.detail),
                span: view.original_span(f.span),
                ..f
            }));
            if view.truncated {
                findings.push(Finding {
                    kind: FindingKind::HiddenText,
                    detail: format!(
                        "JSON nested more than {} levels deep was not screened past that point",
                        json::MAX_DEPTH
                    ),
                    span: 0..screened.len(),
                    score: self.config.suspicious_at,
                });
            }
        }

        let floor = findings.iter().map(|f| f.score).fold(0.0f32, f32::max);
        let score = score.max(floor).clamp(0.0, 1.0);
        let verdict = if score >= self.config.injection_at {
            Verdict::Injection
        } else if score >= self.config.suspicious_at {
            Verdict::Suspicious
        } else {
            Verdict::Clean
        };
        findings.sort_by(|a, b| {
            (a.span.start, a.span.end, a.kind).cmp(&(b.span.start, b.span.end, b.kind))
        });
        Report {
            score,
            verdict,
            findings,
            normalised_changed: changed,
        }
    }

    /// Normalises `text`, runs the rules and the model, and adds what they found to `findings`
    /// (whose earlier entries count as evidence too). The model also scores each of `alone` (ranges
    /// of `text`: the values of a JSON view) as a text of its own, and the worst of all counts.
    /// With `apart`, the rules and the model also read the text with its joined words apart
    /// ([`Normalised::unjoined`](crate::Normalised::unjoined)), the worse reading counting.
    /// The combined score before the findings' floor, and whether normalisation changed the text.
    fn assess(
        &self,
        text: &str,
        alone: &[Range<usize>],
        apart: bool,
        findings: &mut Vec<Finding>,
    ) -> (f32, bool) {
        let n = normalise(text);
        findings.extend_from_slice(n.findings());
        findings.extend(detect::rules(&n, &self.rules));
        // The same text with its joined words apart, as a model reads them: rules that a run
        // like `ignore-all-previous-instructions` hid from them, and below the model.
        let apart = if apart { n.unjoined() } else { None };
        if let Some(u) = &apart {
            for f in detect::phrase_rules(u) {
                let known = findings.iter().any(|g| {
                    g.kind == f.kind && g.span.start < f.span.end && f.span.start < g.span.end
                });
                if !known {
                    findings.push(Finding {
                        detail: format!("{} (words joined without spaces, read apart)", f.detail),
                        ..f
                    });
                }
            }
        }

        let score = match &self.model {
            Some(model) => {
                let c = model.calibration();
                let mut worst = model
                    .scan(n.text())
                    .map_or((f32::NEG_INFINITY, 0..0), |(l, chunk)| {
                        (l, n.original_span(chunk))
                    });
                for range in alone {
                    let Some(value) = text.get(range.clone()) else {
                        continue;
                    };
                    let v = normalise(value);
                    if let Some((l, chunk)) = model.scan(v.text())
                        && l > worst.0
                    {
                        let span = v.original_span(chunk);
                        worst = (l, range.start + span.start..range.start + span.end);
                    }
                }
                if let Some((l, chunk)) = apart.as_ref().and_then(|u| {
                    model
                        .scan(u.text())
                        .map(|(l, chunk)| (l - APART_MARGIN, u.original_span(chunk)))
                }) && l > worst.0
                {
                    worst = (l, chunk);
                }
                let (logit, span) = worst;
                let z = evidence_logit(logit, findings, c.rule_gain);
                let model_alone = calibrated(logit, &c);
                if model_alone >= self.config.suspicious_at {
                    findings.push(Finding {
                        kind: FindingKind::Model,
                        detail: "learned model scores this passage as an injection".to_owned(),
                        span,
                        score: model_alone,
                    });
                }
                calibrated(z, &c)
            }
            None => {
                findings.push(Finding {
                    kind: FindingKind::ModelUnavailable,
                    detail: "learned model unavailable; failing closed".to_owned(),
                    span: 0..0,
                    score: self.config.suspicious_at,
                });
                0.0
            }
        };
        (score, n.changed())
    }
}

/// The decoded strings of the JSON in `text`, as [`Screen::scan`] reads them in its second
/// pass, or `None` when `text` holds no JSON. For training and evaluation tools, which must
/// score what the screen scores.
pub fn json_strings(text: &str) -> Option<String> {
    json::view(text).map(|v| v.text().to_owned())
}

/// What the model reads of `text`, as [`Screen::scan`] reads it: each view (the text itself, then
/// the decoded strings of its JSON when it holds any) with the ranges of that view the model also
/// scores on their own (values, sentences). For training tools, which must score what the screen
/// scores.
pub fn model_views(text: &str) -> Vec<(String, Vec<Range<usize>>)> {
    let view = json::view(text);
    let mut out = vec![(
        text.to_owned(),
        alone(text, lines::values(text), view.is_none()),
    )];
    if let Some(view) = view {
        let ranges = view_alone(&view);
        out.push((view.text().to_owned(), ranges));
    }
    out
}

/// What the model's logit for the reading with joined words apart ([`Normalised::unjoined`])
/// gives up against the text as it is. That reading makes words of every identifier, path and
/// key in benign output (`ignore_case`, `previous_results`), which the model was not trained
/// on; an instruction joined into one run reads as the sentence it is and scores far above the
/// thresholds, a margin this size below them.
///
/// [`Normalised::unjoined`]: crate::Normalised::unjoined
const APART_MARGIN: f32 = 0.75;

/// Whether the model also reads each sentence on its own ([`sentences`]). A model must be trained
/// and calibrated with the same setting ([`model_views`] gives the trainer what the screen
/// reads): model v5 was; model v4 was not, and with it the sentence pass raised false positives
/// over budget (round 6 of `docs/screen-eval.md`).
const READ_SENTENCES: bool = true;

/// The ranges of `text` the model scores on their own besides its windows: `values` of a record
/// and, for `prose`, each sentence (line, cell) of a few words; in order, without repeats.
fn alone(text: &str, mut values: Vec<Range<usize>>, prose: bool) -> Vec<Range<usize>> {
    if prose && READ_SENTENCES {
        values.extend(sentences::sentences(text));
        values.sort_by_key(|r| (r.start, r.end));
        values.dedup();
    }
    values
}

/// The same for the strings of a JSON view: its values, the values of its `key: value` lines and
/// its sentences. The raw text of JSON is not read by sentence: its strings are, here.
fn view_alone(view: &json::View) -> Vec<Range<usize>> {
    let mut values = view.values();
    values.extend(lines::values(view.text()));
    alone(view.text(), values, true)
}

impl Default for Screen {
    fn default() -> Self {
        Self::new(ScreenConfig::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_hits_its_knots_and_is_monotone() {
        let c = Calibration {
            suspicious_logit: 1.0,
            injection_logit: 3.0,
            rule_gain: 3.0,
        };
        assert!((calibrated(1.0, &c) - 0.5).abs() < 1e-6);
        assert!((calibrated(3.0, &c) - 0.8).abs() < 1e-6);
        let mut last = 0.0;
        for i in -100..100 {
            let v = calibrated(i as f32 * 0.1, &c);
            assert!(v >= last);
            last = v;
        }
        assert_eq!(calibrated(f32::NAN, &c), 1.0);
    }

    #[test]
    fn missing_model_fails_closed() {
        let s = Screen::with_model(ScreenConfig::default(), None);
        let r = s.scan("hello");
        assert_eq!(r.verdict, Verdict::Suspicious);
        assert!(
            r.findings
                .iter()
                .any(|f| f.kind == FindingKind::ModelUnavailable)
        );
    }

    #[test]
    fn oversized_input_is_flagged() {
        let s = Screen::new(ScreenConfig {
            max_input_bytes: 10,
            ..ScreenConfig::default()
        });
        let r = s.scan("hello world, this is long");
        assert!(r.verdict >= Verdict::Suspicious);
    }
}
