"""``dojo worker-api``: run the labelling backend (and its web UI), in one process or several."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

import typer

from dojo.cli.options import service_overrides, service_settings

# the parent's command-line overrides, handed to each worker process (which reads the same environment)
OVERRIDES_ENV = "DOJO_WORKER_API_OVERRIDES"


def worker_api(
    host: Optional[str] = typer.Option(None, help="Address to listen on \\[env DOJO_WORKER_HOST, default 127.0.0.1]."),
    port: Optional[int] = typer.Option(None, help="Port to listen on \\[env DOJO_WORKER_PORT, default 8080]."),
    db_url: Optional[str] = typer.Option(
        None,
        "--db-url",
        help="sqlite:///FILE or postgresql+psycopg://… \\[env DOJO_WORKER_DB_URL, default <home>/worker.db].",
    ),
    redis_url: Optional[str] = typer.Option(
        None,
        "--redis-url",
        help="Redis for nonces and rate limits, shared by several processes \\[env DOJO_REDIS_URL].",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Processes serving one port; more than 1 needs PostgreSQL and Redis (shared nonces and rate limits).",
    ),
    network: Optional[str] = typer.Option(
        None, "--network", help="Chain checked at miner login \\[env DOJO_CHAIN_NETWORK]."
    ),
    netuid: Optional[int] = typer.Option(None, "--netuid", help="Subnet uid \\[env DOJO_CHAIN_NETUID]."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Timing profile: prod or fast \\[env DOJO_PROFILE]."),
    home: Optional[Path] = typer.Option(None, "--home", help="Data directory \\[env DOJO_HOME, default ~/.dojo]."),
) -> None:
    """Run the worker API: wallet logins, miner keys, tasks and results, with the web UI at /."""
    from dojo.worker_api.app import serve

    overrides = service_overrides(
        home=home,
        profile=profile,
        network=network,
        netuid=netuid,
        redis_url=redis_url,
        worker__host=host,
        worker__port=port,
        worker__db_url=db_url,
    )
    settings = service_settings(overrides)
    if workers == 1:
        serve(settings)
        return
    from dojo.serving import serve_worker_processes

    os.environ[OVERRIDES_ENV] = json.dumps(overrides)
    serve_worker_processes(settings, workers, f"{__name__}:app_in_worker_process")


def app_in_worker_process() -> Any:
    """The app of one worker process (uvicorn calls this in each): settings as the parent read them."""
    from dojo.worker_api.app import create_app

    return create_app(service_settings(json.loads(os.environ.get(OVERRIDES_ENV, "{}"))))
