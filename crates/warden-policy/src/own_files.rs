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
use std::path::PathBuf;

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
    /// `files` and `folders` of warden's, as warden opens them: a relative one is taken from
    /// the working directory (the config's resolver has already put the config's folder
    /// before it).
    pub fn new(
        files: impl IntoIterator<Item = PathBuf>,
        folders: impl IntoIterator<Item = PathBuf>,
    ) -> Self {
        let absolute = |p: PathBuf| {
            let p = std::path::absolute(&p).unwrap_or(p);
            normalised(&p.to_string_lossy())
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
                let proc_view = word.strip_prefix("/proc/").is_some_and(|rest| {
                    rest.split('/')
                        .nth(1)
                        .is_some_and(|p| PROC_VIEWS.iter().any(|v| glob_matches(p, v)))
                });
                if proc_view {
                    return Some(word.to_string());
                }
                return self.paths.iter().find(|p| pattern.matches(p)).cloned();
            }
            let path = normalised(word)?;
            if let Some(rest) = path.strip_prefix("/proc/") {
                // Another process's view of the files (`root`, `cwd`, open `fd`s, its memory)
                // or its environment, where tokens live.
                let mut parts = rest.split('/').skip(1);
                if parts.next().is_some_and(|p| PROC_VIEWS.contains(&p)) {
                    return Some(path);
                }
            }
            // The file, anything below a folder of warden's, or a folder that holds one of
            // them (a recursive read of it reads them too); `/` is every folder's.
            return self
                .paths
                .iter()
                .find(|own| {
                    path == **own
                        || path.starts_with(&format!("{own}/"))
                        || (path != "/" && own.starts_with(&format!("{path}/")))
                })
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

/// What of a process `/proc/<pid>/` shows that reaches warden's files or secrets: its
/// environment, its root and working folder (paths through them lead anywhere), its open
/// files, its memory, its command line.
const PROC_VIEWS: [&str; 9] = [
    "environ",
    "root",
    "cwd",
    "fd",
    "fdinfo",
    "map_files",
    "mem",
    "maps",
    "cmdline",
];

/// Whether the glob `pattern` (one path component) matches `name`.
fn glob_matches(pattern: &str, name: &str) -> bool {
    glob::Pattern::new(pattern).is_ok_and(|p| p.matches(name))
}

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
            [
                PathBuf::from("/srv/warden/warden.toml"),
                PathBuf::from("/srv/warden/state/warden.db"),
                PathBuf::from("/srv/warden/state/ledger.key"),
            ],
            [PathBuf::from("/srv/warden/state")],
        )
    }

    /// A relative path is taken from the working directory, once.
    #[test]
    fn relative_paths_are_taken_from_the_working_directory() {
        let own = OwnFiles::new([PathBuf::from("cc/state/ledger.key")], []);
        let cwd = std::env::current_dir().unwrap();
        let key = cwd.join("cc/state/ledger.key");
        assert!(own.named_by(key.to_str().unwrap()).is_some(), "{own:?}");
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
            "/proc/3*/environ",
            "/proc/self/root/srv/warden/state/ledger.key",
            "/proc/*/cwd/state/ledger.key",
            "/proc/*/fd/*",
            "/srv/warden",
            "/srv",
            "/srv/wa*",
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
            "/proc/cpuinfo",
            "/",
            "/srv/warden/state/../../etc/hosts",
            "/srv/warden/README.md",
        ] {
            assert_eq!(own.named_by(word), None, "{word}");
        }
    }
}
