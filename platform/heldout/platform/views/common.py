"""Helpers the views share: settings-derived objects, the server clock, the request's origin."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from flask import current_app, request

from heldout.platform.blobs import BlobStore
from heldout.platform.models import utcnow
from heldout.platform.services.audit import Origin


def now() -> datetime:
    return utcnow()


def blob_store() -> BlobStore:
    return BlobStore(Path(current_app.config["HELDOUT_DATA_DIR"]) / "blobs")


def challenges_dir() -> Path:
    return Path(current_app.config["HELDOUT_CHALLENGES_DIR"])


def parse_int(value: str | None, default: int | None = None) -> int | None:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def request_origin() -> Origin:
    """Where this request came from, for the audit log: the client's address (as the
    trusted-proxy settings resolve it) and its user agent."""
    return Origin(request.remote_addr, request.headers.get("User-Agent"))
