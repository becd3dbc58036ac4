//! Stories of the `antigravity` adapter: what differs from `gemini-cli` (its login,
//! endpoints, setup bodies and envelope); the shared parts are tested there.

use adapter_gemini_cli::code_assist::PROJECT_ID;

use super::*;

fn ctx(model: &str) -> CallContext {
    let mut ctx = CallContext::for_tests(DEFAULT_BASE_URL, model);
    ctx.credential_kind = ANTIGRAVITY.into();
    ctx.account.attributes = vec![(PROJECT_ID.into(), "ag-project".into())];
    ctx
}

fn weather_request(stream: bool) -> ChatRequest {
    let mut request = ChatRequest::new()
        .with_message(Message::user_text("Weather in Paris?"))
        .with_tool(
            Tool::new(
                "get_weather",
                r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#,
            )
            .described("Current weather"),
        )
        .streaming(stream);
    request.params.max_tokens = Some(256);
    request.params.temperature = Some(0.5);
    request
}

fn body_of(http: &HttpRequest) -> Value {
    serde_json::from_slice(&http.body).unwrap()
}

fn setup_ctx(answers: &[(u16, Value)]) -> SetupContext {
    let info = Antigravity::info();
    SetupContext {
        credential_kind: ANTIGRAVITY.into(),
        attributes: vec![(PROJECT_ID.into(), String::new())],
        id_token_claims: None,
        endpoints: info
            .endpoints
            .iter()
            .map(|e| (e.name.clone(), e.url.clone()))
            .collect(),
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
    (
        request.url,
        serde_json::from_slice(&request.body).unwrap(),
        delay_ms,
    )
}

#[test]
fn the_kind_is_antigravitys_client_and_redirect_and_the_daily_endpoint_is_the_base() {
    let info = Antigravity::info();
    let [kind] = info.credential_kinds.as_slice() else {
        panic!("one kind")
    };
    assert_eq!(kind.id, ANTIGRAVITY);
    assert!(kind.setup && kind.refresh.is_some());
    let Obtain::AuthorizationCode(login) = &kind.obtain else {
        panic!("a browser login")
    };
    assert_eq!(
        (login.client_id.as_str(), login.client_secret.as_deref()),
        (CLIENT_ID, Some(CLIENT_SECRET))
    );
    assert_eq!(login.scopes, SCOPES);
    assert_eq!(
        (login.redirect_port, login.redirect_path.as_str()),
        (51121, "/oauth-callback")
    );
    assert!(
        !login
            .authorize_params
            .iter()
            .any(|(_, v)| *v == TokenValue::CodeChallenge)
    );
    assert_eq!(info.endpoint_url("base"), Some(DEFAULT_BASE_URL));
    assert_eq!(info.endpoint_url(CODE_ASSIST), Some(PROD_BASE_URL));
    assert_eq!(info.endpoint_url(ONBOARD), Some(DEFAULT_BASE_URL));
    assert_eq!(info.endpoint_url("authorize"), Some(AUTHORIZE_URL));
    assert_eq!(info.default_fixups, ["merge-turns"]);
    for host in [
        "daily-cloudcode-pa.googleapis.com",
        "cloudcode-pa.googleapis.com",
        "oauth2.googleapis.com",
    ] {
        assert!(info.hosts.contains(&host.to_string()), "{host}");
    }
}

#[test]
fn setup_loads_on_cloudcode_pa_and_onboards_on_the_daily_endpoint() {
    let (url, body, _) = sent(Antigravity::account_setup(setup_ctx(&[])).unwrap());
    assert_eq!(
        url,
        "https://cloudcode-pa.googleapis.com/v1internal:loadCodeAssist"
    );
    assert_eq!(body, json!({"metadata": {"ideType": "ANTIGRAVITY"}}));

    let loaded = json!({"currentTier": {"id": "free-tier"}, "allowedTiers": [{"id": "free-tier", "isDefault": true}]});
    let (url, body, delay) =
        sent(Antigravity::account_setup(setup_ctx(&[(200, loaded.clone())])).unwrap());
    assert_eq!(
        url,
        "https://daily-cloudcode-pa.googleapis.com/v1internal:onboardUser"
    );
    assert_eq!(
        body,
        json!({"tier_id": "free-tier", "metadata": {"ide_type": "ANTIGRAVITY", "ide_name": "antigravity"}})
    );
    assert_eq!(delay, 0);

    let mut answers = vec![(200, loaded)];
    answers.extend((0..5).map(|_| (200, json!({"done": false}))));
    let error = Antigravity::account_setup(setup_ctx(&answers)).unwrap_err();
    assert!(
        error
            .message
            .starts_with("Antigravity onboarding did not finish after 5 polls"),
        "{}",
        error.message
    );
    answers[5] = (
        200,
        json!({"done": true, "response": {"cloudaicompanionProject": {"id": "ag-7"}}}),
    );
    let SetupStep::Done(attributes) = Antigravity::account_setup(setup_ctx(&answers)).unwrap()
    else {
        panic!("done")
    };
    assert_eq!(
        plugboard_sdk::types::find_value(&attributes, PROJECT_ID),
        Some("ag-7")
    );

    let by_project_id = json!({"projectId": "ag-direct"});
    let SetupStep::Done(attributes) =
        Antigravity::account_setup(setup_ctx(&[(200, by_project_id)])).unwrap()
    else {
        panic!("done")
    };
    assert_eq!(
        plugboard_sdk::types::find_value(&attributes, PROJECT_ID),
        Some("ag-direct")
    );
}

#[test]
fn a_gemini_model_request_is_an_agent_envelope_without_max_output_tokens() {
    let http = Antigravity::call(ctx("gemini-3-flash"))
        .encode(weather_request(true))
        .unwrap();
    assert_eq!(
        http.url,
        "https://daily-cloudcode-pa.googleapis.com/v1internal:streamGenerateContent?alt=sse"
    );
    let body = body_of(&http);
    assert_eq!(
        (body["model"].as_str(), body["project"].as_str()),
        (Some("gemini-3-flash"), Some("ag-project"))
    );
    assert_eq!(body["requestType"], "agent");
    assert!(
        body.get("userAgent").is_none() && body.get("requestId").is_none(),
        "no made-up identity"
    );
    let request = &body["request"];
    assert_eq!(request["generationConfig"], json!({"temperature": 0.5}));
    assert!(request.get("safetySettings").is_none());
    assert_eq!(
        request["tools"][0]["functionDeclarations"][0]["name"],
        "get_weather"
    );
    assert!(request.get("toolConfig").is_none());
}

#[test]
fn a_claude_model_keeps_max_output_tokens_and_validates_its_tool_calls() {
    let http = Antigravity::call(ctx("claude-sonnet-4-6"))
        .encode(weather_request(false))
        .unwrap();
    assert!(http.url.ends_with("/v1internal:generateContent"));
    let request = &body_of(&http)["request"];
    assert_eq!(request["generationConfig"]["maxOutputTokens"], 256);
    assert_eq!(
        request["toolConfig"],
        json!({"functionCallingConfig": {"mode": "VALIDATED"}})
    );

    let mut with_choice = weather_request(false);
    with_choice.tool_choice = Some(ToolChoice::Tool("get_weather".into()));
    let http = Antigravity::call(ctx("claude-opus-4-6-thinking"))
        .encode(with_choice)
        .unwrap();
    assert_eq!(
        body_of(&http)["request"]["toolConfig"],
        json!({"functionCallingConfig": {"mode": "VALIDATED", "allowedFunctionNames": ["get_weather"]}})
    );
}

#[test]
fn safety_settings_a_client_asked_for_are_dropped() {
    let mut request = weather_request(false);
    request.options = Some(
        json!({"gemini": {"safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}]}})
            .to_string(),
    );
    let http = Antigravity::call(ctx("gemini-3-flash"))
        .encode(request)
        .unwrap();
    assert!(body_of(&http)["request"].get("safetySettings").is_none());
}

#[test]
fn no_capacity_is_overloaded_and_a_spent_quota_rests_the_account() {
    let capacity = br#"{"error":{"code":503,"message":"No capacity available for model claude-sonnet-4-6 on the server","status":"UNAVAILABLE"}}"#;
    let mut call = Antigravity::call(ctx("claude-sonnet-4-6"));
    assert_eq!(
        call.classify_error(ResponseHead::new(503, &[]), capacity.to_vec())
            .class,
        ErrorClass::Overloaded(None)
    );
    let quota = json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "You have exhausted your capacity on this model.",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXHAUSTED",
                     "metadata": {"quotaResetDelay": "479.417207ms"}}]}});
    assert_eq!(
        call.classify_error(ResponseHead::new(429, &[]), quota.to_string().into_bytes())
            .class,
        ErrorClass::QuotaExhausted(Some(480))
    );
}
