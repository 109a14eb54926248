//! A log record as the calling thread writes it: what the drain needs to build a
//! [`LogRecord`], with the formatting left to the drain.

use crate::logs::site::{Message, Site};
use crate::record::bound::BoundFields;
use crate::record::{clock, context};
use crate::{Attributes, KeyValue, LogRecord, SpanId, Str, TraceFlags, TraceId, Value};
use smallvec::SmallVec;
use std::fmt::Write as _;

/// Values a record keeps inline: a message argument and three fields record without
/// allocating.
pub(crate) const INLINE_LOG_VALUES: usize = 4;

/// A recorded log call.
#[derive(Debug)]
pub(crate) struct RawLog {
    pub(crate) site: &'static Site,
    /// Raw clock reading (see `record::clock`).
    pub(crate) time: u64,
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) flags: TraceFlags,
    /// The test scope (0: the global pipeline).
    pub(crate) test_scope: u32,
    /// The message, when formatted at the call ([`Message::Formatted`]).
    pub(crate) body: Option<Str>,
    /// The message's arguments ([`Message::Pieces`]), then the fields' values.
    pub(crate) values: SmallVec<[Value; INLINE_LOG_VALUES]>,
    /// Which of the site's keys have a value in `values` (bit `i`: key `i`), in key
    /// order: all of them for a macro call, those a bridged event gave for a bridged one.
    pub(crate) present: u64,
    pub(crate) bound: Option<BoundFields>,
    /// What only bridged records have (see [`Extra`]).
    pub(crate) extra: Option<Box<Extra>>,
}

/// What a record bridged from another API may carry beyond a macro call's: kept out of
/// line, so a macro call's record stays as small as it was.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    /// The target, when it is not the site's (a `log` record whose target is not static).
    pub(crate) target: Option<Str>,
    /// Fields whose keys are not the site's, in the order given.
    pub(crate) attributes: Vec<KeyValue>,
}

/// Every key of a site has a value.
pub(crate) const ALL_PRESENT: u64 = u64::MAX;

impl RawLog {
    /// A record of a call at `site` now, in the current context.
    #[inline]
    pub(crate) fn now<const N: usize>(
        site: &'static Site,
        body: Option<Str>,
        values: [Value; N],
    ) -> Self {
        Self::with_values(site, body, values.into_iter().collect())
    }

    /// [`now`](Self::now) with the values padded to the inline size, `len` of them
    /// given: the array is moved into the record whole (collecting it value by value
    /// was the largest cost of a log call, perf).
    #[inline(always)]
    pub(crate) fn now_inline(
        site: &'static Site,
        body: Option<Str>,
        values: [Value; INLINE_LOG_VALUES],
        len: usize,
    ) -> Self {
        Self::with_values(
            site,
            body,
            SmallVec::from_buf_and_len(values, len.min(INLINE_LOG_VALUES)),
        )
    }

    /// A bridged record at `site` now, in the current context, with no values yet.
    pub(crate) fn bridged(site: &'static Site, body: Str) -> Self {
        let mut raw = Self::with_values(site, Some(body), SmallVec::new());
        raw.present = 0;
        raw
    }

    #[inline(always)]
    fn with_values(
        site: &'static Site,
        body: Option<Str>,
        values: SmallVec<[Value; INLINE_LOG_VALUES]>,
    ) -> Self {
        let current = context::current();
        let (trace_id, span_id, flags) = if current.is_valid() {
            (current.trace_id, current.span_id, current.flags())
        } else {
            (TraceId::INVALID, SpanId::INVALID, TraceFlags::default())
        };
        Self {
            site,
            time: clock::raw_now(),
            trace_id,
            span_id,
            flags,
            test_scope: context::current_scope(),
            body,
            values,
            present: ALL_PRESENT,
            bound: crate::record::bound::current(),
            extra: None,
        }
    }

    /// The target the record is filed under: the site's, unless a bridge gave another.
    pub(crate) fn target(&self) -> &str {
        match self.extra.as_ref().and_then(|e| e.target.as_ref()) {
            Some(target) => target,
            None => self.site.target,
        }
    }

    /// The record sinks receive: the message written, the fields keyed, the bound
    /// fields the call site did not give again.
    pub(crate) fn take_record(&mut self) -> LogRecord {
        let site = self.site;
        let args = site.message.args().min(self.values.len());
        let body = match (&self.body, &site.message) {
            (Some(body), _) => body.clone(),
            (None, Message::Pieces([only])) => Str::from_static(only),
            (None, Message::Pieces(pieces)) => {
                let mut text = String::new();
                for (i, piece) in pieces.iter().enumerate() {
                    text.push_str(piece);
                    if let Some(arg) = self.values.get(i).filter(|_| i < args) {
                        let _ = write!(text, "{arg}");
                    }
                }
                Str::from(text)
            }
            (None, Message::Formatted) => Str::from_static(""),
        };
        let present = self.present;
        let mut attributes: Attributes = site
            .keys
            .iter()
            .enumerate()
            .filter(|&(i, _)| i >= 64 || present & (1 << i) != 0)
            .zip(self.values.drain(args..))
            .map(|((_, &key), value)| KeyValue {
                key: Str::from_static(key),
                value,
            })
            .collect();
        self.values.clear();
        let extra = self.extra.take().map(|e| *e).unwrap_or_default();
        attributes.extend(extra.attributes);
        let context_fields: Attributes = self
            .bound
            .take()
            .iter()
            .flat_map(BoundFields::iter)
            .filter(|kv| !attributes.iter().any(|given| given.key == kv.key))
            .cloned()
            .collect();
        let time = clock::to_unix_nanos(self.time);
        LogRecord {
            time_unix_nano: time,
            observed_time_unix_nano: time,
            severity: site.level.severity(),
            body,
            attributes,
            context_fields,
            event_name: site.name.map(Str::from_static),
            target: extra
                .target
                .unwrap_or_else(|| Str::from_static(site.target)),
            // A bridged site may know neither (a `log` record without them).
            file: (!site.file.is_empty()).then(|| Str::from_static(site.file)),
            line: (site.line != 0).then_some(site.line),
            trace_id: self.trace_id,
            span_id: self.span_id,
            trace_flags: self.flags,
        }
    }
}
