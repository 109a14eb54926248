//! `tracestate` parsing never panics (one header or several lines); whatever it accepts
//! follows the W3C Level 2 grammar, names each key once, and formats to a header that
//! parses back to the same state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telem::{TraceState, MAX_TRACE_STATE_MEMBERS};

/// W3C Trace Context Level 2, § "Key".
fn level_2_key(key: &str) -> bool {
    let b = key.as_bytes();
    !b.is_empty()
        && b.len() <= 256
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-*/@".contains(&c)
        })
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // A newline splits the input into header lines.
    if let Ok(state) = TraceState::from_header_lines(s.split('\n')) {
        assert!(state.entries().count() <= MAX_TRACE_STATE_MEMBERS);
        let mut keys = std::collections::HashSet::new();
        for (key, _) in state.entries() {
            assert!(level_2_key(key), "{key:?}");
            assert!(keys.insert(key), "{key:?} twice");
        }
        assert_eq!(TraceState::from_header(&state.header_value()), Ok(state));
    }
});
