"""Requests no endpoint takes: answered by the API in its own envelope, not by the web UI's static files.

Without these, ``OPTIONS /api/v1/tasks`` reached the static mount at ``/`` and got its ``405`` with
``Allow: GET, HEAD``, and an unknown ``/api/...`` path got the static mount's 404.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.routing import Match, Mount

from dojo.errors import ApiError

router = APIRouter(include_in_schema=False)
_ALL = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _methods_for(request: Request) -> set[str]:
    """The methods the app's own endpoints (not the web UI's files, not this fallback) take on this path."""
    routes = [
        r
        for r in request.app.router.routes
        if not isinstance(r, Mount) and getattr(r, "original_router", None) is not router
    ]
    out: set[str] = set()
    for method in _ALL:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            out.add(method)
    return out


def _allow(methods: set[str]) -> str:
    return ", ".join(m for m in _ALL if m in methods | {"OPTIONS"})


@router.api_route("/api/{rest:path}", methods=_ALL)
async def api_fallback(request: Request, rest: str) -> Response:
    """OPTIONS: 204 with ``Allow``. Another method on a known path: 405 with ``Allow``. Unknown path: 404."""
    methods = _methods_for(request)
    if not methods:
        raise ApiError(404, f"no endpoint at {request.url.path[:200]}: the API is described at /openapi.json")
    if request.method == "OPTIONS":
        return Response(status_code=204, headers={"Allow": _allow(methods)})
    raise ApiError(
        405, f"{request.method} is not allowed here: use {_allow(methods)}", headers={"Allow": _allow(methods)}
    )


@router.options("/{rest:path}")
async def options_elsewhere(request: Request, rest: str) -> Response:
    """OPTIONS on /health, /metrics, /openapi.json and the web UI's files: 204 with what they accept."""
    methods = _methods_for(request) or {"GET", "HEAD"}
    return Response(status_code=204, headers={"Allow": _allow(methods)})
