//! Prometheus metrics, end to end: `metrics.listen` serves `/metrics` without a key,
//! a Prometheus text-format parser reads it, and its counters move as requests are
//! made (by status, dialect, provider and model; tokens by kind; latency histograms);
//! accounts and components are counted at scrape time.

mod serve_support;

use prometheus_parse::{Scrape, Value};
use serde_json::json;
use serve_support::*;

fn completion(prompt: u64, completion: u64) -> serde_json::Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-a",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    })
}

/// A free loopback port (bound, then released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Scrape and parse.
async fn scrape(client: &reqwest::Client, url: &str) -> (String, Scrape) {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.text().await.unwrap();
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses");
    (text, scrape)
}

/// The value of the sample `metric` whose labels include `labels` (0 when absent).
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            _ => 0.0,
        })
        .sum()
}

#[tokio::test]
async fn counters_move_as_requests_are_made_and_parse_as_prometheus_text() {
    let adapters = adapters_with(&["openai"]);
    let upstream = ScriptedUpstream::start().await;
    let port = free_port();
    let plugboard = Plugboard::start(
        &adapters,
        &format!(
            "metrics:\n  listen: 127.0.0.1:{port}\nproviders:\n  - name: oa\n    adapter: openai\n    base-url: {}/v1\n    api-keys: [sk-up-1, sk-up-2]\n    models: [gpt-a]\n",
            upstream.base_url
        ),
    );
    let client = client();
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let (text, before) = scrape(&client, &metrics_url).await;
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    assert_eq!(
        value(
            &before,
            "plugboard_accounts",
            &[("provider", "oa"), ("state", "ok")]
        ),
        2.0
    );
    assert!(
        value(
            &before,
            "plugboard_components_loaded",
            &[("kind", "provider")]
        ) >= 1.0
    );
    let chat = [
        ("status", "200"),
        ("dialect", "openai-chat"),
        ("provider", "oa"),
        ("model", "gpt-a"),
    ];
    assert_eq!(value(&before, "plugboard_requests_total", &chat), 0.0);

    // Two answered, one rate limited (which also rests an account), one unknown model.
    upstream.reply(Reply::json(200, completion(10, 4)));
    upstream.reply(Reply::json(200, completion(6, 3)));
    for _ in 0..2 {
        let response = post_json(
            &client,
            &plugboard.url("/v1/chat/completions"),
            &hello("gpt-a"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
    }
    let limited = json!({"error": {"message": "slow down", "type": "rate_limit_error"}});
    upstream.reply(Reply::json(429, limited.clone()).header("retry-after", "30"));
    upstream.reply(Reply::json(429, limited).header("retry-after", "30"));
    let response = post_json(
        &client,
        &plugboard.url("/v1/chat/completions"),
        &hello("gpt-a"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 429);
    let response = post_json(
        &client,
        &plugboard.url("/v1/chat/completions"),
        &hello("what-model"),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(response.status(), 404);

    let (text, after) = scrape(&client, &metrics_url).await;
    // Every family with samples is described and typed, with the conventional names
    // (a family appears once it has a sample: traps and refreshes had none here).
    for name in [
        "plugboard_requests",
        "plugboard_request_duration_seconds",
        "plugboard_tokens",
        "plugboard_accounts",
        "plugboard_components_loaded",
        "plugboard_components_refused",
        "plugboard_usage_rows_dropped",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{text}"
        );
        assert!(after.docs.contains_key(name), "{name} has no HELP");
    }
    assert!(text.contains("plugboard_requests_total{"), "{text}");
    assert!(
        text.contains("plugboard_request_duration_seconds_bucket{"),
        "{text}"
    );
    assert_eq!(value(&after, "plugboard_requests_total", &chat), 2.0);
    assert_eq!(
        value(
            &after,
            "plugboard_requests_total",
            &[("status", "429"), ("provider", "oa")]
        ),
        1.0
    );
    // An unknown model name is no label value: a client cannot grow the series.
    assert_eq!(
        value(
            &after,
            "plugboard_requests_total",
            &[("status", "404"), ("model", "")]
        ),
        1.0
    );
    assert!(
        !after
            .samples
            .iter()
            .any(|s| s.labels.get("model") == Some("what-model"))
    );
    assert_eq!(
        value(
            &after,
            "plugboard_tokens_total",
            &[("kind", "input"), ("provider", "oa")]
        ),
        16.0
    );
    assert_eq!(
        value(
            &after,
            "plugboard_tokens_total",
            &[("kind", "output"), ("provider", "oa")]
        ),
        7.0
    );
    let durations = value(
        &after,
        "plugboard_request_duration_seconds_count",
        &[("provider", "oa")],
    );
    assert_eq!(durations, 3.0, "two answers and the refusal were timed");
    // Both accounts rest after the 429s.
    assert_eq!(
        value(
            &after,
            "plugboard_accounts",
            &[("provider", "oa"), ("state", "cooling")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &after,
            "plugboard_accounts",
            &[("provider", "oa"), ("state", "ok")]
        ),
        0.0
    );

    // The main port does not serve the keyless metrics.
    let main = client.get(plugboard.url("/metrics")).send().await.unwrap();
    assert_ne!(main.status(), 200);
}
