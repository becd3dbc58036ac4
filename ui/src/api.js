// The management API client: every call carries the key kept in sessionStorage, and
// every failure becomes an Error whose message is the API's own words.

const BASE = "/v0/management";
const STORE = "plugboard.management-key";

export function savedKey() {
  return sessionStorage.getItem(STORE);
}

export function saveKey(key) {
  sessionStorage.setItem(STORE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(STORE);
}

/** An API error: `status`, `code`, the API's `message`, and each of its `errors` when
 * it lists them (a refused config names every wrong key with its line). */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter, errors) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.errors = errors || [];
  }
}

// Called when the key stops working (401), so the page can go back to sign-in.
let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

async function errorOf(response) {
  let code = "http_" + response.status;
  let message = `The server answered ${response.status} ${response.statusText}`.trim();
  let errors = [];
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text);
    if (body && body.error) {
      code = body.error.code || code;
      message = body.error.message || message;
      if (Array.isArray(body.error.errors)) errors = body.error.errors.filter((e) => typeof e === "string");
    }
  } catch {
    if (text && text.length < 300) message = text.trim();
  }
  const retry = Number(response.headers.get("Retry-After")) || undefined;
  return new ApiError(response.status, code, message, retry, errors);
}

/**
 * Call `path` (under /v0/management) with the saved key (or `key`): the parsed JSON, or
 * the raw Response when `raw`. Throws ApiError in words.
 */
export async function api(path, { method = "GET", body, type, key, raw = false } = {}) {
  const headers = { Authorization: "Bearer " + (key ?? savedKey() ?? "") };
  let payload = body;
  if (body !== undefined && type === undefined && !(body instanceof Blob) && typeof body !== "string") {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  } else if (type) {
    headers["Content-Type"] = type;
  }
  let response;
  try {
    response = await fetch(BASE + path, { method, headers, body: payload, cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "network", "Plugboard could not be reached: " + e.message);
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && key === undefined) onUnauthorized(error);
    throw error;
  }
  if (raw) return response;
  const text = await response.text();
  return text ? JSON.parse(text) : {};
}
