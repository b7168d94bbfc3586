//! `[oauth]`: warden as an OAuth 2.1 protected resource. Agents present JWT access tokens from
//! the team's identity provider; warden checks them against the issuer's published keys.
//!
//! What a configuration may not say: a symmetric algorithm (`HS256`: whoever can check a token
//! could mint one, and the classic confusion attack signs with the public key as the secret),
//! `none`, a key set or issuer fetched over plain HTTP from anywhere but loopback, or a zero
//! refresh interval.

use super::Resolver;
use crate::config::raw::RawOAuth;
use crate::config::resolved::{JwksSource, JwtAlgorithm, JwtType, OAuthSettings};
use std::time::Duration;
use toml::Spanned;

const DEFAULT_LEEWAY_SECS: u64 = 60;
const MAX_LEEWAY_SECS: u64 = 300;
const DEFAULT_JWKS_REFRESH_SECS: u64 = 300;

impl Resolver<'_> {
    pub(super) fn oauth(&mut self, raw: &Spanned<RawOAuth>) -> Option<OAuthSettings> {
        let errors_before = self.errors.len();
        let table = raw.span();
        let raw = raw.get_ref();
        let issuer = raw.issuer.get_ref().trim().to_string();
        if issuer.is_empty() {
            self.error(raw.issuer.span(), "oauth.issuer", "the issuer is empty");
        }
        let audience = raw.audience.get_ref().trim().to_string();
        if audience.is_empty() {
            self.error(
                raw.audience.span(),
                "oauth.audience",
                "the audience is empty",
            );
        }
        let resource_text = raw.resource.as_ref().unwrap_or(&raw.audience);
        let resource = self.secure_url(resource_text, "oauth.resource", "the resource");
        let jwks = match (&raw.jwks_url, &raw.jwks_file) {
            (Some(u), None) => self
                .secure_url(u, "oauth.jwks_url", "the key set")
                .map(JwksSource::Url),
            (None, Some(f)) => Some(JwksSource::File(self.path(f.get_ref()))),
            _ => {
                self.error(
                    table.clone(),
                    "oauth",
                    "give exactly one of `jwks_url` and `jwks_file` (where the issuer's keys are)",
                );
                None
            }
        };
        let mut authorization_servers = Vec::new();
        for s in &raw.authorization_servers {
            if self
                .secure_url(s, "oauth.authorization_servers", "an authorization server")
                .is_some()
            {
                authorization_servers.push(s.get_ref().trim().to_string());
            }
        }
        if authorization_servers.is_empty() {
            authorization_servers.push(issuer.clone());
        }
        let principal_claim = raw
            .principal_claim
            .as_ref()
            .map_or("sub", |c| c.get_ref().as_str())
            .trim()
            .to_string();
        if principal_claim.is_empty() {
            self.error(
                raw.principal_claim.as_ref().map(Spanned::span),
                "oauth.principal_claim",
                "the claim naming the agent is empty",
            );
        }
        let mut required_scopes = Vec::new();
        for scope in &raw.scopes {
            let s = scope.get_ref();
            if s.is_empty()
                || s.chars()
                    .any(|c| c.is_whitespace() || c == '"' || c == '\\')
            {
                self.error(
                    scope.span(),
                    "oauth.scopes",
                    format!("`{s}` is not a scope (non-empty, no spaces, quotes or backslashes)"),
                );
            } else {
                required_scopes.push(s.clone());
            }
        }
        let mut algorithms = Vec::new();
        for alg in &raw.algorithms {
            match JwtAlgorithm::from_name(alg.get_ref()) {
                Some(a) if !algorithms.contains(&a) => algorithms.push(a),
                Some(_) => {}
                None => {
                    let name = alg.get_ref();
                    let why = if name.starts_with("HS") {
                        "symmetric algorithms are refused: whoever holds the secret to check a \
                         token could mint one"
                    } else if name.eq_ignore_ascii_case("none") {
                        "`none` is no signature at all"
                    } else {
                        "unknown algorithm"
                    };
                    let known: Vec<&str> = JwtAlgorithm::ALL.iter().map(|a| a.name()).collect();
                    self.error(
                        alg.span(),
                        "oauth.algorithms",
                        format!("`{name}`: {why}; accepted: {}", known.join(", ")),
                    );
                }
            }
        }
        if raw.algorithms.is_empty() {
            algorithms = JwtAlgorithm::ALL.to_vec();
        }
        let required_typ = raw.require_typ.as_ref().and_then(|t| {
            let parsed = JwtType::parse(t.get_ref());
            if parsed.is_none() {
                self.error(
                    t.span(),
                    "oauth.require_typ",
                    format!(
                        "`{}` is not a JWT type (a media type such as `at+jwt`)",
                        t.get_ref()
                    ),
                );
            }
            parsed
        });
        let leeway = raw
            .leeway_secs
            .as_ref()
            .map_or(DEFAULT_LEEWAY_SECS, |s| *s.get_ref());
        if leeway > MAX_LEEWAY_SECS {
            self.error(
                raw.leeway_secs.as_ref().map(Spanned::span),
                "oauth.leeway_secs",
                format!("at most {MAX_LEEWAY_SECS} seconds of clock skew may be tolerated"),
            );
        }
        let refresh = raw
            .jwks_refresh_secs
            .as_ref()
            .map_or(DEFAULT_JWKS_REFRESH_SECS, |s| *s.get_ref());
        if refresh == 0 {
            self.error(
                raw.jwks_refresh_secs.as_ref().map(Spanned::span),
                "oauth.jwks_refresh_secs",
                "the key set must be refreshed at an interval of at least one second",
            );
        }
        if self.errors.len() > errors_before {
            return None;
        }
        Some(OAuthSettings {
            issuer,
            audience,
            resource: resource?,
            authorization_servers,
            jwks: jwks?,
            principal_claim,
            required_scopes,
            algorithms,
            required_typ,
            leeway: Duration::from_secs(leeway),
            jwks_refresh: Duration::from_secs(refresh),
        })
    }

    /// An `https` URL, or `http` to a loopback address (a local identity provider or a test).
    pub(super) fn secure_url(
        &mut self,
        text: &Spanned<String>,
        key: &str,
        what: &str,
    ) -> Option<url::Url> {
        let raw = text.get_ref().trim();
        match url::Url::parse(raw) {
            Ok(u) if u.scheme() == "https" && u.host().is_some() => Some(u),
            Ok(u) if u.scheme() == "http" && is_loopback(&u) => Some(u),
            Ok(u) if u.scheme() == "http" => {
                self.error(
                    text.span(),
                    key,
                    format!(
                        "{what} `{raw}` is plain HTTP: use https (plain HTTP is allowed to loopback only)"
                    ),
                );
                None
            }
            Ok(_) | Err(_) => {
                self.error(
                    text.span(),
                    key,
                    format!("{what} `{raw}` is not an https URL"),
                );
                None
            }
        }
    }
}

pub(super) fn is_loopback(u: &url::Url) -> bool {
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
