//! The current span context, carried by the thread while a task or scope runs.
//!
//! The current context lives in a thread-local that is swapped in and out around each
//! poll of an instrumented future ([`Instrumented`]): a task carries its own context,
//! restores it on whatever worker polls it next, and takes back any change the poll
//! made (a span guard held across `.await` in a future that need not be `Send`).
//! Between polls the thread holds whatever it held before, so another task on the same
//! thread never sees this one's spans.
//!
//! The guards that set the thread's context directly ([`SpanGuard`](crate::SpanGuard),
//! [`ContextGuard`], [`BaggageGuard`](crate::propagation::BaggageGuard)) are not `Send`:
//! held across `.await` in a task that is not instrumented, a guard would stay current
//! on the worker while the task is parked, and the worker's next task would inherit it.
//! A future that must be `Send` (for `tokio::spawn`) cannot hold one, so it carries its
//! context through [`FutureExt`](crate::FutureExt) instead.

use crate::propagation::Baggage;
use crate::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;

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
    // The current W3C baggage: its own cell, never read or written by span start and
    // end, only by `Baggage`, `Context` and `Instrumented` polls.
    static BAGGAGE: Cell<Baggage> = const { Cell::new(Baggage::EMPTY) };
    // Whether `BAGGAGE` is non-empty. A plain word (no destructor, so no lazy
    // registration check on access): an instrumented poll with no baggage anywhere
    // reads only this, twice.
    static HAS_BAGGAGE: Cell<bool> = const { Cell::new(false) };
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

/// Whether any baggage is current (one plain thread-local load).
#[inline]
pub(crate) fn has_baggage() -> bool {
    HAS_BAGGAGE.with(Cell::get)
}

/// The current baggage (a clone: one reference count when non-empty).
#[inline]
pub(crate) fn current_baggage() -> Baggage {
    if has_baggage() {
        current_baggage_slow()
    } else {
        Baggage::EMPTY
    }
}

// The baggage cell has a destructor, so it is reached with `try_with`: while the
// thread's locals are being destroyed (a guard dropped by another thread-local) there
// is simply no baggage, rather than a panic.

#[cold]
fn current_baggage_slow() -> Baggage {
    BAGGAGE
        .try_with(|b| {
            let current = b.take();
            let copy = current.clone();
            b.set(current);
            copy
        })
        .unwrap_or_default()
}

/// Makes `baggage` current, returning the previous baggage.
pub(crate) fn replace_baggage(baggage: Baggage) -> Baggage {
    HAS_BAGGAGE.with(|h| h.set(!baggage.is_empty()));
    BAGGAGE.try_with(|b| b.replace(baggage)).unwrap_or_default()
}

/// Takes the current baggage, leaving none.
#[cold]
pub(crate) fn take_baggage() -> Baggage {
    replace_baggage(Baggage::EMPTY)
}

/// What [`enter_baggage`] replaced, to put back with [`leave_baggage`].
#[derive(Debug)]
pub(crate) enum SavedBaggage {
    /// The future carried its own baggage; this is what was current before.
    Replaced(Baggage),
    /// The future carried none and runs with whatever is current (this, still current).
    Inherited(Baggage),
}

/// Enters a future's baggage for one poll: its own if it has one (`Some`), else the
/// current one stays. (Polls with no baggage anywhere skip this: see
/// [`Instrumented`](crate::Instrumented).)
#[cold]
pub(crate) fn enter_baggage(own: Option<Baggage>) -> SavedBaggage {
    match own {
        Some(own) => SavedBaggage::Replaced(replace_baggage(own)),
        None => SavedBaggage::Inherited(current_baggage_slow()),
    }
}

/// Puts back what [`enter_baggage`] replaced and returns what the future keeps for its
/// next poll: the baggage the poll left current (a guard held across `.await` stays with
/// the task), or `None` if it inherited and left the inherited baggage unchanged.
#[cold]
pub(crate) fn leave_baggage(saved: SavedBaggage) -> Option<Baggage> {
    match saved {
        SavedBaggage::Replaced(outer) => Some(replace_baggage(outer)),
        SavedBaggage::Inherited(outer) => {
            let same = BAGGAGE
                .try_with(|b| {
                    let left = b.take();
                    let same = left.same_as(&outer);
                    b.set(left);
                    same
                })
                .unwrap_or(true);
            if same {
                None
            } else {
                Some(replace_baggage(outer))
            }
        }
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
/// [`Baggage`] that goes with it.
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
    pub(crate) baggage: Option<Baggage>,
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
    /// current) and its baggage (unset if no baggage is current).
    pub fn current() -> Self {
        let baggage = current_baggage();
        Self {
            span: current_span_context(),
            baggage: (!baggage.is_empty()).then_some(baggage),
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
            baggage: None,
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
        self.baggage = Some(baggage);
        self
    }

    /// The baggage this context sets, if it sets one.
    pub fn baggage(&self) -> Option<&Baggage> {
        self.baggage.as_ref()
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
            baggage: self.baggage.clone().map(replace_baggage),
            scope: replace_scope(self.scope),
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
    /// The baggage current before, when the context set its own.
    baggage: Option<Baggage>,
    scope: u32,
    _not_send: PhantomData<*const ()>,
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        if let Some(saved) = self.saved.take() {
            restore(saved);
        }
        if let Some(baggage) = self.baggage.take() {
            replace_baggage(baggage);
        }
        replace_scope(self.scope);
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
