"""Tests for fairness.checks: each check on a tiny frame whose answer is worked
out by hand in the comments."""

from __future__ import annotations

import dataclasses
import importlib.util

import numpy as np
import pandas as pd
import pytest

from fairness import checks
from fairness.checks import (
    ALL_BOROUGHS,
    CHECK_RESULT_COLUMNS,
    SHARING_COLUMNS,
    STATUS_CONCERN,
    STATUS_NOT_ASSESSABLE,
    STATUS_OK,
    Check,
    CheckFlags,
    ChecksConfig,
    list_checks,
    run_checks,
    sharing_by_partner,
)
from fairness.definitions import BOROUGHS, ETHNICITIES, RISK_BANDS, SEXES

# --------------------------------------------------------------------------
# Fixture builders
# --------------------------------------------------------------------------

Q4 = "2018-12-31"

DEFAULTS = {
    "person_id": "P0001",
    "snapshot_date": Q4,
    "borough": "Brent",
    "ethnicity": "Black",
    "sex": "Male",
    "age": 20,
    "harm_score": 5.0,
    "risk_band": "Amber",
    "victim_flag": False,
    "violent_offences_2y": 1,
    "date_added": "2018-01-01",
    "last_reviewed": "2018-12-01",
    "shared_with": "",
    "outcome_violence_12m": pd.NA,
}


def as_validated(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a frame the dtypes validation produces (only the columns present)."""
    out = frame.copy()
    out["person_id"] = out["person_id"].astype(str).astype(object)
    for col in ("snapshot_date", "date_added", "last_reviewed"):
        if col in out.columns:
            out[col] = pd.to_datetime(out[col])
    for col, cats in (
        ("borough", BOROUGHS),
        ("ethnicity", ETHNICITIES),
        ("sex", SEXES),
        ("risk_band", RISK_BANDS),
    ):
        out[col] = pd.Categorical(out[col].astype(object), categories=list(cats))
    out["age"] = out["age"].astype("int64")
    out["harm_score"] = out["harm_score"].astype("float64")
    if "victim_flag" in out.columns:
        out["victim_flag"] = out["victim_flag"].astype("boolean")
    if "violent_offences_2y" in out.columns:
        out["violent_offences_2y"] = out["violent_offences_2y"].astype("Int64")
    if "shared_with" in out.columns:
        out["shared_with"] = out["shared_with"].fillna("").astype(str).astype(object)
    if "outcome_violence_12m" in out.columns:
        out["outcome_violence_12m"] = out["outcome_violence_12m"].astype("boolean")
    return out


def make_matrix(rows: list[dict], *, drop: tuple[str, ...] = ()) -> pd.DataFrame:
    """A validated matrix from row dicts; unspecified fields take DEFAULTS.

    Person ids default to P0001, P0002, ... in row order.
    """
    full = [{**DEFAULTS, "person_id": f"P{i + 1:04d}", **row} for i, row in enumerate(rows)]
    return as_validated(pd.DataFrame(full).drop(columns=list(drop)))


def make_quarantine(rows: list[dict]) -> pd.DataFrame:
    """A quarantine frame: raw text columns plus ``line`` and ``rules``."""
    raw = {k: "" if v is pd.NA else str(v) for k, v in DEFAULTS.items()}
    full = [{**raw, "line": str(i + 2), "rules": "", **row} for i, row in enumerate(rows)]
    return pd.DataFrame(full).astype(str)


def only(result: pd.DataFrame, check: str, quarter: str = "2018Q4", borough: str = ALL_BOROUGHS):
    """The single result row for a check and group."""
    rows = result[
        (result["check"] == check) & (result["quarter"] == quarter) & (result["borough"] == borough)
    ]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# --------------------------------------------------------------------------
# Shape, registry, configuration
# --------------------------------------------------------------------------


def test_result_columns_and_one_row_per_check_per_quarter():
    m = make_matrix([{}, {"snapshot_date": "2019-03-31"}])
    out = run_checks(m)
    assert tuple(out.columns) == CHECK_RESULT_COLUMNS
    assert out["check"].tolist() == [c.name for c in checks.REGISTRY for _ in range(2)]
    assert set(out["quarter"]) == {"2018Q4", "2019Q1"}
    assert set(out["borough"]) == {ALL_BOROUGHS}
    assert set(out["status"]) <= {STATUS_CONCERN, STATUS_OK, STATUS_NOT_ASSESSABLE}


def test_input_not_mutated():
    m = make_matrix([{"age": 16, "shared_with": "school"}, {"harm_score": 0.0}])
    q = make_quarantine([{"rules": "bad_date"}])
    m0, q0 = m.copy(), q.copy()
    run_checks(m, quarantine=q, by=("quarter", "borough"))
    sharing_by_partner(m)
    pd.testing.assert_frame_equal(m, m0)
    pd.testing.assert_frame_equal(q, q0)


def test_run_checks_iterates_the_registry(monkeypatch):
    # Adding a check is one function and one row.
    def always_one(matrix, *, quarantine, config):
        flags = np.zeros(len(matrix), dtype=bool)
        flags[0] = True
        return CheckFlags(checks._row_units(matrix, flags, reason="first row"))

    extra = Check("first_row", "a made-up finding", always_one, basis="count")
    monkeypatch.setattr(checks, "REGISTRY", checks.REGISTRY + (extra,))
    m = make_matrix([{}, {}, {}])
    out = run_checks(m)
    row = only(out, "first_row")
    assert (row["count"], row["n"], row["status"]) == (1, 3, STATUS_CONCERN)
    assert row["detail"] == "first row 1"
    assert "first_row" in list_checks()["name"].tolist()
    assert ChecksConfig(thresholds={"first_row": 2}).threshold("first_row") == 2.0
    assert (
        only(run_checks(m, config=ChecksConfig(thresholds={"first_row": 2})), "first_row")["status"]
        == STATUS_OK
    )


def test_list_checks():
    table = list_checks()
    assert tuple(table.columns) == checks.LIST_COLUMNS
    assert table["name"].tolist() == [c.name for c in checks.REGISTRY]
    assert table.set_index("name").loc["victims_as_offenders", "needs"] == (
        "victim_flag;violent_offences_2y"
    )
    assert set(table["basis"]) == {"share", "count"}
    # every default is explained in the ChecksConfig docstring
    for name in table["name"]:
        assert name in ChecksConfig.__doc__


def test_config_is_frozen_and_validated():
    config = ChecksConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.review_days = 30  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.thresholds["relisted"] = 1  # type: ignore[index]
    with pytest.raises(ValueError, match="threshold for check 'relisted'"):
        ChecksConfig(thresholds={"relisted": -1})
    with pytest.raises(ValueError, match="status_on"):
        ChecksConfig(status_on="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="test_id_pattern is not a valid regular expression"):
        ChecksConfig(test_id_pattern="(")
    with pytest.raises(ValueError, match="review_days must be a positive integer"):
        ChecksConfig(review_days=0)


def test_unknown_names_raise_listing_valid_ones():
    m = make_matrix([{}])
    valid = ", ".join(c.name for c in checks.REGISTRY)
    expected = checks.ERR_UNKNOWN_CHECK.format(name="nope", valid=valid)
    with pytest.raises(ValueError) as info:
        run_checks(m, config=ChecksConfig(thresholds={"nope": 0.1}))
    assert str(info.value) == expected
    with pytest.raises(ValueError) as info:
        run_checks(m, checks=["nope"])
    assert str(info.value) == expected
    with pytest.raises(ValueError) as info:
        run_checks(m, by=("borough",))
    assert str(info.value) == checks.ERR_BY.format(valid=list(checks.BY_OPTIONS), got=("borough",))
    with pytest.raises(ValueError, match="lacks required column"):
        run_checks(m.drop(columns=["harm_score"]))


def test_every_optional_column_absent_is_not_assessable_never_an_error():
    m = make_matrix(
        [{}],
        drop=(
            "victim_flag",
            "violent_offences_2y",
            "date_added",
            "last_reviewed",
            "shared_with",
            "outcome_violence_12m",
        ),
    )
    out = run_checks(m, by=("quarter", "borough")).set_index(["check", "quarter", "borough"])
    got = out.xs(("2018Q4", "Brent"), level=("quarter", "borough"))
    assert got.loc["victims_as_offenders", "status"] == STATUS_NOT_ASSESSABLE
    assert (
        got.loc["victims_as_offenders", "detail"]
        == "columns victim_flag, violent_offences_2y absent"
    )
    assert got.loc["blanket_sharing", "detail"] == "column shared_with absent"
    assert got.loc["reviews_overdue", "detail"] == "column last_reviewed absent"
    assert got.loc["children_shared", "detail"] == "column shared_with absent"
    assert got.loc["impossible_dates", "detail"] == (
        "column date_added absent and no quarantine frame passed"
    )
    assert got.loc["same_person_two_boroughs", "detail"] == "no quarantine frame passed"
    # the checks that need nothing optional still run
    assert got.loc["children_listed", "status"] == STATUS_OK
    assert got.loc["test_data", "status"] == STATUS_OK
    assert pd.isna(got.loc["victims_as_offenders", "count"])


def test_by_borough_lists_every_borough_and_empty_ones_are_not_assessable():
    m = make_matrix([{"age": 16}, {"borough": "Camden"}])
    out = run_checks(m, by=("quarter", "borough"), checks=["children_listed"])
    assert out["borough"].tolist() == list(BOROUGHS)
    brent = only(out, "children_listed", borough="Brent")
    assert (brent["count"], brent["n"], brent["status"]) == (1, 1, STATUS_CONCERN)
    camden = only(out, "children_listed", borough="Camden")
    assert (camden["count"], camden["n"], camden["status"]) == (0, 1, STATUS_OK)
    bexley = only(out, "children_listed", borough="Bexley")
    assert bexley["n"] == 0 and bexley["status"] == STATUS_NOT_ASSESSABLE
    assert bexley["detail"] == checks.REASON_EMPTY_GROUP


def test_wilson_interval_contains_share_and_is_nan_for_empty_groups():
    m = make_matrix([{"age": 16}, {"age": 17}, {}, {}, {}])
    out = run_checks(m, by=("quarter", "borough"), checks=["children_listed"])
    brent = only(out, "children_listed", borough="Brent")
    # 2 children of 5: Wilson 95% interval (0.1176, 0.7693) (statsmodels, Wilson 1927)
    assert brent["share"] == pytest.approx(0.4)
    assert brent["ci_low"] == pytest.approx(0.1176, abs=1e-4)
    assert brent["ci_high"] == pytest.approx(0.7693, abs=1e-4)
    assert out["ci_low"].le(out["share"]).where(out["n"] > 0, True).all()
    assert out["ci_high"].ge(out["share"]).where(out["n"] > 0, True).all()
    empty = out[out["n"] == 0]
    assert empty["share"].isna().all() and empty["ci_low"].isna().all()


def test_status_on_ci_low_needs_the_interval_above_the_threshold():
    # 1 child of 2: share 0.5 > 0.06, but the Wilson lower bound is 0.0945, and
    # with threshold 0.1 the interval is not certainly above it.
    m = make_matrix([{"age": 16}, {}])
    strict = ChecksConfig(thresholds={"children_listed": 0.1}, status_on="ci_low")
    assert only(run_checks(m, config=strict), "children_listed")["status"] == STATUS_OK
    loose = ChecksConfig(thresholds={"children_listed": 0.1})
    assert only(run_checks(m, config=loose), "children_listed")["status"] == STATUS_CONCERN


# --------------------------------------------------------------------------
# The checks, one by one
# --------------------------------------------------------------------------


def test_victims_as_offenders():
    m = make_matrix(
        [
            {"victim_flag": True, "violent_offences_2y": 0, "harm_score": 0.0},  # flagged
            {"victim_flag": True, "violent_offences_2y": 1, "harm_score": 0.0},  # offended
            {"victim_flag": True, "violent_offences_2y": 0, "harm_score": 2.0},  # harm > 0
            {"victim_flag": False, "violent_offences_2y": 0, "harm_score": 0.0},  # not victim
            {"victim_flag": pd.NA, "violent_offences_2y": 0, "harm_score": 0.0},  # unknown
        ]
    )
    row = only(run_checks(m), "victims_as_offenders")
    # 1 flagged of the 4 with everything known
    assert (row["count"], row["n"]) == (1, 4)
    assert row["share"] == pytest.approx(0.25)
    assert row["status"] == STATUS_CONCERN  # default threshold 0
    assert "excluded: victim_flag or violent_offences_2y unknown 1" in row["detail"]
    config = ChecksConfig(thresholds={"victims_as_offenders": 0.3})
    assert only(run_checks(m, config=config), "victims_as_offenders")["status"] == STATUS_OK


def test_blanket_sharing():
    m = make_matrix(
        [
            {"risk_band": "Red", "harm_score": 9.0, "shared_with": "housing"},  # not low risk
            {"risk_band": "Green", "harm_score": 2.0, "shared_with": "school"},  # flagged
            {
                "risk_band": "Amber",
                "harm_score": 0.0,
                "shared_with": "housing;jobcentre",
            },  # flagged
            {"risk_band": "Green", "harm_score": 0.0, "shared_with": ""},  # low risk, kept
            {"risk_band": "Amber", "harm_score": 3.0, "shared_with": ""},  # not low risk
        ]
    )
    row = only(run_checks(m), "blanket_sharing")
    # low risk: rows 2, 3, 4; shared: rows 2, 3
    assert (row["count"], row["n"]) == (2, 3)
    assert row["threshold"] == 0.10
    assert row["status"] == STATUS_CONCERN
    assert row["detail"] == "Green, harm > 0, shared 1; no-risk (harm 0) shared 1"
    config = ChecksConfig(thresholds={"blanket_sharing": 0.7})
    assert only(run_checks(m, config=config), "blanket_sharing")["status"] == STATUS_OK


def test_sharing_by_partner():
    m = make_matrix(
        [
            {"risk_band": "Green", "harm_score": 0.0, "shared_with": "housing;school"},
            {"risk_band": "Green", "harm_score": 0.0, "shared_with": "housing"},
            {"risk_band": "Green", "harm_score": 0.0, "shared_with": ""},
            {"risk_band": "Red", "harm_score": 9.0, "shared_with": " housing ; housing"},
        ]
    )
    t = sharing_by_partner(m)
    assert tuple(t.columns) == SHARING_COLUMNS
    # 3 partners (any, housing, school) x 3 bands x 2 no_risk values
    assert len(t) == 18
    cell = t.set_index(["partner", "risk_band", "no_risk"])
    assert tuple(cell.loc[("any", "Green", True), ["count", "n"]]) == (2, 3)
    assert tuple(cell.loc[("housing", "Green", True), ["count", "n"]]) == (2, 3)
    assert tuple(cell.loc[("school", "Green", True), ["count", "n"]]) == (1, 3)
    # housing twice on one record counts once
    assert tuple(cell.loc[("housing", "Red", False), ["count", "n"]]) == (1, 1)
    assert cell.loc[("any", "Amber", True), "n"] == 0
    assert np.isnan(cell.loc[("any", "Amber", True), "share"])
    ok = t["n"] > 0
    assert (t.loc[ok, "ci_low"] <= t.loc[ok, "share"]).all()
    assert (t.loc[ok, "ci_high"] >= t.loc[ok, "share"]).all()
    with pytest.raises(ValueError) as info:
        sharing_by_partner(m.drop(columns=["shared_with"]))
    assert str(info.value) == checks.ERR_SHARED_WITH_ABSENT


def test_reviews_overdue():
    # snapshot 2018-12-31
    m = make_matrix(
        [
            {"last_reviewed": "2018-12-01"},  # 30 days: ok
            {"last_reviewed": "2018-09-30"},  # 92 days: ok (not more than 92)
            {"last_reviewed": "2018-09-29"},  # 93 days: overdue
            {"last_reviewed": None, "date_added": "2018-11-01"},  # new (60 days): not yet due
            {"last_reviewed": None, "date_added": "2017-01-01"},  # never reviewed: overdue
        ]
    )
    row = only(run_checks(m), "reviews_overdue")
    assert (row["count"], row["n"], row["status"]) == (2, 5, STATUS_CONCERN)
    assert "never reviewed 1" in row["detail"]
    assert "last review more than 92 days before snapshot 1" in row["detail"]
    # review every 30 days: 92, 93 days and the 60-day-old unreviewed record too
    row30 = only(run_checks(m, config=ChecksConfig(review_days=30)), "reviews_overdue")
    assert row30["count"] == 4
    # without date_added every unreviewed record is overdue, and the detail says so
    row_no_added = only(run_checks(m.drop(columns=["date_added"])), "reviews_overdue")
    assert row_no_added["count"] == 3
    assert "column date_added absent" in row_no_added["detail"]


def history_matrix() -> pd.DataFrame:
    """Five quarterly snapshots, four people.

    harm by quarter (- = not listed):
               18Q1 18Q2 18Q3 18Q4 19Q1
        A        0    0    0    0    0     zero streak 1 2 3 4 5
        B        0    0    3    0    0     zero streak 1 2 0 1 2
        C        0    0    -    0    0     zero streak 1 2 - 1 2 ; relisted in 18Q4
        D        -    0    0    0    0     zero streak - 1 2 3 4
        E        5    -    -    5    -     relisted in 18Q4 (harm > 0)
    """
    dates = ["2018-03-31", "2018-06-30", "2018-09-30", "2018-12-31", "2019-03-31"]
    harm = {
        "A": [0, 0, 0, 0, 0],
        "B": [0, 0, 3, 0, 0],
        "C": [0, 0, None, 0, 0],
        "D": [None, 0, 0, 0, 0],
        "E": [5, None, None, 5, None],
    }
    rows = [
        {"person_id": p, "snapshot_date": d, "harm_score": float(h)}
        for p, hs in harm.items()
        for d, h in zip(dates, hs, strict=True)
        if h is not None
    ]
    return make_matrix(rows)


def test_zero_harm_retained():
    out = run_checks(history_matrix(), checks=["zero_harm_retained"]).set_index("quarter")
    # 18Q4: A (streak 4) of A, B, C, D, E; 19Q1: A (5), D (4) of A, B, C, D
    assert tuple(out.loc["2018Q4", ["count", "n", "status"]]) == (1, 5, STATUS_CONCERN)
    assert tuple(out.loc["2019Q1", ["count", "n", "status"]]) == (2, 4, STATUS_CONCERN)
    # fewer than 4 snapshots of history: nothing can be flagged yet, so not "ok"
    for q in ("2018Q1", "2018Q2", "2018Q3"):
        assert out.loc[q, "count"] == 0
        assert out.loc[q, "status"] == STATUS_NOT_ASSESSABLE
        assert "fewer than 4 snapshots of history" in out.loc[q, "detail"]
    # two quarters are enough: 18Q2 A, B, C; 18Q3 A, D; 18Q4 A, D; 19Q1 A, B, C, D
    two = run_checks(
        history_matrix(), checks=["zero_harm_retained"], config=ChecksConfig(zero_harm_snapshots=2)
    ).set_index("quarter")
    assert two["count"].tolist() == [0, 3, 2, 2, 4]
    assert two.loc["2018Q1", "status"] == STATUS_NOT_ASSESSABLE


def test_relisted():
    out = run_checks(history_matrix(), checks=["relisted"]).set_index("quarter")
    # C and E come back in 18Q4 (5 listed); nobody comes back in 18Q3 or 19Q1
    assert tuple(out.loc["2018Q4", ["count", "n", "status"]]) == (2, 5, STATUS_CONCERN)
    assert out.loc["2018Q4", "detail"] == "relisted with harm 0 1; relisted with harm > 0 1"
    assert tuple(out.loc["2018Q3", ["count", "status"]]) == (0, STATUS_OK)
    assert tuple(out.loc["2019Q1", ["count", "status"]]) == (0, STATUS_OK)
    # in the first two snapshots a relisting cannot be seen
    assert out.loc["2018Q1", "status"] == STATUS_NOT_ASSESSABLE
    assert out.loc["2018Q2", "status"] == STATUS_NOT_ASSESSABLE


def test_children_listed_and_shared():
    m = make_matrix(
        [
            {"age": 16, "shared_with": "school"},  # child, shared
            {"age": 17, "shared_with": ""},  # child
            {"age": 18, "shared_with": "housing"},  # adult
            {"age": 30},
        ]
    )
    out = run_checks(m)
    listed = only(out, "children_listed")
    assert (listed["count"], listed["n"], listed["threshold"]) == (2, 4, 0.06)
    shared = only(out, "children_shared")
    assert (shared["count"], shared["n"], shared["status"]) == (1, 2, STATUS_CONCERN)
    assert shared["detail"] == "under 18, shared 1"  # adults are not "excluded"
    # under 17 instead of under 18: one child, who was shared
    out16 = run_checks(m, config=ChecksConfig(child_age=17))
    assert only(out16, "children_listed")["count"] == 1
    assert (only(out16, "children_shared")["count"], only(out16, "children_shared")["n"]) == (1, 1)


def test_test_data():
    m = make_matrix(
        [
            {"person_id": "TEST001"},  # starts with test
            {"person_id": "abc_dummy"},  # ends with dummy
            {"person_id": "P0003"},
            {"person_id": "contestant"},  # contains "test", but neither starts nor ends so
            {"person_id": "P0005", "shared_with": "housing;Test partner"},  # test partner
        ]
    )
    q = make_quarantine([{"person_id": "dummy9", "rules": "bad_ethnicity"}])
    out = run_checks(m, quarantine=q)
    row = only(out, "test_data")
    # 3 of 5 matrix rows, plus the quarantined row: 4 of 6
    assert (row["count"], row["n"], row["status"]) == (4, 6, STATUS_CONCERN)
    assert "quarantined row: person_id matches test pattern 1" in row["detail"]
    assert "shared_with matches test pattern 1" in row["detail"]
    # configurable patterns: ids starting P0, no value patterns
    config = ChecksConfig(test_id_pattern=r"^P0", test_value_patterns={})
    assert only(run_checks(m, config=config), "test_data")["count"] == 2
    # a pattern for a column the matrix lacks is skipped, and said
    config = ChecksConfig(test_value_patterns={"nickname": "x"})
    row = only(run_checks(m, config=config), "test_data")
    assert "matrix has no column nickname" in row["detail"]
    clean = make_matrix([{}, {}])
    assert only(run_checks(clean), "test_data")["status"] == STATUS_OK


def test_impossible_dates():
    # snapshot 2018-12-31
    m = make_matrix(
        [
            {"date_added": "2011-06-01"},  # before the matrix began
            # aged 12 now, added 3.58 years ago: at most 13 - 3.58 = 9.4 when added
            {"age": 12, "date_added": "2015-06-01"},
            # aged 12, added 2.998 years ago: could have been 10.0 -> not flagged
            {"age": 12, "date_added": "2016-01-01"},
            {"date_added": "2019-03-01"},  # added after the snapshot
            {"date_added": "2018-01-01"},  # fine
        ]
    )
    q = make_quarantine(
        [
            {"rules": "bad_date"},  # 2018Q4
            {"rules": "date_order;duplicate_person_id", "snapshot_date": "not a date"},
            {"rules": "bad_ethnicity"},  # 2018Q4, not a date problem
        ]
    )
    out = run_checks(m, quarantine=q)
    row = only(out, "impossible_dates")
    # 3 matrix rows + 1 quarantined of 5 + 2 received in 2018Q4
    assert (row["count"], row["n"], row["status"]) == (4, 7, STATUS_CONCERN)
    for reason in (
        "date_added before 2012-01-01 1",
        "under 10 at date_added 1",
        "date_added after snapshot_date 1",
        "quarantined: bad_date 1",
    ):
        assert reason in row["detail"]
    unknown = only(out, "impossible_dates", quarter=checks.UNKNOWN)
    assert (unknown["count"], unknown["n"]) == (1, 1)
    assert "quarantined: date_order 1" in unknown["detail"]
    # without the quarantine only the matrix is counted, and the detail says so
    row = only(run_checks(m), "impossible_dates")
    assert (row["count"], row["n"]) == (3, 5)
    assert "no quarantine frame passed" in row["detail"]
    # without date_added only the quarantine is counted
    row = only(run_checks(m.drop(columns=["date_added"]), quarantine=q), "impossible_dates")
    assert row["count"] == 1 and "column date_added absent" in row["detail"]
    # configurable start and minimum age
    config = ChecksConfig(matrix_start="2010-01-01", min_age_at_addition=9)
    assert only(run_checks(m, config=config), "impossible_dates")["count"] == 1


def test_same_person_two_boroughs():
    m = make_matrix(
        [
            {"person_id": "p1", "borough": "Brent"},
            {"person_id": "p2", "borough": "Camden"},
        ]
    )
    q = make_quarantine(
        [
            # p1 also in Hackney in the same snapshot: a conflict
            {"person_id": "p1", "borough": "Hackney", "rules": "duplicate_person_id"},
            # p2 twice in Camden: a duplicate, not a conflict
            {"person_id": "p2", "borough": "Camden", "rules": "duplicate_person_id"},
            # p3 only in the quarantine, in Lambeth and Lewisham: a conflict
            {"person_id": "p3", "borough": "Lambeth", "rules": "duplicate_person_id"},
            {"person_id": "p3", "borough": "Lewisham", "rules": "duplicate_person_id"},
            # not a duplicate
            {"person_id": "p4", "borough": "Sutton", "rules": "bad_date"},
        ]
    )
    out = run_checks(m, quarantine=q, checks=["same_person_two_boroughs"])
    row = only(out, "same_person_two_boroughs")
    # London-wide each person counted once: p1 and p3 of p1, p2, p3
    assert (row["count"], row["n"], row["status"]) == (2, 3, STATUS_CONCERN)
    by_borough = run_checks(
        m, quarantine=q, by=("quarter", "borough"), checks=["same_person_two_boroughs"]
    ).set_index("borough")
    # each borough involved counts the person
    for b in ("Brent", "Hackney", "Lambeth", "Lewisham"):
        assert by_borough.loc[b, "count"] == 1
    assert by_borough.loc["Camden", "count"] == 0
    assert by_borough.loc["Camden", "status"] == STATUS_OK
    # a quarantine without the needed columns is not assessable, with the reason
    row = only(run_checks(m, quarantine=q.drop(columns=["rules"])), "same_person_two_boroughs")
    assert row["status"] == STATUS_NOT_ASSESSABLE
    assert row["detail"] == "quarantine frame lacks column rules"


def test_data_quality_checks_are_count_based_with_threshold_zero():
    table = list_checks().set_index("name")
    for name in ("test_data", "impossible_dates", "same_person_two_boroughs"):
        assert table.loc[name, "basis"] == "count"
        assert table.loc[name, "threshold"] == 0


# --------------------------------------------------------------------------
# Optional: the synthetic generator, if present
# --------------------------------------------------------------------------


@pytest.mark.skipif(
    importlib.util.find_spec("fairness.synth") is None, reason="fairness.synth not written yet"
)
def test_runs_on_the_synthetic_history():
    synth = pytest.importorskip("fairness.synth")
    frame = synth.generate("gvm-history", seed=1).matrix
    raw = frame.copy()
    for col in ("victim_flag", "outcome_violence_12m"):
        if col in raw.columns and raw[col].dtype == object:
            raw[col] = raw[col].map(
                lambda v: (
                    pd.NA
                    if v in ("", None) or pd.isna(v)
                    else str(v).lower() in ("true", "yes", "1")
                )
            )
    m = as_validated(raw)
    out = run_checks(m, by=("quarter", "borough"))
    assert tuple(out.columns) == CHECK_RESULT_COLUMNS
    assert set(out["check"]) == {c.name for c in checks.REGISTRY}
    assert set(out["status"]) <= {STATUS_CONCERN, STATUS_OK, STATUS_NOT_ASSESSABLE}


def test_sum_and_min_groups_in_order_of_first_appearance_like_pandas():
    """The numpy core of the checks' counted cells, worked by hand. The rows come in an order where
    first appearance is not the sorted order: (Q1, B) first, with units 1 and least first 9; then
    (Q2, A), 7 and 2; then (Q1, A), units 2+3 = 5 and least first min(4, 6) = 4. Sorted order would
    put (Q1, A) first, so a core that sorted its groups fails here. With a missing key the rows
    are dropped, as pandas' own groupby does."""
    from fairness.checks import _sum_and_min_arrays

    def _sum_and_min_by(frame, keys):  # the core on a frame's columns
        return _sum_and_min_arrays({c: frame[c].to_numpy() for c in [*keys, "units", "first"]}, keys)

    frame = pd.DataFrame({"quarter": ["Q1", "Q2", "Q1", "Q1"], "borough": ["B", "A", "A", "A"],
                          "flagged": [False, True, True, True],
                          "units": np.array([1, 7, 2, 3], dtype="int64"),
                          "first": np.array([9, 2, 4, 6], dtype="int64")})
    keys = ["quarter", "borough", "flagged"]
    want = pd.DataFrame({"quarter": ["Q1", "Q2", "Q1"], "borough": ["B", "A", "A"],
                         "flagged": [False, True, True], "units": [1, 7, 5], "first": [9, 2, 4]})
    got = _sum_and_min_by(frame, keys)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    pandas = frame.groupby(keys, sort=False).agg(units=("units", "sum"), first=("first", "min")).reset_index()
    pd.testing.assert_frame_equal(got, pandas, check_dtype=False)
    # float first without a gap takes the same path; a missing key falls back to pandas (row dropped)
    floats = frame.assign(first=frame["first"].astype(float))
    assert _sum_and_min_by(floats, keys)["first"].tolist() == [9.0, 2.0, 4.0]
    gap = frame.assign(borough=[None, "A", "A", "A"])  # (Q1, B)'s key missing: that row is dropped
    assert _sum_and_min_by(gap, keys)[["quarter", "units"]].values.tolist() == [["Q2", 7], ["Q1", 5]]


def test_counted_grid_cannot_corrupt_its_cache():
    """The grid of quarters x areas is cached between checks and audits; what a check is given is
    its own copy: writing into it (a cell, a column) leaves the next call's grid as it was."""
    from fairness import definitions as defs
    from fairness.checks import _counted_grid

    counts = pd.DataFrame({"quarter": ["2018Q4", "2019Q1"], "borough": [defs.BOROUGHS[0], defs.BOROUGHS[1]]})
    for keys in (["quarter"], ["quarter", "borough"]):
        first = _counted_grid(["2018Q4", "2019Q1"], keys, counts)
        want = first.copy()
        assert first["quarter"].tolist()[:1] == ["2018Q4"]
        first.loc[0, "quarter"] = "tampered"
        first["extra"] = 1
        again = _counted_grid(["2018Q4", "2019Q1"], keys, counts)
        assert again is not first
        pd.testing.assert_frame_equal(again, want)
