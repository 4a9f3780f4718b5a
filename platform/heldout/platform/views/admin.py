"""Admin pages: users and roles, hiring teams, the audit log, system health, and the
problems candidates report with challenges."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from heldout.platform.config import sandbox_settings
from heldout.platform.errors import InvalidInput
from heldout.platform.models import ROLES
from heldout.platform.queue import get_queue
from heldout.platform.services import (
    adverse_impact,
    audit,
    health,
    problem_reports,
    shown_once,
    users_admin,
)
from heldout.platform.views.auth import record_action, role_required, staff_user
from heldout.platform.views.common import now, parse_int, request_origin

bp = Blueprint("admin", __name__, url_prefix="/admin")

# A password just made for a user, kept server-side for the one page that shows it: the
# session holds the handle (shown_once), never the password.
NEW_PASSWORD_KEY = "admin_new_password"  # noqa: S105 (a session key, not a secret)
STATES = ("active", "disabled")


def _take_new_password(user_id: int) -> str | None:
    kept = session.get(NEW_PASSWORD_KEY)
    if not isinstance(kept, dict) or kept.get("user_id") != user_id:
        return None
    session.pop(NEW_PASSWORD_KEY)
    return shown_once.take(kept.get("secret"), now=now())


def _keep_new_password(created: users_admin.NewPassword) -> ResponseReturnValue:
    session[NEW_PASSWORD_KEY] = {"user_id": created.user.id,
                                 "secret": shown_once.keep(created.password, now=now())}
    return redirect(url_for("admin.user_detail", user_id=created.user.id), code=303)


def _team_ids() -> list[int]:
    return [i for i in (parse_int(v) for v in request.form.getlist("teams")) if i is not None]


@bp.get("/")
@role_required()
def index() -> ResponseReturnValue:
    """The admin section starts at the users list."""
    return redirect(url_for("admin.users"))


@bp.get("/users")
@role_required()
def users() -> ResponseReturnValue:
    """Every account, filtered by role and by active or disabled."""
    role = request.args.get("role", "")
    state = request.args.get("state", "")
    criteria = users_admin.UserFilter(role=role if role in ROLES else "",
                                      state=state if state in STATES else "")
    return render_template("admin/users.html", rows=users_admin.list_users(criteria),
                           criteria=criteria, roles=ROLES, states=STATES)


@bp.route("/users/new", methods=["GET", "POST"])
@role_required()
def user_new() -> ResponseReturnValue:
    """Create an account; its generated password is shown once on the next page."""
    error: InvalidInput | None = None
    form = request.form
    if request.method == "POST":
        try:
            created = users_admin.create_user(
                actor=staff_user(), email=form.get("email", ""), name=form.get("name", ""),
                role=form.get("role", ""), team_ids=_team_ids(), origin=request_origin())
        except InvalidInput as exc:
            error = exc
        else:
            return _keep_new_password(created)
    return render_template("admin/user_new.html", form=form, error=error, roles=ROLES,
                           teams=users_admin.list_teams(),
                           chosen=set(_team_ids())), 400 if error else 200


@bp.get("/users/<int:user_id>")
@role_required()
def user_detail(user_id: int) -> ResponseReturnValue:
    """One account: role, teams, enable or disable, reset its password."""
    return render_template("admin/user.html", user=users_admin.get_user(user_id),
                           roles=ROLES, teams=users_admin.list_teams(),
                           member_of=set(users_admin.user_teams(user_id)),
                           new_password=_take_new_password(user_id))


@bp.post("/users/<int:user_id>/active")
@role_required()
def user_active(user_id: int) -> ResponseReturnValue:
    """Disable (its sessions end at once) or enable an account."""
    users_admin.set_active(actor=staff_user(), user_id=user_id,
                           active=request.form.get("active") == "1",
                           origin=request_origin())
    return redirect(url_for("admin.user_detail", user_id=user_id), code=303)


@bp.post("/users/<int:user_id>/password")
@role_required()
def user_password(user_id: int) -> ResponseReturnValue:
    """A new generated password, shown once; the account's sessions end."""
    return _keep_new_password(users_admin.reset_password(
        actor=staff_user(), user_id=user_id, origin=request_origin()))


@bp.post("/users/<int:user_id>/role")
@role_required()
def user_role(user_id: int) -> ResponseReturnValue:
    users_admin.change_role(actor=staff_user(), user_id=user_id,
                            role=request.form.get("role", ""), origin=request_origin())
    return redirect(url_for("admin.user_detail", user_id=user_id), code=303)


@bp.post("/users/<int:user_id>/teams")
@role_required()
def user_teams(user_id: int) -> ResponseReturnValue:
    users_admin.set_teams(actor=staff_user(), user_id=user_id, team_ids=_team_ids(),
                          origin=request_origin())
    return redirect(url_for("admin.user_detail", user_id=user_id), code=303)


@bp.get("/teams")
@role_required()
def teams() -> ResponseReturnValue:
    """Hiring teams with their members and assessments; create one, move an assessment."""
    return _teams_page()


def _teams_page(*, form: dict[str, str] | None = None,
                error: InvalidInput | None = None) -> ResponseReturnValue:
    rows, every = users_admin.team_overview()
    return render_template("admin/teams.html", rows=rows, assessments=every,
                           form=form or {}, error=error), 400 if error else 200


@bp.post("/teams")
@role_required()
def team_create() -> ResponseReturnValue:
    form = request.form
    try:
        users_admin.create_team(actor=staff_user(), name=form.get("name", ""),
                                slug=form.get("slug", ""), origin=request_origin())
    except InvalidInput as exc:
        return _teams_page(form=dict(form), error=exc)
    return redirect(url_for("admin.teams"), code=303)


@bp.post("/assessments/<int:assessment_id>/team")
@role_required()
def assessment_team(assessment_id: int) -> ResponseReturnValue:
    users_admin.move_assessment(actor=staff_user(), assessment_id=assessment_id,
                                team_id=parse_int(request.form.get("team"), 0) or 0,
                                origin=request_origin())
    return redirect(url_for("admin.teams"), code=303)


def _day(value: str, field: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time(0), tzinfo=UTC)
    except ValueError:
        raise InvalidInput("Dates look like 2026-12-31", field=field) from None


@bp.get("/audit")
@role_required()
def audit_log() -> ResponseReturnValue:
    """Who did what, when and from where; newest first, filtered, a page at a time."""
    args = request.args
    error: InvalidInput | None = None
    try:
        since = _day(args.get("since", "").strip(), "since")
        until = _day(args.get("until", "").strip(), "until")
    except InvalidInput as exc:
        error, since, until = exc, None, None
    criteria = audit.AuditFilter(actor=args.get("actor", ""), action=args.get("action", ""),
                                 since=since,
                                 until=until + timedelta(days=1) if until else None)
    found = audit.search(criteria, page=parse_int(args.get("page"), 1) or 1)
    return render_template("admin/audit.html", found=found, args=args, error=error,
                           actions=audit.ACTIONS), 400 if error else 200


@bp.get("/health")
@role_required()
def system_health() -> ResponseReturnValue:
    """Engine, image, queue, workers and the oldest waiting submission, each with a fix."""
    config = current_app.config
    report = health.system_health(data_dir=Path(config["HELDOUT_DATA_DIR"]),
                                  sandbox=sandbox_settings(config),
                                  queue_depth=get_queue().depth,
                                  queue_url=config["HELDOUT_QUEUE_URL"], now=now())
    return render_template("admin/health.html", report=report)


@bp.get("/problem-reports")
@role_required()
def problem_reports_page() -> ResponseReturnValue:
    """Problems candidates reported with challenges, newest first; open ones by default."""
    args = request.args
    status = args.get("status", "open")
    criteria = problem_reports.ReportFilter(
        status=status if status in problem_reports.STATUSES else "",
        challenge_version=args.get("version", "")[:80])
    found = problem_reports.list_reports(criteria, page=parse_int(args.get("page"), 1) or 1)
    return render_template("admin/problem_reports.html", found=found, criteria=criteria,
                           statuses=problem_reports.STATUSES,
                           categories=problem_reports.CATEGORIES)


@bp.post("/problem-reports/<int:report_id>/status")
@role_required()
def problem_report_status(report_id: int) -> ResponseReturnValue:
    """Mark a report resolved, or open again (audited)."""
    report = problem_reports.set_resolved(
        report_id, resolved=request.form.get("resolved") == "1", actor=staff_user(),
        now=now(), origin=request_origin())
    back = request.form.get("status", "")
    return redirect(url_for("admin.problem_reports_page",
                            status=back if back in (*problem_reports.STATUSES, "all") else None,
                            _anchor=f"report-{report.id}"), code=303)


@bp.get("/assessments/<int:assessment_id>/adverse-impact")
@role_required()
def adverse_impact_page(assessment_id: int) -> ResponseReturnValue:
    """Pass rates at a cut score per self-identified group and their impact ratios."""
    error: InvalidInput | None = None
    try:
        cut = adverse_impact.parse_cut(request.args.get("cut"))
    except InvalidInput as exc:
        error, cut = exc, adverse_impact.DEFAULT_CUT
    report = adverse_impact.impact_report(assessment_id, cut)
    return render_template("admin/adverse_impact.html", report=report, error=error,
                           typed=request.args.get("cut", ""), rules=adverse_impact,
                           assessment=report.assessment), 400 if error else 200


@bp.get("/assessments/<int:assessment_id>/adverse-impact.csv")
@role_required()
def adverse_impact_csv(assessment_id: int) -> ResponseReturnValue:
    """The adverse-impact report as CSV (recorded in the audit log)."""
    cut = adverse_impact.parse_cut(request.args.get("cut"))
    body = adverse_impact.to_csv(adverse_impact.impact_report(assessment_id, cut))
    record_action(staff_user(), "export.adverse_impact", "assessment", assessment_id,
                  {"cut": cut})
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = \
        f'attachment; filename="assessment-{assessment_id}-adverse-impact.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
