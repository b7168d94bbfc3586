//! Hosts: registered domains, internal membership, lookalikes and homographs.
//!
//! A lookalike is judged on a *visual fold* of both hosts: the UTS 39 confusable skeleton
//! (Cyrillic `о` → `o`, `ⅼ` → `l`, …), lower-cased, accents dropped, then the swaps a reader
//! does not notice (`0→o`, `1/i/|→l`, `3→e`, `5→s`, `rn→m`, `vv→w`). On folded text a lookalike is
//! any of: the same name, the internal domain embedded in another registered domain
//! (`northwind.example.evil.com`), the internal name inside another label (`northwind-sso.com`,
//! `secure-northwind.net`), or a label one edit (two for long names) from it (`northwnd`,
//! `nrothwind`). Hosts under the internal registered domain are never lookalikes.
//!
//! The registered domain is the last two labels, or three under a short list of multi-label
//! public suffixes and shared hosting providers (`co.uk`, `github.io`, `azurewebsites.net`, …).
//! The full public suffix list is not needed: the value only groups hosts and compares a link's
//! text with its target, and a miss there errs towards reporting a mismatch.

use unicode_normalization::UnicodeNormalization as _;
use unicode_security::MixedScript as _;

/// Multi-label public suffixes and shared hosting domains under which every customer is a
/// separate party.
const MULTI_LABEL_SUFFIXES: &[&str] = &[
    "co.uk",
    "org.uk",
    "ac.uk",
    "gov.uk",
    "me.uk",
    "ltd.uk",
    "plc.uk",
    "net.uk",
    "com.au",
    "net.au",
    "org.au",
    "edu.au",
    "gov.au",
    "co.nz",
    "org.nz",
    "co.jp",
    "ne.jp",
    "or.jp",
    "ac.jp",
    "co.kr",
    "or.kr",
    "com.br",
    "net.br",
    "org.br",
    "com.cn",
    "net.cn",
    "org.cn",
    "gov.cn",
    "com.hk",
    "com.tw",
    "com.sg",
    "com.my",
    "co.in",
    "net.in",
    "org.in",
    "co.za",
    "org.za",
    "com.mx",
    "com.ar",
    "com.tr",
    "com.ua",
    "com.pl",
    "co.il",
    "com.vn",
    "co.id",
    "com.ph",
    "com.pk",
    "com.sa",
    "com.eg",
    "com.ng",
    "co.th",
    "com.co",
    "com.pe",
    "eu.org",
    // Shared hosting: each subdomain is a different owner.
    "github.io",
    "githubusercontent.com",
    "gitlab.io",
    "pages.dev",
    "workers.dev",
    "netlify.app",
    "vercel.app",
    "herokuapp.com",
    "azurewebsites.net",
    "cloudapp.net",
    "cloudapp.azure.com",
    "blob.core.windows.net",
    "web.core.windows.net",
    "azureedge.net",
    "azurefd.net",
    "cloudfront.net",
    "s3.amazonaws.com",
    "amazonaws.com",
    "appspot.com",
    "firebaseapp.com",
    "web.app",
    "blogspot.com",
    "wordpress.com",
    "ngrok.io",
    "ngrok.app",
    "ngrok-free.app",
    "trycloudflare.com",
    "r2.dev",
    "onrender.com",
    "fly.dev",
    "glitch.me",
    "replit.app",
    "repl.co",
    "duckdns.org",
    "no-ip.org",
    "ddns.net",
    "myshopify.com",
    "wixsite.com",
    "weebly.com",
    "sharepoint.com",
    "notion.site",
    "webflow.io",
    "surge.sh",
    "pythonanywhere.com",
    "000webhostapp.com",
    "firebaseio.com",
    "translate.goog",
];

/// An internal domain, resolved once.
#[derive(Debug, Clone)]
pub(super) struct Internal {
    /// Lower-case Unicode form, e.g. `northwind.example`.
    domain: String,
    registered: String,
    /// Folded registered domain, e.g. `northwlnd.exarnple` folds to `northwlnd.example`.
    fold_registered: String,
    /// Folded first label of the registered domain: the organisation's name in hosts.
    brand: String,
    /// The same label as configured, for details.
    brand_shown: String,
}

impl Internal {
    pub(super) fn new(raw: &str) -> Option<Self> {
        let domain = canonical_host(raw.trim().trim_matches('.'))?;
        let registered = registered_domain(&domain);
        let fold_registered = fold(&registered);
        let brand = fold_registered
            .split('.')
            .next()
            .unwrap_or_default()
            .to_owned();
        let brand_shown = registered.split('.').next().unwrap_or_default().to_owned();
        Some(Self {
            domain,
            registered,
            fold_registered,
            brand,
            brand_shown,
        })
    }

    pub(super) fn domain(&self) -> &str {
        &self.domain
    }

    /// `host` is this domain or under it.
    pub(super) fn contains(&self, host: &str) -> bool {
        host == self.domain
            || host
                .strip_suffix(self.domain.as_str())
                .is_some_and(|p| p.ends_with('.'))
    }

    /// Some text (a userinfo, a link's visible text) names this organisation.
    pub(super) fn named_in(&self, text: &str) -> bool {
        let f = fold(text);
        f.contains(&self.fold_registered)
            || (self.brand.chars().count() >= 4 && f.contains(&self.brand))
    }
}

/// Whether `host` is inside the organisation: one of its domains or under one, or an address
/// no one outside it can serve. Loopback (`127.0.0.0/8`, `::1`, `localhost`), link-local
/// (`169.254.0.0/16`, where cloud metadata services answer, and `fe80::/10`), the private ranges
/// (`10/8`, `172.16/12`, `192.168/16`, `fc00::/7`) and "this host" (`0.0.0.0/8`) reach only
/// machines beside the reader, so a link to one sends nothing outside. An address is read as a
/// browser reads it (`0x7f.1`, `3232235777`, `[::ffff:10.0.0.1]`).
pub(super) fn inside(internal: &[Internal], host: &str) -> bool {
    internal.iter().any(|d| d.contains(host)) || unroutable(host)
}

/// Whether `host` names an address that is not routed on the Internet (see [`inside`]).
fn unroutable(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    // Only hosts written as addresses: a name is never read as one.
    let address = host.starts_with('[')
        || host
            .chars()
            .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | 'x' | 'X'));
    if !address {
        return false;
    }
    match url::Host::parse(host) {
        Ok(url::Host::Ipv4(ip)) => private_v4(ip),
        Ok(url::Host::Ipv6(ip)) => {
            let first = ip.segments().first().copied().unwrap_or_default();
            ip.is_loopback()
                || ip.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(private_v4)
        }
        _ => false,
    }
}

fn private_v4(ip: std::net::Ipv4Addr) -> bool {
    ip.is_loopback() || ip.is_link_local() || ip.is_private() || ip.octets().first() == Some(&0)
}

/// Lower-case, IDNA-decoded form of a host or domain; `None` when it is not a host name.
pub(super) fn canonical_host(raw: &str) -> Option<String> {
    let lower: String = raw
        .chars()
        .map(|c| match c {
            '\u{3002}' | '\u{FF0E}' | '\u{FF61}' => '.',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect();
    let lower = lower.trim_end_matches('.');
    if lower.is_empty() || lower.len() > 253 || lower.split('.').any(str::is_empty) {
        return None;
    }
    if !lower
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.') || is_mark(c))
    {
        return None;
    }
    if lower.is_ascii() && !lower.split('.').any(|l| l.starts_with("xn--")) {
        return Some(lower.to_owned());
    }
    let (unicode, result) = idna::domain_to_unicode(lower);
    Some(if result.is_ok() {
        unicode
    } else {
        lower.to_owned()
    })
}

fn is_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{20D0}'..='\u{20FF}' | '\u{FE20}'..='\u{FE2F}')
}

/// A host for a finding's detail: no characters that could break a log line or a prompt, and
/// not too long.
pub(super) fn display(host: &str) -> String {
    let mut out: String = host
        .chars()
        .take(100)
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']') {
                c
            } else {
                '?'
            }
        })
        .collect();
    if host.chars().count() > 100 {
        out.push('…');
    }
    out
}

pub(super) fn is_ip_literal(host: &str) -> bool {
    host.starts_with('[')
        || (host.contains('.') && host.chars().all(|c| c.is_ascii_digit() || c == '.'))
        || (host.starts_with("0x") && host.chars().skip(2).all(|c| c.is_ascii_hexdigit()))
}

/// Registered domain of a host (see the module header).
pub(super) fn registered_domain(host: &str) -> String {
    if is_ip_literal(host) {
        return host.to_owned();
    }
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    for k in (2..=3).rev() {
        if n > k
            && let Some(suffix) = labels.get(n - k..)
            && MULTI_LABEL_SUFFIXES.contains(&suffix.join(".").as_str())
        {
            return labels
                .get(n - k - 1..)
                .map_or_else(|| host.to_owned(), |l| l.join("."));
        }
    }
    labels
        .get(n.saturating_sub(2)..)
        .map_or_else(|| host.to_owned(), |l| l.join("."))
}

/// Visual fold: what a quick reader sees (see the module header). Keeps `.` and `-`.
pub(super) fn fold(s: &str) -> String {
    let lower: String = s.chars().take(512).flat_map(char::to_lowercase).collect();
    let mut out = String::with_capacity(lower.len());
    for c in unicode_security::skeleton(&lower).flat_map(char::to_lowercase) {
        if is_mark(c) {
            continue;
        }
        out.push(match c {
            '0' => 'o',
            '1' | 'i' | '|' | '!' | 'ı' | 'ɩ' => 'l',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            '8' => 'b',
            '_' => '-',
            c => c,
        });
    }
    out.replace("rn", "m").replace("vv", "w")
}

/// Why a host imitates an internal domain.
pub(super) struct Lookalike {
    pub(super) internal: String,
    pub(super) reason: String,
}

/// Optimal-string-alignment distance (an adjacent swap is one edit), or `None` when it is over
/// `max`. Inputs are host labels, at most 63 characters.
fn edits_within(a: &str, b: &str, max: usize) -> Option<usize> {
    let a: Vec<char> = a.chars().take(64).collect();
    let b: Vec<char> = b.chars().take(64).collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    let at = |i: usize, j: usize| i * w + j;
    for i in 0..=a.len() {
        if let Some(x) = d.get_mut(at(i, 0)) {
            *x = i;
        }
    }
    for j in 0..=b.len() {
        if let Some(x) = d.get_mut(at(0, j)) {
            *x = j;
        }
    }
    for (i, ca) in a.iter().enumerate() {
        for (j, cb) in b.iter().enumerate() {
            let (i1, j1) = (i + 1, j + 1);
            let get = |i: usize, j: usize| d.get(at(i, j)).copied().unwrap_or(usize::MAX / 2);
            let cost = usize::from(ca != cb);
            let mut v = (get(i, j1) + 1).min(get(i1, j) + 1).min(get(i, j) + cost);
            if i > 0 && j > 0 && a.get(i - 1) == Some(cb) && b.get(j - 1) == Some(ca) {
                v = v.min(get(i - 1, j - 1) + 1);
            }
            if let Some(x) = d.get_mut(at(i1, j1)) {
                *x = v;
            }
        }
    }
    d.get(at(a.len(), b.len())).copied().filter(|&v| v <= max)
}

/// Edits allowed between a label and an internal name of `len` characters: none for very short
/// names (too many innocent neighbours), one up to nine characters, two beyond.
fn allowed_edits(len: usize) -> usize {
    match len {
        0..=4 => 0,
        5..=9 => 1,
        _ => 2,
    }
}

/// Whether `host` (not internal; `registered` its registered domain) imitates an internal
/// domain.
pub(super) fn lookalike(host: &str, registered: &str, internal: &[Internal]) -> Option<Lookalike> {
    if is_ip_literal(host) {
        return None;
    }
    let host_fold = fold(host);
    let reg_fold = fold(registered);
    let labels: Vec<&str> = host_fold.split('.').collect();
    // Labels left of the top-level domain: where a name can be imitated.
    let name_labels = labels
        .get(..labels.len().saturating_sub(1))
        .unwrap_or_default();
    for d in internal {
        if registered == d.registered {
            continue;
        }
        let found = |reason: String| Lookalike {
            internal: d.domain.clone(),
            reason,
        };
        if reg_fold == d.fold_registered {
            return Some(found("spelt with look-alike characters".to_owned()));
        }
        let embedded = format!("{}.", d.fold_registered);
        if host_fold.starts_with(&embedded) || host_fold.contains(&format!(".{embedded}")) {
            return Some(found(
                "embeds the internal domain in another domain".to_owned(),
            ));
        }
        let brand = d.brand.as_str();
        let shown = d.brand_shown.as_str();
        let brand_len = brand.chars().count();
        if brand.is_empty() {
            continue;
        }
        for label in name_labels {
            let parts = || label.split('-').filter(|p| !p.is_empty());
            let joined: String = label.chars().filter(|&c| c != '-').collect();
            if parts().any(|p| p == brand) || (brand_len >= 4 && joined.contains(brand)) {
                return Some(found(format!("uses the internal name `{shown}`")));
            }
            let k = allowed_edits(brand_len);
            if k > 0
                && (edits_within(&joined, brand, k).is_some()
                    || parts().any(|p| edits_within(p, brand, k).is_some()))
            {
                return Some(found(format!("a misspelling of `{shown}`")));
            }
        }
        // The whole registered domain mistyped, top-level domain included (`northwind.exmaple`).
        let flat = |s: &str| -> String { s.chars().filter(|c| !matches!(c, '.' | '-')).collect() };
        let internal_flat = flat(&d.fold_registered);
        if let Some(n) = edits_within(
            &flat(&reg_fold),
            &internal_flat,
            allowed_edits(internal_flat.chars().count()),
        ) && n > 0
        {
            return Some(found("a misspelling of the internal domain".to_owned()));
        }
    }
    None
}

/// Why `host` (already IDNA-decoded) is a homograph risk, if it is.
pub(super) fn homograph(host: &str, punycode_error: bool) -> Option<&'static str> {
    if punycode_error {
        return Some("has punycode that does not decode");
    }
    if host.is_ascii() {
        return None;
    }
    for label in host.split('.').filter(|l| !l.is_ascii()) {
        if !label.is_single_script() {
            return Some("mixes scripts in one label (IDN homograph)");
        }
        let unaccented: String = label.nfd().filter(|&c| !is_mark(c)).collect();
        if unaccented.is_ascii() {
            return Some("uses accented letters that pass for plain Latin (IDN homograph)");
        }
        if fold(label).is_ascii() {
            return Some("is spelt in another script to look like Latin letters (IDN homograph)");
        }
    }
    Some("is an internationalised (IDN) name")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nw() -> Vec<Internal> {
        Internal::new("northwind.example").into_iter().collect()
    }

    fn look(host: &str) -> bool {
        let h = canonical_host(host).unwrap();
        lookalike(&h, &registered_domain(&h), &nw()).is_some()
    }

    #[test]
    fn registered_domains() {
        assert_eq!(
            registered_domain("a.b.northwind.example"),
            "northwind.example"
        );
        assert_eq!(registered_domain("www.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(registered_domain("evil.github.io"), "evil.github.io");
        assert_eq!(registered_domain("10.0.0.1"), "10.0.0.1");
        assert_eq!(registered_domain("localhost"), "localhost");
    }

    #[test]
    fn lookalikes() {
        for h in [
            "northwind.example.evil.com",
            "sso.northwind.example.attacker.net",
            "northwind-example.com",
            "northwindexample.com",
            "northwind.com",
            "secure-northwind.net",
            "northwlnd.example",
            "n0rthwind.example",
            "northvvind.example",
            "northwnd.example",
            "nrothwind.example",
            "northwind.exmaple",
            "northwind.examp1e",
            "xn--nrthwind-xhg.example",
            "nоrthwind.example",
        ] {
            assert!(look(h), "{h}");
        }
    }

    #[test]
    fn not_lookalikes() {
        for h in [
            "github.com",
            "nist.gov",
            "northern.example",
            "windows.com",
            "mail.northwind.example",
        ] {
            assert!(!look(h), "{h}");
        }
    }

    #[test]
    fn homographs() {
        let h = canonical_host("xn--80ak6aa92e.com").unwrap();
        assert_eq!(h, "аррӏе.com");
        assert!(homograph(&h, false).unwrap().contains("another script"));
        assert!(
            homograph("nоrthwind.example", false)
                .unwrap()
                .contains("mixes")
        );
        assert!(homograph("northwind.example", false).is_none());
    }

    #[test]
    fn edit_distance() {
        assert_eq!(edits_within("northwind", "nrothwind", 1), Some(1));
        assert_eq!(edits_within("northwind", "northwnd", 1), Some(1));
        assert_eq!(edits_within("northwind", "northland", 1), None);
    }
}
