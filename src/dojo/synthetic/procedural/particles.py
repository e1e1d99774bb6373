"""Particle system: an emitter spraying particles the user can steer and tune."""

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


class ParticleSystem(Family):
    name = "particle_system"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        pal = palette(rng)
        speed = rng.randrange(140, 381, 10)
        return {
            "width": rng.randrange(360, 801, 20),
            "height": rng.randrange(260, 541, 20),
            "rate": rng.randrange(20, 241, 10),
            "life": round(rng.uniform(0.8, 3.5), 1),
            "size": rng.randint(1, 6),
            "speed": speed,
            "spread": rng.randrange(15, 181, 5),
            "gravity": rng.randrange(40, int(speed * 1.2), 20),
            "burst": rng.randrange(20, 201, 10),
            "max": rng.randrange(400, 2001, 100),
            "colours": [pal["accent"], pal["alt"], pal["pick"]][: rng.randint(2, 3)],
            "shape": rng.choice(["circle", "square"]),
            "what": rng.choice(["fountain", "fire", "spark", "snow"]),
            "palette": pal,
            "pause_key": keys(rng, 1)[0],
            "seed": rng.randrange(1, 2**31),
        }

    def summary(self, p: dict[str, Any]) -> str:
        return (
            f"a {p['what']} particle system on a {p['width']}×{p['height']} canvas: an emitter at the bottom "
            f"centre sprays {p['rate']} {p['shape']} particles of size {p['size']} px per second at {p['speed']} px/s "
            f"within a {p['spread']}° cone, at most {p['max']} alive at once"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        k = p["pause_key"].upper()
        return [
            Feature("fade", f"Particles fade out over their {p['life']} s lifetime and are then removed."),
            Feature("gravity", f"Particles fall back under a gravity of {p['gravity']} px/s²."),
            Feature("counter", "A readout shows how many particles are alive."),
            Feature("glow", "Particles blend additively so that overlapping particles glow brighter."),
            Feature(
                "burst",
                f"A Burst button emits {p['burst']} particles at once.",
                Action("press Burst", "#dojo-burst", "click"),
            ),
            Feature(
                "move",
                "Clicking the canvas moves the emitter to the clicked point.",
                Action("click the canvas", "#dojo-canvas", "click-at", "60,50"),
            ),
            Feature(
                "rate",
                f"A slider sets the emission rate between 0 and {p['rate'] * 2} particles per second.",
                Action("set the rate slider to 0", "#dojo-rate", "fill", "0"),
            ),
            Feature(
                "pause",
                f"Pressing the {k} key stops and restarts the emission.",
                Action(f"press {k}", "body", "press", p["pause_key"]),
            ),
            Feature(
                "colour",
                f"A Colour button cycles the particle colour through {', '.join(p['colours'])}.",
                Action("press Colour", "#dojo-colour", "click"),
            ),
        ]

    def extras(self, p: dict[str, Any]) -> list[Feature]:
        return [
            Feature("wind", "A gusty wind pushes particles sideways."),
            Feature("spin", "The emitter slowly rotates, sweeping the spray around."),
        ]

    def render(self, p: dict[str, Any], build: Build) -> str:
        pal, w, h = p["palette"], p["width"], p["height"]
        half = p["spread"] / 2
        shape = (
            "ctx.fillRect(q.x - SIZE, q.y - SIZE, SIZE * 2, SIZE * 2);"
            if p["shape"] == "square"
            else "ctx.beginPath(); ctx.arc(q.x, q.y, SIZE, 0, Math.PI * 2); ctx.fill();"
        )
        body = f"""<div class="bar">{button(build, "burst", "dojo-burst", "Burst")}{button(build, "colour", "dojo-colour", "Colour")}
{slider(build, "rate", "dojo-rate", "Rate", 0, p["rate"] * 2, 10, p["rate"])}{readout(build, "counter", "dojo-count")}</div>
<canvas id="dojo-canvas" width="{w}" height="{h}"></canvas>"""
        script = (
            RNG
            + f"""
const W = {w}, H = {h}, SIZE = {p["size"]}, LIFE = {p["life"]}, MAX = {p["max"]};
const COLOURS = {js(p["colours"])};
const cv = document.getElementById("dojo-canvas");
const ctx = cv.getContext("2d");
const rand = makeRng({p["seed"]});
const S = {{ paused: false, emitting: true, rate: {p["rate"]}, ex: W / 2, ey: H - 10, colour: 0, bursts: 0,
  acc: 0, angle: 0, t: 0, parts: [] }};
function emit() {{
  if (S.parts.length >= MAX) return;
  const a = (-90 + S.angle + (rand() * 2 - 1) * {half}) * Math.PI / 180;
  const v = {p["speed"]} * (0.6 + 0.4 * rand());
  S.parts.push({{ x: S.ex, y: S.ey, vx: Math.cos(a) * v, vy: Math.sin(a) * v, age: 0, c: COLOURS[S.colour] }});
}}
function update(dt) {{
  S.t += dt;
{when(build.has("spin"), "  S.angle = Math.sin(S.t) * 60;")}
  if (S.emitting) {{
    S.acc += dt * S.rate;
    while (S.acc >= 1) {{ S.acc -= 1; emit(); }}
  }}
  for (const q of S.parts) {{
{when(build.has("gravity"), f"    q.vy += {p['gravity']} * dt;")}
{when(build.has("wind"), "    q.vx += Math.sin(S.t * 2) * 200 * dt;")}
    q.x += q.vx * dt; q.y += q.vy * dt; q.age += dt;
  }}
  S.parts = S.parts.filter((q) => q.age < LIFE && q.x > -50 && q.x < W + 50 && q.y > -H && q.y < H + 50);
}}
function draw() {{
  ctx.globalCompositeOperation = "source-over";
  ctx.globalAlpha = 1;
  ctx.fillStyle = {js(pal["bg"])};
  ctx.fillRect(0, 0, W, H);
{when(build.has("glow"), '  ctx.globalCompositeOperation = "lighter";')}
  for (const q of S.parts) {{
    ctx.globalAlpha = {"Math.max(0, 1 - q.age / LIFE)" if build.has("fade") else "1"};
    ctx.fillStyle = q.c;
    {shape}
  }}
  ctx.globalAlpha = 1;
  ctx.globalCompositeOperation = "source-over";
  ctx.strokeStyle = {js(pal["fg"])};
  ctx.strokeRect(S.ex - 6, S.ey - 3, 12, 6);
{when(build.has("counter"), '  document.getElementById("dojo-count").textContent = "Particles: " + S.parts.length;')}
}}
{on(build, "burst", "dojo-burst", "click", f"for (let i = 0; i < {p['burst']}; i++) emit(); S.bursts += 1;")}
{on(build, "colour", "dojo-colour", "click", "S.colour = (S.colour + 1) % COLOURS.length;")}
{on(build, "rate", "dojo-rate", "input", "S.rate = Number(ev.target.value);")}
{on(build, "move", "dojo-canvas", "click", "const rc = cv.getBoundingClientRect(); S.ex = Math.round(ev.clientX - rc.left); S.ey = Math.round(ev.clientY - rc.top);")}
{key_cases(build, [("pause", p["pause_key"], "S.emitting = !S.emitting;")])}
window.__dojoState = () => ({{ emitting: S.emitting, rate: S.rate, emitter: [S.ex, S.ey], colour: COLOURS[S.colour], bursts: S.bursts }});
"""
            + LOOP
        )
        return document(f"{p['what'].capitalize()} particles", pal, body, script)
