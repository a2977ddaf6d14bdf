"""The no-risk share: people listed who posed no assessed risk (the 38% figure).

The 2018 review for the Mayor of London found 38% of people on the matrix
posed no risk of committing criminal acts; Amnesty (2018) reported about 40%
with a harm score of zero. "No risk" has several defensible definitions, so
the definition is a parameter and is named in every output:

``harm_zero`` (default)
    harm score of zero.
``no_violence_2y``
    no violence or weapons offence in the two years before the snapshot
    (needs ``violent_offences_2y``).
``green_band``
    in the green band.
``victim_only``
    recorded as a victim of violence, with no violent offence in two years and
    a harm score of zero (needs ``victim_flag`` and ``violent_offences_2y``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.counts.groups import duration_band_codes, no_risk_mask, with_groups
from fairness.definitions import NoRiskRule, no_risk_rules
from fairness.stats._options import match_option, one_snapshot
from fairness.stats.intervals import confint_proportion

__all__ = ["NO_RISK_DEFINITIONS", "no_risk_flag", "no_risk_share", "no_risk_duration"]

NoRiskDefinition = Literal["harm_zero", "no_violence_2y", "green_band", "victim_only"]


class _Definitions(Mapping):
    """The no-risk rules of :data:`fairness.definitions.NO_RISK_RULES` by name, read when used
    (each has ``label`` and ``needs``)."""

    def __getitem__(self, name: str) -> NoRiskRule:
        return no_risk_rules()[name]

    def __iter__(self):
        return iter(no_risk_rules())

    def __len__(self) -> int:
        return len(no_risk_rules())


NO_RISK_DEFINITIONS: Mapping[str, NoRiskRule] = _Definitions()
ERR_DEFINITION = "unknown no-risk definition {name!r}; valid: {valid}"
NOT_ASSESSABLE = "not assessable: column {columns} absent"


def _canonical(name: object) -> str:
    """The definition's name, matched as data values are (any case)."""
    try:
        return match_option(name, list(NO_RISK_DEFINITIONS), name="definition")
    except ValueError:
        raise ValueError(ERR_DEFINITION.format(name=name, valid=", ".join(NO_RISK_DEFINITIONS))) from None


def _definition(name: str) -> NoRiskRule:
    return NO_RISK_DEFINITIONS[_canonical(name)]


def no_risk_flag(matrix: pd.DataFrame, definition: NoRiskDefinition = "harm_zero") -> pd.Series:
    """Boolean Series: does each row meet the no-risk definition?"""
    d = _definition(definition)
    missing = [c for c in d.needs if c not in matrix.columns]
    if missing:
        raise ValueError(NOT_ASSESSABLE.format(columns=", ".join(missing)))
    return pd.Series(no_risk_mask(matrix, d.name), index=matrix.index, name="no_risk")


def no_risk_share(
    matrix: pd.DataFrame,
    *,
    definition: NoRiskDefinition | str = "harm_zero",
    by: str | None = None,
    alpha: float = 0.05,
    method: str = "wilson",
    quarter: str | None = None,
) -> pd.DataFrame:
    """Share of people listed who meet a no-risk definition, with an interval.

    Parameters
    ----------
    matrix : DataFrame
        Validated matrix rows (one snapshot, or several with ``by="quarter"``).
    definition : str, default "harm_zero"
        One of :data:`NO_RISK_DEFINITIONS` (any case).
    by : str, optional
        A column to break the share down by (``borough``, ``ethnicity``,
        ``age_band``, ``sex``, ``quarter``); every group is shown, empty ones
        with n = 0 and NaN share.
    method : str, default "wilson"
        Interval method (see :func:`fairness.stats.intervals.confint_proportion`).
    quarter : str, optional
        The snapshot to use ("2018Q4"). Required when the matrix holds several
        snapshots and ``by`` is not "quarter": pooling them would count a
        person once per quarter; the error names the quarters found.

    Returns
    -------
    DataFrame
        ``definition, definition_label, by, group, count, n, share, ci_low,
        ci_high, method, note``. When a needed column is absent, one row with
        ``note`` "not assessable: ..." and NaN values.

    Examples
    --------
    >>> m = pd.DataFrame({"harm_score": [0.0, 0.0, 3.0, 5.0]})
    >>> row = no_risk_share(m).iloc[0]
    >>> int(row["count"]), int(row["n"]), float(row["share"])
    (2, 4, 0.5)
    """
    definition = _canonical(definition)
    d = _definition(definition)
    if by != "quarter":
        matrix = one_snapshot(matrix, quarter, function="no_risk_share")
    missing = [c for c in d.needs if c not in matrix.columns]
    if missing:
        return not_assessable_share(definition, by, len(matrix), missing, method)
    frame = with_groups(matrix) if by in ("quarter", "age_band") else matrix
    flag = pd.Series(no_risk_mask(frame, d.name), index=frame.index)
    if by is None:
        counts = pd.DataFrame({"group": ["all"], "count": [int(flag.sum())], "n": [len(frame)]})
    else:
        g = flag.groupby(frame[by], observed=False)
        counts = pd.DataFrame({"count": g.sum().astype("int64"), "n": g.size()}).reset_index()
        counts = counts.rename(columns={by: "group"})
        counts["group"] = counts["group"].astype(str)
    return share_from_counts(counts, definition=definition, by=by, alpha=alpha, method=method)


def share_from_counts(
    counts: pd.DataFrame,
    *,
    definition: NoRiskDefinition | str = "harm_zero",
    by: str | None = None,
    alpha: float = 0.05,
    method: str = "wilson",
) -> pd.DataFrame:
    """:func:`no_risk_share` from ``group, count, n`` (people meeting the definition, people listed)."""
    d = _definition(definition)
    cols = ["definition", "definition_label", "by", "group", "count", "n", "share",
            "ci_low", "ci_high", "method", "note"]
    n = counts["n"].to_numpy()
    c = counts["count"].to_numpy()
    share = np.where(n > 0, c / np.where(n > 0, n, 1), np.nan)
    lo, hi = confint_proportion(c, n, alpha=alpha, method=method)
    # one frame made from its columns (what counts.assign(...)[cols] gives, in a third of the time)
    return pd.DataFrame({
        "definition": definition, "definition_label": d.label, "by": by or "all",
        "group": counts["group"], "count": counts["count"], "n": counts["n"],
        "share": share, "ci_low": lo, "ci_high": hi, "method": method,
        "note": np.where(n == 0, "no one listed: not estimable", ""),
    }, index=counts.index, columns=cols)


def not_assessable_share(definition: str, by: str | None, n: int, missing: list[str],
                         method: str = "wilson") -> pd.DataFrame:
    """The one-row table of a definition whose columns are absent."""
    d = _definition(definition)
    cols = ["definition", "definition_label", "by", "group", "count", "n", "share",
            "ci_low", "ci_high", "method", "note"]
    return pd.DataFrame([{
        "definition": definition, "definition_label": d.label, "by": by or "all", "group": "all",
        "count": np.nan, "n": n, "share": np.nan, "ci_low": np.nan, "ci_high": np.nan,
        "method": method, "note": NOT_ASSESSABLE.format(columns=", ".join(missing)),
    }], columns=cols)


#: Bands for how long no-risk people had been on the list (declared in fairness.definitions).
DURATION_BANDS = defs.DURATION_BANDS


def no_risk_duration(
    matrix: pd.DataFrame,
    *,
    definition: NoRiskDefinition | str = "harm_zero",
    alpha: float = 0.05,
    method: str = "wilson",
    quarter: str | None = None,
) -> pd.DataFrame:
    """How long people meeting the no-risk definition had been on the list.

    Time on the list is ``snapshot_date - date_added``. People without a
    ``date_added`` are counted in a row of their own ("date added unknown").
    With several snapshots in ``matrix``, ``quarter`` picks one (required).

    Returns
    -------
    DataFrame
        ``definition, duration, count, n, share, ci_low, ci_high, method, note``,
        where ``n`` is everyone meeting the definition; or a single
        not-assessable row when ``date_added`` (or a column the definition
        needs) is absent.
    """
    definition = _canonical(definition)
    d = _definition(definition)
    matrix = one_snapshot(matrix, quarter, function="no_risk_duration")
    missing = [c for c in (*d.needs, "date_added") if c not in matrix.columns]
    if missing:
        return not_assessable_duration(definition, missing, method)
    flagged = matrix.loc[no_risk_mask(matrix, d.name)]
    days = (flagged["snapshot_date"] - flagged["date_added"]).dt.days.to_numpy(dtype="float64")
    codes = duration_band_codes(days)
    counts = [int((codes == i).sum()) for i in range(len(defs.DURATION_BANDS) + 1)]
    return duration_from_counts(counts, len(flagged), definition=definition, alpha=alpha, method=method)


def duration_from_counts(
    counts: Sequence[int],
    n: int,
    *,
    definition: NoRiskDefinition | str = "harm_zero",
    alpha: float = 0.05,
    method: str = "wilson",
) -> pd.DataFrame:
    """:func:`no_risk_duration` from the counts per band of :data:`fairness.definitions.DURATION_BANDS`
    then "date added unknown", and ``n`` (everyone meeting the definition)."""
    cols = ["definition", "duration", "count", "n", "share", "ci_low", "ci_high", "method", "note"]
    labels = [b.label for b in defs.DURATION_BANDS] + [defs.DURATION_UNKNOWN]
    c = np.asarray(counts)
    lo, hi = confint_proportion(c, np.full(len(c), n), alpha=alpha, method=method)
    share = c / n if n else np.full(len(c), np.nan)
    return pd.DataFrame({
        "definition": definition, "duration": labels, "count": c, "n": n, "share": share,
        "ci_low": lo, "ci_high": hi, "method": method,
        "note": "" if n else "no one meets the definition: not estimable",
    })[cols]


def not_assessable_duration(definition: str, missing: Sequence[str], method: str = "wilson") -> pd.DataFrame:
    """The one-row duration table when ``date_added`` or a column the definition needs is absent."""
    cols = ["definition", "duration", "count", "n", "share", "ci_low", "ci_high", "method", "note"]
    return pd.DataFrame([{
        "definition": definition, "duration": "all", "count": np.nan, "n": np.nan, "share": np.nan,
        "ci_low": np.nan, "ci_high": np.nan, "method": method,
        "note": NOT_ASSESSABLE.format(columns=", ".join(missing)),
    }], columns=cols)
