// The router: hash routes (#/tasks, #/task/<id>, #/keys, #/work, #/signin) so a static server is enough.
import { api } from "./api.js";
import { banner, short } from "./dom.js";
import { clearSession, getSession } from "./session.js";
import * as signin from "./pages/signin.js";
import * as keys from "./pages/keys.js";
import * as tasks from "./pages/tasks.js";
import * as task from "./pages/task.js";
import * as work from "./pages/work.js";

const ROUTES = { signin, keys, tasks, task, work };
let cleanup = null;
let lastHash = null;
let flash = null;
let navToken = 0;  // a render that finishes after a newer navigation began is dropped  // a message for the page being opened (a banner set before navigating would be cleared)

/** "#/task/abc?x=1" → {name: "task", arg: "abc", params: URLSearchParams} */
export function parseHash(hash = location.hash) {
  const [path, query = ""] = hash.replace(/^#\/?/, "").split("?");
  const [name, ...rest] = path.split("/");
  return { name: name || "tasks", arg: rest.map(decodeURIComponent).join("/"), params: new URLSearchParams(query) };
}

/** Go to ``hash`` (e.g. "#/tasks"); ``replace`` keeps the history entry; ``message`` is shown there. */
export function go(hash, { replace = false, message = null } = {}) {
  flash = message;
  if (location.hash === hash) { route(true); return; }
  if (replace) history.replaceState(null, "", hash);
  else location.hash = hash;
  if (replace) route();
}

function setNav(name) {
  const s = getSession();
  const nav = document.getElementById("nav");
  nav.hidden = !s;
  document.getElementById("who").textContent = s ? short(s.address, 5) : "";
  document.getElementById("who").title = s ? s.address : "";
  for (const a of nav.querySelectorAll("a[data-nav]")) {
    if (a.dataset.nav === name || (name === "task" && a.dataset.nav === "tasks")) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function route(force = false) {
  if (!force && location.hash === lastHash) return;
  const moved = lastHash !== null;
  lastHash = location.hash;
  const where = parseHash();
  let page = ROUTES[where.name] || tasks;
  if (page !== signin && !getSession()) {
    const next = location.hash && !location.hash.startsWith("#/signin") ? location.hash : "#/tasks";
    history.replaceState(null, "", `#/signin?next=${encodeURIComponent(next)}`);
    lastHash = location.hash;
    page = signin;
    where.params = new URLSearchParams({ next });
  }
  const token = ++navToken;
  if (cleanup) { try { cleanup(); } catch { /* page already gone */ } }
  cleanup = null;
  const main = document.getElementById("main");
  // each navigation renders into its own container: a slow, outdated render only fills a detached one
  const view = document.createElement("div");
  view.className = "view";
  main.replaceChildren(view);
  setNav(page === signin ? "signin" : where.name);
  if (page !== signin) banner(flash);
  flash = null;
  const done = (await page.render(view, where.arg, where.params)) || null;
  if (token !== navToken) { if (done) { try { done(); } catch { /* ignore */ } } return; }
  cleanup = done;
  if (moved && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", () => route());
window.addEventListener("dojo:session-expired", () => {
  if (parseHash().name === "signin") return;
  const next = location.hash || "#/tasks";
  banner("Your session has expired or was ended. Sign in again — what you entered is kept.");
  go(`#/signin?next=${encodeURIComponent(next)}&expired=1`);
});
window.addEventListener("dojo:signed-in", () => setNav(parseHash().name));

document.getElementById("signout").addEventListener("click", async () => {
  try { await api("POST", "/worker/logout"); } catch { /* signing out anyway */ }
  clearSession();
  banner(null);
  go("#/signin");
});

route(true);
