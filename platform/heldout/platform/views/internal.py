"""The internal API workers on other hosts use for files: blobs and bundle versions by hash.

Authenticated by ``HELDOUT_INTERNAL_TOKEN`` alone (``Authorization: Bearer …``), never by
a browser session, and answered in JSON; with no token configured it does not exist (404).
It must be reachable from the workers' network only: never proxy ``/internal/`` publicly.

It stays apart from the API (views/api/): no person is behind it, so it has no viewer and
no team or role rules, only the shared token; its refusals are problem documents all the
same (http.py), the site's one JSON error shape.

It shares the web app's port all the same, so wrong tokens count per client address like
failed sign-ins (``HELDOUT_LOGIN_LIMIT_ADDRESS``): past the limit that address gets 429.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import tempfile
import time
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request
from flask_limiter.util import get_remote_address
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import wrap_file

from heldout.graders.errors import BundleError
from heldout.platform.blobs import (
    SHA256,
    VERSION_PREFIX,
    BlobMissing,
    BlobStore,
    BundleVersionMissing,
)
from heldout.platform.errors import StorageFull
from heldout.platform.extensions import csrf, limiter
from heldout.platform.http import INTERNAL_BLUEPRINT, problem
from heldout.platform.remote_files import MAX_BLOB_BYTES, write_bundle_tar
from heldout.platform.services.catalogue import get_bundles

bp = Blueprint(INTERNAL_BLUEPRINT, __name__, url_prefix="/internal/v1")
# Token-authenticated, not a browser form. Workers are few and trusted: only wrong tokens
# are counted (below), never a worker's own requests, however many.
csrf.exempt(bp)
limiter.exempt(bp)
FAILURES_SCOPE = "internal-token"
log = logging.getLogger(__name__)

TITLES = {"NotFound": "Not found", "Unauthorized": "Please authenticate",
          "BlobMissing": "Blob missing", "TooLarge": "Blob too large",
          "HashMismatch": "Hash mismatch", "StorageFull": "Storage full",
          "BundleVersionMissing": "Bundle version missing",
          "TooManyRequests": "Too many wrong tokens"}
# Above this the tar is spooled to a temporary file instead of memory.
SPOOL_BYTES = 8 * 1024 * 1024


def _refuse(status: int, code: str, detail: str) -> Response:
    response = problem(status, TITLES.get(code, code), detail, code=code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _failure_limits() -> list[RateLimitItem]:
    return list(parse_many(current_app.config["HELDOUT_LOGIN_LIMIT_ADDRESS"]))


def _throttled(address: str) -> Response | None:
    """429 when this address already failed too often, else None."""
    strategy = limiter.limiter
    try:
        spent = [limit for limit in _failure_limits()
                 if not strategy.test(limit, FAILURES_SCOPE, address)]
        if not spent:
            return None
        reset = max(strategy.get_window_stats(limit, FAILURES_SCOPE, address).reset_time
                    for limit in spent)
    except Exception:  # the counts' storage is down: the token check still holds
        log.warning("internal token throttle not checked: storage unavailable", exc_info=True)
        return None
    response = _refuse(429, "TooManyRequests", "Too many wrong internal tokens came from "
                       "this address; try again later.")
    response.headers["Retry-After"] = str(max(1, int(reset - time.time()) + 1))
    return response


def _count_failure(address: str) -> None:
    strategy = limiter.limiter
    try:
        for limit in _failure_limits():
            strategy.hit(limit, FAILURES_SCOPE, address)
    except Exception:  # storage down: the refusal holds, uncounted
        log.warning("wrong internal token not counted: storage unavailable", exc_info=True)


@bp.before_request
def _authenticate() -> Response | None:
    expected = str(current_app.config["HELDOUT_INTERNAL_TOKEN"])
    if not expected:
        return _refuse(404, "NotFound", "There is nothing at this address.")
    address = get_remote_address()
    throttled = _throttled(address)
    if throttled is not None:
        return throttled
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode("utf-8"), expected.encode("utf-8")):
        _count_failure(address)
        response = _refuse(401, "Unauthorized", "A valid internal token is required.")
        response.headers["WWW-Authenticate"] = 'Bearer realm="heldout-internal"'
        return response
    return None


@bp.after_request
def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _blobs() -> BlobStore:
    # Always the web app's own disk, whatever else is configured.
    return BlobStore(Path(current_app.config["HELDOUT_DATA_DIR"]) / "blobs")


def _blob_cap() -> int:
    return max(MAX_BLOB_BYTES, int(current_app.config["HELDOUT_MAX_UPLOAD_MB"]) * 1024 * 1024)


@bp.get("/ping")
def ping() -> Response:
    """A worker's start-up check: the endpoint answers and the token is right."""
    return jsonify({"ok": True})


@bp.get("/blobs/<sha256>")
def blob_get(sha256: str) -> Response:
    """A stored blob's bytes, checked against their hash before they are sent."""
    if not SHA256.fullmatch(sha256):
        return _refuse(404, "NotFound", "Not a sha256 hex digest.")
    try:
        data = _blobs().get(sha256)
    except BlobMissing:
        return _refuse(404, "BlobMissing", f"No intact blob {sha256} is stored here.")
    return Response(data, 200, mimetype="application/octet-stream",
                    headers={"X-Content-SHA256": sha256})


@bp.put("/blobs/<sha256>")
def blob_put(sha256: str) -> Response:
    """Store a blob a worker made; refused unless its bytes hash to the address."""
    if not SHA256.fullmatch(sha256):
        return _refuse(404, "NotFound", "Not a sha256 hex digest.")
    cap = _blob_cap()
    request.max_content_length = cap
    try:
        data = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return _refuse(413, "TooLarge", f"A blob may be at most {cap} bytes.")
    if hashlib.sha256(data).hexdigest() != sha256:
        return _refuse(400, "HashMismatch", "The body does not hash to the digest in the URL; "
                     "nothing was stored.")
    store = _blobs()
    existed = store.path(sha256).is_file()
    try:
        store.put(data)
    except StorageFull as exc:
        return _refuse(507, "StorageFull", exc.message)
    response = jsonify({"ok": True, "sha256": sha256, "size": len(data),
                        "created": not existed})
    response.status_code = 200 if existed else 201
    return response


@bp.get("/bundles/<version_hex>/<slug>.tar")
def bundle_tar(version_hex: str, slug: str) -> Response:
    """A stored bundle version as an uncompressed, deterministic tar."""
    version = f"{VERSION_PREFIX}{version_hex}"
    try:
        if not SHA256.fullmatch(version_hex):
            raise ValueError(version_hex)
        bundle = get_bundles().at_version(slug, version)
    except (BundleVersionMissing, BundleError, ValueError):
        return _refuse(404, "BundleVersionMissing", f"No bundle {slug} at version {version}.")
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the response closes it
    try:
        write_bundle_tar(bundle.root, spool)
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return Response(wrap_file(request.environ, spool), 200, mimetype="application/x-tar",
                    direct_passthrough=True,
                    headers={"Content-Length": str(size), "X-Bundle-Version": version})
