// Components: loaded adapters and fixups (version, contract version, hash, kind), the
// files refused with their reasons, uploading a .wasm (PUT adapters/{file}) and
// deleting one (asked first).
import { useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { ErrorLine, confirmAction, html, toast, toastError, usePoll } from "../lib.js";

export function Components() {
  const [data, error, reload] = usePoll(() => api("/adapters"), 5000);
  const [busy, setBusy] = useState(false);
  const [uploadError, setUploadError] = useState(null);
  const input = useRef();
  const upload = async (e) => {
    e.preventDefault();
    setUploadError(null);
    const file = input.current.files[0];
    if (!file) {
      setUploadError(new Error("Choose a .wasm file first."));
      return;
    }
    setBusy(true);
    try {
      const answer = await api("/adapters/" + encodeURIComponent(file.name), { method: "PUT", body: file, type: "application/wasm" });
      const c = answer.loaded || {};
      toast(`${file.name} is loaded: ${c.id || ""} ${c.version || ""}`.trim(), "success");
      input.current.value = "";
      reload();
    } catch (err) {
      setUploadError(new Error(`${file.name} was refused: ${err.message}`));
      reload();
    } finally {
      setBusy(false);
    }
  };
  const remove = async (file) => {
    if (!(await confirmAction({ title: `Delete ${file}?`, message: "The file is deleted from the adapters directory and its component unloaded; requests in flight finish on it.", action: "Delete" })))
      return;
    try {
      await api("/adapters/" + encodeURIComponent(file), { method: "DELETE" });
      toast(`Deleted ${file}`, "success");
      reload();
    } catch (err) {
      toastError(err);
    }
  };
  const loaded = data ? data.loaded : [];
  const refused = data ? data.refused : [];
  return html`<h1>Components</h1>
    ${data && html`<p class="muted">From <code>${data.dir}</code>.</p>`}
    <${ErrorLine} error=${error} />
    <form class="card panel row" onSubmit=${upload}>
      <label for="upload">Upload .wasm</label>
      <input id="upload" type="file" accept=".wasm" ref=${input} />
      <button type="submit" class="primary" disabled=${busy}>${busy ? "Uploading…" : "Upload"}</button>
      <${ErrorLine} error=${uploadError} />
    </form>
    <h2>Loaded</h2>
    <div class="table-wrap"><table class="cards" data-testid="components-table">
      <thead><tr><th scope="col">Component</th><th scope="col">Kind</th><th scope="col">Version</th><th scope="col">Contract</th>
        <th scope="col">Hash</th><th scope="col">File</th><th scope="col">Actions</th></tr></thead>
      <tbody>${loaded.map((c) => html`<tr data-component=${c.id}>
        <th scope="row">${c.id}</th>
        <td data-field="kind" data-label="Kind">${c.kind}</td>
        <td data-field="version" data-label="Version">${c.version}</td>
        <td data-field="contract" data-label="Contract">${c.contract_version}</td>
        <td data-field="hash" data-label="Hash" class="hash mono" title=${c.hash}>${c.hash}</td>
        <td class="mono" data-label="File">${c.file}</td>
        <td><button type="button" class="danger" onClick=${() => remove(c.file)}>Delete</button></td>
      </tr>`)}</tbody>
    </table>${data && !loaded.length && html`<p class="muted">Nothing loaded.</p>`}</div>
    ${refused.length > 0 && html`<h2>Refused files</h2>
      <div class="table-wrap"><table class="cards" data-testid="refused-table">
        <thead><tr><th scope="col">File</th><th scope="col">Reason</th><th scope="col">Actions</th></tr></thead>
        <tbody>${refused.map((r) => html`<tr data-refused=${r.file}>
          <th scope="row" class="mono">${r.file}</th>
          <td data-field="reason" data-label="Reason">${r.reason}</td>
          <td><button type="button" class="danger" onClick=${() => remove(r.file)}>Delete</button></td>
        </tr>`)}</tbody>
      </table></div>`}`;
}
