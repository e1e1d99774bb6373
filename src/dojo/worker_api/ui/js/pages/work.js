// My work: tasks done, and the grades miners fed back (accuracy against the hidden order), per miner.
import { api } from "../api.js";
import { h, mount, short, when } from "../dom.js";

const pct = (g) => (g === null || g === undefined ? "not graded yet" : `${Math.round(g * 100)}%`);

export async function render(main) {
  mount(main, h("h1", {}, "My work"), h("p", { class: "muted" }, "Loading…"));
  let w;
  try {
    w = await api("GET", "/worker/work");
  } catch (e) {
    if (e.kind !== "session") mount(main, h("h1", {}, "My work"), h("p", { role: "alert", class: "warn" }, e.message));
    return null;
  }
  const stat = (value, label, id) => h("div", { class: "stat", id }, h("strong", {}, String(value)), h("span", {}, label));
  mount(main,
    h("h1", {}, "My work"),
    h("div", { class: "stats" },
      stat(w.tasks_done, "tasks answered", "stat-done"),
      stat(w.graded, "graded by miners", "stat-graded"),
      stat(pct(w.mean_grade), "mean accuracy", "stat-accuracy")),
    h("p", { class: "muted small" }, "Accuracy is the grade a miner gives each answer once the task's deadline has passed: ",
      "how closely your scores matched the hidden quality order (100% = the same order)."),
    h("h2", {}, "Per miner"),
    w.miners.length ? h("table", { class: "plain", id: "per-miner" },
      h("thead", {}, h("tr", {}, ["Miner", "Your name for it", "Answered", "Graded", "Accuracy"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, w.miners.map((m) => h("tr", {},
        h("td", { "data-label": "Miner", title: m.miner_hotkey }, short(m.miner_hotkey)),
        h("td", { "data-label": "Name" }, m.partner_names.join(", ") || "—"),
        h("td", { "data-label": "Answered" }, String(m.tasks_done)),
        h("td", { "data-label": "Graded" }, String(m.graded)),
        h("td", { "data-label": "Accuracy" }, pct(m.mean_grade))))))
      : h("p", { class: "empty" }, "Nothing yet: answer a task and it shows up here. ", h("a", { href: "#/tasks" }, "Go to the tasks.")),
    h("h2", {}, "Recent answers"),
    w.recent.length ? h("ul", { class: "rows", id: "recent" }, w.recent.map((r) => h("li", { class: "row" },
      h("div", { class: "grow" }, h("a", { href: `#/task/${encodeURIComponent(r.task_id)}` }, r.prompt_preview.slice(0, 120) || "(no prompt)"),
        h("div", { class: "muted small" }, `${when(r.submitted_at)} · miner ${short(r.miner_hotkey)}`)),
      h("span", { class: `pill ${r.grade === null ? "" : "ok"}` }, pct(r.grade)))))
      : h("p", { class: "muted" }, "No answers yet."));
  return null;
}
