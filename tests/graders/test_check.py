"""``heldout challenges check``: a bundle must prove itself with solutions/ cases, and a case
declared the same as starter/ must be exactly that."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from heldout.graders import BundleError, load_bundle
from heldout.graders.cli import challenges_group, starter_drift
from heldout.sandbox import backend

REPO = Path(__file__).resolve().parents[2]

STARTER_CASE = """
[solutions.starter]
min_score = 90
max_score = 100
same_as_starter = true
"""


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch, sandbox_writing: Any, good_predictions: str) -> Any:
    """The CLI's backend, standing in for the real sandbox (which other tests cover):
    every run writes a perfect predictions file, and the runs are recorded."""
    stand_in = sandbox_writing(good_predictions)
    monkeypatch.setitem(backend._BACKENDS, "test-stand-in", lambda settings: stand_in)
    monkeypatch.setenv("HELDOUT_SANDBOX_BACKEND", "test-stand-in")
    return stand_in


def with_starter_case(bundle_dir: Path) -> Path:
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text() + STARTER_CASE)
    (bundle_dir / "solutions" / "starter").mkdir()
    (bundle_dir / "solutions" / "starter" / "solution.py").write_bytes(
        (bundle_dir / "starter" / "solution.py").read_bytes())
    return bundle_dir


def check(cli: CliRunner, bundle_dir: Path) -> Any:
    return cli.invoke(challenges_group, ["check", "--challenges-dir", str(bundle_dir.parent)])


def test_a_bundle_without_cases_fails(cli: CliRunner, bundle_dir: Path, sandbox: Any) -> None:
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text().split("[solutions.good]")[0])
    (bundle_dir / "solutions" / "good" / "solution.py").unlink()
    (bundle_dir / "solutions" / "good").rmdir()
    assert load_bundle(bundle_dir).solutions == ()
    result = check(cli, bundle_dir)
    assert result.exit_code == 1, result.output
    assert "NO CASES" in result.stdout
    assert "0 of 1 ok" in result.stdout
    assert sandbox.specs == []


def test_a_starter_case_that_is_the_starter_passes(cli: CliRunner, bundle_dir: Path,
                                                   sandbox: Any) -> None:
    with_starter_case(bundle_dir)
    bundle = load_bundle(bundle_dir)
    assert bundle.solution("starter").same_as_starter
    assert not bundle.solution("good").same_as_starter
    # __pycache__ is not part of a bundle: it never makes a difference.
    cache = bundle_dir / "solutions" / "starter" / "__pycache__"
    cache.mkdir()
    (cache / "solution.cpython-311.pyc").write_bytes(b"\x00")
    result = check(cli, bundle_dir)
    assert result.exit_code == 0, result.output
    assert "2 of 2 ok" in result.stdout
    assert len(sandbox.specs) == 2


@pytest.mark.parametrize(("change", "difference"), [
    (lambda case: (case / "solution.py").write_text("print('improved')\n"), "solution.py differs"),
    (lambda case: (case / "helper.py").write_text("X = 1\n"),
     "helper.py only in solutions/starter/"),
    (lambda case: (case.parent.parent / "starter" / "extra.py").write_text("Y = 2\n"),
     "extra.py only in starter/"),
])
def test_a_starter_case_that_drifted_fails(cli: CliRunner, bundle_dir: Path, sandbox: Any,
                                           change: Any, difference: str) -> None:
    with_starter_case(bundle_dir)
    change(bundle_dir / "solutions" / "starter")
    drift = starter_drift(load_bundle(bundle_dir), load_bundle(bundle_dir).solution("starter"))
    assert drift is not None and difference in drift
    result = check(cli, bundle_dir)
    assert result.exit_code == 1, result.output
    assert "NOT THE STARTER" in result.stdout and difference in result.stdout
    assert "1 of 2 ok" in result.stdout
    # The drifted case is not graded: only "good" ran.
    assert len(sandbox.specs) == 1

    validated = cli.invoke(challenges_group, ["validate", "--challenges-dir", str(bundle_dir.parent)])
    assert validated.exit_code == 1
    assert difference in validated.stderr


def test_without_the_declaration_a_starter_named_case_may_differ(bundle_dir: Path) -> None:
    with_starter_case(bundle_dir)
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text().replace("same_as_starter = true\n", ""))
    (bundle_dir / "solutions" / "starter" / "solution.py").write_text("print('other')\n")
    bundle = load_bundle(bundle_dir)
    assert starter_drift(bundle, bundle.solution("starter")) is None


@pytest.mark.parametrize(("value", "message"), [
    ('"yes"', "same_as_starter: must be true or false, got a string"),
    ("1", "same_as_starter: must be true or false, got an integer"),
])
def test_the_declaration_is_a_boolean(bundle_dir: Path, value: str, message: str) -> None:
    with_starter_case(bundle_dir)
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text().replace("same_as_starter = true", f"same_as_starter = {value}"))
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_dir)


def test_the_declaration_needs_a_starter(bundle_dir: Path) -> None:
    with_starter_case(bundle_dir)
    (bundle_dir / "starter" / "solution.py").unlink()
    (bundle_dir / "starter").rmdir()
    with pytest.raises(BundleError, match="same_as_starter: the bundle has no starter/"):
        load_bundle(bundle_dir)


def test_every_bundle_of_the_repository_has_cases_and_its_starter_case_matches() -> None:
    from heldout.graders import discover_bundles

    bundles = list(discover_bundles(REPO / "challenges"))
    assert bundles
    for bundle in bundles:
        assert bundle.solutions, f"{bundle.slug} has no solutions/ case"
        for case in bundle.solutions:
            assert starter_drift(bundle, case) is None, (bundle.slug, case.name)
    churn = next(b for b in bundles if b.slug == "churn-prediction")
    assert churn.solution("starter").same_as_starter


FLAWED_CASES = """
[solutions.flawed-first]
min_score = 0
max_score = 100

[solutions.flawed-second]
min_score = 0
max_score = 100
"""


def with_flawed_cases(bundle_dir: Path) -> Path:
    with_starter_case(bundle_dir)
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text() + FLAWED_CASES)
    for name in ("flawed-first", "flawed-second"):
        (bundle_dir / "solutions" / name).mkdir()
        (bundle_dir / "solutions" / name / "solution.py").write_text(f"print({name!r})\n")
    return bundle_dir


def test_the_quick_cases_are_the_reference_the_starter_and_the_first_flawed(
        bundle_dir: Path) -> None:
    bundle = load_bundle(with_flawed_cases(bundle_dir))
    assert [c.name for c in bundle.solutions] == ["good", "starter", "flawed-first",
                                                  "flawed-second"]
    assert [c.name for c in bundle.quick_solutions] == ["good", "starter", "flawed-first"]
    # The reference is the case with the highest min_score, wherever it is declared.
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text().replace(
        "[solutions.flawed-second]\nmin_score = 0", "[solutions.flawed-second]\nmin_score = 95"))
    bundle = load_bundle(bundle_dir)
    # flawed-second is now the reference, and good the first other case.
    assert [c.name for c in bundle.quick_solutions] == ["good", "starter", "flawed-second"]


def test_check_grades_the_quick_cases_and_all_of_them_with_all(cli: CliRunner, bundle_dir: Path,
                                                               sandbox: Any) -> None:
    with_flawed_cases(bundle_dir)
    result = check(cli, bundle_dir)
    assert result.exit_code == 0, result.output
    assert "3 of 3 ok (1 more case(s) not graded: --all grades every case)" in result.stdout
    assert "flawed-second" not in result.stdout and len(sandbox.specs) == 3
    every = cli.invoke(challenges_group, ["check", "--all", "--challenges-dir",
                                          str(bundle_dir.parent)])
    assert every.exit_code == 0, every.output
    assert "4 of 4 ok\n" in every.stdout and "flawed-second" in every.stdout
    assert len(sandbox.specs) == 7
