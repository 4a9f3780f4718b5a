"""Single sign-on for staff, end to end against a real OpenID Connect provider (the
oidc-provider package from npm, started once for this module on 127.0.0.1)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from heldout.platform.config import load_settings
from heldout.platform.errors import ConfigError
from heldout.platform.extensions import db
from heldout.platform.models import AuditEvent, Team, TeamMember, User
from heldout.platform.services import audit, users_admin
from tests.platform.conftest import PASSWORD, Users

PROVIDER_DIR = Path(__file__).with_name("oidc_provider")
CLIENT_ID = "heldout"
CLIENT_SECRET = "heldout-test-client-secret-0123456789"
CALLBACK = "http://heldout.test/login/sso/callback"  # the test apps' HELDOUT_BASE_URL
ACCOUNTS: dict[str, dict[str, Any]] = {
    "ada": {"email": "ada@example.com", "email_verified": True, "name": "Ada Lovelace",
            "heldout_role": ["staff", "recruiter"], "groups": ["data", "nowhere"]},
    "noor": {"email": "noor@example.com", "email_verified": True, "name": "Noor"},
    "mallory": {"email": "admin@example.com", "email_verified": False, "name": "Mallory",
                "heldout_role": "admin"},
}


@dataclass(frozen=True)
class Provider:
    issuer: str

    def misbehave(self, **query: str) -> None:
        """The next token response carries a doctored ID token (see provider.mjs)."""
        requests.get(f"{self.issuer}/_test/next-id-token", params=query,
                     timeout=10).raise_for_status()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: this test's OpenID Connect provider runs on Node.js")
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        npm = shutil.which("npm")
        assert npm is not None, "node is installed but npm is not: install npm"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True,
                       capture_output=True, timeout=300)
    port = _free_port()
    config = {"accounts": ACCOUNTS, "clients": [{
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code"], "response_types": ["code"]}]}
    process = subprocess.Popen([node, "provider.mjs", str(port), json.dumps(config)],
                               cwd=PROVIDER_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    issuer = f"http://127.0.0.1:{port}"
    try:
        # Until the provider answers (a process starting, not time passing).
        for _ in range(300):
            if process.poll() is not None:
                raise AssertionError(f"the provider exited: {process.stdout.read()}")  # type: ignore[union-attr]
            try:
                requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield Provider(issuer)
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


@pytest.fixture
def sso_app(app_factory: Callable[..., Flask], provider: Provider) -> Flask:
    app = app_factory(HELDOUT_OIDC_ISSUER=provider.issuer, HELDOUT_OIDC_CLIENT_ID=CLIENT_ID,
                      HELDOUT_OIDC_CLIENT_SECRET=CLIENT_SECRET,
                      HELDOUT_OIDC_PROVIDER_NAME="Example ID",
                      HELDOUT_OIDC_SCOPES="openid email profile heldout",
                      HELDOUT_OIDC_ROLE_CLAIM="heldout_role", HELDOUT_OIDC_TEAMS_CLAIM="groups")
    with app.app_context():
        db.session.add(Team(slug="data", name="Data"))
        db.session.commit()
    return app


def authorize_url(client: FlaskClient) -> str:
    started = client.get("/login/sso")
    assert started.status_code == 302, started.text
    return str(started.headers["Location"])


def sign_in_at_provider(provider: Provider, url: str, account: str) -> str:
    """Play the person at the provider (a browser of its own); the URL it sends them back
    to heldout with."""
    browser = requests.Session()
    answer = browser.get(url, allow_redirects=False, timeout=10)
    for _ in range(10):
        location = answer.headers["Location"]
        if location.startswith(CALLBACK):
            return str(location)
        target = location if location.startswith("http") else provider.issuer + location
        if urlsplit(target).path.startswith("/interaction/"):
            target += "/login"
            answer = browser.get(target, params={"account": account}, allow_redirects=False,
                                 timeout=10)
        else:
            answer = browser.get(target, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text
    raise AssertionError("the provider never sent the person back")


def back_at_heldout(client: FlaskClient, callback: str) -> Any:
    parts = urlsplit(callback)
    return client.get(f"{parts.path}?{parts.query}")


def user_by_email(app: Flask, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def signed_in(client: FlaskClient) -> bool:
    return client.get("/assessments").status_code == 200


def test_sign_in_gives_role_and_teams_from_claims(sso_app: Flask, provider: Provider) -> None:
    client = sso_app.test_client()
    page = client.get("/login")
    assert "Sign in with Example ID" in page.text
    assert 'name="password"' in page.text  # password sign-in stays on by default

    url = authorize_url(client)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(provider.issuer + "/auth?")
    assert query["client_id"] == [CLIENT_ID] and query["redirect_uri"] == [CALLBACK]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    answer = back_at_heldout(client, sign_in_at_provider(provider, url, "ada"))

    assert answer.status_code == 302 and answer.headers["Location"].endswith("/assessments")
    assert signed_in(client)
    with sso_app.app_context():
        user = db.session.scalar(select(User).where(User.email == "ada@example.com"))
        assert user is not None
        assert (user.role, user.name, user.oidc_subject) == ("recruiter", "Ada Lovelace", "ada")
        assert user.oidc_issuer == provider.issuer
        teams = db.session.scalars(select(Team.slug).join(TeamMember)
                                   .where(TeamMember.user_id == user.id)).all()
        assert teams == ["data"]  # "nowhere" is no team here
        events = list(db.session.scalars(select(AuditEvent.action)))
        assert "user.create" in events and "login.success" in events


def test_provider_requires_pkce(sso_app: Flask, provider: Provider) -> None:
    # heldout's request carries a challenge (above); the provider refuses one without.
    url = authorize_url(sso_app.test_client())
    parts = urlsplit(url)
    kept = {k: v[0] for k, v in parse_qs(parts.query).items() if not k.startswith("code_challenge")}
    answer = requests.get(f"{provider.issuer}{parts.path}", params=kept, allow_redirects=False,
                          timeout=10)
    refusal = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert refusal["error"] == ["invalid_request"]
    assert "PKCE" in refusal["error_description"][0]


@pytest.mark.parametrize(("doctored", "why"), [
    ({"aud": "another-application"}, "aud"),
    # Authlib alone checks only azp here, which names heldout: the audience must be checked.
    ({"aud": "another-application", "azp": CLIENT_ID}, "aud"),
    ({"exp_offset": "-7200"}, "expired"),
], ids=["wrong-audience", "wrong-audience-right-azp", "expired"])
def test_doctored_id_token_is_refused(sso_app: Flask, provider: Provider,
                                      doctored: dict[str, str], why: str) -> None:
    client = sso_app.test_client()
    url = authorize_url(client)
    provider.misbehave(**doctored)
    answer = back_at_heldout(client, sign_in_at_provider(provider, url, "ada"))

    assert answer.status_code == 403
    assert "the provider&#39;s answer was refused" in answer.text
    assert not signed_in(client)
    assert user_by_email(sso_app, "ada@example.com") is None
    with sso_app.app_context():
        failure = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login.failure"))
        assert failure is not None and why in failure.detail["reason"]


def test_replayed_or_foreign_state_is_refused(sso_app: Flask, provider: Provider) -> None:
    client = sso_app.test_client()
    callback = sign_in_at_provider(provider, authorize_url(client), "ada")
    assert back_at_heldout(client, callback).status_code == 302
    client.post("/logout")

    replayed = back_at_heldout(client, callback)
    assert replayed.status_code == 403 and "already used" in replayed.text
    assert not signed_in(client)

    # A sign-in started in one browser and finished in another (login CSRF).
    victim = sso_app.test_client()
    foreign = back_at_heldout(victim, sign_in_at_provider(provider, authorize_url(client), "ada"))
    assert foreign.status_code == 403 and not signed_in(victim)


def test_account_without_role_waits_for_an_admin(sso_app: Flask, provider: Provider) -> None:
    client = sso_app.test_client()
    answer = back_at_heldout(client, sign_in_at_provider(provider, authorize_url(client), "noor"))
    assert answer.status_code == 403 and "waits for an admin" in answer.text
    assert not signed_in(client)
    waiting = user_by_email(sso_app, "noor@example.com")
    assert waiting is not None and waiting.role == ""

    with sso_app.app_context():
        admin = User(email="root@example.com", name="Root", role="admin", password_hash="!")
        db.session.add(admin)
        db.session.commit()
        users_admin.change_role(actor=admin, user_id=waiting.id, role="interviewer",
                                origin=audit.Origin(None, None))
    answer = back_at_heldout(client, sign_in_at_provider(provider, authorize_url(client), "noor"))
    assert answer.status_code == 302 and signed_in(client)
    assert user_by_email(sso_app, "noor@example.com").role == "interviewer"  # type: ignore[union-attr]


def test_unverified_address_never_takes_over_an_account(sso_app: Flask, provider: Provider,
                                                       ) -> None:
    with sso_app.app_context():
        db.session.add(User(email="admin@example.com", name="Admin", role="admin",
                            password_hash="!"))
        db.session.commit()
    client = sso_app.test_client()
    answer = back_at_heldout(client, sign_in_at_provider(provider, authorize_url(client),
                                                         "mallory"))
    assert answer.status_code == 403 and not signed_in(client)
    assert user_by_email(sso_app, "admin@example.com").oidc_subject is None  # type: ignore[union-attr]


def test_password_login_turned_off(app_factory: Callable[..., Flask], provider: Provider) -> None:
    app = app_factory(HELDOUT_OIDC_ISSUER=provider.issuer, HELDOUT_OIDC_CLIENT_ID=CLIENT_ID,
                      HELDOUT_OIDC_CLIENT_SECRET=CLIENT_SECRET, HELDOUT_PASSWORD_LOGIN=False)
    with app.app_context():
        db.session.add(User(email="admin@example.com", name="Admin", role="admin",
                            password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000")))
        db.session.commit()
    client = app.test_client()
    page = client.get("/login")
    assert "Sign in with single sign-on" in page.text and 'name="password"' not in page.text
    refused = client.post("/login", data={"email": "admin@example.com", "password": PASSWORD})
    assert refused.status_code == 403 and not signed_in(client)


def test_password_login_off_needs_single_sign_on() -> None:
    with pytest.raises(ConfigError, match="HELDOUT_OIDC_ISSUER"):
        load_settings({}, {"HELDOUT_ENV": "testing", "HELDOUT_PASSWORD_LOGIN": False})
    with pytest.raises(ConfigError, match="CLIENT_ID"):
        load_settings({}, {"HELDOUT_ENV": "testing", "HELDOUT_OIDC_ISSUER": "https://id.example"})


def test_no_sso_without_an_issuer(client: FlaskClient, users: Users) -> None:
    assert "Sign in with" not in client.get("/login").text
    assert client.get("/login/sso").status_code == 404
