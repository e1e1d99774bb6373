"""Real loopback servers for the transport tests: a gated echo app, served in a thread, key sets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from bittensor.sp_core import Keypair
from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

from dojo.chain.base import Metagraph, Neuron
from dojo.serving import ServerThread, start_thread
from dojo.transport.server import ValidatorGate

MIN_STAKE = 1000.0


def new_keypair() -> Keypair:
    """A fresh sr25519 hotkey."""
    return Keypair.create_from_mnemonic(Keypair.generate_mnemonic())


@dataclass
class Keys:
    """Every identity the attack matrix needs; ``metagraph`` registers all but ``stranger``."""

    validator: Keypair = field(default_factory=new_keypair)  # validator permit
    staked: Keypair = field(default_factory=new_keypair)  # no permit, stake >= MIN_STAKE
    miner: Keypair = field(default_factory=new_keypair)  # the receiving server
    other_miner: Keypair = field(default_factory=new_keypair)
    plain: Keypair = field(default_factory=new_keypair)  # registered, no permit, little stake
    stranger: Keypair = field(default_factory=new_keypair)  # not registered

    def metagraph(self, block: int = 100) -> Metagraph:
        rows = [
            (self.validator, 5.0, True),
            (self.staked, MIN_STAKE * 2, False),
            (self.miner, 0.0, False),
            (self.other_miner, 0.0, False),
            (self.plain, MIN_STAKE / 10, False),
        ]
        neurons = tuple(
            Neuron(uid=i, hotkey=kp.ss58_address, coldkey=kp.ss58_address, stake=stake, validator_permit=permit)
            for i, (kp, stake, permit) in enumerate(rows)
        )
        return Metagraph(netuid=1, block=block, neurons=neurons)


class EchoIn(BaseModel):
    text: str = ""


class EchoOut(BaseModel):
    caller: str
    uid: int
    text: str
    size: int


@dataclass
class Calls:
    """How many times the gated handlers ran."""

    count: int = 0


def gated_app(gate: ValidatorGate, calls: Calls) -> FastAPI:
    """``POST /v1/echo`` behind ``gate``: counts its runs and echoes what it verified."""
    app = FastAPI()

    @app.post("/v1/echo")
    async def echo(request: Request, caller: str = Depends(gate)) -> EchoOut:
        calls.count += 1
        raw = await request.body()
        body = EchoIn.model_validate_json(raw or b"{}")
        return EchoOut(caller=caller, uid=request.state.caller_neuron.uid, text=body.text, size=len(raw))

    @app.get("/calls")
    async def count() -> dict[str, int]:
        return {"count": calls.count}

    return app


def serve(app: Callable) -> ServerThread:
    """``app`` served on a free 127.0.0.1 port from a background thread (``with serve(app) as srv: srv.url``).

    No lifespan, and one second for in-flight requests on a stop (the slow handlers of the tests
    would otherwise hold it for the default ten).
    """
    return start_thread(app, lifespan="off", timeout_graceful_shutdown=1, loop="asyncio")


async def raw_tcp_server(reply: bytes | None) -> tuple[asyncio.Server, int]:
    """A TCP server that answers every connection with ``reply`` and closes, or never answers if None."""
    held: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        if reply is None:
            held.append(writer)  # keep the connection open and silent
            return
        writer.write(reply)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]
