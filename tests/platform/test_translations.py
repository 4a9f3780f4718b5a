"""Candidate pages in the candidate's language: complete catalogues, kept in step with the
sources, and pages, errors and e-mails that follow the browser's language or the choice
made on the landing page (README "Translations")."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from babel.dates import format_skeleton
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform import i18n, markdown
from heldout.platform.extensions import db
from heldout.platform.services import mail
from tests.platform.conftest import NewInvite, make_app, start_attempt

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "platform" / "heldout" / "platform"
TRANSLATIONS = PACKAGE / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
TRANSLATED = sorted(code for code in i18n.LANGUAGES if code != i18n.STAFF_LANGUAGE)
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
SLUG = "churn-prediction"


def _ids(catalog: Catalog) -> set[str]:
    return {m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id}


def _po(code: str) -> Catalog:
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=code)


def test_extracting_the_sources_gives_the_committed_template(tmp_path: Path) -> None:
    """A message marked in the code but missing from the catalogues (or left there after
    its code went) fails here: run scripts/translations, then translate."""
    extracted = tmp_path / "messages.pot"
    done = subprocess.run(
        [str(Path(sys.executable).with_name("pybabel")), "-q", "extract", "-F",
         str(REPO / "babel.cfg"), "-o", str(extracted), str(PACKAGE)],
        capture_output=True, text=True, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr
    with extracted.open("rb") as f:
        found = _ids(read_po(f))
    with TEMPLATE.open("rb") as f:
        committed = _ids(read_po(f))
    assert found - committed == set(), "marked in the code, missing from messages.pot"
    assert committed - found == set(), "in messages.pot, no longer in the code"
    assert len(found) > 300  # the candidate pages' words, not an empty extraction


# A message the pages' scripts write: t("…") (static/*.js, heldout.js's heldoutText).
SCRIPT_MESSAGE = re.compile(r'(?<![\w.$])t\("((?:[^"\\]|\\.)*)"')


def test_the_scripts_words_are_the_catalogues() -> None:
    """What a script writes reaches the page only through i18n.JS_MESSAGES (extracted like
    any message): a new t("…") missing from it would stay English."""
    used = {m.group(1).replace('\\"', '"') for p in (PACKAGE / "static").glob("*.js")
            for m in SCRIPT_MESSAGE.finditer(p.read_text(encoding="utf-8"))}
    assert len(used) > 50
    assert used - set(i18n.JS_MESSAGES) == set()
    assert set(i18n.JS_MESSAGES) - used == set()


def test_every_language_offered_has_a_catalogue_and_every_catalogue_is_offered() -> None:
    on_disk = {p.parent.parent.name for p in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")}
    assert on_disk == set(TRANSLATED)
    assert set(i18n.FORMATS) == set(i18n.LANGUAGES)


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(code: str) -> None:
    with TEMPLATE.open("rb") as f:
        wanted = _ids(read_po(f))
    po = _po(code)
    by_id = {m.id if isinstance(m.id, str) else m.id[0]: m for m in po if m.id}
    assert wanted - set(by_id) == set(), f"missing from {code}/messages.po"
    untranslated = sorted(i for i in wanted if not all(s.strip() for s in _key(by_id[i].string)))
    assert untranslated == []
    assert sorted(i for i in wanted if by_id[i].fuzzy) == []
    # Placeholders: a translation names the same %(…)s as its message.
    assert [(m.id, [str(e) for e in errors]) for m, errors in po.check()] == []


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_compiled_catalogue_matches_its_source(code: str) -> None:
    """The .mo files are committed (a fresh clone and the package need no build step):
    one compiled from an older .po fails here (scripts/translations compile)."""
    with (TRANSLATIONS / code / "LC_MESSAGES" / "messages.mo").open("rb") as f:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(f) if m.id}
    source = {_key(m.id): _key(m.string) for m in _po(code) if m.id and not m.fuzzy}
    assert compiled == source


def _key(value: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ("",)
    return (value,) if isinstance(value, str) else tuple(value)


def test_the_package_ships_the_compiled_catalogues() -> None:
    # hatchling leaves out what .gitignore names: the .mo files must not be among them.
    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q",
                              str(TRANSLATIONS / "fr" / "LC_MESSAGES" / "messages.mo")],
                             cwd=REPO, check=False)
    assert ignored.returncode == 1


def test_the_landing_page_follows_the_browsers_language(client: FlaskClient,
                                                        invite: NewInvite) -> None:
    page = client.get(invite.url, headers=FRENCH, follow_redirects=True).text
    assert '<html lang="fr">' in page
    assert "Commencer l\u2019évaluation" in page and "Start the assessment" not in page
    assert "Vos données" in page
    # The choice of language, each in its own name, the shown one marked.
    assert 'lang="fr" hreflang="fr" aria-current="true">Français</a>' in page
    assert 'lang="en" hreflang="en">English</a>' in page
    english = client.get("/invite", headers=ENGLISH).text
    assert '<html lang="en">' in english and "Start the assessment" in english
    # A language heldout does not speak: the configured default (English here).
    other = client.get("/invite", headers={"Accept-Language": "ja"}).text
    assert '<html lang="en">' in other


def test_dates_and_numbers_follow_the_language(app: Flask, client: FlaskClient,
                                               invite: NewInvite) -> None:
    from heldout.platform.models import Invite

    with app.app_context():
        row = db.session.get(Invite, invite.id)
        assert row is not None
        expires = row.expires_at
    page = html.unescape(client.get(invite.url, headers=FRENCH, follow_redirects=True).text)
    assert format_skeleton("yMMMd", expires, locale="fr_FR") in page  # "20 déc. 2026"
    english = html.unescape(client.get("/invite", headers=ENGLISH).text)
    assert format_skeleton("yMMMd", expires, locale="en_GB") in english  # "20 Dec 2026"
    with app.test_request_context("/invite", headers=FRENCH):
        from flask import session

        session[i18n.CHOICE_KEY] = "fr"
        assert i18n.format_number(12345.5) == "12\u202f345,5"
    with app.test_request_context("/invite", headers=ENGLISH):
        assert i18n.format_number(12345.5) == "12,345.5"


def test_the_choice_on_the_landing_page_is_kept_for_the_visit(client: FlaskClient,
                                                              invite: NewInvite) -> None:
    client.get(invite.url, headers=ENGLISH)
    chosen = client.get("/invite?lang=fr", headers=ENGLISH)
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/invite"
    page = client.get("/invite", headers=ENGLISH).text
    assert '<html lang="fr">' in page and "Commencer l\u2019évaluation" in page
    # Starting binds the browser to the attempt (a fresh session): the choice stays.
    attempt = start_attempt(client, invite)
    overview = client.get(f"/a/{attempt}/", headers=ENGLISH).text
    assert '<html lang="fr">' in overview and "Vos exercices" in overview
    assert "Terminer l\u2019évaluation" in overview
    # An unknown language changes nothing.
    client.get(f"/a/{attempt}/?lang=xx", headers=ENGLISH)
    assert '<html lang="fr">' in client.get(f"/a/{attempt}/", headers=ENGLISH).text
    client.get(f"/a/{attempt}/?lang=en", headers=FRENCH)
    assert '<html lang="en">' in client.get(f"/a/{attempt}/", headers=FRENCH).text


def test_the_workspace_is_translated_and_the_statement_is_not(
        app: Flask, client: FlaskClient, invite: NewInvite, challenges_dir: Path) -> None:
    attempt = start_attempt(client, invite)
    page = client.get(f"/a/{attempt}/c/{SLUG}", headers=FRENCH).text
    assert '<html lang="fr">' in page
    for words in ("Votre solution", "Lancer les vérifications publiques", "Soumettre",
                  "Vérifications publiques", "Python et paquets"):
        assert words in page, words
    assert "Run public checks" not in page and "Your solution" not in page
    # The statement as the bundle's author wrote it, whatever the page's language.
    statement = (challenges_dir / SLUG / "statement.md").read_text(encoding="utf-8")
    with app.test_request_context(f"/a/{attempt}/c/{SLUG}", headers=FRENCH):
        assert str(markdown.render(statement)) in page
    assert "Predict customer churn" in page
    # The countdown's words for the page's script, in French.
    assert "Temps restant" in html.unescape(page)


def test_staff_pages_stay_in_english(client: FlaskClient) -> None:
    page = client.get("/login", headers=FRENCH).text
    assert '<html lang="en">' in page


def test_a_bad_invite_link_explains_itself_in_the_candidates_language(
        client: FlaskClient) -> None:
    response = client.get("/i/not-a-real-token", headers=FRENCH)
    assert response.status_code == 404
    page = response.text
    assert '<html lang="fr">' in page
    assert "Ce lien n\u2019est pas valide" in page
    assert "la personne qui vous a envoyé le lien" in page


def test_the_invite_email_is_in_the_configured_language(
        app_factory: Callable[..., Flask]) -> None:
    app = app_factory(HELDOUT_LANGUAGE="fr")
    outgoing = mail.Outgoing("Cara Candidate", "cara@example.org", "invite", {
        "org_name": "Acme", "assessment": "ML engineer", "challenges": 2, "minutes": 90,
        "link": "http://heldout.test/i/x", "expires": datetime(2099, 3, 1),
        "contact": "Rita <rita@example.org>"})
    with app.test_request_context("/staff", headers=ENGLISH):
        message = mail.compose(outgoing, sender="heldout@example.org")
    body = message.get_content()
    assert message["Subject"] == "Vous êtes invité(e) à ML engineer"
    assert "Bonjour Cara Candidate," in body
    assert "2 exercices, 90 minutes" in body
    assert "1 mars 2099" in body



def test_the_practice_page_follows_the_choice(tmp_path: Path) -> None:
    challenges = tmp_path / "challenges"
    shutil.copytree(REPO / "challenges" / "warm-up", challenges / "warm-up")
    app = make_app(tmp_path, challenges)
    try:
        client = app.test_client()
        assert client.get("/practice?lang=fr", headers=ENGLISH).status_code == 303
        page = client.get("/practice", headers=ENGLISH).text
        assert '<html lang="fr">' in page
        assert "Ceci est un entraînement." in page and "Lancer les vérifications publiques" in page
        # The sample's statement as its author wrote it.
        assert "Warm-up: the median" in page
    finally:
        with app.app_context():
            db.engine.dispose()
