"""Tests for fairness.quarters: quarter labels of snapshot dates."""

import numpy as np
import pandas as pd
import pytest

from fairness.quarters import (
    ERR_MIXED_ZONES,
    POOLED,
    quarter_before,
    quarter_codes,
    quarter_label,
    quarter_number,
)


def test_dates_with_a_time_zone_are_read_in_their_own_zone():
    """A clerk in London who records 00:30 on 1 July 2018 (BST, UTC+1) dated it 2018Q3, though it
    is 23:30 on 30 June in UTC; 23:30 on 31 December 2018 (GMT, UTC+0) is 2018Q4 either way."""
    dates = pd.Series(pd.to_datetime(["2018-07-01 00:30", "2018-12-31 23:30", "2018-06-30 23:59", None]),
                      name="snapshot_date").dt.tz_localize("Europe/London").astype("datetime64[ns, Europe/London]")
    assert str(dates.dtype) == "datetime64[ns, Europe/London]"
    codes, labels = quarter_codes(dates)
    assert labels == ["2018Q2", "2018Q3", "2018Q4"]
    assert codes.tolist() == [1, 2, 0, -1]
    assert quarter_label(dates).tolist()[:3] == ["2018Q3", "2018Q4", "2018Q2"]
    # the same instants in UTC would put the first in 2018Q2: the zone's own calendar is used
    assert quarter_number(dates.dt.tz_convert("UTC")).tolist()[0] == quarter_number(
        pd.Series(pd.to_datetime(["2018-06-30"])))[0]
    # a DatetimeIndex and an array of zoned Timestamps give the same
    assert quarter_number(pd.DatetimeIndex(dates)).tolist() == quarter_number(dates).tolist()
    assert quarter_number(np.asarray(dates.dropna(), dtype=object)).tolist() == quarter_number(dates.dropna()).tolist()


def test_dates_in_several_time_zones_name_the_column():
    dates = pd.Series([pd.Timestamp("2018-07-01 00:30", tz="Europe/London"),
                       pd.Timestamp("2018-07-01 00:30", tz="America/New_York")], dtype=object,
                      name="snapshot_date")
    with pytest.raises(ValueError, match=r"^snapshot_date: dates in more than one time zone") as err:
        quarter_codes(dates)
    assert "dates without a time zone" in str(err.value)
    assert ERR_MIXED_ZONES.startswith("{column}: ")


def test_plain_dates_are_unchanged():
    # 1970-01-01 is quarter 0; 2018-12-31 is 48 years and 3 quarters later: 195 (the doctest's figure)
    dates = pd.Series(pd.to_datetime(["1970-01-01", "2018-12-31"]))
    assert quarter_number(dates).tolist() == [0, 195]
    assert quarter_number(["1970-01-01", "2018-12-31"]).tolist() == [0, 195]


def test_audit_of_a_frame_with_zoned_dates_reads_them_in_their_zone(good_frame):
    """A frame that looks validated (categorical boroughs) but has dates with a time zone is
    validated again, which reads each date in its own zone: the audit is that of the plain dates."""
    from fairness import audit, validate_frame

    valid = validate_frame(good_frame).valid  # five people, 2018-12-31
    zoned = valid.assign(**{c: valid[c].dt.tz_localize("Europe/London") + pd.Timedelta(hours=23, minutes=30)
                            for c in ("snapshot_date", "date_added", "last_reviewed")})
    plain, in_zone = audit(good_frame), audit(zoned)
    assert in_zone.quarter == plain.quarter == "2018Q4"
    assert in_zone.to_json() == plain.to_json()


def test_quarter_before_counts_back_across_years_and_has_none_before_pooled():
    """Worked by hand: one before 2019Q1 is 2018Q4, three before is 2018Q2, four before 2018Q1;
    2000Q2 less 9 is 1998Q1; before 1970 too (1969Q4 less 1 is 1969Q3). Trends and publication
    share this one function, and "pooled" has no quarter before it."""
    assert [quarter_before("2019Q1", k) for k in (1, 3, 4)] == ["2018Q4", "2018Q2", "2018Q1"]
    assert quarter_before("2000Q2", 9) == "1998Q1"
    assert quarter_before("1969Q4", 1) == "1969Q3"
    assert quarter_before("2018-q4", 0) == "2018Q4"
    assert quarter_before(POOLED, 1) is None
    # the same as pd.Period arithmetic over 1960-2099
    for year in range(1960, 2100, 7):
        for q in range(1, 5):
            for k in (1, 3, 4):
                p = pd.Period(year=year, quarter=q, freq="Q") - k
                assert quarter_before(f"{year}Q{q}", k) == f"{p.year}Q{p.quarter}"
