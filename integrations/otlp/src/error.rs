//! Why an exporter could not be built.

use telem::ConfigError;

/// A setting the exporter cannot work with. Each variant says which setting and what
/// it accepts.
///
/// ```
/// use telem_otlp::{OtlpConfig, OtlpError};
/// let err = OtlpConfig::new().with_max_queue_size(0).resolve().unwrap_err();
/// assert!(matches!(&err, OtlpError::Config(e) if e.setting == "max_queue_size"));
/// assert_eq!(
///     err.to_string(),
///     "invalid value 0 for `max_queue_size`: accepted values are an integer from 1 to 1000000 (spans)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// A value the setting does not accept, set in code or read from an environment
    /// variable (the core's error for every setting).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An endpoint that is not an absolute `http://` or `https://` URL.
    #[error("invalid {signal} endpoint {url:?}: {reason}")]
    Endpoint {
        /// `traces`, `metrics` or `logs`.
        signal: &'static str,
        /// The URL, as given (with the signal's path appended if it was a base URL).
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A header name or value that HTTP does not allow.
    #[error("invalid header {name:?}: {reason}")]
    Header {
        /// The header's name.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An `https://` endpoint without the `tls` feature.
    #[error("the endpoint {0:?} needs TLS: enable telem-otlp's `tls` feature (on by default)")]
    TlsDisabled(String),
    /// `http/protobuf` without the `protobuf` feature.
    #[error("http/protobuf needs telem-otlp's `protobuf` feature; enable it or use http/json")]
    ProtobufDisabled,
    /// The TLS configuration could not be built.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}
