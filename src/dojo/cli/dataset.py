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


def _parse_margin(text: str) -> float | None:
    if text.strip().lower() == "auto":
        return None
    try:
        return float(text)
    except ValueError:
        raise DojoError(f"--min-margin {text!r} is not a number: expected auto or a value in [0, 1]") from None


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
    min_margin: str = typer.Option(
        "auto",
        "--min-margin",
        help="Keep a pair only when the two answers' mean normalised scores differ by at least this (0–1). "
        "auto = one point of each task's own scale (1/9 on 1–10; 1/(n−1) for rankings): a smaller difference "
        "is what one labeller moving one point makes, not a preference of the crew.",
    ),
    pairs_format: str = typer.Option(
        "standard",
        "--pairs-format",
        help="standard (prompt/chosen/rejected strings) | conversational (TRL's message lists).",
    ),
    max_tokens: int | None = typer.Option(
        None,
        "--max-tokens",
        help="Token budget of your trainer (TRL max_length): pairs whose answers are identical once prompt + "
        "answer are cut to N tokens are dropped (or flagged, see --truncated). Counted with a simple regex "
        "tokenizer (words and punctuation), not the model's.",
    ),
    truncated: str = typer.Option(
        "drop", "--truncated", help="drop | flag the pairs identical under --max-tokens (flag: same_when_truncated)."
    ),
    push_to_hub: str | None = typer.Option(
        None,
        "--push-to-hub",
        help="Also upload the export to this Hugging Face dataset repo (owner/name); token from HF_TOKEN.",
    ),
    private: bool = typer.Option(True, "--private/--public", help="Visibility of a repo --push-to-hub creates."),
) -> None:
    """Write one row per labelled task (prompt, responses, every labeller's scores, aggregate, agreement,
    ground truth), a preference-pair table (prompt, chosen, rejected, margin) ready for DPO trainers, and a
    dataset card (README.md)."""
    from dojo.config import load_settings
    from dojo.dataset import PairOptions, export_dataset
    from dojo.dataset.export import FORMATS

    if fmt not in FORMATS:
        raise DojoError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    opts = PairOptions(
        min_margin=_parse_margin(min_margin), fmt=pairs_format, max_tokens=max_tokens, truncation=truncated
    )
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
        summary = export_dataset(
            url, out, fmt=fmt, since=since_dt, progress=lambda n: progress.advance(bar, n), pairs=opts
        )
    console.print(
        f"wrote [bold]{summary.tasks}[/] labelled tasks and [bold]{summary.pairs}[/] preference pairs "
        f"({opts.fmt}) as {summary.format} to {summary.out}"
    )
    c = summary.counts
    console.print(f"  min margin {summary.min_margin_text}: {c.below_margin} pairs below it left out")
    if opts.max_tokens is not None:
        done = "dropped" if opts.truncation == "drop" else "flagged (same_when_truncated)"
        console.print(
            f"  {c.same_when_truncated} pairs identical when cut to {opts.max_tokens} tokens (regex tokenizer): {done}"
        )
    for f in summary.files:
        console.print(f"  {f}")
    if push_to_hub:
        from dojo.dataset.hub import push_export

        url_pushed = push_export(summary.out, push_to_hub, private=private)
        console.print(f"pushed to {url_pushed}")
