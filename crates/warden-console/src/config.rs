//! Who may sign in, and how the session cookie is set.
//!
//! Secrets are stored only as verifiers: an Argon2 PHC string for a password, the hex SHA-256 of
//! a token. A token is long and random, so a fast hash is enough; a password is not, so it gets
//! Argon2. `Debug` never prints either. `validate` reports every problem at once so the lead can
//! refuse to start with a console nobody can sign in to.

use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use std::fmt;
use std::time::Duration;

/// The console's settings.
#[derive(Clone, Debug)]
pub struct ConsoleConfig {
    pub approvers: Vec<ApproverLogin>,
    /// Adds `Secure` to the session cookie. Leave on unless the console is served over plain
    /// HTTP on loopback.
    pub secure_cookies: bool,
    /// Where the router is mounted (`/console`): links, redirects and the cookie's `Path` use it.
    pub base_path: String,
    /// A session ends this long after sign-in, whatever happens in between.
    pub session_ttl: Duration,
    /// The SHA-256 of every secret that authenticates an agent. A sign-in with one of them is
    /// refused whoever it names: the console is served where agents connect, and an agent
    /// holding an approver's secret could otherwise answer its own held calls.
    pub agent_tokens: AgentTokens,
}

/// Digests of the agents' bearer tokens; `Debug` prints only how many.
#[derive(Clone, Default)]
pub struct AgentTokens(pub Vec<[u8; 32]>);

impl fmt::Debug for AgentTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgentTokens({} redacted)", self.0.len())
    }
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            approvers: Vec::new(),
            secure_cookies: true,
            base_path: "/console".to_string(),
            session_ttl: Duration::from_secs(8 * 60 * 60),
            agent_tokens: AgentTokens::default(),
        }
    }
}

/// One person who may sign in. Either secret, or both, may be set; neither means no sign-in.
#[derive(Clone)]
pub struct ApproverLogin {
    /// The identity passed to `ApprovalDesk::decide`; must match the desk's approver ids.
    pub id: String,
    /// Shown on the page.
    pub name: String,
    /// Argon2 PHC string (`$argon2id$v=19$…`), e.g. from [`hash_password`].
    pub password_argon2: Option<String>,
    /// Hex SHA-256 of a per-approver token, accepted in the password field.
    pub token_sha256: Option<String>,
}

impl fmt::Debug for ApproverLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("ApproverLogin")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("password_argon2", &redacted(&self.password_argon2))
            .field("token_sha256", &redacted(&self.token_sha256))
            .finish()
    }
}

/// A console setting that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("base path `{0}` must start with `/` and not end with one")]
    BasePath(String),
    #[error("approver id must not be empty")]
    EmptyId,
    #[error("approver `{0}` is listed twice")]
    DuplicateId(String),
    #[error("approver `{0}` has neither a password hash nor a token hash")]
    NoSecret(String),
    #[error("approver `{0}` has a password hash that is not an Argon2 PHC string")]
    BadPasswordHash(String),
    #[error("approver `{0}` has a token hash that is not 64 hex digits")]
    BadTokenHash(String),
    #[error("session lifetime must be more than zero")]
    ZeroTtl,
}

impl ConsoleConfig {
    /// Every problem with this configuration, not just the first. An approver with a bad
    /// verifier could never sign in (the console fails closed), so treat these as start errors.
    pub fn validate(&self) -> Result<(), Vec<ConfigError>> {
        let mut errors = Vec::new();
        let base = self.base_path.as_str();
        if !base.starts_with('/') || (base.len() > 1 && base.ends_with('/')) {
            errors.push(ConfigError::BasePath(self.base_path.clone()));
        }
        if self.session_ttl.is_zero() {
            errors.push(ConfigError::ZeroTtl);
        }
        let mut seen = std::collections::HashSet::new();
        for a in &self.approvers {
            if a.id.is_empty() {
                errors.push(ConfigError::EmptyId);
            } else if !seen.insert(a.id.as_str()) {
                errors.push(ConfigError::DuplicateId(a.id.clone()));
            }
            if a.password_argon2.is_none() && a.token_sha256.is_none() {
                errors.push(ConfigError::NoSecret(a.id.clone()));
            }
            if let Some(phc) = &a.password_argon2 {
                let ok = PasswordHash::new(phc)
                    .is_ok_and(|h| h.algorithm.as_str().starts_with("argon2"));
                if !ok {
                    errors.push(ConfigError::BadPasswordHash(a.id.clone()));
                }
            }
            if a.token_sha256
                .as_deref()
                .is_some_and(|t| token_digest(t).is_none())
            {
                errors.push(ConfigError::BadTokenHash(a.id.clone()));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Decodes a configured token hash; `None` unless it is exactly 32 bytes of hex.
pub(crate) fn token_digest(hex_digest: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digest.trim(), &mut out).ok()?;
    Some(out)
}

/// Hashes a password for `ApproverLogin::password_argon2`: Argon2id with the crate's default
/// cost (19 MiB, 2 passes) and a random salt, as a PHC string.
///
/// `cargo run -p warden-console --example hash_password` reads a password from stdin and
/// prints this.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let hashed = argon2::Argon2::default().hash_password(password.as_bytes(), &salt);
    #[expect(
        clippy::expect_used,
        reason = "default Argon2 parameters and a generated salt are always valid; a password of \
                  any length is accepted"
    )]
    hashed.expect("argon2 with default parameters").to_string()
}
