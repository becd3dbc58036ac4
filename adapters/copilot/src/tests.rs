use super::*;
use crate::headers::{Initiator, REQUIRED};
use plugboard_sdk::testing;

/// The API base an exchange named for the account.
const API: &str = "https://api.individual.githubcopilot.com";

fn ctx(model: &str) -> CallContext {
    let mut ctx = CallContext::for_tests(API, model);
    ctx.credential_kind = KIND.into();
    ctx.model_info = Copilot::info().models.into_iter().find(|m| m.id == model);
    ctx
}

fn user(text: &str) -> ChatRequest {
    ChatRequest::new().with_message(Message::user_text(text))
}

fn encode(ctx: CallContext, request: ChatRequest) -> (Route, HttpRequest) {
    let mut call = Copilot::call(ctx);
    let http = call.encode(request).unwrap();
    (call.route(), http)
}

fn body(http: &HttpRequest) -> Value {
    serde_json::from_slice(&http.body).unwrap()
}

/// A conversation where the model asked for a tool and the client ran it, ending with
/// the tool's result as the given turn.
fn after_tool(result_turn: Message) -> ChatRequest {
    user("What is the weather in Paris?")
        .with_message(Message::new(
            Role::Assistant,
            vec![Part::tool_call(
                "call_1",
                "get_weather",
                r#"{"city":"Paris"}"#,
            )],
        ))
        .with_message(result_turn)
}

fn image() -> Part {
    Part::File(FilePart {
        media_type: "image/png".into(),
        data: FileData::Base64("iVBORw0KGgo=".into()),
        filename: None,
        options: None,
    })
}

#[test]
fn the_kind_is_a_github_device_login_exchanged_for_a_copilot_token_and_its_api_host() {
    let info = Copilot::info();
    let [kind] = info.credential_kinds.as_slice() else {
        panic!("{:?}", info.credential_kinds)
    };
    assert_eq!(
        (kind.id.as_str(), &kind.placement),
        ("copilot", &Placement::Bearer)
    );
    let Obtain::DeviceCode(login) = &kind.obtain else {
        panic!("{:?}", kind.obtain)
    };
    assert_eq!(login.client_id, "Iv1.b507a08c87ecfe98");
    assert_eq!(login.scopes, ["read:user"]);
    assert_eq!(
        (login.start.endpoint.as_str(), login.poll.endpoint.as_str()),
        ("device", "token")
    );
    // GitHub answers the poll 200 with `error` while pending: the code is read whatever the status.
    assert_eq!(login.pending.error_code, "/error");
    assert_eq!(login.pending.pending, ["authorization_pending"]);
    assert_eq!(login.pending.slow_down, ["slow_down"]);
    assert!(login.pending.pending_statuses.is_empty());
    assert_eq!(login.answer.access_token, "/access_token");
    assert_eq!(login.verification_uri_complete, None);

    let exchange = kind.exchange.as_ref().expect("an exchange");
    assert_eq!(
        (
            exchange.call.method.as_str(),
            exchange.call.endpoint.as_str()
        ),
        ("GET", "exchange")
    );
    assert_eq!(
        exchange.call.present,
        Placement::header_with_prefix("authorization", "token ")
    );
    assert_eq!(exchange.answer.access_token, "/token");
    assert_eq!(exchange.answer.expires_at.as_deref(), Some("/expires_at"));
    assert_eq!(exchange.answer.base_url.as_deref(), Some("/endpoints/api"));
    assert_eq!(exchange.lead_s, 300);
    assert!(
        exchange
            .call
            .headers
            .contains(&("editor-version".into(), headers::EDITOR_VERSION.into()))
    );
    assert!(kind.refresh.is_none(), "the GitHub token does not expire");

    let reads: Vec<_> = kind
        .reads
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.call.endpoint.as_str(),
                r.exchanged,
                r.every_s,
            )
        })
        .collect();
    assert_eq!(
        reads,
        [
            ("quota", "user", false, 300),
            ("models", "base/models", true, 3600)
        ]
    );
    assert_eq!(
        kind.reads[0].call.present,
        Placement::header_with_prefix("authorization", "token ")
    );
    assert_eq!(kind.reads[1].call.present, Placement::Bearer);
    for (name, value) in REQUIRED {
        assert_eq!(
            kind.reads[1]
                .call
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str()),
            Some(value)
        );
    }
}

#[test]
fn every_url_is_a_named_endpoint_and_the_hosts_cover_the_api_hosts_an_exchange_names() {
    let info = Copilot::info();
    let endpoints: Vec<_> = info
        .endpoints
        .iter()
        .map(|e| (e.name.as_str(), e.url.as_str()))
        .collect();
    assert_eq!(
        endpoints,
        [
            ("base", "https://api.githubcopilot.com"),
            ("device", "https://github.com/login/device/code"),
            ("token", "https://github.com/login/oauth/access_token"),
            (
                "exchange",
                "https://api.github.com/copilot_internal/v2/token"
            ),
            ("user", "https://api.github.com/copilot_internal/user"),
        ]
    );
    for host in [
        "*.githubcopilot.com",
        "api.github.com",
        "github.com",
        "api.githubcopilot.com",
    ] {
        assert!(
            info.hosts.iter().any(|h| h == host),
            "{host}: {:?}",
            info.hosts
        );
    }
    assert!(
        info.native_dialects.is_empty(),
        "translation always goes through the IR"
    );
}

#[test]
fn a_gpt_model_goes_to_chat_completions_under_the_account_base_with_usage_asked_for() {
    let (route, http) = encode(ctx("gpt-4.1"), user("hi").streaming(true));
    assert_eq!(route, Route::Chat);
    assert_eq!(
        http.url,
        "https://api.individual.githubcopilot.com/chat/completions"
    );
    let sent = body(&http);
    assert_eq!(sent["model"], "gpt-4.1");
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_eq!(http.header("accept"), Some("text/event-stream"));
    for (name, value) in REQUIRED {
        assert_eq!(http.header(name), Some(value), "{name}");
    }
    assert_eq!(http.header("x-initiator"), Some("user"));
    assert_eq!(http.header("copilot-vision-request"), None);
    assert_eq!(
        http.header("user-agent"),
        Some(format!("plugboard/{}", env!("CARGO_PKG_VERSION")).as_str())
    );
    assert_eq!(
        http.header("authorization"),
        None,
        "the host places the Copilot token"
    );
}

#[test]
fn a_claude_model_goes_to_v1_messages_and_a_codex_model_to_responses() {
    let (route, http) = encode(ctx("claude-sonnet-4.6"), user("hi"));
    assert_eq!(route, Route::Messages);
    assert_eq!(
        http.url,
        "https://api.individual.githubcopilot.com/v1/messages"
    );
    assert_eq!(http.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(body(&http)["model"], "claude-sonnet-4.6");
    assert!(body(&http)["max_tokens"].is_u64());
    assert_eq!(http.header("editor-version"), Some(headers::EDITOR_VERSION));

    let (route, http) = encode(ctx("gpt-5.1-codex"), user("hi").streaming(true));
    assert_eq!(route, Route::Responses);
    assert_eq!(
        http.url,
        "https://api.individual.githubcopilot.com/responses"
    );
    assert_eq!(body(&http)["input"][0]["role"], "user");
    assert_eq!(http.header("x-initiator"), Some("user"));
}

#[test]
fn the_route_follows_the_models_read_then_the_clients_dialect_then_the_name() {
    let with_routes = |model: &str, routes: &[&str], dialect: Dialect| {
        let mut ctx = ctx(model);
        ctx.model_info = Some(
            routes
                .iter()
                .fold(ModelInfo::new(model), |m, r| m.route(*r)),
        );
        ctx.client_dialect = dialect;
        Route::choose(&ctx)
    };
    // Served on one route only: that one, whatever the name says.
    assert_eq!(
        with_routes("gpt-5.9", &["/responses"], Dialect::OpenaiChat),
        Route::Responses
    );
    assert_eq!(
        with_routes("claude-x", &["/chat/completions"], Dialect::OpenaiChat),
        Route::Chat
    );
    // Several: the client's own route, else Messages for Claude, else Chat.
    let both = ["/chat/completions", "/responses"];
    assert_eq!(
        with_routes("gpt-5", &both, Dialect::OpenaiResponses),
        Route::Responses
    );
    assert_eq!(
        with_routes("gpt-5", &both, Dialect::OpenaiChat),
        Route::Chat
    );
    assert_eq!(with_routes("gpt-5", &both, Dialect::Gemini), Route::Chat);
    let claude = ["/chat/completions", "/v1/messages"];
    assert_eq!(
        with_routes("claude-sonnet-4.6", &claude, Dialect::OpenaiChat),
        Route::Messages
    );
    assert_eq!(
        with_routes("claude-sonnet-4.6", &claude, Dialect::AnthropicMessages),
        Route::Messages
    );
    // Not known: by name.
    assert_eq!(
        with_routes("claude-opus-9", &[], Dialect::OpenaiChat),
        Route::Messages
    );
    assert_eq!(
        with_routes("gpt-6-codex-max", &[], Dialect::OpenaiChat),
        Route::Responses
    );
    assert_eq!(
        with_routes("gpt-5.4-mini", &[], Dialect::OpenaiChat),
        Route::Responses
    );
    assert_eq!(
        with_routes("o9", &[], Dialect::AnthropicMessages),
        Route::Chat
    );
    let mut unknown = CallContext::for_tests(API, "claude-haiku-4.5");
    unknown.model_info = None;
    assert_eq!(Route::choose(&unknown), Route::Messages);
}

#[test]
fn x_initiator_says_user_when_a_person_wrote_the_last_turn_and_agent_when_the_loop_continues() {
    let initiator = |request: &ChatRequest| Initiator::of(request);
    assert_eq!(initiator(&user("hi")), Initiator::User);
    assert_eq!(initiator(&ChatRequest::new()), Initiator::User);
    // A plain multi-turn chat: the person's new question is a user turn.
    let chat = user("hi")
        .with_message(Message::assistant_text("hello"))
        .with_message(Message::user_text("and now?"));
    assert_eq!(initiator(&chat), Initiator::User);
    // A trailing system turn does not count.
    assert_eq!(
        initiator(&chat.clone().with_message(Message::system_text("be brief"))),
        Initiator::User
    );
    // An OpenAI tool turn, an Anthropic tool-result-only user turn, a continuation.
    let tool_turn = Message::new(Role::Tool, vec![Part::tool_result_text("call_1", "sunny")]);
    assert_eq!(initiator(&after_tool(tool_turn)), Initiator::Agent);
    let result_turn = Message::new(Role::User, vec![Part::tool_result_text("call_1", "sunny")]);
    assert_eq!(initiator(&after_tool(result_turn)), Initiator::Agent);
    assert_eq!(
        initiator(&user("write a poem").with_message(Message::assistant_text("Roses"))),
        Initiator::Agent
    );
    // A person wrote beside the results, or sent a picture: user.
    let interrupted = Message::new(
        Role::User,
        vec![
            Part::tool_result_text("call_1", "sunny"),
            Part::text("actually, Lyon"),
        ],
    );
    assert_eq!(initiator(&after_tool(interrupted)), Initiator::User);
    let picture = Message::new(Role::User, vec![image()]);
    assert_eq!(
        initiator(&ChatRequest::new().with_message(picture)),
        Initiator::User
    );

    // On the wire, on every route.
    for model in ["gpt-4.1", "claude-sonnet-4.6", "gpt-5-codex"] {
        let tool_turn = Message::new(Role::Tool, vec![Part::tool_result_text("call_1", "sunny")]);
        let (_, http) = encode(ctx(model), after_tool(tool_turn));
        assert_eq!(http.header("x-initiator"), Some("agent"), "{model}");
        let (_, http) = encode(ctx(model), user("hi"));
        assert_eq!(http.header("x-initiator"), Some("user"), "{model}");
    }
}

#[test]
fn vision_is_flagged_only_with_an_image_and_the_clients_user_agent_is_kept() {
    let mut with_agent = ctx("gpt-4.1");
    with_agent.client_headers = vec![("user-agent".into(), "codex_cli_rs/0.50.0".into())];
    let looked = ChatRequest::new().with_message(Message::new(
        Role::User,
        vec![Part::text("what is this?"), image()],
    ));
    let (_, http) = encode(with_agent, looked);
    assert_eq!(http.header("copilot-vision-request"), Some("true"));
    assert_eq!(http.header("user-agent"), Some("codex_cli_rs/0.50.0"));
    assert_eq!(
        http.headers
            .iter()
            .filter(|(n, _)| n == "user-agent")
            .count(),
        1
    );

    let screenshot = Message::new(
        Role::Tool,
        vec![Part::ToolResult(ToolResultPart {
            call_id: "call_1".into(),
            name: None,
            output: vec![ToolOutput::File(FilePart {
                media_type: "image/jpeg".into(),
                data: FileData::Url("https://example.com/shot.jpg".into()),
                filename: None,
                options: None,
            })],
            is_error: false,
            options: None,
        })],
    );
    assert!(headers::has_image(&after_tool(screenshot)));
    assert!(!headers::has_image(&user("no picture")));
}

#[test]
fn a_version_set_in_the_entrys_extra_headers_replaces_the_constant() {
    host::set_config_for_tests(json!({"extra-headers": {"editor-version": "vscode/1.120.0"}}));
    let (_, http) = encode(ctx("gpt-4.1"), user("hi"));
    host::set_config_for_tests(json!({}));
    let sent: Vec<_> = http
        .headers
        .iter()
        .filter(|(n, _)| n == "editor-version")
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, "vscode/1.120.0");
    assert_eq!(
        http.header("editor-plugin-version"),
        Some(headers::EDITOR_PLUGIN_VERSION)
    );
}

fn classify(model: &str, status: u16, headers: &[(&str, &str)], body: &str) -> UpstreamError {
    Copilot::call(ctx(model))
        .classify_error(ResponseHead::new(status, headers), body.as_bytes().to_vec())
}

#[test]
fn copilots_failures_are_classified_for_routing() {
    let quota = classify(
        "gpt-4.1",
        402,
        &[],
        r#"{"error":{"message":"You have no quota","code":"quota_exceeded"}}"#,
    );
    assert_eq!(quota.class, ErrorClass::QuotaExhausted(None));
    assert_eq!(quota.message, "You have no quota");
    let limited = classify(
        "claude-opus-4.5",
        429,
        &[("retry-after", "120")],
        r#"{"error":{"message":"Sorry, you have exceeded your Claude Opus 4.5 token usage, please try again later or switch to Auto.","code":"rate_limited"}}"#,
    );
    assert_eq!(limited.class, ErrorClass::RateLimited(Some(120_000)));
    let long = classify(
        "gpt-4.1",
        400,
        &[],
        r#"{"error":{"message":"prompt token count of 138898 exceeds the limit of 64000","code":"model_max_prompt_tokens_exceeded"}}"#,
    );
    assert_eq!(long.class, ErrorClass::ContextTooLong);
    let old_form = classify(
        "gpt-4.1",
        400,
        &[],
        r#"{"error":{"message":"prompt token count of 9000 exceeds the limit of 8000","param":"","code":"","type":""}}"#,
    );
    assert_eq!(old_form.class, ErrorClass::ContextTooLong);
    let unsupported = classify(
        "gpt-4.1",
        400,
        &[],
        r#"{"error":{"message":"The requested model is not supported.","code":"model_not_supported","param":"model","type":"invalid_request_error"}}"#,
    );
    assert_eq!(unsupported.class, ErrorClass::ModelUnavailable);
    let in_version = classify(
        "gpt-5-codex",
        400,
        &[],
        r#"{"error":{"message":"model gpt-5-codex is not supported in this VS Code version. Please update it to version 1.104.1 or newer","code":"model_not_supported_in_version"}}"#,
    );
    assert_eq!(in_version.class, ErrorClass::ModelUnavailable);
    let expired = classify("claude-sonnet-4.6", 401, &[], "unauthorized: token expired");
    assert_eq!(expired.class, ErrorClass::AuthExpired);
    let too_old = classify(
        "gpt-4.1",
        466,
        &[],
        "client not supported: bad request: the specified API version is no longer supported",
    );
    assert_eq!(too_old.class, ErrorClass::BadRequest);
    assert!(
        too_old
            .message
            .contains("API version is no longer supported"),
        "{}",
        too_old.message
    );
    assert!(
        too_old.message.contains("adapters/copilot/src/headers.rs"),
        "{}",
        too_old.message
    );
    assert!(
        too_old.message.contains("extra-headers"),
        "{}",
        too_old.message
    );
    // Anything else: the route's own reading.
    let busy = classify(
        "claude-sonnet-4.6",
        529,
        &[],
        r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    );
    assert_eq!(busy.class, ErrorClass::Overloaded(None));
    let bad = classify(
        "gpt-4.1",
        400,
        &[],
        r#"{"error":{"message":"Invalid 'messages'","code":"invalid_request"}}"#,
    );
    assert_eq!(bad.class, ErrorClass::BadRequest);
}

#[test]
fn each_route_reads_its_own_answer() {
    let started = |model: &str| {
        let mut call = Copilot::call(ctx(model));
        call.encode(user("hi").streaming(true)).unwrap();
        call.respond(
            ResponseHead::new(200, &[("content-type", "text/event-stream")]),
            true,
        );
        call
    };
    let streamed = |model: &str, body: &str| {
        let events = testing::decode_fed(started(model), &[body.as_bytes()]);
        testing::assert_every_split_decodes_to(|| started(model), body.as_bytes(), &events);
        events
    };
    let chat = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi there\"}}]}\n\n\
data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4.1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n\
data: [DONE]\n\n";
    let events = streamed("gpt-4.1", chat);
    assert!(
        events.contains(&StreamEvent::text_delta("text-0", "Hi there")),
        "{events:?}"
    );
    let Some(StreamEvent::Finish(finish)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(
        (finish.usage.input_tokens, finish.usage.output_tokens),
        (Some(5), Some(2))
    );

    let messages = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-6\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n\
event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n\
event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Bonjour\"}}\n\n\
event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n\
event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":3}}\n\n\
event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    let events = streamed("claude-sonnet-4.6", messages);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StreamEvent::TextDelta(d) if d.delta == "Bonjour")),
        "{events:?}"
    );
    let Some(StreamEvent::Finish(finish)) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(finish.reason, FinishReason::Stop);
    assert_eq!(finish.usage.output_tokens, Some(3));
}

#[test]
fn the_quota_read_gives_the_plan_and_one_window_per_snapshot() {
    let body = json!({
        "access_type_sku": "plus_monthly_subscriber_quota",
        "analytics_tracking_id": "0123456789abcdef",
        "assigned_date": "2025-06-01T00:00:00+02:00",
        "can_signup_for_limited": false,
        "chat_enabled": true,
        "copilot_plan": "individual_pro",
        "organization_login_list": [],
        "quota_reset_date": "2026-01-01",
        "quota_snapshots": {
            "chat": {"entitlement": 0, "overage_count": 0, "overage_permitted": false, "percent_remaining": 100.0,
                     "quota_id": "chat", "quota_remaining": 0.0, "remaining": 0, "unlimited": true},
            "completions": {"entitlement": 0, "overage_count": 0, "overage_permitted": false, "percent_remaining": 100.0,
                            "quota_id": "completions", "quota_remaining": 0.0, "remaining": 0, "unlimited": true},
            "premium_interactions": {"entitlement": 1500, "overage_count": 0, "overage_permitted": true,
                                     "percent_remaining": 80.0, "quota_id": "premium_interactions",
                                     "quota_remaining": 1200.0, "remaining": 1200, "unlimited": false}
        }
    });
    let facts = Copilot::read_account(ReadContext::for_tests(
        KIND,
        "quota",
        body.to_string().as_bytes(),
    ))
    .unwrap();
    assert_eq!(
        facts.attributes,
        [("plan".to_string(), "individual_pro".to_string())]
    );
    let reset = 1_767_225_600; // 2026-01-01T00:00:00Z
    assert_eq!(
        facts.quota,
        [
            QuotaWindow::new("premium_interactions", "requests", 300.0, Some(1500.0))
                .resets_at(reset),
            QuotaWindow::new("chat", "requests", 0.0, None).resets_at(reset),
            QuotaWindow::new("completions", "requests", 0.0, None).resets_at(reset),
        ]
    );
    assert!(facts.models.is_empty());

    // Overage: remaining below zero is more used than the entitlement.
    let over = json!({"copilot_plan": "business", "quota_reset_date_utc": "2026-02-01T00:00:00.000Z",
        "quota_snapshots": {"premium_interactions": {"entitlement": 300, "remaining": -1, "percent_remaining": -0.33, "unlimited": false}}});
    let facts = reads::quota(&over);
    assert_eq!(
        facts.quota,
        [
            QuotaWindow::new("premium_interactions", "requests", 301.0, Some(300.0))
                .resets_at(1_769_904_000)
        ]
    );
}

#[test]
fn a_free_account_reports_its_limited_quotas() {
    let body = json!({"copilot_plan": "free", "chat_enabled": true, "limited_user_reset_date": "2025-12-15",
        "limited_user_quotas": {"chat": 40, "completions": 1900}, "monthly_quotas": {"chat": 50, "completions": 2000}});
    let facts = reads::quota(&body);
    let reset = reads::unix_seconds("2025-12-15").unwrap();
    assert_eq!(
        facts.quota,
        [
            QuotaWindow::new("chat", "requests", 10.0, Some(50.0)).resets_at(reset),
            QuotaWindow::new("completions", "requests", 100.0, Some(2000.0)).resets_at(reset),
        ]
    );
    assert_eq!(
        reads::unix_seconds("1970-01-02T01:00:00+01:00"),
        Some(86_400)
    );
    assert_eq!(reads::unix_seconds("not a date"), None);
}

#[test]
fn the_models_read_lists_chat_models_with_their_limits_and_routes() {
    let body = json!({"object": "list", "data": [
        {"id": "gpt-4.1", "name": "GPT-4.1", "object": "model", "vendor": "Azure OpenAI", "version": "gpt-4.1-2025-04-14",
         "preview": false, "model_picker_enabled": true,
         "capabilities": {"family": "gpt-4.1", "type": "chat", "tokenizer": "o200k_base", "object": "model_capabilities",
                          "limits": {"max_context_window_tokens": 128000, "max_prompt_tokens": 128000, "max_output_tokens": 16384},
                          "supports": {"tool_calls": true, "parallel_tool_calls": true, "streaming": true}},
         "supported_endpoints": ["/chat/completions", "/responses"]},
        {"id": "claude-sonnet-4.6", "name": "Claude Sonnet 4.6", "capabilities": {"type": "chat",
         "limits": {"max_context_window_tokens": 200000, "max_prompt_tokens": 128000, "max_output_tokens": 64000}},
         "supported_endpoints": ["/chat/completions", "/v1/messages"]},
        {"id": "gpt-5.1-codex", "name": "GPT-5.1-Codex", "capabilities": {"type": "chat", "limits": {"max_context_window_tokens": 400000}},
         "supported_endpoints": ["/responses"]},
        {"id": "text-embedding-3-small", "name": "Embedding V3 small", "capabilities": {"type": "embeddings",
         "limits": {"max_inputs": 512}}}
    ]});
    let facts = Copilot::read_account(ReadContext::for_tests(
        KIND,
        "models",
        body.to_string().as_bytes(),
    ))
    .unwrap();
    let mut gpt = ModelInfo::new("gpt-4.1")
        .limits(128_000, 16_384)
        .route("/chat/completions")
        .route("/responses");
    gpt.display_name = Some("GPT-4.1".into());
    let mut claude = ModelInfo::new("claude-sonnet-4.6")
        .limits(128_000, 64_000)
        .route("/chat/completions")
        .route("/v1/messages");
    claude.display_name = Some("Claude Sonnet 4.6".into());
    let mut codex = ModelInfo::new("gpt-5.1-codex").route("/responses");
    codex.display_name = Some("GPT-5.1-Codex".into());
    codex.context_window = Some(400_000);
    assert_eq!(facts.models, [gpt, claude, codex.clone()]);
    assert!(facts.quota.is_empty() && facts.attributes.is_empty());

    // The model's read routes decide: the codex model goes to /responses.
    let mut served = ctx("gpt-5.1-codex");
    served.model_info = Some(codex);
    assert_eq!(Copilot::call(served).route(), Route::Responses);
}

#[test]
fn a_failed_read_is_an_error_naming_the_read_and_never_a_fact() {
    let mut refused = ReadContext::for_tests(KIND, "quota", br#"{"message":"Bad credentials"}"#);
    refused.status = 401;
    let error = Copilot::read_account(refused).unwrap_err();
    assert!(
        error.message.contains("`quota` read answered 401"),
        "{}",
        error.message
    );
    let garbled =
        Copilot::read_account(ReadContext::for_tests(KIND, "models", b"<html>")).unwrap_err();
    assert!(garbled.message.contains("models"), "{}", garbled.message);
}

#[test]
fn a_responses_clients_own_fields_and_service_tier_stay_behind_on_copilots_responses() {
    let mut request = user("fix it").streaming(true);
    request.options = Some(plugboard_sdk::json::options_for(
        "openai-responses",
        json!({"client_metadata": {"x": 1}, "service_tier": "flex", "prompt_cache_key": "k"}),
    ));
    let (route, http) = encode(ctx("gpt-5.1-codex"), request);
    assert_eq!(route, Route::Responses);
    let sent = body(&http);
    assert_eq!(sent["prompt_cache_key"], "k");
    assert!(
        sent.get("client_metadata").is_none() && sent.get("service_tier").is_none(),
        "{sent}"
    );
    assert_eq!(sent["store"], false);
    assert_eq!(sent["stream"], true);
}

#[test]
fn copilots_reasoning_text_on_chat_reaches_the_client_as_reasoning() {
    let body = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_text\":\"Thinking it over.\",\"reasoning_opaque\":\"opaque-1\"}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Yes.\"}}]}\n\n\
data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":9,\"total_tokens\":13}}\n\n\
data: [DONE]\n\n";
    let started = || {
        let mut call = Copilot::call(ctx("gemini-2.5-pro"));
        call.encode(user("Is it?").streaming(true)).unwrap();
        call.respond(ResponseHead::new(200, &[]), true);
        call
    };
    let events = testing::decode_fed(started(), &[body.as_bytes()]);
    testing::assert_every_split_decodes_to(started, body.as_bytes(), &events);
    let reasoning: String = events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::ReasoningDelta(d) => Some(d.delta.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(reasoning, "Thinking it over.");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StreamEvent::TextDelta(d) if d.delta == "Yes."))
    );

    // One document too.
    let mut call = Copilot::call(ctx("gpt-4.1"));
    call.encode(user("Is it?")).unwrap();
    call.respond(ResponseHead::new(200, &[]), false);
    let document = json!({"id": "c", "object": "chat.completion", "model": "gpt-4.1", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "Yes.", "reasoning_text": "Hm."}, "finish_reason": "stop"}]});
    let events = testing::decode_fed(call, &[document.to_string().as_bytes()]);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StreamEvent::ReasoningDelta(d) if d.delta == "Hm.")),
        "{events:?}"
    );
}
