"""The chain interface used by validator and miner alike (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # bittensor is slow to import; only the type is needed here
    from bittensor_wallet import Wallet


class ChainError(Exception):
    """Any refusal or failure of the chain, with a message fit for a user."""


class NotRegistered(ChainError):
    """The hotkey has no uid on this subnet."""


class RateLimited(ChainError):
    """Weights were set too recently; ``blocks_to_wait`` more blocks must pass."""

    def __init__(self, message: str, blocks_to_wait: int) -> None:
        super().__init__(message)
        self.blocks_to_wait = blocks_to_wait


class ChainUnavailable(ChainError):
    """The chain could not be reached."""


class OutdatedVersion(ChainError):
    """The subnet requires a newer spec version (``weights_version``) than the one sent as ``version_key``."""

    def __init__(self, message: str, required: int, sent: int) -> None:
        super().__init__(message)
        self.required = required
        self.sent = sent


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
