"""Live status as server-sent events, with a cap on the streams open at once.

Why a cap. The web app runs under gunicorn's threaded worker (server.py), where an open
stream holds a thread for as long as it stays open. Uncapped, about forty streams (forty
workspaces waiting for grades at a deadline, or one candidate opening tabs on purpose) took
every thread, and nothing else was answered, ``/healthz`` included. The other ways out
were weighed and not taken: an async worker class (gevent) would monkey-patch the database
driver, the Docker SDK and the queue for one route's sake, and a separate stream server is
a second process to deploy and route to.

So streams get threads of their own, counted. ``server.py`` sizes the pool as the ordinary
threads plus ``MAX_OPEN_STREAMS``; a stream opens only while fewer than that many are open
in this process and fewer than ``MAX_STREAMS_PER_ATTEMPT`` for its attempt. Past either the
request is refused at once, before any waiting: 429 for the attempt, 503 for the server,
as problem+json with ``Retry-After``. The browser's EventSource then stops and the page
polls the same state from ``/state`` (static/workspace.js), which holds no thread between
polls. Each stream also ends after ``STREAM_SECONDS`` (the browser reconnects by itself),
so the slots turn over. The counts are per process, as the threads they protect are.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

from flask import Flask, Response, current_app, stream_with_context

from heldout.platform.errors import ServerBusy, TooManyStreams
from heldout.platform.extensions import db
from heldout.platform.models import Attempt
from heldout.platform.services import live
from heldout.platform.views.common import now

EXTENSION_KEY = "heldout.streams"
# Streams one process serves at once (each holds a thread), and one attempt may hold: a
# workspace opens one while something is being graded; three cover a second tab and a
# reload whose old stream the server has not yet seen closed.
MAX_OPEN_STREAMS = 32
MAX_STREAMS_PER_ATTEMPT = 3
# Each stream lives this long, then the browser reconnects (EventSource does so by itself).
STREAM_SECONDS = 120
# A comment line this often keeps proxies from closing a quiet stream, and is how the
# server learns that a browser went away (only a write fails): its slot is free soon after.
KEEPALIVE_SECONDS = 5
STREAM_POLL_SECONDS = 1.0
RECONNECT_MILLISECONDS = 3000
# Set when the server is stopping (server.py, on gunicorn's SIGTERM): every open stream ends
# at once with its ``timeout`` event, and the page opens the next one on the server that
# takes over, instead of holding the stop up for the whole graceful timeout.
CLOSING = threading.Event()


class StreamSlots:
    """How many streams are open, overall and per attempt; a slot is taken per stream."""

    def __init__(self, total: int, per_attempt: int) -> None:
        self.total = total
        self.per_attempt = per_attempt
        self._lock = threading.Lock()
        self._by_attempt: Counter[str] = Counter()

    def open_count(self) -> int:
        with self._lock:
            return sum(self._by_attempt.values())

    def take(self, attempt_id: str) -> Callable[[], None]:
        """A slot for one stream of ``attempt_id``, and the function that gives it back
        (safe to call more than once); refused when the attempt or the server is full."""
        wait = max(1, STREAM_SECONDS // 4)
        with self._lock:
            if self._by_attempt[attempt_id] >= self.per_attempt:
                raise TooManyStreams(
                    f"This assessment already has {self.per_attempt} pages following their "
                    "results live.",
                    hint="This page checks for results every few seconds instead.",
                    retry_after=wait)
            if sum(self._by_attempt.values()) >= self.total:
                raise ServerBusy("The server is following as many live pages as it can.",
                                 hint="This page checks for results every few seconds "
                                      "instead.", retry_after=wait)
            self._by_attempt[attempt_id] += 1
        given_back = threading.Event()

        def give_back() -> None:
            with self._lock:
                if given_back.is_set():
                    return
                given_back.set()
                self._by_attempt[attempt_id] -= 1
                if self._by_attempt[attempt_id] <= 0:
                    del self._by_attempt[attempt_id]

        return give_back


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = StreamSlots(MAX_OPEN_STREAMS, MAX_STREAMS_PER_ATTEMPT)


def slots() -> StreamSlots:
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def state_stream(attempt_id: str, attempt_pk: int, challenge_id: int) -> Response:
    """The live state of one challenge of an attempt as server-sent events: sent each time
    it changes, until it is final or the stream's lifetime is up. Refused (429, 503) when
    the attempt or the server has no stream slot left."""
    give_back = slots().take(attempt_id)
    lifetime = STREAM_SECONDS
    db.session.remove()  # the stream must not hold the request's connection meanwhile

    def stream() -> Iterator[str]:
        try:
            started = last_sent = time.monotonic()
            shown = ""
            yield f"retry: {RECONNECT_MILLISECONDS}\n\n"
            while time.monotonic() - started < lifetime and not CLOSING.is_set():
                current = db.session.get(Attempt, attempt_pk)
                if current is None:
                    return
                state = live.workspace_state(current, challenge_id, now=now())
                db.session.remove()
                fingerprint = live.digest(state)
                if fingerprint != shown:
                    shown, last_sent = fingerprint, time.monotonic()
                    yield f"event: status\ndata: {json.dumps(state)}\n\n"
                    if state["final"]:
                        yield "event: final\ndata: {}\n\n"
                        return
                elif time.monotonic() - last_sent >= KEEPALIVE_SECONDS:
                    last_sent = time.monotonic()
                    yield ": keep-alive\n\n"
                CLOSING.wait(STREAM_POLL_SECONDS)
            yield "event: timeout\ndata: {}\n\n"
        finally:
            give_back()

    response = Response(stream_with_context(stream()), mimetype="text/event-stream")
    # A response closed before its first chunk never runs the generator's finally.
    response.call_on_close(give_back)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # a buffering proxy would hold events back
    return response
