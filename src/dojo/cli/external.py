"""``dojo external``: a file of prompts and responses in, a labelled dataset out (DESIGN §9)."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from dojo.errors import DojoError

app = typer.Typer(no_args_is_help=True, help="External tasks: submit a file for human judgement, follow, fetch.")
console = Console()

URL_OPT = typer.Option(
    None, "--url", help="The validator's external-task API [default: DOJO_EXTERNAL_URL or http://127.0.0.1:1888]."
)
TOKEN_OPT = typer.Option(None, "--token", help="Bearer token [default: DOJO_VALIDATOR_EXTERNAL_API_TOKEN].")


def _client(url: str | None, token: str | None):  # noqa: ANN202 - imported lazily
    from dojo.client import DEFAULT_URL, DojoClient

    return DojoClient(url or os.environ.get("DOJO_EXTERNAL_URL") or DEFAULT_URL, token=token)


def _count_rows(path: Path) -> int | None:
    from dojo.client._files import input_kind

    kind = input_kind(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    if kind == "jsonl":
        with open(path, "rb") as fh:
            return sum(1 for line in fh if line.strip())
    return None


@app.command("submit")
def submit(
    file: Path = typer.Argument(..., help="JSONL, Parquet, or a folder saved by datasets (save_to_disk)."),
    url: str | None = URL_OPT,
    token: str | None = TOKEN_OPT,
    split: str | None = typer.Option(
        None, "--split", help="Split of a saved DatasetDict [default: train or the first]."
    ),
    batch_size: int = typer.Option(
        500, "--batch-size", min=1, max=500, help="Tasks per request (each request is one transaction)."
    ),
) -> None:
    """Submit every row (prompt, responses, optional criteria and your own id) for human judgement.

    Rows with an id already submitted are not submitted again, so a re-run never duplicates. A bad
    row is reported with its row number and field, and never stops the good ones."""
    from dojo.client import read_rows

    if not file.exists():
        raise DojoError(f"no such file or folder: {file}")
    total = _count_rows(file)
    with (
        _client(url, token) as client,
        Progress(
            TextColumn("[bold]submitting[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        bar = progress.add_task("submit", total=total)
        report = client.submit_many(
            read_rows(file, split), batch_size=batch_size, progress=lambda n: progress.advance(bar, n)
        )
    console.print(
        f"[bold]{report.created}[/] new tasks queued, [bold]{report.existing}[/] already submitted, "
        f"[bold]{len(report.errors)}[/] rows refused"
    )
    for err in report.errors[:20]:
        console.print(f"  [red]{err}[/]")
    if len(report.errors) > 20:
        console.print(f"  … and {len(report.errors) - 20} more")
    if report.errors and not report.accepted:
        raise typer.Exit(1)


@app.command("status")
def status(
    url: str | None = URL_OPT,
    token: str | None = TOKEN_OPT,
    window: float = typer.Option(900.0, "--window", help="Seconds of recent completions the rate is measured on."),
) -> None:
    """Counts by state, the recent completion rate, and when what is pending should be done."""
    with _client(url, token) as client:
        s = client.summary(window)
    table = Table(title="external tasks")
    table.add_column("state")
    table.add_column("tasks", justify="right")
    for state, n in s["counts"].items():
        table.add_row(state, str(n))
    table.add_row("[bold]total[/]", f"[bold]{s['total']}[/]")
    console.print(table)
    rate = s["rate_per_s"] * 3600
    eta = s["eta_s"]
    when = (
        "nothing pending" if not s["pending"] else ("unknown (nothing finished recently)" if eta is None else _dur(eta))
    )
    console.print(f"rate: {rate:.1f} tasks/h over the last {s['window_s'] / 60:g} min · ETA: {when}")


def _dur(seconds: float) -> str:
    m, sec = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h {m:02d}m" if h else f"{m}m {sec:02d}s"


@app.command("fetch")
def fetch(
    out: Path = typer.Option(..., "--out", help="Folder to write tasks.* and pairs.* into (created if missing)."),
    fmt: str = typer.Option("parquet", "--format", help="jsonl | parquet | hf (one DatasetDict)."),
    url: str | None = URL_OPT,
    token: str | None = TOKEN_OPT,
    min_margin: str = typer.Option(
        "auto", "--min-margin", help="Pairs need this normalised margin (0–1); auto = one point of the task's scale."
    ),
) -> None:
    """Write every finished task — per-completion aggregate scores, agreement, each labeller's values —
    and its preference pairs (prompt, chosen, rejected, margin)."""
    from dojo.client._files import FORMATS

    if fmt not in FORMATS:
        raise DojoError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    try:
        margin = None if min_margin == "auto" else float(min_margin)
    except ValueError:
        raise DojoError(f"--min-margin {min_margin!r} is not a number: expected auto or a value in [0, 1]") from None
    with _client(url, token) as client:
        summary = client.fetch(out, fmt, margin)
    console.print(
        f"wrote [bold]{summary.tasks}[/] finished tasks and [bold]{summary.pairs}[/] preference pairs "
        f"as {summary.format} to {summary.out}"
    )
