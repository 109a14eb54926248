//! The network task: takes batches from the span and log record queues and the latest
//! metric snapshot, encodes, compresses and sends them, retrying what is worth retrying,
//! and never holds up the pipeline (the sink's methods only touch the queues). Spans and
//! log records take the same path, generic over [`Batched`].

use crate::delta::DeltaState;
use crate::encode::{Encoder, Shape};
use crate::lane::{Batched, Lane};
use crate::queue::Segment;
use crate::response::PartialSuccess;
use crate::stats::{Counters, ItemCounters, Outcome};
use crate::transport::{Attempt, Target, Transport};
use crate::{retry, Compression, ResolvedConfig, Signal, Temporality};
use bytes::Bytes;
use std::future::Future;
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use telem::{LogRecord, MetricsSnapshot, SinkError, SpanData};
use tokio::sync::{oneshot, watch, Notify};
use tokio::time::Instant;

/// State shared by the sink handles and the network task.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: ResolvedConfig,
    /// Per signal, in [`Signal::ALL`]'s order.
    encoders: [Encoder; 3],
    targets: [Target; 3],
    transport: Transport,
    pub(crate) counters: Counters,
    pub(crate) spans: Lane<SpanData>,
    pub(crate) logs: Lane<LogRecord>,
    metrics: Mutex<Option<Arc<MetricsSnapshot>>>,
    flushes: Mutex<Vec<oneshot::Sender<()>>>,
    wake: Notify,
    /// `Some(deadline)` once shutdown began.
    shutdown: watch::Sender<Option<Instant>>,
    closed: AtomicBool,
    worker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How long a batch that does not fit the queue waits for room before the rest of it
/// is dropped: long enough for the network task to send a request or two, well below
/// the pipeline's default `sink_timeout` (5 s).
const ROOM_WAIT: Duration = Duration::from_secs(1);

/// The items of one `export_*` call not yet queued or counted: counted as dropped when
/// the call ends or is cancelled.
struct Pending<'a> {
    counters: &'a ItemCounters,
    left: usize,
}

impl Pending<'_> {
    fn queued(&mut self, n: usize) {
        self.counters.received(n as u64, n as u64);
        self.left -= n;
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if self.left > 0 {
            self.counters.received(self.left as u64, 0);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these short locks leaves consistent data behind.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn new(config: ResolvedConfig) -> Result<Self, crate::OtlpError> {
        let encoder = |s: Signal| {
            Encoder::new(config.signal(s).protocol, config.resource.clone())
                .with_scope_versions(config.scope_versions.clone())
        };
        let [traces, metrics, logs] = Signal::ALL.map(|s| Target::new(s, config.signal(s)));
        Ok(Self {
            encoders: Signal::ALL.map(encoder),
            targets: [traces?, metrics?, logs?],
            transport: Transport::new()?,
            counters: Counters::new(config.self_metrics),
            spans: Lane::new(&config),
            logs: Lane::new(&config),
            metrics: Mutex::new(None),
            flushes: Mutex::new(Vec::new()),
            wake: Notify::new(),
            shutdown: watch::channel(None).0,
            closed: AtomicBool::new(false),
            worker: Mutex::new(None),
            config,
        })
    }

    fn index(signal: Signal) -> usize {
        crate::config::index(signal)
    }

    /// Starts the network task on the caller's runtime if it is not running.
    fn ensure_worker(self: &Arc<Self>) -> Result<(), SinkError> {
        let mut worker = lock(&self.worker);
        if worker.as_ref().is_some_and(|h| !h.is_finished()) || self.closed.load(Relaxed) {
            return Ok(());
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| SinkError::new("the OTLP exporter must run inside a tokio runtime"))?;
        *worker = Some(runtime.spawn(run(self.clone())));
        Ok(())
    }

    /// Queues `batch` (spans or log records) in its lane. A batch larger than the room
    /// left waits up to [`ROOM_WAIT`] for the network task to take items out (the drain
    /// hands over bursts: a tick's worth at once), so a burst is smoothed instead of
    /// dropped; what still does not fit is dropped and counted. Cancel-safe: items
    /// neither queued nor counted when the call is dropped (the pipeline's
    /// `sink_timeout`) are counted as dropped then.
    pub(crate) async fn export<T: Batched>(
        self: &Arc<Self>,
        batch: Arc<Vec<T>>,
    ) -> Result<(), SinkError> {
        if !self.config.signal(T::SIGNAL).enabled || batch.is_empty() {
            return Ok(());
        }
        let (lane, counters) = (T::lane(self), T::counters(&self.counters));
        let n = batch.len();
        if !self.closed.load(Relaxed) {
            if let Err(e) = self.ensure_worker() {
                counters.received(n as u64, 0);
                return Err(e);
            }
        }
        let mut pending = Pending { counters, left: n };
        let give_up = Instant::now() + ROOM_WAIT;
        loop {
            // Registered before looking, so room made in between is not missed.
            let room = lane.room.notified();
            let (queued, len) = {
                let mut queue = lock(&lane.queue);
                // Checked under the lock: once shutdown has closed the queue nothing enters.
                if self.closed.load(Relaxed) {
                    (0, 0)
                } else {
                    let queued = queue.push(&batch, n - pending.left);
                    (queued, queue.len())
                }
            };
            pending.queued(queued);
            if len >= lane.batching.max_export_batch_size {
                self.wake.notify_one();
            }
            if pending.left == 0
                || self.closed.load(Relaxed)
                || tokio::time::timeout_at(give_up, room).await.is_err()
            {
                break;
            }
        }
        if pending.left > 0 {
            let dropped = pending.left;
            drop(pending); // counts them
            return Err(SinkError::new(format!(
                "OTLP queue full or closed ({max} {noun}): {dropped} of {n} {noun} dropped",
                max = lane.batching.max_queue_size,
                noun = T::NOUN,
            )));
        }
        Ok(())
    }

    pub(crate) fn export_metrics(
        self: &Arc<Self>,
        snapshot: Arc<MetricsSnapshot>,
    ) -> Result<(), SinkError> {
        if !self.config.metrics.enabled || self.closed.load(Relaxed) || snapshot.metrics.is_empty()
        {
            return Ok(());
        }
        self.ensure_worker()?;
        *lock(&self.metrics) = Some(snapshot);
        Ok(())
    }

    /// Sends everything queued now (and the latest metrics) and waits until it has been
    /// sent or given up on, at most the shutdown timeout. A batch already on its way is
    /// waited for too: the network task answers between two exports.
    pub(crate) async fn flush(self: &Arc<Self>) -> Result<(), SinkError> {
        if self.closed.load(Relaxed) || lock(&self.worker).is_none() {
            return Ok(()); // nothing was ever exported, or shutdown already sent it
        }
        self.ensure_worker()?;
        let (ack, done) = oneshot::channel();
        lock(&self.flushes).push(ack);
        self.wake.notify_one();
        match tokio::time::timeout(self.config.shutdown_timeout, done).await {
            Ok(_) => Ok(()),
            Err(_) => Err(SinkError::new(format!(
                "OTLP flush did not finish within {:?} ({} spans and {} log records still queued)",
                self.config.shutdown_timeout,
                self.counters.spans.queued(),
                self.counters.logs.queued(),
            ))),
        }
    }

    /// Refuses new data, sends what is queued until the shutdown deadline, drops (and
    /// counts) the rest, and stops the network task.
    pub(crate) async fn shutdown(&self) -> Result<(), SinkError> {
        {
            // Both queues locked (always in this order), so no export adds to either
            // once `closed` is set.
            let _spans = lock(&self.spans.queue);
            let _logs = lock(&self.logs.queue);
            if self.closed.swap(true, Relaxed) {
                return Ok(());
            }
        }
        let deadline = Instant::now() + self.config.shutdown_timeout;
        self.shutdown.send_replace(Some(deadline));
        self.wake.notify_one();
        let worker = lock(&self.worker).take();
        if let Some(worker) = worker {
            let abort = worker.abort_handle();
            // The task honours the deadline itself; the grace covers its last steps.
            if tokio::time::timeout_at(deadline + Duration::from_millis(250), worker)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        // Whatever the task did not get to, queued or cut off on its way.
        let lost = [self.drop_rest::<SpanData>(), self.drop_rest::<LogRecord>()];
        lock(&self.metrics).take();
        if lost.iter().all(|(n, _)| *n == 0) {
            return Ok(());
        }
        let stats = self.counters.snapshot();
        let lost: Vec<String> = lost
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, noun)| format!("{n} queued {noun}"))
            .collect();
        Err(SinkError::new(format!(
            "OTLP shutdown deadline passed: {} dropped ({} spans and {} log records sent)",
            lost.join(" and "),
            stats.spans_sent,
            stats.logs_sent,
        )))
    }

    /// Empties `T`'s queue at shutdown and counts what was still queued or on its way
    /// as dropped; returns how many, and their noun.
    fn drop_rest<T: Batched>(&self) -> (u64, &'static str) {
        lock(&T::lane(self).queue).clear();
        let counters = T::counters(&self.counters);
        let rest = counters.queued();
        counters.dequeued(Outcome::Dropped, rest);
        (rest, T::NOUN)
    }
}

/// The network task.
async fn run(shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let mut worker = Worker {
        shared: &shared,
        delta: DeltaState::default(),
        buffer_hint: 4096,
    };
    let config = &shared.config;
    let mut next_spans = Instant::now() + shared.spans.batching.schedule_delay;
    let mut next_logs = Instant::now() + shared.logs.batching.schedule_delay;
    let mut next_metrics = Instant::now() + config.metric_export_interval;
    loop {
        let deadline = *shutdown.borrow_and_update();
        let flushes = std::mem::take(&mut *lock(&shared.flushes));
        let now = Instant::now();
        let metrics_due = now >= next_metrics;
        let everything = deadline.is_some() || !flushes.is_empty();

        worker
            .send_queued::<SpanData>(&mut next_spans, now, everything, &mut shutdown)
            .await;
        worker
            .send_queued::<LogRecord>(&mut next_logs, now, everything, &mut shutdown)
            .await;
        if (metrics_due || everything) && !deadline_passed(&shutdown) {
            let snapshot = lock(&shared.metrics).take();
            if let Some(snapshot) = snapshot {
                worker.send_metrics(&snapshot, &mut shutdown).await;
            }
            next_metrics = Instant::now() + config.metric_export_interval;
        }
        for ack in flushes {
            let _ = ack.send(());
        }
        if deadline.is_some() {
            return;
        }
        if shutdown.borrow().is_some() {
            continue; // shutdown began during this round: the next one sends everything
        }
        // Only this task holds the state: every sink handle is gone.
        if Arc::strong_count(&shared) == 1 {
            return;
        }
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep_until(next_spans.min(next_logs).min(next_metrics)) => {}
            _ = shutdown.changed() => {}
        }
    }
}

fn deadline_passed(shutdown: &watch::Receiver<Option<Instant>>) -> bool {
    shutdown.borrow().is_some_and(|d| Instant::now() >= d)
}

/// Runs `fut` to completion, or until the shutdown deadline (once one is set) passes.
async fn until_deadline<F: Future>(
    shutdown: &mut watch::Receiver<Option<Instant>>,
    fut: F,
) -> Option<F::Output> {
    tokio::pin!(fut);
    loop {
        let deadline = *shutdown.borrow_and_update();
        match deadline {
            Some(d) => return tokio::time::timeout_at(d, fut).await.ok(),
            None => tokio::select! {
                out = &mut fut => return Some(out),
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        return Some(fut.await);
                    }
                }
            },
        }
    }
}

struct Worker<'a> {
    shared: &'a Shared,
    delta: DeltaState,
    buffer_hint: usize,
}

impl Worker<'_> {
    fn body(&mut self, signal: Signal, encode: impl FnOnce(&Encoder, &mut Vec<u8>)) -> Bytes {
        let mut buf = Vec::with_capacity(self.buffer_hint);
        encode(&self.shared.encoders[Shared::index(signal)], &mut buf);
        self.buffer_hint = self.buffer_hint.max(buf.len().min(64 << 20));
        let target = &self.shared.targets[Shared::index(signal)];
        if target.compression == Compression::Gzip {
            let mut gz = flate2::write::GzEncoder::new(
                Vec::with_capacity(buf.len() / 4),
                flate2::Compression::fast(),
            );
            // Writing to a Vec cannot fail.
            if gz.write_all(&buf).is_ok() {
                if let Ok(compressed) = gz.finish() {
                    return Bytes::from(compressed);
                }
            }
        }
        Bytes::from(buf)
    }

    /// Sends `T`'s full batches, and when due (its schedule delay, `next`, passed at
    /// `now`; or `everything`: a flush, shutdown) everything queued at the start, not
    /// what arrives meanwhile, so a busy producer cannot keep a flush going; then sets
    /// `next` one schedule delay later. Nothing once the shutdown deadline passed: what
    /// is left is counted as dropped by `shutdown`.
    async fn send_queued<T: Batched>(
        &mut self,
        next: &mut Instant,
        now: Instant,
        everything: bool,
        shutdown: &mut watch::Receiver<Option<Instant>>,
    ) {
        let lane = T::lane(self.shared);
        let due = everything || now >= *next;
        let max = lane.batching.max_export_batch_size;
        let mut budget = if due { lock(&lane.queue).len() } else { 0 };
        while !deadline_passed(shutdown) {
            let mut segments = Vec::new();
            let take = {
                let mut queue = lock(&lane.queue);
                let queued = queue.len();
                let take = if budget > 0 {
                    queued.min(max)
                } else if queued >= max {
                    max
                } else {
                    0
                };
                queue.take(take, &mut segments)
            };
            if take == 0 {
                break;
            }
            lane.room.notify_one();
            budget = budget.saturating_sub(take);
            // The pipeline batches are released when the segments are dropped.
            self.send(&segments, shutdown).await;
        }
        if due {
            *next = Instant::now() + lane.batching.schedule_delay;
        }
    }

    async fn send<T: Batched>(
        &mut self,
        segments: &[Segment<T>],
        shutdown: &mut watch::Receiver<Option<Instant>>,
    ) {
        let items: Vec<&T> = segments.iter().flat_map(Segment::items).collect();
        let n = items.len() as u64;
        let body = self.body(T::SIGNAL, |e, buf| T::encode(e, &items, buf));
        let counters = T::counters(&self.shared.counters);
        let timeout = T::lane(self.shared).batching.export_timeout;
        match self.deliver(T::SIGNAL, body, timeout, shutdown).await {
            Ok(partial) => {
                let rejected = partial.as_ref().map_or(0, |p| p.rejected.min(n));
                counters.dequeued(Outcome::Sent, n - rejected);
                counters.dequeued(Outcome::Rejected, rejected);
                self.note_partial(T::SIGNAL, partial);
            }
            Err(reason) => {
                counters.dequeued(Outcome::Failed, n);
                let message = format!("{}: {n} {} lost: {reason}", T::SIGNAL.as_str(), T::NOUN);
                if T::SIGNAL == Signal::Logs {
                    // A log record of this failure would go down the same failing lane.
                    telem::diagnostics::report_without_log("otlp", "export failed", &message);
                } else {
                    telem::diagnostics::report("otlp", "export failed", &message);
                }
                self.shared.counters.error(message);
            }
        }
    }

    async fn send_metrics(
        &mut self,
        snapshot: &MetricsSnapshot,
        shutdown: &mut watch::Receiver<Option<Instant>>,
    ) {
        let config = &self.shared.config;
        let time = snapshot.time_unix_nano;
        let (families, pending) = match config.temporality {
            Temporality::Delta => {
                let (families, pending) = self.delta.prepare(&snapshot.metrics, time);
                (std::borrow::Cow::Owned(families), Some(pending))
            }
            _ => (std::borrow::Cow::Borrowed(&snapshot.metrics), None),
        };
        let points: u64 = families
            .iter()
            .filter(|f| Shape::of(f.kind, config.temporality).is_some())
            .map(|f| f.series.len() as u64)
            .sum();
        let temporality = config.temporality;
        let body = self.body(Signal::Metrics, |e, buf| {
            e.encode_metrics_with(&families, time, temporality, buf)
        });
        let counters = &self.shared.counters;
        match self
            .deliver(
                Signal::Metrics,
                body,
                config.metric_export_timeout,
                shutdown,
            )
            .await
        {
            Ok(partial) => {
                let rejected = partial.as_ref().map_or(0, |p| p.rejected.min(points));
                counters.points(Outcome::Sent, points - rejected);
                counters.points(Outcome::Rejected, rejected);
                self.note_partial(Signal::Metrics, partial);
                if let Some(pending) = pending {
                    self.delta.commit(pending);
                }
            }
            Err(reason) => {
                counters.points(Outcome::Failed, points);
                let message = format!("metrics: {points} data points lost: {reason}");
                telem::diagnostics::report("otlp", "export failed", &message);
                counters.error(message);
            }
        }
    }

    fn note_partial(&self, signal: Signal, partial: Option<PartialSuccess>) {
        if let Some(p) = partial {
            let counters = &self.shared.counters;
            counters.partial_success();
            counters.error(format!(
                "{}: partial success, {} rejected: {}",
                signal.as_str(),
                p.rejected,
                p.message
            ));
        }
    }

    /// Sends `body`, retrying connection errors, timeouts, 429, 502, 503 and 504 with
    /// backoff (or the server's `Retry-After`) until `budget` has passed since the first
    /// attempt, or the shutdown deadline. `Err` says why the data is lost.
    async fn deliver(
        &self,
        signal: Signal,
        body: Bytes,
        budget: Duration,
        shutdown: &mut watch::Receiver<Option<Instant>>,
    ) -> Result<Option<PartialSuccess>, String> {
        let shared = self.shared;
        let target = &shared.targets[Shared::index(signal)];
        let give_up_at = Instant::now() + budget;
        let mut attempt = 0u32;
        loop {
            let now = Instant::now();
            let timeout = target
                .timeout
                .min(give_up_at.saturating_duration_since(now));
            if timeout.is_zero() {
                return Err(format!("no success within the export timeout ({budget:?})"));
            }
            shared.counters.request(signal);
            let sent = until_deadline(
                shutdown,
                shared.transport.send(target, body.clone(), timeout),
            )
            .await;
            let Some(outcome) = sent else {
                return Err("the shutdown deadline passed during the request".to_owned());
            };
            let (reason, retry_after) = match outcome {
                Attempt::Accepted(partial) => return Ok(partial),
                Attempt::Failed(reason) => return Err(format!("{reason} (not retried)")),
                Attempt::Retry {
                    reason,
                    retry_after,
                    timed_out,
                } => {
                    if timed_out {
                        shared.counters.timeout(signal);
                    }
                    (reason, retry_after)
                }
            };
            let wait = retry_after
                .unwrap_or_else(|| retry::backoff(&shared.config.retry, attempt, retry::random()));
            let wake_at = Instant::now() + wait;
            let shutdown_at = shutdown.borrow().unwrap_or(give_up_at);
            if wake_at >= give_up_at.min(shutdown_at) {
                return Err(format!(
                    "{reason}; gave up after {} attempt(s): the next one (in {wait:?}) would be past the {}",
                    attempt + 1,
                    if shutdown_at < give_up_at { "shutdown deadline" } else { "export timeout" }
                ));
            }
            shared.counters.retry(signal, retry_after.is_some());
            shared
                .counters
                .error(format!("{}: {reason}; retrying", signal.as_str()));
            if until_deadline(shutdown, tokio::time::sleep_until(wake_at))
                .await
                .is_none()
            {
                return Err(format!(
                    "{reason}; the shutdown deadline passed before the retry"
                ));
            }
            attempt += 1;
        }
    }
}
