"""Helpers the views share: settings-derived objects, the server clock, the request's origin."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app, request, url_for
from werkzeug.routing import IntegerConverter, Map

from heldout.platform.blobs import BlobStore
from heldout.platform.models import utcnow
from heldout.platform.services.audit import Origin


def now() -> datetime:
    return utcnow()


def blob_store() -> BlobStore:
    return BlobStore(Path(current_app.config["HELDOUT_DATA_DIR"]) / "blobs")


def challenges_dir() -> Path:
    return Path(current_app.config["HELDOUT_CHALLENGES_DIR"])


# Ids live in the database's integer columns (32 bits on PostgreSQL): a larger number names
# nothing, and must not reach a query (an overflow there is a 500, not a 404).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` in URLs: a number past ``MAX_ID`` does not match, so the answer is 404."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def parse_int(value: str | None, default: int | None = None) -> int | None:
    """A number from a form or query string (an id, a page, minutes); ``default`` when it
    is missing, not a number, or beyond what the database holds."""
    try:
        number = int(value) if value not in (None, "") else default
    except ValueError:
        return default
    return default if number is not None and abs(number) > MAX_ID else number


def request_origin() -> Origin:
    """Where this request came from, for the audit log: the client's address (as the
    trusted-proxy settings resolve it) and its user agent."""
    return Origin(request.remote_addr, request.headers.get("User-Agent"))


def links_base() -> str:
    """Where invite links point: HELDOUT_BASE_URL (set, or derived by `heldout serve` from
    its host and port), else the address this request reached."""
    return str(current_app.config["HELDOUT_BASE_URL"] or request.host_url.rstrip("/"))


def invite_link(token: str) -> str:
    """The link a candidate opens, for an invite's token (handed over once, never stored)."""
    return f"{links_base()}{url_for('candidate.landing', token=token)}"
