"""Simulated labellers: real Ethereum keys, SIWE logins and the same HTTP calls a browser makes.

Each labeller logs in to its miner's worker API, links itself with the miner's subscription
key, then keeps looking for open tasks it has not answered, lets its brain answer each one — a
person's brain asks the oracle for the true order (its "eyes") and scores as its skill allows; a
bot's brain reads only the task (:mod:`dojo.localnet.crews`) — and submits the answer.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx

from dojo.errors import LabellerError
from dojo.localnet.crews import Brain
from dojo.localnet.strategies import Answer, TaskView
from dojo.logs import log

logger = logging.getLogger(__name__)


@dataclass
class SimulatedLabeller:
    """One simulated labeller with a wallet, a brain and a miner to work for."""

    name: str
    brain: Brain
    api_url: str
    domain: str
    chain_id: int
    subscription_key: str
    seed: int
    on_submit: Callable[[str, TaskView, Answer], None] | None = None  # told of each accepted answer
    poll_s: float = 0.3
    submitted: int = 0
    errors: int = 0
    address: str = field(init=False)
    ready: bool = False

    def __post_init__(self) -> None:
        from eth_account import Account

        self._rng = random.Random(self.seed)
        self._account = Account.from_key(self._rng.getrandbits(256).to_bytes(32, "big"))
        self.address = self._account.address
        self._token: str | None = None
        self._linked = False

    async def _call(self, client: httpx.AsyncClient, method: str, path: str, **kwargs: object) -> object:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        resp = await client.request(method, self.api_url + path, headers=headers, **kwargs)  # type: ignore[arg-type]
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code >= 400 or not data.get("success", False):
            raise LabellerError(f"{method} {path} → {resp.status_code}: {data.get('error') or resp.text[:200]}")
        return data.get("body")

    async def login(self, client: httpx.AsyncClient) -> None:
        """SIWE: nonce from the server, an EIP-4361 message signed with our key, a JWT back."""
        from eth_account.messages import encode_defunct
        from siwe import SiweMessage

        body = await self._call(client, "GET", "/api/v1/auth/nonce", params={"address": self.address})
        assert isinstance(body, dict)
        message = SiweMessage(
            domain=self.domain,
            address=self.address,
            statement="Sign in to Dojo to label tasks.",
            uri=f"http://{self.domain}",
            version="1",
            chain_id=self.chain_id,
            nonce=body["nonce"],
            issued_at=datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
        ).prepare_message()
        signature = self._account.sign_message(encode_defunct(text=message)).signature.hex()
        if not signature.startswith("0x"):
            signature = "0x" + signature
        token = await self._call(
            client, "POST", "/api/v1/worker/login", json={"message": message, "signature": signature}
        )
        assert isinstance(token, dict)
        self._token = token["token"]

    async def link(self, client: httpx.AsyncClient) -> None:
        """Add the miner as a partner with its subscription key."""
        await self._call(
            client,
            "POST",
            "/api/v1/worker/partners",
            json={"name": f"miner of {self.name}", "subscription_key": self.subscription_key},
        )

    async def label_open_tasks(self, client: httpx.AsyncClient) -> int:
        """Answer every open task not answered yet that the brain can answer now; returns how many."""
        page = await self._call(
            client, "GET", "/api/v1/tasks", params={"status": "open", "limit": 50, "sort": "newest"}
        )
        assert isinstance(page, dict)
        done = 0
        for summary in page["tasks"]:
            if summary["answered"] or summary["result_count"] >= summary["max_results"]:
                continue
            detail = await self._call(client, "GET", f"/api/v1/tasks/{summary['id']}")
            assert isinstance(detail, dict)
            try:
                view = TaskView.of(detail["prompt"], detail["responses"], detail["criteria"])
            except ValueError as exc:  # criteria the protocol does not know: not a task this labeller can do
                log(logger, "labeller.bad_task", level=logging.WARNING, labeller=self.name, error=str(exc)[:300])
                continue
            scores = self.brain.answer(view, _when(detail["created_at"]), _when(detail["expire_at"]))
            if scores is None:
                continue  # not yet (truth unknown, or the resold crew has not answered): next pass
            try:
                await self._call(client, "PUT", f"/api/v1/tasks/{summary['id']}/result", json={"scores": scores})
            except LabellerError as exc:
                # full or expired in the meantime: a person would just move on
                log(logger, "labeller.refused", level=logging.DEBUG, labeller=self.name, error=str(exc))
                continue
            if self.on_submit is not None:
                self.on_submit(summary["id"], view, scores)
            self.submitted += 1
            done += 1
        return done

    async def run(self, stop: asyncio.Event) -> None:
        """Log in, link, then label until ``stop`` is set; errors are counted and retried."""
        async with httpx.AsyncClient(timeout=10.0) as client:
            while not stop.is_set():
                try:
                    if self._token is None:
                        await self.login(client)
                    if not self._linked:
                        await self.link(client)
                        self._linked = True
                        self.ready = True
                        log(logger, "labeller.ready", labeller=self.name, kind=self.brain.kind, address=self.address)
                    await self.label_open_tasks(client)
                except (LabellerError, httpx.HTTPError, KeyError) as exc:
                    self.errors += 1
                    log(logger, "labeller.error", level=logging.DEBUG, labeller=self.name, error=str(exc)[:300])
                    if "401" in str(exc):
                        self._token = None  # session gone: sign in again
                try:
                    await asyncio.wait_for(stop.wait(), self.poll_s)
                except asyncio.TimeoutError:
                    pass


def _when(text: str) -> datetime:
    """A timestamp from the worker API, timezone-aware (UTC when it names none)."""
    ts = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)
