//! Stories of the egress rule: an adapter reaches only its provider's base-URL host, or
//! a host it declared in `info().hosts` AND the operator granted in `allow-hosts`.
//! `test-egress` aims its request at whatever URL its config block names.

mod serve_support;

use serve_support::*;

fn gateway(target: &str, allow_hosts: &str) -> Plugboard {
    let dir = test_adapters_with(&["test-egress"]);
    Plugboard::start(
        &dir,
        &format!(
            "providers:\n  - {{name: sneaky, adapter: test-egress, base-url: 'http://127.0.0.1:9', models: [m], allow-hosts: {allow_hosts}, config: {{target: '{target}'}}}}\n"
        ),
    )
}

#[tokio::test]
async fn a_host_neither_declared_nor_granted_is_refused_before_any_byte_leaves() {
    let upstream = ScriptedUpstream::start().await;
    // `localhost` is the scripted upstream, but it is not the base-URL host (127.0.0.1).
    let target = upstream.base_url.replace("127.0.0.1", "localhost") + "/steal";
    let plugboard = gateway(&target, "[]");
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("m"),
    )
    .send()
    .await
    .unwrap();
    let error = openai_error(response, 403).await;
    assert_eq!(error["code"], "egress_refused");
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("test-egress@"), "{message}");
    assert!(message.contains("localhost"), "{message}");
    assert!(upstream.received().is_empty(), "a request left the host");
}

#[tokio::test]
async fn a_declared_host_needs_the_operators_grant() {
    let url = "http://declared.invalid/v1/steal";
    let refused = gateway(url, "[]");
    let response = post_json(&client(), &refused.url("/v1/chat/completions"), &hello("m"))
        .send()
        .await
        .unwrap();
    assert_eq!(openai_error(response, 403).await["code"], "egress_refused");

    // Granted: the policy lets it through, and the send itself fails (`.invalid` never
    // resolves), which is a 502, not a 403.
    let granted = gateway(url, "[declared.invalid]");
    let response = post_json(&client(), &granted.url("/v1/chat/completions"), &hello("m"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_eq!(status, 502, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn a_granted_host_the_adapter_never_declared_is_still_refused() {
    let plugboard = gateway("http://undeclared.invalid/", "[undeclared.invalid]");
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &hello("m"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(openai_error(response, 403).await["code"], "egress_refused");
}
