"""Serving the app with gunicorn from inside our own command (no config file needed)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from heldout.platform.redaction import mask_invite_tokens
from heldout.platform.views.api.streams import MAX_OPEN_STREAMS


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


def run_gunicorn(app: Flask, *, host: str, port: int, threads: int) -> None:
    # One process with threads: status polling is cheap, and the app keeps no
    # per-process state that would need several workers to be consistent. gthread's
    # timeout watches the worker's heartbeat, not a request's length, so a long-lived
    # stream is not killed by it. An open event stream holds a thread: streams are capped
    # (views/api/streams.py) and get threads of their own beside ``threads`` ordinary
    # requests, so however many are asked for, the rest of the site keeps answering.
    _Server(app, {"bind": f"{host}:{port}", "workers": 1, "worker_class": "gthread",
                  "threads": threads + MAX_OPEN_STREAMS, "timeout": 60, "graceful_timeout": 20,
                  "accesslog": "-", "errorlog": "-", "logger_class": MaskingLogger,
                  # No control socket in the user's home: several instances may run.
                  "control_socket_disable": True}).run()
