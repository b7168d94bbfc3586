//! Markup that cannot carry unescaped text.
//!
//! `Html::raw` accepts only `&'static str`, so markup can come only from literals in this crate;
//! anything computed at run time — arguments, rationale, tool output, ids, even the configured
//! names — goes through `text` or `untrusted`, which escape it. A forgotten escape is therefore a
//! type error rather than a review finding. `untrusted` also makes invisible and bidirectional
//! control characters visible, so text from an agent cannot look different from what it is.

use std::fmt::Write as _;

/// An HTML document under construction.
#[derive(Default)]
pub(crate) struct Html(String);

impl Html {
    pub(crate) fn new() -> Self {
        Self(String::with_capacity(8 * 1024))
    }

    /// Markup written in this crate's source.
    pub(crate) fn raw(&mut self, markup: &'static str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Text or an attribute value, escaped.
    pub(crate) fn text(&mut self, s: &str) -> &mut Self {
        escape_into(&mut self.0, s);
        self
    }

    /// Text from an agent or a tool: escaped, with hidden characters shown as `⟦U+XXXX⟧`.
    pub(crate) fn untrusted(&mut self, s: &str) -> &mut Self {
        for c in s.chars() {
            if warden_core::text::is_hidden(c) {
                let _ = write!(self.0, "⟦U+{:04X}⟧", u32::from(c));
            } else {
                let mut buf = [0u8; 4];
                escape_into(&mut self.0, c.encode_utf8(&mut buf));
            }
        }
        self
    }

    /// A number or other `Display` value that cannot contain markup, escaped anyway.
    pub(crate) fn display(&mut self, v: impl std::fmt::Display) -> &mut Self {
        self.text(&v.to_string())
    }

    /// Appends another fragment built the same way.
    pub(crate) fn append(&mut self, other: Html) -> &mut Self {
        self.0.push_str(&other.0);
        self
    }

    pub(crate) fn into_string(self) -> String {
        self.0
    }
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Percent-encodes one path segment, so an id cannot change which page a link points to.
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// `2026-06-01 12:34:56 UTC`, or the raw number when it is out of range.
pub(crate) fn timestamp(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

/// `in 14 min`, `2 h 5 min ago`: how far `ms` is from `now_ms`.
pub(crate) fn relative(ms: i64, now_ms: i64) -> String {
    let delta = ms.saturating_sub(now_ms);
    let mins = (delta.unsigned_abs() / 60_000).max(if delta == 0 { 0 } else { 1 });
    let span = if mins >= 48 * 60 {
        format!("{} d {} h", mins / (24 * 60), (mins / 60) % 24)
    } else if mins >= 60 {
        format!("{} h {} min", mins / 60, mins % 60)
    } else {
        format!("{mins} min")
    };
    if delta >= 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_takes_only_literals_and_text_escapes() {
        let mut h = Html::new();
        h.raw("<p title=\"")
            .text("\"><script>")
            .raw("\">")
            .text("a & b")
            .raw("</p>");
        assert_eq!(
            h.into_string(),
            "<p title=\"&quot;&gt;&lt;script&gt;\">a &amp; b</p>"
        );
    }

    #[test]
    fn untrusted_reveals_hidden_characters() {
        let mut h = Html::new();
        h.untrusted("ok\u{202E}gpj.exe\u{200B}<b>\n");
        assert_eq!(h.into_string(), "ok⟦U+202E⟧gpj.exe⟦U+200B⟧&lt;b&gt;\n");
        // Hangul filler and the combining grapheme joiner render as nothing too.
        let mut h = Html::new();
        h.untrusted("ap\u{3164}prove\u{034F}d\u{FE0F}");
        assert_eq!(h.into_string(), "ap⟦U+3164⟧prove⟦U+034F⟧d⟦U+FE0F⟧");
    }

    #[test]
    fn path_segments_cannot_escape_their_place() {
        assert_eq!(path_segment("req-1"), "req-1");
        assert_eq!(path_segment("../x?y#z\""), "..%2Fx%3Fy%23z%22");
    }

    #[test]
    fn times_read_well() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(relative(60_000 * 125, 0), "in 2 h 5 min");
        assert_eq!(relative(0, 30_000), "1 min ago");
        assert_eq!(relative(60_000 * 60 * 50, 0), "in 2 d 2 h");
    }
}
