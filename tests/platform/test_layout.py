"""The namespace-package layout that keeps the standard library's ``platform`` reachable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_no_init_files_shadow_the_namespace() -> None:
    assert not (REPO / "platform" / "__init__.py").exists()
    assert not (REPO / "platform" / "heldout" / "__init__.py").exists()


def test_stdlib_platform_still_imports_from_the_repo_root() -> None:
    code = "import platform, heldout.platform; print(platform.python_version())"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == platform_version()


def platform_version() -> str:
    import platform

    return platform.python_version()
