"""A local SMTP server for the tests (aiosmtpd on 127.0.0.1): what it accepted, in order."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

LINK = re.compile(r"http://heldout\.test/i/(\S+)")


@dataclass
class Inbox:
    """What the local SMTP server accepted."""

    port: int
    messages: list[tuple[Envelope, Message]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        self.messages.append((envelope, message_from_bytes(content)))
        return "250 Message accepted"

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.startswith("bounce"):
            return "550 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def body(self, index: int = -1) -> str:
        payload = self.messages[index][1].get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode("utf-8")

    def link_token(self, index: int = -1) -> str:
        match = LINK.search(self.body(index))
        assert match, self.body(index)
        return match.group(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                 auth_data: Any) -> AuthResult:
    # handled=False: the server answers a refusal with 535 (aiosmtpd's default, True, sends
    # nothing, and the client waits out its 15 s timeout).
    return AuthResult(success=auth_data.login == b"mailer" and auth_data.password == b"s3cret",
                      handled=False)
