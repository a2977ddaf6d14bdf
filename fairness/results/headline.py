"""Words for an :class:`~fairness.results.audit.AuditResult`: headline sentences, a text
summary for the terminal and an HTML view for JupyterLab.

Every sentence carries its count, its interval and its benchmark. In
publication mode the result's tables are already protected: a value that was
suppressed shows as "[c]" there, and the sentences say "fewer than 10" or
"suppressed" instead of a number.
"""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from fairness.definitions import DEFAULT_SUPPRESSION_THRESHOLD
from fairness.results.sentences import SUPPRESSED, fmt_count, fmt_p, fmt_pct, fmt_ratio, fmt_share

if TYPE_CHECKING:  # pragma: no cover
    from fairness.results.audit import AuditResult

__all__ = ["headline_sentences", "main_points", "text_summary", "html_summary", "fmt_pct", "fmt_ci_pct", "fmt_count",
           "fmt_people"]

#: ``38.2% (95% CI 36.7–39.8)``: a share with its interval, as the sentences write it.
fmt_ci_pct = fmt_share


def _hidden(v: Any) -> bool:
    return isinstance(v, str) and v == SUPPRESSED


def _num(v: Any) -> float | None:
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def fmt_people(res: AuditResult, v: Any) -> str:
    """A count of people that is not in a protected table (the list size, rows read).

    In publication mode a count from 1 to threshold − 1 is written "fewer than 10".
    """
    f = _num(v)
    threshold = res.parameters.get("disclosure_threshold", DEFAULT_SUPPRESSION_THRESHOLD)
    if res.mode == "publication" and f is not None and 0 < f < threshold:
        return f"fewer than {threshold}"
    return fmt_count(v)


def _phi(od: Any) -> str:
    """φ and τ² of an overdispersion row, or why they could not be estimated."""
    phi, tau2 = _num(od.phi), _num(od.tau2)
    if phi is None or tau2 is None:
        why = getattr(od, "method", "")
        return f"φ, τ² {why}" if isinstance(why, str) and why.startswith("not estimable") else "φ, τ² not estimable"
    return f"φ={phi:.2f} τ²={tau2:.5f}"


def headline_sentences(res: AuditResult) -> list[str]:
    """The headline findings in full sentences (see :mod:`fairness.results.sentences` for the rules)."""
    from fairness.results import sentences

    return sentences.headline_sentences(res)


def main_points(res: AuditResult) -> list[str]:
    """3–5 plain main points for page 1 (see :mod:`fairness.results.sentences`)."""
    from fairness.results import sentences

    return sentences.main_points(res)


# ---------------------------------------------------------------- text


def text_summary(res: AuditResult) -> str:
    """A plain-text summary for the terminal."""
    from fairness.results.sentences import place

    w = place(res).words()
    lines = [
        f"fairness audit: {res.source}",
        f"quarter {res.quarter} ({len(res.quarters)} quarters in the file: {res.quarters[0]}–{res.quarters[-1]})",
        f"{fmt_people(res, res.n_rows)} rows read: {fmt_people(res, res.n_rows - res.quarantined)} used, "
        f"{res.quarantined:,} quarantined; {fmt_people(res, res.n)} people in {res.quarter}",
        f"mode: {res.mode}" + ("  (NOT FOR PUBLICATION)" if res.mode == "internal" else ""),
        "",
        "Headline",
    ]
    lines += [f"  - {s}" for s in res.headline()]
    lines += ["", "Representation ratio (share of list ÷ share of benchmark)"]
    for r in res.representation.itertuples(index=False):
        lines.append(
            f"  {r.benchmark_label:<45} {r.group:<11} {fmt_count(r.count):>7}  "
            f"{fmt_pct(r.share):>7} vs {fmt_pct(r.benchmark_share):>6}  ratio {fmt_ratio(r.ratio, r.ci_low, r.ci_high)}"
            + (f"  [{r.note}]" if isinstance(r.note, str) and r.note else "")
        )
    lines += ["", f"Relative rate index (per 1,000 of benchmark; reference {res.parameters.get('reference')}; "
                  f"p adjusted: {res.parameters.get('adjust')})"]
    for r in res.relative_rate.itertuples(index=False):
        p = _num(r.p_adjusted)
        lines.append(
            f"  {r.benchmark_label:<45} {r.group:<11} {fmt_count(r.count):>7}  RRI {fmt_ratio(r.rri, r.ci_low, r.ci_high)}"
            + (f"  p_adj {fmt_p(p)}" if p is not None else "") + f"  {r.flag}"
        )
    lines += ["", "No-risk share"]
    for r in res.no_risk[res.no_risk["by"] == "all"].itertuples(index=False):
        lines.append(f"  {r.definition_label:<60} {fmt_ci_pct(r.share, r.ci_low, r.ci_high)}  "
                     f"({fmt_count(r.count)} of {fmt_count(r.n)})"
                     + (f" {r.note}" if isinstance(r.note, str) and r.note else ""))
    lines += ["", f"{w['Areas']} outside funnel limits (99.8%)"]
    for od in res.overdispersion.itertuples(index=False):
        b = res.boroughs[(res.boroughs["metric"] == od.metric)
                         & res.boroughs["flag"].astype(str).isin(["above_99.8", "below_99.8"])]
        lines.append(f"  {od.metric:<15} {_phi(od)} "
                     f"{'(adjusted)' if od.adjusted else ''}: {', '.join(b['borough']) or 'none'}")
    if len(res.checks):
        lines += ["", f"Data-protection checks ({w['place']}, this quarter)"]
        c = res.checks
        cur = c[(c["quarter"].astype(str) == res.quarter) & (c["borough"].astype(str) == place(res).all_areas)]
        for r in cur.itertuples(index=False):
            lines.append(f"  {r.check:<26} {r.status:<15} {fmt_count(r.count):>6} of {fmt_count(r.n):>6}"
                         f"  {fmt_ci_pct(r.share, r.ci_low, r.ci_high)}")
    lines += ["", f"Band performance: {res.band_status}" + (f" ({res.band_reason})" if res.band_reason else "")]
    if len(res.quarantine_reasons):
        lines += ["", "Quarantined rows by reason"]
        for r in res.quarantine_reasons.itertuples(index=False):
            lines.append(f"  {r.rule:<22} {r.column:<22} {fmt_count(r.rows)}")
    for n in res.notes:
        lines.append(f"note: {n}")
    if res.disclosure_note:
        lines.append(f"disclosure: {res.disclosure_note}")
    return "\n".join(lines)


# ---------------------------------------------------------------- HTML

_CSS = """<style>
.fairness-audit {font-family: system-ui, sans-serif; max-width: 60em}
.fairness-audit table {border-collapse: collapse; font-size: 0.9em; margin: 0.4em 0 1em}
.fairness-audit th, .fairness-audit td {border-bottom: 1px solid #ccc; padding: 2px 8px; text-align: right}
.fairness-audit td.t, .fairness-audit th.t {text-align: left}
.fairness-audit .banner {background: #fde0dc; border: 2px solid #b3261e; padding: 4px 8px; font-weight: bold}
.fairness-audit .flag {font-weight: bold}
.fairness-audit caption {display: none}
</style>"""


def html_summary(res: AuditResult) -> str:
    """The JupyterLab view: main points, headline, then the main tables, readable (see :mod:`.display`)."""
    from fairness.results import sentences
    from fairness.results.display import readable

    parts = [_CSS, "<div class='fairness-audit'>"]
    if res.mode == "internal":
        parts.append("<div class='banner'>INTERNAL — NOT FOR PUBLICATION (no disclosure control)</div>")
    parts.append(
        f"<h3>Audit of {html.escape(str(res.quarter))}</h3><p>{fmt_people(res, res.n)} people listed; "
        f"{fmt_people(res, res.n_rows)} rows read, {res.quarantined:,} quarantined. Quarters in file: "
        f"{html.escape(res.quarters[0])}–{html.escape(res.quarters[-1])}.</p>"
    )
    parts.append("<h4>Main points</h4><ul>"
                 + "".join(f"<li>{html.escape(s)}</li>" for s in sentences.main_points(res)) + "</ul>")
    parts.append("<h4>Headline</h4><ul>"
                 + "".join(f"<li>{html.escape(s)}</li>" for s in res.headline()) + "</ul>")
    level = sentences.confidence_level(res.parameters)
    w = sentences.place(res).words()
    shown = [
        ("Representation ratio", res.representation),
        (f"Relative rate index (reference: {res.parameters.get('reference')})", res.relative_rate),
        ("No-risk share", res.no_risk[res.no_risk["by"] == "all"] if "by" in res.no_risk else res.no_risk),
        (f"{w['Areas']} outside the 95% funnel limits",
         res.boroughs[~res.boroughs["flag"].astype(str).isin(["within", "not_estimable"])]
         if len(res.boroughs) else res.boroughs),
        (f"How much the {w['areas']} differ", res.overdispersion),
    ]
    for title, table in shown:
        parts.append(f"<h4>{html.escape(title)}</h4>")
        # the contract's column "borough" holds the profile's area: headed with its word
        parts.append(readable(table.reset_index(drop=True).rename(columns={"borough": w["area"]}),
                              level=level)._repr_html_())
    words = [sentences.dispersion_sentence(res, m) for m in res.overdispersion.get("metric", [])]
    parts.append("".join(f"<p><small>{html.escape(w)}</small></p>" for w in words if w))
    if res.disclosure_note:
        parts.append(f"<p><small>{html.escape(res.disclosure_note)}</small></p>")
    parts.append("<p><small>Every table is an attribute of this object with its full values (e.g. "
                 "<code>res.relative_rate</code>); <code>res.show(\"relative_rate\")</code> shows one readably; "
                 "<code>res.tables()</code> lists them.</small></p></div>")
    return "".join(parts)
