// One task: the prompt, every response live in its own sandboxed frame, a score per response, submit.
import { api } from "../api.js";
import { h, mount, announce, timeLeft, when, letter, short } from "../dom.js";
import { runFrames } from "../frames.js";
import { scoreControl, rankingList, ranksOf } from "../scoring.js";
import { addSkipped, dropDraft, loadDraft, saveDraft, skipped } from "../session.js";
import { go } from "../main.js";
import { criterionText, stateOf } from "./tasks.js";

/** The next open task this labeller has not answered or skipped, other than ``current``. */
export async function nextOpenTask(current) {
  const page = await api("GET", "/tasks?status=open&answered=false&sort=expiring&limit=50");
  const skip = skipped();
  const pick = page.tasks.find((t) => t.id !== current && !skip.has(t.id));
  return pick ? pick.id : null;
}

async function goNext(current, doneText) {
  let next = null;
  try { next = await nextOpenTask(current); } catch (e) { if (e.kind === "session") return; }
  if (next) {
    announce(doneText ? `${doneText} Opening the next task.` : "Opening the next task.");
    go(`#/task/${encodeURIComponent(next)}`, { message: doneText ? `${doneText} Here is the next task.` : null });
  } else {
    go("#/tasks?status=open", { message: `${doneText ? doneText + " " : ""}No other open task is waiting for you right now.` });
  }
}

function unavailable(main, e) {
  const words = e.kind === "gone"
    ? "This task is not available to you. It may belong to a miner whose subscription key was revoked or that you removed."
    : e.message;
  mount(main, h("section", { class: "card narrow", id: "task-missing" },
    h("h1", {}, "Task not available"), h("p", { role: "alert" }, words),
    h("p", {}, h("a", { href: "#/tasks" }, "Back to the task list"), " · ", h("a", { href: "#/keys" }, "Check your subscription keys"))));
}

const CLOSED_WORDS = {
  full: "This task is full: it has all the answers it needs.",
  expired: "This task has expired: answers are no longer accepted.",
  closed: "This task is closed: its miner has sent feedback, so answers are no longer accepted.",
};

export async function render(main, taskId) {
  mount(main, h("p", { class: "muted" }, "Loading the task…"));
  let task;
  try {
    task = await api("GET", `/tasks/${encodeURIComponent(taskId)}`);
  } catch (e) {
    if (e.kind !== "session") unavailable(main, e);
    return null;
  }
  const ranking = task.criteria.type === "ranking";
  const ids = task.responses.map((r) => r.completion_id);
  const names = Object.fromEntries(ids.map((id, i) => [id, `Response ${letter(i)}`]));
  const draft = loadDraft(task.id) || { scores: {}, order: null, touched: false };
  const mine = task.my_result;
  let [state] = stateOf(task);
  let closed = state !== "open";

  const error = h("div", { class: "error-box", id: "task-error", role: "alert", hidden: true });
  const progress = h("p", { id: "progress", class: "muted", "aria-live": "polite" });
  const submit = h("button", { type: "button", class: "primary big", id: "submit", "aria-describedby": "progress" }, "Submit");
  const skip = h("button", { type: "button", id: "skip" }, "Skip");
  const stateBox = h("span", { class: "pill", id: "task-state" });
  const left = h("span", { id: "time-left" });

  const complete = () => ranking ? !!draft.touched : ids.every((id) => Number.isFinite(draft.scores[id]));
  function showError(text) { error.hidden = !text; error.textContent = text || ""; }
  function update() {
    const n = ranking ? (draft.touched ? ids.length : 0) : ids.filter((id) => Number.isFinite(draft.scores[id])).length;
    submit.disabled = closed || !!mine || !complete();
    if (mine) progress.textContent = "You have answered this task.";
    else if (closed) progress.textContent = CLOSED_WORDS[state] || CLOSED_WORDS.expired;
    else if (ranking) progress.textContent = draft.touched ? "Ranking ready — press Enter or Submit."
      : "Order the responses, best first, to enable Submit.";
    else progress.textContent = n === ids.length ? `All ${n} responses scored — press Enter or Submit.`
      : `${n} of ${ids.length} responses scored. Score every response to enable Submit.`;
    stateBox.className = `pill ${state}`;
    stateBox.textContent = mine ? "answered by me" : state;
  }
  const nextButton = () => h("button", { type: "button", class: "primary", id: "next-task",
    onclick: () => goNext(task.id, "") }, "Next open task");
  const actions = h("div", { class: "actions" });
  function setClosed(newState) {
    state = newState;
    closed = true;
    for (const b of main.querySelectorAll(".score-btn, .rank-item button")) b.disabled = true;
    mount(actions, nextButton());
    update();
  }

  const persist = () => { saveDraft(task.id, draft); update(); };
  const given = mine ? mine.scores : null;
  const slots = [];
  const cards = task.responses.map((r, i) => {
    const title = `Response ${letter(i)}`;
    const control = ranking ? null : scoreControl({
      min: task.criteria.min, max: task.criteria.max, label: `Score for ${title}`,
      value: given ? given[r.completion_id] ?? null : draft.scores[r.completion_id] ?? null,
      disabled: !!mine || closed,
      onChange: (v) => { draft.scores[r.completion_id] = v; persist(); },
    });
    const slot = { title, content: r.content };
    slot.enter = h("button", { type: "button", class: "small-btn enter-frame", "aria-label": `Use ${title} with the keyboard`,
      disabled: true,
      onclick: () => { if (slot.frame) slot.frame.focus(); announce(`In ${title}. Tab moves through it and then back to the page.`); } },
    "Use with keyboard");
    slot.box = h("div", { class: "frame-box" }, h("p", { class: "muted small frame-wait" }, "Loading…"));
    slot.stuck = h("p", { class: "warn small frame-stuck", role: "status" });
    slot.rerun = h("button", { type: "button", class: "small-btn", onclick: () => frames.again(slot) });
    slot.notice = h("div", { class: "frame-notice", hidden: true }, slot.stuck, slot.rerun);
    slot.note = h("p", { class: "muted small frame-note", role: "status", hidden: true });
    slots.push(slot);
    return h("section", { class: "response", "aria-labelledby": `resp-${i}` },
      h("div", { class: "response-head" }, h("h2", { id: `resp-${i}` }, title), slot.enter),
      slot.box, slot.notice, slot.note,
      control ? h("div", { class: "score-row" }, h("span", { class: "score-label", "aria-hidden": "true" },
        `Score ${task.criteria.min}–${task.criteria.max}`), control) : null);
  });
  // What the labeller is told about each frame (frames.js decides; the words are here)
  const STOPPED = {
    stuck: (t) => [`${t} stopped responding — it seems to be stuck in an endless loop — so it was stopped. `
      + "Score it on what you saw, or run it again.", `Run ${t} again`],
    left: (t) => [`${t} tried to open another page, which responses may not do, so it was stopped. `
      + "Score it on what you saw, or show it again.", `Show ${t} again`],
    frozen: (t) => [`${t} stopped responding: one of the responses froze them all and it could not be told which. `
      + "Score it on what you saw, or run it again.", `Run ${t} again`],
  };
  function onFrame(slot, state, detail) {
    slot.enter.disabled = state !== "running";
    if (state === "reloaded") {
      slot.note.hidden = false;
      slot.note.textContent = detail ? `Reloaded because ${detail} froze it.` : "Reloaded because a response froze it.";
      return;
    }
    const words = STOPPED[state];
    slot.notice.hidden = !words;
    if (!words) return;
    const [text, again] = words(slot.title);
    slot.stuck.textContent = text;
    slot.rerun.textContent = again;
    slot.box.replaceChildren(h("p", { class: "muted small frame-wait" }, `${slot.title} is stopped.`));
    announce(text);
  }

  let rankingBox = null;
  if (ranking) {
    const order = given ? [...ids].sort((a, b) => given[a] - given[b]) : draft.order;
    rankingBox = h("section", { class: "card", "aria-labelledby": "rank-title" },
      h("h2", { id: "rank-title" }, "Your ranking"),
      h("p", { class: "muted small", id: "rank-help" }, "Best first. Drag the items, or focus one and press Alt+↑/↓ ",
        "(or Space to grab, arrows to move, Space to drop)."),
      rankingList({ ids, names, order, disabled: !!mine || closed,
        onChange: (o) => { draft.order = o; draft.touched = true; persist(); } }));
    if (!draft.order) draft.order = [...ids];
  }

  async function send() {
    if (submit.disabled) return;
    submit.disabled = true;
    showError(null);
    const scores = ranking ? ranksOf(draft.order) : Object.fromEntries(ids.map((id) => [id, draft.scores[id]]));
    try {
      await api("PUT", `/tasks/${encodeURIComponent(task.id)}/result`, { body: { scores } });
      dropDraft(task.id);
      await goNext(task.id, "Thank you — your answer was saved.");
    } catch (e) {
      const refused = e.kind === "full" || e.kind === "expired" || e.kind === "closed";
      if (refused) setClosed(e.kind);
      if (e.kind !== "session") showError(e.message + (refused ? " Your scores are still shown below; try the next task." : ""));
      update();
      if (e.kind !== "session") error.focus();
    }
  }
  submit.addEventListener("click", send);
  skip.addEventListener("click", () => { addSkipped(task.id); goNext(task.id, ""); });

  const form = h("div", { class: "task-page" },
    h("p", { class: "crumbs" }, h("a", { href: "#/tasks" }, "← All tasks")),
    h("h1", { class: "sr-only" }, "Task"),
    h("section", { class: "card prompt", "aria-labelledby": "prompt-title" },
      h("div", { class: "meta" }, stateBox, h("span", {}, criterionText(task.criteria)),
        h("span", { "aria-label": `${task.result_count} of ${task.max_results} answers` }, `answers ${task.result_count}/${task.max_results}`),
        left, h("span", { class: "muted", title: task.miner_hotkey }, `miner ${short(task.miner_hotkey)}`)),
      h("h2", { id: "prompt-title" }, "Prompt"),
      h("p", { class: "prompt-text" }, task.prompt)),
    mine ? h("p", { class: "note", id: "answered-note" }, `You answered on ${when(mine.submitted_at)}.`,
      task.grade !== null && task.grade !== undefined ? ` Your grade from the miner: ${Math.round(task.grade * 100)}%.` : "") : null,
    error,
    h("div", { class: "responses", id: "responses" }, cards),
    rankingBox,
    h("div", { class: "submit-bar" }, progress, mount(actions, mine || closed ? nextButton() : [skip, submit])));
  error.tabIndex = -1;
  form.addEventListener("keydown", (ev) => {
    if (ev.key !== "Enter" || ev.defaultPrevented) return;
    const t = ev.target;
    if (t === submit || t.tagName === "A" || (t.tagName === "BUTTON" && !t.classList.contains("score-btn"))) return;
    if (!submit.disabled) { ev.preventDefault(); send(); }
  });
  mount(main, form);
  update();

  // When the countdown runs out, ask the server (it decides the status; this clock may be off), every 5 s at most.
  let askedAt = 0;
  async function recheck() {
    askedAt = Date.now();
    try {
      const fresh = await api("GET", `/tasks/${encodeURIComponent(task.id)}`);
      if (fresh.status !== "open" && !closed) setClosed(stateOf({ ...fresh, answered: false })[0]);
    } catch (e) { /* the next tick asks again */ }
  }
  const tick = () => {
    left.textContent = state === "expired" ? "expired" : timeLeft(task.expire_at);
    if (!closed && !mine && Date.parse(task.expire_at) <= Date.now() && Date.now() - askedAt > 5000) recheck();
  };
  tick();
  const ticker = setInterval(tick, 1000);
  const frames = runFrames(slots, onFrame);
  const first = main.querySelector(".score-btn:not([disabled])[tabindex='0'], .rank-item[tabindex='0']");
  if (first && !mine && !closed) first.focus({ preventScroll: true });
  return () => { clearInterval(ticker); frames.stop(); };
}
