"""``heldout similarity``: the command-line contract, and what the detector ignores."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from heldout.graders.bundle import resolve_bundle
from heldout.graders.cli import similarity_command
from heldout.graders.similarity import (
    ChallengeDetector,
    code_units,
    compare_all,
    fragments,
    submission_files,
)

REPO = Path(__file__).resolve().parents[2]
METRICS = REPO / "challenges" / "metrics-from-scratch"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, as other tools call it (``python -m`` would put the
    working directory, and a submission named ``copy.py``, before the standard library)."""
    return subprocess.run([str(Path(sys.executable).parent / "heldout"), "similarity", *args],
                          cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_json_has_every_pair_with_the_paths_as_given(tmp_path: Path) -> None:
    shutil.copytree(METRICS / "solutions", tmp_path / "subs")
    copy = tmp_path / "copy.py"
    copy.write_text((METRICS / "solutions/reference/solution.py").read_text()
                    .replace("positives", "pos_count").replace("# tied", "# equal"))
    given = ["subs/reference", "./copy.py", "subs/starter/solution.py", "subs/auc-ignores-ties/"]
    done = _run(["metrics-from-scratch", *given, "--json"], tmp_path)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert set(shown) == {"pairs"}
    assert len(shown["pairs"]) == len(given) * (len(given) - 1) // 2
    seen = set()
    for pair in shown["pairs"]:
        assert set(pair) == {"a", "b", "score", "flagged"}
        assert pair["a"] in given and pair["b"] in given and pair["a"] != pair["b"]
        assert 0 <= pair["score"] <= 1 and isinstance(pair["flagged"], bool)
        seen.add(frozenset((pair["a"], pair["b"])))
    assert len(seen) == len(shown["pairs"])
    scores = {frozenset((p["a"], p["b"])): p for p in shown["pairs"]}
    renamed = scores[frozenset(("subs/reference", "./copy.py"))]
    assert renamed["flagged"] and renamed["score"] == 1.0
    # Most similar first.
    assert [p["score"] for p in shown["pairs"]] == sorted(
        (p["score"] for p in shown["pairs"]), reverse=True)


def test_two_copies_of_the_starter_are_not_flagged(tmp_path: Path) -> None:
    for name in ("one", "two"):
        shutil.copytree(METRICS / "starter", tmp_path / name)
    (tmp_path / "three.py").write_text((METRICS / "starter/solution.py").read_text()
                                       .replace("    raise NotImplementedError\n",
                                                "    raise NotImplementedError  # todo\n"))
    result = CliRunner().invoke(similarity_command,
                                ["metrics-from-scratch", str(tmp_path / "one"),
                                 str(tmp_path / "two"), str(tmp_path / "three.py"), "--json"])
    assert result.exit_code == 0, result.output
    pairs = json.loads(result.output)["pairs"]
    assert len(pairs) == 3
    assert all(p["score"] == 0 and not p["flagged"] for p in pairs)


def test_starter_code_kept_in_a_copy_does_not_count() -> None:
    """A candidate who keeps the starter's log_loss and writes the rest shares only that."""
    bundle = resolve_bundle(METRICS)
    detector = ChallengeDetector.for_bundle(bundle)
    starter = submission_files(bundle, METRICS / "starter")
    reference = submission_files(bundle, METRICS / "solutions/reference")
    both = detector.fingerprint(starter), detector.fingerprint(reference)
    assert not both[0].hashes
    assert compare_all(list(both))[0].score == 0


@pytest.mark.parametrize(("args", "message"), [
    (["no-such-challenge", "."], "known: "),
    (["metrics-from-scratch", "no/such/path", "--json"], "does not exist"),
    (["metrics-from-scratch"], "Missing argument"),
])
def test_clear_errors_exit_non_zero(args: list[str], message: str, tmp_path: Path) -> None:
    done = _run(args, tmp_path)
    assert done.returncode != 0
    assert message in done.stderr
    assert done.stdout == ""
    if args[0] == "no-such-challenge":  # the known slugs are listed
        assert "metrics-from-scratch" in done.stderr and "retention-cohorts" in done.stderr


def test_sql_and_notebooks_are_compared_by_their_code() -> None:
    cohorts = resolve_bundle("retention-cohorts")
    detector = ChallengeDetector.for_bundle(cohorts)
    reference = (cohorts.root / "solutions/reference/query.sql").read_text()
    shouted = "\n".join(line.upper() if not line.startswith("--") else line
                        for line in reference.splitlines())
    prints = [detector.fingerprint({"query.sql": reference.encode()}),
              detector.fingerprint({"query.sql": shouted.encode()})]
    assert compare_all(prints)[0].score == 1.0

    notebook = resolve_bundle("churn-eda-notebook")
    data = (notebook.root / "solutions/reference/analysis.ipynb").read_bytes()
    units = code_units({"analysis.ipynb": data})
    assert units and all(u.name.startswith("analysis.ipynb [cell ") for u in units)
    assert not any("Why do customers leave" in u.text for u in units)  # markdown left out


def test_fragments_point_at_the_matching_lines() -> None:
    bundle = resolve_bundle(METRICS)
    detector = ChallengeDetector.for_bundle(bundle)
    reference = submission_files(bundle, METRICS / "solutions/reference")
    text = reference["solution.py"].decode()
    moved = "# a comment\n\n\n" + text.replace("sorted_scores", "ordered")
    a = detector.fingerprint(reference)
    b = detector.fingerprint({"solution.py": moved.encode()})
    found = fragments(a, b)
    assert found
    first = found[0]
    assert first.a_unit == first.b_unit == "solution.py"
    assert first.b_first == first.a_first + 3  # the three lines added on top
    assert "ordered" in "".join(f.b_text for f in found)
    assert "sorted_scores" in "".join(f.a_text for f in found)
