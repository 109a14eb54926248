//! The running pipeline: the drain task, one worker task per sink, and the handle.

use crate::export::sink::SpanBatch;
use crate::export::stats::LogCounts;
use crate::export::stats::{MetricsSnapshot, PipelineStats, SinkStats};
use crate::logs::site;
use crate::record::ring::logs as log_rings;
use crate::record::{clock, recording, ring, sampler};
use crate::{Config, ConfigError, LogBatch, LogFilter, MetricsConfig, Sink, SinkError, SpanData};
use futures::FutureExt as _;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Why [`init`] refused to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// `init` was called outside a tokio runtime.
    #[error("telem::init must be called from within a tokio runtime (inside #[tokio::main], #[tokio::test] or Runtime::enter)")]
    NoRuntime,
    /// A pipeline is already running in this process.
    #[error("a telemetry pipeline is already running; call shutdown().await on it before starting another")]
    AlreadyRunning,
    /// A setting is out of range.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

static RUNNING: AtomicBool = AtomicBool::new(false);

/// Clears the running state when the drain task ends, however it ends (shutdown, or
/// its runtime dropping it).
struct RunningGuard;

impl Drop for RunningGuard {
    fn drop(&mut self) {
        recording::set_enabled(false);
        site::set_pipeline_filter(None);
        crate::record::bound::set_fields_on_spans(false);
        RUNNING.store(false, Relaxed);
    }
}

enum Command {
    DrainNow(oneshot::Sender<()>),
    Shutdown(oneshot::Sender<()>),
}

enum Msg {
    Spans(SpanBatch),
    Logs(LogBatch),
    Metrics(Arc<MetricsSnapshot>),
    Flush(oneshot::Sender<()>),
    Shutdown,
}

struct SinkCounters {
    name: String,
    /// The sink itself, for the drops it counts inside ([`Sink::spans_dropped`]).
    sink: Arc<dyn Sink>,
    spans_delivered: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    panics: AtomicU64,
    spans_dropped: AtomicU64,
    /// Spans in this sink's queue or in its current call: lost if shutdown's deadline
    /// passes first.
    spans_queued: AtomicU64,
    logs_delivered: AtomicU64,
    logs_dropped: AtomicU64,
    /// Log records in this sink's queue or current call (as `spans_queued`).
    logs_queued: AtomicU64,
    last_error: Mutex<Option<String>>,
    last_panic: Mutex<Option<String>>,
}

impl SinkCounters {
    /// The sink's worker was aborted: the spans it still held (queued, or in the call
    /// it never finished) are lost.
    fn abandon(&self) {
        let queued = self.spans_queued.swap(0, Relaxed);
        self.spans_dropped.fetch_add(queued, Relaxed);
        let queued = self.logs_queued.swap(0, Relaxed);
        self.logs_dropped.fetch_add(queued, Relaxed);
    }

    fn new(sink: Arc<dyn Sink>) -> Self {
        Self {
            name: sink.name().to_owned(),
            sink,
            spans_delivered: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            spans_dropped: AtomicU64::new(0),
            spans_queued: AtomicU64::new(0),
            logs_delivered: AtomicU64::new(0),
            logs_dropped: AtomicU64::new(0),
            logs_queued: AtomicU64::new(0),
            last_error: Mutex::new(None),
            last_panic: Mutex::new(None),
        }
    }
}

struct Shared {
    baseline: ring::Totals,
    log_baseline: log_rings::LogTotals,
    exported: AtomicU64,
    logs_exported: [AtomicU64; 5],
    drains: AtomicU64,
    last_drain_nanos: AtomicU64,
    /// Log events dropped waiting for their spans (`logs_as_span_events`).
    log_events_dropped: AtomicU64,
    sinks: Vec<Arc<SinkCounters>>,
    /// The sink workers, to stop when shutdown's deadline passes.
    workers: Mutex<Vec<tokio::task::AbortHandle>>,
    shutdown_timeout: Duration,
}

impl Shared {
    fn stats(&self) -> PipelineStats {
        let t = ring::totals();
        let l = log_rings::totals();
        let mut logs = LogCounts::default();
        for i in 0..5 {
            logs.recorded[i] = l.recorded[i] - self.log_baseline.recorded[i];
            logs.dropped[i] = l.dropped[i] - self.log_baseline.dropped[i];
            logs.exported[i] = self.logs_exported[i].load(Relaxed);
        }
        PipelineStats {
            spans_recorded: t.recorded - self.baseline.recorded,
            spans_sampled_out: t.sampled_out - self.baseline.sampled_out,
            spans_dropped: t.dropped - self.baseline.dropped,
            spans_exported: self.exported.load(Relaxed),
            spans_queued: ring::queued() as u64,
            logs,
            logs_queued: log_rings::queued() as u64,
            drains: self.drains.load(Relaxed),
            log_events_dropped: self.log_events_dropped.load(Relaxed),
            last_drain_nanos: self.last_drain_nanos.load(Relaxed),
            sinks: self
                .sinks
                .iter()
                .map(|s| SinkStats {
                    name: s.name.clone(),
                    spans_delivered: s.spans_delivered.load(Relaxed),
                    errors: s.errors.load(Relaxed),
                    timeouts: s.timeouts.load(Relaxed),
                    panics: s.panics.load(Relaxed),
                    spans_dropped: s.spans_dropped.load(Relaxed) + s.sink.spans_dropped(),
                    logs_delivered: s.logs_delivered.load(Relaxed),
                    logs_dropped: s.logs_dropped.load(Relaxed) + s.sink.logs_dropped(),
                    last_error: s.last_error.lock().map(|e| e.clone()).unwrap_or(None),
                    last_panic: s.last_panic.lock().map(|e| e.clone()).unwrap_or(None),
                })
                .collect(),
        }
    }
}

/// The handle of a running pipeline, returned by [`init`].
///
/// Dropping it leaves the pipeline running until the runtime shuts down; call
/// [`shutdown`](Pipeline::shutdown) to flush every span before exiting.
#[derive(Debug, Clone)]
pub struct Pipeline {
    commands: mpsc::Sender<Command>,
    drain: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
    shared: Arc<Shared>,
}

impl Shared {
    /// Shutdown's deadline passed: stops the sink tasks still running and counts what
    /// they had not finished as dropped. Each sink's `shutdown` is started (polled
    /// once), so a sink that buffers knows its backlog is lost.
    fn abandon_sinks(&self) {
        if let Ok(workers) = self.workers.lock() {
            for worker in workers.iter() {
                worker.abort();
            }
        }
        for sink in &self.sinks {
            sink.abandon();
            let _ = sink.sink.shutdown().now_or_never();
        }
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

/// Starts the pipeline on the current tokio runtime: turns recording on and spawns
/// the drain task and one task per sink.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use telem::{Config, InMemorySink, Tracer};
/// let sink = std::sync::Arc::new(InMemorySink::new(1000));
/// let pipeline = telem::init(Config::new().with_sink(sink.clone())).unwrap();
///
/// Tracer::new("doc").in_span("work", |_| {});
///
/// pipeline.shutdown().await;
/// assert_eq!(sink.spans()[0].name, "work");
/// # }
/// ```
pub fn init(mut config: Config) -> Result<Pipeline, InitError> {
    config.validate()?;
    if config.disabled() {
        return Ok(Pipeline::disabled());
    }
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| InitError::NoRuntime)?;
    if RUNNING
        .compare_exchange(false, true, Relaxed, Relaxed)
        .is_err()
    {
        return Err(InitError::AlreadyRunning);
    }
    let running = RunningGuard;
    crate::export::diagnostics::set_enabled(config.diagnostics());
    clock::warm_up();
    sampler::install(&config.sampler());
    recording::set_limits(config.span_limits());
    ring::set_capacity(config.ring_capacity());
    log_rings::set_capacity(config.log_ring_capacity());
    crate::record::bound::set_fields_on_spans(config.bound_fields_on_spans());
    let metrics = config.metrics();
    if metrics.enabled() {
        crate::metrics::global().set_cardinality_limit(metrics.cardinality_limit());
    }
    // Spans a previous pipeline left behind (ended during its shutdown) belong to it.
    ring::drain(|raw| {
        crate::isolation::route(raw);
    });
    log_rings::LogCycle::drain(|raw| {
        crate::isolation::route_log(raw);
    });

    let mut workers = Vec::new();
    let mut senders = Vec::new();
    let mut counters = Vec::new();
    let sink_timeout = config.sink_timeout();
    for sink in config.take_sinks() {
        let c = Arc::new(SinkCounters::new(sink.clone()));
        let (tx, rx) = mpsc::channel(config.sink_queue_capacity());
        workers.push(runtime.spawn(sink_worker(sink, rx, c.clone(), sink_timeout)));
        senders.push(tx);
        counters.push(c);
    }
    let shared = Arc::new(Shared {
        baseline: ring::totals(),
        log_baseline: log_rings::totals(),
        exported: AtomicU64::new(0),
        logs_exported: Default::default(),
        drains: AtomicU64::new(0),
        last_drain_nanos: AtomicU64::new(0),
        log_events_dropped: AtomicU64::new(0),
        sinks: counters,
        workers: Mutex::new(workers.iter().map(|w| w.abort_handle()).collect()),
        shutdown_timeout: config.shutdown_timeout(),
    });
    let (commands, rx) = mpsc::channel(16);
    let drain = Drain {
        shared: shared.clone(),
        senders,
        workers,
        max_batch: config.max_batch_size(),
        sink_timeout,
        enqueue_wait: sink_timeout.min(config.drain_interval()),
        lent_batches: Vec::new(),
        free_batches: Vec::new(),
        metrics,
        log_events: config.logs_as_span_events().then(LogEvents::default),
    };
    let handle = runtime.spawn(drain.run(rx, commands.clone(), config.drain_interval(), running));
    recording::set_enabled(true);
    site::set_pipeline_filter(Some(config.log_filter()));
    Ok(Pipeline {
        commands,
        drain: Arc::new(tokio::sync::Mutex::new(Some(handle))),
        shared,
    })
}

impl Pipeline {
    /// The handle of a pipeline that was never started ([`Config::disabled`]).
    fn disabled() -> Self {
        let (commands, _) = mpsc::channel(1);
        Pipeline {
            commands,
            drain: Arc::new(tokio::sync::Mutex::new(None)),
            shared: Arc::new(Shared {
                baseline: ring::totals(),
                log_baseline: log_rings::totals(),
                exported: AtomicU64::new(0),
                logs_exported: Default::default(),
                drains: AtomicU64::new(0),
                last_drain_nanos: AtomicU64::new(0),
                log_events_dropped: AtomicU64::new(0),
                sinks: Vec::new(),
                workers: Mutex::new(Vec::new()),
                shutdown_timeout: Duration::ZERO,
            }),
        }
    }

    /// Drains the rings now and waits until every sink has processed what was
    /// drained (or timed out). For tests and for flushing before a risky operation.
    pub async fn drain_now(&self) {
        let (ack, done) = oneshot::channel();
        if self.commands.send(Command::DrainNow(ack)).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Stops recording and the drain, drains once more, flushes and shuts down every
    /// sink (each call within `sink_timeout`), all within
    /// [`shutdown_timeout`](Config::shutdown_timeout). Every span that ended before this
    /// call reaches the sinks, unless a sink is still stalled at the deadline: then
    /// what it has not taken is counted in its `spans_dropped`, its task is stopped, and
    /// `shutdown` returns anyway. It never hangs, whatever a sink does. Calling it
    /// again, or from a clone, does nothing.
    pub async fn shutdown(&self) {
        let mut drain = self.drain.lock().await;
        let Some(mut handle) = drain.take() else {
            return;
        };
        let stopped = tokio::time::timeout(self.shared.shutdown_timeout, async {
            let (ack, done) = oneshot::channel();
            if self.commands.send(Command::Shutdown(ack)).await.is_ok() {
                let _ = done.await;
            }
            let _ = (&mut handle).await;
        })
        .await;
        if stopped.is_err() {
            handle.abort();
            self.shared.abandon_sinks();
            // A cancelled task ends at once; once it has, a new pipeline may start.
            let _ = handle.await;
        }
    }

    /// The pipeline's self-metrics.
    pub fn stats(&self) -> PipelineStats {
        self.shared.stats()
    }

    /// Replaces the log filter while the pipeline runs (an operator turning on `debug`
    /// for one module, say). Cheap for the calls: each call site's cached verdict is
    /// rewritten once, here; calls keep costing one or two relaxed loads. Does nothing
    /// on a stopped pipeline's handle.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let pipeline = telem::init(telem::Config::new()).unwrap();
    /// pipeline.set_log_filter("warn,my_service::db=debug".parse().unwrap());
    /// assert_eq!(pipeline.log_filter().unwrap().to_string(), "warn,my_service::db=debug");
    /// pipeline.shutdown().await;
    /// # }
    /// ```
    pub fn set_log_filter(&self, filter: LogFilter) {
        if self.is_running() {
            // Only over a filter in force: a pipeline stopping meanwhile has cleared it.
            site::replace_pipeline_filter(filter);
        }
    }

    /// The log filter in force, while the pipeline runs.
    pub fn log_filter(&self) -> Option<LogFilter> {
        if self.is_running() {
            site::pipeline_filter().cloned()
        } else {
            None
        }
    }

    fn is_running(&self) -> bool {
        !self.commands.is_closed() && RUNNING.load(Relaxed)
    }
}

struct Drain {
    shared: Arc<Shared>,
    senders: Vec<mpsc::Sender<Msg>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    max_batch: usize,
    sink_timeout: Duration,
    /// How long the drain waits for room in a full sink queue; see `offer`.
    enqueue_wait: Duration,
    /// Batches handed to sinks, to reuse once every sink has dropped them.
    lent_batches: Vec<SpanBatch>,
    free_batches: Vec<Vec<SpanData>>,
    metrics: MetricsConfig,
    /// With `logs_as_span_events`: the events made from logs of sampled spans not
    /// drained yet, by span.
    log_events: Option<LogEvents>,
}

/// Log records waiting to become events of their span (`logs_as_span_events`). The
/// drain takes a cycle's logs before its spans, so a span's logs are here when the span
/// is drained; a span still running keeps its events here across cycles. Bounded:
/// at `MAX_PENDING_LOG_EVENTS` events waiting, the spans waiting longest lose theirs
/// (a span that never comes: lost at a full ring, or routed to a test scope), counted in
/// `telemetry_log_events_dropped_total`; the records themselves are exported as usual.
#[derive(Default)]
struct LogEvents {
    by_span: std::collections::HashMap<(crate::TraceId, crate::SpanId), Waiting>,
    pending: usize,
    /// Drain cycles so far (the age of an entry).
    cycle: u64,
    dropped: u64,
}

/// The log events of one span not drained yet.
struct Waiting {
    /// The drain cycle its first event came in.
    since: u64,
    /// At most the span event limit.
    events: Vec<crate::Event>,
    /// Events past the limit: added to the span's `dropped_events_count`.
    over_limit: u32,
}

/// Most log events waiting for their spans.
const MAX_PENDING_LOG_EVENTS: usize = 1 << 16;

impl LogEvents {
    /// Drops the events of the spans that have waited longest (about half of them);
    /// counted.
    #[cold]
    fn evict_oldest(&mut self) {
        let mut ages: Vec<u64> = self.by_span.values().map(|w| w.since).collect();
        ages.sort_unstable();
        // The median age: entries that old or older go (at least half of them).
        let keep_from = ages.get(ages.len() / 2).copied().unwrap_or(u64::MAX);
        let (mut pending, mut dropped) = (self.pending, self.dropped);
        self.by_span.retain(|_, waiting| {
            let keep = waiting.since > keep_from;
            if !keep {
                pending -= waiting.events.len();
                dropped += waiting.events.len() as u64;
            }
            keep
        });
        self.pending = pending;
        self.dropped = dropped;
    }

    /// Keeps `record` as an event of its span, if it was made in a sampled one.
    fn keep(&mut self, record: &crate::LogRecord) {
        if !record.span_id.is_valid() || !record.trace_flags.is_sampled() {
            return;
        }
        let key = (record.trace_id, record.span_id);
        if let Some(waiting) = self.by_span.get_mut(&key) {
            // A chatty long span keeps only what it may hold, and never crowds out others.
            if waiting.events.len() >= recording::max_events() {
                waiting.over_limit = waiting.over_limit.saturating_add(1);
                return;
            }
        }
        if self.pending >= MAX_PENDING_LOG_EVENTS {
            self.evict_oldest();
        }
        let mut attributes = Vec::with_capacity(2 + record.attributes.len());
        attributes.push(crate::KeyValue::new("log.severity", record.severity.text()));
        attributes.push(crate::KeyValue::new("log.target", record.target.clone()));
        attributes.extend(record.attributes.iter().cloned());
        let cycle = self.cycle;
        self.by_span
            .entry(key)
            .or_insert_with(|| Waiting {
                since: cycle,
                events: Vec::new(),
                over_limit: 0,
            })
            .events
            .push(crate::Event {
                name: record.body.clone(),
                time_unix_nano: record.time_unix_nano,
                attributes,
                dropped_attributes_count: 0,
            });
        self.pending += 1;
    }

    /// Adds the events waiting for `span` to it, within the span event limit.
    fn attach(&mut self, span: &mut SpanData) {
        if self.by_span.is_empty() {
            return;
        }
        if let Some(waiting) = self
            .by_span
            .remove(&(span.context.trace_id, span.context.span_id))
        {
            let events = waiting.events;
            self.pending -= events.len();
            let room = recording::max_events().saturating_sub(span.events.len());
            let dropped = events.len().saturating_sub(room);
            span.events.extend(events.into_iter().take(room));
            span.events.sort_by_key(|e| e.time_unix_nano);
            span.dropped_events_count = span
                .dropped_events_count
                .saturating_add(u32::try_from(dropped).unwrap_or(u32::MAX))
                .saturating_add(waiting.over_limit);
        }
    }
}

/// Most batch buffers the drain keeps for reuse.
const MAX_LENT_BATCHES: usize = 64;

impl Drain {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        // Held so `commands` never closes: the drain outlives dropped handles.
        _keep_open: mpsc::Sender<Command>,
        interval: Duration,
        _running: RunningGuard,
    ) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let command = tokio::select! {
                _ = ticks.tick() => None,
                _ = ring::high_water() => None,
                c = commands.recv() => c,
            };
            match command {
                None => self.drain_once().await,
                Some(Command::DrainNow(ack)) => {
                    self.drain_once().await;
                    self.flush_sinks().await;
                    let _ = ack.send(());
                }
                Some(Command::Shutdown(ack)) => {
                    recording::set_enabled(false);
                    // Log calls stop too before the last drain: a record made after it
                    // would be counted and never delivered.
                    site::set_pipeline_filter(None);
                    self.drain_once().await;
                    self.close_sinks().await;
                    let _ = ack.send(());
                    return;
                }
            }
        }
    }

    async fn drain_once(&mut self) {
        let started = Instant::now();
        let shared = self.shared.clone();
        let mut stalled = vec![false; self.senders.len()];
        // Spans first, then logs: every log of a span in this cycle is in this cycle
        // too (a log is pushed before its span ends), for `logs_as_span_events`.
        let mut cycle = ring::Cycle::start();
        self.drain_logs(&mut stalled).await;
        if let Some(events) = &mut self.log_events {
            events.cycle += 1;
            shared.log_events_dropped.store(events.dropped, Relaxed);
        }
        // Global spans a test scope's drain found in the rings go first.
        let strays = crate::isolation::take_strays();
        if !strays.is_empty() {
            let n = strays.len() as u64;
            let batch: SpanBatch = Arc::new(
                strays
                    .into_iter()
                    .map(|mut raw| raw.take_span_data())
                    .collect(),
            );
            self.offer(
                Msg::Spans,
                batch,
                n,
                |c| &c.spans_queued,
                &mut stalled,
                |c| {
                    c.spans_dropped.fetch_add(n, Relaxed);
                },
            )
            .await;
        }
        loop {
            // Hand each batch on before cutting the next: with sinks keeping up, their
            // buffers come back for reuse within the cycle.
            self.reclaim_batches();
            let mut batch = self
                .free_batches
                .pop()
                .unwrap_or_else(|| Vec::with_capacity(self.max_batch));
            let moved = cycle.next(self.max_batch, |raw| {
                if crate::isolation::route(raw) {
                    let mut span = raw.take_span_data();
                    if let Some(events) = &mut self.log_events {
                        events.attach(&mut span);
                    }
                    batch.push(span);
                }
            });
            if moved == 0 {
                self.free_batches.push(batch);
                break;
            }
            shared.exported.fetch_add(moved as u64, Relaxed);
            let batch: SpanBatch = Arc::new(batch);
            self.offer(
                Msg::Spans,
                batch.clone(),
                moved as u64,
                |c| &c.spans_queued,
                &mut stalled,
                |c| {
                    c.spans_dropped.fetch_add(moved as u64, Relaxed);
                },
            )
            .await;
            self.lent_batches.push(batch);
            // One batch at a time: on a runtime with few workers, requests get a turn
            // between two batches instead of waiting for the whole cycle.
            tokio::task::yield_now().await;
        }
        shared.drains.fetch_add(1, Relaxed);
        shared
            .last_drain_nanos
            .store(started.elapsed().as_nanos() as u64, Relaxed);
        let pipeline = shared.stats();
        // Collectors and metric callbacks run here, on the drain task, once per tick.
        let metrics = if self.metrics.enabled {
            crate::metrics::tick(&self.metrics, &pipeline)
        } else {
            Vec::new()
        };
        let snapshot = Arc::new(MetricsSnapshot {
            time_unix_nano: clock::unix_nanos_now(),
            pipeline,
            metrics,
        });
        self.offer(
            Msg::Metrics,
            snapshot,
            0,
            |c| &c.spans_queued,
            &mut stalled,
            |_| {},
        )
        .await;
    }

    /// Moves every log record queued when called to the sinks, in batches.
    async fn drain_logs(&mut self, stalled: &mut [bool]) {
        let mut cycle = log_rings::LogCycle::start();
        // Global records a test scope's drain found in the rings go first.
        let mut strays = crate::isolation::take_log_strays();
        loop {
            let mut counts = [0u64; 5];
            let mut routed = [0u64; 5];
            let mut batch = Vec::with_capacity(self.max_batch.min(1024));
            let events = &mut self.log_events;
            let mut take = |raw: &mut crate::logs::raw::RawLog| {
                counts[raw.site.level().index()] += 1;
                let record = raw.take_record();
                if let Some(events) = events.as_mut() {
                    events.keep(&record);
                }
                batch.push(record);
            };
            if strays.is_empty() {
                // Every record moved out of the rings counts as exported, also those
                // routed to a test scope (as spans do): recorded == exported + dropped.
                let moved = cycle.next(self.max_batch, |raw| {
                    if crate::isolation::route_log(raw) {
                        take(raw);
                    } else {
                        routed[raw.site.level().index()] += 1;
                    }
                });
                if moved == 0 {
                    return;
                }
            } else {
                for record in strays.drain(..) {
                    if let Some(level) = record.level() {
                        counts[level.index()] += 1;
                    }
                    batch.push(record);
                }
            }
            for ((exported, n), r) in self.shared.logs_exported.iter().zip(counts).zip(routed) {
                exported.fetch_add(n + r, Relaxed);
            }
            if batch.is_empty() {
                continue;
            }
            let n = batch.len() as u64;
            self.offer(
                Msg::Logs,
                Arc::new(batch),
                n,
                |c| &c.logs_queued,
                stalled,
                |c| {
                    c.logs_dropped.fetch_add(n, Relaxed);
                },
            )
            .await;
            tokio::task::yield_now().await;
        }
    }

    /// Moves batch buffers every sink is done with back to `free_batches`, emptied: in
    /// steady state the drain allocates nothing and never faults in fresh pages.
    fn reclaim_batches(&mut self) {
        let mut i = 0;
        while i < self.lent_batches.len() {
            if Arc::strong_count(&self.lent_batches[i]) == 1 {
                let batch = self.lent_batches.swap_remove(i);
                if let Ok(mut spans) = Arc::try_unwrap(batch) {
                    spans.clear();
                    self.free_batches.push(spans);
                }
            } else {
                i += 1;
            }
        }
        // A sink that keeps batches (an in-memory sink) must not make these lists grow.
        if self.lent_batches.len() > MAX_LENT_BATCHES {
            self.lent_batches
                .drain(..self.lent_batches.len() - MAX_LENT_BATCHES);
        }
        self.free_batches.truncate(MAX_LENT_BATCHES);
    }

    /// Offers `item` to every sink's queue. A full queue gets up to `enqueue_wait` to
    /// make room (its worker may simply not have run yet); a sink that still has no room
    /// is marked stalled for the rest of this drain cycle and loses the item, counted,
    /// so one slow or hung sink costs the others at most one wait per cycle.
    /// `spans` is how many spans `item` holds: counted as queued for the sink until its
    /// worker is done with them.
    async fn offer<T: Clone>(
        &self,
        wrap: fn(T) -> Msg,
        item: T,
        spans: u64,
        queue: fn(&SinkCounters) -> &AtomicU64,
        stalled: &mut [bool],
        on_drop: impl Fn(&SinkCounters),
    ) {
        let sinks = self.senders.iter().zip(&self.shared.sinks);
        for ((tx, counters), stalled) in sinks.zip(stalled.iter_mut()) {
            // Counted first: the worker may take the item before `try_send` returns.
            queue(counters).fetch_add(spans, Relaxed);
            let msg = match tx.try_send(wrap(item.clone())) {
                Ok(()) => continue,
                Err(mpsc::error::TrySendError::Full(msg)) if !*stalled => msg,
                Err(_) => {
                    queue(counters).fetch_sub(spans, Relaxed);
                    on_drop(counters);
                    continue;
                }
            };
            match tokio::time::timeout(self.enqueue_wait, tx.send(msg)).await {
                Ok(Ok(())) => {}
                _ => {
                    queue(counters).fetch_sub(spans, Relaxed);
                    *stalled = true;
                    on_drop(counters);
                }
            }
        }
    }

    async fn flush_sinks(&self) {
        let acks = self.senders.iter().map(|tx| async move {
            let (ack, done) = oneshot::channel();
            let deadline = self.sink_timeout * 2;
            let _ = tokio::time::timeout(deadline, async {
                if tx.send(Msg::Flush(ack)).await.is_ok() {
                    let _ = done.await;
                }
            })
            .await;
        });
        futures::future::join_all(acks).await;
    }

    async fn close_sinks(&mut self) {
        let deadline = self.sink_timeout * 2;
        for tx in self.senders.drain(..) {
            let _ = tokio::time::timeout(deadline, tx.send(Msg::Shutdown)).await;
        }
        for (worker, counters) in self.workers.drain(..).zip(&self.shared.sinks) {
            let abort = worker.abort_handle();
            if tokio::time::timeout(deadline, worker).await.is_err() {
                abort.abort();
                counters.abandon();
            }
        }
    }
}

enum Outcome {
    Ok,
    Error(SinkError),
    Timeout,
    /// The panic's message.
    Panic(String),
}

/// Runs one sink call under the timeout and a panic guard. `call` makes the future: a
/// sink's method may panic before it returns its `SinkFuture` (work written outside
/// the `async` block), and that panic is caught and counted too.
async fn guarded<F>(timeout: Duration, call: impl FnOnce() -> F) -> Outcome
where
    F: std::future::Future<Output = Result<(), SinkError>>,
{
    let future = match std::panic::catch_unwind(AssertUnwindSafe(call)) {
        Ok(future) => future,
        Err(payload) => return Outcome::Panic(panic_message(payload.as_ref())),
    };
    match tokio::time::timeout(timeout, AssertUnwindSafe(future).catch_unwind()).await {
        Err(_) => Outcome::Timeout,
        Ok(Err(payload)) => Outcome::Panic(panic_message(payload.as_ref())),
        Ok(Ok(Err(e))) => Outcome::Error(e),
        Ok(Ok(Ok(()))) => Outcome::Ok,
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

impl SinkCounters {
    /// Counts a failed call (`what` the sink was asked to do) and reports it (see
    /// `diagnostics`); `true` if the call succeeded.
    fn record(&self, what: &str, timeout: Duration, outcome: Outcome) -> bool {
        let name = &self.name;
        // A failure to export logs is not reported as a log record: it could fail the
        // same way, again and again.
        let report = if what == "export_logs" {
            crate::export::diagnostics::report_without_log
        } else {
            crate::export::diagnostics::report
        };
        match outcome {
            Outcome::Ok => return true,
            Outcome::Error(e) => {
                self.errors.fetch_add(1, Relaxed);
                let message = e.to_string();
                report(name, "error", format_args!("{what}: {message}"));
                if let Ok(mut last) = self.last_error.lock() {
                    *last = Some(message);
                }
            }
            Outcome::Timeout => {
                self.timeouts.fetch_add(1, Relaxed);
                report(
                    name,
                    "timeout",
                    format_args!("{what} did not finish within sink_timeout ({timeout:?})"),
                );
            }
            Outcome::Panic(message) => {
                self.panics.fetch_add(1, Relaxed);
                report(name, "panic", format_args!("{what}: {message}"));
                if let Ok(mut last) = self.last_panic.lock() {
                    *last = Some(message);
                }
            }
        }
        false
    }
}

async fn sink_worker(
    sink: Arc<dyn Sink>,
    mut rx: mpsc::Receiver<Msg>,
    counters: Arc<SinkCounters>,
    timeout: Duration,
) {
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Spans(batch) => {
                let n = batch.len() as u64;
                let outcome = guarded(timeout, || sink.export_spans(batch)).await;
                if counters.record("export_spans", timeout, outcome) {
                    counters.spans_delivered.fetch_add(n, Relaxed);
                } else if !sink.counts_own_drops() {
                    // A failed call lost its batch, unless the sink says what it kept.
                    counters.spans_dropped.fetch_add(n, Relaxed);
                }
                counters.spans_queued.fetch_sub(n, Relaxed);
            }
            Msg::Logs(batch) => {
                let n = batch.len() as u64;
                let outcome = guarded(timeout, || sink.export_logs(batch)).await;
                if counters.record("export_logs", timeout, outcome) {
                    counters.logs_delivered.fetch_add(n, Relaxed);
                } else if !sink.counts_own_drops() {
                    counters.logs_dropped.fetch_add(n, Relaxed);
                }
                counters.logs_queued.fetch_sub(n, Relaxed);
            }
            Msg::Metrics(snapshot) => {
                let outcome = guarded(timeout, || sink.export_metrics(snapshot)).await;
                counters.record("export_metrics", timeout, outcome);
            }
            Msg::Flush(ack) => {
                counters.record("flush", timeout, guarded(timeout, || sink.flush()).await);
                let _ = ack.send(());
            }
            Msg::Shutdown => {
                counters.record("flush", timeout, guarded(timeout, || sink.flush()).await);
                let outcome = guarded(timeout, || sink.shutdown()).await;
                counters.record("shutdown", timeout, outcome);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Level, LogRecord, SpanId, TraceFlags, TraceId};

    fn record(span: u64) -> LogRecord {
        let mut record = LogRecord::new(Level::Info, "in a span");
        record.trace_id = TraceId::from_raw(1);
        record.span_id = SpanId::from_raw(span);
        record.trace_flags = TraceFlags::SAMPLED;
        record
    }

    #[test]
    fn log_events_waiting_for_spans_that_never_come_are_bounded_and_counted() {
        let mut events = LogEvents::default();
        let full = MAX_PENDING_LOG_EVENTS as u64;
        for span in 1..=full {
            events.keep(&record(span));
        }
        assert_eq!(events.pending, MAX_PENDING_LOG_EVENTS);
        events.cycle += 1;
        let newer = full + 1;
        events.keep(&record(newer));
        // The older half went, counted; the newest waits for its span.
        assert!(
            events.pending <= MAX_PENDING_LOG_EVENTS / 2 + 1,
            "{}",
            events.pending
        );
        assert_eq!(events.dropped + events.pending as u64, full + 1);
        assert!(events
            .by_span
            .contains_key(&(TraceId::from_raw(1), SpanId::from_raw(newer))));
        // Unsampled records and records outside spans never wait.
        let mut unsampled = record(7);
        unsampled.trace_flags = TraceFlags::default();
        let before = events.pending;
        events.keep(&unsampled);
        events.keep(&LogRecord::new(Level::Info, "outside"));
        assert_eq!(events.pending, before);
    }

    #[test]
    fn a_chatty_span_keeps_at_most_its_event_limit_and_counts_the_rest() {
        let mut events = LogEvents::default();
        let limit = recording::max_events();
        for _ in 0..limit + 3 {
            events.keep(&record(1));
        }
        events.keep(&record(2));
        assert_eq!(
            events.pending,
            limit + 1,
            "the other span still gets its event"
        );
        let mut span = SpanData {
            name: "chatty".into(),
            scope: "tests".into(),
            context: crate::SpanContext::new(
                TraceId::from_raw(1),
                SpanId::from_raw(1),
                TraceFlags::SAMPLED,
                crate::TraceState::default(),
                false,
            ),
            parent_span_id: SpanId::INVALID,
            parent_is_remote: false,
            kind: crate::SpanKind::Internal,
            start_time_unix_nano: 0,
            end_time_unix_nano: 1,
            attributes: crate::Attributes::new(),
            events: Vec::new(),
            links: Vec::new(),
            status: crate::Status::Unset,
            dropped_attributes_count: 0,
            dropped_events_count: 0,
            dropped_links_count: 0,
        };
        events.attach(&mut span);
        assert_eq!(span.events.len(), limit);
        assert_eq!(span.dropped_events_count, 3);
        assert_eq!(events.pending, 1);
    }
}
