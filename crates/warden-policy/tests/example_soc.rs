//! The bundled SOC example must load cleanly and its table tests must pass: they are the
//! documentation of what each guardrail does.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use warden_policy::{Config, PostgresTls, StoreLocation, WitnessConfig, table};

fn example() -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/soc/warden.toml");
    Config::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_example_policy_table_passes() {
    let config = example();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/soc/policies/soc.tests.toml"),
    )
    .unwrap();
    let results = table::run(&config, &text).unwrap();
    assert!(results.len() >= 10);
    let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn a_table_case_with_the_wrong_expectation_fails() {
    let config = example();
    let results = table::run(
        &config,
        r#"[[case]]
name = "wrong on purpose"
agent = "responder"
tool = "edr.isolate_host"
args = { host = "dc01", incident = "INC-1042" }
expect = "allow""#,
    )
    .unwrap();
    assert!(!results[0].passed);
    assert_eq!(results[0].rule, "never-isolate-tier0");
}

fn load_with(policy: &str, extra: &str) -> Result<Config, warden_policy::ConfigErrors> {
    load_with_env(policy, extra, &|name| std::env::var(name).ok())
}

fn load_with_env(
    policy: &str,
    extra: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, warden_policy::ConfigErrors> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.cedar"), policy).unwrap();
    let toml = format!(
        r#"
[policy]
files = ["p.cedar"]
[owners]
default = "sec"
triage = "soc"
[servers.siem]
command = "true"
[servers.siem.tools.search]
effect = "read"
reversible = true
stakes = "low"
category = "triage"
args = {{ query = "string" }}
{extra}
"#
    );
    let path = dir.path().join("warden.toml");
    std::fs::write(&path, &toml).unwrap();
    Config::from_toml(&toml, &path, env)
}

#[test]
fn every_configuration_error_is_reported_at_once_with_its_place() {
    let err = load_with(
        r#"permit (principal, action, resource) when { context.args.nope == 1 };"#,
        r#"
[servers.edr]
url = "ftp://x"
[servers.edr.tools.isolate]
effect = "write"
reversible = true
stakes = "high"
category = "containment"
args = { host = "strnig" }
"#,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("is not an http(s) URL"), "{text}");
    assert!(
        text.contains("category `containment` has no owner"),
        "{text}"
    );
    assert!(text.contains("unknown type `strnig`"), "{text}");
    assert!(err.0.len() >= 3, "{text}");
    assert!(
        text.contains("warden.toml:"),
        "locations carry the file: {text}"
    );
}

#[test]
fn a_policy_without_an_id_or_with_a_type_error_is_rejected() {
    let err = load_with(r#"permit (principal, action, resource);"#, "").unwrap_err();
    assert!(err.to_string().contains("no `@id"), "{err}");
    let err = load_with(
        r#"@id("bad") permit (principal, action, resource) when { context.args.query == 1 };"#,
        "",
    )
    .unwrap_err();
    assert!(err.to_string().contains("policy `bad`"), "{err}");
    assert!(err.to_string().contains("p.cedar:1"), "{err}");
}

#[test]
fn an_unknown_key_is_an_error_not_ignored() {
    let err = load_with(
        r#"@id("r") permit (principal, action, resource);"#,
        "[gateway]\nlisten_adress = \"x\"\n",
    )
    .unwrap_err();
    assert!(err.to_string().contains("listen_adress"), "{err}");
}

#[test]
fn the_store_is_one_sqlite_file_or_a_postgres_database() {
    let permit = r#"@id("r") permit (principal, action, resource);"#;
    let config = load_with(permit, "").unwrap();
    let StoreLocation::Sqlite { path } = &config.store else {
        panic!("{:?}", config.store)
    };
    assert!(path.ends_with("warden.db"));
    assert_eq!(config.ledger.key_path, path.with_file_name("ledger.key"));

    let env = |name: &str| (name == "PG_PW").then(|| "s3cret".to_string());
    let config = load_with_env(
        permit,
        "[store]\nurl = \"postgres://warden@db.internal:5432/warden\"\npassword_env = \"PG_PW\"\npool_size = 4\n",
        &env,
    )
    .unwrap();
    let StoreLocation::Postgres(pg) = &config.store else {
        panic!("{:?}", config.store)
    };
    assert_eq!(pg.url, "postgres://warden@db.internal:5432/warden");
    assert_eq!(pg.password.as_deref(), Some("s3cret"));
    assert_eq!(pg.pool_size, 4);
    assert!(!format!("{config:?}").contains("s3cret"), "never shown");
    assert!(config.ledger.key_path.ends_with("ledger.key"));

    // Every mistake at once, each with its line.
    let err = load_with_env(
        permit,
        "[store]\npath = \"w.db\"\nurl = \"postgres://warden:hunter2@db/warden\"\npassword_env = \"NOPE\"\npool_size = 0\n",
        &env,
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("not both"), "{text}");
    assert!(text.contains("the URL holds a password"), "{text}");
    assert!(
        text.contains("`NOPE` holding the password is not set"),
        "{text}"
    );
    assert!(text.contains("at least one connection"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "the password is not repeated: {text}"
    );
    assert!(text.contains("warden.toml:"), "{text}");
    let err = load_with(permit, "[store]\nurl = \"mysql://x/y\"\n").unwrap_err();
    assert!(err.to_string().contains("must be a `postgres://"), "{err}");
    let err = load_with(permit, "[store]\npool_size = 3\n").unwrap_err();
    assert!(err.to_string().contains("they need `url`"), "{err}");
}

#[test]
fn store_tls_is_read_from_the_url_as_libpq_writes_it_and_never_downgradeable() {
    let permit = r#"@id("r") permit (principal, action, resource);"#;
    let pg = |url: &str| {
        let config = load_with(permit, &format!("[store]\nurl = \"{url}\"\n")).unwrap();
        let StoreLocation::Postgres(pg) = config.store else {
            panic!("{:?}", config.store)
        };
        pg
    };
    let full = pg(
        "postgres://warden@db.internal/warden?application_name=x&sslmode=verify-full&sslrootcert=certs/ca.pem&sslcert=c.pem&sslkey=%2Fkeys%2Fc.key",
    );
    assert_eq!(
        full.url, "postgres://warden@db.internal/warden?application_name=x",
        "the TLS parameters leave the URL; the others stay"
    );
    let PostgresTls::Verified {
        verify_name: true,
        roots: Some(roots),
        client_identity: Some(client),
    } = &full.tls
    else {
        panic!("{:?}", full.tls)
    };
    assert!(
        roots.is_absolute() && roots.ends_with("certs/ca.pem"),
        "{roots:?}"
    );
    assert!(client.cert_file.is_absolute(), "{client:?}");
    assert_eq!(client.key_file, std::path::Path::new("/keys/c.key"));

    // `require` and `verify-ca` check the chain against the CA named, not the name.
    for mode in ["require", "verify-ca"] {
        let p = pg(&format!(
            "postgres://warden@db/warden?sslmode={mode}&options=-c%20statement_timeout%3D5000&sslrootcert=/etc/ca.pem"
        ));
        assert_eq!(
            p.tls,
            PostgresTls::Verified {
                verify_name: false,
                roots: Some("/etc/ca.pem".into()),
                client_identity: None
            }
        );
        assert_eq!(
            p.url, "postgres://warden@db/warden?options=-c%20statement_timeout%3D5000",
            "the other parameters exactly as written"
        );
    }
    let system = pg("postgres://warden@db/warden?sslmode=verify-full&sslrootcert=system");
    assert!(matches!(
        system.tls,
        PostgresTls::Verified { roots: None, .. }
    ));
    assert_eq!(pg("postgres://warden@db/warden").tls, PostgresTls::Off);
    assert_eq!(
        pg("postgres://warden@db/warden?sslmode=disable").tls,
        PostgresTls::Off
    );

    // What an attacker on the path could exploit, or a typo would hide, is refused by name.
    for (url, says) in [
        (
            "postgres://w@db/w?sslmode=require",
            "needs `sslrootcert=PATH`",
        ),
        (
            "postgres://w@db/w?sslmode=verify-ca&sslrootcert=system",
            "needs `sslrootcert=PATH`",
        ),
        (
            "postgres://w@db/w?sslmode=verify-full&password=s3cret",
            "the URL holds a password",
        ),
        (
            "postgres://w@db/w?sslmode=prefer",
            "falls back to plain TCP",
        ),
        ("postgres://w@db/w?sslmode=allow", "falls back to plain TCP"),
        ("postgres://w@db/w?sslmode=verify_full", "is not one of"),
        (
            "postgres://w@db/w?sslrootcert=ca.pem",
            "`sslrootcert` needs TLS",
        ),
        (
            "postgres://w@db/w?sslmode=disable&sslcert=c.pem",
            "`sslcert` needs TLS",
        ),
        (
            "postgres://w@db/w?sslmode=verify-full&sslcert=c.pem",
            "both `sslcert` and `sslkey`",
        ),
        (
            "postgres://w@db/w?sslmode=require&sslmode=disable",
            "`sslmode` is given twice",
        ),
    ] {
        let err = load_with(permit, &format!("[store]\nurl = \"{url}\"\n")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(says), "{url}: {text}");
        assert!(text.contains("store.url"), "{url}: {text}");
    }
}

#[test]
fn ledger_witnesses_are_a_file_a_command_or_a_tlog_witness() {
    let permit = r#"@id("r") permit (principal, action, resource);"#;
    // Base64 may hold `+`: only the first two separate the parts.
    let vkey = "witness.example/w1+01234567+BKL0+zYv";
    let config = load_with(
        permit,
        &format!(
            "[ledger]\nwitness = [{{ file = \"published.jsonl\" }}, {{ command = [\"ship\", \"-q\"] }}, \
             {{ url = \"https://witness.example/w1/\", key = \"{vkey}\" }}, \
             {{ url = \"http://127.0.0.1:9/\", key = \"{vkey}\", timeout_ms = 250 }}]\n"
        ),
    )
    .unwrap();
    let [
        WitnessConfig::File(path),
        WitnessConfig::Command(command),
        WitnessConfig::Http { url, key, timeout },
        WitnessConfig::Http { timeout: short, .. },
    ] = config.ledger.witnesses.as_slice()
    else {
        panic!("{:?}", config.ledger.witnesses)
    };
    assert_eq!(url, "https://witness.example/w1", "no trailing slash");
    assert_eq!(key, vkey);
    assert_eq!(*timeout, std::time::Duration::from_millis(5000));
    assert_eq!(*short, std::time::Duration::from_millis(250));
    assert!(
        path.is_absolute() && path.ends_with("published.jsonl"),
        "{path:?}"
    );
    assert_eq!(command, &["ship", "-q"]);
    assert!(load_with(permit, "").unwrap().ledger.witnesses.is_empty());

    let err = load_with(
        permit,
        "[ledger]\nwitness = [{ file = \"a\", command = [\"b\"] }, { command = [] }, {}]\n",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string()
            .matches("a witness is exactly one of")
            .count(),
        3,
        "{err}"
    );
    let err = load_with(
        permit,
        &format!(
            "[ledger]\nwitness = [{{ url = \"https://w.example\" }}, \
             {{ url = \"ftp://w.example\", key = \"{vkey}\" }}, \
             {{ url = \"https://w.example\", key = \"w+zz+AA\" }}, \
             {{ file = \"a\", key = \"{vkey}\" }}, \
             {{ url = \"https://w.example\", key = \"{vkey}\", timeout_ms = 0 }}, \
             {{ url = \"http://w.example/w1\", key = \"{vkey}\" }}, \
             {{ url = \"https://ops:hunter2@w.example/w1\", key = \"{vkey}\" }}]\n"
        ),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("hunter2"), "{text}");
    for expected in [
        "`http://w.example/w1` is plain HTTP: use https",
        "witness url `https://w.example/w1` carries a user or password",
        "needs `key`",
        "`ftp://w.example` must be an http or https URL",
        "witness key `w+zz+AA` is not of the form",
        "a witness is exactly one of",
        "`timeout_ms` must be at least 1",
    ] {
        assert!(text.contains(expected), "{expected}: {text}");
    }
}
