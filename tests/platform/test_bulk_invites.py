"""Bulk invites from a CSV: preview by line, confirm, links handed over once as a download."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.errors import InvalidInput, UploadTooLarge
from heldout.platform.extensions import db
from heldout.platform.models import Invite, utcnow
from heldout.platform.services import bulk_invites
from heldout.platform.tokens import token_hash
from tests.platform.conftest import PASSWORD

GOOD_AND_BAD = (
    "name,email,note\n"  # 1: header
    "Ada Lovelace,ada@example.org,referral\n"  # 2: good
    "Bob,,\n"  # 3: no e-mail
    "Cy,cy-at-example.org\n"  # 4: not an address
    "\n"  # 5: blank, ignored
    f"{'N' * 201},long@example.org\n"  # 6: name too long
    "Dee,dee@example.org," + "x" * 501 + "\n"  # 7: note too long
    "Ada again,ADA@example.org\n"  # 8: duplicate of line 2 (case-insensitive)
    '"Multi\nline",multi@example.org,\n'  # 9-10: a quoted name over two lines
    "Eve,eve@example.org,note,extra\n"  # 11: too many columns
    ",noname@example.org\n"  # 12: no name
    "Fay,fay@example.org\n"  # 13: good
)


def _upload(client: FlaskClient, assessment_id: int, data: bytes,
            filename: str = "people.csv") -> Any:
    return client.post(f"/assessments/{assessment_id}/invites/preview",
                       data={"file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def _reasons(page: str) -> dict[int, str]:
    """Line number -> reason of the "rows left out" table."""
    table = page.split("Rows left out", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr[^>]*><td class="num">(\d+)</td><td class="mono">.*?</td>'
                      r"<td>(.*?)</td></tr>", table, re.S)
    return {int(line): reason for line, reason in rows}


def test_preview_reports_bad_rows_by_line_and_keeps_the_good(app: Flask,
                                                             assessment_id: int) -> None:
    with app.app_context():
        preview = bulk_invites.preview_bulk(assessment_id, GOOD_AND_BAD.encode(), now=utcnow())
    assert [(r.line, r.name, r.email, r.note) for r in preview.good] == [
        (2, "Ada Lovelace", "ada@example.org", "referral"),
        (9, "Multi line", "multi@example.org", ""),
        (13, "Fay", "fay@example.org", ""),
    ]
    reasons = {r.line: r.reason for r in preview.bad}
    assert reasons == {
        3: "no e-mail address",
        4: "'cy-at-example.org' is not an e-mail address",
        6: "the name is longer than 200 characters",
        7: "the note is longer than 500 characters",
        8: "ada@example.org already appears on line 2",
        11: "too many columns: expected name,email[,note]",
        12: "no name",
    }
    assert preview.already == [] and preview.rows == 10


def test_preview_page_then_confirm_downloads_links_once(app: Flask, client: FlaskClient,
                                                        auth: Any, assessment_id: int) -> None:
    auth.login("recruiter")
    response = _upload(client, assessment_id, GOOD_AND_BAD.encode())
    assert response.status_code == 200
    page = response.text
    assert "<strong>3</strong> will be invited" in page
    assert "<strong>7</strong> left out with errors" in page
    reasons = _reasons(page)
    assert reasons[3] == "no e-mail address" and reasons[8].startswith("ada@example.org")
    assert "can&#39;t be shown again" in page or "can't be shown again" in page
    with app.app_context():
        assert db.session.scalars(select(Invite)).all() == []  # a preview stores nothing

    rows = re.search(r'<textarea name="rows" hidden aria-hidden="true">(.*?)</textarea>', page,
                     re.S)
    assert rows
    import html
    text = html.unescape(rows.group(1))
    confirm = client.post(f"/assessments/{assessment_id}/invites/bulk", data={"rows": text})
    assert confirm.status_code == 200
    assert confirm.mimetype == "text/csv"
    assert confirm.headers["Content-Disposition"].startswith("attachment; filename=")
    assert confirm.headers["Cache-Control"] == "no-store"
    lines = list(csv.DictReader(io.StringIO(confirm.text)))
    assert [(r["name"], r["email"], r["note"]) for r in lines] == [
        ("Ada Lovelace", "ada@example.org", "referral"), ("Multi line", "multi@example.org", ""),
        ("Fay", "fay@example.org", "")]
    tokens = [r["link"].removeprefix("http://heldout.test/i/") for r in lines]
    with app.app_context():
        stored = db.session.scalars(select(Invite).order_by(Invite.id)).all()
        assert [i.token_hash for i in stored] == [token_hash(t) for t in tokens]
        assert all(i.delivery == "download" for i in stored)
        assert stored[0].note == "referral"
        for invite in stored:  # only the hash is kept
            assert not any(t in str(v) for t in tokens for v in vars(invite).values())
    shown = client.get(f"/assessments/{assessment_id}").text
    assert "3 link(s) handed over. They are only in the downloaded file invite-links-" in shown
    assert all(f"<td><span class=\"who\">{n}</span>" in shown
               for n in ("Ada Lovelace", "Multi line", "Fay"))
    # Each downloaded link opens its landing page.
    for token in tokens:
        assert app.test_client().get(f"/i/{token}", follow_redirects=True).status_code == 200

    # Confirming again creates nothing and downloads nothing: the links are gone for good.
    again = client.post(f"/assessments/{assessment_id}/invites/bulk", data={"rows": text})
    assert again.status_code == 303
    assert "Nothing new to invite" in client.get(again.headers["Location"]).text
    detail = client.get(f"/assessments/{assessment_id}").text
    assert not any(t in detail for t in tokens)
    with app.app_context():
        assert len(db.session.scalars(select(Invite)).all()) == 3


def test_already_invited_rows_are_flagged_not_invited(app: Flask, client: FlaskClient,
                                                      auth: Any, assessment_id: int,
                                                      make_invite: Callable[..., Any]) -> None:
    make_invite("Ada", "ada@example.org")
    auth.login("recruiter")
    page = _upload(client, assessment_id, b"Ada,ada@example.org\nBea,bea@example.org\n").text
    assert "<strong>1</strong> will be invited" in page
    assert "<strong>1</strong> already invited" in page
    assert _reasons(page) == {1: "ada@example.org is already invited (link created); resend that "
                                 "invite instead"}
    with app.app_context():
        preview = bulk_invites.preview_bulk(assessment_id, "Ada,ada@example.org\n", now=utcnow())
        assert preview.good == [] and [r.line for r in preview.already] == [1]


def test_oversized_file_and_too_many_rows_are_refused(app: Flask, client: FlaskClient,
                                                      auth: Any, assessment_id: int) -> None:
    auth.login("recruiter")
    big = b"".join(b"Person %d,p%d@example.org,%s\n" % (i, i, b"n" * 200) for i in range(1500))
    assert len(big) > bulk_invites.MAX_CSV_BYTES
    response = _upload(client, assessment_id, big)
    assert response.status_code == 400
    assert "The file is larger than 256 KiB" in response.text
    many = b"".join(b"P%d,p%d@example.org\n" % (i, i) for i in range(bulk_invites.MAX_CSV_ROWS + 1))
    assert len(many) < bulk_invites.MAX_CSV_BYTES
    response = _upload(client, assessment_id, many)
    assert response.status_code == 400
    assert f"more than {bulk_invites.MAX_CSV_ROWS} rows" in response.text
    with app.app_context():
        with pytest.raises(UploadTooLarge):
            bulk_invites.preview_bulk(assessment_id, big, now=utcnow())
        assert db.session.scalars(select(Invite)).all() == []
        exactly = b"".join(b"P%d,p%d@example.org\n" % (i, i)
                           for i in range(bulk_invites.MAX_CSV_ROWS))
        assert len(bulk_invites.preview_bulk(assessment_id, exactly, now=utcnow()).good) == \
            bulk_invites.MAX_CSV_ROWS


@pytest.mark.parametrize(("data", "message"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV (it holds binary data)"),
    ("Zoë,zoe@example.org\n".encode("latin-1"), "not a UTF-8 CSV"),
    (b"   \n\n", "The file is empty"),
    (b"\n,\n , \n", "has no candidates"),
])
def test_not_a_csv(client: FlaskClient, auth: Any, assessment_id: int, data: bytes,
                   message: str) -> None:
    auth.login("recruiter")
    response = _upload(client, assessment_id, data)
    assert response.status_code == 400
    assert message in response.text
    # The error sits with the CSV form, which is still there to try again.
    assert 'name="file"' in response.text


def test_a_quoted_cell_that_never_ends_is_one_bad_row(app: Flask, client: FlaskClient,
                                                      auth: Any, assessment_id: int) -> None:
    auth.login("recruiter")
    page = _upload(client, assessment_id, b'"unterminated,ada@example.org\n').text
    assert "No row of the file can be invited" in page and "Invite and download" not in page
    with app.app_context():
        preview = bulk_invites.preview_bulk(
            assessment_id, 'Ada,ada@example.org\n"Bob,bob@example.org\nCy,cy@example.org\n',
            now=utcnow())
    # The open quote swallows the rest of the file into one cell: line 2, no e-mail.
    assert [r.email for r in preview.good] == ["ada@example.org"]
    assert [(r.line, r.reason) for r in preview.bad] == [(2, "no e-mail address")]


def test_no_file_chosen(client: FlaskClient, auth: Any, assessment_id: int) -> None:
    auth.login("recruiter")
    response = client.post(f"/assessments/{assessment_id}/invites/preview", data={},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a CSV file to upload" in response.text


def test_formula_like_cells_are_escaped_in_the_download_and_the_page(
        app: Flask, client: FlaskClient, auth: Any, assessment_id: int) -> None:
    auth.login("recruiter")
    text = ('=HYPERLINK("http://evil.example"),formula@example.org,@SUM(A1)\n'
            "+Plus,plus@example.org,-minus\n"
            "<script>alert(1)</script>,tag@example.org,<b>bold</b>\n")
    page = _upload(client, assessment_id, text.encode()).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;b&gt;bold&lt;/b&gt;" in page
    download = client.post(f"/assessments/{assessment_id}/invites/bulk", data={"rows": text})
    rows = list(csv.reader(io.StringIO(download.text)))[1:]
    assert [row[:3] for row in rows] == [
        ["'=HYPERLINK(\"http://evil.example\")", "formula@example.org", "'@SUM(A1)"],
        ["'+Plus", "plus@example.org", "'-minus"],
        ["<script>alert(1)</script>", "tag@example.org", "<b>bold</b>"],
    ]
    with app.app_context():  # stored as typed; escaping is the exporter's job
        names = db.session.scalars(select(Invite.candidate_name).order_by(Invite.id)).all()
    assert names[0] == '=HYPERLINK("http://evil.example")'
    # The invites table escapes them too.
    detail = client.get(f"/assessments/{assessment_id}").text
    assert "<script>alert(1)</script>" not in detail


def test_archived_or_expired_assessment_refuses_the_bulk_confirm(
        app: Flask, client: FlaskClient, auth: Any, assessment_id: int) -> None:
    auth.login("recruiter")
    client.post(f"/assessments/{assessment_id}/archive", data={"archived": "1"})
    response = client.post(f"/assessments/{assessment_id}/invites/bulk",
                           data={"rows": "Ada,ada@example.org\n"})
    assert response.status_code == 400 and "archived" in response.text
    with app.app_context():
        assert db.session.scalars(select(Invite)).all() == []
        with pytest.raises(InvalidInput, match="archived"):
            bulk_invites.create_bulk(assessment_id=assessment_id, text="Ada,ada@example.org\n",
                                created_by_id=1, secret="s", ttl_days=1, now=utcnow(),
                                delivery="download")


def test_bulk_forms_need_the_csrf_token(app_factory: Callable[..., Flask]) -> None:
    from werkzeug.security import generate_password_hash

    from heldout.platform.models import User
    from heldout.platform.services import assessments

    app = app_factory(WTF_CSRF_ENABLED=True)
    with app.app_context():
        user = User(email="recruiter@example.com", name="R", role="recruiter",
                    password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"))
        db.session.add(user)
        db.session.commit()
        assessment_id = assessments.create_assessment(
            name="A", challenge_slugs=["churn-prediction"], time_limit_minutes=30,
            instructions="", expires_at=None, show_scores=False, created_by_id=user.id).id
    client = app.test_client()
    login_page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page)
    assert token
    client.post("/login", data={"email": "recruiter@example.com", "password": PASSWORD,
                                "csrf_token": token.group(1)})
    page = client.get(f"/assessments/{assessment_id}").text
    assert page.count('name="csrf_token"') >= 4
    refused = client.post(f"/assessments/{assessment_id}/invites/bulk",
                          data={"rows": "Ada,ada@example.org\n"})
    assert refused.status_code == 400
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert form_token
    accepted = client.post(f"/assessments/{assessment_id}/invites/bulk",
                           data={"rows": "Ada,ada@example.org\n", "csrf_token": form_token.group(1)})
    assert accepted.status_code == 200 and accepted.mimetype == "text/csv"
