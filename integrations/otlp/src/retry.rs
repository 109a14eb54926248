//! When to try a failed request again.

use crate::RetryPolicy;
use std::time::{Duration, SystemTime};

/// The wait before retry number `attempt` (0 for the first retry): the initial backoff
/// doubled per attempt, capped at the maximum, then "equal jitter": a uniformly random
/// point in its upper half (`random` in `[0, 1)`), so clients that failed together
/// spread out yet each still backs off.
pub(crate) fn backoff(policy: &RetryPolicy, attempt: u32, random: f64) -> Duration {
    let factor = 2u32.saturating_pow(attempt.min(31));
    let full = policy
        .initial_backoff
        .saturating_mul(factor)
        .min(policy.max_backoff);
    full / 2 + full.mul_f64(random.clamp(0.0, 1.0) / 2.0)
}

/// A random number in `[0, 1)` for jitter (the span id generator's thread-local wyrand).
pub(crate) fn random() -> f64 {
    (telem::SpanId::random().to_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A `Retry-After` header: delay-seconds, or an HTTP date (a past date means now).
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Whether an HTTP status is worth retrying: OTLP/HTTP's 429, 502, 503 and 504.
pub(crate) fn retryable_status(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let p = RetryPolicy::new()
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(1000));
        assert_eq!(backoff(&p, 0, 0.0), Duration::from_millis(50));
        assert_eq!(backoff(&p, 0, 0.999_999), Duration::from_nanos(99_999_950));
        assert_eq!(backoff(&p, 1, 0.0), Duration::from_millis(100));
        assert_eq!(backoff(&p, 3, 0.0), Duration::from_millis(400));
        assert_eq!(backoff(&p, 4, 0.0), Duration::from_millis(500)); // capped at 1000
        assert_eq!(backoff(&p, 200, 0.5), Duration::from_millis(750));
        for _ in 0..1000 {
            let r = random();
            assert!((0.0..1.0).contains(&r));
        }
    }

    #[test]
    fn retry_after_as_seconds_or_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn only_429_502_503_504_are_retried() {
        for s in [429, 502, 503, 504] {
            assert!(retryable_status(s));
        }
        for s in [400, 401, 403, 404, 413, 500, 501] {
            assert!(!retryable_status(s));
        }
    }
}
