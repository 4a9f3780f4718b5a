"""Greenhouse's Assessment Partner API, served from heldout's data.

Greenhouse calls four endpoints with HTTP Basic (the API key as the user name, no
password): ``list_tests`` (the assessments it may order), ``send_test`` (a candidate and a
test id; heldout invites the candidate and answers ``partner_interview_id``),
``test_status`` (polled until ``partner_status`` is ``complete``, with the score, a link to
the report and some details) and ``response_error`` (Greenhouse reports what it could not
take). Shapes follow Greenhouse's partner documentation. When the candidate is complete,
heldout also calls the ``url`` Greenhouse sent with the order (``callback_body``, sent by
services/ats/callbacks.py), so Greenhouse asks ``test_status`` at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from heldout.platform.errors import InvalidInput
from heldout.platform.models import Assessment, AtsOrder
from heldout.platform.services.ats import Standing

PROVIDER = "greenhouse"
COMPLETE = "complete"


def test_list(assessments: list[Assessment]) -> list[dict[str, str]]:
    return [{"partner_test_id": str(a.id), "partner_test_name": a.name}
            for a in assessments]


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


def parse_order(body: object) -> tuple[int, str, str, str, str]:
    """(assessment id, candidate name, e-mail, callback url, profile url) from ``send_test``."""
    if not isinstance(body, dict):
        raise InvalidInput("Send a JSON object.")
    test_id = _text(body, "partner_test_id") or str(body.get("partner_test_id") or "")
    if not test_id.isdigit():
        raise InvalidInput(f"Unknown partner_test_id {test_id!r}: use one from list_tests.",
                           field="partner_test_id")
    candidate = body.get("candidate")
    if not isinstance(candidate, dict):
        raise InvalidInput("candidate is missing (first_name, last_name, email).",
                           field="candidate")
    name = " ".join(part for part in (_text(candidate, "first_name"),
                                      _text(candidate, "last_name")) if part)
    email = _text(candidate, "email")
    if not email:
        raise InvalidInput("candidate.email is missing.", field="email")
    return (int(test_id), name or email.split("@")[0], email, _text(body, "url"),
            _text(candidate, "greenhouse_profile_url"))


def status(order: AtsOrder, standing: Standing, report_url: str) -> dict[str, Any]:
    """``test_status``'s answer."""
    answer: dict[str, Any] = {"partner_status": COMPLETE if standing.complete
                              else str(standing.state)}
    if standing.complete:
        answer["partner_profile_url"] = report_url
        answer["partner_score"] = None if standing.total is None else round(standing.total, 1)
        metadata = {slug: ("not submitted" if score is None else f"{score:g} / 100")
                    for slug, score in standing.scores.items()}
        if standing.time_used is not None:
            metadata["Time used"] = f"{round(standing.time_used.total_seconds() / 60)} minutes"
        answer["metadata"] = metadata
    return answer


def callback_body(order: AtsOrder) -> dict[str, Any]:
    """What the ``PATCH`` to the order's ``url`` says: this interview is complete."""
    return {"partner_interview_id": order.public_id, "partner_status": COMPLETE}
