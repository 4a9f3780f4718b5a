"""Per-candidate data variants: generation, caching, failures, the guard and scoring."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from heldout.graders.bundle import Bundle, load_bundle
from heldout.graders.cli import grade_command
from heldout.graders.errors import BundleError, ForbiddenMount
from heldout.graders.evaluate import evaluate
from heldout.graders.guard import GuardedSandbox
from heldout.graders.variants import VariantError, materialise_variant
from heldout.sandbox.spec import JobSpec

SLUG = "churn-prediction"
FILES = ("public/train.csv", "public/test.csv", "hidden/labels.csv")


@pytest.fixture
def churn(copy_repo_bundle: Callable[[str], Path]) -> Bundle:
    return load_bundle(copy_repo_bundle(SLUG))


def _with_generator(root: Path, source: str, **fields: object) -> Bundle:
    """The copied bundle with ``generate.py`` replaced (and [variants] fields changed)."""
    (root / "generate.py").write_text(source)
    toml = (root / "challenge.toml").read_text()
    for key, value in fields.items():
        toml = toml.replace("[variants]\n", f"[variants]\n{key} = {value}\n")
        toml = toml.replace("timeout_seconds = 60\n", "") if key == "timeout_seconds" else toml
    (root / "challenge.toml").write_text(toml)
    return load_bundle(root)


def test_the_default_seed_reproduces_the_committed_files(churn: Bundle, tmp_path: Path) -> None:
    assert churn.variants is not None
    variant = materialise_variant(churn, churn.variants.default_seed, tmp_path / "cache")
    for name in FILES:
        assert (variant.root / name).read_bytes() == (churn.root / name).read_bytes(), name


def test_a_seed_gives_the_same_bytes_every_time_and_seeds_differ(churn: Bundle,
                                                                  tmp_path: Path) -> None:
    first = materialise_variant(churn, 7, tmp_path / "a")
    again = materialise_variant(churn, 7, tmp_path / "b")
    other = materialise_variant(churn, 8, tmp_path / "a")
    assert first.digest == again.digest and first.root != again.root
    for name in FILES:
        assert (first.root / name).read_bytes() == (again.root / name).read_bytes()
        assert (first.root / name).read_bytes() != (other.root / name).read_bytes()
    assert other.digest != first.digest
    header = (churn.root / "public/train.csv").read_text().splitlines()[0]
    assert (other.root / "public/train.csv").read_text().splitlines()[0] == header


def test_each_version_and_seed_is_built_once(churn: Bundle, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    source = (churn.root / "generate.py").read_text().replace(
        "def main(argv: list[str] | None = None) -> int:\n",
        "def main(argv: list[str] | None = None) -> int:\n"
        f"    open({str(log)!r}, 'a').write('run\\n')\n")
    bundle = _with_generator(churn.root, source)
    cache = tmp_path / "cache"
    seen = [materialise_variant(bundle, 3, cache) for _ in range(3)]
    assert log.read_text() == "run\n"
    assert len({v.root for v in seen}) == 1
    threads = [threading.Thread(target=materialise_variant, args=(bundle, 4, cache))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Racing builds may each run, but one entry wins and no half-built directory is left.
    entries = sorted(p.name for p in (cache / SLUG).iterdir())
    assert [e for e in entries if e.startswith(".build-")] == []
    assert len(entries) == 2


@pytest.mark.parametrize(("source", "fields", "message"), [
    ("import sys\nsys.stderr.write('no data for you')\nsys.exit(3)\n", {},
     "exited with status 3: no data for you"),
    ("import time\ntime.sleep(30)\n", {"timeout_seconds": 1}, "timed out after 1 s"),
    ("pass\n", {}, "differs from the committed public/ in its files: missing test.csv, train.csv"),
    ("import sys, os\nargs = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
     "for name in ('train.csv', 'test.csv'):\n"
     "    open(os.path.join(args['--public'], name), 'w').write('x')\n"
     "os.symlink('/etc/passwd', os.path.join(args['--hidden'], 'labels.csv'))\n", {},
     "symbolic links are not allowed"),
])
def test_a_broken_generator_is_a_variant_error(churn: Bundle, tmp_path: Path, source: str,
                                               fields: dict[str, object], message: str) -> None:
    bundle = _with_generator(churn.root, source, **fields)
    with pytest.raises(VariantError, match=message):
        materialise_variant(bundle, 5, tmp_path / "cache")
    assert list((tmp_path / "cache" / SLUG).iterdir()) == []


def test_a_broken_generator_makes_heldout_grade_an_internal_error(churn: Bundle,
                                                                  tmp_path: Path) -> None:
    _with_generator(churn.root, "raise SystemExit('generator bug')\n")
    result = CliRunner().invoke(grade_command, [
        str(churn.root), str(churn.root / "solutions" / "reference"), "--json",
        "--variant-seed", "9", "--variants-dir", str(tmp_path / "cache")])
    assert result.exit_code == 1, result.output
    shown = json.loads(result.output)
    assert shown["status"] == "internal_error"
    assert shown["score"] is None
    assert "generator generate.py seed 9 exited with status 1: generator bug" in shown["error"]


@pytest.mark.parametrize(("table", "message"), [
    ('generator = "../generate.py"\ndefault_seed = 1\n', "a .py file at the bundle's root"),
    ('generator = "missing.py"\ndefault_seed = 1\n', "missing.py is missing"),
    ('generator = "generate.py"\ndefault_seed = -1\n', "default_seed"),
    ('generator = "generate.py"\n', "default_seed"),
])
def test_variants_table_is_validated(churn: Bundle, table: str, message: str) -> None:
    toml = (churn.root / "challenge.toml").read_text()
    start = toml.index("[variants]\n")
    end = toml.index("[solutions.reference]")
    (churn.root / "challenge.toml").write_text(toml[:start] + "[variants]\n" + table + "\n"
                                               + toml[end:])
    with pytest.raises(BundleError, match=message):
        load_bundle(churn.root)


def test_a_bundle_without_variants_refuses_a_seed(copy_repo_bundle: Callable[[str], Path],
                                                  tmp_path: Path) -> None:
    bundle = load_bundle(copy_repo_bundle("metrics-from-scratch"))
    with pytest.raises(VariantError, match="declares no \\[variants\\]"):
        materialise_variant(bundle, 1, tmp_path)


def test_the_guard_forbids_the_variants_answers(churn: Bundle, tmp_path: Path,
                                                fake_sandbox: type) -> None:
    variant = materialise_variant(churn, 11, tmp_path / "cache")
    bound = churn.with_variant(variant)
    assert bound.public_dir == variant.public_dir and bound.hidden_dir == variant.hidden_dir
    # Hidden answers live beside public/, never inside it, and only the host may read them.
    assert sorted(p.name for p in variant.public_dir.iterdir()) == ["test.csv", "train.csv"]
    assert variant.hidden_dir.stat().st_mode & 0o077 == 0
    guard = GuardedSandbox.for_bundle(fake_sandbox(), bound)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    guard.check(JobSpec(command=("true",), workspace=workspace, data=variant.public_dir))
    for data in (variant.hidden_dir, variant.root, churn.root / "hidden"):
        with pytest.raises(ForbiddenMount):
            guard.check(JobSpec(command=("true",), workspace=workspace, data=data))


def _rule_predictions(test_csv: Path) -> list[tuple[str, float]]:
    """A fixed prediction made from one variant's public test table (contract and tenure)."""
    rows = list(csv.DictReader(io.StringIO(test_csv.read_text())))
    contract = {"month-to-month": 0.6, "one-year": 0.25, "two-year": 0.05}
    return [(row["customer_id"], contract[row["contract"]]
             + 0.3 / (1 + int(row["tenure_months"]))) for row in rows]


def _csv(rows: list[tuple[str, float]]) -> str:
    return "customer_id,churn_probability\n" + "".join(f"{i},{p:.6f}\n" for i, p in rows)


def test_predictions_for_one_variant_score_near_the_baseline_on_another(
        churn: Bundle, tmp_path: Path, sandbox_writing: Callable[[str], object]) -> None:
    """Host-side scoring of a fixed predictions file (the run itself is stood in for: the
    claim is about what the kind's scoring does with the file, on each variant's labels)."""
    a = materialise_variant(churn, 21, tmp_path / "cache")
    b = materialise_variant(churn, 22, tmp_path / "cache")
    made_for_a = _rule_predictions(a.public_dir / "test.csv")
    entry = tmp_path / "solution.py"
    entry.write_text("print('fixed predictions')\n")

    on_a = evaluate(churn, entry, sandbox=sandbox_writing(_csv(made_for_a)), variant=a)  # type: ignore[arg-type]
    assert on_a.graded and on_a.metrics["roc_auc"] > 0.75

    # A's file as is: its ids are A's customers, so B has none of them to score.
    as_is = evaluate(churn, entry, sandbox=sandbox_writing(_csv(made_for_a)), variant=b)  # type: ignore[arg-type]
    assert as_is.graded and as_is.score == 0
    # A's values moved onto B's ids row by row: chance level, below the 0.70 baseline.
    b_ids = [row[0] for row in _rule_predictions(b.public_dir / "test.csv")]
    moved = [(i, p) for i, (_, p) in zip(b_ids, made_for_a, strict=True)]
    on_b = evaluate(churn, entry, sandbox=sandbox_writing(_csv(moved)), variant=b)  # type: ignore[arg-type]
    assert on_b.graded and abs(on_b.metrics["roc_auc"] - 0.5) < 0.06
    assert on_b.score == 0


@pytest.mark.docker
@pytest.mark.slow
def test_the_reference_scores_well_on_its_own_variant(churn: Bundle, tmp_path: Path,
                                                      sandbox_image: str) -> None:
    variant = materialise_variant(churn, 31, tmp_path / "cache")
    result = evaluate(churn, churn.root / "solutions" / "reference", variant=variant)
    assert result.graded, result.error
    assert result.score is not None and result.score >= 85, result.checks
