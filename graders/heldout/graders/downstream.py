"""Fixed downstream models that turn a candidate's feature tables into test predictions.

A feature-engineering bundle names one of these; the grader trains it on the host with a
fixed seed and bounded work, so two submissions differ only by their features. numpy and
scikit-learn are imported when a model is built or used, never by this module.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from heldout.graders.errors import CandidateOutputError
from heldout.graders.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from heldout.graders.metrics import Metric

    Matrix: TypeAlias = npt.NDArray[np.float64]
SEED = 0


@dataclass(frozen=True)
class DownstreamModel:
    """A classifier with fixed settings, built fresh for every grade."""

    name: str
    summary: str
    build: Callable[[], Any]

    def predictions(self, metric: Metric, train: Matrix, labels: Matrix, test: Matrix) -> Matrix:
        """Fit on ``train``/``labels`` and predict ``test`` in the form ``metric`` needs.

        Features a model can't learn from (values too large to scale, say) are the
        candidate's fault: ``CandidateOutputError``.
        """
        import numpy as np
        from threadpoolctl import threadpool_limits

        model = self.build()
        try:
            # One thread keeps results identical on every host and leaves cores to the sandbox;
            # convergence warnings say nothing an interviewer can act on.
            with threadpool_limits(limits=1), warnings.catch_warnings(), \
                    np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                model.fit(train, labels)
                if metric.predictions == "label":
                    predicted = model.predict(test)
                else:
                    positive = list(model.classes_).index(float(np.max(labels)))
                    predicted = model.predict_proba(test)[:, positive]
        except (ValueError, FloatingPointError, OverflowError) as exc:
            raise CandidateOutputError(
                f"the {self.name} model could not be trained on these features: {exc}") from exc
        result = np.asarray(predicted, dtype=np.float64)
        if not np.all(np.isfinite(result)):
            raise CandidateOutputError(f"the {self.name} model's predictions are not finite "
                                       "on these features (values too large?)")
        return result


def _logistic_regression() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(),
                         LogisticRegression(C=1.0, max_iter=500, random_state=SEED))


def _gradient_boosting() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.1, max_leaf_nodes=31,
                                          early_stopping=False, random_state=SEED)


MODELS: Registry[DownstreamModel] = Registry("downstream model")
MODELS.register(DownstreamModel(
    "logistic_regression", "standard scaling, then L2 logistic regression (C=1, 500 iterations)",
    _logistic_regression))
MODELS.register(DownstreamModel(
    "gradient_boosting", "histogram gradient boosting (200 trees of 31 leaves, rate 0.1)",
    _gradient_boosting))
