import { html } from "../lib.js";

export function ClientKeys() {
  return html`<h1>ClientKeys</h1><p>Coming up.</p>`;
}
