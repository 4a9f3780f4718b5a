"""`heldout bench sandbox`: the sandbox against bare docker runs, each kind's grading, and
queue throughput (a batch of trivial submissions through the real queue and worker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask_migrate
from sqlalchemy import func, select

from heldout.platform.app import create_app
from heldout.platform.blobs import BlobStore
from heldout.platform.extensions import db
from heldout.platform.models import Submission, utcnow
from heldout.platform.processes import stop_processes
from heldout.platform.queue import get_queue
from heldout.platform.services import accounts, assessments, attempts, catalogue, invites, submissions

Say = Callable[[str], None]
SLUG = "churn-prediction"
# Issue 16's targets: heldout / bare docker run at most this (queue: at least).
TARGET_KIND_RATIO = 0.5
TARGET_TRIVIAL_RATIO = 0.20
TARGET_ML_RATIO = 0.08
TARGET_QUEUE_VS_ENGINE = 1.0
# A valid submission with the least work possible: the standard library only.
TRIVIAL_SUBMISSION = """\
import csv

with open("/data/test.csv", newline="") as data, open("/output/predictions.csv", "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["customer_id", "churn_probability"])
    for row in csv.DictReader(data):
        writer.writerow([row["customer_id"], 0.5])
"""


def _settle(app: Any, expected: int, timeout: float) -> None:
    """Wait until ``expected`` submissions are final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            done = db.session.scalar(select(func.count()).select_from(Submission).where(
                Submission.status.in_(("graded", "internal_error"))))
        if done is not None and done >= expected:
            return
        time.sleep(0.05)
    raise TimeoutError(f"fewer than {expected} submissions graded within {timeout:.0f} s")


def engine_limit(count: int, parallel: int, challenges_dir: Path, say: Say) -> float:
    """The same trivial submission as plain ``docker run --rm``, ``parallel`` at a time."""
    from heldout.tools.bench.bare import engine_throughput

    return engine_throughput(count, parallel, say, program=TRIVIAL_SUBMISSION,
                             data=challenges_dir / SLUG / "public")


def queue_throughput(batch: int, workers: int, challenges_dir: Path, say: Say) -> float:
    """Submissions graded per minute by one ``heldout worker --workers N`` (warm pool on)."""
    with tempfile.TemporaryDirectory(prefix="heldout-bench-queue-") as tmp:
        settings = {"HELDOUT_DATA_DIR": tmp, "HELDOUT_CHALLENGES_DIR": str(challenges_dir),
                    "HELDOUT_SECRET_KEY": "bench-" + os.urandom(8).hex()}
        app = create_app(settings)
        with app.app_context():
            flask_migrate.upgrade()
            catalogue.load_challenges(challenges_dir)
            user = accounts.create_user("bench@example.com", "Bench", "recruiter", os.urandom(12).hex())
            assessment = assessments.create_assessment(
                name="bench", challenge_slugs=[SLUG], time_limit_minutes=600, instructions="",
                expires_at=None, show_scores=True, created_by_id=user.id)
            now = utcnow()
            invite = invites.create_invite(
                assessment_id=assessment.id, candidate_name="Bench", candidate_email="b@example.org",
                created_by_id=user.id, secret=settings["HELDOUT_SECRET_KEY"], ttl_days=1, now=now).invite
            attempt_id = attempts.start_attempt(invite, consent=True, now=now).public_id
        code = TRIVIAL_SUBMISSION

        def submit(count: int) -> None:
            with app.app_context():
                for _ in range(count):
                    submissions.submit(attempt_public_id=attempt_id, challenge_slug=SLUG, files=[],
                                       blobs=BlobStore(Path(tmp) / "blobs"), queue=get_queue(),
                                       bundles=catalogue.get_bundles(), now=utcnow(), pasted_code=code)

        env = {**os.environ, **settings, "HELDOUT_WORKERS": str(workers)}
        worker = subprocess.Popen([sys.executable, "-m", "heldout.platform", "worker"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            submit(workers)  # warm-up: the worker is up and its pool primed
            _settle(app, workers, 300)
            time.sleep(3)  # let the pool refill, as between bursts of real traffic
            started = time.monotonic()
            submit(batch)
            _settle(app, workers + batch, 600)
            elapsed = time.monotonic() - started
        finally:
            stop_processes([(worker, signal.SIGINT)], timeout=60)
    rate = batch / elapsed * 60
    say(f"queue: {batch} trivial submissions, {workers} worker(s), {elapsed:.1f} s = {rate:.0f}/min")
    return rate


def run_all(n: int, batch: int, challenges_dir: Path, say: Say) -> dict[str, Any]:
    """Everything ``heldout bench sandbox`` reports, as one flat-enough dict."""
    from heldout.tools.bench.bare import sandbox_bench
    from heldout.tools.bench.kinds import kinds_bench, one_run_for_all_cases

    result = sandbox_bench(n, say)
    rows = kinds_bench(n, challenges_dir, say)
    result["kinds"] = [row.as_dict() for row in rows]
    functions = [row for row in rows if row.kind == "function"]
    if functions:
        result["function_cases"] = one_run_for_all_cases(functions[0], result["bare_median_s"])
    result["batch"] = batch
    result["throughput_per_min_1_worker"] = queue_throughput(batch, 1, challenges_dir, say)
    result["throughput_per_min_2_workers"] = queue_throughput(batch, 2, challenges_dir, say)
    result["engine_limit_per_min_1_at_a_time"] = engine_limit(batch, 1, challenges_dir, say)
    result["engine_limit_per_min_2_at_a_time"] = engine_limit(batch, 2, challenges_dir, say)
    result["throughput_vs_engine_2_workers"] = (result["throughput_per_min_2_workers"]
                                                / result["engine_limit_per_min_2_at_a_time"])
    add_targets(result)
    return result


def _target(value: float, target: float, *, at_least: bool = False) -> dict[str, Any]:
    return {"target": target, "at_least": at_least,
            "met": value >= target if at_least else value <= target}


def add_targets(result: dict[str, Any]) -> None:
    """Beside each ratio: its target and whether this run met it."""
    for kind in result.get("kinds", []):
        kind.update(_target(kind["ratio"], TARGET_KIND_RATIO))
    result["targets"] = {
        "trivial": _target(result["ratio"], TARGET_TRIVIAL_RATIO),
        "typical_ml": _target(result["ml_ratio"], TARGET_ML_RATIO),
        "queue_2_workers": _target(result["throughput_vs_engine_2_workers"],
                                   TARGET_QUEUE_VS_ENGINE, at_least=True),
    }


def render(result: dict[str, Any]) -> str:
    def row(label: str, key: str) -> str:
        stats = result[key]
        return f"  {label:<28} median {stats['median_s']:6.3f} s   p95 {stats['p95_s']:6.3f} s"

    def verdict(target: dict[str, Any]) -> str:
        sign = ">=" if target["at_least"] else "<="
        return f"(target {sign} {target['target']:.2f}: {'met' if target['met'] else 'NOT met'})"

    def kind_row(kind: dict[str, Any]) -> str:
        return (f"  {kind['kind']:<20} {kind['challenge']:<24} graded median "
                f"{kind['grade']['median_s']:6.3f} s (sandbox run {kind['sandbox_run']['median_s']:.3f} s)"
                f"   bare {kind['bare']['median_s']:6.3f} s   ratio {kind['ratio']:.2f} {verdict(kind)}"
                f"   runs/grade {max(kind['runs_per_grade'])}")

    targets = result["targets"]
    kinds = [f"grading each kind's reference, {result['n']} runs each (interleaved with bare "
             "docker run of the same jobs):", *(kind_row(kind) for kind in result["kinds"])]
    cases = result.get("function_cases")
    if cases is not None:
        kinds.append(f"  {cases['challenge']}: {cases['cases']} cases graded in "
                     f"{cases['sandbox_runs_per_grade']} sandbox run(s), "
                     f"{cases['grade_median_s']:.3f} s (a container per case: at least "
                     f"{cases['container_per_case_at_least_s']:.1f} s)")
    return "\n".join([
        f"sandbox start-to-result, {result['n']} runs each (interleaved):",
        row("trivial, bare docker run", "bare"), row("trivial, heldout", "heldout"),
        f"  ratio heldout/bare: {result['ratio']:.2f} {verdict(targets['trivial'])}",
        row("typical ML, bare docker run", "ml_bare"), row("typical ML, heldout", "ml_heldout"),
        f"  ml_ratio heldout/bare: {result['ml_ratio']:.2f} {verdict(targets['typical_ml'])}",
        f"queue throughput, batch of {result['batch']} trivial submissions:",
        f"  1 worker : {result['throughput_per_min_1_worker']:6.0f}/min   "
        f"(engine, 1 at a time: {result['engine_limit_per_min_1_at_a_time']:.0f}/min)",
        f"  2 workers: {result['throughput_per_min_2_workers']:6.0f}/min   "
        f"(engine, 2 at a time: {result['engine_limit_per_min_2_at_a_time']:.0f}/min, "
        f"{result['throughput_vs_engine_2_workers']:.0%} of it) {verdict(targets['queue_2_workers'])}",
        *kinds,
    ])
