//! The values of a record printed as `key: value` lines: YAML, a WHOIS record, a command's text
//! output, a log's key-value dump.
//!
//! The same dilution as in JSON ([`super::json`]) hides a short value here: its window holds the
//! keys and values of the lines around it. So the screen also scores each value of at least
//! [`MIN_VALUE_WORDS`] words on its own. A line is `key: value` when, after its indentation and
//! an optional list dash, it starts with a key of at most [`MAX_KEY_WORDS`] words and
//! [`MAX_KEY_BYTES`] bytes that begins with a letter or `_` and holds no punctuation but `_ . - /`,
//! followed by a colon and a space; a text is read this way only when it has two such lines or
//! more (one `Note: …` in prose is not a record). A YAML block scalar (`key: |` or `key: >`)
//! is the lines indented deeper than its key. Values are pieces of the text, so reading them
//! alone reads each byte at most once more; at most [`MAX_VALUES`] are read alone.

use std::ops::Range;

use super::json::{MAX_VALUES, MIN_VALUE_WORDS};

/// Longest key, in words and bytes ("Registrant Organization" is two words).
const MAX_KEY_WORDS: usize = 4;
const MAX_KEY_BYTES: usize = 40;

/// The ranges of `text` that hold a value of [`MIN_VALUE_WORDS`] words or more of its
/// `key: value` lines, in order; none when `text` has fewer than two such lines.
pub(crate) fn values(text: &str) -> Vec<Range<usize>> {
    let mut lines = Vec::new();
    let mut at = 0usize;
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\n', '\r']);
        lines.push((at, content));
        at += line.len();
    }
    let mut records = 0usize;
    let mut out = Vec::new();
    let mut i = 0usize;
    while let Some((start, line)) = lines.get(i).copied() {
        i += 1;
        let Some((indent, value)) = key_value(line) else {
            continue;
        };
        records += 1;
        let trimmed = value.trim();
        let range = if is_block_marker(trimmed) {
            // The block's lines: blank, or indented deeper than the key.
            let mut end = None;
            while let Some((s, l)) = lines.get(i).copied() {
                let deeper = l.len() - l.trim_start().len() > indent;
                if !(l.trim().is_empty() || deeper) {
                    break;
                }
                if !l.trim().is_empty() {
                    let lead = l.len() - l.trim_start().len();
                    let first = end.map_or(s + lead, |r: Range<usize>| r.start);
                    end = Some(first..s + l.trim_end().len());
                }
                i += 1;
            }
            match end {
                Some(r) => r,
                None => continue,
            }
        } else {
            // `value` ends the line.
            let offset = start + line.len() - value.len();
            let lead = value.len() - value.trim_start().len();
            offset + lead..offset + lead + trimmed.len()
        };
        let words = text
            .get(range.clone())
            .map_or(0, |t| t.split_whitespace().take(MIN_VALUE_WORDS).count());
        if words >= MIN_VALUE_WORDS && out.len() < MAX_VALUES {
            out.push(range);
        }
    }
    if records < 2 { Vec::new() } else { out }
}

/// `|`, `>`, with YAML's chomping and indentation indicators.
fn is_block_marker(value: &str) -> bool {
    let mut chars = value.chars();
    matches!(chars.next(), Some('|' | '>'))
        && chars.all(|c| matches!(c, '-' | '+') || c.is_ascii_digit())
}

/// The indentation of a `key: value` line and the text after its colon.
fn key_value(line: &str) -> Option<(usize, &str)> {
    let body = line.trim_start();
    let indent = line.len() - body.len();
    let body = body.strip_prefix("- ").map_or(body, str::trim_start);
    let colon = body.find(':')?;
    let key = body.get(..colon)?;
    let rest = body.get(colon + 1..)?;
    let key_ok = key.len() <= MAX_KEY_BYTES
        && !key.ends_with(' ')
        && key.starts_with(|c: char| c.is_alphabetic() || c == '_')
        && key
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '.' | '-' | '/'))
        && key.split(' ').count() <= MAX_KEY_WORDS;
    let value_ok = rest.is_empty() || rest.starts_with([' ', '\t']);
    (key_ok && value_ok).then_some((indent, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<&str> {
        values(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn values_of_a_few_words_are_read_from_key_value_lines() {
        let text = "id: INC-4410\ntitle: VPN drops every ten minutes\nstatus: open\n\
                    comments:\n  - author: t.berg\n    text: Reset the client profile; retry.\n";
        assert_eq!(
            read(text),
            [
                "VPN drops every ten minutes",
                "Reset the client profile; retry."
            ]
        );
    }

    #[test]
    fn whois_keys_of_several_words_and_block_scalars_are_read() {
        let text = "Domain Name: example.com\nRegistrant Organization: Example Holdings \
                    Limited Partnership\nnotes: |\n  first line of the note\n\n  second line\n\
                    next: value\n";
        assert_eq!(
            read(text),
            [
                "Example Holdings Limited Partnership",
                "first line of the note\n\n  second line"
            ]
        );
    }

    #[test]
    fn prose_is_not_a_record() {
        assert!(read("Note: the meeting moved to Thursday at ten.").is_empty());
        assert!(
            read(
                "Hi all,\nplease note: the meeting moved to Thursday.\nThanks, and see you there."
            )
            .is_empty()
        );
        // Times and addresses are not keys.
        assert!(read("at 10:30 the job ran\nhttps://example.com/a b c d\n").is_empty());
    }
}
