"""The chain: one interface (``base.Chain``), the embedded local ledger and the bittensor adapter."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dojo.chain.base import Chain, Metagraph, Neuron
from dojo.errors import ChainError, ChainUnavailable, NotRegistered, OutdatedVersion, RateLimited

if TYPE_CHECKING:
    from dojo.chain.local import ChainParams
    from dojo.config import Settings

__all__ = [
    "Chain",
    "ChainError",
    "ChainUnavailable",
    "Metagraph",
    "Neuron",
    "NotRegistered",
    "OutdatedVersion",
    "RateLimited",
    "chain_params",
    "open_chain",
]


def chain_params(settings: Settings) -> ChainParams:
    """The local chain's rules as the settings describe them (used when its file is created)."""
    from dojo.chain.local import ChainParams

    t = settings.timings
    c = settings.chain
    return ChainParams(
        netuid=c.netuid,
        block_time_s=t.block_time_s,
        epoch_blocks=t.epoch_blocks,
        weights_rate_limit=t.weights_rate_limit_blocks,
        emission_per_epoch=c.emission_per_epoch,
        max_weight=c.max_weight,
        min_validator_stake=c.min_validator_stake,
        max_validators=c.max_validators,
        max_uids=c.max_uids,
    )


def open_chain(settings: Settings, **kwargs: object) -> Chain:
    """The chain named by ``settings.chain.network``: ``local`` (SQLite ledger) or a bittensor network.

    Extra keyword arguments go to the backend (``substrate=`` for a bittensor network in tests).
    """
    network = settings.chain.network.strip()
    if network == "local":
        from dojo.chain.local import LocalChain

        return LocalChain(settings.chain_db_path(), chain_params(settings))
    from dojo.chain.subtensor import SubtensorChain

    return SubtensorChain(network, netuid=settings.chain.netuid, **kwargs)  # type: ignore[arg-type]
