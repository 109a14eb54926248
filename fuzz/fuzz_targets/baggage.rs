//! `baggage` parsing never panics, keeps to its limits, and formats to a header that
//! parses back to the same baggage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telem::propagation::{Baggage, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // A newline splits the input into header lines.
    let baggage = Baggage::from_header_lines(s.split('\n'));
    let header = baggage.header_value();
    assert!(baggage.len() <= MAX_BAGGAGE_MEMBERS);
    assert!(header.len() <= MAX_BAGGAGE_BYTES);
    assert_eq!(Baggage::from_header(&header), baggage);
});
