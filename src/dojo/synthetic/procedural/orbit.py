"""Orbit simulation: planets circling a star, with controls for time and bodies."""

from __future__ import annotations

import random
from typing import Any

from dojo.synthetic.procedural.base import Action, Build, Family, Feature
from dojo.synthetic.procedural.page import LOOP, RNG, button, document, js, key_cases, keys, on, palette, slider, when

NAMES = ["Aril", "Bex", "Cora", "Dune", "Eos", "Fenn", "Gala", "Hest", "Io", "Juno", "Kepa", "Lyra", "Mira", "Nox"]


class OrbitSimulation(Family):
    name = "orbit_simulation"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        n = rng.randint(2, 7)
        return {
            "size": rng.randrange(360, 721, 20),
            "planets": n,
            "max_planets": n + rng.randint(2, 5),
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
            Feature("trails", f"Each planet draws a trail of its last {p['trail']} positions."),
            Feature("labels", "Each planet is labelled with its name next to it."),
            Feature("moon", "The largest planet has a small moon circling it."),
            Feature("kepler", "Outer planets move slower: each orbital period grows with the radius to the power 1.5."),
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
            Feature("comet", "A comet crosses the scene on a long elliptical path."),
            Feature("stars", "Background stars twinkle."),
        ]

    def render(self, p: dict[str, Any], build: Build) -> str:
        pal, size = p["palette"], p["size"]
        omega = "BASE * Math.pow(p.r / R0, -1.5)" if build.has("kepler") else "BASE * (0.6 + 0.8 * p.k)"
        body = f"""<div class="bar">{button(build, "pause", "dojo-pause", "Pause")}{button(build, "add", "dojo-add", "Add Planet")}
{button(build, "reset", "dojo-reset", "Reset")}{slider(build, "speed", "dojo-speed", "Speed", 0.1, 5, 0.1, 1)}</div>
<canvas id="dojo-canvas" width="{size}" height="{size}"></canvas>"""
        script = (
            RNG
            + f"""
const SZ = {size}, CX = SZ / 2, CY = SZ / 2, STAR = {p["star"]}, N0 = {p["planets"]}, MAXP = {p["max_planets"]};
const NAMES = {js(p["names"])};
const R0 = STAR + 30, BASE = 2 * Math.PI / {p["period"]};
const cv = document.getElementById("dojo-canvas");
const ctx = cv.getContext("2d");
const rand = makeRng({p["seed"]});
const S = {{ paused: false, speed: 1, showTrails: true, resets: 0, planets: [], t: 0, sky: [] }};
for (let i = 0; i < 60; i++) S.sky.push([rand() * SZ, rand() * SZ, rand() * 6]);
function addPlanet() {{
  const i = S.planets.length;
  const gap = (SZ / 2 - R0 - 20) / Math.max(N0, MAXP);
  S.planets.push({{ r: R0 + i * gap, a: rand() * Math.PI * 2, k: rand(), size: 3 + rand() * 7, name: NAMES[i],
    hue: Math.floor(rand() * 360), trail: [] }});
}}
function init() {{ S.planets = []; for (let i = 0; i < N0; i++) addPlanet(); }}
init();
function update(dt) {{
  const d = dt * S.speed;
  S.t += d;
  for (const p of S.planets) {{
    p.a += {omega} * d;
    const x = CX + Math.cos(p.a) * p.r, y = CY + Math.sin(p.a) * p.r;
{when(build.has("trails"), f"    p.trail.push([x, y]); if (p.trail.length > {p['trail']}) p.trail.shift();")}
  }}
}}
function draw() {{
  ctx.fillStyle = {js(pal["bg"])};
  ctx.fillRect(0, 0, SZ, SZ);
{
                when(
                    build.has("stars"),
                    '''  for (const s of S.sky) { ctx.fillStyle = "rgba(255,255,255," + (0.3 + 0.3 * Math.sin(S.t * 3 + s[2])) + ")"; ctx.fillRect(s[0], s[1], 2, 2); }''',
                )
            }
  ctx.fillStyle = {js(p["star_colour"])};
  ctx.beginPath(); ctx.arc(CX, CY, STAR, 0, Math.PI * 2); ctx.fill();
  let largest = S.planets[0];
  for (const p of S.planets) {{
    if (p.size > largest.size) largest = p;
    const x = CX + Math.cos(p.a) * p.r, y = CY + Math.sin(p.a) * p.r;
{
                when(
                    build.has("trails"),
                    '''    if (S.showTrails && p.trail.length > 1) {
      ctx.strokeStyle = "hsla(" + p.hue + ",70%,60%,0.4)";
      ctx.beginPath(); ctx.moveTo(p.trail[0][0], p.trail[0][1]);
      for (const q of p.trail) ctx.lineTo(q[0], q[1]);
      ctx.stroke();
    }''',
                )
            }
    ctx.fillStyle = "hsl(" + p.hue + ",70%,60%)";
    ctx.beginPath(); ctx.arc(x, y, p.size, 0, Math.PI * 2); ctx.fill();
{
                when(
                    build.has("labels"),
                    f'''    ctx.fillStyle = {js(pal['fg'])}; ctx.font = "12px sans-serif"; ctx.fillText(p.name, x + p.size + 3, y - p.size);''',
                )
            }
  }}
{
                when(
                    build.has("moon"),
                    '''  if (largest) {
    const lx = CX + Math.cos(largest.a) * largest.r, ly = CY + Math.sin(largest.a) * largest.r;
    const ma = S.t * 4;
    ctx.fillStyle = "#d4d4d8";
    ctx.beginPath(); ctx.arc(lx + Math.cos(ma) * (largest.size + 8), ly + Math.sin(ma) * (largest.size + 8), 2, 0, Math.PI * 2); ctx.fill();
  }''',
                )
            }
{
                when(
                    build.has("comet"),
                    '''  const ca = S.t * 0.4;
  ctx.fillStyle = "#ffffff";
  ctx.beginPath(); ctx.arc(CX + Math.cos(ca) * SZ * 0.45, CY + Math.sin(ca) * SZ * 0.15, 3, 0, Math.PI * 2); ctx.fill();''',
                )
            }
}}
{
                on(
                    build,
                    "pause",
                    "dojo-pause",
                    "click",
                    'S.paused = !S.paused; ev.target.textContent = S.paused ? "Resume" : "Pause";',
                )
            }
{on(build, "speed", "dojo-speed", "input", "S.speed = Number(ev.target.value);")}
{on(build, "add", "dojo-add", "click", "if (S.planets.length < MAXP) addPlanet();")}
{on(build, "reset", "dojo-reset", "click", "init(); S.resets += 1;")}
{key_cases(build, [("toggle_trails", p["trail_key"], "S.showTrails = !S.showTrails;")])}
window.__dojoState = () => ({{ planets: S.planets.length, paused: S.paused, speed: S.speed, trails: S.showTrails, resets: S.resets }});
"""
            + LOOP
        )
        return document("Orbits", pal, body, script)
