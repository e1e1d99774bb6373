"""Map expected exceptions to one line for the user, never a traceback."""

from __future__ import annotations

from pydantic import ValidationError

from dojo.errors import ChainError, DojoError


def friendly(exc: BaseException) -> str | None:
    """A message for an expected failure, or None to let it propagate."""
    if isinstance(exc, (DojoError, ChainError)):
        return str(exc)
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
        return "invalid settings: " + "; ".join(parts)
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return None
