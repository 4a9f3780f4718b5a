"""The feature_engineering kind: bundle rules, the per-run split, host-side reading and checks,
the downstream models, and every bundled solution through the real sandbox."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from heldout.graders import evaluate, resolve_bundle
from heldout.graders.bundle import Bundle, load_bundle
from heldout.graders.downstream import MODELS
from heldout.graders.errors import BundleError, CandidateOutputError, UnknownName
from heldout.graders.kinds import KINDS
from heldout.graders.kinds.feature_engineering import FeatureEngineering
from heldout.graders.kinds.feature_engineering.config import FeatureEngineeringGrading, FeatureTable
from heldout.graders.kinds.feature_engineering.features import (
    feature_count_check,
    finite_check,
    hidden_split,
    numeric_check,
    public_split,
    read_features,
    rows_check,
    stage_harness,
)
from heldout.graders.metrics import METRICS
from heldout.sandbox.spec import (
    Finding,
    JobSpec,
    Limits,
    OutputFile,
    RunResult,
    SandboxHealth,
    ServiceRun,
    SweepReport,
)

REPO_CHALLENGES = Path(__file__).resolve().parents[2] / "challenges"
SLUG = "late-delivery-features"


@pytest.fixture
def bundle() -> Bundle:
    return resolve_bundle(SLUG, REPO_CHALLENGES)


@pytest.fixture
def bundle_copy(tmp_path: Path) -> Path:
    target = tmp_path / SLUG
    shutil.copytree(REPO_CHALLENGES / SLUG, target)
    return target


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _table(columns: list[str], rows: list[list[str]], *, row_ids: list[str] | None = None) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["__row__", *columns])
    for i, row in enumerate(rows):
        writer.writerow([row_ids[i] if row_ids else str(i), *row])
    return out.getvalue()


# --- the bundle's [grading] rules -------------------------------------------------------

def test_kind_is_registered_and_loads_the_bundle(bundle: Bundle) -> None:
    assert isinstance(KINDS.get("feature_engineering"), FeatureEngineering)
    assert bundle.kind == "feature_engineering"
    config = bundle.grading
    assert isinstance(config, FeatureEngineeringGrading)
    assert (config.metric, config.baseline, config.target) == ("roc_auc", 0.75, 0.93)
    KINDS.get(bundle.kind).verify(bundle)


def _edit_toml(root: Path, old: str, new: str) -> None:
    path = root / "challenge.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(("old", "new", "message"), [
    ('model = "gradient_boosting"', 'model = "random_forest"', "unknown downstream model"),
    ('metric = "roc_auc"', 'metric = "rmse"', "regression"),
    ('transform = "transform"', 'transform = "not a name"', "Python name"),
    ('test = "test.csv"', 'test = "../public/train.csv"', "plain file name"),
    ("max_features = 200", "max_features = 0", "at least 1"),
])
def test_bad_grading_tables_are_refused(bundle_copy: Path, old: str, new: str,
                                        message: str) -> None:
    _edit_toml(bundle_copy, old, new)
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_copy)


def test_hidden_test_features_must_not_hold_the_labels(bundle_copy: Path) -> None:
    test = bundle_copy / "hidden" / "test.csv"
    lines = test.read_text().splitlines()
    test.write_text("\n".join([lines[0] + ",late", *(line + ",0" for line in lines[1:])]) + "\n")
    with pytest.raises(BundleError, match="features only"):
        load_bundle(bundle_copy)


def test_unknown_downstream_model_lists_the_known_ones() -> None:
    with pytest.raises(UnknownName, match="gradient_boosting, logistic_regression"):
        MODELS.get("svm")
    assert MODELS.known() == ["gradient_boosting", "logistic_regression"]


# --- what reaches the sandbox --------------------------------------------------------

def test_hidden_split_shuffles_rows_and_replaces_ids_but_keeps_labels_aligned(
        bundle: Bundle) -> None:
    hidden = _rows(bundle.hidden_dir / "test.csv")
    truth = {row["order_id"]: row for row in hidden}
    label_of = {row["order_id"]: float(row["late"]) for row in _rows(bundle.hidden_dir / "labels.csv")}
    by_features = {tuple(v for k, v in row.items() if k != "order_id"): label_of[i]
                   for i, row in truth.items()}
    first = hidden_split(bundle, np.random.default_rng(1))
    second = hidden_split(bundle, np.random.default_rng(2))
    id_at = first.test_features.column("order_id")
    shown_ids = {row[id_at] for row in first.test_features.rows}
    assert not shown_ids & set(truth), "a hidden id reached the harness table"
    assert "late" not in first.test_features.header
    # The harness gets rows in a fresh order each run...
    order = [row[id_at + 1:] for row in first.test_features.rows]
    assert order != [row[id_at + 1:] for row in second.test_features.rows]
    assert order != [tuple(r.values())[id_at + 1:] for r in hidden]
    # ...and the host's labels follow that order exactly.
    for row, label in zip(first.test_features.rows, first.test_labels, strict=True):
        features = tuple(cell for i, cell in enumerate(row) if i != id_at)
        assert by_features[features] == label


def test_staged_harness_holds_features_and_code_but_no_answer(bundle: Bundle,
                                                            tmp_path: Path) -> None:
    stage_harness(tmp_path, bundle, hidden_split(bundle, np.random.default_rng(3)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.json", "feature_harness.py",
                                                         "test.csv"]
    labels = (bundle.hidden_dir / "labels.csv").read_bytes()
    hidden_test = (bundle.hidden_dir / "test.csv").read_bytes()
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert data not in (labels, hidden_test)
        assert b"late" not in data.split(b"\n", 1)[0] or path.name == "config.json"
    hidden_ids = {row["order_id"] for row in _rows(bundle.hidden_dir / "labels.csv")}
    staged = (tmp_path / "test.csv").read_text()
    assert not any(i in staged for i in list(hidden_ids)[:200])


def test_public_split_holds_out_a_quarter_of_the_public_rows(bundle: Bundle,
                                                            tmp_path: Path) -> None:
    split = public_split(bundle)
    assert len(split.train_labels) + len(split.test_labels) == 4000
    assert len(split.test_labels) == 1000
    assert "late" not in split.test_features.header
    assert public_split(bundle).test_features.rows[5][1:] == split.test_features.rows[5][1:]
    stage_harness(tmp_path, bundle, split)
    assert (tmp_path / "train.csv").is_file()
    config = (tmp_path / "config.json").read_text()
    assert '"/harness/train.csv"' in config


# --- reading what came back --------------------------------------------------------

def test_read_features_parses_numbers_and_records_bad_cells(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text(_table(["a", "b", "c"], [["1", "x", "nan"], ["2.5", "3", "inf"],
                                             ["-1e3", "4", ""]]))
    table = read_features(path, shown="/output/f.csv", max_bytes=10_000)
    assert table.columns == ("a", "b", "c") and table.rows == 3 and table.misplaced == 0
    assert table.values[:, 0].tolist() == [1.0, 2.5, -1000.0]
    assert table.not_numeric == (("b", "x"),)
    assert table.not_finite == (("c", 3),)


@pytest.mark.parametrize(("text", "message"), [
    ("a,b\n1,2\n", "does not start with"),
    ("__row__\n0\n", "no feature columns"),
    ("__row__,a,a\n0,1,2\n", "unique"),
    ("__row__,a\n0,1,2\n", "different number of fields"),
    ("", "does not start with"),
])
def test_read_features_refuses_malformed_tables(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "f.csv"
    path.write_text(text)
    with pytest.raises(CandidateOutputError, match=message):
        read_features(path, shown="f.csv", max_bytes=10_000)


def test_read_features_refuses_links_and_oversized_files(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text(_table(["a"], [["1"]]))
    link = tmp_path / "link.csv"
    os.symlink(real, link)
    with pytest.raises(CandidateOutputError, match="symbolic link"):
        read_features(link, shown="link.csv", max_bytes=10_000)
    with pytest.raises(CandidateOutputError, match="over the"):
        read_features(real, shown="real.csv", max_bytes=5)


def _parsed(tmp_path: Path, name: str, text: str) -> FeatureTable:
    path = tmp_path / name
    path.write_text(text)
    return read_features(path, shown=name, max_bytes=100_000)


def test_checks_name_each_problem(tmp_path: Path) -> None:
    good = _parsed(tmp_path, "train", _table(["a", "b"], [["1", "2"], ["3", "4"]]))
    moved = _parsed(tmp_path, "test", _table(["a", "b"], [["1", "2"], ["3", "4"]],
                                             row_ids=["1", "0"]))
    assert rows_check([(good, 2), (moved, 2)]).detail.endswith("(keep the input's index and order)")
    assert not rows_check([(good, 3)]).passed
    assert rows_check([(good, 2)]).passed
    other = _parsed(tmp_path, "other", _table(["a", "z"], [["1", "2"]]))
    check = feature_count_check(good, other, 10)
    assert not check.passed and "only in training: 'b'" in check.detail
    assert "only in test: 'z'" in check.detail
    assert not feature_count_check(good, good, 1).passed
    assert feature_count_check(good, good, 2).passed
    text = _parsed(tmp_path, "text", _table(["a"], [["red"], ["1"]]))
    assert not numeric_check([good, text]).passed and "'red'" in numeric_check([text]).detail
    holes = _parsed(tmp_path, "holes", _table(["a"], [[""], ["inf"]]))
    assert not finite_check([holes]).passed and "'a' (2)" in finite_check([holes]).detail
    assert numeric_check([good]).passed and finite_check([good]).passed


# --- the downstream models ----------------------------------------------------------

@pytest.mark.parametrize("name", ["logistic_regression", "gradient_boosting"])
def test_downstream_models_are_deterministic_and_learn(name: str) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 4))
    y = (x[:, 0] + 0.5 * rng.normal(size=600) > 0).astype(float)
    metric = METRICS.get("roc_auc")
    model = MODELS.get(name)
    first = model.predictions(metric, x[:400], y[:400], x[400:])
    again = model.predictions(metric, x[:400], y[:400], x[400:])
    assert np.array_equal(first, again)
    assert metric.compute(tuple(y[400:]), tuple(first)) > 0.8


def test_features_a_model_cannot_use_are_the_candidates_fault() -> None:
    # Finite, but scaling them overflows: the model's input turns into NaN.
    x = np.array([[1.7e308], [1.7e308], [-1.7e308], [0.0]])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    with pytest.raises(CandidateOutputError, match="logistic_regression"):
        MODELS.get("logistic_regression").predictions(METRICS.get("roc_auc"), x, y, x)


# --- grading with a stand-in sandbox (host-side paths only) -------------------------------

class WritingSandbox:
    """Plays the harness's part: writes the given tables to the output directory."""

    name = "fake"

    def __init__(self, tables: dict[str, str]) -> None:
        self.tables = tables
        self.specs: list[JobSpec] = []

    def run(self, spec: JobSpec, output_dir: Path) -> RunResult:
        self.specs.append(spec)
        assert spec.harness is not None
        outputs = []
        for name, text in self.tables.items():
            (output_dir / name).write_text(text)
            outputs.append(OutputFile(name, len(text), output_dir / name))
        return RunResult(exit_code=0, timed_out=False, oom_killed=False, wall_seconds=1.0,
                         cpu_seconds=1.0, peak_memory_mb=10.0, output_bytes=0, stdout_tail="",
                         stderr_tail="", stdout_truncated=False, stderr_truncated=False,
                         outputs=tuple(outputs), skipped_outputs=())

    def run_service(self, service: JobSpec, probe: JobSpec, service_output: Path,
                    probe_output: Path) -> ServiceRun:
        raise AssertionError("a feature_engineering grade runs no service")

    def prime(self, limits: Limits, profile: str = "default") -> None:
        return None

    def sweep(self, owner: str | None = None, *, owner_gone: bool = False) -> SweepReport:
        return SweepReport(())

    def doctor(self) -> tuple[Finding, ...]:
        return ()

    def health(self) -> SandboxHealth:
        raise AssertionError("grading asks the sandbox for no health")

    def close(self) -> None:
        return None


def test_a_feature_that_is_the_label_only_in_training_scores_nothing(bundle: Bundle) -> None:
    labels = [r["late"] for r in _rows(bundle.public_dir / "train.csv")]
    tables = {"train_features.csv": _table(["leak"], [[v] for v in labels]),
              "test_features.csv": _table(["leak"], [["0.2"]] * 2000)}
    sandbox = WritingSandbox(tables)
    result = evaluate(bundle, bundle.solution("starter").path, sandbox=sandbox)
    assert result.status == "graded", result.error
    assert result.score == 0 and result.metrics["roc_auc"] == pytest.approx(0.5)
    (spec,) = sandbox.specs
    assert spec.command[1] == "/harness/feature_harness.py"
    assert all(c.passed for c in result.checks if c.name not in ("roc_auc",))


def test_wrong_row_count_is_graded_zero_with_the_reason(bundle: Bundle) -> None:
    tables = {"train_features.csv": _table(["a"], [["1"]] * 10),
              "test_features.csv": _table(["a"], [["1"]] * 2000)}
    result = evaluate(bundle, bundle.solution("starter").path, sandbox=WritingSandbox(tables))
    assert result.status == "graded" and result.score == 0
    rows = next(c for c in result.checks if c.name == "rows")
    assert not rows.passed and "has 10 rows, the input had 4000" in rows.detail


# --- the real sandbox ------------------------------------------------------------------

# The bundle's solutions/ cases are graded with the catalogue's (tests/graders/test_docker.py).


@pytest.mark.docker
def test_public_checks_score_the_reference_on_public_rows(sandbox_image: str,
                                                          bundle: Bundle, tmp_path: Path) -> None:
    from heldout.graders.guard import GuardedSandbox
    from heldout.graders.submission import stage_submission
    from heldout.sandbox.backend import get_sandbox

    workspace = tmp_path / "workspace"
    stage_submission(bundle.submission, bundle.solution("reference").path, workspace)
    guarded = GuardedSandbox(get_sandbox(), forbidden=(bundle.hidden_dir, bundle.solutions_dir))
    result = FeatureEngineering().grade(bundle, workspace, guarded, "public")
    assert result.status == "graded" and result.score is not None and result.score >= 90
    metric = next(c for c in result.checks if c.name == "roc_auc")
    assert "public holdout" in metric.detail


@pytest.mark.docker
def test_a_function_transform_and_a_sorting_transform(sandbox_image: str, bundle: Bundle,
                                                      tmp_path: Path) -> None:
    (tmp_path / "features.py").write_text(
        "def transform(df):\n"
        "    out = df[['items']].astype(float)\n"
        "    out['tiny'] = df['weight_kg'].isna()\n"
        "    return out.sort_values('items')\n")
    quick = dataclasses.replace(bundle, limits=dataclasses.replace(bundle.limits, wall_seconds=30))
    result = evaluate(quick, tmp_path)
    assert result.status == "graded" and result.score == 0
    rows = next(c for c in result.checks if c.name == "rows")
    assert not rows.passed and "not in their input position" in rows.detail
    assert next(c for c in result.checks if c.name == "numeric").passed  # flags became 0/1
