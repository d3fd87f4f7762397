//! A text column of the index: every contact's value, one after another in one buffer, so that
//! `contains` over a whole location is one substring scan of the buffer instead of a search in
//! each of a million short strings.

use memchr::memmem::Finder;
use roaring::RoaringBitmap;

use super::{ascending, keep};

/// Ends each value in the buffer. A needle holding it is matched value by value instead, so a
/// match found in the buffer never runs from one value into the next.
const END: u8 = 0;
/// `len` of a contact without a value (NULL, which no test but `not_…` matches).
const NULL: u32 = u32::MAX;
/// Below this share of the column's contacts, testing each candidate beats scanning the buffer.
const SCAN_SHARE: u64 = 16;

#[derive(Debug, Clone, Copy)]
struct Span {
    start: u32,
    len: u32,
}

const NO_VALUE: Span = Span {
    start: 0,
    len: NULL,
};

#[derive(Debug, Default)]
pub(super) struct TextColumn {
    buffer: Vec<u8>,
    /// By ordinal.
    spans: Vec<Span>,
    /// Each value written to the buffer, `(start, ordinal)`, in buffer order; a value is current
    /// while its ordinal's span still starts there (a rewrite appends, and leaves the old bytes).
    writes: Vec<(u32, u32)>,
    /// Bytes of current values with their ends, to tell when the buffer is mostly old values.
    live_bytes: usize,
}

impl TextColumn {
    pub(super) fn get(&self, ordinal: u32) -> Option<&[u8]> {
        let span = *self.spans.get(ordinal as usize)?;
        (span.len != NULL).then(|| &self.buffer[span.start as usize..][..span.len as usize])
    }

    pub(super) fn set(&mut self, ordinal: u32, value: Option<&str>) {
        let index = ordinal as usize;
        if self.spans.len() <= index {
            self.spans.resize(index + 1, NO_VALUE);
        }
        if let Some(old) = self.get(ordinal) {
            self.live_bytes -= old.len() + 1;
        }
        let Some(value) = value else {
            self.spans[index] = NO_VALUE;
            return;
        };
        let needed = self.buffer.len() + value.len() + 1;
        if needed > u32::MAX as usize / 2 || self.buffer.len() > 2 * self.live_bytes + (1 << 20) {
            self.compact();
        }
        // A value of 2 GiB is no contact's; keep it out rather than overflow the offsets.
        let (Ok(start), Ok(len)) = (u32::try_from(self.buffer.len()), u32::try_from(value.len()))
        else {
            self.spans[index] = NO_VALUE;
            return;
        };
        self.buffer.extend_from_slice(value.as_bytes());
        self.buffer.push(END);
        self.writes.push((start, ordinal));
        self.spans[index] = Span { start, len };
        self.live_bytes += value.len() + 1;
    }

    /// Rewrites the buffer with the current values only.
    fn compact(&mut self) {
        let mut buffer = Vec::with_capacity(self.live_bytes);
        let mut writes = Vec::with_capacity(self.spans.len());
        for (ordinal, span) in (0_u32..).zip(self.spans.iter_mut()) {
            if span.len == NULL {
                continue;
            }
            let start = buffer.len();
            buffer.extend_from_slice(&self.buffer[span.start as usize..][..span.len as usize]);
            buffer.push(END);
            // The live bytes fit, as they did in the larger buffer.
            span.start = u32::try_from(start).unwrap_or(u32::MAX);
            writes.push((span.start, ordinal));
        }
        self.buffer = buffer;
        self.writes = writes;
    }

    /// The contacts of `within` whose value passes `test`.
    pub(super) fn filter(
        &self,
        within: &RoaringBitmap,
        test: impl Fn(Option<&[u8]>) -> bool,
    ) -> RoaringBitmap {
        keep(within, self.spans.len(), |o| test(self.get(o)))
    }

    /// The contacts of `within` whose value holds `needle` (SQL's `LIKE '%needle%'`: any value,
    /// the empty one too, holds the empty needle; no value holds nothing).
    pub(super) fn containing(&self, needle: &[u8], within: &RoaringBitmap) -> RoaringBitmap {
        let finder = Finder::new(needle);
        let scan = !needle.is_empty()
            && !needle.contains(&END)
            && within.len().saturating_mul(SCAN_SHARE) >= self.spans.len() as u64;
        if !scan {
            return self.filter(within, |v| v.is_some_and(|v| finder.find(v).is_some()));
        }
        let mut found = Vec::new();
        // Matches come in buffer order, as do the writes: walk both together.
        let mut write = 0;
        for at in finder.find_iter(&self.buffer) {
            while write + 1 < self.writes.len() && self.writes[write + 1].0 as usize <= at {
                write += 1;
            }
            let (start, ordinal) = self.writes[write];
            let span = self.spans[ordinal as usize];
            if span.start == start && span.len != NULL && found.last() != Some(&ordinal) {
                found.push(ordinal);
            }
        }
        // Rewritten values sit past the others, out of ordinal order.
        found.sort_unstable();
        found.dedup();
        ascending(found) & within
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(values: &[Option<&str>]) -> TextColumn {
        let mut column = TextColumn::default();
        for (ordinal, value) in (0_u32..).zip(values) {
            column.set(ordinal, *value);
        }
        column
    }

    fn all(n: u32) -> RoaringBitmap {
        (0..n).collect()
    }

    #[test]
    fn contains_by_scan_and_by_value_agree() {
        let mut c = column(&[Some("ann lee"), None, Some(""), Some("lee"), Some("bo")]);
        // A rewrite leaves the old bytes in the buffer; they match no more.
        c.set(4, Some("carl"));
        c.set(0, Some("anna"));
        let everyone = all(5);
        for needle in ["lee", "", "a", "carl", "bo", "nna", "zzz"] {
            let scanned = c.containing(needle.as_bytes(), &everyone);
            let by_value = c.filter(&everyone, |v| {
                v.is_some_and(|v| Finder::new(needle).find(v).is_some())
            });
            assert_eq!(scanned, by_value, "{needle}");
        }
        assert_eq!(
            c.containing(b"lee", &everyone).iter().collect::<Vec<_>>(),
            [3]
        );
        assert_eq!(c.containing(b"", &everyone).len(), 4);
    }

    #[test]
    fn a_match_never_spans_two_values() {
        let c = column(&[Some("ab"), Some("cd")]);
        assert!(c.containing(b"bc", &all(2)).is_empty());
        assert!(c.containing(b"b\0c", &all(2)).is_empty());
    }

    #[test]
    fn compaction_keeps_every_value() {
        let mut c = TextColumn::default();
        for round in 0..40 {
            for ordinal in 0..1000 {
                c.set(ordinal, Some(&format!("value {ordinal} round {round}")));
            }
        }
        c.set(7, None);
        assert!(c.buffer.len() < 3 * c.live_bytes + (2 << 20));
        assert_eq!(c.get(5), Some(&b"value 5 round 39"[..]));
        assert_eq!(c.get(7), None);
        assert_eq!(c.containing(b"round 39", &all(1000)).len(), 999);
    }
}
