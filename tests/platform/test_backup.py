"""``heldout backup`` / ``heldout restore``: a busy instance backed up, restored elsewhere,
and every report compared through the API (on SQLite, and on PostgreSQL when the suite's
PostgreSQL session runs it)."""

from __future__ import annotations

import io
import tarfile
import threading
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select

from heldout.platform.app import create_app
from heldout.platform.blobs import BlobStore
from heldout.platform.cli import main
from heldout.platform.errors import InvalidInput
from heldout.platform.extensions import db
from heldout.platform.models import Attempt, Invite, Team, User, utcnow
from heldout.platform.services import accounts, api_tokens, assessments, backup, catalogue, invites
from tests import pg
from tests.platform import review_seed as seed
from tests.platform.conftest import SECRET

SLUG = "churn-prediction"


def _app(data_dir: Path, challenges_dir: Path) -> Flask:
    database = {"HELDOUT_DATABASE_URL": url} if (url := pg.database_url(data_dir)) else {}
    return create_app({"HELDOUT_ENV": "testing", "HELDOUT_SECRET_KEY": SECRET,
                       "HELDOUT_DATA_DIR": str(data_dir), "HELDOUT_QUEUE_URL": "memory://",
                       "HELDOUT_CHALLENGES_DIR": str(challenges_dir), **database})


def _seeded(data_dir: Path, challenges_dir: Path) -> tuple[Flask, str]:
    """An instance with a team, staff, an API token, graded candidates and stored files;
    the token's secret."""
    app = _app(data_dir, challenges_dir)
    with app.app_context():
        flask_migrate.upgrade()
        catalogue.load_challenges(challenges_dir)
        admin = accounts.create_user("admin@example.com", "Ada Admin", "admin", "pw-long-enough-1")
        team = Team(slug="hiring", name="Hiring")
        db.session.add(team)
        db.session.commit()
        assessment = assessments.create_assessment(
            name="Backed up", challenge_slugs=[SLUG], time_limit_minutes=60, instructions="",
            expires_at=None, show_scores=True, created_by_id=admin.id)
        assessment.team_id = team.id
        for index, (name, scores) in enumerate((("Priya Raman", (41.0, 82.0)),
                                               ("Tom Becker", (35.0,)),
                                               ("Lena Voss", (90.0, None)))):
            seed.candidate(assessment.id, admin.id, name,
                           {SLUG: [seed.Graded(s, 10 + 5 * i) for i, s in enumerate(scores)]},
                           index=index)
        db.session.commit()
        blobs = BlobStore(data_dir / "blobs")
        for text in ("print('one')\n", "print('two')\n"):
            blobs.put(text.encode())
        token = api_tokens.create_token(user=admin, name="backup test", scope="read", days=1,
                                        now=utcnow(), actor=admin).secret
        db.engine.dispose()
    return app, token


def _reports(app: Flask, token: str) -> dict[str, Any]:
    """Every report and every assessment's export, as the API gives them."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    with app.app_context():
        attempt_ids = sorted(db.session.scalars(select(Attempt.id)))
        assessment_ids = sorted({i.assessment_id for i in db.session.scalars(select(Invite))})
    seen: dict[str, Any] = {}
    for attempt_id in attempt_ids:
        response = client.get(f"/api/v1/attempts/{attempt_id}/report", headers=headers)
        assert response.status_code == 200, response.text
        seen[f"report {attempt_id}"] = response.json
    for assessment_id in assessment_ids:
        response = client.get(f"/api/v1/assessments/{assessment_id}/export", headers=headers)
        assert response.status_code == 200, response.text
        seen[f"export {assessment_id}"] = response.json
    return seen


def _counts(app: Flask) -> dict[str, int]:
    from heldout.platform.models import Base

    with app.app_context():
        return {table.name: int(db.session.scalar(select(func.count()).select_from(table)) or 0)
                for table in Base.metadata.sorted_tables}


@pytest.fixture
def challenges(challenges_dir: Path) -> Path:
    return challenges_dir


def test_a_busy_instance_backed_up_restores_elsewhere_with_every_report_the_same(
        tmp_path: Path, challenges: Path) -> None:
    source, token = _seeded(tmp_path / "source", challenges)
    before = _reports(source, token)
    assert len(before) == 4  # three reports and one export

    # Busy: invites keep arriving while the backup reads.
    stop = threading.Event()
    made: list[int] = []

    def keep_inviting() -> None:
        with source.app_context():
            admin_id = db.session.scalar(select(User.id))
            assessment_id = db.session.scalar(select(Invite.assessment_id))
            assert admin_id is not None and assessment_id is not None
            while not stop.is_set():
                created = invites.create_invite(
                    assessment_id=assessment_id, candidate_name=f"Late {len(made)}",
                    candidate_email=f"late{len(made)}@example.org", created_by_id=admin_id,
                    secret=SECRET, ttl_days=7, now=utcnow())
                made.append(created.invite.id)
            db.engine.dispose()

    writer = threading.Thread(target=keep_inviting)
    writer.start()
    try:
        while len(made) < 3:
            stop.wait(0.01)
        with source.app_context():
            manifest = backup.backup(tmp_path / "out" / "heldout.tar.gz",
                                     data_dir=tmp_path / "source")
            db.engine.dispose()
    finally:
        stop.set()
        writer.join()
    assert manifest.files >= 2 and manifest.tables["invite"] >= 3 + 3
    assert (tmp_path / "out" / "heldout.tar.gz").stat().st_mode & 0o077 == 0

    target = _app(tmp_path / "target", challenges)
    with target.app_context():
        backup.restore(tmp_path / "out" / "heldout.tar.gz", data_dir=tmp_path / "target")
        db.engine.dispose()
    # The snapshot, whole: as many rows as the manifest says, no more (the writer went on).
    restored = _counts(target)
    assert {name: restored[name] for name in manifest.tables} == manifest.tables
    after = _reports(target, token)
    assert {k: v for k, v in after.items() if k.startswith("report")} == \
        {k: v for k, v in before.items() if k.startswith("report")}
    # The export as it was, plus the invites the writer had made by the snapshot.
    late = [c for c in after["export 1"]["candidates"] if c["candidate"].startswith("Late ")]
    assert len(late) == manifest.tables["invite"] - 3
    assert [c for c in after["export 1"]["candidates"] if c not in late] == \
        before["export 1"]["candidates"]
    blobs = BlobStore(tmp_path / "target" / "blobs")
    assert blobs.get(BlobStore(tmp_path / "source" / "blobs").put(b"print('one')\n"))
    # New rows after a restore take new ids (PostgreSQL's sequences were moved past them).
    with target.app_context():
        admin_id = db.session.scalar(select(User.id))
        assessment_id = db.session.scalar(select(Invite.assessment_id))
        assert admin_id is not None and assessment_id is not None
        invites.create_invite(assessment_id=assessment_id, candidate_name="After",
                              candidate_email="after@example.org", created_by_id=admin_id,
                              secret=SECRET, ttl_days=7, now=utcnow())
        db.engine.dispose()


def test_restore_refuses_a_filled_instance_and_a_damaged_or_foreign_file(
        tmp_path: Path, challenges: Path) -> None:
    source, _ = _seeded(tmp_path / "source", challenges)
    out = tmp_path / "b.tar.gz"
    with source.app_context():
        backup.backup(out, data_dir=tmp_path / "source")
        with pytest.raises(InvalidInput, match="empty instance"):
            backup.restore(out, data_dir=tmp_path / "source")
        db.engine.dispose()

    not_a_backup = tmp_path / "x.tar.gz"
    not_a_backup.write_bytes(b"plain text, not an archive")
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(out) as original, tarfile.open(damaged, "w:gz") as copy:
        for member in original.getmembers():
            data = original.extractfile(member)
            payload = data.read() if data is not None else b""
            if member.name.startswith("blobs/"):
                payload = b"tampered" + payload
                member.size = len(payload)
            copy.addfile(member, io.BytesIO(payload))
    for bad, words in ((not_a_backup, "not a heldout backup"),
                       (damaged, "does not match its hash")):
        target = _app(tmp_path / f"target-{bad.stem}", challenges)
        with target.app_context():
            with pytest.raises(InvalidInput, match=words):
                backup.restore(bad, data_dir=tmp_path / f"target-{bad.stem}")
            db.engine.dispose()


@pytest.mark.sqlite_only("the command reads its database from the environment: SQLite's default")
def test_the_commands_back_up_and_restore(tmp_path: Path, challenges: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    source, token = _seeded(tmp_path / "source", challenges)
    before = _reports(source, token)
    runner = CliRunner()
    environment = {"HELDOUT_SECRET_KEY": SECRET, "HELDOUT_QUEUE_URL": "memory://",
                   "HELDOUT_ENV": "testing",
                   "HELDOUT_CHALLENGES_DIR": str(challenges)}
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HELDOUT_DATA_DIR", str(tmp_path / "source"))
    made = runner.invoke(main, ["backup", str(tmp_path / "b.tar.gz")])
    assert made.exit_code == 0, made.output
    assert "backed up" in made.output and "files" in made.output
    monkeypatch.setenv("HELDOUT_DATA_DIR", str(tmp_path / "target"))
    restored = runner.invoke(main, ["restore", str(tmp_path / "b.tar.gz")])
    assert restored.exit_code == 0, restored.output
    assert _reports(_app(tmp_path / "target", challenges), token) == before
    again = runner.invoke(main, ["restore", str(tmp_path / "b.tar.gz")])
    assert again.exit_code == 1 and "empty instance" in again.output


@pytest.mark.postgresql_only("moves an instance from SQLite to the PostgreSQL server")
def test_a_sqlite_instance_restores_into_postgresql(tmp_path: Path, challenges: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as on_sqlite:
        on_sqlite.setattr(pg, "database_url", lambda _data_dir: None)
        source, token = _seeded(tmp_path / "source", challenges)
        assert source.config["HELDOUT_DATABASE_URL"].startswith("sqlite")
        before = _reports(source, token)
        with source.app_context():
            backup.backup(tmp_path / "b.tar.gz", data_dir=tmp_path / "source")
            db.engine.dispose()
    target = _app(tmp_path / "target", challenges)
    assert target.config["HELDOUT_DATABASE_URL"].startswith("postgresql")
    with target.app_context():
        backup.restore(tmp_path / "b.tar.gz", data_dir=tmp_path / "target")
        db.engine.dispose()
    assert _reports(target, token) == before
