"""Simulated labellers: real Ethereum keys, SIWE logins and the same HTTP calls a browser makes.

Each labeller logs in to its miner's worker API, links itself with the miner's subscription
key, then keeps looking for open tasks it has not answered, asks its oracle for the true
order (a simulated person's "eyes"), turns it into scores according to its skill, and
submits them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx

from dojo.localnet.skills import Skill, score_completions, score_ranking
from dojo.logs import log

logger = logging.getLogger(__name__)

# completion id (as the labeller sees it) -> true rank, or None when unknown yet
Oracle = Callable[[list[str]], dict[str, int] | None]


class LabellerError(Exception):
    """The worker API refused a labeller's call."""


@dataclass
class SimulatedLabeller:
    """One simulated person with a wallet, a skill and a miner to work for."""

    name: str
    skill: Skill
    api_url: str
    domain: str
    chain_id: int
    subscription_key: str
    oracle: Oracle
    seed: int
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
        """Answer every open task not answered yet whose truth the oracle knows; returns how many."""
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
            ids = [r["completion_id"] for r in detail["responses"]]
            ranks = self.oracle(ids)
            if ranks is None:
                continue  # the validator has not stored this copy yet; next pass
            criteria = detail["criteria"]
            if criteria.get("type") == "ranking":
                scores = score_ranking(self.skill, ranks, self._rng)
            else:
                scores = score_completions(
                    self.skill, ranks, self._rng, criteria.get("min", 1), criteria.get("max", 10)
                )
            try:
                await self._call(client, "PUT", f"/api/v1/tasks/{summary['id']}/result", json={"scores": scores})
            except LabellerError as exc:
                # full or expired in the meantime: a person would just move on
                log(logger, "labeller.refused", level=logging.DEBUG, labeller=self.name, error=str(exc))
                continue
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
                        log(logger, "labeller.ready", labeller=self.name, skill=self.skill.value, address=self.address)
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
