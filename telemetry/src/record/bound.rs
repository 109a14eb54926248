//! Fields bound to the current context ([`bind`]): added to every log record made
//! inside it, and, with the option on (`Config::with_bound_fields_on_spans`, which the
//! pipeline applies with [`set_fields_on_spans`]), to every sampled span started inside
//! it.
//!
//! The bound fields are one more kind of value carried beside the span context
//! ([`Carried`](crate::record::context::Carried)): they have their own thread-local cell
//! and a bit in the carried-flags word, and follow the task by the machinery the
//! baggage uses ([`Carry`](crate::record::context::Carry)): across `.await` and worker
//! threads in an [`Instrumented`](crate::Instrumented) future, into each `join!` branch
//! wrapped with `in_current_span`/`in_span`, through [`spawn`](crate::spawn()),
//! [`spawn_blocking`](crate::spawn_blocking()), [`spawn_local`](crate::spawn_local()),
//! and with [`Context`](crate::Context).
//!
//! Costs: binding allocates the new set once (one allocation for up to
//! `INLINE_FIELDS` fields: nested bindings are merged then, not when a record is
//! made); a log record takes a reference count; a sampled span's start reads whether
//! the option is on (one relaxed load) and, only if it is, the bound fields; unsampled
//! spans and span end never look at them.

use crate::record::context;
use crate::record::raw_span::RawSpan;
use crate::record::recording;
use crate::{KeyValue, Str, Value};
use smallvec::SmallVec;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

/// Fields a binding holds without a second allocation.
const INLINE_FIELDS: usize = 3;

/// The fields bound where a record is made: shared, so a record takes a reference
/// count, never a copy. Every key once (the innermost binding's value), the outermost
/// binding's first.
#[derive(Clone, Debug, Default, PartialEq)]
// A thin pointer (as `Baggage`): one word, so contexts and futures carrying it stay
// small; the fields of a binding sit in the same allocation as the count.
pub(crate) struct BoundFields(Option<Arc<SmallVec<[KeyValue; INLINE_FIELDS]>>>);

impl BoundFields {
    pub(crate) const EMPTY: Self = Self(None);

    /// The fields, innermost binding's last.
    pub(crate) fn iter(&self) -> std::slice::Iter<'_, KeyValue> {
        self.as_slice().iter()
    }

    pub(crate) fn as_slice(&self) -> &[KeyValue] {
        self.0.as_deref().map_or(&[], SmallVec::as_slice)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Whether both are the same shared set (or both empty).
    pub(crate) fn same_as(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// These fields with `fields` bound inside them: a key given again takes the new
    /// value (the last one, if `fields` gives it twice). Without the `enable` feature,
    /// these fields unchanged.
    pub(crate) fn with(&self, fields: impl IntoIterator<Item = KeyValue>) -> Self {
        if !cfg!(feature = "enable") {
            return self.clone();
        }
        let mut inner = SmallVec::<[KeyValue; INLINE_FIELDS]>::new();
        for field in fields {
            match inner.iter_mut().find(|f| f.key == field.key) {
                Some(f) => f.value = field.value,
                None => inner.push(field),
            }
        }
        if inner.is_empty() {
            return self.clone();
        }
        let outer = self.as_slice();
        if !outer.is_empty() {
            let kept = outer
                .iter()
                .filter(|o| !inner.iter().any(|i| i.key == o.key));
            let mut all: SmallVec<_> = kept.cloned().collect();
            all.extend(inner);
            inner = all;
        }
        Self(Some(Arc::new(inner)))
    }
}

/// The fields bound to the current context, if any: a reference count, no copy.
#[inline]
pub(crate) fn current() -> Option<BoundFields> {
    context::has_current::<BoundFields>().then(context::current_of)
}

/// Whether sampled spans get the bound fields as attributes.
static ON_SPANS: AtomicBool = AtomicBool::new(false);

/// Whether every sampled span started inside a binding gets its fields as attributes
/// (`Config::with_bound_fields_on_spans`); called by the pipeline at init.
pub(crate) fn set_fields_on_spans(on: bool) {
    ON_SPANS.store(on, Relaxed);
}

/// Whether sampled spans get the bound fields (one relaxed load).
#[inline(always)]
pub(crate) fn on_spans() -> bool {
    ON_SPANS.load(Relaxed)
}

/// Gives a sampled span starting now the bound fields as attributes, before any of its
/// own (which replace a bound field of the same key). Only with [`on_spans`].
#[cold]
#[inline(never)]
pub(crate) fn add_to_span(record: &mut RawSpan) {
    if let Some(fields) = current() {
        let max = recording::max_attributes();
        for field in fields.iter() {
            record.set_attribute(field.key.clone(), field.value.clone(), max);
        }
    }
}

/// Binds `fields` to the current context until the guard drops: every log record made
/// inside it carries them (a field the log call gives itself wins), and so does every
/// sampled span started inside it when the pipeline is configured with
/// [`Config::with_bound_fields_on_spans(true)`](crate::Config::with_bound_fields_on_spans)
/// (a span's own attribute of the same key wins).
///
/// Bindings nest: the fields bound inside are added to those bound outside, and a key
/// bound again inside has its new value until the inner guard drops.
///
/// The fields follow the task exactly like the current span and the
/// [`Baggage`](crate::propagation::Baggage): across `.await` in a future wrapped with
/// [`FutureExt`](crate::FutureExt), into each `join!` branch wrapped with
/// `in_current_span` or `in_span` (a branch's bindings stay its own), through
/// [`spawn`](crate::spawn()), [`spawn_blocking`](crate::spawn_blocking()) and
/// [`spawn_local`](crate::spawn_local()), and with
/// [`Context::current`](crate::Context::current) and
/// [`Context::attach`](crate::Context::attach). The guard is not `Send` (see
/// [`BindGuard`]): to bind fields for a future, across `.await`, use
/// [`FutureExt::with_fields`](crate::FutureExt::with_fields).
///
/// Binding allocates once (the merged set, shared by everything made inside); nothing
/// is copied per log record. Without the `enable` feature it does nothing.
///
/// ```
/// use telem::{Context, KeyValue};
///
/// let _request = telem::bind([
///     KeyValue::new("request.id", "r-7"),
///     KeyValue::new("tenant", "acme"),
/// ]);
/// {
///     let _user = telem::bind([
///         KeyValue::new("user.id", 42i64),
///         KeyValue::new("tenant", "globex"),
///     ]);
///     assert_eq!(
///         Context::current().fields().unwrap(),
///         [
///             KeyValue::new("request.id", "r-7"),
///             KeyValue::new("user.id", 42i64),
///             KeyValue::new("tenant", "globex"),
///         ]
///     );
/// }
/// assert_eq!(
///     Context::current().fields().unwrap(),
///     [KeyValue::new("request.id", "r-7"), KeyValue::new("tenant", "acme")]
/// );
/// ```
pub fn bind(fields: impl IntoIterator<Item = KeyValue>) -> BindGuard {
    let bound = context::current_of::<BoundFields>().with(fields);
    BindGuard {
        previous: context::replace_current(bound),
        _not_send: PhantomData,
    }
}

/// Binds one field to the current context until the guard drops: [`bind`] with one
/// field.
///
/// ```
/// use telem::{Context, KeyValue};
///
/// let _tenant = telem::bind_field("tenant", "acme");
/// assert_eq!(Context::current().fields().unwrap(), [KeyValue::new("tenant", "acme")]);
/// ```
pub fn bind_field(key: impl Into<Str>, value: impl Into<Value>) -> BindGuard {
    bind([KeyValue::new(key, value)])
}

/// Puts back the fields bound before [`bind`] when dropped.
///
/// Neither `Send` nor `Sync`, like [`ContextGuard`](crate::ContextGuard): it belongs to
/// the thread that bound the fields. Held across `.await` in a task with no poll hook,
/// the binding would stay on the worker while the task is parked and the worker's next
/// task would inherit it, so a future holding one is not `Send`. Give the fields to the
/// future instead, with [`FutureExt::with_fields`](crate::FutureExt::with_fields).
///
/// ```compile_fail
/// fn is_send<T: Send>(_: T) {}
/// is_send(telem::bind_field("tenant", "acme"));
/// ```
#[must_use = "the fields are unbound when the guard drops"]
#[derive(Debug)]
pub struct BindGuard {
    previous: BoundFields,
    _not_send: PhantomData<*const ()>,
}

impl Drop for BindGuard {
    fn drop(&mut self) {
        context::replace_current(std::mem::take(&mut self.previous));
    }
}

#[cfg(all(test, feature = "enable"))]
mod tests {
    use super::*;
    use crate::{Context, FutureExt};
    use std::collections::HashSet;

    fn kv(key: &'static str, value: &'static str) -> KeyValue {
        KeyValue::new(key, value)
    }

    /// The fields bound where it is called, as the log recorder sees them.
    fn seen() -> Vec<KeyValue> {
        current().map_or_else(Vec::new, |f| f.iter().cloned().collect())
    }

    /// Yields enough times that a multi-thread runtime may move the task between workers.
    async fn hop(times: usize) {
        for _ in 0..times {
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn nothing_is_bound_until_bind() {
        assert!(current().is_none());
        assert!(Context::current().fields().is_none());
        let guard = bind([kv("tenant", "acme")]);
        assert_eq!(seen(), [kv("tenant", "acme")]);
        drop(guard);
        assert!(current().is_none());
    }

    #[test]
    fn nested_binds_accumulate_and_an_inner_key_overrides_the_outer_one() {
        let _request = bind([kv("request.id", "r-1"), kv("tenant", "acme")]);
        {
            let _user = bind([kv("tenant", "globex"), kv("user.id", "u-9")]);
            assert_eq!(
                seen(),
                [
                    kv("request.id", "r-1"),
                    kv("tenant", "globex"),
                    kv("user.id", "u-9")
                ]
            );
            {
                let _one = bind_field("step", "charge");
                assert_eq!(seen().len(), 4);
            }
            assert_eq!(seen().len(), 3);
        }
        assert_eq!(seen(), [kv("request.id", "r-1"), kv("tenant", "acme")]);
    }

    #[test]
    fn dropping_the_guard_restores_the_previous_fields() {
        let outer = bind_field("a", "1");
        let before = current().unwrap();
        let inner = bind_field("b", "2");
        drop(inner);
        // The very same shared set, not a copy of it.
        assert!(current().unwrap().same_as(&before));
        drop(outer);
        assert!(current().is_none());
        assert!(!context::has_current::<BoundFields>());
    }

    #[test]
    fn a_key_given_twice_in_one_binding_keeps_its_last_value() {
        let _g = bind([kv("k", "first"), kv("other", "x"), kv("k", "last")]);
        assert_eq!(seen(), [kv("k", "last"), kv("other", "x")]);
    }

    #[test]
    fn binding_nothing_keeps_the_same_shared_fields() {
        assert!(bind([]).previous.is_empty());
        assert!(current().is_none());
        let _g = bind_field("k", "v");
        let shared = current().unwrap();
        let _nothing = bind([]);
        assert!(current().unwrap().same_as(&shared));
    }

    #[test]
    fn a_record_takes_a_reference_count_not_a_copy() {
        let _g = bind([kv("a", "1"), kv("b", "2"), kv("c", "3"), kv("d", "4")]);
        let (first, second) = (current().unwrap(), current().unwrap());
        assert!(first.same_as(&second));
        assert_eq!(Arc::strong_count(first.0.as_ref().unwrap()), 3);
    }

    #[test]
    fn context_current_carries_the_fields_to_another_thread() {
        let _g = bind([kv("request.id", "r-2")]);
        let captured = Context::current();
        assert_eq!(captured.fields().unwrap(), [kv("request.id", "r-2")]);
        let (before, inside, after) = std::thread::spawn(move || {
            let before = seen();
            let inside = {
                let _attached = captured.attach();
                let _more = bind_field("thread", "worker");
                seen()
            };
            (before, inside, seen())
        })
        .join()
        .unwrap();
        assert!(before.is_empty());
        assert_eq!(inside, [kv("request.id", "r-2"), kv("thread", "worker")]);
        assert!(after.is_empty(), "the guard put back what the thread had");
    }

    #[test]
    fn a_context_binding_no_fields_leaves_the_bound_ones() {
        let request = bind_field("request.id", "r-3");
        Context::empty().run(|| assert_eq!(seen(), [kv("request.id", "r-3")]));
        // Fields added to a context that binds none start from those bound here...
        let ctx = Context::empty().with_fields([kv("tenant", "acme")]);
        assert_eq!(
            ctx.fields().unwrap(),
            [kv("request.id", "r-3"), kv("tenant", "acme")]
        );
        // ...and attaching it makes them the bound fields, in place of those current
        // where it is attached.
        let other = std::thread::spawn(move || {
            let _there = bind_field("request.id", "elsewhere");
            ctx.run(seen)
        });
        assert_eq!(
            other.join().unwrap(),
            [kv("request.id", "r-3"), kv("tenant", "acme")]
        );
        assert!(Context::empty().with_fields([]).fields().is_some());
        drop(request);
        assert!(Context::empty().with_fields([]).fields().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_future_with_fields_keeps_them_across_await_on_any_worker() {
        let job = async {
            let mut threads = HashSet::new();
            for i in 0..200 {
                threads.insert(std::thread::current().id());
                hop(1).await;
                assert_eq!(seen(), [kv("job.id", "j-1")], "iteration {i}");
            }
            threads.len()
        }
        .with_fields([kv("job.id", "j-1")]);
        let threads = tokio::spawn(job).await.unwrap();
        assert!(threads >= 1);
        // Nothing stayed on the workers.
        for _ in 0..4 {
            assert!(tokio::spawn(async { seen() }).await.unwrap().is_empty());
        }
        assert!(seen().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_future_with_fields_adds_them_to_those_bound_when_it_is_made() {
        let _outer = bind([kv("request.id", "r-4"), kv("tenant", "acme")]);
        let future = async {
            hop(3).await;
            seen()
        }
        .with_fields([kv("tenant", "globex")]);
        let fields = tokio::spawn(future).await.unwrap();
        assert_eq!(fields, [kv("request.id", "r-4"), kv("tenant", "globex")]);
        assert_eq!(seen(), [kv("request.id", "r-4"), kv("tenant", "acme")]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn each_join_branch_keeps_its_own_bindings() {
        let _request = bind_field("request.id", "r-5");
        let (a, b, c, d) = tokio::join!(
            async {
                let _g = bind_field("branch", "a");
                hop(3).await;
                seen()
            }
            .in_current_span(),
            async {
                hop(1).await;
                let before = seen();
                let _g = bind_field("branch", "b");
                hop(3).await;
                (before, seen())
            }
            .in_current_span(),
            async {
                hop(2).await;
                seen()
            }
            .with_fields([kv("branch", "c")]),
            async {
                hop(2).await;
                seen()
            }
            .in_span(crate::Span::noop()),
        );
        let request = kv("request.id", "r-5");
        assert_eq!(a, [request.clone(), kv("branch", "a")]);
        assert_eq!(b.0, std::slice::from_ref(&request));
        assert_eq!(b.1, [request.clone(), kv("branch", "b")]);
        assert_eq!(c, [request.clone(), kv("branch", "c")]);
        assert_eq!(d, std::slice::from_ref(&request));
        assert_eq!(seen(), [request]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_spawn_wrappers_carry_the_bound_fields() {
        let _g = bind_field("request.id", "r-6");
        let spawned = crate::spawn(async {
            hop(5).await;
            seen()
        });
        assert_eq!(spawned.await.unwrap(), [kv("request.id", "r-6")]);
        let blocking = crate::spawn_blocking(seen).await.unwrap();
        assert_eq!(blocking, [kv("request.id", "r-6")]);
        // A plain `tokio::spawn` carries nothing.
        assert!(tokio::spawn(async { seen() }).await.unwrap().is_empty());
        let local = tokio::task::LocalSet::new();
        let in_local = local
            .run_until(async {
                crate::spawn_local(async {
                    hop(2).await;
                    seen()
                })
                .await
            })
            .await;
        assert_eq!(in_local.unwrap(), [kv("request.id", "r-6")]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_guard_held_across_await_stays_with_its_task() {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let (parked_tx, parked_rx) = tokio::sync::oneshot::channel();
                let (go_tx, go_rx) = tokio::sync::oneshot::channel::<()>();
                let a = crate::spawn_local(async move {
                    let _g = bind_field("task", "a");
                    parked_tx.send(()).unwrap();
                    go_rx.await.unwrap();
                    seen()
                });
                parked_rx.await.unwrap();
                // Task A is parked holding its guard: the next task doesn't see it.
                let b = tokio::task::spawn_local(async { seen() }).await.unwrap();
                assert!(b.is_empty(), "task B saw task A's binding: {b:?}");
                assert!(seen().is_empty());
                go_tx.send(()).unwrap();
                assert_eq!(a.await.unwrap(), [kv("task", "a")]);
            })
            .await;
        assert!(seen().is_empty());
    }

    #[test]
    fn bound_fields_go_first_on_a_span_and_its_own_attributes_win() {
        let mut record = RawSpan::blank();
        record.init_recording(
            crate::TraceId::random(),
            crate::SpanId::random(),
            crate::SpanId::INVALID,
            false,
            crate::TraceFlags::SAMPLED,
            crate::TraceState::default(),
            &Str::from_static("span"),
            &Str::from_static("scope"),
            crate::SpanKind::Internal,
        );
        {
            let _g = bind([kv("tenant", "acme"), kv("request.id", "r-7")]);
            add_to_span(&mut record);
        }
        record.set_attribute(Str::from_static("tenant"), Value::from("own"), 128);
        let data = record.take_span_data();
        assert_eq!(data.attribute("tenant"), Some(&Value::from("own")));
        assert_eq!(data.attribute("request.id"), Some(&Value::from("r-7")));
    }

    #[cfg(feature = "testing")]
    #[tokio::test(flavor = "current_thread")]
    async fn with_the_option_on_every_sampled_span_gets_the_bound_fields() {
        static TRACER: crate::Tracer = crate::Tracer::new("bound-tests");
        let t = crate::testing::TestPipeline::start();
        set_fields_on_spans(true);
        {
            let _g = bind([kv("tenant", "acme"), kv("request.id", "r-8")]);
            TRACER.in_span("bound", |_| {});
            drop(TRACER.span("own").attribute("tenant", "mine").start());
        }
        TRACER.in_span("unbound", |_| {});
        set_fields_on_spans(false);
        {
            let _g = bind_field("tenant", "acme");
            TRACER.in_span("option off", |_| {});
        }
        let spans = t.spans().await;
        spans
            .named("bound")
            .assert_attribute("tenant", "acme")
            .assert_attribute("request.id", "r-8");
        spans
            .named("own")
            .assert_attribute("tenant", "mine")
            .assert_attribute("request.id", "r-8");
        spans.named("unbound").assert_no_attribute("tenant");
        spans.named("option off").assert_no_attribute("tenant");
    }
}
