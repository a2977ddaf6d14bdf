"""Publication mode: disclosure control applied to every table of an audit.

Each table of :class:`~fairness.audit.AuditResult` is declared once in
:data:`TABLE_SPECS`: which columns count people, which are denominators,
which rows add up to a known total, and which values are derived from which
counts. :func:`protect_audit` runs :func:`fairness.disclosure.protect_table`
on each and then handles what a per-row rule cannot see:

* a relative rate uses the reference group's count, so when that count is
  hidden every rate ratio, interval and p-value of its family is hidden;
* rolling four-quarter sums can be differenced to recover one quarter, so when
  any quarter of a metric is hidden, that metric's rolling values are hidden;
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

Limitation: protection is per table. The same count can appear in two tables
(e.g. a borough's list size in the no-risk and funnel tables); each table
applies the same rule to it, but secondary choices are not coordinated across
tables.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from fairness.disclosure import MARKER, DisclosureError, protect_table

if TYPE_CHECKING:  # pragma: no cover
    from fairness.audit import AuditResult

__all__ = ["TABLE_SPECS", "protect_audit", "TableSpec"]


@dataclass(frozen=True)
class TableSpec:
    count_cols: tuple[str, ...]
    by: tuple[str, ...] = ()
    base_cols: tuple[str, ...] = ()
    derived: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _from(source: tuple[str, ...], *cols: str) -> dict[str, tuple[str, ...]]:
    return {c: source for c in cols}


_SHARE = ("count", "n")
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
    ),
    "no_risk_duration": TableSpec(
        ("count",), by=("definition",), base_cols=("n",), derived=_from(_SHARE, "share", "ci_low", "ci_high"),
    ),
    "boroughs": TableSpec(
        ("count", "n"), by=("metric",),
        derived=_from(_SHARE, "value", "z", "z_adjusted", "flag"),
    ),
    "casemix": TableSpec(
        ("observed", "n"), by=("metric",),
        derived=_from(("observed", "n"), "expected", "oe_ratio", "ci_low", "ci_high", "z", "p_value",
                      "p_adjusted", "flag"),
    ),
    "band_consistency": TableSpec(
        ("disagree", "n"), derived=_from(("disagree", "n"), "share", "ci_low", "ci_high", "amber_from",
                                         "red_from", "flag"),
    ),
    "trends": TableSpec(
        ("count",), by=("metric", "quarter"), base_cols=("n",),
        derived=_from(_SHARE, "value", "ci_low", "ci_high", "diff_prev", "diff_prev_low", "diff_prev_high",
                      "diff_year", "diff_year_low", "diff_year_high"),
    ),
    "checks": TableSpec(
        ("count",), by=("check", "quarter", "borough", "_row"), base_cols=("n",),
        derived=_from(_SHARE, "share", "ci_low", "ci_high"),
    ),
    "sharing_by_partner": TableSpec(
        ("count",), by=("_row",), base_cols=("n",), derived=_from(_SHARE, "share", "ci_low", "ci_high"),
    ),
    "band_by_group": TableSpec(
        ("n", "positives", "selected", "tp", "fp", "fn", "tn"), by=("threshold", "by"),
        derived={},  # filled in below from the column names
    ),
    "band_calibration": TableSpec(
        ("n", "outcomes"), by=("by", "group"), derived=_from(("n", "outcomes"), "rate", "ci_low", "ci_high"),
    ),
    "quarantine_reasons": TableSpec(("rows",), by=("_row",)),
}
#: Tables with no counts of people (model summaries, limit curves, sentences
#: rebuilt from the protected tables): passed through unchanged.
UNCOUNTED = ("overdispersion", "funnel_limits", "heterogeneity", "casemix_test", "band_summary")
#: Tables whose values compare groups with a reference: withheld where any
#: count behind them is hidden.
REFERENCE_TABLES = ("band_versus_reference",)


def _band_by_group_derived(columns: list[str]) -> dict[str, tuple[str, ...]]:
    counts = ("n", "positives", "selected", "tp", "fp", "fn", "tn")
    return {c: counts for c in columns if c not in counts and c not in ("threshold", "by", "group", "note")}


def protect_audit(res: AuditResult, *, threshold: int = 10, rounding: int | None = None) -> AuditResult:
    """Apply disclosure control to every table of ``res``; return a publication-mode copy."""
    from fairness.disproportionality import ratio_sentences

    changes: dict[str, object] = {}
    decisions: list[pd.DataFrame] = []
    for name in [f.name for f in dataclasses.fields(res)]:
        table = getattr(res, name)
        if not isinstance(table, pd.DataFrame) or name in ("disclosure",) or name in UNCOUNTED:
            continue
        if name == "sentences":
            continue
        if len(table) == 0:
            continue
        if name in REFERENCE_TABLES:
            protected, dec = _withhold_if_small(table, threshold)
        else:
            spec = TABLE_SPECS.get(name)
            if spec is None:
                raise KeyError(f"no disclosure rule declared for table {name!r}: add it to TABLE_SPECS")
            protected, dec = _protect(table, spec, threshold, rounding)
            if name == "relative_rate":
                protected, extra = _hide_when_reference_hidden(protected)
                dec = pd.concat([dec, extra], ignore_index=True)
            if name == "trends":
                protected, extra = _hide_rolling(protected)
                dec = pd.concat([dec, extra], ignore_index=True)
            if name == "checks" and "detail" in protected:
                keep = protected["status"].astype(str).eq("not assessable")
                protected = protected.assign(detail=protected["detail"].where(keep, ""))
        changes[name] = protected
        dec = dec.copy()
        dec.insert(0, "table", name)
        decisions.append(dec)
    rel = changes.get("relative_rate", res.relative_rate)
    changes["sentences"] = _sentences(rel, ratio_sentences)
    changes["mode"] = "publication"
    changes["disclosure"] = pd.concat(decisions, ignore_index=True) if decisions else pd.DataFrame(
        columns=["table", "row", "column", "hidden", "rule"])
    changes["disclosure_note"] = (
        f"Counts below {threshold} are suppressed ({MARKER}); so are further counts from which a suppressed "
        "count could be worked out using a total (secondary suppression), and any share, rate, ratio, "
        "interval or test statistic calculated from a suppressed count. True zeros are shown as 0."
        + (f" Counts are rounded to the nearest {rounding}." if rounding else "")
    )
    return dataclasses.replace(res, **changes)


def _protect(table: pd.DataFrame, spec: TableSpec, threshold: int, rounding: int | None):
    t = table.reset_index(drop=True)
    added = "_row" in spec.by and "_row" not in t
    if added:
        t = t.assign(_row=np.arange(len(t)))
    derived = dict(spec.derived)
    if not derived and spec is TABLE_SPECS["band_by_group"]:
        derived = _band_by_group_derived(list(t.columns))
    derived = {k: list(v) for k, v in derived.items() if k in t.columns}
    counts = [c for c in spec.count_cols if c in t.columns]
    bases = [c for c in spec.base_cols if c in t.columns]
    by = [c for c in spec.by if c in t.columns]
    try:
        p = protect_table(t, count_cols=counts, base_cols=bases, by=by, derived=derived,
                          threshold=threshold, rounding=rounding, mode="publication")
        out, dec = p.table, p.decisions
    except DisclosureError:
        out = t.astype(object).copy()
        cols = counts + bases + list(derived)
        for c in cols:
            out[c] = MARKER
        dec = pd.DataFrame([{"row": "all", "column": c, "hidden": True, "rule": "withheld"} for c in cols])
    if added:
        out = out.drop(columns="_row")
    return out, dec


def _withhold_if_small(table: pd.DataFrame, threshold: int):
    """Withhold comparison rows built on any count from 1 to threshold − 1."""
    t = table.reset_index(drop=True).astype(object)
    count_like = [c for c in t.columns if c in ("n", "count", "reference_n", "positives", "selected")]
    small = np.zeros(len(t), dtype=bool)
    for c in count_like:
        v = pd.to_numeric(t[c], errors="coerce").to_numpy(dtype="float64")
        small |= (v > 0) & (v < threshold)
    value_cols = [c for c in t.columns if c not in ("threshold", "by", "group", "reference", "metric")]
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
    for bench, idx in t.groupby("benchmark", sort=False).groups.items():
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


def _hide_rolling(t: pd.DataFrame):
    t = t.copy()
    dec = []
    cols = ["rolling_count", "rolling_n", "rolling_value", "rolling_low", "rolling_high"]
    for metric, idx in t.groupby("metric", sort=False).groups.items():
        if (t.loc[idx, "count"] == MARKER).any():
            for c in cols:
                t[c] = t[c].astype(object)
                t.loc[idx, c] = MARKER
            dec += [{"row": i, "column": c, "hidden": True, "rule": "derived"} for i in idx for c in cols]
    return t, pd.DataFrame(dec, columns=["row", "column", "hidden", "rule"])


def _sentences(rel: pd.DataFrame, builder) -> pd.DataFrame:
    """Sentences from the protected relative rates: a hidden ratio is said to be suppressed."""
    hidden = rel["rri"].astype(object).eq(MARKER) if len(rel) else pd.Series(dtype=bool)
    shown = rel[~hidden].copy()
    for c in ("rri", "ci_low", "ci_high"):
        shown[c] = pd.to_numeric(shown[c], errors="coerce")
    out = builder(shown)
    rows = [
        {"benchmark": r.benchmark, "group": r.group,
         "sentence": f"The rate for {r.group} Londoners relative to {r.reference} Londoners is suppressed "
                     f"(fewer than 10 people behind it; benchmark: {r.benchmark_label})."}
        for r in rel[hidden].itertuples(index=False) if r.group != r.reference
    ]
    return pd.concat([out, pd.DataFrame(rows, columns=["benchmark", "group", "sentence"])], ignore_index=True)
