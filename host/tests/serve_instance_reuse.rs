//! Stories of guest instance reuse: an instance that served a request may serve the
//! same caller's next request (and so may carry what it saw into it), never another
//! caller's; `limits.guest-instance-requests` bounds how many it serves, and 1 gives
//! every request a fresh instance. The test fixup `test-remember` stamps each upstream
//! request with the text of the request its instance served before.

mod serve_support;

use serve_support::*;

const KEYS: &str = "client-keys:
  - {name: alice, key: sk-alice-reuse-story}
  - {name: bob, key: sk-bob-reuse-story}
";

fn gateway(upstream: &ScriptedUpstream, limits: &str) -> Plugboard {
    let dir = test_adapters_with(&["test-smoke", "test-remember"]);
    Plugboard::start(
        &dir,
        &format!(
            "{KEYS}{limits}providers:\n  - name: smoke\n    adapter: smoke\n    base-url: {}\n    api-keys: [sk-upstream-reuse-story]\n    models: [m]\n    fixups: [test-remember]\n",
            upstream.base_url
        ),
    )
}

/// One chat request of `key` whose only text is `text`; the upstream's answer is
/// checked, and what the upstream received is returned: (remembered text, served).
async fn ask(
    plugboard: &Plugboard,
    upstream: &ScriptedUpstream,
    key: &str,
    text: &str,
) -> (String, u32) {
    upstream.reply(Reply::json(200, serde_json::json!({"ok": true})));
    let response = client()
        .post(plugboard.url("/v1/chat/completions"))
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": text}]})
                .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let received = upstream.received();
    let last = received.last().expect("the upstream saw the request");
    (
        last.header("x-remembered").unwrap_or_default().to_owned(),
        last.header("x-served").unwrap().parse().unwrap(),
    )
}

#[tokio::test]
async fn an_instance_serves_again_only_requests_of_the_same_caller() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, "");
    let alice = "sk-alice-reuse-story";
    let bob = "sk-bob-reuse-story";

    // Alice's requests, one after another: her instance comes back to her.
    let mut reused = false;
    for n in 0..6 {
        let (remembered, served) = ask(&plugboard, &upstream, alice, &format!("alice-{n}")).await;
        assert!(
            remembered.is_empty() || remembered.starts_with("alice-"),
            "{remembered}"
        );
        reused |= served > 1 && !remembered.is_empty();
    }
    assert!(
        reused,
        "no request of alice's was served by an instance she used before"
    );

    // Bob never gets one that served alice, though hers are waiting.
    let mut bob_reused = false;
    for n in 0..4 {
        let (remembered, served) = ask(&plugboard, &upstream, bob, &format!("bob-{n}")).await;
        assert!(
            !remembered.contains("alice"),
            "bob's request saw alice's text: {remembered}"
        );
        assert!(
            remembered.is_empty() || remembered.starts_with("bob-"),
            "{remembered}"
        );
        bob_reused |= served > 1;
    }
    assert!(bob_reused, "bob's own instance came back to him");

    // Taking turns, each sees only their own earlier text.
    for n in 0..4 {
        for (key, name) in [(alice, "alice"), (bob, "bob")] {
            let (remembered, _) =
                ask(&plugboard, &upstream, key, &format!("{name}-turn-{n}")).await;
            assert!(
                remembered.is_empty() || remembered.starts_with(&format!("{name}-")),
                "{name}'s request saw {remembered}"
            );
        }
    }
}

#[tokio::test]
async fn an_instance_serves_at_most_guest_instance_requests() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, "limits: {guest-instance-requests: 3}\n");
    let mut most = 0;
    for n in 0..8 {
        let (_, served) = ask(
            &plugboard,
            &upstream,
            "sk-alice-reuse-story",
            &format!("alice-{n}"),
        )
        .await;
        most = most.max(served);
    }
    assert!(most > 1, "instances were never reused");
    assert!(most <= 3, "an instance served {most} requests");
}

#[tokio::test]
async fn one_request_per_instance_gives_every_request_a_fresh_instance() {
    let upstream = ScriptedUpstream::start().await;
    let plugboard = gateway(&upstream, "limits: {guest-instance-requests: 1}\n");
    for n in 0..5 {
        let (remembered, served) = ask(
            &plugboard,
            &upstream,
            "sk-alice-reuse-story",
            &format!("alice-{n}"),
        )
        .await;
        assert_eq!((remembered.as_str(), served), ("", 1), "request {n}");
    }
}
