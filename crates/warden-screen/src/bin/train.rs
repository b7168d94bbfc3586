//! `warden-screen-train --data DIR [--out DIR] [--dump-oof FILE]`: trains the shipped model from
//! the development data set and writes `weights.bin` and `model.json` (what it was trained and
//! calibrated on). Each text is read as the screen reads it (`screen::model_views`): the windows
//! of each reading and each piece the screen scores on its own. `--dump-oof` writes the benign
//! training texts that score highest out of fold, per group, for error analysis on training data.
//!
//! Training data: BIPIA *train* attacks (alone, and inserted into BIPIA *train* emails and code
//! answers the way BIPIA composes its test set), the *fit* halves of CyberSecEval's two injection
//! files, and as benign text the BIPIA train contexts and the fit halves of MITRE FRR, NotInject,
//! WildGuard and the three Loghub logs. Test splits and held halves are never read here.
//!
//! Thresholds are fitted on out-of-fold scores (5 folds, grouped by context) of the benign fit
//! data, with the rule detectors included, each benign group weighing the same.

#[path = "devdata.rs"]
#[allow(
    dead_code,
    reason = "shared with the other binary, which uses other parts"
)]
mod devdata;
#[path = "synth.rs"]
#[allow(
    dead_code,
    reason = "shared with the generator, which uses other parts"
)]
mod synth;

use std::ops::Range;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use serde_json::json;

use devdata::{Data, Half, UNSPLIT, stable_hash};
use warden_screen::detect::{self, RuleConfig};
use warden_screen::model::features::{self, DIM_BITS};
use warden_screen::model::train::{self, BenignScore, Example, Linear, Rng, TrainConfig};
use warden_screen::model::{Calibration, Model};
use warden_screen::screen::{evidence_logit, model_views};
use warden_screen::{Finding, normalise};

const FOLDS: u64 = 5;
const RULE_GAIN: f32 = 3.0;
const SUSPICIOUS_FPR: f64 = 0.01;
const INJECTION_FPR: f64 = 0.001;
const ATTACKS_PER_CONTEXT: usize = 4;
/// Units of the model's hidden layer.
const HIDDEN_UNITS: usize = 16;
/// Synthetic positives (and as many negatives) generated for training.
const SYNTHETIC_PER_CLASS: usize = 6000;

struct Sample {
    /// Training source (for weights).
    source: usize,
    /// Benign group for threshold fitting (`None` for positives).
    group: Option<usize>,
    label: bool,
    fold: u64,
    /// Findings of each view of the text (as it is, and the strings of its JSON), which the
    /// screen assesses separately and reports the worse of.
    findings: Vec<Vec<Finding>>,
    chunks: Vec<Vec<(u32, f32)>>,
    /// The view each chunk belongs to.
    view_of: Vec<usize>,
    /// Chunks that may hold the injection (all of them when its place is unknown).
    candidates: Vec<usize>,
    /// The text of a benign sample (for `--dump-oof`); empty for positives.
    text: String,
}

struct Builder {
    samples: Vec<Sample>,
    sources: Vec<(String, bool, usize)>,
    groups: Vec<String>,
    rules: RuleConfig,
}

impl Builder {
    fn source(&mut self, name: &str, label: bool) -> usize {
        self.sources.push((name.to_owned(), label, 0));
        self.sources.len() - 1
    }

    fn group(&mut self, name: &str) -> usize {
        if let Some(i) = self.groups.iter().position(|g| g == name) {
            return i;
        }
        self.groups.push(name.to_owned());
        self.groups.len() - 1
    }

    fn add(
        &mut self,
        source: usize,
        group: Option<usize>,
        label: bool,
        key: &str,
        raw: &str,
        attack: Option<&str>,
    ) {
        let mut findings = Vec::new();
        let mut chunks = Vec::new();
        let mut view_of = Vec::new();
        let mut candidates = Vec::new();
        let attack = attack.map(|a| normalise(a).text().trim().to_owned());
        // Each view as the screen reads it: its windows, then each piece it reads alone.
        for (v, (view, alone)) in model_views(raw).iter().enumerate() {
            let n = normalise(view);
            let mut found = n.findings().to_vec();
            found.extend(detect::rules(&n, &self.rules));
            findings.push(found);
            let pieces = std::iter::once(n).chain(
                alone
                    .iter()
                    .filter_map(|r| view.get(r.clone()))
                    .map(normalise),
            );
            for piece in pieces {
                let text = piece.text();
                let ranges = features::chunks(text);
                // Where the attack lies in this piece: the attack inside it, or the piece (a
                // sentence of the attack) inside the attack.
                let place: Option<Range<usize>> = attack.as_deref().and_then(|a| {
                    let t = text.trim();
                    if !t.is_empty() && a.contains(t) {
                        Some(0..text.len())
                    } else {
                        text.find(a).map(|i| i..i + a.len())
                    }
                });
                if let Some(p) = &place {
                    let want = (p.end - p.start) / 2;
                    candidates.extend(
                        ranges
                            .iter()
                            .enumerate()
                            .filter(|(_, r)| {
                                r.end.min(p.end).saturating_sub(r.start.max(p.start))
                                    >= want.min((r.end - r.start) / 2)
                            })
                            .map(|(i, _)| i + chunks.len()),
                    );
                }
                for r in ranges {
                    chunks.push(features::vector(text.get(r).unwrap_or_default()));
                    view_of.push(v);
                }
            }
        }
        if chunks.is_empty() {
            return;
        }
        if candidates.is_empty() {
            candidates = (0..chunks.len()).collect();
        }
        if let Some(s) = self.sources.get_mut(source) {
            s.2 += 1;
        }
        self.samples.push(Sample {
            source,
            group,
            label,
            fold: stable_hash(key) % FOLDS,
            findings,
            chunks,
            view_of,
            candidates,
            text: if group.is_some() {
                raw.to_owned()
            } else {
                String::new()
            },
        });
    }
}

/// BIPIA's insertion: at the end, at the start, or in the middle at a sentence boundary.
fn compose(context: &str, attack: &str, position: usize) -> String {
    match position % 3 {
        0 => format!("{context}\n{attack}"),
        1 => format!("{attack}\n{context}"),
        _ => {
            let mid = context.len() / 2;
            let cut = context
                .match_indices(". ")
                .map(|(i, _)| i + 2)
                .min_by_key(|i| i.abs_diff(mid))
                .unwrap_or(context.len());
            let (a, b) = context.split_at(cut.min(context.len()));
            format!("{a}{attack} {b}")
        }
    }
}

fn examples(
    samples: &[Sample],
    picks: Option<&[Option<usize>]>,
    weights: &[f32],
    skip_fold: Option<u64>,
) -> Vec<Example> {
    let mut out = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if Some(s.fold) == skip_fold {
            continue;
        }
        let w = weights.get(s.source).copied().unwrap_or(0.0);
        let chosen: Vec<usize> = if s.label {
            match picks.and_then(|p| p.get(i).copied().flatten()) {
                Some(c) => vec![c],
                None => s.candidates.clone(),
            }
        } else {
            (0..s.chunks.len()).collect()
        };
        let per = w / chosen.len().max(1) as f32;
        for c in chosen {
            if let Some(f) = s.chunks.get(c) {
                out.push(Example {
                    features: f.clone(),
                    label: s.label,
                    weight: per,
                });
            }
        }
    }
    // Mean weight 1 keeps the learning rate meaningful.
    let total: f32 = out.iter().map(|e| e.weight).sum();
    let scale = out.len() as f32 / total.max(f32::MIN_POSITIVE);
    out.iter_mut().for_each(|e| e.weight *= scale);
    out
}

/// The screen's evidence logit for a sample: per view, the worst chunk's logit plus the rule
/// evidence of that view; the worse view counts.
fn evidence_of(m: &Linear, s: &Sample) -> f32 {
    s.findings
        .iter()
        .enumerate()
        .map(|(v, found)| {
            let logit = s
                .chunks
                .iter()
                .zip(&s.view_of)
                .filter(|(_, of)| **of == v)
                .map(|(c, _)| m.logit(c))
                .fold(f32::NEG_INFINITY, f32::max);
            evidence_logit(logit, found, RULE_GAIN)
        })
        .fold(f32::NEG_INFINITY, f32::max)
}

fn main() -> Result<()> {
    let mut data_dir: Option<PathBuf> = None;
    let mut out_dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/model"));
    let mut dump_oof: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data_dir = args.next().map(PathBuf::from),
            "--out" => {
                out_dir = args
                    .next()
                    .map(PathBuf::from)
                    .context("--out needs a folder")?
            }
            "--dump-oof" => dump_oof = args.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!("usage: warden-screen-train --data DIR [--out DIR] [--dump-oof FILE]");
                return Ok(());
            }
            other => bail!("unknown argument `{other}`"),
        }
    }
    let data = Data::open(&data_dir.context("--data DIR is required")?)?;
    let config = TrainConfig {
        hidden_units: HIDDEN_UNITS,
        ..TrainConfig::default()
    };
    let mut b = Builder {
        samples: Vec::new(),
        sources: Vec::new(),
        groups: Vec::new(),
        rules: RuleConfig::default(),
    };

    // Positives.
    let text_attacks = data.bipia_attacks("text", "train")?;
    let code_attacks = data.bipia_attacks("code", "train")?;
    let src = b.source("bipia attacks (train)", true);
    for (i, a) in text_attacks.iter().chain(&code_attacks).enumerate() {
        b.add(src, None, true, &format!("bipia-attack-{i}"), a, None);
    }
    let mut rng = Rng::new(config.seed);
    for (task, attacks) in [("email", &text_attacks), ("code", &code_attacks)] {
        let contexts = data.bipia_contexts(task, "train")?;
        let pos = b.source(
            &format!("bipia {task} train contexts + train attacks"),
            true,
        );
        let g = b.group(&format!("bipia {task} train contexts"));
        let neg = b.source(&format!("bipia {task} train contexts"), false);
        for (ci, ctx) in contexts.iter().enumerate() {
            let key = format!("bipia-{task}-ctx-{ci}");
            b.add(neg, Some(g), false, &key, ctx, None);
            for _ in 0..ATTACKS_PER_CONTEXT {
                let Some(attack) = attacks.get(rng.below(attacks.len())) else {
                    continue;
                };
                let composed = compose(ctx, attack, rng.below(3));
                b.add(pos, None, true, &key, &composed, Some(attack));
            }
        }
    }
    // Unsplit sources: fit halves only.
    let mut fit_files = Vec::new();
    for u in UNSPLIT {
        let rows = u.rows(&data, Half::Fit)?;
        fit_files.push(json!({"source": u.name, "file": u.rel, "half": "fit", "rows": rows.len()}));
        let name = format!("{} (fit half)", u.group());
        let src = match b.sources.iter().position(|s| s.0 == name) {
            Some(i) => i,
            None => b.source(&name, u.label),
        };
        let g = (!u.label).then(|| b.group(u.group()));
        for (row, text) in rows {
            b.add(src, g, u.label, &format!("{}#{row}", u.name), &text, None);
        }
    }

    // Synthetic tool outputs, training split (the held-out family is not in it).
    let synthetic = devdata::synthetic(&data, Half::Fit, SYNTHETIC_PER_CLASS)?;
    let g = b.group("synthetic benign (train split)");
    let neg = b.source("synthetic benign (train split)", false);
    for (i, s) in synthetic.iter().enumerate() {
        let key = format!("synthetic-{i}");
        if s.label {
            let family = s.family.split('/').next().unwrap_or_default();
            let name = format!("synthetic {family} (train split)");
            let src = match b.sources.iter().position(|x| x.0 == name) {
                Some(i) => i,
                None => b.source(&name, true),
            };
            b.add(src, None, true, &key, &s.text, s.payload.as_deref());
        } else {
            b.add(neg, Some(g), false, &key, &s.text, None);
        }
    }

    // Equal weight per source, and the two classes weigh the same in total.
    let n_pos = b.sources.iter().filter(|s| s.1 && s.2 > 0).count().max(1) as f32;
    let n_neg = b.sources.iter().filter(|s| !s.1 && s.2 > 0).count().max(1) as f32;
    let weights: Vec<f32> = b
        .sources
        .iter()
        .map(|(_, label, n)| {
            let class = if *label { 1.0 / n_pos } else { 1.0 / n_neg };
            class / (*n).max(1) as f32
        })
        .collect();
    let samples = &b.samples;
    eprintln!("{} texts from {} sources", samples.len(), b.sources.len());

    // Round 0: every candidate chunk of a positive; round 1: its highest-scoring candidate.
    let m0 = train::fit(&examples(samples, None, &weights, None), &config);
    let picks: Vec<Option<usize>> = samples
        .iter()
        .map(|s| {
            s.label
                .then(|| {
                    s.candidates.iter().copied().max_by(|a, b| {
                        let la = s.chunks.get(*a).map_or(f32::MIN, |c| m0.logit(c));
                        let lb = s.chunks.get(*b).map_or(f32::MIN, |c| m0.logit(c));
                        la.total_cmp(&lb)
                    })
                })
                .flatten()
        })
        .collect();

    // Out-of-fold scores.
    let mut oof = vec![0.0f32; samples.len()];
    for k in 0..FOLDS {
        let m = train::fit(&examples(samples, Some(&picks), &weights, Some(k)), &config);
        for (i, s) in samples.iter().enumerate() {
            if s.fold == k
                && let Some(o) = oof.get_mut(i)
            {
                *o = evidence_of(&m, s);
            }
        }
        eprintln!("fold {k} done");
    }
    let evidence = |i: usize, _: &Sample| oof.get(i).copied().unwrap_or(0.0);
    let floor = |s: &Sample| {
        s.findings
            .iter()
            .flatten()
            .map(|f| f.score)
            .fold(0.0f32, f32::max)
    };
    let benign: Vec<BenignScore> = samples
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            s.group.map(|g| BenignScore {
                logit: evidence(i, s),
                floor: floor(s),
                source: g,
            })
        })
        .collect();
    let suspicious_logit = train::fit_threshold(&benign, 0.5, SUSPICIOUS_FPR);
    let injection_logit =
        train::fit_threshold(&benign, 0.8, INJECTION_FPR).max(suspicious_logit + 0.01);
    if let Some(path) = &dump_oof {
        // The benign training texts that score highest out of fold, per group: for error
        // analysis on training data only.
        let mut out = String::new();
        for (g, name) in b.groups.iter().enumerate() {
            let mut members: Vec<(f32, &str)> = samples
                .iter()
                .enumerate()
                .filter(|(_, s)| s.group == Some(g))
                .map(|(i, s)| (evidence(i, s), s.text.as_str()))
                .collect();
            members.sort_by(|a, b| b.0.total_cmp(&a.0));
            for (l, t) in members.iter().take(15) {
                let shown: String = t.chars().take(400).collect();
                out.push_str(&format!(
                    "[{name}] {l:.2} (at {suspicious_logit:.2}): {shown:?}\n"
                ));
            }
        }
        std::fs::write(path, out).context("cannot write the out-of-fold dump")?;
    }
    let calibration = Calibration {
        suspicious_logit,
        injection_logit,
        rule_gain: RULE_GAIN,
    };

    // Out-of-fold rates per source, as a sanity check written beside the weights.
    let mut per_source = Vec::new();
    for (si, (name, label, n)) in b.sources.iter().enumerate() {
        let members: Vec<(usize, &Sample)> = samples
            .iter()
            .enumerate()
            .filter(|(_, s)| s.source == si)
            .collect();
        let rate = |logit_at: f32, level: f32| {
            members
                .iter()
                .filter(|(i, s)| evidence(*i, s) >= logit_at || floor(s) >= level)
                .count() as f64
                / members.len().max(1) as f64
        };
        per_source.push(json!({
            "source": name,
            "label": if *label { 1 } else { 0 },
            "texts": n,
            "oof_flagged_at_suspicious": rate(suspicious_logit, 0.5),
            "oof_flagged_at_injection": rate(injection_logit, 0.8),
        }));
    }

    let final_model = train::fit(&examples(samples, Some(&picks), &weights, None), &config);
    let model = Model::from_fitted(&final_model, calibration);
    let bytes = model.to_bytes();
    // The written file must load.
    Model::from_bytes(&bytes).context("trained model does not round-trip")?;
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create `{}`", out_dir.display()))?;
    std::fs::write(out_dir.join("weights.bin"), &bytes).context("cannot write weights.bin")?;
    let meta = json!({
        "format": "WSM2: magic, u32 hash bits, u32 hidden units H, f32 scale, bias, suspicious_logit, injection_logit, rule_gain, hidden scale, then i16 linear weights (2^bits), i16 hidden weights (2^bits x H, feature-major), f32 hidden biases (H), f32 output weights (H); little endian",
        "hash_bits": DIM_BITS,
        "seed": config.seed,
        "epochs": config.epochs,
        "learning_rate": config.learning_rate,
        "l2": config.l2,
        "hidden_units": config.hidden_units,
        "hidden_learning_rate": config.hidden_learning_rate,
        "attacks_per_context": ATTACKS_PER_CONTEXT,
        "calibration": {
            "suspicious_logit": suspicious_logit,
            "injection_logit": injection_logit,
            "rule_gain": RULE_GAIN,
            "fitted_on": "out-of-fold evidence of the benign training data below (each group weighs the same)",
            "benign_groups": b.groups,
            "suspicious_target_fpr": SUSPICIOUS_FPR,
            "injection_target_fpr": INJECTION_FPR,
        },
        "training_files": {
            "bipia": ["bipia/text_attack_train.json", "bipia/code_attack_train.json", "bipia/email/train.jsonl", "bipia/code/train.jsonl"],
            "unsplit_fit_halves": fit_files,
            "synthetic": format!("warden-screen-gen --split train --n {SYNTHETIC_PER_CLASS} (carriers: bipia email and code train contexts, fit halves of the logs; held-out family `{}` not generated)", synth::HELD_OUT_FAMILY),
        },
        "sources": per_source,
    });
    let meta = serde_json::to_string_pretty(&meta).context("cannot encode model.json")?;
    std::fs::write(out_dir.join("model.json"), meta + "\n").context("cannot write model.json")?;
    eprintln!(
        "wrote {} ({} bytes); suspicious logit {suspicious_logit:.3}, injection logit {injection_logit:.3}",
        out_dir.join("weights.bin").display(),
        bytes.len()
    );
    Ok(())
}
