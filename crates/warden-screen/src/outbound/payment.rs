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
//! - **A UK account and sort code**: an eight-digit number within a few words of a six-digit
//!   one or an `NN-NN-NN` group, whatever the words around them.
//! - **Bare names**: `sort` before six digits, `routing` before nine digits whose ABA check
//!   holds, a bank's name before its `details`, and `account` before a number where the text
//!   also names a bank, a supplier or a beneficiary, sends money to the account, calls it new or
//!   asks for a payment, or makes the account someone's with its number right after it (`their
//!   account: 41926819`), and the account is not a cloud's, a directory's or a service's. A sort
//!   code alone, with no account number in the text, counts only where the text asks for
//!   something: a record that a sort code changed names a branch, not where to pay.
//! - **A payment asked for**: a pay, transfer, wire, remit or settle word, `balance` or `funds`,
//!   an amount of money, or a back-office verb asked for (`please process`, `clear the
//!   balance`), that no negation beside it takes back (`no payment made`, `payment on hold`),
//!   and a number of six digits or more near it that is not the amount, a date, an address, a
//!   decimal, a number a label names (an invoice, a ticket, a phone) or an AWS account id.
//!
//! Numbers are read with any space, dash or raised dot between their digits, and spelt out in
//! words or digit by digit (`four one nine two six eight one nine`).

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
        r"(?i)\b(?:pay|pays|paid|paying|payment|payments|repay|balance|balances|outstanding|funds|transfer|transfers|transferred|transferring|wire|wired|wiring|remit|remitted|remittance|settle|settlement|deposit|send\s+(?:the\s+)?(?:funds|money)|überweisen|überweisung|zahlung|zahlen|bezahlen|virement|virer|payer|paiement|régler|pago|pagar|transferencia|pagamento|bonifico|betalen|betaling|overmaken|przelew|przelej|wpłata|płatność|platnosc|bayar|pembayaran|transfert)\b",
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

/// Payment details in `text`, as finding details (never the number itself). Dashes, spaces
/// and dots of every width are read as ASCII ones first, and numbers spelt out in words as
/// digits: a number grouped with `‑` or a thin space, or written `four one nine two…`, is still
/// the number.
pub(super) fn payment_details(text: &str) -> Vec<String> {
    let folded = spelt_numbers(&fold_separators(text));
    let text = folded.as_str();
    let nums = numbers(text);
    let mut out = Vec::new();
    if let Some(country) = runs(text).iter().find_map(Run::iban) {
        out.push(format!(
            "an IBAN (country {country}): where a payment would go"
        ));
    }
    let named = NAMED.as_ref().is_some_and(|re| {
        re.find_iter(text).any(|m| {
            !date_like(m.as_str())
                && (!m.as_str().to_ascii_lowercase().starts_with("sort")
                    || sort_code_counts(text, &nums))
        })
    });
    if named
        || BIC.as_ref().is_some_and(|re| re.is_match(text))
        || named_by_a_bare_word(text, &nums)
    {
        out.push(
            "a bank account, routing, sort-code or SWIFT/BIC number: where a payment would go"
                .to_owned(),
        );
    }
    if uk_pair(text, &nums) {
        out.push(
            "an eight-digit number beside a six-digit one (a UK account and sort code): where a \
             payment would go"
                .to_owned(),
        );
    }
    if let Some(kind) = crypto_address(text) {
        out.push(format!("a {kind} address: where a payment would go"));
    }
    if out.is_empty() && asked_to_pay_to_a_number(text, &nums) {
        out.push(
            "a payment asked for beside a long number (an account): where a payment would go"
                .to_owned(),
        );
    }
    out
}

/// `text` with every Unicode dash or minus read as `-`, every space character as ` `, every
/// raised or leader dot as `.`, and a letter that looks like a digit between two digits read as
/// that digit (`4l926819`, `1O43`).
fn fold_separators(text: &str) -> String {
    let folded: Vec<char> = text
        .chars()
        .map(|c| match c {
            '\u{2010}'..='\u{2015}'
            | '\u{2212}'
            | '\u{2043}'
            | '\u{058A}'
            | '\u{05BE}'
            | '\u{1400}'
            | '\u{1806}'
            | '\u{2E17}'
            | '\u{2E1A}'
            | '\u{2E3A}'
            | '\u{2E3B}'
            | '\u{2E40}'
            | '\u{301C}'
            | '\u{3030}'
            | '\u{30A0}'
            | '\u{FE31}'
            | '\u{FE32}'
            | '\u{FE58}'
            | '\u{FE63}'
            | '\u{FF0D}' => '-',
            '\u{00B7}' | '\u{2022}' | '\u{2024}' | '\u{2027}' | '\u{2219}' | '\u{22C5}'
            | '\u{30FB}' | '\u{FF0E}' | '\u{FF65}' => '.',
            c if c.is_whitespace() && c != '\n' => ' ',
            c => c,
        })
        .collect();
    let digit = |i: Option<usize>| {
        i.and_then(|i| folded.get(i))
            .is_some_and(char::is_ascii_digit)
    };
    folded
        .iter()
        .enumerate()
        .map(|(i, c)| match c {
            'l' | 'I' | '|' if digit(i.checked_sub(1)) && digit(Some(i + 1)) => '1',
            'O' | 'o' if digit(i.checked_sub(1)) && digit(Some(i + 1)) => '0',
            c => *c,
        })
        .collect()
}

/// The value of a number word: its digits, and whether it is a tens word that a unit may
/// follow (`forty` `-seven`).
fn number_word(word: &str) -> Option<(&'static str, bool)> {
    const UNITS: [&str; 10] = [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    const TEENS: [&str; 10] = [
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
    ];
    const TENS: [&str; 8] = [
        "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    ];
    const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    const TEEN_DIGITS: [&str; 10] = ["10", "11", "12", "13", "14", "15", "16", "17", "18", "19"];
    const TEN_DIGITS: [&str; 8] = ["2", "3", "4", "5", "6", "7", "8", "9"];
    // Every word of the text is asked: no allocation, and most words are too long or short.
    if !(2..=9).contains(&word.len()) {
        return None;
    }
    let is = |u: &&str| u.eq_ignore_ascii_case(word);
    if ["oh", "nought", "nil"].iter().any(is) {
        return Some(("0", false));
    }
    if is(&"fourty") {
        return Some(("4", true));
    }
    if let Some(i) = UNITS.iter().position(is) {
        return DIGITS.get(i).map(|d| (*d, false));
    }
    if let Some(i) = TEENS.iter().position(is) {
        return TEEN_DIGITS.get(i).map(|d| (*d, false));
    }
    TENS.iter()
        .position(is)
        .and_then(|i| TEN_DIGITS.get(i))
        .map(|d| (*d, true))
}

/// Digits a number spelt out in words stands for, written as digits where the words make six
/// or more (`four one nine two six eight one nine` → `41926819`, `forty, forty-seven,
/// eighty-four` → `404784`, `double four` → `44`). Shorter runs (`two hosts`) stay words.
fn spelt_numbers(text: &str) -> String {
    // Words of ASCII letters, with where each starts and ends.
    let words: Vec<(usize, usize)> = {
        let mut out = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
            match (c.is_ascii_alphabetic(), start) {
                (true, None) => start = Some(i),
                (false, Some(s)) => {
                    out.push((s, i));
                    start = None;
                }
                _ => {}
            }
        }
        out
    };
    let word = |i: usize| {
        words
            .get(i)
            .and_then(|&(s, e)| text.get(s..e))
            .unwrap_or_default()
    };
    // Whether only separators stand between word `i` and the next.
    let joined = |i: usize| {
        let (Some(&(_, end)), Some(&(next, _))) = (words.get(i), words.get(i + 1)) else {
            return false;
        };
        text.get(end..next).is_some_and(|gap| {
            gap.len() <= 3
                && gap
                    .chars()
                    .all(|c| matches!(c, ' ' | ',' | '-' | '.' | '/'))
        })
    };
    let mut out = String::with_capacity(text.len());
    let mut copied = 0usize;
    let mut i = 0usize;
    while i < words.len() {
        let first = i;
        let mut digits = String::new();
        let mut repeat = 1usize;
        let mut last = None;
        while i < words.len() {
            let w = word(i);
            let double = w.eq_ignore_ascii_case("double");
            if (double || w.eq_ignore_ascii_case("triple")) && joined(i) {
                repeat = if double { 2 } else { 3 };
                i += 1;
                continue;
            }
            let Some((value, tens)) = number_word(w) else {
                break;
            };
            let mut value = value.to_owned();
            if tens {
                // A unit after a tens word without a comma makes one number (`forty-seven`).
                let unit = joined(i)
                    .then(|| {
                        words
                            .get(i)
                            .zip(words.get(i + 1))
                            .and_then(|(&(_, e), &(n, _))| {
                                text.get(e..n).filter(|g| !g.contains(','))
                            })
                    })
                    .flatten()
                    .and_then(|_| number_word(word(i + 1)))
                    .filter(|(v, t)| v.len() == 1 && !t && *v != "0");
                if let Some((u, _)) = unit {
                    value.push_str(u);
                    i += 1;
                } else {
                    value.push('0');
                }
            }
            for _ in 0..repeat {
                digits.push_str(&value);
            }
            repeat = 1;
            last = Some(i);
            if !joined(i) {
                i += 1;
                break;
            }
            i += 1;
        }
        match last {
            Some(end) if digits.len() >= 6 => {
                let (Some(&(from, _)), Some(&(_, to))) = (words.get(first), words.get(end)) else {
                    continue;
                };
                out.push_str(text.get(copied..from).unwrap_or_default());
                out.push_str(&digits);
                copied = to;
            }
            Some(_) => {}
            None => i = first + 1,
        }
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    out
}

/// Standalone numbers of `text`: runs of digit groups joined by one space, dash, dot or slash,
/// with the digit count of each group.
struct Number {
    start: usize,
    end: usize,
    groups: Vec<usize>,
}

impl Number {
    fn digits(&self) -> usize {
        self.groups.iter().sum()
    }
}

/// The standalone numbers of `text` (see [`Number`]): not part of a word, an id, a time, a
/// decimal, an address (`203.0.113.7`) or a date (`2026-12-07`).
fn numbers(text: &str) -> Vec<Number> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0usize;
    while i < bytes.len() {
        if !bytes.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
            continue;
        }
        let start = i;
        let mut groups = Vec::new();
        let mut seps = Vec::new();
        let mut len = 0usize;
        loop {
            match bytes.get(i) {
                Some(b) if b.is_ascii_digit() => {
                    len += 1;
                    i += 1;
                }
                Some(&sep @ (b' ' | b'-' | b'.' | b'/'))
                    if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) =>
                {
                    groups.push(len);
                    seps.push(sep);
                    len = 0;
                    i += 1;
                }
                _ => break,
            }
        }
        groups.push(len);
        let end = i;
        let before = text.get(..start).unwrap_or_default();
        let after = text.get(end..).unwrap_or_default();
        let joined_before = before.chars().next_back().is_some_and(|c| {
            c.is_alphanumeric() || matches!(c, '.' | ',' | ':' | '/' | '-' | '_' | '+' | '\\')
        });
        let joined_after = after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, ':' | '/' | '-' | '_' | '@' | '%'));
        let decimals = after.starts_with(['.', ','])
            && after.chars().nth(1).is_some_and(|c| c.is_ascii_digit());
        // Dots make an address or a version (`203.0.113.7`, `10.0.19045`) or a decimal
        // (`0.2927246`), unless they group an account's digits (`4192.6819`, `4.1.9.2.6.8.1.9`).
        let dots = seps.iter().filter(|s| **s == b'.').count();
        let address = dots > 0 && groups.len() <= 4 && groups.iter().all(|g| *g <= 3);
        let decimal = dots == 1
            && (groups.first().is_some_and(|g| *g < 3)
                || groups.last().is_some_and(|g| *g < 3)
                || text.get(start..).is_some_and(|t| t.starts_with('0')));
        let number = Number { start, end, groups };
        let date = date_like(text.get(start..end).unwrap_or_default()) || number.is_date();
        if !joined_before && !joined_after && !decimals && !address && !decimal && !date {
            out.push(number);
        }
    }
    out
}

impl Number {
    /// Groups of a date (`2026 12 07`, `07.12.2026`).
    fn is_date(&self) -> bool {
        matches!(self.groups.as_slice(), [4, 2, 2] | [2, 2, 4])
    }
}

/// Whether `text` holds an eight-digit number within a few words of a six-digit one or a
/// `NN-NN-NN` group: a UK account number and sort code, whatever words stand around them
/// (`invoice to 41926819, 404784`, `41926819 / 40-47-84`, `404784 then 41926819`). The two
/// may also be one run of groups (`4192 6819 40 47 84`). Dates, addresses and numbers a label
/// names otherwise (`invoice 41926819`, `order 404784`) are not.
fn uk_pair(text: &str, nums: &[Number]) -> bool {
    /// How far apart the two numbers may stand.
    const REACH: usize = 80;
    let nums: Vec<&Number> = nums
        .iter()
        .filter(|n| !labels_the_number(tail_before(text, n.start)))
        .collect();
    let date = |s: &str| {
        let d: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
        matches!(d.as_slice(), [1 | 2, 9 | 0, _, _, m1, m2, d1, d2]
            if (1..=12).contains(&(m1 * 10 + m2)) && (1..=31).contains(&(d1 * 10 + d2)))
    };
    let account =
        |n: &Number| n.digits() == 8 && !date(text.get(n.start..n.end).unwrap_or_default());
    let sort = |n: &Number| {
        n.digits() == 6
            && (matches!(n.groups.as_slice(), [6] | [2, 2, 2] | [3, 3])
                || n.groups.iter().all(|g| *g == 1))
    };
    // One run: groups that split into an account's and a sort code's (`4192 6819 40 47 84`,
    // `41926819 404784`, or digit by digit).
    let split = |n: &Number| {
        let shaped = |g: &[usize], digits: usize| {
            g.iter().sum::<usize>() == digits
                && (g.len() == 1
                    || g.iter().all(|x| *x == 1)
                    || (digits == 8 && g == [4, 4])
                    || (digits == 6 && matches!(g, [2, 2, 2] | [3, 3])))
        };
        n.digits() == 14
            && (1..n.groups.len()).any(|i| {
                let (a, b) = n.groups.split_at(i);
                (shaped(a, 8) && shaped(b, 6)) || (shaped(a, 6) && shaped(b, 8))
            })
    };
    // The numbers are in text order: only those within reach of each other are paired.
    nums.iter().enumerate().any(|(i, a)| {
        split(a)
            || (account(a)
                && nums
                    .get(..i)
                    .unwrap_or_default()
                    .iter()
                    .rev()
                    .take_while(|b| a.start.saturating_sub(b.end) <= REACH)
                    .chain(
                        nums.get(i + 1..)
                            .unwrap_or_default()
                            .iter()
                            .take_while(|b| b.start.saturating_sub(a.end) <= REACH),
                    )
                    .any(|b| sort(b)))
    })
}

/// The 40 characters before `at` in `text`: where a label of the number at `at` stands.
fn tail_before(text: &str, at: usize) -> &str {
    let before = text.get(..at).unwrap_or_default();
    before
        .char_indices()
        .rev()
        .nth(40)
        .map_or(before, |(i, _)| before.get(i..).unwrap_or_default())
}

/// Words before `account` that make it an account of something other than a bank: a cloud,
/// a directory, a mailbox, a service.
static NOT_A_BANK_ACCOUNT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:aws|cloud|azure|gcp|google|microsoft|billing|service|svc|user|users|admin|administrator|administrative|local|domain|root|guest|e-?mail|mail|mailbox|test|shared|machine|computer|privileged|storage|github|gitlab|okta|ad|entra|o365|m365|member|login|sso|iam|tenant|subscription|customer\s+portal|social|twitter|linkedin|slack|vpn|web|portal|workspace|developer|trial|demo|game|gaming)\W{0,3}$",
    )
    .ok()
});

/// Words near a number that say it is a cloud account's id rather than a bank's.
static CLOUD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:aws|amazon|cloudtrail|assumerole|assume-role|guardduty|iam|arn|azure|gcp|subscription|tenant|ec2|s3|console|organization|organisation|sts)\b").ok()
});

/// A bank named by its own name (`HSBC details`, `Barclays account`), or a bank at all.
const BANKS: &str = r"hsbc|barclays|lloyds|natwest|santander|halifax|nationwide|monzo|starling|revolut|metro\s+bank|tsb|rbs|coutts|chase|citi(?:bank)?|wells\s+fargo|bank\s+of\s+america|boa|bofa|us\s+bank|pnc|truist|capital\s+one|td|ing|rabobank|abn(?:\s+amro)?|bnp(?:\s+paribas)?|soci[eé]t[eé]\s+g[eé]n[eé]rale|cr[eé]dit\s+agricole|deutsche(?:\s+bank)?|commerzbank|sparkasse|unicredit|intesa|bbva|caixa(?:bank)?|sabadell|kbc|ubs|nordea|danske|seb|handelsbanken|mbank|pko|wise|transferwise|payoneer|bank|banking";

/// A number named by a word that names a bank account only beside it: a bank's name and its
/// `details` or `account`, a bare `sort` before six digits, a bare `routing` before nine
/// digits whose ABA check holds, a bare `account` before a number where the text also names a
/// bank, asks for a payment, or says the account is new or the destination (`to account`,
/// `using account`) and is not about a cloud account.
fn named_by_a_bare_word(text: &str, nums: &[Number]) -> bool {
    static BANK_DETAILS: LazyLock<Option<Regex>> = LazyLock::new(|| {
        let gap = r"(?:[\s:#=,;()/.\-]+[^\s\d:#=,;()/.\-][^\s\d:#=,;()/]{0,30}){0,4}?";
        Regex::new(&format!(
            r"(?i)\b(?:{BANKS})(?:'s)?\s+(?:details|account|acct|a/c|number|no\.?|info|coordinates){gap}[\s:#=,;()/.\-]*\d(?:[ ./\-]{{0,2}}\d){{5,}}"
        ))
        .ok()
    });
    static BARE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(sort|routing|account)\b(?:[\s:#=,;()/.\-]+(?:is|are|was|now|no|number|nr|code|of|at|with|for|the|their|its|new|details?|[A-Z][a-z]+)){0,4}[\s:#=,;()/.\-]*\d").ok()
    });
    static BANK_CUE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(&format!(
            r"(?i)\b(?:{BANKS}|beneficiary|payee|supplier|vendor|remit\w*|new\s+account|account\s+(?:is\s+|will\s+be\s+)?now|(?:changed|moved|updated|switched)\s+(?:it\s+)?to|from\s+now\s+on|going\s+forward|(?:to|into|using|use|via|onto)\s+(?:the\s+|their\s+|this\s+|that\s+|our\s+)?(?:new\s+)?account)\b"
        ))
        .ok()
    });
    if BANK_DETAILS
        .as_ref()
        .is_some_and(|re| re.find_iter(text).any(|m| !date_like(m.as_str())))
    {
        return true;
    }
    let Some(bare) = BARE.as_ref() else {
        return false;
    };
    // Read once for the whole text, and only if a bare `account` needs it.
    let cue = std::cell::OnceCell::new();
    let cued = || {
        *cue.get_or_init(|| {
            BANK_CUE.as_ref().is_some_and(|re| re.is_match(text)) || requests(text).next().is_some()
        })
    };
    bare.captures_iter(text).any(|c| {
        let (Some(all), Some(word)) = (c.get(0), c.get(1)) else {
            return false;
        };
        // The number the name leads to.
        let Some(n) = nums
            .get(nums.partition_point(|n| n.start + 1 < all.end()))
            .filter(|n| n.start + 1 == all.end())
        else {
            return false;
        };
        let digits: String = text
            .get(n.start..n.end)
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let before = near_end(text, word.start(), 40);
        match word.as_str().to_ascii_lowercase().as_str() {
            "sort" => digits.len() == 6 && sort_code_counts(text, nums),
            "routing" => aba_valid(&digits),
            _ => {
                let near = |re: &Regex| {
                    let from = floor(text, word.start().saturating_sub(80));
                    let to = floor(text, (n.end + 40).min(text.len()));
                    text.get(from..to).is_some_and(|s| re.is_match(s))
                };
                (6..=17).contains(&digits.len())
                    && !NOT_A_BANK_ACCOUNT
                        .as_ref()
                        .is_some_and(|re| re.is_match(before))
                    && !CLOUD.as_ref().is_some_and(near)
                    && (cued() || possessed(text, word.start(), all.end(), n.end))
            }
        }
    })
}

/// Someone's account (`their account: …`, `her account is …`): an account that is a person's
/// or a business's to be paid into, once a directory's or a cloud's is ruled out.
static POSSESSED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:their|your|his|her|our|my|[a-z]+'s)\s+(?:new\s+|current\s+|own\s+|usual\s+|correct\s+|bank\s+)?$").ok()
});

/// Whether the bare `account` at `word` is someone's, with its number right after it (`their
/// account: 41926819`, `her account is 41926819`) and not a directory's (`their account
/// 41926819 was disabled`). `named_end` is where the words between name and number end, and
/// `number_end` where the number does.
fn possessed(text: &str, word: usize, named_end: usize, number_end: usize) -> bool {
    static BETWEEN: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(
            r"(?i)^account(?:\s*[:#=]|\s+(?:is|now|no\.?|number|nr|num|will\s+be))*[\s:#=]*\d$",
        )
        .ok()
    });
    static DIRECTORY: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?i)^\W*(?:(?:was|is|has\s+been|had\s+been|got|were|been)\s+)?(?:disabled|locked|unlocked|enabled|re-?enabled|created|deleted|suspended|logged|signed|reset|compromised|added|removed|expired|renamed)\b").ok()
    });
    POSSESSED
        .as_ref()
        .is_some_and(|re| re.is_match(near_end(text, word, 30)))
        && BETWEEN
            .as_ref()
            .is_some_and(|re| text.get(word..named_end).is_some_and(|s| re.is_match(s)))
        && !DIRECTORY
            .as_ref()
            .is_some_and(|re| re.is_match(near_start(text, number_end, 60)))
}

/// Whether a sort code named in `text` is where a payment would go: an account number (seven
/// digits or more) stands in the text too, or the text asks for something (a payment, or a
/// clause that opens with `use`, `pay`, `update`…). A sort code alone in a record (`the vendor
/// master had sort code 40-47-84 changed`) names a branch, not an account.
fn sort_code_counts(text: &str, nums: &[Number]) -> bool {
    static ASKS: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?im)(?:^|[.;:!?]\s+)\s*(?:please\s+|pls\s+|kindly\s+)?(?:use|pay|send|wire|transfer|remit|update|change|switch|set|amend)\b").ok()
    });
    nums.iter().any(|n| (7..=17).contains(&n.digits()))
        || requests(text).next().is_some()
        || ASKS.as_ref().is_some_and(|re| re.is_match(text))
}

/// At most `len` bytes of `text` before `at` (on a char boundary): where the words that
/// govern what stands at `at` are. Bounded, so reading them for every match stays linear.
fn near_end(text: &str, at: usize, len: usize) -> &str {
    text.get(floor(text, at.saturating_sub(len))..at)
        .unwrap_or_default()
}

/// At most `len` bytes of `text` from `at` (on a char boundary).
fn near_start(text: &str, at: usize, len: usize) -> &str {
    text.get(at..floor(text, (at + len).min(text.len())))
        .unwrap_or_default()
}

/// The largest char boundary of `s` at or before `i`.
fn floor(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// Whether nine digits pass the ABA routing-number check (weights 3, 7, 1).
fn aba_valid(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    d.len() == 9
        && d.iter()
            .zip([3, 7, 1].iter().cycle())
            .map(|(a, b)| a * b)
            .sum::<u32>()
            % 10
            == 0
        && d.iter().any(|x| *x != 0)
}

/// Where `text` asks for a payment: each pay word or amount of money that no negation
/// governs (`no payment made`, `payment was not sent`, `payment on hold`). A negation
/// governs only the word it stands beside, so "no payment was made last week; pay 41926819
/// today" still asks for one.
fn requests(text: &str) -> impl Iterator<Item = usize> + '_ {
    let pay = PAY.as_ref().into_iter().flat_map(|re| re.find_iter(text));
    let back_office = BACK_OFFICE
        .as_ref()
        .into_iter()
        .flat_map(|re| re.find_iter(text))
        .filter(|m| asked(text, m.start(), m.end()));
    let money = MONEY.as_ref().into_iter().flat_map(|re| re.find_iter(text));
    pay.chain(back_office)
        .filter(|m| !negated(text, m.start(), m.end()))
        .chain(money)
        .map(|m| m.start())
}

/// Verbs of the back office that mean "pay" only when asked for (`please process`, `clear
/// the balance`): `Process 4812 spawned cmd` is not a payment.
static BACK_OFFICE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:process|action|actioned|clear|release|handle|complete|execute|make|send|move|push|approve|authori[sz]e)\b").ok()
});

/// Whether the verb at `start..end` is asked for: after `please`, `kindly`, `can you` or
/// `must`; or at the start of a clause (or after `to`, `and`, `then`, `just`) with a money word
/// (`balance`, `funds`, `payment`, `invoice`, `amount`) among the next few words.
fn asked(text: &str, start: usize, end: usize) -> bool {
    static POLITE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:please|pls|plz|kindly|can\s+you|could\s+you|would\s+you|will\s+you|need\s+you\s+to|must)\s+$").ok()
    });
    static LEADING: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?i)(?:\b(?:to|and|then|just|now|today)\s+|(?:^|[.;:!?\n,\-]\s*))$").ok()
    });
    static MONEY_WORDS: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?i)^\W+(?:\S+\W+){0,4}?(?:balance|funds|payment|payments|invoice|invoices|amount|bill|remittance|money|outstanding|transfer|wire|arrears|dues|settlement|sum|fee|fees|total)\b").ok()
    });
    let before = near_end(text, start, 40);
    let after = near_start(text, end, 120);
    POLITE.as_ref().is_some_and(|re| re.is_match(before))
        || (LEADING.as_ref().is_some_and(|re| re.is_match(before))
            && MONEY_WORDS.as_ref().is_some_and(|re| re.is_match(after)))
}

/// Whether a negation governs the pay word at `start..end`: `no`, `not`, `never`, `without`
/// right before it (an auxiliary or an article between), or `not`, `on hold`, `stopped`,
/// `cancelled` right after it (its auxiliaries, and `to` with the number, between).
fn negated(text: &str, start: usize, end: usize) -> bool {
    static BEFORE: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(?:no|not|never|without|nothing|none|neither|nor|don't|dont|didn't|didnt|doesn't|doesnt|won't|wont|wasn't|wasnt|weren't|werent|isn't|isnt|aren't|arent|hasn't|hasnt|haven't|havent|hadn't|hadnt|cannot|can't|cant|couldn't|shouldn't|wouldn't|n't)(?:\s+(?:be|been|being|yet|any|a|an|the|to|was|were|is|are|has|have|had|ever|further|more|this|that))*\s+$").ok()
    });
    static AFTER: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?i)^\w*(?:\s+(?:to|from|of|for|on)\s+[\w#.\-]+)?(?:\s+(?:was|were|is|are|has|have|had|been|be|being|will|would|yet|already|still|now|then|also|got|get|gets))*\s+(?:not\b|never\b|\w+n't\b|on\s+hold\b|stopped\b|blocked\b|held\b|halted\b|cancell?ed\b|recalled\b|reversed\b|rejected\b|declined\b|refused\b|frozen\b|suspended\b|failed\b|bounced\b|withdrawn\b)").ok()
    });
    let before = near_end(text, start, 80);
    let after = near_start(text, end, 120);
    BEFORE.as_ref().is_some_and(|re| re.is_match(before))
        || AFTER.as_ref().is_some_and(|re| re.is_match(after))
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
fn asked_to_pay_to_a_number(text: &str, nums: &[Number]) -> bool {
    let mut requests: Vec<usize> = requests(text).collect();
    requests.sort_unstable();
    if requests.is_empty() {
        return false;
    }
    nums.iter().any(|n| {
        let before = text.get(..n.start).unwrap_or_default();
        let after = text.get(n.end..).unwrap_or_default();
        let amount = CURRENCY_AROUND
            .as_ref()
            .is_some_and(|re| re.is_match(after))
            || before.trim_end().ends_with(['$', '€', '£', '¥', '₹'])
            || before.trim_end().to_ascii_lowercase().ends_with("eur")
            || before.trim_end().to_ascii_lowercase().ends_with("usd")
            || before.trim_end().to_ascii_lowercase().ends_with("gbp");
        let named_otherwise = labels_the_number(tail_before(text, n.start));
        // The nearest request on either side (`requests` is sorted).
        let next = requests.partition_point(|r| *r < n.start);
        let near = [next.checked_sub(1), Some(next)]
            .into_iter()
            .flatten()
            .filter_map(|i| requests.get(i))
            .any(|r| r.abs_diff(n.start) <= PAYMENT_REACH);
        n.digits() >= 6 && !amount && !named_otherwise && near
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

    /// Numbers spelt out in words are read as their digits, only where they make an account's
    /// length; a negation governs the pay word beside it and no other.
    #[test]
    fn spelt_numbers_and_negations_are_read_where_they_stand() {
        assert_eq!(
            spelt_numbers("to four one nine two six eight one nine, sort"),
            "to 41926819, sort"
        );
        assert_eq!(
            spelt_numbers("sort code forty, forty-seven, eighty-four."),
            "sort code 404784."
        );
        assert_eq!(
            spelt_numbers("FORTY-ONE nine two sixty-eight nineteen"),
            "41926819"
        );
        assert_eq!(spelt_numbers("double four one nine two six"), "441926");
        assert_eq!(
            spelt_numbers("two hosts and one user"),
            "two hosts and one user"
        );
        let negated_at = |t: &str, word: &str| {
            let start = t.find(word).unwrap_or_default();
            negated(t, start, start + word.len())
        };
        assert!(negated_at("no payment made", "payment"));
        assert!(negated_at("the payment was not sent", "payment"));
        assert!(negated_at(
            "payment to 41926819 has not been released",
            "payment"
        ));
        assert!(negated_at("payment on hold", "payment"));
        assert!(negated_at("nothing was paid", "paid"));
        assert!(!negated_at(
            "do not delay the payment to 41926819",
            "payment"
        ));
        assert!(!negated_at("don't call Dan, just pay 41926819", "pay"));
        assert!(!negated_at("pay 41926819 not the old account", "pay"));
        assert!(aba_valid("021000021"));
        assert!(!aba_valid("021000022"));
        assert!(!aba_valid("1020300"));
    }
}
