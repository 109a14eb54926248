//! The store: books, their reviews and stock in SQLite, through an sqlx connection pool.
//!
//! Each [`Store`] opens a database of its own, in memory: a named, shared-cache one
//! (`file:bookstore-<n>?mode=memory&cache=shared`, `n` counting the stores of the
//! process), so every connection of its pool sees the same data and two stores (two
//! tests) never do. It creates the schema at once, and [`Store::seeded`] adds four books,
//! their reviews and stock. SQLite drops an in-memory database with its last connection,
//! so the store holds one connection outside the pool for as long as it lives.
//!
//! Every query runs in a repository function that is a client span, as OpenTelemetry's
//! database conventions describe one: named `{db.operation.name} {db.collection.name}`
//! (`SELECT books`, `INSERT books`, `UPDATE books`, `SELECT reviews`, `SELECT stock`),
//! with `db.system.name = "sqlite"`, `db.operation.name`, `db.collection.name`, and
//! `db.query.text`, the parameterized SQL (values are bound, never in the text): on by
//! default, as the conventions recommend for parameterized text, off for a store made
//! [`with_query_text(false)`](Store::with_query_text) (the bookstore's
//! `BOOKSTORE_DB_QUERY_TEXT=false`). A query that fails ends its span with an error
//! status, an `exception` event and `error.type` (`#[trace(err)]`: the error's type
//! name). The background [`Store::reindex`] is an internal span over two of them.
//!
//! Each lookup and reindex leaves a `debug` record (`book lookup`, `book search`,
//! `reviews lookup`, `stock lookup`, `book reindexed`), target `bookstore::store`:
//! hidden at the default level (`info`), shown with `RUST_LOG=info,bookstore::store=debug`.
//! A reindex that fails logs an `error` inside its span.
//!
//! sqlx writes a `debug` event per statement (target `sqlx::query`: the summary, the
//! statement, rows and time) on the thread its SQLite connection runs on, inside the
//! `tracing` span current where the query was sent. Each query here is sent inside
//! [`telem_tracing::context_span`], which stands for the repository span, so with the
//! bridge installed (the bookstore's `main`) those events are log records of the
//! request's trace, in the repository span: `RUST_LOG=info,sqlx=debug` shows them.
//!
//! Each query's duration is in `db_client_operation_duration_seconds`, OpenTelemetry's
//! `db.client.operation.duration` in Prometheus form, by operation and collection (and
//! error type when it failed): `store/operation.rs`. The pool's metrics
//! (`db_client_connections`, `db_client_connection_wait_time_seconds`, ...) are
//! OpenTelemetry's `db.client.connection.*` in Prometheus form, read at each drain tick:
//! `store/pool.rs`. Their names are in [`crate::metrics`]; what each means and where the
//! conventions are not followed in those two modules.

mod error;
mod model;
mod operation;
mod pool;
mod sql;

pub use error::{ReindexError, StoreError};
pub use model::{Book, Filter, Genre, NewBook, Review, MAX_TEXT_LEN};

use operation::{
    Operation, INSERT_BOOKS, SELECT_BOOKS, SELECT_REVIEWS, SELECT_STOCK, UPDATE_BOOKS,
};
use pool::MeteredPool;
use sqlx::query::QueryScalar;
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{ConnectOptions as _, Sqlite, SqliteConnection};
use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The most connections a store's pool opens.
pub const MAX_CONNECTIONS: u32 = 8;
/// The idle connections a store's pool keeps open.
pub const MIN_CONNECTIONS: u32 = 1;
/// How long a query waits for a free connection before it fails with
/// [`StoreError::PoolTimedOut`].
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Stores opened in this process: the number in each one's database name.
static DATABASES: AtomicU64 = AtomicU64::new(0);

/// `query`, a statement of `operation`: sent under a `tracing` span standing for the
/// current (repository) span, so the events sqlx writes on its connection's thread carry
/// its trace, and timed, from its first poll to its answer, in
/// `db_client_operation_duration_seconds` (with the error's type if it failed).
fn traced<T, F>(
    operation: &'static Operation,
    query: F,
) -> impl Future<Output = Result<T, sqlx::Error>>
where
    F: Future<Output = Result<T, sqlx::Error>>,
{
    // Made now, in the repository span's poll: it stands for the span current here.
    let query = tracing::Instrument::instrument(query, telem_tracing::context_span());
    async move {
        let started = Instant::now();
        let answer = query.await;
        operation.record(started.elapsed(), answer.as_ref().err());
        answer
    }
}

/// A book's row: id, title, author, genre.
type BookRow = (i64, String, String, String);

/// The books, shared by every handler (cloning shares the same database).
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
    /// Whether spans record `db.query.text` (default: true).
    query_text: bool,
}

struct Inner {
    pool: MeteredPool,
    /// Keeps the in-memory database alive: never used, closed when the store is dropped.
    _keeper: Mutex<SqliteConnection>,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// An empty store: a new in-memory database with the schema, and its pool
    /// ([`MAX_CONNECTIONS`], [`MIN_CONNECTIONS`], [`ACQUIRE_TIMEOUT`]). Needs a tokio
    /// runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bookstore::store::StoreError> {
    /// let store = bookstore::Store::new().await?;
    /// assert!(store.list(&Default::default()).await?.is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn new() -> Result<Self, StoreError> {
        Self::open(
            SqlitePoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .min_connections(MIN_CONNECTIONS)
                .acquire_timeout(ACQUIRE_TIMEOUT),
        )
        .await
    }

    /// A store with four books (ids 1 to 4), some reviews and stock.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bookstore::store::StoreError> {
    /// let store = bookstore::Store::seeded().await?;
    /// assert_eq!(store.get(1).await?.map(|book| book.title), Some("Dune".to_owned()));
    /// assert_eq!(store.stock(1).await?, 12);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn seeded() -> Result<Self, StoreError> {
        let store = Self::new().await?;
        store.seed().await?;
        Ok(store)
    }

    /// A store whose pool is built from `options`: its database, schema and metrics.
    async fn open(options: SqlitePoolOptions) -> Result<Self, StoreError> {
        let name = format!("bookstore-{}", DATABASES.fetch_add(1, Relaxed) + 1);
        let connect = SqliteConnectOptions::new()
            .filename(format!("file:{name}"))
            .in_memory(true)
            .shared_cache(true);
        let mut keeper = connect.connect().await?;
        sqlx::raw_sql(sql::SCHEMA).execute(&mut keeper).await?;
        let pool = options
            // Connections live as long as the pool: nothing to gain from reopening
            // them in memory, and no ping before each use.
            .idle_timeout(None)
            .max_lifetime(None)
            .test_before_acquire(false)
            .connect_with(connect)
            .await?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool: MeteredPool::new(pool, &name),
                _keeper: Mutex::new(keeper),
            }),
            query_text: true,
        })
    }

    /// The books, reviews and stock of [`Store::seeded`], in one transaction, without
    /// spans (the seed is set-up, not a request's work).
    async fn seed(&self) -> Result<(), StoreError> {
        let mut tx = self.inner.pool.pool().begin().await?;
        for (title, author, genre, copies) in sql::SEED_BOOKS {
            let new = NewBook {
                title: title.to_owned(),
                author: author.to_owned(),
                genre,
            };
            let words = json_words(&model::keywords(&new.title, &new.author))?;
            let id: i64 = insert_statement(&new, words).fetch_one(&mut *tx).await?;
            sqlx::query(sql::INSERT_STOCK)
                .bind(id)
                .bind(i64::from(copies))
                .execute(&mut *tx)
                .await?;
        }
        for (book, reviewer, stars, text) in sql::SEED_REVIEWS {
            sqlx::query(sql::INSERT_REVIEW)
                .bind(key(book))
                .bind(reviewer)
                .bind(i64::from(stars))
                .bind(text)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The same store (sharing its database), whose spans record each query's
    /// parameterized SQL in `db.query.text` when `record` is true (the default, as
    /// OpenTelemetry's database conventions recommend for parameterized text), and leave
    /// it out when `record` is false.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), bookstore::store::StoreError> {
    /// let store = bookstore::Store::seeded().await?;
    /// assert!(store.query_text());
    /// let without_sql = store.with_query_text(false);
    /// assert!(!without_sql.query_text());
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_query_text(mut self, record: bool) -> Self {
        self.query_text = record;
        self
    }

    /// Whether spans record `db.query.text`.
    pub fn query_text(&self) -> bool {
        self.query_text
    }

    /// The name of the store's database (`bookstore-1`), and of its pool: the label
    /// `db_client_connection_pool_name` of its metrics.
    pub fn name(&self) -> &str {
        self.inner.pool.name()
    }

    /// `sql` for a span's `db.query.text`, if this store records it.
    fn text(&self, sql: &'static str) -> Option<&'static str> {
        self.query_text.then_some(sql)
    }

    /// The books matching `filter`, by id.
    #[telem::trace(
        "SELECT books",
        kind = client,
        err,
        fields(
            db.system.name = "sqlite",
            db.operation.name = "SELECT",
            db.collection.name = "books",
            db.query.text = self.text(sql::SELECT_BOOKS),
        )
    )]
    pub async fn list(&self, filter: &Filter) -> Result<Vec<Book>, StoreError> {
        let word = filter.q.as_deref().map(str::to_lowercase);
        let mut connection = self.inner.pool.acquire().await?;
        let rows: Vec<BookRow> = traced(
            &SELECT_BOOKS,
            sqlx::query_as(sql::SELECT_BOOKS)
                .bind(filter.genre.map(Genre::as_str))
                .bind(word.as_deref())
                .fetch_all(&mut *connection),
        )
        .await?;
        drop(connection);
        let books = rows
            .into_iter()
            .map(book_from_row)
            .collect::<Result<Vec<Book>, StoreError>>()?;
        telem::debug!(
            bookstore.genre = filter.genre.map_or("", Genre::as_str),
            bookstore.query = filter.q.as_deref().unwrap_or(""),
            bookstore.results = books.len(),
            "book search"
        );
        Ok(books)
    }

    /// The book `id`, if there is one.
    #[telem::trace(
        "SELECT books",
        kind = client,
        err,
        fields(
            db.system.name = "sqlite",
            db.operation.name = "SELECT",
            db.collection.name = "books",
            db.query.text = self.text(sql::SELECT_BOOK),
            book.id = id,
        )
    )]
    pub async fn get(&self, id: u64) -> Result<Option<Book>, StoreError> {
        let book = match i64::try_from(id) {
            Ok(id) => {
                let mut connection = self.inner.pool.acquire().await?;
                let row: Option<BookRow> = traced(
                    &SELECT_BOOKS,
                    sqlx::query_as(sql::SELECT_BOOK)
                        .bind(id)
                        .fetch_optional(&mut *connection),
                )
                .await?;
                row.map(book_from_row).transpose()?
            }
            Err(_) => None, // past the largest id SQLite can hold
        };
        telem::debug!(book.id = id, found = book.is_some(), "book lookup");
        Ok(book)
    }

    /// The ids of up to three other books of book `id`'s genre: what the
    /// "refresh recommendations" job (which follows a reindex) computes.
    #[telem::trace(
        "SELECT books",
        kind = client,
        err,
        fields(
            db.system.name = "sqlite",
            db.operation.name = "SELECT",
            db.collection.name = "books",
            db.query.text = self.text(sql::SELECT_SIMILAR),
            book.id = id,
        )
    )]
    pub async fn recommendations(&self, id: u64) -> Result<Vec<u64>, StoreError> {
        let Some(key) = key(id) else {
            return Ok(Vec::new());
        };
        let mut connection = self.inner.pool.acquire().await?;
        let ids: Vec<i64> = traced(
            &SELECT_BOOKS,
            sqlx::query_scalar(sql::SELECT_SIMILAR)
                .bind(key)
                .fetch_all(&mut *connection),
        )
        .await?;
        let ids = ids
            .into_iter()
            .map(|i| u64::try_from(i).map_err(|_| StoreError::bad_row(format!("book id {i}"))))
            .collect::<Result<Vec<u64>, StoreError>>()?;
        telem::debug!(
            book.id = id,
            recommended = ids.len(),
            "recommendations refreshed"
        );
        Ok(ids)
    }

    /// Adds a book (already validated) and returns it with its new id.
    #[telem::trace(
        "INSERT books",
        kind = client,
        err,
        fields(
            db.system.name = "sqlite",
            db.operation.name = "INSERT",
            db.collection.name = "books",
            db.query.text = self.text(sql::INSERT_BOOK),
        )
    )]
    pub async fn insert(&self, new: NewBook) -> Result<Book, StoreError> {
        let words = json_words(&model::keywords(&new.title, &new.author))?;
        let mut connection = self.inner.pool.acquire().await?;
        let id = traced(
            &INSERT_BOOKS,
            insert_statement(&new, words).fetch_one(&mut *connection),
        )
        .await?;
        drop(connection);
        let id = u64::try_from(id).map_err(|_| StoreError::bad_row(format!("book id {id}")))?;
        Ok(Book {
            id,
            title: new.title,
            author: new.author,
            genre: new.genre,
        })
    }

    /// The book's reviews (none for an unknown book), as the reviews service serves them.
    #[telem::trace(
        "SELECT reviews",
        kind = client,
        err,
        fields(
            db.system.name = "sqlite",
            db.operation.name = "SELECT",
            db.collection.name = "reviews",
            db.query.text = self.text(sql::SELECT_REVIEWS),
            book.id = id,
        )
    )]
    pub async fn reviews(&self, id: u64) -> Result<Vec<Review>, StoreError> {
        let reviews = match i64::try_from(id) {
            Ok(id) => {
                let mut connection = self.inner.pool.acquire().await?;
                let rows: Vec<(String, i64, String)> = traced(
                    &SELECT_REVIEWS,
                    sqlx::query_as(sql::SELECT_REVIEWS)
                        .bind(id)
                        .fetch_all(&mut *connection),
                )
                .await?;
                drop(connection);
                rows.into_iter()
                    .map(|(reviewer, stars, text)| {
                        let stars = u8::try_from(stars).map_err(|_| {
                            StoreError::bad_row(format!("a review with {stars} stars"))
                        })?;
                        Ok(Review {
                            reviewer,
                            stars,
                            text,
                        })
                    })
                    .collect::<Result<Vec<Review>, StoreError>>()?
            }
            Err(_) => Vec::new(),
        };
        telem::debug!(book.id = id, reviews = reviews.len(), "reviews lookup");
        Ok(reviews)
    }

    /// Copies of the book in stock (0 for a book the warehouse does not list).
    #[telem::trace(
        "SELECT stock",
        kind = client,
        err,
        fields(
            db.system.name = "sqlite",
            db.operation.name = "SELECT",
            db.collection.name = "stock",
            db.query.text = self.text(sql::SELECT_STOCK),
            book.id = id,
        )
    )]
    pub async fn stock(&self, id: u64) -> Result<u32, StoreError> {
        let copies: Option<i64> = match i64::try_from(id) {
            Ok(id) => {
                let mut connection = self.inner.pool.acquire().await?;
                traced(
                    &SELECT_STOCK,
                    sqlx::query_scalar(sql::SELECT_STOCK)
                        .bind(id)
                        .fetch_optional(&mut *connection),
                )
                .await?
            }
            Err(_) => None,
        };
        let in_stock = match copies {
            Some(n) => {
                u32::try_from(n).map_err(|_| StoreError::bad_row(format!("{n} copies in stock")))?
            }
            None => 0,
        };
        telem::debug!(book.id = id, in_stock, "stock lookup");
        Ok(in_stock)
    }

    /// Rebuilds the search keywords of book `id` and returns how many words it has.
    /// Runs in the background (`POST /books/{id}/reindex` spawns it), so nobody waits
    /// for the result: a failure is logged here, as an `error` inside the reindex span
    /// (which gets an error status), in the trace of the request that asked for it.
    ///
    /// It fails when there is no book `id` (or the database fails). The route checks
    /// the book exists before it spawns the reindex, so through HTTP that only happens
    /// if the book is gone by the time the reindex runs; calling this directly for an
    /// unknown id fails at once.
    #[telem::trace(record(id), err)]
    pub async fn reindex(self, id: u64) -> Result<usize, ReindexError> {
        // Let the request that asked for it answer first, as a real indexer would.
        tokio::task::yield_now().await;
        match self.rebuild_keywords(id).await {
            Ok(count) => {
                telem::debug!(book.id = id, words = count, "book reindexed");
                Ok(count)
            }
            Err(error) => {
                telem::error!(
                    book.id = id,
                    "error.type" = error.error_type(),
                    "reindex failed: {error}"
                );
                Err(error)
            }
        }
    }

    /// The book's keywords, read again from its title and author and written back.
    async fn rebuild_keywords(&self, id: u64) -> Result<usize, ReindexError> {
        let book = self.get(id).await?.ok_or(ReindexError::NoSuchBook(id))?;
        let words = book.keywords();
        if self.set_keywords(book.id, &words).await? {
            Ok(words.len())
        } else {
            Err(ReindexError::NoSuchBook(id))
        }
    }

    /// Writes the keywords of book `id`; false if there is no such book.
    #[telem::trace(
        "UPDATE books",
        kind = client,
        err,
        fields(
            db.system.name = "sqlite",
            db.operation.name = "UPDATE",
            db.collection.name = "books",
            db.query.text = self.text(sql::UPDATE_KEYWORDS),
            book.id = id,
        )
    )]
    async fn set_keywords(&self, id: u64, words: &BTreeSet<String>) -> Result<bool, StoreError> {
        let words = json_words(words)?;
        let mut connection = self.inner.pool.acquire().await?;
        let done = traced(
            &UPDATE_BOOKS,
            sqlx::query(sql::UPDATE_KEYWORDS)
                .bind(words)
                .bind(key(id))
                .execute(&mut *connection),
        )
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// A book id as SQLite holds it: `None` past `i64::MAX` (no such row), bound as NULL.
fn key(id: u64) -> Option<i64> {
    i64::try_from(id).ok()
}

/// The statement inserting `new` with its keywords `words` (as [`json_words`] writes
/// them), answering the new id: run by [`Store::insert`], and by the seed without its
/// span and metric.
fn insert_statement(
    new: &NewBook,
    words: String,
) -> QueryScalar<'_, Sqlite, i64, SqliteArguments<'_>> {
    sqlx::query_scalar(sql::INSERT_BOOK)
        .bind(new.title.as_str())
        .bind(new.author.as_str())
        .bind(new.genre.as_str())
        .bind(words)
}

/// Keywords as the `keywords` column holds them: a JSON array of strings.
fn json_words(words: &BTreeSet<String>) -> Result<String, StoreError> {
    serde_json::to_string(words).map_err(|e| StoreError::from(sqlx::Error::Encode(e.into())))
}

fn book_from_row((id, title, author, genre): BookRow) -> Result<Book, StoreError> {
    Ok(Book {
        id: u64::try_from(id).map_err(|_| StoreError::bad_row(format!("book id {id}")))?,
        genre: Genre::from_name(&genre)
            .ok_or_else(|| StoreError::bad_row(format!("book {id} of genre {genre:?}")))?,
        title,
        author,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{
        DB_COLLECTION_NAME, DB_CONNECTIONS, DB_CONNECTION_IDLE_MIN, DB_CONNECTION_MAX,
        DB_CONNECTION_TIMEOUTS, DB_OPERATION_DURATION, DB_OPERATION_NAME, DB_POOL_NAME, DB_STATE,
        DB_SYSTEM_NAME, ERROR_TYPE,
    };
    use telem::metrics::{global, Gauge, Histogram};

    fn ids(books: &[Book]) -> Vec<u64> {
        books.iter().map(|b| b.id).collect()
    }

    #[tokio::test]
    async fn the_seeded_store_lists_its_books_by_id() {
        let store = Store::seeded().await.expect("a seeded store");
        let books = store.list(&Filter::default()).await.expect("the books");
        assert_eq!(ids(&books), [1, 2, 3, 4]);
        let hobbit = store.get(2).await.expect("a lookup");
        assert_eq!(hobbit.map(|b| b.title), Some("The Hobbit".to_owned()));
        assert_eq!(store.get(99).await.expect("a lookup"), None);
        assert_eq!(store.get(u64::MAX).await.expect("a lookup"), None);
        assert_eq!(store.stock(3).await.expect("a lookup"), 0);
        assert_eq!(store.reviews(1).await.expect("a lookup").len(), 2);
        assert_eq!(store.reviews(4).await.expect("a lookup"), []);
    }

    #[tokio::test]
    async fn search_matches_whole_words_of_title_or_author_in_any_case() {
        let store = Store::seeded().await.expect("a seeded store");
        let find = |q: &str| {
            let filter = Filter {
                q: Some(q.to_owned()),
                ..Filter::default()
            };
            let store = store.clone();
            async move { ids(&store.list(&filter).await.expect("a search")) }
        };
        assert_eq!(find("HOBBIT").await, [2]);
        assert_eq!(find("beard").await, [4]);
        assert_eq!(find("hob").await, Vec::<u64>::new(), "whole words only");
        assert_eq!(find("frank herbert").await, Vec::<u64>::new(), "one word");
        assert_eq!(find("").await, Vec::<u64>::new());
        let fantasy = Filter {
            genre: Some(Genre::Fantasy),
            ..Filter::default()
        };
        assert_eq!(ids(&store.list(&fantasy).await.expect("a search")), [2]);
    }

    #[tokio::test]
    async fn inserted_books_get_the_next_id_and_are_searchable() {
        let store = Store::seeded().await.expect("a seeded store");
        let book = store
            .insert(NewBook {
                title: "Cosmos".to_owned(),
                author: "Carl Sagan".to_owned(),
                genre: Genre::Science,
            })
            .await
            .expect("an insert");
        assert_eq!(book.id, 5);
        let filter = Filter {
            q: Some("sagan".to_owned()),
            ..Filter::default()
        };
        assert_eq!(store.list(&filter).await.expect("a search"), [book]);
        let stock = store.stock(5).await.expect("a lookup");
        assert_eq!(stock, 0, "new books are not in stock yet");
        let words = store.clone().reindex(5).await.expect("a reindex");
        assert_eq!(words, 3, "cosmos, carl, sagan");
        let missing = store.reindex(42).await;
        assert!(
            matches!(missing, Err(ReindexError::NoSuchBook(42))),
            "{missing:?}"
        );
    }

    #[tokio::test]
    async fn each_store_has_a_database_of_its_own() {
        let a = Store::seeded().await.expect("a seeded store");
        let b = Store::new().await.expect("an empty store");
        assert_ne!(a.name(), b.name());
        assert!(b.list(&Filter::default()).await.expect("a list").is_empty());
        assert_eq!(a.list(&Filter::default()).await.expect("a list").len(), 4);
        let copy = a.clone().with_query_text(false);
        assert!(a.query_text(), "query text is recorded by default");
        assert!(!copy.query_text());
        assert_eq!(copy.name(), a.name(), "the same database");
    }

    /// `db.client.connection.timeouts`: an acquire that waits past the acquire timeout
    /// for the pool's only connection, held here, fails with `PoolTimedOut` and is
    /// counted once, for this pool only. A dropped store's gauges are zeroed.
    #[tokio::test]
    async fn an_acquire_that_times_out_is_an_error_and_counted() {
        let timeout = Duration::from_millis(20);
        let store = Store::open(
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .acquire_timeout(timeout),
        )
        .await
        .expect("a store");
        let held = store
            .inner
            .pool
            .acquire()
            .await
            .expect("the only connection");
        // What the callback reads at a drain tick: the one connection, in use.
        telem::metrics::global().run_callbacks();
        let connections = telem::metrics::global()
            .family::<telem::metrics::Gauge>(DB_CONNECTIONS, &[DB_POOL_NAME, DB_STATE])
            .expect("the family");
        let name = store.name().to_owned();
        let gauge = |state: &str| connections.get(&[&name, state]).expect("a series");
        assert_eq!((gauge("idle").get(), gauge("used").get()), (0, 1));
        let failed = store.get(1).await;
        assert!(
            matches!(failed, Err(StoreError::PoolTimedOut(t)) if t == timeout),
            "{failed:?}"
        );
        drop(held);
        // sqlx gives the connection back in a task of its own, after a ping on the
        // connection's thread: wait until it is idle (a bounded wait, no deadline), so
        // the next acquire does not race it for the 20 ms.
        for _ in 0..10_000 {
            if store.inner.pool.pool().num_idle() == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(
            store.inner.pool.pool().num_idle(),
            1,
            "the connection is back"
        );
        assert_eq!(store.get(1).await.expect("a connection again"), None);
        let timeouts = telem::metrics::global()
            .counter_family(DB_CONNECTION_TIMEOUTS, &[DB_POOL_NAME])
            .expect("the family")
            .get(&[store.name()])
            .expect("this pool's counter");
        assert_eq!(timeouts.get(), 1);
        let of_pool = |metric: &str| {
            global()
                .family::<Gauge>(metric, &[DB_POOL_NAME])
                .expect("the family")
                .get(&[&name])
                .expect("a series")
        };
        assert_eq!(
            (
                of_pool(DB_CONNECTION_MAX).get(),
                of_pool(DB_CONNECTION_IDLE_MIN).get()
            ),
            (1, 1)
        );
        drop(store);
        assert_eq!(
            (gauge("idle").get(), gauge("used").get()),
            (0, 0),
            "a dropped store's pool is closed"
        );
        assert_eq!(
            (
                of_pool(DB_CONNECTION_MAX).get(),
                of_pool(DB_CONNECTION_IDLE_MIN).get()
            ),
            (0, 0),
            "nor does a dropped store's pool keep its limits"
        );
    }

    /// `db.client.operation.duration`: a query that succeeds is recorded under its
    /// operation and collection with an empty `error_type`, one that fails under
    /// SQLite's result code (1, an SQL error: here a table that does not exist).
    #[tokio::test]
    async fn each_query_is_timed_by_operation_and_collection_and_error_type() {
        static PROBE: Operation = Operation::new("SELECT", "probe");
        static MISSING: Operation = Operation::new("SELECT", "missing");
        let duration = |operation: &str, collection: &str, error_type: &str| -> Histogram {
            global()
                .histogram_family(
                    DB_OPERATION_DURATION,
                    &[
                        DB_SYSTEM_NAME,
                        DB_OPERATION_NAME,
                        DB_COLLECTION_NAME,
                        ERROR_TYPE,
                    ],
                    &operation::DURATION_BOUNDS,
                )
                .expect("the family, with the advised bounds")
                .get(&["sqlite", operation, collection, error_type])
                .expect("a series")
        };
        let store = Store::seeded().await.expect("a seeded store");
        // Other tests query stock at the same time: at least this one is counted.
        let stock = duration("SELECT", "stock", "");
        let before = stock.value().count;
        assert_eq!(store.stock(1).await.expect("a lookup"), 12);
        assert!(stock.value().count > before);

        // Operations of this test only: exact counts.
        let mut connection = store.inner.pool.acquire().await.expect("a connection");
        let answered = traced(
            &PROBE,
            sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&mut *connection),
        )
        .await;
        assert_eq!(answered.expect("an answer"), 1);
        assert_eq!(duration("SELECT", "probe", "").value().count, 1);
        let failed = traced(
            &MISSING,
            sqlx::query_scalar::<_, i64>("SELECT id FROM missing").fetch_all(&mut *connection),
        )
        .await;
        assert!(
            matches!(&failed, Err(sqlx::Error::Database(e)) if e.message().contains("no such table")),
            "{failed:?}"
        );
        let failures = duration("SELECT", "missing", "1").value();
        assert_eq!(failures.count, 1);
        assert_eq!(
            failures.bucket_counts.len(),
            operation::DURATION_BOUNDS.len() + 1,
            "the advised bounds and +Inf"
        );
        assert_eq!(duration("SELECT", "missing", "").value().count, 0);
    }
}
