// REST calls under /api/v1 with the session cookie. Errors carry the server's status, code,
// message and field list; a 401 anywhere but /session tells the app the session ended.

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || [];
  }
}

const unauthorizedListeners = [];

/** Called when a request answers 401: the cookie expired or the token was revoked. */
export function onUnauthorized(fn) { unauthorizedListeners.push(fn); }

export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch("/api/v1" + path, init);
  } catch (e) {
    throw new ApiError(0, "network", "The hub is not reachable. Check the connection and try again.");
  }
  const text = await response.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
  if (!response.ok) {
    const err = (json && json.error) || {};
    if (response.status === 401 && path !== "/session") unauthorizedListeners.forEach((fn) => fn());
    throw new ApiError(response.status, err.code || `http_${response.status}`,
      err.message || `The hub answered ${response.status} ${response.statusText}.`, err.fields);
  }
  return json;
}

/** The session, or null when not logged in (the hub answers 401 or {"authenticated":false}). */
export async function currentSession() {
  try {
    const s = await api("GET", "/session");
    return s && s.authenticated !== false ? s : null;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}
