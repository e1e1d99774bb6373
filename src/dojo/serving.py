"""Run an ASGI app with uvicorn so that SIGTERM means a graceful stop and exit code 0.

uvicorn finishes in-flight requests on SIGTERM, then re-raises the signal so the process dies
by it (exit -15). Supervisors and the local network read that as a crash; we install a handler
first so that the re-raised signal ends the process with a plain, successful exit instead.
"""

from __future__ import annotations

import signal
import sys
from typing import Any


def _exit_cleanly(_signum: int, _frame: object) -> None:
    sys.exit(0)


def run_uvicorn(app: Any, host: str, port: int, **kwargs: Any) -> None:
    """``uvicorn.run`` with a graceful, exit-0 SIGTERM."""
    import uvicorn

    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(app, host=host, port=port, **kwargs)
