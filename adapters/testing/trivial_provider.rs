//! Shared by the misbehaving test providers: everything except `encode-request` is a
//! well-behaved trivial provider, so the host loads them and only the call under test
//! misbehaves. Included with `#[path]` (these crates are test fixtures, not a library).

use plugboard_sdk::prelude::*;

/// Info for a test provider `id`: no hosts, no models, bearer auth.
pub fn test_info(id: &str, description: &str) -> AdapterInfo {
    let mut info = AdapterInfo::new(id, env!("CARGO_PKG_VERSION"), description);
    info.default_base_url = Some("http://127.0.0.1:9".into());
    info.hosts = vec!["127.0.0.1".into()];
    info
}

/// A decoder that ignores the body and ends with `finish(stop)`.
pub struct FinishOnly;

impl Decoder for FinishOnly {
    fn push(&mut self, _chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        Ok(Vec::new())
    }
    fn finish(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        Ok(vec![StreamEvent::finish(
            FinishReason::Stop,
            None,
            Usage::default(),
        )])
    }
}
