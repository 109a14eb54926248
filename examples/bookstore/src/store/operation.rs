//! The store's operations and their duration: OpenTelemetry's stable
//! `db.client.operation.duration` in Prometheus form,
//! [`DB_OPERATION_DURATION`] (`db_client_operation_duration_seconds`), a histogram with
//! the conventions' advised bucket bounds, labelled as the attributes it asks for:
//!
//! | label | OpenTelemetry | value |
//! | --- | --- | --- |
//! | [`DB_SYSTEM_NAME`] | `db.system.name` | `sqlite` |
//! | [`DB_OPERATION_NAME`] | `db.operation.name` | `SELECT`, `INSERT`, `UPDATE` |
//! | [`DB_COLLECTION_NAME`] | `db.collection.name` | `books`, `reviews`, `stock` |
//! | [`ERROR_TYPE`] | `error.type` | a failed query's: SQLite's result code (`1`, `2067`, as the conventions ask when the database gives one), else `db_error`; empty for a query that succeeded, which Prometheus reads as no label |
//!
//! What is timed is the query, from its first poll to its answer: each repository
//! function's statement, sent by `traced` (the wait for a connection before it is
//! [`DB_CONNECTION_WAIT_TIME`], and an acquire that times out is counted in
//! [`DB_CONNECTION_TIMEOUTS`], not here). So a repository span lasts a little longer than
//! the query it sent. The seed's statements are not recorded (they are set-up, not a
//! request's work), nor is a query whose future is dropped before it answers.
//!
//! Deliberately not as the conventions say:
//! - A series that succeeded has `error_type=""`: a family's label names are fixed, and
//!   Prometheus treats an empty label as an absent one (so does the OTLP export, which
//!   leaves it out).
//! - `db.response.status_code` (conditionally required on a failure with a status code)
//!   is not a label of its own: for SQLite it is the value `error_type` already has.
//!
//! [`DB_OPERATION_DURATION`]: crate::metrics::DB_OPERATION_DURATION
//! [`DB_SYSTEM_NAME`]: crate::metrics::DB_SYSTEM_NAME
//! [`DB_OPERATION_NAME`]: crate::metrics::DB_OPERATION_NAME
//! [`DB_COLLECTION_NAME`]: crate::metrics::DB_COLLECTION_NAME
//! [`ERROR_TYPE`]: crate::metrics::ERROR_TYPE
//! [`DB_CONNECTION_WAIT_TIME`]: crate::metrics::DB_CONNECTION_WAIT_TIME
//! [`DB_CONNECTION_TIMEOUTS`]: crate::metrics::DB_CONNECTION_TIMEOUTS

use super::error;
use crate::metrics::{
    DB_COLLECTION_NAME, DB_OPERATION_DURATION, DB_OPERATION_NAME, DB_SYSTEM_NAME, ERROR_TYPE,
};
use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;
use telem::metrics::{global, Family, Histogram, MetricError};

/// `db.system.name` of every operation.
pub(super) const SYSTEM: &str = "sqlite";

/// Bucket bounds of [`DB_OPERATION_DURATION`](crate::metrics::DB_OPERATION_DURATION),
/// in seconds: the ones `db.client.operation.duration` advises.
pub(crate) const DURATION_BOUNDS: [f64; 9] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0];

/// `error_type` of a query that failed without a result code of the database's:
/// [`StoreError::error_type`](super::StoreError::error_type) of a database error.
const DB_ERROR: &str = "db_error";

/// One kind of query the store sends: its `db.operation.name` and `db.collection.name`,
/// and its series for queries that succeed, looked up once.
pub(super) struct Operation {
    name: &'static str,
    collection: &'static str,
    succeeded: OnceLock<Option<Histogram>>,
}

/// `SELECT` on `books`: a search or a lookup by id.
pub(super) static SELECT_BOOKS: Operation = Operation::new("SELECT", "books");
/// `INSERT` on `books`: a new book.
pub(super) static INSERT_BOOKS: Operation = Operation::new("INSERT", "books");
/// `UPDATE` on `books`: a book's keywords, by the reindex.
pub(super) static UPDATE_BOOKS: Operation = Operation::new("UPDATE", "books");
/// `SELECT` on `reviews`.
pub(super) static SELECT_REVIEWS: Operation = Operation::new("SELECT", "reviews");
/// `SELECT` on `stock`.
pub(super) static SELECT_STOCK: Operation = Operation::new("SELECT", "stock");

impl Operation {
    pub(super) const fn new(name: &'static str, collection: &'static str) -> Self {
        Self {
            name,
            collection,
            succeeded: OnceLock::new(),
        }
    }

    /// Records one query of this operation that took `took` and failed with `error`, if
    /// it did.
    pub(super) fn record(&self, took: Duration, error: Option<&sqlx::Error>) {
        let Some(family) = family() else {
            return;
        };
        let series = match error {
            None => self
                .succeeded
                .get_or_init(|| self.series(family, "").ok())
                .clone(),
            Some(error) => self.series(family, &error_type(error)).ok(),
        };
        if let Some(series) = series {
            series.record(took.as_secs_f64());
        }
    }

    fn series(
        &self,
        family: &Family<Histogram>,
        error_type: &str,
    ) -> Result<Histogram, MetricError> {
        family.get(&[SYSTEM, self.name, self.collection, error_type])
    }
}

/// `error.type` of a query that failed: the database's result code if it gave one.
fn error_type(error: &sqlx::Error) -> Cow<'_, str> {
    error::status_code(error).unwrap_or(Cow::Borrowed(DB_ERROR))
}

/// The histogram family in the global registry, registered and described at first use;
/// `None` (and one warning) if the name is taken by a metric of another shape.
fn family() -> Option<&'static Family<Histogram>> {
    static FAMILY: OnceLock<Option<Family<Histogram>>> = OnceLock::new();
    FAMILY
        .get_or_init(|| match register() {
            Ok(family) => Some(family),
            Err(e) => {
                telem::warn!("database operation metrics off: {e}");
                None
            }
        })
        .as_ref()
}

fn register() -> Result<Family<Histogram>, MetricError> {
    let registry = global();
    let family = registry.histogram_family(
        DB_OPERATION_DURATION,
        &[
            DB_SYSTEM_NAME,
            DB_OPERATION_NAME,
            DB_COLLECTION_NAME,
            ERROR_TYPE,
        ],
        &DURATION_BOUNDS,
    )?;
    registry.describe_with_unit(
        DB_OPERATION_DURATION,
        "seconds",
        "Duration of database client operations: the store's queries, by operation and \
         collection, and error type when they failed (OpenTelemetry \
         db.client.operation.duration).",
    )?;
    Ok(family)
}
