//! Keyset paging: a listing that can grow without bound (a session's events, the waiting
//! requests, the tainted agents) is read a page at a time, each page starting just after the
//! last row of the page before, by the listing's own order and never by an offset. A page
//! costs the same however many rows came before it, and rows stored while a reader pages on
//! (a new leaf, a new request) neither repeat a row nor hide one that was already there.
//!
//! Where the next page starts is a [`Cursor`]: the key of the last row shown, bound to the
//! listing it came from (the filter, for a filtered listing). Handed to a person it is an
//! opaque token; read back it is checked: a token that is not one, was altered, or belongs to
//! another listing is refused ([`CursorError`]), never read as the first page. A cursor is a
//! position, not a permission: whoever holds one could read the same rows from the first page
//! on, so its check is a digest (it catches a cut or edited link), not a MAC.

use crate::{EventFilter, RequestFilter, Store, StoreError, TaintInForce, WaitingAfter};
use sha2::{Digest, Sha256};

/// How many rows a page holds: at least one, at most [`PageSize::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(usize);

impl PageSize {
    /// The most rows any page holds, whatever a caller asks for.
    pub const MAX: usize = 500;

    /// A page of `rows`; refused outside `1..=MAX`.
    pub fn new(rows: usize) -> Result<Self, StoreError> {
        if (1..=Self::MAX).contains(&rows) {
            Ok(Self(rows))
        } else {
            Err(StoreError::Invalid(format!(
                "a page of {rows} rows: pages hold 1 to {} rows",
                Self::MAX
            )))
        }
    }

    /// `rows` brought within `1..=MAX`: for a size that is the caller's own constant or a
    /// person's choice already bounded elsewhere.
    pub fn clamped(rows: usize) -> Self {
        Self(rows.clamp(1, Self::MAX))
    }

    pub fn get(self) -> usize {
        self.0
    }
}

/// A row's place in a listing's order: what a cursor carries.
pub trait Keyset: Sized {
    /// Tells the kinds of cursor apart, so one kind is never read as another.
    const TAG: u8;
    fn encode(&self, out: &mut Vec<u8>);
    /// `None` unless `bytes` is exactly what [`Keyset::encode`] writes.
    fn decode(bytes: &[u8]) -> Option<Self>;
}

/// A leaf of the ledger: the last one a page of events showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeafAfter(pub u64);

impl Keyset for LeafAfter {
    const TAG: u8 = 1;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend(self.0.to_be_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(Self(u64::from_be_bytes(bytes.try_into().ok()?)))
    }
}

impl Keyset for WaitingAfter {
    const TAG: u8 = 2;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend(self.created_ms.to_be_bytes());
        out.extend(self.id.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        let (created, id) = bytes.split_at_checked(8)?;
        Some(Self {
            created_ms: i64::from_be_bytes(created.try_into().ok()?),
            id: String::from_utf8(id.to_vec()).ok()?,
        })
    }
}

/// An agent: the last one a page of tainted agents showed (they are listed by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAfter(pub String);

impl Keyset for AgentAfter {
    const TAG: u8 = 3;
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend(self.0.as_bytes());
    }
    fn decode(bytes: &[u8]) -> Option<Self> {
        Some(Self(String::from_utf8(bytes.to_vec()).ok()?))
    }
}

/// A listing a cursor can belong to: its bytes name it (the filter's fields, the kind of
/// rows), so a cursor made for one is refused by another.
pub trait Listing {
    fn listing(&self) -> Vec<u8>;
}

/// Length-prefixed fields, so that no two different listings write the same bytes.
fn fields<'a>(name: &str, values: impl IntoIterator<Item = Option<&'a str>>) -> Vec<u8> {
    let mut out = name.as_bytes().to_vec();
    for v in values {
        match v {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                out.extend(u64::try_from(v.len()).unwrap_or(u64::MAX).to_be_bytes());
                out.extend(v.as_bytes());
            }
        }
    }
    out
}

impl Listing for EventFilter {
    /// Every field but the bounds a page sets (`limit`, `index_from`, `index_below`): those
    /// move from page to page, the rest is the listing.
    fn listing(&self) -> Vec<u8> {
        let int = |v: Option<i64>| v.map(|v| v.to_string());
        let (since, until) = (int(self.since_ms), int(self.until_ms));
        fields(
            "events",
            [
                self.kind.as_deref(),
                self.session.as_deref(),
                self.principal.as_deref(),
                self.tool.as_deref(),
                self.decision.as_deref(),
                since.as_deref(),
                until.as_deref(),
                Some(if self.newest_first {
                    "newest"
                } else {
                    "oldest"
                }),
            ],
        )
    }
}

impl Listing for RequestFilter {
    /// Every field but the page's own (`after`, `limit`).
    fn listing(&self) -> Vec<u8> {
        let statuses: Vec<&str> = self.statuses.iter().map(|s| s.as_str()).collect();
        let statuses = statuses.join(",");
        let int = |v: Option<i64>| v.map(|v| v.to_string());
        let (expired, unexpired) = (int(self.expired_at_ms), int(self.unexpired_at_ms));
        let escalated = self.escalated.map(|e| e.to_string());
        fields(
            "requests",
            [
                Some(statuses.as_str()),
                self.principal.as_deref(),
                self.session.as_deref(),
                self.tool.as_deref(),
                self.args_digest.as_deref(),
                self.policy_version.as_deref(),
                self.category.as_deref(),
                expired.as_deref(),
                unexpired.as_deref(),
                escalated.as_deref(),
                self.text.as_deref(),
            ],
        )
    }
}

/// The agents whose taint is in force, by name.
#[derive(Debug, Clone, Copy, Default)]
pub struct TaintedAgents;

impl Listing for TaintedAgents {
    fn listing(&self) -> Vec<u8> {
        fields("tainted agents", [])
    }
}

/// Why a token is not a cursor of this listing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the page link is not one warden made (cut short, or not a page link at all)")]
    Malformed,
    #[error("the page link was altered")]
    Altered,
    #[error("the page link belongs to another listing (other filters, another session)")]
    OtherListing,
}

/// Where the next page of a listing starts: just after `key`, the last row of the page before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<K> {
    key: K,
    listing: [u8; 8],
}

const VERSION: u8 = 1;
const DIGEST_BYTES: usize = 8;
/// The longest token read; a longer one is refused before it is decoded.
pub const MAX_TOKEN_CHARS: usize = 1024;

fn digest(tag: &[u8], parts: &[&[u8]]) -> [u8; DIGEST_BYTES] {
    let mut h = Sha256::new();
    h.update(tag);
    for p in parts {
        h.update(p);
    }
    let full: [u8; 32] = h.finalize().into();
    let mut out = [0; DIGEST_BYTES];
    out.copy_from_slice(full.get(..DIGEST_BYTES).unwrap_or(&[0; DIGEST_BYTES]));
    out
}

fn listing_digest(listing: &impl Listing) -> [u8; DIGEST_BYTES] {
    digest(b"warden page listing v1\n", &[&listing.listing()])
}

impl<K: Keyset> Cursor<K> {
    /// A cursor of `listing` just after `key`.
    pub fn new(key: K, listing: &impl Listing) -> Self {
        Self {
            key,
            listing: listing_digest(listing),
        }
    }

    pub fn key(&self) -> &K {
        &self.key
    }

    /// The cursor as a token for a link: version, kind, listing, key and a check digest, in
    /// hex (it travels in a query string as is).
    pub fn token(&self) -> String {
        let mut bytes = vec![VERSION, K::TAG];
        bytes.extend(self.listing);
        self.key.encode(&mut bytes);
        let check = digest(b"warden page cursor v1\n", &[&bytes]);
        bytes.extend(check);
        hex::encode(bytes)
    }

    /// Reads a token back as a cursor of `listing`.
    pub fn parse(token: &str, listing: &impl Listing) -> Result<Self, CursorError> {
        if token.len() > MAX_TOKEN_CHARS {
            return Err(CursorError::Malformed);
        }
        let bytes = hex::decode(token).map_err(|_| CursorError::Malformed)?;
        let (body, check) = bytes
            .split_at_checked(bytes.len().saturating_sub(DIGEST_BYTES))
            .ok_or(CursorError::Malformed)?;
        if body.len() < 2 + DIGEST_BYTES || check.len() != DIGEST_BYTES {
            return Err(CursorError::Malformed);
        }
        if digest(b"warden page cursor v1\n", &[body]) != check {
            return Err(CursorError::Altered);
        }
        let (head, rest) = body.split_at_checked(2).ok_or(CursorError::Malformed)?;
        if head != [VERSION, K::TAG] {
            return Err(CursorError::OtherListing);
        }
        let (of, key) = rest
            .split_at_checked(DIGEST_BYTES)
            .ok_or(CursorError::Malformed)?;
        if of != listing_digest(listing) {
            return Err(CursorError::OtherListing);
        }
        let key = K::decode(key).ok_or(CursorError::Malformed)?;
        Ok(Self {
            key,
            listing: listing_digest(listing),
        })
    }
}

/// One page of a listing and where the next starts (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T, K> {
    pub rows: Vec<T>,
    pub next: Option<Cursor<K>>,
}

impl<T, K: Keyset> Page<T, K> {
    /// `rows` read with room for one more than `size`: the extra row, if there is one, only
    /// says that a next page exists, and the next page starts after the last row kept.
    pub fn cut(
        mut rows: Vec<T>,
        size: PageSize,
        listing: &impl Listing,
        key_of: impl Fn(&T) -> K,
    ) -> Self {
        let more = rows.len() > size.get();
        rows.truncate(size.get());
        let next = if more {
            rows.last().map(|last| Cursor::new(key_of(last), listing))
        } else {
            None
        };
        Self { rows, next }
    }
}

/// A page of the requests `filter` matches, in its order (creation time, then id), after
/// `after`. The filter's own `after` and `limit` are the page's.
pub fn requests_page(
    store: &dyn Store,
    filter: &RequestFilter,
    after: Option<&Cursor<WaitingAfter>>,
    size: PageSize,
) -> Result<Page<crate::PendingRequest, WaitingAfter>, StoreError> {
    let page = RequestFilter {
        after: after.map(|c| c.key().clone()),
        limit: Some(size.get().saturating_add(1)),
        ..filter.clone()
    };
    let rows = store.requests(&page)?;
    Ok(Page::cut(rows, size, filter, WaitingAfter::of))
}

/// A page of the events `filter` matches, in its order, after `after`. The filter's `limit`
/// is the page's; its index bounds stay and the cursor narrows them.
pub fn events_page(
    store: &dyn Store,
    filter: &EventFilter,
    after: Option<&Cursor<LeafAfter>>,
    size: PageSize,
) -> Result<Page<crate::ledger::LedgerEntry, LeafAfter>, StoreError> {
    let mut page = EventFilter {
        limit: Some(size.get().saturating_add(1)),
        ..filter.clone()
    };
    if let Some(LeafAfter(last)) = after.map(Cursor::key) {
        if filter.newest_first {
            page.index_below = Some(page.index_below.map_or(*last, |b| b.min(*last)));
        } else {
            let from = last.saturating_add(1);
            page.index_from = Some(page.index_from.map_or(from, |f| f.max(from)));
        }
    }
    let rows = crate::ledger::read_events(store, &page)?;
    Ok(Page::cut(rows, size, filter, |e| LeafAfter(e.index)))
}

/// A page of the agents whose taint is in force at `now_ms`, by name, after `after`.
pub fn tainted_agents_page(
    store: &dyn Store,
    now_ms: i64,
    after: Option<&Cursor<AgentAfter>>,
    size: PageSize,
) -> Result<Page<TaintInForce, AgentAfter>, StoreError> {
    let rows = store.tainted_agents(
        now_ms,
        after.map(|c| c.key().0.as_str()),
        size.get().saturating_add(1),
    )?;
    Ok(Page::cut(rows, size, &TaintedAgents, |t| {
        AgentAfter(t.taint.agent.clone())
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn trail(session: &str) -> EventFilter {
        EventFilter {
            session: Some(session.into()),
            ..EventFilter::default()
        }
    }

    #[test]
    fn a_token_reads_back_as_the_cursor_it_was() {
        let c = Cursor::new(LeafAfter(41), &trail("s-1"));
        let back = Cursor::<LeafAfter>::parse(&c.token(), &trail("s-1")).unwrap();
        assert_eq!(back, c);
        let w = WaitingAfter {
            created_ms: -5,
            id: "req-ü".into(),
        };
        let open = RequestFilter::open();
        let c = Cursor::new(w.clone(), &open);
        assert_eq!(
            Cursor::<WaitingAfter>::parse(&c.token(), &open)
                .unwrap()
                .key(),
            &w
        );
    }

    #[test]
    fn an_altered_cut_or_foreign_token_is_refused() {
        let token = Cursor::new(LeafAfter(41), &trail("s-1")).token();
        // One digit changed, anywhere: the key, the listing, the check.
        for at in [2, 10, 30, token.len() - 1] {
            let mut t = token.clone().into_bytes();
            t[at] = if t[at] == b'0' { b'1' } else { b'0' };
            let t = String::from_utf8(t).unwrap();
            assert_eq!(
                Cursor::<LeafAfter>::parse(&t, &trail("s-1")),
                Err(CursorError::Altered),
                "digit {at}"
            );
        }
        assert_eq!(
            Cursor::<LeafAfter>::parse(&token[..token.len() - 2], &trail("s-1")),
            Err(CursorError::Altered)
        );
        for junk in ["", "zz", "00", &"0".repeat(MAX_TOKEN_CHARS + 2)] {
            assert_eq!(
                Cursor::<LeafAfter>::parse(junk, &trail("s-1")),
                Err(CursorError::Malformed),
                "{junk:?}"
            );
        }
        // Another session's trail, another kind of cursor.
        assert_eq!(
            Cursor::<LeafAfter>::parse(&token, &trail("s-2")),
            Err(CursorError::OtherListing)
        );
        assert_eq!(
            Cursor::<AgentAfter>::parse(&token, &trail("s-1")),
            Err(CursorError::OtherListing)
        );
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert!(PageSize::new(0).is_err());
        assert!(PageSize::new(PageSize::MAX + 1).is_err());
        assert_eq!(PageSize::new(PageSize::MAX).unwrap().get(), PageSize::MAX);
        assert_eq!(PageSize::clamped(0).get(), 1);
        assert_eq!(PageSize::clamped(usize::MAX).get(), PageSize::MAX);
    }
}
