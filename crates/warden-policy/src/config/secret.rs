//! Values warden hands to upstreams that must not sit in the config file: HTTP header values
//! (`Authorization`) and stdio environment entries. The config names where each comes from —
//! written in the file (for what is not secret), an environment variable of warden's, or a
//! file — and the value is read when warden connects, so a rotated token is picked up at the
//! next connection and a command that never connects (`warden approvals list`) never needs it.
//!
//! A read value is a [`Secret`]: its `Debug` and `Display` never show it, so it cannot reach a
//! log line, an error or the ledger by accident; only [`Secret::expose`] gives the bytes.

use serde::Deserialize;
use std::fmt;
use std::path::PathBuf;

/// Where a header value or an environment entry comes from, as the config writes it:
/// `"literal"`, `{ env = "VAR" }` or `{ file = "path" }`, each with an optional `prefix`
/// (`{ env = "SPLUNK_TOKEN", prefix = "Bearer " }`).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawSecret {
    Literal(String),
    From(RawSecretFrom),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecretFrom {
    pub env: Option<String>,
    pub file: Option<String>,
    #[serde(default)]
    pub prefix: String,
}

/// Where a value is read from, checked: exactly one source.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the config (not a secret: a tenant id, a fixed header).
    Literal(String),
    /// An environment variable of warden's process.
    Env { var: String, prefix: String },
    /// A file (its content without the trailing newline), relative to the config's folder.
    File { path: PathBuf, prefix: String },
}

/// Why a value could not be read. Names where it was looked for, never what was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{0}` is not set")]
    EnvMissing(String),
    #[error("cannot read `{path}`: {message}")]
    File { path: String, message: String },
    #[error("the value from {0} has a line break or a control character")]
    Control(String),
}

impl SecretSource {
    /// Reads the value now. A value with a line break or another control character is refused:
    /// as a header it would split the request.
    pub fn read(&self) -> Result<Secret, SecretError> {
        let (value, from) = match self {
            SecretSource::Literal(v) => (v.clone(), "the config".to_string()),
            SecretSource::Env { var, prefix } => {
                let v = std::env::var(var).map_err(|_| SecretError::EnvMissing(var.clone()))?;
                (format!("{prefix}{v}"), format!("`{var}`"))
            }
            SecretSource::File { path, prefix } => {
                let v = std::fs::read_to_string(path).map_err(|e| SecretError::File {
                    path: path.display().to_string(),
                    message: e.kind().to_string(),
                })?;
                let v = v.strip_suffix('\n').unwrap_or(&v);
                let v = v.strip_suffix('\r').unwrap_or(v);
                (format!("{prefix}{v}"), format!("`{}`", path.display()))
            }
        };
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(SecretError::Control(from));
        }
        Ok(Secret(value))
    }

    /// Where the value comes from, for messages: never the value, unless it is a literal.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Literal(_) => "the config".into(),
            SecretSource::Env { var, .. } => format!("environment variable `{var}`"),
            SecretSource::File { path, .. } => format!("file `{}`", path.display()),
        }
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A value read from a [`SecretSource`]; shown as `[secret]` by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A value obtained elsewhere (an access token) that must be kept out of sight the same way.
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The value, for the one place that hands it on (a header, a child's environment).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[secret]")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_read_secret_never_prints_its_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret-value\n").unwrap();
        let source = SecretSource::File {
            path,
            prefix: "Bearer ".into(),
        };
        let secret = source.read().unwrap();
        assert_eq!(secret.expose(), "Bearer s3cret-value");
        for shown in [
            format!("{secret:?}"),
            format!("{secret}"),
            format!("{source:?}"),
        ] {
            assert!(!shown.contains("s3cret"), "{shown}");
        }
    }

    #[test]
    fn a_value_that_would_split_a_header_is_refused_without_showing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\r\nX-Injected: 1\n").unwrap();
        let err = SecretSource::File {
            path,
            prefix: String::new(),
        }
        .read()
        .unwrap_err();
        assert!(matches!(err, SecretError::Control(_)), "{err}");
        assert!(!err.to_string().contains("X-Injected"), "{err}");
        let missing = SecretSource::Env {
            var: "WARDEN_TEST_SURELY_UNSET_VARIABLE".into(),
            prefix: String::new(),
        }
        .read()
        .unwrap_err();
        assert_eq!(
            missing,
            SecretError::EnvMissing("WARDEN_TEST_SURELY_UNSET_VARIABLE".into())
        );
    }
}
