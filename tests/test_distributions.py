"""fairness.stats._distributions gives scipy.stats' values, edges included, without importing scipy.stats."""

import numpy as np
import pytest
from scipy import stats

from fairness.stats import _distributions as d

ALPHAS = np.array([0.0, 1e-300, 1e-12, 0.001, 0.025, 0.05, 0.1, 0.5, 0.9, 0.975, 1 - 1e-12, 1.0, -0.1, 1.1, np.nan])
SHAPES = np.array([0.0, -1.0, 0.5, 1.0, 2.0, 7.5, 30.0, 1000.0, 1e6, np.nan])


def same(got, expected):
    """Equal within 1e-12 (relative) where finite; the same infinities and NaNs elsewhere."""
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape
    finite = np.isfinite(expected)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(got[~finite & ~np.isnan(expected)], expected[~finite & ~np.isnan(expected)])
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-12, atol=0)


def test_normal_quantiles_and_tail():
    same(d.norm_isf(ALPHAS), stats.norm.isf(ALPHAS))
    same(d.norm_ppf(ALPHAS), stats.norm.ppf(ALPHAS))
    z = np.array([-np.inf, -40.0, -3.0, -1.959963984540054, 0.0, 0.5, 8.0, 40.0, np.inf, np.nan])
    same(d.norm_sf(z), stats.norm.sf(z))
    # the 95% two-sided quantile, a published constant (Altman et al. 2000, table 18.1: 1.96)
    assert d.norm_isf(0.025) == pytest.approx(1.959963984540054, abs=1e-15)
    assert isinstance(d.norm_isf(0.025), np.floating)


@pytest.mark.parametrize("name", ["ppf", "isf"])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # boost gives up on the extreme shapes, in both
def test_beta_and_gamma_quantiles(name):
    q, a, b = np.meshgrid(ALPHAS, SHAPES, SHAPES, indexing="ij")
    same(getattr(d, f"beta_{name}")(q, a, b), getattr(stats.beta, name)(q, a, b))
    q, a = np.meshgrid(ALPHAS, SHAPES, indexing="ij")
    same(getattr(d, f"gamma_{name}")(q, a), getattr(stats.gamma, name)(q, a))


def test_chi2_tail():
    x, df = np.meshgrid([-1.0, 0.0, 0.5, 3.84, 30.0, 500.0, np.inf, np.nan], [0.0, 1.0, 2.0, 31.0, -1.0])
    same(d.chi2_sf(x, df), stats.chi2.sf(x, df))
    # 3.841459 is the 95% point of chi-squared on 1 df (any table)
    assert d.chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, abs=1e-15)


@pytest.mark.parametrize("name", ["pmf", "cdf", "sf"])
def test_binomial(name):
    k = np.array([-np.inf, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0, 9.0, 10.0, 11.0, np.inf, np.nan])
    n = np.array([0.0, 1.0, 10.0, 10.5, -1.0, 200.0])
    p = np.array([0.0, 1e-9, 0.3, 0.5, 1.0, -0.1, 1.5, np.nan])
    k, n, p = np.meshgrid(k, n, p, indexing="ij")
    got, want = getattr(d, f"binom_{name}")(k, n, p), getattr(stats.binom, name)(k, n, p)
    same(got, want)
    np.testing.assert_array_equal(got, want)  # to the last bit (cdf and sf share one tail helper)
    # by hand: P(X = 1) for X ~ Bin(2, 0.5) is 1/2, P(X <= 0) 1/4, P(X > 1) 1/4
    got = (d.binom_pmf(1, 2, 0.5), d.binom_cdf(0, 2, 0.5), d.binom_sf(1, 2, 0.5))
    assert got == pytest.approx((0.5, 0.25, 0.25), abs=1e-15)


def test_scalar_in_scalar_out():
    for value in (d.beta_ppf(0.025, 1.0, 5.0), d.gamma_isf(0.025, 3.0), d.binom_sf(2, 5, 0.3), d.chi2_sf(2.0, 3)):
        assert np.ndim(value) == 0
