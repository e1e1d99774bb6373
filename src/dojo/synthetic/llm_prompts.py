"""Our own prompts for the LLM generator: question, answer, degradation and repair (all JSON out)."""

from __future__ import annotations

import json
from typing import Any

from dojo.synthetic.ladder import Degradation

TOPICS = [
    "a physics sandbox with bouncing bodies",
    "a particle system (fireworks, fountain, snow or fire)",
    "an orbit or pendulum simulation",
    "a sorting algorithm visualiser",
    "a small arcade game",
    "a drawing or painting tool",
    "a cellular automaton",
    "a data chart with interactive controls",
    "a maze generator and solver",
    "a flocking (boids) simulation",
    "a metronome or step sequencer with visuals",
    "a fractal explorer",
    "a tile-matching puzzle",
    "a spring-mass cloth or rope simulation",
    "a clock or timer with animated dials",
    "a path-finding visualiser on a grid",
]

SYSTEM = (
    "You write small, complete, self-contained interactive web programs: one HTML document with inline CSS and "
    "inline JavaScript, no external files, no network requests, no libraries, no http(s) URLs anywhere. Every "
    "program must run in a sandboxed iframe without errors. Every interactive control has an id starting with "
    "'dojo-' and the page defines window.__dojoState() returning a small JSON object of the state the user's "
    "actions change. You always answer with a single JSON object and nothing else."
)


def question(topic: str) -> list[dict[str, str]]:
    """Ask for a task specification."""
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": (
                "Task: question.\n"
                f"Invent one concrete program on this topic: {topic}. Choose specific numbers: sizes, colours (hex), "
                "counts, speeds and keyboard keys.\n"
                'Return JSON: {"title": str, "summary": str (one sentence describing the program), '
                '"features": [{"key": short_snake_case, "text": one sentence}] (3 or 4 visible behaviours), '
                '"user_actions": [{"key": short_snake_case, "text": one sentence naming the control or key}] '
                '(3 or 4), "extras": [{"key": short_snake_case, "text": one sentence}] (2 plausible features that '
                "were NOT requested)}."
            ),
        },
    ]


def spec_text(spec: dict[str, Any]) -> str:
    """The requirements as plain text, for the answer and degradation prompts."""
    feats = "\n".join(f"- [{f['key']}] {f['text']}" for f in spec["features"])
    acts = "\n".join(f"- [{a['key']}] {a['text']}" for a in spec["user_actions"])
    return f"{spec['summary']}\n\nFeatures:\n{feats}\n\nUser actions:\n{acts}\n"


def answer(spec: dict[str, Any]) -> list[dict[str, str]]:
    """Ask for the faithful document."""
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": (
                "Task: answer.\nWrite the complete HTML document for this program. Implement every feature and every "
                "user action exactly as specified.\n\n"
                + spec_text(spec)
                + '\nReturn JSON: {"html": the complete document as a string}.'
            ),
        },
    ]


def degrade(spec: dict[str, Any], base_html: str, deg: Degradation, texts: dict[str, str]) -> list[dict[str, str]]:
    """Ask for a variant of the faithful document with exactly the given damage."""
    changes = [
        f"- Remove this requested feature completely (its code and any control for it): {texts[k]}" for k in deg.removed
    ]
    changes += [
        f"- Break this user action: keep its control visible, but make using it do nothing: {texts[k]}"
        for k in deg.broken
    ]
    changes += [f"- Add this feature, which was NOT requested: {texts[k]}" for k in deg.added]
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": (
                "Task: degrade.\nBelow are a program's requirements and a working document that meets them. Return a "
                "variant of the document that is identical except for these changes:\n"
                + "\n".join(changes)
                + "\nThe variant must still load and run without any error, and must not mention these changes in "
                "comments or text.\n\n"
                + spec_text(spec)
                + "\nDocument:\n"
                + base_html
                + '\n\nReturn JSON: {"html": the complete modified document as a string}.'
            ),
        },
    ]


def repair(html: str, error: str) -> list[dict[str, str]]:
    """Ask to fix a document that failed validation, naming the error."""
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": (
                "Task: repair.\nThis document failed validation with the error below. Fix only that problem and "
                f"keep everything else unchanged.\n\nError: {error}\n\nDocument:\n{html}\n\n"
                'Return JSON: {"html": the complete fixed document as a string}.'
            ),
        },
    ]


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
