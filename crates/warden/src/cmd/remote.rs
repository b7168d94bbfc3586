//! The approvers' API of the running gateway, as the CLI's answers reach it.
//!
//! An approver's answer, a halt or resume, a taint clear and a review verdict are asked of the
//! gateway (`<console>/api/…`), which checks the approver's token under the console's sign-in
//! lockout and records through the same functions as the console. So an approver's terminal
//! needs the gateway's address and the approver's own token, not the state directory or the
//! ledger's key, and cannot write the ledger. `--offline` keeps the direct path, for an
//! operator who holds the state directory and the key while no gateway runs.

use super::ConfigArg;
use anyhow::Context;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use warden_console::RequestView;
use warden_core::{ApprovalAnswer, ApprovalKind};
use warden_store::PendingRequest;

/// How long the CLI waits for the gateway to accept the connection, and for its answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// Where the running gateway is, or `--offline`.
#[derive(clap::Args, Debug, Clone)]
pub struct GatewayArg {
    /// The running gateway's console address, whose approvers' API takes the answer (default:
    /// `http://<[gateway] listen>/console` from the config)
    #[arg(long, env = "WARDEN_GATEWAY", value_name = "URL")]
    pub gateway: Option<String>,
    /// Write the state directory and the ledger directly instead of asking the running gateway
    /// (needs both, and the ledger's key; for when no gateway runs)
    #[arg(long)]
    pub offline: bool,
}

impl GatewayArg {
    /// The console address: `--gateway` (or `WARDEN_GATEWAY`), else the one the configuration
    /// listens on, on loopback when it listens on every address.
    fn console(&self, config: &ConfigArg) -> anyhow::Result<reqwest::Url> {
        let text = match &self.gateway {
            Some(url) => url.clone(),
            None => {
                let config = super::load_config(config)?;
                format!("http://{}/console", reachable(config.gateway.listen))
            }
        };
        let url = reqwest::Url::parse(text.trim()).with_context(|| {
            format!("`{text}` is not a gateway URL (`http://host:port/console`)")
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            anyhow::bail!("`{text}` is not a gateway URL (`http://host:port/console`)");
        }
        Ok(url)
    }
}

/// Where a gateway listening on `listen` is reached from this machine.
fn reachable(listen: SocketAddr) -> SocketAddr {
    match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), listen.port())
        }
        _ => listen,
    }
}

/// The approver's token as given, or what to set.
pub fn token<'a>(approver: &str, token: Option<&'a str>) -> anyhow::Result<&'a str> {
    token.map(str::trim).filter(|t| !t.is_empty()).ok_or_else(|| {
        anyhow::anyhow!(
            "no approver token: set `WARDEN_APPROVER_TOKEN` to the token of approver `{approver}` (or give --token)"
        )
    })
}

/// The approvers' API of one gateway, as one approver.
pub struct Api {
    console: reqwest::Url,
    client: reqwest::Client,
    approver: String,
    token: String,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("console", &self.console.as_str())
            .field("approver", &self.approver)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Api {
    pub fn new(
        gateway: &GatewayArg,
        config: &ConfigArg,
        approver: &str,
        token: Option<&str>,
    ) -> anyhow::Result<Self> {
        let token = self::token(approver, token)?.to_string();
        let console = gateway.console(config)?;
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(ANSWER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("cannot make an HTTP client")?;
        Ok(Self {
            console,
            client,
            approver: approver.to_string(),
            token,
        })
    }

    /// The address of `segments` under the API, each segment escaped.
    fn url(&self, segments: &[&str]) -> anyhow::Result<reqwest::Url> {
        let mut url = self.console.clone();
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("`{}` is not a gateway URL", self.console))?
            .pop_if_empty()
            .push("api")
            .extend(segments);
        Ok(url)
    }

    /// `GET`, `None` when the gateway answers 404 (no such request).
    pub async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> anyhow::Result<Option<T>> {
        let mut url = self.url(segments)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let request = self.client.get(url);
        self.send(request).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &impl Serialize,
    ) -> anyhow::Result<T> {
        let url = self.url(segments)?;
        let request = self.client.post(url).json(body);
        self.send(request)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no such request"))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<Option<T>> {
        let response = request
            .bearer_auth(&self.token)
            .header(warden_console::APPROVER_HEADER, &self.approver)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| anyhow::anyhow!("cannot read the gateway's answer: {e}"))?;
        if status.is_success() {
            return serde_json::from_slice(&body)
                .map(Some)
                .context("the gateway's answer is not what this warden reads (another version?)");
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("error")?.as_str().map(str::to_string));
        match message {
            Some(m) => Err(anyhow::anyhow!("{m}")),
            None => Err(anyhow::anyhow!(
                "the gateway at `{}` answered HTTP {status} without an approvers' API (is it warden?)",
                self.console
            )),
        }
    }

    fn unreachable(&self, e: &reqwest::Error) -> anyhow::Error {
        let cause = std::error::Error::source(e)
            .map(ToString::to_string)
            .unwrap_or_else(|| e.to_string());
        anyhow::anyhow!(
            "cannot reach the gateway at `{}` ({cause}): start `warden serve`, or point --gateway \
             (WARDEN_GATEWAY) at its console; --offline writes the state directory and the \
             ledger directly instead, which needs both and the ledger's key",
            self.console
        )
    }
}

/// A request as the gateway shows it (its answers as the ledger records them), in the shape
/// `approvals list` and `show` print, `--json` included.
pub fn as_stored(v: RequestView) -> PendingRequest {
    PendingRequest {
        approval: if v.approvals_needed >= 2 {
            ApprovalKind::TwoPerson
        } else {
            ApprovalKind::Required
        },
        answers: v
            .answers
            .into_iter()
            .map(|a| ApprovalAnswer {
                approver: a.approver,
                verdict: a.verdict,
                reason: a.reason,
                at_ms: a.at_ms,
            })
            .collect(),
        evidence: v
            .evidence
            .into_iter()
            .map(|e| {
                serde_json::Value::String(if e.summary.is_empty() {
                    e.tool
                } else {
                    format!("{} — {}", e.tool, e.summary)
                })
            })
            .collect(),
        id: v.id,
        created_ms: v.created_ms,
        principal: v.principal,
        session: v.session,
        tool: v.tool,
        args: v.args,
        args_digest: v.args_digest,
        policy_version: v.policy_version,
        rule: v.rule,
        status: v.status,
        rationale: v.rationale,
        category: v.category,
        stakes: v.stakes,
        owner: v.owner,
        expires_ms: v.expires_ms,
        escalated: v.escalated,
        revision: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_reached_on_loopback() {
        let at = |s: &str| reachable(s.parse().unwrap()).to_string();
        assert_eq!(at("0.0.0.0:8700"), "127.0.0.1:8700");
        assert_eq!(at("[::]:8700"), "[::1]:8700");
        assert_eq!(at("10.0.0.5:8700"), "10.0.0.5:8700");
    }

    #[test]
    fn request_ids_are_one_escaped_segment() {
        let api = Api {
            console: reqwest::Url::parse("http://127.0.0.1:8700/console").unwrap(),
            client: reqwest::Client::new(),
            approver: "alice".into(),
            token: "t".into(),
        };
        let url = api.url(&["requests", "../../mcp?x=1"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8700/console/api/requests/..%2F..%2Fmcp%3Fx=1"
        );
        assert!(!format!("{api:?}").contains("\"t\""));
    }
}
