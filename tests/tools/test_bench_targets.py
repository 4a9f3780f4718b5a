"""`heldout bench sandbox` prints each ratio with its target beside it (no engine needed)."""

from __future__ import annotations

from typing import Any

from heldout.tools.bench.sandbox import add_targets, render


def _stats(median: float) -> dict[str, float]:
    return {"median_s": median, "p95_s": median, "min_s": median, "max_s": median, "n": 1}


def _kind(kind: str, ratio: float) -> dict[str, Any]:
    return {"kind": kind, "challenge": f"{kind}-challenge", "grade": _stats(ratio),
            "sandbox_run": _stats(ratio / 2), "bare": _stats(1.0), "ratio": ratio,
            "runs_per_grade": [1]}


def test_each_ratio_is_printed_with_its_target_and_whether_it_was_met() -> None:
    result: dict[str, Any] = {
        "n": 1, "batch": 2, "bare": _stats(1.0), "heldout": _stats(0.3), "ratio": 0.3,
        "ml_bare": _stats(2.0), "ml_heldout": _stats(0.1), "ml_ratio": 0.05,
        "throughput_per_min_1_worker": 90.0, "engine_limit_per_min_1_at_a_time": 100.0,
        "throughput_per_min_2_workers": 120.0, "engine_limit_per_min_2_at_a_time": 100.0,
        "throughput_vs_engine_2_workers": 1.2,
        "kinds": [_kind("function", 0.4), _kind("sql", 0.6)],
    }
    add_targets(result)
    assert [(k["kind"], k["target"], k["met"]) for k in result["kinds"]] == [
        ("function", 0.5, True), ("sql", 0.5, False)]
    assert result["targets"]["trivial"] == {"target": 0.2, "at_least": False, "met": False}
    assert result["targets"]["typical_ml"]["met"] is True
    assert result["targets"]["queue_2_workers"] == {"target": 1.0, "at_least": True, "met": True}
    text = render(result)
    assert "ratio heldout/bare: 0.30 (target <= 0.20: NOT met)" in text
    assert "ml_ratio heldout/bare: 0.05 (target <= 0.08: met)" in text
    assert "ratio 0.60 (target <= 0.50: NOT met)" in text
    assert "(target >= 1.00: met)" in text
