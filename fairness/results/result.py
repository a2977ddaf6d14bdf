"""The result of an audit: :class:`AuditResult`, a frozen dataclass of tidy tables, and its JSON.

:func:`fairness.audit` (:mod:`fairness.results.audit`) and
:func:`fairness.audit_counts` (:mod:`fairness.results.counts_table`) both
return one, so it lives here, below both: imports go audit -> counts_table ->
result, one way. Its fields follow :data:`fairness.results.contract.RESULT_FIELDS`
and :data:`~fairness.results.contract.RESULT_TABLES` (``docs/audit_contract.md``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from fairness.definitions import DEFAULT_SUPPRESSION_THRESHOLD
from fairness.publish.publication import protect_audit
from fairness.results.contract import (
    FORMAT_KEY,
    HEADLINE_KEY,
    JSON_FORMAT,
    PRECISION_KEY,
    RESULT_FIELDS,
    RESULT_TABLES,
)
from fairness.results.headline import headline_sentences, html_summary, text_summary

__all__ = ["AuditResult", "PRECISION_NOTE", "SIGNIFICANT_DIGITS", "TABLES", "replace"]


#: The tables of an AuditResult, in report order (from the registry, less the publication-only
#: ``disclosure`` and ``suppression``).
TABLES: tuple[str, ...] = tuple(t.name for t in RESULT_TABLES if t.name not in ("disclosure", "suppression"))


def _empty() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True)
class AuditResult:
    """Everything :func:`audit` found, as tidy tables.

    One field per entry of :data:`fairness.results.contract.RESULT_FIELDS` and
    :data:`~fairness.results.contract.RESULT_TABLES`, where each is described
    (and ``docs/audit_contract.md``, generated from them).
    """

    quarter: str
    quarters: tuple[str, ...]
    n: int
    quarantined: int
    n_rows: int
    source: str
    sha256: str
    mode: Literal["internal", "publication"]
    parameters: dict[str, Any]
    representation: pd.DataFrame = field(default_factory=_empty, repr=False)
    relative_rate: pd.DataFrame = field(default_factory=_empty, repr=False)
    sensitivity: pd.DataFrame = field(default_factory=_empty, repr=False)
    sentences: pd.DataFrame = field(default_factory=_empty, repr=False)
    no_risk: pd.DataFrame = field(default_factory=_empty, repr=False)
    no_risk_duration: pd.DataFrame = field(default_factory=_empty, repr=False)
    boroughs: pd.DataFrame = field(default_factory=_empty, repr=False)
    overdispersion: pd.DataFrame = field(default_factory=_empty, repr=False)
    funnel_limits: pd.DataFrame = field(default_factory=_empty, repr=False)
    heterogeneity: pd.DataFrame = field(default_factory=_empty, repr=False)
    casemix: pd.DataFrame = field(default_factory=_empty, repr=False)
    casemix_test: pd.DataFrame = field(default_factory=_empty, repr=False)
    band_consistency: pd.DataFrame = field(default_factory=_empty, repr=False)
    trends: pd.DataFrame = field(default_factory=_empty, repr=False)
    checks: pd.DataFrame = field(default_factory=_empty, repr=False)
    sharing_by_partner: pd.DataFrame = field(default_factory=_empty, repr=False)
    band_by_group: pd.DataFrame = field(default_factory=_empty, repr=False)
    band_versus_reference: pd.DataFrame = field(default_factory=_empty, repr=False)
    band_summary: pd.DataFrame = field(default_factory=_empty, repr=False)
    band_calibration: pd.DataFrame = field(default_factory=_empty, repr=False)
    band_status: str = "not assessable"
    band_reason: str = ""
    quarantine_reasons: pd.DataFrame = field(default_factory=_empty, repr=False)
    notes: tuple[str, ...] = ()
    disclosure: pd.DataFrame = field(default_factory=_empty, repr=False)
    disclosure_note: str = ""
    #: Publication mode: per table, the share of cells hidden and (in bands) of
    #: people behind them (fairness.publish.publication.suppression_summary).
    suppression: pd.DataFrame = field(default_factory=_empty, repr=False)

    # ------------------------------------------------------------ views
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, in report order."""
        return {name: getattr(self, name) for name in TABLES}

    def for_publication(self, *, threshold: int = DEFAULT_SUPPRESSION_THRESHOLD,
                        rounding: int | None = None) -> AuditResult:
        """A copy with disclosure control applied to every table (see :mod:`fairness.publish.publication`)."""
        return protect_audit(self, threshold=threshold, rounding=rounding)

    def headline(self) -> list[str]:
        """5–7 sentences with numbers, intervals and benchmarks, for the top of a report."""
        return headline_sentences(self)

    def main_points(self) -> list[str]:
        """3–5 plain main points for page 1 of a report (:func:`fairness.results.sentences.main_points`)."""
        from fairness.results.sentences import main_points

        return main_points(self)

    def show(self, name: str):
        """One table for reading (rounded, intervals as "L–U", flags marked); the table keeps full values."""
        from fairness.results.display import show

        return show(self, name)

    def up_to_quarter(self) -> AuditResult:
        """A copy that shows only what was known at its quarter (for a report of that quarter).

        Rows of later quarters are dropped from ``trends``, ``checks``,
        ``sharing_by_partner`` and the by-quarter ``no_risk`` rows, and
        ``quarters`` ends at :attr:`quarter`; a note says how many later
        quarters the file held. Everything about the quarter itself is unchanged.
        """
        q = self.quarter
        later = [x for x in self.quarters if x > q]
        if not later:
            return self
        changes: dict[str, Any] = {"quarters": tuple(x for x in self.quarters if x <= q)}
        for name in ("trends", "checks", "sharing_by_partner"):
            t = getattr(self, name)
            if "quarter" in t:
                changes[name] = t[t["quarter"].astype(str) <= q].reset_index(drop=True)
        nr = self.no_risk
        if "by" in nr:
            changes["no_risk"] = nr[~((nr["by"] == "quarter") & (nr["group"].astype(str) > q))].reset_index(drop=True)
        note = (f"The file also holds {len(later)} later quarter{'s' if len(later) != 1 else ''}; this "
                f"report uses only the quarters up to {q}.")
        changes["notes"] = (*self.notes, note)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the format, top-level facts, the rounding rule, the headline, then each table
        as ``{"columns": [...], "data": [[...], ...]}`` (format 2,
        :data:`fairness.results.contract.JSON_FORMAT`; keys and order:
        :func:`fairness.results.contract.json_keys`; read a table back with
        :func:`fairness.results.contract.read_json_table`). Numbers are rounded as
        :data:`PRECISION_NOTE` says; disclosure decisions are grouped by table, column and rule."""
        out: dict[str, Any] = {FORMAT_KEY: JSON_FORMAT}
        for f in RESULT_FIELDS:
            value = getattr(self, f.name)
            if f.name == "source":
                value = os.path.basename(value)  # never a machine path
            out[f.json_key] = list(value) if isinstance(value, tuple) else value
        out[PRECISION_KEY] = PRECISION_NOTE
        out[HEADLINE_KEY] = self.headline()
        for t in RESULT_TABLES:
            table = getattr(self, t.name)
            out[t.name] = _decisions(table) if t.name == "disclosure" else _split(table, t.column_names)
        return out

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The audit as JSON (stable key order; NaN and infinity as null; one table row per line).

        Numbers are rounded as :data:`PRECISION_NOTE` says (the JSON says it too).
        """
        text = _dumps(self.to_dict())
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def summary(self) -> str:
        """A readable plain-text summary (what ``fairness audit`` prints)."""
        return text_summary(self)

    def _repr_html_(self) -> str:
        return html_summary(self)

    def __repr__(self) -> str:
        return (f"AuditResult(quarter={self.quarter!r}, n={self.n:,}, quarantined={self.quarantined:,}, "
                f"mode={self.mode!r}, quarters={len(self.quarters)})")


#: The rounding rule of ``to_dict``/``to_json`` (and so of ``metrics.json``), stated in the JSON itself.
SIGNIFICANT_DIGITS = 4
PRECISION_NOTE = (
    "Counts and other whole numbers are exact. Every other number is rounded to 4 significant figures: "
    "one more than any report shows (shares to 0.1 percentage point, ratios to 2 decimals), and enough to "
    "recompute every figure from the counts, which are exact."
)


def _round(v: float) -> float:
    """``SIGNIFICANT_DIGITS`` significant figures; whole numbers (counts) unchanged."""
    if v == 0 or not math.isfinite(v) or v.is_integer():
        return v
    return float(f"{v:.{SIGNIFICANT_DIGITS - 1}e}")


def _dumps(obj: dict[str, Any]) -> str:
    """JSON with one table row per line: small, and a diff shows which rows changed."""
    def one(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False, allow_nan=False, default=_json_default, separators=(",", ":"))

    parts = []
    for k, v in obj.items():
        if isinstance(v, dict) and set(v) == {"columns", "data"} and v["data"]:
            rows = ",\n  ".join(one(r) for r in v["data"])
            parts.append(f' {one(k)}: {{"columns": {one(v["columns"])}, "data": [\n  {rows}\n ]}}')
        elif isinstance(v, list) and v and all(isinstance(r, dict) for r in v):
            parts.append(f" {one(k)}: [\n  " + ",\n  ".join(one(r) for r in v) + "\n ]")
        else:
            parts.append(f" {one(k)}: {one(v)}")
    return "{\n" + ",\n".join(parts) + "\n}"


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (pd.Timestamp,)):
        return obj.strftime("%Y-%m-%d")
    if obj is pd.NA or obj is pd.NaT:
        return None
    return str(obj)


def _clean(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, (float, np.floating)):
        return _round(float(v)) if math.isfinite(float(v)) else None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return v


def _decisions(table: pd.DataFrame) -> dict[str, Any]:
    """Disclosure decisions, one row per table, column and rule with the list of rows it hid
    (columns: those of ``disclosure`` with ``rows``, a list, in place of ``row``).

    The same facts as one record per cell, in a few KB instead of hundreds.
    """
    if table is None or len(table) == 0 or "row" not in table:
        return _split(table, ())
    keys = [c for c in table.columns if c != "row"]
    data = []
    for values, group in table.groupby(keys, sort=False, dropna=False):
        data.append([*(_clean(v) for v in (values if isinstance(values, tuple) else (values,))),
                     [int(r) for r in group["row"]]])
    return {"columns": [str(c) for c in keys] + ["rows"], "data": data}


def _split(table: pd.DataFrame | None, columns: Sequence[str]) -> dict[str, Any]:
    """A table as ``{"columns": [...], "data": [[...], ...]}`` (JSON format 2): each column named once.

    An empty table keeps its columns, or the contract's ``columns`` when it has none.
    """
    if table is None or len(table.columns) == 0:
        return {"columns": list(columns), "data": []}
    cols = [str(c) for c in table.columns]
    values = [_clean_column(column) for _, column in table.items()]  # by position, as .iloc[:, k]
    return {"columns": cols, "data": [list(row) for row in zip(*values, strict=True)] if cols else []}


def _clean_column(column: pd.Series) -> list[Any]:
    """``[_clean(v) for v in column]``, a column at a time: a float, integer or boolean numpy column
    gives Python numbers (as iterating the Series does) without asking each value its type."""
    kind = column.dtype.kind if isinstance(column.dtype, np.dtype) else ""
    if kind == "f":
        return [_round(v) if math.isfinite(v) else None for v in column.to_numpy().tolist()]
    if kind in "iub" and kind:
        return column.to_numpy().tolist()
    return [_clean(v) for v in column]

def replace(result: AuditResult, **changes: Any) -> AuditResult:
    """``dataclasses.replace`` for AuditResult (kept here so callers need not import dataclasses)."""
    return dataclasses.replace(result, **changes)
