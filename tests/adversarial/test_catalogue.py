"""The attack catalogue itself: big enough, covering every area, documented in README.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

README = Path(__file__).with_name("README.md")
REQUIRED = {"time", "memory", "processes", "output", "links", "special files", "odd names",
            "filesystem", "privilege", "network", "grading integrity"}


def test_there_are_at_least_forty_attacks(catalogue: dict[str, Any]) -> None:
    assert len(catalogue) >= 40


def test_every_area_of_the_threat_model_is_attacked(catalogue: dict[str, Any]) -> None:
    assert {attack.category for attack in catalogue.values()} >= REQUIRED


def test_some_attacks_also_run_in_warm_containers(catalogue: dict[str, Any]) -> None:
    warm = {attack.category for attack in catalogue.values() if attack.warm}
    assert {"time", "memory", "processes", "privilege", "grading integrity"} <= warm


def test_readme_lists_every_attack_with_its_expected_outcome(catalogue: dict[str, Any]) -> None:
    text = README.read_text(encoding="utf-8").split("## The attacks", 1)[1]
    rows = dict(re.findall(r"^\| `([a-z0-9_]+)` \|.*\| (.+?) \|$", text, re.MULTILINE))
    wanted = {name: row(attack) for name, attack in catalogue.items()}
    missing = [wanted[name] for name in sorted(set(wanted) - set(rows))]
    assert not missing, "add these rows to README.md's table:\n" + "\n".join(missing)
    assert not set(rows) - set(wanted), f"README.md lists unknown attacks {set(rows) - set(wanted)}"
    stale = [wanted[name] for name, attack in catalogue.items()
             if rows[name] != attack.expect.replace("|", "\\|")]
    assert not stale, "update these rows of README.md's table:\n" + "\n".join(stale)


def row(attack: Any) -> str:
    route = attack.route + (" + warm" if attack.warm else "")
    cells = (f"`{attack.name}`", attack.category, route, attack.summary, attack.expect)
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def test_attack_files_name_only_known_placeholders(catalogue: dict[str, Any]) -> None:
    known = {"__LABEL_CANARY_HEX__", "__ENV_SECRET_HEX__", "__VICTIM_SECRET_HEX__",
             "__HIDDEN_DIR__", "__REPO_HIDDEN_DIR__", "__HOST_FILES__",
             "__HOST_PORT__", "__HOST_ADDRS__", "__HOST_ABSTRACT__", "__OTHER_RUN_DIR__",
             "__HOST_CANARY__"}
    for attack in catalogue.values():
        used = set(re.findall(r"__[A-Z][A-Z_]*__", attack.path.read_text(encoding="utf-8")))
        assert used <= known, f"{attack.name}: unknown placeholders {used - known}"
