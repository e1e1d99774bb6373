"""An in-memory stand-in for a subtensor node, handed to the bittensor SDK as ``substrate=``.

It implements the narrow ``bittensor.Substrate`` surface the SDK's metagraph read, ``ServeAxon``,
``SetWeights`` and weights read use (``connect``, ``query``, ``query_map``, ``runtime_call``,
``compose``, ``submit``, ``block_number``, ``block_hash``, ``block_time``), returning the decoded
shapes of bittensor 11.3.0. State is plain Python: register neurons, move blocks, read what
extrinsics wrote. Reusable by any test that needs a bittensor network offline::

    fake = FakeSubstrate()
    uid = fake.register(netuid=1, hotkey=ss58, coldkey=cold_ss58, stake_tao=1000, permit=True)
    sub = bt.Subtensor("ws://fake:9944", substrate=fake)
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from bittensor.balance import Balance
from bittensor.result import ChainError, ExtrinsicResult

U16_MAX = 65535
RAO = 10**9


@dataclass
class FakeSubnet:
    """One subnet's storage, as plain lists indexed by uid."""

    netuid: int
    tempo: int = 360
    weights_rate_limit: int = 100
    serving_rate_limit: int = 0
    commit_reveal: bool = False
    min_allowed_weights: int = 0
    max_weights_limit: int = U16_MAX
    # True: storage reads hide LastUpdate, so the SDK's preflight passes and the runtime itself refuses
    hide_last_update: bool = False
    hotkeys: list[str] = field(default_factory=list)
    coldkeys: list[str] = field(default_factory=list)
    stakes_rao: list[int] = field(default_factory=list)
    permits: list[bool] = field(default_factory=list)
    last_update: list[int] = field(default_factory=list)
    registered_at: list[int] = field(default_factory=list)
    axons: list[dict[str, int] | None] = field(default_factory=list)
    weights: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    commits: dict[int, tuple[bytes, int]] = field(default_factory=dict)  # uid -> (encrypted commit, reveal round)


class FakeSubstrate:
    """The in-memory chain. ``calls`` records every (kind, name) the SDK asked for, for debugging."""

    def __init__(self, block: int = 1000, block_time: float = 12.0) -> None:
        self.block = block
        self.seconds_per_block = block_time
        self.subnets: dict[int, FakeSubnet] = {}
        self.token_symbols: dict[int, str] = {}
        self.calls: list[tuple[str, str]] = []
        self.submitted: list[tuple[str, str, dict[str, Any], str]] = []  # module, function, params, signer
        self.fail_connect: Exception | None = None

    # -- test controls ----------------------------------------------------------------------

    def subnet(self, netuid: int, **settings: Any) -> FakeSubnet:
        """The subnet ``netuid`` (created on first use); keyword arguments update its settings."""
        sn = self.subnets.setdefault(netuid, FakeSubnet(netuid))
        for key, value in settings.items():
            setattr(sn, key, value)
        return sn

    def register(self, netuid: int, hotkey: str, coldkey: str, stake_tao: float = 0.0, permit: bool = False) -> int:
        """Add a neuron; return its uid."""
        sn = self.subnet(netuid)
        sn.hotkeys.append(hotkey)
        sn.coldkeys.append(coldkey)
        sn.stakes_rao.append(int(stake_tao * RAO))
        sn.permits.append(permit)
        sn.last_update.append(0)
        sn.registered_at.append(self.block)
        sn.axons.append(None)
        return len(sn.hotkeys) - 1

    def advance(self, blocks: int) -> None:
        self.block += blocks

    # -- lifecycle ----------------------------------------------------------------------------

    def balance(self, rao: int, netuid: int = 0) -> Balance:
        return Balance.from_rao(int(rao), netuid)

    async def connect(self) -> None:
        self.calls.append(("connect", ""))
        if self.fail_connect is not None:
            raise self.fail_connect

    async def close(self) -> None:
        self.calls.append(("close", ""))

    # -- reads --------------------------------------------------------------------------------

    async def block_number(self) -> int:
        return self.block

    async def finalized_block_number(self) -> int:
        return self.block

    async def block_hash(self, block: int | None = None) -> str:
        return "0x" + format(self.block if block is None else block, "064x")

    async def block_time(self) -> float:
        return self.seconds_per_block

    async def spec_version(self) -> int:
        return 400

    async def query(
        self, module: str, storage_function: str, params: list | None = None, block_hash: str | None = None
    ) -> Any:
        self.calls.append(("query", f"{module}.{storage_function}"))
        p = list(params or [])
        if module != "SubtensorModule":
            return None
        sn = self.subnets.get(int(p[0]) % 4096) if p and isinstance(p[0], int) else None
        if storage_function == "Uids":
            sn = self.subnets.get(int(p[0]))
            return sn.hotkeys.index(p[1]) if sn and p[1] in sn.hotkeys else None
        if sn is None:
            return None
        simple = {
            "CommitRevealWeightsEnabled": sn.commit_reveal,
            "WeightsSetRateLimit": sn.weights_rate_limit,
            "ServingRateLimit": sn.serving_rate_limit,
            "LastUpdate": [0] * len(sn.last_update) if sn.hide_last_update else list(sn.last_update),
            "MinAllowedWeights": sn.min_allowed_weights,
            "MaxWeightsLimit": sn.max_weights_limit,
            "SubnetEpochConsensus": "Yuma",
            "ValidatorPermit": list(sn.permits),
            "Tempo": sn.tempo,
            "RevealPeriodEpochs": 1,
            "LastEpochBlock": self.block - self.block % sn.tempo,
            "PendingEpochAt": 0,
            "SubnetEpochIndex": self.block // sn.tempo,
            "BlocksSinceLastStep": self.block % sn.tempo,
            "SubnetworkN": len(sn.hotkeys),
            "NetworksAdded": True,
        }
        return simple.get(storage_function)

    async def query_map(
        self, module: str, storage_function: str, params: list | None = None, block_hash: str | None = None
    ) -> list[tuple[Any, Any]]:
        self.calls.append(("query_map", f"{module}.{storage_function}"))
        p = list(params or [])
        if module == "SubtensorModule" and storage_function == "Weights" and p:
            sn = self.subnets.get(int(p[0]) % 4096)
            return [(uid, list(row)) for uid, row in sorted(sn.weights.items())] if sn else []
        if module == "SubtensorModule" and storage_function == "Uids" and p:
            sn = self.subnets.get(int(p[0]))
            return [(hk, uid) for uid, hk in enumerate(sn.hotkeys)] if sn else []
        return []

    async def query_batch(
        self, module: str, storage_function: str, param_sets: list[list], block_hash: str | None = None
    ) -> list[Any]:
        return [await self.query(module, storage_function, ps, block_hash) for ps in param_sets]

    async def runtime_call(self, api: str, method: str, params: list, block_hash: str | None = None) -> Any:
        self.calls.append(("runtime_call", f"{api}.{method}"))
        if (api, method) == ("SubnetInfoRuntimeApi", "get_metagraph"):
            sn = self.subnets.get(int(params[0]))
            return None if sn is None else self._metagraph(sn)
        return None

    def _metagraph(self, sn: FakeSubnet) -> dict[str, Any]:
        n = len(sn.hotkeys)
        return {
            "netuid": sn.netuid,
            "name": list(b"fake"),
            "symbol": list(b"F"),
            "block": self.block,
            "tempo": sn.tempo,
            "last_step": self.block - self.block % sn.tempo,
            "blocks_since_last_step": self.block % sn.tempo,
            "owner_hotkey": sn.hotkeys[0] if n else "",
            "owner_coldkey": sn.coldkeys[0] if n else "",
            "network_registered_at": 0,
            "num_uids": n,
            "max_uids": 256,
            "hotkeys": list(sn.hotkeys),
            "coldkeys": list(sn.coldkeys),
            "active": [True] * n,
            "validator_permit": list(sn.permits),
            "last_update": list(sn.last_update),
            "block_at_registration": list(sn.registered_at),
            "axons": [a or {"ip": 0, "port": 0, "ip_type": 4, "protocol": 4, "version": 0} for a in sn.axons],
            "alpha_stake": list(sn.stakes_rao),
            "tao_stake": [0] * n,
            "total_stake": list(sn.stakes_rao),
            "emission": [0] * n,
        }

    # -- calls and writes ---------------------------------------------------------------------

    async def compose(self, call: Any) -> Any:
        self.calls.append(("compose", f"{call.module}.{call.function}"))
        return call

    async def estimate_fee(self, call: Any, keypair: Any) -> Balance:
        return Balance.from_rao(1000)

    async def account_next_index(self, address: str) -> int:
        return 0

    async def submit(self, call: Any, keypair: Any, **_: Any) -> ExtrinsicResult:
        """Apply the call as the runtime would, or fail with the runtime's error name."""
        signer = keypair.ss58_address
        self.calls.append(("submit", f"{call.module}.{call.function}"))
        self.submitted.append((call.module, call.function, dict(call.params), signer))
        handler = getattr(self, f"_do_{call.function}", None)
        if call.module != "SubtensorModule" or handler is None:
            return self._fail("CallFiltered", f"the fake chain does not implement {call.module}.{call.function}")
        failure = handler(dict(call.params), signer)
        if failure is not None:
            return self._fail(*failure)
        return ExtrinsicResult(
            success=True, message="ok", block_hash=await self.block_hash(), extrinsic_id=f"{self.block}-1"
        )

    def _fail(self, name: str, message: str) -> ExtrinsicResult:
        return ExtrinsicResult(success=False, message=message, error=ChainError(message, name=name))

    def _uid(self, netuid: int, hotkey: str) -> tuple[FakeSubnet | None, int | None]:
        sn = self.subnets.get(netuid)
        if sn is None or hotkey not in sn.hotkeys:
            return sn, None
        return sn, sn.hotkeys.index(hotkey)

    def _do_serve_axon(self, params: dict[str, Any], signer: str) -> tuple[str, str] | None:
        sn, uid = self._uid(int(params["netuid"]), signer)
        if sn is None or uid is None:
            return "HotKeyNotRegisteredInNetwork", f"hotkey {signer} is not registered on netuid {params['netuid']}"
        ipaddress.ip_address(int(params["ip"]))  # the runtime rejects a malformed address
        sn.axons[uid] = {k: int(params[k]) for k in ("ip", "port", "ip_type", "protocol", "version")}
        return None

    def _do_set_mechanism_weights(self, params: dict[str, Any], signer: str) -> tuple[str, str] | None:
        sn, uid = self._uid(int(params["netuid"]), signer)
        if sn is None or uid is None:
            return "HotKeyNotRegisteredInSubNet", f"hotkey {signer} is not registered on netuid {params['netuid']}"
        last = sn.last_update[uid]
        if last and self.block - last < sn.weights_rate_limit:
            return "SettingWeightsTooFast", "weights were set too recently"
        dests, values = list(params["dests"]), list(params["weights"])
        if len(dests) != len(values) or any(not 0 <= v <= U16_MAX for v in values):
            return "WeightVecNotEqualSize", "dests and weights differ in length or exceed u16"
        sn.weights[uid] = list(zip(dests, values, strict=True))
        sn.last_update[uid] = self.block
        return None

    def _do_commit_timelocked_mechanism_weights(self, params: dict[str, Any], signer: str) -> tuple[str, str] | None:
        sn, uid = self._uid(int(params["netuid"]), signer)
        if sn is None or uid is None:
            return "HotKeyNotRegisteredInSubNet", f"hotkey {signer} is not registered on netuid {params['netuid']}"
        if not sn.commit_reveal:
            return "CommitRevealDisabled", "commit-reveal is disabled on this subnet"
        last = sn.last_update[uid]
        if last and self.block - last < sn.weights_rate_limit:
            return "CommittingWeightsTooFast", "weights were committed too recently"
        sn.commits[uid] = (bytes(params["commit"]), int(params["reveal_round"]))
        sn.last_update[uid] = self.block
        return None

    def __getattr__(self, name: str) -> Any:
        # Anything else the SDK reaches for is a gap in the fake: fail loudly with its name.
        raise AttributeError(f"FakeSubstrate does not implement {name!r}")
