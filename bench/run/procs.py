"""Child processes of a benchmark run: started, waited on, measured and always stopped.

Every server the run starts goes through `Spawned`, so an interrupted or failed run
never leaves a mock, proxy or peer behind (each is stopped by its own pid).
"""

from __future__ import annotations

import atexit
import os
import resource
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

_RUNNING: list["Spawned"] = []


class StartFailed(RuntimeError):
    """A server did not come up; the message says why (and quotes its log)."""


class Spawned:
    """A server process: its pid, its log file, and the address it announced."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict | None = None,
                 cwd: Path | None = None):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        )
        self.announced: str | None = None
        _RUNNING.append(self)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_announced(self, timeout_s: float = 30.0) -> str:
        """Waits for the `listening on ADDR` line the harness binaries print; returns ADDR.

        Other stdout lines (a peer's own logging) are copied to the log and skipped.
        """
        found: list[str] = []

        def read() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                line = raw.decode(errors="replace").strip()
                if line.startswith("listening on "):
                    found.append(line.removeprefix("listening on ").strip())
                    break
                self._log.write(raw)
            # Keep draining so a chatty child never blocks on a full pipe.
            threading.Thread(target=self._drain, daemon=True).start()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout_s)
        if not found:
            raise StartFailed(f"{self.name} did not announce its address within {timeout_s}s: "
                              f"{self.log_tail()}")
        self.announced = found[0]
        return self.announced

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self._log.write(raw)

    def drain_stdout(self) -> None:
        """For servers that announce nothing: copy their stdout to the log."""
        threading.Thread(target=self._drain, daemon=True).start()

    def log_tail(self, lines: int = 15) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(text[-lines:]) or "(empty log)"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def rss_kb(self) -> int | None:
        """Resident memory of the process and its descendants, KiB."""
        return tree_rss_kb(self.pid)

    def pss_kb(self) -> int | None:
        """PSS of the process and its descendants, KiB."""
        return tree_pss_kb(self.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 3 s, to this process's own group only."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(3)
            except (subprocess.TimeoutExpired, ProcessLookupError, PermissionError):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self._log.close()
        if self in _RUNNING:
            _RUNNING.remove(self)


def stop_all() -> None:
    for spawned in list(reversed(_RUNNING)):
        spawned.stop()


atexit.register(stop_all)


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            pass
    return found


def pss_kb(pid: int) -> int | None:
    """Proportional set size: like RSS, but a page shared by several mappings (the
    copy-on-write image every wasm instance maps) counts once, split among them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


def tree_pss_kb(pid: int) -> int | None:
    """PSS of `pid` plus every descendant."""
    own = pss_kb(pid)
    if own is None:
        return None
    return own + sum(tree_pss_kb(child) or 0 for child in _children(pid))


def tree_rss_kb(pid: int) -> int | None:
    """RSS of `pid` plus every descendant (LiteLLM may fork workers)."""
    own = rss_kb(pid)
    if own is None:
        return None
    return own + sum(tree_rss_kb(child) or 0 for child in _children(pid))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout_s: float, proc: Spawned | None = None,
              headers: dict | None = None, data: bytes | None = None) -> float:
    """Polls `url` until it answers 200; returns seconds waited."""
    started = time.monotonic()
    last = "no answer"
    while time.monotonic() - started < timeout_s:
        if proc is not None and not proc.alive():
            raise StartFailed(f"{proc.name} exited: {proc.log_tail()}")
        try:
            request = urllib.request.Request(url, data=data, headers=headers or {})
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status == 200:
                    return time.monotonic() - started
        except Exception as error:  # noqa: BLE001 - any failure means "not yet"
            last = str(error)
        time.sleep(0.1)
    tail = f": {proc.log_tail()}" if proc else ""
    raise StartFailed(f"{url} not ready within {timeout_s}s ({last}){tail}")


def raise_fd_limit() -> None:
    """1,000 held streams need ~3,000 sockets across client, proxy and mock."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
