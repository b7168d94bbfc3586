//! The files of a lab server, and the one place a tool call touches them.
//!
//! State lives in plain JSON files so a test, or a person, can look at it from outside
//! the server process, and each call re-reads it, so several server processes (a stdio
//! and an HTTP one, say) never act on a stale copy. Writes go to a temporary file that is
//! renamed over the old one, so a reader never sees half a file. The call log is appended
//! *before* the tool runs: it is the evidence of what reached the server, and must exist
//! even when the tool then fails.
//!
//! The inventory (`inventory.json`, see `inventory`) is derived from the tickets, EDR and
//! IdP states and rewritten, under the same lock, right after a change of the tickets state,
//! and when a lab server starts (the tickets server always, the others only if there is
//! none yet), so it exists from the lab's first start.
//!
//! Writers in one process are serialised by a mutex held only around this synchronous
//! file work (never across an `.await`). Two processes mutating the same server's state
//! at the same instant could lose an update; the lab runs one server process per state
//! file when it matters.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use rmcp::model::JsonObject;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::servers::edr::Edr;
use crate::servers::idp::Idp;
use crate::servers::mail::Mail;
use crate::servers::siem::Siem;
use crate::servers::tickets::Tickets;
use crate::sim::{CallContext, CallError, Reply, Simulation};
use crate::{LabError, LabServer, inventory};

/// One `tools/call` as the server received it, before it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceivedCall {
    /// The tool name as sent, without any gateway namespace (`isolate_host`).
    pub tool: String,
    /// The arguments object as sent; empty when the call had none.
    pub arguments: Value,
    /// When the call arrived, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
}

/// Serialises read-modify-write cycles of every lab server in this process.
static WRITE_LOCK: Mutex<()> = Mutex::new(());
/// Makes temporary file names unique within the process; the pid makes them unique across.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Paths of one server's files inside a state directory.
pub(crate) struct Files {
    dir: PathBuf,
    name: &'static str,
}

impl Files {
    pub(crate) fn new(dir: &Path, name: &'static str) -> Self {
        Self {
            dir: dir.to_path_buf(),
            name,
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.join(format!("{}.json", self.name))
    }

    fn calls(&self) -> PathBuf {
        self.dir.join(format!("{}.calls.jsonl", self.name))
    }

    fn descriptions(&self) -> PathBuf {
        self.dir.join(format!("{}.descriptions.json", self.name))
    }
}

/// Records the call, then runs it against the freshly read state and writes the state
/// back if it changed (or if this was the first use and the seed is not on disk yet).
///
/// The outer `Result` is the lab failing; the inner one is the tool's own answer.
pub(crate) fn execute<S: Simulation>(
    dir: &Path,
    tool: &str,
    args: &JsonObject,
    cx: &CallContext,
    at_unix_ms: u64,
) -> Result<Result<Reply, CallError>, LabError> {
    let files = Files::new(dir, S::NAME);
    let _guard = WRITE_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    append_call(
        &files,
        &ReceivedCall {
            tool: tool.to_owned(),
            arguments: Value::Object(args.clone()),
            at_unix_ms,
        },
    )?;
    let (mut state, on_disk) = load::<S>(&files)?;
    let outcome = S::call(&mut state, tool, args, cx);
    let changed = outcome.as_ref().is_ok_and(|reply| reply.changed);
    if changed || !on_disk {
        save(&files.state(), &state)?;
    }
    if changed && S::FEEDS_INVENTORY {
        write_inventory_locked(dir)?;
    }
    Ok(outcome)
}

/// Rewrites `inventory.json` from the current states.
pub(crate) fn write_inventory(dir: &Path) -> Result<(), LabError> {
    let _guard = WRITE_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    write_inventory_locked(dir)
}

fn write_inventory_locked(dir: &Path) -> Result<(), LabError> {
    let (tickets, _) = load::<Tickets>(&Files::new(dir, Tickets::NAME))?;
    let (edr, _) = load::<Edr>(&Files::new(dir, Edr::NAME))?;
    let (idp, _) = load::<Idp>(&Files::new(dir, Idp::NAME))?;
    let (siem, _) = load::<Siem>(&Files::new(dir, Siem::NAME))?;
    let (mail, _) = load::<Mail>(&Files::new(dir, Mail::NAME))?;
    let entities = inventory::entities(
        &tickets.inventory(),
        &edr.inventory(),
        &idp.inventory(),
        &siem.inventory(),
        &mail.forwarding_outside(),
    );
    save(&dir.join(inventory::FILE), &entities)
}

/// The server's current state as JSON: the file if it exists, else the seed. Reading
/// never creates files.
pub(crate) fn read_state<S: Simulation>(dir: &Path) -> Result<Value, LabError> {
    let files = Files::new(dir, S::NAME);
    match read_optional(&files.state())? {
        Some(text) => serde_json::from_str(&text).map_err(|source| LabError::Corrupt {
            path: files.state(),
            source,
        }),
        None => serde_json::from_str(S::SEED).map_err(|source| LabError::Seed {
            server: S::NAME,
            source,
        }),
    }
}

/// Every call recorded so far, oldest first; none when the log does not exist yet.
pub(crate) fn received_calls(
    dir: &Path,
    name: &'static str,
) -> Result<Vec<ReceivedCall>, LabError> {
    let path = Files::new(dir, name).calls();
    let Some(text) = read_optional(&path)? else {
        return Ok(Vec::new());
    };
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|source| LabError::Corrupt {
                path: path.clone(),
                source,
            })
        })
        .collect()
}

/// What a test makes a server say about one of its tools (a "rug pull"): a new description, or
/// a description and a title.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum DefinitionOverride {
    Description(String),
    Fields {
        #[serde(default)]
        description: Option<String>,
        #[serde(default)]
        title: Option<String>,
    },
}

/// The tool definition overrides (`<server>.descriptions.json`: tool name → a description, or
/// `{"description", "title"}`), read afresh on every `tools/list`; `None` when absent.
pub(crate) fn description_overrides(
    dir: &Path,
    name: &'static str,
) -> Result<Option<BTreeMap<String, DefinitionOverride>>, LabError> {
    let path = Files::new(dir, name).descriptions();
    read_optional(&path)?
        .map(|text| {
            serde_json::from_str(&text).map_err(|source| LabError::Corrupt { path, source })
        })
        .transpose()
}

/// Creates the state directory if needed, so a bad path fails at start, not at first call,
/// and writes the inventory: always when `server` is the tickets server, whose state it
/// follows, and otherwise only when there is none yet (several servers start at once, and
/// only the tickets server's view of the incidents is sure to be current).
pub(crate) fn prepare(dir: &Path, server: LabServer) -> Result<(), LabError> {
    fs::create_dir_all(dir).map_err(|source| LabError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if server == LabServer::Tickets || read_optional(&dir.join(inventory::FILE))?.is_none() {
        write_inventory(dir)?;
    }
    Ok(())
}

fn load<S: Simulation>(files: &Files) -> Result<(S::State, bool), LabError> {
    let path = files.state();
    match read_optional(&path)? {
        Some(text) => serde_json::from_str(&text)
            .map(|state| (state, true))
            .map_err(|source| LabError::Corrupt { path, source }),
        None => serde_json::from_str(S::SEED)
            .map(|state| (state, false))
            .map_err(|source| LabError::Seed {
                server: S::NAME,
                source,
            }),
    }
}

fn save<T: Serialize>(path: &Path, state: &T) -> Result<(), LabError> {
    let io_error = |source| LabError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut text = serde_json::to_string_pretty(state).map_err(|source| LabError::Corrupt {
        path: path.to_path_buf(),
        source,
    })?;
    text.push('\n');
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    fs::write(&temp, text).map_err(io_error)?;
    fs::rename(&temp, path).map_err(|source| {
        let _ = fs::remove_file(&temp);
        io_error(source)
    })
}

fn append_call(files: &Files, call: &ReceivedCall) -> Result<(), LabError> {
    let path = files.calls();
    let mut line = serde_json::to_string(call).map_err(|source| LabError::Corrupt {
        path: path.clone(),
        source,
    })?;
    line.push('\n');
    // The whole line goes out in one `write_all` to an append-mode file, so lines written
    // by several processes land one after another rather than mixed.
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(line.as_bytes()))
        .map_err(|source| LabError::Io { path, source })
}

fn read_optional(path: &Path) -> Result<Option<String>, LabError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LabError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}
