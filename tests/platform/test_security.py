"""Security findings reproduced over HTTP, each against an app from the factory.

Open redirect after sign-in, sessions that outlive sign-out, an expiring form token,
unthrottled sign-in and submit, invite tokens in URLs, cache and transport headers,
duplicate invites on reload.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from heldout.platform.extensions import db
from heldout.platform.models import Invite, Submission, User, utcnow
from heldout.platform.services import assessments, invites
from heldout.platform.services.scoring import GradingStatus

PASSWORD = "correct horse battery"
SLUG = "churn-prediction"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(page: str) -> str:
    match = CSRF_FIELD.search(page)
    assert match, page
    return match.group(1)


def _add_user(app: Flask, email: str, role: str = "recruiter") -> int:
    with app.app_context():
        user = User(email=email, name=email.split("@")[0].title(), role=role,
                    password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
        db.session.add(user)
        db.session.commit()
        return user.id


def _login(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs: Any) -> Any:
    return client.post("/login", data={"email": email, "password": password}, **kwargs)


@dataclass(frozen=True)
class Candidate:
    """A started attempt in ``app``: the candidate's client and the attempt's pages."""

    client: FlaskClient
    attempt: str

    @property
    def workspace(self) -> str:
        return f"/a/{self.attempt}/c/{SLUG}"


def _invite_token(app: Flask) -> str:
    recruiter = _add_user(app, f"recruiter-{secrets.token_hex(4)}@example.com")
    with app.app_context():
        assessment = assessments.create_assessment(
            name="ML take-home", challenge_slugs=[SLUG], time_limit_minutes=600,
            instructions="", expires_at=None, show_scores=False, created_by_id=recruiter)
        created = invites.create_invite(
            assessment_id=assessment.id, candidate_name="Cara", candidate_email="cara@example.org",
            created_by_id=recruiter, secret=app.config["SECRET_KEY"], ttl_days=14, now=utcnow())
        return created.token


def _start(app: Flask) -> Candidate:
    """Open the invite link and start, as a browser would (form tokens included)."""
    client = app.test_client()
    page = client.get(f"/i/{_invite_token(app)}", follow_redirects=True)
    assert page.status_code == 200, page.text
    response = client.post("/invite", data={"consent": "on", "csrf_token": _csrf(page.text)})
    assert response.status_code == 302, response.text
    match = re.search(r"/a/([^/]+)/", response.headers["Location"])
    assert match
    return Candidate(client, match.group(1))


def _submissions(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Submission)) or 0)


# -- open redirect after sign-in ---------------------------------------------------------

@pytest.mark.parametrize("target", [
    "/\t/evil.example",          # the reported one: browsers drop the tab -> //evil.example
    "/\t\t/evil.example",
    "\t//evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\x00/evil.example",
    "/\x7f/evil.example",
    "https://evil.example/",
    "http:evil.example",
    "https:/evil.example",
    "javascript:alert(1)",
    "evil.example",
    " //evil.example",
    "",
])
def test_next_never_leaves_the_site(client: FlaskClient, users: Any, target: str) -> None:
    response = _login(client, "admin@example.com", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/assessments"


@pytest.mark.parametrize("raw_query", [
    "next=/%09/evil.example",            # exactly as reported
    "next=%2F%2Fevil.example",
    "next=/%5Cevil.example",
    "next=%5C%5Cevil.example",
    "next=/%0D%0A/evil.example",
    "next=https%3A%2F%2Fevil.example",
    "next=%09https://evil.example",
])
def test_encoded_next_never_leaves_the_site(client: FlaskClient, users: Any,
                                            raw_query: str) -> None:
    response = _login(client, "admin@example.com", query_string=raw_query)
    assert response.status_code == 302
    assert response.headers["Location"] == "/assessments"


def test_newlines_in_next_are_not_a_server_error(client: FlaskClient, users: Any) -> None:
    response = _login(client, "admin@example.com",
                      query_string={"next": "/assessments\r\nSet-Cookie: stolen=1"})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "\r" not in location and "\n" not in location
    assert location.startswith("/assessments")
    assert "stolen" not in response.headers.get("Set-Cookie", "")


@pytest.mark.parametrize("target", ["/assessments/new", "/assessments?page=2",
                                    "/assessments/1#invites", "/a%2F/x"])
def test_next_keeps_paths_of_this_site(client: FlaskClient, users: Any, target: str) -> None:
    response = _login(client, "admin@example.com", query_string={"next": target})
    assert response.headers["Location"] == target


# -- sessions end when they should -------------------------------------------------------

def test_a_cookie_saved_before_sign_out_opens_nothing(app: Flask, client: FlaskClient,
                                                      users: Any) -> None:
    assert _login(client, "recruiter@example.com").status_code == 302
    saved = client.get_cookie("session")
    assert saved is not None
    assert client.get("/assessments").status_code == 200
    client.post("/logout")

    replay = app.test_client()
    replay.set_cookie("session", saved.value)
    response = replay.get("/assessments")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_signing_out_one_browser_ends_the_others(app: Flask, users: Any) -> None:
    laptop, phone = app.test_client(), app.test_client()
    _login(laptop, "recruiter@example.com")
    _login(phone, "recruiter@example.com")
    laptop.post("/logout")
    assert phone.get("/assessments").status_code == 302
    # Signing in again works, with a new session.
    _login(phone, "recruiter@example.com")
    assert phone.get("/assessments").status_code == 200


# -- the form token lasts as long as the session; a refused submit keeps the code --------

def test_a_form_token_still_works_hours_later(app_factory: Callable[..., Flask],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    app = app_factory(WTF_CSRF_ENABLED=True)
    candidate = _start(app)
    token = _csrf(candidate.client.get(candidate.workspace).text)
    later = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp",
                        lambda self: later(self) + 5 * 3600)
    response = candidate.client.post(f"{candidate.workspace}/submit",
                                     data={"code": "print('after five hours')\n",
                                           "csrf_token": token})
    assert response.status_code == 302, response.text
    assert _submissions(app) == 1


def test_a_refused_form_token_keeps_the_typed_code(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(WTF_CSRF_ENABLED=True)
    candidate = _start(app)
    code = "def model():\n    return 'two hours of work & <care>'\n"
    response = candidate.client.post(f"{candidate.workspace}/submit",
                                     data={"code": code, "csrf_token": "not-the-token"})
    assert response.status_code == 400
    textarea = re.search(r'<textarea id="code"[^>]*>(.*?)</textarea>', response.text, re.S)
    assert textarea is not None
    assert textarea.group(1) == "def model():\n    return &#39;two hours of work &amp; &lt;care&gt;&#39;\n"
    assert "could not be verified" in response.text
    assert "press Submit again" in response.text
    assert _submissions(app) == 0
    # The page it answered carries a good token: Submit again goes through.
    response = candidate.client.post(f"{candidate.workspace}/submit",
                                     data={"code": code, "csrf_token": _csrf(response.text)})
    assert response.status_code == 302
    assert _submissions(app) == 1


# -- sign-in throttling --------------------------------------------------------------------

@pytest.fixture
def throttled(app_factory: Callable[..., Flask]) -> Flask:
    app = app_factory(HELDOUT_LOGIN_LIMIT_ACCOUNT="3 per minute",
                      HELDOUT_LOGIN_LIMIT_ADDRESS="6 per minute")
    for name in ("ana", "ben", "cleo", "dan", "eve", "fay", "gil", "hal"):
        _add_user(app, f"{name}@example.com")
    return app


def _from(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_wrong_passwords_for_one_account_are_throttled(throttled: Flask) -> None:
    client = _from(throttled, "192.0.2.1")
    for _ in range(3):
        assert _login(client, "ana@example.com", "wrong password").status_code == 401
    response = _login(client, "ana@example.com", "wrong password")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert "Too many sign-in attempts" in response.text
    assert "Try again in" in response.text
    # Even the right password waits: guessing must not go on.
    assert _login(client, "ana@example.com").status_code == 429
    # The same account from this address, whatever its spelling, is the same count.
    assert _login(client, "ANA@example.com ").status_code == 429
    # Other accounts from the same address are not.
    assert _login(client, "ben@example.com", "wrong password").status_code == 401
    assert _login(client, "ben@example.com").status_code == 302


def test_wrong_passwords_from_one_address_are_throttled(throttled: Flask) -> None:
    client = _from(throttled, "192.0.2.2")
    for name in ("ana", "ben", "cleo", "dan", "eve", "fay"):
        assert _login(client, f"{name}@example.com", "wrong password").status_code == 401
    response = _login(client, "gil@example.com", "wrong password")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    # Another address, same accounts untouched beyond one failure each: not throttled.
    assert _login(_from(throttled, "192.0.2.3"), "hal@example.com").status_code == 302
    assert _login(_from(throttled, "192.0.2.3"), "gil@example.com").status_code == 302


def test_successful_sign_ins_are_not_throttled(throttled: Flask) -> None:
    client = _from(throttled, "192.0.2.4")
    for _ in range(10):
        assert _login(client, "ana@example.com").status_code == 302
        client.post("/logout")


def test_throttling_answers_json_when_asked(throttled: Flask) -> None:
    client = _from(throttled, "192.0.2.5")
    for _ in range(3):
        _login(client, "ben@example.com", "nope nope nope")
    response = _login(client, "ben@example.com", "nope nope nope",
                      headers={"Accept": "application/json"})
    assert response.status_code == 429
    assert response.json is not None and response.json["type"] == "/api/problems/too-many-requests"
    assert "Retry-After" in response.headers


# -- submissions per attempt ----------------------------------------------------------------

def test_pending_submissions_are_capped_and_the_code_kept(app: Flask, client: FlaskClient,
                                                          attempt: str) -> None:
    workspace = f"/a/{attempt}/c/{SLUG}"
    page = client.get(workspace).text
    assert "Up to 3 submissions can wait for grading at once" in page
    for n in range(3):
        response = client.post(f"{workspace}/submit", data={"code": f"print({n})\n"})
        assert response.status_code == 302
    response = client.post(f"{workspace}/submit", data={"code": "print('the fourth')\n"})
    assert response.status_code == 429
    assert "3 submissions waiting to be graded" in response.text
    assert "print(&#39;the fourth&#39;)" in response.text
    assert _submissions(app) == 3
    # Once one is graded, the next is taken.
    with app.app_context():
        first = db.session.scalars(select(Submission).order_by(Submission.id)).first()
        assert first is not None
        first.status = GradingStatus.GRADED
        db.session.commit()
    assert client.post(f"{workspace}/submit", data={"code": "print(4)\n"}).status_code == 302
    assert _submissions(app) == 4


def test_submitting_is_rate_limited_per_attempt(app_factory: Callable[..., Flask]) -> None:
    app = app_factory(HELDOUT_SUBMIT_LIMIT="2 per minute", HELDOUT_MAX_PENDING_SUBMISSIONS=10)
    candidate, other = _start(app), _start(app)
    assert "at most 2 per minute" in candidate.client.get(candidate.workspace).text
    for n in range(2):
        response = candidate.client.post(f"{candidate.workspace}/submit",
                                         data={"code": f"print({n})\n"})
        assert response.status_code == 302
    response = candidate.client.post(f"{candidate.workspace}/submit",
                                     data={"code": "print('third')\n"})
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    assert "limited to 2 per minute" in response.text
    assert "print(&#39;third&#39;)" in response.text
    assert _submissions(app) == 2
    # Another candidate's attempt has its own allowance.
    assert other.client.post(f"{other.workspace}/submit",
                             data={"code": "print(1)\n"}).status_code == 302


# -- invite tokens leave the URL at once ------------------------------------------------------

def test_the_invite_token_is_exchanged_for_a_session(app: Flask, client: FlaskClient,
                                                     invite: Any) -> None:
    response = client.get(invite.url)
    assert response.status_code == 303
    assert response.headers["Location"] == "/invite"
    assert invite.token not in response.headers["Location"]
    assert response.headers["Referrer-Policy"] == "no-referrer"

    page = client.get("/invite")
    assert page.status_code == 200
    assert "Hello Cara Candidate" in page.text and "Start the assessment" in page.text
    assert invite.token not in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert 'action="/invite"' in page.text

    started = client.post("/invite", data={"consent": "on"})
    assert started.status_code == 302 and "/a/" in started.headers["Location"]
    # Back to the landing after Start leads to the attempt.
    assert client.get("/invite").headers["Location"] == started.headers["Location"]
    # The same browser comes back to its attempt; any other finds the link used.
    assert "/a/" in client.get(invite.url).headers["Location"]
    other = app.test_client()
    used = other.get(invite.url)
    assert used.status_code == 410 and "already used" in used.text


def test_the_token_less_page_needs_an_exchanged_link(app: Flask, invite: Any) -> None:
    stranger = app.test_client()
    response = stranger.get("/invite")
    assert response.status_code == 404
    assert "Open the link from your invitation e-mail again" in response.text
    assert stranger.post("/invite", data={"consent": "on"}).status_code == 404


def test_a_tampered_link_exchanges_nothing(client: FlaskClient, invite: Any) -> None:
    tampered = invite.url[:-3] + ("aaa" if not invite.url.endswith("aaa") else "bbb")
    response = client.get(tampered)
    assert response.status_code == 404
    assert "This link is not valid" in response.text
    assert client.get("/invite").status_code == 404


def test_an_exchanged_invite_revoked_later_no_longer_opens(app: Flask, client: FlaskClient,
                                                           invite: Any) -> None:
    client.get(invite.url)
    with app.app_context():
        invites.revoke_invite(invite.id, now=utcnow())
    response = client.get("/invite")
    assert response.status_code == 410 and "withdrawn" in response.text
    assert client.post("/invite", data={"consent": "on"}).status_code == 410


# -- headers: caching -------------------------------------------------------------------------

def test_the_landing_page_is_never_stored(client: FlaskClient, invite: Any) -> None:
    page = client.get(invite.url, follow_redirects=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"


def test_signed_in_pages_and_json_are_never_stored(client: FlaskClient, auth: Any,
                                                   attempt: str) -> None:
    candidate_page = client.get(f"/a/{attempt}/")
    assert candidate_page.headers["Cache-Control"] == "no-store"
    client.post(f"/a/{attempt}/c/{SLUG}/submit", data={"code": "print(1)\n"})
    status = client.get(f"/a/{attempt}/submissions/1")
    assert status.is_json and status.headers["Cache-Control"] == "no-store"

    staff = client.application.test_client()
    Auth = type(auth)
    Auth(staff).login("recruiter")
    for url in ("/assessments", "/assessments/new"):
        assert staff.get(url).headers["Cache-Control"] == "no-store", url
    assert client.application.test_client().get(
        "/healthz").headers["Cache-Control"] == "no-store"


def test_static_assets_stay_cacheable(client: FlaskClient, auth: Any) -> None:
    auth.login("recruiter")
    with client.get("/static/heldout.css") as response:
        assert response.status_code == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")


# -- post/redirect/get for invites ------------------------------------------------------------

def test_reloading_after_creating_an_invite_creates_no_second_one(
        app: Flask, client: FlaskClient, auth: Any, assessment_id: int) -> None:
    auth.login("recruiter")
    response = client.post(f"/assessments/{assessment_id}/invites",
                           data={"candidate_name": "Cara", "candidate_email": "cara@example.org"})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/assessments/{assessment_id}"

    page = client.get(response.headers["Location"]).text
    match = re.search(r'value="http://heldout\.test/i/([^"]+)"', page)
    assert match, page
    token = match.group(1)
    with app.app_context():
        invite = db.session.scalars(select(Invite)).one()
        assert invite.token_hash != token and token not in str(vars(invite))

    reloaded = client.get(f"/assessments/{assessment_id}").text
    assert token not in reloaded and "Invite created for" not in reloaded
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Invite)) == 1
    # The link shown works.
    assert app.test_client().get(f"/i/{token}").status_code == 303


def test_a_refused_invite_form_is_shown_again(client: FlaskClient, auth: Any,
                                              assessment_id: int) -> None:
    auth.login("recruiter")
    response = client.post(f"/assessments/{assessment_id}/invites",
                           data={"candidate_name": "Cara", "candidate_email": "not an address"})
    assert response.status_code == 400
    assert 'value="Cara"' in response.text


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(
        app_factory: Callable[..., Flask]) -> None:
    direct = app_factory(HELDOUT_LOGIN_LIMIT_ADDRESS="2 per minute")
    _add_user(direct, "ivy@example.com")
    client = _from(direct, "192.0.2.20")
    # Without a trusted proxy, a made-up X-Forwarded-For does not give a fresh address.
    for n in range(2):
        _login(client, "ivy@example.com", "wrong password",
               headers={"X-Forwarded-For": f"203.0.113.{n}"})
    assert _login(client, "ivy@example.com",
                  headers={"X-Forwarded-For": "203.0.113.99"}).status_code == 429

    proxied = app_factory(HELDOUT_LOGIN_LIMIT_ADDRESS="2 per minute", HELDOUT_TRUSTED_PROXIES=1)
    _add_user(proxied, "jo@example.com")
    proxy = _from(proxied, "10.0.0.1")
    for _ in range(2):
        _login(proxy, "jo@example.com", "wrong password",
               headers={"X-Forwarded-For": "203.0.113.5"})
    assert _login(proxy, "jo@example.com", "wrong password",
                  headers={"X-Forwarded-For": "203.0.113.5"}).status_code == 429
    # Another client behind the same proxy is not throttled with the first.
    assert _login(proxy, "jo@example.com",
                  headers={"X-Forwarded-For": "203.0.113.6"}).status_code == 302


# -- what a candidate's session holds -------------------------------------------------------

def test_a_session_naming_an_invite_by_its_number_starts_nothing(app: Flask,
                                                                 invite: Any) -> None:
    """The session held the invite's sequential id: whoever could sign a session (the key
    was public outside production) wrote {"invite": N} and started any unstarted invite."""
    forger = app.test_client()
    for held in (invite.id, str(invite.id)):
        with forger.session_transaction() as session:
            session["invite"] = held
        assert forger.get("/invite").status_code == 404
        assert forger.post("/invite", data={"consent": "on"}).status_code == 404
    with app.app_context():
        row = db.session.get(Invite, invite.id)
        assert row is not None and row.started_at is None and row.attempt is None


def test_an_opened_link_leaves_nothing_guessable_in_the_session(client: FlaskClient,
                                                                invite: Any) -> None:
    assert client.get(invite.url).status_code == 303
    with client.session_transaction() as session:
        held = dict(session)
    assert held.keys() == {"invite"}
    assert isinstance(held["invite"], str) and len(held["invite"]) >= 32
    assert invite.token not in held["invite"]
    # And it is what the Start button goes by.
    assert client.post("/invite", data={"consent": "on"}).status_code == 302


def test_someone_else_s_wrong_passwords_do_not_lock_the_owner_out(throttled: Flask) -> None:
    """The per-account count was kept across addresses: anyone could keep an account's
    owner from signing in by failing to sign in as them."""
    attacker = _from(throttled, "203.0.113.66")
    for _ in range(3):
        assert _login(attacker, "ana@example.com", "wrong password").status_code == 401
    assert _login(attacker, "ana@example.com", "wrong password").status_code == 429
    assert _login(_from(throttled, "192.0.2.30"), "ana@example.com").status_code == 302


# -- sign-in starts a new session ------------------------------------------------------------

def test_signing_in_starts_a_new_session(app: Flask, client: FlaskClient, users: Any) -> None:
    """Whatever the browser held before signing in (a form token someone planted, a
    candidate's binding) was carried into the signed-in session."""
    client.get("/login")
    with client.session_transaction() as session:
        session["csrf_token"] = "planted-by-someone-else"
        session["planted"] = True
    assert _login(client, "recruiter@example.com").status_code == 302
    with client.session_transaction() as session:
        assert session.get("csrf_token") != "planted-by-someone-else"
        assert "planted" not in session
        assert session.get("_user_id")
    assert client.get("/assessments").status_code == 200


# -- secrets shown once never travel in the cookie ----------------------------------------------

def _cookie_contents(app: Flask, cookie: str) -> str:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    return str(serializer.loads(cookie))


def _shown_then_replayed(app: Flask, client: FlaskClient, url: str, data: dict[str, str],
                         shown: str) -> tuple[str, str]:
    """POST ``url``, read the secret the next page shows (``shown``, a pattern), and check
    the cookie never held it; then what the cookie saved before that page shows again."""
    created = client.post(url, data=data)
    assert created.status_code == 303
    saved = client.get_cookie("session")
    assert saved is not None
    match = re.search(shown, client.get(created.headers["Location"]).text)
    assert match, "the page shows no secret"
    secret = match.group(1)
    assert secret not in _cookie_contents(app, saved.value)
    replay = app.test_client()
    replay.set_cookie("session", saved.value)
    again = replay.get(created.headers["Location"])
    assert again.status_code == 200
    return secret, again.text


def test_a_generated_password_is_not_in_the_cookie_and_a_replay_shows_nothing(
        app: Flask, client: FlaskClient, auth: Any) -> None:
    """The password shown once travelled in the (signed, not encrypted) session cookie, and
    the cookie saved before the page was shown showed it again."""
    auth.login("admin")
    password, again = _shown_then_replayed(
        app, client, "/admin/users/new",
        {"name": "Nia New", "email": "nia@example.com", "role": "interviewer"},
        r'id="new-password" class="mono" readonly value="([^"]+)"')
    assert password not in again and 'id="new-password"' not in again


def test_a_new_invite_link_is_not_in_the_cookie_and_a_replay_shows_nothing(
        app: Flask, client: FlaskClient, auth: Any, assessment_id: int) -> None:
    auth.login("recruiter")
    token, again = _shown_then_replayed(
        app, client, f"/assessments/{assessment_id}/invites",
        {"candidate_name": "Cara", "candidate_email": "cara@example.org"},
        r'value="http://heldout\.test/i/([^"]+)"')
    assert token not in again
    # The link shown once works.
    assert app.test_client().get(f"/i/{token}").status_code == 303


def test_a_secret_never_shown_goes_stale_and_the_database_keeps_it_masked(app: Flask) -> None:
    from datetime import timedelta

    from heldout.platform.models import ShownOnce
    from heldout.platform.services import shown_once

    secret = "a-generated-password-0123"
    with app.app_context():
        start = utcnow()
        stale = shown_once.keep(secret, now=start)
        fresh = shown_once.keep(secret, now=start)
        stored = db.session.scalars(select(ShownOnce.masked)).all()
        assert len(stored) == 2 and all(secret.encode() not in row for row in stored)
        later = start + shown_once.KEEP + timedelta(seconds=1)
        assert shown_once.take(stale, now=later) is None
        assert shown_once.take(fresh.split(".")[0] + ".00", now=start) is None  # a wrong pad
        assert shown_once.take(fresh, now=start) is None  # the try above used it up
        kept = shown_once.keep(secret, now=later)
        assert db.session.scalar(select(func.count()).select_from(ShownOnce)) == 1
        assert shown_once.take(kept, now=later) == secret
        assert shown_once.take(kept, now=later) is None


# -- numbers too large for the database ---------------------------------------------------------

HUGE_NUMBERS = (2**31, 2**63, 10**30)


def _filled(rule: str, number: int) -> str:
    url = re.sub(r"<int:\w+>", str(number), rule)
    url = re.sub(r"<any\(([\w]+)[^>]*>", r"\1", url)
    return re.sub(r"<[^>]+>", "x", url)


@pytest.mark.parametrize("number", HUGE_NUMBERS)
def test_a_number_too_large_for_the_database_is_not_found(app: Flask, client: FlaskClient,
                                                          auth: Any, assessment_id: int,
                                                          number: int) -> None:
    """An id past the database's integer columns reached the query: a 500 (an overflow on
    SQLite, a numeric error on PostgreSQL) instead of a 404."""
    auth.login("admin")
    checked = 0
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        url = _filled(rule.rule, number)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code == 404, (method, url, response.status_code)
            checked += 1
    assert checked >= 20
    for method, url, data in (
            ("GET", f"/assessments?page={number}", None),
            ("GET", f"/assessments/{assessment_id}?page={number}", None),
            ("GET", f"/admin/audit?page={number}", None),
            ("GET", f"/assessments/{assessment_id}/compare?attempt={number}&attempt=1", None),
            ("POST", f"/admin/assessments/{assessment_id}/team", {"team": str(number)}),
            ("POST", "/admin/users/1/teams", {"teams": str(number)})):
        response = client.open(url, method=method, data=data)
        assert response.status_code < 500, (method, url, response.status_code)
