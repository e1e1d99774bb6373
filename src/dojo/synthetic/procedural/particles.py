"""Particle system: an emitter spraying particles the user can steer and tune."""

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

COUNT = 'document.getElementById("dojo-count")'


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
            Feature(
                "fade",
                f"Particles fade out over their {p['life']} s lifetime and are then removed.",
                probe="alphaOf(LIFE * 0.5) < 0.99",
            ),
            Feature("gravity", f"Particles fall back under a gravity of {p['gravity']} px/s².", probe="accelY() > 0"),
            Feature(
                "counter",
                "A readout shows how many particles are alive.",
                probe=f"{COUNT} !== null && /Particles: \\d/.test({COUNT}.textContent)",
            ),
            Feature(
                "glow",
                "Particles blend additively so that overlapping particles glow brighter.",
                probe='blend() === "lighter"',
            ),
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
            Feature("wind", "A gusty wind pushes particles sideways.", probe="windAt(0.3) !== 0"),
            Feature("spin", "The emitter slowly rotates, sweeping the spray around.", probe="spinAngle(0.5) !== 0"),
            Feature(
                "clear",
                "A Clear button removes every particle at once.",
                Action("press Clear", "#dojo-clear", "click"),
            ),
        ]

    def drifts(self, p: dict[str, Any]) -> list[Drift]:
        return [
            *canvas_drifts(),
            Drift("rate", "count", "__dojoState().rate"),
            Drift("speed", "speed", "launchSpeed()"),
            Drift("gravity", "speed", "accelY()", feature="gravity", bounds=(40, int(p["speed"] * 1.2) - 1)),
            Drift("colours", "colour", "__dojoState().colour", feature="colour", index=0),
            Drift(
                "burst", "count", '(document.getElementById("dojo-burst").click(), __dojoState().lastBurst)', "burst"
            ),
            Drift("pause_key", "key", "__dojoState().emitting", feature="pause"),
        ]

    def runtime(self, p: dict[str, Any]) -> dict[str, Any]:
        keep = ("width", "height", "rate", "life", "size", "speed", "spread", "gravity", "burst", "max", "colours")
        return {
            "title": f"{p['what'].capitalize()} particles",
            "palette": palette_vars(p["palette"]),
            "shape": p["shape"],
            "pause_key": p["pause_key"],
            "seed": p["seed"],
            **{k: p[k] for k in keep},
        }

    def template(self, p: dict[str, Any]) -> str:
        body = f"""<div class="bar">{gated_button("burst", "dojo-burst", "Burst")}{gated_button("colour", "dojo-colour", "Colour")}{gated_button("clear", "dojo-clear", "Clear")}
{gated_slider("rate", "dojo-rate", "Rate")}{gated_readout("counter", "dojo-count")}</div>
<canvas id="dojo-canvas"></canvas>"""
        script = (
            RNG
            + """
const P = C.p;
const W = P.width, H = P.height, SIZE = P.size, LIFE = P.life, MAX = P.max, COLOURS = P.colours;
const cv = document.getElementById("dojo-canvas");
cv.width = W; cv.height = H;
const ctx = cv.getContext("2d");
const rand = makeRng(P.seed);
range("dojo-rate", 0, P.rate * 2, 10, P.rate);
const S = { paused: false, emitting: true, rate: P.rate, ex: W / 2, ey: H - 10, colour: 0, bursts: 0, lastBurst: 0, clears: 0,
  acc: 0, angle: 0, t: 0, parts: [] };
function launchSpeed() { return P.speed; }
function accelY() { return on("gravity") ? P.gravity : 0; }
function windAt(t) { return on("wind") ? Math.sin(t * 2) * 200 : 0; }
function spinAngle(t) { return on("spin") ? Math.sin(t) * 60 : 0; }
function alphaOf(age) { return on("fade") ? Math.max(0, 1 - age / LIFE) : 1; }
function blend() { return on("glow") ? "lighter" : "source-over"; }
function emit() {
  if (S.parts.length >= MAX) return;
  const a = (-90 + S.angle + (rand() * 2 - 1) * P.spread / 2) * Math.PI / 180;
  const v = launchSpeed() * (0.6 + 0.4 * rand());
  S.parts.push({ x: S.ex, y: S.ey, vx: Math.cos(a) * v, vy: Math.sin(a) * v, age: 0, c: COLOURS[S.colour] });
}
function update(dt) {
  S.t += dt;
  S.angle = spinAngle(S.t);
  if (S.emitting) {
    S.acc += dt * S.rate;
    while (S.acc >= 1) { S.acc -= 1; emit(); }
  }
  const ay = accelY(), ax = windAt(S.t);
  for (const q of S.parts) {
    q.vy += ay * dt; q.vx += ax * dt;
    q.x += q.vx * dt; q.y += q.vy * dt; q.age += dt;
  }
  S.parts = S.parts.filter((q) => q.age < LIFE && q.x > -50 && q.x < W + 50 && q.y > -H && q.y < H + 50);
}
function draw() {
  ctx.globalCompositeOperation = "source-over";
  ctx.globalAlpha = 1;
  ctx.fillStyle = P.palette.bg;
  ctx.fillRect(0, 0, W, H);
  ctx.globalCompositeOperation = blend();
  for (const q of S.parts) {
    ctx.globalAlpha = alphaOf(q.age);
    ctx.fillStyle = q.c;
    if (P.shape === "square") ctx.fillRect(q.x - SIZE, q.y - SIZE, SIZE * 2, SIZE * 2);
    else { ctx.beginPath(); ctx.arc(q.x, q.y, SIZE, 0, Math.PI * 2); ctx.fill(); }
  }
  ctx.globalAlpha = 1;
  ctx.globalCompositeOperation = "source-over";
  ctx.strokeStyle = P.palette.fg;
  ctx.strokeRect(S.ex - 6, S.ey - 3, 12, 6);
  if (on("counter")) document.getElementById("dojo-count").textContent = "Particles: " + S.parts.length;
}
bind("burst", "dojo-burst", "click", () => {
  for (let i = 0; i < P.burst; i++) emit();
  S.bursts += 1; S.lastBurst = P.burst;
});
bind("colour", "dojo-colour", "click", () => { S.colour = (S.colour + 1) % COLOURS.length; });
bind("clear", "dojo-clear", "click", () => { S.parts = []; S.clears += 1; });
bind("rate", "dojo-rate", "input", (ev) => { S.rate = Number(ev.target.value); });
bind("move", "dojo-canvas", "click", (ev) => {
  const rc = cv.getBoundingClientRect();
  S.ex = Math.round(ev.clientX - rc.left); S.ey = Math.round(ev.clientY - rc.top);
});
onKey("pause", "pause_key", () => { S.emitting = !S.emitting; });
window.__dojoState = () => ({ emitting: S.emitting, rate: S.rate, emitter: [S.ex, S.ey], colour: COLOURS[S.colour],
  bursts: S.bursts, lastBurst: S.lastBurst, clears: S.clears });
"""
            + LOOP
        )
        return program(body, script)
