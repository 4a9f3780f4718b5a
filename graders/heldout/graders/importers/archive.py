"""Unpacking an untrusted zip archive: no path escapes, no links, no bombs, a byte budget."""

from __future__ import annotations

import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from heldout.graders.errors import ImportRefused

MAX_TOTAL_BYTES = 512 * 1024 * 1024  # everything unpacked from one import, nested zips included
MAX_MEMBERS = 10_000
MAX_RATIO = 200  # uncompressed / compressed size of one member (data compresses far less) ...
RATIO_FLOOR_BYTES = 64 * 1024  # ... checked for members at least this large
CHUNK = 1024 * 1024


@dataclass
class Budget:
    """What one import may still unpack, shared by the archive and the archives inside it."""

    bytes_left: int = field(default_factory=lambda: MAX_TOTAL_BYTES)
    members_left: int = field(default_factory=lambda: MAX_MEMBERS)


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def safe_member_path(name: str) -> PurePosixPath | None:
    """The member's relative path, or None when it could land outside the target."""
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    if len(name) > 1 and name[1] == ":":  # a drive letter
        return None
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        return None
    return path


def _check_members(archive: zipfile.ZipFile, shown: str, budget: Budget) -> list[zipfile.ZipInfo]:
    infos = archive.infolist()
    if len(infos) > budget.members_left:
        raise ImportRefused(f"{shown}: {len(infos)} entries, over the limit of {MAX_MEMBERS}")
    budget.members_left -= len(infos)
    declared = 0
    seen: set[str] = set()
    files: list[zipfile.ZipInfo] = []
    for info in infos:
        path = safe_member_path(info.filename)
        if path is None:
            raise ImportRefused(f"{shown}: entry {info.filename!r} would be written outside the "
                                "archive's folder (absolute path or '..')")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ImportRefused(f"{shown}: entry {info.filename!r} is a symbolic link; links "
                                "are not imported")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no type recorded
            raise ImportRefused(f"{shown}: entry {info.filename!r} is not a regular file")
        if info.flag_bits & 0x1:
            raise ImportRefused(f"{shown}: entry {info.filename!r} is encrypted")
        key = path.as_posix()
        if key in seen:
            raise ImportRefused(f"{shown}: entry {info.filename!r} appears twice")
        seen.add(key)
        if info.is_dir():
            continue
        if (info.file_size >= RATIO_FLOOR_BYTES
                and info.file_size > MAX_RATIO * max(info.compress_size, 1)):
            raise ImportRefused(
                f"{shown}: entry {info.filename!r} expands {_size(info.compress_size)} to "
                f"{_size(info.file_size)} (over {MAX_RATIO}:1): refused as a zip bomb")
        declared += info.file_size
        files.append(info)
    if declared > budget.bytes_left:
        raise ImportRefused(f"{shown}: unpacks to {_size(declared)}, over the "
                            f"{_size(budget.bytes_left)} left of an import's limit: refused as a zip bomb")
    return files


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, shown: str,
                 budget: Budget) -> None:
    """Stream one member out, counting real bytes: a header may lie about the size."""
    written = 0
    with archive.open(info) as source, target.open("xb") as sink:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            if written > info.file_size or written > budget.bytes_left:
                raise ImportRefused(f"{shown}: entry {info.filename!r} unpacks to more than its "
                                    "declared size: refused as a zip bomb")
            sink.write(chunk)
    budget.bytes_left -= written


def extract_zip(path: Path, destination: Path, shown: str, budget: Budget) -> None:
    """Unpack ``path`` into the empty directory ``destination`` or refuse, naming ``shown``."""
    if not path.is_file():
        raise ImportRefused(f"{shown}: no such file")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ImportRefused(f"{shown}: not a zip archive ({exc})") from exc
    with archive:
        try:
            wanted = {id(info) for info in _check_members(archive, shown, budget)}
            for info in archive.infolist():
                relative = safe_member_path(info.filename)
                assert relative is not None  # checked above
                target = destination.joinpath(*relative.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                if id(info) not in wanted:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                _copy_member(archive, info, target, shown, budget)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            raise ImportRefused(f"{shown}: damaged zip archive ({exc})") from exc
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            raise ImportRefused(f"{shown}: entries clash (a file and a folder of the same "
                                f"name: {exc.filename})") from exc
