//! Payment details in a write: where money would go. Business email compromise asks a
//! colleague to pay a supplier's invoice to a "new account"; the account is the harm, however
//! the request is worded. Four readings, each of the cause rather than of a spelling:
//!
//! - **IBANs** by their check digits (ISO 13616, mod 97), in any case and with any separators:
//!   every run of letters and digits joined by spaces, dashes (the non-breaking ones too), dots,
//!   slashes or underscores is read without them, and every stretch of it that starts with a
//!   country code and has that country's length is checked, with a letter `O` read as a zero
//!   too. An id that only looks like one fails its check digits.
//! - **Named numbers**: an account, routing, sort-code or bank number named as such (in
//!   English, German, French, Spanish, Portuguese, Italian, Dutch, Polish), with up to four
//!   words between the name and the number (`account number is`, `sort code (new)`,
//!   `beneficiary Harbour Steel Ltd, Barclays,`), and a SWIFT/BIC code after its name.
//! - **Crypto addresses** by their checksums: bech32/bech32m (`bc1…`) and base58check
//!   (`1…`, `3…`).
//! - **A payment asked for**: a pay, transfer, wire or remit word or an amount of money, and a
//!   number of six digits or more near it that is not the amount, a date, a phone number or an
//!   AWS account id.
//!
//! A bare "account" before a number is not a bank account (an AWS account id, a billing
//! account, a date): it counts only beside a payment.

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

/// ISO 13616 country codes and the length of their IBANs.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HN", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// Separators an IBAN may be written with: white space (the non-breaking kind too), dashes of
/// every width, dots, slashes, underscores.
fn separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '\u{2010}'
                | '\u{2011}'
                | '\u{2012}'
                | '\u{2013}'
                | '\u{2014}'
                | '\u{2212}'
                | '.'
                | '/'
                | '_'
                | '\u{00B7}'
        )
}

/// Separators in a row that still join two groups (`GB33 - BUKB`).
const MAX_SEPARATORS: usize = 3;

/// Letters and digits of one run, upper-cased, with where each group starts and ends.
#[derive(Default)]
struct Run {
    compact: Vec<u8>,
    groups: Vec<(usize, usize)>,
}

impl Run {
    /// The IBAN country of the first valid IBAN in this run, if any.
    fn iban(&self) -> Option<String> {
        // Each group's start, and where a group runs on from the word `IBAN` (`ibanGB33…`).
        let after_name = self
            .compact
            .windows(4)
            .enumerate()
            .filter(|(_, w)| *w == b"IBAN")
            .map(|(i, _)| i + 4);
        let starts: Vec<usize> = self.groups.iter().map(|g| g.0).chain(after_name).collect();
        for start in starts {
            let Some(code) = self.compact.get(start..start + 2) else {
                continue;
            };
            let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| c.as_bytes() == code) else {
                continue;
            };
            let Some(window) = self.compact.get(start..start + len) else {
                continue;
            };
            if self.has_word(start + 4, start + len) {
                continue;
            }
            // As written, and with the letter O read as a zero after the country code.
            let zeroed: Vec<u8> = window
                .iter()
                .enumerate()
                .map(|(i, b)| if i >= 2 && *b == b'O' { b'0' } else { *b })
                .collect();
            for candidate in [window, zeroed.as_slice()] {
                let digits = candidate.iter().filter(|b| b.is_ascii_digit()).count();
                let checked = candidate
                    .get(2..4)
                    .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
                if checked && digits >= 8 && iban_valid(candidate) {
                    return Some(String::from_utf8_lossy(code).into_owned());
                }
            }
        }
        None
    }

    /// Whether a group of five or more letters alone lies inside `from..to`: a word, which no
    /// IBAN's account part holds (bank codes are four letters). Reads only the groups that
    /// start inside the window (at most its length), so a long run stays linear.
    fn has_word(&self, from: usize, to: usize) -> bool {
        let first = self.groups.partition_point(|&(s, _)| s < from);
        self.groups
            .get(first..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&(s, _)| s < to)
            .any(|&(s, e)| {
                e <= to
                    && e - s >= 5
                    && self
                        .compact
                        .get(s..e)
                        .is_some_and(|g| g.iter().all(u8::is_ascii_alphabetic))
            })
    }
}

/// Runs of letters and digits joined by separators, in `text`.
fn runs(text: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut run = Run::default();
    let mut in_group = false;
    let mut separators = 0usize;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            if !in_group {
                run.groups.push((run.compact.len(), run.compact.len()));
                in_group = true;
            }
            run.compact.push(c.to_ascii_uppercase() as u8);
            if let Some(last) = run.groups.last_mut() {
                last.1 = run.compact.len();
            }
            separators = 0;
        } else if separator(c) && separators < MAX_SEPARATORS {
            in_group = false;
            separators += 1;
        } else {
            in_group = false;
            separators = 0;
            if !run.compact.is_empty() {
                out.push(std::mem::take(&mut run));
            }
        }
    }
    if !run.compact.is_empty() {
        out.push(run);
    }
    out
}

/// Whether `iban` (compact, upper case) passes the IBAN check: moved country code and check
/// digits, letters as numbers, remainder 1 modulo 97.
fn iban_valid(iban: &[u8]) -> bool {
    if !(15..=34).contains(&iban.len()) {
        return false;
    }
    let (head, tail) = iban.split_at(4);
    let mut rem: u32 = 0;
    for b in tail.iter().chain(head) {
        let Some(v) = char::from(*b).to_digit(36) else {
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

/// A bank account, routing, sort-code or bank number named as such, then up to four words,
/// then the number (six digits or more, in groups or not).
static NAMED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    let name = r"(?:bank\s*account|account\s*(?:no\.?|nr\.?|number|num|#)|account\s+ending(?:\s+in)?|acct\.?|acc(?:\s*[./]\s*|\s+)(?:no\.?|nr\.?|number|#)|acc|a\s*/\s*c|routing\s*(?:no\.?|nr\.?|number|num|#|code)|aba|sort[\s-]*codes?|bank(?:ing)?\s+(?:details|info|information|coordinates)|beneficiary|payee|bsb|ifsc|clabe|kontonummer|kontonr\.?|konto|bankleitzahl|blz|num[eé]ro\s+de\s+compte|compte|rib|n[uú]mero\s+de\s+cuenta|cuenta|conta|conto|rekening(?:nummer)?|numer\s+konta|rachunek|iban)";
    let gap = r"(?:[\s:#=,;()/.\-]+[^\s\d:#=,;()/.\-][^\s\d:#=,;()/]{0,30}){0,4}?";
    let number = r"[\s:#=,;()/.\-]*\d(?:[ ./\-]{0,2}\d){5,}";
    Regex::new(&format!(r"(?i)(?-u:\b){name}{gap}{number}")).ok()
});

/// A SWIFT/BIC code after its name, in capitals.
static BIC: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?-u:\b)(?i:swift|bic)(?i:\s*[-/]?\s*(?:code|bic))?(?i:\s+(?:is|was|will\s+be|now))?\s*[:#=]?\s*[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?(?-u:\b)",
    )
    .ok()
});

/// A payment asked for: a word for paying, in the languages the named numbers are read in.
static PAY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:pay|pays|paid|paying|payment|payments|repay|transfer|transfers|transferred|transferring|wire|wired|wiring|remit|remitted|remittance|settle|settlement|deposit|send\s+(?:the\s+)?(?:funds|money)|überweisen|überweisung|zahlung|zahlen|bezahlen|virement|virer|payer|paiement|régler|pago|pagar|transferencia|pagamento|bonifico|betalen|betaling|overmaken|przelew|przelej|wpłata|płatność|platnosc|bayar|pembayaran|transfert)\b",
    )
    .ok()
});

/// An amount of money: a currency sign or code beside a number.
static MONEY: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[$€£¥₹]\s?\d|\b(?:eur|usd|gbp|chf|jpy|aud|cad|pln|sek|nok|dkk|btc|eth|usdt)\s?\d|\d\s?(?:eur|usd|gbp|chf|jpy|aud|cad|pln|sek|nok|dkk|btc|eth|usdt|euros?|dollars?|pounds?|zł|zl)\b|\d\s?[€£]",
    )
    .ok()
});

/// Six digits or more, in groups of spaces or dashes or none, standing alone.
static LONG_NUMBER: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\d(?:[ \-]?\d){5,}").ok());

/// Words before a number that say what it is when it is not an account: an order, a ticket, a
/// phone number, a cloud account id.
static NOT_ACCOUNT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:order|invoice|inv|ticket|case|ref|reference|tracking|confirmation|booking|po|phone|tel|fax|mobile|call|zip|postcode|id|inc|alr|cve|event|eventid|pid|port|build|version|aws|arn|iam|sts|assumerole|guardduty|cloudtrail|subscription|tenant|project)\W{0,3}(?:\w+\W{1,3}){0,2}$",
    )
    .ok()
});

/// An amount's number: a currency sign or code right before or after it.
static CURRENCY_AROUND: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s?(?:eur|usd|gbp|chf|jpy|aud|cad|pln|sek|nok|dkk|btc|eth|euros?|dollars?|pounds?|zł|zl|[€£$¥₹])",
    )
    .ok()
});

/// How far from a payment word or amount a long number is read as where the payment goes.
const PAYMENT_REACH: usize = 300;

/// Payment details in `text`, as finding details (never the number itself). Dashes and spaces
/// of every width are read as ASCII ones first: a number grouped with `‑` or a thin space is
/// still the number.
pub(super) fn payment_details(text: &str) -> Vec<String> {
    let folded = fold_separators(text);
    let text = folded.as_str();
    let mut out = Vec::new();
    if let Some(country) = runs(text).iter().find_map(Run::iban) {
        out.push(format!(
            "an IBAN (country {country}): where a payment would go"
        ));
    }
    let named = NAMED
        .as_ref()
        .is_some_and(|re| re.find_iter(text).any(|m| !date_like(m.as_str())));
    if named || BIC.as_ref().is_some_and(|re| re.is_match(text)) {
        out.push(
            "a bank account, routing, sort-code or SWIFT/BIC number: where a payment would go"
                .to_owned(),
        );
    }
    if let Some(kind) = crypto_address(text) {
        out.push(format!("a {kind} address: where a payment would go"));
    }
    if out.is_empty() && asked_to_pay_to_a_number(text) {
        out.push(
            "a payment asked for beside a long number (an account): where a payment would go"
                .to_owned(),
        );
    }
    out
}

/// `text` with every Unicode dash or minus read as `-` and every space character as ` `.
fn fold_separators(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{2010}'..='\u{2015}'
            | '\u{2212}'
            | '\u{2043}'
            | '\u{FE58}'
            | '\u{FE63}'
            | '\u{FF0D}' => '-',
            c if c.is_whitespace() && c != '\n' => ' ',
            c => c,
        })
        .collect()
}

/// Whether a label before a number says what the number is ("invoice 4711", "AWS account
/// 123456789012"), rather than where the payment of it goes ("the invoice to 41926819").
fn labels_the_number(tail: &str) -> bool {
    static TOWARDS: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:to|into|via|using|through|onto|towards?|for|at|on|with|in)\W*$|\b(?:to|into|via|using|through|onto|towards?|at|with)\b").ok()
    });
    NOT_ACCOUNT.as_ref().is_some_and(|re| {
        re.find(tail).is_some_and(|m| {
            // The words between the label and the number: a preposition there sends the
            // payment to the number.
            let between = m.as_str();
            !TOWARDS.as_ref().is_some_and(|t| t.is_match(between))
        })
    })
}

/// Whether `s` (a name and its number) ends in a date or a time rather than an account.
fn date_like(s: &str) -> bool {
    static DATE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{4})$").ok()
    });
    DATE.as_ref().is_some_and(|re| re.is_match(s.trim_end()))
}

/// Whether `text` asks for a payment and has a long number near that request which is not the
/// amount, a date, a phone or order number, or a cloud account id.
fn asked_to_pay_to_a_number(text: &str) -> bool {
    let (Some(pay), Some(money), Some(long)) = (PAY.as_ref(), MONEY.as_ref(), LONG_NUMBER.as_ref())
    else {
        return false;
    };
    let mut requests: Vec<usize> = pay
        .find_iter(text)
        .chain(money.find_iter(text))
        .map(|m| m.start())
        .collect();
    requests.sort_unstable();
    if requests.is_empty() {
        return false;
    }
    long.find_iter(text).any(|m| {
        let before = text.get(..m.start()).unwrap_or_default();
        let after = text.get(m.end()..).unwrap_or_default();
        let joined_before = before
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | ',' | ':' | '/' | '-' | '_'));
        let joined_after = after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, ':' | '/' | '-' | '_' | '@'));
        let decimals = after.starts_with(['.', ','])
            && after.chars().nth(1).is_some_and(|c| c.is_ascii_digit());
        let standalone = !joined_before && !joined_after && !decimals;
        let amount = CURRENCY_AROUND
            .as_ref()
            .is_some_and(|re| re.is_match(after))
            || before.trim_end().ends_with(['$', '€', '£', '¥', '₹'])
            || before.trim_end().to_ascii_lowercase().ends_with("eur")
            || before.trim_end().to_ascii_lowercase().ends_with("usd")
            || before.trim_end().to_ascii_lowercase().ends_with("gbp");
        let tail = before
            .char_indices()
            .rev()
            .nth(40)
            .map_or(before, |(i, _)| before.get(i..).unwrap_or_default());
        let named_otherwise = labels_the_number(tail);
        // The nearest request on either side (`requests` is sorted).
        let next = requests.partition_point(|r| *r < m.start());
        let near = [next.checked_sub(1), Some(next)]
            .into_iter()
            .flatten()
            .filter_map(|i| requests.get(i))
            .any(|r| r.abs_diff(m.start()) <= PAYMENT_REACH);
        standalone && !amount && !named_otherwise && near && !date_like(m.as_str())
    })
}

/// The kind of crypto address in `text` whose checksum holds, if any.
fn crypto_address(text: &str) -> Option<&'static str> {
    static BECH32: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?i)(?-u:\b)(?:bc|tb|ltc)1[02-9ac-hj-np-z]{6,87}(?-u:\b)").ok()
    });
    static BASE58: LazyLock<Option<Regex>> =
        LazyLock::new(|| Regex::new(r"(?-u:\b)[1-9A-HJ-NP-Za-km-z]{26,35}(?-u:\b)").ok());
    if BECH32
        .as_ref()
        .is_some_and(|re| re.find_iter(text).any(|m| bech32_valid(m.as_str())))
    {
        return Some("bech32 (Bitcoin, Litecoin)");
    }
    if BASE58
        .as_ref()
        .is_some_and(|re| re.find_iter(text).any(|m| base58check_valid(m.as_str())))
    {
        return Some("base58check (Bitcoin and others)");
    }
    None
}

/// Whether `s` is a bech32 or bech32m string whose checksum holds (BIP 173, BIP 350).
fn bech32_valid(s: &str) -> bool {
    const CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    if s.chars().any(|c| c.is_ascii_lowercase()) && s.chars().any(|c| c.is_ascii_uppercase()) {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    let Some((hrp, data)) = lower.rsplit_once('1') else {
        return false;
    };
    let mut values: Vec<u32> = hrp.bytes().map(|b| u32::from(b >> 5)).collect();
    values.push(0);
    values.extend(hrp.bytes().map(|b| u32::from(b & 31)));
    for b in data.bytes() {
        let Some(v) = CHARSET.iter().position(|c| *c == b) else {
            return false;
        };
        values.push(v as u32);
    }
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ v;
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk == 1 || chk == 0x2bc8_30a3
}

/// Whether `s` decodes from base58 to a payload whose last four bytes are the first four of
/// its double SHA-256 (base58check: Bitcoin's `1…` and `3…` addresses, and others').
fn base58check_valid(s: &str) -> bool {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    // Big-endian bytes of the number, then one zero byte per leading '1'.
    let mut bytes: Vec<u8> = Vec::with_capacity(32);
    for b in s.bytes() {
        let Some(digit) = ALPHABET.iter().position(|c| *c == b) else {
            return false;
        };
        let mut carry = digit as u32;
        for byte in bytes.iter_mut().rev() {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = s.bytes().take_while(|b| *b == b'1').count();
    let mut full = vec![0u8; zeros];
    full.extend(bytes);
    if full.len() < 21 {
        return false;
    }
    let (payload, check) = full.split_at(full.len() - 4);
    let digest = Sha256::digest(Sha256::digest(payload));
    digest.get(..4) == Some(check)
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
            "IBAN: G B 3 3 B U K B 2 0 2 0 1 5 5 5 5 5 5 5 5 5",
            "wallet tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
            "IBAN GB33 BUKB 2O2O 1555 5555 55",
            "Bank details are 41926819 / 40-47-84.",
            "pay the supplier today: ibanGB33BUKB20201555555555",
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
            "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb has a broken checksum",
            "Order 123456789 was paid with a card ending 4242.",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj1",
            "Payment due: see ticket 20261207 and call 0800 123 4567.",
        ] {
            assert!(payment_details(t).is_empty(), "{t}");
        }
    }
}
