"""Seeded generator of ab-test-analysis's test cases: public examples and hidden cases.

Run on the grading host or by hand, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ cases.jsonl byte for byte.
Expected values are computed here with the standard library alone (``statistics.NormalDist``
and ``math.erfc``), independently of the reference solution, which uses scipy; the
experiments' daily logs are drawn with NumPy and chosen for what each case tests (a
significant look before the planned size that the final analysis does not confirm, a
sample ratio mismatch, an experiment stopped too early).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

SEED = 20250317
NORMAL = NormalDist()
FLOAT_TOLERANCE = {"abs": 1e-9, "rel": 1e-6}
SRM_THRESHOLD = 0.001
DAILY_COLUMNS = ["day", "visitors_a", "conversions_a", "visitors_b", "conversions_b"]

Case = dict[str, Any]


# --- the rules of the statement, written out independently of the reference ------------

def diff_ci(conv_a: int, n_a: int, conv_b: int, n_b: int,
            confidence: float = 0.95) -> dict[str, float]:
    p_a, p_b = conv_a / n_a, conv_b / n_b
    effect = p_b - p_a
    z = NORMAL.inv_cdf(0.5 + confidence / 2)
    half = z * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    return {"effect": effect, "low": effect - half, "high": effect + half}


def p_value(conv_a: int, n_a: int, conv_b: int, n_b: int) -> float:
    pooled = (conv_a + conv_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance == 0:
        return 1.0
    z = (conv_b / n_b - conv_a / n_a) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def sample_size_exact(baseline: float, mde: float, alpha: float, power: float) -> float:
    p1, p2 = baseline, baseline + mde
    mean = (p1 + p2) / 2
    z_alpha = NORMAL.inv_cdf(1 - alpha / 2)
    z_beta = NORMAL.inv_cdf(power)
    root = (z_alpha * math.sqrt(2 * mean * (1 - mean))
            + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))
    return root ** 2 / mde ** 2


def srm_p_value(n_a: int, n_b: int, expected_share_a: float = 0.5) -> float:
    total = n_a + n_b
    expected_a, expected_b = total * expected_share_a, total * (1 - expected_share_a)
    chi2 = (n_a - expected_a) ** 2 / expected_a + (n_b - expected_b) ** 2 / expected_b
    return math.erfc(math.sqrt(chi2 / 2))  # the chi-square survival function, one degree


def _verdict(va: int, ca: int, vb: int, cb: int, alpha: float) -> str:
    if srm_p_value(va, vb) < SRM_THRESHOLD:
        return "invalid"
    if p_value(ca, va, cb, vb) < alpha:
        return "B" if cb / vb > ca / va else "A"
    return "inconclusive"


def decide(rows: list[list[int]], planned: int, alpha: float = 0.05) -> str:
    """The analysis once, on the cumulative counts of the first day both arms reach planned."""
    va = ca = vb = cb = 0
    for _day, day_va, day_ca, day_vb, day_cb in sorted(rows):
        va, ca, vb, cb = va + day_va, ca + day_ca, vb + day_vb, cb + day_cb
        if va >= planned and vb >= planned:
            return _verdict(va, ca, vb, cb, alpha)
    return "not enough data"


def peeked(rows: list[list[int]], planned: int, alpha: float = 0.05) -> str | None:
    """What stopping at the first significant daily look before the planned size says."""
    va = ca = vb = cb = 0
    for _day, day_va, day_ca, day_vb, day_cb in sorted(rows):
        va, ca, vb, cb = va + day_va, ca + day_ca, vb + day_vb, cb + day_cb
        if va >= planned and vb >= planned:
            return None
        verdict = _verdict(va, ca, vb, cb, alpha)
        if verdict in ("A", "B"):
            return verdict
    return None


# --- the cases -----------------------------------------------------------------------

def case(function: str, args: list[Any], expected: Any, *, group: str,
         name: str | None = None, kwargs: dict[str, Any] | None = None,
         tolerance: dict[str, float] | None = None, weight: float | None = None) -> Case:
    out: Case = {"function": function, "args": args}
    if kwargs:
        out["kwargs"] = kwargs
    out["expected"] = expected
    if tolerance:
        out["tolerance"] = tolerance
    out["group"] = group
    if weight is not None:
        out["weight"] = weight
    if name:
        out["name"] = name
    return out


def ci_case(args: list[int], name: str | None = None, confidence: float | None = None) -> Case:
    kwargs = {"confidence": confidence} if confidence is not None else None
    expected = diff_ci(*args, **({"confidence": confidence} if confidence else {}))
    return case("diff_ci", list(args), expected, group="confidence interval", name=name,
                kwargs=kwargs, tolerance=FLOAT_TOLERANCE)


def p_case(args: list[int], name: str | None = None) -> Case:
    return case("p_value", list(args), p_value(*args), group="p-value", name=name,
                tolerance=FLOAT_TOLERANCE)


def size_case(baseline: float, mde: float, name: str | None = None, alpha: float | None = None,
              power: float | None = None) -> Case:
    kwargs = {k: v for k, v in (("alpha", alpha), ("power", power)) if v is not None}
    exact = sample_size_exact(baseline, mde, alpha or 0.05, power or 0.8)
    # A case whose exact size sits next to an integer would depend on rounding noise.
    assert abs(exact - round(exact)) > 1e-6, (baseline, mde, exact)
    return case("sample_size", [baseline, mde], math.ceil(exact), group="sample size",
                name=name, kwargs=kwargs or None)


def srm_case(n_a: int, n_b: int, name: str | None = None, share: float | None = None) -> Case:
    kwargs = {"expected_share_a": share} if share is not None else None
    expected = srm_p_value(n_a, n_b, share if share is not None else 0.5)
    return case("srm_p_value", [n_a, n_b], expected, group="sample ratio", name=name,
                kwargs=kwargs, tolerance=FLOAT_TOLERANCE)


def frame(rows: list[list[int]]) -> dict[str, Any]:
    columns = [[row[i] for row in rows] for i in range(len(DAILY_COLUMNS))]
    return {"$dataframe": {"columns": DAILY_COLUMNS, "dtypes": ["int64"] * len(DAILY_COLUMNS),
                           "data": columns}}


def decide_case(rows: list[list[int]], planned: int, name: str, *,
                alpha: float | None = None) -> Case:
    kwargs = {"alpha": alpha} if alpha is not None else None
    expected = decide(rows, planned, alpha or 0.05)
    return case("decide", [frame(rows), planned], expected, group="decision", name=name,
                kwargs=kwargs, weight=2)


def experiment(rng: np.random.Generator, days: int, daily: float, rate_a: float,
               rate_b: float, share_b: float = 0.5) -> list[list[int]]:
    rows = []
    for day in range(1, days + 1):
        visitors = int(rng.poisson(daily))
        vb = int(rng.binomial(visitors, share_b))
        va = visitors - vb
        rows.append([day, va, int(rng.binomial(va, rate_a)), vb, int(rng.binomial(vb, rate_b))])
    return rows


def find(rng: np.random.Generator, want: Any, **draw: Any) -> list[list[int]]:
    """The first drawn experiment for which ``want(rows)`` holds (deterministic per seed)."""
    for _ in range(20000):
        rows = experiment(rng, **draw)
        if want(rows):
            return rows
    raise RuntimeError(f"no experiment found for {draw}")


def decision_cases(rng: np.random.Generator) -> list[Case]:
    planned = 7000

    def peeking_trap(final: str) -> Any:
        # A daily look before the planned size was significant, the planned analysis is not
        # (or says the opposite): stopping at the first significant look gets it wrong.
        return lambda rows: (decide(rows, planned) == final
                             and peeked(rows, planned) not in (None, final))

    cases = []
    for i, (rate_a, rate_b) in enumerate([(0.10, 0.10), (0.10, 0.10), (0.05, 0.05),
                                          (0.12, 0.12), (0.08, 0.08), (0.10, 0.103)]):
        rows = find(rng, peeking_trap("inconclusive"), days=14, daily=1000,
                    rate_a=rate_a, rate_b=rate_b)
        cases.append(decide_case(rows, planned, f"no real difference, a significant early "
                                                f"look {i + 1}"))
    rows = find(rng, peeking_trap("B"), days=14, daily=1000, rate_a=0.10, rate_b=0.113)
    cases.append(decide_case(rows, planned, "B wins at the planned size, A led early"))
    rows = find(rng, peeking_trap("A"), days=14, daily=1000, rate_a=0.10, rate_b=0.088)
    cases.append(decide_case(rows, planned, "A wins at the planned size, B led early"))
    rows = find(rng, lambda r: decide(r, planned) == "B" and peeked(r, planned) is None,
                days=14, daily=1000, rate_a=0.10, rate_b=0.115)
    cases.append(decide_case(rows, planned, "B wins, no early signal"))
    rows = find(rng, lambda r: decide(r, 10000, alpha=0.01) == "inconclusive"
                and decide(r, 10000) == "B" and peeked(r, 10000, 0.01) is None,
                days=16, daily=1450, rate_a=0.10, rate_b=0.108)
    cases.append(decide_case(rows, 10000, "significant at 5 % but not at the 1 % asked for",
                             alpha=0.01))
    # The team kept the test running after the planned size: later days don't count.
    rows = find(rng, lambda r: decide(r, planned) == "inconclusive"
                and _verdict(*_totals(r), 0.05) == "B" and peeked(r, planned) is None,
                days=20, daily=1000, rate_a=0.10, rate_b=0.106)
    cases.append(decide_case(rows, planned, "significant only after the planned size"))
    rows = find(rng, lambda r: decide(r, planned) == "invalid", days=18, daily=1000,
                rate_a=0.10, rate_b=0.12, share_b=0.47)
    cases.append(decide_case(rows, planned, "sample ratio mismatch"))
    rows = experiment(rng, days=6, daily=1000, rate_a=0.10, rate_b=0.13)
    cases.append(decide_case(rows, planned, "stopped before the planned size"))
    shuffled = find(rng, peeking_trap("inconclusive"), days=14, daily=1000, rate_a=0.10,
                    rate_b=0.10)
    order = rng.permutation(len(shuffled))
    cases.append(decide_case([shuffled[i] for i in order], planned,
                             "days not in order, a significant early look"))
    # One arm reaches the planned size a day before the other: analysing on that day (when
    # either arm is there) gives another answer than the planned analysis.
    def late_arm(rows: list[list[int]]) -> bool:
        early = _first_day(rows, planned, both=False)
        both = _first_day(rows, planned)
        return (early is not None and both is not None and early != both
                and decide(rows, planned) != "invalid"
                and _verdict(*_totals([r for r in rows if r[0] <= early]), 0.05)
                != decide(rows, planned))

    rows = find(rng, late_arm, days=16, daily=1000, rate_a=0.10, rate_b=0.108, share_b=0.49)
    cases.append(decide_case(rows, planned, "one arm reaches the planned size a day later"))
    return cases


def _totals(rows: list[list[int]]) -> tuple[int, int, int, int]:
    return (sum(r[1] for r in rows), sum(r[2] for r in rows), sum(r[3] for r in rows),
            sum(r[4] for r in rows))


def _first_day(rows: list[list[int]], planned: int, both: bool = True) -> int | None:
    va = vb = 0
    for day, day_va, _ca, day_vb, _cb in sorted(rows):
        va, vb = va + day_va, vb + day_vb
        if (va >= planned and vb >= planned) if both else (va >= planned or vb >= planned):
            return day
    return None


def hidden_cases(rng: np.random.Generator) -> list[Case]:
    cases = [
        ci_case([200, 2000, 240, 2000], "ten against twelve percent"),
        ci_case([1580, 15000, 1490, 15000], "B worse"),
        ci_case([45, 500, 45, 500], "no difference"),
        ci_case([320, 4000, 368, 3900], "unequal groups"),
        ci_case([30, 1200, 52, 1250], "rare conversions", confidence=0.99),
        ci_case([5100, 10000, 5230, 10000], "half of visitors convert", confidence=0.9),
        ci_case([0, 800, 7, 800], "no conversion at all in A"),
        ci_case([812, 9400, 901, 9600], "a 80 % interval", confidence=0.8),
        p_case([200, 2000, 240, 2000], "ten against twelve percent"),
        p_case([1580, 15000, 1490, 15000], "B worse"),
        p_case([45, 500, 45, 500], "no difference"),
        p_case([320, 4000, 368, 3900], "unequal groups"),
        p_case([30, 1200, 52, 1250], "rare conversions"),
        p_case([2400, 20000, 2710, 20000], "a very small p-value"),
        p_case([0, 300, 0, 300], "nobody converted"),
        p_case([812, 9400, 901, 9600], "close to the threshold"),
        size_case(0.10, 0.01, "one point on ten percent"),
        size_case(0.10, 0.02, "two points on ten percent"),
        size_case(0.05, 0.005, "half a point on five percent"),
        size_case(0.30, -0.03, "a decrease"),
        size_case(0.10, 0.01, "90 % power", power=0.9),
        size_case(0.10, 0.01, "alpha 1 %", alpha=0.01),
        size_case(0.02, 0.004, "rare conversions, 1 % level, 90 % power", alpha=0.01, power=0.9),
        size_case(0.50, 0.05, "a coin flip"),
        srm_case(50000, 50000, "a perfect split"),
        srm_case(50210, 49790, "a normal wobble"),
        srm_case(10000, 9600, "a mismatch"),
        srm_case(30060, 9940, "a 75/25 split as planned", share=0.75),
        srm_case(18400, 1600, "a 90/10 split gone wrong", share=0.9),
    ]
    return cases + decision_cases(rng)


def public_cases(rng: np.random.Generator) -> list[Case]:
    rows = find(rng, lambda r: decide(r, 7000) == "B" and peeked(r, 7000) is None,
                days=10, daily=1500, rate_a=0.10, rate_b=0.12)
    return [
        ci_case([100, 1000, 130, 1000], "ten against thirteen percent"),
        p_case([100, 1000, 130, 1000], "ten against thirteen percent"),
        size_case(0.20, 0.02, "two points on twenty percent"),
        srm_case(5000, 5200, "a small mismatch"),
        decide_case(rows, 7000, "B wins"),
    ]


def cases_bytes(cases: list[Case]) -> bytes:
    return "".join(json.dumps(c, allow_nan=False) + "\n" for c in cases).encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The generated files by path relative to the bundle (``public/...``, ``hidden/...``)."""
    rng = np.random.default_rng(seed)
    hidden = hidden_cases(rng)
    public = public_cases(rng)
    return {"public/cases.jsonl": cases_bytes(public), "hidden/cases.jsonl": cases_bytes(hidden)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--public", type=Path, required=True)
    parser.add_argument("--hidden", type=Path, required=True)
    args = parser.parse_args(argv)
    targets = {"public": args.public, "hidden": args.hidden}
    for relative, data in files(args.seed).items():
        area, name = relative.split("/", 1)
        path = targets[area] / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
