// A response is untrusted HTML+JS: it runs in a sandboxed iframe with an opaque origin (no
// allow-same-origin) and a Content-Security-Policy that forbids every network request.
import { h } from "./dom.js";

export const FRAME_CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
  + "img-src data:; font-src data:; media-src data:; form-action 'none'; base-uri 'none'";

/** The srcdoc: the policy first, so it is in force before any of the response's markup runs. */
export function srcdocFor(content) {
  return `<meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}">`
    + `<meta name="referrer" content="no-referrer">` + content;
}

/** An iframe rendering ``content``: scripts may run, nothing else (no same origin, forms, popups, top navigation). */
export function responseFrame(content, title) {
  const frame = h("iframe", {
    title, sandbox: "allow-scripts", referrerpolicy: "no-referrer", loading: "eager", class: "response-frame",
  });
  frame.setAttribute("csp", FRAME_CSP);  // Chromium's embedded enforcement: one more layer where supported
  frame.srcdoc = srcdocFor(content);
  return frame;
}
