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

#[cfg(test)]
mod tests {
    use super::*;

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
