//! Every place in a tool's answer where an upstream can put text, and what of it the agent gets.
//!
//! An MCP result is more than its text blocks: an embedded resource carries text (or a blob that
//! decodes to text), a resource link a name, title, description and URI, the result and each
//! block may carry `_meta`, each block annotations, the result structured content, and a failed
//! call an error message. Each is a way for an upstream, or whoever wrote the data it serves, to
//! reach the model, so [`Answer::of`] takes a result apart into:
//!
//! * **parts the agent receives**, each as one text: text blocks as they are; an embedded
//!   resource as its URI, media type and text; a resource link as its fields (warden forwards no
//!   resources, so a link is only information); structured content as its compact JSON, unless
//!   a text block already carries the same value (as the MCP specification asks servers to do).
//!   Each is screened and handed over as a text block between the session's data markers
//!   ([`Answer::deliver`]).
//!   Images and audio stay media blocks, their media type checked, when their data is base64 of
//!   an image or audio format; data that decodes to UTF-8 is delivered as a marked, screened
//!   text block, and anything else (text in another encoding, data that is not base64) as a
//!   note. A blob that is not text becomes a one-line
//!   note: the agent gets no bytes warden cannot screen.
//! * **parts the agent does not receive**: the result's and every block's `_meta`, block
//!   annotations, the icons of resource links, a media type that is not one. warden strips them
//!   (upstream protocol metadata is not for the model; warden's own labels are what decide), but
//!   the screen still reads them: an upstream that hides an injection where the model was not
//!   meant to look is hostile, and the agent that called it is tainted as if it had read it.
//!
//! In the `pass` mode the result goes through unchanged (it is still screened).

use base64::Engine as _;
use rmcp::model::{CallToolResult, ContentBlock, ResourceContents};
use serde_json::{Value, json};

/// Where a text came from, for the data block's header and the screen's findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Text,
    Resource,
    ResourceLink,
    StructuredContent,
    /// Stripped before the agent sees the result; screened all the same.
    Metadata,
    /// The message of an upstream's error.
    Error,
    /// An image or audio block whose data is text, or is not media at all.
    Media,
}

impl Part {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Resource => "embedded resource",
            Self::ResourceLink => "resource link",
            Self::StructuredContent => "structured content",
            Self::Metadata => "metadata",
            Self::Error => "error message",
            Self::Media => "media",
        }
    }
}

/// The kinds of media block MCP has.
#[derive(Debug, Clone, Copy)]
enum Media {
    Image,
    Audio,
}

impl Media {
    /// Whether `bytes` are in a format of this kind, by their leading bytes.
    fn is_one(self, bytes: &[u8]) -> bool {
        match self {
            Self::Image => infer::is_image(bytes),
            Self::Audio => infer::is_audio(bytes),
        }
    }

    /// How the media types of this kind begin.
    fn prefix(self) -> &'static str {
        match self {
            Self::Image => "image/",
            Self::Audio => "audio/",
        }
    }

    /// The type given when the format is of this kind but has no type of it.
    fn neutral(self) -> &'static str {
        "application/octet-stream"
    }
}

impl std::fmt::Display for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Image => "image",
            Self::Audio => "audio",
        })
    }
}

/// One block of what the agent receives.
enum Block {
    /// Upstream text, screened and marked as data on delivery.
    Text(Part, String),
    /// An image or audio block, `_meta` and annotations removed.
    Media(Box<ContentBlock>),
}

/// A result taken apart (see the module documentation).
pub(crate) struct Answer {
    blocks: Vec<Block>,
    /// Text the agent does not receive but the screen reads.
    stripped: Vec<String>,
    is_error: Option<bool>,
}

impl Answer {
    pub(crate) fn of(result: &CallToolResult) -> Self {
        let mut answer = Self {
            blocks: Vec::new(),
            stripped: Vec::new(),
            is_error: result.is_error,
        };
        for block in &result.content {
            answer.block(block);
        }
        if let Some(value) = &result.structured_content
            && !answer.carries(value)
        {
            // Compact, as it came: pretty printing would give each value of a deeply nested
            // structure a line indented by its depth, a hundred times the bytes the size
            // limit measured.
            let text = value.to_string();
            answer
                .blocks
                .push(Block::Text(Part::StructuredContent, text));
        }
        if let Some(meta) = &result.meta {
            answer.strip(&json!({ "_meta": meta }));
        }
        answer
    }

    /// An upstream's error message, as an answer of one part.
    pub(crate) fn error(message: &str) -> Self {
        Self {
            blocks: vec![Block::Text(Part::Error, message.to_owned())],
            stripped: Vec::new(),
            is_error: Some(true),
        }
    }

    pub(crate) fn is_error(&self) -> Option<bool> {
        self.is_error
    }

    /// Whether an image or audio block is forwarded: content a model may read text from and
    /// the screen cannot.
    pub(crate) fn forwards_media(&self) -> bool {
        self.blocks.iter().any(|b| matches!(b, Block::Media(_)))
    }

    /// Every text the screen reads: what the agent receives and what is stripped.
    pub(crate) fn texts(&self) -> impl Iterator<Item = (Part, &str)> {
        let delivered = self.blocks.iter().filter_map(|b| match b {
            Block::Text(part, text) => Some((*part, text.as_str())),
            Block::Media(_) => None,
        });
        delivered.chain(self.stripped.iter().map(|t| (Part::Metadata, t.as_str())))
    }

    /// The result the agent receives: each text made into a text block by `mark`.
    pub(crate) fn deliver(self, mut mark: impl FnMut(Part, &str) -> String) -> CallToolResult {
        let content = self
            .blocks
            .into_iter()
            .map(|b| match b {
                Block::Text(part, text) => ContentBlock::text(mark(part, &text)),
                Block::Media(media) => *media,
            })
            .collect();
        let mut result = CallToolResult::success(content);
        result.is_error = self.is_error;
        result
    }

    fn block(&mut self, block: &ContentBlock) {
        match block {
            ContentBlock::Text(t) => {
                self.strip_extras(t.meta.as_ref(), t.annotations.as_ref());
                self.blocks.push(Block::Text(Part::Text, t.text.clone()));
            }
            ContentBlock::Resource(r) => {
                self.strip_extras(r.meta.as_ref(), r.annotations.as_ref());
                let text = match &r.resource {
                    ResourceContents::TextResourceContents {
                        uri,
                        mime_type,
                        text,
                        meta,
                    } => {
                        self.strip_extras(meta.as_ref(), None::<&()>);
                        format!("resource {uri}{}\n{text}", media(mime_type.as_deref()))
                    }
                    ResourceContents::BlobResourceContents {
                        uri,
                        mime_type,
                        blob,
                        meta,
                    } => {
                        self.strip_extras(meta.as_ref(), None::<&()>);
                        let kind = media(mime_type.as_deref());
                        match blob_text(blob) {
                            Some(text) => format!("resource {uri}{kind}\n{text}"),
                            None => format!(
                                "resource {uri}{kind}: {} bytes of base64 data that is not \
                                 text, not forwarded by warden",
                                blob.len()
                            ),
                        }
                    }
                    // A kind of resource contents this version of warden does not know.
                    other => serde_json::to_string(other).unwrap_or_default(),
                };
                self.blocks.push(Block::Text(Part::Resource, text));
            }
            ContentBlock::ResourceLink(link) => {
                self.strip_extras(link.meta.as_ref(), link.annotations.as_ref());
                if let Some(icons) = &link.icons {
                    self.strip(&json!({ "icons": icons }));
                }
                let mut text = format!("resource link {}\nname: {}", link.uri, link.name);
                for (label, value) in [
                    ("title", &link.title),
                    ("description", &link.description),
                    ("media type", &link.mime_type),
                ] {
                    if let Some(value) = value {
                        text.push_str(&format!("\n{label}: {value}"));
                    }
                }
                self.blocks.push(Block::Text(Part::ResourceLink, text));
            }
            ContentBlock::Image(image) => {
                self.strip_extras(image.meta.as_ref(), image.annotations.as_ref());
                let mime = self.media_type(&image.mime_type);
                self.media(Media::Image, &image.data, mime, ContentBlock::image);
            }
            ContentBlock::Audio(audio) => {
                self.strip_extras(audio.meta.as_ref(), audio.annotations.as_ref());
                let mime = self.media_type(&audio.mime_type);
                self.media(Media::Audio, &audio.data, mime, ContentBlock::audio);
            }
            // A kind of block this version of warden does not know: its JSON, as text.
            other => {
                let text = serde_json::to_string(other).unwrap_or_default();
                self.blocks.push(Block::Text(Part::Text, text));
            }
        }
    }

    /// An image or audio block: forwarded as media only when its data is base64 of an image
    /// or audio format (by its leading bytes). Data that decodes to UTF-8 (or SVG, which is
    /// text) is text an upstream put where no screen would read it: it becomes a text block,
    /// screened and marked like any other. Anything else (text in another encoding, data that
    /// is not base64) is no media a client can show: the agent gets a note, and the screen
    /// still reads what text was there.
    fn media(
        &mut self,
        kind: Media,
        data: &str,
        mime: String,
        block: fn(String, String) -> ContentBlock,
    ) {
        let Some(bytes) = decoded(data) else {
            self.strip(&json!({ "data": data }));
            self.blocks.push(Block::Text(
                Part::Media,
                format!(
                    "{kind} ({mime}): {} characters that are not base64, not forwarded by warden",
                    data.len()
                ),
            ));
            return;
        };
        // UTF-8 with NUL bytes is no text a reader reads (it is how UTF-16 of ASCII text
        // looks), and no screen reads through them.
        match std::str::from_utf8(&bytes)
            .ok()
            .filter(|t| !t.contains('\0'))
        {
            Some(text) => self.blocks.push(Block::Text(
                Part::Media,
                format!("{kind} ({mime}) whose data is text\n{text}"),
            )),
            None => {
                if kind.is_one(&bytes) {
                    // The type the bytes are, not the one the upstream declared: a "GIF" whose
                    // declared type is `text/markdown` reaches no client as text. A declared
                    // type that differs is screened as the upstream's words.
                    let detected = infer::get(&bytes)
                        .map(|t| t.mime_type())
                        .filter(|t| t.starts_with(kind.prefix()))
                        .unwrap_or(kind.neutral());
                    if !mime.eq_ignore_ascii_case(detected) {
                        self.strip(&json!({ "mimeType": mime }));
                    }
                    // What text the container holds besides its pixels or samples (a
                    // comment chunk, EXIF, text after the header) is read by the screen.
                    self.stripped.push(text_view(&bytes));
                    // warden cannot read what the image shows or the audio says, and a model
                    // can: the agent is told where it came from, inside the data markers,
                    // and the screen counts it as unread ([`Answer::forwards_media`]).
                    self.blocks.push(Block::Text(
                        Part::Media,
                        format!(
                            "{kind} ({detected}, {} bytes) from this tool follows; warden \
                             cannot read what it shows or says",
                            bytes.len()
                        ),
                    ));
                    self.blocks.push(Block::Media(Box::new(block(
                        data.to_owned(),
                        detected.to_owned(),
                    ))));
                } else {
                    // Not a format a client shows as an image or plays as audio: text in
                    // another encoding, or anything else. The agent gets a note; the screen
                    // reads what text it holds.
                    self.stripped.push(text_view(&bytes));
                    self.blocks.push(Block::Text(
                        Part::Media,
                        format!(
                            "{kind} ({mime}): {} bytes that are no known {kind} format, not \
                             forwarded by warden",
                            bytes.len()
                        ),
                    ));
                }
            }
        }
    }

    /// Whether a text block already carries `value` (its JSON, as the specification asks).
    fn carries(&self, value: &Value) -> bool {
        self.blocks.iter().any(|b| match b {
            Block::Text(Part::Text, text) if text.trim_start().starts_with(['{', '[']) => {
                serde_json::from_str::<Value>(text).is_ok_and(|v| &v == value)
            }
            _ => false,
        })
    }

    fn strip_extras<M: serde::Serialize, A: serde::Serialize>(
        &mut self,
        meta: Option<&M>,
        annotations: Option<&A>,
    ) {
        if meta.is_none() && annotations.is_none() {
            return;
        }
        self.strip(&json!({ "_meta": meta, "annotations": annotations }));
    }

    fn strip(&mut self, value: &Value) {
        self.stripped.push(value.to_string());
    }

    /// `mime` if it is a media type (`type/subtype`, token characters), else a neutral one; what
    /// was there instead is screened.
    fn media_type(&mut self, mime: &str) -> String {
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        let valid = mime.len() <= 127
            && mime
                .split_once('/')
                .is_some_and(|(kind, sub)| token(kind) && token(sub));
        if valid {
            mime.to_owned()
        } else {
            self.strip(&json!({ "mimeType": mime }));
            "application/octet-stream".to_owned()
        }
    }
}

fn media(mime: Option<&str>) -> String {
    mime.map(|m| format!(" ({m})")).unwrap_or_default()
}

/// The bytes of media `data` (standard base64, padding optional, line breaks tolerated).
fn decoded(data: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::STANDARD_NO_PAD;
    STANDARD_NO_PAD.decode(unpadded(data)).ok()
}

/// Base64 `data` as the unpadded engines read it: without line breaks or padding.
fn unpadded(data: &str) -> String {
    let mut compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    compact.truncate(compact.trim_end_matches('=').len());
    compact
}

/// What text `bytes` may hold, for the screen: UTF-16 when they start with its byte-order mark,
/// else their UTF-8 with what is not replaced and NUL bytes dropped (which also reads UTF-16
/// of ASCII text without a mark, and Latin-1 text but for its accented letters).
fn text_view(bytes: &[u8]) -> String {
    let utf16 = |unit: fn([u8; 2]) -> u16| {
        let units: Vec<u16> = bytes
            .get(2..)
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|pair| {
                unit([
                    pair.first().copied().unwrap_or(0),
                    pair.last().copied().unwrap_or(0),
                ])
            })
            .collect();
        String::from_utf16_lossy(&units)
    };
    match bytes {
        [0xFF, 0xFE, ..] => utf16(u16::from_le_bytes),
        [0xFE, 0xFF, ..] => utf16(u16::from_be_bytes),
        _ => {
            let kept: Vec<u8> = bytes.iter().copied().filter(|b| *b != 0).collect();
            String::from_utf8_lossy(&kept).into_owned()
        }
    }
}

/// The text a base64 blob holds, if it decodes to UTF-8 without control characters other than
/// whitespace: such a blob is a text the agent can read.
fn blob_text(blob: &str) -> Option<String> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let compact = unpadded(blob);
    let bytes = STANDARD_NO_PAD
        .decode(&compact)
        .or_else(|_| URL_SAFE_NO_PAD.decode(&compact))
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.chars()
        .all(|c| !c.is_control() || c.is_whitespace())
        .then_some(text)
}
