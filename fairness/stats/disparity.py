"""The group disparity table: selection and error rates of a band threshold, per group.

The table a bias-audit toolkit (Aequitas' ``Group``/``Bias``, fairlearn's
``MetricFrame``) produces: for each group, how often the band flags people
(selection rate), how often it flags people who went on to no violence (false
positive rate) and misses people who did (false negative rate), each with its
counts and a Wilson interval, and each group's rate relative to a reference
group. It is built from one count per (group, prediction, outcome) cell —
``numpy.bincount`` over category codes, read at the positions of the quarter's
rows — so its cost is one pass over the dates and one over the quarter's rows.
Given a file, the cells are counted by the DuckDB engine
(:func:`fairness.counts.duck.count_quarter`) after every row of the file has
been validated, and the table is built from them by the same code.
The fuller analysis, with calibration, intersections and equalised-odds
summaries, is :func:`fairness.stats.bands.band_performance`; on the same rows the
rates here are identical to it and to fairlearn's (tested).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.quarters import in_quarter
from fairness.stats._options import choose_quarter, match_option, one_snapshot
from fairness.stats.intervals import confint_proportion

if TYPE_CHECKING:
    from fairness.io.validation import ValidationResult

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
ERR_BY_FILE = "by={by!r} cannot be counted from a file; valid: {valid} (the matrix format's text columns)"
#: The first row's note when rows of the file were quarantined (left out of every count). The count is
#: the whole file's, all quarters: a quarantined row may have no valid date, so it has no quarter.
NOTE_QUARANTINED = ("{n:,} rows of the whole file (all quarters, not this one alone) quarantined (failed "
                    "validation) and left out: a quarantined row may have no valid date, so it cannot be "
                    "given a quarter")


def band_positions(bands: pd.Series) -> np.ndarray:
    """Position of each row's band in ``defs.RISK_BANDS`` (Red=0, Amber=1, Green=2), read by label.

    Works whatever the dtype (strings, object, a Categorical in any category
    order, e.g. ``pd.Categorical(bands)`` with the alphabetical Amber, Green,
    Red) and matches labels as data values are matched (any case, spaces
    ignored). An unknown or missing label raises ``ValueError``.
    """
    return _band_positions(bands, None)


def _band_positions(bands: pd.Series, rows: np.ndarray | None) -> np.ndarray:
    """:func:`band_positions` of the rows at positions ``rows`` (None: every row), a Categorical read
    from its codes without taking the rows out first."""
    valid = {b.casefold(): i for i, b in enumerate(defs.RISK_BANDS)}
    if isinstance(bands.dtype, pd.CategoricalDtype):
        # one lookup per category, then the codes: cost linear in the rows, no strings built
        codes, uniques = _at(bands.cat.codes.to_numpy(), rows), list(bands.cat.categories)
        used = np.zeros(len(uniques), dtype=bool)
        used[codes[codes >= 0]] = True
        uniques = [u if k else defs.RISK_BANDS[0] for u, k in zip(uniques, used, strict=True)]  # unused: harmless
    else:
        codes, uniques = pd.factorize(bands if rows is None else bands.take(rows), use_na_sentinel=True)
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
    return lookup[codes] if len(lookup) else np.zeros(len(codes), dtype=np.int64)


def band_labels(bands: pd.Series) -> np.ndarray:
    """Each row's band as its canonical label ("Red", "Amber", "Green"), read as :func:`band_positions` reads it."""
    return np.asarray(defs.RISK_BANDS, dtype=object)[band_positions(bands)]


def disparity_table(
    matrix: pd.DataFrame | str | os.PathLike[str] | ValidationResult,
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
    matrix : DataFrame, path or ValidationResult
        Validated matrix (categorical ``by`` column, ``risk_band``,
        ``outcome_violence_12m``). Rows whose outcome is not yet known are
        left out (the ``note`` of the first row says how many).
        Or the path of a matrix file (CSV or Parquet, a folder or pattern of
        Parquet files): read, every row validated by every rule of the format,
        and counted by the DuckDB engine, as ``fairness audit`` reads a file
        (the read is written to the audit log); quarantined rows are left out
        and the ``note`` of the first row says how many. Or a
        :class:`~fairness.io.validation.ValidationResult` (``fairness.validate``,
        ``fairness.read_matrix``): its valid rows, its quarantined ones noted.
    by : str, default "ethnicity"
        A categorical column; every category gets a row, empty ones with n = 0.
        From a file: one of the format's text columns (``borough``,
        ``ethnicity``, ``sex``, ``risk_band``).
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
        (``note`` says which). The same table from a file as from its valid
        rows in memory (``read_matrix(path).valid``), but for the note of
        quarantined rows.

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
    if _file_input(matrix):
        return _from_file(matrix, by=by, threshold=threshold, reference=reference, quarter=quarter, alpha=alpha)
    if defs.OUTCOME_COLUMN is None or defs.OUTCOME_COLUMN not in matrix:
        raise ValueError(ERR_NO_OUTCOME)
    matrix, rows = _snapshot(matrix, quarter)
    outcome = matrix[defs.OUTCOME_COLUMN]
    if rows is not None:
        outcome = outcome.take(rows)
    known = outcome.notna().to_numpy()
    unknown = int(len(outcome) - known.sum())
    groups = matrix[by]
    if isinstance(groups.dtype, pd.CategoricalDtype):  # the codes of the rows, none taken out
        codes, categories = _at(groups.cat.codes.to_numpy(), rows), groups.cat.categories
    else:
        groups = (groups if rows is None else groups.take(rows)).astype("category")
        codes, categories = groups.cat.codes.to_numpy(), groups.cat.categories
    categories = [str(c) for c in categories]
    reference = _match_group(reference, categories)
    cells = _cells(codes, _band_positions(matrix["risk_band"], rows), outcome.to_numpy(dtype=bool, na_value=False),
                   known, threshold=threshold, n_groups=len(categories))
    return _table(cells, categories, by=by, threshold=threshold, reference=reference, alpha=alpha,
                  unknown=unknown)


def _cells(g: np.ndarray, band: np.ndarray, y_true: np.ndarray, known: np.ndarray, *, threshold: str,
           n_groups: int, weights: np.ndarray | None = None) -> np.ndarray:
    """``cells[group, predicted, outcome]``: the rows with a known outcome counted (each ``weights`` times) by
    their group code ``g`` (-1: none, not counted), band position and outcome."""
    g = g[known].astype(np.int64, copy=False)
    # bands predicted positive, by label (defs.BAND_THRESHOLDS), never by category code
    y_pred = _positive(threshold)[band[known]]
    y_true = y_true[known]
    valid = g >= 0
    key = (g[valid] * 2 + y_pred[valid]) * 2 + y_true[valid]
    cells = np.bincount(key, weights=None if weights is None else weights[known][valid], minlength=n_groups * 4)
    return cells.astype(np.int64, copy=False).reshape(n_groups, 2, 2)


def _file_input(matrix: Any) -> bool:
    """A path, or a ValidationResult (validation is imported only then)."""
    if isinstance(matrix, (str, os.PathLike)):
        return True
    if isinstance(matrix, pd.DataFrame):
        return False
    from fairness.io.validation import ValidationResult

    return isinstance(matrix, ValidationResult)


def _from_file(matrix: Any, *, by: str, threshold: str, reference: str, quarter: str | None,
               alpha: float) -> pd.DataFrame:
    """The table of a file (read, validated and counted by DuckDB) or of a ValidationResult."""
    from fairness.counts import duck

    by_file = list(_text_columns())
    if isinstance(matrix, (str, os.PathLike)):
        if by not in by_file:
            raise ValueError(ERR_BY_FILE.format(by=by, valid=", ".join(by_file)))
        validation, owned = duck.read_file_and_log(matrix, command="disparity_table"), True
    else:
        validation, owned = matrix, False
    try:
        if not isinstance(validation, duck.ParquetValidation) or getattr(validation.session, "profile", None):
            # rows in memory; or a file validated under a profile: its rows taken out, typed with its categories
            table = disparity_table(duck.with_valid_rows(validation).valid, by=by, threshold=threshold,
                                    reference=reference, quarter=quarter, alpha=alpha)
            return _noted(table, quarantined=validation.n_quarantined)
        if by not in by_file:
            raise ValueError(ERR_BY_FILE.format(by=by, valid=", ".join(by_file)))
        if defs.OUTCOME_COLUMN is None or defs.OUTCOME_COLUMN not in validation.session.src.names:
            raise ValueError(ERR_NO_OUTCOME)
        selected = choose_quarter(duck.valid_quarters(validation), quarter, function="disparity_table")
        columns = [by, "risk_band", defs.OUTCOME_COLUMN]
        found = (duck.count_quarter(validation, columns, quarter=selected) if selected  # "": no valid rows
                 else pd.DataFrame({**{c: pd.Series(dtype=object) for c in columns}, "count": np.array([], "int64")}))
        categories = [str(c) for c in _text_columns()[by]]
        counts = found["count"].to_numpy(dtype=np.int64)
        outcome = found[defs.OUTCOME_COLUMN]
        known = outcome.notna().to_numpy()
        unknown = int(counts[~known].sum())
        where = {c: i for i, c in enumerate(categories)}
        g = np.fromiter((where.get(v, -1) for v in found[by]), dtype=np.int64, count=len(found))
        cells = _cells(g, band_positions(found["risk_band"].astype(object)),
                       outcome.to_numpy(dtype=bool, na_value=False), known, threshold=threshold,
                       n_groups=len(categories), weights=counts)
        table = _table(cells, categories, by=by, threshold=threshold, reference=_match_group(reference, categories),
                       alpha=alpha, unknown=unknown)
        return _noted(table, quarantined=validation.n_quarantined)
    finally:
        if owned and getattr(validation, "session", None) is not None:
            validation.session.close()


def _text_columns() -> dict[str, list[str]]:
    """The matrix format's categorical columns and their categories (a profile's, while one is active)."""
    from fairness.io.validation import canonical_dtypes

    return {c: list(d.categories) for c, d in canonical_dtypes().items() if isinstance(d, pd.CategoricalDtype)}


def _noted(table: pd.DataFrame, *, unknown: int = 0, quarantined: int = 0) -> pd.DataFrame:
    """The table with the rows left out (outcome not yet known; quarantined) added to the first row's note."""
    added = ([f"{unknown:,} rows with the outcome not yet known left out"] if unknown else []) + (
        [NOTE_QUARANTINED.format(n=quarantined)] if quarantined else [])
    if added and len(table):
        note = table.at[0, "note"]
        table.loc[0, "note"] = "; ".join(([note] if note else []) + added)
    return table


def _at(values: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    return values if rows is None else values[rows]


def _positive(threshold: str) -> np.ndarray:
    """Whether each band (by its place in ``defs.RISK_BANDS``) is a positive prediction."""
    return np.array([b in defs.BAND_THRESHOLDS[threshold] for b in defs.RISK_BANDS])


def _snapshot(matrix: pd.DataFrame, quarter: str | None) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The matrix and the positions of one snapshot's rows in it (None: every row), as
    :func:`~fairness.stats._options.one_snapshot` selects them (the same rows, the same errors).

    The rows of a named quarter are found without taking them out of the frame: with plain
    ``datetime64`` dates, by :func:`~fairness.quarters.in_quarter`, then their positions.
    """
    if quarter is not None and "snapshot_date" in matrix.columns:
        keep = in_quarter(matrix["snapshot_date"], quarter)
        rows = None if keep is None else np.flatnonzero(keep)
        if rows is not None and len(rows):
            return matrix, (None if len(rows) == len(matrix) else rows)
    return one_snapshot(matrix, quarter, function="disparity_table"), None


def _table(cells: np.ndarray, categories: list[str], *, by: str, threshold: str, reference: str, alpha: float,
           unknown: int) -> pd.DataFrame:
    """The table from its counts: ``cells[group, predicted, outcome]``."""
    tn, fn, fp, tp = cells[:, 0, 0], cells[:, 0, 1], cells[:, 1, 0], cells[:, 1, 1]
    n = tn + fn + fp + tp
    positives, negatives, selected = tp + fn, tn + fp, tp + fp
    columns = {"threshold": threshold, "by": by, "group": categories, "reference": reference,
               "n": n, "positives": positives, "selected": selected, "tp": tp, "fp": fp, "tn": tn, "fn": fn}
    try:
        ref = categories.index(reference)
    except ValueError:
        ref = None
    for name, num, den in (("selection_rate", selected, n), ("fpr", fp, negatives), ("fnr", fn, positives)):
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
        columns[name] = r
        columns[f"{name}_low"], columns[f"{name}_high"] = confint_proportion(num, den, alpha=alpha)
    for name in ("selection_rate", "fpr", "fnr"):
        base = columns[name][ref] if ref is not None else np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            columns[f"{name}_ratio"] = (columns[name] / base if base and np.isfinite(base)
                                        else np.full(len(categories), np.nan))
    notes = np.where(n == 0, "no one with a known outcome: not estimable",
                     np.where(positives == 0, "no later violence in this group: FNR not estimable",
                              np.where(negatives == 0, "everyone had later violence: FPR not estimable", "")))
    if ref is None:
        notes = np.where(notes == "", f"reference group {reference} absent: ratios not estimable", notes)
    columns["note"] = notes
    return _noted(pd.DataFrame(columns, columns=list(DISPARITY_COLUMNS)), unknown=unknown)


def _match_group(reference: str, categories: list[str]) -> str:
    """The group named by ``reference``, matched as data values are; unchanged when absent."""
    try:
        return match_option(reference, categories, name="reference")
    except ValueError:
        return reference
