"""Candidate pages: invite landing, overview, workspace, downloads, submit, finish.

The workspace's JSON (live status, drafts) and its event stream live in views/api/.

A browser is bound to one attempt (``session["attempt"]``); any other attempt's URL is
answered 404, as if it did not exist. A resent link moves the attempt to the browser that
opens it and confirms (a POST: following a link, as a mail scanner does, changes nothing):
the one bound before is then told so (``session["link"]`` no longer matches).
"""


from __future__ import annotations

# Each page module adds its routes to the one blueprint.
from heldout.platform.views.candidate import (
    actions,
    arrival,
    breaks,
    followups,
    practice,
    workspace,
)
from heldout.platform.views.candidate.common import bp, check_bound, check_rate

__all__ = ["actions", "arrival", "bp", "breaks", "check_bound", "check_rate", "followups",
           "practice", "workspace"]
