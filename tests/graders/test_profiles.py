"""A bundle names its runtime profile; every job of it runs in that profile's image."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from heldout.graders import BundleError, evaluate, load_bundle
from heldout.graders.profiled import ProfiledSandbox
from heldout.sandbox.profiles import DEFAULT_PROFILE
from heldout.sandbox.spec import JobSpec

from .conftest import CHALLENGES, REPO, FakeSandbox, perfect_csv


def _with_profile(bundle_dir: Path, line: str) -> Path:
    toml = bundle_dir / "challenge.toml"
    toml.write_text(toml.read_text().replace('kind = "model_training"\n',
                                             f'kind = "model_training"\n{line}\n', 1))
    return bundle_dir


def test_a_bundle_without_a_profile_runs_in_the_default_image(bundle_dir: Path) -> None:
    assert load_bundle(bundle_dir).profile == DEFAULT_PROFILE


def test_a_bundle_names_its_profile(bundle_dir: Path) -> None:
    bundle = load_bundle(_with_profile(bundle_dir, 'profile = "deep-learning"'))
    assert bundle.profile == "deep-learning"


def test_an_unknown_profile_names_the_file_the_key_and_the_known_ones(bundle_dir: Path) -> None:
    with pytest.raises(BundleError) as caught:
        load_bundle(_with_profile(bundle_dir, 'profile = "gpu"'))
    message = str(caught.value)
    assert "challenge.toml" in message and "profile" in message and "'gpu'" in message
    assert "deep-learning" in message and "default" in message


def test_every_job_of_a_bundle_carries_its_profile(bundle_dir: Path, submission: Path) -> None:
    bundle = load_bundle(_with_profile(bundle_dir, 'profile = "deep-learning"'))
    sandbox = FakeSandbox({"predictions.csv": perfect_csv().encode()})
    result = evaluate(bundle, submission, sandbox=sandbox)
    assert result.status == "graded" and result.score == 100
    assert [spec.profile for spec in sandbox.specs] == ["deep-learning"]


def test_a_default_bundle_s_jobs_stay_in_the_default_profile(bundle_dir: Path,
                                                            submission: Path) -> None:
    sandbox = FakeSandbox({"predictions.csv": perfect_csv().encode()})
    evaluate(load_bundle(bundle_dir), submission, sandbox=sandbox)
    assert [spec.profile for spec in sandbox.specs] == [DEFAULT_PROFILE]


def test_a_service_and_its_probe_both_get_the_profile(tmp_path: Path) -> None:
    inner = FakeSandbox()
    spec = JobSpec(command=("python", "x.py"), workspace=tmp_path)
    ProfiledSandbox(inner, "deep-learning").run_service(spec, spec, tmp_path / "s",
                                                        tmp_path / "p")
    assert [s.profile for s in inner.specs] == ["deep-learning", "deep-learning"]


@pytest.mark.parametrize("slug", ["shape-classifier", "fix-training-loop"])
def test_the_deep_learning_challenges_name_the_deep_learning_profile(slug: str) -> None:
    assert load_bundle(CHALLENGES / slug).profile == "deep-learning"


@pytest.mark.parametrize(("profile", "ahead"), [(DEFAULT_PROFILE, []),
                                                ("deep-learning", ["torch", "torch._dynamo"])])
def test_the_function_harness_imports_the_profile_s_modules_before_forking_cases(
        copy_repo_bundle: Callable[[str], Path], profile: str, ahead: list[str]) -> None:
    root = copy_repo_bundle("metrics-from-scratch")
    if profile != DEFAULT_PROFILE:
        toml = root / "challenge.toml"
        toml.write_text(toml.read_text().replace('kind = "function"\n',
                                                 f'kind = "function"\nprofile = "{profile}"\n'))
    bundle = load_bundle(root)
    seen: list[object] = []

    def record(output_dir: Path) -> None:
        harness = sandbox.specs[-1].harness
        assert harness is not None
        seen.append(json.loads((harness / "cases.json").read_text())["ahead"])

    sandbox = FakeSandbox(write=record)
    evaluate(bundle, bundle.solution("reference").path, sandbox=sandbox)
    assert seen == [ahead]


def test_the_training_loop_cases_are_what_their_script_makes() -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "make_training_loop_cases.py"),
                           "--check"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
