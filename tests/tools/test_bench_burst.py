"""heldout bench burst: a handful of candidates end to end against gunicorn and a real worker."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from heldout.platform.server import IDLE_CONNECTION_SECONDS
from heldout.platform.settings import SETTINGS_BY_NAME
from heldout.tools.bench import burst

CANDIDATES = 5
EXPECTED_ENDPOINTS = ("invite link", "invite page", "start", "overview", "workspace (first open)",
                      "workspace", "autosave", "public run", "public run status", "submit",
                      "submission status")


def test_autosave_found_in_the_url_map() -> None:
    rules = [("candidate.workspace", "/a/<attempt_id>/c/<slug>", frozenset({"GET", "HEAD"})),
             ("candidate.save_draft", "/a/<attempt_id>/c/<slug>/draft", frozenset({"POST"})),
             ("staff.drafts", "/assessments/<int:assessment_id>/drafts", frozenset({"POST"}))]
    found = burst.find_autosave(rules)
    assert found == burst.Autosave("POST", "/a/{attempt_id}/c/{slug}/draft", present=True)
    assert found.describe() == "POST /a/{attempt_id}/c/{slug}/draft"


def test_without_autosave_the_workspace_reload_stands_in() -> None:
    rules = [("candidate.workspace", "/a/<attempt_id>/c/<slug>", frozenset({"GET", "HEAD"})),
             # A read-only draft page is no autosave.
             ("candidate.draft_history", "/a/<attempt_id>/c/<slug>/drafts", frozenset({"GET"}))]
    found = burst.find_autosave(rules)
    assert not found.present
    assert (found.method, found.path) == ("GET", "/a/{attempt_id}/c/{slug}")
    assert "not in this app" in found.describe()


def test_schedule_puts_late_candidates_in_the_window() -> None:
    plan = {"duration_s": 180.0, "window_s": 60.0, "late_share": 1.0}
    rng = random.Random(3)
    for _ in range(200):
        public_at, submit_at = burst._schedule(plan, rng)
        assert 120.0 <= submit_at <= 180.0
        assert 2.0 <= public_at < submit_at
    early = [burst._schedule({**plan, "late_share": 0.0}, rng)[1] for _ in range(200)]
    assert all(submit_at <= 120.0 for submit_at in early)


def test_a_candidates_pauses_stay_within_the_servers_idle_close() -> None:
    # Locust sends no POST twice: one reaching a connection as the server closes it for
    # idleness is an error of the bench (the "status 0" of a public run, now and then).
    plan = burst.BurstPlan()
    assert 2 * max(plan.autosave_every_s, plan.poll_every_s) <= IDLE_CONNECTION_SECONDS


def test_plan_refuses_a_window_outside_the_timeline() -> None:
    with pytest.raises(ValueError, match="window"):
        burst.BurstPlan(duration_s=30, window_s=60)
    with pytest.raises(ValueError, match="candidate"):
        burst.BurstPlan(candidates=0)


def test_load_test_limits_are_settings_and_the_shell_cannot_redirect_the_bench(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    limits = burst.load_test_limits()
    assert {"HELDOUT_LOGIN_LIMIT_ADDRESS", "HELDOUT_SUBMIT_LIMIT",
            "HELDOUT_PUBLIC_RUN_LIMIT"} <= set(limits) <= set(SETTINGS_BY_NAME)
    monkeypatch.setenv("HELDOUT_DATABASE_URL", "postgresql+psycopg://prod/heldout")
    monkeypatch.setenv("HELDOUT_SANDBOX_WARM", "0")
    monkeypatch.setenv("HELDOUT_UNRELATED_TO_SETTINGS", "kept")
    settings = burst._settings(tmp_path, tmp_path / "challenges", "http://127.0.0.1:1",
                               burst.BurstPlan())
    env = burst._child_env(settings)
    assert env["HELDOUT_DATABASE_URL"] == f"sqlite:///{tmp_path / 'heldout.db'}"
    assert "HELDOUT_SANDBOX_WARM" not in env
    assert env["HELDOUT_UNRELATED_TO_SETTINGS"] == "kept"
    assert env["HELDOUT_ENV"] == "production"
    assert env["HELDOUT_SUBMIT_LIMIT"] == burst.LOAD_TEST_LIMITS["HELDOUT_SUBMIT_LIMIT"]


def _loaded(start: float, latencies: dict[str, list[float]],
            failures: dict[str, int] | None = None) -> dict[str, Any]:
    return {"opening": start - 5, "start": start, "end": start + 40,
            "outcome": {"started": 2, "start_failed": 0, "finished": 2, "submitted": 2,
                        "submitted_in_window": 2, "public_runs": 0, "not_final": 0},
            "latencies": latencies, "failures": failures or {}, "problems": []}


def test_the_time_after_the_deadline_is_set_against_the_queues_rate() -> None:
    plan = burst.BurstPlan(candidates=3, duration_s=20, window_s=10, workers=1)
    start = 1000.0
    deadline = start + 20
    # Graded before the deadline; waiting at it and graded 5 and 10 s after it.
    submissions: list[tuple[str, float, float | None]] = [
        ("graded", start + 12, start + 14), ("graded", deadline - 1, deadline + 5),
        ("graded", deadline - 0.5, deadline + 10)]
    runs: list[tuple[str, float, float | None]] = [("graded", deadline - 2, deadline + 2)]
    # The backlog exceeded the one worker from the deadline on: 3 jobs ended in those 10 s.
    samples = [(deadline, 3), (deadline + 10, 0)]
    result = burst.summarise(plan, _loaded(start, {"workspace": [10.0], "autosave": [5.0]}),
                             submissions, runs, samples, 30.0, burst.Autosave("POST", "/d", True))
    assert result["last_graded_after_deadline_s"] == 10
    assert result["submissions_waiting_at_deadline"] == 2
    assert result["jobs_waiting_at_deadline"] == 3
    assert result["drain_submissions_per_min"] == 12  # 2 in 10 s
    assert result["sandbox_jobs_per_min"] == 18  # 3 jobs in the 10 s the backlog waited
    assert result["drain_vs_queue"] == round(12 / 18, 3)
    assert result["drain_vs_limit"] == round(12 / 30, 3)
    assert result["drain_floor_s"] == 4  # 2 submissions at the bare 30/min
    assert "2 submissions waiting" in burst.render_run(result)


def test_repeated_runs_keep_each_and_pool_their_latencies() -> None:
    plan = burst.BurstPlan(candidates=2, duration_s=20, window_s=10)
    fast = _loaded(0.0, {"workspace": [10.0] * 20, "autosave": [10.0] * 20})
    slow = _loaded(0.0, {"workspace": [300.0] * 20, "autosave": [10.0] * 20},
                   failures={"autosave": 1})
    runs = [{**burst.latency_figures(loaded["latencies"], loaded["failures"], []),
             "marker": index} for index, loaded in enumerate((fast, slow))]
    result = burst.combine(plan, runs, [fast, slow])
    assert result["repeat"] == 2 and [run["marker"] for run in result["runs"]] == [0, 1]
    assert result["requests"] == 80 and result["errors"] == 1
    assert result["endpoints"]["workspace"]["requests"] == 40
    assert result["goal"]["runs_within"] == 1  # the slow run misses p95 and has an error
    assert result["goal"]["pages_p95_ms"] == [10.0, 300.0]
    single = burst.combine(plan, runs[:1], [fast])
    assert single["repeat"] == 1 and "runs" not in single and single["marker"] == 0
    assert single["goal"]["runs_within"] == 1


@pytest.mark.docker
@pytest.mark.slow
def test_a_small_burst_end_to_end(challenges_dir: Path, sandbox_image: str) -> None:
    env = {**os.environ, "HELDOUT_CHALLENGES_DIR": str(challenges_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "heldout.platform", "bench", "burst", "-n", str(CANDIDATES),
         "--duration", "20", "--window", "10", "--autosave-every", "3", "--limit-runs", "4",
         "--json"], env=env, capture_output=True, text=True, timeout=540, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)

    assert result["candidates"] == CANDIDATES
    assert result["errors"] == 0, result["error_samples"]
    assert result["error_rate"] == 0
    assert result["started"] == result["submitted"] == CANDIDATES
    assert result["start_failed"] == 0
    assert result["submissions"] == result["submissions_graded"] == CANDIDATES
    assert result["submissions_internal_error"] == result["submissions_not_graded"] == 0
    assert result["public_runs"] == result["public_runs_finished"] == CANDIDATES
    assert result["candidates_not_final"] == 0
    assert 0 <= result["submitted_in_window"] <= CANDIDATES

    endpoints = result["endpoints"]
    assert set(EXPECTED_ENDPOINTS) <= set(endpoints)
    assert result["requests"] == sum(e["requests"] for e in endpoints.values())
    for name in EXPECTED_ENDPOINTS:
        entry = endpoints[name]
        assert entry["requests"] >= 1 and entry["failures"] == 0, name
        assert 0 < entry["p50_ms"] <= entry["p95_ms"] <= entry["p99_ms"] <= entry["max_ms"], name
    # One invite exchange and one submission per candidate, as scripted.
    for name in ("invite link", "invite page", "start", "overview", "workspace (first open)",
                 "public run", "submit"):
        assert endpoints[name]["requests"] == CANDIDATES, name
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["pages_p95_ms"] > 0 and result["autosave_p95_ms"] > 0
    assert result["opening_p95_ms"] > 0 and result["opening_s"] > 0
    assert isinstance(result["autosave_endpoint"], str) and result["autosave_endpoint"]

    # Graded after it was submitted; the throughput figures were measured, not defaulted.
    assert result["last_graded_after_deadline_s"] > result["last_submission_after_deadline_s"]
    assert result["last_graded_after_last_submission_s"] > 0
    assert result["last_job_after_deadline_s"] >= result["last_graded_after_deadline_s"]
    assert result["max_backlog"] >= 1
    assert result["sandbox_limit_per_min"] > 0
    # Jobs that ended after the window opened (an early candidate's may end before).
    assert 0 < result["sandbox_jobs_in_window"] <= 2 * CANDIDATES
    assert result["sandbox_jobs_per_min_from_window"] > 0
    if result["sandbox_jobs_per_min"] is None:  # jobs never waited for a whole second
        assert result["busy_seconds"] < 1 and result["throughput_vs_limit"] is None
    else:
        assert result["sandbox_jobs_per_min"] >= result["submissions_graded_per_min"] >= 0
        assert result["throughput_vs_limit"] > 0
    assert result["limits"] == burst.load_test_limits()
    assert result["repeat"] == 1 and result["goal"]["runs"] == 1
    assert result["submissions_waiting_at_deadline"] >= 0
    assert result["drain_floor_s"] is not None and result["drain_floor_s"] >= 0
