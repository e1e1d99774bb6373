"""A separate process hammering the local chain: register, stake and set weights N times.

Run as ``python chain_worker.py DB INDEX ROUNDS SHARED_HOTKEY SHARED_COLDKEY``; prints one JSON line.
Every worker opens (and may be the one to create) the chain file, and registers the shared hotkey
too (registration is idempotent), so creation and registration race as well.
"""

from __future__ import annotations

import json
import sys

from bittensor.keyfiles import Keypair

from dojo.chain.local import ChainParams, LocalChain


def main() -> None:
    db, index, rounds, shared, shared_cold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    hotkey = Keypair.create_from_uri(f"//worker{index}").ss58_address
    coldkey = Keypair.create_from_uri(f"//cold{index}").ss58_address
    # Short blocks and epochs so emission also runs while the workers write.
    chain = LocalChain(db, ChainParams(block_time_s=0.02, epoch_blocks=5, weights_rate_limit=0, emission_per_epoch=1.0))
    shared_uid = chain.register(shared, shared_cold)
    uid = chain.register(hotkey, coldkey)
    last: dict[int, float] = {}
    for r in range(rounds):
        chain.add_stake(hotkey, 1.0)
        chain.add_stake(shared, 1.0)
        last = {shared_uid: float(r + 1), uid: float(index + 1)}
        chain.set_weights(hotkey, last)
    print(
        json.dumps(
            {"uid": uid, "shared_uid": shared_uid, "hotkey": hotkey, "last": {str(k): v for k, v in last.items()}}
        )
    )


if __name__ == "__main__":
    main()
