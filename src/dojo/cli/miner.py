"""``dojo miner``: run a miner (signed endpoints for validators, tasks into the worker API)."""

from __future__ import annotations

from typing import Optional

import typer

from dojo.cli.options import (
    Home,
    Netuid,
    Network,
    Profile,
    WalletHotkey,
    WalletName,
    WalletPath,
    service_overrides,
    service_settings,
)


def miner(
    host: Optional[str] = typer.Option(None, help="Address to listen on (env DOJO_MINER_HOST, default 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, help="Port to listen on (env DOJO_MINER_PORT, default 8091)."),
    external_ip: Optional[str] = typer.Option(
        None, "--external-ip", help="IP published on the chain (env DOJO_MINER_EXTERNAL_IP, default: --host)."
    ),
    worker_api_url: Optional[str] = typer.Option(
        None, "--worker-api-url", help="The worker API (env DOJO_MINER_WORKER_API_URL, default http://127.0.0.1:8080)."
    ),
    api_key: Optional[str] = typer.Option(
        None, "--api-key", help="Worker API key (prefer env DOJO_MINER_API_KEY: flags show in `ps`)."
    ),
    wallet_name: WalletName = None,
    wallet_hotkey: WalletHotkey = None,
    wallet_path: WalletPath = None,
    network: Network = None,
    netuid: Netuid = None,
    profile: Profile = None,
    home: Home = None,
) -> None:
    """Run a miner: publish its address, take validators' tasks into the worker API, return the results."""
    from dojo.miner.service import run_miner

    overrides = service_overrides(
        home=home,
        profile=profile,
        network=network,
        netuid=netuid,
        wallet_name=wallet_name,
        wallet_hotkey=wallet_hotkey,
        wallet_path=wallet_path,
        miner__host=host,
        miner__port=port,
        miner__external_ip=external_ip,
        miner__worker_api_url=worker_api_url,
        miner__api_key=api_key,
    )
    run_miner(service_settings(overrides))
