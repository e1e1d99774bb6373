"""Drive the local network from start to leaderboard, with live progress on the terminal."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from dojo.errors import DojoError
from dojo.localnet.network import (
    LocalnetConfig,
    LocalnetResult,
    LocalNetwork,
    MinerResult,
    ranked_as_expected,
    ranking_problems,
)


def _live_view(net: LocalNetwork, status: dict[str, Any], started: float) -> Group:
    tasks = status["tasks"]
    made = sum(tasks.values())
    head = Text.assemble(
        ("round ", "bold"),
        f"{status['rounds']}/{net.cfg.rounds} scored   ",
        ("tasks ", "bold"),
        f"{made} created, {tasks.get('dispatched', 0)} out with miners, "
        f"{tasks.get('scored', 0) + tasks.get('fed_back', 0)} scored   ",
        ("elapsed ", "bold"),
        f"{time.monotonic() - started:.0f}s",
    )
    table = Table(box=None, pad_edge=False)
    for col in ("miner", "crew", "labels", "mean task score", "running score"):
        table.add_column(col)
    for m in net.miners:
        mean = status["means"].get(m.hotkey)
        score = status["scores"].get(m.hotkey)
        table.add_row(
            f"miner{m.index}" + (" [red](killed)[/]" if m.killed else ""),
            m.crew.label,
            str(status["labels"].get(m.hotkey, 0)),
            "—" if mean is None else f"{mean:.3f}",
            "—" if score is None else f"{score:.3f}",
        )
    return Group(head, table, *[Text(e, style="yellow") for e in net.events])


def leaderboard_table(rows: list[MinerResult]) -> Table:
    """The final table: each miner's crew, scores, weight and balance, best first."""
    table = Table(
        title="Leaderboard",
        title_style="bold",
        caption="tasks: tasks scored · score: mean task score (signed; chance 0) · running: the score weights "
        "come from · balance: emission earned",
    )
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("miner (uid)", no_wrap=True, max_width=11)
    table.add_column("crew", ratio=1, min_width=12)
    for col in ("tasks", "score", "running", "weight", "balance"):
        table.add_column(col, justify="right", no_wrap=True)
    for i, r in enumerate(sorted(rows, key=lambda r: -r.weight), 1):
        name = f"{r.name} ({r.uid})" + ("\n[red]killed[/]" if r.killed else "")
        table.add_row(
            str(i),
            name,
            r.crew.label,
            str(r.tasks),
            "—" if r.mean_task_score is None else f"{r.mean_task_score:.3f}",
            "—" if r.running_score is None else f"{r.running_score:.3f}",
            f"{r.weight:.3f}",
            f"{r.balance:.3f}",
        )
    return table


async def _run(net: LocalNetwork, console: Console) -> LocalnetResult:
    net.make_labellers()
    stop = asyncio.Event()
    crews = [asyncio.create_task(lab.run(stop)) for m in net.miners for lab in m.labellers]
    labellers = [lab for m in net.miners for lab in m.labellers]
    started = time.monotonic()
    try:
        with console.status(f"{len(labellers)} simulated labellers signing in with their wallets…"):
            while not all(lab.ready for lab in labellers):
                if time.monotonic() - started > 120:
                    raise DojoError(f"labellers could not sign in within 120 s; see {net.logs}")
                await asyncio.sleep(0.1)
        with console.status("starting the validator…"):
            await asyncio.to_thread(net.start_validator)
        console.print(
            f"[green]✓[/] {len(net.services)} processes up: "
            + ", ".join(f"{s.name} (pid {s.pid})" for s in net.services)
        )
        announce_external_api(net, console)
        started = time.monotonic()
        if net.cfg.external_tasks:
            await net.submit_external()
        with Live(
            _live_view(net, net.status(), started),
            console=console,
            refresh_per_second=4,
            transient=not console.is_terminal,
        ) as live:
            while True:
                status = await asyncio.to_thread(net.status)
                live.update(_live_view(net, status, started))
                net.maybe_kill(status)
                assert net.validator is not None
                code = net.validator.exit_code()
                if code is not None:
                    if code != 0:
                        raise DojoError(
                            f"the validator exited with code {code}; see {net.validator.log_path}\n"
                            f"{net.validator.tail()}"
                        )
                    break
                failed = net.failures()
                if failed:
                    raise DojoError("a process of the local network failed:\n  " + "\n  ".join(failed))
                if time.monotonic() - started > net.cfg.timeout_s:
                    raise DojoError(f"the rounds did not finish within {net.cfg.timeout_s:.0f}s; logs in {net.logs}")
                await asyncio.sleep(0.25)
    finally:
        if not net.cfg.keep_open:
            stop.set()
            await asyncio.gather(*crews, return_exceptions=True)
    # the validator has exited by now: what it answered on its external API is in its store
    external = await asyncio.to_thread(net.external_from_store)
    await asyncio.to_thread(net.wait_for_emission)
    rows = net.leaderboard()
    net.write_leaderboard(rows)
    dataset_dir, n = await asyncio.to_thread(net.export)
    if net.cfg.keep_open:
        console.print(leaderboard_table(rows))
        stop.set()  # the simulated crews step aside so people can take the tasks
        await asyncio.gather(*crews, return_exceptions=True)
        await asyncio.to_thread(net.start_validator, True)
        announce_external_api(net, console)
        _keep_open(net, console)
    return LocalnetResult(
        home=net.home,
        miners=rows,
        dataset_dir=dataset_dir,
        dataset_tasks=n,
        external=external,
        failures=[],
        ranked_as_expected=ranked_as_expected(rows),
    )


def announce_external_api(net: LocalNetwork, console: Console) -> Path:
    """Print the validator's external-task API address and token; write them to ``HOME/external-api.env``.

    ``set -a; . HOME/external-api.env; set +a`` gives ``dojo external submit|status|fetch`` (and
    ``dojo.client``'s token) the local network's validator.
    """
    url = f"http://127.0.0.1:{net.external_port}"
    path = net.home / "external-api.env"
    path.write_text(f"DOJO_EXTERNAL_URL={url}\nDOJO_VALIDATOR_EXTERNAL_API_TOKEN={net.external_token}\n")
    path.chmod(0o600)
    console.print(
        f"external-task API: {url}  token [bold]{net.external_token}[/]\n"
        f"  for dojo external: [bold]set -a; . {path}; set +a[/]",
        soft_wrap=True,  # a token or a path cut by the terminal's width cannot be copied
    )
    return path


def _keep_open(net: LocalNetwork, console: Console) -> None:
    console.print("\n[bold]The local network stays up[/] (Ctrl-C to stop). Label in your browser:")
    for m in net.miners:
        console.print(f"  miner{m.index}: web UI {m.worker_url}/  subscription key [bold]{m.subscription_key}[/]")
    console.print("  A validator keeps sending new tasks every few seconds; the simulated labellers have stopped.")
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        console.print("stopping…")


def _stop_on_sigterm() -> None:
    """SIGTERM (a supervisor, a test) stops the network as Ctrl-C does, so every child is stopped."""
    import signal
    import threading

    def _raise(_sig: int, _frame: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise)


def run_localnet(cfg: LocalnetConfig, console: Console | None = None) -> LocalnetResult:
    """Build the network, run it to the end, print the leaderboard; stop every process in any case."""
    import warnings

    warnings.filterwarnings("ignore", module=r"abnf(\..*)?$")  # siwe's grammar warns on every parse
    console = console or Console()
    net = LocalNetwork(cfg)
    _stop_on_sigterm()
    console.print(f"[bold]Dojo local network[/] in {net.home} (logs in {net.logs})")
    failures: list[str] = []
    try:
        with console.status("creating wallets and the local chain…"):
            net.setup_chain()
        with console.status("starting the synthetic API and worker API(s)…"):
            net.start_backends()
        with console.status("miners: logging in to their worker APIs, making keys, starting…"):
            net.make_keys()
            net.start_miners()
        result = asyncio.run(_run(net, console))
    finally:
        failures = net.stop_all()
    result.failures = failures
    console.print(leaderboard_table(result.miners))
    for e in net.events:
        console.print(f"[yellow]•[/] {e}")
    for r in result.miners:
        if r.killed:
            before = "—" if r.score_before_kill is None else f"{r.score_before_kill:.3f}"
            after = "—" if r.running_score is None else f"{r.running_score:.3f}"
            console.print(f"[yellow]•[/] {r.name} was down for the later rounds: running score {before} → {after}")
    for ext in result.external:
        res = ext.get("result") or {}
        agree = res.get("agreement")
        console.print(
            f"external task {ext.get('id')}: {ext.get('state')}"
            + (f", {res.get('labellers')} labels, agreement {agree:.2f}" if agree is not None else "")
        )
    verdict = (
        "[green]✓ the weights rank the miners by the quality of their crews[/]"
        if result.ranked_as_expected
        else "[yellow]! the weights do not rank every miner by its crew's quality this time[/]"
    )
    console.print(verdict)
    for problem in ranking_problems(result.miners):
        console.print(f"  [yellow]·[/] {problem}")
    console.print(f"leaderboard: {net.home / 'leaderboard.json'}")
    console.print(f"dataset: {result.dataset_tasks} labelled tasks written to {result.dataset_dir}")
    for f in failures:
        console.print(f"[red]✗[/] {f}")
    return result
