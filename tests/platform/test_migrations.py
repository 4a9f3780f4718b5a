"""Alembic migrations produce exactly the schema the models describe."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, select
from sqlalchemy.exc import IntegrityError

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import Base, User
from tests import pg


def _app(tmp_path: Path):  # type: ignore[no-untyped-def]
    # HELDOUT_TEST_DB=postgresql: the same tests on a fresh PostgreSQL database (tests/pg.py).
    database = {"HELDOUT_DATABASE_URL": url} if (url := pg.database_url(tmp_path)) else {}
    return create_app({"HELDOUT_ENV": "testing", "HELDOUT_DATA_DIR": str(tmp_path),
                       "HELDOUT_QUEUE_URL": "memory://", **database})


def test_migrations_match_the_models(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
        db.engine.dispose()
    assert diff == []


def test_downgrade_to_nothing_and_back(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        flask_migrate.upgrade()
        assert "submission" in inspect(db.engine).get_table_names()
        db.engine.dispose()


@pytest.mark.sqlite_only("journal mode and busy timeout are SQLite settings")
def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        with db.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        db.engine.dispose()
    assert mode == "wal"
    assert timeout == 30000


def test_datetimes_come_back_aware_and_in_utc(tmp_path: Path) -> None:
    app = _app(tmp_path)
    paris = timezone(timedelta(hours=2))
    with app.app_context():
        db.create_all()
        db.session.add(User(email="a@example.com", name="A", role="admin", password_hash="x",
                            created_at=datetime(2025, 6, 1, 14, 0, tzinfo=paris)))
        db.session.commit()
        db.session.expunge_all()
        user = db.session.scalars(select(User)).one()
        db.engine.dispose()
    assert user.created_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert user.created_at.tzinfo is UTC


def _insert_previous_release_data(connection: Connection) -> None:
    """Rows as the release before bundle versions wrote them (plain SQL, no models)."""
    when = "2026-11-20 10:00:00.000000"
    statements = [
        "INSERT INTO user_account (id, email, name, role, password_hash, session_token, active,"
        f" created_at) VALUES (1, 'r@example.com', 'R', 'recruiter', 'x', 'tok', TRUE, '{when}')",
        "INSERT INTO challenge (id, slug, version, title, kind, summary, difficulty,"
        " expected_minutes, skills, entrypoint, details, available, loaded_at) VALUES"
        f" (1, 'churn', '{NEW}', 'Churn', 'model_training', '', 'medium', 60, '[]',"
        f" 'solution.py', '{{}}', TRUE, '{when}')",
        "INSERT INTO assessment (id, name, instructions, time_limit_minutes, show_scores,"
        f" archived, created_by_id, created_at) VALUES (1, 'A', '', 60, TRUE, FALSE, 1, '{when}')",
        "INSERT INTO invite (id, assessment_id, candidate_name, candidate_email, token_hash,"
        f" status, created_by_id, created_at, expires_at) VALUES (1, 1, 'C', 'c@example.org',"
        f" 'h', 'started', 1, '{when}', '{when}')",
        "INSERT INTO attempt (id, public_id, invite_id, consent_at, started_at, deadline)"
        f" VALUES (1, 'p', 1, '{when}', '{when}', '{when}')",
    ]
    for number, version in ((1, OLD), (2, OLD), (3, NEW)):
        statements.append(
            "INSERT INTO submission (id, attempt_id, challenge_id, challenge_slug,"
            " challenge_version, status, created_at, tries) VALUES"
            f" ({number}, 1, 1, 'churn', '{version}', 'graded', '2026-11-2{number} 10:00:00', 1)")
    for statement in statements:
        connection.exec_driver_sql(statement)


OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64


def test_bundle_versions_upgrade_a_previous_release_and_downgrade(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            history = connection.exec_driver_sql(
                "SELECT challenge_id, version FROM challenge_version ORDER BY id").all()
        # The versions submissions were made against, oldest first, then the current one.
        assert [tuple(row) for row in history] == [(1, OLD), (1, NEW)]

        flask_migrate.downgrade(revision="0002_session_tokens")
        assert "challenge_version" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            kept = connection.exec_driver_sql(
                "SELECT id, challenge_version FROM submission ORDER BY id").all()
        assert [tuple(row) for row in kept] == [(1, OLD), (2, OLD), (3, NEW)]
        flask_migrate.upgrade()
        assert "challenge_version" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_variants_upgrade_keeps_earlier_attempts_on_the_committed_data(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            seeds = connection.exec_driver_sql("SELECT id, variant_seed FROM attempt").all()
        # Its candidate already downloaded the committed files: no seed, no new data.
        assert [tuple(row) for row in seeds] == [(1, None)]

        flask_migrate.downgrade(revision="0003_bundle_versions")
        columns = {c["name"] for c in inspect(db.engine).get_columns("attempt")}
        assert "variant_seed" not in columns and "public_id" in columns
        with db.engine.connect() as connection:
            kept = connection.exec_driver_sql("SELECT count(*) FROM submission").scalar()
        assert kept == 3
        flask_migrate.upgrade()
        assert "variant_seed" in {c["name"] for c in inspect(db.engine).get_columns("attempt")}
        db.engine.dispose()


def test_public_runs_upgrade_with_data_and_downgrade_clean(tmp_path: Path) -> None:
    app = _app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
        flask_migrate.upgrade(revision="0004_variants")
        flask_migrate.upgrade()
        assert "public_run" in inspect(db.engine).get_table_names()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO public_run (attempt_id, challenge_id, challenge_slug,"
                " challenge_version, status, files, created_at, tries) VALUES"
                f" (1, 1, 'churn', '{NEW}', 'queued', '[]', '2026-11-24 10:00:00', 0)")
            # Nothing of the earlier release's rows moved; none became a public run.
            runs = connection.exec_driver_sql("SELECT attempt_id, status FROM public_run").all()
            submissions = connection.exec_driver_sql("SELECT count(*) FROM submission").scalar()
        assert [tuple(row) for row in runs] == [(1, "queued")] and submissions == 3

        flask_migrate.downgrade(revision="0004_variants")
        tables = set(inspect(db.engine).get_table_names())
        assert "public_run" not in tables and {"submission", "attempt"} <= tables
        indexes = {ix["name"] for table in tables for ix in inspect(db.engine).get_indexes(table)}
        assert not any("public_run" in (name or "") for name in indexes)
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM submission").scalar() == 3
        flask_migrate.upgrade()
        assert "public_run" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def _revises(revision: str) -> str:
    """The revision a migration script sits on (it is re-chained when others land first)."""
    versions = Path(__file__).resolve().parents[2] / "platform" / "heldout" / "platform" / \
        "migrations" / "versions"
    (script,) = versions.glob(f"{revision}.py")
    for line in script.read_text().splitlines():
        if line.startswith("down_revision = "):
            return line.split("=", 1)[1].strip().strip("'\"")
    raise AssertionError(f"{script} has no down_revision")


def test_reviews_upgrade_with_data_and_downgrade_clean(tmp_path: Path) -> None:
    app = _app(tmp_path)
    before = _revises("0006_reviews")
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
        flask_migrate.upgrade()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO review (attempt_id, reviewer_id, scores, notes, recommendation,"
                " created_at, updated_at) VALUES (1, 1, '{\"correctness\": 3}', 'ok', 'yes',"
                " '2026-11-24 10:00:00', '2026-11-24 10:00:00')")
        # A second review by the same reviewer of the same attempt is refused.
        with pytest.raises(IntegrityError), db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO review (attempt_id, reviewer_id, scores, notes, recommendation,"
                " created_at, updated_at) VALUES (1, 1, '{}', '', 'no',"
                " '2026-11-24 10:00:00', '2026-11-24 10:00:00')")
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM submission").scalar() == 3
        flask_migrate.downgrade(revision=before)
        tables = set(inspect(db.engine).get_table_names())
        assert "review" not in tables and {"submission", "attempt"} <= tables
        indexes = {ix["name"] for table in tables for ix in inspect(db.engine).get_indexes(table)}
        assert not any("review" in (name or "") for name in indexes)
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM submission").scalar() == 3
        flask_migrate.upgrade()
        assert "review" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_artefacts_upgrade_with_data_and_downgrade_clean(tmp_path: Path) -> None:
    app = _app(tmp_path)
    before = _revises("0007_artefacts")
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
        flask_migrate.upgrade(revision=before)
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO evaluation (submission_id, status, challenge_version, score,"
                " max_score, checks, metrics, created_at) VALUES"
                f" (3, 'graded', '{NEW}', 75, 100, '[]', '{{}}', '2026-11-24 10:00:00')")
        flask_migrate.upgrade(revision="0007_artefacts")
        with db.engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT submission_id, score, artefacts FROM evaluation").all()
        # Graded before artefacts were kept: the score stays, the list is empty. (A JSON
        # column reads back as text on SQLite, decoded on PostgreSQL.)
        assert [(n, score, json.loads(a) if isinstance(a, str) else a)
                for n, score, a in rows] == [(3, 75.0, [])]

        flask_migrate.downgrade(revision=before)
        columns = {c["name"] for c in inspect(db.engine).get_columns("evaluation")}
        assert "artefacts" not in columns and "score" in columns
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM evaluation").scalar() == 1
        flask_migrate.upgrade(revision="0007_artefacts")
        assert "artefacts" in {c["name"] for c in inspect(db.engine).get_columns("evaluation")}
        db.engine.dispose()


def test_teams_audit_puts_existing_work_in_the_default_team_and_downgrades_clean(
        tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    from heldout.platform.app import MIGRATIONS_DIR

    before = ScriptDirectory(str(MIGRATIONS_DIR)).get_revision("0008_teams_audit").down_revision
    assert isinstance(before, str)
    app = _app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
            connection.exec_driver_sql(
                "INSERT INTO user_account (id, email, name, role, password_hash, session_token,"
                " active, created_at) VALUES (2, 'i@example.com', 'I', 'interviewer', 'x',"
                " 'tok2', TRUE, '2026-11-20 10:00:00')")
        flask_migrate.upgrade(revision=before)
        flask_migrate.upgrade(revision="0008_teams_audit")
        with db.engine.connect() as connection:
            teams = connection.exec_driver_sql("SELECT id, slug FROM team").all()
            members = connection.exec_driver_sql(
                "SELECT team_id, user_id FROM team_member ORDER BY user_id").all()
            owned = connection.exec_driver_sql("SELECT id, team_id FROM assessment").all()
        [(default_id, slug)] = [tuple(row) for row in teams]
        assert slug == "default"
        assert [tuple(row) for row in members] == [(default_id, 1), (default_id, 2)]
        assert [tuple(row) for row in owned] == [(1, default_id)]
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO audit_event (created_at, actor_id, actor_label, action, target_type,"
                " detail) VALUES ('2026-12-01 10:00:00', 1, 'r@example.com', 'login.success',"
                " 'user', '{}')")

        flask_migrate.downgrade(revision=before)
        tables = set(inspect(db.engine).get_table_names())
        assert not tables & {"team", "team_member", "audit_event"}
        assert "team_id" not in {c["name"] for c in inspect(db.engine).get_columns("assessment")}
        indexes = {ix["name"] for table in tables for ix in inspect(db.engine).get_indexes(table)}
        assert not any("team" in (name or "") or "audit" in (name or "") for name in indexes)
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM invite").scalar() == 1
            assert connection.exec_driver_sql("SELECT count(*) FROM assessment").scalar() == 1
        flask_migrate.upgrade(revision="0008_teams_audit")
        assert "team" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def _revision_before(revision: str) -> str:
    """The revision a migration script sits on (whatever landed before it)."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "platform" / "heldout" / "platform" / \
        "migrations" / "versions" / f"{revision}.py"
    spec = importlib.util.spec_from_file_location(revision, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.down_revision)


def test_drafts_upgrade_with_data_and_downgrade_clean(tmp_path: Path) -> None:
    before = _revision_before("0009_drafts")
    app = _app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
        flask_migrate.upgrade(revision=before)
        flask_migrate.upgrade(revision="0009_drafts")
        with db.engine.begin() as connection:
            # The assessment made before counts the last submission, as it always did.
            counting = connection.exec_driver_sql("SELECT counting FROM assessment").all()
            connection.exec_driver_sql(
                "INSERT INTO draft (attempt_id, challenge_id, name, content, created_at,"
                " updated_at) VALUES (1, 1, 'solution.py', 'print(1)', '2026-11-24 10:00:00',"
                " '2026-11-24 10:00:00')")
            connection.exec_driver_sql(
                "INSERT INTO deadline_submission (attempt_id, challenge_id, submission_id, note,"
                " created_at) VALUES (1, 1, 3, '', '2026-11-24 10:05:00')")
        assert [tuple(row) for row in counting] == [("last",)]
        # One claim per attempt and challenge: a second is refused by the database.
        with pytest.raises(IntegrityError, match=r"(?i)unique"), db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO deadline_submission (attempt_id, challenge_id, note, created_at)"
                " VALUES (1, 1, '', '2026-11-24 10:06:00')")

        flask_migrate.downgrade(revision=before)
        tables = set(inspect(db.engine).get_table_names())
        assert not tables & {"draft", "draft_snapshot", "deadline_submission"}
        assert "counting" not in {c["name"] for c in inspect(db.engine).get_columns("assessment")}
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM submission").scalar() == 3
            assert connection.exec_driver_sql("SELECT count(*) FROM assessment").scalar() == 1
        flask_migrate.upgrade(revision="0009_drafts")
        assert "draft" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_recruiting_upgrade_with_data_and_downgrade_clean(tmp_path: Path) -> None:
    app = _app(tmp_path)
    before = _revises("0010_recruiting")
    added = {"note", "sent_at", "delivery", "send_error", "resends"}
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT id, created_at, sent_at, resends, delivery, note FROM invite").all()
        # The invite of the earlier release: its only link went out when it was made.
        assert [(r[0], r[2] == r[1], r[3], r[4], r[5]) for r in rows] == \
            [(1, True, 0, None, None)]
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "UPDATE invite SET note = 'referral', resends = 2, delivery = 'email'")
        flask_migrate.downgrade(revision=before)
        columns = {c["name"] for c in inspect(db.engine).get_columns("invite")}
        assert not columns & added and "token_hash" in columns
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM invite").scalar() == 1
            assert connection.exec_driver_sql("SELECT count(*) FROM attempt").scalar() == 1
        flask_migrate.upgrade()
        assert added <= {c["name"] for c in inspect(db.engine).get_columns("invite")}
        db.engine.dispose()


def test_invite_state_drops_the_stored_status_and_downgrades_it_back(tmp_path: Path) -> None:
    app = _app(tmp_path)
    before = _revises("0012_invite_state")
    when = "2026-11-20 10:00:00.000000"
    with app.app_context():
        flask_migrate.upgrade(revision=before)
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)  # invite 1: started
            for number, times in ((2, {}), (3, {"opened_at": when}),
                                  (4, {"opened_at": when, "revoked_at": when}),
                                  (5, {"started_at": when, "finished_at": when})):
                columns = "".join(f", {name}" for name in times)
                values = "".join(f", '{value}'" for value in times.values())
                connection.exec_driver_sql(
                    "INSERT INTO invite (id, assessment_id, candidate_name, candidate_email,"
                    f" token_hash, status, created_by_id, created_at, expires_at{columns})"
                    f" VALUES ({number}, 1, 'C', 'c{number}@example.org', 'h{number}', 'sent',"
                    f" 1, '{when}', '{when}'{values})")
            connection.exec_driver_sql("UPDATE invite SET started_at = created_at WHERE id = 1")
        flask_migrate.upgrade()
        assert "status" not in {c["name"] for c in inspect(db.engine).get_columns("invite")}
        flask_migrate.downgrade(revision=before)
        with db.engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT id, status FROM invite ORDER BY id").all()
        # Filled from the times, as the release before wrote it.
        assert [tuple(r) for r in rows] == [(1, "started"), (2, "sent"), (3, "opened"),
                                            (4, "revoked"), (5, "finished")]
        flask_migrate.upgrade()
def test_api_tokens_upgrade_and_downgrade_clean(tmp_path: Path) -> None:
    app = _app(tmp_path)
    before = _revises("0013_api_tokens")
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
        flask_migrate.upgrade()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO api_token (user_id, name, scope, token_hash, prefix, created_at,"
                " expires_at) VALUES (1, 'ci', 'read', 'ab', 'hld_ab', '2026-12-01 10:00:00',"
                " '2027-01-01 10:00:00')")
            # A hash names one token.
            with pytest.raises(IntegrityError), connection.begin_nested():
                connection.exec_driver_sql(
                    "INSERT INTO api_token (user_id, name, scope, token_hash, prefix,"
                    " created_at, expires_at) VALUES (1, 'again', 'read', 'ab', 'hld_ab',"
                    " '2026-12-01 10:00:00', '2027-01-01 10:00:00')")
        flask_migrate.downgrade(revision=before)
        assert "api_token" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM user_account").scalar() == 1
        flask_migrate.upgrade()
        assert "api_token" in inspect(db.engine).get_table_names()
        db.engine.dispose()


@pytest.mark.parametrize("recorded, renamed", [("0009_reviews", "0006_reviews"),
                                               ("0008_recruiting", "0010_recruiting")])
def test_a_database_recorded_under_a_revision_name_before_the_renumbering_upgrades(
        tmp_path: Path, recorded: str, renamed: str) -> None:
    # An installed database stopped at `renamed` records the name it had then (`recorded`);
    # the upgrade must carry on from there, not fail on an unknown revision.
    from alembic.script import ScriptDirectory

    from heldout.platform.app import MIGRATIONS_DIR

    app = _app(tmp_path)
    with app.app_context():
        flask_migrate.upgrade(revision=renamed)
        with db.engine.begin() as connection:
            connection.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{recorded}'")
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            version = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
            tables = set(inspect(connection).get_table_names())
        db.engine.dispose()
    assert version == ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert "api_token" in tables


def test_problem_reports_upgrade_and_downgrade_clean(tmp_path: Path) -> None:
    app = _app(tmp_path)
    before = _revises("0019_problem_reports")
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
        flask_migrate.upgrade()
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO problem_report (attempt_id, challenge_id, challenge_version,"
                f" category, text, created_at) VALUES (1, 1, '{NEW}', 'data',"
                " 'train.csv is empty', '2026-12-01 10:00:00')")
            # A report names an attempt that exists.
            with pytest.raises(IntegrityError), connection.begin_nested():
                connection.exec_driver_sql(
                    "INSERT INTO problem_report (attempt_id, challenge_id, challenge_version,"
                    f" category, text, created_at) VALUES (99, 1, '{NEW}', 'data', 'x',"
                    " '2026-12-01 10:00:00')")
        flask_migrate.downgrade(revision=before)
        assert "problem_report" not in inspect(db.engine).get_table_names()
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM attempt").scalar() == 1
        flask_migrate.upgrade()
        assert "problem_report" in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_ai_policy_upgrade_with_data_and_downgrade_clean(tmp_path: Path) -> None:
    app = _app(tmp_path)
    before = _revises("0021_ai_policy")
    with app.app_context():
        flask_migrate.upgrade(revision="0002_session_tokens")
        with db.engine.begin() as connection:
            _insert_previous_release_data(connection)
        flask_migrate.upgrade()
        with db.engine.begin() as connection:
            # Assessments made before choose no AI; attempts made before disclosed nothing.
            assert connection.exec_driver_sql("SELECT ai_policy FROM assessment").scalar() == \
                "not_allowed"
            assert connection.exec_driver_sql("SELECT ai_disclosure FROM attempt").scalar() \
                is None
            connection.exec_driver_sql(
                "INSERT INTO ai_message (attempt_id, challenge_id, role, content, model,"
                " prompt_tokens, completion_tokens, created_at) VALUES (1, 1, 'candidate',"
                " 'hello', '', 0, 0, '2026-12-01 10:00:00')")
        flask_migrate.downgrade(revision=before)
        columns = {c["name"] for c in inspect(db.engine).get_columns("assessment")}
        assert "ai_message" not in inspect(db.engine).get_table_names()
        assert "ai_policy" not in columns
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM attempt").scalar() == 1
        flask_migrate.upgrade()
        assert "ai_message" in inspect(db.engine).get_table_names()
        db.engine.dispose()
