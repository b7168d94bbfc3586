//! The approval state machine: who may answer a held call, and what the answer does.
//!
//! Pure: a request and an answer in, the new request or a refusal out. The rules a security team
//! expects are all here, in one place:
//! - only a named approver of the request's category may answer, with a reason;
//! - the agent that asked never approves (an approver id equal to the requesting principal is
//!   refused, whatever the config says);
//! - a two-person request needs two different approvers; one person answering twice counts once;
//! - one denial denies; expiry denies; an answered request cannot be answered again;
//! - an approval is used once: `consume` moves it to `executed`, and only an `approved` request
//!   bound to the same principal, session, tool, argument digest and policy version matches.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Approved,
    Denied,
    Expired,
    Executed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Expired => "expired",
            Status::Executed => "executed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [
            Status::Pending,
            Status::Approved,
            Status::Denied,
            Status::Expired,
            Status::Executed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub approver: String,
    pub approve: bool,
    pub reason: String,
    pub at_ms: i64,
}

/// What the state machine needs of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub principal: String,
    pub category: String,
    pub approvals_needed: u8,
    pub expires_ms: i64,
    pub status: Status,
    pub answers: Vec<Answer>,
}

/// Who may answer what: approver id → categories.
#[derive(Debug, Clone, Default)]
pub struct Approvers {
    by_id: BTreeMap<String, Vec<String>>,
}

impl Approvers {
    pub fn new(by_id: BTreeMap<String, Vec<String>>) -> Self {
        Self { by_id }
    }

    pub fn may_answer(&self, approver: &str, category: &str) -> bool {
        self.by_id
            .get(approver)
            .is_some_and(|cats| cats.iter().any(|c| c == category || c == "*"))
    }

    /// The approvers of `category`, for notifications.
    pub fn of(&self, category: &str) -> Vec<String> {
        self.by_id
            .iter()
            .filter(|(_, cats)| cats.iter().any(|c| c == category || c == "*"))
            .map(|(id, _)| id.clone())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("request is {0}, not pending")]
    NotPending(&'static str),
    #[error("request expired; expiry means deny")]
    Expired,
    #[error("`{0}` is not an approver for category `{1}`")]
    NotAnApprover(String, String),
    #[error("the agent that asked cannot approve its own request")]
    Requester,
    #[error("an answer needs a reason")]
    NoReason,
    #[error("`{0}` has already answered; a second, different approver is needed")]
    AlreadyAnswered(String),
}

/// Applies an answer. On `Err` the ticket is unchanged — except that an expired pending request
/// is moved to `Expired` (and the caller should record that).
pub fn answer(
    ticket: &mut Ticket,
    approvers: &Approvers,
    approver: &str,
    approve: bool,
    reason: &str,
    now_ms: i64,
) -> Result<Status, Refusal> {
    if expire(ticket, now_ms) {
        return Err(Refusal::Expired);
    }
    if ticket.status != Status::Pending {
        return Err(Refusal::NotPending(ticket.status.as_str()));
    }
    if approver == ticket.principal {
        return Err(Refusal::Requester);
    }
    if !approvers.may_answer(approver, &ticket.category) {
        return Err(Refusal::NotAnApprover(
            approver.to_string(),
            ticket.category.clone(),
        ));
    }
    if reason.trim().is_empty() {
        return Err(Refusal::NoReason);
    }
    if ticket.answers.iter().any(|a| a.approver == approver) {
        return Err(Refusal::AlreadyAnswered(approver.to_string()));
    }
    ticket.answers.push(Answer {
        approver: approver.to_string(),
        approve,
        reason: reason.trim().to_string(),
        at_ms: now_ms,
    });
    let approvals = ticket.answers.iter().filter(|a| a.approve).count();
    ticket.status = if !approve {
        Status::Denied
    } else if approvals >= usize::from(ticket.approvals_needed.max(1)) {
        Status::Approved
    } else {
        Status::Pending
    };
    Ok(ticket.status)
}

/// Moves a pending or approved-but-unused request past its expiry to `Expired`.
pub fn expire(ticket: &mut Ticket, now_ms: i64) -> bool {
    if matches!(ticket.status, Status::Pending | Status::Approved) && now_ms >= ticket.expires_ms {
        ticket.status = Status::Expired;
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approvers() -> Approvers {
        Approvers::new(BTreeMap::from([
            ("alice".to_string(), vec!["containment".to_string()]),
            (
                "bob".to_string(),
                vec!["containment".to_string(), "identity".to_string()],
            ),
            ("responder".to_string(), vec!["*".to_string()]),
        ]))
    }

    fn ticket(needed: u8) -> Ticket {
        Ticket {
            principal: "responder".into(),
            category: "containment".into(),
            approvals_needed: needed,
            expires_ms: 1_000,
            status: Status::Pending,
            answers: vec![],
        }
    }

    #[test]
    fn one_approver_approves_a_single_approval_request() {
        let mut t = ticket(1);
        assert_eq!(
            answer(
                &mut t,
                &approvers(),
                "alice",
                true,
                "host is compromised",
                10
            ),
            Ok(Status::Approved)
        );
        assert_eq!(t.answers.len(), 1);
        assert_eq!(
            answer(&mut t, &approvers(), "bob", false, "late", 11),
            Err(Refusal::NotPending("approved"))
        );
    }

    #[test]
    fn two_person_needs_two_different_people() {
        let mut t = ticket(2);
        assert_eq!(
            answer(&mut t, &approvers(), "alice", true, "yes", 10),
            Ok(Status::Pending)
        );
        assert_eq!(
            answer(&mut t, &approvers(), "alice", true, "yes again", 11),
            Err(Refusal::AlreadyAnswered("alice".into()))
        );
        assert_eq!(t.status, Status::Pending);
        assert_eq!(
            answer(&mut t, &approvers(), "bob", true, "agreed", 12),
            Ok(Status::Approved)
        );
    }

    #[test]
    fn the_requester_never_approves_even_if_configured_as_approver() {
        let mut t = ticket(1);
        assert_eq!(
            answer(&mut t, &approvers(), "responder", true, "trust me", 10),
            Err(Refusal::Requester)
        );
        assert_eq!(t.status, Status::Pending);
        assert!(t.answers.is_empty());
    }

    #[test]
    fn only_approvers_of_the_category_with_a_reason() {
        let mut t = ticket(1);
        t.category = "identity".into();
        assert!(matches!(
            answer(&mut t, &approvers(), "alice", true, "x", 10),
            Err(Refusal::NotAnApprover(..))
        ));
        assert!(matches!(
            answer(&mut t, &approvers(), "mallory", true, "x", 10),
            Err(Refusal::NotAnApprover(..))
        ));
        assert_eq!(
            answer(&mut t, &approvers(), "bob", true, "  ", 10),
            Err(Refusal::NoReason)
        );
        assert_eq!(t.status, Status::Pending);
    }

    #[test]
    fn a_denial_denies_and_expiry_denies() {
        let mut t = ticket(2);
        answer(&mut t, &approvers(), "alice", true, "ok", 10).unwrap();
        assert_eq!(
            answer(&mut t, &approvers(), "bob", false, "not this host", 11),
            Ok(Status::Denied)
        );

        let mut t = ticket(1);
        assert_eq!(
            answer(&mut t, &approvers(), "alice", true, "ok", 1_000),
            Err(Refusal::Expired)
        );
        assert_eq!(t.status, Status::Expired);
    }
}
