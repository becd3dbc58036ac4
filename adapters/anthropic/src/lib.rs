//! Provider adapter `anthropic`: the Anthropic Messages API with an API key.
//!
//! The translation lives in plain modules that unit-test natively: [`request`] (IR to a
//! Messages body), [`decode`] (Messages SSE or one message document to IR events, and
//! the passthrough decoder), [`errors`] (failure classification), [`schema`] (a JSON
//! schema in the subset structured outputs take). This file wires them to the SDK's
//! [`Provider`] trait.

pub mod decode;
pub mod errors;
pub mod request;
pub mod schema;

use plugboard_sdk::json_edit::native_body_for_model;
use plugboard_sdk::prelude::*;

/// The adapter id config refers to.
pub const ID: &str = "anthropic";
/// Used when the provider entry sets no base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
/// The API version we speak; the adapter sets it, whatever the client sent.
pub const API_VERSION: &str = "2023-06-01";

/// The component.
pub struct Anthropic;

impl Provider for Anthropic {
    type Decoder = decode::MessagesDecoder;

    fn info() -> AdapterInfo {
        let mut info = AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "Anthropic Messages API with an API key",
        );
        info.native_dialects = vec![Dialect::AnthropicMessages];
        info.auth = AuthScheme::Header(HeaderAuth {
            name: "x-api-key".into(),
            prefix: None,
        });
        info.hosts = vec!["api.anthropic.com".into()];
        info.default_base_url = Some(DEFAULT_BASE_URL.into());
        info.models = vec![
            ModelInfo::new("claude-opus-4-1").limits(200_000, 32_000),
            ModelInfo::new("claude-sonnet-4-5").limits(200_000, 64_000),
            ModelInfo::new("claude-sonnet-4-0").limits(200_000, 64_000),
            ModelInfo::new("claude-haiku-4-5").limits(200_000, 64_000),
            ModelInfo::new("claude-3-5-haiku-latest").limits(200_000, 8_192),
        ];
        info
    }

    fn encode_request(
        request: ChatRequest,
        ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        let body = request::encode_body(&request, &ctx.model)?;
        Ok(messages_request(&ctx, to_json_bytes(&body), request.stream))
    }

    fn encode_native(
        dialect: Dialect,
        body: Vec<u8>,
        ctx: EncodeContext,
    ) -> Result<HttpRequest, AdapterError> {
        Dialect::AnthropicMessages.passthrough_only(dialect, ID)?;
        let native = native_body_for_model(&body, &ctx.model)?;
        Ok(messages_request(&ctx, native.body, native.streaming))
    }

    fn decoder(ctx: DecodeContext) -> decode::MessagesDecoder {
        decode::MessagesDecoder::new(&ctx)
    }

    fn classify_error(head: ResponseHead, body: Vec<u8>) -> ClassifiedError {
        errors::classify(&head, &body)
    }
}

/// The `POST {base}/v1/messages` request. `anthropic-beta` joins the betas the client
/// asked for (an Anthropic client's own header) with the config's `extra-headers`
/// ones; other `extra-headers` are added as given.
fn messages_request(ctx: &EncodeContext, body: Vec<u8>, streaming: bool) -> HttpRequest {
    let base_url = ctx.base_url_or(DEFAULT_BASE_URL);
    let mut http = HttpRequest::post_json(format!("{base_url}/v1/messages"), body)
        .with_header("anthropic-version", API_VERSION)
        .accepting_event_stream_if(streaming);
    let mut betas: Vec<String> = ctx
        .client_header("anthropic-beta")
        .map(|value| value.split(',').map(|b| b.trim().to_owned()).collect())
        .unwrap_or_default();
    for (name, value) in host::extra_headers() {
        if name.eq_ignore_ascii_case("anthropic-beta") {
            betas.extend(value.split(',').map(|b| b.trim().to_owned()));
        } else {
            http = http.with_header(name, value);
        }
    }
    betas.retain(|beta| !beta.is_empty());
    betas.dedup();
    if !betas.is_empty() {
        http = http.with_header("anthropic-beta", betas.join(","));
    }
    http
}

export_provider!(Anthropic);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_go_to_v1_messages_with_the_api_version() {
        let request = ChatRequest::new("m")
            .with_message(Message::user_text("hi"))
            .streaming(true);
        let http =
            Anthropic::encode_request(request, EncodeContext::for_account("", "claude-sonnet-4-5"))
                .unwrap();
        assert_eq!(http.url, "https://api.anthropic.com/v1/messages");
        assert_eq!(http.header("anthropic-version"), Some("2023-06-01"));
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        assert_eq!(
            Anthropic::info().auth,
            AuthScheme::Header(HeaderAuth {
                name: "x-api-key".into(),
                prefix: None
            })
        );
    }

    #[test]
    fn passthrough_swaps_only_the_model() {
        let body = br#"{"model":"claude-x","max_tokens":32000,"thinking":{"type":"adaptive"},"stream":true,"messages":[]}"#;
        let http = Anthropic::encode_native(
            Dialect::AnthropicMessages,
            body.to_vec(),
            EncodeContext::for_account("https://proxy.test/", "claude-sonnet-4-5"),
        )
        .unwrap();
        assert_eq!(http.url, "https://proxy.test/v1/messages");
        assert_eq!(
            String::from_utf8(http.body.clone()).unwrap(),
            r#"{"model":"claude-sonnet-4-5","max_tokens":32000,"thinking":{"type":"adaptive"},"stream":true,"messages":[]}"#
        );
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        assert!(
            Anthropic::encode_native(
                Dialect::OpenaiChat,
                body.to_vec(),
                EncodeContext::for_account("", "m")
            )
            .is_err()
        );
    }

    #[test]
    fn the_clients_betas_go_upstream_joined_with_the_configs() {
        host::set_config_for_tests(
            json!({"extra-headers": {"anthropic-beta": "context-1m-2025-08-07"}}),
        );
        let mut ctx = EncodeContext::for_account("", "m");
        ctx.client_headers = vec![(
            "anthropic-beta".into(),
            "interleaved-thinking-2025-05-14, fine-grained-tool-streaming-2025-05-14".into(),
        )];
        let http = Anthropic::encode_native(
            Dialect::AnthropicMessages,
            br#"{"model":"x","max_tokens":1,"messages":[]}"#.to_vec(),
            ctx,
        )
        .unwrap();
        assert_eq!(
            http.header("anthropic-beta"),
            Some(
                "interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14,context-1m-2025-08-07"
            )
        );
        host::set_config_for_tests(json!({}));
    }

    #[test]
    fn config_extra_headers_are_added() {
        host::set_config_for_tests(
            json!({"extra-headers": {"anthropic-beta": "context-1m-2025-08-07"}}),
        );
        let http = Anthropic::encode_request(
            ChatRequest::new("m").with_message(Message::user_text("hi")),
            EncodeContext::for_account("", "m"),
        )
        .unwrap();
        assert_eq!(http.header("anthropic-beta"), Some("context-1m-2025-08-07"));
    }
}
