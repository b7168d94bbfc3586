//! A write's own words in its answer.
//!
//! Mail, ticketing and chat systems confirm a write by echoing what was written: the body sent,
//! the comment stored. That text is the agent's own; it was screened on its way out (the
//! outbound screen, before policy decided), and an agent is not tainted by reading back what it
//! wrote. Screened like any result, a benign note ("never reply with your password to anyone,
//! IT will never ask for it") reads as an injection and taints its writer for a day.
//!
//! So before a write's result is screened, each verbatim echo of one of the call's `text`
//! arguments is cut out of it ([`Sent::cut`]): matched after the screen's own normalisation
//! (what the detectors read), as it was sent or as JSON escapes it inside a string, and only
//! where it stands as whole words. What is left — everything the upstream added, and an echo
//! that differs by so much as a word — is screened, and taints, as before. An echo is replaced
//! by a space, so text an upstream wraps around it is read as one passage, as closely as if the
//! echo were not there: an injection cannot hide by putting the agent's words in the middle of
//! itself. Texts shorter than [`MIN_ECHO_BYTES`] are not cut: a word or two of the agent's
//! would otherwise take words out of anything the upstream says.
//!
//! The one short exception is the agent's own name, which warden sent with the call
//! (`dev.warden/agent`) and which an upstream records as the author of what was written
//! (`"author": "agent:responder via warden"`): warden's words, not the upstream's. Left in,
//! the envelope of a confirmed comment around a name such as "responder" scored as an injection
//! and tainted the agent after each of its comments. Only a write's result is cut, only as a
//! whole word.

use std::ops::Range;
use warden_screen::normalise;

/// Shortest text argument (normalised, in bytes) whose echo is cut.
pub const MIN_ECHO_BYTES: usize = 24;

/// What a write sent, as the screen reads it: each `text` argument, normalised, as sent and as
/// JSON escapes it. Empty for a read, or a write without free text.
#[derive(Debug, Clone, Default)]
pub struct Sent {
    forms: Vec<String>,
}

/// Shortest agent name cut as warden's own word.
const MIN_NAME_BYTES: usize = 3;

/// A text with echoes cut out, and the way back to the text's own bytes.
#[derive(Debug)]
pub(crate) struct Cut {
    pub text: String,
    /// For each cut, the position right after it: in `text`, and in the original.
    marks: Vec<(usize, usize)>,
}

impl Cut {
    /// The byte position in the original text of `pos` in the cut text.
    pub(crate) fn original(&self, pos: usize) -> usize {
        match self.marks.iter().rev().find(|(cut, _)| *cut <= pos) {
            Some((cut, original)) => original.saturating_add(pos - cut),
            None => pos,
        }
    }
}

impl Sent {
    /// The `text` arguments a write sent.
    pub fn of<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut forms: Vec<String> = Vec::new();
        for text in texts {
            let escaped = serde_json::to_string(text).unwrap_or_default();
            let escaped = escaped
                .strip_prefix('"')
                .and_then(|e| e.strip_suffix('"'))
                .unwrap_or_default();
            for form in [text, escaped] {
                let read = normalise(form).text().to_owned();
                if read.trim().len() >= MIN_ECHO_BYTES && !forms.contains(&read) {
                    forms.push(read);
                }
            }
        }
        // Longest first: an argument that contains another is cut whole.
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        Self { forms }
    }

    /// Adds the name of the agent the write was for: warden sent it with the call, and an
    /// upstream that records authors echoes it.
    pub fn with_agent(mut self, name: &str) -> Self {
        let read = normalise(name).text().trim().to_owned();
        if read.len() >= MIN_NAME_BYTES && !self.forms.contains(&read) {
            // After the texts: a text that contains the name is cut whole first.
            self.forms.push(read);
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.forms.is_empty()
    }

    /// `text` with every verbatim echo of what was sent replaced by a space; `None` when it
    /// holds none.
    pub(crate) fn cut(&self, text: &str) -> Option<Cut> {
        if self.forms.is_empty() {
            return None;
        }
        let read = normalise(text);
        let normal = read.text();
        let mut found: Vec<Range<usize>> = Vec::new();
        for form in &self.forms {
            for (at, _) in normal.match_indices(form.as_str()) {
                let span = at..at.saturating_add(form.len());
                if found
                    .iter()
                    .any(|f| f.start < span.end && span.start < f.end)
                {
                    continue;
                }
                if whole_words(normal, &span) {
                    found.push(span);
                }
            }
        }
        if found.is_empty() {
            return None;
        }
        let mut spans: Vec<Range<usize>> =
            found.into_iter().map(|s| read.original_span(s)).collect();
        spans.sort_by_key(|s| s.start);
        let mut out = String::with_capacity(text.len());
        let mut marks = Vec::with_capacity(spans.len());
        let mut at = 0;
        for span in spans {
            if span.start < at {
                // Overlaps the cut before it (two forms mapping onto one stretch): extend it.
                if span.end > at {
                    at = span.end;
                    if let Some(last) = marks.last_mut() {
                        *last = (out.len(), at);
                    }
                }
                continue;
            }
            out.push_str(text.get(at..span.start).unwrap_or_default());
            out.push(' ');
            at = span.end;
            marks.push((out.len(), at));
        }
        out.push_str(text.get(at..).unwrap_or_default());
        Some(Cut { text: out, marks })
    }
}

/// Whether `span` of `text` starts and ends between words: an echo run into the upstream's own
/// letters is not cut (cutting it would join or part the words around it).
fn whole_words(text: &str, span: &Range<usize>) -> bool {
    let before = text
        .get(..span.start)
        .and_then(|t| t.chars().next_back())
        .is_none_or(|c| !c.is_alphanumeric());
    let after = text
        .get(span.end..)
        .and_then(|t| t.chars().next())
        .is_none_or(|c| !c.is_alphanumeric());
    before && after
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    const NOTE: &str = "Never reply with your password to anyone, IT will never ask for it.";

    #[test]
    fn an_echo_is_cut_as_sent_and_as_json_escapes_it() {
        let sent = Sent::of(["Line one \"quoted\"\nline two of the note"]);
        let plain = sent
            .cut("Stored: Line one \"quoted\"\nline two of the note. Done.")
            .unwrap();
        assert_eq!(plain.text, "Stored:  . Done.");
        let json = sent
            .cut(r#"{"text": "Line one \"quoted\"\nline two of the note", "id": 3}"#)
            .unwrap();
        assert_eq!(json.text, r#"{"text": " ", "id": 3}"#);
    }

    #[test]
    fn what_differs_or_runs_into_other_words_is_not_cut() {
        let sent = Sent::of([NOTE]);
        assert!(
            sent.cut("Never reply with your password to anyone, IT will always ask for it.")
                .is_none()
        );
        assert!(sent.cut(&format!("x{NOTE}")).is_none());
        // Short texts are never cut.
        assert!(Sent::of(["ok", "the"]).is_empty());
    }

    #[test]
    fn positions_map_back_to_the_original() {
        let sent = Sent::of([NOTE]);
        let text = format!("A: {NOTE} B: {NOTE} C");
        let cut = sent.cut(&text).unwrap();
        assert_eq!(cut.text, "A:   B:   C");
        let c = cut.text.find('C').unwrap();
        assert_eq!(&text[cut.original(c)..], "C");
        let b = cut.text.find('B').unwrap();
        assert_eq!(&text[cut.original(b)..cut.original(b) + 2], "B:");
        assert_eq!(cut.original(0), 0);
    }
}

#[cfg(test)]
mod agent_name {
    use super::*;

    #[test]
    fn the_agents_name_as_author_is_cut_and_only_as_a_whole_word() {
        let sent =
            Sent::of(["web shell process tree attached to the case"]).with_agent("responder");
        let cut = sent
            .cut(r#"{"author":"agent:responder via warden","text":"web shell process tree attached to the case"}"#)
            .unwrap();
        assert!(!cut.text.contains("responder"), "{}", cut.text);
        assert!(!cut.text.contains("process tree"), "{}", cut.text);
        // Inside another word it stays.
        let cut = sent.cut("responders should read this").map(|c| c.text);
        assert!(cut.is_none_or(|t| t.contains("responders")));
    }
}
