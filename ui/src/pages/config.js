import { html } from "../lib.js";

export function Config() {
  return html`<h1>Config</h1><p>Coming up.</p>`;
}
