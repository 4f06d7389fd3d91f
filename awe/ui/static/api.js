// The REST API as the page uses it: the user's token from sessionStorage, AWE's envelope
// unwrapped, errors as messages. Nothing here keeps state of the server's.

const TOKEN_KEY = "awe.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// One request; resolves to the whole envelope, rejects with ApiError (status 0: no answer).
export async function call(method, path) {
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  let response;
  try {
    response = await fetch(path, { method, headers, cache: "no-store" });
  } catch (err) {
    throw new ApiError(0, `cannot reach the server (${err.message})`);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(response.status, `HTTP ${response.status}: not an AWE answer`);
  }
  if (!response.ok || (body && body.error)) {
    const message = body && body.error ? body.error.join("; ") : `HTTP ${response.status}`;
    throw new ApiError(body && body.status ? body.status : response.status, message);
  }
  return body;
}

export async function get(path) {
  return (await call("GET", path)).data;
}

export function query(params) {
  const parts = [];
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === "" || value === false) continue;
    parts.push(value === true ? encodeURIComponent(key) : `${encodeURIComponent(key)}=${encodeURIComponent(value)}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

export function jobPath(id) {
  return `/job/${encodeURIComponent(id)}`;
}
