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
//! A write into a directory (`cp SRC DIR/`, `cp -r`, `mv`) lands on names below it, and
//! through any link there: [`links_below`] finds where each link below a directory leads. A
//! copy that keeps links (`cp -a`, `mv`) makes each link it copies again elsewhere, pointing
//! where it points: [`copied_links`] says where those lead once copied (a relative one that
//! climbs with `..` leads somewhere that depends on where it lands: unknown).
//!
//! What remains is a race: a link created between this check and the tool's own open by a
//! process already running (a background command) is not seen. The command itself cannot
//! make one unseen: every link it makes is judged by where it leads (the analysis counts a
//! link's target, and what a link-keeping copy copies, as writes), and its writes below a
//! link it makes are unknown.

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
    #[error("more than {MAX_ENTRIES} entries to examine below the paths written")]
    TooManyEntries,
    #[error("the link `{path}` climbs out of where its copy lands")]
    Climbs { path: String },
    #[error("the relative link `{path}` is copied to another folder, where it leads elsewhere")]
    Relocated { path: String },
}

/// Directory entries examined at most for one command: past them, where its writes land is
/// unknown.
pub const MAX_ENTRIES: usize = 10_000;

/// Where each symbolic link at or below `path` leads, resolved where it is: a write into
/// `path` may land through any of them. Nothing when `path` does not lead to a directory.
/// `budget` counts the entries examined, across calls.
pub fn links_below(path: &str, budget: &mut usize) -> Vec<Result<String, Unresolved>> {
    match real_path(path) {
        Ok(dir) => walk(Path::new(&dir), budget)
            .into_iter()
            .map(|link| link.and_then(|l| real_path_of(&l)))
            .collect(),
        Err(e) => vec![Err(e)],
    }
}

/// Where the links that copying (or moving) `path` with its links kept would make lead: the
/// link `path` itself is, and each one below the directory it leads to. An absolute link
/// leads to the same place wherever it is copied; a relative one stays below its copy unless
/// it climbs (`..`), and then where it leads is unknown. `budget` as for [`links_below`].
pub fn copied_links(path: &str, budget: &mut usize) -> Vec<Result<String, Unresolved>> {
    let given = Path::new(path);
    let mut links = Vec::new();
    if std::fs::symlink_metadata(given).is_ok_and(|m| m.file_type().is_symlink()) {
        links.push(Ok(given.to_path_buf()));
    }
    match real_path(path) {
        Ok(dir) => links.extend(walk(Path::new(&dir), budget)),
        Err(e) => links.push(Err(e)),
    }
    links
        .into_iter()
        .filter_map(|link| match link {
            Err(e) => Some(Err(e)),
            Ok(link) => match std::fs::read_link(&link) {
                Ok(target) if target.is_absolute() => Some(real_path_of(&target)),
                Ok(target) if target.components().any(|c| c == Component::ParentDir) => {
                    Some(Err(Unresolved::Climbs { path: shown(&link) }))
                }
                // The link named itself lands in another folder, where its text leads
                // somewhere else; a link below the copy of its own folder keeps its
                // neighbours, themselves written and examined.
                Ok(_) if link.as_path() == given => {
                    Some(Err(Unresolved::Relocated { path: shown(&link) }))
                }
                Ok(_) => None,
                Err(e) => Some(Err(Unresolved::Unreadable {
                    path: shown(&link),
                    why: e.to_string(),
                })),
            },
        })
        .collect()
}

fn real_path_of(path: &Path) -> Result<String, Unresolved> {
    match path.to_str() {
        Some(p) => real_path(p),
        None => Err(Unresolved::NotUtf8),
    }
}

/// The symbolic links at or below `dir` (links are not followed), and why any part of the
/// tree could not be examined: an entry that cannot be listed, or the budget spent.
fn walk(dir: &Path, budget: &mut usize) -> Vec<Result<PathBuf, Unresolved>> {
    let mut out = Vec::new();
    let unreadable = |path: &Path, e: std::io::Error| Unresolved::Unreadable {
        path: shown(path),
        why: e.to_string(),
    };
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        if *budget == 0 {
            out.push(Err(Unresolved::TooManyEntries));
            break;
        }
        *budget -= 1;
        match std::fs::symlink_metadata(&next) {
            Ok(meta) if meta.file_type().is_symlink() => out.push(Ok(next)),
            Ok(meta) if meta.is_dir() => match std::fs::read_dir(&next) {
                Ok(entries) => {
                    for entry in entries {
                        match entry {
                            Ok(entry) => stack.push(entry.path()),
                            Err(e) => out.push(Err(unreadable(&next, e))),
                        }
                    }
                }
                Err(e) => out.push(Err(unreadable(&next, e))),
            },
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => out.push(Err(unreadable(&next, e))),
        }
    }
    out
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

    #[test]
    fn links_below_a_written_folder_and_in_a_copied_tree_are_found() {
        let top = tempfile::tempdir().unwrap();
        let t = top.path().canonicalize().unwrap();
        let root = t.to_str().unwrap();
        std::fs::create_dir_all(t.join("cases/d/deep")).unwrap();
        std::fs::create_dir_all(t.join("home")).unwrap();
        symlink(t.join("home/.bashrc"), t.join("cases/d/deep/.bashrc")).unwrap();
        symlink("../../home", t.join("cases/d/up")).unwrap();
        symlink("deep", t.join("cases/d/down")).unwrap();
        std::fs::write(t.join("cases/d/plain"), "x").unwrap();

        let mut budget = MAX_ENTRIES;
        let mut below = links_below(&format!("{root}/cases/d"), &mut budget);
        below.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(
            below,
            vec![
                Ok(format!("{root}/cases/d/deep")),
                Ok(format!("{root}/home")),
                Ok(format!("{root}/home/.bashrc")),
            ]
        );
        // Copied elsewhere, an absolute link still leads where it did; one that climbs leads
        // somewhere else; one that descends stays below its copy.
        let copied = copied_links(&format!("{root}/cases/d"), &mut budget);
        assert!(
            copied.contains(&Ok(format!("{root}/home/.bashrc"))),
            "{copied:?}"
        );
        assert!(
            copied
                .iter()
                .any(|r| matches!(r, Err(Unresolved::Climbs { .. }))),
            "{copied:?}"
        );
        assert_eq!(copied.len(), 2, "{copied:?}");
        // The link named itself is copied as a link.
        let copied = copied_links(&format!("{root}/cases/d/deep/.bashrc"), &mut budget);
        assert_eq!(copied, vec![Ok(format!("{root}/home/.bashrc"))]);
        // A relative link named itself lands in another folder, where its text leads
        // somewhere else: unknown (review 5).
        let copied = copied_links(&format!("{root}/cases/d/down"), &mut budget);
        assert!(
            copied
                .iter()
                .any(|r| matches!(r, Err(Unresolved::Relocated { .. }))),
            "{copied:?}"
        );
        // A folder that does not exist holds nothing; a spent budget is unknown.
        assert!(links_below(&format!("{root}/cases/new"), &mut budget).is_empty());
        let mut spent = 1;
        assert!(
            links_below(&format!("{root}/cases/d"), &mut spent)
                .contains(&Err(Unresolved::TooManyEntries))
        );
    }
}
