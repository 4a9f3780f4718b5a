"""The public REST API, ``/api/v1``: JSON over HTTP for scripts and other systems.

Built with flask-smorest: each operation's marshmallow schemas check its request and make
``/api/v1/openapi.json`` (read as a page at ``/api/v1/docs``). Every operation is called
with a personal API token (``Authorization: Bearer hld_…``, services/api_tokens.py) and
has the same role and team rules as the pages (``operation`` → ``authenticated``); views
call the same services as the pages and decide no rule themselves. Errors are problem
documents, as everywhere under ``/api/``. A token's calls are counted together against
``HELDOUT_API_RATE_LIMIT``.

The API takes no browser session: CSRF protection is off for this blueprint only, which is
safe because nothing here trusts a cookie.
"""

from __future__ import annotations

from flask import Flask, current_app

from heldout.platform.extensions import csrf, limiter
from heldout.platform.tokens import token_hash
from heldout.platform.views.api.auth import bearer_secret
from heldout.platform.views.api.v1 import (
    assessments,
    attempts,
    candidates,
    catalogue,
    docs,
    invites,
)
from heldout.platform.views.api.v1.base import bp, make_api
from heldout.platform.views.common import request_origin

__all__ = ["assessments", "attempts", "bp", "candidates", "catalogue", "docs", "init_app",
           "invites"]


def _rate_key() -> str:
    """Whose calls count together: a token's (by its hash: the secret is never kept), else
    the client address's."""
    secret = bearer_secret()
    if secret is not None:
        return "token:" + token_hash(secret)[:32]
    return "address:" + str(request_origin().ip)


def _rate_limit() -> str:
    return str(current_app.config["HELDOUT_API_RATE_LIMIT"])


csrf.exempt(bp)
limiter.shared_limit(_rate_limit, scope="api-v1", key_func=_rate_key)(bp)


def init_app(app: Flask) -> None:
    """Document the operations (the blueprint is registered with the API blueprint)."""
    make_api(app)
