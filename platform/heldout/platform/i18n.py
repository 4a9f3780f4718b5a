"""The candidate's language: which one a request is answered in, the choice on the landing
page, and dates, times and numbers in that language's conventions (Flask-Babel; the
catalogues are in translations/, README "Translations").

Candidate pages are translated; staff pages stay in English. What a bundle's author wrote
(statements, challenge titles, check names) is never passed through the catalogues.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from babel import Locale
from babel.dates import format_skeleton
from babel.lists import format_list
from babel.numbers import format_decimal
from flask import Flask, current_app, has_request_context, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_babel import Babel, get_locale, gettext
from flask_login import current_user

# Each language the candidate pages speak, by its code, with its name in itself (what the
# choice on the landing page shows). A language is listed once its catalogue is complete
# (tests/platform/test_translations.py).
LANGUAGES: dict[str, str] = {"en": "English", "fr": "Français"}
# The conventions dates and numbers follow in each language: English keeps the 24-hour
# clock and the day-month-year order the pages have always shown.
FORMATS: dict[str, str] = {"en": "en_GB", "fr": "fr_FR"}
# The candidate's choice, kept in the session cookie for the rest of the visit.
CHOICE_KEY = "language"
# The query parameter the choice is made with (a link per language).
CHOICE_PARAM = "lang"
# The blueprints whose pages (and the HTML fragments of their JSON) candidates read.
CANDIDATE_BLUEPRINTS = ("candidate", "api.candidate", "api.assistant")
STAFF_LANGUAGE = "en"
N_ = str  # marks a message for the catalogue where it is translated later (gettext(...))


def default_language() -> str:
    """The language of candidate pages when the browser asks for none of ours, and of the
    e-mails candidates receive (HELDOUT_LANGUAGE)."""
    return str(current_app.config["HELDOUT_LANGUAGE"])


def _candidate_facing() -> bool:
    if request.blueprint in CANDIDATE_BLUEPRINTS:
        return True
    # Elsewhere (an address that does not exist, a sign-in page): the candidate's own
    # choice, when this browser made one and nobody of the staff is signed in.
    return CHOICE_KEY in session and not current_user.is_authenticated


def language() -> str:
    """The language this request is answered in: English outside a request and on staff
    pages; for candidates their choice, else the best of the browser's languages."""
    if not has_request_context() or not _candidate_facing():
        return STAFF_LANGUAGE
    chosen = session.get(CHOICE_KEY)
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(list(LANGUAGES)) or default_language()


def _select_locale() -> str:
    return FORMATS[language()]


def current_locale() -> Locale:
    """The locale of this request (Flask-Babel's), English outside any request."""
    return get_locale() or Locale.parse(FORMATS[STAFF_LANGUAGE])


def format_number(value: float, pattern: str = "#,##0.###") -> str:
    """A number in the page's language ("12,345" in English, "12 345" in French)."""
    return format_decimal(value, format=pattern, locale=current_locale())


def format_words(words: Sequence[str]) -> str:
    """Words joined as the page's language lists them ("a, b and c"; "a, b et c")."""
    return format_list(list(words), locale=current_locale()) if words else ""


def _utc(value: datetime) -> datetime:
    # Every time the app stores is naive UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# How much of a moment a page shows, as CLDR skeletons: each language orders and spells
# the fields its own way ("6 Dec 2026, 14:05", "6 déc. 2026, 14:05").
SKELETONS = {"time": "Hm", "seconds": "Hms", "date": "yMMMd", "long_date": "yMMMMd"}


def format_moment(value: datetime | None, what: str = "time") -> str:
    """A UTC moment in the page's language, ending in "UTC" (the pages' script adds the
    browser's local time beside the ones in a ``<time>`` element)."""
    if value is None:
        return "—"
    locale = current_locale()
    if what == "datetime":  # the date and the time, joined as the language joins them
        return str(locale.datetime_formats["medium"]).replace(
            "{0}", format_moment(value, "time")).replace("{1}", format_moment(value, "date"))
    shown = format_skeleton(SKELETONS[what], _utc(value), tzinfo=UTC, locale=locale)
    return shown if what.endswith("date") else f"{shown} UTC"


def _choose_language() -> ResponseReturnValue | None:
    """``?lang=fr`` on a candidate page: remember the choice, and show the page without it."""
    chosen = request.args.get(CHOICE_PARAM)
    if request.method != "GET" or chosen is None or request.blueprint not in CANDIDATE_BLUEPRINTS:
        return None
    if chosen in LANGUAGES:
        session[CHOICE_KEY] = chosen
    query = urlencode([(k, v) for k, v in request.args.items(multi=True) if k != CHOICE_PARAM])
    return redirect(request.path + (f"?{query}" if query else ""), code=303)


def language_links() -> list[dict[str, Any]]:
    """The choice on the landing page: each language, in its own name, and whether it is
    the one shown."""
    shown = language()
    return [{"code": code, "name": name, "current": code == shown,
             "href": f"{request.path}?{CHOICE_PARAM}={code}"}
            for code, name in LANGUAGES.items()]


# Words the pages build from stored values: challenge kinds, and the statuses on badges.
KIND_NAMES = {"function": N_("function"), "feature_engineering": N_("feature engineering"),
              "model_training": N_("model training"), "deployment": N_("deployment"),
              "notebook": N_("notebook"), "sql": N_("sql")}
STATE_NAMES = {"not started": N_("not started"), "draft saved": N_("draft saved"),
               "submitted": N_("submitted"), "queued": N_("queued"), "running": N_("running"),
               "graded": N_("graded"), "internal_error": N_("internal error"),
               "failed": N_("failed")}


def kind_name(kind: str) -> str:
    """A challenge kind in words, in the page's language."""
    return gettext(KIND_NAMES[kind]) if kind in KIND_NAMES else kind.replace("_", " ")


def state_name(state: str) -> str:
    """A status on a badge in words, in the page's language."""
    return gettext(STATE_NAMES[state]) if state in STATE_NAMES else state.replace("_", " ")


# What the pages' scripts write (static/heldout.js: ``heldoutText``), sent with each
# candidate page in its language.
JS_MESSAGES = (
    # heldout.js: the countdown and the local times
    N_("Time left"), N_("10 minutes left."), N_("2 minutes left."),
    N_("Your work is saved as you type and submitted for you when the time ends."),
    N_("Submit your latest work before the time ends."), N_("Submit your work now."),
    N_("Show timer"), N_("Hide timer"), N_("%(time)s your time"),
    # workspace.js: the files, autosave, the panes
    N_("just now"), N_("%(seconds)s s ago"), N_("%(minutes)s min ago"),
    N_("Code editor: %(name)s"), N_("Your files"), N_("Rename"), N_("Delete"),
    N_("The file the checks run"), N_("Named by the challenge; submitted once it has text"),
    N_("Rename %(name)s"), N_("Delete %(name)s"), N_("Type a name (%(accepted)s)."),
    N_("No spaces at the start or the end of the name."),
    N_('Use a plain name: no leading dot or slash, no "..", no backslash.'),
    N_("At most 200 characters."), N_("There is a file called %(name)s already."),
    N_("New file name"), N_("Create"), N_("Cancel"),
    N_("This challenge takes at most %(most)s files: delete one first."),
    N_("New name for %(name)s"), N_("Keep it"),
    N_("Delete %(name)s? Its text leaves your draft and your next submission."),
    N_("Not saved: %(why)s"),
    N_("Time is up: the server keeps your last saved work and submits it."),
    N_("Saving paused for a moment (too many saves); your text is still here."),
    N_("Not saved: the server can't be reached. Retrying; keep this page open."),
    N_("Saving…"), N_("Unsaved changes"), N_("Saved %(when)s"),
    N_("Long output is cut: only its last part is kept."),
    N_("Width of the statement (percent); the editor takes the rest"),
    N_("Height of the results (percent of the pane); the editor takes the rest"),
    # notebook.js: the cells
    N_("Code"), N_("Markdown"), N_("Raw text"), N_("Notebook %(name)s"), N_("+ Code cell"),
    N_("+ Markdown cell"), N_("Cell"), N_("Cell %(n)s · %(kind)s"), N_("Type of cell %(n)s"),
    N_("Move cell %(n)s up"), N_("Move cell %(n)s down"),
    N_("Add a code cell below cell %(n)s"), N_("Delete cell %(n)s"),
    N_("Cell %(n)s (%(kind)s)"), N_("Cell moved to position %(n)s."),
    N_("Cell %(n)s deleted."), N_("Undo"), N_("Cell %(n)s is back."),
    N_("Output of the last run of this cell"),
    N_("This is the notebook you uploaded, shown read-only; it is your draft, so Submit "
       "sends it as it is."),
    N_("Edit it here"), N_("Editing: your changes are saved as your draft."),
    # assistant.js and console.js
    N_("You"), N_("Assistant"), N_("No answer"), N_("The assistant did not answer."),
    N_("The assistant could not answer (HTTP %(status)s)."),
    N_("The server could not be reached. Check your connection and ask again."),
    N_("Starting…"),
)


def js_messages() -> dict[str, str]:
    """The scripts' words in the page's language, by their English."""
    return {text: gettext(text) for text in JS_MESSAGES}


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=_select_locale, default_locale=FORMATS[STAFF_LANGUAGE],
          default_timezone="UTC")
    # Whitespace inside {% trans %} is folded, as extraction does (babel.cfg: trimmed).
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.filters.update(moment=format_moment, number=format_number)
    # Globals rather than a context processor: imported macros (_macros.html) see them too.
    app.jinja_env.globals.update(page_language=language, language_links=language_links,
                                 kind_name=kind_name, state_name=state_name,
                                 js_messages=js_messages)
    app.before_request(_choose_language)
