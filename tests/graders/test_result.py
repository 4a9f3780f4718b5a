"""Evaluation records: the ``heldout grade --json`` contract and round-trips."""

from __future__ import annotations

import json

import pytest

from heldout.graders.result import Check, Evaluation

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
        run={"exit_code": 0, "timed_out": False, "oom_killed": False, "wall_seconds": 3.0,
             "cpu_seconds": 2.5, "peak_memory_mb": 120.4, "output_bytes": 41000,
             "stdout_tail": "ok\n", "stderr_tail": "", "limit": None, "signal": None},
    )


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
