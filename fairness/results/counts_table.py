"""Audit a count table (area × group × count) instead of row-level records.

A scrutiny body often receives counts, not records: a freedom-of-information
answer, or published statistics such as the Home Office's stop and search
tables (searches by police force and ethnic group). :func:`audit_counts` reads
such a table with a profile (:mod:`fairness.profiles`: the areas, groups and
benchmarks of the place) and returns the same :class:`~fairness.results.audit.AuditResult`
as :func:`fairness.audit`, built with the same statistics from counts:

* representation ratios and relative rate indices against the profile's
  benchmarks (the benchmark restricted to the areas the table covers);
* funnels by area: the rate per 1,000 residents, each group's share of the
  count, and the no-risk share where the table gives a no-risk count;
* the no-risk share (overall, by area, by group) where given.

What needs records (the data-protection checks, case-mix adjustment, band
performance, durations, sharing) is reported "not assessable: count table".
:meth:`AuditResult.for_publication` applies the same disclosure control.

Table format: one row per area × group (× period), columns named by the
profile's ``[count_table]`` or generically ``area, group, count`` (optional
``period`` and ``no_risk``). Areas are matched to the profile's names,
spellings or codes, groups through its ``[groups.map]``; raw values that map
to the same group are summed. A bad table is refused with every problem named
by file, line and column, and what would be valid.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fairness.counts.cube import ERR_NO_VALID_ROWS
from fairness.errors import CountTableError
from fairness.profiles import Profile, load_profile
from fairness.results.result import AuditResult

if TYPE_CHECKING:  # the statistics are imported where they are first used (fairness._lazy)
    from fairness.stats.disproportionality import AdjustMethod, RatioMethod

__all__ = ["CountTableError", "CountTableAudit", "audit_counts", "read_count_table", "relative_rate_by_area",
           "NOT_ASSESSABLE", "restricted_benchmarks", "profile_sentences"]

NOT_ASSESSABLE = "not assessable: count table"
MAX_PROBLEMS_SHOWN = 20

ERR_COLUMNS = ("{source}: column(s) {missing} not found. A count table of profile {profile!r} needs the columns "
               "{needed} (optional: {optional}; names from the profile's [count_table]); columns found: {found}")
ERR_ROWS = "{source}: {n} problem(s) in the count table; nothing was audited:\n{lines}"
ERR_AREA = "line {line}: column {column}: {value!r} is not a {word} of profile {profile!r}{hint}; valid: {valid}"
ERR_GROUP = "line {line}: column {column}: {value!r} is not a group of profile {profile!r}; valid: {valid} or a value in its [groups.map]"
ERR_COUNT = "line {line}: column {column}: {value!r} is not valid; valid: a whole number ≥ 0"
ERR_NO_RISK = "line {line}: column {column}: {value!r} is more than the count ({count}); valid: a whole number from 0 to the count"
ERR_DUPLICATE = "line {line}: {what} already given on line {first}; each area × group{period} once"
ERR_PERIOD = "{source}: period {period!r} is not in the table; periods found: {found}"
ERR_EMPTY = "{source}: the count table has no rows"
ERR_BENCHMARK = "benchmark {name!r} is not one of profile {profile!r}'s benchmarks; valid: {valid}"
ERR_INPUT = "audit_counts() takes the path of a CSV file or a DataFrame, not {type}"

_ROLES = ("area", "group", "count", "period", "no_risk")
_REQUIRED = ("area", "group", "count")
_INT = re.compile(r"^\d+$")


@dataclass(frozen=True)
class CountTable:
    """A validated count table: ``counts`` has ``period, area, group, count, no_risk`` (no_risk NaN if not given)."""

    counts: pd.DataFrame
    periods: tuple[str, ...]
    has_period: bool
    has_no_risk: bool
    n_rows: int
    source: str
    sha256: str
    profile: Profile
    #: "count table", or "records" (a ValidationResult counted here)
    kind: str = "count table"
    quarantined: int = 0
    quarantine_reasons: pd.DataFrame | None = None


def _read_frame(table: Any) -> tuple[pd.DataFrame, str, str]:
    if isinstance(table, pd.DataFrame):
        return table.astype(str).replace({"nan": "", "<NA>": "", "None": ""}), "<frame>", ""
    if isinstance(table, (str, os.PathLike)):
        path = Path(table)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CountTableError(f"{path}: cannot be read: {exc.strerror or exc}") from None
        try:
            from io import StringIO

            frame = pd.read_csv(StringIO(data.decode("utf-8-sig")), dtype=str, keep_default_na=False)
        except Exception as exc:  # pandas raises several types
            raise CountTableError(f"{path}: cannot be read as a UTF-8 CSV file: {exc}") from None
        return frame, str(path), hashlib.sha256(data).hexdigest()
    raise TypeError(ERR_INPUT.format(type=type(table).__name__))


def read_count_table(table: str | os.PathLike[str] | pd.DataFrame, *, profile: str | os.PathLike[str] | Profile = "london-gvm",
                     columns: Mapping[str, str] | None = None) -> CountTable:
    """Read and validate a count table against a profile (raises :class:`CountTableError`)."""
    p = load_profile(profile)
    names = {role: getattr(p.count_table, role) for role in _ROLES}
    names.update(dict(columns or {}))
    frame, source, sha = _read_frame(table)
    frame.columns = [str(c).strip() for c in frame.columns]
    # the generic names (area, group, count, period, no_risk) are always understood too
    for role in _ROLES:
        if names[role] not in frame.columns and role in frame.columns and not (columns and role in columns):
            names[role] = role
    missing = [names[r] for r in _REQUIRED if names[r] not in frame.columns]
    if missing:
        raise CountTableError(ERR_COLUMNS.format(
            source=source, missing=", ".join(map(repr, missing)), profile=p.name,
            needed=", ".join(names[r] for r in _REQUIRED), optional=f"{names['period']}, {names['no_risk']}",
            found=", ".join(map(repr, frame.columns))))
    if len(frame) == 0:
        raise CountTableError(ERR_EMPTY.format(source=source))
    has_period, has_no_risk = names["period"] in frame.columns, names["no_risk"] in frame.columns
    areas = p.area_lookup(codes=True)
    groups = p.groups.lookup()
    problems: list[str] = []
    records: list[tuple[str, str, str, int, float]] = []
    seen: dict[tuple[str, str, str], int] = {}
    valid_areas = f"the {len(p.areas)} {p.place.area_word_plural} of the profile (`fairness profiles {p.name}`)"
    for i, row in enumerate(frame.to_dict("records"), start=2):
        raw_area, raw_group = str(row[names["area"]]).strip(), str(row[names["group"]]).strip()
        area = areas.get(raw_area.lower())
        if area is None:
            near = p.closest_area(raw_area)
            problems.append(ERR_AREA.format(line=i, column=names["area"], value=raw_area, word=p.place.area_word,
                                            profile=p.name, hint=f" (closest: {near!r})" if near else "",
                                            valid=valid_areas))
        group = groups.get(raw_group.lower())
        if group is None:
            problems.append(ERR_GROUP.format(line=i, column=names["group"], value=raw_group, profile=p.name,
                                             valid=", ".join(p.groups.all)))
        raw_count = str(row[names["count"]]).strip().replace(",", "")
        count = int(raw_count) if _INT.match(raw_count) else None
        if count is None:
            problems.append(ERR_COUNT.format(line=i, column=names["count"], value=row[names["count"]]))
        no_risk = np.nan
        if has_no_risk:
            raw_nr = str(row[names["no_risk"]]).strip().replace(",", "")
            if not _INT.match(raw_nr):
                problems.append(ERR_COUNT.format(line=i, column=names["no_risk"], value=row[names["no_risk"]]))
            elif count is not None and int(raw_nr) > count:
                problems.append(ERR_NO_RISK.format(line=i, column=names["no_risk"], value=raw_nr, count=count))
            else:
                no_risk = float(raw_nr)
        period = str(row[names["period"]]).strip() if has_period else "pooled"
        if has_period and not period:
            problems.append(f"line {i}: column {names['period']}: empty; valid: a period label, e.g. 2022/23")
        if area is not None and group is not None:
            key = (period, area, raw_group.lower())
            if key in seen:
                what = f"{p.place.area_word} {area!r}, group {raw_group!r}" + (f", period {period!r}" if has_period else "")
                problems.append(ERR_DUPLICATE.format(line=i, what=what, first=seen[key],
                                                     period=" × period" if has_period else ""))
            seen.setdefault(key, i)
            if count is not None:
                records.append((period, area, group, count, no_risk))
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        lines = "\n".join(f"  {source}: {s}" for s in shown) + (f"\n  … and {more} more" if more else "")
        raise CountTableError(ERR_ROWS.format(source=source, n=len(problems), lines=lines))
    counts = pd.DataFrame(records, columns=["period", "area", "group", "count", "no_risk"])
    # raw values mapped to one group (e.g. the 19 census categories) are summed
    counts = counts.groupby(["period", "area", "group"], sort=False, as_index=False).agg(
        count=("count", "sum"), no_risk=("no_risk", lambda s: s.sum(min_count=1)))
    periods = tuple(sorted(counts["period"].unique()))
    return CountTable(counts=counts, periods=periods, has_period=has_period, has_no_risk=has_no_risk,
                      n_rows=len(frame), source=source, sha256=sha, profile=p)


ERR_PROFILE_MISMATCH = ("{source}: validated with another vocabulary than profile {profile!r}; read it with "
                        "fairness.read_matrix(path, profile={profile!r}) (command line: --profile {profile})")
NOTE_RECORDS = ("records of profile {profile!r} are audited from their counts: representation, relative rates, "
                "funnels and the no-risk share (harm score of zero); for the record-level checks, case-mix adjustment, "
                "band performance, durations, sharing and trends use fairness.audit(path, profile=...)")


def counts_from_records(res: Any, *, profile: str | os.PathLike[str] | Profile) -> CountTable:
    """Count validated matrix rows (a ValidationResult read with ``profile``) into a count table by quarter."""
    from fairness.quarters import quarter_label

    p = load_profile(profile)
    valid = res.valid
    session = getattr(res, "session", None)  # a file validated in DuckDB: counted there (fairness.counts.duck)
    if session is not None:
        from fairness.counts.duck import records_count_table

        if getattr(session.profile, "name", "london-gvm") != p.name:
            raise CountTableError(ERR_PROFILE_MISMATCH.format(source=res.source, profile=p.name))
        counts = records_count_table(res)
    else:
        if len(valid) and list(valid["borough"].cat.categories) != list(p.area_names):
            raise CountTableError(ERR_PROFILE_MISMATCH.format(source=res.source, profile=p.name))
        frame = pd.DataFrame({"period": quarter_label(valid["snapshot_date"]).astype(str),
                              "area": valid["borough"].astype(str), "group": valid["ethnicity"].astype(str),
                              "count": 1, "no_risk": (valid["harm_score"] == 0).astype("int64")})
        counts = frame.groupby(["period", "area", "group"], sort=True, as_index=False)[["count", "no_risk"]].sum()
        counts["no_risk"] = counts["no_risk"].astype("float64")
    if len(counts) == 0:
        raise ValueError(ERR_NO_VALID_ROWS)
    return CountTable(counts=counts, periods=tuple(sorted(counts["period"].unique())), has_period=True,
                      has_no_risk=True, n_rows=res.n_rows, source=res.source, sha256=res.sha256, profile=p,
                      kind="records", quarantined=res.n_quarantined, quarantine_reasons=res.quarantine_reasons())


# ---------------------------------------------------------------------- audit


def _select(ct: CountTable, period: str | None) -> tuple[str, pd.DataFrame]:
    if period in (None, "latest"):
        period = ct.periods[-1]
    if period not in ct.periods:
        raise CountTableError(ERR_PERIOD.format(source=ct.source, period=period, found=", ".join(ct.periods)))
    return period, ct.counts[ct.counts["period"] == period]


def restricted_benchmarks(p: Profile, names: Sequence[Any] | None, present: list[str]) -> list:
    """The profile's benchmarks (all, or those named), each restricted to the areas in ``present``.

    A name that is not one of the profile's benchmarks raises :class:`CountTableError`
    listing the valid ones; a :class:`~fairness.io.benchmarks.Benchmark` is taken as it is.
    """
    from fairness.io.benchmarks import Benchmark

    out = []
    for b in (names if names else p.benchmark_names):
        if isinstance(b, Benchmark):
            bench = b
        elif str(b) in p.benchmark_names:
            bench = p.benchmark(str(b))
        else:
            raise CountTableError(ERR_BENCHMARK.format(name=str(b), profile=p.name, valid=", ".join(p.benchmark_names)))
        t = bench.table
        if "borough" in t and set(present) != set(t["borough"]):
            t = t[t["borough"].isin(present)].reset_index(drop=True)
        out.append(dataclasses.replace(bench, table=t))
    return out


def _period_areas_benchmarks(ct: CountTable, period: str | None, benchmarks: Sequence[Any] | None):
    """The period's label and rows, the profile's areas present in them (in profile order), and the
    benchmarks restricted to those areas: what :func:`audit_counts` and :func:`relative_rate_by_area`
    both start from."""
    label, sel = _select(ct, period)
    present = [a for a in ct.profile.area_names if a in set(sel["area"])]
    return label, sel, present, restricted_benchmarks(ct.profile, benchmarks, present)


def _internal_group(p: Profile, g: str) -> str:
    # the statistics know "Not stated" as the group without a benchmark
    return "Not stated" if p.groups.not_stated and g == p.groups.not_stated else g


def _list_counts(p: Profile, sel: pd.DataFrame, by_area: bool, areas: list[str]) -> pd.DataFrame:
    groups = list(p.groups.all)
    if by_area:
        idx = pd.MultiIndex.from_product([areas, groups], names=["borough", "ethnicity"])
        c = sel.groupby(["area", "group"])["count"].sum()
        c.index.names = ["borough", "ethnicity"]
        out = c.reindex(idx, fill_value=0).reset_index()
    else:
        c = sel.groupby("group")["count"].sum()
        out = c.reindex(groups, fill_value=0).rename_axis("ethnicity").reset_index()
    out["ethnicity"] = [_internal_group(p, g) for g in out["ethnicity"]]
    out["count"] = out["count"].astype("int64")
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _funnel_counts(p: Profile, sel: pd.DataFrame, areas: list[str], headline, has_no_risk: bool):
    total = sel.groupby("area")["count"].sum().reindex(areas, fill_value=0)
    stated = sel[sel["group"] != p.groups.not_stated].groupby("area")["count"].sum().reindex(areas, fill_value=0)
    pop = headline.table.groupby("borough")["count"].sum().reindex(areas)
    metrics = {"rate_per_1000": pd.DataFrame({"borough": areas, "count": total.to_numpy(dtype="int64"),
                                              "n": pop.to_numpy()})}
    for g in p.groups.names:
        if g == p.groups.reference:
            continue
        hit = sel[sel["group"] == g].groupby("area")["count"].sum().reindex(areas, fill_value=0)
        metrics[f"{_slug(g)}_share"] = pd.DataFrame({"borough": areas, "count": hit.to_numpy(dtype="int64"),
                                                     "n": stated.to_numpy(dtype="int64")})
    if has_no_risk:
        nr = sel.groupby("area")["no_risk"].sum().reindex(areas, fill_value=0)
        metrics["no_risk_share"] = pd.DataFrame({"borough": areas, "count": nr.to_numpy(dtype="int64"),
                                                 "n": total.to_numpy(dtype="int64")})
    return metrics


NO_RISK_LABEL = "no-risk count as given in the count table"


def _no_risk(p: Profile, sel: pd.DataFrame, has_no_risk: bool, n: int, alpha: float, *,
             records: bool = False) -> pd.DataFrame:
    from fairness.stats.no_risk import not_assessable_share, share_from_counts

    if not has_no_risk:
        t = not_assessable_share("harm_zero", None, n, ["no_risk"])
        return t.assign(definition="as_given", definition_label=NO_RISK_LABEL,
                        note=f"{NOT_ASSESSABLE} without a no-risk count column")
    parts = []
    for by, key in ((None, None), ("borough", "area"), ("ethnicity", "group")):
        if key is None:
            c = pd.DataFrame({"group": ["all"], "count": [int(sel["no_risk"].sum())], "n": [int(sel["count"].sum())]})
        else:
            g = sel.groupby(key, sort=False)[["no_risk", "count"]].sum()
            c = pd.DataFrame({"group": g.index.astype(str), "count": g["no_risk"].to_numpy(dtype="int64"),
                              "n": g["count"].to_numpy(dtype="int64")})
        parts.append(share_from_counts(c, definition="harm_zero", by=by, alpha=alpha))
    out = pd.concat(parts, ignore_index=True)
    return out if records else out.assign(definition="as_given", definition_label=NO_RISK_LABEL)


def _checks(period: str, p: Profile, kind: str = "count table") -> pd.DataFrame:
    from fairness.checks import CHECK_RESULT_COLUMNS, REGISTRY

    rows = [{"check": c.name, "finding": c.finding, "quarter": period, "borough": f"All {p.place.area_word_plural}",
             "count": np.nan, "n": np.nan, "share": np.nan, "ci_low": np.nan, "ci_high": np.nan,
             "threshold": float(c.default_threshold), "basis": c.basis, "status": "not assessable",
             "detail": (f"{NOT_ASSESSABLE}: needs {', '.join(c.needs) or 'records'}" if kind != "records" else
                        f"not assessable with profile {p.name!r} yet: the checks run with london-gvm")}
            for c in REGISTRY]
    return pd.DataFrame(rows, columns=list(CHECK_RESULT_COLUMNS))


def audit_counts(
    table: str | os.PathLike[str] | pd.DataFrame,
    *,
    profile: str | os.PathLike[str] | Profile = "london-gvm",
    period: str | None = None,
    benchmarks: Sequence[Any] | None = None,
    reference: str | None = None,
    alpha: float = 0.05,
    method: RatioMethod = "katz",
    adjust: AdjustMethod = "holm",
    columns: Mapping[str, str] | None = None,
) -> CountTableAudit:
    """Audit a count table (area × group × count) with a profile's areas, groups and benchmarks.

    Parameters
    ----------
    table : path or DataFrame
        The count table; columns named by the profile's ``[count_table]``
        (override with ``columns={"area": ..., "group": ..., "count": ...,
        "period": ..., "no_risk": ...}``).
    profile : str, path or Profile, default "london-gvm"
    period : str, optional
        The period to audit when the table has a period column; default the
        latest (periods sort as text: "2022/23", "2018Q4"). Without a period
        column the whole table is one pooled period, and every output says so.
    benchmarks : sequence, optional
        Names of the profile's benchmarks (default: all of them; the first is
        the headline). Each is restricted to the areas the table covers.
    reference : str, optional
        Reference group (default: the profile's).
    alpha, method, adjust
        As for :func:`fairness.audit`.

    Returns
    -------
    CountTableAudit
        An :class:`~fairness.results.audit.AuditResult` (same tables, same JSON
        contract) whose ``quarter`` is the period, ``n`` the total count in it,
        sentences in the profile's words; tables that need records are empty
        or say "not assessable: count table".

    Examples
    --------
    Home Office stop and search, year ending March 2023 (England and Wales,
    excluding British Transport Police): 23.7 searches per 1,000 Black people
    (tests/test_count_tables.py reproduces the published rates).
    """
    from fairness.io.validation import ValidationResult
    from fairness.stats.boroughs import funnel_from_counts, heterogeneity_from_counts
    from fairness.stats.disproportionality import (
        benchmark_sensitivity,
        representation_from_counts,
    )

    if isinstance(table, ValidationResult):
        ct = counts_from_records(table, profile=profile)
    else:
        ct = read_count_table(table, profile=profile, columns=columns)
    p = ct.profile
    reference = reference or p.groups.reference
    label, sel, present, benches = _period_areas_benchmarks(ct, period, benchmarks)
    notes = [f"count table: {len(present)} of {len(p.areas)} {p.place.area_word_plural} in {label}; "
             f"benchmarks restricted to them"] if len(present) < len(p.areas) else []
    if not ct.has_period:
        notes.append("count table without a period column: audited as one pooled period")
    notes += [f"benchmark {b.label}: {b.assumption}" for b in benches if b.assumption]
    if ct.kind == "records":
        notes.append(NOTE_RECORDS.format(profile=p.name))
    else:
        notes.append(f"{NOT_ASSESSABLE}: data-protection checks, case-mix adjustment, band performance, "
                     "no-risk durations, sharing and trends need records")
    counts = _list_counts(p, sel, False, present)
    representation = representation_from_counts(counts, benches, alpha=alpha, method=method)
    relative = _relative_rates(p, counts, benches, by_area=False, reference=reference, alpha=alpha,
                               method=method, adjust=adjust)
    metric_counts = _funnel_counts(p, sel, present, benches[0], ct.has_no_risk)
    # every area in the table is covered: a count of 0 there is a real 0, not "no data"
    boroughs, overdispersion, limits = funnel_from_counts(metric_counts, covers=present)
    n = int(sel["count"].sum())
    params = {"quarter": label, "benchmarks": [b.name for b in benches], "reference": reference, "alpha": alpha,
              "method": method, "adjust": adjust, "no_risk": "as_given" if ct.kind != "records" else "harm_zero",
              "input": ct.kind,
              "profile": p.name, "period": label, "pooled": not ct.has_period}
    result = CountTableAudit(
        quarter=label, quarters=ct.periods, n=n, quarantined=ct.quarantined, n_rows=ct.n_rows, source=ct.source,
        sha256=ct.sha256, mode="internal", parameters=params,
        representation=representation, relative_rate=relative,
        sensitivity=benchmark_sensitivity(relative, representation),
        sentences=profile_sentences(relative, p, alpha=alpha),
        no_risk=_no_risk(p, sel, ct.has_no_risk, n, alpha, records=ct.kind == "records"),
        boroughs=boroughs, overdispersion=overdispersion, funnel_limits=limits,
        heterogeneity=heterogeneity_from_counts(metric_counts, covers=present),
        casemix_test=pd.DataFrame([{"metric": "no_risk_share", "lr_statistic": np.nan, "df": np.nan,
                                    "p_value": np.nan, "covariates": NOT_ASSESSABLE}]),
        checks=_checks(label, p, ct.kind),
        band_status="not assessable", band_reason=NOT_ASSESSABLE if ct.kind != "records" else
        f"not assessable with profile {p.name!r} yet (band performance runs with london-gvm)",
        quarantine_reasons=(ct.quarantine_reasons if ct.quarantine_reasons is not None
                            else pd.DataFrame(columns=["rule", "column", "rows"])),
        notes=tuple(notes),
        profile=p,
    )
    return result


def relative_rate_by_area(
    table: str | os.PathLike[str] | pd.DataFrame,
    *,
    profile: str | os.PathLike[str] | Profile = "london-gvm",
    period: str | None = None,
    benchmarks: Sequence[Any] | None = None,
    reference: str | None = None,
    alpha: float = 0.05,
    method: RatioMethod = "katz",
    adjust: AdjustMethod = "holm",
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Rates per 1,000 and relative rate indices within each area of a count table.

    The columns of :func:`fairness.relative_rate_index` with ``area`` after
    ``benchmark_label`` (p-values adjusted within each area and benchmark).
    Internal: apply disclosure control before publishing it.
    """

    ct = read_count_table(table, profile=profile, columns=columns)
    p = ct.profile
    _, sel, present, benches = _period_areas_benchmarks(ct, period, benchmarks)
    counts = _list_counts(p, sel, True, present)
    out = _relative_rates(p, counts, benches, by_area=True, reference=reference or p.groups.reference,
                          alpha=alpha, method=method, adjust=adjust)
    return out.rename(columns={"borough": "area"})


def _relative_rates(p: Profile, counts: pd.DataFrame, benches: list, *, by_area: bool, reference: str,
                    alpha: float, method: str, adjust: str) -> pd.DataFrame:
    """:func:`relative_rate_from_counts`, each benchmark on its own, counting what the profile counts.

    A list of events (``[list] counts = "events"``: searches) can count more events than an area has
    residents (the City of London: 232 searches of Black people in 2022/23, 193 Black residents in
    Census 2011); the ratio and its interval are then those of Poisson counts. A list of people
    counted above the population is a data error, and the statistics say so in ``note``.
    """
    from fairness.stats.disproportionality import relative_rate_from_counts

    keys = ("borough", "ethnicity") if by_area else ("ethnicity",)
    parts = [relative_rate_from_counts(counts, [bench], by=keys, reference=reference, alpha=alpha, method=method,
                                       adjust=adjust, kind=p.list.counts)
             for bench in benches]
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------- words


def profile_sentences(relative_rate: pd.DataFrame, profile: Profile, *, alpha: float = 0.05) -> pd.DataFrame:
    """The per-group sentences of :mod:`fairness.results.sentences`, in the profile's place and unit."""
    from fairness.results.sentences import Place, ratio_sentences

    return ratio_sentences(relative_rate, alpha=alpha, where=Place(profile.place.name, profile.place.people),
                           unit=profile.list.unit)


def _areas_counted(boroughs: pd.DataFrame) -> int:
    """How many areas the rows of ``boroughs`` stand for, as the notes count them: a row of small
    areas published together ("Other police force areas (28)", flag combined) is its ``k`` areas."""
    import re

    from fairness.definitions import COMBINED_FLAG

    if not len(boroughs):
        return 0
    rows = boroughs.drop_duplicates("borough")
    combined = rows["flag"].astype(str) == COMBINED_FLAG if "flag" in rows.columns else pd.Series(False, rows.index)
    k = [re.search(r"\((\d+)\)\s*$", str(a)) for a in rows.loc[combined, "borough"]]
    return int((~combined).sum()) + sum(int(m.group(1)) if m else 1 for m in k)


@dataclass(frozen=True)
class CountTableAudit(AuditResult):
    """An :class:`AuditResult` of a count table: headline and summary in the profile's words."""

    profile: Profile | None = dataclasses.field(default=None, repr=False, compare=False)

    def for_publication(self, *, threshold: int = 10, rounding: int | None = None) -> CountTableAudit:
        pub = super().for_publication(threshold=threshold, rounding=rounding)
        assert self.profile is not None
        return dataclasses.replace(pub, sentences=profile_sentences(pub.relative_rate, self.profile,
                                                                  alpha=self.parameters["alpha"]))

    def headline(self) -> list[str]:
        """Sentences with numbers, intervals and benchmarks, in the profile's words."""
        p = self.profile
        assert p is not None
        from fairness.results.headline import fmt_people
        from fairness.results.sentences import POOLED_PERIOD

        period = POOLED_PERIOD if self.parameters.get("pooled") else self.quarter  # the report's one pooled wording
        source = ("from a count table; checks that need records are not assessable"
                  if self.parameters.get("input") != "records" else
                  "from records" + ("; no snapshots: one pooled list" if self.parameters.get("pooled") else ""))
        b = self.boroughs
        if self.parameters.get("input") == "records" and len(b):  # the areas with anyone listed
            b = b[(b["metric"] == "rate_per_1000") & (pd.to_numeric(b["count"], errors="coerce") != 0)]
        n_areas = _areas_counted(b)
        out = [f"{p.list.name[:1].upper()}{p.list.name[1:]}, {p.place.name}, {period}: {fmt_people(self, self.n)} "
               f"{p.list.unit} in {n_areas} "
               f"{p.place.area_word if n_areas == 1 else p.place.area_word_plural} ({source})."]
        for b in self.parameters.get("benchmarks", [])[:2]:
            for r in self.sentences.itertuples(index=False):
                if r.benchmark == b and r.group != p.groups.reference:
                    out.append(str(r.sentence))
        return out[:7]

    def summary(self) -> str:
        """Plain text: the headline, then the notes."""
        lines = self.headline() + [""] + [f"note: {n}" for n in self.notes]
        if self.mode == "publication" and self.disclosure_note:
            lines.append(f"note: {self.disclosure_note}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        import html

        return "<div>" + "".join(f"<p>{html.escape(s)}</p>" for s in self.summary().split("\n") if s) + "</div>"
