//! Test provider `test-spin`: `encode-request` never returns, so the host's deadline
//! (epoch interruption) must stop it.

#[path = "../../trivial_provider.rs"]
mod trivial_provider;

use plugboard_sdk::prelude::*;
use trivial_provider::{FinishOnly, test_info};

/// The component.
pub struct Spin;

impl Provider for Spin {
    type Decoder = FinishOnly;

    fn info() -> AdapterInfo {
        test_info("test-spin", "encode-request loops forever")
    }

    fn encode_request(
        _request: ChatRequest,
        _ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        let mut counter: u64 = 0;
        loop {
            // black_box keeps the optimiser from proving the loop has no effect.
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }

    fn decoder(_ctx: DecodeContext) -> FinishOnly {
        FinishOnly
    }
}

export_provider!(Spin);
