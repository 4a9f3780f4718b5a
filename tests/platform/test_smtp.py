"""Invite e-mail through a real SMTP server (aiosmtpd on 127.0.0.1, started by the test)."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import ssl
import subprocess
import warnings
from collections.abc import Callable
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from heldout.platform.config import load_settings
from heldout.platform.errors import ConfigError, InvalidInput
from heldout.platform.extensions import db
from heldout.platform.models import Assessment, Invite, utcnow
from heldout.platform.services import assessments, bulk_invites, mail
from tests.platform.conftest import PASSWORD, Users
from tests.platform.smtp_server import Inbox, authenticate, free_port

SENDER = "Hiring <hiring@example.com>"


def _smtp_settings(port: int, **extra: Any) -> dict[str, Any]:
    return {"HELDOUT_SMTP_HOST": "127.0.0.1", "HELDOUT_SMTP_PORT": port,
            "HELDOUT_SMTP_FROM": SENDER, "HELDOUT_SMTP_STARTTLS": False, **extra}


@pytest.fixture
def mail_app(app_factory: Callable[..., Flask], inbox: Inbox) -> Flask:
    return app_factory(**_smtp_settings(inbox.port))


def _login(client: FlaskClient, role: str = "recruiter") -> None:
    response = client.post("/login", data={"email": f"{role}@example.com", "password": PASSWORD})
    assert response.status_code == 302


def _users(app: Flask) -> Users:
    from werkzeug.security import generate_password_hash

    from heldout.platform.models import User

    ids = {}
    with app.app_context():
        for role in ("admin", "recruiter", "interviewer"):
            user = User(email=f"{role}@example.com", name=role.title(), role=role,
                        password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
            db.session.add(user)
            db.session.commit()
            ids[role] = user.id
    return Users(**ids)


def _assessment(app: Flask, users: Users) -> int:
    from heldout.platform.services import assessments

    with app.app_context():
        return assessments.create_assessment(
            name="Data <b>role</b>", challenge_slugs=["churn-prediction"],
            time_limit_minutes=60, instructions="", expires_at=None, show_scores=False,
            created_by_id=users.recruiter).id


@pytest.fixture
def mailed(mail_app: Flask) -> tuple[Flask, FlaskClient, int]:
    users = _users(mail_app)
    assessment_id = _assessment(mail_app, users)
    client = mail_app.test_client()
    _login(client)
    return mail_app, client, assessment_id


def test_one_invite_is_e_mailed_with_a_link_that_opens(mailed: tuple[Flask, FlaskClient, int],
                                                       inbox: Inbox) -> None:
    app, client, assessment_id = mailed
    response = client.post(f"/assessments/{assessment_id}/invites",
                           data={"candidate_name": "Ada Lovelace",
                                 "candidate_email": "ada@example.org"})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "E-mail with the link sent to ada@example.org" in page
    # E-mailed: the page never shows the link itself.
    assert "invite-link" not in page

    ((envelope, message),) = inbox.messages
    assert envelope.rcpt_tos == ["ada@example.org"]
    assert message["From"] == SENDER
    assert message["To"] == "Ada Lovelace <ada@example.org>"
    assert message["Subject"] == "You are invited to Data <b>role</b>"
    body = inbox.body()
    assert "Hello Ada Lovelace" in body and "1 challenge, 60 minutes" in body
    token = inbox.link_token()
    landing = app.test_client().get(f"/i/{token}", follow_redirects=True)
    assert landing.status_code == 200 and "Start" in landing.text
    with app.app_context():
        invite = db.session.scalars(select(Invite)).one()
        assert invite.delivery == "email" and invite.send_error is None
        assert token not in [str(v) for v in vars(invite).values()]


def test_bulk_confirm_e_mails_every_good_row(mailed: tuple[Flask, FlaskClient, int],
                                             inbox: Inbox) -> None:
    _, client, assessment_id = mailed
    text = "name,email\nAda,ada@example.org\nBob,not-an-address\nCy,cy@example.org\n"
    response = client.post(f"/assessments/{assessment_id}/invites/bulk", data={"rows": text})
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "2 invite e-mail(s) sent." in page
    assert sorted(env.rcpt_tos[0] for env, _ in inbox.messages) == ["ada@example.org",
                                                                      "cy@example.org"]
    tokens = {inbox.link_token(i) for i in range(2)}
    assert len(tokens) == 2
    # A second confirm of the same list sends nothing more.
    again = client.post(f"/assessments/{assessment_id}/invites/bulk", data={"rows": text})
    assert "Nothing new to invite" in client.get(again.headers["Location"]).text
    assert len(inbox.messages) == 2


def test_resend_mails_a_new_link_and_the_old_one_dies(mailed: tuple[Flask, FlaskClient, int],
                                                      inbox: Inbox) -> None:
    app, client, assessment_id = mailed
    client.post(f"/assessments/{assessment_id}/invites",
                data={"candidate_name": "Ada", "candidate_email": "ada@example.org"})
    old = inbox.link_token()
    with app.app_context():
        invite_id = db.session.scalars(select(Invite.id)).one()
    response = client.post(f"/invites/{invite_id}/resend")
    assert response.status_code == 302
    assert len(inbox.messages) == 2
    assert inbox.messages[1][1]["Subject"] == "A new link for Data <b>role</b>"
    assert "no longer works" in inbox.body()
    new = inbox.link_token()
    assert new != old
    candidate = app.test_client()
    assert "not known here" in candidate.get(f"/i/{old}", follow_redirects=True).text
    assert candidate.get(f"/i/{new}", follow_redirects=True).status_code == 200


def test_extend_tells_the_candidate(mailed: tuple[Flask, FlaskClient, int],
                                    inbox: Inbox) -> None:
    app, client, assessment_id = mailed
    client.post(f"/assessments/{assessment_id}/invites",
                data={"candidate_name": "Ada", "candidate_email": "ada@example.org"})
    with app.app_context():
        invite_id = db.session.scalars(select(Invite.id)).one()
    response = client.post(f"/invites/{invite_id}/extend", data={"expires_at": "2099-03-01"})
    page = client.get(response.headers["Location"]).text
    assert "now expires on 01 Mar 2099. They were told by e-mail." in page
    assert inbox.messages[-1][1]["Subject"] == "More time to start Data <b>role</b>"
    # The date as the candidate e-mails' language writes it (CLDR's British English).
    assert "expires on 1 March 2099." in inbox.body()


def test_send_test_e_mail_button(mailed: tuple[Flask, FlaskClient, int], inbox: Inbox) -> None:
    app, client, _ = mailed
    assert "Send test e-mail" in client.get("/assessments").text
    response = client.post("/mail/test", data={"back": "/assessments"})
    assert response.status_code == 303 and response.headers["Location"] == "/assessments"
    assert "Test e-mail sent to recruiter@example.com" in client.get("/assessments").text
    ((envelope, message),) = inbox.messages
    assert envelope.rcpt_tos == ["recruiter@example.com"]
    assert message["Subject"] == "heldout test e-mail"
    # Interviewers can't send mail from the platform.
    interviewer = app.test_client()
    _login(interviewer, "interviewer")
    assert interviewer.post("/mail/test").status_code == 403
    assert len(inbox.messages) == 1


def test_without_smtp_the_test_button_is_absent_and_refuses(client: FlaskClient,
                                                            auth: Any) -> None:
    auth.login("recruiter")
    assert "Send test e-mail" not in client.get("/assessments").text
    response = client.post("/mail/test")
    assert "No SMTP server is configured" in client.get(response.headers["Location"]).text


@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")
def test_login_with_user_and_password(app_factory: Callable[..., Flask], inbox: Inbox) -> None:
    app = app_factory(**_smtp_settings(inbox.port, HELDOUT_SMTP_USER="mailer",
                                       HELDOUT_SMTP_PASSWORD="s3cret"))
    settings = mail.SmtpSettings.from_config(app.config)
    assert settings is not None
    with app.test_request_context():
        mail.send_test(settings, to_name="Rae", to_email="rae@example.org", org_name="Acme")
        assert len(inbox.messages) == 1
        wrong = dataclasses.replace(settings, password="wrong")
        with pytest.raises(InvalidInput, match="refused the session"):
            mail.send_test(wrong, to_name="Rae", to_email="rae@example.org", org_name="Acme")
    assert len(inbox.messages) == 1


def test_starttls_required_but_not_offered_fails_cleanly(app_factory: Callable[..., Flask],
                                                         inbox: Inbox) -> None:
    app = app_factory(**_smtp_settings(inbox.port, HELDOUT_SMTP_STARTTLS=True))
    settings = mail.SmtpSettings.from_config(app.config)
    with app.test_request_context(), pytest.raises(InvalidInput, match="refused the session"):
        mail.send_test(settings, to_name="Rae", to_email="rae@example.org", org_name="Acme")
    assert inbox.messages == []


def test_server_down_keeps_the_invite_and_shows_the_link_once(
        app_factory: Callable[..., Flask]) -> None:
    app = app_factory(**_smtp_settings(free_port()))  # nothing listens there
    users = _users(app)
    assessment_id = _assessment(app, users)
    client = app.test_client()
    _login(client)
    response = client.post(f"/assessments/{assessment_id}/invites",
                           data={"candidate_name": "Ada", "candidate_email": "ada@example.org"})
    page = client.get(response.headers["Location"]).text
    assert "was not sent (could not reach 127.0.0.1" in page
    match = re.search(r'id="invite-link" class="mono" readonly value="http://heldout\.test/i/'
                      r'([^"]+)"', page)
    assert match
    assert "invite-link" not in client.get(response.headers["Location"]).text
    with app.app_context():
        invite = db.session.scalars(select(Invite)).one()
        assert invite.send_error and "could not reach" in invite.send_error
    assert app.test_client().get(f"/i/{match.group(1)}", follow_redirects=True).status_code == 200


def test_a_host_without_a_sender_is_refused() -> None:
    with pytest.raises(ConfigError, match="HELDOUT_SMTP_FROM"):
        load_settings({"HELDOUT_SMTP_HOST": "mail.example.com"}, {"HELDOUT_ENV": "testing",
                                                                  "HELDOUT_QUEUE_URL": "memory://"})
    settings = load_settings({"HELDOUT_SMTP_HOST": "mail.example.com",
                              "HELDOUT_SMTP_FROM": SENDER, "HELDOUT_SMTP_PORT": "2525",
                              "HELDOUT_SMTP_STARTTLS": "no"},
                             {"HELDOUT_ENV": "testing", "HELDOUT_QUEUE_URL": "memory://"})
    parsed = mail.SmtpSettings.from_config(settings)
    assert parsed == mail.SmtpSettings("mail.example.com", 2525, "", "", SENDER, False)
    assert mail.SmtpSettings.from_config(load_settings({}, {"HELDOUT_ENV": "testing",
                                                            "HELDOUT_QUEUE_URL": "memory://"})) \
        is None


def test_a_name_with_line_breaks_cannot_add_headers(app: Flask) -> None:
    with app.test_request_context():
        message = mail.compose(mail.Outgoing("Eve\r\nBcc: all@example.org", "eve@example.org",
                                             "test", {"org_name": "Acme", "assessment": ""}),
                               sender=SENDER)
    assert message["Bcc"] is None
    assert message["To"] == '"Eve Bcc: all@example.org" <eve@example.org>'


def test_starttls_then_login_with_a_verified_certificate(
        app_factory: Callable[..., Flask], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The default path: STARTTLS, the server's certificate checked, then the login."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(str(cert), str(key))
    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port,
                            tls_context=server_tls, require_starttls=True,
                            authenticator=authenticate)
    controller.start()
    try:
        app = app_factory(**_smtp_settings(inbox.port, HELDOUT_SMTP_STARTTLS=True,
                                           HELDOUT_SMTP_USER="mailer",
                                           HELDOUT_SMTP_PASSWORD="s3cret"))
        settings = mail.SmtpSettings.from_config(app.config)
        with app.test_request_context():
            # Not trusted yet: the certificate is refused before anything is sent.
            with pytest.raises(InvalidInput, match=r"refused the session.*certificate "
                                                   r"verify failed"):
                mail.send_test(settings, to_name="Rae", to_email="rae@example.org",
                               org_name="Acme")
            assert inbox.messages == []
            monkeypatch.setenv("SSL_CERT_FILE", str(cert))
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "Session.login_data is deprecated",
                                        DeprecationWarning)
                mail.send_test(settings, to_name="Rae", to_email="rae@example.org",
                               org_name="Acme")
        ((envelope, _),) = inbox.messages
        assert envelope.rcpt_tos == ["rae@example.org"]
    finally:
        controller.stop()


def test_mails_the_server_refuses_come_back_as_a_download(mailed: tuple[Flask, FlaskClient, int],
                                                          inbox: Inbox) -> None:
    app, client, assessment_id = mailed
    text = "Ada,ada@example.org\nBo,bounce@example.org\n"
    response = client.post(f"/assessments/{assessment_id}/invites/bulk", data={"rows": text})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["email"] for r in rows] == ["bounce@example.org"]
    assert [env.rcpt_tos for env, _ in inbox.messages] == [["ada@example.org"]]
    page = client.get(f"/assessments/{assessment_id}").text
    assert "1 invite e-mail(s) sent." in page
    assert "1 e-mail(s) were not sent" in page and "the server refused bounce@example.org" in page
    token = rows[0]["link"].removeprefix("http://heldout.test/i/")
    assert app.test_client().get(f"/i/{token}", follow_redirects=True).status_code == 200
    with app.app_context():
        stored = {i.candidate_email: i for i in db.session.scalars(select(Invite))}
        assert stored["ada@example.org"].delivery == "email"
        assert stored["bounce@example.org"].delivery == "download"
        assert "refused" in (stored["bounce@example.org"].send_error or "")


def test_a_name_ending_in_a_backslash_mails_the_candidate_alone(
        mailed: tuple[Flask, FlaskClient, int], inbox: Inbox) -> None:
    """A trailing backslash once escaped the closing quote of a hand-built To header: the
    invite (link included) went to the address written in the name."""
    _, client, assessment_id = mailed
    response = client.post(f"/assessments/{assessment_id}/invites",
                           data={"candidate_name": "eve@evil.example \\",
                                 "candidate_email": "ada@example.org"})
    assert response.status_code == 303
    ((envelope, message),) = inbox.messages
    assert envelope.rcpt_tos == ["ada@example.org"]
    assert getaddresses([message["To"]]) == [("eve@evil.example \\", "ada@example.org")]


@pytest.mark.parametrize("address", [
    "root>,<x@y.z", "ada@example.org,eve@evil.example", "<ada@example.org>",
    '"ada"@example.org', "ada@example.org\\", "ada(x)@example.org", "ada;eve@example.org",
    "ada@[127.0.0.1]", "ada@exa mple.org", "ada@example.org\r\nBcc: eve@evil.example",
])
def test_an_address_that_is_not_one_plain_mailbox_is_refused(
        mailed: tuple[Flask, FlaskClient, int], inbox: Inbox, address: str) -> None:
    app, client, assessment_id = mailed
    response = client.post(f"/assessments/{assessment_id}/invites",
                           data={"candidate_name": "Ada", "candidate_email": address})
    assert response.status_code == 400
    assert "is not an e-mail address" in response.text
    with app.app_context():
        quoted = address.replace('"', '""')
        preview = bulk_invites.preview_bulk(assessment_id, f'Ada,"{quoted}"\n', now=utcnow())
        assert preview.good == [] and "is not an e-mail address" in preview.bad[0].reason
        assert db.session.scalars(select(Invite)).all() == []
    assert inbox.messages == []


def test_a_stored_address_that_is_not_one_mailbox_is_never_sent_to(app: Flask,
                                                                  inbox: Inbox) -> None:
    """Rows stored before addresses were checked strictly: refused when composing."""
    settings = mail.SmtpSettings("127.0.0.1", inbox.port, "", "", SENDER, False)
    context = {"org_name": "Acme", "assessment": ""}
    with app.test_request_context():
        results = mail.send_all(settings, [
            mail.Outgoing("Root", "root>,<x@y.z", "test", context),
            mail.Outgoing("Ada", "ada@example.org", "test", context)])
    assert results[0] is not None and "not an e-mail address" in results[0]
    assert results[1] is None
    assert [env.rcpt_tos for env, _ in inbox.messages] == [["ada@example.org"]]


def test_an_assessment_name_is_one_line_from_where_it_is_typed(
        mailed: tuple[Flask, FlaskClient, int]) -> None:
    app = mailed[0]

    def create(name: str) -> str:
        return assessments.create_assessment(
            name=name, challenge_slugs=["churn-prediction"], time_limit_minutes=60,
            instructions="", expires_at=None, show_scores=False, created_by_id=1).name

    with app.app_context():
        assert create("Data\r\nBcc: eve@evil.example") == "Data Bcc: eve@evil.example"
        with pytest.raises(InvalidInput, match="control characters"):
            create("Data\x00role")


def test_mail_never_fails_after_the_invites_are_committed(
        mailed: tuple[Flask, FlaskClient, int], inbox: Inbox) -> None:
    """An assessment named before names were checked (a line break in it) once made the
    subject raise after the invites were committed: a 500, the links lost and bulk
    invites recorded as e-mailed."""
    app, client, assessment_id = mailed
    with app.app_context():
        db.session.execute(update(Assessment).values(name="Data\nrole"))
        db.session.commit()
    one = client.post(f"/assessments/{assessment_id}/invites",
                      data={"candidate_name": "Ada", "candidate_email": "ada@example.org"})
    assert one.status_code == 303
    assert inbox.messages[-1][1]["Subject"] == "You are invited to Data role"
    bulk = client.post(f"/assessments/{assessment_id}/invites/bulk",
                       data={"rows": "Bo,bo@example.org\nCy,cy@example.org\n"})
    assert bulk.status_code == 303
    assert sorted(env.rcpt_tos[0] for env, _ in inbox.messages) == [
        "ada@example.org", "bo@example.org", "cy@example.org"]
    with app.app_context():
        assert {i.delivery for i in db.session.scalars(select(Invite))} == {"email"}


def test_a_message_that_cannot_be_composed_is_a_per_mail_failure(app: Flask,
                                                                 inbox: Inbox) -> None:
    settings = mail.SmtpSettings("127.0.0.1", inbox.port, "", "", SENDER, False)
    with app.test_request_context():
        results = mail.send_all(settings, [
            mail.Outgoing("Ada", "ada@example.org", "no-such-kind", {}),
            mail.Outgoing("Bo", "bo@example.org", "test", {"org_name": "Acme",
                                                            "assessment": ""})])
    assert results[0] is not None and results[0].startswith("not sent:")
    assert results[1] is None
    assert [env.rcpt_tos for env, _ in inbox.messages] == [["bo@example.org"]]
