"""Cellular automaton: a Life-like rule on a grid the user can edit and run."""

from __future__ import annotations

import random
from typing import Any

from dojo.synthetic.procedural.base import Action, Drift, Family, Feature
from dojo.synthetic.procedural.page import (
    LOOP,
    RNG,
    canvas_drifts,
    gated_button,
    gated_readout,
    gated_slider,
    keys,
    palette,
    palette_vars,
    program,
)

RULES = {
    "Conway's Game of Life": ([3], [2, 3]),
    "HighLife": ([3, 6], [2, 3]),
    "Day & Night": ([3, 6, 7, 8], [3, 4, 6, 7, 8]),
    "Seeds": ([2], []),
    "Maze": ([3], [1, 2, 3, 4, 5]),
    "2x2": ([3, 6], [1, 2, 5]),
}


def _readout(elem_id: str, label: str) -> str:
    el = f"document.getElementById({elem_id!r})"
    return f"{el} !== null && /{label}: \\d/.test({el}.textContent)"


class CellularAutomaton(Family):
    name = "cellular_automaton"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        rule = rng.choice(sorted(RULES))
        born, survive = RULES[rule]
        pal = palette(rng)
        return {
            "cols": rng.randint(16, 64),
            "rows": rng.randint(12, 48),
            "cell": rng.randint(6, 14),
            "rule": rule,
            "born": born,
            "survive": survive,
            "density": round(rng.uniform(0.12, 0.45), 2),
            "speed": rng.randint(3, 20),
            "palette": pal,
            "live": pal["accent"],  # the live-cell colour the prompt names (a parameter the ladder may drift)
            "random_key": keys(rng, 1)[0],
            "seed": rng.randrange(1, 2**31),
        }

    def summary(self, p: dict[str, Any]) -> str:
        b = "".join(map(str, p["born"]))
        s = "".join(map(str, p["survive"]))
        return (
            f"a cellular automaton running {p['rule']} (rule B{b}/S{s}) on a {p['cols']}×{p['rows']} grid of "
            f"{p['cell']} px cells, about {round(p['density'] * 100)}% alive at the start, live cells drawn "
            f"in {p['live']}; a Play button runs the rule at {p['speed']} generations per second and "
            "pauses it when pressed again"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        k = p["random_key"].upper()
        return [
            Feature("wrap", "The grid wraps around at its edges, like a torus.", probe="wrapAt(-1, 10) === 9"),
            Feature("generation", "A readout shows the generation number.", probe=_readout("dojo-gen", "Generation")),
            Feature("population", "A readout shows the number of live cells.", probe=_readout("dojo-pop", "Alive")),
            Feature("gridlines", "Faint grid lines separate the cells.", probe="gridStroke() !== null"),
            Feature(
                "step", "A Step button advances exactly one generation.", Action("press Step", "#dojo-step", "click")
            ),
            Feature(
                "speed",
                f"A slider sets the speed between 1 and {p['speed'] * 2} generations per second.",
                Action("set the speed slider to 1", "#dojo-speed", "fill", "1"),
            ),
            Feature(
                "toggle",
                "Clicking a cell toggles it between alive and dead.",
                Action("click a cell", "#dojo-canvas", "click-at", f"{p['cell'] * 2 + 1},{p['cell'] * 2 + 1}"),
            ),
            Feature(
                "clear",
                "A Clear button kills every cell and resets the generation to 0.",
                Action("press Clear", "#dojo-clear", "click"),
            ),
            Feature(
                "randomize",
                f"Pressing the {k} key fills the grid at random again and resets the generation.",
                Action(f"press {k}", "body", "press", p["random_key"]),
            ),
        ]

    def core_actions(self, p: dict[str, Any]) -> list[Action]:
        return [Action("press Play", "#dojo-play", "click", timed=True)]

    def extras(self, p: dict[str, Any]) -> list[Feature]:
        return [
            Feature("age", "Cells change colour as they age.", probe="cellColour(30) !== cellColour(0)"),
            Feature("flash", "The background flashes on every generation.", probe="flashAlpha(1) > 0"),
            Feature(
                "invert",
                "An Invert button flips every cell between alive and dead.",
                Action("press Invert", "#dojo-invert", "click"),
            ),
        ]

    def drifts(self, p: dict[str, Any]) -> list[Drift]:
        return [
            *canvas_drifts("cols", "rows", kind="count", unit="cellSize()"),
            Drift("cell", "size", "cellSize()"),
            Drift("density", "count", "startDensity()"),
            Drift("speed", "speed", "__dojoState().speed"),
            Drift("live", "colour", "cellColour(0)"),
            Drift("random_key", "key", "__dojoState().randomized", feature="randomize"),
        ]

    def runtime(self, p: dict[str, Any]) -> dict[str, Any]:
        keep = ("cols", "rows", "cell", "born", "survive", "density", "speed", "live", "random_key", "seed")
        pal = p["palette"]
        return {
            "title": f"{p['rule']} automaton",
            "palette": palette_vars(pal),
            "old": pal["alt"],
            **{k: p[k] for k in keep},
        }

    def template(self, p: dict[str, Any]) -> str:
        body = f"""<div class="bar">{gated_button("step", "dojo-step", "Step")}<button id="dojo-play" type="button">Play</button>
{gated_button("clear", "dojo-clear", "Clear")}{gated_button("invert", "dojo-invert", "Invert")}{gated_slider("speed", "dojo-speed", "Speed")}{gated_readout("generation", "dojo-gen")}{gated_readout("population", "dojo-pop")}</div>
<canvas id="dojo-canvas"></canvas>"""
        script = (
            RNG
            + """
const P = C.p;
const COLS = P.cols, ROWS = P.rows, BORN = P.born, SURVIVE = P.survive;
function cellSize() { return P.cell; }
function startDensity() { return P.density; }
const CELL = cellSize();
const cv = document.getElementById("dojo-canvas");
cv.width = COLS * CELL; cv.height = ROWS * CELL;
const ctx = cv.getContext("2d");
const rand = makeRng(P.seed);
range("dojo-speed", 1, P.speed * 2, 1, P.speed);
const S = { paused: true, speed: P.speed, speedSets: 0, generation: 0, steps: 0, toggles: 0, clears: 0, randomized: 0,
  inverts: 0,
  grid: new Uint8Array(COLS * ROWS), age: new Uint16Array(COLS * ROWS), acc: 0, flash: 0 };
function wrapAt(v, n) { return on("wrap") ? (v + n) % n : (v < 0 || v >= n ? -1 : v); }
function gridStroke() { return on("gridlines") ? P.palette.fg + "22" : null; }
function flashAlpha(f) { return on("flash") && f > 0 ? 0.33 * Math.min(1, f) : 0; }
function mix(a, b, t) {
  const x = parseInt(a.slice(1, 7), 16), y = parseInt(b.slice(1, 7), 16);
  let out = "#";
  for (const sh of [16, 8, 0]) {
    const u = (x >> sh) & 255, v = (y >> sh) & 255;
    out += Math.round(u + (v - u) * t).toString(16).padStart(2, "0");
  }
  return out;
}
function cellColour(age) { return on("age") && age > 0 ? mix(P.live, P.old, Math.min(1, age / 20)) : P.live; }
function randomize() {
  const d = startDensity();
  for (let i = 0; i < COLS * ROWS; i++) { S.grid[i] = rand() < d ? 1 : 0; S.age[i] = 0; }
  S.generation = 0;
}
function population() { let n = 0; for (let i = 0; i < COLS * ROWS; i++) n += S.grid[i]; return n; }
function tick() {
  const next = new Uint8Array(COLS * ROWS);
  for (let y = 0; y < ROWS; y++) {
    for (let x = 0; x < COLS; x++) {
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          if (dx === 0 && dy === 0) continue;
          const xx = wrapAt(x + dx, COLS), yy = wrapAt(y + dy, ROWS);
          if (xx < 0 || yy < 0) continue;
          n += S.grid[yy * COLS + xx];
        }
      }
      const i = y * COLS + x;
      next[i] = S.grid[i] ? (SURVIVE.includes(n) ? 1 : 0) : (BORN.includes(n) ? 1 : 0);
      S.age[i] = next[i] ? Math.min(S.age[i] + 1, 60) : 0;
    }
  }
  S.grid = next;
  S.generation += 1;
  S.flash = 1;
}
randomize();
function update(dt) {
  S.acc += dt;
  const period = 1 / S.speed;
  while (S.acc >= period) { S.acc -= period; tick(); }
}
function draw() {
  ctx.globalAlpha = 1;
  ctx.fillStyle = P.palette.bg;
  ctx.fillRect(0, 0, COLS * CELL, ROWS * CELL);
  const fa = flashAlpha(S.flash);
  if (fa > 0) { ctx.globalAlpha = fa; ctx.fillStyle = P.old; ctx.fillRect(0, 0, COLS * CELL, ROWS * CELL); ctx.globalAlpha = 1; }
  S.flash = Math.max(0, S.flash - 0.1);
  for (let y = 0; y < ROWS; y++) {
    for (let x = 0; x < COLS; x++) {
      const i = y * COLS + x;
      if (!S.grid[i]) continue;
      ctx.fillStyle = cellColour(S.age[i]);
      ctx.fillRect(x * CELL, y * CELL, CELL, CELL);
    }
  }
  const gs = gridStroke();
  if (gs !== null) {
    ctx.strokeStyle = gs;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let x = 0; x <= COLS; x++) { ctx.moveTo(x * CELL + 0.5, 0); ctx.lineTo(x * CELL + 0.5, ROWS * CELL); }
    for (let y = 0; y <= ROWS; y++) { ctx.moveTo(0, y * CELL + 0.5); ctx.lineTo(COLS * CELL, y * CELL + 0.5); }
    ctx.stroke();
  }
  if (on("generation")) document.getElementById("dojo-gen").textContent = "Generation: " + S.generation;
  if (on("population")) document.getElementById("dojo-pop").textContent = "Alive: " + population();
}
bind("step", "dojo-step", "click", () => { tick(); S.steps += 1; });
document.getElementById("dojo-play").addEventListener("click", (ev) => {
  S.paused = !S.paused; S.acc = 0; ev.target.textContent = S.paused ? "Play" : "Pause";
});
bind("speed", "dojo-speed", "input", (ev) => { S.speed = Number(ev.target.value); S.speedSets += 1; });
bind("clear", "dojo-clear", "click", () => { S.grid.fill(0); S.age.fill(0); S.generation = 0; S.clears += 1; });
bind("invert", "dojo-invert", "click", () => {
  for (let i = 0; i < COLS * ROWS; i++) { S.grid[i] ^= 1; S.age[i] = 0; }
  S.inverts += 1;
});
bind("toggle", "dojo-canvas", "click", (ev) => {
  const rc = cv.getBoundingClientRect();
  const x = Math.floor((ev.clientX - rc.left) / CELL), y = Math.floor((ev.clientY - rc.top) / CELL);
  if (x >= 0 && y >= 0 && x < COLS && y < ROWS) { S.grid[y * COLS + x] ^= 1; S.toggles += 1; }
});
onKey("randomize", "random_key", () => { randomize(); S.randomized += 1; });
window.__dojoState = () => ({ speed: S.speed, speedSets: S.speedSets, generation: S.generation, population: population(),
  running: !S.paused, steps: S.steps, toggles: S.toggles, clears: S.clears, randomized: S.randomized,
  inverts: S.inverts });
"""
            + LOOP
        )
        return program(body, script)
