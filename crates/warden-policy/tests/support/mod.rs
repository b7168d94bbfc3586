//! The bundled SOC example with extra policies, in a temporary folder: shared by the slice tests
//! and the decision benchmark (`#[path]`-included there).

#![allow(clippy::unwrap_used, clippy::panic, dead_code)]

use std::path::{Path, PathBuf};
use warden_policy::Config;

/// The bundled example's folder.
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/soc")
}

/// Loads the example with `extra` as a second policy file; the folder lives as long as the
/// returned guard.
pub fn example_with(extra: &str) -> (tempfile::TempDir, Config) {
    let src = example_dir();
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "warden.toml",
        "entities.cedarschema",
        "entities.json",
        "policies/soc.cedar",
    ] {
        let to = dir.path().join(f);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(f), to).unwrap();
    }
    std::fs::write(dir.path().join("policies/generated.cedar"), extra).unwrap();
    let toml = std::fs::read_to_string(dir.path().join("warden.toml"))
        .unwrap()
        .replace(
            "files = [\"policies/soc.cedar\"]",
            "files = [\"policies/soc.cedar\", \"policies/generated.cedar\"]",
        );
    std::fs::write(dir.path().join("warden.toml"), toml).unwrap();
    let config = Config::load(&dir.path().join("warden.toml")).unwrap_or_else(|e| panic!("{e}"));
    (dir, config)
}
