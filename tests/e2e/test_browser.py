"""A real browser through the real stack: recruiter, candidate and interviewer click through.

The web server and the grading worker run as the ``heldout`` command would run them, in
subprocesses over a temporary data directory; Chromium (Debian's, never a downloaded one)
drives the pages with Playwright. Screenshots of the main pages go to a temporary
directory (or ``HELDOUT_E2E_SCREENSHOTS``) for a person to look at.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.e2e.axe_check import Violation, report, serious_violations

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = [pytest.mark.docker, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SLUG = "churn-prediction"
CHALLENGE_TITLE = "Predict customer churn"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SECRET = "browser-e2e-secret-key-not-for-production"
ASSESSMENT = "Browser take-home"
CANDIDATE = ("Erin Browser", "erin.browser@example.org")
MIN_SCORE = 85
STARTUP_TIMEOUT_S = 30
GRADING_TIMEOUT_MS = 180_000
# Settings a developer's shell may carry that would point the stack at their own data.
INHERITED_SETTINGS = ("HELDOUT_DATABASE_URL", "HELDOUT_QUEUE_URL", "HELDOUT_ORG_NAME",
                      "HELDOUT_INVITE_TTL_DAYS", "HELDOUT_MAX_UPLOAD_MB")


def _required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("HELDOUT_REQUIRE_DOCKER") == "1"


@dataclass(frozen=True)
class Stack:
    """A running web server and worker, and what a person needs to use them."""

    base_url: str
    logins: dict[str, str]
    challenges_dir: Path
    logs: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _heldout(*args: str) -> list[str]:
    return [sys.executable, "-m", "heldout.platform", *args]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _stop(process: subprocess.Popen[bytes], stop_signal: signal.Signals) -> None:
    """The graceful signal, then SIGTERM, then SIGKILL; the worker removes its containers."""
    for sig, grace in ((stop_signal, 30.0), (signal.SIGTERM, 10.0)):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    process.wait()


def _wait_healthy(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the web server exited with {server.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"the web server did not answer /healthz within {STARTUP_TIMEOUT_S} s:\n{_tail(log)}")


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    """Debian's Chromium. Missing: skip locally, fail under CI or HELDOUT_REQUIRE_DOCKER=1."""
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing (install it with: apt-get install -y chromium)"
        if _required():
            pytest.fail(reason)
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, sandbox_image: str) -> Iterator[Stack]:
    """Migrate, load the challenge, create the demo accounts; run a worker and the web server."""
    root = tmp_path_factory.mktemp("stack")
    challenges = root / "challenges"
    shutil.copytree(REPO / "challenges" / SLUG, challenges / SLUG)
    data = root / "var"
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if key not in INHERITED_SETTINGS}
    env.update({"HELDOUT_ENV": "development", "HELDOUT_DATA_DIR": str(data),
                "HELDOUT_SECRET_KEY": SECRET, "HELDOUT_BASE_URL": base_url,
                "HELDOUT_CHALLENGES_DIR": str(challenges), "HELDOUT_WORKERS": "1",
                "HELDOUT_SANDBOX_WARM": "1"})
    logs = root / "logs"
    logs.mkdir()
    worker_log, server_log = logs / "worker.log", logs / "server.log"

    def spawn(log: Path, *args: str) -> subprocess.Popen[bytes]:
        with log.open("wb") as out:
            return subprocess.Popen(_heldout(*args), env=env, cwd=REPO, stdout=out,
                                    stderr=subprocess.STDOUT)

    def run(*args: str) -> None:
        done = subprocess.run(_heldout(*args), env=env, cwd=REPO, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"heldout {' '.join(args)} failed:\n{done.stdout}{done.stderr}"

    # Each command takes seconds to import; the server and the worker start while the
    # next one runs (each only needs what the steps before it made).
    run("db", "upgrade")
    server = spawn(server_log, "serve", "--dev", "--host", "127.0.0.1", "--port", str(port))
    worker: subprocess.Popen[bytes] | None = None
    try:
        run("load-challenges")
        worker = spawn(worker_log, "worker")
        run("demo")
        logins = json.loads((data / "demo-logins.json").read_text(encoding="utf-8"))
        _wait_healthy(base_url, server, server_log)
        yield Stack(base_url, logins, challenges, logs)
        assert worker is not None and worker.poll() is None, f"the worker died:\n{_tail(worker_log)}"
    finally:
        _stop(server, signal.SIGTERM)
        if worker is not None:
            _stop(worker, signal.SIGINT)


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        reason = f"Playwright is not installed ({exc}); pip install -e '.[dev]'"
        if _required():
            pytest.fail(reason)
        pytest.skip(reason)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(chromium_path),
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    chosen = os.environ.get("HELDOUT_E2E_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _number(text: str) -> float:
    match = re.search(r"\d+(?:\.\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group(0))


def test_invite_to_report_in_a_browser(browser: Browser, stack: Stack, shots: Path) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)

    found: list[Violation] = []

    def snap(page: Page, name: str) -> None:
        found.extend(serious_violations(page, name))  # axe-core on each page shown
        page.evaluate("window.scrollTo(0, 0)")  # a sticky top bar mid-page confuses full-page shots
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    def new_page() -> Page:
        context = browser.new_context(base_url=stack.base_url, accept_downloads=True,
                                      viewport={"width": 1280, "height": 860})
        return context.new_page()

    def sign_in(page: Page, email: str) -> None:
        page.goto("/")
        expect(page).to_have_title(re.compile("Sign in"))
        snap(page, "00-sign-in")
        page.get_by_label("E-mail", exact=True).fill(email)
        page.get_by_label("Password").fill(stack.logins[email])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Assessments", level=1)).to_be_visible()

    # The recruiter builds an assessment and invites a candidate.
    recruiter = new_page()
    sign_in(recruiter, "recruiter@example.com")
    snap(recruiter, "01-assessments")
    recruiter.get_by_role("main").get_by_role("link", name="New assessment").click()
    expect(recruiter.get_by_role("heading", name="New assessment")).to_be_visible()
    recruiter.get_by_role("checkbox", name=re.compile(CHALLENGE_TITLE)).check()
    recruiter.get_by_label("Name", exact=True).fill(ASSESSMENT)
    recruiter.get_by_label("Time limit (minutes)").fill("90")
    recruiter.get_by_label("Show scores to candidates").check()
    snap(recruiter, "02-builder")
    recruiter.get_by_role("button", name="Create assessment").click()
    expect(recruiter.get_by_role("heading", name=ASSESSMENT, level=1)).to_be_visible()
    expect(recruiter.get_by_text("No invites yet")).to_be_visible()
    recruiter.get_by_label("Name", exact=True).fill(CANDIDATE[0])
    recruiter.get_by_label("E-mail", exact=True).fill(CANDIDATE[1])
    recruiter.get_by_role("button", name="Create invite link").click()
    expect(recruiter.get_by_role("heading", name=f"Link for {CANDIDATE[0]}")).to_be_visible()
    link = recruiter.get_by_label("Invite link").input_value()
    assert link.startswith(f"{stack.base_url}/i/"), link
    expect(recruiter.get_by_role("row", name=re.compile(CANDIDATE[0]))).to_contain_text("sent")
    snap(recruiter, "03-assessment-invited")

    # A changed link explains itself instead of opening anything.
    candidate = new_page()
    token = link.rsplit("/", 1)[-1]
    tampered = f"{stack.base_url}/i/{'A' if token[0] != 'A' else 'B'}{token[1:]}"
    response = candidate.goto(tampered)
    assert response is not None and 400 <= response.status < 500, response and response.status
    expect(candidate.get_by_role("heading", name="This link is not valid")).to_be_visible()
    expect(candidate.get_by_text("Copy the whole link")).to_be_visible()
    snap(candidate, "04-tampered-link")

    # The candidate reads the landing page, consents and starts.
    response = candidate.goto(link)
    assert response is not None and response.status == 200
    expect(candidate.get_by_role("heading", name=ASSESSMENT, level=1)).to_be_visible()
    expect(candidate.get_by_text("90 minutes")).to_be_visible()
    expect(candidate.get_by_role("heading", name="Your data")).to_be_visible()
    snap(candidate, "05-landing")
    candidate.get_by_label(re.compile("I have read how my data is used")).check()
    candidate.get_by_role("button", name="Start the assessment").click()
    expect(candidate.get_by_role("heading", name="Your challenges")).to_be_visible()
    expect(candidate.get_by_role("banner").get_by_role("timer")).to_contain_text(re.compile(r"\d+:\d\d"))
    snap(candidate, "06-overview")

    # The workspace: statement, data files, editor.
    candidate.get_by_role("link", name=re.compile(CHALLENGE_TITLE)).click()
    expect(candidate).to_have_title(re.compile(CHALLENGE_TITLE))
    expect(candidate.get_by_role("heading", name="Data", exact=True).first).to_be_visible()
    expect(candidate.get_by_role("banner").get_by_role("timer")).to_be_visible()
    for name in ("train.csv", "test.csv"):
        expect(candidate.get_by_role("link", name=name, exact=True)).to_be_visible()
    with candidate.expect_download() as downloading:
        candidate.get_by_role("link", name="train.csv", exact=True).click()
    downloaded = Path(downloading.value.path())
    first_line = downloaded.read_text(encoding="utf-8").splitlines()[0]
    expected = (stack.challenges_dir / SLUG / "public" / "train.csv").read_text(encoding="utf-8")
    assert first_line == expected.splitlines()[0]
    assert first_line.startswith("customer_id,") and first_line.endswith(",churn")
    snap(candidate, "07-workspace")

    solution = (REPO / "challenges" / SLUG / "solutions" / "reference" / "solution.py").read_text()
    editor = candidate.get_by_role("textbox", name=re.compile(r"\.py$"))
    editor.fill(solution)
    candidate.get_by_role("button", name="Submit", exact=True).click()
    submission = candidate.locator(".submission").first
    expect(submission).to_be_visible()
    # Rendered before grading finished, so only the page's own polling can show the result.
    assert submission.get_attribute("data-status-url"), "the submission was final on arrival"
    candidate.evaluate("window.heldoutSamePage = true")
    expect(submission.locator(".badge")).to_have_text("graded", timeout=GRADING_TIMEOUT_MS)
    assert candidate.evaluate("window.heldoutSamePage === true"), "the page was reloaded"
    score = _number(submission.locator(".js-status-score").inner_text())
    assert score >= MIN_SCORE, score
    snap(candidate, "08-workspace-graded")

    # Back to the overview, then finish (the confirmation is accepted).
    candidate.get_by_role("link", name="All challenges").click()
    card = candidate.get_by_role("link", name=re.compile(CHALLENGE_TITLE))
    expect(card).to_contain_text("submitted")
    expect(card).to_contain_text("last score")
    snap(candidate, "09-overview-submitted")
    candidate.once("dialog", lambda dialog: dialog.accept())
    candidate.get_by_role("button", name="Finish assessment").click()
    expect(candidate.get_by_role("heading", name="Assessment finished")).to_be_visible()
    expect(candidate.get_by_role("heading", name="What happens next")).to_be_visible()
    snap(candidate, "10-done")

    # The interviewer reads the candidates table and the report.
    interviewer = new_page()
    sign_in(interviewer, "interviewer@example.com")
    interviewer.get_by_role("row", name=re.compile(ASSESSMENT)).get_by_role(
        "link", name="Candidates").click()
    expect(interviewer.get_by_role("heading", name=re.compile(f"Candidates.*{ASSESSMENT}"))).to_be_visible()
    row = interviewer.get_by_role("row", name=re.compile(CANDIDATE[0]))
    expect(row).to_be_visible()
    # The page rounds in Python, the live status in JavaScript: equal to the last digit.
    assert abs(_number(row.locator("td.num.strong").inner_text()) - score) <= 0.1
    snap(interviewer, "11-candidates")
    row.get_by_role("link", name="Report").click()
    expect(interviewer.get_by_role("heading", name=CANDIDATE[0], level=1)).to_be_visible()
    assert abs(_number(interviewer.get_by_label("Total score").inner_text()) - score) <= 0.1
    section = interviewer.get_by_role("region", name=re.compile(CHALLENGE_TITLE))
    expect(section.get_by_role("heading", name="Checks", exact=True)).to_be_visible()
    checks = section.get_by_role("table").first
    expect(checks.locator("tbody tr").first).to_be_visible()
    expect(checks).to_contain_text("✓")
    expect(section.get_by_role("heading", name="Metrics")).to_be_visible()
    expect(section).to_contain_text("roc_auc")
    for stat in ("Wall time", "CPU time", "Peak memory", "Limit that ended it"):
        expect(section.get_by_text(stat, exact=True)).to_be_visible()
    snap(interviewer, "12-report")
    assert not found, report(found)
