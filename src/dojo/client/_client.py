"""``DojoClient`` and ``AsyncDojoClient``: the validator's external-task API from Python (httpx)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from dojo.client._batches import BATCH, Batch, batches, by_row, record, too_large
from dojo.client._files import FetchSummary, write_results
from dojo.client._models import BulkReport, Submitted, TaskIn, task_from_row
from dojo.errors import DojoError, ExternalApiError

DEFAULT_URL = "http://127.0.0.1:1888"
TOKEN_ENV = "DOJO_VALIDATOR_EXTERNAL_API_TOKEN"
PREFIX = "/api/v1/external-tasks"

Rows = Iterable[tuple[int, Any]]
BATCH_URL = f"{PREFIX}/batch"
JSON = {"Content-Type": "application/json"}


def _token(token: str | None) -> str:
    token = token or os.environ.get(TOKEN_ENV) or os.environ.get("DOJO_EXTERNAL_API_TOKEN")
    if not token:
        raise DojoError(f"no external-task API token: pass token= / --token or set {TOKEN_ENV}")
    return token


def _detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail", r.text))
    except (ValueError, AttributeError):
        return r.text


def _check(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        raise ExternalApiError(f"{r.request.method} {r.request.url.path}: HTTP {r.status_code}: {_detail(r)}")
    return r.json()


def _done(
    batch: Batch,
    results: list[tuple[int, dict[str, Any]]],
    report: BulkReport,
    progress: Callable[[int], None] | None,
) -> None:
    record(results, report)
    if progress:
        progress(batch.consumed)


def _submitted(data: dict[str, Any]) -> Submitted:
    return Submitted(id=data["id"], state=data["state"], created=data["created"], client_id=data.get("client_id"))


class DojoClient:
    """Submit tasks for human judgement, follow them, and fetch the labelled results (blocking)."""

    def __init__(
        self, url: str = DEFAULT_URL, token: str | None = None, timeout: float = 60.0, **httpx_kwargs: Any
    ) -> None:
        headers = {"Authorization": f"Bearer {_token(token)}"}
        self._http = httpx.Client(base_url=url, headers=headers, timeout=timeout, **httpx_kwargs)

    def __enter__(self) -> DojoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _do(self, method: str, path: str, **kw: Any) -> Any:
        try:
            return _check(self._http.request(method, path, **kw))
        except httpx.TransportError as exc:
            raise ExternalApiError(f"cannot reach the validator at {self._http.base_url}: {exc}") from exc

    def submit(self, task: TaskIn | dict[str, Any]) -> Submitted:
        """One task (a :class:`TaskIn` or a row dict); the same ``client_id`` again returns the first request."""
        t = task if isinstance(task, TaskIn) else task_from_row(1, task)
        return _submitted(self._do("POST", PREFIX, json=t.model_dump(mode="json", exclude_none=True)))

    def submit_many(
        self, rows: Rows, batch_size: int = BATCH, progress: Callable[[int], None] | None = None
    ) -> BulkReport:
        """Many ``(row number, row)`` through the batch endpoint (up to ``batch_size`` tasks, one transaction per
        request); bad rows are reported (row and field) and never stop the good ones. ``progress(n)`` is told
        of every ``n`` input rows done. The next batch is checked and serialised while one is on its way."""
        report = BulkReport()
        with ThreadPoolExecutor(1, thread_name_prefix="dojo-submit") as sender:
            inflight: tuple[Batch, Future[list[tuple[int, dict[str, Any]]]]] | None = None
            try:
                for batch in batches(rows, report, batch_size):
                    sending = (batch, sender.submit(self._send_batch, batch))
                    if inflight is not None:
                        _done(inflight[0], inflight[1].result(), report, progress)
                    inflight = sending
                if inflight is not None:
                    _done(inflight[0], inflight[1].result(), report, progress)
            except BaseException:
                if inflight is not None:
                    inflight[1].cancel()
                raise
        report.errors.sort(key=lambda e: e.row)
        return report

    def _send_batch(self, batch: Batch) -> list[tuple[int, dict[str, Any]]]:
        if not batch.docs:
            return []
        try:
            r = self._http.post(BATCH_URL, content=batch.body(), headers=JSON)
        except httpx.TransportError as exc:
            raise ExternalApiError(f"cannot reach the validator at {self._http.base_url}: {exc}") from exc
        if r.status_code == 413:  # the validator takes smaller bodies than this client assumed
            if len(batch.docs) == 1:
                return too_large(batch, _detail(r))
            first, second = batch.halves()
            return self._send_batch(first) + self._send_batch(second)
        return by_row(batch, _check(r))

    def get(self, request_id: str) -> dict[str, Any]:
        """One request: its state and, when done, its result."""
        return dict(self._do("GET", f"{PREFIX}/{request_id}"))

    def summary(self, window_s: float = 900.0) -> dict[str, Any]:
        """Counts by state, the recent completion rate and the ETA of what is pending."""
        return dict(self._do("GET", f"{PREFIX}/summary", params={"window_s": window_s}))

    def iter_tasks(self, state: str | None = "done", page: int = 200) -> Iterator[dict[str, Any]]:
        """Every request in ``state`` with its result and per-labeller values, page by page."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page, **({"state": state} if state else {})}
            if after:
                params["after"] = after
            data = self._do("GET", PREFIX, params=params)
            yield from data["items"]
            after = data["next"]
            if after is None:
                return

    def fetch(self, out: Path, fmt: str = "parquet", min_margin: float | None = None) -> FetchSummary:
        """Write every finished task (scores, agreement, per-labeller values) and its pairs under ``out``."""
        return write_results(self.iter_tasks("done"), Path(out), fmt, min_margin)


class AsyncDojoClient:
    """The same as :class:`DojoClient` for asyncio code (e.g. another subnet's validator)."""

    def __init__(
        self, url: str = DEFAULT_URL, token: str | None = None, timeout: float = 60.0, **httpx_kwargs: Any
    ) -> None:
        headers = {"Authorization": f"Bearer {_token(token)}"}
        self._http = httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout, **httpx_kwargs)

    async def __aenter__(self) -> AsyncDojoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _do(self, method: str, path: str, **kw: Any) -> Any:
        try:
            return _check(await self._http.request(method, path, **kw))
        except httpx.TransportError as exc:
            raise ExternalApiError(f"cannot reach the validator at {self._http.base_url}: {exc}") from exc

    async def submit(self, task: TaskIn | dict[str, Any]) -> Submitted:
        t = task if isinstance(task, TaskIn) else task_from_row(1, task)
        return _submitted(await self._do("POST", PREFIX, json=t.model_dump(mode="json", exclude_none=True)))

    async def submit_many(
        self, rows: Rows, batch_size: int = BATCH, progress: Callable[[int], None] | None = None
    ) -> BulkReport:
        """As :meth:`DojoClient.submit_many`; rows are read, checked and serialised in a thread, so the event
        loop stays free, the next batch while one is on its way."""
        report = BulkReport()
        pending = batches(rows, report, batch_size)
        inflight: tuple[Batch, asyncio.Task[list[tuple[int, dict[str, Any]]]]] | None = None
        try:
            while True:
                batch = await asyncio.to_thread(next, pending, None)
                if inflight is not None:
                    _done(inflight[0], await inflight[1], report, progress)
                    inflight = None
                if batch is None:
                    break
                inflight = (batch, asyncio.create_task(self._send_batch(batch)))
        finally:
            if inflight is not None:
                inflight[1].cancel()
        report.errors.sort(key=lambda e: e.row)
        return report

    async def _send_batch(self, batch: Batch) -> list[tuple[int, dict[str, Any]]]:
        if not batch.docs:
            return []
        try:
            r = await self._http.post(BATCH_URL, content=batch.body(), headers=JSON)
        except httpx.TransportError as exc:
            raise ExternalApiError(f"cannot reach the validator at {self._http.base_url}: {exc}") from exc
        if r.status_code == 413:
            if len(batch.docs) == 1:
                return too_large(batch, _detail(r))
            first, second = batch.halves()
            return await self._send_batch(first) + await self._send_batch(second)
        return by_row(batch, _check(r))

    async def get(self, request_id: str) -> dict[str, Any]:
        return dict(await self._do("GET", f"{PREFIX}/{request_id}"))

    async def summary(self, window_s: float = 900.0) -> dict[str, Any]:
        return dict(await self._do("GET", f"{PREFIX}/summary", params={"window_s": window_s}))

    async def iter_tasks(self, state: str | None = "done", page: int = 200) -> AsyncIterator[dict[str, Any]]:
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page, **({"state": state} if state else {})}
            if after:
                params["after"] = after
            data = await self._do("GET", PREFIX, params=params)
            for item in data["items"]:
                yield item
            after = data["next"]
            if after is None:
                return

    async def fetch(self, out: Path, fmt: str = "parquet", min_margin: float | None = None) -> FetchSummary:
        items = [item async for item in self.iter_tasks("done")]  # the writer is synchronous: pages first
        return write_results(items, Path(out), fmt, min_margin)
