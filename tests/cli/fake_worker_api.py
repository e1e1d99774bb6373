"""A small stand-in for the worker API's miner endpoints (the contract in CONTRACTS.md), for the key shell tests.

It checks what matters to the client: the challenge is single use, the session signature is the
hotkey's sr25519 signature of exactly that challenge (verified with bittensor's ``Keypair``), and
key endpoints need the bearer token.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from bittensor.keyfiles import Keypair
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse


def _now() -> datetime:
    return datetime.now(timezone.utc)


def build_app(registered: set[str] | None = None) -> FastAPI:
    """The fake API; ``registered`` limits which hotkeys may log in (None: any)."""
    app = FastAPI()
    challenges: dict[str, str] = {}  # message -> hotkey
    tokens: dict[str, str] = {}  # token -> hotkey
    keys: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (hotkey, kind) -> keys
    app.state.sessions = tokens

    def ok(body: Any) -> dict[str, Any]:
        return {"success": True, "body": body, "error": None}

    def fail(status: int, message: str) -> JSONResponse:
        return JSONResponse({"success": False, "body": None, "error": message}, status_code=status)

    @app.get("/api/v1/miner/challenge")
    def challenge(hotkey: str) -> Any:
        expires = _now() + timedelta(minutes=5)
        message = f"Dojo miner login\nhotkey: {hotkey}\nnonce: {secrets.token_hex(16)}\nexpires: {expires.isoformat()}"
        challenges[message] = hotkey
        return ok({"message": message, "expires_at": expires.isoformat()})

    @app.post("/api/v1/miner/session")
    async def session(request: Request) -> Any:
        body = await request.json()
        hotkey, message, signature = body.get("hotkey"), body.get("message"), body.get("signature")
        if challenges.pop(message, None) != hotkey:
            return fail(401, "unknown or used challenge")
        try:
            valid = Keypair(ss58_address=hotkey).verify(message.encode(), bytes.fromhex(signature))
        except Exception:  # noqa: BLE001 - malformed signature is a refusal
            valid = False
        if not valid:
            return fail(401, "bad signature")
        if registered is not None and hotkey not in registered:
            return fail(403, "hotkey not registered on the subnet")
        token = secrets.token_urlsafe(24)
        tokens[token] = hotkey
        return ok({"token": token, "expires_at": (_now() + timedelta(hours=1)).isoformat()})

    def who(authorization: str | None) -> str | None:
        if not authorization or not authorization.startswith("Bearer "):
            return None
        return tokens.get(authorization.removeprefix("Bearer "))

    for kind in ("api-keys", "subscription-keys"):

        def routes(kind: str = kind) -> None:
            @app.get(f"/api/v1/miner/{kind}")
            def list_(authorization: str | None = Header(None)) -> Any:
                hotkey = who(authorization)
                if hotkey is None:
                    return fail(401, "missing or invalid session token")
                rows = keys.get((hotkey, kind), [])
                return ok({"keys": [{k: v for k, v in r.items() if k != "key"} for r in rows]})

            @app.post(f"/api/v1/miner/{kind}")
            async def create(request: Request, authorization: str | None = Header(None)) -> Any:
                hotkey = who(authorization)
                if hotkey is None:
                    return fail(401, "missing or invalid session token")
                body = await request.json() if await request.body() else {}
                key = ("dk_" if kind == "api-keys" else "ds_") + secrets.token_urlsafe(24)
                row = {"key": key, "prefix": key[:10], "name": body.get("name"), "created_at": _now().isoformat(),
                       "deleted_at": None}  # fmt: skip
                keys.setdefault((hotkey, kind), []).append(row)
                return ok({"key": key, "prefix": row["prefix"]})

            @app.delete(f"/api/v1/miner/{kind}/{{prefix}}")
            def delete(prefix: str, authorization: str | None = Header(None)) -> Any:
                hotkey = who(authorization)
                if hotkey is None:
                    return fail(401, "missing or invalid session token")
                for row in keys.get((hotkey, kind), []):
                    if row["prefix"] == prefix and row["deleted_at"] is None:
                        row["deleted_at"] = _now().isoformat()
                        return ok({})
                return fail(404, f"no active key with prefix {prefix}")

        routes()
    return app
