//! Test provider `test-spin`: `encode` never returns, so the host's deadline
//! (epoch interruption) must stop it.

#[path = "../../trivial_provider.rs"]
mod trivial_provider;

use plugboard_sdk::prelude::*;
use trivial_provider::{EncodeOnly, test_info};

/// The component.
pub struct Spin;

impl Provider for Spin {
    type Call = EncodeOnly;

    fn info() -> AdapterInfo {
        test_info("test-spin", "encode loops forever")
    }

    fn call(ctx: CallContext) -> EncodeOnly {
        EncodeOnly(encode, ctx)
    }
}

/// Loops until the host stops it.
fn encode(_ctx: &CallContext, _request: ChatRequest) -> Result<HttpRequest, AdapterError> {
    let mut counter: u64 = 0;
    loop {
        // black_box keeps the optimiser from proving the loop has no effect.
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

export_provider!(Spin);
