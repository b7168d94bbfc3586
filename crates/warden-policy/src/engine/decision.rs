//! The answer policy gives for one call.

use warden_core::Outcome;

/// How many distinct humans must approve a held call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Approval {
    Required,
    TwoPerson,
}

/// A decision and the rule that made it. Only this crate can make one, so a value of this type
/// always comes from policy evaluation (or a built-in denial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub(super) outcome: Outcome,
    pub(super) rule: String,
    pub(super) owner: String,
    pub(super) category: String,
    pub(super) reason: String,
    pub(super) approval: Option<Approval>,
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
            outcome: Outcome::Deny,
            rule: rule.into(),
            owner: owner.into(),
            category: category.into(),
            reason: reason.into(),
            approval: None,
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
        if self.outcome != Outcome::Allow {
            return self;
        }
        Self {
            outcome: Outcome::Hold,
            rule: rule.into(),
            owner: owner.into(),
            reason: reason.into(),
            approval: Some(Approval::Required),
            ..self
        }
    }

    pub fn outcome(&self) -> Outcome {
        self.outcome
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
    pub fn approval(&self) -> Option<Approval> {
        self.approval
    }
    pub fn policy_version(&self) -> &str {
        &self.policy_version
    }
    /// The permit rule that allowed the call, when one did (also when a hold rule then held it).
    pub fn permitted_by(&self) -> Option<&str> {
        self.permitted_by.as_deref()
    }
}
