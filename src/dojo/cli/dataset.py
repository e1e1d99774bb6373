"""``dojo dataset export``: the collected preference data as a dataset folder."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from dojo.errors import DojoError

app = typer.Typer(no_args_is_help=True, help="Datasets from the validator store.")
console = Console()


def _parse_since(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise DojoError(
            f"--since {text!r} is not a date: expected ISO 8601, e.g. 2026-11-01 or 2026-11-01T12:00"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@app.command("export")
def export(
    out: Path = typer.Option(..., "--out", help="Folder to write tasks.* and pairs.* into (created if missing)."),
    fmt: str = typer.Option(
        "parquet", "--format", help="jsonl | parquet | hf (a folder datasets.load_from_disk opens)."
    ),
    since: str | None = typer.Option(None, "--since", help="Only tasks created at or after this ISO date/time (UTC)."),
    db_url: str | None = typer.Option(
        None, "--db-url", help="Validator store URL [default: DOJO_VALIDATOR_DB_URL or the SQLite file in DOJO_HOME]."
    ),
    home: Path | None = typer.Option(None, "--home", help="Data directory [default: DOJO_HOME or ~/.dojo]."),
) -> None:
    """Write one row per labelled task (prompt, responses, every labeller's scores, aggregate, agreement,
    ground truth) and a preference-pair table (prompt, chosen, rejected, margin) ready for DPO trainers."""
    from dojo.config import load_settings
    from dojo.dataset import export_dataset
    from dojo.dataset.export import FORMATS

    if fmt not in FORMATS:
        raise DojoError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    since_dt = _parse_since(since)
    settings = load_settings(home=home, validator__db_url=db_url)
    url = settings.validator_db_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise DojoError(
            f"no validator store at {url.removeprefix('sqlite:///')}: run a validator first, or pass --db-url"
        )
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]exporting[/]"),
        BarColumn(),
        TextColumn("{task.completed} tasks read"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        bar = progress.add_task("export", total=None)
        summary = export_dataset(url, out, fmt=fmt, since=since_dt, progress=lambda n: progress.advance(bar, n))
    console.print(
        f"wrote [bold]{summary.tasks}[/] labelled tasks and [bold]{summary.pairs}[/] preference pairs "
        f"as {summary.format} to {summary.out}"
    )
    for f in summary.files:
        console.print(f"  {f}")
