"""What the recruiter pages share: their blueprint, who may see them, the mail settings."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, current_app

from heldout.platform.errors import InvalidInput
from heldout.platform.services import mail

bp = Blueprint("staff", __name__)

STAFF = ("recruiter", "interviewer")
RECRUITERS = ("recruiter",)


def smtp_settings() -> mail.SmtpSettings | None:
    return mail.SmtpSettings.from_config(current_app.config)


def parse_expiry(value: str) -> datetime | None:
    """An expiry typed as a date: the end of that day, UTC (empty: none)."""
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise InvalidInput("The expiry date must look like 2025-12-31",
                           field="expires_at") from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
