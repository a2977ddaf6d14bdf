"""Who is on the list, against whom: representation ratios and relative rates.

Two measures, each against a named :class:`~fairness.io.benchmarks.Benchmark`:

* **representation ratio** — a group's share of the list ÷ its share of the
  benchmark population (Amnesty 2018: 78% of the matrix vs 13% of Londoners);
* **relative rate index (RRI)** — people listed per 1,000 of the group's
  benchmark population ÷ the same rate for the reference group (default
  White), with a p-value and a multiplicity-adjusted p-value.

Both are ratios of two rates, so both use :func:`fairness.stats.intervals.confint_rate_ratio`:
the representation ratio is ``(a/n) / (A/N)`` with ``a`` of ``n`` listed and ``A``
of ``N`` in the benchmark. People whose ethnicity is "Not stated" have no
benchmark population: they are shown with their count and excluded from the
shares (so the shares are of people with a stated ethnicity), and the tables
say so in ``note``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.definitions import DEFAULT_REFERENCE
from fairness.io.benchmarks import Benchmark, get_benchmark
from fairness.stats._options import match_option, one_snapshot
from fairness.stats.intervals import (
    PHE_EXACT_BELOW,
    adjust_pvalues,
    confint_poisson_rate,
    confint_rate_ratio,
    parity_flag,
    test_rate_ratio,
)

__all__ = [
    "representation_ratio",
    "relative_rate_index",
    "benchmark_sensitivity",
]

RatioMethod = Literal["katz", "poisson-exact", "mid-p"]
AdjustMethod = Literal["holm", "bh", "bonferroni", "none"]

#: The p-value test that matches each interval method.
_TEST_FOR_METHOD = {"katz": "wald", "poisson-exact": "exact", "mid-p": "mid-p"}
RATIO_METHODS: tuple[str, ...] = ("katz", "poisson-exact", "mid-p")
ADJUST_METHODS: tuple[str, ...] = ("holm", "bh", "bonferroni", "none")
#: Below this many listed (in either count of a ratio) the Katz log interval is
#: unreliable (it flags a single listed person "above band", and has no
#: interval at all for a zero count): the exact conditional interval and test
#: are used instead, as rates switch to exact Poisson limits below 10 (PHE).
KATZ_EXACT_BELOW = PHE_EXACT_BELOW
#: The method used where Katz is replaced at small counts.
SMALL_COUNT_METHOD = "poisson-exact"
#: Share-only benchmarks are treated as known without error: a huge notional
#: population makes the benchmark's variance terms vanish (1/A -> 0).
_KNOWN_SHARE_POPULATION = 1e12

NOTE_NOT_STATED = "no benchmark population for 'Not stated'; excluded from shares"
NOTE_NO_BENCHMARK = "group absent from the benchmark: not estimable"
NOTE_ZERO = "no one listed in this group: ratio 0, log interval not estimable"
NOTE_EMPTY = "no one with a stated ethnicity listed here: shares not estimable"
NOTE_REFERENCE = "reference group"
NOTE_SHARES_ONLY = "benchmark gives shares only: no rate per 1,000"
NOTE_NO_REFERENCE = "reference group absent from the benchmark: not estimable"
NOTE_REFERENCE_ZERO = "no one in the reference group is listed: no finite ratio, not estimable"
#: A count of people above its benchmark population cannot be right (each person is one of the
#: population): the data or the benchmark is wrong. Events (kind="events") may exceed it.
NOTE_ABOVE_POPULATION = ("data error: {count:,} people counted in this group but the benchmark population is "
                         "{population:,}; a count of people cannot exceed its population (check the data and the "
                         "benchmark; a list of events such as searches is declared kind='events')")
ERR_BY = "by={by!r}: ratios are between ethnic groups, so by must include 'ethnicity' (once), e.g. ('ethnicity', 'age_band')"
ERR_BY_COLUMN = "by names column(s) {missing} not in the matrix; columns: {found}"
ERR_REFERENCE = "reference group {reference!r} is not an ethnic group; valid: {valid}"


def _split_by(by: str | Sequence[str]) -> tuple[str, ...]:
    """The breakdown: ``ethnicity`` plus any other columns (borough, age_band, sex, ...)."""
    by = (by,) if isinstance(by, str) else tuple(by)
    if "ethnicity" not in by or len(set(by)) != len(by):
        raise ValueError(ERR_BY.format(by=by))
    return by


def _bench_keys(by: tuple[str, ...]) -> list[str]:
    """The columns the benchmarks break down by (borough and ethnic group)."""
    return [c for c in by if c in ("borough", "ethnicity")]


def _strata_note(by: tuple[str, ...]) -> str:
    extra = [c for c in by if c not in ("borough", "ethnicity")]
    if not extra:
        return ""
    return (f"benchmark has no {' or '.join(extra)} detail: each stratum is compared with the whole "
            "benchmark population of the group (assumes the same profile in every group)")


def _list_counts(matrix: pd.DataFrame, by: tuple[str, ...]) -> pd.DataFrame:
    """Count listed people per group, every group present (zeros kept)."""
    if "age_band" in by and "age_band" not in matrix.columns and "age" in matrix.columns:
        from fairness.counts.groups import age_band

        matrix = matrix.assign(age_band=age_band(matrix["age"]))
    if "quarter" in by and "quarter" not in matrix.columns and "snapshot_date" in matrix.columns:
        from fairness.quarters import quarter_label

        matrix = matrix.assign(quarter=quarter_label(matrix["snapshot_date"]))
    missing = [c for c in by if c not in matrix.columns]
    if missing:
        raise ValueError(ERR_BY_COLUMN.format(missing=", ".join(missing), found=", ".join(map(str, matrix.columns))))
    counts = matrix.groupby(list(by), observed=False).size().rename("count").reset_index()
    for c in by:
        counts[c] = counts[c].astype(str)
    return counts


def _benchmark_counts(bench: Benchmark, by: tuple[str, ...]) -> pd.DataFrame:
    if "borough" in by:
        t = bench.by_borough().rename(columns={"group": "ethnicity"})
        return t[["borough", "ethnicity", "count", "share"]]
    t = bench.london().rename(columns={"group": "ethnicity"})
    return t[["ethnicity", "count", "share"]]


def _population(frame: pd.DataFrame, method: str = "katz") -> np.ndarray:
    """Benchmark counts, or a notional population for share-only benchmarks.

    For the Katz method a huge notional population makes the benchmark's
    variance terms vanish (the share is known). Exact methods condition on the
    listed counts and use only the ratio of the exposures, so the same notional
    population serves them too (the shares themselves would be smaller than the
    listed counts, which the interval functions rightly reject as a count above
    its denominator). Exact methods need whole counts, so modelled
    (fractional) benchmark counts are rounded.
    """
    pop = frame["bench_count"].to_numpy(dtype="float64")
    shares = frame["benchmark_share"].to_numpy(dtype="float64")
    if method == "katz":
        return np.where(np.isnan(pop), shares * _KNOWN_SHARE_POPULATION, pop)
    return np.where(np.isnan(pop), shares * _KNOWN_SHARE_POPULATION, np.round(pop))


def representation_ratio(
    matrix: pd.DataFrame,
    benchmarks: Sequence[str | Benchmark] = ("residents_2021", "residents_2011"),
    *,
    by: str | Sequence[str] = "ethnicity",
    alpha: float = 0.05,
    method: RatioMethod = "katz",
    quarter: str | None = None,
) -> pd.DataFrame:
    r"""Each group's share of the list divided by its share of a benchmark population.

    .. math:: RR_g = \frac{a_g / n}{A_g / N}

    with :math:`a_g` of the :math:`n` people listed (with a stated ethnicity)
    in group :math:`g`, and :math:`A_g` of :math:`N` in the benchmark. The
    interval is that of a ratio of two independent proportions (Katz log
    method by default: :math:`\exp(\ln RR \pm z\sqrt{1/a - 1/n + 1/A - 1/N})`).
    For a share-only benchmark the benchmark share is treated as known: the
    interval is the list share's (Wilson; Clopper–Pearson for the exact
    methods) divided by it. Below :data:`KATZ_EXACT_BELOW` (10) listed in a
    group, ``"katz"`` gives way to the exact method (``method`` says
    ``"poisson-exact"`` on those rows). No bound exceeds the largest possible
    ratio, 1 ÷ benchmark share (everyone listed in the group).

    Parameters
    ----------
    matrix : DataFrame
        Validated matrix rows. With several snapshots, ``quarter`` picks one
        (pooling them would count a person once per quarter).
    benchmarks : sequence of str or Benchmark
        Benchmarks to compare with, each in its own rows.
    by : str or sequence of str, default "ethnicity"
        ``"ethnicity"`` or ``("borough", "ethnicity")`` (shares within each borough).
    alpha : float, default 0.05
        1 − confidence level.
    method : {"katz", "poisson-exact", "mid-p"}
        Interval method (see :func:`fairness.stats.intervals.confint_rate_ratio`);
        any case.
    quarter : str, optional
        The snapshot to use ("2018Q4"); required when the matrix holds several.

    Returns
    -------
    DataFrame
        ``benchmark, benchmark_label, [borough,] group, count, n, share,
        benchmark_share, ratio, ci_low, ci_high, method, flag, note``.
        ``flag`` is ``above_band`` / ``below_band`` only when the whole
        interval lies outside 0.8–1.25.

    Examples
    --------
    Amnesty (2018): 78% of 3,806 on the matrix were Black, against 13.3% of
    Londoners in 2011; the ratio is about 5.9.

    >>> import pandas as pd
    >>> m = pd.DataFrame({"ethnicity": pd.Categorical(["Black"] * 78 + ["White"] * 22,
    ...                                            categories=["White", "Black"])})
    >>> rr = representation_ratio(m, ["residents_2011"])
    >>> round(float(rr.loc[rr.group == "Black", "ratio"].iloc[0]), 2)
    5.85
    """
    by = _split_by(by)
    if "quarter" not in by:
        matrix = one_snapshot(matrix, quarter, function="representation_ratio")
    return representation_from_counts(_list_counts(matrix, by), benchmarks, by=by, alpha=alpha, method=method)


def representation_from_counts(
    list_counts: pd.DataFrame,
    benchmarks: Sequence[str | Benchmark] = ("residents_2021", "residents_2011"),
    *,
    by: str | Sequence[str] = "ethnicity",
    alpha: float = 0.05,
    method: RatioMethod = "katz",
) -> pd.DataFrame:
    """:func:`representation_ratio` from the number listed per group.

    ``list_counts`` has the ``by`` columns as text and ``count``, one row per
    group, empty groups included (zeros kept).
    """
    by = _split_by(by)
    method = match_option(method, RATIO_METHODS, name="method")
    rows = []
    for b in benchmarks:
        bench = get_benchmark(b)
        bc = _benchmark_counts(bench, by).rename(columns={"count": "bench_count", "share": "benchmark_share"})
        t = list_counts.merge(bc, on=_bench_keys(by), how="left")
        stated = t["ethnicity"] != "Not stated"
        keys = [c for c in by if c != "ethnicity"]
        if keys:
            t["n"] = t["count"].where(stated, 0).groupby([t[k] for k in keys]).transform("sum")
        else:
            t["n"] = int(t.loc[stated, "count"].sum())
        t["share"] = np.where(stated & (t["n"] > 0), t["count"] / t["n"].where(t["n"] > 0), np.nan)
        pop = _population(t, method)
        estimable = stated.to_numpy() & ~np.isnan(pop) & (t["n"].to_numpy() > 0) & (pop > 0)
        # Katz at small counts: the exact method instead (KATZ_EXACT_BELOW)
        small = estimable & (t["count"].to_numpy() < KATZ_EXACT_BELOW) if method == "katz" \
            else np.zeros(len(t), dtype=bool)
        used = np.where(small, SMALL_COUNT_METHOD, method).astype(object)
        ratio, lo, hi = (np.full(len(t), np.nan) for _ in range(3))
        for how, rows_ in ((method, estimable & ~small), (SMALL_COUNT_METHOD, small)):
            if not rows_.any():
                continue
            if bench.has_counts:
                p_ = pop if how == method else _population(t, how)
                r_, l_, h_ = _ratio_ci(t["count"], t["n"], p_, _total(t, bc, how), rows_, alpha, how)
                if how == "katz":
                    # Katz's log variance 1/a − 1/n vanishes when a group is everyone
                    # listed (a == n), collapsing the interval; there the list share's
                    # Wilson interval ÷ the benchmark share (known to within a census
                    # count of millions) is used instead.
                    whole = rows_ & (t["count"].to_numpy() == t["n"].to_numpy())
                    if whole.any():
                        r2, l2, h2 = _known_share_ci(t, whole, alpha, how)
                        r_, l_, h_ = np.where(whole, r2, r_), np.where(whole, l2, l_), np.where(whole, h2, h_)
            else:
                r_, l_, h_ = _known_share_ci(t, rows_, alpha, how)
            ratio, lo, hi = np.where(rows_, r_, ratio), np.where(rows_, l_, lo), np.where(rows_, h_, hi)
        # No share of the list exceeds 1: the ratio cannot exceed 1 ÷ the benchmark share.
        with np.errstate(divide="ignore", invalid="ignore"):
            most = 1.0 / t["benchmark_share"].to_numpy(dtype="float64")
        most = np.where(np.isfinite(ratio), np.fmax(most, ratio), most)  # never below the point itself
        hi = np.where(np.isfinite(most) & (hi > most), most, hi)
        t["ratio"], t["ci_low"], t["ci_high"] = ratio, lo, hi
        t["method"] = used
        t["note"] = _with_strata_note(_notes(t, stated, pop, estimable, bench), by)
        t["benchmark"] = bench.name
        t["benchmark_label"] = bench.label
        rows.append(t)
    out = pd.concat(rows, ignore_index=True).rename(columns={"ethnicity": "group"})
    out["flag"] = parity_flag(out["ci_low"].to_numpy(), out["ci_high"].to_numpy())
    cols = ["benchmark", "benchmark_label", *[c for c in by if c != "ethnicity"], "group",
            "count", "n", "share", "benchmark_share", "ratio", "ci_low", "ci_high", "method", "flag", "note"]
    return out[cols]


def _total(t: pd.DataFrame, bench: pd.DataFrame, method: str):
    """The benchmark population the shares are of: every group of the benchmark, whether or not
    the list's categories name it (per borough when the breakdown has one; the benchmark has no
    detail by other columns, so their strata share the whole)."""
    pop = _population(bench, method)
    if "borough" in t.columns and "borough" in bench.columns:
        totals = pd.Series(pop).groupby(bench["borough"].to_numpy()).sum()
        return t["borough"].map(totals).to_numpy(dtype="float64")
    return float(np.nansum(pop))


def _ratio_ci(a, n, A, N, estimable, alpha, method):
    a = np.asarray(a, dtype="float64")
    n = np.asarray(n, dtype="float64")
    A = np.asarray(A, dtype="float64")
    N = np.broadcast_to(np.asarray(N, dtype="float64"), a.shape)
    ratio = np.full(a.shape, np.nan)
    lo, hi = ratio.copy(), ratio.copy()
    if estimable.any():
        r, l_, h_ = confint_rate_ratio(a[estimable], n[estimable], A[estimable], N[estimable],
                                       alpha=alpha, method=method)
        ratio[estimable], lo[estimable], hi[estimable] = r, l_, h_
    return ratio, lo, hi


def _known_share_ci(t: pd.DataFrame, estimable: np.ndarray, alpha: float, method: str):
    """Ratio to a benchmark share known without error: the list share's interval ÷ that share."""
    from fairness.stats.intervals import confint_proportion

    share = t["benchmark_share"].to_numpy(dtype="float64")
    a = t["count"].to_numpy(dtype="float64")
    n = t["n"].to_numpy(dtype="float64")
    ratio, lo, hi = (np.full(len(t), np.nan) for _ in range(3))
    e = estimable
    if e.any():
        p_lo, p_hi = confint_proportion(a[e], n[e], alpha=alpha, method="wilson" if method == "katz" else "exact")
        ratio[e], lo[e], hi[e] = (a[e] / n[e]) / share[e], p_lo / share[e], p_hi / share[e]
    return ratio, lo, hi


def _with_strata_note(notes: list[str], by: tuple[str, ...]) -> list[str]:
    extra = _strata_note(by)
    if not extra:
        return notes
    return [f"{n}; {extra}" if n else extra for n in notes]


def _notes(t, stated, pop, estimable, bench) -> list[str]:
    notes = []
    for i in range(len(t)):
        if not stated.iloc[i]:
            notes.append(NOTE_NOT_STATED)
        elif np.isnan(pop[i]) or pop[i] == 0:
            notes.append(NOTE_NO_BENCHMARK)
        elif t["n"].iloc[i] == 0:
            notes.append(NOTE_EMPTY)
        elif t["count"].iloc[i] == 0 and np.isnan(t["ci_low"].iloc[i]):
            notes.append(NOTE_ZERO)
        else:
            notes.append(bench.assumption)
    return notes


def relative_rate_index(
    matrix: pd.DataFrame,
    benchmarks: Sequence[str | Benchmark] = ("residents_2021", "residents_2011"),
    *,
    by: str | Sequence[str] = "ethnicity",
    reference: str = DEFAULT_REFERENCE,
    alpha: float = 0.05,
    method: RatioMethod = "katz",
    adjust: AdjustMethod = "holm",
    rate_method: Literal["phe", "byar", "exact"] = "phe",
    quarter: str | None = None,
    kind: Literal["people", "events"] = "people",
) -> pd.DataFrame:
    r"""Listed per 1,000 of each group's benchmark population, relative to a reference group.

    .. math:: RRI_g = \frac{a_g / A_g}{a_r / A_r}

    Interval by ``method`` (Katz log by default:
    :math:`\exp(\ln RRI \pm z\sqrt{1/a_g - 1/A_g + 1/a_r - 1/A_r})`, Altman et
    al. 2000; ``"poisson-exact"`` or ``"mid-p"`` for small counts), a
    two-sided p-value for RRI = 1 by the matching test, and a p-value
    adjusted across the groups compared within each benchmark (and borough)
    by ``adjust`` (Holm by default; ``"bh"`` for Benjamini–Hochberg). The rate
    per 1,000 has a PHE interval (exact Poisson below 10, Byar's at 10 and
    over). For a share-only benchmark there is no rate per 1,000, and the
    benchmark shares are treated as known.

    Below :data:`KATZ_EXACT_BELOW` (10) listed in the group or in the
    reference group, ``"katz"`` gives way to the exact conditional interval
    and test (``method`` says ``"poisson-exact"`` on those rows), so a group
    with nobody listed has an interval (0 to an upper bound) and a p-value
    under every method: which groups share a Holm/BH family never depends on
    the method. With nobody in the reference group listed, every ratio is
    "not estimable" (no point, interval, p-value or flag). No upper bound
    exceeds the largest possible ratio (everyone in the group listed).
    ``reference``, ``method`` and ``adjust`` match in any case. With several
    snapshots in ``matrix``, ``quarter`` picks one. ``kind``: each row a
    person (``"people"``, default: a group counted above its population is a
    data error, said in ``note``) or an event (``"events"``: searches, which may
    outnumber the population; see :func:`relative_rate_from_counts`).

    Returns
    -------
    DataFrame
        ``benchmark, benchmark_label, [borough,] group, reference, count,
        population, rate_per_1000, rate_low, rate_high, rri, ci_low, ci_high,
        p_value, p_adjusted, method, adjust, flag, note``. The reference
        group's own row has RRI 1 and no p-value.
    """
    by = _split_by(by)
    reference = _reference(reference)
    if "quarter" not in by:
        matrix = one_snapshot(matrix, quarter, function="relative_rate_index")
    return relative_rate_from_counts(_list_counts(matrix, by), benchmarks, by=by, reference=reference,
                                     alpha=alpha, method=method, adjust=adjust, rate_method=rate_method,
                                     kind=kind)


def relative_rate_from_counts(
    list_counts: pd.DataFrame,
    benchmarks: Sequence[str | Benchmark] = ("residents_2021", "residents_2011"),
    *,
    by: str | Sequence[str] = "ethnicity",
    reference: str = DEFAULT_REFERENCE,
    alpha: float = 0.05,
    method: RatioMethod = "katz",
    adjust: AdjustMethod = "holm",
    rate_method: Literal["phe", "byar", "exact"] = "phe",
    kind: Literal["people", "events"] = "people",
) -> pd.DataFrame:
    """:func:`relative_rate_index` from the number listed per group (as :func:`representation_from_counts`).

    ``kind`` says what ``count`` counts (:func:`fairness.stats.intervals.confint_rate_ratio`):
    ``"people"`` (default), each one of the benchmark population, so a group counted above its
    population is a data error (that row: ``not_estimable``, and its note says so; the rest run);
    ``"events"`` (searches, arrests), Poisson counts that may exceed the population, so a rate
    above 1,000 per 1,000 gets its ratio and interval (Katz without the finite-size terms).
    """
    by = _split_by(by)
    reference = _reference(reference)
    kind = match_option(kind, ("people", "events"), name="kind")
    method = match_option(method, RATIO_METHODS, name="method")
    adjust = match_option(adjust, ADJUST_METHODS, name="adjust")
    keys = [c for c in by if c != "ethnicity"]
    out = []
    for b in benchmarks:
        bench = get_benchmark(b)
        bc = _benchmark_counts(bench, by).rename(columns={"count": "bench_count", "share": "benchmark_share"})
        t = list_counts.merge(bc, on=_bench_keys(by), how="left")
        t["population"] = t["bench_count"]
        t["_pop"] = _population(t, method)
        ref = t[t["ethnicity"] == reference]
        if keys:
            t = t.merge(
                ref[keys + ["count", "_pop"]].rename(columns={"count": "ref_count", "_pop": "ref_pop"}),
                on=keys, how="left",
            )
            pop = t["_pop"].to_numpy(dtype="float64")
        else:
            pop = t["_pop"].to_numpy(dtype="float64")
            t["ref_count"] = float(ref["count"].iloc[0]) if len(ref) else np.nan
            t["ref_pop"] = float(pop[(t["ethnicity"] == reference).to_numpy()][0]) if len(ref) else np.nan
        a = t["count"].to_numpy(dtype="float64")
        ref_a = t["ref_count"].to_numpy(dtype="float64")
        ref_A = t["ref_pop"].to_numpy(dtype="float64")
        is_ref = (t["ethnicity"] == reference).to_numpy()
        stated = (t["ethnicity"] != "Not stated").to_numpy()
        # The same groups are estimable under every method (so the same groups
        # share an adjustment family): nobody listed in the reference group
        # means no ratio at all, under any method.
        estimable = stated & ~np.isnan(pop) & (pop > 0) & ~np.isnan(ref_A) & (ref_A > 0) & ~is_ref
        estimable &= ~np.isnan(ref_a) & (ref_a > 0)
        # people counted above their population: a data error, no ratio (for them or, if it is the
        # reference group, for anyone it is compared with); events may exceed it
        above = (a > pop) if kind == "people" else np.zeros(len(t), dtype=bool)
        ref_above = (ref_a > ref_A) if kind == "people" else np.zeros(len(t), dtype=bool)
        estimable &= ~above & ~ref_above
        small = estimable & ((a < KATZ_EXACT_BELOW) | (ref_a < KATZ_EXACT_BELOW)) if method == "katz" \
            else np.zeros(len(t), dtype=bool)
        rri, lo, hi = np.full(len(t), np.nan), np.full(len(t), np.nan), np.full(len(t), np.nan)
        p = np.full(len(t), np.nan)
        for how, e in ((method, estimable & ~small), (SMALL_COUNT_METHOD, small)):
            if not e.any():
                continue
            pop_ = pop if how == method else _population(t, how)
            ref_ = ref_A if how == method else np.round(ref_A) if bench.has_counts else ref_A
            rri[e], lo[e], hi[e] = confint_rate_ratio(a[e], pop_[e], ref_a[e], ref_[e], alpha=alpha, method=how,
                                                      kind=kind)
            p[e] = test_rate_ratio(a[e], pop_[e], ref_a[e], ref_[e], method=_TEST_FOR_METHOD[how], kind=kind)
        if kind == "people":
            # No group's rate exceeds 1 (everyone listed): the ratio cannot exceed ref_A / ref_a.
            with np.errstate(divide="ignore", invalid="ignore"):
                most = ref_A / ref_a
            hi = np.where(estimable & np.isfinite(most) & (hi > most), most, hi)
        # a zero count has RRI 0 even where a log interval cannot be formed
        # (but not when the reference count is zero too: 0/0 is not 0)
        zero = stated & ~is_ref & (a == 0) & ~np.isnan(pop) & (pop > 0) & (ref_a > 0) & ~ref_above
        rri[zero & np.isnan(rri)] = 0.0
        rri[is_ref] = 1.0
        t["rri"], t["ci_low"], t["ci_high"], t["p_value"] = rri, lo, hi, p
        t["p_adjusted"] = _adjust_within(t, keys, adjust)
        t["method"] = np.where(small, SMALL_COUNT_METHOD, method).astype(object)
        has_counts = ~t["bench_count"].isna()
        rate_low, rate_high = np.full(len(t), np.nan), np.full(len(t), np.nan)
        rate = np.where(has_counts & (pop > 0), 1000 * a / np.where(pop > 0, pop, 1), np.nan)
        ok = has_counts.to_numpy() & (pop > 0)
        if ok.any():
            rate_low[ok], rate_high[ok] = confint_poisson_rate(
                a[ok], pop[ok], alpha=alpha, method=rate_method, multiplier=1000.0
            )
        t["rate_per_1000"], t["rate_low"], t["rate_high"] = rate, rate_low, rate_high
        t["note"] = [
            NOTE_ABOVE_POPULATION.format(count=int(c), population=int(pp)) if ab else
            ("reference group: " + NOTE_ABOVE_POPULATION.format(count=int(rc), population=int(ra))
             if rab and s and not r else
            NOTE_REFERENCE if r else
            (NOTE_NOT_STATED if not s else
             (NOTE_NO_BENCHMARK if (np.isnan(pp) or pp == 0) else
              (NOTE_NO_REFERENCE if (np.isnan(ra) or ra == 0) else
               (NOTE_REFERENCE_ZERO if rc == 0 else
               (NOTE_ZERO if c == 0 and np.isnan(lo_) else
               (NOTE_SHARES_ONLY if not hc else bench.assumption)))))))
            for ab, rab, r, s, pp, ra, rc, c, lo_, hc in zip(above, ref_above, is_ref, stated, pop, ref_A, ref_a, a,
                                                             lo, has_counts, strict=True)
        ]
        t["note"] = _with_strata_note(list(t["note"]), by)
        t["benchmark"], t["benchmark_label"] = bench.name, bench.label
        out.append(t)
    res = pd.concat(out, ignore_index=True).rename(columns={"ethnicity": "group"})
    res["reference"] = reference
    res["adjust"] = adjust
    res["flag"] = parity_flag(res["ci_low"].to_numpy(), res["ci_high"].to_numpy())
    res.loc[res["group"] == reference, "flag"] = "reference"
    cols = ["benchmark", "benchmark_label", *keys, "group", "reference", "count", "population",
            "rate_per_1000", "rate_low", "rate_high", "rri", "ci_low", "ci_high", "p_value",
            "p_adjusted", "method", "adjust", "flag", "note"]
    return res[cols]


def _reference(reference: object) -> str:
    """The reference group, matched as data values are (any case)."""
    try:
        return match_option(reference, defs.CENSUS_ETHNICITIES, name="reference")
    except ValueError:
        raise ValueError(ERR_REFERENCE.format(reference=reference, valid=", ".join(defs.CENSUS_ETHNICITIES))) from None


def _adjust_within(t: pd.DataFrame, keys: list[str], adjust: str) -> np.ndarray:
    """Adjust p-values within each family: the groups of one benchmark (and one borough)."""
    p = t["p_value"].to_numpy(dtype="float64")
    out = np.full(len(t), np.nan)
    families = t.groupby(keys, observed=True, sort=False).indices.values() if keys else [np.arange(len(t))]
    for idx in families:
        out[idx] = adjust_pvalues(p[idx], method=adjust)
    return out


def benchmark_sensitivity(relative_rate: pd.DataFrame, representation: pd.DataFrame) -> pd.DataFrame:
    """One row per group, one column pair per benchmark: how the answer moves with the denominator.

    Returns ``group, measure, benchmark, benchmark_label, value, ci_low, ci_high``
    for ``measure`` in ("representation ratio", "relative rate index"), so
    the sensitivity to the benchmark is a table of its own.
    """
    rr = representation.assign(measure="representation ratio", value=representation["ratio"])
    ri = relative_rate.assign(measure="relative rate index", value=relative_rate["rri"])
    cols = ["group", "measure", "benchmark", "benchmark_label", "count", "value", "ci_low", "ci_high"]
    out = pd.concat([rr[cols], ri[cols]], ignore_index=True)
    order = {g: i for i, g in enumerate(defs.ETHNICITIES)}
    out["_o"] = out["group"].map(order)
    return out.sort_values(["_o", "measure", "benchmark"], kind="stable").drop(columns="_o").reset_index(drop=True)
