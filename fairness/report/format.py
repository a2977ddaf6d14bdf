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

Every table builder takes an :class:`~fairness.results.audit.AuditResult` (or one of
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
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from fairness.definitions import fill_words
from fairness.errors import RowLevelColumnError
from fairness.results.sentences import (
    POOLED_PERIOD,
    Place,
    direction,
    is_pooled,
    is_withheld,
    period,
    place,
)
from fairness.results.sentences import fmt_ratio as sfmt_ratio
from fairness.results.sentences import fmt_share as sfmt_share

__all__ = [
    "DASH",
    "METRIC_LABELS",
    "Markupish",
    "Prose",
    "SECTION_TABLES",
    "assessable",
    "fill",
    "not_assessable",
    "place",
    "prose",
    "ROW_LEVEL_COLUMNS",
    "RowLevelColumnError",
    "Table",
    "band_consistency_table",
    "band_rates_table",
    "band_status_note",
    "band_summary_table",
    "banner",
    "benchmark_sensitivity_table",
    "checks_table",
    "disclosure_summary",
    "display_table",
    "figure",
    "flagged_boroughs_table",
    "funnel_figure",
    "hidden_boroughs_note",
    "fmt_int",
    "fmt_number",
    "fmt_p",
    "fmt_pct",
    "fmt_rate",
    "fmt_ratio",
    "fmt_share",
    "CONTACT_PLACEHOLDER",
    "dispersion_notes",
    "headline_box",
    "main_points_box",
    "is_synthetic",
    "list_title",
    "methods_notes",
    "metric_label",
    "no_risk_duration_table",
    "no_risk_rows",
    "no_risk_table",
    "overdispersion_table",
    "provenance_line",
    "provenance_table",
    "quality_summary",
    "quarantine_table",
    "questions_for_force",
    "ratio_sentences",
    "relative_rate_table",
    "representation_table",
    "setup_figures",
    "summary_box",
    "suppressed_summary",
    "suppression_table",
    "title_block",
    "trend_table",
    "trends_intro",
    "NO_TREND_POOLED",
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


# --------------------------------------------------------------------------- numbers


def _marker(x: object) -> str | None:
    """A text marker in a number's place (``"[c]"``: suppressed), else None."""
    if isinstance(x, str):
        try:
            float(x.replace(",", ""))
        except ValueError:
            return x.strip() or None
    return None


def _missing(x: object) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    if isinstance(x, str):
        return _marker(x) is None and not x.strip()
    try:
        return bool(np.isnan(float(x)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _float(x: object) -> float:
    return float(str(x).replace(",", "")) if isinstance(x, str) else float(x)  # type: ignore[arg-type]


def fmt_int(x: object) -> str:
    """A count with thousands separators; an en dash if missing.

    >>> fmt_int(12345), fmt_int(float("nan"))
    ('12,345', '–')
    """
    if _marker(x):
        return _marker(x)  # type: ignore[return-value]
    if _missing(x):
        return DASH
    return f"{int(round(_float(x))):,}"


def fmt_number(x: object, digits: int = 2) -> str:
    """A number to ``digits`` decimals with thousands separators.

    >>> fmt_number(1234.5678)
    '1,234.57'
    """
    if _marker(x):
        return _marker(x)  # type: ignore[return-value]
    if _missing(x):
        return DASH
    v = _float(x)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:,.{digits}f}"


def fmt_pct(x: object, digits: int = 1) -> str:
    """A fraction (0–1) as a percentage to one decimal.

    >>> fmt_pct(0.3824)
    '38.2%'
    """
    if _marker(x):
        return _marker(x)  # type: ignore[return-value]
    if _missing(x):
        return DASH
    return f"{100 * _float(x):.{digits}f}%"


def _interval(low: object, high: object, scale: float, digits: int) -> str:
    if _missing(low) or _missing(high) or _marker(low) or _marker(high):
        return ""
    lo, hi = scale * _float(low), scale * _float(high)
    return f" ({lo:,.{digits}f}{_EN}{hi:,.{digits}f})"


def fmt_share(share: object, low: object = None, high: object = None, digits: int = 1) -> str:
    """A share with its interval: ``38.2% (36.7–39.8)``.

    >>> fmt_share(0.3824, 0.367, 0.398)
    '38.2% (36.7–39.8)'
    >>> fmt_share(0.5)
    '50.0%'
    """
    if _marker(share) or _missing(share):
        return fmt_pct(share, digits)
    return fmt_pct(share, digits) + _interval(low, high, 100.0, digits)


def fmt_ratio(ratio: object, low: object = None, high: object = None, digits: int = 2) -> str:
    """A ratio with its interval: ``3.41 (3.20–3.63)``.

    >>> fmt_ratio(3.4123, 3.2, 3.634)
    '3.41 (3.20–3.63)'
    """
    if _marker(ratio) or _missing(ratio):
        return fmt_number(ratio, digits)
    return fmt_number(ratio, digits) + _interval(low, high, 1.0, digits)


def fmt_rate(rate: object, low: object = None, high: object = None, digits: int | None = None) -> str:
    """A rate per 1,000 with its interval: ``12.3 (11.0–13.8)``.

    ``digits=None`` picks enough decimals for small rates: 1 from 10 up, 2
    from 0.1, else 3.

    >>> fmt_rate(12.34, 11.0, 13.8), fmt_rate(0.0441, 0.0401, 0.0483)
    ('12.3 (11.0–13.8)', '0.044 (0.040–0.048)')
    """
    if digits is None:
        v = abs(_float(rate)) if not (_missing(rate) or _marker(rate)) else 10.0
        digits = 1 if v >= 10 else 2 if v >= 0.1 else 3
    return fmt_ratio(rate, low, high, digits)


def fmt_p(p: object) -> str:
    """A p-value, never in e-notation (the rule of :func:`fairness.results.sentences.fmt_p`).

    >>> fmt_p(0.01234), fmt_p(1e-9), fmt_p(0.1266)
    ('0.012', '< 0.001', '0.13')
    """
    from fairness.results.sentences import fmt_p as _fmt_p

    if _marker(p):
        return _marker(p)  # type: ignore[return-value]
    if _missing(p):
        return DASH
    return _fmt_p(_float(p))


def _text(x: object) -> str:
    if _missing(x):
        return ""
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    return str(x)


# --------------------------------------------------------------------------- tables

_NUM = ' class="num"'


#: Tables of at most this many rows are kept on one page in print.
KEEP_TOGETHER_ROWS = 12


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
        # a short table is not split across two pages (a long one must be)
        keep = " keep-together" if len(self.frame) <= KEEP_TOGETHER_ROWS else ""
        return f'<div class="table-wrap{keep}">' + "".join(out) + "</div>"

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


def _ci(res: object) -> str:
    """The confidence level of ``res`` as text, e.g. ``"95% CI"``."""
    params = getattr(res, "parameters", {}) or {}
    alpha = params.get("alpha", 0.05) if isinstance(params, Mapping) else 0.05
    try:
        return f"{100 * (1 - float(alpha)):g}% CI"
    except (TypeError, ValueError):
        return "95% CI"


def _col(df: pd.DataFrame, name: str, default: object = np.nan) -> pd.Series:
    if name in df.columns:
        return df[name].reset_index(drop=True)
    return pd.Series([default] * len(df), dtype=object)


def _first(df: pd.DataFrame, col: str, default: str = "") -> str:
    return _text(df[col].iloc[0]) if col in df.columns and len(df) else default


def _one_benchmark(df: pd.DataFrame, benchmark: str | None) -> tuple[pd.DataFrame, str]:
    """Rows of one benchmark (default: the first, the headline one) and its label."""
    if "benchmark" not in df.columns or df.empty:
        return df.reset_index(drop=True), ""
    name = benchmark or str(df["benchmark"].iloc[0])
    sub = df[df["benchmark"] == name].reset_index(drop=True)
    return sub, _first(sub, "benchmark_label", name)


def _zip_fmt(fmt, df: pd.DataFrame, value: str, low: str = "ci_low", high: str = "ci_high") -> list[str]:
    return [fmt(v, lo, hi) for v, lo, hi in zip(_col(df, value), _col(df, low), _col(df, high), strict=True)]


def _flag_text(flag: object) -> str:
    return _text(flag).replace("_", " ")


#: Readable names of the borough and trend metrics.
METRIC_LABELS: dict[str, str] = {
    "no_risk_share": "no-risk share (harm score zero)",
    "black_share": "{share_group} share of the people listed",  # the place's share group
    "green_share": "Green-band share",
    "rate_per_1000": "people listed per 1,000 residents",
    "listed": "people listed",
    "under18_share": "share aged under 18",
    "shared_share": "share of records shared with third parties",
}


def metric_label(metric: str, res: object = None) -> str:
    """A readable name for a metric code (``"no_risk_share"`` → ``"share with no risk …"``).

    With ``res``, "people listed" is the unit of its profile (``"searches per 1,000 residents"``).
    """
    label = METRIC_LABELS.get(str(metric))
    if label is None:  # a group's share (count tables): "asian_share" → "Asian share of the people listed"
        m = str(metric)
        label = (f"{m[:-6].replace('_', ' ').capitalize()} share of the people listed" if m.endswith("_share")
                 else m.replace("_", " "))
    where = place(res) if res is not None else Place()
    return where.fill(label).replace("people listed", where.unit)


def _words(res: object) -> dict[str, str]:
    """The profile's words for report text (:func:`fairness.results.sentences.place`): place, area, unit …"""
    return place(res).words()


def _is_rate_metric(metric: str) -> bool:
    return "rate" in str(metric).lower() or "per_1000" in str(metric).lower()


def _fmt_metric(metric: str, v: object, low: object = None, high: object = None) -> str:
    if str(metric) == "listed":
        return fmt_int(v)
    if _is_rate_metric(metric):
        return fmt_rate(v, low, high)
    return fmt_share(v, low, high)


def representation_table(res: object, *, benchmark: str | None = None) -> Table:
    """Who is on the list against one benchmark (default: the headline one).

    Columns: Group, People listed, Share of list, Share of benchmark,
    Ratio (CI), Flag, Note.
    """
    df, label = _one_benchmark(res.representation, benchmark)  # type: ignore[attr-defined]
    ci = _ci(res)
    w = _words(res)
    out = pd.DataFrame(
        {
            "Group": _col(df, "group").map(_text),
            w["Unit"]: _col(df, "count").map(fmt_int),
            "Share of list": _col(df, "share").map(fmt_pct),
            "Share of benchmark": _col(df, "benchmark_share").map(fmt_pct),
            f"Ratio ({ci})": _zip_fmt(fmt_ratio, df, "ratio"),
            "Flag": _col(df, "flag", "").map(_flag_text),
            "Note": _col(df, "note", "").map(_text),
        }
    )
    base = fmt_int(_col(df, "n").iloc[0]) if len(df) else DASH
    return Table(
        out,
        caption=f"Representation against {label}" if label else "Representation",
        note=f"Ratio = share of the list ÷ share of the benchmark population; 1 means listed in "
        f"proportion. Shares are of the {base} {w['unit']} with a stated ethnicity.",
        numeric=(w["Unit"], "Share of list", "Share of benchmark", f"Ratio ({ci})"),
    )


def relative_rate_table(res: object, *, benchmark: str | None = None) -> Table:
    """Rates per 1,000 residents and the relative rate index against the reference group."""
    df, label = _one_benchmark(res.relative_rate, benchmark)  # type: ignore[attr-defined]
    ci = _ci(res)
    ref = _first(df, "reference")
    rri = f"RRI vs {ref} ({ci})" if ref else f"RRI ({ci})"
    w = _words(res)
    out = pd.DataFrame(
        {
            "Group": _col(df, "group").map(_text),
            w["Unit"]: _col(df, "count").map(fmt_int),
            "Residents": _col(df, "population").map(fmt_int),
            f"Per 1,000 residents ({ci})": [
                fmt_rate(v, lo, hi)
                for v, lo, hi in zip(_col(df, "rate_per_1000"), _col(df, "rate_low"), _col(df, "rate_high"), strict=True)
            ],
            rri: _zip_fmt(fmt_ratio, df, "rri"),
            "p (adjusted)": _col(df, "p_adjusted").map(fmt_p),
            "Flag": _col(df, "flag", "").map(_flag_text),
        }
    )
    adjust = _first(df, "adjust")
    return Table(
        out,
        caption=(f"Rate of {'listing' if place(res).is_default else w['unit']} per 1,000 residents ({label})"
                 if label else "Relative rate index"),
        note=f"RRI = the group's rate ÷ the {ref or 'reference'} group's rate; 1 means the same rate."
        + (f" p-values adjusted for multiple comparisons ({adjust})." if adjust else ""),
        numeric=tuple(out.columns[1:6]),
    )


def benchmark_sensitivity_table(res: object) -> Table:
    """Each group's representation ratio and RRI under every benchmark: one column per benchmark."""
    df = getattr(res, "sensitivity", None)
    ci = _ci(res)
    if df is None or df.empty or "measure" not in df:
        rep = res.representation  # type: ignore[attr-defined]
        df = rep.assign(measure="representation ratio", value=rep.get("ratio"))
    df = df.reset_index(drop=True)
    cells = df.assign(_cell=_zip_fmt(fmt_ratio, df, "value"))
    labels = dict(zip(df["benchmark"], _col(df, "benchmark_label", "").map(_text), strict=True))
    keys = list(dict.fromkeys(zip(df["measure"], df["group"], strict=True)))
    out = pd.DataFrame(
        {
            "Measure": [_text(m).capitalize() for m, _ in keys],
            "Group": [_text(g) for _, g in keys],
        }
    )
    order = list(dict.fromkeys(res.representation.get("benchmark", pd.Series(dtype=object))))  # type: ignore[attr-defined]
    order += [b for b in dict.fromkeys(df["benchmark"]) if b not in order]
    for b in order:
        sub = cells[cells["benchmark"] == b].set_index(["measure", "group"])["_cell"]
        out[labels.get(b) or str(b)] = [sub.get(k, DASH) for k in keys]
    out = out.sort_values("Measure", kind="stable", ascending=False).reset_index(drop=True)
    return Table(
        out,
        caption=f"Benchmark sensitivity: each ratio under each benchmark ({ci})",
        note="If a conclusion changes from one column to the next, it depends on the benchmark "
        "chosen; Methods says what each benchmark assumes.",
        numeric=tuple(out.columns[2:]),
    )


def ratio_sentences(res: object, *, benchmark: str | None = None) -> Markupish:
    """The plain-English sentence for each group's relative rate (one benchmark)."""
    df, _ = _one_benchmark(res.sentences, benchmark)  # type: ignore[attr-defined]
    items = [_text(s) for s in _col(df, "sentence", "")]
    return _bullets(items)


def _bullets(items: Sequence[str], css: str = "") -> Markupish:
    lis = "".join(f"<li>{html.escape(i)}</li>" for i in items if i)
    cls = f' class="{css}"' if css else ""
    return Markupish(f"<ul{cls}>{lis}</ul>", "\n".join(f"- {i}" for i in items if i))


def no_risk_table(res: object, *, by: str = "all") -> Table:
    """Share of people listed with no risk: every definition (``by="all"``), or one breakdown.

    A breakdown (``by="ethnicity"``, ``"age_band"``, ``"sex"``, ``"borough"``)
    uses the headline definition.
    """
    df = res.no_risk  # type: ignore[attr-defined]
    ci = _ci(res)
    if "by" in df:
        df = df[df["by"].astype(str) == by]
    if by != "all" and "definition" in df and len(df):
        df = df[df["definition"] == df["definition"].iloc[0]]
    df = df.reset_index(drop=True)
    first = ("Definition of no risk" if by == "all" else _words(res)["Area"] if by == "borough"
             else by.replace("_", " ").capitalize())
    labels = _col(df, "definition_label", "").map(_text) if by == "all" else _col(df, "group").map(_text)
    out = pd.DataFrame(
        {
            first: labels,
            "No risk": _col(df, "count").map(fmt_int),
            "Listed": _col(df, "n").map(fmt_int),
            f"Share ({ci})": _zip_fmt(fmt_share, df, "share"),
        }
    )
    caption = (f"{_words(res)['Unit']} with no risk, by definition" if by == "all"
               else f"No-risk share by {_words(res)['area'] if by == 'borough' else by.replace('_', ' ')}")
    note = ""
    if by != "all" and len(df):
        note = f"Definition: {_first(df, 'definition_label', _first(df, 'definition'))}."
    return Table(out, caption=caption, note=note, numeric=("No risk", "Listed", f"Share ({ci})"))


def no_risk_rows(res: object, *, by: str = "ethnicity") -> pd.DataFrame:
    """The ``no_risk`` rows of one breakdown under the headline definition (for a chart)."""
    df = res.no_risk  # type: ignore[attr-defined]
    df = df[df["by"].astype(str) == by]
    if len(df) and "definition" in df:
        df = df[df["definition"] == df["definition"].iloc[0]]
    return df.reset_index(drop=True)


def band_status_note(res: object) -> Markupish:
    """Whether band performance could be assessed, and why not."""
    status = _text(getattr(res, "band_status", ""))
    reason = _text(getattr(res, "band_reason", ""))
    reason = reason.removeprefix(f"{status}: ")  # "not assessable: NAME declares no bands" says its status once
    if status in ("", "assessed"):
        text = (
            "Band performance is assessed against the outcome recorded in the matrix: violence "
            "in the 12 months after the snapshot."
        )
    else:
        text = f"Band performance {status}" + (f": {reason}." if reason else ".")
    return Markupish(f"<p>{html.escape(text)}</p>", text)


def no_risk_duration_table(res: object) -> Table:
    """How long the people with no risk have been on the list."""
    df = getattr(res, "no_risk_duration", pd.DataFrame()).reset_index(drop=True)
    ci = _ci(res)
    out = pd.DataFrame(
        {
            "Time on the list": _col(df, "duration").map(_text),
            "People": _col(df, "count").map(fmt_int),
            "Of": _col(df, "n").map(fmt_int),
            f"Share ({ci})": _zip_fmt(fmt_share, df, "share"),
        }
    )
    return Table(out, caption="Time on the list of the people with no risk", numeric=tuple(out.columns[1:]))


def flagged_boroughs_table(res: object, *, include_within: bool = False) -> Table:
    """Boroughs outside their funnel limits, every metric, most extreme first."""
    df = res.boroughs  # type: ignore[attr-defined]
    if not include_within and "flag" in df:
        df = df[df["flag"].astype(str).str.match(r"^(above|below)_")]
    if "z" in df and len(df):
        z = pd.to_numeric(df["z"], errors="coerce").abs()
        df = df.assign(_abs=z).sort_values(["metric", "_abs"], ascending=[True, False], kind="stable")
    df = df.reset_index(drop=True)
    metric = _col(df, "metric", "").map(_text)
    w = _words(res)
    out = pd.DataFrame(
        {
            "Measure": metric.map(lambda m: metric_label(m, res)),
            w["Area"]: _col(df, "borough").map(_text),
            "Count": _col(df, "count").map(fmt_int),
            "Base": _col(df, "n").map(fmt_int),
            f"{w['Area']} value": [_fmt_metric(m, v) for m, v in zip(metric, _col(df, "value"), strict=True)],
            w["place"]: [_fmt_metric(m, v) for m, v in zip(metric, _col(df, "target"), strict=True)],
            "z": _col(df, "z_adjusted" if "z_adjusted" in df else "z").map(fmt_number),
            "Outside": _col(df, "flag", "").map(lambda f: _flag_text(f).replace("above", "above the").replace("below", "below the") + "% limit"),
        }
    )
    return Table(
        out,
        caption=f"{w['Areas']} outside the funnel limits",
        note=f"Base: {w['unit']} in the {w['area']} (residents for the rate). z allows for "
        f"over-dispersion where the test finds it. A{'n' if w['area'][:1] in 'aeiou' else ''} {w['area']} outside "
        "the 95% limit can be chance (1 in 20 are expected to be); outside the 99.8% limit it is unlikely to be chance.",
        numeric=("Count", "Base", f"{w['Area']} value", w["place"], "z"),
    )


def overdispersion_table(res: object) -> Table:
    """φ, τ² and the heterogeneity test of each borough funnel."""
    df = res.overdispersion.reset_index(drop=True)  # type: ignore[attr-defined]
    het = getattr(res, "heterogeneity", pd.DataFrame())
    het = het.set_index("metric") if "metric" in het else pd.DataFrame()
    metric = _col(df, "metric", "").map(_text)
    w = _words(res)
    out = pd.DataFrame(
        {
            "Measure": metric.map(lambda m: metric_label(m, res)),
            w["place"]: [_fmt_metric(m, v) for m, v in zip(metric, _col(df, "target"), strict=True)],
            "φ": _col(df, "phi").map(fmt_number),
            "τ²": _col(df, "tau2").map(_fmt_small),
            "I²": [fmt_pct(het["i2"].get(m)) if "i2" in het else DASH for m in metric],
            "p (heterogeneity)": [fmt_p(het["p_value"].get(m)) if "p_value" in het else DASH for m in metric],
            w["Areas"]: _col(df, "k").map(fmt_int),
            "Limits widened": _col(df, "adjusted" if "adjusted" in df else "overdispersed").map(_text),
        }
    )
    # a model summary withheld in publication (computed from suppressed counts) shows [c], not "not estimable"
    het_rows = {m: i for i, m in enumerate(getattr(res, "heterogeneity", pd.DataFrame()).get("metric", []))}
    for i, m in enumerate(metric):
        for table, column, row, shown in (("overdispersion", "phi", i, "φ"), ("overdispersion", "tau2", i, "τ²"),
                                          ("overdispersion", "target", i, w["place"]),
                                          ("heterogeneity", "i2", het_rows.get(m), "I²"),
                                          ("heterogeneity", "p_value", het_rows.get(m), "p (heterogeneity)")):
            if row is not None and is_withheld(res, table, column, row):
                out.at[i, shown] = "[c]"
    return Table(
        out,
        caption=f"How much the {w['areas']} differ",
        note=f"φ near 1: {w['areas']} differ no more than chance would make them; φ well above 1: "
        "real differences in practice, so the funnel limits are widened by τ² (Spiegelhalter 2005). "
        f"φ is estimated after pulling in the most extreme {w['areas']} (10% winsorising); the heterogeneity "
        f"test and I² count every {w['area']} in full, so a few far-out {w['areas']} among otherwise alike ones "
        "give a small φ beside a very small p. The sentences below say which holds for each measure."
        + (f" Small {w['areas']} published together (\"Other {w['areas']} (k)\") count as one in these "
           "figures, as in the tables: every number they use is published."
           if any(c.get("table") == "boroughs" for c in (getattr(res, "parameters", {}) or {}).get(
               "combined_areas") or ()) else ""),
        numeric=(w["place"], "φ", "τ²", "I²", "p (heterogeneity)", w["Areas"]),
    )


def band_consistency_table(res: object) -> Table:
    """Boroughs whose bands disagree with the London-wide harm-score thresholds."""
    df = getattr(res, "band_consistency", pd.DataFrame())
    if "flag" in df:
        df = df[~df["flag"].astype(str).isin(["consistent", "[c]", "", "nan"])]
    df = df.reset_index(drop=True)
    w = _words(res)
    out = pd.DataFrame(
        {
            w["Area"]: _col(df, "borough").map(_text),
            "People": _col(df, "n").map(fmt_int),
            "Band disagrees": _col(df, "disagree").map(fmt_int),
            f"Share ({_ci(res)})": _zip_fmt(fmt_share, df, "share"),
            "Flag": _col(df, "flag", "").map(_flag_text),
        }
    )
    return Table(
        out,
        caption=f"{w['Areas']} whose bands disagree with {w['place']}-wide harm-score thresholds",
        note=f"A person whose band differs from the band the {w['place']}-wide thresholds would give "
        "their harm score counts as a disagreement.",
        numeric=tuple(out.columns[1:4]),
    )


def _bands_not_assessed(res: object, table: str) -> bool:
    """Band performance not assessable and nothing in ``table``: the status note says why, no empty table."""
    status = _text(getattr(res, "band_status", ""))
    df = getattr(res, table, pd.DataFrame())
    return status not in ("", "assessed") and (not isinstance(df, pd.DataFrame) or df.empty)


def band_summary_table(res: object) -> Table | Markupish:
    """Fairness summary of the risk bands against later violence, per threshold and grouping
    (nothing when band performance is not assessable: :func:`band_status_note` says why)."""
    if _bands_not_assessed(res, "band_summary"):
        return Markupish("", "")
    df = getattr(res, "band_summary", pd.DataFrame()).reset_index(drop=True)
    out = pd.DataFrame(
        {
            "Band used as 'high risk'": _col(df, "threshold", "").map(
                lambda t: " or ".join(w.capitalize() for w in _text(t).split("_"))
            ),
            "Groups compared": _col(df, "by", "").map(lambda t: _text(t).replace("_", " ")),
            "Equalised-odds difference": _col(df, "equalized_odds_difference").map(fmt_number),
            "Demographic-parity difference": _col(df, "demographic_parity_difference").map(fmt_number),
            "Demographic-parity ratio": _col(df, "demographic_parity_ratio").map(fmt_number),
            "Groups excluded": _col(df, "groups_excluded", "").map(_text),
        }
    )
    return Table(
        out,
        caption="Do the risk bands work equally well for every group?",
        note="Differences are the largest gap between groups in error rates (equalised odds) or in "
        "the share put in the band (demographic parity): 0 is equal treatment. Groups with no "
        "later violence, or no one without it, cannot be compared and are excluded.",
        numeric=tuple(out.columns[2:5]),
    )


def band_rates_table(res: object, *, threshold: str = "red_amber", by: str = "ethnicity") -> Table | Markupish:
    """Per-group error rates of one band threshold: selection rate, FPR, FNR, precision
    (nothing when band performance is not assessable: :func:`band_status_note` says why)."""
    if _bands_not_assessed(res, "band_by_group"):
        return Markupish("", "")
    df = getattr(res, "band_by_group", pd.DataFrame())
    if "threshold" in df:
        df = df[(df["threshold"] == threshold) & (df["by"] == by)]
    df = df.reset_index(drop=True)
    ci = _ci(res)
    out = pd.DataFrame(
        {
            by.replace("_", " ").capitalize(): _col(df, "group").map(_text),
            "People": _col(df, "n").map(fmt_int),
            f"In band ({ci})": _zip_fmt(fmt_share, df, "selection_rate", "selection_rate_low", "selection_rate_high"),
            f"False positive rate ({ci})": _zip_fmt(fmt_share, df, "fpr", "fpr_low", "fpr_high"),
            f"False negative rate ({ci})": _zip_fmt(fmt_share, df, "fnr", "fnr_low", "fnr_high"),
            f"Later violence ({ci})": _zip_fmt(fmt_share, df, "base_rate", "base_rate_low", "base_rate_high"),
        }
    )
    band = " or ".join(w.capitalize() for w in threshold.split("_"))
    return Table(
        out,
        caption=f"Band {band} as a prediction of violence in the next 12 months, by {by.replace('_', ' ')}",
        note="False positive rate: of those with no later violence, the share put in the band. "
        "False negative rate: of those with later violence, the share not in it.",
        numeric=tuple(out.columns[1:]),
    )


def checks_table(res: object, *, borough: str | None = None) -> Table:
    """Data-protection checks for the report's quarter, London-wide rows.

    In publication mode the free-text ``detail`` column is left out: it can
    quote counts that disclosure control has suppressed in the count column.
    """
    df = res.checks  # type: ignore[attr-defined]
    borough = borough or place(res).all_areas  # "All boroughs", or the profile's "All police force areas"
    quarter = getattr(res, "quarter", None)
    if "quarter" in df and quarter is not None and (df["quarter"] == quarter).any():
        df = df[df["quarter"] == quarter]
    if "borough" in df and (df["borough"] == borough).any():
        df = df[df["borough"] == borough]
    df = df.reset_index(drop=True)
    ci = _ci(res)
    cols = {
        "Check": _col(df, "check", "").map(
            lambda s: _text(s).replace("_", " ").replace("boroughs", _words(res)["areas"]).capitalize()),
        "Finding it tests": _col(df, "finding", "").map(_text),
        "Flagged": _col(df, "count").map(fmt_int),
        "Of": _col(df, "n").map(fmt_int),
        f"Share ({ci})": _zip_fmt(fmt_share, df, "share"),
        "Status": _col(df, "status", "").map(_text),
    }
    if _mode_of(res) == "internal":
        cols["Detail"] = _col(df, "detail", "").map(_text)
    out = pd.DataFrame(cols)
    return Table(
        out,
        caption=f"Data-protection checks, {_words(res)['place']}-wide",
        note="Each check looks in the matrix for a failure a regulator or review has found before. "
        "'not assessable': the extract lacks what the check needs.",
        numeric=("Flagged", "Of", f"Share ({ci})"),
    )


def quarantine_table(res: object) -> Table:
    """Rows quarantined, by the rule they broke (no values shown)."""
    df = res.quarantine_reasons  # type: ignore[attr-defined]
    df = (df() if callable(df) else df).reset_index(drop=True)
    out = pd.DataFrame(
        {
            "Rule broken": _col(df, "rule", "").map(lambda s: _text(s).replace("_", " ")),
            "Column": _col(df, "column", "").map(_text),
            "Rows": _col(df, "rows").map(fmt_int),
        }
    )
    return Table(
        out,
        caption="Rows quarantined, by reason",
        note="A row that breaks several rules is counted under each. Quarantined rows are counted, "
        "never silently dropped, and never shown in a report.",
        numeric=("Rows",),
    )


def quality_summary(res: object) -> Markupish:
    """One sentence: rows in the file, used, quarantined."""
    n_rows = getattr(res, "n_rows", None)
    q = getattr(res, "quarantined", None)
    used = n_rows - q if isinstance(n_rows, (int, np.integer)) and isinstance(q, (int, np.integer)) else None
    share = fmt_pct(q / n_rows, 2) if used is not None and n_rows else DASH
    text = (
        f"The file held {fmt_int(n_rows)} rows: {fmt_int(used)} were used and {fmt_int(q)} ({share}) were "
        "quarantined because they broke a rule of the matrix format."
    )
    return Markupish(f"<p>{html.escape(text)}</p>", text)


def trend_table(res: object, *, metrics: Sequence[str] | None = None, last: int | None = 8) -> Table:
    """One row per quarter (the last ``last``), one column per metric: value with its interval."""
    df = res.trends  # type: ignore[attr-defined]
    if metrics is not None and "metric" in df:
        df = df[df["metric"].isin(list(metrics))]
    quarters = sorted(df["quarter"].astype(str).unique()) if "quarter" in df else []
    if last:
        quarters = quarters[-last:]
    out = pd.DataFrame({"Quarter": quarters})
    for m in list(metrics or dict.fromkeys(df["metric"])) if "metric" in df else []:
        sub = df[df["metric"] == m].assign(quarter=lambda d: d["quarter"].astype(str)).set_index("quarter")
        cells = {q: _fmt_metric(m, r.get("value"), r.get("ci_low"), r.get("ci_high")) for q, r in sub.iterrows()}
        label = metric_label(m, res)
        out[label[:1].upper() + label[1:]] = [cells.get(q, DASH) for q in quarters]
    return Table(
        out,
        caption=(f"The {_plural(len(quarters), 'quarter')} to {quarters[-1]}" if quarters and last
                 else "Every quarter"),
        note=f"Shares with their {_ci(res)}; counts of the whole list have no interval.",
        numeric=tuple(out.columns[1:]),
    )


def disclosure_summary(res: object) -> Markupish:
    """What disclosure control did (publication mode): a paragraph, and the figures withheld as a list."""
    note = _text(getattr(res, "disclosure_note", ""))
    dec = getattr(res, "disclosure", pd.DataFrame())
    if _mode_of(res) != "publication":
        text = "Internal mode: no disclosure control has been applied. Do not publish these tables."
        return Markupish(f'<p class="muted">{html.escape(text)}</p>', text)
    counted = _suppressed_cells(res)  # the same count as the methods' table (issue 12)
    if counted is not None:
        cells, hidden = counted
        count = (f"{fmt_int(hidden)} of the {fmt_int(cells)} numbers in this report's tables are suppressed; "
                 "Methods gives the share per table.")
    else:
        cells = int(dec["hidden"].astype(bool).sum()) if "hidden" in dec else 0
        count = f"{fmt_int(cells)} table cells are suppressed in this report."
    # the figures withheld ("At the Red threshold, ... withheld for ...") as a list, not a wall of text
    sentences = re.split(r"(?<=\.)\s+(?=[A-Z])", note.strip()) if note.strip() else []
    listed = [x for x in sentences if x.startswith("At the ")]
    rest = " ".join([*(x for x in sentences if not x.startswith("At the ")), count])
    body = f'<p class="muted">{html.escape(rest)}</p>'
    if listed:
        items = "".join(f"<li>{html.escape(x)}</li>" for x in listed)
        body += f'<p class="muted">Figures withheld:</p><ul class="muted withheld-list">{items}</ul>'
    text = " ".join([rest, *listed])
    return Markupish(body, text)


#: Readable names of the audit's tables (for the suppression table of the methods section).
TABLE_LABELS: dict[str, str] = {
    "representation": "Representation ratios",
    "relative_rate": "Relative rate indices",
    "sensitivity": "Benchmark sensitivity",
    "no_risk": "No-risk shares",
    "no_risk_duration": "Time on the list of the people with no risk",
    "boroughs": "Boroughs (funnel plots)",
    "casemix": "Boroughs adjusted for case mix",
    "band_consistency": "Borough band thresholds",
    "trends": "Trends",
    "checks": "Data-protection checks",
    "sharing_by_partner": "Sharing by partner type",
    "band_by_group": "Risk bands by group",
    "band_versus_reference": "Risk bands against the reference group",
    "band_summary": "Risk bands: gaps between groups",
    "band_calibration": "Later violence by band",
    "quarantine_reasons": "Rows quarantined",
}


def suppression_table(res: object) -> Markupish | Table:
    """What disclosure control cost, per table (issue 12): cells hidden and people behind them.

    From ``res.suppression`` (publication mode): the share of the table's
    numbers shown as [c] and, in bands, the share of the people the table
    counts who are in a row with a hidden number. Internal mode: one sentence.
    """
    if _mode_of(res) != "publication":
        text = "Internal version: nothing is suppressed."
        return Markupish(f'<p class="muted">{html.escape(text)}</p>', text)
    s = getattr(res, "suppression", pd.DataFrame())
    if not isinstance(s, pd.DataFrame) or s.empty:
        text = fill(res, "No table of {period} holds a number that disclosure control applies to.")
        return Markupish(f"<p>{html.escape(text)}</p>", text)
    if not assessable(res, "trends"):  # no trend section (a pooled list: one period): no row for it either
        s = s[_col(s, "table", "").map(_text) != "trends"]
    names = _col(s, "table", "").map(_text)
    out = pd.DataFrame({
        "Table": [TABLE_LABELS.get(n, n.replace("_", " ")) for n in names],
        "Numbers": _col(s, "cells").map(fmt_int),
        "Suppressed": _col(s, "cells_hidden").map(fmt_int),
        "Share suppressed": _col(s, "cells_hidden_share").map(lambda v: fmt_pct(v, 1)),
        "People in rows with a suppressed number": _col(s, "people_hidden_share").map(_text),
    })
    return Table(
        out,
        caption="What suppression hides, per table",
        note="Numbers: the counts, bases and figures calculated from them in the table. People: of the people "
        "the table counts, the share in a row with a suppressed number, in bands (an exact share could give a "
        "suppressed count back). Suppression rests on counts, not on findings: a row of few people loses its "
        "figures wherever it appears.",
        numeric=("Numbers", "Suppressed", "Share suppressed"),
    )


def hidden_boroughs_note(res: object, metric: str) -> Markupish:
    """Under a funnel plot: the boroughs it cannot show because their figures are suppressed (a note,
    never an axis label; issue 12). Empty when every borough is shown."""
    from fairness.publish.publication import hidden_rows

    names = hidden_rows(getattr(res, "boroughs", pd.DataFrame()), metric=metric)
    w = _words(res)
    texts = []
    if names:
        what = w["Area"] if len(names) == 1 else f"{len(names)} {w['areas']}"
        texts.append(f"{what} not shown (suppressed): {', '.join(names)}.")
    texts += combined_areas_note(res, metric)
    if not texts:
        return Markupish("", "")
    text = " ".join(texts)
    return Markupish(f'<p class="table-note figure-note">{html.escape(text)}</p>', text)


def combined_areas_note(res: object, metric: str) -> list[str]:
    """Under a funnel plot: the small areas published together as one row ("Other boroughs (2)"), with
    that row's figure; the row is not a point of the funnel (a group of areas is not an area that can be
    compared with the limits). Empty when no areas were combined for ``metric``."""
    params = getattr(res, "parameters", {}) or {}
    boroughs = getattr(res, "boroughs", pd.DataFrame())
    w = _words(res)
    out = []
    for c in params.get("combined_areas") or ():
        if c.get("table") != "boroughs" or c.get("metric") != metric:
            continue
        row = boroughs[(boroughs["metric"] == metric) & (boroughs["borough"].astype(str) == c["label"])] \
            if {"metric", "borough"} <= set(boroughs.columns) else boroughs.iloc[0:0]
        figure_text = ""
        if len(row):
            r = row.iloc[0]
            value = _fmt_metric(metric, r.get("value"))
            figure_text = f" ({value}; {fmt_int(r.get('count'))} of {fmt_int(r.get('n'))} {w['unit']})" \
                if metric != "rate_per_1000" else \
                f" ({value} per 1,000 residents; {fmt_int(r.get('count'))} {w['unit']})"
        out.append(f"{_and_words(list(c['areas']))} are published together as {c['label']}{figure_text}: each "
                   f"alone would be suppressed. Not drawn: a group of {w['areas']} is not one {w['area']} "
                   "that can be compared with the limits.")
    return out


def _and_words(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _threshold(res: object) -> int:
    from fairness.definitions import DEFAULT_SUPPRESSION_THRESHOLD

    params = getattr(res, "parameters", {}) or {}
    try:
        return int(params.get("disclosure_threshold", DEFAULT_SUPPRESSION_THRESHOLD))
    except (TypeError, ValueError):
        return DEFAULT_SUPPRESSION_THRESHOLD


def funnel_figure(res: object, metric: str, *, number: int | None = None, caption: str = "",
                  scale: float = 1.0) -> Markupish:
    """A borough funnel plot with its note of hidden boroughs; or, when suppression hides every
    borough, one sentence saying what was withheld and why (issue 12)."""
    from fairness import plots
    from fairness.publish.publication import withheld_sentence

    boroughs = getattr(res, "boroughs", pd.DataFrame())
    rows = boroughs[boroughs["metric"] == metric] if "metric" in boroughs else boroughs
    label = f"Figure {number}. " if number else ""
    what = f"The funnel plot of the {metric_label(metric, res)} by {_words(res)['area']}"
    withheld = withheld_sentence(rows, what, columns=["value"])
    if withheld:
        withheld = f"{label}{withheld}"
        return Markupish(f'<p class="withheld">{html.escape(withheld)}</p>', withheld)
    chart = figure(plots.funnel(boroughs, res.funnel_limits, metric=metric,  # type: ignore[attr-defined]
                                place=place(res), suppressed_in_note=True),
                   number=number, caption=caption, scale=scale)
    note = hidden_boroughs_note(res, metric)
    return Markupish(chart.html + note.html, "\n".join(t for t in (chart.text, note.text) if t))


def _suppressed_cells(res: object) -> tuple[int, int] | None:
    """The numbers of the audit's tables and how many disclosure control hid (its ``suppression`` table,
    summed); None in internal mode or without the table."""
    s = getattr(res, "suppression", pd.DataFrame())
    if _mode_of(res) != "publication" or not isinstance(s, pd.DataFrame) or s.empty:
        return None
    return int(pd.to_numeric(s["cells"]).sum()), int(pd.to_numeric(s["cells_hidden"]).sum())


def suppressed_summary(res: object) -> str:
    """How many of the audit's numbers disclosure control hid, in a few words (the briefing's provenance
    line; the report's methods have :func:`suppression_table`). Empty in internal mode."""
    counted = _suppressed_cells(res)
    if counted is None:
        return ""
    cells, hidden = counted
    share = fmt_pct(hidden / cells if cells else 0.0, 1)
    return f"{fmt_int(hidden)} of {fmt_int(cells)} numbers ({share}); per table in the report's methods"


def methods_notes(res: object) -> Markupish:
    """The audit's own caveats (benchmark assumptions, estimates that failed)."""
    notes = [_text(n) for n in (getattr(res, "notes", ()) or ())]
    if not notes:
        notes = [fill(res, "The audit recorded no further caveats for {period}.")]
    return _bullets(notes)


# --------------------------------------------------------------------------- boxes


@dataclass(frozen=True)
class Markupish:
    """A bit of HTML with a plain-text twin, displayed as HTML by Jupyter."""

    html: str
    text: str = ""

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.text


# --------------------------------------------------------------------------- words of the profile


def fill(res: object, text: str, *, london: str | None = None) -> str:
    """Report text in the words of ``res``'s profile (:func:`fairness.results.sentences.place`).

    ``{place}``, ``{people}``, ``{area}``, ``{areas}``, ``{Area}``, ``{Areas}``,
    ``{police}``, ``{list}``, ``{List}``, ``{unit}``, ``{Unit}``,
    ``{unit_singular}``, ``{share_group}`` (the group whose share of the list is
    compared across areas), ``{benchmark}`` (the headline benchmark's label) and
    ``{period}`` ("this quarter"; "the list as supplied" for a pooled list) are filled in; any other brace is left as it is. Where the default
    ``london-gvm`` profile says more than the general text can (the matrix's
    published history), ``{{London's words|everyone else's}}`` gives both in
    one text: the first for the default profile, the second for any other
    (the choice is made first, then the words are filled in, so a profile's own
    words may hold "|" or braces). ``london`` is a whole text for the
    default profile instead.

    >>> from types import SimpleNamespace
    >>> ew = SimpleNamespace(parameters={"profile": "england-wales-forces"})
    >>> fill(ew, "{Areas} of {place}")
    'Police force areas of England and Wales'
    >>> text = "Each {area} is compared with {{London on four measures|{place} as a whole}}."
    >>> fill(None, text), fill(ew, text)
    ('Each borough is compared with London on four measures.', 'Each police force area is compared with England and Wales as a whole.')
    """
    where = place(res)
    if london is not None and where.is_default:
        text = london
    words = where.words()
    rep = getattr(res, "representation", None)
    words["benchmark"] = (_first(rep, "benchmark_label") if isinstance(rep, pd.DataFrame) else "") or "the benchmark"
    words["period"] = POOLED_PERIOD if is_pooled(res) else "this quarter"
    # the choices first, then the words: a word the profile writes (a benchmark's label) may hold
    # "|" or a brace, which must not be read as part of a choice
    text = _ALTERNATIVES.sub(lambda m: m.group(1) if where.is_default else m.group(2), text)
    return fill_words(text, words)


#: ``{{London's words|everyone else's}}`` in report text (:func:`fill`); either side may hold
#: ``{word}`` placeholders, filled in after the choice is made.
_ALTERNATIVES = re.compile(r"\{\{((?:[^{}|]|\{\w+\})*)\|((?:[^{}|]|\{\w+\})*)\}\}")


@dataclass(frozen=True)
class Prose:
    """Markdown text for a report, displayed as a Markdown cell is (Jupyter, nbconvert)."""

    text: str

    def _repr_markdown_(self) -> str:
        return self.text

    def __str__(self) -> str:
        return self.text


def prose(res: object, text: str, *, london: str | None = None) -> Prose:
    """A report's Markdown text in the words of ``res``'s profile (see :func:`fill`)."""
    return Prose(fill(res, text, london=london))


#: What each report section needs from the audit (a table that is not empty).
SECTION_TABLES: dict[str, tuple[str, str]] = {
    "no_risk_by_age": ("no_risk", "the no-risk share by age band"),
    "durations": ("no_risk_duration", "how long people with no risk have been listed"),
    "band_consistency": ("band_consistency", "whether each {area}'s bands follow the {place}-wide thresholds"),
    "bands": ("band_summary", "how well the risk bands predict later violence"),
    "checks": ("checks", "the data-protection checks"),
    "trends": ("trends", "trends over the quarters"),
}


def assessable(res: object, section: str) -> bool:
    """Whether a report section can be shown for ``res`` (always, with the default profile).

    With another profile a section is shown when the audit filled its table
    (:data:`SECTION_TABLES`); the data-protection checks when at least one was
    assessable. Otherwise :func:`not_assessable` says so in one sentence. The
    trends are never shown for a pooled list (any profile): it has one period.
    """
    if section not in SECTION_TABLES:
        raise ValueError(f"unknown section {section!r}; valid: {', '.join(SECTION_TABLES)}")
    if section == "trends" and is_pooled(res):
        return False  # one period, the list as supplied: no trend (:data:`NO_TREND_POOLED`)
    if place(res).is_default:
        return True
    table = getattr(res, SECTION_TABLES[section][0], None)
    if not isinstance(table, pd.DataFrame) or table.empty:
        return False
    if section == "no_risk_by_age":
        return "by" in table and bool((table["by"].astype(str) == "age_band").any())
    if section == "checks" and "status" in table:
        return bool((table["status"].astype(str) != "not assessable").any())
    return True


#: Words of the audit's notes (and band_reason) that give the reason a section is not assessable.
_SECTION_NOTES: dict[str, str] = {"band_consistency": "band consistency", "trends": "trend",
                                  "checks": "check", "durations": "duration", "no_risk_by_age": "age"}


def _reason(res: object, section: str) -> str:
    """Why the audit left a section empty, in its own words ("england-wales-forces declares no bands"), or ""."""
    if section == "bands":
        return _text(getattr(res, "band_reason", "")).removeprefix("not assessable: ")
    key = _SECTION_NOTES.get(section, section)
    for note in getattr(res, "notes", ()) or ():
        note = str(note)
        if key in note.lower() and "not assessable: " in note:
            return note.split("not assessable: ", 1)[1]
    return ""


#: Why a pooled list's report has no trend, in place of the trend charts and table.
NO_TREND_POOLED = ("Not shown: there is no trend to show. The list was supplied as one list, not as quarterly "
                   "snapshots, so it is one period and cannot be broken down by quarter: every figure in this "
                   "report is of the list as supplied. A list supplied as quarterly snapshots has a report for "
                   "each quarter, and a trend across them.")


def not_assessable(res: object, section: str) -> Markupish:
    """One sentence saying that a section cannot be shown for this profile yet (see :func:`assessable`)."""
    if section == "trends" and is_pooled(res):
        return Markupish(f'<p class="not-assessable">{html.escape(NO_TREND_POOLED)}</p>', NO_TREND_POOLED)
    what = fill(res, SECTION_TABLES[section][1])
    reason = _reason(res, section)
    text = (f"Not shown: {what} cannot be assessed for this audit ({reason})." if reason else
            f"Not shown: {what} cannot be assessed yet for an audit with profile {place(res).profile!r}; "
            "it runs with the london-gvm profile only for now.")
    return Markupish(f'<p class="not-assessable">{html.escape(text)}</p>', text)


def trends_intro(res: object) -> Prose:
    """The heading of the report's trends section and what its charts show; for a pooled list the
    heading only (:func:`not_assessable` then says why there is no trend)."""
    head = '<h2 id="trends">7. Trends</h2>'
    if is_pooled(res):
        return Prose(head)
    return Prose(f"{head}\n\nEvery quarter up to this report's quarter, with intervals and the rolling four-quarter "
                 "value; later quarters are not shown. A gap in a line is a quarter with no data. Differences "
                 "between quarters are only meaningful where the intervals do not overlap much.")


def is_synthetic(res: object) -> bool:
    """True when the input is a synthetic matrix (``fairness synth`` writes ``<stem>.truth.json``)."""
    source = Path(str(getattr(res, "source", "")))
    return source.with_suffix(".truth.json").exists() or "synthetic" in source.parts


def list_title(where: object = None) -> str:
    """The list's name in titles: "Gang database" for the default profile, else the list's name capitalised.

    ``where`` is a :class:`~fairness.results.sentences.Place`, or anything
    :func:`~fairness.results.sentences.place` takes (an audit result, its
    parameters). The one definition used by the report's title, the runner's
    page titles and the trend appendix.

    >>> list_title({"profile": "england-wales-forces"}), list_title()
    ('Stop and search', 'Gang database')
    """
    where = where if isinstance(where, Place) else place(where)
    return "Gang database" if where.is_default else where.words()["List"]


def title_block(res: object, *, title: str | None = None, lede: str | None = None) -> Markupish:
    """The report's title, quarter and what it covers; a strip saying so if the data are synthetic.

    ``title`` defaults to "Gang database oversight report" (another profile: its list's name, e.g.
    "Stop and search oversight report"); ``lede`` replaces the sentence after the count of people
    listed ("" for none).
    """
    where = place(res)
    if title is None:
        title = f"{list_title(where)} oversight report"
    quarter = period(_text(getattr(res, "quarter", "")))
    n = fmt_int(getattr(res, "n", None))
    mode = _mode_of(res)
    w = where.words()
    if lede is None:
        lede = (
            f"This report compares who is listed with who lives in {w['place']}, looks at the {w['unit']} "
            f"with no risk, at differences between {w['areas']}, at how well the risk bands work and at "
            "data-protection failures."
        )
    # a pooled list (no snapshots) has no quarter: the report is of the list as supplied
    when = "The list as supplied, not broken down by quarter" if is_pooled(res) else f"Quarter {quarter}"
    lede = f"{when}: {n} {where.counted} on the list. {lede}".strip()
    strip = ""
    if is_synthetic(res):
        strip = (
            '<p class="synthetic-strip">SYNTHETIC DATA: these figures were generated by '
            "<code>fairness synth</code> to match published figures; they describe no real person.</p>"
        )
    status = (
        "Publication version: disclosure control applied to every table."
        if mode == "publication"
        else "Internal version: no disclosure control. Not for publication."
    )
    body = (
        f'<header class="title-block"><h1 id="top">{html.escape(title)}: {html.escape(quarter)}</h1>'
        f"{strip}<p class=\"lede\">{html.escape(lede)}</p>"
        f'<p class="muted">{html.escape(status)}</p></header>'
    )
    return Markupish(body, f"{title}: {quarter}\n{lede}\n{status}")


def headline_box(res: object) -> Markupish:
    """The headline findings as a numbered list in a box."""
    sentences = [str(s) for s in res.headline()]  # type: ignore[attr-defined]
    items = "".join(f"<li>{html.escape(s)}</li>" for s in sentences)
    return Markupish(f'<div class="headline-box"><ol>{items}</ol></div>', "\n".join(sentences))


def summary_box(text: str, *, title: str = "") -> Markupish:
    """A boxed paragraph."""
    head = f"<h4>{html.escape(title)}</h4>" if title else ""
    paras = "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n") if p.strip())
    return Markupish(f'<div class="note-box">{head}{paras}</div>', text)


def banner(mode: str) -> Markupish:
    """The internal-mode banner (empty in publication mode)."""
    if _check_mode(mode) == "internal":
        return Markupish(
            '<div class="internal-banner">INTERNAL — NOT FOR PUBLICATION</div>', "INTERNAL — NOT FOR PUBLICATION"
        )
    return Markupish("", "")


def _row(df: pd.DataFrame, **where: object) -> pd.Series | None:
    sub = df
    for k, v in where.items():
        if k not in sub.columns:
            return None
        sub = sub[sub[k].astype(str) == str(v)]
    return sub.iloc[0] if len(sub) else None


def _known(v: object) -> bool:
    return not (_missing(v) or _marker(v))


def questions_for_force(res: object, *, group: str | None = None) -> Markupish:
    """The questions the numbers raise for the force, each with its number (about ``group``; default the
    profile's share group, "Black" for the London list).

    Only questions the data support are asked: a question about a borough is
    asked only if a borough is outside its limits, and so on.
    """
    qs: list[str] = []
    group = group if group is not None else place(res).share_group
    rep, label = _one_benchmark(res.representation, None)  # type: ignore[attr-defined]
    r = _row(rep, group=group)
    if r is not None and _known(r.get("ratio")) and direction(r.get("ci_low"), r.get("ci_high")) == "higher":
        qs.append(
            f"{group} people are {fmt_pct(r['share'])} of "
            f"{'those listed' if place(res).is_default else 'the ' + _words(res)['unit']} "
            f"against {fmt_pct(r['benchmark_share'])} of "
            f"the benchmark population ({label}): a representation ratio of "
            f"{sfmt_ratio(r['ratio'], r['ci_low'], r['ci_high'])}. What evidence, beyond intelligence, supports "
            "each listing, and how is it checked for bias?"
        )
    nr = res.no_risk  # type: ignore[attr-defined]
    r = _row(nr, by="all", group="all")
    if r is not None and _known(r.get("share")):
        qs.append(
            f"{sfmt_share(r['share'], r['ci_low'], r['ci_high'])} of the {_words(res)['unit']} "
            f"({fmt_int(r['count'])} of {fmt_int(r['n'])}) were assessed as posing no risk of violence "
            f"({_text(r.get('definition_label', r.get('definition')))}). Why are they still on the list, "
            "and when will each be reviewed for removal?"
        )
    bor = res.boroughs  # type: ignore[attr-defined]
    if "flag" in bor and "metric" in bor:
        nrb = bor[bor["metric"] == "no_risk_share"]
        if nrb["flag"].astype(str).isin(["above_99.8", "below_99.8"]).any():
            qs.append(_borough_question(res))
    chk = res.checks  # type: ignore[attr-defined]
    if "status" in chk:
        every = place(res).all_areas
        sel = chk[(chk["status"] == "concern") & (chk.get("borough", every) == every)]
        if "quarter" in sel:
            sel = sel[sel["quarter"] == getattr(res, "quarter", None)]
        if len(sel):
            names = ", ".join(_text(c).replace("_", " ") for c in sel["check"])
            qs.append(
                f"{_plural(len(sel), 'data-protection check')} raised a concern ({names}). "
                + fill(res, "What is being done about each, and when will each be put right?",
                       london="What has changed since the ICO's 2018 enforcement notice, and when will each be put right?")
            )
    if not qs:
        qs.append(fill(res, "The figures in {period} raise no specific question; ask the force to confirm the "
                            "review dates."))
    return Markupish(
        '<div class="note-box questions"><ol>'
        + "".join(f"<li>{html.escape(q)}</li>" for q in qs)
        + "</ol></div>",
        "\n".join(qs),
    )


def provenance_table(
    res: object,
    *,
    run_time: str = "",
    parameters: Mapping[str, object] | None = None,
    publication_date: str = "",
    contact: str = "",
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
    used = n_rows - quarantined if n_rows is not None and quarantined is not None else None
    quarters = tuple(getattr(res, "quarters", ()) or ())
    run = run_time or datetime.now(UTC).isoformat(timespec="seconds")
    rows = [
        ("Date of publication", publication_date or run[:10]),
        ("Contact", contact.strip() or CONTACT_PLACEHOLDER),
        ("Input file", shown_source),
        ("SHA-256 of the input", _text(getattr(res, "sha256", ""))),
        ("Rows in the file", fmt_int(n_rows)),
        ("Rows used", fmt_int(used)),
        ("Rows quarantined", fmt_int(quarantined)),
        *([("Period reported", f"{POOLED_PERIOD} (a pooled list: no snapshots, so no quarters)"),
           (f"{_words(res)['Unit']} in the list", fmt_int(getattr(res, "n", None))),
           ("Quarters used", "none: the list has no snapshots")] if is_pooled(res) else
          [("Quarter reported", _text(getattr(res, "quarter", ""))),
           (f"{_words(res)['Unit']} in that quarter", fmt_int(getattr(res, "n", None))),
           ("Quarters used", f"{len(quarters)} ({quarters[0]} to {quarters[-1]})" if quarters else DASH)]),
        ("Mode", mode),
        ("fairness-audit version", __version__),
        ("Python", platform.python_version()),
        # what disclosure control combined is said in the methods (the disclosure note) and metrics.json
        ("Audit parameters", _json_compact({k: v for k, v in (getattr(res, "parameters", {}) or {}).items()
                                            if k not in ("combined_groups", "combined_areas")})),
    ]
    if parameters:
        rows.append(("Report parameters", _json_compact(dict(parameters))))
    rows.append(("Time of the run", run))
    rows.append(("Re-running", "the same input with the same parameters gives the same numbers "
                               "(metrics.json is byte-identical); only the time of the run differs"))
    return Table(
        pd.DataFrame(rows, columns=["Item", "Value"]),
        caption="Provenance",
        css_class="report-table provenance",
    )


#: Shown when a briefing is rendered without a contact: it must be set before publishing.
CONTACT_PLACEHOLDER = "CONTACT NOT SET: give the report parameter `contact` before publishing"


def provenance_line(
    res: object, *, run_time: str = "", publication_date: str = "", contact: str = ""
) -> Markupish:
    """Provenance for the briefing: date of publication, contact, input digest, rows, version.

    ``publication_date`` defaults to the date of ``run_time``; ``contact``
    to :data:`CONTACT_PLACEHOLDER`, which says it must be set.
    """
    from fairness import __version__

    run = run_time or datetime.now(UTC).isoformat(timespec="seconds")
    date = publication_date or run[:10]
    who = contact.strip() or CONTACT_PLACEHOLDER
    mode = _mode_of(res)
    source = Path(str(getattr(res, "source", ""))).name
    items = [
        ("Published", date),
        ("Contact", who),
        ("Source", f"{source}, SHA-256 {getattr(res, 'sha256', '') or DASH}"),
        ("Rows", f"{fmt_int(getattr(res, 'n_rows', None))} in the file, "
                 f"{fmt_int(getattr(res, 'quarantined', None))} quarantined"),
        ("Made with", f"fairness-audit {__version__}, {mode} mode, run {run}"),
    ]
    suppressed = suppressed_summary(res)
    if suppressed:
        items.append(("Suppressed", suppressed))
    text = "; ".join(f"{k}: {v}" for k, v in items) + ". The full report has the methods, every table and the full provenance."
    parts = " · ".join(f"<strong>{html.escape(k)}:</strong> {html.escape(v)}" for k, v in items)
    return Markupish(
        f'<p class="muted provenance-line">{parts}. The full report has the methods, every table and the full '
        "provenance.</p>",
        text,
    )


def _json_compact(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, default=str, ensure_ascii=False, separators=(", ", ": "))


def _plural(n: int, word: str) -> str:
    """``1 quarter``, ``2 quarters``."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _fmt_small(v: object) -> str:
    """τ² and other small positive numbers: two significant figures, never e-notation."""
    if _missing(v) or _marker(v):
        return fmt_number(v, 4)
    f = _float(v)
    if f == 0:
        return "0"
    if abs(f) >= 0.01:
        return f"{f:.3f}"
    return f"{f:.{min(10, 1 - math.floor(math.log10(abs(f))))}f}"


def _borough_question(res: object) -> str:
    """The question about boroughs, in words: who stands out above and below on the no-risk share.

    The numbers are in the main points just above; the question names the boroughs.
    """
    bor = res.boroughs  # type: ignore[attr-defined]
    nrb = bor[bor["metric"] == "no_risk_share"]
    key = pd.to_numeric(nrb["z"], errors="coerce").abs()
    nrb = nrb.assign(_z=key).sort_values("_z", ascending=False)
    above = [_text(b) for b in nrb.loc[nrb["flag"].astype(str) == "above_99.8", "borough"]][:3]
    below = [_text(b) for b in nrb.loc[nrb["flag"].astype(str) == "below_99.8", "borough"]][:3]

    def names(xs: list[str]) -> str:
        return xs[0] if len(xs) == 1 else ", ".join(xs[:-1]) + " and " + xs[-1]

    parts = []
    areas = _words(res)["areas"]
    if above:
        parts.append(f"{names(above)} list{'s' if len(above) == 1 else ''} so many more people assessed as "
                     f"posing no risk than other {areas}")
    if below:
        parts.append(f"{names(below)} so many fewer" if above else
                     f"{names(below)} list{'s' if len(below) == 1 else ''} so many fewer people assessed as posing "
                     f"no risk than other {areas}")
    return f"Why do {', and '.join(parts)} (shares and intervals in the main points)? What in local practice explains it?"


def main_points_box(res: object) -> Markupish:
    """Page 1: 3–5 main points in plain words, each with its number, interval and benchmark."""
    from fairness.results.sentences import main_points

    points = main_points(res)  # type: ignore[arg-type]
    items = "".join(f"<li>{html.escape(p)}</li>" for p in points)
    return Markupish(
        f'<section class="main-points"><h2 id="main-points">Main points</h2><ul>{items}</ul></section>',
        "\n".join(points),
    )


def dispersion_notes(res: object) -> Markupish:
    """For each borough measure, whether the boroughs really differ, reconciling φ and the heterogeneity test."""
    from fairness.results.sentences import dispersion_sentence

    metrics = list(getattr(res, "overdispersion", pd.DataFrame()).get("metric", []))
    return _bullets([s for s in (dispersion_sentence(res, m) for m in metrics) if s])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- figures


def setup_figures() -> None:
    """Use the house chart style (:data:`fairness.plots.STYLE`) for the rest of the session."""
    import matplotlib as mpl

    try:
        from fairness.plots import STYLE
    except ImportError:  # pragma: no cover - plots not installed
        STYLE = {"figure.figsize": (7.0, 3.6), "font.size": 9.5}
    mpl.rcParams.update(STYLE)


_PRINT_DPI = 150
_CSS_PX_PER_INCH = 96


def figure(
    chart: object, *, caption: str = "", alt: str = "", number: int | None = None, scale: float = 1.0
) -> Markupish:
    """A chart (the Axes or Figure a plot function returned) as a captioned figure.

    The figure is rendered now at 150 dpi and closed, so Jupyter does not show
    it twice; it prints at its drawn size times ``scale`` (never wider than
    the text).
    """
    import base64
    import io
    import struct

    import matplotlib.pyplot as plt

    fig = getattr(chart, "figure", chart)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_PRINT_DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    png = buf.getvalue()
    width_px = struct.unpack(">I", png[16:20])[0]
    css_width = round(scale * width_px / _PRINT_DPI * _CSS_PX_PER_INCH)
    data = base64.b64encode(png).decode("ascii")
    label = f"Figure {number}. " if number else ""
    alt_text = html.escape(alt or caption or "chart")
    cap = f"<figcaption><strong>{html.escape(label)}</strong>{html.escape(caption)}</figcaption>" if caption or label else ""
    return Markupish(
        f'<figure class="chart"><img src="data:image/png;base64,{data}" alt="{alt_text}" '
        f'style="width:{css_width}px;max-width:100%">{cap}</figure>',
        f"[{label}{caption}]",
    )
