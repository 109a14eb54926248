//! Carrying a trace across processes: W3C Trace Context (`traceparent`, `tracestate`)
//! and W3C Baggage (`baggage`) in and out of HTTP headers or any other carrier.
//!
//! - [`extract`] turns request headers into a [`Context`](crate::Context): the caller's
//!   span as a remote parent, and the request's [`Baggage`]. Malformed headers never
//!   fail a request: a bad `traceparent` starts a new trace, a bad `tracestate` is
//!   dropped alone, bad baggage members are dropped one by one.
//! - [`inject`] writes the current span (and baggage) into an outgoing request;
//!   [`inject_context`] writes a given context.
//! - [`Extractor`] and [`Injector`] are the carriers: implemented for
//!   `http::HeaderMap` and `HashMap<String, String>`, and easy to implement for message
//!   headers.
//! - [`TraceParent`], [`TraceState::from_header`](crate::TraceState::from_header) and
//!   [`Baggage::from_header`] are the parsers, each with its `header_value` formatter.
//!
//! ```
//! use telem::propagation::{self, Baggage};
//! use telem::Tracer;
//!
//! static TRACER: Tracer = Tracer::new("doc");
//!
//! // An incoming request.
//! let mut request = http::HeaderMap::new();
//! request.insert("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".parse().unwrap());
//! request.insert("baggage", "tenant=acme".parse().unwrap());
//!
//! let ctx = propagation::extract(&request);
//! let _attached = ctx.attach();
//! let _span = TRACER.start_span("GET /books"); // a child of the caller's span
//! assert_eq!(Baggage::current().get("tenant"), Some("acme"));
//!
//! // An outgoing request carries the trace on (the current span, or the caller's
//! // when recording is off) and the baggage.
//! let mut outgoing = http::HeaderMap::new();
//! propagation::inject(&mut outgoing);
//! assert!(outgoing["traceparent"].to_str().unwrap().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
//! assert_eq!(outgoing["baggage"], "tenant=acme");
//! ```
//!
//! # Conformance
//!
//! Where each rule of W3C Trace Context Level 2 and of OpenTelemetry's consistent
//! probability sampling lives, and which tests check it. Tests are named
//! `file::function`. Unit tests go by their source file: `traceparent`,
//! `server_timing` and `w3c` in this module; `trace_state` (the `tracestate` grammar
//! and header parser, beside the type), `sampler` and `probability` in
//! `telemetry/src`; `client` in `integrations/axum/src`. Integration tests:
//! `level2::` is `telemetry/tests/trace_context_level2.rs`, `context::` is
//! `telemetry/tests/propagation_context.rs`, `axum::` is
//! `integrations/axum/tests/trace_context.rs` (two real servers) and `axum_layer::` is
//! `integrations/axum/tests/layer.rs`. The cargo-fuzz targets `traceparent`,
//! `tracestate`, `server_timing` and `sampling` (in `fuzz/`) run the same code over
//! arbitrary input.
//!
//! ## Trace Context: `traceparent`
//!
//! - *Header name*: matched in any case, written in lowercase (the carriers,
//!   `carrier.rs`). `level2::header_names_are_case_insensitive_and_lines_combine`,
//!   `w3c::valid_traceparent_and_tracestate_give_a_remote_parent`,
//!   `w3c::inject_writes_lowercase_headers_from_a_context`.
//! - *version*: two lowercase hex digits, then `-`; `ff` is refused
//!   (`TraceParent::parse`). `traceparent::bad_versions`,
//!   `traceparent::version_ff_is_forbidden`.
//! - *trace-id*, *parent-id*: 32 and 16 lowercase hex digits, never all zeros; one bad
//!   field discards the whole header. The ids this crate makes come from a per-thread
//!   wyrand generator (`ids.rs`) and are random throughout.
//!   `traceparent::all_zero_ids_are_refused`,
//!   `traceparent::uppercase_hex_is_refused_in_every_field`,
//!   `traceparent::illegal_characters`, `traceparent::wrong_lengths`,
//!   `context::every_kind_of_malformed_traceparent_starts_a_new_trace`.
//! - *trace-flags*: a bit field; `TraceFlags::is_sampled` and `is_random` each test a
//!   single bit (`ids.rs`).
//!   `traceparent::version_00_keeps_sampled_and_random_flags_only`.
//! - *Sampled flag*: the span's head sampling decision (`sampler.rs`); the default
//!   sampler, `parent_based(AlwaysOn)`, takes the caller's. It is decided only when a
//!   span starts, so it never changes without a new parent id.
//!   `context::an_unsampled_caller_is_followed_and_its_decision_propagated`,
//!   `sampler::parent_based_follows_parent`.
//! - *Random Trace ID flag*: set on every trace this crate starts; a span that continues
//!   a trace copies its parent's bit, set or clear, so every `traceparent` it sends and
//!   the response's metric carry it unchanged (`span.rs`: `Span::begin_enabled`,
//!   `SpanGuard::start`, `SpanGuard::start_general`).
//!   `level2::the_random_flag_is_kept_exactly_as_it_came_in`,
//!   `level2::new_traces_set_the_random_flag`,
//!   `axum::an_unsampled_random_trace_keeps_the_random_flag_both_ways`,
//!   `axum::a_continued_trace_without_the_random_flag_does_not_gain_it`,
//!   `axum::a_new_trace_sets_the_random_flag_and_the_response_names_it`.
//! - *Other flags*: ignored when read, written as zeros (`VERSION_00_FLAGS` in
//!   `traceparent.rs`).
//!   `traceparent::version_00_keeps_sampled_and_random_flags_only`, and the `-ff` line
//!   of `level2::the_specification_examples`.
//! - *Versioning*: a later version is read by its first four fields (55 characters at
//!   least, and a `-` right after the flags when longer), keeping the sampled and random
//!   flags; what is sent on is always version `00`.
//!   `traceparent::future_version_reads_the_first_four_fields`,
//!   `traceparent::future_versions_accept_extra_fields`,
//!   `traceparent::version_00_with_anything_after_the_flags_is_refused`,
//!   `axum_layer::a_future_traceparent_version_is_understood`.
//!
//! ## Trace Context: `tracestate`
//!
//! - *The header*: read only once a valid `traceparent` is in hand, and a bad one never
//!   costs the `traceparent` (`TraceContextPropagator::extract_span_context`).
//!   `w3c::invalid_or_repeated_traceparent_starts_a_new_trace_and_ignores_tracestate`,
//!   `w3c::malformed_tracestate_is_dropped_alone`,
//!   `axum_layer::tracestate_and_baggage_follow_the_trust_policy`.
//! - *Header name*: as for `traceparent`, with the same tests.
//! - *Field values*: several lines make one list, in their order
//!   (`TraceState::from_header_lines`); it is sent as one line without optional
//!   whitespace (`TraceState::header_value`), and not sent when empty
//!   (`TraceContextPropagator::inject_context`).
//!   `trace_state::multiple_lines_are_concatenated_in_order`,
//!   `trace_state::empty_headers_are_accepted`, `w3c::inject_uses_the_current_context`.
//! - *list*: spaces and tabs around members and empty members are skipped; more than 32
//!   members (repeats included) refuse the header; `TraceState::insert` puts its key
//!   first and drops the right-most member beyond 32.
//!   `trace_state::optional_whitespace_around_members`,
//!   `trace_state::thirty_two_members_pass_and_thirty_three_refuse_the_whole_header`,
//!   the example on `TraceState::insert`.
//! - *Key*: the Level 2 grammar, a lowercase letter or a digit followed by at most 255 of
//!   `a-z`, `0-9`, `_`, `-`, `*`, `/`, `@` (`valid_key` in `trace_state.rs`).
//!   `trace_state::keys`, `trace_state::key_grammar`.
//! - *Value*: 1 to 256 printable ASCII characters other than `,` and `=`, the last not
//!   a space; leading spaces are part of it (`valid_value` in `trace_state.rs`).
//!   `trace_state::values`, `trace_state::value_grammar`,
//!   `trace_state::all_allowed_characters`.
//! - *Combined header*: a key appears once; when repeated, its first entry stays and
//!   so does the rest of the list.
//!   `trace_state::duplicate_keys_keep_the_first_entry_and_the_rest_of_the_list`,
//!   `axum::a_duplicate_tracestate_key_is_sent_on_once`.
//! - *Limits*: the list goes on whole, however long (see below).
//!   `level2::a_long_tracestate_is_sent_on_whole`,
//!   `trace_state::format_then_parse_round_trips`.
//! - *Versioning*: parsed whatever the `traceparent` version. The later-version line of
//!   `level2::the_specification_examples`.
//!
//! ## Trace Context: mutating the headers
//!
//! - *`traceparent`*: without one, the span starts a trace and sends it on whether
//!   sampled or not. With one, what goes out differs only as allowed: a new parent id
//!   (each span has its own); the sampled flag (decided at span start, so only with a
//!   new parent id); a restart (`SpanBuilder::root`; telem-axum's `Trust::Ignore`
//!   and `Trust::LinkOnly`), which leaves the caller's `tracestate` behind; the version
//!   lowered to `00`. A context sent on without a span of its own keeps both headers as
//!   they came.
//!   `axum::each_hop_sends_a_new_parent_id_and_keeps_trace_id_flags_and_tracestate`,
//!   `level2::new_traces_set_the_random_flag`,
//!   `axum_layer::inbound_trace_context_is_honoured_ignored_or_linked`,
//!   `axum_layer::tracestate_and_baggage_follow_the_trust_policy`,
//!   `w3c::extract_then_inject_passes_the_context_through`.
//! - *`tracestate`*: sent on as received. The only member this crate changes is
//!   OpenTelemetry's `ot` (`with_threshold` in `probability.rs`), which then moves to
//!   the front, the others keeping their order; no key appears twice, and no other
//!   member goes, except the right-most when `ot` is added to a list of 32 (the list
//!   rule). `probability::rewriting_the_threshold`,
//!   `sampler::a_ratio_sampler_writes_its_threshold_and_a_drop_erases_it`,
//!   `sampler::any_parent_state_gives_a_valid_state`,
//!   `level2::a_ratio_sampler_decides_by_threshold_and_sends_it_on`.
//!
//! ## Trace Context: processing model
//!
//! - *No traceparent received*: a new trace id and span id, sampled or not (steps 1
//!   and 2); a `tracestate` alone is dropped (step 3); no member of our own (step 4,
//!   see below); `inject` writes the headers (step 5). The "tracestate without
//!   traceparent" line of `level2::the_specification_examples`,
//!   `level2::new_traces_set_the_random_flag`.
//! - *A traceparent is received*: a version that does not parse, or an invalid field,
//!   starts a new trace without the `tracestate` (2.1, 2.3; two `traceparent` lines
//!   count as invalid); a later version is read as above, unknown flags zeroed (2.2);
//!   a `tracestate` that does not parse is dropped whole (3); each outgoing request
//!   carries the current span's id and decision (4).
//!   `w3c::invalid_or_repeated_traceparent_starts_a_new_trace_and_ignores_tracestate`,
//!   `context::every_kind_of_malformed_traceparent_starts_a_new_trace`,
//!   `axum_layer::malformed_traceparent_starts_a_new_trace`,
//!   `w3c::malformed_tracestate_is_dropped_alone`,
//!   `context::extracted_parent_parents_the_server_span_and_inject_writes_that_span`.
//! - *Alternative processing*: with no span of its own (recording off, or
//!   `inject_context` with the extracted context), a service passes both headers
//!   through untouched. `w3c::extract_then_inject_passes_the_context_through`.
//!
//! ## Trace Context: the response's server timing `trace` metric
//!
//! Written and read in `server_timing.rs`; telem-axum's `TelemetryLayer` adds it to
//! responses, its `ClientTraceLayer` reads it.
//!
//! - *Trace context metric*, *Metric name*: `trace;desc=00-<trace id>-<span id>-<flags>`
//!   names the server span; the name is written in lowercase and matched in any case;
//!   no duration. It is a header line of its own beside the handler's metrics, on by
//!   default (`TelemetryLayer::server_timing`).
//!   `server_timing::the_spec_example_is_read`,
//!   `server_timing::metric_name_is_case_insensitive_and_written_lowercase`,
//!   `server_timing::a_span_context_formats_as_the_spec_example`,
//!   `axum::the_trace_metric_is_added_beside_the_handlers_server_timing`,
//!   `axum::server_timing_off_leaves_the_trace_metric_out`.
//! - *Metric description format*, *span-id*, *version*: the desc follows
//!   `TraceParent::parse`; a metric with an invalid field, a zero span id included, is
//!   skipped and the first valid one counts. `server_timing::invalid_span_id_is_ignored`,
//!   `server_timing::version_ff_is_refused`, `server_timing::uppercase_hex_is_refused`,
//!   `server_timing::all_zero_ids_are_refused`,
//!   `server_timing::the_first_valid_trace_metric_wins`,
//!   `client::an_invalid_server_timing_trace_is_ignored`.
//! - *trace-flags*, *Random Trace ID flag*, *Other flags*: only sampled and random are
//!   read and written; the sampled bit is the server span's decision, the random bit
//!   the one the request brought (or set, for a trace the server started).
//!   A server that records a request which came unsampled answers sampled, since the
//!   metric carries the server span's own decision.
//!   `server_timing::only_the_sampled_and_random_flags_are_read_and_written`,
//!   `axum::a_server_that_records_an_unsampled_request_answers_sampled`,
//!   `axum::an_unsampled_random_trace_keeps_the_random_flag_both_ways`,
//!   `axum::a_continued_trace_without_the_random_flag_does_not_gain_it`,
//!   `axum::a_new_trace_sets_the_random_flag_and_the_response_names_it`.
//! - *Restarted trace* (the client side): a metric in another trace becomes a link on
//!   the client span, one in the client's own trace adds nothing, and its flags never
//!   change the client span.
//!   `axum::the_client_span_links_to_a_trace_the_callee_restarted`,
//!   `axum::the_client_span_records_nothing_for_a_callee_in_its_trace`,
//!   `client::a_server_timing_trace_in_another_trace_is_linked`,
//!   `client::a_server_timing_trace_in_the_same_trace_records_nothing`.
//!
//! ## OpenTelemetry: consistent probability sampling
//!
//! In `probability.rs` (thresholds, the `ot` member) and `sampler.rs` (decisions).
//!
//! - *Decision algorithm*: keep the span when `R >= T`. `R` is the `rv` of the `ot`
//!   member when valid, otherwise the trace id's 56 low bits, taken as random whether
//!   or not the random flag is set (the SDK's "presumption of TraceID randomness").
//!   `sampler::decisions_at_both_edges_of_the_threshold`,
//!   `sampler::ratio_samplers_agree_on_subsets`,
//!   `sampler::ratio_is_deterministic_and_within_tolerance`,
//!   `level2::ratio_sampled_roots_carry_their_threshold_to_children`.
//! - *Ratio to threshold*: the specification's reference conversion at 4 hex digits,
//!   one more per leading `f`, rounded half up (`ratio_threshold`); a ratio of 1 gives
//!   `0`, 0 or NaN never samples, and ratios under `2^-56` get the smallest
//!   probability that can be written.
//!   `probability::the_specification_table_of_thresholds`,
//!   `probability::thresholds_give_the_tabled_probabilities`,
//!   `probability::one_percent_at_five_digits`, `probability::edges`.
//! - *`th`*: 1 to 14 lowercase hex digits, padded with zeros on the right; written
//!   without trailing zeros (`0` alone for zero); a repeated `th` is rewritten as one,
//!   the member's other sub-keys kept. `probability::threshold_values`,
//!   `probability::reading_the_ot_member`, `probability::rewriting_the_threshold`.
//! - *`rv`*: exactly 14 lowercase hex digits; when valid it stands in for the trace id,
//!   and it is never written, changed or removed here. `probability::randomness_values`,
//!   `sampler::explicit_randomness_replaces_the_trace_id`.
//! - *The ratio sampler* (`TraceIdRatioBased`, with the algorithm of the SDK's
//!   `ProbabilitySampler`): ignores the parent's sampled flag; a kept span gets `th:T`,
//!   a dropped one no `th`.
//!   `sampler::a_ratio_sampler_writes_its_threshold_and_a_drop_erases_it`,
//!   `level2::a_ratio_sampler_decides_by_threshold_and_sends_it_on`.
//! - *Parent-based threshold*: a delegate following a sampled remote parent keeps the
//!   parent's `th` when `R >= th` and erases it otherwise; the check is made where the
//!   trace enters the process, and a child of a sampled local parent keeps the state
//!   that sampler already decided, as it is.
//!   `sampler::parent_based_propagates_a_consistent_threshold`,
//!   `level2::parent_based_sampling_checks_an_incoming_threshold`.
//! - *General requirements*: a ratio sampler, the only kind that sets a threshold
//!   here, writes it; a span whose probability is unknown carries no `th` (not
//!   sampled; sampled under an unsampled parent; following a sampled parent that had
//!   none); the `rv` a decision used stays in the span's state; that state is always a
//!   valid header with at most one `th`.
//!   `sampler::parent_based_delegates_can_be_overridden`,
//!   `sampler::parent_based_propagates_a_consistent_threshold`,
//!   `sampler::any_parent_state_gives_a_valid_state`, the `sampling` fuzz target.
//!
//! # Deliberately not done
//!
//! - **No `tracestate` member of our own** (processing model, step 4): there is no
//!   vendor data to carry. The only member written is OpenTelemetry's `ot`, with the
//!   sampling threshold.
//! - **No `traceresponse` header** (the processing model's response examples): the
//!   current text binds a response to the server timing `trace` metric, which is sent.
//! - **A response's sampled flag never changes the client's decision**: the flags are a
//!   recommendation, not a rule, and deferred ("load balancer") sampling would need a
//!   span that can start recording late, while a span's decision is made when it
//!   starts. Nor does a client continue a trace that a response names (it links to
//!   it), so the rule for the random flag of a trace started downstream never applies.
//! - **No truncation order for `tracestate`**: it is never truncated but sent on whole,
//!   which the 32-member, 256-character key and value limits bound at 16,447
//!   characters.
//! - **No compatibility warnings** for `TraceIdRatioBased` or `ProbabilitySampler` (a
//!   child ratio sampler, randomness presumed without the random flag): the crate
//!   prints no diagnostics (only the sinks an application installs write anything),
//!   so warnings wait for a logs signal.
//! - **`AlwaysOn` writes no `th:0`**: the SDK's plain `AlwaysOn` leaves the trace
//!   state alone (only the in-development `ComposableAlwaysOn` sets threshold 0). Under
//!   the default sampler every new trace would otherwise carry an `ot` member, in every
//!   outgoing request; without it a trace's adjusted count is unknown to downstream
//!   samplers, never wrong.
//! - **Root samplers never insert `rv`**: every trace id made here is random and
//!   carries the random flag, which is what `rv` would stand in for.
//! - **No composable samplers** (`CompositeSampler` and its `Composable*` samplers,
//!   still in development in the specification).
//! - **An `ot` member that would pass 256 characters loses its `th`**, where
//!   OpenTelemetry's tracestate handling advises refusing the change and telling the
//!   user: a missing threshold only makes the probability unknown, a stale one would
//!   be wrong, and there is nowhere to report to (as for the warnings).

mod baggage;
mod carrier;
mod server_timing;
mod traceparent;
mod tracestate;
mod w3c;

pub use baggage::{
    Baggage, BaggageError, BaggageGuard, BAGGAGE_HEADER, MAX_BAGGAGE_BYTES, MAX_BAGGAGE_MEMBERS,
};
pub use carrier::{Extractor, Injector};
pub use server_timing::SERVER_TIMING_HEADER;
pub use traceparent::{TraceParent, TraceParentError, TRACEPARENT_HEADER};
pub use tracestate::TRACESTATE_HEADER;
pub use w3c::{extract, inject, inject_context, TraceContextPropagator};
