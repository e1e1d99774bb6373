"""``dojo autoupdate``: keep a git checkout of Dojo at the newest release (or branch head), safely.

One pass: fetch the remote; pick the target — the newest release tag (``vX.Y.Z``) or the remote
head of the checkout's branch — and stop if it is not newer than what runs; fast-forward the
checkout; reinstall it into the virtualenv; migrate the stores with the new code; restart the
services through their supervisor (systemd, pm2 or a command of your own); wait for their health
URLs. If any step fails, everything is undone in reverse: the stores are migrated back to the
revisions they had (with the new code, which knows both), the checkout returns to the old commit,
the old code is reinstalled and the services restarted again.

Run as root (a systemd timer: ``deploy/systemd/dojo-autoupdate.timer``), git, pip and the
migrations run as the checkout's owner and only the restart as root.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import typer

from dojo.errors import DojoError, UpdateFailed

app = typer.Typer(no_args_is_help=True, help="Update a git checkout of Dojo, migrate, restart, roll back on failure.")

RELEASE_TAG = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
ROLES_WITH_STORES = ("validator", "worker-api")
DEFAULT_INSTALL = "{python} -m pip install --quiet --constraint deploy/constraints.txt ."


@dataclass
class Plan:
    """What one pass would do: the commit running now and the commit to go to (None: up to date)."""

    current: str
    target: str | None
    current_label: str
    target_label: str | None


@dataclass
class Updater:
    """Everything one pass needs; each external step is a command so that every supervisor fits."""

    repo: Path
    remote: str = "origin"
    branch: str | None = None  # default: the checkout's branch
    track: str = "branch"  # branch: the remote head of the branch · tags: the newest release tag
    install_cmd: str = DEFAULT_INSTALL
    python: str = sys.executable
    migrate_roles: list[str] = field(default_factory=list)
    env_files: list[Path] = field(default_factory=list)
    restart_cmd: str | None = None
    health_urls: list[str] = field(default_factory=list)
    health_timeout_s: float = 120.0
    log: list[str] = field(default_factory=list)

    # -- commands ---------------------------------------------------------------------------

    def _owner(self) -> int | None:
        """The checkout's owner when we are root and it is not: git, pip and migrations run as that user."""
        uid = self.repo.stat().st_uid
        return uid if os.geteuid() == 0 and uid != 0 else None

    def _run(self, args: list[str] | str, *, as_owner: bool = True, env: dict[str, str] | None = None) -> str:
        argv = shlex.split(args) if isinstance(args, str) else args
        self.note("$ " + shlex.join(argv))
        uid = self._owner() if as_owner else None
        gid = self.repo.stat().st_gid if uid is not None else None
        try:
            out = subprocess.run(
                argv,
                cwd=self.repo,
                capture_output=True,
                text=True,
                env={**os.environ, **(env or {})},
                timeout=1800,
                check=False,
                user=uid,
                group=gid,
                extra_groups=[] if uid is not None else None,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise DojoError(f"{argv[0]}: {exc}") from exc
        if out.returncode != 0:
            detail = (out.stderr or out.stdout).strip()[-800:]
            raise DojoError(f"`{shlex.join(argv)}` failed ({out.returncode}): {detail}")
        return out.stdout.strip()

    def git(self, *args: str) -> str:
        return self._run(["git", *args])

    def note(self, line: str) -> None:
        self.log.append(line)
        typer.echo(line, err=True)

    # -- what to update to --------------------------------------------------------------------

    def plan(self) -> Plan:
        """Fetch and decide; raises when the checkout has local changes or has diverged."""
        if self.git("status", "--porcelain", "--untracked-files=no"):
            raise DojoError(f"{self.repo} has local changes: commit or discard them before updating")
        head = self.git("rev-parse", "HEAD")
        self.git("fetch", "--tags", "--force", "--prune", self.remote)
        if self.track == "tags":
            return self._plan_tags(head)
        if self.track != "branch":
            raise DojoError(f"--track must be 'branch' or 'tags', got {self.track!r}")
        branch = self.branch or self.git("rev-parse", "--abbrev-ref", "HEAD")
        if branch == "HEAD":
            raise DojoError("the checkout is not on a branch: pass --branch or use --track tags")
        target = self.git("rev-parse", f"refs/remotes/{self.remote}/{branch}")
        if target == head or self._is_ancestor(target, head):
            return Plan(head, None, head[:10], None)
        if not self._is_ancestor(head, target):
            raise DojoError(f"the checkout has diverged from {self.remote}/{branch}: update it by hand")
        return Plan(head, target, head[:10], f"{self.remote}/{branch} {target[:10]}")

    def _plan_tags(self, head: str) -> Plan:
        releases = []
        for tag in self.git("tag", "--list").splitlines():
            m = RELEASE_TAG.match(tag.strip())
            if m:
                releases.append((tuple(int(x) for x in m.groups()), tag.strip()))
        if not releases:
            raise DojoError(f"no release tags (vX.Y.Z) on {self.remote}")
        merged = set(self.git("tag", "--merged", "HEAD").split())
        running = max((r for r in releases if r[1] in merged), default=None)
        newest = max(releases)
        label = running[1] if running else head[:10]
        if running is not None and newest[0] <= running[0]:
            return Plan(head, None, label, None)
        target = self.git("rev-parse", f"refs/tags/{newest[1]}^{{commit}}")
        if not self._is_ancestor(head, target):
            raise DojoError(f"release {newest[1]} does not follow the checked-out commit: update by hand")
        return Plan(head, target, label, newest[1])

    def _is_ancestor(self, a: str, b: str) -> bool:
        try:
            self.git("merge-base", "--is-ancestor", a, b)
        except DojoError:
            return False
        return True

    # -- the steps ----------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        from dotenv import dotenv_values

        env: dict[str, str] = {}
        for path in self.env_files:
            env.update({k: v or "" for k, v in dotenv_values(path).items()})
        return env

    def _move_to(self, commit: str) -> None:
        if self.git("rev-parse", "--abbrev-ref", "HEAD") == "HEAD":
            self.git("checkout", "--quiet", "--detach", commit)
        else:
            self.git("merge", "--quiet", "--ff-only", commit)

    def _reset_to(self, commit: str) -> None:
        if self.git("rev-parse", "--abbrev-ref", "HEAD") == "HEAD":
            self.git("checkout", "--quiet", "--detach", commit)
        else:
            self.git("reset", "--quiet", "--hard", commit)

    def install(self) -> None:
        self._run(self.install_cmd.format(python=shlex.quote(self.python)))

    def revisions(self) -> dict[str, str]:
        """Each store's Alembic revision now (read with the installed code)."""
        out = {}
        for role in self.migrate_roles:
            out[role] = self._run(
                [self.python, "-m", "dojo.cli.app", "autoupdate", "migrate", "--role", role, "--current"],
                env=self._env(),
            ).splitlines()[-1]
        return out

    def migrate(self, revisions: dict[str, str] | None = None) -> None:
        """Upgrade every store to head, or (``revisions``) back to the given revisions."""
        for role in self.migrate_roles:
            to = ["--to", revisions[role]] if revisions else []
            self._run(
                [self.python, "-m", "dojo.cli.app", "autoupdate", "migrate", "--role", role, *to], env=self._env()
            )

    def restart(self) -> None:
        if self.restart_cmd:
            self._run(self.restart_cmd, as_owner=False)

    def healthy(self) -> None:
        """Every health URL answers 200 within the timeout, or ``DojoError``."""
        import httpx

        deadline = time.monotonic() + self.health_timeout_s
        pending = list(self.health_urls)
        while pending:
            for url in list(pending):
                try:
                    if httpx.get(url, timeout=3.0).status_code == 200:
                        pending.remove(url)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise DojoError(f"not healthy within {self.health_timeout_s:.0f}s: {', '.join(pending)}")
            if pending:
                time.sleep(0.5)
        if self.health_urls:
            self.note("healthy: " + ", ".join(self.health_urls))

    def apply(self, plan: Plan) -> None:
        """Update to ``plan.target``; on any failure undo every step done and raise ``UpdateFailed``."""
        assert plan.target is not None
        self.note(f"updating {plan.current_label} → {plan.target_label}")
        before = self.revisions() if self.migrate_roles else {}
        done: list[str] = []
        try:
            self._move_to(plan.target)
            done.append("code")
            self.install()
            done.append("install")
            self.migrate()
            done.append("migrate")
            self.restart()
            done.append("restart")
            self.healthy()
        except DojoError as exc:
            self.note(f"update failed: {exc}; rolling back to {plan.current_label}")
            try:
                if self.migrate_roles and "install" in done:
                    self.migrate(before)  # with the new code, which knows both revisions
                if "code" in done:
                    self._reset_to(plan.current)
                if "install" in done or "code" in done:
                    self.install()
                self.restart()
                self.healthy()
            except DojoError as undo:
                raise UpdateFailed(f"update failed ({exc}) AND the rollback failed: {undo}") from undo
            raise UpdateFailed(f"update to {plan.target_label} failed and was rolled back: {exc}") from exc
        self.note(f"updated to {plan.target_label}")


def restart_command(supervisor: str, services: list[str], custom: str | None) -> str | None:
    """The command that restarts ``services`` under ``supervisor`` (systemd, pm2, none) or ``custom``."""
    if custom:
        return custom
    if not services or supervisor == "none":
        return None
    if supervisor == "systemd":
        return shlex.join(["systemctl", "restart", *services])
    if supervisor == "pm2":
        return shlex.join(["pm2", "restart", *services, "--update-env"])
    raise DojoError(f"--supervisor must be systemd, pm2 or none, got {supervisor!r}")


REPO = typer.Option(Path("."), "--repo", help="The git checkout Dojo runs from.")
REMOTE = typer.Option("origin", "--remote", help="The remote to update from.")
BRANCH = typer.Option(None, "--branch", help="Branch to follow (default: the checkout's).")
TRACK = typer.Option("branch", "--track", help="'branch': its remote head; 'tags': the newest vX.Y.Z tag.")


@app.command("check")
def check(repo: Path = REPO, remote: str = REMOTE, branch: Optional[str] = BRANCH, track: str = TRACK) -> None:
    """Say whether a newer release or commit is available (exit 0 when up to date, 10 when one is)."""
    plan = Updater(repo.resolve(), remote, branch, track).plan()
    if plan.target is None:
        typer.echo(f"up to date: {plan.current_label}")
        return
    typer.echo(f"update available: {plan.current_label} → {plan.target_label}")
    raise typer.Exit(10)


@app.command("apply")
def apply(
    repo: Path = REPO,
    remote: str = REMOTE,
    branch: Optional[str] = BRANCH,
    track: str = TRACK,
    service: list[str] = typer.Option([], "--service", help="Unit or pm2 app to restart (repeat)."),
    supervisor: str = typer.Option("systemd", "--supervisor", help="systemd, pm2 or none."),
    restart_cmd: Optional[str] = typer.Option(None, "--restart-cmd", help="Restart with this command instead."),
    health_url: list[str] = typer.Option([], "--health-url", help="Must answer 200 after the restart (repeat)."),
    health_timeout: float = typer.Option(120.0, "--health-timeout", help="Seconds to wait for the health URLs."),
    migrate: list[str] = typer.Option([], "--migrate", help="Store to migrate: validator or worker-api (repeat)."),
    env_file: list[Path] = typer.Option([], "--env-file", help="Env file of a migrated role (repeat)."),
    install_cmd: str = typer.Option(DEFAULT_INSTALL, "--install-cmd", help="Reinstall command, run in the checkout."),
) -> None:
    """Update, reinstall, migrate, restart; roll everything back when the new version is not healthy."""
    for role in migrate:
        if role not in ROLES_WITH_STORES:
            raise DojoError(f"--migrate takes {' or '.join(ROLES_WITH_STORES)}, got {role!r}")
    updater = Updater(
        repo.resolve(),
        remote,
        branch,
        track,
        install_cmd=install_cmd,
        migrate_roles=list(migrate),
        env_files=list(env_file),
        restart_cmd=restart_command(supervisor, list(service), restart_cmd),
        health_urls=list(health_url),
        health_timeout_s=health_timeout,
    )
    plan = updater.plan()
    if plan.target is None:
        typer.echo(f"up to date: {plan.current_label}")
        return
    updater.apply(plan)
    typer.echo(f"updated: {plan.current_label} → {plan.target_label}")


@app.command("migrate")
def migrate_store(
    role: str = typer.Option(..., "--role", help="validator or worker-api"),
    to: Optional[str] = typer.Option(None, "--to", help="Revision to go to (default: the newest)."),
    current: bool = typer.Option(False, "--current", help="Only print the store's revision."),
) -> None:
    """Migrate one role's store (settings from the environment, as the service reads them)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    from dojo.config import load_settings

    settings = load_settings()
    if role == "validator":
        from dojo.validator.store.db import alembic_config, make_engine

        engine = make_engine(settings.validator_db_url())
        cfg = alembic_config(engine)
    elif role == "worker-api":
        import sqlalchemy as sa

        from dojo.worker_api.store.db import _alembic_config, _ensure_sqlite_dir, is_sqlite, sync_url

        url = settings.worker_db_url()
        if is_sqlite(url):
            _ensure_sqlite_dir(url)
        cfg = _alembic_config(url)  # its env.py opens its own connection from this URL
        engine = sa.create_engine(sync_url(url))
    else:
        raise DojoError(f"--role must be validator or worker-api, got {role!r}")
    try:
        if current:
            with engine.connect() as conn:
                typer.echo(MigrationContext.configure(conn).get_current_revision() or "base")
            return
        with engine.connect() as conn:
            now = MigrationContext.configure(conn).get_current_revision()

        def run() -> None:
            if to is None:
                command.upgrade(cfg, "head")
            elif to == "base" or (now is not None and to in _at_or_below(cfg, now)):
                command.downgrade(cfg, to)
            else:
                command.upgrade(cfg, to)

        if role == "validator":
            with engine.begin() as conn:
                cfg.attributes["connection"] = conn  # its env.py migrates on the caller's connection
                run()
        else:
            run()  # its env.py opens its own connection from the URL
        typer.echo(f"{role}: store at {to or 'head'}")
    finally:
        engine.dispose()


def _at_or_below(cfg: object, revision: str) -> set[str]:
    """The revisions from ``revision`` down to the first one."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(cfg)  # type: ignore[arg-type]
    return {r.revision for r in script.walk_revisions(base="base", head=revision)}
