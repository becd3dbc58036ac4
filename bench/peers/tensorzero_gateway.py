"""Runs the TensorZero gateway that the `tensorzero` PyPI wheel embeds, as an HTTP server.

The wheel ships the Rust gateway inside its native module; `_start_http_gateway` is the
function its own `patch_openai_client` uses to serve it on an ephemeral loopback port.
Usage: python tensorzero_gateway.py CONFIG.toml. Prints `listening on BASE_URL` (the
OpenAI-compatible base, ending in /openai/v1) once it serves, then runs until killed.
The Python thread only sleeps: requests are served by the gateway's own Rust threads.
"""

import signal
import sys
import threading

import tensorzero


def main() -> None:
    config_file = sys.argv[1]
    gateway = tensorzero._start_http_gateway(
        config_file=config_file,
        clickhouse_url=None,
        postgres_url=None,
        valkey_url=None,
        async_setup=False,
    )
    base = gateway.base_url.rstrip("/")
    print(f"listening on {base}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    gateway.close()


if __name__ == "__main__":
    main()
