//! Payment details in a write: where money would go. Business email compromise asks a
//! colleague to pay a supplier's invoice to a "new account"; the account is the harm, however
//! the request is worded. An IBAN is recognised by its check digits (ISO 13616, mod 97), so an
//! id that only looks like one does not count; an account, routing or sort-code number and a
//! SWIFT/BIC code are recognised by the words that name them.

use std::sync::LazyLock;

use regex::Regex;

/// Two letters, two check digits, then 11 to 30 letters and digits, in either case, in groups
/// or not, the groups apart by spaces, dots, dashes, slashes or underscores.
static IBAN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)[A-Z]{2}[ ._/-]{0,2}[0-9]{2}(?:[ ._/-]{0,2}[A-Z0-9]){11,30}(?-u:\b)")
        .ok()
});

/// Separators an IBAN may be written with.
fn separator(c: char) -> bool {
    matches!(c, ' ' | '.' | '_' | '/' | '-')
}

/// A bank account, routing, sort-code or SWIFT/BIC number named as such.
static NAMED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?i:bank\s+account|(?:account|acct\.?|a/c)\s*(?:no\.?|nr\.?|number|num|#)|routing(?:\s+(?:no\.?|number|num|#))?|aba|sort[\s-]?code|beneficiary\s+account|bank\s+details)(?i:\s+(?:is|was|will\s+be|now|becomes))?\s*[:#=]?\s*[0-9][0-9 -]{4,}[0-9]|(?-u:\b)(?i:swift|bic)(?i:\s+code)?\s*[:#=]?\s*[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?-u:\b)",
    )
    .ok()
});

/// Whether `compact` (no spaces) passes the IBAN check: moved country code and check digits,
/// letters as numbers, remainder 1 modulo 97.
fn iban_valid(compact: &str) -> bool {
    if !(15..=34).contains(&compact.len()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let Some(v) = c.to_digit(36) else {
            return false;
        };
        rem = if v < 10 {
            (rem * 10 + v) % 97
        } else {
            (rem * 100 + v) % 97
        };
    }
    rem == 1
}

/// Payment details in `text`, as finding details (never the number itself).
pub(super) fn payment_details(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(re) = IBAN.as_ref() {
        for m in re.find_iter(text) {
            // The match may run into a following word: the IBAN as matched, or with up to three
            // of its last groups left off; separators dropped, letters in capitals.
            let groups: Vec<String> = m
                .as_str()
                .split(separator)
                .filter(|g| !g.is_empty())
                .map(str::to_ascii_uppercase)
                .collect();
            let found = (0..=3usize).any(|drop| {
                groups
                    .len()
                    .checked_sub(drop)
                    .filter(|n| *n > 0)
                    .and_then(|n| groups.get(..n))
                    .is_some_and(|kept| iban_valid(&kept.concat()))
            });
            if found {
                let country = m.as_str().get(..2).unwrap_or_default();
                out.push(format!(
                    "an IBAN (country {country}): where a payment would go"
                ));
                break;
            }
        }
    }
    if let Some(re) = NAMED.as_ref()
        && re.is_match(text)
    {
        out.push(
            "a bank account, routing, sort-code or SWIFT/BIC number: where a payment would go"
                .to_owned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_named_or_checked_are_payment_details_and_look_alikes_are_not() {
        for t in [
            "Pay Harbour Steel today to their new account GB33 BUKB 2020 1555 5555 55.",
            "nowe konto GB33BUKB20201555555555, nie dzwon do niego",
            "New IBAN: DE89 3704 0044 0532 0130 00 from Monday.",
            "Use account number 12345678, sort code 20-00-00.",
            "Routing no. 021000021, acct 000123456789.",
            "SWIFT: DEUTDEFF, beneficiary Harbour Steel GmbH.",
            "Account number is 41926819, sort code is 40-47-84.",
            "new iban gb33-bukb-2020-1555-5555-55 from today",
            "IBAN DE89.3704.0044.0532.0130.00",
            "Acct. No. 000123456789 at First Harbour Bank.",
        ] {
            assert!(!payment_details(t).is_empty(), "{t}");
        }
        for t in [
            "GB12 ABCD 1234 5678 9012 34 is not an IBAN (bad check digits).",
            "FR76 1234 5678 9012 3456 7890 123 is not one either.",
            "Account alice.chen disabled at 09:30; INC-1042 updated.",
            "SHA-256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "The account was locked after 5 failed logins from 203.0.113.7.",
            "Account lockouts of legacy printer service account",
            "Your Mercury account received $136.97 by ZAPIER.COM.",
            "Root login on AWS account 123456789012 from 203.0.113.7.",
            "The account 2024-05-01 entry was reviewed.",
        ] {
            assert!(payment_details(t).is_empty(), "{t}");
        }
    }
}
