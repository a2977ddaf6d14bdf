"""Numbers and tables formatted for people, for the report notebooks.

The notebooks in ``notebooks/`` hold words; the statistics live in the library
and the drawing in :mod:`fairness.plots`. What is left — turning a tidy result
table into something a councillor can read — lives here, so that no notebook
defines a function.

Conventions (the house style's "numbers shown to a person"):

* counts with thousands separators: ``12,345``;
* shares as percentages to one decimal, with the interval in brackets and an
  en dash: ``38.2% (36.7–39.8)``;
* ratios to two decimals, with their interval: ``3.41 (3.20–3.63)``;
* a value that could not be estimated, or was suppressed by disclosure
  control, is shown as an en dash and the reason goes in the *Note* column.

Every table builder takes an :class:`~fairness.audit.AuditResult` (or one of
its tidy tables) and returns a :class:`Table`: the formatted frame plus a
caption and a note, which Jupyter displays as HTML. In publication mode a
table that would show a row-level column (``person_id`` …) raises
:class:`RowLevelColumnError` instead of rendering.
"""

from __future__ import annotations

import html
import json
import math
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "DASH",
    "ROW_LEVEL_COLUMNS",
    "RowLevelColumnError",
    "Table",
    "band_performance_table",
    "banner",
    "benchmark_sensitivity_table",
    "checks_table",
    "display_table",
    "flagged_boroughs_table",
    "fmt_int",
    "fmt_p",
    "fmt_pct",
    "fmt_rate",
    "fmt_ratio",
    "fmt_share",
    "headline_box",
    "no_risk_duration_table",
    "no_risk_table",
    "overdispersion_table",
    "provenance_table",
    "quarantine_table",
    "relative_rate_table",
    "representation_table",
    "setup_figures",
    "summary_box",
    "trend_table",
]

Mode = Literal["publication", "internal"]

#: Shown for a value that is missing, not estimable or suppressed.
DASH = "–"
#: Between the two ends of an interval.
_EN = "–"

#: Columns that identify a person or a record. A publication-mode table never
#: shows them (row-level data is never published).
ROW_LEVEL_COLUMNS: frozenset[str] = frozenset(
    {
        "person_id",
        "line",
        "row",
        "date_added",
        "last_reviewed",
        "snapshot_date",
        "shared_with",
        "harm_score",
        "age",
        "unit",
    }
)

ERR_ROW_LEVEL = (
    "refusing to show column(s) {cols} in a publication-mode table: they identify a "
    "person or a record. Aggregate first, or run in internal mode."
)
ERR_MODE = "mode must be one of {valid}; got {got!r}"
_MODES = ("publication", "internal")


class RowLevelColumnError(ValueError):
    """A publication-mode table would have shown a row-level column."""


# --------------------------------------------------------------------------- numbers


def _missing(x: object) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(np.isnan(float(x)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def fmt_int(x: object) -> str:
    """A count with thousands separators; an en dash if missing.

    >>> fmt_int(12345), fmt_int(float("nan"))
    ('12,345', '–')
    """
    if _missing(x):
        return DASH
    return f"{int(round(float(x))):,}"  # type: ignore[arg-type]


def fmt_number(x: object, digits: int = 2) -> str:
    """A number to ``digits`` decimals with thousands separators.

    >>> fmt_number(1234.5678)
    '1,234.57'
    """
    if _missing(x):
        return DASH
    v = float(x)  # type: ignore[arg-type]
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:,.{digits}f}"


def fmt_pct(x: object, digits: int = 1) -> str:
    """A fraction (0–1) as a percentage to one decimal.

    >>> fmt_pct(0.3824)
    '38.2%'
    """
    if _missing(x):
        return DASH
    return f"{100 * float(x):.{digits}f}%"  # type: ignore[arg-type]


def _interval(low: object, high: object, scale: float, digits: int) -> str:
    if _missing(low) or _missing(high):
        return ""
    lo, hi = scale * float(low), scale * float(high)  # type: ignore[arg-type]
    return f" ({lo:,.{digits}f}{_EN}{hi:,.{digits}f})"


def fmt_share(share: object, low: object = None, high: object = None, digits: int = 1) -> str:
    """A share with its interval: ``38.2% (36.7–39.8)``.

    >>> fmt_share(0.3824, 0.367, 0.398)
    '38.2% (36.7–39.8)'
    >>> fmt_share(0.5)
    '50.0%'
    """
    if _missing(share):
        return DASH
    return fmt_pct(share, digits) + _interval(low, high, 100.0, digits)


def fmt_ratio(ratio: object, low: object = None, high: object = None, digits: int = 2) -> str:
    """A ratio with its interval: ``3.41 (3.20–3.63)``.

    >>> fmt_ratio(3.4123, 3.2, 3.634)
    '3.41 (3.20–3.63)'
    """
    if _missing(ratio):
        return DASH
    return fmt_number(ratio, digits) + _interval(low, high, 1.0, digits)


def fmt_rate(rate: object, low: object = None, high: object = None, digits: int = 1) -> str:
    """A rate per 1,000 with its interval: ``12.3 (11.0–13.8)``.

    >>> fmt_rate(12.34, 11.0, 13.8)
    '12.3 (11.0–13.8)'
    """
    return fmt_ratio(rate, low, high, digits)


def fmt_p(p: object) -> str:
    """A p-value: three decimals, or ``<0.001``.

    >>> fmt_p(0.01234), fmt_p(1e-9)
    ('0.012', '<0.001')
    """
    if _missing(p):
        return DASH
    v = float(p)  # type: ignore[arg-type]
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _text(x: object) -> str:
    if _missing(x):
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    return str(x)


# --------------------------------------------------------------------------- tables

_NUM = ' class="num"'


@dataclass(frozen=True)
class Table:
    """A table formatted for people: every cell already text.

    Jupyter shows it as HTML (``_repr_html_``); ``str()`` gives plain text.
    ``numeric`` names the columns to right-align.
    """

    frame: pd.DataFrame
    caption: str = ""
    note: str = ""
    numeric: tuple[str, ...] = ()
    css_class: str = "report-table"

    def to_html(self) -> str:
        cols = list(self.frame.columns)
        num = set(self.numeric)
        out = [f'<table class="{html.escape(self.css_class)}">']
        if self.caption:
            out.append(f"<caption>{html.escape(self.caption)}</caption>")
        out.append("<thead><tr>")
        out += [
            f'<th{_NUM if c in num else ""} scope="col">{html.escape(str(c))}</th>'
            for c in cols
        ]
        out.append("</tr></thead><tbody>")
        if self.frame.empty:
            out.append(f'<tr><td colspan="{max(len(cols), 1)}" class="empty">none</td></tr>')
        for row in self.frame.itertuples(index=False):
            out.append("<tr>")
            out += [
                f'<td{_NUM if c in num else ""}>{html.escape(_text(v))}</td>'
                for c, v in zip(cols, row, strict=True)
            ]
            out.append("</tr>")
        out.append("</tbody></table>")
        if self.note:
            out.append(f'<p class="table-note">{html.escape(self.note)}</p>')
        return '<div class="table-wrap">' + "".join(out) + "</div>"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __str__(self) -> str:
        head = f"{self.caption}\n" if self.caption else ""
        body = self.frame.to_string(index=False) if not self.frame.empty else "(none)"
        tail = f"\n{self.note}" if self.note else ""
        return head + body + tail

    def __len__(self) -> int:
        return len(self.frame)


def _check_mode(mode: str) -> str:
    if mode not in _MODES:
        raise ValueError(ERR_MODE.format(valid=", ".join(_MODES), got=mode))
    return mode


def _refuse_row_level(columns: Iterable[object], mode: str) -> None:
    if mode != "publication":
        return
    bad = sorted({str(c) for c in columns} & ROW_LEVEL_COLUMNS)
    if bad:
        raise RowLevelColumnError(ERR_ROW_LEVEL.format(cols=", ".join(bad)))


_COUNT_COLUMNS = {"count", "n", "rows", "k", "population", "disagree", "rolling_count", "rolling_n"}
_SHARE_COLUMNS = {"share", "benchmark_share"}
_HUMAN_NAMES = {
    "count": "Count",
    "n": "Base (n)",
    "rows": "Rows",
    "share": "Share",
    "benchmark_share": "Benchmark share",
    "group": "Group",
    "borough": "Borough",
    "quarter": "Quarter",
    "metric": "Measure",
    "benchmark_label": "Benchmark",
    "note": "Note",
    "flag": "Flag",
    "method": "Method",
    "rule": "Rule",
    "column": "Column",
}


def display_table(
    df: pd.DataFrame,
    mode: Mode = "publication",
    *,
    caption: str = "",
    note: str = "",
    columns: Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
) -> Table:
    """Format any tidy result table for people.

    Counts get thousands separators; ``share`` columns become percentages, with
    ``ci_low``/``ci_high`` folded in as an interval; ratios and other numbers
    get two decimals; p-values three. Column names are made readable.

    Parameters
    ----------
    df : DataFrame
        A tidy table from the library (not modified).
    mode : {"publication", "internal"}, default "publication"
        In publication mode a row-level column (see :data:`ROW_LEVEL_COLUMNS`)
        raises :class:`RowLevelColumnError`.
    caption, note : str
        Shown above and below the table.
    columns : sequence of str, optional
        Keep only these columns (those present), in this order.
    rename : mapping, optional
        Extra readable names for columns.
    """
    _check_mode(mode)
    data = df.copy()
    if columns is not None:
        data = data[[c for c in columns if c in data.columns]]
    _refuse_row_level(data.columns, mode)
    out = pd.DataFrame(index=range(len(data)))
    numeric: list[str] = []
    names = {**_HUMAN_NAMES, **(rename or {})}
    has_ci = {"ci_low", "ci_high"} <= set(data.columns)
    for col in data.columns:
        if col in ("ci_low", "ci_high") and has_ci:
            continue
        s = data[col].reset_index(drop=True)
        name = names.get(col, str(col).replace("_", " ").capitalize())
        if col in _COUNT_COLUMNS:
            out[name] = s.map(fmt_int)
        elif col in _SHARE_COLUMNS:
            if col == "share" and has_ci:
                lo, hi = data["ci_low"].reset_index(drop=True), data["ci_high"].reset_index(drop=True)
                out[f"{name} (95% CI)"] = [fmt_share(a, b, c) for a, b, c in zip(s, lo, hi, strict=True)]
                name = f"{name} (95% CI)"
            else:
                out[name] = s.map(fmt_pct)
        elif str(col).startswith("p_") or col == "p_value":
            out[name] = s.map(fmt_p)
        elif pd.api.types.is_bool_dtype(s):
            out[name] = s.map(_text)
        elif pd.api.types.is_numeric_dtype(s):
            out[name] = s.map(fmt_number)
        else:
            out[name] = s.map(_text)
            continue
        numeric.append(name)
    return Table(out, caption=caption, note=note, numeric=tuple(numeric))


def _mode_of(res: object) -> str:
    return str(getattr(res, "mode", "publication") or "publication")


def _alpha_pct(res: object) -> str:
    params = getattr(res, "parameters", {}) or {}
    alpha = params.get("alpha", 0.05) if isinstance(params, Mapping) else 0.05
    try:
        return f"{100 * (1 - float(alpha)):g}%"
    except (TypeError, ValueError):
        return "95%"


def _col(df: pd.DataFrame, name: str, default: object = np.nan) -> pd.Series:
    if name in df.columns:
        return df[name].reset_index(drop=True)
    return pd.Series([default] * len(df), dtype=object)


def _first_benchmark(df: pd.DataFrame, benchmark: str | None) -> tuple[pd.DataFrame, str]:
    if "benchmark" not in df.columns or df.empty:
        return df, ""
    name = benchmark or str(df["benchmark"].iloc[0])
    sub = df[df["benchmark"] == name]
    label = str(sub["benchmark_label"].iloc[0]) if "benchmark_label" in sub and len(sub) else name
    return sub.reset_index(drop=True), label


def _notes(df: pd.DataFrame) -> pd.Series:
    return _col(df, "note", "").map(_text)


def representation_table(res: object, *, benchmark: str | None = None) -> Table:
    """Who is on the list against one benchmark (default: the first).

    Columns: Group, People listed, Share of list, Share of benchmark population,
    Representation ratio (CI), Flag, Note.
    """
    df, label = _first_benchmark(res.representation, benchmark)  # type: ignore[attr-defined]
    ci = _alpha_pct(res)
    out = pd.DataFrame(
        {
            "Group": _col(df, "group").map(_text),
            "People listed": _col(df, "count").map(fmt_int),
            "Share of list": _col(df, "share").map(fmt_pct),
            "Share of benchmark": _col(df, "benchmark_share").map(fmt_pct),
            f"Ratio ({ci} CI)": [
                fmt_ratio(r, lo, hi)
                for r, lo, hi in zip(_col(df, "ratio"), _col(df, "ci_low"), _col(df, "ci_high"), strict=True)
            ],
            "Flag": _col(df, "flag", "").map(_text),
            "Note": _notes(df),
        }
    )
    n = _col(df, "n").dropna()
    base = f" Base: {fmt_int(n.iloc[0])} people listed." if len(n) else ""
    return Table(
        out,
        caption=f"Representation against {label}" if label else "Representation",
        note="Ratio = share of the list ÷ share of the benchmark population; 1 means "
        "listed in proportion." + base,
        numeric=("People listed", "Share of list", "Share of benchmark", f"Ratio ({ci} CI)"),
    )


def benchmark_sensitivity_table(res: object) -> Table:
    """Representation ratio of each group under every benchmark, side by side."""
    df = res.representation  # type: ignore[attr-defined]
    if df.empty:
        return Table(pd.DataFrame({"Group": []}), caption="Benchmark sensitivity")
    labels = (
        df.drop_duplicates("benchmark").set_index("benchmark")["benchmark_label"]
        if "benchmark_label" in df
        else pd.Series({b: b for b in df["benchmark"].unique()})
    )
    cells = df.assign(
        _cell=[
            fmt_ratio(r, lo, hi)
            for r, lo, hi in zip(_col(df, "ratio"), _col(df, "ci_low"), _col(df, "ci_high"), strict=True)
        ]
    )
    groups = list(dict.fromkeys(df["group"]))
    out = pd.DataFrame({"Group": [_text(g) for g in groups]})
    for b in dict.fromkeys(df["benchmark"]):
        sub = cells[cells["benchmark"] == b].set_index("group")["_cell"]
        out[str(labels.get(b, b))] = [sub.get(g, DASH) for g in groups]
    return Table(
        out,
        caption=f"Representation ratio ({_alpha_pct(res)} CI) under each benchmark",
        note="If the conclusion changes from one column to another, it depends on the "
        "benchmark chosen; see Methods for what each benchmark assumes.",
        numeric=tuple(out.columns[1:]),
    )


def relative_rate_table(res: object, *, benchmark: str | None = None) -> Table:
    """Rates per 1,000 residents and relative rate index against the reference group."""
    df, label = _first_benchmark(res.relative_rate, benchmark)  # type: ignore[attr-defined]
    ci = _alpha_pct(res)
    ref = str(_col(df, "reference", "").iloc[0]) if len(df) else ""
    out = pd.DataFrame(
        {
            "Group": _col(df, "group").map(_text),
            "People listed": _col(df, "count").map(fmt_int),
            "Population": _col(df, "population").map(fmt_int),
            f"Per 1,000 ({ci} CI)": [
                fmt_rate(r, lo, hi)
                for r, lo, hi in zip(
                    _col(df, "rate_per_1000"), _col(df, "rate_low"), _col(df, "rate_high"), strict=True
                )
            ],
            f"RRI vs {ref} ({ci} CI)" if ref else f"RRI ({ci} CI)": [
                fmt_ratio(r, lo, hi)
                for r, lo, hi in zip(_col(df, "rri"), _col(df, "ci_low"), _col(df, "ci_high"), strict=True)
            ],
            "p (adjusted)": _col(df, "p_adjusted").map(fmt_p),
            "Flag": _col(df, "flag", "").map(_text),
            "Note": _notes(df),
        }
    )
    adjust = _text(_col(df, "adjust", "").iloc[0]) if len(df) else ""
    return Table(
        out,
        caption=f"Rate of listing per 1,000 residents ({label})" if label else "Relative rate",
        note=f"RRI = the group's rate ÷ the {ref or 'reference'} group's rate. "
        + (f"p-values adjusted for multiple comparisons ({adjust})." if adjust else ""),
        numeric=tuple(out.columns[1:6]),
    )


def no_risk_table(res: object) -> Table:
    """Share of people listed with no risk, overall and by group."""
    df = res.no_risk  # type: ignore[attr-defined]
    ci = _alpha_pct(res)
    out = pd.DataFrame(
        {
            "Breakdown": _col(df, "by", "").map(_text).replace("", "all"),
            "Group": _col(df, "group").map(_text),
            "No-risk": _col(df, "count").map(fmt_int),
            "Listed": _col(df, "n").map(fmt_int),
            f"Share ({ci} CI)": [
                fmt_share(s, lo, hi)
                for s, lo, hi in zip(_col(df, "share"), _col(df, "ci_low"), _col(df, "ci_high"), strict=True)
            ],
        }
    )
    definition = _text(_col(df, "definition", "").iloc[0]) if len(df) else ""
    return Table(
        out,
        caption="People listed with no risk",
        note=f"Definition of no risk: {definition}." if definition else "",
        numeric=("No-risk", "Listed", f"Share ({ci} CI)"),
    )


def no_risk_duration_table(res: object) -> Table:
    """How long people with no risk have been on the list."""
    df = getattr(res, "no_risk_duration", pd.DataFrame())
    out = pd.DataFrame(
        {
            "Time on the list": _col(df, "duration").map(_text),
            "People": _col(df, "count").map(fmt_int),
            "Of no-risk people": _col(df, "n").map(fmt_int),
            f"Share ({_alpha_pct(res)} CI)": [
                fmt_share(s, lo, hi)
                for s, lo, hi in zip(_col(df, "share"), _col(df, "ci_low"), _col(df, "ci_high"), strict=True)
            ],
        }
    )
    return Table(out, caption="Time on the list of people with no risk", numeric=tuple(out.columns[1:]))


def _is_rate_metric(metric: str) -> bool:
    return "rate" in metric.lower() or "per_1000" in metric.lower()


def _fmt_value(metric: str, v: object) -> str:
    return fmt_number(v, 1) if _is_rate_metric(metric) else fmt_pct(v)


def flagged_boroughs_table(res: object, *, include_within: bool = False) -> Table:
    """Boroughs outside their funnel limits, every metric (most extreme first)."""
    df = res.boroughs  # type: ignore[attr-defined]
    if not include_within and "flag" in df:
        df = df[df["flag"].astype(str) != "within"]
    if "z" in df:
        df = df.assign(_abs=df["z"].abs()).sort_values(["metric", "_abs"], ascending=[True, False])
    df = df.reset_index(drop=True)
    metric = _col(df, "metric", "").map(_text)
    out = pd.DataFrame(
        {
            "Measure": metric,
            "Borough": _col(df, "borough").map(_text),
            "Count": _col(df, "count").map(fmt_int),
            "Base (n)": _col(df, "n").map(fmt_int),
            "Value": [_fmt_value(m, v) for m, v in zip(metric, _col(df, "value"), strict=True)],
            "London": [_fmt_value(m, v) for m, v in zip(metric, _col(df, "target"), strict=True)],
            "z": _col(df, "z").map(fmt_number),
            "Flag": _col(df, "flag", "").map(lambda f: _text(f).replace("_", " ")),
        }
    )
    return Table(
        out,
        caption="Boroughs outside the funnel limits",
        note="Limits allow for over-dispersion where the test finds it (see φ and τ² below). "
        "Rates are per 1,000 residents; shares are of people listed in the borough.",
        numeric=("Count", "Base (n)", "Value", "London", "z"),
    )


def overdispersion_table(res: object) -> Table:
    """φ and τ² of each borough funnel: is the spread more than chance?"""
    df = res.overdispersion  # type: ignore[attr-defined]
    metric = _col(df, "metric", "").map(_text)
    out = pd.DataFrame(
        {
            "Measure": metric,
            "φ (dispersion)": _col(df, "phi").map(fmt_number),
            "τ²": _col(df, "tau2").map(lambda v: fmt_number(v, 4)),
            "London": [_fmt_value(m, v) for m, v in zip(metric, _col(df, "target"), strict=True)],
            "Boroughs": _col(df, "k").map(fmt_int),
            "Over-dispersed": _col(df, "overdispersed").map(_text),
            "Method": _col(df, "method", "").map(_text),
        }
    )
    return Table(
        out,
        caption="Spread between boroughs",
        note="φ near 1: boroughs differ no more than chance would make them; φ well above 1: "
        "real differences between boroughs, so the limits are widened by τ².",
        numeric=("φ (dispersion)", "τ²", "London", "Boroughs"),
    )


def checks_table(res: object, *, borough: str = "All boroughs") -> Table:
    """Data-protection checks for the report's quarter, London-wide rows."""
    df = res.checks  # type: ignore[attr-defined]
    if not isinstance(df, pd.DataFrame):
        df = getattr(df, "table", pd.DataFrame())
    quarter = getattr(res, "quarter", None)
    if "quarter" in df and quarter is not None and (df["quarter"] == quarter).any():
        df = df[df["quarter"] == quarter]
    if "borough" in df and (df["borough"] == borough).any():
        df = df[df["borough"] == borough]
    df = df.reset_index(drop=True)
    out = pd.DataFrame(
        {
            "Check": _col(df, "check", "").map(lambda s: _text(s).replace("_", " ")),
            "Finding": _col(df, "finding", "").map(_text),
            "Flagged": _col(df, "count").map(fmt_int),
            "Of": _col(df, "n").map(fmt_int),
            f"Share ({_alpha_pct(res)} CI)": [
                fmt_share(s, lo, hi)
                for s, lo, hi in zip(_col(df, "share"), _col(df, "ci_low"), _col(df, "ci_high"), strict=True)
            ],
            "Status": _col(df, "status", "").map(_text),
            "Detail": _col(df, "detail", "").map(_text),
        }
    )
    return Table(
        out,
        caption="Data-protection checks (London-wide)",
        note="Each check looks in the matrix for a failure a regulator has found before; "
        "'not assessable' means the extract lacks the column the check needs.",
        numeric=("Flagged", "Of", f"Share ({_alpha_pct(res)} CI)"),
    )


def band_performance_table(res: object) -> Table:
    """Band performance: whatever tidy table :class:`fairness.bands.BandPerformance` holds."""
    bp = res.band_performance  # type: ignore[attr-defined]
    frame = None
    if isinstance(bp, pd.DataFrame):
        frame = bp
    else:
        for name in ("by_band", "table", "summary", "metrics"):
            cand = getattr(bp, name, None)
            cand = cand() if callable(cand) else cand
            if isinstance(cand, pd.DataFrame):
                frame = cand
                break
    if frame is None:
        return Table(pd.DataFrame({"Band performance": [_text(bp)]}))
    return display_table(frame, _mode_of(res), caption="Risk bands against later violence")


def quarantine_table(res: object) -> Table:
    """Rows quarantined, by the rule they broke (no values shown)."""
    df = res.quarantine_reasons  # type: ignore[attr-defined]
    df = df() if callable(df) else df
    out = pd.DataFrame(
        {
            "Rule": _col(df, "rule", "").map(_text),
            "Column": _col(df, "column", "").map(_text),
            "Rows": _col(df, "rows").map(fmt_int),
        }
    )
    return Table(
        out,
        caption="Rows quarantined, by reason",
        note="A row that breaks several rules is counted under each. Quarantined rows are "
        "counted, never silently dropped, and never shown in a report.",
        numeric=("Rows",),
    )


def trend_table(res: object, *, metrics: Sequence[str] | None = None, last: int | None = None) -> Table:
    """One row per quarter, one column per metric: value with its interval."""
    df = res.trends  # type: ignore[attr-defined]
    if metrics is not None:
        df = df[df["metric"].isin(list(metrics))]
    quarters = sorted(df["quarter"].astype(str).unique()) if "quarter" in df else []
    if last:
        quarters = quarters[-last:]
    out = pd.DataFrame({"Quarter": quarters})
    for m in dict.fromkeys(df["metric"]) if "metric" in df else []:
        sub = df[df["metric"] == m].assign(quarter=lambda d: d["quarter"].astype(str)).set_index("quarter")
        fmt = fmt_rate if _is_rate_metric(str(m)) else fmt_share
        cells = {q: fmt(r["value"], r.get("ci_low"), r.get("ci_high")) for q, r in sub.iterrows()}
        out[str(m).replace("_", " ")] = [cells.get(q, DASH) for q in quarters]
    return Table(
        out,
        caption="Trends by quarter",
        note=f"Values with {_alpha_pct(res)} intervals.",
        numeric=tuple(out.columns[1:]),
    )


# --------------------------------------------------------------------------- boxes


def headline_box(res: object) -> Markupish:
    """The headline findings as a numbered list in a box."""
    sentences = res.headline()  # type: ignore[attr-defined]
    items = "".join(f"<li>{html.escape(str(s))}</li>" for s in sentences)
    return Markupish(f'<div class="headline-box"><ol>{items}</ol></div>', "\n".join(map(str, sentences)))


def summary_box(text: str, *, title: str = "") -> Markupish:
    """A boxed paragraph (e.g. the questions for the force)."""
    head = f"<h4>{html.escape(title)}</h4>" if title else ""
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    return Markupish(f'<div class="note-box">{head}{paras}</div>', text)


def banner(mode: str) -> Markupish:
    """The internal-mode banner (empty in publication mode)."""
    if _check_mode(mode) == "internal":
        return Markupish('<div class="internal-banner">INTERNAL — NOT FOR PUBLICATION</div>', "INTERNAL — NOT FOR PUBLICATION")
    return Markupish("", "")


@dataclass(frozen=True)
class Markupish:
    """A bit of HTML with a plain-text twin, displayed as HTML by Jupyter."""

    html: str
    text: str = ""

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.text


def provenance_table(
    res: object,
    *,
    run_time: str = "",
    parameters: Mapping[str, object] | None = None,
) -> Table:
    """Where the numbers came from: input digest, rows, version, parameters, run time.

    The run time is the only entry that changes between two runs on the same
    input; it is shown here and kept out of ``metrics.json``.
    """
    from fairness import __version__

    mode = _mode_of(res)
    source = str(getattr(res, "source", ""))
    shown_source = Path(source).name if mode == "publication" else source
    n_rows = getattr(res, "n_rows", None)
    quarantined = getattr(res, "quarantined", None)
    used = n_rows - quarantined if isinstance(n_rows, int) and isinstance(quarantined, int) else None
    quarters = getattr(res, "quarters", ()) or ()
    rows = [
        ("Input file", shown_source),
        ("SHA-256 of the input", str(getattr(res, "sha256", ""))),
        ("Rows in the file", fmt_int(n_rows)),
        ("Rows used", fmt_int(used)),
        ("Rows quarantined", fmt_int(quarantined)),
        ("Quarter reported", str(getattr(res, "quarter", ""))),
        ("People in that quarter", fmt_int(getattr(res, "n", None))),
        (
            "Quarters in the file",
            f"{len(quarters)} ({quarters[0]} to {quarters[-1]})" if quarters else DASH,
        ),
        ("Mode", mode),
        ("fairness-audit version", __version__),
        ("Python", platform.python_version()),
        ("Audit parameters", _json_compact(getattr(res, "parameters", {}) or {})),
    ]
    if parameters:
        rows.append(("Report parameters", _json_compact(dict(parameters))))
    rows.append(("Time of the run", run_time or datetime.now(UTC).isoformat(timespec="seconds")))
    return Table(
        pd.DataFrame(rows, columns=["Item", "Value"]),
        caption="Provenance",
        note="Re-running on the same input with the same parameters gives the same numbers "
        "(metrics.json is byte-identical); only the time of the run differs.",
        css_class="report-table provenance",
    )


def _json_compact(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False, separators=(", ", ": "))


# --------------------------------------------------------------------------- figures


def setup_figures() -> None:
    """Matplotlib settings for report figures: print-sized, legible, greyscale-safe.

    Figures are drawn 7 × 3.6 inches (the width of an A4 text block) at 150 dpi
    for print, with sans-serif text no smaller than 9 pt.
    """
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (7.0, 3.6),
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "savefig.bbox": "tight",
            "font.size": 9.5,
            "axes.titlesize": 10.5,
            "axes.labelsize": 9.5,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "legend.fontsize": 8.5,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "figure.constrained_layout.use": True,
        }
    )
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except ImportError:  # pragma: no cover - outside Jupyter
        pass
    try:  # print-quality PNGs in the report
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None:
            ip.run_line_magic("config", "InlineBackend.rc = {'figure.dpi': 150}")
            ip.run_line_magic("config", "InlineBackend.print_figure_kwargs = {'bbox_inches': 'tight', 'dpi': 150}")
    except Exception:  # pragma: no cover - outside Jupyter
        pass

