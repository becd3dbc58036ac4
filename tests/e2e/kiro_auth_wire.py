"""Kiro's account services as a strict scripted server: the Kiro auth service (social
refresh), AWS SSO OIDC (client registration, device authorization, token: device grant
and refresh) and the two runtime calls about an account (`ListAvailableProfiles`,
`getUsageLimits`), each refusing what the real one refuses (facts:
shared/providers/copilot-kiro.md §B2-B4, §B11).

It runs on its own port (`KiroAuthService().base_url`): a provider entry points its
`refresh`, `register`, `device`, `token`, `profiles` and `usage` endpoints here (see
`endpoints()`), and its `base` at the generation mock (`kiro_wire`).

Tokens: every access token it hands out is put in `ISSUED_TOKENS` and given to
`kiro_wire.issue(token, profile_arn)`, so the generation mock accepts it (with exactly
that profile ARN in the request body, or none). The refresh tokens rotate: each refresh
answers a new one and the old one is dead (400 `invalid_grant`, "Invalid refresh token
provided", as the Kiro auth service says it).

Strictness:
- `POST /oauth/token` (the social code exchange): a JSON body that is exactly `{code,
  code_verifier, redirect_uri}`, the code one a test authorized with `authorize()`,
  the verifier whose S256 challenge the login URL carried, the same redirect URI.
- `POST /refreshToken`: a JSON body that is exactly `{"refreshToken": "<one it issued>"}`.
- `POST /client/register`: JSON, `clientName`, `clientType: public`, `scopes` (a
  non-empty list of `codewhisperer:` scopes), `grantTypes` naming the device code and
  refresh token grants.
- `POST /device_authorization`: the registered `clientId` and its `clientSecret`, a
  `startUrl`.
- `POST /token`: camelCase JSON only (a form body is refused); the registration's
  `clientId`/`clientSecret`; `grantType` the device code grant (400
  `{"error":"authorization_pending"}` `pending_polls` times, then tokens) or
  `refresh_token` (the refresh token must have been issued to that client).
- `POST /ListAvailableProfiles`: a bearer it issued and a body that is exactly `{}`
  (anything more: 400 `REQUEST_BODY_INVALID`).
- `GET /getUsageLimits`: a bearer it issued, `origin=AI_EDITOR`,
  `resourceType=AGENTIC_REQUEST`, and when `profileArn` is given, the token's.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import kiro_wire

# Access tokens this service handed out (all of them, social and OIDC).
ISSUED_TOKENS: set[str] = set()

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
BUILDER_ID_START_URL = "https://view.awsapps.com/start"
SOCIAL_ARN = "arn:aws:codewhisperer:us-east-1:111122223333:profile/KIROSOCIAL"
IDC_ARN = "arn:aws:codewhisperer:eu-central-1:444455556666:profile/KIROIDCEU"
LIFETIME_S = 3600


def usage_limits(title: str = "KIRO FREE") -> dict:
    """A `getUsageLimits` answer shaped as the service sends it: 16.34 of 50 credits, an
    active free trial (120.5 of 500) and one active bonus (10 of 100)."""
    return {
        "daysUntilReset": 12,
        "nextDateReset": 1767225600.0,
        "subscriptionInfo": {"subscriptionTitle": title, "type": "Q_DEVELOPER_STANDALONE_FREE"},
        "userInfo": {"email": "kiro-user@example.com", "userId": "d-9067642ac7.u-1"},
        "usageBreakdownList": [{
            "resourceType": "AGENTIC_REQUEST", "displayName": "Credit", "currency": "USD",
            "usageLimit": 50, "usageLimitWithPrecision": 50.0,
            "currentUsage": 16, "currentUsageWithPrecision": 16.34,
            "nextDateReset": 1767225600,
            "freeTrialInfo": {"freeTrialStatus": "ACTIVE", "freeTrialExpiry": 1766000000,
                              "usageLimit": 500, "usageLimitWithPrecision": 500.0,
                              "currentUsage": 120, "currentUsageWithPrecision": 120.5},
            "bonuses": [{"usageLimit": 100, "currentUsage": 10, "status": "ACTIVE"}],
        }],
    }


@dataclass
class Seen:
    """One request the service answered."""
    method: str
    path: str
    query: dict
    headers: dict
    body: object
    status: int = 0


@dataclass
class Client:
    """An OIDC client registration."""
    secret: str
    start_url: str | None = None


@dataclass
class Device:
    """A device authorization waiting for the user."""
    client_id: str
    polls: int = 0


@dataclass
class State:
    # Social refresh tokens it accepts, and the profile ARN of each account.
    social_refresh: dict = field(default_factory=dict)
    # OIDC clients by id.
    clients: dict = field(default_factory=dict)
    # OIDC refresh tokens it accepts, and the client each was issued to.
    oidc_refresh: dict = field(default_factory=dict)
    # Device codes started.
    devices: dict = field(default_factory=dict)
    # The profile ARN of each access token (None: none).
    token_arn: dict = field(default_factory=dict)
    # Social authorization codes: code -> (challenge, redirect URI, profile ARN).
    codes: dict = field(default_factory=dict)


class KiroAuthService:
    """The scripted services, on a port of their own."""

    def __init__(self, pending_polls: int = 2, idc_profile_arn: str | None = IDC_ARN) -> None:
        # How many device-grant polls answer `authorization_pending` before tokens.
        self.pending_polls = pending_polls
        # The profile an OIDC account lists (and whose ARN its tokens need); None: a
        # Builder ID account without one.
        self.idc_profile_arn = idc_profile_arn
        self.state = State()
        self.received: list[Seen] = []
        self._lock = threading.Lock()
        handler = type("Handler", (_Handler,), {"service": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def endpoints(self) -> dict:
        """The provider entry's `endpoints:` overrides that send every account call here."""
        return {
            "login": self.base_url + "/login",
            "social-token": self.base_url + "/oauth/token",
            "refresh": self.base_url + "/refreshToken",
            "register": self.base_url + "/client/register",
            "device": self.base_url + "/device_authorization",
            "token": self.base_url + "/token",
            "profiles": self.base_url + "/ListAvailableProfiles",
            "usage": self.base_url + "/getUsageLimits",
        }

    def seed_social(self, refresh_token: str, profile_arn: str = SOCIAL_ARN) -> None:
        """Accept `refresh_token` (one the Kiro IDE holds) for a social account."""
        self.state.social_refresh[refresh_token] = profile_arn

    def authorize(self, code: str, challenge: str, redirect_uri: str, profile_arn: str = SOCIAL_ARN) -> None:
        """The user signed in at the login page: `code` goes back to `redirect_uri`, to be
        exchanged with the verifier of `challenge`."""
        self.state.codes[code] = (challenge, redirect_uri, profile_arn)

    def seed_idc(self, client_id: str, client_secret: str, refresh_token: str) -> None:
        """Accept `refresh_token` from the registered client `client_id` (the Kiro IDE's
        registration file)."""
        self.state.clients[client_id] = Client(client_secret)
        self.state.oidc_refresh[refresh_token] = client_id

    def paths(self) -> list[str]:
        return [seen.path for seen in self.received]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # Token bookkeeping.

    def _issue(self, profile_arn: str | None) -> str:
        token = "aoa" + uuid.uuid4().hex + uuid.uuid4().hex
        ISSUED_TOKENS.add(token)
        self.state.token_arn[token] = profile_arn
        kiro_wire.issue(token, profile_arn)
        return token

    def _bearer(self, headers: dict) -> str | None:
        auth = headers.get("authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
        return token if token in ISSUED_TOKENS or token in kiro_wire.TOKENS else None

    def _arn_of(self, token: str) -> str | None:
        if token in self.state.token_arn:
            return self.state.token_arn[token]
        return kiro_wire.TOKENS.get(token)

    # Routes; each returns (status, body).

    def social_exchange(self, headers: dict, body) -> tuple[int, dict]:
        if not headers.get("content-type", "").startswith("application/json") or not isinstance(body, dict):
            return 400, {"message": "Expected a JSON body"}
        if set(body) != {"code", "code_verifier", "redirect_uri"}:
            return 400, {"message": "Invalid request", "fields": sorted(body)}
        grant = self.state.codes.pop(body["code"], None)
        if grant is None:
            return 400, {"error": "invalid_grant", "error_description": "Invalid authorization code"}
        challenge, redirect_uri, arn = grant
        digest = hashlib.sha256(str(body["code_verifier"]).encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
            return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
        if body["redirect_uri"] != redirect_uri:
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri mismatch"}
        refresh = "aor" + uuid.uuid4().hex * 3
        self.state.social_refresh[refresh] = arn
        return 200, {"accessToken": self._issue(arn), "refreshToken": refresh, "profileArn": arn,
                     "expiresIn": LIFETIME_S}

    def social_refresh(self, headers: dict, body) -> tuple[int, dict]:
        if not headers.get("content-type", "").startswith("application/json") or not isinstance(body, dict):
            return 400, {"message": "Expected a JSON body"}
        if set(body) != {"refreshToken"} or not isinstance(body["refreshToken"], str):
            return 400, {"message": "Invalid request: only `refreshToken` is expected", "fields": sorted(body)}
        arn = self.state.social_refresh.pop(body["refreshToken"], None)
        if arn is None:
            return 400, {"error": "invalid_grant", "error_description": "Invalid refresh token provided"}
        new_refresh = "aor" + uuid.uuid4().hex * 3
        self.state.social_refresh[new_refresh] = arn
        return 200, {"accessToken": self._issue(arn), "refreshToken": new_refresh,
                     "profileArn": arn, "expiresIn": LIFETIME_S}

    def register(self, body) -> tuple[int, dict]:
        invalid = _oidc_error("invalid_request", "InvalidRequestException")
        if not isinstance(body, dict):
            return invalid
        scopes, grants = body.get("scopes"), body.get("grantTypes")
        if (not body.get("clientName") or body.get("clientType") != "public"
                or not isinstance(scopes, list) or not scopes
                or not all(isinstance(s, str) and s.startswith("codewhisperer:") for s in scopes)
                or not isinstance(grants, list) or DEVICE_GRANT not in grants or "refresh_token" not in grants):
            return invalid
        client_id = "kiro-client-" + uuid.uuid4().hex[:12]
        secret = "kiro-secret-" + uuid.uuid4().hex
        self.state.clients[client_id] = Client(secret)
        return 200, {"clientId": client_id, "clientSecret": secret, "clientIdIssuedAt": 1767225600,
                     "clientSecretExpiresAt": 1774915200}

    def _client(self, body) -> tuple[str | None, tuple | None]:
        if not isinstance(body, dict):
            return None, _oidc_error("invalid_request", "InvalidRequestException")
        client = self.state.clients.get(body.get("clientId"))
        if client is None or body.get("clientSecret") != client.secret:
            return None, _oidc_error("invalid_client", "InvalidClientException", 401)
        return body["clientId"], None

    def device_authorization(self, body) -> tuple[int, dict]:
        client_id, refused = self._client(body)
        if refused:
            return refused
        start_url = body.get("startUrl")
        if not isinstance(start_url, str) or not start_url.startswith("https://"):
            return _oidc_error("invalid_request", "InvalidRequestException")
        self.state.clients[client_id].start_url = start_url
        device_code = "dev-" + uuid.uuid4().hex
        self.state.devices[device_code] = Device(client_id)
        return 200, {"deviceCode": device_code, "userCode": "KIRO-1234",
                     "verificationUri": "https://device.sso.us-east-1.amazonaws.com/",
                     "verificationUriComplete": "https://device.sso.us-east-1.amazonaws.com/?user_code=KIRO-1234",
                     "expiresIn": 600, "interval": 1}

    def token(self, headers: dict, body) -> tuple[int, dict]:
        if not headers.get("content-type", "").startswith("application/json"):
            return _oidc_error("invalid_request", "InvalidRequestException")
        client_id, refused = self._client(body)
        if refused:
            return refused
        grant = body.get("grantType")
        if grant == DEVICE_GRANT:
            device = self.state.devices.get(body.get("deviceCode"))
            if device is None or device.client_id != client_id:
                return _oidc_error("invalid_grant", "InvalidGrantException")
            device.polls += 1
            if device.polls <= self.pending_polls:
                return _oidc_error("authorization_pending", "AuthorizationPendingException")
            del self.state.devices[body["deviceCode"]]
            return 200, self._oidc_tokens(client_id)
        if grant == "refresh_token":
            if self.state.oidc_refresh.get(body.get("refreshToken")) != client_id:
                return _oidc_error("invalid_grant", "InvalidGrantException")
            del self.state.oidc_refresh[body["refreshToken"]]
            return 200, self._oidc_tokens(client_id)
        return _oidc_error("unsupported_grant_type", "UnsupportedGrantTypeException")

    def _oidc_tokens(self, client_id: str) -> dict:
        refresh = "aor" + uuid.uuid4().hex * 3
        self.state.oidc_refresh[refresh] = client_id
        return {"accessToken": self._issue(self.idc_profile_arn), "tokenType": "Bearer",
                "expiresIn": LIFETIME_S, "refreshToken": refresh}

    def list_profiles(self, headers: dict, raw: bytes) -> tuple[int, dict]:
        token = self._bearer(headers)
        if token is None:
            return 403, {"message": "The bearer token included in the request is invalid.", "reason": None}
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            body = None
        if body != {}:
            return 400, {"message": "Request body is invalid.", "reason": "REQUEST_BODY_INVALID"}
        arn = self._arn_of(token)
        profiles = [] if arn is None else [{"arn": arn, "profileName": "KiroProfile-" + arn.split(":")[3]}]
        return 200, {"profiles": profiles, "nextToken": None}

    def get_usage_limits(self, headers: dict, query: dict) -> tuple[int, dict]:
        token = self._bearer(headers)
        if token is None:
            return 403, {"message": "The bearer token included in the request is invalid.", "reason": None}
        if query.get("origin") != ["AI_EDITOR"] or query.get("resourceType") != ["AGENTIC_REQUEST"]:
            return 400, {"message": "Improperly formed request.", "reason": None}
        if "profileArn" in query and query["profileArn"] != [self._arn_of(token)]:
            return 403, {"message": "The bearer token included in the request is invalid.", "reason": None}
        return 200, usage_limits()


def _oidc_error(code: str, exception: str, status: int = 400) -> tuple[int, dict]:
    """An AWS SSO OIDC error answer (`error` plus the SDK's exception name)."""
    return status, {"error": code, "error_description": f"{exception}: {code}"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    service: KiroAuthService

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass

    def do_POST(self):
        self._handle("POST")

    def do_GET(self):
        self._handle("GET")

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        query = parse_qs(url.query)
        seen = Seen(method, url.path, query, headers, body)
        service = self.service
        with service._lock:
            routes = {
                ("POST", "/oauth/token"): lambda: service.social_exchange(headers, body),
                ("POST", "/refreshToken"): lambda: service.social_refresh(headers, body),
                ("POST", "/client/register"): lambda: service.register(body),
                ("POST", "/device_authorization"): lambda: service.device_authorization(body),
                ("POST", "/token"): lambda: service.token(headers, body),
                ("POST", "/ListAvailableProfiles"): lambda: service.list_profiles(headers, raw),
                ("GET", "/getUsageLimits"): lambda: service.get_usage_limits(headers, query),
            }
            route = routes.get((method, url.path))
            status, answer = route() if route else (404, {"message": "not found"})
            seen.status = status
            service.received.append(seen)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
