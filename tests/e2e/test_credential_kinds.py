"""Stories of credential kinds: one adapter, accounts of two kinds. The `anthropic`
adapter declares `api-key` (placed in `x-api-key`) and `claude-oauth` (a subscription's
OAuth token, placed as a bearer with the OAuth beta flag); an entry with one account of
each serves both in one run, and the upstream sees each placement. The mock refuses a
bearer without the beta flag and an OAuth token in `x-api-key`, as the real API does."""

import json

import anthropic
import pytest

from anthropic_wire import API_KEY, OAUTH_BETA, OAUTH_TOKEN
from plugboard_server import provider

MODEL = "claude-kinds-1"


@pytest.fixture
def two_kinds(launch, mock):
    """One Anthropic entry: its `api-keys` account, then a named `claude-oauth` one."""
    server = launch([
        provider(
            "claude", "anthropic", mock, [MODEL],
            accounts=[{"name": "max-plan", "kind": "claude-oauth", "secret": OAUTH_TOKEN}],
        ),
    ])
    return anthropic.Anthropic(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=30)


def ask(client, text, **extra):
    return client.messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": text}], **extra
    )


def test_an_account_of_each_kind_is_placed_its_own_way(two_kinds, mock):
    first = ask(two_kinds, "first")
    second = ask(two_kinds, "second")

    assert first.content[0].text == "echo: first"
    assert second.content[0].text == "echo: second"
    key_request, oauth_request = mock.received
    assert key_request.status == oauth_request.status == 200
    assert key_request.headers["x-api-key"] == API_KEY
    assert "authorization" not in key_request.headers
    assert OAUTH_BETA not in key_request.headers.get("anthropic-beta", "")
    assert oauth_request.headers["authorization"] == f"Bearer {OAUTH_TOKEN}"
    assert "x-api-key" not in oauth_request.headers
    assert OAUTH_BETA in oauth_request.headers["anthropic-beta"].split(",")


def test_the_oauth_beta_joins_the_betas_the_client_sent(two_kinds, mock):
    ask(two_kinds, "one")
    ask(two_kinds, "two", extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"})

    oauth_request = mock.received[1]
    betas = oauth_request.headers["anthropic-beta"].split(",")
    assert sorted(b.strip() for b in betas) == sorted([OAUTH_BETA, "interleaved-thinking-2025-05-14"])


def test_an_account_naming_a_kind_the_adapter_lacks_is_named_at_start_and_per_request(launch, mock):
    server = launch([
        provider("claude", "anthropic", mock, [MODEL], **{
            "api-keys": [], "accounts": [{"name": "x", "kind": "no-such-kind", "secret": "s"}],
        }),
    ])
    log = server.log_text()
    assert "no-such-kind" in log and "claude-oauth" in log, "the warning lists the kinds the adapter has"
    client = anthropic.Anthropic(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=30)

    with pytest.raises(anthropic.InternalServerError) as refused:
        ask(client, "hi")
    assert "no-such-kind" in refused.value.message
    assert "s" not in refused.value.message.split(), "never the secret"
    assert mock.received == [], "nothing leaves without a placement"


def test_a_cliproxyapi_claude_file_in_the_auth_dir_serves_as_it_is(launch, mock, tmp_path):
    """A user points `auth-dir` at their CLIProxyAPI folder: its `claude` file (with
    every key CLIProxyAPI writes, some Plugboard does not know) is a `claude-oauth`
    account of the `anthropic` entry, placed as a bearer with the OAuth beta; the file
    is left exactly as it was."""
    auth = tmp_path / "cli-proxy-api"
    auth.mkdir()
    original = json.dumps({
        "type": "claude",
        "id_token": "",
        "access_token": OAUTH_TOKEN,
        "refresh_token": "sk-ant-ort01-not-used-here-0123456789",
        "last_refresh": "2026-12-06T09:00:00Z",
        "email": "me@example.com",
        "account_uuid": "0d1c6a4e-0000-4000-8000-000000000001",
        "organization_uuid": "0d1c6a4e-0000-4000-8000-000000000002",
        "organization_name": "me@example.com's Organization",
        "claude_device_ids": ["ab" * 32],
        "expired": "2099-01-01T00:00:00Z",
        "disabled": False,
    }, indent=2)
    (auth / "claude-me@example.com.json").write_text(original)
    server = launch(
        [provider("claude", "anthropic", mock, [MODEL], **{"api-keys": [], "accounts": "auth-dir"})],
        **{"auth-dir": str(auth)},
    )
    client = anthropic.Anthropic(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=30)

    reply = ask(client, "from my subscription")

    assert reply.content[0].text == "echo: from my subscription"
    (seen,) = mock.received
    assert seen.headers["authorization"] == f"Bearer {OAUTH_TOKEN}"
    assert "x-api-key" not in seen.headers
    assert OAUTH_BETA in seen.headers["anthropic-beta"].split(",")
    assert (auth / "claude-me@example.com.json").read_text() == original
    assert OAUTH_TOKEN not in server.log_text()
