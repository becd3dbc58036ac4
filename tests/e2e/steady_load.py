"""A steady stream of chat requests from a few threads, for stories that change
something under load (hot swap) and must show that no client noticed."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import httpx


@dataclass
class Outcome:
    """One request as the client saw it."""

    started: float
    finished: float
    status: int
    body: str


class SteadyLoad:
    """`with SteadyLoad(url, key, model) as load:` sends requests until the block ends.

    Bounded: it stops on its own after `max_seconds` whatever the test does."""

    def __init__(self, base_url: str, api_key: str, model: str, threads: int = 3, max_seconds: float = 30.0):
        self.url = base_url + "/v1/chat/completions"
        self.headers = {"authorization": f"Bearer {api_key}"}
        self.model = model
        self.threads = threads
        self.max_seconds = max_seconds
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def __enter__(self) -> "SteadyLoad":
        for n in range(self.threads):
            worker = threading.Thread(target=self._run, args=(n,), name=f"load-{n}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=30)

    @property
    def failures(self) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if o.status != 200]

    def count(self) -> int:
        with self._lock:
            return len(self.outcomes)

    def _run(self, n: int) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(timeout=15) as client:
            i = 0
            while not self._stop.is_set() and time.monotonic() < deadline:
                body = {"model": self.model, "messages": [{"role": "user", "content": f"load {n}-{i}"}]}
                started = time.monotonic()
                try:
                    response = client.post(self.url, json=body, headers=self.headers)
                    status, text = response.status_code, response.text
                except httpx.HTTPError as e:
                    status, text = -1, f"{type(e).__name__}: {e}"
                with self._lock:
                    self.outcomes.append(Outcome(started, time.monotonic(), status, text))
                i += 1
