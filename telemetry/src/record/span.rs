//! Spans: starting, recording into, and ending them.

use crate::model::ids;
use crate::record::bound;
use crate::record::context::{self, Current};
use crate::record::frame::{Frame, Restore};
use crate::record::raw_span::RawSpan;
use crate::record::recording::{self, enabled};
use crate::record::sampler::{self, Slot};
use crate::record::{clock, ring};
use crate::Attributes;
use crate::ContextGuard;
use crate::{
    KeyValue, Link, SpanContext, SpanId, SpanKind, Status, Str, TraceFlags, TraceId, TraceState,
    Value,
};
use std::error::Error;
use std::marker::PhantomData;

/// A span: a timed operation with attributes, events, links and a status. It ends
/// when dropped (with an error status if dropped while panicking) and goes to the
/// thread's ring, then to the sinks.
///
/// A `Span` is `Send`: it may end on another thread than it started on, and it is what
/// async code carries across `.await`. It is not made current by itself; [`SpanGuard`]
/// (from [`Tracer::start_span`]) is, for a synchronous scope, and
/// [`FutureExt::in_span`](crate::FutureExt::in_span) makes it current in each poll of
/// a future.
///
/// Every method is a no-op on a span that is not recording (unsampled, or telemetry off).
///
/// ```
/// use telem::{Status, Tracer};
/// let tracer = Tracer::new("doc");
/// let mut span = tracer.span("charge_card").start_detached();
/// span.set_attribute("payment.amount", 1299i64);
/// span.add_event("card_authorised", []);
/// span.set_status(Status::Ok);
/// drop(span); // ends the span
/// ```
#[derive(Debug)]
#[must_use = "a span ends when dropped"]
pub struct Span {
    /// `None` for a no-op span: with telemetry off a span is one null word.
    frame: Option<Box<Frame>>,
}

/// Which parent a new span takes.
#[derive(Debug, Clone)]
enum Parent {
    Active,
    Root,
    Explicit(SpanContext),
}

impl Span {
    /// A span that records nothing and has no context.
    pub const fn noop() -> Self {
        Self { frame: None }
    }

    /// Starts a span: a no-op unless recording is on.
    #[inline(always)]
    fn begin(scope: &Str, name: Str, kind: SpanKind, parent: Parent) -> Self {
        if enabled() {
            Self::begin_enabled(scope, name, kind, parent)
        } else {
            Self::noop()
        }
    }

    #[inline(never)]
    fn begin_enabled(scope: &Str, name: Str, kind: SpanKind, parent: Parent) -> Self {
        // A new trace's id is wholly random: W3C Level 2's random flag is set. A child
        // keeps its parent's random flag as it is.
        let (trace_id, parent_id, slot, parent_remote, random, state) = match parent {
            Parent::Active => {
                let cur = context::current();
                if cur.is_valid() {
                    let state = if cur.has_state() {
                        context::current_state()
                    } else {
                        TraceState::default()
                    };
                    let slot = Slot::of(Some((cur.is_remote(), cur.flags().is_sampled())));
                    let random = cur.flags().is_random();
                    (
                        cur.trace_id,
                        cur.span_id,
                        slot,
                        cur.is_remote(),
                        random,
                        state,
                    )
                } else {
                    let (id, none, root) = (TraceId::random(), SpanId::INVALID, Slot::Root);
                    (id, none, root, false, true, TraceState::default())
                }
            }
            Parent::Explicit(p) if p.is_valid() => {
                let slot = Slot::of(Some((p.is_remote, p.is_sampled())));
                let random = p.flags.is_random();
                (p.trace_id, p.span_id, slot, p.is_remote, random, p.state)
            }
            Parent::Explicit(_) | Parent::Root => {
                let (id, none, root) = (TraceId::random(), SpanId::INVALID, Slot::Root);
                (id, none, root, false, true, TraceState::default())
            }
        };
        let (sampled, state, _) = sampler::decide_installed(slot, trace_id, state);
        let flags = TraceFlags::NONE.with_random(random).with_sampled(sampled);
        let ids = Ids {
            trace_id,
            span_id: SpanId::random(),
            parent_id,
            parent_remote,
        };
        let mut frame = new_frame(flags, ids, state, &name, scope, kind);
        frame.restore = Restore::NOTHING;
        Self { frame: Some(frame) }
    }

    /// This span's context: what a child or a remote service takes as its parent.
    /// Invalid for a no-op span.
    pub fn context(&self) -> SpanContext {
        match &self.frame {
            None => SpanContext::INVALID,
            Some(f) => f.record.context(),
        }
    }

    /// This span's id ([`SpanId::INVALID`] for a no-op span).
    #[inline]
    pub fn span_id(&self) -> SpanId {
        match &self.frame {
            None => SpanId::INVALID,
            Some(f) => f.record.span_id,
        }
    }

    /// Whether this span records (is sampled, and telemetry is on).
    #[inline]
    pub fn is_recording(&self) -> bool {
        self.frame.as_ref().is_some_and(|f| f.record.is_recording())
    }

    #[inline]
    fn data(&mut self) -> Option<&mut RawSpan> {
        self.frame
            .as_mut()
            .map(|f| &mut f.record)
            .filter(|r| r.is_recording())
    }

    /// Sets an attribute; a key set again keeps its last value. Past the attribute
    /// limit the attribute is dropped and counted.
    #[inline]
    pub fn set_attribute(&mut self, key: impl Into<Str>, value: impl Into<Value>) {
        if let Some(d) = self.data() {
            d.set_attribute(key.into(), value.into(), recording::max_attributes());
        }
    }

    /// Sets a string attribute. With a `&'static str` key and value, nothing allocates.
    #[inline]
    pub fn set_str(&mut self, key: impl Into<Str>, value: impl Into<Str>) {
        if let Some(d) = self.data() {
            d.set_attribute(
                key.into(),
                Value::String(value.into()),
                recording::max_attributes(),
            );
        }
    }

    /// Sets an integer attribute.
    #[inline]
    pub fn set_i64(&mut self, key: impl Into<Str>, value: i64) {
        if let Some(d) = self.data() {
            d.set_attribute(key.into(), Value::I64(value), recording::max_attributes());
        }
    }

    /// Sets a float attribute.
    #[inline]
    pub fn set_f64(&mut self, key: impl Into<Str>, value: f64) {
        if let Some(d) = self.data() {
            d.set_attribute(key.into(), Value::F64(value), recording::max_attributes());
        }
    }

    /// Sets a boolean attribute.
    #[inline]
    pub fn set_bool(&mut self, key: impl Into<Str>, value: bool) {
        if let Some(d) = self.data() {
            d.set_attribute(key.into(), Value::Bool(value), recording::max_attributes());
        }
    }

    /// Adds a timestamped event. Past the event limit it is dropped and counted.
    pub fn add_event(
        &mut self,
        name: impl Into<Str>,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) {
        if let Some(d) = self.data() {
            put_event(d, name.into(), attributes);
        }
    }

    /// Links this span to another span context. Past the link limit it is dropped and counted.
    pub fn add_link(
        &mut self,
        context: SpanContext,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) {
        if let Some(d) = self.data() {
            put_link(d, context, attributes);
        }
    }

    /// Sets the status with OpenTelemetry's precedence: `Ok` is final, `Error`
    /// replaces `Unset` or an earlier error, and setting `Unset` does nothing.
    pub fn set_status(&mut self, status: Status) {
        if let Some(d) = self.data() {
            d.set_status(status);
        }
    }

    /// Records an error: an `exception` event with `exception.type` and
    /// `exception.message` (and the chain of sources as `exception.cause`), the
    /// `error.type` attribute (the error's type name, as OpenTelemetry asks of a failed
    /// operation when nothing better is known; set it yourself afterwards to a shorter
    /// class of error), and an error status with the message.
    ///
    /// ```
    /// # let tracer = telem::Tracer::new("doc");
    /// let mut span = tracer.span("open_config").start_detached();
    /// if let Err(e) = std::fs::read("/nonexistent/config.toml") {
    ///     span.record_error(&e);
    /// }
    /// ```
    pub fn record_error<E: Error + ?Sized>(&mut self, error: &E) {
        let Some(d) = self.data() else { return };
        let message = error.to_string();
        let mut attributes = vec![
            KeyValue::new("exception.type", std::any::type_name::<E>()),
            KeyValue::new("exception.message", message.clone()),
        ];
        let mut causes = Vec::new();
        let mut source = error.source();
        while let Some(s) = source {
            causes.push(Value::from(s.to_string()));
            source = s.source();
        }
        if !causes.is_empty() {
            attributes.push(KeyValue::new(
                "exception.cause",
                Value::Array(causes.into()),
            ));
        }
        put_event(d, Str::from_static("exception"), attributes);
        d.set_attribute(
            Str::from_static("error.type"),
            Value::String(Str::from_static(std::any::type_name::<E>())),
            recording::max_attributes(),
        );
        d.set_status(Status::error(message));
    }

    /// Renames the span (the name is usually known at start; this is for routers
    /// that learn the route later).
    pub fn update_name(&mut self, name: impl Into<Str>) {
        if let Some(d) = self.data() {
            d.set_name(name.into());
        }
    }

    /// Ends the span now (the same as dropping it).
    pub fn end(self) {}

    /// Makes this span the current span of this thread until the guard drops, without
    /// ending it: spans started meanwhile are its children and log records carry its
    /// ids. Baggage and bound fields stay as they are.
    ///
    /// For a span kept elsewhere than in a guard (a struct, a bridge's span table) and
    /// entered now and then; across `.await`, give it to the future instead
    /// ([`FutureExt::with_span`](crate::FutureExt::with_span)). An unsampled span
    /// becomes current too, so its children follow its sampling decision; a no-op span
    /// changes nothing.
    ///
    /// ```
    /// # let _test = telem::testing::TestPipeline::start(); // records without `init`
    /// # let tracer = telem::Tracer::new("doc");
    /// let batch = tracer.span("import_batch").start_detached();
    /// for _ in 0..3 {
    ///     let _current = batch.attach();
    ///     let row = tracer.start_span("import_row");
    ///     assert_eq!(row.context().trace_id, batch.context().trace_id);
    /// }
    /// ```
    pub fn attach(&self) -> ContextGuard {
        match &self.frame {
            None => ContextGuard::noop(),
            Some(f) => {
                let r = &f.record;
                let recording = r.is_recording();
                let state = if recording || r.has_extra() {
                    r.state()
                } else {
                    None
                };
                ContextGuard::enter_span(
                    r.trace_id,
                    r.span_id,
                    r.flags,
                    state.as_ref().filter(|s| !s.is_empty()),
                    recording.then_some(r.test_scope),
                )
            }
        }
    }
}

impl Drop for Span {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(frame) = self.frame.take() {
            end(frame);
        }
    }
}

/// A new span's ids.
#[derive(Clone, Copy)]
struct Ids {
    trace_id: TraceId,
    span_id: SpanId,
    parent_id: SpanId,
    parent_remote: bool,
}

/// A frame holding a new span with these `flags`: a record that starts the clock if
/// they are sampled, ids alone otherwise. A sampled one gets the bound fields as its
/// first attributes if that option is on (one relaxed load when off; unsampled spans
/// never look).
#[inline(always)]
fn new_frame(
    flags: TraceFlags,
    ids: Ids,
    state: TraceState,
    name: &Str,
    scope: &Str,
    kind: SpanKind,
) -> Box<Frame> {
    let mut frame = Frame::take();
    if flags.is_sampled() {
        frame.record.init_recording(
            ids.trace_id,
            ids.span_id,
            ids.parent_id,
            ids.parent_remote,
            flags,
            state,
            name,
            scope,
            kind,
        );
        if bound::on_spans() {
            bound::add_to_span(&mut frame.record);
        }
    } else {
        ring::count_sampled_out();
        frame
            .record
            .init_unsampled(ids.trace_id, ids.span_id, ids.parent_id, flags, state);
    }
    frame
}

/// Ends a span: a recording one gets its end time and goes to the thread's ring; an
/// unsampled one only gives its frame back. Out of line so that dropping a no-op span
/// inlines to a test of one word.
#[inline(never)]
fn end(frame: Box<Frame>) {
    end_inline(frame);
}

/// An unsampled span's end is a flag test and giving the frame back (a load and a
/// store); everything else is a tail call, so the caller keeps nothing across a call.
#[inline(always)]
fn end_inline(frame: Box<Frame>) {
    if frame.record.is_recording() {
        end_recording(frame);
    } else if frame.record.has_extra() {
        recycle_with_extra(frame);
    } else {
        ring::recycle(frame);
    }
}

#[inline(never)]
fn end_recording(mut frame: Box<Frame>) {
    frame.record.end = clock::raw_now();
    if std::thread::panicking() {
        mark_panicked(&mut frame.record);
    }
    ring::push(frame);
}

/// An unsampled span with a trace state: a frame goes back without one (see
/// [`RawSpan::init_unsampled`]).
#[cold]
#[inline(never)]
fn recycle_with_extra(mut frame: Box<Frame>) {
    frame.record.clear_extra();
    ring::recycle(frame);
}

#[cold]
fn mark_panicked(d: &mut RawSpan) {
    if !d.is_error() {
        d.set_status(Status::error("panicked"));
    }
}

fn limited(attributes: impl IntoIterator<Item = KeyValue>) -> (Vec<KeyValue>, u32) {
    let max = recording::max_event_attributes();
    let mut kept = Vec::new();
    let mut dropped = 0u32;
    for kv in attributes {
        if kept.len() < max {
            kept.push(kv);
        } else {
            dropped = dropped.saturating_add(1);
        }
    }
    (kept, dropped)
}

fn put_event(d: &mut RawSpan, name: Str, attributes: impl IntoIterator<Item = KeyValue>) {
    let (attributes, dropped) = limited(attributes);
    d.add_event(name, attributes, dropped, recording::max_events());
}

fn put_link(d: &mut RawSpan, context: SpanContext, attributes: impl IntoIterator<Item = KeyValue>) {
    let (attributes, _) = limited(attributes);
    d.add_link(
        Link {
            context,
            attributes,
        },
        recording::max_links(),
    );
}

/// A span that is the current span of its thread until dropped; then it ends and its
/// parent becomes current again. Derefs to [`Span`].
///
/// # Not `Send`: don't hold it across `.await`
///
/// The guard makes its span current in a thread-local. A task that parks at an
/// `.await` while holding it would leave its span current on the worker thread, and
/// whatever task that worker polls next would start its spans as children of it (an
/// unrelated request joining another's trace). So `SpanGuard` is neither `Send` nor
/// `Sync`, like `tracing`'s `Entered`: a future holding one across `.await` is not
/// `Send`, and [`tokio::spawn`] or [`telem::spawn`](crate::spawn()) refuse it at
/// compile time.
///
/// In async code, give the span to the future instead, which makes it current in each
/// of its polls and in none of the others':
///
/// - `#[trace]` on the `async fn`;
/// - `fut.in_span(tracer.span("name").start_detached())`
///   ([`FutureExt::in_span`](crate::FutureExt::in_span)): the future owns the span (a
///   [`Span`] is `Send`), which ends when the future completes;
/// - `fut.with_span(&span)` ([`FutureExt::with_span`](crate::FutureExt::with_span)): the
///   span stays with the caller, to record into after the `.await`;
/// - a guard inside a scope with no `.await` in it, or [`Tracer::in_span`] with a closure.
///
/// ```
/// use telem::prelude::*;
/// use telem::Tracer;
///
/// static TRACER: Tracer = Tracer::new("doc");
///
/// async fn load(id: u64) -> u64 {
///     tokio::task::yield_now().await;
///     id
/// }
///
/// # #[tokio::main] async fn main() {
/// let task = tokio::spawn(async {
///     let span = TRACER.span("load_book").start_detached();
///     let book = load(7).in_span(span).await; // `load_book` is current in each poll
///     let _sync = TRACER.start_span("render"); // a guard with no `.await` after it
///     book
/// });
/// assert_eq!(task.await.unwrap(), 7);
/// # }
/// ```
///
/// Holding the guard across `.await` does not compile:
///
/// ```compile_fail
/// # static TRACER: telem::Tracer = telem::Tracer::new("doc");
/// # #[tokio::main] async fn main() {
/// tokio::spawn(async {
///     let _span = TRACER.start_span("load_book");
///     tokio::task::yield_now().await; // error: the future is not `Send`
/// });
/// # }
/// ```
///
/// A future that need not be `Send` (the body of `block_on` or `#[tokio::main]`, a
/// [`spawn_local`](crate::spawn_local()) task) can still hold a guard across `.await`.
/// Wrapped with [`in_current_span`](crate::FutureExt::in_current_span) (as
/// [`spawn_local`](crate::spawn_local()) does), its span follows it from poll to poll;
/// a future that is not wrapped leaves it current on the thread while parked, where a
/// `current_thread` runtime polls the other tasks: prefer `in_span` there too.
#[derive(Debug)]
#[must_use = "the span ends when the guard drops"]
pub struct SpanGuard {
    span: Span,
    /// Neither `Send` nor `Sync`: the guard belongs to the thread whose context it set.
    _not_send: PhantomData<*const ()>,
}

impl SpanGuard {
    pub(crate) const NOOP: Self = Self::from_span(Span::noop());

    /// The guard of a span already made current.
    #[inline(always)]
    const fn from_span(span: Span) -> Self {
        Self {
            span,
            _not_send: PhantomData,
        }
    }

    /// Starts a child of the current span (or a root) and makes it current: the hot
    /// path of [`Tracer::start_span`] (a static name), one out-of-line call returning one
    /// word.
    ///
    /// An unsampled span is started here straight through: its ids in one draw from the
    /// generator, the frame the thread's last span left, and the context words, with no
    /// call, nothing spilled and nothing read back. Anything else (a sampled span, a
    /// trace state, no spare frame, a thread's first span) goes on to
    /// [`Self::start_with`], with the ids drawn here.
    #[inline(never)]
    fn start(scope: &Str, name: &'static str) -> Self {
        let cur = context::current();
        // A child keeps its parent's random flag; a new trace's id is wholly random.
        let (trace_id, span_id, slot, restore, flags) = if cur.is_valid() {
            match ids::draw() {
                Some([id]) if id != 0 => (
                    cur.trace_id,
                    SpanId::from_raw(id),
                    Slot::of(Some((cur.is_remote(), cur.flags().is_sampled()))),
                    Restore::parent(cur.bits()),
                    TraceFlags::NONE.with_random(cur.flags().is_random()),
                ),
                _ => return Self::start_with(scope, name, TraceId::INVALID, SpanId::INVALID),
            }
        } else if cur.bits() == 0 {
            match ids::draw() {
                Some([hi, lo, id]) if lo != 0 && id != 0 => (
                    TraceId::from_words(hi, lo),
                    SpanId::from_raw(id),
                    Slot::Root,
                    Restore::ROOT,
                    TraceFlags::RANDOM,
                ),
                _ => return Self::start_with(scope, name, TraceId::INVALID, SpanId::INVALID),
            }
        } else {
            return Self::start_with(scope, name, TraceId::INVALID, SpanId::INVALID);
        };
        if cur.has_state() || sampler::sample_installed(slot, trace_id) {
            return Self::start_with(scope, name, trace_id, span_id);
        }
        let Some(local) = ring::local() else {
            return Self::start_with(scope, name, trace_id, span_id);
        };
        let Some(mut frame) = local.spare_frame() else {
            return Self::start_with(scope, name, trace_id, span_id);
        };
        local.count_sampled_out();
        frame
            .record
            .init_unsampled(trace_id, span_id, cur.span_id, flags, TraceState::default());
        frame.restore = restore;
        // Not sampled, no trace state, not remote: of the new context's bits, only the
        // random flag may be set.
        let new = Current::new(trace_id, span_id, flags, false, false);
        context::enter_new(&cur, new);
        Self::from_span(Span { frame: Some(frame) })
    }

    /// What [`Self::start`] does not do itself. `span_id` (and, for a root, `trace_id`)
    /// are the ids it drew, or invalid if it drew none.
    #[inline(never)]
    fn start_with(scope: &Str, name: &'static str, trace_id: TraceId, span_id: SpanId) -> Self {
        Self::start_general(scope, &Str::from_static(name), trace_id, span_id)
    }

    /// [`Tracer::start_span`] with a name that is not static.
    #[inline(never)]
    fn start_owned(scope: &Str, name: Str) -> Self {
        Self::start_general(scope, &name, TraceId::INVALID, SpanId::INVALID)
    }

    /// Starts any span as a child of the current one (or a root) and makes it current.
    /// `span_id` (and, for a root, `trace_id`) are ids already drawn, or invalid.
    #[inline(always)]
    fn start_general(scope: &Str, name: &Str, trace_id: TraceId, span_id: SpanId) -> Self {
        let cur = context::current();
        let drawn = span_id.is_valid();
        let (trace_id, parent_id, slot, random) = if cur.is_valid() {
            let slot = Slot::of(Some((cur.is_remote(), cur.flags().is_sampled())));
            (cur.trace_id, cur.span_id, slot, cur.flags().is_random())
        } else if drawn {
            (trace_id, SpanId::INVALID, Slot::Root, true)
        } else {
            (TraceId::random(), SpanId::INVALID, Slot::Root, true)
        };
        let span_id = if drawn { span_id } else { SpanId::random() };
        // Without a trace state to read or a threshold to write (the common case), the
        // decision is one load and a compare, and the state stays empty.
        let parent_state = if cur.has_state() {
            context::current_state()
        } else {
            TraceState::default()
        };
        let (sampled, state, changed) = sampler::decide_installed(slot, trace_id, parent_state);
        let flags = TraceFlags::NONE.with_random(random).with_sampled(sampled);
        let ids = Ids {
            trace_id,
            span_id,
            parent_id,
            parent_remote: cur.is_remote(),
        };
        // The child inherits the trace state (a root over a context with no span but a
        // trace state takes that state too), so the thread's state stays as it is,
        // unless sampling changed it (a ratio sampler's threshold): then the whole
        // context is saved and put back.
        if changed {
            return Self::start_changed(&cur, flags, ids, state, name, scope);
        }
        let mut frame = new_frame(flags, ids, state, name, scope, SpanKind::Internal);
        // Everything from the locals (still in registers), nothing read back from the
        // frame just written: a load of words still in the store buffer stalls.
        let new = Current::new(trace_id, span_id, flags, false, cur.has_state());
        context::enter_new(&cur, new);
        frame.restore = Restore::parent(cur.bits());
        Self::from_span(Span { frame: Some(frame) })
    }

    /// [`Self::start_general`] for a span whose sampling changed the trace state: over a
    /// context without one (a ratio-sampled root), the state is set beside the context
    /// words and the parent comes back as usual; over one with a state (a threshold
    /// rewritten under a remote parent), the whole context is saved and put back.
    #[cold]
    #[inline(never)]
    fn start_changed(
        cur: &Current,
        flags: TraceFlags,
        ids: Ids,
        state: TraceState,
        name: &Str,
        scope: &Str,
    ) -> Self {
        if cur.has_state() || state.is_empty() {
            let frame = new_frame(flags, ids, state, name, scope, SpanKind::Internal);
            return Self::enter(Span { frame: Some(frame) });
        }
        let mut frame = new_frame(flags, ids, state.clone(), name, scope, SpanKind::Internal);
        let new = Current::new(ids.trace_id, ids.span_id, flags, false, true);
        context::enter_new_with_state(cur, new, state);
        frame.restore = Restore::parent(cur.bits());
        Self::from_span(Span { frame: Some(frame) })
    }

    /// Makes a started span current.
    #[inline]
    fn enter(mut span: Span) -> Self {
        if let Some(f) = &mut span.frame {
            let r = &f.record;
            f.saved = Some(context::enter_parts(
                r.trace_id,
                r.span_id,
                r.flags,
                false,
                r.state().as_ref(),
            ));
            f.restore = Restore::SAVED;
        }
        Self::from_span(span)
    }

    /// Puts the previous context back (unless a newer one is current: guards dropped
    /// out of order), then ends the span: one out-of-line call.
    #[inline(never)]
    fn finish(frame: Box<Frame>) {
        if frame.restore == Restore::ROOT {
            context::restore_root(frame.record.span_id);
        } else if let Some(bits) = frame.restore.parent_bits() {
            context::restore_parent(frame.record.span_id, frame.record.parent_id, bits);
        } else if frame.restore == Restore::SAVED {
            return Self::finish_saved(frame);
        }
        end_inline(frame);
    }

    /// Stops making the span current (the previous context comes back, as when the
    /// guard drops) and returns it still running, to end later: for a span started
    /// with [`Tracer::start_span`]'s fast path but kept elsewhere than in a guard (a
    /// bridge's span table, a struct).
    ///
    /// ```
    /// # let _test = telem::testing::TestPipeline::start(); // records without `init`
    /// # let tracer = telem::Tracer::new("doc");
    /// let outer = tracer.start_span("request");
    /// let job = tracer.start_span("job").detach();
    /// // `request` is current again; `job` runs until dropped, a child of `request`.
    /// assert_eq!(telem::SpanContext::current().unwrap().span_id, outer.span_id());
    /// assert_eq!(job.context().trace_id, outer.context().trace_id);
    /// ```
    pub fn detach(mut self) -> Span {
        let Some(mut frame) = self.span.frame.take() else {
            return Span::noop();
        };
        if frame.restore == Restore::ROOT {
            context::restore_root(frame.record.span_id);
        } else if let Some(bits) = frame.restore.parent_bits() {
            context::restore_parent(frame.record.span_id, frame.record.parent_id, bits);
        } else if let Some(saved) = frame.saved.take() {
            context::restore_if_current(frame.record.span_id, saved);
        }
        frame.restore = Restore::NOTHING;
        Span { frame: Some(frame) }
    }

    #[cold]
    #[inline(never)]
    fn finish_saved(mut frame: Box<Frame>) {
        if let Some(saved) = frame.saved.take() {
            context::restore_if_current(frame.record.span_id, saved);
        }
        end_inline(frame);
    }
}

impl std::ops::Deref for SpanGuard {
    type Target = Span;
    fn deref(&self) -> &Span {
        &self.span
    }
}

impl std::ops::DerefMut for SpanGuard {
    fn deref_mut(&mut self) -> &mut Span {
        &mut self.span
    }
}

impl Drop for SpanGuard {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(frame) = self.span.frame.take() {
            Self::finish(frame);
        }
    }
}

/// Names the component that records spans (its instrumentation scope) and starts them.
///
/// ```
/// use telem::Tracer;
/// static TRACER: Tracer = Tracer::new("bookstore");
///
/// let _request = TRACER.start_span("GET /books");
/// let total = TRACER.in_span("sum_prices", |span| {
///     span.set_i64("books", 3);
///     42
/// });
/// assert_eq!(total, 42);
/// ```
#[derive(Clone, Debug)]
pub struct Tracer {
    scope: Str,
}

impl Tracer {
    /// A tracer for the instrumentation scope `scope` (a crate or component name).
    pub const fn new(scope: &'static str) -> Self {
        Self {
            scope: Str::from_static(scope),
        }
    }

    /// A tracer whose scope name is only known at run time.
    pub fn from_scope(scope: impl Into<Str>) -> Self {
        Self {
            scope: scope.into(),
        }
    }

    /// The scope name.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Starts a span, child of the current one, and makes it current until the guard drops.
    ///
    /// The guard is not `Send`: it is for a synchronous scope. Across `.await`, run the
    /// future in a detached span instead:
    /// `fut.in_span(tracer.span("name").start_detached())`, or `fut.with_span(&span)`
    /// (see [`SpanGuard`]).
    #[inline(always)]
    pub fn start_span(&self, name: impl Into<Str>) -> SpanGuard {
        if enabled() {
            // A static name (known here at compile time for a literal) goes in two
            // registers, with nothing for the caller to write or drop.
            let name = name.into();
            match name.as_static() {
                Some(name) => SpanGuard::start(&self.scope, name),
                None => SpanGuard::start_owned(&self.scope, name),
            }
        } else {
            SpanGuard::NOOP
        }
    }

    /// A builder for a span with a kind, attributes, links or an explicit parent.
    pub fn span(&self, name: impl Into<Str>) -> SpanBuilder<'_> {
        SpanBuilder {
            tracer: self,
            name: name.into(),
            kind: SpanKind::Internal,
            parent: Parent::Active,
            attributes: Attributes::new(),
            links: Vec::new(),
        }
    }

    /// Runs `f` inside a new span (current while `f` runs) and ends the span after.
    #[inline]
    pub fn in_span<R>(&self, name: impl Into<Str>, f: impl FnOnce(&mut Span) -> R) -> R {
        let mut guard = self.start_span(name);
        f(&mut guard)
    }
}

impl Default for Tracer {
    /// The scope `telem`.
    fn default() -> Self {
        Self::new("telem")
    }
}

/// Configures a span before it starts. From [`Tracer::span`].
///
/// ```
/// use telem::{KeyValue, SpanKind, Tracer};
/// let tracer = Tracer::new("doc");
/// let _server = tracer
///     .span("GET /books")
///     .kind(SpanKind::Server)
///     .attribute("http.request.method", "GET")
///     .root()
///     .start();
/// ```
#[derive(Debug)]
#[must_use = "a span builder does nothing until started"]
pub struct SpanBuilder<'a> {
    tracer: &'a Tracer,
    name: Str,
    kind: SpanKind,
    parent: Parent,
    attributes: Attributes,
    links: Vec<Link>,
}

impl SpanBuilder<'_> {
    /// Sets the span kind (default internal).
    pub fn kind(mut self, kind: SpanKind) -> Self {
        self.kind = kind;
        self
    }

    /// Adds an attribute.
    pub fn attribute(mut self, key: impl Into<Str>, value: impl Into<Value>) -> Self {
        if enabled() {
            self.attributes.push(KeyValue::new(key, value));
        }
        self
    }

    /// Adds attributes.
    pub fn attributes(mut self, attributes: impl IntoIterator<Item = KeyValue>) -> Self {
        if enabled() {
            self.attributes.extend(attributes);
        }
        self
    }

    /// Adds a link to another span context.
    pub fn link(
        mut self,
        context: SpanContext,
        attributes: impl IntoIterator<Item = KeyValue>,
    ) -> Self {
        if enabled() {
            self.links.push(Link {
                context,
                attributes: attributes.into_iter().collect(),
            });
        }
        self
    }

    /// Uses `parent` (local or remote) as the parent instead of the current span. An
    /// invalid context starts a new trace.
    pub fn parent(mut self, parent: SpanContext) -> Self {
        self.parent = Parent::Explicit(parent);
        self
    }

    /// Starts a new trace, ignoring the current span.
    pub fn root(mut self) -> Self {
        self.parent = Parent::Root;
        self
    }

    fn build(self) -> Span {
        let mut span = Span::begin(&self.tracer.scope, self.name, self.kind, self.parent);
        if let Some(d) = span.data() {
            for kv in self.attributes {
                d.set_attribute(kv.key, kv.value, recording::max_attributes());
            }
            for link in self.links {
                put_link(d, link.context, link.attributes);
            }
        }
        span
    }

    /// Starts the span and makes it current until the guard drops.
    pub fn start(self) -> SpanGuard {
        SpanGuard::enter(self.build())
    }

    /// Starts the span without making it current: for a span that a future carries
    /// ([`FutureExt::in_span`](crate::FutureExt::in_span)) or that is ended elsewhere.
    pub fn start_detached(self) -> Span {
        self.build()
    }
}
