//! The schema's history: one numbered list of steps that both backends follow.
//!
//! Each step is a pair of files with the same name, `migrations/sqlite/NNNN_name.sql` and
//! `migrations/postgres/NNNN_name.sql`, embedded here. Where a backend needs no change at a
//! step, its file says why in SQL comments and the step is marked [`Sql::Unchanged`] for it:
//! it runs nothing and does not count.
//!
//! INVARIANT: a backend's schema version (SQLite's `user_version`, PostgreSQL's
//! `warden_schema`) is the number of steps that changed it, applied in this order. That is the
//! meaning it had when each backend kept its own inline list, so databases made before the
//! list was shared open as they did, and the text of every step that ran then is unchanged,
//! byte for byte.
//!
//! An applied step is never edited: its file's SHA-256 is recorded in `warden_migrations` when
//! it runs, and a database whose recorded digest differs from the shipped file is refused
//! ([`SchemaError::Changed`]). A database from before digests were kept has its applied steps
//! recorded, as shipped, the next time it is opened. The records also catch a renumbering: a
//! step recorded as applied that the version does not cover is refused
//! ([`SchemaError::Unexpected`]).

use std::collections::BTreeMap;
use warden_core::sha256_hex;

/// Which database a step's SQL is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// One backend's file at one step.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sql {
    /// Statements to run.
    Change(&'static str),
    /// Comments only, saying why this backend needs nothing here. Embedded so that a test can
    /// check it says so and holds no statement.
    Unchanged(
        #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests only"))] &'static str,
    ),
}

impl Sql {
    #[cfg(test)]
    pub(crate) fn text(self) -> &'static str {
        match self {
            Self::Change(text) | Self::Unchanged(text) => text,
        }
    }
}

/// One step of the schema's history, for both backends.
#[derive(Debug)]
pub(crate) struct Migration {
    /// The files' name without `.sql`: `NNNN_what`.
    pub name: &'static str,
    pub sqlite: Sql,
    pub postgres: Sql,
}

impl Migration {
    pub(crate) fn sql(&self, backend: Backend) -> Sql {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// A step named once, so both backends' files have the same name.
macro_rules! step {
    ($name:literal) => {
        step!($name, sqlite: Change, postgres: Change)
    };
    ($name:literal, sqlite: $sqlite:ident, postgres: $postgres:ident) => {
        Migration {
            name: $name,
            sqlite: Sql::$sqlite(include_str!(concat!("../migrations/sqlite/", $name, ".sql"))),
            postgres: Sql::$postgres(include_str!(concat!(
                "../migrations/postgres/",
                $name,
                ".sql"
            ))),
        }
    };
}

/// Every step, in the order it is applied. Add new steps at the end; never edit, reorder or
/// remove one that has shipped.
pub(crate) const MIGRATIONS: &[Migration] = &[
    step!("0001_initial"),
    step!("0002_ledger", sqlite: Change, postgres: Unchanged),
    step!("0003_halts", sqlite: Change, postgres: Unchanged),
    step!("0004_ledger_leaves_kind"),
    step!("0005_agent_taints"),
    step!("0006_pending_revision"),
    step!("0007_leaf_mac"),
    step!("0008_console_sessions"),
    step!("0009_pending_waiting"),
    step!("0010_taint_clear_record"),
    step!("0011_pending_lookup"),
    step!("0012_ledger_session_order", sqlite: Unchanged, postgres: Change),
    step!("0013_pending_search"),
    step!("0014_listing_indexes"),
];

/// The step that adds the search column of pending requests: the requests already stored are
/// given theirs as it runs ([`crate::search_of`]), in the same transaction.
pub(crate) const PENDING_SEARCH: &str = "0013_pending_search";

/// The table that records each applied step's digest; created, if missing, before migrating.
pub(crate) const DIGESTS_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS warden_migrations (name TEXT PRIMARY KEY, sha256 TEXT NOT NULL)";

/// A step that changes one backend.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// The backend's schema version once this step has run (its position among the steps that
    /// change this backend, from 1).
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
    /// Lower-case hex SHA-256 of `sql`.
    pub sha256: String,
}

/// The steps that change `backend`, in order.
pub(crate) fn steps(backend: Backend) -> impl Iterator<Item = Step> {
    MIGRATIONS
        .iter()
        .filter_map(move |m| match m.sql(backend) {
            Sql::Change(sql) => Some((m.name, sql)),
            Sql::Unchanged(_) => None,
        })
        .zip(1..)
        .map(|((name, sql), version)| Step {
            version,
            name,
            sql,
            sha256: sha256_hex(sql.as_bytes()),
        })
}

/// The schema version a fully migrated `backend` database has.
pub(crate) fn latest(backend: Backend) -> u32 {
    steps(backend).last().map_or(0, |s| s.version)
}

/// What opening a database must do to its schema.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    /// Applied steps with no recorded digest (the database predates the records): record them
    /// as shipped.
    pub record: Vec<Step>,
    /// Steps to run, in order; each is recorded as it runs.
    pub run: Vec<Step>,
}

/// Why a database's schema cannot be used by this warden.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the database schema is at version {version}, newer than this warden's {known}: \
         upgrade warden"
    )]
    Newer { version: u32, known: u32 },
    #[error(
        "migration `{name}` was applied to this database with SHA-256 {recorded}, but this \
         warden ships it with SHA-256 {shipped}: an applied migration was edited"
    )]
    Changed {
        name: String,
        recorded: String,
        shipped: String,
    },
    #[error(
        "the database records migration `{name}` as applied, but it is not among the \
         {version} this warden has applied to it"
    )]
    Unexpected { name: String, version: u32 },
}

/// Checks a database at `version`, with `recorded` digests (name → SHA-256), against the
/// shipped steps, and says what to record and what to run.
pub(crate) fn plan(
    backend: Backend,
    version: u32,
    recorded: &BTreeMap<String, String>,
) -> Result<Plan, SchemaError> {
    let known = latest(backend);
    if version > known {
        return Err(SchemaError::Newer { version, known });
    }
    let mut plan = Plan::default();
    let mut applied = 0usize;
    for step in steps(backend) {
        if step.version > version {
            plan.run.push(step);
            continue;
        }
        match recorded.get(step.name) {
            Some(digest) if *digest == step.sha256 => applied += 1,
            Some(digest) => {
                return Err(SchemaError::Changed {
                    name: step.name.to_owned(),
                    recorded: digest.clone(),
                    shipped: step.sha256,
                });
            }
            None => plan.record.push(step),
        }
    }
    if applied < recorded.len() {
        let covered: Vec<&str> = steps(backend)
            .take_while(|s| s.version <= version)
            .map(|s| s.name)
            .collect();
        if let Some(name) = recorded.keys().find(|n| !covered.contains(&n.as_str())) {
            return Err(SchemaError::Unexpected {
                name: name.clone(),
                version,
            });
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    /// What has shipped never changes: every deployed database recorded these digests and
    /// refuses to open under a build whose file differs (an edited comment, a line ending
    /// rewritten by a checkout). A new step adds a line here; no line is ever edited.
    #[test]
    fn shipped_steps_keep_their_digests() {
        const SHIPPED: &[(Backend, &str, &str)] = &[
            (
                Backend::Sqlite,
                "0001_initial",
                "ac1d8eaa9e6ad26d432630c743d130a5452f498d871baf8f90e207eda2220823",
            ),
            (
                Backend::Sqlite,
                "0002_ledger",
                "15a2f9a90bcbb33e205ecc1af9d7571b74697e32b4eb76155bc7ed9ad884423b",
            ),
            (
                Backend::Sqlite,
                "0003_halts",
                "70e78713a5b81fae975936a6e8e8cd7a44ba00e717259f5061e24c6306be5a51",
            ),
            (
                Backend::Sqlite,
                "0004_ledger_leaves_kind",
                "ffda89b56505a441bab93fe90b01bb8ae1046afd6d922bf237ed54ba9b3ee5a2",
            ),
            (
                Backend::Sqlite,
                "0005_agent_taints",
                "df71e4e543fe896876e8082557167569df16f44d65d31a7461452f861953e131",
            ),
            (
                Backend::Sqlite,
                "0006_pending_revision",
                "ac41e2cee1c1b095b890de4f1c72efc09eba11d2475256203da5fa31d11e30ae",
            ),
            (
                Backend::Sqlite,
                "0007_leaf_mac",
                "c3a9adf1785a26a82146b7ea282d1ea9226d4da442d6abae679c0a8cb5d1d0c2",
            ),
            (
                Backend::Sqlite,
                "0008_console_sessions",
                "84e9ea5f4132a628e88ca475bf90e5444e72571052811808ba3992ecf8d589ce",
            ),
            (
                Backend::Sqlite,
                "0009_pending_waiting",
                "3c9db90e46b1d2588092e32da7e00508fe081e070bcba58a0ca9ced606226c31",
            ),
            (
                Backend::Sqlite,
                "0010_taint_clear_record",
                "4721169c0981f5d9581b41ca0ee112b6a4b32121f21f17f525ec0bc621c89d81",
            ),
            (
                Backend::Sqlite,
                "0011_pending_lookup",
                "27a482265f069ea7ebdb1a06ffd5720ac7a9f595df975983d98f53b6c0b52a5a",
            ),
            (
                Backend::Sqlite,
                "0012_ledger_session_order",
                "c666ce45ee608e91fe32a9c6f63a38765de3c16d016b5d83a413dbf192f93a4b",
            ),
            (
                Backend::Sqlite,
                "0013_pending_search",
                "206b36b5a0c33b0aeb2c2ea9137a086848a57b5e77e23fd32eb2c62d470d0a6c",
            ),
            (
                Backend::Sqlite,
                "0014_listing_indexes",
                "e5b12bfe38fc27950be6b0af03116d2b0d20b47bdc84197b09a2fc5cbe8d58a7",
            ),
            (
                Backend::Postgres,
                "0001_initial",
                "e0e2bc738afd78ce96ddaff51706e6c50d9dfea34fce2f1f7303797e88e7a65c",
            ),
            (
                Backend::Postgres,
                "0002_ledger",
                "7980696f01688e0afc6cd63398b27131bda780e87f1948a983dca7b6e3e837c5",
            ),
            (
                Backend::Postgres,
                "0003_halts",
                "d9c795f4992ed427430194936b84605a4b3d79b2e86d5e07dd0708d1b6e23b62",
            ),
            (
                Backend::Postgres,
                "0004_ledger_leaves_kind",
                "1c2282e64bf1a1b4474e9b0f7eb5c14655e802b58be31bda23dc0ac6387c7805",
            ),
            (
                Backend::Postgres,
                "0005_agent_taints",
                "2d372cce65af31173d8f3ca8a4a6555af88ff7f3027022b647199ee4bbaa6f96",
            ),
            (
                Backend::Postgres,
                "0006_pending_revision",
                "cd6be48ceab4d4dfd329f86f31b3623fce545f55083b5f14d0a224e0906c5f62",
            ),
            (
                Backend::Postgres,
                "0007_leaf_mac",
                "b94f7cc831b04f8acb83e926ec7380969d539b32e7c628c6ca0f83206a905f74",
            ),
            (
                Backend::Postgres,
                "0008_console_sessions",
                "c3be8fa7df7a767097175e48708e8a8aca874a63331107630dd8e26bc02c9d05",
            ),
            (
                Backend::Postgres,
                "0009_pending_waiting",
                "3c9db90e46b1d2588092e32da7e00508fe081e070bcba58a0ca9ced606226c31",
            ),
            (
                Backend::Postgres,
                "0010_taint_clear_record",
                "cf1b4c48128660655a76b3f9981447f7c568695a8055718ed818a1b70b0536a8",
            ),
            (
                Backend::Postgres,
                "0011_pending_lookup",
                "0a449a9c4b49a5a5eeb49eb52d804a4838f10cdeb22cd2885127a7b16e8b954d",
            ),
            (
                Backend::Postgres,
                "0012_ledger_session_order",
                "4825291b250720061606656351adccc6ba795267d8884a60b77a5cd7b6972048",
            ),
            (
                Backend::Postgres,
                "0013_pending_search",
                "206b36b5a0c33b0aeb2c2ea9137a086848a57b5e77e23fd32eb2c62d470d0a6c",
            ),
            (
                Backend::Postgres,
                "0014_listing_indexes",
                "a933f28c1c64155508a29fd06c86ae3dcd99260cbb54db92c33adfea9622b7eb",
            ),
        ];
        for (backend, name, digest) in SHIPPED {
            let step = MIGRATIONS.iter().find(|m| m.name == *name).unwrap();
            let text = step.sql(*backend).text();
            assert!(!text.contains('\r'), "{name}: a carriage return");
            assert_eq!(sha256_hex(text.as_bytes()), *digest, "{backend:?} {name}");
        }
        assert_eq!(
            SHIPPED.len(),
            MIGRATIONS.len() * 2,
            "every step of both backends is listed"
        );
    }
    use std::path::Path;

    /// The `.sql` files in `migrations/<dir>`, sorted, without the extension.
    fn files(dir: &str) -> Vec<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let mut names: Vec<String> = std::fs::read_dir(&path)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        for name in &names {
            assert!(
                name.ends_with(".sql"),
                "`{name}` in {} is not a migration",
                path.display()
            );
        }
        names
            .iter()
            .map(|n| n.trim_end_matches(".sql").to_owned())
            .collect()
    }

    #[test]
    fn the_files_on_disk_are_exactly_the_list_for_both_backends() {
        let listed: Vec<String> = MIGRATIONS.iter().map(|m| m.name.to_owned()).collect();
        assert_eq!(files("sqlite"), listed, "migrations/sqlite");
        assert_eq!(files("postgres"), listed, "migrations/postgres");
        for (m, n) in MIGRATIONS.iter().zip(1..) {
            assert!(
                m.name.starts_with(&format!("{n:04}_")),
                "step {n} is named `{}`",
                m.name
            );
            for backend in [Backend::Sqlite, Backend::Postgres] {
                let on_disk = std::fs::read_to_string(
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("migrations")
                        .join(match backend {
                            Backend::Sqlite => "sqlite",
                            Backend::Postgres => "postgres",
                        })
                        .join(format!("{}.sql", m.name)),
                )
                .unwrap();
                assert_eq!(on_disk, m.sql(backend).text(), "{} {backend:?}", m.name);
            }
        }
    }

    /// Whether `sql` holds anything but comments and blank lines.
    fn has_statements(sql: &str) -> bool {
        sql.lines()
            .map(str::trim)
            .any(|l| !l.is_empty() && !l.starts_with("--"))
    }

    #[test]
    fn an_unchanged_step_is_comments_only_and_a_change_is_not() {
        for m in MIGRATIONS {
            for backend in [Backend::Sqlite, Backend::Postgres] {
                match m.sql(backend) {
                    Sql::Change(sql) => assert!(has_statements(sql), "{} {backend:?}", m.name),
                    Sql::Unchanged(sql) => {
                        assert!(!has_statements(sql), "{} {backend:?}", m.name);
                        assert!(sql.contains("no change"), "{} {backend:?} says why", m.name);
                    }
                }
            }
        }
    }

    /// The versions databases made before the list was shared already carry (nine steps for
    /// SQLite, seven for PostgreSQL, whose first schema covered SQLite's first three), and
    /// every step since counts once for each backend it changes.
    #[test]
    fn schema_versions_keep_their_meaning() {
        let names = |b| steps(b).map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(latest(Backend::Sqlite), 13);
        assert_eq!(latest(Backend::Postgres), 12);
        assert_eq!(names(Backend::Sqlite).len(), MIGRATIONS.len() - 1);
        assert_eq!(
            names(Backend::Postgres),
            [
                "0001_initial",
                "0004_ledger_leaves_kind",
                "0005_agent_taints",
                "0006_pending_revision",
                "0007_leaf_mac",
                "0008_console_sessions",
                "0009_pending_waiting",
                "0010_taint_clear_record",
                "0011_pending_lookup",
                "0012_ledger_session_order",
                "0013_pending_search",
                "0014_listing_indexes",
            ]
        );
    }

    fn recorded(backend: Backend, upto: u32) -> BTreeMap<String, String> {
        steps(backend)
            .take_while(|s| s.version <= upto)
            .map(|s| (s.name.to_owned(), s.sha256))
            .collect()
    }

    #[test]
    fn a_fresh_database_runs_every_step() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let plan = plan(backend, 0, &BTreeMap::new()).unwrap();
            assert!(plan.record.is_empty());
            assert_eq!(plan.run.len() as u32, latest(backend));
        }
    }

    #[test]
    fn an_old_database_without_digests_has_them_recorded_not_refused() {
        let plan = plan(Backend::Postgres, 5, &BTreeMap::new()).unwrap();
        let record: Vec<u32> = plan.record.iter().map(|s| s.version).collect();
        let run: Vec<u32> = plan.run.iter().map(|s| s.version).collect();
        assert_eq!(record, [1, 2, 3, 4, 5]);
        assert_eq!(run, [6, 7, 8, 9, 10, 11, 12]);
        // Part recorded (a database opened once since): the rest is recorded.
        let plan = super::plan(Backend::Sqlite, 10, &recorded(Backend::Sqlite, 4)).unwrap();
        assert_eq!(plan.record.len(), 6);
        assert_eq!(
            plan.run.iter().map(|s| s.version).collect::<Vec<_>>(),
            [11, 12, 13]
        );
    }

    #[test]
    fn an_edited_applied_step_is_refused() {
        let mut digests = recorded(Backend::Sqlite, 9);
        digests.insert("0003_halts".into(), sha256_hex(b"something else"));
        let err = plan(Backend::Sqlite, 9, &digests).unwrap_err();
        assert!(
            matches!(&err, SchemaError::Changed { name, .. } if name == "0003_halts"),
            "{err}"
        );
        assert!(err.to_string().contains("`0003_halts`"), "{err}");
    }

    #[test]
    fn a_newer_or_renumbered_schema_is_refused() {
        assert_eq!(
            plan(Backend::Postgres, 13, &BTreeMap::new()).unwrap_err(),
            SchemaError::Newer {
                version: 13,
                known: 12
            }
        );
        // A step recorded as applied that the version does not cover.
        let digests = recorded(Backend::Postgres, 7);
        let err = plan(Backend::Postgres, 6, &digests).unwrap_err();
        assert_eq!(
            err,
            SchemaError::Unexpected {
                name: "0009_pending_waiting".into(),
                version: 6
            }
        );
        let mut digests = recorded(Backend::Sqlite, 2);
        digests.insert("0042_elsewhere".into(), "00".into());
        assert!(matches!(
            plan(Backend::Sqlite, 2, &digests).unwrap_err(),
            SchemaError::Unexpected { .. }
        ));
    }
}
