"""``heldout bench similarity`` at a small size: its JSON, and every pair counted.

No timing is asserted: the figures are the command's output, not a pass/fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from heldout.graders.bundle import resolve_bundle
from heldout.tools.bench.cli import bench_similarity
from heldout.tools.bench.similarity import make_submissions
from tests.platform.conftest import REPO

pytestmark = pytest.mark.sqlite_only("the bench needs no database: one pass is enough")


@pytest.mark.parametrize("slug", ["metrics-from-scratch", "retention-cohorts",
                                  "churn-eda-notebook"])
def test_bench_compares_every_pair(slug: str, monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Path) -> None:
    monkeypatch.setenv("HELDOUT_CHALLENGES_DIR", str(REPO / "challenges"))
    monkeypatch.setenv("HELDOUT_DATA_DIR", str(tmp_path))
    saved = tmp_path / "bench.json"
    outcome = CliRunner().invoke(bench_similarity, ["-n", "12", "--challenge", slug, "--json",
                                                    "--output", str(saved)])
    assert outcome.exit_code == 0, outcome.output
    result = json.loads(saved.read_text())
    assert result["submissions"] == 12 and result["pairs"] == 66
    assert result["challenge"] == slug
    assert result["tokens"] > 0 and result["fingerprints_median"] > 0
    for key in ("baseline_tokenise_seconds", "fingerprint_seconds", "compare_seconds",
                "total_seconds", "ratio_to_baseline"):
        assert result[key] is not None and result[key] >= 0
    # Every submission is a disguised copy of one of a few solutions: most pairs are flagged.
    assert 0 < result["flagged"] <= result["pairs"]


def test_submissions_differ_from_one_another() -> None:
    bundle = resolve_bundle(REPO / "challenges" / "metrics-from-scratch")
    made = make_submissions(bundle, 30)
    assert len({tuple(sorted(files.items())) for files in made}) > 20


def test_unknown_challenge_is_a_usage_error(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setenv("HELDOUT_CHALLENGES_DIR", str(REPO / "challenges"))
    monkeypatch.setenv("HELDOUT_DATA_DIR", str(tmp_path))
    outcome = CliRunner().invoke(bench_similarity, ["-n", "3", "--challenge", "no-such"])
    assert outcome.exit_code == 2
    assert "known:" in outcome.output
