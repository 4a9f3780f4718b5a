"""``heldout serve``, ``heldout worker`` and ``heldout up``: the processes that run heldout."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

import click
import flask_migrate

from heldout.platform.cli.catalogue import demo_logins_file, ensure_demo, load_challenges, print_logins
from heldout.platform.cli.common import configure_logging, load_app
from heldout.platform.config import served_base_url
from heldout.platform.processes import stop_processes

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


@click.command("serve")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int,
              help="Requests served at once (gunicorn threads).")
@click.option("--dev", is_flag=True, help="Werkzeug's development server instead of gunicorn.")
def serve_command(host: str, port: int, threads: int, dev: bool) -> None:
    """Run the web app."""
    app = load_app()
    configure_logging()
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


@click.command("worker")
@click.option("--workers", type=int, default=None,
              help="Jobs run at once (default: HELDOUT_WORKERS).")
@click.option("-v", "--verbose", is_flag=True)
def worker_command(workers: int | None, verbose: bool) -> None:
    """Run a grading worker (the queue consumer) until interrupted."""
    from heldout.platform import worker

    # Stoppable by Ctrl-C even when started in the background (which ignores SIGINT).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    configure_logging(verbose)
    worker.run(load_app(), workers)


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "heldout.platform", *args],
                            start_new_session=True)


class _Stop(Exception):
    """SIGINT or SIGTERM reached ``heldout up``."""


def _raise_stop(signum: int, _frame: Any) -> None:
    raise _Stop(signal.Signals(signum).name)


@click.command("up")
@click.option("--host", default=DEFAULT_HOST, show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
def up_command(host: str, port: int) -> None:
    """Everything on one machine: migrate, load challenges, demo data, worker and web.

    Ctrl-C stops both.
    """
    app = load_app()
    with app.app_context():
        flask_migrate.upgrade()
    load_challenges(app)
    logins = ensure_demo(app) if app.config["HELDOUT_ENV"] != "production" else []
    # Huey finishes running jobs on SIGINT; gunicorn finishes requests on SIGTERM.
    processes = [(_spawn("worker"), signal.SIGINT),
                 (_spawn("serve", "--host", host, "--port", str(port)), signal.SIGTERM)]
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_stop)
    click.echo(f"\nheldout is up: {served_base_url(host, port)}/")
    if app.config["HELDOUT_BASE_URL"]:
        click.echo(f"invite links start with HELDOUT_BASE_URL={app.config['HELDOUT_BASE_URL']}")
    if logins:
        print_logins(logins, demo_logins_file(app))
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
