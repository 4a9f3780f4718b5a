"""The candidates table as CSV or JSON, for spreadsheets and other tools, written as the
rows are read (``candidates.every_row``): the first bytes leave at once and memory stays
the same whatever the number of candidates.

Each challenge names the submission that counts (``submission:<slug>``, ``submissions``),
the one the report shows and the candidate was told counts.

CSV cells that a spreadsheet would read as a formula become text (``spreadsheets``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from heldout.platform.extensions import db
from heldout.platform.models import Assessment, User
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.candidates import CandidateRow, TableQuery, every_row
from heldout.platform.services.integrity_signals import DEFAULT_PASTE_CHARS, SignalContext
from heldout.platform.services.spreadsheets import escape_cell

Writer = Callable[[Assessment, Iterable[CandidateRow]], Iterator[str]]


def streamed(write: Writer, assessment_id: int, query: TableQuery, *, now: datetime,
             viewer_id: int | None, paste_chars: int = DEFAULT_PASTE_CHARS) -> Iterator[str]:
    """The export ``write`` makes of the matching rows, read as it is sent. Nothing runs
    before the first chunk is asked for, so everything is read in the session of the
    response's streaming (the view's own is closed by then): the viewer too, by id.
    ``paste_chars``: the instance's threshold for the "signals" filter (``SignalContext``)."""
    user = db.session.get(User, viewer_id) if viewer_id is not None else None
    viewer = StaffViewer.of(user) if user is not None else None
    assessment, rows = every_row(assessment_id, query, now=now, viewer=viewer,
                                 signals=SignalContext(viewer, paste_chars))
    yield from write(assessment, rows)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def row_record(row: CandidateRow) -> dict[str, Any]:
    """One candidate as plain data (JSON types only)."""
    return {
        "candidate": row.invite.candidate_name,
        "email": row.invite.candidate_email,
        "status": row.state,
        "attempt_id": row.attempt.id if row.attempt is not None else None,
        "started_at": row.attempt.started_at.isoformat() if row.attempt is not None else None,
        "time_used_seconds": round(row.time_used.total_seconds())
        if row.time_used is not None else None,
        "scores": {r.challenge.slug: _rounded(r.score) for r in row.results},
        "challenge_states": {r.challenge.slug: r.state for r in row.results},
        "versions": {r.challenge.slug: r.graded_version for r in row.results},
        "submissions": {r.challenge.slug: r.counted.id if r.counted is not None else None
                        for r in row.results},
        "total": _rounded(row.total),
        "percentile": _rounded(row.percentile),
        "review_status": row.review_status,
        # None too while the viewer's own review is not submitted (reviews are blind).
        "recommendation": row.review.consensus if row.review is not None else None,
    }


def json_chunks(assessment: Assessment, rows: Iterable[CandidateRow]) -> Iterator[str]:
    """The export as JSON, written as the rows are read: the same text as ``json.dumps``
    of the whole document with ``indent=2``, one candidate at a time."""
    head = {"id": assessment.id, "name": assessment.name,
            "challenges": [c.slug for c in assessment.challenges]}
    yield '{\n  "assessment": ' + _indented(head, "  ") + ',\n  "candidates": ['
    first = True
    for row in rows:
        yield ("\n    " if first else ",\n    ") + _indented(row_record(row), "    ")
        first = False
    yield "]\n}" if first else "\n  ]\n}"


def _indented(value: Any, prefix: str) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + prefix)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def csv_chunks(assessment: Assessment, rows: Iterable[CandidateRow]) -> Iterator[str]:
    """The export as CSV, a line per candidate, written as the rows are read."""
    slugs: Sequence[str] = [c.slug for c in assessment.challenges]
    header = ["candidate", "email", "status", "started_at", "time_used_seconds",
              *(f"score:{slug}" for slug in slugs), "total", "percentile", "review_status",
              "recommendation", *(f"submission:{slug}" for slug in slugs)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    yield out.getvalue()
    for row in rows:
        out.seek(0)
        out.truncate()
        record = row_record(row)
        values = [record["candidate"], record["email"], record["status"],
                  record["started_at"], record["time_used_seconds"],
                  *(record["scores"][slug] for slug in slugs), record["total"],
                  record["percentile"], record["review_status"], record["recommendation"],
                  *(record["submissions"][slug] for slug in slugs)]
        writer.writerow([escape_cell(_csv_value(v)) if isinstance(v, str) else _csv_value(v)
                         for v in values])
        yield out.getvalue()
