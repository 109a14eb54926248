//! The current span context, carried by the thread while a task or scope runs.
//!
//! The current context lives in a thread-local that is swapped in and out around each
//! poll of an instrumented future ([`Instrumented`](crate::Instrumented)): a task carries its own context,
//! restores it on whatever worker polls it next, and takes back any change the poll
//! made (a span guard held across `.await` in a future that need not be `Send`).
//! Between polls the thread holds whatever it held before, so another task on the same
//! thread never sees this one's spans.
//!
//! Beside the span context, a task carries values of other kinds ([`Carried`]): the W3C
//! [`Baggage`] and the fields bound with [`bind`](crate::bind). Each kind has a
//! thread-local cell of its own, and one flag word (`CARRIED`) says which of them are
//! set, so span start and end never touch them and a poll with none anywhere reads only
//! that word. One mechanism, generic over the kind, moves them all: [`Carry`] is what a
//! [`Context`] or an [`Instrumented`](crate::Instrumented) future holds (for each kind,
//! its own value, or nothing to inherit the current one).
//!
//! The guards that set the thread's context directly ([`SpanGuard`](crate::SpanGuard),
//! [`ContextGuard`], [`BaggageGuard`](crate::propagation::BaggageGuard),
//! [`BindGuard`](crate::BindGuard)) are not `Send`:
//! held across `.await` in a task that is not instrumented, a guard would stay current
//! on the worker while the task is parked, and the worker's next task would inherit it.
//! A future that must be `Send` (for `tokio::spawn`) cannot hold one, so it carries its
//! context through [`FutureExt`](crate::FutureExt) instead.

use crate::propagation::Baggage;
use crate::record::bound::BoundFields;
use crate::{KeyValue, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::thread::LocalKey;

/// The thread's current span, as plain data: 32 bytes in three whole words, so it is
/// copied with full-width moves (byte-sized fields here cost store-forwarding stalls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Current {
    pub(crate) trace_id: TraceId,
    pub(crate) span_id: SpanId,
    /// Flags in bits 0..8, `is_remote` in bit 8, `has_state` (the span carries a
    /// non-empty trace state, kept in [`STATE`]) in bit 9.
    bits: u64,
}

impl Current {
    #[inline]
    pub(crate) const fn new(
        trace_id: TraceId,
        span_id: SpanId,
        flags: TraceFlags,
        is_remote: bool,
        has_state: bool,
    ) -> Self {
        Self {
            trace_id,
            span_id,
            bits: flags.bits() as u64 | (is_remote as u64) << 8 | (has_state as u64) << 9,
        }
    }

    /// Flags, `is_remote` and `has_state` packed in one word.
    #[inline]
    pub(crate) const fn bits(&self) -> u64 {
        self.bits
    }

    #[inline]
    pub(crate) const fn flags(&self) -> TraceFlags {
        TraceFlags::new(self.bits as u8)
    }

    #[inline]
    pub(crate) const fn is_remote(&self) -> bool {
        self.bits & (1 << 8) != 0
    }

    #[inline]
    pub(crate) const fn has_state(&self) -> bool {
        self.bits & (1 << 9) != 0
    }

    #[inline]
    pub(crate) fn is_valid(&self) -> bool {
        self.span_id.is_valid()
    }
}

/// The current context as four word-sized cells, read and written one word at a time:
/// a `Cell<Current>` is copied with 16-byte vector moves, and a 16-byte load of words
/// just stored separately stalls store-to-load forwarding (≈ 10 ns on Zen).
///
/// While the span word is zero (no span current) the trace words mean nothing: every
/// reader checks the span id first, so a root span ending leaves its trace id there
/// rather than spending two stores to clear it.
struct Words {
    trace_hi: Cell<u64>,
    trace_lo: Cell<u64>,
    span: Cell<u64>,
    bits: Cell<u64>,
    /// The test scope spans started here belong to (0: the global pipeline); see
    /// `crate::isolation`. Beside the context words, so reading it costs no extra
    /// thread-local lookup.
    scope: Cell<u32>,
}

thread_local! {
    static CURRENT: Words = const {
        Words {
            trace_hi: Cell::new(0),
            trace_lo: Cell::new(0),
            span: Cell::new(0),
            bits: Cell::new(0),
            scope: Cell::new(0),
        }
    };
    // Only touched when a context carries a non-empty `tracestate`, and only read while
    // the context's `has_state` bit is set (it may hold a stale state otherwise).
    static STATE: RefCell<TraceState> = const { RefCell::new(TraceState(None)) };
    // The values carried beside the context (see [`Carried`]), each in its own cell,
    // never read or written by span start and end, only by their own API, `Context` and
    // `Instrumented` polls (and, with the option on, by a sampled span's start for the
    // bound fields).
    static BAGGAGE: Cell<Baggage> = const { Cell::new(Baggage::EMPTY) };
    static FIELDS: Cell<BoundFields> = const { Cell::new(BoundFields::EMPTY) };
    // Which of them is non-empty, one bit per kind (`Carried::BIT`). A plain word (no
    // destructor, so no lazy registration check on access): an instrumented poll with
    // nothing carried anywhere reads only this, twice.
    static CARRIED: Cell<u8> = const { Cell::new(0) };
}

#[inline]
pub(crate) fn current() -> Current {
    CURRENT.with(|w| Current {
        trace_id: TraceId::from_words(w.trace_hi.get(), w.trace_lo.get()),
        span_id: SpanId::from_raw(w.span.get()),
        bits: w.bits.get(),
    })
}

/// The test scope of the calling thread or task (0: none).
#[inline(always)]
pub(crate) fn current_scope() -> u32 {
    CURRENT.with(|w| w.scope.get())
}

/// Makes `scope` current, returning the previous one.
#[inline]
pub(crate) fn replace_scope(scope: u32) -> u32 {
    CURRENT.with(|w| w.scope.replace(scope))
}

/// The current span's id alone (what an out-of-order drop checks).
#[inline]
pub(crate) fn current_span_id() -> SpanId {
    CURRENT.with(|w| SpanId::from_raw(w.span.get()))
}

/// Replaces the current context, returning the previous one.
#[inline]
fn replace(new: Current) -> Current {
    CURRENT.with(|w| {
        let (hi, lo) = new.trace_id.words();
        Current {
            trace_id: TraceId::from_words(w.trace_hi.replace(hi), w.trace_lo.replace(lo)),
            span_id: SpanId::from_raw(w.span.replace(new.span_id.to_u64())),
            bits: w.bits.replace(new.bits),
        }
    })
}

#[inline]
fn set(new: Current) {
    let _ = replace(new);
}

/// The trace state of the current context (empty unless `has_state`).
#[cold]
pub(crate) fn current_state() -> TraceState {
    STATE.with(|s| s.borrow().clone())
}

/// What [`enter`] replaced, to put back with [`restore`].
#[derive(Debug)]
pub(crate) struct Saved {
    current: Current,
    state: Option<TraceState>,
}

/// Makes `ctx` the thread's current context.
#[inline]
pub(crate) fn enter(ctx: &SpanContext) -> Saved {
    let state = (!ctx.state.is_empty()).then_some(&ctx.state);
    enter_parts(ctx.trace_id, ctx.span_id, ctx.flags, ctx.is_remote, state)
}

/// Makes the given span the thread's current context; `state` is `None` when empty.
#[inline]
pub(crate) fn enter_parts(
    trace_id: TraceId,
    span_id: SpanId,
    flags: TraceFlags,
    is_remote: bool,
    state: Option<&TraceState>,
) -> Saved {
    let new = Current::new(trace_id, span_id, flags, is_remote, state.is_some());
    let current = replace(new);
    let state = (new.has_state() || current.has_state())
        .then(|| swap_state(state.cloned().unwrap_or_default()));
    Saved { current, state }
}

/// Makes a new span current over `cur` (the current context, read by the caller):
/// a child of its span has the same trace id, so only the span id and bits words
/// change; a root over no span writes all four words (the old ones are not read).
#[inline(always)]
pub(crate) fn enter_new(cur: &Current, new: Current) {
    CURRENT.with(|w| {
        if !cur.is_valid() {
            let (hi, lo) = new.trace_id.words();
            w.trace_hi.set(hi);
            w.trace_lo.set(lo);
        }
        w.span.set(new.span_id.to_u64());
        w.bits.set(new.bits);
    });
}

/// Makes a new span with its own trace state current over `cur`, a context without a
/// trace state (a sampled root under a ratio sampler: `ot=th:...`). The state goes in
/// [`STATE`] without saving what was there: with `has_state` clear in `cur`, nothing
/// reads it, and ending the span with [`restore_parent`] or [`restore_root`] clears the
/// bit again.
#[inline]
pub(crate) fn enter_new_with_state(cur: &Current, new: Current, state: TraceState) {
    debug_assert!(!cur.has_state() && new.has_state());
    drop(swap_state(state));
    enter_new(cur, new);
}

/// Ends a span entered with [`enter_new`]: if it is still current,
/// its parent (`parent_id`, with `bits`) becomes current again, or no span for a root
/// span (`parent_id` invalid: the trace words are then left as they are, see [`Words`]).
#[inline(always)]
pub(crate) fn restore_parent(span_id: SpanId, parent_id: SpanId, bits: u64) {
    CURRENT.with(|w| {
        if w.span.get() == span_id.to_u64() {
            w.span.set(parent_id.to_u64());
            w.bits.set(bits);
        }
    });
}

/// Ends a root span entered over the empty context: if it is still current, no span is
/// current again (see [`Words`] for the trace words).
#[inline(always)]
pub(crate) fn restore_root(span_id: SpanId) {
    CURRENT.with(|w| {
        if w.span.get() == span_id.to_u64() {
            w.span.set(0);
            w.bits.set(0);
        }
    });
}

#[cold]
fn swap_state(state: TraceState) -> TraceState {
    STATE.with(|s| s.replace(state))
}

/// Puts back what [`enter`] replaced.
#[inline]
pub(crate) fn restore(saved: Saved) {
    set(saved.current);
    if let Some(state) = saved.state {
        swap_state(state);
    }
}

/// Puts back what [`enter`] replaced only if `span_id` is still current (a guard dropped
/// out of order must not clobber a newer context).
#[inline]
pub(crate) fn restore_if_current(span_id: SpanId, saved: Saved) {
    if current_span_id() == span_id {
        restore(saved);
    }
}

/// A kind of value that follows the task beside its span context, exactly as the span
/// does: across `.await` and worker threads in an
/// [`Instrumented`](crate::Instrumented) future, into `join!` branches and spawned
/// tasks, and through [`Context`]. Immutable and shared, so carrying one is a reference
/// count.
pub(crate) trait Carried: Clone + Default + 'static {
    /// Its bit in `CARRIED`.
    const BIT: u8;
    /// Its thread-local cell (read through `try_with`: while the thread's locals are
    /// being destroyed there is simply none).
    fn cell() -> &'static LocalKey<Cell<Self>>;
    /// Whether it holds nothing (the default).
    fn is_empty(&self) -> bool;
    /// Whether both are the same shared value, or both empty: what a poll checks to see
    /// whether it changed the current one.
    fn same_as(&self, other: &Self) -> bool;
}

impl Carried for Baggage {
    const BIT: u8 = 1;
    fn cell() -> &'static LocalKey<Cell<Self>> {
        &BAGGAGE
    }
    fn is_empty(&self) -> bool {
        Baggage::is_empty(self)
    }
    fn same_as(&self, other: &Self) -> bool {
        Baggage::same_as(self, other)
    }
}

impl Carried for BoundFields {
    const BIT: u8 = 2;
    fn cell() -> &'static LocalKey<Cell<Self>> {
        &FIELDS
    }
    fn is_empty(&self) -> bool {
        BoundFields::is_empty(self)
    }
    fn same_as(&self, other: &Self) -> bool {
        BoundFields::same_as(self, other)
    }
}

/// Whether a `T` is current (one plain thread-local load).
#[inline]
pub(crate) fn has_current<T: Carried>() -> bool {
    CARRIED.with(|c| c.get() & T::BIT != 0)
}

/// Whether anything is carried at all on this thread (one plain thread-local load).
#[inline]
fn carries_any() -> bool {
    CARRIED.with(|c| c.get() != 0)
}

/// The current `T` (a clone: one reference count when non-empty).
#[inline]
pub(crate) fn current_of<T: Carried>() -> T {
    if has_current::<T>() {
        current_slow()
    } else {
        T::default()
    }
}

#[cold]
fn current_slow<T: Carried>() -> T {
    T::cell()
        .try_with(|cell| {
            let current = cell.take();
            let copy = current.clone();
            cell.set(current);
            copy
        })
        .unwrap_or_default()
}

/// Makes `value` the current `T`, returning the previous one.
pub(crate) fn replace_current<T: Carried>(value: T) -> T {
    CARRIED.with(|c| {
        let others = c.get() & !T::BIT;
        c.set(if value.is_empty() {
            others
        } else {
            others | T::BIT
        });
    });
    T::cell()
        .try_with(|cell| cell.replace(value))
        .unwrap_or_default()
}

/// The current baggage (a clone: one reference count when non-empty).
#[inline]
pub(crate) fn current_baggage() -> Baggage {
    current_of()
}

/// Makes `baggage` current, returning the previous baggage.
pub(crate) fn replace_baggage(baggage: Baggage) -> Baggage {
    replace_current(baggage)
}

/// What a poll of a future found current for one kind, to put back after it.
#[derive(Debug)]
enum SavedOne<T> {
    /// The future carried its own value; this is what was current before.
    Replaced(T),
    /// The future carried none and runs with whatever is current (this, still current).
    Inherited(T),
}

impl<T: Carried> SavedOne<T> {
    /// Enters a future's own value (`Some`) for a poll, else keeps the current one.
    fn enter(own: Option<T>) -> Self {
        match own {
            Some(own) => Self::Replaced(replace_current(own)),
            None => Self::Inherited(current_slow()),
        }
    }

    /// Puts back what [`Self::enter`] replaced and returns what the future keeps for its
    /// next poll: the value the poll left current (a guard held across `.await` stays
    /// with the task), or `None` if it inherited and left the inherited value unchanged.
    fn leave(self) -> Option<T> {
        match self {
            Self::Replaced(outer) => Some(replace_current(outer)),
            Self::Inherited(outer) => {
                let same = T::cell()
                    .try_with(|cell| {
                        let left = cell.take();
                        let same = left.same_as(&outer);
                        cell.set(left);
                        same
                    })
                    .unwrap_or(true);
                (!same).then(|| replace_current(outer))
            }
        }
    }
}

/// After a poll that found nothing to carry: takes a `T` the poll left current (a
/// guard held across `.await`) for the future's next poll.
fn take_left<T: Carried>(own: &mut Option<T>) {
    if has_current::<T>() {
        *own = Some(replace_current(T::default()));
    }
}

/// Whether a future's own value leaves nothing to swap in (none, or an empty one).
#[inline]
fn is_unset<T: Carried>(own: &Option<T>) -> bool {
    own.as_ref().is_none_or(T::is_empty)
}

/// What a [`Context`] or an [`Instrumented`](crate::Instrumented) future carries beside
/// its span context, one [`Carried`] kind per field: for each, its own value (made
/// current when the context is attached or the future polled; an empty one clears the
/// current one), or `None` to leave whatever is current there.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Carry {
    pub(crate) baggage: Option<Baggage>,
    pub(crate) fields: Option<BoundFields>,
}

/// What [`Carry::enter`] replaced, to put back with [`Carry::leave`].
#[derive(Debug)]
pub(crate) struct SavedCarry {
    baggage: SavedOne<Baggage>,
    fields: SavedOne<BoundFields>,
}

impl Carry {
    /// What is current now: each kind that is set, nothing for the others.
    #[inline]
    pub(crate) fn current() -> Self {
        fn set<T: Carried>() -> Option<T> {
            has_current::<T>().then(current_slow)
        }
        Self {
            baggage: set(),
            fields: set(),
        }
    }

    /// Makes current each kind this sets, returning what they replaced (to
    /// [`restore`](Self::restore)).
    pub(crate) fn attach(&self) -> Self {
        Self {
            baggage: self.baggage.clone().map(replace_current),
            fields: self.fields.clone().map(replace_current),
        }
    }

    /// Puts back what [`attach`](Self::attach) replaced.
    pub(crate) fn restore(self) {
        fn put<T: Carried>(previous: Option<T>) {
            if let Some(previous) = previous {
                replace_current(previous);
            }
        }
        put(self.baggage);
        put(self.fields);
    }

    /// Enters this future's values for one poll. With nothing on the future or the
    /// thread (the common case) that is one flag read, and `None`: nothing to put back.
    #[inline]
    pub(crate) fn enter(&mut self) -> Option<SavedCarry> {
        if is_unset(&self.baggage) && is_unset(&self.fields) && !carries_any() {
            None
        } else {
            Some(self.enter_slow())
        }
    }

    #[cold]
    fn enter_slow(&mut self) -> SavedCarry {
        SavedCarry {
            baggage: SavedOne::enter(self.baggage.take()),
            fields: SavedOne::enter(self.fields.take()),
        }
    }

    /// Puts back what [`enter`](Self::enter) replaced, keeping what the poll left
    /// current for the next poll. After a poll that found nothing, one flag read.
    #[inline]
    pub(crate) fn leave(&mut self, saved: Option<SavedCarry>) {
        match saved {
            None if !carries_any() => {}
            None => self.take_left(),
            Some(saved) => self.leave_slow(saved),
        }
    }

    #[cold]
    fn take_left(&mut self) {
        take_left(&mut self.baggage);
        take_left(&mut self.fields);
    }

    #[cold]
    fn leave_slow(&mut self, saved: SavedCarry) {
        self.baggage = saved.baggage.leave();
        self.fields = saved.fields.leave();
    }
}

fn current_span_context() -> SpanContext {
    let c = current();
    if !c.is_valid() {
        return SpanContext::INVALID;
    }
    SpanContext {
        trace_id: c.trace_id,
        span_id: c.span_id,
        flags: c.flags(),
        state: if c.has_state() {
            current_state()
        } else {
            TraceState::default()
        },
        is_remote: c.is_remote(),
    }
}

impl SpanContext {
    /// The context of the span current on this task or thread, if any.
    ///
    /// ```
    /// use telem::{Context, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
    /// assert!(SpanContext::current().is_none());
    /// let parent = SpanContext::new(
    ///     TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
    ///     SpanId::from_hex("00f067aa0ba902b7").unwrap(),
    ///     TraceFlags::SAMPLED,
    ///     TraceState::default(),
    ///     false,
    /// );
    /// let seen = Context::from_span(parent.clone()).run(SpanContext::current);
    /// assert_eq!(seen, Some(parent));
    /// ```
    pub fn current() -> Option<SpanContext> {
        let ctx = current_span_context();
        ctx.is_valid().then_some(ctx)
    }
}

/// A captured span context: what new spans take as their parent, and optionally the
/// [`Baggage`] and the [bound fields](crate::bind) that go with it.
///
/// Capture it with [`Context::current`] to carry it somewhere the task-local machinery
/// doesn't reach (a `std::thread`, a callback registry), then [`attach`](Context::attach)
/// it there. Build one from a remote parent (a `traceparent` header) with
/// [`Context::from_remote`], or from request headers with
/// [`propagation::extract`](crate::propagation::extract).
///
/// A context either sets baggage ([`with_baggage`](Context::with_baggage), or
/// [`current`](Context::current) while baggage is current) or leaves it alone: attaching
/// a context without baggage keeps whatever baggage is current where it is attached.
/// The same goes for bound fields ([`with_fields`](Context::with_fields), or
/// [`current`](Context::current) while fields are bound).
///
/// ```
/// use telem::Context;
/// let ctx = Context::current();
/// std::thread::spawn(move || {
///     let _guard = ctx.attach();
///     // spans started here are children of the span that was current above
/// })
/// .join()
/// .unwrap();
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Context {
    pub(crate) span: SpanContext,
    /// The baggage and bound fields it sets, if any.
    pub(crate) carry: Carry,
    /// The test scope current where the context was made (see `crate::isolation`).
    pub(crate) scope: u32,
}

impl Default for Context {
    /// The same as [`Context::empty`].
    fn default() -> Self {
        Self::empty()
    }
}

impl Context {
    /// The calling task's or thread's current context: its span (none if no span is
    /// current), its baggage (unset if no baggage is current) and its bound fields
    /// (unset if none are bound).
    ///
    /// ```
    /// use telem::{Context, KeyValue};
    ///
    /// let _tenant = telem::bind([KeyValue::new("tenant", "acme")]);
    /// let captured = Context::current();
    /// let fields = std::thread::spawn(move || {
    ///     captured.run(|| Context::current().fields().map(<[_]>::to_vec))
    /// })
    /// .join()
    /// .unwrap();
    /// assert_eq!(fields, Some(vec![KeyValue::new("tenant", "acme")]));
    /// ```
    pub fn current() -> Self {
        Self {
            span: current_span_context(),
            carry: Carry::current(),
            scope: current_scope(),
        }
    }

    /// A context with no span: spans started under it begin new traces.
    pub fn empty() -> Self {
        Self::from_span(SpanContext::INVALID)
    }

    /// A context whose parent is `span` (a local or remote span context).
    pub fn from_span(span: SpanContext) -> Self {
        Self {
            span,
            carry: Carry::default(),
            scope: current_scope(),
        }
    }

    /// A context continuing a trace from another process: `span.is_remote` is set.
    pub fn from_remote(mut span: SpanContext) -> Self {
        span.is_remote = true;
        Self::from_span(span)
    }

    /// This context with `baggage` set: attaching it makes `baggage` current (an empty
    /// one clears the current baggage).
    ///
    /// ```
    /// use telem::propagation::Baggage;
    /// use telem::Context;
    ///
    /// let baggage = Baggage::new().with_entry("tenant", "acme").unwrap();
    /// let ctx = Context::current().with_baggage(baggage);
    /// ctx.run(|| assert_eq!(Baggage::current().get("tenant"), Some("acme")));
    /// assert!(Baggage::current().is_empty());
    /// ```
    pub fn with_baggage(mut self, baggage: Baggage) -> Self {
        self.carry.baggage = Some(baggage);
        self
    }

    /// The baggage this context sets, if it sets one.
    pub fn baggage(&self) -> Option<&Baggage> {
        self.carry.baggage.as_ref()
    }

    /// This context with `fields` bound, as [`bind`](crate::bind) would bind them:
    /// added to the fields the context binds (a field given again takes its new value),
    /// or, for a context that binds none (from [`from_span`](Self::from_span),
    /// [`empty`](Self::empty), [`propagation::extract`](crate::propagation::extract)), to
    /// the fields bound where this is called. Attaching the context makes them the
    /// bound fields, in place of those bound where it is attached.
    ///
    /// ```
    /// use telem::{Context, KeyValue};
    ///
    /// let _request = telem::bind([KeyValue::new("request.id", "r-1")]);
    /// let ctx = Context::empty().with_fields([KeyValue::new("tenant", "acme")]);
    /// assert_eq!(
    ///     ctx.fields().unwrap(),
    ///     [KeyValue::new("request.id", "r-1"), KeyValue::new("tenant", "acme")]
    /// );
    /// ```
    ///
    /// Without the `enable` feature this returns the context unchanged.
    pub fn with_fields(mut self, fields: impl IntoIterator<Item = KeyValue>) -> Self {
        self.carry.fields = match &self.carry.fields {
            Some(own) => Some(own.with(fields)),
            None => Some(current_of::<BoundFields>().with(fields)).filter(|f| !f.is_empty()),
        };
        self
    }

    /// The fields this context binds, if it binds any (see
    /// [`with_fields`](Self::with_fields)): what attaching it makes the bound fields, the
    /// outermost binding's first.
    pub fn fields(&self) -> Option<&[KeyValue]> {
        self.carry.fields.as_ref().map(BoundFields::as_slice)
    }

    /// The span context, if one is set.
    pub fn span(&self) -> Option<&SpanContext> {
        self.span.is_valid().then_some(&self.span)
    }

    /// Makes this context current on this thread until the guard drops. The guard is
    /// not `Send`: across `.await`, use
    /// [`FutureExt::with_context`](crate::FutureExt::with_context) (see [`ContextGuard`]).
    pub fn attach(&self) -> ContextGuard {
        ContextGuard {
            saved: Some(enter(&self.span)),
            carried: self.carry.attach(),
            scope: Some(replace_scope(self.scope)),
            _not_send: PhantomData,
        }
    }

    /// Runs `f` with this context current.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let _g = self.attach();
        f()
    }
}

/// Restores the previous context when dropped (from [`Context::attach`]).
///
/// Neither `Send` nor `Sync`: it belongs to the thread that attached it. A task holding
/// it across `.await` would leave the context attached to the worker while parked, and
/// the worker's next task would take it as its own, so a future that holds one across
/// `.await` is not `Send` and `tokio::spawn` refuses it. Give the context to the future
/// instead ([`FutureExt::with_context`](crate::FutureExt::with_context)), which makes
/// it current in each of the future's polls only; keep `attach` for a thread or a
/// synchronous scope.
///
/// ```
/// use telem::prelude::*;
/// use telem::{Context, SpanContext, SpanId, TraceFlags, TraceId, TraceState};
///
/// # #[tokio::main] async fn main() {
/// let remote = SpanContext::new(
///     TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
///     SpanId::from_hex("00f067aa0ba902b7").unwrap(),
///     TraceFlags::SAMPLED,
///     TraceState::default(),
///     true,
/// );
/// let span_id = remote.span_id;
/// let ctx = Context::from_remote(remote);
/// // In a task: the context goes with the future, current in each of its polls.
/// let seen = tokio::spawn(async {
///     tokio::task::yield_now().await;
///     telem::SpanContext::current()
/// }
/// .with_context(ctx.clone()));
/// assert_eq!(seen.await.unwrap().unwrap().span_id, span_id);
/// // On a thread, or around synchronous code: a guard.
/// let seen = std::thread::spawn(move || {
///     let _guard = ctx.attach();
///     telem::SpanContext::current()
/// });
/// assert_eq!(seen.join().unwrap().unwrap().span_id, span_id);
/// # }
/// ```
#[must_use = "the context is detached when the guard drops"]
#[derive(Debug)]
pub struct ContextGuard {
    saved: Option<Saved>,
    /// The baggage and bound fields current before, for those the context set.
    carried: Carry,
    /// The test scope current before, if the context set one.
    scope: Option<u32>,
    _not_send: PhantomData<*const ()>,
}

impl ContextGuard {
    /// Makes a span's context current (its ids and trace state, and its test scope if
    /// given), leaving baggage and bound fields as they are: [`Span::attach`](crate::Span::attach).
    pub(crate) fn enter_span(
        trace_id: TraceId,
        span_id: SpanId,
        flags: TraceFlags,
        state: Option<&TraceState>,
        scope: Option<u32>,
    ) -> Self {
        Self {
            saved: Some(enter_parts(trace_id, span_id, flags, false, state)),
            carried: Carry::default(),
            scope: scope.map(replace_scope),
            _not_send: PhantomData,
        }
    }

    /// A guard that changed nothing.
    pub(crate) fn noop() -> Self {
        Self {
            saved: None,
            carried: Carry::default(),
            scope: None,
            _not_send: PhantomData,
        }
    }
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            restore(saved);
        }
        std::mem::take(&mut self.carried).restore();
        if let Some(scope) = self.scope {
            replace_scope(scope);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(state: TraceState) -> SpanContext {
        SpanContext::new(
            TraceId::random(),
            SpanId::random(),
            TraceFlags::SAMPLED,
            state,
            true,
        )
    }

    #[test]
    fn attach_and_restore_including_trace_state() {
        assert!(SpanContext::current().is_none());
        let outer = ctx(TraceState::default().insert("a", "1").unwrap());
        let inner = ctx(TraceState::default());
        {
            let _g = Context::from_span(outer.clone()).attach();
            assert_eq!(SpanContext::current().as_ref(), Some(&outer));
            Context::from_span(inner.clone()).run(|| {
                assert_eq!(SpanContext::current().as_ref(), Some(&inner));
            });
            assert_eq!(SpanContext::current().as_ref(), Some(&outer));
        }
        assert!(SpanContext::current().is_none());
        assert!(current_state().is_empty());
    }

    #[test]
    fn a_context_sets_baggage_only_if_it_has_some() {
        let request = Baggage::from_header("tenant=acme");
        let _outer = request.attach();
        // No baggage in the context: the current baggage stays.
        Context::from_span(ctx(TraceState::default())).run(|| {
            assert_eq!(Baggage::current(), request);
        });
        // Baggage in the context replaces it, an empty one clears it, and both come
        // back when the guard drops.
        let other = Baggage::from_header("tenant=globex");
        Context::empty().with_baggage(other.clone()).run(|| {
            assert_eq!(Baggage::current(), other);
            Context::empty().with_baggage(Baggage::new()).run(|| {
                assert!(Baggage::current().is_empty());
            });
            assert_eq!(Baggage::current(), other);
        });
        assert_eq!(Baggage::current(), request);
    }

    #[test]
    fn current_context_captures_the_current_baggage() {
        assert_eq!(Context::current(), Context::empty());
        let baggage = Baggage::from_header("k=v");
        let captured = {
            let _g = baggage.attach();
            Context::current()
        };
        assert_eq!(captured.baggage(), Some(&baggage));
        let seen = std::thread::spawn(move || captured.run(Baggage::current))
            .join()
            .unwrap();
        assert_eq!(seen, baggage);
        assert!(Baggage::current().is_empty());
    }

    #[cfg(feature = "enable")]
    #[test]
    fn baggage_and_bound_fields_are_set_or_inherited_independently() {
        use crate::{bind_field, FutureExt, KeyValue};
        let fields = || Context::current().fields().map(<[KeyValue]>::to_vec);
        let baggage = Baggage::from_header("tenant=acme");
        let ctx = Context::empty().with_baggage(baggage.clone());
        assert!(ctx.fields().is_none());
        let _bound = bind_field("request.id", "r-1");
        // The context sets baggage only: the bound fields stay.
        ctx.run(|| {
            assert_eq!(Baggage::current(), baggage);
            assert_eq!(fields(), Some(vec![KeyValue::new("request.id", "r-1")]));
        });
        // A future with its own fields inherits the baggage where it is polled.
        let future = async { (Baggage::current(), fields()) }.with_fields([]);
        let _attached = baggage.attach();
        let (seen_baggage, seen_fields) = futures::executor::block_on(future);
        assert_eq!(seen_baggage, baggage);
        assert_eq!(seen_fields, Some(vec![KeyValue::new("request.id", "r-1")]));
    }

    #[test]
    fn captured_context_crosses_threads() {
        let parent = ctx(TraceState::default());
        let captured = Context::from_span(parent.clone()).run(Context::current);
        let seen = std::thread::spawn(move || captured.run(SpanContext::current))
            .join()
            .unwrap();
        assert_eq!(seen, Some(parent));
    }
}
