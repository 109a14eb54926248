//! The HTTP server metrics the layer records, in Prometheus naming.

use crate::intern::StaticMap;
use crate::layer::METHODS;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use telem::metrics::{Family, Gauge, Histogram, Registry, DEFAULT_BUCKETS};

/// Request duration histogram (OpenTelemetry `http.server.request.duration`), seconds,
/// labelled by method, route and status code.
pub const REQUEST_DURATION: &str = "http_server_request_duration_seconds";
/// Requests being handled now (OpenTelemetry `http.server.active_requests`), labelled by
/// method and scheme.
pub const ACTIVE_REQUESTS: &str = "http_server_active_requests";

#[derive(Clone, Debug)]
pub(crate) struct HttpMetrics {
    duration: Family<Histogram>,
    active: Family<Gauge>,
    /// Handles of `active`, by method index and scheme (http, https): looked up once.
    active_by_method: Arc<[OnceLock<Gauge>; 2 * METHODS.len()]>,
}

/// The histogram handles of one route, by method index and status code, so a request
/// to a known route records without a family lookup (and without a lock).
#[derive(Debug)]
pub(crate) struct RouteHistograms {
    by_method_status: StaticMap<u32, Histogram>,
}

impl Default for RouteHistograms {
    fn default() -> Self {
        Self {
            by_method_status: StaticMap::new(CACHED_PER_ROUTE),
        }
    }
}

/// At most this many (method, status) handles are cached per route; the rest are
/// looked up in the family each time.
const CACHED_PER_ROUTE: usize = 64;

impl HttpMetrics {
    pub(crate) fn global() -> Option<Self> {
        Self::new(telem::metrics::global())
    }

    /// The two families in `registry`; `None` (no HTTP metrics) if the names are taken
    /// there by metrics of another shape.
    pub(crate) fn new(registry: &Registry) -> Option<Self> {
        let duration = registry
            .histogram_family(
                REQUEST_DURATION,
                &[
                    "http_request_method",
                    "http_route",
                    "http_response_status_code",
                ],
                &DEFAULT_BUCKETS,
            )
            .ok()?;
        let active = registry
            .family::<Gauge>(ACTIVE_REQUESTS, &["http_request_method", "url_scheme"])
            .ok()?;
        let _ = registry.describe_with_unit(
            REQUEST_DURATION,
            "seconds",
            "Duration of HTTP server requests.",
        );
        let _ = registry.describe(ACTIVE_REQUESTS, "Number of HTTP server requests in flight.");
        Some(Self {
            duration,
            active,
            active_by_method: Arc::new(Default::default()),
        })
    }

    /// Counts a request in flight, until [`HttpMetrics::leave`] with the returned slot.
    pub(crate) fn enter(&self, m: usize, method: &str, https: bool) -> usize {
        let slot = m.min(METHODS.len() - 1) * 2 + usize::from(https);
        self.active(slot, method, https).increment(1);
        slot
    }

    /// The request counted in `slot` by [`HttpMetrics::enter`] is done.
    pub(crate) fn leave(&self, slot: usize) {
        if let Some(gauge) = self.active_by_method.get(slot).and_then(OnceLock::get) {
            gauge.decrement(1);
        }
    }

    fn active(&self, slot: usize, method: &str, https: bool) -> &Gauge {
        let scheme = if https { "https" } else { "http" };
        self.active_by_method[slot].get_or_init(|| self.active.with_labels(&[method, scheme]))
    }

    /// Records a request's duration; `cache` holds the route's handles, if the route is
    /// known.
    pub(crate) fn record(
        &self,
        cache: Option<&RouteHistograms>,
        (m, method): (usize, &str),
        route: &str,
        status: u16,
        elapsed: Duration,
    ) {
        let seconds = elapsed.as_secs_f64();
        let handle = || {
            let code = itoa_status(status);
            self.duration.with_labels(&[method, route, code.as_str()])
        };
        let key = (m as u32) << 16 | u32::from(status);
        match cache.and_then(|c| {
            c.by_method_status
                .get_or_insert(&key, || (Box::new(key), handle()))
        }) {
            Some((_, cached)) => cached.record(seconds),
            None => handle().record(seconds),
        }
    }
}

/// A status code as label text (`"error"` for 0: the service failed without one).
fn itoa_status(status: u16) -> String {
    if status == 0 {
        "error".to_owned()
    } else {
        status.to_string()
    }
}
