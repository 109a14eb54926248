//! Reading the `trace` metric of `server-timing` never panics (one header or several
//! lines), and whatever it accepts is a valid version-00 trace context whose written
//! metric reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telem::propagation::TraceParent;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    // A newline splits the input into header lines.
    if let Some(found) = TraceParent::from_server_timing_lines(s.split('\n')) {
        assert!(found.trace_id.is_valid() && found.parent_id.is_valid());
        assert_eq!(found.flags.bits() & !0x03, 0);
        let written = found.server_timing_value();
        assert_eq!(TraceParent::from_server_timing(&written), Some(found));
    }
});
