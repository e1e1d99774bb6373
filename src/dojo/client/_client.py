"""``DojoClient`` and ``AsyncDojoClient``: the validator's external-task API from Python (httpx)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx

from dojo.client._files import FetchSummary, write_results
from dojo.client._models import BulkReport, RowError, Submitted, TaskIn, task_from_row
from dojo.errors import DojoError

DEFAULT_URL = "http://127.0.0.1:1888"
TOKEN_ENV = "DOJO_VALIDATOR_EXTERNAL_API_TOKEN"
BATCH = 200
PREFIX = "/api/v1/external-tasks"

Rows = Iterable[tuple[int, Any]]


class ApiError(DojoError):
    """The validator refused a request or could not be reached."""


def _token(token: str | None) -> str:
    token = token or os.environ.get(TOKEN_ENV) or os.environ.get("DOJO_EXTERNAL_API_TOKEN")
    if not token:
        raise DojoError(f"no external-task API token: pass token= / --token or set {TOKEN_ENV}")
    return token


def _check(r: httpx.Response) -> Any:
    if r.status_code >= 400:
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text
        raise ApiError(f"{r.request.method} {r.request.url.path}: HTTP {r.status_code}: {detail}")
    return r.json()


def _chunks(rows: Rows, report: BulkReport, size: int) -> Iterator[list[tuple[int, TaskIn]]]:
    """Valid tasks in batches; invalid rows go straight to ``report.errors``."""
    batch: list[tuple[int, TaskIn]] = []
    for n, data in rows:
        try:
            if isinstance(data, Exception):
                raise RowError(n, str(data))
            batch.append((n, task_from_row(n, data)))
        except RowError as exc:
            report.errors.append(exc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _body(batch: list[tuple[int, TaskIn]]) -> dict[str, Any]:
    return {"tasks": [t.model_dump(mode="json", exclude_none=True) for _, t in batch]}


def _record(batch: list[tuple[int, TaskIn]], reply: dict[str, Any], report: BulkReport) -> None:
    for res in reply["results"]:
        row = batch[res["index"]][0]
        if "error" in res:
            report.errors.append(RowError(row, res["error"]))
        else:
            report.ids[row] = res["id"]
            if res["created"]:
                report.created += 1
            else:
                report.existing += 1


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
            raise ApiError(f"cannot reach the validator at {self._http.base_url}: {exc}") from exc

    def submit(self, task: TaskIn | dict[str, Any]) -> Submitted:
        """One task (a :class:`TaskIn` or a row dict); the same ``client_id`` again returns the first request."""
        t = task if isinstance(task, TaskIn) else task_from_row(1, task)
        return _submitted(self._do("POST", PREFIX, json=t.model_dump(mode="json", exclude_none=True)))

    def submit_many(
        self, rows: Rows, batch_size: int = BATCH, progress: Callable[[int], None] | None = None
    ) -> BulkReport:
        """Many ``(row number, row)``; bad rows are reported (row and field) and never stop the good ones."""
        report = BulkReport()
        for batch in _chunks(rows, report, batch_size):
            _record(batch, self._do("POST", f"{PREFIX}/batch", json=_body(batch)), report)
            if progress:
                progress(len(batch))
        return report

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
            raise ApiError(f"cannot reach the validator at {self._http.base_url}: {exc}") from exc

    async def submit(self, task: TaskIn | dict[str, Any]) -> Submitted:
        t = task if isinstance(task, TaskIn) else task_from_row(1, task)
        return _submitted(await self._do("POST", PREFIX, json=t.model_dump(mode="json", exclude_none=True)))

    async def submit_many(
        self, rows: Rows, batch_size: int = BATCH, progress: Callable[[int], None] | None = None
    ) -> BulkReport:
        report = BulkReport()
        for batch in _chunks(rows, report, batch_size):
            _record(batch, await self._do("POST", f"{PREFIX}/batch", json=_body(batch)), report)
            if progress:
                progress(len(batch))
        return report

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
