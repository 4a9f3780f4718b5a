"""``evaluate`` refuses any job whose mounts would carry a bundle's answers to candidate code."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle import Bundle
from heldout.graders.checks import CheckType
from heldout.graders.guard import GuardedSandbox
from heldout.graders.kinds import KINDS
from heldout.graders.kinds.parts import ReportPart
from heldout.graders.result import Evaluation, Split
from heldout.sandbox.spec import JobSpec

from .conftest import FakeSandbox

MountMaker = Callable[[Bundle, Path, Path], dict[str, Path]]


class Peeking:
    """A kind gone wrong: it mounts whatever ``mounts`` builds for its one job."""

    name = "peeking"
    summary = "a kind that tries to mount answer files"
    checks: tuple[CheckType, ...] = ()
    artefacts: tuple[str, ...] = ()
    report_parts: tuple[ReportPart, ...] = ()
    roles: tuple[str, ...] = ()

    def __init__(self, mounts: MountMaker, scratch: Path, *, service: bool = False) -> None:
        self.mounts = mounts
        self.scratch = scratch
        self.service = service
        self.model_training = KINDS.get("model_training")

    def parse_grading(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used: the bundle is loaded as model_training")

    def verify(self, bundle: Bundle) -> None:
        return None

    def grade(self, bundle: Bundle, workspace: Path, sandbox: Any, split: Split) -> Evaluation:
        mounts = self.mounts(bundle, workspace, self.scratch)
        spec = JobSpec(command=("python", "solution.py"), workspace=workspace,
                       data=mounts.get("data"), harness=mounts.get("harness"))
        out = self.scratch / "out"
        if self.service:
            honest = JobSpec(command=("python", "solution.py"), workspace=workspace,
                             data=bundle.public_dir)
            sandbox.run_service(honest, spec, out / "service", out / "probe")
        else:
            sandbox.run(spec, out)
        return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                          score=100)


def _symlink(scratch: Path, target: Path) -> Path:
    link = scratch / "innocent"
    link.symlink_to(target, target_is_directory=True)
    return link


def _link_dir(kind: str) -> MountMaker:
    def make(bundle: Bundle, workspace: Path, scratch: Path) -> dict[str, Path]:
        harness = scratch / "harness"
        harness.mkdir()
        (harness / "harness.py").write_text("print('trusted')\n")
        labels = bundle.hidden_dir / "labels.csv"
        if kind == "symlink":
            (harness / "labels.csv").symlink_to(labels)
        elif kind == "dir-symlink":
            (harness / "more").symlink_to(bundle.hidden_dir, target_is_directory=True)
        else:
            os.link(labels, harness / "cases.csv")
        return {"harness": harness}
    return make


ATTEMPTS: dict[str, MountMaker] = {
    "hidden as data": lambda b, w, s: {"data": b.hidden_dir},
    "hidden as harness": lambda b, w, s: {"harness": b.hidden_dir},
    "a file's directory inside hidden": lambda b, w, s: {"data": b.hidden_dir / "."},
    "hidden through public/..": lambda b, w, s: {"data": b.public_dir / ".." / "hidden"},
    "the bundle root (holds hidden)": lambda b, w, s: {"data": b.root},
    "solutions as harness": lambda b, w, s: {"harness": b.solutions_dir / "good"},
    "hidden as data via a symlinked directory": lambda b, w, s: {"data": _symlink(s, b.hidden_dir)},
    "a harness with a symlink to the labels": _link_dir("symlink"),
    "a harness with a symlink to hidden/": _link_dir("dir-symlink"),
    "a harness with a hard link to the labels": _link_dir("hardlink"),
}


def _grade(monkeypatch: pytest.MonkeyPatch, bundle_dir: Path, submission: Path,
           kind: Peeking) -> tuple[Evaluation, FakeSandbox]:
    monkeypatch.setitem(KINDS._entries, kind.name, kind)
    bundle = dataclasses.replace(load_bundle(bundle_dir), kind=kind.name)
    sandbox = FakeSandbox()
    return evaluate(bundle, submission, sandbox=sandbox), sandbox


@pytest.mark.parametrize("attempt", list(ATTEMPTS))
def test_mounting_answers_is_an_internal_error_and_never_runs(
        monkeypatch: pytest.MonkeyPatch, bundle_dir: Path, submission: Path, tmp_path: Path,
        attempt: str) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    result, sandbox = _grade(monkeypatch, bundle_dir, submission, Peeking(ATTEMPTS[attempt], scratch))
    assert result.status == "internal_error" and result.score is None
    assert result.error is not None and result.error.startswith("grader: refused to mount")
    assert sandbox.specs == [], "the job reached the sandbox"


def test_a_service_probe_that_mounts_hidden_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                        bundle_dir: Path, submission: Path,
                                                        tmp_path: Path) -> None:
    kind = Peeking(lambda b, w, s: {"harness": b.hidden_dir}, tmp_path, service=True)
    result, sandbox = _grade(monkeypatch, bundle_dir, submission, kind)
    assert result.status == "internal_error"
    assert sandbox.specs == []


def test_public_data_and_a_plain_harness_pass(monkeypatch: pytest.MonkeyPatch, bundle_dir: Path,
                                              submission: Path, tmp_path: Path) -> None:
    def mounts(bundle: Bundle, workspace: Path, scratch: Path) -> dict[str, Path]:
        harness = scratch / "harness"
        harness.mkdir()
        # A copy of hidden inputs is fine: only links to the answer files are refused.
        (harness / "inputs.jsonl").write_text('{"x": 1}\n')
        return {"data": bundle.public_dir, "harness": harness}

    result, sandbox = _grade(monkeypatch, bundle_dir, submission, Peeking(mounts, tmp_path))
    assert result.status == "graded", result.error
    assert [spec.harness for spec in sandbox.specs] == [tmp_path / "harness"]


def test_the_guard_passes_the_rest_of_the_protocol_through(tmp_path: Path) -> None:
    inner = FakeSandbox()
    guarded = GuardedSandbox(inner, forbidden=(tmp_path / "hidden",))
    from heldout.sandbox.spec import Limits

    guarded.prime(Limits(memory_mb=300))
    assert inner.primed == [Limits(memory_mb=300)]
    assert guarded.sweep().containers == ()
    assert [f.name for f in guarded.doctor()] == ["fake sandbox"]
    assert guarded.name == "fake"
