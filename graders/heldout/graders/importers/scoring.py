"""Which heldout metric a CodaBench scoring program computes, and a scale for its points."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from heldout.graders.errors import GraderError, ImportRefused, UnknownName
from heldout.graders.metrics import METRICS, Metric

# scikit-learn's metric functions with a heldout equivalent. Mean squared error ranks
# submissions exactly as its root does, so it is scored as rmse.
SKLEARN_EQUIVALENTS = {
    "roc_auc_score": "roc_auc", "accuracy_score": "accuracy", "f1_score": "f1",
    "log_loss": "log_loss", "root_mean_squared_error": "rmse", "mean_squared_error": "rmse",
    "mean_absolute_error": "mae", "r2_score": "r2",
}
# Leaderboard column keys and titles, lowercased with non-alphanumerics as "_".
COLUMN_EQUIVALENTS = {
    "auc": "roc_auc", "roc_auc": "roc_auc", "auroc": "roc_auc", "roc_auc_score": "roc_auc",
    "accuracy": "accuracy", "acc": "accuracy", "accuracy_score": "accuracy",
    "f1": "f1", "f1_score": "f1", "macro_f1": "f1", "f1_macro": "f1",
    "log_loss": "log_loss", "logloss": "log_loss", "cross_entropy": "log_loss",
    "rmse": "rmse", "mse": "rmse", "root_mean_squared_error": "rmse",
    "mean_squared_error": "rmse", "mae": "mae", "mean_absolute_error": "mae",
    "r2": "r2", "r2_score": "r2", "r_squared": "r2",
}
# Column names that say nothing about the metric (the score, the run's duration, …).
GENERIC_COLUMNS = frozenset({"", "score", "scores", "main", "result", "results", "avg",
                             "average", "mean", "set1_score", "set2_score", "duration",
                             "time", "execution_time", "rank", "total"})
_IMPORTED = re.compile(r"from\s+sklearn\.metrics\s+import\s+(\([^)]*\)|[^\n]+)")
_QUALIFIED = re.compile(r"\bmetrics\.(\w+)\s*\(")
_METRIC_LIKE = re.compile(r"\w+_(score|error|loss)|matthews_corrcoef|auc")
# The share of the way from a trivial prediction to a perfect one worth all the points.
TARGET_SHARE = 0.8


@dataclass(frozen=True)
class Found:
    """A metric named by the bundle: what it is called there, where, and its heldout name."""

    name: str
    where: str
    heldout: str | None


def _code_metrics(program: Path, shown: str) -> list[Found]:
    found: list[Found] = []
    for path in sorted(program.rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        where = f"{shown}/{path.relative_to(program).as_posix()}"
        names: list[str] = []
        for match in _IMPORTED.finditer(text):
            listed = match.group(1).strip("() \t")
            names += [part.split()[0] for part in listed.split(",") if part.split()]
        names += _QUALIFIED.findall(text)
        names += [name for name in SKLEARN_EQUIVALENTS if re.search(rf"\b{name}\b", text)]
        for name in dict.fromkeys(n for n in names if _METRIC_LIKE.fullmatch(n)):
            heldout = SKLEARN_EQUIVALENTS.get(name)
            if name == "auc":  # sklearn's area under any curve: the ROC's when roc_curve is used
                if "roc_curve" not in text:
                    continue
                heldout = "roc_auc"
            found.append(Found(name, where, heldout))
    return found


def _column_metrics(columns: Sequence[Sequence[str]]) -> list[Found]:
    """Each leaderboard column naming a metric: by its key, else its title (``score`` says
    nothing, but a column keyed ``score`` and titled ``AUC`` does)."""
    found = []
    for names in columns:
        named = [(name, re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")) for name in names]
        named = [(name, key) for name, key in named if key not in GENERIC_COLUMNS]
        if not named:
            continue
        name, key = next(((n, k) for n, k in named if k in COLUMN_EQUIVALENTS), named[0])
        found.append(Found(name, f"competition.yaml: leaderboard column {name!r}",
                           COLUMN_EQUIVALENTS.get(key)))
    return found


def choose_metric(program: Path | None, program_shown: str, columns: Sequence[Sequence[str]],
                  requested: str | None) -> Metric:
    """The heldout metric for a task: ``requested``, else the leaderboard's first metric
    column, else the one metric the scoring program computes; refused when none matches."""
    known = ", ".join(METRICS.known())
    if requested is not None:
        try:
            return METRICS.get(requested)
        except UnknownName as exc:
            raise ImportRefused(f"--metric: {exc}") from None
    board = _column_metrics(columns)
    if board:
        first = board[0]
        if first.heldout is None:
            raise ImportRefused(f"{first.where}: metric {first.name!r} has no heldout "
                                f"equivalent (known: {known}); pass --metric NAME to choose one")
        return METRICS.get(first.heldout)
    code = _code_metrics(program, program_shown) if program is not None else []
    matched = list(dict.fromkeys(f.heldout for f in code if f.heldout))
    if len(matched) == 1:
        return METRICS.get(matched[0])
    if len(matched) > 1:
        raise ImportRefused(f"{program_shown}: the scoring program computes several metrics "
                            f"({', '.join(matched)}); pass --metric NAME to choose one")
    if code:
        raise ImportRefused(f"{code[0].where}: metric {code[0].name!r} has no heldout "
                            f"equivalent (known: {known}); pass --metric NAME to choose one")
    raise ImportRefused(f"{program_shown}: no metric recognised in the scoring program or the "
                        f"leaderboard (known: {known}); pass --metric NAME to choose one")


def _trivial(metric: Metric, values: Sequence[float]) -> float:
    """What a model that learnt nothing predicts for every row."""
    ordered = sorted(values)
    if metric.predictions == "label":
        return max(set(values), key=lambda v: (values.count(v), -v))
    if metric.predictions == "probability":
        return sum(1 for v in values if v == ordered[-1]) / len(values)
    if metric.name == "mae":
        return ordered[len(ordered) // 2]
    return sum(values) / len(values)


def _perfect(metric: Metric, values: Sequence[float]) -> list[float]:
    if metric.predictions == "probability":
        top = max(values)
        return [1.0 if v == top else 0.0 for v in values]
    return list(values)


def _rounded(value: float) -> float:
    return float(f"{value:.6g}")


def scale(metric: Metric, values: Sequence[float], shown: str) -> tuple[float, float]:
    """``baseline`` (a constant prediction's value) and ``target`` (most of the way to perfect)."""
    try:
        baseline = metric.compute(values, [_trivial(metric, values)] * len(values))
        perfect = metric.compute(values, _perfect(metric, values))
    except GraderError as exc:
        raise ImportRefused(f"{shown}: {metric.name} can't score these labels: {exc}") from exc
    target = baseline + TARGET_SHARE * (perfect - baseline)
    baseline, target = _rounded(baseline), _rounded(target)
    if metric.scale_problem(baseline, target) is not None:
        raise ImportRefused(f"{shown}: a constant prediction already scores {metric.name} "
                            f"{baseline:g}: the labels leave nothing to learn")
    return baseline, target
