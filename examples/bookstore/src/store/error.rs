//! What can go wrong in the store: [`StoreError`] for any query, [`ReindexError`] for
//! the background reindex.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

/// A query the store could not run. Cheap to clone: the database's error is shared.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Every connection of the pool stayed busy for the whole acquire timeout (counted in
    /// `db_client_connection_timeouts_total`): the database is overloaded.
    #[error(
        "no database connection came free within {0:?}: the database is overloaded, try again later"
    )]
    PoolTimedOut(Duration),
    /// The database failed, or answered a row the store cannot read.
    #[error("the database failed: {0}")]
    Database(Arc<sqlx::Error>),
}

impl StoreError {
    /// A short, stable name for the kind of failure: the `error.type` of its log record.
    pub const fn error_type(&self) -> &'static str {
        match self {
            StoreError::PoolTimedOut(_) => "db_pool_timed_out",
            StoreError::Database(_) => "db_error",
        }
    }

    /// A row that does not fit the model (an id out of range, an unknown genre):
    /// the schema's constraints should make it impossible.
    pub(super) fn bad_row(what: String) -> Self {
        StoreError::Database(Arc::new(sqlx::Error::Decode(what.into())))
    }
}

/// The database's own result code in `error`, when it gave one: SQLite's extended result
/// code in decimal (`"1"`, an SQL error; `"2067"`, a UNIQUE constraint failed), what
/// OpenTelemetry's database conventions call `db.response.status_code`.
pub(super) fn status_code(error: &sqlx::Error) -> Option<Cow<'_, str>> {
    match error {
        sqlx::Error::Database(e) => e.code(),
        _ => None,
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        StoreError::Database(Arc::new(error))
    }
}

/// Why [`Store::reindex`](super::Store::reindex) failed.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReindexError {
    /// There is no book with this id (any more).
    #[error("no book with id {0}")]
    NoSuchBook(u64),
    /// The database did not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ReindexError {
    /// A short, stable name for the kind of failure: the `error.type` of its log record.
    pub const fn error_type(&self) -> &'static str {
        match self {
            ReindexError::NoSuchBook(_) => "book_not_found",
            ReindexError::Store(e) => e.error_type(),
        }
    }
}
