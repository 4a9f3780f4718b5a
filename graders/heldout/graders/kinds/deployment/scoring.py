"""Scoring a service on the host: every check from the probe's report and the service's run."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from heldout.graders.checks import METRIC, PREDICTIONS, RUN, metric_check
from heldout.graders.errors import CandidateOutputError
from heldout.graders.kinds.deployment.config import (
    CONCURRENCY,
    LATENCY,
    MAX_REPORT_BYTES,
    PROBE_REPORT,
    SHOWN_FAILURES,
    STARTUP,
    VALIDATION,
    DeploymentGrading,
    ServiceRequest,
    serve_limits,
)
from heldout.graders.kinds.deployment.report import percentile
from heldout.graders.metrics import METRICS
from heldout.graders.result import MAX_SCORE, Check, Evaluation, RunStats, Split
from heldout.graders.runcheck import describe_stop
from heldout.graders.tables import read_capped
from heldout.sandbox.spec import OUTPUT, Limits, RunResult

if TYPE_CHECKING:
    from heldout.graders.bundle_types import Bundle


def read_report(probe: RunResult) -> tuple[dict[str, Any] | None, str]:
    """The probe's report (trusted code, but read under a cap like any run's output)."""
    output = probe.output(PROBE_REPORT)
    if output is None:
        return None, f"the probe wrote no {OUTPUT}/{PROBE_REPORT}"
    try:
        raw = json.loads(read_capped(output.path, MAX_REPORT_BYTES, shown=PROBE_REPORT))
    except (CandidateOutputError, ValueError) as exc:
        return None, f"unreadable probe report: {exc}"
    if not isinstance(raw, dict):
        return None, "the probe report is not an object"
    return raw, ""


def not_served(bundle: Bundle, config: DeploymentGrading, split: Split, built: RunResult,
                why: str) -> Evaluation:
    checks = [RUN.failed(why), *_unchecked(config, "the build step failed")]
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded", score=0.0,
                      checks=tuple(checks), run=RunStats.from_result(built),
                      split=split)


def _unchecked(config: DeploymentGrading, why: str) -> list[Check]:
    points = config.points
    return [STARTUP.not_checked(why, max_score=points["startup"]),
            PREDICTIONS.not_checked(why, max_score=points["predictions"]),
            METRIC.not_checked(why, max_score=points["metric"], label=config.metric),
            VALIDATION.not_checked(why, max_score=points["validation"]),
            CONCURRENCY.not_checked(why, max_score=points["concurrency"]),
            LATENCY.not_checked(why, max_score=points["latency"])]


def _json_object(body: Any) -> dict[str, Any] | None:
    if not isinstance(body, str):
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def prediction_of(seen: Mapping[str, Any], field: str) -> float | None:
    """The finite number under ``field`` of a 2xx JSON answer, else None."""
    status = seen.get("status")
    if not isinstance(status, int) or not 200 <= status < 300:
        return None
    answer = _json_object(seen.get("body"))
    value = None if answer is None else answer.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def refusal_problem(seen: Mapping[str, Any]) -> str:
    """Why a response to an invalid payload is not a proper refusal ('' when it is)."""
    status = seen.get("status")
    if not isinstance(status, int):
        return str(seen.get("error") or "no response")[:120]
    if not 400 <= status < 500:
        return f"status {status}"
    if "json" not in str(seen.get("content_type", "")).lower() or _json_object(seen.get("body")) is None:
        return f"status {status} without a JSON object body"
    return ""


def _responses(report: Mapping[str, Any], count: int) -> list[Mapping[str, Any]]:
    raw = report.get("responses")
    items: list[Mapping[str, Any]] = []
    if isinstance(raw, list):
        items = [r if isinstance(r, dict) else {} for r in raw]
    return (items + [{} for _ in range(count)])[:count]


def _latency(seen: Mapping[str, Any]) -> float | None:
    value = seen.get("latency_ms")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def score_service(bundle: Bundle, config: DeploymentGrading, split: Split,
                  requests: Sequence[ServiceRequest], report: Mapping[str, Any] | None,
                  service: RunResult, note: str, built: RunResult | None = None) -> Evaluation:
    """Every check from the probe's report and the service's run, scored on the host."""
    points = config.points
    rows: list[dict[str, Any]] = []
    checks: list[Check] = []
    healthy = report is not None and report.get("healthy") is True
    alive = report is not None and report.get("alive_after") is True
    checks.append(_run(service, serve_limits(bundle, config), healthy, alive, note, built))
    metrics: dict[str, float] = {}
    if report is None or not healthy:
        startup_seconds = None
        why = note or str((report or {}).get("health_error") or "no answer")[:200]
        checks.append(STARTUP.failed(f"not healthy ({config.health_path} never answered 200) "
                                     f"within {config.startup_seconds:g} s: {why}",
                                     max_score=points["startup"]))
        checks += _unchecked(config, "the service never became healthy")[1:]
    else:
        startup_seconds = report.get("startup_seconds")
        checks.append(STARTUP.passed(f"healthy after {float(startup_seconds or 0):.1f} s "
                                     f"(limit {config.startup_seconds:g} s)",
                                     score=points["startup"], max_score=points["startup"]))
        responses = _responses(report, len(requests))
        checks += _prediction_checks(config, requests, responses, rows, metrics)
        checks.append(_validation_check(config, requests, responses, rows))
        checks.append(_concurrency_check(config, report, rows))
        checks.append(_latency_check(config, requests, responses, metrics))
    score = min(round(sum(check.score for check in checks), 2), MAX_SCORE)
    table = {"startup_seconds": startup_seconds, "rows": rows,
             "latency_p50_ms": metrics.get("latency_p50_ms"),
             "latency_p95_ms": metrics.get("latency_p95_ms"),
             "targets": {"p50_ms": config.latency_p50_ms, "p95_ms": config.latency_p95_ms}}
    return Evaluation(challenge=bundle.slug, version=bundle.version, status="graded",
                      score=score, checks=tuple(checks), metrics=metrics,
                      run=RunStats.from_result(service),
                      split=split,
                      artefacts={PROBE_REPORT: json.dumps(table, indent=1).encode("utf-8")})


def _run(service: RunResult, limits: Limits, healthy: bool, alive: bool, note: str,
         built: RunResult | None) -> Check:
    before = f"build {built.wall_seconds:.1f} s; " if built is not None else ""
    if service.timed_out or service.oom_killed or service.limit is not None:
        stop = describe_stop(service, limits)
        return RUN.failed(f"{before}the service {stop}")
    if healthy and alive:
        return RUN.passed(f"{before}the service ran until the probe was done "
                          f"(peak memory {service.peak_memory_mb:.0f} MB)")
    if healthy:
        return RUN.failed(f"{before}the service stopped answering during the probe "
                          f"(exit code {service.exit_code})")
    if service.exit_code not in (None, 137) or note:
        tail = service.stderr_tail.strip().splitlines()[-1:] or [""]
        return RUN.failed(f"{before}the service exited with code {service.exit_code}"
                          + (f": {tail[0][:200]}" if tail[0] else ""))
    return RUN.failed(f"{before}the service was stopped: it never answered its health URL")


def _prediction_checks(config: DeploymentGrading, requests: Sequence[ServiceRequest],
                       responses: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]],
                       metrics: dict[str, float]) -> list[Check]:
    metric = METRICS.get(config.metric)
    truth: list[float] = []
    values: list[float | None] = []
    for request, seen in zip(requests, responses, strict=True):
        if request.kind != "predict" or request.expected is None:
            continue
        value = prediction_of(seen, config.prediction_field)
        truth.append(request.expected)
        values.append(value)
        correct = None if value is None else (value >= config.threshold) == (request.expected >= 0.5)
        rows.append(_row(request.label, "predict", seen, correct,
                         _prediction_why(value, request.expected, config)))
    answered = [v for v in values if v is not None]
    missing = len(values) - len(answered)
    where = f"{config.predict_path} answered 2xx JSON with a finite {config.prediction_field!r}"
    if not answered:
        return [PREDICTIONS.failed(f"0/{len(values)} prediction requests: none {where}",
                                   max_score=config.points["predictions"]),
                METRIC.failed("not computed: no valid predictions",
                              max_score=config.points["metric"], label=metric.name)]
    share = len(answered) / len(values)
    earned = round(config.points["predictions"] * share, 2)
    detail = f"{len(answered)}/{len(values)} prediction requests {where}"
    first = next((i for i, v in enumerate(values) if v is None), None)
    if first is not None:
        detail += "; unanswered ones count as the median answer"
    fill = sorted(answered)[len(answered) // 2]
    scored = [fill if v is None else v for v in values]
    predictions = PREDICTIONS.verdict(missing == 0, detail, score=earned,
                                      max_score=config.points["predictions"])
    problem = metric.prediction_problem(truth, scored)
    if problem:
        return [predictions, METRIC.failed(f"not computed: {problem}",
                                           max_score=config.points["metric"], label=metric.name)]
    value = metric.compute(truth, scored)
    metrics[metric.name] = round(value, 6)
    return [predictions, metric_check(metric, value, baseline=config.baseline,
                                      target=config.target, max_score=config.points["metric"])]


def _validation_check(config: DeploymentGrading, requests: Sequence[ServiceRequest],
                      responses: Sequence[Mapping[str, Any]], rows: list[dict[str, Any]]) -> Check:
    failures: list[str] = []
    total = 0
    for request, seen in zip(requests, responses, strict=True):
        if request.kind != "invalid":
            continue
        total += 1
        problem = refusal_problem(seen)
        rows.append(_row(request.label, "invalid", seen, not problem, problem or ""))
        if problem:
            failures.append(f"{request.label}: {problem}")
    most = config.points["validation"]
    if total == 0:
        return VALIDATION.passed("no invalid payloads in this split", score=most, max_score=most)
    earned = round(most * (total - len(failures)) / total, 2)
    detail = f"{total - len(failures)}/{total} invalid payloads refused with a 4xx JSON error"
    if failures:
        detail += "; " + "; ".join(failures[:SHOWN_FAILURES])
        if len(failures) > SHOWN_FAILURES:
            detail += f"; and {len(failures) - SHOWN_FAILURES} more"
    return VALIDATION.verdict(not failures, detail, score=earned, max_score=most)


def _concurrency_check(config: DeploymentGrading, report: Mapping[str, Any],
                       rows: list[dict[str, Any]]) -> Check:
    most = config.points["concurrency"]
    if config.burst == 0:
        return CONCURRENCY.passed("no burst declared", score=most, max_score=most)
    raw = report.get("burst")
    burst = [b if isinstance(b, dict) else {} for b in raw] if isinstance(raw, list) else []
    if not burst:
        return CONCURRENCY.failed("not sent: the probe's time budget ran out", max_score=most)
    good = 0
    problems: list[str] = []
    for index, seen in enumerate(burst, start=1):
        ok = prediction_of(seen, config.prediction_field) is not None
        good += ok
        rows.append(_row(f"burst {index}", "burst", seen, ok,
                         "" if ok else f"no finite {config.prediction_field!r} in the answer"))
        if not ok:
            problems.append(str(seen.get("error") or f"status {seen.get('status')}")[:80])
    detail = f"{good}/{len(burst)} concurrent requests answered with a prediction"
    if problems:
        detail += f" (e.g. {problems[0]})"
    all_good = good == len(burst) == config.burst
    return CONCURRENCY.verdict(all_good, detail, score=most if all_good else 0.0, max_score=most)


def _latency_check(config: DeploymentGrading, requests: Sequence[ServiceRequest],
                   responses: Sequence[Mapping[str, Any]], metrics: dict[str, float]) -> Check:
    most = config.points["latency"]
    times = [latency for request, seen in zip(requests, responses, strict=True)
             if request.kind == "predict" and prediction_of(seen, config.prediction_field) is not None
             and (latency := _latency(seen)) is not None]
    if not times:
        return LATENCY.failed("not measured: no prediction request succeeded", max_score=most)
    p50, p95 = percentile(times, 0.5), percentile(times, 0.95)
    metrics["latency_p50_ms"], metrics["latency_p95_ms"] = round(p50, 2), round(p95, 2)
    half = most / 2
    earned = (half if p50 <= config.latency_p50_ms else 0.0) + (half if p95 <= config.latency_p95_ms else 0.0)
    detail = (f"p50 {p50:.1f} ms (target {config.latency_p50_ms:g}), p95 {p95:.1f} ms "
              f"(target {config.latency_p95_ms:g}) over {len(times)} successful predictions")
    return LATENCY.verdict(earned == most, detail, score=round(earned, 2), max_score=most)


def _prediction_why(value: float | None, expected: float, config: DeploymentGrading) -> str:
    """Why a prediction request's row reads ✗ (or ✓): the class at the threshold."""
    if value is None:
        return f"no finite {config.prediction_field!r} in the answer"
    said = "positive" if value >= config.threshold else "negative"
    wanted = "positive" if expected >= 0.5 else "negative"
    verdict = "right" if said == wanted else "wrong"
    return (f"{verdict} class: {value:.3g} is {said} at the threshold {config.threshold:g}; "
            f"the label is {wanted}")


def _row(label: str, kind: str, seen: Mapping[str, Any], correct: bool | None,
         why: str = "") -> dict[str, Any]:
    status = seen.get("status")
    return {"request": label, "kind": kind,
            "status": status if isinstance(status, int) else None,
            "latency_ms": _latency(seen),
            "correct": "yes" if correct else "no",
            "error": str(seen.get("error") or "")[:200], "why": why[:200]}
