"""Runtime profiles: names, the image each picks, its hash, and what candidates are told."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from heldout.sandbox import image
from heldout.sandbox.environment import headline_pins, pinned_packages
from heldout.sandbox.errors import UnknownProfile
from heldout.sandbox.profiles import DEFAULT_PROFILE, PROFILES, get_profile
from heldout.sandbox.settings import SandboxSettings
from heldout.sandbox.spec import JobSpec

DEEP = "deep-learning"


def test_a_job_runs_in_the_default_profile_unless_told(tmp_path: Path) -> None:
    assert JobSpec(command=("python",), workspace=tmp_path).profile == DEFAULT_PROFILE


def test_an_unknown_profile_fails_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UnknownProfile) as caught:
        JobSpec(command=("python",), workspace=tmp_path, profile="gpu")
    assert "'gpu'" in str(caught.value) and DEEP in str(caught.value)
    assert "default" in str(caught.value)


def test_the_default_profile_is_the_default_image() -> None:
    settings = SandboxSettings.from_environment({})
    assert image.profile_image(DEFAULT_PROFILE, settings) == image.default_image(settings)
    custom = SandboxSettings.from_environment({"HELDOUT_SANDBOX_IMAGE": "mine:1"})
    assert image.profile_image(DEFAULT_PROFILE, custom) == "mine:1"


def test_each_job_picks_its_profile_s_image(tmp_path: Path) -> None:
    settings = SandboxSettings.from_environment({})
    deep = JobSpec(command=("python",), workspace=tmp_path, profile=DEEP)
    assert image.job_image(deep, settings) == image.profile_image(DEEP, settings)
    assert image.job_image(deep, settings).startswith("heldout-runtime-deep-learning:")
    pinned = dataclasses.replace(deep, image="other:2")
    assert image.job_image(pinned, settings) == "other:2"


def test_a_layered_profile_s_hash_follows_its_context_and_the_default_image(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    profile = get_profile(DEEP)
    assert profile.context is not None
    copy = tmp_path / "deep"
    shutil.copytree(profile.context, copy)
    moved = dataclasses.replace(profile, context=copy)
    same = image.profile_hash(moved)
    assert same == image.profile_hash(profile)
    (copy / "requirements.txt").write_text((copy / "requirements.txt").read_text() + "# edit\n")
    edited = image.profile_hash(moved)
    assert edited != same
    # The default image's recipe is part of it: a new default image means a new layer.
    monkeypatch.setattr(image, "content_hash", lambda: "0" * 16)
    assert image.profile_hash(moved) != edited
    # So is an image set in place of the default one.
    custom = SandboxSettings.from_environment({"HELDOUT_SANDBOX_IMAGE": "mine:1"})
    assert image.profile_hash(moved, custom) != image.profile_hash(moved)


def test_the_deep_learning_profile_pins_a_cpu_build_of_torch() -> None:
    requirements = get_profile(DEEP).requirements
    assert requirements is not None
    assert pinned_packages(requirements)["torch"].endswith("+cpu")


def test_candidates_are_told_about_pytorch_only_in_its_profile() -> None:
    version = pinned_packages(get_profile(DEEP).requirements or Path())["torch"].split("+")[0]
    # A build for the CPU alone, which the platform says in the page's words
    # (tests/platform/test_wording.py).
    assert (f"PyTorch {version}", True) in headline_pins(DEEP)
    assert not any("PyTorch" in named for named, _cpu in headline_pins(DEFAULT_PROFILE))
    # Everything the default runtime has, the deep-learning one has too, first.
    default = headline_pins()
    assert headline_pins(DEEP)[:len(default)] == default


def test_every_layered_profile_has_a_dockerfile_and_pins() -> None:
    for profile in PROFILES.values():
        if profile.context is None:
            continue
        assert (profile.context / "Dockerfile").is_file(), profile.name
        assert profile.requirements is not None and profile.requirements.is_file()
        assert profile.heavy_modules, profile.name
