"""SETTINGS.md is generated from config.py: the committed page must match the settings."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from heldout.platform.cli import main
from heldout.platform.settings import SETTINGS
from heldout.platform.settings_doc import DOCUMENT_PATH, render


def test_the_committed_settings_page_is_current() -> None:
    committed = DOCUMENT_PATH.read_text(encoding="utf-8")
    assert committed == render(), (
        "SETTINGS.md is stale: run `heldout settings --output "
        "platform/heldout/platform/SETTINGS.md` and commit it")


def test_every_setting_has_a_row() -> None:
    rows = [line for line in render().splitlines()
            if line.startswith(("| `HELDOUT_", "| `DOCKER_"))]
    assert [row.split("`")[1] for row in rows][:len(SETTINGS)] == [s.name for s in SETTINGS]


def test_the_sandbox_settings_are_on_the_page() -> None:
    from heldout.sandbox.settings import OPTIONS

    page = render()
    for option in OPTIONS:
        assert f"| `{option.name}` |" in page, option.name


def test_the_command_prints_and_writes_the_page(tmp_path: Path) -> None:
    printed = CliRunner().invoke(main, ["settings"], catch_exceptions=False)
    assert printed.exit_code == 0 and printed.output == render()
    target = tmp_path / "SETTINGS.md"
    written = CliRunner().invoke(main, ["settings", "--output", str(target)],
                                 catch_exceptions=False)
    assert written.exit_code == 0 and target.read_text(encoding="utf-8") == render()
