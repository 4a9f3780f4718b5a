"""The candidates table as CSV or JSON, for spreadsheets and other tools.

Each challenge names the submission that counts (``submission:<slug>``, ``submissions``),
the one the report shows and the candidate was told counts.

CSV cells that a spreadsheet would read as a formula become text (``spreadsheets``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from heldout.platform.services.candidates import CandidateRow, CandidatesTable
from heldout.platform.services.spreadsheets import escape_cell


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


def to_json(table: CandidatesTable) -> str:
    payload = {
        "assessment": {"id": table.assessment.id, "name": table.assessment.name,
                       "challenges": [c.slug for c in table.assessment.challenges]},
        "candidates": [row_record(row) for row in table.rows],
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def to_csv(table: CandidatesTable) -> str:
    slugs: Sequence[str] = [c.slug for c in table.assessment.challenges]
    header = ["candidate", "email", "status", "started_at", "time_used_seconds",
              *(f"score:{slug}" for slug in slugs), "total", "percentile", "review_status",
              "recommendation", *(f"submission:{slug}" for slug in slugs)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in table.rows:
        record = row_record(row)
        values = [record["candidate"], record["email"], record["status"],
                  record["started_at"], record["time_used_seconds"],
                  *(record["scores"][slug] for slug in slugs), record["total"],
                  record["percentile"], record["review_status"], record["recommendation"],
                  *(record["submissions"][slug] for slug in slugs)]
        writer.writerow([escape_cell(_csv_value(v)) if isinstance(v, str) else _csv_value(v)
                         for v in values])
    return out.getvalue()
