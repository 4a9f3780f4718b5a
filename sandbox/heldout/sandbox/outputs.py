"""Copy what a finished run left in /output to the host, trusting none of it."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from heldout.sandbox.spec import OutputFile

MAX_DEPTH = 16
MAX_RELATIVE_PATH = 1024  # characters; keeps every copy's host path well under PATH_MAX
CHUNK = 1024 * 1024
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass(frozen=True)
class Collected:
    files: tuple[OutputFile, ...]
    skipped: tuple[str, ...]
    total_bytes: int
    hit_cap: bool


def _safe_name(raw: str) -> str | None:
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes come back as lone surrogates
        return None
    if not raw.isprintable():
        return None
    return raw


class _Collector:
    """Walks the tree through directory descriptors (``openat``), so neither a link swapped
    in nor a path longer than the kernel accepts can make it read elsewhere or fail."""

    def __init__(self, dest: Path, max_bytes: int, max_files: int) -> None:
        self.dest = dest
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.files: list[OutputFile] = []
        self.skipped: list[str] = []
        self.total = 0
        self.hit_cap = False

    def visit(self, dir_fd: int, rel: tuple[str, ...]) -> None:
        try:
            with os.scandir(dir_fd) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            self.skipped.append("/".join(rel) + "/ (unreadable directory)")
            return
        for entry in entries:
            name = _safe_name(entry.name)
            shown = "/".join((*rel, name if name is not None else repr(entry.name)))
            if name is None:
                self.skipped.append(f"{shown} (name is not printable UTF-8)")
                continue
            try:
                self.visit_entry(dir_fd, entry, (*rel, name), shown)
            except OSError as exc:
                self.skipped.append(f"{shown} (unreadable: {exc.strerror})")

    def visit_entry(self, dir_fd: int, entry: os.DirEntry[str], rel: tuple[str, ...],
                    shown: str) -> None:
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(st.st_mode):
            self.skipped.append(f"{shown} (symbolic link, not followed)")
        elif len("/".join(rel)) > MAX_RELATIVE_PATH:
            self.skipped.append(f"{shown[:80]}… (path longer than {MAX_RELATIVE_PATH} characters)")
        elif stat.S_ISDIR(st.st_mode):
            if len(rel) > MAX_DEPTH:
                self.skipped.append(f"{shown}/ (nested too deeply)")
                return
            child = os.open(entry.name, _DIR_FLAGS, dir_fd=dir_fd)
            try:
                self.visit(child, rel)
            finally:
                os.close(child)
        elif not stat.S_ISREG(st.st_mode):
            self.skipped.append(f"{shown} (not a regular file)")
        elif len(self.files) >= self.max_files:
            self.hit_cap = True
            self.skipped.append(f"{shown} (more than {self.max_files} files)")
        elif self.total + st.st_size > self.max_bytes:
            self.hit_cap = True
            self.skipped.append(f"{shown} ({st.st_size} bytes: over the {self.max_bytes}-byte output cap)")
        else:
            target = self.dest.joinpath(*rel)
            copied = _copy(dir_fd, entry.name, target, st.st_size)
            if copied is None:
                self.skipped.append(f"{shown} (changed while copying)")
                return
            self.total += copied
            self.files.append(OutputFile(name="/".join(rel), size=copied, path=target))


def collect(source: Path, dest: Path, *, max_bytes: int, max_files: int) -> Collected:
    """Copy regular files only, never following links, within size and count caps.

    Called only when no sandbox process is alive, so nothing can swap a file for a link
    between the check and the copy; ``O_NOFOLLOW`` at every step guards anyway.
    """
    dest.mkdir(parents=True, exist_ok=True)
    collector = _Collector(dest, max_bytes, max_files)
    root = os.open(source, _DIR_FLAGS)
    try:
        collector.visit(root, ())
    finally:
        os.close(root)
    return Collected(tuple(collector.files), tuple(collector.skipped), collector.total,
                     collector.hit_cap)


def _copy(dir_fd: int, name: str, target: Path, size: int) -> int | None:
    fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
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
