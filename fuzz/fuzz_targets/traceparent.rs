//! `traceparent` parsing never panics, and whatever it accepts formats to a version-00
//! header that parses back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telem::propagation::TraceParent;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = TraceParent::parse(s) {
        let header = parsed.header_value();
        assert_eq!(header.len(), 55);
        assert_eq!(TraceParent::parse(&header), Ok(parsed));
        assert!(parsed.trace_id.is_valid() && parsed.parent_id.is_valid());
    }
});
