"""``heldout import``: bring challenges written for CodaBench or nbgrader into the catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import click

from heldout.graders.bundle import default_challenges_dir, display_path
from heldout.graders.cli import CHALLENGES_DIR_OPTION
from heldout.graders.errors import ImportRefused
from heldout.graders.importers import ImportReport, Options, import_codabench, import_nbgrader

JSON_OPTION = click.option("--json", "as_json", is_flag=True,
                           help='Print {"created": [slug, ...]} as one JSON object.')
SLUG_OPTION = click.option("--slug", default=None,
                           help="The new challenge's slug (default: from the title or file name).")


def _report(report: ImportReport, challenges_dir: Path, as_json: bool) -> None:
    for note in report.notes:  # to stderr: stdout stays one JSON object with --json
        click.echo(f"note: {note}", err=True)
    if as_json:
        click.echo(json.dumps({"created": list(report.created)}))
        return
    for slug in report.created:
        click.echo(f"created {display_path(challenges_dir / slug)}")
    click.echo("next: `heldout challenges check " + " ".join(report.created) + "` grades its "
               "solutions in the sandbox")


@click.group("import")
def import_group() -> None:
    """Turn a CodaBench bundle or an nbgrader notebook into challenge bundles.

    Bundles are written to a staging folder, validated, then moved into the challenges
    directory together; a refusal writes nothing and exits 1 with one line naming the file.
    """


@import_group.command("codabench")
@click.argument("bundle", metavar="BUNDLE.zip", type=click.Path(dir_okay=False, path_type=Path))
@CHALLENGES_DIR_OPTION
@JSON_OPTION
@SLUG_OPTION
@click.option("--metric", default=None,
              help="The heldout metric to score with, when the scoring program's can't be told.")
@click.option("--id-column", default=None, help="The labels' id column (default: the first).")
@click.option("--label-column", default=None,
              help="The labels' column (default: the one beside the id column).")
@click.option("--prediction-column", default=None,
              help="The predictions' column the programs write (default: the label column).")
def codabench_command(bundle: Path, challenges_dir: Path | None, as_json: bool, slug: str | None,
                      metric: str | None, id_column: str | None, label_column: str | None,
                      prediction_column: str | None) -> None:
    """One model_training challenge per task (competition.yaml v2) or phase (v1).

    Input data become public/, the reference labels hidden/, the starting kit starter/
    (and a case), each solution a solutions/ case. Refused: a bundle whose hidden files
    (same bytes) or labels (same column) also sit in its public data.
    """
    target = challenges_dir or default_challenges_dir()
    options = Options(metric=metric, id_column=id_column, label_column=label_column,
                      prediction_column=prediction_column, slug=slug)
    try:
        report = import_codabench(bundle, target, options)
    except ImportRefused as exc:
        raise click.ClickException(str(exc)) from exc
    _report(report, target, as_json)


@import_group.command("nbgrader")
@click.argument("source", metavar="SOURCE.ipynb", type=click.Path(dir_okay=False, path_type=Path))
@CHALLENGES_DIR_OPTION
@JSON_OPTION
@SLUG_OPTION
@click.option("--data", "data_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="A data file the notebook reads (public/, mounted at /data); repeatable.")
def nbgrader_command(source: Path, challenges_dir: Path | None, as_json: bool, slug: str | None,
                     data_files: tuple[Path, ...]) -> None:
    """One notebook challenge from an nbgrader source notebook.

    The release version (solutions stubbed, hidden tests dropped) is the starter, the
    source the reference, and the autograded test cells are graded with their points.
    """
    target = challenges_dir or default_challenges_dir()
    try:
        report = import_nbgrader(source, target, slug=slug, data_files=data_files)
    except ImportRefused as exc:
        raise click.ClickException(str(exc)) from exc
    _report(report, target, as_json)
