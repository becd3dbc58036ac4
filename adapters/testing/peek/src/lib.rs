//! Test provider `test-peek`: a guest that tries to find a credential and reports
//! everything it can see. It declares two credential kinds (`api-key` in header
//! `x-peek-key`, `token` as a bearer), so one entry can hold an account of each.
//!
//! `encode` sends, as the upstream request body, the call context, the request, its
//! config block and every printable run of 6 or more bytes in its whole linear memory
//! (what `strings` would show: a token would be one such run); the decoder's
//! `decode-end` answers with a second such dump (taken after the host has sent the
//! request with the credential on it) as the text of the reply. A test then looks for the secrets in
//! both: the host must never have put them where a guest could read them.

use plugboard_sdk::prelude::*;

/// The component.
pub struct Peek;

impl Provider for Peek {
    type Call = PeekCall;

    fn info() -> AdapterInfo {
        AdapterInfo::new(
            "test-peek",
            env!("CARGO_PKG_VERSION"),
            "reports everything it can see, its whole memory included",
        )
        .credential_kind(CredentialKind::api_key(
            "api-key",
            Placement::header("x-peek-key"),
        ))
        .credential_kind(CredentialKind::api_key("token", Placement::bearer()))
        .base("http://127.0.0.1:9")
    }

    fn call(ctx: CallContext) -> PeekCall {
        PeekCall(ctx)
    }
}

/// One attempt: remembers its context.
pub struct PeekCall(CallContext);

impl Call for PeekCall {
    fn encode(&mut self, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        let seen = json!({
            "credential-kind": self.0.credential_kind,
            "context": format!("{:?}", self.0),
            "request": format!("{request:?}"),
            "config": plugboard_sdk::host::config(),
            "memory": memory_strings(),
        });
        Ok(self.0.post_json("/peek", to_json_bytes(&seen), false))
    }

    fn respond(&mut self, _head: ResponseHead, _streaming: bool) {}

    fn decode(&mut self, _chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        Ok(Vec::new())
    }

    fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        let mut writer = EventWriter::new();
        writer.text(&memory_strings());
        writer.finish(Finish::new(FinishReason::Stop, None, Usage::default()));
        Ok(writer.take())
    }
}

/// Every run of 6 or more printable ASCII bytes in this instance's whole linear
/// memory, one per line (empty on native builds).
fn memory_strings() -> String {
    #[cfg(target_arch = "wasm32")]
    {
        let size = core::arch::wasm32::memory_size::<0>() * 65_536;
        let mut out = String::new();
        let mut run = String::new();
        // Address 0 is never read (a null pointer); nothing lives there.
        for address in 8..size {
            // SAFETY: every address below memory_size is mapped linear memory.
            let byte = unsafe { core::ptr::read_volatile(address as *const u8) };
            if (0x20..0x7f).contains(&byte) {
                run.push(byte as char);
            } else {
                if run.len() >= 6 {
                    out.push_str(&run);
                    out.push('\n');
                }
                run.clear();
            }
        }
        out
    }
    #[cfg(not(target_arch = "wasm32"))]
    String::new()
}

export_provider!(Peek);
