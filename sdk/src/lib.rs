//! Write Plugboard provider adapters and fixups for contract 0.2
//! (`wit/plugboard-adapter@0.2.0`, shipped inside this crate).
//!
//! A provider crate implements [`Provider`] (its info, and a [`Call`] per attempt) and
//! calls [`export_provider!`]; most adapters make their call a [`StandardCall`] and
//! write only an [`Encode`] and a [`ResponseState`](response_decoder::ResponseState)
//! that reads the answer through an [`EventWriter`](events::EventWriter), which keeps
//! the IR stream's rules. A fixup crate implements [`Fixup`] (stateless hooks) and
//! calls [`export_fixup!`], or, when it only edits the request, is one pure function
//! and [`request_fixup!`]. Both are `cdylib` crates built for `wasm32-wasip2`, whose
//! output is already a component.
//!
//! Everything else here keeps translation short and testable on the native target:
//! IR types with constructors ([`types`]), credential kinds ([`credentials`]), an
//! incremental SSE parser and writer ([`sse`]), streamed JSON array, NDJSON and AWS
//! event-stream readers ([`framing`]), JSON helpers ([`json`]), `Retry-After` parsing
//! ([`retry`]), error classification ([`classify`]), URL encoding of client-derived
//! values ([`url`]) and the host's log and config ([`host`]). Decoder tests share
//! split-everywhere and conformance assertions through `testing` (native only).
//!
//! ```ignore
//! use plugboard_sdk::prelude::*;
//!
//! pub fn trim(request: ChatRequest) -> ChatRequest { request }
//! plugboard_sdk::request_fixup!(Trim, id = "trim", description = "trims", applies_to = AppliesTo::any(), trim);
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

pub mod call;
pub mod classify;
pub mod credentials;
pub mod events;
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

pub use call::{Encode, StandardCall};
pub use fixup::Fixup;
pub use provider::{Call, Decoder, Provider, classify_by_status};
/// Re-exported so adapters use the same JSON crate (with `preserve_order`) as the SDK.
pub use serde_json;

/// Everything an adapter usually needs, in one import.
pub mod prelude {
    pub use crate::events::EventWriter;
    pub use crate::fixup::{EventsHook, RequestHook, UpstreamRequestHook};
    pub use crate::json::{
        JsonBody, parse_client_json, parse_ir_json, parse_upstream_json, provider_options,
        to_json_bytes,
    };
    pub use crate::response_decoder::{DecodeMode, ResponseDecoder, ResponseState};
    pub use crate::sse::{SseEvent, SseParser, sse_frame};
    pub use crate::types::*;
    pub use crate::{
        Call, Decoder, Encode, Fixup, Provider, StandardCall, classify_by_status, export_fixup,
        export_provider, host,
    };
    pub use serde_json::{Value, json};
}

/// The guest's heap: talc instead of the wasi-libc dlmalloc std would use. A guest call
/// allocates for every string and list the host lowers into it (each a `cabi_realloc`)
/// and for the JSON it reads and writes; on dlmalloc the allocator was ~30% of a request's
/// guest time. Opt out with `default-features = false` (feature `talc`).
#[cfg(all(target_family = "wasm", feature = "talc"))]
#[global_allocator]
// SAFETY: a wasm32-wasip2 component is single-threaded (no shared memory, no
// threads), which is what `TalckWasm`'s lock-free global requires.
static ALLOCATOR: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };
