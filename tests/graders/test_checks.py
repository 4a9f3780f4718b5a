"""The check registry: short names, one-line explanations, verdict builders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from heldout.graders.checks import (
    CHECKS,
    METRIC,
    RUN,
    TESTS,
    CheckType,
    Tally,
    tally_check,
    type_of,
)
from heldout.graders.errors import UnknownName
from heldout.graders.kinds import KINDS
from heldout.graders.result import Check

README = Path(__file__).resolve().parents[2] / "challenges" / "README.md"
ROW = re.compile(r"^\| `([^`]+)` \| (\w+) \| ([^|]+) \|", re.MULTILINE)


def readme_checks() -> dict[str, tuple[str, str]]:
    """challenges/README.md's table of check types: name -> (family, kinds)."""
    section = README.read_text().split("\n## Checks\n", 1)[1].split("\n## ", 1)[0]
    return {name: (family, kinds.strip()) for name, family, kinds in ROW.findall(section)}


def undocumented_checks() -> set[str]:
    """Registered check types the README's table lacks."""
    return set(CHECKS.known()) - set(readme_checks())


def test_the_readme_lists_every_registered_check_with_its_family_and_kinds() -> None:
    shown = readme_checks()
    assert undocumented_checks() == set()
    assert set(shown) == set(CHECKS.known())
    for name, (family, kinds) in shown.items():
        using = [kind for kind in KINDS.known() if CHECKS.get(name) in KINDS.get(kind).checks]
        assert family == CHECKS.get(name).kind, name
        assert kinds == (", ".join(using) or "(every kind, before any run)"), name


def test_builtin_checks_have_names_and_explanations() -> None:
    assert {"run", "predictions", "metric", "tests", "submission"} <= set(CHECKS.known())
    for name in CHECKS.known():
        check = CHECKS.get(name)
        assert check.name == name
        assert check.explanation and "\n" not in check.explanation


def test_every_check_a_kind_declares_is_registered_and_every_registered_one_is_used() -> None:
    declared = {check for name in KINDS.known() for check in KINDS.get(name).checks}
    assert {check.name for check in declared} | {"submission"} == set(CHECKS.known())
    assert all(CHECKS.get(check.name) is check for check in declared)


def test_unknown_check_lists_the_known_ones() -> None:
    with pytest.raises(UnknownName) as caught:
        CHECKS.get("nope")
    assert "unknown check 'nope'; known: " in str(caught.value)
    assert "metric" in str(caught.value) and "run" in str(caught.value)


def test_registering_a_taken_name_again_fails() -> None:
    with pytest.raises(ValueError, match="already registered"):
        CHECKS.register(RUN)
    with pytest.raises(ValueError, match="already registered"):
        CHECKS.register(CheckType("run", "test", "something else"))


def test_each_verdict_belongs_to_one_registered_type() -> None:
    for check, expected in ((RUN.passed("ok"), RUN),
                            (TESTS.passed("ok", label="tests: ties"), TESTS),
                            (CHECKS.get("query").failed("x", label="query: retention"),
                             CHECKS.get("query")),
                            (METRIC.passed("ok", label="roc_auc"), METRIC),
                            (Check("made-up", "test", True, 0, 0, ""), None)):
        assert type_of(check.name, check.kind) is expected, check.name


def test_verdicts_carry_type_kind_and_label() -> None:
    check = TESTS.passed("ok", score=5, max_score=10, label="tests: ties")
    assert (check.name, check.kind, check.passed, check.score) == ("tests: ties", "test", True, 5)
    skipped = RUN.not_checked("no run", max_score=3)
    assert skipped.detail == "not checked: no run" and skipped.score == 0 and not skipped.passed


def test_tests_check_weighted_partial_credit_and_first_failures() -> None:
    tallies = [Tally("case 1", True, 1), Tally("case 2", False, 3, "expected 0.75, got 0.5"),
               *[Tally(f"case {i}", False, 1, "raised ValueError") for i in range(3, 7)]]
    check = tally_check(tallies, max_score=40)
    assert check.score == pytest.approx(40 * 1 / 8)
    assert check.detail.startswith("1/6 cases passed; case 2: expected 0.75, got 0.5; case 3: ")
    assert check.detail.endswith("and 2 more")
    assert not check.passed
    full = tally_check([Tally("case 1", True, 2)], max_score=10)
    assert full.passed and full.score == 10 and full.detail == "1/1 cases passed"
    assert not tally_check([], max_score=10).passed
