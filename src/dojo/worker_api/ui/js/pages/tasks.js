// The task list: filters, sort and pages kept in the address; refreshes itself without moving the user.
import { api } from "../api.js";
import { h, mount, banner, timeLeft, short } from "../dom.js";
import { go } from "../main.js";

const LIMIT = 20;
const REFRESH_MS = 15000;
const FILTERS = {
  status: [["open", "Open"], ["all", "All"], ["completed", "Full"], ["expired", "Expired"], ["closed", "Closed"]],
  answered: [["", "Any"], ["false", "Not answered by me"], ["true", "Answered by me"]],
  type: [["", "Any type"], ["score", "Scores"], ["ranking", "Ranking"]],
  sort: [["newest", "Newest"], ["most_answered", "Most answered"], ["expiring", "Expiring soonest"]],
};
const LABELS = { status: "Status", answered: "Answered", type: "Type", sort: "Sort by" };

// The words for each status the API sends (dojo.worker_api.lifecycle decides it; the page never derives it):
// [CSS class, text]. "expired": its deadline passed; "closed": its miner's feedback arrived first.
const STATES = {
  open: ["open", "open"],
  completed: ["full", "full"],
  expired: ["expired", "expired"],
  closed: ["closed", "closed"],
};

/** The labeller's view of a task: the API's status, or "answered by me". */
export function stateOf(t) {
  if (t.answered) return ["answered", "answered by me"];
  return STATES[t.status] || [t.status, t.status];
}

export function criterionText(c) {
  return c && c.type === "ranking" ? "ranking" : `score ${c ? c.min : 1}–${c ? c.max : 10}`;
}

function readQuery(params) {
  const q = {};
  for (const k of Object.keys(FILTERS)) {
    const v = params.get(k);
    q[k] = FILTERS[k].some(([val]) => val === v) ? v : FILTERS[k][0][0];
  }
  q.page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
  return q;
}

function hashOf(q) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== "" && v !== null) p.set(k, String(v));
  return `#/tasks?${p}`;
}

function apiPath(q) {
  const p = new URLSearchParams({ status: q.status, sort: q.sort, page: String(q.page), limit: String(LIMIT) });
  if (q.answered) p.set("answered", q.answered);
  if (q.type) p.set("type", q.type);
  return `/tasks?${p}`;
}

export async function render(main, _arg, params) {
  const q = readQuery(params);
  const controls = h("form", { class: "filters", "aria-label": "Filter and sort tasks", onsubmit: (e) => e.preventDefault() },
    Object.entries(FILTERS).map(([k, options]) => {
      const sel = h("select", { id: `f-${k}`, name: k },
        options.map(([val, text]) => h("option", { value: val, selected: val === q[k] }, text)));
      sel.addEventListener("change", () => go(hashOf({ ...q, [k]: sel.value, page: 1 })));
      return h("label", { for: `f-${k}` }, LABELS[k], sel);
    }));
  const body = h("div", { id: "task-table", "aria-live": "off" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const updated = h("p", { class: "muted small", id: "list-updated" });
  const start = h("button", { type: "button", class: "primary", id: "start-next" }, "Start the next open task");
  start.addEventListener("click", async () => {
    try {
      const page = await api("GET", "/tasks?status=open&answered=false&sort=expiring&limit=1");
      if (page.tasks.length) go(`#/task/${encodeURIComponent(page.tasks[0].id)}`);
      else banner("No open task is waiting for you right now. The list refreshes on its own.");
    } catch (e) { if (e.kind !== "session") banner(e.message); }
  });
  mount(main, h("div", { class: "title-row" }, h("h1", {}, "Tasks"), start), controls, updated, body, pager);


  async function load() {
    let page;
    try {
      page = await api("GET", apiPath(q));
    } catch (e) {
      if (e.kind !== "session") updated.textContent = `Could not refresh: ${e.message}`;
      return;
    }

    const focusKey = document.activeElement && body.contains(document.activeElement)
      ? document.activeElement.dataset.key : null;
    draw(page);
    if (focusKey) { const again = body.querySelector(`[data-key="${CSS.escape(focusKey)}"]`); if (again) again.focus(); }
    updated.textContent = `${page.total} task${page.total === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString()}`;
  }

  function draw(page) {
    if (!page.tasks.length) {
      mount(body, h("div", { class: "empty", id: "tasks-empty" },
        h("p", {}, q.status === "open" ? "No open task right now." : "No task matches these filters."),
        h("p", { class: "muted" }, "New tasks appear here on their own. If you expected some, check your ",
          h("a", { href: "#/keys" }, "subscription keys"), ".")));
    } else {
      mount(body, h("table", { class: "tasks" },
        h("caption", { class: "sr-only" }, "Tasks, one per row"),
        h("thead", {}, h("tr", {}, ["Task", "Type", "State", "Answers", "Time left", "Miner"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, page.tasks.map((t) => {
          const [cls, text] = stateOf(t);
          return h("tr", { dataset: { task: t.id, state: cls } },
            h("td", { "data-label": "Task" }, h("a", { href: `#/task/${encodeURIComponent(t.id)}`, dataset: { key: `open-${t.id}` } },
              t.prompt_preview.slice(0, 140) || "(no prompt)"), h("span", { class: "muted small" }, ` · ${t.n_responses} responses`)),
            h("td", { "data-label": "Type" }, criterionText(t.criteria)),
            h("td", { "data-label": "State" }, h("span", { class: `pill ${cls}` }, text)),
            h("td", { "data-label": "Answers" }, h("span", { class: "slots", "aria-label": `${t.result_count} of ${t.max_results} answers` },
              `${t.result_count}/${t.max_results}`)),
            h("td", { "data-label": "Time left" }, h("span", { class: "left", dataset: { expire: t.expire_at } }, timeLeft(t.expire_at))),
            h("td", { "data-label": "Miner", title: t.miner_hotkey }, short(t.miner_hotkey)));
        }))));
    }
    const pages = Math.max(1, Math.ceil(page.total / LIMIT));
    const link = (p, text, label) => p < 1 || p > pages || p === q.page
      ? h("span", { class: "disabled", "aria-disabled": "true" }, text)
      : h("a", { href: hashOf({ ...q, page: p }), "aria-label": label, dataset: { key: `page-${text}` } }, text);
    mount(pager, link(q.page - 1, "← Previous", "Previous page"),
      h("span", { "aria-current": "page" }, ` Page ${q.page} of ${pages} `), link(q.page + 1, "Next →", "Next page"));
  }

  await load();
  const timer = setInterval(load, REFRESH_MS);
  const ticker = setInterval(() => {
    for (const el of body.querySelectorAll("[data-expire]")) el.textContent = timeLeft(el.dataset.expire);
  }, 1000);
  return () => { clearInterval(timer); clearInterval(ticker); };
}
