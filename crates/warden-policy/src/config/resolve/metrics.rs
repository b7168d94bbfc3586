//! `[metrics]`: the address Prometheus scrapes, apart from the agents' one, and the digest of
//! the token it must send.

use super::Resolver;
use crate::config::raw::RawMetrics;
use crate::config::resolved::MetricsSettings;
use std::net::SocketAddr;
use toml::Spanned;

/// The SHA-256 of the empty string.
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

impl Resolver<'_> {
    pub(super) fn metrics(
        &mut self,
        raw: &Spanned<RawMetrics>,
        gateway: SocketAddr,
    ) -> MetricsSettings {
        let m = raw.get_ref();
        let text = m.listen.get_ref();
        let listen = match text.parse::<SocketAddr>() {
            Ok(a) => a,
            Err(e) => {
                self.error(
                    m.listen.span(),
                    "metrics.listen",
                    format!("`{text}` is not an address: {e}"),
                );
                SocketAddr::from(([127, 0, 0, 1], 0))
            }
        };
        if listen == gateway && listen.port() != 0 {
            self.error(
                m.listen.span(),
                "metrics.listen",
                format!(
                    "`{listen}` is the gateway's address: metrics need an address of their own"
                ),
            );
        }
        let token_sha256 = m.token_sha256.as_ref().and_then(|t| {
            let digest = hex::decode(t.get_ref().trim())
                .ok()
                .and_then(|bytes| <[u8; 32]>::try_from(bytes.as_slice()).ok());
            if digest.is_none() {
                self.error(
                    t.span(),
                    "metrics.token_sha256",
                    "`token_sha256` must be 64 hex digits (a SHA-256; `warden hash token`)",
                );
            }
            // The SHA-256 of no bytes at all: a token anyone can send.
            if digest.is_some_and(|d| hex::encode(d) == EMPTY_SHA256) {
                self.error(
                    t.span(),
                    "metrics.token_sha256",
                    "`token_sha256` is the SHA-256 of an empty token: choose a token",
                );
                return None;
            }
            digest
        });
        // The metrics name the agents, tools and rules: off the loopback interface, only a
        // scraper that holds the token reads them.
        if m.token_sha256.is_none() && !listen.ip().is_loopback() {
            self.error(
                m.listen.span(),
                "metrics.listen",
                format!(
                    "`{listen}` is reachable from other machines: set `token_sha256` so only \
                     your scraper reads the metrics, or listen on a loopback address"
                ),
            );
        }
        MetricsSettings {
            listen,
            token_sha256,
        }
    }
}
