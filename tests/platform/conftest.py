"""Fixtures for the platform tests: an app per test, its client, users and a candidate."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from jinja2.bccache import Bucket, BytecodeCache
from werkzeug.security import generate_password_hash

from heldout.platform.app import create_app
from heldout.platform.extensions import db
from heldout.platform.models import User, utcnow
from heldout.platform.services import assessments, catalogue, invites
from tests import pg
from tests.platform.http_receiver import Receiver
from tests.platform.smtp_server import Inbox, authenticate, free_port

REPO = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    pg.configure(config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    pg.deselect(config, items)


@pytest.fixture(autouse=True)
def _fresh_databases() -> Iterator[None]:
    """The test's PostgreSQL databases, dropped when it ends (nothing on SQLite)."""
    yield
    pg.DATABASES.drop_all()


CHURN = REPO / "challenges" / "churn-prediction"
PASSWORD = "correct horse battery"
SECRET = "test-secret-key-not-for-production"


@pytest.fixture(scope="session")
def challenges_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A challenges directory holding a copy of the churn-prediction bundle."""
    if not CHURN.is_dir():
        pytest.skip("challenges/churn-prediction is not in this checkout")
    root = tmp_path_factory.mktemp("challenges")
    shutil.copytree(CHURN, root / "churn-prediction")
    return root


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates kept for the session: each test's app has its own Jinja
    environment, which would compile every page's templates again (a quarter of a platform
    test's time). Keyed by the template's source checksum, so an edit is never served stale."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


TEMPLATES = _CompiledTemplates()


def make_app(tmp_path: Path, challenges_dir: Path, **overrides: Any) -> Flask:
    config: dict[str, Any] = {
        "HELDOUT_ENV": "testing",
        "HELDOUT_SECRET_KEY": SECRET,
        "HELDOUT_DATA_DIR": str(tmp_path / "var"),
        "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
        "HELDOUT_QUEUE_URL": "memory://",
        "HELDOUT_BASE_URL": "http://heldout.test",
        "WTF_CSRF_ENABLED": False,
    }
    # A fresh database per data directory with every table made (tests/pg.py): a copy of
    # the session's template, a PostgreSQL database with HELDOUT_TEST_DB=postgresql.
    data_dir = Path(overrides.get("HELDOUT_DATA_DIR", tmp_path / "var"))
    own_database = "HELDOUT_DATABASE_URL" in overrides
    database_url = None if own_database else pg.database_url(data_dir, schema=True)
    if database_url is not None:
        config["HELDOUT_DATABASE_URL"] = database_url
    config.update(overrides)
    app = create_app(config)
    app.jinja_env.bytecode_cache = TEMPLATES
    with app.app_context():
        if own_database or not pg.schema_ready(data_dir):
            db.drop_all()
            db.create_all()
        catalogue.load_challenges(challenges_dir)
    return app


@pytest.fixture
def app(tmp_path: Path, challenges_dir: Path) -> Iterator[Flask]:
    app = make_app(tmp_path, challenges_dir)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@dataclass
class Users:
    admin: int
    recruiter: int
    interviewer: int

    def email(self, role: str) -> str:
        return f"{role}@example.com"


@pytest.fixture
def users(app: Flask) -> Users:
    # Cheap hashes keep the tests quick; accounts.create_user (scrypt) is tested on its own.
    ids = {}
    with app.app_context():
        for role in ("admin", "recruiter", "interviewer"):
            user = User(email=f"{role}@example.com", name=role.title(), role=role,
                        password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
            db.session.add(user)
            db.session.commit()
            ids[role] = user.id
    return Users(**ids)


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, role: str) -> Any:
        return self.client.post("/login", data={"email": f"{role}@example.com",
                                                "password": PASSWORD})

    def logout(self) -> Any:
        return self.client.post("/logout")


@pytest.fixture
def auth(client: FlaskClient, users: Users) -> Auth:
    return Auth(client)


@pytest.fixture
def assessment_id(app: Flask, users: Users) -> int:
    with app.app_context():
        return assessments.create_assessment(
            name="ML take-home", challenge_slugs=["churn-prediction"], time_limit_minutes=60,
            instructions="Use any docs.", expires_at=None, show_scores=True,
            created_by_id=users.recruiter).id


@dataclass
class NewInvite:
    id: int
    token: str

    @property
    def url(self) -> str:
        return f"/i/{self.token}"


@pytest.fixture
def make_invite(app: Flask, users: Users, assessment_id: int) -> Callable[..., NewInvite]:
    def make(name: str = "Cara Candidate", email: str = "cara@example.org") -> NewInvite:
        with app.app_context():
            created = invites.create_invite(
                assessment_id=assessment_id, candidate_name=name, candidate_email=email,
                created_by_id=users.recruiter, secret=SECRET, ttl_days=14, now=utcnow())
            return NewInvite(created.invite.id, created.token)

    return make


@pytest.fixture
def invite(make_invite: Callable[..., NewInvite]) -> NewInvite:
    return make_invite()


ATTEMPT_URL = re.compile(r"/a/([^/]+)/")


def start_attempt(client: FlaskClient, invite: NewInvite) -> str:
    """Open the invite and press Start; the attempt's public id."""
    response = client.post(invite.url, data={"consent": "on"})
    assert response.status_code == 302, response.text
    match = ATTEMPT_URL.search(response.headers["Location"])
    assert match
    return match.group(1)


@pytest.fixture
def start() -> Callable[[FlaskClient, NewInvite], str]:
    return start_attempt


@pytest.fixture
def attempt(client: FlaskClient, invite: NewInvite) -> str:
    return start_attempt(client, invite)


@pytest.fixture
def app_factory(tmp_path: Path, challenges_dir: Path) -> Iterator[Callable[..., Flask]]:
    """Another app on the same kind of test setup, with settings overridden."""
    made: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        made.append(make_app(tmp_path, challenges_dir, **overrides))
        return made[-1]

    yield factory
    for app in made:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """An HTTP server on 127.0.0.1 recording what heldout sends it (tests/platform/http_receiver.py)."""
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A local SMTP server on 127.0.0.1 and what it accepted (tests/platform/smtp_server.py)."""
    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port,
                            authenticator=authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
