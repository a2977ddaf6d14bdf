"""Result tables for reading in JupyterLab, without touching their values.

``res.relative_rate`` is a tidy DataFrame with every value at full precision
(18 columns of floats). :func:`readable` turns any such table into a view for
a person: counts with thousands separators, shares as percentages, ratios to
two decimals, each interval folded into one "L–U" column beside its value,
p-values as "< 0.001", flags outside the expected range marked "▲"/"▼"/"⚑",
and the bookkeeping columns (method, adjustment, benchmark code) left out.
The DataFrame itself is never changed: ``readable(df).frame`` is a new frame
of text.

``AuditResult.show("relative_rate")`` is ``readable(res.relative_rate)``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from fairness.results.sentences import fmt_p

__all__ = ["Readable", "readable", "show"]

_EN = "–"
#: Counts of people or rows: whole numbers with thousands separators.
_COUNTS = {"count", "n", "rows", "k", "population", "disagree", "rolling_count", "rolling_n", "observed",
           "positives", "selected", "tp", "fp", "fn", "tn", "df"}
#: Fractions shown as percentages.
_SHARES = {"share", "benchmark_share", "selection_rate", "fpr", "fnr", "tpr", "tnr", "precision",
           "base_rate", "i2", "rolling_value"}
#: Columns a reader does not need in a table view (they are constant, or codes).
_HIDDEN = {"method", "adjust", "benchmark", "metric_label", "definition", "basis", "threshold_value"}
#: Flag values that need no mark.
_QUIET = {"within", "within_or_uncertain", "reference", "consistent", "ok", "", "nan", "none"}
_ERR_TABLE = "no table {name!r}; tables: {valid}"


def _num(v: Any) -> float | None:
    if v is None or v is pd.NA or isinstance(v, (bool, str)):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if not math.isnan(f) else None


def _text(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v)


def _count(v: Any) -> str:
    f = _num(v)
    return f"{int(round(f)):,}" if f is not None else _text(v) or _EN


def _number(v: Any, *, pct: bool = False) -> str:
    f = _num(v)
    if f is None:
        return _text(v) or _EN
    if math.isinf(f):
        return "∞" if f > 0 else "−∞"
    if pct:
        return f"{100 * f:.1f}%"
    a = abs(f)
    if a == 0:
        return "0"
    if a >= 100:
        return f"{f:,.0f}"
    if a >= 1:
        return f"{f:.2f}"
    # below 1 (rates per 1,000, τ²): two significant figures, never e-notation
    digits = min(8, 1 - math.floor(math.log10(a)))
    return f"{f:.{digits}f}"


def _interval(lo: Any, hi: Any, *, pct: bool) -> str:
    a, b = _num(lo), _num(hi)
    if a is None or b is None:
        return _text(lo) if _text(lo) == "[c]" else _EN
    return f"{_number(a, pct=pct)}{_EN}{_number(b, pct=pct)}"


#: Columns whose unit is the row's metric (trends, boroughs): a share, a count or a rate.
_BY_METRIC = {"value", "target", "lower_95", "upper_95", "lower_998", "upper_998", "rolling_value",
              "diff_prev", "diff_year"}


def _kind(table: pd.DataFrame, column: str) -> list[str]:
    """"pct", "count" or "number" for each row of ``column``."""
    if column in _SHARES or column.endswith("_share"):
        return ["pct"] * len(table)
    if column in _BY_METRIC and "metric" in table:
        return ["pct" if str(m).endswith("_share") else "count" if str(m) == "listed" else "number"
                for m in table["metric"]]
    return ["number"] * len(table)


def _cell(v: Any, kind: str) -> str:
    return _count(v) if kind == "count" and _num(v) is not None else _number(v, pct=kind == "pct")


def _flag(v: Any) -> str:
    t = _text(v)
    if t.lower() in _QUIET:
        return t.replace("_", " ")
    mark = "▲ " if t.startswith("above") else "▼ " if t.startswith("below") else "⚑ "
    return mark + t.replace("_", " ")


def _pairs(columns: list[str]) -> dict[str, tuple[str, str]]:
    """Value column → (low, high) columns of its interval."""
    out: dict[str, tuple[str, str]] = {}
    cols = set(columns)
    for c in columns:
        for lo, hi in ((f"{c}_low", f"{c}_high"),):
            if lo in cols and hi in cols:
                out[c] = (lo, hi)
    if {"ci_low", "ci_high"} <= cols:
        value = next((c for c in ("ratio", "rri", "share", "value", "oe_ratio", "rate")
                      if c in cols and c not in out), None)
        if value:
            out[value] = ("ci_low", "ci_high")
    if {"rate_low", "rate_high"} <= cols and "rate_per_1000" in cols:
        out["rate_per_1000"] = ("rate_low", "rate_high")
    if {"rolling_low", "rolling_high"} <= cols and "rolling_value" in cols:
        out["rolling_value"] = ("rolling_low", "rolling_high")
    return out


@dataclass(frozen=True)
class Readable:
    """A table of text for reading; ``frame`` is the text, ``source`` the untouched table."""

    frame: pd.DataFrame
    source: pd.DataFrame
    caption: str = ""
    flagged: tuple[int, ...] = ()

    def _repr_html_(self) -> str:
        cols = list(self.frame.columns)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        rows = []
        for i, row in enumerate(self.frame.itertuples(index=False)):
            style = ' style="font-weight:bold"' if i in self.flagged else ""
            cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in row)
            rows.append(f"<tr{style}>{cells}</tr>")
        cap = f"<caption>{html.escape(self.caption)}</caption>" if self.caption else ""
        return (f'<table class="fairness-readable">{cap}<thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table>")

    def __repr__(self) -> str:
        head = f"{self.caption}\n" if self.caption else ""
        return head + (self.frame.to_string(index=False) if len(self.frame) else "(no rows)")

    def __len__(self) -> int:
        return len(self.frame)


def readable(table: pd.DataFrame, *, caption: str = "", level: int = 95) -> Readable:
    """A readable view of a tidy result table (the table is not modified).

    >>> t = pd.DataFrame({"group": ["Black"], "count": [3105], "rri": [26.499893],
    ...                   "ci_low": [24.041772], "ci_high": [29.209342], "p_adjusted": [0.0],
    ...                   "flag": ["above_band"], "method": ["katz"]})
    >>> readable(t).frame.iloc[0].tolist()
    ['Black', '3,105', '26.50', '24.04–29.21', '< 0.001', '▲ above band']
    """
    cols = [str(c) for c in table.columns]
    pairs = _pairs(cols)
    inside = {c for lo_hi in pairs.values() for c in lo_hi}
    out: dict[str, list[str]] = {}
    for c in cols:
        if c in inside or c in _HIDDEN:
            continue
        s = table[c].tolist()
        if c in _COUNTS:
            out[c] = [_count(v) for v in s]
        elif c == "flag" or c.endswith("_flag"):
            out[c] = [_flag(v) for v in s]
        elif c.startswith("p_") or c == "p_value":
            out[c] = [fmt_p(v) for v in s]
        elif pd.api.types.is_bool_dtype(table[c]):
            out[c] = ["yes" if v else "no" for v in s]
        elif pd.api.types.is_numeric_dtype(table[c]) or any(_num(v) is not None for v in s):
            out[c] = [_cell(v, k) for v, k in zip(s, _kind(table, c), strict=True)]
        else:
            out[c] = [_text(v) for v in s]
        if c in pairs:
            lo, hi = pairs[c]
            out[f"{level}% CI" if pairs[c] == ("ci_low", "ci_high") else f"{c} {level}% CI"] = [
                _interval(a, b, pct=k == "pct")
                for a, b, k in zip(table[lo], table[hi], _kind(table, c), strict=True)]
    frame = pd.DataFrame(out)
    flags = [c for c in cols if c == "flag" or c.endswith("_flag")]
    flagged = tuple(i for i in range(len(table))
                    if any(_text(table[f].iloc[i]).lower() not in _QUIET for f in flags))
    return Readable(frame, table, caption, flagged)


def show(res: Any, name: str) -> Readable:
    """``res.show("relative_rate")``: one table of an audit, readable."""
    from fairness.results.audit import TABLES

    if name not in TABLES:
        raise ValueError(_ERR_TABLE.format(name=name, valid=", ".join(TABLES)))
    params = getattr(res, "parameters", {}) or {}
    alpha = _num(params.get("alpha", 0.05)) or 0.05
    return readable(getattr(res, name), caption=name.replace("_", " "), level=round(100 * (1 - alpha)))
