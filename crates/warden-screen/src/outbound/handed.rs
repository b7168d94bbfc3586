//! What a note hands its reader to act on that no quoted indicator is: a program to run, and a
//! security control to leave off.
//!
//! An analyst quotes a malicious download defanged (`hxxps://c2[.]example/update.exe`), and the
//! screen lets a defanged link through as an indicator. The same link with "whoever picks this
//! up should run it as admin" beside it is no indicator but a program handed over to run: it is
//! read as a live link. And a note need not tell its reader to turn a control off to keep one
//! off: "the EDR sensor on srv-web01 stays uninstalled until Monday" leaves an intruder's
//! foothold in place as surely, in the shape of a status. Both are read per sentence, from
//! words, whatever the phrasing around them.

/// Endings of a file a reader would run, install or open as a program.
const PROGRAMS: &[&str] = &[
    "exe", "msi", "msix", "appx", "ps1", "psm1", "bat", "cmd", "vbs", "vbe", "js", "jse", "wsf",
    "hta", "scr", "dll", "cpl", "jar", "sh", "bash", "py", "apk", "dmg", "pkg", "iso", "img",
    "lnk", "reg", "docm", "xlsm", "one",
];

/// Words that tell the reader to run, install or open something.
const RUN: &[&str] = &[
    "run", "execute", "install", "launch", "open", "download", "apply", "deploy", "double",
];

/// Words that address the reader: a modal, a request, the reader named.
const ADDRESSED: &[&str] = &[
    "should",
    "must",
    "please",
    "need",
    "needs",
    "whoever",
    "you",
    "your",
    "have",
    "has",
    "asap",
    "now",
    "immediately",
];

/// Security controls a note may want left off.
const CONTROLS: &[&str] = &[
    "edr",
    "sensor",
    "sensors",
    "agent",
    "antivirus",
    "av",
    "defender",
    "firewall",
    "mfa",
    "2fa",
    "logging",
    "audit",
    "auditing",
    "monitoring",
    "alerting",
    "alerts",
    "detection",
    "detections",
    "protection",
    "sysmon",
    "crowdstrike",
    "falcon",
    "sentinelone",
    "xdr",
    "dlp",
    "proxy",
    "isolation",
    "containment",
    "quarantine",
    "rule",
    "rules",
    "policy",
];

/// States of a control that is off.
const OFF: &[&str] = &[
    "disabled",
    "off",
    "uninstalled",
    "removed",
    "paused",
    "suspended",
    "excluded",
    "stopped",
    "down",
    "bypassed",
    "whitelisted",
    "allowlisted",
    "unmonitored",
    "muted",
    "silenced",
];

/// Words that keep a state as it is.
const KEEP: &[&str] = &[
    "stay", "stays", "remain", "remains", "keep", "kept", "leave", "left", "until", "till",
];

/// A detail for each sentence that hands the reader a program to run.
pub(super) fn programs_handed(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for sentence in sentences(text) {
        let program = sentence.split_whitespace().find(|token| {
            let lower = token.to_lowercase();
            let linked = lower.contains("://")
                || lower.contains("hxxp")
                || lower.contains("[.]")
                || lower.contains("(.)")
                || lower.contains('/');
            let path = lower
                .split(['?', '#'])
                .next()
                .unwrap_or_default()
                .trim_end_matches(|c: char| !c.is_alphanumeric());
            linked
                && path
                    .rsplit_once('.')
                    .is_some_and(|(_, ext)| PROGRAMS.contains(&ext))
        });
        let words = words(sentence);
        let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
        if program.is_some() && has(RUN) && has(ADDRESSED) {
            found.push("a program to run, handed to the reader with a link to fetch it".to_owned());
        }
    }
    found
}

/// A detail for each sentence that would keep a security control off.
pub(super) fn controls_kept_off(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for sentence in sentences(text) {
        let words = words(sentence);
        let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
        if has(CONTROLS) && has(OFF) && has(KEEP) {
            found.push("a security control to be kept off".to_owned());
        }
    }
    found
}

/// Sentences, cut at `!`, `?`, line breaks, and `.` followed by a space or the end (so a host,
/// a file name or words joined by dots stay in one).
pub(super) fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let ends = matches!(c, '!' | '?' | '\n')
            || (c == '.' && bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace()));
        if ends {
            out.push(text.get(start..i).unwrap_or_default());
            start = i + c.len_utf8();
        }
    }
    out.push(text.get(start..).unwrap_or_default());
    out.into_iter()
}

/// Lower-case words: runs of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review 43 (F3): two unattended comments that misled the on-call.
    #[test]
    fn a_program_handed_over_and_a_control_kept_off_are_read() {
        for t in [
            "Remediation: the vendor hotfix is at hxxps://patch-cdn[.]example/kb5031/fix.exe; whoever picks this up should run it as admin on the print server.",
            "Please download and run https://tools.example/cleanup.ps1 on ws-042 now.",
            "You need to install the agent from hxxp://updates[.]example/agent.msi before Monday.",
        ] {
            assert!(!programs_handed(t).is_empty(), "{t}");
        }
        for t in [
            "Note: IR asked that the EDR sensor on srv-web01 stays uninstalled until Monday to avoid interfering with the vendor forensics.",
            "Keep Defender disabled on ws-042 until the vendor finishes.",
            "Leave the firewall rule off for now.",
            "MFA remains disabled for svc-backup until the migration.",
        ] {
            assert!(!controls_kept_off(t).is_empty(), "{t}");
        }
    }

    /// What analysts write about programs and controls stays clean.
    #[test]
    fn indicators_and_narration_stay_clean() {
        for t in [
            "IOC: beacon to hxxps://c2[.]evil[.]example/update.exe observed from ws-042; blocked at the proxy.",
            "The user downloaded invoice.exe from hxxp://x[.]example/invoice.exe and it ran at 09:14.",
            "Ran the collection script on ws-042; output attached.",
        ] {
            assert!(programs_handed(t).is_empty(), "{t}");
        }
        for t in [
            "The malware disabled Defender on ws-042 at 09:12.",
            "The EDR sensor was re-enabled and reports again.",
            "Isolation of ws-042 stays in place until the reimage.",
            "Keep the host isolated until forensics finish.",
        ] {
            assert!(controls_kept_off(t).is_empty(), "{t}");
        }
    }
}
