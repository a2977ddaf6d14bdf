"""Tests for fairness.stats.no_risk: the no-risk share (the 38% figure) and how long people had been listed.

Reference values: Newcombe (1998), Statistics in Medicine 17:857-872, Table I
for the intervals; everything else counted by hand from the small frames below.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from fairness import no_risk_duration, no_risk_share, validate_frame
from fairness.counts.groups import AGE_BAND_LABELS
from fairness.definitions import BOROUGHS, ETHNICITIES, SEXES
from fairness.results.audit import NO_RISK_BY
from fairness.stats import no_risk as nr
from tests.conftest import examples, good_row

PROPORTION_METHODS = ["wilson", "exact", "clopper-pearson", "jeffreys", "agresti-coull", "normal"]
COLUMNS = ["definition", "definition_label", "by", "group", "count", "n", "share", "ci_low", "ci_high",
           "method", "note"]

# Seven people on 2018-12-31. Which definitions each meets, by hand:
#
#  id  harm band   victim  viol_2y  date_added   harm_zero no_violence green victim_only  days listed
#  P1   0   Green  true    0        2018-06-30   yes       yes         yes   yes          184 (< 1 year)
#  P2   0   Amber  false   0        2017-06-30   yes       yes         no    no           549 (1–2 years)
#  P3   0   Amber  true    1        2016-06-30   yes       no          no    no           914 (2–3 years)
#  P4  12   Green  true    0        2017-03-01   no        yes         yes   no           —
#  P5  40   Red    true    (blank)  (blank)      no        no*         no    no           —
#  P6   0   Amber  (blank) 1        (blank)      yes       no          no    no           unknown
#  P7   0   Amber  false   2        2014-01-01   yes       no          no    no           1825 (3+ years)
#
#  * an unknown offence count is not "no offence".
#  Totals: harm_zero 5/7, no_violence_2y 3/7, green_band 2/7, victim_only 1/7.
#  Days: 2018-06-30 -> 2018-12-31 = 1 + 31 + 31 + 30 + 31 + 30 + 31 = 184; one more
#  (non-leap) year each for P2 (549) and P3 (914); P7: 4*365 + 1 (29 Feb 2016) + 364 = 1825.
SEVEN = [
    good_row("P1", harm_score=0, risk_band="Green", victim_flag="true", violent_offences_2y=0,
             date_added="2018-06-30", last_reviewed="2018-07-01", age=17, sex="Male", ethnicity="Black"),
    good_row("P2", harm_score=0, risk_band="Amber", victim_flag="false", violent_offences_2y=0,
             date_added="2017-06-30", age=19, sex="Male", ethnicity="Black"),
    good_row("P3", harm_score=0, risk_band="Amber", victim_flag="true", violent_offences_2y=1,
             date_added="2016-06-30", age=22, sex="Female", ethnicity="White"),
    good_row("P4", harm_score=12, risk_band="Green", victim_flag="true", violent_offences_2y=0,
             age=30, sex="Male", ethnicity="White"),
    good_row("P5", harm_score=40, risk_band="Red", victim_flag="true", violent_offences_2y="",
             date_added="", age=16, sex="Male", ethnicity="Black"),
    good_row("P6", harm_score=0, risk_band="Amber", victim_flag="", violent_offences_2y=1, date_added="",
             age=15, sex="Male", ethnicity="Black", borough="Barnet"),
    good_row("P7", harm_score=0, risk_band="Amber", victim_flag="false", violent_offences_2y=2,
             date_added="2014-01-01", age=40, sex="Male", ethnicity="Mixed", borough="Barnet"),
]
EXPECTED = {"harm_zero": 5, "no_violence_2y": 3, "green_band": 2, "victim_only": 1}


@pytest.fixture(scope="module")
def seven() -> pd.DataFrame:
    res = validate_frame(pd.DataFrame(SEVEN))
    assert res.n_quarantined == 0, res.problem_lines()
    return res.valid


# ---------------------------------------------------------------- the interval


@pytest.mark.parametrize(("method", "low", "high"), [
    # Newcombe (1998), Table I, 81/263:
    ("wilson", 0.2553, 0.3662),  # method 3, score
    ("exact", 0.2527, 0.3676),  # method 5, Clopper-Pearson
    ("clopper-pearson", 0.2527, 0.3676),
    ("normal", 0.2522, 0.3638),  # method 1, simple asymptotic
])
def test_share_interval_against_newcombe_table_i(method, low, high):
    m = pd.DataFrame({"harm_score": [0.0] * 81 + [5.0] * (263 - 81)})
    r = no_risk_share(m, method=method).iloc[0]
    assert (r["count"], r["n"]) == (81, 263)
    assert r["share"] == pytest.approx(81 / 263)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((low, high), abs=5e-5)
    assert r["method"] == method


@pytest.mark.parametrize(("method", "sm"), [("jeffreys", "jeffreys"), ("agresti-coull", "agresti_coull")])
def test_share_interval_other_methods_match_statsmodels(method, sm):
    # Not in Newcombe's table: checked against statsmodels' own implementation.
    m = pd.DataFrame({"harm_score": [0.0] * 81 + [5.0] * (263 - 81)})
    r = no_risk_share(m, method=method).iloc[0]
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(proportion_confint(81, 263, method=sm), abs=1e-10)


def test_docstring_example():
    m = pd.DataFrame({"harm_score": [0.0, 0.0, 3.0, 5.0]})
    assert no_risk_share(m)[["count", "n", "share"]].iloc[0].tolist() == [2, 4, 0.5]


# ---------------------------------------------------------------- definitions


@pytest.mark.parametrize("definition", list(EXPECTED))
def test_each_definition_on_seven_people(seven, definition):
    out = no_risk_share(seven, definition=definition)
    assert list(out.columns) == COLUMNS
    r = out.iloc[0]
    assert (r["count"], r["n"]) == (EXPECTED[definition], 7)
    assert r["share"] == pytest.approx(EXPECTED[definition] / 7)
    low, high = proportion_confint(EXPECTED[definition], 7, method="wilson")
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((low, high), abs=1e-12)
    assert r["definition"] == definition and r["by"] == "all" and r["group"] == "all"
    assert r["definition_label"] == nr.NO_RISK_DEFINITIONS[definition].label
    assert nr.no_risk_flag(seven, definition).sum() == EXPECTED[definition]


@pytest.mark.parametrize(("definition", "drop", "missing"), [
    ("no_violence_2y", ["violent_offences_2y"], "violent_offences_2y"),
    ("victim_only", ["victim_flag"], "victim_flag"),
    ("victim_only", ["victim_flag", "violent_offences_2y"], "victim_flag, violent_offences_2y"),
])
def test_absent_column_gives_a_not_assessable_row(seven, definition, drop, missing):
    out = no_risk_share(seven.drop(columns=drop), definition=definition, by="borough")
    assert len(out) == 1
    r = out.iloc[0]
    assert r["note"] == f"not assessable: column {missing} absent"
    assert math.isnan(r["count"]) and math.isnan(r["share"]) and math.isnan(r["ci_low"])
    assert r["n"] == 7
    with pytest.raises(ValueError, match="not assessable"):
        nr.no_risk_flag(seven.drop(columns=drop), definition)


def test_unknown_definition_lists_the_valid_ones(seven):
    with pytest.raises(ValueError, match="harm_zero, no_violence_2y, green_band, victim_only"):
        no_risk_share(seven, definition="zero_harm")


# ---------------------------------------------------------------- breakdowns


def test_no_risk_by_matches_the_audit():
    assert NO_RISK_BY == ("borough", "ethnicity", "age_band", "sex", "quarter")


@pytest.mark.parametrize(("by", "groups", "counts"), [
    # harm_zero people are P1, P2, P3, P6, P7 (table at the top)
    ("borough", list(BOROUGHS), {"Hackney": (3, 5), "Barnet": (2, 2)}),
    ("ethnicity", list(ETHNICITIES), {"Black": (3, 4), "White": (1, 2), "Mixed": (1, 1)}),
    # ages 17, 19, 22, 30, 16, 15, 40
    ("age_band", list(AGE_BAND_LABELS), {"10-17": (2, 3), "18-24": (2, 2), "25-34": (0, 1), "35+": (1, 1)}),
    ("sex", list(SEXES), {"Male": (4, 6), "Female": (1, 1)}),
])
def test_by_keeps_every_group_including_empty_ones(seven, by, groups, counts):
    out = no_risk_share(seven, by=by)
    assert out["group"].tolist() == groups
    assert (out["by"] == by).all()
    for g, r in out.set_index("group").iterrows():
        count, n = counts.get(g, (0, 0))
        assert (r["count"], r["n"]) == (count, n), g
        if n == 0:
            assert math.isnan(r["share"]) and math.isnan(r["ci_low"]) and math.isnan(r["ci_high"])
            assert r["note"] == "no one listed: not estimable"
        else:
            assert r["share"] == pytest.approx(count / n)
            assert r["ci_low"] <= r["share"] <= r["ci_high"]
    assert out["n"].sum() == 7


def test_by_quarter_over_several_snapshots():
    rows = SEVEN + [
        good_row("Q1", snapshot_date="2018-09-30", date_added="2017-01-01", last_reviewed="2018-08-31",
                 harm_score=0),
        good_row("Q2", snapshot_date="2018-09-30", date_added="2017-01-01", last_reviewed="2018-08-31",
                 harm_score=3, risk_band="Amber"),
    ]
    res = validate_frame(pd.DataFrame(rows))
    assert res.n_quarantined == 0, res.problem_lines()
    out = no_risk_share(res.valid, by="quarter")
    assert out["group"].tolist() == ["2018Q3", "2018Q4"]
    assert out[["count", "n"]].to_numpy().tolist() == [[1, 2], [5, 7]]


# ---------------------------------------------------------------- duration


def test_duration_bands_by_hand(seven):
    out = no_risk_duration(seven)
    assert list(out.columns) == ["definition", "duration", "count", "n", "share", "ci_low", "ci_high",
                                 "method", "note"]
    assert out["duration"].tolist() == ["under 1 year", "1–2 years", "2–3 years", "3 years or more",
                                        "date added unknown"]
    # harm_zero people: P1 184 days, P2 549, P3 914, P7 1825, P6 unknown
    assert out["count"].tolist() == [1, 1, 1, 1, 1]
    assert (out["n"] == 5).all()
    assert out["share"].to_numpy() == pytest.approx([0.2] * 5)
    low, high = proportion_confint(1, 5, method="wilson")
    assert out["ci_low"].to_numpy() == pytest.approx([low] * 5)
    assert out["ci_high"].to_numpy() == pytest.approx([high] * 5)


def test_duration_for_another_definition(seven):
    # green_band: P1 (184 days) and P4 (2017-03-01 -> 2018-03-01 = 365, -> 2018-12-31 = 305: 670 days)
    out = no_risk_duration(seven, definition="green_band").set_index("duration")
    assert out.loc["under 1 year", "count"] == 1
    assert out.loc["1–2 years", "count"] == 1
    assert out["count"].sum() == 2 and (out["n"] == 2).all()


def test_duration_not_assessable_without_date_added(seven):
    out = no_risk_duration(seven.drop(columns=["date_added"]))
    assert len(out) == 1
    assert out["note"].iloc[0] == "not assessable: column date_added absent"
    assert math.isnan(out["share"].iloc[0])


def test_duration_when_no_one_meets_the_definition(seven):
    out = no_risk_duration(seven[seven["harm_score"] > 0])
    assert (out["count"] == 0).all() and (out["n"] == 0).all()
    assert out["share"].isna().all()
    assert (out["note"] == "no one meets the definition: not estimable").all()


# ---------------------------------------------------------------- properties


@settings(max_examples=examples(30), deadline=None)
@given(
    flags=st.lists(st.tuples(st.booleans(), st.sampled_from(["Hackney", "Barnet", "Brent"])),
                   min_size=1, max_size=60),
    method=st.sampled_from(PROPORTION_METHODS),
)
def test_share_interval_contains_share(flags, method):
    m = pd.DataFrame({
        "harm_score": [0.0 if f else 4.0 for f, _ in flags],
        "borough": pd.Categorical([b for _, b in flags], categories=list(BOROUGHS)),
    })
    for by in (None, "borough"):
        out = no_risk_share(m, by=by, method=method)
        ok = out[out["n"] > 0]
        assert (ok["ci_low"] <= ok["share"] + 1e-12).all()
        assert (ok["share"] <= ok["ci_high"] + 1e-12).all()
        assert ((ok["ci_low"] >= 0) & (ok["ci_high"] <= 1)).all()
        assert out["count"].sum() == sum(f for f, _ in flags)
        assert out["n"].sum() == len(flags)
    assert np.isfinite(no_risk_share(m, method=method)[["ci_low", "ci_high"]].to_numpy()).all()


# ---------------------------------------------------------------- issue 11: one snapshot, options in any case


def two_quarters() -> pd.DataFrame:
    rows = SEVEN + [
        good_row("Q1", snapshot_date="2018-09-30", date_added="2017-01-01", last_reviewed="2018-08-31",
                 harm_score=0),
        good_row("Q2", snapshot_date="2018-09-30", date_added="2017-01-01", last_reviewed="2018-08-31",
                 harm_score=3, risk_band="Amber"),
    ]
    res = validate_frame(pd.DataFrame(rows))
    assert res.n_quarantined == 0, res.problem_lines()
    return res.valid


@pytest.mark.parametrize("function", [no_risk_share, no_risk_duration])
def test_several_snapshots_are_never_pooled_silently(function):
    m = two_quarters()
    with pytest.raises(ValueError, match=r"2 snapshots \(2018Q3, 2018Q4\).*quarter="):
        function(m)
    # quarter= gives the snapshot alone: 2018Q4 holds the seven people (5 harm_zero, table above)
    alone = m[m["snapshot_date"] == "2018-12-31"]
    pd.testing.assert_frame_equal(function(m, quarter="2018Q4"), function(alone))


def test_quarter_picks_the_snapshot_and_by_quarter_still_spans_them():
    m = two_quarters()
    q3 = no_risk_share(m, quarter="2018Q3").iloc[0]
    assert (q3["count"], q3["n"]) == (1, 2)  # Q1 harm 0, Q2 harm 3
    assert no_risk_share(m, by="quarter")[["count", "n"]].to_numpy().tolist() == [[1, 2], [5, 7]]


def test_definition_matches_in_any_case(seven):
    pd.testing.assert_frame_equal(no_risk_share(seven, definition="Harm_Zero"), no_risk_share(seven))
    green = no_risk_share(seven, definition="GREEN_BAND").iloc[0]
    assert green["count"] == EXPECTED["green_band"] and green["definition"] == "green_band"
