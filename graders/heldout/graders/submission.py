"""Copy a submission into a fresh workspace, accepting only what the bundle allows."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from heldout.graders.bundle_types import SKIPPED_DIRS, SubmissionSpec

MAX_SHOWN = 3


@dataclass(frozen=True)
class StagedSubmission:
    """The files copied into the workspace, or why the submission was refused."""

    files: tuple[str, ...]
    total_bytes: int
    problem: str | None


def _shown(names: list[str]) -> str:
    more = f" and {len(names) - MAX_SHOWN} more" if len(names) > MAX_SHOWN else ""
    return ", ".join(names[:MAX_SHOWN]) + more


def _walk(source: Path) -> tuple[list[tuple[str, Path, int]], list[str]]:
    """Regular files as (relative path, path, size), and the entries that aren't files."""
    files: list[tuple[str, Path, int]] = []
    strange: list[str] = []
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        here = Path(dirpath)
        kept = []
        for name in sorted(dirnames):
            if name in SKIPPED_DIRS:
                continue
            if os.path.islink(here / name):
                strange.append((here / name).relative_to(source).as_posix())
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = here / name
            info = os.lstat(path)
            relative = path.relative_to(source).as_posix()
            if stat.S_ISREG(info.st_mode):
                files.append((relative, path, info.st_size))
            else:
                strange.append(relative)
    return files, strange


def stage_submission(spec: SubmissionSpec, source: Path, workspace: Path) -> StagedSubmission:
    """Copy ``source`` (a directory, or one file taken as the entrypoint) into ``workspace``.

    Refusals (missing entrypoint, links, files the bundle doesn't accept, size caps) come
    back as ``problem``, a graded reason; a missing ``source`` is the caller's fault and
    raises ``FileNotFoundError``.
    """
    if source.is_file():
        files = [(spec.entrypoint, source, source.stat().st_size)]
        strange: list[str] = []
    elif source.is_dir():
        files, strange = _walk(source)
    else:
        raise FileNotFoundError(f"submission not found: {source}")

    problems: list[str] = []
    if strange:
        problems.append(f"only regular files are accepted, not links or special files: "
                        f"{_shown(strange)}")
    refused = [name for name, _, _ in files if not spec.accepts(name)]
    if refused:
        problems.append(f"files not accepted by this challenge: {_shown(refused)} "
                        f"(accepted: {spec.describe()})")
    if not any(name == spec.entrypoint for name, _, _ in files):
        problems.append(f"{spec.entrypoint} is missing: the run starts with it")
    if len(files) > spec.max_files:
        problems.append(f"{len(files)} files, more than the {spec.max_files} allowed")
    total = sum(size for _, _, size in files)
    if total > spec.max_bytes:
        problems.append(f"{total} bytes in all, more than the {spec.max_bytes} allowed")
    if problems:
        return StagedSubmission((), total, "; ".join(problems))

    workspace.mkdir(parents=True, exist_ok=True)
    for name, path, _ in files:
        target = workspace / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(spec.max_bytes + 1)
        target.write_bytes(data)
    return StagedSubmission(tuple(name for name, _, _ in files), total, None)
