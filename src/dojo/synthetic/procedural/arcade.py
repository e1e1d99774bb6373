"""Small arcade game: catch falling objects with a basket moved by keys or the mouse."""

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
    keys,
    palette,
    palette_vars,
    program,
)

THINGS = ["apple", "star", "coin", "raindrop", "egg", "gem", "snowflake", "leaf"]


def _readout(elem_id: str, label: str) -> str:
    el = f"document.getElementById({elem_id!r})"
    return f"{el} !== null && /{label}: \\d/.test({el}.textContent)"


class ArcadeGame(Family):
    name = "arcade_game"

    def sample(self, rng: random.Random) -> dict[str, Any]:
        w = rng.randrange(360, 721, 20)
        return {
            "width": w,
            "height": rng.randrange(240, 541, 20),
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
            Feature(
                "score", f"A score readout counts the caught {p['thing']}s.", probe=_readout("dojo-score", "Score")
            ),
            Feature(
                "lives",
                f"The player has {p['lives']} lives; each missed {p['thing']} costs one and the game "
                "ends at zero with a Game Over message.",
                probe=_readout("dojo-lives", "Lives"),
            ),
            Feature(
                "levels",
                f"The fall speed rises by {p['levelup']}% every 10 points.",
                probe="fallSpeed(10) > fallSpeed(0)",
            ),
            Feature(
                "best",
                "The best score of the session is shown next to the score.",
                probe=_readout("dojo-best", "Best"),
            ),
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
            Feature("wind", f"Wind blows the falling {p['thing']}s sideways.", probe="windAt(1) !== 0"),
            Feature("shake", "The screen shakes whenever something is caught.", probe="shakeBy(0.3) > 0"),
            Feature(
                "slow",
                f"A Slow button halves the fall speed of the {p['thing']}s for the rest of the game.",
                Action("press Slow", "#dojo-slow", "click"),
            ),
        ]

    def drifts(self, p: dict[str, Any]) -> list[Drift]:
        right = (
            "(() => { const a = __dojoState().x; "
            'document.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true })); '
            "return __dojoState().x - a; })()"
        )
        return [
            *canvas_drifts(),
            Drift("paddle", "size", "paddleWidth()"),
            Drift("step", "size", right),
            Drift("fall", "speed", "fallSpeed(0)"),
            Drift("lives", "count", "(restart(), S.lives)", feature="lives"),
            Drift("levelup", "count", "Math.round((fallSpeed(10) / fallSpeed(0) - 1) * 100)", feature="levels"),
            Drift("pause_key", "key", "__dojoState().paused", feature="pause"),
        ]

    def runtime(self, p: dict[str, Any]) -> dict[str, Any]:
        keep = ("width", "height", "paddle", "step", "fall", "every", "lives", "levelup", "pause_key", "seed")
        pal = p["palette"]
        return {
            "title": f"Catch the {p['thing']}s",
            "palette": palette_vars(pal),
            "item": pal["alt"],
            **{k: p[k] for k in keep},
        }

    def template(self, p: dict[str, Any]) -> str:
        body = f"""<div class="bar">{gated_button("start", "dojo-start", "Start")}{gated_button("restart", "dojo-restart", "Restart")}{gated_button("slow", "dojo-slow", "Slow")}
{gated_readout("score", "dojo-score")}{gated_readout("best", "dojo-best")}{gated_readout("lives", "dojo-lives")}</div>
<canvas id="dojo-canvas" tabindex="0"></canvas>"""
        script = (
            RNG
            + """
const P = C.p;
const W = P.width, H = P.height, EVERY = P.every;
const cv = document.getElementById("dojo-canvas");
cv.width = W; cv.height = H;
const ctx = cv.getContext("2d");
const rand = makeRng(P.seed);
function paddleWidth() { return P.paddle; }
const PW = paddleWidth();
const S = { paused: false, started: !on("start"), over: false, x: (W - PW) / 2, score: 0, best: 0,
  lives: P.lives, restarts: 0, slow: 1, items: [], acc: 0, shake: 0, t: 0 };
function fallSpeed(score) { return on("levels") ? P.fall * (1 + P.levelup / 100 * Math.floor(score / 10)) : P.fall; }
function windAt(t) { return on("wind") ? Math.sin(t) * 60 : 0; }
function shakeBy(left) { return on("shake") && left > 0 ? 8 : 0; }
function restart() {
  S.score = 0; S.lives = P.lives; S.items = []; S.acc = 0; S.over = false; S.x = (W - PW) / 2;
}
function update(dt) {
  if (!S.started || S.over) return;
  S.t += dt;
  S.acc += dt;
  if (S.acc >= EVERY) { S.acc -= EVERY; S.items.push({ x: 10 + rand() * (W - 20), y: -10 }); }
  const v = fallSpeed(S.score) * S.slow, wx = windAt(S.t);
  for (const it of S.items) { it.y += v * dt; it.x += wx * dt; }
  const keep = [];
  for (const it of S.items) {
    if (it.y >= H - 20 && it.y <= H - 6 && it.x >= S.x && it.x <= S.x + PW) {
      S.score += 1; S.best = Math.max(S.best, S.score); S.shake = 0.3;
    } else if (it.y > H) {
      if (on("lives")) { S.lives -= 1; if (S.lives <= 0) S.over = true; }
    } else keep.push(it);
  }
  S.items = keep;
  S.shake = Math.max(0, S.shake - dt);
}
function draw() {
  ctx.save();
  const sh = shakeBy(S.shake);
  if (sh > 0) ctx.translate((rand() - 0.5) * sh, (rand() - 0.5) * sh);
  ctx.fillStyle = P.palette.bg;
  ctx.fillRect(-10, -10, W + 20, H + 20);
  ctx.fillStyle = P.item;
  for (const it of S.items) { ctx.beginPath(); ctx.arc(it.x, it.y, 7, 0, Math.PI * 2); ctx.fill(); }
  ctx.fillStyle = P.palette.accent;
  ctx.fillRect(S.x, H - 14, PW, 10);
  ctx.fillStyle = P.palette.fg;
  ctx.font = "20px sans-serif";
  if (S.over) ctx.fillText("Game Over", W / 2 - 50, H / 2);
  else if (!S.started) ctx.fillText("Press Start", W / 2 - 50, H / 2);
  else if (S.paused) ctx.fillText("Paused", W / 2 - 35, H / 2);
  ctx.restore();
  if (on("score")) document.getElementById("dojo-score").textContent = "Score: " + S.score;
  if (on("best")) document.getElementById("dojo-best").textContent = "Best: " + S.best;
  if (on("lives")) document.getElementById("dojo-lives").textContent = "Lives: " + S.lives;
}
function moveTo(x) { S.x = Math.max(0, Math.min(W - PW, x)); }
bind("start", "dojo-start", "click", () => { S.started = true; });
bind("restart", "dojo-restart", "click", () => { restart(); S.restarts += 1; });
bind("slow", "dojo-slow", "click", () => { S.slow = 0.5; });
bind("mouse", "dojo-canvas", "click", (ev) => {
  const rc = cv.getBoundingClientRect();
  moveTo(Math.round(ev.clientX - rc.left - PW / 2));
});
document.addEventListener("keydown", (ev) => {
  if (ev.key === "ArrowLeft") { moveTo(S.x - P.step); ev.preventDefault(); }
  else if (ev.key === "ArrowRight") { moveTo(S.x + P.step); ev.preventDefault(); }
});
onKey("pause", "pause_key", () => { S.paused = !S.paused; });
window.__dojoState = () => ({ x: S.x, started: S.started, paused: S.paused, restarts: S.restarts, slowed: S.slow < 1 });
"""
            + LOOP
        )
        return program(body, script)
