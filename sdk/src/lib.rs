//! Write Plugboard provider adapters and fixups.
//!
//! A provider crate implements [`Provider`] (plus a [`Decoder`]) and calls
//! [`export_provider!`]; a fixup crate implements [`Fixup`] (plus a [`Filter`]) and
//! calls [`export_fixup!`]. Both are `cdylib` crates built for `wasm32-wasip2`, whose
//! output is already a component. Everything else here helps keep translation short and
//! testable on the native target: IR types with constructors ([`types`]), an incremental
//! SSE parser and writer ([`sse`]), streamed JSON array, NDJSON and AWS event-stream
//! readers ([`framing`]), JSON helpers ([`json`]), `Retry-After` parsing
//! ([`retry`]), error classification ([`classify`]), URL encoding of client-derived
//! values ([`url`]) and the host's log and config ([`host`]). [`response_decoder`] is
//! the streamed-or-document, passthrough-aware decoder around a provider's own state
//! machine; decoder tests share their split-everywhere assertions through `testing`
//! (native targets only).
//!
//! ```ignore
//! use plugboard_sdk::prelude::*;
//!
//! struct Echo;
//! impl Fixup for Echo {
//!     type Filter = Echo;
//!     fn info() -> FixupInfo { FixupInfo::new("echo", "1.0.0", "does nothing", Hooks::empty()) }
//!     fn filter(_: FixupContext) -> Echo { Echo }
//! }
//! impl Filter for Echo {}
//! export_fixup!(Echo);
//! ```
//!
//! The generated bindings are hidden: they are an implementation detail that changes
//! with wit-bindgen, while the traits here change only with the contract.

// The generated export macros name this crate by path; this makes that path resolve
// inside the crate too.
extern crate self as plugboard_sdk;

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

#[doc(hidden)]
#[path = "bindings.rs"]
pub mod __bindings;

pub mod classify;
pub mod fixup;
pub mod framing;
pub mod host;
pub mod json;
pub mod json_edit;
pub mod provider;
pub mod response_decoder;
pub mod retry;
pub mod schema;
pub mod sse;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod types;
pub mod url;

pub use fixup::{Filter, Fixup};
pub use provider::{Decoder, Provider, classify_by_status};
/// Re-exported so adapters use the same JSON crate (with `preserve_order`) as the SDK.
pub use serde_json;

/// Everything an adapter usually needs, in one import.
pub mod prelude {
    pub use crate::json::{
        JsonBody, parse_client_json, parse_ir_json, parse_upstream_json, provider_options,
        to_json_bytes,
    };
    pub use crate::sse::{SseEvent, SseParser, sse_frame};
    pub use crate::types::*;
    pub use crate::{
        Decoder, Filter, Fixup, Provider, classify_by_status, export_fixup, export_provider, host,
    };
    pub use serde_json::{Value, json};
}
