//! The export cursor: the next leaf index to export, kept in a file of its own.
//!
//! Written only after the destination acknowledged everything before it, and replaced
//! atomically (a temporary file, fsynced, renamed over the old one, the folder fsynced), so a
//! crash leaves either the old cursor or the new one, never a torn one. A cursor behind the
//! truth only resends records, which collectors drop by `metadata.uid`.

use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

pub struct Cursor {
    path: PathBuf,
}

impl Cursor {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    /// The index stored, `None` when no export has been acknowledged yet.
    pub fn read(&self) -> anyhow::Result<Option<u64>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read the cursor `{}`", self.path.display()));
            }
        };
        let next = text.trim().parse::<u64>().with_context(|| {
            format!(
                "the cursor `{}` does not hold a leaf index: `{}`",
                self.path.display(),
                text.trim()
            )
        })?;
        Ok(Some(next))
    }

    /// Durably records that every leaf before `next` was acknowledged.
    pub fn write(&self, next: u64) -> anyhow::Result<()> {
        let dir = self
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| format!("cannot write beside the cursor `{}`", self.path.display()))?;
        writeln!(tmp, "{next}")?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path)
            .with_context(|| format!("cannot replace the cursor `{}`", self.path.display()))?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_what_was_written_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let c = Cursor::new(dir.path().join("export.cursor"));
        assert_eq!(c.read().unwrap(), None);
        c.write(42).unwrap();
        assert_eq!(c.read().unwrap(), Some(42));
        c.write(43).unwrap();
        assert_eq!(c.read().unwrap(), Some(43));
        std::fs::write(dir.path().join("export.cursor"), "forty").unwrap();
        let err = c.read().unwrap_err().to_string();
        assert!(err.contains("does not hold a leaf index"), "{err}");
    }
}
