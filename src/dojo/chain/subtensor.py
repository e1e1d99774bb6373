"""The ``bittensor`` backend: the real networks (finney, test, ws://…) through bittensor 11.3.0.

The SDK does the chain work (metagraph runtime API, ``ServeAxon``, ``SetWeights`` with its
u16 normalisation, max-weight clip, preflight and commit-reveal); this adapter turns its
answers into Dojo's ``Metagraph`` and its failures into ``NotRegistered`` / ``RateLimited`` /
``ChainUnavailable`` / ``ChainError`` with messages that say what to do.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from dojo import __spec_version__
from dojo.chain.base import Metagraph, Neuron, checked_address
from dojo.errors import ChainError, ChainUnavailable, NotRegistered, OutdatedVersion, RateLimited
from dojo.logs import log

logger = logging.getLogger("dojo.chain.subtensor")
T = TypeVar("T")
_WAIT = re.compile(r"Retry in ~?(\d+) blocks?")


def parse_axon(axon: str | None) -> tuple[str | None, int | None]:
    """``"1.2.3.4:8091"`` or ``"[::1]:8091"`` → (ip, port); (None, None) when nothing is served."""
    if not axon:
        return None, None
    host, _, port = axon.rpartition(":")
    host = host.strip("[]")
    try:
        return str(ipaddress.ip_address(host)), int(port)
    except ValueError:
        return None, None


class SubtensorChain:
    """The ``Chain`` protocol over ``bt.Subtensor`` (blocking mode; call it via ``asyncio.to_thread``)."""

    def __init__(self, network: str, netuid: int = 1, *, substrate: Any = None) -> None:
        """Connect lazily to ``network`` (finney, test, or a ws:// / wss:// endpoint).

        ``substrate`` replaces the websocket connection (an in-memory fake in tests).
        """
        import bittensor as bt

        network = network.strip()
        try:
            self._sub = bt.Subtensor(network, substrate=substrate)
        except ValueError as exc:
            raise ChainError(f"unknown network {network!r}: use local, finney, test or a ws:// / wss:// URL") from exc
        self.network = network
        self.netuid = netuid
        self.endpoint = self._sub.endpoint

    def close(self) -> None:
        """Close the connection (when one was opened)."""
        self._call(self._sub.close)

    # -- error mapping ------------------------------------------------------------------------

    def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one SDK call, turning its exceptions into Dojo's chain errors."""
        from bittensor.result import BittensorError, ConnectionNotReady, RpcConnectionError

        try:
            return fn(*args, **kwargs)
        except (RpcConnectionError, ConnectionNotReady, OSError, TimeoutError) as exc:
            raise ChainUnavailable(f"cannot reach the {self.network} chain at {self.endpoint}: {exc}") from exc
        except BittensorError as exc:
            raise self._map_chain_error(exc) from exc

    def _map_chain_error(self, exc: Exception, wallet: Any = None) -> ChainError:
        from bittensor.error_map import ErrorCode

        code = getattr(exc, "code", None)
        message = str(exc) or exc.__class__.__name__
        if code == ErrorCode.NOT_REGISTERED:
            return NotRegistered(f"not registered on {self.network} subnet {self.netuid}: {message}")
        if getattr(exc, "name", None) == "IncorrectWeightVersionKey":
            required = self._required_version()
            return OutdatedVersion(
                f"{self.network} subnet {self.netuid} requires weights_version {required}, this validator sends "
                f"{__spec_version__}: update Dojo ({message})",
                required=required,
                sent=__spec_version__,
            )
        if code == ErrorCode.RATE_LIMITED:
            wait = self._blocks_to_wait(message, wallet)
            return RateLimited(f"rate limited on {self.network} subnet {self.netuid}: {message}", blocks_to_wait=wait)
        return ChainError(f"{self.network} subnet {self.netuid}: {message}")

    def _blocks_to_wait(self, message: str, wallet: Any) -> int:
        """Blocks left in the weights rate limit: from the SDK's message, else from chain reads."""
        found = _WAIT.search(message)
        if found:
            return max(1, int(found.group(1)))
        try:
            hotkey = wallet.hotkey.ss58_address
            uid = self._sub.neurons.uid(hotkey, self.netuid)
            limit = int(self._sub.hyperparameters.weights_rate_limit(self.netuid))
            since = int(self._sub.epochs.blocks_since_last_update(self.netuid, uid))
            return max(1, limit - since)
        except Exception:  # noqa: BLE001 - the estimate is best effort; the refusal itself stands
            return 1

    def _required_version(self) -> int:
        try:
            return self.weights_version()
        except ChainError:  # the refusal itself stands; the figure is best effort
            return -1

    def _execute(self, intent: Any, wallet: Any, what: str) -> None:
        from bittensor.result import BittensorError, ConnectionNotReady, RpcConnectionError

        try:
            result = self._sub.execute(intent, wallet)
        except (RpcConnectionError, ConnectionNotReady, OSError, TimeoutError) as exc:
            raise ChainUnavailable(f"cannot reach the {self.network} chain at {self.endpoint}: {exc}") from exc
        except BittensorError as exc:
            raise self._map_chain_error(exc, wallet) from exc
        if not result.success:
            error = result.error or ChainError(result.message or f"{what} failed")
            raise self._map_chain_error(error, wallet)
        log(logger, f"chain.{what}", network=self.network, netuid=self.netuid, extrinsic=result.extrinsic_id)

    # -- the Chain protocol -------------------------------------------------------------------

    def block(self) -> int:
        """The chain head's block number."""
        return int(self._call(lambda: self._sub.block))

    def metagraph(self) -> Metagraph:
        """The subnet's neurons (stake in the subnet's alpha units)."""
        mg = self._call(self._sub.subnets.metagraph, self.netuid, commitments=False)
        if mg is None:
            raise ChainError(f"subnet {self.netuid} does not exist on {self.network}")
        neurons = []
        for n in mg.neurons:
            ip, port = parse_axon(n.axon)
            neurons.append(
                Neuron(
                    uid=int(n.uid),
                    hotkey=str(n.hotkey),
                    coldkey=str(n.coldkey),
                    stake=float(n.total_stake.amount),
                    validator_permit=bool(n.validator_permit),
                    ip=ip,
                    port=port,
                    last_update=int(n.last_update),
                )
            )
        return Metagraph(netuid=self.netuid, block=int(mg.block), neurons=tuple(neurons))

    def publish_address(self, wallet: Any, ip: str, port: int) -> None:
        """Serve ``ip:port`` for the wallet's hotkey (``ServeAxon``)."""
        import bittensor as bt

        ip = checked_address(ip, port)
        self._execute(bt.ServeAxon(self.netuid, ip, port), wallet, "address")

    def set_weights(self, wallet: Any, weights: dict[int, float]) -> None:
        """Set weights (``SetWeights``: the SDK clips, normalises to u16 and checks the rate limit)."""
        import bittensor as bt

        if not weights:
            raise ChainError("no weights given: expected at least one {uid: weight}")
        try:
            intent = bt.SetWeights(
                self.netuid, weights={int(k): float(v) for k, v in weights.items()}, version_key=__spec_version__
            )
        except (TypeError, ValueError, bt.BittensorError) as exc:
            raise ChainError(f"invalid weights: {exc}") from exc
        self._execute(intent, wallet, "weights")

    def weights_version(self) -> int:
        """The subnet's ``weights_version`` hyperparameter: the lowest ``version_key`` it accepts (0: any)."""
        from bittensor._generated import storage as st

        value = self._call(self._sub.query, st.SubtensorModule.WeightsVersionKey, [self.netuid])
        return int(value or 0)

    def weights(self) -> dict[int, dict[int, float]]:
        """Every validator's weights as the chain stores them (u16), normalised per row."""
        rows = self._call(self._sub.weights.weights, self.netuid)
        return {int(v): {int(u): float(w) for u, w in row.items()} for v, row in rows.items()}
