"""Invite tokens: signed and dated by itsdangerous; the database keeps only their sha256."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "heldout.invite"


@dataclass(frozen=True)
class TokenCheck:
    """What the signature says: ``valid``, ``expired`` (signed by us, too old) or ``tampered``."""

    verdict: str


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=SALT)


def new_invite_token(secret: str) -> str:
    # The random nonce makes every token unique; nothing about the invite is inside.
    return _serializer(secret).dumps({"n": secrets.token_urlsafe(16)})


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_token(token: str, secret: str, max_age_seconds: int) -> TokenCheck:
    try:
        _serializer(secret).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        return TokenCheck("expired")
    except BadSignature:
        return TokenCheck("tampered")
    return TokenCheck("valid")
