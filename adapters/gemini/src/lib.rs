//! Provider adapter `gemini`: the Gemini API (generativelanguage.googleapis.com) with
//! an API key.
//!
//! The translation lives in plain modules that unit-test natively: [`request`] (IR to
//! a `GenerateContentRequest`), [`decode`] (SSE chunks, one document or a JSON array of
//! `GenerateContentResponse`s to IR events, and the passthrough decoder), [`errors`]
//! (failure classification). This file declares the adapter and builds the URL, which
//! carries the model and whether to stream.
//!
//! It is also a library: Code Assist adapters (`gemini-cli`, `antigravity`) reuse the
//! modules with `default-features = false`, which leaves out this crate's component
//! exports (feature `component`).

pub mod decode;
pub mod errors;
pub mod request;

use plugboard_sdk::prelude::*;

/// The adapter id config refers to.
pub const ID: &str = "gemini";
/// The default `base` endpoint; the API version is added per request.
pub const DEFAULT_BASE_URL: &str = "https://generativelanguage.googleapis.com";

/// The component.
pub struct Gemini;

impl Provider for Gemini {
    type Call = StandardCall<Generate>;

    fn info() -> AdapterInfo {
        AdapterInfo::new(
            ID,
            env!("CARGO_PKG_VERSION"),
            "Gemini API (generateContent) with an API key",
        )
        .native(Dialect::Gemini)
        .credential_kind(CredentialKind::api_key(
            "api-key",
            Placement::header("x-goog-api-key"),
        ))
        .base(DEFAULT_BASE_URL)
        .model(ModelInfo::new("gemini-2.5-pro").limits(1_048_576, 65_536))
        .model(ModelInfo::new("gemini-2.5-flash").limits(1_048_576, 65_536))
        .model(ModelInfo::new("gemini-2.5-flash-lite").limits(1_048_576, 65_536))
        .model(ModelInfo::new("gemini-3-pro-preview").limits(1_048_576, 65_536))
    }

    fn call(ctx: CallContext) -> Self::Call {
        StandardCall::new(ctx, Generate)
    }
}

/// One attempt: `POST {base}/v1beta/models/{model}:generateContent`, or
/// `:streamGenerateContent?alt=sse`.
pub struct Generate;

impl Encode for Generate {
    type State = decode::GeminiState;

    fn encode(
        &mut self,
        ctx: &CallContext,
        request: ChatRequest,
    ) -> Result<HttpRequest, AdapterError> {
        let body = request::encode_body(&request, &ctx.model)?;
        let path = generate_path(ctx.base_url(), &ctx.model, request.stream)?;
        Ok(ctx.post_json(&path, to_json_bytes(&body), request.stream))
    }

    /// Passthrough: a Gemini body names no model (it is in the URL), so the body goes
    /// on unchanged; the URL is built from the upstream model and `ctx.stream`.
    fn encode_native(
        &mut self,
        ctx: &CallContext,
        body: Vec<u8>,
    ) -> Result<HttpRequest, AdapterError> {
        Dialect::Gemini.passthrough_only(ctx.client_dialect, ID)?;
        let path = generate_path(ctx.base_url(), &ctx.model, ctx.stream)?;
        Ok(ctx.post_json(&path, body, ctx.stream))
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

/// The method's path under `base_url`. A base URL that already ends in an API version
/// (`/v1beta`, `/v1`, `/v1alpha`) keeps it; a model given as `models/x` is not doubled.
/// The model (which may come from a client, for an entry without `models:`) is one
/// encoded path segment, so `/`, `..`, `?` or `:` in it cannot reach another path, a
/// query or another method.
pub fn generate_path(base_url: &str, model: &str, streaming: bool) -> Result<String, AdapterError> {
    let has_version = base_url
        .rsplit('/')
        .next()
        .is_some_and(|last| last.starts_with("v1"));
    let version = if has_version { "" } else { "/v1beta" };
    let model = plugboard_sdk::url::path_segment(model.trim_start_matches("models/"))?;
    let method = if streaming {
        "streamGenerateContent?alt=sse"
    } else {
        "generateContent"
    };
    Ok(format!("{version}/models/{model}:{method}"))
}

#[cfg(feature = "component")]
export_provider!(Gemini);

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(base_url: &str, model: &str) -> CallContext {
        CallContext::for_tests(base_url, model)
    }

    fn native(mut ctx: CallContext, body: &[u8]) -> Result<HttpRequest, AdapterError> {
        ctx.client_dialect = Dialect::Gemini;
        Gemini::call(ctx).encode_native(body.to_vec())
    }

    #[test]
    fn a_streaming_request_goes_to_stream_generate_content_with_alt_sse() {
        let request = ChatRequest::new()
            .with_message(Message::user_text("hi"))
            .streaming(true);
        let http = Gemini::call(ctx(DEFAULT_BASE_URL, "gemini-2.5-flash"))
            .encode(request)
            .unwrap();
        assert_eq!(
            http.url,
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert_eq!(http.header("accept"), Some("text/event-stream"));
        let body: Value = serde_json::from_slice(&http.body).unwrap();
        assert!(body.get("model").is_none(), "the model rides in the URL");
        assert_eq!(
            body["contents"],
            json!([{"role": "user", "parts": [{"text": "hi"}]}])
        );
    }

    #[test]
    fn a_non_streaming_request_under_a_versioned_base_url_keeps_that_version() {
        let http = Gemini::call(ctx("http://127.0.0.1:9000/v1/", "models/gemini-2.5-pro"))
            .encode(ChatRequest::new().with_message(Message::user_text("hi")))
            .unwrap();
        assert_eq!(
            http.url,
            "http://127.0.0.1:9000/v1/models/gemini-2.5-pro:generateContent"
        );
        assert_eq!(http.header("accept"), None);
    }

    #[test]
    fn passthrough_forwards_the_body_unchanged_to_the_url_ctx_names() {
        let body =
            br#"{"contents":[{"role":"user","parts":[{"text":"hi"}]}],"x_unknown":{"b":1,"a":2}}"#;
        let mut streamed = ctx("http://127.0.0.1:9000", "gemini-2.5-pro");
        streamed.stream = true;
        let http = native(streamed.clone(), body).unwrap();
        assert_eq!(http.body, body);
        assert_eq!(
            http.url,
            "http://127.0.0.1:9000/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
        );
        streamed.stream = false;
        let http = native(streamed.clone(), body).unwrap();
        assert!(http.url.ends_with(":generateContent"));
        let refused = Gemini::call(streamed)
            .encode_native(body.to_vec())
            .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Unsupported);
    }

    #[test]
    fn config_extra_headers_are_added_on_both_paths() {
        plugboard_sdk::host::set_config_for_tests(
            serde_json::json!({"extra-headers": {"x-goog-user-project": "billing-project"}}),
        );
        let flash = || ctx(DEFAULT_BASE_URL, "gemini-2.5-flash");
        let encoded = Gemini::call(flash())
            .encode(ChatRequest::new().with_message(Message::user_text("hi")))
            .unwrap();
        let native = native(flash(), b"{}").unwrap();
        for http in [encoded, native] {
            assert_eq!(http.header("x-goog-user-project"), Some("billing-project"));
        }
        plugboard_sdk::host::set_config_for_tests(serde_json::json!({}));
    }

    #[test]
    fn a_client_chosen_model_stays_one_path_segment() {
        let base = "http://127.0.0.1:9000/base";
        let url =
            |model: &str| generate_path(base, model, true).map(|path| format!("{base}{path}"));
        assert_eq!(
            url("gem/../../../../X").unwrap(),
            "http://127.0.0.1:9000/base/v1beta/models/gem%2F..%2F..%2F..%2F..%2FX:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            url(r"..\..\X").unwrap(),
            "http://127.0.0.1:9000/base/v1beta/models/..%5C..%5CX:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            url("x?injected=1&key=k").unwrap(),
            "http://127.0.0.1:9000/base/v1beta/models/x%3Finjected%3D1%26key%3Dk:streamGenerateContent?alt=sse"
        );
        for model in ["..", "models/..", "."] {
            let error = url(model).unwrap_err();
            assert_eq!(error.kind, ErrorKind::InvalidRequest, "{model}");
        }
    }

    #[test]
    fn info_declares_the_api_key_header_and_the_gemini_dialect() {
        let info = Gemini::info();
        assert_eq!(info.id, "gemini");
        assert_eq!(info.credential_kinds.len(), 1);
        assert_eq!(info.credential_kinds[0].id, "api-key");
        assert_eq!(
            info.credential_kinds[0].placement,
            Placement::header("x-goog-api-key")
        );
        assert_eq!(info.endpoint_url("base"), Some(DEFAULT_BASE_URL));
        assert_eq!(info.native_dialects, vec![Dialect::Gemini]);
        assert_eq!(info.hosts, vec!["generativelanguage.googleapis.com"]);
    }
}
