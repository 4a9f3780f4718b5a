"""Flawed on purpose: the reference, but the decision stops at the first significant look.

The team watched the dashboard daily; this analysis calls the test as soon as a day's
cumulative counts are significant, before the planned size. With daily looks, a test with
no real difference crosses p < 0.05 on some day far more often than 5 % of the time.
"""

import math

import pandas as pd
from scipy import stats

SRM_THRESHOLD = 0.001


def diff_ci(conv_a, n_a, conv_b, n_b, confidence=0.95):
    """Difference of conversion rates (B - A) with its Wald interval (unpooled variance)."""
    p_a, p_b = conv_a / n_a, conv_b / n_b
    effect = p_b - p_a
    z = stats.norm.ppf(0.5 + confidence / 2)
    half = z * math.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    return {"effect": effect, "low": effect - half, "high": effect + half}


def p_value(conv_a, n_a, conv_b, n_b):
    """Two-sided z-test of equal rates, with the pooled rate under the null hypothesis."""
    pooled = (conv_a + conv_b) / (n_a + n_b)
    variance = pooled * (1 - pooled) * (1 / n_a + 1 / n_b)
    if variance == 0:
        return 1.0  # nobody (or everybody) converted: no evidence of a difference
    z = (conv_b / n_b - conv_a / n_a) / math.sqrt(variance)
    return float(2 * stats.norm.sf(abs(z)))


def sample_size(baseline, mde, alpha=0.05, power=0.8):
    """Visitors per group to detect an absolute change ``mde`` of ``baseline``, two-sided."""
    p1, p2 = baseline, baseline + mde
    mean = (p1 + p2) / 2
    z_alpha = stats.norm.ppf(1 - alpha / 2)
    z_beta = stats.norm.ppf(power)
    root = (z_alpha * math.sqrt(2 * mean * (1 - mean))
            + z_beta * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2)))
    return math.ceil(root ** 2 / mde ** 2)


def srm_p_value(n_a, n_b, expected_share_a=0.5):
    """Chi-square goodness-of-fit of the observed split against the planned one."""
    total = n_a + n_b
    expected = [total * expected_share_a, total * (1 - expected_share_a)]
    return float(stats.chisquare([n_a, n_b], expected).pvalue)


def verdict(n_a, c_a, n_b, c_b, alpha):
    """The call on one set of totals: a broken split first, then the test."""
    if srm_p_value(n_a, n_b) < SRM_THRESHOLD:
        return "invalid"
    if p_value(c_a, n_a, c_b, n_b) >= alpha:
        return "inconclusive"
    return "B" if c_b / n_b > c_a / n_a else "A"


def cumulative(daily: pd.DataFrame):
    """Running totals in day order (the rows may come in any order)."""
    columns = ["visitors_a", "conversions_a", "visitors_b", "conversions_b"]
    totals = daily.sort_values("day")[columns].cumsum()
    return [tuple(int(v) for v in row) for row in totals.itertuples(index=False)]


def decide(daily: pd.DataFrame, planned_per_group, alpha=0.05):
    """Look every day; call the test at the first significant look or at the planned size."""
    for n_a, c_a, n_b, c_b in cumulative(daily):
        call = verdict(n_a, c_a, n_b, c_b, alpha)
        if call in ("A", "B"):
            return call
        if n_a >= planned_per_group and n_b >= planned_per_group:
            return call
    return "not enough data"
