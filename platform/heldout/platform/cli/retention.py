"""``heldout retention``: what is kept how long, and deleting what is past it now."""

from __future__ import annotations

from pathlib import Path

import click

from heldout.platform.cli.common import load_app


@click.group("retention")
def retention_group() -> None:
    """Retention periods (HELDOUT_RETENTION_* settings) and the job that applies them."""


@retention_group.command("run")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
def retention_run(dry_run: bool) -> None:
    """Delete what is past its retention period now (the worker does it daily)."""
    from heldout.platform.blobs import BlobStore
    from heldout.platform.models import utcnow
    from heldout.platform.services import retention

    app = load_app()
    with app.app_context():
        days = retention.periods(app.config)
        run = retention.apply(app.config, now=utcnow(), dry_run=dry_run,
                              blobs=BlobStore(Path(app.config["HELDOUT_DATA_DIR"]) / "blobs"))
    for data_class in retention.CLASSES:
        kept = days[data_class.key]
        click.echo(f"{data_class.label}: " + (f"{kept} days" if kept else "kept (no limit)"))
    verb = "would remove" if dry_run else "removed"
    found = ", ".join(f"{count} {what}" for what, count in run.removed.items()) or "nothing"
    click.echo(f"{verb}: {found}; files: {run.blobs_removed}")
