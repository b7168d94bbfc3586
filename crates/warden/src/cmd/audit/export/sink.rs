//! Where exported records go, and what counts as "taken" for each.
//!
//! | destination | request | acknowledged when |
//! |---|---|---|
//! | `stdout` | one JSON line per record | written and flushed |
//! | `file` | one JSON line per record, appended | written and fsynced |
//! | `splunk-hec` | `POST <url>/services/collector/event`, `Authorization: Splunk <token>`, one `{"time", "source", "sourcetype", "event"}` object per line | 2xx and `"code": 0` |
//! | `elastic-bulk` | `POST <url>/_bulk`, `Authorization: ApiKey <key>`, NDJSON `create` actions with `_id` = `metadata.uid` | 2xx and every item created, or refused as already there (409) |
//!
//! The token is read from the environment or a file, never from an argument (which `ps` shows)
//! or the configuration; it goes over HTTPS, or plain HTTP to a loopback collector only, and
//! redirects are not followed (a redirect would carry it elsewhere).

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Standard output, one JSON line per record
    Stdout,
    /// A file, appended (--out)
    File,
    /// Splunk's HTTP Event Collector (--url, token in --token-env or --token-file)
    SplunkHec,
    /// Elasticsearch's bulk API (--url, API key in --token-env or --token-file)
    ElasticBulk,
}

impl Destination {
    pub fn name(self) -> &'static str {
        match self {
            Destination::Stdout => "stdout",
            Destination::File => "file",
            Destination::SplunkHec => "splunk-hec",
            Destination::ElasticBulk => "elastic-bulk",
        }
    }

    pub fn is_collector(self) -> bool {
        matches!(self, Destination::SplunkHec | Destination::ElasticBulk)
    }
}

pub struct Options {
    pub out: Option<PathBuf>,
    pub url: Option<String>,
    /// The collector's token, already read (`read_token`, or the config's secret).
    pub token: Option<String>,
    pub index: Option<String>,
    /// Replace the file instead of appending to it.
    pub replace: bool,
}

/// A collector's token; never printed.
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

pub enum Sink {
    Stdout(std::io::Stdout),
    File(std::io::BufWriter<std::fs::File>),
    Http(Http),
}

pub struct Http {
    client: reqwest::Client,
    url: reqwest::Url,
    token: Token,
    kind: Destination,
    index: Option<String>,
}

impl Sink {
    pub fn open(to: Destination, o: Options) -> anyhow::Result<Self> {
        if !to.is_collector() && o.url.is_some() {
            bail!("--url is for a collector: give --to splunk-hec or --to elastic-bulk");
        }
        Ok(match to {
            Destination::Stdout => {
                if o.out.is_some() {
                    bail!("--out names a file: give --to file, or leave --to out");
                }
                Sink::Stdout(std::io::stdout())
            }
            Destination::File => {
                let path = o.out.context("--to file needs --out <file>")?;
                let mut open = std::fs::OpenOptions::new();
                if o.replace {
                    open.write(true).create(true).truncate(true);
                } else {
                    open.append(true).create(true);
                }
                // The records carry every call's arguments and the agents' reasons, which the
                // ledger keeps sealed: a new file is the exporting user's alone, whatever the
                // umask (an existing one keeps the mode its owner gave it).
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    open.mode(0o600);
                }
                let file = open
                    .open(&path)
                    .with_context(|| format!("cannot open `{}`", path.display()))?;
                Sink::File(std::io::BufWriter::new(file))
            }
            Destination::SplunkHec | Destination::ElasticBulk => {
                if o.out.is_some() {
                    bail!("--out is for --to file; a collector takes --url");
                }
                let base = o
                    .url
                    .with_context(|| format!("--to {} needs --url", to.name()))?;
                let url = collector_url(&base, to)?;
                let token = Token(o.token.context("no collector token: set `WARDEN_EXPORT_TOKEN` (or give --token-env or --token-file)")?);
                let client = reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(Duration::from_secs(30))
                    .build()?;
                let index = match to {
                    Destination::ElasticBulk => {
                        Some(o.index.unwrap_or_else(|| "warden-ocsf".into()))
                    }
                    _ => o.index,
                };
                Sink::Http(Http {
                    client,
                    url,
                    token,
                    kind: to,
                    index,
                })
            }
        })
    }

    /// Delivers `records`; `Ok` only once the destination has taken all of them.
    pub async fn deliver(&mut self, records: &[Value]) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(out) => {
                // A terminal may be reading: what agents wrote is escaped as `\uXXXX`, the
                // same value for a program.
                let mut out = out.lock();
                for r in records {
                    writeln!(out, "{}", crate::output::json(r)?)?;
                }
                out.flush()?;
            }
            Sink::File(out) => {
                for r in records {
                    writeln!(out, "{r}")?;
                }
                out.flush()?;
                out.get_ref().sync_data()?;
            }
            Sink::Http(http) => http.post(records).await?,
        }
        Ok(())
    }

    pub fn finish(&mut self) -> anyhow::Result<()> {
        match self {
            Sink::Stdout(out) => out.flush()?,
            Sink::File(out) => {
                out.flush()?;
                out.get_ref().sync_data()?;
            }
            Sink::Http(_) => {}
        }
        Ok(())
    }
}

impl Http {
    async fn post(&self, records: &[Value]) -> anyhow::Result<()> {
        let (body, auth, content_type) = match self.kind {
            Destination::SplunkHec => (
                hec_body(records, self.index.as_deref()),
                format!("Splunk {}", self.token.0),
                "application/json",
            ),
            _ => (
                bulk_body(records, self.index.as_deref().unwrap_or("warden-ocsf")),
                format!("ApiKey {}", self.token.0),
                "application/x-ndjson",
            ),
        };
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::AUTHORIZATION, auth)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .with_context(|| format!("cannot reach `{}`", self.url))?;
        let status = response.status();
        let text = bounded_text(response).await;
        if !status.is_success() {
            bail!("`{}` answered {status}: {}", self.url, clip(&text));
        }
        let answer: Value = serde_json::from_str(&text)
            .with_context(|| format!("`{}` answered {status} with no JSON", self.url))?;
        match self.kind {
            Destination::SplunkHec => {
                if answer.get("code").and_then(Value::as_i64) != Some(0) {
                    bail!("Splunk did not take the events: {}", clip(&text));
                }
            }
            _ => bulk_taken(&answer, records.len())?,
        }
        Ok(())
    }
}

/// A collector's answer larger than this is cut: only its verdict matters.
const MAX_ANSWER: usize = 1024 * 1024;

/// The answer's text, at most [`MAX_ANSWER`] bytes of it (a hostile collector cannot grow
/// warden's memory with an endless body).
async fn bounded_text(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_ANSWER.saturating_sub(body.len());
        body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
        if body.len() >= MAX_ANSWER {
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// The collector's endpoint: the base URL with the API's path, if not already there. HTTPS,
/// or HTTP to a loopback host; no user or password in it (the token is the credential, and an
/// error message names the URL).
pub fn collector_url(base: &str, to: Destination) -> anyhow::Result<reqwest::Url> {
    let mut url = reqwest::Url::parse(base).with_context(|| format!("`{base}` is not a URL"))?;
    if !url.username().is_empty() || url.password().is_some() {
        bail!(
            "the collector URL carries a user or password: give the credential as the token (--token-env or --token-file), not in the URL"
        );
    }
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => bail!(
            "`{base}` is plain HTTP: the token would cross the network in clear; use https (plain HTTP is for a loopback collector only)"
        ),
        other => bail!("`{base}`: unsupported scheme `{other}`"),
    }
    let path = match to {
        Destination::SplunkHec => "/services/collector/event",
        _ => "/_bulk",
    };
    if !url.path().ends_with(path) {
        let joined = format!("{}{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
    }
    Ok(url)
}

/// The collector's token from the file, else the environment variable `env`.
pub fn read_token(env: &str, file: Option<&PathBuf>) -> anyhow::Result<String> {
    let token = match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the token file `{}`", path.display()))?,
        None => std::env::var(env).unwrap_or_default(),
    };
    let token = token.trim().to_owned();
    if token.is_empty() {
        match file {
            Some(path) => bail!("the token file `{}` is empty", path.display()),
            None => bail!("no collector token: set `{env}` (or give --token-env or --token-file)"),
        }
    }
    Ok(token)
}

/// Splunk HEC's event format: one JSON object per event, in one body.
fn hec_body(records: &[Value], index: Option<&str>) -> String {
    let mut body = String::new();
    for r in records {
        let time_ms = r.get("time").and_then(Value::as_i64).unwrap_or(0);
        let mut event = json!({
            "time": time_ms as f64 / 1000.0,
            "source": "warden",
            "sourcetype": "ocsf",
            "event": r,
        });
        if let (Some(index), Some(o)) = (index, event.as_object_mut()) {
            o.insert("index".into(), json!(index));
        }
        body.push_str(&event.to_string());
        body.push('\n');
    }
    body
}

/// Elasticsearch's bulk format: a `create` action naming the document id, then the document.
fn bulk_body(records: &[Value], index: &str) -> String {
    let mut body = String::new();
    for r in records {
        let id = r
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default();
        body.push_str(&json!({"create": {"_index": index, "_id": id}}).to_string());
        body.push('\n');
        body.push_str(&r.to_string());
        body.push('\n');
    }
    body
}

/// Whether a bulk answer took every record: created, or already there from an earlier try.
fn bulk_taken(answer: &Value, sent: usize) -> anyhow::Result<()> {
    if answer.get("errors") == Some(&Value::Bool(false)) {
        return Ok(());
    }
    let items = answer
        .get("items")
        .and_then(Value::as_array)
        .context("the bulk answer has no `items`")?;
    if items.len() != sent {
        bail!(
            "the bulk answer has {} items for {sent} records",
            items.len()
        );
    }
    for item in items {
        let status = item
            .pointer("/create/status")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if !(200..300).contains(&status) && status != 409 {
            bail!(
                "Elasticsearch refused a record ({status}): {}",
                clip(&item.to_string())
            );
        }
    }
    Ok(())
}

fn clip(text: &str) -> String {
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collector_url_with_a_password_is_refused_without_repeating_it() {
        let err = collector_url(
            "https://u:hunter2@splunk.example:8088",
            Destination::SplunkHec,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("user or password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn tokens_go_to_loopback_or_over_https_only() {
        let hec = collector_url("https://splunk.example:8088", Destination::SplunkHec).unwrap();
        assert_eq!(
            hec.as_str(),
            "https://splunk.example:8088/services/collector/event"
        );
        let bulk = collector_url("http://127.0.0.1:9200/", Destination::ElasticBulk).unwrap();
        assert_eq!(bulk.as_str(), "http://127.0.0.1:9200/_bulk");
        let err = collector_url("http://splunk.example:8088", Destination::SplunkHec)
            .unwrap_err()
            .to_string();
        assert!(err.contains("plain HTTP"), "{err}");
    }

    #[test]
    fn a_bulk_answer_counts_duplicates_as_taken_and_anything_else_as_not() {
        let dup = json!({"errors": true, "items": [
            {"create": {"status": 201}}, {"create": {"status": 409}}]});
        bulk_taken(&dup, 2).unwrap();
        let bad = json!({"errors": true, "items": [
            {"create": {"status": 201}}, {"create": {"status": 429}}]});
        assert!(bulk_taken(&bad, 2).is_err());
        assert!(bulk_taken(&json!({"errors": true, "items": []}), 2).is_err());
    }

    #[test]
    fn the_token_is_never_printed() {
        assert_eq!(format!("{:?}", Token("s3cret".into())), "Token([redacted])");
    }
}
