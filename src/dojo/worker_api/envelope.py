"""The reply shape ``{success, body, error}`` and the one mapping of errors to HTTP statuses."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from dojo.logs import log

logger = logging.getLogger("dojo.worker_api")
REDIS_RETRY_AFTER_S = 2


class ApiError(Exception):
    """A refusal with an HTTP status and a message saying what was wrong and what was expected."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def ok(body: Any) -> dict[str, Any]:
    """A success envelope around ``body``."""
    return {"success": True, "body": body, "error": None}


def _fail(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"success": False, "body": None, "error": message}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:10]:
        if err.get("type") == "json_invalid":
            parts.append(f"the body is not valid JSON ({err.get('ctx', {}).get('error', 'decode error')})")
            continue
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "invalid request: " + "; ".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    """Every error leaves as an envelope: ApiError, HTTP errors, validation errors, and the unexpected."""

    async def api_error(_req: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _fail(exc.status, exc.message, exc.headers)

    async def http_error(_req: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        message = str(exc.detail)
        if exc.status_code == 400 and message == "There was an error parsing the body":  # FastAPI's words
            message = "the request body could not be parsed: send UTF-8 JSON with Content-Type: application/json"
        return _fail(exc.status_code, message, getattr(exc, "headers", None))

    async def validation_error(_req: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return _fail(422, _validation_message(exc))

    async def shared_store_down(req: Request, exc: Exception) -> JSONResponse:
        # Redis (nonces, rate limits) down, or still saturated after the pool's wait: try again shortly
        log(logger, "request.redis_unavailable", level=logging.WARNING, path=req.url.path, error=repr(exc))
        return _fail(
            503,
            "the session store (Redis) is busy or unreachable: retry in a few seconds",
            {"Retry-After": str(REDIS_RETRY_AFTER_S)},
        )

    async def unexpected(req: Request, exc: Exception) -> JSONResponse:
        log(logger, "request.failed", level=logging.ERROR, path=req.url.path, error=repr(exc))
        return _fail(500, "internal error")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(RedisError, shared_store_down)
    app.add_exception_handler(Exception, unexpected)
