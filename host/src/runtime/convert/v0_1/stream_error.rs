//! 0.1's `stream-event::error` carries an `adapter-error` (a kind and a message), not
//! the classified `upstream-error` the host IR has.

use crate::ir;
use crate::runtime::bindings::v0_1::types as wit;

/// A stream error for a 0.1 fixup, as 0.1 had it: an upstream adapter error.
pub fn upstream_error_to_wit(error: ir::UpstreamError) -> wit::AdapterError {
    wit::AdapterError {
        kind: wit::ErrorKind::Upstream,
        message: error.message,
    }
}

/// A 0.1 stream error in host form: 0.1 did not classify stream errors, so it is
/// routed as class `other`.
pub fn upstream_error_from_wit(error: wit::AdapterError) -> ir::UpstreamError {
    ir::UpstreamError {
        class: ir::ErrorClass::Other,
        message: error.message,
    }
}
