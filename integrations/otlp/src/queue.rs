//! The bounded queue between the pipeline's sink worker and the network task, one for
//! spans and one for log records.
//!
//! It holds ranges of the pipeline's shared batches (no span or record is copied) and at
//! most `capacity` items: what does not fit is refused and counted by the caller, so a
//! dead collector costs a bounded amount of memory and never blocks the drain.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

/// A run of items of one pipeline batch.
#[derive(Debug)]
pub(crate) struct Segment<T> {
    batch: Arc<Vec<T>>,
    range: Range<usize>,
}

impl<T> Segment<T> {
    pub(crate) fn items(&self) -> &[T] {
        self.batch.get(self.range.clone()).unwrap_or_default()
    }

    pub(crate) fn len(&self) -> usize {
        self.range.len()
    }
}

#[derive(Debug)]
pub(crate) struct Queue<T> {
    segments: VecDeque<Segment<T>>,
    len: usize,
    capacity: usize,
}

impl<T> Queue<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            segments: VecDeque::new(),
            len: 0,
            capacity,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Queues as many of `batch`'s items from `from` on as fit; returns how many.
    pub(crate) fn push(&mut self, batch: &Arc<Vec<T>>, from: usize) -> usize {
        let n = batch
            .len()
            .saturating_sub(from)
            .min(self.capacity - self.len);
        if n > 0 {
            self.segments.push_back(Segment {
                batch: batch.clone(),
                range: from..from + n,
            });
            self.len += n;
        }
        n
    }

    /// Moves up to `max` items, oldest first, into `out`; returns how many.
    pub(crate) fn take(&mut self, max: usize, out: &mut Vec<Segment<T>>) -> usize {
        let mut taken = 0;
        while taken < max {
            let Some(front) = self.segments.front_mut() else {
                break;
            };
            let want = max - taken;
            if front.len() <= want {
                taken += front.len();
                if let Some(segment) = self.segments.pop_front() {
                    out.push(segment);
                }
            } else {
                let split = front.range.start + want;
                out.push(Segment {
                    batch: front.batch.clone(),
                    range: front.range.start..split,
                });
                front.range.start = split;
                taken += want;
            }
        }
        self.len -= taken;
        taken
    }

    /// Empties the queue; returns how many items it held.
    pub(crate) fn clear(&mut self) -> usize {
        self.segments.clear();
        std::mem::take(&mut self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::tests::full_span;
    use telem::{SpanBatch, SpanData};

    fn batch(names: &[&'static str]) -> SpanBatch {
        Arc::new(
            names
                .iter()
                .map(|n| {
                    let mut s = full_span();
                    s.name = (*n).into();
                    s
                })
                .collect(),
        )
    }

    fn names(segments: &[Segment<SpanData>]) -> Vec<String> {
        segments
            .iter()
            .flat_map(|s| s.items().iter().map(|s| s.name.to_string()))
            .collect()
    }

    #[test]
    fn bounded_in_items_and_split_across_requests_in_order() {
        let mut q = Queue::new(5);
        assert_eq!(q.push(&batch(&["a", "b", "c"]), 0), 3);
        let defg = batch(&["d", "e", "f", "g"]);
        assert_eq!(q.push(&defg, 0), 2); // only 2 fit
        assert_eq!(q.push(&batch(&["h"]), 0), 0);
        assert_eq!(q.len(), 5);

        let mut out = Vec::new();
        assert_eq!(q.take(2, &mut out), 2);
        assert_eq!(names(&out), ["a", "b"]);
        out.clear();
        assert_eq!(q.take(10, &mut out), 3);
        assert_eq!(names(&out), ["c", "d", "e"]);
        assert_eq!(q.len(), 0);
        // The rest of a batch, from where it stopped.
        assert_eq!(q.push(&defg, 2), 2);
        out.clear();
        assert_eq!(q.take(10, &mut out), 2);
        assert_eq!(names(&out), ["f", "g"]);
        assert_eq!(q.push(&batch(&["i"]), 0), 1);
        assert_eq!(q.clear(), 1);
    }
}
