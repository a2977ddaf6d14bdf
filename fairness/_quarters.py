"""Quarter labels ("2018Q4") for snapshot dates, and back again."""

from __future__ import annotations

import re

import pandas as pd

_QUARTER_RE = re.compile(r"^\s*(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)


def quarter_label(dates: pd.Series) -> pd.Series:
    """Label each date with its calendar quarter, e.g. ``2018-12-31`` -> ``"2018Q4"``.

    >>> quarter_label(pd.Series(pd.to_datetime(["2018-12-31", "2019-01-01"]))).tolist()
    ['2018Q4', '2019Q1']
    """
    d = pd.to_datetime(dates)
    return d.dt.year.astype(str) + "Q" + d.dt.quarter.astype(str)


def parse_quarter(label: str) -> pd.Timestamp:
    """Return the last day of the quarter named by ``label`` ("2018Q4" or "2018-Q4").

    >>> parse_quarter("2018Q4")
    Timestamp('2018-12-31 00:00:00')
    """
    m = _QUARTER_RE.match(str(label))
    if not m:
        raise ValueError(f"quarter {label!r} is not of the form YYYYQn, e.g. 2018Q4")
    year, q = int(m.group(1)), int(m.group(2))
    return pd.Period(year=year, quarter=q, freq="Q").end_time.normalize()


def normalise_quarter(label: str) -> str:
    """Canonical spelling of a quarter label ("2018-q4" -> "2018Q4")."""
    ts = parse_quarter(label)
    return f"{ts.year}Q{ts.quarter}"
