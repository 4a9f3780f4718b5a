"""The workspace's AI assistant: a question in, the answer (or a clear refusal) out, as JSON.

For the browser bound to the URL's attempt alone (``authenticated``, as every workspace
route), CSRF token in a header as for drafts, rate-limited per attempt (``check_rate``).
The answer takes as long as the model server does, up to ``HELDOUT_AI_TIMEOUT_SECONDS``:
each question waiting holds a thread, so a process waits on at most
``MAX_WAITING_QUESTIONS`` at once and refuses more (503, retry) rather than let questions
take the threads every other page needs.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint, Flask, current_app, request
from flask.typing import ResponseReturnValue

from heldout.platform.errors import ServerBusy
from heldout.platform.i18n import N_
from heldout.platform.services import assistant
from heldout.platform.services.access import CandidateViewer
from heldout.platform.views.api.auth import authenticated
from heldout.platform.views.candidate import check_rate
from heldout.platform.views.common import now

bp = Blueprint("assistant", __name__)

EXTENSION_KEY = "heldout.assistant"
# Half the server's default ordinary threads (``heldout serve --threads 8``).
MAX_WAITING_QUESTIONS = 4


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION_KEY] = threading.BoundedSemaphore(MAX_WAITING_QUESTIONS)


@bp.post("/a/<attempt_id>/c/<slug>/assistant")
@authenticated(candidate=True)
def ask(viewer: CandidateViewer, attempt_id: str, slug: str) -> ResponseReturnValue:
    """Ask the assistant a question (``{"question": …}``); the answer and the budget left."""
    raw: Any = request.get_json(silent=True)
    question = raw.get("question") if isinstance(raw, dict) else None
    settings = assistant.AssistantSettings.from_config(current_app.config)
    check_rate("HELDOUT_AI_LIMIT", "assistant", viewer.attempt_public_id,
               N_("Questions to the assistant are limited to %(limit)s, and this attempt "
                  "reached that."),
               N_("Ask again in %(wait)s seconds; your question is still typed."))
    waiting: threading.BoundedSemaphore = current_app.extensions[EXTENSION_KEY]
    if not waiting.acquire(blocking=False):
        raise ServerBusy("The assistant is answering as many questions as this server "
                         "takes at once.", hint="Ask again in a few seconds.", retry_after=5)
    try:
        answer = assistant.ask(attempt_public_id=viewer.attempt_public_id,
                               challenge_slug=slug,
                               question=question if isinstance(question, str) else "",
                               settings=settings, now=now())
    finally:
        waiting.release()
    return {"answer": answer.text, "tokens": answer.tokens, "used": answer.used,
            "budget": answer.budget, "left": answer.left}
