//! Prompt-injection screening of untrusted text: tool results, upstream tool descriptions and any
//! other text an agent reads but nobody vouched for.
//!
//! The crate is pure: values in, values out. [`Screen::scan`] runs three stages in one place
//! ([`screen`]):
//!
//! 1. [`normalise`] undoes the tricks that hide text from a reader or a regex (NFKC, invisible and
//!    bidi characters, Unicode tag smuggling, mixed-script homoglyphs, encoded runs, HTML hidden
//!    text) and keeps a map back to the original bytes. Every trick found is itself a finding.
//! 2. [`detect`] runs rule detectors (instruction override, role switch, fake chat or tool-call
//!    markup, exfiltration URLs) over the normalised text; [`model`] scores it with a small
//!    model shipped in the crate (hashed n-grams and sentence-form cues, a linear part and a
//!    small hidden layer).
//! 3. The evidence is combined into one score in `0..=1` and a [`Verdict`] (see [`screen`] for the
//!    formula). Text that holds JSON goes through 1–3 twice: as it is, and as the decoded strings
//!    of its JSON, where escapes and punctuation no longer hide what a reader of the value reads;
//!    there the model also scores each value of a few words on its own, so that a short value is
//!    not diluted by the keys and values around it (as it does for `key: value` lines, and for
//!    each sentence of prose).
//!
//! [`outbound`] is a separate screen for text an agent wants to *write* (mail, ticket comments):
//! links to outside or lookalike hosts, instructions planted for other agents, secrets and blobs.
//!
//! [`spotlight`] holds the helpers the gateway uses to hand untrusted text to a model as data.
//! Every stage is linear in the input (bounded decoding, `regex` automata), and nothing panics.

pub mod detect;
mod finding;
pub mod model;
pub mod normalise;
pub mod outbound;
pub mod screen;
pub mod spotlight;

pub use finding::{Finding, FindingKind};
pub use model::{Model, ModelError};
pub use normalise::{Normalised, normalise};
pub use outbound::{
    LinkCarrier, Outbound, OutboundConfig, OutboundFinding, OutboundKind, OutboundLink,
    OutboundReport,
};
pub use screen::{Report, Screen, ScreenConfig, Verdict};
pub use spotlight::{Provenance, datamark, redact_spans, wrap_untrusted};
