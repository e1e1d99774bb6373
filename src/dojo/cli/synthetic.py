"""``dojo synthetic-api`` (the task service) and ``dojo synthetic sample|validate`` (look at tasks by hand)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from dojo.errors import DojoError

app = typer.Typer(no_args_is_help=True, help="Synthetic tasks: write one out to open in a browser, check documents.")


def synthetic_api(
    host: Optional[str] = typer.Option(
        None, help="Address to listen on \\[env DOJO_SYNTHETIC_HOST, default 127.0.0.1]."
    ),
    port: Optional[int] = typer.Option(None, help="Port to listen on \\[env DOJO_SYNTHETIC_PORT, default 5003]."),
    generator: Optional[str] = typer.Option(
        None, "--generator", help="auto, procedural or llm \\[env DOJO_SYNTHETIC_GENERATOR, default auto]."
    ),
    buffer_size: Optional[int] = typer.Option(
        None, "--buffer-size", help="Tasks kept ready \\[env DOJO_SYNTHETIC_BUFFER_SIZE, default 16]."
    ),
    seed: Optional[int] = typer.Option(None, "--seed", help="First procedural seed, for reproducible runs."),
    redis_url: Optional[str] = typer.Option(
        None, "--redis-url", help="Keep the buffer in Redis \\[env DOJO_REDIS_URL]."
    ),
    home: Optional[Path] = typer.Option(None, "--home", help="Data directory \\[env DOJO_HOME, default ~/.dojo]."),
) -> None:
    """Run the synthetic API: GET /api/v1/tasks/next pops a ready task (204 when none), /health, /metrics."""
    from dojo import serving
    from dojo.config import load_settings
    from dojo.logs import setup_logging
    from dojo.synthetic.service import create_app

    settings = load_settings(
        home=home,
        redis_url=redis_url,
        synthetic__host=host,
        synthetic__port=port,
        synthetic__generator=generator,
        synthetic__buffer_size=buffer_size,
        synthetic__seed=seed,
    )
    setup_logging(settings.log_level, settings.log_json)
    application = create_app(settings)
    serving.run(
        serving.build_config(application, settings.synthetic.host, settings.synthetic.port), service="synthetic-api"
    )


@app.command("sample")
def sample(
    seed: int = typer.Option(..., "--seed", help="Procedural seed: the same seed always gives the same task."),
    out: Path = typer.Option(..., "--out", help="Directory to write the task into (created if missing)."),
    responses: int = typer.Option(4, "--responses", min=2, max=5, help="Number of answers (2–5)."),
) -> None:
    """Write one procedural task: prompt.md, one HTML file per answer (named by ladder step), truth.json."""
    from rich.console import Console

    from dojo.synthetic.procedural import generate_task

    task = generate_task(seed, responses)
    out.mkdir(parents=True, exist_ok=True)
    (out / "prompt.md").write_text(task.prompt)
    for r in sorted(task.responses, key=lambda r: r.ladder_step):
        (out / f"rank{r.ladder_step}-{r.completion_id}.html").write_text(r.content)
    (out / "truth.json").write_text(
        json.dumps(
            {
                "task_id": str(task.task_id),
                "ground_truth": {str(k): v for k, v in task.ground_truth.items()},
                "metadata": task.metadata,
            },
            indent=2,
        )
    )
    Console().print(f"wrote task {task.task_id} ({task.metadata['family']}, {len(task.responses)} answers) to {out}")


@app.command("validate")
def validate(files: list[Path] = typer.Argument(..., help="HTML documents to check.")) -> None:
    """Check documents as the generators do: HTML parses, scripts compile in V8, no remote loads, size bounds."""
    from rich.console import Console

    from dojo.synthetic.validation import document_error

    console = Console()
    bad = 0
    for f in files:
        if not f.is_file():
            raise DojoError(f"{f}: no such file")
        err = document_error(f.read_text(errors="replace"))
        if err:
            bad += 1
            console.print(f"[red]invalid[/] {f}: {err}")
        else:
            console.print(f"[green]ok[/] {f}")
    if bad:
        raise typer.Exit(1)
