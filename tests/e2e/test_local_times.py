"""Times printed in UTC get the browser's local time beside them (heldout.js), and stay
UTC alone where the browser is in UTC or the script does not run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

SCRIPT = (Path(__file__).resolve().parents[2] / "platform" / "heldout" / "platform" / "static"
          / "heldout.js")
PAGE = ('<p><time id="table" class="when" datetime="2026-03-01T09:30:00Z">01 Mar 09:30</time></p>'
        '<p><time id="run" datetime="2026-03-01T09:30:00+00:00">09:30:00 UTC</time></p>'
        '<p><time id="naive" datetime="2026-03-01T09:30:00">09:30:00</time></p>')


def _locals(browser: Browser, zone: str) -> dict[str, str]:
    context = browser.new_context(timezone_id=zone, locale="en-GB")
    try:
        page = context.new_page()
        page.set_content(f"<!doctype html><html lang='en'><body>{PAGE}</body></html>")
        page.add_script_tag(content=SCRIPT.read_text())
        page.evaluate("window.heldoutLocalTimes(document)")
        return dict(page.evaluate(
            "() => Object.fromEntries([...document.querySelectorAll('time')].map(t => "
            "[t.id, t.parentNode.textContent]))"))
    finally:
        context.close()


def test_local_time_beside_utc(browser: Browser) -> None:
    shown = _locals(browser, "Asia/Kolkata")  # UTC+05:30
    assert shown["table"] == "01 Mar 09:30 (1 Mar, 15:00 your time)"
    assert shown["run"] == "09:30:00 UTC (15:00 your time)"
    assert shown["naive"] == "09:30:00"  # no zone in the attribute: nothing guessed


def test_nothing_added_in_utc(browser: Browser) -> None:
    shown = _locals(browser, "UTC")
    assert shown == {"table": "01 Mar 09:30", "run": "09:30:00 UTC", "naive": "09:30:00"}


def test_the_local_time_is_said_in_the_pages_language(browser: Browser) -> None:
    """A candidate page carries its scripts' words (data-messages, i18n.JS_MESSAGES)."""
    context = browser.new_context(timezone_id="Asia/Kolkata", locale="fr-FR")
    try:
        page = context.new_page()
        words = '{"%(time)s your time": "%(time)s à votre heure"}'
        page.set_content(f"<!doctype html><html lang='fr'><body data-messages='{words}'>"
                         f"{PAGE}</body></html>")
        page.add_script_tag(content=SCRIPT.read_text())
        page.evaluate("window.heldoutLocalTimes(document)")
        shown = page.evaluate("document.getElementById('run').parentNode.textContent")
        assert shown == "09:30:00 UTC (15:00 à votre heure)"
    finally:
        context.close()
