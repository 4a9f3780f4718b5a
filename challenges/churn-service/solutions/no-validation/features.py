"""The request schema and the encoding shared by the build step and the service."""

import math

CATEGORICAL = ("region", "contract", "internet_service", "tech_support", "streaming_tv",
               "paperless_billing", "payment_method")
NUMERIC = ("age", "tenure_months", "monthly_charges", "total_charges", "avg_monthly_gb",
           "support_calls_90d", "late_payments_12m")
FIELDS = CATEGORICAL + NUMERIC


def problems(record):
    """What is wrong with a request body, as a list of messages (empty when it is valid)."""
    if not isinstance(record, dict):
        return ["the body must be a JSON object"]
    found = [f"missing field {name!r}" for name in FIELDS if name not in record]
    for name in NUMERIC:
        value = record.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not math.isfinite(value)):
            found.append(f"{name!r} must be a number or null")
    for name in CATEGORICAL:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            found.append(f"{name!r} must be a string or null")
    return found


def encode(record, categories):
    """One customer as a numeric vector (NaN for a missing number)."""
    row = []
    for name in NUMERIC:
        value = record.get(name)
        row.append(math.nan if value is None else float(value))
    tenure, charges = row[1], row[2]
    usage = row[4]
    row.append(math.log1p(tenure) if not math.isnan(tenure) else math.nan)
    row.append(math.log1p(charges) - 0.35 * math.log1p(usage)
               if not (math.isnan(charges) or math.isnan(usage)) else math.nan)
    row.append(1.0 if not math.isnan(tenure) and tenure < 6 else 0.0)
    for name in CATEGORICAL:
        value = record.get(name)
        row.extend(1.0 if value == option else 0.0 for option in categories[name])
    return row
