//! What spans and log records share on their way to the collector: both come from the
//! pipeline in shared batches, wait in a bounded queue of their own (a [`Lane`], with its
//! batch settings: `OTEL_BSP_*` for spans, `OTEL_BLRP_*` for log records), and leave in
//! requests of at most a batch each, through the same hand-off, batching, retries and
//! counting (`exporter.rs`). [`Batched`] says, per item type, which signal it is, where
//! its lane and counters are, and how a request of it is encoded.

use crate::encode::Encoder;
use crate::exporter::Shared;
use crate::queue::Queue;
use crate::stats::{Counters, ItemCounters};
use crate::{ResolvedConfig, Signal};
use std::sync::Mutex;
use std::time::Duration;
use telem::{LogRecord, SpanData};
use tokio::sync::Notify;

/// An item the exporter queues and sends in batches: [`SpanData`] or [`LogRecord`].
pub(crate) trait Batched: std::fmt::Debug + Send + Sync + Sized + 'static {
    /// The signal it is sent as.
    const SIGNAL: Signal;
    /// How messages name a number of them: `spans`, `log records`.
    const NOUN: &'static str;

    /// Its lane in the exporter.
    fn lane(shared: &Shared) -> &Lane<Self>;

    /// Its counters.
    fn counters(counters: &Counters) -> &ItemCounters;

    /// Appends the export request holding `items` to `out`.
    fn encode(encoder: &Encoder, items: &[&Self], out: &mut Vec<u8>);
}

impl Batched for SpanData {
    const SIGNAL: Signal = Signal::Traces;
    const NOUN: &'static str = "spans";

    fn lane(shared: &Shared) -> &Lane<Self> {
        &shared.spans
    }

    fn counters(counters: &Counters) -> &ItemCounters {
        &counters.spans
    }

    fn encode(encoder: &Encoder, items: &[&Self], out: &mut Vec<u8>) {
        encoder.encode_spans(items.iter().copied(), out);
    }
}

impl Batched for LogRecord {
    const SIGNAL: Signal = Signal::Logs;
    const NOUN: &'static str = "log records";

    fn lane(shared: &Shared) -> &Lane<Self> {
        &shared.logs
    }

    fn counters(counters: &Counters) -> &ItemCounters {
        &counters.logs
    }

    fn encode(encoder: &Encoder, items: &[&Self], out: &mut Vec<u8>) {
        encoder.encode_logs(items.iter().copied(), out);
    }
}

/// How one lane batches: the batch processor settings of its signal.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Batching {
    /// The longest an item waits before it is sent.
    pub(crate) schedule_delay: Duration,
    /// How long one batch may take, retries included.
    pub(crate) export_timeout: Duration,
    /// Items the queue holds.
    pub(crate) max_queue_size: usize,
    /// Most items per request.
    pub(crate) max_export_batch_size: usize,
}

impl Batching {
    /// The settings of `signal`'s lane: `OTEL_BSP_*` for traces, `OTEL_BLRP_*` for logs.
    pub(crate) fn of(config: &ResolvedConfig, signal: Signal) -> Self {
        match signal {
            Signal::Logs => Self {
                schedule_delay: config.logs_schedule_delay,
                export_timeout: config.logs_export_timeout,
                max_queue_size: config.logs_max_queue_size,
                max_export_batch_size: config.logs_max_export_batch_size,
            },
            _ => Self {
                schedule_delay: config.schedule_delay,
                export_timeout: config.export_timeout,
                max_queue_size: config.max_queue_size,
                max_export_batch_size: config.max_export_batch_size,
            },
        }
    }
}

/// One batched signal's way out: its bounded queue and its batch settings.
#[derive(Debug)]
pub(crate) struct Lane<T> {
    pub(crate) queue: Mutex<Queue<T>>,
    /// Signalled when the network task takes items out of the queue.
    pub(crate) room: Notify,
    pub(crate) batching: Batching,
}

impl<T: Batched> Lane<T> {
    pub(crate) fn new(config: &ResolvedConfig) -> Self {
        let batching = Batching::of(config, T::SIGNAL);
        Self {
            queue: Mutex::new(Queue::new(batching.max_queue_size)),
            room: Notify::new(),
            batching,
        }
    }
}
