"""Serving the app with gunicorn from inside our own command (no config file needed)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


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
    # per-process state that would need several workers to be consistent.
    _Server(app, {"bind": f"{host}:{port}", "workers": 1, "worker_class": "gthread",
                  "threads": threads, "timeout": 60, "graceful_timeout": 20,
                  "accesslog": "-", "errorlog": "-",
                  # No control socket in the user's home: several instances may run.
                  "control_socket_disable": True}).run()
