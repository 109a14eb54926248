//! The messaging metrics, in Prometheus naming, and each destination's handles.

use super::destination::Inner;
use super::operation::OperationType;
use crate::metrics::{Counter, Family, Histogram, Registry};
use std::sync::OnceLock;

/// `messaging.client.operation.duration`: send, receive and settle operations, seconds.
pub const OPERATION_DURATION: &str = "messaging_client_operation_duration_seconds";
/// `messaging.process.duration`: handlers' runs, seconds.
pub const PROCESS_DURATION: &str = "messaging_process_duration_seconds";
/// `messaging.client.sent.messages`: messages the producer tried to send.
pub const SENT_MESSAGES: &str = "messaging_client_sent_messages_total";
/// `messaging.client.consumed.messages`: messages handed to the application.
pub const CONSUMED_MESSAGES: &str = "messaging_client_consumed_messages_total";
/// Deliveries after a message's first (not in the conventions).
pub const RETRIES: &str = "telem_messaging_process_retries_total";
/// Messages whose last attempt failed (not in the conventions).
pub const DEAD_LETTERS: &str = "telem_messaging_process_dead_letters_total";

/// The conventions' bucket boundaries for both duration histograms, seconds.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

const SYSTEM: &str = "messaging_system";
const DESTINATION: &str = "messaging_destination_name";
const OPERATION_NAME: &str = "messaging_operation_name";
const OPERATION_TYPE: &str = "messaging_operation_type";
const GROUP: &str = "messaging_consumer_group_name";
const ERROR_TYPE: &str = "error_type";
const SERVER_ADDRESS: &str = "server_address";
const SERVER_PORT: &str = "server_port";

/// Handles cached per operation name beyond `send` (an `ack`, a `nak`, a `fetch`).
const CACHED_OPERATIONS: usize = 4;

/// One destination's metric families, and the handles of its common series looked up
/// once, so recording a success takes no family lookup.
#[derive(Debug)]
pub(crate) struct Handles {
    labels: Labels,
    operation: Family<Histogram>,
    process: Family<Histogram>,
    sent: Family<Counter>,
    send_ok: Histogram,
    sent_ok: Counter,
    process_ok: Histogram,
    consumed: Counter,
    retries: Counter,
    dead_letters: Counter,
    others: [OnceLock<((OperationType, &'static str), Histogram)>; CACHED_OPERATIONS],
}

#[derive(Debug)]
struct Labels {
    system: String,
    destination: String,
    group: String,
    /// `server.address` and `server.port` (empty if the destination has none).
    address: String,
    port: String,
}

impl Handles {
    /// `None` if `registry` refuses a name (taken by a metric of another shape).
    pub(crate) fn new(registry: &Registry, inner: &Inner) -> Option<Self> {
        let labels = Labels {
            system: inner.system.to_string(),
            destination: inner.name.to_string(),
            group: inner.group.as_deref().unwrap_or("").to_owned(),
            address: inner
                .server
                .as_ref()
                .map_or_else(String::new, |(a, _)| a.to_string()),
            port: inner
                .server
                .as_ref()
                .map_or_else(String::new, |(_, p)| p.to_string()),
        };
        let operation = registry
            .histogram_family(
                OPERATION_DURATION,
                &[
                    SYSTEM,
                    DESTINATION,
                    OPERATION_NAME,
                    OPERATION_TYPE,
                    GROUP,
                    ERROR_TYPE,
                    SERVER_ADDRESS,
                    SERVER_PORT,
                ],
                &DURATION_BUCKETS,
            )
            .ok()?;
        let process = registry
            .histogram_family(
                PROCESS_DURATION,
                &[
                    SYSTEM,
                    DESTINATION,
                    OPERATION_NAME,
                    GROUP,
                    ERROR_TYPE,
                    SERVER_ADDRESS,
                    SERVER_PORT,
                ],
                &DURATION_BUCKETS,
            )
            .ok()?;
        let sent = registry
            .counter_family(
                SENT_MESSAGES,
                &[
                    SYSTEM,
                    DESTINATION,
                    OPERATION_NAME,
                    ERROR_TYPE,
                    SERVER_ADDRESS,
                    SERVER_PORT,
                ],
            )
            .ok()?;
        let consumed = registry
            .counter_family(
                CONSUMED_MESSAGES,
                &[
                    SYSTEM,
                    DESTINATION,
                    OPERATION_NAME,
                    GROUP,
                    SERVER_ADDRESS,
                    SERVER_PORT,
                ],
            )
            .ok()?;
        let retries = registry
            .counter_family(RETRIES, &[SYSTEM, DESTINATION, GROUP])
            .ok()?;
        let dead_letters = registry
            .counter_family(DEAD_LETTERS, &[SYSTEM, DESTINATION, GROUP])
            .ok()?;
        describe(registry);
        let (s, d, g) = (&*labels.system, &*labels.destination, &*labels.group);
        let (a, p) = (&*labels.address, &*labels.port);
        Some(Self {
            send_ok: operation.with_labels(&[s, d, "send", "send", "", "", a, p]),
            sent_ok: sent.with_labels(&[s, d, "send", "", a, p]),
            process_ok: process.with_labels(&[s, d, "process", g, "", a, p]),
            consumed: consumed.with_labels(&[s, d, "process", g, a, p]),
            retries: retries.with_labels(&[s, d, g]),
            dead_letters: dead_letters.with_labels(&[s, d, g]),
            operation,
            process,
            sent,
            labels,
            others: Default::default(),
        })
    }

    /// A send, receive or settle operation ended after `seconds`; `error` is empty
    /// for a success.
    pub(crate) fn record_operation(
        &self,
        kind: OperationType,
        name: &'static str,
        error: &str,
        sent: bool,
        seconds: f64,
    ) {
        let (s, d) = (&*self.labels.system, &*self.labels.destination);
        let (a, p) = (&*self.labels.address, &*self.labels.port);
        // A producer's group is not its own: the send series have none.
        let g = if kind == OperationType::Send {
            ""
        } else {
            &*self.labels.group
        };
        if kind == OperationType::Send {
            if error.is_empty() && name == "send" {
                self.send_ok.record(seconds);
                self.sent_ok.increment(1);
                return;
            }
            if sent {
                self.sent
                    .with_labels(&[s, d, name, error, a, p])
                    .increment(1);
            }
        }
        if error.is_empty() {
            if let Some(h) = self.cached(kind, name) {
                h.record(seconds);
                return;
            }
        }
        self.operation
            .with_labels(&[s, d, name, kind.as_str(), g, error, a, p])
            .record(seconds);
    }

    /// The success histogram of `kind` and `name`, from a free slot the first time;
    /// `None` once the slots are taken by others.
    fn cached(&self, kind: OperationType, name: &'static str) -> Option<&Histogram> {
        super::cached(&self.others, (kind, name), || {
            let (s, d, g) = (
                &*self.labels.system,
                &*self.labels.destination,
                &*self.labels.group,
            );
            let (a, p) = (&*self.labels.address, &*self.labels.port);
            self.operation
                .with_labels(&[s, d, name, kind.as_str(), g, "", a, p])
        })
    }

    /// A message sent without an operation to time (the traced channel); `error` is
    /// empty for a success.
    pub(crate) fn sent(&self, error: &str) {
        if error.is_empty() {
            self.sent_ok.increment(1);
        } else {
            let (s, d) = (&*self.labels.system, &*self.labels.destination);
            let (a, p) = (&*self.labels.address, &*self.labels.port);
            self.sent
                .with_labels(&[s, d, "send", error, a, p])
                .increment(1);
        }
    }

    /// `count` messages handed to the application; `delivery_count` above 1 is a retry.
    pub(crate) fn consumed(&self, count: u64, delivery_count: u32) {
        self.consumed.increment(count);
        if delivery_count > 1 {
            self.retries.increment(1);
        }
    }

    /// A handler ran for `seconds`; `error` is empty for a success.
    pub(crate) fn record_process(&self, error: &str, dead_letter: bool, seconds: f64) {
        if error.is_empty() {
            self.process_ok.record(seconds);
            return;
        }
        let (s, d, g) = (
            &*self.labels.system,
            &*self.labels.destination,
            &*self.labels.group,
        );
        let (a, p) = (&*self.labels.address, &*self.labels.port);
        self.process
            .with_labels(&[s, d, "process", g, error, a, p])
            .record(seconds);
        if dead_letter {
            self.dead_letters.increment(1);
        }
    }
}

fn describe(registry: &Registry) {
    let _ = registry.describe_with_unit(
        OPERATION_DURATION,
        "seconds",
        "Duration of messaging operations initiated by a producer or consumer client.",
    );
    let _ = registry.describe_with_unit(
        PROCESS_DURATION,
        "seconds",
        "Duration of processing operations.",
    );
    let _ = registry.describe(
        SENT_MESSAGES,
        "Messages a producer attempted to send to the broker.",
    );
    let _ = registry.describe(CONSUMED_MESSAGES, "Messages delivered to the application.");
    let _ = registry.describe(RETRIES, "Deliveries of a message after its first.");
    let _ = registry.describe(
        DEAD_LETTERS,
        "Messages whose last delivery failed, no longer retried.",
    );
}
