"""Implement the five functions below (see statement.md); diff_ci is done as an example.

You may use numpy, pandas, scipy and statsmodels. Return plain Python values (float, int,
str, dict) or numpy scalars.
"""

import math
from statistics import NormalDist

import pandas as pd


def diff_ci(conv_a, n_a, conv_b, n_b, confidence=0.95):
    """Difference of conversion rates (B - A) with its Wald interval (unpooled variance)."""
    p_a, p_b = conv_a / n_a, conv_b / n_b
    effect = p_b - p_a
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    half = z * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    return {"effect": effect, "low": effect - half, "high": effect + half}


def p_value(conv_a, n_a, conv_b, n_b):
    """Two-sided p-value of the pooled two-proportion z-test."""
    raise NotImplementedError


def sample_size(baseline, mde, alpha=0.05, power=0.8):
    """Visitors per group to detect an absolute change ``mde`` from ``baseline``."""
    raise NotImplementedError


def srm_p_value(n_a, n_b, expected_share_a=0.5):
    """p-value of the chi-square test of the observed split against the planned share."""
    raise NotImplementedError


def decide(daily: pd.DataFrame, planned_per_group, alpha=0.05):
    """"A", "B", "inconclusive", "invalid" or "not enough data" (see the statement)."""
    raise NotImplementedError
