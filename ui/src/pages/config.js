// Config: the config file (secrets redacted) in an editor; Save validates and applies it
// (PUT config: the `[redacted]` placeholders keep the file's values); a refused config's
// errors are listed with their lines and the text stays as typed. "Reload from file"
// reads the file again (POST config/reload).
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorLine, html, toast } from "../lib.js";

/** A refusal as one entry per error, with the line it names: the API's list of errors
 * when it gives one, else its message line by line. */
function errorsOf(error) {
  const texts = error.errors && error.errors.length ? error.errors : (error.message || "").split(/\n+/);
  return texts
    .map((text) => text.trim())
    .filter(Boolean)
    .map((text) => {
      const found = text.match(/\bline (\d+)/);
      return { text, line: found ? Number(found[1]) : null };
    });
}

function describeOutcome(answer) {
  const o = answer.outcome || {};
  if (o.outcome === "unchanged") return `Unchanged: generation ${answer.generation} stays in force.`;
  let text = `Applied: generation ${answer.generation} is in force.`;
  if (o["providers-added"] && o["providers-added"].length) text += ` Added ${o["providers-added"].join(", ")}.`;
  if (o["providers-removed"] && o["providers-removed"].length) text += ` Removed ${o["providers-removed"].join(", ")}.`;
  if (o["pending-restart"] && o["pending-restart"].length) text += ` Waiting for a restart: ${o["pending-restart"].join(", ")}.`;
  return text;
}

export function Config() {
  const [path, setPath] = useState("");
  const [text, setText] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [errors, setErrors] = useState([]);
  const [outcome, setOutcome] = useState(null);
  const [warnings, setWarnings] = useState([]);
  const [busy, setBusy] = useState(false);
  const area = useRef();
  const load = async () => {
    try {
      const answer = await api("/config");
      setPath(answer.path);
      setText(answer.yaml);
      setLoadError(null);
    } catch (e) {
      setLoadError(e);
    }
  };
  useEffect(() => {
    load();
  }, []);
  const finish = async (call, reloadText) => {
    setBusy(true);
    setErrors([]);
    setOutcome(null);
    try {
      const answer = await call();
      setOutcome(describeOutcome(answer));
      setWarnings((answer.outcome && answer.outcome.warnings) || []);
      toast(describeOutcome(answer), "success");
      if (reloadText) await load();
    } catch (e) {
      setErrors(errorsOf(e));
    } finally {
      setBusy(false);
    }
  };
  const save = (e) => {
    e.preventDefault();
    finish(() => api("/config", { method: "PUT", body: area.current.value, type: "application/yaml" }), true);
  };
  const reloadFromFile = () => {
    finish(() => api("/config/reload", { method: "POST" }), true);
  };
  const jump = (line) => {
    const lines = area.current.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    area.current.focus();
    area.current.setSelectionRange(start, start + (lines[line - 1] || "").length);
  };
  return html`<h1>Config</h1>
    ${path && html`<p class="muted">The file <code>${path}</code>, secrets shown as <code>'[redacted]'</code>: leave those as they are to keep the file's values. Saving writes the text as it is here (the file's comments are not shown, so they are not kept).</p>`}
    <${ErrorLine} error=${loadError} />
    <form onSubmit=${save}>
      <label for="config-text">Config (YAML)</label>
      <textarea id="config-text" name="config" spellcheck="false" autocapitalize="off" value=${text ?? ""} onInput=${(e) => setText(e.target.value)} ref=${area}></textarea>
      ${errors.length > 0 && html`<div role="alert">
        <p class="error">The config was refused; the one in force stays.</p>
        <ul id="config-errors">${errors.map((e) => html`<li data-line=${e.line ?? ""}>
          ${e.line ? html`<button type="button" class="plain" onClick=${() => jump(e.line)}>Line ${e.line}</button>: ` : ""}${e.text}</li>`)}</ul>
      </div>`}
      ${outcome && html`<p role="status">${outcome}</p>`}
      ${warnings.length > 0 && html`<ul>${warnings.map((w) => html`<li>${w}</li>`)}</ul>`}
      <div class="row">
        <button type="submit" class="primary" disabled=${busy || text === null}>Save</button>
        <button type="button" disabled=${busy} onClick=${reloadFromFile}>Reload from file</button>
      </div>
    </form>`;
}
