"""The chain interface used by validator and miner alike (DESIGN §6)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from dojo.errors import ChainError

if TYPE_CHECKING:  # bittensor is slow to import; only the type is needed here
    from bittensor_wallet import Wallet


@dataclass(frozen=True)
class Neuron:
    """One registered uid as the metagraph shows it."""

    uid: int
    hotkey: str
    coldkey: str
    stake: float
    validator_permit: bool
    ip: str | None = None
    port: int | None = None
    last_update: int = 0

    @property
    def address(self) -> str | None:
        """``http://ip:port`` when the neuron has published one."""
        if not self.ip or not self.port:
            return None
        return f"http://{self.ip}:{self.port}"


@dataclass(frozen=True)
class Metagraph:
    """A snapshot of one subnet at one block."""

    netuid: int
    block: int
    neurons: tuple[Neuron, ...] = field(default_factory=tuple)

    def by_hotkey(self, hotkey: str) -> Neuron | None:
        for n in self.neurons:
            if n.hotkey == hotkey:
                return n
        return None

    def by_uid(self, uid: int) -> Neuron | None:
        for n in self.neurons:
            if n.uid == uid:
                return n
        return None

    def is_validator(self, hotkey: str, min_stake: float) -> bool:
        """A validator has a validator permit, or at least ``min_stake`` staked."""
        n = self.by_hotkey(hotkey)
        return n is not None and (n.validator_permit or n.stake >= min_stake)


class Chain(Protocol):
    """What Dojo needs of a chain. Implementations: ``LocalChain``, ``SubtensorChain``."""

    netuid: int

    def block(self) -> int:
        """The current block number."""
        ...

    def metagraph(self) -> Metagraph:
        """A snapshot of the subnet."""
        ...

    def publish_address(self, wallet: Wallet, ip: str, port: int) -> None:
        """Publish ``ip:port`` for the wallet's hotkey."""
        ...

    def set_weights(self, wallet: Wallet, weights: dict[int, float]) -> None:
        """Set the wallet's weights over uids (normalised and clipped by the chain), with this release's
        spec version as ``version_key``.

        Raises ``NotRegistered``, ``RateLimited``, ``OutdatedVersion`` or ``ChainError``.
        """
        ...

    def weights(self) -> dict[int, dict[int, float]]:
        """Every validator's last weights, ``{validator_uid: {uid: weight}}``, normalised to sum 1."""
        ...


def checked_address(ip: str, port: int) -> str:
    """``ip`` in canonical form, once it and ``port`` are fit to publish; a ``ChainError`` saying why not."""
    try:
        canonical = str(ipaddress.ip_address(ip))
    except ValueError as exc:
        raise ChainError(f"invalid IP address {ip!r}") from exc
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ChainError(f"invalid port {port!r}: expected 1-65535")
    return canonical
