"""Generate the churn-eda-notebook bundle's data, answers and notebooks, deterministically.

    python scripts/make_notebook_challenge.py            # rewrite the generated files
    python scripts/make_notebook_challenge.py --check    # exit 1 if a committed file differs

The customer table comes from churn-prediction's seeded generator with a seed of its own
(so the two challenges never share rows). The expected answers are computed here with the
standard library, independently of the reference notebook that must reproduce them. The
starter and the solution notebooks are built with nbformat; cell ids are fixed so a
rebuild gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "challenges" / "churn-eda-notebook"
SEED = 20241105
ENTRY = "analysis.ipynb"
TEST_POINTS = 5


def _churn_generator() -> ModuleType:
    path = ROOT / "challenges" / "churn-prediction" / "generate.py"
    spec = importlib.util.spec_from_file_location("heldout_generate_churn_eda", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def _rate(rows: list[dict[str, str]]) -> float:
    return sum(int(r["churn"]) for r in rows) / len(rows)


def expected_answers(train: list[dict[str, str]]) -> dict[str, Any]:
    """The three answers and the exported value, from the public training table."""
    month = [r for r in train if r["contract"] == "month-to-month"]
    churned = [float(r["tenure_months"]) for r in train if r["churn"] == "1"]
    by_payment: dict[str, list[dict[str, str]]] = defaultdict(list)
    by_contract: dict[str, list[float]] = defaultdict(list)
    for r in train:
        if r["payment_method"]:
            by_payment[r["payment_method"]].append(r)
        by_contract[r["contract"]].append(float(r["monthly_charges"]))
    riskiest = max(sorted(by_payment), key=lambda name: _rate(by_payment[name]))
    return {
        "answers": {
            "month_to_month_churn_rate": {
                "expected": _rate(month), "tolerance": 0.001, "points": 10,
                "question": "churn rate among month-to-month customers"},
            "median_tenure_churned": {
                "expected": statistics.median(churned), "tolerance": 0.01, "points": 10,
                "question": "median tenure (months) of the customers who churned"},
            "riskiest_payment_method": {
                "expected": riskiest, "points": 10,
                "question": "payment method with the highest churn rate (known methods only)"},
        },
        "exports": {
            "mean_charges_by_contract": {
                "expected": {name: statistics.fmean(values)
                             for name, values in sorted(by_contract.items())},
                "tolerance": 0.01, "points": 5,
                "question": "mean monthly charges per contract type"},
        },
    }


def _meta(grade_id: str, *, locked: bool = False, solution: bool = False,
          points: int = 0) -> dict[str, Any]:
    meta: dict[str, Any] = {"grade": points > 0, "grade_id": grade_id, "locked": locked,
                            "schema_version": 3, "solution": solution}
    if points:
        meta["points"] = points
    return {"nbgrader": meta}


def _markdown(grade_id: str, text: str) -> Any:
    cell = nbformat.v4.new_markdown_cell(text, metadata=_meta(grade_id, locked=True))
    cell.id = grade_id
    return cell


def _code(cell_id: str, source: str, **nbgrader: Any) -> Any:
    metadata = _meta(cell_id, **nbgrader) if nbgrader else {}
    cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    cell.id = cell_id
    return cell


INTRO = """\
# Why do customers leave?

Explore the customer table in `/data/train.csv` (one row per customer, `churn` = 1 if they
left), answer three questions about it, then train a model and predict churn for the
customers of `/data/test.csv`. The notebook is run top to bottom on a fresh kernel:
make sure it works that way (*Restart & Run All*).

Cells marked as tests are locked: they are restored as written before grading."""

LOAD = """\
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(os.environ.get("HELDOUT_DATA", "/data"))
OUTPUT = Path(os.environ.get("HELDOUT_OUTPUT", "/output"))
customers = pd.read_csv(DATA / "train.csv")
test = pd.read_csv(DATA / "test.csv")
customers.head()"""

EXPLORE = """\
## 1. Explore

Answer in the variables below (use `customers`, the whole training table):

1. `month_to_month_churn_rate`: the churn rate (a fraction) of month-to-month customers.
2. `median_tenure_churned`: the median `tenure_months` of the customers who churned.
3. `riskiest_payment_method`: the payment method with the highest churn rate (ignore
   customers whose method is missing).

Also leave `mean_charges_by_contract`: a dict from contract type to its customers' mean
`monthly_charges`."""

STARTER_ANSWERS = """\
month_to_month_churn_rate = None
median_tenure_churned = None
riskiest_payment_method = None
mean_charges_by_contract = None"""

TEST_ANSWERS = """\
# Test: the answers have the right types (their values are checked when grading).
assert isinstance(month_to_month_churn_rate, float) and 0 <= month_to_month_churn_rate <= 1
assert isinstance(median_tenure_churned, (int, float))
assert riskiest_payment_method in set(customers["payment_method"].dropna())
assert set(mean_charges_by_contract) == set(customers["contract"])"""

SAVE = """\
answers = {
    "month_to_month_churn_rate": month_to_month_churn_rate,
    "median_tenure_churned": median_tenure_churned,
    "riskiest_payment_method": riskiest_payment_method,
}
(OUTPUT / "answers.json").write_text(json.dumps(answers, default=float))"""

TEST_SAVED = """\
# Test: the answers file is where the grader reads it.
saved = json.loads((OUTPUT / "answers.json").read_text())
assert set(saved) == {"month_to_month_churn_rate", "median_tenure_churned",
                      "riskiest_payment_method"}"""

MODEL_MD = """\
## 2. Model

Train a classifier on `customers` and write `OUTPUT / "predictions.csv"` with the columns
`customer_id` and `churn_probability`, one row per customer of `test`. It is scored by
ROC-AUC on the test customers' real outcomes."""

STARTER_MODEL = """\
# Your model: fit on `customers`, predict `test`, write OUTPUT / "predictions.csv".
"""

TEST_PREDICTIONS = """\
# Test: one probability per test customer.
written = pd.read_csv(OUTPUT / "predictions.csv")
assert list(written.columns[:2]) == ["customer_id", "churn_probability"]
assert len(written) == len(test) and set(written["customer_id"]) == set(test["customer_id"])
assert written["churn_probability"].between(0, 1).all()"""

REFERENCE_ANSWERS = """\
month_to_month_churn_rate = float(customers.loc[customers["contract"] == "month-to-month",
                                                "churn"].mean())
median_tenure_churned = float(customers.loc[customers["churn"] == 1, "tenure_months"].median())
riskiest_payment_method = customers.groupby("payment_method")["churn"].mean().idxmax()
mean_charges_by_contract = customers.groupby("contract")["monthly_charges"].mean().to_dict()
customers.groupby("contract")["churn"].mean()"""

# Plausible but wrong: the first two answers are computed on every customer, not on the
# subset the question names.
WRONG_SUBSET_ANSWERS = """\
month_to_month_churn_rate = float(customers["churn"].mean())
median_tenure_churned = float(customers["tenure_months"].median())
riskiest_payment_method = customers.groupby("payment_method")["churn"].mean().idxmax()
mean_charges_by_contract = customers.groupby("contract")["monthly_charges"].mean().to_dict()"""

FEATURES = """\
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

CATEGORICAL = ["region", "contract", "internet_service", "tech_support", "streaming_tv",
               "paperless_billing", "payment_method"]


def features(frame):
    out = frame.drop(columns=["customer_id", "churn"], errors="ignore").copy()
    out["log_tenure"] = np.log1p(out["tenure_months"])
    out["new_customer"] = (out["tenure_months"] < 6).astype(float)
    out["value_gap"] = np.log1p(out["monthly_charges"]) - 0.35 * np.log1p(out["avg_monthly_gb"])
    out["calls_no_support"] = out["support_calls_90d"].clip(upper=5) * (out["tech_support"] != "yes")
    return out"""

FIT = """\
numeric = [c for c in features(customers).columns if c not in CATEGORICAL]
model = make_pipeline(
    ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), CATEGORICAL),
    ]),
    LogisticRegression(C=0.5, max_iter=2000),
)
model.fit(features(customers), customers["churn"])
proba = model.predict_proba(features(test))[:, 1]
pd.DataFrame({"customer_id": test["customer_id"], "churn_probability": proba}).to_csv(
    OUTPUT / "predictions.csv", index=False)"""


def notebook(answers: str, model: list[Any]) -> Any:
    cells = [
        _markdown("intro", INTRO),
        _code("load", LOAD),
        _markdown("explore", EXPLORE),
        _code("answers", answers, solution=True),
        _code("test-answers", TEST_ANSWERS, locked=True, points=TEST_POINTS),
        _code("save-answers", SAVE),
        _code("test-saved", TEST_SAVED, locked=True, points=TEST_POINTS),
        _markdown("model-intro", MODEL_MD),
        *model,
        _code("test-predictions", TEST_PREDICTIONS, locked=True, points=TEST_POINTS),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                  "language": "python"},
                   "language_info": {"name": "python"}}
    return nb


def _with_stale_outputs(nb: Any, counts: dict[str, int], note: str) -> Any:
    """Outputs as a notebook saved after out-of-order runs shows them (the grader drops them)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.id in counts:
            cell.execution_count = counts[cell.id]
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=note)]
    return nb


def notebooks() -> dict[str, Any]:
    starter = notebook(STARTER_ANSWERS, [_code("model", STARTER_MODEL, solution=True)])
    reference = notebook(REFERENCE_ANSWERS, [_code("model", FEATURES + "\n\n" + FIT,
                                                   solution=True)])
    wrong = notebook(WRONG_SUBSET_ANSWERS, [_code("model", FEATURES + "\n\n" + FIT,
                                                  solution=True)])
    # The fit cell was written above the cell defining `features`, and only ever ran after
    # it: the saved outputs look fine, a fresh kernel raises NameError.
    out_of_order = notebook(REFERENCE_ANSWERS, [
        _code("model", FIT, solution=True), _code("model-features", FEATURES)])
    _with_stale_outputs(out_of_order, {"load": 1, "answers": 2, "model-features": 3,
                                       "model": 4}, "ok\n")
    return {"starter": starter, "reference": reference, "wrong-subset": wrong,
            "out-of-order": out_of_order}


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def files() -> dict[Path, bytes]:
    churn = _churn_generator()
    produced: dict[str, bytes] = churn.files(SEED)
    expected = expected_answers(_rows(produced["public/train.csv"]))
    out = {BUNDLE / relative: data for relative, data in produced.items()}
    out[BUNDLE / "hidden" / "answers.json"] = _json(expected["answers"])
    out[BUNDLE / "hidden" / "exports.json"] = _json(expected["exports"])
    books = notebooks()
    out[BUNDLE / "starter" / ENTRY] = nbformat.writes(books["starter"]).encode() + b"\n"
    for case, nb in books.items():
        nbformat.validate(nb)
        out[BUNDLE / "solutions" / case / ENTRY] = nbformat.writes(nb).encode() + b"\n"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for path, data in files().items():
        shown = path.relative_to(ROOT)
        if args.check:
            if not path.is_file() or path.read_bytes() != data:
                stale.append(path)
                print(f"differs: {shown}")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        print(f"wrote {shown} ({len(data)} bytes)")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
