//! Sign-in, sessions and CSRF tokens.
//!
//! Sessions live in this process's memory, or in the desk's [`SessionTable`] when it has one
//! (the gateway's stores them beside the ledger, MAC'd, so several replicas share them).
//!
//! A session id is 256 random bits, sent only in an `HttpOnly; SameSite=Strict` cookie scoped to
//! the console's path. The table keeps the SHA-256 of each id, not the id, so a lookup's timing
//! says nothing useful about a valid id and a memory dump holds no usable cookie. Sessions end a
//! fixed time after sign-in and the table is bounded (the oldest session is dropped when full).
//!
//! Proof of checks travels as types: a handler that changes state gets a [`SignedIn`] only from
//! a live session and a [`Confirmed`] only from [`SignedIn::confirm`] with the session's CSRF
//! token, compared in constant time. Password checks always run one Argon2 verification, even
//! for an unknown approver, and all failures read "wrong approver or password".

use crate::config::{ApproverLogin, token_digest};
use crate::desk::{DeskError, SessionRecord, SessionTable};
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "warden_console";
/// Name of the hidden form field that carries the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// Sessions kept at once; beyond this the oldest is dropped.
const MAX_SESSIONS: usize = 4096;

/// Verifies a made-up password against this when the approver is unknown or has no password,
/// so every sign-in attempt costs the same. Argon2id, default cost, of a random string.
const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$6lld2o7LBMKu4i8q48cMhQ$YHPXaSgXEreNlkdznJ/qw9tgeAqXNaaItpkqDXgsqlA";

/// An approver with a live session: made only by [`Sessions::lookup`].
#[derive(Clone)]
pub struct SignedIn {
    pub approver_id: String,
    pub approver_name: String,
    csrf: String,
    /// The session's table key, so sign-out needs no second cookie parse.
    key: [u8; 32],
}

impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("approver_id", &self.approver_id)
            .field("approver_name", &self.approver_name)
            .field("csrf", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A state-changing request whose CSRF token matched its session: made only by
/// [`SignedIn::confirm`].
#[derive(Debug)]
pub struct Confirmed<'a> {
    approver: &'a SignedIn,
}

impl<'a> Confirmed<'a> {
    /// Who confirmed the request.
    pub fn approver(&self) -> &'a SignedIn {
        self.approver
    }
}

impl SignedIn {
    /// Checks a submitted CSRF token against the session's, in constant time.
    pub fn confirm(&self, submitted: &str) -> Option<Confirmed<'_>> {
        let ok: bool = self.csrf.as_bytes().ct_eq(submitted.as_bytes()).into();
        ok.then_some(Confirmed { approver: self })
    }

    /// The token to put in forms.
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }
}

struct Session {
    approver_id: String,
    approver_name: String,
    csrf: String,
    expires: Instant,
}

/// The session table: this process's memory, or a [`SessionTable`] that every replica sharing
/// the store reads (so a sign-in works whichever replica a load balancer picks).
pub(crate) struct Sessions {
    ttl: Duration,
    table: Mutex<HashMap<[u8; 32], Session>>,
    shared: Option<Arc<dyn SessionTable>>,
}

impl Sessions {
    pub(crate) fn new(ttl: Duration, shared: Option<Arc<dyn SessionTable>>) -> Self {
        Self {
            ttl,
            table: Mutex::new(HashMap::new()),
            shared,
        }
    }

    /// Starts a session and returns the cookie value. Always a fresh id (no fixation). Blocks
    /// on the shared table: call it on a blocking task.
    pub(crate) fn start(&self, approver: &ApproverLogin) -> Result<String, DeskError> {
        let id = random_hex();
        let record = SessionRecord {
            approver_id: approver.id.clone(),
            approver_name: approver.name.clone(),
            csrf: random_hex(),
        };
        if let Some(shared) = &self.shared {
            shared.start(key(&id), &record, self.ttl)?;
            return Ok(id);
        }
        let session = Session {
            approver_id: record.approver_id,
            approver_name: record.approver_name,
            csrf: record.csrf,
            expires: Instant::now() + self.ttl,
        };
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        table.retain(|_, s| s.expires > now);
        if table.len() >= MAX_SESSIONS {
            let oldest = table.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k);
            if let Some(k) = oldest {
                table.remove(&k);
            }
        }
        table.insert(key(&id), session);
        Ok(id)
    }

    /// The live session behind a cookie value, if any. A shared table that cannot answer
    /// counts as no session: the request is refused, never let through. Blocks on the shared
    /// table: call it on a blocking task.
    #[cfg(test)]
    pub(crate) fn lookup(&self, cookie: &str) -> Option<SignedIn> {
        self.find(cookie).unwrap_or_else(|e| {
            tracing::error!(error = %e, "console: the session table cannot be read");
            None
        })
    }

    /// [`Sessions::lookup`], with the shared table's failure: the request is refused either
    /// way, and a table that is unavailable for now is answered 503, not a sign-in page.
    pub(crate) fn find(&self, cookie: &str) -> Result<Option<SignedIn>, DeskError> {
        let k = key(cookie);
        if let Some(shared) = &self.shared {
            return Ok(shared.live(k)?.map(|s| SignedIn {
                approver_id: s.approver_id,
                approver_name: s.approver_name,
                csrf: s.csrf,
                key: k,
            }));
        }
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        let live = table.get(&k).is_some_and(|s| s.expires > Instant::now());
        if !live {
            table.remove(&k);
            return Ok(None);
        }
        Ok(table.get(&k).map(|s| SignedIn {
            approver_id: s.approver_id.clone(),
            approver_name: s.approver_name.clone(),
            csrf: s.csrf.clone(),
            key: k,
        }))
    }

    /// Ends a session; its cookie is worthless from now on.
    pub(crate) fn end(&self, session: &SignedIn) -> Result<(), DeskError> {
        if let Some(shared) = &self.shared {
            return shared.end(session.key);
        }
        let mut table = self.table.lock().unwrap_or_else(PoisonError::into_inner);
        table.remove(&session.key);
        Ok(())
    }
}

fn key(cookie: &str) -> [u8; 32] {
    Sha256::digest(cookie.as_bytes()).into()
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Checks a sign-in. CPU-heavy (one Argon2 verification): call it on a blocking task.
///
/// The secret may be the approver's password or token. Both verifiers that exist are checked
/// and the password check always runs, against a dummy hash if need be, so neither the outcome
/// nor the time taken tells an unknown approver from a wrong secret. A secret whose SHA-256 is
/// one of `agent_tokens` is refused whatever it matches: an agent signs in as nobody.
pub(crate) fn check_login<'a>(
    approvers: &'a [ApproverLogin],
    agent_tokens: &[[u8; 32]],
    id: &str,
    secret: &str,
) -> Option<&'a ApproverLogin> {
    let approver = approvers.iter().find(|a| !a.id.is_empty() && a.id == id);
    let phc = approver
        .and_then(|a| a.password_argon2.as_deref())
        .unwrap_or(DUMMY_PHC);
    let mut ok = verify_password(phc, secret) && phc != DUMMY_PHC;
    if let Some(expected) = approver.and_then(|a| a.token_sha256.as_deref()) {
        ok |= token_matches(expected, secret);
    }
    let an_agents = [secret, secret.trim()].iter().any(|s| {
        let digest: [u8; 32] = Sha256::digest(s.as_bytes()).into();
        agent_tokens.iter().any(|t| bool::from(t.ct_eq(&digest)))
    });
    if secret.is_empty() || an_agents {
        ok = false;
    }
    if ok { approver } else { None }
}

/// Checks an API request's bearer token for the approver it names (`id`). Cheap (one SHA-256):
/// a token is long and random, so no Argon2 is needed, and no lane is held long.
///
/// The token is compared, in constant time, with every approver's token digest, so which
/// approver it is does not show in the time taken; it answers only as the approver it belongs
/// to, and only when that is the one named: a token names exactly one approver, and a token of
/// one approver naming another is refused like a wrong one. A token that authenticates an agent
/// is refused whoever it names.
pub(crate) fn check_token<'a>(
    approvers: &'a [ApproverLogin],
    agent_tokens: &[[u8; 32]],
    id: &str,
    token: &str,
) -> Option<&'a ApproverLogin> {
    let actual: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let mut owner = None;
    for a in approvers {
        let Some(expected) = a.token_sha256.as_deref().and_then(token_digest) else {
            continue;
        };
        if bool::from(actual.ct_eq(&expected)) && owner.is_none() {
            owner = Some(a);
        }
    }
    let an_agents = agent_tokens.iter().any(|t| bool::from(t.ct_eq(&actual)));
    if token.is_empty() || an_agents {
        return None;
    }
    owner.filter(|a| !a.id.is_empty() && a.id == id)
}

fn verify_password(phc: &str, password: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(e) => {
            tracing::warn!(error = %e, "console: a configured password hash does not parse");
            false
        }
    }
}

fn token_matches(expected_hex: &str, token: &str) -> bool {
    let Some(expected) = token_digest(expected_hex) else {
        return false;
    };
    let actual: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    actual.ct_eq(&expected).into()
}

/// The value of the session cookie in a `Cookie` header, if present.
/// The session cookie, when the request carries exactly one. Two at once mean someone set a
/// second for this host (a sibling subdomain can, with a narrower path that the browser sends
/// first): taking either would let the planter's session answer in a colleague's browser, so
/// neither is a session.
pub(crate) fn session_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    let mut sessions = headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string());
    let first = sessions.next()?;
    match sessions.next() {
        None => Some(first),
        Some(_) => None,
    }
}

/// `Set-Cookie` for a new session, or (with `None`) one that clears it.
pub(crate) fn set_cookie(value: Option<&str>, path: &str, ttl: Duration, secure: bool) -> String {
    let (value, max_age) = match value {
        Some(v) => (v, ttl.as_secs()),
        None => ("", 0),
    };
    let path = if path.is_empty() { "/" } else { path };
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age}{secure}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approver(password: Option<&str>, token: Option<&str>) -> ApproverLogin {
        ApproverLogin {
            id: "alice".into(),
            name: "Alice".into(),
            password_argon2: password.map(crate::hash_password),
            token_sha256: token.map(|t| hex::encode(Sha256::digest(t.as_bytes()))),
        }
    }

    #[test]
    fn a_token_answers_only_as_its_own_approver() {
        let mut bob = approver(None, Some("tok-bob"));
        bob.id = "bob".into();
        let list = [approver(None, Some("tok-alice")), bob];
        let ok = |id: &str, token: &str| check_token(&list, &[], id, token).map(|a| a.id.clone());
        assert_eq!(ok("alice", "tok-alice").as_deref(), Some("alice"));
        assert_eq!(ok("bob", "tok-bob").as_deref(), Some("bob"));
        assert_eq!(ok("bob", "tok-alice"), None);
        assert_eq!(ok("alice", "tok-bob"), None);
        assert_eq!(ok("alice", ""), None);
        assert_eq!(ok("", "tok-alice"), None);
        let agents: [[u8; 32]; 1] = [Sha256::digest(b"tok-alice").into()];
        assert!(check_token(&list, &agents, "alice", "tok-alice").is_none());
    }

    #[test]
    fn dummy_hash_parses() {
        assert!(PasswordHash::new(DUMMY_PHC).is_ok());
    }

    #[test]
    fn token_sign_in() {
        let list = [approver(None, Some("tok-123"))];
        assert!(check_login(&list, &[], "alice", "tok-123").is_some());
        assert!(check_login(&list, &[], "alice", "tok-124").is_none());
        assert!(check_login(&list, &[], "bob", "tok-123").is_none());
        assert!(check_login(&list, &[], "alice", "").is_none());
    }

    #[test]
    fn a_secret_that_authenticates_an_agent_signs_nobody_in() {
        let list = [approver(Some("shared"), Some("tok-123"))];
        let agents: [[u8; 32]; 1] = [Sha256::digest(b"shared").into()];
        assert!(check_login(&list, &[], "alice", "shared").is_some());
        assert!(check_login(&list, &agents, "alice", "shared").is_none());
        assert!(check_login(&list, &agents, "alice", "tok-123").is_some());
    }

    #[test]
    fn sessions_expire_and_end() {
        let sessions = Sessions::new(Duration::from_millis(30), None);
        let a = approver(None, Some("t"));
        let id = sessions.start(&a).unwrap();
        let s = sessions.lookup(&id);
        assert_eq!(s.as_ref().map(|s| s.approver_id.as_str()), Some("alice"));
        assert!(sessions.lookup("not-a-session").is_none());
        std::thread::sleep(Duration::from_millis(40));
        assert!(sessions.lookup(&id).is_none());

        let sessions = Sessions::new(Duration::from_secs(60), None);
        let id = sessions.start(&a).unwrap();
        let s = sessions.lookup(&id).unwrap();
        sessions.end(&s).unwrap();
        assert!(sessions.lookup(&id).is_none());
        assert!(!format!("{s:?}").contains(s.csrf()));
    }

    #[test]
    fn csrf_must_match_exactly() {
        let sessions = Sessions::new(Duration::from_secs(60), None);
        let id = sessions.start(&approver(None, Some("t"))).unwrap();
        let s = sessions.lookup(&id).unwrap();
        let token = s.csrf().to_string();
        assert!(s.confirm(&token).is_some());
        assert!(s.confirm("").is_none());
        assert!(s.confirm(&token[1..]).is_none());
        assert_ne!(token, id);
    }

    #[test]
    fn cookie_is_hardened() {
        let c = set_cookie(Some("abc"), "/console", Duration::from_secs(60), true);
        assert_eq!(
            c,
            "warden_console=abc; HttpOnly; SameSite=Strict; Path=/console; Max-Age=60; Secure"
        );
        let mut h = axum::http::HeaderMap::new();
        h.insert(
            axum::http::header::COOKIE,
            "x=1; warden_console=abc; y=2".parse().unwrap(),
        );
        assert_eq!(session_cookie(&h).as_deref(), Some("abc"));
    }
}
