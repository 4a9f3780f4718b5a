"""A worker's identity survives its restarts, so each life removes what the last one left."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import docker.errors
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform import worker
from heldout.platform.errors import ConfigError
from heldout.platform.extensions import db
from heldout.platform.identity import claim_identity
from heldout.platform.models import Submission, utcnow
from heldout.platform.services.grading import SUBMISSIONS
from heldout.platform.services.scoring import GradingStatus
from heldout.platform.tasks import SANDBOX_KEY

SLUG = "churn-prediction"


def test_two_lives_on_one_data_dir_share_the_identity(tmp_path: Path) -> None:
    first, lock = claim_identity(tmp_path)
    assert first.exclusive and (tmp_path / "worker-id").read_text().strip() == first.worker_id
    lock.close()  # the first life ends (a crash closes the file just the same)
    second, lock = claim_identity(tmp_path)
    lock.close()
    assert second.worker_id == first.worker_id and second.exclusive
    assert second.life != first.life


def test_a_second_worker_beside_a_live_one_gets_its_own_identity(tmp_path: Path) -> None:
    first, first_lock = claim_identity(tmp_path)
    try:
        second, second_lock = claim_identity(tmp_path)
        second_lock.close()
    finally:
        first_lock.close()
    assert first.exclusive and not second.exclusive
    assert second.worker_id != first.worker_id  # never sweeps the live one's containers


def test_a_configured_identity_wins_and_is_checked(tmp_path: Path) -> None:
    identity, lock = claim_identity(tmp_path, "worker-east-1")
    lock.close()
    assert identity.worker_id == "worker-east-1" and identity.exclusive
    assert not (tmp_path / "worker-id").exists()
    with pytest.raises(ConfigError, match="HELDOUT_WORKER_ID"):
        claim_identity(tmp_path, "bad id:with colon")
    (tmp_path / "worker-id").write_text("no good!\n")
    with pytest.raises(ConfigError, match="not a worker id"):
        claim_identity(tmp_path)


def _submission_running_under(app: Flask, client: FlaskClient, attempt: str, owner: str) -> int:
    response = client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "print('hi')\n"})
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalars(select(Submission)).one()
        row.status, row.tries, row.lease_owner = GradingStatus.RUNNING, 1, owner
        row.lease_expires_at = utcnow() + timedelta(minutes=10)  # a lease still "live"
        db.session.commit()
        return row.id


@pytest.mark.docker
def test_a_restarted_worker_removes_its_previous_lifes_leftovers(
        app: Flask, client: FlaskClient, attempt: str, docker_client: Any, sandbox_image: str,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from heldout.sandbox import engine
    from heldout.sandbox.docker_backend import DockerSandbox

    monkeypatch.setitem(app.config, "HELDOUT_RUN_DIR", str(tmp_path / "runs"))
    made: list[Any] = []
    try:
        # First life: the identity labels its sandbox container and its lease.
        first, lock = worker.take_identity(app)
        sandbox = app.extensions[SANDBOX_KEY]
        assert isinstance(sandbox, DockerSandbox)
        assert sandbox.settings.run_dir == tmp_path / "runs", "the platform's settings"
        labels = engine.ownership_labels(sandbox.settings.owner_name)
        assert labels[engine.LABEL_HOST] == first.worker_id
        # The pid label is ours: a restarted container's worker often gets its old pid back.
        assert labels[engine.LABEL_OWNER_PID] == str(os.getpid())
        orphan = docker_client.containers.create(sandbox_image, ["sleep", "60"], labels=labels)
        made.append(orphan)
        bystander = docker_client.containers.create(
            sandbox_image, ["sleep", "60"],
            labels=labels | {engine.LABEL_HOST: "another-worker.example.invalid"})
        made.append(bystander)
        submission_id = _submission_running_under(
            app, client, attempt, f"{first.worker_id}:{first.life}:abcd1234")
        lock.close()  # the first life dies

        # Second life, same data directory: same identity, and its start-up sweeps.
        second, lock = worker.take_identity(app)
        try:
            assert second.worker_id == first.worker_id and second.life != first.life
            report = worker.prepare(app, second)[SUBMISSIONS.kind]
        finally:
            lock.close()
        assert not docker_client.containers.list(all=True, filters={"id": orphan.id})
        assert docker_client.containers.list(all=True, filters={"id": bystander.id})
        assert report.stale == (submission_id,)
        with app.app_context():
            row = db.session.get(Submission, submission_id)
            assert row is not None and row.status == "queued" and row.lease_owner is None
    finally:
        for container in made:
            try:
                container.remove(force=True)
            except docker.errors.NotFound:  # removed by the sweep under test
                continue
