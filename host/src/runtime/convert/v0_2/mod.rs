//! Host IR <-> `plugboard:adapter@0.2.0`, both directions, for every type. The host's
//! own types follow this contract, so these are one-to-one.
//!
//! The conversions whose shape 0.2 shares with every version are written once, in
//! `convert::shared_ir`, and generated here by its macro; what is 0.2's own (error
//! classes, the classified stream error, its world-level records) is written by hand
//! beside it.

mod errors;
#[cfg(test)]
mod tests;
mod worlds;

super::shared_ir::shared_ir_conversions! {
    types: crate::runtime::bindings::v0_2::types,
    translator: crate::runtime::bindings::v0_2::provider::exports::plugboard::adapter::translator,
    filter: crate::runtime::bindings::v0_2::fixup::exports::plugboard::adapter::filter,
    chat_request_extra: {},
    stream_error: {
        to_wit: wit::UpstreamError::from,
        from_wit: ir::UpstreamError::from,
    },
}

/// 0.2's `chat-request` has exactly the host IR's fields.
impl From<ir::ChatRequest> for wit::ChatRequest {
    fn from(request: ir::ChatRequest) -> Self {
        chat_request_to_wit(request)
    }
}

pub use worlds::{call_context, fixup_context, fixup_info, provider_info};
