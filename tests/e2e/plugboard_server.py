"""Starts a real `plugboard serve` for a test: writes its config, waits for `/healthz`,
keeps its log, and stops it. Builds nothing: `just test` builds the binary and the
components first."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from mock_upstream import ANTHROPIC_KEY, GEMINI_KEY, OPENAI_KEY, MockUpstream

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
BINARY = Path(os.environ.get("PLUGBOARD_BIN", TARGET / "debug" / "plugboard"))
ADAPTERS = TARGET / "adapters"
TEST_ADAPTERS = TARGET / "test-adapters"
# The compile cache every server shares (the Rust stories' `shared_compile_cache` too):
# entries are content-addressed, sealed and written atomically, so each component
# compiles once per build rather than once per story. A story about the cache itself
# passes its own `cache-dir`. Entries older than two days go, so it does not grow with
# every rebuild of the components.
COMPILE_CACHE = TARGET / "tmp" / "compile-cache"
for _entry in COMPILE_CACHE.glob("*.cwasm"):
    try:
        if time.time() - _entry.stat().st_mtime > 2 * 86_400:
            _entry.unlink()
    except OSError:
        pass

CLIENT_KEY = "sk-plugboard-e2e"
SECOND_CLIENT_KEY = "sk-plugboard-e2e-second"

# Servers alive right now, so a failing test can show their logs.
LIVE: list["Plugboard"] = []

# What every server logs unless RUST_LOG says otherwise: Plugboard and the HTTP stack at
# trace (where a header or a body would show), everything else at info (the wasm
# compiler's trace would only make the suite slow). Each server's log is then checked
# for every secret it was given (`Plugboard.stop`), so the whole suite proves that no
# key or token reaches a log line at the most verbose level.
TRACE_FILTER = "plugboard=trace,hyper=trace,hyper_util=trace,reqwest=trace,axum=trace,tower=trace,info"

# Config keys whose string values are secrets (and every string under them).
SECRET_KEYS = ("api-keys", "key", "secret", "token", "password", "access_token", "refresh_token", "id_token",
               "accessToken", "refreshToken", "clientSecret", "client_secret", "api_key")


def secrets_in(value, under_secret: bool = False) -> set[str]:
    """The secret strings in a config or credential document: values of secret-named
    keys (at any depth). Short strings (under 8 characters) are left out: they are
    stand-ins too common to mean anything in a log (`k`)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            secret = key in SECRET_KEYS or any(word in key.lower() for word in ("secret", "token", "password"))
            found |= secrets_in(item, under_secret or secret)
    elif isinstance(value, list):
        for item in value:
            found |= secrets_in(item, under_secret)
    elif isinstance(value, str) and under_secret and len(value) >= 8:
        found.add(value)
    return found


def built(path: Path) -> Path:
    """`path`, which `just test` should have built; a clear failure when it did not."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `just test` (it builds the host and the components first)")
    return path


def provider(name: str, adapter: str, mock: MockUpstream, models: list, fixups: list | None = None, **extra) -> dict:
    """A provider entry pointing at the mock upstream in the adapter's dialect. Base URLs
    are shaped like the real ones: Anthropic's and Gemini's without a version, OpenAI's
    (Chat and Responses) ending in `/v1`."""
    base_url, key = {
        "anthropic": (mock.base_url, ANTHROPIC_KEY),
        "gemini": (mock.base_url, GEMINI_KEY),
    }.get(adapter, (mock.base_url + "/v1", OPENAI_KEY))
    entry = {"name": name, "adapter": adapter, "base-url": base_url, "api-keys": [key], "models": models}
    if fixups is not None:
        entry["fixups"] = fixups
    entry.update(extra)
    return entry


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Plugboard:
    """One running `plugboard serve`."""

    def __init__(self, workdir: Path, providers: list, adapters_dir: Path = ADAPTERS, **settings) -> None:
        self.workdir = workdir
        self.adapters_dir = adapters_dir
        self.port = free_port()
        self.config = {
            "listen": f"127.0.0.1:{self.port}",
            "api-keys": [CLIENT_KEY, SECOND_CLIENT_KEY],
            "adapters-dir": str(adapters_dir),
            "cache-dir": str(COMPILE_CACHE),
            "providers": providers,
            # The usage store in the story's own directory, unless the story says where.
            "usage": {"path": str(workdir / "usage.db")},
            **settings,
        }
        self.config_path = workdir / "config.yaml"
        self.log_path = workdir / "plugboard.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_key(self) -> str:
        return CLIENT_KEY

    def start(self, ready_within: float = 60.0) -> "Plugboard":
        built(BINARY)
        # JSON is YAML: no YAML writer needed, and the file stays exact.
        self.config_path.write_text(json.dumps(self.config, indent=2))
        log = open(self.log_path, "wb")
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", TRACE_FILTER), "NO_COLOR": "1"}
        self.proc = subprocess.Popen(
            [str(BINARY), "serve", "--config", str(self.config_path)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, cwd=self.workdir,
        )
        LIVE.append(self)
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"plugboard exited with {self.proc.returncode} before it was ready:\n{self.log_text()}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"plugboard was not ready within {ready_within}s:\n{self.log_text()}")

    def health(self) -> dict:
        return httpx.get(self.base_url + "/healthz", timeout=5.0).json()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Run the `plugboard` binary with these arguments (e.g. `adapters list`)."""
        return subprocess.run([str(BINARY), *args], capture_output=True, text=True, timeout=120, cwd=self.workdir)

    def loaded_providers(self) -> set[str]:
        """Ids of the provider adapters in this server's adapters directory (`adapters list`)."""
        listed = self.cli("adapters", "list", "--adapters", str(self.adapters_dir)).stdout
        return {line.split()[1] for line in listed.splitlines() if line.startswith("provider ")}

    def secrets(self) -> set[str]:
        """Every secret this server was given: its config's keys, and the tokens of the
        account files in its `auth-dir` as they are now (refreshed ones included)."""
        found = secrets_in(self.config) | {CLIENT_KEY, SECOND_CLIENT_KEY}
        auth_dir = self.config.get("auth-dir")
        if auth_dir and Path(auth_dir).is_dir():
            for path in Path(auth_dir).glob("*.json"):
                try:
                    found |= secrets_in(json.loads(path.read_text()))
                except (OSError, ValueError):
                    pass
        return found

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self in LIVE:
            LIVE.remove(self)
        self.assert_no_secret_logged()

    def assert_no_secret_logged(self) -> None:
        """Fail when the log holds any secret this server was given (named by where it
        came from, never printed)."""
        log = self.log_text()
        leaked = [secret for secret in self.secrets() if secret in log]
        if leaked:
            hints = ", ".join(f"{secret[:3]}…({len(secret)} chars)" for secret in leaked)
            raise AssertionError(f"{len(leaked)} secret(s) in the log {self.log_path}: {hints}")
