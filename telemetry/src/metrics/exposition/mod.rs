//! Text exposition: Prometheus text format 0.0.4 and OpenMetrics 1.0, chosen from an
//! `Accept` header. Pure functions from snapshots to bytes, written into a reused
//! buffer with numbers formatted by `itoa`/`ryu` (no `format!`).

mod openmetrics;
mod prometheus;
mod text;

pub(crate) use text::escape_label_value;
#[doc(hidden)]
pub use text::{escape_help, escape_label_value as escape_label_value_into, write_f64};

use super::snapshot::MetricFamilySnapshot;

/// `Content-Type` of the Prometheus text format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// `Content-Type` of OpenMetrics text.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// An exposition format.
///
/// ```
/// use telem::metrics::Format;
/// assert_eq!(Format::from_accept("*/*"), Format::Prometheus);
/// let prometheus_server = "application/openmetrics-text;version=1.0.0,\
///     application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(Format::from_accept(prometheus_server), Format::OpenMetrics);
/// assert_eq!(
///     Format::OpenMetrics.content_type(),
///     "application/openmetrics-text; version=1.0.0; charset=utf-8"
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// Prometheus text format 0.0.4 (no exemplars, no `_created`, no `# EOF`).
    #[default]
    Prometheus,
    /// OpenMetrics 1.0 text: `# UNIT`, `_created`, exemplars, `# EOF`.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` header value for this format.
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Prometheus => PROMETHEUS_CONTENT_TYPE,
            Self::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
        }
    }

    /// The format an `Accept` header value asks for: the acceptable media type with
    /// the highest `q` (OpenMetrics on a tie); Prometheus text when nothing we serve is
    /// named (`*/*`, an empty or unparsable header).
    pub fn from_accept(accept: &str) -> Self {
        let mut best: Option<(f32, Self)> = None;
        for entry in accept.split(',') {
            let mut parts = entry.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let mut q = 1.0f32;
            let mut version = None;
            for param in parts {
                let (k, v) = param.split_once('=').unwrap_or((param, ""));
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" => q = v.trim().parse().unwrap_or(0.0),
                    "version" => version = Some(v.trim().to_owned()),
                    _ => {}
                }
            }
            let format = match media.as_str() {
                "application/openmetrics-text"
                    if matches!(version.as_deref(), None | Some("1.0.0") | Some("0.0.1")) =>
                {
                    Self::OpenMetrics
                }
                "text/plain" | "text/*" | "*/*" => Self::Prometheus,
                _ => continue,
            };
            if q <= 0.0 || q.is_nan() {
                continue;
            }
            let better = match best {
                None => true,
                Some((bq, bf)) => {
                    q > bq || (q == bq && format == Self::OpenMetrics && bf != format)
                }
            };
            if better {
                best = Some((q, format));
            }
        }
        best.map_or(Self::Prometheus, |(_, f)| f)
    }
}

/// Writes `families` in `format` to the end of `out`.
///
/// ```
/// use telem::metrics::{render, Format, Registry};
/// let registry = Registry::new();
/// registry.gauge("temperature").unwrap().set(21);
/// let mut out = Vec::new();
/// render(&registry.snapshot(), Format::OpenMetrics, &mut out);
/// assert_eq!(out, b"# TYPE temperature gauge\ntemperature 21\n# EOF\n");
/// ```
pub fn render(families: &[MetricFamilySnapshot], format: Format, out: &mut Vec<u8>) {
    match format {
        Format::Prometheus => prometheus::render(families, out),
        Format::OpenMetrics => openmetrics::render(families, out),
    }
}
