// Overview: one card per provider entry with its accounts' states and the traffic of
// the chosen window (requests per minute, error rate, tokens, mean latency and time to
// first token), polled every 2 s while the tab is visible.
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorLine, fmtCompact, fmtMs, fmtPercent, html, usePoll } from "../lib.js";

const WINDOWS = [
  [5, "Last 5 minutes"],
  [60, "Last hour"],
  [1440, "Last 24 hours"],
];

async function load(minutes) {
  const from = Math.floor(Date.now() / 1000) - minutes * 60;
  const [status, accounts, usage] = await Promise.all([
    api("/status"),
    api("/accounts"),
    api(`/usage?group-by=provider&from=${from}`).catch((error) => ({ error })),
  ]);
  return { status, accounts: accounts.accounts || [], usage };
}

export function Overview() {
  const [minutes, setMinutes] = useState(5);
  const [data, error] = usePoll(() => load(minutes), 2000, [minutes]);
  const entries = data ? data.status.providers || [] : [];
  const usageGroups = data && !data.usage.error ? data.usage.groups : [];
  const traffic = (name) => (usageGroups.find((g) => g.key.provider === name) || null);
  return html`<h1>Overview</h1>
    <div class="toolbar">
      <label>Window
        <select name="window" value=${minutes} onChange=${(e) => setMinutes(Number(e.target.value))}>
          ${WINDOWS.map(([m, label]) => html`<option value=${m}>${label}</option>`)}
        </select>
      </label>
      ${data && html`<span class="muted">${`${data.status.version} · up ${uptime(data.status.uptime_s)} · ${data.status.components.loaded.length} components loaded`}${data.status.components.refused.length ? `, ${data.status.components.refused.length} refused` : ""}</span>`}
    </div>
    <${ErrorLine} error=${error} />
    ${data && data.usage.error && html`<p class="error" role="alert">Usage: ${data.usage.error.message}</p>`}
    ${data && !entries.length && html`<p class="muted">No provider entries in the config.</p>`}
    <div class="grid">
      ${entries.map((entry) => html`<${EntryCard} key=${entry.name} entry=${entry} minutes=${minutes}
          totals=${traffic(entry.name)} accounts=${data.accounts.filter((a) => (a.entries || []).includes(entry.name))} />`)}
    </div>`;
}

function uptime(seconds) {
  if (seconds < 3600) return Math.floor(seconds / 60) + " min";
  if (seconds < 172800) return Math.floor(seconds / 3600) + " h";
  return Math.floor(seconds / 86400) + " d";
}

function EntryCard({ entry, totals, accounts, minutes }) {
  const t = totals || { requests: 0, errors: 0, input_tokens: 0, output_tokens: 0 };
  const states = {};
  for (const a of accounts) states[a.state] = (states[a.state] || 0) + 1;
  const rpm = t.requests / minutes;
  return html`<section class="card" data-provider=${entry.name} aria-labelledby=${"entry-" + entry.name}>
    <h2 id=${"entry-" + entry.name}>${entry.name}</h2>
    <p class="muted">adapter <code>${entry.adapter}</code>${entry.loaded ? "" : html` · <span class="error">not loaded</span>`}</p>
    <div class="metrics">
      <${Metric} name="rpm" label="Requests / min" value=${rpm >= 10 ? Math.round(rpm) : rpm.toFixed(1)} />
      <${Metric} name="error-rate" label="Error rate" value=${fmtPercent(t.errors, t.requests)} />
      <${Metric} name="tokens" label="Tokens (in / out)" value=${`${fmtCompact(t.input_tokens)} / ${fmtCompact(t.output_tokens)}`} />
      <${Metric} name="latency" label="Mean latency" value=${fmtMs(t.latency_ms_avg)} />
      <${Metric} name="ttft" label="Time to first token" value=${fmtMs(t.ttft_ms_avg)} />
      <${Metric} name="requests" label="Requests" value=${fmtCompact(t.requests)} />
    </div>
    ${accounts.length
      ? html`<ul class="states" aria-label="Accounts by state" data-metric="accounts">
          ${Object.entries(states).map(([state, n]) => html`<li class=${"badge state-" + state} data-state=${state}>${n} ${state}</li>`)}
        </ul>`
      : html`<p class="muted" data-metric="accounts">No stored accounts (keys from the config).</p>`}
  </section>`;
}

function Metric({ name, label, value }) {
  return html`<div class="metric"><span class="label">${label}</span><span class="value" data-metric=${name}>${value}</span></div>`;
}
