"""The sandbox's settings: one frozen value, one list of variables, one reader of the
environment."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from heldout.sandbox.settings import OPTIONS, BadSetting, SandboxSettings

REPO = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = [REPO / "platform" / "heldout", REPO / "graders" / "heldout",
                REPO / "sandbox" / "heldout"]
THE_READER = REPO / "sandbox" / "heldout" / "sandbox" / "settings.py"
IN_IMAGE = REPO / "sandbox" / "heldout" / "sandbox" / "image_context"  # runs in the container


def test_every_field_but_the_owner_is_an_option() -> None:
    fields = {f.name for f in dataclasses.fields(SandboxSettings)}
    assert fields - {o.field for o in OPTIONS} == {"owner"}
    assert len({o.name for o in OPTIONS}) == len(OPTIONS) == len(fields) - 1


def test_the_environment_fills_every_field(tmp_path: Path) -> None:
    env = {"HELDOUT_SANDBOX_BACKEND": "docker", "HELDOUT_SANDBOX_IMAGE": " img:1 ",
           "HELDOUT_SANDBOX_WARM": "0", "HELDOUT_SANDBOX_RUNTIME": "runsc",
           "HELDOUT_RUN_DIR": str(tmp_path / "runs"), "HELDOUT_CACHE_DIR": str(tmp_path / "c"),
           "HELDOUT_DEBIAN_MIRROR": "http://mirror.example.invalid/debian",
           "DOCKER_HOST": "unix:///run/other.sock", "DOCKER_API_VERSION": "1.43"}
    assert set(env) == {o.name for o in OPTIONS}, "a new option needs a line here"
    assert SandboxSettings.from_environment(env) == SandboxSettings(
        backend="docker", image="img:1", warm_per_profile=0, runtime="runsc",
        run_dir=tmp_path / "runs", cache_dir=tmp_path / "c",
        debian_mirror="http://mirror.example.invalid/debian",
        docker_host="unix:///run/other.sock", docker_api_version="1.43")


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    settings = SandboxSettings.from_environment({})
    assert (settings.backend, settings.image, settings.warm_per_profile) == ("docker", "", 2)
    assert settings.docker_api_version == "1.41" and settings.docker_host == ""
    assert settings.cache_dir == tmp_path / "xdg" / "heldout"
    assert settings.run_dir.name == "runs" and settings.owner_name  # the host's name


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(BadSetting, match="HELDOUT_SANDBOX_WARM='-1': must be 0 or more"):
        SandboxSettings.from_environment({"HELDOUT_SANDBOX_WARM": "-1"})


def _environment_reads(path: Path) -> list[int]:
    """The lines where ``path`` reads the environment: ``os.environ`` or ``os.getenv``."""
    return [node.lineno
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path)))
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv")
            and isinstance(node.value, ast.Name) and node.value.id == "os"]


def _names_a_sandbox_option(path: Path) -> bool:
    options = {o.name for o in OPTIONS}
    return any(isinstance(node, ast.Constant) and node.value in options
               for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))))


def test_the_check_sees_an_environment_read(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import os\n\nVALUE = os.environ.get('HELDOUT_RUN_DIR')\n")
    assert _environment_reads(sample) == [3] and _names_a_sandbox_option(sample)
    sample.write_text("from os import getenv\nimport os\nVALUE = os.getenv('HOME')\n")
    assert _environment_reads(sample) == [3] and not _names_a_sandbox_option(sample)


def test_only_the_settings_module_reads_sandbox_settings_from_the_environment() -> None:
    offenders = [f"{path.relative_to(REPO)}:{line}"
                 for root in SOURCE_ROOTS for path in sorted(root.rglob("*.py"))
                 if path != THE_READER and not path.is_relative_to(IN_IMAGE)
                 and _names_a_sandbox_option(path) for line in _environment_reads(path)]
    assert offenders == []


def test_the_sandbox_reads_the_environment_nowhere_else() -> None:
    sandbox = REPO / "sandbox" / "heldout" / "sandbox"
    reads = [f"{path.relative_to(REPO)}:{line}" for path in sorted(sandbox.rglob("*.py"))
             if path != THE_READER and not path.is_relative_to(IN_IMAGE)
             for line in _environment_reads(path)]
    assert reads == []
