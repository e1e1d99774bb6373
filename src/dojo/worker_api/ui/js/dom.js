// Small DOM helpers: build elements without ever parsing untrusted text as HTML.

/** h("button", {class: "x", onclick: fn}, "text", child) — children are nodes or text. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace the children of ``el``. */
export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Say ``text`` to screen readers (polite live region). */
export function announce(text) {
  const region = document.getElementById("announce");
  region.textContent = "";
  requestAnimationFrame(() => { region.textContent = text; });
}

/** Show or hide the page-wide error banner (role=alert). ``action`` is an optional button node. */
export function banner(text, action = null) {
  const el = document.getElementById("banner");
  if (!text) { el.hidden = true; el.replaceChildren(); return; }
  mount(el, h("span", {}, text), action ? " " : null, action);
  el.hidden = false;
}

/** "3 min 20 s left" / "expired" for an ISO time. */
export function timeLeft(iso, now = Date.now()) {
  const s = Math.floor((Date.parse(iso) - now) / 1000);
  if (s <= 0) return "expired";
  if (s < 60) return `${s} s left`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s left`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours} h ${m % 60} min left`;
  return `${Math.floor(hours / 24)} days left`;
}

/** A short, readable date-time. */
export function when(iso) {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** "5FHneW…M694ty" */
export function short(id, n = 6) {
  return id && id.length > 2 * n + 1 ? `${id.slice(0, n)}…${id.slice(-n)}` : id;
}

/** "A", "B", … for response positions. */
export function letter(i) {
  return String.fromCharCode(65 + i);
}
