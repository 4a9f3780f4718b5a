"""``heldout bench pages`` at a small scale: its JSON, every page answered, the seeded states.

No timing is asserted: the figures are the command's output, not a pass/fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import (
    Attempt,
    AuditEvent,
    Draft,
    EvaluationRecord,
    Invite,
    Review,
    Submission,
)
from heldout.platform.views.admin import bp as admin_bp
from heldout.platform.views.review import bp as review_bp
from heldout.platform.views.staff import bp as staff_bp
from heldout.tools.bench.pages import SLUGS, pages_command, run_pages, settings_for
from tests.platform.conftest import REPO

CANDIDATES = 20
pytestmark = pytest.mark.sqlite_only("the bench makes its own SQLite database: one pass is enough")
# Staff GET endpoints that only redirect: nothing of their own to time.
REDIRECTS = {"staff.index", "admin.index"}


@pytest.fixture(scope="module")
def challenges() -> Path:
    root = REPO / "challenges"
    if not all((root / slug).is_dir() for slug in SLUGS):
        pytest.skip(f"the bench needs {', '.join(SLUGS)} in challenges/")
    return root


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, challenges: Path) -> tuple[dict[str, Any], Path]:
    data_dir = tmp_path_factory.mktemp("bench-pages")
    result = run_pages(CANDIDATES, 1, challenges, lambda _line: None, data_dir=data_dir)
    return result, data_dir


def test_json_shape(bench: tuple[dict[str, Any], Path]) -> None:
    result, _ = bench
    assert result["candidates"] == CANDIDATES
    assert result["repeat"] == 1
    keys = {"endpoint", "url", "p50_ms", "p95_ms", "cpu_ms", "queries", "first_byte_ms"}
    for row in [*result["pages"], result["baseline"]]:
        assert keys <= set(row), row
        assert row["p95_ms"] >= row["p50_ms"] > 0
        assert 0 < row["first_byte_ms"] <= row["p50_ms"]
    memory = result["memory"]
    assert memory["rss_before_mb"] > 0 and memory["rss_after_mb"] > 0
    if memory["peak_mb"] is not None:  # where the peak can be reset (Linux)
        assert memory["peak_mb"] >= memory["rss_after_mb"] - 1
        assert row["cpu_ms"] >= 0 and row["queries"] >= 0
    assert result["baseline"]["url"] == "/healthz"
    assert result["baseline"]["queries"] == 1  # its SELECT 1: the statement counter counts
    p50 = [row["p50_ms"] for row in result["pages"]]
    assert p50 == sorted(p50, reverse=True)


def test_every_page_answered_200_to_its_role(bench: tuple[dict[str, Any], Path]) -> None:
    result, _ = bench
    wrong = [(r["url"], r["role"], r["status"]) for r in result["pages"] if r["status"] != 200]
    assert not wrong
    roles = {r["endpoint"]: r["role"] for r in result["pages"]}
    assert roles["staff.assessment_detail"] == "recruiter"
    assert roles["admin.audit_log"] == "admin"
    assert roles["candidate.workspace"] == "candidate"
    # Pages that are not the staff member's own answer with data, not a sign-in page.
    report = next(r for r in result["pages"] if r["endpoint"] == "review.report")
    assert report["queries"] > 5 and report["bytes"] > 5000


def test_every_staff_get_page_is_timed(bench: tuple[dict[str, Any], Path]) -> None:
    result, _ = bench
    app = create_app({"HELDOUT_ENV": "testing", "HELDOUT_QUEUE_URL": "memory://",
                      "HELDOUT_DATA_DIR": "/nonexistent"})
    staff = {rule.endpoint for rule in app.url_map.iter_rules()
             if "GET" in (rule.methods or ()) and rule.endpoint.split(".")[0]
             in (staff_bp.name, review_bp.name, admin_bp.name, "webhooks", "stewardship",
                 "analytics")} - REDIRECTS - {"staff.healthz"}
    timed = {r["endpoint"] for r in result["pages"]}
    assert staff - timed == set()
    assert {"candidate.overview", "candidate.workspace", "review.export"} <= timed


def test_seeding_made_the_states_it_claims(bench: tuple[dict[str, Any], Path],
                                           challenges: Path) -> None:
    result, data_dir = bench
    seeded = result["seeded"]
    app = create_app(settings_for(data_dir, challenges, None))
    with app.app_context():
        def count(model: Any, *where: Any) -> int:
            return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0

        invites = count(Invite)
        assert invites == CANDIDATES + 1 == sum(seeded["invites"].values())
        revoked = count(Invite, Invite.revoked_at.is_not(None))
        assert revoked == seeded["invites"].get("revoked", 0)
        attempts = count(Attempt)
        assert attempts == seeded["invites"]["started"] + seeded["invites"]["finished"]
        finished = count(Attempt, Attempt.finished_at.is_not(None))
        assert finished == seeded["invites"]["finished"] > 0
        opened_only = db.session.scalar(
            select(func.count()).select_from(Invite).outerjoin(Attempt)
            .where(Attempt.id.is_(None), Invite.opened_at.is_not(None))) or 0
        assert opened_only == seeded["invites"].get("opened", 0)
        by_status = dict(db.session.execute(
            select(Submission.status, func.count()).group_by(Submission.status)).all())
        # Beyond the seeded ones: the timed candidate's one graded submission.
        expected = dict(seeded["submissions"])
        expected["graded"] = expected.get("graded", 0) + 1
        assert by_status == expected
        assert count(EvaluationRecord) == seeded["evaluations"] + 1
        several = db.session.execute(
            select(Submission.attempt_id).group_by(Submission.attempt_id, Submission.challenge_id)
            .having(func.count() > 1)).all()
        assert several, "some candidates submitted a challenge more than once"
        graded = db.session.scalars(select(EvaluationRecord).limit(5)).all()
        assert all(e.checks and e.run and e.run["exit_code"] == 0 for e in graded)
        assert count(Draft) == seeded["drafts"] + 1
        assert count(Review) == seeded["reviews"]
        assert count(AuditEvent, AuditEvent.action == "invite.create") == CANDIDATES
        # Every staff sign-in of the bench went through the real login form.
        assert count(AuditEvent, AuditEvent.action == "login.success") == 3
        db.engine.dispose()


def test_the_command_prints_a_table(challenges: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HELDOUT_CHALLENGES_DIR", str(challenges))
    outcome = CliRunner().invoke(pages_command, ["-n", "3", "--repeat", "1"])
    assert outcome.exit_code == 0, outcome.output
    lines = outcome.output.splitlines()
    assert any(line.startswith("pages with 3 candidates") for line in lines)
    assert any("baseline /healthz" in line for line in lines)
    assert any("review.candidates" in line for line in lines)
