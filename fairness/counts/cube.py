"""Count tables ("the cube"): a validated matrix aggregated once, every audit number derived from it.

A matrix has one row per person per snapshot: millions of rows once years of
snapshots, several forces or national record sets are pooled. Every figure
the audit reports is a function of a few small count tables, so the audit
counts once and derives everything from the counts; its cost then grows with
the rows only in the counting, which is one vectorised pass (numpy here;
SQL in :mod:`fairness.counts.duck` for Parquet files larger than memory).

The tables (tidy, one row per observed combination, ``count`` records):

``people``
    quarter x borough x ethnicity x sex x age band x ``flags`` (bit mask of
    :data:`FLAG_BITS`: harm score 0, no violent offence in two years, green
    band, recorded victim, aged under 18). Representation, relative rates,
    no-risk shares, borough funnels, case mix and trends.
``durations``
    quarter x flags x time on the list (:data:`DURATION_CODES`): no-risk
    duration.
``outcomes``
    quarter x ethnicity x age band x sex x band x outcome (``<NA>`` = not yet
    known): band performance (see :func:`fairness.stats.bands.band_performance_from_cells`).
``sharing``
    quarter x band x harm 0 x ``shared_with`` as written: sharing by partner.
``harm``
    borough x band x harm score, for the selected quarter: band consistency.
``checks``
    quarter x borough x the state of each row-level data-protection check,
    with ``first`` (the first row in file order, which orders the reasons in
    a check's detail); see :mod:`fairness.checks`.
``persons``
    quarter x borough x harm 0 x zero-harm streak x re-listed, one unit per
    person per quarter, with ``first`` (the person's place in person_id order).

Categories are kept with their full lists (unobserved ones too), so tables
derived from the cube show every group as the row-level functions do.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.counts.groups import (
    age_band_codes,
    age_band_labels,
    condition_mask,
    duration_band_codes,
    flags_code,
)
from fairness.quarters import quarter_codes

__all__ = [
    "CheckData",
    "Cube",
    "DURATION_CODES",
    "FLAG_BITS",
    "check_data_from_frame",
    "cube_from_frame",
    "count_codes",
]

#: Bits of ``flags`` in the ``people`` and ``durations`` tables, for the default
#: :data:`fairness.definitions.FLAGS` (the engines call :func:`fairness.definitions.flag_bits`).
FLAG_BITS: Mapping[str, int] = defs.flag_bits()
#: Codes of ``duration`` in the ``durations`` table for the default bands: see
#: :func:`fairness.definitions.duration_codes`.
DURATION_CODES: tuple[str, ...] = defs.duration_codes()
#: States of the row-level checks in the ``checks`` table (declared in fairness.definitions).
VICTIM_STATES, REVIEW_STATES, DATE_STATES = defs.VICTIM_STATES, defs.REVIEW_STATES, defs.DATE_STATES

def _empty_categories() -> dict[str, tuple[str, ...]]:
    """The category lists of :mod:`fairness.definitions` as they are now (a profile may set them)."""
    return {"borough": defs.BOROUGHS, "ethnicity": defs.ETHNICITIES, "sex": defs.SEXES, "risk_band": defs.RISK_BANDS}


@dataclass(frozen=True)
class Cube:
    """The count tables of one matrix (see the module docstring).

    Attributes
    ----------
    quarters : tuple of str
        Quarters in the matrix, chronological ("2018Q4").
    quarter : str
        The selected quarter (the ``harm`` table is for it).
    columns : frozenset of str
        Columns of the matrix (optional ones may be absent).
    categories : mapping of str to tuple of str
        Category lists of borough, ethnicity, sex and risk_band.
    n_rows : int
        Rows (person-snapshots) counted.
    people, durations, outcomes, sharing, harm : DataFrame
        The tables.
    check_data : CheckData
        The ``checks`` and ``persons`` tables, with what the checks need
        besides (see :class:`CheckData`).
    """

    quarters: tuple[str, ...]
    quarter: str
    columns: frozenset[str]
    categories: Mapping[str, tuple[str, ...]]
    n_rows: int
    people: pd.DataFrame = field(repr=False)
    durations: pd.DataFrame = field(repr=False)
    outcomes: pd.DataFrame = field(repr=False)
    sharing: pd.DataFrame = field(repr=False)
    harm: pd.DataFrame = field(repr=False)
    check_data: CheckData = field(repr=False, default=None)


@dataclass(frozen=True)
class CheckData:
    """What the data-protection checks of :mod:`fairness.checks` are computed from.

    Attributes
    ----------
    cells : DataFrame
        The ``checks`` table: quarter, borough, ``harm_zero``, ``green``,
        ``shared``, ``child`` (bool), ``victim_state`` (0 excluded, 1 eligible,
        2 flagged), ``review_state`` (0 in time, 1 stale, 2 never reviewed),
        ``test_mask`` (bit i: the i-th of ``test_columns`` matches its test
        pattern), ``date_state`` (0 none, 1 added before the matrix began, 2
        added after the snapshot, 3 too young when added), ``count`` and
        ``first`` (the first row of the cell, in file order).
    persons : DataFrame
        quarter, borough, ``harm_zero``, ``streak`` (snapshots in a row with
        harm 0, up to this one), ``relisted``, ``count`` (people) and
        ``first`` (the first person of the cell in person_id order); one unit
        per person per quarter, at the person's last snapshot in the quarter.
    quarters : tuple of str
        Quarters in the matrix, chronological.
    columns : frozenset of str
        Columns of the matrix.
    n_rows : int
        Rows of the matrix (units from the quarantine are placed after them).
    test_columns, test_notes : tuple of str
        Columns whose test pattern was applied, in bit order; notes on the
        patterns that could not be.
    involved : callable
        ``involved(person_ids) -> DataFrame`` (``person_id, date, quarter,
        borough, row``): the matrix rows of those people.
    test_cells : DataFrame, optional
        quarter, borough, ``test_mask``, ``count``, ``first``, when the test
        patterns were counted apart from ``cells`` (whose ``test_mask`` is
        then not used): DuckDB matches person_ids as the rows stream past
        sorted by person, after the other states were counted.
    """

    cells: pd.DataFrame = field(repr=False)
    persons: pd.DataFrame = field(repr=False)
    quarters: tuple[str, ...]
    columns: frozenset[str]
    n_rows: int
    test_columns: tuple[str, ...] = ()
    test_notes: tuple[str, ...] = ()
    involved: Callable[[Sequence[str]], pd.DataFrame] | None = field(default=None, repr=False, compare=False)
    test_cells: pd.DataFrame | None = field(default=None, repr=False)

    def tests(self) -> pd.DataFrame:
        """quarter, borough, test_mask, count, first (from ``test_cells`` or ``cells``)."""
        if self.test_cells is not None:
            return self.test_cells
        return self.cells

    def only(self, quarter: str) -> CheckData:
        """The data of one quarter alone, as if the matrix held only it.

        Person-level history restarts: everyone's streak is 1 if their harm
        score is 0, and nobody can be seen re-listed.
        """
        cells = self.cells[self.cells["quarter"].astype(object) == quarter]
        persons = self.persons[self.persons["quarter"].astype(object) == quarter]
        persons = (
            persons.assign(streak=persons["harm_zero"].astype("int64"), relisted=False)
            .groupby(["quarter", "borough", "harm_zero", "streak", "relisted"], observed=True, sort=False)
            .agg(count=("count", "sum"), first=("first", "min")).reset_index()
        )
        tests = None
        if self.test_cells is not None:
            tests = self.test_cells[self.test_cells["quarter"].astype(object) == quarter].reset_index(drop=True)
        for table in (cells, persons) + ((tests,) if tests is not None else ()):
            table["quarter"] = table["quarter"].cat.set_categories([quarter]) if len(table) else table["quarter"]
        involved = self.involved

        def involved_here(person_ids):
            rows = involved(person_ids)
            return rows[rows["quarter"] == quarter].reset_index(drop=True)

        return CheckData(
            cells=cells.reset_index(drop=True), persons=persons, quarters=(quarter,), columns=self.columns,
            n_rows=self.n_rows, test_columns=self.test_columns, test_notes=self.test_notes,
            involved=involved_here if involved is not None else None, test_cells=tests,
        )


# ---------------------------------------------------------------------- counting


def count_codes(codes: Mapping[str, np.ndarray], sizes: Mapping[str, int], *,
                first: bool = False, order: np.ndarray | None = None) -> pd.DataFrame:
    """Count rows by several integer-coded dimensions at once.

    ``codes[d]`` holds each row's code in ``-1 .. sizes[d] - 1`` (-1: missing).
    Returns one row per observed combination with the codes, ``count`` and,
    with ``first=True``, ``first``: the smallest ``order`` (default: the row
    position) among the rows of the combination.
    """
    names = list(codes)
    n = len(next(iter(codes.values()))) if names else 0
    key = np.zeros(n, dtype=np.int64)
    space = 1
    for d in names:
        key = key * (sizes[d] + 1) + (np.asarray(codes[d], dtype=np.int64) + 1)
        space *= sizes[d] + 1
    where = np.arange(n) if order is None else np.asarray(order)
    if space <= _DENSE_LIMIT:
        # a dense count per possible combination, then keep the observed ones
        dense = np.bincount(key, minlength=space)
        uniques = np.flatnonzero(dense)
        counts = dense[uniques].astype(np.int64)
        if first:
            lowest = np.full(space, np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(lowest, key, where.astype(np.int64))
            first_values = lowest[uniques]
    else:
        cell, uniques = pd.factorize(key, sort=False)
        counts = np.bincount(cell, minlength=len(uniques)).astype(np.int64)
        if first:
            lowest = np.full(len(uniques), np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(lowest, cell, where.astype(np.int64))
            first_values = lowest
    out = {}
    rest = np.asarray(uniques, dtype=np.int64)
    for d in reversed(names):
        rest, code = np.divmod(rest, sizes[d] + 1)
        out[d] = code - 1
    table = pd.DataFrame({d: out[d] for d in names})
    table["count"] = counts
    if first:
        table["first"] = first_values
    return table


ERR_NO_VALID_ROWS = "no valid rows to audit: every row was quarantined (run `fairness validate` for reasons)"

#: Largest number of possible combinations counted in a dense array.
_DENSE_LIMIT = 1 << 22


def _categorical(codes: np.ndarray, categories: Sequence[str], *, ordered: bool = False) -> pd.Categorical:
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=list(categories),
                                     ordered=ordered)


def _category_codes(series: pd.Series, default: Sequence[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy(dtype=np.int64), tuple(str(c) for c in series.cat.categories)
    cat = pd.Categorical(series.astype(object), categories=list(default))
    return cat.codes.astype(np.int64), tuple(default)


def _tristate(series: pd.Series) -> np.ndarray:
    """0 False, 1 True, -1 missing."""
    s = series.astype("boolean")
    return np.where(s.isna().to_numpy(), -1, s.fillna(False).to_numpy(dtype=bool).astype(np.int64))


def _days(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    """Whole days from ``earlier`` to ``later`` as float (NaN where either is missing)."""
    return (later - earlier).dt.days.to_numpy(dtype="float64")


def cube_from_frame(frame: pd.DataFrame, *, quarter: str, config=None) -> Cube:
    """Count a validated matrix (a pandas DataFrame) into a :class:`Cube`.

    ``config`` is a :class:`fairness.checks.ChecksConfig` or any object with
    the fields of :class:`fairness.definitions.CheckParameters` (thresholds
    are not needed here, only the parameters that decide each row's check
    state); default :data:`fairness.definitions.CHECK_PARAMETERS`.
    """
    codes, layout = frame_codes(frame, config=config)
    selected = layout.quarters.index(quarter) if quarter in layout.quarters else -2
    tables = count_tables(codes, layout, selected=selected)
    tables["persons"] = _frame_persons(frame, codes)
    return finish_cube(tables, layout, quarter=quarter, involved=_involved_in(frame, codes["quarter"], layout))


def check_data_from_frame(frame: pd.DataFrame, *, config=None) -> CheckData:
    """Count a validated matrix into the :class:`CheckData` of the data-protection checks."""
    codes, layout = frame_codes(frame, config=config, only_checks=True)
    tables = {"checks": count_tables(codes, layout, selected=-2, only=("checks",))["checks"],
              "persons": _frame_persons(frame, codes)}
    return _check_data(tables, layout, _involved_in(frame, codes["quarter"], layout))


@dataclass
class Layout:
    """What the per-row codes mean: the lists they index and the columns the matrix had.

    ``quarters`` are labels in chronological order (codes index them);
    ``categories`` the category lists; ``sharing_values`` the distinct texts
    of ``shared_with``; ``test_columns`` the columns whose test pattern sets a
    bit of ``test_mask``, in bit order, and ``test_notes`` the patterns not
    applied; ``n_rows`` the rows counted (units from the quarantine come after).
    """

    quarters: list[str]
    categories: dict[str, tuple[str, ...]]
    columns: frozenset[str]
    sharing_values: list[str] = field(default_factory=lambda: [""])
    test_columns: tuple[str, ...] = ()
    test_notes: tuple[str, ...] = ()
    n_rows: int = 0

    def sizes(self) -> dict[str, int]:
        return {"quarter": len(self.quarters), "borough": len(self.categories["borough"]),
                "ethnicity": len(self.categories["ethnicity"]), "sex": len(self.categories["sex"]),
                "age_band": len(defs.AGE_BANDS), "risk_band": len(self.categories["risk_band"]),
                "flags": 1 << len(defs.FLAGS), "duration": len(defs.duration_codes()), "outcome": 2, "harm_zero": 2, "green": 2, "shared": 2,
                "child": 2, "shared_with": max(len(self.sharing_values), 1), "victim_state": 3,
                "review_state": len(defs.REVIEW_STATES), "test_mask": 2 ** len(self.test_columns),
                "date_state": len(defs.DATE_STATES)}


def frame_codes(frame: pd.DataFrame, *, config=None,
                only_checks: bool = False) -> tuple[dict[str, np.ndarray], Layout]:
    """Each row's code in every dimension of the cube (see :data:`FLAG_BITS`, :data:`DURATION_CODES`).

    SQL computes the same codes for a Parquet file (fairness.counts.duck); the
    counting that follows (:func:`count_tables`) is shared.
    """
    config = defs.CHECK_PARAMETERS if config is None else config
    n = len(frame)
    columns = frozenset(frame.columns)
    q_codes, quarters = quarter_codes(frame["snapshot_date"])
    codes: dict[str, np.ndarray] = {"quarter": q_codes, "row": np.arange(n, dtype=np.int64)}
    categories = {}
    empty = _empty_categories()
    for col in ("borough", "ethnicity", "sex", "risk_band"):
        if col not in columns:  # risk_band of a list whose profile declares no bands: every row missing
            codes[col], categories[col] = np.full(n, -1, dtype=np.int64), tuple(empty[col])
            continue
        codes[col], categories[col] = _category_codes(frame[col], empty[col])
    # harm_score of a list whose profile declares no harm score: unknown for every row
    harm = (frame["harm_score"].to_numpy(dtype="float64") if "harm_score" in columns
            else np.full(n, np.nan))
    codes["harm"] = harm
    flags = flags_code(frame)
    bits = defs.flag_bits()
    harm_zero = (flags & bits["harm_zero"]) != 0
    green = (flags & bits["green"]) != 0
    victim_rule = defs.no_risk_rules()[defs.VICTIM_RULE].mask
    codes["harm_zero"], codes["green"] = harm_zero, green
    if "shared_with" in columns:
        sw_codes, sw_values = pd.factorize(frame["shared_with"].fillna("").astype(str))
        shared = pd.Series(sw_values, dtype=object).astype(str).str.strip().ne("").to_numpy()[sw_codes] if (
            len(sw_values)) else np.zeros(n, dtype=bool)
        sharing_values = [str(v) for v in sw_values]
    else:
        sw_codes, shared, sharing_values = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool), [""]
    codes["shared_with"], codes["shared"] = sw_codes, shared
    codes["person"], person_ids = _person_codes(frame)
    states, test_columns, test_notes = _check_states(frame, config, (flags & victim_rule) == victim_rule,
                                                     columns, persons=(codes["person"], person_ids))
    codes.update(states)
    if not only_checks:
        codes["age_band"] = age_band_codes(frame["age"])
        codes["flags"] = flags
        if "date_added" in columns:
            duration = duration_band_codes(_days(frame["snapshot_date"], frame["date_added"]))
        else:
            duration = np.full(n, defs.duration_codes().index(defs.DURATION_UNKNOWN), dtype=np.int64)
        codes["duration"] = duration
        outcome = defs.OUTCOME_COLUMN
        codes["outcome"] = (_tristate(frame[outcome]) if outcome is not None and outcome in columns
                            else np.full(n, -1))
    layout = Layout(quarters=list(quarters), categories=categories, columns=columns, sharing_values=sharing_values,
                    test_columns=test_columns, test_notes=test_notes, n_rows=n)
    return codes, layout


#: The tables :func:`count_tables` makes and the codes each counts.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "people": ("quarter", "borough", "ethnicity", "sex", "age_band", "flags"),
    "durations": ("quarter", "flags", "duration"),
    "outcomes": ("quarter", "ethnicity", "age_band", "sex", "risk_band", "outcome"),
    "sharing": ("quarter", "risk_band", "harm_zero", "shared_with"),
    "harm": ("borough", "risk_band", "harm_score"),
    "checks": ("quarter", "borough", "harm_zero", "green", "shared", "child", "victim_state", "review_state",
               "test_mask", "date_state"),
    "persons": ("quarter", "borough", "harm_zero", "streak", "relisted"),
    "test_cells": ("quarter", "borough", "test_mask"),
}
_WITH_FIRST = ("checks", "persons", "test_cells")


def count_tables(codes: Mapping[str, np.ndarray], layout: Layout, *, selected: int,
                 only: Sequence[str] = ("people", "durations", "outcomes", "sharing", "harm", "checks"),
                 ) -> dict[str, pd.DataFrame]:
    """Count one chunk of rows (their codes) into the cube's tables (all but ``persons``).

    ``harm`` counts the rows of quarter code ``selected`` by harm score.
    Chunks of one matrix are added up with :func:`combine_tables`.
    """
    sizes = layout.sizes()
    out = {}
    for name in only:
        if name == "harm":
            mine = np.asarray(codes["quarter"]) == selected
            values, harm_codes = np.unique(np.asarray(codes["harm"])[mine], return_inverse=True)
            table = count_codes({"borough": np.asarray(codes["borough"])[mine],
                                 "risk_band": np.asarray(codes["risk_band"])[mine],
                                 "harm": harm_codes.reshape(-1)}, {**sizes, "harm": max(len(values), 1)})
            out[name] = table.assign(harm=values[table["harm"].to_numpy()] if len(table) else
                                     np.array([], dtype="float64")).rename(columns={"harm": "harm_score"})
            continue
        keys = TABLE_KEYS[name]
        out[name] = count_codes({k: codes[k] for k in keys}, sizes, first=name in _WITH_FIRST,
                                order=codes["row"] if name in _WITH_FIRST else None)
    return out


def combine_tables(parts: Sequence[Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """Add up the tables of several chunks: counts summed, ``first`` the smallest."""
    if len(parts) == 1:
        return dict(parts[0])
    out = {}
    for name in parts[0]:
        frames = [p[name] for p in parts if len(p[name])]
        if not frames:
            out[name] = parts[0][name]
            continue
        table = pd.concat(frames, ignore_index=True)
        keys = list(TABLE_KEYS[name])
        aggs = {"count": ("count", "sum")}
        if "first" in table.columns:
            aggs["first"] = ("first", "min")
        out[name] = table.groupby(keys, sort=True).agg(**aggs).reset_index()
    return out


def person_counts(new_person: np.ndarray, quarter: np.ndarray, borough: np.ndarray, harm_zero: np.ndarray,
                  person: np.ndarray, n_quarters: int, n_boroughs: int) -> pd.DataFrame:
    """The ``persons`` table from rows sorted by person, then snapshot date.

    ``new_person[i]``: row i is another person than row i - 1 (True for the
    first row); ``person`` orders people as person_id does (``first``).
    One unit per person per quarter: the last snapshot in the quarter.
    ``streak``: consecutive snapshots with harm 0 up to this one (0 when the
    harm score is not 0); ``relisted``: back after at least one quarter absent.
    Quarters are ranked among the quarters present (the codes).
    """
    n = len(quarter)
    if n == 0:
        return pd.DataFrame({k: np.array([], dtype=np.int64) for k in (*TABLE_KEYS["persons"], "count", "first")})
    new_person = np.asarray(new_person, dtype=bool)
    last = np.ones(n, dtype=bool)
    last[:-1] = new_person[1:] | (quarter[1:] != quarter[:-1])
    rows = np.flatnonzero(last)
    q, zero = quarter[rows], harm_zero[rows]
    who = np.cumsum(new_person)[rows]
    same = np.zeros(len(rows), dtype=bool)
    same[1:] = who[1:] == who[:-1]
    starts = np.ones(len(rows), dtype=bool)
    if len(rows) > 1:
        starts[1:] = ~same[1:] | (np.diff(q) != 1) | (zero[1:] != zero[:-1])
    segment = np.cumsum(starts)
    run = np.arange(len(rows)) - np.flatnonzero(starts)[segment - 1] + 1
    streak = np.where(zero, run, 0)
    relisted = np.zeros(len(rows), dtype=bool)
    if len(rows) > 1:
        relisted[1:] = same[1:] & (np.diff(q) > 1)
    return count_codes(
        {"quarter": q, "borough": borough[rows], "harm_zero": zero, "streak": streak, "relisted": relisted},
        {"quarter": n_quarters, "borough": n_boroughs, "harm_zero": 2, "streak": n_quarters + 1, "relisted": 2},
        first=True, order=person[rows],
    )


def _person_codes(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's person as a code in person_id order (as Python orders the ids as text), and the ids."""
    ids = frame["person_id"]
    if not pd.api.types.is_string_dtype(ids) or ids.dtype == object:
        ids = ids.astype(str)
    codes, uniques = pd.factorize(ids, sort=True)
    return codes, np.asarray(uniques, dtype=object)


def _frame_persons(frame: pd.DataFrame, codes: Mapping[str, np.ndarray]) -> pd.DataFrame:
    pid_codes = codes["person"] if "person" in codes else _person_codes(frame)[0]
    dates, date_codes = np.unique(frame["snapshot_date"].to_numpy().view(np.int64), return_inverse=True)
    order = np.argsort(pid_codes.astype(np.int64) * len(dates) + date_codes.reshape(-1), kind="stable")
    p = pid_codes[order]
    new_person = np.ones(len(order), dtype=bool)
    new_person[1:] = p[1:] != p[:-1]
    quarter = np.asarray(codes["quarter"])
    borough = np.asarray(codes["borough"])
    return person_counts(new_person, quarter[order], borough[order], np.asarray(codes["harm_zero"])[order], p,
                         int(quarter.max()) + 1 if len(quarter) else 0, int(borough.max()) + 1 if len(borough) else 0)


def _involved_in(frame: pd.DataFrame, q_codes: np.ndarray, layout: Layout):
    quarter_names = np.asarray(layout.quarters, dtype=object)

    def involved(person_ids) -> pd.DataFrame:
        pid = frame["person_id"].astype(str).str.strip()
        hit = pid.isin(set(person_ids)).to_numpy()
        sub = frame.loc[hit]
        return pd.DataFrame({
            "person_id": pid[hit].to_numpy(dtype=object),
            "date": sub["snapshot_date"].dt.strftime("%Y-%m-%d").to_numpy(dtype=object),
            "quarter": quarter_names[q_codes[hit]] if len(quarter_names) else np.array([], dtype=object),
            "borough": sub["borough"].astype(str).to_numpy(dtype=object),
            "row": np.flatnonzero(hit),
        })

    return involved


def _check_states(frame, config, victim_flagged, columns, persons=None):
    """Each row's state in the row-level checks (codes for :func:`count_codes`; the states of
    :data:`fairness.definitions.VICTIM_STATES`, ``REVIEW_STATES`` and ``DATE_STATES``)."""
    n = len(frame)
    out: dict[str, np.ndarray] = {}
    # victims_as_offenders: eligible where every column of the victim rule is known
    needs = defs.no_risk_rules()[defs.VICTIM_RULE].needs
    if all(c in columns for c in needs):
        known = np.ones(n, dtype=bool)
        for c in dict.fromkeys((*needs, "harm_score")):
            known &= frame[c].notna().to_numpy(dtype=bool)
        out["victim_state"] = np.where(~known, 0, np.where(victim_flagged, 2, 1))
    else:
        out["victim_state"] = np.zeros(n, dtype=np.int64)
    out["child"] = condition_mask(frame, defs.Condition("age", "<", config.child_age))
    # reviews_overdue
    if "last_reviewed" in columns:
        days = config.review_days
        stale = np.nan_to_num(_days(frame["snapshot_date"], frame["last_reviewed"]), nan=-np.inf) > days
        never = frame["last_reviewed"].isna().to_numpy()
        if "date_added" in columns:
            recent = np.nan_to_num(_days(frame["snapshot_date"], frame["date_added"]), nan=np.inf) <= days
            never = never & ~recent
        out["review_state"] = np.where(never, 2, np.where(stale, 1, 0))
    else:
        out["review_state"] = np.zeros(n, dtype=np.int64)
    # test_data: one bit per pattern applied, matched once per distinct value
    mask = np.zeros(n, dtype=np.int64)
    applied, notes = [], []
    for column, search in pattern_searches(config):
        if column not in columns:
            notes.append(f"matrix has no column {column}: its test pattern not applied")
            continue
        known = persons if column == "person_id" and pd.api.types.is_string_dtype(frame[column]) else None
        mask |= matches(frame[column], search, factorized=known).astype(np.int64) << len(applied)
        applied.append(column)
    out["test_mask"] = mask
    # impossible_dates (matrix part)
    if "date_added" in columns:
        added = frame["date_added"]
        snap = frame["snapshot_date"]
        years = (snap - added).dt.days / 365.25
        early = added.lt(pd.Timestamp(config.matrix_start)).fillna(False).to_numpy(dtype=bool)
        after = added.gt(snap).fillna(False).to_numpy(dtype=bool)
        young = ((frame["age"] + 1 - years).le(config.min_age_at_addition).fillna(False).to_numpy(dtype=bool)
                 & ~after)
        out["date_state"] = np.select([early, after, young], [1, 2, 3], default=0)
    else:
        out["date_state"] = np.zeros(n, dtype=np.int64)
    return out, tuple(applied), tuple(notes)


def pattern_searches(config) -> list[tuple[str, Callable[[str], object]]]:
    """(column, compiled ``re.search``) of every test pattern, in the order of the mask bits."""
    patterns = {"person_id": config.test_id_pattern, **config.test_value_patterns}
    return [(column, re.compile(pattern).search) for column, pattern in patterns.items()]


def matches(values: pd.Series, search, *, factorized=None) -> np.ndarray:
    """``search`` on each value as ``values.astype("string").fillna("")`` shows it, once per distinct value.

    ``factorized``: the values' codes and distinct values, if already known.
    """
    codes, uniques = factorized if factorized is not None else pd.factorize(values, use_na_sentinel=True)
    text = pd.Series(uniques).astype("string").fillna("").tolist()
    hit = np.fromiter((bool(search(t)) for t in text), dtype=bool, count=len(text))
    if not len(hit):
        return np.full(len(codes), bool(search("")))
    return np.where(codes >= 0, hit[np.where(codes >= 0, codes, 0)], bool(search("")))


def finish_cube(tables: Mapping[str, pd.DataFrame], layout: Layout, *, quarter: str, involved) -> Cube:
    """Turn counted code tables into the :class:`Cube` (labels and categoricals)."""
    tables, layout = _present_quarters(tables, layout)
    categories = layout.categories
    q = list(layout.quarters)

    def qcat(codes):
        return _categorical(codes, q) if q else pd.Categorical([None] * len(codes))

    people, durations, outcomes = tables["people"], tables["durations"], tables["outcomes"]
    sharing, harm = tables["sharing"], tables["harm"]
    people = people.assign(
        quarter=qcat(people["quarter"]),
        borough=_categorical(people["borough"], categories["borough"]),
        ethnicity=_categorical(people["ethnicity"], categories["ethnicity"]),
        sex=_categorical(people["sex"], categories["sex"]),
        age_band=_categorical(people["age_band"], age_band_labels(), ordered=True),
    )
    durations = durations.assign(quarter=qcat(durations["quarter"]))
    outcome = outcomes["outcome"].to_numpy()
    outcomes = outcomes.assign(
        quarter=qcat(outcomes["quarter"]),
        ethnicity=_categorical(outcomes["ethnicity"], categories["ethnicity"]),
        age_band=_categorical(outcomes["age_band"], age_band_labels(), ordered=True),
        sex=_categorical(outcomes["sex"], categories["sex"]),
        risk_band=_categorical(outcomes["risk_band"], categories["risk_band"]),
        outcome=pd.array(np.where(outcome < 0, None, outcome == 1), dtype="boolean"),
    )
    values = np.asarray(layout.sharing_values, dtype=object)
    sharing = sharing.assign(
        quarter=qcat(sharing["quarter"]),
        risk_band=_categorical(sharing["risk_band"], categories["risk_band"]),
        harm_zero=sharing["harm_zero"].astype(bool),
        shared_with=values[sharing["shared_with"].to_numpy()] if len(sharing) else np.array([], dtype=object),
    )
    harm = harm.assign(
        borough=_categorical(harm["borough"], categories["borough"]),
        risk_band=_categorical(harm["risk_band"], categories["risk_band"]),
    )
    return Cube(
        quarters=tuple(q), quarter=quarter, columns=frozenset(layout.columns), categories=categories,
        n_rows=int(layout.n_rows), people=people, durations=durations, outcomes=outcomes, sharing=sharing,
        harm=harm, check_data=_check_data(tables, layout, involved, renumbered=True),
    )


def _present_quarters(tables, layout):
    """Drop quarters no row was counted in (codes renumbered): a chunked count may list extra ones."""
    present = np.zeros(len(layout.quarters), dtype=bool)
    counted = tables["people"] if "people" in tables else tables["checks"]
    present[np.unique(counted["quarter"].to_numpy())] = True
    if present.all():
        return tables, layout
    new_code = np.cumsum(present) - 1
    tables = {name: (t.assign(quarter=new_code[t["quarter"].to_numpy()]) if "quarter" in t.columns else t)
              for name, t in tables.items()}
    layout = dataclasses.replace(layout, quarters=[q for q, keep in zip(layout.quarters, present, strict=True) if keep])
    return tables, layout


def _check_data(tables, layout: Layout, involved, *, renumbered: bool = False) -> CheckData:
    if not renumbered:
        tables, layout = _present_quarters(tables, layout)
    q = list(layout.quarters)
    boroughs = layout.categories["borough"]

    def qcat(codes):
        return _categorical(codes, q) if q else pd.Categorical([None] * len(codes))

    cells, persons = tables["checks"], tables["persons"]
    cells = cells.assign(
        quarter=qcat(cells["quarter"]),
        borough=_categorical(cells["borough"], boroughs),
        **{c: cells[c].astype(bool) for c in ("harm_zero", "green", "shared", "child")},
    )
    persons = persons.assign(
        quarter=qcat(persons["quarter"]),
        borough=_categorical(persons["borough"], boroughs),
        harm_zero=persons["harm_zero"].astype(bool),
        relisted=persons["relisted"].astype(bool),
    )
    tests = tables.get("test_cells")
    if tests is not None:
        tests = tests.assign(quarter=qcat(tests["quarter"]), borough=_categorical(tests["borough"], boroughs))
    return CheckData(cells=cells, persons=persons, quarters=tuple(q), columns=frozenset(layout.columns),
                     n_rows=int(layout.n_rows), test_columns=tuple(layout.test_columns),
                     test_notes=tuple(layout.test_notes), involved=involved, test_cells=tests)


# ---------------------------------------------------------------------- reading the cube
#
# Each function gives one statistic's counts in the form the row-level
# function of that statistic counts them, so both share the derivation.


def _flag(flags: np.ndarray, definition: str) -> np.ndarray:
    """Whether cells with these ``flags`` meet a no-risk rule of :data:`fairness.definitions.NO_RISK_RULES`."""
    need = defs.no_risk_rules()[definition].mask
    return (flags & need) == need


def _has(flags: np.ndarray, name: str) -> np.ndarray:
    """Whether cells with these ``flags`` have the flag ``name``."""
    return (flags & defs.flag_bits()[name]) != 0


def in_quarter(table: pd.DataFrame, quarter: str) -> pd.DataFrame:
    """The rows of ``table`` (a cube table with a ``quarter`` column) in one quarter.

    A categorical column is compared by its codes (the people table has a row per cell of
    every quarter, 100,000 at 1M rows, and turning it into text cost 10 ms a call, a dozen
    calls an audit); any other by its values."""
    column = table["quarter"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        matches = np.flatnonzero(np.asarray(column.cat.categories.astype(object) == quarter, dtype=bool))
        codes = column.cat.codes.to_numpy()
        mask = np.isin(codes, matches) if len(matches) else np.zeros(len(codes), dtype=bool)
        return table[mask]
    return table[(column.astype(object) == quarter).to_numpy(dtype=bool)]


def list_counts(cube: Cube) -> pd.DataFrame:
    """People listed per ethnic group in the selected quarter (every category, zeros kept)."""
    people = in_quarter(cube.people, cube.quarter)
    counts = people.groupby("ethnicity", observed=False)["count"].sum().astype("int64")
    out = counts.rename("count").reset_index()
    out["ethnicity"] = out["ethnicity"].astype(str)
    return out


def no_risk_counts(cube: Cube, definition: str, by: str | None) -> pd.DataFrame:
    """``group, count, n`` of one no-risk definition, as :func:`fairness.stats.no_risk.no_risk_share` counts.

    ``by="quarter"`` uses every quarter; anything else the selected quarter.
    """
    people = cube.people if by == "quarter" else in_quarter(cube.people, cube.quarter)
    hit = _flag(people["flags"].to_numpy(), definition)
    count = people["count"].to_numpy(dtype="int64")
    if by is None:
        return pd.DataFrame({"group": ["all"], "count": [int(count[hit].sum())], "n": [int(count.sum())]})
    frame = pd.DataFrame({by: people[by], "count": np.where(hit, count, 0), "n": count})
    out = frame.groupby(by, observed=False)[["count", "n"]].sum().astype("int64").reset_index()
    out = out.rename(columns={by: "group"})
    out["group"] = out["group"].astype(str)
    return out[["group", "count", "n"]]


def people_in_quarter(cube: Cube) -> int:
    return int(in_quarter(cube.people, cube.quarter)["count"].sum())


def duration_counts(cube: Cube, definition: str) -> tuple[list[int], int]:
    """Counts per duration band (then "date added unknown") and everyone meeting the definition."""
    table = in_quarter(cube.durations, cube.quarter)
    table = table[_flag(table["flags"].to_numpy(), definition)]
    per = table.groupby("duration")["count"].sum()
    counts = [int(per.get(i, 0)) for i in range(defs.duration_codes().index(defs.DURATION_UNKNOWN) + 1)]
    return counts, int(table["count"].sum())


def borough_metric_counts(cube: Cube, metric: str, *, benchmark="residents_2021") -> pd.DataFrame:
    """``borough, count, n`` for one borough metric, as :func:`fairness.stats.boroughs.borough_counts` gives.

    ``benchmark``: a name or a :class:`~fairness.io.benchmarks.Benchmark` (a profile's), for the rate.
    """
    from fairness.io.benchmarks import get_benchmark

    boroughs = list(cube.categories["borough"])
    people = in_quarter(cube.people, cube.quarter)
    count = people["count"].to_numpy(dtype="int64")
    listed = people.groupby("borough", observed=False)["count"].sum().reindex(boroughs, fill_value=0)
    if metric == "rate_per_1000":
        res = get_benchmark(benchmark).by_borough().groupby("borough", observed=True)["count"].sum()
        return pd.DataFrame({"borough": boroughs, "count": listed.to_numpy(),
                             "n": res.reindex(boroughs).to_numpy()})
    flags = people["flags"].to_numpy()
    hit = {
        "no_risk_share": _has(flags, "harm_zero"),
        "black_share": (people["ethnicity"] == defs.SHARE_GROUP).to_numpy(dtype=bool),
        "green_share": _has(flags, "green"),
    }[metric]
    hits = pd.Series(np.where(hit, count, 0)).groupby(people["borough"].to_numpy()).sum()
    hits = pd.Series(hits).reindex(boroughs, fill_value=0)
    return pd.DataFrame({"borough": boroughs, "count": hits.to_numpy(dtype="int64"),
                         "n": listed.to_numpy(dtype="int64")})


def casemix_grouped(cube: Cube, covariates: Sequence[str]) -> pd.DataFrame:
    """People of the selected quarter by borough and ``covariates`` as text (sorted), with the
    no-risk count ``sum`` and ``size``, as :func:`fairness.stats.boroughs.casemix_adjusted` groups them."""
    people = in_quarter(cube.people, cube.quarter)
    keys = ["borough", *covariates]
    count = people["count"].to_numpy(dtype="int64")
    harm_zero = _has(people["flags"].to_numpy(), "harm_zero")
    frame = pd.DataFrame({**{k: people[k].astype(str) for k in keys},
                          "sum": np.where(harm_zero, count, 0), "size": count})
    return frame.groupby(keys, sort=True)[["sum", "size"]].sum().astype("int64").reset_index()


def trend_counts(cube: Cube) -> tuple[list[str], np.ndarray, dict[str, np.ndarray]]:
    """Quarters, people per quarter and, per trend metric, people meeting it per quarter."""
    quarters = list(cube.quarters)
    people = cube.people
    q = people["quarter"].cat.codes.to_numpy()
    count = people["count"].to_numpy(dtype="int64")
    flags = people["flags"].to_numpy()

    def per_quarter(hit: np.ndarray, q=q, count=count) -> np.ndarray:
        return np.bincount(q[hit], weights=count[hit], minlength=len(quarters)).astype("int64")

    all_rows = np.ones(len(people), dtype=bool)
    counts = {
        "black_share": per_quarter((people["ethnicity"] == defs.SHARE_GROUP).to_numpy(dtype=bool)),
        "no_risk_share": per_quarter(_has(flags, "harm_zero")),
        "under18_share": per_quarter(_has(flags, "under18")),
        "green_share": per_quarter(_has(flags, "green")),
    }
    if "shared_with" in cube.columns:
        cells = cube.check_data.cells
        shared = cells["shared"].to_numpy(dtype=bool)
        qc = cells["quarter"].cat.codes.to_numpy()
        counts["shared_share"] = np.bincount(qc[shared], weights=cells["count"].to_numpy()[shared],
                                             minlength=len(quarters)).astype("int64")
    return quarters, per_quarter(all_rows), counts
