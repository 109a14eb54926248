//! The traced channel: tokio's bounded `mpsc`, each message carrying its sender's
//! context to the `process` span its receiver handles it in.

use super::destination::Destination;
use super::process::{Delivery, ProcessError, ProcessOutput};
use crate::Context;
use std::fmt;
use std::future::Future;
use tokio::sync::mpsc;

/// A bounded channel (tokio's `mpsc`, `capacity` messages) whose messages carry the
/// context current where they were sent (span, baggage, bound fields): the receiver
/// handles each in a `process {destination}` span of the sender's trace
/// ([`Received::process`]). Counts messages in the messaging metrics of `destination`.
///
/// # Panics
///
/// If `capacity` is 0, as tokio's `mpsc::channel`.
///
/// ```
/// use telem::messaging::{channel, Destination};
/// use telem::prelude::*;
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let test = telem::testing::TestPipeline::start();
/// let (tx, mut rx) = channel::<u64>(Destination::new("tokio", "reindex"), 64);
/// let worker = telem::spawn(async move {
///     while let Some(job) = rx.recv().await {
///         // In `process reindex`, child of the span that sent the job.
///         job.process(|book| async move { assert!(book > 0) }).await.unwrap();
///     }
/// });
/// let tracer = telem::Tracer::new("doc");
/// async { tx.send(7).await.unwrap() }.in_span(tracer.span("request").start_detached()).await;
/// drop(tx);
/// worker.await.unwrap();
/// # test.spans().await.named("process reindex").assert_parent("request");
/// # }
/// ```
pub fn channel<T>(destination: Destination, capacity: usize) -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = mpsc::channel(capacity);
    (
        Sender {
            tx,
            destination: destination.clone(),
        },
        Receiver { rx, destination },
    )
}

/// `error_type` of a message sent to a channel whose receiver is gone.
const CLOSED: &str = "channel_closed";
/// `error_type` of a message `try_send` found no room for.
const FULL: &str = "channel_full";

/// A message and the context it was sent in.
struct Envelope<T> {
    value: T,
    context: Context,
}

/// The sending half of a [`channel`]; clone it for more senders.
pub struct Sender<T> {
    tx: mpsc::Sender<Envelope<T>>,
    destination: Destination,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Self {
            tx: self.tx.clone(),
            destination: self.destination.clone(),
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("destination", &self.destination.name())
            .finish_non_exhaustive()
    }
}

impl<T> Sender<T> {
    /// Sends `value` with the current context, waiting for room if the channel is
    /// full. Fails, giving the value back, if the receiver is gone.
    pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
        let envelope = Envelope {
            value,
            context: Context::current(),
        };
        match self.tx.send(envelope).await {
            Ok(()) => {
                self.count("");
                Ok(())
            }
            Err(mpsc::error::SendError(e)) => {
                self.count(CLOSED);
                Err(SendError(e.value))
            }
        }
    }

    /// Sends `value` with the current context if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        let envelope = Envelope {
            value,
            context: Context::current(),
        };
        match self.tx.try_send(envelope) {
            Ok(()) => {
                self.count("");
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(e)) => {
                self.count(FULL);
                Err(TrySendError::Full(e.value))
            }
            Err(mpsc::error::TrySendError::Closed(e)) => {
                self.count(CLOSED);
                Err(TrySendError::Closed(e.value))
            }
        }
    }

    /// Counts a message sent, or one that could not be (`error_type`).
    fn count(&self, error_type: &str) {
        if let Some(h) = self.destination.handles() {
            h.sent(error_type);
        }
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// The room left for messages now.
    pub fn capacity(&self) -> usize {
        self.tx.capacity()
    }
}

/// The receiving half of a [`channel`].
pub struct Receiver<T> {
    rx: mpsc::Receiver<Envelope<T>>,
    destination: Destination,
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("destination", &self.destination.name())
            .finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// The next message, or `None` once every sender is gone and the channel is empty.
    pub async fn recv(&mut self) -> Option<Received<T>> {
        let Envelope { value, context } = self.rx.recv().await?;
        Some(Received {
            value,
            delivery: Delivery::in_process(self.destination.clone(), context),
        })
    }

    /// Closes the channel: senders fail from now on; messages already sent can still
    /// be received.
    pub fn close(&mut self) {
        self.rx.close();
    }
}

/// A message from a [`channel`], with the context it was sent in.
#[derive(Debug)]
pub struct Received<T> {
    value: T,
    delivery: Delivery,
}

impl<T> Received<T> {
    /// The message.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The message and its [`Delivery`] (to set a timeout, then process it yourself).
    pub fn into_parts(self) -> (T, Delivery) {
        (self.value, self.delivery)
    }

    /// Runs `handler` on the message in the `process {destination}` span, child of the
    /// span current where it was sent: [`Delivery::process`].
    pub async fn process<F, Fut>(self, handler: F) -> Result<Fut::Output, ProcessError>
    where
        F: FnOnce(T) -> Fut,
        Fut: Future,
        Fut::Output: ProcessOutput,
    {
        let value = self.value;
        // The handler is called inside the span (and under `catch_unwind`): what its
        // closure does before its first `.await` belongs to the message too.
        self.delivery
            .process(async move { handler(value).await })
            .await
    }
}

/// [`Sender::send`] failed: the receiver is gone. Holds the message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed: the receiver is gone")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// [`Sender::try_send`] failed. Holds the message.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full now.
    Full(T),
    /// The receiver is gone.
    Closed(T),
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("channel full"),
            Self::Closed(_) => f.write_str("channel closed: the receiver is gone"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}
