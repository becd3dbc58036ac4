"""Stories of the `kiro` adapter's translation against the strict scripted Kiro API of
`kiro_wire`: two `kiro` accounts in an auth dir (one with a profile ARN, one without),
the OpenAI and Anthropic SDKs, conversations Kiro would refuse as sent, and the failures
that disable, cool or fail over an account. The mock refuses whatever the real API
refuses ("Improperly formed request."), so every story also checks that no refusal
happened.
"""

from __future__ import annotations

import json
import zlib

import anthropic
import httpx
import openai
import pytest

import kiro_wire
from kiro_auth_wire import ISSUED_TOKENS, SOCIAL_ARN, KiroAuthService
from plugboard_server import provider
from replies import text, thinking_then_text, tool_call

MODEL = "claude-sonnet-4-6"
TOKEN_A, TOKEN_B = list(kiro_wire.TOKENS)[:2]
WEATHER = {"name": "get_weather", "description": "Current weather for a city.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                            "additionalProperties": False}}


def account_file(token: str, email: str) -> dict:
    """A stored account: a social login (with its profile ARN) for the token issued with
    an ARN, a Builder ID one (none) for the other; tokens far from expiry."""
    attributes = {"api-region": "us-east-1", "region": "us-east-1"}
    kind = "kiro-idc"
    if kiro_wire.TOKENS[token]:
        attributes["profile-arn"] = kiro_wire.TOKENS[token]
        kind = "kiro-social"
    return {"type": kind, "plugboard": 1, "access_token": token, "refresh_token": f"aor-{email}",
            "expired": "2099-01-01T00:00:00Z", "email": email, "attributes": attributes}


@pytest.fixture
def auth_dir(tmp_path):
    auth = tmp_path / "auth"
    auth.mkdir()
    for token, email in [(TOKEN_A, "a@example.com"), (TOKEN_B, "b@example.com")]:
        (auth / f"kiro-{email}.json").write_text(json.dumps(account_file(token, email)))
    return auth


@pytest.fixture
def kiro(launch, mock, auth_dir):
    """A Plugboard whose `kiro` entry serves the two accounts of the auth dir, its `base`
    endpoint at the generation mock; the usage-limits read goes to the scripted auth
    service (as it would go to its own endpoint), so the generation mock sees only
    generation requests."""
    usage = KiroAuthService()
    entry = provider("kiro", "kiro", mock, [MODEL], **{"api-keys": [], "accounts": "auth-dir"})
    del entry["base-url"]
    entry["endpoints"] = {"base": mock.base_url, "usage": usage.endpoints()["usage"]}
    server = launch([entry], **{"auth-dir": str(auth_dir)})
    server.auth_dir = auth_dir
    yield server
    usage.close()


def statuses(mock) -> list[int]:
    return [r.status for r in mock.received]


def token(received) -> str:
    return received.headers["authorization"].removeprefix("Bearer ")


def current(received) -> dict:
    return received.body["conversationState"]["currentMessage"]["userInputMessage"]


def history(received) -> list:
    return received.body["conversationState"].get("history", [])


def openai_client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url + "/v1", api_key=server.api_key, max_retries=0, timeout=30)


def test_chat_completions_not_streamed_are_served_from_the_event_stream(kiro, mock):
    mock.queue(text("Paris.", input_tokens=20_000))

    answer = openai_client(kiro).chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "You are terse."},
                               {"role": "user", "content": "Capital of France?"}])

    assert answer.choices[0].message.content == "Paris."
    assert answer.choices[0].finish_reason == "stop"
    # contextUsagePercentage 10 % of the 200k window.
    assert answer.usage.prompt_tokens == 20_000
    assert statuses(mock) == [200]
    sent = mock.last()
    assert sent.path == kiro_wire.PATH
    assert current(sent)["content"] == "You are terse.\n\nCapital of France?"
    assert current(sent)["modelId"] == "claude-sonnet-4.6"
    assert sent.body.get("profileArn") == kiro_wire.TOKENS[token(sent)]


def test_chat_completions_streamed(kiro, mock):
    sentence = "The sky is clear over Paris today."
    mock.queue(text(sentence, pace=0.01))

    chunks = list(openai_client(kiro).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "Sky?"}], stream=True,
        stream_options={"include_usage": True}))

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == sentence
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    assert statuses(mock) == [200]


def test_anthropic_messages_streamed_with_a_tool_round_trip(kiro, mock):
    client = anthropic.Anthropic(base_url=kiro.base_url, api_key=kiro.api_key, max_retries=0, timeout=30)
    mock.queue(tool_call("get_weather", {"city": "Paris"}, preamble="Checking."))
    messages = [{"role": "user", "content": "Weather in Paris?"}]

    with client.messages.stream(model=MODEL, max_tokens=256, system="Be brief.", tools=[WEATHER],
                                messages=messages) as stream:
        first = stream.get_final_message()

    assert first.stop_reason == "tool_use"
    assert first.content[0].text == "Checking."
    [use] = [block for block in first.content if block.type == "tool_use"]
    assert (use.name, use.input) == ("get_weather", {"city": "Paris"})
    # The schema went out without the key Kiro refuses.
    spec = current(mock.last())["userInputMessageContext"]["tools"][0]["toolSpecification"]
    assert "additionalProperties" not in spec["inputSchema"]["json"]

    mock.queue(text("Sunny, 22°C."))
    messages += [{"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
                 {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "sunny, 22C"}]}]
    with client.messages.stream(model=MODEL, max_tokens=256, system="Be brief.", tools=[WEATHER],
                                messages=messages) as stream:
        second = stream.get_final_message()

    assert second.content[0].text == "Sunny, 22°C."
    assert statuses(mock) == [200, 200]
    sent = mock.last()
    [_, assistant] = history(sent)
    assert assistant["assistantResponseMessage"]["toolUses"] == [
        {"toolUseId": use.id, "name": "get_weather", "input": {"city": "Paris"}}]
    [result] = current(sent)["userInputMessageContext"]["toolResults"]
    assert (result["toolUseId"], result["content"], result["status"]) == (
        use.id, [{"text": "sunny, 22C"}], "success")


def test_thinking_comes_back_as_reasoning(kiro, mock):
    client = anthropic.Anthropic(base_url=kiro.base_url, api_key=kiro.api_key, max_retries=0, timeout=30)
    mock.queue(thinking_then_text("Compare the options.", "Take the train."))

    answer = client.messages.create(model=MODEL, max_tokens=4096, thinking={"type": "enabled", "budget_tokens": 2048},
                                    messages=[{"role": "user", "content": "Train or plane?"}])

    assert [block.type for block in answer.content] == ["thinking", "text"]
    assert answer.content[0].thinking == "Compare the options."
    assert answer.content[1].text == "Take the train."
    assert current(mock.last())["content"].startswith(
        "<thinking_mode>enabled</thinking_mode><max_thinking_length>2048</max_thinking_length>")


def test_a_conversation_opening_with_the_assistant_is_accepted(kiro, mock):
    mock.queue(text("Sure."))

    answer = openai_client(kiro).chat.completions.create(model=MODEL, messages=[
        {"role": "assistant", "content": "Hello! How can I help?"},
        {"role": "user", "content": "Say sure."}])

    assert answer.choices[0].message.content == "Sure."
    assert statuses(mock) == [200]
    [user, assistant] = history(mock.last())
    assert user["userInputMessage"]["content"] == "."
    assert assistant["assistantResponseMessage"]["content"] == "Hello! How can I help?"


def test_consecutive_user_turns_are_accepted(kiro, mock):
    mock.queue(text("Both read."))

    answer = openai_client(kiro).chat.completions.create(model=MODEL, messages=[
        {"role": "user", "content": "first"}, {"role": "user", "content": "second"}])

    assert answer.choices[0].message.content == "Both read."
    assert statuses(mock) == [200]
    assert history(mock.last()) == []
    assert current(mock.last())["content"] == "first\n\nsecond"


def _good_state(**change) -> dict:
    state = {"chatTriggerType": "MANUAL", "conversationId": "c0ffee00-0000-4000-a000-000000000001",
             "agentTaskType": "vibe",
             "currentMessage": {"userInputMessage": {"content": "hi", "modelId": "claude-sonnet-4.5",
                                                     "origin": "AI_EDITOR"}}}
    state.update(change)
    return state


def _user(content, **context) -> dict:
    message = {"content": content, "modelId": "claude-sonnet-4.5", "origin": "AI_EDITOR"}
    if context:
        message["userInputMessageContext"] = context
    return {"userInputMessage": message}


def _assistant(content, uses=None) -> dict:
    message = {"content": content}
    if uses is not None:
        message["toolUses"] = uses
    return {"assistantResponseMessage": message}


LS = {"toolSpecification": {"name": "ls", "description": "List files.",
                            "inputSchema": {"json": {"type": "object", "properties": {}}}}}
USE = {"toolUseId": "tu_1", "name": "ls", "input": {}}
RESULT = {"toolUseId": "tu_1", "content": [{"text": "a.txt"}], "status": "success"}


@pytest.mark.parametrize("state, rule", [
    (_good_state(history=[_assistant("Hello!")]), "history starts with an assistant"),
    (_good_state(history=[_user("one"), _user("two"), _assistant("ok")]), "two user messages in a row"),
    (_good_state(history=[_user("one")]), "two user messages in a row"),
    (_good_state(history=[_user(""), _assistant("ok")]), "empty content"),
    (_good_state(currentMessage=_user("x", tools=[LS], toolResults=[RESULT])), "orphaned toolResult"),
    (_good_state(history=[_user("go"), _assistant("ok", [USE])], currentMessage=_user("x", tools=[LS])),
     "have no toolResults"),
    (_good_state(history=[_user("go"), _assistant("ok", [])]), "toolUses is empty"),
    (_good_state(history=[_user("go"), _assistant("ok", [USE])], currentMessage=_user("x", toolResults=[RESULT])),
     "without any tools declared"),
    (_good_state(currentMessage=_user("x", tools=[{"toolSpecification": {**LS["toolSpecification"], "name": "n" * 65}}])),
     "longer than 64"),
    (_good_state(currentMessage=_user("x", tools=[{"toolSpecification": {**LS["toolSpecification"], "inputSchema": {
        "json": {"type": "object", "additionalProperties": False}}}}])), "schema key additionalProperties"),
    (_good_state(chatTriggerType="AUTO"), "MANUAL"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_the_mock_refuses_what_kiro_refuses(mock, state, rule):
    """The strict mock itself: each conversation Kiro would refuse gets the generic
    "Improperly formed request." (the broken rule rides in `x-mock-rule`)."""
    url = mock.base_url + kiro_wire.PATH
    headers = {"authorization": f"Bearer {TOKEN_B}"}
    refused = httpx.post(url, json={"conversationState": state}, headers=headers, timeout=10)
    assert refused.status_code == 400, refused.text
    assert refused.json() == {"message": "Improperly formed request.", "reason": None}
    assert rule in refused.headers["x-mock-rule"], refused.headers["x-mock-rule"]
    good = _good_state(history=[_user("go"), _assistant("ok", [USE])],
                       currentMessage=_user("x", tools=[LS], toolResults=[RESULT]))
    answered = httpx.post(url, json={"conversationState": good}, headers=headers, timeout=10)
    assert answered.status_code == 200, answered.headers.get("x-mock-rule")
    assert answered.headers["content-type"] == "application/vnd.amazon.eventstream"


def test_the_mock_wants_its_bearer_its_profile_arn_and_a_known_model(mock):
    url = mock.base_url + kiro_wire.PATH
    body = {"conversationState": _good_state()}
    bearer = httpx.post(url, json=body, headers={"authorization": "Bearer not-issued"}, timeout=10)
    assert (bearer.status_code, bearer.json()["message"]) == (
        403, "The bearer token included in the request is invalid.")
    missing = httpx.post(url, json=body, headers={"authorization": f"Bearer {TOKEN_A}"}, timeout=10)
    assert missing.status_code == 400 and "profileArn is required" in missing.text
    extra = httpx.post(url, json={**body, "profileArn": kiro_wire.PROFILE_ARN_A},
                       headers={"authorization": f"Bearer {TOKEN_B}"}, timeout=10)
    assert extra.status_code == 403
    known = httpx.post(url, json=body, headers={"authorization": f"Bearer {TOKEN_B}"}, timeout=10)
    assert known.status_code == 200
    unknown = {"conversationState": _good_state(currentMessage={"userInputMessage": {
        "content": "x", "modelId": "claude-sonnet-4-5", "origin": "AI_EDITOR"}})}
    refused = httpx.post(url, json=unknown, headers={"authorization": f"Bearer {TOKEN_B}"}, timeout=10)
    assert (refused.status_code, refused.json()["reason"]) == (400, "INVALID_MODEL_ID")


def test_the_mock_answers_event_stream_frames_with_correct_crcs(mock):
    mock.queue(tool_call("ls", {"path": "."}, preamble="Listing."))
    answered = httpx.post(mock.base_url + kiro_wire.PATH, timeout=10,
                          json={"conversationState": _good_state(currentMessage=_user("x", tools=[LS]))},
                          headers={"authorization": f"Bearer {TOKEN_B}"})
    data, events = answered.content, []
    while data:
        total, headers_length = int.from_bytes(data[:4], "big"), int.from_bytes(data[4:8], "big")
        assert int.from_bytes(data[8:12], "big") == zlib.crc32(data[:8])
        assert int.from_bytes(data[total - 4:total], "big") == zlib.crc32(data[:total - 4])
        block, headers = data[12:12 + headers_length], {}
        while block:
            name_length = block[0]
            name = block[1:1 + name_length].decode()
            assert block[1 + name_length] == 7, "string headers only"
            value_length = int.from_bytes(block[2 + name_length:4 + name_length], "big")
            headers[name] = block[4 + name_length:4 + name_length + value_length].decode()
            block = block[4 + name_length + value_length:]
        events.append((headers[":event-type"], json.loads(data[12 + headers_length:total - 4])))
        data = data[total:]
    names = [name for name, _ in events]
    assert names[:2] == ["assistantResponseEvent"] * 2
    assert names[-2:] == ["meteringEvent", "contextUsageEvent"]
    tool = [payload for name, payload in events if name == "toolUseEvent"]
    assert tool[-1]["stop"] is True
    assert json.loads("".join(p.get("input", "") for p in tool)) == {"path": "."}


def test_a_suspended_account_is_disabled_with_its_reason_and_the_request_fails_over(kiro, mock):
    mock.queue(kiro_wire.suspended("u-suspended-1"), text("from the other account"))

    answer = openai_client(kiro).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

    assert answer.choices[0].message.content == "from the other account"
    refused, served = mock.received
    assert (refused.status, served.status) == (403, 200)
    assert token(refused) != token(served)
    # The suspended account's file says so, with Kiro's words.
    email = "a@example.com" if token(refused) == TOKEN_A else "b@example.com"
    stored = json.loads((kiro.auth_dir / f"kiro-{email}.json").read_text())
    assert stored["disabled"] is True
    assert "temporarily is suspended" in stored["disabled_reason"]
    assert "u-suspended-1" in stored["disabled_reason"]
    listed = kiro.cli("accounts", "list", "--config", str(kiro.config_path)).stdout
    [line] = [line for line in listed.splitlines() if email in line]
    assert "disabled" in line and "temporarily is suspended" in line, listed
    # It serves nothing more.
    for turn in ("again", "and again"):
        openai_client(kiro).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": turn}])
        assert token(mock.last()) == token(served)


def test_a_monthly_quota_cools_the_account_and_the_request_fails_over(kiro, mock):
    mock.queue(kiro_wire.monthly_quota(), text("from the other account"))

    answer = openai_client(kiro).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

    assert answer.choices[0].message.content == "from the other account"
    limited, served = mock.received
    assert (limited.status, served.status) == (402, 200)
    assert token(limited) != token(served)
    for turn in ("again", "and again"):
        openai_client(kiro).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": turn}])
        assert token(mock.last()) == token(served)
    stored = [json.loads(f.read_text()) for f in kiro.auth_dir.iterdir()]
    assert not any(account.get("disabled") for account in stored), "a quota cools, it does not disable"


def test_model_capacity_fails_over_and_so_does_the_same_throttle_inside_the_stream(kiro, mock):
    mock.queue(kiro_wire.capacity(), text("served"))
    answer = openai_client(kiro).chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content == "served"
    assert statuses(mock) == [429, 200]
    assert token(mock.received[0]) != token(mock.received[1])


def test_a_throttling_frame_inside_the_200_stream_fails_over_before_the_client_sees_a_byte(kiro, mock):
    mock.queue(kiro_wire.exception_mid_stream(after_events=0), text("recovered"))

    chunks = list(openai_client(kiro).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}], stream=True))

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "recovered"
    failed, served = mock.received
    assert (failed.status, served.status) == (200, 200)
    assert token(failed) != token(served)


def test_an_input_over_the_size_threshold_is_context_too_long_for_the_client(kiro, mock):
    client = openai_client(kiro)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=MODEL, messages=[
            {"role": "user", "content": "x" * (kiro_wire.SIZE_LIMIT + 1)}])
    assert refused.value.code == "context_length_exceeded"
    assert statuses(mock) == [400], "context too long is not retried on another account"


def test_an_invalid_bearer_is_refreshed_and_the_request_retried_once(launch, mock, tmp_path):
    """Kiro's 403 "The bearer token included in the request is invalid." on a token the
    file still calls fresh: the host refreshes it through the Kiro auth service (the
    accounts' scripted one) and sends the request again with the new token."""
    service = KiroAuthService()
    try:
        refresh = "aorRevokedSocialRefresh" + "r" * 100
        service.seed_social(refresh, SOCIAL_ARN)
        auth = tmp_path / "auth"
        auth.mkdir()
        revoked = {"type": "kiro-social", "plugboard": 1, "access_token": "kiro-revoked-access-token-0001",
                   "refresh_token": refresh, "expired": "2099-01-01T00:00:00Z", "email": "r@example.com",
                   "attributes": {"api-region": "us-east-1", "region": "us-east-1", "profile-arn": SOCIAL_ARN}}
        (auth / "kiro-r@example.com.json").write_text(json.dumps(revoked))
        entry = provider("kiro", "kiro", mock, [MODEL], **{"api-keys": [], "accounts": "auth-dir"})
        del entry["base-url"]
        entry["endpoints"] = {"base": mock.base_url, **service.endpoints()}
        server = launch([entry], **{"auth-dir": str(auth)})
        mock.queue(text("after the refresh"))

        answer = openai_client(server).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "hi"}])

        assert answer.choices[0].message.content == "after the refresh"
        refused, served = mock.received
        assert (refused.status, token(refused)) == (403, "kiro-revoked-access-token-0001")
        assert served.status == 200 and token(served) in ISSUED_TOKENS
        assert served.body["profileArn"] == SOCIAL_ARN
        # One refresh; the service also answers the account's usage-limits reads.
        assert [p for p in service.paths() if p != "/getUsageLimits"] == ["/refreshToken"]
    finally:
        service.close()
