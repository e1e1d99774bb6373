"""Physics sandbox: balls under gravity bouncing in a box."""

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


class PhysicsSandbox(Family):
    name = "physics_sandbox"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        k = keys(rng, 1)
        g = rng.randrange(100, 700, 20)
        p: dict[str, Any] = {
            "width": rng.randrange(360, 801, 20),
            "height": rng.randrange(240, 521, 20),
            "balls": rng.randint(3, 24),
            "radius": rng.randint(6, 22),
            "gravity": g,
            "restitution": round(rng.uniform(0.55, 0.95), 2),
            "speed": rng.randrange(60, 301, 10),
            "trail": rng.randint(6, 30),
            "palette": palette(rng),
            "flip_key": k[0],
            "seed": rng.randrange(1, 2**31),
            "object": rng.choice(["ball", "marble", "bubble", "puck"]),
        }
        p["colour"] = p["palette"]["accent"]  # the balls' colour, stated in the prompt (a parameter of its own)
        return p

    def summary(self, p: dict[str, Any]) -> str:
        return (
            f"a physics sandbox on a {p['width']}×{p['height']} canvas in which {p['balls']} "
            f"{p['object']}s of radius {p['radius']} px fly around and bounce off the edges of the canvas, drawn in "
            f"{p['colour']} on a {p['palette']['bg']} background"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        o = p["object"]
        return [
            Feature("gravity", f"Every {o} accelerates downwards at {p['gravity']} px/s².", probe="accelY() !== 0"),
            Feature(
                "damping",
                f"{o.capitalize()}s lose energy at each bounce, keeping {round(p['restitution'] * 100)}% "
                "of their speed.",
                probe="bounceKeep() < 1",
            ),
            Feature(
                "trails",
                f"Each {o} leaves a fading trail of its last {p['trail']} positions.",
                probe="trailLength() > 0",
            ),
            Feature(
                "counter",
                f"A readout shows how many {o}s exist.",
                probe=f"{COUNT} !== null && /Count: \\d/.test({COUNT}.textContent)",
            ),
            Feature(
                "add",
                f"Clicking the canvas adds a {o} at the clicked point.",
                Action(f"click the canvas to add a {o}", "#dojo-canvas", "click-at", "40,40"),
            ),
            Feature(
                "pause",
                "A Pause button freezes the motion and a second press resumes it.",
                Action("press Pause", "#dojo-pause", "click"),
            ),
            Feature(
                "reset",
                f"A Reset button restores the initial {p['balls']} {o}s.",
                Action("press Reset", "#dojo-reset", "click"),
            ),
            Feature(
                "gravity_slider",
                f"A slider sets the gravity between 0 and {p['gravity'] * 2} px/s².",
                Action("set the gravity slider to its minimum", "#dojo-gravity", "fill", "0"),
                ("gravity",),
            ),
            Feature(
                "flip",
                f"Pressing the {p['flip_key'].upper()} key flips gravity upside down.",
                Action(f"press {p['flip_key'].upper()}", "body", "press", p["flip_key"]),
                ("gravity",),
            ),
        ]

    def extras(self, p: dict[str, Any]) -> list[Feature]:
        o = p["object"]
        return [
            Feature(
                "rainbow",
                f"Each {o} wears a ring that cycles through the rainbow colours.",
                probe="ringColour(1) !== null",
            ),
            Feature("jitter", f"{o.capitalize()}s jitter randomly as they move.", probe="jitterBy() > 0"),
            Feature(
                "kick",
                f"A Kick button launches every {o} upwards.",
                Action("press Kick", "#dojo-kick", "click"),
            ),
        ]

    def drifts(self, p: dict[str, Any]) -> list[Drift]:
        return [
            *canvas_drifts(),
            Drift("balls", "count", "__dojoState().count"),
            Drift("radius", "size", "ballRadius()"),
            Drift("colour", "colour", "ballColour()"),
            Drift("gravity", "speed", "accelY()", feature="gravity"),
            Drift("trail", "count", "trailLength()", feature="trails"),
            Drift("flip_key", "key", "__dojoState().direction", feature="flip"),
        ]

    def runtime(self, p: dict[str, Any]) -> dict[str, Any]:
        keep = ("width", "height", "balls", "radius", "gravity", "restitution", "speed", "trail", "colour")
        pal = p["palette"]
        return {
            "title": f"{p['object'].capitalize()} sandbox",
            "palette": palette_vars(pal),
            "trail_colour": pal["alt"],
            "flip_key": p["flip_key"],
            "seed": p["seed"],
            **{k: p[k] for k in keep},
        }

    def template(self, p: dict[str, Any]) -> str:
        body = f"""<div class="bar">{gated_button("pause", "dojo-pause", "Pause")}{gated_button("reset", "dojo-reset", "Reset")}{gated_button("kick", "dojo-kick", "Kick")}
{gated_slider("gravity_slider", "dojo-gravity", "Gravity")}
{gated_readout("counter", "dojo-count")}</div>
<canvas id="dojo-canvas"></canvas>"""
        script = (
            RNG
            + """
const P = C.p;
const W = P.width, H = P.height, N = P.balls, V = P.speed;
const cv = document.getElementById("dojo-canvas");
cv.width = W; cv.height = H;
const ctx = cv.getContext("2d");
const rand = makeRng(P.seed);
range("dojo-gravity", 0, P.gravity * 2, 10, P.gravity);
const S = { paused: false, gravity: P.gravity, dir: 1, resets: 0, kicks: 0, balls: [], t: 0 };
function ballRadius() { return P.radius; }
function ballColour() { return P.colour; }
function accelY() { return on("gravity") ? S.gravity * S.dir : 0; }
function bounceKeep() { return on("damping") ? P.restitution : 1; }
function trailLength() { return on("trails") ? P.trail : 0; }
function jitterBy() { return on("jitter") ? 40 : 0; }
function ringColour(t) { return on("rainbow") ? "hsl(" + Math.round((t * 120) % 360) + ",80%,60%)" : null; }
const R = ballRadius();
function spawn(x, y) {
  S.balls.push({ x: x, y: y, vx: (rand() - 0.5) * 2 * V, vy: (rand() - 0.5) * 2 * V, trail: [] });
}
function init() {
  S.balls = [];
  for (let i = 0; i < N; i++) spawn(R + rand() * (W - 2 * R), R + rand() * (H / 2));
}
init();
function update(dt) {
  S.t += dt;
  const ay = accelY(), e = bounceKeep(), jit = jitterBy(), keep = trailLength();
  for (const b of S.balls) {
    b.vy += ay * dt;
    if (jit > 0) { b.vx += (rand() - 0.5) * jit; b.vy += (rand() - 0.5) * jit; }
    b.x += b.vx * dt;
    b.y += b.vy * dt;
    if (b.x < R) { b.x = R; b.vx = -b.vx * e; }
    if (b.x > W - R) { b.x = W - R; b.vx = -b.vx * e; }
    if (b.y < R) { b.y = R; b.vy = -b.vy * e; }
    if (b.y > H - R) { b.y = H - R; b.vy = -b.vy * e; }
    if (keep > 0) { b.trail.push([b.x, b.y]); while (b.trail.length > keep) b.trail.shift(); }
  }
}
function draw() {
  ctx.fillStyle = P.palette.bg;
  ctx.fillRect(0, 0, W, H);
  const ring = ringColour(S.t);
  for (const b of S.balls) {
    if (on("trails")) {
      b.trail.forEach((pt, i) => {
        ctx.globalAlpha = (i + 1) / b.trail.length * 0.4;
        ctx.fillStyle = P.trail_colour;
        ctx.beginPath(); ctx.arc(pt[0], pt[1], R * 0.6, 0, Math.PI * 2); ctx.fill();
      });
      ctx.globalAlpha = 1;
    }
    ctx.fillStyle = ballColour();
    ctx.beginPath(); ctx.arc(b.x, b.y, R, 0, Math.PI * 2); ctx.fill();
    if (ring !== null) {
      ctx.strokeStyle = ring; ctx.lineWidth = 3;
      ctx.beginPath(); ctx.arc(b.x, b.y, R + 2, 0, Math.PI * 2); ctx.stroke();
    }
  }
  if (on("counter")) document.getElementById("dojo-count").textContent = "Count: " + S.balls.length;
}
bind("pause", "dojo-pause", "click", (ev) => {
  S.paused = !S.paused; ev.target.textContent = S.paused ? "Resume" : "Pause";
});
bind("reset", "dojo-reset", "click", () => { init(); S.resets += 1; });
bind("kick", "dojo-kick", "click", () => {
  for (const b of S.balls) b.vy = -Math.abs(b.vy) - 2 * V;
  S.kicks += 1;
});
bind("gravity_slider", "dojo-gravity", "input", (ev) => { S.gravity = Number(ev.target.value); });
bind("add", "dojo-canvas", "click", (ev) => {
  const rc = cv.getBoundingClientRect(); spawn(ev.clientX - rc.left, ev.clientY - rc.top);
});
onKey("flip", "flip_key", () => { S.dir = -S.dir; });
window.__dojoState = () => ({ count: S.balls.length, paused: S.paused, gravity: S.gravity, direction: S.dir,
  resets: S.resets, kicks: S.kicks });
"""
            + LOOP
        )
        return program(body, script)
