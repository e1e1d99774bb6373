"""Drawing tool: paint strokes on a canvas with swatches, brush size, undo and clear."""

from __future__ import annotations

import random
from typing import Any

from dojo.synthetic.procedural.base import Action, Drift, Family, Feature
from dojo.synthetic.procedural.page import (
    LOOP,
    canvas_drifts,
    gated_button,
    gated_readout,
    gated_slider,
    keys,
    palette,
    palette_vars,
    program,
)

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
#: Swatch buttons in every answer's markup; the script keeps as many as the task has colours.
MAX_SWATCHES = 6

COUNT = 'document.getElementById("dojo-count")'


class DrawingTool(Family):
    name = "drawing_tool"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        return {
            "width": rng.randrange(360, 801, 20),
            "height": rng.randrange(260, 521, 20),
            "swatches": rng.sample(SWATCHES, rng.randint(3, MAX_SWATCHES)),
            "brush": rng.randint(2, 12),
            "max_brush": rng.randrange(16, 61, 4),
            "grid": rng.choice([10, 16, 20, 25, 32]),
            # light papers and dark boards: a wrong paper is another the family asks for, clearly different
            "paper": rng.choice(["#ffffff", "#fdf6e3", "#fefce8", "#1e293b", "#14532d", "#3b2417"]),
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
            Feature("grid", f"A light {p['grid']} px grid is drawn behind the picture.", probe="gridStep() > 0"),
            Feature(
                "counter",
                "A readout shows how many strokes the picture has.",
                probe=f"{COUNT} !== null && /Strokes: \\d/.test({COUNT}.textContent)",
            ),
            Feature(
                "smooth", "Strokes are drawn as smooth lines with round caps and joins.", probe='capOf() === "round"'
            ),
            Feature(
                "cursor",
                "A circle the size of the brush follows the pointer over the canvas.",
                probe="cursorAt([10, 10]) > 0",
            ),
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
            Feature(
                "mirror",
                "Every stroke is mirrored across the vertical centre line.",
                probe="mirrored([[1, 1]]) !== null",
            ),
            Feature(
                "spray",
                "The brush also sprays scattered dots around every stroke.",
                probe="sprayDots([10, 10], 6).length > 0",
            ),
            Feature(
                "stamp",
                "A Stamp button paints a star in the brush colour in the middle of the picture.",
                Action("press Stamp", "#dojo-stamp", "click"),
            ),
        ]

    def drifts(self, p: dict[str, Any]) -> list[Drift]:
        return [
            *canvas_drifts(),
            Drift("brush", "size", "__dojoState().size"),
            Drift("paper", "colour", "__dojoState().paper"),
            Drift("swatches", "colour", "__dojoState().colour", index=0),
            Drift("grid", "size", "gridStep()", feature="grid"),
            Drift("max_brush", "size", 'Number(document.getElementById("dojo-size").max)', feature="size"),
            Drift("eraser_key", "key", "__dojoState().eraser", feature="eraser"),
        ]

    def runtime(self, p: dict[str, Any]) -> dict[str, Any]:
        keep = ("width", "height", "swatches", "brush", "max_brush", "grid", "paper", "eraser_key")
        return {
            "title": p["what"].capitalize(),
            "palette": palette_vars(p["palette"]),
            **{k: p[k] for k in keep},
        }

    def template(self, p: dict[str, Any]) -> str:
        swatches = "".join(
            f'<button id="dojo-swatch-{i}" class="swatch" type="button" data-gate="swatches"></button>'
            for i in range(MAX_SWATCHES)
        )
        body = f"""<div class="bar">{swatches}{gated_slider("size", "dojo-size", "Brush")}
{gated_button("undo", "dojo-undo", "Undo")}{gated_button("fill", "dojo-fill", "Fill")}{gated_button("clear", "dojo-clear", "Clear")}{gated_button("stamp", "dojo-stamp", "Stamp")}
{gated_readout("counter", "dojo-count")}</div>
<canvas id="dojo-canvas"></canvas>"""
        css = ".swatch { width: 24px; height: 24px; padding: 0; }\n#dojo-canvas { cursor: crosshair; }"
        script = (
            """
const P = C.p;
const W = P.width, H = P.height;
const cv = document.getElementById("dojo-canvas");
cv.width = W; cv.height = H;
const ctx = cv.getContext("2d");
Array.from(document.querySelectorAll(".swatch")).forEach((el, i) => {
  if (i >= P.swatches.length) { el.remove(); return; }
  el.style.background = P.swatches[i]; el.title = P.swatches[i]; el.dataset.colour = P.swatches[i];
});
range("dojo-size", 1, P.max_brush, 1, P.brush);
const S = { paused: false, paper: P.paper, colour: P.swatches[0], size: P.brush, eraser: false, strokes: [], current: null,
  pointer: null, sized: 0, undos: 0, clears: 0 };
function update(dt) {}
function gridStep() { return on("grid") ? P.grid : 0; }
function capOf() { return on("smooth") ? "round" : "butt"; }
function joinOf() { return on("smooth") ? "round" : "miter"; }
function cursorAt(pt) { return on("cursor") && pt ? S.size / 2 : 0; }
function mirrored(pts) { return on("mirror") ? pts.map((q) => [W - q[0], q[1]]) : null; }
function sprayDots(pt, size) {
  const dots = [];
  if (!on("spray")) return dots;
  for (let i = 0; i < 6; i++) {
    const a = (i * 2.4 + pt[0]) % (Math.PI * 2), r = (i % 3 + 1) * size / 3;
    dots.push([pt[0] + Math.cos(a) * r, pt[1] + Math.sin(a) * r]);
  }
  return dots;
}
function drawStroke(s) {
  ctx.strokeStyle = s.colour; ctx.fillStyle = s.colour; ctx.lineWidth = s.size;
  ctx.lineCap = capOf(); ctx.lineJoin = joinOf();
  if (on("spray")) {
    for (const pt of s.pts) for (const d of sprayDots(pt, s.size)) ctx.fillRect(d[0], d[1], 2, 2);
  }
  ctx.beginPath();
  ctx.moveTo(s.pts[0][0], s.pts[0][1]);
  for (const pt of s.pts) ctx.lineTo(pt[0], pt[1]);
  if (s.pts.length === 1) ctx.lineTo(s.pts[0][0] + 0.1, s.pts[0][1]);
  ctx.stroke();
}
function draw() {
  ctx.fillStyle = S.paper;
  ctx.fillRect(0, 0, W, H);
  const g = gridStep();
  if (g > 0) {
    ctx.strokeStyle = "rgba(0,0,0,0.08)"; ctx.lineWidth = 1;
    ctx.beginPath();
    for (let x = 0; x <= W; x += g) { ctx.moveTo(x + 0.5, 0); ctx.lineTo(x + 0.5, H); }
    for (let y = 0; y <= H; y += g) { ctx.moveTo(0, y + 0.5); ctx.lineTo(W, y + 0.5); }
    ctx.stroke();
  }
  for (const s of S.strokes) {
    drawStroke(s);
    const m = mirrored(s.pts);
    if (m) drawStroke({ colour: s.colour, size: s.size, pts: m });
  }
  const r = cursorAt(S.pointer);
  if (r > 0) {
    ctx.strokeStyle = P.palette.accent; ctx.lineWidth = 1;
    ctx.beginPath(); ctx.arc(S.pointer[0], S.pointer[1], r, 0, Math.PI * 2); ctx.stroke();
  }
  if (on("counter")) document.getElementById("dojo-count").textContent = "Strokes: " + S.strokes.length;
}
function at(ev) { const rc = cv.getBoundingClientRect(); return [Math.round(ev.clientX - rc.left), Math.round(ev.clientY - rc.top)]; }
function ink() { return S.eraser ? S.paper : S.colour; }
cv.addEventListener("pointerdown", (ev) => {
  S.current = { colour: ink(), size: S.size, pts: [at(ev)] };
  S.strokes.push(S.current);
});
cv.addEventListener("pointermove", (ev) => {
  S.pointer = at(ev);
  if (S.current && ev.buttons) S.current.pts.push(S.pointer);
});
window.addEventListener("pointerup", () => { S.current = null; });
cv.addEventListener("pointerleave", () => { S.pointer = null; });
P.swatches.forEach((c, i) => bind("swatches", "dojo-swatch-" + i, "click", () => { S.colour = c; }));
bind("size", "dojo-size", "input", (ev) => { S.size = Number(ev.target.value); S.sized += 1; });
bind("undo", "dojo-undo", "click", () => { S.strokes.pop(); S.undos += 1; });
bind("clear", "dojo-clear", "click", () => { S.strokes = []; S.clears += 1; });
bind("fill", "dojo-fill", "click", () => { S.paper = S.colour; });
bind("stamp", "dojo-stamp", "click", () => {
  const r = Math.min(W, H) / 6, pts = [];
  for (let k = 0; k <= 10; k++) {
    const a = -Math.PI / 2 + k * Math.PI / 5, d = k % 2 ? r * 0.4 : r;
    pts.push([Math.round(W / 2 + Math.cos(a) * d), Math.round(H / 2 + Math.sin(a) * d)]);
  }
  S.strokes.push({ colour: ink(), size: S.size, pts });
});
onKey("eraser", "eraser_key", () => { S.eraser = !S.eraser; });
window.__dojoState = () => ({ strokes: S.strokes.length, paper: S.paper, colour: S.colour, size: S.size, eraser: S.eraser,
  sized: S.sized, undos: S.undos, clears: S.clears });
"""
            + LOOP
        )
        return program(body, script, css)
