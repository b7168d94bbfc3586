//! The metrics listener (`[metrics] listen`): `GET /metrics` in the Prometheus text format, on
//! an address of its own so that neither agents nor the console's users reach it by default,
//! and behind a bearer token when `token_sha256` is set. Anything else is 404.
//!
//! It runs on the same accept loop as the front (`connections`), within the gateway's
//! connection limits, so a client that connects and sends nothing holds nothing.
//!
//! `warden audit export --follow --metrics-listen` runs the same loop with only the export's
//! two gauges ([`serve_export`]), from the same code as `serve`'s ([`crate::metrics::ExportGauges`]),
//! behind the same token check ([`ScrapeToken`]).

use crate::metrics::{CONTENT_TYPE, ExportMetrics, StoreState};
use crate::{Clock, Gateway};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use warden_store::Store;

#[derive(Clone)]
struct Scrape {
    gateway: Arc<Gateway>,
    token: ScrapeToken,
}

/// Who may scrape a metrics listener: anyone who reaches it, or, with the SHA-256 of a bearer
/// token (`[metrics] token_sha256`), only a scraper that sends `Authorization: Bearer <token>`.
/// One check for every listener that serves metrics: `serve`'s and a streaming export's.
#[derive(Clone, Copy)]
struct ScrapeToken(Option<[u8; 32]>);

impl ScrapeToken {
    /// `Err` with the 401 to send when a token is required and `headers` do not carry it. The
    /// digests are compared in constant time.
    #[expect(
        clippy::result_large_err,
        reason = "the error is the response, sent at once"
    )]
    fn check(self, headers: &HeaderMap) -> Result<(), Response> {
        let Some(expected) = self.0 else {
            return Ok(());
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                // The scheme is case-insensitive (RFC 9110); an empty token is no token.
                let (scheme, token) = v.trim().split_once(' ')?;
                let token = token.trim();
                (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
            })
            .map(|t| <[u8; 32]>::from(Sha256::digest(t.as_bytes())));
        if presented.is_some_and(|p| bool::from(p.ct_eq(&expected))) {
            return Ok(());
        }
        let mut response = (
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is required\n",
        )
            .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"warden-metrics\""),
        );
        Err(response)
    }
}

/// Serves the gateway's metrics on `listener` until `stop`.
pub async fn serve(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    token_sha256: Option<[u8; 32]>,
    stop: CancellationToken,
) {
    let limits = gateway.config().gateway.limits;
    super::connections::serve(listener, router(gateway, token_sha256), limits, stop).await;
}

/// Serves `metrics` — a streaming export's two gauges, and nothing of a gateway — on
/// `listener` until `stop`: `GET /metrics` for `warden audit export --follow --metrics-listen`.
/// The lag is worked out at each scrape against `store`'s ledger size then, at `clock`'s now.
/// The same accept loop and `limits` as the gateway's own listeners, and the same bearer token
/// check as `serve`'s when `token_sha256` is given (the export passes `[metrics] token_sha256`
/// of the config it reads).
pub async fn serve_export(
    metrics: Arc<ExportMetrics>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    listener: TcpListener,
    limits: warden_policy::ConnectionLimits,
    token_sha256: Option<[u8; 32]>,
    stop: CancellationToken,
) {
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape_export))
        .with_state(ExportScrape {
            metrics,
            store,
            clock,
            token: ScrapeToken(token_sha256),
        });
    super::connections::serve(listener, app, limits, stop).await;
}

#[derive(Clone)]
struct ExportScrape {
    metrics: Arc<ExportMetrics>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    token: ScrapeToken,
}

async fn scrape_export(State(s): State<ExportScrape>, headers: HeaderMap) -> Response {
    if let Err(refused) = s.token.check(&headers) {
        return refused;
    }
    let store = Arc::clone(&s.store);
    let size = match tokio::task::spawn_blocking(move || store.ledger_size()).await {
        Ok(Ok(size)) => Some(size),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "metrics: cannot read the ledger's size");
            None
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics: the ledger size read failed");
            None
        }
    };
    match s.metrics.encode(size, s.clock.now_ms()) {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the metrics");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the metrics\n",
            )
                .into_response()
        }
    }
}

/// `/metrics` and nothing else.
pub fn router(gateway: Arc<Gateway>, token_sha256: Option<[u8; 32]>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(Scrape {
            gateway,
            token: ScrapeToken(token_sha256),
        })
}

async fn scrape(State(s): State<Scrape>, headers: HeaderMap) -> Response {
    if let Err(refused) = s.token.check(&headers) {
        return refused;
    }
    match s.gateway.metrics_text().await {
        Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode the metrics");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the metrics\n",
            )
                .into_response()
        }
    }
}

impl Gateway {
    /// The metrics as Prometheus scrapes them: the state gauges read from the store now, the
    /// counters as they stand. A store that cannot be read leaves the gauges at their last
    /// values and counts a scrape error; the counters are still served.
    pub async fn metrics_text(&self) -> Result<String, std::fmt::Error> {
        let store = self.store.clone();
        let audit = self.audit.clone();
        let recorded = self.recorded_halts.clone();
        let config = self.config();
        let read = tokio::task::spawn_blocking(move || {
            let mut recorded = recorded
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Ok::<_, warden_store::StoreError>(StoreState {
                witnesses: cosigned_sizes(&config),
                open: store.open_requests()?,
                // The same record the pipeline reads on from: the same credentials.
                halts: crate::halt::active(
                    store.as_ref(),
                    audit.ledger(),
                    &mut recorded,
                    Some(&crate::gate::credentials(&config)),
                )
                .map_err(|e| match e {
                    warden_store::LedgerError::Store(e) => e,
                    other => warden_store::StoreError::Corrupt(other.to_string()),
                })?
                .into_iter()
                .map(|h| h.scope)
                .collect(),
                ledger_size: store.ledger_size()?,
                checkpoint: store.ledger_latest_checkpoint()?,
                pool: store.pool_use(),
            })
        })
        .await;
        if let Some(refusals) = self.witness_refusals.get() {
            let refused: Vec<_> = refusals
                .iter()
                .map(|(w, n)| (w.clone(), n.load(std::sync::atomic::Ordering::Relaxed)))
                .collect();
            self.metrics.observe_witness_refusals(&refused);
        }
        match read {
            Ok(Ok(state)) => self.metrics.observe_store(&state, self.now()),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "metrics: cannot read the store");
                self.metrics.scrape_failed();
            }
            Err(e) => {
                tracing::error!(error = %e, "metrics: the store read failed");
                self.metrics.scrape_failed();
            }
        }
        self.metrics.encode()
    }
}

/// Each tlog-witness's name and the size of the checkpoint it last cosigned, from the records
/// beside the ledger key, each checked with the witness's key (0 when it has cosigned nothing
/// yet). A record that cannot be read or does not verify leaves its series as it was, with a
/// warning.
fn cosigned_sizes(config: &warden_policy::Config) -> Vec<(String, u64)> {
    use warden_store::ledger::{cosigned_path, read_verified_cosigned};
    let mut sizes = Vec::new();
    for witness in &config.ledger.witnesses {
        let warden_policy::WitnessConfig::Http { key, .. } = witness else {
            continue;
        };
        let Ok(key) = warden_ledger::CosignerKey::parse(key) else {
            continue;
        };
        match read_verified_cosigned(&cosigned_path(&config.ledger.key_path, &key), &key) {
            Ok(record) => sizes.push((key.name().to_owned(), record.map_or(0, |r| r.size()))),
            Err(e) => tracing::warn!(error = %e, "metrics: cannot read a witness record"),
        }
    }
    sizes
}
