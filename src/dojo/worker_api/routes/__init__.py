"""Thin HTTP handlers: parse, call one context function, wrap the reply."""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi.responses import Response

from dojo.http_errors import ok
from dojo.worker_api.schemas import Reply

__all__ = ["ERRORS", "ok_json"]


def ok_json(body: Any) -> Response:
    """A success envelope around ``body``, serialised here (pydantic-core: datetimes as FastAPI writes them).

    For the labeller's hot paths, whose bodies the contexts build from validated rows: FastAPI would
    validate the dict against the route's ``response_model`` (kept for the OpenAPI schema) and encode it
    again, which cost more than the query. ``tests/worker_api/test_replies.py`` checks both agree."""
    return Response(pydantic_core.to_json(ok(body)), media_type="application/json")


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Reply[None], "description": text}
    for code, text in [
        (401, "Not authenticated"),
        (403, "Forbidden"),
        (404, "Not found"),
        (409, "Conflict"),
        (410, "Gone"),
        (422, "Invalid request"),
        (429, "Too many requests"),
        (503, "Shared store (Redis) busy or unreachable, or the server is starting: retry after Retry-After"),
    ]
}
