// Score controls: a 1–10 radio group (arrow keys) per response, or a drag-and-keyboard ranking.
import { h, announce, letter } from "./dom.js";

/** A radio group of ``min``..``max``; arrows move and select, Home/End jump. ``onChange(value)``. */
export function scoreControl({ min, max, value, label, onChange, disabled = false }) {
  const group = h("div", { role: "radiogroup", "aria-label": label, class: "score" });
  const buttons = [];
  const select = (v, focus) => {
    value = v;
    buttons.forEach((b) => {
      const on = Number(b.dataset.value) === v;
      b.setAttribute("aria-checked", on ? "true" : "false");
      b.tabIndex = on || (v === null && Number(b.dataset.value) === min) ? 0 : -1;
      if (on && focus) b.focus();
    });
    onChange(v);
  };
  for (let v = min; v <= max; v++) {
    const b = h("button", { type: "button", role: "radio", "aria-checked": "false", class: "score-btn",
      dataset: { value: String(v) }, disabled, "aria-label": `${v} of ${max}` }, String(v));
    b.addEventListener("click", () => select(v, true));
    b.addEventListener("keydown", (ev) => {
      const cur = value === null ? null : value;
      let next = null;
      if (ev.key === "ArrowRight" || ev.key === "ArrowUp") next = cur === null ? v : Math.min(max, cur + 1);
      else if (ev.key === "ArrowLeft" || ev.key === "ArrowDown") next = cur === null ? v : Math.max(min, cur - 1);
      else if (ev.key === "Home") next = min;
      else if (ev.key === "End") next = max;
      else if (ev.key === " ") next = v;
      if (next !== null) { ev.preventDefault(); select(next, true); }
    });
    buttons.push(b);
    group.append(b);
  }
  buttons.forEach((b) => { b.tabIndex = Number(b.dataset.value) === (value ?? min) ? 0 : -1; });
  if (value !== null && value !== undefined) {
    buttons.forEach((b) => b.setAttribute("aria-checked", Number(b.dataset.value) === value ? "true" : "false"));
  }
  return group;
}

/**
 * A ranking of ``ids`` (best first). Drag items, or focus one and press Alt+Arrow (or Arrow with the
 * item grabbed by Space) to move it. ``onChange(order)`` gets the new order.
 */
export function rankingList({ ids, names, order, onChange, disabled = false }) {
  order = order && order.length === ids.length ? [...order] : [...ids];
  const list = h("ol", { class: "ranking", "aria-label": "Ranking, best first" });
  let grabbed = null;
  let dragged = null;

  const move = (id, delta) => {
    const i = order.indexOf(id);
    const j = i + delta;
    if (j < 0 || j >= order.length) return;
    [order[i], order[j]] = [order[j], order[i]];
    draw(id);
    announce(`${names[id]} moved to position ${j + 1} of ${order.length}`);
    onChange([...order]);
  };

  function draw(focusId = null) {
    list.replaceChildren();
    order.forEach((id, pos) => {
      const li = h("li", { tabindex: disabled ? "-1" : "0", draggable: disabled ? "false" : "true", class: "rank-item",
        dataset: { id }, "aria-roledescription": "sortable item",
        "aria-label": `${names[id]}, position ${pos + 1} of ${order.length}` },
      h("span", { class: "rank-pos" }, `${pos + 1}.`), h("span", { class: "grow" }, names[id]),
      h("span", { class: "rank-buttons" },
        h("button", { type: "button", disabled: disabled || pos === 0, tabindex: "-1", "aria-hidden": "true",
          onclick: () => move(id, -1) }, "▲"),
        h("button", { type: "button", disabled: disabled || pos === order.length - 1, tabindex: "-1", "aria-hidden": "true",
          onclick: () => move(id, 1) }, "▼")));
      if (grabbed === id) li.classList.add("grabbed");
      li.addEventListener("keydown", (ev) => {
        if (disabled) return;
        if (ev.key === " ") { ev.preventDefault(); grabbed = grabbed === id ? null : id; draw(id);
          announce(grabbed ? `${names[id]} grabbed. Use the arrow keys to move it, Space to drop.` : `${names[id]} dropped.`); }
        else if ((ev.key === "ArrowUp" || ev.key === "ArrowDown") && (ev.altKey || grabbed === id)) {
          ev.preventDefault(); move(id, ev.key === "ArrowUp" ? -1 : 1);
        } else if (ev.key === "ArrowUp" || ev.key === "ArrowDown") {
          ev.preventDefault();
          const sib = ev.key === "ArrowUp" ? li.previousElementSibling : li.nextElementSibling;
          if (sib) sib.focus();
        }
      });
      li.addEventListener("dragstart", (ev) => { dragged = id; ev.dataTransfer.effectAllowed = "move"; ev.dataTransfer.setData("text/plain", id); });
      li.addEventListener("dragover", (ev) => { if (dragged) ev.preventDefault(); });
      li.addEventListener("drop", (ev) => {
        ev.preventDefault();
        if (!dragged || dragged === id) return;
        const to = order.indexOf(id);
        order.splice(order.indexOf(dragged), 1);
        order.splice(to, 0, dragged);
        const moved = dragged;
        dragged = null;
        draw(moved);
        onChange([...order]);
      });
      list.append(li);
    });
    if (focusId) { const el = list.querySelector(`[data-id="${CSS.escape(focusId)}"]`); if (el) el.focus(); }
  }
  draw();
  return list;
}

/** Ranking order (best first) → {completion_id: rank} with 0 = best. */
export function ranksOf(order) {
  return Object.fromEntries(order.map((id, i) => [id, i]));
}

export { letter };
