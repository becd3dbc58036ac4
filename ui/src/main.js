// Plugboard's web page: sign in with the management key, then the pages under hash
// routes (#/overview, #/accounts, ...). Everything shown comes from the management API.
import "./style.css";
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, ApiError, forgetKey, saveKey, savedKey, setUnauthorizedHandler } from "./api.js";
import { html, Toasts, fmtTime } from "./lib.js";
import { Overview } from "./pages/overview.js";
import { Accounts } from "./pages/accounts.js";
import { Usage } from "./pages/usage.js";
import { Components } from "./pages/components.js";
import { ClientKeys } from "./pages/keys.js";
import { Config } from "./pages/config.js";

const PAGES = [
  ["overview", "Overview", Overview],
  ["accounts", "Accounts", Accounts],
  ["usage", "Usage", Usage],
  ["components", "Components", Components],
  ["keys", "Client keys", ClientKeys],
  ["config", "Config", Config],
];

function currentRoute() {
  const name = location.hash.replace(/^#\/?/, "").split("?")[0];
  return PAGES.some(([id]) => id === name) ? name : "overview";
}

/** Words for a refused sign-in. */
function refusal(error) {
  if (!(error instanceof ApiError)) return String(error.message || error);
  switch (error.status) {
    case 401:
      return "That management key was refused.";
    case 429: {
      const seconds = error.retryAfter;
      if (!seconds) return error.message;
      const at = new Date(Date.now() + seconds * 1000);
      return `Too many failed attempts from this address: sign-in is locked for ${Math.ceil(seconds / 60)} min; try again after ${fmtTime(at.toISOString(), true)}.`;
    }
    case 404:
      return "The management API is off on this server: configure a management key (management.key or PLUGBOARD_MANAGEMENT_KEY) and restart.";
    default:
      return error.message;
  }
}

function SignIn({ onSignedIn, notice }) {
  const [key, setKey] = useState("");
  const [error, setError] = useState(notice || "");
  const [busy, setBusy] = useState(false);
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const status = await api("/status", { key });
      saveKey(key);
      onSignedIn(status);
    } catch (err) {
      setError(refusal(err));
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin-page">
    <form id="signin" class="card" onSubmit=${submit}>
      <h1><img src=${document.querySelector("link[rel=icon]")?.href} alt="" width="28" height="28" /> Plugboard</h1>
      <p class="muted">The management key (<code>management.key</code> or <code>PLUGBOARD_MANAGEMENT_KEY</code>) opens this page. It is kept in this tab only.</p>
      <label for="key">Management key</label>
      <input id="key" name="key" type="password" autocomplete="current-password" required
        value=${key} onInput=${(e) => setKey(e.target.value)} />
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <button type="submit" class="primary" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

function App() {
  const [signedIn, setSignedIn] = useState(Boolean(savedKey()));
  const [notice, setNotice] = useState("");
  const [route, setRoute] = useState(currentRoute());
  const [version, setVersion] = useState("");
  useEffect(() => {
    const changed = () => setRoute(currentRoute());
    window.addEventListener("hashchange", changed);
    setUnauthorizedHandler(() => {
      forgetKey();
      setNotice("The management key stopped working; sign in again.");
      setSignedIn(false);
    });
    return () => window.removeEventListener("hashchange", changed);
  }, []);
  useEffect(() => {
    if (signedIn) api("/status").then((s) => setVersion(s.version), () => {});
  }, [signedIn]);
  if (!signedIn) {
    return html`<${SignIn} notice=${notice} onSignedIn=${(status) => {
      setVersion(status.version);
      setNotice("");
      setSignedIn(true);
      if (!location.hash) location.hash = "#/overview";
    }} /><${Toasts} />`;
  }
  const signOut = () => {
    forgetKey();
    setSignedIn(false);
  };
  const [, , Page] = PAGES.find(([id]) => id === route);
  return html`<header class="top">
      <a class="brand" href="#/overview">Plugboard</a>
      <nav aria-label="Pages">
        ${PAGES.map(
          ([id, label]) => html`<a href=${"#/" + id} aria-current=${id === route ? "page" : undefined}>${label}</a>`,
        )}
      </nav>
      <span class="version muted">${version}</span>
      <button type="button" onClick=${signOut}>Sign out</button>
    </header>
    <main id="page" class="page" tabindex="-1">
      <${Page} key=${route} />
    </main>
    <${Toasts} />`;
}

render(html`<${App} />`, document.getElementById("app"));
