//! warden's own files, out of reach of the agents it governs through Claude Code's tools.
//!
//! Claude Code runs `Bash`, `Read`, `Grep` and `Glob` with its user's rights, and a setup that
//! runs `warden serve` as that same user leaves the ledger's signing key, the store, the
//! config and the secret files it names readable by the agent. With the key and one write to
//! the store an agent could forge an approval the ledger accepts. The real fix is a user of
//! warden's own (docs/deploy.md); this is the floor under a setup that lacks it: a call of one
//! of Claude Code's tools that names one of these files (as a path argument, or as a word of a
//! command: the path, a `--file=` value, a glob that matches it, or its file name alone, as
//! `find / -name ledger.key` asks for it) is denied whatever the policy says, and so is one
//! that names a process's environment (`/proc/*/environ`), where tokens live.
//!
//! It reads only what is written: a name built while the command runs (`cat $(echo …)`) is
//! not seen here, which is why the separate user is the fix and this only the floor.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The files, and where they are named from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnFiles {
    /// Absolute, lexically normalised.
    paths: BTreeSet<String>,
    /// The file names of `paths` that are files (not folders).
    names: BTreeSet<String>,
}

/// A glob's least run of literal characters that may match a file name alone: `*.key` may
/// name the ledger's key, `*` names everything and so nothing in particular.
const MIN_LITERAL: usize = 3;

impl OwnFiles {
    /// `files` and `folders` of warden's, relative ones taken from `base` (the config's
    /// folder).
    pub fn new(
        base: &Path,
        files: impl IntoIterator<Item = PathBuf>,
        folders: impl IntoIterator<Item = PathBuf>,
    ) -> Self {
        let absolute = |p: PathBuf| {
            let joined = if p.is_absolute() { p } else { base.join(p) };
            let joined = std::path::absolute(&joined).unwrap_or(joined);
            normalised(&joined.to_string_lossy())
        };
        let mut own = Self::default();
        for file in files {
            if let Some(path) = absolute(file) {
                if let Some((_, name)) = path.rsplit_once('/')
                    && !name.is_empty()
                {
                    own.names.insert(name.to_string());
                }
                own.paths.insert(path);
            }
        }
        for folder in folders {
            if let Some(path) = absolute(folder).filter(|p| p != "/") {
                own.paths.insert(path);
            }
        }
        own
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The file of warden's (or the process environment) that `word` names, if any.
    pub fn named_by(&self, word: &str) -> Option<String> {
        let mut candidates = vec![word];
        if let Some((_, value)) = word.split_once('=') {
            candidates.push(value);
        }
        if let Some(rest) = word.strip_prefix("file://") {
            candidates.push(rest);
        }
        candidates.into_iter().find_map(|c| self.named_by_one(c))
    }

    fn named_by_one(&self, word: &str) -> Option<String> {
        let globbed = word.contains(['*', '?', '[']);
        if word.starts_with('/') {
            if globbed {
                let pattern = glob::Pattern::new(word).ok()?;
                return self
                    .paths
                    .iter()
                    .map(String::as_str)
                    .chain(ENVIRONS)
                    .find(|p| pattern.matches(p))
                    .map(str::to_string);
            }
            let path = normalised(word)?;
            if path.starts_with("/proc/") && path.ends_with("/environ") {
                return Some(path);
            }
            return self
                .paths
                .iter()
                .find(|own| path == **own || path.starts_with(&format!("{own}/")))
                .cloned();
        }
        let name = word.rsplit('/').next().unwrap_or(word);
        if globbed {
            let literal = name
                .split(['*', '?', '[', ']'])
                .map(str::len)
                .max()
                .unwrap_or(0);
            if literal < MIN_LITERAL {
                return None;
            }
            let pattern = glob::Pattern::new(name).ok()?;
            return self.names.iter().find(|n| pattern.matches(n)).cloned();
        }
        self.names.get(name).cloned()
    }
}

/// Where a process's environment is read, for a glob to match against.
const ENVIRONS: [&str; 2] = ["/proc/self/environ", "/proc/1/environ"];

/// `text` as an absolute path without `.`, `..` or empty components; `None` if it is not
/// absolute or climbs above the root.
fn normalised(text: &str) -> Option<String> {
    if !text.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in text.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]
    use super::*;

    fn own() -> OwnFiles {
        OwnFiles::new(
            Path::new("/srv/warden"),
            [
                PathBuf::from("warden.toml"),
                PathBuf::from("state/warden.db"),
                PathBuf::from("state/ledger.key"),
            ],
            [PathBuf::from("state")],
        )
    }

    #[test]
    fn paths_file_names_and_globs_that_name_an_own_file() {
        let own = own();
        for word in [
            "/srv/warden/state/ledger.key",
            "/srv/warden/state/../state//ledger.key",
            "/srv/warden/state",
            "/srv/warden/state/backup-1.db",
            "--database=/srv/warden/state/warden.db",
            "if=/srv/warden/state/ledger.key",
            "file:///srv/warden/warden.toml",
            "/srv/warden/st*/*.key",
            "ledger.key",
            "state/warden.db",
            "./warden.toml",
            "*.key",
            "ledger.k?y",
            "/proc/self/environ",
            "/proc/4242/environ",
            "/proc/*/environ",
        ] {
            assert!(own.named_by(word).is_some(), "{word}");
        }
    }

    #[test]
    fn other_words_name_nothing() {
        let own = own();
        for word in [
            "/cases/INC-1042/notes.md",
            "/srv/warden/policies/soc.cedar.bak",
            "/srv/wardenx/state/ledger.key",
            "*",
            "*.md",
            "-la",
            "ledger",
            "/proc/self/status",
            "/srv/warden/state/../../etc/hosts",
        ] {
            assert_eq!(own.named_by(word), None, "{word}");
        }
    }
}
