//! The resolution: raw configuration → [`Config`], checking everything on the way.
//!
//! The resolver keeps going after a problem, so one load reports every error in the file, each
//! with its place. The sections with most to check (grants, approvers, review, the inventory)
//! each have a module of their own.

mod approvals;
mod export;
mod grants;
mod inventory;
mod metrics;
mod oauth;
mod review;
mod store_tls;
mod upstream_auth;
mod wire_names;

use super::raw::{RawConfig, RawFloor, RawLedger, RawStore, RawWitness};
use super::resolved::{
    AgentRate, AgentSpec, ArgSpec, Budget, BudgetScope, Config, ConnectionLimits,
    DEFAULT_AGENT_BURST, DEFAULT_AGENT_REQUESTS_PER_SEC, DEFAULT_BODY_TIMEOUT_SECS,
    DEFAULT_CATALOG_REFRESH_SECS, DEFAULT_HEADER_TIMEOUT_SECS, DEFAULT_IDLE_TIMEOUT_SECS,
    DEFAULT_LEDGER_ORIGIN, DEFAULT_LISTEN, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_SESSIONS_PER_AGENT,
    DEFAULT_PG_POOL_SIZE, DEFAULT_WITNESS_TIMEOUT_MS, DEFAULT_WRITE_BUDGET, GatewaySettings, Grant,
    LedgerConfig, PostgresLocation, ServerSpec, StoreLocation, ToolSpec, Transport,
    UpstreamProtocol, WitnessConfig, default_budget_id,
};
use super::secret::{RawSecret, RawSecretFrom, SecretSource};
use super::{ConfigError, ConfigErrors, line_of};
use crate::engine::{ArgType, Engine, EngineSources};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;
use warden_core::{Effect, Principal, ToolLabels, ToolName};

impl Config {
    /// Reads and resolves `path`; the environment supplies `token_env` references.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                location: path.display().to_string(),
                message: format!("cannot read the config file: {e}"),
            }])
        })?;
        Self::from_toml(&text, path, &|name| std::env::var(name).ok())
    }

    /// Resolves config text as if it were read from `path` (relative paths start at its folder).
    pub fn from_toml(
        text: &str,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let file = path.display().to_string();
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            ConfigErrors(vec![ConfigError {
                location: match e.span() {
                    Some(span) => place(&file, text, span.start),
                    None => file.clone(),
                },
                message: e.message().to_string(),
            }])
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Resolver {
            file,
            text,
            base,
            errors: Vec::new(),
        }
        .resolve(raw, path, env)
    }
}

/// Whether a `postgres://` URL carries a password (`user:password@host`).
fn url_has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// Parses `30s`, `15m`, `12h`, `7d` or `2w`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().ok()?;
    let secs = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(secs).map(Duration::from_secs)
}

/// Seconds since the Unix epoch of an RFC 3339 time or a date (the start of that day, UTC).
pub fn parse_expiry(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let t = text.trim();
    if let Ok(at) = time::OffsetDateTime::parse(t, &Rfc3339) {
        return Some(at.unix_timestamp());
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(t, &format)
        .ok()
        .map(|d| d.midnight().assume_utc().unix_timestamp())
}

/// `file:line:column` of byte `offset` in `text` (both 1-based; the column counts characters).
fn place(file: &str, text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |l| l.chars().count()) + 1;
    format!("{file}:{}:{column}", line_of(text, offset))
}

/// A present, non-blank text field, with where it is written.
fn required(v: &Option<Spanned<String>>) -> Option<(&str, Range<usize>)> {
    let v = v.as_ref()?;
    let text = v.get_ref().trim();
    (!text.is_empty()).then(|| (text, v.span()))
}

/// Resolution in progress: the file's name and text (for places), its folder (for relative
/// paths) and every problem found so far.
struct Resolver<'a> {
    file: String,
    text: &'a str,
    base: PathBuf,
    errors: Vec<ConfigError>,
}

impl Resolver<'_> {
    /// Records a problem with the value written at `span` (its byte range, from the parser)
    /// under the key path `key` (`servers.edr.tools.isolate`), located as `file:line:column
    /// (key)`. With no span (a value warden supplied, not one written), the file and key alone.
    fn error(
        &mut self,
        span: impl Into<Option<Range<usize>>>,
        key: &str,
        message: impl Into<String>,
    ) {
        let location = match span.into() {
            Some(span) => format!("{} ({key})", place(&self.file, self.text, span.start)),
            None => format!("{} ({key})", self.file),
        };
        self.errors.push(ConfigError {
            location,
            message: message.into(),
        });
    }

    /// A count or a number of seconds that must not be zero: `default` when not written; a
    /// written zero is an error (the default stands in, so the resolution goes on).
    fn at_least_one<T: Copy + Default + PartialEq>(
        &mut self,
        value: Option<Spanned<T>>,
        key: &str,
        default: T,
        message: &str,
    ) -> T {
        match value {
            None => default,
            Some(v) if *v.get_ref() == T::default() => {
                self.error(v.span(), key, format!("{message}, not 0"));
                default
            }
            Some(v) => v.into_inner(),
        }
    }

    /// `[gateway] allowed_origins`: each an origin as a browser sends it, `scheme://host` with
    /// an optional `:port` (`*` for any port), or `null`. A path, a missing scheme or a blank
    /// entry would never match an `Origin` header, so it is an error rather than a dead rule.
    fn origins(&mut self, raw: Vec<Spanned<String>>) -> Vec<String> {
        let mut origins = Vec::with_capacity(raw.len());
        for entry in raw {
            let span = entry.span();
            let origin = entry.into_inner();
            let well_formed = origin == "null"
                || origin.split_once("://").is_some_and(|(scheme, authority)| {
                    matches!(scheme, "http" | "https")
                        && !authority.is_empty()
                        && !authority.contains(['/', '?', '#', '@'])
                        && !authority.chars().any(char::is_whitespace)
                });
            if well_formed {
                origins.push(origin);
            } else {
                self.error(
                    span,
                    "gateway.allowed_origins",
                    format!(
                        "`{origin}` is not an origin: write `https://host` or `http://host:port` \
                         (no path), or `null`"
                    ),
                );
            }
        }
        origins
    }

    /// A header value or environment entry: where it comes from, checked (exactly one of `env`
    /// and `file`; a literal without control characters). The value itself is read when warden
    /// connects ([`SecretSource::read`]).
    fn secret(
        &mut self,
        span: std::ops::Range<usize>,
        key: &str,
        raw: RawSecret,
    ) -> Option<SecretSource> {
        match raw {
            RawSecret::Literal(v) => {
                if v.chars().any(|c| c.is_control() && c != '\t') {
                    self.error(
                        span,
                        key,
                        "a value with a line break or a control character",
                    );
                    return None;
                }
                Some(SecretSource::Literal(v))
            }
            RawSecret::From(RawSecretFrom {
                env: Some(var),
                file: None,
                prefix,
            }) if !var.trim().is_empty() => Some(SecretSource::Env { var, prefix }),
            RawSecret::From(RawSecretFrom {
                env: None,
                file: Some(file),
                prefix,
            }) if !file.trim().is_empty() => Some(SecretSource::File {
                path: self.path(&file),
                prefix,
            }),
            RawSecret::From(_) => {
                self.error(
                    span,
                    key,
                    "give exactly one of `env = \"VAR\"` or `file = \"path\"` (and an optional `prefix`)",
                );
                None
            }
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    fn store(&mut self, raw: RawStore, env: &dyn Fn(&str) -> Option<String>) -> StoreLocation {
        let Some(url) = raw.url else {
            // Either PostgreSQL setting without a URL: the error points at the one written.
            let stray = raw
                .password_env
                .as_ref()
                .map(|v| ("store.password_env", v.span()))
                .or_else(|| {
                    raw.pool_size
                        .as_ref()
                        .map(|v| ("store.pool_size", v.span()))
                });
            if let Some((key, span)) = stray {
                self.error(
                    span,
                    key,
                    "`password_env` and `pool_size` are PostgreSQL settings: they need `url`",
                );
            }
            return StoreLocation::Sqlite {
                path: self.path(raw.path.as_deref().unwrap_or("warden.db")),
            };
        };
        let (url_span, url) = (url.span(), url.into_inner());
        if raw.path.is_some() {
            self.error(
                url_span.clone(),
                "store.url",
                "give `path` (SQLite) or `url` (PostgreSQL), not both",
            );
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            self.error(
                url_span.clone(),
                "store.url",
                "`url` must be a `postgres://user@host:port/database` URL",
            );
        }
        if url_has_password(&url) {
            self.error(
                url_span.clone(),
                "store.url",
                "the URL holds a password: remove it and name an environment variable that \
                 holds it in `password_env`",
            );
        }
        let password = raw.password_env.and_then(|var| match env(var.get_ref()) {
            Some(p) if !p.is_empty() => Some(p),
            _ => {
                self.error(
                    var.span(),
                    "store.password_env",
                    format!(
                        "environment variable `{}` holding the password is not set",
                        var.get_ref()
                    ),
                );
                None
            }
        });
        let pool_size = raw
            .pool_size
            .as_ref()
            .map_or(DEFAULT_PG_POOL_SIZE, |p| *p.get_ref());
        if pool_size == 0 {
            self.error(
                raw.pool_size.map(|p| p.span()),
                "store.pool_size",
                "the pool needs at least one connection",
            );
        }
        let (url, tls) = self.postgres_tls(&url, url_span);
        StoreLocation::Postgres(PostgresLocation {
            url,
            password,
            pool_size: pool_size.max(1),
            tls,
        })
    }

    fn ledger(&mut self, raw: RawLedger, store: &StoreLocation) -> LedgerConfig {
        let key_path = match (&raw.key, store) {
            (Some(k), _) => self.path(k),
            (None, StoreLocation::Sqlite { path }) => {
                path.parent().unwrap_or(Path::new(".")).join("ledger.key")
            }
            // Every replica must sign with the same key: by default the one beside the config.
            (None, StoreLocation::Postgres(_)) => self.path("ledger.key"),
        };
        let origin_span = raw.origin.as_ref().map(Spanned::span);
        let origin = raw
            .origin
            .map_or_else(|| DEFAULT_LEDGER_ORIGIN.to_string(), Spanned::into_inner);
        // The origin is also the signing key's name (C2SP signed-note rules).
        if origin.is_empty()
            || origin
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '+')
        {
            self.error(
                origin_span,
                "ledger.origin",
                format!("origin `{origin}` must be non-empty, without spaces or `+`"),
            );
        }
        let secs = raw
            .checkpoint_interval_secs
            .as_ref()
            .map_or(10, |s| *s.get_ref());
        if secs == 0 {
            self.error(
                raw.checkpoint_interval_secs.map(|s| s.span()),
                "ledger.checkpoint_interval_secs",
                "the checkpoint interval must be at least one second",
            );
        }
        let mut witnesses = Vec::new();
        for witness in raw.witness {
            let span = witness.span();
            match witness.into_inner() {
                RawWitness {
                    file: Some(file),
                    command: None,
                    url: None,
                    key: None,
                    timeout_ms: None,
                } => witnesses.push(WitnessConfig::File(self.path(&file))),
                RawWitness {
                    file: None,
                    command: Some(command),
                    url: None,
                    key: None,
                    timeout_ms: None,
                } if !command.is_empty() => witnesses.push(WitnessConfig::Command(command)),
                RawWitness {
                    file: None,
                    command: None,
                    url: Some(url),
                    key,
                    timeout_ms,
                } => match http_witness(&url, key.as_deref(), timeout_ms) {
                    Ok(w) => witnesses.push(w),
                    Err(message) => self.error(span, "ledger.witness", message),
                },
                _ => self.error(
                    span,
                    "ledger.witness",
                    "a witness is exactly one of `file`, `command` (a non-empty list) and \
                     `url` (with `key`)",
                ),
            }
        }
        let verifier_key = raw.verifier_key.map(|pin| {
            let span = pin.span();
            let text = pin.into_inner().trim().to_string();
            match key_name(&text) {
                None => self.error(
                    Some(span),
                    "ledger.verifier_key",
                    "a verifier key is `<origin>+<8 hex digits>+<base64>`, as `ledger.pub` holds it",
                ),
                Some(name) if name != origin => self.error(
                    Some(span),
                    "ledger.verifier_key",
                    format!("the pinned key is named `{name}`, not the ledger's origin `{origin}`"),
                ),
                Some(_) => {}
            }
            text
        });
        LedgerConfig {
            key_path,
            origin,
            checkpoint_interval: Duration::from_secs(secs.max(1)),
            witnesses,
            verifier_key,
        }
    }

    fn resolve(
        mut self,
        mut raw: RawConfig,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let listen_span = raw.gateway.listen.as_ref().map(Spanned::span);
        let listen_text = raw
            .gateway
            .listen
            .as_ref()
            .map_or(DEFAULT_LISTEN, |l| l.get_ref().as_str());
        let listen = match listen_text.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(e) => {
                self.error(
                    listen_span,
                    "gateway.listen",
                    format!("`{listen_text}` is not an address: {e}"),
                );
                SocketAddr::from(([127, 0, 0, 1], 8700))
            }
        };
        let max_concurrent_calls = raw.gateway.max_concurrent_calls.unwrap_or(256).max(1);
        let gateway = GatewaySettings {
            listen,
            max_request_bytes: raw.gateway.max_request_bytes.unwrap_or(1 << 20),
            max_result_bytes: raw.gateway.max_result_bytes.unwrap_or(4 << 20),
            upstream_timeout: Duration::from_secs(raw.gateway.upstream_timeout_secs.unwrap_or(30)),
            max_concurrent_calls,
            max_concurrent_calls_per_server: raw
                .gateway
                .max_concurrent_calls_per_server
                .unwrap_or(max_concurrent_calls.div_ceil(2))
                .clamp(1, max_concurrent_calls),
            catalog_refresh: Duration::from_secs(
                raw.gateway
                    .catalog_refresh_secs
                    .unwrap_or(DEFAULT_CATALOG_REFRESH_SECS),
            ),
            limits: ConnectionLimits {
                header_timeout: Duration::from_secs(self.at_least_one(
                    raw.gateway.header_timeout_secs,
                    "gateway.header_timeout_secs",
                    DEFAULT_HEADER_TIMEOUT_SECS,
                    "the header timeout must be at least one second",
                )),
                body_timeout: Duration::from_secs(self.at_least_one(
                    raw.gateway.body_timeout_secs,
                    "gateway.body_timeout_secs",
                    DEFAULT_BODY_TIMEOUT_SECS,
                    "the body timeout must be at least one second",
                )),
                idle_timeout: Duration::from_secs(self.at_least_one(
                    raw.gateway.idle_timeout_secs,
                    "gateway.idle_timeout_secs",
                    DEFAULT_IDLE_TIMEOUT_SECS,
                    "the idle timeout must be at least one second",
                )),
                max_connections: self.at_least_one(
                    raw.gateway.max_connections,
                    "gateway.max_connections",
                    DEFAULT_MAX_CONNECTIONS,
                    "warden must take at least one connection",
                ),
            },
            max_sessions_per_agent: self.at_least_one(
                raw.gateway.max_sessions_per_agent,
                "gateway.max_sessions_per_agent",
                DEFAULT_MAX_SESSIONS_PER_AGENT,
                "an agent must be allowed at least one session",
            ),
            agent_rate: AgentRate {
                per_sec: self.at_least_one(
                    raw.gateway.agent_requests_per_sec,
                    "gateway.agent_requests_per_sec",
                    DEFAULT_AGENT_REQUESTS_PER_SEC,
                    "an agent must be served at least one request a second",
                ),
                burst: self.at_least_one(
                    raw.gateway.agent_burst,
                    "gateway.agent_burst",
                    DEFAULT_AGENT_BURST,
                    "an agent's burst must be at least one request",
                ),
            },
            allowed_hosts: raw.gateway.allowed_hosts,
            allowed_origins: self.origins(raw.gateway.allowed_origins),
        };
        let store = self.store(raw.store, env);
        let ledger = self.ledger(raw.ledger, &store);

        for (category, owner) in &raw.owners {
            if owner.get_ref().trim().is_empty() {
                self.error(
                    owner.span(),
                    &format!("owners.{category}"),
                    format!("category `{category}` has an empty owner"),
                );
            }
        }
        // What the rest of the resolution and the engine read: the owners without their places.
        let owners: BTreeMap<String, String> = raw
            .owners
            .iter()
            .map(|(category, owner)| (category.clone(), owner.get_ref().clone()))
            .collect();

        let mut agents = Vec::new();
        let mut subjects: BTreeMap<String, String> = BTreeMap::new();
        for (id, agent) in &raw.agents {
            let key = format!("agents.{id}");
            let table = agent.span();
            let agent = agent.get_ref();
            if !is_identifier(id) {
                self.error(
                    table.clone(),
                    &key,
                    format!("agent id `{id}` must be letters, digits, `_` or `-`"),
                );
            }
            let digest = match (&agent.token_sha256, &agent.token_env) {
                (Some(hex_digest), None) => match hex::decode(hex_digest.get_ref().trim()) {
                    Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice()).ok(),
                    Err(_) => None,
                }
                .map(Some)
                .or_else(|| {
                    self.error(
                        hex_digest.span(),
                        &key,
                        "`token_sha256` must be 64 hex digits (a SHA-256)",
                    );
                    None
                }),
                (None, Some(var)) => match env(var.get_ref()) {
                    Some(token) if !token.is_empty() => {
                        Some(Some(Sha256::digest(token.as_bytes()).into()))
                    }
                    _ => {
                        self.error(
                            var.span(),
                            &key,
                            format!(
                                "environment variable `{}` holding the token is not set",
                                var.get_ref()
                            ),
                        );
                        None
                    }
                },
                (None, None) => Some(None),
                (Some(_), Some(_)) => {
                    self.error(
                        table.clone(),
                        &key,
                        "give one of `token_sha256` or `token_env`, not both",
                    );
                    None
                }
            };
            let subject = agent.oauth_subject.as_ref().and_then(|s| {
                let text = s.get_ref().as_str();
                if raw.oauth.is_none() {
                    self.error(
                        s.span(),
                        &key,
                        "`oauth_subject` needs an `[oauth]` section saying which tokens to trust",
                    );
                    None
                } else if text.trim().is_empty() {
                    self.error(s.span(), &key, "`oauth_subject` is empty");
                    None
                } else if let Some(other) = subjects.insert(text.to_string(), id.clone()) {
                    self.error(
                        s.span(),
                        &key,
                        format!("agents `{other}` and `{id}` have the same `oauth_subject`"),
                    );
                    None
                } else {
                    Some(text.to_string())
                }
            });
            match digest {
                Some(None) if agent.oauth_subject.is_none() => self.error(
                    table,
                    &key,
                    "give `token_sha256`, `token_env` or `oauth_subject` so the agent can authenticate",
                ),
                Some(token_sha256) => agents.push(AgentSpec {
                    principal: Principal(id.clone()),
                    token_sha256,
                    oauth_subject: subject,
                }),
                None => {}
            }
        }
        let oauth = raw.oauth.as_ref().and_then(|o| self.oauth(o));
        let approvals = self.approvals(&raw.approvals, &raw.approvers, &raw.agents, &owners, env);
        self.distinct_tokens(&agents, &raw.agents, &raw.approvers);
        let stdio_agent = raw.stdio.map(|s| {
            let (span, agent) = (s.agent.span(), s.agent.into_inner());
            if !raw.agents.contains_key(&agent) && !is_identifier(&agent) {
                self.error(
                    span,
                    "stdio.agent",
                    format!("`{agent}` is not a valid agent id"),
                );
            }
            Principal(agent)
        });

        let mut servers = BTreeMap::new();
        let mut tools = BTreeMap::new();
        for (name, server) in raw.servers {
            let key = format!("servers.{name}");
            let table = server.span();
            let server = server.into_inner();
            if !is_identifier(&name) {
                self.error(
                    table.clone(),
                    &key,
                    format!("server name `{name}` must be letters, digits, `_` or `-`"),
                );
            }
            let (headers_span, headers) = match server.headers {
                Some(h) => (h.span(), h.into_inner()),
                None => (table.clone(), BTreeMap::new()),
            };
            let transport = match (server.command, server.url) {
                (Some(command), None) => {
                    let dir = self.base.display().to_string();
                    let dir = if dir.is_empty() { ".".to_string() } else { dir };
                    let expand = |v: &String| v.replace("{config_dir}", &dir);
                    if !headers.is_empty() {
                        self.error(
                            headers_span,
                            &format!("{key}.headers"),
                            "`headers` are for an HTTP server (`url`)",
                        );
                    }
                    for (what, given) in [
                        ("oauth", server.oauth.as_ref().map(Spanned::span)),
                        ("tls", server.tls.as_ref().map(Spanned::span)),
                    ] {
                        if let Some(span) = given {
                            self.error(
                                span,
                                &format!("{key}.{what}"),
                                format!("`{what}` is for an HTTP server (`url`)"),
                            );
                        }
                    }
                    let mut env = BTreeMap::new();
                    for (k, v) in server.env {
                        let ekey = format!("{key}.env.{k}");
                        if let Some(source) = self.secret(table.clone(), &ekey, v) {
                            let source = match source {
                                SecretSource::Literal(v) => SecretSource::Literal(expand(&v)),
                                other => other,
                            };
                            env.insert(k, source);
                        }
                    }
                    Transport::Stdio {
                        command: expand(&command),
                        args: server.args.iter().map(expand).collect(),
                        env,
                    }
                }
                (None, Some(url)) => {
                    let (span, url) = (url.span(), url.into_inner());
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        self.error(span.clone(), &key, format!("`{url}` is not an http(s) URL"));
                    }
                    if !server.env.is_empty() {
                        self.error(
                            table.clone(),
                            &format!("{key}.env"),
                            "`env` is for a stdio server (`command`); an HTTP server takes `headers`",
                        );
                    }
                    let mut resolved = BTreeMap::new();
                    for (name, v) in headers {
                        let hkey = format!("{key}.headers.{name}");
                        let token = !name.is_empty()
                            && name.bytes().all(|b| {
                                b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
                            });
                        if !token {
                            self.error(
                                headers_span.clone(),
                                &hkey,
                                format!("`{name}` is not an HTTP header name"),
                            );
                            continue;
                        }
                        if let Some(source) = self.secret(headers_span.clone(), &hkey, v) {
                            resolved.insert(name, source);
                        }
                    }
                    if server.oauth.is_some()
                        && resolved
                            .keys()
                            .any(|h| h.eq_ignore_ascii_case("authorization"))
                    {
                        self.error(
                            headers_span.clone(),
                            &format!("{key}.headers"),
                            "an `Authorization` header and `oauth` both set it: give one",
                        );
                    }
                    // A bearer token is never sent in clear, and TLS settings on a plain-HTTP
                    // URL would be silently unused.
                    if server.oauth.is_some() {
                        let _ = self.secure_url(
                            &Spanned::new(span.clone(), url.clone()),
                            &key,
                            "an upstream with `oauth`,",
                        );
                    }
                    if let Some(tls) = &server.tls
                        && !url.starts_with("https://")
                    {
                        self.error(
                            tls.span(),
                            &format!("{key}.tls"),
                            format!("`tls` needs an https URL, not `{url}`"),
                        );
                    }
                    let oauth = server
                        .oauth
                        .and_then(|o| self.upstream_oauth(&key, o))
                        .map(Box::new);
                    let tls = server
                        .tls
                        .map(|t| self.upstream_tls(&key, t))
                        .unwrap_or_default();
                    Transport::Http {
                        url,
                        headers: resolved,
                        oauth,
                        tls,
                    }
                }
                _ => {
                    self.error(
                        table,
                        &key,
                        "give exactly one of `command` (stdio) or `url` (HTTP)",
                    );
                    continue;
                }
            };
            for (tool_name, tool) in server.tools {
                let tkey = format!("{key}.tools.{tool_name}");
                let tool = tool.into_inner();
                let qualified = ToolName::new(name.clone(), tool_name.clone());
                let (category_span, category) = (tool.category.span(), tool.category.into_inner());
                if !raw.owners.contains_key(&category) {
                    self.error(
                        category_span.clone(),
                        &tkey,
                        format!("category `{category}` has no owner: add it to [owners]"),
                    );
                }
                if let Some(owner) = &tool.owner
                    && owner.get_ref().trim().is_empty()
                {
                    self.error(
                        owner.span(),
                        &tkey,
                        format!("tool `{qualified}` has an empty owner"),
                    );
                }
                if !is_identifier(&category) {
                    self.error(
                        category_span,
                        &tkey,
                        format!("category `{category}` must be letters, digits, `_` or `-`"),
                    );
                }
                let mut args = BTreeMap::new();
                for (arg, ty_text) in &tool.args {
                    match ArgType::parse(ty_text.get_ref()) {
                        Ok((ty, required)) => {
                            args.insert(arg.clone(), ArgSpec { ty, required });
                        }
                        Err(message) => self.error(
                            ty_text.span(),
                            &tkey,
                            format!("argument `{arg}`: {message}"),
                        ),
                    }
                }
                if let Some(pin) = &tool.pin
                    && !is_pin(pin.get_ref())
                {
                    self.error(
                        pin.span(),
                        &tkey,
                        format!(
                            "pin `{}` must be `sha256:` and 64 hex digits",
                            pin.get_ref()
                        ),
                    );
                }
                if let Some(undo) = &tool.undo {
                    if !tool.reversible {
                        self.error(
                            undo.span(),
                            &tkey,
                            format!(
                                "tool `{qualified}` says how to undo it but is not `reversible`"
                            ),
                        );
                    } else if undo.get_ref().trim().is_empty() {
                        self.error(
                            undo.span(),
                            &tkey,
                            format!("tool `{qualified}` has an empty undo"),
                        );
                    }
                }
                tools.insert(
                    qualified.clone(),
                    ToolSpec {
                        name: qualified,
                        wire_name: String::new(),
                        labels: ToolLabels {
                            effect: tool.effect,
                            reversible: tool.reversible,
                            stakes: tool.stakes,
                            category,
                        },
                        args,
                        pin: tool.pin.map(Spanned::into_inner),
                        description: tool.description,
                        results: tool.results,
                        owner: tool.owner.map(Spanned::into_inner),
                        undo: tool.undo.map(Spanned::into_inner),
                    },
                );
            }
            let protocol = server
                .protocol
                .unwrap_or_else(|| UpstreamProtocol::default_for(&transport));
            servers.insert(
                name.clone(),
                ServerSpec {
                    name,
                    transport,
                    protocol,
                },
            );
        }
        let wire_names = self.wire_names(
            raw.gateway.tool_names.as_ref(),
            raw.gateway.max_tool_name_chars.as_ref(),
            &mut tools,
        );

        let mut budgets = Vec::new();
        // Each configured budget's id, with its key and where it is written.
        let mut declared: BTreeMap<String, (String, Range<usize>)> = BTreeMap::new();
        for (i, b) in raw.budgets.into_iter().enumerate() {
            let key = format!("budgets[{i}]");
            let b = b.into_inner();
            let (id_span, id) = (b.id.span(), b.id.into_inner());
            if !is_cedar_ident(&id) {
                self.error(
                    id_span.clone(),
                    &key,
                    format!("budget id `{id}` must be a Cedar identifier (letters, digits, `_`)"),
                );
            }
            if declared.contains_key(&id) {
                self.error(
                    id_span.clone(),
                    &key,
                    format!("budget id `{id}` is declared twice"),
                );
            } else {
                declared.insert(id.clone(), (key.clone(), id_span));
            }
            if *b.window_secs.get_ref() == 0 {
                self.error(
                    b.window_secs.span(),
                    &key,
                    format!("budget `{id}` needs a window of at least one second"),
                );
            }
            let mut budget_tools = Vec::new();
            for t in &b.tools {
                match ToolName::parse(t.get_ref()) {
                    Some(tn) if tools.contains_key(&tn) => budget_tools.push(tn),
                    _ => self.error(
                        t.span(),
                        &key,
                        format!(
                            "budget `{id}` names `{}`, which is not a configured tool",
                            t.get_ref()
                        ),
                    ),
                }
            }
            budgets.push(Budget {
                id,
                tools: budget_tools,
                limit: b.limit,
                window: Duration::from_secs(b.window_secs.into_inner()),
                per: b.per,
                justification: b.justification,
                default: false,
            });
        }

        let claude_code = raw
            .claude_code
            .take()
            .map(|c| self.claude_code(c, &raw.owners, &servers, &mut tools));

        self.default_write_budgets(&raw.floor, &tools, &declared, &mut budgets);

        let mut policy_files = Vec::new();
        if raw.policy.files.get_ref().is_empty() {
            self.error(
                raw.policy.files.span(),
                "policy.files",
                "no policy files: with no policy every call is denied; list at least one",
            );
        }
        let mut read = |key: &str, f: &Spanned<String>| -> Option<(PathBuf, String)> {
            let p = self.path(f.get_ref());
            match std::fs::read_to_string(&p) {
                Ok(text) => Some((p, text)),
                Err(e) => {
                    self.error(f.span(), key, format!("cannot read `{}`: {e}", p.display()));
                    None
                }
            }
        };
        for f in raw.policy.files.get_ref() {
            policy_files.extend(read("policy.files", f));
        }
        let user_schema = raw
            .policy
            .schema
            .as_ref()
            .and_then(|f| read("policy.schema", f));
        let entities = raw
            .policy
            .entities
            .as_ref()
            .and_then(|f| read("policy.entities", f));
        let mut shadow_files = Vec::new();
        for f in &raw.policy.shadow {
            shadow_files.extend(read("policy.shadow", f));
        }

        let mut grants = self.grants(
            &raw.grants,
            false,
            &raw.agents,
            &stdio_agent,
            &tools,
            &approvals,
        );
        if !grants.is_empty() {
            let text: String = grants.iter().map(Grant::cedar).collect();
            let grants_path = PathBuf::from(format!("{} [grants]", self.file));
            policy_files.push((grants_path.clone(), text.clone()));
            if !shadow_files.is_empty() {
                shadow_files.push((grants_path, text));
            }
        }
        let autonomy = self.grants(
            &raw.autonomy,
            true,
            &raw.agents,
            &stdio_agent,
            &tools,
            &approvals,
        );
        for a in &autonomy {
            if grants.iter().any(|g| g.id == a.id) {
                // The autonomy grant as written, so the error names its line.
                let written = raw
                    .autonomy
                    .iter()
                    .enumerate()
                    .find(|(_, g)| g.get_ref().id.get_ref() == &a.id);
                let (key, span) = match written {
                    Some((i, g)) => (format!("autonomy[{i}]"), Some(g.get_ref().id.span())),
                    None => ("autonomy".to_string(), None),
                };
                self.error(
                    span,
                    &key,
                    format!("autonomy grant id `{}` is also a grant's id", a.id),
                );
            }
        }
        let autonomy_files: Vec<(PathBuf, String)> = if autonomy.is_empty() {
            Vec::new()
        } else {
            vec![(
                PathBuf::from(format!("{} [autonomy]", self.file)),
                autonomy.iter().map(Grant::cedar).collect(),
            )]
        };
        grants.extend(autonomy);
        let review = self.review(&raw.review, &owners);
        let metrics = raw
            .metrics
            .as_ref()
            .map(|m| self.metrics(m, gateway.listen));
        let inventory = raw.inventory.as_ref().and_then(|i| self.inventory(i));
        let export = raw.export.map(|e| self.export(e, &store));
        let agent_principals: Vec<Principal> = agents
            .iter()
            .map(|a| a.principal.clone())
            .chain(stdio_agent.clone())
            .collect();
        let shadow = if shadow_files.is_empty() {
            None
        } else {
            match Engine::build(EngineSources {
                policy_files: shadow_files,
                autonomy_files: autonomy_files.clone(),
                user_schema: user_schema.clone(),
                entities: entities.clone(),
                tools: &tools,
                budgets: &budgets,
                agents: agent_principals.clone(),
                owners: &owners,
                own_files: crate::own_files::OwnFiles::default(),
            }) {
                Ok(engine) => Some(engine),
                Err(errors) => {
                    self.errors.extend(errors.into_iter().map(|e| ConfigError {
                        location: e.location,
                        message: format!("shadow policy: {}", e.message),
                    }));
                    None
                }
            }
        };

        let own_files = own_files(
            &self.base,
            path,
            &store,
            &ledger,
            &servers,
            oauth.as_ref(),
            export.as_ref().and_then(Option::as_ref),
            policy_files
                .iter()
                .chain(user_schema.iter())
                .chain(entities.iter())
                .map(|(p, _)| p.clone()),
        );
        let engine = Engine::build(EngineSources {
            own_files: own_files.clone(),
            policy_files,
            autonomy_files,
            user_schema,
            entities,
            tools: &tools,
            budgets: &budgets,
            agents: agent_principals,
            owners: &owners,
        });
        let engine = match engine {
            Ok(engine) => Some(engine),
            Err(errors) => {
                self.errors.extend(errors);
                None
            }
        };

        match engine {
            Some(engine) if self.errors.is_empty() => Ok(Config {
                source: path.to_path_buf(),
                source_digest: format!(
                    "sha256:{}",
                    hex::encode(Sha256::digest(self.text.as_bytes()))
                ),
                gateway,
                store,
                screen: raw.screen.clone(),
                ledger,
                owners,
                agents,
                oauth,
                stdio_agent,
                servers,
                tools,
                wire_names,
                budgets,
                approvals,
                monitor: raw.monitor.clone(),
                grants,
                review,
                engine,
                shadow,
                inventory,
                metrics,
                claude_code,
                export: export.flatten(),
            }),
            _ => Err(ConfigErrors(self.errors)),
        }
    }
}

impl Resolver<'_> {
    /// `[claude_code]`: the built-in tools join the catalog under the server `claude`.
    fn claude_code(
        &mut self,
        raw: Spanned<crate::config::RawClaudeCode>,
        owners: &BTreeMap<String, Spanned<String>>,
        servers: &BTreeMap<String, ServerSpec>,
        tools: &mut BTreeMap<ToolName, ToolSpec>,
    ) -> crate::config::ClaudeCodeSettings {
        use crate::claude_code::{BUILTINS, DEFAULT_CATEGORY, LabelOverride, SERVER};
        use crate::config::{ClaudeCodeSettings, OnHold};
        let key = "claude_code";
        let span = raw.span();
        let raw = raw.into_inner();
        if servers.contains_key(SERVER) {
            self.error(
                span.clone(),
                key,
                format!("`[servers.{SERVER}]` clashes with Claude Code's built-in tools, which are `{SERVER}.*`"),
            );
        }
        let (category, category_span) = match raw.category {
            Some(c) => (c.get_ref().clone(), c.span()),
            None => (DEFAULT_CATEGORY.to_string(), span.clone()),
        };
        let check_category = |this: &mut Self, c: &str, at: Range<usize>| {
            if !owners.contains_key(c) {
                this.error(
                    at.clone(),
                    key,
                    format!("category `{c}` has no owner: add it to [owners]"),
                );
            }
            if !is_identifier(c) {
                this.error(
                    at,
                    key,
                    format!("category `{c}` must be letters, digits, `_` or `-`"),
                );
            }
        };
        check_category(self, &category, category_span);
        let on_hold = match raw.on_hold {
            None => OnHold::Deny,
            Some(v) => match v.get_ref().as_str() {
                "deny" => OnHold::Deny,
                "danger-ask-local-user" => OnHold::DangerAskLocalUser,
                other => {
                    self.error(
                        v.span(),
                        key,
                        format!("on_hold `{other}` must be `deny` or `danger-ask-local-user`"),
                    );
                    OnHold::Deny
                }
            },
        };
        let mut write_roots = Vec::new();
        for r in raw.write_roots {
            let text = r.get_ref();
            match crate::argtypes::SafePath::parse(text, "/") {
                Ok(p) if p.as_str() == text.as_str() => write_roots.push(p.to_string()),
                _ => self.error(
                    r.span(),
                    key,
                    format!("write root `{text}` must be a normalised absolute path"),
                ),
            }
        }
        let mut overrides = BTreeMap::new();
        for (tool, labels) in raw.tools {
            let at = labels.span();
            let labels = labels.into_inner();
            if !BUILTINS.iter().any(|b| b.tool == tool) {
                self.error(
                    at.clone(),
                    key,
                    format!(
                        "`{tool}` is not one of Claude Code's built-in tools in warden's catalog"
                    ),
                );
            }
            if let Some(c) = &labels.category {
                check_category(self, c.get_ref(), c.span());
            }
            overrides.insert(
                tool,
                LabelOverride {
                    effect: labels.effect,
                    reversible: labels.reversible,
                    stakes: labels.stakes,
                    category: labels.category.map(Spanned::into_inner),
                    owner: labels.owner.map(Spanned::into_inner),
                },
            );
        }
        match crate::claude_code::specs(&category, &write_roots, &overrides) {
            Ok(specs) => {
                for spec in specs {
                    tools.insert(spec.name.clone(), spec);
                }
            }
            Err(e) => self.error(span, key, e),
        }
        ClaudeCodeSettings {
            on_hold,
            write_roots,
        }
    }

    /// Every write tool that no configured budget counts gets the floor's default budget, so a
    /// mass action stops at it whatever the policy permits.
    fn default_write_budgets(
        &mut self,
        floor: &RawFloor,
        tools: &BTreeMap<ToolName, ToolSpec>,
        declared: &BTreeMap<String, (String, Range<usize>)>,
        budgets: &mut Vec<Budget>,
    ) {
        let (limit, window_secs, per) = match &floor.write_budget {
            Some(b) => (b.limit, *b.window_secs.get_ref(), b.per),
            None => (
                DEFAULT_WRITE_BUDGET.0,
                DEFAULT_WRITE_BUDGET.1,
                BudgetScope::Agent,
            ),
        };
        if window_secs == 0 {
            self.error(
                floor.write_budget.as_ref().map(|b| b.window_secs.span()),
                "floor.write_budget.window_secs",
                "the default write budget needs a window of at least one second",
            );
        }
        for (name, spec) in tools {
            if spec.labels.effect != Effect::Write || budgets.iter().any(|b| b.tools.contains(name))
            {
                continue;
            }
            let id = default_budget_id(name);
            if budgets.iter().any(|b| b.id == id) {
                // At the configured budget that took the id, when one did.
                let (key, span) = match declared.get(&id) {
                    Some((key, span)) => (key.as_str(), Some(span.clone())),
                    None => ("budgets", None),
                };
                self.error(
                    span,
                    key,
                    format!("budget id `{id}` is reserved for the default budget of `{name}`"),
                );
                continue;
            }
            budgets.push(Budget {
                id,
                tools: vec![name.clone()],
                limit,
                window: Duration::from_secs(window_secs.max(1)),
                per,
                justification: Some("the floor's default budget for a write tool".into()),
                default: true,
            });
        }
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_cedar_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_pin(s: &str) -> bool {
    s.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// A tlog-witness entry: an `https` URL (`http` to loopback only: a checkpoint and its
/// cosignature in clear could be answered by anyone on the path) without user, password,
/// query or fragment (the URL shows in logs), a cosigning key of the shape
/// `<name>+<8 hex>+<base64>`, a timeout of at least one millisecond.
/// The name of a signed-note key text `<name>+<8 hex digits>+<key>` (a verifier or cosigner
/// key), or `None` where the text is not of that shape. Only the shape is checked here; the key
/// itself is read by the ledger that uses it.
fn key_name(key: &str) -> Option<&str> {
    match key.splitn(3, '+').collect::<Vec<_>>().as_slice() {
        [name, id, material]
            if !name.is_empty()
                && !name.chars().any(char::is_whitespace)
                && id.len() == 8
                && id.bytes().all(|b| b.is_ascii_hexdigit())
                && !material.is_empty() =>
        {
            Some(name)
        }
        _ => None,
    }
}

fn http_witness(
    url: &str,
    key: Option<&str>,
    timeout_ms: Option<u64>,
) -> Result<WitnessConfig, String> {
    // Not echoed: it may hold a password.
    let parsed = url::Url::parse(url).map_err(|e| format!("a witness url does not parse: {e}"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        let mut shown = parsed.clone();
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        return Err(format!(
            "witness url `{shown}` carries a user or password: a witness takes none, and the \
             url shows in logs"
        ));
    }
    if parsed.scheme() == "http" && !oauth::is_loopback(&parsed) {
        return Err(format!(
            "witness url `{url}` is plain HTTP: use https (plain HTTP is allowed to loopback \
             only)"
        ));
    }
    if !matches!(parsed.scheme(), "http" | "https")
        || parsed.host_str().is_none()
        || parsed.query().is_some()
        || parsed.fragment().is_some()
    {
        return Err(format!(
            "witness url `{url}` must be an http or https URL without query or fragment \
             (the submission prefix)"
        ));
    }
    let key = key.ok_or_else(|| {
        format!("witness `{url}` needs `key`, the witness's cosigning key, to check what it signs")
    })?;
    if key_name(key).is_none() {
        return Err(format!(
            "witness key `{key}` is not of the form `<name>+<hex key id>+<base64 key>`"
        ));
    }
    let timeout_ms = timeout_ms.unwrap_or(DEFAULT_WITNESS_TIMEOUT_MS);
    if timeout_ms == 0 {
        return Err("a witness's `timeout_ms` must be at least 1".to_owned());
    }
    Ok(WitnessConfig::Http {
        url: url.trim_end_matches('/').to_owned(),
        key: key.to_owned(),
        timeout: Duration::from_millis(timeout_ms),
    })
}

/// warden's own files and folders, which no call of Claude Code's tools may name
/// ([`crate::own_files`]): the config and policy files, the store and the ledger's key (and its
/// public half) and the folders they are in (unless that is the config's own), witness files,
/// every file a secret, a token issuer's keys or an upstream's TLS settings are read from, and
/// the export's output and cursor. Paths as the resolver made them (the config's folder
/// before a relative one), so relative to the working directory, as warden opens them.
#[allow(clippy::too_many_arguments)]
fn own_files(
    base: &Path,
    config: &Path,
    store: &StoreLocation,
    ledger: &LedgerConfig,
    servers: &BTreeMap<String, ServerSpec>,
    oauth: Option<&super::resolved::OAuthSettings>,
    export: Option<&super::resolved::ExportSettings>,
    policy: impl Iterator<Item = PathBuf>,
) -> crate::own_files::OwnFiles {
    let mut files: Vec<PathBuf> = vec![
        config.to_path_buf(),
        ledger.key_path.clone(),
        ledger.key_path.with_extension("pub"),
    ];
    let mut folders = Vec::new();
    files.extend(policy);
    let secret = |s: &SecretSource| match s {
        SecretSource::File { path, .. } => Some(path.clone()),
        _ => None,
    };
    if let StoreLocation::Sqlite { path } = store {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            files.push(name.into());
        }
        folders.extend(path.parent().map(Path::to_path_buf));
    }
    folders.extend(ledger.key_path.parent().map(Path::to_path_buf));
    for witness in &ledger.witnesses {
        if let WitnessConfig::File(path) = witness {
            files.push(path.clone());
        }
    }
    for server in servers.values() {
        match &server.transport {
            Transport::Stdio { env, .. } => files.extend(env.values().filter_map(secret)),
            Transport::Http {
                headers,
                oauth,
                tls,
                ..
            } => {
                files.extend(headers.values().filter_map(secret));
                files.extend(oauth.iter().filter_map(|o| secret(&o.client_secret)));
                files.extend(tls.ca_file.iter().cloned());
                if let Some(id) = &tls.client_identity {
                    files.extend([id.cert_file.clone(), id.key_file.clone()]);
                }
            }
        }
    }
    if let Some(super::resolved::JwksSource::File(path)) = oauth.map(|o| &o.jwks) {
        files.push(path.clone());
    }
    if let Some(export) = export {
        files.push(export.cursor.clone());
        match &export.to {
            super::resolved::ExportDestination::File(path) => files.push(path.clone()),
            super::resolved::ExportDestination::SplunkHec { token, .. }
            | super::resolved::ExportDestination::ElasticBulk { token, .. } => {
                files.extend(secret(token))
            }
        }
    }
    // The config's own folder (or one above it) holds the team's other files too: only the
    // files in it are warden's.
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let home = absolute(base);
    let folders = folders
        .into_iter()
        .filter(|f| !home.starts_with(absolute(f)));
    crate::own_files::OwnFiles::new(files, folders)
}
