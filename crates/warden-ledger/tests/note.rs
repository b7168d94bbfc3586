//! Signed notes and checkpoints: interoperability vectors, round trips, refusals, and a golden
//! checkpoint text.

// Helpers outside `#[test]` functions are test code too; clippy.toml exempts only the latter.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken expectation must fail the test"
)]

use ed25519_dalek::SigningKey;
use warden_ledger::note::MAX_SIGNATURES;
use warden_ledger::{
    Checkpoint, CheckpointError, CheckpointVerifier, Hash, KeyError, Note, NoteError, NoteSigner,
    VerifierKey, open_note,
};

// From golang.org/x/mod, `sumdb/note/note_test.go` (the PeterNeumann key and note).
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n";
const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
    then you don't know what your problem is.\n\
    \n\
    \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

// From the C2SP signed-note specification's example (C2SP/C2SP, `signed-note.md`).
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo \
    Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

// A real sum.golang.org checkpoint, from google/trillian-examples,
// `formats/log/checkpoint_test.go` (`TestSumDBNoteParsing`).
const SUMDB_VKEY: &str = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8";
const SUMDB_CHECKPOINT: &str = "go.sum database tree\n6476701\n\
    mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk=\n\n\u{2014} sum.golang.org \
    Az3grsLX85Gz+s1SiTbgkuqxgItqFq7gsMUEyVnrsa9LM7Us9S+1xbFIGu95949rj4nPRYfvimWEPWL+o3GeoWwOoAw=\n";

fn fixed_signer(name: &str) -> NoteSigner {
    NoteSigner::new(name, SigningKey::from_bytes(&[7u8; 32])).unwrap()
}

#[test]
fn go_note_vector_verifies_and_signing_reproduces_it() {
    let vkey = VerifierKey::parse(PETER_VKEY).unwrap();
    assert_eq!(vkey.to_string(), PETER_VKEY);
    let note = open_note(PETER_NOTE, std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(note.text(), PETER_TEXT);
    assert_eq!(note.verified_by(), std::slice::from_ref(&vkey));

    let signer = NoteSigner::from_private_key(PETER_SKEY).unwrap();
    assert_eq!(signer.private_key_text(), PETER_SKEY);
    assert_eq!(signer.verifier_key(), vkey);
    assert_eq!(signer.sign(PETER_TEXT).unwrap(), PETER_NOTE);
}

#[test]
fn c2sp_spec_example_verifies() {
    let vkey = VerifierKey::parse(SPEC_VKEY).unwrap();
    assert_eq!(vkey.name(), "example.com/foo");
    assert_eq!(vkey.id().to_string(), "530d903a");
    let note = open_note(SPEC_NOTE, &[vkey]).unwrap();
    assert_eq!(note.text(), "This is an example message.\n");
}

#[test]
fn real_sumdb_checkpoint_opens() {
    let key = VerifierKey::parse(SUMDB_VKEY).unwrap();
    let verifier = CheckpointVerifier::new("go.sum database tree", key.clone());
    let checkpoint = verifier.open(SUMDB_CHECKPOINT).unwrap();
    assert_eq!(checkpoint.size(), 6_476_701);
    assert_eq!(
        checkpoint.root().to_base64(),
        "mb8QLQIs0Z0yP5Cstq6guj87oXWeC9gEM8oVikmm9Wk="
    );
    assert_eq!(checkpoint.note(), SUMDB_CHECKPOINT);

    let wrong_origin = CheckpointVerifier::new("Go rocks but I might have the wrong ID", key);
    assert!(matches!(
        wrong_origin.open(SUMDB_CHECKPOINT),
        Err(CheckpointError::OriginMismatch { .. })
    ));
}

#[test]
fn every_mangling_of_a_verifier_key_is_refused() {
    // As `TestNewVerifier` in sumdb/note: every proper substring and every single-byte change.
    let bytes = PETER_VKEY.as_bytes();
    for i in 0..=bytes.len() {
        for j in i + 1..=bytes.len() {
            if i != 0 || j != bytes.len() {
                let part = std::str::from_utf8(&bytes[i..j]).unwrap();
                assert!(VerifierKey::parse(part).is_err(), "accepted `{part}`");
            }
        }
    }
    for i in 0..bytes.len() {
        let mut changed = bytes.to_vec();
        changed[i] += 1;
        let changed = String::from_utf8(changed).unwrap();
        assert!(
            VerifierKey::parse(&changed).is_err(),
            "accepted `{changed}`"
        );
    }
    // Wrong key length with an adjusted key id; unknown algorithm with an adjusted key id.
    assert!(
        VerifierKey::parse(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err()
    );
    assert_eq!(
        VerifierKey::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::UnsupportedType(0x65))
    );
}

#[test]
fn signed_note_round_trips() {
    let signer = fixed_signer("warden.example/log");
    let message = signer.sign("hello\nworld\n").unwrap();
    let vkey = VerifierKey::parse(&signer.verifier_key().to_string()).unwrap();
    let note = open_note(&message, &[vkey]).unwrap();
    assert_eq!(note.text(), "hello\nworld\n");
    assert_eq!(note.signatures().len(), 1);
}

#[test]
fn wrong_key_is_refused() {
    let signer = fixed_signer("warden.example/log");
    let message = signer.sign("hello\n").unwrap();
    // Same name, other key: a different key id, so the signature is from an unknown key.
    let other = NoteSigner::new("warden.example/log", SigningKey::from_bytes(&[8u8; 32]))
        .unwrap()
        .verifier_key();
    assert_eq!(
        open_note(&message, &[other]),
        Err(NoteError::NoKnownSignature)
    );
    assert_eq!(open_note(&message, &[]), Err(NoteError::NoKnownSignature));
}

#[test]
fn modified_body_or_signature_is_refused() {
    let signer = fixed_signer("warden.example/log");
    let vkey = signer.verifier_key();
    let message = signer.sign("pay 10 to alice\n").unwrap();
    let changed = message.replace("10", "99");
    assert_eq!(
        open_note(&changed, std::slice::from_ref(&vkey)),
        Err(NoteError::InvalidSignature {
            key: format!("warden.example/log+{}", vkey.id())
        })
    );
    // Flip one signature byte, keeping the key id (the first 4 bytes) intact.
    let (head, sig_b64) = message.trim_end().rsplit_once(' ').unwrap();
    use base64::Engine as _;
    let mut blob = base64::engine::general_purpose::STANDARD
        .decode(sig_b64)
        .unwrap();
    blob[10] ^= 1;
    let forged = format!(
        "{head} {}\n",
        base64::engine::general_purpose::STANDARD.encode(blob)
    );
    assert!(matches!(
        open_note(&forged, &[vkey]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn unknown_signatures_are_ignored_but_a_known_bad_one_rejects() {
    let log = fixed_signer("log");
    let witness = NoteSigner::new("witness", SigningKey::from_bytes(&[9u8; 32])).unwrap();
    let text = "checkpoint text\n";
    let by_log = log.sign(text).unwrap();
    let by_witness = witness.sign(text).unwrap();
    let witness_line = by_witness.split_once("\n\n").unwrap().1;
    let both = format!("{by_log}{witness_line}");
    let note = open_note(&both, &[log.verifier_key()]).unwrap();
    assert_eq!(note.verified_by().len(), 1);
    assert_eq!(note.signatures().len(), 2);
    // The witness's signature bytes under the log's name and key id reject the note, even
    // next to a good signature by the log.
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let witness_blob = engine
        .decode(witness_line.trim_end().rsplit_once(' ').unwrap().1)
        .unwrap();
    let forged_blob = [log.id().0.as_slice(), &witness_blob[4..]].concat();
    let log_line = by_log.split_once("\n\n").unwrap().1;
    let bad = format!(
        "{text}\n\u{2014} log {}\n{log_line}",
        engine.encode(forged_blob)
    );
    assert!(matches!(
        open_note(&bad, &[log.verifier_key()]),
        Err(NoteError::InvalidSignature { .. })
    ));
}

#[test]
fn malformed_notes_are_refused() {
    let signer = fixed_signer("log");
    let good = signer.sign("text\n").unwrap();
    let sig_line = good.split_once("\n\n").unwrap().1;
    let cases: Vec<(String, NoteError)> = vec![
        ("text\n".into(), NoteError::MissingSignatureBlock),
        ("text\n\n".into(), NoteError::MissingSignatureBlock),
        (good.trim_end().to_owned(), NoteError::MissingSignatureBlock),
        (
            format!("te\u{7}xt\n\n{sig_line}"),
            NoteError::ControlCharacter,
        ),
        (format!("text\r\n\n{sig_line}"), NoteError::ControlCharacter),
        (
            "text\n\n- log AAAA\n".into(),
            NoteError::MalformedSignatureLine { line: 1 },
        ),
        (
            "text\n\n\u{2014} log !!!!\n".into(),
            NoteError::MalformedSignatureLine { line: 1 },
        ),
        (
            "text\n\n\u{2014} log AAAA\n".into(),
            NoteError::MalformedSignatureLine { line: 1 },
        ),
        (
            format!("text\n\n{sig_line}\u{2014} bad+name AAAAAAA=\n"),
            NoteError::MalformedSignatureLine { line: 2 },
        ),
        (
            format!("text\n\n{}", sig_line.repeat(MAX_SIGNATURES + 1)),
            NoteError::TooManySignatures,
        ),
    ];
    for (message, want) in cases {
        assert_eq!(Note::parse(&message), Err(want), "{message:?}");
    }
    assert_eq!(
        signer.sign("no newline"),
        Err(NoteError::MissingFinalNewline)
    );
    assert_eq!(signer.sign("tab\there\n"), Err(NoteError::ControlCharacter));
    // Many repeated signatures by one key are accepted up to the limit.
    let many = format!("text\n\n{}", sig_line.repeat(MAX_SIGNATURES));
    assert!(open_note(&many, &[signer.verifier_key()]).is_ok());
}

#[test]
fn key_names_are_checked() {
    let key = SigningKey::from_bytes(&[1u8; 32]);
    for bad in ["", "a b", "a+b", "tab\tname"] {
        assert!(matches!(
            NoteSigner::new(bad, key.clone()),
            Err(KeyError::InvalidName(_))
        ));
    }
    let debug = format!("{:?}", fixed_signer("log"));
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(!debug.contains(&hex::encode([7u8; 32])));
}

#[test]
fn generated_keys_sign_and_verify() {
    let signer = NoteSigner::generate("fresh", &mut rand::rngs::OsRng).unwrap();
    let message = signer.sign("x\n").unwrap();
    assert!(open_note(&message, &[signer.verifier_key()]).is_ok());
    let reread = NoteSigner::from_private_key(&signer.private_key_text()).unwrap();
    assert_eq!(reread.verifier_key(), signer.verifier_key());
}

/// The 8-leaf RFC 6962 reference root (transparency-dev/merkle, `testonly/constants.go`).
fn reference_root() -> Hash {
    Hash::from_hex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328").unwrap()
}

#[test]
fn checkpoint_golden_text() {
    let signer = fixed_signer("example.com/warden");
    let signed = Checkpoint::new("example.com/warden", 8, reference_root())
        .sign(&signer)
        .unwrap();
    insta::assert_snapshot!(signed.note(), @r"
    example.com/warden
    8
    XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=

    — example.com/warden 60FWL4ClpJDlM2ufUoM280uBwn30pJZm6D0HwjdZyuPXUclmXA+4l5Ur/OeWImPsK+jAndfc3affQXmWeCjU3dp+HAk=
    ");
    assert_eq!(
        signer.verifier_key().to_string(),
        "example.com/warden+eb41562f+AepKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs"
    );
}

#[test]
fn checkpoint_round_trips_and_checks() {
    let signer = fixed_signer("example.com/warden");
    let verifier = CheckpointVerifier::for_key(signer.verifier_key());
    let mut checkpoint = Checkpoint::new("example.com/warden", 8, reference_root());
    checkpoint.extensions.push("extension line".into());
    let signed = checkpoint.sign(&signer).unwrap();
    let opened = verifier.open(signed.note()).unwrap();
    assert_eq!(opened.checkpoint(), &checkpoint);
    assert_eq!(opened, signed);

    // Another log's checkpoint, signed by the same key, is refused by origin.
    let foreign = Checkpoint::new("example.com/other", 8, reference_root())
        .sign(&signer)
        .unwrap();
    assert!(matches!(
        verifier.open(foreign.note()),
        Err(CheckpointError::OriginMismatch { .. })
    ));
    // A changed size breaks the signature.
    let changed = signed.note().replacen("\n8\n", "\n9\n", 1);
    assert!(matches!(
        verifier.open(&changed),
        Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
    ));
}

#[test]
fn checkpoint_bodies_are_strict() {
    let root = reference_root().to_base64();
    let cases: Vec<(String, CheckpointError)> = vec![
        ("o\n1\n".into(), CheckpointError::TooFewLines),
        (
            format!("o\n1\n{root}"),
            CheckpointError::MissingFinalNewline,
        ),
        (format!("\n1\n{root}\n"), CheckpointError::InvalidOrigin),
        (
            format!("o\n01\n{root}\n"),
            CheckpointError::InvalidSize("01".into()),
        ),
        (
            format!("o\n+1\n{root}\n"),
            CheckpointError::InvalidSize("+1".into()),
        ),
        (
            format!("o\n\n{root}\n"),
            CheckpointError::InvalidSize(String::new()),
        ),
        (
            format!("o\n18446744073709551616\n{root}\n"),
            CheckpointError::InvalidSize("18446744073709551616".into()),
        ),
        (
            "o\n1\nAAAA\n".into(),
            CheckpointError::InvalidRoot("AAAA".into()),
        ),
        (
            format!("o\n1\n{root}\n\nx\n"),
            CheckpointError::InvalidExtension,
        ),
    ];
    for (body, want) in cases {
        assert_eq!(Checkpoint::parse_body(&body), Err(want), "{body:?}");
    }
    let zero = Checkpoint::parse_body(&format!("o\n0\n{root}\n")).unwrap();
    assert_eq!(zero.size, 0);
    let mut bad = Checkpoint::new("", 1, reference_root());
    assert_eq!(bad.to_body(), Err(CheckpointError::InvalidOrigin));
    bad.origin = "o".into();
    bad.extensions.push("two\nlines".into());
    assert_eq!(bad.to_body(), Err(CheckpointError::InvalidExtension));
}
