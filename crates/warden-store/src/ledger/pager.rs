//! One walk over the stored leaves, page by page, for every reader that needs a run of them:
//! the writer rebuilding its tree at open and catching up on other writers' leaves, the tree
//! behind a proof ([`super::tree_of`]), the audit ([`super::verify_store`]) and the leaves sent
//! to a witness.
//!
//! Design choice: the pager alone checks that indices are contiguous, and reports a gap one
//! way, [`PageError::Missing`], after handing over the leaves before it. What a gap means is
//! the reader's: a walk that builds a tree stops there (what follows is not the log), the audit
//! reads on past it, since its chain check reports the gap as a finding.

use crate::{LeafRow, Store, StoreError};
use warden_ledger::StoredLeaf;

/// Leaves read per query.
const PAGE: usize = 8192;

/// What the store hands back by index: a leaf's bytes and hash, or its whole row.
pub trait PagedLeaf {
    fn index(&self) -> u64;
}

impl PagedLeaf for StoredLeaf<Vec<u8>> {
    fn index(&self) -> u64 {
        self.index
    }
}

impl PagedLeaf for LeafRow {
    fn index(&self) -> u64 {
        self.leaf.index
    }
}

/// Pages of stored leaves (bytes and hash) from index `from`: up to `to` (exclusive), every one
/// of which must be stored, or with `None` up to the last one stored.
pub fn leaf_pages(
    store: &dyn Store,
    from: u64,
    to: Option<u64>,
) -> LeafPages<StoredLeaf<Vec<u8>>, impl ReadPage<StoredLeaf<Vec<u8>>> + '_> {
    LeafPages::new(
        move |at: u64, limit: usize| store.ledger_leaves(at, limit),
        from,
        to,
    )
}

/// [`leaf_pages`] of whole rows: each leaf with its MAC and index columns.
pub fn row_pages(
    store: &dyn Store,
    from: u64,
    to: Option<u64>,
) -> LeafPages<LeafRow, impl ReadPage<LeafRow> + '_> {
    LeafPages::new(
        move |at: u64, limit: usize| store.ledger_rows(at, limit),
        from,
        to,
    )
}

/// Reads up to `limit` leaves with index `from` or more, by index.
pub trait ReadPage<L>: FnMut(u64, usize) -> Result<Vec<L>, StoreError> {}
impl<L, F: FnMut(u64, usize) -> Result<Vec<L>, StoreError>> ReadPage<L> for F {}

/// Why a walk over the stored leaves did not get the leaves it expected.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Leaf `index` is not stored, though a later one is (or one that is out of order).
    #[error("leaf {index} is missing from the store")]
    Missing { index: u64 },
    /// The stored leaves end at `held`, before the `wanted` the walk was asked for.
    #[error("the store holds {held} leaves, fewer than {wanted}")]
    Short { held: u64, wanted: u64 },
}

/// Pages of stored leaves in index order, from one index to another or to the last stored
/// one. Every page it yields is non-empty and contiguous, and starts where the one before
/// ended, or just after a reported gap.
pub struct LeafPages<L, R> {
    fetch: R,
    /// The index the next page starts at.
    next: u64,
    /// Where the walk ends (exclusive); `None`: at the last stored leaf.
    to: Option<u64>,
    /// Leaves read past a gap, handed over once the gap is reported.
    rest: Vec<L>,
    done: bool,
}

impl<L: PagedLeaf, R: ReadPage<L>> LeafPages<L, R> {
    pub(crate) fn new(fetch: R, from: u64, to: Option<u64>) -> Self {
        Self {
            fetch,
            next: from,
            to,
            rest: Vec::new(),
            done: false,
        }
    }

    fn read(&mut self) -> Result<Vec<L>, StoreError> {
        if !self.rest.is_empty() {
            return Ok(std::mem::take(&mut self.rest));
        }
        let want = match self.to {
            Some(to) => usize::try_from(to.saturating_sub(self.next))
                .unwrap_or(PAGE)
                .min(PAGE),
            None => PAGE,
        };
        (self.fetch)(self.next, want)
    }
}

impl<L: PagedLeaf, R: ReadPage<L>> Iterator for LeafPages<L, R> {
    type Item = Result<Vec<L>, PageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.to.is_some_and(|to| self.next >= to) {
            return None;
        }
        let mut page = match self.read() {
            Ok(page) => page,
            Err(e) => {
                self.done = true;
                return Some(Err(e.into()));
            }
        };
        let Some(first) = page.first().map(L::index) else {
            self.done = true;
            return self.to.map(|wanted| {
                Err(PageError::Short {
                    held: self.next,
                    wanted,
                })
            });
        };
        if first != self.next {
            let index = self.next;
            if first > index && self.to.is_none_or(|to| first < to) {
                // Read on from the next stored leaf, for a reader that goes past gaps.
                self.next = first;
                self.rest = page;
            } else {
                self.done = true;
            }
            return Some(Err(PageError::Missing { index }));
        }
        let run = page
            .iter()
            .zip(self.next..)
            .take_while(|(leaf, at)| leaf.index() == *at && self.to.is_none_or(|to| *at < to))
            .count();
        self.rest = page.split_off(run);
        self.next = self.next.saturating_add(run as u64);
        if self.to.is_some_and(|to| self.next >= to) {
            self.rest.clear();
        }
        Some(Ok(page))
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;

    impl PagedLeaf for u64 {
        fn index(&self) -> u64 {
            *self
        }
    }

    /// The pages of a walk over a store holding the leaves `stored`, which hands back at most
    /// `page` of them per read.
    fn walk(
        stored: &[u64],
        from: u64,
        to: Option<u64>,
        page: usize,
    ) -> Vec<Result<Vec<u64>, String>> {
        let read = |at: u64, limit: usize| -> Result<Vec<u64>, StoreError> {
            Ok(stored
                .iter()
                .copied()
                .filter(|i| *i >= at)
                .take(limit.min(page))
                .collect())
        };
        LeafPages::new(read, from, to)
            .map(|p| p.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn contiguous_leaves_come_in_pages_and_stop_where_asked() {
        let stored: Vec<u64> = (0..10).collect();
        assert_eq!(
            walk(&stored, 0, None, 4),
            [Ok(vec![0, 1, 2, 3]), Ok(vec![4, 5, 6, 7]), Ok(vec![8, 9])]
        );
        assert_eq!(walk(&stored, 3, Some(6), 4), [Ok(vec![3, 4, 5])]);
        assert_eq!(walk(&stored, 3, Some(3), 4), []);
        assert_eq!(walk(&[], 0, None, 4), []);
    }

    #[test]
    fn a_gap_is_reported_after_the_leaves_before_it_and_the_walk_may_go_on() {
        let stored = [0, 1, 2, 5, 6, 9];
        assert_eq!(
            walk(&stored, 0, None, 100),
            [
                Ok(vec![0, 1, 2]),
                Err("leaf 3 is missing from the store".into()),
                Ok(vec![5, 6]),
                Err("leaf 7 is missing from the store".into()),
                Ok(vec![9]),
            ]
        );
        // A gap at the start of a page, and one whose next leaf lies past the end asked for.
        assert_eq!(
            walk(&stored, 3, Some(8), 2),
            [
                Err("leaf 3 is missing from the store".into()),
                Ok(vec![5, 6]),
                Err("leaf 7 is missing from the store".into()),
            ]
        );
    }

    #[test]
    fn fewer_leaves_than_asked_for_is_short() {
        assert_eq!(
            walk(&[0, 1, 2], 0, Some(5), 2),
            [
                Ok(vec![0, 1]),
                Ok(vec![2]),
                Err("the store holds 3 leaves, fewer than 5".into()),
            ]
        );
    }

    #[test]
    fn a_store_error_ends_the_walk() {
        let mut calls = 0;
        let read = |at: u64, _limit: usize| -> Result<Vec<u64>, StoreError> {
            calls += 1;
            if at == 0 {
                Ok(vec![0, 1])
            } else {
                Err(StoreError::Unavailable("down".into()))
            }
        };
        let pages: Vec<_> = LeafPages::new(read, 0, None).collect();
        assert_eq!(pages.len(), 2);
        assert!(matches!(
            pages[1],
            Err(PageError::Store(StoreError::Unavailable(_)))
        ));
        assert_eq!(calls, 2);
    }
}
