"""Derived grouping columns: quarter and age band, computed once per audit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fairness.definitions import AGE_BANDS
from fairness.quarters import quarter_label

__all__ = ["age_band", "with_groups", "AGE_BAND_LABELS"]

AGE_BAND_LABELS: tuple[str, ...] = tuple(label for label, _, _ in AGE_BANDS)


def age_band(ages: pd.Series) -> pd.Series:
    """Age bands of :data:`fairness.definitions.AGE_BANDS` as an ordered categorical.

    >>> age_band(pd.Series([12, 18, 30, 60])).tolist()
    ['10-17', '18-24', '25-34', '35+']
    """
    edges = [lo for _, lo, _ in AGE_BANDS] + [AGE_BANDS[-1][2] + 1]
    codes = np.searchsorted(edges, np.asarray(ages, dtype="float64"), side="right") - 1
    codes = np.where((codes < 0) | (codes >= len(AGE_BANDS)), -1, codes)
    return pd.Series(
        pd.Categorical.from_codes(codes, categories=list(AGE_BAND_LABELS), ordered=True),
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
