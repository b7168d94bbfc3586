//! The embedded default: `warden serve` with no `--config` runs the bundled lab SOC.
//!
//! The example configuration, policies and entities are compiled into the binary and written to
//! `.warden/lab/` under the current folder (refreshed at every start, so they match the binary);
//! the lab's state and warden's SQLite store live beside them and persist.

use anyhow::Context;
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

/// Writes the bundled lab configuration to `dir` and returns the config file's path.
pub fn materialise(dir: &Path) -> anyhow::Result<PathBuf> {
    for (name, text) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(dir.join("warden.toml"))
}

/// The config to use: the one given, or the embedded lab.
pub fn config_path(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match given {
        Some(p) => Ok(p),
        None => materialise(Path::new(DEFAULT_DIR)),
    }
}
