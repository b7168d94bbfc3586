//! Properties of characters that every reader of untrusted text needs the same answer to.

/// Unicode's `Default_Ignorable_Code_Point` (DerivedCoreProperties.txt, Unicode 15.1): code
/// points a renderer shows as nothing when it does not support them — zero-width characters,
/// joiners, bidirectional controls, variation selectors, Hangul fillers, the combining grapheme
/// joiner, tags. A human reading text that contains one cannot see it, so a page that shows
/// untrusted text to a human must make each one visible.
pub fn is_default_ignorable(c: char) -> bool {
    matches!(c,
        '\u{00AD}'
        | '\u{034F}'
        | '\u{061C}'
        | '\u{115F}'..='\u{1160}'
        | '\u{17B4}'..='\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FEFF}'
        | '\u{FFA0}'
        | '\u{FFF0}'..='\u{FFF8}'
        | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
}

/// Characters a person cannot read as themselves: every default-ignorable code point (zero-width
/// characters, joiners, bidirectional controls, tags), the Mongolian vowel separator, line and
/// paragraph separators, and every control other than newline and tab (C0, DEL and C1, so the
/// escape and single-byte CSI that let text move a terminal's cursor or hide what follows). What
/// shows untrusted text to a human shows each of these as a visible stand-in instead.
pub fn is_hidden(c: char) -> bool {
    is_default_ignorable(c)
        || matches!(c, '\u{180E}' | '\u{2028}' | '\u{2029}')
        || (c.is_control() && c != '\n' && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_controls_bidi_and_zero_width_are_hidden_and_text_is_not() {
        for c in [
            '\u{1B}', '\r', '\u{7F}', '\u{9B}', '\u{202E}', '\u{200B}', '\u{2028}',
        ] {
            assert!(is_hidden(c), "{c:?}");
        }
        for c in ['a', ' ', '\n', '\t', '{', 'é', '⏎'] {
            assert!(!is_hidden(c), "{c:?}");
        }
    }

    #[test]
    fn fillers_joiners_and_selectors_are_ignorable_and_letters_are_not() {
        for c in [
            '\u{3164}',
            '\u{034F}',
            '\u{115F}',
            '\u{FFA0}',
            '\u{180B}',
            '\u{FE0F}',
            '\u{200B}',
            '\u{2064}',
            '\u{206A}',
            '\u{E0041}',
            '\u{1D173}',
        ] {
            assert!(is_default_ignorable(c), "U+{:04X}", u32::from(c));
        }
        for c in ['a', ' ', 'é', 'ㄱ', '\u{0301}', '\n', '字'] {
            assert!(!is_default_ignorable(c), "U+{:04X}", u32::from(c));
        }
    }
}
