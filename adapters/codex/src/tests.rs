//! Stories of the codex adapter: what a login declares, what the backend is sent
//! (body rules, headers), how its answers and failures are read.

use super::*;
use plugboard_sdk::testing::{
    assert_error_frame_ends_the_stream, assert_every_split_decodes_to,
    assert_garbage_is_an_upstream_error, assert_passthrough_forwards_every_byte, decode_fed,
};

const BASE: &str = "http://127.0.0.1:9/backend-api/codex";
const ENCRYPTED: &str = "gAAAAABencrypted-reasoning";

fn ctx(client: Dialect, headers: &[(&str, &str)]) -> CallContext {
    let mut ctx = CallContext::for_tests(BASE, "gpt-5-codex");
    ctx.credential_kind = CODEX.into();
    ctx.client_dialect = client;
    ctx.account.attributes = vec![(ACCOUNT_ID.into(), "acct-123".into())];
    ctx.client_headers = headers
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    ctx
}

fn body_of(http: &HttpRequest) -> Value {
    serde_json::from_slice(&http.body).unwrap()
}

fn chat_request() -> ChatRequest {
    let mut request = ChatRequest::new()
        .with_system("Answer briefly.")
        .with_message(Message::system_text("Mid-conversation rule."))
        .with_message(Message::user_text("list files"));
    request.params.max_tokens = Some(500);
    request.params.temperature = Some(0.2);
    request.params.top_p = Some(0.9);
    request.params.parallel_tool_calls = Some(true);
    request.options = Some(
        json!({"openai": {"user": "u-1", "service_tier": "flex", "safety_identifier": "s"}})
            .to_string(),
    );
    request
}

#[test]
fn the_login_is_codex_clis_pkce_flow_with_an_id_token_and_a_five_day_refresh() {
    let info = Codex::info();
    assert_eq!(info.id, "codex");
    assert_eq!(info.native_dialects, vec![Dialect::OpenaiResponses]);
    assert_eq!(info.endpoint_url("base"), Some(DEFAULT_BASE_URL));
    assert_eq!(info.endpoint_url("authorize"), Some(AUTHORIZE_URL));
    assert_eq!(info.endpoint_url("token"), Some(TOKEN_URL));
    // The browser's login page is no host Plugboard sends to.
    assert_eq!(info.hosts, vec!["chatgpt.com", "auth.openai.com"]);
    assert!(info.models.iter().any(|model| model.id == "gpt-5-codex"));
    let [kind] = info.credential_kinds.as_slice() else {
        panic!("{:?}", info.credential_kinds)
    };
    assert_eq!(
        (kind.id.as_str(), &kind.placement),
        ("codex", &Placement::Bearer)
    );
    assert!(kind.setup);
    let Obtain::AuthorizationCode(login) = &kind.obtain else {
        panic!("{:?}", kind.obtain)
    };
    assert_eq!(login.client_id, "app_EMoamEEZ73f0CkXaXp7hrann");
    assert_eq!(
        login.scopes.join(" "),
        "openid email profile offline_access"
    );
    assert_eq!(
        (
            login.redirect_host.as_str(),
            login.redirect_port,
            login.redirect_path.as_str()
        ),
        ("localhost", 1455, "/auth/callback")
    );
    for (name, value) in [
        ("prompt", "login"),
        ("id_token_add_organizations", "true"),
        ("codex_cli_simplified_flow", "true"),
        ("code_challenge_method", "S256"),
    ] {
        assert!(
            login
                .authorize_params
                .contains(&(name.to_string(), TokenValue::text(value))),
            "{name}"
        );
    }
    assert_eq!(login.exchange.encoding, BodyEncoding::Form);
    assert_eq!(login.answer.id_token.as_deref(), Some("/id_token"));
    let refresh = kind.refresh.as_ref().unwrap();
    assert_eq!(refresh.lead_s, 5 * 24 * 3600);
    assert_eq!(refresh.call.encoding, BodyEncoding::Form);
    assert!(refresh.call.fields.contains(&(
        "scope".to_string(),
        TokenValue::text("openid profile email")
    )));
}

#[test]
fn account_setup_reads_the_account_plan_and_email_from_the_id_token_claims() {
    let claims = json!({
        "email": "dev@example.com",
        "https://api.openai.com/auth": {
            "chatgpt_account_id": "acct-9f2", "chatgpt_plan_type": "pro", "user_id": "user-1"
        }
    });
    let ctx = SetupContext {
        credential_kind: CODEX.into(),
        attributes: vec![("email".into(), "old@example.com".into())],
        id_token_claims: Some(claims.to_string()),
        endpoints: Vec::new(),
        answers: Vec::new(),
    };
    let SetupStep::Done(attributes) = Codex::account_setup(ctx).unwrap() else {
        panic!("setup asked for a request")
    };
    assert_eq!(
        attributes,
        vec![
            ("email".to_string(), "dev@example.com".to_string()),
            (ACCOUNT_ID.to_string(), "acct-9f2".to_string()),
            (PLAN_TYPE.to_string(), "pro".to_string()),
        ]
    );
    let refused = setup_attributes(Vec::new(), Some(&json!({"email": "a@b.c"}))).unwrap_err();
    assert!(
        refused.message.contains("chatgpt_account_id"),
        "{refused:?}"
    );
    assert!(setup_attributes(Vec::new(), None).is_err());
}

#[test]
fn an_ir_request_follows_every_body_rule() {
    let mut request = chat_request();
    request.tools.clear();
    let http = Codex::call(ctx(Dialect::OpenaiChat, &[]))
        .encode(request)
        .unwrap();
    assert_eq!(http.url, format!("{BASE}/responses"));
    assert_eq!(http.header("accept"), Some("text/event-stream"));
    assert_eq!(http.header("chatgpt-account-id"), Some("acct-123"));
    let body = body_of(&http);
    assert_eq!(body["model"], "gpt-5-codex");
    assert_eq!(body["stream"], true, "a non-streaming client still streams");
    assert_eq!(body["store"], false);
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(body["instructions"], "");
    assert_eq!(body["input"][0]["role"], "developer");
    assert_eq!(body["input"][0]["content"][0]["text"], "Answer briefly.");
    assert_eq!(body["input"][1]["role"], "developer");
    assert_eq!(body["input"][2]["role"], "user");
    for refused in REFUSED_FIELDS_SENT_BY_CLIENTS {
        assert!(body.get(refused).is_none(), "{refused} survived: {body}");
    }
    assert!(body.get("service_tier").is_none(), "only priority is kept");
    assert!(body.get("parallel_tool_calls").is_none(), "no tools");
}

/// The refused fields a Chat client's IR request produces.
const REFUSED_FIELDS_SENT_BY_CLIENTS: &[&str] = &[
    "max_output_tokens",
    "temperature",
    "top_p",
    "user",
    "safety_identifier",
];

#[test]
fn tools_keep_parallel_calls_and_priority_tier_survives() {
    let mut request = chat_request().with_tool(Tool::new(
        "bash",
        r#"{"type":"object","properties":{"cmd":{"type":"string"}}}"#,
    ));
    request.options = Some(json!({"openai": {"service_tier": "priority"}}).to_string());
    let body = body_of(
        &Codex::call(ctx(Dialect::AnthropicMessages, &[]))
            .encode(request)
            .unwrap(),
    );
    assert_eq!(body["parallel_tool_calls"], true);
    assert_eq!(body["service_tier"], "priority");
    assert_eq!(body["tools"][0]["name"], "bash");
}

#[test]
fn passthrough_applies_the_rules_and_keeps_encrypted_reasoning_and_unknown_fields() {
    let client = json!({
        "model": "alias",
        "instructions": null,
        "stream": false,
        "store": true,
        "include": ["file_search_call.results"],
        "temperature": 0.5,
        "max_output_tokens": 100,
        "previous_response_id": "resp_old",
        "truncation": "auto",
        "service_tier": "auto",
        "parallel_tool_calls": true,
        "tools": [{"type": "web_search_preview"}, {"type": "web_search_preview_2025_03_11"}],
        "x_unknown": {"b": 1},
        "input": [
            {"type": "message", "role": "system", "content": [{"type": "input_text", "text": "rule", "prompt_cache_breakpoint": true}]},
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": ENCRYPTED},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hello"}]},
            {"role": "user", "content": "again"}
        ]
    });
    let mut call = Codex::call(ctx(Dialect::OpenaiResponses, &[]));
    let http = call.encode_native(client.to_string().into_bytes()).unwrap();
    let body = body_of(&http);
    assert_eq!(body["model"], "gpt-5-codex");
    assert_eq!(
        (&body["stream"], &body["store"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(body["instructions"], "");
    for gone in [
        "temperature",
        "max_output_tokens",
        "previous_response_id",
        "truncation",
        "service_tier",
    ] {
        assert!(body.get(gone).is_none(), "{gone}");
    }
    assert_eq!(body["parallel_tool_calls"], true);
    assert_eq!(
        body["tools"],
        json!([{"type": "web_search"}, {"type": "web_search"}])
    );
    assert_eq!(body["x_unknown"], json!({"b": 1}));
    assert_eq!(body["input"][0]["role"], "developer");
    assert!(
        body["input"][0]["content"][0]
            .get("prompt_cache_breakpoint")
            .is_none()
    );
    assert_eq!(
        body["input"][2],
        json!({"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": ENCRYPTED})
    );
    assert_eq!(
        body["input"][4],
        json!({"role": "user", "content": "again"})
    );

    let string_input = Codex::call(ctx(Dialect::OpenaiResponses, &[]))
        .encode_native(
            br#"{"model":"m","input":"hi","tools":[],"parallel_tool_calls":false}"#.to_vec(),
        )
        .unwrap();
    let body = body_of(&string_input);
    assert_eq!(
        body["input"],
        json!([{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}])
    );
    assert!(body.get("parallel_tool_calls").is_none());
    let refused = Codex::call(ctx(Dialect::OpenaiChat, &[]))
        .encode_native(b"{}".to_vec())
        .unwrap_err();
    assert_eq!(refused.kind, ErrorKind::Unsupported);
}

#[test]
fn the_clients_own_identity_headers_go_on_and_none_are_made_up() {
    let codex_cli = [
        ("originator", "codex_cli_rs"),
        ("session_id", "sess-1"),
        ("version", "0.46.0"),
        ("user-agent", "codex_cli_rs/0.46.0"),
        ("openai-beta", "responses=experimental"),
        ("x-unrelated", "no"),
    ];
    let http = Codex::call(ctx(Dialect::OpenaiResponses, &codex_cli))
        .encode_native(br#"{"model":"m","input":"hi"}"#.to_vec())
        .unwrap();
    for (name, value) in &codex_cli[..5] {
        assert_eq!(http.header(name), Some(*value), "{name}");
    }
    assert_eq!(http.header("x-unrelated"), None);
    let plain = Codex::call(ctx(Dialect::OpenaiChat, &[]))
        .encode(ChatRequest::new().with_message(Message::user_text("hi")))
        .unwrap();
    for name in FORWARDED_CLIENT_HEADERS {
        assert_eq!(plain.header(name), None, "{name} made up");
    }
    let body = body_of(&plain);
    assert_eq!(body["instructions"], "", "no Codex system prompt");
}

#[test]
fn an_account_without_its_chatgpt_account_id_says_how_to_fix_it() {
    let mut bare = ctx(Dialect::OpenaiChat, &[]);
    bare.account.attributes.clear();
    let error = Codex::call(bare)
        .encode(ChatRequest::new().with_message(Message::user_text("hi")))
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Upstream, "another account may serve");
    assert!(error.message.contains("chatgpt-account-id"));
    assert!(error.message.contains("log in again"));
}

const NOW: u64 = 1_800_000_000;

fn classify(status: u16, body: &Value) -> ErrorClass {
    errors::classify_at(
        &ResponseHead::new(status, &[]),
        body.to_string().as_bytes(),
        NOW,
    )
    .class
}

#[test]
fn usage_limits_rest_the_account_until_the_window_resets() {
    let at = json!({"error": {"type": "usage_limit_reached", "message": "The usage limit has been reached",
        "plan_type": "plus", "resets_at": NOW + 3600, "resets_in_seconds": 10}});
    assert_eq!(
        classify(429, &at),
        ErrorClass::QuotaExhausted(Some(3_600_000))
    );
    let past = json!({"error": {"type": "usage_limit_reached", "resets_at": NOW - 5, "resets_in_seconds": 90}});
    assert_eq!(
        classify(429, &past),
        ErrorClass::QuotaExhausted(Some(90_000))
    );
    // Any status carrying the type is the usage limit.
    let odd = json!({"error": {"code": "usage_limit_reached", "resets_in_seconds": "30"}});
    assert_eq!(
        classify(400, &odd),
        ErrorClass::QuotaExhausted(Some(30_000))
    );
    assert_eq!(
        classify(429, &json!({"error": {"type": "usage_limit_reached"}})),
        ErrorClass::QuotaExhausted(None)
    );
    let classified =
        errors::classify_at(&ResponseHead::new(429, &[]), at.to_string().as_bytes(), NOW);
    assert_eq!(classified.message, "The usage limit has been reached");
}

#[test]
fn every_other_failure_gets_its_routing_class() {
    let limited = json!({"error": {"type": "rate_limit_exceeded", "message": "Slow down"}});
    assert_eq!(
        errors::classify_at(
            &ResponseHead::new(429, &[("retry-after", "2")]),
            limited.to_string().as_bytes(),
            NOW
        )
        .class,
        ErrorClass::RateLimited(Some(2000))
    );
    for overloaded in [
        json!({"error": {"code": "server_is_overloaded", "message": "busy"}}),
        json!({"error": {"type": "service_unavailable_error"}}),
        json!({"error": {"message": "Selected model is at capacity. Please try a different model."}}),
    ] {
        assert_eq!(
            classify(500, &overloaded),
            ErrorClass::Overloaded(None),
            "{overloaded}"
        );
    }
    let long = json!({"error": {"code": "context_length_exceeded", "message": "Your input exceeds the context window of this model."}});
    assert_eq!(classify(400, &long), ErrorClass::ContextTooLong);
    assert_eq!(
        classify(
            401,
            &json!({"error": {"code": "token_expired", "message": "Provided authentication token is expired."}})
        ),
        ErrorClass::AuthExpired
    );
    assert_eq!(
        classify(400, &json!({"error": {"code": "invalid_api_key"}})),
        ErrorClass::AuthExpired
    );
    assert_eq!(
        classify(404, &json!({"detail": "Model not found gpt-9"})),
        ErrorClass::ModelUnavailable
    );
    assert_eq!(
        classify(
            400,
            &json!({"detail": "Unsupported parameter: temperature"})
        ),
        ErrorClass::BadRequest
    );
    assert_eq!(classify(502, &json!({})), ErrorClass::Overloaded(None));
}

/// A streamed answer: text, then a call.
const STREAM: &str = concat!(
    "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"created_at\":1760000000,\"status\":\"in_progress\",\"model\":\"gpt-5-codex\",\"output\":[]}}\n\n",
    "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[]}}\n\n",
    "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":[],\"encrypted_content\":\"gAAAAABenc\"}}\n\n",
    "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"output_index\":1,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[]}}\n\n",
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"item_id\":\"msg_1\",\"output_index\":1,\"delta\":\"Hi \u{e9}\"}\n\n",
    "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":1,\"item\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hi \u{e9}\"}]}}\n\n",
    "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"status\":\"completed\",\"model\":\"gpt-5-codex\",\"output\":[],\"usage\":{\"input_tokens\":12,\"output_tokens\":5,\"output_tokens_details\":{\"reasoning_tokens\":2}}}}\n\n",
);

fn usage() -> Usage {
    Usage {
        input_tokens: Some(12),
        output_tokens: Some(5),
        cache_read_tokens: None,
        cache_write_tokens: None,
        reasoning_tokens: Some(2),
    }
}

fn started(client: Dialect, client_streams: Option<bool>) -> CodexCall {
    let mut call = Codex::call(ctx(client, &[]));
    match client_streams {
        Some(streams) => {
            let body = json!({"model": "m", "input": "hi", "stream": streams});
            call.encode_native(body.to_string().into_bytes()).unwrap();
        }
        None => {
            call.encode(ChatRequest::new().with_message(Message::user_text("hi")))
                .unwrap();
        }
    }
    call.respond(
        ResponseHead::new(200, &[("content-type", "text/event-stream")]),
        true,
    );
    call
}

#[test]
fn the_ir_path_decodes_the_stream_whole_or_split_anywhere() {
    let whole = decode_fed(started(Dialect::OpenaiChat, None), &[STREAM.as_bytes()]);
    assert!(
        whole
            .iter()
            .any(|e| matches!(e, StreamEvent::TextDelta(d) if d.delta == "Hi \u{e9}")),
        "{whole:?}"
    );
    assert_eq!(
        whole.last(),
        Some(&StreamEvent::finish(
            FinishReason::Stop,
            Some("completed".into()),
            usage()
        ))
    );
    assert_every_split_decodes_to(
        || started(Dialect::OpenaiChat, None),
        STREAM.as_bytes(),
        &whole,
    );
}

#[test]
fn passthrough_to_a_streaming_client_forwards_every_byte() {
    assert_passthrough_forwards_every_byte(
        || started(Dialect::OpenaiResponses, Some(true)),
        STREAM.as_bytes(),
        &StreamEvent::finish(FinishReason::Stop, Some("completed".into()), usage()),
    );
}

#[test]
fn passthrough_to_a_client_that_wanted_one_document_gathers_the_stream() {
    for cut in 0..=STREAM.len() {
        let (head, tail) = STREAM.as_bytes().split_at(cut);
        let events = decode_fed(
            started(Dialect::OpenaiResponses, Some(false)),
            &[head, tail],
        );
        let [StreamEvent::Raw(document), finish] = events.as_slice() else {
            panic!("cut at {cut}: {events:?}")
        };
        assert_eq!(
            finish,
            &StreamEvent::finish(FinishReason::Stop, Some("completed".into()), usage())
        );
        let document: Value = serde_json::from_slice(document).unwrap();
        assert_eq!(document["id"], "resp_1");
        assert_eq!(document["output"][0]["encrypted_content"], "gAAAAABenc");
        assert_eq!(document["output"][1]["content"][0]["text"], "Hi \u{e9}");
        assert_eq!(document["usage"]["input_tokens"], 12);
    }
    let cut_short = decode_fed(
        started(Dialect::OpenaiResponses, Some(false)),
        &[STREAM
            .split("event: response.completed")
            .next()
            .unwrap()
            .as_bytes()],
    );
    assert!(
        matches!(&cut_short[0], StreamEvent::Error(error) if error.message.contains("before response.completed")),
        "{cut_short:?}"
    );
}

const USAGE_LIMIT_FRAME: &str = concat!(
    "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_2\",\"status\":\"in_progress\",\"model\":\"gpt-5-codex\"}}\n\n",
    "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"id\":\"resp_2\",\"status\":\"failed\",\"error\":{\"code\":\"usage_limit_reached\",\"message\":\"The usage limit has been reached\",\"resets_in_seconds\":120}}}\n\n",
);

#[test]
fn error_frames_inside_the_200_stream_are_classified_on_every_path() {
    let quota = UpstreamError::new(
        ErrorClass::QuotaExhausted(Some(120_000)),
        "The usage limit has been reached",
    );
    assert_error_frame_ends_the_stream(
        || started(Dialect::OpenaiChat, None),
        USAGE_LIMIT_FRAME.as_bytes(),
        &quota,
    );
    // Passthrough: the host gets the class too (and writes the client's error frame).
    for streams in [true, false] {
        let events = decode_fed(
            started(Dialect::OpenaiResponses, Some(streams)),
            &[USAGE_LIMIT_FRAME.as_bytes()],
        );
        assert_eq!(
            events[0],
            StreamEvent::Error(quota.clone()),
            "stream {streams}"
        );
    }
    let overloaded = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"service_unavailable_error\",\"code\":\"server_is_overloaded\",\"message\":\"Our servers are currently overloaded.\"}}\n\n";
    assert_error_frame_ends_the_stream(
        || started(Dialect::OpenaiChat, None),
        overloaded.as_bytes(),
        &UpstreamError::new(
            ErrorClass::Overloaded(None),
            "Our servers are currently overloaded.",
        ),
    );
    let limited = json!({"type": "error", "code": "rate_limit_exceeded", "message": "Slow down"});
    assert_eq!(
        errors::classify_frame(&limited).class,
        ErrorClass::RateLimited(None)
    );
    let long = json!({"type": "error", "error": {"code": "context_length_exceeded", "message": "too long"}});
    assert_eq!(
        errors::classify_frame(&long).class,
        ErrorClass::ContextTooLong
    );
    let key = json!({"code": "invalid_api_key", "message": "bad key"});
    assert_eq!(errors::classify_frame(&key).class, ErrorClass::AuthExpired);
    let unnamed = json!({"message": "something broke"});
    assert_eq!(
        errors::classify_frame(&unnamed).class,
        ErrorClass::Overloaded(None)
    );
}

#[test]
fn garbage_is_an_upstream_error() {
    assert_garbage_is_an_upstream_error(
        || started(Dialect::OpenaiChat, None),
        b"event: response.created\ndata: {oops\n\n",
    );
    assert_garbage_is_an_upstream_error(
        || started(Dialect::OpenaiResponses, Some(true)),
        b"event: response.created\ndata: {oops\n\n",
    );
}
