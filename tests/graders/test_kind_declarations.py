"""What each kind declares (checks, artefacts, report parts, roles) holds, and grading keeps
a kind to it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from heldout.graders import evaluate, load_bundle
from heldout.graders.bundle import Bundle
from heldout.graders.checks import RUN, TESTS, CheckType
from heldout.graders.kinds import KINDS
from heldout.graders.kinds.parts import ReportPart
from heldout.graders.result import Check, Evaluation, Split

from .conftest import FakeSandbox


@pytest.mark.parametrize("name", KINDS.known())
def test_each_kind_declares_what_the_house_reads(name: str) -> None:
    kind = KINDS.get(name)
    assert kind.name == name and kind.summary
    assert RUN in kind.checks and len(set(kind.checks)) == len(kind.checks)
    assert kind.roles, f"{name} names no job role: no role template would pick it"
    for part in kind.report_parts:
        assert part.artefact in kind.artefacts
        assert part.template.is_file() and part.template.parent.name == name


def test_a_kind_package_holds_its_harness() -> None:
    from heldout.graders.kinds import function, sql
    from heldout.graders.kinds.deployment import config as deployment
    from heldout.graders.kinds.feature_engineering import config as feature_engineering
    from heldout.graders.kinds.notebook import config as notebook

    for source in (function.HARNESS_SOURCE, feature_engineering.HARNESS_SOURCE,
                   notebook.HARNESS_SOURCE, sql.HARNESS_SOURCE, deployment.PROBE_SOURCE):
        assert source.is_file() and source.parent.parent.name == "kinds"


class Sloppy:
    """A kind whose evaluation holds what it did not declare."""

    name = "sloppy"
    summary = "declares less than it makes"
    checks: tuple[CheckType, ...] = (RUN,)
    artefacts: tuple[str, ...] = ()
    report_parts: tuple[ReportPart, ...] = ()
    roles: tuple[str, ...] = ()

    def __init__(self, **made: Any) -> None:
        self.made = made

    def parse_grading(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("not used: the bundle is loaded as model_training")

    def verify(self, bundle: Bundle) -> None:
        return None

    def grade(self, bundle: Bundle, workspace: Path, sandbox: Any, split: Split) -> Evaluation:
        return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                          score=0, **self.made)


@pytest.mark.parametrize(("made", "error"), [
    ({"checks": (Check("ghost", "test", False, 0, 0, "?"),)},
     "the sloppy kind made a check 'ghost' of a type it does not declare"),
    ({"checks": (TESTS.failed("x", label="tests: a"),)},
     "the sloppy kind made a check 'tests: a' of a type it does not declare"),
    ({"artefacts": {"dump.bin": b"x"}},
     "the sloppy kind kept artefacts it does not declare: dump.bin"),
])
def test_grading_refuses_what_a_kind_does_not_declare(
        monkeypatch: pytest.MonkeyPatch, bundle_dir: Path, submission: Path,
        made: dict[str, Any], error: str) -> None:
    kind = Sloppy(**made)
    monkeypatch.setitem(KINDS._entries, kind.name, kind)
    bundle = dataclasses.replace(load_bundle(bundle_dir), kind=kind.name)
    result = evaluate(bundle, submission, sandbox=FakeSandbox())
    assert result.status == "internal_error" and result.error == f"grader: {error}"
    public = evaluate(bundle, submission, sandbox=FakeSandbox(), split="public")
    assert public.status == "internal_error" and public.split == "public"
    honest = Sloppy(checks=(RUN.passed("ran"),))
    monkeypatch.setitem(KINDS._entries, kind.name, honest)
    assert evaluate(bundle, submission, sandbox=FakeSandbox()).status == "graded"
