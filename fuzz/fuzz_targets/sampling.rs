//! Consistent probability sampling over any remote parent's `tracestate`: deciding
//! never panics, the span's trace state is still a valid header, a span that is not
//! sampled carries no threshold (`th`), and a sampled one carries at most one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telem::{Sampler, SpanContext, SpanId, TraceFlags, TraceId, TraceState};

fuzz_target!(|data: &[u8]| {
    if data.len() < 19 {
        return;
    }
    let (head, rest) = data.split_at(19);
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(state) = TraceState::from_header(s) else {
        return;
    };
    let mut id = [0u8; 16];
    id.copy_from_slice(&head[..16]);
    let trace_id = TraceId::from_bytes(id);
    let ratio = f64::from(head[16]) / 255.0;
    let sampler = match head[17] % 3 {
        0 => Sampler::TraceIdRatioBased(ratio),
        1 => Sampler::parent_based(Sampler::TraceIdRatioBased(ratio)),
        _ => Sampler::default(),
    };
    let parent = SpanContext::new(
        trace_id,
        SpanId::from_raw(1),
        TraceFlags::new(head[18] & 0x03),
        state,
        // Remote: the parent's state is checked (a sampled local parent's passes as is).
        true,
    );
    let decision = sampler.should_sample(Some(&parent), trace_id);
    let out = decision.trace_state;
    assert_eq!(TraceState::from_header(&out.header_value()), Ok(out.clone()));
    let thresholds = out
        .get("ot")
        .map_or(0, |ot| ot.split(';').filter(|m| m.starts_with("th:")).count());
    if decision.sampled {
        assert!(thresholds <= 1, "{out:?}");
    } else {
        assert_eq!(thresholds, 0, "{out:?}");
    }
});
