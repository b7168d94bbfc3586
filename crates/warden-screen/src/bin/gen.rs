//! `warden-screen-gen --data DIR --split train|test [--n N] [--out FILE]`: writes synthetic tool
//! outputs ([`synth`]) as JSON lines with `text`, `label`, `source` and `family` fields, the
//! input `warden screen --jsonl` reads.
//!
//! The `train` split is what the trainer generates for itself (its seed, mail bodies of the BIPIA
//! *train* contexts and the *fit* halves of the logs as carriers, every family but the held-out
//! one). The `test` split uses another seed, the BIPIA *test* mail bodies and the *held* log
//! halves, and every family, the held-out one included: its positives are reported under their
//! own source.

#[path = "devdata.rs"]
#[allow(
    dead_code,
    reason = "shared with the other binaries, which use other parts"
)]
mod devdata;
#[path = "synth.rs"]
#[allow(dead_code, reason = "shared with the trainer, which uses other parts")]
mod synth;

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};

fn main() -> Result<()> {
    let mut data_dir: Option<PathBuf> = None;
    let mut split = String::from("test");
    let mut n = 2000usize;
    let mut out: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data_dir = args.next().map(PathBuf::from),
            "--split" => split = args.next().context("--split needs train or test")?,
            "--n" => n = args.next().context("--n needs a number")?.parse()?,
            "--out" => out = args.next().map(PathBuf::from),
            "-h" | "--help" => {
                println!(
                    "usage: warden-screen-gen --data DIR --split train|test [--n N] [--out FILE]"
                );
                return Ok(());
            }
            other => bail!("unknown argument `{other}`"),
        }
    }
    let data = devdata::Data::open(&data_dir.context("--data DIR is required")?)?;
    let (samples, name) = match split.as_str() {
        "train" => (devdata::synthetic(&data, devdata::Half::Fit, n)?, "train"),
        "test" => (devdata::synthetic(&data, devdata::Half::Held, n)?, "test"),
        other => bail!("unknown split `{other}`"),
    };
    let mut w: Box<dyn std::io::Write> = match &out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create `{}`", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    for (i, s) in samples.iter().enumerate() {
        let family = s.family.split('/').next().unwrap_or_default();
        let source = if !s.label {
            format!("synthetic {name}: benign")
        } else if family == synth::HELD_OUT_FAMILY {
            format!("synthetic {name}: held-out family `{family}`")
        } else {
            format!("synthetic {name}: {family}")
        };
        let line = serde_json::json!({
            "id": format!("{name}-{i}"),
            "text": s.text,
            "label": u8::from(s.label),
            "source": source,
            "family": s.family,
        });
        writeln!(w, "{line}")?;
    }
    Ok(())
}
