//! Piecewise map from a transformed string back to the string it came from.
//!
//! Each segment covers a byte range of the output and the source range it came from. An
//! *identity* segment copied bytes verbatim, so offsets inside it map one to one; any other
//! segment maps as a whole (a decoded run points at the whole encoded run). Segments start and end
//! on `char` boundaries of both strings, which is what keeps mapped spans on boundaries.

use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Segment {
    out_start: usize,
    out_end: usize,
    src_start: usize,
    src_end: usize,
    identity: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct OffsetMap {
    segments: Vec<Segment>,
    out_len: usize,
    src_len: usize,
}

impl OffsetMap {
    pub(crate) fn new(src_len: usize) -> Self {
        Self {
            segments: Vec::new(),
            out_len: 0,
            src_len,
        }
    }

    /// Bytes copied unchanged from `src`.
    pub(crate) fn push_identity(&mut self, src: Range<usize>) {
        let len = src.end.saturating_sub(src.start);
        if len == 0 {
            return;
        }
        if let Some(last) = self.segments.last_mut()
            && last.identity
            && last.out_end == self.out_len
            && last.src_end == src.start
        {
            last.out_end += len;
            last.src_end = src.end;
            self.out_len += len;
            return;
        }
        self.segments.push(Segment {
            out_start: self.out_len,
            out_end: self.out_len + len,
            src_start: src.start,
            src_end: src.end,
            identity: true,
        });
        self.out_len += len;
    }

    /// `out_len` output bytes that stand for the whole of `src`.
    pub(crate) fn push_replaced(&mut self, src: Range<usize>, out_len: usize) {
        if out_len == 0 {
            return;
        }
        self.segments.push(Segment {
            out_start: self.out_len,
            out_end: self.out_len + out_len,
            src_start: src.start,
            src_end: src.end,
            identity: false,
        });
        self.out_len += out_len;
    }

    /// Source range for an output range. Out-of-range input is clamped, never a panic.
    pub(crate) fn map(&self, range: Range<usize>) -> Range<usize> {
        let start = range.start.min(self.out_len);
        let end = range.end.clamp(start, self.out_len);
        let src_start = self.map_start(start);
        if start == end {
            return src_start..src_start;
        }
        let src_end = self.map_end(end).max(src_start);
        src_start..src_end
    }

    /// Output position of source position `pos`, for a map whose segments are in source order
    /// (each pass here writes its input front to back): inside an identity segment, the same
    /// offset; inside any other, its start; in a gap of source that wrote nothing, the next
    /// output position.
    pub(crate) fn forward(&self, pos: usize) -> usize {
        let idx = self.segments.partition_point(|s| s.src_end <= pos);
        match self.segments.get(idx) {
            Some(s) if s.src_start <= pos && s.identity => s.out_start + (pos - s.src_start),
            Some(s) => s.out_start,
            None => self.out_len,
        }
    }

    fn map_start(&self, pos: usize) -> usize {
        // First segment whose end is beyond `pos`: it contains `pos`.
        let idx = self.segments.partition_point(|s| s.out_end <= pos);
        match self.segments.get(idx) {
            Some(s) if s.out_start <= pos => {
                if s.identity {
                    s.src_start + (pos - s.out_start)
                } else {
                    s.src_start
                }
            }
            Some(s) => s.src_start,
            None => self.src_len,
        }
    }

    fn map_end(&self, pos: usize) -> usize {
        // First segment that reaches `pos`: `pos` lies in (out_start, out_end].
        let idx = self.segments.partition_point(|s| s.out_end < pos);
        match self.segments.get(idx) {
            Some(s) if s.out_start < pos => {
                if s.identity {
                    s.src_start + (pos - s.out_start)
                } else {
                    s.src_end
                }
            }
            Some(s) => s.src_start,
            None => self.src_len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_and_replaced_segments_map_back() {
        // src: "ab" + 3 bytes replaced by 1 byte + "cd"
        let mut m = OffsetMap::new(7);
        m.push_identity(0..2);
        m.push_replaced(2..5, 1);
        m.push_identity(5..7);
        assert_eq!(m.map(0..2), 0..2);
        assert_eq!(m.map(2..3), 2..5);
        assert_eq!(m.map(1..4), 1..6);
        assert_eq!(m.map(3..5), 5..7);
        assert_eq!(m.map(5..5), 7..7);
        assert_eq!(m.map(9..20), 7..7);
    }
}
