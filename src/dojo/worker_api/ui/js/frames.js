// Runs the response frames of a task page, and keeps one stuck response from freezing the others.
//
// Chromium 156 puts every sandboxed frame made by one site into one renderer process, so a response stuck in an
// endless loop freezes all the responses on the page (the page itself runs in another process and stays usable).
// Nothing a page can set (sandbox, allow, CSP, headers) gives each frame its own process; only a browser switch
// does (--enable-features=IsolateSandboxedIframes:grouping/per-document). So the page:
//  * loads the frames one at a time: a frame that never finishes loading is the stuck one;
//  * afterwards learns from each frame's marks (frame.js) which frame began the task that never ended;
//  * stops that frame (its card says so and offers to run it again) and reloads the others: removing every frame of
//    the frozen process lets Chromium end that process, and the reloaded frames start in a fresh one;
//  * tells a navigation from a loop: a frame that leaves its document (a link, a refresh, location = …) is blocked
//    by the page's frame-src 'none' and is stopped with words that say so.
import { responseFrame } from "./frame.js";

/**
 * Run ``slots`` ([{box, content, title}]), each in its own frame inside ``box``. ``onState(slot, state, detail)``
 * reports "loading", "running", "stuck" (stopped: endless loop), "left" (stopped: tried to open another page),
 * "frozen" (stopped: one of the frozen responses loops, which one could not be told) and "reloaded" (detail: the
 * title of the response that froze it). Returns ``{again(slot), stop()}``.
 */
export function runFrames(slots, onState, { everyMs = 1000, stuckMs = 6000, graceMs = 1500, settleMs = 1500 } = {}) {
  const all = slots.map((s) => Object.assign(s, { state: "waiting", frame: null, port: null, token: "", loads: 0,
    hellos: 0, seen: 0, lastAt: 0, lastBusy: 0, lastIdle: 0 }));
  const queue = [];
  let unexplained = 0;
  let settling = null;  // after frozen frames are removed: Chromium may keep their renderer a moment (a pagehide
  // handler waits for its answer), and a frame made meanwhile would join it and freeze too
  const now = () => performance.timeOrigin + performance.now();
  const set = (slot, state, detail = null) => { slot.state = state; onState(slot, state, detail); };

  function next() {
    if (settling || all.some((s) => s.state === "loading")) return;
    const slot = queue.shift();
    if (!slot) return;
    const token = crypto.randomUUID();  // only our prelude knows it: the response cannot speak for the frame
    slot.frame = responseFrame(slot.content, `${slot.title}, rendered (sandboxed)`, token);
    Object.assign(slot, { port: null, token, loads: 0, hellos: 0, seen: now(), lastAt: 0, lastBusy: 0, lastIdle: 0 });
    slot.frame.addEventListener("load", () => onLoad(slot, slot.frame));
    slot.box.replaceChildren(slot.frame);
    set(slot, "loading");
  }

  function discard(slot) {
    if (slot.port) slot.port.close();
    if (slot.frame) slot.frame.remove();
    slot.port = null;
    slot.frame = null;
  }

  function stopOne(slot, why, detail = null) {
    discard(slot);
    set(slot, why, detail);
  }

  function settleThenNext() {
    clearTimeout(settling);
    settling = setTimeout(() => { settling = null; next(); }, settleMs);
  }

  function onLoad(slot, frame) {
    slot.loads += 1;
    const loads = slot.loads;
    // our document says hello before its load event; a load without one is another document in the frame
    setTimeout(() => {
      if (slot.frame === frame && slot.hellos < loads && (slot.state === "loading" || slot.state === "running")) {
        stopOne(slot, "left");
        next();
      }
    }, graceMs);
  }

  function onMessage(ev) {
    if (!Array.isArray(ev.data) || ev.data[0] !== "dojo-hello" || !ev.ports || !ev.ports[0]) return;
    const slot = all.find((s) => s.frame && s.frame.contentWindow === ev.source);
    if (!slot || ev.data[1] !== slot.token) return;
    slot.hellos += 1;
    if (slot.port) slot.port.close();
    slot.port = ev.ports[0];
    slot.seen = now();
    slot.port.onmessage = (m) => {
      if (!Array.isArray(m.data)) return;
      const [kind, at] = m.data;
      slot.seen = now();
      slot.lastAt = Number(at) || 0;  // when the frame sent it: frames sharing a renderer share its clock
      if (kind === "busy") slot.lastBusy = slot.lastAt;
      else if (kind === "idle") slot.lastIdle = slot.lastAt;
    };
    if (slot.state === "loading") {
      set(slot, "running");
      next();
    }
  }

  /** Which of the frozen frames began the task that never ended, or null. */
  function culprit(frozen) {
    const loading = frozen.find((s) => s.state === "loading");
    if (loading) return loading;  // loading is one frame at a time
    // the frame whose last word was "busy": if no other frame spoke after it, its task is the one that never ended
    const open = frozen.filter((s) => s.lastBusy > s.lastIdle).sort((a, b) => b.lastBusy - a.lastBusy)[0];
    if (open && frozen.every((s) => s === open || s.lastAt <= open.lastBusy + 5)) return open;
    const alive = all.filter((s) => s.state === "running" && !frozen.includes(s));
    return frozen.length === 1 && alive.length ? frozen[0] : null;
  }

  function check() {
    if (document.visibilityState === "hidden") {  // timers of hidden tabs are throttled: no verdicts then
      for (const s of all) s.seen = now();
      return;
    }
    for (const s of all) if (s.state === "running" && s.port) s.port.postMessage("ping");
    const t = now();
    const live = all.filter((s) => s.state === "loading" || s.state === "running");
    if (!live.some((s) => t - s.seen > stuckMs)) return;
    const frozen = live.filter((s) => t - s.seen > 2.5 * everyMs);
    const guilty = culprit(frozen);
    if (!guilty && ++unexplained >= 2) {
      for (const s of frozen) stopOne(s, "frozen");
      settleThenNext();
      return;
    }
    // every frame of the frozen renderer goes at once, so Chromium can end it; the others start again in a new one
    for (const s of frozen) discard(s);
    if (guilty) set(guilty, "stuck");
    for (const s of frozen) {
      if (s === guilty) continue;
      set(s, "waiting");
      queue.push(s);
      onState(s, "reloaded", guilty ? guilty.title : null);
    }
    settleThenNext();
  }

  window.addEventListener("message", onMessage);
  const timer = setInterval(check, everyMs);
  queue.push(...all);
  next();
  return {
    again(slot) {
      if (slot.state === "loading" || slot.state === "running" || queue.includes(slot)) return;
      set(slot, "waiting");
      queue.push(slot);
      next();
    },
    stop() {
      clearInterval(timer);
      clearTimeout(settling);
      window.removeEventListener("message", onMessage);
      for (const s of all) discard(s);
    },
  };
}
