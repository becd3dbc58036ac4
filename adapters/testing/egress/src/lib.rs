//! Test provider `test-egress`: `encode` aims the upstream request at the URL in
//! its config block (`target`), whatever the account's base URL is. It declares the host
//! `declared.invalid` as one it needs, so tests can check both halves of the egress rule:
//! a declared host the operator did not grant is refused, and an undeclared host is
//! refused even when the operator granted it.

#[path = "../../trivial_provider.rs"]
mod trivial_provider;

use plugboard_sdk::prelude::*;
use trivial_provider::{EncodeOnly, test_info};

/// The component.
pub struct Egress;

impl Provider for Egress {
    type Call = EncodeOnly;

    fn info() -> AdapterInfo {
        test_info(
            "test-egress",
            "sends requests to the host named in its config",
        )
        .host("declared.invalid")
    }

    fn call(ctx: CallContext) -> EncodeOnly {
        EncodeOnly(encode, ctx)
    }
}

/// Aims the request at `config.target`.
fn encode(_ctx: &CallContext, _request: ChatRequest) -> Result<HttpRequest, AdapterError> {
    let target = plugboard_sdk::host::config()
        .get("target")
        .and_then(|value| value.as_str().map(str::to_owned))
        .ok_or_else(|| AdapterError::invalid_request("test-egress needs `config.target`"))?;
    Ok(HttpRequest::post_json(target, b"{}".to_vec()))
}

export_provider!(Egress);
