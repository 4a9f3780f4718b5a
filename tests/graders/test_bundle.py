"""Bundle loading: strict validation, versions, discovery and what may be served."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from heldout.graders import (
    BundleError,
    BundleNotFound,
    discover_bundles,
    load_bundle,
    resolve_bundle,
    scan_bundles,
)
from heldout.graders.bundle import bundle_version, default_challenges_dir
from heldout.graders.errors import ServedFileNotFound
from heldout.graders.kinds import KINDS
from heldout.graders.kinds.model_training import ModelTrainingGrading
from heldout.graders.serving import public_files, served_file, starter_files
from heldout.sandbox.spec import Limits


def test_loads_a_valid_bundle(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    assert bundle.slug == "tiny"
    assert bundle.title == "Tiny"
    assert bundle.kind == "model_training"
    assert bundle.skills == ("classification",)
    assert bundle.difficulty == "easy"
    assert bundle.expected_minutes == 10
    assert bundle.practice is False  # a catalogue challenge unless it says otherwise
    assert bundle.statement.startswith("# Tiny")
    assert bundle.submission.entrypoint == "solution.py"
    assert bundle.submission.max_files == 3
    assert bundle.limits == Limits(wall_seconds=5, memory_mb=256)
    assert isinstance(bundle.grading, ModelTrainingGrading)
    assert bundle.grading.predictions == "predictions.csv"
    assert [c.name for c in bundle.solutions] == ["good"]
    assert bundle.solution("good").accepts(95) and not bundle.solution("good").accepts(80)
    assert bundle.version.startswith("sha256:") and len(bundle.version) == 7 + 64
    assert bundle.hidden_dir == bundle_dir / "hidden"
    assert (bundle.grading.metric, bundle.grading.baseline, bundle.grading.target) == (
        "roc_auc", 0.5, 0.9)


def _edit(toml: str, old: str, new: str) -> str:
    assert old in toml
    return toml.replace(old, new, 1)


BAD_FIELDS = [
    ('title = "Tiny"\n', "", "title: missing"),
    ('title = "Tiny"', "title = 3", "title: must be a string"),
    ('title = "Tiny"', 'title = "  "', "title: must not be empty"),
    ('kind = "model_training"', 'kind = "kaggle"',
     f"kind: unknown kind 'kaggle'; known: {', '.join(KINDS.known())}"),
    ('skills = ["classification"]', 'skills = "classification"', "skills: must be a list"),
    ('difficulty = "easy"', 'difficulty = "trivial"',
     "difficulty: unknown value 'trivial'; known: easy, medium, hard"),
    ("expected_minutes = 10", "expected_minutes = 0", "expected_minutes: must be at least 1"),
    ("expected_minutes = 10", "expected_minutes = 1.5", "expected_minutes: must be an integer"),
    ("expected_minutes = 10", 'expected_minutes = 10\npractice = "yes"',
     "practice: must be true or false"),
    ('summary = "A tiny bundle for tests."\n', 'summary = "x"\ncolour = "red"\n',
     "colour: unknown field"),
    ('entrypoint = "solution.py"', 'entrypoint = "../solution.py"',
     "[submission].entrypoint: must be a plain relative path"),
    ('entrypoint = "solution.py"', 'entrypoint = "solution.R"',
     "[submission].entrypoint: model_training runs"),
    ("max_bytes = 10000", "max_bytes = -1", "[submission].max_bytes: must be at least 1"),
    ("max_files = 3", "max_file = 3", "[submission].max_file: unknown field"),
    ("wall_seconds = 5", "wall_second = 5", "[limits].wall_second: unknown limit; known:"),
    ("memory_mb = 256", 'memory_mb = "lots"', "[limits].memory_mb: must be a number"),
    ("memory_mb = 256", "memory_mb = 0", "[limits].memory_mb: must be positive"),
    ('metric = "roc_auc"', 'metric = "foo"',
     "[grading].metric: unknown metric 'foo'; "
     "known: accuracy, average_precision, f1, log_loss, macro_f1, mae, r2, rmse, roc_auc, "
     "wape"),
    ("baseline = 0.5", 'baseline = "0.5"', "[grading].baseline: must be a number"),
    ("target = 0.9", "target = 0.4", "[grading].target: roc_auc is higher-is-better"),
    ('metric = "roc_auc"', 'metric = "rmse"', "[grading].target: rmse is lower-is-better"),
    ('id_column = "id"', 'id_column = "uid"',
     "[grading].id_column: hidden/labels.csv has no column 'uid'"),
    ('label_column = "y"', 'label_column = "target"',
     "[grading].label_column: hidden/labels.csv has no column 'target'"),
    ('prediction_column = "p"', 'prediction_column = "id"',
     "[grading].prediction_column: must differ from id_column"),
    ('label_column = "y"\n', 'label_column = "y"\nlabels = "missing.csv"\n',
     "[grading].labels: hidden/missing.csv is missing"),
    ('label_column = "y"\n', 'label_column = "y"\npredictions = "/etc/passwd"\n',
     "[grading].predictions: must be a relative path"),
    ('label_column = "y"\n', 'label_column = "y"\nreport_metrics = ["nope"]\n',
     "[grading].report_metrics: unknown metric 'nope'"),
    ('label_column = "y"\n', 'label_column = "y"\nthreshold = 1\n',
     "[grading].threshold: unknown field"),
    ("min_score = 90", "min_score = 101", "[solutions.good].min_score: must be within 0..100"),
    ("min_score = 90", "min_score = 100\nmax_scor = 1", "[solutions.good].max_scor: unknown field"),
    ("max_score = 100", "max_score = 50", "[solutions.good].min_score: 90 is above max_score 50"),
    ("[solutions.good]", "[solutions.great]",
     "[solutions.great].min_score: no directory solutions/great/"),
    ("[grading]", "[grade]", "[grading]: missing (required)"),
]


@pytest.mark.parametrize(("old", "new", "message"), BAD_FIELDS,
                         ids=[case[2].split(":")[0] for case in BAD_FIELDS])
def test_each_bad_field_names_file_and_field(bundle_dir: Path, old: str, new: str,
                                             message: str) -> None:
    toml_path = bundle_dir / "challenge.toml"
    toml_path.write_text(_edit(toml_path.read_text(), old, new))
    with pytest.raises(BundleError) as caught:
        load_bundle(bundle_dir)
    text = str(caught.value)
    assert text.startswith(f"{toml_path}: "), text
    assert message in text


def test_messages_show_paths_relative_to_the_working_directory(
        bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(bundle_dir.parent.parent)
    toml_path = bundle_dir / "challenge.toml"
    toml_path.write_text(_edit(toml_path.read_text(), 'metric = "roc_auc"', 'metric = "foo"'))
    with pytest.raises(BundleError, match=r"^challenges/tiny/challenge.toml: \[grading\].metric: "
                                          r"unknown metric 'foo'; known: accuracy, average_precision, f1"):
        load_bundle(bundle_dir)


def test_invalid_toml_names_the_file(bundle_dir: Path) -> None:
    (bundle_dir / "challenge.toml").write_text("title = \n")
    with pytest.raises(BundleError, match=r"challenge.toml: not valid TOML"):
        load_bundle(bundle_dir)


@pytest.mark.parametrize("name", ["Tiny", "tiny_one", "tiny.v2"])
def test_slug_must_be_lowercase_dashes(tmp_path: Path, bundle_dir: Path, name: str) -> None:
    renamed = bundle_dir.rename(bundle_dir.parent / name)
    with pytest.raises(BundleError, match="not a valid slug"):
        load_bundle(renamed)


@pytest.mark.parametrize(("remove", "message"), [
    ("statement.md", "statement.md: missing"),
    ("challenge.toml", "challenge.toml: missing"),
    ("public", "public/: missing"),
])
def test_missing_parts_are_named(bundle_dir: Path, remove: str, message: str) -> None:
    target = bundle_dir / remove
    if target.is_dir():
        for child in target.iterdir():
            child.unlink()
        target.rmdir()
    else:
        target.unlink()
    with pytest.raises(BundleError, match=message):
        load_bundle(bundle_dir)


def test_solution_directory_without_range_is_an_error(bundle_dir: Path) -> None:
    (bundle_dir / "solutions" / "extra").mkdir()
    with pytest.raises(BundleError, match=r"\[solutions.extra\]: missing"):
        load_bundle(bundle_dir)


def test_symlinks_in_a_bundle_are_refused(bundle_dir: Path) -> None:
    os.symlink("/etc/passwd", bundle_dir / "public" / "passwd.csv")
    with pytest.raises(BundleError, match=r"public/passwd.csv: symbolic links are not allowed"):
        load_bundle(bundle_dir)


def test_version_is_stable_and_changes_on_any_edit(bundle_dir: Path) -> None:
    first = bundle_version(bundle_dir)
    assert bundle_version(bundle_dir) == first
    assert load_bundle(bundle_dir).version == first

    cache = bundle_dir / "starter" / "__pycache__"
    cache.mkdir()
    (cache / "solution.cpython-311.pyc").write_bytes(b"\x00junk")
    assert bundle_version(bundle_dir) == first, "__pycache__ is not part of a bundle"

    labels = bundle_dir / "hidden" / "labels.csv"
    original = labels.read_bytes()
    labels.write_bytes(original.replace(b"a1,1", b"a1,0"))
    assert bundle_version(bundle_dir) != first
    labels.write_bytes(original)
    assert bundle_version(bundle_dir) == first

    (bundle_dir / "public" / "train.csv").rename(bundle_dir / "public" / "train2.csv")
    assert bundle_version(bundle_dir) != first


def test_version_does_not_depend_on_where_the_bundle_lives(bundle_dir: Path,
                                                           tmp_path: Path) -> None:
    original = bundle_version(bundle_dir)
    here = shutil.copytree(bundle_dir, tmp_path / "here" / "tiny")
    there = shutil.copytree(bundle_dir, tmp_path / "somewhere" / "else" / "renamed")
    os.utime(there / "statement.md", (0, 0))  # neither mtimes nor paths are content
    assert bundle_version(here) == bundle_version(there) == original
    assert load_bundle(here).version == load_bundle(there).version == original

    (there / "statement.md").write_text((there / "statement.md").read_text() + "\nOne more line.\n")
    assert bundle_version(there) != bundle_version(here)
    assert load_bundle(there).version != original


def test_discover_and_resolve(bundle_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = bundle_dir.parent
    (root / ".git").mkdir()
    (root / "README.md").write_text("bundles\n")
    assert [b.slug for b in discover_bundles(root)] == ["tiny"]
    assert resolve_bundle("tiny", root).root == bundle_dir
    assert resolve_bundle(str(bundle_dir)).slug == "tiny"
    assert resolve_bundle(bundle_dir).slug == "tiny"

    with pytest.raises(BundleNotFound, match=r"no challenge 'tony' .*known: tiny"):
        resolve_bundle("tony", root)
    with pytest.raises(BundleNotFound, match="neither a challenge slug"):
        resolve_bundle("Tiny!", root)

    monkeypatch.setenv("HELDOUT_CHALLENGES_DIR", str(root))
    assert default_challenges_dir() == root
    assert resolve_bundle("tiny").slug == "tiny"


def test_default_root_is_the_repository_challenges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HELDOUT_CHALLENGES_DIR", raising=False)
    assert default_challenges_dir() == Path(__file__).resolve().parents[2] / "challenges"


def test_scan_reports_broken_bundles_without_hiding_good_ones(bundle_dir: Path) -> None:
    broken = bundle_dir.parent / "broken"
    broken.mkdir()
    scan = scan_bundles(bundle_dir.parent)
    assert [b.slug for b in scan.bundles] == ["tiny"]
    assert len(scan.errors) == 1 and "broken/challenge.toml: missing" in str(scan.errors[0])
    with pytest.raises(BundleError, match="broken"):
        discover_bundles(bundle_dir.parent)


def test_kind_registry_lists_known_kinds() -> None:
    assert "model_training" in KINDS.known()
    with pytest.raises(LookupError, match=f"unknown kind 'notebookz'; known: {', '.join(KINDS.known())}$"):
        KINDS.get("notebookz")


def test_served_files_never_include_hidden(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    assert [(f.name, f.size) for f in public_files(bundle)] == [
        ("test.csv", (bundle_dir / "public" / "test.csv").stat().st_size),
        ("train.csv", (bundle_dir / "public" / "train.csv").stat().st_size),
    ]
    assert [f.name for f in starter_files(bundle)] == ["solution.py"]
    assert served_file(bundle, "public", "train.csv").path == bundle_dir / "public" / "train.csv"
    for name in ("../hidden/labels.csv", "labels.csv", "/etc/passwd", "../challenge.toml", ""):
        with pytest.raises(ServedFileNotFound):
            served_file(bundle, "public", name)
    with pytest.raises(ServedFileNotFound):
        served_file(bundle, "hidden", "labels.csv")  # type: ignore[arg-type]


def test_served_listing_skips_links(bundle_dir: Path) -> None:
    bundle = load_bundle(bundle_dir)
    os.symlink(bundle_dir / "hidden" / "labels.csv", bundle_dir / "public" / "labels.csv")
    assert "labels.csv" not in [f.name for f in public_files(bundle)]
    with pytest.raises(ServedFileNotFound):
        served_file(bundle, "public", "labels.csv")


def test_repository_bundles_load(copy_repo_bundle: Callable[[str], Path]) -> None:
    bundle = load_bundle(copy_repo_bundle("churn-prediction"))
    assert bundle.kind == "model_training"
    assert {c.name for c in bundle.solutions} == {"reference", "starter", "hard-labels",
                                                  "numeric-only"}
    assert bundle.limits.wall_seconds == 120 and bundle.limits.memory_mb == 2048
    KINDS.get(bundle.kind).verify(bundle)
    sample = load_bundle(copy_repo_bundle("warm-up"))  # the practice page's
    assert sample.practice and sample.kind == "function"
    KINDS.get(sample.kind).verify(sample)
