import { html } from "../lib.js";

export function Components() {
  return html`<h1>Components</h1><p>Coming up.</p>`;
}
