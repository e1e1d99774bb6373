// A response is untrusted HTML+JS. It runs in a sandboxed iframe (sandbox="allow-scripts" only: an opaque origin,
// so no storage, cookies, popups, forms or top navigation, and no reach into this page) under a policy that allows
// no network request. Two holes stay open in Chromium whatever the policy says, and the prelude below closes them:
//  * WebRTC: no CSP directive covers it (Chromium 156 ignores `webrtc 'block'`), and STUN packets tell a server the
//    labeller's address. The prelude takes every RTC interface out of the frame's realm before any response code runs.
//  * A fresh realm brings the interfaces back: a nested frame. CSP frame-src does not stop srcdoc frames, and for a
//    URL Chromium connects to the server before frame-src refuses it. So no frame element comes to be: the
//    response's markup reaches a parser only through the prelude's Trusted Types policy, which turns frame tags into
//    inert elements and refuses srcdoc, and the DOM's element factories refuse frame names. The page's own
//    frame-src 'none' stops a response from navigating itself to a data:, blob: or http: document (Chromium still
//    opens a TCP connection to an http: target first; no page setting prevents that — see the README).
import { h } from "./dom.js";

export const FRAME_CSP = [
  "default-src 'none'", "script-src 'unsafe-inline'", "style-src 'unsafe-inline'", "img-src data:", "font-src data:",
  "media-src data:", "connect-src 'none'", "frame-src 'none'", "child-src 'none'", "worker-src 'none'",
  "object-src 'none'", "form-action 'none'", "base-uri 'none'",
  "require-trusted-types-for 'script'", "trusted-types default",
].join("; ");

// Where it is understood (CSP 3), one more lock on WebRTC; Chromium 156 only logs that it does not know it.
const META_CSP = `${FRAME_CSP}; webrtc 'block'`;

/**
 * Runs first in every response frame, as the document's only script; ``content`` (the response) is written from here.
 * Serialized with Function.prototype.toString, so it must not refer to anything outside itself.
 */
function prelude(content, token) {
  "use strict";
  const w = window;

  // 1. No WebRTC, no XSLT (it can build elements outside the policy below), no picture-in-picture windows.
  for (const name of Object.getOwnPropertyNames(w)) {
    if (/^(webkit)?RTC/.test(name) || name === "XSLTProcessor" || name === "documentPictureInPicture") delete w[name];
  }

  // 2. No nested document. Chromium opens a TCP connection to a nested frame's URL before CSP frame-src refuses it,
  // so the elements themselves must not come to be: not from markup (every string a parser sees passes through the
  // policy below), not from the DOM's factories.
  const FRAMES = /^(?:[^:]*:)?(iframe|frame|frameset|object|embed|fencedframe|portal)$/i;
  const refuse = (name) => {
    if (FRAMES.test(String(name))) throw new TypeError("Dojo: a response may not create nested documents");
  };
  const D = Document.prototype, createElement = D.createElement, createElementNS = D.createElementNS;
  D.createElement = function (name, ...rest) { refuse(name); return createElement.call(this, name, ...rest); };
  D.createElementNS = function (ns, name, ...rest) { refuse(name); return createElementNS.call(this, ns, name, ...rest); };
  const DI = DOMImplementation.prototype, createDocument = DI.createDocument;
  DI.createDocument = function (ns, name, ...rest) { refuse(name); return createDocument.call(this, ns, name, ...rest); };
  const CE = CustomElementRegistry.prototype, define = CE.define;
  CE.define = function (name, ctor, options) {
    if (options && options.extends) refuse(options.extends);
    return define.call(this, name, ctor, options);
  };
  const NESTED = /<((?:[^\s<>/="']*:)?)(iframe|frame|frameset|object|embed|fencedframe|portal)(?=[\s/>]|$)/gi;
  let ours = true;
  w.trustedTypes.createPolicy("default", {
    createHTML(html, _type, sink) {
      const text = String(html), where = String(sink);
      if (/srcdoc/i.test(where)) throw new TypeError("Dojo: a response may not create nested documents");
      if (/<!ENTITY/i.test(text)) throw new TypeError("Dojo: a response may not declare XML entities");
      // a later write could finish the tag ("<ifr" + "ame ..."): writes must end outside any tag
      if (!ours && /write/i.test(where) && /<[^\s<>/="']*$/.test(text)) {
        throw new TypeError("Dojo: document.write may not end inside a tag");
      }
      ours = false;
      return text.replace(NESTED, "<$1dojo-blocked-$2");
    },
    createScript: (s) => s,
    createScriptURL: (s) => s,
  });

  // 3. A private line to the page: pings, and marks around each task this frame runs. Sandboxed frames share one
  // renderer, so when one loops they all stop answering; a MessagePort message leaves at once (unlike
  // postMessage to the parent, which waits for the task to end), so the page learns which frame began the task
  // that never ended.
  const channel = new MessageChannel();
  const port = channel.port1;
  const now = () => performance.timeOrigin + performance.now();
  port.onmessage = (e) => { if (e.data === "ping") port.postMessage(["pong", now()]); };
  parent.postMessage(["dojo-hello", token], "*", [channel.port2]);
  let depth = 0;
  const busy = () => { if (depth++ === 0) port.postMessage(["busy", now()]); };
  const idle = () => { if (--depth === 0) port.postMessage(["idle", now()]); };
  const wrappers = new WeakMap(), originals = new WeakMap();
  const marked = (fn) => {
    if (typeof fn !== "function" && !(fn && typeof fn === "object" && typeof fn.handleEvent === "function")) return fn;
    let m = wrappers.get(fn);
    if (!m) {
      m = function (...args) {
        busy();
        try { return typeof fn === "function" ? fn.apply(this, args) : fn.handleEvent(...args); } finally { idle(); }
      };
      wrappers.set(fn, m);
      originals.set(m, fn);
    }
    return m;
  };
  const later = w.setTimeout.bind(w);
  for (const name of ["setTimeout", "setInterval", "requestAnimationFrame", "requestIdleCallback"]) {
    const original = w[name];
    if (typeof original === "function") w[name] = function (cb, ...rest) { return original.call(w, marked(cb), ...rest); };
  }
  const ET = EventTarget.prototype, add = ET.addEventListener, remove = ET.removeEventListener;
  ET.addEventListener = function (type, listener, options) { return add.call(this, type, marked(listener), options); };
  ET.removeEventListener = function (type, listener, options) {
    return remove.call(this, type, wrappers.get(listener) || listener, options);
  };
  const hooked = new Set();
  const hookHandlers = (target) => {
    if (!target || hooked.has(target)) return;
    hooked.add(target);
    for (const key of Object.getOwnPropertyNames(target)) {
      const d = key.startsWith("on") ? Object.getOwnPropertyDescriptor(target, key) : null;
      if (!d || !d.get || !d.set || !d.configurable) continue;
      Object.defineProperty(target, key, {
        configurable: true, enumerable: d.enumerable,
        get() { const v = d.get.call(this); return (v && originals.get(v)) || v; },
        set(v) { d.set.call(this, marked(v)); },
      });
    }
  };
  hookHandlers(w);
  for (const name of Object.getOwnPropertyNames(w)) {
    const d = Object.getOwnPropertyDescriptor(w, name);
    if (d && typeof d.value === "function" && d.value.prototype) hookHandlers(d.value.prototype);
  }
  // handlers written as attributes (<button onclick="…">) compile outside the setters: mark their events here (only
  // events a person causes or that follow from them: a listener for pagehide or unload would keep a frozen renderer
  // alive after its frames are removed, and listening to device sensors asks for a permission)
  const types = ["click", "dblclick", "auxclick", "contextmenu", "mousedown", "mouseup", "mousemove", "mouseover",
    "mouseout", "pointerdown", "pointerup", "pointermove", "pointerover", "pointerout", "touchstart", "touchmove",
    "touchend", "keydown", "keyup", "keypress", "beforeinput", "input", "change", "focus", "blur", "focusin",
    "focusout", "wheel", "scroll", "load", "error", "animationend", "transitionend", "dragstart", "drop"];
  const inline = (ev) => ev.composedPath().some((n) => {
    const el = n === w ? document.body : n;
    return !!(el && el.hasAttribute && el.hasAttribute(`on${ev.type}`));
  });
  for (const type of types) {
    add.call(w, type, (ev) => {
      if (!inline(ev)) return;
      busy();
      let done = false;
      const end = () => { if (!done) { done = true; idle(); } };
      add.call(w, type, end, { once: true });
      later(end, 0);
    }, true);
  }

  document.currentScript.remove();
  document.write(content);
}

/** The frame's whole document: the policy, then the prelude carrying the response as a string. */
export function srcdocFor(content, token = "") {
  // JSON is a JS string literal; escaping "<" keeps "</script" and "<!--" out of the script element
  const literal = (v) => JSON.stringify(String(v)).replace(/</g, "\\u003c");
  return `<meta http-equiv="Content-Security-Policy" content="${META_CSP}">`
    + `<meta name="referrer" content="no-referrer">`
    + `<script>(${prelude.toString()})(${literal(content)}, ${literal(token)})</script>`;
}

/**
 * An iframe rendering ``content``: scripts may run, nothing else. Out of the Tab order (Tab goes from score to score,
 * never into a frame stuck in a loop); the keyboard enters it through its "Use with keyboard" button.
 */
export function responseFrame(content, title, token = "") {
  const frame = h("iframe", {
    title, sandbox: "allow-scripts", referrerpolicy: "no-referrer", loading: "eager", class: "response-frame",
    tabindex: "-1", allow: "unload 'none'",  // an unload handler would keep a frozen renderer alive (frames.js)
  });
  frame.setAttribute("csp", FRAME_CSP);  // Chromium's embedded enforcement: nested documents must obey it too
  frame.srcdoc = srcdocFor(content, token);
  return frame;
}
