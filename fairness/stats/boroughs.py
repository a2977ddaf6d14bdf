"""Borough inconsistency: funnel plots, heterogeneity, case-mix adjustment, band mapping.

The regulator (ICO, 2018) found practice inconsistent across the 32 boroughs.
Three questions, three tools:

* Is a borough's share (no-risk, Black, green) or listing rate further from
  the London value than chance allows? — :func:`borough_funnel`
  (Spiegelhalter 2005, with overdispersion measured and allowed for).
* Is that practice, or a different population? — :func:`casemix_adjusted`
  compares each borough's observed no-risk count with the count expected from
  its people's age band, sex and ethnicity under a London-wide logistic model
  (indirect standardisation), and tests the borough term by likelihood ratio.
* Do boroughs turn harm scores into red/amber/green the same way? —
  :func:`band_consistency` fits London-wide cut-points and counts the people
  whose band would differ under them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from fairness import definitions as defs
from fairness.counts.groups import flag_mask, with_groups
from fairness.io.benchmarks import get_benchmark
from fairness.stats._distributions import chi2_sf, norm_isf, norm_sf
from fairness.stats._options import match_option, one_snapshot
from fairness.stats._threads import pinned_threads
from fairness.stats.disparity import band_labels
from fairness.stats.funnel import funnel_proportion, funnel_rate, heterogeneity_test
from fairness.stats.intervals import adjust_pvalues, confint_proportion

__all__ = [
    "BOROUGH_METRICS",
    "borough_counts",
    "borough_funnel",
    "borough_heterogeneity",
    "casemix_adjusted",
    "band_consistency",
]

#: Borough-level metrics: numerator rule and denominator ("listed" or "residents").
BOROUGH_METRICS: dict[str, tuple[str, str]] = {
    "no_risk_share": ("harm score of zero, share of people listed", "listed"),
    "black_share": ("share of people listed in the share group (definitions.SHARE_GROUP)", "listed"),
    "green_share": ("green band, share of people listed", "listed"),
    "rate_per_1000": ("people listed per 1,000 residents (Census 2021)", "residents"),
}
ERR_METRIC = "unknown borough metric {name!r}; valid: {valid}"
ERR_COVERS = "covers names {names}, which {verb} not a borough; valid: 'all', or borough names ({valid}, ...)"
#: ``covers`` for a list known to cover every borough (a borough with no rows lists nobody).
COVERS_ALL = "all"
#: Points of each funnel limit curve (geometrically spaced). Over 1 to 1,000 people,
#: neighbours are under 20% apart and a straight line between them is within 0.3% of
#: the curve's distance from the centre (checked against 4,000 points); at 200 points
#: the curves were a quarter of metrics.json.
FUNNEL_GRID_POINTS = 40
Covers = Sequence[str] | Literal["all"] | None


def _metric(name: object) -> str:
    try:
        return match_option(name, BOROUGH_METRICS, name="metric")
    except ValueError:
        raise ValueError(ERR_METRIC.format(name=name, valid=", ".join(BOROUGH_METRICS))) from None


def _covered(covers: Covers, units: Sequence[str] | None = None) -> frozenset[str] | None:
    """The boroughs (or other ``units``) the list is known to cover (None: only those with rows)."""
    if covers is None:
        return None
    units = defs.BOROUGHS if units is None else units
    if isinstance(covers, str):
        if covers.strip().casefold() == COVERS_ALL:
            return frozenset(units)
        covers = [covers]
    names, bad = [], []
    for c in covers:
        try:
            names.append(match_option(c, units, name="covers"))
        except ValueError:
            bad.append(repr(c))
    if bad:
        raise ValueError(ERR_COVERS.format(names=", ".join(bad), verb="is" if len(bad) == 1 else "are",
                                           valid=", ".join(list(units)[:3])))
    return frozenset(names)


def _units(counts: dict[str, pd.DataFrame]) -> list[str]:
    """Every unit (borough, or area of a count table) named in the count tables, in order."""
    return list(dict.fromkeys(str(u) for c in counts.values() for u in c["borough"]))


def _no_data(metric: str, c: pd.DataFrame, covered: frozenset[str] | None) -> np.ndarray:
    """Boroughs with no rows in the file and not known to be covered: "no data", not zero.

    For the shares a borough without rows already has n = 0. For the rate per
    1,000 residents, n is the borough's population whatever the file holds,
    so a borough absent from the file would count as one listing nobody (a
    one-borough file would flag that borough against 31 zeros).
    """
    if metric != "rate_per_1000":
        return np.zeros(len(c), dtype=bool)
    absent = c["count"].to_numpy() == 0
    if covered is not None:
        absent &= ~c["borough"].astype(str).isin(covered).to_numpy()
    return absent


def _with_no_data(metric: str, c: pd.DataFrame, covered: frozenset[str] | None) -> tuple[pd.DataFrame, int]:
    """The counts with n = 0 for boroughs that are "no data" (left out of target, phi, tau2, tests)."""
    absent = _no_data(metric, c, covered)
    if not absent.any():
        return c, 0
    c = c.copy()
    c["n"] = np.where(absent, 0, c["n"].to_numpy())
    return c, int(absent.sum())


def borough_counts(matrix: pd.DataFrame, metric: str, *, benchmark: str = "residents_2021") -> pd.DataFrame:
    """``borough, count, n`` for one metric, every borough present.

    For ``rate_per_1000`` the count is people listed and ``n`` the borough's
    residents in ``benchmark``.
    """
    metric = _metric(metric)
    boroughs = list(defs.BOROUGHS)
    listed = matrix.groupby("borough", observed=False).size().reindex(boroughs, fill_value=0)
    if metric == "rate_per_1000":
        res = get_benchmark(benchmark).by_borough().groupby("borough")["count"].sum()
        return pd.DataFrame({"borough": boroughs, "count": listed.to_numpy(),
                             "n": res.reindex(boroughs).to_numpy()})
    hit = {
        "no_risk_share": pd.Series(flag_mask(matrix, "harm_zero"), index=matrix.index),
        "black_share": matrix["ethnicity"] == defs.SHARE_GROUP,
        "green_share": pd.Series(flag_mask(matrix, "green"), index=matrix.index),
    }[metric]
    count = hit.groupby(matrix["borough"], observed=False).sum().reindex(boroughs, fill_value=0)
    return pd.DataFrame({"borough": boroughs, "count": count.to_numpy(dtype="int64"),
                         "n": listed.to_numpy(dtype="int64")})


def borough_funnel(
    matrix: pd.DataFrame,
    metrics: Sequence[str] = tuple(BOROUGH_METRICS),
    *,
    overdispersion: str | bool = "auto",
    n_grid: int = FUNNEL_GRID_POINTS,
    quarter: str | None = None,
    covers: Covers = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Funnel comparison of the 32 boroughs for each metric.

    A borough with no rows in the file is "no data" (flag ``not_estimable``,
    value NaN, left out of the target, φ and τ²), not a borough listing
    nobody, unless ``covers`` says the list covers it (``"all"``, or borough
    names, e.g. from a profile). With several snapshots in ``matrix``,
    ``quarter`` picks one (required).

    Returns
    -------
    boroughs : DataFrame
        ``metric, borough, count, n, value, target, z, z_adjusted, flag,
        lower_95, upper_95, lower_998, upper_998`` (rates per 1,000 for
        ``rate_per_1000``, proportions otherwise).
    overdispersion : DataFrame
        ``metric, phi, tau2, target, k, overdispersed, adjusted, method``.
    limits : DataFrame
        ``metric, n, level, lower, upper``: the limit curves, for plotting.
    """
    matrix = one_snapshot(matrix, quarter, function="borough_funnel")
    return funnel_from_counts({_metric(metric): borough_counts(matrix, metric) for metric in metrics},
                              overdispersion=overdispersion, n_grid=n_grid, covers=covers)


def funnel_from_counts(
    counts: dict[str, pd.DataFrame], *, overdispersion: str | bool = "auto", n_grid: int = FUNNEL_GRID_POINTS,
    covers: Covers = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`borough_funnel` from ``borough, count, n`` per metric (as :func:`borough_counts` gives)."""
    tables, disp, limits = [], [], []
    covered = _covered(covers, _units(counts))
    for metric, given in counts.items():
        c, n_absent = _with_no_data(metric, given, covered)
        if int((c["n"] > 0).sum()) < 2:
            # One borough's own matrix: nothing to compare with. The funnel
            # functions rightly refuse (k < 2); say "not estimable" instead of
            # failing the whole audit.
            t, d = _funnel_not_estimable(metric, c)
            t["n"] = given["n"].to_numpy()
            d["method"] = _no_data_note(d["method"], n_absent)
            tables.append(t)
            disp.append(d)
            continue
        if metric == "rate_per_1000":
            res = funnel_rate(c["count"], c["n"], labels=c["borough"], overdispersion=overdispersion)
        else:
            res = funnel_proportion(c["count"], c["n"], labels=c["borough"], overdispersion=overdispersion)
        t = res.table.rename(columns={"unit": "borough"})
        t.insert(0, "metric", metric)
        t["n"] = given["n"].to_numpy()  # residents of a "no data" borough still shown
        tables.append(t)
        disp.append({"metric": metric, "phi": res.phi, "tau2": res.tau2, "target": res.target, "k": res.k,
                     "overdispersed": res.overdispersed, "adjusted": res.adjusted,
                     "method": _no_data_note(res.method, n_absent)})
        pos = c["n"][c["n"] > 0]
        if len(pos):
            # The curves' ends must not reveal a borough's n (a small one may be
            # suppressed in publication): start at a fixed value, end at a
            # rounded-up 1-2-5 ceiling above the largest.
            start = 10_000.0 if metric == "rate_per_1000" else 1.0
            grid = np.unique(np.geomspace(start, max(_nice_ceiling(pos.max() * 1.1), start * 10), n_grid))
            lim = res.limits(grid)
            lim.insert(0, "metric", metric)
            limits.append(lim)
    limits_df = pd.concat(limits, ignore_index=True) if limits else pd.DataFrame(
        columns=["metric", "n", "level", "lower", "upper"])
    return pd.concat(tables, ignore_index=True), pd.DataFrame(disp), limits_df


NOTE_FUNNEL_TOO_FEW = "not estimable: fewer than 2 boroughs with a denominator above 0"
NOTE_NO_DATA = "{k} borough(s) with no rows in the file: no data, not zero"


def _no_data_note(method: str, n_absent: int) -> str:
    return f"{method}; {NOTE_NO_DATA.format(k=n_absent)}" if n_absent else method


def _funnel_not_estimable(metric: str, c: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Funnel rows and dispersion record when fewer than two boroughs can be compared."""
    n = c["n"].to_numpy(dtype="float64")
    scale = 1000.0 if metric == "rate_per_1000" else 1.0
    value = np.where(n > 0, scale * c["count"].to_numpy(dtype="float64") / np.where(n > 0, n, 1.0), np.nan)
    t = pd.DataFrame({"metric": metric, "borough": c["borough"].to_numpy(), "count": c["count"].to_numpy(),
                      "n": c["n"].to_numpy(), "value": value, "target": np.nan, "z": np.nan,
                      "z_adjusted": np.nan, "flag": "not_estimable"})
    for col in ("lower_95", "upper_95", "lower_998", "upper_998"):
        t[col] = np.nan
    d = {"metric": metric, "phi": np.nan, "tau2": np.nan, "target": np.nan, "k": int((n > 0).sum()),
         "overdispersed": False, "adjusted": False, "method": NOTE_FUNNEL_TOO_FEW}
    return t, d


def _nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 5 × 10^k at or above ``x``."""
    k = 10.0 ** np.floor(np.log10(x))
    return float(next(m * k for m in (1, 2, 5, 10) if m * k >= x))


def borough_heterogeneity(matrix: pd.DataFrame, metrics: Sequence[str] = tuple(BOROUGH_METRICS), *,
                          quarter: str | None = None, covers: Covers = None) -> pd.DataFrame:
    """Chi-square test that all boroughs share one value: ``metric, statistic, df, p_value, i2, k``.

    Boroughs with no rows are left out unless ``covers`` names them (as in
    :func:`borough_funnel`); ``quarter`` picks one snapshot of several.
    """
    matrix = one_snapshot(matrix, quarter, function="borough_heterogeneity")
    return heterogeneity_from_counts({_metric(metric): borough_counts(matrix, metric) for metric in metrics},
                                     covers=covers)


def heterogeneity_from_counts(counts: dict[str, pd.DataFrame], *, covers: Covers = None) -> pd.DataFrame:
    """:func:`borough_heterogeneity` from ``borough, count, n`` per metric."""
    rows = []
    covered = _covered(covers, _units(counts))
    for metric, given in counts.items():
        c, _ = _with_no_data(metric, given, covered)
        h = heterogeneity_test(c["count"], c["n"])
        rows.append({"metric": metric, "statistic": h.statistic, "df": h.df, "p_value": h.pvalue,
                     "i2": h.i2, "k": h.k})
    return pd.DataFrame(rows)


CASEMIX_COVARIATES: tuple[str, ...] = ("age_band", "sex", "ethnicity")
#: Significant digits kept of what the case-mix model gives (expected counts, their
#: variances, the log-likelihoods). The fit goes through BLAS and LAPACK, whose last
#: bits depend on the kernel OpenBLAS picks for the CPU (``OPENBLAS_CORETYPE``: a
#: terminal and ``env -i`` can differ) and on the thread count (pinned to one); the
#: IRLS fit converges to about 1e-8, so 10 digits keep everything the model knows and
#: make the figures the same wherever they run (unless a value lies within ~1e-15 of a
#: rounding boundary).
MODEL_DIGITS = 10


#: The message statsmodels gives when an IRLS step meets a value that is not finite.
ERR_GLM_INFEASIBLE = "NaN, inf or invalid value detected in {0}, estimation infeasible."
ERR_GLM_FIRST_GUESS = ("The first guess on the deviance function returned a nan.  This could be a boundary "
                       " problem and should be reported.")


def _binomial_glm(successes, trials, exog, *, maxiter: int = 100, tol: float = 1e-8):
    """A binomial GLM with the logit link, fitted as statsmodels fits it: ``(params, mu, llf, rank)``.

    ``GLM(np.column_stack([successes, trials - successes]), exog,
    family=families.Binomial()).fit()``, step by step in numpy: the same start
    (mu = (y + 0.5) / 2), the same IRLS steps (weighted least squares by
    ``numpy.linalg.lstsq``), the same stopping rule (deviance within ``tol``), the
    final weighted least squares by statsmodels' SVD pseudo-inverse, and the
    same log-likelihood (with its binomial coefficients) and errors. The same
    operations on the same numbers give the same figures (tests/test_boroughs.py
    compares them with statsmodels; the audit keeps :data:`MODEL_DIGITS` digits of
    them anyway), without importing statsmodels, patsy and scipy.stats (about a
    second) in every audit. (statsmodels' multiplications by 1 and additions of 0
    are left out: they change no bit.)

    ``rank`` is the design's rank (``numpy.linalg.matrix_rank``, with its default
    tolerance, as statsmodels counts ``df_model + 1``): fewer than its columns when
    they are collinear (a borough whose people all fall in a covariate cell found in
    no other borough) or one is empty, where statsmodels warns. A likelihood-ratio
    test counts its degrees of freedom in rank, not in columns.
    """
    from scipy.special import gammaln

    eps = np.finfo(float).eps
    exog = np.asarray(exog, dtype="float64")
    rank = int(np.linalg.matrix_rank(exog))  # statsmodels' first step; an empty design fails here as it does there
    n = np.asarray(trials, dtype="float64")
    y = np.asarray(successes, dtype="float64") / n

    def clean(p):
        return np.clip(p, eps, 1.0 - eps)

    def fitted(lin_pred):  # the inverse logit (exp overflows to inf far out: 1 / inf is the 0 wanted)
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-lin_pred))

    def deriv(mu):  # of the logit
        p = clean(mu)
        return 1.0 / (p * (1 - p))

    def irls_weights(mu):
        p = clean(mu)
        return 1.0 / (deriv(mu) ** 2 * (p * (1 - p)))

    def deviance(mu):
        endog_mu = np.clip(y / (mu + 1e-20), eps, np.inf)
        n_endog_mu = np.clip((1.0 - y) / (1.0 - mu + 1e-20), eps, np.inf)
        return np.sum(2 * n * (y * np.log(endog_mu) + (1 - y) * np.log(n_endog_mu)))

    mu = (y + 0.5) / 2
    p0 = clean(mu)
    lin_pred = np.log(p0 / (1.0 - p0))
    history = [np.inf, deviance(mu)]
    if np.isnan(history[-1]):
        raise ValueError(ERR_GLM_FIRST_GUESS)
    weights = wlsendog = None
    for iteration in range(maxiter):
        weights = n * irls_weights(mu)
        wlsendog = lin_pred + deriv(mu) * (y - mu)
        w_half = np.sqrt(weights)
        if not np.all(np.isfinite(w_half)):
            raise ValueError(ERR_GLM_INFEASIBLE.format("weights"))
        if not np.all(np.isfinite(wlsendog)):
            raise ValueError(ERR_GLM_INFEASIBLE.format("endog"))
        params = np.linalg.lstsq(w_half[:, None] * exog, w_half * wlsendog, rcond=-1)[0]
        lin_pred = np.dot(exog, params)
        mu = fitted(lin_pred)
        history.append(deviance(mu))
        if np.allclose(history[iteration + 1], history[iteration + 2], atol=tol, rtol=0.0):
            break
    # statsmodels' last step: weighted least squares by its pseudo-inverse (tools.pinv_extended)
    w_half = np.sqrt(weights)
    u, s, vt = np.linalg.svd(w_half[:, None] * exog, False)
    s_inv = np.zeros_like(s)
    np.divide(1.0, s, out=s_inv, where=s > 1e-15 * np.max(s))
    params = np.dot(np.dot(vt.T, s_inv[:, None] * u.T), wlsendog * w_half)
    mu = fitted(np.dot(exog, params))
    successes_again = y * n  # not always the successes to the last bit, as in statsmodels
    llf = np.sum(gammaln(n + 1) - gammaln(successes_again + 1) - gammaln(n - successes_again + 1)
                 + successes_again * np.log((mu + 1e-20) / (1 - mu + 1e-20))
                 + n * np.log(1 - mu + 1e-20))
    return params, mu, float(llf), rank


def _significant(values, digits: int = MODEL_DIGITS) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits (NaN stays NaN)."""
    arr = np.asarray(values, dtype="float64")
    return np.array([float(f"{v:.{digits}g}") for v in arr.ravel()], dtype="float64").reshape(arr.shape)


def casemix_adjusted(
    matrix: pd.DataFrame,
    *,
    outcome: str = "no_risk_share",
    covariates: Sequence[str] = CASEMIX_COVARIATES,
    alpha: float = 0.05,
    adjust: str = "holm",
    quarter: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    r"""Borough no-risk shares adjusted for case mix (indirect standardisation).

    A binomial GLM (statsmodels, logit link) of the no-risk indicator on
    ``covariates`` is fitted London-wide on grouped counts; each borough's
    expected count :math:`E_b` is the sum of its people's fitted
    probabilities. The ratio :math:`O_b/E_b` (1 = as London would be with
    this borough's mix of people) gets one variance for its interval and its
    test: the binomial variance of :math:`O_b` under the model,
    :math:`V_b = \sum p(1-p)` over the borough's people. The test is
    :math:`z = (O-E)/\sqrt{V}` (two-sided normal p-value, adjusted across
    boroughs by ``adjust``) and the interval is
    :math:`(O \pm z_{1-\alpha/2}\sqrt{V})/E` (lower bound floored at 0), so
    the interval excludes 1 exactly when the unadjusted p-value is below
    ``alpha``. (A Poisson interval on :math:`O` has variance :math:`E`, too
    wide by :math:`1/\sqrt{1-\bar p}` — about 1.27× for a 38% outcome — and
    gave "interval includes 1, p = 0.048".) A likelihood-ratio test of adding
    a borough term says whether boroughs differ beyond their population. The
    models are fitted with one BLAS/OpenMP thread, so the figures are the
    same to the last bit wherever they run. With several snapshots in
    ``matrix``, ``quarter`` picks one (required).

    Returns
    -------
    table : DataFrame
        ``metric, borough, observed, expected, n, oe_ratio, ci_low, ci_high,
        z, p_value, p_adjusted, flag``.
    test : DataFrame
        One row: ``metric, lr_statistic, df, p_value, covariates``.
    """
    if outcome != "no_risk_share":
        raise ValueError(f"casemix_adjusted: outcome {outcome!r} not supported; valid: no_risk_share")
    m = with_groups(one_snapshot(matrix, quarter, function="casemix_adjusted"))
    y = flag_mask(m, "harm_zero").astype("int64")
    cols = list(covariates)
    keys = ["borough", *cols]
    grouped = (
        pd.DataFrame({**{k: m[k].astype(str) for k in keys}, "y": y})
        .groupby(keys, sort=True)["y"].agg(["sum", "size"]).reset_index()
    )
    return casemix_from_grouped(grouped, outcome=outcome, covariates=cols, alpha=alpha, adjust=adjust)


def casemix_flags(p: np.ndarray, z: np.ndarray, *, alpha: float, adjust: str) -> tuple[np.ndarray, np.ndarray]:
    """The adjusted p-values of a family of areas (those without a p-value left out of the
    family) and each area's flag: "higher" or "lower" than expected where the adjusted p-value
    is below ``alpha``, "within" otherwise, "not_estimable" without one. Used by the audit and
    by publication, which adjusts over the areas it shows."""
    padj = adjust_pvalues(np.asarray(p, dtype="float64"), method=adjust)
    flag = np.where(np.isnan(padj), "not_estimable",
                    np.where(padj < alpha, np.where(np.asarray(z) > 0, "higher", "lower"), "within"))
    return padj, flag


def casemix_from_grouped(
    grouped: pd.DataFrame,
    *,
    outcome: str = "no_risk_share",
    covariates: Sequence[str] = CASEMIX_COVARIATES,
    alpha: float = 0.05,
    adjust: str = "holm",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`casemix_adjusted` from people grouped by borough and ``covariates`` (as text, sorted),
    with ``sum`` (no-risk) and ``size`` (people) per group."""
    if outcome != "no_risk_share":
        raise ValueError(f"casemix_adjusted: outcome {outcome!r} not supported; valid: no_risk_share")
    cols = list(covariates)
    grouped = grouped.copy()
    X0 = pd.get_dummies(grouped[cols], drop_first=True, dtype="float64")
    X0.insert(0, "const", 1.0)  # the intercept first, as statsmodels' add_constant puts it
    X1 = pd.concat([X0, pd.get_dummies(grouped["borough"], drop_first=True, dtype="float64", prefix="b")], axis=1)
    successes, trials = grouped["sum"].to_numpy(), grouped["size"].to_numpy()
    with pinned_threads():  # same bytes under cron and in a terminal
        _, p_hat, llf0, rank0 = _binomial_glm(successes, trials, X0.to_numpy(dtype="float64"))
        _, _, llf1, rank1 = _binomial_glm(successes, trials, X1.to_numpy(dtype="float64"))
    grouped["expected"] = p_hat * grouped["size"]
    grouped["var"] = p_hat * (1 - p_hat) * grouped["size"]
    lr = float(_significant(max(0.0, 2 * (float(_significant(llf1)) - float(_significant(llf0))))))
    df = rank1 - rank0  # in rank, not columns: collinear or empty columns add no freedom
    test = pd.DataFrame([{
        "metric": outcome, "lr_statistic": lr, "df": df, "p_value": float(chi2_sf(lr, df)),
        "covariates": ", ".join(cols),
    }])
    b = grouped.groupby("borough").agg(observed=("sum", "sum"), expected=("expected", "sum"),
                                       n=("size", "sum"), var=("var", "sum"))
    b = b.reindex(list(defs.BOROUGHS))
    b["expected"], b["var"] = _significant(b["expected"]), _significant(b["var"])  # see MODEL_DIGITS
    b["n"] = b["n"].fillna(0).astype("int64")
    b["observed"] = b["observed"].fillna(0).astype("int64")
    e = b["expected"].to_numpy(dtype="float64")
    o = b["observed"].to_numpy(dtype="float64")
    ok = np.nan_to_num(e) > 0
    ratio = np.where(ok, o / np.where(ok, e, 1), np.nan)
    # One variance for the interval and the test: the binomial V = sum p(1 - p).
    v = b["var"].to_numpy(dtype="float64")
    has_v = ok & (np.nan_to_num(v) > 0)
    sd = np.sqrt(np.where(has_v, v, 1.0))
    safe_e = np.where(ok, e, 1.0)
    z = np.where(has_v, (o - e) / sd, np.nan)
    half = float(norm_isf(alpha / 2)) * sd
    lo = np.where(has_v, np.maximum(o - half, 0.0) / safe_e, np.nan)
    hi = np.where(has_v, (o + half) / safe_e, np.nan)
    p = 2 * norm_sf(np.abs(z))
    padj, flag = casemix_flags(p, z, alpha=alpha, adjust=adjust)
    table = pd.DataFrame({
        "metric": outcome, "borough": list(defs.BOROUGHS), "observed": b["observed"].to_numpy(),
        "expected": e, "n": b["n"].to_numpy(), "oe_ratio": ratio, "ci_low": lo, "ci_high": hi,
        "z": z, "p_value": p, "p_adjusted": padj, "flag": flag,
    })
    return table, test


def band_consistency(
    matrix: pd.DataFrame, *, alpha: float = 0.05, grid_size: int = 200, quarter: str | None = None
) -> pd.DataFrame:
    """How consistently each borough maps harm scores to red/amber/green.

    London-wide cut-points are fitted to all people (the monotone mapping of
    harm score to band that agrees with the most recorded bands); each
    borough's own best cut-points are fitted the same way. For each borough:
    the people whose recorded band differs from the London-wide mapping
    (count, share, Wilson interval), and a flag where that share is above the
    London share with the intervals not overlapping. With several snapshots
    in ``matrix``, ``quarter`` picks one (required).

    Returns
    -------
    DataFrame
        ``borough, n, disagree, share, ci_low, ci_high, amber_from, red_from,
        london_amber_from, london_red_from, london_share, flag``.
    """
    matrix = one_snapshot(matrix, quarter, function="band_consistency")
    table = (
        pd.DataFrame({"borough": matrix["borough"].astype(str).to_numpy(dtype=object),
                      "risk_band": band_labels(matrix["risk_band"]),
                      "harm_score": matrix["harm_score"].to_numpy(dtype="float64")})
        .groupby(["borough", "risk_band", "harm_score"], sort=False).size().rename("count").reset_index()
    )
    return band_consistency_from_counts(table, alpha=alpha, grid_size=grid_size)


def _quantile_from_counts(values: np.ndarray, counts: np.ndarray, q: np.ndarray) -> np.ndarray:
    """``np.quantile(np.repeat(values, counts), q)`` (method "linear") without the repeat.

    ``values`` sorted and distinct. The arithmetic is numpy's own (virtual
    index ``(n - 1) q``, its neighbours, and numpy's ``_lerp``), so the result
    is the same to the last bit; tests/test_boroughs.py checks it.
    """
    n = int(counts.sum())
    virtual = (n - 1) * q
    previous = np.floor(virtual)
    following = previous + 1
    above = virtual >= n - 1
    previous[above] = -1
    following[above] = -1
    below = virtual < 0
    previous[below] = 0
    following[below] = 0
    previous = previous.astype(np.intp)
    following = following.astype(np.intp)
    gamma = np.asanyarray(virtual - previous, dtype=virtual.dtype)
    cumulative = np.cumsum(counts)

    def order_statistic(k: np.ndarray) -> np.ndarray:
        k = np.where(k < 0, n + k, k)
        return values[np.searchsorted(cumulative, k, side="right")]

    a, b = order_statistic(previous), order_statistic(following)
    diff_b_a = b - a
    out = np.add(a, diff_b_a * gamma)
    np.subtract(b, diff_b_a * (1 - gamma), out=out, where=gamma >= 0.5, casting="unsafe")
    return out


def _cutpoints_from_counts(scores: np.ndarray, bands: np.ndarray, counts: np.ndarray,
                           grid: np.ndarray) -> tuple[float, float, int]:
    """Cut-points (amber, red) maximising agreement with the recorded bands.

    Predicted band: Green below ``c1``, Amber from ``c1`` to below ``c2``, Red
    from ``c2``. Searched over ``grid`` (both cut-points), vectorised, from
    distinct (score, band) pairs and the number of records of each.
    """
    cum = {}
    for band in ("Green", "Amber", "Red"):
        mine = bands == band
        order = np.argsort(scores[mine], kind="stable")
        s, c = scores[mine][order], counts[mine][order]
        below = np.searchsorted(s, grid, side="left")  # distinct values below each grid value
        running = np.concatenate([[0], np.cumsum(c)])
        cum[band] = running[below]  # records below each grid value
    total_red = int(counts[bands == "Red"].sum())
    agree = cum["Green"][:, None] + (cum["Amber"][None, :] - cum["Amber"][:, None]) + (total_red - cum["Red"][None, :])
    agree = np.where(np.arange(len(grid))[:, None] <= np.arange(len(grid))[None, :], agree, -1)
    i, j = np.unravel_index(int(np.argmax(agree)), agree.shape)
    return float(grid[i]), float(grid[j]), int(agree[i, j])


def band_consistency_from_counts(table: pd.DataFrame, *, alpha: float = 0.05, grid_size: int = 200) -> pd.DataFrame:
    """:func:`band_consistency` from ``borough, risk_band, harm_score, count`` (records of one
    quarter counted by borough, band and score)."""
    cols = ["borough", "n", "disagree", "share", "ci_low", "ci_high", "amber_from", "red_from",
            "london_amber_from", "london_red_from", "london_share", "flag"]
    table = table[table["count"] > 0]
    if len(table) == 0:
        return pd.DataFrame(columns=cols)
    scores = table["harm_score"].to_numpy(dtype="float64")
    bands = table["risk_band"].astype(str).to_numpy(dtype=object)
    counts = table["count"].to_numpy(dtype="int64")
    borough = table["borough"].astype(str).to_numpy(dtype=object)
    values, inverse = np.unique(scores, return_inverse=True)
    per_value = np.bincount(inverse.reshape(-1), weights=counts, minlength=len(values)).astype("int64")
    quantiles = _quantile_from_counts(values, per_value, np.linspace(0, 1, grid_size))
    grid = np.unique(np.concatenate([[0.0], quantiles, [values.max() + 1]]))
    c1, c2, agree = _cutpoints_from_counts(scores, bands, counts, grid)
    predicted = np.where(scores >= c2, "Red", np.where(scores >= c1, "Amber", "Green"))
    differs = predicted != bands
    total, wrong = int(counts.sum()), int(counts[differs].sum())
    london_share = float(np.float64(wrong) / np.float64(total))
    lon_lo, lon_hi = confint_proportion(wrong, total, alpha=alpha)
    rows = []
    for b in defs.BOROUGHS:
        mask = borough == b
        n = int(counts[mask].sum())
        d = int(counts[mask & differs].sum())
        if n:
            a, r, _ = _cutpoints_from_counts(scores[mask], bands[mask], counts[mask], grid)
        else:
            a = r = np.nan
        rows.append({"borough": b, "n": n, "disagree": d, "amber_from": a, "red_from": r})
    t = pd.DataFrame(rows)
    lo, hi = confint_proportion(t["disagree"], t["n"], alpha=alpha)
    t["share"] = np.where(t["n"] > 0, t["disagree"] / t["n"].where(t["n"] > 0), np.nan)
    t["ci_low"], t["ci_high"] = lo, hi
    t["london_amber_from"], t["london_red_from"], t["london_share"] = c1, c2, london_share
    t["flag"] = np.where(t["n"] == 0, "not_estimable",
                         np.where(t["ci_low"] > float(lon_hi), "inconsistent", "consistent"))
    return t[cols]
