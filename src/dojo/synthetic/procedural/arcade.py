"""Small arcade game: catch falling objects with a basket moved by keys or the mouse."""

from __future__ import annotations

import random
from typing import Any

from dojo.synthetic.procedural.base import Action, Build, Family, Feature
from dojo.synthetic.procedural.page import LOOP, RNG, button, document, js, key_cases, keys, on, palette, readout, when

THINGS = ["apple", "star", "coin", "raindrop", "egg", "gem", "snowflake", "leaf"]


class ArcadeGame(Family):
    name = "arcade_game"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        w = rng.randrange(360, 721, 20)
        return {
            "width": w,
            "height": rng.randrange(300, 541, 20),
            "paddle": rng.randrange(50, 141, 10),
            "step": rng.randrange(10, 41, 5),
            "fall": rng.randrange(60, 221, 10),
            "every": round(rng.uniform(0.4, 1.6), 1),
            "lives": rng.randint(3, 6),
            "levelup": rng.randrange(10, 41, 5),
            "thing": rng.choice(THINGS),
            "catcher": rng.choice(["basket", "paddle", "bucket", "cart"]),
            "palette": palette(rng),
            "pause_key": keys(rng, 1)[0],
            "seed": rng.randrange(1, 2**31),
        }

    def summary(self, p: dict[str, Any]) -> str:
        return (
            f"a small arcade game on a {p['width']}×{p['height']} canvas where {p['thing']}s fall from the top "
            f"at {p['fall']} px/s, one every {p['every']} s, and the player catches them with a {p['paddle']} px wide "
            f"{p['catcher']} at the bottom, moved {p['step']} px at a time with the left and right arrow keys"
        )

    def features(self, p: dict[str, Any]) -> list[Feature]:
        k = p["pause_key"].upper()
        c = p["catcher"]
        return [
            Feature("score", f"A score readout counts the caught {p['thing']}s."),
            Feature(
                "lives",
                f"The player has {p['lives']} lives; each missed {p['thing']} costs one and the game "
                "ends at zero with a Game Over message.",
            ),
            Feature("levels", f"The fall speed rises by {p['levelup']}% every 10 points."),
            Feature("best", "The best score of the session is shown next to the score."),
            Feature(
                "start",
                "A Start button begins the game; nothing falls before it is pressed.",
                Action("press Start", "#dojo-start", "click", timed=True),
            ),
            Feature(
                "pause",
                f"Pressing the {k} key pauses and resumes the game.",
                Action(f"press {k}", "body", "press", p["pause_key"]),
            ),
            Feature(
                "restart",
                "A Restart button starts over with full lives and a score of 0.",
                Action("press Restart", "#dojo-restart", "click"),
            ),
            Feature(
                "mouse",
                f"Clicking the canvas moves the {c} under the pointer.",
                Action("click the canvas", "#dojo-canvas", "click-at", "30,20"),
            ),
        ]

    def core_actions(self, p: dict[str, Any]) -> list[Action]:
        return [Action(f"press the right arrow to move the {p['catcher']}", "body", "press", "ArrowRight")]

    def extras(self, p: dict[str, Any]) -> list[Feature]:
        return [
            Feature("wind", f"Wind blows the falling {p['thing']}s sideways."),
            Feature("shake", "The screen shakes whenever something is caught."),
        ]

    def render(self, p: dict[str, Any], build: Build) -> str:
        pal, w, h = p["palette"], p["width"], p["height"]
        speed = f"FALL * (1 + {p['levelup'] / 100} * Math.floor(S.score / 10))" if build.has("levels") else "FALL"
        body = f"""<div class="bar">{button(build, "start", "dojo-start", "Start")}{button(build, "restart", "dojo-restart", "Restart")}
{readout(build, "score", "dojo-score")}{readout(build, "best", "dojo-best")}{readout(build, "lives", "dojo-lives")}</div>
<canvas id="dojo-canvas" width="{w}" height="{h}" tabindex="0"></canvas>"""
        script = (
            RNG
            + f"""
const W = {w}, H = {h}, PW = {p["paddle"]}, FALL = {p["fall"]}, EVERY = {p["every"]}, LIVES = {p["lives"]};
const cv = document.getElementById("dojo-canvas");
const ctx = cv.getContext("2d");
const rand = makeRng({p["seed"]});
const S = {{ paused: false, started: {js(not build.has("start"))}, over: false, x: (W - PW) / 2, score: 0, best: 0,
  lives: LIVES, restarts: 0, items: [], acc: 0, shake: 0, t: 0 }};
function restart() {{
  S.score = 0; S.lives = LIVES; S.items = []; S.acc = 0; S.over = false; S.x = (W - PW) / 2;
}}
function update(dt) {{
  if (!S.started || S.over) return;
  S.t += dt;
  S.acc += dt;
  if (S.acc >= EVERY) {{ S.acc -= EVERY; S.items.push({{ x: 10 + rand() * (W - 20), y: -10 }}); }}
  const v = {speed};
  for (const it of S.items) {{
    it.y += v * dt;
{when(build.has("wind"), "    it.x += Math.sin(S.t) * 60 * dt;")}
  }}
  const keep = [];
  for (const it of S.items) {{
    if (it.y >= H - 20 && it.y <= H - 6 && it.x >= S.x && it.x <= S.x + PW) {{
      S.score += 1; S.best = Math.max(S.best, S.score); S.shake = 0.3;
    }} else if (it.y > H) {{
{when(build.has("lives"), "      S.lives -= 1; if (S.lives <= 0) S.over = true;")}
    }} else keep.push(it);
  }}
  S.items = keep;
  S.shake = Math.max(0, S.shake - dt);
}}
function draw() {{
  ctx.save();
{when(build.has("shake"), "  if (S.shake > 0) ctx.translate((rand() - 0.5) * 8, (rand() - 0.5) * 8);")}
  ctx.fillStyle = {js(pal["bg"])};
  ctx.fillRect(-10, -10, W + 20, H + 20);
  ctx.fillStyle = {js(pal["alt"])};
  for (const it of S.items) {{ ctx.beginPath(); ctx.arc(it.x, it.y, 7, 0, Math.PI * 2); ctx.fill(); }}
  ctx.fillStyle = {js(pal["accent"])};
  ctx.fillRect(S.x, H - 14, PW, 10);
  ctx.fillStyle = {js(pal["fg"])};
  ctx.font = "20px sans-serif";
  if (S.over) ctx.fillText("Game Over", W / 2 - 50, H / 2);
  else if (!S.started) ctx.fillText("Press Start", W / 2 - 50, H / 2);
  else if (S.paused) ctx.fillText("Paused", W / 2 - 35, H / 2);
  ctx.restore();
{when(build.has("score"), '  document.getElementById("dojo-score").textContent = "Score: " + S.score;')}
{when(build.has("best"), '  document.getElementById("dojo-best").textContent = "Best: " + S.best;')}
{when(build.has("lives"), '  document.getElementById("dojo-lives").textContent = "Lives: " + S.lives;')}
}}
function moveTo(x) {{ S.x = Math.max(0, Math.min(W - PW, x)); }}
{on(build, "start", "dojo-start", "click", "S.started = true;")}
{on(build, "restart", "dojo-restart", "click", "restart(); S.restarts += 1;")}
{on(build, "mouse", "dojo-canvas", "click", "const rc = cv.getBoundingClientRect(); moveTo(Math.round(ev.clientX - rc.left - PW / 2));")}
document.addEventListener("keydown", (ev) => {{
  if (ev.key === "ArrowLeft") {{ moveTo(S.x - {p["step"]}); ev.preventDefault(); }}
  else if (ev.key === "ArrowRight") {{ moveTo(S.x + {p["step"]}); ev.preventDefault(); }}
}});
{key_cases(build, [("pause", p["pause_key"], "S.paused = !S.paused;")])}
window.__dojoState = () => ({{ x: S.x, started: S.started, paused: S.paused, restarts: S.restarts }});
"""
            + LOOP
        )
        return document(f"Catch the {p['thing']}s", pal, body, script)
