"""The public API's blueprint, its OpenAPI extension, and the one decorator every
operation takes (who may call it, with which token scope, documented as it is enforced)."""

from __future__ import annotations

import http as http_status
from collections.abc import Callable
from typing import Any

import flask_smorest
import marshmallow as ma
from flask import Flask, current_app, request
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_smorest.utils import load_info_from_docstring
from werkzeug.exceptions import UnprocessableEntity
from werkzeug.http import quote_etag

from heldout.platform.errors import StaleVersion
from heldout.platform.http import PROBLEM_JSON, problem
from heldout.platform.services import api_tokens
from heldout.platform.views.api.auth import authenticated

PREFIX = "/api/v1"
# The name the blueprint has once nested under the API blueprint (views/api/__init__.py).
BLUEPRINT = "api.v1"
EXTENSION_KEY = "heldout.api_v1"
API_TITLE = "heldout API"
API_VERSION = "1.0"
OPENAPI_VERSION = "3.0.3"
SECURITY_SCHEME = "apiToken"

bp = flask_smorest.Blueprint(
    "v1", __name__, url_prefix=PREFIX,
    description="heldout's REST API: assessments, invites, attempts, reports and exports.")


class Problem(ma.Schema):
    """An error (RFC 9457): what went wrong, and what to do next."""

    type = ma.fields.String(required=True, metadata={
        "description": "What went wrong, as a stable path: /api/problems/<name>."})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String(required=True)
    instance = ma.fields.String(required=True, metadata={"description": "The path asked."})
    hint = ma.fields.String(metadata={"description": "What to do next."})
    errors = ma.fields.Dict(metadata={
        "description": "For a request that could not be read: the messages of each part "
                       "(json, query) and field."})


class HeldoutApi(flask_smorest.Api):  # type: ignore[misc]
    """flask-smorest's extension, with the site's errors: every error response the
    document names is a problem document, and the site's own handlers (http.py) answer
    them instead of the extension's."""

    ERROR_SCHEMA = Problem

    def _register_pagination_header(self) -> None:
        # The header is a JSON object in a string: documented as such, not as an object
        # (which a header of the "simple" style would spell as "key,value" pairs).
        self.spec.components.header("PAGINATION", {
            "description": 'The list\'s totals, as JSON: {"total", "total_pages", '
                           '"first_page", "last_page", "page", "previous_page", "next_page"}.',
            "schema": {"type": "string"}}, lazy=True)

    def _register_error_handlers(self) -> None:
        """The site answers errors itself (http.py); nothing to add."""

    def _register_responses(self) -> None:
        for status in http_status.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["content"] = {PROBLEM_JSON: {"schema": Problem}}
            self.spec.components.response(status.name, response, lazy=True)
        self.spec.components.response(
            self.DEFAULT_ERROR_RESPONSE_NAME,
            {"description": "An error", "content": {PROBLEM_JSON: {"schema": Problem}}},
            lazy=True)


def current_api() -> HeldoutApi:
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


def operation(*, scope: str, roles: tuple[str, ...], ids: bool = True
              ) -> Callable[[Callable[..., ResponseReturnValue]], Callable[..., ResponseReturnValue]]:
    """Who may call an operation, enforced (``authenticated``) and documented: a bearer
    token with at least ``scope``, of a staff member with one of ``roles`` (admins always),
    whose teams own what the URL's ids name (``ids``: the path names something, 404
    otherwise)."""
    everyone = list(dict.fromkeys(("admin", *roles)))  # admins always; roles=("admin",): alone
    allowed = ", ".join(everyone)

    def decorator(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
        wrapped: Callable[..., ResponseReturnValue] = authenticated(staff=roles, scope=scope)(view)
        errors = [(401, "UNAUTHORIZED"), (403, "FORBIDDEN"), (429, "TOO_MANY_REQUESTS")]
        if ids:
            errors.append((404, "NOT_FOUND"))
        for status, name in errors:
            wrapped = bp.alt_response(status, response=name)(wrapped)
        said = load_info_from_docstring(view.__doc__ or "").get("description", "")
        rule = (f"Token scope: **{scope}** or wider ({api_tokens.SCOPE_WORDS[scope]}). "
                f"Roles: {allowed}.")
        documented: Callable[..., ResponseReturnValue] = bp.doc(security=[{SECURITY_SCHEME: []}], **{
            "x-scope": scope, "x-roles": everyone,
            "description": f"{said}\n\n{rule}" if said else rule})(wrapped)
        return documented

    return decorator


IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "The ETag of the version you read: the change is refused (412) if "
                           "it has changed since. Without it, the change is made whatever "
                           "the current version."}


def etag_of(schema: type[ma.Schema], record: dict[str, Any]) -> str:
    """The ETag a ``GET`` answers for ``record`` (flask-smorest's: a hash of what the
    schema dumps), so an update's answer and a read of the same thing carry the same one."""
    return str(bp._generate_etag(schema().dump(record)))


def check_if_match(schema: type[ma.Schema], current: dict[str, Any]) -> None:
    """Refuse an update whose ``If-Match`` names none of the current version's ETag (412);
    without ``If-Match``, the update goes ahead (checking is the caller's choice)."""
    if request.if_match and etag_of(schema, current) not in request.if_match:
        raise StaleVersion(
            "What you are changing has changed since you read it (its ETag is not the one "
            "sent in If-Match); nothing was changed.",
            hint="GET it again, check it, and send the new ETag.")


def updated(answer: dict[str, Any], schema: type[ma.Schema],
            record: dict[str, Any] | None = None) -> ResponseReturnValue:
    """An update's answer, with the ETag of the thing as it now is (``record``, when the
    answer is more than the thing, as a new invite's link is)."""
    return answer, 200, {"ETag": quote_etag(etag_of(schema, answer if record is None
                                                    else record))}


def updates(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Document an update's optional ``If-Match`` (412 when stale) and its answer's ETag."""
    documented: Callable[..., ResponseReturnValue] = bp.doc(parameters=[IF_MATCH], responses={
        "412": "PRECONDITION_FAILED", "200": {"headers": {"ETag": "ETAG"}}})(view)
    return documented


def resource(rule: str, endpoint: str, *, tags: list[str],
             **views: Callable[..., ResponseReturnValue]) -> None:
    """One URL rule for the operations of one path (``get=…, post=…``), not a rule per
    method: werkzeug matches a path's methods before its converters, so with a rule per
    method an id past the database's range would answer 405 instead of 404."""
    methods = {method: staticmethod(view) for method, view in views.items()}
    bp.add_url_rule(rule, endpoint, type(endpoint, (MethodView,), methods), tags=tags)


@bp.errorhandler(UnprocessableEntity)
def _unreadable(error: UnprocessableEntity) -> ResponseReturnValue:
    """A request whose parameters or body do not fit the document: 422, field by field."""
    data = getattr(error, "data", None) or {}
    return problem(422, "Please check your request",
                   "Some of what was sent does not fit this operation's description.",
                   code="InvalidRequest", hint="See `errors`, and /api/v1/openapi.json.",
                   errors=data.get("messages") or {})


def make_api(app: Flask) -> HeldoutApi:
    """The OpenAPI extension of ``app``, documenting the blueprint's operations (which the
    API blueprint has registered, nested, as ``api.v1``)."""
    api = HeldoutApi(spec_kwargs={"title": API_TITLE, "version": API_VERSION,
                                  "openapi_version": OPENAPI_VERSION,
                                  "info": {"description": API_DESCRIPTION}})
    api.init_app(app)
    api.spec.components.security_scheme(SECURITY_SCHEME, {
        "type": "http", "scheme": "bearer", "bearerFormat": "hld_…",
        "description": "A personal API token, made under Account → API tokens (or with "
                       "`heldout tokens create`)."})
    for name, description in TAGS:
        api.spec.tag({"name": name, "description": description})
    app.extensions["flask-smorest"]["blp_name_to_api"][BLUEPRINT] = api
    bp.register_views_in_doc(api, app, api.spec, name=BLUEPRINT, parameters=None)
    app.extensions[EXTENSION_KEY] = api
    return api


TAGS = (
    ("Catalogue", "The challenges assessments are built from."),
    ("Assessments", "What candidates are invited to."),
    ("Invites", "Candidates' invitations and their links."),
    ("Attempts and reports", "Where each candidate stands, their report, the candidates "
                             "table as a file."),
    ("About the API", "This document."),
)

API_DESCRIPTION = """\
Everything a staff member can do with assessments, invites and reports, for scripts and
other systems.

**Authentication.** Send a personal API token: `Authorization: Bearer hld_…`. Make one
under *Account → API tokens* (shown once; only its hash is stored) or with
`heldout tokens create --email you@example.com --scope read`. A token acts as its owner:
the same role and team rules as the pages. Its scope narrows that: `read`; `invite`
(reads, and invites); `admin` (everything the owner's role may do). A token expires, can be
revoked, and each use is recorded in the audit log.

**Errors** are `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`,
`instance`, and often `hint` (what to do next). No token or a bad one: 401; a scope or role
that does not allow the call: 403; what another team owns: 404.

**Lists** are paginated: `page` and `page_size` in the query, the totals in the
`X-Pagination` header. **Polling**: a `GET` answers with an `ETag`; send it back as
`If-None-Match` to get `304 Not Modified` while nothing changed, or ask for what changed
since a time with `changed_since` (invites) and `updated_since` (attempts).

**Rate limits**: each token may make a number of calls per minute and per hour
(`HELDOUT_API_RATE_LIMIT`); past it, 429 with `Retry-After`.
"""
