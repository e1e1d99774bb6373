// The worker API client: every reply is {success, body, error}; failures become ApiError with words.
import { getSession, clearSession } from "./session.js";

export class ApiError extends Error {
  /** ``kind``: session | rate | expired | closed | full | answered | gone | invalid | network | server */
  constructor(status, message, kind, detail = "") {
    super(message);
    this.status = status;
    this.kind = kind;
    this.detail = detail;
  }
}

function explain(status, detail, retryAfter) {
  const d = detail || "";
  if (status === 401) return ["session", "Your session has expired or was ended. Sign in again — what you entered is kept."];
  if (status === 429) {
    const wait = retryAfter ? ` Try again in ${retryAfter} s.` : " Wait a moment and try again.";
    return ["rate", "Too many requests: you are going faster than the server allows." + wait];
  }
  if (status === 410 && /closed/i.test(d)) return ["closed", "This task is closed: its miner has sent feedback, so answers are no longer accepted."];
  if (status === 410) return ["expired", "This task has expired: answers are no longer accepted."];
  if (status === 409 && /already answered/i.test(d)) return ["answered", "You have already answered this task."];
  if (status === 409 && /results/i.test(d)) return ["full", "This task is full: it already has all the answers it needs."];
  if (status === 409) return ["conflict", d || "That conflicts with what is already there."];
  if (status === 404) return ["gone", d || "Not found."];
  if (status === 422) return ["invalid", d.replace(/^invalid request: /, "Please check: ") || "The request was not valid."];
  if (status >= 500) return ["server", "The server had a problem. Try again in a moment."];
  return ["other", d || `Request failed (${status}).`];
}

/** Call ``/api/v1{path}``; returns the reply body or throws ApiError. */
export async function api(method, path, { body, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const session = auth ? getSession() : null;
  if (auth && !session) {
    window.dispatchEvent(new CustomEvent("dojo:session-expired"));
    throw new ApiError(401, explain(401)[1], "session");
  }
  if (session) headers.Authorization = `Bearer ${session.token}`;
  let resp;
  try {
    resp = await fetch(`/api/v1${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit", cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "Cannot reach the server. Check your connection and try again.", "network");
  }
  let data = null;
  try { data = await resp.json(); } catch { data = null; }
  if (resp.ok && data && data.success) return data.body;
  const detail = (data && data.error) || resp.statusText;
  const [kind, message] = explain(resp.status, detail, resp.headers.get("Retry-After"));
  if (kind === "session" && auth) {
    clearSession();
    window.dispatchEvent(new CustomEvent("dojo:session-expired"));
  }
  throw new ApiError(resp.status, message, kind, detail);
}
