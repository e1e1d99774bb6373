"""``dojo localnet``: a whole Dojo subnet on this machine, as real processes on loopback.

Open ``network`` first (the order of things, :class:`LocalNetwork`), then ``roles`` (each
process's command line), ``processes`` (starting and stopping them by PID), ``crews`` /
``skills`` / ``strategies`` (who labels, honestly or not), ``labellers`` (the simulated people),
``oracle`` (their truth), ``leaderboard`` and ``run`` (the terminal view). The names below are
imported on first use, so importing one of these modules stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dojo._lazy import lazy_exports

if TYPE_CHECKING:
    from dojo.localnet.crews import DEFAULT_CREWS, Crew, check_crews, parse_crews
    from dojo.localnet.labellers import SimulatedLabeller
    from dojo.localnet.leaderboard import MinerResult
    from dojo.localnet.network import LocalnetConfig, LocalNetwork
    from dojo.localnet.oracle import TruthOracle
    from dojo.localnet.processes import Service, free_port
    from dojo.localnet.run import run_localnet
    from dojo.localnet.skills import Skill

_EXPORTS = {
    "DEFAULT_CREWS": "dojo.localnet.crews",
    "Crew": "dojo.localnet.crews",
    "check_crews": "dojo.localnet.crews",
    "parse_crews": "dojo.localnet.crews",
    "SimulatedLabeller": "dojo.localnet.labellers",
    "MinerResult": "dojo.localnet.leaderboard",
    "LocalnetConfig": "dojo.localnet.network",
    "LocalNetwork": "dojo.localnet.network",
    "TruthOracle": "dojo.localnet.oracle",
    "Service": "dojo.localnet.processes",
    "free_port": "dojo.localnet.processes",
    "run_localnet": "dojo.localnet.run",
    "Skill": "dojo.localnet.skills",
}

__all__ = [
    "DEFAULT_CREWS",
    "Crew",
    "LocalNetwork",
    "LocalnetConfig",
    "MinerResult",
    "Service",
    "SimulatedLabeller",
    "Skill",
    "TruthOracle",
    "check_crews",
    "free_port",
    "parse_crews",
    "run_localnet",
]

__getattr__ = lazy_exports(__name__, _EXPORTS)
