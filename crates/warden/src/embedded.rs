//! The embedded default: `warden serve` with no `--config` runs the bundled lab SOC.
//!
//! The example configuration, policies and entities are compiled into the binary and written to
//! `.warden/lab/` under the current folder; the lab's state and warden's SQLite store live beside
//! them and persist.
//!
//! A file there is the user's once they edit it: warden writes a file only when it is missing,
//! or when it still holds exactly what an earlier warden wrote (recorded, as `sha256sum` lines,
//! in `.warden/lab/.bundled`), so an upgrade refreshes an untouched lab and never discards an
//! edit. An edited file is kept and named on stderr.

use anyhow::Context;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FILES: &[(&str, &str)] = &[
    (
        "warden.toml",
        include_str!("../../../examples/soc/warden.toml"),
    ),
    (
        "entities.cedarschema",
        include_str!("../../../examples/soc/entities.cedarschema"),
    ),
    (
        "entities.json",
        include_str!("../../../examples/soc/entities.json"),
    ),
    (
        "policies/soc.cedar",
        include_str!("../../../examples/soc/policies/soc.cedar"),
    ),
    (
        "policies/soc.tests.toml",
        include_str!("../../../examples/soc/policies/soc.tests.toml"),
    ),
];

pub const DEFAULT_DIR: &str = ".warden/lab";

/// The record of what warden last wrote to a lab folder, in `sha256sum` format.
const MANIFEST: &str = ".bundled";

/// Writes the bundled lab configuration to a fresh folder `dir` (overwriting whatever is there)
/// and returns the config file's path. For throwaway labs; a user's lab goes through [`open_lab`].
pub fn materialise(dir: &Path) -> anyhow::Result<PathBuf> {
    for (name, text) in FILES {
        write(&dir.join(name), text)?;
    }
    Ok(dir.join("warden.toml"))
}

/// What [`open_lab`] did to each file of the lab.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LabReport {
    /// No lab was there: every file was written.
    pub created: bool,
    /// Files that differ from the bundled ones and were not written by warden: kept as they are.
    pub kept: Vec<PathBuf>,
    /// Files an earlier warden wrote and nobody edited since: replaced by this warden's version.
    pub refreshed: Vec<PathBuf>,
}

/// Brings the lab in `dir` up to date without discarding edits: a missing file is written, an
/// unedited one (it matches the manifest) is refreshed, an edited one is kept.
pub fn open_lab(dir: &Path) -> anyhow::Result<(PathBuf, LabReport)> {
    let config = dir.join("warden.toml");
    let mut report = LabReport {
        created: !config.exists(),
        ..LabReport::default()
    };
    let written = read_manifest(&dir.join(MANIFEST))?;
    let mut manifest = BTreeMap::new();
    for (name, text) in FILES {
        let path = dir.join(name);
        let bundled = warden_core::sha256_hex(text.as_bytes());
        let current = match std::fs::read(&path) {
            Ok(bytes) => Some(warden_core::sha256_hex(&bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        };
        match current {
            None => write(&path, text)?,
            Some(c) if c == bundled => {}
            Some(c) if written.get(*name) == Some(&c) => {
                write(&path, text)?;
                report.refreshed.push(path);
            }
            Some(_) => {
                // What an earlier warden wrote stays recorded (never the user's digest, which
                // would make their edit look like ours at the next start).
                if let Some(ours) = written.get(*name) {
                    manifest.insert((*name).to_string(), ours.clone());
                }
                report.kept.push(path);
                continue;
            }
        }
        manifest.insert((*name).to_string(), bundled);
    }
    let lines: String = manifest
        .iter()
        .map(|(name, digest)| format!("{digest}  {name}\n"))
        .collect();
    write(&dir.join(MANIFEST), &lines)?;
    Ok((config, report))
}

/// The manifest's `digest  name` lines; none when there is no manifest (a lab from a warden
/// that kept none: every differing file counts as edited).
fn read_manifest(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    Ok(text
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(digest, name)| (name.to_string(), digest.to_string()))
        .collect())
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("cannot write `{}`", path.display()))
}

/// The config to use: the one given, or the embedded lab in `.warden/lab/` (saying on stderr
/// when it is created and which of its files are the user's).
pub fn config_path(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let Some(path) = given else {
        let dir = Path::new(DEFAULT_DIR);
        let (config, report) = open_lab(dir)?;
        if report.created {
            eprintln!(
                "warden: no lab in this folder: creating a new one in `{}` (give --config FILE to use another configuration)",
                dir.display()
            );
        }
        for path in &report.kept {
            eprintln!(
                "warden: keeping your edited `{}` (it differs from this warden's bundled lab; delete it to get the bundled one)",
                path.display()
            );
        }
        return Ok(config);
    };
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundled(name: &str) -> &'static str {
        FILES.iter().find(|(n, _)| *n == name).unwrap().1
    }

    #[test]
    fn a_new_lab_is_created_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (config, report) = open_lab(dir.path()).unwrap();
        assert!(report.created);
        assert!(report.kept.is_empty() && report.refreshed.is_empty());
        assert_eq!(
            std::fs::read_to_string(config).unwrap(),
            bundled("warden.toml")
        );
        let (_, again) = open_lab(dir.path()).unwrap();
        assert_eq!(again, LabReport::default());
    }

    #[test]
    fn an_edit_is_kept_and_survives_every_start() {
        let dir = tempfile::tempdir().unwrap();
        let (config, _) = open_lab(dir.path()).unwrap();
        let edited = format!("{}\n# mine\n", bundled("warden.toml"));
        std::fs::write(&config, &edited).unwrap();
        for _ in 0..2 {
            let (_, report) = open_lab(dir.path()).unwrap();
            assert_eq!(report.kept, vec![config.clone()]);
            assert_eq!(std::fs::read_to_string(&config).unwrap(), edited);
        }
    }

    #[test]
    fn an_untouched_file_from_an_earlier_warden_is_refreshed() {
        let dir = tempfile::tempdir().unwrap();
        let old = "# an earlier warden's policies\n";
        let path = dir.path().join("policies/soc.cedar");
        write(&path, old).unwrap();
        let digest = warden_core::sha256_hex(old.as_bytes());
        write(
            &dir.path().join(MANIFEST),
            &format!("{digest}  policies/soc.cedar\n"),
        )
        .unwrap();
        let (_, report) = open_lab(dir.path()).unwrap();
        assert_eq!(report.refreshed, vec![path.clone()]);
        assert!(report.kept.is_empty());
        assert_eq!(
            std::fs::read_to_string(path).unwrap(),
            bundled("policies/soc.cedar")
        );
    }

    #[test]
    fn without_a_manifest_a_differing_file_counts_as_edited() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entities.json");
        write(&path, "[]").unwrap();
        let (_, report) = open_lab(dir.path()).unwrap();
        assert_eq!(report.kept, vec![path.clone()]);
        assert_eq!(std::fs::read_to_string(path).unwrap(), "[]");
    }
}
