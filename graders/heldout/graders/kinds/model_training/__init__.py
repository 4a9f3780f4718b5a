"""``model_training``: run the candidate's training script, score predictions on hidden labels.

The labelled test rows are split (``slices``): public checks score the public slice, the
final score the private one. ``integrity`` re-runs a graded submission on perturbed inputs.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from heldout.graders.checks import METRIC, PREDICTIONS, RUN, CheckType, metric_check
from heldout.graders.errors import BundleError, CandidateOutputError, GraderError, UnknownName
from heldout.graders.kinds.base import GradingConfig, grading_of
from heldout.graders.kinds.model_training.slices import (
    DEFAULT_PUBLIC_DECIMALS,
    DEFAULT_PUBLIC_FRACTION,
    DEFAULT_PUBLIC_RUNS,
    Slices,
    shown_value,
    split_labels,
)
from heldout.graders.kinds.parts import ReportPart
from heldout.graders.metrics import METRICS, read_scale
from heldout.graders.result import MAX_SCORE, Evaluation, RunStats, Split
from heldout.graders.runcheck import run_check
from heldout.graders.tables import Labels, read_capped, read_labels, read_predictions
from heldout.sandbox.spec import OUTPUT, JobSpec

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table
    from heldout.graders.metrics import Metric
    from heldout.graders.result import Check
    from heldout.sandbox.backend import Sandbox
    from heldout.sandbox.spec import RunResult

DEFAULT_MAX_PREDICTIONS_MB = 16.0
# The graded run's predictions file, kept so the integrity job can compare them.
PREDICTIONS_ARTEFACT = "predictions.csv"


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
    # The share of labelled test rows public checks score on (0: format only), the seed of
    # the split ("": the bundle's slug, so that editing a bundle keeps its split), the
    # decimals a public metric is shown with and how many public runs an attempt may make.
    public_fraction: float = DEFAULT_PUBLIC_FRACTION
    public_seed: str = ""
    public_decimals: int = DEFAULT_PUBLIC_DECIMALS
    public_runs: int = DEFAULT_PUBLIC_RUNS

    @property
    def public_run_budget(self) -> int | None:
        return self.public_runs

    def slices(self, labels: Labels, slug: str) -> Slices:
        return split_labels(labels, fraction=self.public_fraction,
                            seed=self.public_seed or slug)


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
    artefacts: tuple[str, ...] = (PREDICTIONS_ARTEFACT,)
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
        fraction = table.number("public_fraction", DEFAULT_PUBLIC_FRACTION)
        if not 0 <= fraction < 1:
            raise table.error("public_fraction", "must be at least 0 and below 1")
        seed = table.string("public_seed", "", empty_ok=True)
        decimals = table.integer("public_decimals", DEFAULT_PUBLIC_DECIMALS, minimum=0)
        runs = table.integer("public_runs", DEFAULT_PUBLIC_RUNS, minimum=1)
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
            public_fraction=fraction, public_seed=seed, public_decimals=decimals,
            public_runs=runs,
        )

    def _labels(self, bundle: Bundle) -> tuple[ModelTrainingGrading, Labels]:
        config = grading_of(bundle, ModelTrainingGrading)
        labels = read_labels(bundle.hidden_dir / config.labels, id_column=config.id_column,
                             label_column=config.label_column)
        return config, labels

    def verify(self, bundle: Bundle) -> None:
        """The hidden labels parse and suit the metric on each slice (a constant scores)."""
        config, labels = self._labels(bundle)
        slices = config.slices(labels, bundle.slug)
        for part in (slices.private, slices.public):
            if not part:
                continue
            for name in (config.metric, *config.report_metrics):
                METRICS.get(name).compute(part.values, [labels.values[0]] * len(part))

    def grade(self, bundle: Bundle, workspace: Path, sandbox: Sandbox,
              split: Split) -> Evaluation:
        """Run the candidate's script; score its predictions on the split's slice.

        Public checks score the public slice (rounded; no points for the format); the
        final score the private slice alone. The whole file is checked either way: the
        candidate predicts every test row without knowing which slice it is in.
        """
        public = split == "public"
        config, labels = self._labels(bundle)
        metric = METRICS.get(config.metric)
        slices = config.slices(labels, bundle.slug)
        spec = JobSpec(
            command=("python", bundle.submission.entrypoint),
            workspace=workspace,
            data=bundle.public_dir,
            limits=bundle.limits,
            labels={"heldout.challenge": bundle.slug},
        )
        with tempfile.TemporaryDirectory(prefix="heldout-output-") as output_dir:
            result = sandbox.run(spec, Path(output_dir))
            ran = run_check(result, bundle.limits)
            checks = [ran]
            read = _read(config, labels, metric, result) if ran.passed else None
            kept: dict[str, bytes] = {}
            values: tuple[float, ...] | None = None
            if read is None:
                checks.append(PREDICTIONS.not_checked("the run did not finish successfully"))
            elif isinstance(read, str):
                checks.append(PREDICTIONS.failed(read))
            else:
                values, detail, raw = read
                if public and not slices.public:
                    detail += ("; format only: public checks use no labels, so they give "
                               "no score")
                checks.append(PREDICTIONS.passed(detail))
                if not public:
                    kept[PREDICTIONS_ARTEFACT] = raw

        measured: dict[str, float] = {}
        if public:
            if slices.public:
                check, shown = _public_metric(config, metric, slices, values)
                checks.append(check)
                if shown is not None:
                    measured[metric.name] = shown
        elif values is None:
            checks.append(METRIC.failed("not computed: no valid predictions",
                                        max_score=MAX_SCORE, label=metric.name))
        else:
            private = slices.private
            value = metric.compute(private.values, private.pick(values))
            measured[metric.name] = round(value, 6)
            checks.append(metric_check(
                metric, value, baseline=config.baseline, target=config.target,
                max_score=MAX_SCORE, scope=f"on the {len(private)} private test rows"))
            for name in config.report_metrics:
                extra = METRICS.get(name)
                mine = private.pick(values)
                if extra.prediction_problem(private.values, mine) is None:
                    measured[name] = round(extra.compute(private.values, mine), 6)

        score = round(sum(check.score for check in checks), 2)
        return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                          score=score, checks=tuple(checks), metrics=measured,
                          run=RunStats.from_result(result), artefacts=kept)


def _read(config: ModelTrainingGrading, labels: Labels, metric: Metric,
          result: RunResult) -> tuple[tuple[float, ...], str, bytes] | str:
    """The predictions in labels order, a detail line and the file's bytes; or why not."""
    shown = f"{OUTPUT}/{config.predictions}"
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
        raw = read_capped(output.path, config.max_predictions_bytes, shown=shown)
    except CandidateOutputError as exc:
        return str(exc)
    detail = f"{predictions.rows} rows, one finite prediction per test id"
    if predictions.ignored_columns:
        detail += f"; ignored columns: {', '.join(predictions.ignored_columns)}"
    return predictions.values, detail, raw


def _public_metric(config: ModelTrainingGrading, metric: Metric, slices: Slices,
                   values: tuple[float, ...] | None) -> tuple[Check, float | None]:
    """The metric on the public slice, rounded, scored on the bundle's scale; the rounded
    value (None: not computed)."""
    total = len(slices.public) + len(slices.private)
    scope = (f"on the public slice ({len(slices.public)} of {total} test rows; the final "
             f"score uses the other {len(slices.private)}), rounded to "
             f"{config.public_decimals} decimals")
    if values is None:
        return METRIC.not_checked("no valid predictions", max_score=MAX_SCORE,
                                  label=metric.name), None
    try:
        value = metric.compute(slices.public.values, slices.public.pick(values))
    except GraderError as exc:  # e.g. a public slice of one class: the bundle's to fix
        return METRIC.failed(f"not computed on the public slice: {exc}", max_score=MAX_SCORE,
                             label=metric.name), None
    shown = shown_value(value, config.public_decimals)
    return metric_check(metric, shown, baseline=config.baseline, target=config.target,
                        max_score=MAX_SCORE, scope=scope, digits=config.public_decimals), shown


def _missing_output(shown: str, name: str, skipped: tuple[str, ...]) -> str:
    refused = [entry for entry in skipped if entry == name or entry.startswith(name + " ")]
    if refused:
        return f"{shown} was not collected: {refused[0]}"
    return f"{shown} was not written"


KIND = ModelTraining()
