"""Model metrics by name, each knowing its direction and the predictions it needs.

numpy and scikit-learn are imported by the functions that compute, never by this module:
the web app reads metric names and directions and must not pay for the scientific stack.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

from heldout.graders.errors import GraderError, UnknownName
from heldout.graders.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from heldout.graders.fields import Table

    Array: TypeAlias = npt.NDArray[np.float64]
PredictionKind = Literal["score", "probability", "label", "value"]

_PREDICTION_TEXT: dict[PredictionKind, str] = {
    "score": "a score per row (higher = more likely positive)",
    "probability": "a probability between 0 and 1 per row",
    "label": "one of the class labels per row",
    "value": "a number per row",
}


@dataclass(frozen=True)
class Metric:
    """A scoring function of (true labels, predictions) with its direction."""

    name: str
    title: str
    higher_is_better: bool
    predictions: PredictionKind
    _compute: Callable[[Array, Array], float]

    @property
    def expects(self) -> str:
        """What each prediction must be, in words for a candidate."""
        return _PREDICTION_TEXT[self.predictions]

    def prediction_problem(self, y_true: Sequence[float], y_pred: Sequence[float]) -> str | None:
        """Why these predictions can't be scored by this metric, or None if they can."""
        if self.predictions == "probability":
            outside = [v for v in y_pred if not 0.0 <= v <= 1.0]
            if outside:
                return (f"{len(outside)} value(s) are outside [0, 1] (e.g. {_fmt(outside[0])}); "
                        f"{self.name} needs {self.expects}")
        if self.predictions == "label":
            classes = set(y_true)
            strange = [v for v in y_pred if v not in classes]
            if strange:
                shown = ", ".join(_fmt(c) for c in sorted(classes))
                return (f"{len(strange)} value(s) are not class labels (e.g. {_fmt(strange[0])}); "
                        f"{self.name} needs one of: {shown}")
        return None

    def compute(self, y_true: Sequence[float], y_pred: Sequence[float]) -> float:
        """The metric value; a bundle whose labels don't suit the metric is a grader fault."""
        import numpy as np

        truth = np.asarray(y_true, dtype=np.float64)
        pred = np.asarray(y_pred, dtype=np.float64)
        if truth.shape != pred.shape or truth.size == 0:
            raise GraderError(f"{self.name}: {truth.size} labels but {pred.size} predictions")
        value = float(self._compute(truth, pred))
        if not math.isfinite(value):
            raise GraderError(f"{self.name} is not finite ({value}) on these labels")
        return value

    def scale_problem(self, baseline: float, target: float) -> str | None:
        """Why ``target`` can't be the better end of a scale starting at ``baseline``."""
        if self.higher_is_better and target <= baseline:
            return f"{self.name} is higher-is-better, so target must be above baseline"
        if not self.higher_is_better and target >= baseline:
            return f"{self.name} is lower-is-better, so target must be below baseline"
        return None


def points(value: float, *, baseline: float, target: float, max_points: float) -> float:
    """Linear points: none at ``baseline``, all at ``target``, clipped in between.

    The same formula serves lower-is-better metrics, whose target lies below the baseline.
    """
    fraction = (value - baseline) / (target - baseline)
    return max_points * min(1.0, max(0.0, fraction))


def _binary(metric: str, truth: Array) -> None:
    import numpy as np

    if len(np.unique(truth)) != 2:
        raise GraderError(f"{metric} needs labels of exactly two classes, "
                          f"got {len(np.unique(truth))}")


def _roc_auc(truth: Array, pred: Array) -> float:
    from sklearn import metrics as skm

    _binary("roc_auc", truth)
    return float(skm.roc_auc_score(truth, pred))


def _log_loss(truth: Array, pred: Array) -> float:
    import numpy as np
    from sklearn import metrics as skm

    _binary("log_loss", truth)
    positive = float(truth.max())
    eps = 1e-15  # keep a certain-but-wrong prediction finite, as a probability of 0/1 would not be
    return float(skm.log_loss(truth == positive, np.clip(pred, eps, 1 - eps), labels=[False, True]))


def _accuracy(truth: Array, pred: Array) -> float:
    from sklearn import metrics as skm

    return float(skm.accuracy_score(truth, pred))


def _f1(truth: Array, pred: Array) -> float:
    import numpy as np
    from sklearn import metrics as skm

    # Binary 0/1 labels score the positive class; anything else is averaged over classes.
    binary = set(np.unique(truth)) <= {0.0, 1.0}
    average = "binary" if binary else "macro"
    return float(skm.f1_score(truth, pred, average=average, zero_division=0))


def _rmse(truth: Array, pred: Array) -> float:
    import numpy as np

    return float(np.sqrt(np.mean((truth - pred) ** 2)))


def _mae(truth: Array, pred: Array) -> float:
    import numpy as np

    return float(np.mean(np.abs(truth - pred)))


def _r2(truth: Array, pred: Array) -> float:
    import numpy as np
    from sklearn import metrics as skm

    if len(np.unique(truth)) < 2:
        raise GraderError("r2 needs labels that vary")
    return float(skm.r2_score(truth, pred))


METRICS: Registry[Metric] = Registry("metric")
METRICS.register(Metric("roc_auc", "ROC AUC", True, "score", _roc_auc))
METRICS.register(Metric("accuracy", "accuracy", True, "label", _accuracy))
METRICS.register(Metric("f1", "F1 score", True, "label", _f1))
METRICS.register(Metric("log_loss", "log loss", False, "probability", _log_loss))
METRICS.register(Metric("rmse", "root mean squared error", False, "value", _rmse))
METRICS.register(Metric("mae", "mean absolute error", False, "value", _mae))
METRICS.register(Metric("r2", "R²", True, "value", _r2))


def read_scale(table: Table, unsuited: Callable[[Metric], str | None] = lambda metric: None
               ) -> tuple[Metric, float, float]:
    """A ``[grading]`` table's ``metric``, ``baseline`` and ``target``: a registered metric
    (that ``unsuited`` finds no fault with), and a target on its better side of the baseline."""
    try:
        metric = METRICS.get(table.string("metric"))
    except UnknownName as exc:
        raise table.error("metric", str(exc)) from None
    why = unsuited(metric)
    if why:
        raise table.error("metric", why)
    baseline, target = table.number("baseline"), table.number("target")
    problem = metric.scale_problem(baseline, target)
    if problem:
        raise table.error("target", problem)
    return metric, baseline, target


def _fmt(value: float) -> str:
    return f"{value:g}"


# Metrics added for the catalogue's ranking and multiclass challenges.


def _average_precision(truth: Array, pred: Array) -> float:
    from sklearn import metrics as skm

    # The area under the precision-recall curve of the larger label, as scikit-learn's
    # average_precision_score: the metric of rare positives (fraud, defects), where ROC AUC
    # stays high even when the top of the ranking is mostly false alarms.
    _binary("average_precision", truth)
    return float(skm.average_precision_score(truth == truth.max(), pred))


def _macro_f1(truth: Array, pred: Array) -> float:
    from sklearn import metrics as skm

    # Every class weighs the same, whatever its size: a rare class ignored costs its share.
    return float(skm.f1_score(truth, pred, average="macro", zero_division=0))


def _wape(truth: Array, pred: Array) -> float:
    import numpy as np

    # Total absolute error over total actual volume: scale-free like a percentage error,
    # yet defined when single days sell nothing (MAPE divides by each zero).
    volume = float(np.sum(np.abs(truth)))
    if volume == 0:
        raise GraderError("wape needs labels that are not all zero")
    return float(np.sum(np.abs(truth - pred)) / volume)


METRICS.register(Metric("average_precision", "average precision", True, "score",
                        _average_precision))
METRICS.register(Metric("macro_f1", "macro-averaged F1", True, "label", _macro_f1))
METRICS.register(Metric("wape", "weighted absolute percentage error", False, "value", _wape))
