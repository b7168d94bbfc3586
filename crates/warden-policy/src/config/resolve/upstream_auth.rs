//! `[servers.<name>.oauth]` and `[servers.<name>.tls]`: how warden proves who it is to an HTTP
//! upstream and which certificates it trusts there.
//!
//! What a configuration may not say: a client secret written into the file (it must come from
//! the environment or a file), a token endpoint over plain HTTP except to loopback, a client
//! certificate without its key (or the reverse), either table on a stdio server, and an
//! `Authorization` header beside `oauth` (two sources for one header).

use super::Resolver;
use crate::config::raw::{RawUpstreamOAuth, RawUpstreamTls};
use crate::config::resolved::{ClientCredentials, ClientIdentity, UpstreamTls};
use crate::config::secret::RawSecret;
use toml::Spanned;

impl Resolver<'_> {
    pub(super) fn upstream_oauth(
        &mut self,
        key: &str,
        raw: Spanned<RawUpstreamOAuth>,
    ) -> Option<ClientCredentials> {
        let key = format!("{key}.oauth");
        let span = raw.span();
        let raw = raw.into_inner();
        let token_url = self.secure_url(&raw.token_url, &key, "token endpoint");
        let client_id = raw.client_id.get_ref().trim().to_string();
        if client_id.is_empty() {
            self.error(raw.client_id.span(), &key, "`client_id` is empty");
        }
        let secret_span = raw.client_secret.span();
        let client_secret = match raw.client_secret.into_inner() {
            RawSecret::Literal(_) => {
                self.error(
                    secret_span,
                    &format!("{key}.client_secret"),
                    "a client secret must not be written in the config: use `{ env = \"VAR\" }` or `{ file = \"path\" }`",
                );
                None
            }
            from => self.secret(span, &format!("{key}.client_secret"), from),
        };
        for scope in &raw.scopes {
            if scope.is_empty() || scope.chars().any(|c| c.is_whitespace() || c.is_control()) {
                self.error(
                    raw.token_url.span(),
                    &format!("{key}.scopes"),
                    format!("scope `{}` is empty or holds a space", scope.escape_debug()),
                );
            }
        }
        Some(ClientCredentials {
            token_url: token_url?.to_string(),
            client_id,
            client_secret: client_secret?,
            scopes: raw.scopes,
            audience: raw.audience.filter(|a| !a.trim().is_empty()),
            resource: raw.resource.filter(|r| !r.trim().is_empty()),
            client_auth: raw.client_auth,
        })
    }

    pub(super) fn upstream_tls(&mut self, key: &str, raw: Spanned<RawUpstreamTls>) -> UpstreamTls {
        let key = format!("{key}.tls");
        let span = raw.span();
        let raw = raw.into_inner();
        let ca_file = raw.ca_file.as_deref().map(|p| self.path(p));
        let client_identity = match (raw.client_cert, raw.client_key) {
            (Some(cert), Some(key_file)) => Some(ClientIdentity {
                cert_file: self.path(&cert),
                key_file: self.path(&key_file),
            }),
            (None, None) => None,
            _ => {
                self.error(
                    span,
                    &key,
                    "give both `client_cert` and `client_key`, or neither",
                );
                None
            }
        };
        UpstreamTls {
            ca_file,
            client_identity,
        }
    }
}
