"""The challenge catalogue: what assessments can be built from."""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from heldout.platform.errors import NotFound
from heldout.platform.models import Challenge
from heldout.platform.services import assessments, catalogue
from heldout.platform.services.access import StaffViewer
from heldout.platform.views.api.v1 import schemas
from heldout.platform.views.api.v1.base import bp, operation

# The catalogue's readers, as on the pages: those who build assessments.
BUILDERS = ("recruiter",)
TAGS = ["Catalogue"]


def challenge_record(challenge: Challenge) -> dict[str, Any]:
    return {"slug": challenge.slug, "title": challenge.title, "kind": challenge.kind,
            "summary": challenge.summary or "", "difficulty": challenge.difficulty or "",
            "expected_minutes": challenge.expected_minutes,
            "skills": [str(s) for s in challenge.skills or ()], "version": challenge.version,
            "entrypoint": challenge.entrypoint or ""}


@bp.route("/challenges", methods=["GET"], tags=TAGS)
@operation(scope="read", roles=BUILDERS, ids=False)
@bp.etag
@bp.arguments(schemas.CatalogueQuery, location="query", as_kwargs=True)
@bp.response(200, schemas.Challenge(many=True))
def list_challenges(viewer: StaffViewer, **wanted: str) -> ResponseReturnValue:
    """The catalogue

    Every available challenge, optionally filtered by kind, skill and difficulty.
    """
    view = assessments.filter_catalogue(catalogue.available_challenges(),
                                        assessments.CatalogueFilter(**wanted))
    return [challenge_record(c) for c in view.challenges]


@bp.route("/challenges/<string(maxlength=100):slug>", methods=["GET"], tags=TAGS)
@operation(scope="read", roles=BUILDERS)
@bp.etag
@bp.response(200, schemas.ChallengeDetail)
def get_challenge(viewer: StaffViewer, slug: str) -> ResponseReturnValue:
    """One challenge, with its statement"""
    found = next((c for c in catalogue.available_challenges() if c.slug == slug), None)
    if found is None:
        raise NotFound(f"No challenge {slug!r} in the catalogue")
    bundle = catalogue.get_bundles().for_challenge(found)
    return {**challenge_record(found), "statement": bundle.statement}
