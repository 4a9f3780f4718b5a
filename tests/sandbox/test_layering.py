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
