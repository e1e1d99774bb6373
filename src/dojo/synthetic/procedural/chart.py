"""Data chart with controls: two series over categories, as bars or lines."""

from __future__ import annotations

import random
from typing import Any

from dojo.synthetic.procedural.base import Action, Drift, Family, Feature
from dojo.synthetic.procedural.page import (
    LOOP,
    RNG,
    canvas_drifts,
    gated_button,
    gated_slider,
    palette,
    palette_vars,
    program,
)

DATASETS = [
    (
        "Monthly sales",
        "units",
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
        ("Online", "In store"),
    ),
    ("Daily temperature", "°C", ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], ("Berlin", "Madrid")),
    ("Website visits", "visits", ["W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9", "W10"], ("Mobile", "Desktop")),
    ("Rainfall", "mm", ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug"], ("North", "South")),
    ("Fruit harvest", "kg", ["Apples", "Pears", "Plums", "Cherries", "Grapes", "Figs"], ("2024", "2025")),
    ("Energy use", "kWh", ["00h", "03h", "06h", "09h", "12h", "15h", "18h", "21h"], ("Heating", "Lighting")),
]


def _largest(values: list[int]) -> int:
    """The index of the largest value (the first one on a tie): the bar a person sees first."""
    return max(range(len(values)), key=lambda i: (values[i], -i))


class DataChart(Family):
    name = "data_chart"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        title, unit, labels, series = rng.choice(DATASETS)
        top = rng.choice([10, 40, 100, 250, 1000])
        pal = palette(rng)
        return {
            "width": rng.randrange(420, 861, 20),
            "height": rng.randrange(220, 481, 20),
            "title": title,
            "unit": unit,
            "labels": labels,
            "series": list(series),
            "kind": rng.choice(["bar", "line"]),
            "a": [rng.randint(1, top) for _ in labels],
            "b": [rng.randint(1, top) for _ in labels],
            "palette": pal,
            "colours": [pal["accent"], pal["alt"]],  # the series colours the prompt names (the ladder may drift one)
            "seed": rng.randrange(1, 2**31),
            "top": top,
        }

    def summary(self, p: dict[str, Any]) -> str:
        rows = "; ".join(f"{lab}: {a} / {b}" for lab, a, b in zip(p["labels"], p["a"], p["b"], strict=True))
        return (
            f'an interactive {p["kind"]} chart titled "{p["title"]}" on a {p["width"]}×{p["height"]} canvas '
            f"showing two series, {p['series'][0]} in {p['colours'][0]} and {p['series'][1]} in "
            f"{p['colours'][1]}, in {p['unit']}, with this data ({p['series'][0]} / {p['series'][1]}): {rows}"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        other = "line" if p["kind"] == "bar" else "bar"
        return [
            Feature(
                "axes",
                "A value axis with at least four labelled ticks, and category labels under the chart.",
                probe="tickValues(100).length >= 5",
            ),
            Feature("legend", "A legend names both series with their colours.", probe="legendItems().length === 2"),
            Feature(
                "average",
                "A dashed horizontal line marks the average of the visible values.",
                probe="averageOf(S.rows) !== null",
            ),
            Feature("values", "Each bar or point shows its value above it.", probe='valueLabel(5) === "5"'),
            Feature(
                "toggle",
                f"A button per series shows or hides that series ({p['series'][1]} among them).",
                Action(f"hide {p['series'][1]}", "#dojo-series-1", "click"),
            ),
            Feature(
                "switch",
                f"A button switches between a {p['kind']} chart and a {other} chart.",
                Action("press the chart-type button", "#dojo-type", "click"),
            ),
            Feature(
                "sort",
                f"A Sort button orders the categories by {p['series'][0]}, largest first.",
                Action("press Sort", "#dojo-sort", "click"),
            ),
            Feature(
                "add",
                "An Add button appends a new category with random values.",
                Action("press Add", "#dojo-add", "click"),
            ),
            Feature(
                "window",
                "A slider limits the chart to the last N categories.",
                Action("set the window slider to 3", "#dojo-window", "fill", "3"),
            ),
        ]

    def extras(self, p: dict[str, Any]) -> list[Feature]:
        return [
            Feature("shadow", "Bars and points cast a drop shadow.", probe="shadowBlurOf() > 0"),
            Feature("pulse", "The chart gently pulses in size.", probe="pulseAt(0.5) !== 1"),
            Feature(
                "reverse",
                "A Reverse button reverses the order of the categories.",
                Action("press Reverse", "#dojo-reverse", "click"),
            ),
        ]

    def drifts(self, p: dict[str, Any]) -> list[Drift]:
        ia, ib = _largest(p["a"]), _largest(p["b"])
        return [
            *canvas_drifts(),
            Drift("colours", "colour", "seriesColour(0)", index=0),
            Drift("colours", "colour", "seriesColour(1)", index=1),
            Drift("a", "count", f"valueAt({ia}, 0)", index=ia, bounds=(1, p["top"])),
            Drift("b", "count", f"valueAt({ib}, 1)", index=ib, bounds=(1, p["top"])),
        ]

    def runtime(self, p: dict[str, Any]) -> dict[str, Any]:
        keep = ("width", "height", "labels", "series", "kind", "a", "b", "colours", "seed", "top")
        return {"title": p["title"], "palette": palette_vars(p["palette"]), **{k: p[k] for k in keep}}

    def template(self, p: dict[str, Any]) -> str:
        toggles = gated_button("toggle", "dojo-series-0", "Series") + gated_button("toggle", "dojo-series-1", "Series")
        body = f"""<div class="bar">{toggles}{gated_button("switch", "dojo-type", "Bar / line")}{gated_button("sort", "dojo-sort", "Sort")}
{gated_button("add", "dojo-add", "Add")}{gated_button("reverse", "dojo-reverse", "Reverse")}{gated_slider("window", "dojo-window", "Show last")}</div>
<canvas id="dojo-canvas"></canvas>"""
        script = (
            RNG
            + """
const P = C.p;
const W = P.width, H = P.height, TOP = P.top, NAMES = P.series;
const cv = document.getElementById("dojo-canvas");
cv.width = W; cv.height = H;
const ctx = cv.getContext("2d");
const rand = makeRng(P.seed);
range("dojo-window", 1, P.labels.length + 10, 1, P.labels.length + 10);
for (let s = 0; s < 2; s++) {
  const el = document.getElementById("dojo-series-" + s);
  if (el) el.textContent = NAMES[s];
}
const S = { paused: false, kind: P.kind, visible: [true, true], sorted: false, win: 1000, t: 0, reverses: 0,
  rows: P.labels.map((lab, i) => [lab, P.a[i], P.b[i]]) };
function seriesColour(s) { return P.colours[s]; }
function valueAt(i, s) { return S.rows[i][s + 1]; }
function tickValues(max) { return on("axes") ? [0, 1, 2, 3, 4].map((i) => max * i / 4) : []; }
function legendItems() { return on("legend") ? NAMES.map((name, s) => [name, seriesColour(s)]) : []; }
function averageOf(rows) {
  if (!on("average")) return null;
  let sum = 0, cnt = 0;
  for (const r of rows) for (let s = 0; s < 2; s++) if (S.visible[s]) { sum += r[s + 1]; cnt += 1; }
  return cnt ? sum / cnt : null;
}
function valueLabel(v) { return on("values") ? String(v) : ""; }
function shadowBlurOf() { return on("shadow") ? 6 : 0; }
function pulseAt(t) { return on("pulse") ? 1 + 0.03 * Math.sin(t * 3) : 1; }
function update(dt) { S.t += dt; }
function draw() {
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = P.palette.bg;
  ctx.fillRect(0, 0, W, H);
  const z = pulseAt(S.t);
  ctx.setTransform(z, 0, 0, z, W * (1 - z) / 2, H * (1 - z) / 2);
  const blur = shadowBlurOf();
  if (blur > 0) { ctx.shadowColor = "rgba(0,0,0,0.5)"; ctx.shadowBlur = blur; ctx.shadowOffsetX = 3; ctx.shadowOffsetY = 3; }
  const rows = S.rows.slice(-S.win);
  const L = 50, R = W - 16, T = 30, B = H - 30;
  let max = 1;
  for (const r of rows) for (let s = 0; s < 2; s++) if (S.visible[s]) max = Math.max(max, r[s + 1]);
  const y = (v) => B - (v / max) * (B - T);
  const slot = (R - L) / Math.max(1, rows.length);
  ctx.font = "11px sans-serif";
  const ticks = tickValues(max);
  if (ticks.length) {
    ctx.strokeStyle = P.palette.fg; ctx.fillStyle = P.palette.fg; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, B); ctx.lineTo(R, B); ctx.stroke();
    for (const v of ticks) ctx.fillText(v.toFixed(0), 4, y(v) + 4);
    rows.forEach((r, i) => ctx.fillText(r[0], L + i * slot + 2, B + 14));
  }
  for (let s = 0; s < 2; s++) {
    if (!S.visible[s]) continue;
    ctx.fillStyle = seriesColour(s); ctx.strokeStyle = seriesColour(s); ctx.lineWidth = 2;
    if (S.kind === "bar") {
      rows.forEach((r, i) => {
        const x = L + i * slot + s * slot / 2 + 2, v = r[s + 1];
        ctx.fillRect(x, y(v), slot / 2 - 4, B - y(v));
        const label = valueLabel(v);
        if (label) ctx.fillText(label, x, y(v) - 3);
      });
    } else {
      ctx.beginPath();
      rows.forEach((r, i) => { const x = L + i * slot + slot / 2; if (i === 0) ctx.moveTo(x, y(r[s + 1])); else ctx.lineTo(x, y(r[s + 1])); });
      ctx.stroke();
      rows.forEach((r, i) => {
        const x = L + i * slot + slot / 2;
        ctx.beginPath(); ctx.arc(x, y(r[s + 1]), 3, 0, Math.PI * 2); ctx.fill();
        const label = valueLabel(r[s + 1]);
        if (label) ctx.fillText(label, x - 6, y(r[s + 1]) - 6);
      });
    }
  }
  ctx.shadowColor = "transparent"; ctx.shadowBlur = 0; ctx.shadowOffsetX = 0; ctx.shadowOffsetY = 0;
  const avg = averageOf(rows);
  if (avg !== null) {
    ctx.setLineDash([6, 4]); ctx.strokeStyle = P.palette.fg; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(L, y(avg)); ctx.lineTo(R, y(avg)); ctx.stroke(); ctx.setLineDash([]);
  }
  legendItems().forEach(([name, colour], s) => {
    ctx.fillStyle = colour; ctx.fillRect(R - 150 + s * 75, 8, 10, 10);
    ctx.fillText(name, R - 136 + s * 75, 17);
  });
  ctx.setTransform(1, 0, 0, 1, 0, 0);
}
for (let s = 0; s < 2; s++) bind("toggle", "dojo-series-" + s, "click", () => { S.visible[s] = !S.visible[s]; });
bind("switch", "dojo-type", "click", () => { S.kind = S.kind === "bar" ? "line" : "bar"; });
bind("sort", "dojo-sort", "click", () => { S.rows.sort((p, q) => q[1] - p[1]); S.sorted = true; });
bind("add", "dojo-add", "click", () => {
  S.rows.push(["N" + (S.rows.length + 1), 1 + Math.floor(rand() * TOP), 1 + Math.floor(rand() * TOP)]);
});
bind("reverse", "dojo-reverse", "click", () => { S.rows.reverse(); S.reverses += 1; });
bind("window", "dojo-window", "input", (ev) => { S.win = Number(ev.target.value); });
window.__dojoState = () => ({ kind: S.kind, visible: S.visible.slice(), sorted: S.sorted, points: S.rows.length,
  window: Math.min(S.win, S.rows.length), first: S.rows[0][0], reverses: S.reverses });
"""
            + LOOP
        )
        return program(body, script)
