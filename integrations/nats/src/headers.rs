//! NATS message headers as propagation carriers: [`HeaderExtractor`] and
//! [`HeaderInjector`].

use async_nats::{HeaderMap, HeaderName, HeaderValue};
use telem::propagation::{Extractor, Injector};

/// The propagation headers as ready names, so looking them up parses nothing.
fn known(key: &str) -> Option<HeaderName> {
    const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
    const TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
    const BAGGAGE: HeaderName = HeaderName::from_static("baggage");
    match key {
        "traceparent" => Some(TRACEPARENT),
        "tracestate" => Some(TRACESTATE),
        "baggage" => Some(BAGGAGE),
        _ => None,
    }
}

/// `key` as a header name, `None` if it is not a valid one: empty (which async-nats
/// accepts, and writes as a line the server cannot parse), or with a character other
/// than visible ASCII, or `:` (looking such a name up with a `&str` panics).
fn name(key: &str) -> Option<HeaderName> {
    known(key).or_else(|| key.parse().ok().filter(|_| !key.is_empty()))
}

/// Reads a message's [`HeaderMap`] for [`telem::propagation`]: the exact name first,
/// then any name equal to it ignoring ASCII case (NATS header names are
/// case-sensitive; another client may have written `Traceparent`).
/// [`get_all`](Extractor::get_all) gives every value of every such name, in the order
/// the message has them for each name, the exact name's first.
///
/// ```
/// use async_nats::HeaderMap;
/// use telem::propagation::Extractor;
/// use telem_nats::HeaderExtractor;
///
/// let mut headers = HeaderMap::new();
/// headers.insert("TraceState", "a=1");
/// headers.append("TraceState", "b=2");
/// let carrier = HeaderExtractor(&headers);
/// assert_eq!(carrier.get("tracestate"), Some("a=1"));
/// assert_eq!(carrier.get_all("tracestate"), ["a=1", "b=2"]);
/// assert_eq!(carrier.get("baggage"), None);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        let exact = name(key).and_then(|n| self.0.get(n));
        exact
            .or_else(|| {
                self.0
                    .iter()
                    .find(|(k, _)| AsRef::<str>::as_ref(*k).eq_ignore_ascii_case(key))
                    .and_then(|(_, values)| values.first())
            })
            .map(HeaderValue::as_str)
    }

    fn get_all(&self, key: &str) -> Vec<&str> {
        let exact = name(key);
        let mut values: Vec<&str> = exact
            .as_ref()
            .map(|n| self.0.get_all(n.clone()).map(HeaderValue::as_str).collect())
            .unwrap_or_default();
        for (k, vs) in self.0.iter() {
            if Some(k) != exact.as_ref() && AsRef::<str>::as_ref(k).eq_ignore_ascii_case(key) {
                values.extend(vs.iter().map(HeaderValue::as_str));
            }
        }
        values
    }

    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| k.as_ref()).collect()
    }
}

/// Writes [`telem::propagation`]'s headers into a message's [`HeaderMap`], replacing a
/// value the name had. Never panics: a name or value that is not a valid NATS header
/// (a value with a line break) is skipped; the propagators write only valid ones.
///
/// ```
/// use async_nats::HeaderMap;
/// use telem::propagation::Injector;
/// use telem_nats::HeaderInjector;
///
/// let mut headers = HeaderMap::new();
/// HeaderInjector(&mut headers).set("baggage", "tenant=acme".to_owned());
/// HeaderInjector(&mut headers).set("baggage", "a=1\r\nb: 2".to_owned());
/// assert_eq!(headers.get("baggage").unwrap().as_str(), "tenant=acme");
/// ```
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Some(name), Ok(value)) = (name(key), value.parse::<HeaderValue>()) {
            self.0.insert(name, value);
        }
    }
}
