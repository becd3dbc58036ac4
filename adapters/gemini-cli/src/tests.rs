//! Stories of the `gemini-cli` adapter: its login, its account setup against scripted
//! Code Assist answers, the envelope on the way out and back, and its errors.

use plugboard_sdk::testing::{assert_every_split_decodes_to, decode_fed};

use super::*;
use crate::code_assist::PROJECT_ID;

fn ctx(project: Option<&str>) -> CallContext {
    let mut ctx = CallContext::for_tests("http://127.0.0.1:9000/", "gemini-2.5-pro");
    ctx.account.id = "gemini-cli-a@example.com".into();
    ctx.credential_kind = GEMINI_CLI.into();
    if let Some(project) = project {
        ctx.account.attributes = vec![(PROJECT_ID.into(), project.into())];
    }
    ctx
}

fn hi(stream: bool) -> ChatRequest {
    ChatRequest::new()
        .with_system("Be brief.")
        .with_message(Message::user_text("hi"))
        .streaming(stream)
}

fn setup_ctx(attributes: &[(&str, &str)], answers: &[(u16, Value)]) -> SetupContext {
    SetupContext {
        credential_kind: GEMINI_CLI.into(),
        attributes: attributes
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        id_token_claims: Some(json!({"email": "a@example.com", "sub": "1"}).to_string()),
        endpoints: vec![
            ("base".into(), "http://127.0.0.1:9000".into()),
            (CODE_ASSIST.into(), "http://127.0.0.1:9001/".into()),
        ],
        answers: answers
            .iter()
            .map(|(status, body)| SetupAnswer {
                status: *status,
                body: body.to_string().into_bytes(),
            })
            .collect(),
    }
}

fn sent(step: SetupStep) -> (String, Value, u32) {
    let SetupStep::Send(SetupRequest { request, delay_ms }) = step else {
        panic!("expected a request, got {step:?}");
    };
    assert_eq!(request.method, "POST");
    let body = serde_json::from_slice(&request.body).unwrap();
    (request.url, body, delay_ms)
}

fn attributes(step: SetupStep) -> Vec<(String, String)> {
    let SetupStep::Done(attributes) = step else {
        panic!("expected done, got {step:?}");
    };
    attributes
}

fn attr<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    plugboard_sdk::types::find_value(attributes, name)
}

#[test]
fn the_kind_is_googles_installed_app_login_without_pkce_refreshed_with_the_secret() {
    let info = GeminiCli::info();
    let [kind] = info.credential_kinds.as_slice() else {
        panic!("one kind")
    };
    assert_eq!(
        (kind.id.as_str(), &kind.placement),
        (GEMINI_CLI, &Placement::bearer())
    );
    assert!(kind.setup);
    let Obtain::AuthorizationCode(login) = &kind.obtain else {
        panic!("a browser login")
    };
    assert_eq!(login.client_id, CLIENT_ID);
    assert_eq!(login.client_secret.as_deref(), Some(CLIENT_SECRET));
    assert_eq!(login.scopes, SCOPES);
    assert_eq!(
        (
            login.redirect_host.as_str(),
            login.redirect_port,
            login.redirect_path.as_str()
        ),
        ("localhost", 8085, "/oauth2callback")
    );
    let params = &login.authorize_params;
    assert!(params.contains(&("access_type".into(), TokenValue::text("offline"))));
    assert!(params.contains(&("prompt".into(), TokenValue::text("consent"))));
    assert!(!params.iter().any(|(_, v)| *v == TokenValue::CodeChallenge));
    assert!(
        login
            .exchange
            .fields
            .contains(&("client_secret".into(), TokenValue::ClientSecret))
    );
    let refresh = kind.refresh.as_ref().expect("refreshed");
    assert_eq!(refresh.call.endpoint, "token");
    assert!(
        refresh
            .call
            .fields
            .contains(&("client_id".into(), TokenValue::ClientId))
    );
    assert!(
        refresh
            .call
            .fields
            .contains(&("client_secret".into(), TokenValue::ClientSecret))
    );
    assert_eq!(kind.inputs[0].name, PROJECT_ID);
    assert_eq!(
        kind.inputs[0].default.as_deref(),
        Some(""),
        "the project is optional"
    );
    assert_eq!(info.endpoint_url("base"), Some(DEFAULT_BASE_URL));
    assert_eq!(info.endpoint_url(CODE_ASSIST), Some(DEFAULT_BASE_URL));
    assert_eq!(info.endpoint_url("token"), Some(TOKEN_URL));
    assert_eq!(info.default_fixups, ["merge-turns"]);
    assert!(
        info.hosts
            .contains(&"cloudcode-pa.googleapis.com".to_string())
    );
    assert!(
        !info.hosts.contains(&"accounts.google.com".to_string()),
        "the browser's only"
    );
}

#[test]
fn setup_takes_the_project_load_code_assist_names_and_the_email_from_the_claims() {
    let (url, body, delay) = sent(GeminiCli::account_setup(setup_ctx(&[], &[])).unwrap());
    assert_eq!(url, "http://127.0.0.1:9001/v1internal:loadCodeAssist");
    assert_eq!(
        body,
        json!({"metadata": {"ideType": "IDE_UNSPECIFIED", "platform": "PLATFORM_UNSPECIFIED", "pluginType": "GEMINI"}})
    );
    assert_eq!(delay, 0);
    for project in [
        json!("proj-123"),
        json!({"id": "proj-123", "name": "Gemini"}),
    ] {
        let loaded =
            json!({"currentTier": {"id": "free-tier"}, "cloudaicompanionProject": project});
        let done = attributes(
            GeminiCli::account_setup(setup_ctx(&[("label", "kept")], &[(200, loaded)])).unwrap(),
        );
        assert_eq!(attr(&done, PROJECT_ID), Some("proj-123"));
        assert_eq!(attr(&done, "email"), Some("a@example.com"));
        assert_eq!(
            attr(&done, "label"),
            Some("kept"),
            "earlier attributes stay"
        );
    }
}

#[test]
fn a_project_the_user_gave_is_asked_about_and_wins() {
    let mine = [(PROJECT_ID, "my-project")];
    let (_, body, _) = sent(GeminiCli::account_setup(setup_ctx(&mine, &[])).unwrap());
    assert_eq!(body["cloudaicompanionProject"], "my-project");
    let loaded =
        json!({"currentTier": {"id": "standard-tier"}, "cloudaicompanionProject": "other"});
    let done = attributes(GeminiCli::account_setup(setup_ctx(&mine, &[(200, loaded)])).unwrap());
    assert_eq!(attr(&done, PROJECT_ID), Some("my-project"));
}

#[test]
fn an_account_without_a_project_is_onboarded_and_polled_until_done() {
    let loaded =
        json!({"allowedTiers": [{"id": "legacy-tier"}, {"id": "free-tier", "isDefault": true}]});
    let mut answers = vec![(200, loaded)];
    let (url, body, delay) = sent(GeminiCli::account_setup(setup_ctx(&[], &answers)).unwrap());
    assert_eq!(url, "http://127.0.0.1:9001/v1internal:onboardUser");
    assert_eq!(body["tierId"], "free-tier");
    assert_eq!(body["metadata"]["pluginType"], "GEMINI");
    assert_eq!(delay, 0, "the first onboardUser goes at once");
    answers.push((200, json!({"name": "operations/1", "done": false})));
    let (url, _, delay) = sent(GeminiCli::account_setup(setup_ctx(&[], &answers)).unwrap());
    assert!(url.ends_with(":onboardUser"));
    assert_eq!(delay, 2000, "then it is polled every 2 s");
    answers.push((
        200,
        json!({"done": true, "response": {"cloudaicompanionProject": {"id": "onboarded-7"}}}),
    ));
    let done = attributes(GeminiCli::account_setup(setup_ctx(&[], &answers)).unwrap());
    assert_eq!(attr(&done, PROJECT_ID), Some("onboarded-7"));
}

#[test]
fn onboarding_gives_up_with_a_clear_error() {
    let mut answers = vec![(200, json!({"allowedTiers": []}))];
    answers.extend((0..15).map(|_| (200, json!({"done": false}))));
    let error = GeminiCli::account_setup(setup_ctx(&[], &answers)).unwrap_err();
    assert!(
        error.message.contains("did not finish after 15 polls"),
        "{}",
        error.message
    );
    assert!(error.message.contains("--input project-id="));
    let (_, body, _) = sent(GeminiCli::account_setup(setup_ctx(&[], &answers[..2])).unwrap());
    assert_eq!(body["tierId"], "legacy-tier", "the fallback tier");

    let done_without = vec![
        (200, json!({})),
        (200, json!({"done": true, "response": {}})),
    ];
    let error = GeminiCli::account_setup(setup_ctx(&[], &done_without)).unwrap_err();
    assert!(error.message.contains("without naming a project"));

    let refused = vec![(
        403,
        json!({"error": {"code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}}),
    )];
    let error = GeminiCli::account_setup(setup_ctx(&[], &refused)).unwrap_err();
    assert_eq!(
        error.message,
        "Gemini CLI `loadCodeAssist` answered HTTP 403: The caller does not have permission"
    );
}

#[test]
fn a_request_is_the_gemini_body_in_the_envelope_at_the_v1internal_method() {
    let http = GeminiCli::call(ctx(Some("proj-123")))
        .encode(hi(true))
        .unwrap();
    assert_eq!(
        http.url,
        "http://127.0.0.1:9000/v1internal:streamGenerateContent?alt=sse"
    );
    assert_eq!(http.header("accept"), Some("text/event-stream"));
    let body: Value = serde_json::from_slice(&http.body).unwrap();
    assert_eq!(body["model"], "gemini-2.5-pro");
    assert_eq!(body["project"], "proj-123");
    assert_eq!(
        body["request"]["contents"],
        json!([{"role": "user", "parts": [{"text": "hi"}]}])
    );
    assert_eq!(
        body["request"]["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}]})
    );
    assert_eq!(body.as_object().unwrap().len(), 3);

    let http = GeminiCli::call(ctx(Some(" p1, p2")))
        .encode(hi(false))
        .unwrap();
    assert_eq!(http.url, "http://127.0.0.1:9000/v1internal:generateContent");
    let body: Value = serde_json::from_slice(&http.body).unwrap();
    assert_eq!(body["project"], "p1", "the first of a CLIProxyAPI list");
}

#[test]
fn identity_headers_are_the_clients_own_or_none() {
    let http = GeminiCli::call(ctx(Some("p"))).encode(hi(false)).unwrap();
    assert_eq!(http.header("user-agent"), None);
    assert_eq!(http.header("x-goog-api-client"), None);
    let mut own = ctx(Some("p"));
    own.client_headers = vec![
        ("user-agent".into(), "my-tool/1.0".into()),
        ("x-goog-api-client".into(), "gl-python/3.12".into()),
    ];
    let http = GeminiCli::call(own).encode(hi(false)).unwrap();
    assert_eq!(http.header("user-agent"), Some("my-tool/1.0"));
    assert_eq!(http.header("x-goog-api-client"), Some("gl-python/3.12"));
}

#[test]
fn an_account_without_a_project_cannot_be_used_and_says_why() {
    for attributes in [vec![], vec![(PROJECT_ID.to_string(), " ".to_string())]] {
        let mut ctx = ctx(None);
        ctx.account.attributes = attributes;
        let error = GeminiCli::call(ctx).encode(hi(false)).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Upstream);
        assert!(
            error.message.contains("has no `project-id` attribute"),
            "{}",
            error.message
        );
        assert!(error.message.contains("log in again"));
    }
}

const STREAM: &str = "data: {\"response\": {\"candidates\": [{\"content\": {\"role\": \"model\", \"parts\": [{\"text\": \"Hel\"}]}}], \"modelVersion\": \"gemini-2.5-pro\", \"responseId\": \"r1\"}, \"traceId\": \"t\"}\r\n\r\n\
data: {\"response\": {\"candidates\": [{\"content\": {\"role\": \"model\", \"parts\": [{\"text\": \"lo \u{e9}\"}]}, \"finishReason\": \"STOP\"}], \"usageMetadata\": {\"promptTokenCount\": 7, \"candidatesTokenCount\": 2, \"thoughtsTokenCount\": 3}}}\r\n\r\n";

fn started(streaming: bool) -> StandardCall<CodeAssist> {
    let mut call = GeminiCli::call(ctx(Some("p")));
    call.respond(ResponseHead::new(200, &[]), streaming);
    call
}

fn text_of(events: &[StreamEvent]) -> String {
    events
        .iter()
        .filter_map(|event| match event {
            StreamEvent::TextDelta(delta) => Some(delta.delta.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn each_sse_chunk_is_unwrapped_before_the_gemini_decoder_reads_it() {
    let events = decode_fed(started(true), &[STREAM.as_bytes()]);
    assert_eq!(text_of(&events), "Hello \u{e9}");
    assert!(
        events.iter().any(
            |e| matches!(e, StreamEvent::ResponseMetadata(m) if m.id.as_deref() == Some("r1"))
        )
    );
    let Some(StreamEvent::Finish(finish)) = events.last() else {
        panic!("ends with a finish: {events:?}")
    };
    assert_eq!(finish.reason, FinishReason::Stop);
    assert_eq!(
        (finish.usage.input_tokens, finish.usage.output_tokens),
        (Some(7), Some(5))
    );
    assert_every_split_decodes_to(|| started(true), STREAM.as_bytes(), &events);
}

#[test]
fn a_whole_document_is_unwrapped_too_tool_calls_included() {
    let document = json!({"response": {"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}, "thoughtSignature": "sig"}]},
        "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 4}}});
    let events = decode_fed(started(false), &[document.to_string().as_bytes()]);
    let call = events
        .iter()
        .find_map(|e| match e {
            StreamEvent::ToolCall(call) => Some(call),
            _ => None,
        })
        .expect("a tool call");
    assert_eq!(
        (call.name.as_str(), call.arguments.as_str()),
        ("get_weather", r#"{"city":"Paris"}"#)
    );
    let Some(StreamEvent::Finish(finish)) = events.last() else {
        panic!("finish")
    };
    assert_eq!(finish.reason, FinishReason::ToolCalls);
}

#[test]
fn an_error_inside_the_stream_rests_the_account_like_the_same_429() {
    let frame = "data: {\"error\": {\"code\": 429, \"status\": \"RESOURCE_EXHAUSTED\", \"message\": \"slow down\", \"details\": [{\"@type\": \"type.googleapis.com/google.rpc.RetryInfo\", \"retryDelay\": \"2s\"}]}}\n\n";
    let events = decode_fed(started(true), &[frame.as_bytes()]);
    assert!(
        events.iter().any(|e| matches!(e, StreamEvent::Error(error) if error.class == ErrorClass::RateLimited(Some(2000)))),
        "{events:?}"
    );
}

#[test]
fn errors_are_classified_with_the_code_assist_rules() {
    let body = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Resource has been exhausted",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXHAUSTED"},
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.847s"}]}});
    let classified = GeminiCli::call(ctx(Some("p")))
        .classify_error(ResponseHead::new(429, &[]), body.to_string().into_bytes());
    assert_eq!(classified.class, ErrorClass::QuotaExhausted(Some(847)));
}
