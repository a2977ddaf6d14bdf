"""Tests for fairness.stats.trends: per-quarter values, changes and rolling four-quarter values.

Differences are checked against Newcombe (1998), "Interval estimation for the
difference between independent proportions: comparison of eleven methods",
Statistics in Medicine 17:873-890, Table II, method 10 (hybrid score); the
rest is counted by hand from the quarters below.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from fairness import quarterly_trends
from fairness.definitions import ETHNICITIES
from fairness.stats.trends import TREND_METRICS

# Black people / people listed, per snapshot. 2019Q2 is missing from the file.
QUARTERS = {
    "2018-03-31": (48, 80),  # 2018Q1
    "2018-06-30": (3, 10),  # 2018Q2
    "2018-09-30": (9, 10),  # 2018Q3
    "2018-12-31": (20, 40),  # 2018Q4
    "2019-03-31": (56, 70),  # 2019Q1
    "2019-09-30": (6, 12),  # 2019Q3 (2019Q2 absent)
}
LABELS = ["2018Q1", "2018Q2", "2018Q3", "2018Q4", "2019Q1", "2019Q3"]


def matrix(shared: bool = False) -> pd.DataFrame:
    parts = []
    for date, (black, n) in QUARTERS.items():
        i = np.arange(n)
        part = pd.DataFrame({
            "snapshot_date": pd.Timestamp(date),
            "ethnicity": np.where(i < black, "Black", "White"),
            # the first person of each quarter is 16 and scored zero; everyone else 20, scored 5
            "age": np.where(i == 0, 16, 20),
            "harm_score": np.where(i == 0, 0.0, 5.0),
            "risk_band": "Amber",
            "borough": "Hackney",
        })
        if shared:
            part["shared_with"] = pd.array(np.where(i < 2, "council", ""), dtype="string")
        parts.append(part)
    m = pd.concat(parts, ignore_index=True)
    m["ethnicity"] = pd.Categorical(m["ethnicity"], categories=list(ETHNICITIES))
    return m


@pytest.fixture(scope="module")
def trends() -> pd.DataFrame:
    return quarterly_trends(matrix())


def metric(trends: pd.DataFrame, name: str) -> pd.DataFrame:
    return trends[trends["metric"] == name].set_index("quarter")


def newcombe_by_hand(c1, n1, c2, n2):
    """Newcombe's method 10 from two Wilson intervals (statsmodels' Wilson, not ours)."""
    p1, p2 = c1 / n1, c2 / n2
    l1, u1 = proportion_confint(c1, n1, method="wilson")
    l2, u2 = proportion_confint(c2, n2, method="wilson")
    d = p1 - p2
    return d, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


def test_columns_and_metrics(trends):
    assert list(trends.columns) == [
        "metric", "metric_label", "quarter", "count", "n", "value", "ci_low", "ci_high",
        "diff_prev", "diff_prev_low", "diff_prev_high", "diff_year", "diff_year_low", "diff_year_high",
        "rolling_count", "rolling_n", "rolling_value", "rolling_low", "rolling_high", "note"]
    # no shared_with column: that metric is left out, not filled with zeros
    assert trends["metric"].unique().tolist() == [m for m in TREND_METRICS if m != "shared_share"]
    for name in trends["metric"].unique():
        assert metric(trends, name).index.tolist() == LABELS


def test_value_and_wilson_interval_per_quarter(trends):
    b = metric(trends, "black_share")
    assert b["count"].tolist() == [48, 3, 9, 20, 56, 6]
    assert b["n"].tolist() == [80, 10, 10, 40, 70, 12]
    assert b.loc["2018Q1", "value"] == pytest.approx(0.6)
    low, high = proportion_confint(48, 80, method="wilson")
    assert (b.loc["2018Q1", "ci_low"], b.loc["2018Q1", "ci_high"]) == pytest.approx((low, high))
    # one person per quarter aged 16 and scored zero
    u = metric(trends, "under18_share")
    assert u["count"].tolist() == [1] * 6
    assert metric(trends, "no_risk_share")["count"].tolist() == [1] * 6
    assert metric(trends, "green_share")["count"].tolist() == [0] * 6


def test_diff_prev_against_newcombe_table_ii(trends):
    # 2018Q3 vs 2018Q2: 9/10 − 3/10 = 0.6; Newcombe (1998) Table II, example (b),
    # method 10: 0.1705 to 0.8090.
    r = metric(trends, "black_share").loc["2018Q3"]
    assert r["diff_prev"] == pytest.approx(0.6)
    assert (r["diff_prev_low"], r["diff_prev_high"]) == pytest.approx((0.1705, 0.8090), abs=5e-5)


def test_diff_year_against_newcombe_table_ii(trends):
    # 2019Q1 vs 2018Q1: 56/70 − 48/80 = 0.8 − 0.6 = 0.2; Newcombe (1998) Table II,
    # example (a), method 10: 0.0524 to 0.3339.
    r = metric(trends, "black_share").loc["2019Q1"]
    assert r["diff_year"] == pytest.approx(0.2)
    assert (r["diff_year_low"], r["diff_year_high"]) == pytest.approx((0.0524, 0.3339), abs=5e-5)


def test_diff_by_hand_from_wilson_limits(trends):
    # 2019Q3 vs 2018Q3 (a year earlier): 6/12 − 9/10 = −0.4, interval from the
    # Wilson limits of each (computed here with statsmodels).
    r = metric(trends, "black_share").loc["2019Q3"]
    d, low, high = newcombe_by_hand(6, 12, 9, 10)
    assert (r["diff_year"], r["diff_year_low"], r["diff_year_high"]) == pytest.approx((d, low, high))
    # 2018Q4 vs 2018Q3: 20/40 − 9/10 = −0.4
    r = metric(trends, "black_share").loc["2018Q4"]
    d, low, high = newcombe_by_hand(20, 40, 9, 10)
    assert (r["diff_prev"], r["diff_prev_low"], r["diff_prev_high"]) == pytest.approx((d, low, high))


def test_missing_quarter_gives_nan_not_a_wrong_comparison(trends):
    b = metric(trends, "black_share")
    # 2019Q3's previous quarter (2019Q2) is absent: no difference, rather than one against 2019Q1
    r = b.loc["2019Q3"]
    assert math.isnan(r["diff_prev"]) and math.isnan(r["diff_prev_low"]) and math.isnan(r["diff_prev_high"])
    # no quarter a year before anything in 2018
    assert b.loc[["2018Q1", "2018Q2", "2018Q3", "2018Q4"], "diff_year"].isna().all()
    assert math.isnan(b.loc["2018Q1", "diff_prev"])
    listed = metric(trends, "listed")
    assert math.isnan(listed.loc["2019Q3", "diff_prev"])


def test_rolling_four_quarters_by_hand(trends):
    b = metric(trends, "black_share")
    # 2018Q4: Q1–Q4 2018 pooled: (48 + 3 + 9 + 20) / (80 + 10 + 10 + 40) = 80 / 140
    # 2019Q1: 2018Q2–2019Q1:      (3 + 9 + 20 + 56) / (10 + 10 + 40 + 70) = 88 / 130
    assert b.loc["2018Q4", ["rolling_count", "rolling_n"]].tolist() == [80, 140]
    assert b.loc["2019Q1", ["rolling_count", "rolling_n"]].tolist() == [88, 130]
    assert b.loc["2018Q4", "rolling_value"] == pytest.approx(80 / 140)
    low, high = proportion_confint(88, 130, method="wilson")
    assert (b.loc["2019Q1", "rolling_low"], b.loc["2019Q1", "rolling_high"]) == pytest.approx((low, high))
    # fewer than four consecutive quarters: no rolling value (2019Q3's window lacks 2019Q2)
    for q in ("2018Q1", "2018Q2", "2018Q3", "2019Q3"):
        assert b.loc[q, ["rolling_count", "rolling_n", "rolling_value", "rolling_low"]].isna().all(), q


def test_listed_is_a_count_without_interval(trends):
    listed = metric(trends, "listed")
    assert listed["value"].tolist() == [80, 10, 10, 40, 70, 12]
    # differences in people: 10 − 80, 10 − 10, 40 − 10, 70 − 40; a year: 70 − 80, 12 − 10
    assert listed["diff_prev"].tolist()[1:5] == [-70, 0, 30, 30]
    assert listed.loc["2019Q1", "diff_year"] == -10
    assert listed.loc["2019Q3", "diff_year"] == 2
    assert listed[["ci_low", "ci_high", "diff_prev_low", "diff_year_low"]].isna().all().all()
    assert (listed["note"] == "a count of the whole list (not a sample): no interval").all()


def test_shared_share_when_the_column_is_present():
    t = quarterly_trends(matrix(shared=True))
    s = metric(t, "shared_share")
    assert s["count"].tolist() == [2] * 6  # two people shared per quarter
    assert s.loc["2018Q2", "value"] == pytest.approx(0.2)
