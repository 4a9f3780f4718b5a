"""A full data directory: the upload is refused plainly, nothing half-written remains.

The blob store sits on a real, small filesystem: a 2 MiB tmpfs mounted (as root) over the
test's ``blobs/`` directory, filled until only a little room is left, then a submission
bigger than that room is sent.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from heldout.platform.blobs import BlobStore
from heldout.platform.errors import StorageFull
from heldout.platform.extensions import db
from heldout.platform.models import Submission, SubmissionFile

SLUG = "churn-prediction"
ROOM_LEFT = 48 * 1024  # what the filler leaves free: less than the submission below


def _room(path: Path) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


@pytest.fixture
def small_blob_store(tmp_path: Path) -> Iterator[Path]:
    """The app's blob directory (``<data dir>/blobs``) on a 2 MiB tmpfs of its own."""
    blobs = tmp_path / "var" / "blobs"
    blobs.mkdir(parents=True)
    if os.geteuid() != 0:
        pytest.fail("mounting the small tmpfs for the disk-full test needs root "
                    "(scripts/test runs as root in CI)")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs", str(blobs)],
                   check=True, capture_output=True, timeout=30)
    try:
        assert _room(blobs) <= 2 * 1024 * 1024
        yield blobs
    finally:
        subprocess.run(["umount", "--lazy", str(blobs)], check=True, capture_output=True,
                       timeout=30)


def _fill(directory: Path, leave: int) -> Path:
    """A file that takes all the room but ``leave`` bytes."""
    filler = directory / "filler"
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, _room(directory) - leave))
    assert leave // 2 < _room(directory) <= leave
    return filler


def _files(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


def _rows(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (int(db.session.scalar(select(func.count()).select_from(Submission)) or 0),
                int(db.session.scalar(select(func.count()).select_from(SubmissionFile)) or 0))


def test_an_upload_to_a_full_disk_is_refused_and_leaves_nothing(
        small_blob_store: Path, app: Flask, client: FlaskClient, attempt: str) -> None:
    # Acknowledged while there was room: kept, whatever happens next.
    first = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "print('first')\n"})
    assert first.status_code == 302
    _fill(small_blob_store, ROOM_LEFT)
    before_files, before_rows = _files(small_blob_store), _rows(app)
    assert before_rows == (1, 1)

    # Bigger than the room left: the write starts, then the disk is full.
    code = "print('big')\n" + "# padding to fill the disk\n" * (200 * 1024 // 27)
    assert ROOM_LEFT < len(code) < 256 * 1024  # within the challenge's own limit
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": code})

    assert response.status_code == 507
    page = response.text
    assert "<title>Storage full" in page
    assert "no room left to store files, so this was not kept" in page
    assert "earlier work is kept" in page
    assert "Traceback" not in page and "Errno" not in page and str(small_blob_store) not in page
    # No partial blob, no temporary file, no row: exactly what was there before.
    assert _files(small_blob_store) == before_files
    assert not list(small_blob_store.rglob(".incoming-*"))
    assert _rows(app) == before_rows

    # Room again: the same upload is taken.
    (small_blob_store / "filler").unlink()
    again = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": code})
    assert again.status_code == 302
    assert _rows(app) == (2, 2)


def test_the_store_itself_raises_storage_full_and_removes_its_temporary_file(
        small_blob_store: Path) -> None:
    store = BlobStore(small_blob_store)
    kept = store.put(b"small and early")
    _fill(small_blob_store, 16 * 1024)
    with pytest.raises(StorageFull) as raised:
        store.put(os.urandom(200 * 1024))
    assert isinstance(raised.value, OSError)  # artefact storing tolerates it as before
    cause = raised.value.__cause__
    assert isinstance(cause, OSError) and cause.errno == errno.ENOSPC
    assert _files(small_blob_store) == {f"{kept[:2]}/{kept}", "filler"}
    assert store.get(kept) == b"small and early"
