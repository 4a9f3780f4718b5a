"""The report, compare and candidates pages in a real browser (Debian's Chromium): charts
drawn, keyboard sorting, the draft playback, the report printed to A4, screenshots in var/screenshots/."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from heldout.platform.extensions import db
from heldout.platform.models import Attempt, DraftSnapshot
from tests.platform import review_seed as seed

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SLUG = "churn-prediction"
A4_POINTS = (595.28, 841.89)  # 210 x 297 mm




@pytest.fixture
def served(app: Flask, users: Any, assessment_id: int) -> Iterator[tuple[str, list[int]]]:
    with app.app_context():
        ids = [seed.candidate(assessment_id, users.recruiter, name,
                              {SLUG: [seed.Graded(score / 2, 10), seed.Graded(score, 40)]},
                              minutes_used=20 + index, index=index)
               for index, (name, score) in enumerate(
                   [("Priya Raman", 82.0), ("Tom Becker", 35.0), ("Lena Park", 61.0),
                    ("Omar Haddad", 90.0), ("=cmd|' /C calc'!A0", 12.0)])]
        attempt = db.session.get(Attempt, ids[0])
        assert attempt is not None
        challenge_id = attempt.submissions[0].challenge_id
        for minute, text in ((5, "first = 1"), (15, "second = 2"), (25, "third = 3")):
            db.session.add(DraftSnapshot(attempt_id=attempt.id, challenge_id=challenge_id,
                                         name="solution.py", content=text,
                                         taken_at=attempt.started_at + timedelta(minutes=minute)))
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", ids
    server.shutdown()
    thread.join(timeout=10)


def test_review_pages_in_a_real_browser(served: tuple[str, list[int]], assessment_id: int,
                                        tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, ids = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
        page.goto(f"{base}/login")
        page.fill("input[name=email]", "interviewer@example.com")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")

        # Sorting by keyboard: focus the Total header's link and press Enter.
        page.goto(f"{base}/assessments/{assessment_id}/candidates")
        page.locator("th a.sort", has_text="Total").focus()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"sort=total"))
        names = page.locator("table.scores tbody tr td:nth-child(2)").all_inner_texts()
        assert [n.splitlines()[0] for n in names][:2] == ["Omar Haddad", "Priya Raman"]
        page.screenshot(path=str(SHOTS / "review-candidates.png"), full_page=True)

        # Tick two candidates and compare them.
        for attempt_id in ids[:2]:
            page.check(f"#cmp-{attempt_id}")
        page.click("text=Compare selected")
        page.wait_for_url(re.compile(r"/compare\?"))
        heads = page.locator("table.compare thead th").all_inner_texts()
        assert [h.strip().lower() for h in heads[1:]] == ["priya raman", "tom becker"]
        page.screenshot(path=str(SHOTS / "review-compare.png"), full_page=True)

        page.goto(f"{base}/attempts/{ids[0]}/report")
        for chart in ("chart-points", "chart-metric", "chart-distribution", "chart-timeline",
                      "chart-skills"):
            box = page.locator(f"svg.{chart}").first.bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 20, chart
        # Draft playback: the slider shows one snapshot at a time, the latest first.
        page.click("details.playback > summary")
        frames = page.locator("details.playback ol.frames > li")
        assert [frames.nth(i).is_visible() for i in range(3)] == [False, False, True]
        page.locator("details.playback input[type=range]").fill("1")
        assert [frames.nth(i).is_visible() for i in range(3)] == [True, False, False]
        assert "first = 1" in frames.nth(0).inner_text()
        assert page.locator("details.playback output").inner_text() == "1 of 3"
        page.screenshot(path=str(SHOTS / "review-report.png"), full_page=True)

        page.emulate_media(media="print")
        assert page.locator("form.review-form").is_hidden()
        assert page.locator("header.topbar").is_hidden()
        pdf = tmp_path / "report.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        browser.close()
    data = pdf.read_bytes()
    sizes = [tuple(float(v) for v in m.groups())
             for m in re.finditer(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)]
    # Chromium rounds the page to whole CSS pixels: within a point or two of A4.
    assert sizes and all(abs(w - A4_POINTS[0]) < 2 and abs(h - A4_POINTS[1]) < 2
                         for w, h in sizes), sizes
    pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert 1 <= pages <= 6, pages
    (SHOTS / "review-report.pdf").write_bytes(data)
    assert errors == []
