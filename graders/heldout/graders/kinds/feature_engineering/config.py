"""The feature-engineering kind's settings: its check types, the `[grading]` table and the bundle's tables."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Protocol, TypeAlias

from heldout.graders.checks import CheckType
from heldout.graders.errors import GraderError
from heldout.graders.kinds.base import GradingConfig
from heldout.graders.metrics import Metric
from heldout.sandbox.spec import JobSpec, RunResult

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

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


def csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def relative_path(table: Table, key: str, default: str) -> str:
    value = table.string(key, default)
    pure = PurePosixPath(value)
    if pure.is_absolute() or ".." in pure.parts or pure.as_posix() != value or "/" in value:
        raise table.error(key, f"must be a plain file name, got {value!r}")
    return value


def unsuited_metric(metric: Metric) -> str | None:
    if metric.predictions == "value":
        return f"{metric.name} scores regression; the downstream models are classifiers"
    return None
