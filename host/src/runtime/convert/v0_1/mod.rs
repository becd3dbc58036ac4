//! Host IR <-> `plugboard:adapter@0.1.0`, both directions where a guest needs them.
//! The host's types follow the newest contract: what 0.1 lacks is filled in going up
//! (`worlds`), and what 0.1 still has (`chat-request.model`) is filled in going down.
//!
//! Conversions consume their input where the caller owns it, so strings and byte
//! buffers move instead of being copied.

mod events;
mod request;
#[cfg(test)]
mod tests;
mod worlds;

pub use events::{events_from_wit, events_to_wit};
pub use request::chat_request_to_wit;
pub use worlds::{
    API_KEY_KIND, decode_context, encode_context, fixup_context, fixup_info, provider_info,
};
