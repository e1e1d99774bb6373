"""Sorting visualiser: bars sorted step by step by a chosen algorithm."""

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

# Each algorithm is a JS generator over the array `A` that yields after every comparison.
ALGORITHMS = {
    "bubble sort": """function* algo() {
  for (let n = A.length; n > 1; n--) {
    for (let i = 0; i < n - 1; i++) {
      yield cmp(i, i + 1);
      if (A[i] > A[i + 1]) swap(i, i + 1);
    }
  }
}""",
    "insertion sort": """function* algo() {
  for (let i = 1; i < A.length; i++) {
    for (let j = i; j > 0; j--) {
      yield cmp(j - 1, j);
      if (A[j - 1] > A[j]) swap(j - 1, j); else break;
    }
  }
}""",
    "selection sort": """function* algo() {
  for (let i = 0; i < A.length - 1; i++) {
    let m = i;
    for (let j = i + 1; j < A.length; j++) {
      yield cmp(m, j);
      if (A[j] < A[m]) m = j;
    }
    if (m !== i) swap(i, m);
  }
}""",
    "cocktail shaker sort": """function* algo() {
  let lo = 0, hi = A.length - 1, moved = true;
  while (moved && lo < hi) {
    moved = false;
    for (let i = lo; i < hi; i++) { yield cmp(i, i + 1); if (A[i] > A[i + 1]) { swap(i, i + 1); moved = true; } }
    hi--;
    for (let i = hi; i > lo; i--) { yield cmp(i - 1, i); if (A[i - 1] > A[i]) { swap(i - 1, i); moved = true; } }
    lo++;
  }
}""",
    "gnome sort": """function* algo() {
  let i = 1;
  while (i < A.length) {
    if (i === 0) { i = 1; continue; }
    yield cmp(i - 1, i);
    if (A[i - 1] > A[i]) { swap(i - 1, i); i--; } else i++;
  }
}""",
}


class SortingVisualiser(Family):
    name = "sorting_visualiser"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        n = rng.randint(8, 80)
        return {
            "width": rng.randrange(400, 861, 20),
            "height": rng.randrange(200, 421, 20),
            "bars": n,
            "max_bars": min(120, n + rng.randint(10, 60)),
            "algorithm": rng.choice(sorted(ALGORITHMS)),
            "speed": rng.randrange(5, 121, 5),
            "palette": palette(rng),
            "reverse_key": keys(rng, 1)[0],
            "seed": rng.randrange(1, 2**31),
        }

    def summary(self, p: dict[str, Any]) -> str:
        return (
            f"a sorting visualiser that shows {p['bars']} bars of random heights on a {p['width']}×{p['height']} "
            f"canvas and sorts them in ascending order with {p['algorithm']}, one comparison per step; a Start button "
            f"runs the sort at {p['speed']} steps per second and pauses it when pressed again"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        k = p["reverse_key"].upper()
        return [
            Feature("counter", "A readout shows the number of comparisons and swaps so far."),
            Feature("highlight", f"The two bars being compared are drawn in {p['palette']['alt']}."),
            Feature("done", f"Once the bars are sorted they all turn {p['palette']['pick']}."),
            Feature("name", f"The name of the algorithm ({p['algorithm']}) is written above the bars."),
            Feature(
                "shuffle",
                "A Shuffle button puts the bars in a new random order and resets the counters.",
                Action("press Shuffle", "#dojo-shuffle", "click"),
            ),
            Feature(
                "speed",
                f"A speed slider sets the speed between 1 and {p['speed'] * 2} steps per second.",
                Action("set the speed slider to 2", "#dojo-speed", "fill", "2"),
            ),
            Feature(
                "step", "A Step button performs exactly one comparison.", Action("press Step", "#dojo-step", "click")
            ),
            Feature(
                "size",
                f"A slider sets the number of bars between 5 and {p['max_bars']} (a new random set).",
                Action("set the bar-count slider to 12", "#dojo-size", "fill", "12"),
            ),
            Feature(
                "reverse",
                f"Pressing the {k} key arranges the bars in descending order, the worst case.",
                Action(f"press {k}", "body", "press", p["reverse_key"]),
            ),
        ]

    def core_actions(self, p: dict[str, Any]) -> list[Action]:
        return [Action("press Start", "#dojo-start", "click", timed=True)]

    def extras(self, p: dict[str, Any]) -> list[Feature]:
        return [
            Feature("rainbow", "Bars are coloured by height in rainbow colours."),
            Feature("wobble", "Bars wobble up and down while idle."),
        ]

    def render(self, p: dict[str, Any], build: Build) -> str:
        pal, w, h = p["palette"], p["width"], p["height"]
        if build.has("rainbow"):
            colour = '"hsl(" + Math.round(A[i] * 300) + ",75%,55%)"'
        else:
            colour = js(pal["accent"])
        if build.has("highlight"):
            colour = f"(i === S.cmp[0] || i === S.cmp[1]) ? {js(pal['alt'])} : {colour}"
        if build.has("done"):
            colour = f"S.sorted ? {js(pal['pick'])} : ({colour})"
        top = 24 if build.has("name") else 4
        body = f"""<div class="bar"><button id="dojo-start" type="button">Start</button>{button(build, "shuffle", "dojo-shuffle", "Shuffle")}
{button(build, "step", "dojo-step", "Step")}{slider(build, "size", "dojo-size", "Bars", 5, p["max_bars"], 1, p["bars"])}
{slider(build, "speed", "dojo-speed", "Speed", 1, p["speed"] * 2, 1, p["speed"])}{readout(build, "counter", "dojo-count")}</div>
<canvas id="dojo-canvas" width="{w}" height="{h}"></canvas>"""
        script = (
            RNG
            + f"""
const W = {w}, H = {h}, TOP = {top};
const cv = document.getElementById("dojo-canvas");
const ctx = cv.getContext("2d");
const rand = makeRng({p["seed"]});
let A = [];
const S = {{ paused: true, speed: {p["speed"]}, comparisons: 0, swaps: 0, sorted: false, shuffles: 0, cmp: [-1, -1], acc: 0, t: 0, it: null }};
function cmp(i, j) {{ S.comparisons += 1; S.cmp = [i, j]; return 0; }}
function swap(i, j) {{ const t = A[i]; A[i] = A[j]; A[j] = t; S.swaps += 1; }}
{ALGORITHMS[p["algorithm"]]}
function isSorted() {{ for (let i = 1; i < A.length; i++) if (A[i - 1] > A[i]) return false; return true; }}
function fresh(n) {{
  A = [];
  for (let i = 0; i < n; i++) A.push(0.05 + 0.95 * rand());
  restart();
}}
function restart() {{ S.comparisons = 0; S.swaps = 0; S.cmp = [-1, -1]; S.sorted = isSorted(); S.it = algo(); }}
function advance() {{
  if (S.sorted) return;
  const r = S.it.next();
  if (r.done || isSorted()) {{ S.sorted = isSorted(); S.cmp = [-1, -1]; if (S.sorted) S.paused = true; }}
}}
fresh({p["bars"]});
function update(dt) {{
  S.acc += dt * S.speed;
  while (S.acc >= 1) {{ S.acc -= 1; advance(); }}
}}
function draw() {{
  S.t += 0.016;
  ctx.fillStyle = {js(pal["bg"])};
  ctx.fillRect(0, 0, W, H);
  const bw = W / A.length;
  for (let i = 0; i < A.length; i++) {{
    const wob = {"S.paused ? Math.sin(S.t * 4 + i) * 4 : 0" if build.has("wobble") else "0"};
    const bh = A[i] * (H - TOP - 4) + wob;
    ctx.fillStyle = {colour};
    ctx.fillRect(i * bw + 1, H - bh, Math.max(1, bw - 2), bh);
  }}
{when(build.has("name"), f'''  ctx.fillStyle = {js(pal['fg'])}; ctx.font = "14px sans-serif"; ctx.fillText({js(p['algorithm'])}, 6, 16);''')}
{when(build.has("counter"), '  document.getElementById("dojo-count").textContent = "Comparisons: " + S.comparisons + "  Swaps: " + S.swaps;')}
}}
{on(build, "shuffle", "dojo-shuffle", "click", "fresh(A.length); S.shuffles += 1;")}
document.getElementById("dojo-start").addEventListener("click", (ev) => {{
  S.paused = !S.paused; S.acc = 0; ev.target.textContent = S.paused ? "Start" : "Pause";
}});
{on(build, "speed", "dojo-speed", "input", "S.speed = Number(ev.target.value);")}
{on(build, "step", "dojo-step", "click", "advance();")}
{on(build, "size", "dojo-size", "input", "fresh(Number(ev.target.value));")}
{key_cases(build, [("reverse", p["reverse_key"], "A.sort((a, b) => b - a); restart();")])}
window.__dojoState = () => ({{ bars: A.length, speed: S.speed, comparisons: S.comparisons, swaps: S.swaps, sorted: S.sorted,
  shuffles: S.shuffles, descending: A.every((v, i) => i === 0 || A[i - 1] >= v) }});
"""
            + LOOP
        )
        return document(f"{p['algorithm'].capitalize()} visualiser", pal, body, script)
