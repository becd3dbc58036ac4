//! Test provider `test-hog`: `encode` allocates without end (1 MiB at a time,
//! toward 1 GiB and beyond), so the host's memory cap must stop it. The blocks are
//! zeroed, not filled: every allocation grows linear memory all the same, and skipping
//! the fill keeps the guest fast, so only the cap (not the deadline) can stop it.

#[path = "../../trivial_provider.rs"]
mod trivial_provider;

use plugboard_sdk::prelude::*;
use trivial_provider::{EncodeOnly, test_info};

/// The component.
pub struct Hog;

impl Provider for Hog {
    type Call = EncodeOnly;

    fn info() -> AdapterInfo {
        test_info("test-hog", "encode allocates without end")
    }

    fn call(ctx: CallContext) -> EncodeOnly {
        EncodeOnly(encode, ctx)
    }
}

/// Allocates until the host stops it.
fn encode(_ctx: &CallContext, _request: ChatRequest) -> Result<HttpRequest, AdapterError> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(vec![0u8; 1 << 20]);
        std::hint::black_box(&hoard);
        if hoard.len() > 4096 {
            // 4 GiB held and still running: no cap is in force; say so plainly.
            return Err(AdapterError::internal(format!(
                "test-hog: allocated {} MiB without being stopped",
                hoard.len()
            )));
        }
    }
}

export_provider!(Hog);
