//! Agents that authenticate with OAuth 2.1 access tokens: warden is the protected resource
//! (MCP authorization, RFC 9728), the team's identity provider the authorization server.
//!
//! A token is a JWT signed by one of the issuer's published keys (a JWKS fetched from a URL and
//! cached, or read from a file). Warden accepts it only when every one of these holds:
//! - the header's `typ` is the one configured, when one is (`at+jwt`, RFC 9068: an ID token
//!   signed by the same key is not an access token), compared as RFC 7515 says;
//! - the header's `alg` is one of the configured asymmetric algorithms *and* fits the key the
//!   `kid` names (its type, its curve, its declared `alg`): `none`, `HS256` signed with the public
//!   key as the secret, or an RSA key presented as an EC one are refused before any signature
//!   check;
//! - the signature verifies with that key (a key for encryption, `use: enc`, is never used);
//! - `iss` is the configured issuer, `aud` names warden's audience, `exp` is in the future and
//!   `nbf` (when present) in the past, both within the configured leeway, read from the
//!   gateway's clock;
//! - every required scope is in `scope` (space-separated) or `scp`;
//! - the principal claim names exactly one configured agent (`oauth_subject`).
//!
//! A token naming a key the cached set lacks makes warden fetch the set again, at most once per
//! cool-down, so a flood of made-up key ids cannot turn warden into a load on the identity
//! provider; the set is also refetched once it is older than `jwks_refresh`. A failed fetch
//! keeps the keys already held.

use crate::clock::Clock;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use warden_core::Principal;
use warden_policy::{AgentSpec, JwksSource, JwtAlgorithm, OAuthSettings};

/// The longest a key set may be; an identity provider's is a few kilobytes.
const MAX_JWKS_BYTES: usize = 1 << 20;
/// How long a fetch of the key set may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The shortest time between two fetches that a token with an unknown key may cause.
const MAX_REFETCH_COOLDOWN_MS: i64 = 30_000;

/// Why a token was refused. Only the kind reaches the agent (RFC 6750 error codes); the detail
/// is logged for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("the token lacks the scope `{0}`")]
    InsufficientScope(String),
    #[error("the token's `{claim}` is `{value}`, which names no configured agent")]
    UnknownSubject { claim: String, value: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        matches!(
            (self, alg),
            (Self::Rsa, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
                | (Self::P256, ES256)
                | (Self::P384, ES384)
                | (Self::Ed25519, EdDSA)
        )
    }
}

struct Key {
    kid: Option<String>,
    kind: KeyKind,
    /// The `alg` the key set declares for this key, when it does.
    alg: Option<Algorithm>,
    key: DecodingKey,
}

/// The keys held, and when they were fetched (Unix ms; `None`: never).
#[derive(Default)]
struct KeySet {
    keys: Vec<Key>,
    fetched_ms: Option<i64>,
}

/// Checks agents' JWT access tokens against the configured issuer.
pub struct OAuth {
    settings: OAuthSettings,
    clock: Arc<dyn Clock>,
    /// Read by every check; replaced whole by a fetch.
    keys: RwLock<Arc<KeySet>>,
    /// One fetch at a time; checks whose key is held never wait for it.
    fetching: tokio::sync::Mutex<()>,
    /// When a fetch was last tried, successful or not (Unix ms; `i64::MIN`: never).
    attempted_ms: AtomicI64,
    http: reqwest::Client,
}

impl OAuth {
    /// A verifier for `settings`; a key file is read now, a key URL on first use.
    pub fn new(settings: OAuthSettings, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let mut set = KeySet::default();
        if let JwksSource::File(path) = &settings.jwks {
            set.keys = read_jwks_file(path)?;
            set.fetched_ms = Some(clock.now_ms());
        }
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot make an HTTP client for the key set: {e}"))?;
        Ok(Self {
            settings,
            clock,
            keys: RwLock::new(Arc::new(set)),
            fetching: tokio::sync::Mutex::new(()),
            attempted_ms: AtomicI64::new(i64::MIN),
            http,
        })
    }

    pub fn settings(&self) -> &OAuthSettings {
        &self.settings
    }

    /// The agent `token` authenticates, among `agents`.
    pub async fn authenticate(
        &self,
        token: &str,
        agents: &[AgentSpec],
    ) -> Result<Principal, Refusal> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| Refusal::Invalid(format!("unreadable header: {e}")))?;
        if let Some(required) = &self.settings.required_typ
            && !required.matches(header.typ.as_deref())
        {
            return Err(Refusal::Invalid(format!(
                "the token's type is {}, not `{}`",
                header
                    .typ
                    .as_deref()
                    .map_or("not given".into(), |t| format!("`{t}`")),
                required.as_str()
            )));
        }
        let allowed = self
            .settings
            .algorithms
            .iter()
            .any(|a| to_jwt(*a) == header.alg);
        if !allowed {
            return Err(Refusal::Invalid(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let claims = self.verify(token, &header).await?;
        self.check_claims(&claims)?;
        let claim = &self.settings.principal_claim;
        let value = match claims.get(claim) {
            Some(Value::String(s)) => s.clone(),
            Some(_) | None => {
                return Err(Refusal::Invalid(format!(
                    "the token has no string `{claim}` claim"
                )));
            }
        };
        agents
            .iter()
            .find(|a| a.oauth_subject.as_deref() == Some(value.as_str()))
            .map(|a| a.principal.clone())
            .ok_or_else(|| Refusal::UnknownSubject {
                claim: claim.clone(),
                value,
            })
    }

    fn current(&self) -> Arc<KeySet> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn refresh_ms(&self) -> i64 {
        i64::try_from(self.settings.jwks_refresh.as_millis()).unwrap_or(i64::MAX)
    }

    fn stale(&self, set: &KeySet, now: i64) -> bool {
        matches!(self.settings.jwks, JwksSource::Url(_))
            && set
                .fetched_ms
                .is_none_or(|t| now.saturating_sub(t) >= self.refresh_ms())
    }

    /// The token's claims, once its signature verified with a key that fits its algorithm.
    async fn verify(
        &self,
        token: &str,
        header: &jsonwebtoken::Header,
    ) -> Result<serde_json::Map<String, Value>, Refusal> {
        let mut validation = Validation::new(header.alg);
        // The claims are checked by `check_claims`, against the gateway's clock; the crate
        // checks only the signature and that the algorithm is the one given.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let mut set = self.current();
        if self.stale(&set, self.clock.now_ms()) || pick(&set.keys, header).is_none() {
            let _one_fetch = self.fetching.lock().await;
            let latest = self.current();
            if Arc::ptr_eq(&set, &latest) {
                let now = self.clock.now_ms();
                if self.may_fetch(now) {
                    self.refresh(now).await;
                }
            }
            set = self.current();
        }
        let key = pick(&set.keys, header).ok_or_else(|| {
            Refusal::Invalid(match &header.kid {
                Some(kid) => format!(
                    "no key `{kid}` for {:?} in the issuer's key set",
                    header.alg
                ),
                None => format!("no single key for {:?} in the issuer's key set", header.alg),
            })
        })?;
        jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|e| Refusal::Invalid(format!("signature: {e}")))
    }

    /// Whether a fetch may start now: a URL source, and the cool-down since the last try passed
    /// (the refresh interval, at most thirty seconds).
    fn may_fetch(&self, now: i64) -> bool {
        if !matches!(self.settings.jwks, JwksSource::Url(_)) {
            return false;
        }
        let cooldown = self.refresh_ms().min(MAX_REFETCH_COOLDOWN_MS);
        let last = self.attempted_ms.load(Ordering::SeqCst);
        last == i64::MIN || now.saturating_sub(last) >= cooldown
    }

    async fn refresh(&self, now: i64) {
        let JwksSource::Url(url) = &self.settings.jwks else {
            return;
        };
        self.attempted_ms.store(now, Ordering::SeqCst);
        match self.fetch(url).await {
            Ok(keys) => {
                tracing::info!(url = %url, keys = keys.len(), "fetched the issuer's key set");
                *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(KeySet {
                    keys,
                    fetched_ms: Some(now),
                });
            }
            Err(e) => tracing::warn!(
                url = %url,
                error = %e,
                kept = self.current().keys.len(),
                "cannot fetch the issuer's key set; keeping the keys already held"
            ),
        }
    }

    async fn fetch(&self, url: &url::Url) -> Result<Vec<Key>, String> {
        let mut response = self
            .http
            .get(url.as_str())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_JWKS_BYTES {
                return Err(format!("larger than {MAX_JWKS_BYTES} bytes"));
            }
        }
        parse_jwks(&body)
    }

    fn check_claims(&self, claims: &serde_json::Map<String, Value>) -> Result<(), Refusal> {
        let s = &self.settings;
        match claims.get("iss") {
            Some(Value::String(iss)) if *iss == s.issuer => {}
            other => {
                return Err(Refusal::Invalid(format!(
                    "issuer {} is not `{}`",
                    other.map_or("(none)".into(), Value::to_string),
                    s.issuer
                )));
            }
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => *a == s.audience,
            Some(Value::Array(items)) => items.iter().any(|a| a.as_str() == Some(&s.audience)),
            _ => false,
        };
        if !audience_ok {
            return Err(Refusal::Invalid(format!(
                "the token is not for audience `{}`",
                s.audience
            )));
        }
        let now_s = self.clock.now_ms().div_euclid(1000);
        let leeway = i64::try_from(s.leeway.as_secs()).unwrap_or(i64::MAX);
        let seconds = |name: &str| -> Result<Option<i64>, Refusal> {
            match claims.get(name) {
                None => Ok(None),
                Some(v) => v
                    .as_i64()
                    .or_else(|| v.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
                    .map(Some)
                    .ok_or_else(|| Refusal::Invalid(format!("`{name}` is not a number"))),
            }
        };
        match seconds("exp")? {
            None => return Err(Refusal::Invalid("the token has no `exp`".into())),
            Some(exp) if now_s > exp.saturating_add(leeway) => {
                return Err(Refusal::Invalid("the token has expired".into()));
            }
            Some(_) => {}
        }
        if let Some(nbf) = seconds("nbf")?
            && now_s < nbf.saturating_sub(leeway)
        {
            return Err(Refusal::Invalid("the token is not valid yet".into()));
        }
        let granted = granted_scopes(claims);
        for scope in &s.required_scopes {
            if !granted.iter().any(|g| g == scope) {
                return Err(Refusal::InsufficientScope(scope.clone()));
            }
        }
        Ok(())
    }
}

/// The scopes a token carries: `scope` (RFC 9068, space-separated) and `scp` (a list, or a
/// string, as some identity providers write it).
fn granted_scopes(claims: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut scopes = Vec::new();
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Value::String(s)) => scopes.extend(s.split_whitespace().map(str::to_string)),
            Some(Value::Array(items)) => {
                scopes.extend(items.iter().filter_map(|i| i.as_str().map(str::to_string)));
            }
            _ => {}
        }
    }
    scopes
}

/// The key the header asks for: by `kid`, or the only key that fits when it names none. The
/// key must fit the header's algorithm, and its declared `alg`, if any, must be that algorithm.
fn pick<'a>(keys: &'a [Key], header: &jsonwebtoken::Header) -> Option<&'a Key> {
    let fits = |k: &&Key| k.kind.fits(header.alg) && k.alg.is_none_or(|a| a == header.alg);
    match &header.kid {
        Some(kid) => keys
            .iter()
            .filter(|k| k.kid.as_deref() == Some(kid.as_str()))
            .find(fits),
        None => {
            let mut candidates = keys.iter().filter(fits);
            let first = candidates.next()?;
            candidates.next().is_none().then_some(first)
        }
    }
}

fn to_jwt(a: JwtAlgorithm) -> Algorithm {
    match a {
        JwtAlgorithm::Rs256 => Algorithm::RS256,
        JwtAlgorithm::Rs384 => Algorithm::RS384,
        JwtAlgorithm::Rs512 => Algorithm::RS512,
        JwtAlgorithm::Ps256 => Algorithm::PS256,
        JwtAlgorithm::Ps384 => Algorithm::PS384,
        JwtAlgorithm::Ps512 => Algorithm::PS512,
        JwtAlgorithm::Es256 => Algorithm::ES256,
        JwtAlgorithm::Es384 => Algorithm::ES384,
        JwtAlgorithm::EdDsa => Algorithm::EdDSA,
    }
}

fn read_jwks_file(path: &Path) -> Result<Vec<Key>, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the key set {}: {e}", path.display()))?;
    parse_jwks(&bytes).map_err(|e| format!("the key set {}: {e}", path.display()))
}

/// The signature keys of a JWKS. A key warden cannot use (a symmetric `oct` key, an encryption
/// key, an unknown type or curve) is left out, not an error: identity providers publish such
/// keys beside the signing ones. A set with no usable key is an error.
fn parse_jwks(bytes: &[u8]) -> Result<Vec<Key>, String> {
    #[derive(serde::Deserialize)]
    struct Set {
        keys: Vec<Value>,
    }
    let set: Set = serde_json::from_slice(bytes).map_err(|e| format!("not a JWKS: {e}"))?;
    let mut keys = Vec::new();
    for raw in set.keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw) else {
            continue;
        };
        if let Some(key) = usable(&jwk) {
            keys.push(key);
        }
    }
    if keys.is_empty() {
        return Err("no signature key warden can use (RSA, P-256, P-384 or Ed25519)".into());
    }
    Ok(keys)
}

fn usable(jwk: &Jwk) -> Option<Key> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let kind = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => KeyKind::Rsa,
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => KeyKind::P256,
            EllipticCurve::P384 => KeyKind::P384,
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            KeyKind::Ed25519
        }
        AlgorithmParameters::OctetKeyPair(_) | AlgorithmParameters::OctetKey(_) => return None,
    };
    let alg = match jwk.common.key_algorithm {
        None => None,
        Some(declared) => Some(signature_alg(declared)?),
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(Key {
        kid: jwk.common.key_id.clone(),
        kind,
        alg,
        key,
    })
}

/// The signature algorithm a key's declared `alg` names; `None` for any other (an HMAC or an
/// encryption algorithm), which makes the key unusable.
fn signature_alg(declared: KeyAlgorithm) -> Option<Algorithm> {
    Some(match declared {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    //! The key set's life with a clock the test moves: rotation, the cool-down on unknown
    //! keys, the refresh of a stale set, an identity provider that is down.

    use super::*;
    use crate::clock::ManualClock;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    const T0: i64 = 1_800_000_000_000;

    struct Idp {
        /// What the key set endpoint serves now; `None`: it answers 503.
        served: Arc<Mutex<Option<Value>>>,
        fetches: Arc<AtomicUsize>,
        url: url::Url,
    }

    async fn idp() -> Idp {
        let served: Arc<Mutex<Option<Value>>> = Arc::new(Mutex::new(None));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (s, f) = (served.clone(), fetches.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                f.fetch_add(1, Ordering::SeqCst);
                let set = s.lock().unwrap().clone();
                async move {
                    match set {
                        Some(set) => axum::Json(set).into_response(),
                        None => http::StatusCode::SERVICE_UNAVAILABLE.into_response(),
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Idp {
            served,
            fetches,
            url: format!("http://{addr}/jwks").parse().unwrap(),
        }
    }

    use axum::response::IntoResponse;

    fn jwk(key: &SigningKey, kid: &str) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
               "x": URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes())})
    }

    fn token(key: &SigningKey, kid: &str, now_ms: i64) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.into());
        let now = now_ms / 1000;
        let claims = json!({"iss": "https://idp.example", "aud": "warden", "sub": "agent-1",
                            "exp": now + 300});
        let der = key.to_pkcs8_der().unwrap();
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(der.as_bytes())).unwrap()
    }

    fn verifier(url: url::Url, clock: Arc<ManualClock>) -> OAuth {
        let settings = OAuthSettings {
            issuer: "https://idp.example".into(),
            audience: "warden".into(),
            resource: "https://warden.example/mcp".parse().unwrap(),
            authorization_servers: vec!["https://idp.example".into()],
            jwks: JwksSource::Url(url),
            principal_claim: "sub".into(),
            required_scopes: vec![],
            algorithms: JwtAlgorithm::ALL.to_vec(),
            required_typ: None,
            leeway: Duration::from_secs(0),
            jwks_refresh: Duration::from_secs(300),
        };
        OAuth::new(settings, clock).unwrap()
    }

    fn agents() -> Vec<AgentSpec> {
        vec![AgentSpec {
            principal: Principal("triage".into()),
            token_sha256: None,
            oauth_subject: Some("agent-1".into()),
        }]
    }

    #[tokio::test]
    async fn a_rotated_key_is_fetched_once_the_cool_down_has_passed() {
        let idp = idp().await;
        let (old, new) = (
            SigningKey::from_bytes(&[1; 32]),
            SigningKey::from_bytes(&[2; 32]),
        );
        *idp.served.lock().unwrap() = Some(json!({"keys": [jwk(&old, "k1")]}));
        let clock = Arc::new(ManualClock::at(T0));
        let oauth = verifier(idp.url.clone(), clock.clone());
        let agents = agents();
        assert_eq!(
            oauth.authenticate(&token(&old, "k1", T0), &agents).await,
            Ok(Principal("triage".into()))
        );
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 1);

        // The issuer rotates. A token under the new key, at once: no fetch within the
        // cool-down, however many such tokens come.
        *idp.served.lock().unwrap() = Some(json!({"keys": [jwk(&new, "k2")]}));
        for _ in 0..10 {
            let refused = oauth.authenticate(&token(&new, "k2", T0), &agents).await;
            assert!(matches!(refused, Err(Refusal::Invalid(_))), "{refused:?}");
        }
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 1);

        // Past the cool-down the unknown key makes warden fetch again, and the token passes.
        clock.advance(Duration::from_secs(31));
        let now = clock.now_ms();
        assert_eq!(
            oauth.authenticate(&token(&new, "k2", now), &agents).await,
            Ok(Principal("triage".into()))
        );
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
        // The old key left the set with that fetch.
        let gone = oauth.authenticate(&token(&old, "k1", now), &agents).await;
        assert!(matches!(gone, Err(Refusal::Invalid(_))), "{gone:?}");
    }

    #[tokio::test]
    async fn a_stale_set_is_refreshed_and_kept_while_the_idp_is_down() {
        let idp = idp().await;
        let key = SigningKey::from_bytes(&[3; 32]);
        *idp.served.lock().unwrap() = Some(json!({"keys": [jwk(&key, "k1")]}));
        let clock = Arc::new(ManualClock::at(T0));
        let oauth = verifier(idp.url.clone(), clock.clone());
        let agents = agents();
        assert!(
            oauth
                .authenticate(&token(&key, "k1", T0), &agents)
                .await
                .is_ok()
        );
        // Past the refresh interval, the set is fetched again before it is used; the
        // identity provider is down, so the keys already held stay in use.
        *idp.served.lock().unwrap() = None;
        clock.advance(Duration::from_secs(301));
        let now = clock.now_ms();
        assert!(
            oauth
                .authenticate(&token(&key, "k1", now), &agents)
                .await
                .is_ok()
        );
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
        // The failed fetch does not make every following check fetch again.
        assert!(
            oauth
                .authenticate(&token(&key, "k1", now), &agents)
                .await
                .is_ok()
        );
        assert_eq!(idp.fetches.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_key_set_without_a_signature_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        std::fs::write(
            &path,
            json!({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}).to_string(),
        )
        .unwrap();
        let mut settings = verifier(
            "http://127.0.0.1:9/jwks".parse().unwrap(),
            Arc::new(ManualClock::at(T0)),
        )
        .settings
        .clone();
        settings.jwks = JwksSource::File(path);
        let error = OAuth::new(settings, Arc::new(ManualClock::at(T0)))
            .err()
            .unwrap();
        assert!(error.contains("no signature key"), "{error}");
    }
}
