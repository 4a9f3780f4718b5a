"""Serving the app with gunicorn from inside our own command (no config file needed)."""

from __future__ import annotations

import signal
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from heldout.platform.redaction import mask_invite_tokens
from heldout.platform.views.api.streams import CLOSING, MAX_OPEN_STREAMS


class MaskingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with invite tokens masked in every access-log field."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any],
              request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: mask_invite_tokens(value) if isinstance(value, str) else value
                for key, value in atoms.items()}


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # options newer than the installed gunicorn are skipped
                self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


# How long an idle kept-alive connection stays open. A request that reaches a connection
# just as the server closes it is lost without an answer (the client sees the connection
# closed; a browser sends it again, a load generator does not). gunicorn's default of 2 s
# falls right on the workspace's own rhythm (a status poll 2 s after the last answer, an
# autosave every 3 s while the editor is dirty, backoff up to 15 s), so the page's next
# request often met the close. Well above every regular pause, the close comes only after
# the page has stopped talking. An idle connection waits in gunicorn's poller, not on a
# thread: the cost is a file descriptor.
IDLE_CONNECTION_SECONDS = 30


def close_streams_when_stopping(worker: Any) -> None:
    """gunicorn's ``post_worker_init``: on SIGTERM (a graceful stop) a worker waits up to
    its graceful timeout for the requests in flight, and an open event stream lasts two
    minutes; the streams are told to end first, so a stop or a deploy takes a second, not
    the whole timeout, and the pages reconnect to the next server."""
    stop = worker.handle_exit

    def handle_exit(signum: int, frame: Any) -> None:
        CLOSING.set()
        stop(signum, frame)

    signal.signal(signal.SIGTERM, handle_exit)
    signal.siginterrupt(signal.SIGTERM, False)


def gunicorn_options(*, host: str, port: int, threads: int) -> dict[str, Any]:
    """The settings ``heldout serve`` gives gunicorn."""
    # One process with threads: status polling is cheap, and the app keeps no
    # per-process state that would need several workers to be consistent. gthread's
    # timeout watches the worker's heartbeat, not a request's length, so a long-lived
    # stream is not killed by it. An open event stream holds a thread: streams are capped
    # (views/api/streams.py) and get threads of their own beside ``threads`` ordinary
    # requests, so however many are asked for, the rest of the site keeps answering.
    return {"bind": f"{host}:{port}", "workers": 1, "worker_class": "gthread",
            "threads": threads + MAX_OPEN_STREAMS, "timeout": 60, "graceful_timeout": 20,
            "keepalive": IDLE_CONNECTION_SECONDS,
            "post_worker_init": close_streams_when_stopping,
            "accesslog": "-", "errorlog": "-", "logger_class": MaskingLogger,
            # No control socket in the user's home: several instances may run.
            "control_socket_disable": True}


def run_gunicorn(app: Flask, *, host: str, port: int, threads: int) -> None:
    _Server(app, gunicorn_options(host=host, port=port, threads=threads)).run()
