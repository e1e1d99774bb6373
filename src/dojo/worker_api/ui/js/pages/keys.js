// Subscription keys: the links to the miners whose tasks this labeller sees. Add, rename, remove.
import { api } from "../api.js";
import { h, mount, banner, announce, short, when } from "../dom.js";

function emptyState() {
  return h("div", { class: "empty", id: "keys-empty" },
    h("h2", {}, "No subscription key yet"),
    h("p", {}, "A subscription key links you to a miner: the team that recruited you and pays you for your work. ",
      "Once you add its key here, that miner's tasks appear in your task list."),
    h("p", {}, "Where to get one: ask the miner operator who invited you. They create keys with ",
      h("code", {}, "dojo keys subscription-key generate"), " and send you the key; it starts with ",
      h("code", {}, "dojo_sk_"), ". Keep it to yourself: anyone with the key can work for that miner."));
}

export async function render(main) {
  const list = h("div", { id: "keys-list" });
  const name = h("input", { id: "key-name", name: "name", required: true, maxlength: "64", autocomplete: "off",
    placeholder: "e.g. Team Alpha" });
  const key = h("input", { id: "key-value", name: "key", required: true, minlength: "8", maxlength: "128",
    autocomplete: "off", spellcheck: "false", placeholder: "dojo_sk_…" });
  const add = h("button", { type: "submit", class: "primary", id: "key-add" }, "Add key");
  const formMsg = h("p", { class: "field-error", id: "key-form-msg", "aria-live": "polite" });
  const form = h("form", { class: "card", id: "key-form", "aria-labelledby": "key-form-title", novalidate: true },
    h("h2", { id: "key-form-title" }, "Add a subscription key"),
    h("div", { class: "fields" },
      h("label", { for: "key-name" }, "Name (for you)", name),
      h("label", { for: "key-value" }, "Subscription key", key)),
    add, formMsg);

  async function refresh() {
    let partners;
    try {
      partners = (await api("GET", "/worker/partners")).partners;
    } catch (e) {
      if (e.kind !== "session") mount(list, h("p", { class: "warn" }, e.message));
      return;
    }
    if (!partners.length) { mount(list, emptyState()); return; }
    mount(list, h("ul", { class: "rows", "aria-label": "Your subscription keys" }, partners.map(row)));
  }

  function row(p) {
    const li = h("li", { class: "row", dataset: { partner: String(p.id) } });
    const status = p.active
      ? h("span", { class: "pill ok" }, "active")
      : h("span", { class: "pill bad", title: "The miner deleted this key" }, "revoked");
    const show = () => mount(li,
      h("div", { class: "grow" },
        h("strong", { class: "partner-name" }, p.name), " ", status,
        h("div", { class: "muted small" }, `Key ${p.key_prefix}… · miner ${short(p.miner_hotkey)} · added ${when(p.created_at)}`),
        p.active ? null : h("div", { class: "warn small" },
          "The miner revoked this key: you no longer see its tasks. Ask the miner for a new key, or remove this one.")),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: rename, "aria-label": `Rename ${p.name}` }, "Rename"),
        h("button", { type: "button", class: "danger", onclick: confirmRemove, "aria-label": `Remove ${p.name}` }, "Remove")));

    function rename() {
      const input = h("input", { value: p.name, maxlength: "64", "aria-label": `New name for ${p.name}`, class: "grow" });
      const err = h("span", { class: "field-error", "aria-live": "polite" });
      const save = async (ev) => {
        ev.preventDefault();
        const value = input.value.trim();
        if (!value) { err.textContent = "A name is needed."; input.focus(); return; }
        try {
          await api("PATCH", `/worker/partners/${p.id}`, { body: { name: value } });
          p.name = value;
          announce(`Renamed to ${value}`);
          show();
          li.querySelector("button").focus();
        } catch (e) { err.textContent = e.message; input.focus(); }
      };
      const cancel = () => { show(); li.querySelector("button").focus(); };
      input.addEventListener("keydown", (ev) => { if (ev.key === "Escape") cancel(); });
      mount(li, h("form", { class: "inline grow", onsubmit: save }, input,
        h("button", { type: "submit", class: "primary" }, "Save"),
        h("button", { type: "button", onclick: cancel }, "Cancel"), err));
      input.focus();
      input.select();
    }

    function confirmRemove() {
      const yes = h("button", { type: "button", class: "danger", onclick: remove }, "Yes, remove");
      const no = h("button", { type: "button", onclick: () => { show(); li.querySelector(".danger").focus(); } }, "Keep it");
      mount(li, h("div", { class: "grow" }, `Remove “${p.name}”? You will stop seeing this miner's tasks.`),
        h("div", { class: "actions" }, yes, no));
      no.focus();
    }

    async function remove() {
      try {
        await api("DELETE", `/worker/partners/${p.id}`);
        announce(`Removed ${p.name}`);
        await refresh();
        key.focus();
      } catch (e) { banner(e.message); }
    }

    show();
    return li;
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    formMsg.textContent = "";
    if (!name.value.trim()) { formMsg.textContent = "Give the key a name, e.g. the miner's team name."; name.focus(); return; }
    if (key.value.trim().length < 8) { formMsg.textContent = "Paste the whole key the miner gave you."; key.focus(); return; }
    add.disabled = true;
    try {
      await api("POST", "/worker/partners", { body: { name: name.value.trim(), subscription_key: key.value.trim() } });
      announce(`Added ${name.value.trim()}`);
      form.reset();
      await refresh();
    } catch (e) {
      formMsg.textContent = e.kind === "gone"
        ? "This key is unknown or was revoked by the miner. Check it, or ask the miner for a current key."
        : e.kind === "conflict" ? "You have already added this key." : e.message;
      key.focus();
    } finally { add.disabled = false; }
  });

  mount(main, h("h1", {}, "Subscription keys"), form, h("section", { "aria-label": "Keys" }, list));
  await refresh();
  return null;
}
