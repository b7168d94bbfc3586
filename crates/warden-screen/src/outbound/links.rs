//! Link targets in every form a reader's client turns into a click or a fetch.
//!
//! Carriers, in the order they are read (a later reader skips bytes an earlier one claimed, so a
//! markdown link's text is not read again as a bare URL): Markdown links, images, reference
//! definitions and autolinks from a CommonMark parser's events (pulldown-cmark), so a link is
//! found wherever a renderer draws one; HTML tags with URL attributes (`href`, `src`, `srcset`,
//! `poster`, `background`, `action`, …) from a WHATWG tokenizer (html5gum, shared with the
//! normaliser and the markup reader), over the whole text and over each raw HTML passage of the
//! Markdown; CSS `url()`/`@import`; `//host` after a link attribute, `](`, `]:` or at a line start;
//! bare URLs with a scheme, `mailto:`, UNC paths; mail addresses; scheme-less host names. Link or
//! tag syntax neither parser read as one is reported, not passed: another renderer may draw it.
//!
//! A scheme-less token counts as a host only when a reader would take it for one: `www.` in
//! front, an internal domain, a common top-level domain, or a path after it. File names
//! (`install.sh`, `README.md`, `lib.rs`) and version numbers are not hosts.
//!
//! Hosts are parsed as browsers do for the tricks that matter: userinfo before `@` is not the
//! host, `\` ends the authority like `/`, `https:evil.com` has a host, %-escapes and ideographic
//! full stops in a host are decoded, punycode is decoded to Unicode.

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use pulldown_cmark::{Event, LinkType, Options, Parser, Tag as MdTag, TagEnd};
use regex::Regex;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use super::LinkCarrier;
use super::defang::refang;
use super::domain::{self, Internal};
use crate::normalise::html::{Tag, Token, Tokens, tokenize};
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
/// A mail address as mail systems take one (RFC 5321/6531): a local part quoted (`"audit"`,
/// `"a b"`) or of any letters, digits and the atom characters; a domain of names, or an
/// address literal (`[203.0.113.5]`, `[IPv6:2001:db8::1]`).
static EMAIL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(
        r#"(?:"[^"\r\n]{1,64}"|[\p{L}\p{N}\p{M}!#$%&'*+/=?^_`{|}~.-]{1,64})@(?:\[(?:IPv6:)?[0-9A-Fa-f:.]{2,45}\]|[\p{L}\p{N}\p{M}_-]+(?:\.[\p{L}\p{N}\p{M}_-]+)+)"#,
    )
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

/// The characters markup is made of (HTML tags and attributes, Markdown code spans, links and
/// emphasis), whitespace that separates attributes among them.
const MARKUP: &[char] = &[
    '"', '\'', '`', '<', '>', '=', '[', ']', '(', ')', '\\', '/', '!', '*', '_', '~', '|', '\t',
    '\n', '\r', '\u{c}',
];

/// A markup character `view` (the text as [`visible`] reads it) holds more of than `text` as
/// written: one the reading made from a reference or a compatibility form.
pub(super) fn markup_made_by_reading(text: &str, view: &str) -> Option<char> {
    if text == view {
        return None;
    }
    let count = |s: &str, c: char| s.chars().filter(|&x| x == c).count();
    MARKUP
        .iter()
        .copied()
        .find(|&c| count(view, c) > count(text, c))
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
    /// What `links` holds, by carrier and target.
    seen: HashSet<(LinkCarrier, String)>,
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
    /// Link or tag syntax neither the Markdown parser nor the HTML tokenizer read as a link
    /// or a tag, described: another renderer may draw it, so the text is not read in full.
    pub(super) misread: Option<String>,
    /// The text's tags as read ([`html_readings`]), for the markup reader.
    pub(super) tags: Vec<Tokens>,
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
        // Read twice (a tag in the whole text and in its Markdown passage, a value read by a
        // parser and by the fallback): listed once.
        if self.seen.contains(&(carrier, target.to_owned())) {
            return;
        }
        if self.links.len() >= MAX_RAW {
            self.overflowed = true;
            return;
        }
        self.seen.insert((carrier, target.to_owned()));
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
///
/// Markdown is read by a CommonMark parser and HTML by an HTML5 tokenizer, so a link is found
/// where a renderer draws one, whatever its brackets, line breaks or quoted `>`. What looks
/// like link or tag syntax but neither reader took for one is reported
/// ([`Extracted::misread`]): another renderer may draw it.
pub(super) fn extract(view: &str, internal: &[Internal], defanged: &[Range<usize>]) -> Extracted {
    let mut c = Collector {
        links: Vec::new(),
        seen: HashSet::new(),
        claimed: Vec::new(),
        overflowed: false,
    };
    let md = markdown(view, &mut c);
    let (read_tags, tags) = html(view, &md.html, &mut c);
    css(view, &mut c, None);
    slashed(view, internal, &mut c);
    let misread = misread(view, &md, &read_tags);
    bare(view, internal, defanged, &mut c);
    Extracted {
        links: c.links,
        overflowed: c.overflowed,
        misread,
        tags,
    }
}

/// What the Markdown parser read, besides the links it pushed.
#[derive(Default)]
struct MarkdownRead {
    /// Bytes of its links, images and reference definitions.
    links: Vec<Range<usize>>,
    /// Bytes of its raw HTML, inline and block.
    html: Vec<Range<usize>>,
    /// Bytes of its code spans and blocks, shown as written.
    code: Vec<Range<usize>>,
}

/// A link or image whose end the parser has not reached yet.
struct Open {
    dest: String,
    carrier: LinkCarrier,
    text: String,
    span: Range<usize>,
}

fn markdown(view: &str, c: &mut Collector) -> MarkdownRead {
    let mut read = MarkdownRead::default();
    if !view.contains(['[', '<', '`', '~']) {
        return read;
    }
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let parser = Parser::new_ext(view, options);
    let definitions: Vec<(String, Range<usize>)> = parser
        .reference_definitions()
        .iter()
        .map(|(_, d)| (d.dest.to_string(), d.span.clone()))
        .collect();
    let mut open: Vec<Open> = Vec::new();
    let mut n = 0usize;
    for (event, range) in parser.into_offset_iter() {
        match event {
            Event::Start(MdTag::Link {
                link_type,
                dest_url,
                ..
            }) => open.push(Open {
                dest: dest_url.into_string(),
                carrier: match link_type {
                    LinkType::Autolink => LinkCarrier::Url,
                    LinkType::Email => LinkCarrier::Email,
                    _ => LinkCarrier::MarkdownLink,
                },
                text: String::new(),
                span: range,
            }),
            Event::Start(MdTag::Image { dest_url, .. }) => open.push(Open {
                dest: dest_url.into_string(),
                carrier: LinkCarrier::MarkdownImage,
                text: String::new(),
                span: range,
            }),
            Event::End(TagEnd::Link | TagEnd::Image) => {
                let Some(o) = open.pop() else { continue };
                n += 1;
                if !c.within(n, MAX_CANDIDATES) {
                    break;
                }
                let shown = (o.carrier == LinkCarrier::MarkdownLink).then(|| o.text.clone());
                c.push(&o.dest, o.carrier, shown, o.span.clone());
                c.claim(o.span.clone());
                read.links.push(o.span);
                // A linked image's alternative text is what its link shows when it fails.
                if let Some(outer) = open.last_mut()
                    && outer.text.len() < MAX_ANCHOR_TEXT
                {
                    outer.text.push_str(&o.text);
                }
            }
            Event::Text(t) => {
                if let Some(o) = open.last_mut()
                    && o.text.len() < MAX_ANCHOR_TEXT
                {
                    o.text.push_str(&t);
                }
            }
            Event::Code(t) => {
                read.code.push(range);
                if let Some(o) = open.last_mut()
                    && o.text.len() < MAX_ANCHOR_TEXT
                {
                    o.text.push_str(&t);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some(o) = open.last_mut() {
                    o.text.push(' ');
                }
            }
            Event::Start(MdTag::CodeBlock(_)) => read.code.push(range),
            Event::Html(_) | Event::InlineHtml(_) => match read.html.last_mut() {
                // The lines of one HTML block are read together.
                Some(last) if last.end == range.start => last.end = range.end,
                _ => read.html.push(range),
            },
            _ => {}
        }
    }
    for (n, (dest, span)) in definitions.into_iter().enumerate() {
        if !c.within(n, MAX_CANDIDATES) {
            break;
        }
        // A definition's target is a link of the text, used or not (a client may list it).
        if !c.links.iter().any(|l| l.target == dest.trim()) {
            c.push(&dest, LinkCarrier::MarkdownLink, None, span.clone());
        }
        c.claim(span.clone());
        read.links.push(span);
    }
    read
}

/// What an attribute's URL does when the element renders.
fn attribute_carrier(tag: &str, attr: &str) -> Option<LinkCarrier> {
    let embed = Some(LinkCarrier::HtmlEmbed);
    let link = Some(LinkCarrier::HtmlLink);
    match attr {
        "href" | "xlink:href" => match tag {
            // A `<base>` sends every relative link and image of the page to its host.
            "link" | "image" | "use" | "feimage" | "script" | "base" => embed,
            _ => link,
        },
        "src" | "lowsrc" | "dynsrc" | "poster" | "background" | "srcset" | "imagesrcset"
        | "codebase" | "manifest" | "icon" => embed,
        "data" if tag == "object" => embed,
        "action" | "formaction" | "ping" | "cite" | "longdesc" => link,
        _ => None,
    }
}

/// An attribute name as CommonMark's raw-HTML rule spells one. A tag whose every name is so is
/// markup a renderer does not show; one with another (`<b see https://…>`) may be shown as
/// text, so its bytes are left to the other readers too.
fn well_formed_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|ch| ch.is_ascii_alphabetic() || matches!(ch, '_' | ':'))
        && chars.all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '.' | ':' | '-'))
}

/// Reads the links of every tag: the whole text tokenized as HTML (a mail body), and each raw
/// HTML passage of the Markdown parse tokenized on its own (a `<` in a code span does not
/// derail it). Returns the bytes of every tag and comment read.
fn html(
    view: &str,
    passages: &[Range<usize>],
    c: &mut Collector,
) -> (Vec<Range<usize>>, Vec<Tokens>) {
    let mut read = Vec::new();
    if !view.contains('<') {
        return (read, Vec::new());
    }
    let readings = tag_readings(view, passages);
    let mut n = 0usize;
    for reading in &readings {
        if reading.cut {
            c.overflowed = true;
        }
        // An anchor's text is claimed after the loop, so tags inside it (a linked image) are
        // still read.
        let mut anchors = Vec::new();
        for (i, token) in reading.tokens.iter().enumerate() {
            let tag = match token {
                Token::Start(tag) => tag,
                Token::Comment { span, .. } | Token::End { span, .. } => {
                    read.push(span.clone());
                    continue;
                }
                Token::Text { .. } => continue,
            };
            read.push(tag.span.clone());
            n += 1;
            if !c.within(n, MAX_CANDIDATES) {
                break;
            }
            let mut span = tag.span.clone();
            let mut text = None;
            if tag.name == "a" || tag.name == "area" {
                let (t, end) = anchor_text(&reading.tokens, i);
                text = Some(t);
                span.end = end.max(span.end);
                anchors.push(span.clone());
            }
            tag_links(tag, text.as_ref(), &span, c);
            if tag.attributes.iter().all(|a| well_formed_name(&a.name)) {
                c.claim(tag.span.clone());
            }
        }
        for span in anchors {
            c.claim(span);
        }
    }
    read.sort_by_key(|r| (r.start, r.end));
    (read, readings)
}

/// The tokens of `view` read as HTML: the whole text, then each of its raw HTML `passages`
/// on its own.
fn tag_readings(view: &str, passages: &[Range<usize>]) -> Vec<Tokens> {
    let whole = tokenize(view, 0);
    let mut readings = Vec::new();
    for p in passages {
        // A passage the whole reading already read as one token (an inline tag, the usual
        // case) reads the same on its own.
        let i = whole.tokens.partition_point(|t| t.span().start < p.start);
        if whole.tokens.get(i).is_some_and(|t| *t.span() == *p) {
            continue;
        }
        if let Some(s) = view.get(p.clone()) {
            readings.push(tokenize(s, p.start));
        }
    }
    readings.insert(0, whole);
    readings
}

/// The tags of `view` as a browser reads them, in the whole text and in each raw HTML passage
/// a CommonMark parser finds in it; for the markup reader.
pub(super) fn html_readings(view: &str) -> Vec<Tokens> {
    if !view.contains('<') {
        return Vec::new();
    }
    let passages: Vec<Range<usize>> = Parser::new_ext(view, Options::ENABLE_TABLES)
        .into_offset_iter()
        .filter(|(e, _)| matches!(e, Event::Html(_) | Event::InlineHtml(_)))
        .map(|(_, r)| r)
        .collect();
    tag_readings(view, &passages)
}

/// The links in one tag's attributes.
fn tag_links(tag: &Tag, text: Option<&String>, span: &Range<usize>, c: &mut Collector) {
    for (n, a) in tag.attributes.iter().enumerate() {
        if !c.within(n, MAX_ATTRIBUTES) {
            break;
        }
        let value = a.value.as_str();
        if a.name == "srcdoc" && tag.name == "iframe" {
            // An inline frame's document is HTML the frame renders: its tags load and link as
            // the page's own do (one level: a frame in it is read for its attributes only).
            let inner = tokenize(value, 0);
            for (n, token) in inner.tokens.iter().enumerate() {
                if !c.within(n, MAX_ATTRIBUTES) {
                    break;
                }
                if let Token::Start(t) = token
                    && t.name != "iframe"
                {
                    tag_links(t, None, span, c);
                }
            }
            continue;
        }
        if a.name == "content" && value.to_ascii_lowercase().contains("url=") {
            // <meta http-equiv="refresh" content="0; url=…">
            if let Some((_, u)) = value.split_once('=') {
                c.push(
                    u.trim_matches(['\'', '"', ' ']),
                    LinkCarrier::HtmlLink,
                    None,
                    span.clone(),
                );
            }
            continue;
        }
        if a.name == "style" {
            css(value, c, Some(span));
        }
        let Some(carrier) = attribute_carrier(&tag.name, &a.name) else {
            // Not a link attribute, but a reader sees its text (`alt`, `title`, a tooltip)
            // and a client may make a URL in it clickable: URLs in it count.
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
        if a.name.ends_with("srcset") {
            for candidate in value.split(',') {
                let url = candidate.split_whitespace().next().unwrap_or_default();
                c.push(url, carrier, None, span.clone());
            }
        } else {
            let shown = (carrier == LinkCarrier::HtmlLink)
                .then(|| text.cloned())
                .flatten();
            c.push(value, carrier, shown, span.clone());
        }
    }
}

/// CSS `url()` and `@import` targets anywhere in `text`: the view, or the value of a `style`
/// attribute of the tag at `tag` (its references decoded).
fn css(text: &str, c: &mut Collector, tag: Option<&Range<usize>>) {
    let Some(re) = CSS_URL.as_ref() else { return };
    if !(text.contains("url(") || text.contains("URL(") || text.contains("@import")) {
        return;
    }
    for (n, caps) in re.captures_iter(text).enumerate() {
        if !c.within(n, MAX_CANDIDATES) {
            break;
        }
        let Some(all) = caps.get(0) else { continue };
        let url = (2..=5)
            .filter_map(|i| caps.get(i))
            .chain(caps.get(1))
            .next()
            .map_or("", |m| m.as_str());
        if let Some(tag) = tag {
            c.push(url, LinkCarrier::HtmlEmbed, None, tag.clone());
        } else {
            c.push(url, LinkCarrier::HtmlEmbed, None, all.range());
            c.claim(all.range());
        }
    }
}

/// Text of the `<a>` element whose start tag is `tokens[start]`, with inner tags read as
/// spaces, and where the element ends.
fn anchor_text(tokens: &[Token], start: usize) -> (String, usize) {
    let Some(open) = tokens.get(start) else {
        return (String::new(), 0);
    };
    let limit = open.span().end.saturating_add(MAX_ANCHOR_TEXT);
    let mut text = String::new();
    let mut end = open.span().end;
    for token in tokens.iter().skip(start + 1) {
        if token.span().start >= limit {
            break;
        }
        end = token.span().end.min(limit);
        match token {
            Token::End { name, .. } if name == "a" => break,
            Token::Text { text: t, .. } => text.push_str(t),
            _ => text.push(' '),
        }
    }
    (text, end)
}

/// A scheme-relative address (`//host/…`) right after a link attribute, a Markdown link's `](`
/// or a definition's `]:`, or at the start of a line. The parsers read the first two where
/// they are well formed; this reads them where they are not, and a client that resolves such
/// a line against its own origin.
static SLASHED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r#"(?im)(?:(?-u:\b)(src|href|action|formaction|poster|background|data|cite|srcset)\s*=\s*["']?"#,
        r#"|(\]\()[ \t]*\n?[ \t]*<?|\]:[ \t]*\n?[ \t]*<?|^[ \t>*+-]*)"#,
        r#"([/\\]{2}[^\s"'<>()\[\]`]+)"#,
    ))
});

fn slashed(view: &str, internal: &[Internal], c: &mut Collector) {
    let Some(re) = SLASHED.as_ref() else { return };
    if !["//", "\\\\", "/\\", "\\/"]
        .iter()
        .any(|p| view.contains(p))
    {
        return;
    }
    for (n, caps) in re.captures_iter(view).enumerate() {
        if !c.within(n, MAX_CANDIDATES) {
            break;
        }
        let Some(m) = caps.get(3) else { continue };
        let url = trim_url_end(m.as_str());
        let Some(host_and_path) = url.get(2..) else {
            continue;
        };
        if !plausible_host(host_and_path, internal) && !host_and_path.contains('.') {
            continue;
        }
        let carrier = if let Some(attr) = caps.get(1) {
            attribute_carrier("", &attr.as_str().to_ascii_lowercase())
                .unwrap_or(LinkCarrier::HtmlLink)
        } else if caps.get(2).is_some() {
            let before = view.get(..m.start()).unwrap_or_default();
            let line = before.rsplit('\n').next().unwrap_or(before);
            if line.contains("![") {
                LinkCarrier::MarkdownImage
            } else {
                LinkCarrier::MarkdownLink
            }
        } else {
            LinkCarrier::Url
        };
        let span = m.start()..m.start() + url.len();
        c.push(url, carrier, None, span.clone());
        c.claim(span);
    }
}

/// Markdown link syntax with an address after it (`](//…`, `](https:…`, a definition's
/// `]: x/y`), outside code.
static MD_SYNTAX: LazyLock<Option<Regex>> = LazyLock::new(|| {
    compile(concat!(
        r#"\]\(\s*(?:<|[^\s()]*[/.:@\\])"#,
        r#"|(?m:^)[ ]{0,3}\[[^\]\n]+\]:[ \t]*\n?[ \t]*(?:<|\S*[/.:@\\])"#,
    ))
});

/// Whether `at` lies in one of `spans` (sorted by start).
fn within_any(spans: &[Range<usize>], at: usize) -> bool {
    let i = spans.partition_point(|s| s.start <= at);
    spans.get(..i).is_some_and(|before| {
        before
            .iter()
            .rev()
            .take(64)
            .any(|s| s.start <= at && at < s.end)
    })
}

/// Link or tag syntax that neither reader took for a link or a tag: a `<` before a letter
/// outside every tag, comment and code; Markdown link syntax outside every link, definition
/// and code. Another renderer may draw it, so the text is not read in full.
fn misread(view: &str, md: &MarkdownRead, tags: &[Range<usize>]) -> Option<String> {
    let mut code = md.code.clone();
    code.sort_by_key(|r| r.start);
    let mut explained = md.links.clone();
    explained.extend(tags.iter().cloned());
    explained.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(explained.len());
    for r in explained {
        match merged.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let unexplained = |at: usize| !within_any(&code, at) && !within_any(&merged, at);
    if view.contains('<') {
        for (at, _) in view.match_indices('<') {
            let letter = view
                .get(at + 1..)
                .and_then(|s| s.chars().next())
                .is_some_and(|ch| ch.is_ascii_alphabetic());
            if letter && unexplained(at) {
                return Some(format!(
                    "`{}` reads like an HTML tag the screen's tokenizer did not read as one",
                    capped(view.get(at..).unwrap_or_default(), 40)
                ));
            }
        }
    }
    if (view.contains("](") || view.contains("]:"))
        && let Some(re) = MD_SYNTAX.as_ref()
    {
        for m in re.find_iter(view) {
            let at = m.start() + m.as_str().find(']').unwrap_or(0);
            if unexplained(at) {
                return Some(format!(
                    "`{}` reads like a Markdown link the screen's parser did not read as one",
                    capped(m.as_str().trim_start(), 40)
                ));
            }
        }
    }
    None
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
        // An address literal: the IP address in its brackets (`[IPv6:…]` as a URL writes it).
        if let Some(literal) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            let ip = literal
                .strip_prefix("IPv6:")
                .or_else(|| literal.strip_prefix("ipv6:"))
                .map_or_else(|| literal.to_string(), |v6| format!("[{v6}]"));
            return finish(&ip, None);
        }
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

/// The host a WHATWG URL parser (a browser's) reads in `raw` as written, for a special scheme:
/// a browser accepts `(`, `)`, `{` and `}` in a host, so `https://login(.)sso.evil.example/owa`
/// is a live address to it, though [`parse_target`] (which refangs nothing but reads hosts
/// strictly) finds none. Only a name under an alphabetic top-level domain counts.
pub(super) fn whatwg_host(raw: &str) -> Option<String> {
    let s = as_browsers_read(raw);
    let url = url::Url::parse(&s).ok()?;
    if !matches!(url.scheme(), "http" | "https" | "ftp" | "ws" | "wss") {
        return None;
    }
    let url::Host::Domain(host) = url.host()? else {
        return None;
    };
    let tld = host.rsplit('.').next().unwrap_or_default();
    let named = host.contains('.')
        && ((tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
            || tld.starts_with("xn--"));
    named.then(|| host.to_owned())
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
        seen: HashSet::new(),
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
pub(super) fn nested(target: &str, internal: &[Internal]) -> (Vec<String>, bool) {
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
        let written = re.captures_iter(&decoded).filter_map(|caps| {
            let m = caps.get(1).or_else(|| caps.get(0))?;
            let url = m.as_str().trim_end_matches(['.', ',', ')', ';']);
            // A `www.` host after a parameter is followed as a web address.
            Some(
                if url.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("www.")) {
                    format!("http://{url}")
                } else {
                    url.to_owned()
                },
            )
        });
        let candidates: Vec<String> = written
            .chain(followed_without_slashes(
                &decoded,
                web_address(&outer),
                internal,
            ))
            .collect();
        for url in candidates {
            if found.contains(&url) {
                continue;
            }
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

/// Top-level domains reserved for documentation and tests (RFC 2606): a host under one in a
/// redirector's path is a host, as one under a common top-level domain is.
const RESERVED_TLDS: &[&str] = &["example", "test", "invalid", "localhost"];

/// The addresses in a link's decoded path, query or fragment (`rest`) that a browser follows
/// though they have no `//`: a value with a special scheme and one slash or none
/// (`?to=http:host/p`, `?to=http:/host`, `?to=https:\\host`), a host after `=`
/// (`?to=host/p.png`), a host in the path (`/redirect/host/p.png`). Each is returned as an
/// address [`parse_target`] reads.
fn followed_without_slashes(rest: &str, web: bool, internal: &[Internal]) -> Vec<String> {
    let mut out = Vec::new();
    let (path, query) = match rest.find(['?', '#']) {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            rest.get(i..).unwrap_or_default(),
        ),
        None => (rest, ""),
    };
    let values = query
        .split(['&', ';', '?', '#'])
        .filter_map(|kv| kv.split_once('=').map(|(_, v)| v.trim()));
    for value in values {
        if out.len() >= MAX_NESTED {
            break;
        }
        if let Some((scheme, _)) = value.split_once(':')
            && special_scheme(scheme.trim())
        {
            out.push(value.to_owned());
        } else if !value.starts_with(['/', '\\', '.', '#', '?'])
            && !value.contains(':')
            && plausible_host(value, internal)
        {
            out.push(format!("http://{value}"));
        }
    }
    if !web {
        // A share's or a file's path names folders, not a redirector's destination.
        return out;
    }
    let segments: Vec<&str> = path.split(['/', '\\']).collect();
    for (i, segment) in segments.iter().enumerate().skip(1) {
        if out.len() >= MAX_NESTED {
            break;
        }
        if segment.contains('.') && path_host(segment, internal) {
            let tail = segments.get(i..).unwrap_or_default().join("/");
            out.push(format!("http://{tail}"));
        }
    }
    out
}

/// Whether an address is a web address, whose path a server may read as a redirect's
/// destination: `http(s):`, scheme-relative, or a scheme-less host; not a UNC path or a file.
fn web_address(address: &str) -> bool {
    let lower = address.trim_start().to_ascii_lowercase();
    if lower.starts_with("\\\\") {
        return false;
    }
    match lower.split_once(':') {
        Some((scheme, _)) if !scheme.contains(['/', '\\', '.']) => {
            matches!(scheme, "http" | "https")
        }
        _ => true,
    }
}

/// Whether a segment of a link's path names a host: a name under a common, reserved, internal
/// or internationalised top-level domain, not a file name, a version or an address.
fn path_host(segment: &str, internal: &[Internal]) -> bool {
    let Some(host) = domain::canonical_host(segment) else {
        return false;
    };
    if domain::is_ip_literal(&host) || !host.contains('.') {
        return false;
    }
    let tld = host.rsplit('.').next().unwrap_or_default();
    if FILE_EXTENSIONS.contains(&tld) {
        return false;
    }
    COMMON_TLDS.contains(&tld)
        || RESERVED_TLDS.contains(&tld)
        || tld.starts_with("xn--")
        || !tld.is_ascii()
        || internal
            .iter()
            .any(|d| d.domain().rsplit('.').next() == Some(tld))
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
            &SLASHED, &MD_SYNTAX, &CSS_URL, &BARE_URL, &UNC, &EMAIL, &DOMAIN,
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
    fn addresses_a_browser_follows_without_slashes_are_nested_links() {
        for (outer, want) in [
            (
                "https://w.northwind.example/r?to=http:e.example/p.png",
                "http:e.example/p.png",
            ),
            (
                "https://w.northwind.example/r?to=http:/e.example/p",
                "http:/e.example/p",
            ),
            (
                "https://w.northwind.example/r?to=http%3Ae.example%2Fp",
                "http:e.example/p",
            ),
            (
                "https://w.northwind.example/r?a=1&to=e.example/p.png",
                "http://e.example/p.png",
            ),
            (
                "https://w.northwind.example/redirect/e.com/p.png",
                "http://e.com/p.png",
            ),
        ] {
            let (found, _) = nested(outer, &nw());
            assert!(found.iter().any(|f| f == want), "{outer}: {found:?}");
        }
        for outer in [
            "https://w.northwind.example/users/john.doe/profile",
            "https://w.northwind.example/v/1.2.3.4/x?file=notes.md&q=report.final",
            "\\\\ws-017\\c$\\Users\\grace.kim\\Documents",
            "file:///home/grace.kim/notes",
        ] {
            let (found, _) = nested(outer, &nw());
            assert!(found.is_empty(), "{outer}: {found:?}");
        }
    }

    #[test]
    fn syntax_no_parser_read_is_reported() {
        let misread = |t: &str| extract(t, &nw(), &[]).misread;
        for t in [
            "Status a<b hidden until the end",
            "Status ![s](//e.example/p.png\n\nmore",
        ] {
            assert!(misread(t).is_some(), "{t}");
        }
        for t in [
            "3 < 5 and `a<b` and <b>bold</b> and <!-- x --> and List<String>",
            "[ok](https://wiki.northwind.example/x) and ![g](/a.png)",
            "[1]: https://wiki.northwind.example/kb/1",
            "```\n![x](//cdn/p.png) <img src=x\n```",
        ] {
            assert!(misread(t).is_none(), "{t}: {:?}", misread(t));
        }
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
