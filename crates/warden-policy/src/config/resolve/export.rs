//! `[export]`: the ledger streamed as OCSF to a file or a SIEM collector while warden serves.
//! A collector's token must come from the environment or a file (a literal would sit in the
//! config, readable by whoever reads it), and travels over HTTPS, or plain HTTP to a loopback
//! collector only. The cursor defaults to a file beside the SQLite store.

use super::Resolver;
use crate::config::raw::RawExport;
use crate::config::resolved::{ExportDestination, ExportSettings, StoreLocation};
use crate::config::secret::SecretSource;
use toml::Spanned;

const DEFAULT_BATCH: u64 = 500;

impl Resolver<'_> {
    pub(super) fn export(
        &mut self,
        raw: Spanned<RawExport>,
        store: &StoreLocation,
    ) -> Option<ExportSettings> {
        let span = raw.span();
        let e = raw.into_inner();
        let to_span = e.to.span();
        let to = e.to.into_inner();
        let destination = match to.as_str() {
            "file" => {
                if e.url.is_some() || e.token.is_some() {
                    self.error(
                        span.clone(),
                        "export",
                        "`url` and `token` are for a collector: `to = \"file\"` takes `path`",
                    );
                }
                match &e.path {
                    Some(p) if !p.trim().is_empty() => Some(ExportDestination::File(self.path(p))),
                    _ => {
                        self.error(span.clone(), "export.path", "`to = \"file\"` needs `path`");
                        None
                    }
                }
            }
            "splunk-hec" | "elastic-bulk" => {
                if e.path.is_some() {
                    self.error(
                        span.clone(),
                        "export.path",
                        "`path` is for `to = \"file\"`: a collector takes `url`",
                    );
                }
                let url = match &e.url {
                    Some(u) => self.collector_url(u),
                    None => {
                        self.error(
                            span.clone(),
                            "export.url",
                            format!("`to = \"{to}\"` needs `url`"),
                        );
                        None
                    }
                };
                let token = match e.token {
                    Some(t) => match self.secret(span.clone(), "export.token", t) {
                        Some(SecretSource::Literal(_)) => {
                            self.error(
                                span.clone(),
                                "export.token",
                                "the collector's token must not be written in the config: give `{ env = \"VAR\" }` or `{ file = \"path\" }`",
                            );
                            None
                        }
                        other => other,
                    },
                    None => {
                        self.error(
                            span.clone(),
                            "export.token",
                            "a collector needs `token = { env = \"VAR\" }` or `{ file = \"path\" }`",
                        );
                        None
                    }
                };
                match (url, token) {
                    (Some(url), Some(token)) if to == "splunk-hec" => {
                        Some(ExportDestination::SplunkHec { url, token })
                    }
                    (Some(url), Some(token)) => Some(ExportDestination::ElasticBulk { url, token }),
                    _ => None,
                }
            }
            other => {
                self.error(
                    to_span,
                    "export.to",
                    format!(
                        "`{other}` is not a destination: `file`, `splunk-hec` or `elastic-bulk`"
                    ),
                );
                None
            }
        };
        let cursor = match (&e.cursor, store) {
            (Some(c), _) => Some(self.path(c)),
            (None, StoreLocation::Sqlite { path }) => path
                .parent()
                .map(|dir| dir.join(format!("export-{to}.cursor"))),
            (None, StoreLocation::Postgres(_)) => {
                self.error(
                    span.clone(),
                    "export.cursor",
                    "with a PostgreSQL store, give `cursor`: the file where the export's position is kept",
                );
                None
            }
        };
        let batch = match e.batch {
            Some(b) if (1..=10_000).contains(b.get_ref()) => *b.get_ref(),
            Some(b) => {
                self.error(
                    b.span(),
                    "export.batch",
                    "`batch` must be between 1 and 10000",
                );
                DEFAULT_BATCH
            }
            None => DEFAULT_BATCH,
        };
        Some(ExportSettings {
            to: destination?,
            index: e.index,
            cursor: cursor?,
            batch: usize::try_from(batch).unwrap_or(500),
        })
    }

    /// A collector's URL: HTTPS, or HTTP to a loopback host.
    fn collector_url(&mut self, raw: &Spanned<String>) -> Option<String> {
        let text = raw.get_ref().trim();
        let parsed = match url::Url::parse(text) {
            Ok(u) => u,
            Err(e) => {
                self.error(
                    raw.span(),
                    "export.url",
                    format!("`{text}` is not a URL: {e}"),
                );
                return None;
            }
        };
        let loopback = match parsed.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match parsed.scheme() {
            "https" => Some(text.to_owned()),
            "http" if loopback => Some(text.to_owned()),
            _ => {
                self.error(
                    raw.span(),
                    "export.url",
                    format!("`{text}`: the token would cross the network in clear; use https (plain http is for a loopback collector only)"),
                );
                None
            }
        }
    }
}
