"""Telling an applicant-tracking system that its candidate is done.

An order carries the address the ATS wants to be called back at (Greenhouse's ``url`` in
``send_test``). Once the order's candidate is complete (finished, the deadline's drafts
submitted, every submission graded: ``attempts.work_complete`` through ``ats.standing``, the
rule ``test_status`` answers by; checked each time an attempt closes, a submission is
graded or the deadline job settles a challenge's drafts: the app registers
``completion_due`` with ``webhooks.on_progress``), one delivery is written to
that address, in the caller's transaction: the worker sends it after the commit, with the
webhooks' tries, back-off and log (services/webhook_sending.py). The ATS then asks
``test_status`` for the results, as it would on its own schedule; the callback only saves
it the wait.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from heldout.platform.extensions import db
from heldout.platform.models import AtsOrder, Attempt, WebhookDelivery
from heldout.platform.services import ats
from heldout.platform.services.ats import greenhouse

EVENT = "ats.complete"
# Each ATS's callback body, by the order's provider.
BODIES: dict[str, Callable[[AtsOrder], dict[str, Any]]] = {
    greenhouse.PROVIDER: greenhouse.callback_body,
}


def completion_due(attempt: Attempt, now: datetime) -> WebhookDelivery | None:
    """Write the callback of the order behind ``attempt`` if its candidate is now complete
    and the ATS has not been called back for it yet; ``None`` when nothing is due."""
    order = db.session.scalars(select(AtsOrder).where(
        AtsOrder.invite_id == attempt.invite_id)).first()
    if order is None or not order.callback_url or order.provider not in BODIES:
        return None
    if db.session.scalar(select(WebhookDelivery.id).where(
            WebhookDelivery.ats_order_id == order.id).limit(1)) is not None:
        return None  # called back before (a regrade is read from test_status)
    if not ats.standing(None, order, now=now).complete:
        return None
    delivery = WebhookDelivery(
        endpoint_id=None, ats_order_id=order.id, event=EVENT, status="pending", tries=0,
        body=json.dumps(BODIES[order.provider](order), sort_keys=True, separators=(",", ":")),
        next_try_at=now, created_at=now, response_body="", error="")
    db.session.add(delivery)
    return delivery


RECENT = 50


def recent(limit: int = RECENT) -> list[WebhookDelivery]:
    """The latest callbacks to every ATS, newest first, with their orders (the admin's
    webhooks page)."""
    return list(db.session.scalars(select(WebhookDelivery).where(
        WebhookDelivery.ats_order_id.is_not(None)).order_by(WebhookDelivery.id.desc())
        .limit(limit)))
