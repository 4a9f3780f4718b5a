"""``heldout doctor`` and ``heldout settings``: whether this installation works, and its settings."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from heldout.platform.cli.common import load_app


@click.command("settings")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the page to this file (SETTINGS.md) instead of printing it.")
def settings_command(output: Path | None) -> None:
    """Every setting with its default and meaning: the page SETTINGS.md holds."""
    from heldout.platform.settings_doc import render

    if output is None:
        click.echo(render(), nl=False)
    else:
        output.write_text(render(), encoding="utf-8")


@click.command("doctor")
def doctor_command() -> None:
    """Check engine, image, database, queue and challenges; exit 1 if a required one fails."""
    from heldout.platform.doctor import findings

    failed = False
    for finding in findings(load_app()):
        mark = "ok  " if finding.ok else ("FAIL" if finding.required else "warn")
        click.echo(f"[{mark}] {finding.name}: {finding.detail}")
        if not finding.ok and finding.fix:
            click.echo(f"       fix: {finding.fix}")
        failed = failed or (finding.required and not finding.ok)
    if failed:
        sys.exit(1)
