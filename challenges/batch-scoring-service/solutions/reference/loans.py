"""The request contract and the model's features, shared by the build step and the service."""

import math

import numpy as np
import pandas as pd

NUMBERS = ["amount", "term_months", "interest_rate", "annual_income", "dti", "revol_util",
           "delinquencies_2y", "employment_years"]
TEXTS = ["grade", "purpose", "home_ownership"]
MAX_LOANS = 500


def problems(payload):
    """What is wrong with a request body (empty when it is a valid portfolio)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("loans"), list):
        return ["the body must be a JSON object with a list under \"loans\""]
    loans = payload["loans"]
    if not 1 <= len(loans) <= MAX_LOANS:
        return [f"a portfolio holds 1 to {MAX_LOANS} loans, got {len(loans)}"]
    found = []
    for i, loan in enumerate(loans):
        if not isinstance(loan, dict):
            found.append(f"loans[{i}] is not an object")
            continue
        for name in NUMBERS:
            value = loan.get(name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value):
                found.append(f"loans[{i}].{name} must be a number")
        for name in TEXTS:
            if not isinstance(loan.get(name), str):
                found.append(f"loans[{i}].{name} must be a string")
        if len(found) >= 10:
            break
    return found


def features(frame: pd.DataFrame) -> pd.DataFrame:
    """Log-scaled money, the loan against income, and the raw columns."""
    out = frame[NUMBERS + TEXTS].copy()
    out["log_income"] = np.log(frame["annual_income"].clip(lower=1000))
    out["amount_to_income"] = np.log(frame["amount"] / frame["annual_income"].clip(lower=1000)
                                     * 10 + 0.05)
    out["long_term"] = (frame["term_months"] == 60).astype(float)
    out["capped_delinquencies"] = frame["delinquencies_2y"].clip(upper=4)
    out["capped_employment"] = frame["employment_years"].clip(upper=10)
    return out
