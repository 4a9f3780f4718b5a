"""``heldout import codabench|nbgrader``: bundles made here from the public formats' docs,
imported, validated and graded by ``heldout challenges check``; every bad input refused with
one line naming the file, and nothing left under the challenges directory."""

from __future__ import annotations

import io
import json
import random
import stat
import zipfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from click.testing import CliRunner, Result

from heldout.graders import load_bundle
from heldout.graders.errors import ImportRefused
from heldout.graders.importers import archive
from heldout.platform.cli import main

SOLUTION = b'''\
import os
import pandas as pd
from sklearn.linear_model import LogisticRegression

data, out = os.environ["HELDOUT_DATA"], os.environ["HELDOUT_OUTPUT"]
train = pd.read_csv(f"{data}/train.csv")
test = pd.read_csv(f"{data}/test.csv")
model = LogisticRegression().fit(train[["x1", "x2"]], train["y"])
test["y"] = model.predict_proba(test[["x1", "x2"]])[:, 1]
test[["id", "y"]].to_csv(f"{out}/predictions.csv", index=False)
'''
STARTING_KIT = b'''\
import os
import pandas as pd

test = pd.read_csv(os.path.join(os.environ["HELDOUT_DATA"], "test.csv"))
test["y"] = 0.5  # replace with a model
test[["id", "y"]].to_csv(os.path.join(os.environ["HELDOUT_OUTPUT"], "predictions.csv"), index=False)
'''
SCORE_PY = b'''\
import sys
import pandas as pd
from sklearn.metrics import roc_auc_score

truth = pd.read_csv(sys.argv[1] + "/ref/labels.csv")
pred = pd.read_csv(sys.argv[1] + "/res/predictions.csv")
print("auc:", roc_auc_score(truth["y"], pred["y"]))
'''
V2_YAML = b'''\
version: 2
title: Tiny Binary Competition
description: Predict y from two features.
image: logo.png
terms: terms.md
pages:
  - title: Overview
    file: overview.md
  - title: Terms
    file: terms.md
tasks:
  - index: 0
    name: Main task
    description: Rank the test rows.
    input_data: input_data/
    reference_data: reference_data/
    scoring_program: scoring_program/
solutions:
  - index: 0
    tasks: [0]
    path: solution/
phases:
  - index: 0
    name: Development
    start: 2024-01-01
    tasks: [0]
    starting_kit: starting_kit/
leaderboards:
  - index: 0
    title: Results
    key: main
    columns:
      - title: AUC
        key: auc
        index: 0
        sorting: desc
'''


def _rows(seed: int, n: int, regression: bool = False) -> list[tuple[str, float, float, float]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        x1, x2 = rng.gauss(0, 1), rng.gauss(0, 1)
        signal = 2 * x1 - x2 + rng.gauss(0, 0.7)
        y = round(3 + signal, 4) if regression else float(signal > 0)
        rows.append((f"r{seed}-{i}", round(x1, 4), round(x2, 4), y))
    return rows


def _csv(header: str, rows: list[tuple[Any, ...]]) -> bytes:
    lines = [header] + [",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row)
                        for row in rows]
    return ("\n".join(lines) + "\n").encode()


def competition_files(regression: bool = False) -> dict[str, bytes]:
    train, test = _rows(1, 240, regression), _rows(2, 80, regression)
    return {
        "input_data/train.csv": _csv("id,x1,x2,y", train),
        "input_data/test.csv": _csv("id,x1,x2", [r[:3] for r in test]),
        "reference_data/labels.csv": _csv("id,y", [(r[0], r[3]) for r in test]),
    }


def v2_files(**changes: bytes | None) -> dict[str, bytes]:
    files = {"competition.yaml": V2_YAML, **competition_files(),
             "scoring_program/score.py": SCORE_PY,
             "scoring_program/metadata.yaml": b"command: python3 $program/score.py $input $output\n",
             "solution/solution.py": SOLUTION,
             "starting_kit/solution.py": STARTING_KIT,
             "overview.md": b"Two features, one binary label.\n",
             "terms.md": b"Be nice.\n"}
    for name, content in changes.items():
        if content is None:
            files.pop(name.replace("__", "/"), None)
        else:
            files[name.replace("__", "/")] = content
    return files


def zip_bytes(files: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as bundle:
        for name, content in files.items():
            bundle.writestr(name, content)
    return buffer.getvalue()


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    path.write_bytes(zip_bytes(files))
    return path


V1_YAML = b'''\
title: Tiny Regression
description: Predict y (a number) from two features.
image: logo.png
has_registration: false
html:
  overview: overview.html
  terms: terms.html
phases:
  1:
    phasenumber: 1
    label: Development
    start_date: 2024-01-01
    max_submissions: 100
    input_data: input_data.zip
    reference_data: reference_data.zip
    scoring_program: scoring_program.zip
    starting_kit: starting_kit.zip
leaderboard:
  leaderboards:
    RESULTS: &RESULTS
      label: Results
      rank: 1
  columns:
    rmse:
      leaderboard: *RESULTS
      label: RMSE
      rank: 1
      numeric_format: 4
'''
V1_KIT = b'''\
import os
import pandas as pd
from sklearn.linear_model import LinearRegression

data, out = os.environ["HELDOUT_DATA"], os.environ["HELDOUT_OUTPUT"]
train, test = pd.read_csv(f"{data}/train.csv"), pd.read_csv(f"{data}/test.csv")
test["y"] = LinearRegression().fit(train[["x1", "x2"]], train["y"]).predict(test[["x1", "x2"]])
test[["id", "y"]].to_csv(f"{out}/predictions.csv", index=False)
'''


def v1_files() -> dict[str, bytes]:
    data = competition_files(regression=True)
    inner = {folder: {k.split("/", 1)[1]: v for k, v in data.items() if k.startswith(folder)}
             for folder in ("input_data", "reference_data")}
    return {
        "competition.yaml": V1_YAML,
        "input_data.zip": zip_bytes(inner["input_data"]),
        "reference_data.zip": zip_bytes(inner["reference_data"]),
        "scoring_program.zip": zip_bytes({"evaluate.py": b"from sklearn.metrics import "
                                          b"mean_squared_error\n"}),
        "starting_kit.zip": zip_bytes({"model.py": V1_KIT, "README.md": b"Run model.py.\n"}),
        "overview.html": b"<h1>Overview</h1><p>Predict <b>y</b>.</p><script>x()</script>",
        "terms.html": b"<p>Terms.</p>",
    }


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def challenges(tmp_path: Path) -> Path:
    return tmp_path / "challenges"


def run_import(cli: CliRunner, what: str, path: Path, challenges: Path, *extra: str) -> Result:
    return cli.invoke(main, ["import", what, str(path), "--challenges-dir", str(challenges),
                             "--json", *extra])


def created(result: Result) -> list[str]:
    assert result.exit_code == 0, result.output
    return list(json.loads(result.stdout)["created"])


def refused(result: Result, *named: str) -> str:
    assert result.exit_code != 0, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for part in named:
        assert part in lines[0], lines[0]
    return lines[0]


def nothing_written(challenges: Path) -> None:
    assert not challenges.exists() or list(challenges.iterdir()) == []


# CodaBench v2 and v1


def test_v2_bundle_becomes_a_model_training_challenge(cli: CliRunner, tmp_path: Path,
                                                      challenges: Path) -> None:
    result = run_import(cli, "codabench", write_zip(tmp_path / "b.zip", v2_files()), challenges)
    assert created(result) == ["tiny-binary-competition"]
    bundle = load_bundle(challenges / "tiny-binary-competition")
    assert bundle.kind == "model_training"
    assert bundle.grading.metric == "roc_auc"  # type: ignore[attr-defined]
    assert (bundle.public_dir / "train.csv").read_bytes() == v2_files()["input_data/train.csv"]
    assert (bundle.hidden_dir / "labels.csv").read_bytes() == v2_files()["reference_data/labels.csv"]
    assert not (bundle.public_dir / "labels.csv").exists()
    assert (bundle.starter_dir / "solution.py").read_bytes() == STARTING_KIT
    assert {case.name for case in bundle.solutions} == {"reference", "starter"}
    assert (bundle.root / "solutions/reference/solution.py").read_bytes() == SOLUTION
    assert "Two features, one binary label." in bundle.statement
    assert "Be nice." not in bundle.statement  # the terms page is not part of the task
    assert "predictions.csv" in bundle.statement


def test_v2_folder_inside_the_zip_and_zipped_resources(cli: CliRunner, tmp_path: Path,
                                                       challenges: Path) -> None:
    files = v2_files()
    inner = {k.split("/", 1)[1]: files.pop(k) for k in list(files) if k.startswith("reference_data/")}
    files["reference_data.zip"] = zip_bytes(inner)
    files["competition.yaml"] = V2_YAML.replace(b"reference_data: reference_data/",
                                                b"reference_data: reference_data.zip")
    wrapped = {f"my-competition/{name}": content for name, content in files.items()}
    result = run_import(cli, "codabench", write_zip(tmp_path / "b.zip", wrapped), challenges,
                        "--slug", "binary")
    assert created(result) == ["binary"]
    assert (challenges / "binary/hidden/labels.csv").is_file()


def test_v2_one_challenge_per_task(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    files = v2_files()
    files["competition.yaml"] = V2_YAML.replace(b"tasks:\n  - index: 0\n", b"""tasks:
  - index: 1
    name: Second task
    input_data: input_data/
    reference_data: reference_data/
    scoring_program: scoring_program/
  - index: 0
""")
    slugs = created(run_import(cli, "codabench", write_zip(tmp_path / "b.zip", files), challenges))
    assert slugs == ["tiny-binary-competition-second-task", "tiny-binary-competition-main-task"]
    second = load_bundle(challenges / slugs[0])
    assert second.solutions == ()  # no solution and no starting kit name task 1


def test_v1_bundle_with_inner_zips(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    slugs = created(run_import(cli, "codabench", write_zip(tmp_path / "v1.zip", v1_files()),
                               challenges))
    assert slugs == ["tiny-regression"]
    bundle = load_bundle(challenges / "tiny-regression")
    assert bundle.grading.metric == "rmse"  # type: ignore[attr-defined]
    assert bundle.submission.entrypoint == "model.py"
    assert "Predict y." in bundle.statement and "x()" not in bundle.statement
    assert [c.name for c in bundle.solutions] == ["starter"]


def result_submission_files() -> dict[str, bytes]:
    """A v2 bundle whose solution is a result submission: predictions, no program."""
    files = {k: v for k, v in v2_files().items() if not k.startswith(("solution/", "starting_kit/"))}
    files["competition.yaml"] = V2_YAML.replace(b"    starting_kit: starting_kit/\n", b"")
    test = _rows(2, 80)
    # Right on two rows in three: an AUC near 0.67, above a constant's and short of the
    # target on whichever rows the private slice holds.
    guesses = [(r[0], r[3] if i % 3 else 1 - r[3]) for i, r in enumerate(test)]
    files["solution/predictions.csv"] = _csv("id,y", guesses)
    return files


def test_result_submission_becomes_a_program(cli: CliRunner, tmp_path: Path,
                                             challenges: Path) -> None:
    path = write_zip(tmp_path / "r.zip", result_submission_files())
    assert created(run_import(cli, "codabench", path, challenges, "--slug", "results")) == ["results"]
    bundle = load_bundle(challenges / "results")
    assert bundle.submission.entrypoint == "solution.py"
    case = challenges / "results/solutions/reference"
    assert sorted(p.name for p in case.iterdir()) == ["predictions.csv", "solution.py"]
    assert not (challenges / "results/starter").exists()


def test_prediction_column_option(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    path = write_zip(tmp_path / "b.zip", v2_files())
    refused(run_import(cli, "codabench", path, challenges, "--prediction-column", "id"),
            "--prediction-column", "'id'")
    created(run_import(cli, "codabench", path, challenges, "--prediction-column", "score"))
    grading: Any = load_bundle(challenges / "tiny-binary-competition").grading
    assert (grading.prediction_column, grading.label_column) == ("score", "y")


@pytest.mark.docker
def test_imported_bundles_pass_challenges_check(cli: CliRunner, tmp_path: Path, challenges: Path,
                                                sandbox_image: str) -> None:
    created(run_import(cli, "codabench", write_zip(tmp_path / "v2.zip", v2_files()), challenges))
    created(run_import(cli, "codabench", write_zip(tmp_path / "v1.zip", v1_files()), challenges))
    created(run_import(cli, "codabench", write_zip(tmp_path / "r.zip", result_submission_files()),
                       challenges, "--slug", "results"))
    created(run_import(cli, "nbgrader", write_notebook(tmp_path / "stats.ipynb"), challenges))
    result = cli.invoke(main, ["challenges", "check", "--challenges-dir", str(challenges)])
    assert result.exit_code == 0, result.output
    assert "6 of 6 ok" in result.stdout
    scores = {tuple(line.split()[:2]): float(line.split()[3]) for line in result.stdout.splitlines()
              if line.split()[:1] != ["challenge"] and len(line.split()) > 4}
    assert scores[("tiny-binary-competition", "reference")] == 100
    assert scores[("tiny-binary-competition", "starter")] == 0  # a constant: the baseline
    assert scores[("stats", "reference")] == 100 and scores[("stats", "starter")] == 0
    assert 1 <= scores[("results", "reference")] < 100


# What the CodaBench importer refuses


def test_leaked_reference_file_is_refused_by_bytes(cli: CliRunner, tmp_path: Path,
                                                   challenges: Path) -> None:
    files = v2_files(input_data__answers_copy_csv=v2_files()["reference_data/labels.csv"])
    files["input_data/answers_copy.csv"] = files.pop("input_data/answers_copy_csv")
    result = run_import(cli, "codabench", write_zip(tmp_path / "b.zip", files), challenges)
    refused(result, "input_data/answers_copy.csv", "reference_data/labels.csv", "same bytes")
    nothing_written(challenges)


def test_leaked_label_column_is_refused(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    data = competition_files()
    test = _rows(2, 80)
    # Shuffled rows and another column order: the labels still sit on their ids' rows.
    leaky = sorted(test, key=lambda r: r[1])
    files = v2_files(input_data__test_csv=_csv("x2,target,id,x1",
                                               [(r[2], r[3], r[0], r[1]) for r in leaky]))
    files["input_data/test.csv"] = files.pop("input_data/test_csv")
    assert files["reference_data/labels.csv"] == data["reference_data/labels.csv"]
    result = run_import(cli, "codabench", write_zip(tmp_path / "b.zip", files), challenges)
    refused(result, "input_data/test.csv", "'target'", "reference_data/labels.csv")
    nothing_written(challenges)


def test_unknown_metric_is_named(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    files = v2_files(scoring_program__score_py=SCORE_PY.replace(b"roc_auc_score",
                                                                b"matthews_corrcoef"))
    files["scoring_program/score.py"] = files.pop("scoring_program/score_py")
    files["competition.yaml"] = V2_YAML.split(b"leaderboards:")[0]
    result = run_import(cli, "codabench", write_zip(tmp_path / "b.zip", files), challenges)
    refused(result, "scoring_program/score.py", "matthews_corrcoef", "roc_auc")
    nothing_written(challenges)
    # The author can choose the metric.
    assert created(run_import(cli, "codabench", tmp_path / "b.zip", challenges,
                              "--metric", "roc_auc"))


def test_unknown_leaderboard_metric_is_named(cli: CliRunner, tmp_path: Path,
                                             challenges: Path) -> None:
    files = v2_files(competition_yaml=V2_YAML.replace(b"title: AUC\n        key: auc",
                                                      b"title: MCC\n        key: mcc"))
    files["competition.yaml"] = files.pop("competition_yaml")
    result = run_import(cli, "codabench", write_zip(tmp_path / "b.zip", files), challenges)
    refused(result, "competition.yaml", "'mcc'")


def test_not_a_zip(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    path = tmp_path / "bundle.zip"
    path.write_text("competition.yaml but not zipped")
    refused(run_import(cli, "codabench", path, challenges), "bundle.zip", "not a zip")
    refused(run_import(cli, "codabench", tmp_path / "absent.zip", challenges), "absent.zip")
    nothing_written(challenges)


def test_zip_bomb_by_ratio(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    files = v2_files(input_data__zeros_bin=bytes(16 * 1024 * 1024))
    path = write_zip(tmp_path / "bomb.zip", files)
    assert path.stat().st_size < 200_000
    refused(run_import(cli, "codabench", path, challenges), "bomb.zip", "zip bomb")
    nothing_written(challenges)


def test_leaderboard_title_names_the_metric_when_the_key_does_not(
        cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    files = v2_files(competition_yaml=V2_YAML.replace(b"title: AUC\n        key: auc",
                                                      b"title: Accuracy\n        key: score"))
    files["competition.yaml"] = files.pop("competition_yaml")
    assert b"key: score" in files["competition.yaml"]
    created(run_import(cli, "codabench", write_zip(tmp_path / "b.zip", files), challenges))
    grading: Any = load_bundle(challenges / "tiny-binary-competition").grading
    assert grading.metric == "accuracy"  # the leaderboard ranks by it, not by the code's AUC


def test_small_bomb_under_a_megabyte(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    files = v2_files(input_data__zeros_csv=b"0" * 1_000_000)
    refused(run_import(cli, "codabench", write_zip(tmp_path / "b.zip", files), challenges),
            "zeros_csv", "zip bomb")
    nothing_written(challenges)


def test_zip_bomb_by_size(cli: CliRunner, tmp_path: Path, challenges: Path,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 1024 * 1024)
    noise = random.Random(3).randbytes(300 * 1024)  # incompressible: no ratio to catch
    files = v1_files()
    files["input_data.zip"] = zip_bytes({"train.csv": noise, "test.csv": noise[::-1]})
    refused(run_import(cli, "codabench", write_zip(tmp_path / "big.zip", files), challenges),
            "input_data.zip", "zip bomb")
    nothing_written(challenges)


def test_lying_size_header_is_caught_while_unpacking(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "liar.zip", {"a.csv": b"x" * 5000})
    data = bytearray(path.read_bytes())
    # Shrink the declared uncompressed size in both headers: the stream is longer. Nothing
    # past the declared size is written, and the damaged member refuses the whole archive.
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 22:local + 26] = (10).to_bytes(4, "little")
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ImportRefused, match=r"^liar\.zip: (damaged|.* more than its declared)"):
        archive.extract_zip(path, tmp_path / "out", "liar.zip", archive.Budget())


@pytest.mark.parametrize("name", ["../escape.py", "/etc/heldout-escape", "a/../../escape.py",
                                  "C:/escape.py", "a\\..\\escape.py"])
def test_paths_escaping_the_archive(cli: CliRunner, tmp_path: Path, challenges: Path,
                                    name: str) -> None:
    path = write_zip(tmp_path / "t.zip", {**v2_files(), name: b"print('escaped')"})
    refused(run_import(cli, "codabench", path, challenges), "t.zip", "outside")
    nothing_written(challenges)
    assert not (tmp_path / "escape.py").exists()


def test_symlink_in_zip(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, content in v2_files().items():
            bundle.writestr(name, content)
        link = zipfile.ZipInfo("input_data/passwd")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        bundle.writestr(link, "/etc/passwd")
    path = tmp_path / "link.zip"
    path.write_bytes(buffer.getvalue())
    refused(run_import(cli, "codabench", path, challenges), "input_data/passwd", "symbolic link")
    nothing_written(challenges)


def test_unknown_layouts(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    no_yaml = write_zip(tmp_path / "a.zip", {"README.md": b"hello"})
    refused(run_import(cli, "codabench", no_yaml, challenges), "a.zip", "no competition.yaml")
    odd = write_zip(tmp_path / "b.zip", {"competition.yaml": b"title: x\nstages: [1, 2]\n"})
    refused(run_import(cli, "codabench", odd, challenges), "competition.yaml", "unknown layout")
    broken = write_zip(tmp_path / "c.zip", {"competition.yaml": b"title: [unclosed\n"})
    refused(run_import(cli, "codabench", broken, challenges), "competition.yaml", "YAML")
    nothing_written(challenges)


def test_missing_files(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    files = {k: v for k, v in v2_files().items() if not k.startswith("reference_data/")}
    refused(run_import(cli, "codabench", write_zip(tmp_path / "m.zip", files), challenges),
            "reference_data", "missing")
    v1 = v1_files()
    del v1["starting_kit.zip"]
    refused(run_import(cli, "codabench", write_zip(tmp_path / "n.zip", v1), challenges),
            "starting_kit.zip", "missing")
    nothing_written(challenges)


def test_an_existing_challenge_is_never_overwritten(cli: CliRunner, tmp_path: Path,
                                                    challenges: Path) -> None:
    path = write_zip(tmp_path / "b.zip", v2_files())
    created(run_import(cli, "codabench", path, challenges))
    before = sorted(p.relative_to(challenges) for p in challenges.rglob("*"))
    refused(run_import(cli, "codabench", path, challenges), "tiny-binary-competition",
            "already exists")
    assert sorted(p.relative_to(challenges) for p in challenges.rglob("*")) == before


def test_a_bundle_that_fails_validation_leaves_nothing(cli: CliRunner, tmp_path: Path,
                                                       challenges: Path) -> None:
    # Each task is drafted; the second's solution is not a valid submission (too many files
    # of an unknown kind can't happen, so make its labels unusable instead: text labels).
    files = v2_files()
    files["reference_data/labels.csv"] = b"id,y\nr2-0,yes\nr2-1,no\n"
    refused(run_import(cli, "codabench", write_zip(tmp_path / "b.zip", files), challenges),
            "reference_data/labels.csv", "numeric")
    nothing_written(challenges)


def test_a_later_bundle_failing_validation_takes_the_earlier_ones_with_it(
        cli: CliRunner, tmp_path: Path, challenges: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All or nothing: the first task's bundle validates, the second's doesn't (here the
    validation is told to fail it, as a bundle the importer got wrong would)."""
    from heldout.graders import cli as graders_cli

    real = graders_cli.deep_problems
    monkeypatch.setattr(graders_cli, "deep_problems", lambda bundle: (
        ["solutions/reference/: not a valid submission"] if "main-task" in bundle.slug
        else real(bundle)))
    files = v2_files()
    files["competition.yaml"] = V2_YAML.replace(b"tasks:\n  - index: 0\n", b"""tasks:
  - index: 1
    name: Second task
    input_data: input_data/
    reference_data: reference_data/
    scoring_program: scoring_program/
  - index: 0
""")
    refused(run_import(cli, "codabench", write_zip(tmp_path / "b.zip", files), challenges),
            "tiny-binary-competition-main-task", "does not validate")
    nothing_written(challenges)


# nbgrader


def nbgrader_cell(kind: str, source: str, **meta: Any) -> Any:
    code = kind == "code"
    cell = nbformat.v4.new_code_cell(source) if code else nbformat.v4.new_markdown_cell(source)
    if meta:
        cell.metadata["nbgrader"] = {"schema_version": 3, "grade": False, "solution": False,
                                     "locked": False, **meta}
    return cell


def write_notebook(path: Path, *extra: Any) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [
        nbgrader_cell("markdown", "# Sample statistics\n\nWrite the two functions below.",
                      grade_id="intro", locked=True),
        nbgrader_cell("code", "def mean(xs):\n    ### BEGIN SOLUTION\n    return sum(xs) / len(xs)\n"
                      "    ### END SOLUTION", grade_id="mean", solution=True),
        nbgrader_cell("code", "assert mean([1, 2, 3]) == 2\n### BEGIN HIDDEN TESTS\n"
                      "assert mean([4]) == 4\n### END HIDDEN TESTS", grade_id="test_mean",
                      grade=True, locked=True, points=2),
        nbgrader_cell("code", "def variance(xs):\n    m = mean(xs)\n    return sum((x - m) ** 2 "
                      "for x in xs) / len(xs)", grade_id="variance", solution=True),
        nbgrader_cell("code", "assert variance([1, 1, 1]) == 0\nassert variance([0, 2]) == 1",
                      grade_id="test_variance", grade=True, locked=True, points=3),
        nbgrader_cell("markdown", "Explain variance in one sentence.", grade_id="why",
                      grade=True, solution=True, points=1),
        # A cell nbgrader's toolbar touched but did not mark: plain, whatever its metadata.
        nbgrader_cell("code", "print('done')", grade=False, solution=False, locked=False),
        *extra,
    ]
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{index}"
    path.write_text(nbformat.writes(notebook))
    return path


def test_nbgrader_notebook_becomes_a_notebook_challenge(cli: CliRunner, tmp_path: Path,
                                                        challenges: Path) -> None:
    result = run_import(cli, "nbgrader", write_notebook(tmp_path / "Stats HW1.ipynb"), challenges)
    assert created(result) == ["stats-hw1"]
    assert "graded by hand" in result.stderr and "hidden tests are left out" in result.stderr
    bundle = load_bundle(challenges / "stats-hw1")
    assert bundle.kind == "notebook" and bundle.title == "Sample statistics"
    grading: Any = bundle.grading
    # 2 and 3 points keep their shares of the 90 the tests are worth; running clean earns 10.
    assert [(c.grade_id, c.points) for c in grading.graded_cells] == [("test_mean", 36.0),
                                                                      ("test_variance", 54.0)]
    assert grading.clean_points == 10
    starter = (bundle.starter_dir / "Stats_HW1.ipynb").read_text()
    assert "sum(xs) / len(xs)" not in starter and "raise NotImplementedError()" in starter
    assert "mean([4])" not in starter and "HIDDEN" not in starter
    assert "YOUR ANSWER HERE" in starter
    reference = (bundle.root / "solutions/reference/Stats_HW1.ipynb").read_text()
    assert "return sum(xs) / len(xs)" in reference and "BEGIN SOLUTION" not in reference
    assert [c.name for c in bundle.solutions] == ["reference", "starter"]


def test_nbgrader_refusals(cli: CliRunner, tmp_path: Path, challenges: Path) -> None:
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    refused(run_import(cli, "nbgrader", broken, challenges), "broken.ipynb", "not a valid notebook")
    unbalanced = write_notebook(tmp_path / "open.ipynb", nbgrader_cell(
        "code", "### BEGIN SOLUTION\nx = 1", grade_id="open", solution=True))
    refused(run_import(cli, "nbgrader", unbalanced, challenges), "open.ipynb", "cell 8", "END")
    twice = write_notebook(tmp_path / "twice.ipynb", nbgrader_cell(
        "code", "x = 1", grade_id="mean", solution=True))
    refused(run_import(cli, "nbgrader", twice, challenges), "twice.ipynb", "'mean'")
    nothing_written(challenges)
