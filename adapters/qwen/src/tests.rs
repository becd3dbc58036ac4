//! The adapter as data: its declarations, the request it builds through
//! `adapter-openai`'s translation, and how Qwen's failures are classed.

use super::*;

fn ctx(base: &str) -> CallContext {
    let mut ctx = CallContext::for_tests(base, "qwen3-coder-plus");
    ctx.credential_kind = QWEN_KIND.into();
    ctx
}

fn hi() -> ChatRequest {
    ChatRequest::new().with_message(Message::user_text("hi"))
}

#[test]
fn the_kind_is_a_device_login_with_pkce_and_a_refreshed_bearer() {
    let info = Qwen::info();
    assert_eq!(info.id, "qwen");
    let [kind] = info.credential_kinds.as_slice() else {
        panic!("{:?}", info.credential_kinds)
    };
    assert_eq!(
        (kind.id.as_str(), &kind.placement),
        ("qwen", &Placement::Bearer)
    );
    let Obtain::DeviceCode(login) = &kind.obtain else {
        panic!("{:?}", kind.obtain)
    };
    assert_eq!(login.client_id, "f0304373b74a44d2b584a3fb70ca9e56");
    assert_eq!(
        login.scopes.join(&login.scope_separator),
        "openid profile email model.completion"
    );
    assert_eq!(login.start.endpoint, "device");
    assert_eq!(login.start.encoding, BodyEncoding::Form);
    assert_eq!(
        login.start.fields,
        vec![
            ("client_id".to_string(), TokenValue::ClientId),
            ("scope".to_string(), TokenValue::Scope),
            ("code_challenge".to_string(), TokenValue::CodeChallenge),
            (
                "code_challenge_method".to_string(),
                TokenValue::text("S256")
            ),
        ]
    );
    assert_eq!(login.poll.endpoint, "token");
    assert_eq!(
        login.poll.fields,
        vec![
            (
                "grant_type".to_string(),
                TokenValue::text("urn:ietf:params:oauth:grant-type:device_code")
            ),
            ("device_code".to_string(), TokenValue::DeviceCode),
            ("client_id".to_string(), TokenValue::ClientId),
            ("code_verifier".to_string(), TokenValue::CodeVerifier),
        ]
    );
    assert_eq!(login.pending.pending, ["authorization_pending"]);
    assert_eq!(login.pending.slow_down, ["slow_down"]);
    assert_eq!(login.answer.base_url.as_deref(), Some("/resource_url"));
    let refresh = kind.refresh.as_ref().unwrap();
    assert_eq!(refresh.lead_s, 20 * 60);
    assert_eq!(refresh.call.endpoint, "token");
    assert_eq!(refresh.call.encoding, BodyEncoding::Form);
    assert_eq!(refresh.answer.base_url.as_deref(), Some("/resource_url"));
}

#[test]
fn endpoints_hosts_and_models_are_declared() {
    let info = Qwen::info();
    assert_eq!(info.endpoint_url("base"), Some("https://portal.qwen.ai/v1"));
    assert_eq!(
        info.endpoint_url("device"),
        Some("https://chat.qwen.ai/api/v1/oauth2/device/code")
    );
    assert_eq!(
        info.endpoint_url("token"),
        Some("https://chat.qwen.ai/api/v1/oauth2/token")
    );
    assert_eq!(
        info.hosts,
        [
            "portal.qwen.ai",
            "chat.qwen.ai",
            "dashscope.aliyuncs.com",
            "dashscope-intl.aliyuncs.com"
        ]
    );
    let models: Vec<&str> = info.models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(models, MODELS);
    assert_eq!(info.native_dialects, [Dialect::OpenaiChat]);
}

#[test]
fn a_resource_url_becomes_a_v1_api_base() {
    assert_eq!(api_base("portal.qwen.ai"), "https://portal.qwen.ai/v1");
    assert_eq!(
        api_base("https://portal.qwen.ai"),
        "https://portal.qwen.ai/v1"
    );
    assert_eq!(
        api_base("https://portal.qwen.ai/v1/"),
        "https://portal.qwen.ai/v1"
    );
    assert_eq!(
        api_base("https://dashscope.aliyuncs.com/compatible-mode"),
        "https://dashscope.aliyuncs.com/compatible-mode/v1"
    );
    assert_eq!(api_base("http://127.0.0.1:9/v1"), "http://127.0.0.1:9/v1");
}

#[test]
fn a_request_is_openais_chat_translation_on_the_account_base_with_qwens_headers() {
    let http = Qwen::call(ctx("https://portal.qwen.ai"))
        .encode(hi().streaming(true))
        .unwrap();
    assert_eq!(http.url, "https://portal.qwen.ai/v1/chat/completions");
    assert_eq!(http.header("x-dashscope-authtype"), Some("qwen-oauth"));
    assert_eq!(http.header("x-dashscope-cachecontrol"), Some("enable"));
    assert_eq!(http.header("accept"), Some("text/event-stream"));
    // The very body adapter-openai builds for the same request.
    let openai = adapter_openai::OpenAi::call(CallContext::for_tests(
        "https://portal.qwen.ai/v1",
        "qwen3-coder-plus",
    ))
    .encode(hi().streaming(true))
    .unwrap();
    assert_eq!(http.body, openai.body);
    let body: Value = serde_json::from_slice(&http.body).unwrap();
    assert_eq!(body["model"], "qwen3-coder-plus");
    assert_eq!(body["stream_options"]["include_usage"], true);
    assert_eq!(body["messages"][0]["content"], "hi");
}

#[test]
fn a_chat_client_passes_through_with_only_the_model_swapped() {
    let mut native = ctx("https://dashscope.aliyuncs.com/compatible-mode/v1");
    native.client_dialect = Dialect::OpenaiChat;
    let http = Qwen::call(native)
        .encode_native(br#"{"model":"coder","messages":[{"role":"user","content":"x"}]}"#.to_vec())
        .unwrap();
    assert_eq!(
        http.url,
        "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions"
    );
    assert_eq!(
        String::from_utf8(http.body.clone()).unwrap(),
        r#"{"model":"qwen3-coder-plus","messages":[{"role":"user","content":"x"}]}"#
    );
    assert_eq!(http.header("x-dashscope-authtype"), Some("qwen-oauth"));
}

#[test]
fn a_spent_quota_is_exhausted_and_other_429s_are_rate_limited() {
    let classify = |status: u16, headers: &[(&str, &str)], body: &str| {
        errors::classify(&ResponseHead::new(status, headers), body.as_bytes())
    };
    let free = classify(
        429,
        &[],
        r#"{"error":{"code":"insufficient_quota","message":"Free allocated quota exceeded.","type":"insufficient_quota"}}"#,
    );
    assert_eq!(free.class, ErrorClass::QuotaExhausted(None));
    assert_eq!(free.message, "Free allocated quota exceeded.");
    assert_eq!(
        classify(
            403,
            &[("retry-after", "3600")],
            r#"{"error":{"code":"quota_exceeded","message":"daily quota reached"}}"#
        )
        .class,
        ErrorClass::QuotaExhausted(Some(3_600_000))
    );
    assert_eq!(
        classify(
            403,
            &[],
            r#"{"error":{"message":"free allocated quota exceeded for today","type":"forbidden"}}"#
        )
        .class,
        ErrorClass::QuotaExhausted(None)
    );
    let throttled = classify(
        429,
        &[("retry-after", "7")],
        r#"{"error":{"code":"rate_limit_exceeded","message":"Requests rate limit exceeded","type":"requests"}}"#,
    );
    assert_eq!(throttled.class, ErrorClass::RateLimited(Some(7_000)));
    // A 403 that is no quota stays what OpenAI's shape says: the token is refused.
    assert_eq!(
        classify(
            403,
            &[],
            r#"{"error":{"message":"invalid access token","code":"invalid_token"}}"#
        )
        .class,
        ErrorClass::AuthExpired
    );
    assert_eq!(
        classify(
            400,
            &[],
            r#"{"error":{"message":"bad","type":"invalid_request_error"}}"#
        )
        .class,
        ErrorClass::BadRequest
    );
}
