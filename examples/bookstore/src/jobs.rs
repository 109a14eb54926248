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
//! Two backends carry the jobs, with the same `process` spans (NATS adds the `send` and
//! `ack` spans drawn above; in process, a job's parent is the span that enqueued it)
//! and the same per-queue metrics
//! (`messaging_client_sent_messages_total`, `messaging_process_duration_seconds` with
//! `error_type` for failed jobs, `telem_messaging_process_retries_total`, ...):
//! - [`Jobs::in_process`]: a traced channel per queue ([`telem::messaging::channel`])
//!   and a worker task each, in this process; what the bookstore falls back to when no
//!   broker answers.
//! - [`Jobs::connect`]: NATS JetStream, through `telem-nats`: a stream for the queues,
//!   a durable consumer per queue, failed jobs retried and dead-lettered after their
//!   last attempt. The trace context travels in the jobs' NATS headers; the request's
//!   bound fields (`request.id`) do not (in process they go with the job), so the jobs'
//!   log records carry the trace ids only.

use crate::store::{ReindexError, Store, StoreError};
use async_nats::jetstream::consumer::{pull, AckPolicy, Consumer};
use async_nats::jetstream::{self, stream};
use async_nats::{ConnectOptions, HeaderMap, ServerAddr};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;
use telem::messaging::{channel, Destination, Received, Receiver, Sender};
use telem_nats::{PublishError, Worker};

/// The queue (`messaging.destination.name`) of [`Job::Reindex`].
pub const REINDEX_QUEUE: &str = "bookstore.jobs.reindex";
/// The queue of [`Job::RefreshRecommendations`].
pub const RECOMMENDATIONS_QUEUE: &str = "bookstore.jobs.recommendations";
/// `messaging.system` of the in-process queues.
pub const IN_PROCESS_SYSTEM: &str = "tokio";
/// Jobs an in-process queue holds before `enqueue` waits for room.
const IN_PROCESS_CAPACITY: usize = 1024;
/// The JetStream stream holding both queues (a work queue: a job is gone once acked).
pub const STREAM: &str = "BOOKSTORE_JOBS";
/// Deliveries of a job before it is dead-lettered (JetStream's `max_deliver`).
pub const MAX_DELIVERIES: i64 = 3;
/// How long a failed job waits before its next delivery.
pub const RETRY_DELAY: Duration = Duration::from_secs(1);
/// How long a job may run before it fails with a timeout (and is retried).
pub const JOB_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting to NATS may take at start before the bookstore falls back to
/// in-process jobs.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

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

#[expect(
    clippy::large_enum_variant,
    reason = "one per process, behind the Arc of `Jobs`"
)]
enum Backend {
    InProcess {
        reindex: Sender<Job>,
        recommendations: Sender<Job>,
    },
    Nats {
        js: jetstream::Context,
        reindex: Destination,
        recommendations: Destination,
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
        let backend = Arc::downgrade(&jobs.backend);
        tokio::spawn(work_in_process(reindex_rx, store.clone(), backend.clone()));
        tokio::spawn(work_in_process(recommendations_rx, store, backend));
        jobs
    }

    /// Jobs through the NATS server at `url` (JetStream): the stream [`STREAM`] with a
    /// subject per queue, a durable consumer per queue (named after the queue's last
    /// part: `reindex`, `recommendations`), and a [`Worker`] task per queue, started
    /// here on the current tokio runtime. A failed job is delivered again after
    /// [`RETRY_DELAY`], up to [`MAX_DELIVERIES`] times, then dead-lettered (its last
    /// `process` span says so).
    ///
    /// # Errors
    ///
    /// The server did not answer within [`CONNECT_TIMEOUT`] (or refused at once), or
    /// has no JetStream, or the stream or a consumer could not be made.
    pub async fn connect(url: &str, store: Store) -> Result<Self, ConnectError> {
        let client = ConnectOptions::new()
            .name("bookstore")
            .connection_timeout(CONNECT_TIMEOUT)
            .connect(url)
            .await
            .map_err(|e| ConnectError::new("connecting", e))?;
        let js = jetstream::new(client);
        let server = url.parse::<ServerAddr>().ok();
        let destination = |queue: &'static str| {
            let destination = Destination::new("nats", queue);
            match &server {
                Some(addr) => destination.with_server(addr.host().to_owned(), addr.port()),
                None => destination,
            }
        };
        // Both consumers first: a failure here leaves no worker behind.
        let mut workers = Vec::new();
        for queue in [REINDEX_QUEUE, RECOMMENDATIONS_QUEUE] {
            let group = consumer_name(queue);
            let consumer = get_consumer(&js, queue).await?;
            let destination = destination(queue).with_consumer_group(group);
            workers.push((queue, destination, consumer));
        }
        let jobs = Self {
            backend: Arc::new(Backend::Nats {
                js: js.clone(),
                reindex: destination(REINDEX_QUEUE),
                recommendations: destination(RECOMMENDATIONS_QUEUE),
            }),
        };
        for (queue, destination, consumer) in workers {
            tokio::spawn(work_on_nats(
                js.clone(),
                queue,
                destination,
                consumer,
                store.clone(),
                Arc::downgrade(&jobs.backend),
            ));
        }
        Ok(jobs)
    }

    /// `in-process` or `nats`.
    pub fn backend_name(&self) -> &'static str {
        match *self.backend {
            Backend::InProcess { .. } => "in-process",
            Backend::Nats { .. } => "nats",
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
            Backend::Nats {
                js,
                reindex,
                recommendations,
            } => {
                let destination = match job {
                    Job::Reindex { .. } => reindex,
                    Job::RefreshRecommendations { .. } => recommendations,
                };
                let payload = serde_json::to_vec(&job).map_err(|_| JobError::Encode)?;
                telem_nats::publish(
                    js,
                    destination,
                    job.queue(),
                    HeaderMap::new(),
                    payload.into(),
                )
                .await
                .map(drop)
                .map_err(JobError::from)
            }
        }
    }
}

/// The durable consumer of `queue` (named after its last part: `reindex`,
/// `recommendations`), and the stream [`STREAM`] holding both queues, made if missing.
async fn get_consumer(
    js: &jetstream::Context,
    queue: &'static str,
) -> Result<Consumer<pull::Config>, ConnectError> {
    let stream = js
        .get_or_create_stream(stream::Config {
            name: STREAM.to_owned(),
            subjects: vec![REINDEX_QUEUE.to_owned(), RECOMMENDATIONS_QUEUE.to_owned()],
            retention: stream::RetentionPolicy::WorkQueue,
            ..Default::default()
        })
        .await
        .map_err(|e| ConnectError::new("making the stream", e))?;
    let name = consumer_name(queue);
    stream
        .get_or_create_consumer(
            name,
            pull::Config {
                durable_name: Some(name.to_owned()),
                filter_subject: queue.to_owned(),
                ack_policy: AckPolicy::Explicit,
                max_deliver: MAX_DELIVERIES,
                // Longer than a job may run: the server waits for the worker's verdict.
                ack_wait: JOB_TIMEOUT + Duration::from_secs(5),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| ConnectError::new("making a consumer", e))
}

fn consumer_name(queue: &'static str) -> &'static str {
    queue.rsplit('.').next().unwrap_or(queue)
}

/// The NATS worker of one queue, one job at a time (a job pulled ahead would wait with
/// its `ack_wait` running). `Worker::run` ends only if pulling fails (the connection
/// is gone for good, the consumer or the stream deleted): then it is reported, and
/// after a pause the consumer is made again if needed and a new worker starts. Ends
/// when the bookstore's `Jobs` are gone.
async fn work_on_nats(
    js: jetstream::Context,
    queue: &'static str,
    destination: Destination,
    mut consumer: Consumer<pull::Config>,
    store: Store,
    jobs: Weak<Backend>,
) {
    loop {
        let handler = |message: async_nats::Message| {
            let (store, jobs) = (store.clone(), jobs.clone());
            async move {
                let job: Job = serde_json::from_slice(&message.payload)
                    .map_err(|e| JobFailed::Decode(e.to_string()))?;
                run(job, store, &jobs).await
            }
        };
        let stopped = match Worker::new(destination.clone(), consumer.clone()) {
            Ok(worker) => {
                let worker = worker
                    .with_batch_size(1)
                    .with_retry_delay(RETRY_DELAY)
                    .with_timeout(JOB_TIMEOUT);
                worker.run(handler).await.err().map(|e| e.to_string())
            }
            Err(e) => Some(e.to_string()),
        };
        if jobs.strong_count() == 0 {
            return;
        }
        if let Some(e) = stopped {
            telem::error!(
                "error.type" = "worker_stopped",
                queue,
                "a job worker stopped: {e}; starting it again in 5 s"
            );
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        match get_consumer(&js, queue).await {
            Ok(again) => consumer = again,
            Err(e) => telem::error!(
                "error.type" = "worker_stopped",
                queue,
                "the job queue's consumer is unavailable: {e}"
            ),
        }
    }
}

/// The in-process worker of one queue: each job in a `process` span of its sender's
/// trace. Ends when the bookstore's `Jobs` (which hold the senders) are gone: it keeps
/// only a weak reference, to enqueue follow-up jobs.
async fn work_in_process(mut queue: Receiver<Job>, store: Store, jobs: Weak<Backend>) {
    while let Some(job) = queue.recv().await {
        let _: Result<_, _> = process(job, &store, &jobs).await;
    }
}

async fn process(
    job: Received<Job>,
    store: &Store,
    jobs: &Weak<Backend>,
) -> Result<Result<(), JobFailed>, telem::messaging::ProcessError> {
    job.process(|job| async move { run(job, store.clone(), jobs).await })
        .await
}

/// What a job does; its errors fail its `process` span.
/// `jobs` is where follow-up jobs go; if the bookstore's `Jobs` are gone by then (it is
/// shutting down), enqueueing one fails with [`JobError::QueueClosed`].
async fn run(job: Job, store: Store, jobs: &Weak<Backend>) -> Result<(), JobFailed> {
    match job {
        Job::Reindex { book } => {
            store.reindex(book).await?;
            let jobs = jobs.upgrade().ok_or(JobError::QueueClosed)?;
            Jobs { backend: jobs }
                .enqueue(Job::RefreshRecommendations { book })
                .await?;
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
    /// The job could not be written as JSON.
    #[error("the job could not be encoded")]
    Encode,
    /// NATS did not take the job (its `error_type` and message).
    #[error("{1}")]
    Publish(&'static str, String),
}

impl From<PublishError> for JobError {
    fn from(e: PublishError) -> Self {
        JobError::Publish(e.error_type(), e.to_string())
    }
}

impl JobError {
    /// A short, stable name for the kind of failure.
    pub const fn error_type(&self) -> &'static str {
        match self {
            JobError::QueueClosed => "queue_closed",
            JobError::Encode => "encode",
            JobError::Publish(kind, _) => kind,
        }
    }
}

/// [`Jobs::connect`] failed: what it was doing, and async-nats's error.
#[derive(Debug, thiserror::Error)]
#[error("{doing} failed: {source}")]
pub struct ConnectError {
    doing: &'static str,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl ConnectError {
    fn new(doing: &'static str, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self {
            doing,
            source: Box::new(source),
        }
    }
}

/// `url` without its credentials (`nats://user:secret@host` → `nats://***@host`), for
/// messages and `Debug`.
pub fn redacted(url: &str) -> Cow<'_, str> {
    match url.rfind('@') {
        Some(at) => {
            let start = url.find("://").map_or(0, |i| i + 3);
            Cow::Owned(format!("{}***{}", &url[..start], &url[at..]))
        }
        None => Cow::Borrowed(url),
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
    /// The message is not a job.
    #[error("not a job: {0}")]
    Decode(String),
}
