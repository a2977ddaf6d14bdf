"""How the risk bands perform: error rates, parity and calibration by group.

The matrix puts each person in a Red, Amber or Green band. Where the outcome
is known (``outcome_violence_12m``: did the person commit violence in the 12
months after the snapshot?), a band cut-off can be read as a prediction and
audited like any classifier:

* ``"red"``: Red is a positive prediction, Amber and Green negative;
* ``"red_amber"``: Red or Amber positive, Green negative.

For each cut-off and each breakdown (ethnic group, age band, sex and their
intersections) :func:`band_performance` reports the confusion matrix, the
selection rate, false positive rate, false negative rate, precision and base
rate, each with its count, denominator and Wilson interval; differences and
ratios against a reference group with intervals; fairlearn's equalised-odds
and demographic-parity summaries; and calibration (the outcome rate within
each band, by group).

The rates are fairlearn's (``MetricFrame`` with ``selection_rate``,
``false_positive_rate``, ``false_negative_rate`` and sklearn's
``precision_score``), computed from the confusion counts of each group, which
give the same numbers to the last bit without importing fairlearn and
scikit-learn (about a second) in every audit; this module adds what they lack: intervals, a named reference group, groups
that are empty or have no outcomes kept and marked instead of reported as 0,
and an explicit "not assessable" result when outcomes are not known.

Units are person-snapshots. Pooling several quarters counts a person once per
snapshot, so the intervals (which assume independent records) are then too
narrow; pass ``quarter=`` for one snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.counts.groups import age_band as _age_band_series
from fairness.definitions import DEFAULT_REFERENCE
from fairness.quarters import normalise_quarter, quarter_codes
from fairness.stats._options import match_option
from fairness.stats.disparity import band_positions
from fairness.stats.intervals import (
    confint_difference_proportions,
    confint_proportion,
    confint_rate_ratio,
)

__all__ = [
    "BY_GROUP_COLUMNS",
    "RATE_PARTS",
    "BandPerformance",
    "CALIBRATION_COLUMNS",
    "DEFAULT_BY",
    "GROUP_SEPARATOR",
    "METRICS",
    "STATUS_ASSESSED",
    "STATUS_NOT_ASSESSABLE",
    "SUMMARY_COLUMNS",
    "THRESHOLDS",
    "VERSUS_REFERENCE_COLUMNS",
    "age_band",
    "band_performance",
    "band_performance_from_cells",
]

OUTCOME = "outcome_violence_12m"
STATUS_ASSESSED = "assessed"
STATUS_NOT_ASSESSABLE = "not assessable"

#: Band cut-offs: the bands read as a positive prediction.
THRESHOLDS: Mapping[str, tuple[str, ...]] = defs.BAND_THRESHOLDS
ThresholdName = Literal["red", "red_amber"]

#: Default breakdowns: ethnic group, age band, sex, ethnic group x age band.
DEFAULT_BY: tuple[tuple[str, ...], ...] = (
    ("ethnicity",),
    ("age_band",),
    ("sex",),
    ("ethnicity", "age_band"),
)
#: Joins column names in ``by`` and values in ``group`` for intersections,
#: e.g. by "ethnicity / age_band", group "Black / 18-24".
GROUP_SEPARATOR = " / "

#: The rates, each with (numerator, denominator) in the confusion counts.
METRICS: tuple[str, ...] = ("selection_rate", "fpr", "fnr", "precision", "base_rate")
RATE_PARTS: Mapping[str, tuple[str, str]] = {
    "selection_rate": ("selected", "n"),
    "fpr": ("fp", "negatives"),
    "fnr": ("fn", "positives"),
    "precision": ("tp", "selected"),
    "base_rate": ("positives", "n"),
}
_NOT_ESTIMABLE: Mapping[str, str] = {
    "fpr": "fpr not estimable: no non-outcomes",
    "fnr": "fnr not estimable: no outcomes",
    "precision": "precision not estimable: nobody selected",
}

BY_GROUP_COLUMNS: tuple[str, ...] = (
    "threshold",
    "by",
    "group",
    "n",
    "positives",
    "selected",
    "tp",
    "fp",
    "tn",
    "fn",
    *(f"{m}{s}" for m in METRICS for s in ("", "_low", "_high")),
    "note",
)
VERSUS_REFERENCE_COLUMNS: tuple[str, ...] = (
    "threshold",
    "by",
    "group",
    "reference",
    "metric",
    "value",
    "reference_value",
    "difference",
    "diff_low",
    "diff_high",
    "ratio",
    "ratio_low",
    "ratio_high",
    "note",
)
SUMMARY_COLUMNS: tuple[str, ...] = (
    "threshold",
    "by",
    "equalized_odds_difference",
    "equalized_odds_ratio",
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "n_groups",
    "groups_excluded",
    "note",
)
CALIBRATION_COLUMNS: tuple[str, ...] = (
    "by",
    "group",
    "risk_band",
    "n",
    "outcomes",
    "rate",
    "ci_low",
    "ci_high",
    "note",
)

ERR_THRESHOLD = "unknown threshold {got!r}; valid thresholds are: {valid}"
ERR_BY_EMPTY = "by must name at least one breakdown, e.g. (('ethnicity',),)"
ERR_BY_COLUMN = (
    "breakdown {by!r} needs column {column!r}, which the matrix lacks (columns: {columns})"
)
ERR_ALPHA = "alpha must be strictly between 0 and 1; got {alpha!r}"
ERR_REFERENCE_GROUP = (
    "reference {reference!r} is not a group of breakdown {by!r}; valid groups: {valid}"
)
ERR_REFERENCE_UNUSED = "reference {reference!r} is not a group of any breakdown in by={by!r}"
ERR_REFERENCE_KEY = "reference names breakdown {key!r}, which is not in by; breakdowns: {valid}"

REASON_NO_OUTCOME_COLUMN = f"column {OUTCOME} absent"
REASON_NO_ROWS = "no records in quarter(s) {quarters}"
REASON_EMPTY_MATRIX = "the matrix has no records"
REASON_ALL_UNKNOWN = "outcome not yet known for any record in {quarters}"
REASON_QUARTERS_UNKNOWN = "outcome not yet known in {quarters} ({n} records excluded)"
REASON_MISSING_GROUP = "{by}: {n} records with a missing value excluded"
NOTE_EMPTY = "not estimable: no records with known outcome"
NOTE_EO_FEW = "fewer than 2 groups with both outcomes and non-outcomes"
NOTE_DP_FEW = "fewer than 2 groups with records"


# --------------------------------------------------------------------------
# Age bands
# --------------------------------------------------------------------------


def age_band(ages: Sequence[int] | pd.Series | np.ndarray) -> pd.Categorical:
    """Age band of each age, as an ordered Categorical.

    The bands are :data:`fairness.definitions.AGE_BANDS`: 10-17, 18-24, 25-34
    and 35+ (35 to 99), both ends inclusive. Ages outside every band, and
    missing ages, are missing (NaN).

    Parameters
    ----------
    ages : array_like of int
        Age in completed years.

    Returns
    -------
    pandas.Categorical
        Labels from ``AGE_BANDS``, in order, all of them as categories.

    Examples
    --------
    >>> list(age_band([10, 17, 18, 24, 25, 34, 35, 99, 9]))
    ['10-17', '10-17', '18-24', '18-24', '25-34', '25-34', '35+', '35+', nan]
    """
    values = pd.to_numeric(pd.Series(np.asarray(ages, dtype=object)), errors="coerce")
    return pd.Categorical(_age_band_series(values.astype("float64")))


# --------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class BandPerformance:
    """How the bands perform, as tidy tables.

    Attributes
    ----------
    by_group : DataFrame
        Columns :data:`BY_GROUP_COLUMNS`. One row per threshold, breakdown
        and group (every combination of categories, empty ones included):
        ``n`` records with known outcome, ``positives`` (outcome true),
        ``selected`` (predicted positive), the confusion counts ``tp, fp, tn,
        fn``; for each rate in :data:`METRICS` the estimate and its Wilson
        interval ``*_low``, ``*_high``:

        - ``selection_rate`` = selected / n
        - ``fpr`` = fp / (fp + tn)
        - ``fnr`` = fn / (tp + fn) = fn / positives
        - ``precision`` = tp / selected (positive predictive value)
        - ``base_rate`` = positives / n

        A rate whose denominator is 0 is NaN and ``note`` says so (e.g.
        "fnr not estimable: no outcomes"), never 0.
    versus_reference : DataFrame
        Columns :data:`VERSUS_REFERENCE_COLUMNS`. Each group other than the
        reference, for each rate: ``value``, ``reference_value``,
        ``difference`` = value - reference value with Newcombe's hybrid score
        interval, ``ratio`` = value / reference value with the Katz log
        interval (NaN when a count is 0; the ratio itself NaN when the
        reference value is 0), and a ``note`` when something is not estimable.
    summary : DataFrame
        Columns :data:`SUMMARY_COLUMNS`. fairlearn's
        ``equalized_odds_difference``/``_ratio`` (worst case over TPR and FPR,
        between groups) and ``demographic_parity_difference``/``_ratio``, per
        threshold and breakdown. fairlearn counts a rate with no denominator
        as 0, so groups without both outcomes and non-outcomes are left out of
        the equalised-odds figures and named in ``groups_excluded``;
        ``n_groups`` is the number of groups with records.
    calibration : DataFrame
        Columns :data:`CALIBRATION_COLUMNS`. Outcome rate within each band,
        by group, with Wilson interval (threshold-free).
    status : {"assessed", "not assessable"}
        "not assessable" when there is no outcome column, no record in the
        quarter(s), or no record whose outcome is known; the tables are then
        empty (with their columns) and nothing is imputed.
    reason : str
        Why not assessable; when assessed, what was left out (quarters whose
        outcome is entirely unknown, records with a missing group), or "".
    n_outcome_unknown : int
        Records in the selected quarter(s) whose outcome is unknown (all of
        them when the column is absent); they are excluded from every table.
    quarters : tuple of str
        Quarters whose records with a known outcome were used.
    """

    by_group: pd.DataFrame
    versus_reference: pd.DataFrame
    summary: pd.DataFrame
    calibration: pd.DataFrame
    status: Literal["assessed", "not assessable"]
    reason: str
    n_outcome_unknown: int
    quarters: tuple[str, ...] = ()


def _empty(columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in columns})


def _not_assessable(reason: str, n_unknown: int) -> BandPerformance:
    return BandPerformance(
        by_group=_empty(BY_GROUP_COLUMNS),
        versus_reference=_empty(VERSUS_REFERENCE_COLUMNS),
        summary=_empty(SUMMARY_COLUMNS),
        calibration=_empty(CALIBRATION_COLUMNS),
        status=STATUS_NOT_ASSESSABLE,
        reason=reason,
        n_outcome_unknown=int(n_unknown),
    )


#: Columns of the count table the tables are computed from: one row per
#: quarter, group, band and outcome (``<NA>`` = not yet known), with the
#: number of records in ``count``.
CELL_COLUMNS: tuple[str, ...] = ("quarter", "risk_band", "outcome", "count")


def _outcome_cells(matrix: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Records counted by quarter, the breakdown ``columns``, band and outcome.

    The whole computation works from this table, so a million records cost
    one group-by; a record's weight in every metric is its cell's ``count``.
    ``age_band`` is derived from ``age`` when the matrix has no such column.
    """
    codes, labels = quarter_codes(matrix["snapshot_date"])
    data: dict[str, object] = {
        "quarter": pd.Categorical.from_codes(codes, categories=labels) if labels
        else pd.Categorical([None] * len(matrix))
    }
    for col in columns:
        if col == "age_band" and "age_band" not in matrix.columns:
            data[col] = age_band(matrix["age"])
        else:
            data[col] = matrix[col].to_numpy() if not isinstance(matrix[col].dtype, pd.CategoricalDtype) \
                else matrix[col].array
    # by label, whatever the dtype or category order (never by category code)
    data["risk_band"] = pd.Categorical.from_codes(band_positions(matrix["risk_band"]),
                                                  categories=list(defs.RISK_BANDS))
    outcome = defs.OUTCOME_COLUMN
    if outcome is not None and outcome in matrix.columns:
        data["outcome"] = matrix[outcome].astype("boolean").array
    else:
        data["outcome"] = pd.array([pd.NA] * len(matrix), dtype="boolean")
    frame = pd.DataFrame(data)
    keys = list(frame.columns)
    cells = frame.groupby(keys, observed=True, dropna=False, sort=False).size()
    return cells.rename("count").reset_index()


def _weighted_frame(cells: pd.DataFrame, cols: tuple[str, ...]) -> pd.DataFrame:
    """Cells of known outcome summed by group label, band and outcome (non-empty only)."""
    label = (
        cells[cols[0]].astype(object).map(str)
        if len(cols) == 1
        else pd.DataFrame({c: cells[c].astype(object).map(str) for c in cols}).agg(GROUP_SEPARATOR.join, axis=1)
    )
    frame = pd.DataFrame({
        "group": label.to_numpy(dtype=object),
        "risk_band": cells["risk_band"].astype(object).to_numpy(),
        "y": cells["outcome"].astype(bool).to_numpy(dtype=int),
        "count": cells["count"].to_numpy(dtype="int64"),
    })
    out = frame.groupby(["group", "risk_band", "y"], sort=False, dropna=False)["count"].sum().reset_index()
    return out[out["count"] > 0].reset_index(drop=True)


# --------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------


def _threshold(name: object) -> str:
    """The threshold named by ``name``, matched as data values are (any case)."""
    try:
        return match_option(name, defs.BAND_THRESHOLDS, name="threshold")
    except ValueError:
        raise ValueError(ERR_THRESHOLD.format(got=name, valid=", ".join(defs.BAND_THRESHOLDS))) from None


def _group_named(name: object, groups: Sequence[str]) -> str | None:
    """The group of ``groups`` that ``name`` names (any case), or None."""
    try:
        return match_option(name, groups, name="reference")
    except ValueError:
        return None


def _normalise_by(by) -> list[tuple[str, ...]]:
    if isinstance(by, str):
        by = [by]
    out = [(b,) if isinstance(b, str) else tuple(b) for b in by]
    if not out or any(len(b) == 0 for b in out):
        raise ValueError(ERR_BY_EMPTY)
    return list(dict.fromkeys(out))


def _label(cols: Sequence[str]) -> str:
    return GROUP_SEPARATOR.join(cols)


def _categories(series: pd.Series) -> list[str]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return [str(c) for c in series.cat.categories]
    return sorted({str(v) for v in series.dropna()})


def _resolve_reference(reference, breakdowns, groups_n: dict[str, pd.Series]) -> dict[str, str]:
    """Reference group per breakdown label."""
    labels = [_label(b) for b in breakdowns]
    chosen: dict[str, str] = {}
    if isinstance(reference, Mapping):
        for key, group in reference.items():
            key_label = key if isinstance(key, str) else _label(key)
            if key_label not in labels:
                raise ValueError(ERR_REFERENCE_KEY.format(key=key, valid=labels))
            valid = list(groups_n[key_label].index)
            matched = _group_named(group, valid)
            if matched is None:
                raise ValueError(
                    ERR_REFERENCE_GROUP.format(reference=group, by=key_label, valid=valid)
                )
            chosen[key_label] = matched
    elif isinstance(reference, str):
        for label in labels:
            matched = _group_named(reference, list(groups_n[label].index))
            if matched is not None:
                chosen[label] = matched
        if not chosen:
            raise ValueError(ERR_REFERENCE_UNUSED.format(reference=reference, by=labels))
    for cols, label in zip(breakdowns, labels, strict=True):
        if label in chosen:
            continue
        sizes = groups_n[label]
        if cols == ("ethnicity",) and DEFAULT_REFERENCE in sizes.index:
            chosen[label] = DEFAULT_REFERENCE
        else:
            chosen[label] = str(sizes.idxmax())  # first largest, in category order
    return chosen


# --------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------


def _group_labels(cells: pd.DataFrame, cols: tuple[str, ...]) -> list[str]:
    """Every group label of a breakdown, in category order (empty groups included)."""
    grids = [_categories(cells[c]) for c in cols]
    combos = pd.MultiIndex.from_product(grids) if len(cols) > 1 else pd.Index(grids[0])
    return [_label(c) if isinstance(c, tuple) else str(c) for c in combos]


def _by_group_table(
    weighted: pd.DataFrame,
    labels: list[str],
    threshold: str,
    by_label: str,
    alpha: float,
) -> pd.DataFrame:
    """One threshold and breakdown: confusion counts from the count table, and each rate from them.

    Each rate is :data:`RATE_PARTS`' numerator over its denominator: fairlearn's and sklearn's
    weighted metrics divide the same two sums of record counts (whole numbers, so exact in
    float64 whatever the order of summing), so the figures are theirs to the last bit
    (tests/test_bands.py compares them with fairlearn's ``MetricFrame`` on the records).
    """
    y_true = weighted["y"].to_numpy()
    y_pred = weighted["risk_band"].isin(defs.BAND_THRESHOLDS[threshold]).to_numpy(dtype=int)
    # records of each group in each cell (tn, fn, fp, tp = 0, 1, 2, 3), summed as whole numbers
    # (a pivot table gave the same sums at ten times the cost); groups not in ``labels`` left out
    cell = 2 * y_pred + np.asarray(y_true, dtype="int64")
    row = pd.Index(labels).get_indexer(weighted["group"].to_numpy())
    known = row >= 0
    cells = np.zeros((len(labels), 4), dtype="int64")
    np.add.at(cells, (row[known], cell[known]), weighted["count"].to_numpy(dtype="int64")[known])
    out = pd.DataFrame({"threshold": threshold, "by": by_label, "group": labels})
    for c, k in (("tp", 3), ("fp", 2), ("tn", 0), ("fn", 1)):
        out[c] = cells[:, k]
    out["positives"] = out["tp"] + out["fn"]
    out["negatives"] = out["fp"] + out["tn"]
    out["selected"] = out["tp"] + out["fp"]
    out["n"] = out["positives"] + out["negatives"]
    notes = [[NOTE_EMPTY] if n == 0 else [] for n in out["n"]]
    for metric in METRICS:
        num, den = RATE_PARTS[metric]
        denominator = out[den].to_numpy()
        numerator = out[num].to_numpy(dtype="float64")
        # no denominator: not a rate (fairlearn reports 0 here)
        out[metric] = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), np.nan)
        out[f"{metric}_low"], out[f"{metric}_high"] = confint_proportion(
            out[num].to_numpy(), denominator, alpha=alpha, method="wilson"
        )
        if metric in _NOT_ESTIMABLE:
            for i, (n, d) in enumerate(zip(out["n"], denominator, strict=True)):
                if n > 0 and d == 0:
                    notes[i].append(_NOT_ESTIMABLE[metric])
    out["note"] = ["; ".join(n) for n in notes]
    return out


def _versus_table(by_group: pd.DataFrame, reference: str, alpha: float) -> pd.DataFrame:
    ref = by_group.set_index("group").loc[reference]
    others = by_group[by_group["group"] != reference]
    rows = []
    for metric in METRICS:
        num, den = RATE_PARTS[metric]
        c1, n1 = others[num].to_numpy(dtype=float), others[den].to_numpy(dtype=float)
        c2, n2 = np.full(len(others), float(ref[num])), np.full(len(others), float(ref[den]))
        diff, diff_low, diff_high = confint_difference_proportions(
            c1, n1, c2, n2, alpha=alpha, method="newcombe"
        )
        ratio, ratio_low, ratio_high = confint_rate_ratio(
            c1, n1, c2, n2, alpha=alpha, method="katz"
        )
        ratio = np.asarray(ratio, dtype=float)
        notes = []
        for k in range(len(others)):
            note = []
            if n1[k] == 0:
                note.append("group rate not estimable")
            if n2[k] == 0:
                note.append("reference rate not estimable")
            if n1[k] > 0 and n2[k] > 0:
                if c2[k] == 0:
                    note.append("ratio not estimable: reference rate is 0")
                elif c1[k] == 0:
                    note.append("ratio interval not estimable: group count is 0")
            notes.append("; ".join(note))
        ratio = np.where(np.isfinite(ratio), ratio, np.nan)
        rows.append(
            pd.DataFrame(
                {
                    "threshold": others["threshold"].to_numpy(),
                    "by": others["by"].to_numpy(),
                    "group": others["group"].to_numpy(),
                    "reference": reference,
                    "metric": metric,
                    "value": others[metric].to_numpy(dtype=float),
                    "reference_value": float(ref[metric]),
                    "difference": diff,
                    "diff_low": diff_low,
                    "diff_high": diff_high,
                    "ratio": ratio,
                    "ratio_low": np.where(np.isfinite(ratio), ratio_low, np.nan),
                    "ratio_high": np.where(np.isfinite(ratio), ratio_high, np.nan),
                    "note": notes,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _between_groups(rates: np.ndarray) -> tuple[float, float]:
    """fairlearn's ``MetricFrame.difference()`` and ``.ratio()`` (method "between_groups") of one metric.

    ``difference`` is the largest absolute difference to the smallest rate,
    ``ratio`` the smallest rate over the largest (NaN when the largest is 0),
    computed as fairlearn does from the same per-group rates.
    """
    series = pd.Series(rates, dtype=float)
    low, high = series.min(), series.max()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.float64(low) / np.float64(high))
    return float((series - low).abs().max()), ratio


def _summary_row(by_group: pd.DataFrame, threshold: str, by_label: str) -> dict:
    """fairlearn's equalised-odds and demographic-parity figures, from the per-group counts.

    :func:`fairlearn.metrics.demographic_parity_difference` is the spread of
    the groups' selection rates (``selected / n``);
    :func:`~fairlearn.metrics.equalized_odds_difference` the larger of the
    spreads of the true positive rates (``tp / positives``) and the false
    positive rates (``fp / negatives``); the ratios are smallest over largest,
    and the equalised-odds ratio the smaller of the two. Computed from the
    counts (``tests/test_bands.py`` checks they equal fairlearn's functions
    on the records).
    """
    present = by_group[by_group["n"] > 0]
    both = present[(present["positives"] > 0) & (present["negatives"] > 0)]
    excluded = present.loc[~present["group"].isin(both["group"]), "group"].tolist()
    row = {
        "threshold": threshold,
        "by": by_label,
        "equalized_odds_difference": np.nan,
        "equalized_odds_ratio": np.nan,
        "demographic_parity_difference": np.nan,
        "demographic_parity_ratio": np.nan,
        "n_groups": len(present),
        "groups_excluded": "; ".join(excluded),
    }
    notes = []
    if len(present) >= 2:
        selection = present["selected"].to_numpy() / present["n"].to_numpy()
        row["demographic_parity_difference"], row["demographic_parity_ratio"] = _between_groups(selection)
    else:
        notes.append(NOTE_DP_FEW)
    if len(both) >= 2:
        tpr = _between_groups(both["tp"].to_numpy() / both["positives"].to_numpy())
        fpr = _between_groups(both["fp"].to_numpy() / both["negatives"].to_numpy())
        # fairlearn: max() and min() over the Series (tpr, fpr), in that order
        row["equalized_odds_difference"] = max([tpr[0], fpr[0]])
        row["equalized_odds_ratio"] = min([tpr[1], fpr[1]])
    else:
        notes.append(NOTE_EO_FEW)
    if excluded:
        notes.append("equalised odds without groups lacking outcomes or non-outcomes")
    row["note"] = "; ".join(notes)
    return row


def _calibration_table(
    weighted: pd.DataFrame,
    labels: list[str],
    by_label: str,
    alpha: float,
) -> pd.DataFrame:
    band_list = list(defs.RISK_BANDS)
    grid = pd.MultiIndex.from_product([labels, band_list], names=["group", "risk_band"])
    frame = weighted.assign(outcomes=weighted["count"] * weighted["y"])
    agg = frame.groupby(["group", "risk_band"], observed=True)[["count", "outcomes"]].sum()
    agg = agg.reindex(grid, fill_value=0)
    out = grid.to_frame(index=False)
    out.insert(0, "by", by_label)
    out["n"] = agg["count"].to_numpy(dtype="int64")
    out["outcomes"] = agg["outcomes"].to_numpy(dtype="int64")
    nn = out["n"].to_numpy()
    out["rate"] = np.divide(out["outcomes"], nn, out=np.full(len(nn), np.nan), where=nn > 0)
    out["ci_low"], out["ci_high"] = confint_proportion(
        out["outcomes"].to_numpy(), nn, alpha=alpha, method="wilson"
    )
    out["note"] = np.where(nn == 0, NOTE_EMPTY, "")
    return out


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def band_performance(
    matrix: pd.DataFrame,
    *,
    quarter: str | Sequence[str] | None = None,
    by: Sequence[str | Sequence[str]] = DEFAULT_BY,
    thresholds: Sequence[ThresholdName] = ("red", "red_amber"),
    reference: str | Mapping[str | tuple[str, ...], str] | None = None,
    alpha: float = 0.05,
) -> BandPerformance:
    """Error rates, parity and calibration of the risk bands, by group.

    Parameters
    ----------
    matrix : DataFrame
        A validated matrix. Needs ``risk_band``, ``snapshot_date``, the
        breakdown columns (``age_band`` is derived from ``age`` with
        :func:`age_band` when the matrix has no such column) and
        ``outcome_violence_12m`` (nullable boolean, <NA> where not yet known).
    quarter : str or sequence of str, optional
        Quarter label(s) ("2018Q4") of the snapshots to use; default all,
        pooled (a person then counts once per snapshot).
    by : sequence of breakdowns, default :data:`DEFAULT_BY`
        Each breakdown is a column name or a tuple of them (an intersection):
        ``[("ethnicity",), ("ethnicity", "age_band")]``. A bare tuple of
        strings is read as several one-column breakdowns.
    thresholds : sequence of {"red", "red_amber"}, default both
        Band cut-offs read as predictions (see :data:`THRESHOLDS`).
    reference : str or mapping, optional
        Reference group for ``versus_reference``. A str applies to every
        breakdown that has such a group (e.g. "White"); a mapping gives one
        per breakdown, keyed by its label ("ethnicity / age_band") or tuple.
        Default: "White" for ethnicity, the largest group (most records with
        a known outcome; the first in category order on a tie) otherwise.
    alpha : float, default 0.05
        Intervals are at the ``1 - alpha`` level.

    Returns
    -------
    BandPerformance
        Tables ``by_group``, ``versus_reference``, ``summary``,
        ``calibration``; ``status``, ``reason``, ``n_outcome_unknown`` and
        ``quarters``. See :class:`BandPerformance`.

    Raises
    ------
    ValueError
        For an unknown threshold, an empty ``by``, a breakdown column the
        matrix lacks, a reference group that does not exist, or a bad alpha.

    Notes
    -----
    Records whose outcome is not known are excluded and counted in
    ``n_outcome_unknown``; quarters whose outcome is entirely unknown are
    named in ``reason``. Without an outcome column, or without a single known
    outcome, the result is "not assessable" with empty tables: nothing is
    imputed. A band is not a prediction the police published as such; the
    cut-offs are a reading of the bands, to ask who is wrongly flagged.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({
    ...     "snapshot_date": pd.to_datetime(["2018-12-31"] * 4),
    ...     "ethnicity": pd.Categorical(["White", "White", "Black", "Black"]),
    ...     "risk_band": pd.Categorical(["Red", "Green", "Red", "Red"]),
    ...     "outcome_violence_12m": pd.array([True, False, False, pd.NA], dtype="boolean")})
    >>> result = band_performance(m, by=["ethnicity"], thresholds=["red"])
    >>> result.status, result.n_outcome_unknown
    ('assessed', 1)
    >>> print(result.by_group[["group", "note", "n", "fp", "tn", "fpr"]].to_string(index=False))
    group                           note  n  fp  tn  fpr
    Black fnr not estimable: no outcomes  1   1   0  1.0
    White                                 2   0   1  0.0
    """
    if not 0 < alpha < 1:
        raise ValueError(ERR_ALPHA.format(alpha=alpha))
    thresholds = [thresholds] if isinstance(thresholds, str) else list(thresholds)
    thresholds = [_threshold(t) for t in thresholds]
    breakdowns = _normalise_by(by)
    for cols in breakdowns:
        for col in cols:
            if col in matrix.columns or (col == "age_band" and "age" in matrix.columns):
                continue
            raise ValueError(
                ERR_BY_COLUMN.format(
                    by=_label(cols), column=col, columns=", ".join(map(str, matrix.columns))
                )
            )
    columns = list(dict.fromkeys(c for cols in breakdowns for c in cols))
    cells = _outcome_cells(matrix, columns)
    return band_performance_from_cells(
        cells, quarter=quarter, by=breakdowns, thresholds=thresholds, reference=reference, alpha=alpha,
        has_outcome=defs.OUTCOME_COLUMN is not None and defs.OUTCOME_COLUMN in matrix.columns,
    )


def band_performance_from_cells(
    cells: pd.DataFrame,
    *,
    quarter: str | Sequence[str] | None = None,
    by: Sequence[str | Sequence[str]] = DEFAULT_BY,
    thresholds: Sequence[ThresholdName] = ("red", "red_amber"),
    reference: str | Mapping[str | tuple[str, ...], str] | None = None,
    alpha: float = 0.05,
    has_outcome: bool = True,
) -> BandPerformance:
    """:func:`band_performance` from a count table (``quarter``, the breakdown columns, ``risk_band``,
    ``outcome`` and ``count``; see :data:`CELL_COLUMNS`): the audit's path, and the one that
    :func:`band_performance` takes after counting the records."""
    thresholds = [thresholds] if isinstance(thresholds, str) else list(thresholds)
    thresholds = [_threshold(t) for t in thresholds]
    breakdowns = _normalise_by(by)
    quarter_of = cells["quarter"].astype(object).to_numpy()
    count = cells["count"].to_numpy(dtype="int64")
    if quarter is not None:
        wanted = [quarter] if isinstance(quarter, str) else list(quarter)
        wanted = [normalise_quarter(q) for q in wanted]
        keep = pd.Series(quarter_of).isin(wanted).to_numpy() & (count > 0)
        if not keep.any():
            return _not_assessable(REASON_NO_ROWS.format(quarters=", ".join(wanted)), 0)
    else:
        keep = count > 0
    if not keep.any():
        return _not_assessable(REASON_EMPTY_MATRIX, 0)
    if not has_outcome:
        return _not_assessable(REASON_NO_OUTCOME_COLUMN, int(count[keep].sum()))

    is_known = cells["outcome"].notna().to_numpy()
    known = is_known & keep
    unknown = ~is_known & keep
    n_unknown = int(count[unknown].sum())
    per_quarter = pd.DataFrame({"q": quarter_of[keep], "known": known[keep]}).groupby("q")["known"].any()
    dark = per_quarter.index[~per_quarter.to_numpy()].tolist()
    if not known.any():
        return _not_assessable(REASON_ALL_UNKNOWN.format(quarters=", ".join(dark)), n_unknown)
    reasons = []
    if dark:
        excluded = int(count[unknown & pd.Series(quarter_of).isin(dark).to_numpy()].sum())
        reasons.append(REASON_QUARTERS_UNKNOWN.format(quarters=", ".join(dark), n=excluded))

    data = cells.loc[known].reset_index(drop=True)
    by_group_parts, versus_parts, summary_rows, calibration_parts = [], [], [], []
    prepared = {}
    for cols in breakdowns:
        label = _label(cols)
        complete = data[list(cols)].notna().all(axis=1).to_numpy()
        if not complete.all():
            missing = int(data.loc[~complete, "count"].sum())
            reasons.append(REASON_MISSING_GROUP.format(by=label, n=missing))
        sub = data.loc[complete]
        weighted = _weighted_frame(sub, cols)
        prepared[label] = (weighted, _group_labels(sub, cols))
    groups_n = {
        label: weighted.groupby("group")["count"].sum().reindex(labels, fill_value=0)
        for label, (weighted, labels) in prepared.items()
    }
    references = _resolve_reference(reference, breakdowns, groups_n)

    for cols in breakdowns:
        label = _label(cols)
        weighted, labels = prepared[label]
        for threshold in thresholds:
            table = _by_group_table(weighted, labels, threshold, label, alpha)
            by_group_parts.append(table)
            versus_parts.append(_versus_table(table, references[label], alpha))
            summary_rows.append(_summary_row(table, threshold, label))
        calibration_parts.append(_calibration_table(weighted, labels, label, alpha))

    by_group = pd.concat(by_group_parts, ignore_index=True).loc[:, list(BY_GROUP_COLUMNS)]
    quarters = tuple(sorted(set(quarter_of[known])))
    return BandPerformance(
        by_group=by_group,
        versus_reference=pd.concat(versus_parts, ignore_index=True).loc[
            :, list(VERSUS_REFERENCE_COLUMNS)
        ],
        summary=pd.DataFrame(summary_rows, columns=list(SUMMARY_COLUMNS)),
        calibration=pd.concat(calibration_parts, ignore_index=True).loc[
            :, list(CALIBRATION_COLUMNS)
        ],
        status=STATUS_ASSESSED,
        reason="; ".join(reasons),
        n_outcome_unknown=n_unknown,
        quarters=quarters,
    )
