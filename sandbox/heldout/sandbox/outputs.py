"""Copy what a finished run left in /output to the host, trusting none of it."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from heldout.sandbox.spec import OutputFile

MAX_DEPTH = 16
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Collected:
    files: tuple[OutputFile, ...]
    skipped: tuple[str, ...]
    total_bytes: int
    hit_cap: bool


def _safe_name(raw: bytes) -> str | None:
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ch in name for ch in "\n\r\x00") or not name.isprintable():
        return None
    return name


def collect(source: Path, dest: Path, *, max_bytes: int, max_files: int) -> Collected:
    """Copy regular files only, never following links, within size and count caps.

    Must be called only when no sandbox process is alive, so nothing can swap a file
    for a link between the check and the copy; ``O_NOFOLLOW`` guards anyway.
    """
    files: list[OutputFile] = []
    skipped: list[str] = []
    total = 0
    hit_cap = False
    dest.mkdir(parents=True, exist_ok=True)

    def visit(directory: bytes, rel: tuple[str, ...]) -> None:
        nonlocal total, hit_cap
        if len(rel) > MAX_DEPTH:
            skipped.append("/".join(rel) + "/ (nested too deeply)")
            return
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            name = _safe_name(entry.name)
            shown = "/".join((*rel, name if name is not None else repr(entry.name)))
            if name is None:
                skipped.append(f"{shown} (name is not printable UTF-8)")
                continue
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                skipped.append(f"{shown} (symbolic link, not followed)")
            elif stat.S_ISDIR(st.st_mode):
                visit(entry.path, (*rel, name))
            elif not stat.S_ISREG(st.st_mode):
                skipped.append(f"{shown} (not a regular file)")
            elif len(files) >= max_files:
                hit_cap = True
                skipped.append(f"{shown} (more than {max_files} files)")
            elif total + st.st_size > max_bytes:
                hit_cap = True
                skipped.append(f"{shown} ({st.st_size} bytes: over the {max_bytes}-byte output cap)")
            else:
                copied = _copy(entry.path, dest.joinpath(*rel, name), st.st_size)
                if copied is None:
                    skipped.append(f"{shown} (changed or unreadable while copying)")
                    continue
                total += copied
                files.append(OutputFile(name="/".join((*rel, name)), size=copied,
                                        path=dest.joinpath(*rel, name)))

    visit(os.fsencode(source), ())
    return Collected(tuple(files), tuple(skipped), total, hit_cap)


def _copy(src: bytes, target: Path, size: int) -> int | None:
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOENT, errno.EACCES, errno.ENXIO):
            return None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        copied = 0
        with open(target, "wb") as out:
            while copied < size:
                chunk = os.read(fd, min(CHUNK, size - copied))
                if not chunk:
                    break
                out.write(chunk)
                copied += len(chunk)
        return copied
    finally:
        os.close(fd)
