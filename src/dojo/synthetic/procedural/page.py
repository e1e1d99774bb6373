"""Shared pieces of every procedural document: the HTML shell, palettes, and JS binding helpers."""

from __future__ import annotations

import json
import random
from html import escape

from dojo.synthetic.procedural.base import Build

PALETTES: list[dict[str, str]] = [
    {"name": "midnight", "bg": "#0f172a", "fg": "#e2e8f0", "accent": "#38bdf8", "alt": "#f472b6"},
    {"name": "forest", "bg": "#0b2e1f", "fg": "#e7f5ec", "accent": "#4ade80", "alt": "#facc15"},
    {"name": "paper", "bg": "#f8f5ee", "fg": "#1f2937", "accent": "#dc2626", "alt": "#2563eb"},
    {"name": "sunset", "bg": "#2b1331", "fg": "#fde68a", "accent": "#fb923c", "alt": "#a78bfa"},
    {"name": "ocean", "bg": "#03263b", "fg": "#d9f2ff", "accent": "#22d3ee", "alt": "#fb7185"},
    {"name": "slate", "bg": "#1e1e24", "fg": "#f1f1f1", "accent": "#a3e635", "alt": "#f97316"},
    {"name": "mint", "bg": "#eefbf5", "fg": "#134e4a", "accent": "#0d9488", "alt": "#9333ea"},
    {"name": "ember", "bg": "#1c0a00", "fg": "#ffedd5", "accent": "#f59e0b", "alt": "#ef4444"},
]
KEYS = ["p", "r", "g", "t", "c", "x", "z", "b", "m", "k"]


def palette(rng: random.Random) -> dict[str, str]:
    """A colour scheme, with a second accent drawn so two tasks rarely look alike."""
    pal = dict(rng.choice(PALETTES))
    pal["pick"] = f"#{rng.randrange(60, 256):02x}{rng.randrange(60, 256):02x}{rng.randrange(60, 256):02x}"
    return pal


def keys(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct single-letter shortcut keys."""
    return rng.sample(KEYS, n)


def js(value: object) -> str:
    """A Python value as a JavaScript literal (JSON is a JS subset for the values we use)."""
    return json.dumps(value)


def document(title: str, pal: dict[str, str], body: str, script: str, css: str = "") -> str:
    """A complete, self-contained HTML document: inline CSS, one inline script, no external loads."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>
body {{ margin: 0; padding: 12px; background: {pal["bg"]}; color: {pal["fg"]}; font: 14px system-ui, sans-serif; }}
h1 {{ font-size: 18px; margin: 0 0 8px; }}
.bar {{ display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0; }}
button {{ background: {pal["accent"]}; color: {pal["bg"]}; border: 0; border-radius: 4px; padding: 5px 10px; cursor: pointer; }}
canvas {{ display: block; border: 1px solid {pal["fg"]}44; background: {pal["bg"]}; }}
.readout {{ font-variant-numeric: tabular-nums; }}
{css}
</style>
</head>
<body>
<h1>{escape(title)}</h1>
{body}
<script>
"use strict";
{script}
</script>
</body>
</html>
"""


def button(build: Build, key: str, elem_id: str, label: str) -> str:
    """A button when its feature is in the document, else nothing."""
    return f'<button id="{elem_id}" type="button">{escape(label)}</button>' if build.has(key) else ""


def slider(build: Build, key: str, elem_id: str, label: str, lo: float, hi: float, step: float, value: float) -> str:
    """A labelled range input when its feature is in the document, else nothing."""
    if not build.has(key):
        return ""
    return (
        f'<label>{escape(label)} <input id="{elem_id}" type="range" min="{lo}" max="{hi}" '
        f'step="{step}" value="{value}"></label>'
    )


def readout(build: Build, key: str, elem_id: str) -> str:
    """A text span a feature writes into, when the feature is in the document."""
    return f'<span id="{elem_id}" class="readout"></span>' if build.has(key) else ""


def on(build: Build, key: str, elem_id: str, event: str, body: str) -> str:
    """JS that binds ``body`` to ``event`` on ``#elem_id``; a broken action gets a handler that does nothing."""
    if not build.has(key):
        return ""
    handler = "" if key in build.broken else body
    return f"document.getElementById({js(elem_id)}).addEventListener({js(event)}, (ev) => {{ {handler} }});\n"


def key_cases(build: Build, cases: list[tuple[str, str, str]]) -> str:
    """One ``keydown`` listener with a branch per ``(feature, key, body)`` that is present and works."""
    branches = [
        f"if ({' || '.join(f'ev.key === {js(v)}' for v in dict.fromkeys([k, k.upper() if len(k) == 1 else k]))}) "
        f"{{ {body} }}"
        for feat, k, body in cases
        if build.works(feat)
    ]
    if not branches:
        return ""
    return "document.addEventListener('keydown', (ev) => {\n  " + "\n  else ".join(branches) + "\n});\n"


def when(flag: bool, code: str) -> str:
    """``code`` if ``flag`` else the empty string — keeps renderers readable."""
    return code if flag else ""


LOOP = """
let lastT = performance.now();
function frame(t) {
  const dt = Math.min(0.05, Math.max(0, (t - lastT) / 1000));
  lastT = t;
  if (!S.paused) update(dt);
  draw();
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
"""
"""The animation loop every canvas family ends with; it calls the family's ``update(dt)`` and ``draw()``."""

RNG = """
function makeRng(seed) {
  let s = seed >>> 0;
  return function () { s = (s * 1664525 + 1013904223) >>> 0; return s / 4294967296; };
}
"""
"""A seeded PRNG in JS, so a document's state after the same actions is the same on every load."""
