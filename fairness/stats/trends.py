"""Trends: each headline metric per quarter, its changes, and rolling four-quarter values.

For every quarter in the file: the value with its interval; the change from
the previous quarter and from the same quarter a year earlier, each with an
interval for the difference (Newcombe's hybrid score method); and the value
pooled over the last four quarters, so small quarterly counts are not
over-read. The rolling value pools person-quarters: someone listed all year
counts four times, so its interval treats quarters as independent and is too
narrow when the same people persist — read it as a smoothed line, not a test.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.counts.groups import flag_mask, with_groups
from fairness.quarters import parse_quarter, quarter_before
from fairness.stats.intervals import confint_difference_proportions, confint_proportion

__all__ = ["TREND_METRICS", "quarterly_trends"]

def _flag(m: pd.DataFrame, name: str) -> pd.Series:
    """A flag of :data:`fairness.definitions.FLAGS` as a Series."""
    return pd.Series(flag_mask(m, name), index=m.index)


#: Headline metrics tracked over time: label and the row-level indicator.
TREND_METRICS: dict[str, tuple[str, Callable[[pd.DataFrame], pd.Series] | None]] = {
    "listed": ("people listed", None),
    # the share group in force (definitions.SHARE_GROUP, "Black" for London) fills in the label
    "black_share": ("{share_group} share of people listed", lambda m: m["ethnicity"] == defs.SHARE_GROUP),
    "no_risk_share": ("harm score of zero (no-risk share)", lambda m: _flag(m, "harm_zero")),
    "under18_share": ("aged under 18", lambda m: _flag(m, "under18")),
    "green_share": ("green band", lambda m: _flag(m, "green")),
    "shared_share": (
        "records shared with third parties",
        lambda m: m["shared_with"].fillna("").str.strip() != "" if "shared_with" in m else None,
    ),
}

_COLS = ["metric", "metric_label", "quarter", "count", "n", "value", "ci_low", "ci_high",
         "diff_prev", "diff_prev_low", "diff_prev_high", "diff_year", "diff_year_low", "diff_year_high",
         "rolling_count", "rolling_n", "rolling_value", "rolling_low", "rolling_high", "note"]


def quarterly_trends(matrix: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """Per-quarter values, changes and rolling values for :data:`TREND_METRICS`.

    Returns
    -------
    DataFrame
        ``metric, metric_label, quarter, count, n, value, ci_low, ci_high,
        diff_prev, diff_prev_low, diff_prev_high, diff_year, diff_year_low,
        diff_year_high, rolling_count, rolling_n, rolling_value, rolling_low,
        rolling_high, note``. For ``listed``, ``value`` is the number of people
        (a count of the whole list, not a sample: no interval). Differences
        are in proportion points; NaN where the earlier quarter is absent.
    """
    m = with_groups(matrix)
    quarters = sorted(m["quarter"].astype(str).unique(), key=parse_quarter)
    by_quarter = m["quarter"].astype(str)
    sizes = m.groupby(by_quarter).size().reindex(quarters)
    counts = {}
    for metric, (_, indicator) in TREND_METRICS.items():
        flag = indicator(m) if indicator is not None else None
        if flag is not None:
            counts[metric] = flag.astype(bool).groupby(by_quarter).sum().reindex(quarters).to_numpy(dtype="int64")
    return trends_from_counts(quarters, sizes.to_numpy(dtype="int64"), counts, alpha=alpha)


def trends_from_counts(
    quarters: list[str], sizes: np.ndarray, counts: dict[str, np.ndarray], *, alpha: float = 0.05
) -> pd.DataFrame:
    """:func:`quarterly_trends` from people listed per quarter (``sizes``) and, per metric of
    :data:`TREND_METRICS` (absent: not reported), the number meeting it per quarter."""
    sizes = pd.Series(np.asarray(sizes), index=quarters)
    frames = []
    for metric, (label, _) in TREND_METRICS.items():
        if metric == "listed":
            t = pd.DataFrame({"quarter": quarters, "count": sizes.to_numpy(), "n": sizes.to_numpy()})
            t["value"] = t["count"].astype("float64")
            for c in _COLS:
                if c not in t:
                    t[c] = np.nan
            prev = t["value"].shift(1)
            t["diff_prev"] = np.where(
                t["quarter"].shift(1) == [quarter_before(q, 1) for q in quarters], t["value"] - prev, np.nan
            )
            year = dict(zip(t["quarter"], t["value"], strict=True))
            t["diff_year"] = [t_v - year.get(quarter_before(q, 4), np.nan) for q, t_v in zip(quarters, t["value"], strict=True)]
            t["note"] = "a count of the whole list (not a sample): no interval"
        else:
            if metric not in counts:
                continue
            count = pd.Series(counts[metric], index=quarters)
            t = pd.DataFrame({"quarter": quarters, "count": count.to_numpy(dtype="int64"),
                              "n": sizes.to_numpy(dtype="int64")})
            t["value"] = t["count"] / t["n"]
            t["ci_low"], t["ci_high"] = confint_proportion(t["count"], t["n"], alpha=alpha)
            by_q = {q: (c, n) for q, c, n in zip(t["quarter"], t["count"], t["n"], strict=True)}
            for name, k in (("diff_prev", 1), ("diff_year", 4)):
                earlier = [by_q.get(quarter_before(q, k)) for q in quarters]
                has = np.array([e is not None for e in earlier])
                c0 = np.array([e[0] if e else 0 for e in earlier], dtype="float64")
                n0 = np.array([e[1] if e else 1 for e in earlier], dtype="float64")
                d, lo, hi = confint_difference_proportions(t["count"], t["n"], c0, n0, alpha=alpha)
                t[name] = np.where(has, d, np.nan)
                t[f"{name}_low"] = np.where(has, lo, np.nan)
                t[f"{name}_high"] = np.where(has, hi, np.nan)
            rc, rn = [], []
            for q in quarters:
                window = [by_q.get(quarter_before(q, k)) for k in range(4)]
                if all(w is not None for w in window):
                    rc.append(sum(w[0] for w in window))
                    rn.append(sum(w[1] for w in window))
                else:
                    rc.append(np.nan)
                    rn.append(np.nan)
            t["rolling_count"], t["rolling_n"] = rc, rn
            ok = ~np.isnan(t["rolling_n"].to_numpy(dtype="float64"))
            t["rolling_value"] = t["rolling_count"] / t["rolling_n"]
            lo, hi = np.full(len(t), np.nan), np.full(len(t), np.nan)
            if ok.any():
                lo[ok], hi[ok] = confint_proportion(
                    t.loc[ok, "rolling_count"].to_numpy(), t.loc[ok, "rolling_n"].to_numpy(), alpha=alpha
                )
            t["rolling_low"], t["rolling_high"] = lo, hi
            t["note"] = ""
        t["metric"], t["metric_label"] = metric, defs.fill_words(label, {"share_group": defs.SHARE_GROUP})
        frames.append(t[_COLS])
    return pd.concat(frames, ignore_index=True)
