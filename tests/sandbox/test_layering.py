"""heldout.sandbox is the bottom layer: it knows neither challenges nor the web app, so it
imports neither heldout.graders nor heldout.platform, nor Flask or SQLAlchemy."""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "sandbox" / "heldout" / "sandbox"
# The image context is copied into the sandbox image and runs there, not on the host.
IN_IMAGE = SOURCE / "image_context"
BANNED = ("heldout.graders", "heldout.platform", "flask", "sqlalchemy")


def _banned(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in BANNED)


def host_modules() -> list[Path]:
    return sorted(p for p in SOURCE.rglob("*.py") if not p.is_relative_to(IN_IMAGE))


def imported_names(path: Path) -> set[str]:
    """Every module an ``import`` or ``from … import`` names, wherever it sits (functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_heldout_stays_a_namespace_package() -> None:
    assert not (REPO / "sandbox" / "heldout" / "__init__.py").exists()
    assert not (REPO / "sandbox" / "__init__.py").exists()


def test_the_static_check_sees_a_banned_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def later():\n    from heldout.platform.models import User\n"
                      "import flask.json\nfrom heldout.sandbox import spec\n")
    found = {name for name in imported_names(sample) if _banned(name)}
    assert found == {"heldout.platform.models", "heldout.platform.models.User", "flask.json"}


@pytest.mark.parametrize("path", host_modules(), ids=lambda p: str(p.relative_to(SOURCE)))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    bad = sorted(name for name in imported_names(path) if _banned(name))
    assert bad == [], f"{path.relative_to(REPO)} imports {bad}"


def test_importing_every_module_loads_no_higher_layer() -> None:
    """In a fresh interpreter: what the imports pull in transitively, not just what they name."""
    code = f"""
import importlib, json, pkgutil, sys
import heldout.sandbox
names = sorted(m.name for m in pkgutil.walk_packages(heldout.sandbox.__path__, "heldout.sandbox.")
               if not m.name.startswith("heldout.sandbox.image_context"))
for name in names:
    importlib.import_module(name)
banned = {BANNED!r}
loaded = sorted(m for m in sys.modules if any(m == b or m.startswith(b + ".") for b in banned))
print(json.dumps({{"imported": names, "banned": loaded}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    expected = sorted(f"heldout.sandbox.{m.name}" for m in pkgutil.iter_modules([str(SOURCE)])
                      if m.name != "image_context")
    assert set(expected) <= set(report["imported"]), "a module was not imported"
    assert report["banned"] == []


# --- The door: what the layers above may reach of the sandbox --------------------------

# What the platform and the graders may import of heldout.sandbox: the protocol and its
# registry, the values, the errors, the settings, the runtime's environment as candidates
# read it (pinned packages; no engine), the runtime profiles by name (a bundle names one;
# no engine), and the `heldout sandbox` commands.
# Any name the package itself exports counts as the package, but for ``run`` (the Docker
# runner's own function, a way round the protocol).
PUBLIC = {"heldout.sandbox", "heldout.sandbox.backend", "heldout.sandbox.spec",
          "heldout.sandbox.errors", "heldout.sandbox.settings", "heldout.sandbox.cli",
          "heldout.sandbox.environment", "heldout.sandbox.profiles"}
NOT_THROUGH_THE_PACKAGE = {"heldout.sandbox.run"}
# Modules above the sandbox allowed more, each for its reason. Nothing else may import the
# Docker backend's modules (docker_backend, engine, runner, scratch, pool, accounting,
# options, outputs, image, doctor, seccomp...) or the Docker SDK.
EXCEPTIONS = {
    # `heldout deploy images` builds the docker-compose stack's images with the runtime
    # image's offline toolkit (debootstrap, wheelhouse) on the engine's client: it is
    # Docker tooling, not a user of the sandbox (its worker check goes through the door).
    "tools/heldout/tools/deploy.py": {"heldout.sandbox.image", "heldout.sandbox.engine"},
    # The benchmarks compare the Docker backend (its runner and warm pool driven directly)
    # with bare `docker run`s of the same jobs.
    "tools/heldout/tools/bench/bare.py": {"heldout.sandbox.engine", "heldout.sandbox.image",
                                          "heldout.sandbox.pool", "heldout.sandbox.runner"},
    # The kinds bench waits for the warm pool's containers of a bundle's profile's image.
    "tools/heldout/tools/bench/kinds.py": {"heldout.sandbox.docker_backend",
                                           "heldout.sandbox.image"},
}
ABOVE = [REPO / "platform" / "heldout", REPO / "graders" / "heldout", REPO / "tools" / "heldout"]


def sandbox_modules() -> set[str]:
    return {f"heldout.sandbox.{m.name}" for m in pkgutil.iter_modules([str(SOURCE)])}


def beyond_the_door(path: Path) -> list[str]:
    """What ``path`` imports of heldout.sandbox (or the Docker SDK) beyond the public door."""
    modules = sandbox_modules()
    bad = set()
    for name in imported_names(path):
        if name == "docker" or name.startswith("docker."):
            bad.add(name)
        elif not name.startswith("heldout.sandbox.") or name in PUBLIC:
            continue
        elif name in modules or name in NOT_THROUGH_THE_PACKAGE:
            bad.add(name)
        elif name.rpartition(".")[0] not in PUBLIC:  # a name inside a private module
            bad.add(name.rpartition(".")[0])
    return sorted(bad)


def modules_above() -> list[Path]:
    return sorted(p for root in ABOVE for p in root.rglob("*.py") if "migrations" not in p.parts)


def test_the_door_check_sees_a_way_round_it(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("from heldout.sandbox import Finding, get_sandbox, run\n"
                      "from heldout.sandbox.backend import Sandbox\n"
                      "def later():\n    from heldout.sandbox import engine, scratch\n"
                      "    from heldout.sandbox.docker_backend import DockerSandbox\n"
                      "    import docker.errors\n")
    assert beyond_the_door(sample) == ["docker.errors", "heldout.sandbox.docker_backend",
                                       "heldout.sandbox.engine", "heldout.sandbox.run",
                                       "heldout.sandbox.scratch"]


@pytest.mark.parametrize("path", modules_above(), ids=lambda p: str(p.relative_to(REPO)))
def test_the_layers_above_reach_the_sandbox_through_its_door(path: Path) -> None:
    allowed = EXCEPTIONS.get(str(path.relative_to(REPO)), set())
    bad = [name for name in beyond_the_door(path) if name not in allowed]
    assert bad == [], f"{path.relative_to(REPO)} reaches past the sandbox's door: {bad}"


@pytest.mark.parametrize("where", sorted(EXCEPTIONS))
def test_every_exception_is_still_needed(where: str) -> None:
    path = REPO / where
    assert path.exists(), f"{where} is gone: drop its exception"
    assert set(beyond_the_door(path)) == EXCEPTIONS[where]


def test_the_web_app_the_worker_and_the_grader_load_no_docker() -> None:
    """In a fresh interpreter: what the imports pull in transitively. The Docker backend
    loads when a sandbox is first used, never when these modules are imported."""
    code = ("import sys\n"
            "import heldout.platform.app, heldout.platform.worker, heldout.platform.doctor\n"
            "import heldout.platform.services.health, heldout.platform.views.admin\n"
            "import heldout.graders.evaluate, heldout.graders.cli\n"
            "loaded = sorted(m for m in sys.modules if m == 'docker' or m.startswith("
            "('docker.', 'heldout.sandbox.docker_backend', 'heldout.sandbox.engine', "
            "'heldout.sandbox.runner')))\n"
            "print(loaded)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
