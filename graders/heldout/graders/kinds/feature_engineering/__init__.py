"""``feature_engineering``: the candidate's transform makes features; a fixed model scores them.

The harness runs the transform in the sandbox on the public training rows and on the test
*features*; the test labels stay on the host, where the bundle's downstream model is
trained on the candidate's training features and scored on them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol, TypeAlias

from heldout.graders.checks import METRIC, RUN, CheckType
from heldout.graders.downstream import MODELS
from heldout.graders.errors import BundleError, CandidateOutputError, GraderError, UnknownName
from heldout.graders.kinds.base import GradingConfig, grading_of
from heldout.graders.kinds.parts import ReportPart
from heldout.graders.metrics import METRICS, Metric, points, read_scale
from heldout.graders.result import MAX_SCORE, Check, Evaluation, RunStats, Split
from heldout.graders.runcheck import run_check
from heldout.graders.tables import read_capped, read_labels, show
from heldout.sandbox.spec import DATA, HARNESS, OUTPUT, WORKSPACE, JobSpec, RunResult

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from heldout.graders.bundle_types import Bundle, SubmissionSpec
    from heldout.graders.fields import Table

    Matrix: TypeAlias = npt.NDArray[np.float64]

# numpy is imported where grading computes, never by this module: the web app loads kinds
# to read bundles and must not pay for the scientific stack.

HARNESS_NAME = "feature_harness.py"
HARNESS_SOURCE = Path(__file__).resolve().parent / HARNESS_NAME
ROW_COLUMN = "__row__"  # written by the harness: the index of the frame the transform returned
TRAIN_FEATURES = "train_features.csv"
TEST_FEATURES = "test_features.csv"
DEFAULT_MAX_FEATURES = 200
DEFAULT_MAX_FEATURES_MB = 32.0
DEFAULT_PUBLIC_HOLDOUT = 0.25
PUBLIC_SEED = 20240917  # fixed, so a candidate's public score is reproducible
# Test ids are replaced for each run by draws from this range, so an id says nothing.
FRESH_IDS = (1_000_000, 10_000_000)
MAX_SHOWN_COLUMNS = 3


ROWS = CheckType(
    "rows", "test", "each feature table has one row per input row, in the input's order")
NUMERIC = CheckType("numeric", "test", "every feature cell is a number")
FINITE = CheckType(
    "finite", "test", "no feature cell is empty, NaN or infinite")
FEATURES = CheckType(
    "features", "test",
    "the feature tables were written and read, within the column cap, with the same columns")
DOWNSTREAM = CheckType(
    "downstream", "test", "the bundle's fixed model could be trained on the candidate's features",
    "a fixed model could be trained on your features")


class _Runs(Protocol):
    def run(self, spec: JobSpec, output_dir: Path) -> RunResult: ...


@dataclass(frozen=True)
class FeatureEngineeringGrading(GradingConfig):
    """The validated ``[grading]`` table of a feature_engineering bundle."""

    metric: str
    baseline: float
    target: float
    model: str
    id_column: str
    label_column: str
    transform: str = "transform"
    train: str = "train.csv"
    test: str = "test.csv"
    labels: str = "labels.csv"
    max_features: int = DEFAULT_MAX_FEATURES
    max_features_bytes: int = int(DEFAULT_MAX_FEATURES_MB * 1024 * 1024)
    public_holdout: float = DEFAULT_PUBLIC_HOLDOUT


@dataclass(frozen=True)
class CsvTable:
    """A trusted bundle CSV: header and rows of cells."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, name: str) -> int:
        return self.header.index(name)


@dataclass(frozen=True)
class FeatureTable:
    """A candidate's feature table as parsed on the host; NaN where a cell is unusable."""

    shown: str
    columns: tuple[str, ...]
    values: Matrix
    misplaced: int  # rows whose __row__ is not their position
    not_numeric: tuple[tuple[str, str], ...]  # (column, first offending cell)
    not_finite: tuple[tuple[str, int], ...]  # (column, how many empty/NaN/infinite cells)

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])


@dataclass(frozen=True)
class RunData:
    """What one grading run feeds the harness, and the test labels kept on the host."""

    train_rows: CsvTable
    test_features: CsvTable
    train_labels: Matrix
    test_labels: Matrix
    train_in_harness: bool  # public grading fits on part of the public rows, staged in /harness


def read_bundle_csv(path: Path) -> CsvTable:
    """A bundle's own CSV; a problem in it is the bundle's fault."""
    try:
        text = path.read_text(encoding="utf-8").removeprefix("\ufeff")
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = tuple(name.strip() for name in next(reader))
        rows = tuple(tuple(row) for row in reader if any(cell.strip() for cell in row))
    except (OSError, UnicodeDecodeError, csv.Error, StopIteration) as exc:
        raise GraderError(f"{path.name} unusable: {exc!r}") from exc
    ragged = next((i for i, row in enumerate(rows, 2) if len(row) != len(header)), None)
    if ragged is not None:
        raise GraderError(f"{path.name} line {ragged}: field count differs from the header")
    return CsvTable(header, rows)


def _csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _relative(table: Table, key: str, default: str) -> str:
    value = table.string(key, default)
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts or pure.as_posix() != value or "/" in value:
        raise table.error(key, f"must be a plain file name, got {value!r}")
    return value


def _unsuited(metric: Metric) -> str | None:
    if metric.predictions == "value":
        return f"{metric.name} scores regression; the downstream models are classifiers"
    return None


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
        metric, baseline, target = read_scale(table, _unsuited)
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
        train = _relative(table, "train", "train.csv")
        test = _relative(table, "test", "test.csv")
        labels = _relative(table, "labels", "labels.csv")
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


def _floats(values: Sequence[str], what: str) -> Matrix:
    import numpy as np

    try:
        return np.asarray([float(v) for v in values], dtype=np.float64)
    except ValueError as exc:
        raise GraderError(f"{what}: {exc}") from exc


def _disguised(table: CsvTable, order: npt.NDArray[np.int64], id_at: int,
               rng: np.random.Generator) -> CsvTable:
    """Rows in ``order`` with fresh random ids: neither position nor id tells a row apart."""
    import numpy as np

    fresh = rng.choice(np.arange(*FRESH_IDS), size=len(order), replace=False)
    rows = []
    for position, source in enumerate(order):
        row = list(table.rows[int(source)])
        row[id_at] = str(int(fresh[position]))
        rows.append(tuple(row))
    return CsvTable(table.header, tuple(rows))


def hidden_split(bundle: Bundle, rng: np.random.Generator) -> RunData:
    import numpy as np

    config = grading_of(bundle, FeatureEngineeringGrading)
    train = read_bundle_csv(bundle.public_dir / config.train)
    test = read_bundle_csv(bundle.hidden_dir / config.test)
    labels = read_labels(bundle.hidden_dir / config.labels, id_column=config.id_column,
                         label_column=config.label_column)
    by_id = dict(zip(labels.ids, labels.values, strict=True))
    id_at = test.column(config.id_column)
    test_ids = [row[id_at].strip() for row in test.rows]
    unlabelled = [i for i in test_ids if i not in by_id]
    if unlabelled or len(set(test_ids)) != len(test_ids):
        raise GraderError(f"hidden/{config.test}: ids without a label or repeated "
                          f"(e.g. {unlabelled[:1]})")
    order = rng.permutation(len(test.rows))
    return RunData(
        train_rows=train,
        test_features=_disguised(test, order, id_at, rng),
        train_labels=_floats([r[train.column(config.label_column)] for r in train.rows],
                             f"public/{config.train} labels"),
        test_labels=np.asarray([by_id[test_ids[int(i)]] for i in order], dtype=np.float64),
        train_in_harness=False,
    )


def public_split(bundle: Bundle) -> RunData:
    import numpy as np

    config = grading_of(bundle, FeatureEngineeringGrading)
    train = read_bundle_csv(bundle.public_dir / config.train)
    rng = np.random.default_rng(PUBLIC_SEED)
    order = rng.permutation(len(train.rows))
    cut = len(order) - max(1, math.floor(len(order) * config.public_holdout))
    label_at = train.column(config.label_column)
    fit = CsvTable(train.header, tuple(train.rows[int(i)] for i in sorted(order[:cut])))
    held = CsvTable(train.header, tuple(train.rows[int(i)] for i in order[cut:]))
    features = CsvTable(tuple(c for i, c in enumerate(train.header) if i != label_at),
                        tuple(tuple(c for i, c in enumerate(r) if i != label_at)
                              for r in held.rows))
    return RunData(
        train_rows=fit,
        test_features=_disguised(features, np.arange(len(features.rows)),
                                 features.column(config.id_column), rng),
        train_labels=_floats([r[label_at] for r in fit.rows], "public labels"),
        test_labels=_floats([r[label_at] for r in held.rows], "public labels"),
        train_in_harness=True,
    )


def stage_harness(directory: Path, bundle: Bundle, data: RunData) -> None:
    """The per-run /harness: harness code, its config and the test features (never labels)."""
    config = grading_of(bundle, FeatureEngineeringGrading)
    shutil.copyfile(HARNESS_SOURCE, directory / HARNESS_NAME)
    (directory / "test.csv").write_text(
        _csv_text(data.test_features.header, data.test_features.rows), encoding="utf-8")
    train_path = f"{DATA}/{config.train}"
    if data.train_in_harness:
        (directory / "train.csv").write_text(
            _csv_text(data.train_rows.header, data.train_rows.rows), encoding="utf-8")
        train_path = f"{HARNESS}/train.csv"
    settings = {
        "workspace": WORKSPACE, "entrypoint": bundle.submission.entrypoint,
        "transform": config.transform, "label_column": config.label_column,
        "train": train_path, "test": f"{HARNESS}/test.csv", "output": OUTPUT,
        "train_features": TRAIN_FEATURES, "test_features": TEST_FEATURES,
    }
    (directory / "config.json").write_text(json.dumps(settings, indent=1), encoding="utf-8")


def read_features(path: Path, *, shown: str, max_bytes: int) -> FeatureTable:
    """Parse a feature table the candidate's run wrote; unreadable files raise
    ``CandidateOutputError``, bad cells are recorded for the checks to report."""
    import numpy as np

    data = read_capped(path, max_bytes, shown=shown)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CandidateOutputError(f"{shown} is not UTF-8 text (bad byte at offset "
                                   f"{exc.start})") from exc
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
        rows = [row for row in reader if row]
    except csv.Error as exc:
        raise CandidateOutputError(f"{shown} is not valid CSV near line {reader.line_num}: "
                                   f"{exc}") from exc
    if not header or header[0] != ROW_COLUMN:
        raise CandidateOutputError(f"{shown} does not start with the harness's {ROW_COLUMN} "
                                   "column (was it written by something else?)")
    columns = header[1:]
    if not columns:
        raise CandidateOutputError(f"{shown} has no feature columns")
    duplicated = sorted({c for c in columns if columns.count(c) > 1 or c == ROW_COLUMN})
    if duplicated or "" in columns:
        raise CandidateOutputError(f"{shown}: column names must be unique and non-empty "
                                   f"(repeated: {', '.join(show(c) for c in duplicated[:3])})")
    ragged = next((i for i, row in enumerate(rows, 2) if len(row) != len(header)), None)
    if ragged is not None:
        raise CandidateOutputError(f"{shown} line {ragged} has a different number of fields "
                                   "than the header")
    values = np.full((len(rows), len(columns)), np.nan)
    misplaced = 0
    first_bad: dict[int, str] = {}
    for r, row in enumerate(rows):
        if row[0].strip() != str(r):
            misplaced += 1
        for c, cell in enumerate(row[1:]):
            try:
                values[r, c] = float(cell)
            except ValueError:
                if cell.strip():
                    first_bad.setdefault(c, cell)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values)
    not_numeric = tuple((columns[c], cell) for c, cell in sorted(first_bad.items()))
    not_finite = tuple((columns[c], int(bad[:, c].sum())) for c in range(len(columns))
                       if c not in first_bad and bad[:, c].any())
    return FeatureTable(shown, tuple(columns), values, misplaced, not_numeric, not_finite)


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(show(name) for name in items[:MAX_SHOWN_COLUMNS])
    more = len(items) - MAX_SHOWN_COLUMNS
    return f"{shown} and {more} more" if more > 0 else shown


def rows_check(tables: Sequence[tuple[FeatureTable, int]]) -> Check:
    """Every input row comes back, in its place."""
    problems = []
    for table, expected in tables:
        if table.rows != expected:
            problems.append(f"{table.shown} has {table.rows} rows, the input had {expected}")
        elif table.misplaced:
            problems.append(f"{table.shown}: {table.misplaced} rows are not in their input "
                            "position (keep the input's index and order)")
    if problems:
        return ROWS.failed("; ".join(problems))
    counts = " and ".join(f"{t.rows}" for t, _ in tables)
    return ROWS.passed(f"{counts} rows kept, in order")


def numeric_check(tables: Sequence[FeatureTable]) -> Check:
    problems = [f"{t.shown}: {len(t.not_numeric)} column(s) are not numeric ("
                + "; ".join(f"{show(c)}: {show(v)}" for c, v in t.not_numeric[:MAX_SHOWN_COLUMNS])
                + ")" for t in tables if t.not_numeric]
    if problems:
        return NUMERIC.failed(
                     "; ".join(problems) + "; encode categories and dates as numbers")
    return NUMERIC.passed("every feature is numeric")


def finite_check(tables: Sequence[FeatureTable]) -> Check:
    problems = [f"{t.shown}: " + ", ".join(f"{show(c)} ({n})" for c, n in
                                           t.not_finite[:MAX_SHOWN_COLUMNS])
                for t in tables if t.not_finite]
    if problems:
        return FINITE.failed(
                     "empty, NaN or infinite values in " + "; ".join(problems)
                     + "; the downstream model needs a finite number in every cell")
    return FINITE.passed("no missing, NaN or infinite values")


def feature_count_check(train: FeatureTable, test: FeatureTable, cap: int) -> Check:
    """Within the cap, and the same columns for training and test rows."""
    if len(train.columns) > cap:
        return FEATURES.failed(
                     f"{len(train.columns)} features, over the limit of {cap}")
    if train.columns != test.columns:
        only_train = [c for c in train.columns if c not in test.columns]
        only_test = [c for c in test.columns if c not in train.columns]
        detail = "the training and test tables have different columns"
        if only_train:
            detail += f"; only in training: {_names(only_train)}"
        if only_test:
            detail += f"; only in test: {_names(only_test)}"
        if not only_train and not only_test:
            detail += " (same names, different order)"
        return FEATURES.failed(
                     detail + "; fit encoders on the training rows and reuse them")
    return FEATURES.passed(
                 f"{len(train.columns)} features (limit {cap}), the same for both tables")


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
