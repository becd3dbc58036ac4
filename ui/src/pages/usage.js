import { html } from "../lib.js";

export function Usage() {
  return html`<h1>Usage</h1><p>Coming up.</p>`;
}
