//! `warden-screen-eval --data DIR [--internal-domain D]...`: screens every development source
//! with the shipped model and prints a Markdown table per source: detection rate at the
//! suspicious (0.5) and injection (0.8) scores, false-positive rate, and AUROC where a source has
//! both labels.
//!
//! Test splits (BIPIA composed test sets and test attacks) and the *held* halves of the unsplit
//! sources were used neither for training nor for the thresholds. The fit halves are reported
//! separately, for reference only.

#[path = "devdata.rs"]
#[allow(
    dead_code,
    reason = "shared with the other binary, which uses other parts"
)]
mod devdata;
#[path = "synth.rs"]
#[allow(dead_code, reason = "shared with the trainer, which uses other parts")]
mod synth;

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};

use devdata::{Data, Half, UNSPLIT};
use warden_screen::{Model, Screen, ScreenConfig};

/// Positives (and as many negatives) of the synthetic test split.
const SYNTHETIC_PER_CLASS: usize = 4000;

struct Row {
    source: String,
    split: &'static str,
    /// (score, label)
    scores: Vec<(f32, bool)>,
}

fn scan_all(screen: &Screen, texts: Vec<(String, bool)>) -> Vec<(f32, bool)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .max(1);
    let per = texts.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = texts
            .chunks(per)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(t, l)| (screen.scan(t).score, *l))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Mann-Whitney AUROC with ties counted half.
fn auroc(scores: &[(f32, bool)]) -> Option<f64> {
    let mut v: Vec<(f32, bool)> = scores.to_vec();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    let pos = v.iter().filter(|x| x.1).count() as f64;
    let neg = v.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while v
            .get(j + 1)
            .is_some_and(|x| Some(x.0) == v.get(i).map(|y| y.0))
        {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += avg * v.get(i..=j).map_or(0, |s| s.iter().filter(|x| x.1).count()) as f64;
        i = j + 1;
    }
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

fn rate(scores: &[(f32, bool)], label: bool, at: f32) -> Option<f64> {
    let n = scores.iter().filter(|x| x.1 == label).count();
    (n > 0).then(|| scores.iter().filter(|x| x.1 == label && x.0 >= at).count() as f64 / n as f64)
}

fn pct(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| source | split | n inj | n benign | TPR @0.5 | TPR @0.8 | FPR @0.5 | FPR @0.8 | AUROC |\n");
    out.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|\n");
    for r in rows {
        let pos = r.scores.iter().filter(|x| x.1).count();
        let neg = r.scores.len() - pos;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.source,
            r.split,
            pos,
            neg,
            pct(rate(&r.scores, true, 0.5)),
            pct(rate(&r.scores, true, 0.8)),
            pct(rate(&r.scores, false, 0.5)),
            pct(rate(&r.scores, false, 0.8)),
            auroc(&r.scores).map_or("–".to_owned(), |a| format!("{a:.3}")),
        );
    }
    out
}

/// Thresholds a deployment might choose, and what each costs and buys: false positives on every
/// benign row (mean and worst source, per split), detection on every injected row.
fn operating_points(held: &[Row], synthetic: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| threshold | shared benign FPR (mean / worst source) | synthetic benign FPR | shared injected TPR (mean over sources) | synthetic TPR (mean over families) | held-out family TPR |\n");
    out.push_str("|--:|--:|--:|--:|--:|--:|\n");
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    for at in [0.3f32, 0.4, 0.5, 0.6, 0.7, 0.8] {
        let fpr: Vec<f64> = held
            .iter()
            .filter_map(|r| rate(&r.scores, false, at))
            .collect();
        let worst = fpr.iter().copied().fold(0.0f64, f64::max);
        let tpr: Vec<f64> = held
            .iter()
            .filter_map(|r| rate(&r.scores, true, at))
            .collect();
        let syn_fpr: Vec<f64> = synthetic
            .iter()
            .filter_map(|r| rate(&r.scores, false, at))
            .collect();
        let syn_tpr: Vec<f64> = synthetic
            .iter()
            .filter(|r| r.split == "test")
            .filter_map(|r| rate(&r.scores, true, at))
            .collect();
        let held_out: Vec<f64> = synthetic
            .iter()
            .filter(|r| r.split == "held-out family")
            .filter_map(|r| rate(&r.scores, true, at))
            .collect();
        let _ = writeln!(
            out,
            "| {at:.1} | {} / {} | {} | {} | {} | {} |",
            pct(Some(mean(&fpr))),
            pct(Some(worst)),
            pct(Some(mean(&syn_fpr))),
            pct(Some(mean(&tpr))),
            pct(Some(mean(&syn_tpr))),
            pct(Some(mean(&held_out))),
        );
    }
    out
}

fn main() -> Result<()> {
    let mut data_dir: Option<PathBuf> = None;
    let mut config = ScreenConfig::default();
    let mut model: Option<Model> = None;
    let mut show_errors = 0usize;
    let mut scan: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data_dir = args.next().map(PathBuf::from),
            "--model" => {
                let path = args.next().context("--model needs a weights file")?;
                let bytes =
                    std::fs::read(&path).with_context(|| format!("cannot read `{path}`"))?;
                model = Some(Model::from_bytes(&bytes).with_context(|| format!("`{path}`"))?);
            }
            "--show-errors" => {
                show_errors = args
                    .next()
                    .context("--show-errors needs a count")?
                    .parse()?;
            }
            "--scan" => scan = args.next().map(PathBuf::from),
            "--internal-domain" => config
                .internal_domains
                .push(args.next().context("--internal-domain needs a domain")?),
            "-h" | "--help" => {
                println!(
                    "usage: warden-screen-eval --data DIR [--model WEIGHTS] [--show-errors N] [--scan JSONL] [--internal-domain D]..."
                );
                return Ok(());
            }
            other => bail!("unknown argument `{other}`"),
        }
    }
    let screen = match model {
        Some(m) => Screen::with_model(config, Some(m)),
        None => Screen::new(config),
    };
    if let Some(path) = scan {
        // One JSON object with a `text` field per line: print each score and summary.
        let content = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        for line in content.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).context("not JSON")?;
            let text = v.get("text").and_then(|t| t.as_str()).unwrap_or_default();
            let r = screen.scan(text);
            let shown: String = text.chars().take(80).collect();
            println!("{:.3}\t{}\t{shown:?}", r.score, r.summary());
        }
        return Ok(());
    }
    let data = Data::open(&data_dir.context("--data DIR is required")?)?;
    let started = std::time::Instant::now();
    let mut held = Vec::new();
    let mut texts_scanned = 0usize;
    let mut bytes_scanned = 0usize;
    let mut push = |rows: &mut Vec<Row>, source: String, split, texts: Vec<(String, bool)>| {
        texts_scanned += texts.len();
        bytes_scanned += texts.iter().map(|t| t.0.len()).sum::<usize>();
        let scores = scan_all(&screen, texts.clone());
        if show_errors > 0 {
            // Up to `show_errors` false positives, then as many false negatives.
            let wrong = |want: bool| {
                texts
                    .iter()
                    .zip(&scores)
                    .filter(move |(_, (score, label))| *label == want && (*score >= 0.5) != want)
                    .take(show_errors)
            };
            for ((text, label), (score, _)) in wrong(false).chain(wrong(true)) {
                let shown: String = text.chars().take(400).collect();
                eprintln!(
                    "[{source} / {split}] label {} score {score:.2}: {shown:?}",
                    u8::from(*label)
                );
            }
        }
        rows.push(Row {
            source,
            split,
            scores,
        });
    };

    for task in ["email", "table", "code"] {
        let rows = data.bipia_composed(task)?;
        push(&mut held, format!("BIPIA composed {task}"), "test", rows);
    }
    for kind in ["text", "code"] {
        let rows = data
            .bipia_attacks(kind, "test")?
            .into_iter()
            .map(|t| (t, true))
            .collect();
        push(
            &mut held,
            format!("BIPIA {kind} attacks (strings)"),
            "test",
            rows,
        );
    }
    let mut fit = Vec::new();
    for u in UNSPLIT {
        let rows = u
            .rows(&data, Half::Held)?
            .into_iter()
            .map(|(_, t)| (t, u.label))
            .collect();
        push(&mut held, u.name.to_owned(), "held half", rows);
        if !u.label {
            let rows = u
                .rows(&data, Half::Fit)?
                .into_iter()
                .map(|(_, t)| (t, false))
                .collect();
            push(&mut fit, u.name.to_owned(), "fit half", rows);
        }
    }
    // Synthetic tool outputs, test split: another seed and other carriers than training, every
    // family; the held-out family was never generated for training.
    let mut synthetic = Vec::new();
    let samples = devdata::synthetic(&data, Half::Held, SYNTHETIC_PER_CLASS)?;
    let mut families: Vec<&str> = synth::FAMILIES.to_vec();
    families.sort_unstable();
    for family in families {
        let rows: Vec<(String, bool)> = samples
            .iter()
            .filter(|s| s.label && s.family.split('/').next() == Some(family))
            .map(|s| (s.text.clone(), true))
            .collect();
        let split = if family == synth::HELD_OUT_FAMILY {
            "held-out family"
        } else {
            "test"
        };
        push(&mut synthetic, format!("synthetic {family}"), split, rows);
    }
    let rows: Vec<(String, bool)> = samples
        .iter()
        .filter(|s| !s.label)
        .map(|s| (s.text.clone(), false))
        .collect();
    push(&mut synthetic, "synthetic benign".to_owned(), "test", rows);
    let elapsed = started.elapsed();

    // Benign held data, each source weighing the same (as the thresholds were fitted).
    let benign: Vec<&Row> = held
        .iter()
        .filter(|r| r.scores.iter().all(|x| !x.1))
        .collect();
    let mean = |at: f32| {
        benign
            .iter()
            .filter_map(|r| rate(&r.scores, false, at))
            .sum::<f64>()
            / benign.len().max(1) as f64
    };

    println!("### Test splits and held halves (never used for training or thresholds)\n");
    println!("{}", table(&held));
    println!(
        "Mean FPR over the {} benign held sources (each weighing the same): {} at 0.5, {} at 0.8.\n",
        benign.len(),
        pct(Some(mean(0.5))),
        pct(Some(mean(0.8)))
    );
    println!("### Synthetic tool outputs (`warden-screen-gen --split test`)\n");
    println!("{}", table(&synthetic));
    println!("### Operating points\n");
    println!("{}", operating_points(&held, &synthetic));
    println!(
        "### Fit halves of the benign sources (training data; thresholds were placed on these)\n"
    );
    println!("{}", table(&fit));
    eprintln!(
        "scanned {texts_scanned} texts ({:.1} MiB) in {:.1} s",
        bytes_scanned as f64 / 1_048_576.0,
        elapsed.as_secs_f64()
    );
    Ok(())
}
