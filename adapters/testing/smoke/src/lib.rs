//! Test provider `smoke` (package `test-smoke`), the smallest contract 0.2 provider
//! that shows the host's dispatch: one `api-key` kind placed in `x-api-key` and a
//! `base` endpoint; `encode` posts `{"model":…,"messages":<count>}` to `<base>/chat`
//! with the credential kind in `x-kind`; every chunk decodes to text, except one
//! starting `throttle`, which is an error frame of class rate-limited (3 s); the finish
//! counts the body's bytes as input tokens (state kept across `decode` calls); a 403 is
//! account-disabled. `host/tests/contract_0_2.rs` drives all of it through the sandbox.

use plugboard_sdk::prelude::*;

/// The component.
pub struct Smoke;

impl Provider for Smoke {
    type Call = SmokeCall;

    fn info() -> AdapterInfo {
        AdapterInfo::new(
            "smoke",
            env!("CARGO_PKG_VERSION"),
            "a contract 0.2 smoke test provider",
        )
        .credential_kind(CredentialKind::api_key(
            "api-key",
            Placement::header("x-api-key"),
        ))
        .base("https://smoke.example/v1")
    }

    fn call(ctx: CallContext) -> SmokeCall {
        SmokeCall {
            ctx,
            responded: false,
            body_bytes: 0,
            writer: EventWriter::new(),
        }
    }
}

/// One attempt: its context and what it has decoded so far.
pub struct SmokeCall {
    ctx: CallContext,
    /// Whether `respond` came (the host must call it before `decode`).
    responded: bool,
    /// Bytes of body decoded so far.
    body_bytes: u64,
    writer: EventWriter,
}

impl Call for SmokeCall {
    fn encode(&mut self, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        let body = json!({"model": self.ctx.model, "messages": request.messages.len()});
        Ok(self
            .ctx
            .post_json("/chat", to_json_bytes(&body), self.ctx.stream)
            .with_header("x-kind", self.ctx.credential_kind.clone()))
    }

    fn respond(&mut self, _head: ResponseHead, _streaming: bool) {
        self.responded = true;
    }

    fn decode(&mut self, chunk: &[u8]) -> Result<Vec<StreamEvent>, AdapterError> {
        if !self.responded {
            return Err(AdapterError::internal("decode before respond"));
        }
        self.body_bytes += chunk.len() as u64;
        if chunk.starts_with(b"throttle") {
            self.writer.error(UpstreamError::new(
                ErrorClass::RateLimited(Some(3_000)),
                "slow down",
            ));
        } else {
            self.writer.text(&String::from_utf8_lossy(chunk));
        }
        Ok(self.writer.take())
    }

    fn decode_end(&mut self) -> Result<Vec<StreamEvent>, AdapterError> {
        let usage = Usage {
            input_tokens: Some(self.body_bytes),
            ..Usage::default()
        };
        self.writer
            .finish(Finish::new(FinishReason::Stop, None, usage));
        Ok(self.writer.take())
    }

    fn classify_error(&mut self, head: ResponseHead, body: Vec<u8>) -> UpstreamError {
        if head.status == 403 {
            UpstreamError::new(ErrorClass::AccountDisabled, "status 403")
        } else {
            classify_by_status(&head, &body)
        }
    }
}

export_provider!(Smoke);
