"""Cellular automaton: a Life-like rule on a grid the user can edit and run."""

from __future__ import annotations

import random
from typing import Any

from dojo.synthetic.procedural.base import Action, Build, Family, Feature
from dojo.synthetic.procedural.page import (
    LOOP,
    RNG,
    button,
    document,
    js,
    key_cases,
    keys,
    on,
    palette,
    readout,
    slider,
    when,
)

RULES = {
    "Conway's Game of Life": ([3], [2, 3]),
    "HighLife": ([3, 6], [2, 3]),
    "Day & Night": ([3, 6, 7, 8], [3, 4, 6, 7, 8]),
    "Seeds": ([2], []),
    "Maze": ([3], [1, 2, 3, 4, 5]),
    "2x2": ([3, 6], [1, 2, 5]),
}


class CellularAutomaton(Family):
    name = "cellular_automaton"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        rule = rng.choice(sorted(RULES))
        born, survive = RULES[rule]
        return {
            "cols": rng.randint(16, 64),
            "rows": rng.randint(12, 48),
            "cell": rng.randint(6, 14),
            "rule": rule,
            "born": born,
            "survive": survive,
            "density": round(rng.uniform(0.12, 0.45), 2),
            "speed": rng.randint(3, 20),
            "palette": palette(rng),
            "random_key": keys(rng, 1)[0],
            "seed": rng.randrange(1, 2**31),
        }

    def summary(self, p: dict[str, Any]) -> str:
        b = "".join(map(str, p["born"]))
        s = "".join(map(str, p["survive"]))
        return (
            f"a cellular automaton running {p['rule']} (rule B{b}/S{s}) on a {p['cols']}×{p['rows']} grid of "
            f"{p['cell']} px cells, about {round(p['density'] * 100)}% alive at the start, live cells drawn "
            f"in {p['palette']['accent']}; a Play button runs the rule at {p['speed']} generations per second and "
            "pauses it when pressed again"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        k = p["random_key"].upper()
        return [
            Feature("wrap", "The grid wraps around at its edges, like a torus."),
            Feature("generation", "A readout shows the generation number."),
            Feature("population", "A readout shows the number of live cells."),
            Feature("gridlines", "Faint grid lines separate the cells."),
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
            Feature("age", "Cells change colour as they age."),
            Feature("flash", "The background flashes on every generation."),
        ]

    def render(self, p: dict[str, Any], build: Build) -> str:
        pal, c = p["palette"], p["cell"]
        cols, rows = p["cols"], p["rows"]
        neighbours = (
            "const xx = (x + dx + C) % C, yy = (y + dy + R) % R;"
            if build.has("wrap")
            else "const xx = x + dx, yy = y + dy; if (xx < 0 || yy < 0 || xx >= C || yy >= R) continue;"
        )
        body = f"""<div class="bar">{button(build, "step", "dojo-step", "Step")}<button id="dojo-play" type="button">Play</button>
{button(build, "clear", "dojo-clear", "Clear")}{slider(build, "speed", "dojo-speed", "Speed", 1, p["speed"] * 2, 1, p["speed"])}{readout(build, "generation", "dojo-gen")}{readout(build, "population", "dojo-pop")}</div>
<canvas id="dojo-canvas" width="{cols * c}" height="{rows * c}"></canvas>"""
        script = (
            RNG
            + f"""
const C = {cols}, R = {rows}, CELL = {c};
const BORN = {js(p["born"])}, SURVIVE = {js(p["survive"])};
const cv = document.getElementById("dojo-canvas");
const ctx = cv.getContext("2d");
const rand = makeRng({p["seed"]});
const S = {{ paused: true, speed: {
                p["speed"]
            }, generation: 0, grid: new Uint8Array(C * R), age: new Uint16Array(C * R), acc: 0, flash: 0 }};
function randomize() {{
  for (let i = 0; i < C * R; i++) {{ S.grid[i] = rand() < {p["density"]} ? 1 : 0; S.age[i] = 0; }}
  S.generation = 0;
}}
function population() {{ let n = 0; for (let i = 0; i < C * R; i++) n += S.grid[i]; return n; }}
function tick() {{
  const next = new Uint8Array(C * R);
  for (let y = 0; y < R; y++) {{
    for (let x = 0; x < C; x++) {{
      let n = 0;
      for (let dy = -1; dy <= 1; dy++) {{
        for (let dx = -1; dx <= 1; dx++) {{
          if (dx === 0 && dy === 0) continue;
          {neighbours}
          n += S.grid[yy * C + xx];
        }}
      }}
      const i = y * C + x;
      next[i] = S.grid[i] ? (SURVIVE.includes(n) ? 1 : 0) : (BORN.includes(n) ? 1 : 0);
      S.age[i] = next[i] ? Math.min(S.age[i] + 1, 60) : 0;
    }}
  }}
  S.grid = next;
  S.generation += 1;
  S.flash = 1;
}}
randomize();
function update(dt) {{
  S.acc += dt;
  const period = 1 / S.speed;
  while (S.acc >= period) {{ S.acc -= period; tick(); }}
}}
function draw() {{
  ctx.fillStyle = {js(pal["bg"])};
  ctx.fillRect(0, 0, C * CELL, R * CELL);
{
                when(
                    build.has("flash"),
                    f'''  if (S.flash > 0) {{ ctx.fillStyle = {js(pal['alt'] + '55')}; ctx.fillRect(0, 0, C * CELL, R * CELL); S.flash -= 0.1; }}''',
                )
            }
  for (let y = 0; y < R; y++) {{
    for (let x = 0; x < C; x++) {{
      const i = y * C + x;
      if (!S.grid[i]) continue;
      ctx.fillStyle = {"'hsl(' + (S.age[i] * 6) + ',75%,55%)'" if build.has("age") else js(pal["accent"])};
      ctx.fillRect(x * CELL, y * CELL, CELL, CELL);
    }}
  }}
{
                when(
                    build.has("gridlines"),
                    f'''  ctx.strokeStyle = {js(pal['fg'] + '22')};
  ctx.beginPath();
  for (let x = 0; x <= C; x++) {{ ctx.moveTo(x * CELL + 0.5, 0); ctx.lineTo(x * CELL + 0.5, R * CELL); }}
  for (let y = 0; y <= R; y++) {{ ctx.moveTo(0, y * CELL + 0.5); ctx.lineTo(C * CELL, y * CELL + 0.5); }}
  ctx.stroke();''',
                )
            }
{when(build.has("generation"), '  document.getElementById("dojo-gen").textContent = "Generation: " + S.generation;')}
{when(build.has("population"), '  document.getElementById("dojo-pop").textContent = "Alive: " + population();')}
}}
{on(build, "step", "dojo-step", "click", "tick();")}
document.getElementById("dojo-play").addEventListener("click", (ev) => {{
  S.paused = !S.paused; S.acc = 0; ev.target.textContent = S.paused ? "Play" : "Pause";
}});
{on(build, "speed", "dojo-speed", "input", "S.speed = Number(ev.target.value);")}
{on(build, "clear", "dojo-clear", "click", "S.grid.fill(0); S.age.fill(0); S.generation = 0;")}
{
                on(
                    build,
                    "toggle",
                    "dojo-canvas",
                    "click",
                    '''const rc = cv.getBoundingClientRect();
  const x = Math.floor((ev.clientX - rc.left) / CELL), y = Math.floor((ev.clientY - rc.top) / CELL);
  if (x >= 0 && y >= 0 && x < C && y < R) S.grid[y * C + x] ^= 1;''',
                )
            }
{key_cases(build, [("randomize", p["random_key"], "randomize();")])}
window.__dojoState = () => ({{ speed: S.speed, generation: S.generation, population: population(), running: !S.paused }});
"""
            + LOOP
        )
        return document(f"{p['rule']} automaton", pal, body, script)
