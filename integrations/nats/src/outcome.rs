//! What became of a message the [`Worker`](crate::Worker) processed: [`Outcome`],
//! [`Settlement`], [`Failure`], [`SettleError`].

use std::error::Error;
use std::fmt;
use telem::messaging::ProcessError;

/// How a processed message was settled with the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Settlement {
    /// The handler succeeded: acknowledged (`ack`), the message is done.
    Acked,
    /// The handler failed before the message's last attempt: negatively acknowledged
    /// (`nak`) with the worker's retry delay, the server delivers it again.
    Retried,
    /// The handler failed on the message's last attempt (its delivery count reached the
    /// consumer's `max_deliver`): terminated (`term`), the server stops delivering it.
    DeadLettered,
}

impl Settlement {
    /// The acknowledgement's name, as its settle span names it: `ack`, `nak` or `term`.
    pub const fn operation(self) -> &'static str {
        match self {
            Self::Acked => "ack",
            Self::Retried => "nak",
            Self::DeadLettered => "term",
        }
    }
}

/// Why a handler failed: the error it returned, or the panic or timeout that stopped
/// it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Failure<E> {
    /// The handler returned this error.
    Error(E),
    /// The handler panicked or ran past the worker's [timeout](crate::Worker::with_timeout).
    Process(ProcessError),
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Error(e) => write!(f, "the handler failed: {e}"),
            Self::Process(ProcessError::Panicked(message)) => {
                write!(f, "the handler panicked: {message}")
            }
            Self::Process(e) => write!(f, "the handler failed: {e}"),
        }
    }
}

impl<E: Error + 'static> Error for Failure<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Error(e) => Some(e),
            Self::Process(e) => Some(e),
        }
    }
}

/// What [`Worker::process`](crate::Worker::process) did with a message: how it was
/// settled, why the handler failed if it did, and the settlement's own error if the
/// server could not be told (the message is then delivered again after the consumer's
/// `ack_wait`).
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome<E> {
    /// How the message was settled.
    pub settlement: Settlement,
    /// The handler's failure, `None` for [`Settlement::Acked`].
    pub failure: Option<Failure<E>>,
    /// The settlement's error, if sending it failed.
    pub settle_error: Option<SettleError>,
}

impl<E> Outcome<E> {
    /// Whether the handler succeeded and the acknowledgement was sent (NATS does not
    /// answer it: the server may still deliver the message again if it never arrives).
    pub fn is_acked(&self) -> bool {
        self.settlement == Settlement::Acked && self.settle_error.is_none()
    }
}

/// The server could not be told how a message was settled: it delivers the message
/// again after the consumer's `ack_wait`.
#[derive(Debug, thiserror::Error)]
#[error("sending the message's {} failed: the server delivers it again after the consumer's ack_wait", .settlement.operation())]
pub struct SettleError {
    pub(crate) settlement: Settlement,
    #[source]
    pub(crate) source: async_nats::Error,
}

impl SettleError {
    /// The settlement that was not sent.
    pub fn settlement(&self) -> Settlement {
        self.settlement
    }
}
