//! Defanged links, turned back into links before they are read.
//!
//! Analysts and attackers alike write `hxxps://evil[.]com` so that a client does not make the
//! text clickable. A human reader still follows it (and some mail clients and SOC tools
//! "re-fang" it), so for the link checks a defanged link is a link: its host is external,
//! lookalike or homograph exactly as if it had been written plainly. The rewrite is kept apart
//! from the plain view by the ranges it edited, so a caller can still tell that a link was
//! defanged (quoting an indicator in a SOC note is common) and policy may treat it apart.
//!
//! Forms read, case-insensitively: `hxxp`, `hXXp`, `h**p`, `hxtp`, `fxp` before a colon; `[:]`,
//! `(:)`, `[://]`, `[/]`; `[.]`, `(.)`, `{.}`, `<.>`, `[dot]` (also ` [dot] `) between host
//! characters; `[at]`, `(@)` (also ` [at] `) inside an address; and the bare word ` dot ` only
//! inside a chain that reads as a host (`docusign-secure dot example`, `a dot b dot com`, after
//! `//` or before `/`), never in prose such as "the dot com era" or "polka dot".

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::domain::Internal;
use super::links::COMMON_TLDS;

/// The view with defanged forms rewritten, and where the rewrites landed.
#[derive(Debug, Clone)]
pub(super) struct Refanged {
    pub(super) text: String,
    /// Byte ranges of `text` that a rewrite produced, in order.
    pub(super) edits: Vec<Range<usize>>,
}

impl Refanged {
    /// Whether `span` of `text` holds or touches a rewrite.
    pub(super) fn touches(&self, span: &Range<usize>) -> bool {
        self.edits
            .iter()
            .any(|e| e.start <= span.end && span.start <= e.end)
    }
}

static MARKER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"(?i)(?P<scheme>(?-u:\b)(?:h[x*]{2}p|h[x*]tp|ht[x*]p|f[x*]p)s?)",
        r"|(?P<sep>[\[({](?::/{0,2}|/{1,2})[\])}])",
        r"|(?P<dot>[\[({<](?:\.|dot)[\])}>]|[ \t]+[\[{]dot[\]}][ \t]+)",
        r"|(?P<at>[\[({<](?:@|at)[\])}>]|[ \t]+[\[{](?:@|at)[\]}][ \t]+)",
        r"|(?P<chain>[\p{L}\p{N}][\p{L}\p{N}_-]*(?:[ \t]+dot[ \t]+[\p{L}\p{N}][\p{L}\p{N}_-]*)+)",
    ))
    .ok()
});
static DOT_WORD: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"(?i)[ \t]+dot[ \t]+").ok());

/// Words that put `dot` in prose: "the dot com bubble", "a polka dot tie".
const PROSE_BEFORE_DOT: &[&str] = &[
    "the", "a", "an", "this", "that", "his", "her", "its", "our", "their", "my", "your", "one",
    "each", "every", "no", "polka", "red", "blue", "green", "black", "white", "small", "big",
    "little", "tiny", "single", "first", "last", "next", "final", "full", "period", "decimal",
    "and", "or", "of", "to", "in", "on", "at", "is", "was",
];

/// Rewrites defanged links in `view` (the output of `links::visible`). Linear in its length.
pub(super) fn refang(view: &str, internal: &[Internal]) -> Refanged {
    let unchanged = || Refanged {
        text: view.to_owned(),
        edits: Vec::new(),
    };
    let Some(re) = MARKER.as_ref() else {
        return unchanged();
    };
    let lower = view.to_ascii_lowercase();
    if !(lower.contains("dot")
        || lower.contains("[")
        || lower.contains('(')
        || lower.contains('{')
        || lower.contains('<')
        || lower.contains("xp")
        || lower.contains("*p")
        || lower.contains("xtp"))
    {
        return unchanged();
    }
    let mut text = String::with_capacity(view.len());
    let mut edits = Vec::new();
    let mut last = 0usize;
    for caps in re.captures_iter(view) {
        let Some(all) = caps.get(0) else { continue };
        let Some(new) = replacement(view, &caps, all.range(), internal) else {
            continue;
        };
        text.push_str(view.get(last..all.start()).unwrap_or_default());
        let start = text.len();
        text.push_str(&new);
        edits.push(start..text.len());
        last = all.end();
    }
    if edits.is_empty() {
        return unchanged();
    }
    text.push_str(view.get(last..).unwrap_or_default());
    Refanged { text, edits }
}

fn is_host_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_')
}

/// What a marker stands for, or `None` when in its context it is not a defanged link.
fn replacement(
    view: &str,
    caps: &Captures<'_>,
    at: Range<usize>,
    internal: &[Internal],
) -> Option<String> {
    let before = view.get(..at.start).and_then(|s| s.chars().next_back());
    let after_str = view.get(at.end..).unwrap_or_default();
    let after = after_str.chars().next();
    if let Some(m) = caps.name("scheme") {
        // Only as a scheme: a colon (plain or defanged) must follow.
        let colon = ["://", ":\\\\", "[:", "(:", "{:", "[/"]
            .iter()
            .any(|p| after_str.starts_with(p));
        if !colon {
            return None;
        }
        let s = m.as_str().to_ascii_lowercase();
        let base = if s.starts_with('f') { "ftp" } else { "http" };
        let tls = if s.ends_with('s') { "s" } else { "" };
        return Some(format!("{base}{tls}"));
    }
    if let Some(m) = caps.name("sep") {
        // `[:]//`, `[://]`, `[/]` after a scheme or inside a URL.
        if !before.is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, ':' | '/')) {
            return None;
        }
        let inner = m.as_str().get(1..m.as_str().len() - 1)?;
        return Some(inner.to_owned());
    }
    if caps.name("dot").is_some() {
        return (before.is_some_and(is_host_char) && after.is_some_and(char::is_alphanumeric))
            .then(|| ".".to_owned());
    }
    if caps.name("at").is_some() {
        let local =
            before.is_some_and(|b| b.is_alphanumeric() || matches!(b, '.' | '_' | '-' | '+'));
        return (local && after.is_some_and(char::is_alphanumeric)).then(|| "@".to_owned());
    }
    let chain = caps.name("chain")?.as_str();
    let re = DOT_WORD.as_ref()?;
    let labels: Vec<&str> = re.split(chain).collect();
    let tld = labels.last().copied().unwrap_or_default().to_lowercase();
    if labels.iter().any(|l| l.eq_ignore_ascii_case("dot"))
        || tld.len() < 2
        || !tld.chars().all(char::is_alphabetic)
    {
        return None;
    }
    let scheme_before = view.get(..at.start).is_some_and(|s| s.ends_with("//"));
    let path_after = after == Some('/');
    let marked = labels
        .iter()
        .take(labels.len() - 1)
        .any(|l| l.contains(['-', '_']) || l.chars().any(|c| c.is_ascii_digit()));
    let first = labels.first().copied().unwrap_or_default().to_lowercase();
    let known_tld = COMMON_TLDS.contains(&tld.as_str())
        || internal
            .iter()
            .any(|d| d.domain().rsplit('.').next() == Some(tld.as_str()));
    let prose = PROSE_BEFORE_DOT.contains(&first.as_str());
    let host_like =
        scheme_before || path_after || marked || (!prose && (labels.len() >= 3 || known_tld));
    host_like.then(|| re.replace_all(chain, ".").into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nw() -> Vec<Internal> {
        Internal::new("northwind.example").into_iter().collect()
    }

    fn r(s: &str) -> String {
        refang(s, &nw()).text
    }

    #[test]
    fn patterns_compile() {
        assert!(MARKER.is_some() && DOT_WORD.is_some());
    }

    #[test]
    fn rewrites_defanged_forms() {
        assert_eq!(
            r("sign at hxxps://docusign-secure[.]example/envelope/77 today"),
            "sign at https://docusign-secure.example/envelope/77 today"
        );
        assert_eq!(r("hXXp[:]//evil(.)com"), "http://evil.com");
        assert_eq!(r("https[://]evil{.}com[/]x"), "https://evil.com/x");
        assert_eq!(r("fxp://files[dot]evil[.]net"), "ftp://files.evil.net");
        assert_eq!(r("bob[at]evil[.]com"), "bob@evil.com");
        assert_eq!(r("bob [at] evil [dot] com"), "bob@evil.com");
        assert_eq!(r("evil dot com"), "evil.com");
        assert_eq!(r("login dot evil dot example"), "login.evil.example");
        assert_eq!(r("198.51.100[.]7"), "198.51.100.7");
    }

    #[test]
    fn leaves_prose_alone() {
        for s in [
            "the dot com era",
            "a polka dot tie",
            "connect the dots",
            "see [.] and (.) in the regex",
            "an array a[0] (at) index",
            "Meet at (at) noon",
            "hxxp is how analysts write it",
            "use the dot operator",
            "Dot the i's and cross the t's.",
            "release notes (v2.3) [draft]",
        ] {
            assert_eq!(r(s), s);
        }
    }
}
