"""Publication mode: disclosure control applied to every table of an audit.

Each table of :class:`~fairness.results.audit.AuditResult` is declared once in
:data:`TABLE_SPECS`: which columns count people, which are denominators,
which rows add up to a known total, and which values are derived from which
counts. :func:`protect_audit` runs :func:`fairness.publish.disclosure.protect_table`
on each and then handles what a per-row rule cannot see:

* a relative rate uses the reference group's count, so when that count is
  hidden every rate ratio, interval and p-value of its family is hidden, and
  so is the same ratio where the benchmark sensitivity table repeats it;
* rolling four-quarter sums can be differenced to recover one quarter, so when
  any quarter of a metric is hidden, that metric's rolling values are hidden;
* a trend's change from the previous quarter (or from a year earlier) uses
  that quarter's count: where the earlier count or list size is hidden, the
  change and its interval are hidden too (value − change gives it back);
* a band comparison (``band_versus_reference``) or summary (``band_summary``)
  is computed from the counts of ``band_by_group``: it is withheld where a
  count behind it is hidden there;
* a borough's funnel limits are a function of its ``n``: hidden with it;
* a check's ``detail`` text quotes sub-counts (e.g. "no-risk shared 728;
  Green shared 557") that the per-cell rules cannot see, so in publication it
  is kept only where it explains why a check was not assessable;
* if a table cannot be protected at all (a small count recoverable from a
  total published elsewhere), every count and derived value in it is
  withheld, and the decisions say so.

The decisions for every table are collected in ``AuditResult.disclosure``
(``table, row, column, hidden, rule``) so a reviewer can audit them.

Not suppressed: the number of rows quarantined from the file. It counts
records that failed validation, not people with a characteristic, and a
reader needs it to judge the data (the breakdown by rule *is* protected).
Nor the number of people whose ethnicity or sex is "Not stated"
(:func:`data_quality_cells`): the number listed minus the stated groups, a
data-quality count that says nothing about anyone's ethnicity; what their
records hold is protected like any group's.

Before protecting, small groups of the band tables are combined with their
neighbours where that saves a large group's figures (:func:`combine_small_groups`,
declared in :data:`fairness.definitions.GROUP_COMBINATIONS`), and the areas
whose own figures would be suppressed are published together as one row,
"Other boroughs (k)" (:func:`combine_small_areas`), with the funnels'
summaries recomputed from the areas shown plus that row.

Totals a reader knows are declared in :data:`TABLE_SPECS`: each ``by`` group,
a check's "All boroughs" row, the margins of the sharing table, the identities
tp + fn = positives (and so on) of the band table, the one-way groups behind
a cross group, and the number quarantined.

Across tables (issue 12, :func:`_close_intruder_routes`): a quantity hidden
in one table (a borough's list size, a group's count) is hidden wherever it
appears; a status beside a hidden count is hidden; a London centre that gives
back a small count is withheld with the funnel limits around it; model
summaries computed from hidden cells (φ, τ², heterogeneity, the case-mix test)
are withheld. Then the publication audit
(:func:`fairness.publish.intruder.assert_publication_safe`) attacks the result
as a whole and refuses it if any hidden or small count can still be recovered.
``AuditResult.suppression`` says what suppression cost, per table.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fairness.publish.disclosure import (
    MARKER,
    DisclosureError,
    KnownTotal,
    TotalColumn,
    TotalRow,
    TotalSpec,
    protect_table,
)
from fairness.quarters import quarter_before
from fairness.stats.bands import RATE_PARTS

if TYPE_CHECKING:  # pragma: no cover
    from fairness.results.audit import AuditResult

__all__ = ["COUNT_COLUMNS", "SUPPRESSION_COLUMNS", "TABLE_SPECS", "combine_small_areas", "combine_small_groups",
           "combined_areas_sentences", "count_columns", "other_areas_label",
           "data_quality_cells", "find_small_counts_in_tables",
           "all_areas_label", "hidden_rows", "protect_audit", "suppression_summary", "table_spec", "withheld_figures_sentences",
           "withheld_sentence", "TableSpec"]


@dataclass(frozen=True)
class TableSpec:
    count_cols: tuple[str, ...]
    by: tuple[str, ...] = ()
    base_cols: tuple[str, ...] = ()
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Further totals (fairness.publish.disclosure.TotalRow / KnownTotal); those naming
    #: a column the table lacks are skipped.
    totals: tuple[TotalSpec, ...] = ()
    #: (count, base) pairs of a row whose difference counts people (protect_table's
    #: ``complements``); None: every count with every base column.
    complements: tuple[tuple[str, str], ...] | None = None


def all_areas_label(parameters: object = None) -> str:
    """The label of a check's row that totals every area: "All boroughs", or the profile's
    ("All police force areas"). ``parameters`` is an audit result or its parameters."""
    from fairness.results.sentences import place

    return place(parameters).all_areas


def table_spec(name: str, all_areas: str = "All boroughs") -> TableSpec | None:
    """The disclosure rule of table ``name`` (:data:`TABLE_SPECS`), with the checks' total
    row under the profile's label, so that a hidden area beside a shown total is protected
    (and attacked) under any profile, not only where the total is called "All boroughs"."""
    spec = TABLE_SPECS.get(name)
    if spec is not None and name == "checks" and all_areas != "All boroughs":
        spec = dataclasses.replace(spec, totals=(TotalRow("borough", all_areas),))
    return spec


def _from(source: tuple[str, ...], *cols: str) -> dict[str, tuple[str, ...]]:
    return {c: source for c in cols}


_SHARE = ("count", "n")
#: A count beside its base in the same row: base - count must not be a small count.
_COMPLEMENT = (("count", "n"),)
#: A helper base column of the checks: each area's list size in the quarter (the largest n of its checks).
LIST_SIZE = "_list_size"
TABLE_SPECS: dict[str, TableSpec] = {
    "representation": TableSpec(
        ("count",), by=("benchmark",), base_cols=("n",),
        derived=_from(_SHARE, "share", "ratio", "ci_low", "ci_high", "flag"),
    ),
    "relative_rate": TableSpec(
        ("count",), by=("benchmark",),
        derived=_from(("count",), "rate_per_1000", "rate_low", "rate_high", "rri", "ci_low", "ci_high",
                      "p_value", "p_adjusted", "flag"),
    ),
    "sensitivity": TableSpec(
        ("count",), by=("measure", "benchmark"), derived=_from(("count",), "value", "ci_low", "ci_high"),
    ),
    "no_risk": TableSpec(
        ("count", "n"), by=("definition", "by"), derived=_from(_SHARE, "share", "ci_low", "ci_high"),
        complements=_COMPLEMENT,
    ),
    "no_risk_duration": TableSpec(
        ("count",), by=("definition",), base_cols=("n",), derived=_from(_SHARE, "share", "ci_low", "ci_high"),
    ),
    # A borough's funnel limits are a function of its n (and the London value):
    # shown beside a hidden n they would give it back.
    "boroughs": TableSpec(
        ("count", "n"), by=("metric",),
        derived={**_from(_SHARE, "value", "z", "z_adjusted", "flag"),
                 **_from(("n",), "lower_95", "upper_95", "lower_998", "upper_998")},
        complements=_COMPLEMENT,
    ),
    "casemix": TableSpec(
        ("observed", "n"), by=("metric",),
        derived=_from(("observed", "n"), "expected", "oe_ratio", "ci_low", "ci_high", "z", "p_value",
                      "p_adjusted", "flag"),
        complements=(("observed", "n"),),
    ),
    "band_consistency": TableSpec(
        ("disagree", "n"), derived=_from(("disagree", "n"), "share", "ci_low", "ci_high", "amber_from",
                                         "red_from", "flag"),
        complements=(("disagree", "n"),),
    ),
    "trends": TableSpec(
        ("count",), by=("metric", "quarter"), base_cols=("n",),
        derived=_from(_SHARE, "value", "ci_low", "ci_high", "diff_prev", "diff_prev_low", "diff_prev_high",
                      "diff_year", "diff_year_low", "diff_year_high"),
    ),
    # The borough rows of a check add up to its "All boroughs" row (counts and
    # list sizes alike), so one hidden borough must not stand alone.
    "checks": TableSpec(
        ("count", "n"), by=("check", "quarter"), totals=(TotalRow("borough", "All boroughs"),),
        derived=_from(_SHARE, "share", "ci_low", "ci_high"),
        # a check of a part of the list (blanket sharing: the Green or no-risk people; children
        # shared: the children) has that part as its n, beside the area's list size in the other
        # checks: list size - n must not be small either (_list_size, added while protecting)
        complements=(("count", "n"), ("n", LIST_SIZE)),
    ),
    # Per partner, the cells risk band x no-risk add up to the list size, and
    # their margins (people in a band; people meeting the no-risk definition)
    # are published in other tables: a two-way table with known margins.
    "sharing_by_partner": TableSpec(
        ("count", "n"), by=("quarter", "partner"),
        totals=(KnownTotal(("quarter", "partner", "risk_band")), KnownTotal(("quarter", "partner", "no_risk"))),
        derived=_from(_SHARE, "share", "ci_low", "ci_high"), complements=_COMPLEMENT,
    ),
    # Within a row, tp + fn = positives, tp + fp = selected and tp + fp + tn +
    # fn = n. Across rows, the groups of a cross breakdown ("White / 10-17")
    # add up to the groups of each one-way breakdown, published beside them
    # (_g1, _g2: the two parts of the group's name).
    "band_by_group": TableSpec(
        ("n", "positives", "selected", "tp", "fp", "fn", "tn"), by=("threshold", "by"),
        derived={},  # filled in below from the column names
        totals=(TotalColumn(("tp", "fn"), "positives"), TotalColumn(("tp", "fp"), "selected"),
                TotalColumn(("tp", "fp", "tn", "fn"), "n"),
                KnownTotal(("threshold", "by", "_g1")), KnownTotal(("threshold", "by", "_g2"))),
        # n - selected (not selected) and n - positives (no later violence) are not columns;
        # positives - tp, selected - tp are (fn, fp) and the totals above protect them
        complements=(("selected", "n"), ("positives", "n")),
    ),
    # Risk bands add up to the group (by); the groups of a breakdown add up to
    # the people in each band; cross groups add up to the one-way groups.
    "band_calibration": TableSpec(
        ("n", "outcomes"), by=("by", "group"), derived=_from(("n", "outcomes"), "rate", "ci_low", "ci_high"),
        complements=(("outcomes", "n"),),
        totals=(KnownTotal(("by", "risk_band")), KnownTotal(("by", "risk_band", "_g1")),
                KnownTotal(("by", "risk_band", "_g2"))),
    ),
    # The rows quarantined for each reason add up to the number quarantined,
    # which is published (see the module docstring).
    "quarantine_reasons": TableSpec(("rows",)),
}
#: Tables with no counts of people (model summaries, limit curves, sentences
#: rebuilt from the protected tables): passed through unchanged.
UNCOUNTED = ("overdispersion", "funnel_limits", "heterogeneity", "casemix_test")
#: Tables whose values compare groups, computed from the counts of band_by_group:
#: withheld where any count behind them is hidden there (or is small).
REFERENCE_TABLES = ("band_versus_reference", "band_summary")


#: Columns that hold counts of people (or records) in whichever table they
#: appear, besides each table's declared counts and bases.
COUNT_COLUMNS: tuple[str, ...] = (
    "count", "n", "rows", "observed", "disagree", "positives", "selected", "tp", "fp", "tn", "fn", "outcomes",
    "rolling_count", "rolling_n", "reference_n",
)


def count_columns(table: str, columns) -> list[str]:
    """The columns of table ``table`` (an AuditResult field) that count people.

    Its declared count and base columns, and any column named in
    :data:`COUNT_COLUMNS`; not ``n`` in :data:`UNCOUNTED` tables, where it is
    the x axis of a plotted curve, nor anything in ``disclosure``.
    """
    if table == "disclosure":
        return []
    spec = TABLE_SPECS.get(table)
    declared = (spec.count_cols + spec.base_cols) if spec is not None else ()
    wanted = set(declared) | set(COUNT_COLUMNS)
    if table in UNCOUNTED:
        wanted.discard("n")
    return [c for c in columns if c in wanted]


#: The column of each table that holds a group's size: for a data-quality group
#: (fairness.definitions.DATA_QUALITY_GROUPS, "Not stated") it is published whatever its size.
GROUP_SIZE_COLUMNS: dict[str, str] = {"representation": "count", "relative_rate": "count", "sensitivity": "count",
                                      "no_risk": "n"}
DATA_QUALITY_NOTE = (
    " The number of people whose ethnicity or sex is 'Not stated' is a data-quality count and is shown "
    "whatever its size, as the number of rows quarantined is: it is the number listed minus the stated "
    "groups, and says nothing about any person's ethnicity or sex. What their records hold is suppressed "
    "like any other group's."
)


def data_quality_cells(table: str, frame) -> list[tuple[int, str]]:
    """Positions (row, column) of the data-quality counts of a table, published whatever their size.

    The group size (:data:`GROUP_SIZE_COLUMNS`) of each row whose group is in
    :data:`fairness.definitions.DATA_QUALITY_GROUPS` ("Not stated").
    """
    from fairness.definitions import DATA_QUALITY_GROUPS

    col = GROUP_SIZE_COLUMNS.get(table)
    if col is None or not len(frame) or col not in frame or "group" not in frame:
        return []
    groups = list(frame["group"])
    return [(i, col) for i, g in enumerate(groups) if str(g) in DATA_QUALITY_GROUPS]


def _counts_back(column: pd.Series, dtype) -> pd.Series:
    """A count column taken out as floats for protection, back in its own type (``[c]`` kept)."""
    if not column.map(_is_marker).any():
        try:
            return column.astype(dtype)
        except (TypeError, ValueError):  # a missing value in an integer column
            return column
    if pd.api.types.is_integer_dtype(dtype):
        return column.map(lambda v: int(v) if isinstance(v, float) and v.is_integer() else v).astype(object)
    return column


def find_small_counts_in_tables(tables, *, threshold: int = 10) -> pd.DataFrame:
    """Every count from 1 to ``threshold - 1`` in the tables of an audit.

    ``tables`` maps table names to DataFrames or to lists of records (as in
    ``metrics.json``). Returns ``table, row, column, value`` (row: position in
    the table), empty when nothing would disclose a small count. Hidden cells
    (``"[c]"``), text and missing values are not counts; nor are data-quality
    counts (:func:`data_quality_cells`: the number "Not stated").
    """
    from fairness.publish.disclosure import find_small_counts

    found = []
    for name, table in tables.items():
        frame = table if isinstance(table, pd.DataFrame) else pd.DataFrame(list(table or []))
        if len(frame) == 0:
            continue
        frame = frame.reset_index(drop=True)
        cols = count_columns(name, frame.columns)
        if not cols:
            continue
        hits = find_small_counts(frame, count_cols=cols, threshold=threshold)
        quality = set(data_quality_cells(name, frame))
        found += [(name, r.row, r.column, r.value) for r in hits.itertuples(index=False)
                  if (r.row, r.column) not in quality]
    return pd.DataFrame(found, columns=["table", "row", "column", "value"])


#: What each band-performance rate is calculated from: a rate is hidden only when
#: a count it uses is (fpr = fp / (fp + tn) does not use tp).
_BAND_SOURCES: dict[str, tuple[str, ...]] = {
    "selection_rate": ("selected", "n"),
    "fpr": ("fp", "tn"),
    "fnr": ("fn", "tp"),
    "precision": ("tp", "fp"),
    "base_rate": ("positives", "n"),
}


def _band_by_group_derived(columns: list[str]) -> dict[str, tuple[str, ...]]:
    counts = ("n", "positives", "selected", "tp", "fp", "fn", "tn")
    out = {}
    for c in columns:
        if c in counts or c in ("threshold", "by", "group", "note"):
            continue
        stem = c.removesuffix("_low").removesuffix("_high")
        out[c] = _BAND_SOURCES.get(stem, counts)
    return out


#: Tables protected one breakdown (``by``) at a time: a cross breakdown
#: ("ethnicity / age_band") is protected against the one-way groups as known
#: totals, so its many small cells never spread suppression into them.
_BY_FAMILY = ("band_by_group", "band_calibration")


#: A cross breakdown with more than this share of its non-zero counts below the
#: threshold is withheld whole: suppression would leave little of it, and
#: finding which further cells to hide in it is slow.
CROSS_SMALL_SHARE = 0.25


def _mostly_small(table: pd.DataFrame, spec: TableSpec, threshold: int) -> bool:
    cols = [c for c in spec.count_cols if c in table]
    v = table[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    nonzero = (v > 0).sum()
    return bool(nonzero) and ((v > 0) & (v < threshold)).sum() / nonzero > CROSS_SMALL_SHARE


def _withhold(t: pd.DataFrame, spec: TableSpec):
    """Every count and derived value of ``t`` hidden (rule ``withheld``)."""
    derived = _band_by_group_derived(list(t.columns)) if spec is TABLE_SPECS["band_by_group"] else spec.derived
    cols = [c for c in dict.fromkeys((*spec.count_cols, *spec.base_cols, *derived)) if c in t]
    out = t.astype(object).copy()
    dec = []
    for c in cols:
        for i in range(len(out)):
            v = out.at[i, c]
            if v is None or (isinstance(v, float) and np.isnan(v)):
                continue
            out.at[i, c] = MARKER
            dec.append({"row": i, "column": c, "hidden": True, "rule": "withheld"})
    return out, pd.DataFrame(dec, columns=["row", "column", "hidden", "rule"])


def _protect_families(table: pd.DataFrame, spec: TableSpec, threshold: int, rounding: int | None):
    t = table.reset_index(drop=True)
    if "by" not in t or t["by"].nunique() < 2:
        return _protect(t, spec, threshold, rounding)
    parts, decs = [], []
    for family, idx in t.groupby("by", sort=False).groups.items():
        sub = t.loc[idx]
        if " / " in str(family) and _mostly_small(sub, spec, threshold):
            protected, dec = _withhold(sub.reset_index(drop=True), spec)
        else:
            protected, dec = _protect(sub, spec, threshold, rounding)
        protected.index = idx
        dec = dec.copy()
        rows = list(idx)
        dec["row"] = [rows[r] if isinstance(r, (int, np.integer)) and 0 <= r < len(rows) else r for r in dec["row"]]
        parts.append(protected)
        decs.append(dec)
    out = pd.concat(parts).sort_index()
    for c in out.columns:
        if out[c].dtype == object and c in t and t[c].dtype != object:
            if not out[c].map(lambda v: isinstance(v, str) and v == MARKER).any():
                out[c] = out[c].astype(t[c].dtype)
    return out.reset_index(drop=True), pd.concat(decs, ignore_index=True)


def protect_audit(res: AuditResult, *, threshold: int = 10, rounding: int | None = None,
                  audit: bool = True) -> AuditResult:
    """Apply disclosure control to every table of ``res``; return a publication-mode copy.

    With ``audit`` (the default) the result then goes through the publication
    audit (:func:`fairness.publish.intruder.assert_publication_safe`), which
    raises :class:`~fairness.publish.intruder.PublicationAuditError` naming any
    cell a reader could still recover; ``audit=False`` is for tests that
    reproduce an attack.
    """
    from fairness.results.sentences import place, ratio_sentences

    changes: dict[str, object] = {}
    decisions: list[pd.DataFrame] = []
    # small groups combined first (declared combinations), so their suppression spares the large groups
    bbg, cal, combined = combine_small_groups(res, threshold=threshold)
    if combined:
        res = dataclasses.replace(res, band_by_group=bbg, band_calibration=cal)
    combined_bys = {m["by"] for m in combined}
    # small areas combined into one named row ("Other boroughs (k)"), the funnels' summaries recomputed
    area_changes, combined_areas = combine_small_areas(res, threshold=threshold)
    withheld_test = [(i, c) for t in [area_changes.get("casemix_test")] if t is not None
                     for i in range(len(t)) for c in ("lr_statistic", "p_value")
                     if c in t and pd.notna(res.casemix_test.reset_index(drop=True).at[i, c])]
    if area_changes:
        res = dataclasses.replace(res, **area_changes)
    if withheld_test:
        decisions.append(_decisions("casemix_test", withheld_test, "withheld"))
    all_areas = all_areas_label(res)
    for name in [f.name for f in dataclasses.fields(res)]:
        table = getattr(res, name)
        if not isinstance(table, pd.DataFrame) or name in ("disclosure", "suppression") or name in UNCOUNTED:
            continue
        if name == "sentences":
            continue
        if len(table) == 0:
            continue
        if name in REFERENCE_TABLES:
            protected, dec = _withhold_if_small(table, threshold, changes.get("band_by_group"), combined_bys)
        else:
            spec = table_spec(name, all_areas)
            if spec is None:
                raise KeyError(f"no disclosure rule declared for table {name!r}: add it to TABLE_SPECS")
            protect = _protect_families if name in _BY_FAMILY else _protect
            # data-quality counts ("Not stated") are not suppressed: kept out of the totals while the
            # table is protected, but still the base of a complement (0 no-risk of 3 tells about all 3)
            quality = data_quality_cells(name, table)
            masked = table.reset_index(drop=True)
            protected, dec = protect(masked, spec, threshold, rounding, **({"keep": quality} if quality else {}))
            for i, c in quality:
                protected.at[i, c] = table.iloc[i][c]
            for c in {c for _, c in quality}:
                protected[c] = _counts_back(protected[c], table[c].dtype)
            if name == "relative_rate":
                protected, extra = _hide_when_reference_hidden(protected)
                dec = pd.concat([dec, extra], ignore_index=True)
            if name == "sensitivity":
                protected, extra = _hide_like_sources(
                    protected, changes.get("relative_rate"), changes.get("representation"))
                dec = pd.concat([dec, extra], ignore_index=True)
            if name == "trends":
                protected, extra = _hide_rolling(protected, threshold)
                dec = pd.concat([dec, extra], ignore_index=True)
                protected, extra = _hide_differences(protected)
                dec = pd.concat([dec, extra], ignore_index=True)
            if name == "checks" and "detail" in protected:
                keep = protected["status"].astype(str).eq("not assessable")
                protected = protected.assign(detail=protected["detail"].where(keep, ""))
        changes[name] = protected
        dec = dec.copy()
        dec.insert(0, "table", name)
        decisions.append(dec)
    decisions += _close_intruder_routes(res, changes, threshold)
    rel = changes.get("relative_rate", res.relative_rate)
    changes["sentences"] = _sentences(rel, ratio_sentences, where=place(res))
    changes["mode"] = "publication"
    # headline() and summary() need it to word counts that are not in a table (the list size)
    changes["parameters"] = {**res.parameters, "disclosure_threshold": threshold}
    if combined:
        changes["parameters"]["combined_groups"] = combined
    if combined_areas:
        changes["parameters"]["combined_areas"] = combined_areas
    changes["disclosure"] = pd.concat(decisions, ignore_index=True) if decisions else pd.DataFrame(
        columns=["table", "row", "column", "hidden", "rule"])
    changes["disclosure_note"] = (
        f"Counts below {threshold} are suppressed ({MARKER}); so is a count shown beside its base (a share's "
        f"denominator, a group's size) when the base minus the count is below {threshold}, and further counts "
        "from which a suppressed count could be worked out using a total (secondary suppression), and any share, "
        "rate, ratio, "
        "interval or test statistic calculated from a suppressed count. True zeros are shown as 0."
        + (f" Counts are rounded to the nearest {rounding}." if rounding else "")
        + DATA_QUALITY_NOTE
        + "".join(f" In the band-performance tables, {m['why']}." for m in combined)
        + "".join(f" {s}" for s in combined_areas_sentences(combined_areas, where=res, threshold=threshold))
    )
    withheld = withheld_figures_sentences(changes.get("band_by_group"), by="ethnicity", threshold=threshold)
    if withheld:
        changes["disclosure_note"] += " " + " ".join(withheld)
    out = dataclasses.replace(res, **changes)
    # res already holds the combined groups and areas the published tables were protected from
    out = dataclasses.replace(out, suppression=_suppression_rows(res, out, published_form=True))
    if audit:
        from fairness.publish.intruder import assert_publication_safe

        assert_publication_safe(out, threshold=threshold)
    return out


def _is_marker(v) -> bool:
    return isinstance(v, str) and v == MARKER


def _decisions(name: str, cells, rule: str) -> pd.DataFrame:
    return pd.DataFrame([{"table": name, "row": r, "column": c, "hidden": True, "rule": rule} for r, c in cells],
                        columns=["table", "row", "column", "hidden", "rule"])


def _close_intruder_routes(res: AuditResult, changes: dict[str, object], threshold: int) -> list[pd.DataFrame]:
    """What per-table protection cannot see (issue 12): the publication as a whole.

    * a status ("ok" / "concern") beside a hidden count bounds it: hidden;
    * the same quantity hidden in one table is hidden wherever else it appears;
    * a London centre (``target``, ``london_share``) that times a published
      denominator gives a small count is withheld, with the funnel limits drawn
      around it;
    * model summaries (φ, τ², heterogeneity, case-mix test) computed from
      hidden cells are withheld.

    ``changes`` is updated in place; returns the decisions.
    """
    from fairness.publish import intruder

    out: list[pd.DataFrame] = []

    def current(name: str) -> pd.DataFrame:
        t = changes.get(name, getattr(res, name))
        return t.reset_index(drop=True) if isinstance(t, pd.DataFrame) else pd.DataFrame()

    names = list(intruder.publication_tables(res)[0])
    facts = {"n": res.n, "quarantined": res.quarantined, "quarter": res.quarter, "parameters": res.parameters}

    def snapshot() -> tuple[dict[str, pd.DataFrame], dict[str, object]]:
        """The publication as it stands now, as the publication audit reads it."""
        return {n: current(n) for n in names}, facts

    def hide(name: str, cells, rule: str = "derived", value=MARKER) -> None:
        cells = list(cells)
        if not cells:
            return
        t = current(name).copy()
        for r, c in cells:
            if c in t:
                if value is MARKER:
                    t[c] = t[c].astype(object)
                t.at[r, c] = value
        changes[name] = t
        # a cell withheld as missing (NaN, or "" for a text) is recorded as "withheld"
        out.append(_decisions(name, cells, rule if value is MARKER else "withheld"))

    # 1. statuses beside hidden counts
    for name, counts in intruder.STATUS_TABLES.items():
        t = current(name)
        if not len(t):
            continue
        cols = [c for c in intruder.STATUS_COLUMNS if c in t]
        counts = [c for c in counts if c in t]
        cells = []
        for i in range(len(t)):
            if any(_is_marker(t.at[i, c]) for c in counts):
                cells += [(i, c) for c in cols if not _is_marker(t.at[i, c])]
                if "detail" in t and str(t.at[i, "detail"]) not in ("", "nan", "None"):
                    cells.append((i, "detail"))
        hide(name, [(i, c) for i, c in cells if c != "detail"])
        if any(c == "detail" for _, c in cells):
            hide(name, [(i, c) for i, c in cells if c == "detail"], value="")
    # 2a. the number quarantined is published: a reason whose count it gives back
    #     (the only reason, or the only hidden one) is withheld with its name
    reasons = current("quarantine_reasons")
    if len(reasons) and "rows" in reasons and "rule" in reasons:
        hidden_rows = [i for i in range(len(reasons)) if _is_marker(reasons.at[i, "rows"])]
        if len(hidden_rows) == 1:
            t = reasons.astype(object).copy()
            i = hidden_rows[0]
            t.at[i, "rule"] = intruder.WITHHELD_REASON
            cells = [(i, "rule")] + ([(i, "column")] if "column" in t else [])
            for r, c in cells:
                t.at[r, c] = MARKER
            changes["quarantine_reasons"] = t
            out.append(_decisions("quarantine_reasons", cells, "withheld"))
    # 2. the same quantity in two tables: hide every copy (hiding more never exposes a hidden cell)
    for _ in range(3):
        tables, facts = snapshot()
        found = intruder.ATTACKS["repeat"](tables, facts, threshold)
        if not found:
            break
        shown_copies = _shown_copies(tables, facts, threshold)
        for name, cells in shown_copies.items():
            hide(name, cells, rule="secondary")
    # 2b. a combined row ("25 and over") minus its parts shown elsewhere: hide those parts' copies
    for _ in range(3):
        tables, facts = snapshot()
        leaks = intruder.combined_leaks(tables, facts, threshold)
        if not leaks:
            break
        cells: dict[str, list[tuple[int, str]]] = {}
        for _finding, sources in leaks:
            for name, i, col in sources:
                if not _is_marker(tables[name].at[i, col]):
                    cells.setdefault(name, []).append((i, col))
                    cells[name] += [(i, d) for d in _DEPENDENTS.get((name, col), ()) if d in tables[name]]
        for name, c in cells.items():
            hide(name, list(dict.fromkeys(c)), rule="secondary")
    # 3. London centres that give back a small count
    tables, facts = snapshot()
    for _attack, name, row, col, _src in intruder.ATTACKS["product"](tables, facts, threshold):
        t = current(name)
        if name in intruder.ORPHAN_SHARES and col in intruder.ORPHAN_SHARES[name]:
            value = t.at[row, col]
            rows = [i for i in range(len(t)) if t.at[i, col] == value]
            if "metric" in t:
                metric = t.at[row, "metric"]
                rows = [i for i in rows if t.at[i, "metric"] == metric]
                _withhold_centre(current, hide, metric)
            hide(name, [(i, col) for i in rows], value=np.nan)
            if name == "band_consistency":
                hide(name, [(i, c) for i in rows for c in ("london_amber_from", "london_red_from") if c in t],
                     value=np.nan)
        else:
            hide(name, [(row, col)])
    # 4. model summaries computed from hidden cells
    tables, facts = snapshot()
    for _attack, name, row, col, _src in intruder.ATTACKS["summary"](tables, facts, threshold):
        if name == "funnel_limits":
            continue
        hide(name, [(row, col)], value=np.nan)
    return out


def _withhold_centre(current, hide, metric) -> None:
    """Withhold a metric's London centre everywhere it is published (target, funnel limits)."""
    for name, cols in (("boroughs", ("target",)), ("overdispersion", ("target",)),
                       ("funnel_limits", ("lower", "upper"))):
        t = current(name)
        if not len(t) or "metric" not in t:
            continue
        rows = [i for i in range(len(t)) if t.at[i, "metric"] == metric]
        hide(name, [(i, c) for i in rows for c in cols if c in t], value=np.nan)


def _shown_copies(tables, facts, threshold) -> dict[str, list[tuple[int, str]]]:
    """The shown copies of every quantity that is hidden somewhere (see intruder.ATTACKS["repeat"])."""
    from fairness.publish import intruder

    hidden_tables = {}
    for _a, name, row, col, _src in intruder.ATTACKS["repeat"](tables, facts, threshold):
        hidden_tables.setdefault((name, row, col), True)
    # re-run with the hidden and shown sides swapped: collect the shown copies
    shown: dict[str, list[tuple[int, str]]] = {}
    for _key, places in intruder.repeat_places(tables, facts).items():
        if any(intruder.is_hidden(p[3]) for p in places):
            for name, i, col, v in places:
                if not intruder.is_hidden(v):
                    shown.setdefault(name, []).append((i, col))
                    for d in _DEPENDENTS.get((name, col), ()):
                        if d in tables[name]:
                            shown[name].append((i, d))
    return shown


#: Cells computed from a count, hidden with it when a copy elsewhere is hidden.
_DEPENDENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("no_risk", "n"): ("share", "ci_low", "ci_high"),
    ("no_risk", "count"): ("share", "ci_low", "ci_high"),
    ("boroughs", "n"): ("value", "z", "z_adjusted", "flag", "lower_95", "upper_95", "lower_998", "upper_998"),
    ("boroughs", "count"): ("value", "z", "z_adjusted", "flag"),
    ("casemix", "n"): ("expected", "oe_ratio", "ci_low", "ci_high", "z", "p_value", "p_adjusted", "flag"),
    ("casemix", "observed"): ("expected", "oe_ratio", "ci_low", "ci_high", "z", "p_value", "p_adjusted", "flag"),
    ("band_consistency", "n"): ("share", "ci_low", "ci_high", "amber_from", "red_from", "flag"),
    ("representation", "count"): ("share", "ratio", "ci_low", "ci_high", "flag"),
    ("relative_rate", "count"): ("rate_per_1000", "rate_low", "rate_high", "rri", "ci_low", "ci_high", "p_value",
                                 "p_adjusted", "flag"),
    ("trends", "count"): ("value", "ci_low", "ci_high", "diff_prev", "diff_prev_low", "diff_prev_high",
                          "diff_year", "diff_year_low", "diff_year_high"),
    ("checks", "n"): ("share", "ci_low", "ci_high", "status"),
    ("band_calibration", "n"): ("rate", "ci_low", "ci_high"),
    ("band_calibration", "outcomes"): ("rate", "ci_low", "ci_high"),
}


def _protect(table: pd.DataFrame, spec: TableSpec, threshold: int, rounding: int | None, keep=()):
    t = table.reset_index(drop=True)
    # helper columns named by the spec: _row (each row alone), _g1 and _g2 (the
    # two parts of a cross group "White / 10-17"; empty for one-way groups)
    named = set(spec.by) | {c for s in spec.totals for c in _total_columns(s)}
    added = [c for c in ("_row", "_g1", "_g2") if c in named and c not in t]
    if "_row" in added:
        t = t.assign(_row=np.arange(len(t)))
    if "group" in t and ("_g1" in added or "_g2" in added):
        parts = [str(g).split(" / ") if " / " in str(g) else [None, None] for g in t["group"]]
        t = t.assign(_g1=[p[0] for p in parts], _g2=[p[1] for p in parts])
    derived = dict(spec.derived)
    if not derived and spec is TABLE_SPECS["band_by_group"]:
        derived = _band_by_group_derived(list(table.columns))  # not the helper columns added above
    derived = {k: list(v) for k, v in derived.items() if k in t.columns}
    counts = [c for c in spec.count_cols if c in t.columns]
    bases = [c for c in spec.base_cols if c in t.columns]
    by = [c for c in spec.by if c in t.columns]
    totals = [s for s in spec.totals if all(c in t.columns for c in _total_columns(s))]
    if spec.complements and any(b == LIST_SIZE for _, b in spec.complements) and {"quarter", "borough", "n"} <= set(t):
        n = pd.to_numeric(t["n"], errors="coerce")
        t = t.assign(**{LIST_SIZE: n.groupby([t["quarter"], t["borough"]], dropna=False).transform("max")})
        bases, added = [*bases, LIST_SIZE], [*added, LIST_SIZE]
    pairs = None if spec.complements is None else [p for p in spec.complements if p[0] in counts
                                                     and p[1] in counts + bases]
    try:
        p = protect_table(t, count_cols=counts, base_cols=bases, by=by, derived=derived, totals=totals,
                          complements=pairs, keep=keep, threshold=threshold, rounding=rounding,
                          mode="publication")
        out, dec = p.table, p.decisions
    except DisclosureError:
        out = t.astype(object).copy()
        cols = counts + bases + list(derived)
        for c in cols:
            out[c] = MARKER
        dec = pd.DataFrame([{"row": "all", "column": c, "hidden": True, "rule": "withheld"} for c in cols])
    if len(dec) and "column" in dec:
        dec = dec[~dec["column"].isin(added)].reset_index(drop=True)
    return out.drop(columns=[c for c in added if c in out]), dec


def _total_columns(spec: TotalSpec) -> tuple[str, ...]:
    if isinstance(spec, TotalRow):
        return (spec.column,) + tuple(spec.by or ())
    if isinstance(spec, KnownTotal):
        return tuple(spec.by)
    if isinstance(spec, TotalColumn):
        return tuple(spec.parts) + ((spec.total,) if spec.total else ())
    return ()


def _withhold_if_small(table: pd.DataFrame, threshold: int, by_group: pd.DataFrame | None = None,
                       combined_bys: set[str] | frozenset[str] = frozenset()):
    """Withhold comparison rows built on any count from 1 to threshold − 1, or on a hidden count.

    ``by_group`` is the protected band_by_group table the values were computed
    from: a row comparing a group (or its reference) whose counts are hidden
    there is withheld, as is a summary over a breakdown with any hidden group
    (a rate shown here would give the hidden count back). A group published
    only inside a combined row (``combined_bys``: breakdowns with one) is
    treated as hidden, and so is a summary over such a breakdown.
    """
    t = table.reset_index(drop=True).astype(object)
    count_like = [c for c in t.columns if c in ("n", "count", "reference_n", "positives", "selected")]
    small = np.zeros(len(t), dtype=bool)
    for c in count_like:
        v = pd.to_numeric(t[c], errors="coerce").to_numpy(dtype="float64")
        small |= (v > 0) & (v < threshold)
    if by_group is not None and len(by_group) and {"threshold", "by", "group"} <= set(by_group.columns):
        counts = [c for c in TABLE_SPECS["band_by_group"].count_cols if c in by_group]
        hidden_row = by_group[counts].apply(lambda col: col.map(lambda v: isinstance(v, str) and v == MARKER))
        hidden_row = hidden_row.any(axis=1).to_numpy()
        keys = list(zip(by_group["threshold"], by_group["by"], strict=True))
        hidden_groups = {(k[0], k[1], g) for k, g, h in zip(keys, by_group["group"], hidden_row, strict=True) if h}
        hidden_family = {k for k, h in zip(keys, hidden_row, strict=True) if h}
        shown_groups = {(k[0], k[1], g) for k, g in zip(keys, by_group["group"], strict=True)}
        combined_family = {k for k in keys if any(part in combined_bys for part in str(k[1]).split(" / "))}
        for i in range(len(t)):
            key = (t.at[i, "threshold"], t.at[i, "by"]) if "threshold" in t and "by" in t else None
            if key is None:
                continue
            if "group" in t:
                names = [t.at[i, "group"]] + ([t.at[i, "reference"]] if "reference" in t else [])
                small[i] |= any((key[0], key[1], g) in hidden_groups for g in names)
                small[i] |= any((key[0], key[1], g) not in shown_groups for g in names)
            else:
                small[i] |= key in hidden_family or key in combined_family
    value_cols = [c for c in t.columns if c not in ("threshold", "by", "group", "reference", "metric", "note",
                                                     "n_groups", "groups_excluded")]
    dec = []
    for i in np.flatnonzero(small):
        for c in value_cols:
            t.at[i, c] = MARKER
            dec.append({"row": i, "column": c, "hidden": True, "rule": "derived"})
    return t, pd.DataFrame(dec, columns=["row", "column", "hidden", "rule"])


def _hide_when_reference_hidden(t: pd.DataFrame):
    t = t.copy()
    dec = []
    cols = ["rri", "ci_low", "ci_high", "p_value", "p_adjusted", "flag"]
    for _bench, idx in t.groupby("benchmark", sort=False).groups.items():
        rows = t.loc[idx]
        ref = rows[rows["group"] == rows["reference"]]
        if len(ref) and ref["count"].iloc[0] == MARKER:
            for i in idx:
                if t.at[i, "group"] == t.at[i, "reference"]:
                    continue
                for c in cols:
                    if t.at[i, c] != MARKER:
                        t[c] = t[c].astype(object)
                        t.at[i, c] = MARKER
                        dec.append({"row": i, "column": c, "hidden": True, "rule": "derived"})
    return t, pd.DataFrame(dec, columns=["row", "column", "hidden", "rule"])


def _hide_rolling(t: pd.DataFrame, threshold: int = 10):
    """Hide a metric's rolling four-quarter values where they could reveal a small count.

    Consecutive rolling sums differ by one quarter in and one out, so if any
    quarter of the metric is hidden, or a rolling count or base is itself
    below the threshold, every rolling value of that metric is hidden.
    """
    t = t.copy()
    dec = []
    cols = ["rolling_count", "rolling_n", "rolling_value", "rolling_low", "rolling_high"]

    def small(values: pd.Series) -> bool:
        v = pd.to_numeric(values, errors="coerce").to_numpy(dtype="float64")
        return bool(((v > 0) & (v < threshold)).any())

    for _metric, idx in t.groupby("metric", sort=False).groups.items():
        if (t.loc[idx, "count"] == MARKER).any() or small(t.loc[idx, "rolling_count"]) \
                or small(t.loc[idx, "rolling_n"]):
            for c in cols:
                t[c] = t[c].astype(object)
                t.loc[idx, c] = MARKER
            dec += [{"row": i, "column": c, "hidden": True, "rule": "derived"} for i in idx for c in cols]
    return t, pd.DataFrame(dec, columns=["row", "column", "hidden", "rule"])


def _hide_like_sources(t: pd.DataFrame, relative: pd.DataFrame | None, representation: pd.DataFrame | None):
    """Benchmark sensitivity repeats each ratio of the relative-rate and representation tables.

    A ratio hidden there (e.g. a rate ratio hidden because the reference
    group's count is) is hidden here too, with its interval.
    """
    t = t.copy()
    dec = []
    sources = {"relative rate index": (relative, "rri"), "representation ratio": (representation, "ratio")}
    for measure, (source, column) in sources.items():
        if source is None or len(source) == 0 or column not in source:
            continue
        hidden = {(b, g) for b, g, v in zip(source["benchmark"], source["group"], source[column], strict=True)
                  if isinstance(v, str) and v == MARKER}
        for i in t.index[t["measure"] == measure]:
            if (t.at[i, "benchmark"], t.at[i, "group"]) not in hidden:
                continue
            for c in ("value", "ci_low", "ci_high"):
                if c in t and not (isinstance(t.at[i, c], str) and t.at[i, c] == MARKER):
                    t[c] = t[c].astype(object)
                    t.at[i, c] = MARKER
                    dec.append({"row": i, "column": c, "hidden": True, "rule": "derived"})
    return t, pd.DataFrame(dec, columns=["row", "column", "hidden", "rule"])


def _hide_differences(t: pd.DataFrame):
    """Hide a change from an earlier quarter whose count or list size is hidden."""
    t = t.copy()
    dec = []
    steps = (("diff_prev", 1), ("diff_year", 4))
    for _, idx in t.groupby("metric", sort=False).groups.items():
        rows = {t.at[i, "quarter"]: i for i in idx}
        for i in idx:
            for name, k in steps:
                earlier = rows.get(quarter_before(str(t.at[i, "quarter"]), k))
                if earlier is None or not any(
                        isinstance(t.at[earlier, c], str) and t.at[earlier, c] == MARKER for c in ("count", "n")):
                    continue
                for c in (name, f"{name}_low", f"{name}_high"):
                    if c in t and not (isinstance(t.at[i, c], str) and t.at[i, c] == MARKER):
                        t[c] = t[c].astype(object)
                        t.at[i, c] = MARKER
                        dec.append({"row": i, "column": c, "hidden": True, "rule": "derived"})
    return t, pd.DataFrame(dec, columns=["row", "column", "hidden", "rule"])


def _sentences(rel: pd.DataFrame, builder, where=None) -> pd.DataFrame:
    """Sentences from the protected relative rates: a hidden ratio is said to be suppressed.

    ``where`` (:func:`fairness.results.sentences.place` of the audit) names the place; default London.
    """
    hidden = rel["rri"].astype(object).eq(MARKER) if len(rel) else pd.Series(dtype=bool)
    shown = rel[~hidden].copy()
    for c in ("rri", "ci_low", "ci_high"):
        shown[c] = pd.to_numeric(shown[c], errors="coerce")
    from fairness.results.sentences import place

    out = builder(shown) if where is None or where == place() else builder(shown, where=where)
    people = (where or place()).people
    rows = [
        {"benchmark": r.benchmark, "group": r.group,
         # not "fewer than 10 people": a ratio is also hidden when its count is hidden only to
         # protect another (secondary suppression), and saying which is which would tell
         "sentence": f"The rate for {r.group} {people} relative to {r.reference} {people} is suppressed "
                     f"(it rests on a small count, or on one that would reveal a small count; "
                     f"benchmark: {r.benchmark_label})."}
        for r in rel[hidden].itertuples(index=False) if r.group not in (r.reference, "Not stated")
    ]
    return pd.concat([out, pd.DataFrame(rows, columns=["benchmark", "group", "sentence"])], ignore_index=True)


# ------------------------------------------------------------------ what suppression cost
#: The column of each table that counts the people a row is about.
PEOPLE_COLUMN: dict[str, str] = {
    "representation": "count", "relative_rate": "count", "sensitivity": "count", "no_risk": "n",
    "no_risk_duration": "count", "boroughs": "n", "casemix": "n", "band_consistency": "n", "trends": "count",
    "checks": "n", "sharing_by_partner": "n", "band_by_group": "n", "band_calibration": "n",
    "quarantine_reasons": "rows",
}
#: Columns of :func:`suppression_summary`.
SUPPRESSION_COLUMNS: tuple[str, ...] = ("table", "cells", "cells_hidden", "cells_hidden_share", "people",
                                        "people_hidden", "people_hidden_share")
#: Bands in which a published summary gives the share of people behind hidden
#: cells (an exact share times the table's people would give back a hidden sum).
PEOPLE_BANDS: tuple[tuple[float, str], ...] = (
    (0.0, "0%"), (0.01, "under 1%"), (0.05, "1% to 5%"), (0.10, "5% to 10%"), (0.25, "10% to 25%"),
    (0.50, "25% to 50%"), (float("inf"), "50% or more"),
)


def _people_band(share: float) -> str:
    if not share > 0:
        return PEOPLE_BANDS[0][1]
    for upper, label in PEOPLE_BANDS[1:]:
        if share < upper:
            return label
    return PEOPLE_BANDS[-1][1]  # pragma: no cover


def suppression_summary(internal: AuditResult, published: AuditResult, *,
                        published_form: bool = False) -> pd.DataFrame:
    """Per table: the share of cells hidden and the share of people in rows with a hidden cell.

    ``cells``: the numbers of the table (count, base and derived columns);
    ``cells_hidden``: how many show ``[c]``. ``people``: the sum of the table's
    people column (:data:`PEOPLE_COLUMN`) over its rows; ``people_hidden``:
    the same over rows with any hidden cell. With ``published_form=True`` (the form
    stored on a published result and in ``metrics.json``) the people counts are
    left out and their share is given as a band (:data:`PEOPLE_BANDS`).
    """
    params = getattr(published, "parameters", None) or {}
    bands = getattr(internal, "band_by_group", None)
    if params.get("combined_groups") and isinstance(bands, pd.DataFrame) \
            and len(bands) != len(getattr(published, "band_by_group", bands)):
        # the publication combined small groups: compare with the internal tables combined the same way
        bbg, cal, _ = combine_small_groups(internal, threshold=int(params.get("disclosure_threshold", 10)))
        internal = dataclasses.replace(internal, band_by_group=bbg, band_calibration=cal)
    labels = {str(c.get("label")) for c in params.get("combined_areas") or ()}
    if labels and not any(isinstance(t, pd.DataFrame) and "borough" in t and t["borough"].astype(str).isin(labels).any()
                          for t in (getattr(internal, n, None) for n in ("boroughs", "band_consistency", "checks"))):
        # the same for small areas published together ("Other boroughs (k)"), unless already done
        areas, _ = combine_small_areas(internal, threshold=int(params.get("disclosure_threshold", 10)))
        internal = dataclasses.replace(internal, **areas)
    return _suppression_rows(internal, published, published_form=published_form)


def _suppression_rows(internal: AuditResult, published: AuditResult, *, published_form: bool) -> pd.DataFrame:
    """:func:`suppression_summary` of an internal result whose small groups and areas are already combined
    as in ``published`` (:func:`protect_audit` passes the tables it protected, so nothing is combined twice)."""
    as_published = published_form
    rows = []
    for name, spec in TABLE_SPECS.items():
        before, after = getattr(internal, name, None), getattr(published, name, None)
        if not isinstance(before, pd.DataFrame) or not isinstance(after, pd.DataFrame) or len(before) == 0:
            continue
        before, after = before.reset_index(drop=True), after.reset_index(drop=True)
        derived = spec.derived or (_band_by_group_derived(list(before.columns)) if name == "band_by_group" else {})
        cols = [c for c in dict.fromkeys((*spec.count_cols, *spec.base_cols, *derived)) if c in before and c in after]
        if not cols:
            continue
        present = before[cols].notna().to_numpy()
        marked = after[cols].map(_is_marker).to_numpy()
        row_hidden = marked.any(axis=1)
        people_col = PEOPLE_COLUMN.get(name, cols[0])
        people = pd.to_numeric(before[people_col], errors="coerce").fillna(0).to_numpy(dtype=float)
        if name == "boroughs" and "metric" in before:  # a rate's n is the borough's residents: count people listed
            rate = (before["metric"] == "rate_per_1000").to_numpy()
            people = np.where(rate, pd.to_numeric(before["count"], errors="coerce").fillna(0), people)
        total, hidden_people = float(people.sum()), float(people[row_hidden].sum())
        cells, hidden_cells = int((present | marked).sum()), int(marked.sum())
        share = hidden_people / total if total else 0.0
        rows.append({
            "table": name, "cells": cells, "cells_hidden": hidden_cells,
            "cells_hidden_share": round(hidden_cells / cells, 4) if cells else 0.0,
            "people": int(total), "people_hidden": int(hidden_people),
            "people_hidden_share": _people_band(share) if as_published else round(share, 4),
        })
    out = pd.DataFrame(rows, columns=list(SUPPRESSION_COLUMNS))
    if as_published:
        out = out.drop(columns=["people", "people_hidden"])
    return out


# ------------------------------------------------------------------ for the report's words
def hidden_rows(table: pd.DataFrame, *, label: str = "borough", value: str = "value", **where) -> list[str]:
    """The labels of rows whose ``value`` is hidden (``[c]``), e.g. the boroughs a funnel cannot show.

    ``where`` selects rows first (``metric="no_risk_share"``). For a note
    under a chart: the list goes there, not on the axis.
    """
    t = table
    for k, v in where.items():
        if k in t:
            t = t[t[k] == v]
    if not len(t) or value not in t or label not in t:
        return []
    return [str(x) for x, v in zip(t[label], t[value], strict=True) if _is_marker(v)]


def withheld_sentence(table: pd.DataFrame, what: str, *, columns=None) -> str | None:
    """One sentence for a table or chart that suppression empties, else None.

    ``what`` names it ("The no-risk share by borough"); ``columns`` are the
    values that would be shown (default: every column holding a hidden cell).
    """
    if table is None or not len(table):
        return None
    marked = table.map(_is_marker)
    cols = [c for c in (columns or table.columns) if c in table]
    cols = [c for c in cols if marked[c].any()] if columns is None else cols
    if not cols:
        return None
    values = table[cols]
    shown = values.map(lambda v: not _is_marker(v) and not (isinstance(v, float) and np.isnan(v)) and v is not None)
    if shown.to_numpy().any():
        return None
    return (f"{what} is withheld: every figure in it rests on a count below the suppression threshold, "
            "or on one that would reveal such a count.")


# ------------------------------------------------------------------ combining small groups
#: Band-performance rates and the counts each is calculated from (one definition, in fairness.stats.bands).
_BAND_COUNTS = ("n", "positives", "selected", "tp", "fp", "tn", "fn")
#: Why a combination is made, in the words the output uses.
COMBINED_WHY = ("{parts} are published together as {label!r} ({by}): {small} holds a count below {threshold}, "
                "and suppressing it alone would hide the figures of a group of {save} people or more")


def _combined_name(group: str, components: list[str], mapping: dict[str, dict[str, str]]) -> str:
    parts = str(group).split(" / ")
    if len(parts) != len(components):
        return str(group)
    return " / ".join(mapping.get(c, {}).get(p, p) for c, p in zip(components, parts, strict=True))


def _aggregate(t: pd.DataFrame, keys: list[str], counts: tuple[str, ...], rates: dict[str, tuple[str, str]],
               new_group: list[str], alpha: float, note: dict[str, str]) -> pd.DataFrame:
    """Rows of ``t`` with the same ``keys`` and new group summed; rates recomputed where rows were merged."""
    t = t.reset_index(drop=True).assign(_new=new_group)
    rows = []
    for _k, idx in t.groupby([*keys, "_new"], sort=False, dropna=False).groups.items():
        first = t.loc[idx[0]].copy()
        if len(idx) == 1 and first["_new"] == first["group"]:
            rows.append(first)
            continue
        for c in counts:
            first[c] = int(t.loc[idx, c].sum())
        vals = {c: first[c] for c in counts}
        vals["negatives"] = vals.get("fp", 0) + vals.get("tn", 0)
        for metric, (num, den) in rates.items():
            if metric not in t:
                continue
            x, d = vals[num], vals[den]
            first[metric] = x / d if d > 0 else np.nan
            low_col, high_col = (f"{metric}_low", f"{metric}_high") if metric != "rate" else ("ci_low", "ci_high")
            if low_col in t:
                first[low_col], first[high_col] = _wilson(x, d, alpha)
        first["group"] = first["_new"]
        if "note" in t:
            first["note"] = note.get(str(first["_new"]), "")
        rows.append(first)
    out = pd.DataFrame(rows).drop(columns="_new").reset_index(drop=True)
    for c in counts:
        if c in out:
            out[c] = out[c].astype("int64")
    return out


def _large_losses(before: pd.DataFrame, after: pd.DataFrame, threshold: int, save: int) -> int:
    """Rows of a group of ``save``+ people whose rates are hidden though none of its own counts is small."""
    rates = [c for c in after.columns if c.removesuffix("_low").removesuffix("_high") in RATE_PARTS]
    lost = 0
    for i in range(len(before)):
        counts = [float(before.iloc[i][c]) for c in _BAND_COUNTS if c in before]
        if float(before.iloc[i]["n"]) < save or any(0 < v < threshold for v in counts):
            continue
        lost += any(_is_marker(after.iloc[i][c]) for c in rates)
    return lost


def combine_small_groups(res: AuditResult, *, threshold: int = 10, save: int | None = None
                         ) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    """Combine small groups of the band tables before suppression (issue 12).

    For each one-way breakdown of ``band_by_group`` (``age_band``,
    ``ethnicity`` …), each declared combination
    (:data:`fairness.definitions.GROUP_COMBINATIONS`) one of whose parts holds
    a count from 1 to ``threshold - 1`` is tried: it is kept if it leaves
    fewer rows of groups of ``save`` (default
    :data:`~fairness.definitions.COMBINE_TO_SAVE`) people or more with rates
    hidden although none of their own counts is small. A kept combination
    replaces its parts at every threshold of the breakdown, in the cross
    breakdowns that include it ("White / 25 and over"), and in
    ``band_calibration``, so that no table shows a part beside the combined
    row. Rates and their Wilson intervals are recomputed from the summed
    counts at the audit's ``alpha``.

    Returns the new ``band_by_group`` and ``band_calibration`` and a list of
    the combinations made (``by, group, parts, why``).
    """
    from fairness.definitions import COMBINE_TO_SAVE, GROUP_COMBINATIONS

    save = COMBINE_TO_SAVE if save is None else save
    alpha = float((res.parameters or {}).get("alpha", 0.05))
    bbg, cal = res.band_by_group, res.band_calibration
    if not isinstance(bbg, pd.DataFrame) or not len(bbg) or not {"threshold", "by", "group"} <= set(bbg.columns):
        return bbg, cal, []
    bbg = bbg.reset_index(drop=True)
    spec = TABLE_SPECS["band_by_group"]
    counts = tuple(c for c in _BAND_COUNTS if c in bbg)
    made: list[dict] = []
    mapping: dict[str, dict[str, str]] = {}
    for by in [b for b in dict.fromkeys(bbg["by"]) if " / " not in str(b)]:
        family = bbg[bbg["by"] == by].reset_index(drop=True)
        protected, _ = _protect(family, spec, threshold, None)
        lost = _large_losses(family, protected, threshold, save)
        for combo in GROUP_COMBINATIONS:
            if combo.by != by or not lost:
                continue
            groups = set(family["group"].astype(str))
            if not set(combo.parts) <= groups:
                continue
            is_part = family["group"].astype(str).isin(combo.parts)
            v = family.loc[is_part, list(counts)].to_numpy(dtype=float)
            small = sorted({str(g) for g, row in zip(family.loc[is_part, "group"], v, strict=True)
                            if ((row > 0) & (row < threshold)).any()})
            if not small:
                continue
            trial_map = {**mapping.get(by, {}), **{p: combo.label for p in combo.parts}}
            why = COMBINED_WHY.format(parts=" and ".join(combo.parts), label=combo.label, by=by,
                                      small=" and ".join(small), threshold=threshold, save=save)
            note = {combo.label: f"combined: {' and '.join(combo.parts)}"}
            trial = _aggregate(family, ["threshold", "by"], counts, RATE_PARTS,
                               [trial_map.get(str(g), str(g)) for g in family["group"]], alpha, note)
            t_protected, _ = _protect(trial, spec, threshold, None)
            t_lost = _large_losses(trial, t_protected, threshold, save)
            if t_lost < lost:
                mapping[by] = trial_map
                family, lost = trial, t_lost
                made.append({"by": by, "group": combo.label, "parts": list(combo.parts), "why": why})
    if not made:
        return bbg, cal, []
    notes = {m["group"]: f"combined: {' and '.join(m['parts'])}" for m in made}

    def renamed(t: pd.DataFrame) -> list[str]:
        return [_combined_name(g, str(b).split(" / "), mapping) for g, b in zip(t["group"], t["by"], strict=True)]

    def cross_note(t: pd.DataFrame) -> dict[str, str]:
        out = {}
        for g, b in zip(t["group"], t["by"], strict=True):
            new = _combined_name(g, str(b).split(" / "), mapping)
            if new != g:
                out[new] = "combined: " + "; ".join(notes[p].removeprefix("combined: ")
                                                    for p in new.split(" / ") if p in notes)
        return out

    bbg = _aggregate(bbg, ["threshold", "by"], counts, RATE_PARTS, renamed(bbg), alpha, cross_note(bbg))
    if isinstance(cal, pd.DataFrame) and len(cal) and {"by", "group", "risk_band"} <= set(cal.columns):
        cal = cal.reset_index(drop=True)
        new = renamed(cal)
        # rows come out in the order of their first part: group by group, bands in order
        cal = _aggregate(cal, ["by", "risk_band"], ("n", "outcomes"), {"rate": ("outcomes", "n")}, new, alpha,
                         cross_note(cal))
    return bbg, cal, made


#: Band-performance figures in words, for :func:`withheld_figures_sentences`.
BAND_FIGURE_WORDS: dict[str, str] = {
    "selection_rate": "selection rate", "fpr": "false positive rate", "fnr": "false negative rate",
    "precision": "precision", "base_rate": "rate of later violence",
}
WITHHELD_FIGURES = (
    "{where}, the {figures} {verb} withheld for the {groups} {noun}: {pronoun} on a count below "
    "{threshold}, or on one that would reveal such a count."
)


def _words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def withheld_figures_sentences(table: pd.DataFrame, *, by: str = "ethnicity", threshold: int = 10,
                               figures: tuple[str, ...] = ("fpr", "precision")) -> list[str]:
    """Sentences saying which band-performance figures are withheld, for whom, and why.

    ``table`` is a published ``band_by_group``; one sentence per threshold
    and set of withheld figures (``figures``: columns of the table, with
    their intervals), naming the groups of breakdown ``by`` concerned. A group
    large enough to publish can still lose a figure when one of its own
    counts is small: at the Red threshold White has fewer than 10 false
    positives in the default history, so its false positive rate and
    precision are withheld there. Empty when nothing is withheld.
    """
    if table is None or not len(table) or not {"threshold", "by", "group"} <= set(table.columns):
        return []
    out = []
    rows = table[table["by"] == by]
    for name, sub in rows.groupby("threshold", sort=False):
        lost: dict[tuple[str, ...], list[str]] = {}
        for _, r in sub.iterrows():
            gone = tuple(f for f in figures if f in r and any(
                _is_marker(r.get(c)) for c in (f, f"{f}_low", f"{f}_high") if c in r))
            if gone:
                lost.setdefault(gone, []).append(str(r["group"]))
        band = " or ".join(w.capitalize() for w in str(name).split("_"))
        for gone, groups in lost.items():
            out.append(WITHHELD_FIGURES.format(
                where=f"At the {band} threshold", figures=_words([BAND_FIGURE_WORDS.get(f, f) for f in gone]),
                groups=_words(groups), verb="is" if len(gone) == 1 else "are",
                noun="group" if len(groups) == 1 else "groups",
                pronoun="it rests" if len(gone) == 1 else "each rests", threshold=threshold))
    return out


# ------------------------------------------------------------------ combining small areas
#: Why areas are combined, in the words the output uses.
COMBINED_AREAS_WHY = ("{names} are published together as {label!r} ({what}): each of their own figures "
                      "would be suppressed (a count below {threshold}, or one that would reveal such a count)")
#: The same, for several tables that combine the same areas (the disclosure note).
COMBINED_AREAS_NOTE = ("{names} are published together as {label!r} in {what}: each of their own figures "
                       "would be suppressed (a count below {threshold}, or one that would reveal such a count); "
                       "the combined row is shown in the tables but not drawn as a point of a funnel plot, as a "
                       "group of {areas} is not one {area} that can be compared with {place}")
#: What each per-area table is called in the disclosure note.
_AREA_TABLE_WORDS: dict[str, str] = {
    "boroughs": "the {metric} by {area}", "casemix": "the case-mix adjusted {metric} by {area}",
    "band_consistency": "band consistency by {area}", "checks": "the check {check} by {area}, {quarter}",
    "no_risk": "the {metric} by {area}",
}
#: The per-area metrics in the disclosure note's words.
_AREA_METRIC_WORDS: dict[str, str] = {"no_risk_share": "no-risk share", "black_share": "{share_group} share",
                                      "green_share": "Green-band share", "rate_per_1000": "rate per 1,000 residents"}


def other_areas_label(k: int, parameters: object = None) -> str:
    """The label of a row of ``k`` small areas published together: "Other boroughs (3)", or under
    another profile its plural area word ("Other police force areas (2)")."""
    from fairness.definitions import OTHER_AREAS
    from fairness.results.sentences import place

    return OTHER_AREAS.format(areas=place(parameters).areas, k=int(k))


def _hidden_areas(table: pd.DataFrame, spec: TableSpec, threshold: int, counts: tuple[str, ...]) -> list[str]:
    """The areas (``borough``) of ``table`` that protection alone would hide (any of ``counts``)."""
    t = table.reset_index(drop=True)
    if not len(t):
        return []
    protected, _ = _protect(t, spec, threshold, None)
    cols = [c for c in counts if c in protected]
    mask = protected[cols].map(_is_marker).any(axis=1).to_numpy()
    return [str(b) for b, m in zip(t["borough"], mask, strict=True) if m]


def _others_counted(table: pd.DataFrame, areas: list[str], column: str) -> bool:
    """Whether an area outside ``areas`` counts anyone (``column`` above 0). If none does, the combined
    row would be the whole place again: nothing is saved, and the areas stay as they are."""
    rest = table[~table["borough"].astype(str).isin(areas)]
    return bool((pd.to_numeric(rest[column], errors="coerce") > 0).any())


def _label_hidden(table: pd.DataFrame, spec: TableSpec, threshold: int, counts: tuple[str, ...], label: str,
                  column: str = "borough") -> bool:
    """Whether protection would still hide a count of the combined row ``label`` of ``table``."""
    t = table.reset_index(drop=True)
    protected, _ = _protect(t, spec, threshold, None)
    cols = [c for c in counts if c in protected]
    rows = (t[column].astype(str) == label).to_numpy()
    return bool(protected.loc[rows, cols].map(_is_marker).to_numpy().any())


def _wilson(count: float, n: float, alpha: float) -> tuple[float, float]:
    from fairness.stats.intervals import confint_proportion

    lo, hi = confint_proportion(np.array([count]), np.array([n]), alpha=alpha, method="wilson")
    return float(lo[0]), float(hi[0])


def _funnel_combined(sub: pd.DataFrame, metric: str, areas: list[str], label: str):
    """One metric's funnel rebuilt with ``areas`` as one unit ``label`` (last): rows, φ/τ² record, limit
    curves and heterogeneity test, all computed from the areas shown plus the combined row."""
    from fairness.definitions import COMBINED_FLAG
    from fairness.stats.boroughs import funnel_from_counts, heterogeneity_from_counts

    sub = sub.reset_index(drop=True)
    part = sub["borough"].astype(str).isin(areas).to_numpy()
    kept = sub.loc[~part, ["borough", "count", "n"]]
    joined = pd.DataFrame({"borough": [label], "count": [int(pd.to_numeric(sub.loc[part, "count"]).sum())],
                           "n": [pd.to_numeric(sub.loc[part, "n"]).sum()]})
    counts = pd.concat([kept, joined], ignore_index=True)
    # the areas the audit treated as covered (a rate's area without rows and not covered is "no data")
    no_data = (sub["flag"].astype(str) == "not_estimable").to_numpy() & (pd.to_numeric(sub["count"]) == 0).to_numpy()
    covers = [str(b) for b, nd in zip(sub["borough"], no_data, strict=True) if not nd and str(b) not in areas]
    covers.append(label)
    rows, disp, limits = funnel_from_counts({metric: counts}, covers=covers)
    het = heterogeneity_from_counts({metric: counts}, covers=covers)
    last = len(rows) - 1
    rows = rows.astype({c: "float64" for c in ("z", "z_adjusted", "lower_95", "upper_95", "lower_998", "upper_998")
                        if c in rows})
    for c in ("z", "z_adjusted", "lower_95", "upper_95", "lower_998", "upper_998"):
        if c in rows:
            rows.at[last, c] = np.nan
    rows["flag"] = rows["flag"].astype(object)
    rows.at[last, "flag"] = COMBINED_FLAG
    return rows, disp, limits, het


def combine_small_areas(res: AuditResult, *, threshold: int = 10) -> tuple[dict[str, pd.DataFrame], list[dict]]:
    """Combine the areas whose own figures would be suppressed into one named row (issue 12).

    As official statistics publish small areas together, in every per-area
    table (each metric of ``boroughs`` with its funnel, φ, τ² and
    heterogeneity test; ``casemix``; ``band_consistency``; each check and
    quarter of ``checks``) the areas that protection alone would hide (a
    count below ``threshold``, or one hidden to protect it) are replaced by
    one row, "Other boroughs (k)" (under another profile its plural area
    word, :func:`other_areas_label`), when there are two or more of them.
    Its counts are the sums of theirs and its rate and Wilson interval are
    recomputed from them. The funnel's centre, φ, τ², limits and the
    heterogeneity test are recomputed from the areas shown plus the combined
    row, so no model summary rests on a hidden area; the combined row is in
    the tables but is not compared with the limits (flag
    :data:`~fairness.definitions.COMBINED_FLAG`: a group of areas is not an
    area). The case-mix model's likelihood-ratio test, which needs the
    records, cannot be recomputed and is withheld where its table combines
    areas; the case-mix p-values of the areas shown are adjusted for multiple
    comparisons over those areas (the family published). A combined row that is itself small is suppressed afterwards as
    any row is. The no-risk funnel and the case-mix table combine the same
    areas (they publish the same counts).

    Returns the changed tables (by field name) and the combinations made
    (``table, metric / check, quarter, label, areas, why``).
    """
    from fairness.definitions import COMBINED_FLAG
    from fairness.results.sentences import place

    where = place(res)
    alpha = float((res.parameters or {}).get("alpha", 0.05))
    changes: dict[str, pd.DataFrame] = {}
    made: list[dict] = []

    def note(table: str, label: str, areas: list[str], **key) -> None:
        metric = str(key.get("metric", ""))
        words = where.fill(_AREA_METRIC_WORDS.get(metric, metric.replace("_", " ")))
        what = _AREA_TABLE_WORDS[table].format(metric=words,
                                              area=where.area, check=key.get("check", ""),
                                              quarter=key.get("quarter", ""))
        why = COMBINED_AREAS_WHY.format(names=_words(areas), label=label, what=what, threshold=threshold)
        made.append({"table": table, **key, "label": label, "areas": list(areas), "why": why, "what": what})

    boroughs = getattr(res, "boroughs", None)
    casemix = getattr(res, "casemix", None)
    no_risk = getattr(res, "no_risk", None)
    # the no-risk share by area in the no_risk table publishes the funnel's counts again: same areas
    by_area = (no_risk[no_risk["by"] == "borough"] if isinstance(no_risk, pd.DataFrame) and len(no_risk)
               and {"by", "group", "count", "n"} <= set(no_risk) else pd.DataFrame())
    plans: dict[str, list[str]] = {}
    if isinstance(boroughs, pd.DataFrame) and len(boroughs) and {"metric", "borough", "count", "n"} <= set(boroughs):
        for metric in dict.fromkeys(boroughs["metric"]):
            sub = boroughs[boroughs["metric"] == metric]
            areas = set(_hidden_areas(sub, TABLE_SPECS["boroughs"], threshold, ("count", "n")))
            if isinstance(casemix, pd.DataFrame) and len(casemix) and "metric" in casemix:
                cm = casemix[casemix["metric"] == metric]
                areas |= set(_hidden_areas(cm, TABLE_SPECS["casemix"], threshold, ("observed", "n")))
            if metric == "no_risk_share" and len(by_area):
                areas |= set(_hidden_areas(by_area.rename(columns={"group": "borough"}), TABLE_SPECS["no_risk"],
                                           threshold, ("count", "n")))
            ordered = [str(b) for b in sub["borough"] if str(b) in areas]
            if len(ordered) < 2 or not _others_counted(sub, ordered, "count" if metric == "rate_per_1000" else "n"):
                continue
            # combined, is the row itself still small? Then the areas stay as they are, each suppressed
            label = other_areas_label(len(ordered), res)
            part = sub["borough"].astype(str).isin(ordered).to_numpy()
            trial = pd.concat([sub.loc[~part, ["metric", "borough", "count", "n"]], pd.DataFrame(
                {"metric": [metric], "borough": [label], "count": [pd.to_numeric(sub.loc[part, "count"]).sum()],
                 "n": [pd.to_numeric(sub.loc[part, "n"]).sum()]})], ignore_index=True)
            if not _label_hidden(trial, TABLE_SPECS["boroughs"], threshold, ("count", "n"), label):
                plans[str(metric)] = ordered
    if plans:
        b_rows, disp, limits, het = [], res.overdispersion, res.funnel_limits, res.heterogeneity
        disp, limits, het = (t.reset_index(drop=True) if isinstance(t, pd.DataFrame) else t for t in (disp, limits, het))
        new_limits = []
        for metric in dict.fromkeys(boroughs["metric"]):
            sub = boroughs[boroughs["metric"] == metric]
            areas = plans.get(str(metric))
            if not areas:
                b_rows.append(sub)
                if isinstance(limits, pd.DataFrame) and len(limits):
                    new_limits.append(limits[limits["metric"] == metric])
                continue
            label = other_areas_label(len(areas), res)
            rows, d, lim, h = _funnel_combined(sub, str(metric), areas, label)
            b_rows.append(rows[list(sub.columns)])
            new_limits.append(lim)
            if isinstance(disp, pd.DataFrame) and len(disp):
                i = disp.index[disp["metric"] == metric]
                for c in d.columns:
                    if c in disp:
                        disp[c] = disp[c].astype(object) if disp[c].dtype != d[c].dtype else disp[c]
                        disp.loc[i, c] = d[c].iloc[0]
            if isinstance(het, pd.DataFrame) and len(het):
                i = het.index[het["metric"] == metric]
                for c in h.columns:
                    if c in het:
                        het.loc[i, c] = h[c].iloc[0]
            note("boroughs", label, areas, metric=str(metric))
        changes["boroughs"] = pd.concat(b_rows, ignore_index=True)
        if isinstance(disp, pd.DataFrame):
            changes["overdispersion"] = disp.infer_objects()
        if new_limits:
            changes["funnel_limits"] = pd.concat(new_limits, ignore_index=True)
        if isinstance(het, pd.DataFrame):
            changes["heterogeneity"] = het
    if isinstance(casemix, pd.DataFrame) and len(casemix) and "metric" in casemix \
            and any(m in plans for m in casemix["metric"]):
        parts = []
        for metric in dict.fromkeys(casemix["metric"]):
            sub = casemix[casemix["metric"] == metric].reset_index(drop=True)
            areas = plans.get(str(metric))
            if not areas:
                parts.append(sub)
                continue
            part = sub["borough"].astype(str).isin(areas).to_numpy()
            row = {c: np.nan for c in sub.columns}
            o, e = int(pd.to_numeric(sub.loc[part, "observed"]).sum()), float(pd.to_numeric(sub.loc[part, "expected"]).sum())
            row.update(metric=metric, borough=other_areas_label(len(areas), res), observed=o, expected=e,
                       n=int(pd.to_numeric(sub.loc[part, "n"]).sum()), oe_ratio=o / e if e > 0 else np.nan,
                       flag=COMBINED_FLAG)
            kept = sub.loc[~part].copy()
            if {"p_value", "p_adjusted", "z", "flag"} <= set(kept.columns):
                # the multiple-comparison adjustment over the areas shown only (the family is what is published)
                from fairness.stats.boroughs import casemix_flags

                kept["p_adjusted"], kept["flag"] = casemix_flags(
                    pd.to_numeric(kept["p_value"], errors="coerce").to_numpy(dtype="float64"),
                    pd.to_numeric(kept["z"], errors="coerce").to_numpy(dtype="float64"),
                    alpha=alpha, adjust=str(res.parameters.get("adjust", "holm")))
            parts.append(pd.concat([kept, pd.DataFrame([row], columns=sub.columns)], ignore_index=True))
            note("casemix", row["borough"], areas, metric=str(metric))
        changes["casemix"] = pd.concat(parts, ignore_index=True)
        test = getattr(res, "casemix_test", None)
        if isinstance(test, pd.DataFrame) and len(test):
            test = test.reset_index(drop=True).copy()
            for c in ("lr_statistic", "p_value"):
                if c in test:
                    test[c] = np.nan
            changes["casemix_test"] = test
    if "no_risk_share" in plans and len(by_area):
        areas = plans["no_risk_share"]
        t = no_risk.reset_index(drop=True)
        part = ((t["by"] == "borough") & t["group"].astype(str).isin(areas)).to_numpy()
        if part.any():
            first = t.loc[part].iloc[0].to_dict()
            c, n = int(pd.to_numeric(t.loc[part, "count"]).sum()), int(pd.to_numeric(t.loc[part, "n"]).sum())
            lo, hi = _wilson(c, n, alpha)
            row = {**first, "group": other_areas_label(len(areas), res), "count": c, "n": n,
                   "share": c / n if n else np.nan, "ci_low": lo, "ci_high": hi}
            if "note" in row:
                row["note"] = ""
            at = int(np.flatnonzero(part)[-1])  # after the last of the by-area rows it replaces
            last = int(np.flatnonzero((t["by"] == "borough").to_numpy())[-1])
            keep = t.loc[~part]
            before = keep.loc[keep.index <= max(at, last)]
            after = keep.loc[keep.index > max(at, last)]
            changes["no_risk"] = pd.concat([before, pd.DataFrame([row], columns=t.columns), after],
                                           ignore_index=True).astype({"count": t["count"].dtype, "n": t["n"].dtype})
            note("no_risk", row["group"], areas, metric="no_risk_share")
    consistency = getattr(res, "band_consistency", None)
    if isinstance(consistency, pd.DataFrame) and len(consistency) and {"borough", "n", "disagree"} <= set(consistency):
        t = consistency.reset_index(drop=True)
        areas = _hidden_areas(t, TABLE_SPECS["band_consistency"], threshold, ("disagree", "n"))
        if len(areas) >= 2 and _others_counted(t, areas, "n"):
            part = t["borough"].astype(str).isin(areas).to_numpy()
            n, d = int(t.loc[part, "n"].sum()), int(t.loc[part, "disagree"].sum())
            row = {c: t.loc[part, c].iloc[0] if c.startswith("london_") else np.nan for c in t.columns}
            lo, hi = _wilson(d, n, alpha)
            row.update(borough=other_areas_label(len(areas), res), n=n, disagree=d, share=d / n if n else np.nan,
                       ci_low=lo, ci_high=hi, flag=COMBINED_FLAG)
            joined = pd.concat([t.loc[~part], pd.DataFrame([row], columns=t.columns)], ignore_index=True)
            if not _label_hidden(joined, TABLE_SPECS["band_consistency"], threshold, ("disagree", "n"),
                                 row["borough"]):
                changes["band_consistency"] = joined
                note("band_consistency", row["borough"], areas)
    checks = getattr(res, "checks", None)
    all_areas = all_areas_label(res)
    if isinstance(checks, pd.DataFrame) and len(checks) and {"check", "quarter", "borough", "count", "n"} <= set(checks):
        t = checks.reset_index(drop=True)
        spec = table_spec("checks", all_areas)
        protected, _ = _protect(t, spec, threshold, None)
        hidden = protected[["count", "n"]].map(_is_marker).any(axis=1).to_numpy()
        parts, any_made = [], False
        for (check, quarter), idx in t.groupby(["check", "quarter"], sort=False).groups.items():
            sub = t.loc[idx]
            areas = [str(b) for i, b in zip(idx, sub["borough"], strict=True) if hidden[i] and str(b) != all_areas]
            if len(areas) < 2 or not _others_counted(sub[sub["borough"].astype(str) != all_areas], areas, "n"):
                parts.append(sub)
                continue
            part = sub["borough"].astype(str).isin(areas).to_numpy()
            first = sub.loc[part].iloc[0]
            n, c = int(sub.loc[part, "n"].sum()), int(sub.loc[part, "count"].sum())
            lo, hi = _wilson(c, n, alpha)
            row = {**first.to_dict(), "borough": other_areas_label(len(areas), res), "count": c, "n": n,
                   "share": c / n if n else np.nan, "ci_low": lo, "ci_high": hi, "status": COMBINED_FLAG}
            if "detail" in row:
                row["detail"] = ""
            joined = pd.concat([sub.loc[~part], pd.DataFrame([row], columns=sub.columns)], ignore_index=True)
            if _label_hidden(joined, spec, threshold, ("count", "n"), row["borough"]):
                parts.append(sub)
                continue
            parts.append(joined)
            note("checks", row["borough"], areas, check=str(check), quarter=str(quarter))
            any_made = True
        if any_made:
            changes["checks"] = pd.concat(parts, ignore_index=True).astype({"count": t["count"].dtype,
                                                                           "n": t["n"].dtype})
    return changes, made


def combined_areas_sentences(combined: list[dict], *, where: object = None, threshold: int = 10) -> list[str]:
    """The disclosure note's sentences for the combined areas (:func:`combine_small_areas`): one per set
    of areas combined, naming the tables, except the checks by area, which get one sentence (which areas
    each of their combined rows holds is in ``metrics.json``). ``where`` is the audit (its place's words)."""
    from fairness.results.sentences import place

    p = place(where)
    same: dict[tuple, list[dict]] = {}
    for c in combined:
        if c["table"] != "checks":
            same.setdefault((c["label"], tuple(c["areas"])), []).append(c)
    out = []
    for cs in same.values():
        whats = list(dict.fromkeys(c.get("what", c["table"]) for c in cs))
        text = COMBINED_AREAS_NOTE.format(names=_words(list(cs[0]["areas"])), label=cs[0]["label"],
                                          what=_words(whats), threshold=threshold, areas=p.areas, area=p.area,
                                          place=p.name)
        out.append(f"{text[:1].upper()}{text[1:]}.")
    checks = [c for c in combined if c["table"] == "checks"]
    if checks:
        out.append(f"In {len(checks)} rows of the data-protection checks by {p.area}, small {p.areas} are "
                   f"published together the same way; which {p.areas} each such row holds is listed in "
                   "parameters.combined_areas of metrics.json.")
    return out
