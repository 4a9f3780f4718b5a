"""E-mail to candidates (invites, links, feedback): rendered from templates/email/, sent
through SMTP with smtplib."""

from __future__ import annotations

import smtplib
import ssl
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import render_template
from flask_babel import force_locale, gettext

from heldout.platform import i18n
from heldout.platform.errors import InvalidInput
from heldout.platform.i18n import N_
from heldout.platform.services.accounts import normalise_email

SMTP_TIMEOUT_SECONDS = 15
# What each e-mail is about: its subject line and the template of its body. Candidates'
# e-mails are in the candidate pages' language (HELDOUT_LANGUAGE); the test e-mail goes to
# staff, in English.
KINDS = {
    "invite": N_("You are invited to %(assessment)s"),
    "resend": N_("A new link for %(assessment)s"),
    "continue": N_("Continue %(assessment)s on another device"),
    "extend": N_("More time to start %(assessment)s"),
    "feedback": N_("Your feedback from %(assessment)s"),
    "test": "heldout test e-mail",
}
STAFF_KINDS = ("test",)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str
    password: str
    sender: str
    starttls: bool

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings | None:
        """The SMTP settings, or None when no server is configured (links go by download)."""
        host = str(config.get("HELDOUT_SMTP_HOST") or "")
        if not host:
            return None
        return cls(host=host, port=int(config["HELDOUT_SMTP_PORT"]),
                   user=str(config["HELDOUT_SMTP_USER"]),
                   password=str(config["HELDOUT_SMTP_PASSWORD"]),
                   sender=str(config["HELDOUT_SMTP_FROM"]),
                   starttls=bool(config["HELDOUT_SMTP_STARTTLS"]))


@dataclass(frozen=True)
class Outgoing:
    """One e-mail to send: whom to, what about, and the values its template reads."""

    to_name: str
    to_email: str
    kind: str
    context: Mapping[str, Any]


class MailError(Exception):
    """The SMTP server could not be reached or refused a message."""


def compose(mail: Outgoing, *, sender: str) -> EmailMessage:
    """The message for ``mail``; ``ValueError`` (``InvalidInput`` for an address that is not
    one plain mailbox) when it can't be made.

    Names and the assessment's name are typed by people: the headers are built by the
    email package (``Address`` quotes and escapes a display name), never by formatting,
    and are one line whatever was stored.
    """
    if mail.kind not in KINDS:
        raise ValueError(f"unknown e-mail kind {mail.kind!r}; known: {', '.join(KINDS)}")
    language = i18n.STAFF_LANGUAGE if mail.kind in STAFF_KINDS else i18n.default_language()
    with force_locale(i18n.FORMATS[language]):
        subject = gettext(KINDS[mail.kind], assessment=mail.context.get("assessment", ""))
        body = render_template(f"email/{mail.kind}.txt", to_name=mail.to_name, **mail.context)
    message = EmailMessage()
    message["Subject"] = _one_line(subject)
    message["From"] = sender
    message["To"] = Address(display_name=_one_line(mail.to_name),
                            addr_spec=normalise_email(mail.to_email))
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip("> ") or None)
    message.set_content(body)
    return message


def _one_line(text: str) -> str:
    return " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch
                            for ch in text).split())


def send_all(settings: SmtpSettings, mails: list[Outgoing]) -> list[str | None]:
    """Send every mail over one connection; per mail None (accepted) or why it failed.

    A connection or login failure raises ``MailError``: nothing was sent.
    """
    try:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_SECONDS)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"could not reach {settings.host}:{settings.port}: {exc}") from exc
    results: list[str | None] = []
    try:
        try:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.user:
                smtp.login(settings.user, settings.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"{settings.host}:{settings.port} refused the session: {exc}") \
                from exc
        for mail in mails:
            try:
                message = compose(mail, sender=settings.sender)
            except (ValueError, InvalidInput) as exc:
                # One bad row costs its own mail only: the links were committed before.
                results.append(f"not sent: {exc}")
                continue
            try:
                smtp.send_message(message)
            except smtplib.SMTPRecipientsRefused as exc:
                results.append(f"the server refused {mail.to_email}: {exc.recipients}")
            except (OSError, smtplib.SMTPException, ValueError) as exc:
                results.append(f"not sent: {exc}")
            else:
                results.append(None)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return results


def send_test(settings: SmtpSettings | None, *, to_name: str, to_email: str,
              org_name: str) -> None:
    """A test e-mail to the signed-in staff member; ``InvalidInput`` saying what failed."""
    if settings is None:
        raise InvalidInput("No SMTP server is configured, so no e-mail can be sent.",
                           hint="Set HELDOUT_SMTP_HOST and HELDOUT_SMTP_FROM on the server.")
    try:
        (error,) = send_all(settings, [Outgoing(to_name, to_email, "test",
                                                {"org_name": org_name, "assessment": ""})])
    except MailError as exc:
        raise InvalidInput(f"The test e-mail was not sent: {exc}",
                           hint="Check the HELDOUT_SMTP_* settings.") from exc
    if error is not None:
        raise InvalidInput(f"The test e-mail was not sent: {error}")
