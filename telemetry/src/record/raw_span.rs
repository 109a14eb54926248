//! The compact record a recording span keeps and the ring stores.
//!
//! Everything a common span needs fits in one fixed-size record (static name and scope,
//! ids, raw clock readings, up to [`INLINE_ATTRIBUTES`] attributes with static keys and
//! scalar or static-string values). Whatever does not fit (owned names or keys, more
//! attributes, events, links, trace state, a status description) goes to a boxed
//! [`Extra`], allocated only for spans that use it. Keeping the record small is what
//! keeps the hot path fast: it is copied once into the ring and once out of it, and its
//! cache lines are what move from the recording core to the drain's.

use crate::model::value::Inline;
use crate::record::clock;
use crate::record::probability;
use crate::{
    Attributes, Event, KeyValue, Link, SpanContext, SpanData, SpanId, SpanKind, Status, Str,
    TraceFlags, TraceId, TraceState, Value, INLINE_ATTRIBUTES,
};

/// A scalar or static-string attribute value that needs no allocation.
#[derive(Clone, Copy, Debug)]
pub(crate) enum InlineValue {
    Bool(bool),
    I64(i64),
    F64(f64),
    Str(&'static str),
    /// A short owned string, kept in place (see [`Str::copy_of`]).
    Small(Inline),
}

impl InlineValue {
    #[inline]
    fn of(value: &Value) -> Option<Self> {
        Some(match value {
            Value::Bool(v) => InlineValue::Bool(*v),
            Value::I64(v) => InlineValue::I64(*v),
            Value::F64(v) => InlineValue::F64(*v),
            Value::String(s) => match s.as_static() {
                Some(s) => InlineValue::Str(s),
                None => InlineValue::Small(s.as_inline()?),
            },
            Value::Array(_) => return None,
        })
    }

    fn into_value(self) -> Value {
        match self {
            InlineValue::Bool(v) => Value::Bool(v),
            InlineValue::I64(v) => Value::I64(v),
            InlineValue::F64(v) => Value::F64(v),
            InlineValue::Str(v) => Value::String(Str::from_static(v)),
            InlineValue::Small(v) => Value::String(v.into()),
        }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct InlineAttribute {
    key: &'static str,
    value: InlineValue,
}

impl InlineAttribute {
    #[inline]
    fn key_value(&self) -> KeyValue {
        KeyValue {
            key: Str::from_static(self.key),
            value: self.value.into_value(),
        }
    }
}

const EMPTY_ATTRIBUTE: InlineAttribute = InlineAttribute {
    key: "",
    value: InlineValue::Bool(false),
};

/// What does not fit the fixed record.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    pub(crate) name: Option<Str>,
    pub(crate) scope: Option<Str>,
    pub(crate) state: TraceState,
    pub(crate) attributes: Vec<KeyValue>,
    pub(crate) events: Vec<Event>,
    pub(crate) links: Vec<Link>,
    pub(crate) status: Status,
    pub(crate) dropped_attributes: u32,
    pub(crate) dropped_events: u32,
    pub(crate) dropped_links: u32,
}

impl Extra {
    /// This out-of-line part with nothing in it, keeping the attribute buffer's memory
    /// for the next span that needs one.
    pub(crate) fn emptied(mut self: Box<Self>) -> Box<Self> {
        let mut attributes = std::mem::take(&mut self.attributes);
        attributes.clear();
        *self = Self {
            attributes,
            ..Self::default()
        };
        self
    }
}

/// Status without a description, as stored inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StatusCode {
    Unset,
    Ok,
    /// The description (if any) is in `Extra::status`.
    Error,
}

/// A key's bit in [`RawSpan::key_bits`]: a cheap hash of its length and three of its
/// bytes. Different keys may share a bit (that only costs a search); the same key always
/// has the same one.
#[inline]
fn key_bit(key: &str) -> u64 {
    let b = key.as_bytes();
    let (first, middle, last) = match b {
        [] => (0, 0, 0),
        [.., l] => (b[0], b[b.len() / 2], *l),
    };
    let h =
        (b.len() as u64) ^ u64::from(first) << 8 ^ u64::from(middle) << 16 ^ u64::from(last) << 24;
    1 << (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58)
}

/// Cache-line aligned, so a ring slot spans whole lines of its own (four) and the drain
/// reading one slot never shares a line with the producer writing the next: the drain
/// measured 4.8 ms per 100,000 spans instead of 5.9, and the recording thread 29.5 ns
/// per span instead of 31-34 (`sampled_uncontended`).
/// [`RawSpan::threshold`] when the state is not `ot=th:<threshold>` (thresholds are at
/// most `2^56`).
const NO_THRESHOLD: u64 = u64::MAX;

#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct RawSpan {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    pub(crate) parent_id: SpanId,
    /// Raw clock readings until the drain converts them.
    pub(crate) start: u64,
    pub(crate) end: u64,
    name: &'static str,
    scope: &'static str,
    attributes: [InlineAttribute; INLINE_ATTRIBUTES],
    extra: Option<Box<Extra>>,
    /// One bit per attribute key set (see [`key_bit`]): a clear bit means the key is new.
    key_bits: u64,
    /// The span's trace state when it is exactly `ot=th:<threshold>`, the state a ratio
    /// sampler gives a sampled new trace ([`NO_THRESHOLD`] otherwise: the state, if
    /// any, is in [`Extra`]). Kept as a number, not as the recording thread's shared
    /// state, so the span needs no [`Extra`] and the drain never touches that state's
    /// reference count (a cache line the recording thread writes for every span).
    threshold: u64,
    attribute_len: u8,
    pub(crate) flags: TraceFlags,
    kind: SpanKind,
    status: StatusCode,
    parent_is_remote: bool,
    /// The test scope the span belongs to (0: the global pipeline; see `crate::isolation`).
    pub(crate) test_scope: u32,
}

impl RawSpan {
    /// An empty record, for a new frame.
    pub(crate) const fn blank() -> Self {
        RawSpan {
            trace_id: TraceId::INVALID,
            span_id: SpanId::INVALID,
            parent_id: SpanId::INVALID,
            start: 0,
            end: 0,
            name: "",
            scope: "",
            attributes: [EMPTY_ATTRIBUTE; INLINE_ATTRIBUTES],
            extra: None,
            key_bits: 0,
            threshold: NO_THRESHOLD,
            attribute_len: 0,
            flags: TraceFlags::NONE,
            kind: SpanKind::Internal,
            status: StatusCode::Unset,
            parent_is_remote: false,
            test_scope: 0,
        }
    }

    /// Makes this record a sampled span starting now, with `flags` (sampled set). Only
    /// the fields a span always sets are written (an ended record's heap parts were
    /// taken by the ring).
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub(crate) fn init_recording(
        &mut self,
        trace_id: TraceId,
        span_id: SpanId,
        parent_id: SpanId,
        parent_is_remote: bool,
        flags: TraceFlags,
        state: TraceState,
        name: &Str,
        scope: &Str,
        kind: SpanKind,
    ) {
        self.trace_id = trace_id;
        self.span_id = span_id;
        self.parent_id = parent_id;
        self.parent_is_remote = parent_is_remote;
        debug_assert!(flags.is_sampled());
        self.flags = flags;
        self.test_scope = crate::record::context::current_scope();
        self.kind = kind;
        self.attribute_len = 0;
        self.key_bits = 0;
        self.status = StatusCode::Unset;
        if self.extra.is_some() {
            self.extra = None;
        }
        match name.as_static() {
            Some(n) => self.name = n,
            None => self.extra().name = Some(name.clone()),
        }
        match scope.as_static() {
            Some(s) => self.scope = s,
            None => self.extra().scope = Some(scope.clone()),
        }
        if state.is_empty() {
            self.threshold = NO_THRESHOLD;
        } else {
            self.set_state(state);
        }
        self.start = clock::raw_now();
    }

    /// Makes this record an unsampled span: ids, `flags` (sampled clear) and trace state
    /// only, never exported. The parent id is kept for the guard to restore it as the
    /// current span.
    ///
    /// Only the ids and flags are written: a frame is reused only once its record is
    /// not recording and holds no [`Extra`] (a recording one had them taken by
    /// [`Self::take_record`], an unsampled one by [`Self::clear_extra`]; see
    /// `span::end_inline`).
    #[inline(always)]
    pub(crate) fn init_unsampled(
        &mut self,
        trace_id: TraceId,
        span_id: SpanId,
        parent_id: SpanId,
        flags: TraceFlags,
        state: TraceState,
    ) {
        debug_assert!(!self.flags.is_sampled() && !flags.is_sampled());
        debug_assert!(self.extra.is_none());
        self.trace_id = trace_id;
        self.span_id = span_id;
        self.parent_id = parent_id;
        self.flags = flags;
        if !state.is_empty() {
            self.extra().state = state;
        }
    }

    /// Whether this record is a sampled span's (unsampled ones only carry ids).
    #[inline(always)]
    pub(crate) fn is_recording(&self) -> bool {
        self.flags.is_sampled()
    }

    /// Whether this record has out-of-line parts (an unsampled one: a trace state).
    #[inline(always)]
    pub(crate) fn has_extra(&self) -> bool {
        self.extra.is_some()
    }

    /// Drops the out-of-line parts.
    #[cold]
    pub(crate) fn clear_extra(&mut self) {
        self.extra = None;
    }

    #[cold]
    fn extra(&mut self) -> &mut Extra {
        self.extra
            .get_or_insert_with(crate::record::ring::spare_extra)
    }

    /// Takes the out-of-line part (for the drain to hand back to the recording thread).
    #[inline]
    pub(crate) fn take_extra(&mut self) -> Option<Box<Extra>> {
        self.extra.take()
    }

    /// A sampled span's non-empty trace state: as a threshold if it is the thread's
    /// shared `ot=th:<threshold>`, else in [`Extra`].
    #[cold]
    fn set_state(&mut self, state: TraceState) {
        match probability::shared_threshold(&state) {
            Some(threshold) => self.threshold = threshold,
            None => {
                self.threshold = NO_THRESHOLD;
                self.extra().state = state;
            }
        }
    }

    pub(crate) fn context(&self) -> SpanContext {
        SpanContext {
            trace_id: self.trace_id,
            span_id: self.span_id,
            flags: self.flags,
            state: self.state().unwrap_or_default(),
            is_remote: false,
        }
    }

    /// The trace state, if not empty.
    #[inline]
    pub(crate) fn state(&self) -> Option<TraceState> {
        if self.is_recording() && self.threshold != NO_THRESHOLD {
            return Some(probability::threshold_state(self.threshold));
        }
        self.extra
            .as_ref()
            .map(|e| &e.state)
            .filter(|s| !s.is_empty())
            .cloned()
    }

    pub(crate) fn set_name(&mut self, name: Str) {
        match name.as_static() {
            Some(n) => {
                self.name = n;
                if let Some(e) = &mut self.extra {
                    e.name = None;
                }
            }
            None => self.extra().name = Some(name),
        }
    }

    fn attribute_count(&self) -> usize {
        self.attribute_len as usize + self.extra.as_ref().map_or(0, |e| e.attributes.len())
    }

    /// Sets an attribute: replaces a value set before under the same key; past
    /// `max` attributes, drops it and counts the drop.
    ///
    /// Finding a key set before is a search of every attribute so far, but only when
    /// the key's bit in `key_bits` says it may have been: a span setting ten distinct
    /// keys (an HTTP server span) does one cheap hash per key instead of some fifty
    /// string comparisons.
    #[inline]
    pub(crate) fn set_attribute(&mut self, key: Str, value: Value, max: usize) {
        let bit = key_bit(key.as_str());
        if self.key_bits & bit != 0 && self.replace_attribute(&key, &value) {
            return;
        }
        if self.attribute_count() >= max {
            let e = self.extra();
            e.dropped_attributes = e.dropped_attributes.saturating_add(1);
            return;
        }
        self.key_bits |= bit;
        if (self.attribute_len as usize) < INLINE_ATTRIBUTES {
            if let (Some(k), Some(v)) = (key.as_static(), InlineValue::of(&value)) {
                self.attributes[self.attribute_len as usize] = InlineAttribute { key: k, value: v };
                self.attribute_len += 1;
                return;
            }
        }
        let attributes = &mut self.extra().attributes;
        if attributes.capacity() == 0 {
            // A span with more than the inline attributes usually has several more
            // (an HTTP server span has about ten): one allocation instead of three.
            // The buffer comes back to this thread after the drain (`spare_extra`).
            attributes.reserve(8 + INLINE_ATTRIBUTES);
        }
        attributes.push(KeyValue { key, value });
    }

    /// Gives the attribute under `key` its new value, if there is one.
    #[cold]
    fn replace_attribute(&mut self, key: &Str, value: &Value) -> bool {
        let inline = &mut self.attributes[..self.attribute_len as usize];
        if let Some(a) = inline.iter_mut().find(|a| a.key == key.as_str()) {
            match InlineValue::of(value) {
                Some(v) => a.value = v,
                None => {
                    // The new value needs the heap: move the attribute out of line.
                    self.remove_inline(key.as_str());
                    self.extra().attributes.push(KeyValue {
                        key: key.clone(),
                        value: value.clone(),
                    });
                }
            }
            return true;
        }
        if let Some(e) = &mut self.extra {
            if let Some(kv) = e.attributes.iter_mut().find(|kv| kv.key == *key) {
                kv.value = value.clone();
                return true;
            }
        }
        false
    }

    fn remove_inline(&mut self, key: &str) {
        let len = self.attribute_len as usize;
        if let Some(i) = self.attributes[..len].iter().position(|a| a.key == key) {
            self.attributes.copy_within(i + 1..len, i);
            self.attribute_len -= 1;
        }
    }

    pub(crate) fn add_event(
        &mut self,
        name: Str,
        attributes: Vec<KeyValue>,
        dropped: u32,
        max: usize,
    ) {
        let time = clock::raw_now();
        let e = self.extra();
        if e.events.len() >= max {
            e.dropped_events = e.dropped_events.saturating_add(1);
            return;
        }
        e.events.push(Event {
            name,
            time_unix_nano: time,
            attributes,
            dropped_attributes_count: dropped,
        });
    }

    pub(crate) fn add_link(&mut self, link: Link, max: usize) {
        let e = self.extra();
        if e.links.len() >= max {
            e.dropped_links = e.dropped_links.saturating_add(1);
        } else {
            e.links.push(link);
        }
    }

    pub(crate) fn is_error(&self) -> bool {
        self.status == StatusCode::Error
    }

    /// Sets the status with OpenTelemetry's precedence: `Ok` is final, `Error` replaces
    /// `Unset` or an earlier error, `Unset` does nothing.
    pub(crate) fn set_status(&mut self, status: Status) {
        if self.status == StatusCode::Ok {
            return;
        }
        match status {
            Status::Unset => {}
            Status::Ok => {
                self.status = StatusCode::Ok;
                if let Some(e) = &mut self.extra {
                    e.status = Status::Unset;
                }
            }
            Status::Error { description } => {
                self.status = StatusCode::Error;
                self.extra().status = Status::Error { description };
            }
        }
    }

    /// Leaves this record as [`Self::take_record`] does, for a record that goes nowhere
    /// (a full ring): not recording, without its heap parts (dropped here).
    pub(crate) fn discard(&mut self) {
        self.flags = TraceFlags::NONE;
        self.extra = None;
    }

    /// Moves the record out by value, leaving this one without its heap parts and not
    /// recording (a box ready to be reused, see [`Self::init_unsampled`]).
    #[inline(always)]
    pub(crate) fn take_record(&mut self) -> RawSpan {
        let flags = std::mem::replace(&mut self.flags, TraceFlags::NONE);
        RawSpan {
            trace_id: self.trace_id,
            span_id: self.span_id,
            parent_id: self.parent_id,
            start: self.start,
            end: self.end,
            name: self.name,
            scope: self.scope,
            attributes: self.attributes,
            extra: self.extra.take(),
            key_bits: self.key_bits,
            threshold: self.threshold,
            attribute_len: self.attribute_len,
            flags,
            kind: self.kind,
            status: self.status,
            parent_is_remote: self.parent_is_remote,
            test_scope: self.test_scope,
        }
    }

    /// The finished span, with raw clock readings converted to Unix-epoch ns. Leaves
    /// the record without its heap parts, ready to be recycled.
    #[inline(always)]
    pub(crate) fn take_span_data(&mut self) -> SpanData {
        let inline = &self.attributes[..self.attribute_len as usize];
        let Some(extra) = self.extra.as_deref_mut() else {
            let mut attributes = Attributes::new();
            for a in inline {
                attributes.push(a.key_value());
            }
            return self.span_data(attributes, Extra::default());
        };
        // The attributes are copied into memory of this (the drain's) thread and the
        // emptied buffer stays in the record, which the drain hands back to the
        // recording thread (see `ring::Cycle::next`). Inline ones first, in recording
        // order; one allocation at most, of the exact size.
        let mut attributes = Attributes::with_capacity(inline.len() + extra.attributes.len());
        for a in inline {
            attributes.push(a.key_value());
        }
        attributes.extend(extra.attributes.drain(..));
        let mut parts = std::mem::take(extra);
        // Everything else goes with the span; the emptied buffer stays.
        extra.attributes = std::mem::take(&mut parts.attributes);
        self.span_data(attributes, parts)
    }

    #[inline(always)]
    fn span_data(&self, attributes: Attributes, extra: Extra) -> SpanData {
        let mut events = extra.events;
        for e in &mut events {
            e.time_unix_nano = clock::to_unix_nanos(e.time_unix_nano);
        }
        SpanData {
            name: extra.name.unwrap_or(Str::from_static(self.name)),
            scope: extra.scope.unwrap_or(Str::from_static(self.scope)),
            context: SpanContext {
                trace_id: self.trace_id,
                span_id: self.span_id,
                flags: self.flags,
                // The drain's own shared `ot=th` state (see `threshold`).
                state: if self.threshold == NO_THRESHOLD {
                    extra.state
                } else {
                    probability::threshold_state(self.threshold)
                },
                is_remote: false,
            },
            parent_span_id: self.parent_id,
            parent_is_remote: self.parent_is_remote,
            kind: self.kind,
            start_time_unix_nano: clock::to_unix_nanos(self.start),
            end_time_unix_nano: clock::to_unix_nanos(self.end),
            attributes,
            events,
            links: extra.links,
            status: match self.status {
                StatusCode::Unset => Status::Unset,
                StatusCode::Ok => Status::Ok,
                StatusCode::Error => match extra.status {
                    s @ Status::Error { .. } => s,
                    _ => Status::error(""),
                },
            },
            dropped_attributes_count: extra.dropped_attributes,
            dropped_events_count: extra.dropped_events,
            dropped_links_count: extra.dropped_links,
        }
    }
}

// A ring slot is four whole cache lines: the ids, times, names and flags, then the
// inline attributes. Growing it costs every span a line on both cores.
const _: () = assert!(std::mem::size_of::<RawSpan>() == 256);
const _: () = assert!(std::mem::size_of::<InlineAttribute>() == 40);

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawSpan {
        let mut r = RawSpan::blank();
        r.init_recording(
            TraceId::random(),
            SpanId::random(),
            SpanId::INVALID,
            false,
            TraceFlags::SAMPLED,
            TraceState::default(),
            &Str::from_static("op"),
            &Str::from_static("scope"),
            SpanKind::Internal,
        );
        r
    }

    #[test]
    fn common_spans_stay_inline() {
        let mut r = raw();
        r.set_attribute("a".into(), Value::I64(1), 128);
        r.set_attribute("b".into(), Value::from("static"), 128);
        r.set_attribute("c".into(), Value::F64(0.5), 128);
        assert_eq!(INLINE_ATTRIBUTES, 3);
        assert!(
            r.extra.is_none(),
            "static keys and values must not allocate"
        );
        r.set_attribute("d".into(), Value::I64(5), 128);
        assert_eq!(r.extra.as_ref().unwrap().attributes.len(), 1);
        let d = r.take_span_data();
        let keys: Vec<_> = d.attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["a", "b", "c", "d"]);
    }

    #[test]
    fn overwrite_moves_between_inline_and_extra() {
        let mut r = raw();
        r.set_attribute("k".into(), Value::I64(1), 128);
        // Longer than an inline string: the value needs the heap.
        let long = "a string value too long to be kept inline";
        r.set_attribute("k".into(), Value::from(String::from(long)), 128);
        assert!(r.extra.as_ref().is_some_and(|e| e.attributes.len() == 1));
        assert_eq!(r.attribute_len, 0);
        r.set_attribute("k".into(), Value::I64(3), 128);
        let d = r.take_span_data();
        assert_eq!(d.attributes.len(), 1);
        assert_eq!(d.attribute("k"), Some(&Value::I64(3)));
    }

    #[test]
    fn recycled_records_start_clean() {
        let mut r = raw();
        r.set_attribute("k".into(), Value::I64(1), 128);
        r.set_attribute(String::from("owned").into(), Value::I64(2), 128);
        r.set_status(Status::error("bad"));
        let _ = r.take_span_data();
        let mut again = r;
        again.init_recording(
            TraceId::random(),
            SpanId::random(),
            SpanId::INVALID,
            false,
            TraceFlags::SAMPLED,
            TraceState::default(),
            &Str::from_static("second"),
            &Str::from_static("scope"),
            SpanKind::Server,
        );
        let d = again.take_span_data();
        assert_eq!(d.name, "second");
        assert!(d.attributes.is_empty());
        assert_eq!(d.status, Status::Unset);
        assert_eq!(d.kind, SpanKind::Server);
    }

    proptest::proptest! {
        /// Whatever the order, repeats, key kinds and limit, the attributes match a
        /// plain model: the last value per key, in first-set order, the first `max`
        /// distinct keys kept and the rest counted as dropped.
        #[test]
        fn attributes_match_a_model(
            sets in proptest::collection::vec((0usize..12, 0i64..4, proptest::bool::ANY), 0..40),
            max in 1usize..14,
        ) {
            const KEYS: [&str; 12] = [
                "a", "b", "url.path", "url.scheme", "http.route", "request.id",
                "server.port", "client.address", "x", "xx", "http.request.method",
                "user_agent.original",
            ];
            let mut r = raw();
            let mut model: Vec<(&str, Value)> = Vec::new();
            let mut dropped = 0u32;
            for (k, v, owned) in sets {
                let key = if owned { Str::from(KEYS[k].to_owned()) } else { Str::from_static(KEYS[k]) };
                let value = match v {
                    0 => Value::I64(k as i64),
                    1 => Value::from("static"),
                    2 => Value::from(String::from("short")),
                    _ => Value::from("a string value too long to be kept inline".to_owned()),
                };
                r.set_attribute(key, value.clone(), max);
                let full = model.len() >= max;
                match model.iter_mut().find(|(mk, _)| *mk == KEYS[k]) {
                    Some(slot) => slot.1 = value,
                    None if !full => model.push((KEYS[k], value)),
                    None => dropped += 1,
                }
            }
            let d = r.take_span_data();
            let mut got: Vec<(&str, Value)> =
                d.attributes.iter().map(|kv| (kv.key.as_str(), kv.value.clone())).collect();
            let mut want = model.clone();
            // Moving an attribute out of line changes its position, not its value.
            got.sort_by(|a, b| a.0.cmp(b.0));
            want.sort_by(|a, b| a.0.cmp(b.0));
            proptest::prop_assert_eq!(got, want);
            proptest::prop_assert_eq!(d.dropped_attributes_count, dropped);
        }
    }
}
