//! Outbound screening: free text an agent wants to *write* (a mail subject or body, a ticket
//! comment, an incident resolution), read before policy decides whether the write goes out.
//!
//! The inbound [`Screen`](crate::Screen) asks "would this text steer the agent that reads it?".
//! Here the agent is the author and may be compromised: a permitted write tool becomes the
//! weapon, and the harm is in the content. The screen looks for the *causes* of that harm, not
//! for known strings, so rephrasing an attack does not step around it:
//!
//! | cause | detector | module |
//! | --- | --- | --- |
//! | a click or a render sends the reader somewhere outside | every link target, in every carrier a client renders (Markdown read by a CommonMark parser, HTML attributes read by a WHATWG tokenizer, CSS `url()`, bare and scheme-less URLs, `mailto:`, UNC paths), and every address written inside a link's own address (a redirect's destination, percent-encoded or not, with or without `//`, in the query or the path, three deep), is resolved to a host and compared with the internal domains | `links`, `domain` |
//! | the host only *looks* internal | UTS 39 confusable skeletons plus a visual fold (`0→o`, `1/i→l`, `rn→m`, …), the internal name embedded in another registered domain, one or two edits away, or hidden behind `internal@` userinfo | `domain` |
//! | the host is written in another script | IDNA decoding of punycode, mixed-script and whole-script-confusable labels | `domain` |
//! | the visible text promises another place | the host a link's text names (or the internal brand it names) differs from its target | `links` |
//! | the text addresses other readers as instructions | cues (addressing AI or automation, fake platform notices, forged authority, directives that weaken containment, leave an intruder's foothold in place, wave held requests through or stop analysis, coach the approver, urgency) scored in a sliding window, plus the crate's override and chat-markup phrase rules; no cue alone decides except addressing an AI, a directive that names the host, account or ticket to release, enable, close or delete, one that lifts containment or restores access whatever its object (a pronoun, "everything", none: "turn it back on", "OK to release"), and telling the approver to approve such a request; a verdict handed over with a stand-down directive that names nothing ("false positive, close it") counts too | `instructions` |
//! | the text says where money should go | an IBAN with valid check digits however it is spaced or cased, an account, routing, sort-code or SWIFT/BIC number named as such (words between, or a bare name with a bank or a payment beside it), a UK account and sort code side by side, a crypto address whose checksum holds, or a payment asked for (and not taken back by a negation beside it) near a long number; numbers spelt in words or grouped with any dash, space or dot too | `payment` |
//! | the text carries what must not leave | credential formats and assignments, a password given in a sentence (in English or another language) or as a record's field (the word and the value side by side, a lower-case value, a login and its password split by a space or a comma), a password on a command line, a one-time or recovery code with its digits, a key or a token named with its value, and long encoded blobs (with hash lengths exempt) | `secrets` |
//! | the text is one the screen has not read | a passage mostly in another language's function words, a dozen letters of another script, a sentence of words with letters English does not use, a passage mostly of words no English lexicon holds (any casing), a sentence with no English function word, a run of clauses with no English word but function words, one word of no English lexicon beside an id in a clause of its own, words spelt with digits for letters; a reader's cap reached (links, candidates, attributes, decoding); link or tag syntax the parsers did not read as a link or a tag | `language`, `links`, `normalise` |
//! | the text hides from the person who reads it | Unicode tag characters, variation-selector bytes; any HTML comment, styling or hiding attribute (a font face too), shrinking elements nested three deep, element not shown as text, long image alternative text, markdown reference used as a comment | `normalise`, `markup` |
//!
//! Defanged links (`hxxps://evil[.]com`, `bob[at]evil[.]com`, `evil dot com/x`) are links: a
//! human follows them and some clients re-fang them. They are rewritten before links are read
//! (`defang`), checked like any other link, and marked `defanged` in the report and its details,
//! so a SOC note quoting an indicator can be told apart by policy without hiding the link.
//!
//! Two views of the text are read. Links are read from a *visible* view: HTML character
//! references decoded, invisible, bidi, tag and selector characters dropped, NFKC applied, but
//! no homoglyph folding, because a Cyrillic `о` inside a host is the evidence. Instructions and
//! secrets are read from the crate's [`normalise`] output as well, so homoglyph spelling, zero-width
//! splitting and base64/hex wrapping do not hide them.
//!
//! The screen is pure and total: values in, a [`OutboundReport`] out, every pass linear in the
//! input (regex automata, bounded windows) with fixed caps on links and findings, and no panics.
//! It reports evidence; whether an external link or a secret may leave is policy's decision.

mod defang;
mod domain;
mod handed;
mod instructions;
mod language;
mod links;
mod markup;
mod payment;
mod secrets;
mod subjects;

use serde::Serialize;
pub use subjects::{Subject, subjects};

use crate::normalise::normalise;
use domain::Internal;

/// Most links kept in a report; a text with more is long past any review anyway.
const MAX_LINKS: usize = 256;
/// Most findings kept in a report.
const MAX_FINDINGS: usize = 64;

/// Settings of the outbound screen.
#[derive(Debug, Clone, Default)]
pub struct OutboundConfig {
    /// The organisation's own domains, e.g. `northwind.example`. A host equal to one of them or
    /// under it is internal; a host that imitates one is a lookalike. Empty means every link is
    /// external and nothing can be a lookalike.
    pub internal_domains: Vec<String>,
}

/// The outbound screen, with its internal domains resolved once.
#[derive(Debug, Clone)]
pub struct Outbound {
    internal: Vec<Internal>,
}

/// How a link reaches the reader; images and embeds load without a click.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkCarrier {
    /// `[text](url)` or a reference-style markdown link.
    MarkdownLink,
    /// `![alt](url)` or a reference-style markdown image.
    MarkdownImage,
    /// `<a href>`, `<area href>`, `<form action>`.
    HtmlLink,
    /// Fetched on render: `<img src>`, `srcset`, `<iframe>`, `poster`, `background`, CSS `url()`.
    HtmlEmbed,
    /// A bare URL with a scheme.
    Url,
    /// A bare host name without a scheme (`www.example.com`, `login.example.com/reset`).
    Domain,
    /// A `mailto:` link or a bare mail address. Addresses are checked for lookalike and
    /// homograph hosts but are not external *links*.
    Email,
    /// A Windows UNC path (`\\host\share`); opening one sends the user's NTLM credentials.
    UncPath,
}

/// One link target found in the text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboundLink {
    /// The target as written (invisible characters removed), cut at 2 KiB.
    pub url: String,
    /// Host, lower-cased and IDNA-decoded to Unicode where possible, so a homograph shows.
    pub host: String,
    /// Registered domain of the host (last two labels, three under a known multi-label public
    /// suffix), used to compare hosts; an IP literal is its own registered domain.
    pub registered_domain: String,
    /// Host is one of the internal domains or under one, or an address no one outside the
    /// organisation can serve (loopback, link-local, a private range).
    pub internal: bool,
    /// Loaded by rendering the text, without a click.
    pub image: bool,
    /// Written defanged (`hxxps://`, `[.]`, `[at]`, ` dot `): not clickable as written, but a
    /// reader or a re-fanging client still follows it. Quoted indicators look like this too.
    pub defanged: bool,
    pub carrier: LinkCarrier,
}

/// The class of an outbound finding; each sets the [`OutboundReport`] flag of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundKind {
    ExternalLink,
    LookalikeLink,
    HomographLink,
    LinkTextMismatch,
    ImageLink,
    AgentInstructions,
    Secret,
    EncodedBlob,
    ExternalAddress,
    Concealed,
    Unread,
    PaymentDetails,
}

impl OutboundKind {
    /// Every kind, in report order.
    pub const ALL: [OutboundKind; 12] = [
        Self::ExternalLink,
        Self::LookalikeLink,
        Self::HomographLink,
        Self::LinkTextMismatch,
        Self::ImageLink,
        Self::AgentInstructions,
        Self::Secret,
        Self::EncodedBlob,
        Self::ExternalAddress,
        Self::Concealed,
        Self::Unread,
        Self::PaymentDetails,
    ];

    /// Stable name, equal to the report field it sets.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExternalLink => "external_link",
            Self::LookalikeLink => "lookalike_link",
            Self::HomographLink => "homograph_link",
            Self::LinkTextMismatch => "link_text_mismatch",
            Self::ImageLink => "image_link",
            Self::AgentInstructions => "agent_instructions",
            Self::Secret => "secret",
            Self::EncodedBlob => "encoded_blob",
            Self::ExternalAddress => "external_address",
            Self::Concealed => "concealed",
            Self::Unread => "unread",
            Self::PaymentDetails => "payment_details",
        }
    }
}

impl std::fmt::Display for OutboundKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboundFinding {
    pub kind: OutboundKind,
    /// Short and human-readable; names the host where there is one, never a secret's value.
    pub detail: String,
}

/// What the outbound screen found. Every flag has at least one finding of its kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OutboundReport {
    /// Every link target found (at most 256).
    pub links: Vec<OutboundLink>,
    /// A link (not a bare mail address) whose host is not internal.
    pub external_link: bool,
    /// An external link written live, not defanged: one click (or a render) away. Not a flag of
    /// its own (no finding; `external_link` is raised with it): it tells a note quoting a
    /// defanged indicator (`hxxps://c2[.]example`) apart from a link to follow.
    pub live_external_link: bool,
    /// A link or address host that imitates an internal domain.
    pub lookalike_link: bool,
    /// An IDN host: punycode, non-ASCII, mixed-script or whole-script-confusable labels.
    pub homograph_link: bool,
    /// A link whose visible text names another host, or the internal name, than its target.
    pub link_text_mismatch: bool,
    /// An image or other render-fetched resource on a host that is not internal.
    pub image_link: bool,
    /// Text that instructs other readers (AI agents, automation, responders) or forges a notice
    /// or authority to make them stand down.
    pub agent_instructions: bool,
    /// A credential: private key, cloud or SaaS token, JWT, bearer token, password assignment.
    pub secret: bool,
    /// A long base64, base32 or hex blob, or a run that decodes to hidden text.
    pub encoded_blob: bool,
    /// A mail address at a host that is not internal: in a note to a colleague, where data
    /// may be sent. (Not an external *link*: an analyst quotes a phish's sender.)
    pub external_address: bool,
    /// An external mail address written live, not defanged (`x[@]evil[.]example` is not): a
    /// destination a reader can send to as written. Not a flag of its own (no finding;
    /// `external_address` is raised with it): it tells a phish's sender quoted as an indicator
    /// apart from an address to send things to.
    pub live_external_address: bool,
    /// Text a person reading the write would not see but a model would: Unicode tag
    /// characters, bytes in variation selectors, words in an HTML comment or hidden element.
    pub concealed: bool,
    /// The text holds more than the screen reads (links, candidates or attributes past a
    /// cap), or a passage in a language or script its English cues do not read: what the screen
    /// did not read cannot be called clean.
    pub unread: bool,
    /// Where a payment would go: an IBAN (check digits valid), a bank account, routing,
    /// sort-code or SWIFT/BIC number named as such, a crypto address (checksum valid), or a
    /// payment asked for beside a long number.
    pub payment_details: bool,
    /// What the text is about among the subjects a write may not touch unattended (sign-in
    /// secrets, payments), in any phrasing: no finding and not `flagged`, for policy to read
    /// ([`subjects`]).
    pub subjects: Vec<Subject>,
    /// The evidence, in detector order (at most 64).
    pub findings: Vec<OutboundFinding>,
}

impl OutboundReport {
    /// What a link reading could not read: past its caps, or syntax no parser took for a link
    /// or a tag.
    fn unread_in(&mut self, found: &links::Extracted) {
        if found.overflowed {
            self.add(
                OutboundKind::Unread,
                "more links or link-like text than the screen reads: the rest was not checked"
                    .to_owned(),
            );
        }
        if let Some(what) = &found.misread {
            self.add(
                OutboundKind::Unread,
                format!("{what}: another renderer may draw it, so it was not checked"),
            );
        }
    }

    /// Adds what `other` found (another text of the same call, or another reading of it) to
    /// this report: every flag it raised, and the links and findings this one does not have yet
    /// (within the caps).
    pub fn absorb(&mut self, other: OutboundReport) {
        for link in other.links {
            if self.links.len() < MAX_LINKS
                && !self
                    .links
                    .iter()
                    .any(|l| l.url == link.url && l.carrier == link.carrier)
            {
                self.links.push(link);
            }
        }
        self.external_link |= other.external_link;
        self.live_external_link |= other.live_external_link;
        self.lookalike_link |= other.lookalike_link;
        self.homograph_link |= other.homograph_link;
        self.link_text_mismatch |= other.link_text_mismatch;
        self.image_link |= other.image_link;
        self.agent_instructions |= other.agent_instructions;
        self.secret |= other.secret;
        self.encoded_blob |= other.encoded_blob;
        self.external_address |= other.external_address;
        self.live_external_address |= other.live_external_address;
        self.concealed |= other.concealed;
        self.unread |= other.unread;
        self.payment_details |= other.payment_details;
        for s in other.subjects {
            if !self.subjects.contains(&s) {
                self.subjects.push(s);
            }
        }
        self.subjects.sort_unstable();
        for f in other.findings {
            self.add(f.kind, f.detail);
        }
    }

    /// Whether any detector fired.
    pub fn flagged(&self) -> bool {
        self.external_link
            || self.lookalike_link
            || self.homograph_link
            || self.link_text_mismatch
            || self.image_link
            || self.agent_instructions
            || self.secret
            || self.encoded_blob
            || self.external_address
            || self.concealed
            || self.unread
            || self.payment_details
    }

    /// One line for logs and approval prompts: the flags raised and the first few details.
    pub fn summary(&self) -> String {
        if !self.flagged() {
            return "outbound text clean".to_owned();
        }
        let mut kinds: Vec<OutboundKind> = self.findings.iter().map(|f| f.kind).collect();
        kinds.sort();
        kinds.dedup();
        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let details: Vec<&str> = self
            .findings
            .iter()
            .take(4)
            .map(|f| f.detail.as_str())
            .collect();
        let more = self.findings.len().saturating_sub(4);
        let tail = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        format!("{}: {}{tail}", names.join(", "), details.join("; "))
    }

    fn add(&mut self, kind: OutboundKind, detail: String) {
        match kind {
            OutboundKind::ExternalLink => self.external_link = true,
            OutboundKind::LookalikeLink => self.lookalike_link = true,
            OutboundKind::HomographLink => self.homograph_link = true,
            OutboundKind::LinkTextMismatch => self.link_text_mismatch = true,
            OutboundKind::ImageLink => self.image_link = true,
            OutboundKind::AgentInstructions => self.agent_instructions = true,
            OutboundKind::Secret => self.secret = true,
            OutboundKind::EncodedBlob => self.encoded_blob = true,
            OutboundKind::ExternalAddress => self.external_address = true,
            OutboundKind::Concealed => self.concealed = true,
            OutboundKind::Unread => self.unread = true,
            OutboundKind::PaymentDetails => self.payment_details = true,
        }
        // The flag is always set; the list is capped and free of repeats.
        if self.findings.len() < MAX_FINDINGS
            && !self
                .findings
                .iter()
                .any(|f| f.kind == kind && f.detail == detail)
        {
            self.findings.push(OutboundFinding { kind, detail });
        }
    }
}

impl Outbound {
    pub fn new(cfg: OutboundConfig) -> Self {
        let internal = cfg
            .internal_domains
            .iter()
            .filter_map(|d| Internal::new(d))
            .collect();
        Self { internal }
    }

    /// Screens `text`. Linear in its length; never panics.
    pub fn scan(&self, text: &str) -> OutboundReport {
        let mut report = OutboundReport::default();
        let view = links::visible(text);
        let normalised = normalise(text);
        // The readers below read the view, in which references are decoded and compatibility
        // forms folded. Where that made a character markup turns on (a quote from `＂`, a
        // backtick from `&#96;`), the view's markup is not the one a renderer draws from the
        // text as written: a tag or code span may begin or end elsewhere.
        if let Some(made) = links::markup_made_by_reading(text, &view) {
            report.add(
                OutboundKind::Unread,
                format!(
                    "`{made}` spelt as a reference or a look-alike form: a renderer may read the \
                     markup around it otherwise than the screen did"
                ),
            );
        }

        // Links: read from the visible view, so look-alike letters stay as written, with
        // defanged links written back as links.
        let refanged = defang::refang(&view, &self.internal);
        let found = links::extract(&refanged.text, &self.internal, &refanged.edits);
        report.unread_in(&found);
        let overflowed = found.overflowed;
        let found_tags = found.tags;
        // The text as written is read too, where the view differs from it: a renderer parses
        // that text, and a character the view dropped or decoded (a zero-width space inside
        // an attribute, a reference) can move where a tag or a code span ends. Its links are
        // written as they are (never defanged), and each is read once.
        let mut links = found.links;
        let mut written_live = false;
        if view != text {
            let as_written = links::extract(text, &self.internal, &[]);
            report.unread_in(&as_written);
            // Written as they are: an outside one is live whatever the view's reading holds.
            written_live = self.live_in(&as_written);
            let known: std::collections::HashSet<(String, LinkCarrier)> = links
                .iter()
                .map(|l| (l.target.clone(), l.carrier))
                .collect();
            let written: Vec<_> = as_written
                .links
                .into_iter()
                .filter(|l| !known.contains(&(l.target.clone(), l.carrier)))
                .map(|mut l| {
                    // Spans index the text as written, not the refanged view.
                    l.span = usize::MAX..usize::MAX;
                    l
                })
                .collect();
            links.extend(written);
        }
        // An outside link this reading found: with nothing re-fanged, it is the text as written.
        let mut outside = false;
        let mut live_address = false;
        let mut internal_spans = Vec::new();
        for raw in links.into_iter() {
            let inner = self.nested(&raw, &mut report);
            let Some(target) = links::parse_target(&raw.target, raw.carrier, &self.internal) else {
                if raw.carrier != LinkCarrier::Email && links::names_unread_host(&raw.target) {
                    report.add(
                        OutboundKind::Unread,
                        format!(
                            "a link whose host the screen cannot read: `{}`",
                            links::capped(&raw.target, 120)
                        ),
                    );
                }
                continue;
            };
            // The span holds a rewrite and the target as found was not written so.
            let defanged = refanged.touches(&raw.span) && !view.contains(raw.target.as_str());
            let link = self.assess(&raw, &target, defanged, &mut report);
            if link.internal {
                internal_spans.push(raw.span.clone());
            }
            outside |= !link.internal && raw.carrier != LinkCarrier::Email;
            live_address |= !link.internal && raw.carrier == LinkCarrier::Email && !defanged;
            for (nested_raw, nested_target) in inner {
                let nested = self.assess(&nested_raw, &nested_target, defanged, &mut report);
                outside |= !nested.internal;
                if !nested.internal {
                    report.add(
                        OutboundKind::ExternalLink,
                        format!(
                            "link to `{}` carries on to outside host `{}` (a redirect)",
                            domain::display(&link.host),
                            domain::display(&nested.host)
                        ),
                    );
                }
                if report.links.len() < MAX_LINKS {
                    report.links.push(nested);
                }
            }
            if report.links.len() < MAX_LINKS {
                report.links.push(link);
            }
        }
        // Live is judged on the text as written: the reading above is that text when the refang
        // rewrote nothing; otherwise the text is read again without it.
        report.live_external_address = live_address;
        report.live_external_link = written_live
            || if refanged.edits.is_empty() {
                overflowed || outside
            } else {
                self.live_in(&links::extract(&view, &self.internal, &[]))
            };

        for concealment in normalised.concealments() {
            report.add(
                OutboundKind::Concealed,
                format!(
                    "hidden from a person reading it: {}",
                    concealment.describe()
                ),
            );
        }
        // A comment the normaliser delimited is reported once, by it.
        let comment_reported = normalised
            .concealments()
            .contains(&crate::normalise::Concealment::HtmlComment);
        // The link reader's tags are the view's when the refang rewrote nothing.
        let tags = refanged.edits.is_empty().then_some(found_tags.as_slice());
        let hidden = markup::concealing(&view, tags, comment_reported).or_else(|| {
            // And as written, where the view differs (see the links above).
            (view != text)
                .then(|| markup::concealing(text, None, comment_reported))
                .flatten()
        });
        if let Some(means) = hidden {
            report.add(
                OutboundKind::Concealed,
                format!("can hide text from a person reading it: {means}"),
            );
        }
        if normalised.cut() {
            report.add(
                OutboundKind::Unread,
                "encoded text longer or deeper than the screen decodes: the rest was not read"
                    .to_owned(),
            );
        }
        if let Some(detail) = language::unread_language(normalised.text()) {
            report.add(OutboundKind::Unread, detail);
        }
        for (kind, detail) in instructions::scan(&normalised) {
            report.add(kind, detail);
        }
        // A program handed over to run is no indicator quoted, defanged or not: a live link.
        for detail in handed::programs_handed(&view) {
            report.add(OutboundKind::ExternalLink, detail);
            report.live_external_link = true;
        }
        for detail in handed::controls_kept_off(normalised.text()) {
            report.add(OutboundKind::AgentInstructions, detail);
        }
        // As written, and as normalised (look-alike letters folded, hidden characters gone).
        report.subjects = subjects::subjects(&view);
        for s in subjects::subjects(normalised.text()) {
            if !report.subjects.contains(&s) {
                report.subjects.push(s);
            }
        }
        report.subjects.sort_unstable();
        // As written, and with look-alike letters folded back (a Cyrillic `В` in an IBAN).
        for detail in payment::payment_details(&view)
            .into_iter()
            .chain(payment::payment_details(normalised.text()))
        {
            report.add(OutboundKind::PaymentDetails, detail);
        }
        for detail in secrets::secrets(&view)
            .into_iter()
            .chain(secrets::secrets(normalised.text()))
        {
            report.add(OutboundKind::Secret, detail);
        }
        // Spans are offsets in the refanged view, which equals `view` when nothing was defanged.
        for detail in secrets::blobs(&refanged.text, &internal_spans) {
            report.add(OutboundKind::EncodedBlob, detail);
        }
        for detail in secrets::decoded_runs(&normalised) {
            report.add(OutboundKind::EncodedBlob, detail);
        }
        report
    }

    /// Whether a reading of a text with nothing re-fanged links outside: a defanged indicator
    /// is not a link until a reader rewrites it, but one `[.]` in a live link's query does not
    /// make the link dead. A reading past the link reader's caps counts as live.
    fn live_in(&self, found: &links::Extracted) -> bool {
        found.overflowed
            || found.links.iter().any(|raw| {
                if raw.carrier == LinkCarrier::Email {
                    return false;
                }
                let outside = |t: &links::Target| !domain::inside(&self.internal, &t.host);
                links::parse_target(&raw.target, raw.carrier, &self.internal)
                    .is_some_and(|t| outside(&t))
                    // A host a browser accepts as written, though the screen reads a defang
                    // mark in it (`login(.)sso.evil.example`).
                    || links::whatwg_host(&raw.target)
                        .is_some_and(|h| !domain::inside(&self.internal, &h))
                    || self
                        .nested(raw, &mut OutboundReport::default())
                        .iter()
                        .any(|(_, t)| outside(t))
            })
    }

    /// The links written inside `raw`'s address (a redirect's destination), parsed, each with
    /// the carrier of the link that holds it: an image's redirect is still loaded on render.
    fn nested(
        &self,
        raw: &links::RawLink,
        report: &mut OutboundReport,
    ) -> Vec<(links::RawLink, links::Target)> {
        if matches!(raw.carrier, LinkCarrier::Email) {
            return Vec::new();
        }
        let (urls, cut) = links::nested(&raw.target, &self.internal);
        if cut {
            report.add(
                OutboundKind::Unread,
                "links nested in a link's address deeper or more than the screen reads: the \
                 rest was not checked"
                    .to_owned(),
            );
        }
        urls.into_iter()
            .filter_map(|url| {
                let carrier = match raw.carrier {
                    LinkCarrier::Domain | LinkCarrier::UncPath => LinkCarrier::Url,
                    other => other,
                };
                let target = links::parse_target(&url, carrier, &self.internal)?;
                Some((
                    links::RawLink {
                        target: url,
                        carrier,
                        text: None,
                        span: raw.span.clone(),
                    },
                    target,
                ))
            })
            .collect()
    }

    /// Resolves one link and records what it is evidence of.
    fn assess(
        &self,
        raw: &links::RawLink,
        target: &links::Target,
        defanged: bool,
        report: &mut OutboundReport,
    ) -> OutboundLink {
        let host = &target.host;
        let shown = domain::display(host);
        let how = if defanged { "defanged " } else { "" };
        let registered = domain::registered_domain(host);
        let internal = domain::inside(&self.internal, host);
        let image = matches!(
            raw.carrier,
            LinkCarrier::MarkdownImage | LinkCarrier::HtmlEmbed
        );

        if target.password {
            report.add(
                OutboundKind::Secret,
                format!("password in the userinfo of a link to `{shown}`"),
            );
        }
        if !internal {
            match raw.carrier {
                LinkCarrier::Email => report.add(
                    OutboundKind::ExternalAddress,
                    format!("{how}mail address at outside host `{shown}`"),
                ),
                LinkCarrier::UncPath => report.add(
                    OutboundKind::ExternalLink,
                    format!("{how}UNC path to outside host `{shown}` (sends Windows credentials)"),
                ),
                _ => report.add(
                    OutboundKind::ExternalLink,
                    format!("{how}link to outside host `{shown}`"),
                ),
            }
            if image {
                report.add(
                    OutboundKind::ImageLink,
                    format!("image or embed loads from outside host `{shown}` when rendered"),
                );
            }
            if let Some(look) = domain::lookalike(host, &registered, &self.internal) {
                report.add(
                    OutboundKind::LookalikeLink,
                    format!(
                        "{how}host `{shown}` imitates internal `{}` ({})",
                        look.internal, look.reason
                    ),
                );
            }
            if let Some(user) = &target.userinfo
                && let Some(d) = self.internal.iter().find(|d| d.named_in(user))
            {
                report.add(
                    OutboundKind::LookalikeLink,
                    format!(
                        "link shows internal `{}` before `@` but goes to `{shown}`",
                        d.domain()
                    ),
                );
            }
        }
        if let Some(why) = domain::homograph(host, target.punycode_error) {
            report.add(
                OutboundKind::HomographLink,
                format!("{how}host `{shown}` {why}"),
            );
        }
        if let Some(text) = &raw.text
            && let Some(why) =
                links::text_mismatch(text, host, &registered, internal, &self.internal)
        {
            report.add(
                OutboundKind::LinkTextMismatch,
                format!("{why} but the link goes to `{shown}`"),
            );
        }

        OutboundLink {
            url: links::capped(&raw.target, 2048),
            host: host.clone(),
            registered_domain: registered,
            internal,
            image,
            defanged,
            carrier: raw.carrier,
        }
    }
}
