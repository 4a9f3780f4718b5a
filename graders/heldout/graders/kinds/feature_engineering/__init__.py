"""``feature_engineering``: the candidate's transform makes features; a fixed model scores them.

The harness runs the transform in the sandbox on the public training rows and on the test
*features*; the test labels stay on the host, where the bundle's downstream model is
trained on the candidate's training features and scored on them.
"""

from __future__ import annotations

import csv
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from heldout.graders.checks import METRIC, RUN, CheckType
from heldout.graders.downstream import MODELS
from heldout.graders.errors import BundleError, CandidateOutputError, UnknownName
from heldout.graders.kinds.base import GradingConfig, grading_of
from heldout.graders.kinds.feature_engineering.config import (
    DEFAULT_MAX_FEATURES,
    DEFAULT_MAX_FEATURES_MB,
    DEFAULT_PUBLIC_HOLDOUT,
    DOWNSTREAM,
    FEATURES,
    FINITE,
    HARNESS_NAME,
    NUMERIC,
    ROWS,
    TEST_FEATURES,
    TRAIN_FEATURES,
    FeatureEngineeringGrading,
    FeatureTable,
    RunData,
    _Runs,
    relative_path,
    unsuited_metric,
)
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
from heldout.graders.kinds.parts import ReportPart
from heldout.graders.metrics import METRICS, points, read_scale
from heldout.graders.result import MAX_SCORE, Check, Evaluation, RunStats, Split
from heldout.graders.runcheck import run_check
from heldout.sandbox.spec import HARNESS, OUTPUT, JobSpec, RunResult

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table

    Matrix: TypeAlias = npt.NDArray[np.float64]


class FeatureEngineering:
    """The harness fits the candidate's transform; the host trains a fixed model on it."""

    name = "feature_engineering"
    summary = "write a feature transform; scored by a fixed downstream model on hidden labels"
    checks: tuple[CheckType, ...] = (RUN, FEATURES, ROWS, NUMERIC, FINITE, DOWNSTREAM, METRIC)
    artefacts: tuple[str, ...] = ()
    report_parts: tuple[ReportPart, ...] = ()
    roles: tuple[str, ...] = ("ml-engineer", "data-engineer")

    def parse_grading(
        self, table: Table, *, root: Path, submission: SubmissionSpec
    ) -> GradingConfig:
        metric, baseline, target = read_scale(table, unsuited_metric)
        model = table.string("model")
        try:
            MODELS.get(model)
        except UnknownName as exc:
            raise table.error("model", str(exc)) from None
        id_column = table.string("id_column")
        label_column = table.string("label_column")
        transform = table.string("transform", "transform")
        if not transform.isidentifier():
            raise table.error("transform", f"must be a Python name, got {transform!r}")
        train = relative_path(table, "train", "train.csv")
        test = relative_path(table, "test", "test.csv")
        labels = relative_path(table, "labels", "labels.csv")
        max_features = table.integer("max_features", DEFAULT_MAX_FEATURES, minimum=1)
        max_mb = table.number("max_features_mb", DEFAULT_MAX_FEATURES_MB)
        if max_mb <= 0:
            raise table.error("max_features_mb", "must be positive")
        holdout = table.number("public_holdout", DEFAULT_PUBLIC_HOLDOUT)
        if not 0 < holdout < 1:
            raise table.error("public_holdout", "must be a fraction between 0 and 1")
        table.finish()

        if not submission.entrypoint.endswith(".py"):
            raise BundleError(f"{table.file}: [submission].entrypoint: feature_engineering "
                              "imports the entrypoint, so it must be a .py file")
        headers: dict[str, tuple[str, ...]] = {}
        for key, area, name in (("train", "public", train), ("test", "hidden", test),
                                ("labels", "hidden", labels)):
            path = root / area / name
            if not path.is_file() or path.is_symlink():
                raise table.error(key, f"{area}/{name} is missing")
            with path.open(encoding="utf-8", newline="") as handle:
                headers[key] = tuple(c.strip() for c in next(csv.reader(handle), []))
        for key, needs in (("train", (id_column, label_column)), ("test", (id_column,)),
                           ("labels", (id_column, label_column))):
            for column in needs:
                if column not in headers[key]:
                    raise table.error(key, f"has no column {column!r}")
        if label_column in headers["test"]:
            raise table.error("test", f"hidden/{test} holds {label_column!r}: it is fed to "
                              "candidate code, so it must hold features only")
        expected = tuple(c for c in headers["train"] if c != label_column)
        if headers["test"] != expected:
            raise table.error("test", f"hidden/{test} must have the training columns "
                              f"without {label_column!r}, in the same order")
        return FeatureEngineeringGrading(
            metric=metric.name, baseline=baseline, target=target, model=model,
            id_column=id_column, label_column=label_column, transform=transform, train=train,
            test=test, labels=labels, max_features=max_features,
            max_features_bytes=int(max_mb * 1024 * 1024), public_holdout=holdout,
        )

    def verify(self, bundle: Bundle) -> None:
        """Every hidden test row has a label, and the labels suit the metric."""
        import numpy as np

        split = hidden_split(bundle, np.random.default_rng(0))
        metric = METRICS.get(grading_of(bundle, FeatureEngineeringGrading).metric)
        metric.compute(tuple(split.test_labels), [float(split.test_labels[0])] * len(split.test_labels))

    def grade(self, bundle: Bundle, workspace: Path, sandbox: _Runs, split: Split) -> Evaluation:
        """The public checks fit on part of the public training rows and score on the rest;
        nothing of hidden/."""
        if split == "public":
            return _grade(bundle, workspace, sandbox, public_split(bundle))
        # Fresh entropy per run: test rows come in an order and with ids nobody can predict.
        import numpy as np

        return _grade(bundle, workspace, sandbox,
                      hidden_split(bundle, np.random.default_rng(secrets.randbits(128))))


def _grade(bundle: Bundle, workspace: Path, sandbox: _Runs, data: RunData) -> Evaluation:
    config = grading_of(bundle, FeatureEngineeringGrading)
    metric = METRICS.get(config.metric)
    with tempfile.TemporaryDirectory(prefix="heldout-harness-") as harness, \
            tempfile.TemporaryDirectory(prefix="heldout-output-") as output_dir:
        stage_harness(Path(harness), bundle, data)
        spec = JobSpec(command=("python", f"{HARNESS}/{HARNESS_NAME}", f"{HARNESS}/config.json"),
                       workspace=workspace, data=bundle.public_dir, harness=Path(harness),
                       limits=bundle.limits, labels={"heldout.challenge": bundle.slug})
        result = sandbox.run(spec, Path(output_dir))
        ran = run_check(result, bundle.limits)
        checks = [ran]
        tables: tuple[FeatureTable, FeatureTable] | None = None
        if not ran.passed:
            checks.append(FEATURES.failed(
                                "not checked: the run did not finish successfully"))
        else:
            try:
                tables = (_read_output(result, TRAIN_FEATURES, config),
                          _read_output(result, TEST_FEATURES, config))
            except CandidateOutputError as exc:
                checks.append(FEATURES.failed( str(exc)))

    values: Matrix | None = None
    if tables is not None:
        train, test = tables
        table_checks = [
            rows_check(((train, len(data.train_labels)), (test, len(data.test_labels)))),
            numeric_check(tables), finite_check(tables),
            feature_count_check(train, test, config.max_features),
        ]
        checks.extend(table_checks)
        if all(check.passed for check in table_checks):
            model = MODELS.get(config.model)
            try:
                values = model.predictions(metric, train.values, data.train_labels, test.values)
            except CandidateOutputError as exc:
                checks.append(DOWNSTREAM.failed(str(exc)))
            else:
                checks.append(DOWNSTREAM.passed(
                                    f"{model.name} ({model.summary}) trained on "
                                    f"{train.rows} rows, {len(train.columns)} features"))

    measured: dict[str, float] = {}
    if values is None:
        checks.append(Check(metric.name, "metric", False, 0, MAX_SCORE,
                            "not computed: no usable features"))
    else:
        value = metric.compute(tuple(data.test_labels), tuple(values))
        measured[metric.name] = round(value, 6)
        earned = round(points(value, baseline=config.baseline, target=config.target,
                              max_points=MAX_SCORE), 2)
        where = "public holdout" if data.train_in_harness else "hidden test"
        detail = (f"{metric.name} {value:.4f} on the {where} rows: {earned:g} of "
                  f"{MAX_SCORE:g} points (0 at baseline {config.baseline:g}, all at target "
                  f"{config.target:g}; {'higher' if metric.higher_is_better else 'lower'} "
                  "is better)")
        checks.append(Check(metric.name, "metric", earned > 0, earned, MAX_SCORE, detail))
    score = round(sum(check.score for check in checks), 2)
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                      score=score, checks=tuple(checks), metrics=measured, run=RunStats.from_result(result))


def _read_output(result: RunResult, name: str, config: FeatureEngineeringGrading) -> FeatureTable:
    shown = f"{OUTPUT}/{name}"
    output = result.output(name)
    if output is None:
        refused = [e for e in result.skipped_outputs if e == name or e.startswith(name + " ")]
        raise CandidateOutputError(f"{shown} was not collected: {refused[0]}" if refused
                                   else f"{shown} was not written")
    return read_features(output.path, shown=shown, max_bytes=config.max_features_bytes)


KIND = FeatureEngineering()
