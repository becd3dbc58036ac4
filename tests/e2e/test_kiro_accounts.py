"""Stories of Kiro accounts against the strict scripted Kiro auth service, AWS SSO OIDC
and runtime listing of `kiro_auth_wire`, with the generation mock of `kiro_wire` behind
them: the Kiro IDE's token file imported (a social login, and a Builder ID login with
its `<clientIdHash>.json` registration beside it) and refreshed on first use or on
demand, a Builder ID device login end to end (registration, pending polls, profile
discovery), and a GitHub login through the Kiro auth service (PKCE, pasted redirect). Every token the generation mock accepts is one the auth mock issued, so a
request that succeeds proves the refresh (or login) went through.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import openai
import pytest

import kiro_auth_wire
import kiro_wire
from kiro_auth_wire import BUILDER_ID_START_URL, DEVICE_GRANT, IDC_ARN, SOCIAL_ARN, KiroAuthService
from plugboard_server import BINARY, Plugboard, provider

MODEL = "claude-sonnet-4-5"
# The Kiro IDE's refresh tokens (the auth mock is told to accept them).
IDE_SOCIAL_REFRESH = "aorIdeSocialRefresh" + "x" * 100
IDE_IDC_REFRESH = "aorIdeIdcRefresh" + "y" * 100
# The Kiro IDE's client registration (`<clientIdHash>.json`).
IDE_CLIENT_ID, IDE_CLIENT_SECRET = "ide-registered-client", "ide-registered-secret"
CLIENT_ID_HASH = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"


@pytest.fixture
def auth():
    service = KiroAuthService()
    yield service
    service.close()


@pytest.fixture
def plugboard(tmp_path, mock, auth):
    """A Plugboard configured (not yet started) with one `kiro` entry on the auth dir:
    its `base` at the generation mock, every account endpoint at the auth mock."""
    servers: list[Plugboard] = []

    def make() -> Plugboard:
        auth_dir = tmp_path / "auth"
        auth_dir.mkdir(exist_ok=True)
        entry = provider("kiro", "kiro", mock, [MODEL], **{"api-keys": [], "accounts": "auth-dir"})
        del entry["base-url"]
        entry["endpoints"] = {"base": mock.base_url, **auth.endpoints()}
        workdir = tmp_path / "plugboard"
        workdir.mkdir()
        server = Plugboard(workdir, [entry], **{"auth-dir": str(auth_dir)})
        server.config_path.write_text(json.dumps(server.config, indent=2))
        server.auth_dir = auth_dir
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def cli(server: Plugboard, *args: str) -> str:
    done = server.cli(*args, "--config", str(server.config_path))
    assert done.returncode == 0, f"plugboard {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def added_id(output: str) -> str:
    [account] = re.findall(r"(?:added|updated) `([^`]+)`", output)
    return account


def stored(server: Plugboard, account: str) -> dict:
    return json.loads((server.auth_dir / f"{account}.json").read_text())


def ask(server: Plugboard, text: str) -> str:
    client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=server.api_key, max_retries=0, timeout=60)
    answer = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}])
    return answer.choices[0].message.content


def bearer(received) -> str:
    return received.headers["authorization"].removeprefix("Bearer ")


def ide_files(directory, **token) -> str:
    """The Kiro IDE's `~/.aws/sso/cache` as it leaves it: the token file (expired long
    ago), and for an IdC login the client registration its `clientIdHash` names."""
    directory.mkdir()
    base = {"accessToken": "aoaExpiredIdeAccess" + "z" * 60, "expiresAt": "2025-01-01T00:00:00.000Z",
            "region": "us-east-1"}
    path = directory / "kiro-auth-token.json"
    path.write_text(json.dumps({**base, **token}))
    if "clientIdHash" in token:
        (directory / f"{CLIENT_ID_HASH}.json").write_text(json.dumps(
            {"clientId": IDE_CLIENT_ID, "clientSecret": IDE_CLIENT_SECRET, "expiresAt": "2099-01-01T00:00:00.000Z"}))
    return str(path)


def test_an_imported_ide_social_token_refreshes_through_the_kiro_auth_service_on_first_use(
        plugboard, mock, auth, tmp_path):
    auth.seed_social(IDE_SOCIAL_REFRESH, SOCIAL_ARN)
    source = ide_files(tmp_path / "sso-cache", refreshToken=IDE_SOCIAL_REFRESH, authMethod="social",
                       provider="Github", profileArn=SOCIAL_ARN)
    before = open(source, "rb").read()
    server = plugboard()

    imported = cli(server, "accounts", "import", source)
    account = added_id(imported)
    assert "(kiro-social)" in imported and "(Kiro)" in imported, imported
    server.start()

    assert ask(server, "hello") == "echo: hello"

    # One refresh, with the IDE's refresh token (ahead of the first use or by it), then
    # the request and the usage-limits read with the new token.
    assert auth.paths().count("/refreshToken") == 1, auth.paths()
    [refresh] = [seen for seen in auth.received if seen.path == "/refreshToken"]
    assert refresh.body == {"refreshToken": IDE_SOCIAL_REFRESH}
    assert refresh.status == 200
    sent = mock.last()
    assert sent.status == 200
    assert bearer(sent) in kiro_auth_wire.ISSUED_TOKENS
    assert sent.body["profileArn"] == SOCIAL_ARN
    # The rotated refresh token is stored (the old one is dead), in a file CLIProxyAPI reads.
    file = stored(server, account)
    assert file["type"] == "kiro" and file["auth_method"] == "social"
    assert file["refresh_token"] != IDE_SOCIAL_REFRESH
    assert file["refresh_token"] in auth.state.social_refresh
    assert file["profile_arn"] == SOCIAL_ARN
    assert file["attributes"]["api-region"] == "us-east-1"
    # The IDE's file is left as it was.
    assert open(source, "rb").read() == before
    # The usage limits read with the new token show in `accounts list`: the plan, the free
    # trial and the bonus together (16.34 + 120.5 + 10 of 50 + 500 + 100 credits).
    deadline, listed = time.monotonic() + 15, ""
    while time.monotonic() < deadline and "AGENTIC_REQUEST" not in listed:
        listed = cli(server, "accounts", "list")
        time.sleep(0.5)
    assert "AGENTIC_REQUEST 146.84/650 credits" in listed, listed
    usage = next(seen for seen in auth.received if seen.path == "/getUsageLimits")
    assert bearer(usage) in kiro_auth_wire.ISSUED_TOKENS
    assert usage.query["profileArn"] == [SOCIAL_ARN]


def test_an_imported_ide_builder_id_token_refreshes_through_oidc_with_its_registration(
        plugboard, mock, auth, tmp_path):
    auth.idc_profile_arn = None  # a Builder ID account: no profile, none sent
    auth.seed_idc(IDE_CLIENT_ID, IDE_CLIENT_SECRET, IDE_IDC_REFRESH)
    source = ide_files(tmp_path / "sso-cache", refreshToken=IDE_IDC_REFRESH, authMethod="IdC",
                       provider="BuilderId", clientIdHash=CLIENT_ID_HASH)
    server = plugboard()

    imported = cli(server, "accounts", "import", source)
    account = added_id(imported)
    assert "(kiro-idc)" in imported, imported
    refreshed = cli(server, "accounts", "refresh", account)
    assert f"refreshed `{account}`" in refreshed
    # `accounts refresh` reads the account's usage limits too, with the new token.
    assert "AGENTIC_REQUEST 146.84/650 credits" in refreshed, refreshed
    assert auth.paths() == ["/token", "/getUsageLimits"], auth.paths()

    refresh = auth.received[0]
    assert (refresh.path, refresh.status) == ("/token", 200)
    assert refresh.headers["content-type"].startswith("application/json")
    assert refresh.body == {"clientId": IDE_CLIENT_ID, "clientSecret": IDE_CLIENT_SECRET,
                            "refreshToken": IDE_IDC_REFRESH, "grantType": "refresh_token"}
    file = stored(server, account)
    assert file["type"] == "kiro" and file["auth_method"] == "IdC"
    assert file["client_id"] == IDE_CLIENT_ID
    assert auth.state.oidc_refresh[file["refresh_token"]] == IDE_CLIENT_ID

    server.start()
    assert ask(server, "after the refresh") == "echo: after the refresh"
    sent = mock.last()
    assert bearer(sent) == file["access_token"]
    assert "profileArn" not in sent.body
    assert auth.paths().count("/token") == 1, "the refreshed token was still fresh"


def test_a_builder_id_device_login_registers_polls_and_finds_the_profile(plugboard, mock, auth):
    server = plugboard()

    done = server.cli("login", "kiro", "--type", "kiro-idc", "--no-browser", "--config", str(server.config_path))

    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "KIRO-1234" in done.stderr
    account = re.search(r"account `([^`]+)` added \(kiro-idc", done.stdout).group(1)
    assert auth.paths() == ["/client/register", "/device_authorization", "/token", "/token", "/token",
                            "/ListAvailableProfiles"]
    register, start, *polls, profiles = auth.received
    assert register.body["clientType"] == "public" and DEVICE_GRANT in register.body["grantTypes"]
    client_id = start.body["clientId"]
    assert start.body["startUrl"] == BUILDER_ID_START_URL
    assert [p.status for p in polls] == [400, 400, 200]
    assert all(p.body["grantType"] == DEVICE_GRANT and p.body["clientId"] == client_id for p in polls)
    assert profiles.status == 200 and profiles.headers["authorization"].startswith("Bearer aoa")

    file = stored(server, account)
    assert file["type"] == "kiro" and file["auth_method"] == "idc"
    assert file["client_id"] == client_id
    assert file["client_secret"] == auth.state.clients[client_id].secret
    assert file["profile_arn"] == IDC_ARN
    assert file["start_url"] == BUILDER_ID_START_URL
    assert file["region"] == "us-east-1"
    assert file["attributes"]["api-region"] == "eu-central-1", "the API region is the profile's"

    server.start()
    assert ask(server, "logged in") == "echo: logged in"
    assert mock.last().body["profileArn"] == IDC_ARN


def test_a_github_login_through_the_kiro_auth_service_keeps_the_profile_it_answers(plugboard, mock, auth):
    server = plugboard()
    login = subprocess.Popen(
        [str(BINARY), "login", "kiro", "--type", "kiro-social", "--no-browser", "--input", "idp=Github",
         "--config", str(server.config_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=server.workdir)
    try:
        shown = ""
        while "Open this URL to log in: " not in shown:
            line = login.stderr.readline()
            assert line, f"the login ended before showing its URL: {shown}"
            shown = line
        url = urlsplit(shown.split("Open this URL to log in: ", 1)[1].strip())
        params = {name: values[0] for name, values in parse_qs(url.query).items()}
        assert url.path == "/login"
        assert params["idp"] == "Github" and params["code_challenge_method"] == "S256"
        assert params["redirect_uri"] == "http://localhost:9876/oauth/callback"
        assert params["prompt"] == "select_account"
        # The user signs in; the browser ends on the redirect, which is pasted.
        auth.authorize("kiro-code-1", params["code_challenge"], params["redirect_uri"])
        out, err = login.communicate(f"{params['redirect_uri']}?code=kiro-code-1&state={params['state']}\n",
                                     timeout=120)
    finally:
        login.kill()
    assert login.returncode == 0, f"{out}\n{err}"
    account = re.search(r"account `([^`]+)` added \(kiro-social", out).group(1)
    [exchange] = auth.received
    assert (exchange.path, exchange.status) == ("/oauth/token", 200)
    assert set(exchange.body) == {"code", "code_verifier", "redirect_uri"}
    assert auth.paths() == ["/oauth/token"], "the answer's profile ARN needs no listing"
    file = stored(server, account)
    assert (file["type"], file["auth_method"], file["profile_arn"]) == ("kiro", "social", SOCIAL_ARN)

    server.start()
    assert ask(server, "social") == "echo: social"
    assert mock.last().body["profileArn"] == SOCIAL_ARN


def test_the_auth_mock_refuses_what_the_services_refuse(auth):
    auth.seed_social("aor-one")
    url = auth.base_url
    first = httpx.post(url + "/refreshToken", json={"refreshToken": "aor-one"}).json()
    assert first["profileArn"] == SOCIAL_ARN and first["expiresIn"] == 3600
    # The old refresh token died with the rotation.
    dead = httpx.post(url + "/refreshToken", json={"refreshToken": "aor-one"})
    assert (dead.status_code, dead.json()["error"]) == (400, "invalid_grant")
    extra = httpx.post(url + "/refreshToken", json={"refreshToken": first["refreshToken"], "grant_type": "x"})
    assert extra.status_code == 400

    registered = httpx.post(url + "/client/register", json={
        "clientName": "Kiro IDE", "clientType": "public", "scopes": ["codewhisperer:completions"],
        "grantTypes": [DEVICE_GRANT, "refresh_token"]}).json()
    form = httpx.post(url + "/token", data={"clientId": registered["clientId"], "grantType": "refresh_token"})
    assert form.status_code == 400
    wrong = httpx.post(url + "/token", json={"clientId": registered["clientId"], "clientSecret": "guess",
                                             "grantType": "refresh_token", "refreshToken": "x"})
    assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_client")

    token = first["accessToken"]
    assert token in kiro_wire.TOKENS, "the generation mock accepts what the auth mock issues"
    headers = {"authorization": f"Bearer {token}"}
    more = httpx.post(url + "/ListAvailableProfiles", headers=headers, json={"maxResults": 10})
    assert (more.status_code, more.json()["reason"]) == (400, "REQUEST_BODY_INVALID")
    listed = httpx.post(url + "/ListAvailableProfiles", headers=headers, json={}).json()
    assert [p["arn"] for p in listed["profiles"]] == [SOCIAL_ARN]

    query = {"origin": "AI_EDITOR", "resourceType": "AGENTIC_REQUEST", "profileArn": SOCIAL_ARN}
    assert httpx.get(url + "/getUsageLimits", params=query).status_code == 403
    limits = httpx.get(url + "/getUsageLimits", params=query, headers=headers)
    assert limits.json()["subscriptionInfo"]["subscriptionTitle"] == "KIRO FREE"
    other = httpx.get(url + "/getUsageLimits", params={**query, "profileArn": IDC_ARN}, headers=headers)
    assert other.status_code == 403
    assert httpx.get(url + "/getUsageLimits", params={"origin": "AI_EDITOR"}, headers=headers).status_code == 400
