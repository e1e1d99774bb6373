"""Our own prompts for the LLM generator: question, program and repair (all JSON out)."""

from __future__ import annotations

import json
from typing import Any

from dojo.synthetic.llm_program import DECODE_SLOT
from dojo.synthetic.surface import MARKER

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
    """Ask for a task specification: texts with placeholders, and the parameter schema."""
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": (
                "Task: question.\n"
                f"Invent one concrete program on this topic: {topic}.\n"
                "Every value a person would notice (sizes, counts, speeds, durations, amounts, colours, keyboard "
                'keys) is a PARAMETER: declare it in "params" and write it in the texts only as a placeholder '
                "{name}, never as a literal: the summary and the feature texts contain no digits and no colour "
                "codes of their own.\n"
                'Return JSON: {"title": str (short), "summary": str (one sentence describing the program, with '
                'placeholders), "params": [{"name": snake_case, "type": "int" | "number" | "colour" | "key" | '
                '"string", "value": the requested value (colours as "#rrggbb", keys as one lower-case letter), '
                '"drift": "size" | "count" | "speed" | "colour" | "key" | null}] (5 to 12; "drift" says how a '
                "clearly wrong value would be made: size for lengths and dimensions, count for numbers of things, "
                "speed for rates and durations, colour for colours, key for keys, null when a wrong value would not "
                "be visible; at least 3 parameters with a drift appear in the summary), "
                '"features": [{"key": short_snake_case, "text": one sentence}] (3 or 4 visible behaviours), '
                '"user_actions": [{"key": short_snake_case, "text": one sentence naming the control (a button '
                "with an id starting dojo-) or the key placeholder}] (3 or 4), "
                '"extras": [{"key": short_snake_case, "text": one sentence, "action": bool}] (3 plausible '
                "features that were NOT requested, of the same weight as the requested ones: at least one user "
                "action with its own button and at least one visible behaviour)}."
            ),
        },
    ]


def spec_text(spec: dict[str, Any]) -> str:
    """The requirements with their placeholders and feature keys, for the program prompt."""
    feats = "\n".join(f"- [{f['key']}] {f['text']}" for f in spec["features"])
    acts = "\n".join(f"- [{a['key']}] {a['text']}" for a in spec["user_actions"])
    extras = "\n".join(
        f"- [{e['key']}] ({'user action' if e.get('action') else 'behaviour'}) {e['text']}" for e in spec["extras"]
    )
    params = "\n".join(f"- {p['name']} ({p['type']}) = {dumps(p['value'])}" for p in spec["params"])
    return (
        f"Title: {spec['title']}\n{spec['summary']}\n\nRequested features:\n{feats}\n\n"
        f"Requested user actions:\n{acts}\n\nExtra features (not requested in this variant; implement them too, "
        f"off unless on(key) says so):\n{extras}\n\nParameters (placeholders {{name}} above stand for C.p.name):\n{params}\n"
    )


def program(spec: dict[str, Any], faithful: dict[str, Any]) -> list[dict[str, str]]:
    """Ask for the one program of a task: a template configured at load time by ``C``, ``on`` and ``live``.

    ``faithful``: the requested variant's logical configuration (``on``, ``broken``, ``p``); the
    model sees its parameters and which features ``on`` reports on, never a flag inside ``C``.
    """
    on = [k for k, v in faithful["on"].items() if v]
    off = [k for k, v in faithful["on"].items() if not v]
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": (
                "Task: program.\n"
                "Write the complete HTML document for this program as a TEMPLATE: one program whose every variant "
                "is configured at load time by an object C.\n\n" + spec_text(spec) + "\nRules:\n"
                f"1. Write the line {MARKER} exactly once in the body's markup, before the first <script> (it is "
                "replaced by a data element; do not put it inside any other element's attribute or script).\n"
                "2. Use one inline <script>. Its first statement is exactly: const C = "
                + DECODE_SLOT
                + "; (replaced by code that defines the constant C and two functions, on(key) and live(key); do "
                "not define or assign the names C, on or live yourself). For the requested variant C.p is:\n"
                + dumps(faithful["p"])
                + "\nand on(key) is true for "
                + dumps(on)
                + " and false for "
                + dumps(off)
                + ".\n3. C.p holds every parameter. Never write a parameter's value anywhere in the code, CSS or "
                "markup: read it from C.p (canvas sizes, colours set from the script, counts, speeds, keys). Keys "
                "are single lower-case letters: compare them with ev.key.toLowerCase(). Show C.p.title as the "
                "page's <title> and heading.\n"
                "4. Implement EVERY feature listed above, the extras too. on(key) says whether each one is on: "
                "run a feature's code only while it is on, and remove its controls from the page while it is off. "
                "C holds no other flag: never read C.on, C.broken or anything of C but C.p.\n"
                "5. live(key) (user actions): an action does its job only while live(key) is true; while on(key) "
                "is true but live(key) false, its control stays visible and looks normal, but using it does "
                "nothing. Check live(key) inside the handler, each time it runs.\n"
                "6. Controls have ids starting with dojo-. window.__dojoState() returns a small JSON object of the "
                "discrete state the user's actions change (give each action its own counter or flag), never "
                "anything driven by elapsed time.\n"
                '\nReturn JSON: {"html": the complete template as a string}.'
            ),
        },
    ]


def repair(html: str, error: str) -> list[dict[str, str]]:
    """Ask to fix a template that failed validation, naming the error."""
    return [
        {"role": "system", "content": SYSTEM},
        {
            "role": "user",
            "content": (
                "Task: repair.\nThis document failed validation with the error below. Fix only that problem and "
                f"keep everything else unchanged; keep the line {MARKER} and the statement "
                f"`const C = {DECODE_SLOT};` as they are.\n\nError: {error}\n\nDocument:\n{html}\n\n"
                'Return JSON: {"html": the complete fixed document as a string}.'
            ),
        },
    ]


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)
