//! Argument types: parse and normalise a tool call's argument before any policy sees it.
//!
//! Policies used to match raw strings, and the systems behind the tools parse those strings
//! differently: `to like "*@northwind.example"` admitted `x@evil.example,soc@northwind.example`
//! (a list to a mail server) and denied `Erin.Walsh@Northwind.example` (case). The design choice
//! here is that every value either parses to exactly one unambiguous, canonical meaning, or is
//! refused with an [`ArgError`] that says why. Nothing is "cleaned up" by dropping characters;
//! where two readings of a string exist (a list or one address, a user or a host, a lexical or a
//! kernel `..`), the string is refused rather than guessed at.
//!
//! Each checked type ([`Email`], [`Url`], [`Hostname`], [`SafePath`]) has private fields, so a
//! value of the type can only come from its parser, and `Display` gives the normalised form that
//! parses back to an equal value.
//!
//! The module is pure: no I/O. The public-suffix list behind [`Url::domain`] is compiled into the
//! `psl` crate; nothing is fetched.

use std::fmt;
use std::net::IpAddr;

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};
use unicode_normalization::UnicodeNormalization;

/// The longest email address RFC 5321 lets through a `RCPT TO` path (256 less the brackets).
const MAX_EMAIL: usize = 254;
/// RFC 5321 section 4.5.3.1.1.
const MAX_LOCAL: usize = 64;
/// RFC 1035: 255 octets on the wire is 253 characters of dotted text.
const MAX_HOSTNAME: usize = 253;
/// RFC 1035 section 2.3.4.
const MAX_LABEL: usize = 63;
/// Bounds the work done on hostile input before IDNA runs; no valid name comes near it.
const MAX_RAW_HOSTNAME: usize = 1024;
/// Generous for real URLs (browsers and servers commonly stop near 8 KiB); bounds the work.
const MAX_URL: usize = 8192;
/// Linux `PATH_MAX`.
const MAX_PATH: usize = 4096;
/// How much of a user's value an error message repeats.
const MAX_SHOWN: usize = 120;

/// What kind of argument a value was being parsed as; names the value in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// [`Email`].
    Email,
    /// [`Url`].
    Url,
    /// [`Hostname`].
    Hostname,
    /// [`parse_ip`].
    Ip,
    /// [`SafePath`].
    Path,
    /// [`check_enum`].
    Enum,
    /// [`check_id`], [`IdIndex`].
    Id,
    /// [`check_relative_glob`].
    Glob,
}

impl fmt::Display for ArgKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ArgKind::Email => "email address",
            ArgKind::Url => "url",
            ArgKind::Hostname => "hostname",
            ArgKind::Ip => "ip address",
            ArgKind::Path => "path",
            ArgKind::Enum => "value",
            ArgKind::Id => "id",
            ArgKind::Glob => "glob pattern",
        })
    }
}

/// Why an argument was refused. Each message repeats the user's value in backticks, with
/// control and invisible characters escaped (`\n`, `\u{200b}`) so that a log line stays one line
/// and shows what was really sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgError {
    #[error("{kind} is empty")]
    Empty { kind: ArgKind },
    #[error("{kind} `{}` is longer than {max} bytes", shown(.value))]
    TooLong {
        kind: ArgKind,
        value: String,
        max: usize,
    },
    #[error("{kind} `{}` contains whitespace, a control character or an invisible character", shown(.value))]
    Whitespace { kind: ArgKind, value: String },
    #[error("{kind} `{}` contains the character `{}`, which is not allowed there", shown(.value), shown_char(*.ch))]
    BadChar {
        kind: ArgKind,
        value: String,
        ch: char,
    },
    #[error("{kind} `{}` has a leading, trailing or doubled dot", shown(.value))]
    Dots { kind: ArgKind, value: String },
    #[error("{kind} `{}` is or contains an ip address where a domain name is required", shown(.value))]
    IpLiteral { kind: ArgKind, value: String },
    #[error("{kind} `{}` is not a valid internationalised domain name", shown(.value))]
    Idna { kind: ArgKind, value: String },
    #[error("{kind} `{}` has a label that is not a valid hostname label (letters, digits and inner hyphens, at most 63)", shown(.value))]
    BadLabel { kind: ArgKind, value: String },
    #[error("{kind} `{}` contains percent-encoding", shown(.value))]
    PercentEncoded { kind: ArgKind, value: String },
    #[error("{kind} `{}` contains a backslash", shown(.value))]
    Backslash { kind: ArgKind, value: String },
    #[error("{kind} `{}` is not absolute", shown(.value))]
    NotAbsolute { kind: ArgKind, value: String },

    #[error("email address `{}` is a list: give exactly one address", shown(.value))]
    List { value: String },
    #[error("email address `{}` has a display name or angle brackets: give only the bare address", shown(.value))]
    DisplayName { value: String },
    #[error("email address `{}` contains a comment in parentheses", shown(.value))]
    Comment { value: String },
    #[error("email address `{}` has a quoted local part", shown(.value))]
    QuotedLocal { value: String },
    #[error("email address `{}` uses `%` or `!` routing", shown(.value))]
    Routing { value: String },
    #[error("email address `{}` has a source route or a `:`", shown(.value))]
    SourceRoute { value: String },
    #[error("email address `{}` must contain exactly one `@`, found {count}", shown(.value))]
    AtSign { value: String, count: usize },
    #[error("email address `{}` has an empty {part}", shown(.value))]
    EmptyPart { value: String, part: &'static str },
    #[error("email address `{}` has a local part longer than 64 bytes", shown(.value))]
    LocalTooLong { value: String },
    #[error("email address `{}` has non-ascii characters in its local part", shown(.value))]
    NonAsciiLocal { value: String },
    #[error("email address `{}` has a domain without a dot", shown(.value))]
    NoDot { value: String },
    #[error("email address `{}` has an encoded word (`=?…?=`) or punycode (`xn--`) in its local part", shown(.value))]
    EncodedLocal { value: String },
    #[error("email address `{}` has a local part starting with `-`", shown(.value))]
    LeadingHyphen { value: String },

    #[error("url `{}` has scheme `{}`: only `http` and `https` are allowed", shown(.value), shown(.scheme))]
    UnsupportedScheme { value: String, scheme: String },
    #[error("url `{}` must start with `http://` or `https://` followed by a host", shown(.value))]
    NoAuthority { value: String },
    #[error("url `{}` has user information before the host (`user@host`)", shown(.value))]
    UserInfo { value: String },
    #[error("url `{}` has an ip address that is not in standard notation", shown(.value))]
    NonStandardIp { value: String },
    #[error("url `{}` is not a valid url: {reason}", shown(.value))]
    MalformedUrl { value: String, reason: String },

    #[error("ip address `{}` is not in standard dotted-decimal or ipv6 notation", shown(.value))]
    InvalidIp { value: String },

    #[error("path `{}` contains a `..` component", shown(.value))]
    ParentDir { value: String },
    #[error("glob pattern `{}` is absolute or starts at a home directory: give it relative to the search path", shown(.value))]
    AnchoredGlob { value: String },
    #[error("glob pattern `{}` contains `..`", shown(.value))]
    GlobClimbs { value: String },
    #[error("path `{}` is outside `{}`", shown(.value), shown(.root))]
    OutsideRoot { value: String, root: String },
    #[error("path root `{}` is not a normalised absolute path", shown(.root))]
    InvalidRoot { root: String },

    #[error("`{}` is not one of the allowed values: {}", shown(.value), listed(.allowed))]
    NotAllowed { value: String, allowed: Vec<String> },

    #[error("id `{}` is confusable with known `{}`", shown(.value), shown(.known))]
    Confusable { value: String, known: String },
    #[error("id `{}` matches more than one known id: {}", shown(.value), listed(.candidates))]
    Ambiguous {
        value: String,
        candidates: Vec<String>,
    },
    #[error("unknown id `{}`", shown(.value))]
    UnknownEntity { value: String },
}

// ---------------------------------------------------------------------------------------------
// Email

/// Exactly one RFC 5321/5322 addr-spec in dot-atom form, normalised for matching.
///
/// Both parts are lower-cased: the domain because DNS is case-insensitive (and IDNA maps it to
/// lower-case ASCII punycode), the local part because RFC 5321 allows a server to treat it
/// case-sensitively but practically none does, and a policy that compared it case-sensitively
/// would deny `Erin.Walsh@…` while admitting `erin.walsh@…`. Non-ASCII local parts are refused:
/// their normalisation and confusables differ between mail systems.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// `local@domain`, the form policies match on.
    address: String,
    /// Lower-cased ASCII dot-atom.
    local: String,
    /// Lower-cased ASCII (punycode) domain with at least one dot.
    domain: String,
}

impl Email {
    /// Parse exactly one bare address (`local@domain`), refusing every form that another parser
    /// could read as something else: lists, display names, comments, quoting, routing, source
    /// routes, IP literals, whitespace or invisible characters anywhere, and, in the local part,
    /// RFC 2047 encoded words, punycode atoms and a leading `-`.
    pub fn parse(text: &str) -> Result<Email, ArgError> {
        let value = || text.to_owned();
        if text.is_empty() {
            return Err(ArgError::Empty {
                kind: ArgKind::Email,
            });
        }
        if text.len() > MAX_EMAIL {
            return Err(ArgError::TooLong {
                kind: ArgKind::Email,
                value: value(),
                max: MAX_EMAIL,
            });
        }
        // Structural characters first, so the message names the construct an attacker used.
        if text.contains([',', ';']) {
            return Err(ArgError::List { value: value() });
        }
        if text.chars().any(is_unsafe_char) {
            return Err(ArgError::Whitespace {
                kind: ArgKind::Email,
                value: value(),
            });
        }
        if text.contains(['<', '>']) {
            return Err(ArgError::DisplayName { value: value() });
        }
        if text.contains(['(', ')']) {
            return Err(ArgError::Comment { value: value() });
        }
        if text.contains('"') {
            return Err(ArgError::QuotedLocal { value: value() });
        }
        if text.contains(['%', '!']) {
            return Err(ArgError::Routing { value: value() });
        }
        if text.contains(['[', ']']) {
            return Err(ArgError::IpLiteral {
                kind: ArgKind::Email,
                value: value(),
            });
        }
        if text.contains(':') {
            return Err(ArgError::SourceRoute { value: value() });
        }
        if text.contains('\\') {
            return Err(ArgError::Backslash {
                kind: ArgKind::Email,
                value: value(),
            });
        }
        let count = text.matches('@').count();
        let Some((local, domain)) = text.split_once('@').filter(|_| count == 1) else {
            return Err(ArgError::AtSign {
                value: value(),
                count,
            });
        };
        if local.is_empty() {
            return Err(ArgError::EmptyPart {
                value: value(),
                part: "local part",
            });
        }
        if domain.is_empty() {
            return Err(ArgError::EmptyPart {
                value: value(),
                part: "domain",
            });
        }
        if local.len() > MAX_LOCAL {
            return Err(ArgError::LocalTooLong { value: value() });
        }
        if !local.is_ascii() {
            return Err(ArgError::NonAsciiLocal { value: value() });
        }
        if has_bad_dots(local) {
            return Err(ArgError::Dots {
                kind: ArgKind::Email,
                value: value(),
            });
        }
        if let Some(ch) = local.chars().find(|c| *c != '.' && !is_atext(*c)) {
            return Err(ArgError::BadChar {
                kind: ArgKind::Email,
                value: value(),
                ch,
            });
        }
        // Some mail libraries decode RFC 2047 encoded words or punycode in a local part, turning
        // `=?utf-8?q?x=40evil.example?=@northwind.example` into an address at evil.example.
        if local.contains("=?") || local.contains("?=") || has_punycode_atom(local) {
            return Err(ArgError::EncodedLocal { value: value() });
        }
        // A command line (sendmail and friends) reads `-X/tmp/x@…` as an option.
        if local.starts_with('-') {
            return Err(ArgError::LeadingHyphen { value: value() });
        }
        // RFC 5321 has no trailing root dot in a mailbox domain: refuse it rather than strip.
        let domain = normalise_domain(domain, ArgKind::Email, text)?;
        if !domain.contains('.') {
            return Err(ArgError::NoDot { value: value() });
        }
        let local = local.to_ascii_lowercase();
        let address = format!("{local}@{domain}");
        if address.len() > MAX_EMAIL {
            return Err(ArgError::TooLong {
                kind: ArgKind::Email,
                value: value(),
                max: MAX_EMAIL,
            });
        }
        Ok(Email {
            address,
            local,
            domain,
        })
    }

    /// `local@domain`, normalised.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The local part, lower-cased ASCII.
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The domain, lower-cased ASCII (IDNA punycode for international names).
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.address)
    }
}

/// RFC 5322 `atext`, less `%` and `!` (refused earlier as routing).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '#' | '$'
                | '&'
                | '\''
                | '*'
                | '+'
                | '-'
                | '/'
                | '='
                | '?'
                | '^'
                | '_'
                | '`'
                | '{'
                | '|'
                | '}'
                | '~'
        )
}

fn has_punycode_atom(local: &str) -> bool {
    local.split('.').any(|atom| {
        atom.get(..4)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("xn--"))
    })
}

fn has_bad_dots(text: &str) -> bool {
    text.starts_with('.') || text.ends_with('.') || text.contains("..")
}

// ---------------------------------------------------------------------------------------------
// Hostname and the domain rules shared with Email and Url

/// An RFC 1123 host name after IDNA (UTS 46) mapping: lower-case ASCII labels, punycode for
/// international names, one trailing root dot removed, never an IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname(String);

impl Hostname {
    /// Parse a host name. `Northwind.Example.` and `northwind.example` are the same name; an IP
    /// address, or a name whose last label is numeric (which URL parsers read as IPv4), is not.
    pub fn parse(text: &str) -> Result<Hostname, ArgError> {
        let kind = ArgKind::Hostname;
        if text.is_empty() {
            return Err(ArgError::Empty { kind });
        }
        if text.len() > MAX_RAW_HOSTNAME {
            return Err(ArgError::TooLong {
                kind,
                value: text.to_owned(),
                max: MAX_HOSTNAME,
            });
        }
        if text.chars().any(is_unsafe_char) {
            return Err(ArgError::Whitespace {
                kind,
                value: text.to_owned(),
            });
        }
        if text.starts_with('[') || text.parse::<IpAddr>().is_ok() {
            return Err(ArgError::IpLiteral {
                kind,
                value: text.to_owned(),
            });
        }
        // One root dot is the same name; a second would be an empty label, refused below.
        let name = text.strip_suffix('.').unwrap_or(text);
        normalise_domain(name, kind, text).map(Hostname)
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Hostname {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// IDNA-map `raw` (no trailing dot) to lower-case ASCII and check RFC 1123 label syntax.
/// `value` is what the error messages repeat.
fn normalise_domain(raw: &str, kind: ArgKind, value: &str) -> Result<String, ArgError> {
    // Name the offending ASCII character ourselves; IDNA's STD3 rules would refuse it too, but
    // with a less helpful message.
    if let Some(ch) = raw
        .chars()
        .find(|c| c.is_ascii() && !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(ArgError::BadChar {
            kind,
            value: value.to_owned(),
            ch,
        });
    }
    if has_bad_dots(raw) {
        return Err(ArgError::Dots {
            kind,
            value: value.to_owned(),
        });
    }
    let ascii = Uts46::new()
        .to_ascii(
            raw.as_bytes(),
            AsciiDenyList::STD3,
            Hyphens::CheckFirstLast,
            DnsLength::Verify,
        )
        .map_err(|_| ArgError::Idna {
            kind,
            value: value.to_owned(),
        })?;
    // IDNA has already checked all of this; checking the output again keeps the invariant
    // local: whatever this returns is dotted LDH labels.
    if ascii.len() > MAX_HOSTNAME {
        return Err(ArgError::TooLong {
            kind,
            value: value.to_owned(),
            max: MAX_HOSTNAME,
        });
    }
    if !ascii.split('.').all(is_ldh_label) {
        return Err(ArgError::BadLabel {
            kind,
            value: value.to_owned(),
        });
    }
    // WHATWG URL parsers read a name whose last label is a number (`10.1`, `0x7f.1`, `１２７.０.０.１`
    // after IDNA) as an IPv4 address.
    if ascii.rsplit('.').next().is_some_and(looks_numeric) {
        return Err(ArgError::IpLiteral {
            kind,
            value: value.to_owned(),
        });
    }
    Ok(ascii.into_owned())
}

fn is_ldh_label(label: &str) -> bool {
    !label.is_empty()
        && label.len() <= MAX_LABEL
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The WHATWG "ends in a number" test: all decimal digits, or `0x` followed by hex digits.
fn looks_numeric(label: &str) -> bool {
    if label.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    label
        .strip_prefix("0x")
        .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

// ---------------------------------------------------------------------------------------------
// Url

/// An absolute `http` or `https` URL with a host and no user information.
///
/// [`Url::domain`] is the registered domain (eTLD+1) from the public-suffix list compiled into
/// the `psl` crate, including its private section (`foo.github.io` is its own registered
/// domain). For a TLD the list does not know, such as the reserved `.example`, the list's
/// default rule applies: the last two labels, so `soc.northwind.example` has registered domain
/// `northwind.example`. A host that is itself a public suffix or a single label (`localhost`)
/// is its own domain. For an IP host, `host` and `domain` are both the IP (IPv4-mapped IPv6
/// shown as IPv4), without brackets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// The WHATWG serialisation, with the host normalised.
    url: url::Url,
    /// `http` or `https`.
    scheme: String,
    /// Lower-case ASCII host name, or an IP address.
    host: String,
    /// Registered domain of `host` (see the type's docs).
    domain: String,
}

impl Url {
    /// Parse an absolute `http(s)://host/…` URL. Besides what the `url` crate refuses, this
    /// refuses forms that the WHATWG parser silently repairs but other parsers read differently:
    /// whitespace and control characters anywhere (WHATWG deletes tabs and newlines), backslashes
    /// (WHATWG reads them as `/`), a missing or empty `//authority`, user information
    /// (`https://northwind.example@evil.com`), percent-encoding in the authority, and IPv4
    /// hosts in shorthand, octal or hex notation.
    pub fn parse(text: &str) -> Result<Url, ArgError> {
        let kind = ArgKind::Url;
        let value = || text.to_owned();
        if text.is_empty() {
            return Err(ArgError::Empty { kind });
        }
        if text.len() > MAX_URL {
            return Err(ArgError::TooLong {
                kind,
                value: value(),
                max: MAX_URL,
            });
        }
        if text.chars().any(is_unsafe_char) {
            return Err(ArgError::Whitespace {
                kind,
                value: value(),
            });
        }
        if text.contains('\\') {
            return Err(ArgError::Backslash {
                kind,
                value: value(),
            });
        }
        let Some((scheme, rest)) = text.split_once(':').filter(|(s, _)| is_scheme(s)) else {
            return Err(ArgError::NotAbsolute {
                kind,
                value: value(),
            });
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(ArgError::UnsupportedScheme {
                value: value(),
                scheme,
            });
        }
        let Some(after) = rest.strip_prefix("//") else {
            return Err(ArgError::NoAuthority { value: value() });
        };
        let authority = after.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() {
            return Err(ArgError::NoAuthority { value: value() });
        }
        if authority.contains('@') {
            return Err(ArgError::UserInfo { value: value() });
        }
        if authority.contains('%') {
            return Err(ArgError::PercentEncoded {
                kind,
                value: value(),
            });
        }
        let mut url = url::Url::parse(text).map_err(|e| ArgError::MalformedUrl {
            value: value(),
            reason: e.to_string(),
        })?;
        // The checks above make these unreachable; a second look costs nothing.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ArgError::UserInfo { value: value() });
        }
        if url.scheme() != scheme {
            return Err(ArgError::UnsupportedScheme {
                value: value(),
                scheme: url.scheme().to_owned(),
            });
        }
        let (host, domain) = match url.host() {
            None => return Err(ArgError::NoAuthority { value: value() }),
            Some(url::Host::Ipv4(ip)) => {
                // WHATWG accepts `127.1`, `0177.0.0.1`, `0x7f.0.0.1` and `2130706433`; other
                // parsers read those as names. Only the dotted-decimal spelling is accepted.
                if raw_host(authority) != ip.to_string() {
                    return Err(ArgError::NonStandardIp { value: value() });
                }
                let ip = ip.to_string();
                (ip.clone(), ip)
            }
            Some(url::Host::Ipv6(ip)) => {
                let ip = IpAddr::V6(ip).to_canonical().to_string();
                (ip.clone(), ip)
            }
            Some(url::Host::Domain(name)) => {
                let host = Hostname::parse(name).map_err(|e| rekind(e, kind, text))?.0;
                let domain = registered_domain(&host);
                (host, domain)
            }
        };
        if url.host_str() != Some(host.as_str())
            && url.host_str().is_some_and(|h| !h.starts_with('['))
        {
            // Only a stripped root dot gets here.
            url.set_host(Some(&host))
                .map_err(|e| ArgError::MalformedUrl {
                    value: value(),
                    reason: e.to_string(),
                })?;
        }
        Ok(Url {
            url,
            scheme,
            host,
            domain,
        })
    }

    /// The whole URL, normalised.
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host: a lower-case ASCII name, or an IP address without brackets.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The registered domain of [`Url::host`] (see the type's docs for the fallback).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The path, percent-encoded as serialised, with `.` and `..` segments resolved.
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// The port when it is not the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.url.port()
    }

    /// The query, after `?` and percent-encoded as serialised; `None` when there is no `?`.
    pub fn query(&self) -> Option<&str> {
        self.url.query()
    }

    /// The fragment, after `#`; `None` when there is no `#`.
    pub fn fragment(&self) -> Option<&str> {
        self.url.fragment()
    }

    /// Bytes of the query and the fragment, as serialised: the data a URL carries beside
    /// where it goes.
    pub fn query_length(&self) -> usize {
        self.query().map_or(0, str::len) + self.fragment().map_or(0, str::len)
    }

    /// Bytes of the path, the query and the fragment, as serialised: all a request to this
    /// URL can carry to its host (data spread over path segments included).
    pub fn data_length(&self) -> usize {
        self.path().len() + self.query_length()
    }

    /// What the path, query and fragment hold in runs of the characters encoded data is
    /// spelt with (letters, digits, `+`, `/`, `=`, `_`; a path's `/` separates), read once
    /// percent-decoded (`%41%42` is `AB`).
    pub fn data_runs(&self) -> DataRuns {
        let mut runs = DataRuns::default();
        for segment in self.path().split('/') {
            runs.scan(&percent_decoded(segment));
        }
        for part in [self.query(), self.fragment()].into_iter().flatten() {
            runs.scan(&percent_decoded(part));
        }
        runs
    }
}

/// The runs of encoded-looking characters in a URL ([`Url::data_runs`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataRuns {
    /// The longest run, in bytes.
    pub longest: usize,
    /// Whether a run of at least [`DataRuns::ENCODED_RUN`] bytes mixes upper case, lower case
    /// and digits, as base64 of any data does and words and identifiers (split by `-` and `.`,
    /// which base64 does not use) rarely do. Hex is one case and digits: bound it by
    /// [`DataRuns::longest`].
    pub encoded: bool,
}

impl DataRuns {
    /// 32 characters: 24 bytes of base64.
    pub const ENCODED_RUN: usize = 32;

    fn scan(&mut self, bytes: &[u8]) {
        for run in bytes.split(|b| !(b.is_ascii_alphanumeric() || b"+/=_".contains(b))) {
            self.longest = self.longest.max(run.len());
            if run.len() >= Self::ENCODED_RUN
                && run.iter().any(u8::is_ascii_uppercase)
                && run.iter().any(u8::is_ascii_lowercase)
                && run.iter().any(u8::is_ascii_digit)
            {
                self.encoded = true;
            }
        }
    }
}

/// `text` with each `%XX` read as its byte; a `%` not followed by two hex digits is kept.
fn percent_decoded(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = |at: usize| bytes.get(at).and_then(|h| (*h as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.url.as_str())
    }
}

/// RFC 3986 `scheme`: a letter, then letters, digits, `+`, `-` and `.`.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The host part of an authority with no user information: everything before a `:port`.
fn raw_host(authority: &str) -> &str {
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _port)| host)
}

/// eTLD+1 from the compiled-in public-suffix list; the host itself when it has none.
fn registered_domain(host: &str) -> String {
    psl::domain_str(host).unwrap_or(host).to_owned()
}

/// Repeat a nested parser's error with the outer kind and the whole value.
fn rekind(err: ArgError, kind: ArgKind, value: &str) -> ArgError {
    let value = value.to_owned();
    match err {
        ArgError::Empty { .. } => ArgError::NoAuthority { value },
        ArgError::TooLong { max, .. } => ArgError::TooLong { kind, value, max },
        ArgError::BadChar { ch, .. } => ArgError::BadChar { kind, value, ch },
        ArgError::Dots { .. } => ArgError::Dots { kind, value },
        ArgError::IpLiteral { .. } => ArgError::NonStandardIp { value },
        ArgError::Idna { .. } => ArgError::Idna { kind, value },
        ArgError::Whitespace { .. } => ArgError::Whitespace { kind, value },
        _ => ArgError::BadLabel { kind, value },
    }
}

// ---------------------------------------------------------------------------------------------
// IP addresses

/// Parse an IPv4 address in dotted-decimal or an IPv6 address, with the standard library's
/// strict parser: no shorthand (`10.1`), no leading zeros (`010.0.0.1`, which some parsers read
/// as octal), no hex, no brackets, no zone ids, no surrounding whitespace. An IPv4-mapped IPv6
/// address (`::ffff:127.0.0.1`) is returned as the IPv4 address it reaches.
pub fn parse_ip(text: &str) -> Result<IpAddr, ArgError> {
    if text.is_empty() {
        return Err(ArgError::Empty { kind: ArgKind::Ip });
    }
    text.parse::<IpAddr>()
        .map(|ip| ip.to_canonical())
        .map_err(|_| ArgError::InvalidIp {
            value: text.to_owned(),
        })
}

// ---------------------------------------------------------------------------------------------
// Paths

/// A lexically normalised absolute path at or under a root directory.
///
/// Every `..` component is refused, not only one that would climb out of the root: the kernel
/// resolves `a/link/../b` through the symlink, so the lexical reading a policy would see
/// (`a/b`) is not the path a tool would open. `.` components and repeated or trailing slashes
/// are removed. NUL and other control characters, invisible characters, non-ASCII whitespace,
/// backslashes (a separator on Windows) and `%` (percent-encoding that a tool might decode) are
/// refused; relative paths are refused because a tool would resolve them against its own
/// working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafePath {
    /// `/`-separated, no empty, `.` or `..` components, starts with the root.
    path: String,
}

impl SafePath {
    /// Parse `text` as a path under `root`. `root` is checked by the same rules (and must not
    /// be relative); an invalid root is an error, never "anything goes".
    pub fn parse(text: &str, root: &str) -> Result<SafePath, ArgError> {
        let root_parts = path_components(root)
            .ok()
            .filter(|_| root.starts_with('/'))
            .ok_or_else(|| ArgError::InvalidRoot {
                root: root.to_owned(),
            })?;
        if text.is_empty() {
            return Err(ArgError::Empty {
                kind: ArgKind::Path,
            });
        }
        let parts = path_components(text)?;
        if !text.starts_with('/') {
            return Err(ArgError::NotAbsolute {
                kind: ArgKind::Path,
                value: text.to_owned(),
            });
        }
        if !parts.starts_with(&root_parts) {
            return Err(ArgError::OutsideRoot {
                value: text.to_owned(),
                root: root.to_owned(),
            });
        }
        Ok(SafePath {
            path: format!("/{}", parts.join("/")),
        })
    }

    /// The normalised path.
    pub fn as_str(&self) -> &str {
        &self.path
    }
}

impl fmt::Display for SafePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path)
    }
}

/// What a path and a glob pattern both refuse: longer than [`MAX_PATH`], a control or
/// unusual whitespace character (a plain space is allowed), a backslash.
fn check_path_text(text: &str, kind: ArgKind) -> Result<(), ArgError> {
    let value = || text.to_owned();
    if text.len() > MAX_PATH {
        return Err(ArgError::TooLong {
            kind,
            value: value(),
            max: MAX_PATH,
        });
    }
    if text.chars().any(|c| c != ' ' && is_unsafe_char(c)) {
        return Err(ArgError::Whitespace {
            kind,
            value: value(),
        });
    }
    if text.contains('\\') {
        return Err(ArgError::Backslash {
            kind,
            value: value(),
        });
    }
    Ok(())
}

/// Split on `/`, dropping empty and `.` components, refusing everything `SafePath` refuses.
fn path_components(text: &str) -> Result<Vec<&str>, ArgError> {
    let kind = ArgKind::Path;
    let value = || text.to_owned();
    check_path_text(text, kind)?;
    if text.contains('%') {
        return Err(ArgError::PercentEncoded {
            kind,
            value: value(),
        });
    }
    let parts: Vec<&str> = text
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(ArgError::ParentDir { value: value() });
    }
    Ok(parts)
}

// ---------------------------------------------------------------------------------------------
// Glob patterns

/// `text` if it is a glob pattern that stays below the directory it is matched in: not
/// absolute, not from a home directory (`~`), no `..` (nor one a brace or a character class
/// could spell), no variable (`$HOME`), no backslash; no brace alternative that starts anew
/// (`{/etc,x}`, `{x, /etc}`), no extglob (`@(…)`, `|`). A tool that lists files by a pattern (Claude Code's `Glob`) may follow an
/// absolute or climbing pattern wherever it leads, whatever directory it was given, so only a
/// relative one lets the directory bound what is listed.
pub fn check_relative_glob(text: &str) -> Result<String, ArgError> {
    let kind = ArgKind::Glob;
    let value = || text.to_owned();
    if text.is_empty() {
        return Err(ArgError::Empty { kind });
    }
    check_path_text(text, kind)?;
    if let Some(ch) = text.chars().find(|c| matches!(c, '$' | '%' | '`')) {
        return Err(ArgError::BadChar {
            kind,
            value: value(),
            ch,
        });
    }
    // A space that starts the pattern or an alternative (` /etc/*`, `{x, /etc}`) starts anew
    // at `/` for a matcher that trims; extglob's `@(/etc)`, `+(x|/etc)` do for one that reads
    // it. Nothing a pattern legitimately needs.
    let anchored = ["/", "~", " "].iter().any(|a| text.starts_with(a))
        || ["{/", ",/", "{~", ",~", "{ "]
            .iter()
            .any(|a| text.contains(a))
        || spaced_alternative(text);
    if anchored {
        return Err(ArgError::AnchoredGlob { value: value() });
    }
    if let Some(ch) = text.chars().find(|c| matches!(c, '(' | ')' | '|')) {
        return Err(ArgError::BadChar {
            kind,
            value: value(),
            ch,
        });
    }
    // `..`; a dot in braces or a class, which may spell it (`{.,x}.`, `.[.]`); and a segment
    // whose second character a wildcard matches after a dot (`.*`, `.?`).
    let mut open = 0usize;
    let mut dot_inside = false;
    for c in text.chars() {
        match c {
            '{' | '[' => open += 1,
            '}' | ']' => open = open.saturating_sub(1),
            '.' if open > 0 => dot_inside = true,
            _ => {}
        }
    }
    let dots = text.contains("..")
        || dot_inside
        || text.split('/').any(|segment| {
            let mut chars = segment.chars();
            chars.next() == Some('.') && chars.next().is_some_and(|c| "*?[{".contains(c))
        });
    if dots {
        return Err(ArgError::GlobClimbs { value: value() });
    }
    Ok(value())
}

/// Whether an alternative inside braces starts with a space (`{x, /etc}`); a `, ` outside
/// braces is part of a name (`Smith, J.pdf`).
fn spaced_alternative(text: &str) -> bool {
    let mut depth = 0usize;
    let mut previous = None;
    for c in text.chars() {
        if c == ' ' && depth > 0 && previous == Some(',') {
            return true;
        }
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = Some(c);
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Enumerations

/// `value` if it is exactly one of `allowed` (the canonical spelling: no case folding, no
/// trimming, no normalisation); otherwise an error listing the allowed values.
pub fn check_enum(value: &str, allowed: &[String]) -> Result<String, ArgError> {
    if allowed.iter().any(|a| a == value) {
        Ok(value.to_owned())
    } else {
        Err(ArgError::NotAllowed {
            value: value.to_owned(),
            allowed: allowed.to_vec(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Entity ids

/// Refuse an id that is empty or holds whitespace, control or invisible characters (zero-width
/// spaces, bidi controls, variation selectors and the rest of Default_Ignorable_Code_Point):
/// two ids that look the same must be the same id.
pub fn check_id(id: &str) -> Result<(), ArgError> {
    if id.is_empty() {
        return Err(ArgError::Empty { kind: ArgKind::Id });
    }
    if id.chars().any(is_unsafe_char) {
        return Err(ArgError::Whitespace {
            kind: ArgKind::Id,
            value: id.to_owned(),
        });
    }
    Ok(())
}

/// The form two ids are compared in: NFKC, lower-case, NFKC again (lower-casing can leave a
/// string un-normalised). An approximation of NFKC_Casefold that differs only for the few
/// characters whose case fold is not their lower case (`ß` stays `ß`). Trims nothing.
pub fn fold_id(id: &str) -> String {
    id.nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect()
}

/// The UTS 39 confusable skeleton of `text`, lower-cased: `dc0l`, `dcO1` and `dc01` share one,
/// as do Latin `a` and Cyrillic `а`.
pub fn skeleton(text: &str) -> String {
    unicode_security::skeleton(text)
        .collect::<String>()
        .to_lowercase()
}

/// Known entity ids, to resolve the id an agent gave to the one it means, or refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdIndex {
    /// Every known id, sorted, as given.
    known: Vec<String>,
    /// `(fold_id(id), id)`, sorted.
    folded: Vec<(String, String)>,
    /// `(skeleton(fold_id(id)), id)`, sorted.
    skeletons: Vec<(String, String)>,
}

impl IdIndex {
    /// Index `ids`; duplicates are kept once.
    pub fn new(ids: impl IntoIterator<Item = String>) -> IdIndex {
        let mut known: Vec<String> = ids.into_iter().collect();
        known.sort();
        known.dedup();
        let mut folded: Vec<(String, String)> =
            known.iter().map(|id| (fold_id(id), id.clone())).collect();
        folded.sort();
        let mut skeletons: Vec<(String, String)> = folded
            .iter()
            .map(|(fold, id)| (skeleton(fold), id.clone()))
            .collect();
        skeletons.sort();
        IdIndex {
            known,
            folded,
            skeletons,
        }
    }

    /// The known id that `given` names:
    /// 1. an exact match is that id;
    /// 2. otherwise `given` must pass [`check_id`], and the one known id that folds
    ///    ([`fold_id`]) to the same string is the answer; two or more is [`ArgError::Ambiguous`];
    /// 3. otherwise a known id with the same confusable [`skeleton`] makes it
    ///    [`ArgError::Confusable`];
    /// 4. otherwise [`ArgError::UnknownEntity`], for the caller to decide (Cedar denies unknown
    ///    ids later in any case).
    pub fn resolve(&self, given: &str) -> Result<String, ArgError> {
        if self
            .known
            .binary_search_by(|k| k.as_str().cmp(given))
            .is_ok()
        {
            return Ok(given.to_owned());
        }
        check_id(given)?;
        let fold = fold_id(given);
        let same_fold = matching(&self.folded, &fold);
        match same_fold.as_slice() {
            [] => {}
            [one] => return Ok(one.clone()),
            _ => {
                return Err(ArgError::Ambiguous {
                    value: given.to_owned(),
                    candidates: same_fold,
                });
            }
        }
        let skel = skeleton(&fold);
        if let Some(known) = matching(&self.skeletons, &skel).into_iter().next() {
            return Err(ArgError::Confusable {
                value: given.to_owned(),
                known,
            });
        }
        Err(ArgError::UnknownEntity {
            value: given.to_owned(),
        })
    }
}

/// The ids filed under `key` in a sorted `(key, id)` list, sorted.
fn matching(pairs: &[(String, String)], key: &str) -> Vec<String> {
    let start = pairs.partition_point(|(k, _)| k.as_str() < key);
    pairs
        .iter()
        .skip(start)
        .take_while(|(k, _)| k == key)
        .map(|(_, id)| id.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Characters

/// Whitespace (ASCII or Unicode), control characters (C0, DEL, C1, NUL) and invisible
/// characters: none has a place in an address, host or id, and each is a place where two
/// parsers disagree (one trims or deletes what another keeps).
fn is_unsafe_char(c: char) -> bool {
    c.is_whitespace() || c.is_control() || warden_core::text::is_default_ignorable(c)
}

/// A user's value for an error message: control, whitespace other than space, and invisible
/// characters escaped; cut at [`MAX_SHOWN`] characters.
fn shown(text: &str) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_SHOWN {
            out.push('…');
            break;
        }
        push_shown(&mut out, c);
    }
    out
}

fn shown_char(c: char) -> String {
    let mut out = String::new();
    push_shown(&mut out, c);
    out
}

fn push_shown(out: &mut String, c: char) {
    if c == ' ' || !is_unsafe_char(c) {
        out.push(c);
    } else {
        out.extend(c.escape_debug());
        // `escape_debug` leaves printable Unicode spaces and some invisibles as they are.
        if !out.ends_with(|e: char| e.is_ascii()) {
            out.pop();
            out.extend(c.escape_unicode());
        }
    }
}

fn listed(values: &[String]) -> String {
    values
        .iter()
        .map(|v| format!("`{}`", shown(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_escapes_what_cannot_be_seen() {
        assert_eq!(shown("a\nb"), "a\\nb");
        assert_eq!(shown("a\u{200B}b"), "a\\u{200b}b");
        assert_eq!(shown("a\u{3000}b"), "a\\u{3000}b");
        assert_eq!(shown("a b"), "a b");
        assert_eq!(shown(&"x".repeat(200)).chars().count(), MAX_SHOWN + 1);
    }

    #[test]
    fn unsafe_chars_cover_spaces_controls_and_invisibles() {
        for c in [
            ' ',
            '\t',
            '\n',
            '\r',
            '\0',
            '\u{7F}',
            '\u{85}',
            '\u{A0}',
            '\u{2028}',
            '\u{3000}',
            '\u{200B}',
            '\u{200D}',
            '\u{202E}',
            '\u{FEFF}',
            '\u{AD}',
            '\u{E0041}',
        ] {
            assert!(is_unsafe_char(c), "{c:?}");
        }
        for c in ['a', 'Z', '0', '@', '.', 'é', 'а'] {
            assert!(!is_unsafe_char(c), "{c:?}");
        }
    }

    #[test]
    fn numeric_last_labels_look_like_ips() {
        assert!(looks_numeric("1"));
        assert!(looks_numeric("0x7f"));
        assert!(!looks_numeric("example"));
        assert!(!looks_numeric("0xg"));
    }

    #[test]
    fn raw_host_drops_the_port() {
        assert_eq!(raw_host("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(raw_host("127.0.0.1"), "127.0.0.1");
    }
}
