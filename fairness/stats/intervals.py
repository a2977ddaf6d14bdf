"""Confidence intervals and tests for counts, proportions, rates and their ratios.

Every function here is vectorised: data arguments are scalars, sequences, numpy
arrays or pandas Series (the index is ignored), broadcast against each other
with numpy's rules, and the results are numpy float arrays of the broadcast
shape (0-d arrays for scalar input; ``float(x)`` turns one into a number).

Options are keyword-only. ``method=`` is looked up in a table of small
functions (``_PROPORTION_METHODS`` and friends); an unknown name raises a
``ValueError`` whose message (:data:`UNKNOWN_METHOD_MESSAGE`) lists the valid
names. Names are matched in any case (as data values are), never by prefix.

When is a result NaN?
---------------------
Never silently: NaN is returned only in the cases listed in each function's
*Returns* section, all of which mean "not estimable from these counts", and
callers are expected to label them. In short:

* a denominator of zero (``n == 0``, ``exposure == 0``, ``A == 0``, ...);
* a zero count where the method works on the log of a ratio (Katz interval,
  Wald test);
* no events at all in a conditional (exact or mid-p) comparison
  (``a + b == 0``);
* a missing (NaN) input, which propagates to the outputs that depend on it.

Invalid input (a negative count, a count of people larger than its
denominator (``kind="people"``; events may exceed it), an infinite value, a non-integer count where an exact method needs an integer)
raises ``ValueError`` naming the argument and the first offending position;
it never becomes NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal

import numpy as np

from fairness.stats import _distributions as dist

__all__ = [
    "PARITY_ABOVE",
    "PARITY_BELOW",
    "PARITY_LABELS",
    "PARITY_NOT_ESTIMABLE",
    "PARITY_WITHIN_OR_UNCERTAIN",
    "adjust_pvalues",
    "confint_difference_proportions",
    "confint_poisson_rate",
    "confint_proportion",
    "confint_rate_ratio",
    "parity_flag",
    "test_rate_ratio",
]

# --------------------------------------------------------------------------
# Error messages (module constants, so tests can compare them)
# --------------------------------------------------------------------------

#: Raised for an unknown ``method=``; ``valid`` lists the accepted names.
UNKNOWN_METHOD_MESSAGE = "{function}: unknown method {method!r}; valid methods are: {valid}"
#: Raised when ``alpha`` is not strictly between 0 and 1.
ALPHA_MESSAGE = "alpha must be a number strictly between 0 and 1, got {alpha!r}"
#: Raised for a negative value in a count or a denominator.
NEGATIVE_MESSAGE = "{name} must be >= 0; got {value!r}{where}"
#: Raised for an infinite value in a count or a denominator.
INFINITE_MESSAGE = "{name} must be finite; got {value!r}{where}"
#: Raised when a count exceeds its denominator.
COUNT_EXCEEDS_MESSAGE = (
    "{count_name} must not exceed {n_name}; got {count_name}={count!r} > {n_name}={n!r}{where}"
)
#: Raised when an exact method is given a count that is not a whole number.
NOT_INTEGER_MESSAGE = "{name} must be whole numbers for method {method!r}; got {value!r}{where}"
#: Raised by :func:`adjust_pvalues` for a p-value outside [0, 1].
PVALUE_RANGE_MESSAGE = "p-values must lie in [0, 1] (or be NaN); got {value!r}{where}"
#: Raised by :func:`parity_flag` for a malformed band.
BAND_MESSAGE = "band must be (lower, upper) with 0 < lower < upper; got {band!r}"
#: Raised by :func:`confint_poisson_rate` for a non-positive multiplier.
MULTIPLIER_MESSAGE = "multiplier must be a finite number > 0; got {multiplier!r}"

# --------------------------------------------------------------------------
# Parity-band labels
# --------------------------------------------------------------------------

#: The whole confidence interval lies above the band's upper edge.
PARITY_ABOVE = "above_band"
#: The whole confidence interval lies below the band's lower edge.
PARITY_BELOW = "below_band"
#: The interval overlaps the band: the ratio may be within it.
PARITY_WITHIN_OR_UNCERTAIN = "within_or_uncertain"
#: A bound is NaN: the ratio could not be estimated.
PARITY_NOT_ESTIMABLE = "not_estimable"
PARITY_LABELS: tuple[str, ...] = (
    PARITY_ABOVE,
    PARITY_BELOW,
    PARITY_WITHIN_OR_UNCERTAIN,
    PARITY_NOT_ESTIMABLE,
)

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _lookup(table: Mapping[str, Callable], method: object, function: str) -> Callable:
    """Return ``table[method]`` or raise the house ``ValueError``.

    Names match as data values do: in any case, surrounding spaces ignored,
    never by prefix.
    """
    if isinstance(method, str):
        key = method.strip().casefold()
        for name, func in table.items():
            if name.casefold() == key:
                return func
    raise ValueError(
        UNKNOWN_METHOD_MESSAGE.format(
            function=function, method=method, valid=", ".join(repr(k) for k in table)
        )
    )


def _check_alpha(alpha: float) -> float:
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(ALPHA_MESSAGE.format(alpha=alpha)) from None
    if not 0.0 < value < 1.0:
        raise ValueError(ALPHA_MESSAGE.format(alpha=alpha))
    return value


def _z(alpha: float) -> float:
    """Two-sided standard normal quantile, e.g. 1.959964 for alpha = 0.05."""
    return float(dist.norm_isf(alpha / 2.0))


def _first_position(mask: np.ndarray) -> tuple[int, ...] | int:
    index = np.argwhere(mask)[0]
    return int(index[0]) if index.size == 1 else tuple(int(i) for i in index)


def _where(position) -> str:
    """' at position 3' for an element of an array; '' for a scalar input."""
    return "" if position == () else f" at position {position}"


def _as_arrays(**named: object) -> dict[str, np.ndarray]:
    """Broadcast the named inputs to float arrays and check they are >= 0 and finite.

    NaN passes (it means "missing" and propagates); -inf, +inf and negative
    values raise ``ValueError`` naming the argument and the position.
    """
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in named.values()))
    out = {}
    for name, array in zip(named, arrays, strict=True):
        bad = np.isinf(array)
        if bad.any():
            pos = _first_position(bad)
            raise ValueError(
                INFINITE_MESSAGE.format(name=name, value=float(array[pos]), where=_where(pos))
            )
        bad = array < 0
        if bad.any():
            pos = _first_position(bad)
            raise ValueError(
                NEGATIVE_MESSAGE.format(name=name, value=float(array[pos]), where=_where(pos))
            )
        out[name] = np.array(array)  # a writeable copy; never alias the input
    return out


def _missing(*arrays: np.ndarray) -> np.ndarray:
    """True where any input is NaN (a missing value), so every output there is NaN."""
    out = np.zeros(np.shape(arrays[0]), dtype=bool)
    for array in arrays:
        out |= np.isnan(array)
    return out


def _check_not_above(count: np.ndarray, n: np.ndarray, count_name: str, n_name: str) -> None:
    bad = count > n
    if bad.any():
        pos = _first_position(bad)
        raise ValueError(
            COUNT_EXCEEDS_MESSAGE.format(
                count_name=count_name,
                n_name=n_name,
                count=float(count[pos]),
                n=float(n[pos]),
                where=_where(pos),
            )
        )


def _check_integer(array: np.ndarray, name: str, method: str) -> None:
    bad = np.isfinite(array) & (array != np.round(array))
    if bad.any():
        pos = _first_position(bad)
        raise ValueError(
            NOT_INTEGER_MESSAGE.format(
                name=name, method=method, value=float(array[pos]), where=_where(pos)
            )
        )


# --------------------------------------------------------------------------
# One proportion
# --------------------------------------------------------------------------
# Each function takes count x and size n (n > 0, 0 <= x <= n, possibly NaN)
# and alpha, and returns (low, high) before clipping.


def _proportion_wilson(x, n, alpha):
    z = _z(alpha)
    z2 = z * z
    centre = (x + z2 / 2.0) / (n + z2)
    half = z * np.sqrt(x * (n - x) / n + z2 / 4.0) / (n + z2)
    low = np.where(x == 0, 0.0, centre - half)
    high = np.where(x == n, 1.0, centre + half)
    return low, high


def _proportion_exact(x, n, alpha):
    # Clopper & Pearson (1934), through the beta distribution.
    a_low = np.where(x > 0, x, 1.0)  # placeholders where the bound is fixed at 0 or 1
    b_high = np.where(x < n, n - x, 1.0)
    low = np.where(x > 0, dist.beta_ppf(alpha / 2.0, a_low, n - x + 1.0), 0.0)
    high = np.where(x < n, dist.beta_isf(alpha / 2.0, x + 1.0, b_high), 1.0)
    return low, high


def _proportion_jeffreys(x, n, alpha):
    low = dist.beta_ppf(alpha / 2.0, x + 0.5, n - x + 0.5)
    high = dist.beta_isf(alpha / 2.0, x + 0.5, n - x + 0.5)
    # Brown, Cai & DasGupta (2001), section 4.1.2: the bound is 0 at x = 0 and 1 at x = n.
    return np.where(x == 0, 0.0, low), np.where(x == n, 1.0, high)


def _proportion_agresti_coull(x, n, alpha):
    z = _z(alpha)
    n_tilde = n + z * z
    p_tilde = (x + z * z / 2.0) / n_tilde
    half = z * np.sqrt(p_tilde * (1.0 - p_tilde) / n_tilde)
    return p_tilde - half, p_tilde + half


def _proportion_normal(x, n, alpha):
    z = _z(alpha)
    p = x / n
    half = z * np.sqrt(p * (1.0 - p) / n)
    return p - half, p + half


_PROPORTION_METHODS: dict[str, Callable] = {
    "wilson": _proportion_wilson,
    "exact": _proportion_exact,
    "clopper-pearson": _proportion_exact,
    "jeffreys": _proportion_jeffreys,
    "agresti-coull": _proportion_agresti_coull,
    "normal": _proportion_normal,
}

ProportionMethod = Literal[
    "wilson", "exact", "clopper-pearson", "jeffreys", "agresti-coull", "normal"
]


def confint_proportion(
    count,
    n,
    *,
    alpha: float = 0.05,
    method: ProportionMethod = "wilson",
) -> tuple[np.ndarray, np.ndarray]:
    r"""Confidence interval for a binomial proportion :math:`p = x / n`.

    Parameters
    ----------
    count : array_like
        Number of successes :math:`x`, with :math:`0 \le x \le n`.
    n : array_like
        Number of trials :math:`n \ge 0`.
    alpha : float, default 0.05
        One minus the confidence level.
    method : {"wilson", "exact", "clopper-pearson", "jeffreys", "agresti-coull", "normal"}
        With :math:`z = \Phi^{-1}(1 - \alpha/2)` and :math:`\hat p = x/n`:

        ``"wilson"`` (default)
            Wilson (1927) score interval,
            :math:`\frac{x + z^2/2}{n + z^2} \pm
            \frac{z}{n + z^2}\sqrt{\frac{x(n-x)}{n} + \frac{z^2}{4}}`;
            exactly 0 at :math:`x = 0` and 1 at :math:`x = n`.
        ``"exact"``, ``"clopper-pearson"``
            Clopper & Pearson (1934):
            :math:`[B(\alpha/2; x, n-x+1),\ B(1-\alpha/2; x+1, n-x)]` with
            :math:`B(q; a, b)` the beta quantile; 0 at :math:`x = 0`, 1 at
            :math:`x = n`.
        ``"jeffreys"``
            Equal-tailed :math:`\mathrm{Beta}(x + 1/2, n - x + 1/2)` quantiles,
            with the lower bound set to 0 at :math:`x = 0` and the upper to 1 at
            :math:`x = n` (Brown, Cai & DasGupta, 2001).
        ``"agresti-coull"``
            :math:`\tilde p \pm z\sqrt{\tilde p(1-\tilde p)/\tilde n}` with
            :math:`\tilde n = n + z^2`, :math:`\tilde p = (x + z^2/2)/\tilde n`,
            clipped to [0, 1].
        ``"normal"``
            Wald interval :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}`, clipped
            to [0, 1]. It has zero width at :math:`x = 0` and :math:`x = n`:
            do not use it for small counts.

    Returns
    -------
    low, high : numpy.ndarray
        Bounds in [0, 1], of the broadcast shape of ``count`` and ``n``. NaN
        where ``n == 0`` (nothing observed) and where an input is NaN.

    Raises
    ------
    ValueError
        For an unknown ``method``, ``alpha`` outside (0, 1), a negative or
        infinite input, or ``count > n``.

    Examples
    --------
    Newcombe (1998), Statistics in Medicine 17:857, Table I:

    >>> low, high = confint_proportion(81, 263)
    >>> print(np.round(low, 4), np.round(high, 4))
    0.2553 0.3662
    >>> low, high = confint_proportion([0, 1], [20, 29], method="wilson")
    >>> print(np.round(high, 4))
    [0.1611 0.1718]
    """
    func = _lookup(_PROPORTION_METHODS, method, "confint_proportion")
    alpha = _check_alpha(alpha)
    arr = _as_arrays(count=count, n=n)
    x, size = arr["count"], arr["n"]
    _check_not_above(x, size, "count", "n")
    estimable = (size > 0) & ~_missing(x, size)
    safe_n = np.where(estimable, size, 1.0)
    safe_x = np.where(estimable, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = func(safe_x, safe_n, alpha)
    low = np.where(estimable, np.clip(low, 0.0, 1.0), np.nan)
    high = np.where(estimable, np.clip(high, 0.0, 1.0), np.nan)
    return low, high


# --------------------------------------------------------------------------
# One Poisson rate
# --------------------------------------------------------------------------
# Each function takes the count O >= 0 (possibly NaN) and alpha, and returns
# bounds for the expected count.


def _poisson_exact(o, alpha):
    # Garwood (1936): chi2(alpha/2; 2O)/2 and chi2(1 - alpha/2; 2O + 2)/2,
    # written as gamma quantiles (chi2 with 2k df / 2 is gamma with shape k).
    low = np.where(o > 0, dist.gamma_ppf(alpha / 2.0, np.where(o > 0, o, 1.0)), 0.0)
    high = dist.gamma_isf(alpha / 2.0, o + 1.0)
    return low, high


def _poisson_byar(o, alpha):
    # Byar's approximation (Breslow & Day 1987, p. 69; PHE technical guide).
    z = _z(alpha)
    safe_o = np.where(o > 0, o, 1.0)
    low = safe_o * (1.0 - 1.0 / (9.0 * safe_o) - z / (3.0 * np.sqrt(safe_o))) ** 3
    low = np.where(o > 0, np.maximum(low, 0.0), 0.0)
    o1 = o + 1.0
    high = o1 * (1.0 - 1.0 / (9.0 * o1) + z / (3.0 * np.sqrt(o1))) ** 3
    return low, high


#: Below this many events the "phe" method uses the exact interval.
PHE_EXACT_BELOW = 10


def _poisson_phe(o, alpha):
    exact_low, exact_high = _poisson_exact(o, alpha)
    byar_low, byar_high = _poisson_byar(o, alpha)
    small = o < PHE_EXACT_BELOW
    return np.where(small, exact_low, byar_low), np.where(small, exact_high, byar_high)


_POISSON_METHODS: dict[str, Callable] = {
    "byar": _poisson_byar,
    "exact": _poisson_exact,
    "phe": _poisson_phe,
}

PoissonMethod = Literal["byar", "exact", "phe"]


def confint_poisson_rate(
    count,
    exposure,
    *,
    alpha: float = 0.05,
    method: PoissonMethod = "byar",
    multiplier: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Confidence interval for a Poisson rate :math:`O / E`, times a multiplier.

    Parameters
    ----------
    count : array_like
        Observed count :math:`O \ge 0` (need not be below ``exposure``).
    exposure : array_like
        Population or person-time :math:`E \ge 0`.
    alpha : float, default 0.05
        One minus the confidence level.
    method : {"byar", "exact", "phe"}
        Limits for the expected count, then divided by :math:`E`. With
        :math:`z = \Phi^{-1}(1 - \alpha/2)`:

        ``"byar"`` (default)
            Byar's approximation (Breslow & Day, 1987; Public Health England,
            *Technical guide: confidence intervals*):
            :math:`O_L = O\,(1 - \tfrac{1}{9O} - \tfrac{z}{3\sqrt O})^3`,
            :math:`O_U = (O+1)\,(1 - \tfrac{1}{9(O+1)} + \tfrac{z}{3\sqrt{O+1}})^3`.
            :math:`O_L` is set to 0 at :math:`O = 0` and floored at 0 (the cube
            turns negative for :math:`O` near 1 when ``alpha`` is very small).
        ``"exact"``
            Garwood (1936):
            :math:`O_L = \tfrac12\chi^2_{2O}(\alpha/2)`,
            :math:`O_U = \tfrac12\chi^2_{2O+2}(1-\alpha/2)`; :math:`O_L = 0` at
            :math:`O = 0`.
        ``"phe"``
            The PHE indicator-methods convention: exact when
            :math:`O < 10` (:data:`PHE_EXACT_BELOW`), Byar at 10 and over.
    multiplier : float, default 1.0
        Scale of the reported rate, e.g. 1000 for "per 1,000 residents".

    Returns
    -------
    low, high : numpy.ndarray
        Bounds for :math:`\text{multiplier} \times O / E`. NaN where
        ``exposure == 0`` and where an input is NaN.

    Examples
    --------
    PHE worked example, 10 events: exact limits 4.795 to 18.390.

    >>> low, high = confint_poisson_rate(10, 1, method="exact")
    >>> print(np.round(low, 3), np.round(high, 3))
    4.795 18.39
    """
    func = _lookup(_POISSON_METHODS, method, "confint_poisson_rate")
    alpha = _check_alpha(alpha)
    try:
        scale = float(multiplier)
    except (TypeError, ValueError):
        raise ValueError(MULTIPLIER_MESSAGE.format(multiplier=multiplier)) from None
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(MULTIPLIER_MESSAGE.format(multiplier=multiplier))
    arr = _as_arrays(count=count, exposure=exposure)
    o, e = arr["count"], arr["exposure"]
    estimable = (e > 0) & ~_missing(o, e)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = func(o, alpha)
        safe_e = np.where(estimable, e, 1.0)
        low = np.where(estimable, scale * low / safe_e, np.nan)
        high = np.where(estimable, scale * high / safe_e, np.nan)
    return low, high


# --------------------------------------------------------------------------
# Ratio of two rates (or two proportions)
# --------------------------------------------------------------------------
# Each CI function takes a, A, b, B (validated: 0 <= a <= A, 0 <= b <= B) and
# alpha and returns (low, high) on the ratio scale.


def _katz_se(a, A, b, B, kind="people"):
    # people: binomial counts, with the finite-size terms -1/A, -1/B; events: Poisson counts
    # (a count of events in a population may exceed it), so the variance of a log rate is 1/a.
    if kind == "events":
        return np.sqrt(1.0 / a + 1.0 / b)
    return np.sqrt(1.0 / a - 1.0 / A + 1.0 / b - 1.0 / B)


def _ratio_katz(a, A, b, B, alpha, kind="people"):
    z = _z(alpha)
    estimable = (a > 0) & (b > 0)
    sa, sb = np.where(estimable, a, 1.0), np.where(estimable, b, 1.0)
    sA, sB = np.where(estimable, A, 1.0), np.where(estimable, B, 1.0)
    log_ratio = np.log(sa / sA) - np.log(sb / sB)
    se = _katz_se(sa, sA, sb, sB, kind)
    low = np.where(estimable, np.exp(log_ratio - z * se), np.nan)
    high = np.where(estimable, np.exp(log_ratio + z * se), np.nan)
    return low, high


def _odds_to_ratio(log_odds, A, B):
    """pi = R A / (R A + B), so log R = logit(pi) - log A + log B."""
    return np.exp(log_odds - np.log(A) + np.log(B))


def _ratio_poisson_exact(a, A, b, B, alpha, kind="people"):
    # Conditional on m = a + b, a ~ Bin(m, pi) with pi = R A / (R A + B).
    # Clopper-Pearson for pi, with 1 - pi taken from the mirrored beta so the
    # odds pi / (1 - pi) keep full precision when pi is near 1.
    m = a + b
    pos_a, pos_b = a > 0, b > 0
    sa, sb = np.where(pos_a, a, 1.0), np.where(pos_b, b, 1.0)
    lo_pi = dist.beta_ppf(alpha / 2.0, sa, b + 1.0)
    lo_q = dist.beta_isf(alpha / 2.0, b + 1.0, sa)  # 1 - lo_pi
    hi_pi = dist.beta_isf(alpha / 2.0, a + 1.0, sb)
    hi_q = dist.beta_ppf(alpha / 2.0, sb, a + 1.0)  # 1 - hi_pi
    with np.errstate(divide="ignore"):
        low = np.where(pos_a, _odds_to_ratio(np.log(lo_pi) - np.log(lo_q), A, B), 0.0)
        high = np.where(pos_b, _odds_to_ratio(np.log(hi_pi) - np.log(hi_q), A, B), np.inf)
    nothing = m == 0
    return np.where(nothing, np.nan, low), np.where(nothing, np.nan, high)


def _midp_upper_tail(k, m, pi):
    """P(X > k) + P(X = k) / 2 for X ~ Bin(m, pi); increasing in pi."""
    return dist.binom_sf(k, m, pi) + 0.5 * dist.binom_pmf(k, m, pi)


def _midp_lower_tail(k, m, pi):
    """P(X < k) + P(X = k) / 2 for X ~ Bin(m, pi); decreasing in pi."""
    return dist.binom_cdf(k - 1, m, pi) + 0.5 * dist.binom_pmf(k, m, pi)


#: Bisection for the mid-p bounds runs on the log-odds of pi over this range,
#: for this many halvings (the bracket shrinks to ~1e-28, below double precision).
_MIDP_LOGODDS_RANGE = (-60.0, 60.0)
_MIDP_ITERATIONS = 110


def _bisect_logodds(func, target, increasing):
    """Vectorised bisection for ``func(expit(t)) == target`` on the log-odds scale."""
    lo = np.full(np.shape(target), _MIDP_LOGODDS_RANGE[0])
    hi = np.full(np.shape(target), _MIDP_LOGODDS_RANGE[1])
    for _ in range(_MIDP_ITERATIONS):
        mid = 0.5 * (lo + hi)
        value = func(dist.expit(mid))
        go_up = value < target if increasing else value > target
        lo = np.where(go_up, mid, lo)
        hi = np.where(go_up, hi, mid)
    return 0.5 * (lo + hi)


def _ratio_midp(a, A, b, B, alpha, kind="people"):
    # The mid-p conditional test inverted (Miettinen 1974; Rothman, Greenland &
    # Lash, Modern Epidemiology, 3rd ed., ch. 14): the bounds solve
    # P(X > a) + P(X = a)/2 = alpha/2 (lower) and P(X < a) + P(X = a)/2 = alpha/2
    # (upper), X ~ Bin(a + b, pi), pi = R A / (R A + B).
    m = a + b
    half = np.full(np.shape(a), alpha / 2.0)
    t_low = _bisect_logodds(lambda pi: _midp_upper_tail(a, m, pi), half, increasing=True)
    t_high = _bisect_logodds(lambda pi: _midp_lower_tail(a, m, pi), half, increasing=False)
    low = np.where(a > 0, _odds_to_ratio(t_low, A, B), 0.0)
    high = np.where(b > 0, _odds_to_ratio(t_high, A, B), np.inf)
    nothing = m == 0
    return np.where(nothing, np.nan, low), np.where(nothing, np.nan, high)


_RATIO_METHODS: dict[str, Callable] = {
    "katz": _ratio_katz,
    "poisson-exact": _ratio_poisson_exact,
    "mid-p": _ratio_midp,
}
_EXACT_RATIO_METHODS = frozenset({"poisson-exact", "mid-p"})

RatioMethod = Literal["katz", "poisson-exact", "mid-p"]
#: What a count in a ratio counts (``kind=``): distinct people out of a population
#: (binomial: a count above its population is impossible) or events in a
#: population (Poisson: searches, arrests; a rate above 1 per person is legitimate).
COUNT_KINDS: tuple[str, ...] = ("people", "events")
CountKind = Literal["people", "events"]
#: Raised for an unknown ``kind=``.
KIND_MESSAGE = "{function}: kind must be one of {valid}; got {kind!r}"


def _kind(kind: object, function: str) -> str:
    if isinstance(kind, str) and kind.lower() in COUNT_KINDS:
        return kind.lower()
    raise ValueError(KIND_MESSAGE.format(function=function, valid=", ".join(COUNT_KINDS), kind=kind))


def _ratio_inputs(a, A, b, B, method: str, *, whole: bool, kind: str = "people") -> tuple[np.ndarray, ...]:
    arr = _as_arrays(a=a, A=A, b=b, B=B)
    if kind == "people":
        _check_not_above(arr["a"], arr["A"], "a", "A")
        _check_not_above(arr["b"], arr["B"], "b", "B")
    if whole:
        _check_integer(arr["a"], "a", method)
        _check_integer(arr["b"], "b", method)
    return arr["a"], arr["A"], arr["b"], arr["B"]


def _point_ratio(a, A, b, B):
    """(a/A)/(b/B): 0 if a = 0 < b, inf if b = 0 < a, NaN if a = b = 0 or A or B is 0."""
    ok = (A > 0) & (B > 0)
    sA, sB = np.where(ok, A, 1.0), np.where(ok, B, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (a / sA) / (b / sB)
    return np.where(ok, ratio, np.nan)


def confint_rate_ratio(
    a,
    A,
    b,
    B,
    *,
    alpha: float = 0.05,
    method: RatioMethod = "katz",
    kind: CountKind = "people",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Ratio of two rates (or proportions) :math:`R = (a/A)/(b/B)` with a confidence interval.

    Used for the relative rate index (RRI: a group's rate per population over
    the reference group's) and for the **representation ratio**: a group's
    share of the list :math:`a/n` over its share of the benchmark population
    :math:`A/N` is ``confint_rate_ratio(a, n, A, N)`` -- the same formula with
    the list in the numerator and the benchmark in the denominator.

    Parameters
    ----------
    a, A : array_like
        Count and denominator of the group of interest, :math:`0 \le a \le A`.
    b, B : array_like
        Count and denominator of the comparison (reference group or
        benchmark), :math:`0 \le b \le B`.
    alpha : float, default 0.05
        One minus the confidence level.
    method : {"katz", "poisson-exact", "mid-p"}
        ``"katz"`` (default)
            Log scale (Katz et al., 1978; Altman et al., *Statistics with
            Confidence*, 2000):
            :math:`\exp\bigl(\ln R \pm z\sqrt{1/a - 1/A + 1/b - 1/B}\bigr)`.
            The :math:`-1/A`, :math:`-1/B` terms are the binomial finite-size
            correction, so this is right for a large share such as 78% of a
            list.
        ``"poisson-exact"``
            Conditional on :math:`m = a + b`, :math:`a \sim \mathrm{Bin}(m, \pi)`
            with :math:`\pi = RA/(RA + B)`; the Clopper-Pearson interval
            :math:`[\pi_L, \pi_U]` for :math:`\pi` maps to
            :math:`R = \frac{\pi}{1-\pi}\cdot\frac{B}{A}`. Exact for Poisson
            counts; for binomial counts it is a good approximation only when
            :math:`a/A` and :math:`b/B` are small, and is conservative (too
            wide) otherwise. Counts must be whole numbers.
        ``"mid-p"``
            The same conditional model with the mid-p test inverted:
            :math:`\pi_L` solves :math:`P(X > a) + \tfrac12 P(X = a) = \alpha/2`
            and :math:`\pi_U` solves :math:`P(X < a) + \tfrac12 P(X = a) = \alpha/2`
            (found by bisection on the log-odds scale).
    kind : {"people", "events"}, default "people"
        What ``a`` and ``b`` count. ``"people"``: distinct people out of
        ``A`` and ``B`` (binomial), so a count above its denominator is an
        error. ``"events"``: events (searches, arrests) in populations ``A``
        and ``B``, Poisson counts that may exceed them (the City of London:
        232 searches of Black people in 2022/23 against 193 Black residents in
        Census 2011); Katz then drops the finite-size terms,
        :math:`\exp\bigl(\ln R \pm z\sqrt{1/a + 1/b}\bigr)`. The exact
        methods condition on :math:`a + b` and are the same for both.

    Returns
    -------
    ratio, low, high : numpy.ndarray
        ``ratio`` is :math:`(a/A)/(b/B)` whatever the method: 0 when
        :math:`a = 0 < b`, ``inf`` when :math:`b = 0 < a`, NaN when
        :math:`a = b = 0` or :math:`A = 0` or :math:`B = 0`.

        ``katz``: ``low`` and ``high`` are NaN when :math:`a = 0` or
        :math:`b = 0` (the log of a zero count).

        ``poisson-exact`` and ``mid-p``: ``low`` is 0 when :math:`a = 0`,
        ``high`` is ``inf`` when :math:`b = 0`, and both are NaN when
        :math:`a + b = 0` (no events) or a denominator is 0.

        Any NaN input gives NaN.

    Examples
    --------
    Amnesty International (2018): 78% of the 3,806 people on the matrix were
    Black, against 13.3% of London's 8,173,941 residents (2011 Census):

    >>> ratio, low, high = confint_rate_ratio(2969, 3806, 1087134, 8173941)
    >>> print(np.round(ratio, 2))
    5.87
    """
    func = _lookup(_RATIO_METHODS, method, "confint_rate_ratio")
    alpha = _check_alpha(alpha)
    kind = _kind(kind, "confint_rate_ratio")
    a, A, b, B = _ratio_inputs(a, A, b, B, method, whole=method in _EXACT_RATIO_METHODS, kind=kind)
    ratio = _point_ratio(a, A, b, B)
    ok = (A > 0) & (B > 0)
    sA, sB = np.where(ok, A, 1.0), np.where(ok, B, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = func(a, sA, b, sB, alpha, kind)
    low = np.where(ok, low, np.nan)
    high = np.where(ok, high, np.nan)
    missing = _missing(a, A, b, B)
    return ratio, np.where(missing, np.nan, low), np.where(missing, np.nan, high)


# --------------------------------------------------------------------------
# Test of a rate ratio against 1
# --------------------------------------------------------------------------
# Each function takes validated a, A, b, B with A, B > 0 and returns a p-value.


def _test_wald(a, A, b, B, kind="people"):
    estimable = (a > 0) & (b > 0)
    sa, sb = np.where(estimable, a, 1.0), np.where(estimable, b, 1.0)
    log_ratio = np.log(sa / A) - np.log(sb / B)
    se = _katz_se(sa, A, sb, B, kind)
    degenerate = se == 0  # a = A and b = B: both shares are 1, so the ratio is 1
    z = np.abs(log_ratio) / np.where(degenerate, 1.0, se)
    p = np.where(degenerate, np.where(log_ratio == 0, 1.0, 0.0), 2.0 * dist.norm_sf(z))
    return np.where(estimable, p, np.nan)


def _null_pi(A, B):
    return A / (A + B)


def _test_exact(a, A, b, B, kind="people"):
    m = a + b
    pi0 = _null_pi(A, B)
    upper = dist.binom_sf(a - 1.0, m, pi0)  # P(X >= a)
    lower = dist.binom_cdf(a, m, pi0)  # P(X <= a)
    p = np.minimum(1.0, 2.0 * np.minimum(upper, lower))
    return np.where(m > 0, p, np.nan)


def _test_midp(a, A, b, B, kind="people"):
    m = a + b
    pi0 = _null_pi(A, B)
    upper = _midp_upper_tail(a, m, pi0)
    lower = _midp_lower_tail(a, m, pi0)
    p = np.minimum(1.0, 2.0 * np.minimum(upper, lower))
    return np.where(m > 0, p, np.nan)


_TEST_RATIO_METHODS: dict[str, Callable] = {
    "wald": _test_wald,
    "exact": _test_exact,
    "mid-p": _test_midp,
}
_EXACT_TEST_METHODS = frozenset({"exact", "mid-p"})

RatioTestMethod = Literal["wald", "exact", "mid-p"]


def test_rate_ratio(
    a,
    A,
    b,
    B,
    *,
    method: RatioTestMethod = "wald",
    kind: CountKind = "people",
) -> np.ndarray:
    r"""Two-sided p-value for :math:`H_0: (a/A)/(b/B) = 1`.

    Parameters
    ----------
    a, A, b, B : array_like
        As in :func:`confint_rate_ratio`.
    method : {"wald", "exact", "mid-p"}
        ``"wald"`` (default)
            :math:`z = \ln R / \sqrt{1/a - 1/A + 1/b - 1/B}`,
            :math:`p = 2\,(1 - \Phi(|z|))`; pairs with the ``"katz"`` interval.
        ``"exact"``
            Conditional binomial test: under :math:`H_0`,
            :math:`a \mid a+b \sim \mathrm{Bin}(a+b, \pi_0)` with
            :math:`\pi_0 = A/(A+B)`;
            :math:`p = \min\{1,\ 2\min(P(X \ge a), P(X \le a))\}` (doubled
            smaller tail, the test the ``"poisson-exact"`` interval inverts).
            This is not scipy's or statsmodels' default two-sided rule
            ("minlike"); the two agree when :math:`A = B`.
        ``"mid-p"``
            As ``"exact"`` with each tail's :math:`P(X = a)` halved:
            :math:`p = 2\min(P(X > a) + \tfrac12P(X=a),\ P(X < a) + \tfrac12P(X=a))`;
            pairs with the ``"mid-p"`` interval.

        ``"exact"`` and ``"mid-p"`` need whole-number counts.
    kind : {"people", "events"}, default "people"
        As in :func:`confint_rate_ratio` (``"wald"`` uses the same variance).

    Returns
    -------
    p_value : numpy.ndarray
        NaN where ``A == 0`` or ``B == 0``; for ``"wald"`` also where
        :math:`a = 0` or :math:`b = 0`; for ``"exact"`` and ``"mid-p"`` where
        :math:`a + b = 0`; and where an input is NaN.

    Examples
    --------
    >>> print(np.round(test_rate_ratio(10, 1000, 10, 1000, method="exact"), 3))
    1.0
    """
    func = _lookup(_TEST_RATIO_METHODS, method, "test_rate_ratio")
    kind = _kind(kind, "test_rate_ratio")
    a, A, b, B = _ratio_inputs(a, A, b, B, method, whole=method in _EXACT_TEST_METHODS, kind=kind)
    ok = (A > 0) & (B > 0) & ~_missing(a, A, b, B)
    sA, sB = np.where(ok, A, 1.0), np.where(ok, B, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = func(a, sA, b, sB, kind)
    return np.where(ok, p, np.nan)


# A library function, not a test: stop pytest collecting it where it is imported.
test_rate_ratio.__test__ = False  # type: ignore[attr-defined]


# --------------------------------------------------------------------------
# Multiple comparisons
# --------------------------------------------------------------------------


# The three procedures follow statsmodels.stats.multitest.multipletests
# operation for operation (so the results are the same to the last bit, which
# tests/test_intervals.py checks), without its gc.collect() on every call.


def _sorted(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(p, kind="stable")  # ties get equal adjusted values in any order
    return order, p[order]


def _unsort(order: np.ndarray, adjusted_sorted: np.ndarray) -> np.ndarray:
    out = np.empty_like(adjusted_sorted)
    out[order] = adjusted_sorted
    return out


def _adjust_holm(p):
    order, ps = _sorted(np.asarray(p, dtype=float))
    adjusted = np.maximum.accumulate(ps * np.arange(len(ps), 0, -1))
    adjusted[adjusted > 1] = 1
    return _unsort(order, adjusted)


def _adjust_bh(p):
    order, ps = _sorted(np.asarray(p, dtype=float))
    ecdf = np.arange(1, len(ps) + 1) / float(len(ps))
    adjusted = np.minimum.accumulate((ps / ecdf)[::-1])[::-1]
    adjusted[adjusted > 1] = 1
    return _unsort(order, adjusted)


def _adjust_bonferroni(p):
    values = np.asarray(p, dtype=float)
    adjusted = values * float(len(values))
    adjusted[adjusted > 1] = 1
    return adjusted


def _adjust_none(p):
    return np.array(p, dtype=float)


_ADJUST_METHODS: dict[str, Callable] = {
    "holm": _adjust_holm,
    "bh": _adjust_bh,
    "fdr_bh": _adjust_bh,
    "bonferroni": _adjust_bonferroni,
    "none": _adjust_none,
}

AdjustMethod = Literal["holm", "bh", "fdr_bh", "bonferroni", "none"]


def adjust_pvalues(p, *, method: AdjustMethod = "holm") -> np.ndarray:
    r"""Adjust a family of p-values for multiple comparisons.

    Parameters
    ----------
    p : array_like
        p-values in [0, 1]; NaN marks a comparison that could not be made.
    method : {"holm", "bh", "fdr_bh", "bonferroni", "none"}
        ``"holm"`` (default): Holm (1979) step-down, controls the family-wise
        error rate. ``"bh"`` or ``"fdr_bh"``: Benjamini & Hochberg (1995),
        controls the false discovery rate. ``"bonferroni"``:
        :math:`\min(1, m\,p)`. ``"none"``: unchanged. The same arithmetic
        as :func:`statsmodels.stats.multitest.multipletests`, in numpy.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape as ``p``. NaN entries stay NaN and are
        left out of the family: :math:`m` is the number of non-NaN p-values.

    Examples
    --------
    >>> print(adjust_pvalues([0.01, np.nan, 0.04], method="bonferroni"))
    [0.02  nan 0.08]
    """
    func = _lookup(_ADJUST_METHODS, method, "adjust_pvalues")
    values = np.array(p, dtype=float)
    bad = np.isinf(values) | (values < 0) | (values > 1)
    if bad.any():
        pos = _first_position(bad)
        raise ValueError(PVALUE_RANGE_MESSAGE.format(value=float(values[pos]), where=_where(pos)))
    flat = values.ravel()
    out = np.full(flat.shape, np.nan)
    present = ~np.isnan(flat)
    if present.any():
        out[present] = func(flat[present])
    return out.reshape(values.shape)


# --------------------------------------------------------------------------
# Difference of two proportions
# --------------------------------------------------------------------------


def _difference_newcombe(x1, n1, x2, n2, alpha):
    # Newcombe (1998) method 10: hybrid score interval from the Wilson limits.
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = _proportion_wilson(x1, n1, alpha)
    l2, u2 = _proportion_wilson(x2, n2, alpha)
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return low, high


def _difference_wald(x1, n1, x2, n2, alpha):
    z = _z(alpha)
    p1, p2 = x1 / n1, x2 / n2
    half = z * np.sqrt(p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2)
    return p1 - p2 - half, p1 - p2 + half


_DIFFERENCE_METHODS: dict[str, Callable] = {
    "newcombe": _difference_newcombe,
    "wald": _difference_wald,
}

DifferenceMethod = Literal["newcombe", "wald"]


def confint_difference_proportions(
    c1,
    n1,
    c2,
    n2,
    *,
    alpha: float = 0.05,
    method: DifferenceMethod = "newcombe",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Difference of two independent proportions :math:`d = c_1/n_1 - c_2/n_2` with a CI.

    Used for trends, e.g. a share this quarter minus the share last quarter.

    Parameters
    ----------
    c1, n1 : array_like
        Count and size of the first group (e.g. this quarter), :math:`0 \le c_1 \le n_1`.
    c2, n2 : array_like
        Count and size of the second group (e.g. the previous quarter).
    alpha : float, default 0.05
        One minus the confidence level.
    method : {"newcombe", "wald"}
        ``"newcombe"`` (default)
            Newcombe (1998) method 10, the hybrid score interval. With
            :math:`(l_i, u_i)` the Wilson interval for :math:`p_i`:
            :math:`d - \sqrt{(p_1 - l_1)^2 + (u_2 - p_2)^2}` to
            :math:`d + \sqrt{(u_1 - p_1)^2 + (p_2 - l_2)^2}`.
        ``"wald"``
            :math:`d \pm z\sqrt{p_1(1-p_1)/n_1 + p_2(1-p_2)/n_2}`, clipped to
            [-1, 1]; zero width when both proportions are 0 or 1.

    Returns
    -------
    difference, low, high : numpy.ndarray
        NaN where ``n1 == 0`` or ``n2 == 0``, and where an input is NaN.

    Examples
    --------
    Newcombe (1998), Table II, example (a): 56/70 - 48/80.

    >>> d, low, high = confint_difference_proportions(56, 70, 48, 80)
    >>> print(np.round(d, 4), np.round(low, 4), np.round(high, 4))
    0.2 0.0524 0.3339
    """
    func = _lookup(_DIFFERENCE_METHODS, method, "confint_difference_proportions")
    alpha = _check_alpha(alpha)
    arr = _as_arrays(c1=c1, n1=n1, c2=c2, n2=n2)
    x1, m1, x2, m2 = arr["c1"], arr["n1"], arr["c2"], arr["n2"]
    _check_not_above(x1, m1, "c1", "n1")
    _check_not_above(x2, m2, "c2", "n2")
    estimable = (m1 > 0) & (m2 > 0) & ~_missing(x1, m1, x2, m2)
    s1, s2 = np.where(estimable, m1, 1.0), np.where(estimable, m2, 1.0)
    y1, y2 = np.where(estimable, x1, 0.0), np.where(estimable, x2, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = func(y1, s1, y2, s2, alpha)
        d = y1 / s1 - y2 / s2
    return (
        np.where(estimable, d, np.nan),
        np.where(estimable, np.clip(low, -1.0, 1.0), np.nan),
        np.where(estimable, np.clip(high, -1.0, 1.0), np.nan),
    )


# --------------------------------------------------------------------------
# Parity band
# --------------------------------------------------------------------------


def parity_flag(low, high, *, band: tuple[float, float] = (0.8, 1.25)) -> np.ndarray:
    r"""Say where a ratio's confidence interval lies relative to a parity band.

    The band (default 0.8 to 1.25, the "four-fifths" band used by bias-audit
    toolkits) is a range of ratios treated as parity. A flag is raised only
    when the whole interval is outside it.

    Parameters
    ----------
    low, high : array_like
        Bounds of the ratio's confidence interval (``inf`` is allowed).
    band : (float, float), default (0.8, 1.25)
        Lower and upper edges, :math:`0 < \text{lower} < \text{upper}`.

    Returns
    -------
    numpy.ndarray of str (object dtype)
        :data:`PARITY_ABOVE` (``"above_band"``) where ``low > upper edge``;
        :data:`PARITY_BELOW` (``"below_band"``) where ``high < lower edge``;
        :data:`PARITY_NOT_ESTIMABLE` (``"not_estimable"``) where either bound
        is NaN; :data:`PARITY_WITHIN_OR_UNCERTAIN` (``"within_or_uncertain"``)
        otherwise. Never NaN.

    Examples
    --------
    >>> print(parity_flag([4.9, 0.5, 0.9, np.nan], [6.9, 0.7, 1.6, np.nan]).tolist())
    ['above_band', 'below_band', 'within_or_uncertain', 'not_estimable']
    """
    try:
        lower_edge, upper_edge = (float(v) for v in band)
    except (TypeError, ValueError):
        raise ValueError(BAND_MESSAGE.format(band=band)) from None
    if not (0 < lower_edge < upper_edge and np.isfinite(upper_edge)):
        raise ValueError(BAND_MESSAGE.format(band=band))
    lo, hi = np.broadcast_arrays(np.asarray(low, dtype=float), np.asarray(high, dtype=float))
    out = np.full(lo.shape, PARITY_WITHIN_OR_UNCERTAIN, dtype=object)
    out[lo > upper_edge] = PARITY_ABOVE
    out[hi < lower_edge] = PARITY_BELOW
    out[np.isnan(lo) | np.isnan(hi)] = PARITY_NOT_ESTIMABLE
    return out
