//! Shared by the misbehaving test providers: everything except `encode` is a
//! well-behaved trivial provider, so the host loads them and only the hook under test
//! misbehaves. Included with `#[path]` (these crates are test fixtures, not a library).

use plugboard_sdk::prelude::*;

/// Info for a test provider `id`: an `api-key` (bearer) kind and base
/// `http://127.0.0.1:9`, hence host `127.0.0.1`; no models.
pub fn test_info(id: &str, description: &str) -> AdapterInfo {
    AdapterInfo::new(id, env!("CARGO_PKG_VERSION"), description)
        .credential_kind(CredentialKind::api_key("api-key", Placement::bearer()))
        .base("http://127.0.0.1:9")
}

/// How a test provider encodes (the hook under test).
pub type EncodeFn = fn(&CallContext, ChatRequest) -> Result<HttpRequest, AdapterError>;

/// A call that encodes with its function, ignores the answer's body and ends it with
/// `finish(stop)`.
pub struct EncodeOnly(pub EncodeFn, pub CallContext);

impl Call for EncodeOnly {
    fn encode(&mut self, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        (self.0)(&self.1, request)
    }
    fn respond(&mut self, _head: ResponseHead, _streaming: bool) {}
    fn decode(&mut self, _chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        Ok(Vec::new())
    }
    fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        Ok(vec![StreamEvent::finish(
            FinishReason::Stop,
            None,
            Usage::default(),
        )])
    }
}
