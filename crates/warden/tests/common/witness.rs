//! A C2SP tlog-witness in the test's process (<https://c2sp.org/tlog-witness>): it checks the
//! log's signature with the log's verifier key, checks the consistency proof from the size it
//! last cosigned with the ledger crate's verifier, remembers the new size and root, and answers
//! with an Ed25519 cosignature (type 0x04) made here from the spec's words, with a key of its
//! own. Tests can make it misbehave: sign with another key, sign another checkpoint, or hang
//! until released.
#![allow(dead_code)]

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey};
use sha2::{Digest as _, Sha256};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use warden_ledger::{
    AddCheckpoint, CheckpointError, CheckpointVerifier, EMPTY_ROOT, Hash, verify_consistency,
};

pub const WITNESS_NAME: &str = "witness.test/w1";

/// How the witness answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// As the spec says.
    Honest,
    /// Cosigns with a key other than the one it is known by (same name).
    WrongKey,
    /// Cosigns, with its own key, a checkpoint one leaf larger than the one sent.
    OtherCheckpoint,
    /// Answers a blank line, then a valid cosignature over the whole signed note (so the
    /// line would verify if the blank line moved where the note's text ends).
    BlankLine,
    /// Waits, before reading the request, until the test releases it.
    Hang,
    /// Answers every request `409` naming this size, whatever it cosigned (a hostile witness,
    /// or someone on the path).
    Claims(u64),
    /// Cosigns as the spec says, but answers 99 valid lines, each with another timestamp.
    ManyLines,
    /// Answers `500` with a long text of many lines.
    Noisy,
}

/// One request as the witness saw it: `(old, checkpoint size, status answered)`.
pub type Seen = (u64, u64, u16);

struct Shared {
    key: SigningKey,
    wrong_key: SigningKey,
    log_pub: Mutex<PathBuf>,
    /// The size and root it last cosigned: checked and replaced under one lock.
    cosigned: Mutex<(u64, Hash)>,
    seen: Mutex<Vec<Seen>>,
    mode: Mutex<Mode>,
    released: tokio::sync::watch::Sender<bool>,
    entered: Mutex<mpsc::Sender<()>>,
}

pub struct TestWitness {
    /// The submission prefix.
    pub url: String,
    /// The key it cosigns with, as warden is configured with it.
    pub vkey: String,
    shared: Arc<Shared>,
    entered: Mutex<mpsc::Receiver<()>>,
}

fn key_id(name: &str, key: &SigningKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', 0x04]);
    h.update(key.verifying_key().as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// `— <name> base64(key id || u64 time || Ed25519 over "cosignature/v1\ntime T\n<body>")`.
fn cosign(name: &str, key: &SigningKey, body: &str, time: u64) -> String {
    let message = format!("cosignature/v1\ntime {time}\n{body}");
    let signature = key.sign(message.as_bytes()).to_bytes();
    let blob = [&key_id(name, key)[..], &time.to_be_bytes(), &signature].concat();
    format!("\u{2014} {name} {}\n", BASE64.encode(blob))
}

impl TestWitness {
    /// Starts a witness on loopback that trusts the log key in `log_pub` (read per request,
    /// so the log may create it after the witness starts).
    pub fn start(log_pub: PathBuf) -> Self {
        let key = SigningKey::from_bytes(&rand::random());
        let vkey = format!(
            "{WITNESS_NAME}+{}+{}",
            hex::encode(key_id(WITNESS_NAME, &key)),
            BASE64.encode([&[0x04u8][..], key.verifying_key().as_bytes()].concat())
        );
        let (entered_tx, entered_rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            key,
            wrong_key: SigningKey::from_bytes(&rand::random()),
            log_pub: Mutex::new(log_pub),
            cosigned: Mutex::new((0, EMPTY_ROOT)),
            seen: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Honest),
            released: tokio::sync::watch::channel(false).0,
            entered: Mutex::new(entered_tx),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/w1", listener.local_addr().unwrap());
        let state = shared.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new()
                    .route("/w1/add-checkpoint", axum::routing::post(add_checkpoint))
                    .with_state(state);
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self {
            url,
            vkey,
            shared,
            entered: Mutex::new(entered_rx),
        }
    }

    /// Trusts the log key in `log_pub` from now on.
    pub fn trust(&self, log_pub: PathBuf) {
        *self.shared.log_pub.lock().unwrap() = log_pub;
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Lets every hung request go on.
    pub fn release(&self) {
        self.shared.released.send_replace(true);
    }

    /// Waits until a request is hanging in the witness.
    pub fn wait_until_entered(&self) {
        self.entered
            .lock()
            .unwrap()
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("no request reached the witness");
    }

    /// The size it last cosigned.
    pub fn size(&self) -> u64 {
        self.shared.cosigned.lock().unwrap().0
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }
}

async fn add_checkpoint(State(s): State<Arc<Shared>>, body: String) -> Response {
    let mode = *s.mode.lock().unwrap();
    if mode == Mode::Hang {
        let _ = s.entered.lock().unwrap().send(());
        let mut released = s.released.subscribe();
        let _ = released.wait_for(|r| *r).await;
    }
    let (status, answer) = answer(&s, mode, &body);
    let size = AddCheckpoint::parse(&body)
        .ok()
        .and_then(|r| r.note.lines().nth(1).and_then(|l| l.parse().ok()))
        .unwrap_or(u64::MAX);
    let old = AddCheckpoint::parse(&body).map_or(u64::MAX, |r| r.old);
    s.seen.lock().unwrap().push((old, size, status.as_u16()));
    let content_type = if status == StatusCode::CONFLICT {
        "text/x.tlog.size"
    } else {
        "text/plain; charset=utf-8"
    };
    (status, [(header::CONTENT_TYPE, content_type)], answer).into_response()
}

fn answer(s: &Shared, mode: Mode, body: &str) -> (StatusCode, String) {
    let Ok(request) = AddCheckpoint::parse(body) else {
        return (StatusCode::BAD_REQUEST, "malformed request\n".into());
    };
    match mode {
        Mode::Claims(size) => return (StatusCode::CONFLICT, format!("{size}\n")),
        Mode::Noisy => {
            let text = format!("ERROR forged log line\n{}\n", "x".repeat(10_000));
            return (StatusCode::INTERNAL_SERVER_ERROR, text);
        }
        _ => {}
    }
    let log_pub = s.log_pub.lock().unwrap().clone();
    let Ok(vkey) = std::fs::read_to_string(log_pub) else {
        return (StatusCode::NOT_FOUND, "unknown log\n".into());
    };
    let verifier = CheckpointVerifier::parse(vkey.trim()).unwrap();
    let checkpoint = match verifier.open(&request.note) {
        Ok(c) => c,
        Err(CheckpointError::OriginMismatch { .. }) => {
            return (StatusCode::NOT_FOUND, "unknown origin\n".into());
        }
        Err(e) => return (StatusCode::FORBIDDEN, format!("{e}\n")),
    };
    let (size, root) = (checkpoint.size(), *checkpoint.root());
    if request.old > size {
        return (StatusCode::BAD_REQUEST, "old size is larger\n".into());
    }
    // The check and the new state under one lock: the spec's atomic update.
    let mut cosigned = s.cosigned.lock().unwrap();
    if request.old != cosigned.0 {
        return (StatusCode::CONFLICT, format!("{}\n", cosigned.0));
    }
    let consistent = if request.old == 0 {
        request.proof.is_empty() && (size > 0 || root == EMPTY_ROOT)
    } else {
        verify_consistency(request.old, size, &cosigned.1, &root, &request.proof).is_ok()
    };
    if !consistent {
        return (StatusCode::UNPROCESSABLE_ENTITY, "inconsistent\n".into());
    }
    *cosigned = (size, root);
    drop(cosigned);
    let text = request.note.split_once("\n\n").unwrap().0.to_owned() + "\n";
    let time = 1_800_000_000;
    if mode == Mode::BlankLine {
        return (
            StatusCode::OK,
            format!(
                "\n{}",
                cosign(WITNESS_NAME, &s.key, &request.note, 1_800_000_000)
            ),
        );
    }
    if mode == Mode::ManyLines {
        let lines: String = (0..99)
            .map(|i| cosign(WITNESS_NAME, &s.key, &text, time + i))
            .collect();
        return (StatusCode::OK, lines);
    }
    let line = match mode {
        Mode::Honest
        | Mode::Hang
        | Mode::BlankLine
        | Mode::ManyLines
        | Mode::Claims(_)
        | Mode::Noisy => cosign(WITNESS_NAME, &s.key, &text, time),
        Mode::WrongKey => cosign(WITNESS_NAME, &s.wrong_key, &text, time),
        Mode::OtherCheckpoint => {
            let other = text.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1);
            cosign(WITNESS_NAME, &s.key, &other, time)
        }
    };
    (StatusCode::OK, line)
}
