//! Loading the development data set (layout described in its README) for the trainer and the
//! evaluator. Every source without a published train/test split is split here, deterministically,
//! by a hash of its name and row number: the *fit* half may train the model and place the
//! thresholds, the *held* half is only ever evaluated.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    Fit,
    Held,
}

/// Stable FNV-1a hash, for splits and folds.
pub fn stable_hash(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

pub fn half(source: &str, row: usize) -> Half {
    if stable_hash(&format!("{source}#{row}")).is_multiple_of(2) {
        Half::Fit
    } else {
        Half::Held
    }
}

pub struct Data {
    root: PathBuf,
}

fn json_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(json_str).collect::<Vec<_>>().join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Data {
    pub fn open(root: &Path) -> Result<Self> {
        let readme = root.join("README.md");
        if !readme.is_file() {
            bail!(
                "`{}` is not the injection data folder (no README.md)",
                root.display()
            );
        }
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn read(&self, rel: &str) -> Result<String> {
        fs::read_to_string(self.root.join(rel)).with_context(|| format!("cannot read `{rel}`"))
    }

    fn json(&self, rel: &str) -> Result<Value> {
        serde_json::from_str(&self.read(rel)?).with_context(|| format!("cannot parse `{rel}`"))
    }

    fn jsonl(&self, text: &str, rel: &str) -> Result<Vec<Value>> {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).with_context(|| format!("cannot parse a line of `{rel}`"))
            })
            .collect()
    }

    /// BIPIA contexts of a task (`email`, `code`, `table`) and split (`train`, `test`).
    pub fn bipia_contexts(&self, task: &str, split: &str) -> Result<Vec<String>> {
        let rel = format!("bipia/{task}/{split}.jsonl");
        let rows = self.jsonl(&self.read(&rel)?, &rel)?;
        Ok(rows.iter().map(|r| json_str(&r["context"])).collect())
    }

    /// BIPIA attack strings (`text` or `code`, `train` or `test`), in file order.
    pub fn bipia_attacks(&self, kind: &str, split: &str) -> Result<Vec<String>> {
        let rel = format!("bipia/{kind}_attack_{split}.json");
        let v = self.json(&rel)?;
        let obj = v
            .as_object()
            .with_context(|| format!("`{rel}` is not an object"))?;
        Ok(obj
            .values()
            .filter_map(Value::as_array)
            .flatten()
            .map(json_str)
            .collect())
    }

    /// BIPIA composed test rows of a task: (text, label).
    pub fn bipia_composed(&self, task: &str) -> Result<Vec<(String, bool)>> {
        let rel = format!("bipia/composed_test/bipia_{task}_test_composed.jsonl.gz");
        let file =
            fs::File::open(self.root.join(&rel)).with_context(|| format!("cannot open `{rel}`"))?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(file)
            .read_to_string(&mut text)
            .with_context(|| format!("cannot decompress `{rel}`"))?;
        Ok(self
            .jsonl(&text, &rel)?
            .iter()
            .map(|r| (json_str(&r["text"]), r["label"].as_i64() == Some(1)))
            .collect())
    }

    /// A list-of-objects JSON file, one field per row.
    pub fn field_rows(&self, rel: &str, field: &str) -> Result<Vec<String>> {
        let v = self.json(rel)?;
        let rows = v
            .as_array()
            .with_context(|| format!("`{rel}` is not a list"))?;
        Ok(rows.iter().map(|r| json_str(&r[field])).collect())
    }

    /// Non-empty lines of a log file.
    pub fn log_lines(&self, rel: &str) -> Result<Vec<String>> {
        Ok(self
            .read(rel)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect())
    }
}

/// A development source with no published split, and where its rows are.
pub struct Unsplit {
    pub name: &'static str,
    pub rel: &'static str,
    /// JSON field, or `None` for a log file read line by line.
    pub field: Option<&'static str>,
    pub label: bool,
}

pub const UNSPLIT: &[Unsplit] = &[
    Unsplit {
        name: "cyberseceval prompt_injection",
        rel: "cyberseceval/prompt_injection.json",
        field: Some("user_input"),
        label: true,
    },
    Unsplit {
        name: "cyberseceval multilingual",
        rel: "cyberseceval/prompt_injection_multilingual_machine_translated.json",
        field: Some("user_input"),
        label: true,
    },
    Unsplit {
        name: "mitre_frr",
        rel: "cyberseceval/mitre_frr.json",
        field: Some("mutated_prompt"),
        label: false,
    },
    Unsplit {
        name: "notinject one",
        rel: "notinject/NotInject_one.json",
        field: Some("prompt"),
        label: false,
    },
    Unsplit {
        name: "notinject two",
        rel: "notinject/NotInject_two.json",
        field: Some("prompt"),
        label: false,
    },
    Unsplit {
        name: "notinject three",
        rel: "notinject/NotInject_three.json",
        field: Some("prompt"),
        label: false,
    },
    Unsplit {
        name: "wildguard (benign)",
        rel: "notinject/wildguard.json",
        field: Some("prompt"),
        label: false,
    },
    Unsplit {
        name: "loghub OpenSSH",
        rel: "loghub/OpenSSH_2k.log",
        field: None,
        label: false,
    },
    Unsplit {
        name: "loghub Linux",
        rel: "loghub/Linux_2k.log",
        field: None,
        label: false,
    },
    Unsplit {
        name: "loghub Apache",
        rel: "loghub/Apache_2k.log",
        field: None,
        label: false,
    },
];

impl Unsplit {
    /// Rows of the requested half, with their row numbers.
    pub fn rows(&self, data: &Data, which: Half) -> Result<Vec<(usize, String)>> {
        let all = match self.field {
            Some(f) => data.field_rows(self.rel, f)?,
            None => data.log_lines(self.rel)?,
        };
        Ok(all
            .into_iter()
            .enumerate()
            .filter(|(i, _)| half(self.name, *i) == which)
            .collect())
    }

    /// Group used to weigh benign sources when fitting thresholds: the three NotInject files
    /// are one source, and so are the three logs.
    pub fn group(&self) -> &'static str {
        if self.name.starts_with("notinject") {
            "notinject"
        } else if self.name.starts_with("loghub") {
            "loghub"
        } else {
            self.name
        }
    }
}

/// Synthetic tool outputs ([`crate::synth`]) for one half: `Fit` is the training split (its own
/// seed, BIPIA train mail bodies and fit log halves as carriers, the held-out family left out),
/// `Held` the test split (another seed, BIPIA test mail bodies, held log halves, every family).
pub fn synthetic(data: &Data, which: Half, n: usize) -> Result<Vec<crate::synth::Sample>> {
    let (split, seed) = match which {
        Half::Fit => ("train", 0x5157_7a11),
        Half::Held => ("test", 0x07e5_75e7),
    };
    let mut mails = data.bipia_contexts("email", split)?;
    mails.extend(data.bipia_contexts("code", split)?);
    let mut log_lines = Vec::new();
    for u in UNSPLIT.iter().filter(|u| u.field.is_none()) {
        log_lines.extend(u.rows(data, which)?.into_iter().map(|(_, t)| t));
    }
    let pool = crate::synth::Pool {
        sentences: crate::synth::sentences_of(&mails),
        log_lines,
    };
    let families: Vec<&str> = crate::synth::FAMILIES
        .iter()
        .copied()
        .filter(|f| which == Half::Held || *f != crate::synth::HELD_OUT_FAMILY)
        .collect();
    Ok(crate::synth::generate(seed, &pool, n, &families))
}
