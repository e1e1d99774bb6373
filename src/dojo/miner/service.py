"""Run a miner: check the wallet, registration and worker API key, listen, publish the address, serve.

The address is published only once the socket is listening, so a validator that reads it from
the chain never finds a closed port. SIGTERM and SIGINT stop the server gracefully (in-flight
requests finish, the task map is closed) and the process exits 0.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from contextlib import suppress
from typing import TYPE_CHECKING

from dojo import serving
from dojo.chain.base import Neuron
from dojo.config import Settings
from dojo.errors import DojoError, NotRegistered
from dojo.logs import log

if TYPE_CHECKING:
    from bittensor import Wallet

    from dojo.chain.base import Chain

logger = logging.getLogger("dojo.miner")


def published_ip(settings: Settings) -> str:
    """The IP validators should call: ``miner.external_ip``, else the bind host if it is a concrete address."""
    ip = (settings.miner.external_ip or settings.miner.host).strip()
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        raise DojoError(
            f"cannot publish {ip!r}: the published address must be an IP; set DOJO_MINER_EXTERNAL_IP"
        ) from None
    if addr.is_unspecified:
        raise DojoError(
            f"the miner listens on {ip}, which validators cannot call: set DOJO_MINER_EXTERNAL_IP to its public IP"
        )
    return str(addr)


def check_registered(chain: Chain, wallet: Wallet, settings: Settings) -> Neuron:
    """The wallet hotkey's neuron; ``NotRegistered`` with a hint when it has none."""
    hotkey = wallet.hotkey.ss58_address
    neuron = chain.metagraph().by_hotkey(hotkey)
    if neuron is None:
        raise NotRegistered(
            f"hotkey {hotkey} (wallet {settings.wallet.name}/{settings.wallet.hotkey}) is not registered on "
            f"subnet {settings.chain.netuid} of the {settings.chain.network!r} chain: register it first"
            + (" (`dojo chain register`)" if settings.chain.network == "local" else "")
        )
    return neuron


async def serve_miner(
    settings: Settings,
    *,
    chain: Chain | None = None,
    wallet: Wallet | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the miner until SIGTERM/SIGINT (or ``stop`` is set); raise ``DojoError``/``ChainError`` on a startup problem.

    ``chain`` and ``wallet`` replace the ones the settings name (tests, embedding).
    """
    from dojo.chain import open_chain
    from dojo.chain.wallets import load_wallet
    from dojo.miner.app import create_app
    from dojo.miner.metrics import metrics_port
    from dojo.miner.worker_client import WorkerApiClient

    m = settings.miner
    if not m.api_key:
        raise DojoError(
            "no worker API key: set DOJO_MINER_API_KEY (or --api-key) to a key made with `dojo keys api-key generate`"
        )
    ip = published_ip(settings)
    wallet = wallet or load_wallet(settings.wallet.name, settings.wallet.hotkey, settings.wallet.path)
    own_chain = chain is None
    chain = chain or open_chain(settings)
    hotkey = wallet.hotkey.ss58_address
    neuron = await asyncio.to_thread(check_registered, chain, wallet, settings)
    sock = serving.listen(m.host, m.port, service="miner")
    port = sock.getsockname()[1]
    worker = WorkerApiClient(
        m.worker_api_url, m.api_key, timeout=m.worker_api_timeout_s, attempts=m.worker_api_attempts
    )
    app = create_app(settings, wallet, chain, worker)
    metrics = serving.serve_metrics(
        app.state.metrics.registry, m.metrics_host, metrics_port(m.metrics_port, port), "miner"
    )
    config = serving.build_config(app, m.host, port, log_level=None, proxy_headers=True)
    try:
        with serving.graceful_signals("miner"):
            running = await serving.start(config, service="miner", sock=sock)
            if (neuron.ip, neuron.port) == (ip, port):  # already on the chain: spare a transaction (and its limit)
                log(logger, "miner.address_unchanged", hotkey=hotkey, uid=neuron.uid, ip=ip, port=port)
            else:
                try:
                    await asyncio.to_thread(chain.publish_address, wallet, ip, port)
                except BaseException:
                    with suppress(Exception):
                        await running.stop()
                    raise
            log(
                logger,
                "miner.published",
                hotkey=hotkey,
                uid=neuron.uid,
                ip=ip,
                port=port,
                network=settings.chain.network,
                netuid=settings.chain.netuid,
            )
            if stop is not None:
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait({running.task, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                await running.stop()
            await running.wait()
    finally:
        sock.close()
        if metrics is not None:
            metrics.close()
        await worker.aclose()
        close = getattr(chain, "close", None) if own_chain else None
        if close is not None:
            with suppress(Exception):
                close()
    log(logger, "miner.exit", hotkey=hotkey)


def run_miner(settings: Settings) -> None:
    """Blocking entry point of ``dojo miner``."""
    asyncio.run(serve_miner(settings))
