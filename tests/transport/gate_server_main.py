"""A gated echo server as its own process: ``python gate_server_main.py CONFIG.json PORT``.

CONFIG holds ``self_hotkey``, ``min_stake``, ``redis_url``, ``prefix`` and ``neurons`` (Neuron fields).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).parent))

from transport_servers import Calls, gated_app  # noqa: E402

from dojo.chain.base import Metagraph, Neuron  # noqa: E402
from dojo.transport.nonces import make_nonce_store  # noqa: E402
from dojo.transport.server import ValidatorGate  # noqa: E402


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    port = int(sys.argv[2])
    snapshot = Metagraph(netuid=1, block=1, neurons=tuple(Neuron(**n) for n in config["neurons"]))
    store = make_nonce_store(config["redis_url"], config["prefix"])
    gate = ValidatorGate(config["self_hotkey"], lambda: snapshot, config["min_stake"], store)
    uvicorn.run(gated_app(gate, Calls()), host="127.0.0.1", port=port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
