"""A separate process hammering the local chain: register, stake and set weights N times.

Run as ``python chain_worker.py DB INDEX ROUNDS SHARED_HOTKEY``; prints one JSON line.
"""

from __future__ import annotations

import json
import sys

from bittensor.keyfiles import Keypair

from dojo.chain.local import LocalChain


def main() -> None:
    db, index, rounds, shared = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    hotkey = Keypair.create_from_uri(f"//worker{index}").ss58_address
    coldkey = Keypair.create_from_uri(f"//cold{index}").ss58_address
    chain = LocalChain(db)
    uid = chain.register(hotkey, coldkey)
    last: dict[int, float] = {}
    for r in range(rounds):
        chain.add_stake(hotkey, 1.0)
        chain.add_stake(shared, 1.0)
        last = {0: float(r + 1), uid: float(index + 1)}
        chain.set_weights(hotkey, last)
    print(json.dumps({"uid": uid, "hotkey": hotkey, "last": {str(k): v for k, v in last.items()}}))


if __name__ == "__main__":
    main()
