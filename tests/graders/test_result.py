"""Evaluation records: the ``heldout grade --json`` contract and round-trips."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from heldout.graders.result import Check, Evaluation, RunStats
from heldout.sandbox.spec import OutputFile, RunResult

CONTRACT_KEYS = {"challenge", "version", "status", "score", "max_score", "checks", "metrics",
                 "run"}
CHECK_KEYS = {"name", "kind", "passed", "score", "max_score", "detail"}
RUN_KEYS = {"exit_code", "timed_out", "oom_killed", "wall_seconds", "peak_memory_mb",
            "output_bytes", "stdout_tail", "stderr_tail"}


def graded() -> Evaluation:
    return Evaluation(
        challenge="churn-prediction", version="sha256:" + "ab" * 32, status="graded",
        score=87.25,
        checks=(Check("run", "run", True, 0, 0, "finished in 3.0 s"),
                Check("predictions", "test", True, 0, 0, "1500 rows"),
                Check("roc_auc", "metric", True, 87.25, 100, "roc_auc 0.8483")),
        metrics={"roc_auc": 0.848312},
        run=RunStats(exit_code=0, timed_out=False, oom_killed=False, wall_seconds=3.0,
                     peak_memory_mb=120.4, output_bytes=41000, stdout_tail="ok\n",
                     stderr_tail="", cpu_seconds=2.5),
    )


def sandbox_result(**changes: Any) -> RunResult:
    values: dict[str, Any] = dict(
        exit_code=137, timed_out=False, oom_killed=True, wall_seconds=1.23456,
        cpu_seconds=0.98765, peak_memory_mb=255.96, output_bytes=17, stdout_tail="out",
        stderr_tail="Killed", stdout_truncated=False, stderr_truncated=True,
        outputs=(OutputFile("predictions.csv", 17, Path("/nowhere/predictions.csv")),),
        skipped_outputs=("link",), limit="memory", signal=9, warm=True)
    values.update(changes)
    return RunResult(**values)


def test_graded_json_has_the_contract_keys() -> None:
    data = json.loads(json.dumps(graded().as_dict()))
    assert set(data) >= CONTRACT_KEYS and set(data) - CONTRACT_KEYS == {"error"}
    assert data["status"] == "graded" and data["score"] == 87.25 and data["max_score"] == 100
    assert data["error"] is None
    for check in data["checks"]:
        assert set(check) == CHECK_KEYS
        assert check["kind"] in {"metric", "test", "probe", "run"}
    assert set(data["run"]) >= RUN_KEYS
    assert data["metrics"] == {"roc_auc": 0.848312}


def test_round_trip() -> None:
    original = graded()
    again = Evaluation.from_dict(json.loads(json.dumps(original.as_dict())))
    assert again == original
    assert again.as_dict() == original.as_dict()


def test_internal_error_has_no_score_and_round_trips() -> None:
    error = Evaluation.internal_error("x", "sha256:00", "sandbox: no engine")
    data = error.as_dict()
    assert data["status"] == "internal_error" and data["score"] is None
    assert data["error"] == "sandbox: no engine" and data["run"] is None
    assert Evaluation.from_dict(data) == error


def test_invariants() -> None:
    with pytest.raises(ValueError, match="needs a score"):
        Evaluation(challenge="x", version="v", status="graded", score=None)
    with pytest.raises(ValueError, match="needs a score"):
        Evaluation(challenge="x", version="v", status="graded", score=101)
    with pytest.raises(ValueError, match="carries no score"):
        Evaluation(challenge="x", version="v", status="internal_error", score=0)
    with pytest.raises(ValueError, match="status must be"):
        Evaluation(challenge="x", version="v", status="done", score=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="check kind"):
        Check("x", "unit", True, 0, 0, "")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="outside"):
        Check("x", "test", True, 2, 1, "")


def test_from_dict_rejects_malformed_records() -> None:
    with pytest.raises(ValueError, match="not an evaluation record"):
        Evaluation.from_dict({"challenge": "x"})


def test_evaluation_is_frozen() -> None:
    evaluation = graded()
    with pytest.raises(AttributeError):
        evaluation.score = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        evaluation.metrics["roc_auc"] = 1.0  # type: ignore[index]


def test_run_stats_print_what_the_sandbox_printed() -> None:
    # The JSON of stored evaluations and of `heldout grade --json` must not change.
    for result in (sandbox_result(), sandbox_result(exit_code=None, signal=None, limit=None,
                                                    oom_killed=False, warm=False)):
        stats = RunStats.from_result(result)
        assert stats.as_dict() == result.as_dict()
        assert json.dumps(stats.as_dict()) == json.dumps(result.as_dict())
    stats = RunStats.from_result(sandbox_result())
    assert (stats.limit, stats.signal, stats.oom_killed, stats.warm) == ("memory", 9, True, True)
    assert stats.wall_seconds == 1.23456  # kept exact; only the printed form rounds


def test_run_stats_round_trip_and_are_frozen() -> None:
    stats = RunStats.from_result(sandbox_result(wall_seconds=2.5, peak_memory_mb=64.5,
                                                cpu_seconds=1.25))
    assert RunStats.from_dict(json.loads(json.dumps(stats.as_dict()))) == stats
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.exit_code = 0  # type: ignore[misc]


def test_a_record_stored_before_signal_warm_and_stopped_existed_still_loads() -> None:
    stored = {"exit_code": 0, "timed_out": False, "oom_killed": False, "wall_seconds": 3.2,
              "cpu_seconds": 2.9, "peak_memory_mb": 181, "output_bytes": 12000,
              "stdout_tail": "wrote 1500 predictions", "stderr_tail": "", "limit": None}
    record = graded().as_dict() | {"run": stored}
    evaluation = Evaluation.from_dict(record)
    assert evaluation.run == RunStats(exit_code=0, timed_out=False, oom_killed=False,
                                      wall_seconds=3.2, peak_memory_mb=181.0,
                                      output_bytes=12000, stdout_tail="wrote 1500 predictions",
                                      stderr_tail="", cpu_seconds=2.9)
    assert evaluation.as_dict()["run"] == stored | {"signal": None, "warm": False, "stopped": False}


@pytest.mark.parametrize(("key", "value"), [
    ("exit_code", "0"), ("timed_out", 1), ("output_bytes", 1.5), ("stdout_tail", None),
    ("signal", True), ("wall_seconds", "fast"), ("stopped", "yes"),
])
def test_malformed_run_records_are_refused(key: str, value: Any) -> None:
    record = graded().as_dict()
    record["run"] = record["run"] | {key: value}
    with pytest.raises(ValueError, match="not a run record"):
        Evaluation.from_dict(record)
    del record["run"]["exit_code"]
    with pytest.raises(ValueError, match="not a run record"):
        Evaluation.from_dict(record)


def test_only_public_runs_print_a_split() -> None:
    hidden = graded()
    assert hidden.split == "hidden" and "split" not in hidden.as_dict()
    public = dataclasses.replace(hidden, split="public")
    assert public.as_dict()["split"] == "public"
    assert Evaluation.from_dict(public.as_dict()) == public
    assert Evaluation.from_dict(hidden.as_dict()).split == "hidden"
    with pytest.raises(ValueError, match="split must be"):
        dataclasses.replace(hidden, split="training")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="split"):
        Evaluation.from_dict(hidden.as_dict() | {"split": "training"})


def test_run_must_be_run_stats() -> None:
    with pytest.raises(TypeError, match="RunStats"):
        Evaluation(challenge="x", version="v", status="graded", score=1,
                   run={"exit_code": 0})  # type: ignore[arg-type]
