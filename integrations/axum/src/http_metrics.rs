//! The HTTP server metrics the layer records, in Prometheus naming.

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
}

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
        Some(Self { duration, active })
    }

    /// Counts a request in flight until the returned value drops.
    pub(crate) fn in_flight(&self, method: &str, scheme: &str) -> InFlight {
        let gauge = self.active.with_labels(&[method, scheme]);
        gauge.increment(1);
        InFlight(gauge)
    }

    pub(crate) fn record(&self, method: &str, route: &str, status: &str, elapsed: Duration) {
        self.duration
            .with_labels(&[method, route, status])
            .record(elapsed.as_secs_f64());
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
