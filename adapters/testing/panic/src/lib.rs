//! Test provider `test-panic`: `encode-request` panics with a recognisable message, so
//! the host must turn the trap into a typed error and drop the poisoned instance.

#[path = "../../trivial_provider.rs"]
mod trivial_provider;

use plugboard_sdk::prelude::*;
use trivial_provider::{FinishOnly, test_info};

/// The message the panic carries; tests look for it in the host's error.
pub const PANIC_MESSAGE: &str = "test-panic: deliberate";

/// The component.
pub struct Panic;

impl Provider for Panic {
    type Decoder = FinishOnly;

    fn info() -> AdapterInfo {
        test_info("test-panic", "encode-request panics")
    }

    fn encode_request(
        _request: ChatRequest,
        _ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        panic!("{PANIC_MESSAGE}");
    }

    fn decoder(_ctx: DecodeContext) -> FinishOnly {
        FinishOnly
    }
}

export_provider!(Panic);
