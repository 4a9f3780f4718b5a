"""The integrity run of a graded model_training submission: once more, on perturbed inputs.

It goes through :func:`heldout.graders.evaluate.evaluate` like any grading (staging, the
guarded sandbox, faults as ``internal_error``), with the perturbed copy of the public data
bound as the variant; its score is thrown away. What it returns is an ``Evaluation`` whose
``metrics`` hold the evidence (``follow``, ``stuck`` over ``compared`` rows; ``rows`` in
the private slice) and whose ``artefacts``
hold the private slice's wrong-rows mask and the labels' key, for copied-prediction pairs.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from heldout.graders.bundle_types import Variant
from heldout.graders.kinds.base import grading_of
from heldout.graders.kinds.model_training import PREDICTIONS_ARTEFACT, ModelTrainingGrading
from heldout.graders.kinds.model_training.integrity import (
    find_test_file,
    following,
    perturb_inputs,
    wrong_rows,
)
from heldout.graders.metrics import METRICS
from heldout.graders.result import Check, Evaluation
from heldout.graders.tables import Labels, read_labels, read_predictions

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle
    from heldout.sandbox.backend import Sandbox

# What the integrity evaluation's artefacts and metrics are named.
ROW_ERRORS = "row_errors"
LABELS_KEY = "labels_key"
FOLLOW, STUCK, ROWS, COMPARED = "follow", "stuck", "rows", "compared"
# A check of this name says why the perturbed run could not be compared.
NOT_COMPARED = "not compared"


def rerun_perturbed(bundle: Bundle, submission: Path, original: bytes, *, seed: int,
                    sandbox: Sandbox | None = None) -> Evaluation:
    """Run ``submission`` on perturbed test inputs and compare with its graded
    predictions ``original`` (the bytes of its predictions file)."""
    from heldout.graders.evaluate import evaluate

    config = grading_of(bundle, ModelTrainingGrading)
    labels = read_labels(bundle.hidden_dir / config.labels, id_column=config.id_column,
                         label_column=config.label_column)
    metric = METRICS.get(config.metric)
    key = hashlib.sha256((bundle.hidden_dir / config.labels).read_bytes()).hexdigest()
    with tempfile.TemporaryDirectory(prefix="heldout-integrity-") as tmp:
        mine = _values(Path(tmp) / "original.csv", original, config, labels)
        slices = config.slices(labels, bundle.slug)
        mask = wrong_rows(metric, slices.private.values, slices.private.pick(mine))
        found = {LABELS_KEY: key.encode(), ROW_ERRORS: f"{mask:x}".encode()}
        rows = {ROWS: float(len(slices.private))}
        test_file = find_test_file(bundle.public_dir, config.id_column, labels.ids)
        if test_file is None:
            return _noted(bundle, found, rows, "no public CSV holds exactly the test ids, "
                          "so the inputs could not be perturbed")
        root = Path(tmp) / "perturbed"
        root.mkdir()
        change = perturb_inputs(bundle.public_dir, root / "public", test_file=test_file,
                                id_column=config.id_column, seed=seed)
        shutil.copytree(bundle.hidden_dir, root / "hidden")
        result = evaluate(bundle, submission, sandbox=sandbox,
                          variant=Variant(seed=seed, digest="perturbed", root=root))
        if result.status != "graded":
            return result
        produced = result.artefacts.get(PREDICTIONS_ARTEFACT)
        if produced is None:
            failed = [c.detail for c in result.checks if not c.passed]
            return _noted(bundle, found, rows, "the run on perturbed inputs gave no usable "
                          "predictions: " + ("; ".join(failed) or "no predictions file"),
                          run=result)
        now = _values(Path(tmp) / "perturbed.csv", produced, config, labels)
    compared = following(dict(zip(labels.ids, mine, strict=True)),
                         dict(zip(labels.ids, now, strict=True)), change.source,
                         labels=metric.predictions == "label")
    measured = dict(rows)
    if compared.follow is not None and compared.stuck is not None:
        measured[FOLLOW], measured[STUCK] = compared.follow, compared.stuck
        measured[COMPARED] = float(compared.rows)
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                      score=0.0, checks=result.checks[:1], metrics=measured, run=result.run,
                      artefacts=found)


def _values(path: Path, data: bytes, config: ModelTrainingGrading,
            labels: Labels) -> tuple[float, ...]:
    path.write_bytes(data)
    return read_predictions(path, shown=config.predictions, id_column=config.id_column,
                            value_column=config.prediction_column, expected_ids=labels.ids,
                            max_bytes=config.max_predictions_bytes).values


def _noted(bundle: Bundle, found: dict[str, bytes], rows: dict[str, float], why: str, *,
           run: Evaluation | None = None) -> Evaluation:
    note = Check(NOT_COMPARED, "run", False, 0.0, 0.0, why)
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                      score=0.0, checks=(note,), metrics=rows,
                      run=run.run if run is not None else None, artefacts=found)

