//! Stories of an error frame inside a 200 stream, classified by a contract 0.2
//! adapter (the `smoke` test provider, `adapters/testing/smoke`: a chunk starting
//! `throttle` is a rate-limited frame with a 3 s hint). It is settled exactly like a
//! 429: before the client's first byte the request fails over to the next account;
//! after it the client gets the dialect's in-stream error, and either way the account
//! rests, so the next request skips it.

mod serve_support;

use serve_support::*;

fn smoke_entry(name: &str, upstream: &str) -> String {
    format!(
        "  - {{name: {name}, adapter: smoke, base-url: '{upstream}', api-keys: [sk-upstream-secret-{name}], models: [m]}}\n"
    )
}

fn streamed_hello() -> serde_json::Value {
    let mut body = hello("m");
    body["stream"] = true.into();
    body
}

async fn stream_text(plugboard: &Plugboard) -> (u16, String) {
    let response = post_json(
        &client(),
        &plugboard.url("/v1/chat/completions"),
        &streamed_hello(),
    )
    .send()
    .await
    .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn a_throttling_frame_before_the_first_byte_fails_over_and_rests_the_account() {
    let adapters = test_adapters_with(&["test-smoke"]);
    let (first, second) = (
        ScriptedUpstream::start().await,
        ScriptedUpstream::start().await,
    );
    let plugboard = Plugboard::start(
        &adapters,
        &format!(
            "providers:\n{}{}",
            smoke_entry("first", &first.base_url),
            smoke_entry("second", &second.base_url)
        ),
    );
    first.reply(Reply::sse(&["throttle"]));
    second.reply(Reply::sse(&["Hello"]));
    second.reply(Reply::sse(&["again"]));

    let (status, text) = stream_text(&plugboard).await;
    assert_eq!(status, 200);
    assert!(text.contains("Hello"), "{text}");
    assert!(
        !text.contains("error"),
        "the client never saw the frame: {text}"
    );

    let (status, text) = stream_text(&plugboard).await;
    assert_eq!(status, 200);
    assert!(text.contains("again"), "{text}");
    assert_eq!(first.received().len(), 1, "the throttled account rests");
    assert_eq!(second.received().len(), 2);
}

#[tokio::test]
async fn a_throttling_frame_after_the_first_byte_is_an_error_frame_and_rests_the_account() {
    let adapters = test_adapters_with(&["test-smoke"]);
    let (first, second) = (
        ScriptedUpstream::start().await,
        ScriptedUpstream::start().await,
    );
    let plugboard = Plugboard::start(
        &adapters,
        &format!(
            "providers:\n{}{}",
            smoke_entry("first", &first.base_url),
            smoke_entry("second", &second.base_url)
        ),
    );
    first.reply(Reply::sse(&["Hello", "throttle"]));
    second.reply(Reply::sse(&["from the second"]));

    let (status, text) = stream_text(&plugboard).await;
    assert_eq!(status, 200, "committed before the frame came");
    assert!(text.contains("Hello"), "{text}");
    assert!(
        text.contains("rate limited") && text.contains("slow down"),
        "the dialect's in-stream error: {text}"
    );

    let (status, text) = stream_text(&plugboard).await;
    assert_eq!(status, 200);
    assert!(text.contains("from the second"), "{text}");
    assert_eq!(first.received().len(), 1, "the account rests all the same");
    assert!(plugboard.log().contains("account resting"));
}
