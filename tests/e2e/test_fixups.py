"""Stories of request fixups: small components that repair a conversation before the
provider encodes it. The "Kiro case": some upstreams refuse a conversation whose first
turn is the assistant's; `first-user-turn` makes it start with the user, and a provider
without the fixup sends the conversation exactly as the client wrote it."""

import anthropic
from google import genai
from google.genai import types

from conftest import CLAUDE_WITH_FIXUP, GEMINI_WITH_FIXUP, WITH_FIRST_USER_TURN, WITH_MERGE_TURNS, WITHOUT_FIXUPS
from mock_upstream import joined_text

GREETING = "Hi! I'm your coding assistant. What shall we build?"
CONVERSATION_OPENED_BY_THE_ASSISTANT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "assistant", "content": GREETING},
    {"role": "user", "content": "A tiny web server, please."},
]


def turns(received) -> list[tuple[str, str]]:
    """(role, text) of every message the upstream received."""
    return [(m["role"], joined_text(m.get("content"))) for m in received.body["messages"]]


def test_first_user_turn_makes_the_upstream_conversation_start_with_the_user(client, mock):
    answer = client.chat.completions.create(model=WITH_FIRST_USER_TURN, messages=CONVERSATION_OPENED_BY_THE_ASSISTANT)
    assert answer.choices[0].message.content == "echo: A tiny web server, please."

    sent = turns(mock.last())
    conversation = [turn for turn in sent if turn[0] != "system"]
    assert conversation[0][0] == "user", f"the upstream conversation must open with a user turn: {sent}"
    # Nothing the client said was lost, and the order is kept.
    assert ("assistant", GREETING) in conversation
    assert conversation[-1] == ("user", "A tiny web server, please.")
    assert sent[0] == ("system", "You are a helpful assistant.")


def test_without_the_fixup_the_conversation_reaches_the_upstream_unchanged(client, mock):
    client.chat.completions.create(model=WITHOUT_FIXUPS, messages=CONVERSATION_OPENED_BY_THE_ASSISTANT)

    assert turns(mock.last()) == [(m["role"], m["content"]) for m in CONVERSATION_OPENED_BY_THE_ASSISTANT]


def test_merge_turns_joins_consecutive_turns_of_the_same_role(client, mock):
    client.chat.completions.create(
        model=WITH_MERGE_TURNS,
        messages=[
            {"role": "user", "content": "Here is my file:"},
            {"role": "user", "content": "def add(a, b): return a - b"},
            {"role": "assistant", "content": "I see it."},
            {"role": "user", "content": "Find the bug."},
        ],
    )

    sent = turns(mock.last())
    assert [role for role, _ in sent] == ["user", "assistant", "user"]
    merged = sent[0][1]
    assert "Here is my file:" in merged and "def add(a, b): return a - b" in merged
    assert merged.index("Here is my file:") < merged.index("def add")
    assert sent[1:] == [("assistant", "I see it."), ("user", "Find the bug.")]


def test_blocks_the_ir_cannot_carry_survive_a_fixup_on_the_way_to_anthropic(gateway, mock):
    """An Anthropic client's server-tool blocks (web search and its results) have no IR
    part; with a fixup in the chain the request takes the IR path, and the blocks still
    reach the Anthropic upstream, in place."""
    search = {"type": "server_tool_use", "id": "srvtoolu_01", "name": "web_search", "input": {"query": "rust 2026"}}
    results = {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_01",
               "content": [{"type": "web_search_result", "url": "https://example.com", "title": "Rust",
                            "encrypted_content": "opaque", "page_age": None}]}
    claude = anthropic.Anthropic(base_url=gateway.base_url, api_key=gateway.api_key, max_retries=0, timeout=30)

    claude.messages.create(model=CLAUDE_WITH_FIXUP, max_tokens=256, messages=[
        {"role": "user", "content": "What's new in Rust?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Searching."}, search, results,
                                          {"type": "text", "text": "Rust 2026 is out."}]},
        {"role": "user", "content": "Thanks!"},
    ])

    sent = mock.last()
    assert sent.dialect == "anthropic"
    assistant = sent.body["messages"][1]
    assert [block["type"] for block in assistant["content"]] == \
        ["text", "server_tool_use", "web_search_tool_result", "text"]
    assert assistant["content"][1] == search
    assert assistant["content"][2]["content"][0]["encrypted_content"] == "opaque"


def test_parts_the_ir_cannot_carry_survive_a_fixup_on_the_way_to_gemini(gateway, mock):
    """A Gemini client's code-execution parts have no IR form; through a fixup (the IR
    path) they still reach the Gemini upstream, in place."""
    gemini = genai.Client(api_key=gateway.api_key,
                          http_options=types.HttpOptions(base_url=gateway.base_url, timeout=30_000))
    code = {"executableCode": {"language": "PYTHON", "code": "print(6 * 7)"}}
    outcome = {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "42\n"}}

    gemini.models.generate_content(model=GEMINI_WITH_FIXUP, contents=[
        types.Content(role="user", parts=[types.Part(text="What is 6 times 7?")]),
        types.Content(role="model", parts=[
            types.Part(text="Let me compute."),
            types.Part(executable_code=types.ExecutableCode(language="PYTHON", code="print(6 * 7)")),
            types.Part(code_execution_result=types.CodeExecutionResult(outcome="OUTCOME_OK", output="42\n")),
            types.Part(text="It is 42."),
        ]),
        types.Content(role="user", parts=[types.Part(text="Thanks!")]),
    ])

    sent = mock.last()
    assert sent.dialect == "gemini"
    model_turn = sent.body["contents"][1]
    assert model_turn["role"] == "model"
    assert model_turn["parts"] == [{"text": "Let me compute."}, code, outcome, {"text": "It is 42."}]


def test_fields_a_chat_client_sent_survive_a_fixup_on_the_way_to_openai(client, mock):
    """Through a fixup a Chat request takes the IR path; a message's `name` and a text
    part's `cache_control` (which OpenRouter passes to Anthropic models) still arrive."""
    client.chat.completions.create(model=WITH_FIRST_USER_TURN, messages=[
        {"role": "system", "content": "You are terse."},
        {"role": "user", "name": "ada", "content": [
            {"type": "text", "text": "A long document.", "cache_control": {"type": "ephemeral"}}]},
    ])

    user = mock.last().body["messages"][-1]
    assert user["role"] == "user" and user["name"] == "ada"
    assert user["content"] == [{"type": "text", "text": "A long document.", "cache_control": {"type": "ephemeral"}}]
