"""Tests for fairness.definitions: each definition declared once, and every engine follows it.

The definitions are replaced (as a profile would replace them) and the same
eight-person matrix is counted by the row-level pandas functions, by the
in-memory cube (``audit(engine="pandas")``) and by DuckDB
(``audit(engine="duckdb")``); all three must give the counts worked out by
hand below for the *new* definitions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import fairness
from fairness import definitions as defs
from fairness.counts import groups
from fairness.definitions import AgeBand, Condition, DurationBand, Flag, NoRiskRule

pytestmark = pytest.mark.filterwarnings("ignore")

#: Eight people on 2018-12-31 (2018Q4). Days on the list to 2018-12-31:
#: p1 213, p3 395, p4 1401 (2015-03-01 + 3 years = 2018-03-01, 1096 days with
#: 29 Feb 2016, + 305), p7 30.
ROWS = [
    # person, borough, ethnicity, sex, age, harm, band, victim, violent, date_added
    ("p1", "Hackney", "Black", "Male", 15, 0.0, "Green", False, 0, "2018-06-01"),
    ("p2", "Hackney", "Black", "Male", 19, 0.0, "Red", True, 0, "2016-01-01"),
    ("p3", "Brent", "White", "Male", 20, 1.0, "Green", False, 1, "2017-12-01"),
    ("p4", "Brent", "White", "Female", 22, 0.5, "Green", False, 0, "2015-03-01"),
    ("p5", "Lambeth", "Asian", "Male", 30, 2.0, "Green", False, 0, "2018-10-01"),
    ("p6", "Lambeth", "Black", "Male", 40, 0.0, "Amber", False, 2, "2014-01-01"),
    ("p7", "Hackney", "Mixed", "Male", 21, 0.0, "Green", True, 0, "2018-12-01"),
    ("p8", "Brent", "Black", "Male", 12, 3.0, "Red", False, 0, "2012-06-01"),
]


@pytest.fixture(scope="module")
def parquet(tmp_path_factory):
    frame = pd.DataFrame(ROWS, columns=["person_id", "borough", "ethnicity", "sex", "age", "harm_score",
                                        "risk_band", "victim_flag", "violent_offences_2y", "date_added"])
    frame.insert(1, "snapshot_date", pd.Timestamp("2018-12-31"))
    frame["date_added"] = pd.to_datetime(frame["date_added"])
    path = tmp_path_factory.mktemp("definitions") / "eight.parquet"
    frame.to_parquet(path, index=False)
    return path


@pytest.fixture
def changed(monkeypatch):
    """Other definitions: two age bands, "harm zero" read as a harm score of at most 1, the
    headline no-risk rule needing the green band as well, two duration bands."""
    monkeypatch.setattr(defs, "AGE_BANDS", (AgeBand("10-20", 10, 20), AgeBand("21+", 21, 99)))
    flags = tuple(Flag("harm_zero", Condition("harm_score", "<=", 1.0), "harm score at most 1")
                  if f.name == "harm_zero" else f for f in defs.FLAGS)
    monkeypatch.setattr(defs, "FLAGS", flags)
    rules = tuple(NoRiskRule("harm_zero", "harm at most 1 and green", ("harm_zero", "green"))
                  if r.name == "harm_zero" else r for r in defs.NO_RISK_RULES)
    monkeypatch.setattr(defs, "NO_RISK_RULES", rules)
    monkeypatch.setattr(defs, "DURATION_BANDS", (DurationBand("under 2 years", 0, 730.5),
                                                 DurationBand("2 years or more", 730.5, math.inf)))


# By hand, with the changed definitions:
# harm <= 1: p1 p2 p3 p4 p6 p7; and green: p1 p3 p4 p7 -> 4 of 8.
# ages 10-20: p1 p2 p3 p8 (hits p1 p3: 2 of 4); 21+: p4 p5 p6 p7 (hits p4 p7: 2 of 4).
# time on the list of the four: p1 213, p3 395, p7 30 -> under 2 years: 3; p4 1401 -> 2 years or more: 1.
# victim_only (victim, no violent offence, harm <= 1): p2 p7 -> 2; under 18: p1 p8 -> 2.
EXPECTED_ALL = (4, 8)
EXPECTED_BY_AGE = {"10-20": (2, 4), "21+": (2, 4)}
EXPECTED_DURATION = {"under 2 years": 3, "2 years or more": 1, "date added unknown": 0}


def _by_age(table: pd.DataFrame) -> dict[str, tuple[int, int]]:
    rows = table[(table["definition"] == "harm_zero") & (table["by"] == "age_band")]
    return {r.group: (int(r.count), int(r.n)) for r in rows.itertuples()}


def _all(table: pd.DataFrame, definition: str = "harm_zero") -> tuple[int, int]:
    row = table[(table["definition"] == definition) & (table["by"] == "all")].iloc[0]
    return int(row["count"]), int(row["n"])


def _durations(table: pd.DataFrame) -> dict[str, int]:
    return {r.duration: int(r.count) for r in table.itertuples()}


def test_row_level_pandas_follows_changed_definitions(parquet, changed):
    matrix = fairness.read_matrix(parquet).valid
    assert _all(fairness.no_risk_share(matrix)) == EXPECTED_ALL
    assert _by_age(fairness.no_risk_share(matrix, by="age_band")) == EXPECTED_BY_AGE
    assert _durations(fairness.no_risk_duration(matrix)) == EXPECTED_DURATION
    assert _all(fairness.no_risk_share(matrix, definition="victim_only"), "victim_only") == (2, 8)
    assert groups.age_band(matrix["age"]).cat.categories.tolist() == ["10-20", "21+"]


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_cube_and_duckdb_follow_changed_definitions(parquet, changed, engine):
    res = fairness.audit(parquet, engine=engine)
    assert _all(res.no_risk) == EXPECTED_ALL
    assert _by_age(res.no_risk) == EXPECTED_BY_AGE
    assert _all(res.no_risk, "victim_only") == (2, 8)
    assert _durations(res.no_risk_duration) == EXPECTED_DURATION
    trends = res.trends.set_index("metric")
    assert int(trends.loc["no_risk_share", "count"]) == 6  # harm <= 1: p1 p2 p3 p4 p6 p7
    assert int(trends.loc["under18_share", "count"]) == 2  # p1 p8
    victims = res.checks[(res.checks["check"] == "victims_as_offenders") & (res.checks["borough"] == "All boroughs")]
    assert int(victims["count"].iloc[0]) == 2  # p2 p7


def test_default_definitions_unchanged(parquet):
    """Without the change the same file gives the default counts (harm == 0: p1 p2 p6 p7)."""
    res = fairness.audit(parquet, engine="duckdb")
    assert _all(res.no_risk) == (4, 8)
    assert _by_age(res.no_risk) == {"10-17": (1, 2), "18-24": (2, 4), "25-34": (0, 1), "35+": (1, 1)}


def test_flag_bits_follow_the_order_of_flags():
    assert defs.flag_bits() == {"harm_zero": 1, "no_violence": 2, "green": 4, "victim": 8, "under18": 16}
    assert defs.no_risk_rules()["victim_only"].mask == 1 | 2 | 8
    assert defs.no_risk_rules()["victim_only"].needs == ("victim_flag", "violent_offences_2y")
    assert defs.no_risk_rules()["harm_zero"].needs == ()


def test_definitions_are_well_formed():
    """Age bands contiguous within the age range; duration bands contiguous from 0; thresholds are bands."""
    bands = defs.AGE_BANDS
    assert bands[0].lo == defs.AGE_MIN and bands[-1].hi == defs.AGE_MAX
    assert all(a.hi + 1 == b.lo for a, b in zip(bands, bands[1:], strict=False))
    durations = defs.DURATION_BANDS
    assert durations[0].lo == 0 and durations[-1].hi == math.inf
    assert all(a.hi == b.lo for a, b in zip(durations, durations[1:], strict=False))
    assert all(set(v) <= set(defs.RISK_BANDS) for v in defs.BAND_THRESHOLDS.values())
    assert {f.condition.column for f in defs.FLAGS} <= set(defs.ALL_COLUMNS)


def test_condition_rejects_unknown_operator():
    with pytest.raises(ValueError, match="condition op must be one of"):
        Condition("age", "!=", 3)


def test_condition_mask_missing_and_absent_are_false():
    frame = pd.DataFrame({"violent_offences_2y": pd.array([0, None, 2], dtype="Int64"),
                          "victim_flag": pd.array([True, None, False], dtype="boolean")})
    assert groups.condition_mask(frame, Condition("violent_offences_2y", "==", 0)).tolist() == [True, False, False]
    assert groups.condition_mask(frame, Condition("victim_flag", "is true")).tolist() == [True, False, False]
    assert groups.condition_mask(frame, Condition("age", "<", 18)).tolist() == [False, False, False]
    assert np.asarray(groups.flags_code(frame)).tolist() == [2 | 8, 0, 0]
