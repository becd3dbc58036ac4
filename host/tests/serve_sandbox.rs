//! Stories of misbehaving components: a guest that loops or panics fails only its own
//! request, with an error naming it, and the host goes on serving. And the
//! `adapters list` command, which shows what a directory would load and what it refuses.

mod serve_support;

use serve_support::*;

fn gateway() -> Plugboard {
    let dir = test_adapters_with(&["test-spin", "test-panic"]);
    Plugboard::start(
        &dir,
        "limits: {guest-call-timeout-ms: 300}\nproviders:\n  - {name: spinner, adapter: test-spin, models: [spin]}\n  - {name: panicker, adapter: test-panic, models: [panic]}\n",
    )
}

#[tokio::test]
async fn an_adapter_that_never_returns_is_stopped_and_named() {
    let plugboard = gateway();
    let client = client();
    let url = plugboard.url("/v1/chat/completions");
    let started = std::time::Instant::now();
    let error = openai_error(
        post_json(&client, &url, &hello("spin"))
            .send()
            .await
            .unwrap(),
        500,
    )
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with("adapter test-spin@"), "{message}");
    assert!(
        message.ends_with("exceeded its 300 ms time limit"),
        "{message}"
    );

    // The host goes on serving.
    let health = client.get(plugboard.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let error = openai_error(
        post_json(&client, &url, &hello("spin"))
            .send()
            .await
            .unwrap(),
        500,
    )
    .await;
    assert!(error["message"].as_str().unwrap().contains("test-spin"));
}

#[tokio::test]
async fn an_adapter_that_panics_fails_only_its_request() {
    let plugboard = gateway();
    let url = plugboard.url("/v1/chat/completions");
    for _ in 0..3 {
        let error = openai_error(
            post_json(&client(), &url, &hello("panic"))
                .send()
                .await
                .unwrap(),
            500,
        )
        .await;
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("adapter test-panic@"),
            "{error}"
        );
    }
}

#[test]
fn adapters_list_shows_each_component_and_each_refused_file() {
    let dir = test_adapters_with(&["test-spin", "test-stamp", "test-wrong-world"]);
    let (ok, stdout, stderr) = run_cli(&["adapters", "list", "--adapters", dir.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let spin = stdout
        .lines()
        .find(|l| l.contains("test-spin"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(spin.starts_with("provider"), "{spin}");
    // The version of the world the component exports (0.1 until the test components
    // move to 0.2).
    assert!(
        (spin.contains("contract 0.1.0") || spin.contains("contract 0.2.0"))
            && spin.contains("sha256:"),
        "{spin}"
    );
    let stamp = stdout
        .lines()
        .find(|l| l.contains(" test-stamp "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(stamp.starts_with("fixup"), "{stamp}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("refused") && l.contains("test-wrong-world")),
        "{stdout}"
    );
}

#[test]
fn adapters_list_needs_to_know_which_directory() {
    let (ok, _, stderr) = run_cli(&["adapters", "list"]);
    assert!(!ok);
    assert!(stderr.contains("--adapters"), "{stderr}");
}
