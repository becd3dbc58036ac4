//! Provider adapter `openai`: any OpenAI-compatible Chat Completions upstream.
//!
//! The translation lives in plain modules that unit-test natively: [`request`] (IR to
//! Chat JSON), [`decode`] (Chat SSE or one `chat.completion` document to IR events, and
//! the passthrough decoder), [`errors`] (failure classification). This file only wires
//! them to the SDK's [`Provider`] trait.

pub mod decode;
pub mod errors;
pub mod request;

use plugboard_sdk::json_edit::native_body_for_model;
use plugboard_sdk::prelude::*;

/// The adapter id config refers to.
pub const ID: &str = "openai";
/// Used when the provider entry sets no base URL; it includes `/v1`.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The component.
pub struct OpenAi;

impl Provider for OpenAi {
    type Decoder = decode::ChatDecoder;

    fn info() -> AdapterInfo {
        let mut info = AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "OpenAI-compatible Chat Completions",
        );
        info.native_dialects = vec![Dialect::OpenaiChat];
        info.auth = AuthScheme::Bearer;
        info.hosts = vec!["api.openai.com".into()];
        info.default_base_url = Some(DEFAULT_BASE_URL.into());
        info.models = vec![
            ModelInfo::new("gpt-4.1").limits(1_047_576, 32_768),
            ModelInfo::new("gpt-4.1-mini").limits(1_047_576, 32_768),
            ModelInfo::new("gpt-4o").limits(128_000, 16_384),
            ModelInfo::new("gpt-4o-mini").limits(128_000, 16_384),
            ModelInfo::new("o4-mini").limits(200_000, 100_000),
        ];
        info
    }

    fn encode_request(
        request: ChatRequest,
        ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        let base_url = ctx.base_url_or(DEFAULT_BASE_URL);
        let body = request::encode_body(
            &request,
            &ctx.model,
            request::Flavor::for_base_url(base_url),
        )?;
        Ok(chat_request(base_url, to_json_bytes(&body), request.stream))
    }

    fn encode_native(
        dialect: Dialect,
        body: Vec<u8>,
        ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        Dialect::OpenaiChat.passthrough_only(dialect, ID)?;
        let native = native_body_for_model(&body, &ctx.model)?;
        Ok(chat_request(
            ctx.base_url_or(DEFAULT_BASE_URL),
            native.body,
            native.streaming,
        ))
    }

    fn decoder(ctx: DecodeContext) -> decode::ChatDecoder {
        decode::ChatDecoder::new(&ctx)
    }

    fn classify_error(head: ResponseHead, body: Vec<u8>) -> ClassifiedError {
        errors::classify(&head, &body)
    }
}

/// The `POST {base}/chat/completions` request, with the config's `extra-headers`.
fn chat_request(base_url: &str, body: Vec<u8>, streaming: bool) -> HttpRequest {
    HttpRequest::post_json(format!("{base_url}/chat/completions"), body)
        .accepting_event_stream_if(streaming)
        .with_extra_headers()
}

export_provider!(OpenAi);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streaming_request_goes_to_chat_completions_under_the_accounts_base_url() {
        let request = ChatRequest::new("alias")
            .with_message(Message::user_text("hi"))
            .streaming(true);
        let http = OpenAi::encode_request(
            request,
            EncodeContext::for_account("http://127.0.0.1:8080/v1/", "llama"),
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
    fn an_empty_base_url_means_api_openai_com() {
        let http = OpenAi::encode_request(
            ChatRequest::new("m").with_message(Message::user_text("hi")),
            EncodeContext::for_account("", "gpt-4o"),
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
        let http = OpenAi::encode_request(
            ChatRequest::new("m").with_message(Message::user_text("hi")),
            EncodeContext::for_account("", "gpt-4o"),
        )
        .unwrap();
        assert_eq!(http.header("x-title"), Some("plugboard"));
        assert_eq!(http.header("HTTP-Referer"), Some("https://example.test"));
    }

    #[test]
    fn passthrough_swaps_the_model_and_keeps_every_other_byte() {
        let body = br#"{"stream":true,"model":"client-alias","messages":[{"role":"user","content":"hi"}],"x_unknown":{"b":1,"a":2}}"#;
        let http = OpenAi::encode_native(
            Dialect::OpenaiChat,
            body.to_vec(),
            EncodeContext::for_account("", "gpt-4o"),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(http.body.clone()).unwrap(),
            r#"{"stream":true,"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"x_unknown":{"b":1,"a":2}}"#
        );
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        let refused = OpenAi::encode_native(
            Dialect::AnthropicMessages,
            body.to_vec(),
            EncodeContext::for_account("", "m"),
        )
        .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unsupported);
    }
}
