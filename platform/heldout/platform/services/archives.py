"""Uploaded .zip archives, expanded into submission files without trusting them."""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Callable

from heldout.platform.errors import InvalidInput, UploadTooLarge

# Real code compresses 3-10 times; a far higher ratio is a decompression bomb.
MAX_RATIO = 100
CHUNK = 64 * 1024


def expand_zip(name: str, data: bytes, *, max_files: int, max_bytes: int,
               clean_name: Callable[[str], str]) -> list[tuple[str, bytes]]:
    """The regular files of a zip archive, refusing links, traversal and bombs.

    Sizes are checked as the archive declares them and again as bytes are actually
    inflated, so a lying header gains nothing.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        raise InvalidInput(f"{name} is not a readable .zip archive", field="files") from None
    files: list[tuple[str, bytes]] = []
    total = 0
    with archive:
        for entry in entries:
            if entry.is_dir():
                continue
            if stat.S_ISLNK(entry.external_attr >> 16):
                raise InvalidInput(f"{name}: {entry.filename} is a link; only plain files are "
                                   "accepted", field="files")
            inner = clean_name(entry.filename)
            if len(files) >= max_files:
                raise InvalidInput(f"{name} holds more than {max_files} files", field="files")
            ratio = entry.file_size // max(entry.compress_size, 1)
            if ratio > MAX_RATIO and entry.file_size > CHUNK:
                raise InvalidInput(f"{name}: {inner} expands {ratio} times; that is not source "
                                   "code", field="files")
            if total + entry.file_size > max_bytes:
                raise UploadTooLarge(f"{name} expands to more than {max_bytes:,} bytes",
                                     hint="Submit code only, not data or models.", field="files")
            content = _inflate(archive, entry, max_bytes - total, name)
            total += len(content)
            files.append((inner, content))
    return files


def _inflate(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int, name: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(entry) as stream:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > budget or size > entry.file_size:
                    raise UploadTooLarge(f"{name}: {entry.filename} inflates past its declared or "
                                         "allowed size", field="files")
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
        raise InvalidInput(f"{name}: {entry.filename} is damaged or uses an unsupported "
                           "compression", field="files") from None
    return b"".join(chunks)
