"""Per-run host directories: staged workspace and data, a size-capped /output, a control pipe."""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import stat
import subprocess
import time
import uuid
from pathlib import Path

from heldout.sandbox.errors import SandboxError
from heldout.sandbox.spec import RUN_UIDS

log = logging.getLogger(__name__)

MAX_STAGED_BYTES = 2 * 1024 * 1024 * 1024


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def _mount_tmpfs(target: Path, size_mb: int, uid: int) -> None:
    options = (f"size={size_mb}m,nr_inodes=65536,mode=0700,uid={uid},gid={uid},"
               "nosuid,nodev,noexec")
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "heldout-output", str(target)],
                   check=True, capture_output=True, timeout=30)


def _umount(target: Path) -> None:
    result = subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30, check=False)
    if result.returncode != 0:
        log.error("could not unmount %s: %s", target, result.stderr.decode(errors="replace").strip())


def stage_tree(source: Path, dest: Path, *, link: bool = False,
               max_bytes: int = MAX_STAGED_BYTES) -> None:
    """Copy regular files and directories only (no links, devices), readable by the sandbox user.

    With ``link``, world-readable files are hard-linked instead of copied when the file
    system allows (public data, mounted read-only, so the sandbox can't alter the original).
    """
    total = 0
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        rel = Path(dirpath).relative_to(source)
        for name in dirnames:
            if not os.path.islink(os.path.join(dirpath, name)):
                target_dir = dest / rel / name
                target_dir.mkdir(mode=0o755, exist_ok=True)
                os.chmod(target_dir, 0o755)  # noqa: S103 - the sandbox user must read it
        for name in filenames:
            src = Path(dirpath) / name
            st = os.lstat(src)
            if not stat.S_ISREG(st.st_mode):
                continue
            total += st.st_size
            if total > max_bytes:
                raise SandboxError(f"staged files exceed {max_bytes} bytes")
            target = dest / rel / name
            if link and st.st_mode & stat.S_IROTH:
                try:
                    os.link(src, target, follow_symlinks=False)
                    continue
                except OSError:
                    pass
            shutil.copyfile(src, target, follow_symlinks=False)
            os.chmod(target, 0o644)


class RunDir:
    """``root/{workspace,data,harness,output,control}`` for one container, made under
    ``runs_root`` (the sandbox settings' ``run_dir``); ``close()`` undoes all."""

    def __init__(self, output_mb: int, runs_root: Path) -> None:
        self.uid = RUN_UIDS.start + secrets.randbelow(len(RUN_UIDS))
        self.root = runs_root / uuid.uuid4().hex
        self.root.mkdir(mode=0o711, parents=True)
        os.chmod(self.root, 0o711)  # noqa: S103 - traversable, not listable
        self.workspace = self._subdir("workspace", 0o755)
        self.data = self._subdir("data", 0o755)
        self.harness = self._subdir("harness", 0o755)
        self.control = self._subdir("control", 0o755)
        self.output = self._subdir("output", 0o700)
        self.output_is_capped = False
        if can_mount():
            try:
                _mount_tmpfs(self.output, output_mb, self.uid)
                self.output_is_capped = True
            except (subprocess.CalledProcessError, OSError) as exc:
                log.warning("could not mount a capped tmpfs for /output, using a plain dir: %s", str(exc))
        if not self.output_is_capped:
            if os.geteuid() == 0:
                os.chown(self.output, self.uid, self.uid)
            else:
                os.chmod(self.output, 0o777)  # noqa: S103 - not root: no other way to share it

    def _subdir(self, name: str, mode: int) -> Path:
        path = self.root / name
        path.mkdir(mode=mode)
        os.chmod(path, mode)
        return path

    def stage(self, workspace: Path, data: Path | None, harness: Path | None = None) -> None:
        stage_tree(workspace, self.workspace)
        if data is not None:
            stage_tree(data, self.data, link=True)
        if harness is not None:
            stage_tree(harness, self.harness)

    def make_pipe(self) -> Path:
        """A FIFO the warm container's launcher reads its job from."""
        pipe = self.control / "job"
        os.mkfifo(pipe, 0o600)
        if os.geteuid() == 0:
            os.chown(pipe, self.uid, self.uid)
        else:
            os.chmod(pipe, 0o666)  # noqa: S103 - not root: no other way to share it
        return pipe

    def close(self) -> None:
        if self.output_is_capped:
            _umount(self.output)
            self.output_is_capped = False
        shutil.rmtree(self.root, ignore_errors=True)


def _is_mountpoint(path: Path) -> bool:
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    return any(len(line.split()) > 1 and line.split()[1] == str(path) for line in mounts)


def discard(root: Path, runs_root: Path) -> None:
    """Remove a run directory left behind by a dead worker (only one under ``runs_root``)."""
    root = Path(root)
    if root.parent != runs_root or not root.is_dir():
        return
    if _is_mountpoint(root / "output"):
        _umount(root / "output")
    shutil.rmtree(root, ignore_errors=True)


def sweep_stale(in_use: set[str], runs_root: Path, older_than_s: float = 3600.0) -> int:
    """Remove run directories under ``runs_root`` no container uses and that are older
    than ``older_than_s``."""
    if not runs_root.is_dir():
        return 0
    removed = 0
    now = time.time()
    for child in runs_root.iterdir():
        if str(child) in in_use:
            continue
        try:
            age = now - child.stat().st_mtime
        except OSError:
            continue
        if age >= older_than_s:
            discard(child, runs_root)
            removed += 1
    return removed
