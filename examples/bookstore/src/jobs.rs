//! Background jobs, in one trace with the request that asked for them.
//!
//! `POST /books/{id}/reindex` enqueues a [`Job::Reindex`]; the worker that processes
//! it rebuilds the book's keywords ([`Store::reindex`]) and enqueues a
//! [`Job::RefreshRecommendations`], which another worker processes
//! ([`Store::recommendations`]). Each job is sent in a `send {queue}` producer span that
//! writes its trace context into the job's headers, and processed in a
//! `process {queue}` consumer span, child of it (see [`telem::messaging`]), so the
//! request, both jobs and their database spans are one trace:
//!
//! ```text
//! POST /books/{id}/reindex [server]
//! └─ send bookstore.jobs.reindex [producer]
//!    └─ process bookstore.jobs.reindex [consumer]
//!       └─ Store::reindex
//!       │  ├─ SELECT books [client]
//!       │  └─ UPDATE books [client]
//!       └─ send bookstore.jobs.recommendations [producer]
//!          └─ process bookstore.jobs.recommendations [consumer]
//!             └─ SELECT books [client]
//! ```
//!
//! Two backends carry the jobs, with the same spans and the same per-queue metrics
//! (`messaging_client_sent_messages_total`, `messaging_process_duration_seconds` with
//! `error_type` for failed jobs, `telem_messaging_process_retries_total`, ...):
//! - [`Jobs::in_process`]: a traced channel per queue ([`telem::messaging::channel`])
//!   and a worker task each, in this process; what the bookstore falls back to when no
//!   broker answers.
//! - [`Jobs::nats`]: NATS JetStream, through `telem-nats`: a stream for the queues, a
//!   durable consumer per queue, failed jobs retried and dead-lettered after their last
//!   attempt.

use crate::store::{ReindexError, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;
use telem::messaging::{channel, Destination, Received, Receiver, Sender};

/// The queue (`messaging.destination.name`) of [`Job::Reindex`].
pub const REINDEX_QUEUE: &str = "bookstore.jobs.reindex";
/// The queue of [`Job::RefreshRecommendations`].
pub const RECOMMENDATIONS_QUEUE: &str = "bookstore.jobs.recommendations";
/// `messaging.system` of the in-process queues.
pub const IN_PROCESS_SYSTEM: &str = "tokio";
/// Jobs an in-process queue holds before `enqueue` waits for room.
const IN_PROCESS_CAPACITY: usize = 1024;

/// A background job, as it travels in its message (JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "job")]
pub enum Job {
    /// Rebuild a book's search keywords, then refresh its recommendations.
    Reindex {
        /// The book.
        book: u64,
    },
    /// Work out the books to recommend beside a book.
    RefreshRecommendations {
        /// The book.
        book: u64,
    },
}

impl Job {
    /// The queue it goes to.
    pub const fn queue(&self) -> &'static str {
        match self {
            Job::Reindex { .. } => REINDEX_QUEUE,
            Job::RefreshRecommendations { .. } => RECOMMENDATIONS_QUEUE,
        }
    }
}

/// Where jobs go: cheap to clone, shared by the routes and the workers.
#[derive(Clone)]
pub struct Jobs {
    backend: Arc<Backend>,
}

enum Backend {
    InProcess {
        reindex: Sender<Job>,
        recommendations: Sender<Job>,
    },
}

impl fmt::Debug for Jobs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jobs")
            .field("backend", &self.backend_name())
            .finish()
    }
}

impl Jobs {
    /// Jobs carried by traced channels in this process, processed by a worker task per
    /// queue (started here, on the current tokio runtime).
    pub fn in_process(store: Store) -> Self {
        let queue = |name| {
            channel::<Job>(
                Destination::new(IN_PROCESS_SYSTEM, name),
                IN_PROCESS_CAPACITY,
            )
        };
        let (reindex, reindex_rx) = queue(REINDEX_QUEUE);
        let (recommendations, recommendations_rx) = queue(RECOMMENDATIONS_QUEUE);
        let jobs = Self {
            backend: Arc::new(Backend::InProcess {
                reindex,
                recommendations,
            }),
        };
        tokio::spawn(work_in_process(reindex_rx, store.clone(), jobs.clone()));
        tokio::spawn(work_in_process(recommendations_rx, store, jobs.clone()));
        jobs
    }

    /// `in-process` or `nats`.
    pub fn backend_name(&self) -> &'static str {
        match *self.backend {
            Backend::InProcess { .. } => "in-process",
        }
    }

    /// Sends `job` to its queue, with the current trace context.
    pub async fn enqueue(&self, job: Job) -> Result<(), JobError> {
        match &*self.backend {
            Backend::InProcess {
                reindex,
                recommendations,
            } => {
                let queue = match job {
                    Job::Reindex { .. } => reindex,
                    Job::RefreshRecommendations { .. } => recommendations,
                };
                queue.send(job).await.map_err(|_| JobError::QueueClosed)
            }
        }
    }
}

/// The in-process worker of one queue: each job in a `process` span of its sender's
/// trace. Ends when every sender is gone.
async fn work_in_process(mut queue: Receiver<Job>, store: Store, jobs: Jobs) {
    while let Some(job) = queue.recv().await {
        let _: Result<_, _> = process(job, &store, &jobs).await;
    }
}

async fn process(
    job: Received<Job>,
    store: &Store,
    jobs: &Jobs,
) -> Result<Result<(), JobFailed>, telem::messaging::ProcessError> {
    job.process(|job| run(job, store.clone(), jobs.clone()))
        .await
}

/// What a job does; its errors fail its `process` span.
pub(crate) async fn run(job: Job, store: Store, jobs: Jobs) -> Result<(), JobFailed> {
    match job {
        Job::Reindex { book } => {
            store.reindex(book).await?;
            jobs.enqueue(Job::RefreshRecommendations { book }).await?;
        }
        Job::RefreshRecommendations { book } => {
            store.recommendations(book).await?;
        }
    }
    Ok(())
}

/// A job could not be enqueued.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The in-process queue's worker is gone (the runtime is shutting down).
    #[error("the job queue is closed")]
    QueueClosed,
}

impl JobError {
    /// A short, stable name for the kind of failure.
    pub const fn error_type(&self) -> &'static str {
        match self {
            JobError::QueueClosed => "queue_closed",
        }
    }
}

/// A job that failed: its `process` span's error.
#[derive(Debug, thiserror::Error)]
pub enum JobFailed {
    /// The reindex failed.
    #[error(transparent)]
    Reindex(#[from] ReindexError),
    /// A query failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The follow-up job could not be enqueued.
    #[error(transparent)]
    Enqueue(#[from] JobError),
}
