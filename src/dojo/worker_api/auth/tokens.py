"""Session tokens: JWTs (HS256) bound to one worker API instance and one role, with an expiry, revocable by ``jti``.

A token names its issuer (``urn:dojo:worker-api:<instance id>``, the id kept in the instance's
database) and its audience (the issuer plus the role), so a token from another worker API is
refused even when the two happen to share a secret. The caller still checks that the token's
``uid`` belongs to its ``sub`` on this instance (``dojo.worker_api.auth.binding``).
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jwt

from dojo.errors import ApiError, DojoError

LABELLER = "dojo-labeller"
MINER = "dojo-miner"


@dataclass(frozen=True)
class Claims:
    """What a verified token says: who, which role, its id and expiry."""

    subject: str
    user_id: int
    jti: str
    expires_at: datetime


class TokenService:
    """Issues and verifies tokens with one secret, for one instance (``bind`` it once its id is known)."""

    def __init__(self, secret: str, ttl_s: int, instance: str | None = None, cache_size: int = 10_000) -> None:
        self._secret = secret
        self._ttl = ttl_s
        self._instance = instance
        # verified tokens by (token, audience): a hit skips the HMAC and claim checks, never the expiry
        self._verified: dict[tuple[str, str], tuple[Claims, float]] = {}
        self._cache_size = cache_size

    def bind(self, instance: str) -> None:
        """Set the instance id (read from the database at start-up) that tokens are issued for."""
        self._instance = instance
        self._verified.clear()

    @property
    def issuer(self) -> str:
        """``urn:dojo:worker-api:<instance id>``."""
        if not self._instance:
            raise ApiError(503, "the worker API is still starting: retry in a moment", headers={"Retry-After": "1"})
        return f"urn:dojo:worker-api:{self._instance}"

    def audience(self, role: str) -> str:
        """The audience of ``role``'s tokens on this instance."""
        return f"{self.issuer}:{role}"

    def issue(self, role: str, subject: str, user_id: int) -> tuple[str, datetime, str]:
        """A new token for ``subject`` in ``role`` (LABELLER or MINER): ``(token, expires_at, jti)``."""
        now = datetime.now(timezone.utc)
        expires = now + timedelta(seconds=self._ttl)
        jti = uuid.uuid4().hex
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "sub": subject,
            "uid": user_id,
            "aud": self.audience(role),
            "jti": jti,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return jwt.encode(payload, self._secret, algorithm="HS256"), expires.replace(microsecond=0), jti

    def verify(self, token: str, role: str) -> Claims:
        """The token's claims, or a 401 saying why it is not acceptable here."""
        hit = self._verified.get((token, role))
        if hit is not None:
            if time.time() < hit[1]:
                return hit[0]
            self._verified.pop((token, role), None)
            raise ApiError(401, "session expired: log in again")
        claims = self._decode(token, role)
        if len(self._verified) >= self._cache_size:
            self._verified.clear()  # crude but bounded; a miss only costs a decode
        self._verified[(token, role)] = (claims, claims.expires_at.timestamp())
        return claims

    def _decode(self, token: str, role: str) -> Claims:
        try:
            data = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=self.audience(role),
                issuer=self.issuer,  # a token without ``iss`` fails here too, after the expiry check
                options={"require": ["exp", "sub", "jti", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise ApiError(401, "session expired: log in again") from exc
        except jwt.InvalidIssuerError as exc:
            raise ApiError(401, "this session was issued by another worker API: log in here") from exc
        except jwt.MissingRequiredClaimError as exc:
            if exc.claim == "iss":
                raise ApiError(401, "this session was issued by another worker API: log in here") from exc
            raise ApiError(401, "invalid session token") from exc
        except jwt.InvalidAudienceError as exc:
            raise ApiError(401, "token is not valid for this endpoint") from exc
        except jwt.PyJWTError as exc:
            raise ApiError(401, "invalid session token") from exc
        if not isinstance(data.get("uid"), int) or not isinstance(data.get("sub"), str):
            raise ApiError(401, "invalid session token")
        return Claims(
            subject=data["sub"],
            user_id=data["uid"],
            jti=str(data["jti"]),
            expires_at=datetime.fromtimestamp(data["exp"], timezone.utc),
        )


def load_or_create_secret(configured: str | None, home: Path) -> str:
    """The configured JWT secret, or one generated once and kept in ``<home>/worker_jwt_secret``."""
    if configured:
        return configured
    path = home / "worker_jwt_secret"
    home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        deadline = time.monotonic() + 5.0  # another process may be writing it right now
        while True:
            secret = path.read_text().strip()
            if secret:
                return secret
            if time.monotonic() > deadline:
                raise DojoError(
                    f"the JWT secret file {path} is empty: delete it or set DOJO_WORKER_JWT_SECRET"
                ) from None
            time.sleep(0.05)
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret
