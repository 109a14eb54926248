//! Where propagated headers are read from and written to: [`Extractor`] and
//! [`Injector`], with implementations for `http::HeaderMap` and `HashMap<String, String>`.

use http::header::{HeaderMap, HeaderName, HeaderValue};
use std::collections::HashMap;
use std::hash::BuildHasher;

/// A carrier that propagation reads headers from: HTTP request headers, message
/// headers, any string map. Keys are given in lowercase; implementations should match
/// them case-insensitively.
///
/// ```
/// use telem::propagation::Extractor;
///
/// /// Message headers as a list of pairs.
/// struct Pairs(Vec<(String, String)>);
///
/// impl Extractor for Pairs {
///     fn get(&self, key: &str) -> Option<&str> {
///         self.0.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
///     }
///     fn get_all(&self, key: &str) -> Vec<&str> {
///         self.0.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str()).collect()
///     }
///     fn keys(&self) -> Vec<&str> {
///         self.0.iter().map(|(k, _)| k.as_str()).collect()
///     }
/// }
///
/// let pairs = Pairs(vec![("Baggage".into(), "a=1".into()), ("baggage".into(), "b=2".into())]);
/// let ctx = telem::propagation::extract(&pairs);
/// assert_eq!(ctx.baggage().unwrap().len(), 2);
/// ```
pub trait Extractor {
    /// The value of `key` (the first, if there are several).
    fn get(&self, key: &str) -> Option<&str>;

    /// Every value of `key`, in order, for headers that may be repeated (`tracestate`,
    /// `baggage`), and to spot a repeated `traceparent`. The default returns
    /// [`get`](Extractor::get)'s value alone.
    fn get_all(&self, key: &str) -> Vec<&str> {
        self.get(key).into_iter().collect()
    }

    /// Every key in the carrier.
    fn keys(&self) -> Vec<&str>;
}

/// A carrier that propagation writes headers into. Keys are given in lowercase.
///
/// ```
/// use telem::propagation::Injector;
///
/// struct Pairs(Vec<(String, String)>);
///
/// impl Injector for Pairs {
///     fn set(&mut self, key: &str, value: String) {
///         self.0.retain(|(k, _)| k != key);
///         self.0.push((key.to_owned(), value));
///     }
/// }
///
/// let mut pairs = Pairs(Vec::new());
/// let ctx = telem::Context::empty()
///     .with_baggage(telem::propagation::Baggage::from_header("a=1"));
/// telem::propagation::inject_context(&ctx, &mut pairs);
/// assert_eq!(pairs.0, [("baggage".to_owned(), "a=1".to_owned())]);
/// ```
pub trait Injector {
    /// Sets `key` to `value`, replacing any value it had.
    fn set(&mut self, key: &str, value: String);
}

/// Reads `http` header maps (case-insensitive names; values that are not visible ASCII
/// are skipped).
///
/// ```
/// use telem::propagation::Extractor;
/// let mut headers = http::HeaderMap::new();
/// headers.append("TraceState", "a=1".parse().unwrap());
/// headers.append("tracestate", "b=2".parse().unwrap());
/// assert_eq!(Extractor::get(&headers, "tracestate"), Some("a=1"));
/// assert_eq!(headers.get_all("tracestate").iter().count(), 2);
/// assert_eq!(Extractor::get_all(&headers, "tracestate"), ["a=1", "b=2"]);
/// ```
/// The propagation headers as ready names, so looking them up skips parsing the key.
fn known_header(key: &str) -> Option<HeaderName> {
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

impl Extractor for HeaderMap {
    fn get(&self, key: &str) -> Option<&str> {
        match known_header(key) {
            Some(name) => HeaderMap::get(self, name),
            None => HeaderMap::get(self, key),
        }
        .and_then(|v| v.to_str().ok())
    }

    fn get_all(&self, key: &str) -> Vec<&str> {
        match known_header(key) {
            Some(name) => HeaderMap::get_all(self, name),
            None => HeaderMap::get_all(self, key),
        }
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
    }

    fn keys(&self) -> Vec<&str> {
        HeaderMap::keys(self).map(HeaderName::as_str).collect()
    }
}

/// Writes into `http` header maps, replacing existing values. A key or value that is
/// not a valid header is skipped (the propagators only write valid ones).
///
/// ```
/// use telem::propagation::Injector;
/// let mut headers = http::HeaderMap::new();
/// headers.set("baggage", "a=1".to_owned());
/// assert_eq!(headers["baggage"], "a=1");
/// ```
impl Injector for HeaderMap {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::try_from(value),
        ) {
            self.insert(name, value);
        }
    }
}

/// Reads string maps (message headers, queue attributes). The exact key is tried
/// first, then any key equal to it ignoring ASCII case.
///
/// ```
/// use std::collections::HashMap;
/// use telem::propagation::Extractor;
/// let map = HashMap::from([("TraceParent".to_owned(), "00-...".to_owned())]);
/// assert_eq!(Extractor::get(&map, "traceparent"), Some("00-..."));
/// ```
impl<S: BuildHasher> Extractor for HashMap<String, String, S> {
    fn get(&self, key: &str) -> Option<&str> {
        HashMap::get(self, key)
            .or_else(|| {
                self.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .map(String::as_str)
    }

    fn keys(&self) -> Vec<&str> {
        HashMap::keys(self).map(String::as_str).collect()
    }
}

/// Writes into string maps, under the lowercase key.
///
/// ```
/// use std::collections::HashMap;
/// use telem::propagation::Injector;
/// let mut map = HashMap::new();
/// map.set("traceparent", "00-...".to_owned());
/// assert_eq!(map["traceparent"], "00-...");
/// ```
impl<S: BuildHasher> Injector for HashMap<String, String, S> {
    fn set(&mut self, key: &str, value: String) {
        self.insert(key.to_ascii_lowercase(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_map_reads_case_insensitively_and_all_lines() {
        let mut headers = HeaderMap::new();
        headers.append("Baggage", HeaderValue::from_static("a=1"));
        headers.append("BAGGAGE", HeaderValue::from_static("b=2"));
        headers.append("x-other", HeaderValue::from_static("1"));
        assert_eq!(Extractor::get(&headers, "baggage"), Some("a=1"));
        assert_eq!(Extractor::get_all(&headers, "baggage"), ["a=1", "b=2"]);
        assert_eq!(Extractor::get(&headers, "missing"), None);
        assert!(Extractor::get_all(&headers, "missing").is_empty());
        let mut keys = Extractor::keys(&headers);
        keys.sort_unstable();
        assert_eq!(keys, ["baggage", "x-other"]);
    }

    #[test]
    fn header_map_skips_values_that_are_not_visible_ascii() {
        let mut headers = HeaderMap::new();
        headers.append("baggage", HeaderValue::from_bytes(b"k=\xff").unwrap());
        headers.append("baggage", HeaderValue::from_static("a=1"));
        assert_eq!(Extractor::get(&headers, "baggage"), None);
        assert_eq!(Extractor::get_all(&headers, "baggage"), ["a=1"]);
    }

    #[test]
    fn header_map_injection_replaces_and_skips_invalid_headers() {
        let mut headers = HeaderMap::new();
        headers.append("traceparent", HeaderValue::from_static("old"));
        headers.append("traceparent", HeaderValue::from_static("older"));
        Injector::set(&mut headers, "traceparent", "new".to_owned());
        assert_eq!(Extractor::get_all(&headers, "traceparent"), ["new"]);
        Injector::set(&mut headers, "bad name", "v".to_owned());
        Injector::set(&mut headers, "baggage", "a\nb".to_owned());
        assert_eq!(headers.len(), 1);
    }

    #[test]
    fn hash_map_reads_exact_then_any_case_and_writes_lowercase() {
        let mut map: HashMap<String, String> = HashMap::new();
        map.insert("TraceState".into(), "a=1".into());
        assert_eq!(Extractor::get(&map, "tracestate"), Some("a=1"));
        assert_eq!(Extractor::get_all(&map, "tracestate"), ["a=1"]);
        Injector::set(&mut map, "Baggage", "b=2".into());
        assert_eq!(map.get("baggage").map(String::as_str), Some("b=2"));
        let mut keys = Extractor::keys(&map);
        keys.sort_unstable();
        assert_eq!(keys, ["TraceState", "baggage"]);
    }
}
