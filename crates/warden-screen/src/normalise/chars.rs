//! Character-level pass: NFKC, invisible and bidi characters, tag and variation-selector
//! smuggling, mixed-script homoglyphs. One pass over the input; output is pushed with an
//! [`OffsetMap`] back to it.
//!
//! NFKC is applied per cluster (a starter and its combining marks) so that every output piece
//! maps to a small input range. That differs from whole-string NFKC only for compositions across
//! starters (conjoining Hangul jamo), which do not matter for screening.

use std::ops::Range;

use unicode_normalization::char::canonical_combining_class;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use super::offsets::OffsetMap;

/// Minimum run of variation selectors treated as smuggled bytes (one or two follow emoji).
const MIN_SELECTOR_RUN: usize = 3;

/// What the pass saw, for findings. Spans are in the input of this pass.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct CharSignals {
    /// Zero-width or other invisible characters inside words.
    pub(crate) invisible_in_words: Vec<Range<usize>>,
    /// Bidirectional embedding, override or isolate controls.
    pub(crate) bidi: Vec<Range<usize>>,
    /// Tag-character runs that decoded to text: (input span, output span).
    pub(crate) tags: Vec<(Range<usize>, Range<usize>)>,
    /// Variation-selector runs that decoded to text: (input span, output span).
    pub(crate) selectors: Vec<(Range<usize>, Range<usize>)>,
    /// Words folded from Cyrillic, Greek or Armenian look-alikes to Latin.
    pub(crate) homoglyph_words: Vec<Range<usize>>,
    /// Where, in the output, an invisible character between two letters or digits was removed:
    /// inside a word it split the word, between words (U+200B is a word separator) it stood
    /// for a space, and which of the two only a reader knows.
    pub(crate) joints: Vec<usize>,
}

pub(crate) struct CharPass {
    pub(crate) text: String,
    pub(crate) map: OffsetMap,
    pub(crate) signals: CharSignals,
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
    )
}

/// Embedding, override and isolate controls: the "Trojan Source" set. Marks (LRM, RLM, ALM)
/// are removed too but are normal in right-to-left text, so they are not reported.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_bidi_mark(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}')
}

fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

/// A character that changes nothing a reader sees but can split or disguise a word: invisible,
/// bidi control or mark, tag character or variation selector. Other screens (outbound text) drop
/// these before reading link targets.
pub(crate) fn is_concealing(c: char) -> bool {
    is_invisible(c)
        || is_bidi_control(c)
        || is_bidi_mark(c)
        || is_tag(c)
        || selector_byte(c).is_some()
}

fn selector_byte(c: char) -> Option<u8> {
    let v = u32::from(c);
    match v {
        0xFE00..=0xFE0F => u8::try_from(v - 0xFE00).ok(),
        0xE0100..=0xE01EF => u8::try_from(v - 0xE0100 + 16).ok(),
        _ => None,
    }
}

/// Latin look-alike of a Cyrillic, Greek or Armenian letter.
pub(crate) fn homoglyph(c: char) -> Option<char> {
    let l = match c {
        // Cyrillic
        'а' => 'a',
        'в' => 'b',
        'е' | 'ё' => 'e',
        'к' => 'k',
        'м' => 'm',
        'н' => 'h',
        'о' => 'o',
        'р' => 'p',
        'с' => 'c',
        'т' => 't',
        'у' => 'y',
        'х' => 'x',
        'і' => 'i',
        'ј' => 'j',
        'ѕ' => 's',
        'ԁ' => 'd',
        'ԛ' => 'q',
        'ԝ' => 'w',
        'һ' => 'h',
        'ӏ' => 'l',
        'ɡ' => 'g',
        'А' => 'A',
        'В' => 'B',
        'Е' => 'E',
        'К' => 'K',
        'М' => 'M',
        'Н' => 'H',
        'О' => 'O',
        'Р' => 'P',
        'С' => 'C',
        'Т' => 'T',
        'Х' => 'X',
        'І' => 'I',
        'Ј' => 'J',
        'Ѕ' => 'S',
        'Ү' => 'Y',
        'Ԛ' => 'Q',
        'Ԝ' => 'W',
        // Greek
        'α' => 'a',
        'ο' => 'o',
        'ρ' => 'p',
        'ν' => 'v',
        'ι' => 'i',
        'κ' => 'k',
        'χ' => 'x',
        'υ' => 'u',
        'Α' => 'A',
        'Β' => 'B',
        'Ε' => 'E',
        'Ζ' => 'Z',
        'Η' => 'H',
        'Ι' => 'I',
        'Κ' => 'K',
        'Μ' => 'M',
        'Ν' => 'N',
        'Ο' => 'O',
        'Ρ' => 'P',
        'Τ' => 'T',
        'Υ' => 'Y',
        'Χ' => 'X',
        // Armenian
        'օ' => 'o',
        'հ' => 'h',
        'ս' => 'u',
        'ց' => 'g',
        _ => return None,
    };
    Some(l)
}

fn is_other_script_letter(c: char) -> bool {
    matches!(c, '\u{0370}'..='\u{03FF}' | '\u{0400}'..='\u{052F}' | '\u{0530}'..='\u{058F}')
}

/// Byte ranges of words to fold to Latin: words mixing Latin letters with look-alikes, and, in
/// predominantly Latin text, words spelt only with look-alikes. Words of a genuinely Cyrillic
/// or Greek text are left alone.
fn homoglyph_words(s: &str) -> Vec<Range<usize>> {
    let mut latin_total = 0usize;
    let mut other_total = 0usize;
    let mut words: Vec<(Range<usize>, usize, usize, usize, usize)> = Vec::new();
    let mut start: Option<usize> = None;
    let (mut latin, mut glyph, mut other, mut letters) = (0, 0, 0, 0);
    for (i, c) in s.char_indices().chain(std::iter::once((s.len(), ' '))) {
        let part = c.is_alphanumeric() || is_invisible(c);
        if part {
            if start.is_none() {
                start = Some(i);
            }
            if c.is_ascii_alphabetic() {
                latin += 1;
            }
            if c.is_alphabetic() {
                letters += 1;
            }
            if homoglyph(c).is_some() {
                glyph += 1;
            } else if is_other_script_letter(c) {
                other += 1;
            }
        } else if let Some(st) = start.take() {
            latin_total += latin;
            other_total += glyph + other;
            if glyph > 0 {
                words.push((st..i, latin, glyph, other, letters));
            }
            (latin, glyph, other, letters) = (0, 0, 0, 0);
        }
    }
    let mostly_latin = latin_total >= 4 * other_total.max(1);
    words
        .into_iter()
        .filter(|(_, latin, glyph, other, letters)| {
            (*latin > 0 && *other == 0) || (mostly_latin && *glyph == *letters && *letters >= 2)
        })
        .map(|(r, ..)| r)
        .collect()
}

fn printable_text(s: &str) -> bool {
    let total = s.chars().count();
    if total == 0 {
        return false;
    }
    let ok = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\r'))
        .count();
    ok * 10 >= total * 9 && s.chars().any(char::is_alphabetic)
}

pub(crate) fn run(s: &str) -> CharPass {
    // ASCII holds no invisible, bidi, tag or selector character, no look-alike letter and
    // nothing NFKC changes: the pass is the identity (most tool output is ASCII JSON).
    if s.is_ascii() {
        let mut map = OffsetMap::new(s.len());
        map.push_identity(0..s.len());
        return CharPass {
            text: s.to_owned(),
            map,
            signals: CharSignals::default(),
        };
    }
    run_general(s)
}

fn run_general(s: &str) -> CharPass {
    let nfkc = is_nfkc_quick(s.chars()) != IsNormalized::Yes;
    let fold = homoglyph_words(s);
    let mut fold_iter = fold.iter().peekable();
    let mut out = String::with_capacity(s.len());
    let mut map = OffsetMap::new(s.len());
    let mut sig = CharSignals::default();
    let mut prev_visible: Option<char> = None;

    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_invisible(c) || is_bidi_control(c) || is_bidi_mark(c) {
            let end = i + c.len_utf8();
            if is_bidi_control(c) {
                sig.bidi.push(i..end);
            } else if is_invisible(c) {
                let next_alnum = chars.peek().is_some_and(|(_, n)| n.is_alphanumeric());
                let prev_alnum = prev_visible.is_some_and(char::is_alphanumeric);
                // ZWJ/ZWNJ join emoji and shape Indic and Arabic script; only their use between
                // Latin letters or digits is a splitting trick.
                let latin_context = prev_visible.is_some_and(|p| p.is_ascii_alphanumeric())
                    && chars.peek().is_some_and(|(_, n)| n.is_ascii_alphanumeric());
                let joiner = matches!(c, '\u{200C}' | '\u{200D}');
                if (prev_alnum && next_alnum && !joiner) || latin_context {
                    sig.invisible_in_words.push(i..end);
                    if sig.joints.last() != Some(&out.len()) {
                        sig.joints.push(out.len());
                    }
                }
            }
            continue;
        }
        if is_tag(c) {
            let mut end = i + c.len_utf8();
            let mut decoded = String::new();
            push_tag(c, &mut decoded);
            while let Some(&(j, d)) = chars.peek() {
                if !is_tag(d) {
                    break;
                }
                push_tag(d, &mut decoded);
                end = j + d.len_utf8();
                chars.next();
            }
            // Emoji subdivision flags (England, Scotland, Wales) are a black flag followed by
            // tag letters; they are not hidden text.
            let flag = prev_visible == Some('\u{1F3F4}');
            if !flag && decoded.chars().any(|d| !d.is_whitespace()) {
                let o = out.len();
                out.push_str(&decoded);
                map.push_replaced(i..end, decoded.len());
                sig.tags.push((i..end, o..out.len()));
            }
            continue;
        }
        if let Some(b) = selector_byte(c) {
            let mut bytes = vec![b];
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                let Some(b) = selector_byte(d) else { break };
                bytes.push(b);
                end = j + d.len_utf8();
                chars.next();
            }
            if bytes.len() >= MIN_SELECTOR_RUN
                && let Ok(text) = String::from_utf8(bytes)
                && printable_text(&text)
            {
                let o = out.len();
                out.push_str(&text);
                map.push_replaced(i..end, text.len());
                sig.selectors.push((i..end, o..out.len()));
            } else {
                out.push_str(s.get(i..end).unwrap_or_default());
                map.push_identity(i..end);
            }
            continue;
        }

        // A cluster: this character and, when NFKC applies, its combining marks.
        let mut end = i + c.len_utf8();
        if nfkc {
            while let Some(&(j, d)) = chars.peek() {
                if canonical_combining_class(d) == 0 || is_invisible(d) || is_tag(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
        }
        let Some(cluster) = s.get(i..end) else {
            continue;
        };
        while fold_iter.peek().is_some_and(|r| r.end <= i) {
            fold_iter.next();
        }
        let folding = fold_iter.peek().is_some_and(|r| r.start <= i && i < r.end);
        if !nfkc && !folding {
            out.push_str(cluster);
            map.push_identity(i..end);
            prev_visible = Some(c);
            continue;
        }
        let mut piece: String = if nfkc {
            cluster.nfkc().collect()
        } else {
            cluster.to_owned()
        };
        if folding {
            let folded: String = piece.chars().map(|p| homoglyph(p).unwrap_or(p)).collect();
            if folded != piece {
                if sig.homoglyph_words.last().is_none_or(|w| w.end < i)
                    && let Some(r) = fold_iter.peek()
                {
                    sig.homoglyph_words.push((*r).clone());
                }
                piece = folded;
            }
        }
        if piece == cluster {
            out.push_str(cluster);
            map.push_identity(i..end);
        } else {
            out.push_str(&piece);
            map.push_replaced(i..end, piece.len());
        }
        prev_visible = piece.chars().last().or(Some(c));
    }
    CharPass {
        text: out,
        map,
        signals: sig,
    }
}

fn push_tag(c: char, out: &mut String) {
    let v = u32::from(c);
    if (0xE0020..=0xE007E).contains(&v)
        && let Some(a) = char::from_u32(v - 0xE0000)
    {
        out.push(a);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The ASCII shortcut is what the full pass would have produced.
        #[test]
        fn ascii_shortcut_matches_the_full_pass(s in "[\\x00-\\x7f]{0,120}") {
            let fast = run(&s);
            let full = run_general(&s);
            proptest::prop_assert_eq!(&fast.text, &full.text);
            proptest::prop_assert_eq!(&fast.signals, &full.signals);
            for a in 0..=s.len() {
                for b in a..=s.len() {
                    proptest::prop_assert_eq!(fast.map.map(a..b), full.map.map(a..b));
                }
            }
        }
    }

    #[test]
    fn folds_mixed_script_words_only() {
        let p = run("іgnоrе previous");
        assert_eq!(p.text, "ignore previous");
        let p = run("Привет, как дела");
        assert_eq!(p.text, "Привет, как дела");
    }

    #[test]
    fn decodes_tags_and_keeps_flags() {
        let hidden: String = "hi"
            .chars()
            .map(|c| char::from_u32(0xE0000 + c as u32).unwrap())
            .collect();
        let p = run(&format!("ok{hidden}."));
        assert_eq!(p.text, "okhi.");
        assert_eq!(p.signals.tags.len(), 1);
        let flag = "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}";
        let p = run(flag);
        assert!(p.signals.tags.is_empty());
    }
}
