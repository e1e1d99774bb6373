"""Physics sandbox: balls under gravity bouncing in a box."""

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


class PhysicsSandbox(Family):
    name = "physics_sandbox"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        k = keys(rng, 1)
        g = rng.randrange(100, 700, 20)
        return {
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

    def summary(self, p: dict[str, Any]) -> str:
        return (
            f"a physics sandbox on a {p['width']}×{p['height']} canvas in which {p['balls']} "
            f"{p['object']}s of radius {p['radius']} px fly around and bounce off the edges of the canvas, drawn in {p['palette']['accent']} "
            f"on a {p['palette']['bg']} background"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        o = p["object"]
        return [
            Feature(
                "gravity",
                f"Every {o} accelerates downwards at {p['gravity']} px/s².",
            ),
            Feature(
                "damping",
                f"{o.capitalize()}s lose energy at each bounce, keeping {round(p['restitution'] * 100)}% "
                "of their speed.",
            ),
            Feature("trails", f"Each {o} leaves a fading trail of its last {p['trail']} positions."),
            Feature("counter", f"A readout shows how many {o}s exist."),
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
            Feature("rainbow", f"{o.capitalize()}s cycle through rainbow colours."),
            Feature("jitter", f"{o.capitalize()}s jitter randomly as they move."),
        ]

    def render(self, p: dict[str, Any], build: Build) -> str:
        pal, w, h, r = p["palette"], p["width"], p["height"], p["radius"]
        e = p["restitution"] if build.has("damping") else 1
        body = f"""<div class="bar">{button(build, "pause", "dojo-pause", "Pause")}{button(build, "reset", "dojo-reset", "Reset")}
{slider(build, "gravity_slider", "dojo-gravity", "Gravity", 0, p["gravity"] * 2, 10, p["gravity"])}
{readout(build, "counter", "dojo-count")}</div>
<canvas id="dojo-canvas" width="{w}" height="{h}"></canvas>"""
        script = (
            RNG
            + f"""
const W = {w}, H = {h}, R = {r}, N = {p["balls"]}, V = {p["speed"]};
const cv = document.getElementById("dojo-canvas");
const ctx = cv.getContext("2d");
const rand = makeRng({p["seed"]});
const S = {{ paused: false, gravity: {p["gravity"]}, dir: 1, resets: 0, balls: [], hue: 0 }};
function spawn(x, y) {{
  S.balls.push({{ x: x, y: y, vx: (rand() - 0.5) * 2 * V, vy: (rand() - 0.5) * 2 * V, trail: [] }});
}}
function init() {{
  S.balls = [];
  for (let i = 0; i < N; i++) spawn(R + rand() * (W - 2 * R), R + rand() * (H / 2));
}}
init();
function update(dt) {{
  S.hue = (S.hue + dt * 120) % 360;
  for (const b of S.balls) {{
{when(build.has("gravity"), "    b.vy += S.gravity * S.dir * dt;")}
{when(build.has("jitter"), "    b.vx += (rand() - 0.5) * 40; b.vy += (rand() - 0.5) * 40;")}
    b.x += b.vx * dt;
    b.y += b.vy * dt;
{
                f'''    if (b.x < R) {{ b.x = R; b.vx = -b.vx * {e}; }}
    if (b.x > W - R) {{ b.x = W - R; b.vx = -b.vx * {e}; }}
    if (b.y < R) {{ b.y = R; b.vy = -b.vy * {e}; }}
    if (b.y > H - R) {{ b.y = H - R; b.vy = -b.vy * {e}; }}'''
            }
{when(build.has("trails"), f"    b.trail.push([b.x, b.y]); if (b.trail.length > {p['trail']}) b.trail.shift();")}
  }}
}}
function draw() {{
  ctx.fillStyle = {js(pal["bg"])};
  ctx.fillRect(0, 0, W, H);
  for (const b of S.balls) {{
{
                when(
                    build.has("trails"),
                    f'''    b.trail.forEach((pt, i) => {{
      ctx.globalAlpha = (i + 1) / b.trail.length * 0.4;
      ctx.fillStyle = {js(pal['alt'])};
      ctx.beginPath(); ctx.arc(pt[0], pt[1], R * 0.6, 0, Math.PI * 2); ctx.fill();
    }});
    ctx.globalAlpha = 1;''',
                )
            }
    ctx.fillStyle = {"'hsl(' + Math.round(S.hue) + ',80%,60%)'" if build.has("rainbow") else js(pal["accent"])};
    ctx.beginPath(); ctx.arc(b.x, b.y, R, 0, Math.PI * 2); ctx.fill();
  }}
{when(build.has("counter"), '  document.getElementById("dojo-count").textContent = "Count: " + S.balls.length;')}
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
{on(build, "reset", "dojo-reset", "click", "init(); S.resets += 1;")}
{on(build, "gravity_slider", "dojo-gravity", "input", "S.gravity = Number(ev.target.value);")}
{
                on(
                    build,
                    "add",
                    "dojo-canvas",
                    "click",
                    "const rc = cv.getBoundingClientRect(); spawn(ev.clientX - rc.left, ev.clientY - rc.top);",
                )
            }
{key_cases(build, [("flip", p["flip_key"], "S.dir = -S.dir;")])}
window.__dojoState = () => ({{ count: S.balls.length, paused: S.paused, gravity: S.gravity, direction: S.dir, resets: S.resets }});
"""
            + LOOP
        )
        return document(f"{p['object'].capitalize()} sandbox", pal, body, script)
