// The signed-in session: a JWT kept in localStorage until sign-out or its expiry.
const KEY = "dojo.session";

/** The live session {token, expires_at, address} or null (an expired one is dropped). */
export function getSession() {
  let s = null;
  try { s = JSON.parse(localStorage.getItem(KEY) || "null"); } catch { s = null; }
  if (!s || !s.token || !s.expires_at) return null;
  if (Date.parse(s.expires_at) <= Date.now()) { clearSession(); return null; }
  return s;
}

export function saveSession(token, expiresAt, address) {
  localStorage.setItem(KEY, JSON.stringify({ token, expires_at: expiresAt, address }));
}

export function clearSession() {
  localStorage.removeItem(KEY);
}

// Scores typed in but not yet accepted: kept per task in sessionStorage so that an error,
// a sign-in again or a reload never loses them.
const DRAFT = "dojo.draft.";

export function loadDraft(taskId) {
  try { return JSON.parse(sessionStorage.getItem(DRAFT + taskId) || "null"); } catch { return null; }
}

export function saveDraft(taskId, draft) {
  sessionStorage.setItem(DRAFT + taskId, JSON.stringify(draft));
}

export function dropDraft(taskId) {
  sessionStorage.removeItem(DRAFT + taskId);
}

const SKIPPED = "dojo.skipped";

/** Task ids the user skipped in this tab (not offered again as "next"). */
export function skipped() {
  try { return new Set(JSON.parse(sessionStorage.getItem(SKIPPED) || "[]")); } catch { return new Set(); }
}

export function addSkipped(taskId) {
  const s = skipped();
  s.add(taskId);
  sessionStorage.setItem(SKIPPED, JSON.stringify([...s].slice(-200)));
}
