//! `warden db migrate`: brings the configured store's schema up to date and says where it is.
//!
//! Every command applies pending migrations when it opens the store, so this is for doing it
//! ahead of time: before starting replicas on a new PostgreSQL database, or after an upgrade,
//! so that no replica starts serving while another is still migrating. Migrations run in one
//! transaction under an advisory lock, so replicas starting together do not race.

use super::ConfigArg;
use std::process::ExitCode;
use warden_policy::StoreLocation;
use warden_store::{PostgresStore, SqliteStore};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Apply the store's pending schema migrations (SQLite or PostgreSQL)
    Migrate {
        #[command(flatten)]
        config: ConfigArg,
    },
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let Command::Migrate { config } = command;
    let config = super::load_config(&config)?;
    let (what, version, latest) = match &config.store {
        StoreLocation::Sqlite { path } => {
            let store = SqliteStore::open(path)?;
            (
                format!("SQLite `{}`", path.display()),
                store.schema_version()?,
                SqliteStore::latest_schema_version(),
            )
        }
        StoreLocation::Postgres(pg) => {
            let store = super::open_postgres(pg)?;
            (
                format!("PostgreSQL `{}`", pg.url),
                store.schema_version()?,
                PostgresStore::latest_schema_version(),
            )
        }
    };
    crate::output::say!("{what}: schema version {version} (this warden knows {latest})")?;
    Ok(ExitCode::SUCCESS)
}
