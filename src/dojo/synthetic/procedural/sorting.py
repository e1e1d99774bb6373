"""Sorting visualiser: bars sorted step by step by a chosen algorithm."""

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

# Each algorithm is a JS generator over the array `A` that yields after every comparison.
ALGORITHMS = {
    "bubble sort": """function* () {
  for (let n = A.length; n > 1; n--) {
    for (let i = 0; i < n - 1; i++) {
      yield cmp(i, i + 1);
      if (A[i] > A[i + 1]) swap(i, i + 1);
    }
  }
}""",
    "insertion sort": """function* () {
  for (let i = 1; i < A.length; i++) {
    for (let j = i; j > 0; j--) {
      yield cmp(j - 1, j);
      if (A[j - 1] > A[j]) swap(j - 1, j); else break;
    }
  }
}""",
    "selection sort": """function* () {
  for (let i = 0; i < A.length - 1; i++) {
    let m = i;
    for (let j = i + 1; j < A.length; j++) {
      yield cmp(m, j);
      if (A[j] < A[m]) m = j;
    }
    if (m !== i) swap(i, m);
  }
}""",
    "cocktail shaker sort": """function* () {
  let lo = 0, hi = A.length - 1, moved = true;
  while (moved && lo < hi) {
    moved = false;
    for (let i = lo; i < hi; i++) { yield cmp(i, i + 1); if (A[i] > A[i + 1]) { swap(i, i + 1); moved = true; } }
    hi--;
    for (let i = hi; i > lo; i--) { yield cmp(i - 1, i); if (A[i - 1] > A[i]) { swap(i - 1, i); moved = true; } }
    lo++;
  }
}""",
    "gnome sort": """function* () {
  let i = 1;
  while (i < A.length) {
    if (i === 0) { i = 1; continue; }
    yield cmp(i - 1, i);
    if (A[i - 1] > A[i]) { swap(i - 1, i); i--; } else i++;
  }
}""",
}
ORDER = sorted(ALGORITHMS)
#: Every algorithm is in every answer; ``C.p.algo`` picks one by its place in :data:`ORDER`.
ALGOS_JS = "const ALGOS = [\n" + ",\n".join(ALGORITHMS[name] for name in ORDER) + "\n];\n"

COUNT = 'document.getElementById("dojo-count")'


class SortingVisualiser(Family):
    name = "sorting_visualiser"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        n = rng.randint(8, 80)
        pal = palette(rng)
        return {
            "width": rng.randrange(400, 861, 20),
            "height": rng.randrange(200, 421, 20),
            "bars": n,
            "max_bars": min(120, n + rng.randint(10, 60)),
            "algorithm": rng.choice(ORDER),
            # at least 10: a speed drifted ×0.4 never lands on the speed slider action's value (2)
            "speed": rng.randrange(10, 121, 5),
            "palette": pal,
            "compare": pal["alt"],
            "finished": pal["pick"],
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
            Feature(
                "counter",
                "A readout shows the number of comparisons and swaps so far.",
                probe=f"{COUNT} !== null && /Comparisons: \\d/.test({COUNT}.textContent)",
            ),
            Feature(
                "highlight",
                f"The two bars being compared are drawn in {p['compare']}.",
                probe="markColour(0, [0, 1]) !== null",
            ),
            Feature(
                "done",
                f"Once the bars are sorted they all turn {p['finished']}.",
                probe="doneColour(true) !== null",
            ),
            Feature(
                "name",
                f"The name of the algorithm ({p['algorithm']}) is written above the bars.",
                probe='heading() !== ""',
            ),
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
            Feature(
                "rainbow",
                "Bars are coloured by height in rainbow colours.",
                probe="baseColour(0.2) !== baseColour(0.8)",
            ),
            Feature("wobble", "Bars wobble up and down while idle.", probe="wobble(0, 0.4) !== 0"),
            Feature(
                "finish",
                "A Finish button sorts the remaining bars at once.",
                Action("press Finish", "#dojo-finish", "click"),
            ),
        ]

    def drifts(self, p: dict[str, Any]) -> list[Drift]:
        # what sample() could have drawn for one of bars / max_bars given the other
        top = p["max_bars"]
        bars = (60, 80) if top >= 120 else (max(8, top - 60), min(80, top - 10))
        tops = (min(120, p["bars"] + 10), min(120, p["bars"] + 60))
        return [
            *canvas_drifts(),
            Drift("bars", "count", "__dojoState().bars", bounds=bars),
            Drift("speed", "speed", "__dojoState().speed"),
            Drift("compare", "colour", "markColour(0, [0, 1])", feature="highlight"),
            Drift("finished", "colour", "doneColour(true)", feature="done"),
            Drift("max_bars", "count", 'Number(document.getElementById("dojo-size").max)', feature="size", bounds=tops),
            Drift("reverse_key", "key", "__dojoState().reversals", feature="reverse"),
        ]

    def runtime(self, p: dict[str, Any]) -> dict[str, Any]:
        keep = ("width", "height", "bars", "max_bars", "speed", "compare", "finished", "reverse_key", "seed")
        return {
            "title": f"{p['algorithm'].capitalize()} visualiser",
            "palette": palette_vars(p["palette"]),
            "algorithm": p["algorithm"],
            "algo": ORDER.index(p["algorithm"]),
            **{k: p[k] for k in keep},
        }

    def template(self, p: dict[str, Any]) -> str:
        body = f"""<div class="bar"><button id="dojo-start" type="button">Start</button>{gated_button("shuffle", "dojo-shuffle", "Shuffle")}
{gated_button("step", "dojo-step", "Step")}{gated_button("finish", "dojo-finish", "Finish")}{gated_slider("size", "dojo-size", "Bars")}
{gated_slider("speed", "dojo-speed", "Speed")}{gated_readout("counter", "dojo-count")}</div>
<canvas id="dojo-canvas"></canvas>"""
        script = (
            RNG
            + """
const P = C.p;
const W = P.width, H = P.height;
const cv = document.getElementById("dojo-canvas");
cv.width = W; cv.height = H;
const ctx = cv.getContext("2d");
const rand = makeRng(P.seed);
range("dojo-speed", 1, P.speed * 2, 1, P.speed);
range("dojo-size", 5, P.max_bars, 1, P.bars);
let A = [];
const S = { paused: true, speed: P.speed, comparisons: 0, swaps: 0, sorted: false, shuffles: 0, resizes: 0, steps: 0,
  reversals: 0, finishes: 0, cmp: [-1, -1], acc: 0, t: 0, it: null };
function cmp(i, j) { S.comparisons += 1; S.cmp = [i, j]; return 0; }
function swap(i, j) { const t = A[i]; A[i] = A[j]; A[j] = t; S.swaps += 1; }
"""
            + ALGOS_JS
            + """
function isSorted() { for (let i = 1; i < A.length; i++) if (A[i - 1] > A[i]) return false; return true; }
function fresh(n) {
  A = [];
  for (let i = 0; i < n; i++) A.push(0.05 + 0.95 * rand());
  restart();
}
function restart() { S.comparisons = 0; S.swaps = 0; S.cmp = [-1, -1]; S.sorted = isSorted(); S.it = ALGOS[P.algo](); }
function advance() {
  if (S.sorted) return;
  const r = S.it.next();
  if (r.done || isSorted()) { S.sorted = isSorted(); S.cmp = [-1, -1]; if (S.sorted) S.paused = true; }
}
fresh(P.bars);
function baseColour(v) { return on("rainbow") ? "hsl(" + Math.round(v * 300) + ",75%,55%)" : P.palette.accent; }
function markColour(i, pair) { return on("highlight") && (i === pair[0] || i === pair[1]) ? P.compare : null; }
function doneColour(sorted) { return on("done") && sorted ? P.finished : null; }
function barColour(i) { return doneColour(S.sorted) || markColour(i, S.cmp) || baseColour(A[i]); }
function wobble(i, t) { return on("wobble") ? Math.sin(t * 4 + i) * 4 : 0; }
function heading() { return on("name") ? P.algorithm : ""; }
function update(dt) {
  S.acc += dt * S.speed;
  while (S.acc >= 1) { S.acc -= 1; advance(); }
}
function draw() {
  S.t += 0.016;
  ctx.fillStyle = P.palette.bg;
  ctx.fillRect(0, 0, W, H);
  const name = heading(), top = name ? 24 : 4;
  const bw = W / A.length;
  for (let i = 0; i < A.length; i++) {
    const bh = A[i] * (H - top - 4) + (S.paused ? wobble(i, S.t) : 0);
    ctx.fillStyle = barColour(i);
    ctx.fillRect(i * bw + 1, H - bh, Math.max(1, bw - 2), bh);
  }
  if (name) { ctx.fillStyle = P.palette.fg; ctx.font = "14px sans-serif"; ctx.fillText(name, 6, 16); }
  if (on("counter")) document.getElementById("dojo-count").textContent = "Comparisons: " + S.comparisons + "  Swaps: " + S.swaps;
}
document.getElementById("dojo-start").addEventListener("click", (ev) => {
  S.paused = !S.paused; S.acc = 0; ev.target.textContent = S.paused ? "Start" : "Pause";
});
bind("shuffle", "dojo-shuffle", "click", () => { fresh(A.length); S.shuffles += 1; });
bind("speed", "dojo-speed", "input", (ev) => { S.speed = Number(ev.target.value); });
bind("step", "dojo-step", "click", () => { advance(); S.steps += 1; });
bind("size", "dojo-size", "input", (ev) => { fresh(Number(ev.target.value)); S.resizes += 1; });
bind("finish", "dojo-finish", "click", () => {
  A.sort((a, b) => a - b); S.sorted = true; S.cmp = [-1, -1]; S.paused = true; S.finishes += 1;
});
onKey("reverse", "reverse_key", () => { A.sort((a, b) => b - a); restart(); S.reversals += 1; });
window.__dojoState = () => ({ bars: A.length, speed: S.speed, comparisons: S.comparisons, swaps: S.swaps, sorted: S.sorted,
  shuffles: S.shuffles, resizes: S.resizes, steps: S.steps, reversals: S.reversals, finishes: S.finishes,
  descending: A.every((v, i) => i === 0 || A[i - 1] >= v) });
"""
            + LOOP
        )
        return program(body, script)
