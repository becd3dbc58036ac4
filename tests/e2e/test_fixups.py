"""Stories of request fixups: small components that repair a conversation before the
provider encodes it. The "Kiro case": some upstreams refuse a conversation whose first
turn is the assistant's; `first-user-turn` makes it start with the user, and a provider
without the fixup sends the conversation exactly as the client wrote it. The repair
fixups (`thinking-signatures`, `tool-pairs`) make conversations that switched models or
were compacted acceptable to strict upstreams, and without them the mock refuses."""

import base64

import anthropic
import pytest
from google import genai
from google.genai import types

import gemini_wire
from conftest import CLAUDE_WITH_FIXUP, GEMINI_WITH_FIXUP, WITH_FIRST_USER_TURN, WITH_MERGE_TURNS, WITHOUT_FIXUPS
from mock_upstream import joined_text
from plugboard_server import Plugboard, provider
from replies import Reply, ThinkingBlock, ToolUseBlock, text

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


# --- Conversation repairs: what strict upstreams refuse after a model switch or a
# compaction (docs/adapters/repairs.md). The mock refuses like the real APIs: Gemini
# a thought signature it did not issue ("Corrupted thought signature."), Anthropic a
# broken tool_use/tool_result pair or a thinking signature it did not issue.

CLAUDE_RAW = "claude-mock-raw"
CLAUDE_REPAIRED = "claude-mock-repaired"
GEMINI_RAW = "gemini-mock-raw"
GEMINI_REPAIRED = "gemini-mock-repaired"
# Shaped like Anthropic's signatures (base64 of a protobuf whose first byte is 0x12:
# "EkA..."), which is how `thinking-signatures` tells them from Gemini's ("Ci...").
CLAUDE_SIGNATURE = base64.b64encode(b"\x12\x40" + b"claude-mock-thinking-signature/" * 3).decode()
BASH = {"name": "bash", "description": "Run a shell command.",
        "input_schema": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}}
THINKING = {"type": "enabled", "budget_tokens": 1024}


@pytest.fixture(scope="module")
def repairs(upstream, tmp_path_factory) -> Plugboard:
    """Anthropic and Gemini providers with and without the repair fixups."""
    server = Plugboard(
        tmp_path_factory.mktemp("repairs"),
        providers=[
            provider("claude-raw", "anthropic", upstream, [CLAUDE_RAW], fixups=[]),
            provider("claude-repaired", "anthropic", upstream, [CLAUDE_REPAIRED], fixups=["tool-pairs"]),
            provider("gemini-raw", "gemini", upstream, [GEMINI_RAW], fixups=[]),
            provider("gemini-repaired", "gemini", upstream, [GEMINI_REPAIRED], fixups=["thinking-signatures"]),
        ],
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def claude_code(repairs) -> anthropic.Anthropic:
    """An Anthropic client, as Claude Code is, switching models in one conversation."""
    return anthropic.Anthropic(base_url=repairs.base_url, api_key=repairs.api_key, max_retries=0, timeout=30)


def claude_turn_then_tool_result(claude_code, mock) -> list:
    """A turn with Claude: signed thinking, then a tool call; the client runs the tool.
    Returns the conversation as the client will send it next."""
    mock.queue(Reply([ThinkingBlock("I should list the files.", CLAUDE_SIGNATURE), ToolUseBlock("bash", {"cmd": "ls"})]))
    question = {"role": "user", "content": "What is in this directory?"}
    first = claude_code.messages.create(model=CLAUDE_RAW, max_tokens=4096, thinking=THINKING, tools=[BASH],
                                        messages=[question])
    [thinking] = [b for b in first.content if b.type == "thinking"]
    [use] = [b for b in first.content if b.type == "tool_use"]
    assert thinking.signature == CLAUDE_SIGNATURE, "Claude's signature reached the client"
    return [question, {"role": "assistant", "content": first.content},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "Cargo.toml\nsrc"}]}]


def test_a_conversation_moved_from_claude_to_gemini_reaches_gemini_valid_through_thinking_signatures(claude_code, mock):
    conversation = claude_turn_then_tool_result(claude_code, mock)
    mock.queue(text("Two entries: Cargo.toml and src."))

    # The user switches to a Gemini model mid-way.
    answer = claude_code.messages.create(model=GEMINI_REPAIRED, max_tokens=4096, thinking=THINKING, tools=[BASH],
                                         messages=conversation)

    assert answer.content[-1].text == "Two entries: Cargo.toml and src."
    sent = mock.last()
    assert (sent.dialect, sent.status) == ("gemini", 200)
    model_turn = sent.body["contents"][1]
    assert model_turn["role"] == "model"
    signatures = [part.get("thoughtSignature") for part in model_turn["parts"]]
    assert CLAUDE_SIGNATURE not in signatures, "Claude's signature must not reach Gemini"
    [call] = [part for part in model_turn["parts"] if "functionCall" in part]
    assert call["functionCall"]["name"] == "bash" and call["functionCall"]["args"] == {"cmd": "ls"}
    assert call["thoughtSignature"] == gemini_wire.SKIP_SIGNATURE, "the call goes with Gemini's documented sentinel"
    [response] = [part for part in sent.body["contents"][2]["parts"] if "functionResponse" in part]
    assert response["functionResponse"]["name"] == "bash"


def test_without_thinking_signatures_gemini_refuses_claudes_signature(claude_code, mock):
    conversation = claude_turn_then_tool_result(claude_code, mock)

    with pytest.raises(anthropic.BadRequestError) as refused:
        claude_code.messages.create(model=GEMINI_RAW, max_tokens=4096, thinking=THINKING, tools=[BASH],
                                    messages=conversation)

    assert "Corrupted thought signature." in str(refused.value)
    sent = mock.last()
    assert (sent.dialect, sent.status) == ("gemini", 400)
    assert CLAUDE_SIGNATURE in [part.get("thoughtSignature") for part in sent.body["contents"][1]["parts"]]


def test_claude_refuses_a_thinking_signature_it_did_not_issue(claude_code, mock):
    """The strict Anthropic mock: a thinking block signed elsewhere is refused as the
    real API refuses it (here the signature is Gemini-shaped and was never issued)."""
    foreign = base64.b64encode(b"\x0a\x24" + b"gemini-mock-thought-signature/" * 3).decode()
    with pytest.raises(anthropic.BadRequestError) as refused:
        claude_code.messages.create(model=CLAUDE_RAW, max_tokens=4096, thinking=THINKING, messages=[
            {"role": "user", "content": "Pick a number."},
            {"role": "assistant", "content": [{"type": "thinking", "thinking": "Seven.", "signature": foreign},
                                              {"type": "text", "text": "7."}]},
            {"role": "user", "content": "Doubled?"},
        ])
    assert "messages.1.content.0: Invalid `signature` in `thinking` block" in str(refused.value)
    assert mock.last().status == 400


# Claude Code after compaction: the summary replaced the turn that made call toolu_01
# (its result survived), and the result of toolu_03 was cut.
COMPACTED = [
    {"role": "user", "content": [
        {"type": "text", "text": "Summary of the earlier conversation: we are fixing the build."},
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "error[E0425]: cannot find value `x`"}]},
    {"role": "assistant", "content": [
        {"type": "text", "text": "Let me read the file and run the tests."},
        {"type": "tool_use", "id": "toolu_02", "name": "read_file", "input": {"path": "src/lib.rs"}},
        {"type": "tool_use", "id": "toolu_03", "name": "bash", "input": {"cmd": "cargo test"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_02", "content": "fn main() { x }"},
        {"type": "text", "text": "Go on."}]},
]
READ_FILE = {"name": "read_file", "description": "Read a file.",
             "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]}}


def test_a_compacted_history_reaches_claude_valid_through_tool_pairs(claude_code, mock):
    mock.queue(text("The test run was lost; running it again."))

    answer = claude_code.messages.create(model=CLAUDE_REPAIRED, max_tokens=1024, tools=[BASH, READ_FILE],
                                         messages=COMPACTED)

    assert answer.content[-1].text == "The test run was lost; running it again."
    sent = mock.last()
    assert (sent.dialect, sent.status) == ("anthropic", 200)
    first, assistant, last = sent.body["messages"]
    # The orphaned result is kept as text naming its call; nothing the client sent is lost.
    assert [block["type"] for block in first["content"]] == ["text", "text"]
    [orphan] = [block["text"] for block in first["content"] if "toolu_01" in block["text"]]
    assert "cannot find value `x`" in orphan
    assert "Summary of the earlier conversation: we are fixing the build." in joined_text(first["content"])
    assert [block["id"] for block in assistant["content"] if block["type"] == "tool_use"] == ["toolu_02", "toolu_03"]
    results = {block["tool_use_id"]: block for block in last["content"] if block["type"] == "tool_result"}
    assert results["toolu_02"]["content"] == "fn main() { x }"
    assert results["toolu_03"]["is_error"] is True and "lost" in joined_text(results["toolu_03"]["content"])
    assert joined_text([b for b in last["content"] if b["type"] == "text"]) == "Go on."


def test_without_tool_pairs_claude_refuses_the_compacted_history(claude_code, mock):
    with pytest.raises(anthropic.BadRequestError) as refused:
        claude_code.messages.create(model=CLAUDE_RAW, max_tokens=1024, tools=[BASH, READ_FILE], messages=COMPACTED)

    assert "unexpected tool_use_id found in tool_result blocks" in str(refused.value)
    assert (mock.last().dialect, mock.last().status) == ("anthropic", 400)


def test_a_prefill_reaches_a_claude_that_refuses_prefill_as_a_final_user_instruction(launch, mock):
    """`prefill` is the `anthropic` adapter's default fixup: a Chat client's trailing
    assistant message (a prefill) to Claude 4.6, which refuses prefill, arrives as a
    final user turn asking to begin with that text; nothing of it is dropped."""
    import openai

    model = "claude-sonnet-4-6"
    server = launch([provider("claude", "anthropic", mock, [model])])
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=server.api_key, max_retries=0, timeout=30)
    mock.queue(text("Silent pond, a frog leaps in"))

    reply = client.chat.completions.create(model=model, messages=[
        {"role": "user", "content": "Write a haiku about a frog."},
        {"role": "assistant", "content": "Silent pond"},
    ])

    assert reply.choices[0].message.content == "Silent pond, a frog leaps in"
    sent = mock.last()
    assert sent.status == 200
    last = sent.body["messages"][-1]
    assert last["role"] == "user"
    assert "Begin your reply with exactly the following text" in joined_text(last["content"])
    assert "Silent pond" in joined_text(last["content"])


def test_the_mock_refuses_a_prefill_to_claude_4_6_as_the_real_api_does(mock):
    import json
    import urllib.error
    import urllib.request

    from anthropic_wire import API_KEY

    request = urllib.request.Request(mock.base_url + "/v1/messages", method="POST", headers={
        "x-api-key": API_KEY, "anthropic-version": "2023-06-01", "content-type": "application/json",
    }, data=json.dumps({"model": "claude-opus-4-6", "max_tokens": 16, "messages": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello"}]}).encode())

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert "does not support assistant message prefill" in refused.value.read().decode()
