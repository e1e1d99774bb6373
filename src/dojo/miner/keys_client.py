"""The key shell's client of the worker API's miner endpoints: hotkey login, then API keys and subscription keys.

Not to be confused with :class:`dojo.miner.worker_client.WorkerApiClient`, the miner service's
(async) client of the labelling endpoints, which authenticates with an API key this one makes.
Used by ``dojo keys`` and by the local network, so it lives here and not in the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx

from dojo.errors import DojoError

API = "/api/v1"
KINDS: dict[str, str] = {"api_key": "api-keys", "subscription_key": "subscription-keys"}
LABELS: dict[str, str] = {"api_key": "API key", "subscription_key": "subscription key"}


@dataclass(frozen=True)
class KeyInfo:
    """One key as the worker API lists it (never the key itself)."""

    prefix: str
    name: str | None
    created_at: str
    deleted_at: str | None


def check_url(url: str) -> str:
    """``url`` without a trailing slash, or a clear error when it is not http(s)://host[:port]."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise DojoError(f"invalid worker API URL {url!r}: expected http(s)://host[:port]")
    return url.strip().rstrip("/")


class KeysClient:
    """Logs in by signing the server's challenge with the hotkey, then manages the miner's keys."""

    def __init__(self, url: str, keypair: Any, timeout: float = 10.0) -> None:
        self.url = check_url(url)
        self.keypair = keypair
        self.token: str | None = None
        self.expires_at: str | None = None
        self._http = httpx.Client(base_url=self.url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KeysClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call; the envelope's body on success, else a ``DojoError`` with the server's reason."""
        try:
            reply = self._http.request(method, API + path, **kwargs)
        except httpx.TimeoutException as exc:
            raise DojoError(f"the worker API at {self.url} did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise DojoError(f"cannot reach the worker API at {self.url}: {exc}") from exc
        try:
            payload = reply.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or "success" not in payload:
            raise DojoError(f"{self.url} does not look like a Dojo worker API (HTTP {reply.status_code} on {path})")
        if reply.status_code >= 400 or not payload.get("success"):
            reason = payload.get("error") or f"HTTP {reply.status_code}"
            if reply.status_code == 401 and self.token:
                self.token = None  # expired or revoked: the next call logs in again
            raise DojoError(f"the worker API refused: {reason} (HTTP {reply.status_code})")
        return payload.get("body")

    def authenticate(self) -> str:
        """Challenge → signature by the hotkey → session token. Returns when the token expires."""
        hotkey = self.keypair.ss58_address
        challenge = self._request("GET", "/miner/challenge", params={"hotkey": hotkey})
        message = str(challenge["message"])
        signature = self.keypair.sign(message.encode()).hex()
        session = self._request(
            "POST", "/miner/session", json={"hotkey": hotkey, "message": message, "signature": signature}
        )
        self.token = str(session["token"])
        self.expires_at = str(session.get("expires_at"))
        return self.expires_at

    def _authed(self, method: str, path: str, **kwargs: Any) -> Any:
        """A call with the session token; logs in first, and once more if the token has expired."""
        for attempt in (1, 2):
            if self.token is None:
                self.authenticate()
            try:
                return self._request(method, path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)
            except DojoError:
                if self.token is not None or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def list_keys(self, kind: str) -> list[KeyInfo]:
        """Every key of ``kind`` (``api_key`` or ``subscription_key``), deleted ones included."""
        body = self._authed("GET", f"/miner/{KINDS[kind]}")
        return [
            KeyInfo(str(k["prefix"]), k.get("name"), str(k.get("created_at")), k.get("deleted_at"))
            for k in body.get("keys", [])
        ]

    def generate_key(self, kind: str, name: str | None = None) -> tuple[str, str]:
        """A new key of ``kind``; returns (full key, prefix). The full key is shown only now."""
        body = self._authed("POST", f"/miner/{KINDS[kind]}", json={"name": name} if name else {})
        return str(body["key"]), str(body["prefix"])

    def delete_key(self, kind: str, prefix: str) -> None:
        """Soft-delete the key with ``prefix``; it stops working at once."""
        if not prefix or "/" in prefix:
            raise DojoError(f"invalid key prefix {prefix!r}")
        self._authed("DELETE", f"/miner/{KINDS[kind]}/{prefix}")
