"""The definitions of :mod:`fairness.definitions` rendered for pandas and numpy.

Derived grouping columns (quarter, age band), the row flags, the no-risk rules
and the duration bands, computed from a DataFrame. :mod:`fairness.counts.cube`
and the row-level statistics use these functions; :mod:`fairness.counts.duck`
renders the same definitions to SQL. Every function reads the definitions
when it is called, so a replaced definition applies at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.definitions import Condition
from fairness.quarters import quarter_label

__all__ = [
    "AGE_BAND_LABELS",
    "age_band",
    "age_band_codes",
    "age_band_labels",
    "condition_mask",
    "duration_band_codes",
    "flag_mask",
    "flags_code",
    "no_risk_mask",
    "with_groups",
]

#: Labels of the default age bands (the engines read :func:`age_band_labels` instead).
AGE_BAND_LABELS: tuple[str, ...] = tuple(b.label for b in defs.AGE_BANDS)


def age_band_labels() -> tuple[str, ...]:
    """Labels of :data:`fairness.definitions.AGE_BANDS`, in order."""
    return tuple(b.label for b in defs.AGE_BANDS)


def age_band_codes(ages) -> np.ndarray:
    """Each age's position in :data:`fairness.definitions.AGE_BANDS` (-1: in no band, or missing).

    >>> age_band_codes(pd.Series([9, 10, 17, 18, 35, 99, 100])).tolist()
    [-1, 0, 0, 1, 3, 3, -1]
    """
    bands = defs.AGE_BANDS
    edges = [b.lo for b in bands] + [bands[-1].hi + 1]
    codes = np.searchsorted(edges, np.asarray(ages, dtype="float64"), side="right") - 1
    return np.where((codes < 0) | (codes >= len(bands)), -1, codes)


def age_band(ages: pd.Series) -> pd.Series:
    """Age bands of :data:`fairness.definitions.AGE_BANDS` as an ordered categorical.

    >>> age_band(pd.Series([12, 18, 30, 60])).tolist()
    ['10-17', '18-24', '25-34', '35+']
    """
    return pd.Series(
        pd.Categorical.from_codes(age_band_codes(ages), categories=list(age_band_labels()), ordered=True),
        index=getattr(ages, "index", None),
        name="age_band",
    )


def with_groups(matrix: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``matrix`` with ``quarter`` and ``age_band`` columns added (if absent)."""
    out = matrix.copy()
    if "quarter" not in out:
        out["quarter"] = quarter_label(out["snapshot_date"]).astype("category")
    if "age_band" not in out:
        out["age_band"] = age_band(out["age"])
    return out


def condition_mask(frame: pd.DataFrame, condition: Condition) -> np.ndarray:
    """Where each row of ``frame`` meets ``condition`` (missing values and absent columns: no).

    >>> m = pd.DataFrame({"age": [12, 18, None]})
    >>> condition_mask(m, Condition("age", "<", 18)).tolist()
    [True, False, False]
    """
    if condition.column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    values = frame[condition.column]
    if condition.op == "is true":
        if values.dtype == bool:
            return values.to_numpy()
        return np.asarray(values.astype("boolean").fillna(False), dtype=bool)
    result = {
        "==": values.__eq__, "<": values.__lt__, "<=": values.__le__, ">": values.__gt__, ">=": values.__ge__,
    }[condition.op](condition.value)
    if isinstance(result.dtype, pd.BooleanDtype):
        result = result.fillna(False)
    return np.asarray(result, dtype=bool)


def flag_mask(frame: pd.DataFrame, name: str) -> np.ndarray:
    """Where each row has the flag ``name`` of :data:`fairness.definitions.FLAGS`."""
    return condition_mask(frame, defs.flag(name).condition)


def flags_code(frame: pd.DataFrame) -> np.ndarray:
    """Each row's ``flags``: the sum of the bits of the flags it has."""
    code = np.zeros(len(frame), dtype=np.int64)
    for i, f in enumerate(defs.FLAGS):
        code |= condition_mask(frame, f.condition).astype(np.int64) << i
    return code


def no_risk_mask(frame: pd.DataFrame, rule: str) -> np.ndarray:
    """Where each row meets the no-risk rule ``rule`` of :data:`fairness.definitions.NO_RISK_RULES`."""
    out = np.ones(len(frame), dtype=bool)
    for name in defs.no_risk_rules()[rule].flags:
        out &= flag_mask(frame, name)
    return out


def duration_band_codes(days) -> np.ndarray:
    """Each time on the list (days; NaN: date added unknown) as its code in
    :func:`fairness.definitions.duration_codes`.

    >>> duration_band_codes(np.array([0, 365.0, 366, 800, 5000, np.nan, -3])).tolist()
    [0, 0, 1, 2, 3, 4, 5]
    """
    days = np.asarray(days, dtype="float64")
    codes = defs.duration_codes()
    out = np.full(len(days), codes.index(defs.DURATION_NONE), dtype=np.int64)
    for i, band in enumerate(defs.DURATION_BANDS):
        out[(days >= band.lo) & (days < band.hi)] = i
    out[np.isnan(days)] = codes.index(defs.DURATION_UNKNOWN)
    return out
