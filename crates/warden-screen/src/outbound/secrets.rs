//! What must not leave in a message: credentials and encoded blobs.
//!
//! Credentials are recognised by format where the issuer gives one a format (PEM private key
//! blocks, AWS, GitHub, GitLab, Slack, Stripe, Google, OpenAI/Anthropic, npm, PyPI, SendGrid,
//! Azure keys, JWTs, bearer and `Authorization` headers, crypt and NTLM hashes), and otherwise
//! by a credential name assigned a value (`password=…`, `api_key: …`, "the password is …") whose
//! value is not a placeholder or an everyday word. A password given in a sentence is one too:
//! a word for a password in English or another language (`pw`, `creds`, `Passwort`, `mot de
//! passe`, `contraseña`, `hasło`, `kata sandi`…), up to five words about which account or where
//! (`the srv-db01 service password in config.php is …`), then `is`, `:`, `=` or the language's
//! verb and a value shaped like a password (letters with a digit or a sign, not an id or a time);
//! a user and a password after `creds` or `login`; `use … as the password`. Plain shapes
//! too: the word and the value side by side with no verb (`svc-backup password hunter2x
//! rotated`, `PW tulip-orange-42`), a lower-case value given with `is` or `:` after the word and
//! a preposition (`the password for the vpn is tulip-orange-42`), a login and its password split
//! by a space or a comma, or after what they open (`Wi-Fi: GuestNet / …`), an account set to a
//! value (`reset alice.chen to …`), a password on a command line (`mysql -p…`, `curl -u
//! user:…`, `net use … /user:admin …`, `PGPASSWORD=…`), a one-time, recovery or door code with
//! its digits, a key or a token named and given its value. A lower-case value counts there
//! unless it is written as hosts, tickets and user ids are (`ws-042`, `INC-1043`, `alice.chen`),
//! is an everyday compound (`self-service`), or is named again nearby (a password is given
//! once). Details name the kind, never the value.
//!
//! A blob is a run a reader cannot read: base64 of at least [`MIN_BASE64`] characters that looks
//! random (all three character classes, frequent class changes, not a path), a base64 block over
//! several lines, base32, or hex longer than a SHA-512 digest ([`MAX_HASH_HEX`]), `\x`-escaped or
//! byte-list shellcode. Hex digests (MD5 to SHA-512) and base64 digests of SHA-384/512 are common
//! in security text and are not blobs. A base64 or hex run that the crate's normaliser decodes to
//! readable text is reported too: it hides words from a reviewer.

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use crate::finding::FindingKind;
use crate::normalise::Normalised;

/// Shortest base64 run that is a blob.
const MIN_BASE64: usize = 64;
/// Longest hex run that may be a digest (SHA-512).
const MAX_HASH_HEX: usize = 128;
/// Base64 lengths of SHA-384 and SHA-512 digests (unpadded and padded).
const DIGEST_BASE64: &[usize] = &[64, 86, 88];

struct Format {
    detail: &'static str,
    pattern: &'static str,
}

static FORMATS: &[Format] = &[
    Format {
        detail: "private key block",
        pattern: r"-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File-\d",
    },
    Format {
        detail: "AWS access key id",
        pattern: r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}(?-u:\b)",
    },
    Format {
        detail: "AWS secret access key",
        pattern: r#"(?i)aws[\w\s.-]{0,20}?(?:secret|key)[\w\s.-]{0,20}?["']?\s*[=:]\s*["']?[A-Za-z0-9/+]{40}(?-u:\b)"#,
    },
    Format {
        detail: "GitHub token",
        pattern: r"(?-u:\b)(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,255}|(?-u:\b)github_pat_[A-Za-z0-9_]{22,255}",
    },
    Format {
        detail: "GitLab token",
        pattern: r"(?-u:\b)glpat-[A-Za-z0-9_-]{20,}",
    },
    Format {
        detail: "Slack token",
        pattern: r"(?-u:\b)xox[abposre]-[A-Za-z0-9-]{10,}|hooks\.slack\.com/services/T[A-Za-z0-9_]+/B[A-Za-z0-9_]+/[A-Za-z0-9_]+",
    },
    Format {
        detail: "Stripe key",
        pattern: r"(?-u:\b)(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}",
    },
    Format {
        detail: "Google API key or OAuth token",
        pattern: r"(?-u:\b)AIza[0-9A-Za-z_-]{35}|(?-u:\b)ya29\.[0-9A-Za-z_-]{20,}",
    },
    Format {
        detail: "AI provider API key",
        pattern: r"(?-u:\b)sk-(?:ant-|proj-|live-|svcacct-)?[A-Za-z0-9_-]{20,}",
    },
    Format {
        detail: "package registry token",
        pattern: r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)|(?-u:\b)pypi-[A-Za-z0-9_-]{50,}",
    },
    Format {
        detail: "SendGrid key",
        pattern: r"(?-u:\b)SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
    },
    Format {
        detail: "Telegram bot token",
        pattern: r"(?-u:\b)\d{8,10}:AA[0-9A-Za-z_-]{33}",
    },
    Format {
        detail: "Azure storage key or SAS signature",
        pattern: r"(?i)AccountKey=[A-Za-z0-9+/]{40,}={0,2}|(?i)SharedAccessKey=[A-Za-z0-9+/]{30,}={0,2}|[?&]sig=[A-Za-z0-9%+/]{30,}",
    },
    Format {
        detail: "JSON web token",
        pattern: r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    },
    Format {
        detail: "bearer token",
        pattern: r"(?i)(?-u:\b)bearer\s+[A-Za-z0-9\-._~+/]{16,}=*",
    },
    Format {
        detail: "Authorization header",
        pattern: r"(?i)(?-u:\b)(?:proxy-)?authorization\s*[:=]\s*[\x22']?(?:basic|bearer|token|digest|negotiate|ntlm|sharedkey)\s+[A-Za-z0-9\-._~+/=:]{8,}",
    },
    Format {
        detail: "password hash",
        pattern: r"\$(?:2[abxy]|5|6|y|argon2(?:id|i|d)|pbkdf2[\w-]*)\$[^\s$]{1,40}\$[./A-Za-z0-9+=$,]{20,}|[^\s:]{1,64}:\d{1,10}:[0-9a-fA-F]{32}:[0-9a-fA-F]{32}:::",
    },
];

static FORMAT_SET: LazyLock<Option<(RegexSet, Vec<Regex>)>> = LazyLock::new(|| {
    let set = RegexSet::new(FORMATS.iter().map(|f| f.pattern)).ok()?;
    let res = FORMATS
        .iter()
        .map(|f| Regex::new(f.pattern).ok())
        .collect::<Option<Vec<_>>>()?;
    Some((set, res))
});

/// `name = value`, `name: value`, `"name": "value"`.
static ASSIGNMENT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?-u:\b)(password|passwd|passphrase|pass|pwd|secret|client[_-]?secret|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|session[_-]?token|private[_-]?key|token|credentials?|pin)["']?\s*(?:[:=]|=>|:=)\s*["']?([^\s"',;<>]{4,})"#).ok()
});

/// "the password is …", "temporary password: …".
static SPOKEN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?-u:\b)(?:password|passcode|passphrase|pass|pwd|pin|(?:log-?in|sign-?in|vpn|wi-?fi|door|alarm|safe)\s+code)\s+(?:is|was|are|will\s+be|(?:has\s+been\s+|was\s+|is\s+)?(?:set|changed|reset)\s+to)\s+["'“]?([^\s"'”]{4,})"#).ok()
});

/// A word for a password, in English and the languages the screen's other readers name
/// (`Passwort`, `mot de passe`, `contraseña`, `senha`, `hasło`, `wachtwoord`, `kata sandi`…).
const PASSWORD_WORDS: &str = r"password|passwd|passwort|passphrase|passcode|pwd|pw|creds|kennwort|mot\s+de\s+passe|mdp|contrase(?:ñ|n)a|clave|senha|has(?:ł|l)o|wachtwoord|parola|l(?:ö|o)senord|passord|adgangskode|salasana|kata\s+sandi|sandi|пароль|parol|heslo|jelsz(?:ó|o)|(?:ş|s)ifre|m(?:ậ|a)t\s+kh(?:ẩ|a)u";

/// What stands between a password word and its value: a verb (in the same languages) or `:`,
/// `=`.
const GIVEN_AS: &str = r"(?:\s+(?:is|are|was|were|will\s+be|(?:has\s+been\s+|was\s+|is\s+)?(?:set|changed|reset)\s+to|ist|lautet|est|es|é|è|er|to|jest|adalah|ialah|är|on)\s+|\s*(?:[:=]|=>|:=|->|→)\s*|\s+[-–—]\s+)";

/// A password word, up to five words (about which account, where it is kept), then the value
/// it is given: "the srv-db01 service password in config.php is …", "pw: …", "das Passwort
/// für srv-db01 ist …".
static PROSE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?:^|[^\p{{L}}\p{{N}}_])(?:{PASSWORD_WORDS})(?:\s+[^\s!?;:=]*[^\s.!?;:=]){{0,5}}?{GIVEN_AS}["'“‘]?([^\s"'”’]{{6,}})"#
    ))
    .ok()
});

/// A user and a password side by side (`admin / …`, `admin:…`), read with ASCII classes so the
/// scan stays fast; [`PAIR_CUE`] must name it a login just before.
static PAIR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?-u:\b)[A-Za-z0-9_.@\\-]{1,64}(?:[ \t]*/[ \t]*|:)["']?([^\s"'”’]{6,})"#).ok()
});

/// What names a user and a password a login: "creds are admin / …", "login for the portal:
/// admin / …", at the end of the words before the pair.
static PAIR_CUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?:^|[^\p{{L}}\p{{N}}_])(?:creds?|credentials?|log-?in|sign-?in|user(?:name)?\s*/\s*pass(?:word)?|{PASSWORD_WORDS})(?:\s+[^\s!?;:=]*[^\s.!?;:=]){{0,5}}?(?:{GIVEN_AS}|\s+)["'“‘]?$"#
    ))
    .ok()
});

/// A value given first and named a password after: "use … as the password for srv-db01".
static NAMED_AFTER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?:^|[^\p{{L}}\p{{N}}_])(?:use|set|try|enter|type)\s+["'“‘]?([^\s"'”’]{{6,}}?)["'”’]?\s+(?:as|for)\s+(?:the\s+|their\s+|its\s+|his\s+|her\s+|a\s+)?(?:new\s+|temporary\s+|temp\s+|initial\s+)?(?:{PASSWORD_WORDS})"#
    ))
    .ok()
});

/// A password word followed by its value with no verb: a record's field ("svc-backup
/// password hunter2x rotated", "PW tulip-orange-42", "vpn passphrase correct-horse-battery").
static NOMINAL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?:^|[^\p{{L}}\p{{N}}_])(?:{PASSWORD_WORDS}|psw|pword|p/w)[ \t]+["'“‘]?([^\s"'”’]{{6,}})"#
    ))
    .ok()
});

/// The value given for a password word with `is`, `:` or `=` and at most a preposition and a
/// few words of which account between: "the password for the vpn is tulip-orange-42". Read
/// with the relaxed shape of [`given_password`], so a lower-case value counts.
static GIVEN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?:^|[^\p{{L}}\p{{N}}_])(?:{PASSWORD_WORDS}|pass|psw|pword|p/w)(?:\s+(?:for|of|on|to|at|in|from)(?:\s+[^\s!?;:=]*[^\s.!?;:=]){{1,4}}?)?(?:\s+(?:is|was|are|will\s+be|(?:has\s+been\s+|was\s+|is\s+)?(?:set|changed|reset)\s+to|ist|est|es|é|to|jest|adalah|är)\s+|\s*(?:[:=]|=>|:=|->|→)\s*)(?:now\s+|still\s+|currently\s+|just\s+|simply\s+)?["'“‘]?([^\s"'”’]{{6,}})"#
    ))
    .ok()
});

/// An account set to a value: "Reset alice.chen to tulip-orange-42", "changed svc-backup's
/// password to hunter2x".
static RESET_TO: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?-u:\b)(?:reset|set|changed?|updated?)\s+(?:the\s+)?(?:(?:{PASSWORD_WORDS})\s+(?:for|of|on)\s+)?[A-Za-z0-9_.@\\-]{{2,64}}?(?:['’]s)?(?:\s+(?:{PASSWORD_WORDS}))?\s+to\s+["'“‘]?([^\s"'”’]{{6,}})"#
    ))
    .ok()
});

/// A login and its password side by side after a word for them, split by a comma or a space:
/// "login svc-backup hunter2x", "Creds: svc-backup, hunter2x".
static SPACED_PAIR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[^\p{L}\p{N}_])(?:creds?|credentials?|log-?in|sign-?in)(?:\s+(?:is|are|for\s+[^\s,:]+))?\s*[:=\-–—]?\s*[A-Za-z0-9_.@\\-]{2,64}(?:[ \t]*,[ \t]*|[ \t]+)["'“‘]?([^\s"'”’,;]{6,})"#).ok()
});

/// A user and a password each after its word: "user svc-backup pass hunter2x", "username:
/// admin, password Spring2026!".
static USER_THEN_PASSWORD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"(?i)(?-u:\b)(?:user(?:name)?|login|account|acct|uid)\s*[:=]?\s*[A-Za-z0-9_.@\\-]{{2,64}}\s*[,;/|]?\s*(?:pass|{PASSWORD_WORDS})\s*[:=]?\s*["'“‘]?([^\s"'”’,;]{{6,}})"#
    ))
    .ok()
});

/// A user and a password after the name of what they open: "Wi-Fi: GuestNet / …", "vpn:
/// alice.chen / …".
static SERVICE_PAIR_CUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[^\p{L}\p{N}_])(?:wi-?fi|wlan|ssid|vpn|rdp|ssh|s?ftp|smb|database|db|portal|router|console|admin|root)\s*[:=\-–—]?\s*$"#).ok()
});

/// A password on a command line: `mysql -u root -phunter2x`, `sshpass -p '…'`, `curl -u
/// user:…`, `net use … /user:admin …`, `--password=…`, `-Password …`, `ConvertTo-SecureString
/// "…" -AsPlainText`, `xfreerdp /p:…`, `smbclient -U user%…`, `PGPASSWORD=…`.
static COMMAND_LINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:(?-u:\b)(?:mysql|mysqldump|mariadb)(?-u:\b)[^\n]{0,80}?\s-p|(?-u:\b)(?:sshpass|redis-cli|rdesktop)(?-u:\b)[^\n]{0,40}?\s-[pa]\s*|(?-u:\b)(?:curl|wget)(?-u:\b)[^\n]{0,80}?\s(?:-u|--user)\s+["']?[^\s:"']{1,64}:|(?-u:\b)(?:net\s+use|runas)(?-u:\b)[^\n]{0,120}?/user:\S+\s+|(?:^|\s)--?(?:password|passwd|pass|pwd)(?:\s+|=)|(?:^|\s)/p(?:assword)?:|(?-u:\b)smbclient(?-u:\b)[^\n]{0,80}?\s-U\s+["']?[^\s%"']{1,64}%|(?-u:\b)ConvertTo-SecureString\s+(?:-String\s+)?|(?-u:\b)[A-Z0-9_]*(?:PASSWORD|PASSWD|_PWD|_SECRET|_TOKEN|API_KEY)\s*=\s*)["']?([^\s"']{4,})"#).ok()
});

/// A one-time, recovery or door code given with its digits: "One-time code: 482139",
/// "recovery code 4821-3977-9102", "door code 4821".
static CODE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?-u:\b)(?:mfa|2fa|otp|one[\s-]?time|verification|recovery|backup|authenticator|sms|door|alarm|safe|gate|keypad|vpn|wi-?fi|login|sign-?in|security)\s+(?:codes?|pins?|passcodes?)(?:\s+(?:is|are|was|were))?\s*[:=\-–—]?\s*(\d[\d \t-]{3,})"#).ok()
});

/// A key or a token named and given its value: "API key 7Hk29sLm0QpZx81", "token
/// abcd1234efgh5678", "secret: hunter2x9".
static KEY_VALUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^|[^\p{L}\p{N}_])(api[\s_-]?key|access[\s_-]?key|secret[\s_-]?key|client[\s_-]?secret|auth[\s_-]?token|access[\s_-]?token|refresh[\s_-]?token|session[\s_-]?token|token|secret)(?:\s+(?:is|was))?\s*[:=]?\s*["'“‘]?([A-Za-z0-9_+/=.~-]{8,})"#).ok()
});

/// Written the way hosts, tickets and user ids are: `ws-042`, `dc01`, `INC-1043`, `alice.chen`,
/// a host name with a domain, a path.
fn names_a_thing(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    let l = l.trim_end_matches(['.', ',', ')', ']', '}', ':', ';']);
    let (letters, rest) = l.split_at(
        l.find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(l.len()),
    );
    let rest = rest.strip_prefix(['-', '_']).unwrap_or(rest);
    // `dc01`, `ws-042`, `inc-1043`, `web3`; not `hunter2` or `winter2026`, which no one
    // numbers as hosts are numbered (zero-padded, after a separator, after a short prefix).
    let separated = l.len() > letters.len() + rest.len();
    let short_id = (1..=8).contains(&letters.len())
        && !rest.is_empty()
        && rest.chars().all(|c| c.is_ascii_digit())
        && (separated || rest.starts_with('0') || letters.len() <= 3);
    let user = l.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty()
            && !b.is_empty()
            && a.chars().all(|c| c.is_ascii_alphabetic())
            && b.chars().all(|c| c.is_ascii_alphabetic())
    });
    let host = l.contains('.')
        && l.rsplit('.')
            .next()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    let path = l.contains('/') || l.contains('\\');
    short_id || user || host || path || l.starts_with("srv-") || l.starts_with("svc-")
}

/// Words joined without a digit or a capital (`self-service`, `read-only`): an everyday
/// compound, unless it is a passphrase of three words or more.
fn compound_word(v: &str) -> bool {
    let digit = v.chars().any(|c| c.is_ascii_digit());
    let upper = v.chars().any(char::is_uppercase);
    let odd = v
        .chars()
        .any(|c| !c.is_alphanumeric() && !matches!(c, '-' | '_' | '.'));
    !digit && !upper && !odd && {
        let parts: Vec<&str> = v.split(['-', '_', '.']).collect();
        parts.len() < 3 || parts.iter().any(|p| p.chars().count() < 3)
    }
}

/// A value given as a password, read more widely than [`spoken_password`]: a lower-case value
/// counts (`tulip-orange-42`, `hunter2x`), unless it is written as a host, a ticket or a user
/// id is, or is a word or words without a digit (`self-service`), or is named elsewhere in the
/// text as well (a host or an account is named again; a password is given once).
fn given_password(found: regex::Match<'_>, text: &str) -> bool {
    let v = found.as_str();
    let v = v.trim_end_matches(['.', ',', ')', ']', '}', ':', ';']);
    let letter = v.chars().any(char::is_alphabetic);
    let digit = v.chars().any(|c| c.is_ascii_digit());
    let upper = v.chars().any(char::is_uppercase);
    let sign = v.chars().any(|c| !c.is_alphanumeric());
    let letters = v.chars().filter(|c| c.is_alphabetic()).count();
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let numeric = letters <= 2 && digits * 2 >= v.chars().count();
    let label =
        !v.chars().any(char::is_lowercase) && v.chars().all(|c| c.is_alphanumeric() || c == '-');
    let words_only = compound_word(v);
    // A variable, an option, a prompt or a reference in brackets, not a value: `$pw`,
    // `-AsPlainText`, `*`, `(ALR-2004)`.
    let reference = v.starts_with(['-', '$', '%', '<', '{', '*', '(', '[']);
    v.chars().count() >= 6
        && letter
        && (digit || sign || upper)
        && !numeric
        && !label
        && !words_only
        && !names_a_thing(v)
        && !reference
        && !placeholder(v)
        && !named_again(text, found.range(), v)
}

/// Whether `v`, found at `at`, is written again within a kilobyte either side: a host or an
/// account is named again in a note, a password is given once. Bounded, so that many
/// candidates in a long text cost linear time.
fn named_again(text: &str, at: Range<usize>, v: &str) -> bool {
    const AROUND: usize = 1024;
    let mut from = at.start.saturating_sub(AROUND);
    while from > 0 && !text.is_char_boundary(from) {
        from -= 1;
    }
    let mut to = at.end.saturating_add(AROUND).min(text.len());
    while to < text.len() && !text.is_char_boundary(to) {
        to += 1;
    }
    let v = v.trim_end_matches(['.', ',', ')', ']', '}', ':', ';']);
    let before = text.get(from..at.start).unwrap_or_default();
    let after = text.get(at.end..to).unwrap_or_default();
    !v.is_empty() && (before.contains(v) || after.contains(v))
}

/// At most `len` bytes of `text` before `at`, cut on a character boundary.
fn before(text: &str, at: usize, len: usize) -> &str {
    let mut from = at.saturating_sub(len);
    while from > 0 && !text.is_char_boundary(from) {
        from -= 1;
    }
    text.get(from..at).unwrap_or_default()
}

/// A value given in a sentence that is a password rather than a word, an id or a host: six
/// characters or more, letters with a digit or a sign, not written the way ids are (lower
/// case, digits and `.-_@/:` only: `srv-db01`, `inc-1043`, `alice.chen`).
fn spoken_password(v: &str) -> bool {
    let v = v.trim_end_matches(['.', ',', ')', ']', '}', ':', ';']);
    let letter = v.chars().any(char::is_alphabetic);
    let digit = v.chars().any(|c| c.is_ascii_digit());
    let sign = v.chars().any(|c| !c.is_alphanumeric());
    // A timestamp or a number with a unit (`2026-12-07T09:30Z`, `12chars`).
    let letters = v.chars().filter(|c| c.is_alphabetic()).count();
    let digits = v.chars().filter(char::is_ascii_digit).count();
    let numeric = letters <= 2 && digits * 2 >= v.chars().count();
    let id_like = !v.chars().any(char::is_uppercase)
        && v.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '/' | ':'));
    // A ticket or a host in capitals (`INC-1043`, `SRV-DB01`).
    let label =
        !v.chars().any(char::is_lowercase) && v.chars().all(|c| c.is_alphanumeric() || c == '-');
    v.chars().count() >= 6
        && letter
        && (digit || sign)
        && !id_like
        && !label
        && !numeric
        && !placeholder(v)
}

/// Values that stand in for a secret, or everyday words that follow a credential name.
const NOT_SECRETS: &[&str] = &[
    "redacted",
    "[redacted]",
    "<redacted>",
    "hidden",
    "removed",
    "none",
    "null",
    "nil",
    "n/a",
    "empty",
    "unset",
    "unknown",
    "example",
    "placeholder",
    "reset",
    "expired",
    "changed",
    "required",
    "updated",
    "rotated",
    "revoked",
    "invalid",
    "incorrect",
    "wrong",
    "protected",
    "policy",
    "manager",
    "prompt",
    "field",
    "length",
    "change",
    "rotation",
    "false",
    "true",
    "enabled",
    "disabled",
    "missing",
    "provided",
    "sent",
    "stored",
    "vault",
    "compromised",
    "leaked",
    "exposed",
    "strength",
    "complexity",
    "expiry",
    "expiration",
    "request",
    "spray",
    "spraying",
    "authentication",
    "auth",
    "login",
    "based",
    "only",
    "used",
    "being",
    "still",
];

fn placeholder(v: &str) -> bool {
    let l = v.to_ascii_lowercase();
    let l = l.trim_end_matches(['.', ')', ']', '}']);
    NOT_SECRETS.contains(&l)
        || l.chars()
            .all(|c| matches!(c, '*' | 'x' | '•' | '.' | '-' | '_' | '#'))
        || (l.starts_with('<') && l.ends_with('>'))
        || l.starts_with("{{")
        || l.starts_with("${")
        || l.starts_with('%')
        || l.starts_with("your")
        || l.starts_with("env:")
        || l.starts_with("$env")
        || l.contains("redacted")
}

/// A value with more than letters in it: a digit, a symbol, or mixed case.
fn complex(v: &str) -> bool {
    let digit = v.chars().any(|c| c.is_ascii_digit());
    let symbol = v.chars().any(|c| !c.is_alphanumeric());
    let upper = v.chars().any(char::is_uppercase);
    let lower = v.chars().any(char::is_lowercase);
    digit || symbol || (upper && lower)
}

fn credential_value(name: &str, value: &str) -> bool {
    if placeholder(value) {
        return false;
    }
    let name = name.to_ascii_lowercase();
    let password = matches!(
        name.as_str(),
        "password" | "passwd" | "passphrase" | "pass" | "pwd"
    );
    if password {
        return value.chars().count() >= 4;
    }
    if name == "pin" {
        return value.chars().all(|c| c.is_ascii_digit()) && (4..=8).contains(&value.len());
    }
    // A user or a host named after `credentials:` is whose they are, not a value.
    value.chars().count() >= 8 && complex(value) && !names_a_thing(value)
}

/// Credentials in `text`, as finding details.
pub(super) fn secrets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some((set, res)) = FORMAT_SET.as_ref() {
        for i in set.matches(text).iter() {
            if let (Some(f), Some(_)) = (FORMATS.get(i), res.get(i)) {
                out.push(format!("credential: {}", f.detail));
            }
        }
    }
    if let Some(re) = ASSIGNMENT.as_ref() {
        for caps in re.captures_iter(text) {
            if let (Some(name), Some(value)) = (caps.get(1), caps.get(2))
                && credential_value(name.as_str(), value.as_str())
            {
                out.push(format!(
                    "credential: `{}` assigned a value",
                    name.as_str().to_ascii_lowercase()
                ));
                break;
            }
        }
    }
    let spoken = SPOKEN.as_ref().is_some_and(|re| {
        re.captures_iter(text).any(|caps| {
            caps.get(1).is_some_and(|v| {
                let v = v.as_str().trim_end_matches(['.', ',', ')', ';']);
                !placeholder(v) && complex(v) && !compound_word(v)
            })
        })
    });
    // Then with words between the password word and its value, after a user name, or before
    // the word: only a value shaped like a password, not an id or a time.
    let given = |re: &Option<Regex>| {
        re.as_ref().is_some_and(|re| {
            re.captures_iter(text)
                .any(|c| c.get(1).is_some_and(|v| spoken_password(v.as_str())))
        })
    };
    let pair = PAIR.as_ref().is_some_and(|re| {
        re.captures_iter(text).any(|c| {
            let (Some(all), Some(v)) = (c.get(0), c.get(1)) else {
                return false;
            };
            spoken_password(v.as_str())
                && PAIR_CUE
                    .as_ref()
                    .is_some_and(|cue| cue.is_match(before(text, all.start(), 80)))
        })
    });
    if spoken || pair || given(&PROSE) || given(&NAMED_AFTER) {
        out.push("credential: a password given in prose".to_owned());
    } else if plain_password(text) {
        out.push("credential: a password given as a record's field or beside a login".to_owned());
    }
    if COMMAND_LINE.as_ref().is_some_and(|re| {
        re.captures_iter(text).any(|c| {
            c.get(1).is_some_and(|v| {
                let v = v.as_str();
                !placeholder(v) && !v.starts_with(['$', '%', '<', '-'])
            })
        })
    }) {
        out.push("credential: a password on a command line".to_owned());
    }
    if CODE.as_ref().is_some_and(|re| {
        re.captures_iter(text).any(|c| {
            c.get(1)
                .is_some_and(|v| v.as_str().chars().filter(char::is_ascii_digit).count() >= 4)
        })
    }) {
        out.push("credential: a one-time, recovery or access code".to_owned());
    }
    if KEY_VALUE.as_ref().is_some_and(|re| {
        re.captures_iter(text).any(|c| {
            let (Some(name), Some(v)) = (c.get(1), c.get(2)) else {
                return false;
            };
            let v = v.as_str().trim_end_matches(['.', ',']);
            let long_enough = if name.as_str().eq_ignore_ascii_case("secret") {
                8
            } else {
                12
            };
            v.chars().count() >= long_enough
                && v.chars().any(|c| c.is_ascii_digit())
                && v.chars().any(char::is_alphabetic)
                // A digest is quoted, not a key.
                && !v.chars().all(|c| c.is_ascii_hexdigit())
                && !names_a_thing(v)
                && !placeholder(v)
        })
    }) {
        out.push("credential: a key or a token given its value".to_owned());
    }
    out
}

/// A password given without a sentence around it: after its word with no verb, with `is` or
/// `:` though it is written in lower case, or beside a login split by a space or a comma.
fn plain_password(text: &str) -> bool {
    let any = |re: &Option<Regex>| {
        re.as_ref().is_some_and(|re| {
            re.captures_iter(text)
                .any(|c| c.get(1).is_some_and(|v| given_password(v, text)))
        })
    };
    let service_pair = PAIR.as_ref().is_some_and(|re| {
        re.captures_iter(text).any(|c| {
            let (Some(all), Some(v)) = (c.get(0), c.get(1)) else {
                return false;
            };
            given_password(v, text)
                && [&PAIR_CUE, &SERVICE_PAIR_CUE].iter().any(|cue| {
                    cue.as_ref()
                        .is_some_and(|cue| cue.is_match(before(text, all.start(), 80)))
                })
        })
    });
    any(&NOMINAL)
        || any(&GIVEN)
        || any(&SPACED_PAIR)
        || any(&RESET_TO)
        || any(&USER_THEN_PASSWORD)
        || service_pair
}

static BASE64_RUN: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9+/_-]{32,}={0,3}").ok());
static ESCAPED_BYTES: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?:\\x[0-9a-fA-F]{2}){32,}|(?:0x[0-9a-fA-F]{2}\s*,\s*){32,}|(?:[0-9a-fA-F]{2}[: -]){64,}[0-9a-fA-F]{2}").ok()
});

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    Lower,
    Digit,
    Other,
}

fn class(c: char) -> Class {
    if c.is_ascii_uppercase() {
        Class::Upper
    } else if c.is_ascii_lowercase() {
        Class::Lower
    } else if c.is_ascii_digit() {
        Class::Digit
    } else {
        Class::Other
    }
}

/// Why a run of base64-alphabet characters is a blob, if it is.
fn blob_kind(run: &str) -> Option<String> {
    // A digest written with its algorithm (`sha512-…`, subresource integrity) is a digest.
    let run = [
        "sha512-", "sha384-", "sha256-", "sha1-", "md5-", "sha512_", "sha256_",
    ]
    .iter()
    .find_map(|p| run.strip_prefix(p))
    .unwrap_or(run);
    let body = run.trim_end_matches('=');
    let len = body.len();
    if body.bytes().all(|b| b.is_ascii_hexdigit()) {
        return (len > MAX_HASH_HEX).then(|| format!("hex blob of {len} characters"));
    }
    let base32 = body
        .bytes()
        .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    if base32 {
        let distinct = {
            let mut seen = [false; 256];
            body.bytes().for_each(|b| {
                if let Some(s) = seen.get_mut(usize::from(b)) {
                    *s = true;
                }
            });
            seen.iter().filter(|&&s| s).count()
        };
        return (len >= MIN_BASE64 && distinct >= 16)
            .then(|| format!("base32 blob of {len} characters"));
    }
    if len < MIN_BASE64 || DIGEST_BASE64.contains(&run.len()) || DIGEST_BASE64.contains(&len) {
        return None;
    }
    // A path or a long kebab/snake identifier: many short segments.
    let separators = body
        .bytes()
        .filter(|b| matches!(b, b'/' | b'-' | b'_'))
        .count();
    if separators >= 3 && len / (separators + 1) < 16 {
        return None;
    }
    let classes: Vec<Class> = body.chars().map(class).collect();
    let has = |c: Class| classes.contains(&c);
    if !(has(Class::Upper) && has(Class::Lower) && has(Class::Digit)) {
        return None;
    }
    let changes = classes.windows(2).filter(|w| w.first() != w.get(1)).count();
    (changes * 4 >= len).then(|| format!("base64 blob of {len} characters"))
}

fn overlaps(r: &Range<usize>, spans: &[Range<usize>]) -> bool {
    spans.iter().any(|s| s.start < r.end && r.start < s.end)
}

/// Encoded blobs in `view`, skipping runs inside internal links.
pub(super) fn blobs(view: &str, internal_links: &[Range<usize>]) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(re) = BASE64_RUN.as_ref() {
        for m in re.find_iter(view) {
            if overlaps(&m.range(), internal_links) {
                continue;
            }
            if let Some(d) = blob_kind(m.as_str()) {
                out.push(d);
                break;
            }
        }
    }
    // Base64 wrapped over lines (PEM bodies, MIME parts): each line alone may be short.
    let mut lines = 0usize;
    let mut total = 0usize;
    for line in view.lines().chain(std::iter::once("")) {
        let t = line.trim();
        let b64 = t.len() >= 40
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            && t.bytes().any(|b| b.is_ascii_digit())
            && t.bytes().any(|b| b.is_ascii_uppercase())
            && t.bytes().any(|b| b.is_ascii_lowercase());
        if b64 {
            lines += 1;
            total += t.len();
        } else {
            if lines >= 2 && total >= MIN_BASE64 {
                out.push(format!("base64 block over {lines} lines"));
                break;
            }
            lines = 0;
            total = 0;
        }
    }
    if let Some(re) = ESCAPED_BYTES.as_ref()
        && re
            .find(view)
            .is_some_and(|m| !overlaps(&m.range(), internal_links))
    {
        out.push("escaped byte sequence".to_owned());
    }
    out
}

/// Base64 or hex runs the normaliser decoded to readable text.
pub(super) fn decoded_runs(n: &Normalised) -> Vec<String> {
    n.findings()
        .iter()
        .filter(|f| {
            f.kind == FindingKind::EncodedText
                && (f.detail.starts_with("base64") || f.detail.starts_with("hex"))
        })
        .take(1)
        .map(|f| format!("{} (hidden from a reader)", f.detail))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_compile() {
        assert!(FORMAT_SET.is_some());
        assert!(ASSIGNMENT.is_some() && SPOKEN.is_some());
        for re in [
            &NOMINAL,
            &GIVEN,
            &SPACED_PAIR,
            &RESET_TO,
            &USER_THEN_PASSWORD,
            &SERVICE_PAIR_CUE,
            &COMMAND_LINE,
            &CODE,
            &KEY_VALUE,
        ] {
            assert!(re.is_some());
        }
        assert!(BASE64_RUN.is_some() && ESCAPED_BYTES.is_some());
    }

    #[test]
    fn digests_are_not_blobs() {
        for n in [32, 40, 56, 64, 96, 128] {
            assert!(blob_kind(&"a1".repeat(n / 2)).is_none(), "{n}");
        }
        assert!(blob_kind(&"a1".repeat(65)).is_some());
    }
}
