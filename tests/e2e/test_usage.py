"""The usage store and metrics seen through the real SDKs: openai, anthropic and
google-genai clients, streamed and not, over three providers and two accounts, some
requests refused upstream. Afterwards `plugboard usage` must sum exactly the tokens the
scripted upstream reported, per provider, model and status and in total; `/metrics`
(the keyless `metrics.listen`) must parse with Prometheus' own OpenMetrics parser and
count the same requests and tokens."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from plugboard_server import Plugboard, free_port, provider
from replies import rate_limited, text

GPT, CLAUDE, GEMINI = "gpt-usage", "claude-usage", "gemini-usage"


def metric_values(text_: str) -> dict:
    """Every sample, by (name, sorted labels)."""
    values = {}
    for family in text_string_to_metric_families(text_):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def total(values: dict, name: str, **labels) -> float:
    return sum(v for (n, ls), v in values.items()
               if n == name and all(dict(ls).get(k) == w for k, w in labels.items()))


@pytest.fixture
def server(mock, tmp_path):
    metrics_port = free_port()
    gpt = provider("oa", "openai", mock, [GPT])
    gpt["api-keys"] = gpt["api-keys"] * 2  # two accounts of one entry
    plugboard = Plugboard(
        tmp_path,
        providers=[gpt, provider("an", "anthropic", mock, [CLAUDE]), provider("gm", "gemini", mock, [GEMINI])],
        metrics={"listen": f"127.0.0.1:{metrics_port}"},
    ).start()
    plugboard.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    yield plugboard
    plugboard.stop()


def test_sdk_mix_sums_exactly_in_the_store_and_the_metrics(server, mock):
    oa = openai.OpenAI(api_key=server.api_key, base_url=server.base_url + "/v1", max_retries=0)
    an = anthropic.Anthropic(api_key=server.api_key, base_url=server.base_url, max_retries=0)
    gm = genai.Client(api_key=server.api_key,
                      http_options=types.HttpOptions(base_url=server.base_url, timeout=30_000))
    sent = []  # (provider, model, status, input, output)
    before = metric_values(httpx.get(server.metrics_url).text)

    def answer(provider_, model, tokens_in, tokens_out, call):
        mock.queue(text("fine", input_tokens=tokens_in, output_tokens=tokens_out))
        call(model)
        sent.append((provider_, model, 200, tokens_in, tokens_out))

    def chat(model):
        oa.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])

    def chat_stream(model):
        for _ in oa.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], stream=True):
            pass

    def messages(model):
        an.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}])

    def messages_stream(model):
        with an.messages.stream(model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as stream:
            stream.get_final_message()

    def generate(model):
        gm.models.generate_content(model=model, contents="hi")

    def generate_stream(model):
        for _ in gm.models.generate_content_stream(model=model, contents="hi"):
            pass

    tokens = iter(range(3, 1000, 7))
    for provider_, model in (("oa", GPT), ("an", CLAUDE), ("gm", GEMINI)):
        for call in (chat, chat_stream, messages, messages_stream, generate, generate_stream):
            answer(provider_, model, next(tokens), next(tokens), call)

    # Refused upstream: every account of the entry is rate limited.
    mock.queue(rate_limited(30), rate_limited(30))
    with pytest.raises(openai.RateLimitError):
        chat(GPT)
    sent.append(("oa", GPT, 429, 0, 0))
    mock.queue(rate_limited(30))
    with pytest.raises(anthropic.RateLimitError):
        messages(CLAUDE)
    sent.append(("an", CLAUDE, 429, 0, 0))

    # The metrics moved by exactly what was sent.
    after = metric_values(httpx.get(server.metrics_url).text)
    for provider_ in ("oa", "an", "gm"):
        mine = [s for s in sent if s[0] == provider_]
        moved = total(after, "plugboard_requests_total", provider=provider_) - \
            total(before, "plugboard_requests_total", provider=provider_)
        assert moved == len(mine)
        for kind, index in (("input", 3), ("output", 4)):
            moved = total(after, "plugboard_tokens_total", provider=provider_, kind=kind) - \
                total(before, "plugboard_tokens_total", provider=provider_, kind=kind)
            assert moved == sum(s[index] for s in mine), (provider_, kind)
    assert total(after, "plugboard_requests_total", status="429") == 2
    assert total(after, "plugboard_accounts", provider="oa", state="cooling") == 2

    # The store, read after a clean stop, sums the same.
    server.stop()
    config = str(server.config_path)
    for key, index in (("provider", 0), ("model", 1), ("status", 2)):
        done = server.cli("usage", "--config", config, "--by", key, "--json")
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        expected = defaultdict(lambda: [0, 0, 0])
        for s in sent:
            group = expected[str(s[index])]
            group[0] += 1
            group[1] += s[3]
            group[2] += s[4]
        got = {g["key"][key]: [g["requests"], g["input_tokens"], g["output_tokens"]] for g in report["groups"]}
        assert got == dict(expected), key
        assert report["total"]["requests"] == len(sent)
        assert report["total"]["input_tokens"] == sum(s[3] for s in sent)
        assert report["total"]["output_tokens"] == sum(s[4] for s in sent)

    exported = server.cli("usage", "--config", config, "--csv")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert len(rows) == len(sent)
    assert {r["dialect"] for r in rows} == {"openai-chat", "anthropic", "gemini"}
    assert sum(r["stream"] == "true" for r in rows) == 9
    assert sum(int(r["output_tokens"] or 0) for r in rows) == sum(s[4] for s in sent)
