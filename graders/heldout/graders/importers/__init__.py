"""Importers: challenges written for other platforms, turned into heldout bundles.

Each importer builds drafts (files in memory or in a scratch folder) and hands them to
:func:`heldout.graders.importers.staging.install`, which validates them and moves them into
the challenges directory all at once, or refuses with one line naming the file and why.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from heldout.graders.importers.codabench import Options, codabench_drafts
from heldout.graders.importers.nbgrader import nbgrader_draft
from heldout.graders.importers.staging import install


@dataclass(frozen=True)
class ImportReport:
    """What an import created, and what it left out or assumed (for the author to review)."""

    created: tuple[str, ...]
    notes: tuple[str, ...]


def import_codabench(zip_path: Path, challenges_dir: Path, options: Options | None = None
                     ) -> ImportReport:
    """One ``model_training`` bundle per task (v2) or phase (v1) of a CodaBench bundle."""
    with tempfile.TemporaryDirectory(prefix="heldout-import-") as work:
        drafts = codabench_drafts(zip_path, Path(work), options or Options())
        created = install(drafts, challenges_dir)
    return ImportReport(tuple(created), tuple(n for d in drafts for n in d.notes))


def import_nbgrader(notebook: Path, challenges_dir: Path, *, slug: str | None = None,
                    data_files: Sequence[Path] = ()) -> ImportReport:
    """One ``notebook`` bundle from an nbgrader source notebook."""
    draft = nbgrader_draft(notebook, slug=slug, data_files=data_files)
    return ImportReport(tuple(install([draft], challenges_dir)), tuple(draft.notes))


__all__ = ["ImportReport", "Options", "import_codabench", "import_nbgrader"]
