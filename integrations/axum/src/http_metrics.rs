//! The HTTP server metrics the layer records, in Prometheus naming.

use crate::layer::METHODS;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};
use std::time::Duration;
use telemetry::metrics::{Family, Gauge, Histogram, Registry, DEFAULT_BUCKETS};

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
/// to a known route records without a family lookup.
#[derive(Debug, Default)]
pub(crate) struct RouteHistograms {
    by_method_status: RwLock<HashMap<u32, Histogram>>,
}

/// At most this many (method, status) handles are cached per route; the rest are
/// looked up in the family each time.
const CACHED_PER_ROUTE: usize = 64;

impl HttpMetrics {
    pub(crate) fn global() -> Option<Self> {
        Self::new(telemetry::metrics::global())
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

    /// Counts a request in flight until the returned value drops.
    pub(crate) fn in_flight(&self, m: usize, method: &str, https: bool) -> InFlight {
        let scheme = if https { "https" } else { "http" };
        let gauge = self.active_by_method[m.min(METHODS.len() - 1) * 2 + usize::from(https)]
            .get_or_init(|| self.active.with_labels(&[method, scheme]))
            .clone();
        gauge.increment(1);
        InFlight(gauge)
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
        let key = (m as u32) << 16 | u32::from(status);
        if let Some(cache) = cache {
            let cached = cache
                .by_method_status
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&key)
                .cloned();
            if let Some(h) = cached {
                return h.record(seconds);
            }
        }
        let code = itoa_status(status);
        let h = self.duration.with_labels(&[method, route, code.as_str()]);
        h.record(seconds);
        if let Some(cache) = cache {
            let mut map = cache
                .by_method_status
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if map.len() < CACHED_PER_ROUTE {
                map.insert(key, h);
            }
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

/// One request in [`ACTIVE_REQUESTS`] while alive.
#[derive(Debug)]
pub(crate) struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1);
    }
}
