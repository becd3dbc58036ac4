//! Test provider `test-panic`: `encode` panics with a recognisable message, so
//! the host must turn the trap into a typed error and drop the poisoned instance.

#[path = "../../trivial_provider.rs"]
mod trivial_provider;

use plugboard_sdk::prelude::*;
use trivial_provider::{EncodeOnly, test_info};

/// The message the panic carries; tests look for it in the host's error.
pub const PANIC_MESSAGE: &str = "test-panic: deliberate";

/// The component.
pub struct Panic;

impl Provider for Panic {
    type Call = EncodeOnly;

    fn info() -> AdapterInfo {
        test_info("test-panic", "encode panics")
    }

    fn call(ctx: CallContext) -> EncodeOnly {
        EncodeOnly(encode, ctx)
    }
}

/// Panics.
fn encode(_ctx: &CallContext, _request: ChatRequest) -> Result<HttpRequest, AdapterError> {
    panic!("{PANIC_MESSAGE}");
}

export_provider!(Panic);
