"""A restarted worker removes the work directories its killed earlier life left behind."""

from __future__ import annotations

from pathlib import Path

from heldout.platform.identity import WorkerIdentity
from heldout.platform.worker import sweep_work_dirs

EARLIER, NOW = "8c8f6952aa86", "0123456789ab"


def make(runs: Path, name: str) -> Path:
    path = runs / name
    (path / "submission").mkdir(parents=True)
    (path / "submission" / "solution.py").write_text("print('candidate code')\n")
    return path


def test_only_earlier_lives_of_the_held_identity_are_removed(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    earlier = make(runs, f"7-host-1-{EARLIER}-d3b08f12")
    earlier_public = make(runs, f"public-3-host-1-{EARLIER}-0badcafe")
    current = make(runs, f"8-host-1-{NOW}-12345678")
    other_worker = make(runs, f"9-host-1-b-{EARLIER}-d3b08f12")
    unrelated = make(runs, "notes")
    (runs / f"10-host-1-{EARLIER}-aaaaaaaa").write_text("a file, not a work directory")

    removed = sweep_work_dirs(tmp_path, WorkerIdentity("host-1", NOW, exclusive=True))

    assert sorted(removed) == sorted([earlier, earlier_public])
    assert not earlier.exists() and not earlier_public.exists()
    assert current.is_dir() and other_worker.is_dir() and unrelated.is_dir()
    assert (runs / f"10-host-1-{EARLIER}-aaaaaaaa").is_file()


def test_a_worker_without_its_identity_removes_nothing(tmp_path: Path) -> None:
    earlier = make(tmp_path / "runs", f"7-host-1-{EARLIER}-d3b08f12")
    assert sweep_work_dirs(tmp_path, WorkerIdentity("host-1", NOW, exclusive=False)) == []
    assert earlier.is_dir()
    assert sweep_work_dirs(tmp_path / "nothing-here", WorkerIdentity("host-1", NOW, True)) == []
