"""The group disparity table: selection and error rates of a band threshold, per group.

The table a bias-audit toolkit (Aequitas' ``Group``/``Bias``, fairlearn's
``MetricFrame``) produces: for each group, how often the band flags people
(selection rate), how often it flags people who went on to no violence (false
positive rate) and misses people who did (false negative rate), each with its
counts and a Wilson interval, and each group's rate relative to a reference
group. It is built from one count per (group, prediction, outcome) cell —
``numpy.bincount`` over category codes — so its cost is one pass over the rows.
The fuller analysis, with calibration, intersections and equalised-odds
summaries, is :func:`fairness.stats.bands.band_performance`; on the same rows the
rates here are identical to it and to fairlearn's (tested).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.quarters import parse_quarter
from fairness.stats.intervals import confint_proportion

__all__ = ["disparity_table", "DISPARITY_COLUMNS"]

Threshold = Literal["red", "red_amber"]
DISPARITY_COLUMNS: tuple[str, ...] = (
    "threshold", "by", "group", "reference", "n", "positives", "selected", "tp", "fp", "tn", "fn",
    "selection_rate", "selection_rate_low", "selection_rate_high",
    "fpr", "fpr_low", "fpr_high", "fnr", "fnr_low", "fnr_high",
    "selection_rate_ratio", "fpr_ratio", "fnr_ratio", "note",
)
ERR_THRESHOLD = "threshold {value!r} is not valid; valid: red, red_amber"
ERR_NO_OUTCOME = "the matrix has no outcome_violence_12m column: band performance is not assessable"


def _rows_in_quarter(dates: pd.Series, quarter: str) -> np.ndarray:
    end = parse_quarter(quarter)
    start = (pd.Period(end, freq="Q").start_time).normalize()
    # Compare as int64 nanoseconds: no unit conversion of the whole column.
    d = dates.to_numpy().astype("datetime64[ns]").view("i8")
    return (d >= pd.Timestamp(start).value) & (d <= pd.Timestamp(end).value)


def disparity_table(
    matrix: pd.DataFrame,
    *,
    by: str = "ethnicity",
    threshold: Threshold = "red_amber",
    reference: str = "White",
    quarter: str | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Selection rate, false positive and false negative rate per group, and ratios to a reference.

    Parameters
    ----------
    matrix : DataFrame
        Validated matrix (categorical ``by`` column, ``risk_band``,
        ``outcome_violence_12m``). Rows whose outcome is not yet known are
        left out (the ``note`` of the first row says how many).
    by : str, default "ethnicity"
        A categorical column; every category gets a row, empty ones with n = 0.
    threshold : {"red", "red_amber"}
        Band(s) treated as a positive prediction.
    reference : str, default "White"
        Group the ratios compare with.
    quarter : str, optional
        Only rows of this quarter (e.g. "2022Q4"); default all rows.

    Returns
    -------
    DataFrame
        :data:`DISPARITY_COLUMNS`. Rates are NaN where their denominator is 0
        (``note`` says which).

    Examples
    --------
    >>> m = pd.DataFrame({
    ...     "ethnicity": pd.Categorical(["White", "White", "Black", "Black"], categories=["White", "Black"]),
    ...     "risk_band": pd.Categorical(["Red", "Green", "Red", "Red"], categories=["Red", "Amber", "Green"]),
    ...     "outcome_violence_12m": pd.array([True, False, False, True], dtype="boolean"),
    ... })
    >>> disparity_table(m, threshold="red")[["group", "selection_rate", "fpr", "selection_rate_ratio"]]
       group  selection_rate  fpr  selection_rate_ratio
    0  White             0.5  0.0                   1.0
    1  Black             1.0  1.0                   2.0
    """
    if threshold not in defs.BAND_THRESHOLDS:
        raise ValueError(ERR_THRESHOLD.format(value=threshold))
    if "outcome_violence_12m" not in matrix:
        raise ValueError(ERR_NO_OUTCOME)
    rows = np.ones(len(matrix), dtype=bool) if quarter is None else _rows_in_quarter(matrix["snapshot_date"], quarter)
    outcome = matrix["outcome_violence_12m"]
    known = rows & outcome.notna().to_numpy()
    unknown = int(rows.sum() - known.sum())
    groups = matrix[by].astype("category")
    categories = list(groups.cat.categories)
    g = groups.cat.codes.to_numpy()[known].astype(np.int64)
    bands = matrix["risk_band"].astype("category")
    # positive[code]: is that band predicted positive (the last entry, for code -1, is not)
    positive = np.append(np.isin(np.asarray(bands.cat.categories, dtype=object),
                                 defs.BAND_THRESHOLDS[threshold]), False)
    y_pred = positive[bands.cat.codes.to_numpy()[known]]
    y_true = outcome.to_numpy(dtype=bool, na_value=False)[known]
    valid = g >= 0
    key = (g[valid] * 2 + y_pred[valid]) * 2 + y_true[valid]
    cells = np.bincount(key, minlength=len(categories) * 4).reshape(len(categories), 2, 2)
    tn, fn, fp, tp = cells[:, 0, 0], cells[:, 0, 1], cells[:, 1, 0], cells[:, 1, 1]
    n = tn + fn + fp + tp
    positives, negatives, selected = tp + fn, tn + fp, tp + fp

    def rate(num: np.ndarray, den: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        lo, hi = confint_proportion(num, den, alpha=alpha)
        return r, lo, hi

    out = pd.DataFrame({"threshold": threshold, "by": by, "group": categories, "reference": reference,
                        "n": n, "positives": positives, "selected": selected,
                        "tp": tp, "fp": fp, "tn": tn, "fn": fn})
    for name, num, den in (("selection_rate", selected, n), ("fpr", fp, negatives), ("fnr", fn, positives)):
        out[name], out[f"{name}_low"], out[f"{name}_high"] = rate(num, den)
    ref = out.index[out["group"] == reference]
    for name in ("selection_rate", "fpr", "fnr"):
        base = out.loc[ref[0], name] if len(ref) else np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{name}_ratio"] = out[name] / base if base and np.isfinite(base) else np.nan
    notes = np.where(n == 0, "no one with a known outcome: not estimable",
                     np.where(positives == 0, "no later violence in this group: FNR not estimable",
                              np.where(negatives == 0, "everyone had later violence: FPR not estimable", "")))
    if not len(ref):
        notes = np.where(notes == "", f"reference group {reference} absent: ratios not estimable", notes)
    if unknown:
        notes = notes.astype(object)
        notes[0] = (notes[0] + "; " if notes[0] else "") + f"{unknown:,} rows with the outcome not yet known left out"
    out["note"] = notes
    return out[list(DISPARITY_COLUMNS)]
