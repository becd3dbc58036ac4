//! Host IR <-> `plugboard:adapter@0.1.0`, both directions, for every type.
//!
//! Conversions consume their input where the caller owns it, so strings and byte
//! buffers move instead of being copied. `options` objects cross the boundary as
//! JSON text (the WIT `json` type); text a guest sends back that does not parse is
//! kept as a JSON string rather than dropped, so nothing a client sent disappears.

mod events;
mod request;
#[cfg(test)]
mod tests;
mod worlds;

pub use events::{events_from_wit, events_to_wit};
pub use worlds::fixup_context;

use serde_json::Value;

use crate::ir;

/// `options` to WIT: JSON text.
pub(super) fn options_to_wit(options: ir::Options) -> Option<String> {
    options.map(|value| value.to_string())
}

/// `options` from WIT: parsed, or kept as a JSON string when it does not parse.
pub(super) fn options_from_wit(options: Option<String>) -> ir::Options {
    options.map(|text| match serde_json::from_str::<Value>(&text) {
        Ok(value) => value,
        Err(error) => {
            tracing::debug!(%error, "guest sent options that are not JSON; kept as a string");
            Value::String(text)
        }
    })
}
