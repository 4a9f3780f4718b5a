"""`heldout deploy check-worker`, run before a compose worker starts: it asks the sandbox
(through its door) whether jobs can start, and names what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from heldout.tools.deploy import deploy_group


def check(env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(deploy_group, ["check-worker"], env=env)
    return result.exit_code, result.output


def test_no_engine_refuses_the_worker(tmp_path: Path) -> None:
    code, output = check({"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"})
    assert code == 1
    assert "the worker needs the host's Docker engine" in output and "no-engine.sock" in output


def test_an_unknown_backend_refuses_the_worker() -> None:
    code, output = check({"HELDOUT_SANDBOX_BACKEND": "no-such-backend"})
    assert code == 1 and "unknown sandbox backend 'no-such-backend'; known: docker" in output


@pytest.mark.docker
def test_a_missing_image_is_named(sandbox_image: str) -> None:
    missing = "heldout-runtime:no-such-build"
    code, output = check({"HELDOUT_SANDBOX_IMAGE": missing})
    assert code == 1
    assert f"the sandbox image {missing} is missing" in output and "heldout sandbox build" in output


@pytest.mark.docker
def test_engine_and_image_present_let_the_worker_start(sandbox_image: str) -> None:
    code, output = check({})
    assert code == 0, output
    assert output.strip() == f"engine answers; sandbox image {sandbox_image} present"
