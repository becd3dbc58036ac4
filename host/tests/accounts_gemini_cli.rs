//! Google accounts through the real `gemini-cli` and `antigravity` adapters, from login
//! to failover (the two share the Google login and the Code Assist setup, each with its
//! own public client, redirect and metadata):
//!
//! - `plugboard login ENTRY --no-browser` against the scripted OAuth server set up as
//!   Google's installed-app flow: the adapter's public client id and secret, its
//!   redirect registered exactly, **no PKCE**;
//! - the adapter's account setup asks the scripted Code Assist `loadCodeAssist`, finds
//!   no project, onboards the account (`onboardUser`, polled until `done`), and the
//!   project lands in the account file with the id token's email;
//! - the token has expired by the first request: it is refreshed on the way (with the
//!   client secret);
//! - Code Assist answers that account with a 429 `QUOTA_EXHAUSTED` carrying
//!   `RetryInfo`: the account rests and the request fails over to a second account;
//!   the next request goes straight to the second account.

mod oauth_support;
mod serve_support;

use oauth_support::{MockConfig, MockOAuth, RedirectRule, account, at};
use serve_support::*;

/// What differs between the two adapters' stories.
struct Google {
    adapter: &'static str,
    client_id: &'static str,
    client_secret: &'static str,
    redirect: &'static str,
    model: &'static str,
    /// `loadCodeAssist`'s metadata key and value, the onboarding tier's key.
    metadata: (&'static str, &'static str),
    tier_key: &'static str,
    /// What a client-impersonating user agent would contain (never sent).
    impersonated: &'static str,
    /// Antigravity's requests carry `requestType: agent`.
    agent: bool,
}

const GEMINI_CLI: Google = Google {
    adapter: "gemini-cli",
    client_id: "681255809395-oo8ft2oprdrnp9e3aqf6av3hmdib135j.apps.googleusercontent.com",
    client_secret: "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",
    redirect: "http://localhost:8085/oauth2callback",
    model: "gemini-2.5-pro",
    metadata: ("pluginType", "GEMINI"),
    tier_key: "tierId",
    impersonated: "GeminiCLI",
    agent: false,
};

const ANTIGRAVITY: Google = Google {
    adapter: "antigravity",
    client_id: "1071006060591-tmhssin2h21lcre235vtolojh4g403ep.apps.googleusercontent.com",
    client_secret: "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",
    redirect: "http://localhost:51121/oauth-callback",
    model: "gemini-3-flash",
    metadata: ("ideType", "ANTIGRAVITY"),
    tier_key: "tier_id",
    impersonated: "antigravity",
    agent: true,
};

/// A Code Assist answer saying `text`, in its `{"response": ...}` envelope.
fn code_assist_answer(text: &str) -> Reply {
    Reply::json(
        200,
        serde_json::json!({"response": {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
            "finishReason": "STOP"}], "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 3},
            "modelVersion": "gemini-2.5-pro", "responseId": "r1"}, "traceId": "t1"}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gemini_cli_account_logs_in_is_onboarded_refreshes_and_fails_over_at_its_quota() {
    google_account_story(GEMINI_CLI).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_antigravity_account_logs_in_is_onboarded_refreshes_and_fails_over_at_its_quota() {
    google_account_story(ANTIGRAVITY).await;
}

async fn google_account_story(google: Google) {
    let mock = MockOAuth::start(MockConfig {
        client_id: google.client_id.to_owned(),
        client_secret: Some(google.client_secret.to_owned()),
        redirect: RedirectRule::Exact(vec![google.redirect.to_owned()]),
        require_pkce: false,
        ..MockConfig::default()
    })
    .await;
    let upstream = ScriptedUpstream::start().await;
    // The account setup: no project yet, a default tier, onboarding done on the 2nd poll.
    upstream.reply(Reply::json(
        200,
        serde_json::json!({"allowedTiers": [{"id": "legacy-tier"}, {"id": "free-tier", "isDefault": true}]}),
    ));
    upstream.reply(Reply::json(
        200,
        serde_json::json!({"name": "operations/1", "done": false}),
    ));
    upstream.reply(Reply::json(
        200,
        serde_json::json!({"done": true, "response": {"cloudaicompanionProject": {"id": "proj-onboarded", "name": "Gemini"}}}),
    ));
    let work = tempfile::tempdir().unwrap();
    let auth = work.path().join("auth");
    let adapters = adapters_with(&[google.adapter]);
    // Antigravity also names an `onboard` endpoint; an override it lacks is only warned.
    let entry = format!(
        "auth-dir: '{}'\nproviders:\n  - name: google\n    adapter: {}\n    models: [{}]\n    accounts: auth-dir\n    endpoints: {{base: '{}', code-assist: '{}', onboard: '{}', authorize: '{}', token: '{}'}}\n",
        auth.display(),
        google.adapter,
        google.model,
        upstream.base_url,
        upstream.base_url,
        upstream.base_url,
        mock.url("/authorize"),
        mock.url("/token"),
    );
    let config = write_config(work.path(), &adapters, &entry);

    // 1. Login, pasting the redirect back; then the account setup.
    let login = oauth_support::login_by_paste(&config, "google").await;
    for wanted in ["access_type=offline", "prompt=consent", "state="] {
        assert!(login.url.contains(wanted), "{wanted} in {}", login.url);
    }
    assert!(
        !login.url.contains("code_challenge"),
        "no PKCE: {}",
        login.url
    );
    let printed = login.printed.clone();
    assert!(login.ok, "{printed}");
    let exchange = mock.last_body();
    assert_eq!(
        exchange.get("client_secret").map(String::as_str),
        Some(google.client_secret)
    );
    assert!(!exchange.contains_key("code_verifier"));
    let id = login.account_id();
    let path = auth.join(format!("{id}.json"));
    let mut stored: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(stored["type"], google.adapter);
    assert_eq!(
        stored["attributes"]["project-id"], "proj-onboarded",
        "{stored}"
    );
    assert_eq!(stored["attributes"]["email"], "user@example.com");
    let logged_in = stored["access_token"].as_str().unwrap().to_owned();
    assert!(!printed.contains(&logged_in), "no token is printed");
    let setup = upstream.received();
    let targets: Vec<&str> = setup.iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        [
            "/v1internal:loadCodeAssist",
            "/v1internal:onboardUser",
            "/v1internal:onboardUser"
        ]
    );
    for request in &setup {
        assert_eq!(
            request.header("authorization"),
            Some(format!("Bearer {logged_in}").as_str())
        );
        assert!(
            !request
                .header("user-agent")
                .unwrap_or("")
                .contains(google.impersonated)
        );
    }
    assert_eq!(
        setup[0].json()["metadata"][google.metadata.0],
        google.metadata.1
    );
    assert_eq!(setup[1].json()[google.tier_key], "free-tier");

    // 2. Its token has expired by the first request; a second account waits its turn.
    stored["expired"] = at(-60).into();
    std::fs::write(&path, serde_json::to_vec_pretty(&stored).unwrap()).unwrap();
    account(
        &auth,
        &format!("{}-z-second", google.adapter),
        google.adapter,
        "ya29.second-account-0123456789",
        None,
        &at(86_400),
        serde_json::json!({"attributes": {"project-id": "proj-second"}}),
    );
    upstream.reply(Reply::json(
        429,
        serde_json::json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED",
            "message": "You have exhausted your capacity on this model. Your quota will reset after 1h0m0s.",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "QUOTA_EXHAUSTED",
                 "domain": "cloudcode-pa.googleapis.com", "metadata": {"quotaResetDelay": "3600s"}},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "3600s"}]}}),
    ));
    upstream.reply(code_assist_answer("from the second account"));
    upstream.reply(code_assist_answer("still the second"));
    let gateway = Plugboard::start(&adapters, &entry);

    let ask = || async {
        let body = serde_json::json!({"model": google.model, "stream": false,
            "messages": [{"role": "user", "content": "hi"}]});
        let response = post_json(&client(), &gateway.url("/v1/chat/completions"), &body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let answer = json_body(response).await;
        answer["choices"][0]["message"]["content"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The logged-in account (`<adapter>-user@…`) is tried first: refreshed on the
    // way, then its quota is spent; the request fails over to the second account.
    assert_eq!(ask().await, "from the second account");
    let served: Vec<_> = upstream.received().into_iter().skip(setup.len()).collect();
    assert_eq!(mock.counts().refresh_token, 1, "refreshed on the way");
    let refreshed = mock.issued_access().last().cloned().unwrap();
    assert_ne!(refreshed, logged_in);
    let by_project: Vec<(String, String)> = served
        .iter()
        .map(|r| {
            (
                r.json()["project"].as_str().unwrap_or("").to_owned(),
                r.header("authorization").unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        by_project,
        [
            ("proj-onboarded".to_owned(), format!("Bearer {refreshed}")),
            (
                "proj-second".to_owned(),
                "Bearer ya29.second-account-0123456789".to_owned()
            ),
        ]
    );
    for request in &served {
        assert_eq!(request.target, "/v1internal:generateContent");
        let body = request.json();
        assert_eq!(body["model"], google.model);
        assert_eq!(body.get("requestType").is_some(), google.agent);
        assert_eq!(
            body["request"]["contents"],
            serde_json::json!([{"role": "user", "parts": [{"text": "hi"}]}])
        );
    }

    // The resting account is skipped: the next request goes to the second at once.
    assert_eq!(ask().await, "still the second");
    let last = upstream.received().last().unwrap().clone();
    assert_eq!(last.json()["project"], "proj-second");
    assert_eq!(upstream.received().len(), setup.len() + 3);
    let log = gateway.log();
    assert!(!log.contains(&refreshed));
}
