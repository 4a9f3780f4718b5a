"""Implement the functions below (see statement.md); psi_categorical is done as an example.

Python with numpy, pandas and scipy. Return plain Python values, numpy scalars or, for
monitor, a pandas DataFrame.
"""

import math

import pandas as pd

EPSILON = 1e-4


def psi(expected, actual, bins=10):
    """PSI of a numeric feature over the reference's quantile bins plus a missing bin."""
    raise NotImplementedError


def psi_categorical(expected, actual):
    """PSI over the categories of both samples; missing values are a category of their own."""
    def key(value):
        missing = value is None or (isinstance(value, float) and math.isnan(value))
        return "(missing)" if missing else value

    e = [key(v) for v in expected]
    a = [key(v) for v in actual]
    total = 0.0
    for category in set(e) | set(a):
        e_share = max(e.count(category) / len(e), EPSILON)
        a_share = max(a.count(category) / len(a), EPSILON)
        total += (a_share - e_share) * math.log(a_share / e_share)
    return total


def ks_statistic(expected, actual):
    """The two-sample Kolmogorov-Smirnov statistic; missing values left out."""
    raise NotImplementedError


def monitor(reference: pd.DataFrame, batches: list[pd.DataFrame], psi_warn=0.1, psi_alert=0.25,
            ks_warn=0.1) -> pd.DataFrame:
    """A DataFrame: batch, feature, psi, ks_statistic, status (see the statement)."""
    raise NotImplementedError
