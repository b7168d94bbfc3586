//! warden's log lines carry text that is not warden's: a JSON-RPC id an agent chose (rmcp logs
//! the id of every request that fails), an upstream's error message, a path. Written as it is, a
//! line break in such a value starts a line that reads as warden's own (`… INFO
//! warden_gateway::approval: request approved`), a terminal escape acts on the operator's
//! terminal, and a megabyte-long value writes a megabyte of log per request. So every event's
//! fields are formatted, then escaped and cut, before they are written.

use std::fmt::{self, Write as _};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use warden_core::text::is_hidden;

/// The most characters of one event's fields written; the rest is counted, not written.
pub const MAX_FIELD_CHARS: usize = 4096;

/// The default field format, escaped and cut.
#[derive(Default)]
pub struct SafeFields {
    inner: DefaultFields,
}

impl<'writer> FormatFields<'writer> for SafeFields {
    fn format_fields<R: RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut formatted = String::new();
        self.inner
            .format_fields(Writer::new(&mut formatted), fields)?;
        writer.write_str(&safe(&formatted))
    }
}

/// `text` with every control character (newline and tab included) and every character
/// [`is_hidden`] names (bidirectional, zero-width and other invisible ones) written as its
/// escape (`\n`, `\u{1b}`), cut to [`MAX_FIELD_CHARS`] with the number of characters left out.
pub fn safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_FIELD_CHARS));
    let mut chars = text.chars();
    for c in chars.by_ref().take(MAX_FIELD_CHARS) {
        if c.is_control() || is_hidden(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    let left = chars.count();
    if left > 0 {
        let _ = write!(out, "… ({left} characters more)");
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_value_cannot_start_a_line_or_reach_the_terminal() {
        let forged =
            "q\n2026-12-07T16:00:00.000000Z  INFO warden_gateway::approval: approved\u{1b}[1A";
        let written = safe(forged);
        assert!(
            !written.contains('\n') && !written.contains('\u{1b}'),
            "{written}"
        );
        assert!(
            written.contains("\\n2026") && written.contains("\\u{1b}[1A"),
            "{written}"
        );
        assert_eq!(safe("\u{202e}gpj.exe"), "\\u{202e}gpj.exe");
        assert_eq!(safe("plain text, ünïcode"), "plain text, ünïcode");
    }

    #[test]
    fn a_long_value_is_cut_and_counted() {
        let written = safe(&"a".repeat(MAX_FIELD_CHARS + 10));
        assert!(written.starts_with(&"a".repeat(MAX_FIELD_CHARS)));
        assert!(written.ends_with("… (10 characters more)"), "{written}");
        assert_eq!(safe(&"a".repeat(MAX_FIELD_CHARS)).len(), MAX_FIELD_CHARS);
    }
}
