"""``heldout backup`` and ``heldout restore``: the whole instance to one file and back."""

from __future__ import annotations

from pathlib import Path

import click

from heldout.platform.cli.common import load_app
from heldout.platform.errors import InvalidInput


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(out: Path) -> None:
    """Write the database and the stored files to OUT (.tar.gz), consistent while the
    instance runs. The file holds every secret of the instance: keep it as safe."""
    from heldout.platform.services import backup

    app = load_app()
    with app.app_context():
        try:
            manifest = backup.backup(out, data_dir=Path(app.config["HELDOUT_DATA_DIR"]))
        except InvalidInput as exc:
            raise click.ClickException(f"{exc.message} {exc.hint}".strip()) from None
    rows = sum(manifest.tables.values())
    click.echo(f"backed up {rows} rows of {len(manifest.tables)} tables and {manifest.files} "
               f"files (schema {manifest.revision}) to {out}")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(source: Path) -> None:
    """Restore a backup into this instance, whose database and data directory must be
    empty (HELDOUT_DATABASE_URL, HELDOUT_DATA_DIR)."""
    from heldout.platform.services import backup

    app = load_app()
    with app.app_context():
        try:
            manifest = backup.restore(source, data_dir=Path(app.config["HELDOUT_DATA_DIR"]))
        except InvalidInput as exc:
            raise click.ClickException(f"{exc.message} {exc.hint}".strip()) from None
    click.echo(f"restored {sum(manifest['tables'].values())} rows and {manifest['files']} "
               f"files from {source} (made {manifest['created_at']}); schema upgraded to the "
               "newest revision")
