"""Per-run host directories: the staged workspace and a size-capped /output."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from heldout.sandbox.errors import SandboxError
from heldout.sandbox.spec import SANDBOX_GID, SANDBOX_UID

log = logging.getLogger(__name__)

MAX_STAGED_BYTES = 512 * 1024 * 1024


def runs_root() -> Path:
    """Where per-run directories live (``HELDOUT_RUN_DIR``)."""
    configured = os.environ.get("HELDOUT_RUN_DIR")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/lib/heldout/runs")
    return Path.home() / ".cache" / "heldout" / "runs"


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


@dataclass(frozen=True)
class RunDir:
    root: Path
    workspace: Path
    data: Path | None
    output: Path
    output_is_capped: bool


def _mount_tmpfs(target: Path, size_mb: int) -> None:
    options = f"size={size_mb}m,nr_inodes=65536,mode=0700,uid={SANDBOX_UID},gid={SANDBOX_GID},nosuid,nodev,noexec"
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "heldout-output", str(target)],
                   check=True, capture_output=True, timeout=30)


def _umount(target: Path) -> None:
    result = subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30, check=False)
    if result.returncode != 0:
        log.error("could not unmount %s: %s", target, result.stderr.decode(errors="replace").strip())


def stage_tree(source: Path, dest: Path, *, max_bytes: int = MAX_STAGED_BYTES) -> None:
    """Copy regular files and directories only (no links, devices), readable by the sandbox user."""
    total = 0
    dest.mkdir(mode=0o755, parents=True, exist_ok=True)
    os.chmod(dest, 0o755)
    for dirpath, dirnames, filenames in os.walk(source, followlinks=False):
        rel = Path(dirpath).relative_to(source)
        for name in dirnames:
            if not os.path.islink(os.path.join(dirpath, name)):
                target_dir = dest / rel / name
                target_dir.mkdir(mode=0o755, exist_ok=True)
                os.chmod(target_dir, 0o755)
        for name in filenames:
            src = Path(dirpath) / name
            st = os.lstat(src)
            if not stat.S_ISREG(st.st_mode):
                continue
            total += st.st_size
            if total > max_bytes:
                raise SandboxError(f"staged files exceed {max_bytes} bytes")
            target = dest / rel / name
            shutil.copyfile(src, target, follow_symlinks=False)
            os.chmod(target, 0o644)


def _readable_by_sandbox(path: Path) -> bool:
    mode = os.stat(path).st_mode
    return bool(mode & stat.S_IROTH and mode & stat.S_IXOTH)


@contextlib.contextmanager
def run_dir(workspace: Path, data: Path | None, output_mb: int) -> Iterator[RunDir]:
    """Create the per-run directories; unmount and delete them whatever happens."""
    root = runs_root() / uuid.uuid4().hex
    root.mkdir(mode=0o711, parents=True)
    os.chmod(root, 0o711)
    output = root / "output"
    output.mkdir(mode=0o700)
    mounted = False
    try:
        if can_mount():
            try:
                _mount_tmpfs(output, output_mb)
                mounted = True
            except (subprocess.CalledProcessError, OSError) as exc:
                log.warning("could not mount a capped tmpfs for /output, using a plain dir: %s", exc)
        if not mounted:
            if os.geteuid() == 0:
                os.chown(output, SANDBOX_UID, SANDBOX_GID)
            else:
                os.chmod(output, 0o777)
        staged_ws = root / "workspace"
        stage_tree(workspace, staged_ws)
        staged_data: Path | None = None
        if data is not None:
            if _readable_by_sandbox(data):
                staged_data = data
            else:
                staged_data = root / "data"
                stage_tree(data, staged_data)
        yield RunDir(root=root, workspace=staged_ws, data=staged_data, output=output,
                     output_is_capped=mounted)
    finally:
        if mounted:
            _umount(output)
        shutil.rmtree(root, ignore_errors=True)
