//! The usage store, end to end: a scripted mix of requests (every client dialect,
//! streamed and not, two providers, several accounts and models, some failing) goes
//! through a real `plugboard serve`; then `plugboard usage` must report, per group
//! and in total, exactly the tokens the scripted upstreams reported and the requests
//! by the status each got; after a restart, the same and more; the CSV export parses.

mod serve_support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use serve_support::*;

/// What one scripted request should add to the store.
#[derive(Debug, Clone, Default)]
struct Expect {
    provider: &'static str,
    model: &'static str,
    status: u16,
    input: u64,
    output: u64,
    cache_read: u64,
    cache_write: u64,
    reasoning: u64,
}

fn openai_completion(prompt: u64, completion: u64, cached: u64, reasoning: u64) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "up",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "fine"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning}}
    })
}

/// The frames of an OpenAI stream whose last chunk carries the usage (as
/// `include_usage` asks): two text chunks, the usage chunk, `[DONE]`.
fn openai_stream_frames(prompt: u64, completion: u64) -> [String; 4] {
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let usage = format!(
        "data: {}\n\n",
        json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up",
            "choices": [], "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}})
    );
    [
        chunk(json!({"role": "assistant", "content": "fi"}), Value::Null),
        chunk(json!({"content": "ne"}), json!("stop")),
        usage,
        "data: [DONE]\n\n".to_owned(),
    ]
}

/// [`openai_stream_frames`] as a scripted reply, a frame per chunk.
fn openai_stream(prompt: u64, completion: u64) -> Reply {
    let frames = openai_stream_frames(prompt, completion);
    Reply::sse(&frames.each_ref().map(String::as_str))
}

fn anthropic_message(input: u64, output: u64) -> Value {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-a",
        "content": [{"type": "text", "text": "fine"}], "stop_reason": "end_turn",
        "stop_sequence": null, "usage": {"input_tokens": input, "output_tokens": output}})
}

/// An Anthropic stream: input and cache counts open it, the output count closes it.
fn anthropic_stream(input: u64, cache_read: u64, cache_write: u64, output: u64) -> Reply {
    let frame = |event: &str, data: Value| format!("event: {event}\ndata: {data}\n\n");
    Reply::sse(&[
        &frame(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1",
            "type": "message", "role": "assistant", "model": "claude-a", "content": [],
            "stop_reason": null, "usage": {"input_tokens": input, "output_tokens": 1,
            "cache_read_input_tokens": cache_read, "cache_creation_input_tokens": cache_write}}}),
        ),
        &frame(
            "content_block_start",
            json!({"type": "content_block_start", "index": 0,
            "content_block": {"type": "text", "text": ""}}),
        ),
        &frame(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "fine"}}),
        ),
        &frame(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        &frame(
            "message_delta",
            json!({"type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": null},
            "usage": {"output_tokens": output}}),
        ),
        &frame("message_stop", json!({"type": "message_stop"})),
    ])
}

fn config(openai: &ScriptedUpstream, anthropic: &ScriptedUpstream, usage_db: &Path) -> String {
    format!(
        "usage:\n  path: {}\nproviders:\n  - name: oa\n    adapter: openai\n    base-url: {}/v1\n    api-keys: [sk-up-1, sk-up-2]\n    models: [gpt-a, gpt-b]\n  - name: an\n    adapter: anthropic\n    base-url: {}\n    api-keys: [sk-ant-1]\n    models: [claude-a]\n",
        usage_db.display(),
        openai.base_url,
        anthropic.base_url
    )
}

async fn send(client: &reqwest::Client, url: String, body: Value) -> (u16, String) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {CLIENT_KEY}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hello"}]})
}

/// `plugboard usage --json` for `config`, grouped `by`.
fn usage_json(config: &Path, by: &str) -> Value {
    let (ok, out, err) = run_cli(&[
        "usage",
        "--config",
        config.to_str().unwrap(),
        "--by",
        by,
        "--json",
    ]);
    assert!(ok, "plugboard usage failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// The sums `expects` make, per group of `key` (`provider`, `model`, `status`).
fn sums(expects: &[Expect], key: &str) -> BTreeMap<String, [u64; 6]> {
    let mut out: BTreeMap<String, [u64; 6]> = BTreeMap::new();
    for e in expects {
        let group = match key {
            "provider" => e.provider.to_owned(),
            "model" => e.model.to_owned(),
            "status" => e.status.to_string(),
            _ => String::new(),
        };
        let sum = out.entry(group).or_default();
        for (slot, value) in sum.iter_mut().zip([
            1,
            e.input,
            e.output,
            e.cache_read,
            e.cache_write,
            e.reasoning,
        ]) {
            *slot += value;
        }
    }
    out
}

fn reported(report: &Value, key: &str) -> BTreeMap<String, [u64; 6]> {
    let numbers = |t: &Value| {
        [
            "requests",
            "input_tokens",
            "output_tokens",
            "cache_read_tokens",
            "cache_write_tokens",
            "reasoning_tokens",
        ]
        .map(|name| t[name].as_u64().unwrap())
    };
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"][key].as_str().unwrap().to_owned(), numbers(g)))
        .collect()
}

fn check_report(config: &Path, expects: &[Expect]) {
    for key in ["provider", "model", "status"] {
        let report = usage_json(config, key);
        assert_eq!(
            reported(&report, key),
            sums(expects, key),
            "grouped by {key}: {report:#}"
        );
        let total = sums(expects, "");
        let total = total[""];
        assert_eq!(report["total"]["requests"], total[0]);
        assert_eq!(report["total"]["input_tokens"], total[1]);
        assert_eq!(report["total"]["output_tokens"], total[2]);
        assert_eq!(report["total"]["cache_read_tokens"], total[3]);
        assert_eq!(report["total"]["cache_write_tokens"], total[4]);
        assert_eq!(report["total"]["reasoning_tokens"], total[5]);
    }
}

#[tokio::test]
async fn every_dialect_streamed_or_not_adds_up_exactly_and_survives_a_restart() {
    let adapters = adapters_with(&["openai", "anthropic"]);
    let openai = ScriptedUpstream::start().await;
    let anthropic = ScriptedUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let usage_db = dir.path().join("usage.db");
    let extra = config(&openai, &anthropic, &usage_db);
    let cli_config = write_config(
        dir.path(),
        &adapters,
        &format!("usage:\n  path: {}\n", usage_db.display()),
    );
    let mut plugboard = Plugboard::start(&adapters, &extra);
    let client = client();
    let mut expects = Vec::new();
    let ok = |provider, model, input, output| Expect {
        provider,
        model,
        status: 200,
        input,
        output,
        ..Expect::default()
    };

    // OpenAI Chat, a document, with cached and reasoning counts.
    openai.reply(Reply::json(200, openai_completion(11, 7, 3, 2)));
    let (status, _) = send(
        &client,
        plugboard.url("/v1/chat/completions"),
        chat("gpt-a", false),
    )
    .await;
    assert_eq!(status, 200);
    expects.push(Expect {
        cache_read: 3,
        reasoning: 2,
        ..ok("oa", "gpt-a", 11, 7)
    });

    // OpenAI Chat, a stream whose client did not ask for usage: the upstream is asked
    // for it anyway, and the client does not see it.
    openai.reply(openai_stream(13, 5));
    let (status, body) = send(
        &client,
        plugboard.url("/v1/chat/completions"),
        chat("gpt-b", true),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body.contains("[DONE]") && !body.contains("\"usage\""),
        "{body}"
    );
    let asked = openai.received().last().unwrap().json();
    assert_eq!(asked["stream_options"]["include_usage"], true);
    expects.push(ok("oa", "gpt-b", 13, 5));

    // OpenAI Chat asking for usage, streamed from Anthropic (cache counts in input).
    anthropic.reply(anthropic_stream(20, 4, 6, 9));
    let mut body = chat("claude-a", true);
    body["stream_options"] = json!({"include_usage": true});
    let (status, body) = send(&client, plugboard.url("/v1/chat/completions"), body).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"usage\""), "{body}");
    expects.push(Expect {
        cache_read: 4,
        cache_write: 6,
        ..ok("an", "claude-a", 30, 9)
    });

    // Anthropic Messages to Anthropic (passthrough), a document.
    anthropic.reply(Reply::json(200, anthropic_message(8, 4)));
    let messages = |model: &str, stream: bool| {
        json!({"model": model, "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": "hello"}]})
    };
    let (status, _) = send(
        &client,
        plugboard.url("/v1/messages"),
        messages("claude-a", false),
    )
    .await;
    assert_eq!(status, 200);
    expects.push(ok("an", "claude-a", 8, 4));

    // Anthropic Messages to Anthropic (passthrough), a stream.
    anthropic.reply(anthropic_stream(3, 0, 0, 2));
    let (status, _) = send(
        &client,
        plugboard.url("/v1/messages"),
        messages("claude-a", true),
    )
    .await;
    assert_eq!(status, 200);
    expects.push(ok("an", "claude-a", 3, 2));

    // Anthropic Messages to OpenAI, a stream.
    openai.reply(openai_stream(17, 6));
    let (status, body) = send(
        &client,
        plugboard.url("/v1/messages"),
        messages("gpt-a", true),
    )
    .await;
    assert_eq!(status, 200);
    assert!(body.contains("message_stop"), "{body}");
    expects.push(ok("oa", "gpt-a", 17, 6));

    // OpenAI Responses, a document and a stream.
    openai.reply(Reply::json(200, openai_completion(21, 8, 0, 0)));
    let responses =
        |model: &str, stream: bool| json!({"model": model, "input": "hello", "stream": stream});
    let (status, _) = send(
        &client,
        plugboard.url("/v1/responses"),
        responses("gpt-b", false),
    )
    .await;
    assert_eq!(status, 200);
    expects.push(ok("oa", "gpt-b", 21, 8));
    anthropic.reply(anthropic_stream(12, 0, 0, 3));
    let (status, _) = send(
        &client,
        plugboard.url("/v1/responses"),
        responses("claude-a", true),
    )
    .await;
    assert_eq!(status, 200);
    expects.push(ok("an", "claude-a", 12, 3));

    // Gemini, a stream and a document.
    let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "hello"}]}]});
    anthropic.reply(anthropic_stream(5, 0, 0, 3));
    let (status, _) = send(
        &client,
        plugboard.url("/v1beta/models/claude-a:streamGenerateContent?alt=sse"),
        gemini.clone(),
    )
    .await;
    assert_eq!(status, 200);
    expects.push(ok("an", "claude-a", 5, 3));
    openai.reply(Reply::json(200, openai_completion(9, 2, 0, 0)));
    let (status, _) = send(
        &client,
        plugboard.url("/v1beta/models/gpt-a:generateContent"),
        gemini.clone(),
    )
    .await;
    assert_eq!(status, 200);
    expects.push(ok("oa", "gpt-a", 9, 2));

    // The first account is overloaded: the second answers (two attempts, one row).
    openai.reply(Reply::json(
        503,
        json!({"error": {"message": "overloaded", "type": "server_error"}}),
    ));
    openai.reply(Reply::json(200, openai_completion(4, 4, 0, 0)));
    let (status, _) = send(
        &client,
        plugboard.url("/v1/chat/completions"),
        chat("gpt-b", false),
    )
    .await;
    assert_eq!(status, 200);
    expects.push(ok("oa", "gpt-b", 4, 4));

    // Failures: Anthropic's only account is rate limited; OpenAI refuses a request;
    // nobody serves an unknown model.
    anthropic.reply(
        Reply::json(
            429,
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}),
        )
        .header("retry-after", "1"),
    );
    let (status, _) = send(
        &client,
        plugboard.url("/v1/chat/completions"),
        chat("claude-a", false),
    )
    .await;
    assert_eq!(status, 429);
    expects.push(Expect {
        provider: "an",
        model: "claude-a",
        status: 429,
        ..Expect::default()
    });
    openai.reply(Reply::json(
        400,
        json!({"error": {"message": "bad temperature", "type": "invalid_request_error"}}),
    ));
    let (status, _) = send(
        &client,
        plugboard.url("/v1/chat/completions"),
        chat("gpt-a", false),
    )
    .await;
    assert_eq!(status, 400);
    expects.push(Expect {
        provider: "oa",
        model: "gpt-a",
        status: 400,
        ..Expect::default()
    });
    let (status, _) = send(
        &client,
        plugboard.url("/v1/chat/completions"),
        chat("no-such-model", false),
    )
    .await;
    assert_eq!(status, 404);
    expects.push(Expect {
        provider: "",
        model: "no-such-model",
        status: 404,
        ..Expect::default()
    });

    // A clean stop commits the last batch; the summary reads it from the file.
    assert!(plugboard.terminate(), "plugboard stops cleanly");
    check_report(&cli_config, &expects);

    // The rows: the retried request took two attempts on two accounts; the export parses.
    let (ok_csv, csv, err) = run_cli(&["usage", "--config", cli_config.to_str().unwrap(), "--csv"]);
    assert!(ok_csv, "{err}");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<BTreeMap<&str, &str>> = lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), header.len(), "{line}");
            header.iter().copied().zip(fields).collect()
        })
        .collect();
    assert_eq!(rows.len(), expects.len());
    let input_sum: u64 = rows
        .iter()
        .map(|r| r["input_tokens"].parse::<u64>().unwrap_or(0))
        .sum();
    assert_eq!(input_sum, expects.iter().map(|e| e.input).sum::<u64>());
    let retried = &rows[10];
    // The row names the account that answered (the rotation decides which went first).
    assert_eq!((retried["attempts"], retried["status"]), ("2", "200"));
    assert!(
        ["oa#1", "oa#2"].contains(&retried["account"]),
        "{retried:?}"
    );
    let dialects: Vec<&str> = rows.iter().map(|r| r["dialect"]).collect();
    for dialect in ["openai-chat", "openai-responses", "anthropic", "gemini"] {
        assert!(dialects.contains(&dialect), "{dialects:?}");
    }
    let streamed = rows.iter().filter(|r| r["stream"] == "true").count();
    assert_eq!(streamed, 6);
    assert!(
        rows.iter()
            .filter(|r| r["stream"] == "true")
            .all(|r| !r["ttft_ms"].is_empty())
    );
    assert_eq!(rows[11]["error"], "rate_limit_exceeded");
    assert!(
        rows.iter().all(|r| r["client_key"].is_empty()),
        "plain api-keys have no name"
    );

    // Restarted on the same store: what was there stays, and new requests add to it.
    let mut plugboard = Plugboard::start(&adapters, &extra);
    openai.reply(Reply::json(200, openai_completion(100, 50, 0, 0)));
    let (status, _) = send(
        &client,
        plugboard.url("/v1/chat/completions"),
        chat("gpt-a", false),
    )
    .await;
    assert_eq!(status, 200);
    expects.push(ok("oa", "gpt-a", 100, 50));
    assert!(plugboard.terminate());
    check_report(&cli_config, &expects);

    // The table a person reads names each group and the total.
    let (ok_table, table, err) = run_cli(&[
        "usage",
        "--config",
        cli_config.to_str().unwrap(),
        "--by",
        "provider",
        "--since",
        "1h",
    ]);
    assert!(ok_table, "{err}");
    let total_line = table
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .expect(&table);
    assert!(
        total_line
            .split_whitespace()
            .any(|n| n == expects.len().to_string()),
        "{table}"
    );
    assert!(
        table.lines().any(|l| l.starts_with("oa ")) && table.lines().any(|l| l.starts_with("an ")),
        "{table}"
    );
}

#[tokio::test]
async fn a_store_switched_off_writes_nothing_and_a_sigkill_loses_at_most_the_last_second() {
    let adapters = adapters_with(&["openai", "anthropic"]);
    let openai = ScriptedUpstream::start().await;
    let anthropic = ScriptedUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let usage_db = dir.path().join("usage.db");
    let client = client();

    // Off: no file at all.
    let off =
        config(&openai, &anthropic, &usage_db).replace("usage:\n", "usage:\n  enabled: false\n");
    let mut plugboard = Plugboard::start(&adapters, &off);
    openai.reply(Reply::json(200, openai_completion(1, 1, 0, 0)));
    let (status, _) = send(
        &client,
        plugboard.url("/v1/chat/completions"),
        chat("gpt-a", false),
    )
    .await;
    assert_eq!(status, 200);
    assert!(plugboard.terminate());
    assert!(!usage_db.exists(), "usage.enabled: false writes no store");

    // On, then killed without warning two seconds after a request: the row is there.
    let plugboard = Plugboard::start(&adapters, &config(&openai, &anthropic, &usage_db));
    openai.reply(Reply::json(200, openai_completion(40, 2, 0, 0)));
    let (status, _) = send(
        &client,
        plugboard.url("/v1/chat/completions"),
        chat("gpt-a", false),
    )
    .await;
    assert_eq!(status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &plugboard.pid().to_string()])
        .status();
    drop(plugboard);
    let cli_config = write_config(
        dir.path(),
        &adapters,
        &format!("usage:\n  path: {}\n", usage_db.display()),
    );
    let report = usage_json(&cli_config, "status");
    assert_eq!(report["total"]["requests"], 1);
    assert_eq!(report["total"]["input_tokens"], 40);
}

/// A client that stops reading at `[DONE]` while the upstream's connection is still
/// open (it closes 300 ms later, without another byte) had the whole answer: its row
/// is a success with the upstream's tokens. A client that leaves mid-answer is
/// `client_disconnected`.
#[tokio::test]
async fn a_client_that_stops_at_done_is_complete_and_one_that_leaves_midway_is_not() {
    let frames = openai_stream_frames(21, 4);
    let whole = frames.concat();
    let first = &frames[0];
    let done = RawUpstream::start(
        Raw::head_then(200, "text/event-stream", &whole)
            .then_close_after(std::time::Duration::from_millis(300)),
    )
    .await;
    let midway =
        RawUpstream::start(Raw::head_then(200, "text/event-stream", first).then_stall()).await;
    let adapters = adapters_with(&["openai"]);
    let dir = tempfile::tempdir().unwrap();
    let usage_db = dir.path().join("usage.db");
    let plugboard = Plugboard::start(
        &adapters,
        &format!(
            "usage:\n  path: {}\nproviders:\n  - {{name: done, adapter: openai, base-url: {}/v1, api-keys: [sk-up-1], models: [m-done]}}\n  - {{name: midway, adapter: openai, base-url: {}/v1, api-keys: [sk-up-1], models: [m-midway]}}\n",
            usage_db.display(),
            done.base_url,
            midway.base_url
        ),
    );
    let client = client();
    // Each client reads until it has what it waits for, then drops the stream.
    for (model, wanted) in [("m-done", "[DONE]"), ("m-midway", "\"fi\"")] {
        let mut response = client
            .post(plugboard.url("/v1/chat/completions"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {CLIENT_KEY}"))
            .body(
                json!({"model": model, "stream": true, "stream_options": {"include_usage": true},
                    "messages": [{"role": "user", "content": "hello"}]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let mut seen = String::new();
        while !seen.contains(wanted) {
            let chunk = response.chunk().await.unwrap().expect("more of the stream");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        drop(response);
    }

    let reader = plugboard::usage::UsageReader::new(&usage_db);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let rows = loop {
        let rows = reader
            .rows(&plugboard::usage::Query::default())
            .unwrap_or_default();
        if rows.len() == 2 {
            break rows;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the store never held both rows: {rows:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let row = |model: &str| rows.iter().find(|r| r.model == model).unwrap().clone();
    let complete = row("m-done");
    assert_eq!(
        (complete.status, complete.error.as_str()),
        (200, ""),
        "{complete:?}"
    );
    assert_eq!(
        (complete.input_tokens, complete.output_tokens),
        (Some(21), Some(4))
    );
    let left = row("m-midway");
    assert_eq!(left.error, "client_disconnected", "{left:?}");
}
