//! Provider adapter `openai-responses`: an upstream that speaks the OpenAI Responses
//! API (OpenAI itself; the Codex backend builds on the same wire format).
//!
//! The translation lives in plain modules that unit-test natively: [`request`] (IR to
//! a Responses body), [`decode`] (Responses SSE events or one `response` object to IR
//! events), [`errors`] (failure classification). This file declares the adapter and
//! builds the request.
//!
//! The modules are public for adapters of Responses-shaped upstreams (`codex`): they
//! depend on this crate with `default-features = false`, which leaves out the
//! component's exports (feature `component`).

pub mod decode;
pub mod errors;
pub mod request;

use plugboard_sdk::json_edit::native_body_for_model;
use plugboard_sdk::prelude::*;

/// The adapter id config refers to; also the options key for Responses-only extras.
pub const ID: &str = "openai-responses";
/// The options key shared with the Chat Completions adapter (`store`, `metadata`...).
pub const OPENAI: &str = "openai";
/// The default `base` endpoint; it includes `/v1`.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The component.
pub struct OpenAiResponses;

impl Provider for OpenAiResponses {
    type Call = StandardCall<Responses>;

    fn info() -> AdapterInfo {
        AdapterInfo::new(ID, env!("CARGO_PKG_VERSION"), "OpenAI Responses API")
            .native(Dialect::OpenaiResponses)
            .credential_kind(CredentialKind::api_key("api-key", Placement::bearer()))
            .base(DEFAULT_BASE_URL)
            .model(ModelInfo::new("gpt-5").limits(400_000, 128_000))
            .model(ModelInfo::new("gpt-5-mini").limits(400_000, 128_000))
            .model(ModelInfo::new("gpt-4.1").limits(1_047_576, 32_768))
            .model(ModelInfo::new("o4-mini").limits(200_000, 100_000))
    }

    fn call(ctx: CallContext) -> Self::Call {
        StandardCall::new(ctx, Responses)
    }
}

/// One Responses attempt: `POST {base}/responses`.
pub struct Responses;

impl Encode for Responses {
    type State = decode::ResponsesState;

    fn encode(
        &mut self,
        ctx: &CallContext,
        request: ChatRequest,
    ) -> Result<HttpRequest, AdapterError> {
        let body = request::encode_body(&request, &ctx.model)?;
        Ok(ctx.post_json("/responses", to_json_bytes(&body), request.stream))
    }

    /// Passthrough: only `model` changes; every other byte of the client's body survives.
    fn encode_native(
        &mut self,
        ctx: &CallContext,
        body: Vec<u8>,
    ) -> Result<HttpRequest, AdapterError> {
        Dialect::OpenaiResponses.passthrough_only(ctx.client_dialect, ID)?;
        let native = native_body_for_model(&body, &ctx.model)?;
        Ok(ctx.post_json("/responses", native.body, native.streaming))
    }

    fn classify_error(
        &mut self,
        _ctx: &CallContext,
        head: &ResponseHead,
        body: &[u8],
    ) -> UpstreamError {
        errors::classify(head, body)
    }
}

// Behind the default `component` feature: a crate reusing this translation as a library
// (`adapter-codex`) builds without it, so its component exports only itself.
#[cfg(feature = "component")]
export_provider!(OpenAiResponses);

#[cfg(test)]
mod tests {
    use super::*;

    fn call(base_url: &str, model: &str) -> StandardCall<Responses> {
        OpenAiResponses::call(CallContext::for_tests(base_url, model))
    }

    fn native_call(model: &str) -> StandardCall<Responses> {
        let mut ctx = CallContext::for_tests(DEFAULT_BASE_URL, model);
        ctx.client_dialect = Dialect::OpenaiResponses;
        OpenAiResponses::call(ctx)
    }

    #[test]
    fn config_extra_headers_are_added_on_both_paths() {
        plugboard_sdk::host::set_config_for_tests(
            serde_json::json!({"extra-headers": {"openai-organization": "org-test"}}),
        );
        let encoded = call(DEFAULT_BASE_URL, "gpt-5")
            .encode(ChatRequest::new().with_message(Message::user_text("hi")))
            .unwrap();
        let native = native_call("gpt-5")
            .encode_native(br#"{"model":"m","input":"hi"}"#.to_vec())
            .unwrap();
        for http in [encoded, native] {
            assert_eq!(http.header("openai-organization"), Some("org-test"));
        }
        plugboard_sdk::host::set_config_for_tests(serde_json::json!({}));
    }

    #[test]
    fn a_streaming_request_goes_to_responses_under_the_accounts_base_url() {
        let request = ChatRequest::new()
            .with_message(Message::user_text("hi"))
            .streaming(true);
        let http = call("http://127.0.0.1:8080/v1/", "gpt-5")
            .encode(request)
            .unwrap();
        assert_eq!(http.url, "http://127.0.0.1:8080/v1/responses");
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        let body: Value = serde_json::from_slice(&http.body).unwrap();
        assert_eq!(body["model"], "gpt-5");
        assert_eq!(body["stream"], true);
        assert_eq!(body["store"], false);
    }

    #[test]
    fn passthrough_swaps_the_model_and_keeps_every_other_byte() {
        let body = br#"{"stream":true,"model":"alias","input":"hi","x_unknown":{"b":1,"a":2}}"#;
        let http = native_call("gpt-5").encode_native(body.to_vec()).unwrap();
        assert_eq!(http.url, "https://api.openai.com/v1/responses");
        assert_eq!(
            String::from_utf8(http.body.clone()).unwrap(),
            r#"{"stream":true,"model":"gpt-5","input":"hi","x_unknown":{"b":1,"a":2}}"#
        );
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        let refused = call(DEFAULT_BASE_URL, "m")
            .encode_native(body.to_vec())
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn info_declares_a_bearer_api_key_and_the_responses_dialect() {
        let info = OpenAiResponses::info();
        assert_eq!(info.id, "openai-responses");
        assert_eq!(info.credential_kinds.len(), 1);
        assert_eq!(info.credential_kinds[0].id, "api-key");
        assert_eq!(info.credential_kinds[0].placement, Placement::Bearer);
        assert_eq!(info.native_dialects, vec![Dialect::OpenaiResponses]);
        assert_eq!(info.endpoint_url("base"), Some(DEFAULT_BASE_URL));
        assert_eq!(info.hosts, vec!["api.openai.com"]);
    }
}
