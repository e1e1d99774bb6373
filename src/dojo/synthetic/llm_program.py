"""An LLM task as one program and many configurations: its answers, its prompt and its per-miner instances.

The LLM generator (:mod:`dojo.synthetic.llm`) asks the model for ONE program per task — a
template, as the procedural families have (:mod:`dojo.synthetic.surface`): it holds
:data:`surface.MARKER` once in its markup before its first script, and its script starts with
the statement ``const C = __DOJO_DECODE__;`` (:data:`DECODE_SLOT`), which we replace by
:data:`surface.PRELUDE`: ``C`` (its flags opaque) and the helpers ``on(key)`` and ``live(key)``.
The program reads every parameter from ``C.p``, runs each feature's code only while ``on(key)``
and makes each user action inert unless ``live(key)``; it never reads flags from ``C`` itself
(there are none to read: the page holds opaque slots). Everything else is done here, without
the model:

* every answer of a task is that one template with its own sealed configuration, built from the
  replace-based ladder (:func:`dojo.synthetic.ladder.plan`): a requested feature swapped for an
  unrequested one, a parameter drifted by its declared kind, an action broken;
* which features a prompt requests is drawn per task and per instance among ALL the program's
  features (:func:`pick_request`: as many display features and user actions as the spec asked
  for), so the spec's "extras" are not special: a feature being on says nothing without the prompt;
* a drifted value is one the parameter could have been drawn with (its range and grain, or another
  hue of its colour), clearly different from the requested one (:func:`dojo.synthetic.procedural.page.wrong_value`);
* the prompt a labeller reads is written by us from the spec's texts (placeholders ``{name}``)
  and the parameter values, so an instance's prompt names its own values;
* :func:`instantiate` re-draws every parameter within its declared kind and range, the requested
  features, plans a fresh ladder and seals fresh configurations into the same template: a
  per-miner instance costs no model call.

A task's ``metadata["template"]`` is a :class:`Program` (JSON): the template text, the features
(key, text, action or not, requested by the spec or extra), the parameter schema with ranges, and
the prompt's title and summary; ``metadata["requested"]`` the features this task's prompt requests.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import random
import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from dojo.errors import InstanceError, LadderError
from dojo.synthetic import surface
from dojo.synthetic.ladder import Degradation, Item, plan
from dojo.synthetic.models import SyntheticTask, assemble_task
from dojo.synthetic.procedural.page import KEYS, Support, wrong_value

#: What the model writes where the configuration decoder goes: ``const C = __DOJO_DECODE__;``
#: (the whole statement becomes :data:`surface.PRELUDE`).
DECODE_SLOT = "__DOJO_DECODE__"
MAX_TEMPLATE_BYTES = 512 * 1024
PARAM_TYPES = ("number", "int", "colour", "key", "string")
DRIFT_KINDS = ("colour", "count", "size", "speed", "key")
#: A re-drawn number lies in [value × LOW, value × HIGH], on the original's grain.
LOW, HIGH = 0.6, 1.6
#: Re-drawn colours keep their lightness and saturation and take one of this many evenly spaced hues.
HUES = 12
#: Numbers this large or larger (and every colour) must not appear as literals in a template.
LITERAL_FLOOR = 10

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_HEX = re.compile(r"^#(?:[0-9a-f]{3}|[0-9a-f]{6})$")
_DECODE_LINE = re.compile(r"const\s+C\s*=\s*" + DECODE_SLOT + r"\s*;?")
#: A program that reads flags from ``C`` itself (they are opaque: only ``on``/``live`` read them).
_FLAG_READ = re.compile(r"\bC\s*(?:\.\s*(?:on|broken|f|s)\b|\[\s*[\"'`](?:on|broken|f|s)[\"'`]\s*\])")

ParamType = Literal["number", "int", "colour", "key", "string"]
DriftKind = Literal["colour", "count", "size", "speed", "key"]


class Param(BaseModel):
    """One value the program reads as ``C.p[name]`` and how it may change.

    ``drift``: the kind of clearly wrong value a ladder rung may give it (None: never drifted);
    ``feature``: the feature whose text names it (None: the prompt's summary; a spec-requested
    feature first), only meaningful with a drift — a task drifts it only when its prompt names it
    (:func:`owners`); ``range``/``grain``: where a re-drawn number lies and its rounding.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    type: ParamType
    value: int | float | str
    drift: DriftKind | None = None
    feature: str | None = None
    range: tuple[float, float] | None = None
    grain: float | None = None


class ProgramFeature(BaseModel):
    """A feature of the program; ``requested``: the spec asked for it (a task draws its own request)."""

    key: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=1, max_length=600)
    is_action: bool
    requested: bool


class Program(BaseModel):
    """What an LLM task's instances are made from (``metadata["template"]``)."""

    html: str = Field(default="", max_length=MAX_TEMPLATE_BYTES)
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1, max_length=2000)
    features: list[ProgramFeature] = Field(min_length=2, max_length=20)
    params: list[Param] = Field(max_length=24)

    @field_validator("html")
    @classmethod
    def _bounded(cls, v: str) -> str:
        if len(v.encode("utf-8")) > MAX_TEMPLATE_BYTES:
            raise ValueError(f"a template is at most {MAX_TEMPLATE_BYTES} bytes")
        return v

    def values(self) -> dict[str, Any]:
        """The requested values, by parameter name."""
        return {p.name: p.value for p in self.params}


# -- from the model's spec to a program description -------------------------------------------------


def _colour(value: Any) -> str | None:
    """``#rrggbb`` (lower case) for a hex colour, else None."""
    if not isinstance(value, str) or not _HEX.match(value.strip().lower()):
        return None
    c = value.strip().lower()
    return c if len(c) == 7 else "#" + "".join(ch * 2 for ch in c[1:])


def _number_grid(value: float, integral: bool) -> tuple[tuple[float, float], float]:
    """The range a number is re-drawn in and the grain it is rounded to (as round as the original)."""
    lo, hi = sorted((round(value * LOW, 9), round(value * HIGH, 9)))
    if integral:
        step, t = 1, abs(int(value))
        while t and t % 10 == 0:
            step, t = step * 10, t // 10
        while step > 1 and (hi - lo) / step < 4:  # keep a few values to choose from
            step //= 10
        return (lo, hi), step
    text = repr(float(value))
    decimals = len(text.partition(".")[2]) if "e" not in text else 6
    return (lo, hi), 10.0**-decimals


def normalise_param(name: str, type_: str, value: Any, drift: str | None) -> Param:
    """A declared parameter made consistent: its value typed, its drift fitting its type, its range."""
    kind: str | None = drift if drift in DRIFT_KINDS else None
    if type_ == "colour":
        colour = _colour(value)
        if colour is None:
            return Param(name=name, type="string", value=str(value))
        return Param(name=name, type="colour", value=colour, drift="colour" if kind else None)
    if type_ == "key":
        key = str(value).strip().lower()
        if len(key) != 1 or not key.isalpha() or not key.isascii():
            return Param(name=name, type="string", value=str(value))
        return Param(name=name, type="key", value=key, drift="key" if kind else None)
    if type_ in ("number", "int") and isinstance(value, (int, float)) and not isinstance(value, bool):
        integral = type_ == "int" or isinstance(value, int)
        number: int | float = int(round(value)) if integral else float(value)
        if kind not in ("count", "size", "speed") or number <= 0:
            kind = None
        bounds, grain = _number_grid(number, integral)
        return Param.model_validate(
            {"name": name, "type": "int" if integral else "number", "value": number, "drift": kind}
            | {"range": bounds, "grain": grain}
        )
    return Param(name=name, type="string", value=str(value))


def describe(spec: dict[str, Any]) -> Program:
    """The program description of a validated spec (no template yet).

    ``spec``: ``title``, ``summary``, ``params`` (name, type, value, drift), ``features`` and
    ``user_actions`` (requested), ``extras`` (with ``action``). A drifting parameter belongs to the
    summary when the summary names it, else to the first feature whose text does (requested ones
    first); one no text names cannot drift (a wrong value would not contradict the prompt).
    """
    features = [ProgramFeature(key=f["key"], text=f["text"], is_action=False, requested=True) for f in spec["features"]]
    features += [
        ProgramFeature(key=f["key"], text=f["text"], is_action=True, requested=True) for f in spec["user_actions"]
    ]
    features += [
        ProgramFeature(key=f["key"], text=f["text"], is_action=bool(f.get("action")), requested=False)
        for f in spec["extras"]
    ]
    params = []
    for raw in spec["params"]:
        p = normalise_param(raw["name"], raw["type"], raw["value"], raw.get("drift"))
        if p.drift is not None:
            if p.name in PLACEHOLDER.findall(spec["summary"]):
                p.feature = None
            else:
                naming = [f for f in features if p.name in PLACEHOLDER.findall(f.text)]
                owner = next((f.key for f in sorted(naming, key=lambda f: not f.requested)), None)
                if owner is None:
                    p.drift = None
                p.feature = owner
        params.append(p)
    return Program(title=spec["title"], summary=spec["summary"], features=features, params=params)


# -- the prompt, the configurations and the answers -------------------------------------------------


def show(value: Any, type_: str) -> str:
    """A value as the prompt writes it (keys in upper case)."""
    if type_ == "key":
        return str(value).upper()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def render(text: str, program: Program, values: dict[str, Any]) -> str:
    """``text`` with every ``{name}`` replaced by the value of parameter ``name``."""
    types = {p.name: p.type for p in program.params}

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        return show(values[name], types[name]) if name in values else m.group(0)

    return PLACEHOLDER.sub(one, text)


def spec_request(program: Program) -> set[str]:
    """The features the spec requested."""
    return {f.key for f in program.features if f.requested}


def pick_request(program: Program, rng: random.Random) -> set[str]:
    """A task's request: as many display features and user actions as the spec requested, drawn among all."""
    out: set[str] = set()
    for is_action in (False, True):
        kind = [f.key for f in program.features if f.is_action == is_action]
        count = sum(1 for f in program.features if f.is_action == is_action and f.requested)
        out |= set(rng.sample(kind, min(count, len(kind))))
    return out


def owners(program: Program, asked: set[str]) -> dict[str, str | None]:
    """The parameters a task with request ``asked`` may drift, and the feature each belongs to (None: the summary)."""
    out: dict[str, str | None] = {}
    for p in program.params:
        if p.drift is None:
            continue
        if p.feature is None:
            out[p.name] = None
            continue
        owner = next(
            (f.key for f in program.features if f.key in asked and p.name in PLACEHOLDER.findall(f.text)), None
        )
        if owner is not None:
            out[p.name] = owner
    return out


def write_prompt(program: Program, values: dict[str, Any], asked: set[str] | None = None) -> str:
    """The prompt labellers read: the title, the summary, the requested features and user actions."""
    asked = spec_request(program) if asked is None else asked
    lines = [
        "Write one self-contained HTML page (inline CSS and JavaScript only, no external files or network "
        f"requests): {program.title}.",
        "",
        render(program.summary, program, values),
        "",
        "Features:",
    ]
    lines += [f"- {render(f.text, program, values)}" for f in program.features if f.key in asked and not f.is_action]
    lines += ["", "User actions:"]
    lines += [f"- {render(f.text, program, values)}" for f in program.features if f.key in asked and f.is_action]
    return "\n".join(lines) + "\n"


def config(program: Program, values: dict[str, Any], on: set[str], broken: set[str]) -> dict[str, Any]:
    """One answer's logical configuration: ``{"on": every feature, "broken": every action, "p": title and every
    parameter}`` (:func:`surface.seal` makes the page's opaque form)."""
    return {
        "on": {f.key: f.key in on for f in program.features},
        "broken": {f.key: f.key in broken for f in program.features if f.is_action},
        "p": {"title": program.title, **values},
    }


def faithful(program: Program, values: dict[str, Any] | None = None, asked: set[str] | None = None) -> dict[str, Any]:
    """The logical configuration of the faithful answer."""
    asked = spec_request(program) if asked is None else asked
    return config(program, program.values() if values is None else values, asked, set())


def _hues(colour: str) -> tuple[str, ...]:
    """The colour in each of :data:`HUES` hues, keeping its lightness and saturation (what a redraw gives;
    a grey stays itself)."""
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    _, light, sat = colorsys.rgb_to_hls(r, g, b)
    if sat < 0.15 or light < 0.06 or light > 0.94:
        return (colour,)
    out = []
    for hue in range(HUES):
        rgb = colorsys.hls_to_rgb(hue / HUES, light, sat)
        out.append("#" + "".join(f"{round(c * 255):02x}" for c in rgb))
    return tuple(dict.fromkeys(out))


def support(p: Param) -> Support | None:
    """The values parameter ``p`` takes over a program's instances (a wrong value is drawn among them)."""
    if p.type in ("int", "number") and p.range is not None and p.grain is not None:
        return Support(lo=p.range[0], hi=p.range[1], origin=0.0, grain=p.grain, integral=p.type == "int")
    if p.type == "colour":
        return Support(points=_hues(str(p.value)))
    return None


def ladder(
    program: Program, values: dict[str, Any], n: int, rng: random.Random, asked: set[str] | None = None
) -> list[Degradation]:
    """The rungs of an ``n``-answer task (:func:`dojo.synthetic.ladder.plan`); LadderError when none fits."""
    asked = spec_request(program) if asked is None else asked
    requested = [Item(f.key, f.is_action) for f in program.features if f.key in asked]
    extras = [Item(f.key, f.is_action) for f in program.features if f.key not in asked]
    params = {p.name: p for p in program.params}
    keys = [values[p.name] for p in program.params if p.type == "key"]

    def wrong(name: str) -> tuple[Any, Any]:
        kind = params[name].drift
        assert kind is not None
        avoid = keys if kind == "key" else ()
        return values[name], wrong_value(kind, values[name], rng, avoid=avoid, support=support(params[name]))

    drifts = list(owners(program, asked).items())
    last: LadderError | None = None
    for _ in range(8):  # the rung's picks are random: another draw may fit where one did not
        try:
            return plan(requested, extras, drifts, n, rng, wrong)
        except LadderError as exc:
            last = exc
    raise LadderError(str(last))


def answers(
    program: Program, values: dict[str, Any], n: int, rng: random.Random, asked: set[str] | None = None
) -> tuple[list[Degradation], list[str]]:
    """Each rung's damage and document: the one template with each rung's sealed configuration."""
    asked = spec_request(program) if asked is None else asked
    steps = ladder(program, values, n, rng, asked)
    configs = []
    for deg in steps:
        p = dict(values)
        for d in deg.drifted:
            p[d.param] = d.given
        configs.append(config(program, p, (asked - set(deg.removed)) | set(deg.added), set(deg.broken)))
    return steps, [surface.install(program.html, element) for element in surface.seal(configs, rng)]


#: Requests drawn for a task before falling back to the spec's own (when none carries the ladder).
REQUEST_DRAWS = 20


def build_task(
    program: Program, values: dict[str, Any], n: int, rng: random.Random, model: str, metadata: dict[str, Any]
) -> SyntheticTask:
    """A complete task from ``program`` with ``values`` and a request drawn among all its features.

    ``metadata`` adds to what every LLM task records.
    """
    for _ in range(REQUEST_DRAWS):
        asked = pick_request(program, rng)
        try:
            steps, docs = answers(program, values, n, rng, asked)
            break
        except LadderError:
            continue
    else:
        asked = spec_request(program)
        steps, docs = answers(program, values, n, rng, asked)
    return assemble_task(
        rng,
        steps,
        docs,
        model,
        write_prompt(program, values, asked),
        {
            "generator": "llm",
            **metadata,
            "params": values,
            "requested": [f.key for f in program.features if f.key in asked],
            "template": program.model_dump(mode="json"),
        },
    )


# -- checking the model's template ------------------------------------------------------------------


def finish(raw: str) -> str:
    """The model's template with :data:`surface.PRELUDE` in place of its ``const C = __DOJO_DECODE__;``."""
    return _DECODE_LINE.sub(lambda _: surface.PRELUDE, raw, count=1)


def _literal(value: Any, type_: str) -> re.Pattern[str] | None:
    """How a parameter's value would look written into the code, when that is worth checking."""
    if type_ == "colour":
        c = str(value)
        forms = [re.escape(c)]
        if c[1] == c[2] and c[3] == c[4] and c[5] == c[6]:
            forms.append(re.escape("#" + c[1] + c[3] + c[5]))
        return re.compile(r"(?<![\w#])(?:" + "|".join(forms) + r")(?![0-9a-f])", re.IGNORECASE)
    if type_ in ("int", "number") and isinstance(value, (int, float)) and abs(value) >= LITERAL_FLOOR:
        text = str(int(value)) if float(value).is_integer() else repr(float(value))
        return re.compile(r"(?<![\w.#])" + re.escape(text) + r"(?![\w]|\.\d)")
    return None


def template_error(raw: str, program: Program) -> str | None:
    """Why the model's template ``raw`` (with :data:`DECODE_SLOT`) cannot serve ``program``, or None."""
    from dojo.synthetic.validation import document_error

    if len(raw.encode("utf-8")) > MAX_TEMPLATE_BYTES:
        return f"the document has more than {MAX_TEMPLATE_BYTES} bytes"
    if raw.count(surface.MARKER) != 1:
        return f"the document must hold the line {surface.MARKER} exactly once (it holds it {raw.count(surface.MARKER)} times)"
    first_script = raw.lower().find("<script")
    if first_script < 0 or raw.index(surface.MARKER) > first_script:
        return f"{surface.MARKER} must stand in the body's markup before the first <script> element"
    if raw.count(DECODE_SLOT) != 1 or not _DECODE_LINE.search(raw) or raw.index(DECODE_SLOT) < first_script:
        return f"the script must begin with `const C = {DECODE_SLOT};`, written exactly once"
    code = raw.replace(DECODE_SLOT, "")
    m = _FLAG_READ.search(code)
    if m is not None:
        return (
            f"the program reads {m.group(0)}: C holds no readable flags; ask on(key) whether a feature is on and "
            "live(key) whether a user action works (both are defined by the first statement)"
        )
    for p in program.params:
        pattern = _literal(p.value, p.type)
        m = pattern.search(code) if pattern is not None else None
        if m is not None:
            return (
                f"the document writes the value {m.group(0)} of parameter {p.name} as a literal: where it means "
                f"{p.name}, read C.p.{p.name} instead; where it is an unrelated constant, write it another way "
                "(an expression), so that no requested value appears in the code"
            )
        if not re.search(rf"\b{re.escape(p.name)}\b", code):
            return f"the program never reads parameter {p.name}: use C.p.{p.name}"
    for f in program.features:
        if not re.search(rf"\b{re.escape(f.key)}\b", code):
            what = f'runs only while on("{f.key}")' + (
                f' and does nothing unless live("{f.key}")' if f.is_action else ""
            )
            return f"the program never looks up feature {f.key}: implement it so that it {what}"
    html = surface.install(finish(raw), surface.seal([faithful(program)], random.Random(0))[0])
    return document_error(html)


# -- per-miner instances ----------------------------------------------------------------------------


def _recolour(value: str, rng: random.Random, used: set[int]) -> str:
    """The colour with one of :data:`HUES` hues, keeping its lightness and saturation (greys stay)."""
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (1, 3, 5))
    h, light, sat = colorsys.rgb_to_hls(r, g, b)
    if sat < 0.15 or light < 0.06 or light > 0.94:
        return value
    own = round(h * HUES) % HUES
    hue = rng.choice([i for i in range(HUES) if i not in used and i != own] or [own])
    used.add(hue)
    rgb = colorsys.hls_to_rgb(hue / HUES, light, sat)
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)


def _renumber(p: Param, rng: random.Random) -> int | float:
    assert isinstance(p.value, (int, float)) and p.range is not None and p.grain is not None
    lo, hi = p.range
    k_lo, k_hi = math.ceil(lo / p.grain - 1e-9), math.floor(hi / p.grain + 1e-9)
    if k_lo > k_hi:
        return p.value
    k = rng.randint(k_lo, k_hi)
    if p.type == "int":
        v = int(round(k * p.grain))
        return max(1, v) if p.value >= 1 else v
    decimals = max(0, round(-math.log10(p.grain)))
    return round(k * p.grain, decimals)


def redraw(program: Program, rng: random.Random) -> dict[str, Any]:
    """New values for every parameter: numbers in their range on their grain, colours from the hue
    palette, keys among the unused shortcut letters; strings stay."""
    values: dict[str, Any] = {}
    hues: set[int] = set()
    chosen: list[str] = []
    for p in program.params:
        if p.type in ("int", "number"):
            values[p.name] = _renumber(p, rng)
        elif p.type == "colour":
            values[p.name] = _recolour(str(p.value), rng, hues)
        elif p.type == "key":
            free = [k for k in KEYS if k not in chosen] or [str(p.value)]
            key = rng.choice(free)
            chosen.append(key)
            values[p.name] = key
        else:
            values[p.name] = p.value
    return values


def _instance_rng(task: SyntheticTask, seed: int) -> random.Random:
    digest = hashlib.sha256(f"dojo-llm-instance|{task.task_id}|{seed}".encode()).digest()
    return random.Random(int.from_bytes(digest[:16], "big"))


def instantiate(task: SyntheticTask, seed: int) -> SyntheticTask:
    """A fresh instance of an LLM task for ``seed``: new values, prompt, ladder, ids; no model call.

    Deterministic for ``(task, seed)``. Raises :class:`InstanceError` for a task without a usable
    template (an older task, or metadata that does not describe a program).
    """
    entry = task.metadata.get("template")
    if not isinstance(entry, dict):
        raise InstanceError(f"LLM task {task.task_id} left no template to make instances from")
    try:
        program = Program.model_validate(entry)
        if program.html.count(surface.MARKER) != 1:
            raise ValueError(f"its template does not hold {surface.MARKER} once")
        if surface.PRELUDE not in program.html:
            raise ValueError("its template does not read the current configuration form")
        rng = _instance_rng(task, seed)
        values = redraw(program, rng)
        meta: dict[str, Any] = {
            "family": task.metadata.get("family", "llm"),
            "seed": seed,
            "instance_of": str(task.task_id),
            "tokens": {"prompt": 0, "completion": 0},
            "cost_usd": 0.0,
        }
        model = str(task.metadata.get("model") or task.responses[0].model)
        return build_task(program, values, len(task.responses), rng, model, meta)
    except Exception as exc:  # noqa: BLE001 - whatever the metadata holds, the caller gets an InstanceError
        raise InstanceError(f"LLM task {task.task_id} cannot be instantiated: {exc}") from exc
