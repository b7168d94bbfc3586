//! The TLS parameters of `store.url`, written as libpq writes them: `sslmode`, `sslrootcert`,
//! `sslcert` and `sslkey`.
//!
//! They are taken out of the URL and resolved into [`PostgresTls`], relative paths from the
//! config's folder. What differs from libpq, on purpose: `allow` and `prefer` are refused (they
//! fall back to plain TCP when TLS is declined, which whoever sits on the path can force), and
//! `require` checks the server's chain as `verify-ca` does instead of trusting any certificate.
//! Certificate settings beside a mode that does not encrypt are an error, not ignored.

use super::Resolver;
use crate::config::resolved::{ClientIdentity, PostgresTls};
use std::ops::Range;
use url::form_urlencoded;

const KEY: &str = "store.url";

impl Resolver<'_> {
    /// `url` without its TLS parameters, and the TLS they ask for.
    pub(super) fn postgres_tls(&mut self, url: &str, span: Range<usize>) -> (String, PostgresTls) {
        let Some((base, query)) = url.split_once('?') else {
            return (url.to_string(), PostgresTls::Off);
        };
        let (mut mode, mut root, mut cert, mut key) = (None, None, None, None);
        let mut kept = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*name {
                "sslmode" => &mut mode,
                "sslrootcert" => &mut root,
                "sslcert" => &mut cert,
                "sslkey" => &mut key,
                _ => {
                    kept.append_pair(&name, &value);
                    continue;
                }
            };
            if slot.replace(value.into_owned()).is_some() {
                self.error(span.clone(), KEY, format!("`{name}` is given twice"));
            }
        }
        let kept = kept.finish();
        let url = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{kept}")
        };
        let verify_name = match mode.as_deref() {
            None | Some("disable") => {
                if let Some(name) = [("sslrootcert", &root), ("sslcert", &cert), ("sslkey", &key)]
                    .into_iter()
                    .find_map(|(name, v)| v.as_ref().map(|_| name))
                {
                    self.error(
                        span,
                        KEY,
                        format!(
                            "`{name}` needs TLS: add `sslmode=verify-full` (or remove `{name}`)"
                        ),
                    );
                }
                return (url, PostgresTls::Off);
            }
            Some("allow" | "prefer") => {
                self.error(
                    span,
                    KEY,
                    format!(
                        "`sslmode={}` falls back to plain TCP when TLS is declined, which anyone \
                         on the path can force: use `sslmode=verify-full` (or `disable` on a \
                         trusted local link)",
                        mode.as_deref().unwrap_or_default()
                    ),
                );
                return (url, PostgresTls::Off);
            }
            Some("require" | "verify-ca") => false,
            Some("verify-full") => true,
            Some(other) => {
                self.error(
                    span,
                    KEY,
                    format!(
                        "`sslmode={}` is not one of disable, require, verify-ca, verify-full",
                        other.escape_debug()
                    ),
                );
                return (url, PostgresTls::Off);
            }
        };
        let roots = match root.as_deref() {
            None | Some("system") => None,
            Some(path) => Some(self.path(path)),
        };
        let client_identity = match (cert, key) {
            (Some(cert), Some(key)) => Some(ClientIdentity {
                cert_file: self.path(&cert),
                key_file: self.path(&key),
            }),
            (None, None) => None,
            _ => {
                self.error(span, KEY, "give both `sslcert` and `sslkey`, or neither");
                None
            }
        };
        (
            url,
            PostgresTls::Verified {
                verify_name,
                roots,
                client_identity,
            },
        )
    }
}
