"""``dojo worker-api``: run the labelling backend (and its web UI)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


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
    network: Optional[str] = typer.Option(
        None, "--network", help="Chain checked at miner login \\[env DOJO_CHAIN_NETWORK]."
    ),
    netuid: Optional[int] = typer.Option(None, "--netuid", help="Subnet uid \\[env DOJO_CHAIN_NETUID]."),
    profile: Optional[str] = typer.Option(None, "--profile", help="Timing profile: prod or fast \\[env DOJO_PROFILE]."),
    home: Optional[Path] = typer.Option(None, "--home", help="Data directory \\[env DOJO_HOME, default ~/.dojo]."),
) -> None:
    """Run the worker API: wallet logins, miner keys, tasks and results, with the web UI at /."""
    from dojo.config import load_settings
    from dojo.logs import setup_logging
    from dojo.worker_api.app import serve

    settings = load_settings(
        home=home,
        profile=profile,
        redis_url=redis_url,
        worker__host=host,
        worker__port=port,
        worker__db_url=db_url,
        chain__network=network,
        chain__netuid=netuid,
    )
    setup_logging(settings.log_level, settings.log_json)
    serve(settings)
