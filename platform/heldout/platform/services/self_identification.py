"""Voluntary self-identification: the questions a candidate may answer before starting.

Every question is optional and "Prefer not to say" comes preselected. The answers go to
their own table (``SelfIdentification``): no name, no e-mail, no times; the attempt is
named by id only so the adverse-impact report can count scores per group and the
candidate's own export and erasure (services/stewardship.py) find the row. Nothing shows
them beside a name: not the reports, reviews, the candidates table nor its exports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext

from heldout.platform.errors import InvalidInput
from heldout.platform.i18n import N_
from heldout.platform.settings import self_id_categories

PREFER_NOT_TO_SAY = N_("Prefer not to say")
FIELD_PREFIX = "self_id_"


@dataclass(frozen=True)
class Question:
    """One category the candidate may answer, as the landing page's form asks it."""

    field: str          # the form field's name
    category: str
    answers: tuple[str, ...]


def questions() -> tuple[Question, ...]:
    """The categories this installation asks about (``HELDOUT_SELF_ID_CATEGORIES``)."""
    return tuple(Question(f"{FIELD_PREFIX}{number}", category, answers)
                 for number, (category, answers) in enumerate(
                     self_id_categories(current_app.config["HELDOUT_SELF_ID_CATEGORIES"])))


def answers_from(form: Mapping[str, str], asked: tuple[Question, ...]) -> dict[str, str]:
    """The categories answered (an empty or missing field: "Prefer not to say", left out).
    An answer that is not one of the question's is refused."""
    chosen: dict[str, str] = {}
    for question in asked:
        value = form.get(question.field, "").strip()
        if not value or value == PREFER_NOT_TO_SAY:
            continue
        if value not in question.answers:
            raise InvalidInput(gettext("Choose one of the listed answers for %(category)s, "
                                       "or %(none)s.", category=question.category,
                                       none=gettext(PREFER_NOT_TO_SAY)), field=question.field)
        chosen[question.category] = value
    return chosen
