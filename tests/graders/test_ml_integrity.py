"""ML integrity in the model_training kind: public and private slices, the probing attack,
copied predictions and hard-coded outputs (the last two as evidence, never a score)."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from heldout.graders import Bundle, evaluate, load_bundle
from heldout.graders.kinds.model_training import PREDICTIONS_ARTEFACT, ModelTrainingGrading
from heldout.graders.kinds.model_training.integrity import (
    COPY_MIN_SHARED,
    COPY_MIN_Z,
    FOLLOW_MIN,
    error_overlap,
    following,
    perturb_inputs,
    wrong_rows,
)
from heldout.graders.kinds.model_training.rerun import FOLLOW, STUCK, rerun_perturbed
from heldout.graders.kinds.model_training.slices import Slices, split_labels
from heldout.graders.metrics import METRICS
from heldout.graders.tables import Labels
from tests.graders.conftest import FakeSandbox, predictions_sandbox

ROWS = 200


def _data(rows: int, seed: int) -> tuple[list[str], list[int], list[float], list[float]]:
    rng = random.Random(seed)
    ids = [f"r{i:03d}" for i in range(rows)]
    labels = [rng.random() < 0.4 for _ in ids]
    x1 = [round((1.2 if y else -0.8) + rng.gauss(0, 1), 4) for y in labels]
    x2 = [round(rng.gauss(0, 1), 4) for _ in ids]
    return ids, [int(y) for y in labels], x1, x2


def make_bundle(root: Path, *, rows: int = ROWS, grading: str = "") -> Bundle:
    """A model_training bundle of ``rows`` labelled test rows (x1 predicts y, x2 is noise)."""
    (root / "public").mkdir(parents=True)
    (root / "hidden").mkdir()
    (root / "starter").mkdir()
    ids, labels, x1, x2 = _data(rows, 7)
    _, train_y, train_x1, train_x2 = _data(rows, 8)
    (root / "public" / "train.csv").write_text("id,x1,x2,y\n" + "".join(
        f"t{i},{a},{b},{y}\n" for i, (a, b, y) in enumerate(zip(train_x1, train_x2, train_y, strict=True))))
    (root / "public" / "test.csv").write_text("id,x1,x2\n" + "".join(
        f"{i},{a},{b}\n" for i, a, b in zip(ids, x1, x2, strict=True)))
    (root / "hidden" / "labels.csv").write_text(
        "id,y\n" + "".join(f"{i},{y}\n" for i, y in zip(ids, labels, strict=True)))
    (root / "starter" / "solution.py").write_text("print('start')\n")
    (root / "statement.md").write_text("# Probe\n\nPredict y.\n")
    (root / "challenge.toml").write_text(f"""\
title = "Probe"
kind = "model_training"
summary = "A bundle for the integrity tests."
skills = ["classification"]
difficulty = "easy"
expected_minutes = 10

[submission]
entrypoint = "solution.py"

[limits]
wall_seconds = 30
memory_mb = 256

[grading]
metric = "roc_auc"
baseline = 0.5
target = 0.9
id_column = "id"
prediction_column = "p"
label_column = "y"
{grading}
""")
    return load_bundle(root)


def _csv(ids: list[str], values: list[float]) -> str:
    return "id,p\n" + "".join(f"{i},{v}\n" for i, v in zip(ids, values, strict=True))


def _sub(tmp_path: Path) -> Path:
    """A submission directory (the stand-in sandbox ignores its code)."""
    work = tmp_path / "sub"
    work.mkdir(exist_ok=True)
    (work / "solution.py").write_text("print('predict')\n")
    return work


def _labels(bundle: Bundle) -> Labels:
    from heldout.graders.tables import read_labels

    return read_labels(bundle.hidden_dir / "labels.csv", id_column="id", label_column="y")


def _split(bundle: Bundle) -> tuple[Labels, Slices]:
    """The bundle's labels and their public and private slices."""
    labels = _labels(bundle)
    config = bundle.grading
    assert isinstance(config, ModelTrainingGrading)
    return labels, config.slices(labels, bundle.slug)


# --- the slices ----------------------------------------------------------------------


def test_slices_are_disjoint_cover_every_row_and_do_not_depend_on_row_order() -> None:
    ids = tuple(f"c{i}" for i in range(1000))
    labels = Labels(ids, tuple(float(i % 3 == 0) for i in range(1000)))
    slices = split_labels(labels, fraction=0.3, seed="v1")
    public, private = set(slices.public.ids), set(slices.private.ids)
    assert len(public) == 300 and len(private) == 700
    assert not public & private and public | private == set(ids)
    reordered = Labels(ids[::-1], labels.values[::-1])
    assert set(split_labels(reordered, fraction=0.3, seed="v1").public.ids) == public
    assert set(split_labels(labels, fraction=0.3, seed="v2").public.ids) != public
    assert split_labels(labels, fraction=0.0, seed="v1").public.ids == ()
    # Values follow their ids whatever the order.
    assert all(labels.values[ids.index(i)] == v
               for i, v in zip(slices.private.ids, slices.private.values, strict=True))


def test_public_checks_score_the_public_slice_and_the_final_score_the_private_one(
        tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "probe")
    labels = _labels(bundle)
    config = bundle.grading
    assert isinstance(config, ModelTrainingGrading)
    slices = config.slices(labels, bundle.slug)
    public = set(slices.public.ids)
    # Right on every private row, inverted on every public one.
    values = [(1 - y) if i in public else y for i, y in zip(labels.ids, labels.values, strict=True)]
    text = _csv(list(labels.ids), values)
    final = evaluate(bundle, _sub(tmp_path), sandbox=predictions_sandbox(text))
    shown = evaluate(bundle, _sub(tmp_path), sandbox=predictions_sandbox(text), split="public")
    assert final.metrics["roc_auc"] == 1.0 and final.score == 100
    assert shown.metrics["roc_auc"] == 0.0 and shown.score == 0
    (metric,) = [c for c in shown.checks if c.name == "roc_auc"]
    assert f"on the public slice ({len(public)} of {ROWS} test rows" in metric.detail
    assert "rounded to 2 decimals" in metric.detail
    (fmt,) = [c for c in shown.checks if c.name == "predictions"]
    assert fmt.passed and fmt.max_score == 0  # the format earns no points: not a score
    # The graded run keeps its predictions for the integrity run; a public run keeps none.
    assert final.artefacts[PREDICTIONS_ARTEFACT] == text.encode()
    assert not shown.artefacts


def test_public_metric_is_rounded(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "probe", grading="public_decimals = 1")
    labels = _labels(bundle)
    rng = random.Random(3)
    values = [round(y * 0.3 + rng.random() * 0.7, 4) for y in labels.values]
    shown = evaluate(bundle, _sub(tmp_path), sandbox=predictions_sandbox(
        _csv(list(labels.ids), values)), split="public")
    value = shown.metrics["roc_auc"]
    assert value == round(value, 1)


def test_format_only_public_checks_say_so(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "probe", grading="public_fraction = 0")
    labels = _labels(bundle)
    shown = evaluate(bundle, _sub(tmp_path), sandbox=predictions_sandbox(
        _csv(list(labels.ids), list(labels.values))), split="public")
    assert [c.name for c in shown.checks] == ["run", "predictions"]
    assert "format only: public checks use no labels, so they give no score" in \
        shown.checks[1].detail
    assert shown.metrics == {}


def test_budget_and_overrides_are_read_from_the_bundle(tmp_path: Path) -> None:
    plain = make_bundle(tmp_path / "a")
    assert plain.grading.public_run_budget == 20
    tuned = make_bundle(tmp_path / "b", grading='public_runs = 5\npublic_fraction = 0.5\n'
                        'public_seed = "fixed"')
    assert tuned.grading.public_run_budget == 5
    config = tuned.grading
    assert isinstance(config, ModelTrainingGrading)
    assert len(config.slices(_labels(tuned), tuned.slug).public) == ROWS // 2
    from heldout.graders.errors import BundleError

    with pytest.raises(BundleError, match="public_fraction"):
        make_bundle(tmp_path / "c", grading="public_fraction = 1")


# --- the probing attack --------------------------------------------------------------


def _attack(bundle: Bundle, run: object) -> tuple[dict[str, int], float]:
    """Flip one prediction per public run and read the public score: the attacker's guess
    of each row's label (1: the score rose, 0: it fell, -1: no change) and the baseline."""
    labels = _labels(bundle)
    ids = list(labels.ids)
    base = [0.5] * len(ids)

    def public_score(values: list[float]) -> float:
        result = run(_csv(ids, values))  # type: ignore[operator]
        assert result.status == "graded"
        return float(result.metrics["roc_auc"])

    start = public_score(base)
    guesses: dict[str, int] = {}
    for i, row in enumerate(ids):
        flipped = base[:]
        flipped[i] = 1.0
        moved = public_score(flipped) - start
        guesses[row] = 1 if moved > 0 else 0 if moved < 0 else -1
    return guesses, start


def test_probing_attack_learns_nothing_about_the_private_labels(tmp_path: Path) -> None:
    """One public run per test row, each with that row's prediction flipped (the whole
    attack, through the kind's real grading code; the sandbox only writes the file)."""
    bundle = make_bundle(tmp_path / "probe")
    labels, slices = _split(bundle)
    truth = dict(zip(labels.ids, labels.values, strict=True))

    guesses, _ = _attack(bundle, lambda text: evaluate(
        bundle, _sub(tmp_path), sandbox=predictions_sandbox(text), split="public"))

    public, private = slices.public.ids, slices.private.ids
    learnt_public = sum(1 for i in public if guesses[i] == truth[i])
    # The public slice's own labels leak (the rounding slows it, the budget caps it)...
    assert learnt_public == len(public) == 60
    # ...but a flip on a private row never moves the public score: not one bit about it.
    assert all(guesses[i] == -1 for i in private)
    # The attacker's best use of it: public rows exact, private rows guessed by the public
    # base rate. The final score (private slice) of that submission is chance.
    rate = sum(truth[i] for i in public) / len(public)
    exploit = [truth[i] if i in set(public) else rate for i in labels.ids]
    final = evaluate(bundle, _sub(tmp_path), sandbox=predictions_sandbox(
        _csv(list(labels.ids), exploit)))
    assert final.metrics["roc_auc"] == 0.5 and final.score == 0


@pytest.mark.docker
def test_probing_attack_in_the_real_sandbox(sandbox_image: str, tmp_path: Path) -> None:
    """The same attack through the real sandbox, on a few rows of each slice: each run is
    a candidate program writing the predictions with one row flipped."""
    bundle = make_bundle(tmp_path / "probe")
    labels, slices = _split(bundle)
    truth = dict(zip(labels.ids, labels.values, strict=True))
    chosen = list(slices.public.ids[:3]) + list(slices.private.ids[:3])
    work = tmp_path / "submission"
    work.mkdir()

    def run(flip: str | None) -> tuple[float, tuple[object, ...]]:
        (work / "solution.py").write_text(
            "import csv\n"
            f"FLIP = {flip!r}\n"
            "ids = [row['id'] for row in csv.DictReader(open('/data/test.csv'))]\n"
            "with open('/output/predictions.csv', 'w') as out:\n"
            "    out.write('id,p\\n')\n"
            "    out.writelines(f'{i},{1.0 if i == FLIP else 0.5}\\n' for i in ids)\n")
        result = evaluate(bundle, work, split="public")
        assert result.status == "graded", result.error
        metric = [c for c in result.checks if c.name == "roc_auc"]
        return result.metrics["roc_auc"], (result.score, metric[0].detail)

    start, shown = run(None)
    for row in chosen:
        value, seen = run(row)
        if row in set(slices.private.ids):
            assert (value, seen) == (start, shown), row  # exactly what the baseline showed
        else:
            assert (value > start) == (truth[row] == 1.0), row


# --- copied predictions --------------------------------------------------------------


def _model(truth: list[float], accuracy: float, rng: random.Random) -> list[float]:
    """Probabilities right on about ``accuracy`` of the rows, errors independent."""
    return [round((t if rng.random() < accuracy else 1 - t) * 0.6 + rng.random() * 0.4, 4)
            for t in truth]


def test_a_copied_pair_is_flagged_and_honest_pairs_of_the_same_accuracy_are_not() -> None:
    metric = METRICS.get("roc_auc")
    rows = 1000
    flagged_copies = flagged_honest = flagged_correlated = 0
    z_honest: list[float] = []
    for seed in range(20):
        rng = random.Random(seed)
        truth = [float(rng.random() < 0.3) for _ in range(rows)]
        a = _model(truth, 0.8, rng)
        # A copy: a's predictions with 5 % of them redrawn, so not byte-identical.
        copy = [round(rng.random(), 4) if rng.random() < 0.05 else v for v in a]
        honest = _model(truth, 0.8, rng)
        # Honest models share hard rows: the same 10 % of rows mislead both.
        hard = {i for i in range(rows) if rng.random() < 0.1}
        b1 = [1 - t if i in hard else t for i, t in enumerate(truth)]
        c1 = _model(b1, 0.85, rng)
        c2 = _model(b1, 0.85, rng)
        masks = {name: wrong_rows(metric, truth, values) for name, values in
                 (("a", a), ("copy", copy), ("honest", honest), ("c1", c1), ("c2", c2))}
        flagged_copies += error_overlap(masks["a"], masks["copy"], rows).flagged
        pair = error_overlap(masks["a"], masks["honest"], rows)
        flagged_honest += pair.flagged
        z_honest.append(pair.z)
        flagged_correlated += error_overlap(masks["c1"], masks["c2"], rows).flagged
    assert flagged_copies == 20
    assert flagged_honest == 0 and flagged_correlated == 0
    assert max(z_honest) < COPY_MIN_Z


def test_overlap_statistic_is_explained() -> None:
    overlap = error_overlap(0b1111_0000, 0b1111_0000, 100)
    assert overlap.shared == 4 and overlap.expected == pytest.approx(0.16)
    assert overlap.z == pytest.approx((4 - 0.16) / math.sqrt(100 * 0.0016 * (1 - 0.0016)))
    assert overlap.shared_share == 1.0 >= COPY_MIN_SHARED
    assert "4 wrong rows in common of 4 and 4 (out of 100); 0.2 expected" in overlap.explain()


def test_wrong_rows_ignore_calibration() -> None:
    metric = METRICS.get("roc_auc")
    truth = [1.0, 0.0, 1.0, 0.0, 0.0]
    # Every probability below 0.5, but the top two by score are the positives: no error.
    assert wrong_rows(metric, truth, [0.4, 0.1, 0.3, 0.2, 0.05]) == 0
    assert wrong_rows(METRICS.get("accuracy"), [1.0, 2.0, 3.0], [1.0, 3.0, 3.0]) == 0b010


# --- hard-coded outputs --------------------------------------------------------------


def test_following_tells_inputs_from_ids() -> None:
    ids = [f"r{i}" for i in range(100)]
    rng = random.Random(1)
    original = {i: rng.random() for i in ids}
    donors = ids[:]
    rng.shuffle(donors)
    source = dict(zip(ids, donors, strict=True))
    reads_inputs = {i: original[source[i]] for i in ids}
    by_id = dict(original)
    read = following(original, reads_inputs, source, labels=False)
    kept = following(original, by_id, source, labels=False)
    assert read.follow == pytest.approx(1.0) and not read.flagged
    assert kept.stuck == pytest.approx(1.0) and kept.follow is not None
    assert kept.follow < FOLLOW_MIN and kept.flagged
    constant = following({i: 0.5 for i in ids}, {i: 0.5 for i in ids}, source, labels=False)
    assert constant.follow is None and not constant.flagged
    assert "nothing to compare" in constant.explain()


def test_perturbed_inputs_move_features_to_other_ids(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "probe")
    change = perturb_inputs(bundle.public_dir, tmp_path / "out", test_file="test.csv",
                            id_column="id", seed=5)
    assert change.noised_column == "x1"
    before = (bundle.public_dir / "test.csv").read_text().splitlines()
    after = (tmp_path / "out" / "test.csv").read_text().splitlines()
    assert before[0] == after[0] and sorted(before[1:]) != sorted(after[1:])
    assert {line.split(",")[0] for line in before[1:]} == {line.split(",")[0] for line in after[1:]}
    rows = {line.split(",")[0]: line.split(",")[1:] for line in before[1:]}
    moved = {line.split(",")[0]: line.split(",")[1:] for line in after[1:]}
    for row_id, features in moved.items():
        donor = rows[change.source[row_id]]
        assert features[1] == donor[1]  # x2 travels with its row, unchanged
        assert float(features[0]) == pytest.approx(float(donor[0]), abs=0.2)  # x1 noised
    assert sum(1 for i in moved if change.source[i] != i) > ROWS * 0.9
    assert (tmp_path / "out" / "train.csv").read_bytes() == \
        (bundle.public_dir / "train.csv").read_bytes()


GENUINE = """\
import csv, math
rows = list(csv.DictReader(open('/data/test.csv')))
with open('/output/predictions.csv', 'w') as out:
    out.write('id,p\\n')
    for row in rows:
        out.write(f"{row['id']},{1 / (1 + math.exp(-float(row['x1']))):.6f}\\n")
"""


def _hard_coded_by_id(bundle: Bundle) -> str:
    labels = _labels(bundle)
    table = {i: round(0.2 + 0.6 * y + 0.01 * (n % 7), 3)
             for n, (i, y) in enumerate(zip(labels.ids, labels.values, strict=True))}
    return ("ANSWERS = " + repr(table) + "\n"
            "with open('/output/predictions.csv', 'w') as out:\n"
            "    out.write('id,p\\n')\n"
            "    out.writelines(f'{i},{p}\\n' for i, p in ANSWERS.items())\n")


def _hard_coded_by_position(bundle: Bundle) -> str:
    labels = _labels(bundle)
    values = [round(0.2 + 0.6 * y + 0.01 * (n % 7), 3) for n, y in enumerate(labels.values)]
    return ("import csv\n"
            "VALUES = " + repr(values) + "\n"
            "ids = [row['id'] for row in csv.DictReader(open('/data/test.csv'))]\n"
            "with open('/output/predictions.csv', 'w') as out:\n"
            "    out.write('id,p\\n')\n"
            "    out.writelines(f'{i},{p}\\n' for i, p in zip(ids, VALUES, strict=True))\n")


@pytest.mark.docker
@pytest.mark.parametrize("case", ["genuine", "by id", "by position"])
def test_hard_coded_outputs_are_flagged_in_the_real_sandbox(
        sandbox_image: str, tmp_path: Path, case: str) -> None:
    bundle = make_bundle(tmp_path / "probe")
    code = {"genuine": GENUINE, "by id": _hard_coded_by_id(bundle),
            "by position": _hard_coded_by_position(bundle)}[case]
    work = tmp_path / "submission"
    work.mkdir()
    (work / "solution.py").write_text(code)
    graded = evaluate(bundle, work)
    assert graded.status == "graded", graded.error
    if case != "genuine":
        assert graded.score == 100  # hard-coded answers: full marks, hence the evidence
    result = rerun_perturbed(bundle, work, graded.artefacts[PREDICTIONS_ARTEFACT], seed=11)
    assert result.status == "graded", result.error
    follow, stuck = result.metrics[FOLLOW], result.metrics[STUCK]
    if case == "genuine":
        assert follow > 0.95 and stuck < 0.3, (follow, stuck)
    elif case == "by id":
        assert follow < FOLLOW_MIN and stuck == pytest.approx(1.0), (follow, stuck)
    else:
        assert follow < FOLLOW_MIN and stuck < FOLLOW_MIN, (follow, stuck)


def test_rerun_is_a_platform_error_when_the_sandbox_fails(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "probe")
    labels = _labels(bundle)
    original = _csv(list(labels.ids), list(labels.values)).encode()

    from heldout.sandbox.errors import SandboxError

    result = rerun_perturbed(bundle, _sub(tmp_path), original, seed=1,
                             sandbox=FakeSandbox(error=SandboxError("engine gone")))
    assert result.status == "internal_error" and "engine gone" in (result.error or "")


def test_rerun_without_a_test_file_says_why(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "probe")
    (bundle.public_dir / "test.csv").rename(bundle.public_dir / "test.txt")
    labels = _labels(bundle)
    original = _csv(list(labels.ids), list(labels.values)).encode()
    result = rerun_perturbed(bundle, _sub(tmp_path), original, seed=1, sandbox=FakeSandbox())
    assert result.status == "graded" and FOLLOW not in result.metrics
    assert "no public CSV holds exactly the test ids" in result.checks[0].detail
