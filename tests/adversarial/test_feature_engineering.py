"""Hostile feature transforms in the real sandbox: hunting for the hidden labels, forging the
harness's output files, hanging, and encoding ids or row order to recover labels."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from pathlib import Path

import pytest

from heldout.graders import evaluate
from heldout.graders.bundle import Bundle, load_bundle
from heldout.graders.result import Evaluation

pytestmark = pytest.mark.docker

REPO_CHALLENGES = Path(__file__).resolve().parents[2] / "challenges"
SLUG = "late-delivery-features"
ANSWER_CANARY = "answer-canary-5f0c9e"  # only in hidden/ answer files
INPUT_CANARY = "P9999"  # a postcode planted in the hidden test *features*: must be seen


@pytest.fixture
def bundle(tmp_path: Path, sandbox_image: str) -> Bundle:
    """The real challenge with canaries: one in its answers, one in the fed test features."""
    root = tmp_path / SLUG
    shutil.copytree(REPO_CHALLENGES / SLUG, root)
    labels = root / "hidden" / "labels.csv"
    lines = labels.read_text().splitlines()
    labels.write_text("\n".join([lines[0] + ",note",
                                 *(f"{line},{ANSWER_CANARY}" for line in lines[1:])]) + "\n")
    (root / "hidden" / "notes.txt").write_text(f"{ANSWER_CANARY}\n")
    test = root / "hidden" / "test.csv"
    rows = test.read_text().splitlines()
    cells = rows[1].split(",")
    cells[6] = INPUT_CANARY
    rows[1] = ",".join(cells)
    test.write_text("\n".join(rows) + "\n")
    loaded = load_bundle(root)
    return dataclasses.replace(loaded, limits=dataclasses.replace(loaded.limits, wall_seconds=30))


def _grade(bundle: Bundle, tmp_path: Path, source: str) -> Evaluation:
    submission = tmp_path / "submission"
    submission.mkdir(exist_ok=True)
    (submission / "features.py").write_text(textwrap.dedent(source))
    result = evaluate(bundle, submission)
    assert result.status == "graded", result.error
    return result


def _check(result: Evaluation, name: str) -> tuple[bool, str]:
    check = next(c for c in result.checks if c.name == name)
    return check.passed, check.detail


HUNT = '''
import gc, os, sys

# Stored reversed (and un-reversed only while comparing; a literal's [::-1] would be folded
# at compile time), so this module's own source and objects never hold what it looks for.
REVERSED = {{"answer": "{answer}", "control": "{control}"}}
found = set()

def look(text):
    for name, reverse in REVERSED.items():
        if "".join(reversed(reverse)) in text:
            found.add(name)

def hunt():
    look(repr(dict(os.environ)))
    for top in ("/harness", "/data", "/workspace", "/tmp", "/output", "/opt", "/run", "/etc"):
        for dirpath, _, files in os.walk(top):
            for name in files:
                try:
                    with open(os.path.join(dirpath, name), "rb") as handle:
                        look(handle.read(50_000_000).decode("utf-8", "replace"))
                except OSError:
                    pass
    for obj in gc.get_objects():
        try:
            look(repr(obj)[:100_000])
        except Exception:
            pass
    frame = sys._getframe()
    while frame is not None:
        look(repr(frame.f_locals)[:1_000_000])
        frame = frame.f_back
    try:
        look(open("/proc/self/cmdline", "rb").read().decode("utf-8", "replace"))
    except OSError:
        pass

def transform(df):
    look(df.to_csv())
    hunt()
    print("FOUND:" + ",".join(sorted(found)), flush=True)
    return df[["items"]]
'''


def test_hidden_answers_are_unreachable_but_the_fed_features_are_seen(bundle: Bundle,
                                                                     tmp_path: Path) -> None:
    hunt = HUNT.format(answer=ANSWER_CANARY[::-1], control=INPUT_CANARY[::-1])
    result = _grade(bundle, tmp_path, hunt)
    assert result.run is not None
    found = [line for line in result.run.stdout_tail.splitlines() if line.startswith("FOUND:")]
    assert len(found) == 2, result.run.stdout_tail[-500:]  # training call, then test call
    assert "control" in found[1], "the hunt is blind: it missed the planted test feature"
    assert all("answer" not in line for line in found), found


FORGE = '''
import atexit, os

def forge():
    {action}

atexit.register(forge)

def transform(df):
    return df[["items"]].astype(float)
'''


@pytest.mark.parametrize(("action", "check", "message"), [
    ('os.remove("/output/train_features.csv"); '
     'os.symlink("/harness/test.csv", "/output/train_features.csv")',
     "features", "train_features.csv"),
    ('open("/output/test_features.csv", "w").write("__row__,items\\n" + "0,1\\n" * 9_000_000)',
     "features", "test_features.csv"),
    ('open("/output/test_features.csv", "w").write("__row__,items\\n" + '
     '"".join(f"{i},nan\\n" if i % 2 else f"{i},inf\\n" for i in range(2000)))',
     "finite", "'items' (2000)"),
    ('open("/output/test_features.csv", "w").write("__row__,items\\n0,1\\n")',
     "rows", "has 1 rows, the input had 2000"),
    ('open("/output/train_features.csv", "w").write("__row__,items\\n" + '
     '"".join(f"{i},many\\n" for i in range(4000)))',
     "numeric", "'many'"),
])
def test_forged_output_files_are_graded_zero(bundle: Bundle, tmp_path: Path, action: str,
                                              check: str, message: str) -> None:
    result = _grade(bundle, tmp_path, FORGE.format(action=action))
    assert result.score == 0
    passed, detail = _check(result, check)
    assert not passed and message in detail, detail


def test_text_columns_are_refused_with_their_names(bundle: Bundle, tmp_path: Path) -> None:
    result = _grade(bundle, tmp_path, "def transform(df):\n    return df[['items', 'carrier']]\n")
    assert result.score == 0
    passed, detail = _check(result, "numeric")
    assert not passed and "'carrier'" in detail


def test_a_transform_that_hangs_is_stopped_and_graded_zero(bundle: Bundle,
                                                          tmp_path: Path) -> None:
    quick = dataclasses.replace(bundle, limits=dataclasses.replace(bundle.limits, wall_seconds=5))
    submission = tmp_path / "hang"
    submission.mkdir()
    (submission / "features.py").write_text("def transform(df):\n    while True:\n        pass\n")
    result = evaluate(quick, submission)
    assert result.status == "graded" and result.score == 0
    assert result.run is not None and result.run.timed_out is True
    passed, detail = _check(result, "run")
    assert not passed and "time limit" in detail


PEEK = '''
import pandas as pd

class transform:
    """Remembers labels by id, by row position, and by id rank: all useless on unseen rows."""

    def fit(self, df, y):
        self.by_id = dict(zip(df["order_id"], y))
        self.by_row = list(y)
        ranks = df["order_id"].rank(pct=True)
        self.rank_rate = y.groupby(pd.cut(ranks, 20, labels=False)).mean()
        return self

    def transform(self, df):
        out = pd.DataFrame(index=df.index)
        out["id_label"] = df["order_id"].map(self.by_id).fillna(-1)
        out["row_label"] = [self.by_row[i % len(self.by_row)] for i in range(len(df))]
        ranks = pd.cut(df["order_id"].rank(pct=True), 20, labels=False)
        out["rank_rate"] = ranks.map(self.rank_rate).astype(float)
        out["position"] = range(len(df))
        out["order_id"] = df["order_id"]
        return out
'''


def test_a_transform_that_peeks_at_ids_and_row_order_scores_at_baseline(
        bundle: Bundle, tmp_path: Path) -> None:
    result = _grade(bundle, tmp_path, PEEK)
    assert result.score == 0
    assert result.metrics["roc_auc"] < 0.6, result.checks
