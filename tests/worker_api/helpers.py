"""Test helpers for the worker API: wallets that sign like real clients, and set-up shortcuts."""

from __future__ import annotations

import uuid
import warnings
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct

from dojo.chain.base import Metagraph, Neuron

DOMAIN = "localhost"
CHAIN_ID = 1


def keypair(uri: str) -> Any:
    """An sr25519 hotkey from a dev URI (``//Alice``)."""
    from bittensor.keyfiles import Keypair

    return Keypair.create_from_uri(uri)


def metagraph_of(*hotkeys: str) -> Metagraph:
    """A fixed metagraph registering ``hotkeys`` as uids 0..n-1."""
    return Metagraph(
        netuid=1,
        block=1,
        neurons=tuple(
            Neuron(uid=i, hotkey=h, coldkey=h, stake=0.0, validator_permit=False) for i, h in enumerate(hotkeys)
        ),
    )


def siwe_message(
    address: str,
    nonce: str,
    domain: str = DOMAIN,
    chain_id: int = CHAIN_ID,
    expires_in_s: float | None = None,
    uri: str | None = None,
    issued_at: datetime | None = None,
) -> str:
    """An EIP-4361 message as a wallet would build it (URI ``http://<domain>``, issued now, unless told)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from siwe import SiweMessage
    now = issued_at or datetime.now(timezone.utc)
    fields: dict[str, Any] = dict(
        domain=domain,
        address=address,
        uri=uri or f"http://{domain}",
        version="1",
        chain_id=chain_id,
        nonce=nonce,
        statement="Sign in to Dojo",
        issued_at=now.isoformat().replace("+00:00", "Z"),
    )
    if expires_in_s is not None:
        fields["expiration_time"] = (now + timedelta(seconds=expires_in_s)).isoformat().replace("+00:00", "Z")
    return SiweMessage(**fields).prepare_message()


def sign_text(account: Any, text: str) -> str:
    """``personal_sign`` of ``text`` as hex with 0x."""
    return "0x" + account.sign_message(encode_defunct(text=text)).signature.hex().removeprefix("0x")


def new_account() -> Any:
    return Account.create()


def body(resp: httpx.Response) -> Any:
    """The envelope's body, asserting success."""
    data = resp.json()
    assert resp.status_code == 200 and data["success"] is True, (resp.status_code, data)
    return data["body"]


async def labeller_login(client: httpx.AsyncClient, account: Any | None = None) -> tuple[Any, dict[str, str]]:
    """Log a (new) wallet in through SIWE; returns the account and its auth headers."""
    account = account or new_account()
    n = body(await client.get("/api/v1/auth/nonce", params={"address": account.address}))
    msg = siwe_message(account.address, n["nonce"], domain=n["domain"])  # the domain the server expects, as the UI
    token = body(await client.post("/api/v1/worker/login", json={"message": msg, "signature": sign_text(account, msg)}))
    return account, {"Authorization": f"Bearer {token['token']}"}


async def miner_login(client: httpx.AsyncClient, kp: Any) -> dict[str, str]:
    """Log a hotkey in through the signed challenge; returns its auth headers."""
    ch = body(await client.get("/api/v1/miner/challenge", params={"hotkey": kp.ss58_address}))
    sig = kp.sign(ch["message"].encode()).hex()
    tok = body(
        await client.post(
            "/api/v1/miner/session", json={"hotkey": kp.ss58_address, "message": ch["message"], "signature": sig}
        )
    )
    return {"Authorization": f"Bearer {tok['token']}"}


async def new_key(client: httpx.AsyncClient, miner_headers: dict[str, str], kind: str) -> str:
    """A fresh ``api-keys`` or ``subscription-keys`` key of the logged-in miner."""
    return str(body(await client.post(f"/api/v1/miner/{kind}", json={"name": "t"}, headers=miner_headers))["key"])


def task_json(
    n: int = 4, expire_in_s: float = 600, max_results: int | None = None, ranking: bool = False
) -> dict[str, Any]:
    """A valid task body with ``n`` responses."""
    out: dict[str, Any] = {
        "task_id": str(uuid.uuid4()),
        "prompt": "Build a bouncing ball",
        "responses": [{"completion_id": str(uuid.uuid4()), "content": f"<html>{i}</html>"} for i in range(n)],
        "criteria": {"type": "ranking"} if ranking else {"type": "score", "min": 1, "max": 10},
        "expire_at": (datetime.now(timezone.utc) + timedelta(seconds=expire_in_s)).isoformat(),
    }
    if max_results is not None:
        out["max_results"] = max_results
    return out


async def create_task(client: httpx.AsyncClient, api_key: str, **kw: Any) -> tuple[str, dict[str, Any]]:
    """Create a task with the miner's API key: ``(worker_task_id, task body)``."""
    t = task_json(**kw)
    got = body(await client.post("/api/v1/tasks", json=t, headers={"X-API-KEY": api_key}))
    return str(got["worker_task_id"]), t


async def link(client: httpx.AsyncClient, headers: dict[str, str], sub_key: str) -> int:
    """Link the labeller to a miner by subscription key; returns the partnership id."""
    return int(
        body(
            await client.post(
                "/api/v1/worker/partners", json={"name": "m", "subscription_key": sub_key}, headers=headers
            )
        )["id"]
    )


def scores_for(task: dict[str, Any], value: float = 5) -> dict[str, float]:
    return {r["completion_id"]: value for r in task["responses"]}
