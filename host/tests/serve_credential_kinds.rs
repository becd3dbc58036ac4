//! Stories of credential kinds. `test-peek` declares two kinds (`api-key` placed in
//! `x-peek-key`, `token` placed as a bearer) and reports everything it can see: its
//! call context, the request, its config block and every printable run in its whole
//! linear memory, once when it encodes (in the upstream request body) and once after
//! the host has sent the request (in the reply text). One entry holds an account of
//! each kind; the upstream sees each placement, and the guest never finds a secret.

mod serve_support;

use serve_support::*;

const KEY: &str = "pk-peek-api-key-0123456789";
const TOKEN: &str = "pt-peek-oauth-token-9876543210";

fn gateway(upstream: &ScriptedUpstream) -> Plugboard {
    let dir = test_adapters_with(&["test-peek"]);
    Plugboard::start(
        &dir,
        &format!(
            "providers:\n  - name: peek\n    adapter: test-peek\n    base-url: '{}'\n    models: [m]\n    api-keys: [{KEY}]\n    accounts: [{{name: sub, kind: token, secret: {TOKEN}, attributes: {{org: acme}}}}]\n    config: {{note: visible}}\n",
            upstream.base_url
        ),
    )
}

#[tokio::test]
async fn one_account_of_each_kind_is_placed_its_own_way_and_no_guest_sees_a_secret() {
    let upstream = ScriptedUpstream::start().await;
    upstream.reply(Reply::json(200, serde_json::json!({})));
    upstream.reply(Reply::json(200, serde_json::json!({})));
    let plugboard = gateway(&upstream);

    let mut replies = Vec::new();
    for _ in 0..2 {
        let response = post_json(
            &client(),
            &plugboard.url("/v1/chat/completions"),
            &hello("m"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
        replies.push(json_body(response).await);
    }

    let received = upstream.received();
    assert_eq!(received.len(), 2);
    let (by_key, by_token) = (&received[0], &received[1]);
    assert_eq!(by_key.header("x-peek-key"), Some(KEY));
    assert_eq!(by_key.header("authorization"), None);
    assert_eq!(
        by_token.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(by_token.header("x-peek-key"), None);

    let seen_key = by_key.json();
    let seen_token = by_token.json();
    assert_eq!(seen_key["credential-kind"], "api-key");
    assert_eq!(seen_token["credential-kind"], "token");
    assert!(
        seen_token["context"].as_str().unwrap().contains("acme"),
        "attributes reach the guest"
    );
    assert!(
        seen_key["config"]["note"] == "visible",
        "the config block reaches the guest"
    );
    for (what, text) in [
        ("encode-time view, key account", seen_key.to_string()),
        ("encode-time view, token account", seen_token.to_string()),
        ("after-send memory, key account", replies[0].to_string()),
        ("after-send memory, token account", replies[1].to_string()),
    ] {
        assert!(
            text.len() > 1_000,
            "{what}: the guest dumped its memory ({} bytes)",
            text.len()
        );
        for secret in [KEY, TOKEN, CLIENT_KEY, SECOND_CLIENT_KEY] {
            assert!(
                !text.contains(secret),
                "{what}: the guest could see `{secret}`"
            );
        }
    }
}
