"""The deep-learning profile's image on the real engine: built offline on top of the
default image, PyTorch's CPU build in it, chosen by a job's profile, warmed with torch."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import JobSpec, Limits, run
from heldout.sandbox.environment import pinned_packages
from heldout.sandbox.image import build_all, profile_image
from heldout.sandbox.pool import WarmPool
from heldout.sandbox.profiles import DEFAULT_PROFILE, get_profile

pytestmark = pytest.mark.docker

DEEP = "deep-learning"

PROGRAM = textwrap.dedent("""
    import json, sys
    preloaded = "torch" in sys.modules
    import numpy as np
    import torch
    from torch import nn
    torch.manual_seed(0)
    x = torch.from_numpy(np.linspace(-1, 1, 64, dtype=np.float32)).unsqueeze(1)
    y = 3 * x - 1
    model = nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(200):
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    print(json.dumps({"version": torch.__version__, "cuda": torch.cuda.is_available(),
                      "weight": model.weight.item(), "bias": model.bias.item(),
                      "preloaded": preloaded}))
""")


def _workspace(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "main.py").write_text(PROGRAM)
    return workspace


def test_the_build_reports_each_profile_s_size_and_cold_import(docker_client: Any,
                                                               profile_images: dict[str, str]
                                                               ) -> None:
    reports = {r.profile: r for r in build_all(client=docker_client)}
    assert list(reports) == [DEFAULT_PROFILE, DEEP]  # the default image first
    deep, default = reports[DEEP], reports[DEFAULT_PROFILE]
    assert deep.tag == profile_images[DEEP] == profile_image(DEEP)
    assert deep.build_seconds == 0  # built already by the fixture: cached by hash
    assert deep.modules == ("torch",)
    assert 0 < deep.import_seconds < deep.run_seconds
    # Layered on the default image: all of it plus PyTorch.
    assert deep.size_mb > default.size_mb > 0
    layers = docker_client.images.get(deep.tag).history()
    assert any(layer["Id"] == docker_client.images.get(default.tag).id for layer in layers)


def test_a_deep_learning_job_trains_with_the_pinned_cpu_torch(
        tmp_path: Path, profile_images: dict[str, str]) -> None:
    spec = JobSpec(command=("python", "main.py"), workspace=_workspace(tmp_path),
                   limits=Limits(memory_mb=1024), profile=DEEP)
    result = run(spec, tmp_path / "out")
    assert result.exit_code == 0 and result.limit is None, result.stderr_tail
    report = json.loads(result.stdout_tail.strip().splitlines()[-1])
    requirements = get_profile(DEEP).requirements
    assert requirements is not None
    assert report["version"] == pinned_packages(requirements)["torch"]
    assert report["cuda"] is False
    assert report["weight"] == pytest.approx(3.0, abs=1e-3)
    assert report["bias"] == pytest.approx(-1.0, abs=1e-3)


def test_the_default_profile_has_no_torch(tmp_path: Path, profile_images: dict[str, str]) -> None:
    spec = JobSpec(command=("python", "main.py"), workspace=_workspace(tmp_path))
    result = run(spec, tmp_path / "out")
    assert result.exit_code != 0
    assert "No module named 'torch'" in result.stderr_tail


def test_a_warm_deep_learning_container_has_torch_imported(
        tmp_path: Path, docker_client: Any, profile_images: dict[str, str]) -> None:
    limits = Limits(memory_mb=1024)
    pool = WarmPool(docker_client, size=1)
    try:
        pool.prime(limits, profile_images[DEEP])
        assert pool.wait_warm(1, timeout=180, limits=limits, image=profile_images[DEEP])
        spec = JobSpec(command=("python", "main.py"), workspace=_workspace(tmp_path),
                       limits=limits, profile=DEEP)
        result = run(spec, tmp_path / "out", pool=pool)
    finally:
        pool.close()
    assert result.warm and result.exit_code == 0, result.stderr_tail
    assert json.loads(result.stdout_tail.strip().splitlines()[-1])["preloaded"] is True
