//! The ledger's signing key on disk: created once, readable only by its owner.

use super::LedgerError;
use std::io::Write;
use std::path::{Path, PathBuf};
use warden_ledger::{CheckpointVerifier, LeafKey, NoteSigner, VerifierKey};

/// Where the verifier key (`<name>+<id>+<base64>`) of the key at `key_path` is written: the
/// same path with the extension `pub` (`ledger.key` → `ledger.pub`).
pub fn public_key_path(key_path: &Path) -> PathBuf {
    key_path.with_extension("pub")
}

fn key_error(path: &Path, message: impl Into<String>) -> LedgerError {
    LedgerError::Key {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// The signing key at `path`, which must sign as `origin`; `None` when there is no file.
fn read_signer(path: &Path, origin: &str) -> Result<Option<NoteSigner>, LedgerError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_error(path, format!("cannot read: {e}"))),
    };
    warn_if_readable_by_others(path);
    let signer = NoteSigner::from_private_key(text.trim())
        .map_err(|e| key_error(path, format!("not a signing key: {e}")))?;
    if signer.name() != origin {
        return Err(key_error(
            path,
            format!(
                "the key signs as `{}` but the configured origin is `{origin}`: use the key \
                 made for this origin, or set `[ledger] origin` back",
                signer.name()
            ),
        ));
    }
    Ok(Some(signer))
}

/// (Re)writes the verifier key of `signer` beside the key at `path`.
fn write_public(path: &Path, signer: &NoteSigner) -> Result<(), LedgerError> {
    let public = public_key_path(path);
    let vkey = format!("{}\n", signer.verifier_key());
    if std::fs::read_to_string(&public).ok().as_deref() != Some(vkey.as_str()) {
        std::fs::write(&public, vkey)
            .map_err(|e| key_error(&public, format!("cannot write: {e}")))?;
    }
    Ok(())
}

/// Reads the signing key at `path`, or creates it (mode 0600) when there is none; either way
/// (re)writes the verifier key beside it. The key must sign as `origin`.
pub fn load_or_create_signer(path: &Path, origin: &str) -> Result<NoteSigner, LedgerError> {
    let signer = match read_signer(path, origin)? {
        Some(signer) => signer,
        None => create(path, origin)?,
    };
    write_public(path, &signer)?;
    Ok(signer)
}

/// The signing key at `path` of a ledger whose verifier key the configuration pins
/// (`[ledger] verifier_key`): read, never created, and refused unless it is `pinned`. Whoever
/// deletes the key and the store (every halt, taint and approval on the record with them)
/// cannot make warden start a new history under a key of its own making.
pub fn load_pinned_signer(
    path: &Path,
    origin: &str,
    pinned: &VerifierKey,
) -> Result<NoteSigner, LedgerError> {
    let signer = read_signer(path, origin)?.ok_or_else(|| {
        key_error(
            path,
            format!(
                "there is no key here, and the configuration pins the ledger's key \
                 (`[ledger] verifier_key = \"{pinned}\"`): restore that key; warden makes no \
                 new key while one is pinned"
            ),
        )
    })?;
    if signer.verifier_key() != *pinned {
        return Err(key_error(
            path,
            format!(
                "this is the key `{}`, not the one the configuration pins (`{pinned}`): \
                 restore the pinned key, or pin this one if it replaced it on purpose",
                signer.verifier_key()
            ),
        ));
    }
    write_public(path, &signer)?;
    Ok(signer)
}

/// Writes a new key to a private temporary file, then links it into place: a process that
/// starts at the same moment (another replica) either wins the link or loads the winner's
/// complete key, never a half-written one.
fn create(path: &Path, origin: &str) -> Result<NoteSigner, LedgerError> {
    let signer = NoteSigner::generate(origin, &mut rand::rngs::OsRng)
        .map_err(|e| key_error(path, format!("origin `{origin}` cannot name a key: {e}")))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| key_error(path, e.to_string()))?;
    let temp = dir.join(format!(
        ".{}.{}-{:016x}.tmp",
        path.file_name()
            .map_or("ledger.key".into(), |n| n.to_string_lossy()),
        std::process::id(),
        rand::random::<u64>()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options
        .open(&temp)
        .map_err(|e| key_error(&temp, format!("cannot create: {e}")))
        .and_then(|mut file| {
            file.write_all(format!("{}\n", signer.private_key_text()).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| key_error(&temp, format!("cannot write: {e}")))
        })
        .and_then(|()| match std::fs::hard_link(&temp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(key_error(path, format!("cannot create: {e}"))),
        });
    let _ = std::fs::remove_file(&temp);
    if written? {
        tracing::info!(key = %path.display(), origin, "created the ledger signing key");
        Ok(signer)
    } else {
        // Another process created it first: use theirs.
        load_or_create_signer(path, origin)
    }
}

#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(key = %path.display(), "the ledger signing key is readable by other users: chmod 600 it");
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path) {}

/// The key that makes and checks leaf MACs, derived from the signing key at `key_path` (which
/// must sign as `origin`), for an auditor that holds it. Never creates a key.
pub fn read_leaf_key(key_path: &Path, origin: &str) -> Result<LeafKey, LedgerError> {
    let text = std::fs::read_to_string(key_path)
        .map_err(|e| key_error(key_path, format!("cannot read: {e}")))?;
    let signer = NoteSigner::from_private_key(text.trim())
        .map_err(|e| key_error(key_path, format!("not a signing key: {e}")))?;
    if signer.name() != origin {
        return Err(key_error(
            key_path,
            format!("the key signs as `{}`, not `{origin}`", signer.name()),
        ));
    }
    Ok(LeafKey::derive(&signer))
}

/// Reads a verifier key file (or the text itself, when `text_or_path` is not a file) as the
/// trusted key for checkpoints whose origin is the key's name.
pub fn read_verifier(text_or_path: &str) -> Result<CheckpointVerifier, LedgerError> {
    let path = Path::new(text_or_path);
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(_) if text_or_path.contains('+') => text_or_path.to_owned(),
        Err(e) => return Err(key_error(path, format!("cannot read: {e}"))),
    };
    CheckpointVerifier::parse(text.trim())
        .map_err(|e| key_error(path, format!("not a verifier key: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/ledger.key");
        let a = load_or_create_signer(&path, "warden.test/ledger").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let b = load_or_create_signer(&path, "warden.test/ledger").unwrap();
        assert_eq!(a.verifier_key(), b.verifier_key());
        let public = std::fs::read_to_string(dir.path().join("state/ledger.pub")).unwrap();
        assert_eq!(public.trim(), a.verifier_key().to_string());
        let v = read_verifier(dir.path().join("state/ledger.pub").to_str().unwrap()).unwrap();
        assert_eq!(v.origin(), "warden.test/ledger");
        assert_eq!(read_verifier(public.trim()).unwrap(), v);

        // Replicas starting at once agree on one key.
        let fresh = dir.path().join("shared/ledger.key");
        let keys: Vec<String> = (0..8)
            .map(|_| {
                let fresh = fresh.clone();
                std::thread::spawn(move || {
                    load_or_create_signer(&fresh, "warden.test/ledger")
                        .unwrap()
                        .verifier_key()
                        .to_string()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        assert!(keys.windows(2).all(|w| w[0] == w[1]), "{keys:?}");
        assert_eq!(
            std::fs::read_dir(dir.path().join("shared"))
                .unwrap()
                .count(),
            2
        );

        // Pinned: the pinned key loads; another key, or none, is refused and none is made.
        let pinned = a.verifier_key();
        let c = load_pinned_signer(&path, "warden.test/ledger", &pinned).unwrap();
        assert_eq!(c.verifier_key(), pinned);
        let other =
            load_or_create_signer(&dir.path().join("other/ledger.key"), "warden.test/ledger")
                .unwrap()
                .verifier_key();
        let err = load_pinned_signer(&path, "warden.test/ledger", &other).unwrap_err();
        assert!(
            err.to_string()
                .contains("not the one the configuration pins"),
            "{err}"
        );
        let gone = dir.path().join("gone/ledger.key");
        let err = load_pinned_signer(&gone, "warden.test/ledger", &pinned).unwrap_err();
        assert!(err.to_string().contains("restore that key"), "{err}");
        assert!(!gone.exists() && !public_key_path(&gone).exists());

        let err = load_or_create_signer(&path, "other.test/ledger").unwrap_err();
        assert!(
            err.to_string().contains("signs as `warden.test/ledger`"),
            "{err}"
        );
    }
}
