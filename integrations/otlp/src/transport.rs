//! One HTTP request to the collector, and what came of it.
//!
//! hyper-util's pooled client over hyper's HTTP/1.1 (connections kept alive between
//! exports), with rustls on the `ring` provider and webpki's roots for `https://`.

use crate::response::{self, PartialSuccess};
use crate::{retry, Compression, OtlpError, Protocol, Signal, SignalConfig};
use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER, USER_AGENT,
};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::{Duration, SystemTime};

#[cfg(feature = "tls")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "tls"))]
type Connector = HttpConnector;

/// The most of a response body read (a partial success or an error message).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The HTTP client, shared by every signal.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    client: Client<Connector, Full<Bytes>>,
}

/// Where and how one signal's requests go.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    uri: http::Uri,
    headers: HeaderMap,
    json: bool,
    pub(crate) compression: Compression,
    pub(crate) timeout: Duration,
}

/// The outcome of one request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// 2xx: the collector took the data (perhaps refusing some of it).
    Accepted(Option<PartialSuccess>),
    /// Worth retrying: a connection error, a timeout, 429, 502, 503 or 504.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
        timed_out: bool,
    },
    /// Not worth retrying (another status): the data is lost.
    Failed(String),
}

impl Transport {
    pub(crate) fn new() -> Result<Self, OtlpError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        #[cfg(feature = "tls")]
        let connector = {
            let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(provider)
                .map_err(|e| OtlpError::Tls(e.to_string()))?
                .https_or_http()
                .enable_http1()
                .wrap_connector(http)
        };
        #[cfg(not(feature = "tls"))]
        let connector = http;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(2)
            .build(connector);
        Ok(Self { client })
    }

    /// Sends `body` to `target`, waiting at most `timeout` for the whole exchange.
    pub(crate) async fn send(&self, target: &Target, body: Bytes, timeout: Duration) -> Attempt {
        let mut request = match http::Request::post(target.uri.clone()).body(Full::new(body)) {
            Ok(r) => r,
            Err(e) => return Attempt::Failed(format!("could not build the request: {e}")),
        };
        *request.headers_mut() = target.headers.clone();
        let exchange = async {
            let response = match self.client.request(request).await {
                Ok(r) => r,
                Err(e) => {
                    return Attempt::Retry {
                        reason: error_chain(&e),
                        retry_after: None,
                        timed_out: false,
                    }
                }
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
            let json = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map_or(target.json, |ct| ct.contains("json"));
            // A body that fails to arrive leaves nothing to read, not a failed export.
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            if (200..300).contains(&status) {
                Attempt::Accepted(response::partial_success(&body, json))
            } else {
                let message = response::error_message(&body, json);
                let reason = if message.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status}: {message}")
                };
                if retry::retryable_status(status) {
                    Attempt::Retry {
                        reason,
                        retry_after,
                        timed_out: false,
                    }
                } else {
                    Attempt::Failed(reason)
                }
            }
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(attempt) => attempt,
            Err(_) => Attempt::Retry {
                reason: format!("no response within {timeout:?}"),
                retry_after: None,
                timed_out: true,
            },
        }
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Target {
    /// The request target of a signal; the configuration was checked, so the URL and
    /// headers are valid.
    pub(crate) fn new(signal: Signal, config: &SignalConfig) -> Result<Self, OtlpError> {
        let uri: http::Uri = config
            .endpoint
            .parse()
            .map_err(|e: http::uri::InvalidUri| OtlpError::Endpoint {
                signal: signal.as_str(),
                url: config.endpoint.clone(),
                reason: e.to_string(),
            })?;
        let mut headers = HeaderMap::new();
        for (name, value) in &config.headers {
            let invalid = |reason| OtlpError::Header {
                name: name.clone(),
                reason,
            };
            headers.append(
                HeaderName::from_bytes(name.as_bytes())
                    .map_err(|_| invalid("not a valid header name"))?,
                HeaderValue::from_str(value)
                    .map_err(|_| invalid("the value has characters a header cannot hold"))?,
            );
        }
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static(config.protocol.content_type()),
        );
        if config.compression == Compression::Gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("telem-otlp/", env!("CARGO_PKG_VERSION"))),
        );
        Ok(Self {
            uri,
            headers,
            json: config.protocol == Protocol::HttpJson,
            compression: config.compression,
            timeout: config.timeout,
        })
    }
}
