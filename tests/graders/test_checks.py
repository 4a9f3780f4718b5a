"""The check registry: short names, one-line explanations, verdict builders."""

from __future__ import annotations

import pytest

from heldout.graders.checks import (
    RUN,
    TESTS,
    CheckType,
    Tally,
    get_check,
    known_checks,
    register_check,
    tally_check,
)
from heldout.graders.errors import UnknownName


def test_builtin_checks_have_names_and_explanations() -> None:
    assert {"run", "predictions", "metric", "tests"} <= set(known_checks())
    for name in known_checks():
        check = get_check(name)
        assert check.name == name
        assert check.explanation and "\n" not in check.explanation


def test_unknown_check_lists_the_known_ones() -> None:
    with pytest.raises(UnknownName) as caught:
        get_check("nope")
    assert "unknown check 'nope'; known: " in str(caught.value)
    assert "metric" in str(caught.value) and "run" in str(caught.value)


def test_registering_a_different_check_under_a_taken_name_fails() -> None:
    assert register_check(RUN) is RUN
    with pytest.raises(ValueError, match="already registered"):
        register_check(CheckType("run", "test", "something else"))


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
