//! The bookstore's business metrics, in the global registry beside the HTTP metrics
//! `TelemetryLayer` records and the database metrics the store records, its pool's and
//! its queries' durations (their names are here too, `DB_*`); `/metrics` serves them all.

use crate::store::Genre;
use telem::metrics::global;
use telem::{counter, describe_counter, describe_histogram, histogram};

/// Books shown by `GET /books/{id}`, labelled by genre.
pub const BOOKS_VIEWED: &str = "bookstore_books_viewed_total";
/// Books added by `POST /books`.
pub const BOOKS_CREATED: &str = "bookstore_books_created_total";
/// Books in each `GET /books` answer.
pub const SEARCH_RESULTS: &str = "bookstore_search_results";
/// Text messages echoed on `/ws`.
pub const WS_MESSAGES: &str = "bookstore_ws_messages_total";

/// Database connections of a store's pool, by state (label [`DB_STATE`]: `idle` or
/// `used`): OpenTelemetry's `db.client.connection.count`, a gauge, named without its
/// `_count` suffix, which Prometheus keeps for histograms (see the store's pool module).
pub const DB_CONNECTIONS: &str = "db_client_connections";
/// The most connections a store's pool opens (`db.client.connection.max`).
pub const DB_CONNECTION_MAX: &str = "db_client_connection_max";
/// The fewest idle connections a store's pool keeps open (`db.client.connection.idle.min`).
pub const DB_CONNECTION_IDLE_MIN: &str = "db_client_connection_idle_min";
/// Requests for a connection waiting for one (`db.client.connection.pending_requests`).
pub const DB_CONNECTION_PENDING_REQUESTS: &str = "db_client_connection_pending_requests";
/// How long getting a connection from the pool took, seconds
/// (`db.client.connection.wait_time`).
pub const DB_CONNECTION_WAIT_TIME: &str = "db_client_connection_wait_time_seconds";
/// Requests for a connection that timed out (`db.client.connection.timeouts`).
pub const DB_CONNECTION_TIMEOUTS: &str = "db_client_connection_timeouts_total";
/// The label naming the pool, on every `DB_*` metric (`db.client.connection.pool.name`).
pub const DB_POOL_NAME: &str = "db_client_connection_pool_name";
/// The label of [`DB_CONNECTIONS`] saying `idle` or `used` (`db.client.connection.state`).
pub const DB_STATE: &str = "db_client_connection_state";

/// How long the store's queries took, seconds (`db.client.operation.duration`), by
/// [`DB_SYSTEM_NAME`], [`DB_OPERATION_NAME`], [`DB_COLLECTION_NAME`] and, for a query
/// that failed, [`ERROR_TYPE`] (see the store's operation module).
pub const DB_OPERATION_DURATION: &str = "db_client_operation_duration_seconds";
/// The label of [`DB_OPERATION_DURATION`] naming the database system, `sqlite`
/// (`db.system.name`).
pub const DB_SYSTEM_NAME: &str = "db_system_name";
/// The label of [`DB_OPERATION_DURATION`] naming the operation, `SELECT`, `INSERT` or
/// `UPDATE` (`db.operation.name`).
pub const DB_OPERATION_NAME: &str = "db_operation_name";
/// The label of [`DB_OPERATION_DURATION`] naming the table, `books`, `reviews` or
/// `stock` (`db.collection.name`).
pub const DB_COLLECTION_NAME: &str = "db_collection_name";
/// The label of [`DB_OPERATION_DURATION`] saying why a query failed (`error.type`):
/// SQLite's result code (`1`, `2067`), else `db_error`; empty for a query that succeeded.
pub const ERROR_TYPE: &str = "error_type";

/// Bucket bounds of [`SEARCH_RESULTS`]: a count of books, not the default latency buckets.
const SEARCH_RESULT_BOUNDS: [f64; 7] = [0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0];

/// Describes the metrics and registers the search histogram with its bounds; call it
/// before the first request. Calling it again changes nothing.
pub fn register() {
    describe_counter!(BOOKS_VIEWED, "Books shown, by genre.");
    describe_counter!(BOOKS_CREATED, "Books added.");
    describe_histogram!(SEARCH_RESULTS, "Books in each search answer.");
    describe_counter!(WS_MESSAGES, "Text messages echoed on /ws.");
    // The name and bounds are constants: failing here is a bug in this file.
    global()
        .histogram_family(SEARCH_RESULTS, &[], &SEARCH_RESULT_BOUNDS)
        .expect("a valid histogram name and strictly increasing bounds");
}

/// Counts a book view. Each arm is a literal label value, so each call site caches its
/// counter in a `static`: after the first call an increment is a thread-local add.
pub fn book_viewed(genre: Genre) {
    match genre {
        Genre::Fiction => counter!("bookstore_books_viewed_total", "genre" => "fiction"),
        Genre::Fantasy => counter!("bookstore_books_viewed_total", "genre" => "fantasy"),
        Genre::Science => counter!("bookstore_books_viewed_total", "genre" => "science"),
        Genre::History => counter!("bookstore_books_viewed_total", "genre" => "history"),
    }
    .increment(1);
}

/// Counts a book added.
pub fn book_created() {
    counter!("bookstore_books_created_total").increment(1);
}

/// Records how many books a search returned.
pub fn search_results(books: usize) {
    histogram!("bookstore_search_results").record(books as f64);
}

/// Counts a WebSocket message echoed.
pub fn ws_message() {
    counter!("bookstore_ws_messages_total").increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constants_name_the_metrics_the_macros_record() {
        // The macros need literal names; the constants are for `describe` and tests.
        register();
        book_viewed(Genre::Fantasy);
        book_created();
        search_results(3);
        ws_message();
        let text = String::from_utf8(global().render(telem::metrics::Format::Prometheus))
            .expect("exposition is UTF-8");
        for name in [BOOKS_VIEWED, BOOKS_CREATED, WS_MESSAGES] {
            assert!(
                text.contains(&format!("# TYPE {name} counter")),
                "{name} in\n{text}"
            );
        }
        assert!(text.contains(&format!("{BOOKS_VIEWED}{{genre=\"fantasy\"}} ")));
        assert!(
            text.contains(&format!("{SEARCH_RESULTS}_bucket{{le=\"5.0\"}} ")),
            "the search histogram has the count bounds, not latency ones:\n{text}"
        );
        assert_eq!(global().stats().registration_errors, 0);
    }
}
