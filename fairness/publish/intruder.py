"""The publication audit: try what an intruder would on a protected result.

:func:`fairness.publish.publication.protect_audit` protects each table;
this module checks the publication *as a whole*, as a determined reader of
``metrics.json`` and the report would attack it (ONS, "Disclosure control
guidance for tables"; the audit step of τ-ARGUS and sdcTable). Each attack
looks for a hidden count (``"[c]"``) or a count below the threshold that the
published numbers still give away:

``product``
    a share or rate whose own count is not shown in its row (a London centre
    ``target``, ``london_share``, or a share left beside a hidden count),
    multiplied by its own base wherever that is published (the row's ``n``
    or the same quantity in another table; for a London centre the London
    total and the list size), allowing for a share published rounded: a
    whole number from 1 to ``threshold - 1`` is a recovered count;
``total``
    a group of cells that adds up to a published total with exactly one cell
    hidden (total minus the shown cells), including the quarantine reasons
    against the number quarantined;
``repeat``
    the same quantity (a borough's list size, a group's count, a quarter's
    list size) hidden in one table and shown in another;
``quarters``
    two quarters of a trend: a change from a quarter whose count is hidden,
    or rolling four-quarter sums of a metric with a hidden quarter;
``status``
    a status or flag column ("ok" / "concern") left beside a hidden count,
    which bounds it against the check's threshold;
``summary``
    a model summary (φ, τ², the heterogeneity and case-mix tests, the funnel
    centre and limits) published although some of the cells it was computed
    from are hidden: with the other cells, it narrows the hidden ones;
``vocabulary``
    a string in a label column (group, borough, partner, metric …) that is
    not in the package's declared vocabulary: free text from the input.
``combined``
    a combined row ("25 and over", fairness.definitions.GROUP_COMBINATIONS)
    minus its parts shown anywhere else (another threshold, the calibration
    table, the group sizes of representation and no_risk): the last part.
``complement``
    a count shown beside its base (:data:`COMPLEMENT_PAIRS`: a borough's
    Green count and its list size, a group's selected people and its size,
    tp and positives …) gives back ``base - count``: the people in the base
    but not in the count (19 of 21 says 2 are not). The base is taken from
    the row, or, where it is hidden there, from wherever else the same
    quantity is published (a borough's list size in another funnel or
    table, a quarter's list size in another table or quarter); a count
    hidden beside a shown share is taken as share × base. A difference from
    1 to ``threshold - 1``, or one that equals a hidden cell of the row
    (positives − tp = a hidden fn), is a recovery.

:func:`audit_publication` returns every finding as a table;
:func:`assert_publication_safe` raises :class:`PublicationAuditError`, whose
message names each recovered cell and what it was recovered from. Both take
an :class:`~fairness.results.audit.AuditResult` or the dict of
``metrics.json``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from fairness.definitions import (
    AGE_BANDS,
    BOROUGHS,
    COMBINED_FLAG,
    DEFAULT_SUPPRESSION_THRESHOLD,
    ETHNICITIES,
    GROUP_COMBINATIONS,
    OTHER_BOROUGHS,
    RISK_BANDS,
    SEXES,
)
from fairness.publish.disclosure import MARKER, DisclosureError

__all__ = [
    "FINDING_COLUMNS",
    "PublicationAuditError",
    "assert_publication_safe",
    "audit_publication",
]

#: Columns of the table :func:`audit_publication` returns.
FINDING_COLUMNS: tuple[str, ...] = ("attack", "table", "row", "column", "recovered_from")

PUBLICATION_UNSAFE = (
    "the publication audit recovered {n} hidden or small count(s), so nothing is published: {cells}"
)
_MAX_LISTED = 12
#: Relative tolerance for "share × denominator is a whole number".
_INTEGER_TOLERANCE = 1e-6

#: Shares published without their own count in the row: a centre over every
#: borough. Multiplied by a denominator they give the count back.
ORPHAN_SHARES: dict[str, tuple[str, ...]] = {
    "boroughs": ("target",),
    "overdispersion": ("target",),
    "band_consistency": ("london_share",),
}
#: Share-like columns that are computed from the row's own count.
ROW_SHARES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    # table: (count column, denominator column, share columns)
    "representation": ("count", "n", ("share",)),
    "no_risk": ("count", "n", ("share",)),
    "no_risk_duration": ("count", "n", ("share",)),
    "boroughs": ("count", "n", ("value",)),
    "band_consistency": ("disagree", "n", ("share",)),
    "trends": ("count", "n", ("value",)),
    "checks": ("count", "n", ("share",)),
    "sharing_by_partner": ("count", "n", ("share",)),
}
#: Status columns and the values that say nothing about a count.
STATUS_COLUMNS: tuple[str, ...] = ("status", "flag")
_UNINFORMATIVE = frozenset({"", "not assessable", "not_estimable", "not estimable", MARKER})
#: (table, count columns a status sits beside)
STATUS_TABLES: dict[str, tuple[str, ...]] = {
    "checks": ("count", "n"),
    "boroughs": ("count", "n"),
    "casemix": ("observed", "n"),
    "band_consistency": ("disagree", "n"),
    "representation": ("count",),
    "relative_rate": ("count",),
}
#: Model summaries: table -> (columns computed from every borough of a metric).
SUMMARY_TABLES: dict[str, tuple[str, ...]] = {
    "overdispersion": ("phi", "tau2"),
    "heterogeneity": ("statistic", "p_value", "i2"),
}


class PublicationAuditError(DisclosureError):
    """A protected result still lets a reader work out a hidden or small count.

    ``findings`` holds one row per recovery (columns :data:`FINDING_COLUMNS`).
    """


# --------------------------------------------------------------------- helpers
def is_hidden(v: Any) -> bool:
    return isinstance(v, str) and v == MARKER


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def publication_tables(publication: Any) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """The tables (as DataFrames, positional index) and the top-level facts."""
    from fairness.results.audit import TABLES

    if isinstance(publication, Mapping):
        from fairness.results.contract import read_json_table  # either JSON format

        tables = {name: read_json_table(publication, name) for name in TABLES}
        facts = {k: publication.get(k) for k in ("n", "quarantined", "quarter", "mode", "parameters")}
    else:
        tables = {name: t.reset_index(drop=True) for name, t in publication.tables().items()}
        facts = {"n": publication.n, "quarantined": publication.quarantined, "quarter": publication.quarter,
                 "mode": publication.mode, "parameters": publication.parameters}
    return tables, facts


def _where(table: str, row: Any, column: str) -> str:
    return f"{table}[{row}].{column}"


# --------------------------------------------------------------------- attacks
def _decimals(value: float) -> int | None:
    """Decimals of a published share when it was rounded (at most 6), else None (full precision)."""
    text = repr(float(value))
    if "e" in text or "." not in text:
        return None
    d = len(text.split(".")[1].rstrip("0"))
    return d if d <= 6 else None


def _product(value: float, base: float) -> int | None:
    """The whole number ``value × base`` stands for, if one: exactly (a share published in full),
    or the only whole number within the rounding of a share published to a few decimals."""
    d = _decimals(value)
    if d is None:
        k = value * base
        return int(round(k)) if abs(k - round(k)) <= _INTEGER_TOLERANCE * max(k, 1.0) else None
    half = 0.5 * 10.0 ** -d
    low, high = math.ceil((value - half) * base - 1e-9), math.floor((value + half) * base + 1e-9)
    return int(low) if low == high else None


def _share_bases(tables, facts) -> dict[tuple[str, Any], list[tuple[float, str]]]:
    """The bases a reader can tie to a share published without its count: (table, metric) -> [(base, where)].

    A London centre (``boroughs.target``, ``overdispersion.target``) is a share of the
    metric's London total: the sum of its boroughs' ``n`` where every one is shown
    (per 1,000 for ``rate_per_1000``), and for a share of people listed the list size
    (``n``, and the quarter's list size wherever it is published); ``band_consistency.london_share``
    likewise of the sum of its ``n`` and the list size.
    """
    out: dict[tuple[str, Any], list[tuple[float, str]]] = {}
    listed: list[tuple[float, str]] = []
    n = _number(facts.get("n"))
    if n is not None and n >= 1:
        listed.append((n, "the list size n"))
    _where_base, places = _base_places(tables, facts)
    for other, j, c, v in places.get(("quarter list size", facts.get("quarter")), ()):
        if _number(v) is not None:
            listed.append((_number(v), _where(other, j, c)))
    boroughs = tables.get("boroughs")
    if boroughs is not None and len(boroughs) and {"metric", "n"} <= set(boroughs.columns):
        for metric, idx in boroughs.groupby("metric", sort=False).groups.items():
            ns = [_number(v) for v in boroughs.loc[idx, "n"].tolist()]
            tied = []
            if ns and all(v is not None for v in ns):
                total = float(sum(ns)) / (1000.0 if metric == "rate_per_1000" else 1.0)
                tied.append((total, f"the sum of boroughs.n for {metric}"))
            if metric != "rate_per_1000":
                tied += listed
            out[("boroughs", metric)] = out[("overdispersion", metric)] = tied
    bc = tables.get("band_consistency")
    if bc is not None and len(bc) and "n" in bc:
        ns = [_number(v) for v in bc["n"].tolist()]
        tied = [(float(sum(ns)), "the sum of band_consistency.n")] if all(v is not None for v in ns) else []
        out[("band_consistency", None)] = tied + listed
    return out


def _products(tables, facts, threshold: int) -> list[tuple]:
    """A share published without its count, times its own base (or a published copy of it).

    Only a base a reader can tie to the share counts: the row's own ``n`` (or the
    same quantity published elsewhere) for a share left beside its hidden count,
    and the London total for a London centre (:func:`_share_bases`). A share
    times some other published number that happens to give a whole number
    (1/3 × a borough's 15 = 5) recovers nothing.
    """
    found = []
    orphan_bases = _share_bases(tables, facts)
    where, places = _base_places(tables, facts)

    def attack(name: str, i: Any, col: str, value: float, bases: list[tuple[float, str]]) -> None:
        if not 0 < value < 1:
            return
        for base, base_where in bases:
            k = _product(value, base)
            if k is not None and 1 <= k < threshold:
                shown = int(base) if float(base).is_integer() else f"{base:g}"
                found.append(("product", name, i, col, f"{value:.6g} × {shown} ({base_where}) = {k}"))
                return

    for name, cols in ORPHAN_SHARES.items():
        t = tables.get(name)
        if t is None or not len(t):
            continue
        for col in cols:
            if col not in t:
                continue
            seen: set[tuple] = set()  # a centre is repeated on every row of its metric: attacked once
            for i, v in enumerate(t[col].tolist()):
                x = _number(v)
                metric = t.at[i, "metric"] if "metric" in t else None
                if x is None or (metric, x) in seen:
                    continue
                seen.add((metric, x))
                attack(name, i, col, x, orphan_bases.get((name, metric), []))
    for name, (count, base, shares) in ROW_SHARES.items():
        t = tables.get(name)
        if t is None or not len(t) or count not in t:
            continue
        for col in shares:
            if col not in t:
                continue
            for i, (c, v) in enumerate(zip(t[count].tolist(), t[col].tolist(), strict=True)):
                x = _number(v)
                if not (is_hidden(c) and x is not None):
                    continue
                bases = []
                if base in t and _number(t.at[i, base]) is not None:
                    bases.append((_number(t.at[i, base]), _where(name, i, base)))
                key = where.get((name, i, base))
                for other, j, c2, v2 in places.get(key, ()) if key else ():
                    if _number(v2) is not None:
                        bases.append((_number(v2), f"{_where(other, j, c2)} (the same {key[0]})"))
                attack(name, i, col, x, bases)
    return found


def _totals(tables, facts, threshold: int) -> list[tuple]:
    """Total minus shown cells: one hidden cell in a group with a known total."""
    from fairness.publish.publication import TABLE_SPECS, all_areas_label, table_spec

    found = []
    all_areas = all_areas_label(facts.get("parameters"))
    reasons = tables.get("quarantine_reasons")
    total = _number(facts.get("quarantined"))
    if reasons is not None and len(reasons) and "rows" in reasons and total is not None:
        hidden = [i for i, v in enumerate(reasons["rows"].tolist())
                  if is_hidden(v) and str(reasons.at[i, "rule"]) != WITHHELD_REASON]
        if len(hidden) == 1 and total > 0:
            found.append(("total", "quarantine_reasons", hidden[0], "rows",
                          "the number quarantined minus the reasons shown"))
    rep = tables.get("representation")
    listed = _number(facts.get("n"))
    if rep is not None and len(rep) and {"group", "count", "n"} <= set(rep.columns) and listed is not None:
        # "Not stated" is outside n: the number listed minus n gives it back, whatever else is hidden
        for i in range(len(rep)):
            if str(rep.at[i, "group"]) == OUTSIDE_BASE and is_hidden(rep.at[i, "count"]) \
                    and _number(rep.at[i, "n"]) is not None:
                found.append(("total", "representation", i, "count",
                              f"the number listed ({int(listed)}) minus representation.n ({int(rep.at[i, 'n'])})"))
    for name in TABLE_SPECS:
        spec, t = table_spec(name, all_areas), tables.get(name)
        if name == "quarantine_reasons" or t is None or not len(t):
            continue
        by = [c for c in spec.by if c in t]
        key = by[0] if len(by) == 1 else by
        groups = t.groupby(key, sort=False, dropna=False).groups.values() if by else [t.index]
        for idx in groups:
            for col in spec.count_cols:
                if col not in t:
                    continue
                values = t.loc[idx, col].tolist()
                hidden = [i for i, v in zip(idx, values, strict=True) if is_hidden(v)]
                if len(hidden) != 1 or len(values) < 2:
                    continue
                known = _group_total_known(name, t, idx, col, spec, facts, int(hidden[0]), all_areas)
                if known:
                    found.append(("total", name, int(hidden[0]), col, known))
    seen: set[tuple] = set()
    return [f for f in found if not (f[1:4] in seen or seen.add(f[1:4]))]


#: The group outside every share's denominator: its count is the number listed
#: minus the table's n, not part of n.
OUTSIDE_BASE = "Not stated"


def _group_total_known(name: str, t: pd.DataFrame, idx, col: str, spec, facts=None,
                       row: int | None = None, all_areas: str = "All boroughs") -> str | None:
    """Where the total of one group of a table is published, if it is."""
    if col in spec.count_cols and "n" in spec.base_cols and "n" in t:
        ns = {v for v in t.loc[idx, "n"].tolist() if _number(v) is not None}
        if len(ns) == 1:
            n = int(next(iter(ns)))
            if row is not None and "group" in t and str(t.at[row, "group"]) == OUTSIDE_BASE:
                listed = _number((facts or {}).get("n"))
                if name == "representation" and listed is not None:
                    # "Not stated" is outside n (no census denominator): the
                    # number listed minus n gives it back.
                    return f"the number listed ({int(listed)}) minus {name}.n ({n})"
                return None
            return f"{name}.n ({n}) minus the {col} shown beside it"
    if name == "checks" and "borough" in t:
        labels = t.loc[idx, "borough"].tolist()
        if all_areas in labels:
            j = list(idx)[labels.index(all_areas)]
            if not is_hidden(t.at[j, col]):
                return f"the '{all_areas}' row checks[{j}].{col} minus the areas shown"
    return None


def repeat_places(tables, facts) -> dict[tuple, list[tuple[str, int, str, Any]]]:
    """Quantities published in several tables: key -> [(table, row, column, value)]."""
    from fairness.publish.publication import all_areas_label

    quarter = facts.get("quarter")
    headline = (facts.get("parameters") or {}).get("no_risk", "harm_zero")
    seen: dict[tuple, list[tuple[str, int, str, Any]]] = {}

    def add(key: tuple, name: str, i: int, col: str, v: Any) -> None:
        if is_hidden(v) or _number(v) is not None:
            seen.setdefault(key, []).append((name, i, col, v))

    def rows(name: str, **where: Any):
        t = tables.get(name)
        if t is None or not len(t):
            return []
        mask = np.ones(len(t), dtype=bool)
        for k, v in where.items():
            if k not in t:
                return []
            mask &= (t[k] == v).to_numpy() if not isinstance(v, tuple) else t[k].isin(v).to_numpy()
        return [(i, t.iloc[i]) for i in np.flatnonzero(mask)]

    for i, r in rows("no_risk", by="borough", definition=headline):
        add(("list size", r["group"]), "no_risk", i, "n", r["n"])
        add(("no-risk count", r["group"]), "no_risk", i, "count", r["count"])
    for i, r in rows("boroughs", metric=("no_risk_share", "black_share", "green_share")):
        add(("list size", r["borough"]), "boroughs", i, "n", r["n"])
    for i, r in rows("boroughs", metric="no_risk_share"):
        if headline == "harm_zero":
            add(("no-risk count", r["borough"]), "boroughs", i, "count", r["count"])
    for i, r in rows("casemix"):
        add(("list size", r["borough"]), "casemix", i, "n", r["n"])
        if r.get("metric") == "no_risk_share" and headline == "harm_zero":
            add(("no-risk count", r["borough"]), "casemix", i, "observed", r["observed"])
    for i, r in rows("band_consistency"):
        add(("list size", r["borough"]), "band_consistency", i, "n", r["n"])
    for i, r in rows("representation"):
        add(("group size", r["group"]), "representation", i, "count", r["count"])
    for i, r in rows("relative_rate"):
        add(("group size", r["group"]), "relative_rate", i, "count", r["count"])
    for i, r in rows("no_risk", by="ethnicity", definition=headline):
        add(("group size", r["group"]), "no_risk", i, "n", r["n"])
    for i, r in rows("trends", metric="listed"):
        add(("quarter list size", r["quarter"]), "trends", i, "count", r["count"])
    for i, r in rows("checks", borough=all_areas_label(facts.get("parameters")),
                     check=("victims_as_offenders", "reviews_overdue")):
        add(("quarter list size", r["quarter"]), "checks", i, "n", r["n"])
    for i, r in rows("trends", metric="no_risk_share", quarter=quarter):
        if headline == "harm_zero":
            add(("London no-risk count",), "trends", i, "count", r["count"])
    t = tables.get("no_risk")
    if t is not None and len(t) and {"by", "definition"} <= set(t.columns):
        overall = (t["by"].isna() | (t["by"] == "all")).to_numpy()
        for i in np.flatnonzero(overall & (t["definition"] == headline).to_numpy()):
            add(("London no-risk count",), "no_risk", int(i), "count", t.at[int(i), "count"])
    return seen


def _repeats(tables, facts, threshold: int) -> list[tuple]:
    found = []
    for key, places in repeat_places(tables, facts).items():
        hidden = [p for p in places if is_hidden(p[3])]
        shown = [p for p in places if not is_hidden(p[3])]
        for name, i, col, _ in hidden:
            if shown:
                s = shown[0]
                found.append(("repeat", name, i, col,
                              f"the same {key[0]} is shown at {_where(s[0], s[1], s[2])}"))
    return found


def _quarters(tables, facts, threshold: int) -> list[tuple]:
    """Two quarters of a trend: a change shown beside a quarter whose count is hidden gives it back."""
    t = tables.get("trends")
    found: list[tuple] = []
    if t is None or not len(t) or not {"metric", "quarter", "count"} <= set(t.columns):
        return found
    from fairness.quarters import quarter_before

    for _metric, idx in t.groupby("metric", sort=False).groups.items():
        rows = {str(t.at[i, "quarter"]): i for i in idx}
        for i in idx:
            for col, k in (("diff_prev", 1), ("diff_year", 4)):
                if col not in t or _number(t.at[i, col]) is None:
                    continue
                j = rows.get(quarter_before(str(t.at[i, "quarter"]), k))
                if j is None:
                    continue
                hidden_cols = [c for c in ("count", "n", "value") if c in t and is_hidden(t.at[j, c])]
                if hidden_cols and _number(t.at[i, "value"]) is not None:
                    found.append(("quarters", "trends", int(j), hidden_cols[0],
                                  f"trends[{int(i)}].value minus trends[{int(i)}].{col}"))
        roll = [c for c in ("rolling_count", "rolling_value") if c in t]
        if roll and t.loc[idx, "count"].map(is_hidden).any():
            for c in roll:
                shown = [i for i in idx if _number(t.at[i, c]) is not None]
                if len(shown) >= 2:
                    found.append(("quarters", "trends", int(shown[0]), c,
                                  "consecutive rolling sums differ by one quarter in and one out"))
    return found


def _statuses(tables, facts, threshold: int) -> list[tuple]:
    found = []
    for name, counts in STATUS_TABLES.items():
        t = tables.get(name)
        if t is None or not len(t):
            continue
        counts = [c for c in counts if c in t]
        for col in STATUS_COLUMNS:
            if col not in t or not counts:
                continue
            for i in range(len(t)):
                status = t.at[i, col]
                if status is None or (isinstance(status, float) and math.isnan(status)):
                    continue
                if str(status) in _UNINFORMATIVE:
                    continue
                hidden = [c for c in counts if is_hidden(t.at[i, c])]
                if hidden:
                    found.append(("status", name, i, col,
                                  f"{col} {status!r} beside the hidden {hidden[0]} bounds it"))
    return found


def _summaries(tables, facts, threshold: int) -> list[tuple]:
    found = []
    boroughs = tables.get("boroughs")
    hidden_metrics: set[str] = set()
    if boroughs is not None and len(boroughs) and "metric" in boroughs:
        for col in ("count", "n"):
            if col in boroughs:
                mask = boroughs[col].map(is_hidden)
                hidden_metrics |= set(boroughs.loc[mask, "metric"])
    for name, cols in SUMMARY_TABLES.items():
        t = tables.get(name)
        if t is None or not len(t) or "metric" not in t:
            continue
        for i in range(len(t)):
            if t.at[i, "metric"] not in hidden_metrics:
                continue
            for col in cols:
                if col in t and _number(t.at[i, col]) is not None:
                    found.append(("summary", name, i, col,
                                  f"computed from the hidden cells of boroughs (metric {t.at[i, 'metric']})"))
    limits = tables.get("funnel_limits")
    if limits is not None and len(limits) and "metric" in limits:
        for metric in sorted(hidden_metrics & set(limits["metric"])):
            sub = limits[limits["metric"] == metric]
            target = _metric_target_hidden(tables, metric)
            if target and sub[["lower", "upper"]].map(lambda v: _number(v) is not None).any().any():
                found.append(("summary", "funnel_limits", int(sub.index[0]), "lower",
                              f"the funnel limits give back the withheld centre of metric {metric}"))
    found += _summaries_of_parts(tables, facts)
    casemix, test = tables.get("casemix"), tables.get("casemix_test")
    if casemix is not None and len(casemix) and test is not None and len(test):
        cells = [c for c in ("observed", "n") if c in casemix]
        combined = "flag" in casemix and bool((casemix["flag"].astype(str) == COMBINED_FLAG).any())
        if combined or (cells and casemix[cells].map(is_hidden).any().any()):
            for i in range(len(test)):
                for col in ("lr_statistic", "p_value"):
                    if col in test and _number(test.at[i, col]) is not None:
                        found.append(("summary", "casemix_test", i, col, "computed from the hidden cells of casemix"))
    return found


def _summaries_of_parts(tables, facts) -> list[tuple]:
    """A model summary over more areas than the funnel publishes: it was computed from the parts of a
    combined row ("Other boroughs (2)"), which are not published."""
    found = []
    boroughs = tables.get("boroughs")
    if boroughs is None or not len(boroughs) or not {"metric", "flag", "n"} <= set(boroughs.columns):
        return found
    for name, cols in SUMMARY_TABLES.items():
        t = tables.get(name)
        if t is None or not len(t) or not {"metric", "k"} <= set(t.columns):
            continue
        for i in range(len(t)):
            rows = boroughs[boroughs["metric"] == t.at[i, "metric"]]
            if not (rows["flag"].astype(str) == COMBINED_FLAG).any():
                continue
            k = _number(t.at[i, "k"])
            if k is not None and k > len(rows):
                found += [("summary", name, i, col, f"computed over {int(k)} areas, more than the {len(rows)} "
                           f"rows of boroughs (metric {t.at[i, 'metric']}): from the parts of a combined row")
                          for col in cols if col in t and _number(t.at[i, col]) is not None]
    return found


def _metric_target_hidden(tables, metric: str) -> bool:
    od = tables.get("overdispersion")
    if od is None or not len(od) or "target" not in od:
        return False
    vals = od.loc[od["metric"] == metric, "target"].tolist()
    return bool(vals) and all(_number(v) is None for v in vals)


def _vocabulary(facts: Mapping[str, Any] | None = None) -> dict[str, frozenset[str]]:
    from fairness.io.schema import PARTNER_OTHER, PARTNER_TYPES

    groups = set(ETHNICITIES) | {"All", "London", "Total"}
    areas: set[str] = set()
    parameters = (facts or {}).get("parameters") or {}
    name = parameters.get("profile")
    declared = parameters.get("vocabulary") or {}  # a profile's own words, as the audit wrote them
    bands: set[str] = set(declared.get("bands", ()))
    partners: set[str] = set(declared.get("partners", ()))
    if declared:
        areas = set(declared.get("areas", ()))
        groups |= set(declared.get("groups", ())) | set(declared.get("age_bands", ()))
        groups |= {f"{e} / {a}" for e in declared.get("groups", ()) for a in declared.get("age_bands", ())}
        groups |= {f"{e} / {s}" for e in declared.get("groups", ()) for s in SEXES}
    elif name and name != "london-gvm":  # another place: its areas and groups (fairness.profiles)
        from fairness.profiles import load_profile

        profile = load_profile(name)
        areas = {a.name for a in profile.areas} | {profile.place.name, f"All {profile.place.area_word_plural}"}
        groups |= set(profile.groups.all)
    ethnic = set(ETHNICITIES) | {c.label for c in GROUP_COMBINATIONS if c.by == "ethnicity"}
    ages = {b[0] for b in AGE_BANDS} | {c.label for c in GROUP_COMBINATIONS if c.by == "age_band"}
    groups |= ethnic | ages | set(SEXES) | set(BOROUGHS)
    groups |= {f"{e} / {a}" for e in ethnic for a in ages}
    groups |= {f"{e} / {s}" for e in ethnic for s in SEXES}
    groups |= set(COMBINED_LABELS)
    # small areas published together: "Other boroughs (k)", under another profile its plural area word
    from fairness.publish.publication import other_areas_label

    most = max(len(BOROUGHS), len(areas))
    others = {other_areas_label(k, parameters) for k in range(2, most + 1)}
    others |= {other_areas_label(k) for k in range(2, most + 1)}
    return {
        "borough": frozenset(set(BOROUGHS) | areas | others | {"All boroughs", OTHER_BOROUGHS, "London", "unknown"}),
        "partner": frozenset(set(PARTNER_TYPES) | partners | {PARTNER_OTHER, "any"}),
        "risk_band": frozenset(set(RISK_BANDS) | bands),
        "reference": frozenset(groups),
        "group": frozenset(groups),
    }


#: ``rule`` of a quarantine reason whose count the total would give away: the
#: reason itself is withheld, not only its count.
WITHHELD_REASON = MARKER
#: Labels of combined groups that protect_audit may publish (fairness.definitions.GROUP_COMBINATIONS).
COMBINED_LABELS: tuple[str, ...] = tuple(c.label for c in GROUP_COMBINATIONS)
#: Tables whose "group" column names groups of people (not quarters or durations).
_GROUP_TABLES = ("representation", "relative_rate", "sensitivity", "band_by_group", "band_calibration",
                 "band_versus_reference")


def _vocabulary_findings(tables, facts, threshold: int) -> list[tuple]:
    vocab = _vocabulary(facts)
    found = []
    for name, t in tables.items():
        if t is None or not len(t):
            continue
        for col, allowed in vocab.items():
            if col not in t or (col == "group" and name not in _GROUP_TABLES):
                continue
            for i, v in enumerate(t[col].tolist()):
                if v is None or (isinstance(v, float) and math.isnan(v)):
                    continue
                if str(v) not in allowed:
                    found.append(("vocabulary", name, i, col,
                                  f"{str(v)[:40]!r} is not in the declared vocabulary of {col}"))
    return found


#: Count columns of the band tables that a combined row sums over its parts.
_COMBINED_COUNTS: dict[str, tuple[str, ...]] = {
    "band_by_group": ("n", "positives", "selected", "tp", "fp", "tn", "fn"),
    "band_calibration": ("n", "outcomes"),
}


def _part_values(tables, by: str, part: str, threshold: str | None, band: str | None) -> dict[str, tuple[Any, str]]:
    """Every published value of one part of a combined group: column -> (value, where).

    Looked for in ``band_by_group`` (the same threshold; ``n`` and ``positives``
    at any threshold), worked out from ``band_calibration`` (a group's bands sum
    to its ``n``, outcomes to its ``positives``, the bands of a threshold to its
    ``selected`` and ``tp``), and for ``n`` in ``representation`` and
    ``no_risk``. A shown value wins over a hidden one.
    """
    from fairness.definitions import BAND_THRESHOLDS

    found: dict[str, list[tuple[Any, str]]] = {}

    def put(col: str, v: Any, where: str, cells: list[tuple[str, int, str]] | None = None) -> None:
        if is_hidden(v) or _number(v) is not None:
            found.setdefault(col, []).append((v, where, cells or []))

    bbg, cal = tables.get("band_by_group"), tables.get("band_calibration")
    if band is None and bbg is not None and len(bbg) and {"by", "group", "threshold"} <= set(bbg.columns):
        for i in np.flatnonzero(((bbg["by"] == by) & (bbg["group"].astype(str) == part)).to_numpy()):
            same = str(bbg.at[i, "threshold"]) == str(threshold)
            for col in _COMBINED_COUNTS["band_by_group"]:
                if col in bbg and (same or col in ("n", "positives")):
                    put(col, bbg.at[i, col], _where("band_by_group", int(i), col), [("band_by_group", int(i), col)])
    if cal is not None and len(cal) and {"by", "group", "risk_band", "n", "outcomes"} <= set(cal.columns):
        rows = cal[(cal["by"] == by) & (cal["group"].astype(str) == part)]
        if band is not None:
            for i in rows.index[rows["risk_band"] == band]:
                for col in ("n", "outcomes"):
                    put(col, cal.at[i, col], _where("band_calibration", int(i), col),
                        [("band_calibration", int(i), col)])
        elif len(rows):
            n = [_number(v) for v in rows["n"]]
            y = [_number(v) for v in rows["outcomes"]]
            where = f"band_calibration rows {', '.join(str(int(i)) for i in rows.index)}"
            cells = [("band_calibration", int(i), c) for i in rows.index for c in ("n", "outcomes")]
            if all(v is not None for v in n + y):
                pred = rows["risk_band"].isin(BAND_THRESHOLDS.get(str(threshold), ())).to_numpy()
                tot_n, pos = sum(n), sum(y)
                sel = sum(v for v, k in zip(n, pred, strict=True) if k)
                tp = sum(v for v, k in zip(y, pred, strict=True) if k)
                for col, v in (("n", tot_n), ("positives", pos), ("selected", sel), ("tp", tp), ("fp", sel - tp),
                               ("fn", pos - tp), ("tn", tot_n - sel - (pos - tp))):
                    put(col, v, where, cells)
    if band is None:
        rep = tables.get("representation")
        if by == "ethnicity" and rep is not None and len(rep) and "group" in rep and "count" in rep:
            for i in np.flatnonzero((rep["group"].astype(str) == part).to_numpy()):
                put("n", rep.at[i, "count"], _where("representation", int(i), "count"),
                    [("representation", int(i), "count")])
        nr = tables.get("no_risk")
        if nr is not None and len(nr) and {"by", "group", "n"} <= set(nr.columns):
            for i in np.flatnonzero(((nr["by"] == by) & (nr["group"].astype(str) == part)).to_numpy()):
                put("n", nr.at[i, "n"], _where("no_risk", int(i), "n"), [("no_risk", int(i), "n")])
    out = {}
    for col, values in found.items():
        shown = [x for x in values if not is_hidden(x[0])]
        out[col] = shown[0] if shown else values[0]
    return out


def _combined(tables, facts, threshold: int) -> list[tuple]:
    return [finding for finding, _cells in combined_leaks(tables, facts, threshold)]


def combined_leaks(tables, facts, threshold: int) -> list[tuple[tuple, list[tuple[str, int, str]]]]:
    """A combined row ("25 and over") minus its parts shown elsewhere gives the last part back.

    For each count of a combined row in the band tables: if every part but
    one is published (in any table, :func:`_part_values`), the last part is
    the combined count minus the others. That is a recovery if the last part
    is hidden somewhere, or if the difference is a count from 1 to
    ``threshold - 1``. Returns each finding with the shown cells of the
    other parts it used (``(table, row, column)``), which protection hides.
    """
    combos = {(c.by, c.label): c.parts for c in GROUP_COMBINATIONS}
    found: list[tuple] = []
    for name, counts in _COMBINED_COUNTS.items():
        t = tables.get(name)
        if t is None or not len(t) or not {"by", "group"} <= set(t.columns):
            continue
        for i in range(len(t)):
            parts = combos.get((str(t.at[i, "by"]), str(t.at[i, "group"])))
            if not parts:
                continue
            threshold_name = t.at[i, "threshold"] if "threshold" in t else None
            band = t.at[i, "risk_band"] if name == "band_calibration" else None
            values = [_part_values(tables, str(t.at[i, "by"]), p, threshold_name, band) for p in parts]
            for col in counts:
                total = _number(t.at[i, col]) if col in t else None
                if total is None:
                    continue
                got = [v.get(col) for v in values]
                missing = [k for k, v in enumerate(got) if v is None or is_hidden(v[0])]
                if len(missing) != 1:
                    continue
                k = missing[0]
                rest = total - sum(_number(v[0]) for j, v in enumerate(got) if j != k)
                if got[k] is not None or 0 < rest < threshold:
                    shown = "; ".join(f"{parts[j]} at {v[1]}" for j, v in enumerate(got) if j != k)
                    found.append((("combined", name, i, col,
                                   f"the combined row {name}[{i}].{col} ({t.at[i, 'group']}) minus {shown} "
                                   f"gives {parts[k]}"),
                                  [c for j, v in enumerate(got) if j != k for c in v[2]]))
    return found + _combined_area_leaks(tables, facts, threshold)


#: Per-area quantities a combined area row sums, as :func:`repeat_places` names them:
#: (table, metric or None, column) -> kind.
_AREA_QUANTITIES: dict[tuple[str, str | None, str], str] = {
    ("boroughs", "no_risk_share", "n"): "list size", ("boroughs", "black_share", "n"): "list size",
    ("boroughs", "green_share", "n"): "list size", ("boroughs", "no_risk_share", "count"): "no-risk count",
    ("casemix", "no_risk_share", "n"): "list size", ("casemix", "no_risk_share", "observed"): "no-risk count",
    ("no_risk", None, "n"): "list size", ("no_risk", None, "count"): "no-risk count",
    ("band_consistency", None, "n"): "list size",
}


def _combined_area_leaks(tables, facts, threshold: int) -> list[tuple[tuple, list[tuple[str, int, str]]]]:
    """A combined area row ("Other boroughs (3)") minus its parts shown in other tables.

    The areas each combined row holds are in ``parameters.combined_areas``. For
    each count of the row that another table publishes per area (a list size,
    a no-risk count: :func:`repeat_places`), if every area but one shows that
    count somewhere, the last is the combined count minus the others: a
    recovery if it is hidden somewhere or from 1 to ``threshold - 1``.
    """
    combos = (facts.get("parameters") or {}).get("combined_areas") or []
    if not combos:
        return []
    places = repeat_places(tables, facts)
    found: list[tuple[tuple, list[tuple[str, int, str]]]] = []
    for combo in combos:
        name, label, parts = combo.get("table"), str(combo.get("label")), list(combo.get("areas") or ())
        t = tables.get(name)
        column = "group" if name == "no_risk" else "borough"
        if t is None or not len(t) or column not in t or len(parts) < 2:
            continue
        rows = t[column].astype(str) == label
        if "metric" in t and combo.get("metric"):
            rows &= t["metric"] == combo["metric"]
        for i in np.flatnonzero(rows.to_numpy()):
            metric = t.at[i, "metric"] if "metric" in t else None
            for (table, m, col), kind in _AREA_QUANTITIES.items():
                if table != name or (m is not None and m != metric) or col not in t:
                    continue
                total = _number(t.at[i, col])
                if total is None:
                    continue
                got = []
                for part in parts:
                    seen = places.get((kind, part), [])
                    shown = [p for p in seen if not is_hidden(p[3])]
                    got.append((shown[0] if shown else None, any(is_hidden(p[3]) for p in seen)))
                missing = [j for j, (s, _h) in enumerate(got) if s is None]
                if len(missing) != 1:
                    continue
                j = missing[0]
                rest = total - sum(_number(s[3]) for s, _h in got if s is not None)
                if got[j][1] or 0 < rest < threshold:
                    used = [(s[0], s[1], s[2]) for s, _h in got if s is not None]
                    shown = "; ".join(f"{parts[k]} at {_where(*used_k)}" for k, used_k in
                                      zip([k for k in range(len(parts)) if k != j], used, strict=True))
                    found.append((("combined", name, int(i), col,
                                   f"the combined row {name}[{i}].{col} ({label}) minus {shown} gives {parts[j]}"),
                                  used))
    return found


#: Counts published beside their base, per table: (count, base, the column holding
#: base - count in the same row, or None where it is not published as a cell).
COMPLEMENT_PAIRS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "representation": (("count", "n", None),),
    "no_risk": (("count", "n", None),),
    "no_risk_duration": (("count", "n", None),),
    "boroughs": (("count", "n", None),),
    "casemix": (("observed", "n", None),),
    "band_consistency": (("disagree", "n", None),),
    "trends": (("count", "n", None),),
    "checks": (("count", "n", None),),
    "sharing_by_partner": (("count", "n", None),),
    "band_by_group": (("selected", "n", None), ("positives", "n", None), ("tp", "positives", "fn"),
                      ("fn", "positives", "tp"), ("tp", "selected", "fp"), ("fp", "selected", "tp")),
    "band_calibration": (("outcomes", "n", None),),
}


def _base_places(tables, facts) -> tuple[dict[tuple[str, int, str], tuple], dict[tuple, list[tuple]]]:
    """Where each base is published: (table, row, column) -> key, and key -> [(table, row, column, value)].

    The keys of :func:`repeat_places` (a borough's list size, a group's size, a
    quarter's list size), and a quarter's list size as the ``n`` of every trend
    metric and of the no-risk share by quarter.
    """
    places = {k: list(v) for k, v in repeat_places(tables, facts).items()}

    def add(key: tuple, name: str, i: int, col: str, v: Any) -> None:
        if is_hidden(v) or _number(v) is not None:
            places.setdefault(key, []).append((name, i, col, v))

    t = tables.get("trends")
    if t is not None and len(t) and {"quarter", "n"} <= set(t.columns):
        for i, (q, v) in enumerate(zip(t["quarter"].tolist(), t["n"].tolist(), strict=True)):
            add(("quarter list size", q), "trends", i, "n", v)
    nr = tables.get("no_risk")
    if nr is not None and len(nr) and {"by", "group", "n"} <= set(nr.columns):
        for i, (by, g, v) in enumerate(zip(nr["by"].tolist(), nr["group"].tolist(), nr["n"].tolist(), strict=True)):
            if by == "quarter":
                add(("quarter list size", g), "no_risk", i, "n", v)
            elif by == "all" and facts.get("quarter"):
                add(("quarter list size", facts.get("quarter")), "no_risk", i, "n", v)
    where = {(p[0], p[1], p[2]): key for key, ps in places.items() for p in ps}
    return where, places


def _complements(tables, facts, threshold: int) -> list[tuple]:
    """A count beside its base gives back base - count (see the module docstring)."""
    found: list[tuple] = []
    where, places = _base_places(tables, facts)

    def base_of(name: str, i: int, col: str, t: pd.DataFrame) -> tuple[float, str] | None:
        own = _number(t.at[i, col])
        if own is not None:
            return own, _where(name, i, col)
        key = where.get((name, i, col))
        for other, j, c, v in places.get(key, ()) if key else ():
            if _number(v) is not None:
                return _number(v), f"{_where(other, j, c)} (the same {key[0]})"
        return None

    for name, pairs in COMPLEMENT_PAIRS.items():
        t = tables.get(name)
        if t is None or not len(t):
            continue
        shares = ROW_SHARES.get(name)
        for count, base, cell in pairs:
            if count not in t or base not in t:
                continue
            for i in range(len(t)):
                got = base_of(name, i, base, t)
                if got is None:
                    continue
                b, b_where = got
                c, c_where = _number(t.at[i, count]), _where(name, i, count)
                if c is None and is_hidden(t.at[i, count]) and shares and shares[0] == count and shares[1] == base:
                    for share in shares[2]:  # a share left beside its hidden count: share x base
                        x = _number(t.at[i, share]) if share in t else None
                        k = None if x is None else _product(x, b)
                        if k is not None:
                            c, c_where = float(k), f"{_where(name, i, share)} × {int(b)}"
                            break
                if c is None:
                    continue
                rest = b - c
                if not (0 < rest < threshold or (cell and cell in t and is_hidden(t.at[i, cell]) and rest >= 0)):
                    continue
                target = cell if cell and cell in t else count
                found.append(("complement", name, i, target,
                              f"{b_where} ({int(b)}) minus {c_where} ({int(c)}) gives {int(rest)} "
                              f"({'the hidden ' + cell if cell and cell in t else 'people in ' + base + ' but not in ' + count})"))
    found += _list_size_complements(tables, threshold)
    seen: set[tuple] = set()
    return [f for f in found if not (f[1:4] in seen or seen.add(f[1:4]))]


def _list_size_complements(tables, threshold: int) -> list[tuple]:
    """A check of part of an area's list (its ``n``: the Green or no-risk people, the children)
    beside the area's list size, the ``n`` that the checks of everyone repeat: list size - n."""
    t = tables.get("checks")
    found: list[tuple] = []
    if t is None or not len(t) or not {"quarter", "borough", "n"} <= set(t.columns):
        return found
    for _key, idx in t.groupby(["quarter", "borough"], sort=False, dropna=False).groups.items():
        ns = [(int(i), _number(t.at[i, "n"])) for i in idx]
        shown = [v for _, v in ns if v is not None]
        if not shown:
            continue
        size = max(shown)
        if shown.count(size) < 2:  # a reader takes the n repeated by the checks of everyone as the list size
            continue
        at = next(i for i, v in ns if v == size)
        for i, v in ns:
            if v is not None and 0 < size - v < threshold:
                found.append(("complement", "checks", i, "n",
                              f"the list size checks[{at}].n ({int(size)}, the n of every check of everyone in "
                              f"{t.at[i, 'borough']}, {t.at[i, 'quarter']}) minus checks[{i}].n ({int(v)}) "
                              f"gives {int(size - v)}"))
    return found


ATTACKS = {
    "product": _products,
    "total": _totals,
    "repeat": _repeats,
    "quarters": _quarters,
    "status": _statuses,
    "summary": _summaries,
    "vocabulary": _vocabulary_findings,
    "combined": _combined,
    "complement": _complements,
}


def audit_publication(publication: Any, *, threshold: int = DEFAULT_SUPPRESSION_THRESHOLD) -> pd.DataFrame:
    """Every cell a reader could recover from a protected result.

    Parameters
    ----------
    publication : AuditResult or dict
        A publication-mode result (``AuditResult.for_publication()``) or the
        dict of its ``metrics.json``.
    threshold : int, default 10
        Smallest count that may be shown.

    Returns
    -------
    DataFrame
        Columns ``attack, table, row, column, recovered_from``
        (:data:`FINDING_COLUMNS`); empty when no attack succeeds. ``row`` is
        the position in the table.
    """
    tables, facts = publication_tables(publication)
    rows: list[tuple] = []
    for attack in ATTACKS.values():
        rows += attack(tables, facts, threshold)
    return pd.DataFrame(rows, columns=list(FINDING_COLUMNS))


def assert_publication_safe(publication: Any, *, threshold: int = DEFAULT_SUPPRESSION_THRESHOLD) -> None:
    """Raise :class:`PublicationAuditError` if :func:`audit_publication` finds anything."""
    found = audit_publication(publication, threshold=threshold)
    if len(found):
        cells = [f"{r.attack}: {_where(r.table, r.row, r.column)} from {r.recovered_from}"
                 for r in found.head(_MAX_LISTED).itertuples(index=False)]
        more = f"; and {len(found) - _MAX_LISTED} more" if len(found) > _MAX_LISTED else ""
        raise PublicationAuditError(PUBLICATION_UNSAFE.format(n=len(found), cells="; ".join(cells) + more),
                                    findings=found)
