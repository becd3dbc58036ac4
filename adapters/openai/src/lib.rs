//! Provider adapter `openai`: any OpenAI-compatible Chat Completions upstream.
//!
//! The translation lives in plain modules that unit-test natively: [`request`] (IR to
//! Chat JSON), [`decode`] (Chat SSE or one `chat.completion` document to IR events, and
//! the passthrough decoder), [`errors`] (failure classification). This file only wires
//! them to the SDK's [`Provider`] trait.
//!
//! It is also a library: OpenAI-compatible adapters (`qwen`) reuse [`Chat`] and the
//! modules with `default-features = false`, which leaves out this crate's component
//! exports (feature `component`).

pub mod decode;
pub mod errors;
pub mod request;

use plugboard_sdk::json_edit::native_body_for_model;
use plugboard_sdk::prelude::*;

/// The adapter id config refers to.
pub const ID: &str = "openai";
/// The default `base` endpoint; it includes `/v1`.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The component.
pub struct OpenAi;

impl Provider for OpenAi {
    type Call = StandardCall<Chat>;

    fn info() -> AdapterInfo {
        AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "OpenAI-compatible Chat Completions",
        )
        .native(Dialect::OpenaiChat)
        .credential_kind(CredentialKind::api_key("api-key", Placement::bearer()))
        .base(DEFAULT_BASE_URL)
        .model(ModelInfo::new("gpt-4.1").limits(1_047_576, 32_768))
        .model(ModelInfo::new("gpt-4.1-mini").limits(1_047_576, 32_768))
        .model(ModelInfo::new("gpt-4o").limits(128_000, 16_384))
        .model(ModelInfo::new("gpt-4o-mini").limits(128_000, 16_384))
        .model(ModelInfo::new("o4-mini").limits(200_000, 100_000))
    }

    fn call(ctx: CallContext) -> Self::Call {
        StandardCall::new(ctx, Chat)
    }
}

/// One Chat Completions attempt: `POST {base}/chat/completions`.
pub struct Chat;

impl Encode for Chat {
    type State = decode::ChatState;

    fn encode(
        &mut self,
        ctx: &CallContext,
        request: ChatRequest,
    ) -> Result<HttpRequest, AdapterError> {
        let flavor = request::Flavor::for_base_url(ctx.base_url());
        let body = request::encode_body(&request, &ctx.model, flavor)?;
        Ok(ctx.post_json("/chat/completions", to_json_bytes(&body), request.stream))
    }

    fn encode_native(
        &mut self,
        ctx: &CallContext,
        body: Vec<u8>,
    ) -> Result<HttpRequest, AdapterError> {
        Dialect::OpenaiChat.passthrough_only(ctx.client_dialect, ID)?;
        let native = native_body_for_model(&body, &ctx.model)?;
        Ok(ctx.post_json("/chat/completions", native.body, native.streaming))
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

#[cfg(feature = "component")]
export_provider!(OpenAi);

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(ctx: CallContext, request: ChatRequest) -> Result<HttpRequest, AdapterError> {
        OpenAi::call(ctx).encode(request)
    }

    #[test]
    fn a_streaming_request_goes_to_chat_completions_under_the_accounts_base_url() {
        let request = ChatRequest::new()
            .with_message(Message::user_text("hi"))
            .streaming(true);
        let http = encode(
            CallContext::for_tests("http://127.0.0.1:8080/v1/", "llama"),
            request,
        )
        .unwrap();
        assert_eq!(http.url, "http://127.0.0.1:8080/v1/chat/completions");
        assert_eq!(http.header("content-type"), Some("application/json"));
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        let body: Value = serde_json::from_slice(&http.body).unwrap();
        assert_eq!(body["model"], "llama");
        assert_eq!(body["stream"], true);
    }

    #[test]
    fn info_declares_a_bearer_api_key_and_api_openai_com_as_base() {
        let info = OpenAi::info();
        assert_eq!(info.endpoint_url("base"), Some(DEFAULT_BASE_URL));
        assert_eq!(info.hosts, ["api.openai.com"]);
        assert_eq!(info.credential_kinds.len(), 1);
        assert_eq!(info.credential_kinds[0].id, "api-key");
        assert_eq!(info.credential_kinds[0].placement, Placement::Bearer);
        let http = encode(
            CallContext::for_tests(DEFAULT_BASE_URL, "gpt-4o"),
            ChatRequest::new().with_message(Message::user_text("hi")),
        )
        .unwrap();
        assert_eq!(http.url, "https://api.openai.com/v1/chat/completions");
        assert_eq!(http.header("accept"), None);
    }

    #[test]
    fn config_extra_headers_are_added() {
        host::set_config_for_tests(
            json!({"extra-headers": {"x-title": "plugboard", "http-referer": "https://example.test"}}),
        );
        let http = encode(
            CallContext::for_tests(DEFAULT_BASE_URL, "gpt-4o"),
            ChatRequest::new().with_message(Message::user_text("hi")),
        )
        .unwrap();
        assert_eq!(http.header("x-title"), Some("plugboard"));
        assert_eq!(http.header("HTTP-Referer"), Some("https://example.test"));
        host::set_config_for_tests(json!({}));
    }

    #[test]
    fn passthrough_swaps_the_model_and_keeps_every_other_byte() {
        let body = br#"{"stream":true,"model":"client-alias","messages":[{"role":"user","content":"hi"}],"x_unknown":{"b":1,"a":2}}"#;
        let http = OpenAi::call(CallContext::for_tests(DEFAULT_BASE_URL, "gpt-4o"))
            .encode_native(body.to_vec())
            .unwrap();
        assert_eq!(
            String::from_utf8(http.body.clone()).unwrap(),
            r#"{"stream":true,"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"x_unknown":{"b":1,"a":2}}"#
        );
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        let mut anthropic_client = CallContext::for_tests(DEFAULT_BASE_URL, "m");
        anthropic_client.client_dialect = Dialect::AnthropicMessages;
        let refused = OpenAi::call(anthropic_client)
            .encode_native(body.to_vec())
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn the_call_decodes_a_passthrough_answer_as_raw_bytes_without_being_told() {
        let mut call = OpenAi::call(CallContext::for_tests(DEFAULT_BASE_URL, "gpt-4o"));
        call.encode_native(br#"{"model":"x","stream":true}"#.to_vec())
            .unwrap();
        call.respond(ResponseHead::new(200, &[]), true);
        let chunk = b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
        assert_eq!(
            call.decode(chunk).unwrap(),
            vec![StreamEvent::Raw(chunk.to_vec())]
        );
    }
}
