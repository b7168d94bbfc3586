//! `warden init`: connect to an MCP server, read its tools, and write a draft config section and
//! a policy skeleton for a human to review.
//!
//! The draft is conservative by construction. A tool is a `read` only when the server's
//! annotations say read-only *and* its name agrees (a read verb, no write verb); every other
//! tool is a `write` with `stakes = "high"` and `reversible = false`, so until someone edits it
//! warden's floor holds it for a human. Each tool is pinned to the definition seen now, so a
//! server that later changes it is withheld until re-pinned. Arguments are declared from the
//! input schema; one warden has no type for is left out, and a call that sends it is refused.
//! The policy skeleton permits this server's reads and nothing else.
//!
//! Secrets stay out of the files: a header or environment value written `${VAR}` is read from
//! the environment to connect now and written to the draft as `{ env = "VAR" }`. Nothing is ever
//! overwritten: both files are created new or the command fails before writing either.

use anyhow::Context;
use rmcp::model::Tool;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, value};
use warden_gateway::catalog::definition_digest;
use warden_gateway::upstream::{McpUpstream, Upstream};
use warden_policy::{SecretSource, ServerSpec, Transport, UpstreamProtocol};

#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["url", "command"])))]
pub struct Args {
    /// The server's name in warden: `[servers.<name>]`, its tools `<name>.<tool>`
    #[arg(long)]
    server: String,
    /// A Streamable HTTP server's URL
    #[arg(long)]
    url: Option<String>,
    /// A header for the URL, `Name=value`; `${VAR}` at the end of the value reads warden's
    /// environment now and is written to the draft as `{ env = "VAR" }` (`${file:PATH}` reads
    /// a file): `--header 'Authorization=Bearer ${SPLUNK_TOKEN}'`
    #[arg(long = "header", requires = "url", value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// A stdio server's program; its arguments follow `--`
    #[arg(long)]
    command: Option<String>,
    /// An environment entry for the stdio server, written as `--header` takes its value
    #[arg(long = "env", requires = "command", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// How to open the MCP connection: auto, initialize or 2026-07-28 (default: auto over
    /// HTTP, initialize over stdio)
    #[arg(long, value_parser = parse_protocol)]
    protocol: Option<UpstreamProtocol>,
    /// The draft config section to write (a new file); the policy skeleton is written beside
    /// it, with the extension `.cedar`
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// How long the server may take to answer
    #[arg(long, default_value_t = 30)]
    timeout_secs: u64,
    /// The stdio server's arguments
    #[arg(last = true)]
    args: Vec<String>,
}

fn parse_protocol(text: &str) -> Result<UpstreamProtocol, String> {
    match text {
        "auto" => Ok(UpstreamProtocol::Auto),
        "initialize" => Ok(UpstreamProtocol::Initialize),
        "2026-07-28" => Ok(UpstreamProtocol::Sessionless),
        other => Err(format!(
            "`{other}` is not a protocol: auto, initialize or 2026-07-28"
        )),
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !is_identifier(&args.server) {
        anyhow::bail!(
            "server name `{}` must be letters, digits, `_` or `-`",
            args.server
        );
    }
    let policy_out = args.out.with_extension("cedar");
    if policy_out == args.out {
        anyhow::bail!("--out must not end in `.cedar`: the policy skeleton is written there");
    }
    for path in [&args.out, &policy_out] {
        if path.exists() {
            anyhow::bail!(
                "`{}` exists; warden init never overwrites a file",
                path.display()
            );
        }
    }
    let (transport, written) = connection(&args)?;
    let protocol = args
        .protocol
        .unwrap_or_else(|| UpstreamProtocol::default_for(&transport));
    let spec = ServerSpec {
        name: args.server.clone(),
        transport,
        protocol,
    };
    let upstream = McpUpstream::new(spec, Duration::from_secs(args.timeout_secs.max(1)));
    let tools = upstream
        .list_tools()
        .await
        .map_err(|e| match e.said() {
            // What the server or its transport said is untrusted: shown escaped, one line.
            Some(said) => {
                let said: String = said.escape_debug().take(400).collect();
                anyhow::anyhow!("{}; it said: {said}", e.summary())
            }
            None => anyhow::anyhow!("{}", e.summary()),
        })
        .with_context(|| format!("cannot read the tools of `{}`", args.server))?;
    let drafts: Vec<Draft> = tools.iter().map(Draft::of).collect();
    let toml = draft_toml(
        &args.server,
        &written,
        protocol_text(args.protocol),
        &drafts,
    );
    let cedar = policy_skeleton(&args.server, &drafts);
    // Both files are created new: a file that appeared meanwhile is not overwritten, and the
    // draft is removed again when the skeleton cannot be written, so no half is left.
    write_new(&args.out, &toml)?;
    if let Err(e) = write_new(&policy_out, &cedar) {
        let _ = std::fs::remove_file(&args.out);
        return Err(e);
    }
    let reads = drafts.iter().filter(|d| d.read).count();
    let left_out: usize = drafts.iter().map(|d| d.left_out.len()).sum();
    eprintln!(
        "warden init: {} tools of `{}` written to {} ({reads} read, {} write held for a human), policy skeleton to {}",
        drafts.len(),
        args.server,
        args.out.display(),
        drafts.len() - reads,
        policy_out.display(),
    );
    if left_out > 0 {
        eprintln!(
            "warden init: {left_out} argument(s) have no warden type and are left out (see the comments); calls that send them are refused"
        );
    }
    eprintln!(
        "warden init: review every tool, add `{} = \"<owner>\"` to [owners], then add the section to your config and the skeleton to [policy] files",
        args.server
    );
    Ok(ExitCode::SUCCESS)
}

fn protocol_text(p: Option<UpstreamProtocol>) -> Option<&'static str> {
    p.map(|p| match p {
        UpstreamProtocol::Auto => "auto",
        UpstreamProtocol::Initialize => "initialize",
        UpstreamProtocol::Sessionless => "2026-07-28",
    })
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write `{}`", path.display()))
}

/// A header or environment value as given on the command line: what to send now, and what to
/// write to the draft.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Given {
    Literal(String),
    Env { var: String, prefix: String },
    File { path: String, prefix: String },
}

impl Given {
    /// `NAME=value`, `NAME=prefix${VAR}` or `NAME=prefix${file:PATH}`.
    fn parse(text: &str) -> anyhow::Result<(String, Given)> {
        let Some((name, v)) = text.split_once('=') else {
            anyhow::bail!("`{text}` is not NAME=VALUE");
        };
        let name = name.trim();
        if name.is_empty() {
            anyhow::bail!("`{text}` has no name before `=`");
        }
        let given = match v.find("${") {
            None => Given::Literal(v.to_string()),
            Some(at) => {
                let (prefix, rest) = v.split_at(at);
                let Some(inner) = rest
                    .strip_prefix("${")
                    .and_then(|r| r.strip_suffix('}'))
                    .filter(|i| !i.is_empty() && !i.contains(['{', '}']))
                else {
                    anyhow::bail!(
                        "`{name}`: `${{…}}` must close the value (`Bearer ${{TOKEN}}`, `${{file:token.txt}}`)"
                    );
                };
                match inner.strip_prefix("file:") {
                    Some(path) => Given::File {
                        path: path.to_string(),
                        prefix: prefix.to_string(),
                    },
                    None => Given::Env {
                        var: inner.to_string(),
                        prefix: prefix.to_string(),
                    },
                }
            }
        };
        Ok((name.to_string(), given))
    }

    fn source(&self) -> SecretSource {
        match self {
            Given::Literal(v) => SecretSource::Literal(v.clone()),
            Given::Env { var, prefix } => SecretSource::Env {
                var: var.clone(),
                prefix: prefix.clone(),
            },
            Given::File { path, prefix } => SecretSource::File {
                path: path.into(),
                prefix: prefix.clone(),
            },
        }
    }

    /// As the config writes it: never the value read from the environment or a file.
    fn toml(&self) -> toml_edit::Value {
        let from = |key: &str, what: &str, prefix: &str| {
            let mut t = InlineTable::new();
            t.insert(key, what.into());
            if !prefix.is_empty() {
                t.insert("prefix", prefix.into());
            }
            toml_edit::Value::InlineTable(t)
        };
        match self {
            Given::Literal(v) => v.as_str().into(),
            Given::Env { var, prefix } => from("env", var, prefix),
            Given::File { path, prefix } => from("file", path, prefix),
        }
    }
}

/// What the draft's server table says about how to reach it.
enum Written {
    Http {
        url: String,
        headers: BTreeMap<String, Given>,
    },
    Stdio {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, Given>,
    },
}

/// Whether a header or environment entry of this name usually carries a credential.
fn names_a_credential(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || [
        "token",
        "secret",
        "password",
        "passwd",
        "key",
        "credential",
        "auth",
        "session",
    ]
    .iter()
    .any(|w| lower.contains(w))
}

fn given_all(list: &[String]) -> anyhow::Result<BTreeMap<String, Given>> {
    let mut out = BTreeMap::new();
    for text in list {
        let (name, given) = Given::parse(text)?;
        // A credential written out would land in the draft (and the shell's history): it must
        // come from the environment or a file. A shell that expanded `"${VAR}"` in double
        // quotes hands warden the value itself, which is refused the same way.
        if matches!(given, Given::Literal(_)) && names_a_credential(&name) {
            anyhow::bail!(
                "`{name}` looks like a credential: give it as `{name}=${{VAR}}` (in single quotes, so the shell does not expand it) or `{name}=${{file:PATH}}`, never its value"
            );
        }
        if out.insert(name.clone(), given).is_some() {
            anyhow::bail!("`{name}` is given twice");
        }
    }
    Ok(out)
}

fn connection(args: &Args) -> anyhow::Result<(Transport, Written)> {
    let sources = |given: &BTreeMap<String, Given>| {
        given
            .iter()
            .map(|(k, g)| (k.clone(), g.source()))
            .collect::<BTreeMap<_, _>>()
    };
    match (&args.url, &args.command) {
        (Some(url), None) => {
            let parsed = reqwest::Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            let Some(parsed) = parsed else {
                anyhow::bail!("`{url}` is not an http(s) URL");
            };
            if !parsed.username().is_empty() || parsed.password().is_some() {
                anyhow::bail!(
                    "the URL carries a user or password: give the credential as a header from the environment (`--header 'Authorization=Basic ${{VAR}}'`)"
                );
            }
            let headers = given_all(&args.headers)?;
            let transport = Transport::Http {
                url: url.clone(),
                headers: sources(&headers),
                oauth: None,
                tls: Default::default(),
            };
            Ok((
                transport,
                Written::Http {
                    url: url.clone(),
                    headers,
                },
            ))
        }
        (None, Some(command)) => {
            let env = given_all(&args.env)?;
            let transport = Transport::Stdio {
                command: command.clone(),
                args: args.args.clone(),
                env: sources(&env),
            };
            Ok((
                transport,
                Written::Stdio {
                    command: command.clone(),
                    args: args.args.clone(),
                    env,
                },
            ))
        }
        _ => anyhow::bail!("give exactly one of --url or --command"),
    }
}

/// One tool as the draft declares it.
#[derive(Debug)]
struct Draft {
    name: String,
    /// Whether the draft labels it a read (annotations say read-only and the name agrees).
    read: bool,
    /// Why it is labelled as it is, for the comment above it.
    why: String,
    description: Option<String>,
    /// Argument name → warden type (`string`, `long?`, `enum:a|b`…).
    args: BTreeMap<String, String>,
    /// Arguments warden has no type for, and why.
    left_out: Vec<(String, String)>,
    /// Arguments that look like paths or files: bounding them to a root is the reviewer's job.
    paths: Vec<String>,
    pin: String,
    /// Warden cannot name this tool (its name is not letters, digits, `_`, `-` or `.`).
    unnamable: bool,
}

impl Draft {
    fn of(tool: &Tool) -> Self {
        let name = tool.name.to_string();
        let read_only = tool
            .annotations
            .as_ref()
            .and_then(|a| a.read_only_hint)
            .unwrap_or(false);
        let (read, why) = classify(&name, read_only);
        let (args, left_out, paths) = arguments(&tool.input_schema);
        let unnamable = name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        Self {
            name,
            read,
            why,
            description: tool.description.as_deref().map(first_line),
            args,
            left_out,
            paths,
            pin: definition_digest(tool),
            unnamable,
        }
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let line = line.trim();
    let mut out: String = line.chars().take(120).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    // A comment line ends at a line break; a control character would start a new one.
    out.chars()
        .filter(|c| !c.is_control() && !matches!(c, '\u{2028}' | '\u{2029}'))
        .collect()
}

/// Verbs that name reading. A tool is a read only if its name has one of these and none of
/// [`WRITE_WORDS`].
const READ_WORDS: &[&str] = &[
    "get", "list", "read", "search", "query", "describe", "show", "find", "lookup", "view",
    "fetch", "count", "stat", "stats", "info", "explain", "retrieve", "browse", "inspect",
    "lookup", "check", "validate", "preview", "download", "export", "tail", "head", "grep",
    "whois", "resolve",
];

/// Words that name a change: any of them makes the tool a write, whatever its annotations say.
const WRITE_WORDS: &[&str] = &[
    "write",
    "create",
    "delete",
    "remove",
    "rm",
    "update",
    "set",
    "put",
    "post",
    "patch",
    "edit",
    "move",
    "mv",
    "rename",
    "copy",
    "cp",
    "send",
    "disable",
    "enable",
    "isolate",
    "release",
    "kill",
    "run",
    "exec",
    "execute",
    "start",
    "stop",
    "restart",
    "reset",
    "close",
    "approve",
    "deny",
    "grant",
    "revoke",
    "add",
    "upload",
    "insert",
    "modify",
    "replace",
    "assign",
    "block",
    "unblock",
    "quarantine",
    "submit",
    "trigger",
    "deploy",
    "install",
    "uninstall",
    "purge",
    "drop",
    "truncate",
    "merge",
    "push",
    "commit",
    "publish",
    "invite",
    "share",
    "transfer",
    "pay",
    "apply",
    "change",
    "mark",
    "archive",
    "restore",
    "lock",
    "unlock",
    "suspend",
    "terminate",
    "cancel",
    "mkdir",
    "touch",
    "chmod",
    "chown",
    "save",
    "store",
    "upsert",
    "import",
    "sync",
    "clear",
    "wipe",
    "erase",
    "destroy",
    "revert",
    "rollback",
    "acknowledge",
    "ack",
    "resolve_incident",
    "escalate",
    "notify",
    "email",
    "message",
    "reply",
    "forward",
    "schedule",
    "book",
    "order",
    "buy",
    "sell",
    "sign",
    "encrypt",
    "decrypt",
    "login",
    "logout",
    "register",
    "subscribe",
    "unsubscribe",
    "follow",
    "like",
    "comment",
    "tag",
    "label",
    "link",
    "unlink",
    "attach",
    "detach",
    "mount",
    "unmount",
    "format",
    "build",
    "compile",
    "eval",
    "invoke",
    "call",
    "spawn",
    "fork",
    "shell",
    "bash",
    "sudo",
];

/// The words of a tool name: split at `_`, `-`, `.`, `/` and lower-to-upper case changes.
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Whether a tool is labelled a read, and why it is labelled as it is.
fn classify(name: &str, read_only_hint: bool) -> (bool, String) {
    let words = words(name);
    // A write word counts inside a longer word too (`logsanddelete`), when it is long enough
    // not to be a piece of an ordinary noun; short ones (`rm`, `set`, `add`) only as words.
    let write = words.iter().find(|w| {
        WRITE_WORDS
            .iter()
            .any(|v| w.as_str() == *v || (v.len() >= 4 && w.contains(v)))
    });
    let read = words.iter().find(|w| READ_WORDS.contains(&w.as_str()));
    match (read_only_hint, write, read) {
        (false, _, _) => (
            false,
            "the server does not say it is read-only: held as a high-stakes, irreversible write until reviewed".into(),
        ),
        (true, Some(w), _) => (
            false,
            format!("the server says read-only, but `{w}` in its name names a change: held as a high-stakes, irreversible write until reviewed"),
        ),
        (true, None, None) => (
            false,
            "the server says read-only, but its name has no read verb: held as a high-stakes, irreversible write until reviewed".into(),
        ),
        (true, None, Some(r)) => (
            true,
            format!("the server says read-only and its name agrees (`{r}`)"),
        ),
    }
}

type Arguments = (BTreeMap<String, String>, Vec<(String, String)>, Vec<String>);

/// Declares each property of an input schema as a warden argument type.
fn arguments(schema: &Map<String, Value>) -> Arguments {
    let mut args = BTreeMap::new();
    let mut left_out = Vec::new();
    let mut paths = Vec::new();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return (args, left_out, paths);
    };
    for (name, property) in properties {
        let (ty, nullable) = match arg_type(property) {
            Ok(t) => t,
            Err(why) => {
                left_out.push((name.clone(), why));
                continue;
            }
        };
        let optional = nullable || !required.contains(&name.as_str());
        if ty == "string" && looks_like_path(name) {
            paths.push(name.clone());
        }
        args.insert(name.clone(), if optional { format!("{ty}?") } else { ty });
    }
    (args, left_out, paths)
}

fn looks_like_path(name: &str) -> bool {
    words(name).iter().any(|w| {
        matches!(
            w.as_str(),
            "path"
                | "file"
                | "filename"
                | "dir"
                | "directory"
                | "folder"
                | "source"
                | "destination"
        )
    })
}

/// The warden type of one JSON schema property, and whether it may be null; or why there is
/// none.
fn arg_type(property: &Value) -> Result<(String, bool), String> {
    let kinds: Vec<&str> = match property.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let nullable = kinds.contains(&"null");
    let kinds: Vec<&str> = kinds.into_iter().filter(|k| *k != "null").collect();
    if let Some(values) = property.get("enum").and_then(Value::as_array) {
        let values: Option<Vec<&str>> = values.iter().map(Value::as_str).collect();
        return match values {
            Some(v)
                if !v.is_empty() && v.iter().all(|s| !s.is_empty() && !s.contains(['|', '?'])) =>
            {
                Ok((format!("enum:{}", v.join("|")), nullable))
            }
            _ => Err("an enum of values other than plain strings".into()),
        };
    }
    let ty = match kinds.as_slice() {
        ["string"] => match property.get("format").and_then(Value::as_str) {
            Some("email") => "email",
            Some("uri" | "url" | "iri") => "url",
            Some("hostname" | "idn-hostname") => "hostname",
            Some("ipv4" | "ipv6") => "ip",
            _ => "string",
        },
        // JSON numbers: warden's numbers are whole (Cedar's `Long`); a fraction is refused.
        ["integer"] | ["number"] => "long",
        ["boolean"] => "bool",
        ["array"] => {
            let items = property.get("items");
            let item_kind = items.and_then(|i| i.get("type")).and_then(Value::as_str);
            match item_kind {
                Some("string") => {
                    match items.and_then(|i| i.get("format")).and_then(Value::as_str) {
                        Some("email") => "set<email>",
                        _ => "set<string>",
                    }
                }
                other => {
                    return Err(format!(
                        "an array of {}: warden declares arrays of strings only",
                        other.unwrap_or("unspecified items")
                    ));
                }
            }
        }
        [] => return Err("no `type` in its schema".into()),
        [one] => return Err(format!("a JSON {one}: warden has no argument type for it")),
        many => {
            return Err(format!(
                "one of several types ({}): warden declares one type per argument",
                many.join(", ")
            ));
        }
    };
    Ok((ty.to_string(), nullable))
}

/// Comment lines. Every line passes through [`one_line`]: a tool's name, description, argument
/// names and schema words all come from the server, and a line break among them would end the
/// comment and write TOML of the server's choosing.
fn comment_lines(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| format!("# {}\n", one_line(l)))
        .collect()
}

/// Text kept on one line: control characters and Unicode line and paragraph separators
/// written as escapes.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

fn draft_toml(server: &str, written: &Written, protocol: Option<&str>, drafts: &[Draft]) -> String {
    let mut doc = DocumentMut::new();
    let mut servers = Table::new();
    servers.set_implicit(true);
    let mut table = Table::new();
    let mut header = vec![
        format!(
            "Drafted by `warden init` from the server's own tool list: {} tools.",
            drafts.len()
        ),
        "Review every tool before an agent uses it. A tool is a `read` only when the server says"
            .into(),
        "read-only and its name agrees; every other tool is a high-stakes, irreversible write"
            .into(),
        "that warden holds for a human until you label it. Each is pinned to the definition seen"
            .into(),
        "now: a changed definition is withheld until `warden tools pin`. Bound path arguments"
            .into(),
        "with `path:<root>`, and add the category's owner to [owners].".into(),
    ];
    for d in drafts.iter().filter(|d| d.unnamable) {
        header.push(format!(
            "NOT DECLARED: warden cannot name the tool `{}` (letters, digits, `_`, `-`, `.` only); agents cannot reach it",
            first_line(&d.name.escape_debug().to_string())
        ));
    }
    table.decor_mut().set_prefix(comment_lines(&header));
    match written {
        Written::Http { url, headers } => {
            table.insert("url", value(url.as_str()));
            if !headers.is_empty() {
                let mut h = InlineTable::new();
                for (name, given) in headers {
                    h.insert(name, given.toml());
                }
                table.insert("headers", value(h));
            }
        }
        Written::Stdio { command, args, env } => {
            table.insert("command", value(command.as_str()));
            let mut a = Array::new();
            for arg in args {
                a.push(arg.as_str());
            }
            table.insert("args", value(a));
            if !env.is_empty() {
                let mut e = InlineTable::new();
                for (name, given) in env {
                    e.insert(name, given.toml());
                }
                table.insert("env", value(e));
            }
        }
    }
    if let Some(p) = protocol {
        table.insert("protocol", value(p));
    }
    let mut tools = Table::new();
    tools.set_implicit(true);
    for d in drafts {
        let mut lines = Vec::new();
        if let Some(desc) = &d.description {
            lines.push(format!("{}: {desc}", d.name));
        }
        lines.push(d.why.clone());
        if d.unnamable {
            continue;
        }
        for p in &d.paths {
            lines.push(format!(
                "`{p}` looks like a path: declare it `path:<root>` to bound it to a folder"
            ));
        }
        for (arg, why) in &d.left_out {
            lines.push(format!(
                "`{arg}` is not declared ({why}); a call that sends it is refused"
            ));
        }
        let mut t = Table::new();
        t.decor_mut()
            .set_prefix(format!("\n{}", comment_lines(&lines)));
        t.insert("effect", value(if d.read { "read" } else { "write" }));
        t.insert("reversible", value(d.read));
        t.insert("stakes", value(if d.read { "low" } else { "high" }));
        t.insert("category", value(server));
        let mut a = InlineTable::new();
        for (name, ty) in &d.args {
            a.insert(name, ty.as_str().into());
        }
        t.insert("args", value(a));
        t.insert("pin", value(d.pin.as_str()));
        tools.insert(&d.name, Item::Table(t));
    }
    table.insert("tools", Item::Table(tools));
    servers.insert(server, Item::Table(table));
    doc.insert("servers", Item::Table(servers));
    doc.to_string()
}

fn cedar_string(s: &str) -> String {
    s.escape_default().to_string()
}

fn policy_skeleton(server: &str, drafts: &[Draft]) -> String {
    let reads: Vec<&Draft> = drafts.iter().filter(|d| d.read && !d.unnamable).collect();
    let writes: Vec<&Draft> = drafts.iter().filter(|d| !d.read && !d.unnamable).collect();
    let mut out = format!(
        "// Policy skeleton drafted by `warden init` for `{server}`: every agent may call its reads;\n\
         // nothing else is permitted (warden denies what no rule permits). Narrow the principal,\n\
         // add conditions on `context.args`, and add a rule per write you decide to allow.\n"
    );
    if reads.is_empty() {
        out.push_str("// No tool of this server was labelled a read: nothing is permitted.\n");
    } else {
        let actions: Vec<String> = reads
            .iter()
            .map(|d| {
                format!(
                    "    Action::\"{}.{}\"",
                    cedar_string(server),
                    cedar_string(&d.name)
                )
            })
            .collect();
        out.push_str(&format!(
            "\n@id(\"{id}-reads\")\n@justification(\"drafted by warden init: the server's read-only tools\")\npermit (\n  principal,\n  action in [\n{}\n  ],\n  resource\n);\n",
            actions.join(",\n"),
            id = cedar_string(server),
        ));
    }
    if !writes.is_empty() {
        out.push_str(
            "\n// Not permitted (held as high-stakes writes in the draft until reviewed):\n",
        );
        for d in writes {
            out.push_str(&format!("//   {server}.{}\n", d.name));
        }
    }
    out
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_tool_is_a_read_only_when_the_server_and_its_name_both_say_so() {
        assert!(classify("read_file", true).0);
        assert!(classify("listDirectory", true).0);
        assert!(classify("get_file_info", true).0);
        // The server's word alone is not enough…
        assert!(!classify("directory_tree", true).0);
        assert!(!classify("process_payment", true).0);
        // …nor a read verb beside a write verb…
        assert!(!classify("read_and_delete_mail", true).0);
        assert!(!classify("getAndResetCounter", true).0);
        // …nor the name alone.
        assert!(!classify("read_file", false).0);
    }

    #[test]
    fn schema_properties_become_warden_argument_types() {
        let schema = json!({
            "type": "object",
            "properties": {
                "path": {"type": "string"},
                "head": {"type": "number"},
                "count": {"type": "integer"},
                "dry": {"type": "boolean"},
                "to": {"type": "string", "format": "email"},
                "link": {"type": "string", "format": "uri"},
                "sort": {"type": "string", "enum": ["name", "size"]},
                "paths": {"type": "array", "items": {"type": "string"}},
                "edits": {"type": "array", "items": {"type": "object"}},
                "blob": {"type": "object"},
                "maybe": {"type": ["string", "null"]},
                "either": {"type": ["string", "integer"]},
            },
            "required": ["path", "paths", "maybe"],
        });
        let (args, left_out, paths) = arguments(schema.as_object().unwrap());
        let get = |k: &str| args.get(k).map(String::as_str);
        assert_eq!(get("path"), Some("string"));
        assert_eq!(get("head"), Some("long?"));
        assert_eq!(get("count"), Some("long?"));
        assert_eq!(get("dry"), Some("bool?"));
        assert_eq!(get("to"), Some("email?"));
        assert_eq!(get("link"), Some("url?"));
        assert_eq!(get("sort"), Some("enum:name|size?"));
        assert_eq!(get("paths"), Some("set<string>"));
        assert_eq!(get("maybe"), Some("string?"), "null allowed: optional");
        let mut out: Vec<&str> = left_out.iter().map(|(n, _)| n.as_str()).collect();
        out.sort_unstable();
        assert_eq!(out, ["blob", "edits", "either"]);
        assert_eq!(paths, ["path"]);
        // Every type written parses as warden's config reads it.
        for ty in args.values() {
            warden_policy::ArgType::parse(ty).unwrap();
        }
    }

    #[test]
    fn secrets_given_on_the_command_line_are_written_as_where_they_come_from() {
        let (name, g) = Given::parse("Authorization=Bearer ${SPLUNK_TOKEN}").unwrap();
        assert_eq!(name, "Authorization");
        assert_eq!(
            g,
            Given::Env {
                var: "SPLUNK_TOKEN".into(),
                prefix: "Bearer ".into()
            }
        );
        assert_eq!(
            g.toml().to_string().trim(),
            r#"{ env = "SPLUNK_TOKEN", prefix = "Bearer " }"#
        );
        let (_, g) = Given::parse("X-Key=${file:key.txt}").unwrap();
        assert_eq!(g.toml().to_string().trim(), r#"{ file = "key.txt" }"#);
        let (_, g) = Given::parse("X-Tenant=acme").unwrap();
        assert_eq!(g, Given::Literal("acme".into()));
        assert!(Given::parse("Authorization=Bearer ${TOKEN} trailing").is_err());
        assert!(Given::parse("no-equals").is_err());
    }

    #[test]
    fn a_hostile_schema_cannot_write_toml_of_its_own() {
        let evil = "x\n[servers.srv.tools.run]\neffect = \"read\"\n#";
        let mut properties = serde_json::Map::new();
        properties.insert(evil.into(), json!({"type": "object"}));
        properties.insert("path\u{2028}[[autonomy]]".into(), json!({"type": "string"}));
        let tool = Tool::new(
            "read_thing",
            "Reads.\n[[autonomy]]\nid = \"x\"",
            json!({"type": "object", "properties": properties})
                .as_object()
                .unwrap()
                .clone(),
        )
        .annotate(rmcp::model::ToolAnnotations::new().read_only(true));
        let draft = Draft::of(&tool);
        let text = draft_toml(
            "srv",
            &Written::Stdio {
                command: "x".into(),
                args: vec![],
                env: BTreeMap::new(),
            },
            None,
            &[draft],
        );
        let parsed: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(parsed.keys().collect::<Vec<_>>(), ["servers"], "{text}");
        let tools = parsed["servers"]["srv"]["tools"].as_table().unwrap();
        assert_eq!(tools.keys().collect::<Vec<_>>(), ["read_thing"], "{text}");
        assert!(!text.contains("\n[servers.srv.tools.run]"));
    }

    #[test]
    fn a_write_word_inside_a_longer_word_still_makes_a_write() {
        assert!(!classify("get_logsanddelete", true).0);
        assert!(!classify("list_files2delete", true).0);
        assert!(!classify("run_query", true).0);
        assert!(
            classify("get_address", true).0,
            "`add` is a word, not a piece"
        );
    }

    #[test]
    fn a_credential_given_as_its_value_is_refused() {
        for given in [
            "Authorization=Bearer sk-live-123",
            "X-Api-Key=abc",
            "SPLUNK_TOKEN=abc",
        ] {
            let err = given_all(&[given.to_string()]).unwrap_err().to_string();
            assert!(err.contains("looks like a credential"), "{err}");
            assert!(
                !err.contains("sk-live-123") && !err.contains("=abc"),
                "{err}"
            );
        }
        assert!(given_all(&["X-Tenant=acme".to_string()]).is_ok());
        assert!(given_all(&["Authorization=Bearer ${TOKEN}".to_string()]).is_ok());
    }

    #[test]
    fn a_hostile_description_cannot_break_out_of_its_comment() {
        assert_eq!(
            first_line("Reads a file.\r\n[servers.evil]"),
            "Reads a file."
        );
        assert_eq!(first_line("a\u{0085}b\u{2028}c\u{1b}[2J"), "abc[2J");
    }
}
