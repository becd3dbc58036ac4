//! Host IR <-> `plugboard:adapter@0.2.0`, both directions, for every type. The host's
//! own types follow this contract, so these are one-to-one.
//!
//! Conversions consume their input where the caller owns it, so strings and byte
//! buffers move instead of being copied.

mod events;
mod request;
#[cfg(test)]
mod tests;
mod worlds;

pub use events::{events_from_wit, events_to_wit};
pub use worlds::{call_context, fixup_context, fixup_info, provider_info};
