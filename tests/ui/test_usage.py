"""The usage page: requests sent with the official SDKs (two named client keys, an OpenAI
and an Anthropic entry, streamed and not, one refused upstream) appear in the chart and
the table with exactly the numbers the scripted upstream reported, grouped by client key
and by model; the CSV export downloads and parses to the same rows."""

from __future__ import annotations

import csv
import io
import re
import time
from collections import defaultdict

import anthropic
import openai
import pytest
from playwright.sync_api import expect

from pages import go, management, shot, sign_in
from plugboard_server import provider
from replies import rate_limited, text

GPT, CLAUDE = "gpt-usage-ui", "claude-usage-ui"
KEYS = {"alice": "sk-ui-alice-0123456789abcdef", "bob": "sk-ui-bob-0123456789abcdef"}


@pytest.fixture
def server(launch, mock):
    return launch([provider("gpt-upstream", "openai", mock, [GPT]), provider("claude-upstream", "anthropic", mock, [CLAUDE])],
                  components=("openai", "anthropic"),
                  **{"client-keys": [{"name": name, "key": key} for name, key in KEYS.items()]})


def send(server, mock) -> list[dict]:
    """The requests of the story; what each should count as."""
    sent = []
    tokens = iter(range(11, 10_000, 13))

    def one(who, model, streamed, call, status=200):
        tokens_in, tokens_out = (next(tokens), next(tokens)) if status == 200 else (0, 0)
        if status == 200:
            mock.queue(text("fine", input_tokens=tokens_in, output_tokens=tokens_out))
        call(who, model, streamed)
        sent.append({"key": who, "model": model, "status": status, "input": tokens_in, "output": tokens_out})

    def chat(who, model, streamed):
        client = openai.OpenAI(base_url=server.base_url + "/v1", api_key=KEYS[who], max_retries=0, timeout=30)
        messages = [{"role": "user", "content": "hi"}]
        if streamed:
            for _ in client.chat.completions.create(model=model, messages=messages, stream=True,
                                                    stream_options={"include_usage": True}):
                pass
        else:
            client.chat.completions.create(model=model, messages=messages)

    def messages(who, model, streamed):
        client = anthropic.Anthropic(base_url=server.base_url, api_key=KEYS[who], max_retries=0, timeout=30)
        ask = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
        if streamed:
            with client.messages.stream(**ask) as stream:
                stream.get_final_message()
        else:
            client.messages.create(**ask)

    one("alice", GPT, False, chat)
    one("alice", GPT, True, chat)
    one("alice", CLAUDE, False, messages)
    one("bob", GPT, True, chat)
    one("bob", CLAUDE, True, messages)
    one("bob", CLAUDE, False, messages)

    def refused(who, model, streamed):
        mock.queue(rate_limited(30))
        with pytest.raises(anthropic.RateLimitError):
            messages(who, model, streamed)

    one("alice", CLAUDE, False, refused, status=429)
    return sent


def expected_by(sent: list[dict], field: str) -> dict:
    groups = defaultdict(lambda: {"Requests": 0, "Errors": 0, "Input tokens": 0, "Output tokens": 0})
    for s in sent:
        group = groups[s[field]]
        group["Requests"] += 1
        group["Errors"] += s["status"] != 200
        group["Input tokens"] += s["input"]
        group["Output tokens"] += s["output"]
    return dict(groups)


def number(cell: str) -> int:
    digits = re.sub(r"[,\s\u202f\u00a0_']", "", cell)
    assert re.fullmatch(r"\d+", digits), f"not a whole number: {cell!r}"
    return int(digits)


def table_groups(page, names: list[str]) -> dict:
    """The usage table as {group name: {column: number}}, for the rows naming one of `names`."""
    table = page.locator("table[data-testid=usage-table]")
    # A header may carry a sort mark ("Requests ▼").
    headers = [re.sub(r"[^\w\s]", "", h).strip() for h in table.locator("thead th").all_inner_texts()]
    wanted = ["Requests", "Errors", "Input tokens", "Output tokens"]
    for column in wanted:
        assert column in headers, f"no column {column!r} in {headers}"
    got = {}
    for row in table.locator("tbody tr").all():
        cells = [c.strip() for c in row.locator("td, th").all_inner_texts()]
        for name in names:
            if any(name in cell for cell in cells[:max(1, len(cells) - len(wanted))]):
                got[name] = {column: number(cells[headers.index(column)]) for column in wanted}
    return got


def test_requests_sent_show_in_the_chart_the_table_and_the_csv(server, mock, page):
    sent = send(server, mock)
    time.sleep(1.5)  # the usage writer commits within a second
    with management(server) as api:
        assert api.get("/usage", params={"group-by": "client-key"}).status_code == 200

    sign_in(page, server)
    go(page, "Usage")
    page.locator("select[name=group-by]").select_option("client-key")
    page.locator("select[name=bucket]").select_option("hour")

    table = page.locator("table[data-testid=usage-table]")
    expect(table.locator("tbody tr", has_text="alice")).to_be_visible()
    expect(table.locator("tbody tr", has_text="bob")).to_be_visible()
    expected = expected_by(sent, "key")
    assert table_groups(page, ["alice", "bob"]) == expected
    chart = page.locator("[data-testid=usage-chart]")
    expect(chart).to_have_attribute("data-series", "2")
    canvas = chart.locator("canvas").first
    expect(canvas).to_be_visible()
    box = canvas.bounding_box()
    assert box["width"] > 100 and box["height"] > 50, box
    shot(page, "usage")

    page.locator("select[name=group-by]").select_option("model")
    expect(table.locator("tbody tr", has_text=CLAUDE)).to_be_visible()
    expect(chart).to_have_attribute("data-series", "2")
    assert table_groups(page, [GPT, CLAUDE]) == expected_by(sent, "model")

    page.locator("select[name=bucket]").select_option("day")
    expect(table.locator("tbody tr", has_text=GPT)).to_be_visible()
    assert table_groups(page, [GPT, CLAUDE]) == expected_by(sent, "model")

    with page.expect_download() as download:
        page.locator("a[data-testid=export-csv]").click()
    text_ = open(download.value.path(), encoding="utf-8").read()
    rows = list(csv.DictReader(io.StringIO(text_)))
    assert len(rows) == len(sent)
    assert sum(int(r["output_tokens"] or 0) for r in rows) == sum(s["output"] for s in sent)
    assert sum(int(r["input_tokens"] or 0) for r in rows) == sum(s["input"] for s in sent)
    assert sorted(r["status"] for r in rows) == sorted(str(s["status"]) for s in sent)
    assert sum(r["stream"] == "true" for r in rows) == 3
    assert download.value.suggested_filename.endswith(".csv")
