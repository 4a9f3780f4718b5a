"""Challenge statements to HTML: CommonMark with tables, raw HTML disabled."""

from __future__ import annotations

from functools import lru_cache

from flask_babel import gettext
from markdown_it import MarkdownIt
from markupsafe import Markup

from heldout.platform import i18n
from heldout.sandbox.environment import PYTHON_VERSION, headline_pins
from heldout.sandbox.profiles import DEFAULT_PROFILE


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Statements are trusted bundle text, but raw HTML stays off: one less way in.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render(text: str) -> Markup:
    # A code block scrolls sideways on a narrow screen: tabindex lets the keyboard reach it
    # (markdown-it escapes text, so "<pre>" only ever stands for its own blocks).
    # A wide table scrolls in its own box the same way, never the page.
    table = Markup('<div class="table-wrap" role="region" tabindex="0" aria-label="{}"><table>'
                   ).format(gettext("Table (scrolls sideways on a narrow screen)"))
    html = (_parser().render(text).replace("<pre>", '<pre tabindex="0">')
            .replace("<table>", str(table))
            .replace("</table>", "</table></div>"))
    return Markup(html)  # noqa: S704 - markdown-it escapes; html is off


def render_statement(text: str, profile: str = DEFAULT_PROFILE) -> Markup:
    """A challenge statement as candidates read it: the bundle's text, then the runtime's
    Python and packages (one paragraph for every statement, from the pins of the image of
    the bundle's runtime profile)."""
    return render(text) + environment_html(profile)


def environment_paragraph(profile: str = DEFAULT_PROFILE) -> str:
    """One paragraph naming Python's version and the headline packages with their versions
    (a runtime profile's own additions last: e.g. PyTorch for the CPU), in the page's
    language."""
    named = [str(gettext("%(package)s for the CPU", package=text)) if cpu else text
             for text, cpu in headline_pins(profile)]
    return str(gettext("Your code runs with Python %(python)s and %(packages)s (with their "
                       "dependencies, such as joblib). Nothing else can be installed, and "
                       "there is no network.", python=PYTHON_VERSION,
                       packages=i18n.format_words(named)))


def environment_html(profile: str = DEFAULT_PROFILE) -> Markup:
    return Markup('<h2>{}</h2>\n<p class="environment">{}</p>\n').format(
        gettext("Python and packages"), environment_paragraph(profile))
