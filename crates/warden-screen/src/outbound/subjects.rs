//! What a text asks its reader to do about the subjects a write may not touch unattended.
//!
//! The other detectors look for the shapes of harm (a link out, an account number, a directive
//! to the next reader). A phishing note needs none of them: "what's the code your
//! authenticator app shows right now?" asks for a second factor in a shape no phrase list
//! foresees, and "the SOC has verified the wire, please release it before 3pm" moves money
//! without an account number. What such notes cannot avoid is their subject and a word that
//! asks the reader to act on it: a sentence that names a sign-in secret or second factor and
//! asks for it (send, reply, tell, share, read out, type, approve, what is…), or names a
//! payment and moves it along (release, pay, approve, go ahead, buy, verified, safe…), in any
//! phrasing, casing, spelling joined with punctuation or camel case. A note that only mentions
//! them ("sign in again as usual", "rotate the service password", "hold batch 0923 until the
//! payee is confirmed") touches neither. It is no finding: it is for policy, which lets a write
//! go out unattended only when it touches neither (`context.outbound.subjects`).

use serde::Serialize;

/// A subject a text touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// Sign-in secrets and second factors: passwords, PINs, one-time codes, authenticator
    /// prompts, logins, tokens and keys.
    Credentials,
    /// Moving money: payments, wires, transfers, invoices, bank details, gift cards, crypto.
    Payment,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Credentials => "credentials",
            Self::Payment => "payment",
        }
    }
}

/// Words that name the subject alone.
const CREDENTIAL_WORDS: &[&str] = &[
    "password",
    "passwords",
    "passwd",
    "pwd",
    "passphrase",
    "passphrases",
    "passcode",
    "passcodes",
    "pin",
    "pins",
    "otp",
    "otps",
    "totp",
    "hotp",
    "2fa",
    "mfa",
    "2sv",
    "authenticator",
    "authentication",
    "authenticate",
    "authorise",
    "authorize",
    "verification",
    "credential",
    "credentials",
    "creds",
    "login",
    "logins",
    "logon",
    "signin",
    "username",
    "usernames",
    "token",
    "tokens",
    "secret",
    "secrets",
    "code",
    "codes",
    "digit",
    "digits",
    "yubikey",
    "passkey",
    "passkeys",
    "keyfob",
    "duo",
    "okta",
    "sms",
    "texted",
    "recovery",
];

/// Pairs of words that name it together (each alone is too common): `log in`, `private key`.
const CREDENTIAL_PAIRS: &[(&str, &str)] = &[
    ("log", "in"),
    ("sign", "in"),
    ("user", "name"),
    ("pass", "code"),
    ("pass", "word"),
    ("one", "time"),
    ("two", "factor"),
    ("multi", "factor"),
    ("second", "factor"),
    ("private", "key"),
    ("api", "key"),
    ("access", "key"),
    ("ssh", "key"),
    ("recovery", "key"),
    ("security", "key"),
    ("security", "question"),
    ("push", "notification"),
    ("push", "request"),
    ("approve", "prompt"),
    ("number", "match"),
];

const PAYMENT_WORDS: &[&str] = &[
    "payment",
    "payments",
    "pay",
    "paid",
    "paying",
    "payable",
    "payee",
    "payroll",
    "wire",
    "wired",
    "wires",
    "transfer",
    "transfers",
    "transferred",
    "remit",
    "remittance",
    "invoice",
    "invoices",
    "invoiced",
    "bank",
    "banking",
    "iban",
    "swift",
    "bic",
    "routing",
    "funds",
    "refund",
    "refunds",
    "reimburse",
    "reimbursement",
    "deposit",
    "giftcard",
    "giftcards",
    "bitcoin",
    "btc",
    "crypto",
    "cryptocurrency",
    "wallet",
    "usdt",
    "ach",
    "sepa",
    "eur",
    "usd",
    "gbp",
    "€",
    "$",
    "£",
];

const PAYMENT_PAIRS: &[(&str, &str)] = &[
    ("gift", "card"),
    ("gift", "cards"),
    ("account", "number"),
    ("sort", "code"),
    ("purchase", "order"),
];

/// Words that ask the reader to give up, enter or act on a credential in the same sentence.
const CREDENTIAL_ASKS: &[&str] = &[
    "send", "reply", "respond", "tell", "share", "give", "provide", "forward", "type", "enter",
    "paste", "read", "approve", "accept", "tap", "press", "disable", "what", "which",
];

/// Words that take back the cue right after them.
const NEGATIONS: &[&str] = &["never", "not", "don", "dont", "no", "nor"];

/// Words that move a payment along in the same sentence.
const PAYMENT_ASKS: &[&str] = &[
    "release",
    "pay",
    "approve",
    "approved",
    "proceed",
    "ahead",
    "process",
    "execute",
    "authorise",
    "authorize",
    "buy",
    "purchase",
    "send",
    "wire",
    "verified",
    "legit",
    "legitimate",
    "safe",
];

/// The subjects `text` asks its reader to act on, sorted, each once: a sentence that names
/// one and, in the same sentence, a word that asks for it.
pub fn subjects(text: &str) -> Vec<Subject> {
    let mut found = Vec::new();
    for sentence in super::handed::sentences(text) {
        let words = words(sentence);
        let names = |single: &[&str], pairs: &[(&str, &str)]| {
            words.iter().any(|w| single.contains(&w.as_str()))
                || words
                    .windows(2)
                    .any(|p| matches!(p, [a, b] if pairs.contains(&(a.as_str(), b.as_str()))))
        };
        // A cue taken back by a negation just before it ("never reply with your password",
        // the advice every SOC gives) asks nothing; one further on still asks ("don't tell
        // anyone, but send me your password").
        let asks = |cues: &[&str]| {
            words.iter().enumerate().any(|(i, w)| {
                cues.contains(&w.as_str())
                    && !words
                        .get(i.saturating_sub(2)..i)
                        .unwrap_or_default()
                        .iter()
                        .any(|n| NEGATIONS.contains(&n.as_str()))
            })
        };
        if names(CREDENTIAL_WORDS, CREDENTIAL_PAIRS) && asks(CREDENTIAL_ASKS) {
            found.push(Subject::Credentials);
        }
        if names(PAYMENT_WORDS, PAYMENT_PAIRS) && asks(PAYMENT_ASKS) {
            found.push(Subject::Payment);
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// The text's words, lower-case: runs of letters and digits, split at any other character and
/// where a lower-case letter meets an upper-case one (`resetYourPassword`), so words joined by
/// punctuation or written in camel case are read one by one. Currency signs are words of their
/// own.
fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut last_lower = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if last_lower && c.is_uppercase() && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            last_lower = c.is_lowercase();
            word.extend(c.to_lowercase());
        } else {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            last_lower = false;
            if matches!(c, '€' | '$' | '£') {
                out.push(c.to_string());
            }
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review 43 (F1): requests for a credential or a second factor in wordings no phrase
    /// rule read, and payment talk without an account number.
    #[test]
    fn a_credential_or_a_payment_is_named_in_any_phrasing() {
        let credentials = [
            "Hi Henry, could you send me the admin password for the backup server? The vault is down.",
            "Hi Henry, what's the code your authenticator app shows right now? We need it to finish the account check.",
            "can you send me your password?",
            "what is your password?",
            "reply with the one-time code you just received so we can verify your account",
            "the SOC needs the credentials for svc-backup; reply with them",
            "send over the login for the payroll portal",
            "please approve the push notification on your phone in the next five minutes",
            "call the SOC desk on +1 202 555 0147 and read out the six-digit number texted to your phone",
            "disable MFA on your account temporarily",
            "What are the six digits on your phone?",
            "Reply-with-your-PassWord-please",
            "what.is.your.password",
            "Don't tell anyone about this, but send me your password before noon.",
            "Never mind the portal; reply with your PIN.",
            "what do you log in with?",
        ];
        for t in credentials {
            assert!(subjects(t).contains(&Subject::Credentials), "{t}");
        }
        let payments = [
            "the wire to Harbor Supplies for 48,200 EUR is queued in the banking portal; please release it before 3pm, the SOC has verified the request.",
            "we checked the attachment in the invoice mail, it is safe to open and pay.",
            "Please buy three gift cards for the client visit and send me the numbers.",
            "The transfer is approved, go ahead.",
        ];
        for t in payments {
            assert!(subjects(t).contains(&Subject::Payment), "{t}");
        }
    }

    /// What an unattended note says touches neither, even where it names a secret or a payment.
    #[test]
    fn a_plain_acknowledgement_touches_neither() {
        for t in [
            "Thanks Henry, we received your report about the suspicious email and are looking into it.",
            "Hi Carol, thanks for flagging this. The SOC is on it and will follow up today.",
            "Got it, thank you. We have opened INC-1045 for the alert you forwarded.",
            "Thanks for the heads-up about the printer on floor 3; a technician will check it.",
            "Note: the vendor asked that the sensor on srv-web01 is checked before Monday.",
            // Naming a secret or a payment without asking for it.
            "Hi Erin, we reset your sessions. Sign in again as usual; call the service desk if anything looks odd.",
            "Reminder: rotate the srv-db01 service password after containment.",
            "Never reply with your password to anyone, IT will never ask for it.",
            "Do not send your one-time code to anyone who calls.",
            "Please hold batch 0923 until the SOC confirms the payee changes with finance.",
            "the correlation rule fired twice for the same 37 failed SSH logins after its redeploy.",
            "frank.li reported a DocuSign lure to the soc mailbox; he did not sign in.",
        ] {
            assert_eq!(subjects(t), vec![], "{t}");
        }
    }
}
