// Accounts: every stored account with its state, expiry and quota bars, polled every
// 2 s; enable, disable, refresh, remove (asked first); and adding one through the
// server's login sessions (device code, or authorization link + pasted redirect).
import { useEffect, useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorLine, confirmAction, fmtRelative, fmtTime, html, toast, toastError, usePoll } from "../lib.js";

export function Accounts() {
  const [data, error, reload] = usePoll(() => api("/accounts"), 2000);
  const [adding, setAdding] = useState(false);
  const accounts = data ? data.accounts : [];
  return html`<h1>Accounts</h1>
    <div class="toolbar">
      <button type="button" class="primary" aria-expanded=${adding} onClick=${() => setAdding(!adding)}>Add account</button>
    </div>
    ${adding && html`<${AddAccount} onClose=${() => setAdding(false)} onAdded=${reload} />`}
    <${ErrorLine} error=${error} />
    ${data && !accounts.length && html`<p class="muted">No accounts in the credential store yet.</p>`}
    ${accounts.length > 0 && html`<div class="table-wrap"><table class="cards" data-testid="accounts-table">
      <caption class="muted" hidden>Stored accounts</caption>
      <thead><tr>
        <th scope="col">Account</th><th scope="col">Type</th><th scope="col">Label</th><th scope="col">Provider</th>
        <th scope="col">State</th><th scope="col">Expiry</th><th scope="col">Quota</th><th scope="col">Actions</th>
      </tr></thead>
      <tbody>${accounts.map((a) => html`<${AccountRow} key=${a.id} account=${a} reload=${reload} />`)}</tbody>
    </table></div>`}
    ${data && data.refused && data.refused.length > 0 && html`<h2>Refused files</h2>
      <ul>${data.refused.map((r) => html`<li><code>${r.path}</code>: ${r.reason}</li>`)}</ul>`}`;
}

/** The state in words: ok / cooling until T / expired / disabled: reason. */
function stateText(a) {
  switch (a.state) {
    case "ok":
      return "ok";
    case "cooling":
      return `cooling until ${fmtTime(a.cooling_until, true)}` + (a.reason ? ` (${a.reason})` : "");
    case "expired":
      return "expired" + (a.reason ? `: ${a.reason}` : "");
    case "disabled":
      return `disabled: ${a.reason || "no reason given"}`;
    default:
      return a.state.replace(/-/g, " ") + (a.reason ? `: ${a.reason}` : "");
  }
}

function AccountRow({ account: a, reload }) {
  const [busy, setBusy] = useState(false);
  const act = async (action, done) => {
    setBusy(true);
    try {
      await api(action.path, { method: action.method || "POST" });
      toast(done, "success");
      reload();
    } catch (e) {
      toastError(e);
    } finally {
      setBusy(false);
    }
  };
  const path = "/accounts/" + encodeURIComponent(a.id);
  const disable = async () => {
    if (await confirmAction({ title: "Disable this account?", message: `No entry routes to ${a.id} until it is enabled again.`, action: "Disable" }))
      act({ path: path + "/disable" }, `Disabled ${a.id}`);
  };
  const remove = async () => {
    if (await confirmAction({ title: "Remove this account?", message: `The credential file of ${a.id} is deleted; logging in again is the only way back.`, action: "Remove" }))
      act({ path, method: "DELETE" }, `Removed ${a.id}`);
  };
  return html`<tr data-account=${a.id}>
    <th scope="row" class="mono">${a.id}</th>
    <td data-field="type" data-label="Type">${a.type}<div class="muted">${a.kind}</div></td>
    <td data-field="label" data-label="Label">${a.label || "–"}</td>
    <td data-field="provider" data-label="Provider">${(a.entries || []).join(", ") || "–"}</td>
    <td data-field="state" data-label="State"><span class=${"state-" + a.state}>${stateText(a)}</span>
      ${a.last_error && a.state === "ok" && html`<div class="muted">${a.last_error}</div>`}</td>
    <td data-field="expiry" data-label="Expiry">${a.expires_at ? html`${fmtTime(a.expires_at)}<div class="muted">${fmtRelative(a.expires_at)}</div>` : "–"}</td>
    <td data-field="quota" data-label="Quota"><${Quota} quota=${a.quota} /></td>
    <td data-label="Actions"><div class="actions">
      ${a.state === "disabled"
        ? html`<button type="button" disabled=${busy} onClick=${() => act({ path: path + "/enable" }, `Enabled ${a.id}`)}>Enable</button>`
        : html`<button type="button" disabled=${busy} onClick=${disable}>Disable</button>`}
      <button type="button" disabled=${busy} onClick=${() => act({ path: path + "/refresh" }, `Refreshed ${a.id}`)}>Refresh</button>
      <button type="button" class="danger" disabled=${busy} onClick=${remove}>Remove</button>
    </div></td>
  </tr>`;
}

function Quota({ quota }) {
  if (!quota || !quota.windows || !quota.windows.length)
    return quota && quota.error ? html`<span class="error">${quota.error}</span>` : html`<span class="muted">–</span>`;
  return html`<div class="quota">
    ${quota.windows.map((w) => {
      const label = `${w.name}: ${round(w.used)}${w.limit != null ? " / " + round(w.limit) : ""} ${w.unit}`;
      const resets = w.resets_at ? ` · resets ${fmtRelative(new Date(w.resets_at * 1000).toISOString())}` : "";
      if (w.limit == null || w.limit <= 0) return html`<div class="caption">${label} (no limit)</div>`;
      const share = Math.min(1, w.used / w.limit);
      return html`<div>
        <div class="bar" role="progressbar" aria-label=${w.name} aria-valuemin="0" aria-valuenow=${round(w.used)} aria-valuemax=${round(w.limit)}>
          <div class=${"fill" + (share >= 1 ? " full" : share >= 0.8 ? " high" : "")} style=${{ width: (share * 100).toFixed(1) + "%" }}></div>
        </div>
        <div class="caption">${label}${resets}</div>
      </div>`;
    })}
    ${quota.error && html`<div class="caption error">${quota.error}</div>`}
  </div>`;
}

function round(n) {
  return Math.round(n * 10) / 10;
}

function AddAccount({ onClose, onAdded }) {
  const [status] = usePoll(() => api("/status"), 0);
  const entries = status ? (status.providers || []).filter((p) => p.logins && p.logins.length) : [];
  const [entry, setEntry] = useState("");
  const [kind, setKind] = useState("");
  const [session, setSession] = useState(null);
  const [error, setError] = useState(null);
  const chosen = entries.find((e) => e.name === entry) || entries[0];
  const kinds = chosen ? chosen.logins : [];
  const kindChosen = kinds.find((k) => k.kind === kind) || kinds[0];
  const start = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const body = { entry: chosen.name };
      if (kindChosen) body.kind = kindChosen.kind;
      setSession(await api("/accounts/login", { method: "POST", body }));
    } catch (err) {
      setError(err);
    }
  };
  // Escape closes the form (unless a dialog is open: it takes its own Escape).
  useEffect(() => {
    const escape = (e) => {
      if (e.key === "Escape" && !document.querySelector("dialog[open]")) onClose();
    };
    document.addEventListener("keydown", escape);
    return () => document.removeEventListener("keydown", escape);
  }, []);
  return html`<section class="card panel" aria-labelledby="add-title">
    <h2 id="add-title">Add account</h2>
    ${status && !entries.length && html`<p class="muted">No provider entry of the config has a login (its adapter declares only keys, or it is not loaded).</p>`}
    ${entries.length > 0 && !session && html`<form onSubmit=${start}>
      <div class="fields">
        <div class="field"><label for="login-entry">Provider entry</label>
          <select id="login-entry" name="entry" value=${chosen && chosen.name} onChange=${(e) => { setEntry(e.target.value); setKind(""); }}>
            ${entries.map((p) => html`<option value=${p.name}>${p.name} (${p.adapter})</option>`)}
          </select></div>
        <div class="field"><label for="login-kind">Credential kind</label>
          <select id="login-kind" name="kind" value=${kindChosen && kindChosen.kind} onChange=${(e) => setKind(e.target.value)}>
            ${kinds.map((k) => html`<option value=${k.kind}>${k.kind}${k.description ? " – " + k.description : ""}</option>`)}
          </select></div>
      </div>
      <${ErrorLine} error=${error} />
      <div class="row"><button type="submit" class="primary">Start login</button><button type="button" onClick=${onClose}>Cancel</button></div>
    </form>`}
    ${session && html`<${LoginSession} first=${session} onAdded=${onAdded} onClose=${onClose} />`}
  </section>`;
}

function LoginSession({ first, onAdded, onClose }) {
  const [view, setView] = useState(first);
  const [redirect, setRedirect] = useState("");
  const [error, setError] = useState(null);
  const id = first.session;
  const pending = view.state === "pending";
  useEffect(() => {
    if (!pending) return;
    const timer = setInterval(async () => {
      try {
        const next = await api("/accounts/login/" + encodeURIComponent(id));
        setView(next);
        if (next.state === "done") onAdded();
      } catch (e) {
        setError(e);
      }
    }, 1500);
    return () => clearInterval(timer);
  }, [pending]);
  const complete = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      setView(await api("/accounts/login/" + encodeURIComponent(id), { method: "POST", body: { redirect_url: redirect.trim() } }));
    } catch (err) {
      setError(err);
    }
  };
  const device = view.device || first.device;
  const link = device && (device.verification_uri_complete || device.verification_uri);
  const authorize = view.authorization_url || first.authorization_url;
  return html`<div>
    ${device && html`<p>Open <a data-testid="verification-url" href=${link} target="_blank" rel="noopener noreferrer">${link}</a> and enter the code</p>
      <p class="code mono" data-testid="device-code">${device.user_code}</p>`}
    ${authorize && html`<p>Open <a data-testid="authorize-url" href=${authorize} target="_blank" rel="noopener noreferrer">the authorization page</a> and approve. When the browser is not on the server's machine, it ends on an address that does not load: paste that address here.</p>
      ${pending && html`<form onSubmit=${complete}>
        <label for="redirect">Redirect URL</label>
        <textarea id="redirect" name="redirect" rows="3" value=${redirect} onInput=${(e) => setRedirect(e.target.value)}></textarea>
        <div class="row"><button type="submit" class="primary">Complete</button></div>
      </form>`}`}
    <p data-testid="login-status" role="status">${
      view.state === "done"
        ? `Added: ${view.account}${view.verb && view.verb !== "added" ? ` (${view.verb})` : ""}`
        : view.state === "failed"
          ? `Failed: ${view.reason}`
          : "Waiting for the login to complete…"
    }</p>
    <${ErrorLine} error=${error} />
    ${view.state === "failed" && html`<p class="error" role="alert">${view.reason}</p>`}
    <div class="row"><button type="button" onClick=${onClose}>${pending ? "Cancel" : "Close"}</button></div>
  </div>`;
}
