//! The human gate's vocabulary: where a held call stands, what kind of approval it needs, and
//! what one approver answered.
//!
//! Each is an enum stored and read by name. An unknown name is an error, never a default: a
//! store row that says `aproved` (or anything else warden did not write) must not be read as
//! some state that lets a call through — nor silently as "denied", which hides the tampering.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A name that is not one of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a known {what}")]
pub struct UnknownName {
    pub what: &'static str,
    pub value: String,
}

/// Where a held call's request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApprovalStatus {
    /// Waiting for answers.
    Pending,
    /// Humans approved it; the agent's retry of exactly this call may run, once.
    Approved,
    /// An approver said no. Final.
    Denied,
    /// Nobody answered in time, or a halt ended it: expiry means deny. Final.
    Expired,
    /// The approved call was forwarded. Final: an approval is used once.
    Executed,
}

impl ApprovalStatus {
    pub const ALL: [ApprovalStatus; 5] = [
        Self::Pending,
        Self::Approved,
        Self::Denied,
        Self::Expired,
        Self::Executed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Denied => "denied",
            Self::Expired => "expired",
            Self::Executed => "executed",
        }
    }

    /// Still able to change: waiting for answers, or approved and not yet used.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Pending | Self::Approved)
    }
}

impl fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApprovalStatus {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "approval status",
                value: s.to_string(),
            })
    }
}

/// What a hold rule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ApprovalKind {
    /// One approver of the category.
    #[serde(rename = "required")]
    Required,
    /// Two different approvers of the category.
    #[serde(rename = "two-person")]
    TwoPerson,
}

impl ApprovalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::TwoPerson => "two-person",
        }
    }

    /// How many distinct approvers must say yes.
    pub fn approvals_needed(self) -> u8 {
        match self {
            Self::Required => 1,
            Self::TwoPerson => 2,
        }
    }
}

impl fmt::Display for ApprovalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApprovalKind {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        [Self::Required, Self::TwoPerson]
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownName {
                what: "approval kind",
                value: s.to_string(),
            })
    }
}

/// One approver's answer. Stored as the boolean `approve` that earlier versions wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "bool", into = "bool")]
pub enum Verdict {
    Approve,
    Deny,
}

impl Verdict {
    /// The ledger step that records this answer.
    pub fn step(self) -> &'static str {
        match self {
            Self::Approve => "approved",
            Self::Deny => "denied",
        }
    }
}

impl From<bool> for Verdict {
    fn from(approve: bool) -> Self {
        if approve { Self::Approve } else { Self::Deny }
    }
}

impl From<Verdict> for bool {
    fn from(v: Verdict) -> bool {
        v == Verdict::Approve
    }
}

/// A reviewer's judgement of one past decision (`review_verdict`): a check on policy after the
/// fact, not an answer to a held call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Judgement {
    Correct,
    /// Too strict or too loose: the reviewer's note says how.
    Wrong,
}

impl Judgement {
    /// As recorded in the event's `detail.verdict`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Correct => "correct",
            Self::Wrong => "wrong",
        }
    }

    /// The recorded name back; `None` for any other text.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "correct" => Some(Self::Correct),
            "wrong" => Some(Self::Wrong),
            _ => None,
        }
    }
}

/// One human's answer to a held call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalAnswer {
    pub approver: String,
    #[serde(rename = "approve")]
    pub verdict: Verdict,
    pub reason: String,
    pub at_ms: i64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn every_status_reads_back_and_an_unknown_one_is_an_error() {
        for s in ApprovalStatus::ALL {
            assert_eq!(s.as_str().parse::<ApprovalStatus>(), Ok(s));
            assert_eq!(
                serde_json::from_value::<ApprovalStatus>(serde_json::json!(s.as_str())).unwrap(),
                s
            );
        }
        for bad in ["aproved", "Approved", "", "approved ", "ok"] {
            assert!(bad.parse::<ApprovalStatus>().is_err(), "{bad}");
            assert!(serde_json::from_value::<ApprovalStatus>(serde_json::json!(bad)).is_err());
        }
        assert!("one-person".parse::<ApprovalKind>().is_err());
    }

    #[test]
    fn answers_keep_the_stored_shape() {
        let a = ApprovalAnswer {
            approver: "bob".into(),
            verdict: Verdict::Deny,
            reason: "no".into(),
            at_ms: 3,
        };
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(v["approve"], false);
        assert_eq!(serde_json::from_value::<ApprovalAnswer>(v).unwrap(), a);
    }
}
