"""Webhook endpoints and deliveries, and orders from applicant-tracking systems."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ForeignKey,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, new_public_id, utcnow

# The statuses of the columns below live with the rules that read them.

if TYPE_CHECKING:
    from heldout.platform.models.attempts import Invite
    from heldout.platform.models.people import Team


class WebhookEndpoint(Base):
    """A team's receiver of events (services/webhooks.py). ``secret`` signs every delivery;
    it must be kept to sign, so it is stored as it is and shown to the admin once."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(String(200), default="")
    events: Mapped[list[Any]] = mapped_column(default=list)
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    team: Mapped[Team] = relationship(lazy="joined")


class WebhookDelivery(Base):
    """One event for one receiver: a team's endpoint, or the callback address of an order
    from an applicant-tracking system (``ats_order_id``; services/ats/). Its body as sent,
    and how the tries went. ``status``: pending (a try is due at ``next_try_at``), sending
    (a worker holds it until ``lease_expires_at``), delivered, failed (tries used up, or the
    endpoint removed)."""

    __tablename__ = "webhook_delivery"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=new_public_id)
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True)
    ats_order_id: Mapped[int | None] = mapped_column(
        ForeignKey("ats_order.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    tries: Mapped[int] = mapped_column(default=0)
    next_try_at: Mapped[datetime | None]
    lease_expires_at: Mapped[datetime | None]
    response_status: Mapped[int | None]
    response_body: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_try_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]

    endpoint: Mapped[WebhookEndpoint | None] = relationship(lazy="joined")
    ats_order: Mapped[AtsOrder | None] = relationship(lazy="joined")


class AtsOrder(Base):
    """An assessment ordered from an applicant-tracking system (services/ats/): the invite it
    made, and where the ATS wants to hear back. ``provider``: "greenhouse", …"""

    __tablename__ = "ats_order"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True, default=new_public_id)
    provider: Mapped[str] = mapped_column(String(20))
    invite_id: Mapped[int] = mapped_column(ForeignKey("invite.id"), unique=True)
    callback_url: Mapped[str] = mapped_column(String(1000), default="")
    profile_url: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the ATS last reported as wrong with our answers (its error callback), if anything.
    last_error: Mapped[str] = mapped_column(Text, default="")

    invite: Mapped[Invite] = relationship()
