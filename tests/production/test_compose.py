"""docker-compose.yml brought up for real, from images built on this host, grading one submission.

Builds the images with `heldout deploy images` (reused when built), brings a project of
its own up with three workers on a random port and a run directory of its own, makes an
assessment and an invite inside the web container, plays the candidate over HTTP, and
compares the score with `heldout grade` on the same file. Always torn down: `down -v`,
the sandbox containers its workers left, the run directory's mount. Minutes, not seconds:
marked ``compose`` (scripts/test leaves it out unless HELDOUT_TEST_COMPOSE=1).
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SLUG = "metrics-from-scratch"
# A solution the bundle expects between 55 and 90 points: a score that says something,
# unlike full marks, which any working path would give.
SOLUTION = ROOT / "challenges" / SLUG / "solutions" / "auc-ignores-ties" / "solution.py"
WORKERS = 3
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STATUS_URL = re.compile(r'data-status-url="([^"]+)"')

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.compose]

SETUP_SCRIPT = f"""
import json
from heldout.platform.app import create_app
from heldout.platform.models import utcnow
from heldout.platform.services import accounts, assessments, invites

app = create_app()
with app.app_context():
    user = accounts.create_user("recruiter@example.com", "Recruiter", "recruiter", "x" * 24)
    assessment = assessments.create_assessment(
        name="Compose test", challenge_slugs=[{SLUG!r}], time_limit_minutes=60,
        instructions="", expires_at=None, show_scores=True, created_by_id=user.id)
    invite = invites.create_invite(
        assessment_id=assessment.id, candidate_name="Candidate", created_by_id=user.id,
        candidate_email="candidate@example.org", secret=app.config["HELDOUT_SECRET_KEY"],
        ttl_days=1, now=utcnow())
    print(json.dumps({{"token": invite.token}}))
"""


@dataclass
class Stack:
    project: str
    env: dict[str, str]
    base_url: str
    run_dir: Path
    build_seconds: float
    up_seconds: float = 0.0

    def compose(self, *args: str, check: bool = True, timeout: float = 600,
                input_text: str | None = None) -> subprocess.CompletedProcess[str]:
        from heldout.tools.deploy import compose_command

        command = [*compose_command(), "-p", self.project, "-f", str(COMPOSE_FILE), *args]
        result = subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True,
                                timeout=timeout, input=input_text, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def containers(self, service: str | None = None) -> list[dict[str, Any]]:
        labels = [f"com.docker.compose.project={self.project}"]
        if service:
            labels.append(f"com.docker.compose.service={service}")
        ids = subprocess.run(["docker", "ps", "-aq", *[a for label in labels for a in ("--filter",
                              f"label={label}")]], capture_output=True, text=True, check=True
                             ).stdout.split()
        if not ids:
            return []
        found: list[dict[str, Any]] = json.loads(subprocess.run(
            ["docker", "inspect", *ids], capture_output=True, text=True, check=True).stdout)
        return found

    def logs(self) -> str:
        return self.compose("logs", "--no-color", "--tail", "60", check=False).stdout[-12000:]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _shared_run_dir(path: Path) -> None:
    """A run directory that is a shared mount, so the workers' tmpfs mounts reach the host."""
    path.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    subprocess.run(["mount", "--make-shared", str(path)], check=True)


def _remove_run_dir(path: Path) -> None:
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()
              if line.split()[1].startswith(str(path))]
    for mount in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)
    shutil.rmtree(path.parent, ignore_errors=True)


def _sandbox_containers_under(run_dir: Path) -> list[str]:
    """Sandbox containers whose run directory lies in this stack's run directory."""
    listed = subprocess.run(["docker", "ps", "-aq", "--filter", "label=heldout.sandbox=1"],
                            capture_output=True, text=True, check=True).stdout.split()
    if not listed:
        return []
    inspected = json.loads(subprocess.run(["docker", "inspect", *listed], capture_output=True,
                                          text=True, check=True).stdout)
    return [c["Id"] for c in inspected
            if c["Config"]["Labels"].get("heldout.rundir", "").startswith(f"{run_dir}/")]


def _wait(what: str, ready: Any, timeout: float, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(1)
    pytest.fail(f"{what} not within {timeout:.0f} s; the stack's logs:\n{stack.logs()}")


def _healthy(containers: list[dict[str, Any]], count: int) -> bool:
    return len(containers) == count and all(
        c["State"].get("Health", {}).get("Status") == "healthy" for c in containers)


@pytest.fixture(scope="module")
def stack(docker_client: Any) -> Iterator[Stack]:
    from heldout.tools.deploy import build_images, compose_command

    if os.geteuid() != 0:
        pytest.skip("the compose stack's workers mount the run directory shared: needs root")
    compose_command()  # fails with what to install
    started = time.monotonic()
    steps = build_images(COMPOSE_FILE, lambda line: print(line, file=sys.stderr))
    build_seconds = time.monotonic() - started
    for step in steps:
        print(f"  {step.seconds:7.1f} s  {step.what}", file=sys.stderr)
    project = f"heldout-test-{secrets.token_hex(4)}"
    port = _free_port()
    run_dir = Path("/var/lib/heldout") / project / "runs"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HELDOUT_", "COMPOSE_"))}
    env.update({
        "HELDOUT_SECRET_KEY": secrets.token_urlsafe(48),
        "HELDOUT_INTERNAL_TOKEN": secrets.token_hex(32),
        "HELDOUT_POSTGRES_PASSWORD": secrets.token_hex(16),
        "HELDOUT_REDIS_PASSWORD": secrets.token_hex(16),
        "HELDOUT_PORT": str(port),
        "HELDOUT_BASE_URL": f"http://127.0.0.1:{port}",
        "HELDOUT_SECURE_COOKIES": "false",  # the test speaks plain HTTP to the published port
        "HELDOUT_RUN_DIR": str(run_dir),
        # Three workers with warm containers for every challenge would crowd two cores.
        "HELDOUT_SANDBOX_WARM": "0",
    })
    stack = Stack(project, env, f"http://127.0.0.1:{port}", run_dir, build_seconds)
    _shared_run_dir(run_dir)
    try:
        up_started = time.monotonic()
        stack.compose("up", "-d", "--scale", f"worker={WORKERS}", timeout=900)
        _wait("web healthy", lambda: _healthy(stack.containers("web"), 1), 300, stack)
        _wait(f"{WORKERS} workers healthy",
              lambda: _healthy(stack.containers("worker"), WORKERS), 300, stack)
        stack.up_seconds = time.monotonic() - up_started
        print(f"build {build_seconds:.1f} s; up and healthy {stack.up_seconds:.1f} s",
              file=sys.stderr)
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", "--timeout", "20", check=False, timeout=300)
        left = _sandbox_containers_under(run_dir)
        if left:
            subprocess.run(["docker", "rm", "-f", *left], capture_output=True, check=False)
        _remove_run_dir(run_dir)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Browser:
    """A candidate's HTTP client: cookies kept, redirects returned, not followed."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())

    def request(self, method: str, path: str, data: dict[str, str] | None = None,
                accept: str = "text/html") -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base_url + path, data=body, method=method,
                                         headers={"Accept": accept})
        try:
            with self.opener.open(request, timeout=30) as answer:
                return answer.status, answer.headers.get("Location", ""), answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location", ""), exc.read().decode(errors="replace")


def _found(pattern: re.Pattern[str], page: str) -> str:
    match = pattern.search(page)
    assert match is not None, f"no {pattern.pattern!r} in the page:\n{page[:2000]}"
    return match.group(1).replace("&amp;", "&")


def _host_grade() -> dict[str, Any]:
    with_file = ROOT / "var" / "compose-test-submission"
    shutil.rmtree(with_file, ignore_errors=True)
    with_file.mkdir(parents=True)
    shutil.copyfile(SOLUTION, with_file / "solution.py")
    try:
        result = subprocess.run([sys.executable, "-m", "heldout.platform", "grade", SLUG,
                                 str(with_file), "--json"], cwd=ROOT, capture_output=True,
                                text=True, timeout=600, check=False,
                                env={**os.environ, "HELDOUT_CHALLENGES_DIR": str(ROOT / "challenges")})
    finally:
        shutil.rmtree(with_file, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-3000:]
    graded: dict[str, Any] = json.loads(result.stdout)
    return graded


def test_the_stack_grades_a_submission_like_heldout_grade(stack: Stack) -> None:
    started = time.monotonic()
    made = stack.compose("exec", "-T", "web", "python3", "-", input_text=SETUP_SCRIPT)
    token = json.loads(made.stdout.strip().splitlines()[-1])["token"]

    candidate = Browser(stack.base_url)
    status, location, _ = candidate.request("GET", f"/i/{token}")
    assert status == 303, (status, location)
    status, _, page = candidate.request("GET", "/invite")
    assert status == 200
    status, location, _ = candidate.request("POST", "/invite",
                                            {"consent": "on", "csrf_token": _found(CSRF, page)})
    assert status == 302, status
    attempt = _found(re.compile(r"/a/([^/]+)/"), location)
    workspace = f"/a/{attempt}/c/{SLUG}"
    status, _, page = candidate.request("GET", workspace)
    assert status == 200
    code = SOLUTION.read_text(encoding="utf-8")
    status, _, _ = candidate.request("POST", f"{workspace}/submit",
                                     {"code": code, "csrf_token": _found(CSRF, page)})
    assert status == 302, status
    status, _, page = candidate.request("GET", workspace)
    status_url = _found(STATUS_URL, page)

    final: dict[str, Any] = {}

    def graded() -> bool:
        code, _, body = candidate.request("GET", status_url, accept="application/json")
        assert code == 200, (code, body[:500])
        final.update(json.loads(body))
        return bool(final["final"])

    _wait("the submission graded", graded, 600, stack)
    graded_seconds = time.monotonic() - started
    print(f"submitted and graded through the stack in {graded_seconds:.1f} s", file=sys.stderr)
    assert final["status"] == "graded", (final, stack.logs())

    expected = _host_grade()
    assert expected["status"] == "graded"
    assert 55 <= expected["score"] <= 90, expected["score"]
    assert final["score"] == pytest.approx(expected["score"], abs=1e-6), (final, expected["score"])

    # Three workers up, each healthy; only they hold the engine's socket.
    workers = stack.containers("worker")
    assert len(workers) == WORKERS
    assert all(c["State"]["Running"] and c["State"]["Health"]["Status"] == "healthy"
               for c in workers)
    everyone = stack.containers()
    services = {c["Config"]["Labels"]["com.docker.compose.service"] for c in everyone}
    assert {"web", "worker", "postgres", "redis", "migrate"} <= services
    with_socket = {c["Id"] for c in everyone
                   if any(m.get("Source") == "/var/run/docker.sock" for m in c["Mounts"])}
    assert with_socket == {c["Id"] for c in workers}
    # Each worker named itself: three ids, none shared.
    ids = {stack.compose("exec", "-T", "--index", str(i), "worker", "cat",
                         "/var/lib/heldout/data/worker-id").stdout.strip()
           for i in range(1, WORKERS + 1)}
    assert len(ids) == WORKERS, ids
