//! How commands print what a person or a program reads.
//!
//! Times a person reads are RFC 3339 with how long ago or how soon (`2026-12-05T21:58:43Z
//! (3 min ago)`), relative to a `now` the caller reads from its clock, so tests pin it. A listing
//! prints lines for people or, with `--json`, one JSON object per line for programs; an empty
//! one says so (on stderr for JSON lines, so a pipe reads nothing). A reader that closes the pipe
//! early (`| head`) ends the output, not the command.

use serde::Serialize;
use std::io::Write;

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
            serde_json::to_string(item)?
        } else {
            human(item)
        };
        text.push_str(&line);
        text.push('\n');
    }
    print(&text)
}

/// Writes `text` to stdout; a closed pipe ends the output quietly.
pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Makes a write to a closed stdout end the process as it ends `cat` (killed by SIGPIPE, exit
/// status 141) instead of a panic in `println!`. For commands that print and exit; not for those
/// that serve or run upstream servers, where a closed pipe to a child must stay an error.
#[cfg(unix)]
pub fn die_on_closed_stdout() {
    // SAFETY: called at the start of `main`, before any other thread exists, with a valid
    // disposition for a signal that exists on every unix.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
pub fn die_on_closed_stdout() {}

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
    fn a_time_out_of_range_still_reads() {
        assert_eq!(
            rfc3339(i64::MAX),
            format!("{} ms after the Unix epoch", i64::MAX)
        );
    }
}
