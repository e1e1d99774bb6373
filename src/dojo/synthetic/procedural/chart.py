"""Data chart with controls: two series over categories, as bars or lines."""

from __future__ import annotations

import random
from typing import Any

from dojo.synthetic.procedural.base import Action, Build, Family, Feature
from dojo.synthetic.procedural.page import LOOP, RNG, button, document, js, on, palette, slider, when

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


class DataChart(Family):
    name = "data_chart"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        title, unit, labels, series = rng.choice(DATASETS)
        top = rng.choice([10, 40, 100, 250, 1000])
        return {
            "width": rng.randrange(420, 861, 20),
            "height": rng.randrange(260, 481, 20),
            "title": title,
            "unit": unit,
            "labels": labels,
            "series": list(series),
            "kind": rng.choice(["bar", "line"]),
            "a": [rng.randint(1, top) for _ in labels],
            "b": [rng.randint(1, top) for _ in labels],
            "palette": palette(rng),
            "seed": rng.randrange(1, 2**31),
            "top": top,
        }

    def summary(self, p: dict[str, Any]) -> str:
        rows = "; ".join(f"{lab}: {a} / {b}" for lab, a, b in zip(p["labels"], p["a"], p["b"], strict=True))
        return (
            f'an interactive {p["kind"]} chart titled "{p["title"]}" on a {p["width"]}×{p["height"]} canvas '
            f"showing two series, {p['series'][0]} in {p['palette']['accent']} and {p['series'][1]} in "
            f"{p['palette']['alt']}, in {p['unit']}, with this data ({p['series'][0]} / {p['series'][1]}): {rows}"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        other = "line" if p["kind"] == "bar" else "bar"
        return [
            Feature("axes", "A value axis with at least four labelled ticks, and category labels under the chart."),
            Feature("legend", "A legend names both series with their colours."),
            Feature("average", "A dashed horizontal line marks the average of the visible values."),
            Feature("values", "Each bar or point shows its value above it."),
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
            Feature("shadow", "Bars and points cast a drop shadow."),
            Feature("pulse", "The chart gently pulses in size."),
        ]

    def render(self, p: dict[str, Any], build: Build) -> str:
        pal, w, h = p["palette"], p["width"], p["height"]
        n = len(p["labels"])
        toggles = ""
        if build.has("toggle"):
            toggles = "".join(
                f'<button id="dojo-series-{i}" type="button">{name}</button>' for i, name in enumerate(p["series"])
            )
        body = f"""<div class="bar">{toggles}{button(build, "switch", "dojo-type", "Bar / line")}{button(build, "sort", "dojo-sort", "Sort")}
{button(build, "add", "dojo-add", "Add")}{slider(build, "window", "dojo-window", "Show last", 1, n + 10, 1, n + 10)}</div>
<canvas id="dojo-canvas" width="{w}" height="{h}"></canvas>"""
        toggle_js = (
            "".join(
                f"document.getElementById('dojo-series-{i}').addEventListener('click', () => {{ "
                f"{'' if 'toggle' in build.broken else f'S.visible[{i}] = !S.visible[{i}];'} }});\n"
                for i in range(2)
            )
            if build.has("toggle")
            else ""
        )
        script = (
            RNG
            + f"""
const W = {w}, H = {h}, TOP = {p["top"]};
const COLOURS = [{js(pal["accent"])}, {js(pal["alt"])}];
const NAMES = {js(p["series"])};
const cv = document.getElementById("dojo-canvas");
const ctx = cv.getContext("2d");
const rand = makeRng({p["seed"]});
const S = {{ paused: false, kind: {js(p["kind"])}, visible: [true, true], sorted: false, win: 1000, t: 0,
  rows: {js([[lab, a, b] for lab, a, b in zip(p["labels"], p["a"], p["b"], strict=True)])} }};
function update(dt) {{ S.t += dt; }}
function draw() {{
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = {js(pal["bg"])};
  ctx.fillRect(0, 0, W, H);
{
                when(
                    build.has("pulse"),
                    "  const z = 1 + 0.02 * Math.sin(S.t * 3); ctx.setTransform(z, 0, 0, z, W * (1 - z) / 2, H * (1 - z) / 2);",
                )
            }
{
                when(
                    build.has("shadow"),
                    '  ctx.shadowColor = "rgba(0,0,0,0.5)"; ctx.shadowBlur = 6; ctx.shadowOffsetX = 3; ctx.shadowOffsetY = 3;',
                )
            }
  const rows = S.rows.slice(-S.win);
  const L = 50, R = W - 16, T = 30, B = H - 30;
  let max = 1;
  for (const r of rows) for (let s = 0; s < 2; s++) if (S.visible[s]) max = Math.max(max, r[s + 1]);
  const y = (v) => B - (v / max) * (B - T);
  const slot = (R - L) / Math.max(1, rows.length);
  ctx.font = "11px sans-serif";
{
                when(
                    build.has("axes"),
                    f'''  ctx.strokeStyle = {js(pal['fg'])}; ctx.fillStyle = {js(pal['fg'])}; ctx.lineWidth = 1;
  ctx.beginPath(); ctx.moveTo(L, T); ctx.lineTo(L, B); ctx.lineTo(R, B); ctx.stroke();
  for (let i = 0; i <= 4; i++) {{ const v = max * i / 4; ctx.fillText(v.toFixed(0), 4, y(v) + 4); }}
  rows.forEach((r, i) => ctx.fillText(r[0], L + i * slot + 2, B + 14));''',
                )
            }
  for (let s = 0; s < 2; s++) {{
    if (!S.visible[s]) continue;
    ctx.fillStyle = COLOURS[s]; ctx.strokeStyle = COLOURS[s]; ctx.lineWidth = 2;
    if (S.kind === "bar") {{
      rows.forEach((r, i) => {{
        const x = L + i * slot + s * slot / 2 + 2, v = r[s + 1];
        ctx.fillRect(x, y(v), slot / 2 - 4, B - y(v));
{when(build.has("values"), "        ctx.fillText(String(v), x, y(v) - 3);")}
      }});
    }} else {{
      ctx.beginPath();
      rows.forEach((r, i) => {{ const x = L + i * slot + slot / 2; if (i === 0) ctx.moveTo(x, y(r[s + 1])); else ctx.lineTo(x, y(r[s + 1])); }});
      ctx.stroke();
      rows.forEach((r, i) => {{
        const x = L + i * slot + slot / 2;
        ctx.beginPath(); ctx.arc(x, y(r[s + 1]), 3, 0, Math.PI * 2); ctx.fill();
{when(build.has("values"), "        ctx.fillText(String(r[s + 1]), x - 6, y(r[s + 1]) - 6);")}
      }});
    }}
  }}
  ctx.shadowColor = "transparent";
{
                when(
                    build.has("average"),
                    f'''  let sum = 0, cnt = 0;
  for (const r of rows) for (let s = 0; s < 2; s++) if (S.visible[s]) {{ sum += r[s + 1]; cnt += 1; }}
  if (cnt) {{
    ctx.setLineDash([6, 4]); ctx.strokeStyle = {js(pal['fg'])};
    ctx.beginPath(); ctx.moveTo(L, y(sum / cnt)); ctx.lineTo(R, y(sum / cnt)); ctx.stroke(); ctx.setLineDash([]);
  }}''',
                )
            }
{
                when(
                    build.has("legend"),
                    '''  for (let s = 0; s < 2; s++) {
    ctx.fillStyle = COLOURS[s]; ctx.fillRect(R - 150 + s * 75, 8, 10, 10);
    ctx.fillText(NAMES[s], R - 136 + s * 75, 17);
  }''',
                )
            }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
}}
{toggle_js}
{on_js(build)}
window.__dojoState = () => ({{ kind: S.kind, visible: S.visible.slice(), sorted: S.sorted, points: S.rows.length,
  window: Math.min(S.win, S.rows.length), first: S.rows[0][0] }});
"""
            + LOOP
        )
        return document(p["title"], pal, body, script)


def on_js(build: Build) -> str:
    """The handlers of the chart's single-element controls."""
    return (
        on(build, "switch", "dojo-type", "click", 'S.kind = S.kind === "bar" ? "line" : "bar";')
        + on(build, "sort", "dojo-sort", "click", "S.rows.sort((p, q) => q[1] - p[1]); S.sorted = true;")
        + on(
            build,
            "add",
            "dojo-add",
            "click",
            'S.rows.push(["N" + (S.rows.length + 1), 1 + Math.floor(rand() * TOP), 1 + Math.floor(rand() * TOP)]);',
        )
        + on(build, "window", "dojo-window", "input", "S.win = Number(ev.target.value);")
    )
