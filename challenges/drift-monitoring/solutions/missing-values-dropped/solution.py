"""Flawed on purpose: missing values dropped before binning, for numbers and categories.

"Clean the data first": with the NaNs gone, a pipeline that starts losing a feature's
values upstream (incomes going missing) shows no drift at all, and every share is
computed over the values left instead of over the whole sample. Everything else is the
reference.
"""

import numpy as np
import pandas as pd
from scipy import stats

EPSILON = 1e-4


def _psi(expected_shares, actual_shares):
    e = np.maximum(np.asarray(expected_shares, dtype=float), EPSILON)
    a = np.maximum(np.asarray(actual_shares, dtype=float), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def _numeric_shares(values, edges):
    """Shares of (-inf, e1], (e1, e2], ..., (ek, inf) among the values present."""
    series = pd.Series(values, dtype=float).dropna()
    bins = pd.cut(series, [-np.inf, *edges, np.inf], right=True, labels=False)
    counts = bins.value_counts().reindex(range(len(edges) + 1), fill_value=0).to_numpy()
    return counts / len(series)


def psi(expected, actual, bins=10):
    """PSI over the reference's quantile bins (tied edges merged) plus a missing-value bin."""
    reference = pd.Series(expected, dtype=float).dropna().to_numpy()
    edges = np.unique(np.quantile(reference, np.arange(1, bins) / bins))
    return _psi(_numeric_shares(expected, edges), _numeric_shares(actual, edges))


def psi_categorical(expected, actual):
    """PSI over the categories of both samples; missing values are a category of their own."""
    e = pd.Series(expected, dtype=object).dropna()
    a = pd.Series(actual, dtype=object).dropna()
    categories = sorted(set(e) | set(a), key=str)
    e_shares = e.value_counts(normalize=True).reindex(categories, fill_value=0)
    a_shares = a.value_counts(normalize=True).reindex(categories, fill_value=0)
    return _psi(e_shares, a_shares)


def ks_statistic(expected, actual):
    """Two-sample Kolmogorov-Smirnov statistic (ties handled); missing values left out."""
    x = pd.Series(expected, dtype=float).dropna()
    y = pd.Series(actual, dtype=float).dropna()
    return float(stats.ks_2samp(x, y).statistic)


def status(psi_value, ks_value, psi_warn, psi_alert, ks_warn):
    if psi_value >= psi_alert:
        return "alert"
    if psi_value >= psi_warn or (ks_value is not None and ks_value >= ks_warn):
        return "warn"
    return "ok"


def monitor(reference, batches, psi_warn=0.1, psi_alert=0.25, ks_warn=0.1):
    """One row per batch and feature: PSI, the KS statistic (numbers only) and a status."""
    rows = []
    for number, batch in enumerate(batches, start=1):
        for feature in reference.columns:
            if pd.api.types.is_numeric_dtype(reference[feature]):
                value = psi(reference[feature], batch[feature])
                ks = ks_statistic(reference[feature], batch[feature])
            else:
                value = psi_categorical(reference[feature], batch[feature])
                ks = None
            rows.append({"batch": number, "feature": feature, "psi": value,
                         "ks_statistic": float("nan") if ks is None else ks,
                         "status": status(value, ks, psi_warn, psi_alert, ks_warn)})
    return pd.DataFrame(rows)
