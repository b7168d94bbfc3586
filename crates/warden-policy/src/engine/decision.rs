//! The answer policy gives for one call.
//!
//! A decision's verdict is Allow, Deny, or Hold with the approval it waits for. Only a hold
//! carries an approval kind: "allowed, but needs approval" or "denied, with an approval" are
//! states no value can be in, so the gate never has to ask which of two fields to believe.

use warden_core::Outcome;

/// How many distinct humans must approve a held call: the same type the gate stores with a
/// request (`warden_core::ApprovalKind`), so what policy asked for is what the gate enforces
/// with no translation between two enums.
pub use warden_core::ApprovalKind as Approval;

/// What a decision lets happen. The approval is part of the hold, not a field beside the
/// outcome, so no value says "allow" and "wait for a human" at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Allow,
    Deny,
    /// Held until the approvals this kind asks for are given.
    Hold(Approval),
}

impl Verdict {
    fn outcome(self) -> Outcome {
        match self {
            Verdict::Allow => Outcome::Allow,
            Verdict::Deny => Outcome::Deny,
            Verdict::Hold(_) => Outcome::Hold,
        }
    }

    fn approval(self) -> Option<Approval> {
        match self {
            Verdict::Hold(approval) => Some(approval),
            Verdict::Allow | Verdict::Deny => None,
        }
    }
}

/// A decision and the rule that made it. Only this crate can make one, so a value of this type
/// always comes from policy evaluation (or a built-in denial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub(super) verdict: Verdict,
    pub(super) rule: String,
    pub(super) owner: String,
    pub(super) category: String,
    pub(super) reason: String,
    pub(super) policy_version: String,
    /// The permit that let the call through (for a hold, the permit beneath the hold rule).
    pub(super) permitted_by: Option<String>,
}

impl Decision {
    /// A denial by one of warden's built-in checks (budget, argument check, halt, …), which
    /// never needs Cedar to say no.
    pub fn builtin_deny(
        rule: impl Into<String>,
        owner: impl Into<String>,
        category: impl Into<String>,
        reason: impl Into<String>,
        policy_version: impl Into<String>,
    ) -> Self {
        Self {
            verdict: Verdict::Deny,
            rule: rule.into(),
            owner: owner.into(),
            category: category.into(),
            reason: reason.into(),
            policy_version: policy_version.into(),
            permitted_by: None,
        }
    }
    /// This decision made stricter by one of warden's own rules: an Allow becomes a Hold that
    /// needs one approver (a category whose review fell behind). Anything else is returned as
    /// it was, so this can never loosen a decision.
    pub fn require_approval(
        self,
        rule: impl Into<String>,
        owner: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        if self.verdict != Verdict::Allow {
            return self;
        }
        Self {
            verdict: Verdict::Hold(Approval::Required),
            rule: rule.into(),
            owner: owner.into(),
            reason: reason.into(),
            ..self
        }
    }

    pub fn outcome(&self) -> Outcome {
        self.verdict.outcome()
    }
    pub fn rule(&self) -> &str {
        &self.rule
    }
    pub fn owner(&self) -> &str {
        &self.owner
    }
    pub fn category(&self) -> &str {
        &self.category
    }
    pub fn reason(&self) -> &str {
        &self.reason
    }
    /// The approvals a held call waits for: `Some` exactly when the outcome is Hold.
    pub fn approval(&self) -> Option<Approval> {
        self.verdict.approval()
    }
    pub fn policy_version(&self) -> &str {
        &self.policy_version
    }
    /// The permit rule that allowed the call, when one did (also when a hold rule then held it).
    pub fn permitted_by(&self) -> Option<&str> {
        self.permitted_by.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(verdict: Verdict) -> Decision {
        Decision {
            verdict,
            rule: "r".into(),
            owner: "o".into(),
            category: "c".into(),
            reason: "why".into(),
            policy_version: "v".into(),
            permitted_by: None,
        }
    }

    #[test]
    fn an_approval_comes_only_with_a_hold() {
        for verdict in [
            Verdict::Allow,
            Verdict::Deny,
            Verdict::Hold(Approval::Required),
            Verdict::Hold(Approval::TwoPerson),
        ] {
            let d = decision(verdict);
            assert_eq!(
                d.approval().is_some(),
                d.outcome() == Outcome::Hold,
                "{d:?}"
            );
        }
        assert_eq!(
            decision(Verdict::Hold(Approval::TwoPerson)).approval(),
            Some(Approval::TwoPerson)
        );
    }

    #[test]
    fn requiring_approval_holds_an_allow_and_leaves_anything_else_as_it_was() {
        let held = decision(Verdict::Allow).require_approval("review-overdue", "lead", "late");
        assert_eq!(held.outcome(), Outcome::Hold);
        assert_eq!(held.approval(), Some(Approval::Required));
        assert_eq!(held.rule(), "review-overdue");
        assert_eq!(held.owner(), "lead");
        assert_eq!(held.category(), "c", "the category stays the call's");

        let denied = Decision::builtin_deny("budget", "o", "c", "spent", "v");
        let still = denied
            .clone()
            .require_approval("review-overdue", "lead", "late");
        assert_eq!(still, denied, "a denial is never turned into a hold");
        assert_eq!(still.outcome(), Outcome::Deny);
        assert_eq!(still.approval(), None);

        // A two-person hold is not weakened to one approver.
        let two = decision(Verdict::Hold(Approval::TwoPerson));
        let still = two
            .clone()
            .require_approval("review-overdue", "lead", "late");
        assert_eq!(still, two);
        assert_eq!(still.approval(), Some(Approval::TwoPerson));
    }
}
