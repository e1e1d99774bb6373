"""Thin HTTP handlers: parse, call one context function, wrap the reply."""

from __future__ import annotations

from typing import Any

from dojo.worker_api.schemas import Reply

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
