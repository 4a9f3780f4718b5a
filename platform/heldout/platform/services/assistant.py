"""The AI policy of an assessment, the candidate's disclosure, and the workspace's AI assistant.

An assessment states what its candidates may do with AI tools (``AiPolicy``): nothing (the
default), anything they then disclose before finishing, or the assistant of the workspace,
whose whole conversation is kept for the report.

The assistant is a chat API the operator points heldout at (``HELDOUT_AI_URL``: any server
speaking the OpenAI chat-completions protocol, ideally one on their own hosts). The web app
makes the request itself, so the key never reaches a browser, and with no URL set nothing
is sent anywhere and the policy can't be chosen. Each request waits at most
``HELDOUT_AI_TIMEOUT_SECONDS`` in all (not per read), holds no database transaction while
it waits, and is answered one at a time per attempt; the tokens the server counts
(``usage``) are summed per attempt against ``HELDOUT_AI_TOKEN_BUDGET``.
"""

from __future__ import annotations

import http.client
import json
import math
import ssl
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext
from sqlalchemy import func, select

from heldout.platform.errors import (
    AssistantBusy,
    AssistantFailed,
    AssistantOff,
    AssistantUsedUp,
    InvalidInput,
)
from heldout.platform.extensions import db
from heldout.platform.i18n import format_number
from heldout.platform.models import AiMessage, Assessment, Attempt, Challenge
from heldout.platform.services import attempts
from heldout.platform.statuses import AiPolicy

CANDIDATE = "candidate"
ASSISTANT = "assistant"
ERROR = "error"

MAX_QUESTION_CHARS = 4000
MAX_DISCLOSURE_CHARS = 2000
# Earlier turns of the same challenge sent back with a question, so the model follows the
# conversation (each costs tokens again: the budget counts what the server counts).
MAX_CONTEXT_TURNS = 12
MAX_REPLY_TOKENS = 1500
MAX_RESPONSE_BYTES = 1024 * 1024

LABELS = {
    AiPolicy.NOT_ALLOWED: "AI not allowed",
    AiPolicy.DISCLOSURE: "AI allowed with disclosure",
    AiPolicy.ASSISTANT: "AI assistant in the workspace",
}


@dataclass(frozen=True)
class AssistantSettings:
    """Where the assistant's questions go, from the ``HELDOUT_AI_*`` settings."""

    url: str
    model: str
    key: str
    budget: int
    timeout_seconds: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> AssistantSettings | None:
        """The settings, or None when no endpoint is configured (no assistant at all)."""
        url = str(config.get("HELDOUT_AI_URL") or "").strip()
        if not url:
            return None
        return cls(url, str(config.get("HELDOUT_AI_MODEL") or ""),
                   str(config.get("HELDOUT_AI_KEY") or ""),
                   int(config["HELDOUT_AI_TOKEN_BUDGET"]),
                   float(config["HELDOUT_AI_TIMEOUT_SECONDS"]))

    @property
    def endpoint(self) -> str:
        """The chat-completions address: the URL as given when it names it, else below it."""
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"


# --- the policy ---------------------------------------------------------------------------

def checked_policy(value: str, *, assistant_available: bool,
                   current: AiPolicy | None = None) -> AiPolicy:
    """The policy the builder's form (or the API) chose, refused when unknown, or when it is
    the assistant and no endpoint is configured (an assessment that already has it keeps it:
    its candidates are then told the assistant is unavailable)."""
    try:
        policy = AiPolicy(value)
    except ValueError:
        raise InvalidInput(f"The AI policy must be one of {', '.join(AiPolicy)}",
                           field="ai_policy") from None
    if policy is AiPolicy.ASSISTANT and not assistant_available and current is not policy:
        raise InvalidInput("The AI assistant is not set up on this server, so it can't be "
                           "offered to candidates", field="ai_policy",
                           hint="An administrator sets HELDOUT_AI_URL (and the model) to a "
                                "model server first; see the README.")
    return policy


# --- the disclosure -----------------------------------------------------------------------

def checked_disclosure(assessment: Assessment, text: str) -> str | None:
    """What the candidate disclosed, required under the disclosure policy (None otherwise)."""
    if assessment.ai_policy is not AiPolicy.DISCLOSURE:
        return None
    text = text.strip().replace("\r\n", "\n")
    if not text:
        raise InvalidInput(gettext("Say which AI tools you used and for what before finishing "
                                   "(or write that you used none)."), field="ai_disclosure")
    if len(text) > MAX_DISCLOSURE_CHARS:
        raise InvalidInput(gettext("Keep it to %(most)s characters (this has %(length)s).",
                                   most=MAX_DISCLOSURE_CHARS, length=len(text)),
                           field="ai_disclosure")
    return text


def finish(attempt_public_id: str, *, disclosure: str, now: datetime) -> Attempt:
    """Finish the attempt, keeping the disclosure its policy asks for (refused without)."""
    attempt = attempts.open_attempt(attempt_public_id, now=now)
    given = checked_disclosure(attempt.invite.assessment, disclosure)
    if given is not None:
        attempt.ai_disclosure = given
    return attempts.finish_attempt(attempt_public_id, now=now)


# --- the transcript -----------------------------------------------------------------------

@dataclass(frozen=True)
class Turn:
    role: str  # CANDIDATE, ASSISTANT or ERROR
    content: str
    created_at: datetime
    tokens: int
    challenge_id: int


@dataclass(frozen=True)
class Transcript:
    """An attempt's conversation with the assistant (or a part of it) and its budget."""

    turns: tuple[Turn, ...]
    used: int
    budget: int
    available: bool  # the policy is the assistant and an endpoint is configured

    @property
    def left(self) -> int:
        return max(0, self.budget - self.used)

    def of(self, challenge_id: int) -> tuple[Turn, ...]:
        return tuple(t for t in self.turns if t.challenge_id == challenge_id)


def tokens_used(attempt_id: int) -> int:
    return int(db.session.scalar(
        select(func.coalesce(func.sum(AiMessage.prompt_tokens + AiMessage.completion_tokens), 0))
        .where(AiMessage.attempt_id == attempt_id)) or 0)


def transcript(attempt: Attempt, settings: AssistantSettings | None, *,
               budget: int) -> Transcript:
    """Every turn of ``attempt``, oldest first; ``budget``: the setting's (shown even when no
    endpoint is configured any more)."""
    rows = db.session.scalars(select(AiMessage).where(AiMessage.attempt_id == attempt.id)
                              .order_by(AiMessage.created_at, AiMessage.id))
    turns = tuple(Turn(r.role, r.content, r.created_at, r.prompt_tokens + r.completion_tokens,
                       r.challenge_id) for r in rows)
    policy = attempt.invite.assessment.ai_policy
    return Transcript(turns, sum(t.tokens for t in turns), budget,
                      policy is AiPolicy.ASSISTANT and settings is not None)


# --- asking -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reply:
    """The endpoint's answer to one request."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    model: str


@dataclass(frozen=True)
class Answer:
    """What the candidate gets back: the reply and where the budget stands."""

    text: str
    tokens: int
    used: int
    budget: int

    @property
    def left(self) -> int:
        return max(0, self.budget - self.used)


def _system_prompt(challenge: Challenge) -> str:
    return ("You are an assistant helping a candidate during a timed technical assessment "
            f"(the challenge: {challenge.title}). Answer clearly and briefly. The whole "
            "conversation is shown to the hiring team with the candidate's work.")


def _estimate_tokens(text: str) -> int:
    """A server that reports no ``usage``: about four characters a token, so the budget
    still holds."""
    return math.ceil(len(text) / 4)


def ask(*, attempt_public_id: str, challenge_slug: str, question: str,
        settings: AssistantSettings | None, now: datetime) -> Answer:
    """Ask the assistant ``question`` from a challenge's workspace and keep both turns.

    Refused (nothing sent) when the attempt is over, the policy is not the assistant, no
    endpoint is configured, a question of this attempt is still being answered, or its
    budget is used up. An endpoint that fails or is too slow raises ``AssistantFailed``
    after the failure is kept in the transcript.
    """
    text = question.strip().replace("\r\n", "\n")
    if not text:
        raise InvalidInput(gettext("Type a question first."), field="question")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidInput(gettext("Questions are limited to %(most)s characters (this one "
                                   "has %(length)s).", most=MAX_QUESTION_CHARS,
                                   length=len(text)), field="question")
    attempt = attempts.open_attempt(attempt_public_id, now=now)
    if attempt.invite.assessment.ai_policy is not AiPolicy.ASSISTANT:
        raise AssistantOff(gettext("This assessment has no AI assistant."))
    if settings is None:
        raise AssistantOff(gettext("The AI assistant is not available on this server now."),
                           hint=gettext("Carry on without it; tell the hiring team if you "
                                        "need it."))
    challenge = attempts.assessment_challenge(attempt, challenge_slug)
    attempts.hold_attempt(attempt)  # one question at a time per attempt, on every backend
    last = db.session.scalar(select(AiMessage).where(AiMessage.attempt_id == attempt.id)
                             .order_by(AiMessage.id.desc()).limit(1))
    answering = timedelta(seconds=settings.timeout_seconds + 5)
    if last is not None and last.role == CANDIDATE and last.created_at > now - answering:
        raise AssistantBusy(gettext("The assistant is still answering your previous question."),
                            hint=gettext("Wait for its answer, then ask again."),
                            retry_after=max(1, math.ceil(settings.timeout_seconds)))
    used = tokens_used(attempt.id)
    if used >= settings.budget:
        raise AssistantUsedUp(gettext("This attempt used its %(budget)s assistant tokens.",
                                      budget=format_number(settings.budget)),
                              hint=gettext("Carry on without the assistant; nothing else "
                                           "changes."))
    history = list(db.session.scalars(
        select(AiMessage).where(AiMessage.attempt_id == attempt.id,
                                AiMessage.challenge_id == challenge.id,
                                AiMessage.role.in_((CANDIDATE, ASSISTANT)))
        .order_by(AiMessage.id.desc()).limit(MAX_CONTEXT_TURNS)))
    messages = [{"role": "system", "content": _system_prompt(challenge)}]
    messages += [{"role": "user" if m.role == CANDIDATE else "assistant", "content": m.content}
                 for m in reversed(history)]
    messages.append({"role": "user", "content": text})
    attempt_id, challenge_id = attempt.id, challenge.id
    db.session.add(AiMessage(attempt_id=attempt_id, challenge_id=challenge_id, role=CANDIDATE,
                             content=text, model=settings.model, created_at=now))
    db.session.commit()  # kept before the wait, which holds no transaction

    started = time.monotonic()
    try:
        reply = post_chat(settings, messages, min(MAX_REPLY_TOKENS, settings.budget - used))
    except AssistantFailed as exc:
        at = now + timedelta(seconds=time.monotonic() - started)
        db.session.add(AiMessage(attempt_id=attempt_id, challenge_id=challenge_id, role=ERROR,
                                 content=exc.message, model=settings.model, created_at=at))
        db.session.commit()
        raise
    at = now + timedelta(seconds=time.monotonic() - started)
    prompt = reply.prompt_tokens or _estimate_tokens(
        "".join(m["content"] for m in messages))
    completion = reply.completion_tokens or _estimate_tokens(reply.text)
    db.session.add(AiMessage(attempt_id=attempt_id, challenge_id=challenge_id, role=ASSISTANT,
                             content=reply.text, model=reply.model or settings.model,
                             prompt_tokens=prompt, completion_tokens=completion,
                             created_at=at))
    db.session.commit()
    return Answer(reply.text, prompt + completion, used + prompt + completion, settings.budget)


def post_chat(settings: AssistantSettings, messages: Sequence[dict[str, str]],
              max_tokens: int) -> Reply:
    """One ``POST …/chat/completions`` (not streamed), waiting at most the timeout in all."""
    body = json.dumps({"model": settings.model, "messages": list(messages),
                       "max_tokens": max(1, max_tokens), "stream": False}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if settings.key:
        headers["Authorization"] = f"Bearer {settings.key}"
    parts = urlsplit(settings.endpoint)
    deadline = time.monotonic() + settings.timeout_seconds
    seconds = f"{settings.timeout_seconds:g}"

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        return left

    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname or "", parts.port,
                                                 timeout=remaining(),
                                                 context=ssl.create_default_context())
    else:
        connection = http.client.HTTPConnection(parts.hostname or "", parts.port,
                                                timeout=remaining())
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", path or "/", body=body, headers=headers)
        # Kept: the connection lets go of its socket once the response says it will close.
        sock = connection.sock
        if sock is not None:
            sock.settimeout(remaining())
        response = connection.getresponse()
        chunks: list[bytes] = []
        size = 0
        while True:
            if sock is not None:
                sock.settimeout(remaining())
            chunk = response.read1(65536)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_RESPONSE_BYTES:
                raise AssistantFailed("The assistant's answer was too long to keep.",
                                      hint="Ask for a shorter answer.")
            chunks.append(chunk)
        remaining()  # the body may end on time only just after the deadline
    except TimeoutError:
        raise AssistantFailed(f"The assistant did not answer within {seconds} seconds.",
                              hint="Ask again, perhaps a shorter question; your work is "
                                   "not affected.") from None
    except OSError as exc:
        raise AssistantFailed("The assistant could not be reached.",
                              hint=f"Try again in a minute; if it keeps failing, carry on "
                                   f"without it. ({type(exc).__name__})") from None
    except http.client.HTTPException:
        raise AssistantFailed("The assistant's server answered in a way heldout can't read.",
                              hint="Try again in a minute.") from None
    finally:
        connection.close()
    return _read_reply(response.status, b"".join(chunks))


def _read_reply(status: int, data: bytes) -> Reply:
    try:
        document: Any = json.loads(data)
    except ValueError:
        document = None
    if status != 200:
        detail = ""
        if isinstance(document, dict) and isinstance(document.get("error"), dict):
            detail = str(document["error"].get("message") or "")[:200]
        raise AssistantFailed(f"The assistant's server refused the question (HTTP {status}"
                              f"{': ' + detail if detail else ''}).",
                              hint="Try again in a minute; if it keeps failing, carry on "
                                   "without it.")
    try:
        choice = document["choices"][0]["message"]
        text = str(choice["content"] or "")
    except (TypeError, KeyError, IndexError):
        raise AssistantFailed("The assistant's server sent an answer heldout can't read.",
                              hint="Try again in a minute.") from None
    usage = document.get("usage") if isinstance(document.get("usage"), dict) else {}

    def count(name: str) -> int:
        value = usage.get(name)
        return value if isinstance(value, int) and value >= 0 else 0

    return Reply(text, count("prompt_tokens"), count("completion_tokens"),
                 str(document.get("model") or ""))
