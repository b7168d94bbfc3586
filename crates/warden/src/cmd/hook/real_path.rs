//! Where a path really leads on this machine: the command hook runs where Claude Code runs,
//! beside the files, so it can follow the symbolic links a lexical check cannot see
//! (`/cases/x → /home/analyst/.ssh`).
//!
//! The design choice is to resolve the longest existing prefix component by component, the
//! way the kernel will when the tool opens the path: a link is followed wherever it appears,
//! the last component included (a dangling link is followed too: a write creates its target);
//! components past the first that does not exist are taken as spelt (nothing there can be a
//! link yet). Whatever could hide the target — a loop, too many links, a component that cannot
//! be read, a `..` below a missing directory, a name that is not UTF-8 — is an error, never the
//! path as spelt.
//!
//! What remains is a race: a link created between this check and the tool's own open (by a
//! process already running, since the agent's own commands pass through the hook one at a
//! time) is not seen.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Component, Path, PathBuf};

/// Links followed at most on one path (Linux's own limit is 40).
const MAX_LINKS: usize = 40;

/// Why a path's real location is unknown.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Unresolved {
    #[error("more than {MAX_LINKS} symbolic links (a loop?)")]
    TooManyLinks,
    #[error("`{path}` cannot be examined: {why}")]
    Unreadable { path: String, why: String },
    #[error("`..` below `{path}`, which does not exist")]
    ParentOfMissing { path: String },
    #[error("the path is not UTF-8")]
    NotUtf8,
}

/// The real path `path` (absolute) leads to, or why it cannot be known.
pub fn real_path(path: &str) -> Result<String, Unresolved> {
    let mut queue: VecDeque<OsString> = components(Path::new(path));
    let mut resolved = PathBuf::from("/");
    let mut exists = true;
    let mut links = 0;
    while let Some(part) = queue.pop_front() {
        if part == ".." {
            if !exists {
                return Err(Unresolved::ParentOfMissing {
                    path: shown(&resolved),
                });
            }
            resolved.pop();
            continue;
        }
        let next = resolved.join(&part);
        if !exists {
            resolved = next;
            continue;
        }
        match std::fs::symlink_metadata(&next) {
            Ok(meta) if meta.file_type().is_symlink() => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Unresolved::TooManyLinks);
                }
                let target = std::fs::read_link(&next).map_err(|e| Unresolved::Unreadable {
                    path: shown(&next),
                    why: e.to_string(),
                })?;
                if target.is_absolute() {
                    resolved = PathBuf::from("/");
                }
                for c in components(&target).into_iter().rev() {
                    queue.push_front(c);
                }
            }
            Ok(_) => resolved = next,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                exists = false;
                resolved = next;
            }
            Err(e) => {
                return Err(Unresolved::Unreadable {
                    path: shown(&next),
                    why: e.to_string(),
                });
            }
        }
    }
    resolved
        .into_os_string()
        .into_string()
        .map_err(|_| Unresolved::NotUtf8)
}

/// The named components of `path` (`.` and the root dropped, `..` kept).
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

fn shown(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_are_followed_wherever_they_are() {
        let top = tempfile::tempdir().unwrap();
        let t = top.path().canonicalize().unwrap();
        let root = t.to_str().unwrap();
        std::fs::create_dir_all(t.join("cases/c1")).unwrap();
        std::fs::create_dir_all(t.join("home/.ssh")).unwrap();
        symlink(t.join("home/.ssh"), t.join("cases/c1/ssh")).unwrap();
        symlink("../../home", t.join("cases/c1/up")).unwrap();
        symlink(t.join("home/.bashrc"), t.join("cases/c1/dangling")).unwrap();
        symlink(t.join("cases/c1/loop"), t.join("cases/c1/loop")).unwrap();

        let real = |p: &str| real_path(&format!("{root}/{p}"));
        assert_eq!(real("cases/c1/a.txt"), Ok(format!("{root}/cases/c1/a.txt")));
        assert_eq!(
            real("cases/c1/new/dir/a"),
            Ok(format!("{root}/cases/c1/new/dir/a"))
        );
        assert_eq!(
            real("cases/c1/ssh/keys"),
            Ok(format!("{root}/home/.ssh/keys"))
        );
        assert_eq!(real("cases/c1/up/.ssh"), Ok(format!("{root}/home/.ssh")));
        assert_eq!(
            real("cases/c1/dangling"),
            Ok(format!("{root}/home/.bashrc"))
        );
        assert_eq!(real("cases/./c1//a"), Ok(format!("{root}/cases/c1/a")));
        assert_eq!(real("cases/c1/loop/x"), Err(Unresolved::TooManyLinks));
        assert!(matches!(
            real("cases/missing/../../etc"),
            Err(Unresolved::ParentOfMissing { .. })
        ));
    }
}
