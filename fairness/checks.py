"""Data-protection checks: one check per published regulator finding.

The ICO's enforcement notice on the Metropolitan Police's Gangs Matrix
(November 2018) and related findings (the Police National Database reprimand,
the MPS quarterly-review policy, MOPAC's reviews) each describe a failure that
can be looked for in the matrix itself. This module turns each finding into a
small check and runs them all, per quarter and per borough, into one tidy
table a scrutiny body can publish.

Every check is registered in one table, :data:`REGISTRY`. A check is a
function ``(matrix, *, quarantine, config) -> CheckFlags`` that marks *units*
(matrix rows, people, quarantined rows) as eligible (the denominator) and
flagged (the numerator); :func:`run_checks` does the grouping, the counting,
the Wilson intervals and the status for every check in the same way. Adding a
check is one function and one :class:`Check` row.

A check that needs an optional column the matrix lacks (or the quarantine
frame, when none is passed) is reported as ``"not assessable"`` with the
reason; it never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

from fairness._constants import BOROUGHS, REQUIRED_COLUMNS, RISK_BANDS, SHARED_WITH_SEPARATOR
from fairness._intervals import confint_proportion
from fairness._quarters import quarter_label
from fairness.no_risk import no_risk_flag

__all__ = [
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

#: Default pattern for test identifiers (PND reprimand: test data in the live
#: system): ids that start with test/dummy/sample/xxx/zzz or end with
#: test/dummy, in any case.
DEFAULT_TEST_ID_PATTERN = r"(?i)^(test|dummy|sample|xxx|zzz)|(test|dummy)$"
#: Default patterns for test values in other columns, by column. A partner
#: named "test" or "dummy" in ``shared_with`` is a test artefact.
DEFAULT_TEST_VALUE_PATTERNS: Mapping[str, str] = MappingProxyType(
    {"shared_with": r"(?i)(^|;)\s*(test|dummy)\b"}
)

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
        certainly younger than this when added is an impossible record.
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
    review_days: int = 92
    zero_harm_snapshots: int = 4
    matrix_start: str | pd.Timestamp = "2012-01-01"
    min_age_at_addition: int = 10
    child_age: int = 18
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
    """

    units: pd.DataFrame
    note: str = ""
    incomplete: Mapping[str, str] = field(default_factory=dict)


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
        ``func(matrix, *, quarantine, config) -> CheckFlags``.
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
    """

    name: str
    finding: str
    func: CheckFunction
    needs: tuple[str, ...] = ()
    uses_if_present: tuple[str, ...] = ()
    basis: Literal["share", "count"] = "share"
    default_threshold: float = 0.0


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
    """Units that are the matrix rows themselves.

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


def _shared(matrix: pd.DataFrame) -> pd.Series:
    """True where the record was shared with at least one third party."""
    return matrix["shared_with"].fillna("").astype(str).str.strip().ne("")


def _missing(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c not in frame.columns]


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
        out["borough"] = raw.where(raw.isin(BOROUGHS), UNKNOWN).astype(object)
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


def _person_quarters(matrix: pd.DataFrame) -> pd.DataFrame:
    """One row per person per quarter (the last snapshot in the quarter), with
    ``rank``: the position of the quarter among the snapshots' quarters."""
    frame = pd.DataFrame(
        {
            "person_id": matrix["person_id"].astype(str).to_numpy(dtype=object),
            "quarter": _quarters(matrix),
            "borough": matrix["borough"].astype(str).to_numpy(dtype=object),
            "harm_score": matrix["harm_score"].to_numpy(dtype=float),
            "snapshot_date": matrix["snapshot_date"].to_numpy(),
        }
    )
    frame = frame.sort_values(["person_id", "snapshot_date"], kind="stable")
    frame = frame.groupby(["person_id", "quarter"], sort=False).tail(1)
    order = sorted(frame["quarter"].unique())
    frame["rank"] = frame["quarter"].map({q: i for i, q in enumerate(order)}).astype(int)
    return frame.sort_values(["person_id", "rank"], kind="stable").reset_index(drop=True)


def _person_units(pq: pd.DataFrame, flagged: pd.Series, reason: pd.Series | str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "quarter": pq["quarter"].to_numpy(dtype=object),
            "borough": pq["borough"].to_numpy(dtype=object),
            "unit": pq["person_id"].to_numpy(dtype=object),
            "eligible": True,
            "flagged": np.asarray(flagged, dtype=bool),
            "reason": reason if isinstance(reason, str) else np.asarray(reason, dtype=object),
        }
    )


def _early_quarters(pq: pd.DataFrame, history: int, reason: str) -> dict[str, str]:
    ranks = pq.drop_duplicates("quarter").set_index("quarter")["rank"]
    return {q: reason for q, r in ranks.items() if r < history - 1}


# ---- the checks -----------------------------------------------------------


def _victims_as_offenders(
    matrix: pd.DataFrame, *, quarantine: pd.DataFrame | None, config: ChecksConfig
) -> CheckFlags:
    """Listed victims with no violent offence in two years and a harm score of 0."""
    known = (
        matrix["victim_flag"].notna()
        & matrix["violent_offences_2y"].notna()
        & matrix["harm_score"].notna()
    )
    flagged = no_risk_flag(matrix, "victim_only")
    units = _row_units(
        matrix,
        flagged,
        eligible=known,
        reason="victim, no violent offence in 2 years, harm 0",
        excluded_reason="victim_flag or violent_offences_2y unknown",
    )
    return CheckFlags(units)


def _blanket_sharing(
    matrix: pd.DataFrame, *, quarantine: pd.DataFrame | None, config: ChecksConfig
) -> CheckFlags:
    """Low-risk records (harm 0, or band Green) shared with a third party."""
    no_risk = no_risk_flag(matrix, "harm_zero")
    green = no_risk_flag(matrix, "green_band")
    reason = np.where(no_risk, "no-risk (harm 0) shared", "Green, harm > 0, shared")
    return CheckFlags(_row_units(matrix, _shared(matrix), eligible=no_risk | green, reason=reason))


def _reviews_overdue(
    matrix: pd.DataFrame, *, quarantine: pd.DataFrame | None, config: ChecksConfig
) -> CheckFlags:
    """Last review more than ``review_days`` before the snapshot, or never reviewed.

    A record never reviewed but added within ``review_days`` of the snapshot
    is not yet overdue (when ``date_added`` is present).
    """
    days = config.review_days
    snap = matrix["snapshot_date"]
    last = matrix["last_reviewed"]
    stale = (snap - last).dt.days.gt(days).fillna(False)
    never = last.isna()
    note = ""
    if "date_added" in matrix.columns:
        recent = (snap - matrix["date_added"]).dt.days.le(days).fillna(False)
        never = never & ~recent
    else:
        note = "column date_added absent: every record never reviewed counts as overdue"
    reason = np.where(never, "never reviewed", f"last review more than {days} days before snapshot")
    return CheckFlags(_row_units(matrix, stale | never, reason=reason), note=note)


def _zero_harm_retained(
    matrix: pd.DataFrame, *, quarantine: pd.DataFrame | None, config: ChecksConfig
) -> CheckFlags:
    """People with harm 0 in ``zero_harm_snapshots`` or more consecutive snapshots.

    Consecutive means in consecutive quarterly snapshots of the data (a person
    absent from a snapshot starts again); counted at each quarter.
    """
    need = config.zero_harm_snapshots
    pq = _person_quarters(matrix)
    zero = pq["harm_score"].eq(0).to_numpy()
    person = pq["person_id"].to_numpy()
    rank = pq["rank"].to_numpy()
    starts = np.ones(len(pq), dtype=bool)
    if len(pq) > 1:
        starts[1:] = (person[1:] != person[:-1]) | (np.diff(rank) != 1) | (zero[1:] != zero[:-1])
    segment = np.cumsum(starts)
    run = pd.Series(segment).groupby(segment).cumcount().to_numpy() + 1
    streak = np.where(zero, run, 0)
    flagged = streak >= need
    reason = f"harm 0 in {need} or more consecutive snapshots"
    early = _early_quarters(
        pq, need, f"fewer than {need} snapshots of history: count is a lower bound"
    )
    return CheckFlags(_person_units(pq, flagged, reason), incomplete=early)


def _relisted(
    matrix: pd.DataFrame, *, quarantine: pd.DataFrame | None, config: ChecksConfig
) -> CheckFlags:
    """People back on the list after being absent from at least one snapshot.

    Counted in the quarter in which they reappear; the denominator is the
    people listed that quarter.
    """
    pq = _person_quarters(matrix)
    same_person = pq["person_id"].eq(pq["person_id"].shift())
    gap = pq["rank"].diff()
    flagged = (same_person & gap.gt(1)).to_numpy()
    reason = np.where(pq["harm_score"].eq(0), "relisted with harm 0", "relisted with harm > 0")
    early = _early_quarters(
        pq, 3, "fewer than 3 snapshots of history: relisting cannot yet be seen"
    )
    return CheckFlags(_person_units(pq, flagged, reason), incomplete=early)


def _children_listed(
    matrix: pd.DataFrame, *, quarantine: pd.DataFrame | None, config: ChecksConfig
) -> CheckFlags:
    """People under ``child_age`` on the list."""
    child = matrix["age"].lt(config.child_age)
    return CheckFlags(_row_units(matrix, child, reason=f"under {config.child_age}"))


def _children_shared(
    matrix: pd.DataFrame, *, quarantine: pd.DataFrame | None, config: ChecksConfig
) -> CheckFlags:
    """Children (under ``child_age``) whose record was shared; denominator: children listed."""
    child = matrix["age"].lt(config.child_age)
    return CheckFlags(
        _row_units(
            matrix, _shared(matrix), eligible=child, reason=f"under {config.child_age}, shared"
        )
    )


def _test_data(
    matrix: pd.DataFrame, *, quarantine: pd.DataFrame | None, config: ChecksConfig
) -> CheckFlags:
    """Identifiers or values that look like test data, in the matrix and the quarantine."""
    notes = []
    patterns = {"person_id": config.test_id_pattern, **config.test_value_patterns}

    def scan(frame: pd.DataFrame, where: str) -> tuple[np.ndarray, np.ndarray]:
        hits = np.zeros(len(frame), dtype=bool)
        reason = np.full(len(frame), "", dtype=object)
        for column, pattern in patterns.items():
            if column not in frame.columns:
                notes.append(f"{where} has no column {column}: its test pattern not applied")
                continue
            search = re.compile(pattern).search
            text = frame[column].astype("string").fillna("")
            match = np.fromiter((bool(search(t)) for t in text), dtype=bool, count=len(text))
            label = f"{column} matches test pattern"
            reason = np.where(
                match & (reason == ""), label, np.where(match, reason + "; " + label, reason)
            )
            hits |= match
        return hits, reason

    hits, reason = scan(matrix, "matrix")
    units = [_row_units(matrix, hits, reason=reason)]
    if quarantine is None:
        notes.append("no quarantine frame passed: quarantined rows not scanned")
    else:
        view = _quarantine_view(quarantine, ())
        qhits, qreason = scan(quarantine, "quarantine")
        units.append(
            pd.DataFrame(
                {
                    "quarter": view["quarter"].to_numpy(dtype=object),
                    "borough": view["borough"].to_numpy(dtype=object),
                    "unit": ("q" + view["line"]).to_numpy(dtype=object),
                    "eligible": True,
                    "flagged": qhits,
                    "reason": np.asarray(["quarantined row: " + r for r in qreason], dtype=object),
                }
            )
        )
    return CheckFlags(pd.concat(units, ignore_index=True), note="; ".join(dict.fromkeys(notes)))


def _impossible_dates(
    matrix: pd.DataFrame, *, quarantine: pd.DataFrame | None, config: ChecksConfig
) -> CheckFlags:
    """Dates that cannot be true, in the matrix and among quarantined rows.

    In the matrix (needs ``date_added``): added before ``matrix_start``; added
    after the snapshot; or certainly younger than ``min_age_at_addition`` when
    added. Age is in completed years, so the age at addition is at most
    ``age + 1 - years between date_added and snapshot``; a row is flagged only
    when that upper bound is at most ``min_age_at_addition``. In the quarantine:
    rows with rule ``bad_date`` or ``date_order``, counted in the quarter of
    their snapshot date, or in quarter "unknown" when it does not parse.
    """
    has_added = "date_added" in matrix.columns
    if not has_added and quarantine is None:
        raise NotAssessable(
            f"{REASON_COLUMNS_ABSENT.format(columns=_plural_columns(['date_added']))} and {REASON_NO_QUARANTINE}"
        )
    notes = []
    units = []
    if has_added:
        added = matrix["date_added"]
        snap = matrix["snapshot_date"]
        years = (snap - added).dt.days / 365.25
        early = added.lt(config.matrix_start).fillna(False)
        after = added.gt(snap).fillna(False)
        young = (matrix["age"] + 1 - years).le(config.min_age_at_addition).fillna(False) & ~after
        reason = np.select(
            [early.to_numpy(), after.to_numpy(), young.to_numpy()],
            [
                f"date_added before {config.matrix_start.date()}",
                "date_added after snapshot_date",
                f"under {config.min_age_at_addition} at date_added",
            ],
            default="",
        )
        units.append(_row_units(matrix, early | after | young, reason=reason))
    else:
        notes.append(
            f"{REASON_COLUMNS_ABSENT.format(columns=_plural_columns(['date_added']))}: only quarantined rows counted"
        )
        units.append(_row_units(matrix, np.zeros(len(matrix), dtype=bool)))
    if quarantine is None:
        notes.append(f"{REASON_NO_QUARANTINE}: quarantined date errors not counted")
    else:
        view = _quarantine_view(quarantine, ("rules",))
        rules = view["rules"]
        hit = rules.map(lambda r: bool(r & _QUARANTINE_DATE_RULES)).to_numpy(dtype=bool)
        reason = rules.map(
            lambda r: "quarantined: " + ", ".join(sorted(r & _QUARANTINE_DATE_RULES))
        ).to_numpy(dtype=object)
        units.append(
            pd.DataFrame(
                {
                    "quarter": view["quarter"].to_numpy(dtype=object),
                    "borough": view["borough"].to_numpy(dtype=object),
                    "unit": ("q" + view["line"]).to_numpy(dtype=object),
                    "eligible": True,
                    "flagged": hit,
                    "reason": reason,
                }
            )
        )
    return CheckFlags(pd.concat(units, ignore_index=True), note="; ".join(notes))


def _same_person_two_boroughs(
    matrix: pd.DataFrame, *, quarantine: pd.DataFrame | None, config: ChecksConfig
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
    keys_m = pd.DataFrame(
        {
            "person_id": matrix["person_id"].astype(str).str.strip().to_numpy(dtype=object),
            "date": matrix["snapshot_date"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
            "quarter": _quarters(matrix),
            "borough": matrix["borough"].astype(str).to_numpy(dtype=object),
        }
    )
    involved = keys_q[["person_id", "date"]].drop_duplicates()
    pool = pd.concat([keys_q, keys_m.merge(involved, on=["person_id", "date"])], ignore_index=True)
    n_boroughs = pool.groupby(["person_id", "date"])["borough"].transform("nunique")
    conflicts = pool[n_boroughs.gt(1)].drop_duplicates(["person_id", "date", "borough"])
    conflict_keys = set(zip(conflicts["person_id"], conflicts["date"], strict=True))

    base = keys_m.drop_duplicates(["person_id", "date", "borough"])
    in_conflict = np.fromiter(
        ((p, d) in conflict_keys for p, d in zip(base["person_id"], base["date"], strict=True)),
        dtype=bool,
        count=len(base),
    )
    listed = pd.DataFrame(
        {
            "quarter": base["quarter"].to_numpy(dtype=object),
            "borough": base["borough"].to_numpy(dtype=object),
            "unit": (base["person_id"] + "|" + base["date"]).to_numpy(dtype=object),
            "eligible": True,
            "flagged": in_conflict,
            "reason": "same person_id in another borough in this snapshot",
        }
    )
    extra = pd.DataFrame(
        {
            "quarter": conflicts["quarter"].to_numpy(dtype=object),
            "borough": conflicts["borough"].to_numpy(dtype=object),
            "unit": (conflicts["person_id"] + "|" + conflicts["date"]).to_numpy(dtype=object),
            "eligible": True,
            "flagged": True,
            "reason": "same person_id in another borough in this snapshot",
        }
    )
    return CheckFlags(pd.concat([listed, extra], ignore_index=True))


#: The registry: one row per check, in reporting order. ``run_checks`` runs
#: every row; adding a check is one function and one row here.
REGISTRY: tuple[Check, ...] = (
    Check(
        "victims_as_offenders",
        "ICO enforcement notice (Nov 2018): victims and perpetrators were not clearly distinguished",
        _victims_as_offenders,
        needs=("victim_flag", "violent_offences_2y"),
    ),
    Check(
        "blanket_sharing",
        "ICO enforcement notice (Nov 2018): blanket and undifferentiated sharing with third "
        "parties, disproportionate as most people listed were low risk",
        _blanket_sharing,
        needs=("shared_with",),
        default_threshold=0.10,
    ),
    Check(
        "reviews_overdue",
        "MPS policy (2018): borough cohorts to be reviewed at least every quarter",
        _reviews_overdue,
        needs=("last_reviewed",),
        uses_if_present=("date_added",),
    ),
    Check(
        "zero_harm_retained",
        "ICO enforcement notice (Nov 2018): people scored zero were not removed",
        _zero_harm_retained,
    ),
    Check(
        "relisted",
        "ICO enforcement notice (Nov 2018): no retention period; people removed were kept "
        "on informal lists",
        _relisted,
        default_threshold=0.05,
    ),
    Check(
        "children_listed",
        "MOPAC review (2018) and update (Feb 2020): under-18s on the matrix (14% in 2018, 6% in 2019)",
        _children_listed,
        default_threshold=0.06,
    ),
    Check(
        "children_shared",
        "ICO enforcement notice (Nov 2018) on blanket sharing, for children, who merit "
        "specific protection (UK GDPR recital 38)",
        _children_shared,
        needs=("shared_with",),
    ),
    Check(
        "test_data",
        "ICO reprimand (Police National Database): test data entered the live system",
        _test_data,
        uses_if_present=(QUARANTINE,),
        basis="count",
    ),
    Check(
        "impossible_dates",
        "ICO reprimand (Police National Database): an automated check of uploads could have "
        "prevented the incident; dates that cannot be true",
        _impossible_dates,
        uses_if_present=("date_added", QUARANTINE),
        basis="count",
    ),
    Check(
        "same_person_two_boroughs",
        "ICO enforcement notice (Nov 2018): 32 borough matrices compiled into one, with "
        "inconsistent practice across boroughs",
        _same_person_two_boroughs,
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


def _group_grid(matrix: pd.DataFrame, keys: list[str], extra: pd.DataFrame) -> pd.DataFrame:
    """Every group to report: the matrix's quarters (x every borough), plus any
    group only found among a check's units (e.g. quarter "unknown")."""
    quarters = sorted(set(_quarters(matrix)))
    if keys == ["quarter"]:
        grid = pd.DataFrame({"quarter": quarters})
    else:
        grid = pd.MultiIndex.from_product([quarters, list(BOROUGHS)], names=keys).to_frame(
            index=False
        )
    if len(extra):
        grid = pd.concat([grid, extra[keys].drop_duplicates()], ignore_index=True).drop_duplicates()
    unknown_last = grid["quarter"].eq(UNKNOWN)
    order = grid.assign(_u=unknown_last)
    if "borough" in keys:
        rank = {b: i for i, b in enumerate(BOROUGHS)}
        order["_b"] = order["borough"].map(rank).fillna(len(rank))
        order = order.sort_values(["_u", "quarter", "_b", "borough"], kind="stable")
    else:
        order = order.sort_values(["_u", "quarter"], kind="stable")
    return order[keys].reset_index(drop=True)


def _counts_text(values: pd.Series) -> str:
    counts = values.value_counts(sort=False)
    return "; ".join(f"{k} {v}" for k, v in counts.items() if k)


def _aggregate(units: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """count, n and detail per group of the units (distinct units)."""
    eligible = units[units["eligible"]]
    flagged = eligible[eligible["flagged"]]
    excluded = units[~units["eligible"] & units["reason"].astype(str).ne("")]
    n = eligible.groupby(keys)["unit"].nunique().rename("n")
    count = flagged.groupby(keys)["unit"].nunique().rename("count")
    why = (
        flagged.drop_duplicates(keys + ["unit"])
        .groupby(keys)["reason"]
        .agg(_counts_text)
        .rename("why")
    )
    out = pd.concat([n, count, why], axis=1)
    if len(excluded):
        left = (
            excluded.drop_duplicates(keys + ["unit"])
            .groupby(keys)["reason"]
            .agg(_counts_text)
            .rename("excluded")
        )
        out = out.join(left, how="outer")
    else:
        out["excluded"] = np.nan
    return out.reset_index()


def _validate_by(by: Sequence[str]) -> list[str]:
    normal = (by,) if isinstance(by, str) else tuple(by)
    if normal not in BY_OPTIONS:
        raise ValueError(ERR_BY.format(valid=list(BY_OPTIONS), got=by))
    return list(normal)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if isinstance(p, str) and p)


def _run_one(
    check: Check,
    matrix: pd.DataFrame,
    quarantine: pd.DataFrame | None,
    keys: list[str],
    config: ChecksConfig,
    alpha: float,
) -> pd.DataFrame:
    threshold = float(config.thresholds.get(check.name, check.default_threshold))
    missing = [c for c in check.needs if c != QUARANTINE and c not in matrix.columns]
    reason = ""
    if missing:
        reason = REASON_COLUMNS_ABSENT.format(columns=_plural_columns(missing))
    elif QUARANTINE in check.needs and quarantine is None:
        reason = REASON_NO_QUARANTINE
    flags = None
    if not reason:
        try:
            flags = check.func(matrix, quarantine=quarantine, config=config)
        except NotAssessable as why:
            reason = str(why)

    if flags is None:
        grid = _group_grid(matrix, keys, pd.DataFrame())
        table = grid.assign(
            count=pd.NA,
            n=pd.NA,
            share=np.nan,
            ci_low=np.nan,
            ci_high=np.nan,
            status=STATUS_NOT_ASSESSABLE,
            detail=reason,
        )
    else:
        units = flags.units.loc[:, list(UNIT_COLUMNS)].copy()
        if keys == ["quarter"]:
            units["borough"] = ALL_BOROUGHS
        grid = _group_grid(matrix, keys, units)
        table = grid.merge(_aggregate(units, keys), on=keys, how="left")
        n = table["n"].fillna(0).astype(int).to_numpy()
        count = table["count"].fillna(0).astype(int).to_numpy()
        share = np.divide(count, n, out=np.full(len(n), np.nan), where=n > 0)
        low, high = confint_proportion(count, n, alpha=alpha, method="wilson")
        if check.basis == "count":
            value = count.astype(float)
        else:
            value = low if config.status_on == "ci_low" else share
        exceeds = value > threshold
        incomplete = np.array([flags.incomplete.get(q, "") for q in table["quarter"]], dtype=object)
        status = np.where(exceeds, STATUS_CONCERN, STATUS_OK).astype(object)
        status[(incomplete != "") & ~exceeds] = STATUS_NOT_ASSESSABLE
        status[n == 0] = STATUS_NOT_ASSESSABLE
        detail = [
            _join(
                REASON_EMPTY_GROUP if nn == 0 else "",
                inc,
                why if isinstance(why, str) else "",
                f"excluded: {exc}" if isinstance(exc, str) and exc else "",
                flags.note,
            )
            for nn, inc, why, exc in zip(
                n, incomplete, table["why"], table["excluded"], strict=True
            )
        ]
        table = grid.assign(
            count=count, n=n, share=share, ci_low=low, ci_high=high, status=status, detail=detail
        )
    if keys == ["quarter"]:
        table["borough"] = ALL_BOROUGHS
    table = table.assign(
        check=check.name, finding=check.finding, threshold=threshold, basis=check.basis
    )
    table["count"] = table["count"].astype("Int64")
    table["n"] = table["n"].astype("Int64")
    return table.loc[:, list(CHECK_RESULT_COLUMNS)]


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
    missing = _missing(matrix, REQUIRED_COLUMNS)
    if missing:
        raise ValueError(
            ERR_MISSING_REQUIRED.format(
                missing=", ".join(missing), required=", ".join(REQUIRED_COLUMNS)
            )
        )
    keys = _validate_by(by)
    config = ChecksConfig() if config is None else config
    names = [c.name for c in REGISTRY]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise ValueError(ERR_DUPLICATE_CHECK.format(name=dup))
    for name in list(config.thresholds) + list(checks or ()):
        if name not in names:
            raise ValueError(ERR_UNKNOWN_CHECK.format(name=name, valid=", ".join(names)))
    selected = [c for c in REGISTRY if checks is None or c.name in set(checks)]
    tables = [_run_one(c, matrix, quarantine, keys, config, alpha) for c in selected]
    if not tables:
        return pd.DataFrame({c: [] for c in CHECK_RESULT_COLUMNS})
    return pd.concat(tables, ignore_index=True)


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
        Columns :data:`SHARING_COLUMNS`: ``quarter``, ``partner`` (a partner
        type, or "any"), ``risk_band`` (Red, Amber, Green), ``no_risk`` (bool:
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
    partners_per_row = (
        matrix["shared_with"]
        .fillna("")
        .astype(str)
        .map(lambda s: sorted({p.strip() for p in s.split(SHARED_WITH_SEPARATOR) if p.strip()}))
    )
    cells = pd.DataFrame(
        {
            "quarter": _quarters(matrix),
            "risk_band": matrix["risk_band"].astype(object).to_numpy(),
            "no_risk": no_risk_flag(matrix, "harm_zero").to_numpy(dtype=bool),
            "partners": partners_per_row.to_numpy(dtype=object),
        }
    )
    cells["partners"] = [p + [ANY_PARTNER] if p else [] for p in cells["partners"]]
    partner_names = sorted({p for ps in cells["partners"] for p in ps if p != ANY_PARTNER})
    keys = ["quarter", "risk_band", "no_risk"]
    n = cells.groupby(keys).size().rename("n")
    shared = cells.explode("partners").dropna(subset=["partners"])
    count = shared.groupby(keys + ["partners"]).size().rename("count")
    bands = list(RISK_BANDS) + sorted(set(cells["risk_band"].dropna()) - set(RISK_BANDS))
    grid = pd.MultiIndex.from_product(
        [sorted(cells["quarter"].unique()), [ANY_PARTNER, *partner_names], bands, [True, False]],
        names=["quarter", "partner", "risk_band", "no_risk"],
    ).to_frame(index=False)
    table = grid.copy()
    cell_index = pd.MultiIndex.from_frame(grid[keys])
    table["n"] = n.reindex(cell_index, fill_value=0).to_numpy()
    partner_index = pd.MultiIndex.from_frame(grid[keys + ["partner"]])
    table["count"] = count.reindex(partner_index, fill_value=0).to_numpy()
    table["n"] = table["n"].astype("int64")
    table["count"] = table["count"].fillna(0).astype("int64")
    nn = table["n"].to_numpy()
    table["share"] = np.divide(
        table["count"].to_numpy(dtype=float), nn, out=np.full(len(nn), np.nan), where=nn > 0
    )
    table["ci_low"], table["ci_high"] = confint_proportion(
        table["count"].to_numpy(), nn, alpha=alpha, method="wilson"
    )
    return table.loc[:, list(SHARING_COLUMNS)]
