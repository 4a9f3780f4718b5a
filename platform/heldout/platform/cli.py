"""The ``heldout`` command: grading, sandbox, database, web server, worker, demo, doctor."""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click
import flask_migrate
from flask import Flask

from heldout.graders.cli import challenges_group, grade_command
from heldout.graders.errors import BundleError
from heldout.platform import bench_pages
from heldout.platform.app import create_app
from heldout.platform.config import served_base_url
from heldout.platform.deploy import deploy_group
from heldout.platform.errors import ConfigError, PlatformError
from heldout.platform.processes import stop_processes
from heldout.sandbox import exit_on_sigterm
from heldout.sandbox.cli import sandbox_group

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def _app() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(exc.message) from exc


def _logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@click.group()
@click.version_option(package_name="heldout")
def main() -> None:
    """heldout — self-hosted assessments for hiring machine-learning engineers.

    Settings come from HELDOUT_* environment variables (`heldout settings` lists them).
    """
    exit_on_sigterm()  # a stopped command runs its clean-up (sandboxes, temporary files)


main.add_command(grade_command)
main.add_command(challenges_group)
main.add_command(sandbox_group)
main.add_command(deploy_group)


@main.group("bench")
def bench_group() -> None:
    """Benchmarks (numbers, not pass/fail): compare heldout with a bare baseline."""


@bench_group.command("sandbox")
@click.option("-n", "--runs", default=10, show_default=True, help="Runs of each program and side.")
@click.option("--batch", default=20, show_default=True, help="Submissions per throughput batch.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON object to this file.")
def bench_sandbox(runs: int, batch: int, as_json: bool, output: Path | None) -> None:
    """Bare `docker run` vs heldout's sandbox (trivial, typical ML, each kind's grading), queue throughput."""
    from heldout.platform import bench

    app = _app()
    say = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    result = bench.run_all(runs, batch, Path(app.config["HELDOUT_CHALLENGES_DIR"]), say)
    text = json.dumps(result, indent=2, sort_keys=True)
    if output is not None:
        output.write_text(text + "\n")
    click.echo(text if as_json else bench.render(result))


bench_group.add_command(bench_pages.pages_command)


@bench_group.command("burst")
@click.option("-n", "--candidates", default=200, show_default=True, type=click.IntRange(min=1),
              help="Simulated candidates.")
@click.option("--duration", default=180.0, show_default=True, type=click.FloatRange(min=5),
              help="Seconds from the start of the compressed timeline to the deadline.")
@click.option("--window", default=60.0, show_default=True, type=click.FloatRange(min=1),
              help="The last seconds before the deadline, when most candidates submit.")
@click.option("--late-share", default=0.8, show_default=True, type=click.FloatRange(0, 1),
              help="Fraction of candidates submitting within the window.")
@click.option("--autosave-every", default=5.0, show_default=True, type=click.FloatRange(min=0.5),
              help="Seconds between a candidate's autosaves.")
@click.option("--ramp", type=click.FloatRange(min=1), default=None,
              help="Seconds over which candidates open their invites before the timeline "
                   "starts (default: one second per 3 candidates, at least 10).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(min=1),
              help="gunicorn threads of the web server.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(min=1),
              help="Grading jobs the worker runs at once.")
@click.option("--limit-runs", default=20, show_default=True, type=click.IntRange(min=1),
              help="Bare docker runs measuring the sandbox's own limit.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the schedule.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the JSON object to this file.")
def bench_burst(candidates: int, duration: float, window: float, late_share: float,
                autosave_every: float, ramp: float | None, threads: int, workers: int,
                limit_runs: int, seed: int, as_json: bool, output: Path | None) -> None:
    """The deadline burst: N candidates against gunicorn and a real worker on 127.0.0.1."""
    from heldout.platform import burst

    try:
        plan = burst.BurstPlan(candidates=candidates, duration_s=duration, window_s=window,
                               late_share=late_share, autosave_every_s=autosave_every,
                               ramp_s=ramp if ramp is not None else max(10.0, candidates / 3),
                               server_threads=threads, workers=workers, limit_runs=limit_runs,
                               seed=seed)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    say = (lambda line: click.echo(line, err=True)) if as_json else click.echo
    result = burst.run_burst(plan, Path(_app().config["HELDOUT_CHALLENGES_DIR"]), say)
    text = json.dumps(result, indent=2, sort_keys=True)
    if output is not None:
        output.write_text(text + "\n")
    click.echo(text if as_json else burst.render(result))


@main.command("settings")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the page to this file (SETTINGS.md) instead of printing it.")
def settings_command(output: Path | None) -> None:
    """Every setting with its default and meaning: the page SETTINGS.md holds."""
    from heldout.platform.settings_doc import render

    if output is None:
        click.echo(render(), nl=False)
    else:
        output.write_text(render(), encoding="utf-8")


@main.group("db")
def db_group() -> None:
    """Database schema migrations (Alembic)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the database schema up to REVISION (default: the newest)."""
    app = _app()
    with app.app_context():
        flask_migrate.upgrade(revision=revision)
    click.echo(f"database at {revision}")


@db_group.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Take the schema back to REVISION (e.g. -1)."""
    app = _app()
    with app.app_context():
        flask_migrate.downgrade(revision=revision)


@db_group.command("migrate")
@click.option("-m", "--message", required=True, help="What the migration does.")
def db_migrate(message: str) -> None:
    """Draft a migration from the models (review it before committing)."""
    app = _app()
    with app.app_context():
        flask_migrate.migrate(message=message)


@db_group.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    app = _app()
    with app.app_context():
        flask_migrate.current()


def _load_challenges(app: Flask) -> None:
    from heldout.platform.services import catalogue

    with app.app_context():
        report = catalogue.load_challenges(Path(app.config["HELDOUT_CHALLENGES_DIR"]))
    for label, slugs in (("added", report.added), ("updated", report.updated),
                         ("unchanged", report.unchanged), ("no longer available", report.retired)):
        if slugs:
            click.echo(f"{label}: {', '.join(slugs)}")
    for error in report.errors:
        click.echo(f"skipped broken bundle: {error}", err=True)


@main.command("load-challenges")
def load_challenges_command() -> None:
    """Read the bundles of HELDOUT_CHALLENGES_DIR into the catalogue (idempotent)."""
    try:
        _load_challenges(_app())
    except BundleError as exc:  # no challenges directory at all
        raise click.ClickException(str(exc)) from exc


def _demo_logins_file(app: Flask) -> Path:
    return Path(app.config["HELDOUT_DATA_DIR"]) / "demo-logins.json"


def _demo(app: Flask) -> list[tuple[str, str, str]]:
    from heldout.platform.services import demo

    with app.app_context():
        report = demo.ensure_demo(_demo_logins_file(app))
        name = report.assessment.name if report.assessment else None
    if name:
        click.echo(f"demo assessment: {name}" + (" (created)" if report.created_assessment else ""))
    else:
        click.echo("no demo assessment: no challenges loaded (run `heldout load-challenges`)")
    return [(login.role, login.email, login.password) for login in report.logins]


def _print_logins(logins: list[tuple[str, str, str]], kept_in: Path) -> None:
    click.echo(f"demo logins (kept in {kept_in}):")
    for role, email, password in logins:
        click.echo(f"  {role:<12} {email:<26} {password}")


@main.command("demo")
@click.option("--force", is_flag=True, help="Allow it with HELDOUT_ENV=production.")
def demo_command(force: bool) -> None:
    """Create demo accounts (printed with their passwords) and a demo assessment."""
    app = _app()
    if app.config["HELDOUT_ENV"] == "production" and not force:
        raise click.ClickException("refusing to create demo accounts in production "
                                   "(use --force if you mean it)")
    _print_logins(_demo(app), _demo_logins_file(app))


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(["admin", "recruiter", "interviewer"]), required=True)
@click.password_option()
def create_user_command(email: str, name: str, role: str, password: str) -> None:
    """Create a staff account."""
    from heldout.platform.services import accounts

    app = _app()
    with app.app_context():
        try:
            user = accounts.create_user(email, name, role, password)
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"created {user.role} {user.email}")


@main.group("users")
def users_group() -> None:
    """Staff accounts: list them, set a password, disable one (its sessions end)."""


@users_group.command("list")
def users_list() -> None:
    """Every staff account with its role and whether it may sign in."""
    from heldout.platform.services import accounts

    with _app().app_context():
        for user in accounts.list_users():
            state = "active" if user.active else "disabled"
            click.echo(f"{user.email:<32} {user.role:<12} {state:<9} {user.name}")


def _password(password_stdin: bool) -> str:
    if password_stdin:
        # One line, as `docker login --password-stdin` reads it; keeps it out of `ps`.
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("New password", hide_input=True, confirmation_prompt=True))


@users_group.command("set-password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def users_set_password(email: str, password_stdin: bool) -> None:
    """Set the password of EMAIL; every session of that account ends."""
    from heldout.platform.services import accounts

    with _app().app_context():
        try:
            user = accounts.set_password_by_email(email, _password(password_stdin))
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"password changed for {user.email}; its sessions have ended")


@users_group.command("disable")
@click.argument("email")
def users_disable(email: str) -> None:
    """Stop EMAIL from signing in, and end its sessions now."""
    from heldout.platform.services import accounts

    with _app().app_context():
        try:
            user = accounts.set_active(email, False)
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"disabled {user.email}; its sessions have ended")


@users_group.command("enable")
@click.argument("email")
def users_enable(email: str) -> None:
    """Let a disabled EMAIL sign in again."""
    from heldout.platform.services import accounts

    with _app().app_context():
        try:
            user = accounts.set_active(email, True)
        except PlatformError as exc:
            raise click.ClickException(exc.message) from exc
        click.echo(f"enabled {user.email}")


@main.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int,
              help="Requests served at once (gunicorn threads).")
@click.option("--dev", is_flag=True, help="Werkzeug's development server instead of gunicorn.")
def serve_command(host: str, port: int, threads: int, dev: bool) -> None:
    """Run the web app."""
    app = _app()
    _logging()
    if not app.config["HELDOUT_BASE_URL"]:
        # Invite links name the address this server answers on, not a fixed default.
        app.config["HELDOUT_BASE_URL"] = served_base_url(host, port)
    try:
        from heldout.platform.server import run_gunicorn
    except ImportError:
        dev = True
    if dev:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    else:
        run_gunicorn(app, host=host, port=port, threads=threads)


@main.command("worker")
@click.option("--workers", type=int, default=None,
              help="Jobs run at once (default: HELDOUT_WORKERS).")
@click.option("-v", "--verbose", is_flag=True)
def worker_command(workers: int | None, verbose: bool) -> None:
    """Run a grading worker (the queue consumer) until interrupted."""
    from heldout.platform import worker

    # Stoppable by Ctrl-C even when started in the background (which ignores SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _logging(verbose)
    worker.run(_app(), workers)


@main.command("doctor")
def doctor_command() -> None:
    """Check engine, image, database, queue and challenges; exit 1 if a required one fails."""
    from heldout.platform.doctor import findings

    failed = False
    for finding in findings(_app()):
        mark = "ok  " if finding.ok else ("FAIL" if finding.required else "warn")
        click.echo(f"[{mark}] {finding.name}: {finding.detail}")
        if not finding.ok and finding.fix:
            click.echo(f"       fix: {finding.fix}")
        failed = failed or (finding.required and not finding.ok)
    if failed:
        sys.exit(1)


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "heldout.platform", *args],
                            start_new_session=True)


class _Stop(Exception):
    """SIGINT or SIGTERM reached ``heldout up``."""


def _raise_stop(signum: int, _frame: Any) -> None:
    raise _Stop(signal.Signals(signum).name)


@main.command("up")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
def up_command(host: str, port: int) -> None:
    """Everything on one machine: migrate, load challenges, demo data, worker and web.

    Ctrl-C stops both.
    """
    app = _app()
    with app.app_context():
        flask_migrate.upgrade()
    _load_challenges(app)
    logins = _demo(app) if app.config["HELDOUT_ENV"] != "production" else []
    # Huey finishes running jobs on SIGINT; gunicorn finishes requests on SIGTERM.
    processes = [(_spawn("worker"), signal.SIGINT),
                 (_spawn("serve", "--host", host, "--port", str(port)), signal.SIGTERM)]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_stop)
    click.echo(f"\nheldout is up: {served_base_url(host, port)}/")
    if app.config["HELDOUT_BASE_URL"]:
        click.echo(f"invite links start with HELDOUT_BASE_URL={app.config['HELDOUT_BASE_URL']}")
    if logins:
        _print_logins(logins, _demo_logins_file(app))
    click.echo("Ctrl-C stops web and worker.")
    code = 0
    try:
        while all(p.poll() is None for p, _ in processes):
            time.sleep(0.5)
        code = next(p.returncode for p, _ in processes if p.returncode is not None) or 1
        click.echo("a process stopped; stopping the other", err=True)
    except _Stop:
        click.echo("\nstopping web and worker…")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_processes(processes)
    sys.exit(code)


def run_module() -> Any:
    return main(prog_name="heldout")
