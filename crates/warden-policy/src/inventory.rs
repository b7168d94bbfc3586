//! The live inventory (`[inventory]`): where the team's entities come from while warden runs,
//! and when they are too old to decide with.
//!
//! `[policy] entities` is read once, at load; an inventory that changes (an incident closed, a
//! host retired) must reach the policy without a restart, or a closed incident keeps scoping
//! isolations. The gateway polls one source — a file, a command or a URL — every
//! `refresh_secs` and swaps in entities that changed. This module is the pure half: the
//! resolved settings, and the staleness rule. When the last successful refresh is older than
//! `max_age_secs`, every call of a tool that names an entity is denied by the built-in rule
//! `inventory-stale`: facts nobody has confirmed for that long must not scope an action (fail
//! closed). Time comes from the caller.

use crate::config::{Config, ToolSpec};
use crate::engine::{ArgType, Decision};
use std::path::PathBuf;
use std::time::Duration;

/// `[inventory]` as written: it lives with the rest of the raw configuration, whose resolution
/// checks it.
pub use crate::config::RawInventory;

/// The rule id of a decision denied because the inventory is too old.
pub const STALE_RULE: &str = "inventory-stale";

/// The most bytes one refresh reads; a larger inventory is a failed refresh.
pub const MAX_INVENTORY_BYTES: usize = 32 << 20;

/// Where the live entities come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InventorySource {
    File(PathBuf),
    Command { program: String, args: Vec<String> },
    Url(String),
}

impl InventorySource {
    /// How the ledger and the logs name the source (`file:…`, `command:…`, `url:…`).
    pub fn describe(&self) -> String {
        match self {
            InventorySource::File(p) => format!("file:{}", p.display()),
            InventorySource::Command { program, args } => {
                let mut text = format!("command:{program}");
                for a in args {
                    text.push(' ');
                    text.push_str(a);
                }
                text
            }
            InventorySource::Url(u) => format!("url:{u}"),
        }
    }
}

/// `[inventory]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventorySettings {
    pub source: InventorySource,
    pub refresh: Duration,
    /// Older than this, the entities in force are stale: calls that name an entity are denied.
    pub max_age: Duration,
    /// For a command or a URL: slower than this is a failed refresh.
    pub timeout: Duration,
}

pub const DEFAULT_REFRESH_SECS: u64 = 5;
pub const DEFAULT_MAX_AGE_SECS: u64 = 300;
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

/// Whether a tool's calls name an entity of the inventory (an entity-typed argument), so that
/// what policy decides on them depends on the inventory being current.
pub fn reads_inventory(tool: &ToolSpec) -> bool {
    tool.args
        .values()
        .any(|a| matches!(a.ty, ArgType::Entity(_)))
}

/// How old the entities in force are at `now_ms`, when that is older than `max_age`.
/// `confirmed_ms` is when a refresh last succeeded (warden's start until the first one does:
/// the baseline `[policy] entities` counts as fresh for `max_age` from then).
pub fn stale_for(settings: &InventorySettings, confirmed_ms: i64, now_ms: i64) -> Option<Duration> {
    let age = Duration::from_millis(u64::try_from(now_ms.saturating_sub(confirmed_ms)).ok()?);
    (age > settings.max_age).then_some(age)
}

/// The built-in denial of a call of `tool` under `config` when the live inventory is stale at
/// `now_ms`; `None` when it is fresh, when the tool names no entity, or when `config` has no
/// `[inventory]`. Owned by the tool's owner, else its category's, else `default`.
pub fn stale_decision(
    config: &Config,
    tool: &ToolSpec,
    confirmed_ms: i64,
    now_ms: i64,
) -> Option<Decision> {
    let settings = config.inventory.as_ref()?;
    if !reads_inventory(tool) {
        return None;
    }
    let age = stale_for(settings, confirmed_ms, now_ms)?;
    let category = &tool.labels.category;
    let owner = tool
        .owner
        .clone()
        .or_else(|| config.owners.get(category).cloned())
        .or_else(|| config.owners.get("default").cloned())
        .unwrap_or_default();
    Some(Decision::builtin_deny(
        STALE_RULE,
        owner,
        category.clone(),
        format!(
            "the inventory was last refreshed {}s ago, more than `max_age_secs = {}`: calls that name an entity are denied until a refresh succeeds",
            age.as_secs(),
            settings.max_age.as_secs()
        ),
        config.engine.version(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use warden_core::{Outcome, ToolName};

    const SCHEMA: &str = "entity Incident = { status: String };\nentity Host in [Incident];\n";
    const ENTITIES: &str = r#"[
        {"uid": {"type": "Incident", "id": "INC-1"}, "attrs": {"status": "open"}, "parents": []},
        {"uid": {"type": "Host", "id": "ws-1"}, "attrs": {}, "parents": [{"type": "Incident", "id": "INC-1"}]}
    ]"#;
    const POLICY: &str = r#"
@id("isolate-in-open-incident")
permit (principal, action == Action::"edr.isolate_host", resource)
when { context.args.host in context.args.incident && context.args.incident.status == "open" };
@id("list")
permit (principal, action == Action::"edr.list_hosts", resource);
"#;

    fn config_text(inventory: &str) -> String {
        format!(
            r#"
[policy]
files = ["soc.cedar"]
schema = "entities.cedarschema"
entities = "entities.json"

[owners]
default = "sec@example"
containment = "ir@example"

[agents.responder]
token_sha256 = "172020d4d87bbddb2d3b7339f4963ec18db4b98e6d8580b1d88110de95b58499"

[servers.edr]
command = "edr"

[servers.edr.tools.isolate_host]
effect = "write"
reversible = true
stakes = "low"
category = "containment"
args = {{ host = "Host", incident = "Incident" }}

[servers.edr.tools.list_hosts]
effect = "read"
reversible = true
stakes = "low"
category = "containment"

{inventory}
"#
        )
    }

    /// Loads the config with `inventory` as its `[inventory]` section, in a temporary folder.
    fn load(inventory: &str) -> (tempfile::TempDir, Result<Config, crate::ConfigErrors>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("soc.cedar"), POLICY).unwrap();
        std::fs::write(dir.path().join("entities.cedarschema"), SCHEMA).unwrap();
        std::fs::write(dir.path().join("entities.json"), ENTITIES).unwrap();
        let path = dir.path().join("warden.toml");
        let loaded = Config::from_toml(&config_text(inventory), &path, &|_| None);
        (dir, loaded)
    }

    fn errors(inventory: &str) -> Vec<String> {
        match load(inventory).1 {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_file_source_resolves_against_the_config_folder_with_defaults() {
        let (dir, config) = load("[inventory]\nfile = \"state/inventory.json\"\n");
        let settings = config.unwrap().inventory.unwrap();
        assert_eq!(
            settings.source,
            InventorySource::File(dir.path().join("state/inventory.json"))
        );
        assert_eq!(settings.refresh, Duration::from_secs(DEFAULT_REFRESH_SECS));
        assert_eq!(settings.max_age, Duration::from_secs(DEFAULT_MAX_AGE_SECS));
        assert_eq!(settings.timeout, Duration::from_secs(DEFAULT_TIMEOUT_SECS));
    }

    #[test]
    fn a_command_expands_config_dir_and_a_url_is_kept() {
        let (dir, config) = load(
            "[inventory]\ncommand = [\"{config_dir}/export\", \"--dir\", \"{config_dir}\"]\nrefresh_secs = 2\nmax_age_secs = 9\n",
        );
        let settings = config.unwrap().inventory.unwrap();
        let d = dir.path().display().to_string();
        assert_eq!(
            settings.source,
            InventorySource::Command {
                program: format!("{d}/export"),
                args: vec!["--dir".into(), d.clone()],
            }
        );
        assert_eq!(settings.refresh, Duration::from_secs(2));
        assert_eq!(settings.max_age, Duration::from_secs(9));
        let (_dir, config) = load("[inventory]\nurl = \"https://cmdb.example/entities\"\n");
        assert_eq!(
            config.unwrap().inventory.unwrap().source,
            InventorySource::Url("https://cmdb.example/entities".into())
        );
    }

    #[test]
    fn no_inventory_section_means_no_live_inventory() {
        let (_dir, config) = load("");
        assert!(config.unwrap().inventory.is_none());
    }

    #[test]
    fn exactly_one_source_is_required() {
        let none = errors("[inventory]\nrefresh_secs = 5\n");
        assert!(
            none.iter().any(|e| e.contains("exactly one of `file`")),
            "{none:?}"
        );
        let two = errors("[inventory]\nfile = \"a.json\"\nurl = \"https://x.example/\"\n");
        assert!(
            two.iter().any(|e| e.contains("exactly one of `file`")),
            "{two:?}"
        );
    }

    #[test]
    fn bad_values_are_all_reported() {
        let e = errors(
            "[inventory]\ncommand = []\nrefresh_secs = 0\nmax_age_secs = 0\ntimeout_secs = 0\n",
        );
        assert!(
            e.iter().any(|e| e.contains("`command` names no program")),
            "{e:?}"
        );
        assert!(e.iter().any(|e| e.contains("refresh_secs")), "{e:?}");
        assert!(e.iter().any(|e| e.contains("max_age_secs")), "{e:?}");
        assert!(e.iter().any(|e| e.contains("timeout_secs")), "{e:?}");
        assert!(e.iter().all(|e| e.contains("warden.toml")), "{e:?}");
        let e = errors("[inventory]\nfile = \"a.json\"\nrefresh_secs = 10\nmax_age_secs = 10\n");
        assert!(
            e.iter()
                .any(|e| e.contains("must be longer than `refresh_secs = 10`")),
            "{e:?}"
        );
        let e = errors("[inventory]\nurl = \"ftp://x.example/\"\n");
        assert!(
            e.iter().any(|e| e.contains("is not an http(s) URL")),
            "{e:?}"
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = errors("[inventory]\nfile = \"a.json\"\nrefresh = 5\n");
        assert!(
            e.iter().any(|e| e.contains("unknown field `refresh`")),
            "{e:?}"
        );
    }

    #[test]
    fn staleness_starts_after_max_age() {
        let settings = InventorySettings {
            source: InventorySource::Url("https://x.example/".into()),
            refresh: Duration::from_secs(5),
            max_age: Duration::from_secs(300),
            timeout: Duration::from_secs(10),
        };
        let confirmed = 1_000_000;
        assert_eq!(stale_for(&settings, confirmed, confirmed), None);
        assert_eq!(stale_for(&settings, confirmed, confirmed + 300_000), None);
        assert_eq!(
            stale_for(&settings, confirmed, confirmed + 300_001),
            Some(Duration::from_millis(300_001))
        );
        // A clock that went backwards is not an old inventory.
        assert_eq!(stale_for(&settings, confirmed, confirmed - 5_000), None);
    }

    #[test]
    fn a_stale_inventory_denies_only_tools_that_name_an_entity() {
        let (_dir, config) =
            load("[inventory]\nfile = \"inventory.json\"\nrefresh_secs = 1\nmax_age_secs = 60\n");
        let config = config.unwrap();
        let isolate = config
            .tool(&ToolName::parse("edr.isolate_host").unwrap())
            .unwrap();
        let list = config
            .tool(&ToolName::parse("edr.list_hosts").unwrap())
            .unwrap();
        let t0 = 1_700_000_000_000;
        assert!(stale_decision(&config, isolate, t0, t0 + 60_000).is_none());
        let d = stale_decision(&config, isolate, t0, t0 + 61_000).expect("stale");
        assert_eq!(d.outcome(), Outcome::Deny);
        assert_eq!(d.rule(), STALE_RULE);
        assert_eq!(d.owner(), "ir@example");
        assert_eq!(d.category(), "containment");
        assert_eq!(d.policy_version(), config.engine.version());
        assert!(d.reason().contains("61s ago"), "{}", d.reason());
        assert!(stale_decision(&config, list, t0, t0 + 61_000).is_none());

        let (_dir, without) = load("");
        assert!(stale_decision(&without.unwrap(), isolate, t0, t0 + 10_000_000).is_none());
    }

    #[test]
    fn new_entities_decide_without_a_rebuild_and_keep_the_build_version() {
        let (dir, config) = load("");
        let config = config.unwrap();
        let isolate = ToolName::parse("edr.isolate_host").unwrap();
        let args = serde_json::json!({"host": "ws-1", "incident": "INC-1"});
        let args = args.as_object().unwrap();
        let state = crate::CallState::default();
        let who = warden_core::Principal("responder".into());
        let open = config.engine.decide(&who, &isolate, args, "s", &state);
        assert_eq!(open.outcome(), Outcome::Allow);
        assert_eq!(config.engine.inventory_size(), 2);

        let closed = ENTITIES.replace("\"open\"", "\"closed\"");
        let live = config.with_entities("inventory", &closed).unwrap();
        let d = live.engine.decide(&who, &isolate, args, "s", &state);
        assert_eq!(d.outcome(), Outcome::Deny);
        assert_eq!(d.rule(), "default-deny");
        assert_ne!(live.engine.version(), config.engine.version());
        assert_ne!(
            live.engine.inventory_digest(),
            config.engine.inventory_digest()
        );

        // The same version a fresh load with these entities as its baseline gives.
        std::fs::write(dir.path().join("entities.json"), &closed).unwrap();
        let reloaded =
            Config::from_toml(&config_text(""), &dir.path().join("warden.toml"), &|_| None)
                .unwrap();
        assert_eq!(reloaded.engine.version(), live.engine.version());

        // Entities that do not fit the schema are refused, with where they came from.
        let bad = r#"[{"uid": {"type": "Incident", "id": "INC-9"}, "attrs": {"status": 3}, "parents": []}]"#;
        let errors = config
            .with_entities("url:https://x.example/", bad)
            .unwrap_err();
        assert!(
            errors[0].location.contains("url:https://x.example/"),
            "{errors:?}"
        );
        let errors = config.with_entities("file:i.json", "{").unwrap_err();
        assert!(errors[0].location.starts_with("file:i.json:"), "{errors:?}");
        assert!(config.with_entities("file:i.json", "{}").is_err());
        assert!(Path::new(&config.source).ends_with("warden.toml"));
    }
}
