"""The LLM generator: question, answer and degradations through any OpenAI-compatible chat endpoint.

Uses the ``openai`` SDK with a configurable base URL (OpenRouter, Together, OpenAI, a local server).
Every call asks for a JSON object; timeouts, HTTP 429/5xx, connection errors and malformed JSON are
retried with exponential backoff, other HTTP errors (401, 403, 400, 404) fail at once. Tokens and
cost are counted per task. Each document is validated; a failing one is repaired once by sending the
model the error, else dropped (the faithful answer failing drops the whole task).
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import openai
from pydantic import BaseModel, Field, ValidationError, field_validator

from dojo.config import SyntheticSettings
from dojo.errors import DojoError
from dojo.logs import log
from dojo.synthetic import llm_prompts as prompts
from dojo.synthetic.ladder import LADDER, Degradation, plan
from dojo.synthetic.models import SyntheticResponse, SyntheticTask
from dojo.synthetic.validation import document_error

logger = logging.getLogger(__name__)
RETRYABLE = (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError)


class LLMError(DojoError):
    """The endpoint could not produce a usable task (after retries, repair and dropping)."""


class _Item(BaseModel):
    key: str = Field(min_length=1, max_length=60)
    text: str = Field(min_length=3, max_length=600)

    @field_validator("key")
    @classmethod
    def _slug(cls, v: str) -> str:
        return re.sub(r"[^a-z0-9_]+", "_", v.strip().lower()).strip("_") or "item"


class Spec(BaseModel):
    """The question as the model wrote it."""

    title: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=10, max_length=2000)
    features: list[_Item] = Field(min_length=2, max_length=6)
    user_actions: list[_Item] = Field(min_length=2, max_length=6)
    extras: list[_Item] = Field(min_length=1, max_length=4)


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

    def _document(self, messages: list[dict[str, str]], usage: Usage) -> str | None:
        """A validated document, repaired once if needed; None when it cannot be made valid."""
        html = self._chat(messages, usage, _Doc).html
        err = document_error(html)
        if err is None:
            return html
        usage.repairs += 1
        log(logger, "llm.repair", logging.WARNING, error=err[:200])
        try:
            html = self._chat(prompts.repair(html, err), usage, _Doc).html
        except LLMError as exc:
            log(logger, "llm.repair_failed", logging.WARNING, error=str(exc)[:200])
            return None
        err = document_error(html)
        if err is not None:
            log(logger, "llm.dropped", logging.WARNING, error=err[:200])
            return None
        return html

    # -- a whole task ------------------------------------------------------------------------
    def generate(self) -> SyntheticTask:
        """One task: spec, faithful answer, then one variant per ladder step (invalid variants dropped)."""
        usage = Usage()
        topic = self.rng.choice(prompts.TOPICS)
        spec_model = self._chat(prompts.question(topic), usage, Spec)
        spec = spec_model.model_dump()
        _dedupe_keys(spec)
        texts = {i["key"]: i["text"] for group in ("features", "user_actions", "extras") for i in spec[group]}
        requested = [i["key"] for i in spec["features"]] + [i["key"] for i in spec["user_actions"]]
        actions = [i["key"] for i in spec["user_actions"]]
        steps = plan(requested, actions, [i["key"] for i in spec["extras"]], self.n, self.rng)
        base = self._document(prompts.answer(spec), usage)
        if base is None:
            raise LLMError("the faithful answer failed validation even after a repair; task dropped")
        docs: list[tuple[Degradation, str]] = [(steps[0], base)]
        for deg in steps[1:]:
            try:
                html = self._document(prompts.degrade(spec, base, deg, texts), usage)
            except LLMError as exc:
                log(logger, "llm.variant_dropped", logging.WARNING, step=deg.step, error=str(exc)[:200])
                continue
            if html is None or html == base or any(html == d for _, d in docs):
                continue
            docs.append((deg, html))
        if len(docs) < 2:
            raise LLMError("fewer than two valid answers; task dropped")
        return self._task(spec, topic, docs, usage)

    def _task(
        self, spec: dict[str, Any], topic: str, docs: list[tuple[Degradation, str]], usage: Usage
    ) -> SyntheticTask:
        responses = []
        ladder = []
        for rank, (deg, html) in enumerate(docs):  # ranks stay dense when a variant was dropped
            cid = uuid.UUID(int=self.rng.getrandbits(128), version=4)
            responses.append(
                SyntheticResponse(completion_id=cid, content=html, model=self.s.llm_model, ladder_step=rank)
            )
            ladder.append(
                {
                    "completion_id": str(cid),
                    "step": deg.step,
                    "rank": rank,
                    "meaning": LADDER[deg.step].meaning,
                    "removed": list(deg.removed),
                    "broken": list(deg.broken),
                    "added": list(deg.added),
                }
            )
        truth = {r.completion_id: r.ladder_step for r in responses}
        self.rng.shuffle(responses)
        prompt = (
            f"Write one self-contained HTML page (inline CSS and JavaScript only, no external files or network "
            f"requests): {spec['title']}.\n\n"
            + re.sub(r"^- \[[a-z0-9_]+\] ", "- ", prompts.spec_text(spec), flags=re.MULTILINE)
        )
        return SyntheticTask(
            task_id=uuid.UUID(int=self.rng.getrandbits(128), version=4),
            prompt=prompt,
            responses=responses,
            ground_truth=truth,
            metadata={
                "generator": "llm",
                "family": topic,
                "params": {"title": spec["title"]},
                "spec": spec,
                "requested": [i["key"] for i in spec["features"] + spec["user_actions"]],
                "ladder": ladder,
                "model": self.s.llm_model,
                "tokens": {"prompt": usage.prompt_tokens, "completion": usage.completion_tokens},
                "cost_usd": usage.cost(self.s),
                "calls": usage.calls,
                "retries": usage.retries,
                "repairs": usage.repairs,
                "dropped": self.n - len(docs),
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
