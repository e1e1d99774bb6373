// A response is untrusted HTML+JS: it runs in a sandboxed iframe with an opaque origin (no
// allow-same-origin) and a Content-Security-Policy that forbids every network request.
import { h } from "./dom.js";

export const FRAME_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
  + "img-src data:; font-src data:; media-src data:; form-action 'none'; base-uri 'none'";

// Answers the page's liveness pings, so that a response stuck in an endless loop can be taken out of the
// keyboard's way (its frame would otherwise swallow Tab). It runs before the response's own scripts.
const PONG = "<script>addEventListener('message',function(e){if(e.source===parent&&e.data==='dojo-ping')"
  + "parent.postMessage('dojo-pong','*')})</script>";

/** The srcdoc: the policy first, so it is in force before any of the response's markup runs. */
export function srcdocFor(content) {
  return `<meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}">`
    + `<meta name="referrer" content="no-referrer">` + PONG + content;
}

/**
 * Watch ``frames`` (iframes made by responseFrame): ``onChange(frame, true)`` when one has not answered a ping
 * for ``stuckMs``, ``onChange(frame, false)`` when it answers again.
 * Only a "dojo-pong" from the frame's own window counts; every other message is ignored. Returns a stop().
 */
export function watchFrames(frames, onChange, { everyMs = 1000, stuckMs = 6000 } = {}) {
  const seen = new Map(frames.map((f) => [f, performance.now()]));
  const stuck = new Set();
  const onMessage = (ev) => {
    if (ev.data !== "dojo-pong") return;
    const frame = frames.find((f) => f.contentWindow === ev.source);
    if (!frame) return;
    seen.set(frame, performance.now());
    if (stuck.delete(frame)) onChange(frame, false);
  };
  window.addEventListener("message", onMessage);
  const timer = setInterval(() => {
    const now = performance.now();
    for (const f of frames) {
      if (f.contentWindow) f.contentWindow.postMessage("dojo-ping", "*");
      if (!stuck.has(f) && now - seen.get(f) > stuckMs) {
        stuck.add(f);
        onChange(f, true);
      }
    }
  }, everyMs);
  return () => { clearInterval(timer); window.removeEventListener("message", onMessage); };
}

/**
 * An iframe rendering ``content``: scripts may run, nothing else (no same origin, forms, popups, top navigation).
 * It is out of the Tab order (Tab goes from score to score, not through every control of every response, and
 * never into a frame stuck in a loop); the keyboard enters it through enterFrame().
 */
export function responseFrame(content, title) {
  const frame = h("iframe", {
    title, sandbox: "allow-scripts", referrerpolicy: "no-referrer", loading: "eager", class: "response-frame",
    tabindex: "-1",
  });
  frame.setAttribute("csp", FRAME_CSP);  // Chromium's embedded enforcement: one more layer where supported
  frame.srcdoc = srcdocFor(content);
  return frame;
}
