//! What a detector reports. A finding always points at bytes of the *original* text, so the
//! gateway can redact or quote exactly what the agent would have read.

use std::ops::Range;

use serde::Serialize;

/// The class of evidence. Kept coarse on purpose: the ledger and OCSF output group by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// "Ignore previous instructions", "new instructions:", and translations.
    InstructionOverride,
    /// "You are now …", "act as an AI agent that must …", text addressed to the model.
    RoleSwitch,
    /// Chat-template or tool-call markup that only a model runtime should produce.
    FakeMarkup,
    /// Text a human reader would not see: invisible characters, tag smuggling, HTML hidden
    /// elements and comments, homoglyphs.
    HiddenText,
    /// An encoded run (base64, hex, %-escapes, HTML references) that decoded to readable text.
    EncodedText,
    /// A URL to an outside host that would carry data out (markdown image, link, `<img>`).
    Exfiltration,
    /// The learned model scored a part of the text as an injection.
    Model,
    /// The screen could not use its model; the score is raised so that this fails closed.
    ModelUnavailable,
    /// Content the screen cannot read (an image or audio a tool returned, which a model may
    /// read text from): counted as suspicious, so that it fails closed.
    Unscreenable,
}

impl FindingKind {
    /// Stable lower-case name, used in summaries and redaction markers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InstructionOverride => "instruction-override",
            Self::RoleSwitch => "role-switch",
            Self::FakeMarkup => "fake-markup",
            Self::HiddenText => "hidden-text",
            Self::EncodedText => "encoded-text",
            Self::Exfiltration => "exfiltration",
            Self::Model => "model",
            Self::ModelUnavailable => "model-unavailable",
            Self::Unscreenable => "unscreenable",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// Short, fixed-vocabulary explanation; never echoes the matched text, so it is safe to
    /// log and to show to the agent.
    pub detail: String,
    /// Byte range in the original text; always on `char` boundaries.
    pub span: Range<usize>,
    /// Strength of this evidence alone, `0..=1`, on the same scale as [`crate::Report::score`]:
    /// a finding at or above the suspicious threshold makes the text suspicious by itself.
    pub score: f32,
}
