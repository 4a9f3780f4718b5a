"""Invite tokens kept out of every log: the access log (server.py) and the error log (http.py).

An invite link's token is a credential until it is exchanged: a request's path, a Referer
quoting it, or an error's message and traceback must never repeat it.
"""

from __future__ import annotations

import logging
import re

INVITE_PATH = re.compile(r"/(?:i|%69)/[^/?#\s\"']+", re.IGNORECASE)
MASKED_INVITE_PATH = "/i/…"


def mask_invite_tokens(text: str) -> str:
    return INVITE_PATH.sub(MASKED_INVITE_PATH, text)


class InviteTokenFilter(logging.Filter):
    """Masks invite tokens in a record's message and in its traceback's text."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_invite_tokens(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_invite_tokens(record.exc_text)
        return True


def mask_logger(logger: logging.Logger) -> None:
    """Put the filter on ``logger`` (once, however many apps are made)."""
    if not any(isinstance(f, InviteTokenFilter) for f in logger.filters):
        logger.addFilter(InviteTokenFilter())
