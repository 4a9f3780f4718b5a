"""heldout.graders stays below the web app: no Flask, no database, no package __init__."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "graders" / "heldout" / "graders"


def test_heldout_stays_a_namespace_package() -> None:
    assert not (REPO / "graders" / "heldout" / "__init__.py").exists()
    assert not (REPO / "graders" / "__init__.py").exists()


def test_no_web_or_database_imports_in_the_source() -> None:
    for path in SOURCE.rglob("*.py"):
        text = path.read_text()
        for banned in ("import flask", "from flask", "sqlalchemy", "heldout.platform"):
            assert banned not in text, f"{path.relative_to(REPO)} mentions {banned}"


def test_importing_the_cli_loads_no_web_app_or_database() -> None:
    code = ("import sys, heldout.graders.cli; "
            "bad = [m for m in ('flask', 'sqlalchemy', 'heldout.platform') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
