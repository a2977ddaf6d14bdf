"""Tests for fairness.stats.funnel.

The reference values are computed inline from the formulas in Spiegelhalter
(2005) (Statistics in Medicine 24:1185; Quality and Safety in Health Care
14:347), independently of the module: explicit order statistics for the
Winsorising quantiles, explicit sums for phi and tau2.
"""

from __future__ import annotations

import doctest
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from fairness.stats import funnel as fn
from tests.conftest import examples

Q95 = 1.959963984540054  # Phi^-1(0.975)
Q998 = 3.090232306167813  # Phi^-1(0.999)

COLUMNS = [
    "unit",
    "count",
    "n",
    "value",
    "target",
    "z",
    "z_adjusted",
    "flag",
    "lower_95",
    "upper_95",
    "lower_998",
    "upper_998",
]

# Ten units, clearly overdispersed (proportions from 0.13 to 0.33).
N10 = np.array([120, 250, 400, 80, 600, 150, 300, 90, 500, 200])
C10 = np.array([30, 40, 90, 25, 100, 20, 75, 30, 85, 60])
L10 = list("ABCDEFGHIJ")


def _type7_quantile(values, q):
    """Hyndman & Fan type 7 (R's default): h = (k - 1) q, interpolate order statistics."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    j = math.floor(h)
    g = h - j
    if j + 1 >= len(ordered):
        return ordered[-1]
    return ordered[j] + g * (ordered[j + 1] - ordered[j])


def _reference(count, n, winsor=0.10):
    """Spiegelhalter (2005) by the book, written out step by step."""
    count = [float(c) for c in count]
    n = [float(v) for v in n]
    k = len(n)
    pooled = sum(count) / sum(n)
    theta = math.asin(math.sqrt(pooled))
    y = [math.asin(math.sqrt(c / m)) for c, m in zip(count, n, strict=True)]
    s = [1 / (2 * math.sqrt(m)) for m in n]
    z = [(yi - theta) / si for yi, si in zip(y, s, strict=True)]
    lo, hi = _type7_quantile(z, winsor), _type7_quantile(z, 1 - winsor)
    z_w = [min(max(zi, lo), hi) for zi in z]
    phi = sum(v * v for v in z_w) / k
    w = [1 / si**2 for si in s]
    tau2 = max(0.0, (k * phi - (k - 1)) / (sum(w) - sum(wi**2 for wi in w) / sum(w)))
    sd = [math.sqrt(si**2 + tau2) for si in s]
    z_adj = [(yi - theta) / di for yi, di in zip(y, sd, strict=True)]

    def back(angle):
        return math.sin(min(max(angle, 0.0), math.pi / 2)) ** 2

    limits = {
        f"{side}_{name}": [back(theta + sign * q * di) for di in sd]
        for name, q in (("95", Q95), ("998", Q998))
        for side, sign in (("lower", -1), ("upper", 1))
    }
    return {
        "pooled": pooled,
        "theta": theta,
        "z": z,
        "phi": phi,
        "tau2": tau2,
        "z_adjusted": z_adj,
        "limits": limits,
        "winsor_cuts": (lo, hi),
    }


def test_docstring_examples():
    result = doctest.testmod(fn, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


# --------------------------------------------------------------------------
# Worked example
# --------------------------------------------------------------------------


def test_worked_example_ten_units():
    # By hand: sum count = 555, sum n = 2,690, pooled p = 0.206320;
    # theta = asin(sqrt(0.206320)) = asin(0.454224) = 0.471501.
    # Sorted z: -2.4969 -2.3934 -2.0801 -1.8969 0.9086 1.1414 1.8047 2.1770 2.7318 3.0586.
    # Type-7 10% cut: h = 9 * 0.1 = 0.9 -> -2.4969 + 0.9 * (-2.3934 + 2.4969) = -2.4037;
    # 90% cut: h = 8.1 -> 2.7318 + 0.1 * (3.0586 - 2.7318) = 2.7645.
    # phi = sum(z_w^2)/10 = 4.4661; w = 4n, sum w = 10,760, sum w^2 = 16,222,400,
    # sum w - sum w^2/sum w = 9,252.34; tau2 = (44.661 - 9) / 9,252.34 = 0.0038542.
    ref = _reference(C10, N10)
    assert ref["pooled"] == pytest.approx(555 / 2690)
    assert ref["theta"] == pytest.approx(0.471501, abs=1e-6)
    assert ref["winsor_cuts"] == pytest.approx((-2.4037, 2.7645), abs=1e-4)
    assert ref["phi"] == pytest.approx(4.4661, abs=1e-4)
    assert ref["tau2"] == pytest.approx(0.0038542, abs=1e-7)

    result = fn.funnel_proportion(C10, N10, labels=L10)
    table = result.table
    assert list(table.columns) == COLUMNS
    assert table["unit"].tolist() == L10
    assert result.k == 10
    assert result.target == pytest.approx(ref["pooled"])
    assert result.phi == pytest.approx(ref["phi"], rel=1e-12)
    assert result.tau2 == pytest.approx(ref["tau2"], rel=1e-12)
    assert result.overdispersed and result.adjusted
    np.testing.assert_allclose(table["value"], C10 / N10)
    np.testing.assert_allclose(table["z"], ref["z"], rtol=1e-12)
    np.testing.assert_allclose(table["z_adjusted"], ref["z_adjusted"], rtol=1e-12)
    for column, values in ref["limits"].items():
        np.testing.assert_allclose(table[column], values, rtol=1e-12, err_msg=column)
    # After adjustment nobody is outside the 95% limits (largest |z_adj| = 1.77, unit H).
    assert set(table["flag"]) == {"within"}
    assert max(abs(v) for v in ref["z_adjusted"]) == pytest.approx(1.7680, abs=1e-4)
    assert "additive overdispersion" in result.method


def test_worked_example_without_adjustment():
    # Same data, overdispersion=False: plain binomial limits sin^2(theta -/+ q / (2 sqrt n)).
    ref = _reference(C10, N10)
    result = fn.funnel_proportion(C10, N10, labels=L10, overdispersion=False)
    table = result.table
    assert result.overdispersed and not result.adjusted
    assert result.tau2 == pytest.approx(ref["tau2"])  # still estimated and reported
    np.testing.assert_array_equal(table["z_adjusted"], table["z"])
    theta = ref["theta"]
    for name, q in (("95", Q95), ("998", Q998)):
        np.testing.assert_allclose(
            table[f"upper_{name}"], np.sin(theta + q / (2 * np.sqrt(N10))) ** 2, rtol=1e-12
        )
        np.testing.assert_allclose(
            table[f"lower_{name}"], np.sin(theta - q / (2 * np.sqrt(N10))) ** 2, rtol=1e-12
        )
    # z (by hand above): D 2.18, H 2.73, J 3.06 above 1.96; E -2.50, F -2.39, I -2.08 below.
    assert table["flag"].tolist() == [
        "within",
        "within",
        "within",
        "above_95",
        "below_95",
        "below_95",
        "within",
        "above_95",
        "below_95",
        "above_95",
    ]
    assert "no overdispersion adjustment" in result.method


def test_all_five_flags():
    # Plain limits, pooled p = 0.2 exactly (400/2000), n = 400 each:
    # s = 1/40 = 0.025; theta = asin(sqrt(0.2)) = 0.463648.
    # count 80 -> z = 0 (within);
    # 97 -> asin(sqrt(0.2425)) = 0.514894, z = (0.514894 - 0.463648) * 40 = 2.05 (above_95);
    # 120 -> asin(sqrt(0.3)) = 0.579640, z = 4.64 (above_99.8);
    # 63 -> asin(sqrt(0.1575)) = 0.408096, z = -2.22 (below_95);
    # 40 -> asin(sqrt(0.1)) = 0.321751, z = -5.68 (below_99.8).
    count = [80, 97, 120, 63, 40]
    result = fn.funnel_proportion(count, [400] * 5, labels=list("VWXYZ"), overdispersion=False)
    assert result.target == pytest.approx(0.2)
    z = result.table["z"].to_numpy()
    theta = math.asin(math.sqrt(0.2))
    np.testing.assert_allclose(z, [(math.asin(math.sqrt(c / 400)) - theta) * 40 for c in count])
    np.testing.assert_allclose(z, [0.0, 2.0499, 4.6397, -2.2221, -5.6759], atol=1e-4)
    assert result.table["flag"].tolist() == [
        "within",
        "above_95",
        "above_99.8",
        "below_95",
        "below_99.8",
    ]
    assert fn.flag_labels() == (
        "above_99.8",
        "above_95",
        "within",
        "below_95",
        "below_99.8",
        "not_estimable",
    )


def test_no_overdispersion_gives_zero_tau2_and_plain_limits():
    # Every unit exactly at the pooled value 0.25: z = 0, phi = 0, tau2 = 0.
    n = np.array([40, 80, 120, 200, 400, 1000])
    count = n // 4
    result = fn.funnel_proportion(count, n, labels=[f"u{i}" for i in range(6)])
    assert result.phi == 0.0 and result.tau2 == 0.0
    assert not result.overdispersed and not result.adjusted
    theta = math.asin(math.sqrt(0.25))  # pi/6
    np.testing.assert_allclose(
        result.table["upper_95"], np.sin(theta + Q95 / (2 * np.sqrt(n))) ** 2
    )
    np.testing.assert_allclose(
        result.table["lower_998"], np.sin(theta - Q998 / (2 * np.sqrt(n))) ** 2
    )
    assert set(result.table["flag"]) == {"within"}
    assert "tau2 = 0" in result.method


def test_tau2_zero_when_k_phi_at_most_k_minus_1():
    # FunnelPlotR's rule: tau2 = 0 whenever k * phi <= k - 1, even when phi > 0.
    count = [19, 21, 40, 41, 60, 58]
    n = [100, 100, 200, 200, 300, 300]
    result = fn.funnel_proportion(count, n, labels=list("abcdef"))
    ref = _reference(count, n)
    assert 0 < ref["phi"] < 5 / 6
    assert result.phi == pytest.approx(ref["phi"])
    assert result.tau2 == 0.0 and not result.adjusted


@pytest.mark.parametrize("option", ["auto", True])
def test_auto_and_true_are_the_same(option):
    result = fn.funnel_proportion(C10, N10, labels=L10, overdispersion=option)
    assert result.adjusted


def test_winsor_zero_uses_raw_z():
    ref_z = _reference(C10, N10)["z"]
    result = fn.funnel_proportion(C10, N10, labels=L10, winsor=0)
    assert result.phi == pytest.approx(sum(v * v for v in ref_z) / 10)


def test_limits_clip_at_zero_and_one():
    # Pooled p = 0: theta = 0, lower limits are 0 (not sin^2 of a negative angle).
    result = fn.funnel_proportion([0, 0, 0], [10, 20, 30], labels=list("abc"))
    assert result.target == 0.0
    assert (result.table["lower_95"] == 0).all()
    np.testing.assert_allclose(
        result.table["upper_95"], np.sin(Q95 / (2 * np.sqrt([10, 20, 30]))) ** 2
    )
    result = fn.funnel_proportion([10, 20], [10, 20], labels=list("ab"))
    assert (result.table["upper_998"] == 1).all()


def test_unit_with_empty_denominator_is_not_estimable():
    count = np.append(C10, 0)
    n = np.append(N10, 0)
    result = fn.funnel_proportion(count, n, labels=L10 + ["K"])
    row = result.table.iloc[-1]
    assert row["flag"] == fn.FLAG_NOT_ESTIMABLE
    assert np.isnan(row["value"]) and np.isnan(row["z"]) and np.isnan(row["upper_95"])
    assert result.k == 10
    base = fn.funnel_proportion(C10, N10, labels=L10)
    assert result.phi == pytest.approx(base.phi) and result.tau2 == pytest.approx(base.tau2)


def test_input_not_mutated_and_integer_columns_kept():
    count = pd.Series(C10, index=range(100, 110))
    n = N10.copy()
    result = fn.funnel_proportion(count, n, labels=L10)
    np.testing.assert_array_equal(n, N10)
    assert result.table["count"].dtype.kind == "i"
    assert result.table.index.tolist() == list(range(10))


# --------------------------------------------------------------------------
# Rates
# --------------------------------------------------------------------------


def test_funnel_rate_is_proportion_funnel_per_1000():
    population = N10 * 100
    prop = fn.funnel_proportion(C10, population, labels=L10)
    rate = fn.funnel_rate(C10, population, labels=L10)
    assert rate.multiplier == 1000 and prop.multiplier == 1
    assert rate.target == pytest.approx(1000 * prop.target)
    for column in ["value", "lower_95", "upper_95", "lower_998", "upper_998"]:
        np.testing.assert_allclose(rate.table[column], 1000 * prop.table[column])
    np.testing.assert_allclose(rate.table["z_adjusted"], prop.table["z_adjusted"])
    assert rate.table["flag"].tolist() == prop.table["flag"].tolist()
    assert rate.phi == prop.phi and rate.tau2 == prop.tau2
    assert "per 1,000" in rate.method


def test_funnel_rate_rejects_bad_multiplier_and_count_above_population():
    with pytest.raises(ValueError, match="multiplier"):
        fn.funnel_rate(C10, N10, labels=L10, multiplier=0)
    with pytest.raises(ValueError, match="count must not exceed population"):
        fn.funnel_rate([5, 3], [4, 10], labels=["a", "b"])


# --------------------------------------------------------------------------
# Limit curves
# --------------------------------------------------------------------------


def test_funnel_limits_tidy_and_consistent_with_table():
    result = fn.funnel_proportion(C10, N10, labels=L10)
    curves = result.limits(N10)
    assert list(curves.columns) == ["n", "level", "lower", "upper"]
    assert len(curves) == 2 * len(N10)
    assert curves["level"].tolist() == [0.95] * 10 + [0.998] * 10
    at95 = curves[curves["level"] == 0.95]
    np.testing.assert_allclose(at95["upper"], result.table["upper_95"])
    np.testing.assert_allclose(at95["lower"], result.table["lower_95"])
    at998 = curves[curves["level"] == 0.998]
    np.testing.assert_allclose(at998["upper"], result.table["upper_998"])


def test_funnel_limits_by_hand():
    # target 0.5, n = 100, tau2 = 0.01: theta = pi/4 = 0.785398; sd = sqrt(1/400 + 0.01) = 0.111803;
    # 1.959964 * 0.111803 = 0.219131; 0.785398 -/+ 0.219131 = 0.566268, 1.004529;
    # sin(0.566268) = 0.536486, squared 0.287817; sin(1.004529) = 0.843910, squared 0.712183.
    curves = fn.funnel_limits(0.5, [100], tau2=0.01, levels=[0.95])
    assert curves.loc[0, "lower"] == pytest.approx(0.287817, abs=1e-6)
    assert curves.loc[0, "upper"] == pytest.approx(0.712183, abs=1e-6)
    per_1000 = fn.funnel_limits(500, [100], tau2=0.01, levels=[0.95], multiplier=1000)
    assert per_1000.loc[0, "upper"] == pytest.approx(712.183, abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"n_grid": [0, 10]}, "n_grid"),
        ({"tau2": -1}, "tau2"),
        ({"levels": [1.2]}, "levels"),
        ({"levels": []}, "levels"),
    ],
)
def test_funnel_limits_validation(kwargs, fragment):
    args = {"n_grid": [10, 20]} | kwargs
    with pytest.raises(ValueError, match=fragment):
        fn.funnel_limits(0.2, **args)
    with pytest.raises(ValueError, match="proportion"):
        fn.funnel_limits(1.5, [10])


def test_custom_levels_name_columns_and_flags():
    # pooled 500/2000 = 0.25, theta = pi/6, s = 1/40; q(0.99) = 2.5758.
    # 140/400: (asin(sqrt(0.35)) - pi/6) * 40 = (0.633052 - 0.523599) * 40 = 4.38 -> above_99;
    # 120/400: (0.579640 - 0.523599) * 40 = 2.24 -> within (it would be above_95);
    # 60/400: (0.397699 - 0.523599) * 40 = -5.04 -> below_99.
    result = fn.funnel_proportion(
        [60, 80, 100, 120, 140],
        [400] * 5,
        labels=list("abcde"),
        alpha_levels=(0.99,),
        overdispersion=False,
    )
    assert [c for c in result.table.columns if c.startswith(("lower", "upper"))] == [
        "lower_99",
        "upper_99",
    ]
    np.testing.assert_allclose(
        result.table["z"], [-5.0360, -2.3980, 0.0, 2.2416, 4.3781], atol=1e-4
    )
    assert result.table["flag"].tolist() == ["below_99", "within", "within", "within", "above_99"]


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "n", "labels", "kwargs", "fragment"),
    [
        ([1, 2], [10, 10], ["a", "a"], {}, "labels must be unique"),
        ([1, 2], [10, 10, 10], ["a", "b"], {}, "same length"),
        ([11, 2], [10, 10], ["a", "b"], {}, "for unit 'a'"),
        ([np.nan, 2], [10, 10], ["a", "b"], {}, "count must be finite"),
        ([1, -2], [10, 10], ["a", "b"], {}, "for unit 'b'"),
        ([1, 0], [10, 0], ["a", "b"], {}, "at least 2 units"),
        ([1, 2], [10, 10], ["a", "b"], {"overdispersion": "yes"}, "overdispersion"),
        ([1, 2], [10, 10], ["a", "b"], {"winsor": 0.5}, "winsor"),
        ([1, 2], [10, 10], ["a", "b"], {"alpha_levels": (0.95, 0.95)}, "levels"),
    ],
)
def test_funnel_validation(count, n, labels, kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        fn.funnel_proportion(count, n, labels=labels, **kwargs)


# --------------------------------------------------------------------------
# Heterogeneity
# --------------------------------------------------------------------------


def test_heterogeneity_matches_chi2_contingency():
    result = fn.heterogeneity_test(C10, N10)
    table = np.vstack([C10, N10 - C10])
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert result.statistic == pytest.approx(chi2, rel=1e-12)
    assert result.pvalue == pytest.approx(p, rel=1e-9)
    assert result.df == dof == 9
    assert result.k == 10
    # I^2 = (Q - df)/Q
    assert result.i2 == pytest.approx((chi2 - 9) / chi2)


def test_heterogeneity_by_hand():
    # 10/100, 20/100, 30/100: pooled 0.2; expected 20 each; variance term n p (1-p) = 16;
    # X^2 = (100 + 0 + 100)/16 = 12.5 on 2 df; p = exp(-12.5/2) = 0.0019305; I^2 = 10.5/12.5 = 0.84.
    result = fn.heterogeneity_test([10, 20, 30], [100, 100, 100])
    assert result.statistic == pytest.approx(12.5)
    assert result.pvalue == pytest.approx(math.exp(-6.25))
    assert result.i2 == pytest.approx(0.84)


def test_heterogeneity_edge_cases():
    homogeneous = fn.heterogeneity_test([25, 50], [100, 200])
    assert homogeneous.statistic == 0.0 and homogeneous.pvalue == 1.0 and homogeneous.i2 == 0.0
    no_events = fn.heterogeneity_test([0, 0, 0], [10, 20, 30])
    assert np.isnan(no_events.statistic) and np.isnan(no_events.pvalue) and no_events.df == 2
    one_unit = fn.heterogeneity_test([3, 0], [10, 0])
    assert one_unit.k == 1 and np.isnan(one_unit.pvalue)


# --------------------------------------------------------------------------
# Property tests: 32 boroughs
# --------------------------------------------------------------------------

boroughs = st.lists(
    st.integers(min_value=1, max_value=5000).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    min_size=32,
    max_size=32,
)


@settings(max_examples=examples(40), deadline=None)
@given(units=boroughs)
def test_flags_agree_with_limits_and_reference(units):
    count = [c for c, _ in units]
    n = [m for _, m in units]
    result = fn.funnel_proportion(count, n, labels=[f"b{i}" for i in range(32)])
    ref = _reference(count, n)
    assert result.phi == pytest.approx(ref["phi"], rel=1e-9, abs=1e-12)
    assert result.tau2 == pytest.approx(ref["tau2"], rel=1e-9, abs=1e-15)
    table = result.table
    value = table["value"].to_numpy()
    above_95 = table["flag"].isin(["above_95", "above_99.8"]).to_numpy()
    below_95 = table["flag"].isin(["below_95", "below_99.8"]).to_numpy()
    # Away from knife-edges, a flag means the value is outside the matching limit.
    z = table["z_adjusted"].to_numpy()
    clear = np.abs(np.abs(z) - Q95) > 1e-6
    assert np.all((value > table["upper_95"].to_numpy())[clear] == above_95[clear])
    assert np.all((value < table["lower_95"].to_numpy())[clear] == below_95[clear])
    assert np.all(table["lower_998"] <= table["lower_95"])
    assert np.all(table["upper_95"] <= table["upper_998"])
    # The overdispersion adjustment can only widen the limits.
    plain = fn.funnel_proportion(
        count, n, labels=[f"b{i}" for i in range(32)], overdispersion=False
    )
    assert np.all(plain.table["upper_95"] <= table["upper_95"] + 1e-12)
