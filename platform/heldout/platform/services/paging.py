"""Pages of a long list: which page a request may see, how many there are, where it starts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageWindow:
    page: int     # 1-based, within 1..pages
    pages: int    # an empty list still has one (empty) page
    offset: int   # rows before this page


def page_window(total: int, page: int, per_page: int) -> PageWindow:
    """The ``page`` asked for, kept within the pages ``total`` rows make (a page past the
    end shows the last one, a page below 1 the first)."""
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    return PageWindow(page, pages, (page - 1) * per_page)
