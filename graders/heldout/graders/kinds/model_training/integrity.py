"""Integrity evidence for model_training: copied predictions and hard-coded outputs.

Neither changes a score: each is a number with its reason, for an interviewer to weigh.

*Copied predictions.* Two honest models of the same data miss some rows in common; two
candidates whose wrong rows on the private slice overlap far beyond what their error rates
imply likely share predictions. Under independence the shared count of two candidates with
``a`` and ``b`` wrong rows of ``n`` has mean ``a*b/n`` and variance ``n*p*(1-p)`` with
``p = (a/n)*(b/n)``; ``z`` is how many standard deviations the observed overlap lies above.
Models of one data set make correlated mistakes (hard rows are hard for everyone), so a
pair is flagged only when ``z`` is large *and* most of both candidates' mistakes are shared.

*Hard-coded outputs.* The graded submission runs once more on a perturbed copy of the test
inputs: the rows shuffled and each id handed another row's features (one numeric column
slightly noised). A model that reads its inputs moves its predictions with the features;
predictions kept by id (or by position) do not follow.
"""

from __future__ import annotations

import csv
import io
import math
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from heldout.graders.metrics import Metric

# Copied predictions: both must hold for a flag.
COPY_MIN_Z = 6.0
COPY_MIN_SHARED = 0.8  # the shared wrong rows over the union of both candidates' wrong rows
# Hard-coded outputs: predictions on the perturbed inputs must agree this well with the
# original predictions of the rows whose features they were given.
FOLLOW_MIN = 0.5
# A numeric column is noised by this share of its standard deviation.
NOISE_SHARE = 0.01
MAX_INPUT_BYTES = 64 * 1024 * 1024


# --- copied predictions --------------------------------------------------------------


def wrong_rows(metric: Metric, truth: Sequence[float], predictions: Sequence[float]) -> int:
    """A bit per row (bit ``i`` for row ``i``), set where the prediction is wrong.

    Class labels: the prediction differs. Scores or probabilities of a binary label: the
    rows in the candidate's top ``k`` by score (``k`` the number of positives) are its
    positive calls, so calibration doesn't matter. Numbers: the candidate's worst quarter
    of absolute errors.
    """
    n = len(truth)
    wrong: list[bool]
    if metric.predictions == "label":
        wrong = [p != t for t, p in zip(truth, predictions, strict=True)]
    elif metric.predictions in ("score", "probability") and len(set(truth)) == 2:
        positive = max(truth)
        k = sum(1 for t in truth if t == positive)
        ranked = sorted(range(n), key=lambda i: (-predictions[i], i))
        called = set(ranked[:k])
        wrong = [(i in called) != (truth[i] == positive) for i in range(n)]
    else:
        errors = [abs(p - t) for t, p in zip(truth, predictions, strict=True)]
        cut = sorted(errors)[min(n - 1, (3 * n) // 4)] if n else 0.0
        wrong = [e >= cut and e > 0 for e in errors]
    return sum(1 << i for i, w in enumerate(wrong) if w)


@dataclass(frozen=True)
class Overlap:
    """Two candidates' wrong rows on the same ``rows`` labelled rows."""

    rows: int
    wrong_a: int
    wrong_b: int
    shared: int
    expected: float
    z: float
    shared_share: float  # shared / union of both candidates' wrong rows

    @property
    def flagged(self) -> bool:
        return self.z >= COPY_MIN_Z and self.shared_share >= COPY_MIN_SHARED

    def explain(self) -> str:
        return (f"{self.shared} wrong rows in common of {self.wrong_a} and {self.wrong_b} "
                f"(out of {self.rows}); {self.expected:.1f} expected if their mistakes were "
                f"independent (z = {self.z:.1f}); {self.shared_share:.0%} of their wrong rows "
                "are shared")


def error_overlap(a: int, b: int, rows: int) -> Overlap:
    """The overlap of two ``wrong_rows`` masks over the same ``rows`` rows."""
    wrong_a, wrong_b = a.bit_count(), b.bit_count()
    shared = (a & b).bit_count()
    union = (a | b).bit_count()
    p = (wrong_a / rows) * (wrong_b / rows) if rows else 0.0
    expected = rows * p
    spread = math.sqrt(rows * p * (1 - p))
    z = (shared - expected) / spread if spread > 0 else 0.0
    return Overlap(rows, wrong_a, wrong_b, shared, expected, z,
                   shared / union if union else 0.0)


# --- hard-coded outputs ---------------------------------------------------------------


@dataclass(frozen=True)
class Perturbation:
    """What was changed: ``source[id]`` is the id whose features ``id`` was given."""

    test_file: str
    source: Mapping[str, str]
    noised_column: str | None


def find_test_file(public_dir: Path, id_column: str, ids: Sequence[str]) -> str | None:
    """The public CSV whose ``id_column`` holds exactly the labelled ids (the test inputs)."""
    wanted = set(ids)
    for path in sorted(public_dir.glob("*.csv")):
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_INPUT_BYTES:
            continue
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            if id_column not in header:
                continue
            at = header.index(id_column)
            found = {row[at].strip() for row in reader if len(row) > at}
        if found == wanted:
            return path.name
    return None


def perturb_inputs(public_dir: Path, target: Path, *, test_file: str, id_column: str,
                   seed: int) -> Perturbation:
    """Copy ``public_dir`` to ``target`` with its test file perturbed (see the module)."""
    shutil.copytree(public_dir, target, symlinks=False)
    text = (public_dir / test_file).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], [row for row in rows[1:] if row]
    at = header.index(id_column)
    rng = random.Random(seed)
    order = list(range(len(body)))
    rng.shuffle(order)          # rows in a new order...
    donors = order[:]
    rng.shuffle(donors)         # ...and each id given another row's features
    shuffled: list[list[str]] = []
    source: dict[str, str] = {}
    for place, donor in zip(order, donors, strict=True):
        row = list(body[donor])
        row[at] = body[place][at]
        source[body[place][at].strip()] = body[donor][at].strip()
        shuffled.append(row)
    noised = _noise_a_column(header, shuffled, skip=at, rng=rng)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(shuffled)
    (target / test_file).write_text(out.getvalue(), encoding="utf-8")
    return Perturbation(test_file, source, noised)


def _noise_a_column(header: list[str], rows: list[list[str]], *, skip: int,
                    rng: random.Random) -> str | None:
    """Add a little noise to the first column (not the id) whose cells are all numbers."""
    for column in range(len(header)):
        if column == skip:
            continue
        try:
            numbers = [float(row[column]) for row in rows if row[column].strip()]
        except ValueError:
            continue
        if len(numbers) < 2:
            continue
        mean = sum(numbers) / len(numbers)
        spread = math.sqrt(sum((x - mean) ** 2 for x in numbers) / len(numbers))
        if spread == 0:
            continue
        for row in rows:
            if row[column].strip():
                row[column] = f"{float(row[column]) + rng.gauss(0.0, NOISE_SHARE * spread):.6g}"
        return header[column]
    return None


@dataclass(frozen=True)
class Following:
    """How the predictions on perturbed inputs relate to the original ones.

    ``follow``: agreement with the original prediction of the row whose features each id
    got (a model reading its inputs: near 1). ``stuck``: agreement with the id's own
    original prediction (predictions kept by id: near 1). None: nothing to compare.
    """

    follow: float | None
    stuck: float | None
    rows: int

    @property
    def flagged(self) -> bool:
        return self.follow is not None and self.follow < FOLLOW_MIN

    def explain(self) -> str:
        if self.follow is None or self.stuck is None:
            return "the predictions do not vary, so there is nothing to compare"
        return (f"on inputs with the rows shuffled and the features moved to other ids, the "
                f"predictions agree {self.follow:.2f} with the moved features (a model reading "
                f"its inputs: near 1) and {self.stuck:.2f} with the ids (kept by id: near 1), "
                f"over {self.rows} rows")


def following(original: Mapping[str, float], perturbed: Mapping[str, float],
              source: Mapping[str, str], *, labels: bool) -> Following:
    """Compare predictions (by id) on the original and the perturbed inputs.

    ``labels``: class predictions, compared by the share of equal values; numbers and
    scores by rank correlation (Spearman's), which ignores a monotone change of scale.
    """
    ids = [i for i in perturbed if i in original and source.get(i) in original]
    now = [perturbed[i] for i in ids]
    moved = [original[source[i]] for i in ids]
    kept = [original[i] for i in ids]
    if len(ids) < 3 or len(set(now)) < 2 or len(set(kept)) < 2:
        return Following(None, None, len(ids))
    if labels:
        return Following(_agreement(now, moved), _agreement(now, kept), len(ids))
    return Following(_spearman(now, moved), _spearman(now, kept), len(ids))


def _agreement(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(1 for x, y in zip(a, b, strict=True) if x == y) / len(a)


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            ranks[order[k]] = (start + end) / 2
        start = end + 1
    return ranks


def _spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra, rb = _ranks(a), _ranks(b)
    n = len(ra)
    ma, mb = sum(ra) / n, sum(rb) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    va = math.sqrt(sum((x - ma) ** 2 for x in ra))
    vb = math.sqrt(sum((y - mb) ** 2 for y in rb))
    return 0.0 if va == 0 or vb == 0 else cov / (va * vb)
