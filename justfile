# Plugboard's tasks. `just` alone lists them. Every recipe shares one target/ dir.

set shell := ["bash", "-euo", "pipefail", "-c"]

# The config `just run` serves; override with `CONFIG=path just run`.
config := env("CONFIG", "config.yaml")

# List the recipes.
default:
    @just --list

# Build the release host (with the web page embedded) and every adapter component (target/adapters/*.wasm).
build: adapters ui
    cargo build --release -p plugboard

# Build the web page (ui/ -> ui/dist/, embedded in the host binary at compile time).
ui: _ui-install
    cd ui && npm run build --silent

# Build only the adapter and fixup components into target/adapters/.
adapters:
    rustup target add wasm32-wasip2
    adapters/build.sh

# Build, then serve CONFIG (default config.yaml, created from config.example.yaml on first run).
run: build
    #!/usr/bin/env bash
    set -euo pipefail
    if [ ! -f "{{config}}" ]; then
        if [ "{{config}}" != "config.yaml" ]; then
            echo "error: {{config}} does not exist" >&2; exit 1
        fi
        cp config.example.yaml config.yaml
        echo "created config.yaml from config.example.yaml: put your own keys in it (it is yours to edit)" >&2
    fi
    exec target/release/plugboard serve --config "{{config}}"

# Everything (docs/testing.md): components, Rust tests, e2e stories and matrix, the web page in Chromium, real coding CLIs.
test: _e2e-venv _cli-install ui
    rustup target add wasm32-wasip2
    adapters/build.sh --tests
    # nextest has built target/debug/plugboard (its stories run it), the binary the
    # pytest suites run: a `cargo build -p plugboard` here would rebuild ~4 minutes of
    # dependencies for its own feature set.
    cargo nextest run --workspace --no-fail-fast
    .venv/bin/pytest tests/e2e -q
    .venv/bin/pytest tests/ui -q
    .venv/bin/pytest tests/cli -q

# Only the end-to-end stories (SDKs, matrix); builds the host and components first.
test-e2e *ARGS: _e2e-venv ui
    rustup target add wasm32-wasip2
    adapters/build.sh --tests
    cargo build -p plugboard
    .venv/bin/pytest tests/e2e -q {{ARGS}}

# `PLUGBOARD_UI_SCREENSHOTS=update` also refreshes docs/ui/*.png.
# Only the web page's browser stories in headless Chromium (`apt-get install chromium`).
test-ui *ARGS: _e2e-venv ui
    rustup target add wasm32-wasip2
    adapters/build.sh --tests
    cargo build -p plugboard
    .venv/bin/pytest tests/ui -q {{ARGS}}

# Only the real coding CLIs (Claude Code, Codex, Gemini CLI, opencode) against Plugboard.
test-cli *ARGS: _e2e-venv _cli-install ui
    rustup target add wasm32-wasip2
    adapters/build.sh
    cargo build -p plugboard
    .venv/bin/pytest tests/cli -q {{ARGS}}

# Scaffold a provider adapter crate (`just new-adapter NAME`) or a fixup (`just new-adapter NAME --fixup`).
new-adapter NAME *FLAGS:
    adapters/new-adapter.sh {{NAME}} {{FLAGS}}

# Create .venv for the e2e suite, or refresh it when tests/requirements.txt changed.
_e2e-venv:
    #!/usr/bin/env bash
    set -euo pipefail
    want="$(sha256sum tests/requirements.txt | cut -d' ' -f1)"
    if [ ! -x .venv/bin/pytest ] || [ "$(cat .venv/requirements.sha256 2>/dev/null)" != "$want" ]; then
        python3 -m venv .venv
        .venv/bin/pip install --quiet --disable-pip-version-check -r tests/requirements.txt
        echo "$want" > .venv/requirements.sha256
    fi

# Install the pinned CLIs into tests/cli/node_modules (`npm ci`), or refresh them when
# tests/cli/package-lock.json changed.
_cli-install:
    #!/usr/bin/env bash
    set -euo pipefail
    want="$(sha256sum tests/cli/package-lock.json | cut -d' ' -f1)"
    if [ ! -d tests/cli/node_modules ] || [ "$(cat tests/cli/node_modules/.lock.sha256 2>/dev/null)" != "$want" ]; then
        (cd tests/cli && npm ci --no-audit --no-fund --loglevel=error)
        echo "$want" > tests/cli/node_modules/.lock.sha256
    fi

# Install the page's build tools into ui/node_modules (`npm ci`, offline from the npm registry
# packages), or refresh them when ui/package-lock.json changed.
_ui-install:
    #!/usr/bin/env bash
    set -euo pipefail
    want="$(sha256sum ui/package-lock.json | cut -d' ' -f1)"
    if [ ! -d ui/node_modules ] || [ "$(cat ui/node_modules/.lock.sha256 2>/dev/null)" != "$want" ]; then
        (cd ui && npm ci --no-audit --no-fund --loglevel=error)
        echo "$want" > ui/node_modules/.lock.sha256
    fi

# BENCH_QUICK=1 for a ~3-minute smoke run; BENCH_NO_PEERS=1 leaves the peers out (docs/benchmarks.md).
# Benchmark in release: Plugboard vs the hyper floor vs LiteLLM and TensorZero, interleaved; writes bench/results/latest.{json,md}.
bench:
    python3 bench/run
