"""The few distribution functions the statistics need, from :mod:`scipy.special` alone.

``scipy.stats`` takes about half a second of processor time to import (more
than all of ``scipy.special``) and every audit paid it for a normal quantile
and a handful of beta, gamma and binomial tails. Each function here calls the
ufunc that ``scipy.stats`` itself calls (SciPy 1.17: ``norm.isf`` is
``-ndtri``, ``beta.ppf`` is ``special._ufuncs._beta_ppf``, ``binom.sf`` is
``special._ufuncs._binom_sf``, ...), with the same handling of the edges that
``rv_continuous`` and ``rv_discrete`` add around it (a probability of 0 or 1
gives the end of the support, a shape parameter out of range gives NaN, a
binomial count below or above its support gives 0 or 1), so the values are
SciPy's to the last bit; ``tests/test_distributions.py`` compares them with
``scipy.stats`` on a grid that includes every edge.

The normal quantile is ``scipy.special.ndtri`` as well, not
:meth:`statistics.NormalDist.inv_cdf`: that one agrees to about 1e-16 but not
always to the last bit, and a published interval must not move.
"""

from __future__ import annotations

import numpy as np

from fairness._lazy import LazyModule

__all__ = [
    "beta_isf",
    "beta_ppf",
    "binom_cdf",
    "binom_pmf",
    "binom_sf",
    "chi2_sf",
    "expit",
    "gamma_isf",
    "gamma_ppf",
    "norm_isf",
    "norm_ppf",
    "norm_sf",
]

# scipy.special (about 0.1 s to import) only when a function here is first called
special = LazyModule("scipy.special")
_ufuncs = LazyModule("scipy.special._ufuncs")


def _private(name: str):
    """A private ufunc of scipy.special that scipy.stats calls (SciPy 1.17 has them all), or None
    in a SciPy without it, where the function falls back to scipy.stats itself."""
    return getattr(_ufuncs, name, None)


def _out(values: np.ndarray):
    """A 0-d result as a numpy scalar, as scipy.stats returns it."""
    return values[()] if values.ndim == 0 else values


def _quantile(func, q, args, valid, lower, upper, *, upper_tail: bool):
    """``rv_continuous.ppf`` (``upper_tail`` False) or ``.isf`` around ``func(q, *args)``."""
    q = np.asarray(q, dtype="float64")
    args = [np.asarray(a, dtype="float64") for a in args]
    q, *args = np.broadcast_arrays(q, *args)
    valid = np.broadcast_to(valid(*args), q.shape) if args else np.ones(q.shape, dtype=bool)
    out = np.full(q.shape, np.nan)
    at_zero, at_one = valid & (q == 0), valid & (q == 1)
    out[at_zero] = upper if upper_tail else lower
    out[at_one] = lower if upper_tail else upper
    inside = valid & (q > 0) & (q < 1)
    if inside.any():
        out[inside] = func(q[inside], *(a[inside] for a in args)) * 1.0 + 0.0
    return _out(out)


def _positive(*args):
    valid = np.ones(np.shape(args[0]), dtype=bool)
    for a in args:
        valid &= a > 0
    return valid


def norm_ppf(q):
    """``scipy.stats.norm.ppf(q)``: the standard normal quantile."""
    return _quantile(lambda x: special.ndtri(x), q, (), None, -np.inf, np.inf, upper_tail=False)


def norm_isf(q):
    """``scipy.stats.norm.isf(q)``: the standard normal upper quantile, ``-ndtri(q)``."""
    return _quantile(lambda x: -special.ndtri(x), q, (), None, -np.inf, np.inf, upper_tail=True)


def beta_ppf(q, a, b):
    """``scipy.stats.beta.ppf(q, a, b)``."""
    if _private("_beta_ppf") is None:  # pragma: no cover - an older SciPy
        from scipy import stats

        return stats.beta.ppf(q, a, b)
    return _quantile(lambda x, a, b: _ufuncs._beta_ppf(x, a, b), q, (a, b), _positive, 0.0, 1.0,
                     upper_tail=False)


def beta_isf(q, a, b):
    """``scipy.stats.beta.isf(q, a, b)``."""
    return _quantile(lambda x, a, b: special.betainccinv(a, b, x), q, (a, b), _positive, 0.0, 1.0,
                     upper_tail=True)


def gamma_ppf(q, a):
    """``scipy.stats.gamma.ppf(q, a)``."""
    return _quantile(lambda x, a: special.gammaincinv(a, x), q, (a,), _positive, 0.0, np.inf, upper_tail=False)


def gamma_isf(q, a):
    """``scipy.stats.gamma.isf(q, a)``."""
    return _quantile(lambda x, a: special.gammainccinv(a, x), q, (a,), _positive, 0.0, np.inf, upper_tail=True)


def _upper_tail(func, x, args, valid, lower):
    """``rv_continuous.sf`` around ``func(x, *args)`` (support from ``lower`` to infinity)."""
    x = np.asarray(x, dtype="float64")
    args = [np.asarray(a, dtype="float64") for a in args]
    x, *args = np.broadcast_arrays(x, *args)
    valid = np.broadcast_to(valid(*args), x.shape) if args else np.ones(x.shape, dtype=bool)
    out = np.zeros(x.shape)
    out[~valid | np.isnan(x)] = np.nan
    out[valid & (x <= lower)] = 1.0
    inside = valid & (x > lower) & (x < np.inf)
    if inside.any():
        out[inside] = func(x[inside], *(a[inside] for a in args))
    return _out(out)


def norm_sf(x):
    """``scipy.stats.norm.sf(x)``: ``ndtr(-x)``."""
    return _upper_tail(lambda v: special.ndtr(-v), x, (), None, -np.inf)


def chi2_sf(x, df):
    """``scipy.stats.chi2.sf(x, df)``: ``chdtrc(df, x)``."""
    return _upper_tail(lambda v, d: special.chdtrc(d, v), x, (df,), _positive, 0.0)


def _binomial(k, n, p):
    k, n, p = np.broadcast_arrays(*(np.asarray(v, dtype="float64") for v in (k, n, p)))
    valid = (n >= 0) & (np.floor(n) == n) & (p >= 0) & (p <= 1)
    return k, n, p, valid


def binom_pmf(k, n, p):
    """``scipy.stats.binom.pmf(k, n, p)``."""
    if _private("_binom_pmf") is None:  # pragma: no cover - an older SciPy
        from scipy import stats

        return stats.binom.pmf(k, n, p)
    k, n, p, valid = _binomial(k, n, p)
    out = np.zeros(k.shape)
    inside = valid & (k >= 0) & (k <= n) & (np.floor(k) == k)
    out[~valid | np.isnan(k)] = np.nan
    if inside.any():
        out[inside] = np.clip(_ufuncs._binom_pmf(k[inside], n[inside], p[inside]), 0, 1)
    return _out(out)


def _binomial_tail(tail: str, k, n, p, *, below: float, above: float):
    """``scipy.stats.binom.cdf`` (``tail`` "cdf", ``below`` 0, ``above`` 1) or ``.sf`` ("sf", 1, 0):
    the ufunc ``_binom_<tail>`` that it calls, with ``rv_discrete``'s edges around it: ``below``
    for a count under the support (k < 0, -inf included), ``above`` for one at or over its top
    (k >= n, inf included), NaN for a NaN count or an invalid ``n`` or ``p``, and the ufunc at
    ``floor(k)`` inside, clipped to [0, 1]."""
    ufunc = _private(f"_binom_{tail}")
    if ufunc is None:  # pragma: no cover - an older SciPy
        from scipy import stats

        return getattr(stats.binom, tail)(k, n, p)
    k, n, p, valid = _binomial(k, n, p)
    out = np.zeros(k.shape)
    out[valid & (k < 0)] = below
    out[valid & (k >= n)] = above  # n >= 0 where valid: never both
    out[~valid | np.isnan(k)] = np.nan
    inside = valid & (k >= 0) & (k < n) & np.isfinite(k)
    if inside.any():
        out[inside] = np.clip(ufunc(np.floor(k[inside]), n[inside], p[inside]), 0, 1)
    return _out(out)


def binom_cdf(k, n, p):
    """``scipy.stats.binom.cdf(k, n, p)``: P(X <= k)."""
    return _binomial_tail("cdf", k, n, p, below=0.0, above=1.0)


def binom_sf(k, n, p):
    """``scipy.stats.binom.sf(k, n, p)``: P(X > k)."""
    return _binomial_tail("sf", k, n, p, below=1.0, above=0.0)


def expit(x):
    """``scipy.special.expit(x)``: the logistic function."""
    return special.expit(x)
