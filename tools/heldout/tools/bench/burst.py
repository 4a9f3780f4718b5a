"""The deadline burst: simulated candidates against the production server on this machine.

``heldout bench burst`` sets up its own data directory (migrated database, challenges, one
assessment, one invite per candidate), starts ``heldout serve`` (gunicorn) and ``heldout
worker`` (real Docker sandbox) on 127.0.0.1, and drives them with Locust from a separate
process (``python -m heldout.tools.bench.burst load PLAN OUT``): Locust patches the standard
library with gevent when it is imported, which must happen before anything else is loaded.
Each candidate exchanges its invite link for a session over HTTP, opens the workspace,
autosaves every few seconds, runs the public checks, submits (most of them in the last
``window`` seconds of a compressed timeline) and polls until graded. Figures come from the
load process (latency of every request) and from the database (when each job finished).

The server runs with ``HELDOUT_ENV=production`` and limits suited to a load test: every
simulated candidate comes from 127.0.0.1, so a per-address limit would throttle them all as
one client (see ``LOAD_TEST_LIMITS``). Plain HTTP on loopback needs
``HELDOUT_SECURE_COOKIES=false``: secure cookies would never be sent back.

Only the standard library is imported at module level, for the load process's sake.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Say = Callable[[str], None]
HOST = "127.0.0.1"
SLUG = "churn-prediction"
# The pages a candidate loads during the timeline, and the one-off opening: the invite
# exchanged for a session and the first workspace open, which builds the candidate's data
# variant (a generator run on the host). At a real deadline that happened hours before.
PAGES = ("workspace",)
OPENING = ("invite link", "invite page", "start", "overview", "workspace (first open)")
AUTOSAVE = "autosave"
# What issue 16 asks of the workspace page and autosave at the deadline, in every run.
P95_GOAL_MS = 200.0
# Every candidate comes from 127.0.0.1: the per-address sign-in limit would count them as
# one client. Per-attempt limits stay well above what a scripted candidate does (one
# public run, one submission, an autosave every few seconds), so they refuse nothing
# unless the script misbehaves. Passed to the server as settings (those it knows).
LOAD_TEST_LIMITS = {
    "HELDOUT_LOGIN_LIMIT_ADDRESS": "100000 per minute",
    "HELDOUT_LOGIN_LIMIT_ACCOUNT": "100000 per minute",
    "HELDOUT_SUBMIT_LIMIT": "30 per minute",
    "HELDOUT_PUBLIC_RUN_LIMIT": "30 per minute",
    "HELDOUT_AUTOSAVE_LIMIT": "240 per minute",
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
STATUS_URL = re.compile(r'data-status-url="([^"]+)"')
PUBLIC_RUN_URL = re.compile(r'data-public-run-url="([^"]+)"')
ATTEMPT_URL = re.compile(r"/a/([^/]+)/")
RULE_ARGUMENT = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass(frozen=True)
class BurstPlan:
    """What the burst does: how many candidates, the compressed timeline, the server."""

    candidates: int = 200
    duration_s: float = 180.0
    window_s: float = 60.0
    late_share: float = 0.8
    autosave_every_s: float = 5.0
    poll_every_s: float = 1.5
    ramp_s: float = 10.0
    server_threads: int = 8
    workers: int = 2
    limit_runs: int = 20
    drain_timeout_s: float = 900.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.candidates < 1:
            raise ValueError("at least one candidate")
        if not 0 < self.window_s <= self.duration_s:
            raise ValueError("the window must be within the timeline")
        if not 0 <= self.late_share <= 1:
            raise ValueError("late_share is a fraction")


@dataclass(frozen=True)
class Autosave:
    """The request an editor's autosave makes, or the fallback when the app has none."""

    method: str
    path: str  # with {attempt_id} and {slug}
    present: bool

    def describe(self) -> str:
        if self.present:
            return f"{self.method} {self.path}"
        return f"not in this app: {self.method} {self.path} (the workspace reload) instead"


def load_test_limits() -> dict[str, str]:
    """The limits above that this app has as settings."""
    from heldout.platform.settings import SETTINGS_BY_NAME

    return {name: value for name, value in LOAD_TEST_LIMITS.items() if name in SETTINGS_BY_NAME}


def find_autosave(rules: list[tuple[str, str, frozenset[str]]]) -> Autosave:
    """The candidate's autosave endpoint from the URL map (endpoint, rule, methods)."""
    for endpoint, rule, methods in sorted(rules):
        if not endpoint.startswith(("candidate.", "api.candidate.")):
            continue
        name = endpoint.lower() + rule.lower()
        arguments = set(RULE_ARGUMENT.findall(rule))
        method = next((m for m in ("POST", "PUT") if m in methods), None)
        if (("autosave" in name or "draft" in name) and method is not None
                and arguments == {"attempt_id", "slug"}):
            return Autosave(method, RULE_ARGUMENT.sub(r"{\1}", rule), present=True)
    return Autosave("GET", "/a/{attempt_id}/c/{slug}", present=False)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(_percentile(values, 0.50), 1), "p95_ms": round(_percentile(values, 0.95), 1),
            "p99_ms": round(_percentile(values, 0.99), 1),
            "max_ms": round(max(values), 1) if values else 0.0}


# --------------------------------------------------------------------------- the load process

def _schedule(plan: dict[str, Any], rng: random.Random) -> tuple[float, float]:
    """(public run, submit) seconds after the timeline starts, for one candidate."""
    duration, window = float(plan["duration_s"]), float(plan["window_s"])
    if rng.random() < float(plan["late_share"]) or duration - window < 1:
        submit_at = rng.uniform(duration - window, duration)
    else:
        submit_at = rng.uniform(0.3 * (duration - window), duration - window)
    public_at = max(2.0, submit_at - rng.uniform(8.0, 25.0))
    return public_at, submit_at


def _load_main(plan_path: Path, out_path: Path) -> int:
    """Run the candidates with Locust; write what happened to ``out_path`` as JSON."""
    import gevent
    from gevent.event import Event
    from locust import FastHttpUser, task
    from locust.env import Environment
    from locust.exception import StopUser

    plan: dict[str, Any] = json.loads(plan_path.read_text())
    rng = random.Random(plan["seed"])
    tokens = iter(plan["tokens"])
    autosave = Autosave(**plan["autosave"])
    code: str = plan["code"]
    entrypoint: str = plan["entrypoint"]
    latencies: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    problems: list[str] = []
    outcome = {"started": 0, "start_failed": 0, "finished": 0, "submitted": 0,
               "submitted_in_window": 0, "public_runs": 0, "not_final": 0}
    timeline: dict[str, float] = {}
    opened = Event()  # every candidate is in: the timeline starts

    def on_request(request_type: str, name: str, response_time: float, response_length: int,
                   exception: BaseException | None = None, **_: Any) -> None:
        latencies.setdefault(name, []).append(response_time)
        if exception is not None:
            failures[name] = failures.get(name, 0) + 1
            if len(problems) < 20:
                problems.append(f"{request_type} {name}: {exception}")

    class Candidate(FastHttpUser):
        host = plan["base_url"]
        # Each candidate is a script (see ``deadline``); Locust's wait between tasks is unused.

        def expect(self, method: str, path: str, name: str, status: int,
                   data: dict[str, str] | None = None, pattern: re.Pattern[str] | None = None,
                   headers: dict[str, str] | None = None, required: bool = True) -> str:
            """One request; anything but ``status`` (or a page without ``pattern``, unless
            not ``required``) fails it."""
            with self.client.request(method, path, name=name, data=data, headers=headers,
                                     allow_redirects=False, catch_response=True) as response:
                found = ""
                if response.status_code != status:
                    response.failure(f"status {response.status_code}, expected {status}")
                elif status in (302, 303):
                    found = response.headers.get("Location", "")
                elif pattern is not None:
                    match = pattern.search(response.text or "")
                    if match is not None:
                        found = match.group(1).replace("&amp;", "&")
                    elif required:
                        response.failure(f"no {pattern.pattern!r} in the page")
                if not found and (status in (302, 303) or (pattern is not None and required)):
                    raise StopUser()
                return found

        def poll(self, url: str, name: str) -> bool:
            with self.client.get(url, name=name, catch_response=True,
                                 headers={"Accept": "application/json"}) as response:
                if response.status_code != 200:
                    response.failure(f"status {response.status_code}")
                    return False
                return bool(response.json().get("final"))

        def on_start(self) -> None:
            try:
                self.open()
            except StopUser:
                outcome["start_failed"] += 1
                raise
            outcome["started"] += 1

        def open(self) -> None:
            token = next(tokens)
            self.expect("GET", f"/i/{token}", "invite link", 303)
            csrf = self.expect("GET", "/invite", "invite page", 200, pattern=CSRF)
            location = self.expect("POST", "/invite", "start", 302,
                                   data={"consent": "on", "csrf_token": csrf})
            match = ATTEMPT_URL.search(location)
            if match is None:
                raise StopUser()
            self.attempt = match.group(1)
            self.expect("GET", f"/a/{self.attempt}/", "overview", 200)
            self.csrf = self.expect("GET", f"/a/{self.attempt}/c/{plan['slug']}",
                                    "workspace (first open)", 200, pattern=CSRF)

        @task
        def deadline(self) -> None:
            workspace = f"/a/{self.attempt}/c/{plan['slug']}"
            csrf = self.csrf
            public_at, submit_at = _schedule(plan, rng)
            opened.wait()
            start = timeline["start"]
            saves = 0
            next_save = time.time() + rng.uniform(0.5, plan["autosave_every_s"])
            public_url = ""
            public_done = False
            next_public_poll = math.inf
            while time.time() < start + submit_at:
                due = min(next_save, start + public_at if not public_url and not public_done
                          else math.inf, next_public_poll, start + submit_at)
                gevent.sleep(max(0.0, due - time.time()))
                now = time.time()
                if now >= next_save:
                    saves += 1
                    self.save(autosave, workspace, csrf, f"{code}# edit {saves}\n")
                    next_save = now + plan["autosave_every_s"]
                if not public_url and not public_done and now >= start + public_at:
                    self.expect("POST", f"{workspace}/public-run", "public run", 302,
                                data={"code": code, "csrf_token": csrf})
                    # No live status on the page: the run is final already.
                    public_url = self.expect("GET", workspace, "workspace", 200,
                                             pattern=PUBLIC_RUN_URL, required=False)
                    public_done = not public_url
                    outcome["public_runs"] += 1
                    next_public_poll = time.time() + plan["poll_every_s"]
                if public_url and now >= next_public_poll:
                    if self.poll(public_url, "public run status"):
                        public_done, public_url, next_public_poll = True, "", math.inf
                    else:
                        next_public_poll = now + plan["poll_every_s"]
            self.expect("POST", f"{workspace}/submit", "submit", 302,
                        data={"code": code, "csrf_token": csrf})
            outcome["submitted"] += 1
            if time.time() >= start + plan["duration_s"] - plan["window_s"]:
                outcome["submitted_in_window"] += 1
            status_url = self.expect("GET", workspace, "workspace", 200, pattern=STATUS_URL,
                                     required=False)
            submission_done = not status_url  # graded before the page came back
            give_up = start + plan["duration_s"] + plan["drain_timeout_s"]
            while not (submission_done and not public_url) and time.time() < give_up:
                gevent.sleep(plan["poll_every_s"])
                if not submission_done:
                    submission_done = self.poll(status_url, "submission status")
                if public_url and self.poll(public_url, "public run status"):
                    public_url = ""
            if not submission_done or public_url:
                outcome["not_final"] += 1
            outcome["finished"] += 1
            raise StopUser()

        def save(self, autosave: Autosave, workspace: str, csrf: str, text: str) -> None:
            path = autosave.path.format(attempt_id=self.attempt, slug=plan["slug"])
            if not autosave.present:
                self.expect("GET", workspace, AUTOSAVE, 200)
                return
            # What the workspace's editor sends: its files as JSON, the form token in a header.
            with self.client.request(autosave.method, path, name=AUTOSAVE,
                                     json={"files": [{"name": entrypoint, "content": text}]},
                                     headers={"X-CSRFToken": csrf, "Accept": "application/json"},
                                     catch_response=True, allow_redirects=False) as response:
                if response.status_code >= 400:
                    response.failure(f"status {response.status_code}")

    env = Environment(user_classes=[Candidate])
    env.events.request.add_listener(on_request)  # type: ignore[no-untyped-call]
    runner = env.create_local_runner()
    count = len(plan["tokens"])
    timeline["opening"] = time.time()
    runner.start(count, spawn_rate=max(1.0, count / plan["ramp_s"]))
    opening_ends = timeline["opening"] + plan["ramp_s"] + 300
    while outcome["started"] + outcome["start_failed"] < count and time.time() < opening_ends:
        gevent.sleep(0.1)
    timeline["start"] = time.time()
    opened.set()
    give_up = timeline["start"] + plan["duration_s"] + plan["drain_timeout_s"] + 30
    while outcome["finished"] < count and time.time() < give_up:
        if runner.user_count == 0:
            break  # every candidate has stopped, some by a failure
        gevent.sleep(0.5)
    timeline["end"] = time.time()
    runner.quit()
    out_path.write_text(json.dumps({
        "opening": timeline["opening"], "start": timeline["start"], "end": timeline["end"],
        "outcome": outcome,
        "latencies": latencies, "failures": failures, "problems": problems,
    }))
    return 0


# --------------------------------------------------------------------------- the parent

def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_healthy(base_url: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the web server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the web server did not answer /healthz within {timeout:.0f} s")


def _epoch(moment: datetime | None) -> float | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _settings(data_dir: Path, challenges_dir: Path, base_url: str, plan: BurstPlan) -> dict[str, str]:
    """The server's and worker's settings: all the burst's own, whatever the shell holds."""
    return {"HELDOUT_ENV": "production", "HELDOUT_SECRET_KEY": secrets.token_hex(32),
            "HELDOUT_SECURE_COOKIES": "false", "HELDOUT_DATA_DIR": str(data_dir),
            "HELDOUT_DATABASE_URL": f"sqlite:///{data_dir / 'heldout.db'}",
            "HELDOUT_QUEUE_URL": f"sqlite:///{data_dir / 'queue.db'}",
            "HELDOUT_RATELIMIT_STORAGE": "memory://",
            "HELDOUT_CHALLENGES_DIR": str(challenges_dir), "HELDOUT_BASE_URL": base_url,
            "HELDOUT_WORKERS": str(plan.workers), **load_test_limits()}


def _child_env(settings: dict[str, str]) -> dict[str, str]:
    """This process's environment without its platform settings (a database or queue URL
    pointing elsewhere must not be loaded), then the burst's."""
    from heldout.platform.settings import SETTINGS_BY_NAME

    return {**{k: v for k, v in os.environ.items() if k not in SETTINGS_BY_NAME}, **settings}


def _prepare(settings: dict[str, str], plan: BurstPlan,
             challenges_dir: Path) -> tuple[Any, list[str], Autosave, str]:
    """Migrated database, challenges, one assessment and an invite per candidate; the
    autosave request and the file the editor holds."""
    import flask_migrate

    from heldout.graders.bundle_loading import load_bundle
    from heldout.platform.app import create_app
    from heldout.platform.models import utcnow
    from heldout.platform.services import accounts, assessments, catalogue, invites

    # Typed values the factory would otherwise parse from the environment.
    app = create_app({**settings, "HELDOUT_WORKERS": plan.workers, "HELDOUT_SECURE_COOKIES": False})
    rules = [(rule.endpoint, rule.rule, frozenset(rule.methods or ())) for rule in app.url_map.iter_rules()]
    minutes = math.ceil((plan.duration_s + plan.drain_timeout_s) / 60) + 5
    with app.app_context():
        flask_migrate.upgrade()
        report = catalogue.load_challenges(challenges_dir)
        if SLUG not in report.added + report.updated + report.unchanged:
            raise RuntimeError(f"the burst needs the {SLUG} challenge in {challenges_dir}")
        user = accounts.create_user("burst@example.com", "Burst", "recruiter", secrets.token_hex(16))
        assessment = assessments.create_assessment(
            name="Deadline burst", challenge_slugs=[SLUG], time_limit_minutes=minutes,
            instructions="", expires_at=None, show_scores=True, created_by_id=user.id)
        now = utcnow()
        tokens = [invites.create_invite(
            assessment_id=assessment.id, candidate_name=f"Candidate {index + 1}",
            candidate_email=f"candidate{index + 1}@example.org", created_by_id=user.id,
            secret=settings["HELDOUT_SECRET_KEY"], ttl_days=1, now=now).token
            for index in range(plan.candidates)]
    return app, tokens, find_autosave(rules), load_bundle(challenges_dir / SLUG).submission.entrypoint


def _backlog(app: Any) -> int:
    from sqlalchemy import func, select

    from heldout.platform.extensions import db
    from heldout.platform.models import PublicRun, Submission

    waiting = ("queued", "running")
    with app.app_context():
        count = 0
        for model in (Submission, PublicRun):
            count += db.session.scalar(select(func.count()).select_from(model).where(
                model.status.in_(waiting))) or 0
        db.session.remove()
        return count


def _jobs(app: Any) -> tuple[list[tuple[str, float, float | None]], list[tuple[str, float, float | None]]]:
    """(status, created, finished) of every submission and public run."""
    from sqlalchemy import select

    from heldout.platform.extensions import db
    from heldout.platform.models import PublicRun, Submission

    with app.app_context():
        submissions = [(str(s.status), _epoch(s.created_at) or 0.0, _epoch(s.finished_at))
                       for s in db.session.scalars(select(Submission))]
        runs = [(str(r.status), _epoch(r.created_at) or 0.0, _epoch(r.finished_at))
                for r in db.session.scalars(select(PublicRun))]
        db.session.remove()
    return submissions, runs


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen([sys.executable, "-m", "heldout.platform", *args], env=env,
                                stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_burst(plan: BurstPlan, challenges_dir: Path, say: Say, repeat: int = 1) -> dict[str, Any]:
    """Everything ``heldout bench burst`` reports, as one dict: ``repeat`` bursts one after
    the other, each from scratch; with more than one, the latency figures over all of them
    and every run's own figures under ``runs``."""
    runs: list[dict[str, Any]] = []
    loads: list[dict[str, Any]] = []
    for index in range(repeat):
        if repeat > 1:
            say(f"burst: run {index + 1} of {repeat}")
        summary, loaded = _run_once(plan, challenges_dir, say)
        runs.append(summary)
        loads.append(loaded)
    return combine(plan, runs, loads)


def combine(plan: BurstPlan, runs: list[dict[str, Any]],
            loads: list[dict[str, Any]]) -> dict[str, Any]:
    """One run's figures as they are; several runs' latencies pooled, each run kept."""
    within = [run for run in runs if run["errors"] == 0
              and max(run["pages_p95_ms"], run["autosave_p95_ms"]) < P95_GOAL_MS]
    goal = {"p95_limit_ms": P95_GOAL_MS, "runs": len(runs), "runs_within": len(within),
            "pages_p95_ms": [run["pages_p95_ms"] for run in runs],
            "autosave_p95_ms": [run["autosave_p95_ms"] for run in runs],
            "errors": [run["errors"] for run in runs]}
    if len(runs) == 1:
        return {**runs[0], "repeat": 1, "goal": goal}
    latencies: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    problems: list[str] = []
    for loaded in loads:
        for name, values in loaded["latencies"].items():
            latencies.setdefault(name, []).extend(values)
        for name, count in loaded["failures"].items():
            failures[name] = failures.get(name, 0) + count
        problems.extend(loaded["problems"])
    return {"candidates": plan.candidates, "duration_s": plan.duration_s,
            "window_s": plan.window_s, "repeat": len(runs), "goal": goal,
            **latency_figures(latencies, failures, problems), "runs": runs}


def latency_figures(latencies: dict[str, list[float]], failures: dict[str, int],
                    problems: list[str]) -> dict[str, Any]:
    """Requests, errors and latency per endpoint (the pages and autosave apart)."""
    everything = [ms for values in latencies.values() for ms in values]
    requests = len(everything)
    errors = sum(failures.values())
    return {
        "requests": requests, "errors": errors,
        "error_rate": errors / requests if requests else 0.0,
        "error_samples": problems,
        **latency_summary(everything),
        "pages_p95_ms": latency_summary(
            [ms for name in PAGES for ms in latencies.get(name, [])])["p95_ms"],
        "opening_p95_ms": latency_summary(
            [ms for name in OPENING for ms in latencies.get(name, [])])["p95_ms"],
        "autosave_p95_ms": latency_summary(latencies.get(AUTOSAVE, []))["p95_ms"],
        "endpoints": {name: {"requests": len(values), "failures": failures.get(name, 0),
                             **latency_summary(values)}
                      for name, values in sorted(latencies.items())},
    }


def _run_once(plan: BurstPlan, challenges_dir: Path,
              say: Say) -> tuple[dict[str, Any], dict[str, Any]]:
    """One burst from scratch: its figures, and what the load process wrote."""
    from heldout.platform.processes import stop_processes
    from heldout.tools.bench.sandbox import TRIVIAL_SUBMISSION, engine_limit

    with tempfile.TemporaryDirectory(prefix="heldout-bench-burst-") as tmp:
        root = Path(tmp)
        port = _free_port()
        base_url = f"http://{HOST}:{port}"
        settings = _settings(root / "var", challenges_dir, base_url, plan)
        say(f"burst: preparing {plan.candidates} invites in {root}")
        app, tokens, autosave, entrypoint = _prepare(settings, plan, challenges_dir)
        say(f"burst: autosave endpoint {autosave.describe()}")
        env = _child_env(settings)
        worker = _spawn(["worker"], env, root / "worker.log")
        server = _spawn(["serve", "--host", HOST, "--port", str(port),
                         "--threads", str(plan.server_threads)], env, root / "server.log")
        samples: list[tuple[float, int]] = []
        load_before = os.getloadavg()[0]
        try:
            _wait_healthy(base_url, server, 60)
            plan_file, out_file = root / "plan.json", root / "load.json"
            plan_file.write_text(json.dumps({
                **asdict(plan), "base_url": base_url, "tokens": tokens, "slug": SLUG,
                "code": TRIVIAL_SUBMISSION, "entrypoint": entrypoint,
                "autosave": asdict(autosave)}))
            say(f"burst: {plan.candidates} candidates over {plan.duration_s:.0f} s "
                f"(most submit in the last {plan.window_s:.0f} s) against {base_url}")
            load = subprocess.Popen([sys.executable, "-m", "heldout.tools.bench.burst", "load",
                                     str(plan_file), str(out_file)], env=env, start_new_session=True)
            limit = plan.duration_s + plan.drain_timeout_s + 120
            started = time.monotonic()
            try:
                while load.poll() is None:
                    if time.monotonic() - started > limit:
                        raise TimeoutError(f"the load process ran past {limit:.0f} s")
                    if server.poll() is not None or worker.poll() is not None:
                        raise RuntimeError("the web server or the worker stopped during the burst:\n"
                                           + _tail(root / "server.log") + _tail(root / "worker.log"))
                    samples.append((time.time(), _backlog(app)))
                    time.sleep(0.5)
            finally:
                stop_processes([(load, signal.SIGTERM)], timeout=10)
            if load.returncode != 0 or not out_file.exists():
                raise RuntimeError(f"the load process failed (exit {load.returncode})")
            loaded: dict[str, Any] = json.loads(out_file.read_text())
            # Other work on the machine slows every figure: the 1-minute load average says how much.
            loaded["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            drain_end = time.monotonic() + 60
            while _backlog(app) and time.monotonic() < drain_end:
                samples.append((time.time(), _backlog(app)))
                time.sleep(0.5)
            submissions, runs = _jobs(app)
        finally:
            stop_processes([(server, signal.SIGTERM), (worker, signal.SIGINT)], timeout=60)
            from heldout.platform.extensions import db

            with app.app_context():
                db.engine.dispose()
        say(f"burst: the sandbox's own limit ({plan.limit_runs} bare docker runs, "
            f"{plan.workers} at a time)")
        sandbox_limit = engine_limit(plan.limit_runs, plan.workers, challenges_dir, say)
    return summarise(plan, loaded, submissions, runs, samples, sandbox_limit, autosave), loaded


def summarise(plan: BurstPlan, loaded: dict[str, Any],
              submissions: list[tuple[str, float, float | None]],
              runs: list[tuple[str, float, float | None]],
              samples: list[tuple[float, int]], sandbox_limit: float,
              autosave: Autosave) -> dict[str, Any]:
    """The figures: latency per endpoint, errors, grading backlog and throughput."""
    figures = latency_figures(loaded["latencies"], loaded["failures"], loaded["problems"])
    start = float(loaded["start"])
    deadline = start + plan.duration_s
    window_start = deadline - plan.window_s
    finished = [end for _, _, end in submissions + runs if end is not None]
    graded = [s for s in submissions if s[0] == "graded"]
    last_graded = max((end for _, _, end in submissions if end is not None), default=None)
    last_submitted = max((created for _, created, _ in submissions), default=None)
    # Throughput while jobs waited beyond those the worker runs at once: bounded by the
    # sandbox there, not by how fast candidates submit.
    submission_ends = [end for _, _, end in submissions if end is not None]
    busy, jobs_busy, submissions_busy = 0.0, 0, 0
    for (at, backlog), (until, _) in itertools.pairwise(samples):
        if backlog > plan.workers:
            busy += until - at
            jobs_busy += sum(1 for end in finished if at < end <= until)
            submissions_busy += sum(1 for end in submission_ends if at < end <= until)
    busy_per_min = jobs_busy / busy * 60 if busy >= 1 else None
    # And over the whole deadline stretch: from the window's start to the last job's end.
    drain_end = max(finished, default=window_start)
    drain_jobs = sum(1 for end in finished if end > window_start)
    drain_per_min = drain_jobs / (drain_end - window_start) * 60 if drain_end > window_start else 0.0
    outcome = loaded["outcome"]
    not_graded = plan.candidates - len(graded)
    # From the deadline to the last graded submission, against the rate the queue reached
    # in this run and the bare limit: how long the backlog left at the deadline took.
    waiting = [s for s in submissions if s[1] <= deadline and (s[2] is None or s[2] > deadline)]
    jobs_waiting = sum(1 for _, created, end in submissions + runs
                       if created <= deadline and (end is None or end > deadline))
    after = last_graded - deadline if last_graded is not None else None
    drained = sum(1 for end in submission_ends if end > deadline)
    after_deadline_per_min = drained / after * 60 if after is not None and after >= 1 else None
    return {
        "candidates": plan.candidates,
        "duration_s": plan.duration_s, "window_s": plan.window_s, "late_share": plan.late_share,
        "autosave_every_s": plan.autosave_every_s, "poll_every_s": plan.poll_every_s,
        "server_threads": plan.server_threads, "workers": plan.workers,
        "autosave_endpoint": autosave.describe(), "autosave_present": autosave.present,
        "limits": load_test_limits(),
        **figures,
        "requests_per_s": round(figures["requests"] / max(
            float(loaded["end"]) - float(loaded["opening"]), 1e-9), 1),
        "load_average_before_after": loaded.get("load_average"),
        "opening_s": round(start - float(loaded["opening"]), 2),
        "started": outcome["started"], "start_failed": outcome["start_failed"],
        "submitted": outcome["submitted"],
        "submitted_in_window": outcome["submitted_in_window"],
        "candidates_not_final": outcome["not_final"],
        "submissions": len(submissions), "submissions_graded": len(graded),
        "submissions_internal_error": sum(1 for s in submissions if s[0] == "internal_error"),
        "submissions_not_graded": not_graded,
        "public_runs": len(runs),
        "public_runs_finished": sum(1 for r in runs if r[2] is not None),
        "max_backlog": max((backlog for _, backlog in samples), default=0),
        "last_submission_after_deadline_s": (round(last_submitted - deadline, 2)
                                             if last_submitted is not None else None),
        "last_graded_after_deadline_s": (round(last_graded - deadline, 2)
                                         if last_graded is not None else None),
        "last_job_after_deadline_s": (round(max(finished) - deadline, 2) if finished else None),
        "last_graded_after_last_submission_s": (
            round(last_graded - last_submitted, 2)
            if last_graded is not None and last_submitted is not None else None),
        "sandbox_jobs_in_window": drain_jobs,
        "sandbox_jobs_per_min_from_window": round(drain_per_min, 1),
        "busy_seconds": round(busy, 2),
        "sandbox_jobs_per_min": round(busy_per_min, 1) if busy_per_min is not None else None,
        "submissions_graded_per_min": (round(submissions_busy / busy * 60, 1)
                                       if busy_per_min is not None else None),
        "sandbox_limit_per_min": round(sandbox_limit, 1),
        "submissions_waiting_at_deadline": len(waiting),
        "jobs_waiting_at_deadline": jobs_waiting,
        "drain_submissions_per_min": (round(after_deadline_per_min, 1)
                                      if after_deadline_per_min is not None else None),
        "drain_vs_queue": (round(after_deadline_per_min / busy_per_min, 3)
                           if after_deadline_per_min is not None and busy_per_min else None),
        "drain_vs_limit": (round(after_deadline_per_min / sandbox_limit, 3)
                           if after_deadline_per_min is not None and sandbox_limit else None),
        "drain_floor_s": (round(len(waiting) / sandbox_limit * 60, 1) if sandbox_limit else None),
        "throughput_vs_limit": (round(busy_per_min / sandbox_limit, 3)
                                if busy_per_min is not None and sandbox_limit else None),
    }


def _endpoint_rows(result: dict[str, Any]) -> list[str]:
    return [f"  {name:<24} {e['requests']:6d} req  {e['failures']:4d} err   p50 {e['p50_ms']:7.1f}"
            f"  p95 {e['p95_ms']:7.1f}  p99 {e['p99_ms']:7.1f}  max {e['max_ms']:7.1f} ms"
            for name, e in result["endpoints"].items()]


def _goal_line(goal: dict[str, Any]) -> str:
    pairs = ", ".join(f"{pages:.0f}/{saves:.0f} ms, {errors} err" for pages, saves, errors
                      in zip(goal["pages_p95_ms"], goal["autosave_p95_ms"], goal["errors"], strict=True))
    return (f"goal (workspace and autosave p95 < {goal['p95_limit_ms']:.0f} ms, no error): "
            f"{goal['runs_within']} of {goal['runs']} runs ({pairs})")


def render(result: dict[str, Any]) -> str:
    if "runs" not in result:
        return render_run(result) + "\n" + _goal_line(result["goal"])
    runs = [f"run {index} of {result['repeat']}:\n{render_run(run)}"
            for index, run in enumerate(result["runs"], start=1)]
    return "\n\n".join([*runs, "\n".join([
        f"all {result['repeat']} runs:", *_endpoint_rows(result),
        f"  all requests: {result['requests']}, errors {result['errors']} "
        f"({result['error_rate']:.2%}); pages p95 {result['pages_p95_ms']:.1f} ms, autosave p95 "
        f"{result['autosave_p95_ms']:.1f} ms",
        _goal_line(result["goal"])])])


def render_run(result: dict[str, Any]) -> str:
    rows = _endpoint_rows(result)
    after = result["last_graded_after_deadline_s"]
    return "\n".join([
        f"deadline burst: {result['candidates']} candidates, {result['duration_s']:.0f} s timeline, "
        f"{result['submitted_in_window']} of {result['submitted']} submitted in the last "
        f"{result['window_s']:.0f} s (opening: {result['started']} started in "
        f"{result['opening_s']:.0f} s, p95 {result['opening_p95_ms']:.0f} ms)",
        f"autosave: {result['autosave_endpoint']}",
        *rows,
        f"  all requests: {result['requests']} ({result['requests_per_s']:.0f}/s), errors {result['errors']} "
        f"({result['error_rate']:.2%}); p50 {result['p50_ms']:.1f} p95 {result['p95_ms']:.1f} "
        f"p99 {result['p99_ms']:.1f} ms; pages p95 {result['pages_p95_ms']:.1f} ms, autosave p95 "
        f"{result['autosave_p95_ms']:.1f} ms",
        f"grading: {result['submissions_graded']}/{result['submissions']} submissions graded, "
        f"{result['public_runs_finished']}/{result['public_runs']} public runs; largest backlog "
        f"{result['max_backlog']}; last graded "
        + ("never" if after is None else f"{after:.1f} s after the deadline" if after >= 0
           else f"{-after:.1f} s before the deadline"),
        f"sandbox jobs (submissions and public runs) from the window's start to the last: "
        f"{result['sandbox_jobs_in_window']} = {result['sandbox_jobs_per_min_from_window']:.0f}/min",
        (f"while jobs waited ({result['busy_seconds']:.0f} s): {result['sandbox_jobs_per_min']:.0f} "
         f"jobs/min ({result['submissions_graded_per_min']:.0f} submissions/min) = "
         f"{result['throughput_vs_limit']:.0%} of the sandbox's own limit"
         if result["sandbox_jobs_per_min"] is not None else
         "jobs never waited beyond the worker's own slots for a second: demand, not the sandbox, "
         "set the pace"),
        f"the sandbox's own limit (bare docker run, {result['workers']} at a time): "
        f"{result['sandbox_limit_per_min']:.0f}/min",
        _drain_line(result),
    ])


def _drain_line(result: dict[str, Any]) -> str:
    after = result["last_graded_after_deadline_s"]
    rate = result["drain_submissions_per_min"]
    if after is None or rate is None:
        return (f"after the deadline: {result['submissions_waiting_at_deadline']} submissions "
                "waiting; none graded a second or more after it")
    against = (f"{result['drain_vs_queue']:.0%} of the queue's rate while jobs waited, "
               if result["drain_vs_queue"] is not None else "")
    return (f"after the deadline: {result['submissions_waiting_at_deadline']} submissions waiting "
            f"({result['jobs_waiting_at_deadline']} jobs with public runs), the last graded "
            f"{after:.1f} s later = {rate:.0f} submissions/min, {against}"
            f"{result['drain_vs_limit']:.0%} of the bare limit (which would take "
            f"{result['drain_floor_s']:.1f} s)")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "load":
        sys.exit(_load_main(Path(sys.argv[2]), Path(sys.argv[3])))
    sys.exit("usage: python -m heldout.tools.bench.burst load PLAN.json OUT.json")
