"""Funnel plots for comparing units (London boroughs), with overdispersion.

Spiegelhalter (2005), "Funnel plots for comparing institutional performance",
Statistics in Medicine 24:1185-1202, and "Handling over-dispersion of
performance indicators", Quality and Safety in Health Care 14:347-351; the
choices follow the R package FunnelPlotR (data_type "PR"), so results can be
checked against it.

A proportion :math:`p_i = x_i / n_i` per unit is put on the arcsine-square-root
scale, compared with the pooled value :math:`\\bar p = \\sum x / \\sum n`, and
flagged when it lies outside the 95% or 99.8% limits. When the units differ
more than binomial chance allows, a between-unit variance :math:`\\tau^2` is
estimated from Winsorised z-scores and added to every unit's variance, which
widens the funnel (an additive random-effects model, DerSimonian & Laird
1986).

This module only computes; drawing belongs to the plot functions, which take
``FunnelResult.table`` and :func:`funnel_limits`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from fairness.stats import _distributions as dist

__all__ = [
    "FLAG_NOT_ESTIMABLE",
    "FLAG_WITHIN",
    "FunnelResult",
    "HeterogeneityResult",
    "flag_labels",
    "funnel_limits",
    "funnel_proportion",
    "funnel_rate",
    "heterogeneity_test",
]

# --------------------------------------------------------------------------
# Messages and labels
# --------------------------------------------------------------------------

#: Raised for a bad ``overdispersion`` option.
OVERDISPERSION_MESSAGE = "overdispersion must be one of 'auto', True, False; got {value!r}"
#: Raised for a bad ``winsor`` fraction.
WINSOR_MESSAGE = "winsor must be a fraction in [0, 0.5); got {value!r}"
#: Raised for bad ``alpha_levels`` / ``levels``.
LEVELS_MESSAGE = (
    "levels must be a non-empty sequence of distinct coverage levels strictly between "
    "0 and 1, e.g. (0.95, 0.998); got {value!r}"
)
#: Raised when the inputs are not 1-D or their lengths differ.
LENGTH_MESSAGE = "count, n and labels must be 1-D and the same length; got {lengths}"
#: Raised for duplicated unit labels.
DUPLICATE_LABEL_MESSAGE = "labels must be unique; duplicated: {labels}"
#: Raised for a negative, infinite or missing input.
VALUE_MESSAGE = "{name} must be finite and >= 0; got {value!r} for unit {unit!r}"
#: Raised when a count exceeds its denominator.
COUNT_EXCEEDS_MESSAGE = "count must not exceed {n_name}; got {count!r} > {n!r} for unit {unit!r}"
#: Raised when fewer than two units have a denominator above zero.
TOO_FEW_UNITS_MESSAGE = "a funnel needs at least 2 units with {n_name} > 0; got {k}"
#: Raised for a non-positive multiplier.
MULTIPLIER_MESSAGE = "multiplier must be a finite number > 0; got {value!r}"
#: Raised for a non-positive value in a grid of denominators.
GRID_MESSAGE = "n_grid must contain finite values > 0; got {value!r}"
#: Raised for a target outside the proportion scale.
TARGET_MESSAGE = "target / multiplier must be a proportion in [0, 1]; got {value!r}"
#: Raised for a negative or infinite tau2.
TAU2_MESSAGE = "tau2 must be a finite number >= 0; got {value!r}"

#: Flag of a unit inside the innermost limits.
FLAG_WITHIN = "within"
#: Flag of a unit whose denominator is 0 (no value, no z-score).
FLAG_NOT_ESTIMABLE = "not_estimable"

DEFAULT_LEVELS: tuple[float, ...] = (0.95, 0.998)


def _level_label(level: float) -> str:
    """0.95 -> '95', 0.998 -> '99.8' (used in flags)."""
    return f"{level * 100:g}"


def _level_suffix(level: float) -> str:
    """0.95 -> '95', 0.998 -> '998' (used in column names)."""
    return _level_label(level).replace(".", "")


def flag_labels(levels: Sequence[float] = DEFAULT_LEVELS) -> tuple[str, ...]:
    """All flags for the given levels, from highest to lowest.

    >>> flag_labels()
    ('above_99.8', 'above_95', 'within', 'below_95', 'below_99.8', 'not_estimable')
    """
    levels = _check_levels(levels)
    above = tuple(f"above_{_level_label(v)}" for v in reversed(levels))
    below = tuple(f"below_{_level_label(v)}" for v in levels)
    return (*above, FLAG_WITHIN, *below, FLAG_NOT_ESTIMABLE)


def _check_levels(levels) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in levels)
    except (TypeError, ValueError):
        raise ValueError(LEVELS_MESSAGE.format(value=levels)) from None
    if (
        not values
        or len(set(values)) != len(values)
        or not all(0.0 < v < 1.0 for v in values)
        or len({_level_suffix(v) for v in values}) != len(values)
    ):
        raise ValueError(LEVELS_MESSAGE.format(value=levels))
    return tuple(sorted(values))


def _check_multiplier(multiplier) -> float:
    try:
        value = float(multiplier)
    except (TypeError, ValueError):
        raise ValueError(MULTIPLIER_MESSAGE.format(value=multiplier)) from None
    if not (np.isfinite(value) and value > 0):
        raise ValueError(MULTIPLIER_MESSAGE.format(value=multiplier))
    return value


def _quantile(level: float) -> float:
    """Two-sided normal quantile: 0.95 -> 1.959964, 0.998 -> 3.090232."""
    return float(dist.norm_ppf(1.0 - (1.0 - level) / 2.0))


# --------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelResult:
    """A funnel comparison of units against their pooled value.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per unit, in input order, with columns ``unit, count, n, value,
        target, z, z_adjusted, flag`` then ``lower_<L>, upper_<L>`` for each
        level (``lower_95, upper_95, lower_998, upper_998`` by default).
        ``value``, ``target`` and the limits are on the reported scale
        (proportion, or rate per ``multiplier``). ``z`` is the plain z-score on
        the arcsine scale; ``z_adjusted`` uses :math:`\\sqrt{s^2 + \\tau^2}` when
        the adjustment was applied and equals ``z`` otherwise. Units with
        ``n == 0`` have NaN value, z and limits and flag ``"not_estimable"``.
    target : float
        The pooled value :math:`\\sum x/\\sum n` on the reported scale.
    phi : float
        Dispersion ratio :math:`\\phi = \\sum z_w^2 / k` from the Winsorised
        z-scores (about 1 when units differ only by chance).
    tau2 : float
        Estimated between-unit variance on the arcsine scale (0 when
        :math:`k\\phi \\le k - 1`). Reported even when not applied.
    overdispersed : bool
        Whether :math:`\\tau^2 > 0`, i.e. :math:`k\\phi > k - 1`.
    adjusted : bool
        Whether :math:`\\tau^2` was used for ``z_adjusted``, the flags and the
        limits.
    method : str
        One-line description of what was done, for reports.
    levels : tuple of float
        Coverage levels of the limits, ascending.
    multiplier : float
        1 for proportions; e.g. 1000 for rates per 1,000.
    k : int
        Number of units with ``n > 0`` (those used for the target, phi, tau2).
    winsor : float
        Fraction Winsorised in each tail.
    """

    table: pd.DataFrame = field(repr=False)
    target: float
    phi: float
    tau2: float
    overdispersed: bool
    adjusted: bool
    method: str
    levels: tuple[float, ...]
    multiplier: float
    k: int
    winsor: float

    def limits(self, n_grid) -> pd.DataFrame:
        """Funnel limit curves over ``n_grid`` for this result (see :func:`funnel_limits`)."""
        return funnel_limits(
            self.target,
            n_grid,
            tau2=self.tau2 if self.adjusted else 0.0,
            levels=self.levels,
            multiplier=self.multiplier,
        )


@dataclass(frozen=True)
class HeterogeneityResult:
    """Chi-square test that all units share one proportion.

    Attributes
    ----------
    statistic : float
        Pearson's :math:`X^2` (= Cochran's :math:`Q` with the pooled variance).
    df : int
        Degrees of freedom, :math:`k - 1`.
    pvalue : float
        :math:`P(\\chi^2_{k-1} \\ge X^2)`.
    i2 : float
        :math:`I^2 = \\max(0, (Q - \\mathrm{df})/Q)` (Higgins & Thompson 2002),
        the share of variation beyond chance; 0 when :math:`Q \\le` df.
    k : int
        Number of units with ``n > 0``.
    """

    statistic: float
    df: int
    pvalue: float
    i2: float
    k: int


# --------------------------------------------------------------------------
# Funnel
# --------------------------------------------------------------------------


def _as_table_column(values) -> np.ndarray:
    """Keep integer dtype for display when the input is integer; else float."""
    array = np.asarray(values)
    if array.dtype.kind in "iu":
        return array
    return array.astype(float)


def _validate(count, n, labels, n_name: str):
    count_arr = np.asarray(count, dtype=float)
    n_arr = np.asarray(n, dtype=float)
    labels_list = list(labels)
    if (
        count_arr.ndim != 1
        or n_arr.ndim != 1
        or not (len(count_arr) == len(n_arr) == len(labels_list))
    ):
        raise ValueError(
            LENGTH_MESSAGE.format(
                lengths={"count": count_arr.shape, n_name: n_arr.shape, "labels": len(labels_list)}
            )
        )
    seen: set = set()
    duplicated = []
    for label in labels_list:
        if label in seen and label not in duplicated:
            duplicated.append(label)
        seen.add(label)
    if duplicated:
        raise ValueError(DUPLICATE_LABEL_MESSAGE.format(labels=duplicated))
    for name, array in (("count", count_arr), (n_name, n_arr)):
        bad = ~np.isfinite(array) | (array < 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                VALUE_MESSAGE.format(name=name, value=float(array[i]), unit=labels_list[i])
            )
    bad = count_arr > n_arr
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            COUNT_EXCEEDS_MESSAGE.format(
                n_name=n_name, count=float(count_arr[i]), n=float(n_arr[i]), unit=labels_list[i]
            )
        )
    return count_arr, n_arr, labels_list


def _winsorise(z: np.ndarray, fraction: float) -> np.ndarray:
    """Clip z to its ``fraction`` and ``1 - fraction`` quantiles (linear interpolation).

    The quantiles are numpy's default ``method="linear"``, which is R's
    ``quantile(type = 7)`` as used by FunnelPlotR: for sorted values
    :math:`z_{(1)} \\le \\dots \\le z_{(k)}` the :math:`q` quantile is
    :math:`z_{(j)} + g\\,(z_{(j+1)} - z_{(j)})` with :math:`h = (k-1)q`,
    :math:`j = \\lfloor h \\rfloor + 1`, :math:`g = h - \\lfloor h \\rfloor`.
    For :math:`k = 32` and 10%: :math:`h = 3.1`, so the lower cut is
    :math:`z_{(4)} + 0.1(z_{(5)} - z_{(4)})` and the three smallest values
    (and the fourth, slightly) are pulled in; likewise at the top.
    """
    if fraction == 0.0:
        return z.copy()
    low, high = np.quantile(z, [fraction, 1.0 - fraction], method="linear")
    return np.clip(z, low, high)


def _dispersion(z: np.ndarray, w: np.ndarray, winsor: float) -> tuple[float, float]:
    """phi and tau2 (Spiegelhalter 2005, eq. for the additive model)."""
    k = z.size
    z_w = _winsorise(z, winsor)
    phi = float(np.sum(z_w**2) / k)
    denominator = float(np.sum(w) - np.sum(w**2) / np.sum(w))
    if k * phi <= k - 1 or denominator <= 0:
        return phi, 0.0
    return phi, float((k * phi - (k - 1)) / denominator)


def _limits_on_scale(theta: float, sd: np.ndarray, q: float) -> tuple[np.ndarray, np.ndarray]:
    """Back-transform theta -/+ q*sd from the arcsine scale.

    The angle is clipped to [0, pi/2] before squaring the sine, since
    :math:`\\sin^2` is not monotone outside it.
    """
    low = np.sin(np.clip(theta - q * sd, 0.0, np.pi / 2.0)) ** 2
    high = np.sin(np.clip(theta + q * sd, 0.0, np.pi / 2.0)) ** 2
    return low, high


def _funnel(
    count,
    n,
    *,
    labels,
    alpha_levels,
    overdispersion,
    winsor,
    multiplier: float,
    n_name: str,
    what: str,
) -> FunnelResult:
    if not (isinstance(overdispersion, bool) or overdispersion == "auto"):
        raise ValueError(OVERDISPERSION_MESSAGE.format(value=overdispersion))
    try:
        winsor_value = float(winsor)
    except (TypeError, ValueError):
        raise ValueError(WINSOR_MESSAGE.format(value=winsor)) from None
    if not 0.0 <= winsor_value < 0.5:
        raise ValueError(WINSOR_MESSAGE.format(value=winsor))
    levels = _check_levels(alpha_levels)
    x, size, units = _validate(count, n, labels, n_name)

    used = size > 0
    k = int(used.sum())
    if k < 2:
        raise ValueError(TOO_FEW_UNITS_MESSAGE.format(n_name=n_name, k=k))
    pooled = float(x[used].sum() / size[used].sum())
    theta = float(np.arcsin(np.sqrt(pooled)))

    safe_n = np.where(used, size, 1.0)
    p = np.where(used, x / safe_n, np.nan)
    y = np.arcsin(np.sqrt(p))
    s = np.where(used, 1.0 / (2.0 * np.sqrt(safe_n)), np.nan)
    z = (y - theta) / s
    w = 1.0 / s[used] ** 2
    phi, tau2 = _dispersion(z[used], w, winsor_value)
    overdispersed = tau2 > 0.0
    adjusted = overdispersed and overdispersion is not False
    tau2_used = tau2 if adjusted else 0.0
    sd = np.sqrt(s**2 + tau2_used)
    z_adjusted = (y - theta) / sd

    flag = np.full(z.shape, FLAG_WITHIN, dtype=object)
    for level in levels:  # ascending, so the outermost level exceeded wins
        q = _quantile(level)
        flag[z_adjusted > q] = f"above_{_level_label(level)}"
        flag[z_adjusted < -q] = f"below_{_level_label(level)}"
    flag[~used] = FLAG_NOT_ESTIMABLE

    table = pd.DataFrame(
        {
            "unit": units,
            "count": _as_table_column(count),
            "n": _as_table_column(n),
            "value": multiplier * p,
            "target": multiplier * pooled,
            "z": z,
            "z_adjusted": z_adjusted,
            "flag": flag,
        }
    )
    for level in levels:
        low, high = _limits_on_scale(theta, sd, _quantile(level))
        suffix = _level_suffix(level)
        table[f"lower_{suffix}"] = np.where(used, multiplier * low, np.nan)
        table[f"upper_{suffix}"] = np.where(used, multiplier * high, np.nan)

    winsor_pct = f"{winsor_value * 100:g}%"
    if adjusted:
        how = (
            f"additive overdispersion, tau2 = {tau2:.3g} from z-scores Winsorised "
            f"{winsor_pct} each tail (Spiegelhalter 2005)"
        )
    elif overdispersed:
        how = f"no overdispersion adjustment (requested; estimated tau2 = {tau2:.3g})"
    else:
        how = "no overdispersion adjustment (estimated tau2 = 0)"
    method = (
        f"funnel of {what} on the arcsine-square-root scale around the pooled value; "
        f"limits {', '.join(_level_label(v) + '%' for v in levels)}; {how}"
    )
    return FunnelResult(
        table=table,
        target=multiplier * pooled,
        phi=phi,
        tau2=tau2,
        overdispersed=bool(overdispersed),
        adjusted=bool(adjusted),
        method=method,
        levels=levels,
        multiplier=multiplier,
        k=k,
        winsor=winsor_value,
    )


def funnel_proportion(
    count,
    n,
    *,
    labels: Sequence,
    alpha_levels: Sequence[float] = DEFAULT_LEVELS,
    overdispersion: Literal["auto"] | bool = "auto",
    winsor: float = 0.10,
) -> FunnelResult:
    r"""Funnel comparison of per-unit proportions against their pooled value.

    For unit :math:`i` with count :math:`x_i` out of :math:`n_i`
    (Spiegelhalter 2005, arcsine-square-root scale):

    .. math::

        y_i = \arcsin\sqrt{x_i/n_i}, \quad
        \theta = \arcsin\sqrt{\bar p}, \quad \bar p = \frac{\sum x}{\sum n}, \quad
        s_i = \frac{1}{2\sqrt{n_i}}, \quad z_i = \frac{y_i - \theta}{s_i}.

    Overdispersion: Winsorise the :math:`z_i` at their ``winsor`` and
    ``1 - winsor`` quantiles (numpy ``method="linear"`` = R type 7, as in
    FunnelPlotR) to get :math:`z^w_i`; then, with :math:`w_i = 1/s_i^2` and
    :math:`k` units,

    .. math::

        \phi = \frac{1}{k}\sum (z^w_i)^2, \qquad
        \tau^2 = \max\left(0,\ \frac{k\phi - (k-1)}
                 {\sum w_i - \sum w_i^2 / \sum w_i}\right).

    When the adjustment applies,
    :math:`z^{adj}_i = (y_i - \theta)/\sqrt{s_i^2 + \tau^2}` and the limits at
    coverage :math:`L` are
    :math:`\sin^2(\theta \pm q_L\sqrt{s_i^2 + \tau^2})`, with
    :math:`q_L = \Phi^{-1}(1 - (1-L)/2)` (1.96 and 3.09) and the angle clipped
    to :math:`[0, \pi/2]`.

    Parameters
    ----------
    count, n : array_like, 1-D
        Counts :math:`0 \le x_i \le n_i`, finite (a missing value raises: it
        would change the pooled target).
    labels : sequence
        Unique unit names (e.g. boroughs), same length.
    alpha_levels : sequence of float, default (0.95, 0.998)
        Coverage levels of the limits.
    overdispersion : {"auto", True, False}, default "auto"
        ``"auto"`` and ``True``: use :math:`\tau^2` when it is above 0 (as
        FunnelPlotR's ``draw_adjusted = TRUE``); the adjustment is additive,
        so when :math:`\tau^2 = 0` it changes nothing and the two options
        coincide. ``False``: plain binomial limits; :math:`\phi` and
        :math:`\tau^2` are still estimated and reported.
    winsor : float, default 0.10
        Fraction Winsorised in each tail, in [0, 0.5).

    Returns
    -------
    FunnelResult
        See :class:`FunnelResult`. Flags: for the default levels, one of
        ``above_99.8, above_95, within, below_95, below_99.8`` by comparing
        ``z_adjusted`` strictly with :math:`\pm q_L` (a unit exactly on a
        limit is ``within``), and ``not_estimable`` for units with
        :math:`n_i = 0`, which are also left out of :math:`\bar p`,
        :math:`\phi`, :math:`\tau^2` and :math:`k`.

    Raises
    ------
    ValueError
        For mismatched lengths, duplicated labels, a negative, infinite or
        missing input, a count above its denominator, fewer than 2 units with
        :math:`n_i > 0`, or a bad option.

    Examples
    --------
    Three units that differ far more than binomial chance allows: plain
    limits flag two of them, the overdispersion-adjusted limits none.

    >>> counts, sizes = [5, 10, 30], [100, 100, 100]
    >>> plain = funnel_proportion(counts, sizes, labels=["A", "B", "C"], overdispersion=False)
    >>> round(plain.target, 4), plain.table["flag"].tolist()
    (0.15, ['below_99.8', 'within', 'above_99.8'])
    >>> adjusted = funnel_proportion(counts, sizes, labels=["A", "B", "C"])
    >>> adjusted.adjusted, round(adjusted.tau2, 4), adjusted.table["flag"].tolist()
    (True, 0.0206, ['within', 'within', 'within'])
    """
    return _funnel(
        count,
        n,
        labels=labels,
        alpha_levels=alpha_levels,
        overdispersion=overdispersion,
        winsor=winsor,
        multiplier=1.0,
        n_name="n",
        what="proportions",
    )


def funnel_rate(
    count,
    population,
    *,
    labels: Sequence,
    multiplier: float = 1000.0,
    alpha_levels: Sequence[float] = DEFAULT_LEVELS,
    overdispersion: Literal["auto"] | bool = "auto",
    winsor: float = 0.10,
) -> FunnelResult:
    r"""Funnel comparison of rates per ``multiplier`` residents (e.g. listed per 1,000).

    The count out of the resident population is treated as a proportion and
    analysed exactly as in :func:`funnel_proportion`; ``value``, ``target``
    and the limits are then reported per ``multiplier`` (so the table's
    ``n`` column holds the population). ``count`` must not exceed
    ``population``.

    Examples
    --------
    >>> result = funnel_rate([30, 40], [20000, 25000], labels=["A", "B"])
    >>> round(result.target, 3)
    1.556
    """
    scale = _check_multiplier(multiplier)
    return _funnel(
        count,
        population,
        labels=labels,
        alpha_levels=alpha_levels,
        overdispersion=overdispersion,
        winsor=winsor,
        multiplier=scale,
        n_name="population",
        what=f"rates per {scale:,g}",
    )


def funnel_limits(
    target: float,
    n_grid,
    *,
    tau2: float = 0.0,
    levels: Sequence[float] = DEFAULT_LEVELS,
    multiplier: float = 1.0,
) -> pd.DataFrame:
    r"""Funnel limit curves :math:`\sin^2(\theta \pm q_L\sqrt{1/(4n) + \tau^2})` over a grid of n.

    Parameters
    ----------
    target : float
        The centre on the reported scale (``FunnelResult.target``);
        ``target / multiplier`` must be a proportion.
    n_grid : array_like
        Denominators (> 0) at which to evaluate the limits.
    tau2 : float, default 0.0
        Between-unit variance on the arcsine scale (``FunnelResult.tau2`` if
        ``FunnelResult.adjusted``, else 0).
    levels : sequence of float, default (0.95, 0.998)
        Coverage levels.
    multiplier : float, default 1.0
        Reporting scale, as in :func:`funnel_rate`.

    Returns
    -------
    pandas.DataFrame
        Tidy, columns ``n, level, lower, upper``: one row per level and n,
        sorted by level then by the grid's order. Never NaN.

    Examples
    --------
    >>> funnel_limits(0.5, [100], levels=[0.95]).round(4).to_dict("records")
    [{'n': 100.0, 'level': 0.95, 'lower': 0.4026, 'upper': 0.5974}]
    """
    scale = _check_multiplier(multiplier)
    levels = _check_levels(levels)
    try:
        tau2_value = float(tau2)
    except (TypeError, ValueError):
        raise ValueError(TAU2_MESSAGE.format(value=tau2)) from None
    if not (np.isfinite(tau2_value) and tau2_value >= 0):
        raise ValueError(TAU2_MESSAGE.format(value=tau2))
    pooled = float(target) / scale
    if not 0.0 <= pooled <= 1.0:
        raise ValueError(TARGET_MESSAGE.format(value=target))
    grid = np.asarray(n_grid, dtype=float).ravel()
    if not np.all(np.isfinite(grid) & (grid > 0)):
        raise ValueError(GRID_MESSAGE.format(value=n_grid))
    theta = float(np.arcsin(np.sqrt(pooled)))
    sd = np.sqrt(1.0 / (4.0 * grid) + tau2_value)
    frames = []
    for level in levels:
        low, high = _limits_on_scale(theta, sd, _quantile(level))
        frames.append(
            pd.DataFrame({"n": grid, "level": level, "lower": scale * low, "upper": scale * high})
        )
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------
# Heterogeneity
# --------------------------------------------------------------------------


def heterogeneity_test(count, n) -> HeterogeneityResult:
    r"""Chi-square test of homogeneity of proportions across units, with :math:`I^2`.

    With :math:`\bar p = \sum x / \sum n` over the :math:`k` units with
    :math:`n_i > 0`,

    .. math::

        X^2 = \sum_i \frac{(x_i - n_i\bar p)^2}{n_i\,\bar p\,(1 - \bar p)}
        \sim \chi^2_{k-1},

    which is Pearson's statistic for the :math:`2 \times k` table and
    Cochran's :math:`Q` with the pooled binomial variance;
    :math:`I^2 = \max(0, (Q - (k-1))/Q)`.

    Unlike the funnel's :math:`\phi`, nothing is Winsorised: this is the
    formal test of "do units differ more than chance?".

    Parameters
    ----------
    count, n : array_like, 1-D
        Counts :math:`0 \le x_i \le n_i`; units with :math:`n_i = 0` are left out.

    Returns
    -------
    HeterogeneityResult
        ``statistic``, ``df``, ``pvalue`` and ``i2`` are NaN when fewer than 2
        units have :math:`n_i > 0` or when :math:`\bar p` is 0 or 1 (no events,
        or all events: no variation to test).

    Examples
    --------
    >>> r = heterogeneity_test([10, 20, 30], [100, 100, 100])
    >>> round(r.statistic, 2), r.df, round(r.pvalue, 5)
    (12.5, 2, 0.00193)
    """
    labels = list(range(len(np.atleast_1d(np.asarray(count)))))
    x, size, _ = _validate(count, n, labels, "n")
    used = size > 0
    k = int(used.sum())
    nan = float("nan")
    if k < 2:
        return HeterogeneityResult(statistic=nan, df=max(k - 1, 0), pvalue=nan, i2=nan, k=k)
    x, size = x[used], size[used]
    pooled = x.sum() / size.sum()
    df = k - 1
    if pooled <= 0.0 or pooled >= 1.0:
        return HeterogeneityResult(statistic=nan, df=df, pvalue=nan, i2=nan, k=k)
    statistic = float(np.sum((x - size * pooled) ** 2 / (size * pooled * (1.0 - pooled))))
    pvalue = float(dist.chi2_sf(statistic, df))
    i2 = max(0.0, (statistic - df) / statistic) if statistic > 0 else 0.0
    return HeterogeneityResult(statistic=statistic, df=df, pvalue=pvalue, i2=float(i2), k=k)
