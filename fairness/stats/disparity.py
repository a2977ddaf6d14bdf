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
from fairness.stats._options import match_option, one_snapshot
from fairness.stats.intervals import confint_proportion

__all__ = ["disparity_table", "band_labels", "band_positions", "DISPARITY_COLUMNS"]

Threshold = Literal["red", "red_amber"]
DISPARITY_COLUMNS: tuple[str, ...] = (
    "threshold", "by", "group", "reference", "n", "positives", "selected", "tp", "fp", "tn", "fn",
    "selection_rate", "selection_rate_low", "selection_rate_high",
    "fpr", "fpr_low", "fpr_high", "fnr", "fnr_low", "fnr_high",
    "selection_rate_ratio", "fpr_ratio", "fnr_ratio", "note",
)
ERR_THRESHOLD = "threshold {value!r} is not valid; valid: red, red_amber"
ERR_NO_OUTCOME = "the matrix has no outcome_violence_12m column: band performance is not assessable"
ERR_BAND = "risk_band holds {values}, which {verb} not a band; valid: {valid} (any case)"
ERR_BAND_MISSING = "risk_band is missing in {n:,} row(s) (first: row {row}); valid: {valid}"


def band_positions(bands: pd.Series) -> np.ndarray:
    """Position of each row's band in ``defs.RISK_BANDS`` (Red=0, Amber=1, Green=2), read by label.

    Works whatever the dtype (strings, object, a Categorical in any category
    order, e.g. ``pd.Categorical(bands)`` with the alphabetical Amber, Green,
    Red) and matches labels as data values are matched (any case, spaces
    ignored). An unknown or missing label raises ``ValueError``.
    """
    valid = {b.casefold(): i for i, b in enumerate(defs.RISK_BANDS)}
    if isinstance(bands.dtype, pd.CategoricalDtype):
        # one lookup per category, then the codes: cost linear in the rows, no strings built
        codes, uniques = bands.cat.codes.to_numpy(), list(bands.cat.categories)
        used = np.zeros(len(uniques), dtype=bool)
        used[codes[codes >= 0]] = True
        uniques = [u if k else defs.RISK_BANDS[0] for u, k in zip(uniques, used, strict=True)]  # unused: harmless
    else:
        codes, uniques = pd.factorize(bands, use_na_sentinel=True)
    lookup = np.array([valid.get(str(u).strip().casefold(), -1) for u in uniques], dtype=np.int64)
    unknown = [str(u) for u, k in zip(uniques, lookup, strict=True) if k < 0]
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise ValueError(ERR_BAND.format(values=shown, verb="is" if len(unknown) == 1 else "are",
                                         valid=", ".join(defs.RISK_BANDS)))
    missing = codes < 0
    if missing.any():
        raise ValueError(ERR_BAND_MISSING.format(n=int(missing.sum()), row=int(np.argmax(missing)),
                                                 valid=", ".join(defs.RISK_BANDS)))
    return lookup[codes] if len(lookup) else np.zeros(len(bands), dtype=np.int64)


def band_labels(bands: pd.Series) -> np.ndarray:
    """Each row's band as its canonical label ("Red", "Amber", "Green"), read as :func:`band_positions` reads it."""
    return np.asarray(defs.RISK_BANDS, dtype=object)[band_positions(bands)]


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
        Band(s) treated as a positive prediction. Bands are read by label
        (any dtype, any category order, any case); an unknown label raises
        ``ValueError`` listing the valid ones.
    reference : str, default "White"
        Group the ratios compare with, matched as data values are (any case).
    quarter : str, optional
        Only rows of this quarter (e.g. "2022Q4"). Required when the matrix
        holds several snapshots (pooling them would count a person once per
        quarter): the error names the quarters found.

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
    try:
        threshold = match_option(threshold, defs.BAND_THRESHOLDS, name="threshold")
    except ValueError:
        raise ValueError(ERR_THRESHOLD.format(value=threshold)) from None
    if defs.OUTCOME_COLUMN is None or defs.OUTCOME_COLUMN not in matrix:
        raise ValueError(ERR_NO_OUTCOME)
    matrix = one_snapshot(matrix, quarter, function="disparity_table")
    outcome = matrix[defs.OUTCOME_COLUMN]
    known = outcome.notna().to_numpy()
    unknown = int(len(matrix) - known.sum())
    groups = matrix[by].astype("category")
    categories = [str(c) for c in groups.cat.categories]
    reference = _match_group(reference, categories)
    g = groups.cat.codes.to_numpy()[known].astype(np.int64)
    band = band_positions(matrix["risk_band"])[known]
    # bands predicted positive, by label (defs.BAND_THRESHOLDS), never by category code
    positive = np.array([b in defs.BAND_THRESHOLDS[threshold] for b in defs.RISK_BANDS])
    y_pred = positive[band]
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


def _match_group(reference: str, categories: list[str]) -> str:
    """The group named by ``reference``, matched as data values are; unchanged when absent."""
    try:
        return match_option(reference, categories, name="reference")
    except ValueError:
        return reference
