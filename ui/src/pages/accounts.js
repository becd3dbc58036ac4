import { html } from "../lib.js";

export function Accounts() {
  return html`<h1>Accounts</h1><p>Coming up.</p>`;
}
