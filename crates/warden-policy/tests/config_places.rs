//! A configuration error names the line where the wrong value is written: the place comes from
//! the parser's spans, not from searching the text for the key's name, which lands on the first
//! line where that name appears (`url` is a key of `[store]`, of every server and of
//! `[inventory]`) or finds nothing at all (`budgets[1]`, `grants[0]`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use warden_policy::{Config, ConfigError};

const POLICY: &str = r#"@id("r") permit (principal, action, resource);"#;

/// Loads `toml` from a folder that holds `p.cedar`; the errors it reports.
fn errors(toml: &str) -> Vec<ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.cedar"), POLICY).unwrap();
    let path = dir.path().join("warden.toml");
    std::fs::write(&path, toml).unwrap();
    match Config::from_toml(toml, &path, &|_| None) {
        Ok(_) => panic!("expected errors in:\n{toml}"),
        Err(e) => e.0,
    }
}

/// `warden.toml:<line>:<column> (<key>)` of byte `offset` in `toml`.
fn place_of(toml: &str, offset: usize, key: &str) -> String {
    let before = &toml[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    format!("warden.toml:{line}:{column} ({key})")
}

/// Where the `nth` (0-based) `needle` starts in `toml`.
fn place(toml: &str, needle: &str, nth: usize, key: &str) -> String {
    let (offset, _) = toml
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not in the text"));
    place_of(toml, offset, key)
}

/// Where the value written right after the `nth` `key_text` (`window_secs = `) starts.
fn after(toml: &str, key_text: &str, nth: usize, key: &str) -> String {
    let (offset, _) = toml
        .match_indices(key_text)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{key_text}` #{nth} not in the text"));
    place_of(toml, offset + key_text.len(), key)
}

/// The one error whose message contains `message`, by its location's tail (the folder is a
/// temporary one).
fn located(errors: &[ConfigError], message: &str) -> String {
    let found: Vec<_> = errors
        .iter()
        .filter(|e| e.message.contains(message))
        .collect();
    assert_eq!(found.len(), 1, "one error with `{message}`: {errors:#?}");
    let location = &found[0].location;
    location
        .rsplit_once(std::path::MAIN_SEPARATOR)
        .map_or(location.clone(), |(_, tail)| tail.to_string())
}

const BASE: &str = r#"
[policy]
files = ["p.cedar"]
[owners]
default = "sec"
triage = "soc"
"#;

#[test]
fn a_key_that_other_tables_share_is_placed_in_its_own_table() {
    // A server's `url` comes first in the file; the store's wrong `url` is further down.
    let toml = format!(
        r#"{BASE}
[servers.siem]
url = "https://siem.internal/mcp"
[store]
url = "mysql://db/warden"
"#
    );
    let errors = errors(&toml);
    assert_eq!(
        located(&errors, "must be a `postgres://"),
        place(&toml, "\"mysql://", 0, "store.url")
    );
}

#[test]
fn a_table_in_an_array_is_placed_at_its_own_value() {
    // Two budgets: text search had no line for `budgets[1]` at all.
    let toml = format!(
        r#"{BASE}
[servers.tickets]
command = "true"
[servers.tickets.tools.comment]
effect = "write"
reversible = true
stakes = "low"
category = "triage"

[[budgets]]
id = "comments"
tools = ["tickets.comment"]
limit = 5
window_secs = 60

[[budgets]]
id = "comments_too"
tools = ["tickets.nope"]
limit = 5
window_secs = 0
"#
    );
    let errors = errors(&toml);
    assert_eq!(
        located(&errors, "needs a window of at least one second"),
        after(&toml, "window_secs = ", 1, "budgets[1]")
    );
    assert_eq!(
        located(&errors, "names `tickets.nope`"),
        place(&toml, "\"tickets.nope\"", 0, "budgets[1]")
    );
}

#[test]
fn a_grant_error_is_placed_at_the_grant_it_belongs_to() {
    let toml = format!(
        r#"{BASE}
[agents.responder]
token_sha256 = "{hash}"
[approvers.alice]
name = "Alice"
categories = ["*"]
token_sha256 = "{hash}"
[servers.siem]
command = "true"
[servers.siem.tools.search]
effect = "read"
reversible = true
stakes = "low"
category = "triage"

[[grants]]
id = "first"
agent = "responder"
tools = ["siem.search"]
justification = "triage"
approver = "alice"
expires = "2030-01-01"

[[grants]]
id = "second"
agent = "responder"
tools = ["siem.search"]
approver = "alice"
expires = "someday"
"#,
        hash = "ab".repeat(32)
    );
    let errors = errors(&toml);
    // A value that is wrong: its own line.
    assert_eq!(
        located(&errors, "is not an RFC 3339 time"),
        place(&toml, "\"someday\"", 0, "grants[1]")
    );
    // A key that is missing: the grant's `[[grants]]` header, the second one.
    assert_eq!(
        located(&errors, "has no `justification`"),
        place(&toml, "[[grants]]", 1, "grants[1]")
    );
}

#[test]
fn inventory_settings_are_placed_at_their_own_lines() {
    // The inventory's `url` and a server's `url` share the key's name.
    let toml = format!(
        r#"{BASE}
[servers.siem]
url = "https://siem.internal/mcp"

[inventory]
url = "ftp://inventory.internal/entities.json"
refresh_secs = 0
"#
    );
    let errors = errors(&toml);
    assert_eq!(
        located(&errors, "is not an http(s) URL"),
        place(&toml, "\"ftp://", 0, "inventory.url")
    );
    assert_eq!(
        located(&errors, "`refresh_secs` must be at least one second"),
        after(&toml, "refresh_secs = ", 0, "inventory.refresh_secs")
    );
}

#[test]
fn a_table_error_is_placed_at_its_header() {
    let toml = format!(
        r#"{BASE}
[agents.responder]
token_sha256 = "{hash}"

[agents."night shift"]
token_env = "NIGHT_TOKEN"
"#,
        hash = "ab".repeat(32)
    );
    let errors = errors(&toml);
    assert_eq!(
        located(&errors, "agent id `night shift` must be"),
        place(&toml, "[agents.\"night shift\"]", 0, "agents.night shift")
    );
    assert_eq!(
        located(&errors, "`NIGHT_TOKEN` holding the token is not set"),
        place(&toml, "\"NIGHT_TOKEN\"", 0, "agents.night shift")
    );
}

#[test]
fn a_zero_connection_limit_is_refused_at_its_line() {
    let toml = format!(
        r#"[gateway]
header_timeout_secs = 0
body_timeout_secs = 0
idle_timeout_secs = 0
max_connections = 0
max_sessions_per_agent = 0
agent_requests_per_sec = 0
agent_burst = 0
max_tool_name_chars = 0
{BASE}"#
    );
    let errors = errors(&toml);
    for (message, key) in [
        (
            "the header timeout must be at least one second, not 0",
            "header_timeout_secs",
        ),
        (
            "the body timeout must be at least one second, not 0",
            "body_timeout_secs",
        ),
        (
            "the idle timeout must be at least one second, not 0",
            "idle_timeout_secs",
        ),
        (
            "warden must take at least one connection, not 0",
            "max_connections",
        ),
        (
            "an agent must be allowed at least one session, not 0",
            "max_sessions_per_agent",
        ),
        (
            "an agent must be served at least one request a second, not 0",
            "agent_requests_per_sec",
        ),
        (
            "an agent's burst must be at least one request, not 0",
            "agent_burst",
        ),
        (
            "`0` must be between 1 and 64 (the longest name model APIs accept)",
            "max_tool_name_chars",
        ),
    ] {
        assert_eq!(
            located(&errors, message),
            after(&toml, &format!("{key} = "), 0, &format!("gateway.{key}"))
        );
    }
}

#[test]
fn an_undo_on_an_irreversible_tool_is_placed_at_the_undo() {
    // Telling approvers how to undo what cannot be undone would mislead them.
    let toml = format!(
        r#"{BASE}
[servers.idp]
command = "true"
[servers.idp.tools.reset_sessions]
effect = "write"
reversible = false
undo = "idp.restore_sessions"
stakes = "high"
category = "triage"
[servers.idp.tools.disable_account]
effect = "write"
reversible = true
undo = "  "
stakes = "high"
category = "triage"
"#
    );
    let errors = errors(&toml);
    assert_eq!(
        located(&errors, "says how to undo it but is not `reversible`"),
        place(
            &toml,
            "\"idp.restore_sessions\"",
            0,
            "servers.idp.tools.reset_sessions"
        )
    );
    assert_eq!(
        located(&errors, "has an empty undo"),
        place(&toml, "\"  \"", 0, "servers.idp.tools.disable_account")
    );
}

#[test]
fn a_pinned_ledger_key_is_checked_where_it_is_written() {
    // A verifier key's base64 may hold `+`; the name must be the ledger's origin.
    let good = "warden.local/ledger+561109db+AW3y+6jqSlMD1qi33/IIiBJCXQjIYgGzKtRwBQkE7x4R";
    let other = "someone.else/log+561109db+AW3y+6jqSlMD1qi33/IIiBJCXQjIYgGzKtRwBQkE7x4R";
    let toml = format!(
        r#"{BASE}
[servers.siem]
url = "mysql://not-a-server"
[ledger]
verifier_key = "{good}"
"#
    );
    let found = errors(&toml);
    assert!(
        found.iter().all(|e| !e.location.contains("ledger")),
        "{found:#?}"
    );
    for (pin, message) in [
        (other, "not the ledger's origin `warden.local/ledger`"),
        ("warden.local/ledger+nothex!+AAAA", "a verifier key is"),
        ("warden.local/ledger", "a verifier key is"),
    ] {
        let toml = format!("{BASE}\n[ledger]\nverifier_key = \"{pin}\"\n");
        let errors = errors(&toml);
        assert_eq!(
            located(&errors, message),
            after(&toml, "verifier_key = ", 0, "ledger.verifier_key")
        );
    }
}
