// Client keys: every key with its limits and counters; create one (its key shown once),
// change a key's limits, revoke one (asked first).
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorLine, confirmAction, fmtInt, html, toast, toastError, usePoll } from "../lib.js";

const LIMITS = [
  ["rpm", "Requests / min"],
  ["tpm", "Tokens / min"],
  ["concurrency", "Concurrent requests"],
  ["requests-per-day", "Requests / day"],
  ["tokens-per-day", "Tokens / day"],
  ["requests-per-month", "Requests / month"],
  ["tokens-per-month", "Tokens / month"],
];

/** The limits a form holds: numbers, `models` as a list; an empty field is `null`. */
function limitsOf(form) {
  const limits = {};
  for (const [name] of LIMITS) {
    const text = form.elements[name].value.trim();
    limits[name] = text === "" ? null : Number(text);
  }
  const models = form.elements.models.value.split(",").map((m) => m.trim()).filter(Boolean);
  limits.models = models.length ? models : null;
  return limits;
}

function LimitFields({ limits = {}, prefix }) {
  return html`<div class="fields">
    ${LIMITS.map(([name, label]) => html`<div class="field">
      <label for=${prefix + name}>${label}</label>
      <input id=${prefix + name} name=${name} type="number" min="0" step="1" inputmode="numeric" placeholder="no limit" value=${limits[name] ?? ""} />
    </div>`)}
    <div class="field">
      <label for=${prefix + "models"}>Models (comma-separated)</label>
      <input id=${prefix + "models"} name="models" placeholder="any model" value=${(limits.models || []).join(", ")} />
    </div>
  </div>`;
}

export function ClientKeys() {
  const [data, error, reload] = usePoll(() => api("/client-keys"), 5000);
  const [created, setCreated] = useState(null);
  const [createError, setCreateError] = useState(null);
  const [editing, setEditing] = useState(null);
  const keys = data ? data["client-keys"] : [];
  const create = async (e) => {
    e.preventDefault();
    setCreateError(null);
    const form = e.target;
    const limits = Object.fromEntries(Object.entries(limitsOf(form)).filter(([, v]) => v !== null));
    try {
      const answer = await api("/client-keys", { method: "POST", body: { name: form.elements.name.value.trim(), limits } });
      setCreated({ name: answer["client-key"].name, key: answer.key });
      form.reset();
      reload();
    } catch (err) {
      setCreateError(err);
    }
  };
  const revoke = async (name) => {
    if (!(await confirmAction({ title: `Revoke ${name}?`, message: "The key stops working at once; requests in flight finish.", action: "Revoke" }))) return;
    try {
      await api("/client-keys/" + encodeURIComponent(name), { method: "DELETE" });
      toast(`Revoked ${name}`, "success");
      if (editing === name) setEditing(null);
      reload();
    } catch (err) {
      toastError(err);
    }
  };
  const editedKey = keys.find((k) => k.name === editing);
  return html`<h1>Client keys</h1>
    <${ErrorLine} error=${error} />
    <section class="card panel" aria-labelledby="create-title">
      <h2 id="create-title">Create key</h2>
      <form onSubmit=${create}>
        <div class="field"><label for="new-name">Name</label>
          <input id="new-name" name="name" required pattern="[A-Za-z0-9._\\-]+" title="letters, digits, '.', '_', '-'" /></div>
        <${LimitFields} prefix="new-" />
        <${ErrorLine} error=${createError} />
        <div class="row"><button type="submit" class="primary">Create key</button></div>
      </form>
      ${created && html`<div class="secret" role="status">
        <p>The key of <strong>${created.name}</strong>, shown this once (only its SHA-256 is kept):</p>
        <p><code data-testid="new-key">${created.key}</code></p>
        <div class="row">
          <button type="button" onClick=${() => navigator.clipboard.writeText(created.key).then(() => toast("Copied", "success"), toastError)}>Copy</button>
          <button type="button" onClick=${() => setCreated(null)}>Done</button>
        </div>
      </div>`}
    </section>
    ${editedKey && html`<${EditLimits} key=${editedKey.name} item=${editedKey} onDone=${() => { setEditing(null); reload(); }} />`}
    <div class="table-wrap"><table class="cards" data-testid="keys-table">
      <thead><tr><th scope="col">Name</th><th scope="col">Fingerprint</th><th scope="col">Origin</th>
        <th scope="col">Limits</th><th scope="col">Now</th><th scope="col">Actions</th></tr></thead>
      <tbody>${keys.map((k) => html`<tr data-key=${k.name}>
        <th scope="row">${k.name}</th>
        <td class="mono" data-label="Fingerprint">${k.fingerprint}</td>
        <td data-label="Origin">${k.origin}</td>
        <td data-field="limits" data-label="Limits">${describeLimits(k.limits)}</td>
        <td class="muted" data-label="Now">${k.usage ? `${fmtInt(k.usage["requests-last-minute"])} req/min · ${fmtInt(k.usage["requests-today"])} req today · ${fmtInt(k.usage["tokens-today"])} tokens today · ${fmtInt(k.usage["in-flight"])} in flight` : ""}</td>
        <td><div class="actions">
          ${k.origin === "config"
            ? html`<span class="muted">set in the config file</span>`
            : html`<button type="button" onClick=${() => setEditing(k.name)}>Edit limits</button>
              <button type="button" class="danger" onClick=${() => revoke(k.name)}>Revoke</button>`}
        </div></td>
      </tr>`)}</tbody>
    </table>${data && !keys.length && html`<p class="muted">No named client keys.</p>`}</div>`;
}

function describeLimits(limits = {}) {
  const parts = LIMITS.filter(([name]) => limits[name] != null).map(([name, label]) => `${label} ${fmtInt(limits[name])}`);
  if (limits.models) parts.push("models " + limits.models.join(", "));
  return parts.length ? parts.join(" · ") : "no limits";
}

function EditLimits({ item, onDone }) {
  const [error, setError] = useState(null);
  const save = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      await api("/client-keys/" + encodeURIComponent(item.name), { method: "PATCH", body: limitsOf(e.target) });
      toast(`Limits of ${item.name} saved`, "success");
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return html`<section class="card panel" aria-labelledby="edit-title">
    <h2 id="edit-title">Limits of ${item.name}</h2>
    <form onSubmit=${save}>
      <${LimitFields} limits=${item.limits} prefix="edit-" />
      <${ErrorLine} error=${error} />
      <div class="row"><button type="submit" class="primary">Save limits</button><button type="button" onClick=${onDone}>Cancel</button></div>
    </form>
  </section>`;
}
