"""Invite links name the address the platform is served on.

`heldout up --port 8791` used to serve on 8791 while every invite link read
`http://localhost:8000/i/…` (HELDOUT_BASE_URL kept its default), and a link is shown
once. Unset, the base URL now comes from `--host/--port`; the assessment page warns when
it is reached at another address than its links'.
"""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest
import requests

from heldout.platform.config import served_base_url
from heldout.platform.processes import stop_processes
from tests.e2e.live_server import environment, free_port, spawn, tail, wait_healthy

REPO = Path(__file__).resolve().parents[2]


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:500]
    return match.group(1)


def _invite_link(base: str, password: str) -> tuple[str, str]:
    """Sign in as the demo recruiter at ``base``, invite one candidate; the link shown and
    the assessment page as it was shown with it."""
    web = requests.Session()
    page = web.get(f"{base}/login", timeout=30).text
    answer = web.post(f"{base}/login", data={"csrf_token": _csrf(page), "password": password,
                                             "email": "recruiter@example.com"}, timeout=30)
    assert answer.ok and "/login" not in answer.url, answer.text[:500]
    page = web.get(f"{base}/assessments/new", timeout=30).text
    answer = web.post(f"{base}/assessments/new", timeout=30, data={
        "csrf_token": _csrf(page), "name": "Port check", "challenges": ["churn-prediction"],
        "time_limit_minutes": "60"})
    assert answer.ok, answer.text[:500]
    assessment = answer.url
    answer = web.post(f"{assessment}/invites", timeout=30, data={
        "csrf_token": _csrf(answer.text), "candidate_name": "Pat Port",
        "candidate_email": "pat@example.org"})
    assert answer.ok, answer.text[:500]
    link = re.search(r'id="invite-link"[^>]*value="([^"]+)"', answer.text)
    assert link, answer.text[:2000]
    return link.group(1), answer.text


@pytest.mark.docker
def test_an_instance_on_another_port_hands_out_links_on_that_port(
        tmp_path: Path, challenges_dir: Path, sandbox_image: str) -> None:
    port = free_port()
    data = tmp_path / "var"
    env = environment({"HELDOUT_DATA_DIR": str(data), "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
                       "HELDOUT_ENV": "development", "HELDOUT_SECURE_COOKIES": "0"})
    env.pop("HELDOUT_BASE_URL", None)
    log = tmp_path / "up.log"
    up = spawn(log, env, "up", "--host", "127.0.0.1", "--port", str(port))
    try:
        wait_healthy(f"http://127.0.0.1:{port}", up, log)
        password = json.loads((data / "demo-logins.json").read_text())["recruiter@example.com"]
        expected = f"http://localhost:{port}"
        assert f"heldout is up: {expected}/" in tail(log, 200)

        link, page = _invite_link(expected, password)
        assert link.startswith(f"{expected}/i/"), link
        assert 'id="links-address"' not in page  # reached where the links point: no warning
        # The link works: it opens the candidate's landing page on this very server.
        landing = requests.get(link, timeout=30)
        assert landing.ok and "Port check" in landing.text

        # Reached at another address, the page says where the links point.
        link, page = _invite_link(f"http://127.0.0.1:{port}", password)
        assert link.startswith(f"{expected}/i/"), link
        warning = re.search(r'id="links-address"[^>]*>(.*?)</p>', page, re.S)
        assert warning, "no warning when the page is reached at another address"
        text = re.sub(r"<[^>]+>", "", warning.group(1))
        assert expected in text and f"http://127.0.0.1:{port}" in text and "HELDOUT_BASE_URL" in text
    finally:
        stop_processes([(up, signal.SIGINT)], timeout=30)


def test_wildcard_and_loopback_binds_read_as_localhost() -> None:
    assert served_base_url("0.0.0.0", 8791) == "http://localhost:8791"
    assert served_base_url("127.0.0.1", 8000) == "http://localhost:8000"
    assert served_base_url("jobs.example.com", 80) == "http://jobs.example.com:80"
    assert served_base_url("fd00::5", 8080) == "http://[fd00::5]:8080"
