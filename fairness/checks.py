"""Data-protection checks: one check per published regulator finding.

The ICO's enforcement notice on the Metropolitan Police's Gangs Matrix
(November 2018) and related findings (the Police National Database reprimand,
the MPS quarterly-review policy, MOPAC's reviews) each describe a failure that
can be looked for in the matrix itself. This module turns each finding into a
small check and runs them all, per quarter and per borough, into one tidy
table a scrutiny body can publish.

Every check is registered in one table, :data:`REGISTRY`. A check is a
function ``(data, *, quarantine, config) -> CheckFlags`` that marks *units*
(matrix rows, people, quarantined rows) as eligible (the denominator) and
flagged (the numerator); :func:`run_checks` does the grouping, the counting,
the Wilson intervals and the status for every check in the same way. Adding a
check is one function and one :class:`Check` row.

The built-in checks read counts, not records (``Check.on == "counts"``):
:class:`fairness.counts.cube.CheckData` holds the matrix rows counted by quarter,
borough and each row's state in each check (and people counted by quarter
with their zero-harm streak and re-listing), so a check costs the same for a
thousand rows as for ten million, and the same counts can come from pandas
or from DuckDB. A check may instead read the records (``on="records"``:
``data`` is then the matrix); such a check cannot run on a file counted in
DuckDB, and is then "not assessable".

A check that needs an optional column the matrix lacks (or the quarantine
frame, when none is passed) is reported as ``"not assessable"`` with the
reason; it never raises.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.counts.cube import CheckData, check_data_from_frame
from fairness.definitions import (
    CHECK_PARAMETERS,
    DATE_STATES,
    REVIEW_STATES,
    SHARED_WITH_SEPARATOR,
    VICTIM_STATES,
)
from fairness.quarters import quarter_codes, quarter_label
from fairness.stats.intervals import confint_proportion
from fairness.stats.no_risk import no_risk_flag

__all__ = [
    "ALL_BANDS",
    "ALL_BOROUGHS",
    "CHECK_RESULT_COLUMNS",
    "Check",
    "CheckFlags",
    "ChecksConfig",
    "NotAssessable",
    "QUARANTINE",
    "REGISTRY",
    "SHARING_COLUMNS",
    "STATUS_CONCERN",
    "STATUS_NOT_ASSESSABLE",
    "STATUS_OK",
    "list_checks",
    "run_checks",
    "run_checks_on_counts",
    "sharing_by_partner",
]

# --------------------------------------------------------------------------
# Vocabulary and messages
# --------------------------------------------------------------------------

STATUS_CONCERN = "concern"
STATUS_OK = "ok"
STATUS_NOT_ASSESSABLE = "not assessable"

#: ``borough`` value of the London-wide rows (``by=("quarter",)``).
ALL_BOROUGHS = "All boroughs"
#: ``risk_band`` of sharing_by_partner for a list whose profile declares no bands.
ALL_BANDS = "all bands"
#: ``quarter`` / ``borough`` of quarantined rows whose raw value does not parse.
UNKNOWN = "unknown"
#: Pseudo-column in :attr:`Check.needs`: the check needs the quarantine frame.
QUARANTINE = "quarantine"

#: Columns of :func:`run_checks`' result, in order.
CHECK_RESULT_COLUMNS: tuple[str, ...] = (
    "check",
    "finding",
    "quarter",
    "borough",
    "count",
    "n",
    "share",
    "ci_low",
    "ci_high",
    "threshold",
    "basis",
    "status",
    "detail",
)
#: Columns of :func:`sharing_by_partner`' result, in order.
SHARING_COLUMNS: tuple[str, ...] = (
    "quarter",
    "partner",
    "risk_band",
    "no_risk",
    "count",
    "n",
    "share",
    "ci_low",
    "ci_high",
)
#: Columns of :attr:`CheckFlags.units`.
UNIT_COLUMNS: tuple[str, ...] = ("quarter", "borough", "unit", "eligible", "flagged", "reason")
#: Columns of :attr:`CheckFlags.counts`.
COUNT_COLUMNS: tuple[str, ...] = ("quarter", "borough", "eligible", "flagged", "reason", "units", "first")
#: Columns of :func:`list_checks`' result, in order.
LIST_COLUMNS: tuple[str, ...] = (
    "name",
    "finding",
    "needs",
    "uses_if_present",
    "basis",
    "threshold",
)
#: ``partner`` value for "shared with anyone" in :func:`sharing_by_partner`.
ANY_PARTNER = "any"

BY_OPTIONS: tuple[tuple[str, ...], ...] = (("quarter",), ("quarter", "borough"))
STATUS_ON_OPTIONS: tuple[str, ...] = ("estimate", "ci_low")

ERR_BY = "by must be one of {valid}; got {got!r}"
ERR_UNKNOWN_CHECK = "unknown check {name!r}; valid checks are: {valid}"
ERR_THRESHOLD = "threshold for check {name!r} must be a number >= 0; got {value!r}"
ERR_STATUS_ON = "status_on must be one of {valid}; got {got!r}"
ERR_PATTERN = "{what} is not a valid regular expression ({error}): {pattern!r}"
ERR_POSITIVE_INT = "{what} must be a positive integer; got {value!r}"
ERR_ALPHA = "alpha must be strictly between 0 and 1; got {alpha!r}"
ERR_MISSING_REQUIRED = (
    "matrix lacks required column(s) {missing}; run it through validation first "
    "(required: {required})"
)
ERR_SHARED_WITH_ABSENT = (
    "sharing_by_partner needs the column 'shared_with', which the matrix lacks; "
    "run_checks reports blanket_sharing as 'not assessable' instead"
)
ERR_DUPLICATE_CHECK = "two checks in the registry are named {name!r}"

REASON_COLUMNS_ABSENT = "{columns} absent"
REASON_NO_QUARANTINE = "no quarantine frame passed"
REASON_QUARANTINE_COLUMNS = "quarantine frame lacks {columns}"
REASON_EMPTY_GROUP = "no records in this group"
REASON_NEEDS_RECORDS = "the check reads the records, which were counted without being loaded"

#: Default pattern for test identifiers (PND reprimand: test data in the live
#: system): ids that start with test/dummy/sample/xxx/zzz or end with
#: test/dummy, in any case.
DEFAULT_TEST_ID_PATTERN = CHECK_PARAMETERS.test_id_pattern
#: Default patterns for test values in other columns, by column. A partner
#: named "test" or "dummy" in ``shared_with`` is a test artefact.
DEFAULT_TEST_VALUE_PATTERNS: Mapping[str, str] = CHECK_PARAMETERS.test_value_patterns

_QUARANTINE_DATE_RULES = frozenset({"bad_date", "date_order"})
_DUPLICATE_RULE = "duplicate_person_id"


class NotAssessable(Exception):
    """Raised inside a check when it cannot be assessed; the message is the reason."""


# --------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecksConfig:
    """Thresholds and parameters of the checks.

    Parameters
    ----------
    thresholds : mapping of str to float, default empty
        Override the threshold of any check by name; checks not named keep
        their default. The defaults, and why:

        ``victims_as_offenders`` = 0 (share)
            The ICO found victims and perpetrators were not distinguished. A
            listed victim with no violent offence in two years and a harm
            score of 0 has no recorded basis for being on a violence list, so
            one is already a concern.
        ``blanket_sharing`` = 0.10 (share of no-risk or Green records shared)
            A judgement: the ICO gave no figure. Sharing case by case with a
            documented need to know (what people "at risk" told the GLA
            Violence Reduction Unit they accept) touches a minority of
            low-risk records; blanket sharing touches them as often as any
            other record. More than one in ten suggests the latter.
        ``reviews_overdue`` = 0 (share)
            MPS policy: every cohort reviewed at least every quarter, so any
            overdue record breaches it.
        ``zero_harm_retained`` = 0 (share)
            The ICO found people scored zero were not removed; MOPAC's 2019
            clean-up removed them. Anyone at harm 0 for a year should be gone.
        ``relisted`` = 0.05 (share of the quarter's list newly relisted)
            A judgement: some people return after new offending, legitimately;
            a higher rate suggests records were kept after removal (the ICO's
            "no retention period", informal lists).
        ``children_listed`` = 0.06 (share under 18)
            The under-18 share after MOPAC's review (6% in Oct 2019, down from
            14%; MOPAC update, Feb 2020). More means more children than after
            the clean-up.
        ``children_shared`` = 0 (share of children whose record is shared)
            Children merit specific protection (UK GDPR recital 38): each
            disclosure of a child's record needs its own justification.
        ``test_data``, ``impossible_dates``, ``same_person_two_boroughs`` = 0 (count)
            Data-quality failures: one is one too many (the PND reprimand:
            "an automated system checking daily uploads ... could have
            prevented this incident").
    review_days : int, default 92
        A record is overdue when its last review is more than this many days
        before the snapshot: the longest calendar quarter has 92 days.
    zero_harm_snapshots : int, default 4
        ``zero_harm_retained`` flags people with harm 0 in this many or more
        consecutive quarterly snapshots: four quarters is a year.
    matrix_start : str or Timestamp, default "2012-01-01"
        The matrix was set up in 2012; a ``date_added`` before it cannot be true.
    min_age_at_addition : int, default 10
        The age of criminal responsibility in England and Wales. A person
        certainly younger than this when added is an impossible record. Under
        a profile, the default is its ``[age] youngest_at_addition``.
    child_age : int, default 18
        People younger than this are children.
    test_id_pattern : str, default :data:`DEFAULT_TEST_ID_PATTERN`
        Regular expression (``re.search``) for test identifiers in
        ``person_id``.
    test_value_patterns : mapping of str to str, default :data:`DEFAULT_TEST_VALUE_PATTERNS`
        Regular expressions for test values, by column; applied to the values
        as text. A column the matrix lacks is skipped and said so.
    status_on : {"estimate", "ci_low"}, default "estimate"
        Compare a share-based check's threshold with the point estimate, or
        with the lower end of its Wilson interval (stricter evidence: only a
        share certainly above the threshold is a concern; useful for small
        boroughs).

    Examples
    --------
    >>> ChecksConfig(thresholds={"blanket_sharing": 0.2}).threshold("blanket_sharing")
    0.2
    """

    thresholds: Mapping[str, float] = field(default_factory=dict)
    review_days: int = CHECK_PARAMETERS.review_days
    zero_harm_snapshots: int = CHECK_PARAMETERS.zero_harm_snapshots
    matrix_start: str | pd.Timestamp = CHECK_PARAMETERS.matrix_start
    # read when a config is made, so that under a profile it is the profile's [age] youngest_at_addition
    min_age_at_addition: int = field(default_factory=lambda: defs.CHECK_PARAMETERS.min_age_at_addition)
    child_age: int = CHECK_PARAMETERS.child_age
    test_id_pattern: str = DEFAULT_TEST_ID_PATTERN
    test_value_patterns: Mapping[str, str] = field(
        default_factory=lambda: dict(DEFAULT_TEST_VALUE_PATTERNS)
    )
    status_on: Literal["estimate", "ci_low"] = "estimate"

    def __post_init__(self) -> None:
        object.__setattr__(self, "thresholds", MappingProxyType(dict(self.thresholds)))
        object.__setattr__(
            self, "test_value_patterns", MappingProxyType(dict(self.test_value_patterns))
        )
        object.__setattr__(self, "matrix_start", pd.Timestamp(self.matrix_start))
        for name, value in self.thresholds.items():
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(ERR_THRESHOLD.format(name=name, value=value))
        for what in ("review_days", "zero_harm_snapshots", "child_age", "min_age_at_addition"):
            value = getattr(self, what)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(ERR_POSITIVE_INT.format(what=what, value=value))
        if self.status_on not in STATUS_ON_OPTIONS:
            raise ValueError(ERR_STATUS_ON.format(valid=STATUS_ON_OPTIONS, got=self.status_on))
        patterns = {"test_id_pattern": self.test_id_pattern}
        patterns.update(
            {f"test_value_patterns[{c!r}]": p for c, p in self.test_value_patterns.items()}
        )
        for what, pattern in patterns.items():
            try:
                re.compile(pattern)
            except (re.error, TypeError) as error:
                raise ValueError(
                    ERR_PATTERN.format(what=what, error=error, pattern=pattern)
                ) from None

    def threshold(self, name: str) -> float:
        """Threshold of check ``name``: the override if any, else the registry default."""
        check = _get_check(name)
        return float(self.thresholds.get(name, check.default_threshold))


# --------------------------------------------------------------------------
# The check protocol and the registry
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckFlags:
    """What a check function returns.

    Attributes
    ----------
    units : DataFrame
        One row per unit per group it belongs to, columns :data:`UNIT_COLUMNS`:
        ``quarter`` ("2018Q4"), ``borough``, ``unit`` (an id; a unit listed in
        two boroughs is counted once London-wide), ``eligible`` (bool: in the
        denominator), ``flagged`` (bool: in the numerator, only counted when
        eligible), ``reason`` (str: why flagged; for a unit that is not
        eligible, a non-empty reason says why it was excluded).
    note : str
        Said in every row's ``detail`` (e.g. a part of the check that could
        not be run).
    incomplete : mapping of str to str
        Quarters whose count is only a lower bound (not enough history), with
        the reason: such a quarter can show a concern but not an "ok".
    counts : DataFrame, optional
        Units already counted, columns :data:`COUNT_COLUMNS`: ``quarter``,
        ``borough``, ``eligible``, ``flagged``, ``reason``, ``units`` (how many
        distinct units: none of them is in ``units`` or in another row) and
        ``first`` (where the first of them comes in unit order: reasons are
        listed in order of first appearance). Rows of ``units`` without a
        ``first`` column come after every counted unit, in their order.
    """

    units: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(UNIT_COLUMNS)))
    note: str = ""
    incomplete: Mapping[str, str] = field(default_factory=dict)
    counts: pd.DataFrame | None = None


CheckFunction = Callable[..., CheckFlags]


@dataclass(frozen=True)
class Check:
    """One row of the registry.

    Attributes
    ----------
    name : str
        Identifier used in results and in :attr:`ChecksConfig.thresholds`.
    finding : str
        The published finding the check looks for, with its source.
    func : callable
        ``func(data, *, quarantine, config) -> CheckFlags``; ``data`` is a
        :class:`fairness.counts.cube.CheckData` (``on="counts"``) or the matrix
        (``on="records"``).
    needs : tuple of str
        Matrix columns the check cannot run without (or :data:`QUARANTINE`).
        When one is missing the check is "not assessable".
    uses_if_present : tuple of str
        Columns (or :data:`QUARANTINE`) used when present; the check says in
        ``detail`` what it skipped.
    basis : {"share", "count"}
        Whether the threshold applies to ``share`` or to ``count``.
    default_threshold : float
        See :class:`ChecksConfig` for why each default.
    on : {"records", "counts"}
        What ``func`` reads (see the module docstring).
    """

    name: str
    finding: str
    func: CheckFunction
    needs: tuple[str, ...] = ()
    uses_if_present: tuple[str, ...] = ()
    basis: Literal["share", "count"] = "share"
    default_threshold: float = 0.0
    on: Literal["records", "counts"] = "records"


# ---- helpers shared by the checks -----------------------------------------


def _quarters(matrix: pd.DataFrame) -> np.ndarray:
    return quarter_label(matrix["snapshot_date"]).to_numpy(dtype=object)


def _row_units(
    matrix: pd.DataFrame,
    flagged: pd.Series | np.ndarray,
    *,
    eligible: pd.Series | np.ndarray | None = None,
    reason: pd.Series | np.ndarray | str = "",
    excluded_reason: str = "",
    prefix: str = "m",
) -> pd.DataFrame:
    """Units that are the matrix rows themselves (for checks that read the records).

    ``reason`` says why an eligible row is flagged; ``excluded_reason`` why a
    row is not eligible (leave it empty when not being eligible is expected,
    e.g. an adult for a check on children).
    """
    n = len(matrix)
    flagged = np.asarray(pd.Series(flagged).fillna(False), dtype=bool)
    eligible = (
        np.ones(n, dtype=bool)
        if eligible is None
        else np.asarray(pd.Series(eligible).fillna(False), dtype=bool)
    )
    if isinstance(reason, str):
        reason = np.full(n, reason, dtype=object)
    reason = np.where(eligible, np.asarray(reason, dtype=object), excluded_reason)
    return pd.DataFrame(
        {
            "quarter": _quarters(matrix),
            "borough": matrix["borough"].astype(str).to_numpy(dtype=object),
            "unit": [f"{prefix}{i}" for i in range(n)],
            "eligible": eligible,
            "flagged": flagged,
            "reason": np.asarray(reason, dtype=object),
        }
    )


def _cell_units(
    cells: pd.DataFrame,
    flagged: np.ndarray,
    *,
    eligible: np.ndarray | None = None,
    reason: np.ndarray | str = "",
    excluded_reason: str = "",
) -> pd.DataFrame:
    """Counted units (:data:`COUNT_COLUMNS`) from count cells whose units are matrix rows.

    The counts-side twin of :func:`_row_units`: ``flagged``, ``eligible`` and
    ``reason`` are given per cell.
    """
    n = len(cells)
    flagged = np.asarray(flagged, dtype=bool)
    eligible = np.ones(n, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    if isinstance(reason, str):
        reason = np.full(n, reason, dtype=object)
    reason = np.where(eligible, np.asarray(reason, dtype=object), excluded_reason)
    quarter, borough, units, first = _cell_columns(cells)
    columns = {
        "quarter": quarter,
        "borough": borough,
        "eligible": eligible,
        "flagged": flagged,
        "reason": np.asarray(reason, dtype=object),
        "units": units,
        "first": first,
    }
    keys = ["quarter", "borough", "eligible", "flagged", "reason"]
    return _sum_and_min_arrays(columns, keys)


def _cell_columns(cells: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """``cells``' quarter and borough as text (object arrays), its counts and ``first``: what
    :func:`_cell_units` reads. In one run of the checks each count table's are made once, not
    once a check (turning a category column into text costs about a millisecond each time, and
    most checks read the same table); they are read-only, so no check can change another's."""
    memo = getattr(_RUN, "cells", None)
    if memo is not None:
        for seen, columns in memo:
            if seen is cells:
                return columns
    columns = (cells["quarter"].astype(object).to_numpy(dtype=object),
               cells["borough"].astype(str).to_numpy(dtype=object),
               cells["count"].to_numpy(dtype="int64"),
               cells["first"].to_numpy())
    if memo is not None:
        columns = tuple(np.array(c, copy=True) for c in columns)  # its own, made read-only below
        for c in columns:
            c.flags.writeable = False
        memo.append((cells, columns))
    return columns


def _sum_and_min_arrays(columns: dict[str, np.ndarray], keys: list[str]) -> pd.DataFrame:
    """``pd.DataFrame(columns).groupby(keys, sort=False).agg(units=("units", "sum"), first=("first",
    "min")).reset_index()`` with numpy, from the key arrays, ``units`` and ``first``: groups in order of
    first appearance, ``units`` summed, the least ``first``. Keys are text (object), or booleans.

    A pandas group-by with a named aggregation costs about 5 ms whatever the size, and every
    check of every audit made one (and a frame to make it from); this costs a tenth of that.
    pandas' own is used where a key or ``first`` is missing (its group-by drops such rows, and
    skips missing values in the minimum) or the units are not whole numbers.
    """
    units, first = np.asarray(columns["units"]), np.asarray(columns["first"])

    def by_pandas() -> pd.DataFrame:
        return (pd.DataFrame(columns).groupby(keys, sort=False)
                .agg(units=("units", "sum"), first=("first", "min")).reset_index())

    if (not len(units) or units.dtype.kind not in "iu" or first.dtype.kind not in "iuf"
            or bool(np.isnan(first).any() if first.dtype.kind == "f" else False)
            or any(columns[k].dtype.kind != "b" and bool(pd.isna(columns[k]).any()) for k in keys)):
        return by_pandas()
    code = np.zeros(len(units), dtype="int64")
    size = 1
    for k in keys:
        codes, uniques = pd.factorize(columns[k], sort=False)
        size *= max(len(uniques), 1)
        if size >= 2**62:  # pragma: no cover - more groups than any count table has
            return by_pandas()
        code = code * max(len(uniques), 1) + codes
    _, first_row, inverse = np.unique(code, return_index=True, return_inverse=True)
    appearance = np.argsort(first_row, kind="stable")  # groups in order of first appearance
    rank = np.empty_like(appearance)
    rank[appearance] = np.arange(len(appearance))
    group = rank[inverse.reshape(-1)]
    rows = np.argsort(group, kind="stable")
    starts = np.concatenate([[0], np.flatnonzero(np.diff(group[rows])) + 1])
    taken = first_row[appearance]
    out = {k: columns[k][taken] for k in keys}
    out["units"] = np.add.reduceat(units[rows], starts)
    out["first"] = np.minimum.reduceat(first[rows], starts)
    return pd.DataFrame(out)


def _missing(frame: pd.DataFrame | frozenset, columns: Sequence[str]) -> list[str]:
    present = frame.columns if isinstance(frame, pd.DataFrame) else frame
    return [c for c in columns if c not in present]


def _plural_columns(cols: Sequence[str]) -> str:
    return ("column " if len(cols) == 1 else "columns ") + ", ".join(cols)


def _parse_raw_dates(values: pd.Series) -> pd.Series:
    """Parse raw date strings: ISO 8601 first, then day-first free formats."""
    text = values.astype("string").str.strip()
    parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
    retry = parsed.isna() & text.notna() & text.ne("")
    if retry.any():
        parsed[retry] = pd.to_datetime(text[retry], errors="coerce", format="mixed", dayfirst=True)
    return parsed


def _quarantine_view(quarantine: pd.DataFrame, needs: Sequence[str]) -> pd.DataFrame:
    """Quarantined rows with a parsed quarter, a checked borough and a rule set.

    Raises :class:`NotAssessable` if the frame lacks a column in ``needs``.
    """
    missing = _missing(quarantine, needs)
    if missing:
        raise NotAssessable(REASON_QUARANTINE_COLUMNS.format(columns=_plural_columns(missing)))
    views = getattr(_RUN, "views", None)
    if views is not None:  # in one run of the checks each quarantine is read once, not once a check
        for seen, boroughs, view in views:
            if seen is quarantine and boroughs == defs.BOROUGHS:
                return view
        view = _read_quarantine(quarantine)
        views.append((quarantine, defs.BOROUGHS, view))
        return view
    return _read_quarantine(quarantine)


#: ``views``: the quarantine views made during this thread's :func:`_run_selected` (absent outside
#: it). The checks only read a view; the frame it came from is held, so ``is`` matches no other.
#: ``cells``: likewise, the columns :func:`_cell_columns` made of each count table.
_RUN = threading.local()


def _read_quarantine(quarantine: pd.DataFrame) -> pd.DataFrame:
    """:func:`_quarantine_view` itself."""
    out = pd.DataFrame(index=quarantine.index)
    if "snapshot_date" in quarantine.columns:
        dates = _parse_raw_dates(quarantine["snapshot_date"])
        out["snapshot_date"] = dates
        labels = pd.Series(UNKNOWN, index=quarantine.index, dtype=object)
        ok = dates.notna()
        if ok.any():
            labels[ok] = quarter_label(dates[ok]).astype(object)
        out["quarter"] = labels
    else:
        out["snapshot_date"] = pd.NaT
        out["quarter"] = UNKNOWN
    if "borough" in quarantine.columns:
        raw = quarantine["borough"].astype("string").str.strip()
        out["borough"] = raw.where(raw.isin(defs.BOROUGHS), UNKNOWN).astype(object)
    else:
        out["borough"] = UNKNOWN
    if "person_id" in quarantine.columns:
        out["person_id"] = quarantine["person_id"].astype("string").str.strip().fillna("")
    if "rules" in quarantine.columns:
        out["rules"] = (
            quarantine["rules"]
            .fillna("")
            .astype(str)
            .map(lambda s: frozenset(r.strip() for r in s.split(";") if r.strip()))
        )
    if "line" in quarantine.columns:
        out["line"] = quarantine["line"].astype(str)
    else:
        out["line"] = [str(i) for i in range(len(quarantine))]
    return out


def _person_units(data: CheckData, flagged: np.ndarray, reason: np.ndarray | str) -> pd.DataFrame:
    """Counted units from :attr:`CheckData.persons`: one per person per quarter."""
    return _cell_units(data.persons, flagged, reason=reason)


def _early_quarters(data: CheckData, history: int, reason: str) -> dict[str, str]:
    """Quarters with fewer than ``history`` snapshots of history (quarters are ranked among those present)."""
    return {q: reason for rank, q in enumerate(data.quarters) if rank < history - 1}


# ---- the checks -----------------------------------------------------------
#
# Each reads :class:`fairness.counts.cube.CheckData`: ``data.cells`` (matrix rows
# counted by quarter, borough and their state in each check) and
# ``data.persons`` (people counted by quarter). The states themselves are
# worked out row by row in fairness.counts.cube (pandas) and fairness.counts.duck (SQL).


def _victims_as_offenders(data: CheckData, *, quarantine: pd.DataFrame | None, config: ChecksConfig) -> CheckFlags:
    """Listed victims with no violent offence in two years and a harm score of 0."""
    state = data.cells["victim_state"].to_numpy()
    counts = _cell_units(
        data.cells,
        state == VICTIM_STATES.index("flagged"),
        eligible=state != VICTIM_STATES.index("excluded"),
        reason="victim, no violent offence in 2 years, harm 0",
        excluded_reason="victim_flag or violent_offences_2y unknown",
    )
    return CheckFlags(counts=counts)


def _blanket_sharing(data: CheckData, *, quarantine: pd.DataFrame | None, config: ChecksConfig) -> CheckFlags:
    """Low-risk records (harm 0, or band Green) shared with a third party."""
    cells = data.cells
    no_risk = cells["harm_zero"].to_numpy(dtype=bool)
    green = cells["green"].to_numpy(dtype=bool)
    reason = np.where(no_risk, "no-risk (harm 0) shared", "Green, harm > 0, shared")
    return CheckFlags(counts=_cell_units(cells, cells["shared"].to_numpy(dtype=bool), eligible=no_risk | green,
                                         reason=reason))


def _reviews_overdue(data: CheckData, *, quarantine: pd.DataFrame | None, config: ChecksConfig) -> CheckFlags:
    """Last review more than ``review_days`` before the snapshot, or never reviewed.

    A record never reviewed but added within ``review_days`` of the snapshot
    is not yet overdue (when ``date_added`` is present).
    """
    days = config.review_days
    state = data.cells["review_state"].to_numpy()
    note = ""
    if "date_added" not in data.columns:
        note = "column date_added absent: every record never reviewed counts as overdue"
    reason = np.where(state == REVIEW_STATES.index("never"), "never reviewed",
                      f"last review more than {days} days before snapshot")
    return CheckFlags(counts=_cell_units(data.cells, state != REVIEW_STATES.index("ok"), reason=reason), note=note)


def _zero_harm_retained(data: CheckData, *, quarantine: pd.DataFrame | None, config: ChecksConfig) -> CheckFlags:
    """People with harm 0 in ``zero_harm_snapshots`` or more consecutive snapshots.

    Consecutive means in consecutive quarterly snapshots of the data (a person
    absent from a snapshot starts again); counted at each quarter.
    """
    need = config.zero_harm_snapshots
    flagged = data.persons["streak"].to_numpy() >= need
    reason = f"harm 0 in {need} or more consecutive snapshots"
    early = _early_quarters(data, need, f"fewer than {need} snapshots of history: count is a lower bound")
    return CheckFlags(counts=_person_units(data, flagged, reason), incomplete=early)


def _relisted(data: CheckData, *, quarantine: pd.DataFrame | None, config: ChecksConfig) -> CheckFlags:
    """People back on the list after being absent from at least one snapshot.

    Counted in the quarter in which they reappear; the denominator is the
    people listed that quarter.
    """
    persons = data.persons
    reason = np.where(persons["harm_zero"].to_numpy(dtype=bool), "relisted with harm 0", "relisted with harm > 0")
    early = _early_quarters(data, 3, "fewer than 3 snapshots of history: relisting cannot yet be seen")
    return CheckFlags(counts=_person_units(data, persons["relisted"].to_numpy(dtype=bool), reason),
                      incomplete=early)


def _children_listed(data: CheckData, *, quarantine: pd.DataFrame | None, config: ChecksConfig) -> CheckFlags:
    """People under ``child_age`` on the list."""
    child = data.cells["child"].to_numpy(dtype=bool)
    return CheckFlags(counts=_cell_units(data.cells, child, reason=f"under {config.child_age}"))


def _children_shared(data: CheckData, *, quarantine: pd.DataFrame | None, config: ChecksConfig) -> CheckFlags:
    """Children (under ``child_age``) whose record was shared; denominator: children listed."""
    cells = data.cells
    return CheckFlags(
        counts=_cell_units(cells, cells["shared"].to_numpy(dtype=bool), eligible=cells["child"].to_numpy(dtype=bool),
                           reason=f"under {config.child_age}, shared")
    )


def _test_reason(mask: int, columns: Sequence[str]) -> str:
    return "; ".join(f"{column} matches test pattern" for i, column in enumerate(columns) if mask >> i & 1)


def _test_data(data: CheckData, *, quarantine: pd.DataFrame | None, config: ChecksConfig) -> CheckFlags:
    """Identifiers or values that look like test data, in the matrix and the quarantine."""
    notes = list(data.test_notes)
    patterns = {"person_id": config.test_id_pattern, **config.test_value_patterns}
    cells = data.tests()
    mask = cells["test_mask"].to_numpy()
    reasons = {int(m): _test_reason(int(m), data.test_columns) for m in np.unique(mask)}
    reason = np.array([reasons[int(m)] for m in mask], dtype=object)
    counts = _cell_units(cells, mask != 0, reason=reason)
    units = []
    if quarantine is None:
        notes.append("no quarantine frame passed: quarantined rows not scanned")
    else:
        view = _quarantine_view(quarantine, ())
        hits = np.zeros(len(quarantine), dtype=bool)
        qreason = np.full(len(quarantine), "", dtype=object)
        for column, pattern in patterns.items():
            if column not in quarantine.columns:
                notes.append(f"quarantine has no column {column}: its test pattern not applied")
                continue
            search = re.compile(pattern).search
            text = quarantine[column].astype("string").fillna("")
            match = np.fromiter((bool(search(t)) for t in text), dtype=bool, count=len(text))
            label = f"{column} matches test pattern"
            qreason = np.where(
                match & (qreason == ""), label, np.where(match, qreason + "; " + label, qreason)
            )
            hits |= match
        units.append(
            pd.DataFrame(
                {
                    "quarter": view["quarter"].to_numpy(dtype=object),
                    "borough": view["borough"].to_numpy(dtype=object),
                    "unit": ("q" + view["line"]).to_numpy(dtype=object),
                    "eligible": True,
                    "flagged": hits,
                    "reason": np.asarray(["quarantined row: " + r for r in qreason], dtype=object),
                }
            )
        )
    units_frame = pd.concat(units, ignore_index=True) if units else pd.DataFrame(columns=list(UNIT_COLUMNS))
    return CheckFlags(units_frame, note="; ".join(dict.fromkeys(notes)), counts=counts)


def _impossible_dates(data: CheckData, *, quarantine: pd.DataFrame | None, config: ChecksConfig) -> CheckFlags:
    """Dates that cannot be true, in the matrix and among quarantined rows.

    In the matrix (needs ``date_added``): added before ``matrix_start``; added
    after the snapshot; or certainly younger than ``min_age_at_addition`` when
    added. Age is in completed years, so the age at addition is at most
    ``age + 1 - years between date_added and snapshot``; a row is flagged only
    when that upper bound is at most ``min_age_at_addition``. In the quarantine:
    rows with rule ``bad_date`` or ``date_order``, counted in the quarter of
    their snapshot date, or in quarter "unknown" when it does not parse.
    """
    has_added = "date_added" in data.columns
    if not has_added and quarantine is None:
        raise NotAssessable(
            f"{REASON_COLUMNS_ABSENT.format(columns=_plural_columns(['date_added']))} and {REASON_NO_QUARANTINE}"
        )
    notes = []
    state = data.cells["date_state"].to_numpy()
    reasons = {"": "", "early": f"date_added before {config.matrix_start.date()}",
               "after": "date_added after snapshot_date", "young": f"under {config.min_age_at_addition} at date_added"}
    labels = np.array([reasons[s] for s in DATE_STATES], dtype=object)
    counts = _cell_units(data.cells, state != DATE_STATES.index(""), reason=labels[state])
    if not has_added:
        notes.append(
            f"{REASON_COLUMNS_ABSENT.format(columns=_plural_columns(['date_added']))}: only quarantined rows counted"
        )
    units = pd.DataFrame(columns=list(UNIT_COLUMNS))
    if quarantine is None:
        notes.append(f"{REASON_NO_QUARANTINE}: quarantined date errors not counted")
    else:
        view = _quarantine_view(quarantine, ("rules",))
        rules = view["rules"]
        hit = rules.map(lambda r: bool(r & _QUARANTINE_DATE_RULES)).to_numpy(dtype=bool)
        reason = rules.map(
            lambda r: "quarantined: " + ", ".join(sorted(r & _QUARANTINE_DATE_RULES))
        ).to_numpy(dtype=object)
        units = pd.DataFrame(
            {
                "quarter": view["quarter"].to_numpy(dtype=object),
                "borough": view["borough"].to_numpy(dtype=object),
                "unit": ("q" + view["line"]).to_numpy(dtype=object),
                "eligible": True,
                "flagged": hit,
                "reason": reason,
            }
        )
    return CheckFlags(units, note="; ".join(notes), counts=counts)


def _same_person_two_boroughs(
    data: CheckData, *, quarantine: pd.DataFrame | None, config: ChecksConfig
) -> CheckFlags:
    """A person_id twice in one snapshot with different boroughs.

    Duplicates are found through the quarantine (rule ``duplicate_person_id``)
    and compared with the matrix row kept for the same person and snapshot, if
    any. A person in two boroughs is counted in each borough's row but once
    London-wide. Denominator: people listed in the group.
    """
    if quarantine is None:
        raise NotAssessable(REASON_NO_QUARANTINE)
    view = _quarantine_view(quarantine, ("person_id", "snapshot_date", "borough", "rules"))
    # .loc with a boolean array: an empty object-dtype mask would otherwise be
    # read as a list of column labels (empty quarantine -> KeyError).
    dup = view.loc[view["rules"].map(lambda r: _DUPLICATE_RULE in r).to_numpy(dtype=bool)]
    dup_key = (
        dup["snapshot_date"]
        .dt.strftime("%Y-%m-%d")
        .fillna("raw:" + quarantine.loc[dup.index, "snapshot_date"].astype(str))
    )
    keys_q = pd.DataFrame(
        {
            "person_id": dup["person_id"].to_numpy(dtype=object),
            "date": dup_key.to_numpy(dtype=object),
            "quarter": dup["quarter"].to_numpy(dtype=object),
            "borough": dup["borough"].to_numpy(dtype=object),
        }
    )
    # Only the matrix rows of the people concerned are looked up; every other
    # row is a unit of its own, unflagged, and stays counted.
    keys_m = data.involved(sorted(set(keys_q["person_id"]))) if len(keys_q) else pd.DataFrame(
        {"person_id": [], "date": [], "quarter": [], "borough": [], "row": []})
    keys_m = keys_m.astype({"person_id": object, "date": object, "quarter": object, "borough": object})
    involved = keys_q[["person_id", "date"]].drop_duplicates()
    matched = keys_m.merge(involved, on=["person_id", "date"])
    pool = pd.concat([keys_q, matched.drop(columns="row")], ignore_index=True)
    n_boroughs = pool.groupby(["person_id", "date"])["borough"].transform("nunique")
    conflicts = pool[n_boroughs.gt(1)].drop_duplicates(["person_id", "date", "borough"])
    conflict_keys = set(zip(conflicts["person_id"], conflicts["date"], strict=True))
    in_conflict = np.fromiter(
        ((p, d) in conflict_keys for p, d in zip(matched["person_id"], matched["date"], strict=True)),
        dtype=bool,
        count=len(matched),
    )
    reason = "same person_id in another borough in this snapshot"
    # matrix rows: the flagged ones as units (a conflict's other rows share their id), the rest counted
    flagged_rows = matched[in_conflict].sort_values("row", kind="stable")
    cells = data.cells
    counted = _cell_units(cells, np.zeros(len(cells), dtype=bool), reason=reason)
    if len(flagged_rows):
        taken = flagged_rows.groupby(["quarter", "borough"]).size()
        counted = counted.set_index(["quarter", "borough"])
        counted["units"] = counted["units"] - taken.reindex(counted.index, fill_value=0).to_numpy()
        counted = counted.reset_index()
        counted = counted[counted["units"] > 0]
    listed = pd.DataFrame(
        {
            "quarter": flagged_rows["quarter"].to_numpy(dtype=object),
            "borough": flagged_rows["borough"].to_numpy(dtype=object),
            "unit": (flagged_rows["person_id"] + "|" + flagged_rows["date"]).to_numpy(dtype=object),
            "eligible": True,
            "flagged": True,
            "reason": reason,
            "first": flagged_rows["row"].to_numpy(dtype="int64"),
        }
    )
    extra = pd.DataFrame(
        {
            "quarter": conflicts["quarter"].to_numpy(dtype=object),
            "borough": conflicts["borough"].to_numpy(dtype=object),
            "unit": (conflicts["person_id"] + "|" + conflicts["date"]).to_numpy(dtype=object),
            "eligible": True,
            "flagged": True,
            "reason": reason,
            "first": data.n_rows + np.arange(len(conflicts), dtype="int64"),
        }
    )
    return CheckFlags(pd.concat([listed, extra], ignore_index=True), counts=counted)


#: The registry: one row per check, in reporting order. ``run_checks`` runs
#: every row; adding a check is one function and one row here.
REGISTRY: tuple[Check, ...] = (
    Check(
        "victims_as_offenders",
        "ICO enforcement notice (Nov 2018): victims and perpetrators were not clearly distinguished",
        _victims_as_offenders,
        on="counts",
        needs=("victim_flag", "violent_offences_2y"),
    ),
    Check(
        "blanket_sharing",
        "ICO enforcement notice (Nov 2018): blanket and undifferentiated sharing with third "
        "parties, disproportionate as most people listed were low risk",
        _blanket_sharing,
        on="counts",
        needs=("shared_with",),
        default_threshold=0.10,
    ),
    Check(
        "reviews_overdue",
        "MPS policy (2018): borough cohorts to be reviewed at least every quarter",
        _reviews_overdue,
        on="counts",
        needs=("last_reviewed",),
        uses_if_present=("date_added",),
    ),
    Check(
        "zero_harm_retained",
        "ICO enforcement notice (Nov 2018): people scored zero were not removed",
        _zero_harm_retained,
        on="counts",
    ),
    Check(
        "relisted",
        "ICO enforcement notice (Nov 2018): no retention period; people removed were kept "
        "on informal lists",
        _relisted,
        on="counts",
        default_threshold=0.05,
    ),
    Check(
        "children_listed",
        "MOPAC review (2018) and update (Feb 2020): under-18s on the matrix (14% in 2018, 6% in 2019)",
        _children_listed,
        on="counts",
        default_threshold=0.06,
    ),
    Check(
        "children_shared",
        "ICO enforcement notice (Nov 2018) on blanket sharing, for children, who merit "
        "specific protection (UK GDPR recital 38)",
        _children_shared,
        on="counts",
        needs=("shared_with",),
    ),
    Check(
        "test_data",
        "ICO reprimand (Police National Database): test data entered the live system",
        _test_data,
        on="counts",
        uses_if_present=(QUARANTINE,),
        basis="count",
    ),
    Check(
        "impossible_dates",
        "ICO reprimand (Police National Database): an automated check of uploads could have "
        "prevented the incident; dates that cannot be true",
        _impossible_dates,
        on="counts",
        uses_if_present=("date_added", QUARANTINE),
        basis="count",
    ),
    Check(
        "same_person_two_boroughs",
        "ICO enforcement notice (Nov 2018): 32 borough matrices compiled into one, with "
        "inconsistent practice across boroughs",
        _same_person_two_boroughs,
        on="counts",
        needs=(QUARANTINE,),
        basis="count",
    ),
)


def _get_check(name: str) -> Check:
    for check in REGISTRY:
        if check.name == name:
            return check
    raise ValueError(ERR_UNKNOWN_CHECK.format(name=name, valid=", ".join(c.name for c in REGISTRY)))


def list_checks() -> pd.DataFrame:
    """The registered checks, one row each.

    Returns
    -------
    DataFrame
        Columns :data:`LIST_COLUMNS`: ``name``, ``finding``, ``needs`` and
        ``uses_if_present`` (";"-joined column names, "quarantine" for the
        quarantine frame), ``basis`` ("share" or "count") and ``threshold``
        (the default).

    Examples
    --------
    >>> list_checks().loc[0, "name"]
    'victims_as_offenders'
    """
    return pd.DataFrame(
        [
            {
                "name": c.name,
                "finding": c.finding,
                "needs": ";".join(c.needs),
                "uses_if_present": ";".join(c.uses_if_present),
                "basis": c.basis,
                "threshold": float(c.default_threshold),
            }
            for c in REGISTRY
        ],
        columns=list(LIST_COLUMNS),
    )


# --------------------------------------------------------------------------
# Running the checks
# --------------------------------------------------------------------------


def _group_grid(quarters: Sequence[str], keys: list[str], extra: pd.DataFrame) -> pd.DataFrame:
    """Every group to report: the matrix's quarters (x every borough), plus any
    group only found among a check's units (e.g. quarter "unknown")."""
    base = _base_grid(tuple(sorted(set(quarters))), tuple(keys))
    if len(extra):
        found = set(zip(*(extra[k].astype(object).to_numpy(dtype=object) for k in keys), strict=True))
        if found <= _grid_keys(tuple(sorted(set(quarters))), tuple(keys), tuple(defs.BOROUGHS)):
            return base.copy()  # the usual case, found with sets (pandas' isin took a few ms a check)
        seen = extra[keys].drop_duplicates()
        known = pd.MultiIndex.from_frame(base) if len(keys) > 1 else pd.Index(base[keys[0]])
        found = pd.MultiIndex.from_frame(seen.astype(object)) if len(keys) > 1 else pd.Index(seen[keys[0]])
        if found.isin(known).all():
            return base.copy()
        return _ordered(pd.concat([base, seen], ignore_index=True).drop_duplicates(), keys)
    return base.copy()


def _counted_grid(quarters: Sequence[str], keys: list[str], counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`_group_grid` for a check with counted cells and no units of its own (``counts``'
    groups checked against the grid with a set, the frame :func:`_group_grid` reads made only
    when a group is not in it). A copy, as :func:`_group_grid` returns: the grid is cached, and
    nothing a caller does to what it is given may change the next audit's (about 40 µs a check)."""
    known = tuple(sorted(set(quarters)))
    if keys == ["quarter"]:
        found = {(q,) for q in counts["quarter"].astype(object).tolist()}
    else:
        found = set(zip(counts["quarter"].astype(object).tolist(), counts["borough"].astype(object).tolist(),
                        strict=True))
    if found <= _grid_keys(known, tuple(keys), tuple(defs.BOROUGHS)):
        return _base_grid(known, tuple(keys)).copy()
    extra = counts[["quarter", "borough"]].astype(object)
    if keys == ["quarter"]:
        extra = extra.assign(borough=ALL_BOROUGHS)
    return _group_grid(quarters, keys, extra)


def _base_grid(quarters: tuple[str, ...], keys: tuple[str, ...]) -> pd.DataFrame:
    return _base_grid_of(quarters, keys, tuple(defs.BOROUGHS))  # the areas in force (a profile may set them)


@functools.lru_cache(maxsize=32)
def _grid_keys(quarters: tuple[str, ...], keys: tuple[str, ...], boroughs: tuple[str, ...]) -> frozenset:
    """The groups of :func:`_base_grid_of` as a set of tuples."""
    grid = _base_grid_of(quarters, keys, boroughs)
    return frozenset(zip(*(grid[k].tolist() for k in keys), strict=True))


@functools.lru_cache(maxsize=32)
def _base_grid_of(quarters: tuple[str, ...], keys: tuple[str, ...], boroughs: tuple[str, ...]) -> pd.DataFrame:
    if keys == ("quarter",):
        grid = pd.DataFrame({"quarter": list(quarters)})
    else:
        grid = pd.MultiIndex.from_product([list(quarters), list(boroughs)], names=list(keys)).to_frame(index=False)
    return _ordered(grid, list(keys))


def _ordered(grid: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    unknown_last = grid["quarter"].eq(UNKNOWN)
    order = grid.assign(_u=unknown_last)
    if "borough" in keys:
        rank = {b: i for i, b in enumerate(defs.BOROUGHS)}
        order["_b"] = order["borough"].map(rank).fillna(len(rank))
        order = order.sort_values(["_u", "quarter", "_b", "borough"], kind="stable")
    else:
        order = order.sort_values(["_u", "quarter"], kind="stable")
    return order[keys].reset_index(drop=True)


def _reasons_text(table: pd.DataFrame, keys: list[str], name: str) -> pd.DataFrame:
    """``"reason units; reason units"`` per group, reasons in order of first appearance, empty ones left out."""
    if table.empty:
        return pd.DataFrame(columns=[*keys, name])
    per = table.groupby([*keys, "reason"], sort=False).agg(units=("units", "sum"), first=("first", "min"))
    per = per.reset_index().sort_values([*keys, "first"], kind="stable")
    per["text"] = [f"{r} {u}" if r else "" for r, u in zip(per["reason"], per["units"], strict=True)]
    return per.groupby(keys, sort=True)["text"].agg(lambda t: "; ".join(x for x in t if x)).rename(
        name).reset_index()


def _sum_by(frames: list[pd.DataFrame], keys: list[str], name: str) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame(columns=[*keys, name])
    return pd.concat(frames, ignore_index=True).groupby(keys, sort=True)["v"].sum().rename(name).reset_index()


def _aggregate_counts(counts: pd.DataFrame, keys: list[str]) -> dict[str, np.ndarray] | None:
    """:func:`_aggregate` of counted units only (no ``units``), in plain Python: the audit's case.

    The count tables are small (a row per quarter, area, state and reason), and the
    pandas version's dozen group-bys, sorts and merges cost far more than the
    arithmetic (about 0.3 s of every audit over the twenty calls). Same groups, sums,
    and reasons in order of first appearance (ties in ``first`` kept in table order,
    as the stable sort there keeps them). None (the caller then takes the pandas path)
    where a reason is not text or ``first`` is not a whole number.
    """
    first = counts["first"].to_numpy()
    count_units = counts["units"].to_numpy()
    if first.dtype.kind not in "iu" or count_units.dtype.kind not in "iu":
        return None
    reasons = counts["reason"].to_numpy(dtype=object)
    if not all(isinstance(r, str) for r in reasons):
        return None
    quarter = counts["quarter"].astype(object).to_numpy(dtype=object)
    by_area = keys != ["quarter"]
    area = counts["borough"].astype(object).to_numpy(dtype=object) if by_area else None
    eligible = counts["eligible"].to_numpy(dtype=bool)
    flagged = eligible & counts["flagged"].to_numpy(dtype=bool)
    n: dict[tuple, int] = {}
    c: dict[tuple, int] = {}
    why: dict[tuple, dict[str, list[int]]] = {}
    excluded: dict[tuple, dict[str, list[int]]] = {}
    for i, (q, r, u, f) in enumerate(zip(quarter, reasons, count_units.tolist(), first.tolist(), strict=True)):
        key = (q, area[i]) if by_area else (q,)
        ok = bool(eligible[i])
        n[key] = n.get(key, 0) + (u if ok else 0)
        c[key] = c.get(key, 0) + (u if flagged[i] else 0)
        target = why if flagged[i] else (excluded if not ok and r != "" else None)
        if target is not None:
            per = target.setdefault(key, {})
            if r in per:
                per[r][0] += u
                per[r][1] = min(per[r][1], f)
            else:
                per[r] = [u, f]

    def text(per: dict[str, list[int]]) -> str:
        ordered = sorted(per.items(), key=lambda item: item[1][1])  # stable: ties in order of appearance
        return "; ".join(f"{r} {u}" for r, (u, _) in ordered if r)

    groups = sorted(n)
    out = {k: np.array([g[j] for g in groups], dtype=object) for j, k in enumerate(keys)}
    out["n"] = np.array([n[g] for g in groups], dtype="int64")
    out["count"] = np.array([c[g] if c[g] > 0 else np.nan for g in groups], dtype="float64")
    out["why"] = np.array([text(why[g]) if g in why else np.nan for g in groups], dtype=object)
    out["excluded"] = np.array([text(excluded[g]) if g in excluded else np.nan for g in groups], dtype=object)
    return out  # the columns of a frame, unframed: only _left_join reads them


def _aggregate(units: pd.DataFrame, keys: list[str], counts: pd.DataFrame | None = None,
               offset: int = 0) -> pd.DataFrame | dict[str, np.ndarray]:
    """count, n and detail per group, over the distinct units and the counted ones.

    ``units`` rows are deduplicated by ``unit`` within each group (a unit in
    two boroughs counts once London-wide); ``counts`` rows are distinct units
    already counted. Reasons are listed in order of first appearance.
    """
    if not len(units) and counts is not None and len(counts):
        fast = _aggregate_counts(counts, keys)
        if fast is not None:
            return fast
    n_parts, count_parts, why_parts, excluded_parts = [], [], [], []
    if len(units):
        units = units.copy()
        if "first" not in units.columns:
            units["first"] = offset + np.arange(len(units), dtype="int64")
        eligible = units[units["eligible"].astype(bool)]
        flagged = eligible[eligible["flagged"].astype(bool)]
        excluded = units[~units["eligible"].astype(bool) & units["reason"].astype(str).ne("")]
        n_parts.append(eligible.groupby(keys)["unit"].nunique().rename("v").reset_index())
        count_parts.append(flagged.groupby(keys)["unit"].nunique().rename("v").reset_index())
        for part, source in ((why_parts, flagged), (excluded_parts, excluded)):
            distinct = source.drop_duplicates(keys + ["unit"])
            part.append(distinct.assign(units=1)[[*keys, "reason", "units", "first"]])
    if counts is not None and len(counts):
        counts = counts.copy()
        if keys == ["quarter"]:
            counts["borough"] = ALL_BOROUGHS
        eligible = counts["eligible"].to_numpy(dtype=bool)
        flagged = eligible & counts["flagged"].to_numpy(dtype=bool)
        units_n = np.where(eligible, counts["units"].to_numpy(dtype="int64"), 0)
        totals = (counts[keys].assign(n=units_n, c=np.where(flagged, units_n, 0))
                  .groupby(keys, sort=True)[["n", "c"]].sum().reset_index())
        n_parts.append(totals[[*keys, "n"]].rename(columns={"n": "v"}))
        count_parts.append(totals.loc[totals["c"] > 0, [*keys, "c"]].rename(columns={"c": "v"}))
        why_parts.append(counts.loc[flagged, [*keys, "reason", "units", "first"]])
        excluded = ~eligible & counts["reason"].astype(str).ne("").to_numpy(dtype=bool)
        excluded_parts.append(counts.loc[excluded, [*keys, "reason", "units", "first"]])
    out = _sum_by(n_parts, keys, "n").merge(_sum_by(count_parts, keys, "count"), on=keys, how="outer")
    for parts, name in ((why_parts, "why"), (excluded_parts, "excluded")):
        table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        out = out.merge(_reasons_text(table, keys, name), on=keys, how="outer")
    return out


def _left_join(grid: pd.DataFrame, agg: pd.DataFrame | dict[str, np.ndarray], keys: list[str]) -> dict[str, Any]:
    """The columns ``grid.merge(agg, on=keys, how="left")`` gives that :func:`_run_one` reads
    (``quarter``, ``n``, ``count``, ``why``, ``excluded``), found with a dictionary: ``agg`` has
    one row per group, so each grid row takes its group's values or NaN, as the merge does."""
    rows = {k: i for i, k in enumerate(zip(*(list(agg[c]) for c in keys), strict=True))}
    position = np.array([rows.get(k, -1) for k in zip(*(grid[c].tolist() for c in keys), strict=True)],
                        dtype="int64")
    found = position >= 0

    def take(column: str) -> np.ndarray:
        values = np.full(len(grid), np.nan, dtype=object)
        values[found] = np.asarray(agg[column], dtype=object)[position[found]]
        return values

    return {"quarter": grid["quarter"].tolist(), **{c: take(c) for c in ("n", "count", "why", "excluded")}}


def _validate_by(by: Sequence[str]) -> list[str]:
    normal = (by,) if isinstance(by, str) else tuple(by)
    if normal not in BY_OPTIONS:
        raise ValueError(ERR_BY.format(valid=list(BY_OPTIONS), got=by))
    return list(normal)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if isinstance(p, str) and p)


def _run_one(
    check: Check,
    matrix: pd.DataFrame | None,
    data: CheckData | None,
    quarantine: pd.DataFrame | None,
    keys: list[str],
    config: ChecksConfig,
    alpha: float,
    undeclared: str = "",
) -> dict[str, Any]:
    """One check's columns of the result (:func:`_result_frame` makes the table)."""
    threshold = float(config.thresholds.get(check.name, check.default_threshold))
    columns = data.columns if data is not None else frozenset(matrix.columns)
    quarters = data.quarters if data is not None else tuple(set(_quarters(matrix)))
    missing = [c for c in check.needs if c != QUARANTINE and c not in columns]
    reason = ""
    if undeclared:  # the list's profile does not declare what the check needs
        reason = undeclared
    elif missing:
        reason = REASON_COLUMNS_ABSENT.format(columns=_plural_columns(missing))
    elif QUARANTINE in check.needs and quarantine is None:
        reason = REASON_NO_QUARANTINE
    elif check.on == "records" and matrix is None:
        reason = REASON_NEEDS_RECORDS
    flags = None
    if not reason:
        try:
            source = data if check.on == "counts" else matrix
            flags = check.func(source, quarantine=quarantine, config=config)
        except NotAssessable as why:
            reason = str(why)

    if flags is None:
        grid = _group_grid(quarters, keys, pd.DataFrame())
        size = len(grid)
        count = n = np.zeros(size, dtype="int64")
        missing = np.ones(size, dtype=bool)  # count and n are <NA>
        share = low = high = np.full(size, np.nan)
        status = [STATUS_NOT_ASSESSABLE] * size
        detail = [reason] * size
    else:
        units = flags.units
        counted = flags.counts is not None and len(flags.counts)
        if len(units) or not counted:
            keep = [c for c in (*UNIT_COLUMNS, "first") if c in units.columns]
            units = units.loc[:, keep].copy()
            if keys == ["quarter"]:
                units["borough"] = ALL_BOROUGHS
            extra = units
            if counted:
                extra = pd.concat([units[["quarter", "borough"]], flags.counts[["quarter", "borough"]]],
                                  ignore_index=True)
                if keys == ["quarter"]:
                    extra["borough"] = ALL_BOROUGHS
            grid = _group_grid(quarters, keys, extra)
        else:  # counted cells alone (most checks): their groups found without a frame
            grid = _counted_grid(quarters, keys, flags.counts)
        offset = data.n_rows if (data is not None and flags.counts is not None) else 0
        table = _left_join(grid, _aggregate(units, keys, flags.counts, offset), keys)
        n = np.array([0 if pd.isna(v) else int(v) for v in table["n"]], dtype="int64")
        count = np.array([0 if pd.isna(v) else int(v) for v in table["count"]], dtype="int64")
        missing = np.zeros(len(n), dtype=bool)
        share = np.divide(count, n, out=np.full(len(n), np.nan), where=n > 0)
        low, high = confint_proportion(count, n, alpha=alpha, method="wilson")
        if check.basis == "count":
            value = count.astype(float)
        else:
            value = low if config.status_on == "ci_low" else share
        exceeds = value > threshold
        incomplete = [flags.incomplete.get(q, "") for q in table["quarter"]]
        status = [STATUS_NOT_ASSESSABLE if nn == 0 or (inc != "" and not ex) else
                  (STATUS_CONCERN if ex else STATUS_OK)
                  for nn, inc, ex in zip(n.tolist(), incomplete, exceeds.tolist(), strict=True)]
        detail = [
            _join(
                REASON_EMPTY_GROUP if nn == 0 else "",
                inc,
                why if isinstance(why, str) else "",
                f"excluded: {exc}" if isinstance(exc, str) and exc else "",
                flags.note,
            )
            for nn, inc, why, exc in zip(
                n.tolist(), incomplete, table["why"], table["excluded"], strict=True
            )
        ]
    size = len(grid)
    boroughs = [ALL_BOROUGHS] * size if keys == ["quarter"] else [str(b) for b in grid["borough"].tolist()]
    return {
        "check": [check.name] * size,
        "finding": [check.finding] * size,
        "quarter": [str(q) for q in grid["quarter"].tolist()],
        "borough": boroughs,
        "count": (count, missing),
        "n": (n, missing),
        "share": np.asarray(share, dtype="float64"),
        "ci_low": np.asarray(low, dtype="float64"),
        "ci_high": np.asarray(high, dtype="float64"),
        "threshold": np.full(size, threshold),
        "basis": [check.basis] * size,
        "status": status,
        "detail": detail,
    }


def _result_frame(parts: list[dict[str, Any]]) -> pd.DataFrame:
    """The checks' columns (:func:`_run_one`) as one table, :data:`CHECK_RESULT_COLUMNS` in order:
    text as ``str``, ``count`` and ``n`` as ``Int64`` (<NA> where the check was not assessable).

    One frame built once: a frame per check, assigned, cast and concatenated, cost more than
    the checks themselves (about 0.2 s of every audit)."""
    if not parts:
        return pd.DataFrame({c: [] for c in CHECK_RESULT_COLUMNS})
    columns: dict[str, Any] = {}
    for c in CHECK_RESULT_COLUMNS:
        if c in ("count", "n"):
            values = np.concatenate([p[c][0] for p in parts])
            mask = np.concatenate([p[c][1] for p in parts])
            columns[c] = pd.arrays.IntegerArray(values, mask)
        elif isinstance(parts[0][c], np.ndarray):
            columns[c] = np.concatenate([p[c] for p in parts])
        else:
            columns[c] = pd.array([v for p in parts for v in p[c]], dtype="str")
    return pd.DataFrame(columns)


def run_checks(
    matrix: pd.DataFrame,
    *,
    quarantine: pd.DataFrame | None = None,
    by: Sequence[str] = ("quarter",),
    config: ChecksConfig | None = None,
    checks: Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Run every registered check, per quarter (and per borough).

    Parameters
    ----------
    matrix : DataFrame
        A validated matrix, one row per person per snapshot. Optional columns
        may be absent: the checks that need them are "not assessable".
    quarantine : DataFrame, optional
        Rows that failed validation (raw columns as text, ``line``, ``rules``).
        Needed by ``same_person_two_boroughs``; used by ``impossible_dates``
        and ``test_data``.
    by : ("quarter",) or ("quarter", "borough"), default ("quarter",)
        London-wide rows per quarter (``borough`` = "All boroughs"), or one
        row per quarter per borough (all 32, including empty ones).
    config : ChecksConfig, optional
        Thresholds and parameters; default ``ChecksConfig()``.
    checks : sequence of str, optional
        Names of the checks to run, in registry order; default all.
    alpha : float, default 0.05
        Wilson intervals are at the ``1 - alpha`` level.

    Returns
    -------
    DataFrame
        One row per check per group, columns :data:`CHECK_RESULT_COLUMNS`:

        ``check``, ``finding``
            Name and the finding it looks for, with its source.
        ``quarter``, ``borough``
            The group ("2018Q4"; a borough or "All boroughs"). Quarantined
            rows whose snapshot date does not parse are in quarter "unknown";
            whose borough is not valid, in borough "unknown".
        ``count``, ``n``, ``share``, ``ci_low``, ``ci_high``
            Units flagged, units eligible (the denominator), ``count / n`` and
            its Wilson interval. Units are rows, or people, as each check says.
        ``threshold``, ``basis``
            The threshold, and whether it applies to the share or the count.
        ``status``
            ``"concern"`` when the value exceeds the threshold (strictly:
            ``share > threshold``, or ``ci_low > threshold`` with
            ``config.status_on="ci_low"``; ``count > threshold`` for
            count-based checks); ``"ok"`` otherwise; ``"not assessable"`` when
            a needed column or the quarantine is missing, when the group has
            no eligible records, or when the group's quarter lacks the history
            the check needs and the (lower-bound) value does not exceed.
        ``detail``
            Why: the reasons units were flagged with their counts, units
            excluded from the denominator, and anything the check could not do.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({
    ...     "person_id": ["a", "b"], "snapshot_date": pd.to_datetime(["2018-12-31"] * 2),
    ...     "borough": pd.Categorical(["Brent", "Brent"]),
    ...     "ethnicity": pd.Categorical(["Black", "White"]), "sex": pd.Categorical(["Male"] * 2),
    ...     "age": [16, 30], "harm_score": [0.0, 5.0],
    ...     "risk_band": pd.Categorical(["Green", "Red"])})
    >>> out = run_checks(m, checks=["children_listed", "victims_as_offenders"])
    >>> print(out[["check", "quarter", "count", "n", "status"]].to_string(index=False))
                   check quarter  count    n         status
    victims_as_offenders  2018Q4   <NA> <NA> not assessable
         children_listed  2018Q4      1    2        concern
    """
    if not 0 < alpha < 1:
        raise ValueError(ERR_ALPHA.format(alpha=alpha))
    missing = _missing(matrix, defs.REQUIRED_COLUMNS)
    if missing:
        raise ValueError(
            ERR_MISSING_REQUIRED.format(
                missing=", ".join(missing), required=", ".join(defs.REQUIRED_COLUMNS)
            )
        )
    keys = _validate_by(by)
    config = ChecksConfig() if config is None else config
    selected = _select(config, checks)
    data = check_data_from_frame(matrix, config=config) if any(c.on == "counts" for c in selected) else None
    return _run_selected(selected, matrix, data, quarantine, keys, config, alpha)


def run_checks_on_counts(
    data: CheckData,
    *,
    quarantine: pd.DataFrame | None = None,
    by: Sequence[str] = ("quarter",),
    config: ChecksConfig | None = None,
    checks: Sequence[str] | None = None,
    alpha: float = 0.05,
    matrix: pd.DataFrame | None = None,
    not_assessable: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """:func:`run_checks` from counts already made (:func:`fairness.counts.cube.check_data_from_frame`,
    or SQL over a Parquet file). Checks that read the records need ``matrix``; without it they
    are "not assessable". ``data`` must have been counted with the same ``config``.

    ``not_assessable``: check name -> the reason it cannot run (what the list's profile does not
    declare; see :func:`undeclared_checks`); those checks say so instead of running."""
    if not 0 < alpha < 1:
        raise ValueError(ERR_ALPHA.format(alpha=alpha))
    keys = _validate_by(by)
    config = ChecksConfig() if config is None else config
    return _run_selected(_select(config, checks), matrix, data, quarantine, keys, config, alpha,
                         dict(not_assessable or {}))


#: What each check needs a list's profile to declare (``missing_declarations`` keys of
#: :mod:`fairness.profiles`): a check is not assessable when any group of needs is wholly missing
#: (blanket sharing reads low risk from the harm score or from the least severe band: either will do).
CHECK_DECLARATIONS: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType({
    "victims_as_offenders": (("harm_score",),),
    "blanket_sharing": (("harm_score", "bands"),),
    "zero_harm_retained": (("harm_score",), ("snapshots",), ("snapshot_date",)),
    "relisted": (("snapshots",), ("snapshot_date",)),
    "reviews_overdue": (("snapshot_date",),),
    "impossible_dates": (("snapshot_date",),),
})


def undeclared_checks(missing: Mapping[str, str]) -> dict[str, str]:
    """Check name -> "not assessable: <profile> declares no <thing>" for the checks whose needs
    (:data:`CHECK_DECLARATIONS`) the profile does not declare (``missing``: declaration -> reason)."""
    out = {}
    for name, groups in CHECK_DECLARATIONS.items():
        for group in groups:
            if all(k in missing for k in group):
                out[name] = "; ".join(missing[k] for k in group)
                break
    return out


def _select(config: ChecksConfig, checks: Sequence[str] | None) -> list[Check]:
    names = [c.name for c in REGISTRY]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(ERR_DUPLICATE_CHECK.format(name=dup))
    for name in list(config.thresholds) + list(checks or ()):
        if name not in names:
            raise ValueError(ERR_UNKNOWN_CHECK.format(name=name, valid=", ".join(names)))
    return [c for c in REGISTRY if checks is None or c.name in set(checks)]


def _run_selected(selected, matrix, data, quarantine, keys, config, alpha, not_assessable=None) -> pd.DataFrame:
    outer, outer_cells = getattr(_RUN, "views", None), getattr(_RUN, "cells", None)
    _RUN.views = [] if outer is None else outer
    _RUN.cells = [] if outer_cells is None else outer_cells
    try:
        return _result_frame([_run_one(c, matrix, data, quarantine, keys, config, alpha,
                                       (not_assessable or {}).get(c.name, "")) for c in selected])
    finally:
        _RUN.views, _RUN.cells = outer, outer_cells


# --------------------------------------------------------------------------
# Sharing in detail
# --------------------------------------------------------------------------


def sharing_by_partner(matrix: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Who records were shared with, by risk band and no-risk status, per quarter.

    The share of records in each band (and, within it, with harm 0 or not)
    that were shared with each type of partner, and with anyone. Sharing is
    "undifferentiated" (ICO, 2018) when the no-risk and Green shares are as
    high as the Red share.

    Parameters
    ----------
    matrix : DataFrame
        A validated matrix with column ``shared_with`` (partner types
        separated by ";", "" when not shared).
    alpha : float, default 0.05
        Wilson intervals at the ``1 - alpha`` level.

    Returns
    -------
    DataFrame
        Columns :data:`SHARING_COLUMNS`: ``quarter``, ``partner`` (a declared
        partner type of :data:`fairness.io.schema.PARTNER_TYPES`, "Other" for
        anything else, or "any"), ``risk_band`` (Red, Amber, Green), ``no_risk`` (bool:
        harm score 0), ``count`` (records in the cell shared with the
        partner), ``n`` (records in the cell), ``share`` = count / n,
        ``ci_low``, ``ci_high`` (Wilson). Every band x no_risk cell appears
        for every partner, with ``n`` = 0 and NaN share when empty.

    Raises
    ------
    ValueError
        If the matrix has no ``shared_with`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"snapshot_date": pd.to_datetime(["2018-12-31"] * 2),
    ...     "risk_band": pd.Categorical(["Green", "Red"]), "harm_score": [0.0, 9.0],
    ...     "shared_with": ["housing;school", ""]})
    >>> t = sharing_by_partner(m)
    >>> print(t[(t.partner == "any") & (t.n > 0)][["risk_band", "no_risk", "count", "n"]].to_string(index=False))
    risk_band  no_risk  count  n
          Red    False      0  1
        Green     True      1  1
    """
    if "shared_with" not in matrix.columns:
        raise ValueError(ERR_SHARED_WITH_ABSENT)
    if not 0 < alpha < 1:
        raise ValueError(ERR_ALPHA.format(alpha=alpha))
    codes, labels = quarter_codes(matrix["snapshot_date"])
    table = pd.DataFrame({
        "quarter": pd.Categorical.from_codes(codes, categories=labels) if labels else pd.Categorical([]),
        "risk_band": matrix["risk_band"].astype(object).to_numpy(),
        "harm_zero": no_risk_flag(matrix, "harm_zero").to_numpy(dtype=bool),
        "shared_with": matrix["shared_with"].fillna("").astype(str).to_numpy(dtype=object),
    })
    table = table.groupby(list(table.columns), observed=True, sort=False, dropna=False).size()
    return sharing_from_counts(table.rename("count").reset_index(), alpha=alpha)


def sharing_from_counts(table: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """:func:`sharing_by_partner` from records counted by ``quarter, risk_band, harm_zero,
    shared_with`` (as written, "" when not shared) in ``count``."""
    # only the declared partner types are ever published; anything else is "Other" (issue 12)
    from fairness.io.schema import partner_label

    table = table[table["count"] > 0]
    written = table["shared_with"].astype(object).to_numpy()
    distinct = pd.unique(written)
    partners_of = {
        s: sorted({partner_label(p) for p in str(s).split(SHARED_WITH_SEPARATOR) if p.strip()}) for s in distinct
    }
    cells = pd.DataFrame(
        {
            "quarter": table["quarter"].astype(object).to_numpy(dtype=object),
            "risk_band": table["risk_band"].astype(object).to_numpy(),
            "no_risk": table["harm_zero"].to_numpy(dtype=bool),
            "partners": [partners_of[s] + [ANY_PARTNER] if partners_of[s] else [] for s in written],
            "count": table["count"].to_numpy(dtype="int64"),
        }
    )
    if not defs.RISK_BANDS:  # a list without bands: one row per partner over every band
        cells["risk_band"] = ALL_BANDS
    partner_names = sorted({p for ps in partners_of.values() for p in ps})
    keys = ["quarter", "risk_band", "no_risk"]
    n = cells.groupby(keys)["count"].sum().rename("n")
    shared = cells.explode("partners").dropna(subset=["partners"])
    count = shared.groupby(keys + ["partners"])["count"].sum().rename("count")
    bands = list(defs.RISK_BANDS) + sorted(set(cells["risk_band"].dropna()) - set(defs.RISK_BANDS))
    grid = pd.MultiIndex.from_product(
        [sorted(cells["quarter"].unique()), [ANY_PARTNER, *partner_names], bands, [True, False]],
        names=["quarter", "partner", "risk_band", "no_risk"],
    ).to_frame(index=False)
    out = grid.copy()
    cell_index = pd.MultiIndex.from_frame(grid[keys])
    out["n"] = n.reindex(cell_index, fill_value=0).to_numpy()
    partner_index = pd.MultiIndex.from_frame(grid[keys + ["partner"]])
    out["count"] = count.reindex(partner_index, fill_value=0).to_numpy()
    out["n"] = out["n"].astype("int64")
    out["count"] = out["count"].fillna(0).astype("int64")
    nn = out["n"].to_numpy()
    out["share"] = np.divide(
        out["count"].to_numpy(dtype=float), nn, out=np.full(len(nn), np.nan), where=nn > 0
    )
    out["ci_low"], out["ci_high"] = confint_proportion(
        out["count"].to_numpy(), nn, alpha=alpha, method="wilson"
    )
    return out.loc[:, list(SHARING_COLUMNS)]
