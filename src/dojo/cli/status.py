"""``dojo status``: what an operator checks first, for each role whose store is in this environment.

Read-only: it opens the stores named by the settings (``DOJO_HOME``, ``DOJO_VALIDATOR_DB_URL``,
``DOJO_WORKER_DB_URL``), never migrates or writes them, and talks to no service or chain.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from dojo.cli.options import Home
from dojo.config import Settings, load_settings
from dojo.errors import DojoError

ROLES = ("validator", "miner", "worker-api")


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, None for any other database."""
    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("sqlite"):
        return None
    return Path(parsed.database or "").expanduser()


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _where(settings: Settings) -> dict[str, str]:
    """Where each role's store is: a database URL, or the miner's SQLite file."""
    return {
        "validator": settings.validator_db_url(),
        "miner": str(settings.home / "miner.db"),
        "worker-api": settings.worker_db_url(),
    }


def _present(role: str, where: str) -> bool:
    """Whether the role's store exists here: its SQLite file does, or a server database is configured."""
    if role == "miner":
        return Path(where).is_file()
    path = _sqlite_file(where)
    return path is None or path.is_file()


def pick_roles(settings: Settings, role: str) -> list[str]:
    """The roles to show: the one asked for (its store must exist), or every role found (``auto``)."""
    where = _where(settings)
    if role != "auto":
        if role not in ROLES:
            raise DojoError(f"unknown role {role!r}: expected auto, {', '.join(ROLES)}")
        if not _present(role, where[role]):
            raise DojoError(
                f"no {role} store at {_shown(where[role]) if '://' in where[role] else where[role]}: is this the "
                f"{role}'s environment? Set DOJO_HOME (or --home)"
                + ("" if role == "miner" else f" or DOJO_{role.split('-')[0].upper()}_DB_URL")
                + " as its service has them"
            )
        return [role]
    found = [r for r in ROLES if _present(r, where[r])]
    if not found:
        looked = "; ".join(f"{r}: {_shown(w) if '://' in w else w}" for r, w in where.items())
        raise DojoError(
            f"nothing to show: no validator, miner or worker API store in this environment (looked at {looked}). "
            "Run it where the service runs, or set DOJO_HOME (--home) or DOJO_VALIDATOR_DB_URL / DOJO_WORKER_DB_URL"
        )
    return found


# ---- gathering (plain data, what --json prints) ------------------------------------------------


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="seconds")
    return value


def validator_status(settings: Settings, rounds: int = 5, top: int = 10) -> dict[str, Any]:
    """Last rounds, active miners, top running scores with their last weights, weight submissions, external queue."""
    from dojo.validator.states import AssignmentState
    from dojo.validator.store.repo import ValidatorStore

    url = settings.validator_db_url()
    store = ValidatorStore.open_read_only(url)  # an operator's look never writes, nor takes the write lock
    if store is None:
        raise DojoError(f"the validator store at {_shown(url)} has no tables yet: has the validator run here?")
    try:
        recent = store.recent_rounds(rounds)
        activity = store.miner_activity(rounds)
        running = store.running_rows()
        last_ok = store.last_weights_set()
        submissions = store.recent_weight_submissions(rounds)
        external = store.external_queue()
    finally:
        store.dispose()
    weights = {int(uid): float(w) for uid, w in (last_ok.weights if last_ok else {}).items()}
    refused = {AssignmentState.planned.value, AssignmentState.dispatch_failed.value}
    miners = [
        {
            **m,
            "accepted": sum(n for s, n in m["copies"].items() if s not in refused),
            "failed": sum(n for s, n in m["copies"].items() if s.endswith("_failed")),
        }
        for m in activity
    ]
    ranked = sorted(running, key=lambda r: (-r.score, r.uid))[:top]
    return {
        "role": "validator",
        "store": _shown(url),
        "rounds": [{**r, "created_at": _iso(r["created_at"]), "scored_at": _iso(r["scored_at"])} for r in recent],
        "window_rounds": rounds,
        "active_miners": sum(1 for m in miners if m["accepted"]),
        "miners": miners,
        "running": [
            {
                "uid": r.uid,
                "hotkey": r.hotkey,
                "score": r.score,
                "tasks": r.n,
                "last_round": r.last_round,
                "weight": weights.get(r.uid),
            }
            for r in ranked
        ],
        "last_weights_set": None
        if last_ok is None
        else {"block": last_ok.block, "at": _iso(last_ok.created_at), "miners": len(weights)},
        "weight_submissions": [
            {"block": w.block, "status": w.status, "message": w.message, "at": _iso(w.created_at)} for w in submissions
        ],
        "external": {
            "states": external["states"],
            "queued": external["states"].get("queued", 0),
            "oldest_queued_at": _iso(external["oldest_queued_at"]),
        },
    }


def miner_status(settings: Settings) -> dict[str, Any]:
    """Tasks received, open, labelled and fed back, and the last score a validator sent."""
    from dojo.miner.store import TaskMap

    path = settings.home / "miner.db"
    store = TaskMap(path)
    try:
        s = store.summary_sync()
    finally:
        store.close()
    return {
        "role": "miner",
        "store": str(path),
        "tasks": {"received": s.received, "open": s.open, "labelled": s.labelled, "fed_back": s.fed_back},
        "validators": s.validators,
        "last_task_at": s.last_received_at,
        "last_score": s.last_score,
        "last_score_at": s.last_score_at,
        "worker_api": settings.miner.worker_api_url,
    }


def worker_status(settings: Settings) -> dict[str, Any]:
    """Tasks by status, labellers, results per hour."""
    from dojo.worker_api.store.stats import overview_of

    url = settings.worker_db_url()
    o = asyncio.run(overview_of(url))
    return {
        "role": "worker-api",
        "store": _shown(url),
        "tasks": o.tasks,
        "open_past_deadline": o.open_expired,
        "miners": o.miners,
        "labellers": {"total": o.labellers, "seen_24h": o.labellers_seen_24h, "active_1h": o.labellers_active_1h},
        "results": {
            "total": o.results_total,
            "last_hour": o.results_last_hour,
            "per_hour_24h": o.results_per_hour_24h,
            "last_at": _iso(o.last_result_at),
        },
    }


def gather(settings: Settings, roles: list[str], rounds: int = 5, top: int = 10) -> list[dict[str, Any]]:
    """Each role's status, in the order given; a store that cannot be read is a DojoError naming it."""
    readers: dict[str, Callable[[], dict[str, Any]]] = {
        "validator": lambda: validator_status(settings, rounds, top),
        "miner": lambda: miner_status(settings),
        "worker-api": lambda: worker_status(settings),
    }
    out = []
    for role in roles:
        try:
            out.append(readers[role]())
        except DojoError:
            raise
        except Exception as exc:  # noqa: BLE001 - database drivers raise many kinds; say which store and why
            where = _where(settings)[role]
            raise DojoError(
                f"cannot read the {role} store at {_shown(where) if '://' in where else where}: "
                f"{str(exc).splitlines()[0][:300]} (has its service run once, to create and migrate it?)"
            ) from exc
    return out


# ---- printing ----------------------------------------------------------------------------------


def _ago(text: str | None, now: datetime) -> str:
    if not text:
        return "—"
    when = datetime.fromisoformat(text)
    s = max(0, int((now - when).total_seconds()))
    span = f"{s}s" if s < 120 else f"{s // 60}m" if s < 7200 else f"{s // 3600}h" if s < 172800 else f"{s // 86400}d"
    return f"{when.strftime('%Y-%m-%d %H:%M:%S')} ({span} ago)"


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "—"


def _print_validator(c: Console, st: dict[str, Any], now: datetime) -> None:
    t = Table(title="Last rounds", title_justify="left")
    for col in ("round", "state", "created", "scored", "tasks", "copies by state"):
        t.add_column(col)
    for r in st["rounds"]:
        t.add_row(
            str(r["id"]),
            r["state"],
            _ago(r["created_at"], now),
            _ago(r["scored_at"], now),
            _counts(r["tasks"]),
            _counts(r["copies"]),
        )
    c.print(t if st["rounds"] else "[yellow]no rounds yet[/]")
    window = f"Miners sent tasks in the last {st['window_rounds']} rounds: {st['active_miners']} active"
    t = Table(title=window, title_justify="left")
    for col in ("uid", "hotkey", "accepted", "failed", "copies by state"):
        t.add_column(col, justify="right" if col in ("uid", "accepted", "failed") else "left")
    for m in st["miners"]:
        t.add_row(str(m["uid"]), m["hotkey"], str(m["accepted"]), str(m["failed"]), _counts(m["copies"]))
    c.print(t if st["miners"] else "[yellow]no miner was sent a task in these rounds[/]")
    t = Table(title="Top running scores", title_justify="left")
    for col in ("uid", "hotkey", "running score", "tasks (decayed)", "last round", "last weight set"):
        t.add_column(col, justify="left" if col == "hotkey" else "right")
    for r in st["running"]:
        w = "—" if r["weight"] is None else f"{r['weight']:.4f}"
        t.add_row(str(r["uid"]), r["hotkey"], f"{r['score']:+.4f}", f"{r['tasks']:.1f}", str(r["last_round"]), w)
    c.print(t if st["running"] else "[yellow]no miner scored yet[/]")
    last = st["last_weights_set"]
    if last is None:
        c.print("Weights: [yellow]never set[/]")
    else:
        c.print(f"Weights last set at block {last['block']}, {_ago(last['at'], now)}, for {last['miners']} miners")
    for w in st["weight_submissions"]:
        if w["status"] != "ok":
            c.print(f"  [red]{w['status']}[/] at block {w['block']}, {_ago(w['at'], now)}: {w['message'] or ''}")
    ext = st["external"]
    oldest = f", oldest queued {_ago(ext['oldest_queued_at'], now)}" if ext["oldest_queued_at"] else ""
    c.print(f"External tasks: {_counts(ext['states'])}{oldest}")


def _print_miner(c: Console, st: dict[str, Any], now: datetime) -> None:
    t = Table(title="Tasks from validators", title_justify="left")
    for col in ("received", "open", "labelled", "scored (fed back)", "validators", "last task"):
        t.add_column(col, justify="right")
    tasks = st["tasks"]
    t.add_row(
        str(tasks["received"]),
        str(tasks["open"]),
        str(tasks["labelled"]),
        str(tasks["fed_back"]),
        str(st["validators"]),
        _ago(st["last_task_at"], now),
    )
    c.print(t)
    score = "—" if st["last_score"] is None else f"{st['last_score']:+.4f}"
    c.print(f"Last score received: {score} ({_ago(st['last_score_at'], now)}) · worker API {st['worker_api']}")


def _print_worker(c: Console, st: dict[str, Any], now: datetime) -> None:
    t = Table(title="Tasks", title_justify="left")
    for col in ("open", "completed", "expired", "closed", "open past deadline", "miners"):
        t.add_column(col, justify="right")
    tasks = st["tasks"]
    t.add_row(
        *(str(tasks.get(k, 0)) for k in ("open", "completed", "expired", "closed")),  # worker_api.lifecycle
        str(st["open_past_deadline"]),
        str(st["miners"]),
    )
    c.print(t)
    lab, res = st["labellers"], st["results"]
    t = Table(title="Labellers and results", title_justify="left")
    for col in ("labellers", "signed in (24 h)", "active (1 h)", "results", "last hour", "per hour (24 h)", "last"):
        t.add_column(col, justify="right")
    t.add_row(
        str(lab["total"]),
        str(lab["seen_24h"]),
        str(lab["active_1h"]),
        str(res["total"]),
        str(res["last_hour"]),
        f"{res['per_hour_24h']:.2f}",
        _ago(res["last_at"], now),
    )
    c.print(t)


PRINTERS: dict[str, Callable[[Console, dict[str, Any], datetime], None]] = {
    "validator": _print_validator,
    "miner": _print_miner,
    "worker-api": _print_worker,
}


def status(
    role: str = typer.Option("auto", "--role", help="validator | miner | worker-api | auto (every store found here)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object for scripts instead of tables."),
    rounds: int = typer.Option(5, "--rounds", min=1, max=1000, help="Validator: how many recent rounds to show."),
    top: int = typer.Option(10, "--top", min=1, max=10000, help="Validator: how many running scores to show."),
    home: Home = None,
) -> None:
    """What an operator checks first: the state of this environment's validator, miner or worker API."""
    settings = load_settings(home=home)
    found = gather(settings, pick_roles(settings, role), rounds, top)
    if as_json:
        typer.echo(json.dumps({"roles": found}, indent=2, default=str))
        return
    console, now = Console(), datetime.now(timezone.utc)
    for st in found:
        console.rule(f"[bold]{st['role']}[/] · {st['store']}")
        PRINTERS[st["role"]](console, st, now)
