//! Provider adapter `openai-responses`: an upstream that speaks the OpenAI Responses
//! API (OpenAI itself; the Codex backend builds on the same wire format).
//!
//! The translation lives in plain modules that unit-test natively: [`request`] (IR to
//! a Responses body), [`decode`] (Responses SSE events or one `response` object to IR
//! events, and the passthrough decoder), [`errors`] (failure classification). This
//! file only wires them to the SDK's [`Provider`] trait.

pub mod decode;
pub mod errors;
pub mod request;

use plugboard_sdk::json_edit::native_body_for_model;
use plugboard_sdk::prelude::*;

/// The adapter id config refers to; also the options key for Responses-only extras.
pub const ID: &str = "openai-responses";
/// The options key shared with the Chat Completions adapter (`store`, `metadata`...).
pub const OPENAI: &str = "openai";
/// Used when the provider entry sets no base URL; it includes `/v1`.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The component.
pub struct OpenAiResponses;

impl Provider for OpenAiResponses {
    type Decoder = decode::ResponsesDecoder;

    fn info() -> AdapterInfo {
        let mut info = AdapterInfo::new(ID, env!("CARGO_PKG_VERSION"), "OpenAI Responses API");
        info.native_dialects = vec![Dialect::OpenaiResponses];
        info.auth = AuthScheme::Bearer;
        info.hosts = vec!["api.openai.com".into()];
        info.default_base_url = Some(DEFAULT_BASE_URL.into());
        info.models = vec![
            ModelInfo::new("gpt-5").limits(400_000, 128_000),
            ModelInfo::new("gpt-5-mini").limits(400_000, 128_000),
            ModelInfo::new("gpt-4.1").limits(1_047_576, 32_768),
            ModelInfo::new("o4-mini").limits(200_000, 100_000),
        ];
        info
    }

    fn encode_request(
        request: ChatRequest,
        ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        let body = request::encode_body(&request, &ctx.model)?;
        Ok(responses_request(
            ctx.base_url_or(DEFAULT_BASE_URL),
            to_json_bytes(&body),
            request.stream,
        ))
    }

    /// Passthrough: only `model` changes; every other byte of the client's body survives.
    fn encode_native(
        dialect: Dialect,
        body: Vec<u8>,
        ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        Dialect::OpenaiResponses.passthrough_only(dialect, ID)?;
        let native = native_body_for_model(&body, &ctx.model)?;
        Ok(responses_request(
            ctx.base_url_or(DEFAULT_BASE_URL),
            native.body,
            native.streaming,
        ))
    }

    fn decoder(ctx: DecodeContext) -> decode::ResponsesDecoder {
        decode::ResponsesDecoder::new(&ctx)
    }

    fn classify_error(head: ResponseHead, body: Vec<u8>) -> ClassifiedError {
        errors::classify(&head, &body)
    }
}

/// The `POST {base}/responses` request, with the config's `extra-headers`.
fn responses_request(base_url: &str, body: Vec<u8>, streaming: bool) -> HttpRequest {
    HttpRequest::post_json(format!("{base_url}/responses"), body)
        .accepting_event_stream_if(streaming)
        .with_extra_headers()
}

export_provider!(OpenAiResponses);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_extra_headers_are_added_on_both_paths() {
        plugboard_sdk::host::set_config_for_tests(
            serde_json::json!({"extra-headers": {"openai-organization": "org-test"}}),
        );
        let ctx = || EncodeContext::for_account("", "gpt-5");
        let encoded = OpenAiResponses::encode_request(
            ChatRequest::new("m").with_message(Message::user_text("hi")),
            ctx(),
        )
        .unwrap();
        let native = OpenAiResponses::encode_native(
            Dialect::OpenaiResponses,
            br#"{"model":"m","input":"hi"}"#.to_vec(),
            ctx(),
        )
        .unwrap();
        for http in [encoded, native] {
            assert_eq!(http.header("openai-organization"), Some("org-test"));
        }
    }

    #[test]
    fn a_streaming_request_goes_to_responses_under_the_accounts_base_url() {
        let request = ChatRequest::new("alias")
            .with_message(Message::user_text("hi"))
            .streaming(true);
        let http = OpenAiResponses::encode_request(
            request,
            EncodeContext::for_account("http://127.0.0.1:8080/v1/", "gpt-5"),
        )
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
        let http = OpenAiResponses::encode_native(
            Dialect::OpenaiResponses,
            body.to_vec(),
            EncodeContext::for_account("", "gpt-5"),
        )
        .unwrap();
        assert_eq!(http.url, "https://api.openai.com/v1/responses");
        assert_eq!(
            String::from_utf8(http.body.clone()).unwrap(),
            r#"{"stream":true,"model":"gpt-5","input":"hi","x_unknown":{"b":1,"a":2}}"#
        );
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        let refused = OpenAiResponses::encode_native(
            Dialect::OpenaiChat,
            body.to_vec(),
            EncodeContext::for_account("", "m"),
        )
        .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn info_declares_bearer_auth_and_the_responses_dialect() {
        let info = OpenAiResponses::info();
        assert_eq!(info.id, "openai-responses");
        assert_eq!(info.auth, AuthScheme::Bearer);
        assert_eq!(info.native_dialects, vec![Dialect::OpenaiResponses]);
        assert_eq!(info.hosts, vec!["api.openai.com"]);
    }
}
