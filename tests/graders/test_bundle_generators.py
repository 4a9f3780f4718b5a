"""Every bundle's own generate.py reproduces its committed public/ and hidden/ byte for byte.

A bundle whose data comes from a seeded generator keeps it at its root (with [variants]
the platform runs it per attempt; without, it documents how the committed cases were
made). Run as the platform runs it: isolated mode, a bare environment, an empty working
directory, the default seed (the [variants] one, else the generator's own default).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from heldout.graders import Bundle, discover_bundles
from heldout.graders.variants import variant_dirs

REPO_CHALLENGES = Path(__file__).resolve().parents[2] / "challenges"
GENERATED = [bundle for bundle in discover_bundles(REPO_CHALLENGES)
             if (bundle.root / "generate.py").is_file()]


def _generate(bundle: Bundle, out: Path) -> None:
    command = [sys.executable, "-I", str(bundle.root / "generate.py"),
               "--public", str(out / "public"), "--hidden", str(out / "hidden")]
    if bundle.variants is not None:
        command += ["--seed", str(bundle.variants.default_seed)]
    scratch = out / "scratch"
    scratch.mkdir(parents=True)
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(scratch),
           "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    subprocess.run(command, cwd=scratch, env=env, check=True, capture_output=True, timeout=120)


@pytest.mark.parametrize("bundle", GENERATED, ids=[b.slug for b in GENERATED])
def test_generator_reproduces_the_committed_data(bundle: Bundle, tmp_path: Path) -> None:
    _generate(bundle, tmp_path)
    produced, committed = variant_dirs(tmp_path), variant_dirs(bundle.root)
    assert produced == committed
    for area, names in committed.items():
        for name in names:
            assert (tmp_path / area / name).read_bytes() == (bundle.root / area / name) \
                .read_bytes(), f"{bundle.slug}: {area}/{name} differs from its generator's"


def test_the_catalogue_has_generated_bundles() -> None:
    # The parametrised test above must not pass by finding nothing.
    assert {"churn-prediction", "fraud-detection", "ab-test-analysis", "bm25-retrieval",
            "ticket-classification", "drift-monitoring", "demand-forecasting",
            "sessionisation-sql", "funnel-sql", "cleaning-pipeline", "kmeans-plusplus",
            "recommendation-ranking", "mislabelled-rows", "batch-scoring-service"} <= {
        bundle.slug for bundle in GENERATED}
