"""A candidate's data by e-mail: export everything held about them, or erase it (admins)."""

from __future__ import annotations

from flask import Response
from flask.typing import ResponseReturnValue

from heldout.platform.errors import NotFound
from heldout.platform.services import stewardship
from heldout.platform.services.access import StaffViewer
from heldout.platform.views.api.v1 import schemas
from heldout.platform.views.api.v1.base import bp, operation
from heldout.platform.views.auth import record_action
from heldout.platform.views.common import blob_store, now, request_origin

ADMINS_ONLY = ("admin",)
TAGS = ["Candidate data"]


@bp.route("/candidates/export", methods=["POST"], tags=TAGS)
@operation(scope="admin", roles=ADMINS_ONLY, ids=False)
@bp.arguments(schemas.CandidateEmail)
@bp.doc(responses={"200": {"description": "A zip: every row about the person (JSON by "
                                          "table), their files, a README.",
                           "content": {"application/zip": {"schema": {"type": "string",
                                                                      "format": "binary"}}}},
                   "404": {"description": "Nothing is held about this address."}})
def export_candidate(viewer: StaffViewer, body: dict[str, str]) -> ResponseReturnValue:
    """Everything held about a person (a subject access request)"""
    found = stewardship.holdings(body["email"])
    if found.empty:
        raise NotFound("heldout holds nothing about this e-mail address.")
    data = stewardship.export_zip(found, blob_store(), now=now())
    record_action(viewer.user, "candidate.export", "candidate", found.email_sha256[:16],
                  {"tables": len(found.rows), "via": "api"})
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": "attachment; filename=heldout-candidate-data.zip",
        "Cache-Control": "no-store"})


@bp.route("/candidates/erase", methods=["POST"], tags=TAGS)
@operation(scope="admin", roles=ADMINS_ONLY, ids=False)
@bp.arguments(schemas.CandidateEmail)
@bp.response(200, schemas.ErasureReceipt)
@bp.alt_response(404, response="NOT_FOUND")
def erase_candidate(viewer: StaffViewer, body: dict[str, str]) -> ResponseReturnValue:
    """Erase everything about a person (a deletion request)

    Their invites, attempts, drafts, submissions and files, runs, reports and reviews are
    deleted; the audit log keeps its entries with their e-mail and name replaced. The
    receipt names no one (the address only as its SHA-256). Cannot be undone.
    """
    receipt = stewardship.erase(body["email"], actor=viewer.user, blobs=blob_store(),
                                origin=request_origin(), now=now())
    return {**receipt.as_dict(), "at": receipt.at}
