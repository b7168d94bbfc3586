//! The resolution: raw configuration → [`Config`], checking everything on the way.
//!
//! The resolver keeps going after a problem, so one load reports every error in the file, each
//! with its place.

use super::raw::*;
use super::resolved::*;
use super::{ConfigError, ConfigErrors, line_of};
use crate::engine::{ArgType, Engine, EngineSources};
use crate::inventory::{InventorySettings, InventorySource, RawInventory};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;
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
                    Some(span) => format!("{file}:{}", line_of(text, span.start)),
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

struct Resolver<'a> {
    file: String,
    text: &'a str,
    base: PathBuf,
    errors: Vec<ConfigError>,
}

impl Resolver<'_> {
    /// Location of the TOML key path `key` (e.g. `servers.edr.tools`) as `file:line`, found by
    /// looking for its table header or assignment; the file alone when it cannot be found.
    fn at(&self, key: &str) -> String {
        let last = key.rsplit('.').next().unwrap_or(key);
        let header = format!("[{key}]");
        let found = self
            .text
            .find(&header)
            .or_else(|| self.text.find(&format!("{last} =")))
            .or_else(|| self.text.find(&format!("{last}=")));
        match found {
            Some(offset) => format!("{}:{} ({key})", self.file, line_of(self.text, offset)),
            None => format!("{} ({key})", self.file),
        }
    }

    fn error(&mut self, key: &str, message: impl Into<String>) {
        let location = self.at(key);
        self.errors.push(ConfigError {
            location,
            message: message.into(),
        });
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
            if raw.password_env.is_some() || raw.pool_size.is_some() {
                self.error(
                    "store",
                    "`password_env` and `pool_size` are PostgreSQL settings: they need `url`",
                );
            }
            return StoreLocation::Sqlite {
                path: self.path(raw.path.as_deref().unwrap_or("warden.db")),
            };
        };
        if raw.path.is_some() {
            self.error(
                "store.url",
                "give `path` (SQLite) or `url` (PostgreSQL), not both",
            );
        }
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            self.error(
                "store.url",
                "`url` must be a `postgres://user@host:port/database` URL",
            );
        }
        if url_has_password(&url) {
            self.error(
                "store.url",
                "the URL holds a password: remove it and name an environment variable that \
                 holds it in `password_env`",
            );
        }
        let password = raw.password_env.and_then(|var| match env(&var) {
            Some(p) if !p.is_empty() => Some(p),
            _ => {
                self.error(
                    "store.password_env",
                    format!("environment variable `{var}` holding the password is not set"),
                );
                None
            }
        });
        let pool_size = raw.pool_size.unwrap_or(DEFAULT_PG_POOL_SIZE);
        if pool_size == 0 {
            self.error("store.pool_size", "the pool needs at least one connection");
        }
        StoreLocation::Postgres(PostgresLocation {
            url,
            password,
            pool_size: pool_size.max(1),
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
        let origin = raw
            .origin
            .unwrap_or_else(|| DEFAULT_LEDGER_ORIGIN.to_string());
        // The origin is also the signing key's name (C2SP signed-note rules).
        if origin.is_empty()
            || origin
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '+')
        {
            self.error(
                "ledger.origin",
                format!("origin `{origin}` must be non-empty, without spaces or `+`"),
            );
        }
        let secs = raw.checkpoint_interval_secs.unwrap_or(10);
        if secs == 0 {
            self.error(
                "ledger.checkpoint_interval_secs",
                "the checkpoint interval must be at least one second",
            );
        }
        LedgerConfig {
            key_path,
            origin,
            checkpoint_interval: Duration::from_secs(secs.max(1)),
        }
    }

    fn resolve(
        mut self,
        raw: RawConfig,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let listen_text = raw.gateway.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = match listen_text.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(e) => {
                self.error(
                    "gateway.listen",
                    format!("`{listen_text}` is not an address: {e}"),
                );
                SocketAddr::from(([127, 0, 0, 1], 8700))
            }
        };
        let gateway = GatewaySettings {
            listen,
            max_request_bytes: raw.gateway.max_request_bytes.unwrap_or(1 << 20),
            max_result_bytes: raw.gateway.max_result_bytes.unwrap_or(4 << 20),
            upstream_timeout: Duration::from_secs(raw.gateway.upstream_timeout_secs.unwrap_or(30)),
            max_concurrent_calls: raw.gateway.max_concurrent_calls.unwrap_or(256).max(1),
            allowed_hosts: raw.gateway.allowed_hosts,
        };
        let store = self.store(raw.store, env);
        let ledger = self.ledger(raw.ledger, &store);

        for (category, owner) in &raw.owners {
            if owner.trim().is_empty() {
                self.error(
                    &format!("owners.{category}"),
                    format!("category `{category}` has an empty owner"),
                );
            }
        }

        let mut agents = Vec::new();
        for (id, agent) in &raw.agents {
            let key = format!("agents.{id}");
            if !is_identifier(id) {
                self.error(
                    &key,
                    format!("agent id `{id}` must be letters, digits, `_` or `-`"),
                );
            }
            let digest = match (&agent.token_sha256, &agent.token_env) {
                (Some(hex_digest), None) => match hex::decode(hex_digest.trim()) {
                    Ok(bytes) => <[u8; 32]>::try_from(bytes.as_slice()).ok(),
                    Err(_) => None,
                }
                .or_else(|| {
                    self.error(&key, "`token_sha256` must be 64 hex digits (a SHA-256)");
                    None
                }),
                (None, Some(var)) => match env(var) {
                    Some(token) if !token.is_empty() => {
                        Some(Sha256::digest(token.as_bytes()).into())
                    }
                    _ => {
                        self.error(
                            &key,
                            format!("environment variable `{var}` holding the token is not set"),
                        );
                        None
                    }
                },
                _ => {
                    self.error(&key, "give exactly one of `token_sha256` or `token_env`");
                    None
                }
            };
            if let Some(token_sha256) = digest {
                agents.push(AgentSpec {
                    principal: Principal(id.clone()),
                    token_sha256,
                });
            }
        }
        let approvals = self.approvals(
            &raw.approvals,
            &raw.approvers,
            &raw.agents,
            &raw.owners,
            env,
        );
        let stdio_agent = raw.stdio.map(|s| {
            if !raw.agents.contains_key(&s.agent) && !is_identifier(&s.agent) {
                self.error(
                    "stdio.agent",
                    format!("`{}` is not a valid agent id", s.agent),
                );
            }
            Principal(s.agent)
        });

        let mut servers = BTreeMap::new();
        let mut tools = BTreeMap::new();
        for (name, server) in raw.servers {
            let key = format!("servers.{name}");
            if !is_identifier(&name) {
                self.error(
                    &key,
                    format!("server name `{name}` must be letters, digits, `_` or `-`"),
                );
            }
            let transport = match (server.command, server.url) {
                (Some(command), None) => {
                    let dir = self.base.display().to_string();
                    let dir = if dir.is_empty() { ".".to_string() } else { dir };
                    let expand = |v: &String| v.replace("{config_dir}", &dir);
                    Transport::Stdio {
                        command: expand(&command),
                        args: server.args.iter().map(expand).collect(),
                        env: server
                            .env
                            .iter()
                            .map(|(k, v)| (k.clone(), expand(v)))
                            .collect(),
                    }
                }
                (None, Some(url)) => {
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        self.error(&key, format!("`{url}` is not an http(s) URL"));
                    }
                    Transport::Http { url }
                }
                _ => {
                    self.error(
                        &key,
                        "give exactly one of `command` (stdio) or `url` (HTTP)",
                    );
                    continue;
                }
            };
            for (tool_name, tool) in server.tools {
                let tkey = format!("{key}.tools.{tool_name}");
                let qualified = ToolName::new(name.clone(), tool_name.clone());
                if !raw.owners.contains_key(&tool.category) {
                    self.error(
                        &tkey,
                        format!(
                            "category `{}` has no owner: add it to [owners]",
                            tool.category
                        ),
                    );
                }
                if let Some(owner) = &tool.owner
                    && owner.trim().is_empty()
                {
                    self.error(&tkey, format!("tool `{qualified}` has an empty owner"));
                }
                if !is_identifier(&tool.category) {
                    self.error(
                        &tkey,
                        format!(
                            "category `{}` must be letters, digits, `_` or `-`",
                            tool.category
                        ),
                    );
                }
                let mut args = BTreeMap::new();
                for (arg, ty_text) in &tool.args {
                    match ArgType::parse(ty_text) {
                        Ok((ty, required)) => {
                            args.insert(arg.clone(), ArgSpec { ty, required });
                        }
                        Err(message) => self.error(&tkey, format!("argument `{arg}`: {message}")),
                    }
                }
                if let Some(pin) = &tool.pin
                    && !is_pin(pin)
                {
                    self.error(
                        &tkey,
                        format!("pin `{pin}` must be `sha256:` and 64 hex digits"),
                    );
                }
                tools.insert(
                    qualified.clone(),
                    ToolSpec {
                        name: qualified,
                        labels: ToolLabels {
                            effect: tool.effect,
                            reversible: tool.reversible,
                            stakes: tool.stakes,
                            category: tool.category,
                        },
                        args,
                        pin: tool.pin,
                        description: tool.description,
                        results: tool.results,
                        owner: tool.owner,
                    },
                );
            }
            servers.insert(name.clone(), ServerSpec { name, transport });
        }

        let mut budgets = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (i, b) in raw.budgets.into_iter().enumerate() {
            let key = format!("budgets[{i}]");
            if !is_cedar_ident(&b.id) {
                self.error(
                    &key,
                    format!(
                        "budget id `{}` must be a Cedar identifier (letters, digits, `_`)",
                        b.id
                    ),
                );
            }
            if !seen.insert(b.id.clone()) {
                self.error(&key, format!("budget id `{}` is declared twice", b.id));
            }
            if b.window_secs == 0 {
                self.error(
                    &key,
                    format!("budget `{}` needs a window of at least one second", b.id),
                );
            }
            let mut budget_tools = Vec::new();
            for t in &b.tools {
                match ToolName::parse(t) {
                    Some(tn) if tools.contains_key(&tn) => budget_tools.push(tn),
                    _ => self.error(
                        &key,
                        format!(
                            "budget `{}` names `{t}`, which is not a configured tool",
                            b.id
                        ),
                    ),
                }
            }
            budgets.push(Budget {
                id: b.id,
                tools: budget_tools,
                limit: b.limit,
                window: Duration::from_secs(b.window_secs),
                per: b.per,
                justification: b.justification,
                default: false,
            });
        }

        self.default_write_budgets(&raw.floor, &tools, &mut budgets);

        let mut policy_files = Vec::new();
        if raw.policy.files.is_empty() {
            self.error(
                "policy.files",
                "no policy files: with no policy every call is denied; list at least one",
            );
        }
        for f in &raw.policy.files {
            let p = self.path(f);
            match std::fs::read_to_string(&p) {
                Ok(text) => policy_files.push((p, text)),
                Err(e) => self.error(
                    "policy.files",
                    format!("cannot read `{}`: {e}", p.display()),
                ),
            }
        }
        let mut read_optional = |key: &str, f: &Option<String>| -> Option<(PathBuf, String)> {
            let p = self.path(f.as_deref()?);
            match std::fs::read_to_string(&p) {
                Ok(text) => Some((p, text)),
                Err(e) => {
                    self.error(key, format!("cannot read `{}`: {e}", p.display()));
                    None
                }
            }
        };
        let user_schema = read_optional("policy.schema", &raw.policy.schema);
        let entities = read_optional("policy.entities", &raw.policy.entities);
        let mut shadow_files = Vec::new();
        for f in &raw.policy.shadow {
            let p = self.path(f);
            match std::fs::read_to_string(&p) {
                Ok(text) => shadow_files.push((p, text)),
                Err(e) => self.error(
                    "policy.shadow",
                    format!("cannot read `{}`: {e}", p.display()),
                ),
            }
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
                self.error(
                    "autonomy",
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
        let review = self.review(&raw.review, &raw.owners);
        let inventory = raw.inventory.as_ref().and_then(|i| self.inventory(i));
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
                owners: &raw.owners,
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

        let engine = Engine::build(EngineSources {
            policy_files,
            autonomy_files,
            user_schema,
            entities,
            tools: &tools,
            budgets: &budgets,
            agents: agent_principals,
            owners: &raw.owners,
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
                gateway,
                store,
                screen: raw.screen.clone(),
                ledger,
                owners: raw.owners,
                agents,
                stdio_agent,
                servers,
                tools,
                budgets,
                approvals,
                monitor: raw.monitor.clone(),
                grants,
                review,
                engine,
                shadow,
                inventory,
            }),
            _ => Err(ConfigErrors(self.errors)),
        }
    }
}

impl Resolver<'_> {
    /// `[inventory]`: exactly one source; paths against the config's folder, `{config_dir}`
    /// expanded as in `[servers]`; a maximum age longer than the refresh interval.
    fn inventory(&mut self, raw: &RawInventory) -> Option<InventorySettings> {
        let before = self.errors.len();
        let dir = self.base.display().to_string();
        let dir = if dir.is_empty() { ".".to_string() } else { dir };
        let expand = |v: &str| v.replace("{config_dir}", &dir);
        let source = match (&raw.file, &raw.command, &raw.url) {
            (Some(file), None, None) => Some(InventorySource::File(self.path(&expand(file)))),
            (None, Some(command), None) => match command.split_first() {
                Some((program, args)) if !program.trim().is_empty() => {
                    Some(InventorySource::Command {
                        program: expand(program),
                        args: args.iter().map(|a| expand(a)).collect(),
                    })
                }
                _ => {
                    self.error(
                        "inventory",
                        "`command` names no program: give `[\"program\", \"arg\", …]`",
                    );
                    None
                }
            },
            (None, None, Some(url)) => {
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    self.error("inventory", format!("`url`: `{url}` is not an http(s) URL"));
                }
                Some(InventorySource::Url(url.clone()))
            }
            _ => {
                self.error(
                    "inventory",
                    "give exactly one of `file`, `command` or `url` as the inventory's source",
                );
                None
            }
        };
        // Errors point at the `[inventory]` header: its keys (`command`, `url`) also appear
        // under `[servers]`, where a search for the key would land.
        let mut secs = |key: &str, value: Option<u64>, default: u64| {
            let v = value.unwrap_or(default);
            if v == 0 {
                self.error("inventory", format!("`{key}` must be at least one second"));
            }
            Duration::from_secs(v)
        };
        let refresh = secs(
            "refresh_secs",
            raw.refresh_secs,
            crate::inventory::DEFAULT_REFRESH_SECS,
        );
        let max_age = secs(
            "max_age_secs",
            raw.max_age_secs,
            crate::inventory::DEFAULT_MAX_AGE_SECS,
        );
        let timeout = secs(
            "timeout_secs",
            raw.timeout_secs,
            crate::inventory::DEFAULT_TIMEOUT_SECS,
        );
        if !max_age.is_zero() && !refresh.is_zero() && max_age <= refresh {
            self.error(
                "inventory",
                format!(
                    "`max_age_secs = {}` must be longer than `refresh_secs = {}`, or the inventory goes stale between two refreshes",
                    max_age.as_secs(),
                    refresh.as_secs()
                ),
            );
        }
        let source = source?;
        (self.errors.len() == before).then_some(InventorySettings {
            source,
            refresh,
            max_age,
            timeout,
        })
    }

    /// Every write tool that no configured budget counts gets the floor's default budget, so a
    /// mass action stops at it whatever the policy permits.
    fn default_write_budgets(
        &mut self,
        floor: &RawFloor,
        tools: &BTreeMap<ToolName, ToolSpec>,
        budgets: &mut Vec<Budget>,
    ) {
        let (limit, window_secs, per) = match &floor.write_budget {
            Some(b) => (b.limit, b.window_secs, b.per),
            None => (
                DEFAULT_WRITE_BUDGET.0,
                DEFAULT_WRITE_BUDGET.1,
                BudgetScope::Agent,
            ),
        };
        if window_secs == 0 {
            self.error(
                "floor.write_budget",
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
                self.error(
                    "budgets",
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

    /// `[[grants]]` (`autonomy = false`) or `[[autonomy]]` (`autonomy = true`): both need a
    /// known agent, configured tools, a justification, an approver and an expiry.
    fn grants(
        &mut self,
        raw: &[RawGrant],
        autonomy: bool,
        agents: &BTreeMap<String, RawAgent>,
        stdio_agent: &Option<Principal>,
        tools: &BTreeMap<ToolName, ToolSpec>,
        approvals: &ApprovalSettings,
    ) -> Vec<Grant> {
        let mut out = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let section = if autonomy { "autonomy" } else { "grants" };
        for (i, g) in raw.iter().enumerate() {
            let key = format!("{section}[{i}]");
            let before = self.errors.len();
            if !is_identifier(&g.id) {
                self.error(
                    &key,
                    format!("grant id `{}` must be letters, digits, `_` or `-`", g.id),
                );
            }
            if !seen.insert(g.id.clone()) {
                self.error(&key, format!("grant id `{}` is declared twice", g.id));
            }
            let known_agent = agents.contains_key(&g.agent)
                || stdio_agent.as_ref().is_some_and(|p| p.0 == g.agent);
            if !known_agent {
                self.error(
                    &key,
                    format!("grant `{}`: `{}` is not a configured agent", g.id, g.agent),
                );
            }
            if g.tools.is_empty() {
                self.error(&key, format!("grant `{}` names no tools", g.id));
            }
            let mut grant_tools = Vec::new();
            for t in &g.tools {
                match ToolName::parse(t) {
                    Some(tn) if tools.contains_key(&tn) => grant_tools.push(tn),
                    _ => self.error(
                        &key,
                        format!(
                            "grant `{}` names `{t}`, which is not a configured tool",
                            g.id
                        ),
                    ),
                }
            }
            let justification = required(&g.justification).map(str::to_string);
            if justification.is_none() {
                self.error(
                    &key,
                    format!("grant `{}` has no `justification`: say why it exists", g.id),
                );
            }
            let approver = required(&g.approver).map(str::to_string);
            match &approver {
                None => self.error(
                    &key,
                    format!("grant `{}` has no `approver`: name who agreed to it", g.id),
                ),
                Some(a) if !approvals.approvers.iter().any(|x| &x.id == a) => self.error(
                    &key,
                    format!("grant `{}`: approver `{a}` is not in [approvers]", g.id),
                ),
                Some(_) => {}
            }
            let expires_text = required(&g.expires).map(str::to_string);
            let expires = match &expires_text {
                None => {
                    self.error(
                        &key,
                        format!("grant `{}` has no `expires`: every grant ends", g.id),
                    );
                    None
                }
                Some(text) => parse_expiry(text).or_else(|| {
                    self.error(
                        &key,
                        format!(
                            "grant `{}`: `expires = \"{text}\"` is not an RFC 3339 time or a date (YYYY-MM-DD)",
                            g.id
                        ),
                    );
                    None
                }),
            };
            let kind = if autonomy {
                if g.approval.is_some() {
                    self.error(
                        &key,
                        format!(
                            "autonomy grant `{}`: `approval` has no meaning here (an autonomy grant lets calls run without one)",
                            g.id
                        ),
                    );
                }
                let owner = required(&g.owner).map(str::to_string);
                if owner.is_none() {
                    self.error(
                        &key,
                        format!(
                            "autonomy grant `{}` has no `owner`: name who answers for what it lets run unattended",
                            g.id
                        ),
                    );
                }
                for t in &grant_tools {
                    if let Some(spec) = tools.get(t)
                        && crate::engine::floor_label(&spec.labels).is_none()
                    {
                        self.error(
                            &key,
                            format!(
                                "autonomy grant `{}` names `{t}`, which the floor does not hold (a read, or a low-stakes reversible write): grant nothing that is not needed",
                                g.id
                            ),
                        );
                    }
                }
                GrantKind::Autonomy {
                    owner: owner.unwrap_or_default(),
                }
            } else {
                if g.owner.is_some() {
                    self.error(
                        &key,
                        format!(
                            "grant `{}`: `owner` belongs to autonomy grants; a grant's decisions are owned by its tools' categories",
                            g.id
                        ),
                    );
                }
                GrantKind::Permission {
                    approval: g.approval.clone(),
                }
            };
            if let Some(a) = &g.approval
                && a != "required"
                && a != "two-person"
            {
                self.error(
                    &key,
                    format!(
                        "grant `{}`: approval `{a}` must be `required` or `two-person`",
                        g.id
                    ),
                );
            }
            if let Some(w) = &g.when
                && let Err(e) = cedar_policy::Expression::from_str(w)
            {
                self.error(
                    &key,
                    format!("grant `{}`: `when` is not a Cedar expression: {e}", g.id),
                );
            }
            if let (Some(justification), Some(approver), Some(expires), Some(expires_text)) =
                (justification, approver, expires, expires_text)
                && self.errors.len() == before
            {
                out.push(Grant {
                    kind,
                    id: g.id.clone(),
                    agent: Principal(g.agent.clone()),
                    tools: grant_tools,
                    when: g.when.clone(),
                    justification,
                    approver,
                    expires,
                    expires_text,
                });
            }
        }
        out
    }

    fn review(&mut self, raw: &RawReview, owners: &BTreeMap<String, String>) -> ReviewSettings {
        let every =
            |this: &mut Self, key: &str, text: &Option<String>, default: Duration| match text {
                None => default,
                Some(t) => parse_duration(t)
                    .filter(|d| !d.is_zero())
                    .unwrap_or_else(|| {
                        this.error(
                            key,
                            format!("`{t}` is not a duration such as `7d`, `12h` or `30m`"),
                        );
                        default
                    }),
            };
        let tolerance = |this: &mut Self, key: &str, t: Option<f64>, default: f64| match t {
            None => default,
            Some(t) if t > 0.0 && t < 1.0 => t,
            Some(t) => {
                this.error(key, format!("tolerance {t} must be between 0 and 1"));
                default
            }
        };
        let default_every = every(
            self,
            "review.every",
            &raw.every,
            Duration::from_secs(7 * 86_400),
        );
        let default_tolerance = tolerance(self, "review.tolerance", raw.tolerance, 0.05);
        if let Some(r) = raw.rate
            && !(r > 0.0 && r <= 1.0)
        {
            self.error("review.rate", format!("rate {r} must be in (0, 1]"));
        }
        if raw.size == Some(0) {
            self.error("review.size", "size must be at least 1");
        }
        let mut categories = BTreeMap::new();
        for (c, r) in &raw.categories {
            let key = format!("review.categories.{c}");
            if !owners.contains_key(c) {
                self.error(&key, format!("category `{c}` is not in [owners]"));
            }
            let fallback_approval = match r.fallback.as_deref() {
                None | Some("none") => false,
                Some("approval") => true,
                Some(other) => {
                    self.error(
                        &key,
                        format!("fallback `{other}` must be `approval` or `none`"),
                    );
                    false
                }
            };
            categories.insert(
                c.clone(),
                CategoryReview {
                    every: every(self, &key, &r.every, default_every),
                    tolerance: tolerance(self, &key, r.tolerance, default_tolerance),
                    fallback_approval,
                },
            );
        }
        ReviewSettings {
            size: raw.size.unwrap_or(5).max(1),
            rate: raw.rate,
            default: CategoryReview {
                every: default_every,
                tolerance: default_tolerance,
                fallback_approval: false,
            },
            categories,
        }
    }

    fn approvals(
        &mut self,
        a: &RawApprovals,
        raw_approvers: &BTreeMap<String, RawApprover>,
        agents: &BTreeMap<String, RawAgent>,
        owners: &BTreeMap<String, String>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> ApprovalSettings {
        let mut approvers = Vec::new();
        for (id, ap) in raw_approvers {
            let key = format!("approvers.{id}");
            if !is_identifier(id) {
                self.error(
                    &key,
                    format!("approver id `{id}` must be letters, digits, `_` or `-`"),
                );
            }
            if agents.contains_key(id) {
                self.error(
                    &key,
                    format!("`{id}` is also an agent: an agent can never approve"),
                );
            }
            if ap.password_argon2.is_none() && ap.token_sha256.is_none() {
                self.error(
                    &key,
                    "give `password_argon2` or `token_sha256` so the approver can sign in",
                );
            }
            if let Some(h) = &ap.password_argon2
                && !h.starts_with("$argon2")
            {
                self.error(
                    &key,
                    "`password_argon2` must be an Argon2 PHC string (`$argon2id$...`)",
                );
            }
            if let Some(t) = &ap.token_sha256
                && !(t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()))
            {
                self.error(&key, "`token_sha256` must be 64 hex digits (a SHA-256)");
            }
            for c in &ap.categories {
                if c != "*" && !owners.contains_key(c) {
                    self.error(&key, format!("category `{c}` is not in [owners]"));
                }
            }
            approvers.push(ApproverSpec {
                id: id.clone(),
                name: ap.name.clone(),
                categories: ap.categories.clone(),
                password_argon2: ap.password_argon2.clone(),
                token_sha256: ap.token_sha256.clone(),
            });
        }
        for (c, m) in &a.expiry_minutes {
            if *m == 0 {
                self.error(
                    "approvals.expiry_minutes",
                    format!("category `{c}`: expiry must be at least a minute"),
                );
            }
        }
        let webhook_secret = match (&a.webhook_url, &a.webhook_secret_env) {
            (Some(_), Some(var)) => match env(var) {
                Some(s) if !s.is_empty() => Some(s),
                _ => {
                    self.error(
                        "approvals.webhook_secret_env",
                        format!("environment variable `{var}` is not set"),
                    );
                    None
                }
            },
            (Some(_), None) => {
                self.error(
                    "approvals.webhook_url",
                    "a webhook needs `webhook_secret_env` to sign its deliveries",
                );
                None
            }
            _ => None,
        };
        ApprovalSettings {
            wait: Duration::from_secs(a.wait_secs.unwrap_or(0)),
            expiry: a
                .expiry_minutes
                .iter()
                .map(|(c, m)| (c.clone(), Duration::from_secs(m * 60)))
                .collect(),
            default_expiry: Duration::from_secs(15 * 60),
            webhook_url: a.webhook_url.clone(),
            webhook_secret,
            console_url: a
                .console_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1:8700/console".into()),
            approvers,
            escalation: a.escalation.clone(),
        }
    }
}

/// A present, non-blank text field.
fn required(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
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
