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
    # Each metric's frame is made at once from its columns (a column assigned at a time into a
    # frame cost more than the arithmetic); the columns, their dtypes and values are those the
    # frame built column by column had.
    sizes = pd.Series(np.asarray(sizes), index=quarters).to_numpy()
    frames = []
    for metric, (label, _) in TREND_METRICS.items():
        label = defs.fill_words(label, {"share_group": defs.SHARE_GROUP})
        if metric == "listed":
            value = sizes.astype("float64")
            prev = np.concatenate([[np.nan], value[:-1]])
            follows = np.array([i > 0 and quarters[i - 1] == quarter_before(q, 1) for i, q in enumerate(quarters)],
                               dtype=bool)
            year = dict(zip(quarters, value.tolist(), strict=True))
            nan = np.full(len(quarters), np.nan)
            t = {"metric": metric, "metric_label": label, "quarter": quarters, "count": sizes, "n": sizes,
                 "value": value, "ci_low": nan, "ci_high": nan,
                 "diff_prev": np.where(follows, value - prev, np.nan), "diff_prev_low": nan, "diff_prev_high": nan,
                 "diff_year": [t_v - year.get(quarter_before(q, 4), np.nan)
                               for q, t_v in zip(quarters, value.tolist(), strict=True)],
                 "diff_year_low": nan, "diff_year_high": nan, "rolling_count": nan, "rolling_n": nan,
                 "rolling_value": nan, "rolling_low": nan, "rolling_high": nan,
                 "note": "a count of the whole list (not a sample): no interval"}
        else:
            if metric not in counts:
                continue
            count = pd.Series(counts[metric], index=quarters).to_numpy(dtype="int64")
            n = sizes.astype("int64")
            with np.errstate(divide="ignore", invalid="ignore"):  # as pandas divides
                t = {"metric": metric, "metric_label": label, "quarter": quarters, "count": count, "n": n,
                     "value": count / n}
            t["ci_low"], t["ci_high"] = confint_proportion(count, n, alpha=alpha)
            by_q = {q: (c, m) for q, c, m in zip(quarters, count.tolist(), n.tolist(), strict=True)}
            for name, k in (("diff_prev", 1), ("diff_year", 4)):
                earlier = [by_q.get(quarter_before(q, k)) for q in quarters]
                has = np.array([e is not None for e in earlier])
                c0 = np.array([e[0] if e else 0 for e in earlier], dtype="float64")
                n0 = np.array([e[1] if e else 1 for e in earlier], dtype="float64")
                d, lo, hi = confint_difference_proportions(count, n, c0, n0, alpha=alpha)
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
            rolling_count, rolling_n = pd.Series(rc).to_numpy(), pd.Series(rn).to_numpy()
            ok = ~np.isnan(rolling_n.astype("float64"))
            lo, hi = np.full(len(quarters), np.nan), np.full(len(quarters), np.nan)
            if ok.any():
                lo[ok], hi[ok] = confint_proportion(rolling_count[ok], rolling_n[ok], alpha=alpha)
            with np.errstate(divide="ignore", invalid="ignore"):
                t.update(rolling_count=rolling_count, rolling_n=rolling_n, rolling_value=rolling_count / rolling_n,
                         rolling_low=lo, rolling_high=hi, note="")
        frames.append(pd.DataFrame({c: t[c] for c in _COLS}))
    return pd.concat(frames, ignore_index=True)
