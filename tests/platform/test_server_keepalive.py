"""A kept-alive connection outlives every regular pause of the pages that use it.

A request that reaches a connection as gunicorn closes it for idleness is lost without an
answer. With gunicorn's default of 2 s the workspace's status poll (2 s after the last
answer) met that close, and the deadline burst lost a POST now and then ("status 0").
"""

from __future__ import annotations

import re
from pathlib import Path

from gunicorn.config import Config

from heldout.platform import server
from heldout.platform.views.api import streams

STATIC = Path(server.__file__).resolve().parent / "static"


def _milliseconds(script: str, pattern: str) -> list[float]:
    found = [float(value) / 1000 for value in re.findall(pattern, (STATIC / script).read_text())]
    assert found, f"{pattern!r} not in {script}"
    return found


def _pauses() -> dict[str, float]:
    """Seconds between a page's requests, read where the pages set them."""
    return {
        "workspace poll": _milliseconds("workspace.js", r"var POLL_MS = (\d+);")[0],
        "autosave": _milliseconds("workspace.js", r"var SAVE_EVERY_MS = (\d+);")[0],
        "status poll backoff": max(_milliseconds("heldout.js", r"Math\.min\(delay \* 2, (\d+)\)")),
        "event stream reconnect": streams.RECONNECT_MILLISECONDS / 1000,
        "event stream keep-alive": float(streams.KEEPALIVE_SECONDS),
    }


def test_gunicorn_keeps_an_idle_connection_longer_than_any_pause_of_the_pages() -> None:
    options = server.gunicorn_options(host="127.0.0.1", port=8000, threads=8)
    config = Config()
    for key, value in options.items():
        config.set(key, value)  # every option is one gunicorn knows
    keepalive = config.keepalive
    for name, pause in _pauses().items():
        # Twice the pause: a slow answer or a busy browser stretches it.
        assert keepalive >= 2 * pause, (name, pause, keepalive)
