//! `tracestate` parsing never panics (one header or several lines), and whatever it
//! accepts formats to a header that parses back to the same state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telemetry::{TraceState, MAX_TRACE_STATE_MEMBERS};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // A newline splits the input into header lines.
    if let Ok(state) = TraceState::from_header_lines(s.split('\n')) {
        assert!(state.entries().count() <= MAX_TRACE_STATE_MEMBERS);
        assert_eq!(TraceState::from_header(&state.header_value()), Ok(state));
    }
});
