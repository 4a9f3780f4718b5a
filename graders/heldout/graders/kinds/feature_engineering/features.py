"""The candidate's features: the splits they are computed on, reading them back, and the
checks on their shape."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from heldout.graders.errors import CandidateOutputError, GraderError
from heldout.graders.kinds.base import grading_of
from heldout.graders.kinds.feature_engineering.config import (
    FEATURES,
    FINITE,
    FRESH_IDS,
    HARNESS_NAME,
    HARNESS_SOURCE,
    MAX_SHOWN_COLUMNS,
    NUMERIC,
    PUBLIC_SEED,
    ROW_COLUMN,
    ROWS,
    TEST_FEATURES,
    TRAIN_FEATURES,
    CsvTable,
    FeatureEngineeringGrading,
    FeatureTable,
    RunData,
    csv_text,
    read_bundle_csv,
)
from heldout.graders.result import Check
from heldout.graders.tables import read_capped, read_labels, show
from heldout.sandbox.spec import DATA, HARNESS, OUTPUT, WORKSPACE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from heldout.graders.bundle_types import Bundle

    Matrix: TypeAlias = npt.NDArray[np.float64]


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
        csv_text(data.test_features.header, data.test_features.rows), encoding="utf-8")
    train_path = f"{DATA}/{config.train}"
    if data.train_in_harness:
        (directory / "train.csv").write_text(
            csv_text(data.train_rows.header, data.train_rows.rows), encoding="utf-8")
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
