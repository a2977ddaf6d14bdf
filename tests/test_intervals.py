"""Tests for fairness.stats.intervals.

Reference values come from published tables (source beside each number) or
are worked by hand in the comments; z = 1.959964 (two-sided 95%) throughout.
"""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.proportion import proportion_confint

from fairness.stats import intervals as iv
from tests.conftest import examples

Z = 1.959963984540054

PROPORTION_METHODS = ["wilson", "exact", "clopper-pearson", "jeffreys", "agresti-coull", "normal"]
POISSON_METHODS = ["byar", "exact", "phe"]
RATIO_METHODS = ["katz", "poisson-exact", "mid-p"]
TEST_METHODS = ["wald", "exact", "mid-p"]
ADJUST_METHODS = ["holm", "bh", "fdr_bh", "bonferroni", "none"]
DIFFERENCE_METHODS = ["newcombe", "wald"]


def test_docstring_examples():
    result = doctest.testmod(iv, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------
# confint_proportion
# --------------------------------------------------------------------------

# Newcombe RG (1998) "Two-sided confidence intervals for the single proportion:
# comparison of seven methods", Statistics in Medicine 17:857-872, Table I.
NEWCOMBE_TABLE_I = {
    # (x, n): {method: (low, high)}
    (81, 263): {
        "wilson": (0.2553, 0.3662),  # method 3, score
        "exact": (0.2527, 0.3676),  # method 5, Clopper-Pearson
        "normal": (0.2522, 0.3638),  # method 1, simple asymptotic (Wald)
    },
    (15, 148): {
        "wilson": (0.0624, 0.1605),
        "exact": (0.0578, 0.1617),
        "normal": (0.0527, 0.1500),
    },
    (0, 20): {
        "wilson": (0.0000, 0.1611),
        "exact": (0.0000, 0.1684),
    },
    (1, 29): {
        "wilson": (0.0061, 0.1718),
        "exact": (0.0009, 0.1776),
    },
}


@pytest.mark.parametrize(
    ("x", "n", "method", "expected"),
    [
        (x, n, method, bounds)
        for (x, n), by_method in NEWCOMBE_TABLE_I.items()
        for method, bounds in by_method.items()
    ],
)
def test_proportion_newcombe_table_i(x, n, method, expected):
    low, high = iv.confint_proportion(x, n, method=method)
    assert low == pytest.approx(expected[0], abs=5e-5)
    assert high == pytest.approx(expected[1], abs=5e-5)


def test_wilson_by_hand():
    # 81/263: n + z^2 = 266.8415; centre = (81 + 1.9207)/266.8415 = 0.310749;
    # half = 1.959964 * sqrt(81*182/263 + 0.960364) / 266.8415 = 0.055461;
    # 0.310749 -/+ 0.055461 = 0.255289, 0.366210.
    low, high = iv.confint_proportion(81, 263, method="wilson")
    assert (float(low), float(high)) == pytest.approx((0.255289, 0.366210), abs=1e-6)


def test_clopper_pearson_alias_and_zero_closed_form():
    # 0/20 exact upper: 1 - (alpha/2)^(1/n) = 1 - 0.025^(1/20) = 0.168433 (closed form).
    _, high = iv.confint_proportion(0, 20, method="clopper-pearson")
    assert float(high) == pytest.approx(1 - 0.025 ** (1 / 20), rel=1e-10)
    # and x = n gives the mirror image: lower = 0.025^(1/20) = 0.831567
    low, high = iv.confint_proportion(20, 20, method="exact")
    assert float(low) == pytest.approx(0.025 ** (1 / 20), rel=1e-10)
    assert float(high) == 1.0


def test_agresti_coull_by_hand():
    # 15/148: n~ = 148 + z^2 = 151.8415; p~ = (15 + 1.9207)/151.8415 = 0.111437;
    # half = z * sqrt(0.111437 * 0.888563 / 151.8415) = 0.050051; 0.061386 to 0.161488.
    low, high = iv.confint_proportion(15, 148, method="agresti-coull")
    assert (float(low), float(high)) == pytest.approx((0.061386, 0.161488), abs=1e-6)


@pytest.mark.parametrize(
    ("ours", "statsmodels_name"),
    [
        ("agresti-coull", "agresti_coull"),
        ("jeffreys", "jeffreys"),
        ("exact", "beta"),
        ("wilson", "wilson"),
        ("normal", "normal"),
    ],
)
def test_proportion_matches_statsmodels_inside(ours, statsmodels_name):
    # Away from 0 and n every method agrees with statsmodels' proportion_confint.
    x = np.array([1, 7, 81, 15, 40])
    n = np.array([29, 20, 263, 148, 41])
    low, high = iv.confint_proportion(x, n, method=ours)
    sm_low, sm_high = proportion_confint(x, n, alpha=0.05, method=statsmodels_name)
    np.testing.assert_allclose(low, np.clip(sm_low, 0, 1), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(high, np.clip(sm_high, 0, 1), rtol=1e-9, atol=1e-12)


def test_jeffreys_boundary_modification():
    # Brown, Cai & DasGupta (2001), Statistical Science 16:101, section 4.1.2:
    # lower bound 0 at x = 0, upper bound 1 at x = n.
    low, high = iv.confint_proportion([0, 10], [10, 10], method="jeffreys")
    assert low[0] == 0.0 and high[1] == 1.0
    # the other bound is the plain Beta(x + 1/2, n - x + 1/2) quantile
    assert high[0] == pytest.approx(stats.beta.isf(0.025, 0.5, 10.5))


@pytest.mark.parametrize("method", PROPORTION_METHODS)
def test_proportion_zero_and_full(method):
    low, high = iv.confint_proportion([0, 50], [50, 50], method=method)
    assert low[0] == 0.0
    assert high[1] == 1.0
    assert np.all((low >= 0) & (high <= 1))


@pytest.mark.parametrize("method", PROPORTION_METHODS)
def test_proportion_nan_only_for_empty_denominator_or_missing(method):
    low, high = iv.confint_proportion([0, 3, np.nan, 2], [0, 10, 10, np.nan], method=method)
    assert np.isnan(low[0]) and np.isnan(high[0])  # n = 0
    assert np.isfinite(low[1]) and np.isfinite(high[1])
    assert np.isnan(low[2]) and np.isnan(low[3])  # missing input propagates


def test_proportion_accepts_series_and_scalars():
    low, high = iv.confint_proportion(pd.Series([1, 2], index=["a", "b"]), 10)
    assert isinstance(low, np.ndarray) and low.shape == (2,)
    low, high = iv.confint_proportion(1, 10)
    assert isinstance(low, np.ndarray) and low.shape == ()


def test_proportion_does_not_mutate_input():
    x = np.array([0.0, 3.0])
    n = np.array([0.0, 10.0])
    iv.confint_proportion(x, n)
    np.testing.assert_array_equal(x, [0.0, 3.0])
    np.testing.assert_array_equal(n, [0.0, 10.0])


@pytest.mark.parametrize(
    ("count", "n", "fragment"),
    [(-1, 10, "count must be >= 0"), (11, 10, "must not exceed"), (np.inf, 10, "finite")],
)
def test_proportion_invalid_input_raises(count, n, fragment):
    with pytest.raises(ValueError, match=fragment):
        iv.confint_proportion(count, n)


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "x"])
def test_bad_alpha_raises(alpha):
    with pytest.raises(ValueError, match="alpha must be"):
        iv.confint_proportion(1, 10, alpha=alpha)


# --------------------------------------------------------------------------
# Unknown methods: one message, listing the valid names
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "function", "valid"),
    [
        (
            lambda: iv.confint_proportion(1, 10, method="wils"),
            "confint_proportion",
            PROPORTION_METHODS,
        ),
        (
            lambda: iv.confint_poisson_rate(1, 10, method="garwood"),
            "confint_poisson_rate",
            POISSON_METHODS,
        ),
        (
            lambda: iv.confint_rate_ratio(1, 10, 1, 10, method="wald"),
            "confint_rate_ratio",
            RATIO_METHODS,
        ),
        (lambda: iv.test_rate_ratio(1, 10, 1, 10, method="katz"), "test_rate_ratio", TEST_METHODS),
        (lambda: iv.adjust_pvalues([0.1], method="benjamini"), "adjust_pvalues", ADJUST_METHODS),
        (
            lambda: iv.confint_difference_proportions(1, 10, 1, 10, method="score"),
            "confint_difference_proportions",
            DIFFERENCE_METHODS,
        ),
    ],
)
def test_unknown_method_message(call, function, valid):
    with pytest.raises(ValueError) as info:
        call()
    bad = str(info.value).split("unknown method ")[1].split(";")[0]
    expected = iv.UNKNOWN_METHOD_MESSAGE.format(
        function=function, method=eval(bad), valid=", ".join(repr(v) for v in valid)
    )
    assert str(info.value) == expected


def test_unknown_method_not_matched_by_prefix():
    with pytest.raises(ValueError):
        iv.confint_proportion(1, 10, method="wil")
    with pytest.raises(ValueError):
        iv.confint_proportion(1, 10, method=None)


def test_method_matched_in_any_case_as_data_values_are():
    # Issue 11: options match case-insensitively, as data values do (never by prefix).
    # Newcombe (1998), Table I, 81/263: Wilson 0.2553 to 0.3662.
    low, high = iv.confint_proportion(81, 263, method=" Wilson")
    assert (round(float(low), 4), round(float(high), 4)) == (0.2553, 0.3662)
    # BH by hand: sorted 0.01 × 2/1 = 0.02, 0.04 × 2/2 = 0.04
    assert iv.adjust_pvalues([0.01, 0.04], method="BH").tolist() == [0.02, 0.04]


# --------------------------------------------------------------------------
# confint_poisson_rate
# --------------------------------------------------------------------------


def test_poisson_exact_ten_events():
    # Garwood / PHE "Technical guide: confidence intervals" (exact method), O = 10:
    # lower = chi2(0.025; 20)/2 = 9.590777/2 = 4.795389
    # upper = chi2(0.975; 22)/2 = 36.780712/2 = 18.390356
    low, high = iv.confint_poisson_rate(10, 1, method="exact")
    assert float(low) == pytest.approx(4.795389, abs=1e-6)
    assert float(high) == pytest.approx(18.390356, abs=1e-6)


def test_poisson_byar_ten_events_by_hand():
    # Byar (PHE technical guide), O = 10, z = 1.959964:
    # lower: 1/(9*10) = 0.011111; z/(3*sqrt(10)) = 1.959964/9.486833 = 0.206598;
    #        1 - 0.011111 - 0.206598 = 0.782291; 0.782291^3 = 0.478745; x 10 = 4.787450
    # upper: O + 1 = 11; 1/99 = 0.010101; z/(3*sqrt(11)) = 1.959964/9.949874 = 0.196984;
    #        1 - 0.010101 + 0.196984 = 1.186883; 1.186883^3 = 1.671951; x 11 = 18.391459
    low, high = iv.confint_poisson_rate(10, 1, method="byar")
    assert float(low) == pytest.approx(4.787450, abs=1e-5)
    assert float(high) == pytest.approx(18.391459, abs=1e-5)


def test_poisson_zero_events():
    # Exact upper at O = 0 is chi2(0.975; 2)/2 = -ln(0.025) = ln 40 = 3.688879.
    low, high = iv.confint_poisson_rate(0, 1, method="exact")
    assert float(low) == 0.0
    assert float(high) == pytest.approx(np.log(40), rel=1e-12)
    # Byar at O = 0: lower 0; upper = 1 * (1 - 1/9 + z/3)^3 = (0.888889 + 0.653321)^3 = 3.667990
    low, high = iv.confint_poisson_rate(0, 1, method="byar")
    assert float(low) == 0.0
    assert float(high) == pytest.approx((1 - 1 / 9 + Z / 3) ** 3, rel=1e-12)


def test_poisson_phe_switches_at_ten():
    counts = np.array([0, 5, 9, 10, 11, 250])
    phe_low, phe_high = iv.confint_poisson_rate(counts, 1, method="phe")
    ex_low, ex_high = iv.confint_poisson_rate(counts, 1, method="exact")
    by_low, by_high = iv.confint_poisson_rate(counts, 1, method="byar")
    small = counts < 10
    np.testing.assert_array_equal(phe_low[small], ex_low[small])
    np.testing.assert_array_equal(phe_high[small], ex_high[small])
    np.testing.assert_array_equal(phe_low[~small], by_low[~small])
    np.testing.assert_array_equal(phe_high[~small], by_high[~small])
    assert iv.PHE_EXACT_BELOW == 10


def test_poisson_rate_scaling_and_nan():
    # 10 events in 50,000 residents per 100,000: exact 4.795389/0.5 = 9.590777 to 36.780712.
    low, high = iv.confint_poisson_rate([10, 3], [50_000, 0], method="exact", multiplier=100_000)
    assert low[0] == pytest.approx(9.590777, abs=1e-5)
    assert high[0] == pytest.approx(36.780712, abs=1e-5)
    assert np.isnan(low[1]) and np.isnan(high[1])  # exposure 0


def test_poisson_byar_lower_floored_at_zero():
    # For O = 1 at alpha = 0.0001 (z = 3.89) the cube is negative: the bound is 0, not < 0.
    low, _ = iv.confint_poisson_rate(1, 1, method="byar", alpha=0.0001)
    assert float(low) == 0.0


@pytest.mark.parametrize("multiplier", [0, -1, np.inf, "x"])
def test_poisson_bad_multiplier(multiplier):
    with pytest.raises(ValueError, match="multiplier"):
        iv.confint_poisson_rate(1, 10, multiplier=multiplier)


# --------------------------------------------------------------------------
# confint_rate_ratio and test_rate_ratio
# --------------------------------------------------------------------------


def test_katz_by_hand():
    # a=20 of A=100 vs b=10 of B=100: R = 0.2/0.1 = 2; ln R = 0.693147
    # SE = sqrt(1/20 - 1/100 + 1/10 - 1/100) = sqrt(0.13) = 0.360555
    # z * SE = 1.959964 * 0.360555 = 0.706675
    # exp(0.693147 - 0.706675) = exp(-0.013528) = 0.986563
    # exp(0.693147 + 0.706675) = exp(1.399822) = 4.054479
    ratio, low, high = iv.confint_rate_ratio(20, 100, 10, 100, method="katz")
    assert float(ratio) == 2.0
    assert float(low) == pytest.approx(0.986563, abs=1e-6)
    assert float(high) == pytest.approx(4.054479, abs=1e-6)
    # statsmodels' risk ratio for the same 2x2 table uses the same (Katz) formula
    sm_low, sm_high = Table2x2(np.array([[20, 80], [10, 90]])).riskratio_confint()
    assert (float(low), float(high)) == pytest.approx((sm_low, sm_high), rel=1e-12)


def test_wald_test_by_hand():
    # same table: z = ln 2 / sqrt(0.13) = 0.693147 / 0.360555 = 1.922444; p = 2 * (1 - Phi(z)) = 0.054550
    p = iv.test_rate_ratio(20, 100, 10, 100, method="wald")
    assert float(p) == pytest.approx(0.054550, abs=1e-6)


def test_amnesty_representation_ratio():
    # Amnesty International UK (2018), Trapped in the Matrix: 78% of the 3,806 people
    # on the matrix were Black, against 13.3% of London residents (2011 Census,
    # 8,173,941 usual residents). Counts: 0.78 * 3,806 = 2,968.7 -> 2,969;
    # 0.133 * 8,173,941 = 1,087,134.2 -> 1,087,134.
    # Representation ratio = (2969/3806) / (1087134/8173941) = 0.780084 / 0.133000 = 5.8653
    # (Amnesty's rounded 78/13.3 = 5.86; "about 5.9 times").
    # Katz: SE^2 = 1/2969 - 1/3806 + 1/1087134 - 1/8173941
    #            = 3.368137e-4 - 2.627430e-4 + 9.198498e-7 - 1.223400e-7 = 7.486821e-5
    # SE = 0.00865264; ln R = 1.769053; exp(1.769053 -/+ 1.959964 * 0.00865264) = 5.76666, 5.96561
    ratio, low, high = iv.confint_rate_ratio(2969, 3806, 1_087_134, 8_173_941)
    assert float(ratio) == pytest.approx(5.8653, abs=1e-4)
    assert round(float(ratio), 1) == 5.9
    assert float(low) == pytest.approx(5.76666, abs=1e-5)
    assert float(high) == pytest.approx(5.96561, abs=1e-5)
    assert iv.parity_flag(low, high).item() == iv.PARITY_ABOVE


def test_representation_ratio_is_share_over_share():
    # share of list a/n over benchmark share A/N = confint_rate_ratio(a, n, A, N)
    a, n, A, N = 30, 120, 1_000, 20_000
    ratio, _, _ = iv.confint_rate_ratio(a, n, A, N)
    assert float(ratio) == pytest.approx((30 / 120) / (1_000 / 20_000))


def _pi(ratio, A, B):
    """Conditional binomial probability for a rate ratio: pi = R A / (R A + B)."""
    return ratio * A / (ratio * A + B)


@pytest.mark.parametrize(
    ("a", "A", "b", "B"),
    [(20, 100, 10, 100), (3, 1000, 12, 2000), (7, 10, 1, 10), (2969, 3806, 10_000, 80_000)],
)
def test_poisson_exact_inverts_binomtest(a, A, b, B):
    # At the bounds the one-sided exact binomial tail (scipy.stats.binomtest) is alpha/2.
    _, low, high = iv.confint_rate_ratio(a, A, b, B, method="poisson-exact")
    m = a + b
    p_low = stats.binomtest(a, m, _pi(float(low), A, B), alternative="greater").pvalue
    p_high = stats.binomtest(a, m, _pi(float(high), A, B), alternative="less").pvalue
    assert p_low == pytest.approx(0.025, rel=1e-6)
    assert p_high == pytest.approx(0.025, rel=1e-6)


@pytest.mark.parametrize(
    ("a", "A", "b", "B"),
    [(20, 100, 10, 100), (3, 1000, 12, 2000), (7, 10, 1, 10), (1, 10**6, 40, 10**6)],
)
def test_midp_inverts_midp_tails(a, A, b, B):
    # mid-p one-sided tail = binomtest one-sided p - P(X = a)/2, equal to alpha/2 at each bound.
    _, low, high = iv.confint_rate_ratio(a, A, b, B, method="mid-p")
    m = a + b
    pi_low, pi_high = _pi(float(low), A, B), _pi(float(high), A, B)
    upper_tail = stats.binomtest(
        a, m, pi_low, alternative="greater"
    ).pvalue - 0.5 * stats.binom.pmf(a, m, pi_low)
    lower_tail = stats.binomtest(a, m, pi_high, alternative="less").pvalue - 0.5 * stats.binom.pmf(
        a, m, pi_high
    )
    assert upper_tail == pytest.approx(0.025, rel=1e-6)
    assert lower_tail == pytest.approx(0.025, rel=1e-6)


def test_midp_narrower_than_exact():
    _, ex_low, ex_high = iv.confint_rate_ratio(3, 1000, 12, 2000, method="poisson-exact")
    _, mp_low, mp_high = iv.confint_rate_ratio(3, 1000, 12, 2000, method="mid-p")
    assert ex_low < mp_low and mp_high < ex_high


def test_rate_ratio_zero_counts():
    a = np.array([0, 5, 0])
    b = np.array([4, 0, 0])
    A = B = np.array([50, 50, 50])
    ratio, low, high = iv.confint_rate_ratio(a, A, b, B, method="katz")
    assert ratio[0] == 0.0 and ratio[1] == np.inf and np.isnan(ratio[2])
    assert np.all(np.isnan(low)) and np.all(np.isnan(high))  # log of a zero count
    for method in ["poisson-exact", "mid-p"]:
        ratio, low, high = iv.confint_rate_ratio(a, A, b, B, method=method)
        assert low[0] == 0.0 and np.isfinite(high[0])
        assert np.isfinite(low[1]) and high[1] == np.inf
        assert np.isnan(low[2]) and np.isnan(high[2])  # no events at all
    # Clopper-Pearson at a = 0: pi_U = 1 - 0.025^(1/4) = 0.604; R_U = pi/(1-pi) * B/A = 1.5279
    _, _, high = iv.confint_rate_ratio(0, 50, 4, 50, method="poisson-exact")
    pi_u = 1 - 0.025 ** (1 / 4)
    assert float(high) == pytest.approx(pi_u / (1 - pi_u), rel=1e-10)


def test_rate_ratio_zero_denominator_is_nan():
    for method in RATIO_METHODS:
        ratio, low, high = iv.confint_rate_ratio(0, 0, 3, 10, method=method)
        assert np.isnan(ratio) and np.isnan(low) and np.isnan(high)
    for method in TEST_METHODS:
        assert np.isnan(iv.test_rate_ratio(3, 10, 0, 0, method=method))


def test_rate_ratio_exact_requires_whole_counts():
    with pytest.raises(ValueError, match="whole numbers for method 'mid-p'"):
        iv.confint_rate_ratio(2.5, 10, 3, 10, method="mid-p")
    with pytest.raises(ValueError, match="whole numbers for method 'exact'"):
        iv.test_rate_ratio(2.5, 10, 3, 10, method="exact")
    # katz and wald accept non-integer (e.g. weighted) counts
    iv.confint_rate_ratio(2.5, 10, 3, 10, method="katz")


def test_rate_ratio_count_above_denominator_raises():
    with pytest.raises(ValueError, match="a must not exceed A"):
        iv.confint_rate_ratio(11, 10, 3, 10)


@pytest.mark.parametrize(("a", "b"), [(20, 10), (3, 9), (0, 6), (15, 15)])
def test_exact_test_matches_binomtest_when_denominators_equal(a, b):
    # With A = B the null is Bin(a + b, 1/2), symmetric, so the doubled tail equals
    # scipy's two-sided ("minlike") binomtest.
    p = iv.test_rate_ratio(a, 1000, b, 1000, method="exact")
    assert float(p) == pytest.approx(stats.binomtest(a, a + b, 0.5).pvalue, rel=1e-10)


@pytest.mark.parametrize(("a", "A", "b", "B"), [(3, 1000, 12, 2000), (9, 300, 2, 900)])
def test_exact_and_midp_tests_by_one_sided_binomtest(a, A, b, B):
    m, pi0 = a + b, A / (A + B)
    greater = stats.binomtest(a, m, pi0, alternative="greater").pvalue
    less = stats.binomtest(a, m, pi0, alternative="less").pvalue
    point = stats.binom.pmf(a, m, pi0)
    assert float(iv.test_rate_ratio(a, A, b, B, method="exact")) == pytest.approx(
        min(1.0, 2 * min(greater, less)), rel=1e-10
    )
    assert float(iv.test_rate_ratio(a, A, b, B, method="mid-p")) == pytest.approx(
        2 * min(greater - point / 2, less - point / 2), rel=1e-10
    )


def test_test_rate_ratio_nan_cases():
    assert np.isnan(iv.test_rate_ratio(0, 10, 5, 10, method="wald"))
    assert np.isfinite(iv.test_rate_ratio(0, 10, 5, 10, method="exact"))
    assert np.isnan(iv.test_rate_ratio(0, 10, 0, 10, method="exact"))
    assert np.isnan(iv.test_rate_ratio(0, 10, 0, 10, method="mid-p"))
    # both shares 1: Wald SE is 0 and the ratio is 1, p = 1 rather than 0/0
    assert float(iv.test_rate_ratio(10, 10, 20, 20, method="wald")) == 1.0


def test_test_rate_ratio_is_not_collected_by_pytest():
    assert iv.test_rate_ratio.__test__ is False


# --------------------------------------------------------------------------
# adjust_pvalues
# --------------------------------------------------------------------------


def test_adjust_by_hand_with_nan():
    p = [0.01, 0.04, 0.03, np.nan]
    # family size m = 3 (the NaN is left out)
    # holm: sorted 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> running max 0.03, 0.06, 0.06
    np.testing.assert_allclose(iv.adjust_pvalues(p, method="holm"), [0.03, 0.06, 0.06, np.nan])
    # bh: sorted 0.01*3/1 = 0.03, 0.03*3/2 = 0.045, 0.04*3/3 = 0.04 -> running min from top
    #     0.03, 0.04, 0.04
    np.testing.assert_allclose(iv.adjust_pvalues(p, method="bh"), [0.03, 0.04, 0.04, np.nan])
    np.testing.assert_allclose(iv.adjust_pvalues(p, method="fdr_bh"), [0.03, 0.04, 0.04, np.nan])
    np.testing.assert_allclose(
        iv.adjust_pvalues(p, method="bonferroni"), [0.03, 0.12, 0.09, np.nan]
    )
    np.testing.assert_allclose(iv.adjust_pvalues(p, method="none"), p)


def test_adjust_default_is_holm_and_shapes():
    p = np.array([[0.01, 0.2], [np.nan, 0.03]])
    out = iv.adjust_pvalues(p)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out, iv.adjust_pvalues(p, method="holm"))
    assert np.all(np.isnan(iv.adjust_pvalues([np.nan, np.nan])))
    assert iv.adjust_pvalues([]).shape == (0,)


_STATSMODELS_NAME = {"holm": "holm", "bh": "fdr_bh", "fdr_bh": "fdr_bh", "bonferroni": "bonferroni"}


@settings(max_examples=examples(25), deadline=None)
@given(p=st.lists(st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.01, 0.05, 0.5, 1.0])),
                  min_size=1, max_size=40))
def test_adjust_identical_to_statsmodels(p):
    """The numpy procedures give statsmodels' multipletests values bit for bit (ties included)."""
    from statsmodels.stats.multitest import multipletests

    for method, name in _STATSMODELS_NAME.items():
        expected = multipletests(np.asarray(p, dtype=float), method=name)[1]
        np.testing.assert_array_equal(iv.adjust_pvalues(p, method=method), expected)


@pytest.mark.parametrize("bad", [[0.5, 1.2], [-0.1], [np.inf]])
def test_adjust_rejects_invalid(bad):
    with pytest.raises(ValueError, match="p-values must lie"):
        iv.adjust_pvalues(bad)


# --------------------------------------------------------------------------
# confint_difference_proportions
# --------------------------------------------------------------------------

# Newcombe RG (1998) "Interval estimation for the difference between independent
# proportions: comparison of eleven methods", Statistics in Medicine 17:873-890,
# Table II, method 10 (score, no continuity correction).
NEWCOMBE_TABLE_II_METHOD_10 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),  # (a)
    ((9, 10, 3, 10), (0.1705, 0.8090)),  # (b)
    ((6, 7, 2, 7), (0.0582, 0.8062)),  # (c)
    ((5, 56, 0, 29), (-0.0381, 0.1926)),  # (d)
    ((0, 10, 0, 20), (-0.1611, 0.2775)),  # (e)
    ((0, 10, 0, 10), (-0.2775, 0.2775)),  # (f)
    ((10, 10, 0, 20), (0.6791, 1.0000)),  # (g)
    ((10, 10, 0, 10), (0.6075, 1.0000)),  # (h)
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_TABLE_II_METHOD_10)
def test_newcombe_table_ii(counts, expected):
    d, low, high = iv.confint_difference_proportions(*counts)
    assert float(d) == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert float(low) == pytest.approx(expected[0], abs=5e-5)
    assert float(high) == pytest.approx(expected[1], abs=5e-5)


def test_difference_wald_by_hand():
    # 56/70 - 48/80: d = 0.8 - 0.6 = 0.2; var = 0.8*0.2/70 + 0.6*0.4/80 = 0.0022857 + 0.003
    # = 0.0052857; SE = 0.072703; z*SE = 0.142495 -> 0.057505 to 0.342495
    # (Newcombe 1998, Table II (a), method 1: 0.0575 to 0.3425).
    d, low, high = iv.confint_difference_proportions(56, 70, 48, 80, method="wald")
    assert (float(low), float(high)) == pytest.approx((0.057505, 0.342495), abs=1e-6)


def test_difference_nan_when_group_empty():
    for method in DIFFERENCE_METHODS:
        d, low, high = iv.confint_difference_proportions(
            [3, 0], [10, 0], [0, 1], [0, 5], method=method
        )
        assert np.all(np.isnan(d)) and np.all(np.isnan(low)) and np.all(np.isnan(high))


# --------------------------------------------------------------------------
# parity_flag
# --------------------------------------------------------------------------


def test_parity_flag_labels():
    low = [1.3, 0.5, 0.9, 0.7, 1.25, np.nan, 2.0]
    high = [2.0, 0.79, 1.1, 1.5, 3.0, 1.0, np.inf]
    out = iv.parity_flag(low, high)
    assert out.tolist() == [
        "above_band",
        "below_band",
        "within_or_uncertain",
        "within_or_uncertain",
        "within_or_uncertain",  # low == 1.25 does not exclude the edge
        "not_estimable",
        "above_band",
    ]
    assert set(out.tolist()) <= set(iv.PARITY_LABELS)


def test_parity_flag_custom_band_and_validation():
    assert iv.parity_flag(1.15, 1.3, band=(0.9, 1.1)).item() == "above_band"
    for band in [(1.25, 0.8), (0, 1.25), (0.8,), "x"]:
        with pytest.raises(ValueError, match="band must be"):
            iv.parity_flag(1.0, 1.1, band=band)


# --------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------

counts_and_sizes = st.integers(min_value=1, max_value=100_000).flatmap(
    lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
)
alphas = st.floats(min_value=0.001, max_value=0.5)


@settings(max_examples=examples(60), deadline=None)
@given(a_pair=counts_and_sizes, b_pair=counts_and_sizes, k=st.integers(min_value=2, max_value=50))
def test_ratio_invariant_to_scaling(a_pair, b_pair, k):
    (a, A), (b, B) = a_pair, b_pair
    assume(b > 0)
    ratio, _, _ = iv.confint_rate_ratio(a, A, b, B)
    scaled, _, _ = iv.confint_rate_ratio(k * a, k * A, k * b, k * B)
    assert float(scaled) == pytest.approx(float(ratio), rel=1e-12)


@settings(max_examples=examples(60), deadline=None)
@given(pair=counts_and_sizes, alpha=alphas)
def test_proportion_interval_contains_estimate(pair, alpha):
    x, n = pair
    for method in PROPORTION_METHODS:
        low, high = iv.confint_proportion(x, n, alpha=alpha, method=method)
        assert 0.0 <= low <= x / n + 1e-12, method
        assert x / n - 1e-12 <= high <= 1.0, method


@settings(max_examples=examples(40), deadline=None)
@given(pair=counts_and_sizes)
def test_identical_groups_give_ratio_one_and_p_one(pair):
    x, n = pair
    assume(x > 0)
    for method in RATIO_METHODS:
        ratio, low, high = iv.confint_rate_ratio(x, n, x, n, method=method)
        assert float(ratio) == pytest.approx(1.0)
        assert low <= 1.0 <= high
    for method in TEST_METHODS:
        assert float(iv.test_rate_ratio(x, n, x, n, method=method)) == pytest.approx(1.0)


@settings(max_examples=examples(40), deadline=None)
@given(
    a_pair=counts_and_sizes,
    b_pair=counts_and_sizes,
    alphas_pair=st.tuples(alphas, alphas),
)
def test_intervals_widen_as_alpha_shrinks(a_pair, b_pair, alphas_pair):
    (a, A), (b, B) = a_pair, b_pair
    small, big = sorted(alphas_pair)
    assume(big - small > 1e-6)
    eps = 1e-9

    def wider(narrow, wide):
        (nl, nh), (wl, wh) = narrow, wide
        assert wl <= nl + eps * max(1.0, abs(nl))
        assert wh >= nh - eps * max(1.0, abs(nh))

    for method in PROPORTION_METHODS:
        wider(
            iv.confint_proportion(a, A, alpha=big, method=method),
            iv.confint_proportion(a, A, alpha=small, method=method),
        )
    for method in POISSON_METHODS:
        wider(
            iv.confint_poisson_rate(a, A, alpha=big, method=method),
            iv.confint_poisson_rate(a, A, alpha=small, method=method),
        )
    if a > 0 and b > 0:
        for method in RATIO_METHODS:
            wider(
                iv.confint_rate_ratio(a, A, b, B, alpha=big, method=method)[1:],
                iv.confint_rate_ratio(a, A, b, B, alpha=small, method=method)[1:],
            )
    for method in DIFFERENCE_METHODS:
        wider(
            iv.confint_difference_proportions(a, A, b, B, alpha=big, method=method)[1:],
            iv.confint_difference_proportions(a, A, b, B, alpha=small, method=method)[1:],
        )


@settings(max_examples=examples(60), deadline=None)
@given(a_pair=counts_and_sizes, b_pair=counts_and_sizes)
def test_interval_and_test_agree(a_pair, b_pair):
    # Each interval is the inversion of its test: it excludes 1 exactly when p < alpha.
    (a, A), (b, B) = a_pair, b_pair
    assume(a > 0 and b > 0)
    for ci_method, test_method in [
        ("katz", "wald"),
        ("poisson-exact", "exact"),
        ("mid-p", "mid-p"),
    ]:
        _, low, high = iv.confint_rate_ratio(a, A, b, B, method=ci_method)
        p = float(iv.test_rate_ratio(a, A, b, B, method=test_method))
        assume(abs(p - 0.05) > 1e-6)  # skip knife-edge cases
        excludes_one = bool(low > 1.0 or high < 1.0)
        assert excludes_one == (p < 0.05), (ci_method, float(low), float(high), p)


@settings(max_examples=examples(40), deadline=None)
@given(a_pair=counts_and_sizes, b_pair=counts_and_sizes)
def test_ratio_interval_contains_estimate(a_pair, b_pair):
    (a, A), (b, B) = a_pair, b_pair
    assume(a > 0 and b > 0)
    for method in RATIO_METHODS:
        ratio, low, high = iv.confint_rate_ratio(a, A, b, B, method=method)
        assert low <= ratio * (1 + 1e-9) and ratio <= high * (1 + 1e-9), method


@settings(max_examples=examples(40), deadline=None)
@given(p=st.lists(st.one_of(st.floats(0, 1), st.just(float("nan"))), max_size=12))
def test_adjusted_pvalues_not_smaller(p):
    for method in ADJUST_METHODS:
        out = iv.adjust_pvalues(p, method=method)
        original = np.asarray(p, dtype=float)
        assert np.array_equal(np.isnan(out), np.isnan(original))
        present = ~np.isnan(original)
        assert np.all(out[present] >= original[present] - 1e-12)
        assert np.all(out[present] <= 1.0)


def test_missing_inputs_propagate_everywhere():
    nan = np.nan
    for method in POISSON_METHODS:
        low, high = iv.confint_poisson_rate([nan, 0], [10, nan], method=method)
        assert np.all(np.isnan(low)) and np.all(np.isnan(high))
    for method in RATIO_METHODS:
        out = iv.confint_rate_ratio([nan, 0], [10, 10], [2, nan], [10, 10], method=method)
        assert all(np.all(np.isnan(v)) for v in out), method
    for method in TEST_METHODS:
        assert np.all(np.isnan(iv.test_rate_ratio([nan, 0], 10, [2, nan], 10, method=method)))
    for method in DIFFERENCE_METHODS:
        out = iv.confint_difference_proportions([nan, 1], 10, [1, nan], 10, method=method)
        assert all(np.all(np.isnan(v)) for v in out)
