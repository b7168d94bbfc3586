//! Link targets in every form a reader's client turns into a click or a fetch.
//!
//! Carriers, in the order they are read (a later reader skips bytes an earlier one claimed, so a
//! markdown link's text is not read again as a bare URL): markdown inline and reference links
//! and images (one level of nesting, for a linked image); HTML tags with URL attributes (`href`,
//! `src`, `srcset`, `poster`, `background`, `action`, …) and CSS `url()`/`@import`; bare URLs
//! with a scheme, `mailto:`, UNC paths; mail addresses; scheme-less host names.
//!
//! A scheme-less token counts as a host only when a reader would take it for one: `www.` in
//! front, an internal domain, a common top-level domain, or a path after it. File names
//! (`install.sh`, `README.md`, `lib.rs`) and version numbers are not hosts.
//!
//! Hosts are parsed as browsers do for the tricks that matter: userinfo before `@` is not the
//! host, `\` ends the authority like `/`, `https:evil.com` has a host, %-escapes and ideographic
//! full stops in a host are decoded, punycode is decoded to Unicode.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use super::LinkCarrier;
use super::defang::refang;
use super::domain::{self, Internal};
use crate::normalise::is_concealing;

/// Most candidate matches one reader looks at; bounds the work on adversarial input. A text
/// with more is reported as not read in full ([`Extracted::overflowed`]), never as clean.
const MAX_CANDIDATES: usize = 4096;
/// Most links extracted; past it, the same.
const MAX_RAW: usize = 512;
/// Most attributes read in one HTML tag; past it, the same.
const MAX_ATTRIBUTES: usize = 64;
/// How far after `<a …>` its closing tag is looked for.
const MAX_ANCHOR_TEXT: usize = 4096;

/// Schemes whose URLs name a host a client may contact.
const SCHEMES: &[&str] = &[
    "http",
    "https",
    "ftp",
    "ftps",
    "sftp",
    "ws",
    "wss",
    "smb",
    "file",
    "ssh",
    "git",
    "svn",
    "rdp",
    "vnc",
    "telnet",
    "ldap",
    "ldaps",
    "postgres",
    "postgresql",
    "mysql",
    "mongodb",
    "mongodb+srv",
    "redis",
    "rediss",
    "amqp",
    "amqps",
    "mssql",
    "jdbc:mysql",
    "s3",
    "gs",
    "webdav",
    "dav",
    "nntp",
    "irc",
    "ircs",
    "xmpp",
    "sip",
    "ms-word",
    "ms-excel",
    "search-ms",
];

/// Top-level domains a scheme-less token may end in and still be taken for a host without
/// `www.` or a path. English words and file extensions are left out on purpose.
pub(super) const COMMON_TLDS: &[&str] = &[
    "com",
    "net",
    "org",
    "edu",
    "gov",
    "mil",
    "int",
    "io",
    "co",
    "ai",
    "app",
    "dev",
    "cloud",
    "info",
    "biz",
    "xyz",
    "top",
    "site",
    "online",
    "tech",
    "store",
    "shop",
    "live",
    "me",
    "tv",
    "ws",
    "us",
    "uk",
    "ca",
    "de",
    "fr",
    "nl",
    "ru",
    "cn",
    "jp",
    "kr",
    "br",
    "au",
    "es",
    "ch",
    "se",
    "fi",
    "dk",
    "cz",
    "ie",
    "nz",
    "za",
    "mx",
    "ar",
    "tr",
    "ua",
    "il",
    "sg",
    "hk",
    "tw",
    "vn",
    "ph",
    "th",
    "pk",
    "ir",
    "sa",
    "ae",
    "eu",
    "asia",
    "link",
    "click",
    "gq",
    "tk",
    "ga",
    "cf",
    "su",
    "pw",
    "ly",
    "gg",
    "icu",
    "cyou",
    "buzz",
    "rest",
    "fun",
    "space",
    "website",
    "host",
    "press",
    "ink",
    "sbs",
    "cfd",
    "bond",
    "lol",
    "email",
    "support",
    "services",
    "network",
    "digital",
    "men",
    "loan",
    "win",
    "bid",
    "vip",
    "club",
    "pro",
    "mobi",
    "wiki",
    "blog",
    "news",
    "zone",
    "software",
    "security",
    "exchange",
    "finance",
    "bank",
    "account",
    "accountant",
    "download",
    "stream",
    "review",
    "country",
    "kim",
    "work",
    "casa",
    "monster",
    "quest",
    "beauty",
    "hair",
    "skin",
    "makeup",
    "autos",
    "boats",
    "homes",
    "motorcycles",
    "yachts",
    "lat",
    "mom",
];

/// Extensions of files people name in text; a token ending in one is a file, not a host.
const FILE_EXTENSIONS: &[&str] = &[
    "md", "rs", "py", "sh", "so", "cs", "ps", "pm", "pl", "zip", "mov", "cc", "ml", "in", "js",
    "ts", "go", "rb", "php", "exe", "dll", "sys", "log", "txt", "json", "yaml", "yml", "toml",
    "xml", "csv", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "png", "jpg", "jpeg", "gif",
    "svg", "html", "htm", "css", "bat", "cmd", "ps1", "psm1", "vbs", "msi", "iso", "img", "bin",
    "dat", "tmp", "bak", "conf", "cfg", "ini", "lock", "tar", "gz", "tgz", "bz2", "xz", "7z",
    "rar", "jar", "war", "class", "java", "kt", "swift", "c", "h", "hpp", "cpp", "o", "a", "lib",
    "db", "sqlite", "sql", "pcap", "evtx", "eml", "msg", "lnk", "hta", "scr", "dmg", "pkg", "deb",
    "rpm", "apk", "ipa", "old", "new", "orig", "local", "internal", "lan", "corp", "home",
];

fn compile(p: &str) -> Option<Regex> {
    Regex::new(p).ok()
}

static MD_INLINE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r#"(!?)\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\(\s*"#,
        r#"(?:<([^<>\n]*)>|([^\s()<>]*(?:\([^\s()<>]*\)[^\s()<>]*)*))"#,
        r#"(?:\s+(?:"[^"\n]*"|'[^'\n]*'|\([^()\n]*\)))?\s*\)"#,
    ))
});
static MD_REF_DEF: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(r#"(?m)^[ \t]{0,3}\[([^\[\]\n]{1,200})\]:[ \t]*(?:<([^<>\n]*)>|(\S+))"#)
});
static MD_REF_USE: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r#"(!?)\[((?:[^\[\]\n]|\[[^\[\]\n]*\])*)\]\[([^\[\]\n]{0,200})\]"#));
static HTML_TAG: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r#"<([A-Za-z][A-Za-z0-9:-]*)(\s[^<>]*)?>"#));
static HTML_ATTR: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(r#"([A-Za-z_:][A-Za-z0-9_:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))"#)
});
static CSS_URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r#"(?i)(?:url\(\s*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s)"']+))|@import\s+(?:"([^"\n]*)"|'([^'\n]*)'))"#,
    )
});
static BARE_URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r#"(?i)(?-u:\b)([a-z][a-z0-9+.:-]{1,20}):(?://|\\\\|/\\|\\/)[^\s<>"'`]+|(?-u:\b)mailto:[^\s<>"'`)\]]+"#,
    )
});
static UNC: LazyLock<Option<Regex>> =
    LazyLock::new(|| compile(r#"\\\\([\p{L}\p{N}\p{M}_.-]+)(?:@(?:SSL|ssl|\d+))*\\[^\s<>"'`]*"#));
static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(r#"[A-Za-z0-9._%+-]{1,64}@[\p{L}\p{N}\p{M}_-]+(?:\.[\p{L}\p{N}\p{M}_-]+)+"#)
});
static DOMAIN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r#"[\p{L}\p{N}_][\p{L}\p{N}\p{M}_-]*(?:\.[\p{L}\p{N}\p{M}_-]+)+(?::\d{1,5})?(?:[/?#][^\s<>"'`]*)?"#,
    )
});

/// The text as a reader's client shows it, for reading links: HTML character references
/// decoded (except those for markup characters), concealing characters dropped, NFKC applied,
/// ideographic full stops read as dots. No homoglyph folding.
pub(super) fn visible(text: &str) -> String {
    let decoded = decode_references(text);
    let kept: String = decoded.chars().filter(|&c| !is_concealing(c)).collect();
    let nfkc: String = if is_nfkc_quick(kept.chars()) == IsNormalized::Yes {
        kept
    } else {
        kept.nfkc().collect()
    };
    nfkc.replace(['\u{3002}', '\u{FF0E}', '\u{FF61}'], ".")
}

/// Decodes `&#NN;`, `&#xHH;` and a few named references a link could be spelt with. `<`, `>`
/// and quotes stay encoded: decoding them would invent markup the client does not render.
fn decode_references(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or_default());
        let after = rest.get(i + 1..).unwrap_or_default();
        let end = after
            .char_indices()
            .take(12)
            .find(|(_, c)| !c.is_ascii_alphanumeric() && *c != '#')
            .map_or(after.len().min(12), |(j, _)| j);
        let name = after.get(..end).unwrap_or_default();
        let decoded = if let Some(num) = name.strip_prefix('#') {
            let v = match num.strip_prefix(['x', 'X']) {
                Some(h) => u32::from_str_radix(h, 16).ok(),
                None => num.parse::<u32>().ok(),
            };
            v.and_then(char::from_u32)
        } else {
            match name {
                "amp" => Some('&'),
                "period" => Some('.'),
                "colon" => Some(':'),
                "sol" => Some('/'),
                "bsol" => Some('\\'),
                "commat" => Some('@'),
                "nbsp" => Some(' '),
                "hyphen" | "dash" => Some('-'),
                "lowbar" => Some('_'),
                "quest" => Some('?'),
                "num" => Some('#'),
                _ => None,
            }
        }
        .filter(|c| !matches!(c, '<' | '>' | '"' | '\''));
        match decoded {
            Some(c) if !name.is_empty() => {
                out.push(c);
                let skip = end + usize::from(after.get(end..).is_some_and(|s| s.starts_with(';')));
                rest = after.get(skip..).unwrap_or_default();
            }
            _ => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A link target as found, before its host is parsed.
#[derive(Debug, Clone)]
pub(super) struct RawLink {
    pub(super) target: String,
    pub(super) carrier: LinkCarrier,
    /// Visible text of a markdown or HTML link, for the mismatch check.
    pub(super) text: Option<String>,
    /// Bytes of the view the link occupies (the whole construct, text included).
    pub(super) span: Range<usize>,
}

struct Collector {
    links: Vec<RawLink>,
    claimed: Vec<Range<usize>>,
    /// A cap was reached: part of the text was not read for links.
    overflowed: bool,
}

/// The links in a text, and whether the text held more than the reader reads.
pub(super) struct Extracted {
    pub(super) links: Vec<RawLink>,
    /// A cap on candidates, attributes or links was reached, so a link past it may be
    /// unread: the caller treats the text as unscreened, never as clean.
    pub(super) overflowed: bool,
}

impl Collector {
    fn overlaps(&self, r: &Range<usize>) -> bool {
        self.claimed
            .iter()
            .any(|c| c.start < r.end && r.start < c.end)
    }

    fn push(
        &mut self,
        target: &str,
        carrier: LinkCarrier,
        text: Option<String>,
        span: Range<usize>,
    ) {
        let target = target.trim();
        if target.is_empty() {
            return;
        }
        if self.links.len() >= MAX_RAW {
            self.overflowed = true;
            return;
        }
        self.links.push(RawLink {
            target: target.to_owned(),
            carrier,
            text,
            span,
        });
    }

    /// Whether the `n`th candidate (from 0) is within `cap`; past it, the text is marked as
    /// not read in full.
    fn within(&mut self, n: usize, cap: usize) -> bool {
        if n >= cap {
            self.overflowed = true;
        }
        n < cap
    }

    fn claim(&mut self, span: Range<usize>) {
        self.claimed.push(span);
    }
}

/// Every link target in `view` (the output of [`visible`], refanged). `defanged` are the byte
/// ranges a refang rewrote: a scheme-less token holding one is read as a host on weaker
/// evidence, because its writer marked it as one.
pub(super) fn extract(view: &str, internal: &[Internal], defanged: &[Range<usize>]) -> Extracted {
    let mut c = Collector {
        links: Vec::new(),
        claimed: Vec::new(),
        overflowed: false,
    };
    markdown(view, 0, true, &mut c);
    markdown_references(view, &mut c);
    html(view, &mut c);
    bare(view, internal, defanged, &mut c);
    Extracted {
        links: c.links,
        overflowed: c.overflowed,
    }
}

fn markdown(view: &str, offset: usize, outer: bool, c: &mut Collector) {
    let Some(re) = MD_INLINE.as_ref() else { return };
    if !view.contains("](") {
        return;
    }
    for (n, caps) in re.captures_iter(view).enumerate() {
        if !c.within(n, MAX_CANDIDATES) {
            break;
        }
        let Some(all) = caps.get(0) else { continue };
        let span = offset + all.start()..offset + all.end();
        if outer && c.overlaps(&span) {
            continue;
        }
        let image = caps.get(1).is_some_and(|m| !m.as_str().is_empty());
        let text = caps.get(2).map_or("", |m| m.as_str());
        let target = caps.get(3).or(caps.get(4)).map_or("", |m| m.as_str());
        let carrier = if image {
            LinkCarrier::MarkdownImage
        } else {
            LinkCarrier::MarkdownLink
        };
        let shown = (!image).then(|| text.to_owned());
        c.push(target, carrier, shown, span.clone());
        if outer && let Some(t) = caps.get(2) {
            // A linked image: `[![alt](src)](href)`.
            markdown(t.as_str(), offset + t.start(), false, c);
        }
        if outer {
            c.claim(span);
        }
    }
}

fn markdown_references(view: &str, c: &mut Collector) {
    let (Some(defs), Some(uses)) = (MD_REF_DEF.as_ref(), MD_REF_USE.as_ref()) else {
        return;
    };
    if !view.contains("]:") {
        return;
    }
    let mut table: Vec<(String, String, Range<usize>)> = Vec::new();
    for (n, caps) in defs.captures_iter(view).enumerate() {
        if !c.within(n, MAX_CANDIDATES) {
            break;
        }
        let (Some(all), Some(label)) = (caps.get(0), caps.get(1)) else {
            continue;
        };
        let target = caps.get(2).or(caps.get(3)).map_or("", |m| m.as_str());
        table.push((
            label.as_str().trim().to_lowercase(),
            target.to_owned(),
            all.range(),
        ));
    }
    if table.is_empty() {
        return;
    }
    let mut used = vec![false; table.len()];
    for (n, caps) in uses.captures_iter(view).enumerate() {
        if !c.within(n, MAX_CANDIDATES) {
            break;
        }
        let Some(all) = caps.get(0) else { continue };
        if c.overlaps(&all.range()) {
            continue;
        }
        let image = caps.get(1).is_some_and(|m| !m.as_str().is_empty());
        let text = caps.get(2).map_or("", |m| m.as_str());
        let label = caps.get(3).map_or("", |m| m.as_str()).trim();
        let key = if label.is_empty() { text } else { label }
            .trim()
            .to_lowercase();
        let Some(i) = table.iter().position(|(l, ..)| *l == key) else {
            continue;
        };
        if let (Some((_, target, _)), Some(u)) = (table.get(i), used.get_mut(i)) {
            *u = true;
            let carrier = if image {
                LinkCarrier::MarkdownImage
            } else {
                LinkCarrier::MarkdownLink
            };
            let shown = (!image).then(|| text.to_owned());
            c.push(&target.clone(), carrier, shown, all.range());
            c.claim(all.range());
        }
    }
    for ((_, target, span), used) in table.into_iter().zip(used) {
        if !used {
            c.push(&target, LinkCarrier::MarkdownLink, None, span.clone());
        }
        c.claim(span);
    }
}

/// What an attribute's URL does when the element renders.
fn attribute_carrier(tag: &str, attr: &str) -> Option<LinkCarrier> {
    let embed = Some(LinkCarrier::HtmlEmbed);
    let link = Some(LinkCarrier::HtmlLink);
    match attr {
        "href" | "xlink:href" => match tag {
            "link" | "image" | "use" | "feimage" | "script" => embed,
            _ => link,
        },
        "src" | "lowsrc" | "dynsrc" | "poster" | "background" | "srcset" | "imagesrcset" => embed,
        "data" if tag == "object" => embed,
        "action" | "formaction" | "ping" | "cite" | "longdesc" => link,
        _ => None,
    }
}

fn html(view: &str, c: &mut Collector) {
    let (Some(tags), Some(attrs)) = (HTML_TAG.as_ref(), HTML_ATTR.as_ref()) else {
        return;
    };
    if view.contains('<') {
        // An anchor's text is claimed after the loop, so tags inside it (a linked image) are
        // still read.
        let mut anchors = Vec::new();
        for (n, caps) in tags.captures_iter(view).enumerate() {
            if !c.within(n, MAX_CANDIDATES) {
                break;
            }
            let (Some(all), Some(name)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            if c.overlaps(&all.range()) {
                continue;
            }
            let tag = name.as_str().to_ascii_lowercase();
            let mut span = all.range();
            let mut text = None;
            if tag == "a" || tag == "area" {
                let (t, end) = anchor_text(view, all.end());
                text = Some(t);
                span.end = end;
            }
            let Some(body) = caps.get(2) else { continue };
            for (n, a) in attrs.captures_iter(body.as_str()).enumerate() {
                if !c.within(n, MAX_ATTRIBUTES) {
                    break;
                }
                let Some(attr) = a.get(1) else { continue };
                let attr = attr.as_str().to_ascii_lowercase();
                let value = a
                    .get(2)
                    .or(a.get(3))
                    .or(a.get(4))
                    .map_or("", |m| m.as_str());
                if attr == "content" && value.to_ascii_lowercase().contains("url=") {
                    // <meta http-equiv="refresh" content="0; url=…">
                    if let Some((_, u)) = value.split_once(['=']) {
                        c.push(
                            u.trim_matches(['\'', '"', ' ']),
                            LinkCarrier::HtmlLink,
                            None,
                            span.clone(),
                        );
                    }
                    continue;
                }
                let Some(carrier) = attribute_carrier(&tag, &attr) else {
                    // Not a link attribute, but a reader sees its text (`alt`, `title`, a
                    // tooltip) and a client may make a URL in it clickable: URLs in it count.
                    if let Some(re) = BARE_URL.as_ref()
                        && value.contains(':')
                    {
                        for (n, m) in re.find_iter(value).enumerate() {
                            if !c.within(n, MAX_ATTRIBUTES) {
                                break;
                            }
                            c.push(
                                trim_url_end(m.as_str()),
                                LinkCarrier::Url,
                                None,
                                span.clone(),
                            );
                        }
                    }
                    continue;
                };
                if attr.ends_with("srcset") {
                    for candidate in value.split(',') {
                        let url = candidate.split_whitespace().next().unwrap_or_default();
                        c.push(url, carrier, None, span.clone());
                    }
                } else {
                    let shown = (carrier == LinkCarrier::HtmlLink)
                        .then(|| text.clone())
                        .flatten();
                    c.push(value, carrier, shown, span.clone());
                }
            }
            c.claim(all.range());
            anchors.push(span);
        }
        for span in anchors {
            c.claim(span);
        }
    }
    if let Some(css) = CSS_URL.as_ref()
        && (view.contains("url(") || view.contains("URL(") || view.contains("@import"))
    {
        for (n, caps) in css.captures_iter(view).enumerate() {
            if !c.within(n, MAX_CANDIDATES) {
                break;
            }
            let Some(all) = caps.get(0) else { continue };
            let url = (2..=5)
                .filter_map(|i| caps.get(i))
                .chain(caps.get(1))
                .next()
                .map_or("", |m| m.as_str());
            c.push(url, LinkCarrier::HtmlEmbed, None, all.range());
            c.claim(all.range());
        }
    }
}

/// Text of an `<a>` element whose open tag ends at `start`, with inner tags dropped, and where
/// the element ends.
fn anchor_text(view: &str, start: usize) -> (String, usize) {
    let window_end = floor_boundary(view, start.saturating_add(MAX_ANCHOR_TEXT));
    let window = view.get(start..window_end).unwrap_or_default();
    let lower = window.to_ascii_lowercase();
    let (inner, end) = match lower.find("</a") {
        Some(i) => {
            let close = lower
                .get(i..)
                .and_then(|s| s.find('>'))
                .map_or(i + 3, |j| i + j + 1);
            (window.get(..i).unwrap_or_default(), start + close)
        }
        None => (window, window_end),
    };
    let mut text = String::new();
    let mut in_tag = false;
    for ch in inner.chars() {
        match ch {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if !in_tag => text.push(ch),
            _ => {}
        }
    }
    (text, end)
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Trailing punctuation that ends a sentence, not a URL. A `)` stays when the URL opened one.
fn trim_url_end(url: &str) -> &str {
    let mut u = url;
    loop {
        let Some(last) = u.chars().last() else {
            return u;
        };
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' | '*' | '_' | '~' | ']' | '}' | '>' => {
                true
            }
            ')' => u.matches('(').count() < u.matches(')').count(),
            _ => false,
        };
        if !drop {
            return u;
        }
        u = u.get(..u.len() - last.len_utf8()).unwrap_or_default();
    }
}

fn bare(view: &str, internal: &[Internal], defanged: &[Range<usize>], c: &mut Collector) {
    if let Some(re) = BARE_URL.as_ref()
        && view.contains(':')
    {
        for (n, m) in re.find_iter(view).enumerate() {
            if !c.within(n, MAX_CANDIDATES) {
                break;
            }
            let url = trim_url_end(m.as_str());
            let span = m.start()..m.start() + url.len();
            if c.overlaps(&span) {
                continue;
            }
            let lower = url.to_ascii_lowercase();
            let carrier = if lower.starts_with("mailto:") {
                LinkCarrier::Email
            } else {
                let scheme = lower.split(':').next().unwrap_or_default();
                if !SCHEMES.contains(&scheme) && !scheme.ends_with("http") {
                    continue;
                }
                LinkCarrier::Url
            };
            c.push(url, carrier, None, span.clone());
            c.claim(span);
        }
    }
    if let Some(re) = UNC.as_ref()
        && view.contains("\\\\")
    {
        for (n, m) in re.find_iter(view).enumerate() {
            if !c.within(n, MAX_CANDIDATES) {
                break;
            }
            let span = m.range();
            if c.overlaps(&span) {
                continue;
            }
            c.push(
                trim_url_end(m.as_str()),
                LinkCarrier::UncPath,
                None,
                span.clone(),
            );
            c.claim(span);
        }
    }
    if let Some(re) = EMAIL.as_ref()
        && view.contains('@')
    {
        for (n, m) in re.find_iter(view).enumerate() {
            if !c.within(n, MAX_CANDIDATES) {
                break;
            }
            let span = m.range();
            if c.overlaps(&span) {
                continue;
            }
            c.push(m.as_str(), LinkCarrier::Email, None, span.clone());
            c.claim(span);
        }
    }
    if let Some(re) = DOMAIN.as_ref()
        && view.contains('.')
    {
        for (n, m) in re.find_iter(view).enumerate() {
            if !c.within(n, MAX_CANDIDATES) {
                break;
            }
            let token = trim_url_end(m.as_str());
            let span = m.start()..m.start() + token.len();
            if c.overlaps(&span) || !free_standing(view, span.start) {
                continue;
            }
            let marked = defanged
                .iter()
                .any(|e| e.start < span.end && span.start < e.end);
            if plausible_host(token, internal) || (marked && defanged_host(token)) {
                c.push(token, LinkCarrier::Domain, None, span.clone());
                c.claim(span);
            }
        }
    }
}

/// A scheme-less token starts a word: not the tail of a path, an address or a longer name.
fn free_standing(view: &str, start: usize) -> bool {
    let before = view.get(..start).and_then(|s| s.chars().next_back());
    !before.is_some_and(|b| {
        b.is_alphanumeric()
            || matches!(
                b,
                '@' | '.' | '/' | '\\' | '-' | '_' | ':' | '$' | '%' | '=' | '~'
            )
    })
}

/// Whether a scheme-less token (`host[:port][/path]`) reads as a host name.
fn plausible_host(token: &str, internal: &[Internal]) -> bool {
    let authority_end = token.find(['/', '?', '#']).unwrap_or(token.len());
    let has_path = authority_end < token.len() && token.len() > authority_end + 1;
    let authority = token.get(..authority_end).unwrap_or(token);
    let written = authority.split(':').next().unwrap_or(authority);
    let Some(host) = domain::canonical_host(written) else {
        return false;
    };
    if domain::is_ip_literal(&host) || !host.contains('.') {
        return false;
    }
    if internal.iter().any(|d| d.contains(&host)) || host.starts_with("www.") {
        return true;
    }
    let tld = host.rsplit('.').next().unwrap_or_default();
    if tld.chars().any(|c| c.is_ascii_digit()) && !tld.starts_with("xn--") {
        return false;
    }
    if !tld.is_ascii() {
        return true;
    }
    if tld.len() < 2 {
        return false;
    }
    if FILE_EXTENSIONS.contains(&tld) {
        return false;
    }
    if COMMON_TLDS.contains(&tld) || tld.starts_with("xn--") {
        return true;
    }
    if internal
        .iter()
        .any(|d| d.domain().rsplit('.').next() == Some(tld))
    {
        return true;
    }
    has_path && tld.chars().all(|c| c.is_ascii_alphabetic())
}

/// Whether a scheme-less token with a defanged dot in it names a host: any alphabetic
/// top-level domain will do (`evil[.]zip`), and so will an IP address (`198.51.100[.]7`).
fn defanged_host(token: &str) -> bool {
    let authority_end = token.find(['/', '?', '#']).unwrap_or(token.len());
    let authority = token.get(..authority_end).unwrap_or(token);
    let written = authority.split(':').next().unwrap_or(authority);
    let Some(host) = domain::canonical_host(written) else {
        return false;
    };
    if domain::is_ip_literal(&host) {
        return true;
    }
    let tld = host.rsplit('.').next().unwrap_or_default();
    host.contains('.') && tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic)
}

/// A link target with its host parsed.
#[derive(Debug, Clone)]
pub(super) struct Target {
    /// Lower-case, IDNA-decoded host.
    pub(super) host: String,
    /// What stood before `@` in the authority, if anything.
    pub(super) userinfo: Option<String>,
    /// The userinfo carries a password.
    pub(super) password: bool,
    /// A punycode label did not decode.
    pub(super) punycode_error: bool,
}

/// Parses a link target's host. `None` for relative links and for schemes without a host
/// (`javascript:`, `data:`, `tel:`, …).
pub(super) fn parse_target(
    raw: &str,
    carrier: LinkCarrier,
    internal: &[Internal],
) -> Option<Target> {
    let cleaned = as_browsers_read(raw);
    let s = cleaned.as_str();
    let lower = s.to_ascii_lowercase();
    let authority_and_rest: &str = if carrier == LinkCarrier::UncPath {
        s.trim_start_matches('\\')
    } else if let Some(addr) = lower
        .strip_prefix("mailto:")
        .map(|_| s.get(7..).unwrap_or_default())
    {
        let addr = addr.split(['?', ',', ';']).next().unwrap_or_default();
        let (_, host) = addr.rsplit_once('@')?;
        return finish(host, None);
    } else if carrier == LinkCarrier::Email {
        let (_, host) = s.rsplit_once('@')?;
        return finish(host, None);
    } else if let Some(rest) = protocol_relative(s) {
        rest
    } else if let Some((scheme, rest)) = s.split_once(':')
        && !scheme.is_empty()
        && scheme.len() <= 24
        && scheme
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '+' | '-' | '.'))
        && scheme
            .chars()
            .next()
            .is_some_and(|ch| ch.is_ascii_alphabetic())
        && (!rest.starts_with(|ch: char| ch.is_ascii_digit()) || special_scheme(scheme))
    {
        let stripped = rest.trim_start_matches(['/', '\\']);
        let special = special_scheme(scheme);
        if stripped.len() == rest.len() && !special {
            // `javascript:`, `data:`, `tel:`, `cid:`, … : no host.
            return None;
        }
        stripped
    } else if !s.starts_with(['/', '.', '#', '?'])
        && (plausible_host(s, internal)
            // Bare tokens reach here only after `bare` read them as hosts, some on the
            // weaker evidence of a defanged dot.
            || (carrier == LinkCarrier::Domain && defanged_host(s)))
    {
        // Scheme-less: a host name only when it reads as one; `report.pdf` is a relative link.
        s
    } else {
        return None;
    };
    let authority = authority_and_rest
        .split(['/', '\\', '?', '#'])
        .next()
        .unwrap_or_default();
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next().unwrap_or(host_port)
    } else {
        match host_port.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|ch| ch.is_ascii_digit()) => h,
            _ => host_port,
        }
    };
    finish(host, userinfo)
}

/// A link target as a browser's URL parser reads it: surrounding spaces and control
/// characters trimmed, angle brackets of an autolink removed, and every tab and line break
/// inside dropped (`h&#9;ttps://host` is `https://host` to a browser).
fn as_browsers_read(raw: &str) -> String {
    raw.trim_matches(|c: char| c <= ' ')
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// Schemes whose address always has a host: a browser reads `http:host`, `http:/host` and
/// `http:\\host` as `http://host`.
fn special_scheme(scheme: &str) -> bool {
    ["http", "https", "ftp", "ws", "wss", "file"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
}

/// The rest of a scheme-relative address (`//host/…`): a browser takes a backslash for a
/// slash, so `/\host`, `\/host` and `\\host` are the same.
fn protocol_relative(s: &str) -> Option<&str> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some('/' | '\\'), Some('/' | '\\')) => s.get(2..),
        _ => None,
    }
}

/// Whether a link target names a host that [`parse_target`] could not read: an address with a
/// scheme that always has a host, or a scheme-relative one. A reader's client follows it all
/// the same, so the screen may not pass it as clean.
pub(super) fn names_unread_host(raw: &str) -> bool {
    let s = as_browsers_read(raw);
    protocol_relative(&s).is_some()
        || s.split_once(':')
            .is_some_and(|(scheme, _)| special_scheme(scheme))
}

fn finish(host: &str, userinfo: Option<&str>) -> Option<Target> {
    let decoded = percent_decode(host);
    let (host, punycode_error) = if decoded.starts_with('[') && decoded.ends_with(']') {
        (decoded.to_ascii_lowercase(), false)
    } else {
        let canonical = domain::canonical_host(&decoded)?;
        let bad = canonical.split('.').any(|l| l.starts_with("xn--"));
        (canonical, bad)
    };
    let userinfo = userinfo.map(percent_decode);
    let password = userinfo.as_deref().is_some_and(|u| {
        u.split_once(':').is_some_and(|(_, p)| {
            !p.is_empty()
                && !matches!(
                    p,
                    "*" | "***" | "****" | "<password>" | "password" | "redacted" | "REDACTED"
                )
        })
    });
    Some(Target {
        host,
        userinfo,
        password,
        punycode_error,
    })
}

/// Hosts a piece of visible text names: URLs, mail addresses and host names in it.
fn hosts_named(text: &str, internal: &[Internal]) -> Vec<String> {
    let view = refang(&visible(text), internal);
    // The link text is bounded (`MAX_ANCHOR_TEXT`); a cap reached here only shortens the
    // list of hosts it names, which the link itself is still checked against.
    let mut c = Collector {
        links: Vec::new(),
        claimed: Vec::new(),
        overflowed: false,
    };
    bare(&view.text, internal, &view.edits, &mut c);
    c.links
        .iter()
        .filter_map(|l| parse_target(&l.target, l.carrier, internal))
        .map(|t| t.host)
        .collect()
}

/// Why a link's visible `text` misleads about its target, if it does.
pub(super) fn text_mismatch(
    text: &str,
    host: &str,
    registered: &str,
    target_internal: bool,
    internal: &[Internal],
) -> Option<String> {
    let text = text.get(..floor_boundary(text, 1024)).unwrap_or_default();
    for named in hosts_named(text, internal) {
        let same = domain::registered_domain(&named) == registered
            || (target_internal && internal.iter().any(|d| d.contains(&named)));
        if !same {
            return Some(format!("link text names `{}`", domain::display(&named)));
        }
    }
    if !target_internal
        && !domain::is_ip_literal(host)
        && let Some(d) = internal.iter().find(|d| d.named_in(text))
    {
        return Some(format!("link text names internal `{}`", d.domain()));
    }
    None
}

/// At most `max` bytes of `s`, cut on a character boundary.
pub(super) fn capped(s: &str, max: usize) -> String {
    s.get(..floor_boundary(s, max))
        .unwrap_or_default()
        .to_owned()
}

/// A host, user info or path with its %-escapes undone (`+` is itself there).
/// A URL written inside another's path, query or fragment, percent-encoded or not: with a
/// scheme (`https://`, `https%3A%2F%2F`), protocol-relative after a parameter (`?to=//host`), or
/// a `www.` host after a parameter.
static NESTED_URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r#"(?i)(?-u:\b)(?:https?|ftps?|wss?)\s*:\s*[/\\]{2}[^\s<>"'`&|]+|(?:^|[=&?#;,])\s*((?:[/\\]{2}|www\.)[^\s<>"'`&|/\\?#.]+\.[^\s<>"'`&|]+)"#,
    )
});

/// Most links read out of one link's address, at every depth together.
const MAX_NESTED: usize = 16;
/// Rounds of percent-decoding an address gets (`%253A` is `%3A` once decoded).
const NESTED_DECODE_ROUNDS: usize = 3;
/// Bytes of one address read for links inside it.
const MAX_NESTED_READ: usize = 8 * 1024;
/// Depth of links inside links inside links read.
const NESTED_DEPTH: usize = 3;

/// The link targets written inside a link's address: its path, query and fragment, decoded.
/// A redirector on an internal host (`https://sso.internal/logout?next=https%3A%2F%2Fevil`)
/// sends the click, or the image load, on to them, so they are links of the text as much as
/// the one that carries them. Read to [`NESTED_DEPTH`], at most [`MAX_NESTED`]; the bool says
/// a cap cut the reading short.
pub(super) fn nested(target: &str) -> (Vec<String>, bool) {
    let mut found = Vec::new();
    let mut cut = false;
    let mut queue = vec![(target.to_owned(), 0usize)];
    while let Some((outer, depth)) = queue.pop() {
        let Some(re) = NESTED_URL.as_ref() else { break };
        // What follows the scheme and authority of the outer address.
        let after_scheme = outer
            .find("://")
            .and_then(|i| outer.get(i + 3..))
            .or_else(|| outer.strip_prefix("//"))
            .unwrap_or(&outer);
        let Some(rest) = after_scheme
            .find(['/', '?', '#', '\\'])
            .and_then(|i| after_scheme.get(i..))
        else {
            continue;
        };
        if rest.len() > MAX_NESTED_READ {
            cut = true;
        }
        let mut decoded = capped(rest, MAX_NESTED_READ).replace('+', " ");
        let mut rounds = 0;
        loop {
            let next = percent_decode(&decoded);
            if next == decoded {
                break;
            }
            if rounds == NESTED_DECODE_ROUNDS {
                // Still encoded after every round the screen decodes.
                cut = true;
                break;
            }
            decoded = next;
            rounds += 1;
        }
        // As a browser reads an address: tabs and line breaks inside it are dropped.
        decoded.retain(|c| !matches!(c, '\t' | '\n' | '\r'));
        for caps in re.captures_iter(&decoded) {
            let Some(m) = caps.get(1).or_else(|| caps.get(0)) else {
                continue;
            };
            let url = m.as_str().trim_end_matches(['.', ',', ')', ';']);
            // A `www.` host after a parameter is followed as a web address.
            let url = if url.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("www.")) {
                format!("http://{url}")
            } else {
                url.to_owned()
            };
            if found.len() >= MAX_NESTED {
                cut = true;
                break;
            }
            if depth + 1 < NESTED_DEPTH {
                queue.push((url.clone(), depth + 1));
            } else if nested_here(&url) {
                cut = true;
            }
            found.push(url);
        }
    }
    (found, cut)
}

/// Whether an address read at the last depth holds another (so reading stopped before it).
fn nested_here(url: &str) -> bool {
    let decoded = percent_decode(url);
    decoded
        .find("://")
        .and_then(|i| decoded.get(i + 3..))
        .is_some_and(|rest| rest.contains("://") || rest.contains("=//"))
}

fn percent_decode(s: &str) -> String {
    if !s.contains('%') {
        return s.to_owned();
    }
    String::from_utf8_lossy(&crate::normalise::decode_percent(s, false)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nw() -> Vec<Internal> {
        Internal::new("northwind.example").into_iter().collect()
    }

    fn hosts(text: &str) -> Vec<(String, LinkCarrier)> {
        let view = refang(&visible(text), &nw());
        extract(&view.text, &nw(), &view.edits)
            .links
            .into_iter()
            .filter_map(|l| parse_target(&l.target, l.carrier, &nw()).map(|t| (t.host, l.carrier)))
            .collect()
    }

    #[test]
    fn patterns_compile() {
        for re in [
            &MD_INLINE,
            &MD_REF_DEF,
            &MD_REF_USE,
            &HTML_TAG,
            &HTML_ATTR,
            &CSS_URL,
            &BARE_URL,
            &UNC,
            &EMAIL,
            &DOMAIN,
        ] {
            assert!(re.is_some());
        }
    }

    #[test]
    fn carriers() {
        let h = hosts(
            "[a](https://one.test/x) ![b](//two.test/i.png) <a href='http://three.test'>t</a> \
             <img srcset=\"https://four.test/a.png 1x, https://five.test/b.png 2x\"> \
             <div style=\"background:url(https://six.test/p.gif)\"></div> see https://seven.test/a. \
             mail bob@eight.com or www.nine.test or login.ten.com/reset \\\\eleven.com\\share \
             [x][r]\n\n[r]: https://twelve.test/y",
        );
        let names: Vec<&str> = h.iter().map(|(h, _)| h.as_str()).collect();
        for want in [
            "one.test",
            "two.test",
            "three.test",
            "four.test",
            "five.test",
            "six.test",
            "seven.test",
            "eight.com",
            "www.nine.test",
            "login.ten.com",
            "eleven.com",
            "twelve.test",
        ] {
            assert!(names.contains(&want), "{want} not in {names:?}");
        }
    }

    #[test]
    fn file_names_and_versions_are_not_hosts() {
        assert!(hosts("see README.md, src/lib.rs, install.sh, v1.2.3, 10.0.0.5, alice.chen, e.g. this, finished.It was").is_empty());
    }

    #[test]
    fn browser_host_tricks() {
        let t = parse_target(
            "https://northwind.example@evil.com/x",
            LinkCarrier::Url,
            &[],
        )
        .unwrap();
        assert_eq!(t.host, "evil.com");
        assert_eq!(t.userinfo.as_deref(), Some("northwind.example"));
        let t = parse_target(
            "https://evil.com\\@northwind.example",
            LinkCarrier::Url,
            &[],
        )
        .unwrap();
        assert_eq!(t.host, "evil.com");
        let t = parse_target("https:evil.com/a", LinkCarrier::Url, &[]).unwrap();
        assert_eq!(t.host, "evil.com");
        let t = parse_target("https://%65vil.com", LinkCarrier::Url, &[]).unwrap();
        assert_eq!(t.host, "evil.com");
        let t = parse_target("https://u:hunter2@db.test:5432", LinkCarrier::Url, &[]).unwrap();
        assert!(t.password);
        assert!(parse_target("javascript:alert(1)", LinkCarrier::MarkdownLink, &[]).is_none());
        assert!(parse_target("/cases/1042", LinkCarrier::MarkdownLink, &[]).is_none());
    }

    #[test]
    fn references_and_invisibles() {
        assert_eq!(
            visible("https://north\u{200B}wind&#46;example"),
            "https://northwind.example"
        );
        assert_eq!(visible("a&lt;b &#60;"), "a&lt;b &#60;");
    }
}
