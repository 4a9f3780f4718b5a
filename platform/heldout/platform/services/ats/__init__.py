"""Applicant-tracking systems: an ATS orders an assessment for a candidate and asks how it
went. What every ATS needs lives here (the tests it may order, an order that makes an
invite, where the order stands); each ATS's wire format is a module of its own
(``greenhouse``), so another (Lever, Workday) is one more module and one more set of routes.
An ATS calls with an API token of a staff member (services/api_tokens.py): it sees and
orders what that person may, with the ``invite`` scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.extensions import db
from heldout.platform.models import Assessment, AtsOrder
from heldout.platform.services import access, attempts, candidates, invites
from heldout.platform.services.access import StaffViewer
from heldout.platform.services.accounts import normalise_email

MAX_URL = 1000


def tests(viewer: StaffViewer) -> list[Assessment]:
    """The assessments the ATS may order: open, and visible to the token's owner."""
    query = access.visible_assessments(viewer).where(Assessment.archived.is_(False))
    return list(db.session.scalars(query.order_by(Assessment.id)))


def _assessment(viewer: StaffViewer, assessment_id: int) -> Assessment:
    assessment = db.session.get(Assessment, assessment_id)
    if assessment is None or assessment.archived or not access.can_see(viewer, assessment):
        raise NotFound(f"No open assessment {assessment_id}")
    return assessment


@dataclass(frozen=True)
class Order:
    order: AtsOrder
    link_token: str     # the invite link's token to hand over ("": handed over before)


def place(viewer: StaffViewer, *, provider: str, assessment_id: int, name: str, email: str,
          callback_url: str, profile_url: str, secret: str, ttl_days: int,
          now: datetime) -> Order:
    """Invite the candidate to the assessment for the ATS. Ordering again what this ATS
    already ordered (a retried call) answers the same order and sends nothing; an address
    invited to the assessment some other way is refused, as the pages refuse it."""
    assessment = _assessment(viewer, assessment_id)
    address = normalise_email(email)
    earlier = invites.already_invited(assessment.id, [address]).get(address)
    if earlier is not None:
        order = db.session.scalars(select(AtsOrder).where(
            AtsOrder.invite_id == earlier.id, AtsOrder.provider == provider)).first()
        if order is None:
            raise InvalidInput(f"{address} is already invited to this assessment.",
                               field="email")
        return Order(order, "")
    for url, field in ((callback_url, "url"), (profile_url, "profile_url")):
        if len(url) > MAX_URL:
            raise InvalidInput(f"{field} is longer than {MAX_URL} characters.", field=field)
    created = invites.create_invite(assessment_id=assessment.id, candidate_name=name,
                                    candidate_email=email, created_by_id=viewer.user.id,
                                    secret=secret, ttl_days=ttl_days, now=now, delivery="api")
    order = AtsOrder(provider=provider, invite_id=created.invite.id, callback_url=callback_url,
                     profile_url=profile_url, created_at=now, last_error="")
    db.session.add(order)
    db.session.commit()
    return Order(order, created.token)


def get_order(viewer: StaffViewer, provider: str, public_id: str) -> AtsOrder:
    order = db.session.scalars(select(AtsOrder).where(AtsOrder.public_id == public_id,
                                                      AtsOrder.provider == provider)).first()
    if order is None or not access.can_see(viewer, order.invite.assessment):
        raise NotFound(f"No order {public_id!r}")
    return order


@dataclass(frozen=True)
class Standing:
    """Where an order stands, as every ATS is told."""

    state: str                       # the invite's state: sent, opened, started, finished…
    complete: bool                   # the work all in and graded (attempts.work_complete)
    total: float | None              # the attempt's total (0-100) once complete
    scores: dict[str, float | None]  # per challenge slug
    time_used: timedelta | None
    attempt_id: int | None


def standing(viewer: StaffViewer | None, order: AtsOrder, *, now: datetime) -> Standing:
    """The order's candidate as the candidates table shows them (the same counted
    submissions and totals as every page and export). ``viewer``: the ATS's token owner
    (``None``: heldout itself, deciding whether to call the ATS back)."""
    invite = order.invite
    _, rows = candidates.every_row(
        invite.assessment_id, candidates.TableQuery(search=invite.candidate_email), now=now,
        viewer=viewer)
    row = next((r for r in rows if r.invite.id == invite.id), None)
    if row is None:
        raise NotFound(f"No order {order.public_id!r}")
    complete = attempts.work_complete(row.attempt, row.results)
    return Standing(row.state, complete, row.total if complete else None,
                    {r.challenge.slug: r.score for r in row.results}, row.time_used,
                    row.attempt.id if row.attempt is not None else None)


def record_error(order: AtsOrder, message: str) -> None:
    order.last_error = message[:4000]
    db.session.commit()
