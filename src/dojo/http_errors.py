"""One mapping of errors to HTTP replies, shared by every Dojo app.

Handlers raise :class:`~dojo.errors.ApiError` (a status and a message saying what was wrong and
what was expected); FastAPI's own refusals (404, 405, a body that does not parse, a model that does
not validate), a Redis outage and any unexpected failure are mapped here too, once. Every refusal
leaves in the app's reply shape, also defined here:

* :data:`ENVELOPE` — ``{"success": false, "body": null, "error": "…"}``, the worker API's
  envelope (successes are :func:`ok`).
* :data:`DETAIL` — ``{"detail": "…"}``, FastAPI's shape, kept by the apps whose callers read it:
  the miner's signed endpoints (validators read ``detail``), the synthetic API and the
  validator's external-task API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dojo.errors import ApiError
from dojo.logs import log

__all__ = [
    "DETAIL",
    "ENVELOPE",
    "REDIS_RETRY_AFTER_S",
    "ApiError",
    "DetailReply",
    "ReplyShape",
    "install_error_handlers",
    "ok",
    "validation_message",
]

logger = logging.getLogger(__name__)
REDIS_RETRY_AFTER_S = 2

ReplyShape = Callable[[int, str, "dict[str, str] | None"], JSONResponse]
"""Builds an app's error reply from a status, a message and optional headers."""


class DetailReply(BaseModel):
    """A refusal in FastAPI's shape (for OpenAPI): what was wrong and what was expected."""

    detail: str


def ok(body: Any) -> dict[str, Any]:
    """A success envelope around ``body``."""
    return {"success": True, "body": body, "error": None}


def _envelope(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"success": False, "body": None, "error": message}, status_code=status, headers=headers)


def _detail(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


ENVELOPE: ReplyShape = _envelope
DETAIL: ReplyShape = _detail


def validation_message(exc: RequestValidationError) -> str:
    """One line naming each bad field (up to ten), or saying the body is not JSON."""
    parts = []
    for err in exc.errors()[:10]:
        if err.get("type") == "json_invalid":
            parts.append(f"the body is not valid JSON ({err.get('ctx', {}).get('error', 'decode error')})")
            continue
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(
    app: FastAPI,
    reply: ReplyShape = ENVELOPE,
    describe: Callable[[RequestValidationError], str] = validation_message,
) -> None:
    """Every error leaves in ``reply``'s shape: ApiError, HTTP errors, validation errors, Redis, the unexpected.

    ``describe`` words a request that does not validate (an API may keep the words it documented).
    """

    async def api_error(_req: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return reply(exc.status, exc.message, exc.headers)

    async def http_error(_req: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = str(exc.detail)
        if exc.status_code == 400 and message == "There was an error parsing the body":  # FastAPI's words
            message = "the request body could not be parsed: send UTF-8 JSON with Content-Type: application/json"
        return reply(exc.status_code, message, getattr(exc, "headers", None))

    async def validation_error(_req: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return reply(422, describe(exc), None)

    async def shared_store_down(req: Request, exc: Exception) -> JSONResponse:
        # Redis (nonces, rate limits, buffers) down, or still saturated after the pool's wait: try again shortly
        log(logger, "request.redis_unavailable", level=logging.WARNING, path=req.url.path, error=repr(exc))
        return reply(
            503,
            "the session store (Redis) is busy or unreachable: retry in a few seconds",
            {"Retry-After": str(REDIS_RETRY_AFTER_S)},
        )

    async def unexpected(req: Request, exc: Exception) -> JSONResponse:
        log(logger, "request.failed", level=logging.ERROR, path=req.url.path, error=repr(exc))
        return reply(500, "internal error", None)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(RedisError, shared_store_down)
    app.add_exception_handler(Exception, unexpected)
