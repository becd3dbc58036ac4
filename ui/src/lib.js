// Shared pieces: htm bound to Preact, toasts, the confirm dialog, polling, formatting.
import { h, render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import htm from "htm";

export const html = htm.bind(h);

// ---- toasts: errors are role=alert, successes role=status -------------------------
let toastListener = () => {};
let toastId = 0;
export function toast(message, kind = "error") {
  toastListener({ id: ++toastId, message, kind });
}
/** Show an Error (an ApiError's message is the API's own words). */
export function toastError(error) {
  toast(error && error.message ? error.message : String(error), "error");
}

export function Toasts() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    toastListener = (item) => {
      setItems((list) => [...list.slice(-4), item]);
      setTimeout(() => setItems((list) => list.filter((t) => t.id !== item.id)), item.kind === "error" ? 12000 : 5000);
    };
    return () => (toastListener = () => {});
  }, []);
  const close = (id) => setItems((list) => list.filter((t) => t.id !== id));
  return html`<div id="toasts" aria-live="polite">
    ${items.map(
      (t) => html`<div key=${t.id} class=${"toast " + t.kind} role=${t.kind === "error" ? "alert" : "status"}>
        <span>${t.message}</span>
        <button type="button" class="plain" aria-label="Dismiss" onClick=${() => close(t.id)}>×</button>
      </div>`,
    )}
  </div>`;
}

// ---- the confirm dialog -------------------------------------------------------------
/**
 * Ask before a destructive action: resolves true only when the confirm button (named
 * `action`) is pressed.
 */
export function confirmAction({ title, message, action }) {
  return new Promise((resolve) => {
    const host = document.createElement("div");
    document.body.appendChild(host);
    const done = (answer) => {
      render(null, host);
      host.remove();
      resolve(answer);
    };
    render(html`<${Confirm} title=${title} message=${message} action=${action} done=${done} />`, host);
  });
}

function Confirm({ title, message, action, done }) {
  const ref = useRef();
  useEffect(() => {
    const dialog = ref.current;
    dialog.showModal();
    const cancel = (e) => {
      e.preventDefault();
      done(false);
    };
    dialog.addEventListener("cancel", cancel);
    return () => dialog.removeEventListener("cancel", cancel);
  }, []);
  return html`<dialog ref=${ref} aria-labelledby="confirm-title">
    <h2 id="confirm-title">${title}</h2>
    <p>${message}</p>
    <div class="actions">
      <button type="button" onClick=${() => done(false)} autofocus>Cancel</button>
      <button type="button" class="danger" onClick=${() => done(true)}>${action}</button>
    </div>
  </dialog>`;
}

// ---- polling while the page is visible ---------------------------------------------
/**
 * Run `load` now and every `ms` while the tab is visible; `deps` restart it. Returns
 * `[data, error, reload]`.
 */
export function usePoll(load, ms, deps = []) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const latest = useRef(load);
  latest.current = load;
  const tick = useRef(() => {});
  useEffect(() => {
    let alive = true;
    let timer = null;
    let running = false;
    const run = async () => {
      clearTimeout(timer);
      if (running) return;
      running = true;
      try {
        const value = await latest.current();
        if (alive) {
          setData(value);
          setError(null);
        }
      } catch (e) {
        if (alive) setError(e);
      } finally {
        running = false;
        if (alive && ms && !document.hidden) timer = setTimeout(run, ms);
      }
    };
    tick.current = run;
    const visibility = () => {
      if (!document.hidden) run();
      else clearTimeout(timer);
    };
    document.addEventListener("visibilitychange", visibility);
    run();
    return () => {
      alive = false;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", visibility);
    };
  }, deps);
  return [data, error, () => tick.current()];
}

/** An inline error region (role=alert) when `error` is set. */
export function ErrorLine({ error }) {
  return error ? html`<p class="error" role="alert">${error.message || String(error)}</p>` : null;
}

// ---- formatting ---------------------------------------------------------------------
export function fmtInt(n) {
  if (n === null || n === undefined) return "–";
  return Math.round(n).toLocaleString("en-US");
}

export function fmtCompact(n) {
  if (n === null || n === undefined) return "–";
  if (n >= 1e9) return (n / 1e9).toFixed(1) + "B";
  if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
  return fmtInt(n);
}

export function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  return ms >= 10000 ? (ms / 1000).toFixed(1) + " s" : Math.round(ms) + " ms";
}

export function fmtPercent(part, whole) {
  if (!whole) return "–";
  const p = (100 * part) / whole;
  return (p < 10 && p > 0 ? p.toFixed(1) : Math.round(p)) + " %";
}

/** An RFC 3339 time as local "YYYY-MM-DD HH:MM" (with seconds when `seconds`). */
export function fmtTime(text, seconds = false) {
  if (!text) return "–";
  const t = new Date(text);
  if (isNaN(t)) return text;
  const pad = (n) => String(n).padStart(2, "0");
  const day = `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
  const clock = `${pad(t.getHours())}:${pad(t.getMinutes())}` + (seconds ? `:${pad(t.getSeconds())}` : "");
  return `${day} ${clock}`;
}

/** "in 5 min", "3 h ago". */
export function fmtRelative(text) {
  if (!text) return "";
  const delta = (new Date(text).getTime() - Date.now()) / 1000;
  if (isNaN(delta)) return "";
  const abs = Math.abs(delta);
  const span = abs < 90 ? Math.round(abs) + " s" : abs < 5400 ? Math.round(abs / 60) + " min" : abs < 172800 ? Math.round(abs / 3600) + " h" : Math.round(abs / 86400) + " d";
  return delta >= 0 ? "in " + span : span + " ago";
}
