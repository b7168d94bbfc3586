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

use std::collections::BTreeMap;
use warden_core::{ApprovalAnswer, ApprovalStatus, Verdict};
use warden_store::PendingRequest;

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

/// Applies an answer to `request` (its status and answers). On `Err` the request is unchanged
/// — except that an expired open request is moved to `Expired` (and the caller records that).
pub fn answer(
    request: &mut PendingRequest,
    approvers: &Approvers,
    approver: &str,
    verdict: Verdict,
    reason: &str,
    now_ms: i64,
) -> Result<ApprovalStatus, Refusal> {
    if expire(request, now_ms) {
        return Err(Refusal::Expired);
    }
    if request.status != ApprovalStatus::Pending {
        return Err(Refusal::NotPending(request.status.as_str()));
    }
    if approver == request.principal {
        return Err(Refusal::Requester);
    }
    if !approvers.may_answer(approver, &request.category) {
        return Err(Refusal::NotAnApprover(
            approver.to_string(),
            request.category.clone(),
        ));
    }
    if reason.trim().is_empty() {
        return Err(Refusal::NoReason);
    }
    if request.answers.iter().any(|a| a.approver == approver) {
        return Err(Refusal::AlreadyAnswered(approver.to_string()));
    }
    request.answers.push(ApprovalAnswer {
        approver: approver.to_string(),
        verdict,
        reason: reason.trim().to_string(),
        at_ms: now_ms,
    });
    request.status = match verdict {
        Verdict::Deny => ApprovalStatus::Denied,
        Verdict::Approve if request.approvals() >= usize::from(request.approvals_needed()) => {
            ApprovalStatus::Approved
        }
        Verdict::Approve => ApprovalStatus::Pending,
    };
    Ok(request.status)
}

/// Moves a pending or approved-but-unused request past its expiry to `Expired`.
pub fn expire(request: &mut PendingRequest, now_ms: i64) -> bool {
    if request.status.is_open() && now_ms >= request.expires_ms {
        request.status = ApprovalStatus::Expired;
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

    fn ticket(needed: u8) -> PendingRequest {
        serde_json::from_value(serde_json::json!({
            "id": "apr_1", "created_ms": 0, "principal": "responder", "session": "s",
            "tool": "edr.isolate_host", "args": {}, "args_digest": "sha256:00",
            "policy_version": "v", "rule": "r",
            "approval": if needed == 2 { "two-person" } else { "required" },
            "status": "pending", "rationale": null, "category": "containment",
            "expires_ms": 1_000
        }))
        .unwrap()
    }

    #[test]
    fn one_approver_approves_a_single_approval_request() {
        let mut t = ticket(1);
        assert_eq!(
            answer(
                &mut t,
                &approvers(),
                "alice",
                Verdict::Approve,
                "host is compromised",
                10
            ),
            Ok(ApprovalStatus::Approved)
        );
        assert_eq!(t.answers.len(), 1);
        assert_eq!(
            answer(&mut t, &approvers(), "bob", Verdict::Deny, "late", 11),
            Err(Refusal::NotPending("approved"))
        );
    }

    #[test]
    fn two_person_needs_two_different_people() {
        let mut t = ticket(2);
        assert_eq!(
            answer(&mut t, &approvers(), "alice", Verdict::Approve, "yes", 10),
            Ok(ApprovalStatus::Pending)
        );
        assert_eq!(
            answer(
                &mut t,
                &approvers(),
                "alice",
                Verdict::Approve,
                "yes again",
                11
            ),
            Err(Refusal::AlreadyAnswered("alice".into()))
        );
        assert_eq!(t.status, ApprovalStatus::Pending);
        assert_eq!(
            answer(&mut t, &approvers(), "bob", Verdict::Approve, "agreed", 12),
            Ok(ApprovalStatus::Approved)
        );
    }

    #[test]
    fn the_requester_never_approves_even_if_configured_as_approver() {
        let mut t = ticket(1);
        assert_eq!(
            answer(
                &mut t,
                &approvers(),
                "responder",
                Verdict::Approve,
                "trust me",
                10
            ),
            Err(Refusal::Requester)
        );
        assert_eq!(t.status, ApprovalStatus::Pending);
        assert!(t.answers.is_empty());
    }

    #[test]
    fn only_approvers_of_the_category_with_a_reason() {
        let mut t = ticket(1);
        t.category = "identity".into();
        assert!(matches!(
            answer(&mut t, &approvers(), "alice", Verdict::Approve, "x", 10),
            Err(Refusal::NotAnApprover(..))
        ));
        assert!(matches!(
            answer(&mut t, &approvers(), "mallory", Verdict::Approve, "x", 10),
            Err(Refusal::NotAnApprover(..))
        ));
        assert_eq!(
            answer(&mut t, &approvers(), "bob", Verdict::Approve, "  ", 10),
            Err(Refusal::NoReason)
        );
        assert_eq!(t.status, ApprovalStatus::Pending);
    }

    #[test]
    fn a_denial_denies_and_expiry_denies() {
        let mut t = ticket(2);
        answer(&mut t, &approvers(), "alice", Verdict::Approve, "ok", 10).unwrap();
        assert_eq!(
            answer(
                &mut t,
                &approvers(),
                "bob",
                Verdict::Deny,
                "not this host",
                11
            ),
            Ok(ApprovalStatus::Denied)
        );

        let mut t = ticket(1);
        assert_eq!(
            answer(&mut t, &approvers(), "alice", Verdict::Approve, "ok", 1_000),
            Err(Refusal::Expired)
        );
        assert_eq!(t.status, ApprovalStatus::Expired);
    }
}
