"""The LLM generator: a question and ONE program per task through any OpenAI-compatible chat endpoint.

Two model calls make a task: the *question* (a spec whose texts name every value as a placeholder
``{name}``, with the parameter schema: name, type, requested value, drift kind) and the *program*
(one template that reads every parameter from ``C.p``, gates every feature — requested and extra —
on ``on(key)`` and makes each action inert unless ``live(key)``; the page's flags are opaque, see
:mod:`dojo.synthetic.llm_program`).
The answers are then that template with the ladder's configurations sealed in, and the prompt is
written by us from the spec and the values: no model call per rung, none per miner's instance
(:func:`dojo.synthetic.instances.instantiate`).

Uses the ``openai`` SDK with a configurable base URL (OpenRouter, Together, OpenAI, a local server).
Every call asks for a JSON object; timeouts, HTTP 429/5xx, connection errors and malformed JSON
(including a spec that breaks the placeholder rules) are retried with exponential backoff, other
HTTP errors (401, 403, 400, 404) fail at once. Tokens and cost are counted per task. The template
is checked (configuration marker and decoder in place, no requested value written as a literal,
every parameter and feature used, the document valid once installed with the faithful
configuration); a failing one is repaired once by sending the model the error, else the task is
dropped.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import openai
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from dojo.config import SyntheticSettings
from dojo.errors import LLMError
from dojo.logs import log
from dojo.synthetic import llm_program
from dojo.synthetic import llm_prompts as prompts
from dojo.synthetic.ladder import LadderError
from dojo.synthetic.llm_program import PLACEHOLDER, Program
from dojo.synthetic.models import SyntheticTask

logger = logging.getLogger(__name__)
RETRYABLE = (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)


class _Item(BaseModel):
    key: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=3, max_length=600)

    @field_validator("key")
    @classmethod
    def _slug(cls, v: str) -> str:
        return re.sub(r"[^a-z0-9_]+", "_", v.strip().lower()).strip("_") or "item"


class _Extra(_Item):
    action: bool = False


class _Param(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    type: str
    value: int | float | str
    drift: str | None = None

    @field_validator("name")
    @classmethod
    def _ident(cls, v: str) -> str:
        slug = _name(v)
        if not slug or not slug[0].isalpha():
            raise ValueError(f"parameter name {v!r} is not a snake_case identifier")
        return slug

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        t = v.strip().lower()
        t = {"color": "colour", "integer": "int", "float": "number", "str": "string", "text": "string"}.get(t, t)
        if t not in llm_program.PARAM_TYPES:
            raise ValueError(f"parameter type {v!r} is not one of {', '.join(llm_program.PARAM_TYPES)}")
        return t

    @field_validator("drift", mode="before")
    @classmethod
    def _drift(cls, v: Any) -> str | None:
        if not isinstance(v, str):
            return None
        d = {"color": "colour", "none": "", "null": ""}.get(v.strip().lower(), v.strip().lower())
        return d if d in llm_program.DRIFT_KINDS else None


def _name(v: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", v.strip().lower()).strip("_")


# A placeholder as a model may write it ({Ball Count}); rewritten to the parameter's name ({ball_count}).
_LOOSE_PLACEHOLDER = re.compile(r"\{\s*([A-Za-z][\w -]{0,58})\s*\}")
# A value written into a text instead of a placeholder: a number standing alone, or a hex colour.
_LITERAL_IN_TEXT = re.compile(r"(?<![\w.#])\d+(?:\.\d+)?(?![\w])|#[0-9a-fA-F]{3,6}\b")


class Spec(BaseModel):
    """The question as the model wrote it: texts with ``{name}`` placeholders and the parameter schema."""

    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=10, max_length=2000)
    params: list[_Param] = Field(min_length=3, max_length=16)
    features: list[_Item] = Field(min_length=2, max_length=6)
    user_actions: list[_Item] = Field(min_length=2, max_length=6)
    extras: list[_Extra] = Field(min_length=2, max_length=4)

    @model_validator(mode="after")
    def _placeholders(self) -> Spec:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names) or "title" in names:
            raise ValueError("parameter names must be distinct and not 'title'")

        def tidy(text: str) -> str:
            return _LOOSE_PLACEHOLDER.sub(lambda m: "{" + _name(m.group(1)) + "}", text)

        self.summary = tidy(self.summary)
        for item in self.features + self.user_actions + self.extras:
            item.text = tidy(item.text)
        texts = [self.summary] + [i.text for i in self.features + self.user_actions + self.extras]
        for text in texts:
            unknown = [n for n in PLACEHOLDER.findall(text) if n not in names]
            if unknown:
                raise ValueError(f"placeholder {{{unknown[0]}}} names no declared parameter")
            m = _LITERAL_IN_TEXT.search(PLACEHOLDER.sub("", text))
            if m is not None:
                raise ValueError(f"{m.group(0)!r} is written as a literal in {text[:80]!r}: use a parameter")
        return self


class _Doc(BaseModel):
    html: str = Field(min_length=1)


@dataclass
class Usage:
    """Tokens and calls spent on one task."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    retries: int = 0
    repairs: int = 0

    def cost(self, s: SyntheticSettings) -> float:
        return round(
            self.prompt_tokens * s.llm_input_usd_per_mtok / 1e6
            + self.completion_tokens * s.llm_output_usd_per_mtok / 1e6,
            6,
        )


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_json(text: str | None) -> dict[str, Any]:
    """The JSON object in a reply (a surrounding code fence is tolerated); ValueError otherwise."""
    if not text:
        raise ValueError("empty reply")
    m = _FENCE.match(text)
    obj = json.loads(m.group(1) if m else text)
    if not isinstance(obj, dict):
        raise ValueError("reply is JSON but not an object")
    return obj


class LLMGenerator:
    """Makes :class:`SyntheticTask` objects with an OpenAI-compatible chat endpoint (synchronous; run it in a thread)."""

    name = "llm"

    def __init__(
        self,
        settings: SyntheticSettings,
        client: openai.OpenAI | None = None,
        rng: random.Random | None = None,
        n_responses: int = 4,
    ) -> None:
        if not settings.llm_api_key and client is None:
            raise LLMError("the llm generator needs an API key: set DOJO_SYNTHETIC_LLM_API_KEY")
        self.s = settings
        self.n = n_responses
        self.rng = rng or random.Random()
        self.client = client or openai.OpenAI(
            base_url=settings.llm_base_url, api_key=settings.llm_api_key, timeout=settings.llm_timeout_s, max_retries=0
        )

    # -- one chat call, retried -------------------------------------------------------------
    def _chat(self, messages: list[dict[str, str]], usage: Usage, model_cls: type[BaseModel]) -> Any:
        delay = self.s.llm_backoff_s
        last: Exception | None = None
        for attempt in range(1, max(1, self.s.llm_max_attempts) + 1):
            if attempt > 1:
                usage.retries += 1
                time.sleep(delay * (0.75 + 0.5 * self.rng.random()))
                delay *= 2
            try:
                reply = self.client.chat.completions.create(  # type: ignore[call-overload]
                    model=self.s.llm_model,
                    messages=messages,
                    response_format={"type": "json_object"},
                    temperature=self.s.llm_temperature,
                )
            except RETRYABLE as exc:
                last = exc
                log(logger, "llm.retry", logging.WARNING, attempt=attempt, reason=type(exc).__name__)
                continue
            except openai.APIStatusError as exc:
                raise LLMError(f"the LLM endpoint refused the request: HTTP {exc.status_code} {_short(exc)}") from exc
            usage.calls += 1
            if reply.usage is not None:
                usage.prompt_tokens += reply.usage.prompt_tokens or 0
                usage.completion_tokens += reply.usage.completion_tokens or 0
            try:
                text = reply.choices[0].message.content if reply.choices else None
                return model_cls.model_validate(parse_json(text))
            except (ValueError, ValidationError) as exc:
                last = exc
                log(logger, "llm.retry", logging.WARNING, attempt=attempt, reason="malformed reply", detail=_short(exc))
                continue
        raise LLMError(
            f"no usable reply from the LLM endpoint after {self.s.llm_max_attempts} attempts: "
            f"{type(last).__name__}: {_short(last)}"
        )

    def _checked(self, messages: list[dict[str, str]], usage: Usage, check: Callable[[str], str | None]) -> str | None:
        """A reply's ``html`` that passes ``check``, repaired once if needed; None when it cannot be made to."""
        html = self._chat(messages, usage, _Doc).html
        err = check(html)
        if err is None:
            return html
        usage.repairs += 1
        log(logger, "llm.repair", logging.WARNING, error=err[:200])
        try:
            html = self._chat(prompts.repair(html, err), usage, _Doc).html
        except LLMError as exc:
            log(logger, "llm.repair_failed", logging.WARNING, error=str(exc)[:200])
            return None
        err = check(html)
        if err is not None:
            log(logger, "llm.dropped", logging.WARNING, error=err[:200])
            return None
        return html

    # -- a whole task ------------------------------------------------------------------------
    def generate(self) -> SyntheticTask:
        """One task: the spec, the one program, then every rung's configuration sealed into it."""
        usage = Usage()
        topic = self.rng.choice(prompts.TOPICS)
        spec = self._chat(prompts.question(topic), usage, Spec).model_dump()
        _dedupe_keys(spec)
        program = llm_program.describe(spec)
        try:  # before paying for the program: can this spec carry the ladder at all?
            llm_program.ladder(program, program.values(), self.n, random.Random(self.rng.getrandbits(64)))
        except LadderError as exc:
            raise LLMError(f"the spec cannot carry the degradation ladder ({exc}); task dropped") from exc
        spec["params"] = [p.model_dump(include={"name", "type", "value"}) for p in program.params]  # as normalised
        raw = self._checked(
            prompts.program(spec, llm_program.faithful(program)),
            usage,
            lambda html: llm_program.template_error(html, program),
        )
        if raw is None:
            raise LLMError("the program failed validation even after a repair; task dropped")
        return self._task(program.model_copy(update={"html": llm_program.finish(raw)}), topic, usage)

    def _task(self, program: Program, topic: str, usage: Usage) -> SyntheticTask:
        return llm_program.build_task(
            program,
            program.values(),
            self.n,
            self.rng,
            self.s.llm_model,
            {
                "family": topic,
                "tokens": {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens},
                "cost_usd": usage.cost(self.s),
                "calls": usage.calls,
                "retries": usage.retries,
                "repairs": usage.repairs,
            },
        )


def _dedupe_keys(spec: dict[str, Any]) -> None:
    seen: set[str] = set()
    for group in ("features", "user_actions", "extras"):
        for item in spec[group]:
            key, i = item["key"], 2
            while key in seen:
                key, i = f"{item['key']}_{i}", i + 1
            item["key"] = key
            seen.add(key)


def _short(exc: object) -> str:
    return str(exc).replace("\n", " ")[:200]
