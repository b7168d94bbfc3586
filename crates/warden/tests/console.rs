//! The approvers' console in a real browser (Debian's Chromium driven by playwright-core): an
//! approver signs in, approves a held isolation, and the lab's host is isolated when the agent
//! retries. A forged decision without the CSRF token, and one without a session, are refused.
//! Over plain HTTP, an approver clears an agent's taint on the "Tainted agents" page, and the
//! clear is the same ledger event and store change as `warden taint clear`. Later a reviewer
//! sees the held call as approved and executed, filters the recent decisions, records a verdict
//! (an approver of another category is refused, as by `warden review verdict`), and reads the
//! request's target as the inventory describes it.
//!
//! The browser test needs `/usr/bin/chromium` (or `CHROMIUM`) and `npm ci --prefix tests/browser`; `.ci/run`
//! installs both. `WARDEN_SCREENSHOTS=DIR` saves screenshots of the console there.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;

#[tokio::test]
async fn an_approver_approves_a_held_isolation_in_the_browser() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        dir.join("node_modules/playwright-core").exists(),
        "playwright-core is not installed: run `npm ci --prefix tests/browser`"
    );
    // This test is about the console: the monitor only alerts on the tainted session's
    // high-stakes call, instead of halting the session (which would expire the request).
    let lab = Lab::with_config(|c| c + "\n[monitor.tainted_high_stakes]\naction = \"alert\"\n");
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;

    // The agent reads a phishing email, so its session is tainted: its isolation is held.
    agent
        .call("mail.read_message", json!({"message_id": "MSG-3001"}))
        .await
        .unwrap();
    let args = isolate("ws-042", "INC-1042");
    let r = agent.call("edr.isolate_host", args.clone()).await.unwrap();
    let t = text(&r);
    assert!(t.contains("held for approval"), "{t}");
    let id = request_id(&t);
    assert!(!lab.host_isolated("ws-042"));

    let mut cmd = Command::new("node");
    cmd.arg(dir.join("console.mjs")).arg(warden.base()).arg(&id);
    if let Ok(shots) = std::env::var("WARDEN_SCREENSHOTS") {
        cmd.arg(shots);
    }
    let out = cmd.output().expect("node must be installed");
    assert!(
        out.status.success(),
        "browser run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert!(
        seen["signedInAs"].as_str().unwrap().contains("Alice"),
        "{seen}"
    );
    assert_eq!(seen["pendingListed"], true, "{seen}");
    assert!(
        seen["pendingToolLines"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n == 1),
        "an action name broke across lines: {seen}"
    );
    assert_eq!(seen["otherToolListed"], 0, "{seen}");
    assert_eq!(seen["searchListed"], 1, "{seen}");
    assert_eq!(seen["tool"], "edr.isolate_host", "{seen}");
    assert!(seen["args"].as_str().unwrap().contains("ws-042"), "{seen}");
    assert_eq!(seen["untrustedWarning"], true, "{seen}");
    assert!(
        seen["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("mail.read_message")),
        "the approver sees what the agent read: {seen}"
    );
    assert_eq!(seen["withoutCsrf"], 403, "{seen}");
    assert_eq!(seen["withoutSession"], 401, "{seen}");
    assert_eq!(seen["status"], "approved", "{seen}");
    // One decision a page: the "Older" link shows an older one, its filters kept.
    assert_eq!(seen["pagedRows"], 1, "{seen}");
    let paged = seen["pagedIndices"].as_array().unwrap();
    assert!(paged[1].as_u64() < paged[0].as_u64(), "{seen}");
    assert_eq!(seen["pagedKeepsLimit"], "1", "{seen}");
    assert_eq!(seen["pagedFirstLink"], 1, "{seen}");
    assert!(
        !lab.host_isolated("ws-042"),
        "refused requests changed nothing"
    );

    let r = agent.call("edr.isolate_host", args).await.unwrap();
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert!(lab.host_isolated("ws-042"));
    assert_eq!(
        lab.received("edr")
            .iter()
            .filter(|t| *t == "isolate_host")
            .count(),
        1
    );

    // A reviewer, later (Dana: Alice approved it, so she may not judge it): what became of the
    // held call, filters, a verdict, the target.
    let held = lab
        .events("decision")
        .into_iter()
        .find(|d| d["tool"] == "edr.isolate_host" && d["decision"] == "hold")
        .expect("the hold was recorded");
    let index = held["index"].as_u64().unwrap();
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("review.mjs"))
        .arg(warden.base())
        .arg(&id)
        .arg(index.to_string());
    if let Ok(shots) = std::env::var("WARDEN_SCREENSHOTS") {
        cmd.arg(shots);
    }
    let out = cmd.output().expect("node must be installed");
    assert!(
        out.status.success(),
        "browser run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        seen["fate"].as_str().unwrap().replace(' ', ""),
        "hold→approved→executed",
        "{seen}"
    );
    for cell in seen["toolLines"].as_array().unwrap() {
        assert_eq!(
            cell["lines"], 1,
            "an action name broke across lines: {seen}"
        );
    }
    assert!(
        seen["filteredUrl"]
            .as_str()
            .unwrap()
            .contains("tool=edr.isolate_host"),
        "{seen}"
    );
    assert!(
        !seen["filteredTools"].as_array().unwrap().is_empty(),
        "{seen}"
    );
    assert!(
        seen["filteredTools"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t == "edr.isolate_host"),
        "{seen}"
    );
    assert!(
        seen["filteredDecisions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d == "hold"),
        "{seen}"
    );
    assert_eq!(seen["searchEmpty"], true, "{seen}");
    assert!(
        seen["otherRefusal"]
            .as_str()
            .unwrap()
            .contains("`bob` does not review category `containment`"),
        "{seen}"
    );
    assert!(
        seen["ownRefusal"]
            .as_str()
            .unwrap()
            .contains("`alice` cannot judge decision"),
        "{seen}"
    );
    assert!(
        seen["verdictNotice"]
            .as_str()
            .unwrap()
            .contains("your verdict (correct) was recorded"),
        "{seen}"
    );
    assert_eq!(seen["verdicts"], json!(["correct"]), "{seen}");
    let verdicts = lab.events("review_verdict");
    assert_eq!(verdicts.len(), 1, "only Dana's verdict: {verdicts:?}");
    assert_eq!(verdicts[0]["detail"]["reviewer"], "dana");
    assert_eq!(verdicts[0]["detail"]["decision_index"], index);
    assert_eq!(verdicts[0]["detail"]["verdict"], "correct");
    assert_eq!(verdicts[0]["category"], "containment");
    let host = seen["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["argument"] == "host")
        .unwrap_or_else(|| panic!("the host is shown: {seen}"));
    assert_eq!(host["id"], "ws-042");
    assert_eq!(host["attributes"]["role"], "workstation", "{seen}");
    assert_eq!(host["attributes"]["tier"], "2", "{seen}");
    let incident = seen["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["argument"] == "incident")
        .unwrap_or_else(|| panic!("the incident is shown: {seen}"));
    assert_eq!(incident["attributes"]["status"], "open", "{seen}");
    let reversible = seen["reversible"].as_str().unwrap();
    assert!(
        reversible.starts_with("yes") && reversible.contains("edr.release_host"),
        "{seen}"
    );
}

/// The verdict form against the real gateway, over plain HTTP: without a session, without the
/// CSRF token, and from an approver whose categories do not include the decision's, nothing is
/// recorded; the CLI's rules and the console's are one function, so the CLI refuses the same.
#[tokio::test]
async fn a_verdict_outside_the_reviewers_categories_or_without_csrf_is_not_recorded() {
    let lab = Lab::new();
    let warden = lab.serve();
    let agent = warden.client(RESPONDER).await;
    let r = agent
        .call("edr.isolate_host", isolate("ws-042", "INC-1042"))
        .await
        .unwrap();
    assert!(text(&r).contains("held for approval"), "{}", text(&r));
    let held = lab
        .events("decision")
        .into_iter()
        .find(|d| d["tool"] == "edr.isolate_host")
        .unwrap();
    let index = held["index"].as_u64().unwrap();
    let base = format!("{}/console", warden.base());
    let path = format!("{base}/review/{index}");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let send = |cookie: Option<String>, pairs: Vec<(&'static str, String)>| {
        let mut req = http
            .post(&path)
            .header(reqwest::header::CONTENT_TYPE, FORM)
            .body(form(
                &pairs
                    .iter()
                    .map(|(k, v)| (*k, v.as_str()))
                    .collect::<Vec<_>>(),
            ));
        if let Some(c) = cookie {
            req = req.header(reqwest::header::COOKIE, c);
        }
        req.send()
    };
    let note = || ("note", "checked the EDR alert".to_string());
    let correct = || ("verdict", "correct".to_string());

    // Not signed in.
    let r = send(None, vec![("csrf", "x".into()), correct(), note()])
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);

    // Alice, who reviews containment, but without her form's CSRF token.
    let alice = sign_in(&http, &base, "alice").await;
    let r = send(Some(alice.clone()), vec![correct(), note()])
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);

    // Bob reviews identity only: signed in, with his own token, refused.
    let bob = sign_in(&http, &base, "bob").await;
    let page = http
        .get(&path)
        .header(reqwest::header::COOKIE, &bob)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("a CSRF token on the page") + marker.len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let r = send(Some(bob), vec![("csrf", csrf), correct(), note()])
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("`bob` does not review category `containment`"),
        "{body}"
    );
    assert!(lab.events("review_verdict").is_empty());

    // The CLI gives Bob the same answer, from the same rule.
    let (ok, _, err) = lab.cli_as(
        "lab-bob-token",
        &[
            "review",
            "verdict",
            &index.to_string(),
            "--correct",
            "--note",
            "looked fine",
            "--as",
            "bob",
        ],
    );
    assert!(
        !ok && err.contains("`bob` does not review category `containment`"),
        "{err}"
    );
    assert!(lab.events("review_verdict").is_empty());
}

const FORM: &str = "application/x-www-form-urlencoded";

/// An `application/x-www-form-urlencoded` body.
fn form(pairs: &[(&str, &str)]) -> String {
    let encode = |v: &str| {
        v.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn an_approver_clears_an_agents_taint_in_the_console() {
    let lab = Lab::new();
    let now = now_ms();
    // As the gateway records a flagged read, in the store `warden serve` will use.
    let shown = lab.taint("responder", "sess-r", 80, now - 1_000, now + 3_600_000);
    lab.taint("triage", "sess-t", 70, now - 1_000, now + 3_600_000);
    let warden = lab.serve();
    let base = format!("{}/console", warden.base());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let cookie = sign_in(&http, &base, "dana").await;
    let taint_page = || async {
        http.get(format!("{base}/taint"))
            .header(reqwest::header::COOKIE, &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let page = taint_page().await;
    assert!(page.contains("data-agent=\"responder\""), "{page}");
    assert!(page.contains("data-agent=\"triage\""), "{page}");
    assert_eq!(record_on(&page, "responder"), shown.to_string(), "{page}");
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("a CSRF token on the page") + marker.len();
    let csrf = page[at..].split('"').next().unwrap().to_string();

    let clear = |record: String, reason: &'static str| {
        http.post(format!("{base}/taint/clear"))
            .header(reqwest::header::COOKIE, &cookie)
            .header(reqwest::header::CONTENT_TYPE, FORM)
            .body(form(&[
                ("csrf", csrf.as_str()),
                ("agent", "responder"),
                ("record", record.as_str()),
                ("reason", reason),
            ]))
            .send()
    };
    // Without a reason nothing is recorded or cleared.
    let refused = clear(shown.to_string(), "  ").await.unwrap();
    assert_eq!(refused.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    assert!(lab.events("taint_cleared").is_empty());

    // The approver looked at the page above; meanwhile the agent reads an injection in another
    // session, at a lower level than the one shown. A clear of what was shown is refused:
    // nothing recorded, nothing cleared, the new read in force.
    let injection = lab.taint("responder", "sess-x", 30, now_ms(), now + 3_600_000);
    let stale = clear(shown.to_string(), "looked harmless").await.unwrap();
    assert_eq!(stale.status(), reqwest::StatusCode::CONFLICT);
    let body = stale.text().await.unwrap();
    assert!(
        body.contains(&format!(
            "the agent&#39;s taint changed since it was shown: record {shown} was named, the \
             newest in force is now record {injection}"
        )),
        "{body}"
    );
    assert!(body.contains("review it again"), "{body}");
    assert_eq!(record_on(&body, "responder"), injection.to_string());
    assert!(lab.events("taint_cleared").is_empty(), "nothing recorded");
    let (ok, out, err) = lab.cli(&["taint", "list"]);
    assert!(ok, "{err}");
    assert!(
        out.lines().any(|l| l.starts_with("responder ")
            && l.contains(&format!("record {injection} (2 in force)"))),
        "both reads still taint the agent: {out}"
    );

    // Reviewed again, the clear names the newest record and goes through.
    let page = taint_page().await;
    let cleared = clear(
        record_on(&page, "responder"),
        "mailbox cleaned, credentials rotated",
    )
    .await
    .unwrap();
    assert_eq!(cleared.status(), reqwest::StatusCode::OK);
    let body = cleared.text().await.unwrap();
    assert!(
        body.contains(&format!(
            "Taint of agent <code>responder</code> cleared through record {injection} (2 in force"
        )),
        "{body}"
    );
    assert!(!body.contains("data-agent=\"responder\""), "{body}");

    let events = lab.events("taint_cleared");
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["principal"], "responder");
    assert_eq!(e["reason"], "mailbox cleaned, credentials rotated");
    assert_eq!(e["detail"]["by"], "dana");
    assert_eq!(e["detail"]["record"], injection.0);
    assert_eq!(e["detail"]["records"], 2);
    assert_eq!(e["detail"]["level"], 80);
    assert_eq!(e["detail"]["session"], "sess-r");

    let (ok, out, err) = lab.cli(&["taint", "list"]);
    assert!(ok, "{err}");
    assert!(
        !out.lines().any(|l| l.starts_with("responder ")),
        "responder is no longer tainted: {out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("triage ")),
        "another agent's taint stays: {out}"
    );
}

/// A compromised agent can make a list long (here: many tainted agent names). The console shows
/// it a bounded page at a time: the first page, a "next" link that leads to the rest with no
/// agent twice and none missed, and a page link that was tampered with, cut short or made for
/// another list is refused with a 400, never answered with the first page.
#[tokio::test]
async fn the_tainted_agents_are_shown_a_page_at_a_time_and_a_tampered_link_is_refused() {
    use warden_store::Store;
    let lab = Lab::new();
    let now = now_ms();
    let store = lab.store();
    for i in 0..130 {
        store
            .raise_agent_taint(&warden_store::AgentTaint {
                agent: format!("flood-{i:03}"),
                session: "sess-f".into(),
                level: 60,
                source: "mail.read_message".into(),
                at_ms: now - 1_000,
                until_ms: now + 3_600_000,
            })
            .unwrap();
    }
    drop(store);
    let warden = lab.serve();
    let base = format!("{}/console", warden.base());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie = sign_in(&http, &base, "dana").await;
    let get = |path: String| {
        let http = http.clone();
        let cookie = cookie.clone();
        async move {
            let r = http
                .get(path)
                .header(reqwest::header::COOKIE, &cookie)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let agents = |page: &str| -> Vec<String> {
        page.match_indices("data-testid=\"taint-row\" data-agent=\"")
            .map(|(at, m)| page[at + m.len()..].split('"').next().unwrap().to_string())
            .collect()
    };
    let next_link = |page: &str| -> Option<String> {
        let at = page.find("data-testid=\"next-page\"")?;
        let href = page[at..].split("href=\"").nth(1)?.split('"').next()?;
        Some(href.replace("&amp;", "&"))
    };

    let (status, first) = get(format!("{base}/taint")).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    let mut seen = agents(&first);
    assert_eq!(seen.len(), 100, "one page, not every agent");
    assert_eq!(seen[0], "flood-000");
    let next = next_link(&first).expect("a link to the next page");
    assert!(next.starts_with("/console/taint?after="), "{next}");
    let (status, second) = get(format!("{}{next}", warden.base())).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    seen.extend(agents(&second));
    assert!(next_link(&second).is_none(), "the last page");
    let want: Vec<String> = (0..130).map(|i| format!("flood-{i:03}")).collect();
    assert_eq!(seen, want, "every agent once, in order");

    let token = next.split("after=").nth(1).unwrap().to_string();
    let mut flipped = token.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    for bad in [
        flipped.as_str(),
        &token[..token.len() - 6],
        "not-a-page-link",
    ] {
        let (status, page) = get(format!("{base}/taint?after={bad}")).await;
        assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{bad}: {page}");
        assert!(page.contains("data-testid=\"problem\""), "{page}");
        assert!(agents(&page).is_empty(), "no page is shown for {bad}");
    }
    // A link of one list is not a link of another: the agents' cursor on a session's trail.
    let (status, _) = get(format!("{base}/sessions/sess-f?after={token}")).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST);
}

/// The record a "Tainted agents" page's clear form for `agent` names.
fn record_on(page: &str, agent: &str) -> String {
    let row = page
        .find(&format!("data-agent=\"{agent}\""))
        .unwrap_or_else(|| panic!("no row for `{agent}`: {page}"));
    let marker = "name=\"record\" value=\"";
    let at = row + page[row..].find(marker).expect("a record in the form") + marker.len();
    page[at..].split('"').next().unwrap().to_string()
}

/// Signs in over plain HTTP and returns the `name=value` of the session cookie.
async fn sign_in(http: &reqwest::Client, base: &str, approver: &str) -> String {
    let password = format!("lab-{approver}-password");
    let signed_in = http
        .post(format!("{base}/login"))
        .header(reqwest::header::CONTENT_TYPE, FORM)
        .body(form(&[("approver", approver), ("password", &password)]))
        .send()
        .await
        .unwrap();
    signed_in
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .expect("signed in")
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

/// The approver id the console's home page says is signed in with `cookie`; `None` when it sends the
/// browser to the sign-in page.
async fn signed_in_as(http: &reqwest::Client, base: &str, cookie: &str) -> Option<String> {
    let page = http
        .get(base)
        .header(reqwest::header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    if page.status().is_redirection() {
        return None;
    }
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let body = page.text().await.unwrap();
    let marker = "data-testid=\"signed-in-as\">";
    let at = body.find(marker).expect("the page names who is signed in") + marker.len();
    let rest = &body[at..];
    let id = &rest[rest.find("<code>").unwrap() + "<code>".len()..];
    id.split('<').next().map(str::to_owned)
}

/// Someone who can write warden's database (the state directory) but does not hold the ledger's
/// key tries to sign in as an approver by writing a session row: a new one for a cookie of
/// their choosing, a genuine one copied under their cookie, one moved to another approver, one
/// kept alive past its end. None signs anyone in. A genuine sign-in survives a restart, since
/// sessions are stored (which is what lets replicas share them), but not a change of the
/// approver's password.
#[tokio::test]
async fn a_session_row_written_into_the_database_signs_nobody_in() {
    let lab = Lab::new();
    let warden = lab.serve();
    let base = format!("{}/console", warden.base());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let dana = sign_in(&http, &base, "dana").await;
    assert_eq!(
        signed_in_as(&http, &base, &dana).await.as_deref(),
        Some("dana")
    );

    let db = rusqlite::Connection::open(lab.dir.path().join("state/warden.db")).unwrap();
    let hash = |cookie_value: &str| -> Vec<u8> {
        use sha2::Digest;
        sha2::Sha256::digest(cookie_value.as_bytes()).to_vec()
    };
    let cookie_of = |value: &str| format!("{}={value}", warden_console::SESSION_COOKIE);
    // Reading the database gives neither the cookie nor the CSRF token of Dana's forms.
    let page = http
        .get(format!("{base}/taint"))
        .header(reqwest::header::COOKIE, &dana)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("a CSRF token on the page") + marker.len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let dump: Vec<String> = db
        .prepare("SELECT hex(key) || approver_id || csrf || hex(mac) FROM console_sessions")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let dana_value = dana.split_once('=').unwrap().1;
    for row in &dump {
        assert!(!row.to_lowercase().contains(&csrf), "{row}");
        assert!(!row.to_lowercase().contains(dana_value), "{row}");
    }
    let far = now_ms() + 86_400_000;

    // A made-up row for Bob, under the attacker's own cookie.
    db.execute(
        "INSERT INTO console_sessions (key, approver_id, approver_name, csrf, expires_ms, mac) \
         VALUES (?1, 'bob', 'Bob', 'x', ?2, ?3)",
        rusqlite::params![hash("forged"), far, vec![7u8; 32]],
    )
    .unwrap();
    assert_eq!(signed_in_as(&http, &base, &cookie_of("forged")).await, None);

    // Dana's genuine row, MAC and all, copied under the attacker's cookie.
    db.execute(
        "INSERT INTO console_sessions (key, approver_id, approver_name, csrf, expires_ms, mac) \
         SELECT ?1, approver_id, approver_name, csrf, expires_ms, mac FROM console_sessions \
         WHERE key = ?2",
        rusqlite::params![hash("copied"), hash(dana_value)],
    )
    .unwrap();
    assert_eq!(signed_in_as(&http, &base, &cookie_of("copied")).await, None);

    // Dana's row kept alive past its end, then moved to Bob: her cookie signs nobody in.
    db.execute(
        "UPDATE console_sessions SET expires_ms = expires_ms + 86400000 WHERE key = ?1",
        rusqlite::params![hash(dana_value)],
    )
    .unwrap();
    assert_eq!(signed_in_as(&http, &base, &dana).await, None, "extended");
    db.execute(
        "UPDATE console_sessions SET expires_ms = expires_ms - 86400000, approver_id = 'bob', \
         approver_name = 'Bob' WHERE key = ?1",
        rusqlite::params![hash(dana_value)],
    )
    .unwrap();
    assert_eq!(
        signed_in_as(&http, &base, &dana).await,
        None,
        "moved to Bob"
    );

    // A genuine session outlives a restart of the gateway.
    let alice = sign_in(&http, &base, "alice").await;
    drop(warden);
    let warden = lab.serve();
    let base = format!("{}/console", warden.base());
    assert_eq!(
        signed_in_as(&http, &base, &alice).await.as_deref(),
        Some("alice")
    );

    // Alice's password is changed (it leaked): her sessions end with it, though stored.
    drop(warden);
    let config = std::fs::read_to_string(lab.config()).unwrap();
    let at = config.find("[approvers.alice]").unwrap();
    let line = config[at..]
        .lines()
        .find(|l| l.starts_with("password_argon2"))
        .unwrap()
        .to_string();
    let new_hash = warden_console::hash_password("a new password for alice");
    std::fs::write(
        lab.config(),
        config.replacen(&line, &format!("password_argon2 = \"{new_hash}\""), 1),
    )
    .unwrap();
    let warden = lab.serve();
    let base = format!("{}/console", warden.base());
    assert_eq!(
        signed_in_as(&http, &base, &alice).await,
        None,
        "password changed"
    );
}

/// The SHA-256 the config stores for a token.
fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// `warden hash password` for `password`, read from stdin: the `password_argon2 = "…"` line.
fn password_line(password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(warden_bin())
        .args(["hash", "password"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Review 37: an approver configured with an agent's token (an easy slip for one person who
/// runs an agent and answers for it) let the agent, with only its own bearer token, sign in to
/// the console it reaches on its own listener and approve its own held call; the check that an
/// agent never approves compared ids. A config in which any token authenticates two identities
/// is refused, naming both and not the secret; and a secret that authenticates an agent signs
/// nobody in to the console, even as a password the config cannot compare.
#[tokio::test]
async fn an_agents_token_never_signs_in_as_an_approver() {
    let dana = token_hash("lab-dana-token");
    let responder = token_hash(RESPONDER);
    for (from, to, says) in [
        (
            &dana,
            &responder,
            "approver `dana` has the same token as agent `responder`",
        ),
        (
            &token_hash("lab-bob-token"),
            &token_hash("lab-alice-token"),
            "approver `bob` has the same token as approver `alice`",
        ),
        (
            &token_hash(TRIAGE),
            &responder,
            "agent `responder` and agent `triage` have the same token",
        ),
    ] {
        let lab = Lab::with_config(|c| c.replace(from.as_str(), to));
        let (ok, out, err) = lab.cli(&["policy", "check"]);
        assert!(!ok, "{says}: the config was accepted: {out}");
        assert!(err.contains(says), "{err}");
        assert!(!err.contains(to.as_str()), "the secret is not named: {err}");
        let (ok, _, err) = lab.cli_reading(&["approvals", "list"]);
        assert!(!ok && err.contains(says), "{err}");
    }

    // Dana's console password is the responder's token: the config holds only its Argon2 hash.
    let lab = Lab::with_config(|c| {
        let at = c.find("[approvers.dana]").unwrap();
        let line_start = at + c[at..].find("password_argon2").unwrap();
        let line_end = line_start + c[line_start..].find('\n').unwrap();
        format!(
            "{}{}{}",
            &c[..line_start],
            password_line(RESPONDER),
            &c[line_end..]
        )
    });
    let warden = lab.serve();
    let base = format!("{}/console", warden.base());
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |secret: &'static str| {
        http.post(format!("{base}/login"))
            .header(reqwest::header::CONTENT_TYPE, FORM)
            .body(form(&[("approver", "dana"), ("password", secret)]))
            .send()
    };
    let r = login(RESPONDER).await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert!(r.headers().get(reqwest::header::SET_COOKIE).is_none());
    let r = login("lab-dana-token").await.unwrap();
    assert_eq!(
        r.status(),
        reqwest::StatusCode::SEE_OTHER,
        "dana's own token"
    );
}

/// Review 37: the sign-in form had no CSRF token and no origin check, so a page on another site
/// could post an approver's credentials and sign a visitor's browser in as that approver (login
/// CSRF): the visitor's later answers would be recorded under the other name. A sign-in a
/// browser marks as coming from another site, or from another origin, is refused; one from the
/// console's own page, and one from a program that sends neither header, signs in.
#[tokio::test]
async fn a_sign_in_posted_from_another_site_is_refused() {
    let lab = Lab::new();
    let warden = lab.serve();
    let base = format!("{}/console", warden.base());
    let own = warden.base();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = |headers: &[(&'static str, &str)]| {
        let mut r = http
            .post(format!("{base}/login"))
            .header(reqwest::header::CONTENT_TYPE, FORM)
            .body(form(&[
                ("approver", "dana"),
                ("password", "lab-dana-password"),
            ]));
        for (name, value) in headers {
            r = r.header(*name, *value);
        }
        r.send()
    };
    for headers in [
        vec![
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        vec![("origin", "https://evil.example")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "null")],
    ] {
        let r = login(&headers).await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN, "{headers:?}");
        assert!(
            r.headers().get(reqwest::header::SET_COOKIE).is_none(),
            "{headers:?}"
        );
    }
    for headers in [
        vec![("origin", own.as_str()), ("sec-fetch-site", "same-origin")],
        vec![("origin", own.as_str())],
        vec![],
    ] {
        let r = login(&headers).await.unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER, "{headers:?}");
        assert!(r.headers().get(reqwest::header::SET_COOKIE).is_some());
    }

    // Every other form too: a cross-site post carrying a signed-in browser's cookie and even
    // its CSRF token is refused (here, signing out); the same post from the console runs.
    let cookie = sign_in(&http, &base, "dana").await;
    let page = http
        .get(&base)
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf\" value=\"";
    let at = page.find(marker).expect("a CSRF token on the page") + marker.len();
    let csrf = page[at..].split('"').next().unwrap().to_string();
    let logout = |headers: Vec<(&'static str, String)>| {
        let mut r = http
            .post(format!("{base}/logout"))
            .header(reqwest::header::COOKIE, &cookie)
            .header(reqwest::header::CONTENT_TYPE, FORM)
            .body(form(&[("csrf", csrf.as_str())]));
        for (name, value) in headers {
            r = r.header(name, value);
        }
        r.send()
    };
    let r = logout(vec![
        ("origin", "https://evil.example".into()),
        ("sec-fetch-site", "cross-site".into()),
    ])
    .await
    .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    assert_eq!(
        signed_in_as(&http, &base, &cookie).await.as_deref(),
        Some("dana")
    );
    let r = logout(vec![("origin", own.clone())]).await.unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(signed_in_as(&http, &base, &cookie).await, None);
}
