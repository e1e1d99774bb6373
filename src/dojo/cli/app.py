"""The ``dojo`` command. Each group lives in its own module and is registered here."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from dojo import __version__

app = typer.Typer(
    name="dojo",
    help="Dojo: a Bittensor subnet that crowdsources human preference data for AI.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        print(f"dojo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Dojo: a Bittensor subnet that crowdsources human preference data for AI."""


def _register() -> None:
    """Attach every command group. A group is listed here only once it works."""
    from dojo.cli import registry

    for name, sub, help_text in registry.groups():
        app.add_typer(sub, name=name, help=help_text)
    for name, fn in registry.commands():
        app.command(name=name)(fn)


def main() -> None:
    """Entry point: run the app, turning expected failures into one clear line and exit 2."""
    from dojo.cli.errors import friendly

    _register()
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - every expected failure becomes a message
        message = friendly(exc)
        if message is None:
            raise
        err_console.print(f"[bold red]error:[/] {message}")
        sys.exit(2)


if __name__ == "__main__":
    main()
