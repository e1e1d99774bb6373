"""How the validator talks to many miners at once: the ``MinerGateway`` protocol and its signed HTTP form.

Every method returns one outcome per item, a reply or an exception, never raising for a single
miner's failure: a miner that is down, slow or answers garbage must not stop the round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from dojo import protocol
from dojo.validator.store.records import MinerTarget

if TYPE_CHECKING:
    from dojo.transport.client import SignedClient


class MinerGateway(Protocol):
    """The validator's I/O edge towards miners (real: signed HTTP; tests: fakes)."""

    async def heartbeat(self, miners: list[MinerTarget]) -> dict[str, protocol.HeartbeatReply | Exception]:
        """Ask each miner whether it is up; keyed by hotkey."""
        ...

    async def send_tasks(
        self, jobs: list[tuple[MinerTarget, protocol.Task]]
    ) -> dict[str, protocol.TaskAccepted | Exception]:
        """Deliver copies; keyed by the copy's ``miner_task_id`` (the wire's ``Task.task_id``)."""
        ...

    async def fetch_results(self, jobs: list[tuple[MinerTarget, str]]) -> dict[str, protocol.ResultsReply | Exception]:
        """Read results of copies ``(miner, miner_task_id)``; keyed by ``miner_task_id``."""
        ...

    async def send_feedback(
        self, jobs: list[tuple[MinerTarget, str, protocol.Feedback]]
    ) -> dict[str, protocol.Empty | Exception]:
        """Deliver feedback on copies ``(miner, miner_task_id, feedback)``; keyed by ``miner_task_id``."""
        ...


class SignedGateway:
    """The real gateway: ``btauth/1``-signed JSON over the transport's pooled client."""

    def __init__(self, client: SignedClient) -> None:
        self.client = client

    @staticmethod
    def _target(m: MinerTarget):  # type: ignore[no-untyped-def]
        from dojo.transport.client import Target

        return Target(hotkey=m.hotkey, address=m.address, uid=m.uid)

    async def heartbeat(self, miners: list[MinerTarget]) -> dict[str, protocol.HeartbeatReply | Exception]:
        if not miners:
            return {}
        return dict(
            await self.client.fan_out([self._target(m) for m in miners], "/v1/heartbeat", {}, protocol.HeartbeatReply)
        )

    async def _each(self, calls: Sequence[tuple[str, MinerTarget, str, Any, type[Any]]]) -> dict[str, Any]:
        async def one(m: MinerTarget, path: str, body: Any, model: type[Any]) -> Any:
            try:
                return await self.client.post(m.address, m.hotkey, path, body, model)
            except Exception as exc:  # noqa: BLE001 - one miner's failure is its outcome, not ours
                return exc

        outs = await asyncio.gather(*(one(m, path, body, model) for _, m, path, body, model in calls))
        return {key: out for (key, *_), out in zip(calls, outs, strict=True)}

    async def send_tasks(
        self, jobs: list[tuple[MinerTarget, protocol.Task]]
    ) -> dict[str, protocol.TaskAccepted | Exception]:
        calls = [(str(t.task_id), m, "/v1/tasks", t, protocol.TaskAccepted) for m, t in jobs]  # wire: task_id
        return await self._each(calls)

    async def fetch_results(self, jobs: list[tuple[MinerTarget, str]]) -> dict[str, protocol.ResultsReply | Exception]:
        calls = [
            (miner_task_id, m, f"/v1/tasks/{miner_task_id}/results", protocol.Empty(), protocol.ResultsReply)
            for m, miner_task_id in jobs
        ]
        return await self._each(calls)

    async def send_feedback(
        self, jobs: list[tuple[MinerTarget, str, protocol.Feedback]]
    ) -> dict[str, protocol.Empty | Exception]:
        calls = [
            (miner_task_id, m, f"/v1/tasks/{miner_task_id}/feedback", fb, protocol.Empty)
            for m, miner_task_id, fb in jobs
        ]
        return await self._each(calls)
