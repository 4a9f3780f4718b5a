"""Challenge statements to HTML: CommonMark with tables, raw HTML disabled."""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from heldout.sandbox.environment import environment_paragraph
from heldout.sandbox.profiles import DEFAULT_PROFILE


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Statements are trusted bundle text, but raw HTML stays off: one less way in.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def render(text: str) -> Markup:
    # A code block scrolls sideways on a narrow screen: tabindex lets the keyboard reach it
    # (markdown-it escapes text, so "<pre>" only ever stands for its own blocks).
    # A wide table scrolls in its own box the same way, never the page.
    html = (_parser().render(text).replace("<pre>", '<pre tabindex="0">')
            .replace("<table>", '<div class="table-wrap" role="region" tabindex="0" '
                     'aria-label="Table (scrolls sideways on a narrow screen)"><table>')
            .replace("</table>", "</table></div>"))
    return Markup(html)  # noqa: S704 - markdown-it escapes; html is off


def render_statement(text: str, profile: str = DEFAULT_PROFILE) -> Markup:
    """A challenge statement as candidates read it: the bundle's text, then the runtime's
    Python and packages (one paragraph for every statement, from the pins of the image of
    the bundle's runtime profile)."""
    return render(text) + environment_html(profile)


def environment_html(profile: str = DEFAULT_PROFILE) -> Markup:
    return Markup('<h2>Python and packages</h2>\n<p class="environment">{}</p>\n').format(
        escape(environment_paragraph(profile)))
