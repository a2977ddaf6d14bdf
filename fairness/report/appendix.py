"""The trend appendix: the headline measures of every quarter reported, on one page.

``<out>/trend_appendix.html`` (and ``.pdf``) is rebuilt by
:func:`write_trend_appendix` from every ``<out>/<quarter>/metrics.json``
(:func:`collect_metrics`), after each quarter the runner renders. Quarters in
another mode than publication never mix with published ones.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fairness.report.layout import METRICS_FILE, QUARTER_DIR, REPORT_STEM, TREND_APPENDIX
from fairness.report.render import html_page, render_pdf
from fairness.report.swap import locked, write_atomically

__all__ = ["collect_metrics", "headline_metrics", "write_trend_appendix"]


def _records(metrics: Mapping[str, Any], name: str) -> pd.DataFrame:
    """A table of a ``metrics.json`` of any format (the appendix reads past quarters' files as written)."""
    from fairness.results.contract import read_json_table

    try:
        return read_json_table(metrics, name)
    except ValueError:
        return pd.DataFrame()


def _pick(df: pd.DataFrame, **where: Any) -> pd.Series | None:
    sub = df
    for k, v in where.items():
        if k not in sub.columns:
            return None
        sub = sub[sub[k] == v]
    return sub.iloc[0] if len(sub) else None


def _num(row: pd.Series | None, col: str) -> float | str:
    """A number of a metrics record; a marker such as "[c]" (suppressed) is kept as it is."""
    if row is None or col not in row.index or row[col] is None:
        return float("nan")
    try:
        return float(row[col])
    except (TypeError, ValueError):
        return str(row[col])


def headline_metrics(metrics: Mapping[str, Any], *, group: str | None = None) -> dict[str, Any]:
    """The per-quarter headline numbers of one ``metrics.json`` (as a flat dict), for ``group`` (default:
    the share group of the quarter's profile, "Black" for the London list)."""
    if group is None:
        from fairness.results.sentences import place

        group = place(metrics.get("parameters") or {}).share_group
    rep = _records(metrics, "representation")
    rr = _records(metrics, "relative_rate")
    nr = _records(metrics, "no_risk")
    bor = _records(metrics, "boroughs")
    bench = str(rep["benchmark"].iloc[0]) if "benchmark" in rep and len(rep) else None
    rep_row = _pick(rep, benchmark=bench, group=group) if bench else _pick(rep, group=group)
    rr_bench = str(rr["benchmark"].iloc[0]) if "benchmark" in rr and len(rr) else None
    rr_row = _pick(rr, benchmark=rr_bench, group=group) if rr_bench else _pick(rr, group=group)
    nr_row = None
    if len(nr):
        overall = nr[nr["by"].astype(str).isin(["", "all", "overall", "None"])] if "by" in nr else nr
        if overall.empty and "n" in nr:
            overall = nr.sort_values("n", ascending=False, kind="stable")
        nr_row = overall.iloc[0] if len(overall) else None
    flagged: float = float("nan")
    if "flag" in bor:
        # boroughs far above London on the no-risk share (the one the appendix names)
        no_risk = bor[bor["metric"] == "no_risk_share"] if "metric" in bor else bor
        flagged = float(no_risk["flag"].astype(str).str.startswith("above_99.8").sum())
    return {
        "quarter": metrics.get("quarter"),
        "mode": metrics.get("mode", ""),
        "n": metrics.get("n"),
        "quarantined": metrics.get("quarantined"),
        "group": group,
        "benchmark": str(rep_row["benchmark_label"]) if rep_row is not None and "benchmark_label" in rep_row else bench,
        "share": _num(rep_row, "share"),
        "benchmark_share": _num(rep_row, "benchmark_share"),
        "ratio": _num(rep_row, "ratio"),
        "ratio_low": _num(rep_row, "ci_low"),
        "ratio_high": _num(rep_row, "ci_high"),
        "reference": str(rr_row["reference"]) if rr_row is not None and "reference" in rr_row else "",
        "rri": _num(rr_row, "rri"),
        "rri_low": _num(rr_row, "ci_low"),
        "rri_high": _num(rr_row, "ci_high"),
        "no_risk_share": _num(nr_row, "share"),
        "no_risk_low": _num(nr_row, "ci_low"),
        "no_risk_high": _num(nr_row, "ci_high"),
        "boroughs_above_998": flagged,
    }


def collect_metrics(out_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Headline metrics of every ``<out_dir>/<quarter>/metrics.json``, one row per quarter."""
    rows = []
    for d in sorted(Path(out_dir).iterdir()) if Path(out_dir).is_dir() else []:
        f = d / METRICS_FILE
        if QUARTER_DIR.match(d.name) and f.is_file():
            try:
                metrics = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                continue
            row = headline_metrics(metrics)
            row["quarter"] = row["quarter"] or d.name
            rows.append(row)
    return pd.DataFrame(rows)


def _trend_figure(table: pd.DataFrame) -> str:
    """The appendix chart (:func:`fairness.plots.headline_trend_png`, drawn per quarter with gaps) as an inline PNG."""
    import base64

    from fairness import plots

    png = plots.headline_trend_png(table, title="Headline measures by quarter reported")
    data = base64.b64encode(png).decode("ascii")
    return ('<figure class="chart"><img alt="Line chart of the headline measures of each quarter reported; '
            f'quarters with no report are gaps" src="data:image/png;base64,{data}" style="max-width:100%">'
            "<figcaption>Each quarter reported. Bars and the shaded band: 95% intervals of the no-risk share. "
            "Grey: quarters with no report, so nothing is known there and no line crosses them.</figcaption></figure>")


def _synthetic_reports(out: Path, quarters: Sequence[str]) -> bool:
    """True when any quarter's report says its data are synthetic (the appendix then says so too)."""
    for q in quarters:
        page = out / str(q) / f"{REPORT_STEM}.html"
        try:
            if page.is_file() and "synthetic-strip" in page.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False



def _place(out: Path, table: pd.DataFrame) -> Any:
    """The latest quarter's place and list (:func:`fairness.results.sentences.place` of its parameters)."""
    from fairness.results.sentences import place

    try:
        metrics = json.loads((out / str(table["quarter"].iloc[-1]) / METRICS_FILE).read_text(encoding="utf-8"))
        return place(metrics.get("parameters") or {})
    except (OSError, ValueError):  # no readable file: the default words
        return place()


def write_trend_appendix(out_dir: str | os.PathLike[str], *, pdf: bool = False) -> Path | None:
    """Rebuild ``<out_dir>/trend_appendix.html`` (and ``.pdf`` with ``pdf=True``) from every ``metrics.json``.

    Returns the path of the HTML page, or None when no quarter has metrics yet.
    """
    from fairness.report import format as fr

    out = Path(out_dir)
    with locked(out / ".trend_appendix.lock"):
        table = collect_metrics(out)
        if table.empty:
            return None
        modes = sorted(set(table["mode"].astype(str)) - {""})
        if "publication" in modes and len(modes) > 1:  # never mix modes: internal quarters stay out (issue 12)
            table = table[table["mode"].astype(str) == "publication"].reset_index(drop=True)
            modes = ["publication"]
        where = _place(out, table)
        w = where.words()
        shown = pd.DataFrame(
            {
                "Quarter": table["quarter"],
                w["Unit"]: table["n"].map(fr.fmt_int),
                f"{table['group'].iloc[0]} share": table["share"].map(fr.fmt_pct),
                "Representation ratio (95% CI)": [
                    fr.fmt_ratio(r, lo, hi) for r, lo, hi in zip(table["ratio"], table["ratio_low"], table["ratio_high"], strict=True)
                ],
                f"RRI vs {table['reference'].iloc[0] or 'reference'} (95% CI)": [
                    fr.fmt_ratio(r, lo, hi) for r, lo, hi in zip(table["rri"], table["rri_low"], table["rri_high"], strict=True)
                ],
                "No-risk share (95% CI)": [
                    fr.fmt_share(s, lo, hi)
                    for s, lo, hi in zip(table["no_risk_share"], table["no_risk_low"], table["no_risk_high"], strict=True)
                ],
                f"{w['Areas']} with a no-risk share far above {w['place']}'s": table["boroughs_above_998"].map(fr.fmt_int),
                "Rows quarantined (file)": table["quarantined"].map(fr.fmt_int),
            }
        )
        tbl = fr.Table(
            shown,
            caption="Headline measures of every quarter reported",
            note=f"Representation ratio against {table['benchmark'].iloc[0]} "
            f"({table['group'].iloc[0]} share of that population: "
            f"{', '.join(sorted(set(table['benchmark_share'].map(fr.fmt_pct))))}). Built from the metrics.json "
            "beside each quarter's report; a quarter appears here once its report has been rendered. "
            f"{w['Areas']} far above {w['place']}: outside the range that chance and the usual spread between "
            f"{w['areas']} would explain (the 99.8% funnel limit, in the report's methods).",
            numeric=tuple(shown.columns[1:]),
        )
        n = len(table)
        first, last = html.escape(str(table["quarter"].iloc[0])), html.escape(str(table["quarter"].iloc[-1]))
        span = f"{n} quarter reported, {first}" if n == 1 else f"{n} quarters reported, {first} to {last}"
        strip = ""
        if _synthetic_reports(out, table["quarter"].astype(str).tolist()):
            strip = ('<p class="synthetic-strip">SYNTHETIC DATA: these figures were generated by '
                     "<code>fairness synth</code> to match published figures; they describe no real person.</p>\n")
        mixed = len(modes) > 1
        body = (
            '<h1 id="trend-appendix">Trend appendix</h1>\n'
            + strip
            + f'<p class="lede">{span}. Quarters with no report are gaps in the chart, not lines.'
            + (" <strong>Warning: these quarters were rendered in different modes "
               f"({html.escape(', '.join(modes))}).</strong>" if mixed else "")
            + "</p>\n"
            + _trend_figure(table)
            + "\n"
            + tbl.to_html()
        )
        mode = "internal" if "internal" in modes else "publication"
        page = html_page(body, title=f"{fr.list_title(where)} oversight: trend appendix", mode=mode, footer="Trend appendix")
        target = out / TREND_APPENDIX
        write_atomically(target, lambda p: p.write_text(page, encoding="utf-8"))
        if pdf:
            write_atomically(target.with_suffix(".pdf"), lambda p: render_pdf(page, p, base_url=str(out)))
        return target

