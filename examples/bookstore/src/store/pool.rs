//! The store's connection pool and its metrics: OpenTelemetry's `db.client.connection.*`
//! (semantic conventions for database client metrics) in Prometheus form, as the
//! OpenTelemetry Prometheus exporter writes them: dots become underscores, a unit of
//! seconds becomes `_seconds`, a counter gets `_total`, an annotation unit in braces
//! (`{connection}`) is dropped, and the attributes become labels the same way
//! (`db_client_connection_pool_name`, `db_client_connection_state`).
//!
//! | metric | OpenTelemetry | read |
//! | --- | --- | --- |
//! | [`DB_CONNECTIONS`] (gauge, by state `idle` / `used`) | `db.client.connection.count` | at each drain tick: the pool's size and idle count |
//! | [`DB_CONNECTION_MAX`] (gauge) | `db.client.connection.max` | at each drain tick: the pool's `max_connections` |
//! | [`DB_CONNECTION_IDLE_MIN`] (gauge) | `db.client.connection.idle.min` | at each drain tick: the pool's `min_connections`, which it keeps open |
//! | [`DB_CONNECTION_PENDING_REQUESTS`] (gauge) | `db.client.connection.pending_requests` | at each drain tick: the store's acquires still waiting (counted around them) |
//! | [`DB_CONNECTION_WAIT_TIME`] (histogram) | `db.client.connection.wait_time` | at each acquire that got a connection |
//! | [`DB_CONNECTION_TIMEOUTS`] (counter) | `db.client.connection.timeouts` | at each acquire that timed out (`sqlx::Error::PoolTimedOut`) |
//!
//! Every series has the label `db_client_connection_pool_name`: the pool's name, the
//! name of its in-memory database (`bookstore-1`), unique in the process. When a store is
//! dropped its pool closes, and every gauge of the pool goes to 0 (connections, pending
//! requests, `max` and `idle_min` too): the registry has no way to remove a series, so a
//! dropped pool's series stay, at 0; its histogram and counter keep their totals.
//!
//! The reviews service answers from the same store, in the same process: its queries
//! use this pool and its series. It also shares the bookstore's pipeline, so its
//! resource (one `service.name` for both: `OTEL_SERVICE_NAME`, by default
//! `unknown_service:bookstore`) and its `/metrics`: `http_server_*` counts its
//! `GET /reviews/{book_id}` requests beside the bookstore's own routes (tell them apart
//! by `http_route`). Over OTLP (`OTEL_METRICS_EXPORTER=otlp`) these metrics keep the
//! Prometheus-form names and labels shown here (`db_client_connections`,
//! `db_client_connection_pool_name`), not OpenTelemetry's dotted ones.
//!
//! Deliberately not as the conventions say:
//! - `db.client.connection.count` is exported as `db_client_connections`, not
//!   `db_client_connection_count`: Prometheus keeps the `_count` suffix for the count
//!   series of a histogram or summary, and `promtool check metrics` refuses a gauge
//!   named so ("non-histogram and non-summary metrics should not have "_count"
//!   suffix"). The plural is how Prometheus's own exporters name a gauge of connections.
//! - `db.client.connection.idle.max` is not exported: sqlx has no limit of idle
//!   connections of its own (any of the `max` may sit idle), so there is no value to
//!   report.
//! - `db.client.connection.create_time` and `use_time` are not exported: sqlx opens and
//!   returns connections out of the store's sight.
//! - The one connection the store holds outside the pool, which keeps its in-memory
//!   database alive, is not counted: it serves no query.
//!
//! [`DB_CONNECTIONS`]: crate::metrics::DB_CONNECTIONS
//! [`DB_CONNECTION_MAX`]: crate::metrics::DB_CONNECTION_MAX
//! [`DB_CONNECTION_IDLE_MIN`]: crate::metrics::DB_CONNECTION_IDLE_MIN
//! [`DB_CONNECTION_PENDING_REQUESTS`]: crate::metrics::DB_CONNECTION_PENDING_REQUESTS
//! [`DB_CONNECTION_WAIT_TIME`]: crate::metrics::DB_CONNECTION_WAIT_TIME
//! [`DB_CONNECTION_TIMEOUTS`]: crate::metrics::DB_CONNECTION_TIMEOUTS

use super::StoreError;
use crate::metrics::{
    DB_CONNECTIONS, DB_CONNECTION_IDLE_MIN, DB_CONNECTION_MAX, DB_CONNECTION_PENDING_REQUESTS,
    DB_CONNECTION_TIMEOUTS, DB_CONNECTION_WAIT_TIME, DB_POOL_NAME, DB_STATE,
};
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqlitePool};
use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;
use telem::metrics::{
    global, CallbackId, Counter, Family, Gauge, Histogram, MetricError, Registry,
};

/// Bucket bounds of [`DB_CONNECTION_WAIT_TIME`], in seconds: an acquire from a pool with
/// an idle connection takes microseconds, one that waits for a busy pool up to its
/// acquire timeout.
const WAIT_TIME_BOUNDS: [f64; 12] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
];

/// An sqlx pool whose acquires are measured, and whose state a metrics callback reads at
/// each drain tick, until it is dropped.
pub(super) struct MeteredPool {
    shared: Arc<Shared>,
    /// The callback in the global registry, removed on drop.
    callback: Option<CallbackId>,
}

/// What the pool and its callback share.
struct Shared {
    pool: SqlitePool,
    name: Arc<str>,
    /// Acquires waiting now.
    pending: AtomicI64,
    /// `None` if the names are taken in the global registry by metrics of another shape.
    instruments: Option<Instruments>,
    /// Set on drop, under the lock, so a callback still running then cannot write the
    /// pool's last state after its gauges were zeroed.
    closed: Mutex<bool>,
}

/// The pool's series, looked up once.
struct Instruments {
    idle: Gauge,
    used: Gauge,
    max: Gauge,
    idle_min: Gauge,
    pending: Gauge,
    wait_time: Histogram,
    timeouts: Counter,
}

impl Instruments {
    fn register(registry: &Registry, name: &str) -> Result<Self, MetricError> {
        let pool = &[DB_POOL_NAME][..];
        let connections: Family<Gauge> =
            registry.family(DB_CONNECTIONS, &[DB_POOL_NAME, DB_STATE])?;
        let gauge = |metric: &str| -> Result<Gauge, MetricError> {
            registry.family::<Gauge>(metric, pool)?.get(&[name])
        };
        let instruments = Instruments {
            idle: connections.get(&[name, "idle"])?,
            used: connections.get(&[name, "used"])?,
            max: gauge(DB_CONNECTION_MAX)?,
            idle_min: gauge(DB_CONNECTION_IDLE_MIN)?,
            pending: gauge(DB_CONNECTION_PENDING_REQUESTS)?,
            wait_time: registry
                .histogram_family(DB_CONNECTION_WAIT_TIME, pool, &WAIT_TIME_BOUNDS)?
                .get(&[name])?,
            timeouts: registry
                .counter_family(DB_CONNECTION_TIMEOUTS, pool)?
                .get(&[name])?,
        };
        registry.describe(
            DB_CONNECTIONS,
            "Database connections of the pool by state, idle or used \
             (OpenTelemetry db.client.connection.count).",
        )?;
        registry.describe(
            DB_CONNECTION_MAX,
            "The most open connections the pool allows.",
        )?;
        registry.describe(
            DB_CONNECTION_IDLE_MIN,
            "The fewest idle open connections the pool keeps.",
        )?;
        registry.describe(
            DB_CONNECTION_PENDING_REQUESTS,
            "Requests for a database connection waiting for one.",
        )?;
        registry.describe_with_unit(
            DB_CONNECTION_WAIT_TIME,
            "seconds",
            "Time it took to get a connection from the pool.",
        )?;
        registry.describe(
            DB_CONNECTION_TIMEOUTS,
            "Requests for a database connection that timed out waiting.",
        )?;
        Ok(instruments)
    }
}

impl Shared {
    /// Sets the gauges from the pool's state now: the metrics callback.
    fn observe(&self) {
        let Some(m) = &self.instruments else {
            return;
        };
        let closed = self.closed.lock().unwrap_or_else(PoisonError::into_inner);
        if *closed {
            return;
        }
        // Two reads, not one snapshot: `idle` can run ahead of `size` in between.
        let size = i64::from(self.pool.size());
        let idle = i64::try_from(self.pool.num_idle())
            .unwrap_or(i64::MAX)
            .min(size);
        m.idle.set(idle);
        m.used.set(size - idle);
        let options = self.pool.options();
        m.max.set(i64::from(options.get_max_connections()));
        m.idle_min.set(i64::from(options.get_min_connections()));
        m.pending.set(self.pending.load(Relaxed).max(0));
        drop(closed);
    }
}

impl MeteredPool {
    /// Meters `pool`, named `name` in its series, and registers the callback that reads
    /// its state in the global registry (what the pipeline collects at each drain tick).
    pub(super) fn new(pool: SqlitePool, name: &str) -> Self {
        let registry = global();
        let instruments = match Instruments::register(registry, name) {
            Ok(instruments) => Some(instruments),
            Err(e) => {
                telem::warn!(
                    db.client.connection.pool.name = name,
                    "database pool metrics off: {e}"
                );
                None
            }
        };
        let shared = Arc::new(Shared {
            pool,
            name: name.into(),
            pending: AtomicI64::new(0),
            instruments,
            closed: Mutex::new(false),
        });
        shared.observe(); // there before the first tick
        let callback = shared.instruments.is_some().then(|| {
            let shared = shared.clone();
            registry.register_callback(move |_: &Registry| {
                shared.observe();
                Ok(())
            })
        });
        Self { shared, callback }
    }

    /// The sqlx pool.
    pub(super) fn pool(&self) -> &SqlitePool {
        &self.shared.pool
    }

    /// The pool's name: its series' `db_client_connection_pool_name`.
    pub(super) fn name(&self) -> &str {
        &self.shared.name
    }

    /// A connection from the pool: counted as pending while it waits, the wait recorded
    /// in [`DB_CONNECTION_WAIT_TIME`] once it has one, a timeout counted in
    /// [`DB_CONNECTION_TIMEOUTS`].
    pub(super) async fn acquire(&self) -> Result<PoolConnection<Sqlite>, StoreError> {
        let shared = &*self.shared;
        let started = Instant::now();
        let waiting = Pending::start(&shared.pending);
        let acquired = shared.pool.acquire().await;
        drop(waiting);
        match acquired {
            Ok(connection) => {
                if let Some(m) = &shared.instruments {
                    m.wait_time.record(started.elapsed().as_secs_f64());
                }
                Ok(connection)
            }
            Err(sqlx::Error::PoolTimedOut) => {
                if let Some(m) = &shared.instruments {
                    m.timeouts.increment(1);
                }
                Err(StoreError::PoolTimedOut(
                    shared.pool.options().get_acquire_timeout(),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for MeteredPool {
    /// Removes the callback and zeroes every gauge of the pool (connections, pending
    /// requests, and its `max` and `idle_min`): a dropped store's pool closes, and the
    /// registry cannot remove a series, which would otherwise keep its last value.
    fn drop(&mut self) {
        if let Some(id) = self.callback.take() {
            global().unregister_callback(id);
        }
        let shared = &*self.shared;
        *shared.closed.lock().unwrap_or_else(PoisonError::into_inner) = true;
        if let Some(m) = &shared.instruments {
            m.idle.set(0);
            m.used.set(0);
            m.pending.set(0);
            m.max.set(0);
            m.idle_min.set(0);
        }
    }
}

impl fmt::Debug for MeteredPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MeteredPool")
            .field("name", &self.shared.name)
            .field("size", &self.shared.pool.size())
            .field("idle", &self.shared.pool.num_idle())
            .field("pending", &self.shared.pending.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// One acquire counted as pending until dropped (also when its future is dropped
/// mid-wait: a cancelled request).
struct Pending<'a>(&'a AtomicI64);

impl<'a> Pending<'a> {
    fn start(pending: &'a AtomicI64) -> Self {
        pending.fetch_add(1, Relaxed);
        Self(pending)
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}
