//! The dialect check accepts what each real API accepts (including what the
//! Plugboard adapters send) and turns away the mistakes a broken translation
//! makes.

use super::*;

fn accepts(dialect: Dialect, body: &str) -> Checked {
    check(dialect, body.as_bytes())
        .unwrap_or_else(|reason| panic!("{dialect:?} should accept {body}: {reason}"))
}

fn rejects(dialect: Dialect, body: &str) {
    assert!(
        check(dialect, body.as_bytes()).is_err(),
        "{dialect:?} should reject {body}"
    );
}

#[test]
fn paths_map_to_their_dialects() {
    let chat = route("/v1/chat/completions", None).unwrap();
    assert_eq!((chat.dialect, chat.gemini_stream), (Dialect::Chat, None));
    assert_eq!(
        route("/v1/responses", None).unwrap().dialect,
        Dialect::Responses
    );
    assert_eq!(
        route("/v1/messages", None).unwrap().dialect,
        Dialect::Anthropic
    );
    let generate = route("/v1beta/models/gemini-2.5-flash:generateContent", None).unwrap();
    assert_eq!(
        (generate.dialect, generate.gemini_stream),
        (Dialect::Gemini, None)
    );
    let sse = route(
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        Some("alt=sse"),
    )
    .unwrap();
    assert_eq!(sse.gemini_stream, Some(GeminiFraming::Sse));
    let keyed = route(
        "/v1beta/models/m:streamGenerateContent",
        Some("key=k&alt=sse"),
    )
    .unwrap();
    assert_eq!(keyed.gemini_stream, Some(GeminiFraming::Sse));
    let array = route("/v1beta/models/m:streamGenerateContent", None).unwrap();
    assert_eq!(array.gemini_stream, Some(GeminiFraming::JsonArray));
}

#[test]
fn paths_the_apis_do_not_have_are_not_routed() {
    for path in [
        "/",
        "/stats",
        "/v1/chat",
        "/v1beta/models/:generateContent",
        "/v1beta/models/m:countTokens",
        "/v1beta/models/a/b:generateContent",
    ] {
        assert_eq!(route(path, None), None, "{path}");
    }
}

#[test]
fn chat_accepts_plain_multimodal_and_tool_turns_and_reads_stream() {
    let plain = r#"{"model":"gpt-4o","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi \"there\""}]}"#;
    assert_eq!(accepts(Dialect::Chat, plain), Checked { stream: false });
    let tools = r#"{"model":"m","stream":true,"stream_options":{"include_usage":true},"messages":[
        {"role":"user","content":[{"type":"text","text":"weather?"}]},
        {"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"w","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"sunny"}]}"#;
    assert_eq!(accepts(Dialect::Chat, tools), Checked { stream: true });
}

#[test]
fn chat_rejects_other_dialects_and_broken_messages() {
    rejects(Dialect::Chat, r#"{"model":"m","input":"hi"}"#);
    rejects(Dialect::Chat, r#"{"contents":[{"parts":[{"text":"hi"}]}]}"#);
    rejects(
        Dialect::Chat,
        r#"{"messages":[{"role":"user","content":"hi"}]}"#,
    );
    rejects(Dialect::Chat, r#"{"model":"m","messages":[]}"#);
    rejects(
        Dialect::Chat,
        r#"{"model":"m","messages":[{"role":"model","content":"hi"}]}"#,
    );
    rejects(
        Dialect::Chat,
        r#"{"model":"m","messages":[{"role":"user"}]}"#,
    );
    rejects(
        Dialect::Chat,
        r#"{"model":"m","messages":[{"content":"hi"}]}"#,
    );
    rejects(
        Dialect::Chat,
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}]"#,
    );
    rejects(Dialect::Chat, "");
}

#[test]
fn responses_accepts_string_or_item_input() {
    assert_eq!(
        accepts(Dialect::Responses, r#"{"model":"m","input":"hi"}"#),
        Checked { stream: false }
    );
    let items = r#"{"model":"m","stream":true,"input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi"}]}]}"#;
    assert_eq!(accepts(Dialect::Responses, items), Checked { stream: true });
}

#[test]
fn responses_rejects_chat_bodies() {
    rejects(
        Dialect::Responses,
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
    );
    rejects(Dialect::Responses, r#"{"input":"hi"}"#);
}

#[test]
fn anthropic_accepts_top_level_system_and_block_content() {
    let body = r#"{"model":"claude","max_tokens":1024,"system":[{"type":"text","text":"be brief"}],"stream":true,
        "messages":[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":"hello"}]}"#;
    assert_eq!(accepts(Dialect::Anthropic, body), Checked { stream: true });
}

#[test]
fn anthropic_rejects_a_system_role_in_messages_and_a_missing_max_tokens() {
    rejects(
        Dialect::Anthropic,
        r#"{"model":"c","max_tokens":8,"messages":[{"role":"system","content":"x"},{"role":"user","content":"hi"}]}"#,
    );
    rejects(
        Dialect::Anthropic,
        r#"{"model":"c","messages":[{"role":"user","content":"hi"}]}"#,
    );
    rejects(
        Dialect::Anthropic,
        r#"{"model":"c","max_tokens":8,"messages":[{"role":"tool","content":"x"}]}"#,
    );
    rejects(
        Dialect::Anthropic,
        r#"{"model":"c","max_tokens":8,"messages":[{"role":"user"}]}"#,
    );
}

#[test]
fn gemini_accepts_contents_with_parts_and_ignores_stream_fields() {
    let body = r#"{"systemInstruction":{"parts":[{"text":"be brief"}]},"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"text":"yo"}]},{"parts":[{"text":"again"}]}],"generationConfig":{"maxOutputTokens":10}}"#;
    assert_eq!(accepts(Dialect::Gemini, body), Checked { stream: false });
}

#[test]
fn gemini_rejects_chat_messages_and_empty_parts() {
    rejects(
        Dialect::Gemini,
        r#"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
    );
    rejects(
        Dialect::Gemini,
        r#"{"contents":[{"role":"user","parts":[]}]}"#,
    );
    rejects(
        Dialect::Gemini,
        r#"{"contents":[{"role":"assistant","parts":[{"text":"hi"}]}]}"#,
    );
    rejects(Dialect::Gemini, r#"{"contents":[]}"#);
}
