//! How commands print what a person or a program reads.
//!
//! Times a person reads are RFC 3339 with how long ago or how soon (`2026-12-05T21:58:43Z
//! (3 min ago)`), relative to a `now` the caller reads from its clock, so tests pin it. A listing
//! prints lines for people or, with `--json`, one JSON object per line for programs; an empty
//! one says so (on stderr for JSON lines, so a pipe reads nothing). A reader that closes the pipe
//! early (`| head`) ends the output, not the command.
//!
//! Every command that prints run-time data writes its stdout through [`print`] (or [`say!`], its
//! `println!`; `println!` is left to commands that print only their own text, such as `init`,
//! `redteam` and `bench`), and [`print`] shows every character a terminal would act on or a reader could not see —
//! escapes, C1 controls, carriage returns, bidirectional overrides, zero-width characters — as a
//! visible `⟦U+XXXX⟧`. Agents, upstream servers and models write much of what these commands
//! print (arguments, rationales, tool descriptions, reasons), and text that moves the cursor
//! could rewrite the arguments an approver reads. Because the rule is applied where the bytes
//! leave, a field a command forgets to mark cannot reach the terminal raw. JSON for programs is
//! escaped the JSON way instead ([`json`]), so a program still reads the exact value; a value
//! that may span lines is indented under its field ([`block`]), and a listing keeps each item
//! on one line ([`one_line`]), so no line of it can pass for a field or an item of its own.

use serde::Serialize;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write;
use warden_core::text::is_hidden;

/// `println!` for command output: the line goes through [`print`]. Evaluates to its result.
macro_rules! say {
    () => {
        $crate::output::print("\n")
    };
    ($($arg:tt)*) => {
        $crate::output::print(&format!("{}\n", format_args!($($arg)*)))
    };
}
pub(crate) use say;

/// `--json` for a listing.
#[derive(clap::Args, Debug, Clone, Copy, Default)]
pub struct Format {
    /// One JSON object per line, for programs (times as Unix milliseconds)
    #[arg(long)]
    pub json: bool,
}

/// A Unix time in milliseconds as RFC 3339 (UTC, whole seconds).
pub fn rfc3339(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| format!("{ms} ms after the Unix epoch"))
}

/// How far `ms` is from `now_ms`: `3 min ago`, `in 12 min`, `now`.
pub fn relative(ms: i64, now_ms: i64) -> String {
    let delta = ms.saturating_sub(now_ms);
    let secs = delta.unsigned_abs() / 1000;
    let amount = match secs {
        0 => return "now".into(),
        1..60 => format!("{secs} s"),
        60..3_600 => format!("{} min", secs / 60),
        3_600..172_800 => format!("{} h", secs / 3_600),
        _ => format!("{} days", secs / 86_400),
    };
    if delta < 0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// A time for people: `2026-12-05T21:58:43Z (3 min ago)`.
pub fn when(ms: i64, now_ms: i64) -> String {
    format!("{} ({})", rfc3339(ms), relative(ms, now_ms))
}

/// Prints a listing: `human(item)` per item, or one JSON object per line with `--json`; `none`
/// when there are no items (on stdout for people, on stderr for programs).
pub fn listing<T: Serialize>(
    items: &[T],
    format: Format,
    none: &str,
    human: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    if items.is_empty() {
        if format.json {
            eprintln!("{none}");
            return Ok(());
        }
        return print(&format!("{none}\n"));
    }
    let mut text = String::new();
    for item in items {
        let line = if format.json {
            json(item)?
        } else {
            one_line(&human(item)).into_owned()
        };
        text.push_str(&line);
        text.push('\n');
    }
    print(&text)
}

/// Writes `text` to stdout, every hidden character shown as `⟦U+XXXX⟧` ([`visible`]); a closed
/// pipe ends the output quietly.
pub fn print(text: &str) -> anyhow::Result<()> {
    let text = visible(text);
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// `text` with every character [`is_hidden`] names (controls other than newline and tab, C1,
/// bidirectional and zero-width characters) shown as `⟦U+XXXX⟧`, so it reads on a terminal as
/// what it is and cannot move the cursor, change colours or reorder what is shown.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_hidden(c) {
            let _ = write!(out, "⟦U+{:04X}⟧", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One listing line: a newline inside it (from an agent's or an upstream's text) is shown as
/// `⟦U+000A⟧`, so one item cannot print a line that reads as another.
pub fn one_line(line: &str) -> Cow<'_, str> {
    if line.contains('\n') {
        Cow::Owned(line.replace('\n', "⟦U+000A⟧"))
    } else {
        Cow::Borrowed(line)
    }
}

/// A value that may hold newlines, for a `name  value` view: each line after the first is
/// indented by `indent` spaces, so a line of the value cannot stand in for another field.
pub fn block(value: &str, indent: usize) -> String {
    value.replace('\n', &format!("\n{:indent$}", ""))
}

/// `item` as one line of JSON in which every hidden character is a `\uXXXX` escape: the same
/// value for a program, and nothing a terminal acts on for a person who reads it.
pub fn json<T: Serialize + ?Sized>(item: &T) -> anyhow::Result<String> {
    Ok(json_escaped(&serde_json::to_string(item)?))
}

/// [`json`], pretty-printed.
pub fn json_pretty<T: Serialize + ?Sized>(item: &T) -> anyhow::Result<String> {
    Ok(json_escaped(&serde_json::to_string_pretty(item)?))
}

/// Serialised JSON with each hidden character escaped. serde_json escapes C0 controls itself and
/// writes every other character as it is; a hidden one can only stand inside a string, where
/// `\uXXXX` (a surrogate pair past the BMP) means the same character.
fn json_escaped(serialised: &str) -> String {
    let mut out = String::with_capacity(serialised.len());
    for c in serialised.chars() {
        if is_hidden(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_507_923_000; // 2026-12-05T21:58:43Z

    #[test]
    fn times_read_as_rfc3339_with_how_long_ago() {
        assert_eq!(rfc3339(NOW), "2026-12-05T21:58:43Z");
        assert_eq!(when(NOW - 180_000, NOW), "2026-12-05T21:55:43Z (3 min ago)");
        assert_eq!(when(NOW + 720_000, NOW), "2026-12-05T22:10:43Z (in 12 min)");
        assert_eq!(relative(NOW + 400, NOW), "now");
        assert_eq!(relative(NOW - 59_999, NOW), "59 s ago");
        assert_eq!(relative(NOW - 3 * 3_600_000, NOW), "3 h ago");
        assert_eq!(relative(NOW + 3 * 86_400_000, NOW), "in 3 days");
    }

    #[test]
    fn hidden_characters_are_shown_and_json_keeps_the_value() {
        let forged = "ok\u{1b}[10A\r\u{9b}2J\u{202e}gnp.exe\u{200b}\u{E0041}\ttab\nnext";
        assert_eq!(
            visible(forged),
            "ok⟦U+001B⟧[10A⟦U+000D⟧⟦U+009B⟧2J⟦U+202E⟧gnp.exe⟦U+200B⟧⟦U+E0041⟧\ttab\nnext"
        );
        assert!(matches!(visible("plain text\n"), Cow::Borrowed(_)));
        let line = json(&serde_json::json!({"reason": forged})).unwrap();
        assert!(!line.chars().any(is_hidden), "{line}");
        assert!(
            line.contains(r"\u009b2J\u202egnp.exe\u200b\udb40\udc41"),
            "{line}"
        );
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["reason"], forged);
        assert_eq!(block("one\ntwo", 3), "one\n   two");
        assert_eq!(one_line("a\nb"), "a⟦U+000A⟧b");
    }

    #[test]
    fn a_time_out_of_range_still_reads() {
        assert_eq!(
            rfc3339(i64::MAX),
            format!("{} ms after the Unix epoch", i64::MAX)
        );
    }
}
