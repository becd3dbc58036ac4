//! Aggregates IR stream events into one complete response, for clients that did not ask
//! for a stream (upstreams may stream either way).
//!
//! API CONTRACT (bodies being written):
//! - `pub struct Collector` with `new()`, `push(&mut self, &StreamEvent)`, `finish(self) -> Collected`
//! - `pub struct Collected { metadata, parts: Vec<Part> (text, reasoning, tool calls in order), finish: Option<Finish>, error: Option<AdapterError> }`
