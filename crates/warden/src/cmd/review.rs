//! `warden review`: draw a reproducible sample of decisions, record verdicts, report error rates.
//!
//! One file per subcommand under `review/`. `sample` and `report` only read; `verdict` appends
//! a `review_verdict` event and needs a configured approver's token.

mod report;
mod sample;
mod verdict;

use std::collections::BTreeSet;
use std::process::ExitCode;
use warden_policy::Config;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Draw a random sample of decisions per category and outcome, seeded by a signed checkpoint
    Sample(sample::Args),
    /// Record a verdict on a decision (its leaf index): --correct or --wrong, with a note
    Verdict(verdict::Args),
    /// Per category: reviewed, error rate with its Wilson 95% interval, sample size needed,
    /// overdue reviews and whether allowed calls now need approval
    Report(report::Args),
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Sample(a) => sample::run(a),
        Command::Verdict(a) => verdict::run(a).await,
        Command::Report(a) => report::run(a),
    }
}

/// The tool categories of the config: what is reviewed.
fn categories(config: &Config) -> BTreeSet<String> {
    config
        .tools
        .values()
        .map(|t| t.labels.category.clone())
        .collect()
}

/// A Unix time in milliseconds as RFC 3339, `2026-12-01T23:50:12Z`: without the relative part
/// that live listings show, since a sample or a report is a record that must read the same
/// whenever it is re-derived.
pub fn when(ms: i64) -> String {
    crate::output::rfc3339(ms)
}
