"""One entry point: :func:`audit` returns every result as one :class:`AuditResult`.

Notebooks, the command line and the reports all use it, so a number in a
report is the number a researcher gets in a notebook. ``AuditResult`` is a
frozen dataclass of tidy tables (contract: ``docs/audit_contract.md``);
:meth:`AuditResult.for_publication` applies disclosure control to every table.
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

from fairness._constants import DEFAULT_REFERENCE, DEFAULT_SUPPRESSION_THRESHOLD
from fairness._groups import with_groups
from fairness._quarters import normalise_quarter, parse_quarter
from fairness.benchmarks import get_benchmark
from fairness.boroughs import band_consistency, borough_funnel, borough_heterogeneity, casemix_adjusted
from fairness.disproportionality import (
    benchmark_sensitivity,
    ratio_sentences,
    relative_rate_index,
    representation_ratio,
)
from fairness.no_risk import no_risk_duration, no_risk_share
from fairness.trends import quarterly_trends
from fairness.validate import ValidationResult, read_matrix, validate_frame

__all__ = ["AuditResult", "audit", "TABLES"]

#: The tables of an AuditResult, in report order.
TABLES: tuple[str, ...] = (
    "representation",
    "relative_rate",
    "sensitivity",
    "sentences",
    "no_risk",
    "no_risk_duration",
    "boroughs",
    "overdispersion",
    "funnel_limits",
    "heterogeneity",
    "casemix",
    "casemix_test",
    "band_consistency",
    "trends",
    "checks",
    "sharing_by_partner",
    "band_by_group",
    "band_versus_reference",
    "band_summary",
    "band_calibration",
    "quarantine_reasons",
)

ERR_QUARTER = "quarter {quarter} is not in the file; quarters found: {found}"
ERR_INPUT = "audit() takes a path, a ValidationResult or a validated DataFrame, not {type}"
NO_RISK_BY: tuple[str, ...] = ("borough", "ethnicity", "age_band", "sex", "quarter")


def _empty() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass(frozen=True)
class AuditResult:
    """Everything :func:`audit` found, as tidy tables (see ``docs/audit_contract.md``)."""

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

    # ------------------------------------------------------------ views
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name, in report order."""
        return {name: getattr(self, name) for name in TABLES}

    def for_publication(self, *, threshold: int = DEFAULT_SUPPRESSION_THRESHOLD,
                        rounding: int | None = None) -> AuditResult:
        """A copy with disclosure control applied to every table (see :mod:`fairness.publication`)."""
        from fairness.publication import protect_audit

        return protect_audit(self, threshold=threshold, rounding=rounding)

    def headline(self) -> list[str]:
        """5–7 sentences with numbers, intervals and benchmarks, for the top of a report."""
        from fairness.headline import headline_sentences

        return headline_sentences(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: top-level facts, then each table as a list of records."""
        out: dict[str, Any] = {
            "quarter": self.quarter,
            "quarters": list(self.quarters),
            "n": self.n,
            "quarantined": self.quarantined,
            "n_rows": self.n_rows,
            "source": os.path.basename(self.source),
            "sha256": self.sha256,
            "mode": self.mode,
            "parameters": self.parameters,
            "band_performance_status": self.band_status,
            "band_performance_reason": self.band_reason,
            "notes": list(self.notes),
            "disclosure_note": self.disclosure_note,
            "headline": self.headline(),
        }
        for name, table in self.tables().items():
            out[name] = _records(table)
        out["disclosure"] = _records(self.disclosure)
        return out

    def to_json(self, path: str | os.PathLike[str] | None = None) -> str:
        """The audit as JSON (stable key order; NaN and infinity as null)."""
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False, allow_nan=False, default=_json_default)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    def summary(self) -> str:
        """A readable plain-text summary (what ``fairness audit`` prints)."""
        from fairness.headline import text_summary

        return text_summary(self)

    def _repr_html_(self) -> str:
        from fairness.headline import html_summary

        return html_summary(self)

    def __repr__(self) -> str:
        return (f"AuditResult(quarter={self.quarter!r}, n={self.n:,}, quarantined={self.quarantined:,}, "
                f"mode={self.mode!r}, quarters={len(self.quarters)})")


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
        return float(v) if math.isfinite(float(v)) else None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return v


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    if table is None or len(table) == 0:
        return []
    cols = [str(c) for c in table.columns]
    return [dict(zip(cols, (_clean(v) for v in row))) for row in table.itertuples(index=False, name=None)]


# ---------------------------------------------------------------------- audit


def _load(matrix: Any) -> tuple[pd.DataFrame, ValidationResult | None]:
    if isinstance(matrix, ValidationResult):
        return matrix.valid, matrix
    if isinstance(matrix, (str, os.PathLike)):
        res = read_matrix(matrix)
        return res.valid, res
    if isinstance(matrix, pd.DataFrame):
        if str(matrix["borough"].dtype) != "category" if "borough" in matrix else True:
            res = validate_frame(matrix)
            return res.valid, res
        return matrix, None
    raise TypeError(ERR_INPUT.format(type=type(matrix).__name__))


def audit(
    matrix: str | os.PathLike[str] | ValidationResult | pd.DataFrame,
    *,
    quarter: str | None = None,
    benchmarks: Sequence[str] = ("residents_2021", "residents_2011"),
    reference: str = DEFAULT_REFERENCE,
    alpha: float = 0.05,
    method: Literal["katz", "poisson-exact", "mid-p"] = "katz",
    adjust: Literal["holm", "bh", "bonferroni", "none"] = "holm",
    no_risk: str = "harm_zero",
    checks_config: Any = None,
) -> AuditResult:
    """Audit one quarter of a matrix (and all quarters for trends).

    Parameters
    ----------
    matrix : path, ValidationResult or DataFrame
        A path is read and validated (rows quarantined and counted); a
        DataFrame that has not been validated is validated first.
    quarter : str, optional
        "2018Q4"; default the latest quarter in the file.
    benchmarks : sequence of str
        Benchmark names or CSV paths; the first is the headline benchmark.
    reference : str, default "White"
        Reference group for relative rates.
    alpha : float, default 0.05
        1 − confidence level for every interval.
    method : {"katz", "poisson-exact", "mid-p"}
        Interval method for ratios.
    adjust : {"holm", "bh", "bonferroni", "none"}
        Multiplicity adjustment of p-values within each family.
    no_risk : str, default "harm_zero"
        Headline no-risk definition (all definitions are reported).

    Returns
    -------
    AuditResult
        In ``internal`` mode; call :meth:`AuditResult.for_publication` before
        publishing anything.
    """
    frame, validation = _load(matrix)
    if len(frame) == 0:
        raise ValueError("no valid rows to audit: every row was quarantined (run `fairness validate` for reasons)")
    frame = with_groups(frame)
    quarters = tuple(sorted(frame["quarter"].astype(str).unique(), key=parse_quarter))
    if quarter in (None, "latest"):
        q = quarters[-1]
    else:
        q = normalise_quarter(quarter)
        if q not in quarters:
            raise ValueError(ERR_QUARTER.format(quarter=q, found=", ".join(quarters)))
    current = frame[frame["quarter"].astype(str) == q].reset_index(drop=True)
    benches = [get_benchmark(b) for b in benchmarks]
    notes = [f"benchmark {b.label}: {b.assumption}" for b in benches if b.assumption]

    representation = representation_ratio(current, benches, alpha=alpha, method=method)
    relative = relative_rate_index(current, benches, reference=reference, alpha=alpha, method=method, adjust=adjust)
    no_risk_tables = []
    from fairness.no_risk import NO_RISK_DEFINITIONS

    ordered = [no_risk] + [d for d in NO_RISK_DEFINITIONS if d != no_risk]
    for definition in ordered:
        no_risk_tables.append(no_risk_share(current, definition=definition, alpha=alpha))
    for by in NO_RISK_BY:
        data = frame if by == "quarter" else current
        no_risk_tables.append(no_risk_share(data, definition=no_risk, by=by, alpha=alpha))
    boroughs, overdispersion, limits = borough_funnel(current)
    casemix, casemix_test = _casemix(current, alpha=alpha, adjust=adjust, notes=notes)

    from fairness.checks import ChecksConfig, run_checks, sharing_by_partner

    quarantine = validation.quarantined if validation is not None else None
    checks = run_checks(frame, quarantine=quarantine, by=("quarter",), config=checks_config or ChecksConfig(),
                        alpha=alpha)
    checks_b = run_checks(current, quarantine=quarantine, by=("quarter", "borough"),
                          config=checks_config or ChecksConfig(), alpha=alpha)
    checks_all = pd.concat([checks, checks_b], ignore_index=True)
    sharing = sharing_by_partner(current, alpha=alpha) if "shared_with" in current else pd.DataFrame()

    from fairness.bands import band_performance

    bands = band_performance(frame, quarter=q, reference=reference, alpha=alpha)

    params = {
        "quarter": q, "benchmarks": [b.name for b in benches], "reference": reference, "alpha": alpha,
        "method": method, "adjust": adjust, "no_risk": no_risk,
    }
    return AuditResult(
        quarter=q,
        quarters=quarters,
        n=len(current),
        quarantined=validation.n_quarantined if validation is not None else 0,
        n_rows=validation.n_rows if validation is not None else len(frame),
        source=validation.source if validation is not None else "<frame>",
        sha256=validation.sha256 if validation is not None else "",
        mode="internal",
        parameters=params,
        representation=representation,
        relative_rate=relative,
        sensitivity=benchmark_sensitivity(relative, representation),
        sentences=ratio_sentences(relative, alpha=alpha),
        no_risk=pd.concat(no_risk_tables, ignore_index=True),
        no_risk_duration=no_risk_duration(current, definition=no_risk, alpha=alpha),
        boroughs=boroughs,
        overdispersion=overdispersion,
        funnel_limits=limits,
        heterogeneity=borough_heterogeneity(current),
        casemix=casemix,
        casemix_test=casemix_test,
        band_consistency=band_consistency(current, alpha=alpha),
        trends=quarterly_trends(frame, alpha=alpha),
        checks=checks_all,
        sharing_by_partner=sharing,
        band_by_group=bands.by_group,
        band_versus_reference=bands.versus_reference,
        band_summary=bands.summary,
        band_calibration=bands.calibration,
        band_status=bands.status,
        band_reason=bands.reason,
        quarantine_reasons=validation.quarantine_reasons() if validation is not None else pd.DataFrame(
            columns=["rule", "column", "rows"]),
        notes=tuple(notes),
    )


def _casemix(current: pd.DataFrame, *, alpha: float, adjust: str, notes: list[str]):
    """Case-mix adjustment, or an explicit 'not estimable' when the model cannot be fitted."""
    try:
        return casemix_adjusted(current, alpha=alpha, adjust=adjust)
    except Exception as exc:  # statsmodels raises several types for degenerate data
        notes.append(f"case-mix adjustment not estimable: {type(exc).__name__}: {exc}")
        cols = ["metric", "borough", "observed", "expected", "n", "oe_ratio", "ci_low", "ci_high", "z",
                "p_value", "p_adjusted", "flag"]
        return pd.DataFrame(columns=cols), pd.DataFrame(
            [{"metric": "no_risk_share", "lr_statistic": np.nan, "df": np.nan, "p_value": np.nan,
              "covariates": f"not estimable: {exc}"}])


def replace(result: AuditResult, **changes: Any) -> AuditResult:
    """``dataclasses.replace`` for AuditResult (kept here so callers need not import dataclasses)."""
    return dataclasses.replace(result, **changes)
