"""What the external-task API's routes get through dependencies: the queue, and the caller's authorisation."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from dojo.errors import ApiError
from dojo.validator.external.queue import ExternalQueue


@dataclass(frozen=True)
class Services:
    """What the routes share, built once by ``create_external_app``."""

    queue: ExternalQueue
    token: str  # the bearer token consumers present; empty refuses everyone


def services(request: Request) -> Services:
    return request.app.state.external  # type: ignore[no-any-return]


_bearer = HTTPBearer(auto_error=False, description="The validator's external-task API token")


def authorised(request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """The caller presents this validator's bearer token (compared in constant time)."""
    token = services(request).token
    if not token or creds is None or not hmac.compare_digest(creds.credentials.encode(), token.encode()):
        raise ApiError(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


def queue(request: Request) -> ExternalQueue:
    return services(request).queue


Queue = Annotated[ExternalQueue, Depends(queue)]
