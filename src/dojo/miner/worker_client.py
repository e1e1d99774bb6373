"""The miner's client of its worker API: create tasks, read results, forward feedback.

Every call goes through :meth:`WorkerApiClient._call`, which retries connection errors,
timeouts and 5xx replies with exponential backoff, never a 4xx (the request itself is wrong,
repeating it cannot help), and turns every failure into one :class:`WorkerApiError` subclass.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dojo.errors import WorkerApiBadReply, WorkerApiError, WorkerApiRejected, WorkerApiUnavailable
from dojo.logs import log
from dojo.protocol import Feedback, LabellerResult, ShortStr, Task

logger = logging.getLogger(__name__)


class _CreatedBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    worker_task_id: ShortStr


class _ResultsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    results: list[LabellerResult] = Field(default_factory=list)


def _error_detail(response: httpx.Response) -> str:
    """The worker API's ``error`` (or FastAPI's ``detail``) from a failed reply, else its text."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(data, dict):
        for key in ("error", "detail"):
            if data.get(key):
                return str(data[key])[:500]
    return str(data)[:200]


class WorkerApiClient:
    """An async client of the worker API's miner endpoints, authenticated by ``X-API-KEY``.

    Use it as an async context manager, or call :meth:`aclose` when done.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        backoff_s: float = 0.2,
        max_backoff_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not api_key:
            raise WorkerApiError("no worker API key given: set DOJO_MINER_API_KEY (see `dojo keys api-key generate`)")
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"X-API-KEY": api_key, "User-Agent": "dojo-miner"},
            timeout=timeout,
            transport=transport,
        )

    async def __aenter__(self) -> WorkerApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying connections."""
        await self._http.aclose()

    def _delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter on the upper half, so many miners don't retry in step."""
        base = min(self.max_backoff_s, self.backoff_s * (2**attempt))
        return base / 2 + random.random() * base / 2

    async def _call(self, method: str, path: str, json: Any = None, *, attempts: int | None = None) -> Any:
        """Send one request with retries; return the envelope's ``body``."""
        tries = attempts or self.attempts
        last = "no attempt made"
        for attempt in range(tries):
            if attempt:
                await asyncio.sleep(self._delay(attempt - 1))
            try:
                response = await self._http.request(method, path, json=json)
            except httpx.TransportError as exc:  # connect refused, reset, timeouts, protocol errors
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                if response.status_code < 500:
                    break
                last = f"HTTP {response.status_code}: {_error_detail(response)}"
            log(logger, "worker_api.retry", logging.WARNING, method=method, path=path, attempt=attempt + 1, reason=last)
        else:
            raise WorkerApiUnavailable(f"worker API at {self.base_url} unavailable after {tries} attempts ({last})")
        if response.status_code >= 400:
            raise WorkerApiRejected(response.status_code, _error_detail(response))
        return self._unwrap(response)

    @staticmethod
    def _unwrap(response: httpx.Response) -> Any:
        try:
            data = response.json()
        except ValueError as exc:
            raise WorkerApiBadReply(f"worker API replied with non-JSON ({response.status_code})") from exc
        if not isinstance(data, dict) or "success" not in data:
            raise WorkerApiBadReply("worker API reply is not a {success, body, error} envelope")
        if not data["success"]:
            raise WorkerApiRejected(response.status_code, str(data.get("error") or "success=false"))
        return data.get("body")

    async def health(self, timeout: float = 2.0) -> bool:
        """True when ``GET /health`` answers 2xx (one attempt, short timeout; never raises)."""
        try:
            response = await self._http.get("/health", timeout=timeout)
        except httpx.HTTPError:
            return False
        return response.is_success

    async def create_task(self, task: Task, max_results: int | None = None) -> str:
        """Create ``task`` in the worker API; return its ``worker_task_id``."""
        payload = task.model_dump(mode="json")
        if max_results is not None:
            payload["max_results"] = max_results
        body = await self._call("POST", "/api/v1/tasks", payload)
        try:
            return _CreatedBody.model_validate(body).worker_task_id
        except ValidationError as exc:
            raise WorkerApiBadReply(f"worker API create reply has no valid worker_task_id: {body!r:.200}") from exc

    async def results(self, worker_task_id: str) -> list[LabellerResult]:
        """The labellers' results so far for one task."""
        body = await self._call("GET", f"/api/v1/tasks/{quote(worker_task_id, safe='')}/results")
        try:
            return _ResultsBody.model_validate(body).results
        except ValidationError as exc:
            raise WorkerApiBadReply(f"worker API results reply is malformed: {exc.errors()[0]['msg']}") from exc

    async def send_feedback(self, worker_task_id: str, feedback: Feedback) -> None:
        """Forward a validator's feedback so the worker API can grade the labellers."""
        await self._call(
            "POST", f"/api/v1/tasks/{quote(worker_task_id, safe='')}/feedback", feedback.model_dump(mode="json")
        )
