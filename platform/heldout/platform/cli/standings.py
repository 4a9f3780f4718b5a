"""``heldout standings``: the stored totals, counted scores and percentile counts."""

from __future__ import annotations

import click

from heldout.platform.cli.common import load_app


@click.group("standings")
def standings_group() -> None:
    """Each attempt's settled total and counted scores, and the percentile counts the
    candidates table, exports and reports read (kept up to date as scores land)."""


@standings_group.command("rebuild")
def standings_rebuild() -> None:
    """Compute every standing again from the submissions and replace what is stored (a
    repair: grading keeps them up to date by itself)."""
    from heldout.platform.extensions import db
    from heldout.platform.services import standings

    app = load_app()
    with app.app_context():
        count = standings.rebuild(db.session)
        db.session.commit()
    click.echo(f"standings rebuilt for {count} attempts")
