//! Which of an agent's taint records a human clears. A clear names the newest record in force
//! when the approver looked ([`TaintRecord`]); it stops that record and the older ones, never one
//! recorded after, so a taint raised while the approver was reading the page outlives the clear.

use serde::{Deserialize, Serialize};

/// A taint record's number in the store: records are numbered as they are stored, so every
/// record of an agent stored after this one has a higher number. Printed as `warden taint list`
/// shows it and `warden taint clear --record` takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaintRecord(pub i64);

impl std::fmt::Display for TaintRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A record number that is not one: not a whole number, or below 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a taint record number (as `warden taint list` shows it)")]
pub struct NotARecord(pub String);

impl std::str::FromStr for TaintRecord {
    type Err = NotARecord;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<i64>() {
            Ok(n) if n >= 1 => Ok(Self(n)),
            _ => Err(NotARecord(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_number_reads_back_as_printed_and_nothing_else_reads() {
        let r: TaintRecord = "42".parse().unwrap();
        assert_eq!(r, TaintRecord(42));
        assert_eq!(r.to_string().parse::<TaintRecord>(), Ok(r));
        for bad in ["", "0", "-3", "4x", "1.5", "latest"] {
            assert!(bad.parse::<TaintRecord>().is_err(), "{bad}");
        }
    }
}
