"""Shared pieces of every procedural program: the HTML shell, palettes, gated controls, canvas drifts, wrong values."""

from __future__ import annotations

import colorsys
import functools
import math
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np

from dojo.synthetic.procedural.base import Drift
from dojo.synthetic.surface import MARKER, PRELUDE

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

#: The JS expression of the canvas every family draws on (``#dojo-canvas``).
CANVAS = 'document.getElementById("dojo-canvas")'


def canvas_drifts(
    width: str = "width", height: str | None = "height", kind: str = "size", unit: str | None = None
) -> list[Drift]:
    """The canvas's size as parameters a rung may set wrong, observed on ``#dojo-canvas``: ``width`` and ``height``.

    A square canvas has one parameter (``height=None``); a grid gives its parameters in cells
    (``kind="count"``, ``unit`` the JS expression of one cell's size in pixels).
    """
    per = "" if unit is None else f" / {unit}"
    out = [Drift(width, kind, f"{CANVAS}.width{per}")]
    if height is not None:
        out.append(Drift(height, kind, f"{CANVAS}.height{per}"))
    return out


# -- template families: one program per task, gated at run time by its configuration block ---------

#: Colours a drifted colour is drawn from: far apart, so a person sees the difference at once.
DISTINCT = [
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
    "#bfef45", "#ffffff", "#9a6324", "#800000", "#000075", "#808000",
]  # fmt: skip


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def is_colour(value: Any) -> bool:
    """``#rrggbb``."""
    return isinstance(value, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", value) is not None


def far_colours(a: str, b: str) -> bool:
    """A person tells ``a`` from ``b`` at once: far apart in RGB, or two clear hues a quarter turn apart."""
    ra, rb = _rgb(a), _rgb(b)
    if sum((x - y) ** 2 for x, y in zip(ra, rb, strict=True)) > 160**2:
        return True
    ha, la, sa = colorsys.rgb_to_hls(*(x / 255 for x in ra))
    hb, lb, sb = colorsys.rgb_to_hls(*(x / 255 for x in rb))
    gap = abs(ha - hb) % 1.0
    clear = all(s >= 0.3 and 0.2 <= light <= 0.8 for s, light in ((sa, la), (sb, lb)))
    return clear and min(gap, 1.0 - gap) >= 0.25


#: A wrong number is at least this many times larger or smaller than the requested one.
MIN_RATIO = 1.4
#: Grids larger than this are not used (a wrong value is then drawn by its factor).
MAX_BALANCED = 2000


def _apart(a: Any, b: Any) -> bool:
    """Two values of one parameter are clearly different: colours far apart, numbers :data:`MIN_RATIO` apart."""
    if isinstance(a, str):
        return far_colours(a, b)
    return bool(max(a / b, b / a) >= MIN_RATIO)


@functools.lru_cache(maxsize=512)
def _balance(points: tuple[Any, ...]) -> tuple[float, ...]:
    """Weights over ``points`` such that, for ``v`` uniform on them and a wrong value ``w`` drawn among the
    points clearly different from ``v`` (:func:`_apart`) with probability ∝ its weight, ``w`` is as
    near uniform on the points as can be.

    Drawing ``w`` uniformly among the far points instead makes the points far from most others
    (a grid's ends, an odd colour out) more frequent as wrong values than as requested ones, which
    a bot that reads the values would learn. A few rounds of iterative scaling.
    """
    n = len(points)
    if n == 0:
        return ()
    if isinstance(points[0], str):
        far = np.array([[_apart(a, b) for b in points] for a in points], dtype=float)

        def spread(w: np.ndarray) -> np.ndarray:  # each far row as a distribution ∝ w, summed over rows
            k = far * w
            z = k.sum(axis=1, keepdims=True)
            return np.asarray(np.where(z > 0, k / np.where(z > 0, z, 1.0), 0.0).sum(axis=0))

        rows = int(far.any(axis=1).sum())
    else:
        # numbers: the values far from x are a prefix and a suffix of the sorted points (prefix sums, O(n))
        order = np.argsort(np.array(points, dtype=float))
        x = np.array(points, dtype=float)[order]
        below = np.searchsorted(x, x / MIN_RATIO * (1 + 1e-12), side="right")
        above = np.searchsorted(x, x * MIN_RATIO * (1 - 1e-12), side="left")

        def within(values: np.ndarray) -> np.ndarray:  # for each i: the sum of ``values`` over points far from i
            c = np.concatenate([[0.0], np.cumsum(values)])
            return np.asarray(c[below] + (c[-1] - c[above]))

        def spread(w: np.ndarray) -> np.ndarray:
            z = within(w[order])
            inv = np.where(z > 0, 1.0 / np.where(z > 0, z, 1.0), 0.0)
            out = np.empty(n)
            out[order] = w[order] * within(inv)
            return out

        rows = int((below + (n - above) > 0).sum())
    a = np.ones(n)
    if rows == 0:
        return tuple(float(v) for v in a)
    for _ in range(200):
        got = spread(a) / rows
        a = np.where(got > 0, a * np.clip((1.0 / n) / np.maximum(got, 1e-12), 0.2, 5.0), a)
        a /= a.mean()
    # rounded: a last-bit difference of another machine's floating point must not change a task
    return tuple(float(f"{float(v):.6g}") for v in a)


@dataclass(frozen=True)
class Support:
    """The values a parameter takes when tasks are drawn, so that a wrong value looks like one a prompt could ask.

    Numbers: the grid ``origin + k × grain`` within ``[lo, hi]`` (``integral``: integers), or,
    when the draws do not fill their grid (a choice from a list), the ``points`` drawn. Colours:
    the ``points`` drawn or, for colours drawn per channel, each channel's range (``channels``).
    """

    lo: float | None = None
    hi: float | None = None
    origin: float = 0.0
    grain: float | None = None
    integral: bool = False
    points: tuple[Any, ...] = ()
    channels: tuple[tuple[int, int], ...] | None = None

    @classmethod
    def of(cls, samples: Sequence[Any]) -> Support | None:
        """The support of a parameter from values drawn for it (None when it is neither numbers nor colours)."""
        if not samples:
            return None
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in samples):
            lo, hi = min(samples), max(samples)
            if all(isinstance(v, int) for v in samples):
                step = 0
                for v in samples:
                    step = math.gcd(step, int(v - lo))
                sup = cls(lo=lo, hi=hi, origin=lo, grain=step or 1, integral=True)
            else:
                reprs = [repr(float(v)) for v in samples]
                decimals = max(len(r.partition(".")[2]) if "e" not in r else 6 for r in reprs)
                sup = cls(lo=lo, hi=hi, origin=0.0, grain=10.0**-decimals)
            distinct = tuple(sorted(set(samples)))
            if len(sup.grid()) > 2 * len(distinct):  # a few values of a wide grid: the values, not the grid
                return cls(lo=lo, hi=hi, origin=sup.origin, grain=sup.grain, integral=sup.integral, points=distinct)
            return sup
        if all(is_colour(v) for v in samples):
            colours = [str(v).lower() for v in samples]
            if len(set(colours)) * 4 <= len(colours):
                return cls(points=tuple(sorted(set(colours))))
            rgb = [_rgb(c) for c in colours]
            return cls(channels=tuple((min(c[i] for c in rgb), max(c[i] for c in rgb)) for i in range(3)))
        return None

    def within(self, bounds: tuple[float, float]) -> Support:
        """This support's grid over ``bounds`` (a task's own range for the parameter) instead of its range."""
        if self.grain is None:
            return self
        return Support(bounds[0], bounds[1], self.origin, self.grain, self.integral)

    def grid(self) -> tuple[Any, ...]:
        """The values a wrong value is drawn from: ``points`` within ``[lo, hi]``, or the grid's."""
        if self.points:
            if self.lo is None or self.hi is None:
                return self.points
            return tuple(x for x in self.points if self.lo <= x <= self.hi)
        if self.lo is None or self.hi is None or self.grain is None:
            return ()
        g, o = self.grain, self.origin
        k_lo, k_hi = math.ceil((self.lo - o) / g - 1e-9), math.floor((self.hi - o) / g + 1e-9)
        if k_hi - k_lo >= MAX_BALANCED:
            return ()
        if self.integral:
            return tuple(int(round(o + k * g)) for k in range(k_lo, k_hi + 1))
        decimals = max(0, round(-math.log10(g))) if g < 1 else 0
        return tuple(round(o + k * g, decimals) for k in range(k_lo, k_hi + 1))

    def _draw(self, value: Any, points: tuple[Any, ...], rng: random.Random, taken: set[Any]) -> Any:
        weights = _balance(points)
        pool = [(x, w) for x, w in zip(points, weights, strict=True) if x not in taken and _apart(x, value)]
        if not pool:
            return None
        if sum(w for _, w in pool) <= 0:
            return rng.choice([x for x, _ in pool])
        return rng.choices([x for x, _ in pool], weights=[w for _, w in pool])[0]

    def far_number(self, value: float, rng: random.Random, taken: Iterable[Any] = ()) -> float | None:
        """A value of the support at least :data:`MIN_RATIO` times away from ``value``, or None.

        Drawn (:func:`_balance`) so that, over requested values drawn from the support, wrong values
        come out as near to the same spread as the ratio allows: not more often an extreme one.
        """
        points = self.grid()
        if value <= 0 or not points or isinstance(points[0], str):
            return None
        found: float | None = self._draw(value, points, rng, set(taken))
        return found

    def far_colour(self, value: str, rng: random.Random, taken: set[Any]) -> str | None:
        """A colour of this support far from ``value`` (:func:`far_colours`), or None."""
        if self.points and isinstance(self.points[0], str):
            found: str | None = self._draw(value, self.points, rng, taken)
            return found
        if self.channels is not None:
            for _ in range(1000):
                c = "#" + "".join(f"{rng.randint(lo, hi):02x}" for lo, hi in self.channels)
                if c not in taken and far_colours(c, value):
                    return c
        return None


def wrong_value(
    kind: str,
    value: Any,
    rng: random.Random,
    avoid: Iterable[Any] = (),
    support: Support | None = None,
    bounds: tuple[float, float] | None = None,
) -> Any:
    """A value of ``kind`` that a person sees at once is not ``value`` (never one of ``avoid``).

    With a ``support`` (the values the parameter takes when tasks are drawn) the wrong value is one
    of those — a value a prompt could have asked for: a number of the same grid at least
    :data:`MIN_RATIO` times larger or smaller, a colour of the same set far from ``value``; with
    ``bounds`` too (the task's own range for the number), within them if one is far enough.
    Without a support, or when it has none: colour: another colour of :data:`DISTINCT`, far
    from ``value``; count: ×0.5 or ×2; size: ×0.5 or ×2; speed: ×0.4 or ×2.5 (integers stay
    integers, at least 1); key: another shortcut key.
    """
    taken = set(avoid) | {value}
    if kind == "colour":
        found = support.far_colour(str(value).lower(), rng, taken) if support is not None else None
        if found is not None:
            return found
        far = [c for c in DISTINCT if c not in taken and far_colours(c, value)]
        return rng.choice(far)
    if kind == "key":
        return rng.choice([k for k in KEYS if k not in taken])
    if support is not None:
        for where in ([support.within(bounds)] if bounds is not None else []) + [support]:
            number = where.far_number(value, rng, taken)
            if number is not None:
                return number
    factors = {"count": (0.5, 2.0), "size": (0.5, 2.0), "speed": (0.4, 2.5)}[kind]
    options = []
    for f in factors:
        v = value * f
        v = max(1, round(v)) if isinstance(value, int) else round(v, 2)
        if v not in taken and v > 0:
            options.append(v)
    return rng.choice(options)


def gated_button(key: str, elem_id: str, label: str) -> str:
    """A button of feature ``key``, in every answer; the script removes it when the feature is off."""
    return f'<button id="{elem_id}" type="button" data-gate="{key}">{escape(label)}</button>'


def gated_slider(key: str, elem_id: str, label: str) -> str:
    """A labelled range input of feature ``key``; :func:`RUNTIME`'s ``range`` sets its bounds from ``C.p``."""
    return f'<label data-gate="{key}">{escape(label)} <input id="{elem_id}" type="range"></label>'


def gated_readout(key: str, elem_id: str) -> str:
    """A text span feature ``key`` writes into; removed when the feature is off."""
    return f'<span id="{elem_id}" class="readout" data-gate="{key}"></span>'


RUNTIME = (
    PRELUDE
    + """// A feature's code runs only when on(k); a user action's handler only when live(k) (on and not broken).
for (const el of Array.from(document.querySelectorAll("[data-gate]"))) {
  if (!on(el.getAttribute("data-gate"))) el.remove();
  else el.removeAttribute("data-gate");
}
function bind(k, id, type, fn) {
  const el = document.getElementById(id);
  if (el) el.addEventListener(type, (ev) => { if (live(k)) fn(ev); });
}
function onKey(k, name, fn) {
  document.addEventListener("keydown", (ev) => {
    const want = C.p[name];
    if (live(k) && (ev.key === want || ev.key === want.toUpperCase())) fn(ev);
  });
}
function range(id, lo, hi, step, value) {
  const el = document.getElementById(id);
  if (el) { el.min = lo; el.max = hi; el.step = step; el.value = value; }
}
(function paint() {
  const root = document.documentElement.style;
  for (const [name, value] of Object.entries(C.p.palette)) root.setProperty("--" + name, value);
  document.title = C.p.title;
  document.querySelector("h1").textContent = C.p.title;
})();
"""
)
"""The prelude of every template family's script: decodes ``C`` and gives ``on``/``live``/``bind``/``onKey``/``range``."""


def palette_vars(pal: dict[str, str]) -> dict[str, str]:
    """The CSS variables :data:`RUNTIME` sets from ``C.p.palette`` (``--bg``, ``--fg``, ``--accent``, ``--line``)."""
    return {"bg": pal["bg"], "fg": pal["fg"], "accent": pal["accent"], "line": pal["fg"] + "44"}


def program(body: str, script: str, css: str = "") -> str:
    """A template family's document: no parameter in it, the title and colours come from ``C.p``."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title></title>
<style>
body {{ margin: 0; padding: 12px; background: var(--bg); color: var(--fg); font: 14px system-ui, sans-serif; }}
h1 {{ font-size: 18px; margin: 0 0 8px; }}
.bar {{ display: flex; flex-wrap: wrap; gap: 8px; align-items: center; margin: 8px 0; }}
button {{ background: var(--accent); color: var(--bg); border: 0; border-radius: 4px; padding: 5px 10px; cursor: pointer; }}
canvas {{ display: block; border: 1px solid var(--line); background: var(--bg); }}
.readout {{ font-variant-numeric: tabular-nums; }}
{css}
</style>
</head>
<body>
<h1></h1>
{body}
{MARKER}
<script>
"use strict";
{RUNTIME}
{script}
</script>
</body>
</html>
"""
