"""A bot that runs the page a little: what a document's own scripts decode at start-up.

A page that carries its configuration encoded must decode it when it loads, with the code it
ships. A bot does not need to know the format: it runs the page's inline scripts in V8 against a
stub DOM (every unknown name or property is an inert object; ``getElementById`` returns the
element's text and attributes from the markup; timers and animation frames never fire) and
records every string the scripts decode: ``atob``, ``TextDecoder.decode``, ``JSON.parse`` and
``String.fromCharCode`` results. The bot then reads those strings like any other text. It runs
nothing it was not sent, never touches the network and stops each page after a short timeout.
"""

from __future__ import annotations

import html
import json
import re
import threading
from typing import Any

_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.IGNORECASE | re.DOTALL)
_ELEMENT = re.compile(r"<([A-Za-z][\w-]*)\b([^>]*?)\sid\s*=\s*[\"']?([\w-]+)[\"']?([^>]*)>(.*?)</\1>", re.DOTALL)
_ATTR = re.compile(r"([\w-]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))")
_RUN_MS = 300
_MAX_RECORDED = 64

_HARNESS = r"""
var __seen = [];
function __rec(s) { if (typeof s === 'string' && s.length > 8 && __seen.length < __MAX__) __seen.push(s.slice(0, 50000)); return s; }
var __any = new Proxy(function () {}, {
  get(t, k) {
    if (k === Symbol.toPrimitive) return () => 0;
    if (k === Symbol.iterator) return function* () {};
    if (k === 'length') return 0;
    if (k === 'then' || k === Symbol.unscopables) return undefined;
    return __any;
  },
  apply() { return __any; }, construct() { return __any; }, set() { return true; }, has() { return false; }
});
var __B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
function __atob(s) {
  s = String(s).replace(/[^A-Za-z0-9+/]/g, '');
  var out = '', buf = 0, bits = 0;
  for (var i = 0; i < s.length; i++) {
    buf = (buf << 6) | __B64.indexOf(s[i]); bits += 6;
    if (bits >= 8) { bits -= 8; out += String.fromCharCode((buf >> bits) & 255); }
  }
  return __rec(out);
}
function __utf8(bytes) {
  var s = '';
  for (var i = 0; i < bytes.length; i++) s += '%' + (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
  try { return decodeURIComponent(s); } catch (e) { return Array.from(bytes, (b) => String.fromCharCode(b)).join(''); }
}
class __TextDecoder { decode(b) { return __rec(__utf8(b instanceof Uint8Array ? b : new Uint8Array(b || []))); } }
var __JSON = { parse(s, r) { __rec(String(s)); return JSON.parse(s, r); }, stringify: JSON.stringify };
var __fcc = function () { return __rec(String.fromCharCode.apply(null, arguments)); };
var __String = new Proxy(String, { get(t, k) { return k === 'fromCharCode' ? __fcc : t[k]; } });
function __element(info) {
  return new Proxy({}, {
    get(t, k) {
      if (typeof k === 'string' && Object.prototype.hasOwnProperty.call(info, k)) return info[k];
      if (k === 'getAttribute') return (a) => (info.attrs[a] === undefined ? null : info.attrs[a]);
      if (k === Symbol.toPrimitive) return () => '';
      if (k === 'then' || k === Symbol.unscopables) return undefined;
      return __any;
    },
    set() { return true; }
  });
}
function __run(code, ids) {
  __seen = [];
  var lookup = (id) => (Object.prototype.hasOwnProperty.call(ids, id) ? __element(ids[id]) : __any);
  var doc = new Proxy({}, {
    get(t, k) {
      if (k === 'getElementById') return lookup;
      if (k === 'querySelector') return (sel) => (typeof sel === 'string' && sel[0] === '#' ? lookup(sel.slice(1)) : __any);
      if (k === 'then' || k === Symbol.unscopables) return undefined;
      return __any;
    },
    set() { return true; }
  });
  var own = { document: doc, atob: __atob, TextDecoder: __TextDecoder, JSON: __JSON, String: __String };
  var scope = new Proxy(own, {
    has(t, k) { return k in t || !(k in globalThis); },
    get(t, k) {
      if (k === Symbol.unscopables) return undefined;
      if (k in t) return t[k];
      return k in globalThis ? globalThis[k] : __any;
    },
    set(t, k, v) { t[k] = v; return true; }
  });
  own.window = scope; own.self = scope; own.globalThis = scope;
  try { new Function('__scope', 'with (__scope) { (function () {' + code + '\n}).call(__scope); }')(scope); }
  catch (e) {}
  return JSON.stringify(__seen);
}
""".replace("__MAX__", str(_MAX_RECORDED))

_local = threading.local()


def _racer() -> Any:
    racer = getattr(_local, "racer", None)
    if racer is None:
        from dojo.jsengine import new_racer

        racer = new_racer()
        racer.eval(_HARNESS)
        _local.racer = racer
    return racer


def _attrs(text: str) -> dict[str, str]:
    return {m[0].lower(): html.unescape(m[1] or m[2] or m[3]) for m in _ATTR.findall(text)}


def element_table(doc: str) -> dict[str, dict[str, Any]]:
    """Each element with an id: its text (``textContent``, ``innerText``, ``innerHTML``), ``value`` and attributes."""
    out: dict[str, dict[str, Any]] = {}
    for _tag, before, eid, after, inner in _ELEMENT.findall(doc):
        attrs = _attrs(before + " " + after)
        text = inner if _tag.lower() == "script" else html.unescape(re.sub(r"<[^>]*>", "", inner))
        out[eid] = {
            "id": eid,
            "textContent": text,
            "innerText": text,
            "innerHTML": inner,
            "value": attrs.get("value", ""),
            "attrs": attrs,
        }
    return out


def _runs_as_script(attrs: str) -> bool:
    kind = _attrs(attrs).get("type", "").strip().lower()
    return kind in ("", "text/javascript", "application/javascript", "module")


def decoded_strings(doc: str) -> list[str]:
    """Every string the document's inline scripts decode at start-up (``doc`` is the unwrapped document)."""
    code = "\n;\n".join(body for attrs, body in _SCRIPT.findall(doc) if _runs_as_script(attrs) and body.strip())
    if not code:
        return []
    try:
        out = _racer().call("__run", code, element_table(doc), timeout=_RUN_MS)
    except Exception:  # noqa: BLE001 - a page that spins or breaks the stub decodes nothing more
        return []
    return [s for s in json.loads(out) if isinstance(s, str)]


def flatten(value: Any, path: str = "") -> list[str]:
    """``path=value`` tokens of a decoded JSON value (``on.pause=true``, ``p.colours[]=#dc2626``)."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in flatten(v, f"{path}.{k}" if path else str(k))]
    if isinstance(value, list):
        return [t for v in value for t in flatten(v, f"{path}[]")]
    return [f"{path}={json.dumps(value) if not isinstance(value, str) else value}"]


def decoded_json(strings: list[str]) -> list[Any]:
    """The decoded strings that are JSON objects or arrays (text after a NUL is padding: dropped)."""
    out = []
    for s in strings:
        text = s.split("\x00", 1)[0].strip()
        if text[:1] in ("{", "["):
            try:
                out.append(json.loads(text))
            except ValueError:
                continue
    return out
