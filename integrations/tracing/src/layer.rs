//! [`TelemetryLayer`]: `tracing` spans become telem spans, `tracing` events become telem
//! log records, in one trace with `#[trace]` spans.

use crate::fields::{EventFields, LateFields, SpanFields};
use crate::sites::Sites;
use std::cell::RefCell;
use std::sync::Once;
use telem::bridge::{self, LogSite};
use telem::{Context, ContextGuard, Level, LevelFilter, Span, SpanContext, Tracer};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The target and name of [`context_span`]'s spans.
const CONTEXT_TARGET: &str = "telem_tracing::context";
const CONTEXT_NAME: &str = "telem.context";

/// A [`tracing_subscriber::Layer`] that makes `tracing` spans telem spans and `tracing`
/// events telem log records.
///
/// # Spans
///
/// A `tracing` span starts a telem span when it is created and ends it when it closes
/// (its last handle is dropped): the span's name and target (as the instrumentation
/// scope), its fields as attributes, and these fields with a meaning of their own, as
/// `tracing-opentelemetry` names them:
///
/// | field | what it does |
/// | --- | --- |
/// | `otel.name` | the span's name, in place of the call site's (a name known at run time) |
/// | `otel.kind` | the span kind: `server`, `client`, `producer`, `consumer`, `internal` (given at creation) |
/// | `otel.status_code` | `ok` or `error` |
/// | `otel.status_message` | the error status's description |
/// | `error` | an error status, described by the field's text |
///
/// `follows_from` becomes a link. Fields recorded later (`span.record(..)`) set
/// attributes, name and status on the running span.
///
/// **Parents, in both worlds.** Entering a `tracing` span (`span.enter()`, or each poll
/// of a future under `.instrument(span)`) makes its context telem's current context, on
/// whatever thread the poll runs, until it is exited. So:
/// - a `#[trace]` fn called inside an entered `tracing` span is that span's child;
/// - a `tracing` span created inside a `#[trace]` fn (or any telem span) is its child:
///   a `tracing` span with a contextual parent takes telem's current span, which is
///   the innermost of both worlds; one with an explicit `parent:` takes that span;
///   `parent: None` starts a trace.
///
/// Sampling is decided once per trace by the pipeline's sampler, whichever side starts
/// the trace; a `tracing` span of an unsampled trace records nothing and costs what an
/// unsampled telem span costs.
///
/// # Events
///
/// A `tracing` event becomes a log record: its level, target, file and line, its
/// message and fields, and the trace and span ids of its explicit parent or else of
/// the current span of either world. With
/// [`Config::with_logs_as_span_events`](telem::Config::with_logs_as_span_events) they
/// also become events of their span. Up to four fields of scalars or short strings are
/// recorded without allocating.
///
/// # Filtering
///
/// The layer filters by the pipeline's log filter (`RUST_LOG`, or
/// [`Config::with_log_filter`](telem::Config::with_log_filter)): spans and events at a
/// target and level it does not pass are disabled at their call site, in `tracing`'s
/// own interest cache, so they cost what `tracing`'s disabled spans cost. The verdicts
/// follow the filter when it changes. The layer filters the whole subscriber it is part
/// of (as `EnvFilter` used as a layer does): beside layers that need other verdicts,
/// give it the per-layer [`TelemetryFilter`] (`.with_filter(TelemetryFilter::new())`),
/// so it filters only itself.
///
/// # What does not map
///
/// - A span's fields recorded after it closed (`tracing` drops them too) and a field
///   recorded twice at creation (the last value wins).
/// - `otel.kind` recorded after creation: the kind is fixed when the span starts.
/// - `tracing`'s span names are static; a name known only at run time goes in
///   `otel.name`.
/// - Code that captures `tracing::Span::current()` to re-enter it elsewhere (sqlx's
///   SQLite worker thread, `tracing::Instrument::in_current_span`) sees only `tracing`
///   spans, not `#[trace]` spans: give it [`context_span`] to carry telem's context.
/// - `tracing`'s busy and idle times are not recorded; the span's duration is from
///   creation to close.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// let subscriber = tracing_subscriber::registry().with(telem_tracing::TelemetryLayer::new());
/// let _default = tracing::subscriber::set_default(subscriber);
/// ```
#[derive(Debug, Clone)]
pub struct TelemetryLayer {
    /// Tells this layer's entries in the thread-locals from another subscriber's (span
    /// ids are only unique within one registry).
    id: u64,
}

impl Default for TelemetryLayer {
    fn default() -> Self {
        Self::new()
    }
}

/// The telem side of a `tracing` span, kept in its registry extensions.
enum Bridged {
    /// A telem span, ended when the `tracing` span closes; entering the `tracing` span
    /// makes it current.
    Span(Span),
    /// A [`context_span`]: entering it makes the context captured where it was made
    /// current.
    Context(Context),
}

impl Bridged {
    fn context(&self) -> SpanContext {
        match self {
            Bridged::Span(span) => span.context(),
            Bridged::Context(context) => context.span().cloned().unwrap_or(SpanContext::INVALID),
        }
    }

    fn attach(&self) -> ContextGuard {
        match self {
            Bridged::Span(span) => span.attach(),
            Bridged::Context(context) => context.attach(),
        }
    }
}

/// A `tracing` span entered on this thread: which layer and span, the guard that puts
/// back what was current before, and whether it was exited already (out of order,
/// while spans entered after it were still entered).
struct Entered {
    layer: u64,
    id: Id,
    guard: ContextGuard,
    exited: bool,
}

thread_local! {
    /// The `tracing` spans entered on this thread, innermost last.
    static ENTERED: RefCell<Vec<Entered>> = const { RefCell::new(Vec::new()) };
    /// The context of the span this thread created last (with its layer): most spans
    /// are entered on the thread that created them, right after (`entered()`,
    /// `in_scope`, the first poll of an `.instrument`ed future), and entering it from
    /// here skips the registry lookup and the extensions' lock.
    static NEWEST: RefCell<Option<(u64, Id, Context)>> = const { RefCell::new(None) };
}

/// Numbers the layers, for [`TelemetryLayer::id`].
static LAYERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Span and event call sites, by the address of their static metadata.
static SITES: Sites<usize> = Sites::new(4096);

/// Call sites' verdicts live in `tracing`'s interest cache: rebuilt at every change of
/// the filter (a pipeline starting or stopping, a new filter, a test scope).
static LISTEN: Once = Once::new();

impl TelemetryLayer {
    /// The layer.
    pub fn new() -> Self {
        listen();
        Self {
            id: LAYERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
}

fn level(level: &tracing::Level) -> Level {
    match *level {
        tracing::Level::ERROR => Level::Error,
        tracing::Level::WARN => Level::Warn,
        tracing::Level::INFO => Level::Info,
        tracing::Level::DEBUG => Level::Debug,
        _ => Level::Trace,
    }
}

/// The site of a call site: made the first time, with the keys of its fields.
fn site(meta: &'static Metadata<'static>) -> &'static LogSite {
    SITES.get(std::ptr::from_ref(meta) as usize, || {
        let keys: Vec<&'static str> = meta.fields().iter().map(|f| f.name()).collect();
        LogSite::leak(
            level(meta.level()),
            meta.target(),
            meta.file(),
            meta.line(),
            Vec::leak(keys),
        )
    })
}

/// A call site's interest: the cached verdict of its site.
fn interest(meta: &'static Metadata<'static>) -> Interest {
    if is_context_span(meta) || site(meta).is_enabled() {
        Interest::always()
    } else {
        Interest::never()
    }
}

/// Whether a call at `meta` passes (asked of call sites whose interest is "sometimes":
/// ours are found by the address of their static metadata).
fn verdict(meta: &Metadata<'_>) -> bool {
    if is_context_span(meta) {
        return true;
    }
    let key = std::ptr::from_ref(meta) as usize;
    SITES.find(key).map_or_else(
        || bridge::allows(meta.target(), level(meta.level())),
        |s| s.is_enabled(),
    )
}

/// The most detailed level the filter passes, as `tracing`'s hint.
fn hint() -> tracing::level_filters::LevelFilter {
    use tracing::level_filters::LevelFilter as Hint;
    match bridge::max_level() {
        LevelFilter::Off => Hint::OFF,
        LevelFilter::Error => Hint::ERROR,
        LevelFilter::Warn => Hint::WARN,
        LevelFilter::Info => Hint::INFO,
        LevelFilter::Debug => Hint::DEBUG,
        LevelFilter::Trace => Hint::TRACE,
    }
}

/// Rebuilds `tracing`'s interest cache at every change of the filter, from the first
/// layer or filter made on.
fn listen() {
    LISTEN.call_once(|| {
        bridge::on_filter_change(|| {
            tracing::callsite::rebuild_interest_cache();
        });
    });
}

/// The pipeline's log filter as a per-layer filter, for a subscriber whose other layers
/// need other verdicts: `TelemetryLayer::new().with_filter(TelemetryFilter::new())`.
///
/// Used as a layer by itself, [`TelemetryLayer`] filters the whole subscriber (as
/// `EnvFilter` used as a layer does): a call site it filters out is disabled for every
/// layer. Under this filter it filters only itself, and the other layers see what
/// their own filters pass.
///
/// ```
/// use tracing_subscriber::filter::LevelFilter;
/// use tracing_subscriber::layer::SubscriberExt as _;
/// use tracing_subscriber::Layer as _;
/// use telem_tracing::{TelemetryFilter, TelemetryLayer};
///
/// # struct Console;
/// # impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Console {}
/// let subscriber = tracing_subscriber::registry()
///     .with(TelemetryLayer::new().with_filter(TelemetryFilter::new()))
///     // Another layer (a console formatter, say) with a filter of its own.
///     .with(Console.with_filter(LevelFilter::DEBUG));
/// # drop(subscriber);
/// ```
#[derive(Debug, Clone)]
pub struct TelemetryFilter {
    _private: (),
}

impl TelemetryFilter {
    /// The filter.
    pub fn new() -> Self {
        listen();
        Self { _private: () }
    }
}

impl Default for TelemetryFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> tracing_subscriber::layer::Filter<S> for TelemetryFilter {
    fn enabled(&self, meta: &Metadata<'_>, _cx: &LayerContext<'_, S>) -> bool {
        verdict(meta)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        interest(meta)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(hint())
    }
}

fn is_context_span(meta: &Metadata<'_>) -> bool {
    meta.target() == CONTEXT_TARGET && meta.name() == CONTEXT_NAME
}

/// The telem context of the `tracing` span `id`, if the layer bridged it.
fn context_of<S>(id: &Id, ctx: &LayerContext<'_, S>) -> Option<SpanContext>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let span = ctx.span(id)?;
    let extensions = span.extensions();
    extensions.get::<Bridged>().map(Bridged::context)
}

/// Starts the telem span of a `tracing` span. Its fields are recorded into the started
/// span, unless the call site has `otel.kind`, which must be known before the start.
fn start<S>(attrs: &Attributes<'_>, ctx: &LayerContext<'_, S>) -> Span
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let meta = attrs.metadata();
    let tracer = Tracer::new(meta.target());
    let mut fields = None;
    // `Some(None)`: no parent; `Some(Some(..))`: an explicit parent the layer knows;
    // `None`: the current context.
    let explicit = if attrs.is_root() {
        Some(None)
    } else {
        attrs.parent().and_then(|p| context_of(p, ctx)).map(Some)
    };
    let has_kind = meta.fields().field("otel.kind").is_some();
    let mut span = if explicit.is_none() && !has_kind {
        // The common case (a contextual parent, no kind): `start_span`'s fast path, made
        // current and at once detached.
        tracer.start_span(meta.name()).detach()
    } else {
        let mut builder = tracer.span(meta.name());
        if has_kind {
            let mut given = SpanFields::default();
            attrs.record(&mut given);
            builder = builder.kind(given.kind.unwrap_or_default());
            fields = Some(given);
        }
        builder = match explicit {
            Some(None) => builder.root(),
            Some(Some(parent)) => builder.parent(parent),
            None => builder,
        };
        builder.start_detached()
    };
    if !span.is_recording() || attrs.values().is_empty() {
        return span;
    }
    match fields {
        Some(given) => {
            for kv in given.attributes {
                span.set_attribute(kv.key, kv.value);
            }
            if let Some(name) = given.name {
                span.update_name(name);
            }
            if let Some(status) = given.status.status() {
                span.set_status(status);
            }
        }
        None => record_late(&mut span, |late| attrs.record(late)),
    }
    span
}

/// Records fields into a started span (at its start, or `Span::record` later).
fn record_late(span: &mut Span, record: impl FnOnce(&mut LateFields<'_>)) {
    let mut late = LateFields {
        span,
        status: Default::default(),
    };
    record(&mut late);
    let status = late.status.status();
    if let Some(status) = status {
        span.set_status(status);
    }
}

impl<S> Layer<S> for TelemetryLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        interest(meta)
    }

    fn enabled(&self, meta: &Metadata<'_>, _ctx: LayerContext<'_, S>) -> bool {
        verdict(meta)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(hint())
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
        let meta = attrs.metadata();
        let bridged = if is_context_span(meta) {
            Bridged::Context(Context::current())
        } else if site(meta).is_enabled() {
            // Asked again: under another layer's filter (`with_filter`), the call site's
            // interest is not this layer's verdict.
            Bridged::Span(start(attrs, &ctx))
        } else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        // A no-op span (recording off) is not cached: entering it changes nothing.
        let context = match &bridged {
            Bridged::Span(span) => Some(span.context())
                .filter(SpanContext::is_valid)
                .map(Context::from_span),
            Bridged::Context(context) => Some(context.clone()),
        };
        NEWEST.with(|newest| {
            *newest.borrow_mut() = context.map(|context| (self.id, id.clone(), context));
        });
        span.extensions_mut().insert(bridged);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: LayerContext<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(Bridged::Span(span)) = extensions.get_mut::<Bridged>() {
            record_late(span, |late| values.record(late));
        }
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: LayerContext<'_, S>) {
        let Some(cause) = context_of(follows, &ctx) else {
            return;
        };
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(Bridged::Span(span)) = extensions.get_mut::<Bridged>() {
            span.add_link(cause, []);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: LayerContext<'_, S>) {
        let site = site(event.metadata());
        if !site.is_enabled() {
            return;
        }
        let mut record = site.record();
        if event.is_root() {
            record.parent(None);
        } else if let Some(parent) = event.parent().and_then(|p| context_of(p, &ctx)) {
            record.parent(Some(&parent));
        }
        event.record(&mut EventFields {
            record: &mut record,
        });
        record.emit();
    }

    fn on_enter(&self, id: &Id, ctx: LayerContext<'_, S>) {
        let cached = NEWEST.with(|newest| match &*newest.borrow() {
            Some((layer, newest, context)) if *layer == self.id && newest == id => {
                Some(context.attach())
            }
            _ => None,
        });
        let guard = match cached {
            Some(guard) => guard,
            None => {
                let Some(span) = ctx.span(id) else { return };
                let extensions = span.extensions();
                let Some(bridged) = extensions.get::<Bridged>() else {
                    return;
                };
                bridged.attach()
            }
        };
        ENTERED.with(|entered| {
            entered.borrow_mut().push(Entered {
                layer: self.id,
                id: id.clone(),
                guard,
                exited: false,
            });
        });
    }

    fn on_exit(&self, id: &Id, _ctx: LayerContext<'_, S>) {
        let released = ENTERED.with(|entered| {
            let mut entered = entered.borrow_mut();
            let Some(at) = entered
                .iter()
                .rposition(|e| e.layer == self.id && e.id == *id && !e.exited)
            else {
                return Vec::new();
            };
            entered[at].exited = true;
            // Guards go innermost first, each putting back the context its span found.
            // A span exited while spans entered after it are still entered (guards
            // dropped out of order) keeps its guard until they exit, so they stay
            // current meanwhile.
            let mut released = Vec::new();
            while entered.last().is_some_and(|e| e.exited) {
                if let Some(e) = entered.pop() {
                    released.push(e.guard);
                }
            }
            released
        });
        // In order: the innermost first.
        drop(released);
    }

    fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
        NEWEST.with(|newest| {
            let mut newest = newest.borrow_mut();
            if newest
                .as_ref()
                .is_some_and(|(layer, newest, _)| *layer == self.id && *newest == id)
            {
                *newest = None;
            }
        });
        let Some(span) = ctx.span(&id) else { return };
        // Taken out before it ends, so the extensions' lock is not held while the span
        // goes to the ring.
        let bridged = span.extensions_mut().remove::<Bridged>();
        drop(bridged);
    }
}

/// A `tracing` span standing for telem's current context (span, baggage and bound
/// fields, as [`Context::current`] captures them), for code that captures
/// `tracing::Span::current()` and enters it elsewhere: sqlx's SQLite worker thread,
/// `tracing::Instrument::in_current_span`. Such code sees only `tracing` spans, so
/// under a `#[trace]` fn it would capture none; instrumented with this span, it carries
/// the `#[trace]` span's context, and its events and spans land in that span's trace.
///
/// The span records nothing itself. Without a [`TelemetryLayer`] in the current
/// subscriber it is a span like any other (or disabled).
///
/// ```
/// use tracing::Instrument as _;
///
/// #[telem::trace(kind = client)]
/// async fn load_book(id: i64) -> i64 {
///     // A library that captures `tracing::Span::current()` inside sees this span.
///     async move { id }.instrument(telem_tracing::context_span()).await
/// }
/// ```
pub fn context_span() -> tracing::Span {
    tracing::span!(target: CONTEXT_TARGET, tracing::Level::ERROR, CONTEXT_NAME)
}
