// Usage: requests and tokens over time (uPlot), grouped by client key, provider,
// account or model, a sortable table of the groups, and the CSV export (fetched with
// the key, offered as a download).
import "uplot/dist/uPlot.min.css";
import uPlot from "uplot";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorLine, fmtInt, fmtMs, fmtPercent, html, toastError, usePoll } from "../lib.js";

const GROUPS = [
  ["client-key", "Client key"],
  ["provider", "Provider"],
  ["account", "Account"],
  ["model", "Model"],
];
const BUCKETS = [
  ["hour", "Hour"],
  ["day", "Day"],
  ["minute", "Minute"],
];
const RANGES = [
  ["1h", "Last hour", 3600],
  ["24h", "Last 24 hours", 86400],
  ["7d", "Last 7 days", 7 * 86400],
  ["30d", "Last 30 days", 30 * 86400],
];
const METRICS = [
  ["requests", "Requests"],
  ["tokens", "Tokens (in + out)"],
  ["errors", "Errors"],
];
const STEP = { minute: 60, hour: 3600, day: 86400 };
const COLOURS = ["#2b5fd9", "#d9480f", "#2f9e44", "#ae3ec9", "#f59f00", "#0c8599", "#e64980", "#5c940d", "#868e96"];
const MAX_SERIES = 8;

export function Usage() {
  const [groupBy, setGroupBy] = useState("provider");
  const [bucket, setBucket] = useState("hour");
  const [range, setRange] = useState("24h");
  const [metric, setMetric] = useState("requests");
  const seconds = RANGES.find(([id]) => id === range)[2];
  const [data, error] = usePoll(
    async () => {
      const from = Math.floor(Date.now() / 1000) - seconds;
      const [table, series] = await Promise.all([
        api(`/usage?group-by=${groupBy}&from=${from}`),
        api(`/usage?group-by=${groupBy}&bucket=${bucket}&from=${from}`),
      ]);
      return { table, series, from };
    },
    10000,
    [groupBy, bucket, range],
  );
  const exportCsv = async (e) => {
    e.preventDefault();
    try {
      const from = Math.floor(Date.now() / 1000) - seconds;
      const response = await api(`/usage/export?format=csv&from=${from}`, { raw: true });
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = `plugboard-usage-${range}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (err) {
      toastError(err);
    }
  };
  const select = (name, label, value, set, options) => html`<label>${label}
    <select name=${name} value=${value} onChange=${(e) => set(e.target.value)}>
      ${options.map(([id, text]) => html`<option value=${id}>${text}</option>`)}
    </select></label>`;
  return html`<h1>Usage</h1>
    <div class="toolbar">
      ${select("group-by", "Group by", groupBy, setGroupBy, GROUPS)}
      ${select("bucket", "Step", bucket, setBucket, BUCKETS)}
      ${select("range", "Range", range, setRange, RANGES)}
      ${select("metric", "Chart", metric, setMetric, METRICS)}
      <a class="button" data-testid="export-csv" href="/v0/management/usage/export?format=csv" onClick=${exportCsv}>Export CSV</a>
    </div>
    <${ErrorLine} error=${error} />
    ${data && html`<p class="muted">${summary(data.table.total)}</p>`}
    <${Chart} data=${data} groupBy=${groupBy} bucket=${bucket} metric=${metric} seconds=${seconds} />
    ${data && html`<${UsageTable} groups=${data.table.groups} groupBy=${groupBy} />`}`;
}

function summary(t) {
  return `${fmtInt(t.requests)} requests, ${fmtPercent(t.errors, t.requests)} errors, ${fmtInt(t.input_tokens)} input and ${fmtInt(t.output_tokens)} output tokens, mean latency ${fmtMs(t.latency_ms_avg)}.`;
}

function valueOf(group, metric) {
  if (metric === "tokens") return group.input_tokens + group.output_tokens;
  return group[metric];
}

/** The series to plot: x (bucket starts, Unix s) and one line per group (top groups). */
function seriesOf(report, groupBy, bucket, metric, from) {
  const step = STEP[bucket];
  const start = Math.floor(from / step) * step;
  const end = Math.floor(Date.now() / 1000 / step) * step;
  const xs = [];
  for (let t = start; t <= end; t += step) xs.push(t);
  const totals = new Map();
  for (const g of report.groups) {
    const name = g.key[groupBy] || "(none)";
    totals.set(name, (totals.get(name) || 0) + valueOf(g, metric));
  }
  const names = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([n]) => n);
  const shown = names.slice(0, MAX_SERIES);
  const lines = shown.map(() => xs.map(() => 0));
  const other = xs.map(() => 0);
  for (const g of report.groups) {
    const i = Math.round((Date.parse(g.bucket) / 1000 - start) / step);
    if (i < 0 || i >= xs.length) continue;
    const k = shown.indexOf(g.key[groupBy] || "(none)");
    if (k >= 0) lines[k][i] += valueOf(g, metric);
    else other[i] += valueOf(g, metric);
  }
  const labels = [...shown];
  if (names.length > MAX_SERIES) {
    labels.push("other");
    lines.push(other);
  }
  return { xs, labels, lines };
}

function Chart({ data, groupBy, bucket, metric, seconds }) {
  const box = useRef();
  const plot = useRef(null);
  const [count, setCount] = useState(0);
  useEffect(() => {
    if (!data || !box.current) return;
    const { xs, labels, lines } = seriesOf(data.series, groupBy, bucket, metric, data.from);
    setCount(labels.length);
    const width = Math.max(280, box.current.clientWidth);
    const label = METRICS.find(([id]) => id === metric)[1];
    const opts = {
      width,
      height: 300,
      scales: { x: { time: true } },
      series: [
        {},
        ...labels.map((name, i) => ({
          label: name,
          stroke: COLOURS[i % COLOURS.length],
          fill: COLOURS[i % COLOURS.length] + "22",
          width: 2,
          points: { show: xs.length < 60 },
        })),
      ],
      axes: [
        { stroke: getComputedStyle(document.body).color, grid: { stroke: "rgba(128,128,128,0.2)" } },
        { label, stroke: getComputedStyle(document.body).color, grid: { stroke: "rgba(128,128,128,0.2)" }, size: 60 },
      ],
      legend: { live: true },
    };
    if (plot.current) plot.current.destroy();
    plot.current = new uPlot(opts, [xs, ...lines], box.current);
    const resize = () => plot.current && plot.current.setSize({ width: Math.max(280, box.current.clientWidth), height: 300 });
    window.addEventListener("resize", resize);
    return () => window.removeEventListener("resize", resize);
  }, [data, metric]);
  useEffect(() => () => plot.current && plot.current.destroy(), []);
  const empty = data && !data.series.groups.length;
  return html`<figure class="card chart" aria-label=${`Usage by ${groupBy}, per ${bucket}`}>
    <div ref=${box} data-testid="usage-chart" data-series=${count}></div>
    ${empty && html`<figcaption class="muted">No requests in this range.</figcaption>`}
  </figure>`;
}

const COLUMNS = [
  ["requests", "Requests"],
  ["errors", "Errors"],
  ["input_tokens", "Input tokens"],
  ["output_tokens", "Output tokens"],
  ["cache_read_tokens", "Cache read"],
  ["latency_ms_avg", "Mean latency"],
  ["ttft_ms_avg", "Time to first token"],
];

function UsageTable({ groups, groupBy }) {
  const [sort, setSort] = useState(["requests", -1]);
  const [column, direction] = sort;
  const name = (g) => g.key[groupBy] || "";
  const rows = [...groups].sort((a, b) => {
    const x = column === "name" ? name(a) : a[column] ?? -1;
    const y = column === "name" ? name(b) : b[column] ?? -1;
    return (x < y ? -1 : x > y ? 1 : 0) * direction;
  });
  const header = (id, label, num) => {
    const active = column === id;
    return html`<th scope="col" class=${num ? "num" : ""} aria-sort=${active ? (direction > 0 ? "ascending" : "descending") : "none"}>
      <button type="button" onClick=${() => setSort([id, active ? -direction : id === "name" ? 1 : -1])}>${label}${active ? (direction > 0 ? " ▲" : " ▼") : ""}</button></th>`;
  };
  const groupLabel = GROUPS.find(([id]) => id === groupBy)[1];
  return html`<div class="table-wrap"><table data-testid="usage-table">
    <thead><tr>${header("name", groupLabel, false)}${COLUMNS.map(([id, label]) => header(id, label, true))}</tr></thead>
    <tbody>${rows.map((g) => html`<tr data-group=${name(g)}>
      <th scope="row">${name(g) || html`<span class="muted">(none)</span>`}</th>
      <td class="num">${fmtInt(g.requests)}</td>
      <td class="num">${fmtInt(g.errors)}</td>
      <td class="num">${fmtInt(g.input_tokens)}</td>
      <td class="num">${fmtInt(g.output_tokens)}</td>
      <td class="num">${fmtInt(g.cache_read_tokens)}</td>
      <td class="num">${fmtMs(g.latency_ms_avg)}</td>
      <td class="num">${fmtMs(g.ttft_ms_avg)}</td>
    </tr>`)}</tbody>
  </table>
  ${!rows.length && html`<p class="muted">No requests in this range.</p>`}</div>`;
}
