//! `warden screen`: score text for prompt injection, the way the gateway does.
//!
//! Reads standard input as one text, or a JSON-lines file whose objects carry a `text` field,
//! and prints one JSON line per input: score, verdict at the configured thresholds, findings.

use super::ConfigArg;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use warden_gateway::screening::Screening;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A JSON-lines file (one object with a `text` field per line); default: stdin as one text
    #[arg(long)]
    pub jsonl: Option<PathBuf>,
    #[command(flatten)]
    pub config: ConfigArg,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = super::load_config(&args.config)?.screen;
    let screening = Screening::new(settings);
    let texts: Vec<(Option<serde_json::Value>, String)> = match &args.jsonl {
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            vec![(None, text)]
        }
        Some(path) => {
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
                let Some(text) = v.get("text").and_then(|t| t.as_str()).map(str::to_string) else {
                    anyhow::bail!("{}:{}: no string field `text`", path.display(), i + 1);
                };
                out.push((v.get("id").cloned(), text));
            }
            out
        }
    };
    for (id, text) in texts {
        let report = screening.scan(&text);
        let mut line = serde_json::json!({
            "score": report.score,
            "verdict": report.verdict.as_str(),
            "findings": report.findings,
            "normalised_changed": report.normalised_changed,
        });
        if let (Some(id), Some(o)) = (id, line.as_object_mut()) {
            o.insert("id".into(), id);
        }
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
