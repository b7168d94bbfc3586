//! `warden screen`: score text for prompt injection, the way the gateway does.
//!
//! Reads standard input as one text, or a JSON-lines file whose objects carry a `text` field
//! (and optionally `id` and `source`), and prints one JSON line per input: score, verdict at the
//! configured thresholds, findings. With `--jsonl` it then prints, on standard error, a table per
//! `source`: how many texts, how many were flagged (score at or above the threshold), the rate
//! and its Wilson 95% interval, so a labelled file gives detection and false-positive rates with
//! their uncertainty.
//!
//! With `--outbound` the texts are read as an agent's *writes* instead, by the outbound screen
//! the gateway runs on a call's `text` arguments: each line may carry `texts` (an array: the
//! arguments of one call, read together and each alone, as the gateway reads them) instead of
//! `text`, and prints the outbound report (its flags, links and findings). A text counts as
//! flagged when any flag is raised, or with `--flag` when one of the named ones is.

use super::ConfigArg;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use warden_gateway::screening::Screening;
use warden_screen::outbound::OutboundKind;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A JSON-lines file (one object with a `text` field per line); default: stdin as one text
    #[arg(long)]
    pub jsonl: Option<PathBuf>,
    /// Score from which a text counts as flagged (and is at least suspicious); default: the
    /// configured `suspicious_at`
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Print only the per-source table, not one line per text
    #[arg(long, requires = "jsonl")]
    pub summary_only: bool,
    /// Read the texts as an agent's writes, with the outbound screen (a line may carry `texts`,
    /// the text arguments of one call)
    #[arg(long, conflicts_with = "threshold")]
    pub outbound: bool,
    /// With `--outbound`: the flags that count a text as flagged (default: any), e.g.
    /// `--flag agent_instructions --flag concealed`
    #[arg(long = "flag", requires = "outbound", value_parser = outbound_kind)]
    pub flags: Vec<OutboundKind>,
    #[command(flatten)]
    pub config: ConfigArg,
}

/// Texts read: id, source, the texts of one input (one, or a call's several arguments).
type Inputs = Vec<(Option<serde_json::Value>, Option<String>, Vec<String>)>;

/// An outbound flag by the name it has in reports and policy (`external_link`, `concealed`, …).
fn outbound_kind(name: &str) -> Result<OutboundKind, String> {
    OutboundKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .ok_or_else(|| {
            let names: Vec<&str> = OutboundKind::ALL.iter().map(|k| k.as_str()).collect();
            format!(
                "unknown outbound flag `{name}`; one of: {}",
                names.join(", ")
            )
        })
}

fn read_inputs(path: Option<&PathBuf>) -> anyhow::Result<Inputs> {
    let Some(path) = path else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        return Ok(vec![(None, None, vec![text])]);
    };
    let content = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read `{}`: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in content
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| anyhow::anyhow!("{}:{}: not JSON: {e}", path.display(), i + 1))?;
        let texts = match (v.get("text"), v.get("texts")) {
            (Some(serde_json::Value::String(text)), None) => vec![text.clone()],
            (None, Some(serde_json::Value::Array(texts))) if !texts.is_empty() => texts
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}:{}: field `texts` holds something other than strings",
                        path.display(),
                        i + 1
                    )
                })?,
            _ => anyhow::bail!(
                "{}:{}: no string field `text` (or, with --outbound, a non-empty array `texts`), \
                 or both",
                path.display(),
                i + 1
            ),
        };
        let source = match v.get("source") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => anyhow::bail!(
                "{}:{}: field `source` is not a string",
                path.display(),
                i + 1
            ),
        };
        out.push((v.get("id").cloned(), source, texts));
    }
    Ok(out)
}

/// Wilson score interval for `k` successes in `n` trials at 95% confidence.
fn wilson(k: usize, n: usize) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = 1.959_964f64;
    let n = n as f64;
    let p = k as f64 / n;
    let denom = 1.0 + z * z / n;
    let centre = (p + z * z / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt() / denom;
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// The per-source table, Markdown; `flagged` names what counts as flagged.
fn table(counts: &BTreeMap<String, (usize, usize)>, flagged: &str) -> String {
    let mut out = format!(
        "| source | n | flagged ({flagged}) | rate | Wilson 95% |\n|---|--:|--:|--:|--:|\n"
    );
    for (source, (n, k)) in counts {
        let (lo, hi) = wilson(*k, *n);
        let rate = if *n == 0 { 0.0 } else { *k as f64 / *n as f64 };
        out.push_str(&format!(
            "| {source} | {n} | {k} | {:.1}% | {:.1}–{:.1}% |\n",
            rate * 100.0,
            lo * 100.0,
            hi * 100.0
        ));
    }
    out
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut settings = super::load_config(&args.config)?.screen;
    if let Some(t) = args.threshold {
        if !(0.0..=1.0).contains(&t) {
            anyhow::bail!("--threshold must be between 0 and 1, not `{t}`");
        }
        settings.suspicious_at = t;
        settings.injection_at = settings.injection_at.max(t);
    }
    let threshold = settings.suspicious_at;
    let screening = Screening::new(settings);
    let inputs = read_inputs(args.jsonl.as_ref())?;
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (id, source, texts) in inputs {
        let (flagged, mut line) = if args.outbound {
            let report = screening.outbound(texts.iter().map(String::as_str));
            let flagged = if args.flags.is_empty() {
                report.flagged()
            } else {
                report.findings.iter().any(|f| args.flags.contains(&f.kind))
            };
            (flagged, serde_json::to_value(&report)?)
        } else {
            let [text] = texts.as_slice() else {
                anyhow::bail!("`texts` (a call's several arguments) is read only with --outbound");
            };
            let report = screening.scan(text);
            let line = serde_json::json!({
                "score": report.score,
                "verdict": report.verdict.as_str(),
                "findings": report.findings,
                "normalised_changed": report.normalised_changed,
            });
            (report.score >= threshold, line)
        };
        let entry = counts
            .entry(source.clone().unwrap_or_else(|| "(no source)".to_owned()))
            .or_default();
        entry.0 += 1;
        if flagged {
            entry.1 += 1;
        }
        if args.summary_only {
            continue;
        }
        if let Some(o) = line.as_object_mut() {
            if let Some(id) = id {
                o.insert("id".into(), id);
            }
            if let Some(source) = source {
                o.insert("source".into(), source.into());
            }
        }
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    if args.jsonl.is_some() {
        let flagged = match (args.outbound, args.flags.as_slice()) {
            (false, _) => format!("score >= {threshold}"),
            (true, []) => "any outbound flag".to_owned(),
            (true, flags) => {
                let names: Vec<&str> = flags.iter().map(|k| k.as_str()).collect();
                names.join(" or ")
            }
        };
        eprint!("{}", table(&counts, &flagged));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_interval_matches_known_values() {
        // 0 of 10: upper bound 27.8%; 50 of 100: 40.4–59.6%.
        let (lo, hi) = wilson(0, 10);
        assert_eq!(lo, 0.0);
        assert!((hi - 0.2775).abs() < 1e-3, "{hi}");
        let (lo, hi) = wilson(50, 100);
        assert!(
            (lo - 0.4038).abs() < 1e-3 && (hi - 0.5962).abs() < 1e-3,
            "{lo} {hi}"
        );
        assert_eq!(wilson(0, 0), (0.0, 1.0));
    }

    #[test]
    fn table_counts_each_source() {
        let mut c = BTreeMap::new();
        c.insert("a".to_owned(), (4, 1));
        c.insert("b".to_owned(), (2, 2));
        let t = table(&c, "score >= 0.5");
        assert!(t.contains("| a | 4 | 1 | 25.0% |"), "{t}");
        assert!(t.contains("| b | 2 | 2 | 100.0% |"), "{t}");
    }
}
