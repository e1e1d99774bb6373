"""Drawing tool: paint strokes on a canvas with swatches, brush size, undo and clear."""

from __future__ import annotations

import random
from typing import Any

from dojo.synthetic.procedural.base import Action, Build, Family, Feature
from dojo.synthetic.procedural.page import LOOP, document, js, key_cases, keys, on, palette, readout, slider, when

SWATCHES = [
    "#ef4444",
    "#f97316",
    "#eab308",
    "#22c55e",
    "#06b6d4",
    "#3b82f6",
    "#8b5cf6",
    "#ec4899",
    "#111827",
    "#f9fafb",
]


class DrawingTool(Family):
    name = "drawing_tool"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        return {
            "width": rng.randrange(360, 801, 20),
            "height": rng.randrange(260, 521, 20),
            "swatches": rng.sample(SWATCHES, rng.randint(3, 6)),
            "brush": rng.randint(2, 12),
            "max_brush": rng.randrange(16, 61, 4),
            "grid": rng.choice([10, 16, 20, 25, 32]),
            "paper": rng.choice(["#ffffff", "#fdf6e3", "#f1f5f9", "#fefce8"]),
            "palette": palette(rng),
            "eraser_key": keys(rng, 1)[0],
            "what": rng.choice(["sketch pad", "paint program", "doodle board"]),
        }

    def summary(self, p: dict[str, Any]) -> str:
        return (
            f"a {p['what']} with a {p['width']}×{p['height']} {p['paper']} canvas to paint on with the mouse, "
            f"a round brush of {p['brush']} px in {p['swatches'][0]} to start with; pressing and dragging on the canvas "
            "paints a stroke"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        k = p["eraser_key"].upper()
        return [
            Feature("grid", f"A light {p['grid']} px grid is drawn behind the picture."),
            Feature("counter", "A readout shows how many strokes the picture has."),
            Feature("smooth", "Strokes are drawn as smooth lines with round caps and joins."),
            Feature("cursor", "A circle the size of the brush follows the pointer over the canvas."),
            Feature(
                "swatches",
                f"{len(p['swatches'])} colour swatches ({', '.join(p['swatches'])}) choose the brush colour.",
                Action("pick the second swatch", "#dojo-swatch-1", "click"),
            ),
            Feature(
                "size",
                f"A slider sets the brush size between 1 and {p['max_brush']} px.",
                Action("set the brush slider to 5", "#dojo-size", "fill", "5"),
            ),
            Feature("undo", "An Undo button removes the last stroke.", Action("press Undo", "#dojo-undo", "click")),
            Feature("clear", "A Clear button erases the whole picture.", Action("press Clear", "#dojo-clear", "click")),
            Feature(
                "fill",
                "A Fill button paints the whole background in the current brush colour.",
                Action("press Fill", "#dojo-fill", "click"),
            ),
            Feature(
                "eraser",
                f"Pressing the {k} key toggles an eraser that paints with the canvas colour.",
                Action(f"press {k}", "body", "press", p["eraser_key"]),
            ),
        ]

    def core_actions(self, p: dict[str, Any]) -> list[Action]:
        return [Action("click the canvas to paint a dot", "#dojo-canvas", "click-at", "50,60")]

    def extras(self, p: dict[str, Any]) -> list[Feature]:
        return [
            Feature("mirror", "Every stroke is mirrored across the vertical centre line."),
            Feature("spray", "The brush sprays scattered dots instead of solid lines."),
        ]

    def render(self, p: dict[str, Any], build: Build) -> str:
        pal, w, h = p["palette"], p["width"], p["height"]
        swatches = ""
        if build.has("swatches"):
            swatches = "".join(
                f'<button id="dojo-swatch-{i}" type="button" style="background:{c};width:24px;height:24px" '
                f'data-colour="{c}" title="{c}"></button>'
                for i, c in enumerate(p["swatches"])
            )
        controls = [swatches, slider(build, "size", "dojo-size", "Brush", 1, p["max_brush"], 1, p["brush"])]
        if build.has("undo"):
            controls.append('<button id="dojo-undo" type="button">Undo</button>')
        if build.has("fill"):
            controls.append('<button id="dojo-fill" type="button">Fill</button>')
        if build.has("clear"):
            controls.append('<button id="dojo-clear" type="button">Clear</button>')
        controls.append(readout(build, "counter", "dojo-count"))
        body = f"""<div class="bar">{"".join(controls)}</div>
<canvas id="dojo-canvas" width="{w}" height="{h}" style="background:{p["paper"]};cursor:crosshair"></canvas>"""
        if build.has("spray"):
            paint = """    for (const pt of s.pts) {
      for (let i = 0; i < 6; i++) {
        const a = (i * 2.4 + pt[0]) % (Math.PI * 2), r = (i % 3 + 1) * s.size / 3;
        ctx.fillRect(pt[0] + Math.cos(a) * r, pt[1] + Math.sin(a) * r, 2, 2);
      }
    }"""
        else:
            paint = """    ctx.beginPath();
    ctx.moveTo(s.pts[0][0], s.pts[0][1]);
    for (const pt of s.pts) ctx.lineTo(pt[0], pt[1]);
    if (s.pts.length === 1) ctx.lineTo(s.pts[0][0] + 0.1, s.pts[0][1]);
    ctx.stroke();"""
        swatch_js = ""
        if build.has("swatches"):
            swatch_js = "".join(
                on(build, "swatches", f"dojo-swatch-{i}", "click", "S.colour = ev.target.dataset.colour;")
                for i in range(len(p["swatches"]))
            )
        script = (
            f"""
const W = {w}, H = {h}, PAPER = {js(p["paper"])};
const cv = document.getElementById("dojo-canvas");
const ctx = cv.getContext("2d");
const S = {{ paused: false, paper: PAPER, colour: {js(p["swatches"][0])}, size: {
                p["brush"]
            }, eraser: false, strokes: [], current: null,
  pointer: null }};
function update(dt) {{}}
function drawStroke(s) {{
  ctx.strokeStyle = s.colour; ctx.fillStyle = s.colour; ctx.lineWidth = s.size;
  ctx.lineCap = {js("round" if build.has("smooth") else "butt")}; ctx.lineJoin = {
                js("round" if build.has("smooth") else "miter")
            };
{paint}
}}
function draw() {{
  ctx.fillStyle = S.paper;
  ctx.fillRect(0, 0, W, H);
{
                when(
                    build.has("grid"),
                    f'''  ctx.strokeStyle = "rgba(0,0,0,0.08)"; ctx.lineWidth = 1;
  ctx.beginPath();
  for (let x = 0; x <= W; x += {p['grid']}) {{ ctx.moveTo(x + 0.5, 0); ctx.lineTo(x + 0.5, H); }}
  for (let y = 0; y <= H; y += {p['grid']}) {{ ctx.moveTo(0, y + 0.5); ctx.lineTo(W, y + 0.5); }}
  ctx.stroke();''',
                )
            }
  for (const s of S.strokes) {{
    drawStroke(s);
{
                when(
                    build.has("mirror"),
                    "    drawStroke({ colour: s.colour, size: s.size, pts: s.pts.map((q) => [W - q[0], q[1]]) });",
                )
            }
  }}
{
                when(
                    build.has("cursor"),
                    f'''  if (S.pointer) {{
    ctx.strokeStyle = {js(pal['accent'])}; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.arc(S.pointer[0], S.pointer[1], S.size / 2, 0, Math.PI * 2); ctx.stroke();
  }}''',
                )
            }
{when(build.has("counter"), '  document.getElementById("dojo-count").textContent = "Strokes: " + S.strokes.length;')}
}}
function at(ev) {{ const rc = cv.getBoundingClientRect(); return [Math.round(ev.clientX - rc.left), Math.round(ev.clientY - rc.top)]; }}
cv.addEventListener("pointerdown", (ev) => {{
  S.current = {{ colour: S.eraser ? S.paper : S.colour, size: S.size, pts: [at(ev)] }};
  S.strokes.push(S.current);
}});
{on(build, "fill", "dojo-fill", "click", "S.paper = S.colour;")}
cv.addEventListener("pointermove", (ev) => {{
  S.pointer = at(ev);
  if (S.current && ev.buttons) S.current.pts.push(S.pointer);
}});
window.addEventListener("pointerup", () => {{ S.current = null; }});
cv.addEventListener("pointerleave", () => {{ S.pointer = null; }});
{swatch_js}
{on(build, "size", "dojo-size", "input", "S.size = Number(ev.target.value);")}
{on(build, "undo", "dojo-undo", "click", "S.strokes.pop();")}
{on(build, "clear", "dojo-clear", "click", "S.strokes = [];")}
{key_cases(build, [("eraser", p["eraser_key"], "S.eraser = !S.eraser;")])}
window.__dojoState = () => ({{ strokes: S.strokes.length, paper: S.paper, colour: S.colour, size: S.size, eraser: S.eraser }});
"""
            + LOOP
        )
        return document(p["what"].capitalize(), pal, body, script)
