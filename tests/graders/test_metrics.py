"""Metrics: values, directions, what predictions each accepts, and points mapping."""

from __future__ import annotations

import math

import pytest
from sklearn import metrics as skm

from heldout.graders.errors import GraderError
from heldout.graders.metrics import METRICS, points

Y = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0]
P = [0.1, 0.8, 0.4, 0.35, 0.9, 0.2]


def test_values_match_scikit_learn() -> None:
    labels = [1.0 if p >= 0.5 else 0.0 for p in P]
    assert METRICS.get("roc_auc").compute(Y, P) == pytest.approx(skm.roc_auc_score(Y, P))
    assert METRICS.get("log_loss").compute(Y, P) == pytest.approx(skm.log_loss(Y, P))
    assert METRICS.get("accuracy").compute(Y, labels) == pytest.approx(skm.accuracy_score(Y, labels))
    assert METRICS.get("f1").compute(Y, labels) == pytest.approx(skm.f1_score(Y, labels))
    rmse = math.sqrt(skm.mean_squared_error(Y, P))
    assert METRICS.get("rmse").compute(Y, P) == pytest.approx(rmse)
    assert METRICS.get("mae").compute(Y, P) == pytest.approx(skm.mean_absolute_error(Y, P))
    assert METRICS.get("r2").compute(Y, P) == pytest.approx(skm.r2_score(Y, P))


def test_directions() -> None:
    higher = {name for name in METRICS.known() if METRICS.get(name).higher_is_better}
    assert higher == {"roc_auc", "accuracy", "f1", "r2", "average_precision", "macro_f1"}


def test_unknown_metric_lists_the_known_ones() -> None:
    with pytest.raises(LookupError,
                       match=r"unknown metric 'auc'; known: accuracy, average_precision, f1, log_loss"):
        METRICS.get("auc")


@pytest.mark.parametrize(("value", "expected"), [
    (0.5, 0.0), (0.4, 0.0), (0.7, 50.0), (0.9, 100.0), (0.99, 100.0), (0.6, 25.0),
])
def test_points_higher_is_better(value: float, expected: float) -> None:
    assert points(value, baseline=0.5, target=0.9, max_points=100) == pytest.approx(expected)


@pytest.mark.parametrize(("value", "expected"), [
    (10.0, 0.0), (12.0, 0.0), (6.0, 50.0), (2.0, 100.0), (0.5, 100.0), (8.0, 25.0),
])
def test_points_lower_is_better_with_clipping(value: float, expected: float) -> None:
    assert points(value, baseline=10.0, target=2.0, max_points=100) == pytest.approx(expected)


def test_scale_must_point_the_metric_way() -> None:
    assert METRICS.get("roc_auc").scale_problem(0.5, 0.9) is None
    assert "higher-is-better" in (METRICS.get("roc_auc").scale_problem(0.9, 0.5) or "")
    assert METRICS.get("rmse").scale_problem(10, 2) is None
    assert "lower-is-better" in (METRICS.get("rmse").scale_problem(2, 10) or "")


def test_prediction_problems_are_described() -> None:
    assert METRICS.get("roc_auc").prediction_problem(Y, [5.0, -3.0, 1, 1, 1, 1]) is None
    problem = METRICS.get("log_loss").prediction_problem(Y, [1.5, 0.2, 0.2, 0.2, 0.2, -0.1])
    assert problem is not None and "2 value(s) are outside [0, 1]" in problem
    problem = METRICS.get("accuracy").prediction_problem(Y, [0.7, 1, 1, 0, 1, 0])
    assert problem is not None and "not class labels (e.g. 0.7)" in problem and "0, 1" in problem


def test_log_loss_stays_finite_on_certain_wrong_predictions() -> None:
    assert math.isfinite(METRICS.get("log_loss").compute([0.0, 1.0], [1.0, 0.0]))


def test_bundle_faults_are_grader_errors() -> None:
    with pytest.raises(GraderError, match="exactly two classes"):
        METRICS.get("roc_auc").compute([1.0, 1.0], [0.2, 0.3])
    with pytest.raises(GraderError, match="2 labels but 1 predictions"):
        METRICS.get("mae").compute([1.0, 2.0], [0.2])


def test_average_precision_matches_scikit_learn_and_needs_two_classes() -> None:
    assert METRICS.get("average_precision").compute(Y, P) == pytest.approx(
        skm.average_precision_score(Y, P))
    # Labels other than 0/1 score the larger one as the positive class.
    assert METRICS.get("average_precision").compute([2.0 + y for y in Y], P) == pytest.approx(
        skm.average_precision_score(Y, P))
    with pytest.raises(GraderError, match="exactly two classes"):
        METRICS.get("average_precision").compute([0.0, 0.0], [0.2, 0.3])


def test_average_precision_punishes_hard_labels_on_rare_positives() -> None:
    # One positive in ten ranked first by a score; the same ranking cut to 0/1 labels ties
    # the positive with a false alarm, and the precision at its recall halves.
    truth = [1.0] + [0.0] * 9
    score = [0.9, 0.6] + [0.1] * 8
    hard = [1.0, 1.0] + [0.0] * 8
    metric = METRICS.get("average_precision")
    assert metric.compute(truth, score) == pytest.approx(1.0)
    assert metric.compute(truth, hard) == pytest.approx(0.5)


def test_macro_f1_weighs_every_class_the_same() -> None:
    truth = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 2.0]
    pred = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0]  # the rare class 2 is never predicted
    assert METRICS.get("macro_f1").compute(truth, pred) == pytest.approx(
        skm.f1_score(truth, pred, average="macro", zero_division=0))
    assert METRICS.get("macro_f1").compute(truth, pred) == pytest.approx((8 / 9 + 1 + 0) / 3)
    assert METRICS.get("accuracy").compute(truth, pred) > METRICS.get("macro_f1").compute(truth, pred)
    problem = METRICS.get("macro_f1").prediction_problem(truth, [0.0, 3.0, 0, 0, 1, 1, 2])
    assert problem is not None and "not class labels (e.g. 3)" in problem


def test_wape_is_total_absolute_error_over_total_volume() -> None:
    truth = [10.0, 0.0, 30.0, 60.0]
    pred = [12.0, 3.0, 30.0, 50.0]
    assert METRICS.get("wape").compute(truth, pred) == pytest.approx((2 + 3 + 0 + 10) / 100)
    assert not METRICS.get("wape").higher_is_better
    # Defined with days of zero sales, where a mean of per-row percentages is not.
    assert math.isfinite(METRICS.get("wape").compute([0.0, 5.0], [1.0, 5.0]))
    with pytest.raises(GraderError, match="not all zero"):
        METRICS.get("wape").compute([0.0, 0.0], [1.0, 2.0])
