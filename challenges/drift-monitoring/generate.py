"""Seeded generator of drift-monitoring's test cases: feature samples, batches, verdicts.

Run on the grading host or by hand, never in the sandbox:

    python generate.py --seed N --public DIR --hidden DIR

The default seed reproduces the committed public/ and hidden/ files byte for byte (with
the same NumPy version). Expected values follow the rules of the statement, written out
here with NumPy and the standard library, independently of the reference solution (which
uses pandas and scipy): quantile bins of the reference sample, a bin of their own for
missing values, a floor for empty bins, the two-sample Kolmogorov-Smirnov statistic with
ties.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

SEED = 20250414
EPSILON = 1e-4
BINS = 10
TOLERANCE = {"abs": 1e-9, "rel": 1e-6}
NUMERIC = ["age", "income", "session_minutes", "items_in_cart"]
CATEGORICAL = ["device", "country"]

Case = dict[str, Any]
Sample = list[Any]


# --- the rules of the statement --------------------------------------------------------

def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _psi(expected: list[float], actual: list[float]) -> float:
    return float(sum((a - e) * math.log(a / e) for e, a in zip(expected, actual, strict=True)))


def _shares(counts: list[int], total: int) -> list[float]:
    return [max(c / total, EPSILON) for c in counts]


def psi(expected: Sample, actual: Sample, bins: int = BINS) -> float:
    ref = np.array([v for v in expected if not _is_missing(v)], dtype=float)
    edges = np.unique(np.quantile(ref, [i / bins for i in range(1, bins)]))

    def counts(sample: Sample) -> list[int]:
        values = np.array([v for v in sample if not _is_missing(v)], dtype=float)
        slots = np.searchsorted(edges, values, side="left")  # (edge_i-1, edge_i]
        binned = np.bincount(slots, minlength=len(edges) + 1).tolist()
        return [*binned, sum(_is_missing(v) for v in sample)]

    return _psi(_shares(counts(expected), len(expected)), _shares(counts(actual), len(actual)))


def psi_categorical(expected: Sample, actual: Sample) -> float:
    def key(value: Any) -> Any:
        return "(missing)" if _is_missing(value) else value

    categories = sorted({key(v) for v in expected} | {key(v) for v in actual}, key=str)

    def counts(sample: Sample) -> list[int]:
        keys = [key(v) for v in sample]
        return [keys.count(c) for c in categories]

    return _psi(_shares(counts(expected), len(expected)), _shares(counts(actual), len(actual)))


def ks_statistic(expected: Sample, actual: Sample) -> float:
    """The largest gap between the two empirical CDFs, evaluated at every observed value."""
    x = np.sort(np.array([v for v in expected if not _is_missing(v)], dtype=float))
    y = np.sort(np.array([v for v in actual if not _is_missing(v)], dtype=float))
    points = np.unique(np.concatenate([x, y]))
    cdf_x = np.searchsorted(x, points, side="right") / len(x)
    cdf_y = np.searchsorted(y, points, side="right") / len(y)
    return float(np.max(np.abs(cdf_x - cdf_y)))


def status(psi_value: float, ks_value: float | None, psi_warn: float, psi_alert: float,
           ks_warn: float) -> str:
    if psi_value >= psi_alert:
        return "alert"
    if psi_value >= psi_warn or (ks_value is not None and ks_value >= ks_warn):
        return "warn"
    return "ok"


def monitor(reference: dict[str, Sample], batches: list[dict[str, Sample]],
            psi_warn: float = 0.1, psi_alert: float = 0.25,
            ks_warn: float = 0.1) -> list[dict[str, Any]]:
    rows = []
    for number, batch in enumerate(batches, start=1):
        for feature in NUMERIC + CATEGORICAL:
            if feature in NUMERIC:
                value = psi(reference[feature], batch[feature])
                ks: float | None = ks_statistic(reference[feature], batch[feature])
            else:
                value = psi_categorical(reference[feature], batch[feature])
                ks = None
            rows.append({"batch": number, "feature": feature, "psi": value,
                         "ks_statistic": float("nan") if ks is None else ks,
                         "status": status(value, ks, psi_warn, psi_alert, ks_warn)})
    return rows


# --- samples ---------------------------------------------------------------------------

def sample(rng: np.random.Generator, n: int, shift: dict[str, float] | None = None
           ) -> dict[str, Sample]:
    """Customers of a shop's model: the reference month, or a batch with some drift.

    ``shift`` keys: age (years added), income (a factor), session (a factor),
    items (extra mean items), missing_income (share of incomes lost upstream), mobile
    (share of devices switched to mobile), new_country (share from a new market).
    """
    s = shift or {}
    age = np.clip(np.round(rng.normal(38 + s.get("age", 0), 11, n)), 18, 90)
    income = np.round(rng.lognormal(10.6, 0.5, n) * s.get("income", 1.0), -2)
    session = np.round(rng.gamma(2.0, 6.0, n) * s.get("session", 1.0), 1)
    items = rng.poisson(1.2 + s.get("items", 0.0), n)
    income_cells: list[Any] = [float(v) for v in income]
    missing = rng.random(n) < 0.02 + s.get("missing_income", 0.0)
    income_cells = [None if m else v for v, m in zip(income_cells, missing, strict=True)]
    device = rng.choice(["desktop", "mobile", "tablet"], size=n, p=[0.55, 0.38, 0.07]).tolist()
    switch = rng.random(n) < s.get("mobile", 0.0)
    device = ["mobile" if w else d for d, w in zip(device, switch, strict=True)]
    country = rng.choice(["DE", "FR", "NL", "BE"], size=n, p=[0.5, 0.25, 0.15, 0.1]).tolist()
    new = rng.random(n) < s.get("new_country", 0.0)
    country = ["PL" if w else c for c, w in zip(country, new, strict=True)]
    return {"age": [float(v) for v in age], "income": income_cells,
            "session_minutes": [float(v) for v in session],
            "items_in_cart": [int(v) for v in items], "device": device, "country": country}


def csv_bytes(table: dict[str, Sample]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table)
    for row in zip(*table.values(), strict=True):
        writer.writerow(["" if _is_missing(v) else (f"{v:g}" if isinstance(v, float) else v)
                         for v in row])
    return out.getvalue().encode("utf-8")


def _read_back(data: bytes) -> dict[str, Sample]:
    """A sample as the harness's pandas.read_csv will see it (numbers, NaN, strings)."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    out: dict[str, Sample] = {}
    for column in rows[0]:
        cells = [r[column] for r in rows]
        if column in NUMERIC:
            out[column] = [float(c) if c != "" else None for c in cells]
        else:
            out[column] = [c if c != "" else None for c in cells]
    return out


# --- the cases -------------------------------------------------------------------------

def case(function: str, args: list[Any], expected: Any, group: str, name: str, *,
         kwargs: dict[str, Any] | None = None, weight: float | None = None,
         unordered: bool = False) -> Case:
    out: Case = {"function": function, "args": args}
    if kwargs:
        out["kwargs"] = kwargs
    out["expected"] = _json(expected)
    out["tolerance"] = TOLERANCE
    out["group"] = group
    if weight is not None:
        out["weight"] = weight
    if unordered:
        out["unordered"] = True
    out["name"] = name
    return out


def _json(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return {"$float": "nan"}
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def _cells(values: Sample) -> list[Any]:
    return [{"$float": "nan"} if _is_missing(v) else v for v in values]


def frame_value(rows: list[dict[str, Any]]) -> dict[str, Any]:
    columns = ["batch", "feature", "psi", "ks_statistic", "status"]
    return {"$dataframe": {"columns": columns,
                           "dtypes": ["int64", "object", "float64", "float64", "object"],
                           "data": [[_json(r[c]) for r in rows] for c in columns]}}


def small_cases(rng: np.random.Generator) -> list[Case]:
    out: list[Case] = []
    # PSI on numbers: no shift, shifts, ties that merge quantile edges, missing values.
    base = rng.normal(50, 10, 1000).round(1).tolist()
    same = rng.normal(50, 10, 800).round(1).tolist()
    moved = rng.normal(55, 10, 300).round(1).tolist()
    wider = rng.normal(50, 18, 300).round(1).tolist()
    counts = rng.poisson(1.2, 500).astype(float).tolist()
    more = rng.poisson(2.0, 500).astype(float).tolist()
    holes = [None if rng.random() < 0.2 else v for v in rng.normal(50, 10, 300).round(1)]
    beyond = rng.normal(90, 5, 200).round(1).tolist()
    for expected, actual, name, kwargs in [
        (base, same, "another sample of the same distribution", None),
        (base, moved, "the mean moved by half a standard deviation", None),
        (base, wider, "the spread grew", None),
        (counts, more, "small counts: tied quantiles merge bins", None),
        (base, holes, "a fifth of the values missing", None),
        (base, beyond, "every value beyond the reference's largest", None),
        (base, moved, "five bins", {"bins": 5}),
        ([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], [2.0, 2.0, 3.0, 9.0, 10.0, 10.0],
         "values on the edges", {"bins": 4}),
    ]:
        value = psi(expected, actual, **(kwargs or {}))
        out.append(case("psi", [_cells(expected), _cells(actual)], value, "psi", name,
                        kwargs=kwargs))
    # PSI on categories: a new category, a vanished one, missing values.
    web = rng.choice(["desktop", "mobile", "tablet"], 500, p=[0.55, 0.38, 0.07]).tolist()
    web2 = rng.choice(["desktop", "mobile", "tablet"], 400, p=[0.5, 0.43, 0.07]).tolist()
    mob = rng.choice(["desktop", "mobile", "tablet"], 400, p=[0.3, 0.68, 0.02]).tolist()
    new_cat = rng.choice(["desktop", "mobile", "tablet", "tv"], 400,
                         p=[0.5, 0.35, 0.05, 0.1]).tolist()
    lost = rng.choice(["desktop", "mobile"], 400, p=[0.6, 0.4]).tolist()
    empty = [None if rng.random() < 0.15 else v for v in web2]
    for actual, name in [(web2, "a small shift"), (mob, "mobile took over"),
                         (new_cat, "a category never seen before"),
                         (lost, "a category vanished"), (empty, "missing values")]:
        out.append(case("psi_categorical", [web, actual], psi_categorical(web, actual),
                        "psi categorical", name))
    # KS: continuous, ties, missing values, tiny samples.
    for expected, actual, name in [
        (base, same, "another sample of the same distribution"), (base, moved, "the mean moved"),
        (counts, more, "counts with many ties"),
        (counts, counts[:250], "half of the same sample: ties everywhere"),
        ([1.0, 2.0, 2.0, 3.0], [2.0, 2.0, 2.0, 4.0, 5.0], "tiny samples with ties"),
        (base, holes, "missing values are left out"),
        (base, beyond, "no overlap at all"),
        (rng.integers(0, 5, 300).astype(float).tolist(),
         rng.integers(1, 6, 300).astype(float).tolist(), "five values, shifted by one"),
    ]:
        out.append(case("ks_statistic", [_cells(expected), _cells(actual)],
                        ks_statistic(expected, actual), "ks", name))
    return out


def monitor_cases(rng: np.random.Generator, area: Path | None,
                  files: dict[str, bytes]) -> list[Case]:
    reference_bytes = csv_bytes(sample(rng, 2000))
    files["reference.csv"] = reference_bytes
    reference = _read_back(reference_bytes)
    scenarios: list[tuple[str, list[dict[str, float]], dict[str, float] | None]] = [
        ("a quiet month", [{}, {}, {}], None),
        ("older customers, then richer ones", [{"age": 3}, {"age": 6}, {"income": 1.4}], None),
        ("incomes lost upstream", [{}, {"missing_income": 0.15}, {"missing_income": 0.4}], None),
        ("a mobile launch and a new market", [{"mobile": 0.1}, {"mobile": 0.3},
                                              {"new_country": 0.2}], None),
        ("bigger carts and longer sessions", [{"items": 0.4}, {"items": 1.0, "session": 1.3},
                                              {"session": 1.6}], None),
        ("strict thresholds", [{"age": 2, "items": 0.3}, {"mobile": 0.15}, {}],
         {"psi_warn": 0.05, "psi_alert": 0.1, "ks_warn": 0.05}),
    ]
    out = []
    for i, (name, shifts, kwargs) in enumerate(scenarios, start=1):
        refs = [{"$file": "reference.csv"}]
        batch_refs = []
        batches = []
        for j, shift in enumerate(shifts, start=1):
            data = csv_bytes(sample(rng, int(rng.integers(600, 1200)), shift))
            file_name = f"scenario{i}_batch{j}.csv"
            files[file_name] = data
            batch_refs.append({"$file": file_name})
            batches.append(_read_back(data))
        rows = monitor(reference, batches, **(kwargs or {}))
        out.append(case("monitor", [refs[0], batch_refs], frame_value(rows), "monitor", name,
                        kwargs=kwargs, weight=3, unordered=True))
    return out


def cases_bytes(items: list[Case]) -> bytes:
    return "".join(json.dumps(c, allow_nan=False) + "\n" for c in items).encode("utf-8")


def files(seed: int) -> dict[str, bytes]:
    """The generated files by path relative to the bundle (``public/...``, ``hidden/...``)."""
    rng = np.random.default_rng(seed)
    out: dict[str, bytes] = {}
    hidden_files: dict[str, bytes] = {}
    hidden = small_cases(rng) + monitor_cases(rng, None, hidden_files)
    out["hidden/cases.jsonl"] = cases_bytes(hidden)
    out |= {f"hidden/{name}": data for name, data in hidden_files.items()}

    public_files: dict[str, bytes] = {}
    reference_bytes = csv_bytes(sample(rng, 800))
    public_files["reference.csv"] = reference_bytes
    batch_bytes = csv_bytes(sample(rng, 500, {"age": 4, "missing_income": 0.1}))
    public_files["batch1.csv"] = batch_bytes
    reference, batch = _read_back(reference_bytes), _read_back(batch_bytes)
    public = [
        case("psi", [_cells(reference["age"]), _cells(batch["age"])],
             psi(reference["age"], batch["age"]), "psi", "ages, four years older"),
        case("psi_categorical", [reference["device"], batch["device"]],
             psi_categorical(reference["device"], batch["device"]), "psi categorical",
             "devices"),
        case("ks_statistic", [_cells(reference["age"]), _cells(batch["age"])],
             ks_statistic(reference["age"], batch["age"]), "ks", "ages"),
        case("monitor", [{"$file": "reference.csv"}, [{"$file": "batch1.csv"}]],
             frame_value(monitor(reference, [batch])), "monitor", "one batch", unordered=True),
    ]
    out["public/cases.jsonl"] = cases_bytes(public)
    out |= {f"public/{name}": data for name, data in public_files.items()}
    return out


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
