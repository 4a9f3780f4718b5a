"""``model_training``: run the candidate's training script, score predictions on hidden labels."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from heldout.graders.checks import METRIC, PREDICTIONS, RUN, CheckType, metric_check
from heldout.graders.errors import BundleError, CandidateOutputError, UnknownName
from heldout.graders.kinds.base import GradingConfig, grading_of
from heldout.graders.kinds.parts import ReportPart
from heldout.graders.metrics import METRICS, read_scale
from heldout.graders.result import MAX_SCORE, Evaluation, RunStats, Split
from heldout.graders.runcheck import run_check
from heldout.graders.tables import Labels, read_labels, read_predictions
from heldout.sandbox.spec import OUTPUT, JobSpec

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table
    from heldout.sandbox.backend import Sandbox

DEFAULT_MAX_PREDICTIONS_MB = 16.0


@dataclass(frozen=True)
class ModelTrainingGrading(GradingConfig):
    """The validated ``[grading]`` table of a model_training bundle."""

    metric: str
    baseline: float
    target: float
    id_column: str
    prediction_column: str
    label_column: str
    predictions: str = "predictions.csv"
    labels: str = "labels.csv"
    max_predictions_bytes: int = int(DEFAULT_MAX_PREDICTIONS_MB * 1024 * 1024)
    report_metrics: tuple[str, ...] = ()


def _metric_name(table: Table, key: str, name: str) -> str:
    try:
        METRICS.get(name)
    except UnknownName as exc:
        raise table.error(key, str(exc)) from None
    return name


def _first_line(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [name.strip() for name in handle.readline().rstrip("\r\n").split(",")]


class ModelTraining:
    """The candidate trains on /data, writes /output/<predictions>; the host scores it."""

    name = "model_training"
    summary = "train a model on public data; scored by a metric on hidden labels"
    checks: tuple[CheckType, ...] = (RUN, PREDICTIONS, METRIC)
    artefacts: tuple[str, ...] = ()
    report_parts: tuple[ReportPart, ...] = ()
    roles: tuple[str, ...] = ("ml-engineer", "data-scientist")

    def parse_grading(
        self, table: Table, *, root: Path, submission: SubmissionSpec
    ) -> GradingConfig:
        metric, baseline, target = read_scale(table)
        id_column = table.string("id_column")
        prediction_column = table.string("prediction_column")
        if id_column == prediction_column:
            raise table.error("prediction_column", "must differ from id_column")
        label_column = table.string("label_column")
        predictions = table.string("predictions", "predictions.csv")
        pure = PurePosixPath(predictions)
        if pure.is_absolute() or ".." in pure.parts or pure.as_posix() != predictions:
            raise table.error("predictions", f"must be a relative path under {OUTPUT}, "
                              f"got {predictions!r}")
        labels = table.string("labels", "labels.csv")
        max_mb = table.number("max_predictions_mb", DEFAULT_MAX_PREDICTIONS_MB)
        if max_mb <= 0:
            raise table.error("max_predictions_mb", "must be positive")
        report = table.string_list("report_metrics", ())
        for name in report:
            _metric_name(table, "report_metrics", name)
        table.finish()

        if not submission.entrypoint.endswith(".py"):
            raise BundleError(f"{table.file}: [submission].entrypoint: model_training runs "
                              f"`python <entrypoint>`, so it must be a .py file")
        if not (root / "public").is_dir():
            raise BundleError(f"{table.file}: public/: missing (model_training mounts it at /data)")
        labels_path = root / "hidden" / labels
        if not labels_path.is_file() or labels_path.is_symlink():
            raise table.error("labels", f"hidden/{labels} is missing")
        header = _first_line(labels_path)
        for key, column in (("id_column", id_column), ("label_column", label_column)):
            if column not in header:
                raise table.error(key, f"hidden/{labels} has no column {column!r} "
                                  f"(header: {','.join(header)})")
        return ModelTrainingGrading(
            metric=metric.name, baseline=baseline, target=target, id_column=id_column,
            prediction_column=prediction_column, label_column=label_column,
            predictions=predictions, labels=labels,
            max_predictions_bytes=int(max_mb * 1024 * 1024), report_metrics=report,
        )

    def _labels(self, bundle: Bundle) -> tuple[ModelTrainingGrading, Labels]:
        config = grading_of(bundle, ModelTrainingGrading)
        labels = read_labels(bundle.hidden_dir / config.labels, id_column=config.id_column,
                             label_column=config.label_column)
        return config, labels

    def verify(self, bundle: Bundle) -> None:
        """The hidden labels parse and suit the metric (a constant prediction scores)."""
        config, labels = self._labels(bundle)
        for name in (config.metric, *config.report_metrics):
            METRICS.get(name).compute(labels.values, [labels.values[0]] * len(labels.values))

    def grade(self, bundle: Bundle, workspace: Path, sandbox: Sandbox,
              split: Split) -> Evaluation:
        """The public checks stop at the predictions file's format: no metric.

        Hidden labels are read on the host only for the test ids (public in test.csv), so
        nothing of their values reaches a public score: a valid file earns the points.
        """
        public = split == "public"
        config, labels = self._labels(bundle)
        metric = METRICS.get(config.metric)
        spec = JobSpec(
            command=("python", bundle.submission.entrypoint),
            workspace=workspace,
            data=bundle.public_dir,
            limits=bundle.limits,
            labels={"heldout.challenge": bundle.slug},
        )
        shown = f"{OUTPUT}/{config.predictions}"
        with tempfile.TemporaryDirectory(prefix="heldout-output-") as output_dir:
            result = sandbox.run(spec, Path(output_dir))
            ran = run_check(result, bundle.limits)
            checks = [ran]
            values: tuple[float, ...] | None = None
            format_points = MAX_SCORE if public else 0.0
            if not ran.passed:
                checks.append(PREDICTIONS.not_checked("the run did not finish successfully",
                                                      max_score=format_points))
            else:
                try:
                    output = result.output(config.predictions)
                    if output is None:
                        raise CandidateOutputError(_missing_output(shown, config.predictions,
                                                                   result.skipped_outputs))
                    predictions = read_predictions(
                        output.path, shown=shown, id_column=config.id_column,
                        value_column=config.prediction_column, expected_ids=labels.ids,
                        max_bytes=config.max_predictions_bytes)
                    unusable = metric.prediction_problem(labels.values, predictions.values)
                    if unusable:
                        raise CandidateOutputError(f"{shown}: {unusable}")
                    values = predictions.values
                    detail = f"{predictions.rows} rows, one finite prediction per test id"
                    if predictions.ignored_columns:
                        detail += f"; ignored columns: {', '.join(predictions.ignored_columns)}"
                    checks.append(PREDICTIONS.passed(detail, score=format_points,
                                                     max_score=format_points))
                except CandidateOutputError as exc:
                    checks.append(PREDICTIONS.failed(str(exc), max_score=format_points))

        measured: dict[str, float] = {}
        # Public checks stop at the file's format: the metric needs hidden labels.
        if public:
            pass
        elif values is None:
            checks.append(METRIC.failed("not computed: no valid predictions",
                                        max_score=MAX_SCORE, label=metric.name))
        else:
            value = metric.compute(labels.values, values)
            measured[metric.name] = round(value, 6)
            checks.append(metric_check(metric, value, baseline=config.baseline,
                                       target=config.target, max_score=MAX_SCORE))
        if values is not None and not public:
            for name in config.report_metrics:
                extra = METRICS.get(name)
                if extra.prediction_problem(labels.values, values) is None:
                    measured[name] = round(extra.compute(labels.values, values), 6)

        score = round(sum(check.score for check in checks), 2)
        return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                          score=score, checks=tuple(checks), metrics=measured,
                          run=RunStats.from_result(result))


def _missing_output(shown: str, name: str, skipped: tuple[str, ...]) -> str:
    refused = [entry for entry in skipped if entry == name or entry.startswith(name + " ")]
    if refused:
        return f"{shown} was not collected: {refused[0]}"
    return f"{shown} was not written"


KIND = ModelTraining()
