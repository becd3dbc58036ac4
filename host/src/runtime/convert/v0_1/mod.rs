//! Host IR <-> `plugboard:adapter@0.1.0`, both directions where a guest needs them.
//! The host's types follow the newest contract: what 0.1 lacks is filled in going up
//! (`worlds`), and what 0.1 still has (`chat-request.model`) is filled in going down.
//!
//! The conversions whose shape 0.1 shares with every version are written once, in
//! `convert::shared_ir`, and generated here by its macro; what is 0.1's own (its
//! unclassified stream error, its world-level records) is written by hand beside it.

mod stream_error;
#[cfg(test)]
mod tests;
mod worlds;

super::shared_ir::shared_ir_conversions! {
    types: crate::runtime::bindings::v0_1::types,
    translator: crate::runtime::bindings::v0_1::provider::exports::plugboard::adapter::translator,
    filter: crate::runtime::bindings::v0_1::fixup::exports::plugboard::adapter::filter,
    chat_request_extra: { model: String },
    stream_error: {
        to_wit: stream_error::upstream_error_to_wit,
        from_wit: stream_error::upstream_error_from_wit,
    },
}

pub use worlds::{
    API_KEY_KIND, decode_context, encode_context, fixup_context, fixup_info, provider_info,
};
