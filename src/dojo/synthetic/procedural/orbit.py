"""Orbit simulation: planets circling a star, with controls for time and bodies."""

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
    keys,
    palette,
    palette_vars,
    program,
)

NAMES = ["Aril", "Bex", "Cora", "Dune", "Eos", "Fenn", "Gala", "Hest", "Io", "Juno", "Kepa", "Lyra", "Mira", "Nox"]


class OrbitSimulation(Family):
    name = "orbit_simulation"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        n = rng.randint(2, 7)
        room = rng.randint(2, 5)  # planets the Add button may add: a raw parameter, so a drifted count keeps it
        return {
            "size": rng.randrange(360, 721, 20),
            "planets": n,
            "max_planets": n + room,
            "room": room,
            "star": rng.randint(10, 30),
            "period": round(rng.uniform(2.0, 12.0), 1),
            "names": rng.sample(NAMES, n + 6),
            "palette": palette(rng),
            "trail_key": keys(rng, 1)[0],
            "star_colour": rng.choice(["#fde047", "#fb923c", "#f87171", "#93c5fd", "#fef3c7"]),
            "seed": rng.randrange(1, 2**31),
            "trail": rng.randint(30, 200),
        }

    def summary(self, p: dict[str, Any]) -> str:
        return (
            f"an orbit simulation on a {p['size']}×{p['size']} canvas: {p['planets']} planets circle a "
            f"{p['star_colour']} star of radius {p['star']} px, the innermost completing an orbit every "
            f"{p['period']} s"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        k = p["trail_key"].upper()
        return [
            Feature(
                "trails", f"Each planet draws a trail of its last {p['trail']} positions.", probe="trailLength() > 0"
            ),
            Feature("labels", "Each planet is labelled with its name next to it.", probe="labelOf(0) !== null"),
            Feature("moon", "The largest planet has a small moon circling it.", probe="moonAt(1) !== null"),
            Feature(
                "kepler",
                "Outer planets move slower: each orbital period grows with the radius to the power 1.5.",
                probe="omegaAt(R0 * 4) < omegaAt(R0)",
            ),
            Feature(
                "pause",
                "A Pause button stops the orbits; a second press resumes them.",
                Action("press Pause", "#dojo-pause", "click"),
            ),
            Feature(
                "speed",
                "A time-scale slider runs the simulation from 0.1× to 5× speed.",
                Action("set the speed slider to 3", "#dojo-speed", "fill", "3"),
            ),
            Feature(
                "add",
                f"An Add Planet button adds a planet on a new outer orbit, up to {p['max_planets']} planets.",
                Action("press Add Planet", "#dojo-add", "click"),
            ),
            Feature(
                "toggle_trails",
                f"Pressing the {k} key hides or shows the trails.",
                Action(f"press {k}", "body", "press", p["trail_key"]),
                ("trails",),
            ),
            Feature(
                "reset",
                f"A Reset button goes back to the initial {p['planets']} planets.",
                Action("press Reset", "#dojo-reset", "click"),
            ),
        ]

    def extras(self, p: dict[str, Any]) -> list[Feature]:
        return [
            Feature("comet", "A comet crosses the scene on a long elliptical path.", probe="cometAt(1) !== null"),
            Feature("stars", "Background stars twinkle.", probe="skyAlpha(1, 0) > 0"),
            Feature(
                "reverse",
                "A Reverse button makes every planet orbit the other way round.",
                Action("press Reverse", "#dojo-reverse", "click"),
            ),
        ]

    def drifts(self, p: dict[str, Any]) -> list[Drift]:
        return [
            *canvas_drifts("size", None),
            Drift("planets", "count", "__dojoState().planets"),
            Drift("star", "size", "starRadius()"),
            Drift("star_colour", "colour", "starColour()"),
            Drift("period", "speed", "periodOf(0)"),
            Drift("trail", "count", "trailLength()", feature="trails"),
            Drift("trail_key", "key", "__dojoState().trails", feature="toggle_trails"),
        ]

    def runtime(self, p: dict[str, Any]) -> dict[str, Any]:
        keep = ("size", "planets", "room", "star", "period", "names", "trail_key", "star_colour", "seed", "trail")
        return {
            "title": "Orbits",
            "palette": palette_vars(p["palette"]),
            **{k: p[k] for k in keep},
        }

    def template(self, p: dict[str, Any]) -> str:
        body = f"""<div class="bar">{gated_button("pause", "dojo-pause", "Pause")}{gated_button("add", "dojo-add", "Add Planet")}
{gated_button("reset", "dojo-reset", "Reset")}{gated_button("reverse", "dojo-reverse", "Reverse")}{gated_slider("speed", "dojo-speed", "Speed")}</div>
<canvas id="dojo-canvas"></canvas>"""
        script = (
            RNG
            + """
const P = C.p;
const SZ = P.size, CX = SZ / 2, CY = SZ / 2, N0 = P.planets, MAXP = P.planets + P.room;
const cv = document.getElementById("dojo-canvas");
cv.width = SZ; cv.height = SZ;
const ctx = cv.getContext("2d");
const rand = makeRng(P.seed);
range("dojo-speed", 0.1, 5, 0.1, 1);
function starRadius() { return P.star; }
function starColour() { return P.star_colour; }
const STAR = starRadius();
const R0 = STAR + 30, BASE = 2 * Math.PI / P.period;
const S = { paused: false, speed: 1, dir: 1, showTrails: true, resets: 0, planets: [], t: 0, sky: [] };
for (let i = 0; i < 60; i++) S.sky.push([rand() * SZ, rand() * SZ, rand() * 6]);
function omegaAt(r) { return on("kepler") ? BASE * Math.pow(r / R0, -1.5) : BASE; }
function periodOf(i) { return 2 * Math.PI / omegaAt(S.planets[i].r); }
function trailLength() { return on("trails") ? P.trail : 0; }
function nameOf(i) { return i < P.names.length ? P.names[i] : "Planet " + (i + 1); }
function labelOf(i) { return on("labels") ? nameOf(i) : null; }
function moonAt(t) { return on("moon") ? [Math.cos(t * 4), Math.sin(t * 4)] : null; }
function cometAt(t) { return on("comet") ? [CX + Math.cos(t * 0.4) * SZ * 0.45, CY + Math.sin(t * 0.4) * SZ * 0.15] : null; }
function skyAlpha(t, phase) { return on("stars") ? 0.35 + 0.3 * Math.sin(t * 3 + phase) : 0; }
function addPlanet() {
  const i = S.planets.length;
  const gap = (SZ / 2 - R0 - 20) / Math.max(N0, MAXP);
  S.planets.push({ r: R0 + i * gap, a: rand() * Math.PI * 2, size: 3 + rand() * 7, name: nameOf(i),
    hue: Math.floor(rand() * 360), trail: [] });
}
function init() { S.planets = []; for (let i = 0; i < N0; i++) addPlanet(); }
init();
function update(dt) {
  const d = dt * S.speed;
  S.t += d;
  const keep = trailLength();
  for (const p of S.planets) {
    p.a += S.dir * omegaAt(p.r) * d;
    const x = CX + Math.cos(p.a) * p.r, y = CY + Math.sin(p.a) * p.r;
    if (keep > 0) { p.trail.push([x, y]); while (p.trail.length > keep) p.trail.shift(); }
  }
}
function draw() {
  ctx.fillStyle = P.palette.bg;
  ctx.fillRect(0, 0, SZ, SZ);
  if (on("stars")) {
    for (const s of S.sky) { ctx.fillStyle = "rgba(255,255,255," + skyAlpha(S.t, s[2]) + ")"; ctx.fillRect(s[0], s[1], 2, 2); }
  }
  ctx.fillStyle = starColour();
  ctx.beginPath(); ctx.arc(CX, CY, STAR, 0, Math.PI * 2); ctx.fill();
  let largest = S.planets[0];
  S.planets.forEach((p, i) => {
    if (p.size > largest.size) largest = p;
    const x = CX + Math.cos(p.a) * p.r, y = CY + Math.sin(p.a) * p.r;
    if (on("trails") && S.showTrails && p.trail.length > 1) {
      ctx.strokeStyle = "hsla(" + p.hue + ",70%,60%,0.4)";
      ctx.beginPath(); ctx.moveTo(p.trail[0][0], p.trail[0][1]);
      for (const q of p.trail) ctx.lineTo(q[0], q[1]);
      ctx.stroke();
    }
    ctx.fillStyle = "hsl(" + p.hue + ",70%,60%)";
    ctx.beginPath(); ctx.arc(x, y, p.size, 0, Math.PI * 2); ctx.fill();
    const label = labelOf(i);
    if (label !== null) {
      ctx.fillStyle = P.palette.fg; ctx.font = "12px sans-serif"; ctx.fillText(label, x + p.size + 3, y - p.size);
    }
  });
  const moon = moonAt(S.t);
  if (moon !== null && largest) {
    const lx = CX + Math.cos(largest.a) * largest.r, ly = CY + Math.sin(largest.a) * largest.r;
    ctx.fillStyle = "#d4d4d8";
    ctx.beginPath();
    ctx.arc(lx + moon[0] * (largest.size + 8), ly + moon[1] * (largest.size + 8), 2, 0, Math.PI * 2);
    ctx.fill();
  }
  const comet = cometAt(S.t);
  if (comet !== null) {
    ctx.fillStyle = "#ffffff";
    ctx.beginPath(); ctx.arc(comet[0], comet[1], 3, 0, Math.PI * 2); ctx.fill();
  }
}
bind("pause", "dojo-pause", "click", (ev) => {
  S.paused = !S.paused; ev.target.textContent = S.paused ? "Resume" : "Pause";
});
bind("speed", "dojo-speed", "input", (ev) => { S.speed = Number(ev.target.value); });
bind("add", "dojo-add", "click", () => { if (S.planets.length < MAXP) addPlanet(); });
bind("reset", "dojo-reset", "click", () => { init(); S.resets += 1; });
bind("reverse", "dojo-reverse", "click", () => { S.dir = -S.dir; });
onKey("toggle_trails", "trail_key", () => { S.showTrails = !S.showTrails; });
window.__dojoState = () => ({ planets: S.planets.length, paused: S.paused, speed: S.speed, trails: S.showTrails,
  resets: S.resets, direction: S.dir });
"""
            + LOOP
        )
        return program(body, script)
