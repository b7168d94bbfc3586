//! TLS to PostgreSQL, from the side of someone on the path between warden and its database.
//!
//! The server is `./scripts/test`'s throwaway one (`WARDEN_TEST_PG_URL`,
//! `WARDEN_TEST_PG_PASSWORD`), which serves TLS with a certificate for 127.0.0.1 and localhost
//! signed by the test CA (`WARDEN_TEST_PG_TLS_CA`). Without them these tests fail: they never
//! skip.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use warden_store::{NameCheck, PostgresOptions, PostgresStore, PostgresTls, StoreError, TlsRoots};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run ./scripts/test, which starts a PostgreSQL server with TLS")
    })
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../warden/tests/fixtures/tls")
        .join(name)
}

fn verified(name: NameCheck, ca: PathBuf) -> PostgresTls {
    PostgresTls::Verified {
        name,
        roots: TlsRoots::File(ca),
        client: None,
    }
}

fn options(url: String, tls: PostgresTls) -> PostgresOptions {
    PostgresOptions {
        url,
        password: std::env::var("WARDEN_TEST_PG_PASSWORD").ok(),
        pool_size: 2,
        tls,
    }
}

fn admin() -> ::postgres::Client {
    let mut config: ::postgres::Config = env("WARDEN_TEST_PG_URL").parse().unwrap();
    if let Ok(p) = std::env::var("WARDEN_TEST_PG_PASSWORD") {
        config.password(p);
    }
    config.connect(::postgres::NoTls).unwrap()
}

/// A database of its own, so the server's view of who is connected to it is this test's.
struct Database(String);

impl Database {
    fn create() -> Self {
        let name = format!("warden_tls_{:016x}", rand::random::<u64>());
        admin()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        Self(name)
    }

    fn url(&self) -> String {
        let url = env("WARDEN_TEST_PG_URL");
        let (base, _) = url.rsplit_once('/').unwrap();
        format!("{base}/{}", self.0)
    }

    /// Sessions to this database, and how many of them run over TLS.
    fn sessions(&self) -> (i64, i64) {
        let row = admin()
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE s.ssl) \
                 FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
                &[&self.0],
            )
            .unwrap();
        (row.get(0), row.get(1))
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = admin().batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0));
    }
}

#[test]
fn verify_full_with_the_servers_ca_connects_and_every_session_is_encrypted() {
    let db = Database::create();
    let tls = verified(
        NameCheck::ChainAndName,
        PathBuf::from(env("WARDEN_TEST_PG_TLS_CA")),
    );
    let store = PostgresStore::open(&options(db.url(), tls)).unwrap();
    assert_eq!(
        store.schema_version().unwrap(),
        PostgresStore::latest_schema_version()
    );
    let (all, encrypted) = db.sessions();
    assert!(all >= 1, "the store keeps a connection open");
    assert_eq!(all, encrypted, "every session of the store runs over TLS");
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let db = Database::create();
    let tls = verified(NameCheck::ChainOnly, fixture("other-ca.pem"));
    let err = PostgresStore::open(&options(db.url(), tls))
        .err()
        .expect("a server whose certificate the roots do not vouch for is refused");
    assert!(matches!(err, StoreError::Setup(_)), "{err}");
    assert!(err.to_string().contains("certificate"), "{err}");
}

#[test]
fn verify_full_refuses_a_certificate_for_another_name_and_verify_ca_accepts_it() {
    let db = Database::create();
    // Reach the server at its address while naming another host: what a certificate issued
    // by the same CA to some other server looks like to the client.
    let url = env("WARDEN_TEST_PG_URL");
    let port = url.rsplit_once(':').unwrap().1.split('/').next().unwrap();
    let url = format!(
        "postgres://warden@db.example.net:{port}/{}?hostaddr=127.0.0.1",
        db.0
    );
    let ca = PathBuf::from(env("WARDEN_TEST_PG_TLS_CA"));

    let err = PostgresStore::open(&options(
        url.clone(),
        verified(NameCheck::ChainAndName, ca.clone()),
    ))
    .err()
    .expect("verify-full checks the name");
    assert!(err.to_string().contains("certificate"), "{err}");

    let store = PostgresStore::open(&options(url, verified(NameCheck::ChainOnly, ca))).unwrap();
    assert!(store.schema_version().is_ok());
}

/// Someone on the path answers warden's TLS request with "no": warden must not go on in plain
/// TCP, where its login and every ledger row would cross the wire readable and changeable.
#[test]
fn a_declined_tls_request_never_falls_back_to_plain_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let attacker = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = [0u8; 8];
        socket.read_exact(&mut request).unwrap();
        // SSLRequest: length 8, code 80877103.
        assert_eq!(
            request,
            [0, 0, 0, 8, 4, 210, 22, 47],
            "warden asks for TLS first"
        );
        socket.write_all(b"N").unwrap();
        // Whatever warden sends next in the clear (its login); it should close instead.
        let mut after = [0u8; 512];
        let n = socket.read(&mut after).unwrap_or(0);
        after[..n].to_vec()
    });
    let tls = verified(NameCheck::ChainAndName, fixture("ca.pem"));
    let err = PostgresStore::open(&options(
        format!("postgres://warden@127.0.0.1:{port}/warden"),
        tls,
    ))
    .err()
    .expect("a server that declines TLS is refused");
    assert!(matches!(err, StoreError::Setup(_)), "{err}");
    let after = attacker.join().unwrap();
    assert!(
        after.is_empty(),
        "nothing crosses in plain TCP after TLS was declined, got {} bytes",
        after.len()
    );
}
