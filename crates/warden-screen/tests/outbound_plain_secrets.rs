//! Credentials in plain shapes: a record's field with no "password is" sentence around it, a
//! lower-case password among ordinary words, a login and its password split by a space or a
//! comma, a password on a command line, a one-time or recovery code, a key or a token named and
//! given its value. Beside them, what analysts write about passwords, tokens and codes, which
//! must stay clean.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use warden_screen::{Outbound, OutboundConfig, OutboundReport};

fn scan(text: &str) -> OutboundReport {
    Outbound::new(OutboundConfig {
        internal_domains: vec!["northwind.example".to_owned()],
    })
    .scan(text)
}

/// A nominal record smuggling a secret: the word and the value side by side, no verb.
#[test]
fn a_password_in_a_record_is_a_secret() {
    let texts = [
        "Record: svc-backup password hunter2x rotated",
        "Creds — admin / Spring2026!",
        "vpn password tulip-orange-42",
        "PW tulip-orange-42",
        "Temp password tulip-orange-42 issued to alice.chen.",
        "Passphrase correct-horse-battery-staple",
        "p/w hunter2x",
        "psw: hunter2x",
        "pwd: hunter2x",
        "user=svc-backup pass=hunter2x",
        "login svc-backup hunter2x",
        "Credentials: svc-backup hunter2x",
        "Creds: svc-backup, hunter2x",
        "Wi-Fi: GuestNet / tulip-orange-42",
        "secret hunter2x9",
        "token abcd1234efgh5678",
        "API key 7Hk29sLm0QpZx81",
        "user svc-backup pass hunter2x",
        "username: admin, password Spring2026",
    ];
    let missed: Vec<&str> = texts.into_iter().filter(|t| !scan(t).secret).collect();
    assert!(missed.is_empty(), "missed: {missed:#?}");
}

/// A lower-case password among ordinary words, and an account set to one.
#[test]
fn a_lower_case_password_in_a_sentence_is_a_secret() {
    let texts = [
        "the password for the vpn is tulip-orange-42 use it",
        "the pass for the vpn is tulip-orange-42",
        "alice.chen's password is now tulip-orange-42.",
        "Changed svc-backup's password to hunter2x.",
        "Reset alice.chen to tulip-orange-42.",
        "the wifi password is hunter2x, same as last time",
        "password for srv-db01: winter2026",
    ];
    let missed: Vec<&str> = texts.into_iter().filter(|t| !scan(t).secret).collect();
    assert!(missed.is_empty(), "missed: {missed:#?}");
}

/// A password on a command line, and a one-time, recovery or door code with its digits.
#[test]
fn command_line_passwords_and_codes_are_secrets() {
    let texts = [
        "mysql -u root -phunter2x",
        "sshpass -p 'Spring2026!' ssh admin@srv-db01",
        r"net use \\srv-db01.northwind.example\c$ /user:admin Spring2026!",
        "curl -u admin:Spring2026! https://srv-db01.northwind.example/api",
        r#"runas /user:svc-backup "hunter2x""#,
        "psql with PGPASSWORD=hunter2x",
        "xfreerdp /v:srv-db01 /u:admin /p:Spring2026!",
        "backup.ps1 --password hunter2x",
        "One-time code: 482139",
        "recovery code 4821-3977-9102",
        "Door code 4821",
        "MFA backup codes 48213977 91024563 11839022",
    ];
    let missed: Vec<&str> = texts.into_iter().filter(|t| !scan(t).secret).collect();
    assert!(missed.is_empty(), "missed: {missed:#?}");
}

/// What analysts write about passwords, logins, tokens and codes gives none.
#[test]
fn notes_about_passwords_tokens_and_codes_are_not_secrets() {
    let texts = [
        "Password spray from 203.0.113.7 against 40 accounts.",
        "Password reset for alice.chen is complete; she has signed in again.",
        "Password owner: alice.chen. Last changed 2026-11-02.",
        "Password for svc-backup rotated and stored in the vault (entry srv-db01/svc-backup).",
        "Password policy on dc01 is pol-default; 12 characters minimum.",
        "Reset alice.chen's password at 09:40; sessions revoked.",
        "Set INC-1043 to sev-2 after the review.",
        "Changed the alert status to acknowledged.",
        "Reset ws-042 to factory-default and reimaged.",
        "The password for the vpn is in the vault under network/vpn.",
        "The password is self-service via the portal.",
        "Login alice.chen ws-042 09:14 interactive.",
        "Login: alice.chen / ws-042 at 09:14 (interactive).",
        "Credentials: alice.chen submitted on the fake page at 08:47.",
        "Creds for svc-backup were found in config.php on srv-web01; rotated at 10:00.",
        "login failed for svc-backup from 10.20.2.42 (4625).",
        "Token for the SIEM integration expires on 2026-12-31; renew it in the vault.",
        "Token ID tok-2291 revoked at 10:00.",
        "Secret scanning flagged config.php in repo payroll-sync.",
        "MFA code prompts: 17 in 5 minutes for bob.ng (push fatigue).",
        "Recovery codes for bob.ng regenerated at 11:00 by IAM.",
        "The backup code 3 of 10 was used.",
        "Event code 4625, logon type 3, from 203.0.113.7.",
        "Error code: 0x80070005 on the backup job.",
        "The attacker ran mysql -u root -p against srv-db01 and was prompted for the password.",
        "Ran curl -u $USER:$TOKEN against the API using the vault helper.",
        "PowerShell: ConvertTo-SecureString $pw -AsPlainText -Force seen in the script.",
        "Hash of the password file: 44d88612fea8a8f36de82e1278abb02f.",
        "password.txt found on ws-042 desktop; removed.",
        "Passwords dumped by mimikatz on ws-042; all domain accounts reset.",
        "The pass-the-hash attempt from ws-042 against srv-db01 failed.",
        "pw reset done for bob.ng",
        "Secret Server vault-01 checked: entry svc-backup last accessed 09:12.",
        "The token endpoint returned 401 for svc-deploy.",
        "Evidence for raising INC-1042 to critical: SSH from ws-042 to ws-017 with alice.chen's \
         password (ALR-2004, critical).",
        "Benign: the lockouts are the retired scanners on floor 2 retrying svc-print-old's old \
         password (CMT-0011); nothing to contain.",
    ];
    let flagged: Vec<&str> = texts.into_iter().filter(|t| scan(t).secret).collect();
    assert!(flagged.is_empty(), "flagged: {flagged:#?}");
}
