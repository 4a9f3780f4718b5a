"""A sandbox wrapper that refuses any job whose mounts would carry a bundle's answers."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from heldout.graders.errors import ForbiddenMount
from heldout.sandbox.backend import SandboxWrapper
from heldout.sandbox.spec import JobSpec, RunResult, ServiceRun

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle
    from heldout.sandbox.backend import Sandbox


def _walk(root: Path) -> Iterator[tuple[Path, os.stat_result]]:
    """Every entry under ``root`` (links not followed) with its lstat."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in (*dirnames, *filenames):
            path = Path(dirpath) / name
            try:
                yield path, os.lstat(path)
            except FileNotFoundError:
                continue


def _inside(path: Path, tree: Path) -> bool:
    return path == tree or path.is_relative_to(tree)


class GuardedSandbox(SandboxWrapper):
    """Passes jobs to ``inner`` only when no mount reaches a forbidden tree.

    Kinds receive this, never the bare sandbox, so a kind's mistake (mounting hidden/,
    or a harness directory holding a link or hard link to a label file) ends as an
    internal error before anything is mounted, instead of answers reaching candidate code.
    """

    def __init__(self, inner: Sandbox, forbidden: tuple[Path, ...]) -> None:
        super().__init__(inner)
        self.forbidden = tuple(Path(os.path.realpath(path)) for path in forbidden)
        self._inodes: frozenset[tuple[int, int]] | None = None

    @classmethod
    def for_bundle(cls, inner: Sandbox, bundle: Bundle) -> GuardedSandbox:
        """Forbids every answer tree of ``bundle``: hidden/, solutions/ and, when a variant
        is bound, the variant's hidden/ (its public/ is what gets mounted instead)."""
        return cls(inner, forbidden=bundle.answer_dirs)

    def _forbidden_inodes(self) -> frozenset[tuple[int, int]]:
        if self._inodes is None:
            self._inodes = frozenset((info.st_dev, info.st_ino)
                                     for tree in self.forbidden if tree.is_dir()
                                     for _, info in _walk(tree) if stat.S_ISREG(info.st_mode))
        return self._inodes

    def check(self, spec: JobSpec) -> None:
        """Raise ``ForbiddenMount`` if any mount of ``spec`` would expose a forbidden file."""
        for role, mount in (("workspace", spec.workspace), ("data", spec.data),
                            ("harness", spec.harness)):
            if mount is not None:
                self._check_mount(role, Path(mount))

    def _check_mount(self, role: str, mount: Path) -> None:
        real = Path(os.path.realpath(mount))
        for tree in self.forbidden:
            if _inside(real, tree) or _inside(tree, real):
                raise ForbiddenMount(f"refused to mount {mount} as {role}: it overlaps {tree}, "
                                     "which holds answers")
        if not real.is_dir():
            return
        inodes = self._forbidden_inodes()
        for path, info in _walk(real):
            if stat.S_ISLNK(info.st_mode):
                target = Path(os.path.realpath(path))
                if any(_inside(target, tree) for tree in self.forbidden):
                    raise ForbiddenMount(f"refused to mount {mount} as {role}: "
                                         f"{path} links into {target}")
            elif (stat.S_ISREG(info.st_mode) and info.st_nlink > 1
                  and (info.st_dev, info.st_ino) in inodes):
                raise ForbiddenMount(f"refused to mount {mount} as {role}: {path} is a hard "
                                     "link to an answer file")

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        self.check(spec)
        return self.inner.run(spec, output_dir)

    def run_service(self, service: JobSpec, probe: JobSpec, service_output: Path,
                    probe_output: Path) -> ServiceRun:
        self.check(service)
        self.check(probe)
        return self.inner.run_service(service, probe, service_output, probe_output)
